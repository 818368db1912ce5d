"""mailadmin.sessions: Django's database sessions, read with one fixed statement."""

from datetime import timedelta

from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from mailadmin.sessions import SessionStore


def _saved(**data):
    store = SessionStore()
    store.update(data)
    store.save()
    return store.session_key


def test_a_saved_session_is_read_back_by_its_key(db):
    key = _saved(operator="alice", step=2)
    assert dict(SessionStore(key).items()) == {"operator": "alice", "step": 2}


def test_an_expired_session_reads_as_empty_and_is_saved_under_a_new_key(db):
    key = _saved(operator="alice")
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    store = SessionStore(key)
    assert dict(store.items()) == {}
    store["operator"] = "mallory"
    store.save()
    assert store.session_key != key
    assert Session.objects.get(session_key=key).get_decoded() == {"operator": "alice"}


def test_an_unknown_key_or_tampered_data_reads_as_empty(db):
    assert dict(SessionStore("x" * 32).items()) == {}
    key = _saved(operator="alice")
    Session.objects.filter(session_key=key).update(session_data="tampered:data")
    assert dict(SessionStore(key).items()) == {}


def test_a_staff_login_lasts_until_logout_and_not_after(client, alice, settings):
    assert settings.SESSION_ENGINE == "mailadmin.sessions"
    client.force_login(alice)
    assert client.get(reverse("dashboard")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("dashboard")).status_code == 302
