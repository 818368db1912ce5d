"""`manage.py migrate` adopts a real installation's tables: no row lost or changed, and the
queries Postfix and Dovecot run answer exactly as before. Runs on MariaDB only, in a scratch
database of its own, through the real `manage.py migrate` in a subprocess.

Both editions of the guide: Bookworm's tables (utf8mb3) on the machine's MariaDB 10.11;
Trixie's (a unique key on virtual_domains.name, the server's default utf8mb4 collation) on
10.11 and on Trixie's MariaDB 11.8, run from the Trixie root on a port of its own; and a
Bookworm database dumped with mariadb-dump and restored onto 11.8, as an upgrade does."""

import os
import subprocess
import sys
from pathlib import Path

import MySQLdb
import pytest
from django.db import connection

from conftest import require_or_skip
from mailadmin.testing import mariadb as private_mariadb
from mailadmin.testing.mariadb import PrivateMariaDB
from mailadmin.testing.trixie import missing_reason, trixie_root

ROOT = Path(__file__).resolve().parents[2]

GUIDE_TABLES = """
CREATE TABLE IF NOT EXISTS `virtual_domains` (
 `id` int(11) NOT NULL auto_increment,
 `name` varchar(50) NOT NULL,
 PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;
CREATE TABLE IF NOT EXISTS `virtual_users` (
 `id` int(11) NOT NULL auto_increment,
 `domain_id` int(11) NOT NULL,
 `email` varchar(100) NOT NULL,
 `password` varchar(150) NOT NULL,
 `quota` {quota_type} NOT NULL DEFAULT 0,
 PRIMARY KEY (`id`),
 UNIQUE KEY `email` (`email`),
 FOREIGN KEY (domain_id) REFERENCES virtual_domains(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8;
CREATE TABLE IF NOT EXISTS `virtual_aliases` (
 `id` int(11) NOT NULL auto_increment,
 `domain_id` int(11) NOT NULL,
 `source` varchar(100) NOT NULL,
 `destination` varchar(100) NOT NULL,
 PRIMARY KEY (`id`),
 FOREIGN KEY (domain_id) REFERENCES virtual_domains(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8;
"""

GUIDE_ROWS = """
INSERT INTO virtual_domains (id, name) VALUES (1, 'example.org'), (2, 'Example.NET'), (5, 'xn--bcher-kva.de');
INSERT INTO virtual_users (id, domain_id, email, password, quota) VALUES
 (1, 1, 'john@example.org', '{BLF-CRYPT}$2y$05$zX6GZ0Of9Eg2T1U8KJ4Qz.kV4yY3cF5e0mCq2YwMZkV7cKrxX0q.u', 0),
 (2, 1, 'jane@example.org', '{SHA512-CRYPT}$6$salt$hashhashhash', 1073741824),
 (3, 2, 'Old.User@Example.NET', '$1$legacy$md5cryptwithoutprefix', 2147483647),
 (7, 5, 'info@xn--bcher-kva.de', '{PLAIN}clear', 500);
INSERT INTO virtual_aliases (id, domain_id, source, destination) VALUES
 (1, 1, 'postmaster@example.org', 'john@example.org'),
 (2, 1, 'sales@example.org', 'john@example.org'),
 (3, 1, 'sales@example.org', 'jane@example.org'),
 (4, 1, '@example.org', 'john@example.org'),
 (9, 2, 'team@example.net', 'someone@elsewhere.example');
"""

