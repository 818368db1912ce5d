"""Every rule of the mail data, tried through every door (pages, command line, import, Django admin).

A rule lists each door either as one to try or as exempt with the reason; a door that is
neither fails `test_every_rule_has_a_row_for_every_door`, the way a URL without a row fails the
permission matrix. The rules live once, in the write API (users.services, aliases.services):
these tests show no door gets around them.
"""

from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import Permission

from aliases.models import Alias
from mailadmin.models import AuditEntry
from mailadmin.tests import doors
from mailadmin.tests.doors import ALL, CLI, DJANGO_ADMIN, IMPORT_DOOR, WEB
from users.models import Domain, Mailbox

GOOD_PASSWORD = "a long enough passphrase 42"
# The command line is the machine's own administrator: the panel's scope does not apply to it.
CLI_IS_ROOT = "the command line is run by the machine's administrator, who has every domain"
IMPORT_HAS_NO_DOMAINS = "imports hold mailboxes and aliases, not domains"
TYPED_ONLY = "this door takes a typed password only, never a stored hash"


@dataclass
class Rule:
    name: str
    check: callable
    exempt: dict = field(default_factory=dict)

    @property
    def doors(self):
        return [name for name in ALL if name not in self.exempt]


def _allow_in_django_admin(user, *codenames):
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))


# --- The rules ------------------------------------------------------------------------------


def addresses_are_stored_lowercase(door, alice, **_):
    assert door.add_mailbox(alice, "Jane.Doe@A.Example", GOOD_PASSWORD).done
    assert list(Mailbox.objects.values_list("email", flat=True)) == ["jane.doe@a.example"]


def a_duplicate_mailbox_is_a_clear_error(door, alice, jane_mailbox, **_):
    outcome = door.add_mailbox(alice, "JANE@a.example", GOOD_PASSWORD)
    assert not outcome.done
    assert "already exists" in outcome.message
    assert Mailbox.objects.count() == 1


def a_forwarding_loop_is_refused(door, alice, **_):
    assert door.add_alias(alice, "p@a.example", "q@a.example").done
    outcome = door.add_alias(alice, "q@a.example", "p@a.example")
    assert not outcome.done
    assert "alias loop" in outcome.message
    assert list(Alias.objects.values_list("source", flat=True)) == ["p@a.example"]


def keeping_a_copy_is_allowed(door, alice, jane_mailbox, **_):
    # The guide's way for a mailbox to forward and keep a copy: a row to itself beside the forward.
    assert door.add_alias(alice, "jane@a.example", "jane@elsewhere.example").done
    assert door.add_alias(alice, "jane@a.example", "jane@a.example").done
    assert Alias.objects.filter(source="jane@a.example").count() == 2


def a_weak_password_is_refused(door, alice, **_):
    outcome = door.add_mailbox(alice, "weak@a.example", "short")
    assert not outcome.done
    assert "too short" in outcome.message
    assert not Mailbox.objects.exists()


def a_mailbox_name_dovecot_cannot_log_in_is_refused(door, alice, **_):
    outcome = door.add_mailbox(alice, "o'brien@a.example", GOOD_PASSWORD)
    assert not outcome.done
    assert "cannot be a mailbox name" in outcome.message
    assert not door.add_mailbox(alice, "jane+work@a.example", GOOD_PASSWORD).done  # the recipient delimiter
    assert not Mailbox.objects.exists()


def a_password_with_a_control_character_is_refused(door, alice, **_):
    outcome = door.add_mailbox(alice, "ctl@a.example", "a long enough\x07passphrase 42")
    assert not outcome.done
    assert "control character" in outcome.message
    assert not Mailbox.objects.exists()


def a_plaintext_scheme_is_validated_and_hashed(door, alice, **_):
    refused = door.add_mailbox(alice, "weak@a.example", "{PLAIN}x")
    assert not refused.done and "too short" in refused.message
    assert door.add_mailbox(alice, "ok@a.example", "{PLAIN}" + GOOD_PASSWORD).done
    assert Mailbox.objects.get().password.startswith("{BLF-CRYPT}$2y$")


def an_expensive_hash_is_refused(door, alice, **_):
    costly = "{BLF-CRYPT}$2y$16$" + "a" * 53
    outcome = door.add_mailbox(alice, "costly@a.example", costly)
    assert not outcome.done
    assert "cost" in outcome.message
    assert not Mailbox.objects.exists()


def a_domain_admin_cannot_add_a_domain(door, bob, **_):
    # Even with Django's own add_domain permission.
    _allow_in_django_admin(bob, "add_domain", "view_domain")
    outcome = door.add_domain(bob, "new.example")
    assert not outcome.done
    assert not Domain.objects.filter(name="new.example").exists()


