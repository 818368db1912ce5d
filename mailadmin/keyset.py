"""Pages addressed by the key of the row they start after or end before ("seek" paging).

`?page=N` needs OFFSET, which reads every row before the page: a middle page of 2,000,000 alias
rows read a million index entries. A page here is "the next per_page rows after this key" (or
before it), which an index on the key columns reads as one range scan of per_page + 1 entries
wherever the page is. Rows added or removed elsewhere never shift a page.

Links are First · Previous · Next · Last. Old `?page=N` links still work: a small N is read with a
bounded OFFSET (at most PAGE_NUMBERS_READ pages deep), a larger one — or `page=last` — is the
last page, as Django's paginator answered an out-of-range number.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone

from django.core.exceptions import EmptyResultSet
from django.db import connection, connections
from django.db.models import Q
from django.db.models.query import FlatValuesListIterable, ModelIterable, RawQuerySet, ValuesListIterable
from django.utils.http import urlencode

from mailadmin import instances, kept_statements, utf8mb3

PAGE_NUMBERS_READ = 10


@dataclass(frozen=True)
class Ordering:
    """An ORDER BY whose last column is unique, as ORM names ("-quota", "email")."""

    columns: tuple

    def names(self, forward=True):
        return [name if forward else _flipped(name) for name in self.columns]

    def beyond(self, key, forward=True):
        """Q for the rows after `key` (a value per column) in this order, or before it when not
        forward: (a > x) OR (a = x AND b > y) …, each comparison in its column's direction."""
        def step(name, value):
            later = "lt" if name.startswith("-") == forward else "gt"
            return Q(**{f"{name.lstrip('-')}__{later}": value})

        *leading, last = self.columns
        condition = step(last, key[-1])
        for depth in range(len(leading) - 1, -1, -1):
            name = leading[depth]
            condition = step(name, key[depth]) | (Q(**{name.lstrip("-"): key[depth]}) & condition)
        return condition


def _flipped(name):
    return name[1:] if name.startswith("-") else f"-{name}"


@dataclass
class Page:
    """One page of rows and the queries of the pages around it."""

    rows: list
    has_previous: bool
    has_next: bool
    first_key: str = ""
    last_key: str = ""
    base_query: str = ""
    total: object = None  # a Total, or None when the list shows none
    # What tells a template this page from a numbered one (a Django Page has its paginator);
    # a name a template looks up and does not find costs Django's language a dir() of the object.
    paginator = None

    def __iter__(self):
        return iter(self.rows)

    def __len__(self):
        return len(self.rows)

    @property
    def has_other_pages(self):
        return self.has_previous or self.has_next

    def _href(self, **param):
        joined = "&".join(part for part in (self.base_query, urlencode(param) if param else "") if part)
        return f"?{joined}"

    @property
    def first_href(self):
        return self._href()

    @property
    def previous_href(self):
        return self._href(before=self.first_key)

    @property
    def next_href(self):
        return self._href(after=self.last_key)

    @property
    def last_href(self):
        return self._href(page="last")


@dataclass(frozen=True)
class Total:
    """How many rows a list has: exact, or at least `count` when counting stopped at a cap."""

    count: int
    capped: bool = False

    @classmethod
    def of(cls, found, cap):
        """The Total of `found` rows counted up to cap + 1: beyond `cap`, "more than `cap`"."""
        return cls(min(found, cap), capped=found > cap)


class Seek:
    """Reads a list in key order. Subclasses give `read(key, forward, limit, offset)`: up to
    `limit` rows strictly beyond `key` (all rows when None), in the list's order or its reverse,
    after skipping `offset`; and `key_of(row)` / `parse(text)` for the key's URL form."""

    def read(self, key, forward, limit, offset=0):
        raise NotImplementedError

    def key_of(self, row):
        raise NotImplementedError

    def parse(self, text):
        """The key a URL names, or None when the text names none."""
        raise NotImplementedError


def page_of(seek, params, per_page, base_query=""):
    """The page `params` (request.GET) asks for: after=KEY, before=KEY, page=N, page=last, or the first."""
    after, before = params.get("after"), params.get("before")
    number = _page_number(params.get("page", ""))
    if after and (key := seek.parse(after)) is not None:
        rows = seek.read(key, True, per_page + 1)
        page = _page(rows[:per_page], has_previous=True, has_next=len(rows) > per_page)
    elif before and (key := seek.parse(before)) is not None:
        rows = seek.read(key, False, per_page + 1)
        if len(rows) <= per_page:  # nothing before these: the first page, filled
            page = _first(seek, per_page)
        else:
            page = _page(rows[:per_page][::-1], has_previous=True, has_next=True)
    elif number == "last":
        rows = seek.read(None, False, per_page + 1)
        page = _page(rows[:per_page][::-1], has_previous=len(rows) > per_page, has_next=False)
    elif number > 1:
        rows = seek.read(None, True, per_page + 1, offset=(number - 1) * per_page)
        if not rows:  # past the end of a short list: its last page
            rows = seek.read(None, False, per_page + 1)
            page = _page(rows[:per_page][::-1], has_previous=len(rows) > per_page, has_next=False)
        else:
            page = _page(rows[:per_page], has_previous=True, has_next=len(rows) > per_page)
    else:
        page = _first(seek, per_page)
    if page.rows:
        page.first_key, page.last_key = seek.key_of(page.rows[0]), seek.key_of(page.rows[-1])
    page.base_query = base_query
    return page


