"""The staff lists built for 100,000 rows: pages read from either end, totals and the dashboard
kept for a while, searches the indexes can serve. Figures: bench/RESULTS.md."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aliases.models import Alias
from aliases import services as aliases
from mailadmin import cached_counts
from mailadmin.operator import Operator
from mailadmin.pagination import QuickPaginator
from users import services
from users.models import Domain, Mailbox

HASH = "{BLF-CRYPT}$2y$05$B73qez2RL79n1yPAPUwe6O33Yt.8xgSwlApHFU3nGHaRXs1ce0qea"
MD5 = "{MD5-CRYPT}$1$salt$3Ok0xg9F8nVfsz2NxCAaS/"


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def add_mailboxes(domain, count, prefix="u", password=HASH):
    """bulk_create, which sends no signals: like rows written outside the panel."""
    Mailbox.objects.bulk_create(
        Mailbox(domain=domain, email=f"{prefix}{i:04}@{domain.name}", password=password, quota=i % 7)
        for i in range(count)
    )


def listed(client, name, **query):
    response = client.get(reverse(name), query)
    assert response.status_code == 200
    return response


def mailbox_emails(client, **query):
    return [m.email for m in listed(client, "mailbox-list", **query).context["page"]]


@pytest.mark.parametrize("sort", ["email", "-email", "quota", "-quota", "domain", "-domain"])
def test_every_page_of_the_mailbox_list_holds_the_next_rows_in_order(client, alice, domain_a, domain_b, sort):
    add_mailboxes(domain_a, 120)
    add_mailboxes(domain_b, 110)
    client.force_login(alice)
    pages = [mailbox_emails(client, sort=sort, page=number) for number in range(1, 6)]
    ordering = {"domain": ["domain__name", "email"], "-domain": ["-domain__name", "email"],
                "quota": ["quota", "email"], "-quota": ["-quota", "email"]}.get(sort, [sort])
    expected = list(Mailbox.objects.order_by(*ordering).values_list("email", flat=True))
    assert [len(page) for page in pages] == [50, 50, 50, 50, 30]
    assert sum(pages, []) == expected


def test_the_last_page_costs_the_queries_of_the_first(client, alice, domain_a):
    add_mailboxes(domain_a, 260)
    client.force_login(alice)
    listed(client, "mailbox-list")  # the total is counted once, then kept
    counts = []
    for page in ("1", "3", "999999"):
        with CaptureQueriesContext(connection) as queries:
            response = listed(client, "mailbox-list", page=page)
        counts.append(len(queries))
    assert response.context["page"].number == 6
    assert [m.email for m in response.context["page"]] == [f"u{i:04}@a.example" for i in range(250, 260)]
    # session, user, the kept total's freshness check, the total, the page's ids, its rows
    assert counts[0] == counts[1] == counts[2] <= 6


def test_the_mailbox_list_shows_the_domain_from_the_address(client, alice):
    domain = Domain.objects.create(name="xn--bcher-kva.example")
    add_mailboxes(domain, 3)
    client.force_login(alice)
    response = listed(client, "mailbox-list")
    assert reverse("domain-detail", args=["xn--bcher-kva.example"]).encode() in response.content
    assert "bücher.example".encode() in response.content
    assert "virtual_domains" not in str(response.context["page"].paginator.object_list.query)


def test_the_whole_lists_total_is_kept_and_notices_rows_added_behind_its_back(client, alice, domain_a):
    add_mailboxes(domain_a, 60)
    client.force_login(alice)
    assert listed(client, "mailbox-list").context["page"].paginator.count == 60
    add_mailboxes(domain_a, 5, prefix="late")  # past the write API, as the mail server's scripts write
    assert listed(client, "mailbox-list").context["page"].paginator.count == 65


def test_a_searchs_total_is_kept_for_a_while_and_says_when_it_was_counted(client, alice, domain_a):
    add_mailboxes(domain_a, 60)
    client.force_login(alice)
    assert listed(client, "mailbox-list", q="u00").context["page"].paginator.count == 60
    add_mailboxes(domain_a, 5, prefix="u00late")
    response = listed(client, "mailbox-list", q="u00")
    assert response.context["page"].paginator.count == 60
    assert b"counted at" in response.content


def test_a_total_is_counted_again_once_its_time_is_up(client, alice, domain_a, monkeypatch):
    monkeypatch.setattr(cached_counts, "TTL", 0)  # Django's cache keeps nothing with a timeout of 0
    add_mailboxes(domain_a, 60)
    client.force_login(alice)
    listed(client, "mailbox-list")
    add_mailboxes(domain_a, 5, prefix="late")
    assert listed(client, "mailbox-list").context["page"].paginator.count == 65


def test_changes_made_in_the_panel_show_in_the_totals_at_once(client, alice, domain_a):
    add_mailboxes(domain_a, 60)
    client.force_login(alice)
    listed(client, "mailbox-list")
    Mailbox.objects.create(domain=domain_a, email="new@a.example", password=HASH)
    assert listed(client, "mailbox-list").context["page"].paginator.count == 61
    gone = Mailbox.objects.get(email="u0000@a.example")
    assert client.post(reverse("mailbox-delete", args=[gone.pk])).status_code == 302
    assert listed(client, "mailbox-list").context["page"].paginator.count == 60


def test_a_search_total_is_its_own(client, alice, domain_a):
    add_mailboxes(domain_a, 60)
    add_mailboxes(domain_a, 7, prefix="zed")
    client.force_login(alice)
    assert listed(client, "mailbox-list").context["page"].paginator.count == 67
    assert listed(client, "mailbox-list", q="ZED").context["page"].paginator.count == 7


def test_a_domain_admin_never_gets_a_superadmins_total(client, alice, bob, domain_a, domain_b):
    add_mailboxes(domain_a, 3)
    add_mailboxes(domain_b, 4)
    client.force_login(alice)
    assert listed(client, "mailbox-list").context["page"].paginator.count == 7
    assert listed(client, "alias-list").context["page"].paginator.count == 0
    client.force_login(bob)
    assert listed(client, "mailbox-list").context["page"].paginator.count == 3


def test_every_page_of_the_alias_list_holds_the_next_addresses_in_order(client, alice, domain_a):
    Alias.objects.bulk_create(
        Alias(domain=domain_a, source=f"s{i % 170:03}@a.example", destination=f"d{i:03}@elsewhere.example")
        for i in range(340)
    )
    client.force_login(alice)
    pages = [[row["source"] for row in listed(client, "alias-list", page=n).context["rows"]] for n in range(1, 5)]
    assert [len(page) for page in pages] == [50, 50, 50, 20]
    assert sum(pages, []) == [f"s{i:03}@a.example" for i in range(170)]


def test_the_last_page_of_aliases_costs_the_queries_of_the_first(client, alice, domain_a):
    Alias.objects.bulk_create(
        Alias(domain=domain_a, source=f"s{i % 260:03}@a.example", destination=f"d{i:03}@elsewhere.example")
        for i in range(520)
    )
    client.force_login(alice)
    listed(client, "alias-list")  # the total is counted once, then kept
    counts = []
    for page in ("1", "3", "999999"):
        with CaptureQueriesContext(connection) as queries:
            response = listed(client, "alias-list", page=page)
        counts.append(len(queries))
    assert [row["source"] for row in response.context["rows"]] == [f"s{i:03}@a.example" for i in range(250, 260)]
    assert all(len(row["destinations"]) == 2 for row in response.context["rows"])
    assert counts[0] == counts[1] == counts[2] <= 5


def test_an_empty_list_reads_no_rows(domain_a, django_assert_num_queries):
    paginator = QuickPaginator(Mailbox.objects.order_by("email"), 50)
    with django_assert_num_queries(1):  # the count; an empty page needs no ids and no rows
        page = paginator.get_page(1)
        assert list(page) == []


@pytest.mark.mariadb
def test_searches_use_a_like_that_the_case_insensitive_indexes_can_range_scan(mariadb, client, alice, domain_a):
    add_mailboxes(domain_a, 3)
    Alias.objects.create(domain=domain_a, source="info@a.example", destination="u0001@a.example")
    client.force_login(alice)
    for name, query in (("mailbox-list", "u00"), ("alias-list", "info")):
        with CaptureQueriesContext(connection) as queries:
            response = listed(client, name, q=query)
        assert len(response.context["page"]) >= 1
        searched = [q["sql"] for q in queries if "LIKE" in q["sql"]]
        assert searched and not any("LIKE BINARY" in sql for sql in searched)


# --- Dashboard -----------------------------------------------------------------------------


def test_rows_added_behind_the_panels_back_are_counted_when_it_next_looks(client, alice, domain_a):
    add_mailboxes(domain_a, 4)
    client.force_login(alice)
    assert client.get(reverse("dashboard")).context["mailbox_count"] == 4
    add_mailboxes(domain_a, 2, prefix="old", password=MD5)  # new ids the panel never counted
    again = client.get(reverse("dashboard"))
    assert again.context["mailbox_count"] == 6
    assert {row.key: row.count for row in again.context["inventory"]} == {"BLF-CRYPT": 4, "MD5-CRYPT": 2}
    assert [m.email for row, boxes in again.context["flagged"] for m in boxes] == ["old0000@a.example", "old0001@a.example"]


def test_rows_deleted_behind_its_back_are_counted_again_on_request(client, alice, domain_a):
    add_mailboxes(domain_a, 4)
    client.force_login(alice)
    client.get(reverse("dashboard"))
    Mailbox.objects.filter(email="u0000@a.example")._raw_delete(connection.alias)  # as a script would
    assert client.get(reverse("dashboard")).context["mailbox_count"] == 4
    assert b"?refresh=1" in client.get(reverse("dashboard")).content
    assert client.get(reverse("dashboard"), {"refresh": "1"}).context["mailbox_count"] == 3


def test_changes_through_the_write_api_keep_the_figures_without_counting_again(client, alice, domain_a):
    add_mailboxes(domain_a, 3)
    client.force_login(alice)
    client.get(reverse("dashboard"))
    operator = Operator.command_line()
    services.create_mailbox(operator, "new@a.example", "a long enough passphrase 42")
    services.delete_mailbox(operator, Mailbox.objects.get(email="u0000@a.example"))
    aliases.create_aliases(operator, "info@a.example", ["new@a.example", "x@elsewhere.example"])
    services.set_supplied_password(operator, Mailbox.objects.get(email="u0001@a.example"), MD5)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("dashboard"))
    assert not any("GROUP BY" in query["sql"] and "virtual_users" in query["sql"] for query in queries.captured_queries)
    assert (page.context["mailbox_count"], page.context["alias_count"]) == (3, 2)
    assert {row.key: row.count for row in page.context["inventory"]} == {"BLF-CRYPT": 2, "MD5-CRYPT": 1}


@pytest.mark.parametrize("mailboxes", [30, 300])
def test_the_dashboard_costs_the_same_queries_at_any_size(client, alice, domain_a, mailboxes, django_assert_max_num_queries):
    add_mailboxes(domain_a, mailboxes)
    client.force_login(alice)
    client.get(reverse("dashboard"))
    # session, user, remembered ids, two highest ids, totals, schemes, domains, and for each quota
    # alert its capped count and its fullest rows (no cache: the same queries on every view)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("dashboard"))
    assert response.context["mailbox_count"] == mailboxes


def test_a_password_changed_in_the_panel_shows_on_the_dashboard_at_once(client, alice, domain_a):
    Mailbox.objects.create(domain=domain_a, email="old@a.example", password=MD5)
    client.force_login(alice)
    assert [row.key for row in client.get(reverse("dashboard")).context["inventory"]] == ["MD5-CRYPT"]
    services.set_supplied_password(Operator.command_line(), Mailbox.objects.get(email="old@a.example"), HASH)
    assert [row.key for row in client.get(reverse("dashboard")).context["inventory"]] == ["BLF-CRYPT"]


def test_each_user_gets_their_own_dashboard(client, alice, bob, domain_a, domain_b):
    add_mailboxes(domain_a, 2)
    add_mailboxes(domain_b, 5)
    client.force_login(alice)
    assert client.get(reverse("dashboard")).context["mailbox_count"] == 7
    client.force_login(bob)
    assert client.get(reverse("dashboard")).context["mailbox_count"] == 2


def test_a_row_slipped_in_behind_the_panels_back_before_a_panel_insert_is_still_counted(client, alice, domain_a):
    add_mailboxes(domain_a, 3)
    client.force_login(alice)
    client.get(reverse("dashboard"))
    add_mailboxes(domain_a, 1, prefix="script")
    services.create_mailbox(Operator.command_line(), "panel@a.example", "a long enough passphrase 42")
    assert client.get(reverse("dashboard")).context["mailbox_count"] == 5


def test_recount_counts_again_from_the_tables(domain_a):
    from io import StringIO

    from django.core.management import call_command

    add_mailboxes(domain_a, 7)
    out = StringIO()
    call_command("recount", stdout=out)
    assert out.getvalue() == "Counted 7 mailboxes and 0 aliases.\n"
