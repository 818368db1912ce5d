"""The staff lists built for a million rows: pages addressed by a row's key (First · Previous ·
Next · Last), totals kept by the write API or counted only up to a cap, searches the indexes
can serve. Figures: bench/RESULTS.md."""

import re

import pytest
from django.db.models import Q
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aliases.models import Alias
from aliases import services as aliases
from mailadmin import keyset, kept_statements
from mailadmin.operator import Operator
from mailadmin.pagination import QuickPaginator
from users import services
from users.listing import SEARCH_TOTAL_CAP, query_without
from users.models import Domain, Mailbox, QuotaUsage

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


def total(response):
    """The list's total as its page tells it: a page by key's, or a numbered page's paginator's."""
    page = response.context["page"]
    if page.paginator is None:
        return page.total
    return keyset.Total(page.paginator.count, capped=page.paginator.capped)


def walk(client, name, link, start, **query):
    """Every page from `start` ({"page": "last"} or none), following the `link` of each page
    (next_href, previous_href) as a person clicks Next or Previous."""
    url = reverse(name) + "?" + "&".join(f"{k}={v}" for k, v in {**query, **start}.items())
    pages = []
    while True:
        response = client.get(url)
        assert response.status_code == 200
        page = response.context["page"]
        pages.append(list(page))
        more = page.has_next if link == "next_href" else page.has_previous
        if not more:
            return pages
        url = reverse(name) + getattr(page, link)
        assert len(pages) < 50, "the pages never end"


