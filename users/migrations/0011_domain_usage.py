"""Each domain's reported usage, kept by the database as Dovecot writes it.

The domain list and a domain's page show the sum of its mailboxes' usage and how many reported.
Summing it on each view reads every mailbox of every shown domain (5,000 rows for a page of 50
domains of 100 mailboxes); keeping it makes the page read one row per domain.

quota_usage gains `domain_id`, the domain of the mailbox its address belongs to (NULL: none),
computed by the same triggers and at the same moments as used_ppm (0009): on every write of
quota_usage, and on every change of virtual_users, which "touches" the usage row. Because the
row remembers its domain, quota_usage's AFTER triggers know what to take from where: the old
bytes from OLD.domain_id's sums, the new bytes into NEW.domain_id's, in
mailadmin_domain_usage (one row per domain: bytes, reported). Dovecot's `messages` upsert
changes neither and writes nothing more.

On SQLite the AFTER triggers compute the new values themselves (it cannot set NEW), with the
row's stored domain_id as OLD's.

Deletes cascaded by the database itself (DELETE FROM virtual_domains by hand) fire no triggers:
the sums of a domain that no longer exists are then left behind, read by nobody.
`manage.py recount --usage` computes every row and every sum again.
"""

import importlib

from django.db import migrations, models

# The percent is computed exactly as 0009 computes it; only what else the triggers do changes.
PREVIOUS = importlib.import_module("users.migrations.0009_quota_usage_used_ppm")
MARIADB_PPM, SQLITE_PPM = PREVIOUS.MARIADB_PPM, PREVIOUS.SQLITE_PPM
DOMAIN_OF_NEW = "(SELECT domain_id FROM virtual_users WHERE virtual_users.email = NEW.email)"

MARIADB_ADD_NEW = (
    "INSERT INTO mailadmin_domain_usage (domain_id, bytes, reported) VALUES (NEW.domain_id, NEW.bytes, 1) "
    "ON DUPLICATE KEY UPDATE bytes = bytes + NEW.bytes, reported = reported + 1"
)
TAKE_OLD = (
    "UPDATE mailadmin_domain_usage SET bytes = bytes - OLD.bytes, reported = reported - 1 "
    "WHERE domain_id = OLD.domain_id"
)
MARIADB_COMPUTE = f"SET NEW.used_ppm = {MARIADB_PPM}, NEW.domain_id = {DOMAIN_OF_NEW}"

MARIADB_TRIGGERS = {
    "quota_usage_ppm_insert": f"BEFORE INSERT ON quota_usage FOR EACH ROW {MARIADB_COMPUTE}",
    "quota_usage_ppm_update": f"BEFORE UPDATE ON quota_usage FOR EACH ROW {MARIADB_COMPUTE}",
    "quota_usage_domain_insert": (
        f"AFTER INSERT ON quota_usage FOR EACH ROW IF NEW.domain_id IS NOT NULL THEN {MARIADB_ADD_NEW}; END IF"
    ),
    "quota_usage_domain_update": (
        "AFTER UPDATE ON quota_usage FOR EACH ROW "
        "IF NEW.domain_id <=> OLD.domain_id THEN "
        "  IF NEW.domain_id IS NOT NULL AND NEW.bytes <> OLD.bytes THEN "
        "    UPDATE mailadmin_domain_usage SET bytes = bytes + NEW.bytes - OLD.bytes WHERE domain_id = NEW.domain_id; "
        "  END IF; "
        "ELSE "
        f"  IF OLD.domain_id IS NOT NULL THEN {TAKE_OLD}; END IF; "
        f"  IF NEW.domain_id IS NOT NULL THEN {MARIADB_ADD_NEW}; END IF; "
        "END IF"
    ),
    "quota_usage_domain_delete": (
        f"AFTER DELETE ON quota_usage FOR EACH ROW IF OLD.domain_id IS NOT NULL THEN {TAKE_OLD}; END IF"
    ),
}

SQLITE_ADD_STORED = (
    "INSERT INTO mailadmin_domain_usage (domain_id, bytes, reported) "
    "SELECT domain_id, bytes, 1 FROM quota_usage WHERE email = NEW.email AND domain_id IS NOT NULL "
    "ON CONFLICT (domain_id) DO UPDATE SET bytes = bytes + excluded.bytes, reported = reported + 1"
)
SQLITE_COMPUTE = f"UPDATE quota_usage SET used_ppm = {SQLITE_PPM}, domain_id = {DOMAIN_OF_NEW} WHERE email = NEW.email"
SQLITE_TRIGGERS = {
    # Its UPDATE fires quota_usage_ppm_update (SQLite stops only a trigger firing itself), which
    # adds the new row to its domain's sums: adding it here too would count it twice.
    "quota_usage_ppm_insert": f"AFTER INSERT ON quota_usage FOR EACH ROW BEGIN {SQLITE_COMPUTE}; END",
    # Not "OF bytes": a touch from virtual_users' triggers names only `updated`.
    "quota_usage_ppm_update": (
        f"AFTER UPDATE ON quota_usage FOR EACH ROW BEGIN {SQLITE_COMPUTE}; {TAKE_OLD}; {SQLITE_ADD_STORED}; END"
    ),
    "quota_usage_domain_delete": f"AFTER DELETE ON quota_usage FOR EACH ROW BEGIN {TAKE_OLD}; END",
}

OLD_MARIADB_TRIGGERS = ("quota_usage_ppm_insert", "quota_usage_ppm_update")


def create_triggers(apps, schema_editor):
    mariadb = schema_editor.connection.vendor == "mysql"
    for name in OLD_MARIADB_TRIGGERS if mariadb else SQLITE_TRIGGERS:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
    for name, body in (MARIADB_TRIGGERS if mariadb else SQLITE_TRIGGERS).items():
        schema_editor.execute(f"CREATE TRIGGER {name} {body}")
    # Every row Dovecot reported so far: its domain, and through the AFTER triggers the sums.
    schema_editor.execute("UPDATE quota_usage SET updated = updated")


def drop_triggers(apps, schema_editor):
    for name in MARIADB_TRIGGERS if schema_editor.connection.vendor == "mysql" else SQLITE_TRIGGERS:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


def restore_previous_triggers(apps, schema_editor):
    """Unapplying: 0009's quota_usage triggers again, once the column is gone (on SQLite, removing
    it rebuilds the table, which drops a table's triggers)."""
    mariadb = schema_editor.connection.vendor == "mysql"
    for name, body in (PREVIOUS.MARIADB_TRIGGERS if mariadb else PREVIOUS.SQLITE_TRIGGERS).items():
        if name.startswith("quota_usage_"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
            schema_editor.execute(f"CREATE TRIGGER {name} {body}")


class Migration(migrations.Migration):
    dependencies = [("users", "0010_all_domains_tallies")]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, restore_previous_triggers, atomic=False),
        migrations.AddField(
            model_name="quotausage",
            name="domain_id",
            field=models.IntegerField(blank=True, editable=False, null=True),
        ),
        migrations.CreateModel(
            name="DomainUsage",
            fields=[
                ("domain_id", models.IntegerField(primary_key=True, serialize=False)),
                ("bytes", models.BigIntegerField(default=0)),
                ("reported", models.IntegerField(default=0)),
            ],
            options={"db_table": "mailadmin_domain_usage"},
        ),
        migrations.RunPython(create_triggers, drop_triggers, atomic=False),
    ]
