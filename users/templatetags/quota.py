"""{% usage mailbox %} or {% usage a_usage %}: a mailbox's reported usage, as a bar with the figures in words.

Built in Python rather than by an inclusion template: the mailbox list shows it on every row, and
an inclusion tag renders a template with its own context each time (half of that page's
rendering time)."""

from django import template
from django.utils.html import format_html

from users import quota_usage

register = template.Library()


def usage_html(usage):
    if not usage.reported:
        return format_html('<span class="usage not-reported">{}</span>', quota_usage.NOT_REPORTED)
    meter = ""
    if usage.percent is not None:
        meter = format_html(
            '<meter min="0" max="{}" low="{}" high="{}" optimum="0" value="{}" aria-hidden="true"></meter>',
            usage.limit, usage.meter_low, usage.meter_high, usage.meter_value,
        )
    if usage.unlimited:
        limit = " (no limit)"
    else:
        limit = format_html(' of <span title="{} bytes">{}</span> ({} %)', usage.limit, usage.display_limit, usage.percent)
    return format_html(
        '<span class="usage {}">{}<span title="{} bytes">{}</span>{}</span>',
        usage.level, meter, usage.used, usage.display_used, limit,
    )


@register.simple_tag
def usage(mailbox_or_usage):
    """{% usage mailbox %} (fetched with quota_usage.with_usage) or {% usage a_usage %}."""
    if isinstance(mailbox_or_usage, quota_usage.Usage):
        return usage_html(mailbox_or_usage)
    return usage_html(quota_usage.usage_of(mailbox_or_usage))


@register.simple_tag
def size(value):
    """A byte count in the panel's one human format, the exact bytes on hover (a row of the
    domain list each: built in Python, as `usage` is)."""
    text = quota_usage.format_size(value)
    if value is None:
        return format_html('<span class="not-reported">{}</span>', text)
    return format_html('<span title="{} bytes">{}</span>', value, text)
