"""The guide's tables as the guide creates them, and the checks that let the panel adopt them.

On MariaDB the mail tables are created with the guide's own SQL (utf8mb3, case-insensitive,
ON DELETE CASCADE), so a database the panel starts and one the guide started are the same.
`CREATE TABLE IF NOT EXISTS` leaves an existing installation's tables and rows untouched.
"""

from django.core.management.base import CommandError
from django.db import connection as default_connection
from django.db import models

GUIDE_DDL = {
    "virtual_domains": """
CREATE TABLE IF NOT EXISTS `virtual_domains` (
 `id` int(11) NOT NULL auto_increment,
 `name` varchar(50) NOT NULL,
 PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8""",
    "virtual_users": """
CREATE TABLE IF NOT EXISTS `virtual_users` (
 `id` int(11) NOT NULL auto_increment,
 `domain_id` int(11) NOT NULL,
 `email` varchar(100) NOT NULL,
 `password` varchar(150) NOT NULL,
 `quota` bigint(11) NOT NULL DEFAULT 0,
 PRIMARY KEY (`id`),
 UNIQUE KEY `email` (`email`),
 FOREIGN KEY (domain_id) REFERENCES virtual_domains(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8""",
    "virtual_aliases": """
CREATE TABLE IF NOT EXISTS `virtual_aliases` (
 `id` int(11) NOT NULL auto_increment,
 `domain_id` int(11) NOT NULL,
 `source` varchar(100) NOT NULL,
 `destination` varchar(100) NOT NULL,
 PRIMARY KEY (`id`),
 FOREIGN KEY (domain_id) REFERENCES virtual_domains(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8""",
}


def create_guide_table(schema_editor, model):
    """Create one mail table unless it exists: the guide's SQL on MariaDB, Django's elsewhere."""
    table = model._meta.db_table
    connection = schema_editor.connection
    if connection.vendor == "mysql":
        schema_editor.execute(GUIDE_DDL[table])
    elif table not in connection.introspection.table_names():
        schema_editor.create_model(model)


def _address_domain_index(column, of):
    """SQL for an index on the domain of an alias's `of` address: an invisible generated column
    (SELECT * and an INSERT without a column list do not see it; Postfix's and Dovecot's queries
    name their columns) with the domain id beside it, so "rows of other domains whose address is
    at d.example" is a range of the index.

    The text after the last "@" (NULL without one), cut at 254 characters: no row's value is
    ever too long for the column (an INSERT would fail), and an equality with a domain name (at
    most 253) stays exact."""
    return (
        f"ALTER TABLE virtual_aliases ADD COLUMN IF NOT EXISTS `{column}` varchar(254) AS "
        f"(LEFT(IF(LOCATE('@', `{of}`), SUBSTRING_INDEX(`{of}`, '@', -1), NULL), 254)) VIRTUAL INVISIBLE, "
        f"ADD INDEX IF NOT EXISTS `virtual_aliases_{column}` (`{column}`, `domain_id`)"
    )


# Indexes Django's model state cannot express, made on MariaDB only: name -> (table, the SQL
# that makes it). `manage.py doctor` checks them with the others.
MARIADB_INDEXES = {
    # The `{SCHEME}` prefix of a password (users/migrations/0012_password_scheme_index.py).
    "virtual_users_password_scheme": (
        "virtual_users", "CREATE INDEX virtual_users_password_scheme ON virtual_users (password(20))"),
    # The alias rows a domain's deletion leaves behind (aliases/migrations/0003_address_domain_indexes.py).
    "virtual_aliases_source_domain": ("virtual_aliases", _address_domain_index("source_domain", "source")),
    "virtual_aliases_destination_domain": ("virtual_aliases", _address_domain_index("destination_domain", "destination")),
}


DOMAIN_NAME_KEY = "virtual_domains_name_uniq"


def _unique_keys_on(connection, table, columns):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return [
        name for name, info in constraints.items()
        if info["unique"] and not info["primary_key"] and list(info["columns"]) == columns
    ]  # fmt: skip


