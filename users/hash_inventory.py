"""How the mailboxes' passwords are stored: mailboxes per `{SCHEME}`, counted by the database.

Grouping happens in SQL on the prefix of `password` (one scan, no hash reaches Python), so the
dashboard stays quick at 100,000 mailboxes.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Case, CharField, Count, Value, When
from django.db.models.functions import StrIndex, Substr, Upper

from mailadmin import keyset


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


def some_mailboxes_of_each(mailboxes, keys, shown=SHOWN):
    """{key: up to `shown` of the mailboxes with scheme `key`, by address} for each of `keys`, in
    one query where the database allows it (mailadmin.keyset.read_together). Any `shown` of them,
    read without an order, so that a scheme a handful of a million mailboxes use is a range of
    the password prefix index (users/migrations/0012) rather than a walk of every address."""
    found = keyset.read_together({key: mailboxes_with(mailboxes, key) for key in keys}, shown)
    return {key: sorted(rows, key=lambda mailbox: mailbox.email) for key, rows in found.items()}
