import django.db.models.deletion
from django.db import migrations, models

from users.schema import create_guide_table


def create_table(apps, schema_editor):
    create_guide_table(schema_editor, apps.get_model("aliases", "Alias"))


class Migration(migrations.Migration):
    """The guide's virtual_aliases, created only where it does not exist yet."""

    initial = True
    dependencies = [("users", "0002_mail_tables")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Alias",
                    fields=[
                        ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("source", models.CharField(max_length=100)),
                        ("destination", models.CharField(max_length=100)),
                        (
                            "domain",
                            models.ForeignKey(
                                db_column="domain_id",
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="aliases",
                                to="users.domain",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name_plural": "aliases",
                        "db_table": "virtual_aliases",
                        "ordering": ["source", "destination"],
                    },
                ),
            ],
        ),
        # Runs after the state above, so the function sees the models.
        migrations.RunPython(create_table, migrations.RunPython.noop, atomic=False),
    ]