# What Postfix and Dovecot ask (ISPMAIL.md), with the keys they would send.
SERVER_QUERIES = [
    ("SELECT 1 FROM virtual_domains WHERE name=%s", ["example.org", "example.net", "xn--bcher-kva.de", "nope.example"]),
    ("SELECT 1 FROM virtual_users WHERE email=%s", ["john@example.org", "old.user@example.net", "nobody@example.org"]),
    ("SELECT destination FROM virtual_aliases WHERE source=%s ORDER BY destination", ["sales@example.org", "@example.org", "team@example.net", "x@example.org"]),
    ("SELECT email FROM virtual_users WHERE email=%s", ["jane@example.org", "info@xn--bcher-kva.de"]),
    ("SELECT password FROM virtual_users WHERE email=%s", ["john@example.org", "old.user@example.net", "info@xn--bcher-kva.de"]),
    ("SELECT email AS user, CONCAT('*:bytes=', quota) AS quota_rule FROM virtual_users WHERE email=%s", ["jane@example.org", "old.user@example.net"]),
    (
        "SELECT email FROM virtual_users WHERE email=%s UNION SELECT destination FROM virtual_aliases WHERE source=%s",
        [("sales@example.org", "sales@example.org"), ("john@example.org", "john@example.org")],
    ),
]


# The Trixie edition's tables (155-database): a unique key on the domain name, and no ENGINE or
# CHARSET, so the server's defaults apply (utf8mb4; on 11.8 utf8mb4_uca1400_ai_ci).
TRIXIE_GUIDE_TABLES = """
CREATE TABLE IF NOT EXISTS `virtual_domains` (
  `id` int(11) NOT NULL auto_increment,
  `name` varchar(50) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY (`name`)
);
CREATE TABLE IF NOT EXISTS `virtual_aliases` (
  `id` int(11) NOT NULL auto_increment,
  `domain_id` int(11) NOT NULL,
  `source` varchar(100) NOT NULL,
  `destination` varchar(100) NOT NULL,
  PRIMARY KEY (`id`),
  FOREIGN KEY (domain_id) REFERENCES virtual_domains(id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS `virtual_users` (
  `id` int(11) NOT NULL auto_increment,
  `domain_id` int(11) NOT NULL,
  `email` varchar(100) NOT NULL,
  `password` varchar(150) NOT NULL,
  `quota` bigint(11) NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  UNIQUE KEY `email` (`email`),
  FOREIGN KEY (domain_id) REFERENCES virtual_domains(id) ON DELETE CASCADE
);
"""


def make_scratch(server, name):
    """A fresh database on `server` (MySQLdb connect arguments); returns what the tests use."""
    admin = MySQLdb.connect(**server, autocommit=True)
    admin.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
    admin.cursor().execute(f"CREATE DATABASE `{name}`")
    admin.close()
    url = f"mysql://{server['user']}:{server['password']}@{server['host']}:{server['port']}/{name}"
    return {"name": name, "url": url, "server": server,
            "connect": lambda: MySQLdb.connect(**server, db=name, autocommit=True)}  # fmt: skip


def drop_scratch(db):
    admin = MySQLdb.connect(**db["server"], autocommit=True)
    admin.cursor().execute(f"DROP DATABASE IF EXISTS `{db['name']}`")
    admin.close()


def machine_server():
    if connection.vendor != "mysql":
        pytest.skip("adoption of the guide's MariaDB tables needs MariaDB (TEST_DATABASE_URL=mysql://...)")
    params = connection.settings_dict
    return dict(
        host=params["HOST"] or "localhost",
        port=int(params["PORT"] or 3306),
        user=params["USER"],
        password=params["PASSWORD"] or "",
    )


@pytest.fixture
def scratch_database(request):
    db = make_scratch(machine_server(), f"{connection.settings_dict['NAME']}_adopt"[:64])
    yield db
    drop_scratch(db)


@pytest.fixture(scope="module")
def mariadb_118():
    """Trixie's MariaDB 11.8, from the Trixie root, on a port, socket and datadir of its own."""
    reason = missing_reason()
    require_or_skip(reason is None, reason or "")
    root = trixie_root()
    missing = private_mariadb.binaries_missing(root)
    require_or_skip(not missing, f"missing {', '.join(missing)} in {root}")
    with PrivateMariaDB(root=root) as server:
        yield server


@pytest.fixture
def scratch_on_118(mariadb_118):
    server = dict(host="127.0.0.1", port=mariadb_118.port, user="root", password="")
    db = make_scratch(server, "mailserver")
    yield db
    drop_scratch(db)


