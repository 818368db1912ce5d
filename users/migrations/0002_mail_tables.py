import django.db.models.deletion
from django.db import migrations, models

from users.schema import create_guide_table


def create_tables(apps, schema_editor):
    for model_name in ("Domain", "Mailbox"):
        create_guide_table(schema_editor, apps.get_model("users", model_name))


class Migration(migrations.Migration):
    """The guide's virtual_domains and virtual_users, created only where they do not exist yet."""

    dependencies = [("users", "0001_check_existing_rows")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Domain",
                    fields=[
                        ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("name", models.CharField(error_messages={"unique": "This domain already exists."}, max_length=50)),
                    ],
                    options={"db_table": "virtual_domains", "ordering": ["name"]},
                ),
                migrations.CreateModel(
                    name="Mailbox",
                    fields=[
                        ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        (
                            "email",
                            models.CharField(
                                error_messages={"unique": "A mailbox with this address already exists."},
                                max_length=100,
                                unique=True,
                            ),
                        ),
                        ("password", models.CharField(max_length=150)),
                        ("quota", models.BigIntegerField(default=0)),
                        (
                            "domain",
                            models.ForeignKey(
                                db_column="domain_id",
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="mailboxes",
                                to="users.domain",
                            ),
                        ),
                    ],
                    options={"verbose_name_plural": "mailboxes", "db_table": "virtual_users", "ordering": ["email"]},
                ),
            ],
        ),
        # Runs after the state above, so the function sees the models.
        migrations.RunPython(create_tables, migrations.RunPython.noop, atomic=False),
    ]
