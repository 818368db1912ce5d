"""Triggers that keep the panel's figures through changes and deletes made behind its back
(MariaDB; users/tally_triggers.py). No table or model state changes."""

from django.db import migrations

from users import tally_triggers


def create_triggers(apps, schema_editor):
    tally_triggers.create(schema_editor)


def drop_triggers(apps, schema_editor):
    tally_triggers.drop(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("users", "0015_domain_count_order_indexes"), ("aliases", "0003_address_domain_indexes")]

    operations = [migrations.RunPython(create_triggers, drop_triggers, atomic=False)]
