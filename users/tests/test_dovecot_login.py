"""The real Dovecot agrees with the panel: after a password change through the web page, and after
an upgrade-on-login, `doveadm auth test` on a private Dovecot reading the test MariaDB accepts
the password the user now has and rejects the old one.

The private Dovecot (mailadmin.testing.dovecot) uses the guide's password_query; the password
reaches doveadm on standard input, never in its arguments.
"""

import subprocess

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from passlib.hash import sha512_crypt

from conftest import MAILBOX_PASSWORD, require_or_skip
from mailadmin.testing import doveadm
from mailadmin.testing import dovecot as private_dovecot
from mailadmin.testing.dovecot import MailDatabase, PrivateDovecot
from users.models import Domain, Mailbox

NEW_PASSWORD = "changed-on-the-web-Passw0rd"

pytestmark = [pytest.mark.dovecot, pytest.mark.mariadb, pytest.mark.django_db(transaction=True)]


def dovecot_accepts(dovecot, user, password):
    """`doveadm auth test USER` against the private Dovecot, the password on stdin.

    Without a password argument and without a terminal (its own session), doveadm 2.3 reads the
    password from stdin. Exit 0: "auth succeeded"; 77: "auth failed"."""
    result = subprocess.run(
        [
            doveadm.path(), "-c", str(dovecot.config_file),
            "auth", "test", "-a", str(dovecot.base_dir / "auth-client"), user,
        ],
        input=(password + "\n").encode(),
        capture_output=True,
        timeout=60,
        start_new_session=True,
    )  # fmt: skip
    output = result.stdout.decode(errors="replace")
    if result.returncode not in (0, 77):
        raise AssertionError(f"doveadm auth test failed to run ({result.returncode}): {output} {result.stderr!r}")
    return result.returncode == 0 and "auth succeeded" in output


@pytest.fixture
def dovecot(transactional_db):
    if connection.vendor != "mysql":
        pytest.skip("needs MariaDB (run with TEST_DATABASE_URL=mysql://...)")
    missing = private_dovecot.binaries_missing() + ([] if doveadm.available() else ["doveadm"])
    require_or_skip(not missing, f"missing {', '.join(missing)}")
    with PrivateDovecot(MailDatabase.from_django(connection)) as server:
        yield server


@pytest.fixture
def jane_row(transactional_db):
    domain = Domain.objects.create(name="a.example")
    mailbox = Mailbox(domain=domain, email="jane@a.example")
    mailbox.set_password(MAILBOX_PASSWORD)
    mailbox.save()
    return mailbox


def web_login(client, password):
    return client.post("/login/", {"username": "jane@a.example", "password": password})


def test_dovecot_takes_the_password_changed_on_the_web_page_and_not_the_old_one(dovecot, jane_row):
    assert dovecot_accepts(dovecot, "jane@a.example", MAILBOX_PASSWORD)
    client = Client()
    assert web_login(client, MAILBOX_PASSWORD).status_code == 302
    response = client.post(
        reverse("account-password"),
        {"current_password": MAILBOX_PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert dovecot_accepts(dovecot, "jane@a.example", NEW_PASSWORD)
    assert not dovecot_accepts(dovecot, "jane@a.example", MAILBOX_PASSWORD)


def test_after_an_upgrade_from_sha512_crypt_the_same_password_still_logs_in_to_dovecot(dovecot, jane_row):
    old_hash = "{SHA512-CRYPT}" + sha512_crypt.using(rounds=5000).hash(MAILBOX_PASSWORD)
    Mailbox.objects.filter(pk=jane_row.pk).update(password=old_hash)
    assert dovecot_accepts(dovecot, "jane@a.example", MAILBOX_PASSWORD)
    assert web_login(Client(), MAILBOX_PASSWORD).status_code == 302
    upgraded = Mailbox.objects.get(pk=jane_row.pk).password
    assert upgraded.startswith("{BLF-CRYPT}$2y$") and upgraded != old_hash
    assert dovecot_accepts(dovecot, "jane@a.example", MAILBOX_PASSWORD)
    assert not dovecot_accepts(dovecot, "jane@a.example", "not-the-Passw0rd-at-all")


def test_dovecot_takes_the_password_set_through_a_reset_link(dovecot, jane_row):
    from users import recovery
    from users.models import PasswordResetToken

    token = recovery.make_link_token(jane_row, PasswordResetToken.ADMIN)
    visitor = Client()
    visitor.get(recovery.link_path(token))
    response = visitor.post(
        reverse("password-reset-set"), {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert dovecot_accepts(dovecot, "jane@a.example", NEW_PASSWORD)
    assert not dovecot_accepts(dovecot, "jane@a.example", MAILBOX_PASSWORD)
