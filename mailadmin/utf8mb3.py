"""Lookups on the guide's utf8mb3 columns that a 4-byte character cannot break.

The guide creates virtual_domains, virtual_users and virtual_aliases with `CHARSET=utf8`, which
MariaDB reads as utf8mb3: three bytes per character at most, so nothing outside Unicode's Basic
Multilingual Plane (emoji, mathematical letters) can be stored there. The panel's connection is
utf8mb4, and MariaDB refuses to compare such a value with the column at all ("Illegal mix of
collations", error 1267) instead of finding no row. A search box, a URL part or a form's choice
would turn that into a 500.

`guard(Model, "field", ...)` gives those fields lookups that know the answer without asking:
a value with a 4-byte character matches no row (and `exclude()` keeps every row), on MariaDB;
other databases compare as usual.
"""

from django.core.exceptions import EmptyResultSet
from django.db.models import lookups

BMP_MAX = 0xFFFF


def fits(text):
    """True when every character of `text` can be stored in a utf8mb3 column."""
    return all(ord(char) <= BMP_MAX for char in text)


def _unstorable(value):
    return isinstance(value, str) and not fits(value)


class _NoMatchForUnstorable:
    def as_sql(self, compiler, connection):
        if connection.vendor == "mysql" and _unstorable(self.rhs):
            raise EmptyResultSet
        return super().as_sql(compiler, connection)


class _InWithoutUnstorable(lookups.In):
    def as_sql(self, compiler, connection):
        if connection.vendor == "mysql" and isinstance(self.rhs, (list, tuple, set, frozenset)):
            storable = [value for value in self.rhs if not _unstorable(value)]
            if len(storable) != len(self.rhs):
                if not storable:
                    raise EmptyResultSet
                self.rhs = storable
        return super().as_sql(compiler, connection)


_GUARDED = [
    lookups.Exact, lookups.IExact, lookups.Contains, lookups.IContains, lookups.StartsWith,
    lookups.IStartsWith, lookups.EndsWith, lookups.IEndsWith, lookups.GreaterThan,
    lookups.GreaterThanOrEqual, lookups.LessThan, lookups.LessThanOrEqual,
]
LOOKUPS = [type(f"Utf8mb3{base.__name__}", (_NoMatchForUnstorable, base), {}) for base in _GUARDED]
LOOKUPS.append(_InWithoutUnstorable)


def guard(model, *field_names):
    """Register the guarded lookups on these fields of `model` (their columns are utf8mb3)."""
    for name in field_names:
        field = model._meta.get_field(name)
        for lookup in LOOKUPS:
            field.register_lookup(lookup)
