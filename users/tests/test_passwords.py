"""Dovecot-compatible password hashes, proven both ways against the real Dovecot.

The known-answer vectors in vectors/dovecot_vectors.json were made by `doveadm pw` (Dovecot
2.3.19) and keep these tests meaningful where doveadm is missing; the doveadm tests ask the
installed Dovecot live (required when CI=true).
"""

import json
from pathlib import Path

import pytest

from conftest import require_or_skip
from mailadmin.testing import doveadm
from users.passwords import (
    WRITABLE_SCHEMES,
    MalformedHash,
    UnknownScheme,
    generate_password,
    hash_password,
    is_weak,
    needs_upgrade,
    scheme_of,
    verify_password,
)

VECTORS = json.loads((Path(__file__).parent / "vectors" / "dovecot_vectors.json").read_text())["vectors"]
VERIFIED_SCHEMES = [
    "BLF-CRYPT", "SHA512-CRYPT", "SHA256-CRYPT", "MD5-CRYPT", "ARGON2I", "ARGON2ID", "SSHA512", "SSHA256",
    "SSHA", "SHA512", "SHA256", "SHA", "PLAIN-MD5", "PLAIN", "CLEAR", "CLEARTEXT", "SMD5", "LDAP-MD5",
    "SSHA512.HEX", "SHA512.HEX", "PLAIN-MD5.B64", "PLAIN.B64",
]
PASSWORD = "correct horse battery staple"


def needs_doveadm():
    require_or_skip(doveadm.available(), "doveadm is not installed (apt-get install dovecot-core)")


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: f"{v['scheme']}:{v['hash'][:22]}")
def test_hashes_made_by_dovecot_verify_and_wrong_passwords_do_not(vector):
    assert verify_password(vector["password"], vector["hash"])
    assert not verify_password("!" + vector["password"][1:], vector["hash"])
    assert not verify_password("", vector["hash"])


def test_the_vectors_cover_every_scheme_and_variant():
    covered = {vector["hash"][1 : vector["hash"].index("}")] for vector in VECTORS}
    assert set(VERIFIED_SCHEMES) <= covered
    assert any("$2a$" in v["hash"] for v in VECTORS) and any("$2b$" in v["hash"] for v in VECTORS)
    assert any("rounds=" in v["hash"] for v in VECTORS if v["scheme"] == "SHA512-CRYPT")
    assert any("rounds=" in v["hash"] for v in VECTORS if v["scheme"] == "SHA256-CRYPT")


@pytest.mark.dovecot
@pytest.mark.parametrize("scheme", VERIFIED_SCHEMES + ["SSHA.HEX", "SHA256.B64"])
def test_hashes_doveadm_makes_now_verify_in_our_code(scheme):
    needs_doveadm()
    for password in (PASSWORD, "pässwörd €", "x" * 80):
        stored = doveadm.make_hash(scheme, password)
        assert verify_password(password, stored), stored
        assert not verify_password("!" + password[1:], stored), stored


@pytest.mark.dovecot
@pytest.mark.parametrize("scheme", WRITABLE_SCHEMES)
def test_every_hash_we_write_verifies_with_doveadm(scheme):
    needs_doveadm()
    for password in (PASSWORD, "pässwörd €"):
        stored = hash_password(password, scheme, bcrypt_cost=5)
        assert doveadm.verifies(stored, password), stored
        assert not doveadm.verifies(stored, "!" + password[1:]), stored


@pytest.mark.parametrize(
    "scheme, prefix",
    [("BLF-CRYPT", "{BLF-CRYPT}$2y$05$"), ("ARGON2ID", "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$"), ("SHA512-CRYPT", "{SHA512-CRYPT}$6$")],
)
def test_we_write_the_form_dovecot_writes(scheme, prefix):
    stored = hash_password(PASSWORD, scheme, bcrypt_cost=5)
    assert stored.startswith(prefix)
    assert verify_password(PASSWORD, stored)


def test_blf_crypt_uses_cost_12_unless_configured():
    assert hash_password(PASSWORD).startswith("{BLF-CRYPT}$2y$12$")


def test_bcrypt_reads_72_bytes_like_dovecot():
    """Dovecot's bcrypt ignores bytes after the 72nd (seen with doveadm pw -t); so do we."""
    stored = hash_password("x" * 72 + "tail one", bcrypt_cost=5)
    assert verify_password("x" * 72 + "other tail", stored)
    assert not verify_password("x" * 71, stored)


