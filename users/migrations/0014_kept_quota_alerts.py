"""How many mailboxes are full (100 % of the quota or more) and nearly full (90 to 99 %), kept
per domain by quota_usage's triggers, next to the domain's bytes (0011).

The dashboard counted them on every view, reading up to 1,001 entries of the used_ppm index per
list and saying "more than 1,000" beyond; now it reads one row. A row's level follows used_ppm,
which the BEFORE triggers compute (0009), so the AFTER triggers that move a row's bytes between
domains move its level with them. A mailbox's quota change reaches them the same way: it
touches the usage row.

The row of domain id 0 counts all domains together, for a superadmin, as the other kept figures
do (users.tallies). It keeps only these two counts: its bytes would be a row every Dovecot write
in every domain updates, where the level counts change only when a mailbox crosses 90 or 100 %.
"""

import importlib

from django.db import migrations, models

PREVIOUS = importlib.import_module("users.migrations.0011_domain_usage")
ALL_DOMAINS = 0
FULL_PPM, NEARLY_FULL_PPM = 1_000_000, 900_000


INSERT_USAGE = "INSERT INTO mailadmin_domain_usage (domain_id, bytes, reported, mailboxes_full, mailboxes_nearly_full) "


def is_full(row):
    return f"COALESCE({row}.used_ppm >= {FULL_PPM}, 0)"


def is_nearly_full(row):
    return f"COALESCE({row}.used_ppm >= {NEARLY_FULL_PPM} AND {row}.used_ppm < {FULL_PPM}, 0)"


def level_changed():
    return f"({is_full('NEW')} <> {is_full('OLD')} OR {is_nearly_full('NEW')} <> {is_nearly_full('OLD')})"


FULL_CHANGE = f"{is_full('NEW')} - {is_full('OLD')}"
NEARLY_FULL_CHANGE = f"{is_nearly_full('NEW')} - {is_nearly_full('OLD')}"


# --- MariaDB: BEFORE triggers compute NEW (0011, unchanged); AFTER triggers move the sums ----

MARIADB_ADD_NEW = (
    INSERT_USAGE
    + f"VALUES (NEW.domain_id, NEW.bytes, 1, {is_full('NEW')}, {is_nearly_full('NEW')}) "
    "ON DUPLICATE KEY UPDATE bytes = bytes + NEW.bytes, reported = reported + 1, "
    f"mailboxes_full = mailboxes_full + {is_full('NEW')}, "
    f"mailboxes_nearly_full = mailboxes_nearly_full + {is_nearly_full('NEW')}"
)
TAKE_OLD = (
    "UPDATE mailadmin_domain_usage SET bytes = bytes - OLD.bytes, reported = reported - 1, "
    f"mailboxes_full = mailboxes_full - {is_full('OLD')}, "
    f"mailboxes_nearly_full = mailboxes_nearly_full - {is_nearly_full('OLD')} "
    "WHERE domain_id = OLD.domain_id"
)
MOVE_WITHIN_DOMAIN = (
    "UPDATE mailadmin_domain_usage SET bytes = bytes + NEW.bytes - OLD.bytes, "
    f"mailboxes_full = mailboxes_full + {is_full('NEW')} - {is_full('OLD')}, "
    f"mailboxes_nearly_full = mailboxes_nearly_full + {is_nearly_full('NEW')} - {is_nearly_full('OLD')} "
    "WHERE domain_id = NEW.domain_id"
)


def mariadb_all_domains(full, nearly_full):
    return (
        INSERT_USAGE
        + f"VALUES ({ALL_DOMAINS}, 0, 0, {full}, {nearly_full}) "
        "ON DUPLICATE KEY UPDATE mailboxes_full = mailboxes_full + VALUES(mailboxes_full), "
        "mailboxes_nearly_full = mailboxes_nearly_full + VALUES(mailboxes_nearly_full)"
    )


MARIADB_TRIGGERS = {
    "quota_usage_domain_insert": (
        "AFTER INSERT ON quota_usage FOR EACH ROW BEGIN "
        f"IF NEW.domain_id IS NOT NULL THEN {MARIADB_ADD_NEW}; END IF; "
        f"IF NEW.used_ppm >= {NEARLY_FULL_PPM} THEN "
        f"{mariadb_all_domains(is_full('NEW'), is_nearly_full('NEW'))}; END IF; "
        "END"
    ),
    "quota_usage_domain_update": (
        "AFTER UPDATE ON quota_usage FOR EACH ROW BEGIN "
        "IF NEW.domain_id <=> OLD.domain_id THEN "
        f"  IF NEW.domain_id IS NOT NULL AND (NEW.bytes <> OLD.bytes OR {level_changed()}) THEN "
        f"    {MOVE_WITHIN_DOMAIN}; "
        "  END IF; "
        "ELSE "
        f"  IF OLD.domain_id IS NOT NULL THEN {TAKE_OLD}; END IF; "
        f"  IF NEW.domain_id IS NOT NULL THEN {MARIADB_ADD_NEW}; END IF; "
        "END IF; "
        f"IF {level_changed()} THEN "
        f"{mariadb_all_domains(FULL_CHANGE, NEARLY_FULL_CHANGE)}; "
        "END IF; "
        "END"
    ),
    "quota_usage_domain_delete": (
        "AFTER DELETE ON quota_usage FOR EACH ROW BEGIN "
        f"IF OLD.domain_id IS NOT NULL THEN {TAKE_OLD}; END IF; "
        f"IF OLD.used_ppm >= {NEARLY_FULL_PPM} THEN "
        f"{mariadb_all_domains('-' + is_full('OLD'), '-' + is_nearly_full('OLD'))}; END IF; "
        "END"
    ),
}