def query_plan(sql):
    """MariaDB's EXPLAIN of `sql`: a dict of its columns for each step."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        columns = [column[0] for column in cursor.description]
        return [dict(zip(columns, row)) for row in cursor.fetchall()]


SORTS = {"email": ["email"], "-email": ["-email"], "domain": ["domain__name", "email"],
         "-domain": ["-domain__name", "-email"], "quota": ["quota", "email"], "-quota": ["-quota", "-email"]}


@pytest.mark.parametrize("sort", SORTS)
def test_next_and_previous_walk_the_whole_mailbox_list_in_order(client, alice, domain_a, domain_b, sort):
    add_mailboxes(domain_a, 120)
    add_mailboxes(domain_b, 110)
    client.force_login(alice)
    expected = list(Mailbox.objects.order_by(*SORTS[sort]).values_list("email", flat=True))
    forward = walk(client, "mailbox-list", "next_href", {}, sort=sort)
    assert [len(page) for page in forward] == [50, 50, 50, 50, 30]
    assert [m.email for page in forward for m in page] == expected
    # From the last page back: the last page is full, the first page what it always is.
    backward = walk(client, "mailbox-list", "previous_href", {"page": "last"}, sort=sort)
    assert [len(page) for page in backward] == [50, 50, 50, 50, 50]
    assert [m.email for m in backward[0]] == expected[-50:]
    assert [m.email for m in backward[-1]] == expected[:50]


@pytest.mark.parametrize("sort", ["domain", "-domain"])
def test_the_list_by_domain_walks_many_small_and_empty_domains_in_order(client, alice, sort):
    # More domains than the walk reads at a time; every third one empty.
    domains = Domain.objects.bulk_create(Domain(name=f"dom{n:03}.example") for n in range(130))
    Mailbox.objects.bulk_create(
        Mailbox(domain=domain, email=f"{local}@{domain.name}", password=HASH)
        for n, domain in enumerate(domains) if n % 3 for local in ("b", "a")[: 1 + n % 2]
    )
    client.force_login(alice)
    expected = list(Mailbox.objects.order_by(*SORTS[sort]).values_list("email", flat=True))
    forward = walk(client, "mailbox-list", "next_href", {}, sort=sort)
    assert [m.email for page in forward for m in page] == expected
    backward = walk(client, "mailbox-list", "previous_href", {"page": "last"}, sort=sort)
    assert [m.email for m in backward[0]] == expected[-50:] and [m.email for m in backward[-1]] == expected[:50]


def test_the_list_by_domain_keeps_a_domain_admin_to_their_domains(client, bob, domain_a, domain_b):
    add_mailboxes(domain_a, 3)
    add_mailboxes(domain_b, 4)
    client.force_login(bob)
    for sort, before_all in (("domain", "a@a.example"), ("-domain", "z@a.example")):
        for query in ({}, {"page": "last"}, {"before": "u0003@b.example"}, {"after": before_all}):
            assert sorted(mailbox_emails(client, sort=sort, **query)) == [f"u{i:04}@a.example" for i in range(3)]
        assert mailbox_emails(client, sort=sort, domain="b.example") == []


def test_a_page_holds_the_rows_after_its_key_whatever_was_added_before_it(client, alice, domain_a):
    add_mailboxes(domain_a, 120)
    client.force_login(alice)
    first = listed(client, "mailbox-list").context["page"]
    add_mailboxes(domain_a, 30, prefix="a")  # sorts before every row shown so far
    second = listed(client, "mailbox-list", after=first.last_key).context["page"]
    assert [m.email for m in second] == [f"u{i:04}@a.example" for i in range(50, 100)]
    assert second.has_previous and second.has_next


def test_the_first_and_last_pages_know_they_are_the_ends(client, alice, domain_a):
    add_mailboxes(domain_a, 120)
    client.force_login(alice)
    first = listed(client, "mailbox-list").context["page"]
    last = listed(client, "mailbox-list", page="last").context["page"]
    assert (first.has_previous, first.has_next) == (False, True)
    assert (last.has_previous, last.has_next) == (True, False)
    content = listed(client, "mailbox-list", page="last").content.decode()
    assert "‹ Previous" in content and "« First" in content and "Next ›" not in content


@pytest.mark.parametrize("number, first_row", [("1", 0), ("", 0), ("zzz", 0), ("-3", 0), ("²", 0), ("٣", 0), ("3", 100)])
def test_an_old_page_number_still_shows_its_page(client, alice, domain_a, number, first_row):
    add_mailboxes(domain_a, 260)
    client.force_login(alice)
    assert mailbox_emails(client, page=number)[0] == f"u{first_row:04}@a.example"


@pytest.mark.parametrize("number", ["11", "999999", "last", "9" * 19, "9" * 5000])
def test_a_page_number_beyond_the_few_read_by_number_is_the_last_page(client, alice, domain_a, number):
    add_mailboxes(domain_a, 260)
    client.force_login(alice)
    assert mailbox_emails(client, page=number) == [f"u{i:04}@a.example" for i in range(210, 260)]


def test_a_page_number_past_the_end_of_a_short_list_is_its_last_page(client, alice, domain_a):
    add_mailboxes(domain_a, 120)
    client.force_login(alice)
    assert mailbox_emails(client, page="5") == [f"u{i:04}@a.example" for i in range(70, 120)]


def test_a_key_that_names_nothing_shows_the_first_page(client, alice, domain_a):
    add_mailboxes(domain_a, 60)
    client.force_login(alice)
    for bad in ({"after": "no at sign"}, {"before": ""}, {"after": "x:y@a.example", "sort": "quota"}, {"after": "a" * 500},
                {"after": "😀@a.example"}, {"before": "😀@a.example", "sort": "domain"}):
        assert mailbox_emails(client, **bad)[0] == "u0000@a.example"
    for bad in ({"after": "😀@a.example"}, {"before": "😀"}, {"after": "x" * 300}, {"q": "😀", "after": "😀"}):
        assert listed(client, "alias-list", **bad).status_code == 200


def test_every_page_costs_the_queries_of_the_first(client, alice, domain_a):
    add_mailboxes(domain_a, 260)
    client.force_login(alice)
    listed(client, "mailbox-list")  # the kept figures count the rows added behind the panel's back, once
    counts = []
    for query in ({}, {"after": "u0120@a.example"}, {"before": "u0200@a.example"}, {"page": "999999"}):
        with CaptureQueriesContext(connection) as queries:
            response = listed(client, "mailbox-list", **query)
        counts.append(len(queries))
    assert [m.email for m in response.context["page"]] == [f"u{i:04}@a.example" for i in range(210, 260)]
    # session, user, the kept figures' freshness check, the total, the page
    assert counts[0] == counts[1] == counts[2] == counts[3] <= 5


@pytest.mark.mariadb
@pytest.mark.parametrize("sort, key, index", [
    ("email", "u0120@a.example", "email"),
    ("-email", "u0120@a.example", "email"),
    ("quota", "3:u0120@a.example", "virtual_users_quota_email"),
    ("-quota", "3:u0120@a.example", "virtual_users_quota_email"),
    ("domain", "u0120@a.example", "virtual_users_domain_email"),
])
def test_a_page_after_a_key_is_a_range_scan_of_an_index_without_a_sort(mariadb, client, alice, domain_a, sort, key, index):
    add_mailboxes(domain_a, 300)
    client.force_login(alice)
    with CaptureQueriesContext(connection) as queries:
        listed(client, "mailbox-list", sort=sort, after=key)
    page_sql = [q["sql"] for q in queries if "FROM `virtual_users`" in q["sql"] and "LIMIT" in q["sql"]][-1]
    plan = query_plan(page_sql)
    users = next(step for step in plan if step["table"] == "virtual_users")
    assert (users["type"], users["key"]) in (("range", index), ("ref", index))
    assert "filesort" not in (plan[0]["Extra"] or "")


def test_the_mailbox_list_shows_the_domain_from_the_address(client, alice):
    domain = Domain.objects.create(name="xn--bcher-kva.example")
    add_mailboxes(domain, 3)
    client.force_login(alice)
    listed(client, "mailbox-list")
    with CaptureQueriesContext(connection) as queries:
        response = listed(client, "mailbox-list")
    joined = [q["sql"] for q in queries if re.search(r"JOIN [`\"]virtual_domains[`\"]", q["sql"])]
    assert not joined
    assert reverse("domain-detail", args=["xn--bcher-kva.example"]).encode() in response.content
    assert "bücher.example".encode() in response.content
    assert "bücher.example".encode() in response.content


def test_the_whole_lists_total_is_kept_and_notices_rows_added_behind_its_back(client, alice, domain_a):
    add_mailboxes(domain_a, 60)
    client.force_login(alice)
    assert listed(client, "mailbox-list").context["page"].total.count == 60
    add_mailboxes(domain_a, 5, prefix="late")  # past the write API, as the mail server's scripts write
    assert listed(client, "mailbox-list").context["page"].total.count == 65


@pytest.mark.parametrize("over", ["50", "abc", ""])
def test_a_share_of_the_quota_the_list_does_not_offer_leaves_the_whole_list_and_its_kept_total(client, alice, domain_a, over):
    add_mailboxes(domain_a, SEARCH_TOTAL_CAP + 1)
    client.force_login(alice)
    listed(client, "mailbox-list")  # the kept figures count the rows added behind the panel's back, once
    with CaptureQueriesContext(connection) as queries:
        response = listed(client, "mailbox-list", over=over)
    assert total(response) == keyset.Total(SEARCH_TOTAL_CAP + 1)
    assert [m.email for m in response.context["page"]] == [f"u{i:04}@a.example" for i in range(50)]
    assert not [q["sql"] for q in queries if "COUNT(" in q["sql"] and "virtual_users" in q["sql"]]


def test_a_searchs_total_is_exact_up_to_the_search_cap_and_more_than_the_cap_beyond(client, alice, domain_a):
    add_mailboxes(domain_a, SEARCH_TOTAL_CAP)
    client.force_login(alice)
    response = listed(client, "mailbox-list", q="u")
    assert response.context["page"].total == keyset.Total(SEARCH_TOTAL_CAP)
    assert f"{SEARCH_TOTAL_CAP} in all" in response.content.decode()
    add_mailboxes(domain_a, 1, prefix="u9")
    response = listed(client, "mailbox-list", q="u")
    assert response.context["page"].total == keyset.Total(SEARCH_TOTAL_CAP, capped=True)
    assert f"more than {SEARCH_TOTAL_CAP} in all" in response.content.decode()
    # The list's own total, with no search, is exact.
    assert listed(client, "mailbox-list").context["page"].total == keyset.Total(SEARCH_TOTAL_CAP + 1)


def test_a_searchs_total_is_counted_afresh_at_each_view(client, alice, domain_a):
    add_mailboxes(domain_a, 60)
    client.force_login(alice)
    assert total(listed(client, "mailbox-list", q="u00")).count == 60
    add_mailboxes(domain_a, 5, prefix="u00late")  # past the write API
    assert total(listed(client, "mailbox-list", q="u00")).count == 65


@pytest.mark.parametrize("sort", ["email", "-quota", "domain"])
def test_searches_find_what_the_orm_finds_and_those_read_in_order_share_kept_statements(
    client, alice, bob, domain_a, domain_b, sort, monkeypatch
):
    from mailadmin import kept_statements

    monkeypatch.setattr(kept_statements, "_statements", {})
    add_mailboxes(domain_a, 12)
    add_mailboxes(domain_b, 3)
    for odd in ("u_1", "u%1", "u\\1", "uz_x", "u_"):
        Mailbox.objects.create(domain=domain_a, email=f"{odd}@a.example", password=HASH)
    client.force_login(alice)
    searches = ["u00", "U001", "u_", "u%", "u\\", "u_1", "zzz", "@b.ex", "@", "@a.example", "u00😀"]
    for text in searches * 2:
        narrowed = Mailbox.objects.filter(domain__name__istartswith=text[1:]) if text.startswith("@") else (
            Mailbox.objects.filter(email__istartswith=text.lower()))
        expected = [m.email for m in narrowed.order_by(*SORTS[sort])][:50]
        response = listed(client, "mailbox-list", q=text, sort=sort)
        assert [m.email for m in response.context["page"]] == expected, text
        assert total(response).count == len(expected), text
    kept = [key for _database, key in kept_statements._statements if key[:1] == ("mailbox list",) and key[5]]
    if sort == "email":
        # An address search reads the addresses' index in the list's order: the first page's
        # rows and the count are kept, whatever the text. The others are picked by their ids.
        assert {key[5] for key in kept} == {"_by_address_prefix"} and len(kept) == 2
    else:
        assert kept == []
    client.force_login(bob)
    assert mailbox_emails(client, q="u0001", sort=sort) == ["u0001@a.example"]
    assert mailbox_emails(client, q="@b.ex", sort=sort) == []  # the same statements, in their own scope


def test_a_domains_total_is_the_one_the_write_api_keeps(client, alice, bob, domain_a, domain_b):
    add_mailboxes(domain_a, 3)
    add_mailboxes(domain_b, 4)
    client.force_login(alice)
    listed(client, "mailbox-list")  # the kept figures count the rows added behind the panel's back, once
    with CaptureQueriesContext(connection) as queries:
        assert total(listed(client, "mailbox-list", domain="b.example")).count == 4
    assert not any("COUNT(" in q["sql"].upper() and "virtual_users" in q["sql"] for q in queries)
    client.force_login(bob)  # no grant for b.example
    assert total(listed(client, "mailbox-list", domain="b.example")).count == 0
    assert listed(client, "mailbox-list", domain="b.example").context["rows"] == []


def test_changes_made_in_the_panel_show_in_the_totals_at_once(client, alice, domain_a):
    add_mailboxes(domain_a, 60)
    client.force_login(alice)
    listed(client, "mailbox-list")
    Mailbox.objects.create(domain=domain_a, email="new@a.example", password=HASH)
    assert listed(client, "mailbox-list").context["page"].total.count == 61
    gone = Mailbox.objects.get(email="u0000@a.example")
    assert client.post(reverse("mailbox-delete", args=[gone.pk])).status_code == 302
    assert listed(client, "mailbox-list").context["page"].total.count == 60


def test_a_search_total_is_its_own(client, alice, domain_a):
    add_mailboxes(domain_a, 60)
    add_mailboxes(domain_a, 7, prefix="zed")
    client.force_login(alice)
    assert listed(client, "mailbox-list").context["page"].total.count == 67
    assert listed(client, "mailbox-list", q="ZED").context["page"].total.count == 7


def test_a_domain_admin_never_gets_a_superadmins_total(client, alice, bob, domain_a, domain_b):
    add_mailboxes(domain_a, 3)
    add_mailboxes(domain_b, 4)
    client.force_login(alice)
    assert listed(client, "mailbox-list").context["page"].total.count == 7
    assert listed(client, "alias-list").context["page"].total == keyset.Total(0)
    client.force_login(bob)
    assert listed(client, "mailbox-list").context["page"].total.count == 3


def add_aliases(domain, addresses, rows_each=2):
    Alias.objects.bulk_create(
        Alias(domain=domain, source=f"s{i:03}@{domain.name}", destination=f"d{i:03}.{n}@elsewhere.example")
        for i in range(addresses) for n in range(rows_each)
    )


def alias_sources(response):
    return [row["source"] for row in response.context["rows"]]


def test_alias_searches_share_kept_statements_and_find_what_a_reading_of_every_row_finds(
    client, alice, bob, domain_a, domain_b, monkeypatch
):
    from mailadmin import kept_statements

    monkeypatch.setattr(kept_statements, "_statements", {})
    add_aliases(domain_a, 60)
    add_aliases(domain_b, 5)
    for source, destination in (("s_1@a.example", "x@y.example"), ("s%1@a.example", "s_9@z.example"),
                                ("t@a.example", "S0@elsewhere.example"), ("s0both@a.example", "s0both@elsewhere.example")):
        Alias.objects.create(domain=domain_a, source=source, destination=destination)
    rows = list(Alias.objects.values_list("source", "destination"))
    client.force_login(alice)
    for text in ("s0", "S00", "s_", "s%", "d00", "t", "zzz", "s0😀") * 2:
        found = sorted({source for source, destination in rows
                        if source.startswith(text.lower()) or destination.lower().startswith(text.lower())})
        response = listed(client, "alias-list", q=text)
        assert alias_sources(response) == found[:50], text
        assert total(response).count == len(found), text
        if len(found) > 50:
            after = listed(client, "alias-list", q=text, after=found[49])
            assert alias_sources(after) == found[50:100], text
    kept = {key[3:] for _database, key in kept_statements._statements if key[0] == "alias search"}
    assert kept == {("union", SEARCH_TOTAL_CAP, 51, "source", True), ("count", SEARCH_TOTAL_CAP, SEARCH_TOTAL_CAP + 1, "source", True),
                    ("union", SEARCH_TOTAL_CAP, 51, "source", False)}
    client.force_login(bob)
    assert alias_sources(listed(client, "alias-list", q="s00")) == [f"s00{i}@a.example" for i in range(10)]


def test_next_and_previous_walk_the_alias_list_one_line_per_address(client, alice, domain_a):
    add_aliases(domain_a, 170)
    client.force_login(alice)
    expected = [f"s{i:03}@a.example" for i in range(170)]
    forward = walk(client, "alias-list", "next_href", {})
    assert [len(page) for page in forward] == [50, 50, 50, 20]
    assert sum(forward, []) == expected
    backward = walk(client, "alias-list", "previous_href", {"page": "999999"})
    assert [len(page) for page in backward] == [50, 50, 50, 50]
    assert backward[0] == expected[-50:] and backward[-1] == expected[:50]


def test_every_page_of_aliases_costs_the_queries_of_the_first(client, alice, domain_a):
    add_aliases(domain_a, 260)
    client.force_login(alice)
    listed(client, "alias-list")  # the kept figures count the rows added behind the panel's back, once
    counts = []
    for query in ({}, {"after": "s120@a.example"}, {"before": "s200@a.example"}, {"page": "999999"}):
        with CaptureQueriesContext(connection) as queries:
            response = listed(client, "alias-list", **query)
        counts.append(len(queries))
    assert alias_sources(response) == [f"s{i:03}@a.example" for i in range(210, 260)]
    assert all(len(row["destinations"]) == 2 for row in response.context["rows"])
    # session, user, capped count, kept figures' check, kept rows, the page's sources, their destinations
    assert counts[0] == counts[1] == counts[2] == counts[3] <= 7


def test_the_alias_list_counts_addresses_up_to_the_cap_and_tells_the_rows_exactly(client, alice, domain_a):
    add_aliases(domain_a, 1000)
    client.force_login(alice)
    listed(client, "alias-list")
    content = listed(client, "alias-list").content.decode()
    assert "1000 addresses · 2000 alias rows" in content
    Alias.objects.bulk_create([Alias(domain=domain_a, source="zz@a.example", destination="x@elsewhere.example")])
    content = listed(client, "alias-list").content.decode()
    assert "more than 1000 addresses · 2001 alias rows" in content


def test_a_search_finds_each_address_once_whether_its_source_or_a_destination_matches(client, alice, domain_a):
    Alias.objects.bulk_create([
        Alias(domain=domain_a, source="info@a.example", destination="info@elsewhere.example"),
        Alias(domain=domain_a, source="info@a.example", destination="infodesk@elsewhere.example"),
        Alias(domain=domain_a, source="sales@a.example", destination="info.sales@elsewhere.example"),
        Alias(domain=domain_a, source="sales@a.example", destination="info.team@elsewhere.example"),
        Alias(domain=domain_a, source="other@a.example", destination="x@elsewhere.example"),
    ])
    client.force_login(alice)
    response = listed(client, "alias-list", q="INFO")
    assert alias_sources(response) == ["info@a.example", "sales@a.example"]
    assert total(response) == keyset.Total(2)


def test_a_search_whose_destinations_match_more_than_the_cap_lists_the_first_by_destination(
    client, alice, domain_a, monkeypatch
):
    from aliases import views

    monkeypatch.setattr(views, "SEARCH_TOTAL_CAP", 5)
    # s000 forwards to fwd019, s019 to fwd000: the destinations' order is the sources' reversed.
    Alias.objects.bulk_create(
        Alias(domain=domain_a, source=f"s{i:03}@a.example", destination=f"fwd{19 - i:03}@elsewhere.example")
        for i in range(20)
    )
    Alias.objects.create(domain=domain_a, source="fwdself@a.example", destination="x@elsewhere.example")
    client.force_login(alice)
    # The source that matches, then the sources of the first 6 (cap + 1) destinations, by address.
    expected = ["fwdself@a.example"] + [f"s{i:03}@a.example" for i in range(14, 20)]
    for query in ({}, {"page": "last"}):
        response = listed(client, "alias-list", q="fwd", **query)
        assert alias_sources(response) == expected
        assert total(response) == keyset.Total(5, capped=True)
        assert "more than 5 addresses" in response.content.decode()
    assert alias_sources(listed(client, "alias-list", q="fwd", after="s015@a.example")) == expected[-4:]


@pytest.mark.mariadb
def test_a_searchs_destination_side_reads_the_destination_index_in_order(mariadb, client, alice, domain_a):
    add_aliases(domain_a, 300)
    client.force_login(alice)
    with CaptureQueriesContext(connection) as queries:
        listed(client, "alias-list", q="d01")
    [union] = [q["sql"] for q in queries if "UNION ALL" in q["sql"]]
    [destination] = [step for step in query_plan(union) if step["key"] == "virtual_aliases_destination"]
    assert destination["type"] == "range" and "filesort" not in (destination["Extra"] or "")


def test_a_search_pages_by_key_across_both_sides(client, alice, domain_a):
    # Odd addresses match by their source, even ones by a destination: each page interleaves both.
    Alias.objects.bulk_create(
        Alias(domain=domain_a, source=f"a{i:03}@a.example",
              destination=f"find{i}@elsewhere.example" if i % 2 == 0 else f"x{i}@elsewhere.example")
        for i in range(130)
    )
    Alias.objects.bulk_create(
        Alias(domain=domain_a, source=f"find{i:03}@a.example", destination="y@elsewhere.example") for i in range(40)
    )
    client.force_login(alice)
    expected = sorted([f"a{i:03}@a.example" for i in range(0, 130, 2)] + [f"find{i:03}@a.example" for i in range(40)])
    forward = walk(client, "alias-list", "next_href", {}, q="find")
    assert [len(page) for page in forward] == [50, 50, 5]
    assert sum(forward, []) == expected
    backward = walk(client, "alias-list", "previous_href", {"page": "last"}, q="find")
    assert sum(backward[::-1], [])[-50:] == expected[-50:] and backward[-1] == expected[:50]
    assert total(listed(client, "alias-list", q="find")) == keyset.Total(105)


def test_a_searchs_count_of_addresses_stops_at_the_cap_of_addresses_not_of_rows(client, alice, domain_a):
    add_aliases(domain_a, SEARCH_TOTAL_CAP + 1, rows_each=2)  # destinations d000.0@…, d000.1@…: two matching rows each
    client.force_login(alice)
    assert total(listed(client, "alias-list", q="d")) == keyset.Total(SEARCH_TOTAL_CAP, capped=True)
    assert total(listed(client, "alias-list", q="d00")) == keyset.Total(10)


def test_a_search_sees_only_the_domain_admins_domains(client, bob, domain_a, domain_b):
    Alias.objects.bulk_create([
        Alias(domain=domain_a, source="info@a.example", destination="x@elsewhere.example"),
        Alias(domain=domain_b, source="info@b.example", destination="x@elsewhere.example"),
        Alias(domain=domain_b, source="sales@b.example", destination="info@a.example"),
    ])
    client.force_login(bob)
    for query in ({"q": "info"}, {"q": "info", "page": "last"}, {"q": "info", "after": "a@a.example"}, {}):
        assert alias_sources(listed(client, "alias-list", **query)) == ["info@a.example"]
    assert total(listed(client, "alias-list", q="info")) == keyset.Total(1)


@pytest.mark.mariadb
def test_each_side_of_an_alias_search_is_a_range_scan_of_its_own_index(mariadb, client, alice, domain_a):
    add_aliases(domain_a, 300)
    client.force_login(alice)
    with CaptureQueriesContext(connection) as queries:
        listed(client, "alias-list", q="s01", after="s010@a.example")
    page_sql = next(q["sql"] for q in queries if " UNION " in q["sql"] and "ORDER BY" in q["sql"].split("UNION")[-1])
    plan = {(step["table"], step["type"], step["key"]) for step in query_plan(page_sql)}
    assert ("virtual_aliases", "range", "virtual_aliases_source_destination_uniq") in plan
    assert ("virtual_aliases", "range", "virtual_aliases_destination") in plan


def test_an_empty_list_reads_no_rows(domain_a, django_assert_num_queries):
    paginator = QuickPaginator(Mailbox.objects.order_by("email"), 50)
    with django_assert_num_queries(1):  # the count; an empty page needs no ids and no rows
        page = paginator.get_page(1)
        assert list(page) == []



def test_the_first_page_of_a_list_without_conditions_reads_its_rows_in_one_query(domain_a, django_assert_num_queries):
    add_mailboxes(domain_a, 30)
    paginator = QuickPaginator(Mailbox.objects.order_by("email"), 10, known_count=30)
    everything = [m.email for m in Mailbox.objects.order_by("email")]
    with django_assert_num_queries(1):
        first = [m.email for m in paginator.page(1)]
    with django_assert_num_queries(2):  # further on: the page's ids from the index, then their rows
        second = [m.email for m in paginator.page(2)]
    assert first + second == everything[:20]


def test_a_kept_first_page_reads_what_the_orm_reads_and_what_changed_since(domain_a, django_assert_num_queries):
    from users import quota_usage
    from users.mailbox_seek import seek

    add_mailboxes(domain_a, 30)
    mailboxes = quota_usage.with_usage(Mailbox.objects.all())

    def first_page(kept_as):
        rows = keyset.page_of(seek(mailboxes, "-quota", kept_as=kept_as), {}, 10)
        return [(m.pk, m.email, m.quota, m.used_bytes, m.domain_id) for m in rows]

    assert first_page(("a test",)) == first_page(None)
    Mailbox.objects.filter(email="u0006@a.example").update(quota=99)
    with django_assert_num_queries(1):  # the statement kept: no SQL built, the rows read afresh
        assert first_page(("a test",))[0][1:3] == ("u0006@a.example", 99)


def test_a_kept_first_page_is_kept_per_scope_and_domain(client, alice, bob, domain_a, domain_b):
    add_mailboxes(domain_a, 3)
    add_mailboxes(domain_b, 2)
    client.force_login(alice)
    assert len(mailbox_emails(client)) == 5 and mailbox_emails(client, domain="b.example") == ["u0000@b.example", "u0001@b.example"]
    client.force_login(bob)
    assert mailbox_emails(client) == ["u0000@a.example", "u0001@a.example", "u0002@a.example"]
    assert mailbox_emails(client, domain="b.example") == []


def test_the_domain_lists_kept_first_page_shows_new_domains_and_each_persons_own(client, alice, bob, domain_a, domain_b):
    from users.models import DomainAdminGrant

    def names(user):
        client.force_login(user)
        return [domain.name for domain in listed(client, "domain-list").context["page"]]

    assert names(alice) == ["a.example", "b.example"] and names(bob) == ["a.example"]
    services.create_domain(Operator(label="cli:ops", via="cli"), "c.example")
    DomainAdminGrant.objects.create(user=bob, domain=Domain.objects.get(name="c.example"))
    assert names(alice) == ["a.example", "b.example", "c.example"] and names(bob) == ["a.example", "c.example"]


def test_every_page_of_a_kept_list_is_the_orms_page_and_shows_what_changed_since(domain_a, django_assert_num_queries):
    from django.core.paginator import Paginator

    add_mailboxes(domain_a, 47)
    ordered = Mailbox.objects.order_by("email")

    def pages(kept_as):
        paginator = QuickPaginator(ordered, 10, known_count=47, kept_as=kept_as)
        return [[(m.pk, m.email, m.quota) for m in paginator.page(number)] for number in range(1, 6)]

    expected = [[(m.pk, m.email, m.quota) for m in Paginator(ordered, 10).page(number)] for number in range(1, 6)]
    assert pages(("test every page",)) == pages(None) == expected
    Mailbox.objects.filter(email__in=["u0012@a.example", "u0046@a.example"]).update(quota=7)
    Mailbox.objects.filter(email="u0013@a.example").delete()
    with django_assert_num_queries(1 + 2 * 3 + 1):  # the first and last pages' rows; ids, then rows, between
        again = pages(("test every page",))
    assert again[1][2] == (again[1][2][0], "u0012@a.example", 7) and "u0013@a.example" not in str(again)
    assert again[4][-1][1:] == ("u0046@a.example", 7)
    assert kept_statements.kept(("test every page", "ids", True, 10, 20), lambda: None)[0] == "values"


def test_rows_read_by_kept_ids_are_the_orms_whatever_the_ids(domain_a, django_assert_num_queries, monkeypatch):
    from mailadmin.pagination import rows_in_order

    monkeypatch.setattr(kept_statements, "_statements", {})  # never emptied at its limit halfway through
    add_mailboxes(domain_a, 12)
    mailboxes = Mailbox.objects.filter(domain=domain_a).order_by("email")
    pks = list(mailboxes.values_list("pk", flat=True))
    for ids in (pks[:3], pks[3:6][::-1], [pks[7], pks[7], pks[1]], pks[9:12]):
        assert rows_in_order(mailboxes, ids, kept_as=("test by ids",)) == rows_in_order(mailboxes, ids)
    Mailbox.objects.filter(pk=pks[10]).delete()
    with django_assert_num_queries(1):
        assert [m.pk for m in rows_in_order(mailboxes, pks[9:12], kept_as=("test by ids",))] == [pks[9], pks[11]]
    assert kept_statements.kept(("test by ids", "by ids", 3), lambda: None)[0] == "instances"


def test_a_page_of_rows_picked_by_ids_is_read_in_one_query(domain_a, django_assert_num_queries):
    """The Django admin's searches list the rows of the ids they found (mailadmin.admin_search)."""
    add_mailboxes(domain_a, 30)
    picked = Mailbox.objects.filter(pk__in=list(Mailbox.objects.values_list("pk", flat=True))[::2])
    paginator = QuickPaginator(picked.order_by("-email"), 10, known_count=15)
    with django_assert_num_queries(2):
        pages = [[m.email for m in paginator.page(number)] for number in (1, 2)]
    assert pages[0] + pages[1] == [m.email for m in picked.order_by("-email")]

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


