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

from django.contrib import messages
from django.db import connections
from django.db.models import Q
from django.utils.text import smart_split, unescape_string_literal

from mailadmin import admin_pagination
from mailadmin.admin_pagination import MoreThan


def search_words(search_term):
    """The words of a search as Django's admin splits them: quotes keep a phrase together."""
    words = []
    for bit in smart_split(search_term or ""):
        if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
            bit = unescape_string_literal(bit)
        if bit:
            words.append(bit)
    return words


def prefix_search_fields(fields):
    """The columns of search_fields that are all "^column" prefixes, or None."""
    fields = [str(field) for field in fields]
    if fields and all(field.startswith("^") for field in fields):
        return tuple(field[1:] for field in fields)
    return None


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

    @classmethod
    def of(cls, queryset, fields, words):
        search = cls(queryset, tuple(fields), tuple(words))
        object.__setattr__(search, "result", search.narrowed(*words))
        return search


def prefix_matching_ids(queryset, fields, words, cap):
    """(ids, complete): rows of `queryset` where every word starts one of `fields`.

    Complete: exactly the rows the admin's OR finds, at most `cap` of them. Otherwise more
    match, and the ids are `cap` of them: the first in the queryset's order among the first
    `cap` + 1 of each field in that field's index order (sorting all the matches of one field
    by another column is what grows with the table).

    The first word is looked up per field, each a range scan of that field's index, read in
    index order; further words only narrow those rows. istartswith, as the admin's "^": MariaDB's
    LIKE with the column's case-insensitive collation uses the index (startswith is LIKE BINARY,
    which does not), and Django escapes % and _ so that they match themselves.
    """
    first, *others = words
    narrowed = queryset
    for word in others:
        narrowed = narrowed.filter(Q.create([(f"{field}__istartswith", word) for field in fields], connector=Q.OR))
    per_field = [narrowed.filter(**{f"{field}__istartswith": first}).order_by(field) for field in fields]
    order = list(queryset.query.order_by or queryset.model._meta.ordering)
    if (
        len(per_field) > 1
        and connections[queryset.db].features.supports_slicing_ordering_in_compound
        and all(isinstance(name, str) for name in order)
    ):
        return _first_in_order_together(per_field, order, cap)
    ids, complete = set(), True
    for matching in per_field:
        found = list(matching.values_list("pk", flat=True)[: cap + 1])
        complete = complete and len(found) <= cap
        ids.update(found)
    if complete and len(ids) <= cap:
        return ids, True
    return list(queryset.filter(pk__ids=ids).values_list("pk", flat=True)[:cap]), False


def _first_in_order_together(per_field, order, cap):
    """prefix_matching_ids() in one query, where a UNION's parts may have their own ORDER BY and
    LIMIT (MariaDB): the first cap + 1 of each field's range scan, each row once, put in the
    list's order by the UNION. cap + 1 rows in all means more match (a field found more than
    cap, or the fields together did), however many each field found."""
    names = [name.lstrip("-") for name in order]
    columns = ["pk"] + [name for name in names if name != "pk"]
    first, *others = (matching.values_list(*columns)[: cap + 1] for matching in per_field)
    rows = list(first.union(*others).order_by(*order, "pk")[: cap + 1])
    return [row[0] for row in rows[:cap]], len(rows) <= cap


class TwoPrefixSearch:
    """For a ModelAdmin whose search_fields are all "^column" prefixes of indexed columns."""

    def get_search_results(self, request, queryset, search_term):
        words = search_words(search_term)
        fields = [str(field) for field in self.get_search_fields(request)]
        # An action applies to everything the search matches ("Select all"), so a POST keeps
        # Django's one condition: it runs once, for a change the person asked for.
        if not words or request.method != "GET" or not all(field.startswith("^") for field in fields):
            return super().get_search_results(request, queryset, search_term)
        # The list reads its page from these ids: the paginator's cap keeps them few.
        cap = admin_pagination.CAP
        ids, complete = prefix_matching_ids(queryset, [field[1:] for field in fields], words, cap)
        # For the paginator (ScopedAdmin.get_paginator): the count is known, no COUNT needed.
        request.admin_search_count = len(ids) if complete else MoreThan(cap)
        if not complete:
            self.message_user(
                request,
                f"More than {cap} {self.opts.verbose_name_plural} match; {cap} of them are listed. "
                "Type more of the address to see every match.",
                messages.WARNING,
            )
        return queryset.filter(pk__ids=ids), False
