"""Quota usage as Dovecot reports it (the quota_usage table its quota_clone plugin writes), read
for the pages, the export and `manage.py mailbox usage`.

Usage always comes with the mailboxes it belongs to in the same query: `with_usage()` adds one
LEFT JOIN on quota_usage's primary key (the address), so a page of 50 mailboxes costs the
queries it cost without usage. A mailbox without a row has not been reported yet: its usage is
None, shown as "not reported yet", never as 0.

How full a mailbox is, is kept next to the usage by the database (QuotaUsage.used_ppm, written
by triggers on every write of quota_usage and virtual_users), and both it and the used bytes
are indexed: the fullest mailboxes and the orders by usage are index range scans, read from the
top, at the same cost whatever the number of mailboxes. The same triggers keep each domain's sum
(DomainUsage), which the domain pages read by the domain's key.
"""

import math
from dataclasses import dataclass
from typing import NamedTuple

from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.utils.functional import cached_property

from mailadmin import instances, keyset, kept_statements
from mailadmin.pagination import rows_in_order
from users import addresses, tallies
from users.models import DomainUsage, Mailbox, QuotaUsage

NEARLY_FULL, FULL = 90, 100
NOT_REPORTED = "not reported yet"
PPM_PER_PERCENT = 10_000  # QuotaUsage.used_ppm: millionths of the quota
# The dashboard lists this many of each alert's fullest mailboxes; its link opens the whole list.
ALERT_SHOWN = 10
# The usage rows of each alert: at least 100 %, and 90 to 99 %.
ALERT_RANGES = {
    "full": Q(used_ppm__gte=FULL * PPM_PER_PERCENT),
    "nearly_full": Q(used_ppm__gte=NEARLY_FULL * PPM_PER_PERCENT, used_ppm__lt=FULL * PPM_PER_PERCENT),
}
# Sort keys of the mailbox list (users.views.MAILBOX_SORTS adds these). Mailboxes without a
# figure to sort by (not reported; for percent also no limit) come after the others in both
# directions: they are neither the fullest nor the emptiest.
SORTS = {
    "used": ["usage__bytes", "usage__mailbox_id"],
    "-used": ["-usage__bytes", "-usage__mailbox_id"],
    "percent": ["usage__used_ppm", "usage__mailbox_id"],
    "-percent": ["-usage__used_ppm", "-usage__mailbox_id"],
}


def format_size(size):
    """One human format for every size the panel shows: 1024-based, as quotas are typed."""
    if size is None:
        return NOT_REPORTED
    if size <= 0:
        # format_quota_human reads 0 as an unlimited quota; 0 bytes used is just that.
        return f"{size} bytes"
    return addresses.format_quota_human(size)


# Not frozen: a frozen dataclass took 0.9 µs to make, this 0.2, and a list makes one a row.
@dataclass(slots=True)
class Usage:
    """What one mailbox uses of its quota. `used` is None until Dovecot reports the mailbox."""

    used: int | None
    messages: int | None
    limit: int
    updated: object = None

    @property
    def reported(self):
        return self.used is not None

    @property
    def unlimited(self):
        return not self.limit

    @property
    def percent(self):
        """Whole percent used, rounded down (99.6 % is not full); None when there is no limit or no report."""
        if not self.reported or self.unlimited:
            return None
        return percent_of(self.used, self.limit)

    @property
    def meter_value(self):
        # <meter> clamps to max; a mailbox over its quota shows a full bar and the text says by how much.
        return min(self.used, self.limit) if self.percent is not None else None

    # The bar turns amber from 90 % and red when full (optimum 0: less is better).
    @property
    def meter_low(self):
        return self.limit * NEARLY_FULL // 100

    @property
    def meter_high(self):
        return self.limit - 1

    @property
    def level(self):
        percent = self.percent
        return "" if percent is None else level_of(percent)

    @property
    def display_used(self):
        return format_size(self.used)

    @property
    def display_limit(self):
        return addresses.format_quota_human(self.limit)

    @property
    def summary(self):
        """Plain text for a screen reader, a CSV cell or the command line: "1.2 GiB of 2 GiB (60 %)"."""
        if not self.reported:
            return NOT_REPORTED
        if self.unlimited:
            return f"{self.display_used} (no limit)"
        return f"{self.display_used} of {self.display_limit} ({self.percent} %)"


def percent_of(used, limit):
    """Whole percent of a limit (not 0) that `used` bytes are, rounded down."""
    return math.floor(used * 100 / limit)


def level_of(percent):
    """The bar's colour for a whole percent: amber from NEARLY_FULL, red from FULL."""
    if percent >= FULL:
        return "full"
    return "nearly-full" if percent >= NEARLY_FULL else "ok"


