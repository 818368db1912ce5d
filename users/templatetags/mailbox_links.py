"""{% mailbox_link mailbox %}: a link to a mailbox's page, labelled with its address, the URL
reversed once per page (mailadmin.row_urls) rather than once per row as {% url %} would."""

from django import template
from django.utils.html import format_html

from mailadmin.row_urls import RowUrl

register = template.Library()


@register.simple_tag(takes_context=True)
def mailbox_link(context, mailbox):
    detail_url = context.render_context.get(__name__)
    if detail_url is None:
        detail_url = context.render_context[__name__] = RowUrl("mailbox-detail")
    return format_html('<a href="{}">{}</a>', detail_url(mailbox.pk), mailbox.display_email)
