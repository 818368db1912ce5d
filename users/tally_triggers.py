"""MariaDB triggers that keep the panel's figures (users.tallies) through other programs' writes.

The panel noticed rows added behind its back by their ids and counted everything again (3.3 s
at a million mailboxes, paid by the next page view), and a change or a delete left no trace at
all: a password set by Roundcube's password plugin (`UPDATE virtual_users SET password=…`)
moved a mailbox to another scheme without the dashboard's inventory knowing, and a row deleted
with the mysql client stayed counted until `manage.py recount`. These triggers apply each such
write to the kept rows, in the writer's own transaction, as the write API does for the panel's.

The panel's own connections say who they are (`SET @mailadmin_keeps_tallies = 1`, in the
connection's init_command, mailadmin/settings.py): for them the triggers do nothing, the write
API counts. A changed or deleted row above the remembered highest id was never counted, and a
new row further up than right after it may have an uncounted one below it: the triggers leave
such rows to the count again their ids start. A new row at or below the remembered id is
counted: a transaction of the panel's that could not see it yet moved the id past it (before
these triggers, such a row was counted by nobody until `manage.py recount`).

Every trigger takes the all-domains row first, as the write API does (users.tallies), so a
write behind the panel's back and one of the panel's wait for each other instead of deadlocking.
A domain's deletion cascades to its mailboxes and aliases without firing their triggers
(InnoDB's cascades never do): the domain's trigger takes its whole kept rows out.

MariaDB only: SQLite has no session variables to tell the panel's writes from others, and
keeps noticing new rows by their ids. Rows restored from a dump before its triggers are made
are counted by nobody: `manage.py recount`.
"""

from users.models import SchemeCount
from users.tallies import ALL_DOMAINS

MARKER = "@mailadmin_keeps_tallies"
SCHEME_LENGTH = SchemeCount._meta.get_field("scheme").max_length


def scheme_key(password):
    """users.hash_inventory.scheme_key() in SQL, for a password column of NEW or OLD."""
    end = f"LOCATE('}}', {password})"
    key = f"IF(LEFT({password}, 1) = '{{', IF({end} > 0, UPPER(SUBSTRING({password}, 2, {end} - 2)), 'malformed'), 'none')"
    return f"LEFT({key}, {SCHEME_LENGTH})"


def _highest_counted(table):
    return f"(SELECT max_id FROM mailadmin_tally_watermark WHERE `table` = '{table}')"


def _was_counted(table):
    """Was the changed or deleted row counted: at most the highest id counted?"""
    return f"OLD.id <= {_highest_counted(table)}"


def _new_and_countable(table):
    """May the new row be counted here? Its id is at most the one right after the highest counted.
    One at or below it was counted by nobody: the write API and the count again count the rows
    they see, and this transaction's rows were not yet there to see, though the remembered id
    may have been moved past them meanwhile. One further up may have an uncounted row below it:
    the count again its id starts counts both."""
    return f"NEW.id <= {_highest_counted(table)} + 1"


def _raise_watermark_past_new(table):
    """Reading the table to ask whether every row below a new one is counted would wait for other
    transactions' new rows while holding the all-domains row: a deadlock with the write API, which
    writes its rows before it takes that row. The id right after the highest counted needs no read."""
    return (
        f"IF NEW.id = {_highest_counted(table)} + 1 THEN "
        f"UPDATE mailadmin_tally_watermark SET max_id = NEW.id WHERE `table` = '{table}'; END IF"
    )


LOCK_ALL_DOMAINS = f"UPDATE mailadmin_domain_count SET mailboxes = mailboxes WHERE domain_id = {ALL_DOMAINS}"
COUNTS = ("domains", "mailboxes", "aliases")


def _add(domain_id, column, delta):
    """Add `delta` to a DomainCount column of a domain and of all domains (a missing row made)."""
    values = ", ".join(str(delta) if name == column else "0" for name in COUNTS)
    return (
        f"INSERT INTO mailadmin_domain_count (domain_id, {', '.join(COUNTS)}) "
        f"VALUES ({domain_id}, {values}), ({ALL_DOMAINS}, {values}) "
        f"ON DUPLICATE KEY UPDATE {column} = {column} + ({delta})"
    )


def _add_scheme(domain_id, scheme, delta):
    return (
        "INSERT INTO mailadmin_scheme_count (domain_id, scheme, mailboxes) "
        f"VALUES ({domain_id}, {scheme}, {delta}), ({ALL_DOMAINS}, {scheme}, {delta}) "
        f"ON DUPLICATE KEY UPDATE mailboxes = mailboxes + ({delta})"
    )


def _when(condition, statements):
    return f"IF {condition} THEN " + " ".join(f"{statement};" for statement in statements) + " END IF"


