"""System checks (`manage.py check`): settings that cannot work fail here, with a one-line reason,
instead of on a request. Registered with @register; wired by this app's AppConfig.ready()."""

import re

from django.conf import settings
from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection

from aliases import sender_login as rules
from aliases import sender_rights
from aliases.guides import GUIDES
from aliases.models import Alias
from users.models import Domain, Mailbox

# A key no table holds; the query is only explained, never run, with it.
_PROBE_KEY = "postmaster@example.invalid"


def _first_word(sql):
    """The first keyword of `sql`, after blanks, comments and opening parentheses."""
    text = re.sub(r"/\*.*?\*/|--[^\n]*|#[^\n]*", " ", sql, flags=re.DOTALL)
    match = re.match(r"[\s(]*([A-Za-z]+)", text)
    return match.group(1).upper() if match else ""


def _mail_tables_exist():
    """Whether the tables the query reads exist yet (not before the first `migrate`)."""
    try:
        with connection.cursor() as cursor:
            existing = set(connection.introspection.table_names(cursor))
    except DatabaseError:
        return False
    return {model._meta.db_table for model in (Alias, Domain, Mailbox)} <= existing


def _explain(query):
    """The database's error for the query, or '' (EXPLAIN plans it without reading a row)."""
    params = query.params_for(_PROBE_KEY) or ()
    explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    try:
        with connection.cursor() as cursor:
            cursor.execute(explain + query.sql, params)
            cursor.fetchall()
    except DatabaseError as error:
        return " ".join(str(error).split())
    return ""


@register()
def check_sender_login_query(app_configs=None, **kwargs):
    value = settings.MAILADMIN_SENDER_LOGIN_QUERY.strip()
    text = rules.QUERIES.get(value, value)
    if not text:
        return [Error("MAILADMIN_SENDER_LOGIN_QUERY is empty: use own, aliases, or your .cf query.", id="aliases.E001")]
    try:
        query = rules.sql_for(text)
    except ValueError as error:
        return [Error(f"MAILADMIN_SENDER_LOGIN_QUERY cannot be expanded as Postfix does: {error}", id="aliases.E002")]
    if _first_word(text) not in ("SELECT", "WITH"):
        return [
            Error(
                f"MAILADMIN_SENDER_LOGIN_QUERY must be a SELECT, as in Postfix's mysql .cf files; it starts with "
                f"{_first_word(text) or 'nothing'!r}.",
                id="aliases.E003",
            )
        ]
    if _outside_strings_has_semicolon(text):
        return [Error("MAILADMIN_SENDER_LOGIN_QUERY must be one statement: it holds a ';'.", id="aliases.E003")]
    if value not in rules.QUERIES and _mail_tables_exist():
        problem = _explain(query)
        if problem:
            return [Error(f"MAILADMIN_SENDER_LOGIN_QUERY fails on the database: {problem}", id="aliases.E004")]
    return []


def _outside_strings_has_semicolon(sql):
    return ";" in re.sub(r"'(?:[^'\\]|\\.|'')*'", "''", sql.rstrip().rstrip(";"))


def delimiter_problem(delimiter):
    """Why Postfix would not read `delimiter` as the same set of delimiter characters, or ''.

    Since Postfix 2.11 recipient_delimiter is a set: each character is a delimiter on its own,
    and the local part is cut at the first one (split_addr.c, strcspn). So the set must hold
    only characters that are one byte each and that main.cf keeps as written.
    """
    for ch in delimiter:
        if ch.isspace():
            return "white space: main.cf trims it, and no unquoted local part holds it"
        if ch == "$":
            return "'$': main.cf expands it as a parameter reference"
        if ch == "@":
            return "'@': it separates the local part from the domain, never an extension"
        if ord(ch) < 32 or ord(ch) == 127:
            return f"the control character {ch!r}"
        if ord(ch) > 127:
            return f"{ch!r}: Postfix compares bytes, so each byte of it would be a delimiter of its own"
    return ""


@register()
def check_recipient_delimiter(app_configs=None, **kwargs):
    problem = delimiter_problem(settings.MAILADMIN_RECIPIENT_DELIMITER)
    if problem:
        return [
            Error(
                f"MAILADMIN_RECIPIENT_DELIMITER {settings.MAILADMIN_RECIPIENT_DELIMITER!r} is not a set of "
                f"delimiter characters Postfix can use: {problem}.",
                id="aliases.E005",
            )
        ]
    return []


@register()
def check_myorigin(app_configs=None, **kwargs):
    try:
        sender_rights.myorigin()
    except ImproperlyConfigured as error:
        return [Error(str(error), id="aliases.E006")]
    return []


@register()
def check_guide_edition(app_configs=None, **kwargs):
    """MAILADMIN_GUIDE names an edition the server configuration can be written for."""
    if settings.MAILADMIN_GUIDE in GUIDES:
        return []
    return [
        Error(
            f"MAILADMIN_GUIDE={settings.MAILADMIN_GUIDE!r} is not an edition of the ISPmail guide: use one of "
            f"{', '.join(GUIDES)} (Debian 12 or Debian 13).",
            id="aliases.E007",
        )
    ]
