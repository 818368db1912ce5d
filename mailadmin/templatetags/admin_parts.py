"""`{% quick_pagination cl %}`, `{% quick_list_filter cl spec %}` and `{% quick_admin_actions %}`:
Django's admin tags `pagination`, `admin_list_filter` and `admin_actions`, printed by Jinja2
fragments while their templates are Django's own (mailadmin/admin_fragments.py)."""

from django import template
from django.contrib.admin.templatetags.admin_list import admin_actions, pagination

from mailadmin.admin_fragments import FragmentNode, action_bar_values, list_filter_html

register = template.Library()

ACTIONS = "admin/mailadmin/_actions.jinja"
PAGINATION = "admin/mailadmin/_pagination.jinja"


def _pagination_values(context, result):
    # The fragment leaves out the Save button of an editable list (a formset).
    return None if result["cl"].formset else result


@register.tag(name="quick_pagination")
def quick_pagination_tag(parser, token):
    return FragmentNode(
        parser, token, func=pagination, template_name="pagination.html",
        fragment=PAGINATION, values=_pagination_values,
    )


@register.simple_tag(takes_context=True)
def quick_list_filter(context, cl, spec):
    return list_filter_html(context.template.engine, cl, spec)


def _action_values(context, _result):
    return action_bar_values(context, context["action_index"])


@register.tag(name="quick_admin_actions")
def quick_admin_actions_tag(parser, token):
    return FragmentNode(
        parser, token, func=admin_actions, template_name="actions.html",
        fragment=ACTIONS, values=_action_values, takes_context=True,
    )