def test_scheme_names_are_case_insensitive():
    stored = hash_password(PASSWORD, "sha512-crypt")
    assert verify_password(PASSWORD, stored.replace("{SHA512-CRYPT}", "{sha512-crypt}"))
    assert verify_password(PASSWORD, "{plain}" + PASSWORD)


def test_a_value_without_a_prefix_uses_the_default_scheme():
    md5 = next(v for v in VECTORS if v["scheme"] == "MD5-CRYPT")
    bare = md5["hash"][len("{MD5-CRYPT}") :]
    assert verify_password(md5["password"], bare)  # Dovecot's SQL default: MD5-CRYPT
    assert scheme_of(bare) == "MD5-CRYPT"
    assert verify_password("hunter2", "hunter2", default_scheme="PLAIN")
    assert scheme_of("hunter2", default_scheme="PLAIN") == "PLAIN"


def test_an_unknown_scheme_is_an_error_never_a_plaintext_comparison():
    with pytest.raises(UnknownScheme, match="'NOPE'"):
        verify_password("secret", "{NOPE}secret")
    with pytest.raises(UnknownScheme):
        verify_password("secret", "{}secret")


@pytest.mark.parametrize(
    "stored",
    [
        "{BLF-CRYPT}$2y$05$tooshort",
        "{BLF-CRYPT}plaintext-looking-value",
        "{SHA512-CRYPT}$1$wrong$family",
        "{ARGON2ID}$argon2i$v=19$m=65536,t=3,p=1$abc$def",
        "{ARGON2ID}$argon2id$garbage",
        "{SSHA512}not base64!!",
        "{SSHA}AAAA",
        "{SHA256}c2hvcnQ=",
        "{SHA512.HEX}zz",
        "{PLAIN-MD5",
    ],
)
def test_a_malformed_value_is_an_error_that_names_no_secret(stored):
    with pytest.raises((MalformedHash, UnknownScheme)) as excinfo:
        verify_password("s3cret-password", stored)
    assert "s3cret-password" not in str(excinfo.value)
    assert stored[stored.find("}") + 1 :] not in str(excinfo.value) or stored.endswith("MD5")


@pytest.mark.parametrize(
    "scheme, weak",
    [
        ("BLF-CRYPT", False), ("ARGON2ID", False), ("ARGON2I", False), ("SHA512-CRYPT", False),
        ("SHA256-CRYPT", False), ("MD5-CRYPT", True), ("SSHA512", True), ("SHA512", True),
        ("PLAIN-MD5", True), ("PLAIN", True), ("CLEARTEXT", True), ("SMD5", True),
    ],
)
def test_weak_and_legacy_schemes_are_flagged(scheme, weak):
    assert is_weak(scheme) is weak


def test_scheme_of_names_every_stored_form_canonically():
    assert {scheme_of(v["hash"]) for v in VECTORS} == {
        "BLF-CRYPT", "SHA512-CRYPT", "SHA256-CRYPT", "MD5-CRYPT", "ARGON2I", "ARGON2ID", "SSHA512", "SSHA256",
        "SSHA", "SHA512", "SHA256", "SHA", "PLAIN-MD5", "PLAIN", "SMD5", "LDAP-MD5",
    }


def test_needs_upgrade_for_weak_other_or_cheaper_hashes():
    strong = hash_password(PASSWORD, "BLF-CRYPT", bcrypt_cost=12)
    assert not needs_upgrade(strong, scheme="BLF-CRYPT", bcrypt_cost=12)
    assert needs_upgrade(hash_password(PASSWORD, "BLF-CRYPT", bcrypt_cost=5), scheme="BLF-CRYPT", bcrypt_cost=12)
    assert needs_upgrade(hash_password(PASSWORD, "SHA512-CRYPT"), scheme="BLF-CRYPT", bcrypt_cost=12)
    assert needs_upgrade("{PLAIN}" + PASSWORD, scheme="BLF-CRYPT", bcrypt_cost=12)
    assert not needs_upgrade(hash_password(PASSWORD, "ARGON2ID"), scheme="ARGON2ID", bcrypt_cost=12)


def test_generated_passwords_are_long_random_and_unambiguous():
    seen = {generate_password() for _ in range(50)}
    assert len(seen) == 50
    assert all(len(p) == 20 and not set(p) & set("Il1O0o") for p in seen)
