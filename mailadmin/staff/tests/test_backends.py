"""mailadmin.staff.backends: each request's staff account, read with one fixed statement.

Django's ModelBackend otherwise; the sessions it named are moved over by staff migration 0002."""

import importlib
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mailadmin.sessions import SessionStore
from mailadmin.staff.backends import StaffBackend

migration = importlib.import_module("mailadmin.staff.migrations.0002_sessions_staff_backend")

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
STAFF_BACKEND = "mailadmin.staff.backends.StaffBackend"


def test_the_account_read_is_the_one_the_orm_reads_field_by_field(alice, django_assert_num_queries):
    alice.first_name, alice.last_name, alice.email = "Alice", "Liddell", "alice@example.org"
    alice.last_login = timezone.now() - timedelta(days=3, microseconds=123456)
    alice.save()
    expected = User.objects.get(pk=alice.pk)

    with django_assert_num_queries(1):
        read = StaffBackend().get_user(alice.pk)

    for field in User._meta.concrete_fields:
        mine, orms = getattr(read, field.attname), getattr(expected, field.attname)
        assert (mine, type(mine)) == (orms, type(orms)), field.name
    assert isinstance(read.last_login, datetime) and timezone.is_aware(read.last_login)
    assert read.last_login == alice.last_login
    assert type(read.is_active) is bool and type(read.is_staff) is bool and type(read.is_superuser) is bool
    assert (read._state.db, read._state.adding) == (expected._state.db, False)


def test_an_account_never_logged_in_reads_with_no_last_login(dave):
    assert StaffBackend().get_user(dave.pk).last_login is None


def test_an_id_as_the_session_stores_it_reads_the_same_account(alice):
    assert StaffBackend().get_user(str(alice.pk)) == alice


def test_an_unknown_id_is_no_account(alice):
    assert StaffBackend().get_user(alice.pk + 1000) is None


def test_an_inactive_account_is_no_account_and_its_logged_in_session_ends(client, alice, bob):
    client.force_login(bob, backend=STAFF_BACKEND)
    assert client.get(reverse("dashboard")).status_code == 200
    bob.is_active = False
    bob.save(update_fields=["is_active"])

    assert StaffBackend().get_user(bob.pk) is None
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_a_session_outlives_a_change_of_name_but_not_a_password_changed_elsewhere(client, bob):
    client.force_login(bob, backend=STAFF_BACKEND)
    User.objects.filter(pk=bob.pk).update(first_name="Robert")
    assert client.get(reverse("dashboard")).status_code == 200

    bob.set_password("a-password-set-in-another-place")
    bob.save()
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def _session(**data):
    store = SessionStore()
    store.update(data)
    store.save()
    return store.session_key


def _logged_in_session(user, backend):
    return _session(
        **{SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: backend, HASH_SESSION_KEY: user.get_session_auth_hash()}
    )


def _client_with(session_key):
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = session_key
    return client


def _run(function):
    # What RunPython hands the function: the app registry and a schema editor (never entered here).
    from django.apps import apps

    function(apps, connection.schema_editor())


def test_the_migration_moves_a_model_backend_session_to_the_staff_backend_and_it_stays_logged_in(alice):
    key = _logged_in_session(alice, MODEL_BACKEND)
    expires = Session.objects.get(session_key=key).expire_date
    client = _client_with(key)
    assert client.get(reverse("dashboard")).status_code == 302

    _run(migration.to_staff_backend)

    assert SessionStore(key)[BACKEND_SESSION_KEY] == STAFF_BACKEND
    assert Session.objects.get(session_key=key).expire_date == expires
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200 and response.wsgi_request.user == alice


def test_the_migration_leaves_every_other_session_as_it_was(alice, jane):
    others = [
        _logged_in_session(jane, "users.auth_backends.MailboxBackend"),
        _logged_in_session(alice, STAFF_BACKEND),
        _session(step=2),
        _session(),
    ]
    Session.objects.filter(session_key=others[-1]).update(session_data="tampered:data")
    before = dict(Session.objects.values_list("session_key", "session_data"))

    _run(migration.to_staff_backend)

    assert dict(Session.objects.values_list("session_key", "session_data")) == before


def test_the_migration_rewrites_sessions_beyond_one_batch_and_back_again(alice, monkeypatch):
    monkeypatch.setattr(migration, "BATCH", 2)
    keys = [_logged_in_session(alice, MODEL_BACKEND) for _ in range(5)]

    _run(migration.to_staff_backend)
    assert [SessionStore(key)[BACKEND_SESSION_KEY] for key in keys] == [STAFF_BACKEND] * 5

    _run(migration.to_model_backend)
    assert [SessionStore(key)[BACKEND_SESSION_KEY] for key in keys] == [MODEL_BACKEND] * 5
