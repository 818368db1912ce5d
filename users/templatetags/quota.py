"""{% usage mailbox %}: a mailbox's reported usage, as a bar with the figures in words.

Built in Python, not from a template: a page shows it on every row, and a sub-template costs
some 70 µs a row (its ten variables resolved and localized one by one), this a tenth of that.
"""

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from users import quota_usage

register = template.Library()

NOT_REPORTED = mark_safe(f'<span class="usage not-reported">{quota_usage.NOT_REPORTED}</span>')


@register.simple_tag
def usage(mailbox_or_usage):
    """The bar (with a limit) and "<used> of <limit> (<percent> %)"; the exact bytes on hover.
    Takes a mailbox fetched with quota_usage.with_usage(), or a Usage."""
    figures = mailbox_or_usage
    if not isinstance(figures, quota_usage.Usage):
        figures = quota_usage.usage_of(mailbox_or_usage)
    if not figures.reported:
        return NOT_REPORTED
    used = format_html('<span title="{} bytes">{}</span>', figures.used, figures.display_used)
    if figures.unlimited:
        return format_html('<span class="usage">{} (no limit)</span>', used)
    percent = figures.percent
    # The bar is only for the eye (aria-hidden): the words after it say the same.
    meter = format_html(
        '<meter min="0" max="{}" low="{}" high="{}" optimum="0" value="{}" aria-hidden="true"></meter>',
        figures.limit, figures.meter_low, figures.meter_high, min(figures.used, figures.limit),
    )  # fmt: skip
    return format_html(
        '<span class="usage {}">{}{} of <span title="{} bytes">{}</span> ({} %)</span>',
        figures.level, meter, used, figures.limit, figures.display_limit, percent,
    )  # fmt: skip


@register.inclusion_tag("users/_size.html")
def size(value):
    """A byte count in the panel's one human format, the exact bytes on hover."""
    return {"value": value, "text": quota_usage.format_size(value)}
