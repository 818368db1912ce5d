"""users.password_policy: what a supplied password becomes, which hashes are refused for their cost,
what upgrade-on-login re-hashes, and the system checks on the password settings."""

import json
from pathlib import Path

import pytest
from argon2 import PasswordHasher, Type
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from passlib.hash import sha512_crypt

from users import password_policy
from users.password_policy import RefusedPassword, SuppliedPassword, read_supplied_password, should_rehash
from users.passwords import hash_password, verify_password

VECTORS = json.loads((Path(__file__).parent / "vectors" / "dovecot_vectors.json").read_text())["vectors"]
PASSWORD = "correct horse battery staple"


def vector(scheme, note=None):
    return next(v["hash"] for v in VECTORS if v["scheme"] == scheme and v.get("note") == note and v["password"] == PASSWORD)


def bcrypt_of_cost(cost):
    # A well-formed bcrypt hash with any cost, without paying for it.
    return hash_password(PASSWORD, bcrypt_cost=4).replace("$2y$04$", f"$2y${cost:02d}$")


# --- Supplied values ------------------------------------------------------------------------------


def test_a_plaintext_password_comes_back_as_plaintext_to_validate_and_hash():
    assert read_supplied_password("a long passphrase") == SuppliedPassword(plaintext="a long passphrase")


@pytest.mark.parametrize(
    "value",
    ["{PLAIN}a long passphrase", "{CLEAR}a long passphrase", "{cleartext}a long passphrase",
     "{PLAIN.B64}YSBsb25nIHBhc3NwaHJhc2U=", "{PLAIN-TRUNC}17-a long passphrase"],
)  # fmt: skip
def test_plaintext_schemes_are_read_as_plaintext_never_stored_as_given(value):
    assert read_supplied_password(value) == SuppliedPassword(plaintext="a long passphrase")


@pytest.mark.parametrize("scheme", ["BLF-CRYPT", "SHA512-CRYPT", "ARGON2ID", "SSHA512", "SCRAM-SHA-256", "PBKDF2", "OTP", "CRAM-MD5"])
def test_a_hash_of_a_known_scheme_within_bounds_is_stored_as_given(scheme):
    stored = vector(scheme)
    assert read_supplied_password(stored) == SuppliedPassword(stored_hash=stored)


@pytest.mark.parametrize(
    "stored, message",
    [
        (bcrypt_of_cost(16), r"bcrypt cost 16 is above the limit 13 \(MAILADMIN_MAX_BCRYPT_COST\): each login would take about 6 s"),
        (bcrypt_of_cost(31), r"bcrypt cost 31 is above the limit 13 .* about \d+ days"),
        ("{SHA512-CRYPT}$6$rounds=999999999$abcdefgh$" + "a" * 86,
         r"SHA512-CRYPT rounds 999999999 is above the limit 200000 \(MAILADMIN_MAX_SHA_CRYPT_ROUNDS\): .* about \d+ minutes"),
        ("{ARGON2ID}$argon2id$v=19$m=1048576,t=3,p=1$c2FsdHNhbHRzYWx0c2FsdA$" + "A" * 43,
         r"Argon2 memory \(KiB\) 1048576 is above the limit 65536 \(MAILADMIN_MAX_ARGON2_MEMORY_KIB\)"),
        ("{ARGON2ID}$argon2id$v=19$m=65536,t=50,p=1$c2FsdHNhbHRzYWx0c2FsdA$" + "A" * 43, r"Argon2 time cost 50 is above the limit 3 \(MAILADMIN_MAX_ARGON2_TIME\)"),
        ("{PBKDF2}$1$salt$9000000$" + "0" * 40, r"PBKDF2 iterations 9000000 is above the limit 500000 \(MAILADMIN_MAX_PBKDF2_ITERATIONS\)"),
        ("{SCRAM-SHA-256}2000000000,c2FsdA==," + "A" * 43 + "=," + "A" * 43 + "=", r"SCRAM-SHA-256 iterations 2000000000"),
        ("{OTP}sha1 2000000 seed 0123456789abcdef", r"OTP sequence 2000000 is above the limit 10000: "),
    ],
)  # fmt: skip
def test_a_hash_too_costly_to_verify_is_refused_naming_the_limit_and_its_setting(stored, message):
    with pytest.raises(RefusedPassword, match=message):
        read_supplied_password(stored)