def _page_number(text):
    """1 … PAGE_NUMBERS_READ, or "last" for `last` and any larger number (however many digits:
    int() of thousands of digits is refused by Python), or 1 for anything else."""
    if text == "last":
        return "last"
    if not (text.isascii() and text.isdecimal()):
        return 1
    if len(text) > 6 or int(text) > PAGE_NUMBERS_READ:
        return "last"
    return max(int(text), 1)


def _first(seek, per_page):
    rows = seek.read(None, True, per_page + 1)
    return _page(rows[:per_page], has_previous=False, has_next=len(rows) > per_page)


def _page(rows, **flags):
    return Page(rows=list(rows), **flags)


class QuerySetSeek(Seek):
    """Seek over a queryset ordered by `ordering`; `key_of`/`parse` map a row to its key values
    and back (the URL carries the text form).

    `kept_as`: the statements of its pages (the first, the last, those after or before a key)
    are built once for that key and kept (kept_rows), for a queryset of model instances or flat
    values whose SQL and parameters are the same whenever the key is. Building one cost a
    mailbox list 0.24 of the 0.7 ms its rows took in Python."""

    def __init__(self, queryset, ordering, key_of, to_text, parse, kept_as=None, narrowed=None):
        """`narrowed`: (narrow, values), the rows are narrow(queryset, *values) (a search by
        its text), with places for the values in the kept statements."""
        self.queryset, self.ordering = queryset, ordering
        self._key_of, self._to_text, self._parse = key_of, to_text, parse
        self.kept_as = kept_as if queryset._iterable_class in (ModelIterable, FlatValuesListIterable) else None
        self._narrow, self._narrowing = narrowed or (None, ())

    def _rows(self, narrowing):
        return self.queryset if self._narrow is None else self._narrow(self.queryset, *narrowing)

    def read(self, key, forward, limit, offset=0):
        if self.kept_as is not None and not offset:
            return self._kept_read(key, forward, limit)
        rows = self._rows(self._narrowing).order_by(*self.ordering.names(forward))
        if key is not None:
            rows = rows.filter(self.ordering.beyond(key, forward))
        return list(rows[offset : offset + limit])

    def _kept_read(self, key, forward, limit):
        narrowed_by = len(self._narrowing)

        def rows(*values):
            key = values[narrowed_by:]
            ordered = self._rows(values[:narrowed_by]).order_by(*self.ordering.names(forward))
            return (ordered.filter(self.ordering.beyond(key, forward)) if key else ordered)[:limit]

        values = (*self._narrowing, *(key or ()))
        return kept_rows((*self.kept_as, forward, limit, key is None), rows, values=values)

    def key_of(self, row):
        return self._to_text(self._key_of(row))

    def parse(self, text):
        return self._parse(text)


def kept_rows(kept_as, make_queryset, values=()):
    """The model instances, the tuples of a values_list(name, …) or the values of a
    values_list(name, flat=True) that make_queryset(*values) reads, with its statement built at
    the first call with this key and kept (mailadmin.kept_statements): the queryset's SQL must be
    the same whenever the key is, and so must its parameters but for those `values` give (a
    page's key, which differs from page to page). The statement is built with stand-ins for
    `values`, which each call replaces with its own; each call reads the rows afresh, and makes
    its instances as mailadmin.instances does."""
    if not all(map(_has_stand_in, values)):
        return list(make_queryset(*values))

    def build():
        stand_ins = _stand_ins(values)
        return _rows_statement(make_queryset(*stand_ins), stand_ins)

    statement = kept_statements.kept(kept_as, build)
    if statement is None:
        return []
    read, sql, params, model, using, converters, names = statement
    if read == "through the ORM":  # stand-ins the ORM did not pass on, or rows it reads itself
        return list(make_queryset(*values))
    if values:
        params = _filled(params, values, using)
    if read == "instances" and (names is None or instances.initialised_with_signals(model)):
        return list(RawQuerySet(sql, model=model, params=params, using=using))
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if converters:
        rows = instances.converted(rows, converters, connection)
    if read == "instances":
        return instances.make(model, using, names, rows)
    return [row[0] for row in rows] if read == "values" else [tuple(row) for row in rows]


