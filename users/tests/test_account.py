"""The mailbox user's own page: what it shows, changing the password, the recovery address."""

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from aliases.models import Alias
from conftest import MAILBOX_PASSWORD
from users.models import Mailbox, RecoveryAddress

NEW_PASSWORD = "a-brand-new-Passw0rd-2"


@pytest.fixture
def jane_client(client, jane_mailbox):
    assert client.post("/login/", {"username": "jane@a.example", "password": MAILBOX_PASSWORD}).status_code == 302
    return client


def change(client, current, new1, new2=None):
    return client.post(
        reverse("account-password"),
        {"current_password": current, "new_password1": new1, "new_password2": new1 if new2 is None else new2},
    )


def test_the_page_shows_address_quota_and_sending_rights(jane_client, jane_mailbox):
    Mailbox.objects.filter(pk=jane_mailbox.pk).update(quota=2 * 1024**3)
    Alias.objects.create(domain=jane_mailbox.domain, source="info@a.example", destination="jane@a.example")
    page = jane_client.get(reverse("account")).content.decode()
    assert "jane@a.example" in page
    assert "2 GiB" in page
    assert "info@a.example" in page  # an alias she may send as


def test_the_page_is_only_for_mailbox_users(client, alice, bob, jane):
    assert client.get(reverse("account")).status_code == 302
    client.force_login(bob)
    assert client.get(reverse("account")).status_code == 403


def test_an_account_whose_mailbox_is_gone_gets_no_page(client, db):
    user = User.objects.create(username="ghost@a.example")
    client.force_login(user, backend="mailadmin.staff.backends.StaffBackend")
    assert client.get(reverse("account")).status_code == 403


