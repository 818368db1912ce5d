"""The query strings of a change list's links that differ only in one parameter's value (its
page links, a filter's choices), worked out once per list and parameter instead of once a link:
ChangeList.get_query_string copies, sorts and URL-encodes every parameter each time. The admin's
mailbox list's page links then cost 0.52 M instructions instead of 0.87, its two filters 0.91
instead of 1.17 (of some 18)."""

import re
from urllib.parse import parse_qsl, quote_plus

from django.contrib import admin
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.utils.translation import gettext_lazy

from mailadmin.row_urls import MARK


def around_value(cl, name):
    """(before, after) the value of parameter `name` in cl.get_query_string({name: value}):
    the query string for a value is before + quote_plus(str(value)) + after."""
    query = cl.get_query_string({name: MARK})
    # The parameter itself: keys and values are URL-encoded, so "&" and "=" only separate them.
    value = re.search(rf"(?:^\?|&){re.escape(quote_plus(name))}=({MARK})(?:&|$)", query)
    return query[: value.start(1)], query[value.end(1) :]


def with_preserved_filters(url, preserved_filters, popup=False, to_field=None):
    """add_preserved_filters() of a change list's context for `url`, a page of the list's model
    other than the list itself (a row's change page, the add page). Django resolve()s the URL to
    learn whether it is the list's own, whose filters it would unwrap; the caller knows it is not
    (two resolve()s a filtered list were 4 % of its time under cProfile). Given as `preserved_qsl`,
    the filters are merged as Django merges them for such a URL."""
    return add_preserved_filters({"preserved_qsl": parse_qsl(preserved_filters or "")}, url, popup, to_field)


class QuickChoices(admin.SimpleListFilter):
    """A SimpleListFilter whose choices' query strings come from around_value().

    Its queryset() must narrow by self.value() alone (not by the user, the time or another
    parameter): a list narrowed by such filters keeps its statements per filter value
    (users.admin.ScopedAdmin.get_paginator)."""

    def choices(self, changelist):
        if changelist.add_facets:  # each choice's count: Django's own
            yield from super().choices(changelist)
            return
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": gettext_lazy("All"),
        }
        before, after = around_value(changelist, self.parameter_name)
        chosen = self.value()
        for lookup, title in self.lookup_choices:
            yield {
                "selected": chosen == str(lookup),
                "query_string": f"{before}{quote_plus(str(lookup))}{after}",
                "display": title,
            }
