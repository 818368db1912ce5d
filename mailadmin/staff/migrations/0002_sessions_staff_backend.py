"""Sessions logged in through ModelBackend name it as their backend; Django logs a session out
when its backend is no longer in AUTHENTICATION_BACKENDS, so they are moved to StaffBackend."""

from importlib import import_module

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.db import migrations

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
STAFF_BACKEND = "mailadmin.staff.backends.StaffBackend"
BATCH = 500


def rewrite_backend(sessions, old, new):
    """Name `new` instead of `old` as the backend of every session in `sessions` (a queryset)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    last = ""
    while True:
        # Pages by key, each read whole before its rows are written: SQLite gives a cursor no
        # isolation from writes to the table it is reading.
        page = list(
            sessions.filter(session_key__gt=last)
            .order_by("session_key")
            .values_list("session_key", "session_data")[:BATCH]
        )
        if not page:
            return
        for key, data in page:
            decoded = store.decode(data)
            if decoded.get(BACKEND_SESSION_KEY) != old:
                continue
            decoded[BACKEND_SESSION_KEY] = new
            sessions.filter(session_key=key).update(session_data=store.encode(decoded))
        last = page[-1][0]


def _sessions(apps, schema_editor):
    return apps.get_model("sessions", "Session").objects.using(schema_editor.connection.alias)


def to_staff_backend(apps, schema_editor):
    rewrite_backend(_sessions(apps, schema_editor), MODEL_BACKEND, STAFF_BACKEND)


def to_model_backend(apps, schema_editor):
    rewrite_backend(_sessions(apps, schema_editor), STAFF_BACKEND, MODEL_BACKEND)


class Migration(migrations.Migration):

    dependencies = [
        ("staff", "0001_initial"),
        ("sessions", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(to_staff_backend, to_model_backend),
    ]