def run_script(db, sql):
    conn = db["connect"]()
    cursor = conn.cursor()
    for statement in filter(str.strip, sql.split(";")):
        cursor.execute(statement)
    conn.close()


def snapshot(db):
    conn = db["connect"]()
    cursor = conn.cursor()
    state = {}
    for table in ("virtual_domains", "virtual_users", "virtual_aliases"):
        cursor.execute(f"SELECT * FROM {table} ORDER BY id")
        state[table] = cursor.fetchall()
    for query, keys in SERVER_QUERIES:
        for key in keys:
            cursor.execute(query, key if isinstance(key, tuple) else [key])
            # SQL gives rows in no set order, and the new unique key does change the order
            # MariaDB returns them in (seen here); Postfix treats the rows as a set.
            state[(query, key)] = sorted(cursor.fetchall())
    conn.close()
    return state


def table_names(db):
    conn = db["connect"]()
    cursor = conn.cursor()
    cursor.execute("SHOW TABLES")
    names = {row[0] for row in cursor.fetchall()}
    conn.close()
    return names


def column_type(db, table, column):
    conn = db["connect"]()
    cursor = conn.cursor()
    cursor.execute(f"SHOW COLUMNS FROM {table} LIKE %s", [column])
    kind = cursor.fetchone()[1]
    conn.close()
    return kind


def migrate(db, *target):
    env = dict(os.environ, DATABASE_URL=db["url"], DJANGO_SETTINGS_MODULE="mailadmin.test_settings")
    env.pop("TEST_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", *target],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.mariadb
@pytest.mark.parametrize("quota_type", ["bigint(11)", "int(11)"])
def test_migrate_adopts_a_guide_database_without_changing_a_row_or_an_answer(scratch_database, quota_type):
    run_script(scratch_database, GUIDE_TABLES.format(quota_type=quota_type) + GUIDE_ROWS)
    before = snapshot(scratch_database)

    result = migrate(scratch_database)

    assert result.returncode == 0, result.stderr
    assert snapshot(scratch_database) == before
    assert column_type(scratch_database, "virtual_users", "quota") == quota_type.replace("(11)", "(11)")
    assert {"auth_user", "django_session", "mailadmin_domain_admin"} <= table_names(scratch_database)


@pytest.mark.mariadb
def test_adopted_tables_gain_the_unique_keys_and_indexes_the_guide_lacks(scratch_database):
    run_script(scratch_database, GUIDE_TABLES.format(quota_type="bigint(11)") + GUIDE_ROWS)
    assert migrate(scratch_database).returncode == 0
    conn = scratch_database["connect"]()
    cursor = conn.cursor()
    cursor.execute("SHOW INDEX FROM virtual_aliases")
    alias_keys = {(row[2], row[4], row[1]) for row in cursor.fetchall()}  # (key, column, non_unique)
    cursor.execute("SHOW INDEX FROM virtual_domains")
    domain_keys = {(row[2], row[4], row[1]) for row in cursor.fetchall()}
    conn.close()
    assert ("virtual_aliases_source_destination_uniq", "source", 0) in alias_keys
    assert ("virtual_aliases_source_destination_uniq", "destination", 0) in alias_keys
    assert ("virtual_aliases_destination", "destination", 1) in alias_keys
    assert ("virtual_domains_name_uniq", "name", 0) in domain_keys


def read_after_an_upgrade(scratch_database, before, usage_rows, *queries):
    """The guide's tables and rows, the panel's migrations up to `before`, the usage rows Dovecot
    reported meanwhile, then the upgrade: what each query reads afterwards."""
    run_script(scratch_database, GUIDE_TABLES.format(quota_type="bigint(11)") + GUIDE_ROWS)
    assert migrate(scratch_database, "users", before).returncode == 0
    run_script(scratch_database, "INSERT INTO quota_usage (email, bytes, messages) VALUES " + usage_rows)
    result = migrate(scratch_database)
    assert result.returncode == 0, result.stderr
    conn = scratch_database["connect"]()
    cursor = conn.cursor()
    found = []
    for query in queries:
        cursor.execute(query)
        found.append(cursor.fetchall())
    conn.close()
    return found


