"""An index on the first characters of virtual_users.password: its `{SCHEME}` prefix.

The dashboard lists a few mailboxes of each weak or legacy scheme. Found by walking the
addresses in order, a scheme that only a handful of a million mailboxes still use costs a read of
every row (2.4 s here); with this index it is a range of exactly those rows. The prefix length
holds `{` + the longest scheme name Dovecot knows + `}`, and no part of a hash that matters.

MariaDB only (SQLite's LIKE is case-insensitive and cannot use an index for it). Django cannot
express a prefix index, hence SQL; no model state changes.
"""

from django.db import migrations

from users.schema import MARIADB_INDEXES

INDEX = "virtual_users_password_scheme"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "mysql":
        schema_editor.execute(MARIADB_INDEXES[INDEX][1])


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "mysql":
        schema_editor.execute(f"DROP INDEX {INDEX} ON virtual_users")


class Migration(migrations.Migration):
    dependencies = [("users", "0011_domain_usage")]

    operations = [migrations.RunPython(create_index, drop_index, atomic=False)]
