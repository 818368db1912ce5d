from django.core.management import call_command
from django.db import migrations


def create_cache_tables(apps, schema_editor):
    # Django keeps its database cache table outside migrations; creating it here means one
    # `migrate` sets up everything (and it does nothing for other cache backends).
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("mailadmin", "0001_audit_log")]

    operations = [migrations.RunPython(create_cache_tables, migrations.RunPython.noop, atomic=False)]