@pytest.mark.mariadb
def test_usage_dovecot_reported_before_an_upgrade_is_summed_per_domain_by_it(scratch_database):
    sums, domains = read_after_an_upgrade(
        scratch_database, "0010",
        "('john@example.org', 700, 2), ('jane@example.org', 300, 1), ('Old.User@Example.NET', 50, 1), "
        "('gone@example.org', 999, 9)",
        "SELECT domain_id, bytes, reported FROM mailadmin_domain_usage WHERE domain_id > 0 ORDER BY domain_id",
        "SELECT email, domain_id FROM quota_usage ORDER BY email",
    )
    assert sums == ((1, 1000, 2), (2, 50, 1))  # gone@ has no mailbox: in no domain's sum
    assert domains == (("gone@example.org", None), ("jane@example.org", 1), ("john@example.org", 1),
                       ("Old.User@Example.NET", 2))


@pytest.mark.mariadb
def test_full_and_nearly_full_mailboxes_reported_before_an_upgrade_are_counted_by_it(scratch_database):
    (counts,) = read_after_an_upgrade(
        scratch_database, "0013",
        "('john@example.org', 700, 2), ('jane@example.org', 1020054733, 1), ('info@xn--bcher-kva.de', 500, 1), "
        "('gone@example.org', 999, 9)",
        "SELECT domain_id, mailboxes_full, mailboxes_nearly_full FROM mailadmin_domain_usage ORDER BY domain_id",
    )
    # jane: 95 % of 1 GiB; info@: 500 of 500 bytes; john has no limit, gone@ no mailbox. Row 0: all domains.
    assert counts == ((0, 1, 1), (1, 0, 1), (5, 1, 0))


@pytest.mark.mariadb
def test_migrate_twice_changes_nothing_the_second_time(scratch_database):
    run_script(scratch_database, GUIDE_TABLES.format(quota_type="bigint(11)") + GUIDE_ROWS)
    assert migrate(scratch_database).returncode == 0
    before = snapshot(scratch_database)
    second = migrate(scratch_database)
    assert second.returncode == 0
    assert "No migrations to apply" in second.stdout
    assert snapshot(scratch_database) == before


@pytest.mark.mariadb
def test_migrate_refuses_rows_that_break_a_new_unique_key_and_changes_nothing(scratch_database):
    run_script(
        scratch_database,
        GUIDE_TABLES.format(quota_type="bigint(11)")
        + GUIDE_ROWS
        # Collide as MariaDB's case-insensitive collation sees it.
        + "INSERT INTO virtual_domains (id, name) VALUES (8, 'EXAMPLE.org');"
        + "INSERT INTO virtual_aliases (id, domain_id, source, destination) VALUES "
        "(12, 1, 'sales@example.org', 'John@example.org');",
    )
    before = snapshot(scratch_database)
    tables_before = table_names(scratch_database)

    result = migrate(scratch_database)

    assert result.returncode != 0
    message = result.stderr
    # The message and its fix SQL alone: no traceback before it.
    assert "Traceback" not in message and message.startswith("ExistingRowsConflict: The existing mail tables")
    assert "Nothing has been changed" in message
    assert "virtual_domains: 2 rows are named 'example.org' (ids 1, 8)" in message
    assert "DELETE FROM virtual_domains WHERE id IN (8);" in message
    assert "(ids 2, 12)" in message and "DELETE FROM virtual_aliases WHERE id IN (12);" in message
    assert snapshot(scratch_database) == before
    # Only Django's own bookkeeping table may appear; no panel table, no constraint.
    assert table_names(scratch_database) - tables_before <= {"django_migrations"}


