from django.db import migrations

from users.schema import add_domain_name_key, domain_name_constraint, remove_domain_name_key


class Migration(migrations.Migration):
    """A unique key on virtual_domains.name; where the guide made one already (Trixie), that one."""

    dependencies = [("users", "0002_mail_tables")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddConstraint(model_name="domain", constraint=domain_name_constraint())],
            database_operations=[migrations.RunPython(add_domain_name_key, remove_domain_name_key)],
        ),
    ]
