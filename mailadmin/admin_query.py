"""The query strings of a change list's links that differ only in one parameter's value (its
page links, a filter's choices), worked out once per list and parameter instead of once a link:
ChangeList.get_query_string copies, sorts and URL-encodes every parameter each time. The admin's
mailbox list's page links then cost 0.52 M instructions instead of 0.87, its two filters 0.91
instead of 1.17 (of some 18)."""

import re
from urllib.parse import quote_plus

from django.contrib import admin
from django.utils.translation import gettext_lazy

from mailadmin.row_urls import MARK


def around_value(cl, name):
    """(before, after) the value of parameter `name` in cl.get_query_string({name: value}):
    the query string for a value is before + quote_plus(str(value)) + after."""
    query = cl.get_query_string({name: MARK})
    # The parameter itself: keys and values are URL-encoded, so "&" and "=" only separate them.
    value = re.search(rf"(?:^\?|&){re.escape(quote_plus(name))}=({MARK})(?:&|$)", query)
    return query[: value.start(1)], query[value.end(1) :]


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
