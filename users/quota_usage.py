"""Quota usage as Dovecot reports it (the quota_usage table its quota_clone plugin writes), read
for the pages, the export and `manage.py mailbox usage`.

Usage always comes with the mailboxes it belongs to in the same query: `with_usage()` adds one
LEFT JOIN on quota_usage's primary key (the address), so a page of 50 mailboxes costs the
queries it cost without usage. Orders by usage go through KeptOrderPaginator. A mailbox without a row has not been reported yet: its usage is
None, shown as "not reported yet", never as 0.
"""

import hashlib
import math
from dataclasses import dataclass

from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Count, F, FloatField, Sum
from django.db.models.functions import Cast, NullIf
from django.utils import timezone
from django.utils.functional import cached_property

from mailadmin import cached_counts
from users import addresses
from users.models import QuotaUsage

NEARLY_FULL, FULL = 90, 100
NOT_REPORTED = "not reported yet"
# Sort keys of the mailbox list (users.views.MAILBOX_SORTS adds these).
SORTS = {
    "used": ["usage__bytes", "email"],
    "-used": ["-usage__bytes", "-email"],
    "percent": ["used_percent", "email"],
    "-percent": ["-used_percent", "-email"],
}


def format_size(size):
    """One human format for every size the panel shows: 1024-based, as quotas are typed."""
    if size is None:
        return NOT_REPORTED
    if size <= 0:
        # format_quota_human reads 0 as an unlimited quota; 0 bytes used is just that.
        return f"{size} bytes"
    return addresses.format_quota_human(size)


@dataclass(frozen=True)
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
        return math.floor(self.used * 100 / self.limit)

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
        if percent is None:
            return ""
        if percent >= FULL:
            return "full"
        return "nearly-full" if percent >= NEARLY_FULL else "ok"

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


def usage_of(mailbox):
    """The Usage of a mailbox fetched with with_usage() (or of any mailbox, at one query)."""
    try:
        row = mailbox.usage
    except QuotaUsage.DoesNotExist:
        row = None
    if row is None:
        return Usage(None, None, mailbox.quota)
    return Usage(row.bytes, row.messages, mailbox.quota, row.updated)


def with_usage(mailboxes):
    """Mailboxes with their quota_usage row joined in (and `used_percent` for sorting)."""
    return mailboxes.select_related("usage").annotate(
        used_percent=Cast(F("usage__bytes"), FloatField()) * 100 / NullIf(F("quota"), 0)
    )


def over(mailboxes, percent):
    """Mailboxes with a limit whose reported usage is at least `percent` of it (integer arithmetic,
    so 90 % means exactly 9/10 of the quota on every database)."""
    return (
        mailboxes.filter(quota__gt=0)
        .alias(used_x100=F("usage__bytes") * 100, limit_x_percent=F("quota") * percent)
        .filter(used_x100__gte=F("limit_x_percent"))
    )


def nearly_full_and_full(mailboxes, shown=20):
    """The dashboard's two lists, {"full": …, "nearly_full": …}, each (count, first `shown`
    mailboxes, fullest first): at least 100 %, and 90 to 99 %.

    One pass over the join finds both groups (no index can order by a ratio of two tables'
    columns); only the shown rows are then read whole. The dashboard keeps the result a minute.
    """
    found = over(mailboxes, NEARLY_FULL).values_list("pk", "quota", "usage__bytes")
    groups = {"full": [], "nearly_full": []}
    for pk, quota, used in found.iterator(chunk_size=2000):
        groups["full" if used >= quota else "nearly_full"].append((used / quota, pk))
    first = {name: [pk for _, pk in sorted(rows, reverse=True)[:shown]] for name, rows in groups.items()}
    rows = with_usage(mailboxes.model.objects.filter(pk__in=first["full"] + first["nearly_full"])).in_bulk()
    return {name: (len(groups[name]), [rows[pk] for pk in first[name] if pk in rows]) for name in groups}


class KeptOrderPaginator(Paginator):
    """Pages of an order no index can serve: used space and percent are columns of two tables
    (and a ratio of them), so MariaDB sorts every joined row for any page of such an order
    (150–190 ms at 100,000 mailboxes on an idle core, several times that under load).

    The whole order's ids are read once, in one query, and kept with the panel's other kept
    figures (mailadmin.cached_counts: TTL seconds, renewed by any change made in the panel) in
    chunks of CHUNK ids; a page then costs the chunk it falls in and its rows, on every page of
    any size of table. Usage Dovecot reports meanwhile shows at once in the rows; the order
    follows within TTL seconds, and the page says when it was taken (`counted_at`).
    """

    CHUNK = 5000

    def __init__(self, object_list, per_page, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        sql, params = object_list.query.sql_with_params()
        self._key = "usage-order:" + hashlib.sha256(repr((sql, params)).encode()).hexdigest()
        self.counted_at = None
        self._chunks = {}

    @cached_property
    def _generation(self):
        return cached_counts.generation()

    def _full_key(self, name):
        return f"mailadmin:cached_counts:{self._generation}:{self._key}:{name}"

    def _take_order(self):
        ids = list(self.object_list.values_list("pk", flat=True))
        self.counted_at = timezone.now()
        chunks = {n: ids[n * self.CHUNK : (n + 1) * self.CHUNK] for n in range(math.ceil(len(ids) / self.CHUNK))}
        cache.set_many(
            {self._full_key("head"): (len(ids), self.counted_at),
             **{self._full_key(n): chunk for n, chunk in chunks.items()}},
            cached_counts.TTL,
        )
        self._chunks = chunks
        return len(ids)

    @cached_property
    def count(self):
        head = cache.get(self._full_key("head"))
        if head is None:
            return self._take_order()
        count, self.counted_at = head
        return count

    def _ids(self, bottom, top):
        if top <= bottom:
            return []
        wanted = range(bottom // self.CHUNK, (top - 1) // self.CHUNK + 1)
        missing = [n for n in wanted if n not in self._chunks]
        if missing:
            found = cache.get_many([self._full_key(n) for n in missing])
            if len(found) < len(missing):  # evicted meanwhile: take the order again
                self._take_order()
            else:
                self._chunks.update({n: found[self._full_key(n)] for n in missing})
        ids = [pk for n in wanted for pk in self._chunks.get(n, [])]
        start = wanted.start * self.CHUNK
        return ids[bottom - start : top - start]

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        ids = self._ids(bottom, top)
        rows = {row.pk: row for row in self.object_list.order_by().filter(pk__in=ids)} if ids else {}
        return self._get_page([rows[pk] for pk in ids if pk in rows], number, self)


def add_domain_totals(domains):
    """Set `used_bytes` (the sum of reported usage, None when nothing is reported) and
    `reported_count` on each of a page's domains: one grouped query over their mailboxes
    (domain_id index) joined to quota_usage by its primary key."""
    domains = list(domains)
    totals = {
        row["mailbox__domain"]: row
        for row in QuotaUsage.objects.filter(mailbox__domain__in=[d.pk for d in domains])
        .values("mailbox__domain")
        .annotate(total=Sum("bytes"), n=Count("pk"))
        .order_by()
    }
    for domain in domains:
        found = totals.get(domain.pk, {})
        domain.used_bytes, domain.reported_count = found.get("total"), found.get("n", 0)
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


def totals_of(domain, mailbox_count):
    add_domain_totals([domain])
    return DomainTotals(domain.used_bytes, domain.reported_count, mailbox_count)