@pytest.mark.mariadb
def test_a_scheme_few_mailboxes_use_is_found_by_its_index_not_by_reading_every_mailbox(mariadb, client, alice, domain_a):
    add_mailboxes(domain_a, 2000)
    add_mailboxes(domain_a, 3, prefix="old", password=MD5)
    client.force_login(alice)
    old = ["old0000@a.example", "old0001@a.example", "old0002@a.example"]
    pages = [  # the dashboard's flagged mailboxes; the list narrowed to the scheme, picked
        ("dashboard", {}, lambda response: [m.email for row, boxes in response.context["flagged"] for m in boxes], old),
        ("mailbox-list", {"scheme": "MD5-CRYPT", "sort": "-quota"},
         lambda response: [m.email for m in response.context["page"]], old[::-1]),
    ]
    for name, query, shown, expected in pages:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse(name), query)
        assert shown(response) == expected
        [listing] = [q["sql"] for q in queries if "LIKE '{MD5-CRYPT}%'" in q["sql"]]
        [plan] = query_plan(listing)
        assert (plan["type"], plan["key"]) == ("range", "virtual_users_password_scheme"), name


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


def _kept(user):
    from users import tallies

    return tallies.totals(user), tallies.schemes(user)


def test_a_superadmins_figures_are_the_all_domains_rows_kept_beside_each_domains(alice, bob, domain_a, domain_b):
    from users import tallies
    from users.models import DomainCount

    add_mailboxes(domain_a, 3)
    add_mailboxes(domain_b, 2, password=MD5)
    tallies.ensure_counted()
    operator = Operator.command_line()
    services.create_mailbox(operator, "new@b.example", "a long enough passphrase 42")
    aliases.create_aliases(operator, "info@a.example", ["u0000@a.example", "x@elsewhere.example"])
    services.set_supplied_password(operator, Mailbox.objects.get(email="u0001@a.example"), MD5)
    services.delete_domain(operator, Domain.objects.get(name="b.example"))

    assert _kept(alice) == ({"domains": 1, "mailboxes": 3, "aliases": 2}, {"BLF-CRYPT": 2, "MD5-CRYPT": 1})
    assert _kept(bob) == _kept(alice)  # bob's one domain is now every domain: the two ways agree
    all_domains = DomainCount.objects.get(domain_id=tallies.ALL_DOMAINS)
    assert (all_domains.domains, all_domains.mailboxes, all_domains.aliases) == (1, 3, 2)
    tallies.recount()
    assert _kept(alice) == ({"domains": 1, "mailboxes": 3, "aliases": 2}, {"BLF-CRYPT": 2, "MD5-CRYPT": 1})


