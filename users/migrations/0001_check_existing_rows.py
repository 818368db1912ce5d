from django.db import migrations

from users.schema import check_existing_rows


class Migration(migrations.Migration):
    """Refuse to adopt mail tables whose rows break the panel's unique keys.

    It runs before every other migration, so a refused adoption has changed nothing
    (MariaDB cannot roll back DDL, so checking first is the only safe order).
    """

    run_before = [
        ("contenttypes", "0001_initial"),
        ("auth", "0001_initial"),
        ("admin", "0001_initial"),
        ("sessions", "0001_initial"),
        ("axes", "0001_initial"),
    ]

    operations = [migrations.RunPython(check_existing_rows, migrations.RunPython.noop, elidable=False)]