def usage_of(mailbox):
    """The Usage of a mailbox fetched with with_usage() (the bytes only) or with_usage_row(), or
    of any mailbox, at one query."""
    if hasattr(mailbox, "used_bytes"):
        return Usage(mailbox.used_bytes, None, mailbox.quota)
    try:
        row = mailbox.usage
    except QuotaUsage.DoesNotExist:
        row = None
    if row is None:
        return Usage(None, None, mailbox.quota)
    return Usage(row.bytes, row.messages, mailbox.quota, row.updated)


def with_usage(mailboxes):
    """Mailboxes with the bytes Dovecot reported joined in, as the list rows show them:
    `used_bytes`, None when not reported. A column rather than each mailbox's QuotaUsage
    (with_usage_row()): for a page of 50 that cost 1.85 ms of CPU against 0.75, a model
    instance and a converted time per row."""
    return mailboxes.annotate(used_bytes=F("usage__bytes"))


def with_usage_row(mailboxes):
    """Mailboxes with their whole quota_usage row joined in: the messages, the time reported."""
    return mailboxes.select_related("usage")


def over(mailboxes, percent):
    """Mailboxes with a limit whose reported usage is at least `percent` (a whole number) of it:
    used_ppm is rounded down, so 90 % means exactly 9/10 of the quota."""
    return mailboxes.filter(usage__used_ppm__gte=percent * PPM_PER_PERCENT)


def recompute():
    """Have the triggers compute every row's used_ppm and domain again, and count every domain's
    usage and its full and nearly full mailboxes again from them (`manage.py recount --usage`):
    after rows were written while the triggers were missing, e.g. a dump restored without them.
    The self-assignment keeps MariaDB from moving `updated`, the time Dovecot reported. Returns
    the number of usage rows."""
    with transaction.atomic():
        rows = QuotaUsage.objects.update(updated=F("updated"))
        DomainUsage.objects.all().delete()
        per_domain = [
            DomainUsage(
                domain_id=row["domain_id"], bytes=row["total"], reported=row["n"],
                mailboxes_full=row["full"], mailboxes_nearly_full=row["nearly_full"],
            )
            for row in QuotaUsage.objects.filter(domain_id__isnull=False)
            .values("domain_id")
            .annotate(total=Sum("bytes"), n=Count("pk"), full=Count("pk", filter=ALERT_RANGES["full"]),
                      nearly_full=Count("pk", filter=ALERT_RANGES["nearly_full"]))
            .order_by()
        ]  # fmt: skip
        all_domains = DomainUsage(
            domain_id=tallies.ALL_DOMAINS,
            mailboxes_full=sum(row.mailboxes_full for row in per_domain),
            mailboxes_nearly_full=sum(row.mailboxes_nearly_full for row in per_domain),
        )
        DomainUsage.objects.bulk_create(per_domain + [all_domains])
    return rows


class Alert(NamedTuple):
    """One of the dashboard's lists: how many mailboxes, and the fullest `shown` of them."""

    count: int
    mailboxes: list


def nearly_full_and_full(user, counts, shown=ALERT_SHOWN):
    """The dashboard's two lists for the domains `user` sees, {"full": Alert, "nearly_full":
    Alert}: at least 100 %, and 90 to 99 %.

    `counts` are the kept counts (tallies.figures()'s third): quota_usage's triggers keep them
    per domain in DomainUsage, and all domains' in the row of ALL_DOMAINS, so a superadmin's
    cost one row whatever the number of mailboxes. The rows are each a range of the used_ppm
    index, read from its top, by a statement built once per scope (mailadmin.kept_statements):
    the mailboxes with the bytes they use (with_usage()).

    The two lists' rows are two queries: as the parts of one UNION they cost 0.4-0.6 ms more,
    wall and CPU alike, the round trip saved included (the UNION with its mailboxes joined is
    sorted again, and compiling it cost more than the two queries).
    """
    alerts = {}
    for name in ALERT_RANGES:
        key = ("fullest", name, shown, kept_statements.scope_of(user))
        statement = kept_statements.kept(key, lambda name=name: _fullest_statement(user, name, shown))
        rows = instances.raw(Mailbox, *statement, translations=_FULLEST_COLUMNS) if statement else []
        alerts[name] = Alert(counts[f"mailboxes_{name}"], rows)
    return alerts


# The statement's columns (values_list names them by their path) as a raw query of Mailbox reads them.
_FULLEST_COLUMNS = {f"mailbox__{field.attname}": field.attname for field in Mailbox._meta.concrete_fields} | {
    "bytes": "used_bytes"
}


def _fullest_statement(user, name, shown):
    """(sql, params) of the fullest `shown` of one alert's mailboxes, as Mailbox rows and the
    bytes they use; None when `user` sees no domain. For all mailboxes the usage rows alone
    answer (a row whose mailbox is gone has no used_ppm); a domain admin's few domains are
    joined in."""
    if user.is_superuser:
        rows = QuotaUsage.objects.all()
    else:
        rows = QuotaUsage.objects.filter(mailbox__in=Mailbox.objects.visible_to(user).values("email"))
    in_range = rows.filter(ALERT_RANGES[name])
    fullest = in_range.order_by("-used_ppm", "-mailbox_id").values_list(*_FULLEST_COLUMNS)[:shown]
    return keyset.sql_of(fullest)