def _trigger(event, table, counted, statements, changed="TRUE"):
    """The all-domains row is taken before the remembered ids are read: the write API takes it
    before it moves them, so they cannot change under the trigger."""
    return table, (
        f"AFTER {event} ON {table} FOR EACH ROW BEGIN "
        f"IF {MARKER} IS NULL AND {changed} THEN {LOCK_ALL_DOMAINS}; {_when(counted, statements)}; END IF; END"
    )


def _domain_rows_removed():
    """A domain's kept rows taken out of the all-domains rows, then deleted (tallies.domain_removed)."""
    return [
        "UPDATE mailadmin_domain_count AS every JOIN mailadmin_domain_count AS gone ON gone.domain_id = OLD.id "
        "SET every.domains = every.domains - gone.domains, every.mailboxes = every.mailboxes - gone.mailboxes, "
        f"every.aliases = every.aliases - gone.aliases WHERE every.domain_id = {ALL_DOMAINS}",
        "UPDATE mailadmin_scheme_count AS every JOIN mailadmin_scheme_count AS gone "
        "ON gone.domain_id = OLD.id AND gone.scheme = every.scheme "
        f"SET every.mailboxes = every.mailboxes - gone.mailboxes WHERE every.domain_id = {ALL_DOMAINS}",
        "DELETE FROM mailadmin_scheme_count WHERE domain_id = OLD.id",
        "DELETE FROM mailadmin_domain_count WHERE domain_id = OLD.id",
    ]


OLD_SCHEME, NEW_SCHEME = scheme_key("OLD.password"), scheme_key("NEW.password")

# {trigger name: (table, what follows CREATE TRIGGER name)}
TRIGGERS = {
    "virtual_domains_tally_insert": _trigger(
        "INSERT", "virtual_domains", _new_and_countable("virtual_domains"),
        [_add("NEW.id", "domains", 1), _raise_watermark_past_new("virtual_domains")],
    ),
    "virtual_users_tally_insert": _trigger(
        "INSERT", "virtual_users", _new_and_countable("virtual_users"),
        [_add("NEW.domain_id", "mailboxes", 1), _add_scheme("NEW.domain_id", NEW_SCHEME, 1),
         _raise_watermark_past_new("virtual_users")],
    ),
    "virtual_aliases_tally_insert": _trigger(
        "INSERT", "virtual_aliases", _new_and_countable("virtual_aliases"),
        [_add("NEW.domain_id", "aliases", 1), _raise_watermark_past_new("virtual_aliases")],
    ),
    "virtual_users_tally_update": _trigger(
        "UPDATE", "virtual_users", _was_counted("virtual_users"),
        [_add("OLD.domain_id", "mailboxes", -1), _add_scheme("OLD.domain_id", OLD_SCHEME, -1),
         _add("NEW.domain_id", "mailboxes", 1), _add_scheme("NEW.domain_id", NEW_SCHEME, 1)],
        changed=f"(NOT (NEW.domain_id <=> OLD.domain_id) OR BINARY {OLD_SCHEME} <> BINARY {NEW_SCHEME})",
    ),
    "virtual_users_tally_delete": _trigger(
        "DELETE", "virtual_users", _was_counted("virtual_users"),
        [_add("OLD.domain_id", "mailboxes", -1), _add_scheme("OLD.domain_id", OLD_SCHEME, -1)],
    ),
    "virtual_aliases_tally_update": _trigger(
        "UPDATE", "virtual_aliases", _was_counted("virtual_aliases"),
        [_add("OLD.domain_id", "aliases", -1), _add("NEW.domain_id", "aliases", 1)],
        changed="NOT (NEW.domain_id <=> OLD.domain_id)",
    ),
    "virtual_aliases_tally_delete": _trigger(
        "DELETE", "virtual_aliases", _was_counted("virtual_aliases"), [_add("OLD.domain_id", "aliases", -1)],
    ),
    "virtual_domains_tally_delete": _trigger(
        "DELETE", "virtual_domains", _was_counted("virtual_domains"), _domain_rows_removed(),
    ),
}


def create(schema_editor):
    """Make the triggers (again): for migrate, and for `manage.py recount` after a restore."""
    if schema_editor.connection.vendor != "mysql":
        return
    for name, (_table, body) in TRIGGERS.items():
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
        schema_editor.execute(f"CREATE TRIGGER {name} {body}")


def drop(schema_editor):
    if schema_editor.connection.vendor != "mysql":
        return
    for name in TRIGGERS:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


def missing(connection):
    """[(name, table)] of the triggers the database does not have (MariaDB; [] elsewhere)."""
    if connection.vendor != "mysql":
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema = DATABASE()")
        existing = {name for (name,) in cursor.fetchall()}
    return [(name, table) for name, (table, _body) in TRIGGERS.items() if name not in existing]
