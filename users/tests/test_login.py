"""Logging in: mailbox users with their mail password, staff with their panel password; the same
answer for unknown addresses; upgrade-on-login; the fail2ban line; throttling by django-axes."""

import logging
import re
import time

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from conftest import ACTOR_PASSWORD, MAILBOX_PASSWORD
from users import passwords
from users.auth_backends import loggable_name
from users.models import Mailbox

LOGIN = "/login/"
FAIL2BAN_FAILREGEX = re.compile(
    # contrib/fail2ban/mailadmin.conf with <HOST> written out for IPv4/IPv6 addresses.
    r"mailadmin login failed: rhost=(?P<host>[0-9A-Fa-f:.]+) user=\S*$"
)


def log_in(client, username, password):
    return client.post(LOGIN, {"username": username, "password": password})


def test_it_logs_a_mailbox_user_in_with_the_mail_password(client, jane_mailbox):
    response = log_in(client, "jane@a.example", MAILBOX_PASSWORD)
    assert response.status_code == 302
    assert client.get(response.url, follow=True).request["PATH_INFO"] == reverse("account")
    user = User.objects.get(username="jane@a.example")
    assert not user.is_staff and not user.has_usable_password()


def test_the_first_login_makes_a_non_staff_account_without_a_password_copy(client, jane_mailbox):
    assert not User.objects.filter(username="jane@a.example").exists()
    log_in(client, "jane@a.example", MAILBOX_PASSWORD)
    user = User.objects.get(username="jane@a.example")
    assert not user.is_staff and not user.is_superuser
    assert user.password.startswith("!")  # unusable: the only hash is the Dovecot one


def test_it_accepts_the_address_in_capitals_and_logs_in_the_stored_address(client, jane_mailbox):
    assert log_in(client, "  Jane@A.Example ", MAILBOX_PASSWORD).status_code == 302
    assert client.get(reverse("account")).context["mailbox"] == jane_mailbox


def test_it_rejects_a_wrong_mail_password(client, jane_mailbox):
    response = log_in(client, "jane@a.example", "not the password at all")
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert client.get(reverse("account")).status_code == 302


def test_unknown_and_known_addresses_get_the_same_answer(client, jane_mailbox):
    known = log_in(client, "jane@a.example", "wrong password 1")
    unknown = log_in(client, "nobody@a.example", "wrong password 1")
    assert known.status_code == unknown.status_code == 200
    assert known.context["form"].non_field_errors() == unknown.context["form"].non_field_errors()


