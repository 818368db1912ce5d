"""The Django admin's lists sort by one column at a time, in an order an index serves
(mailadmin/admin_ordering.py)."""

import re

import pytest
from django.contrib import admin
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aliases.models import Alias
from users import tallies
from users.admin import ScopedAdmin
from users.models import Domain, Mailbox
from users.tests.test_large_list_pages import query_plan

DOMAINS = reverse("admin:users_domain_changelist")
MAILBOXES = reverse("admin:users_mailbox_changelist")
ALIASES = reverse("admin:aliases_alias_changelist")
HASH = "{BLF-CRYPT}$2y$05$B73qez2RL79n1yPAPUwe6O33Yt.8xgSwlApHFU3nGHaRXs1ce0qea"


@pytest.fixture
def admin_client(client, alice):
    client.force_login(alice)
    return client


def add_mailboxes(domain, count):
    # Quotas repeat (i % 3), so rows tie on quota and only their address orders them.
    Mailbox.objects.bulk_create(
        Mailbox(domain=domain, email=f"u{i:03}@{domain.name}", password=HASH, quota=i % 3) for i in range(count)
    )


def listed_addresses(client, url, **query):
    """The first column's addresses on every page of the list, in order (25 a page)."""
    addresses, page_number = [], 1
    while True:
        page = client.get(url, {**query, "p": page_number}).content.decode()
        found = re.findall(r'<th class="field-(?:display_email|source|display_name)"><a [^>]*>([^<]+)</a>', page)
        addresses += found
        if len(found) < 25:
            return addresses
        page_number += 1


def sorted_columns(client, url, **query):
    """The column headers the page marks as sorted, with their direction."""
    page = client.get(url, query).content.decode()
    return re.findall(r'<th scope="col" class="sortable column-(\w+) (?:priority-\d+ )?sorted (ascending|descending)"', page)


def test_every_sortable_column_of_the_panels_admin_lists_has_an_indexed_order(alice):
    request = RequestFactory().get("/")
    request.user = alice
    for model_admin in admin.site._registry.values():
        if not isinstance(model_admin, ScopedAdmin):
            continue
        changelist = model_admin.get_changelist_instance(request)
        for column in changelist.list_display:
            field = changelist.get_ordering_field(column)
            assert field is None or field in model_admin.index_orderings, (model_admin, column)


@pytest.mark.parametrize("order, expected", [
    ("3", lambda rows: sorted(rows, key=lambda m: (m.quota, m.email))),
    ("-3", lambda rows: sorted(rows, key=lambda m: (m.quota, m.email), reverse=True)),
    # A second column, in either direction, is not an order an index holds: the first one decides.
    ("3.-1", lambda rows: sorted(rows, key=lambda m: (m.quota, m.email))),
    ("-1.3", lambda rows: sorted(rows, key=lambda m: m.email, reverse=True)),
])
def test_mailboxes_sorted_by_quota_tie_in_address_order_on_every_page(admin_client, domain_a, order, expected):
    add_mailboxes(domain_a, 60)
    rows = list(Mailbox.objects.all())
    assert listed_addresses(admin_client, MAILBOXES, o=order) == [m.email for m in expected(rows)]


def test_the_headers_mark_only_the_column_the_list_is_sorted_by(admin_client, domain_a):
    add_mailboxes(domain_a, 3)
    assert sorted_columns(admin_client, MAILBOXES, o="3.-1") == [("quota_display", "ascending")]
    assert sorted_columns(admin_client, MAILBOXES, o="4.-3") == [("quota_display", "descending")]
    assert sorted_columns(admin_client, MAILBOXES, o="-1") == [("display_email", "descending")]


def test_aliases_sorted_by_destination_keep_one_order_across_pages(admin_client, domain_a):
    # Ten sources forward to each destination: their order among themselves is their id's.
    Alias.objects.bulk_create(
        Alias(domain=domain_a, source=f"s{i:03}@a.example", destination=f"d{i % 4}@elsewhere.example") for i in range(60)
    )
    by_destination = list(Alias.objects.order_by("destination", "pk").values_list("source", flat=True))
    assert listed_addresses(admin_client, ALIASES, o="2") == by_destination
    assert listed_addresses(admin_client, ALIASES, o="-2.1") == by_destination[::-1]


