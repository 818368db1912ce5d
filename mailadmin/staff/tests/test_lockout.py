"""Failed logins lock the (account, client address) pair and the client address; never the
account alone, so failures from elsewhere cannot lock its owner out (README, "Lockout")."""

from axes.models import AccessAttempt
from django.urls import reverse

from conftest import ACTOR_PASSWORD, MAILBOX_PASSWORD

ATTACKER, OWNER, ELSEWHERE = "203.0.113.66", "192.0.2.10", "198.51.100.20"


def log_in(client, username, password, address):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def test_failures_from_one_address_do_not_lock_the_account_from_another(client, alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "alice", "a guess", ATTACKER)
    assert log_in(client, "alice", ACTOR_PASSWORD, ATTACKER).status_code == 429
    assert log_in(client, "alice", ACTOR_PASSWORD, OWNER).status_code == 302


def test_a_client_address_that_fails_too_often_is_locked_for_every_account(client, alice, bob, settings):
    for i in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, f"guess{i}", "a guess", ATTACKER)
    assert log_in(client, "bob", ACTOR_PASSWORD, ATTACKER).status_code == 429
    assert log_in(client, "bob", ACTOR_PASSWORD, ELSEWHERE).status_code == 302


def test_mailbox_users_follow_the_same_policy(client, jane_mailbox, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "jane@a.example", "a guess", ATTACKER)
    assert log_in(client, "jane@a.example", MAILBOX_PASSWORD, ATTACKER).status_code == 429
    assert log_in(client, "jane@a.example", MAILBOX_PASSWORD, OWNER).status_code == 302


def test_failures_spread_over_many_addresses_lock_nobody(client, alice, settings):
    # The price of the policy: a botnet gets AXES_FAILURE_LIMIT guesses per address. The
    # answer is a password no list contains (the validators) and a second factor.
    for i in range(settings.AXES_FAILURE_LIMIT + 2):
        log_in(client, "alice", "a guess", f"203.0.113.{i + 1}")
    assert AccessAttempt.objects.filter(username="alice").count() == settings.AXES_FAILURE_LIMIT + 2
    assert log_in(client, "alice", ACTOR_PASSWORD, OWNER).status_code == 302