# --- SQLite: AFTER triggers compute the row (0011), then take OLD out and add the stored row ---

SQLITE_ADD_STORED = (
    INSERT_USAGE
    + f"SELECT domain_id, bytes, 1, {is_full('stored')}, {is_nearly_full('stored')} "
    "FROM quota_usage AS stored WHERE email = NEW.email AND domain_id IS NOT NULL "
    "ON CONFLICT (domain_id) DO UPDATE SET bytes = bytes + excluded.bytes, reported = reported + 1, "
    "mailboxes_full = mailboxes_full + excluded.mailboxes_full, "
    "mailboxes_nearly_full = mailboxes_nearly_full + excluded.mailboxes_nearly_full"
)
SQLITE_TAKE_OLD_FROM_ALL = (
    f"UPDATE mailadmin_domain_usage SET mailboxes_full = mailboxes_full - {is_full('OLD')}, "
    f"mailboxes_nearly_full = mailboxes_nearly_full - {is_nearly_full('OLD')} "
    f"WHERE domain_id = {ALL_DOMAINS} AND OLD.used_ppm >= {NEARLY_FULL_PPM}"
)
SQLITE_ADD_STORED_TO_ALL = (
    INSERT_USAGE
    + f"SELECT {ALL_DOMAINS}, 0, 0, {is_full('stored')}, {is_nearly_full('stored')} "
    f"FROM quota_usage AS stored WHERE email = NEW.email AND used_ppm >= {NEARLY_FULL_PPM} "
    "ON CONFLICT (domain_id) DO UPDATE SET mailboxes_full = mailboxes_full + excluded.mailboxes_full, "
    "mailboxes_nearly_full = mailboxes_nearly_full + excluded.mailboxes_nearly_full"
)
SQLITE_TRIGGERS = {
    # As in 0011: the insert trigger's UPDATE fires the update trigger, which adds the row.
    "quota_usage_ppm_insert": PREVIOUS.SQLITE_TRIGGERS["quota_usage_ppm_insert"],
    "quota_usage_ppm_update": (
        f"AFTER UPDATE ON quota_usage FOR EACH ROW BEGIN {PREVIOUS.SQLITE_COMPUTE}; "
        f"{TAKE_OLD}; {SQLITE_TAKE_OLD_FROM_ALL}; {SQLITE_ADD_STORED}; {SQLITE_ADD_STORED_TO_ALL}; END"
    ),
    "quota_usage_domain_delete": (
        f"AFTER DELETE ON quota_usage FOR EACH ROW BEGIN {TAKE_OLD}; {SQLITE_TAKE_OLD_FROM_ALL}; END"
    ),
}


def _replace_triggers(schema_editor, mariadb_triggers, sqlite_triggers):
    triggers = mariadb_triggers if schema_editor.connection.vendor == "mysql" else sqlite_triggers
    for name, body in triggers.items():
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
        schema_editor.execute(f"CREATE TRIGGER {name} {body}")


def count_levels(apps, schema_editor):
    """The counts of the rows reported so far: one range of the used_ppm index, grouped."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            f"SELECT domain_id, SUM({is_full('quota_usage')}), SUM({is_nearly_full('quota_usage')}) "
            "FROM quota_usage WHERE used_ppm >= %s AND domain_id IS NOT NULL GROUP BY domain_id",
            [NEARLY_FULL_PPM],
        )
        per_domain = cursor.fetchall()
        cursor.execute("DELETE FROM mailadmin_domain_usage WHERE domain_id = %s", [ALL_DOMAINS])
        for domain_id, full, nearly_full in per_domain:
            cursor.execute(
                "UPDATE mailadmin_domain_usage SET mailboxes_full = %s, mailboxes_nearly_full = %s "
                "WHERE domain_id = %s",
                [full, nearly_full, domain_id],
            )
        if per_domain:
            cursor.execute(
                INSERT_USAGE
                + "VALUES (%s, 0, 0, %s, %s)",
                [ALL_DOMAINS, sum(row[1] for row in per_domain), sum(row[2] for row in per_domain)],
            )


def create_triggers(apps, schema_editor):
    _replace_triggers(schema_editor, MARIADB_TRIGGERS, SQLITE_TRIGGERS)


def restore_previous_triggers(apps, schema_editor):
    _replace_triggers(
        schema_editor,
        {name: PREVIOUS.MARIADB_TRIGGERS[name] for name in MARIADB_TRIGGERS},
        {name: PREVIOUS.SQLITE_TRIGGERS[name] for name in SQLITE_TRIGGERS},
    )
    schema_editor.execute(f"DELETE FROM mailadmin_domain_usage WHERE domain_id = {ALL_DOMAINS}")


def drop_sqlite_triggers_writing_domain_usage(apps, schema_editor):
    """SQLite adds and removes a column by building the table anew under a temporary name, which
    fails while a trigger names the table: they are dropped first and created again after."""
    if schema_editor.connection.vendor != "mysql":
        for name in ("quota_usage_ppm_update", "quota_usage_domain_delete"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("users", "0013_kept_domain_count")]

    operations = [
        migrations.RunPython(drop_sqlite_triggers_writing_domain_usage, restore_previous_triggers, atomic=False),
        migrations.AddField(
            model_name="domainusage", name="mailboxes_full", field=models.IntegerField(default=0)
        ),
        migrations.AddField(
            model_name="domainusage", name="mailboxes_nearly_full", field=models.IntegerField(default=0)
        ),
        migrations.RunPython(create_triggers, drop_sqlite_triggers_writing_domain_usage, atomic=False),
        migrations.RunPython(count_levels, migrations.RunPython.noop),
    ]