def test_the_number_of_domains_is_kept_through_every_door_and_noticed_behind_its_back(client, alice, bob, domain_a):
    from users import tallies

    def shown(user):
        client.force_login(user)
        return (client.get(reverse("dashboard")).context["domain_count"],
                client.get(reverse("domain-list")).context["page"].paginator.count)

    assert shown(alice) == (1, 1)
    services.create_domain(Operator.command_line(), "cli.example")  # the command line's and the pages' door
    client.force_login(alice)
    client.post(reverse("admin:users_domain_add"), {"name": "admin.example"})  # the Django admin's
    assert Domain.objects.filter(name="admin.example").exists()
    assert shown(alice) == (3, 3) and shown(bob) == (1, 1)
    Domain.objects.create(name="script.example")  # behind the panel's back: a new id, noticed
    assert shown(alice) == (4, 4)
    services.delete_domain(Operator.command_line(), Domain.objects.get(name="cli.example"))
    assert shown(alice) == (3, 3)
    with CaptureQueriesContext(connection) as queries:
        shown(alice)
    assert not any("FROM `virtual_domains`" in q["sql"].replace('"', "`") and "COUNT(" in q["sql"] for q in queries)
    assert tallies.totals(alice)["domains"] == Domain.objects.count()


def test_a_superadmins_totals_read_one_row_whatever_the_number_of_domains(alice, domain_a):
    from users import tallies

    for n in range(5):
        add_mailboxes(Domain.objects.create(name=f"d{n}.example"), 1)
    tallies.ensure_counted()
    with CaptureQueriesContext(connection) as queries:
        assert tallies.totals(alice, checked=True) == {"domains": 6, "mailboxes": 5, "aliases": 0}
    (query,) = queries.captured_queries
    assert "mailadmin_domain_count" in query["sql"] and "IN (" not in query["sql"].upper()


