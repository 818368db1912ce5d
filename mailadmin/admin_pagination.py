"""The Django admin lists' paginator: no COUNT that grows with the installation.

An unfiltered list takes its total from the figures the write API keeps (users.tallies), a
search (mailadmin.admin_search) knows its own; both are passed in as `known_count`. Otherwise a
filtered list counts at most CAP + 1 rows: up to CAP the count is exact, beyond it the list
says "more than CAP" and pages through the first CAP rows.
"""

from math import ceil

from django.contrib.admin.templatetags.admin_list import paginator_number as django_paginator_number
from django.contrib.admin.views.main import PAGE_VAR
from django.utils.functional import cached_property
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

from mailadmin.admin_query import around_value
from mailadmin.keyset import kept_count, kept_rows
from mailadmin.pagination import QuickPaginator, picked_by_ids, rows_in_order

# Rows a filtered or searched list pages through at most: 8 pages of 25, what "Show all" shows.
# A list of more is narrowed by filtering or typing on; the whole list has a kept total.
CAP = 200


class MoreThan(int):
    """A count known only to exceed `bound`. It compares as bound + 1 (so Django's "Show all",
    offered up to 200 rows, is not offered for it) and prints as "more than <bound>" wherever
    Django prints a count ("more than 200 aliases", "Select all more than 200 aliases")."""

    def __new__(cls, bound):
        count = super().__new__(cls, bound + 1)
        count.bound = bound
        return count

    def __str__(self):
        return f"more than {self.bound}"


class AdminPaginator(QuickPaginator):
    """`kept_filtered_as`: the list is narrowed by filters whose SQL depends only on their
    values, which the key holds: its count and each page's ids are read by statements built
    once per key and kept (keyset.kept_count, keyset.kept_rows), as the unfiltered list's first
    page is with `kept_as`.

    `searched` (with `kept_filtered_as`): the list is the result of a search of
    mailadmin.admin_search, which reads its count and its pages' rows itself (`counted`,
    `page_rows`) with statements kept under that key, or answers None."""

    def __init__(
        self, object_list, per_page, orphans=0, allow_empty_first_page=True, *, known_count=None, cap=None,
        kept_as=None, kept_filtered_as=None, searched=None,
    ):
        super().__init__(
            object_list, per_page, orphans=orphans, allow_empty_first_page=allow_empty_first_page,
            known_count=known_count, kept_as=kept_as,
        )
        self.cap = CAP if cap is None else cap
        self.kept_filtered_as = kept_filtered_as
        self.searched = searched if kept_filtered_as is not None else None

    @cached_property
    def count(self):
        if self.known_count is not None:
            return self.known_count
        # COUNT(*) over a LIMIT subquery: it stops reading after cap + 1 rows.
        if self.kept_filtered_as is None:
            counted = self.object_list.values("pk")[: self.cap + 1].count()
        else:
            key = (*self.kept_filtered_as, "count", self.cap)
            counted = self.searched.counted(key, self.cap) if self.searched is not None else None
            if counted is None:
                counted = kept_count(self.object_list.values("pk")[: self.cap + 1], key)
        return MoreThan(self.cap) if counted > self.cap else counted

    def _rows(self, ordered, bottom, top):
        # Whether the rows are read in the list's order, or from its end (QuickPaginator.page).
        in_order = ordered is self.object_list
        if self.searched is not None:
            rows = self.searched.page_rows(self.kept_filtered_as, in_order, bottom, top)
            if rows is not None:
                return rows
        if self.kept_filtered_as is None or picked_by_ids(ordered.query):
            return super()._rows(ordered, bottom, top)
        ids = kept_rows((*self.kept_filtered_as, "ids", in_order, bottom, top),
                        lambda: ordered.values_list("pk", flat=True)[bottom:top])
        return rows_in_order(ordered, ids, kept_as=self.kept_filtered_as)

    @cached_property
    def num_pages(self):
        if isinstance(self.count, MoreThan):
            return ceil(self.count.bound / self.per_page)
        return super().num_pages

    def page(self, number):
        if isinstance(self.count, MoreThan):
            # The end of the rows is unknown: pages are read from the front only, up to the bound.
            number = self.validate_number(number)
            bottom = (number - 1) * self.per_page
            top = min(bottom + self.per_page, self.count.bound)
            return self._get_page(self._rows(self.object_list, bottom, top), number, self)
        return super().page(number)


def paginator_number(cl, i):
    """Django's admin_list.paginator_number(cl, i), a page link, with the query string of the
    list's page links worked out once per list (mailadmin.admin_query) rather than once a link."""
    if i == cl.paginator.ELLIPSIS or i == cl.page_num:
        return django_paginator_number(cl, i)
    parts = cl.__dict__.get("_page_link_parts")
    if parts is None:
        parts = cl.__dict__["_page_link_parts"] = tuple(map(conditional_escape, around_value(cl, PAGE_VAR)))
    end = ' class="end"' if i == cl.paginator.num_pages else ""
    return mark_safe(f'<a href="{parts[0]}{i:d}{parts[1]}"{end}>{i:d}</a> ')
