"""Staff passwords are Argon2id; an older PBKDF2 hash is replaced on the next login."""

from django.contrib.auth.hashers import Argon2PasswordHasher, make_password
from django.contrib.auth.models import User
from django.urls import reverse

from conftest import ACTOR_PASSWORD


def test_new_staff_passwords_are_argon2id(alice):
    assert alice.password.startswith("argon2$argon2id$")


def test_a_pbkdf2_hash_is_upgraded_to_argon2id_on_the_next_login(client, alice):
    old = make_password(ACTOR_PASSWORD, hasher="pbkdf2_sha256")
    User.objects.filter(pk=alice.pk).update(password=old)
    assert client.post(reverse("login"), {"username": "alice", "password": ACTOR_PASSWORD}).status_code == 302
    alice.refresh_from_db()
    assert alice.password.startswith("argon2$argon2id$") and alice.check_password(ACTOR_PASSWORD)
    # The session made with the old hash survives its replacement.
    assert client.get(reverse("dashboard")).status_code == 200


def test_a_failed_login_leaves_the_old_hash(client, alice):
    old = make_password(ACTOR_PASSWORD, hasher="pbkdf2_sha256")
    User.objects.filter(pk=alice.pk).update(password=old)
    client.post(reverse("login"), {"username": "alice", "password": "not it"})
    alice.refresh_from_db()
    assert alice.password == old


def test_a_hash_with_djangos_default_argon2_cost_is_rehashed_with_the_configured_one(client, alice, settings):
    django_default = Argon2PasswordHasher()
    old = django_default.encode(ACTOR_PASSWORD, django_default.salt())
    assert "m=102400" in old
    User.objects.filter(pk=alice.pk).update(password=old)
    client.post(reverse("login"), {"username": "alice", "password": ACTOR_PASSWORD})
    alice.refresh_from_db()
    assert f"m={settings.MAILADMIN_ARGON2_MEMORY_KIB},t={settings.MAILADMIN_ARGON2_TIME_COST}," in alice.password
