"""quota_usage.used_ppm: how full each mailbox is, kept by the database itself.

Dovecot writes quota_usage (`INSERT … ON DUPLICATE KEY UPDATE bytes=…`, then the same for
`messages`) and anyone may change virtual_users.quota, so neither the panel's write API nor a
timer can keep a copy of bytes/quota: triggers on both tables do, in the writer's own statement.

One expression computes the value, in quota_usage's own triggers (MariaDB: BEFORE, setting
NEW.used_ppm, so Dovecot's statement stays one row write; SQLite: AFTER, as it cannot set NEW).
A change to virtual_users "touches" the mailbox's usage row (`SET updated = updated`: the
explicit self-assignment keeps MariaDB's ON UPDATE CURRENT_TIMESTAMP from moving the time
Dovecot reported), which runs that expression again with the new quota, or finds no mailbox and
leaves NULL. `manage.py recount` touches every row the same way.

Creating triggers needs the TRIGGER privilege (README, "Pointing the panel at an existing mail
database"). The triggers run with their definer's rights, so Dovecot's dict account keeps its
SELECT, INSERT, UPDATE on quota_usage alone. On SQLite, a later migration that makes Django
rebuild quota_usage or virtual_users drops their triggers: it must create them again.
"""

from django.db import migrations, models

PPM = 1_000_000
# Usage more than a million times the quota sorts as exactly that: the order among such rows
# means nothing, and the value (and Dovecot's write) must never overflow.
CAP = 10**12

MARIADB_PPM = (
    "(SELECT CASE WHEN quota > 0 THEN LEAST(CAST(NEW.bytes AS DECIMAL(65,0)) * {ppm}, "
    "CAST(quota AS DECIMAL(65,0)) * {cap}) DIV quota END "
    "FROM virtual_users WHERE virtual_users.email = NEW.email)"
).format(ppm=PPM, cap=CAP)

# SQLite turns an overflowing integer product into a real; MIN caps it and CAST truncates it.
SQLITE_PPM = (
    "(SELECT CASE WHEN quota > 0 THEN CAST(MIN(NEW.bytes * {ppm} / quota, {cap}) AS INTEGER) END "
    "FROM virtual_users WHERE virtual_users.email = NEW.email)"
).format(ppm=PPM, cap=CAP)

TOUCH = "UPDATE quota_usage SET updated = updated WHERE email = {row}.email"

MARIADB_TRIGGERS = {
    "quota_usage_ppm_insert": f"BEFORE INSERT ON quota_usage FOR EACH ROW SET NEW.used_ppm = {MARIADB_PPM}",
    "quota_usage_ppm_update": f"BEFORE UPDATE ON quota_usage FOR EACH ROW SET NEW.used_ppm = {MARIADB_PPM}",
    "virtual_users_ppm_insert": "AFTER INSERT ON virtual_users FOR EACH ROW " + TOUCH.format(row="NEW"),
    "virtual_users_ppm_update": (
        "AFTER UPDATE ON virtual_users FOR EACH ROW "
        "IF NOT (NEW.quota <=> OLD.quota) OR NOT (NEW.email <=> OLD.email) THEN "
        f"{TOUCH.format(row='OLD')}; {TOUCH.format(row='NEW')}; END IF"
    ),
    "virtual_users_ppm_delete": "AFTER DELETE ON virtual_users FOR EACH ROW " + TOUCH.format(row="OLD"),
}

SQLITE_RECOMPUTE = f"BEGIN UPDATE quota_usage SET used_ppm = {SQLITE_PPM} WHERE email = NEW.email; END"
SQLITE_TRIGGERS = {
    "quota_usage_ppm_insert": f"AFTER INSERT ON quota_usage FOR EACH ROW {SQLITE_RECOMPUTE}",
    # Not "OF bytes": a touch from virtual_users' triggers names only `updated`.
    "quota_usage_ppm_update": f"AFTER UPDATE ON quota_usage FOR EACH ROW {SQLITE_RECOMPUTE}",
    "virtual_users_ppm_insert": f"AFTER INSERT ON virtual_users FOR EACH ROW BEGIN {TOUCH.format(row='NEW')}; END",
    "virtual_users_ppm_update": (
        "AFTER UPDATE OF quota, email ON virtual_users FOR EACH ROW "
        f"BEGIN {TOUCH.format(row='OLD')}; {TOUCH.format(row='NEW')}; END"
    ),
    "virtual_users_ppm_delete": f"AFTER DELETE ON virtual_users FOR EACH ROW BEGIN {TOUCH.format(row='OLD')}; END",
}


def create_triggers(apps, schema_editor):
    triggers = MARIADB_TRIGGERS if schema_editor.connection.vendor == "mysql" else SQLITE_TRIGGERS
    for name, body in triggers.items():
        schema_editor.execute(f"CREATE TRIGGER {name} {body}")
    # Every row Dovecot reported so far.
    schema_editor.execute("UPDATE quota_usage SET updated = updated")


def drop_triggers(apps, schema_editor):
    for name in MARIADB_TRIGGERS:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("users", "0008_mailbox_list_orders")]

    operations = [
        migrations.AddField(
            model_name="quotausage",
            name="used_ppm",
            field=models.BigIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddIndex(
            model_name="quotausage",
            index=models.Index(fields=["used_ppm", "mailbox"], name="quota_usage_used_ppm"),
        ),
        migrations.AddIndex(
            model_name="quotausage",
            index=models.Index(fields=["bytes", "mailbox"], name="quota_usage_bytes"),
        ),
        migrations.RunPython(create_triggers, drop_triggers, atomic=False),
    ]
