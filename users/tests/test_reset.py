"""Reset links: made by an admin, by the command line or sent to a recovery address; they work
once, expire, die with any password change, and are stored only as a hash."""

import hashlib
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import MAILBOX_PASSWORD
from users import recovery, services
from users.models import Mailbox, PasswordResetToken, RecoveryAddress
from mailadmin.operator import Operator

NEW_PASSWORD = "reset-to-this-Passw0rd"
LINK = re.compile(r"https?://[^/\s]+(/reset/[A-Za-z0-9_-]+/)")


def make_link(client, staff, mailbox):
    client.force_login(staff)
    response = client.post(reverse("mailbox-reset-link", kwargs={"pk": mailbox.pk}))
    assert response.status_code == 200
    return LINK.search(response.content.decode()).group(1)


def use_link(path, password=NEW_PASSWORD, password2=None):
    """Open the link in a fresh browser session and choose a password; the final response."""
    visitor = Client()
    opened = visitor.get(path)
    if opened.status_code != 302:
        return opened
    assert opened.url == reverse("password-reset-set")
    return visitor.post(
        opened.url, {"new_password1": password, "new_password2": password if password2 is None else password2}
    )


def test_an_admin_makes_a_link_that_sets_a_new_password(client, bob, jane_mailbox):
    path = make_link(client, bob, jane_mailbox)
    response = use_link(path)
    assert response.status_code == 302 and response.url == reverse("login")
    jane_mailbox.refresh_from_db()
    assert jane_mailbox.check_password(NEW_PASSWORD)
    assert jane_mailbox.password.startswith("{BLF-CRYPT}")


def test_the_admins_page_holding_the_link_is_never_cached(client, bob, jane_mailbox):
    client.force_login(bob)
    response = client.post(reverse("mailbox-reset-link", kwargs={"pk": jane_mailbox.pk}))
    assert "no-store" in response["Cache-Control"]


def test_an_admin_of_another_domain_cannot_make_a_link(client, carol, jane_mailbox):
    client.force_login(carol)
    assert client.post(reverse("mailbox-reset-link", kwargs={"pk": jane_mailbox.pk})).status_code == 404
    assert not PasswordResetToken.objects.exists()


def test_a_link_works_once(client, bob, jane_mailbox):
    path = make_link(client, bob, jane_mailbox)
    assert use_link(path).status_code == 302
    again = use_link(path, "yet-another-Passw0rd-3")
    assert again.status_code == 200 and "does not work" in again.content.decode()
    jane_mailbox.refresh_from_db()
    assert jane_mailbox.check_password(NEW_PASSWORD)


def test_a_link_expires(client, bob, jane_mailbox, settings):
    path = make_link(client, bob, jane_mailbox)
    PasswordResetToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert "does not work" in use_link(path).content.decode()
    assert Mailbox.objects.get(pk=jane_mailbox.pk).check_password(MAILBOX_PASSWORD)


def test_a_link_lives_as_long_as_the_setting_says(client, bob, jane_mailbox, settings):
    settings.MAILADMIN_RESET_LINK_HOURS = 2
    make_link(client, bob, jane_mailbox)
    lifetime = PasswordResetToken.objects.get().expires_at - timezone.now()
    assert timedelta(hours=1, minutes=59) < lifetime <= timedelta(hours=2)


def test_a_link_dies_with_a_password_change_by_any_route(client, bob, jane_mailbox):
    path = make_link(client, bob, jane_mailbox)
    services.set_password(Operator.command_line(), Mailbox.objects.get(pk=jane_mailbox.pk), "an-admin-changed-Passw0rd")
    assert "does not work" in use_link(path).content.decode()


def test_a_link_dies_when_the_server_changes_the_hash_behind_the_panel(client, bob, jane_mailbox):
    path = make_link(client, bob, jane_mailbox)
    Mailbox.objects.filter(pk=jane_mailbox.pk).update(password="{PLAIN}set-by-a-script-elsewhere")
    assert "does not work" in use_link(path).content.decode()


def test_a_new_link_replaces_the_older_one(client, bob, jane_mailbox):
    first = make_link(client, bob, jane_mailbox)
    second = make_link(client, bob, jane_mailbox)
    assert "does not work" in use_link(first).content.decode()
    assert use_link(second).status_code == 302


def test_only_a_hash_of_the_token_is_stored(client, bob, jane_mailbox):
    path = make_link(client, bob, jane_mailbox)
    token = path.split("/")[2]
    row = PasswordResetToken.objects.get()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = " ".join(str(value) for value in PasswordResetToken.objects.values_list().get())
    assert token not in stored


