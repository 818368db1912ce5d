"""The Django admin's search over two indexed prefixes, as two index range scans.

Django's admin joins `search_fields = ["^source", "^destination"]` into one condition,
`source LIKE 'q%' OR destination LIKE 'q%'`, which MariaDB 10.11 cannot serve from either
index: it reads the whole (source, destination) key instead (133-159 ms at 2,000,000 aliases).
Each prefix alone is a range scan of its own index, so the matching ids are read one column at
a time, at most the paginator's cap + 1 of each, and the list shows the rows with those ids.
On MariaDB both range scans are the parts of one UNION, which also puts them in the list's order
(a search matching more than the cap read its ids a third time to do that).

A search over prefixes of one column is Django's one condition, made by PrefixSearch so that the
paginator can build its statements once with places for the words (AdminPaginator's `searched`).
"""

from dataclasses import dataclass
from functools import cached_property

from django.contrib import messages
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Q
from django.utils.text import smart_split, unescape_string_literal

from mailadmin import admin_pagination
from mailadmin.admin_pagination import MoreThan
from mailadmin.keyset import kept_count_of, kept_rows, kept_sql
from mailadmin.pagination import rows_in_order


def search_words(search_term):
    """The words of a search as Django's admin splits them: quotes keep a phrase together."""
    words = []
    for bit in smart_split(search_term or ""):
        if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
            bit = unescape_string_literal(bit)
        if bit:
            words.append(bit)
    return words


def prefix_search(model_admin, request, search_term):
    """(columns, words) of a search this module runs instead of Django's one condition, or None:
    a GET whose search has words, on a ModelAdmin whose search_fields are all "^column" prefixes.
    An action applies to everything the search matches ("Select all"), so a POST keeps Django's
    condition: it runs once, for a change the person asked for."""
    words = search_words(search_term)
    fields = [str(field) for field in model_admin.get_search_fields(request)]
    if not words or not fields or not all(field.startswith("^") for field in fields) or request.method != "GET":
        return None
    return tuple(field[1:] for field in fields), tuple(words)


@dataclass(frozen=True)
class PrefixSearch:
    """The rows of `unsearched` where every word starts one of `fields`: the condition Django's
    admin makes of search_fields = ["^column", …], with the words as the only values its SQL
    takes from the search. `result` is those rows for `words`, as the change list lists them."""

    unsearched: object
    fields: tuple
    words: tuple

    def narrowed(self, *words):
        return self.unsearched.filter(Q.create(
            [Q.create([(f"{field}__istartswith", word) for field in self.fields], connector=Q.OR) for word in words]
        ))

    @property
    def shape(self):
        """What the SQL depends on besides the unsearched rows and the words' values."""
        return ("search", self.fields, len(self.words))

    def counted(self, kept_as, cap):
        """The rows found, counted up to cap + 1 by a statement kept under `kept_as`."""
        return kept_count_of(kept_as, lambda *words: self.narrowed(*words).values("pk")[: cap + 1], self.words)

    def page_rows(self, kept_as, in_order, bottom, top):
        """The rows bottom:top of the list, or of it reversed (not `in_order`): their ids by a
        statement kept under `kept_as`, then the rows by their ids."""
        def page_ids(*words):
            rows = self.narrowed(*words)
            return (rows if in_order else rows.reverse()).values_list("pk", flat=True)[bottom:top]

        ids = kept_rows((*kept_as, "ids", in_order, bottom, top), page_ids, values=self.words)
        # From the rows before the search: a statement with the words in it would be kept
        # with the first search's words.
        return rows_in_order(self.unsearched, ids, kept_as=kept_as)

    @cached_property
    def result(self):
        return self.narrowed(*self.words)


@dataclass(frozen=True)
class PickedIds:
    """The rows of `unsearched` with the primary keys `ids` (TwoPrefixSearch's), as the list
    lists them (`result`); `in_order`: whether `ids` are in the list's order, so that a page's
    rows can be read by the page's ids alone."""

    unsearched: object
    ids: list
    in_order: bool
    shape: tuple
    result: object

    def counted(self, kept_as, cap):
        return None  # known already: the paginator's known_count

    def page_rows(self, kept_as, in_order, bottom, top):
        """The rows bottom:top of the list, or of it reversed (not `in_order`), by their ids;
        None when the ids are not in the list's order."""
        if not self.in_order:
            return None
        ids = self.ids if in_order else self.ids[::-1]
        return rows_in_order(self.unsearched, ids[bottom:top], kept_as=kept_as)


