import django.db.models.deletion
import django.db.models.functions.datetime
from django.db import migrations, models

# Dovecot's dict-sql writes this table with `INSERT … ON DUPLICATE KEY UPDATE`, naming only the
# address and one value column: the others need defaults, the address must be a unique key, and
# `updated` is kept by MariaDB itself. The address column takes virtual_users.email's character
# set and collation, so the join from a page of mailboxes is an index lookup and two addresses
# that differ only in case are one row here as they are one mailbox there.
MARIADB_DDL = """
CREATE TABLE `quota_usage` (
 `email` varchar(100) CHARACTER SET {charset} COLLATE {collation} NOT NULL,
 `bytes` bigint(20) NOT NULL DEFAULT 0,
 `messages` bigint(20) NOT NULL DEFAULT 0,
 `updated` datetime(6) NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
 PRIMARY KEY (`email`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"""

EMAIL_COLUMN_CHARSET = """
SELECT CHARACTER_SET_NAME, COLLATION_NAME FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'virtual_users' AND COLUMN_NAME = 'email'"""


def create_table(apps, schema_editor):
    model = apps.get_model("users", "QuotaUsage")
    if schema_editor.connection.vendor != "mysql":
        schema_editor.create_model(model)
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(EMAIL_COLUMN_CHARSET)
        charset, collation = cursor.fetchone()
    schema_editor.execute(MARIADB_DDL.format(charset=charset, collation=collation))


def drop_table(apps, schema_editor):
    schema_editor.delete_model(apps.get_model("users", "QuotaUsage"))


class Migration(migrations.Migration):
    dependencies = [("users", "0006_kept_figures")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="QuotaUsage",
                    fields=[
                        (
                            "mailbox",
                            models.OneToOneField(
                                db_column="email",
                                db_constraint=False,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                primary_key=True,
                                related_name="usage",
                                serialize=False,
                                to="users.mailbox",
                                to_field="email",
                            ),
                        ),
                        ("bytes", models.BigIntegerField(default=0)),
                        ("messages", models.BigIntegerField(default=0)),
                        ("updated", models.DateTimeField(blank=True, db_default=django.db.models.functions.datetime.Now(), null=True)),
                    ],
                    options={
                        "verbose_name_plural": "quota usage",
                        "db_table": "quota_usage",
                    },
                ),
            ],
        ),
        migrations.RunPython(create_table, drop_table, atomic=False),
    ]
