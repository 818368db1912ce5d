"""MariaDB triggers that keep the panel's figures (users.tallies) through changes and deletes
made behind its back.

The panel notices rows added behind its back by their ids, but a change or a delete leaves no
trace there: a password set by Roundcube's password plugin (`UPDATE virtual_users SET
password=…`) moved a mailbox to another scheme without the dashboard's inventory knowing, and a
row deleted with the mysql client stayed counted until `manage.py recount` (3.3 s at a million
mailboxes). These triggers apply such a write's difference to the kept rows, in the writer's
own transaction, as the write API does for the panel's writes.

The panel's own connections say who they are (`SET @mailadmin_keeps_tallies = 1`, in the
connection's init_command, mailadmin/settings.py): for them the triggers do nothing, the write
API has already counted. A row with an id above the remembered highest one was never counted:
the triggers leave it to the count again that its id starts.

Every trigger takes the all-domains row first, as the write API does (users.tallies), so a
write behind the panel's back and one of the panel's wait for each other instead of deadlocking.
A domain's deletion cascades to its mailboxes and aliases without firing their triggers
(InnoDB's cascades never do): the domain's trigger takes its whole kept rows out.

MariaDB only: SQLite has no session variables to tell the panel's writes from others.
"""

MARKER = "@mailadmin_keeps_tallies"
ALL_DOMAINS = 0
SCHEME_LENGTH = 40  # mailadmin_scheme_count.scheme


def scheme_key(password):
    """users.hash_inventory.scheme_key() in SQL, for a password column of NEW or OLD."""
    end = f"LOCATE('}}', {password})"
    key = f"IF(LEFT({password}, 1) = '{{', IF({end} > 0, UPPER(SUBSTRING({password}, 2, {end} - 2)), 'malformed'), 'none')"
    return f"LEFT({key}, {SCHEME_LENGTH})"


def _counted(table, row_id):
    """Was the row counted: the panel's, or at most the highest id it has counted?"""
    return (
        f"{MARKER} IS NULL AND {row_id} <= "
        f"(SELECT max_id FROM mailadmin_tally_watermark WHERE `table` = '{table}')"
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


def _trigger(event, table, condition, statements):
    return table, f"AFTER {event} ON {table} FOR EACH ROW BEGIN {_when(condition, statements)}; END"


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
    "virtual_users_tally_update": _trigger(
        "UPDATE", "virtual_users",
        f"{_counted('virtual_users', 'OLD.id')} AND "
        f"(NOT (NEW.domain_id <=> OLD.domain_id) OR BINARY {OLD_SCHEME} <> BINARY {NEW_SCHEME})",
        [LOCK_ALL_DOMAINS,
         _add("OLD.domain_id", "mailboxes", -1), _add_scheme("OLD.domain_id", OLD_SCHEME, -1),
         _add("NEW.domain_id", "mailboxes", 1), _add_scheme("NEW.domain_id", NEW_SCHEME, 1)],
    ),
    "virtual_users_tally_delete": _trigger(
        "DELETE", "virtual_users", _counted("virtual_users", "OLD.id"),
        [LOCK_ALL_DOMAINS, _add("OLD.domain_id", "mailboxes", -1), _add_scheme("OLD.domain_id", OLD_SCHEME, -1)],
    ),
    "virtual_aliases_tally_update": _trigger(
        "UPDATE", "virtual_aliases",
        f"{_counted('virtual_aliases', 'OLD.id')} AND NOT (NEW.domain_id <=> OLD.domain_id)",
        [LOCK_ALL_DOMAINS, _add("OLD.domain_id", "aliases", -1), _add("NEW.domain_id", "aliases", 1)],
    ),
    "virtual_aliases_tally_delete": _trigger(
        "DELETE", "virtual_aliases", _counted("virtual_aliases", "OLD.id"),
        [LOCK_ALL_DOMAINS, _add("OLD.domain_id", "aliases", -1)],
    ),
    "virtual_domains_tally_delete": _trigger(
        "DELETE", "virtual_domains", _counted("virtual_domains", "OLD.id"),
        [LOCK_ALL_DOMAINS, *_domain_rows_removed()],
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