def _median_login_time(client, username, runs=5):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        log_in(client, username, "wrong password for timing")
        times.append(time.perf_counter() - start)
    return sorted(times)[runs // 2]


@pytest.mark.parametrize("scheme", ["BLF-CRYPT", "ARGON2ID"])
def test_an_unknown_address_costs_as_much_time_as_a_known_one(client, jane_mailbox, settings, scheme):
    settings.AXES_ENABLED = False
    # Django's own hasher runs for every login (ModelBackend); made cheap so the mailbox check shows.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MAILADMIN_PASSWORD_SCHEME = scheme
    settings.MAILADMIN_BCRYPT_COST = 12  # slow enough that the hash dominates the request
    jane_mailbox.password = passwords.hash_password(MAILBOX_PASSWORD, scheme, bcrypt_cost=12)
    jane_mailbox.save()
    known = _median_login_time(client, "jane@a.example")
    unknown = _median_login_time(client, "nobody@a.example")
    # Without the dummy check an unknown address would answer in a fraction of the time.
    assert unknown > 0.5 * known, (known, unknown)
    assert known > 0.5 * unknown, (known, unknown)


def test_staff_log_in_with_their_panel_password_not_through_a_mailbox(client, alice):
    assert log_in(client, "alice", ACTOR_PASSWORD).status_code == 302


def test_a_staff_account_named_like_a_mailbox_never_logs_in_with_the_mail_password(client, jane_mailbox):
    User.objects.create_user("jane@a.example", password=ACTOR_PASSWORD, is_staff=True)
    assert log_in(client, "jane@a.example", MAILBOX_PASSWORD).status_code == 200
    assert log_in(client, "jane@a.example", ACTOR_PASSWORD).status_code == 302


def test_a_deactivated_mailbox_account_cannot_log_in(client, jane):
    jane.is_active = False
    jane.save()
    assert log_in(client, "jane@a.example", MAILBOX_PASSWORD).status_code == 200


def test_a_hash_nobody_can_check_refuses_the_login(client, jane_mailbox):
    Mailbox.objects.filter(pk=jane_mailbox.pk).update(password="{NO-SUCH-SCHEME}abc")
    assert log_in(client, "jane@a.example", MAILBOX_PASSWORD).status_code == 200


def test_deleting_the_mailbox_ends_its_sessions(client, jane_mailbox):
    log_in(client, "jane@a.example", MAILBOX_PASSWORD)
    assert client.get(reverse("account")).status_code == 200
    jane_mailbox.delete()
    assert client.get(reverse("account")).status_code == 302


def test_a_password_change_elsewhere_ends_the_mailbox_users_sessions(client, jane_mailbox):
    log_in(client, "jane@a.example", MAILBOX_PASSWORD)
    assert client.get(reverse("account")).status_code == 200
    # An admin (or the server's own script) sets a new hash.
    Mailbox.objects.filter(pk=jane_mailbox.pk).update(
        password=passwords.hash_password("An-admin-set-this-1", "BLF-CRYPT", bcrypt_cost=4)
    )
    assert client.get(reverse("account")).status_code == 302


# --- upgrade on login ---------------------------------------------------------------------------------


def _md5_crypt(password):
    from passlib.hash import md5_crypt

    return "{MD5-CRYPT}" + md5_crypt.hash(password)


WEAK_OR_CHEAP = {
    "plain": lambda password: "{PLAIN}" + password,
    "md5-crypt": _md5_crypt,
    "sha512-crypt": lambda password: passwords.hash_password(password, "SHA512-CRYPT"),
    "cheap-bcrypt": lambda password: passwords.hash_password(password, "BLF-CRYPT", bcrypt_cost=4),
}


@pytest.mark.parametrize("make_hash", WEAK_OR_CHEAP.values(), ids=WEAK_OR_CHEAP.keys())
def test_a_weak_or_old_hash_is_rehashed_with_the_configured_scheme_on_login(client, jane_mailbox, make_hash):
    stored = make_hash(MAILBOX_PASSWORD)
    Mailbox.objects.filter(pk=jane_mailbox.pk).update(password=stored)
    assert log_in(client, "jane@a.example", MAILBOX_PASSWORD).status_code == 302
    jane_mailbox.refresh_from_db()
    assert jane_mailbox.password != stored
    assert jane_mailbox.password.startswith("{BLF-CRYPT}$2y$05$")  # test settings: cost 5
    assert jane_mailbox.check_password(MAILBOX_PASSWORD)
    # and the session made on the old hash survives the upgrade
    assert client.get(reverse("account")).status_code == 200


def test_a_current_hash_is_left_alone(client, jane_mailbox):
    before = jane_mailbox.password
    log_in(client, "jane@a.example", MAILBOX_PASSWORD)
    jane_mailbox.refresh_from_db()
    assert jane_mailbox.password == before


def test_the_setting_turns_the_upgrade_off(client, jane_mailbox, settings):
    settings.MAILADMIN_UPGRADE_HASH_ON_LOGIN = False
    stored = "{PLAIN}" + MAILBOX_PASSWORD
    Mailbox.objects.filter(pk=jane_mailbox.pk).update(password=stored)
    assert log_in(client, "jane@a.example", MAILBOX_PASSWORD).status_code == 302
    jane_mailbox.refresh_from_db()
    assert jane_mailbox.password == stored


def test_a_failed_login_never_upgrades(client, jane_mailbox):
    stored = "{PLAIN}" + MAILBOX_PASSWORD
    Mailbox.objects.filter(pk=jane_mailbox.pk).update(password=stored)
    log_in(client, "jane@a.example", "wrong password here")
    jane_mailbox.refresh_from_db()
    assert jane_mailbox.password == stored


# --- the failed-login line -----------------------------------------------------------------------------


@pytest.fixture
def auth_log(caplog):
    """Lines of the "mailadmin.auth" logger (it does not propagate to the root logger caplog reads)."""
    logger = logging.getLogger("mailadmin.auth")
    logger.addHandler(caplog.handler)
    try:
        yield lambda: [r.getMessage() for r in caplog.records if r.name == "mailadmin.auth"]
    finally:
        logger.removeHandler(caplog.handler)


def test_a_failed_login_is_logged_for_fail2ban_without_the_password(client, jane_mailbox, caplog, auth_log):
    secret = "my-wrong-but-secret-guess"
    log_in(client, "jane@a.example", secret)
    lines = auth_log()
    assert lines == ["mailadmin login failed: rhost=127.0.0.1 user=jane@a.example"]
    assert FAIL2BAN_FAILREGEX.search(lines[0]).group("host") == "127.0.0.1"
    assert secret not in caplog.text


def test_a_successful_login_logs_no_failure(client, jane_mailbox, auth_log):
    log_in(client, "jane@a.example", MAILBOX_PASSWORD)
    assert auth_log() == []


def test_a_crafted_user_name_cannot_name_another_host_to_fail2ban(client, db, auth_log):
    log_in(client, "x rhost=203.0.113.9\nmailadmin login failed: rhost=198.51.100.7 user=y", "pw")
    [line] = auth_log()
    assert "\n" not in line
    assert FAIL2BAN_FAILREGEX.search(line).group("host") == "127.0.0.1"


def test_loggable_name_keeps_addresses_readable():
    assert loggable_name("jane+x@a.example") == "jane+x@a.example"
    assert loggable_name("a b") == "a%20b"
    assert loggable_name(None) == "-"


# --- throttling (django-axes) ---------------------------------------------------------------------------


def test_too_many_failures_lock_the_account_even_with_the_right_password(client, jane_mailbox, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "jane@a.example", "wrong password again")
    response = log_in(client, "jane@a.example", MAILBOX_PASSWORD)
    assert response.status_code == 429
    assert client.get(reverse("account")).status_code == 302


def test_the_lock_counts_one_mailbox_however_it_is_spelled(client, jane_mailbox, settings):
    from axes.models import AccessAttempt

    for i in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            LOGIN,
            {"username": "JANE@a.example" if i % 2 else "jane@A.example", "password": "wrong"},
            REMOTE_ADDR="192.0.2.1",
        )
    # One counter for the (mailbox, client address) pair, not one per spelling.
    [attempt] = AccessAttempt.objects.filter(username="jane@a.example")
    assert attempt.failures_since_start == settings.AXES_FAILURE_LIMIT
    response = client.post(
        LOGIN, {"username": "jane@a.example", "password": MAILBOX_PASSWORD}, REMOTE_ADDR="192.0.2.1"
    )
    assert response.status_code == 429


def test_too_many_failures_from_one_client_lock_that_client(client, jane_mailbox, settings):
    for i in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, f"guess{i}@a.example", "wrong")
    assert log_in(client, "jane@a.example", MAILBOX_PASSWORD).status_code == 429


def test_staff_logins_are_throttled_too(client, alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "alice", "wrong")
    assert log_in(client, "alice", ACTOR_PASSWORD).status_code == 429