def count_over(user, percent, cap):
    """How many of the mailboxes `user` sees use at least `percent` (FULL or NEARLY_FULL) of
    their quota (the lists the dashboard's "all mailboxes over …" links open), as a total that
    says "more than `cap`" beyond it, as the mailbox list's other filtered totals do: from the
    kept counts, where counting read up to cap + 1 entries of the used_ppm index (0.55 ms at
    10,000 mailboxes, 0.6-0.8 at a million)."""
    kept = tallies.alert_counts(user)
    found = kept["mailboxes_full"] + (kept["mailboxes_nearly_full"] if percent == NEARLY_FULL else 0)
    return keyset.Total.of(found, cap)


class UsageOrderPaginator(Paginator):
    """Pages of the mailbox list ordered by used bytes or percent (a SORTS order of a
    with_usage() queryset), read through quota_usage's index on that figure.

    The mailboxes with a figure come first, `ORDER BY figure, address LIMIT … OFFSET …` on the
    index (a page costs its offset in index entries, never a sort of every row); those without
    one (not reported, no limit) follow, by address, and are looked for only by the pages that
    reach them. The total is `known_count` when the caller knows it (with `capped`: counting
    stopped there, more match, and only the first `known_count` are paged); else counted.
    `kept_as`: the first page's statement is built once for that key and kept
    (mailadmin.keyset.kept_rows): the list's SQL and parameters must be the same whenever the key is.
    """

    def __init__(self, object_list, per_page, *, known_count=None, capped=False, kept_as=None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.known_count = known_count
        self.capped = capped
        self.kept_as = kept_as
        figure = object_list.query.order_by[0]
        self._figure = figure.lstrip("-")
        self._descending = figure.startswith("-")
        self._ranked = object_list.filter(**{f"{self._figure}__isnull": False})

    @cached_property
    def _unranked(self):
        # Only the pages that reach the mailboxes without a figure read them.
        return self.object_list.filter(**{f"{self._figure}__isnull": True}).order_by(
            "-email" if self._descending else "email"
        )

    @cached_property
    def count(self):
        if self.known_count is not None:
            return self.known_count
        return self.object_list.order_by().count()

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        if bottom == 0:
            # The first page reads its rows at once: with no offset the walk of the index reads
            # only them. Deeper pages read the ids first, from the indexes alone: at offset
            # 5,000 of a million that took half the time of reading the rows on the way.
            if self.kept_as is None:
                read = list(self._ranked[:top])
            else:
                read = keyset.kept_rows((*self.kept_as, "ranked", top), lambda: self._ranked[:top])
            ids = [row.pk for row in read]
        else:
            read = []
            ids = list(self._ranked.values_list("pk", flat=True)[bottom:top]) if top > bottom else []
        if len(ids) < top - bottom:  # the page reaches the mailboxes without a figure
            # Fewer than asked: the ranked ones end here, unless none was read past an offset.
            ranked = bottom + len(ids) if ids or bottom == 0 else self._ranked.count()
            start = max(bottom - ranked, 0)
            ids += self._unranked.values_list("pk", flat=True)[start : start + top - bottom - len(ids)]
        return self._get_page(rows_in_order(self.object_list, ids, read, kept_as=self.kept_as), number, self)


# The name the mailbox list knows it by.
KeptOrderPaginator = UsageOrderPaginator


def add_domain_totals(domains):
    """Set `used_bytes` (the sum of reported usage, None when nothing is reported) and
    `reported_count` on each of a page's domains, from the sums the triggers keep (DomainUsage):
    one primary-key lookup per domain, whatever its number of mailboxes. Read as values, not
    instances: a model instance per row cost more than the lookup."""
    domains = list(domains)
    kept = tallies.kept_by_domain(DomainUsage, ("bytes", "reported"), [d.pk for d in domains])
    for domain in domains:
        used, reported = kept.get(domain.pk, (None, 0))
        domain.used_bytes, domain.reported_count = (used if reported else None), reported
    return domains


@dataclass(frozen=True)
class DomainTotals:
    used: int | None
    reported: int
    mailboxes: int

    @property
    def display_used(self):
        return format_size(self.used) if self.reported else NOT_REPORTED

    @property
    def not_reported(self):
        return self.mailboxes - self.reported


def totals_of(usage, mailbox_count):
    """A domain's DomainTotals from its kept usage sums ({"bytes": n, "reported": n})."""
    return DomainTotals(usage["bytes"] if usage["reported"] else None, usage["reported"], mailbox_count)