def prefix_matching_ids(queryset, fields, words, cap, kept_as=None):
    """(ids, complete): rows of `queryset` where every word starts one of `fields`.

    Complete: exactly the rows the admin's OR finds, at most `cap` of them. Otherwise more
    match, and the ids are `cap` of them: the first in the queryset's order among the first
    `cap` + 1 of each field in that field's index order (sorting all the matches of one field
    by another column is what grows with the table).

    The first word is looked up per field, each a range scan of that field's index, read in
    index order; further words only narrow those rows. istartswith, as the admin's "^": MariaDB's
    LIKE with the column's case-insensitive collation uses the index (startswith is LIKE BINARY,
    which does not), and Django escapes % and _ so that they match themselves.

    `kept_as`: where the ids are read in one query (in_one_query()), its statement is kept under
    that key with places for the words (keyset.kept_sql): the queryset's SQL and parameters
    must be the same whenever the key is.
    """
    if in_one_query(queryset, fields):
        return _first_in_order_together(queryset, fields, words, cap, kept_as)
    ids, complete = set(), True
    for matching in _per_field(queryset, fields, words):
        found = list(matching.values_list("pk", flat=True)[: cap + 1])
        complete = complete and len(found) <= cap
        ids.update(found)
    if complete and len(ids) <= cap:
        return ids, True
    return list(queryset.filter(pk__ids=ids).values_list("pk", flat=True)[:cap]), False


def in_one_query(queryset, fields):
    """Whether prefix_matching_ids() reads the ids in one query, in the queryset's order: where
    a UNION's parts may have their own ORDER BY and LIMIT (MariaDB)."""
    return (
        len(fields) > 1
        and connections[queryset.db].features.supports_slicing_ordering_in_compound
        and all(isinstance(name, str) for name in _order_of(queryset))
    )


def _order_of(queryset):
    return list(queryset.query.order_by or queryset.model._meta.ordering)


def _per_field(queryset, fields, words):
    """A queryset per field: the rows where the first word starts that field, in its index's
    order, narrowed to those where each further word starts one of the fields."""
    first, *others = words
    narrowed = queryset
    for word in others:
        narrowed = narrowed.filter(Q.create([(f"{field}__istartswith", word) for field in fields], connector=Q.OR))
    return [narrowed.filter(**{f"{field}__istartswith": first}).order_by(field) for field in fields]


def _first_in_order_together(queryset, fields, words, cap, kept_as):
    """prefix_matching_ids() in one query: the first cap + 1 of each field's range scan, each
    row once, put in the list's order by the UNION. cap + 1 rows in all means more match (a
    field found more than cap, or the fields together did), however many each field found."""
    order = _order_of(queryset)
    names = [name.lstrip("-") for name in order]
    columns = ["pk"] + [name for name in names if name != "pk"]

    def union_of(*words):
        first, *others = (matching.values_list(*columns)[: cap + 1] for matching in _per_field(queryset, fields, words))
        try:
            return first.union(*others).order_by(*order, "pk")[: cap + 1].query.sql_with_params()
        except EmptyResultSet:  # a scope or filter that matches nothing
            return None

    statement = union_of(*words) if kept_as is None else kept_sql((*kept_as, "ids", cap), union_of, tuple(words))
    if statement is None:
        return [], True
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(*statement)
        ids = [row[0] for row in cursor.fetchall()]
    return ids[:cap], len(ids) <= cap


class TwoPrefixSearch:
    """For a ModelAdmin whose search_fields are all "^column" prefixes of indexed columns; with
    ScopedAdmin, whose kept_list_keys() gives the key the search's statement is kept under."""

    def get_search_results(self, request, queryset, search_term):
        terms = prefix_search(self, request, search_term)
        if terms is None:
            return super().get_search_results(request, queryset, search_term)
        fields, words = terms
        # The list reads its page from these ids: the paginator's cap keeps them few.
        cap = admin_pagination.CAP
        shape = ("two prefixes", fields, len(words))
        kept_as = self.kept_list_keys(request, shape)[1]
        ids, complete = prefix_matching_ids(queryset, fields, words, cap, kept_as=kept_as)
        # For the paginator (ScopedAdmin.get_paginator): the count is known, no COUNT needed.
        request.admin_search_count = len(ids) if complete else MoreThan(cap)
        if not complete:
            self.message_user(
                request,
                f"More than {cap} {self.opts.verbose_name_plural} match; {cap} of them are listed. "
                "Type more of the address to see every match.",
                messages.WARNING,
            )
        result = queryset.filter(pk__ids=ids)
        request.admin_prefix_search = PickedIds(queryset, list(ids), in_one_query(queryset, fields), shape, result)
        return result, False