def test_the_bounds_can_be_widened(settings):
    settings.MAILADMIN_MAX_BCRYPT_COST = 16
    assert read_supplied_password(bcrypt_of_cost(16)).stored_hash


@pytest.mark.parametrize(
    "value, message",
    [
        ("{NOPE}abc", r"Unknown password scheme 'NOPE'.*Give a plaintext password"),
        ("{BLF-CRYPT}not a hash", r"not a \$2a\$, \$2b\$, \$2x\$ or \$2y\$ bcrypt hash"),
        ("{SSHA}GpHWL3ymc5liWkNopqtdSjuqYHM=", r"too short to hold a digest and a salt"),
        ("{SHA512-CRYPT}", r"not a crypt\(3\) form whose cost the panel can check"),
        ("{CRYPT}$y$j9T$abc$def", r"not a crypt\(3\) form whose cost the panel can check"),
        ("{PLAIN", r"no closing"),
        ("$6$abcdefgh$" + "a" * 86, r"without its \{SCHEME\} prefix"),
        ("$2y$12$" + "a" * 53, r"without its \{SCHEME\} prefix"),
    ],
)
def test_unknown_malformed_or_unprefixed_hashes_are_refused_with_a_reason(value, message):
    with pytest.raises(RefusedPassword, match=message):
        read_supplied_password(value)


@pytest.mark.parametrize("value", ["abc\0def-long-enough", "{PLAIN}abc\0def", "tab\there", "line\nbreak", "bell\x07", "del\x7f"])
def test_a_nul_or_control_character_in_a_plaintext_password_is_refused(value):
    with pytest.raises(RefusedPassword, match=r"NUL character|control character \(U\+00"):
        read_supplied_password(value)


def test_no_refusal_repeats_the_password_or_the_hash():
    secret = "s3cret-never-in-a-message"
    for value in ("{NOPE}" + secret, "{BLF-CRYPT}" + secret, secret + "\x01", "{PLAIN}" + secret + "\0"):
        with pytest.raises(RefusedPassword) as refused:
            read_supplied_password(value)
        assert "s3cret" not in str(refused.value)


def test_hash_for_storage_uses_the_configured_scheme_and_cost(settings):
    settings.MAILADMIN_BCRYPT_COST = 6
    assert password_policy.hash_for_storage(PASSWORD).startswith("{BLF-CRYPT}$2y$06$")
    settings.MAILADMIN_PASSWORD_SCHEME = "SHA512-CRYPT"
    stored = password_policy.hash_for_storage(PASSWORD)
    assert stored.startswith("{SHA512-CRYPT}$6$") and verify_password(PASSWORD, stored)


# --- Upgrade on login -----------------------------------------------------------------------------

ARGON2_CHEAP = "{ARGON2ID}" + PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1, type=Type.ID).hash(PASSWORD)
HASHES = {
    "plain": "{PLAIN}" + PASSWORD,
    "ssha512": vector("SSHA512"),
    "md5-crypt": vector("MD5-CRYPT"),
    "bare-hex-md5": next(v["hash"] for v in VECTORS if v.get("note") == "bare hex under the SQL default MD5"),
    "scram-sha-256": vector("SCRAM-SHA-256"),
    "bcrypt-current": hash_password(PASSWORD, bcrypt_cost=5),
    "bcrypt-cheaper": hash_password(PASSWORD, bcrypt_cost=4),
    "bcrypt-dearer": hash_password(PASSWORD, bcrypt_cost=6),
    "bcrypt-2x": hash_password(PASSWORD, bcrypt_cost=5).replace("$2y$", "$2x$"),
    "bcrypt-under-crypt": hash_password(PASSWORD, bcrypt_cost=5).replace("{BLF-CRYPT}", "{CRYPT}"),
    "sha512-crypt": "{SHA512-CRYPT}" + sha512_crypt.using(rounds=5000).hash(PASSWORD),
    "sha512-crypt-1000": "{SHA512-CRYPT}" + sha512_crypt.using(rounds=1000).hash(PASSWORD),
    "argon2id-doveadm": vector("ARGON2ID"),
    "argon2id-cheap": ARGON2_CHEAP,
}
# (hash, re-hashed under "different", re-hashed under "weak"); the configured scheme is BLF-CRYPT, cost 5.
UPGRADES = [
    ("plain", True, True),
    ("ssha512", True, True),
    ("md5-crypt", True, True),
    ("bare-hex-md5", True, True),
    ("scram-sha-256", True, True),
    ("bcrypt-current", False, False),
    ("bcrypt-cheaper", True, True),
    ("bcrypt-dearer", False, False),
    ("bcrypt-2x", True, True),
    ("bcrypt-under-crypt", True, False),
    ("sha512-crypt", True, False),
    ("sha512-crypt-1000", True, True),
    ("argon2id-doveadm", True, False),
    ("argon2id-cheap", True, True),
]