def a_domain_admin_cannot_touch_another_domain(door, bob, **_):
    _allow_in_django_admin(bob, "add_mailbox", "view_mailbox", "add_alias", "view_alias")
    assert not door.add_mailbox(bob, "intruder@b.example", GOOD_PASSWORD).done
    assert not door.add_alias(bob, "intruder@b.example", "x@a.example").done
    assert not Mailbox.objects.filter(email="intruder@b.example").exists()
    assert not Alias.objects.filter(source="intruder@b.example").exists()


VIA = {WEB: "panel", CLI: "cli", IMPORT_DOOR: "import", DJANGO_ADMIN: "django-admin"}


def every_change_is_audited_with_its_door(door, alice, **_):
    assert door.add_mailbox(alice, "logged@a.example", GOOD_PASSWORD).done
    entry = AuditEntry.objects.get(object_repr="logged@a.example")
    assert (entry.action, entry.via) == ("create", VIA[door.name])
    assert "password" in entry.changes and GOOD_PASSWORD not in str(entry.changes)


RULES = [
    Rule("addresses are stored lowercase", addresses_are_stored_lowercase),
    Rule(
        "a duplicate mailbox is a clear error",
        a_duplicate_mailbox_is_a_clear_error,
        exempt={IMPORT_DOOR: "an import row for an existing address changes that mailbox (the dry run says so)"},
    ),
    Rule("a forwarding loop is refused", a_forwarding_loop_is_refused),
    Rule("keeping a copy is allowed", keeping_a_copy_is_allowed),
    Rule("a weak password is refused", a_weak_password_is_refused),
    Rule("a mailbox name Dovecot cannot log in is refused", a_mailbox_name_dovecot_cannot_log_in_is_refused),
    Rule("a password with a control character is refused", a_password_with_a_control_character_is_refused),
    Rule(
        "a plaintext scheme is validated and hashed",
        a_plaintext_scheme_is_validated_and_hashed,
        exempt={WEB: TYPED_ONLY, CLI: TYPED_ONLY, DJANGO_ADMIN: TYPED_ONLY},
    ),
    Rule(
        "an expensive hash is refused",
        an_expensive_hash_is_refused,
        exempt={WEB: TYPED_ONLY, CLI: TYPED_ONLY, DJANGO_ADMIN: TYPED_ONLY},
    ),
    Rule(
        "a domain admin cannot add a domain",
        a_domain_admin_cannot_add_a_domain,
        exempt={CLI: CLI_IS_ROOT, IMPORT_DOOR: IMPORT_HAS_NO_DOMAINS},
    ),
    Rule("a domain admin cannot touch another domain", a_domain_admin_cannot_touch_another_domain, exempt={CLI: CLI_IS_ROOT}),
    Rule("every change is audited with its door", every_change_is_audited_with_its_door),
]


def test_every_rule_has_a_row_for_every_door():
    for rule in RULES:
        assert set(rule.doors) | set(rule.exempt) == set(ALL), rule.name
        assert all(rule.exempt.values()), f"{rule.name}: an exemption needs its reason"


@pytest.mark.parametrize(
    "rule, door_name",
    [pytest.param(rule, name, id=f"{rule.check.__name__}-{name}") for rule in RULES for name in rule.doors],
)
def test_the_rule_holds_through_the_door(rule, door_name, client, alice, bob, domain_a, domain_b, request):
    fixtures = {"alice": alice, "bob": bob}
    if "jane_mailbox" in rule.check.__code__.co_varnames:
        fixtures["jane_mailbox"] = request.getfixturevalue("jane_mailbox")
    # Actors the command line stands for: the machine's administrator whoever is named.
    rule.check(doors.door(door_name, client), **fixtures)


def test_simultaneous_adds_in_the_django_admin_are_one_row_and_clear_errors(client, alice, domain_a):
    """The unique key decides a race; the loser gets the form's own error, never a 500."""
    door = doors.DjangoAdminDoor(client)
    first = door.add_mailbox(alice, "race@a.example", GOOD_PASSWORD)
    second = door.add_mailbox(alice, "race@a.example", GOOD_PASSWORD)
    assert first.done and not second.done and "already exists" in second.message
    assert Mailbox.objects.filter(email="race@a.example").count() == 1




@pytest.mark.django_db(transaction=True)
def test_twenty_simultaneous_adds_in_the_django_admin_give_one_row_and_no_500(mariadb):
    import threading

    from django.contrib.auth.models import User
    from django.db import connections
    from django.test import Client

    domain = Domain.objects.create(name="race.example")
    alice = User.objects.create_superuser("race-alice", password="x" * 20)
    statuses, start = [], threading.Barrier(20)

    def add():
        client = Client()
        client.force_login(alice)
        start.wait()
        form = {"domain": domain.pk, "email": "same@race.example", "quota": "0",
                "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD}
        statuses.append(client.post("/django-admin/users/mailbox/add/", form).status_code)
        connections.close_all()

    threads = [threading.Thread(target=add) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(statuses) == 20 and all(status in (200, 302) for status in statuses), statuses
    assert Mailbox.objects.filter(email="same@race.example").count() == 1