def test_the_totals_and_the_check_for_rows_written_behind_its_back_are_one_query(alice, bob, domain_a, domain_b):
    from users import tallies

    add_mailboxes(domain_a, 2)
    add_mailboxes(domain_b, 3)
    tallies.ensure_counted()
    for user, expected in ((alice, {"domains": 2, "mailboxes": 5, "aliases": 0}),
                           (bob, {"domains": 1, "mailboxes": 2, "aliases": 0})):
        with CaptureQueriesContext(connection) as queries:
            kept = tallies.totals(user)
        assert len(queries) == 1
        assert kept == expected and all(type(value) is int for value in kept.values())
    with CaptureQueriesContext(connection) as queries:
        assert tallies.domain_totals(bob, name="a.example") == {"mailboxes": 2, "aliases": 0}
        assert tallies.domain_totals(bob, name="b.example") == {"mailboxes": 0, "aliases": 0}  # not bob's
    assert len(queries) == 2
    Mailbox.objects.create(domain=domain_a, email="script@a.example", password="{PLAIN}x")  # behind its back
    assert tallies.totals(bob)["mailboxes"] == 3
    assert tallies.domain_totals(alice, name="a.example")["mailboxes"] == 3


def test_the_kept_statements_follow_grants_and_roles_given_after_their_first_read(bob, domain_a, domain_b):
    from users import tallies
    from users.models import DomainAdminGrant

    add_mailboxes(domain_a, 2)
    add_mailboxes(domain_b, 3)
    for read in (lambda: tallies.totals(bob)["mailboxes"], lambda: tallies.figures(bob)[0]["mailboxes"],
                 lambda: sum(tallies.schemes(bob).values()),
                 lambda: tallies.domain_totals(bob, name="a.example")["mailboxes"]
                 + tallies.domain_totals(bob, name="b.example")["mailboxes"]):
        assert read() == 2
        grant = DomainAdminGrant.objects.create(user=bob, domain=domain_b)
        assert read() == 5
        grant.delete()
        bob.is_superuser = True
        assert read() == 5
        bob.is_superuser, bob.is_staff = False, False
        assert read() == 0
        bob.is_staff = True


