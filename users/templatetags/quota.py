"""{% usage mailbox %}: a mailbox's reported usage, as a bar with the figures in words."""

from django import template

from users import quota_usage

register = template.Library()


@register.inclusion_tag("users/_usage.html")
def usage(mailbox):
    return {"usage": quota_usage.usage_of(mailbox)}


@register.inclusion_tag("users/_size.html")
def size(value):
    """A byte count in the panel's one human format, the exact bytes on hover."""
    return {"value": value, "text": quota_usage.format_size(value)}