def _instance_names(compiler, model):
    """The attribute each selected column becomes on an instance (its field's attname, or its
    annotation's name), when setting them in the instance's __dict__ is what Django does to make
    it; otherwise None."""
    klass_info = compiler.klass_info
    if klass_info is None or klass_info["model"] is not model:
        return None
    names = [None] * compiler.col_count
    for position in klass_info["select_fields"]:
        names[position] = compiler.select[position][0].target.attname
    for name, position in compiler.annotation_col_map.items():
        names[position] = name
    return names if instances.made_plainly(model, names) else None


@dataclass(frozen=True)
class _Slot:
    """Where the statement's parameters take the value at `index` of kept_rows()'s `values`:
    as it is, or (`prefix`) as the pattern of a prefix, escaped as the ORM escapes it."""

    index: int
    prefix: bool = False

    def fill(self, values, using):
        if self.prefix:
            return connections[using].ops.prep_for_like_query(values[self.index]) + "%"
        return _as_parameter(values[self.index], using)


def _as_parameter(value, using):
    """`value` as the ORM passes it to the database: a moment as the backend writes a
    DateTimeField's value (in UTC, as text), text and numbers as they are."""
    if type(value) is datetime:
        return connections[using].ops.adapt_datetimefield_value(value)
    return value


def _has_stand_in(value):
    """Whether `value` can take a stand-in's place: text (that the guide's utf8mb3 columns can
    hold; for other text the ORM's lookups answer, mailadmin.utf8mb3), a whole number or a
    moment with its time zone."""
    if type(value) is str:
        return utf8mb3.fits(value)
    return type(value) is int or (type(value) is datetime and value.tzinfo is not None)


def _stand_ins(values):
    """A value of the same type for each of `values` (all _has_stand_in) that no page's key will hold."""
    stand_ins = []
    for index, value in enumerate(values):
        if type(value) is str:
            stand_ins.append(f"\x00kept key {index}\x00")
        elif type(value) is int:
            stand_ins.append(_FIRST_STAND_IN + index)
        else:
            stand_ins.append(_STAND_IN_MOMENT + timedelta(microseconds=index))
    return tuple(stand_ins)


# Positive and within a 32-bit column's range: the ORM finds no row for a value out of a field's
# range (or below a positive field's) without building the statement.
_FIRST_STAND_IN = 2_071_330_117
_STAND_IN_MOMENT = datetime(1901, 2, 3, 4, 5, 6, 789_000, tzinfo=dt_timezone.utc)
_STAND_IN_DAY = "1901-02-03"


def capped_count(queryset, cap, kept_as=None, in_order=()):
    """Total of a queryset, counting at most cap + 1 rows: SELECT COUNT(*) FROM (… LIMIT cap+1).

    `in_order`: the columns of an index the rows are read in. MariaDB reads a DISTINCT in the
    index's order without the temporary table it otherwise fills (the alias list's distinct
    addresses: 0.53 → 0.25 ms at 2,000,000 aliases).
    With `kept_as`, the statement is built once for that key and kept (mailadmin.kept_statements):
    the queryset's SQL and parameters must be the same whenever the key is."""
    capped = queryset.order_by(*in_order)[: cap + 1]
    found = capped.count() if kept_as is None else kept_count(capped, (kept_as, cap))
    return Total.of(found, cap)


def kept_count(queryset, kept_as):
    """queryset.count(), with its statement built once for the key `kept_as` and kept
    (mailadmin.kept_statements): the queryset's SQL and parameters must be the same whenever
    the key is."""
    statement = kept_statements.kept(kept_as, lambda: _count_statement(queryset))
    return 0 if statement is None else _one_value(statement)