def test_recount_counts_again_from_the_tables(domain_a):
    from io import StringIO

    from django.core.management import call_command

    add_mailboxes(domain_a, 7)
    out = StringIO()
    call_command("recount", stdout=out)
    assert out.getvalue() == "Counted 1 domains, 7 mailboxes and 0 aliases.\n"


@pytest.mark.parametrize(
    "query",
    ["", "page=2", "q=a+b&page=3&sort=-quota", "q=%C3%BCber%40x&q=second&after=u%2B1%40a.example",
     "domain=&page=&x=%26%3D%25", "q=caf%C3%A9+%F0%9F%98%80&before=z%40a.example&over=90"],
)
def test_a_query_without_some_parameters_is_written_as_django_writes_it(rf, query):
    request = rf.get("/mailboxes/?" + query)
    for names in [("page",), ("page", "after", "before"), ("q", "sort"), ()]:
        expected = request.GET.copy()
        for name in names:
            expected.pop(name, None)
        assert query_without(request, *names) == expected.urlencode(), names


PICKED_SORTS = {**SORTS, "used": ["usage__bytes", "email"], "-used": ["-usage__bytes", "-email"]}


def some_old_mailboxes_with_usage(domain_a, domain_b):
    """MD5-CRYPT mailboxes among others in both domains, most with reported usage."""
    add_mailboxes(domain_a, 6)
    add_mailboxes(domain_a, 7, prefix="old", password=MD5)
    add_mailboxes(domain_b, 3, prefix="old", password=MD5)
    for n, mailbox in enumerate(Mailbox.objects.order_by("email")):
        if n % 4:  # every fourth never reported
            QuotaUsage.objects.create(mailbox_id=mailbox.email, bytes=1000 * ((n * 7) % 11) + n, messages=1)


