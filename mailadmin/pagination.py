"""A paginator whose last page of 200,000 rows costs what its first page costs.

Measured on MariaDB 10.11 (bench/RESULTS.md): `ORDER BY email LIMIT 50 OFFSET 99950` over whole
rows reads every row before the page. Selecting the page's ids alone is an index-only scan of
the unique key (the "deferred join"), and a page in
the second half is read from the other end with the order reversed, so the offset stays below
half the rows and the last page has none at all.

Ids first even on the first page of a filtered list: its conditions are then evaluated on the
index alone, while with whole rows MariaDB looked up every row it tested (alias search: 41 ms
with whole rows, 5 ms for the ids). Two kinds of page read their rows at once, where a second
query would only cost its building and its round trip: the first page of a list with no
condition (with no offset the index walk reads only its rows), and any page of rows picked by a
list of ids (the admin's searches, mailadmin.admin_search: only those rows are read).
"""

from django.core.paginator import Paginator
from django.db.models.lookups import In
from django.db.models.sql.where import AND
from django.utils.functional import cached_property

from mailadmin.keyset import kept_rows


class QuickPaginator(Paginator):
    """Paginates a queryset ordered by columns that end in a unique one (email; source, destination).

    `known_count`: the total, when the caller knows it (kept by the write API, users.tallies).
    `kept_as`: the first page's statement is built once for that key and kept (keyset.kept_rows):
    the list's SQL and parameters must be the same whenever the key is.
    """

    def __init__(self, object_list, per_page, *, known_count=None, kept_as=None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.known_count, self.kept_as = known_count, kept_as

    @cached_property
    def count(self):
        if self.known_count is not None:
            return self.known_count
        return self.object_list.count()

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        ordered = self.object_list
        if bottom > self.count - top:
            # Nearer the end: the same rows counted from there, reverse() flips every ORDER BY column.
            ordered, bottom, top = ordered.reverse(), self.count - top, self.count - bottom
            return self._get_page(self._rows(ordered, bottom, top)[::-1], number, self)
        return self._get_page(self._rows(ordered, bottom, top), number, self)

    def _rows(self, ordered, bottom, top):
        if bottom == 0 and self.kept_as is not None and (ordered is self.object_list or not ordered.query.where):
            # The first page, or the last read from the end: the rows at once, with no offset.
            return kept_rows((*self.kept_as, ordered is self.object_list, top), lambda: ordered[:top])
        if (bottom == 0 and not ordered.query.where) or picked_by_ids(ordered.query):
            return list(ordered[bottom:top])
        if self.kept_as is None:
            return rows_in_order(ordered, list(ordered.values_list("pk", flat=True)[bottom:top]))
        # A statement per page (LIMIT and OFFSET are written into it), up to what is kept.
        ids = kept_rows((*self.kept_as, "ids", ordered is self.object_list, bottom, top),
                        lambda: ordered.values_list("pk", flat=True)[bottom:top])
        return rows_in_order(ordered, ids, kept_as=self.kept_as)


class PickedPaginator(Paginator):
    """Pages of the rows of `unpicked` whose primary keys are `ids` (`capped`: more matched than
    were picked), in the order `order_by`: each page's ids sorted by the database among the
    picked alone, then its rows read by id (rows_in_order; `kept_as`: that statement is kept,
    `unpicked`'s SQL must be the same whenever the key is). The sort is built by the ORM with
    the ids written into it as numbers (pk__ids): a kept statement with a place for each of 200
    ids cost more, in passing them as parameters, than building it."""

    picked = True  # the page says "N of them are listed", not "the first N"

    def __init__(self, ids, unpicked, order_by, per_page, *, capped=False, kept_as=None):
        super().__init__(list(ids), per_page)
        self.unpicked, self.order_by = unpicked, order_by
        self.capped, self.kept_as = capped, kept_as

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        return self._get_page(self._rows(bottom, top) if top > bottom else [], number, self)

    def _rows(self, bottom, top):
        in_picked = self.unpicked.filter(pk__ids=self.object_list).order_by(*self.order_by)
        ids = list(in_picked.values_list("pk", flat=True)[bottom:top])
        return rows_in_order(self.unpicked, ids, kept_as=self.kept_as)


def rows_in_order(queryset, ids, read=(), kept_as=None):
    """The rows of `queryset` with the primary keys `ids`, in the order of `ids`: those of `read`
    (rows already at hand) as they are, the others in one query. An id whose row is gone since
    it was read is left out. `kept_as`: the query's statement is kept under that key, with a
    place for each id (keyset.kept_rows), for as many ids; the queryset's SQL and parameters
    must be the same whenever the key is."""
    rows = {row.pk: row for row in read}
    unread = [pk for pk in dict.fromkeys(ids) if pk not in rows]
    if unread and kept_as is not None:
        def by_ids(*pks):
            return queryset.order_by().filter(pk__in=pks)

        found = kept_rows((*kept_as, "by ids", len(unread)), by_ids, values=tuple(unread))
        rows.update((row.pk, row) for row in found)
    elif unread:
        rows.update((row.pk, row) for row in queryset.order_by().filter(pk__ids=unread))
    return [rows[pk] for pk in ids if pk in rows]


def picked_by_ids(query):
    """Whether the rows are those of a list of primary keys (AND whatever else)."""
    where = query.where
    return where.connector == AND and not where.negated and any(
        isinstance(condition, In)
        and isinstance(condition.rhs, (list, tuple))
        and getattr(getattr(condition.lhs, "target", None), "primary_key", False)
        for condition in where.children
    )
