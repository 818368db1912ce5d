"""{% usage mailbox %} or {% usage a_usage %}: a mailbox's reported usage, as a bar with the figures
in words; {% size bytes %}: a byte count in the panel's one human format, the exact bytes on hover.

Both are the macros of templates/users/_quota.jinja, for the Django-template pages and the
Jinja2 row fragments alike (mailadmin/row_templates.py): the list pages print one on every row."""

from django import template

from mailadmin.row_templates import macro
from users import quota_usage

register = template.Library()


@register.simple_tag
def usage(mailbox_or_usage):
    """{% usage mailbox %} (fetched with quota_usage.with_usage) or {% usage a_usage %}."""
    if not isinstance(mailbox_or_usage, quota_usage.Usage):
        mailbox_or_usage = quota_usage.usage_of(mailbox_or_usage)
    return macro("users/_quota.jinja", "usage")(mailbox_or_usage)


@register.simple_tag
def size(value):
    return macro("users/_quota.jinja", "size")(value, quota_usage.format_size(value))