def in_list_order(mailboxes, sort):
    """The addresses of `mailboxes` as the list orders them: by a usage figure, the reported
    ones first in the figure's order, then the others by address."""
    if sort.lstrip("-") != "used":
        return [m.email for m in mailboxes.order_by(*PICKED_SORTS[sort])]
    return [m.email for m in mailboxes.filter(usage__isnull=False).order_by(*PICKED_SORTS[sort])] + [
        m.email for m in mailboxes.filter(usage__isnull=True).order_by("-email" if sort.startswith("-") else "email")]


@pytest.mark.parametrize("sort", PICKED_SORTS)
def test_a_scheme_filter_lists_its_mailboxes_in_any_order_as_the_orm_sorts_them(client, alice, bob, domain_a, domain_b, sort):
    some_old_mailboxes_with_usage(domain_a, domain_b)
    client.force_login(alice)
    response = listed(client, "mailbox-list", scheme="MD5-CRYPT", sort=sort)
    expected = in_list_order(Mailbox.objects.filter(password__startswith="{MD5-CRYPT}"), sort)
    assert len(expected) == 10 and [m.email for m in response.context["page"]] == expected
    assert total(response) == keyset.Total(10) and "10 in all" in response.content.decode()
    client.force_login(bob)  # a.example only: the same pick, in their scope
    assert [m.email for m in listed(client, "mailbox-list", scheme="MD5-CRYPT", sort=sort).context["page"]] == [
        email for email in expected if email.endswith("@a.example")]


@pytest.mark.parametrize("query, matching", [
    ({"scheme": "MD5-CRYPT", "sort": "-quota"}, Q(password__startswith="{MD5-CRYPT}")),
    ({"q": "@", "sort": "email"}, Q()),
    ({"q": "old", "sort": "-used"}, Q(email__startswith="old")),
])
def test_a_picked_list_beyond_the_cap_lists_that_many_of_its_matches_and_says_so(
    client, alice, domain_a, domain_b, query, matching, monkeypatch
):
    from users import views

    monkeypatch.setattr(views, "SEARCH_TOTAL_CAP", 4)
    some_old_mailboxes_with_usage(domain_a, domain_b)
    client.force_login(alice)
    response = listed(client, "mailbox-list", **query)
    listed_here = [m.email for m in response.context["page"]]
    assert len(listed_here) == 4 and total(response) == keyset.Total(4, capped=True)
    assert "more than 4 match; 4 of them are listed" in response.content.decode()
    assert listed_here == in_list_order(Mailbox.objects.filter(matching, email__in=listed_here), query["sort"])