def add_domains_with_mailboxes(count):
    """Domains d00000.example … whose mailboxes number 0, 1, 2, 0, 1, 2 …, counted by the panel."""
    domains = Domain.objects.bulk_create(Domain(name=f"d{i:05}.example") for i in range(count))
    Mailbox.objects.bulk_create(
        Mailbox(domain=domain, email=f"u{n}@{domain.name}", password=HASH)
        for i, domain in enumerate(domains) for n in range(i % 3)
    )
    tallies.recount()
    return domains


def test_domains_sorted_by_their_mailboxes_tie_in_one_order_on_every_page(admin_client):
    domains = add_domains_with_mailboxes(60)
    by_mailboxes = [d.name for d in sorted(domains, key=lambda d: (int(d.name[1:6]) % 3, d.pk))]
    assert listed_addresses(admin_client, DOMAINS, o="3") == by_mailboxes
    assert listed_addresses(admin_client, DOMAINS, o="-3") == by_mailboxes[::-1]


def page_statement(client, url, table, **query):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, query).status_code == 200
    return [q["sql"] for q in queries if table in q["sql"] and "ORDER BY" in q["sql"]][-1]


@pytest.mark.mariadb
@pytest.mark.parametrize("url, table, order, index", [
    (MAILBOXES, "virtual_users", "3", "virtual_users_quota_email"),
    (MAILBOXES, "virtual_users", "-3.-1", "virtual_users_quota_email"),
    (MAILBOXES, "virtual_users", "1.3", "email"),
    (ALIASES, "virtual_aliases", "1", "virtual_aliases_source_destination_uniq"),
    (ALIASES, "virtual_aliases", "-2", "virtual_aliases_destination"),
    (ALIASES, "virtual_aliases", "2.-1", "virtual_aliases_destination"),
    (DOMAINS, "mailadmin_domain_count", "-3", "domain_count_mailboxes"),
    (DOMAINS, "mailadmin_domain_count", "4.1", "domain_count_aliases"),
])
def test_a_sorted_admin_page_reads_an_index_in_order_without_sorting_the_table(
    transactional_db, mariadb, admin_client, domain_a, url, table, order, index
):
    # Enough rows that walking an index for 25 of them is cheaper than sorting them all:
    # MariaDB sorts a table of 3,000 aliases (the unique key is wider than the email index).
    if table == "virtual_users":
        add_mailboxes(domain_a, 3000)
    elif table == "mailadmin_domain_count":
        add_domains_with_mailboxes(20000)  # its rows are narrow: 3,000 are sorted
    else:
        Alias.objects.bulk_create(
            Alias(domain=domain_a, source=f"s{i:05}@a.example", destination=f"d{i % 4}@elsewhere.example")
            for i in range(20000)
        )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE TABLE {table}")  # the optimizer's row count: 3,000, not a guess
    plan = query_plan(page_statement(admin_client, url, table, o=order))
    step = next(step for step in plan if step["table"] == table)
    assert step["key"] == index
    assert "filesort" not in (step["Extra"] or "")


def test_a_domain_added_behind_the_panels_back_is_listed_with_its_counts_in_every_order(admin_client, domain_a):
    # The list joins each domain to its kept counts: the panel counts a new domain's rows first.
    domain = Domain.objects.bulk_create([Domain(name="script.example")])[0]
    Mailbox.objects.bulk_create(Mailbox(domain=domain, email=f"u{n}@script.example", password=HASH) for n in range(2))
    for order in ("", "3", "-3", "-4"):
        page = admin_client.get(DOMAINS, {"o": order} if order else {}).content.decode()
        assert re.search(r'script\.example</td><td class="field-mailbox_count"><a [^>]*>2</a>', page), order
        assert "a.example</td>" in page
