"""keyset.read_together: the first rows of several querysets, in one query where the database can."""

from django.db import connection

from users.models import Domain

from mailadmin import keyset


def test_each_part_gets_its_own_first_rows_in_order_and_one_query_does_it_where_it_can(
    db, django_assert_num_queries
):
    Domain.objects.bulk_create(Domain(name=f"{prefix}{n}.example") for prefix in "abc" for n in range(4))
    one_query = connection.features.supports_slicing_ordering_in_compound
    with django_assert_num_queries(1 if one_query else 3):
        found = keyset.read_together(
            {
                "a": Domain.objects.filter(name__startswith="a"),
                "b": Domain.objects.filter(name__startswith="b"),
                "nothing": Domain.objects.filter(name__startswith="z"),
            },
            2,
            ("-name",),
        )
    assert {part: [domain.name for domain in rows] for part, rows in found.items()} == {
        "a": ["a3.example", "a2.example"],
        "b": ["b3.example", "b2.example"],
        "nothing": [],
    }


def test_rows_both_parts_match_are_filed_under_each(db):
    Domain.objects.bulk_create(Domain(name=name) for name in ("ab.example", "ac.example"))
    found = keyset.read_together(
        {"a": Domain.objects.filter(name__startswith="a"), "ab": Domain.objects.filter(name__startswith="ab")}, 5, ("name",)
    )
    assert {part: [domain.name for domain in rows] for part, rows in found.items()} == {
        "a": ["ab.example", "ac.example"],
        "ab": ["ab.example"],
    }
