"""Quota usage as the panel shows it: the rows Dovecot's quota_clone writes into quota_usage
(written here directly, as Dovecot would; test_quota_usage_dovecot.py has the real Dovecot)."""

import csv
import io
import shutil
import subprocess
from datetime import datetime, timezone

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aliases import server_config
from conftest import MAILBOX_PASSWORD, require_or_skip
from mailadmin import csv_io
from mailadmin.operator import Operator
from users import quota_usage, services, tallies
from users.models import Domain, DomainUsage, Mailbox, QuotaUsage
from users.quota_usage import Usage, format_size

GIB = 1024**3


def reported(email, used, messages=1):
    """What Dovecot's dict writes: a row keyed by the address."""
    QuotaUsage.objects.create(mailbox_id=email, bytes=used, messages=messages)


def add(domain, local, quota, used=None):
    mailbox = Mailbox.objects.create(domain=domain, email=f"{local}@{domain.name}", password="{PLAIN}x", quota=quota)
    if used is not None:
        reported(mailbox.email, used)
    return mailbox


@pytest.fixture
def boxes(domain_a, domain_b):
    """full (112 %), nearly (93 %), half (50 %), open (unlimited), silent (never reported), tom in b (90.6 %)."""
    return {
        "full": add(domain_a, "full", GIB, GIB * 9 // 8),
        "nearly": add(domain_a, "nearly", GIB, GIB * 15 // 16),
        "half": add(domain_a, "half", 2 * GIB, GIB),
        "open": add(domain_a, "open", 0, 3 * 1024**2),
        "silent": add(domain_a, "silent", GIB),
        "tom": add(domain_b, "tom", 10 * 1024**2, 9_500_000),
    }


# --- Formatting ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "size, text",
    [(None, "not reported yet"), (0, "0 bytes"), (900, "900 bytes"), (1536, "1.5 KiB"), (GIB, "1 GiB"),
     (5 * GIB // 2, "2.5 GiB")],
)
def test_sizes_have_one_human_format_and_zero_is_not_unlimited(size, text):
    assert format_size(size) == text


@pytest.mark.parametrize(
    "used, limit, percent, level",
    [(0, 100, 0, "ok"), (89_999, 100_000, 89, "ok"), (90_000, 100_000, 90, "nearly-full"),
     (99_999, 100_000, 99, "nearly-full"), (100_000, 100_000, 100, "full"), (250, 100, 250, "full"),
     (5, 0, None, ""), (None, 100, None, "")],
)
def test_percent_is_rounded_down_and_only_where_there_is_a_limit_and_a_report(used, limit, percent, level):
    usage = Usage(used, 1 if used is not None else None, limit)
    assert (usage.percent, usage.level) == (percent, level)


def test_the_bar_of_a_mailbox_over_its_quota_is_full_and_the_words_say_by_how_much():
    usage = Usage(150, 3, 100)
    assert usage.meter_value == 100
    assert usage.summary == "150 bytes of 100 bytes (150 %)"


def test_an_unlimited_quota_shows_usage_without_a_percent():
    usage = Usage(3 * 1024**2, 7, 0)
    assert usage.summary == "3 MiB (no limit)"
    assert usage.meter_value is None


@pytest.mark.parametrize(
    "used, limit, html",
    [
        (None, GIB, '<span class="usage not-reported">not reported yet</span>'),
        (3 * 1024**2, 0, '<span class="usage "><span title="3145728 bytes">3 MiB</span> (no limit)</span>'),
        (GIB // 2, GIB,
         f'<span class="usage ok"><meter min="0" max="{GIB}" low="{GIB * 9 // 10}" high="{GIB - 1}" optimum="0"'
         f' value="{GIB // 2}" aria-hidden="true"></meter><span title="{GIB // 2} bytes">512 MiB</span> of'
         f' <span title="{GIB} bytes">1 GiB</span> (50 %)</span>'),
        (90, 100,
         '<span class="usage nearly-full"><meter min="0" max="100" low="90" high="99" optimum="0" value="90"'
         ' aria-hidden="true"></meter><span title="90 bytes">90 bytes</span> of'
         ' <span title="100 bytes">100 bytes</span> (90 %)</span>'),
        (150, 100,
         '<span class="usage full"><meter min="0" max="100" low="90" high="99" optimum="0" value="100"'
         ' aria-hidden="true"></meter><span title="150 bytes">150 bytes</span> of'
         ' <span title="100 bytes">100 bytes</span> (150 %)</span>'),
    ],
)
def test_the_usage_bar_a_row_shows(used, limit, html):
    from users.templatetags.quota import usage as usage_bar

    shown = usage_bar(Usage(used, None, limit))
    assert shown == html
    # A list's mailbox (fetched with quota_usage.with_usage) shows the same as its Usage.
    mailbox = Mailbox(email="a@a.example", quota=limit)
    mailbox.used_bytes = used
    assert usage_bar(mailbox) == shown


# --- Pages ---------------------------------------------------------------------------------


def test_a_mailbox_without_a_report_says_so_and_never_shows_zero(client, alice, boxes):
    client.force_login(alice)
    page = client.get(reverse("mailbox-detail", args=[boxes["silent"].pk])).content.decode()
    assert "not reported yet" in page
    assert "0 bytes" not in page and "<meter" not in page


def test_the_mailbox_page_shows_a_bar_the_figures_and_exact_bytes(client, alice, boxes):
    client.force_login(alice)
    page = client.get(reverse("mailbox-detail", args=[boxes["nearly"].pk])).content.decode()
    used = GIB * 15 // 16
    assert f'<meter min="0" max="{GIB}"' in page and f'value="{used}"' in page
    assert f'<span title="{used} bytes">960 MiB</span> of <span title="{GIB} bytes">1 GiB</span> (93 %)' in page
    assert "1 message" in page


def test_the_mailbox_list_shows_usage_for_every_row(client, alice, boxes):
    client.force_login(alice)
    page = client.get(reverse("mailbox-list")).content.decode()
    assert "(112 %)" in page and "(93 %)" in page and "(50 %)" in page
    assert "3 MiB</span> (no limit)" in page
    assert page.count("not reported yet") == 1


@pytest.mark.parametrize(
    "sort, expected",
    [
        ("-percent", ["full", "nearly", "tom", "half", "silent", "open"]),
        ("percent", ["half", "tom", "nearly", "full", "open", "silent"]),
        ("-used", ["full", "half", "nearly", "tom", "open", "silent"]),
        ("used", ["open", "tom", "nearly", "half", "full", "silent"]),
    ],
)
def test_the_mailbox_list_sorts_by_used_and_by_percent(client, alice, boxes, sort, expected):
    # Not reported (and, for percent, unlimited) is neither fullest nor emptiest: last either
    # way, by address in the order's direction.
    client.force_login(alice)
    rows = client.get(reverse("mailbox-list"), {"sort": sort}).context["page"]
    by_email = {box.email: name for name, box in boxes.items()}
    assert [by_email[m.email] for m in rows] == expected


def test_every_page_sorted_by_percent_holds_the_next_rows(client, alice, domain_a):
    Mailbox.objects.bulk_create(
        Mailbox(domain=domain_a, email=f"u{i:03}@a.example", password="{PLAIN}x", quota=1000) for i in range(130)
    )
    QuotaUsage.objects.bulk_create(
        QuotaUsage(mailbox_id=f"u{i:03}@a.example", bytes=(i * 37) % 1100, messages=1) for i in range(0, 130, 2)
    )
    client.force_login(alice)
    pages = [[m.email for m in client.get(reverse("mailbox-list"), {"sort": "-percent", "page": n}).context["page"]]
             for n in (1, 2, 3)]
    assert [len(p) for p in pages] == [50, 50, 30]
    emails = sum(pages, [])
    assert len(set(emails)) == 130
    percents = [quota_usage.usage_of(Mailbox.objects.select_related("usage").get(email=e)).used for e in emails]
    reported_part = [p for p in percents if p is not None]
    assert reported_part == sorted(reported_part, reverse=True) and percents[len(reported_part):] == [None] * 65


@pytest.mark.parametrize("sort", ["email", "used", "-used", "percent", "-percent"])
def test_usage_costs_the_mailbox_list_no_query_per_row(client, alice, domain_a, sort):
    """One LEFT JOIN in the page's rows query, never a query per row, on the first, a middle
    and the last page (which, sorted by usage, is made of mailboxes never reported)."""
    Mailbox.objects.bulk_create(
        Mailbox(domain=domain_a, email=f"u{i:03}@a.example", password="{PLAIN}x", quota=1000) for i in range(260)
    )
    QuotaUsage.objects.bulk_create(
        QuotaUsage(mailbox_id=f"u{i:03}@a.example", bytes=i, messages=1) for i in range(0, 260, 3)
    )
    client.force_login(alice)
    client.get(reverse("mailbox-list"))  # the rows written past the panel are counted once
    for page in ("1", "3", "999999"):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("mailbox-list"), {"sort": sort, "page": page})
        assert response.status_code == 200 and len(response.context["page"]) in (50, 10)
        assert len(queries) <= 8, [q["sql"] for q in queries]


def expected_order(sort):
    """The mailbox list's order, worked out in Python from every row."""
    figure = {"used": lambda m, u: u.bytes, "percent": lambda m, u: u.bytes * 10**6 // m.quota if m.quota else None}
    rows = [(m, QuotaUsage.objects.filter(mailbox_id=m.email).first()) for m in Mailbox.objects.all()]
    value = figure[sort.lstrip("-")]
    descending = sort.startswith("-")
    ranked = sorted(((value(m, u), m.email) for m, u in rows if u and value(m, u) is not None), reverse=descending)
    unranked = sorted((m.email for m, u in rows if not u or value(m, u) is None), reverse=descending)
    return [email for _, email in ranked] + unranked


def test_a_first_page_sorted_by_usage_with_nothing_reported_counts_nothing(domain_a, django_assert_num_queries):
    Mailbox.objects.bulk_create(
        Mailbox(domain=domain_a, email=f"u{i:02}@a.example", password="{PLAIN}x", quota=100) for i in range(12)
    )
    ordered = quota_usage.with_usage(Mailbox.objects.all()).order_by(*quota_usage.SORTS["-used"])
    paginator = quota_usage.KeptOrderPaginator(ordered, 10, known_count=12)
    with django_assert_num_queries(3):  # the reported (none), the unreported's ids, their rows
        emails = [m.email for m in paginator.page(1)]
    assert emails == [f"u{i:02}@a.example" for i in range(11, 1, -1)]


@pytest.mark.parametrize("sort", ["used", "-used", "percent", "-percent"])
def test_pages_of_a_usage_order_follow_each_other_into_the_unreported(domain_a, sort):
    Mailbox.objects.bulk_create(
        Mailbox(domain=domain_a, email=f"u{i:02}@a.example", password="{PLAIN}x", quota=0 if i % 7 == 0 else 100)
        for i in range(45)
    )
    QuotaUsage.objects.bulk_create(
        QuotaUsage(mailbox_id=f"u{i:02}@a.example", bytes=i % 13 * 10, messages=1) for i in range(45) if i % 4
    )
    ordered = quota_usage.with_usage(Mailbox.objects.all()).order_by(*quota_usage.SORTS[sort])
    paginator = quota_usage.KeptOrderPaginator(ordered, 10)
    pages = [[m.email for m in paginator.page(n)] for n in range(1, 6)]
    assert [len(p) for p in pages] == [10, 10, 10, 10, 5]
    assert sum(pages, []) == expected_order(sort)


def test_the_order_follows_dovecots_reports_and_quota_changes_at_once(domain_a):
    a = add(domain_a, "a", 100, 10)
    add(domain_a, "b", 100, 20)

    def by_percent():
        ordered = quota_usage.with_usage(Mailbox.objects.all()).order_by(*quota_usage.SORTS["-percent"])
        return [m.email for m in quota_usage.KeptOrderPaginator(ordered, 10).page(1)]

    assert by_percent() == ["b@a.example", "a@a.example"]
    QuotaUsage.objects.filter(mailbox_id="a@a.example").update(bytes=50)  # Dovecot reports, past the ORM
    assert by_percent() == ["a@a.example", "b@a.example"]
    services.set_quota(Operator.command_line(), a, "1000")  # a change through the panel
    assert by_percent() == ["b@a.example", "a@a.example"]
    Mailbox.objects.filter(pk=a.pk).update(quota=60)  # and one behind its back
    assert by_percent() == ["a@a.example", "b@a.example"]


# --- The kept percent (quota_usage.used_ppm, kept by triggers) ------------------------------


def ppm(email):
    return QuotaUsage.objects.get(mailbox_id=email).used_ppm


def test_the_kept_percent_follows_every_write_of_either_table(domain_a):
    jane = add(domain_a, "jane", 1000, 950)
    assert ppm("jane@a.example") == 950_000
    QuotaUsage.objects.filter(mailbox_id="jane@a.example").update(bytes=1001)
    assert ppm("jane@a.example") == 1_001_000
    services.set_quota(Operator.command_line(), jane, "2000")
    assert ppm("jane@a.example") == 500_500
    Mailbox.objects.filter(pk=jane.pk).update(quota=0)  # unlimited: no percent
    assert ppm("jane@a.example") is None
    Mailbox.objects.filter(pk=jane.pk).update(quota=3)  # far over: rounded down, capped, never an error
    QuotaUsage.objects.filter(mailbox_id="jane@a.example").update(bytes=2**62)
    assert ppm("jane@a.example") == 10**12


def test_a_row_without_a_mailbox_has_no_percent_until_the_address_is_created_again(domain_a):
    reported("ghost@a.example", 900)
    assert ppm("ghost@a.example") is None
    ghost = add(domain_a, "ghost", 1000)
    assert ppm("ghost@a.example") == 900_000
    services.delete_mailbox(Operator.command_line(), ghost)
    assert ppm("ghost@a.example") is None


# --- The kept domain sums (DomainUsage, kept by quota_usage's triggers) -----------------------


def domain_usage(domain):
    kept = DomainUsage.objects.filter(domain_id=domain.pk).first()
    return (kept.bytes, kept.reported) if kept else (0, 0)


def test_a_domains_usage_follows_dovecots_writes_and_the_mailboxes(domain_a, domain_b):
    jane = add(domain_a, "jane", GIB, 100)
    add(domain_a, "john", GIB, 50)
    assert domain_usage(domain_a) == (150, 2)
    QuotaUsage.objects.filter(mailbox_id="jane@a.example").update(bytes=300)  # as Dovecot's upsert
    assert domain_usage(domain_a) == (350, 2)
    QuotaUsage.objects.filter(mailbox_id="jane@a.example").update(messages=7)
    assert domain_usage(domain_a) == (350, 2)
    Mailbox.objects.filter(email="john@a.example").update(domain=domain_b, email="john@b.example")  # behind the back
    assert (domain_usage(domain_a), domain_usage(domain_b)) == ((300, 1), (0, 0))
    reported("john@b.example", 20)
    assert domain_usage(domain_b) == (20, 1)
    services.delete_mailbox(Operator.command_line(), jane)
    assert domain_usage(domain_a) == (0, 0)
    QuotaUsage.objects.filter(mailbox_id="john@b.example").delete()
    assert domain_usage(domain_b) == (0, 0)


def test_usage_reported_before_the_mailbox_exists_counts_once_it_does(domain_a):
    reported("ghost@a.example", 900)
    assert domain_usage(domain_a) == (0, 0)
    add(domain_a, "ghost", GIB)
    assert domain_usage(domain_a) == (900, 1)


def test_a_deleted_domains_usage_goes_with_it_and_comes_back_with_its_addresses(domain_a):
    add(domain_a, "jane", GIB, 100)
    services.delete_domain(Operator.command_line(), domain_a)
    assert domain_usage(domain_a) == (0, 0)
    assert QuotaUsage.objects.get(mailbox_id="jane@a.example").domain_id is None  # the row outlives it, as the maildir does
    again = services.create_domain(Operator.command_line(), "a.example")
    add(again, "jane", GIB)
    assert domain_usage(again) == (100, 1)


def test_recount_usage_mends_domain_sums_that_went_wrong(domain_a, domain_b):
    add(domain_a, "jane", GIB, 100)
    add(domain_b, "tom", GIB, 5)
    DomainUsage.objects.filter(domain_id=domain_a.pk).update(bytes=999_999, reported=9)
    DomainUsage.objects.filter(domain_id=domain_b.pk).delete()
    call_command("recount", "--usage", stdout=io.StringIO())
    assert (domain_usage(domain_a), domain_usage(domain_b)) == ((100, 1), (5, 1))


def test_domain_totals_add_up_reported_usage_and_count_the_silent(client, alice, boxes):
    client.force_login(alice)
    response = client.get(reverse("domain-list"))
    rows = {domain.name: domain for domain in response.context["rows"]}
    expected = GIB * 9 // 8 + GIB * 15 // 16 + GIB + 3 * 1024**2
    assert (rows["a.example"].used_bytes, rows["a.example"].reported_count) == (expected, 4)
    assert (rows["b.example"].used_bytes, rows["b.example"].reported_count) == (9_500_000, 1)
    page = response.content.decode()
    assert f'title="{expected}"' not in page and f'title="{expected} bytes"' in page
    assert "(4 of 5 mailboxes reported)" in page
    detail = client.get(reverse("domain-detail", args=["a.example"])).content.decode()
    assert f'title="{expected} bytes"' in detail and "(1 of 5 mailboxes not reported yet)" in detail


def test_a_domain_nobody_has_reported_says_so(client, alice, domain_a):
    add(domain_a, "new", GIB)
    client.force_login(alice)
    assert "not reported yet" in client.get(reverse("domain-list")).content.decode()
    assert "not reported yet" in client.get(reverse("domain-detail", args=["a.example"])).content.decode()


def test_the_dashboard_lists_full_and_nearly_full_mailboxes_with_links(client, alice, boxes):
    client.force_login(alice)
    response = client.get(reverse("dashboard"))
    alerts = response.context["quota_alerts"]
    assert (alerts["full"][0], [m.email for m in alerts["full"][1]]) == (1, ["full@a.example"])
    # tom: 9,500,000 of 10 MiB is 90.6 %; unlimited and unreported mailboxes are never listed.
    assert (alerts["nearly_full"][0], [m.email for m in alerts["nearly_full"][1]]) == (
        2, ["nearly@a.example", "tom@b.example"])
    page = response.content.decode()
    for name in ("full", "nearly", "tom"):
        assert f'href="{reverse("mailbox-detail", args=[boxes[name].pk])}"' in page


def test_a_domain_admin_sees_only_their_domains_alerts(client, bob, boxes):
    client.force_login(bob)
    alerts = client.get(reverse("dashboard")).context["quota_alerts"]
    assert [m.email for m in alerts["nearly_full"].mailboxes] == ["nearly@a.example"]
    assert (alerts["full"].count, alerts["nearly_full"].count) == (1, 1)  # not tom's, in b.example


def test_the_dashboard_counts_every_alerting_mailbox_and_lists_the_fullest(client, alice, domain_a):
    for n in range(quota_usage.ALERT_SHOWN + 2):
        add(domain_a, f"f{n:02}", 100, 100 + n)
    add(domain_a, "nearly", 100, 95)
    client.force_login(alice)
    response = client.get(reverse("dashboard"))
    full, nearly = response.context["quota_alerts"]["full"], response.context["quota_alerts"]["nearly_full"]
    assert full.count == quota_usage.ALERT_SHOWN + 2
    assert [m.email for m in full.mailboxes][:2] == ["f11@a.example", "f10@a.example"]
    assert len(full.mailboxes) == quota_usage.ALERT_SHOWN
    assert (nearly.count, [m.email for m in nearly.mailboxes]) == (1, ["nearly@a.example"])
    page = response.content.decode()
    assert "12 mailboxes at 100 % of the quota or more" in page and "All full mailboxes" in page
    assert "1 mailbox at 90 to 99 % of the quota" in page and "All mailboxes at 90 % or more" not in page


# --- The kept alert counts (DomainUsage.mailboxes_full / _nearly_full, kept by the triggers) ---


def alert_counts(domain_id):
    kept = DomainUsage.objects.filter(domain_id=domain_id).first()
    return (kept.mailboxes_full, kept.mailboxes_nearly_full) if kept else (0, 0)


def everyones_alerts():
    return alert_counts(tallies.ALL_DOMAINS)


def test_alert_counts_follow_dovecots_writes(domain_a, domain_b):
    jane = add(domain_a, "jane", 100, 50)
    add(domain_b, "tom", 100, 95)
    assert (alert_counts(domain_a.pk), alert_counts(domain_b.pk), everyones_alerts()) == ((0, 0), (0, 1), (0, 1))
    QuotaUsage.objects.filter(mailbox_id=jane.email).update(bytes=90)  # as Dovecot's upsert
    assert (alert_counts(domain_a.pk), everyones_alerts()) == ((0, 1), (0, 2))
    QuotaUsage.objects.filter(mailbox_id=jane.email).update(bytes=99)  # still nearly full: nothing moves
    assert (alert_counts(domain_a.pk), everyones_alerts()) == ((0, 1), (0, 2))
    QuotaUsage.objects.filter(mailbox_id=jane.email).update(bytes=100)
    assert (alert_counts(domain_a.pk), everyones_alerts()) == ((1, 0), (1, 1))
    QuotaUsage.objects.filter(mailbox_id=jane.email).update(bytes=89)
    assert (alert_counts(domain_a.pk), everyones_alerts()) == ((0, 0), (0, 1))
    QuotaUsage.objects.filter(mailbox_id="tom@b.example").delete()
    assert (alert_counts(domain_b.pk), everyones_alerts()) == ((0, 0), (0, 0))


def test_alert_counts_follow_the_mailboxes_quota_domain_and_deletion(domain_a, domain_b):
    jane = add(domain_a, "jane", 100, 95)
    services.set_quota(Operator.command_line(), jane, 90)  # 95 of 90: full
    assert (alert_counts(domain_a.pk), everyones_alerts()) == ((1, 0), (1, 0))
    services.set_quota(Operator.command_line(), Mailbox.objects.get(pk=jane.pk), 0)  # no limit: no level
    assert (alert_counts(domain_a.pk), everyones_alerts()) == ((0, 0), (0, 0))
    Mailbox.objects.filter(pk=jane.pk).update(quota=100)  # behind the panel's back
    Mailbox.objects.filter(pk=jane.pk).update(domain=domain_b, email="jane@b.example")
    assert (alert_counts(domain_a.pk), alert_counts(domain_b.pk), everyones_alerts()) == ((0, 0), (0, 0), (0, 0))
    reported("jane@b.example", 100)
    assert (alert_counts(domain_b.pk), everyones_alerts()) == ((1, 0), (1, 0))
    services.delete_mailbox(Operator.command_line(), Mailbox.objects.get(email="jane@b.example"))
    assert (alert_counts(domain_b.pk), everyones_alerts()) == ((0, 0), (0, 0))


def test_usage_reported_before_the_mailbox_exists_alerts_once_it_does(domain_a):
    reported("ghost@a.example", 99)
    assert everyones_alerts() == (0, 0)
    add(domain_a, "ghost", 100)
    assert (alert_counts(domain_a.pk), everyones_alerts()) == ((0, 1), (0, 1))


def test_recount_usage_mends_alert_counts_that_went_wrong(domain_a, domain_b):
    add(domain_a, "jane", 100, 100)
    add(domain_b, "tom", 100, 91)
    DomainUsage.objects.filter(domain_id=domain_a.pk).update(mailboxes_full=7)
    DomainUsage.objects.filter(domain_id=tallies.ALL_DOMAINS).delete()
    call_command("recount", "--usage", stdout=io.StringIO())
    assert (alert_counts(domain_a.pk), alert_counts(domain_b.pk), everyones_alerts()) == ((1, 0), (0, 1), (1, 1))


def test_the_alerts_cost_the_same_queries_for_3_and_30_mailboxes(client, alice, domain_a):
    def queries_with(alerting):
        for n in range(alerting):
            add(domain_a, f"{alerting}-{n}", 100, 90 + n % 20)
        client.get(reverse("dashboard"))
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("dashboard"))
        return len(queries), sum(len(alert.mailboxes) for alert in response.context["quota_alerts"].values())

    client.force_login(alice)
    few, shown_few = queries_with(3)  # 3 at 90-92 %
    # 23 nearly full and 10 full: the fullest ALERT_SHOWN of each.
    assert queries_with(30) == (few, 2 * quota_usage.ALERT_SHOWN) and shown_few == 3


def test_the_over_filter_lists_the_mailboxes_the_dashboard_counts(client, alice, boxes):
    client.force_login(alice)
    emails = [m.email for m in client.get(reverse("mailbox-list"), {"over": "90", "sort": "-percent"}).context["page"]]
    assert emails == ["full@a.example", "nearly@a.example", "tom@b.example"]
    emails = [m.email for m in client.get(reverse("mailbox-list"), {"over": "100"}).context["page"]]
    assert emails == ["full@a.example"]


def test_the_first_page_by_usage_follows_what_dovecot_reported_since_the_last_view(client, alice, domain_a):
    add(domain_a, "a", 100, 10)
    add(domain_a, "b", 100, 50)
    client.force_login(alice)

    def fullest(**query):
        return [m.email for m in client.get(reverse("mailbox-list"), {"sort": "-percent", **query}).context["page"]]

    assert fullest() == ["b@a.example", "a@a.example"] and fullest(over="90") == []
    QuotaUsage.objects.filter(mailbox_id="a@a.example").update(bytes=95)
    assert fullest() == ["a@a.example", "b@a.example"] and fullest(over="90") == ["a@a.example"]


def test_the_over_filter_sorted_by_usage_counts_up_to_a_cap_and_says_so(client, alice, domain_a, monkeypatch):
    from users import views

    monkeypatch.setattr(views, "TOTAL_CAP", 2)
    for n in range(3):
        add(domain_a, f"f{n}", 100, 100 + n)
    add(domain_a, "calm", 100, 10)
    client.force_login(alice)
    response = client.get(reverse("mailbox-list"), {"over": "90", "sort": "-percent"})
    assert (response.context["page"].paginator.count, response.context["page"].paginator.capped) == (2, True)
    assert [m.email for m in response.context["page"]] == ["f2@a.example", "f1@a.example"]
    assert "more than 2 match; the first 2 are listed" in response.content.decode()
    unfiltered = client.get(reverse("mailbox-list"), {"sort": "-percent"})
    assert (unfiltered.context["page"].paginator.count, unfiltered.context["page"].paginator.capped) == (4, False)


@pytest.mark.parametrize("sort", ["email", "-percent"])
def test_the_over_filter_counts_no_usage_row_whose_mailbox_is_gone(client, alice, bob, domain_a, sort):
    for n in range(2):
        add(domain_a, f"f{n}", 100, 150 + n)
    gone = add(domain_a, "gone", 100, 200)
    Mailbox.objects.filter(pk=gone.pk).delete()  # Dovecot's row stays behind, as the maildir does
    assert QuotaUsage.objects.filter(mailbox_id="gone@a.example").exists()
    for admin in (alice, bob):  # all mailboxes (the usage rows alone), and a domain admin's
        client.force_login(admin)
        response = client.get(reverse("mailbox-list"), {"over": "100", "sort": sort})
        page = response.context["page"]
        assert (page.paginator.count, sorted(m.email for m in page)) == (2, ["f0@a.example", "f1@a.example"])


def test_the_over_filters_total_is_the_kept_count_not_a_count_of_rows(client, alice, bob, domain_a, domain_b):
    add(domain_a, "f0", 100, 150)
    add(domain_a, "n0", 100, 95)
    add(domain_b, "f1", 100, 100)
    tallies.ensure_counted()  # the mailboxes were added behind the panel's back
    for admin, over, expected in ((alice, "100", 2), (alice, "90", 3), (bob, "100", 1), (bob, "90", 2)):
        client.force_login(admin)
        with CaptureQueriesContext(connection) as queries:  # in its own order, as the dashboard links it
            response = client.get(reverse("mailbox-list"), {"over": over, "sort": "-percent"})
        assert response.context["page"].paginator.count == expected
        assert not [query["sql"] for query in queries if "COUNT(" in query["sql"]]


def test_the_mailbox_user_sees_their_own_usage(client, jane_mailbox):
    Mailbox.objects.filter(pk=jane_mailbox.pk).update(quota=GIB)
    assert client.post("/login/", {"username": "jane@a.example", "password": MAILBOX_PASSWORD}).status_code == 302
    assert "not reported yet" in client.get(reverse("account")).content.decode()
    reported("jane@a.example", GIB // 4, messages=12)
    page = client.get(reverse("account")).content.decode()
    assert f'<span title="{GIB // 4} bytes">256 MiB</span> of <span title="{GIB} bytes">1 GiB</span> (25 %)' in page
    assert "12 messages" in page


# --- Command line and export ---------------------------------------------------------------


def test_mailbox_usage_lists_every_mailbox_with_exact_figures(boxes):
    out = io.StringIO()
    call_command("mailbox", "usage", "--domain", "a.example", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == f"full@a.example\t{GIB * 9 // 8}\t{GIB}\t112\t1\t1.1 GiB of 1 GiB (112 %)"
    assert "open@a.example\t3145728\t0\t-\t1\t3 MiB (no limit)" in lines
    assert "silent@a.example\t-\t1073741824\t-\t-\tnot reported yet" in lines
    assert len(lines) == 5


def test_mailbox_usage_over_exits_1_when_a_mailbox_is_over(boxes):
    out = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("mailbox", "usage", "--over", "100", stdout=out)
    assert failed.value.returncode == 1 and "1 mailbox at 100 %" in str(failed.value)
    assert [line.split("\t")[0] for line in out.getvalue().splitlines()] == ["full@a.example"]


def test_mailbox_usage_over_exits_0_when_none_is(boxes):
    out = io.StringIO()
    call_command("mailbox", "usage", "--over", "113", stdout=out)
    assert out.getvalue() == ""


def test_the_export_has_usage_columns_and_imports_again_unchanged(client, alice, boxes):
    client.force_login(alice)
    response = client.get(reverse("bulk-export"), {"what": "mailboxes", "domain": "a.example"})
    text = b"".join(response.streaming_content).decode()
    rows = {row["email"]: row for row in csv.DictReader(io.StringIO(text))}
    assert (rows["half@a.example"]["used_bytes"], rows["half@a.example"]["messages"]) == (str(GIB), "1")
    assert rows["half@a.example"]["usage_updated"]  # kept by the database
    assert rows["silent@a.example"]["used_bytes"] == "" and rows["silent@a.example"]["messages"] == ""
    plan = csv_io.plan(text, Operator.command_line(via="import"))
    assert {row.status for row in plan.rows} == {csv_io.UNCHANGED}


# --- Server configuration and table --------------------------------------------------------


def test_the_server_config_page_emits_the_quota_usage_snippet(client, alice):
    client.force_login(alice)
    page = client.get(reverse("postfix-config")).content.decode()
    assert "/etc/dovecot/conf.d/11-mailadmin-quota-usage.conf" in page
    assert "quota = count:User quota" in page and "quota_clone_dict = proxy::mailadmin_quota" in page
    assert "/etc/dovecot/dovecot-dict-sql.conf.ext" in page and "username_field = email" in page


def test_the_dict_file_never_holds_the_panels_own_password_unless_given():
    snippet, dict_conf = server_config.dovecot_quota_usage_files_23()
    assert f"password={server_config.PASSWORD_PLACEHOLDER}" in dict_conf.text
    assert "password=s3cret" in server_config.dovecot_quota_usage_files_23("s3cret")[1].text


@pytest.mark.dovecot
def test_the_snippets_plugins_reach_imap_and_lmtp_in_the_guides_layout(tmp_path, db):
    """Dovecot itself (doveconf) reads the guide's conf.d with the snippet dropped in."""
    require_or_skip(shutil.which("doveconf"), "doveconf (dovecot-core) is not installed")
    snippet, dict_conf = server_config.dovecot_quota_usage_files_23(
        config_dir=str(tmp_path), dict_socket_user="nobody", dict_socket_group="nogroup"
    )
    conf_d = tmp_path / "conf.d"
    conf_d.mkdir()
    (conf_d / snippet.name).write_text(snippet.text)
    (conf_d / "10-mail.conf").write_text("mail_location = maildir:~/Maildir\nmail_plugins = quota\n")
    (conf_d / "20-imap.conf").write_text("protocol imap {\n  mail_plugins = $mail_plugins imap_quota\n}\n")
    (conf_d / "20-lmtp.conf").write_text("protocol lmtp {\n  mail_plugins = $mail_plugins sieve\n}\n")
    (tmp_path / "dovecot.conf").write_text(
        f"base_dir = {tmp_path}/run\nprotocols = none\n!include conf.d/*.conf\n"
    )
    for protocol in ("imap", "lmtp"):
        result = subprocess.run(
            ["doveconf", "-c", str(tmp_path / "dovecot.conf"), "-f", f"protocol={protocol}", "-h", "mail_plugins"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert {"quota", "quota_clone"} <= set(result.stdout.split()), (protocol, result.stdout)
        assert "Warning" not in result.stderr, result.stderr


@pytest.mark.mariadb
def test_dovecots_upsert_keeps_the_other_column_and_the_time(mariadb, domain_a):
    """The statements Dovecot's dict-sql sends (one value column each), on the table migrate made."""
    add(domain_a, "jane", GIB)
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO quota_usage (bytes,email) VALUES (100,'jane@a.example') "
                       "ON DUPLICATE KEY UPDATE bytes=100")
        cursor.execute("INSERT INTO quota_usage (messages,email) VALUES (3,'JANE@a.example') "
                       "ON DUPLICATE KEY UPDATE messages=3")
        cursor.execute("SELECT COUNT(*) FROM quota_usage")
        assert cursor.fetchone() == (1,)  # one row: the address compares as virtual_users.email does
    row = QuotaUsage.objects.get()
    assert (row.bytes, row.messages) == (100, 3) and row.updated is not None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT CHARACTER_SET_NAME, COLLATION_NAME, TABLE_NAME FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = DATABASE() AND COLUMN_NAME = 'email' "
            "AND TABLE_NAME IN ('quota_usage', 'virtual_users') ORDER BY TABLE_NAME"
        )
        (usage_charset, usage_collation, _), (users_charset, users_collation, _) = cursor.fetchall()
    assert (usage_charset, usage_collation) == (users_charset, users_collation)


@pytest.mark.mariadb
def test_the_rows_query_joins_usage_by_its_primary_key(mariadb, domain_a):
    ids = [add(domain_a, name, GIB, 10).pk for name in ("jane", "john", "zoe")]
    query = quota_usage.with_usage(Mailbox.objects.filter(pk__in=ids))  # as a page's rows are read
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        plan = {row[2]: row for row in cursor.fetchall()}
    assert plan["quota_usage"][3] == "eq_ref" and plan["quota_usage"][5] == "PRIMARY"


def test_recount_usage_mends_percents_written_while_the_triggers_were_missing(domain_a):
    if connection.vendor != "sqlite":  # MariaDB commits a DROP TRIGGER: only SQLite can undo it in a test
        pytest.skip("needs SQLite's transactional DDL")
    add(domain_a, "jane", 1000, 100)
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER quota_usage_ppm_update")
    QuotaUsage.objects.filter(mailbox_id="jane@a.example").update(bytes=950)
    assert ppm("jane@a.example") == 100_000  # stale
    with connection.cursor() as cursor:
        cursor.execute("SELECT sql FROM sqlite_master WHERE name = 'quota_usage_ppm_insert'")
        cursor.execute(cursor.fetchone()[0].replace("ppm_insert AFTER INSERT", "ppm_update AFTER UPDATE"))
    out = io.StringIO()
    call_command("recount", "--usage", stdout=out)
    assert ppm("jane@a.example") == 950_000
    assert "Computed how full 1 reported mailboxes are, and each domain's usage." in out.getvalue()


@pytest.mark.mariadb
def test_a_quota_change_keeps_the_time_dovecot_reported(mariadb, domain_a):
    jane = add(domain_a, "jane", 1000, 500)
    QuotaUsage.objects.filter(mailbox_id=jane.email).update(updated=datetime(2020, 1, 2, tzinfo=timezone.utc))
    services.set_quota(Operator.command_line(), jane, "2000")
    row = QuotaUsage.objects.get(mailbox_id=jane.email)
    assert row.used_ppm == 250_000 and row.updated.year == 2020


def plan_of(queryset):
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        columns = [c[0] for c in cursor.description]
        return [dict(zip(columns, row)) for row in cursor.fetchall()]


@pytest.mark.mariadb
@pytest.mark.parametrize("sort, index", [("-percent", "quota_usage_used_ppm"), ("percent", "quota_usage_used_ppm"),
                                         ("-used", "quota_usage_bytes"), ("used", "quota_usage_bytes")])
def test_a_usage_order_is_read_from_its_index_not_sorted(mariadb, domain_a, sort, index):
    for n in range(40):
        add(domain_a, f"u{n:02}", 1000, n * 37 % 1100)
    ordered = quota_usage.with_usage(Mailbox.objects.all()).order_by(*quota_usage.SORTS[sort])
    page_ids = quota_usage.KeptOrderPaginator(ordered, 10)._ranked.values_list("pk", flat=True)[10:20]
    first, joined = plan_of(page_ids)
    assert (first["table"], first["key"]) == ("quota_usage", index)
    assert "filesort" not in (first["Extra"] or "") and joined["type"] == "eq_ref"


def test_a_mailbox_deleted_in_the_panel_leaves_dovecots_row(domain_a):
    box = add(domain_a, "gone", GIB, 123)
    services.delete_mailbox(Operator.command_line(), box)
    # Its mail stays on disk too; re-created, the address shows what is still there.
    assert QuotaUsage.objects.filter(mailbox_id="gone@a.example").exists()
    again = add(Domain.objects.get(name="a.example"), "gone", GIB)
    assert quota_usage.usage_of(Mailbox.objects.select_related("usage").get(pk=again.pk)).used == 123
