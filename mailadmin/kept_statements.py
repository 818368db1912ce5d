"""Statements built once per process and kept: the SQL of ORM queries a page runs on every view
whose text and parameters depend only on whose domains they read (and for some on the one
domain a list is filtered to). Building such a query through the ORM cost more CPU than running
it (the kept totals: 0.3-0.4 ms a query, every list page)."""

from django.db import connection

# By (database, key): a few per staff account.
_statements = {}
KEPT_AT_MOST = 1000


def scope_of(user):
    """What the SQL of a query scoped to `user`'s domains depends on: nothing for all domains; a
    domain admin's id (their grants are read by the statement itself, never written into it)."""
    if user is None or user.is_superuser:
        return "all domains"
    return ("granted", user.pk, user.is_staff)


def kept(key, build):
    """build()'s statement, built at the first call with this key on this database and kept:
    `build` must give the same statement whenever the key is the same."""
    statement = _statements.get((connection.alias, key))
    if statement is None:
        if len(_statements) >= KEPT_AT_MOST:
            _statements.clear()
        statement = _statements[connection.alias, key] = build()
    return statement