def test_the_token_leaves_the_address_bar_before_the_form(client, bob, jane_mailbox):
    path = make_link(client, bob, jane_mailbox)
    visitor = Client()
    response = visitor.get(path, follow=True)
    assert response.request["PATH_INFO"] == reverse("password-reset-set")
    assert path.split("/")[2] not in response.content.decode()


def test_the_new_password_must_pass_the_validators_and_the_link_survives(client, bob, jane_mailbox):
    path = make_link(client, bob, jane_mailbox)
    visitor = Client()
    visitor.get(path)
    response = visitor.post(reverse("password-reset-set"), {"new_password1": "short", "new_password2": "short"})
    assert response.status_code == 200
    assert "too short" in response.content.decode()
    response = visitor.post(
        reverse("password-reset-set"), {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 302


def test_a_forged_or_missing_token_opens_nothing(db):
    visitor = Client()
    assert "does not work" in visitor.get(reverse("password-reset-confirm", kwargs={"token": "x" * 43})).content.decode()
    assert "does not work" in visitor.get(reverse("password-reset-set")).content.decode()


def test_a_link_of_a_deleted_mailbox_opens_nothing(client, bob, jane_mailbox):
    path = make_link(client, bob, jane_mailbox)
    # Deleted by the server's own SQL: the panel's token row is left behind (no FK constraint).
    Mailbox.objects.filter(pk=jane_mailbox.pk)._raw_delete(Mailbox.objects.db)
    assert PasswordResetToken.objects.exists()
    assert "does not work" in use_link(path).content.decode()


def test_the_reset_ends_the_mailbox_users_sessions(client, bob, jane_mailbox):
    jane_browser = Client()
    jane_browser.post("/login/", {"username": "jane@a.example", "password": MAILBOX_PASSWORD})
    assert jane_browser.get(reverse("account")).status_code == 200
    use_link(make_link(client, bob, jane_mailbox))
    assert jane_browser.get(reverse("account")).status_code == 302


# --- forgot password: the link goes to the recovery address -------------------------------------------


def forgot(address):
    return Client().post(reverse("password-reset-request"), {"address": address})


def test_forgot_password_mails_a_link_to_the_recovery_address(jane_mailbox, mailoutbox):
    RecoveryAddress.objects.create(mailbox=jane_mailbox, address="jane.private@elsewhere.example")
    response = forgot("Jane@A.example")
    assert response.status_code == 302 and response.url == reverse("password-reset-sent")
    [mail] = mailoutbox
    assert mail.to == ["jane.private@elsewhere.example"]
    path = LINK.search(mail.body).group(1)
    assert use_link(path).status_code == 302
    assert Mailbox.objects.get(pk=jane_mailbox.pk).check_password(NEW_PASSWORD)


@pytest.mark.parametrize("address", ["nobody@a.example", "jane@a.example", "not an address"])
def test_forgot_password_answers_the_same_without_a_mailbox_or_recovery_address(jane_mailbox, mailoutbox, address):
    response = forgot(address)
    assert response.status_code == 302 and response.url == reverse("password-reset-sent")
    assert mailoutbox == []


def test_forgot_password_sends_at_most_one_link_in_a_while(jane_mailbox, mailoutbox):
    RecoveryAddress.objects.create(mailbox=jane_mailbox, address="jane.private@elsewhere.example")
    for _ in range(3):
        assert forgot("jane@a.example").status_code == 302
    assert len(mailoutbox) == 1
    PasswordResetToken.objects.update(created_at=timezone.now() - recovery.RECOVERY_MAIL_INTERVAL)
    forgot("jane@a.example")
    assert len(mailoutbox) == 2


# --- the command line ----------------------------------------------------------------------------------


def test_the_command_prints_a_working_link(jane_mailbox):
    out = StringIO()
    call_command("resetlink", "Jane@a.example", "--base-url", "https://mail.example.org/", stdout=out)
    url = out.getvalue().strip()
    assert url.startswith("https://mail.example.org/reset/")
    assert use_link(url.removeprefix("https://mail.example.org")).status_code == 302
    assert PasswordResetToken.objects.get().origin == PasswordResetToken.COMMAND


def test_the_command_refuses_an_unknown_mailbox(db):
    with pytest.raises(CommandError, match="no mailbox"):
        call_command("resetlink", "nobody@a.example", stdout=StringIO())