def test_a_password_change_stores_a_new_hash_with_the_configured_scheme(jane_client, jane_mailbox, settings):
    settings.MAILADMIN_PASSWORD_SCHEME = "ARGON2ID"
    response = change(jane_client, MAILBOX_PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302
    jane_mailbox.refresh_from_db()
    assert jane_mailbox.password.startswith("{ARGON2ID}$argon2id$")
    assert jane_mailbox.check_password(NEW_PASSWORD)
    assert not jane_mailbox.check_password(MAILBOX_PASSWORD)


def test_the_user_stays_logged_in_after_the_change(jane_client):
    change(jane_client, MAILBOX_PASSWORD, NEW_PASSWORD)
    assert jane_client.get(reverse("account")).status_code == 200


def test_the_change_ends_the_users_other_sessions(jane_client, jane_mailbox):
    other = Client()
    other.post("/login/", {"username": "jane@a.example", "password": MAILBOX_PASSWORD})
    assert other.get(reverse("account")).status_code == 200
    change(jane_client, MAILBOX_PASSWORD, NEW_PASSWORD)
    assert other.get(reverse("account")).status_code == 302


def test_the_new_password_logs_in_and_the_old_one_does_not(jane_client):
    change(jane_client, MAILBOX_PASSWORD, NEW_PASSWORD)
    fresh = Client()
    assert fresh.post("/login/", {"username": "jane@a.example", "password": MAILBOX_PASSWORD}).status_code == 200
    assert fresh.post("/login/", {"username": "jane@a.example", "password": NEW_PASSWORD}).status_code == 302


def test_it_rejects_a_wrong_current_password(jane_client, jane_mailbox):
    before = Mailbox.objects.get(pk=jane_mailbox.pk).password
    response = change(jane_client, "not my password", NEW_PASSWORD)
    assert response.status_code == 200
    assert response.context["password_form"].errors["current_password"] == ["Your current password is not correct."]
    assert Mailbox.objects.get(pk=jane_mailbox.pk).password == before


def test_wrong_current_passwords_count_towards_the_login_lock(jane_client, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        change(jane_client, "not my password", NEW_PASSWORD)
    assert change(jane_client, MAILBOX_PASSWORD, NEW_PASSWORD).status_code == 429


@pytest.mark.parametrize(
    "new, message",
    [
        ("short-1A", "This password is too short. It must contain at least 12 characters."),
        ("123456789012345", "This password is entirely numeric."),
        ("password1234", "This password is too common."),
        ("jane@a.example1", "The password is too similar to the email."),
    ],
    ids=["short", "numeric", "common", "like-the-address"],
)
def test_the_validators_explain_what_is_wrong(jane_client, jane_mailbox, new, message):
    response = change(jane_client, MAILBOX_PASSWORD, new)
    assert response.status_code == 200
    assert message in response.context["password_form"].errors["new_password1"]
    assert Mailbox.objects.get(pk=jane_mailbox.pk).check_password(MAILBOX_PASSWORD)


def test_it_rejects_two_different_new_passwords(jane_client):
    response = change(jane_client, MAILBOX_PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x")
    assert response.context["password_form"].errors["new_password2"] == ["The two new passwords differ."]


def test_the_password_pages_are_post_only_and_never_cached(jane_client):
    assert jane_client.get(reverse("account-password")).status_code == 405
    assert "no-store" in jane_client.get(reverse("account"))["Cache-Control"]


# --- recovery address -----------------------------------------------------------------------------------


def test_a_recovery_address_is_stored_with_the_current_password(jane_client, jane_mailbox):
    response = jane_client.post(
        reverse("account-recovery"), {"recovery-address": "Jane.Private@Elsewhere.example", "recovery-current_password": MAILBOX_PASSWORD}
    )
    assert response.status_code == 302
    assert RecoveryAddress.objects.get(mailbox=jane_mailbox).address == "jane.private@elsewhere.example"
    assert "jane.private@elsewhere.example" in jane_client.get(reverse("account")).content.decode()


def test_a_recovery_address_needs_the_current_password(jane_client, jane_mailbox):
    response = jane_client.post(
        reverse("account-recovery"), {"recovery-address": "attacker@evil.example", "recovery-current_password": "guess"}
    )
    assert response.status_code == 200
    assert not RecoveryAddress.objects.filter(mailbox=jane_mailbox).exists()


def test_an_empty_recovery_address_removes_it(jane_client, jane_mailbox):
    RecoveryAddress.objects.create(mailbox=jane_mailbox, address="old@elsewhere.example")
    jane_client.post(reverse("account-recovery"), {"recovery-address": "", "recovery-current_password": MAILBOX_PASSWORD})
    assert not RecoveryAddress.objects.filter(mailbox=jane_mailbox).exists()


def test_the_mailbox_itself_is_no_recovery_address(jane_client, jane_mailbox):
    response = jane_client.post(
        reverse("account-recovery"), {"recovery-address": "jane@a.example", "recovery-current_password": MAILBOX_PASSWORD}
    )
    assert response.status_code == 200
    assert not RecoveryAddress.objects.filter(mailbox=jane_mailbox).exists()


def test_sending_addresses_are_said_in_plain_words_without_other_peoples_addresses(jane_client, jane_mailbox):
    domain = jane_mailbox.domain
    Mailbox.objects.create(domain=domain, email="colleague@a.example", password=jane_mailbox.password)
    Alias.objects.create(domain=domain, source="@a.example", destination="jane@a.example")
    Alias.objects.create(domain=domain, source="team@a.example", destination="jane@a.example")
    Alias.objects.create(domain=domain, source="team@a.example", destination="colleague@a.example")
    Alias.objects.create(domain=domain, source="other@a.example", destination="colleague@a.example")
    page = jane_client.get(reverse("account")).content.decode()
    summary = page[page.index('id="sending-rights"'):page.index('id="change-password"')]
    assert "<strong>jane@a.example</strong> and any <strong>jane+tag@a.example</strong>" in summary
    assert "<strong>team@a.example</strong>" in summary
    assert "everything at <strong>a.example</strong> that has no mailbox or alias of its own" in summary
    assert "colleague" not in summary and "other@" not in summary


def test_the_page_does_not_jump_to_a_form_and_errors_come_back_at_their_form(jane_client):
    page = jane_client.get(reverse("account")).content.decode()
    assert "autofocus" not in page
    response = jane_client.post(reverse("account-recovery"), {"recovery-address": "x@y.example", "recovery-current_password": "wrong"})
    refused = response.content.decode()
    assert 'id="id_recovery-current_password_error"' in refused
    # The wrong field takes the focus (and so the view); nothing else does.
    assert refused.count("autofocus") == 1
    assert re.search(r'<input[^>]*name="recovery-current_password"[^>]*autofocus', refused)