@pytest.mark.parametrize("name, different, weak", UPGRADES, ids=[row[0] for row in UPGRADES])
def test_the_upgrade_rule_rehashes_exactly_what_its_setting_says(settings, name, different, weak):
    settings.MAILADMIN_BCRYPT_COST = 5
    assert verify_password(PASSWORD, HASHES[name])  # upgrade only ever follows a good login
    settings.MAILADMIN_UPGRADE_HASH = "different"
    assert should_rehash(HASHES[name]) is different
    settings.MAILADMIN_UPGRADE_HASH = "weak"
    assert should_rehash(HASHES[name]) is weak
    settings.MAILADMIN_UPGRADE_HASH = "off"
    assert should_rehash(HASHES[name]) is False


def test_the_older_switch_still_turns_the_upgrade_off(settings):
    settings.MAILADMIN_UPGRADE_HASH_ON_LOGIN = False
    assert should_rehash("{PLAIN}" + PASSWORD) is False


def test_the_default_upgrade_rule_is_different(settings):
    assert settings.MAILADMIN_UPGRADE_HASH == "different"


# --- System checks --------------------------------------------------------------------------------

BAD_SETTINGS = [
    ({"MAILADMIN_PASSWORD_SCHEME": "FOO"}, "users.E001"),
    ({"MAILADMIN_PASSWORD_SCHEME": "MD5-CRYPT"}, "users.E001"),
    ({"MAILADMIN_DEFAULT_PASS_SCHEME": "FOO"}, "users.E002"),
    ({"MAILADMIN_MAX_BCRYPT_COST": 32}, "users.E003"),
    ({"MAILADMIN_BCRYPT_COST": 3}, "users.E004"),
    ({"MAILADMIN_BCRYPT_COST": 32}, "users.E004"),
    ({"MAILADMIN_BCRYPT_COST": 14}, "users.E005"),
    ({"MAILADMIN_MAX_SHA_CRYPT_ROUNDS": 1000}, "users.E006"),
    ({"MAILADMIN_MAX_ARGON2_MEMORY_KIB": 1024}, "users.E006"),
    ({"MAILADMIN_MAX_PBKDF2_ITERATIONS": 0}, "users.E006"),
    ({"MAILADMIN_UPGRADE_HASH": "sometimes"}, "users.E007"),
    ({"MAILADMIN_AUTH_USERNAME_CHARS": "abc"}, "users.E008"),
]


@pytest.mark.parametrize("overrides, error_id", BAD_SETTINGS, ids=[row[1] + "-" + str(row[0]) for row in BAD_SETTINGS])
def test_manage_py_check_fails_with_a_one_line_reason(settings, overrides, error_id):
    for name, value in overrides.items():
        setattr(settings, name, value)
    with pytest.raises(SystemCheckError) as failed:
        call_command("check")
    lines = [line for line in str(failed.value).splitlines() if error_id in line]
    assert len(lines) == 1, str(failed.value)


def test_the_default_settings_pass_the_checks():
    call_command("check")
