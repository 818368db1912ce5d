"""The indexes on the domain of an alias's addresses (aliases/migrations/0003): invisible to the
guide's tables' users, and what finds the rows a domain's deletion leaves behind."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aliases.models import Alias
from aliases.receivers import outliving_domain
from users.tests.test_large_list_pages import query_plan


@pytest.mark.mariadb
def test_the_generated_columns_are_invisible_to_select_star_and_to_inserts_without_columns(mariadb, domain_a):
    with connection.cursor() as cursor:
        # As a script written for the guide's table inserts: every column, in order, unnamed.
        cursor.execute("INSERT INTO virtual_aliases VALUES (NULL, %s, 'old@a.example', 'Someone@Elsewhere.Example')",
                       [domain_a.pk])
        cursor.execute("SELECT * FROM virtual_aliases")
        assert [column[0] for column in cursor.description] == ["id", "domain_id", "source", "destination"]
        cursor.execute("SELECT source_domain, destination_domain FROM virtual_aliases")
        assert cursor.fetchall() == (("a.example", "Elsewhere.Example"),)


@pytest.mark.mariadb
def test_a_domains_outliving_rows_are_read_from_the_two_indexes_not_the_table(transactional_db, mariadb, domain_a, domain_b):
    Alias.objects.bulk_create(
        Alias(domain=domain_b, source=f"s{i:04}@b.example", destination=f"d{i}@elsewhere.example") for i in range(3000)
    )
    Alias.objects.create(domain=domain_b, source="fwd@b.example", destination="jane@a.example")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE TABLE virtual_aliases")  # the optimizer's row count: 3,001, not a guess
    with CaptureQueriesContext(connection) as queries:
        rows = list(outliving_domain(domain_a).order_by("source", "destination")[:50])
    assert [(a.source, a.destination) for a in rows] == [("fwd@b.example", "jane@a.example")]
    [step] = query_plan(queries[-1]["sql"])
    assert step["type"] == "index_merge"
    assert set(step["key"].split(",")) == {"virtual_aliases_source_domain", "virtual_aliases_destination_domain"}
