"""{% usage mailbox %} or {% usage a_usage %}: a mailbox's reported usage, as a bar with the figures
in words; {% size bytes %}: a byte count in the panel's one human format, the exact bytes on hover.

The Django-template pages call them as tags; the list pages call them for every row in Python
and hand the HTML to their Jinja2 fragments (users.listing.mailbox_rows, the domain list). They
build the HTML themselves (a row's bar cost 9 µs through a Jinja2 macro, 5.7 µs this way), work
out each figure once, and keep what depends on the quota alone (the bar's bounds, the quota in
words) per quota: a page's mailboxes share a few quotas.

The HTML is a SafeString, which both template languages print as it is: a Markup or mark_safe()
first asks the text for __html__, raising and catching an AttributeError, and MarkupSafe's
escape() makes a Markup (mailadmin.row_templates.escape_text)."""

import functools

from django import template
from django.utils.safestring import SafeString

from mailadmin.row_templates import escape_text
from users import quota_usage

register = template.Library()

_NOT_REPORTED = SafeString(f'<span class="usage not-reported">{escape_text(quota_usage.NOT_REPORTED)}</span>')


@register.simple_tag
def usage(mailbox_or_usage):
    """{% usage mailbox %} (fetched with quota_usage.with_usage) or {% usage a_usage %}."""
    u = mailbox_or_usage
    if isinstance(u, quota_usage.Usage):
        used, limit = u.used, u.limit
    elif hasattr(u, "used_bytes"):  # quota_usage.usage_of's quick case, without making a Usage
        used, limit = u.used_bytes, u.quota
    else:
        u = quota_usage.usage_of(u)
        used, limit = u.used, u.limit
    if used is None:
        return _NOT_REPORTED
    used_html = f'<span title="{used:d} bytes">{escape_text(quota_usage.format_size(used))}</span>'
    if not limit:
        return SafeString(f'<span class="usage ">{used_html} (no limit)</span>')
    percent = quota_usage.percent_of(used, limit)
    meter_start, limit_html = _quota_parts(limit)
    return SafeString(
        f'<span class="usage {quota_usage.level_of(percent)}">{meter_start} value="{min(used, limit):d}"'
        f' aria-hidden="true"></meter>{used_html} of {limit_html} ({percent:d} %)</span>'
    )


@functools.lru_cache(maxsize=1024)
def _quota_parts(limit):
    """The start of the bar's <meter> (up to its value) and the quota in words, of a quota."""
    quota = quota_usage.Usage(None, None, limit)
    return (
        f'<meter min="0" max="{limit:d}" low="{quota.meter_low:d}" high="{quota.meter_high:d}" optimum="0"',
        f'<span title="{limit:d} bytes">{escape_text(quota.display_limit)}</span>',
    )


@register.simple_tag
def size(value):
    text = escape_text(quota_usage.format_size(value))
    if value is None:
        return SafeString(f'<span class="not-reported">{text}</span>')
    # int(): a sum read from MariaDB is a Decimal.
    return SafeString(f'<span title="{int(value)} bytes">{text}</span>')
