"""Mailbox addresses the real Dovecot can log in, and quotas that are whole numbers of bytes.

The live test stores a mailbox for every local-part character class an address may hold (the rows
written directly, as a legacy database or another tool would), then asks a private Dovecot reading
the test MariaDB with the guide's password_query whether its owner can log in (`doveadm auth test`,
the password on stdin): exactly the addresses the panel accepts for a mailbox log in.
"""

import pytest
from django.db import connection

from conftest import require_or_skip
from mailadmin.testing import doveadm
from mailadmin.testing import dovecot as private_dovecot
from mailadmin.testing.dovecot import MailDatabase, PrivateDovecot
from users.addresses import DOVECOT_USERNAME_CHARS, AddressError, mailbox_address, normalize_address, parse_quota
from users.models import Domain, Mailbox
from users.passwords import hash_password
from users.tests.test_dovecot_login import dovecot_accepts

PASSWORD = "a-throwaway-Passw0rd"
# One local part per character class RFC 5322's dot-atom allows (what the alias rules accept).
LOCAL_PARTS = {
    "letters": "jane", "digits": "2024", "dot": "jane.doe", "hyphen": "jane-doe", "underscore": "jane_doe",
    "plus": "jane+news", "apostrophe": "o'neil", "bang": "hey!you", "hash": "no#1", "dollar": "cash$",
    "percent": "a%b", "ampersand": "r&d", "asterisk": "star*", "slash": "a/b", "equals": "a=b",
    "question": "why?", "caret": "a^b", "backtick": "a`b", "braces": "{x}", "pipe": "a|b", "tilde": "~jane",
}  # fmt: skip


def panel_accepts(address, **rules):
    try:
        mailbox_address(address, **rules)
    except AddressError:
        return False
    return True


@pytest.mark.parametrize("kind", LOCAL_PARTS)
def test_every_local_part_an_alias_may_use_is_still_a_valid_address(kind):
    assert normalize_address(f"{LOCAL_PARTS[kind]}@a.example")


@pytest.mark.parametrize("kind", LOCAL_PARTS)
def test_a_mailbox_needs_a_local_part_of_dovecot_s_username_chars_without_the_delimiter(kind):
    local = LOCAL_PARTS[kind]
    expected = all(ch in DOVECOT_USERNAME_CHARS for ch in local)
    assert panel_accepts(f"{local}@a.example") is expected


def test_the_refusal_says_why_the_owner_could_never_log_in():
    with pytest.raises(AddressError, match=r"'o'neil' cannot be a mailbox name: Dovecot refuses .* never log in"):
        mailbox_address("o'neil@a.example")
    with pytest.raises(AddressError, match=r"'\+' is also Postfix's recipient delimiter"):
        mailbox_address("jane+news@a.example")


def test_a_server_with_other_username_chars_is_followed():
    assert panel_accepts("o'neil@a.example", username_chars=DOVECOT_USERNAME_CHARS + "'")
    assert panel_accepts("jane+news@a.example", username_chars="") is False  # still the delimiter
    assert panel_accepts("jane+news@a.example", username_chars="", recipient_delimiter="")
    assert not panel_accepts("jane.doe@a.example", username_chars="abcdefghijklmnopqrstuvwxyz@")


@pytest.mark.parametrize("typed", ["1.5", "0.5", "1.3K", "2.5B", "1.0000001M"])
def test_a_quota_that_is_not_a_whole_number_of_bytes_is_an_error_not_truncated(typed):
    with pytest.raises(AddressError, match="not a whole number of bytes"):
        parse_quota(typed)


@pytest.mark.parametrize("typed, size", [("1.5G", 1536 * 1024**2), ("1.25K", 1280), ("2.0", 2), ("0.5M", 512 * 1024)])
def test_a_fraction_of_a_unit_that_comes_out_whole_is_fine(typed, size):
    assert parse_quota(typed) == size


# --- Live: the real Dovecot ------------------------------------------------------------------------


@pytest.fixture
def dovecot(transactional_db):
    if connection.vendor != "mysql":
        pytest.skip("needs MariaDB (run with TEST_DATABASE_URL=mysql://...)")
    missing = private_dovecot.binaries_missing() + ([] if doveadm.available() else ["doveadm"])
    require_or_skip(not missing, f"missing {', '.join(missing)}")
    with PrivateDovecot(MailDatabase.from_django(connection)) as server:
        yield server


@pytest.mark.dovecot
@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_exactly_the_mailboxes_the_panel_accepts_can_log_in_to_dovecot(dovecot):
    domain = Domain.objects.create(name="a.example")
    stored = hash_password(PASSWORD, bcrypt_cost=4)
    for local in LOCAL_PARTS.values():
        # Written directly, as a legacy row would be: the panel's mailbox rule is what is under test.
        Mailbox.objects.create(domain=domain, email=f"{local}@a.example", password=stored)
    verdicts = {
        kind: (panel_accepts(f"{local}@a.example"), dovecot_accepts(dovecot, f"{local}@a.example", PASSWORD))
        for kind, local in LOCAL_PARTS.items()
    }
    disagree = {kind: verdict for kind, verdict in verdicts.items() if verdict[0] != verdict[1]}
    assert not disagree, f"(panel, Dovecot) differ: {disagree}"
    assert {kind for kind, (panel, _) in verdicts.items() if panel} == {"letters", "digits", "dot", "hyphen", "underscore"}
