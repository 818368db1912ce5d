"""The Django admin's lists sorted only in orders an index serves.

Django sorts by every column named in `?o=` (`o=3.-1`: by quota, then by address backwards) and
ends with `-pk` unless a unique column is in the order. At a million mailboxes, `ORDER BY quota,
id DESC` and `ORDER BY email, quota` are sorts of every row for 25 of them (227–396 ms a page,
the alias list's 610–990 ms); the orders the indexes hold are read 25 rows at a time.

A ModelAdmin with `index_orderings` ({sort field: the whole order, ascending, ending in a unique
column or expression}) is sorted by the first sortable column of `?o=` alone, in that column's
whole order, every part in its direction.
The column headers show that one column as the sorted one.
"""

from django.contrib.admin.views.main import ORDER_VAR
from django.utils.functional import cached_property

from mailadmin.admin_input import GuardedChangeList


class IndexOrderedChangeList(GuardedChangeList):
    @cached_property
    def _first_sort(self):
        """(column number, "" or "-", the order) of the first sortable column in `?o=`, or None."""
        orderings = self.model_admin.index_orderings
        for part in self.params.get(ORDER_VAR, "").split("."):
            _, prefix, number = part.rpartition("-")
            try:
                field = self.get_ordering_field(self.list_display[int(number)])
            except (IndexError, ValueError):
                continue
            if isinstance(field, str) and field in orderings:
                return int(number), prefix, orderings[field]
        return None

    def get_ordering(self, request, queryset):
        first = self._first_sort
        if first is None:
            return super().get_ordering(request, queryset)
        # Each order ends in a unique column: nothing for Django to add (its "-pk" would
        # leave MariaDB sorting the rows again).
        _, prefix, order = first
        return [prefix + part if isinstance(part, str) else (part.desc() if prefix else part.asc()) for part in order]

    def get_ordering_field_columns(self):
        if not self.params.get(ORDER_VAR):
            return super().get_ordering_field_columns()
        first = self._first_sort
        if first is None:
            return {}
        number, prefix, _ = first
        return {number: "desc" if prefix else "asc"}