def _rows_statement(queryset, stand_ins=()):
    reads = {ModelIterable: "instances", ValuesListIterable: "tuples", FlatValuesListIterable: "values"}
    read = reads.get(queryset._iterable_class)
    if read is None:
        raise TypeError("kept_rows() reads model instances, values_list(name, …) or values_list(name, flat=True)")
    compiler = queryset.query.get_compiler(queryset.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        # A scope or filter that matches nothing; with stand-ins, the real values may match.
        return ("through the ORM", None, None, None, None, None, None) if stand_ins else None
    columns = [column for column, _sql, _alias in compiler.select[: compiler.col_count]]
    converters = tuple(compiler.get_converters(columns).items())
    names = None
    if compiler.has_extra_select or compiler.has_composite_fields(columns):
        read = "through the ORM"  # columns the ORM reads and then drops, or puts together
    elif read == "instances":
        if queryset.query.select_related or queryset._prefetch_related_lookups or queryset._known_related_objects:
            read = "through the ORM"  # related rows a raw query would leave to a query each
        else:
            names = _instance_names(compiler, queryset.model)
    if stand_ins:
        slotted = _slotted(params, stand_ins, queryset.db)
        if slotted is None:
            read = "through the ORM"  # a value did not reach the parameters as it was given
        params = slotted
    return read, sql, params, queryset.model, queryset.db, converters, names


def _slotted(params, stand_ins, using):
    """The parameters with a _Slot where each stand-in reached them, as itself or (text) as the
    pattern of a prefix (LIKE 'text%', the ORM's startswith and istartswith); None when one
    did not reach them."""
    slots = {}
    for index, stand_in in enumerate(stand_ins):
        parameter = _as_parameter(stand_in, using)
        slots[type(parameter), parameter] = _Slot(index)
        if type(stand_in) is str:  # nothing in a stand-in needs escaping in a pattern
            slots[str, stand_in + "%"] = _Slot(index, prefix=True)
    params = tuple(slots.get((type(param), param), param) if _hashable(param) else param for param in params)
    if {slot.index for slot in params if type(slot) is _Slot} != set(range(len(stand_ins))):
        return None
    if any(type(param) is not _Slot and _holds_stand_in(param) for param in params):
        return None  # a value that reached the parameters changed as well as as it was given
    return params


def _holds_stand_in(param):
    """Whether a parameter holds a stand-in the ORM changed on its way (a pattern of another
    kind, a part of a moment): the statement would run with the stand-in instead of the value."""
    if isinstance(param, str):
        return "\x00kept key " in param or param.startswith(_STAND_IN_DAY)
    if isinstance(param, int):
        return _FIRST_STAND_IN <= param < _FIRST_STAND_IN + 1000
    return isinstance(param, (date, datetime)) and param.year == _STAND_IN_MOMENT.year


def _filled(params, values, using):
    return tuple(param.fill(values, using) if type(param) is _Slot else param for param in params)


def kept_count_of(kept_as, make_queryset, values=()):
    """make_queryset(*values).count(), with its statement built once for the key `kept_as` with
    stand-ins for `values`, kept, and given `values` at each call (as kept_rows does)."""
    if not all(map(_has_stand_in, values)):
        return make_queryset(*values).count()

    def build():
        stand_ins = _stand_ins(values)
        statement = _count_statement(make_queryset(*stand_ins))
        if statement is None:
            return "through the ORM"  # matches nothing with stand-ins: maybe not with the values
        params = _slotted(statement[1], stand_ins, connection.alias)
        return "through the ORM" if params is None else (statement[0], params)

    statement = kept_statements.kept(kept_as, build)
    if statement == "through the ORM":
        return make_queryset(*values).count()
    return _one_value((statement[0], _filled(statement[1], values, connection.alias)))


def kept_sql(kept_as, build, values):
    """build(*values) -> (sql, params) or None, built once for the key `kept_as` with stand-ins
    for `values` and kept: (sql, params) with `values` in their places. `build` must give the
    same statement whenever the key is, and its parameters but for those `values` give."""
    if not all(map(_has_stand_in, values)):
        return build(*values)

    def build_kept():
        stand_ins = _stand_ins(values)
        statement = build(*stand_ins)
        if statement is None:
            return "built each time"
        params = _slotted(statement[1], stand_ins, connection.alias)
        return "built each time" if params is None else (statement[0], params)

    statement = kept_statements.kept(kept_as, build_kept)
    if statement == "built each time":
        return build(*values)
    return statement[0], _filled(statement[1], values, connection.alias)


def _hashable(value):
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _count_statement(queryset):
    query = queryset.query
    if queryset._iterable_class is ModelIterable and not (
        query.distinct or query.combinator or query.group_by or query.annotations
    ):
        # The rows' primary keys alone, as Django's count() selects them: an index answers, and
        # the rows themselves are not read (the audit log's 1,001 newest entries, their changes).
        queryset = queryset.values("pk")
    statement = sql_of(queryset)
    if statement is None:
        return None
    sql, params = statement
    return f"SELECT COUNT(*) FROM ({sql}) counted", params


def sql_of(queryset):
    """(sql, params) of a queryset, or None for one that matches nothing (a scope or a filter)."""
    try:
        return queryset.query.sql_with_params()
    except EmptyResultSet:
        return None


def _one_value(statement):
    with connection.cursor() as cursor:
        cursor.execute(*statement)
        return cursor.fetchone()[0]
