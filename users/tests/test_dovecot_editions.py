"""Passwords across both editions of the guide: Dovecot 2.3 (Bookworm, this machine) and 2.4
(Trixie, from the Trixie root). Every hash is made and checked by the real `doveadm pw`, the
password always on standard input.

What 2.4 changed, found by running both (and shown below):
- `doveadm pw` still writes the guide's `{CRYPT}$2y$05$…` (bcrypt, cost 5) by default;
- the passdb refuses weak schemes unless `auth_allow_weak_schemes = yes` (new, default no):
  MD5-CRYPT, DES-CRYPT, MD5, PLAIN-MD5, PLAIN-MD4, LDAP-MD5, SMD5 and HMAC-MD5 no longer log in;
- `passdb_default_password_scheme` is PLAIN (2.3's SQL driver read a value without a {SCHEME}
  as MD5): an unprefixed "$1$…" would be compared as cleartext, so the hash text itself logs in.
  The panel's generated 2.4 config always names the scheme.
"""

import subprocess

import pytest
from django.db import connection

from conftest import require_or_skip
from mailadmin.testing import dovecot as private_dovecot
from mailadmin.testing.dovecot import MailDatabase, PrivateDovecot
from mailadmin.testing.trixie import MACHINE, doveadm_pw, missing_reason, trixie_root
from users import passwords

PASSWORD = "Summersun-and-more"
EDITIONS = ["bookworm", "trixie"]
# Schemes the guides and the panel use, plus the legacy ones real databases still hold.
SCHEMES = ["CRYPT", "BLF-CRYPT", "SHA512-CRYPT", "SHA256-CRYPT", "ARGON2ID", "ARGON2I", "SSHA512", "SHA256"]
WEAK_IN_24 = ["MD5-CRYPT", "DES-CRYPT", "PLAIN-MD5", "LDAP-MD5", "SMD5"]


def root_of(edition):
    if edition == "bookworm":
        require_or_skip(MACHINE.executable("/usr/bin/doveadm"), "missing doveadm")
        return MACHINE
    reason = missing_reason()
    require_or_skip(reason is None, reason or "")
    return trixie_root()


def make_hash(root, scheme=None):
    result = doveadm_pw(root, ["-s", scheme] if scheme else [], f"{PASSWORD}\n{PASSWORD}\n")
    assert result.returncode == 0, result.stderr
    return result.stdout.decode().strip()


def doveadm_verifies(root, stored, password):
    result = doveadm_pw(root, ["-t", stored], password + "\n")
    return result.returncode == 0 and b"(verified)" in result.stdout


@pytest.mark.dovecot
@pytest.mark.parametrize("edition", EDITIONS)
def test_doveadm_pw_writes_the_guides_crypt_bcrypt_at_cost_5_in_both_editions(edition):
    stored = make_hash(root_of(edition))
    assert stored.startswith("{CRYPT}$2y$05$"), stored
    assert passwords.verify_password(PASSWORD, stored)
    assert not passwords.verify_password(PASSWORD + "x", stored)


@pytest.mark.dovecot
@pytest.mark.parametrize("writer", EDITIONS)
@pytest.mark.parametrize("reader", EDITIONS)
@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_hash_one_edition_writes_the_other_and_the_panel_read(writer, reader, scheme):
    stored = make_hash(root_of(writer), scheme)
    assert stored.startswith("{" + scheme + "}")
    assert doveadm_verifies(root_of(reader), stored, PASSWORD)
    assert not doveadm_verifies(root_of(reader), stored, PASSWORD + "x")
    assert passwords.verify_password(PASSWORD, stored)
    assert not passwords.verify_password(PASSWORD + "x", stored)


@pytest.mark.dovecot
@pytest.mark.parametrize("edition", EDITIONS)
@pytest.mark.parametrize("scheme", passwords.WRITABLE_SCHEMES)
def test_every_hash_the_panel_writes_verifies_in_both_editions(edition, scheme):
    stored = passwords.hash_password(PASSWORD, scheme, bcrypt_cost=5)
    assert doveadm_verifies(root_of(edition), stored, PASSWORD)
    assert not doveadm_verifies(root_of(edition), stored, PASSWORD + "x")


# --- logging in through a private Dovecot of each edition ------------------------------------


def auth_test(dovecot, user, password):
    root = dovecot.root
    result = subprocess.run(
        root.command(["doveadm", "-c", root.inside(dovecot.config_file), "auth", "test",
                      "-a", root.inside(dovecot.base_dir / "auth-client"), user]),
        input=(password + "\n").encode(),
        capture_output=True,
        timeout=60,
        start_new_session=True,
    )  # fmt: skip
    # 0 succeeded, 77 failed; 75 is a temporary failure (2.4 logs "Weak password scheme … refused").
    assert result.returncode in (0, 75, 77), result.stdout + result.stderr
    return result.returncode == 0


@pytest.fixture
def hash_rows(transactional_db):
    if connection.vendor != "mysql":
        pytest.skip("needs MariaDB (run with TEST_DATABASE_URL=mysql://...)")
    from users.models import Domain, Mailbox

    domain = Domain.objects.create(name="a.example")
    rows = {}
    for scheme in ["BLF-CRYPT", "SHA512-CRYPT", *WEAK_IN_24]:
        stored = make_hash(MACHINE, scheme)
        email = f"{scheme.lower()}@a.example"
        Mailbox.objects.create(domain=domain, email=email, password=stored)
        rows[scheme] = email
    md5_crypt = make_hash(MACHINE, "MD5-CRYPT")
    Mailbox.objects.create(domain=domain, email="bare@a.example", password=md5_crypt.removeprefix("{MD5-CRYPT}"))
    rows["bare"] = "bare@a.example"
    return rows


@pytest.mark.dovecot
@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("edition", EDITIONS)
def test_which_stored_hashes_log_in_on_each_edition(hash_rows, edition):
    root = root_of(edition)
    require_or_skip(not private_dovecot.binaries_missing(root), f"missing dovecot in {root}")
    with PrivateDovecot(MailDatabase.from_django(connection), root=root) as dovecot:
        for scheme in ["BLF-CRYPT", "SHA512-CRYPT"]:
            assert auth_test(dovecot, hash_rows[scheme], PASSWORD), scheme
            assert not auth_test(dovecot, hash_rows[scheme], "wrong"), scheme
        weak_logins = {scheme: auth_test(dovecot, hash_rows[scheme], PASSWORD) for scheme in WEAK_IN_24}
        bare = hash_rows["bare"]
        bare_stored = dovecot_stored(bare)
        bare_by_password = auth_test(dovecot, bare, PASSWORD)
        bare_by_its_own_text = auth_test(dovecot, bare, bare_stored)
    if edition == "bookworm":
        assert all(weak_logins.values()), weak_logins
        # 2.3's SQL default scheme (MD5) reads "$1$…" as MD5-CRYPT.
        assert bare_by_password and not bare_by_its_own_text
    else:
        assert not any(weak_logins.values()), weak_logins
        # 2.4's default is PLAIN: the stored hash text is the password.
        assert not bare_by_password and bare_by_its_own_text


def dovecot_stored(email):
    with connection.cursor() as cursor:
        cursor.execute("SELECT password FROM virtual_users WHERE email=%s", [email])
        return cursor.fetchone()[0]
