"""`{% quick_result_list cl %}`: the rows of a Django admin change list, as Django renders them,
worked out once per column instead of once per cell, and printed by a Jinja2 fragment
(mailadmin/admin_fragments.py).

Django's `items_for_result` looks every cell up anew (the field, its display, whether it links,
a reverse() and, on a filtered list, a resolve() for the link) and the template then prints each
cell on its own: about a quarter of a 25-row list page's CPU (cProfile, 100,000 mailboxes). Columns this module does not know how to
render the way Django does (booleans, dates, relations, choices, editable lists, popups) leave
the whole list to Django.
"""

import datetime
import html
import operator

from django import template
from django.contrib.admin.templatetags.admin_list import ResultList, result_headers, result_list
from django.contrib.admin.utils import display_for_value
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString

from mailadmin.admin_fragments import FragmentNode
from mailadmin.admin_query import with_preserved_filters

register = template.Library()

# Stands for the row's primary key in a change URL worked out once for all rows.
PK_MARKER = "__row_pk__"
# Model fields Django's display_for_field prints as display_for_value does.
PLAIN_FIELDS = (models.CharField, models.TextField)


class _Unsupported(Exception):
    pass


def _value_getter(cl, name):
    """A function row -> the value Django's lookup_field finds for this column."""
    model_admin = cl.model_admin
    if callable(name):
        raise _Unsupported
    try:
        field = cl.lookup_opts.get_field(name)
    except FieldDoesNotExist:
        field = None
    if field is not None:
        if type(field) not in PLAIN_FIELDS or field.flatchoices:
            raise _Unsupported
        attname = field.attname
        return lambda row: getattr(row, attname)
    attr = getattr(model_admin, name, None)
    if attr is not None:
        if not callable(attr) or getattr(attr, "boolean", False):
            raise _Unsupported
        return attr
    # A property of the model, such as Domain.display_name.
    prop = getattr(cl.model, name, None)
    if not isinstance(prop, property) or getattr(prop.fget, "boolean", False):
        raise _Unsupported
    return operator.attrgetter(name)


def _change_url(cl):
    """(before, after): the change URL of a row is before + pk + after (an integer key reads
    the same quoted), with the list's filters preserved as add_preserved_filters adds them."""
    url = reverse(
        f"admin:{cl.opts.app_label}_{cl.opts.model_name}_change",
        args=(PK_MARKER,),
        current_app=cl.model_admin.admin_site.name,
    )
    url = with_preserved_filters(url, cl.preserved_filters)
    before, after = conditional_escape(url).split(PK_MARKER)
    return before, after


def _columns(cl):
    """(opening tag, value getter, change URL parts or None, closing tag, empty display) per column,
    decided as Django's items_for_result decides them for each cell."""
    empty = cl.model_admin.get_empty_value_display()
    columns, first = [], True
    for name in cl.list_display:
        getter = _value_getter(cl, name)
        css = "action-checkbox" if name == "action_checkbox" else f"field-{name}"
        cell_empty = getattr(getter, "empty_value_display", empty)
        links = cl.list_display_links is not None and (
            (first and not cl.list_display_links) or name in cl.list_display_links
        )
        if links:
            tag = "th" if first else "td"
            first = False
            columns.append((f'<{tag} class="{css}">', getter, _change_url(cl), f"</{tag}>", cell_empty))
        else:
            columns.append((f'<td class="{css}">', getter, None, "</td>", cell_empty))
    return columns


def _rows(cl):
    columns = _columns(cl)
    rows = []
    for row in cl.result_list:
        if not isinstance(row.pk, int):
            raise _Unsupported  # reverse() quotes other keys its own way
        cells = []
        for opening, getter, link, closing, empty in columns:
            value = getter(row)
            if isinstance(value, (datetime.date, datetime.time)):
                raise _Unsupported  # Django adds a "nowrap" class
            if type(value) is str and value.strip():
                # What display_for_value and conditional_escape make of a plain string, without
                # their chain of checks (a fifth of the rows' time).
                shown = html.escape(value)
            elif type(value) is SafeString and value.strip():
                shown = value  # HTML a column made, which they print as it is
            else:
                if isinstance(value, str) and value.strip() == "":
                    value = ""
                shown = conditional_escape(display_for_value(value, empty))
            if link:
                shown = f'<a href="{link[0]}{row.pk}{link[1]}">{shown}</a>'
            cells.append(f"{opening}{shown}{closing}")
        # One item per row: the template prints a row's items one after another, unseparated.
        rows.append(ResultList(None, [SafeString("".join(cells))]))  # mark_safe(), without its checks
    return rows


def quick_result_list(cl):
    """Django's result_list() context, with the rows made by _rows() when it can."""
    if cl.formset or cl.is_popup or cl.to_field:
        return result_list(cl)
    try:
        rows = _rows(cl)
    except (_Unsupported, NoReverseMatch):
        return result_list(cl)
    headers = list(result_headers(cl))
    return {
        "cl": cl,
        "result_hidden_fields": [],  # only an editable list (a formset) has them
        "result_headers": headers,
        "num_sorted_fields": sum(1 for header in headers if header["sortable"] and header["sorted"]),
        "results": rows,
        "rows_are_quick": True,
    }


RESULTS = "admin/mailadmin/_change_list_results.jinja"


def results_table_values(result):
    """What the rows' fragment reads, from quick_result_list()'s result."""
    return {
        "result_headers": result["result_headers"],
        "num_sorted_fields": result["num_sorted_fields"],
        "rows": [row[0] for row in result["results"]],
    }


@register.tag(name="quick_result_list")
def quick_result_list_tag(parser, token):
    return FragmentNode(
        parser, token, func=quick_result_list, template_name="change_list_results.html", fragment=RESULTS,
        values=lambda context, result: results_table_values(result) if result.get("rows_are_quick") else None,
    )
