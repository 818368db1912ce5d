"""Figures too costly to compute on every page view, kept for a short while in Django's cache.

COUNT(*) over 200,000 aliases costs 40-60 ms and the dashboard's scheme inventory reads every
password (170-270 ms at 100,000 mailboxes, bench/RESULTS.md). Such figures are kept for TTL
seconds and shown with the time they were computed.

Every key carries a generation that any save or delete of a domain, mailbox, alias or grant
through Django renews, so the panel's own changes show at once. Rows written past the ORM
(bulk_create, raw SQL, the mail server's own scripts) show within TTL seconds. With the default
per-process cache each gunicorn worker keeps its own copy; a shared cache backend in CACHES makes
the workers agree.
"""

import hashlib
import time

from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

TTL = 60
_GENERATION_KEY = "mailadmin:cached_counts:generation"
_WATCHED = ("users.Domain", "users.Mailbox", "users.DomainAdminGrant", "aliases.Alias")


def generation():
    # A fresh value rather than a counter: an evicted key must never bring old entries back.
    return cache.get_or_set(_GENERATION_KEY, time.time_ns, None)


def data_changed(**_signal_kwargs):
    cache.set(_GENERATION_KEY, time.time_ns(), None)


def remembered(key, compute, *, refresh=False):
    """(value, computed_at): compute() at most once per TTL and generation, or now if refresh."""
    full_key = f"mailadmin:cached_counts:{generation()}:{key}"
    if not refresh:
        hit = cache.get(full_key)
        if hit is not None:
            return hit
    result = (compute(), timezone.now())
    cache.set(full_key, result, TTL)
    return result


def count_of(queryset):
    """(count, counted_at) of a queryset, keyed by its SQL (which holds the user's visibility filter)."""
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:  # a filter known to match nothing (mailadmin/utf8mb3.py): no SQL to key by
        return 0, timezone.now()
    digest = hashlib.sha256(repr((sql, params)).encode()).hexdigest()
    return remembered(f"count:{digest}", queryset.count)


def connect_signals():
    for label in _WATCHED:
        # The audit log listens to deletes of these models already, so Django's fast delete is off
        # for them either way; this adds no per-row cost to cascades.
        post_save.connect(data_changed, sender=label, dispatch_uid=f"mailadmin.cached_counts:save:{label}")
        post_delete.connect(data_changed, sender=label, dispatch_uid=f"mailadmin.cached_counts:delete:{label}")
