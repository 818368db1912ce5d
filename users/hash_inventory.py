"""How the mailboxes' passwords are stored: mailboxes per `{SCHEME}`, counted by the database.

Grouping happens in SQL on the prefix of `password` (one scan, no hash reaches Python), so the
dashboard stays quick at 100,000 mailboxes.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Case, CharField, Count, Value, When
from django.db.models.functions import StrIndex, Substr, Upper

from mailadmin import instances, kept_statements
from users.models import Mailbox


# A value without a `{SCHEME}` prefix: Dovecot's SQL driver reads it with default_pass_scheme.
NO_PREFIX = "none"
MALFORMED = "malformed"
# Affected mailboxes listed on the dashboard per flagged scheme; the mailbox list has them all.
SHOWN = 10


def scheme_key(password):
    """The key the inventory files a stored password under, as scheme_expression() does in SQL."""
    if not password.startswith("{"):
        return NO_PREFIX
    end = password.find("}")
    if end < 0:
        return MALFORMED
    return password[1:end].upper()


def scheme_expression():
    return Case(
        When(
            password__startswith="{",
            password__contains="}",
            then=Upper(Substr("password", 2, StrIndex("password", Value("}")) - 2)),
        ),
        When(password__startswith="{", then=Value(MALFORMED)),
        default=Value(NO_PREFIX),
        output_field=CharField(),
    )


@dataclass
class SchemeRow:
    key: str  # what the mailbox list's ?scheme= takes
    scheme: str  # the scheme Dovecot applies
    count: int
    weak: bool
    current: bool

    @property
    def flagged(self):
        return self.weak or not self.current

    @property
    def label(self):
        if self.key == NO_PREFIX:
            return f"{self.scheme} (no prefix)"
        if self.key == MALFORMED:
            return "malformed ({ without })"
        return self.scheme


def _is_weak(scheme):
    from users import passwords

    try:
        return bool(passwords.is_weak(scheme))
    except (ValueError, KeyError):  # a scheme the panel does not know is never trusted
        return True


def schemes(mailboxes):
    """One SchemeRow per scheme among `mailboxes`, most used first."""
    counted = (
        mailboxes.order_by()
        .annotate(scheme=scheme_expression())
        .values("scheme")
        .annotate(n=Count("pk"))
    )
    totals = {}
    for row in counted:
        # The database's case-folding may split one scheme into spellings; merge them here.
        key = row["scheme"].upper() if row["scheme"] not in (NO_PREFIX, MALFORMED) else row["scheme"]
        totals[key] = totals.get(key, 0) + row["n"]
    return rows_from_counts(totals)


def rows_from_counts(totals):
    """SchemeRows, most used first, from {scheme key: mailboxes} (kept by users.tallies)."""
    configured = settings.MAILADMIN_PASSWORD_SCHEME
    rows = []
    for key, count in totals.items():
        if key == NO_PREFIX:
            scheme = settings.MAILADMIN_DEFAULT_PASS_SCHEME
        elif key == MALFORMED:
            scheme = "?"
        else:
            scheme = key
        weak = key == MALFORMED or _is_weak(scheme)
        current = key not in (NO_PREFIX, MALFORMED) and scheme == configured
        rows.append(SchemeRow(key=key, scheme=scheme, count=count, weak=weak, current=current))
    return sorted(rows, key=lambda row: (-row.count, row.key))


def mailboxes_with(mailboxes, key):
    """The mailboxes whose password is stored with scheme `key` (as SchemeRow.key gives it)."""
    if key == NO_PREFIX:
        return mailboxes.exclude(password__startswith="{")
    if key == MALFORMED:
        return mailboxes.filter(password__startswith="{").exclude(password__contains="}")
    return mailboxes.filter(password__istartswith="{" + key + "}")


def some_mailboxes_of_each(user, keys, shown=SHOWN):
    """{key: up to `shown` of the mailboxes `user` sees with scheme `key`, by address} for each
    of `keys`. Any `shown` of them, read without an order, so that a scheme a handful of a
    million mailboxes use is a range of the password prefix index (users/migrations/0012)
    rather than a walk of every address. One query where the database allows a LIMIT inside a
    UNION (MariaDB), each part tagged with its key's number; the statement is built once per
    scope and set of keys and kept (mailadmin.kept_statements)."""
    found = {key: [] for key in keys}
    if not keys:
        return found
    statements = kept_statements.kept(
        ("some of each scheme", kept_statements.scope_of(user), tuple(keys), shown),
        lambda: _some_of_each_statements(user, keys, shown),
    )
    for statement in statements:
        for mailbox in instances.raw(Mailbox, *statement):
            found[keys[mailbox.union_part]].append(mailbox)
    return {key: sorted(rows, key=lambda mailbox: mailbox.email) for key, rows in found.items()}


def _some_of_each_statements(user, keys, shown):
    """[(sql, params)]: one UNION ALL of a part per key, or one statement per key where a UNION's
    parts cannot have their own LIMIT (SQLite). Each row says which key's part read it."""
    visible = Mailbox.objects.visible_to(user)
    fields = [field.attname for field in Mailbox._meta.concrete_fields]
    parts = []
    for number, key in enumerate(keys):
        part = mailboxes_with(visible, key).annotate(union_part=Value(number)).values_list(*fields, "union_part")
        try:
            parts.append(part.order_by()[:shown].query.sql_with_params())
        except EmptyResultSet:  # a scope that names nothing
            continue
    if len(parts) < 2 or not connection.features.supports_slicing_ordering_in_compound:
        return parts
    union = " UNION ALL ".join(f"({sql})" for sql, _params in parts)
    return [(union, sum((tuple(params) for _sql, params in parts), ()))]