@pytest.mark.mariadb
def test_a_fresh_database_gets_exactly_the_guides_tables(scratch_database):
    assert migrate(scratch_database).returncode == 0
    conn = scratch_database["connect"]()
    cursor = conn.cursor()
    cursor.execute("SHOW CREATE TABLE virtual_users")
    ddl = cursor.fetchone()[1]
    conn.close()
    assert "`quota` bigint(11) NOT NULL DEFAULT 0" in ddl
    assert "UNIQUE KEY `email` (`email`)" in ddl
    assert "ON DELETE CASCADE" in ddl
    assert "CHARSET=utf8mb3" in ddl


# --- the Trixie edition ---------------------------------------------------------------------------


def server_version(db):
    conn = db["connect"]()
    cursor = conn.cursor()
    cursor.execute("SELECT VERSION()")
    version = cursor.fetchone()[0]
    conn.close()
    return version


def name_keys(db):
    """Every unique index on virtual_domains.name alone."""
    conn = db["connect"]()
    cursor = conn.cursor()
    cursor.execute("SHOW INDEX FROM virtual_domains")
    rows = cursor.fetchall()
    conn.close()
    columns = {}
    for row in rows:
        if row[1] == 0:  # unique
            columns.setdefault(row[2], []).append(row[4])
    return sorted(key for key, cols in columns.items() if cols == ["name"])


def adopt_and_compare(db):
    before = snapshot(db)
    result = migrate(db)
    assert result.returncode == 0, result.stderr
    assert snapshot(db) == before
    assert {"auth_user", "django_session", "mailadmin_domain_admin"} <= table_names(db)


@pytest.mark.mariadb
@pytest.mark.parametrize("server", ["machine", "mariadb-11.8"])
def test_migrate_adopts_a_trixie_guide_database_without_changing_a_row_or_an_answer(request, server):
    db = request.getfixturevalue("scratch_database" if server == "machine" else "scratch_on_118")
    if server == "mariadb-11.8":
        assert server_version(db).startswith("11.8.")
    run_script(db, TRIXIE_GUIDE_TABLES + GUIDE_ROWS)
    assert "CHARSET=utf8mb4" in show_create(db, "virtual_users")

    adopt_and_compare(db)

    # The guide's own unique key on the name does the job: it is kept (under the name the
    # migrations know), not doubled.
    assert name_keys(db) == ["virtual_domains_name_uniq"]
    assert "CHARSET=utf8mb4" in show_create(db, "virtual_users")


@pytest.mark.mariadb
def test_a_bookworm_database_dumped_and_restored_onto_mariadb_118_is_adopted_unchanged(
    scratch_database, scratch_on_118
):
    run_script(scratch_database, GUIDE_TABLES.format(quota_type="bigint(11)") + GUIDE_ROWS)
    on_bookworm = snapshot(scratch_database)
    dump = subprocess.run(
        ["mariadb-dump", "--no-defaults", "-h", "127.0.0.1", "-P", str(scratch_database["server"]["port"]),
         "-u", scratch_database["server"]["user"], "--single-transaction", scratch_database["name"]],
        capture_output=True, check=True, timeout=120,
    )  # fmt: skip
    subprocess.run(
        ["mariadb", "--no-defaults", "-h", "127.0.0.1", "-P", str(scratch_on_118["server"]["port"]), "-u", "root",
         scratch_on_118["name"]],
        input=dump.stdout, capture_output=True, check=True, timeout=120,
    )  # fmt: skip
    # The dump keeps Bookworm's utf8mb3 tables on 11.8, and every row and answer as they were.
    assert "CHARSET=utf8mb3" in show_create(scratch_on_118, "virtual_users")
    assert snapshot(scratch_on_118) == on_bookworm

    adopt_and_compare(scratch_on_118)

    assert snapshot(scratch_on_118) == on_bookworm
    assert name_keys(scratch_on_118) == ["virtual_domains_name_uniq"]


def show_create(db, table):
    conn = db["connect"]()
    cursor = conn.cursor()
    cursor.execute(f"SHOW CREATE TABLE {table}")
    ddl = cursor.fetchone()[1]
    conn.close()
    return ddl
