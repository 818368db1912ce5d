"""Indexes on the domain of an alias's source and of its destination (MariaDB).

Deleting a domain leaves alias rows of other domains behind: those forwarding to its
addresses, and legacy rows whose source is in it under another domain's id. Found by
`LIKE '%@d.example'`, they were a read of every alias: 5.4 s for the confirmation page at
2,000,000 aliases. Each index is on an invisible generated column (users.schema): the
tables' rows and the columns `SELECT *` returns stay as the guide made them.

MariaDB only: on SQLite the panel asks with LIKE. No model state changes.
"""

from django.db import migrations

from users.schema import MARIADB_INDEXES

INDEXES = {"virtual_aliases_source_domain": "source_domain", "virtual_aliases_destination_domain": "destination_domain"}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "mysql":
        for name in INDEXES:
            schema_editor.execute(MARIADB_INDEXES[name][1])


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "mysql":
        for name, column in INDEXES.items():
            schema_editor.execute(
                f"ALTER TABLE virtual_aliases DROP INDEX IF EXISTS `{name}`, DROP COLUMN IF EXISTS `{column}`"
            )


class Migration(migrations.Migration):
    dependencies = [("aliases", "0002_unique_rows_and_indexes")]

    operations = [migrations.RunPython(create_indexes, drop_indexes, atomic=False)]