def add_domain_name_key(apps, schema_editor):
    """The unique key on virtual_domains.name, once.

    The Trixie guide creates the table with `UNIQUE KEY (name)` (MariaDB names it `name`); a
    second identical index would only slow every insert, so that one is renamed to the name
    the panel's migrations know it by (an instant, metadata-only change; no row is touched)."""
    connection = schema_editor.connection
    model = apps.get_model("users", "Domain")
    existing = _unique_keys_on(connection, model._meta.db_table, ["name"])
    if DOMAIN_NAME_KEY in existing:
        return
    if existing and connection.vendor == "mysql":
        schema_editor.execute(
            f"ALTER TABLE `{model._meta.db_table}` RENAME INDEX `{existing[0]}` TO `{DOMAIN_NAME_KEY}`"
        )
        return
    # Plain SQL: the historical model this runs with does not have the constraint yet, and
    # SQLite's add_constraint() would rebuild the table from it, without the key.
    quote = schema_editor.quote_name
    schema_editor.execute(
        f"CREATE UNIQUE INDEX {quote(DOMAIN_NAME_KEY)} ON {quote(model._meta.db_table)} ({quote('name')})"
    )


def remove_domain_name_key(apps, schema_editor):
    table = apps.get_model("users", "Domain")._meta.db_table
    quote = schema_editor.quote_name
    on_table = f" ON {quote(table)}" if schema_editor.connection.vendor == "mysql" else ""
    schema_editor.execute(f"DROP INDEX {quote(DOMAIN_NAME_KEY)}{on_table}")


def domain_name_constraint():
    return models.UniqueConstraint(fields=("name",), name=DOMAIN_NAME_KEY)


class ExistingRowsConflict(CommandError):
    """Rows of an existing installation that a new unique key cannot accept.

    A CommandError, so `manage.py migrate` prints the message and the fix SQL alone, as one
    error, instead of a traceback through Django's migration executor (--traceback shows it)."""


def find_conflicts(connection=default_connection):
    """Describe each group of existing rows that the panel's unique keys would reject.

    Grouping is done by the database itself, so "duplicate" means exactly what the unique
    index will mean (on MariaDB: case-insensitive, trailing spaces ignored).
    """
    tables = set(connection.introspection.table_names())
    problems = []
    with connection.cursor() as cursor:
        if "virtual_domains" in tables:
            cursor.execute(
                "SELECT MIN(name), COUNT(*) FROM virtual_domains GROUP BY name HAVING COUNT(*) > 1"
            )
            for name, count in cursor.fetchall():
                cursor.execute("SELECT id FROM virtual_domains WHERE name = %s ORDER BY id", [name])
                ids = [row[0] for row in cursor.fetchall()]
                keep, others = ids[0], ids[1:]
                listed = ", ".join(str(i) for i in others)
                problems.append(
                    f"virtual_domains: {count} rows are named '{name}' (ids {', '.join(map(str, ids))}). "
                    f"Keep id {keep}: UPDATE virtual_users SET domain_id={keep} WHERE domain_id IN ({listed}); "
                    f"UPDATE virtual_aliases SET domain_id={keep} WHERE domain_id IN ({listed}); "
                    f"DELETE FROM virtual_domains WHERE id IN ({listed});"
                )
        if "virtual_aliases" in tables:
            cursor.execute(
                "SELECT MIN(source), MIN(destination), COUNT(*) FROM virtual_aliases "
                "GROUP BY source, destination HAVING COUNT(*) > 1"
            )
            for source, destination, count in cursor.fetchall():
                cursor.execute(
                    "SELECT id FROM virtual_aliases WHERE source = %s AND destination = %s ORDER BY id",
                    [source, destination],
                )
                ids = [row[0] for row in cursor.fetchall()]
                listed = ", ".join(str(i) for i in ids[1:])
                problems.append(
                    f"virtual_aliases: {count} rows say '{source}' -> '{destination}' "
                    f"(ids {', '.join(map(str, ids))}). They deliver the same mail twice over; keep one: "
                    f"DELETE FROM virtual_aliases WHERE id IN ({listed});"
                )
    return problems


def check_existing_rows(apps, schema_editor):
    problems = find_conflicts(schema_editor.connection)
    if problems:
        raise ExistingRowsConflict(
            "The existing mail tables hold rows that the panel's unique keys cannot accept. "
            "Nothing has been changed. Fix these rows, then run migrate again:\n  "
            + "\n  ".join(problems)
        )


def quota_column_max(connection=default_connection):
    """The largest quota the live column holds: an old schema's `int(11)` or the guide's bigint."""
    from users.addresses import BIGINT_MAX, INT11_MAX

    if connection.vendor != "mysql":
        return BIGINT_MAX
    cache = connection.__dict__.setdefault("_mailadmin_quota_max", {})
    name = connection.settings_dict["NAME"]
    if name not in cache:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT DATA_TYPE FROM information_schema.COLUMNS "
                "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'virtual_users' AND COLUMN_NAME = 'quota'"
            )
            row = cursor.fetchone()
        cache[name] = INT11_MAX if row and row[0].lower() in ("int", "mediumint") else BIGINT_MAX
    return cache[name]
