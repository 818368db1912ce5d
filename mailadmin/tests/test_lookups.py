"""`pk__ids=[…]` finds what `pk__in` finds, with the numbers written into the SQL, not passed."""

import pytest

from users.models import Domain


@pytest.fixture
def domains(db):
    return [Domain.objects.create(name=f"d{number}.example") for number in range(5)]


def test_it_finds_the_rows_in_finds(domains):
    ids = [domains[3].pk, domains[0].pk, domains[3].pk]
    assert set(Domain.objects.filter(pk__ids=ids)) == set(Domain.objects.filter(pk__in=ids)) == {domains[0], domains[3]}


def test_the_numbers_are_in_the_sql_and_no_parameter_is_made_per_value(domains):
    sql, params = Domain.objects.filter(pk__ids=[d.pk for d in domains]).query.sql_with_params()
    assert params == ()
    assert ", ".join(str(d.pk) for d in domains) in sql


def test_no_ids_find_nothing(domains):
    assert list(Domain.objects.filter(pk__ids=[])) == []


@pytest.mark.parametrize("hostile", ["1) OR (1=1", "1; DROP TABLE virtual_domains", None])
def test_anything_but_a_number_is_refused_before_it_reaches_the_sql(domains, hostile):
    with pytest.raises((ValueError, TypeError)):
        list(Domain.objects.filter(pk__ids=[domains[0].pk, hostile]))
    assert Domain.objects.count() == 5
