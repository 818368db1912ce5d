"""Dovecot-compatible password hashes, proven both ways against the real Dovecot.

vectors/dovecot_vectors.json holds hashes made by `doveadm pw` (Dovecot 2.3.19) together with
Dovecot's own verdict on a few probe passwords for each (make_vectors.py rebuilds it); they keep
these tests meaningful where doveadm is missing. The tests marked `dovecot` ask the installed
doveadm live: they skip without it, and fail without it when CI=true.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import require_or_skip
from mailadmin.testing import doveadm
from users.passwords import (
    SCHEMES,
    WRITABLE_SCHEMES,
    CannotVerify,
    MalformedHash,
    parse,
    UnknownScheme,
    generate_password,
    hash_password,
    is_weak,
    needs_upgrade,
    scheme_of,
    verify_password,
)

VECTORS = json.loads((Path(__file__).parent / "vectors" / "dovecot_vectors.json").read_text())["vectors"]
# Every scheme and encoding variant the issue lists, plus the other forms Dovecot writes.
DOVEADM_SCHEMES = [
    "BLF-CRYPT", "SHA512-CRYPT", "SHA256-CRYPT", "MD5-CRYPT", "ARGON2I", "ARGON2ID",
    "SSHA512", "SSHA256", "SSHA", "SMD5", "SHA512", "SHA256", "SHA", "SHA1", "LDAP-MD5", "PLAIN-MD5",
    "PLAIN", "CLEAR", "CLEARTEXT", "MD5", "CRYPT", "DES-CRYPT",
    "SSHA512.HEX", "SSHA256.HEX", "SSHA.B64", "SHA512.HEX", "SHA256.B64", "SHA.HEX", "PLAIN-MD5.B64",
    "PLAIN.B64", "PLAIN.HEX", "SHA512-CRYPT.HEX", "BLF-CRYPT.B64", "ARGON2ID.B64",
    "SCRAM-SHA-1", "SCRAM-SHA-256", "CRAM-MD5", "HMAC-MD5", "PLAIN-MD4", "PBKDF2", "OTP", "DIGEST-MD5",
    "CRAM-MD5.B64", "PLAIN-MD4.B64", "SCRAM-SHA-256.B64",
]  # fmt: skip
DIGEST_USER = "jane@a.example"
PASSWORD = "correct horse battery staple"
UNICODE = "pässwörd-ünïcode €"
SECRET = "s3cret-Pa55word-that-must-never-leak"


def needs_doveadm():
    require_or_skip(doveadm.available(), "doveadm is not installed (apt-get install dovecot-core)")


def vector_id(vector):
    label = vector["hash"][1 : vector["hash"].find("}")] if vector["hash"].startswith("{") else "bare"
    return f"{label}-{vector.get('note') or len(vector['password'])}"


# --- Known answers: Dovecot's verdicts, committed -------------------------------------------------


@pytest.mark.parametrize("vector", VECTORS, ids=vector_id)
def test_it_accepts_and_rejects_exactly_what_dovecot_does(vector):
    user = vector.get("user")
    for probe in vector["accepts"]:
        assert verify_password(probe, vector["hash"], user=user), f"Dovecot accepts {probe!r}"
    for probe in vector["rejects"]:
        assert not verify_password(probe, vector["hash"], user=user), f"Dovecot rejects {probe!r}"


def test_the_vectors_cover_every_scheme_variant_and_password_kind():
    prefixes = {v["hash"][1 : v["hash"].index("}")] for v in VECTORS if v["hash"].startswith("{")}
    assert set(DOVEADM_SCHEMES) - {"SSHA256.HEX", "SSHA.B64", "SHA.HEX", "ARGON2ID.B64", "SCRAM-SHA-256.B64"} <= prefixes
    assert {"PLAIN-TRUNC", "MD5"} <= prefixes
    notes = {v.get("note") for v in VECTORS}
    assert {"md4 fold", "md5 fold", "bare hex under the SQL default MD5", "cut at 8 bytes"} <= notes
    hashes = [v["hash"] for v in VECTORS]
    for form in ("$2a$", "$2b$", "$2x$", "$2y$", "$6$rounds=", "$5$rounds=", "$argon2i$", "$argon2id$"):
        assert any(form in stored for stored in hashes), form
    assert {len(v["password"].encode()) > 72 for v in VECTORS} == {True, False}
    assert any(not v["password"].isascii() for v in VECTORS)
    assert all(v["rejects"] for v in VECTORS)


def test_bcrypt_reads_72_bytes_of_a_longer_password_like_dovecot():
    # doveadm verifies a hash of 80 "x" with the first 72 and any tail, not with 71.
    dovecot_hash = next(v for v in VECTORS if v["scheme"] == "BLF-CRYPT" and v["password"] == "x" * 80)
    assert {"x" * 72, "x" * 72 + "other tail"} <= set(dovecot_hash["accepts"])
    assert "x" * 71 in dovecot_hash["rejects"]
    ours = hash_password("x" * 80, bcrypt_cost=5)
    assert verify_password("x" * 72 + "other tail", ours)
    assert not verify_password("x" * 71, ours)


def test_a_2x_hash_keeps_crypt_blowfish_s_old_bug_for_non_ascii_passwords():
    buggy = next(v for v in VECTORS if "$2x$" in v["hash"] and v["password"] == UNICODE)
    assert verify_password(UNICODE, buggy["hash"])
    # The same salt and password under $2b$ is a different (correct) hash: $2x$ was not treated as $2b$.
    assert not verify_password(UNICODE, buggy["hash"].replace("$2x$", "$2b$"))


# --- Live: the installed doveadm ------------------------------------------------------------------


# Long passwords only where the scheme truncates them (the vectors hold an 80-byte one for every scheme).
PASSWORD_KINDS = {"ascii": PASSWORD, "unicode": UNICODE, "80-bytes": "x" * 80}
# 80 bytes only where the scheme truncates (the vectors hold an 80-byte hash of every scheme).
DOVEADM_CASES = [
    pytest.param(scheme, PASSWORD_KINDS[kind], id=f"{scheme}-{kind}")
    for scheme in DOVEADM_SCHEMES
    for kind in ("ascii", "unicode", "80-bytes")
    if kind != "80-bytes" or scheme in ("BLF-CRYPT", "CRYPT", "DES-CRYPT", "CRAM-MD5")
]


@pytest.mark.dovecot
@pytest.mark.parametrize("scheme, password", DOVEADM_CASES)
def test_hashes_doveadm_makes_verify_in_our_code_and_wrong_passwords_do_not(scheme, password):
    needs_doveadm()
    user = DIGEST_USER if scheme == "DIGEST-MD5" else None
    stored = doveadm.make_hash(scheme, password, user=user)
    assert verify_password(password, stored, user=user), stored
    assert not verify_password("!" + password[1:], stored, user=user), stored
    assert not verify_password(password.swapcase(), stored, user=user), stored


@pytest.mark.dovecot
@pytest.mark.parametrize("scheme", WRITABLE_SCHEMES)
@pytest.mark.parametrize("password", list(PASSWORD_KINDS.values()), ids=list(PASSWORD_KINDS))
def test_every_hash_we_write_verifies_with_doveadm_and_wrong_passwords_do_not(scheme, password):
    needs_doveadm()
    stored = hash_password(password, scheme, bcrypt_cost=5)
    assert doveadm.verifies(stored, password), stored
    assert not doveadm.verifies(stored, "!" + password[1:]), stored


@pytest.mark.dovecot
def test_doveadm_also_truncates_our_bcrypt_hashes_at_72_bytes():
    needs_doveadm()
    stored = hash_password("x" * 80, bcrypt_cost=5)
    assert doveadm.verifies(stored, "x" * 72 + "other tail")
    assert not doveadm.verifies(stored, "x" * 71)


@pytest.mark.dovecot
def test_the_default_cost_12_hash_verifies_with_doveadm():
    needs_doveadm()
    stored = hash_password(PASSWORD)
    assert stored.startswith("{BLF-CRYPT}$2y$12$")
    assert doveadm.verifies(stored, PASSWORD)


@pytest.mark.dovecot
@pytest.mark.parametrize(
    "vector",
    # doveadm pw -t needs a {SCHEME} prefix; the bare hex value is proven on a private Dovecot below.
    [v for v in VECTORS if v["password"] != "x" * 80 and v.get("note") != "bare hex under the SQL default MD5"],
    ids=vector_id,
)
def test_the_installed_doveadm_still_gives_the_committed_verdicts(vector):
    needs_doveadm()
    assert doveadm.verifies(vector["hash"], vector["password"], user=vector.get("user"))
    assert not doveadm.verifies(vector["hash"], vector["rejects"][0], user=vector.get("user"))


@pytest.mark.dovecot
def test_every_scheme_doveadm_lists_is_one_we_verify():
    needs_doveadm()
    listed = subprocess.run(
        [doveadm.path(), "-c", "/dev/null", "pw", "-l"], capture_output=True, text=True, timeout=60
    ).stdout.split()
    assert "BLF-CRYPT" in listed
    assert set(listed) <= set(SCHEMES), set(listed) - set(SCHEMES)
    assert set(SCHEMES) <= set(listed)  # and none Dovecot 2.3 would refuse


# --- What we write --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scheme, form",
    [
        ("BLF-CRYPT", r"\{BLF-CRYPT\}\$2y\$05\$[./A-Za-z0-9]{53}"),
        ("ARGON2ID", r"\{ARGON2ID\}\$argon2id\$v=19\$m=65536,t=3,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}"),
        ("SHA512-CRYPT", r"\{SHA512-CRYPT\}\$6\$[./A-Za-z0-9]{16}\$[./A-Za-z0-9]{86}"),
    ],
)
def test_it_writes_the_form_dovecot_writes(scheme, form):
    stored = hash_password(UNICODE, scheme, bcrypt_cost=5)
    assert re.fullmatch(form, stored), stored
    assert verify_password(UNICODE, stored)
    assert not verify_password(PASSWORD, stored)


def test_it_writes_bcrypt_cost_12_unless_told_otherwise():
    assert hash_password(PASSWORD).startswith("{BLF-CRYPT}$2y$12$")
    assert hash_password(PASSWORD, bcrypt_cost=5).startswith("{BLF-CRYPT}$2y$05$")


def test_each_hash_gets_a_fresh_salt():
    assert hash_password(PASSWORD, "SHA512-CRYPT") != hash_password(PASSWORD, "SHA512-CRYPT")


@pytest.mark.parametrize("scheme", ["SSHA512", "PLAIN", "MD5-CRYPT", "ARGON2I", "NOPE"])
def test_it_refuses_to_write_other_schemes(scheme):
    with pytest.raises(UnknownScheme, match=scheme):
        hash_password(PASSWORD, scheme)


def test_scheme_names_to_write_are_case_insensitive():
    assert hash_password(PASSWORD, "blf-crypt", bcrypt_cost=5).startswith("{BLF-CRYPT}$2y$05$")


def test_it_refuses_to_hash_a_password_with_a_nul_which_dovecot_would_cut_short():
    with pytest.raises(ValueError):
        hash_password("abc\0def", bcrypt_cost=5)
    assert not verify_password("abc\0def", "{PLAIN}abc\0def")


# --- Reading stored values ------------------------------------------------------------------------


def test_scheme_names_and_encoding_suffixes_are_case_insensitive():
    sha512 = next(v for v in VECTORS if v["hash"].startswith("{SHA512.HEX}"))
    assert verify_password(sha512["password"], "{sha512.hex}" + sha512["hash"][len("{SHA512.HEX}") :])
    assert verify_password(PASSWORD, "{Plain}" + PASSWORD)
    assert verify_password(PASSWORD, "{cleartext.base64}Y29ycmVjdCBob3JzZSBiYXR0ZXJ5IHN0YXBsZQ==")


def test_a_value_without_a_prefix_uses_the_default_scheme():
    md5 = next(v for v in VECTORS if v["hash"].startswith("{MD5-CRYPT}"))
    bare = md5["hash"][len("{MD5-CRYPT}") :]
    assert verify_password(md5["password"], bare)  # Dovecot's SQL default: MD5-CRYPT
    assert verify_password("hunter2", "hunter2", default_scheme="PLAIN")
    assert not verify_password("hunter3", "hunter2", default_scheme="plain")
    with pytest.raises(MalformedHash):
        verify_password("hunter2", "hunter2")  # not an MD5-CRYPT value


def test_a_bare_value_is_read_with_the_default_scheme_as_the_sql_passdb_does():
    # The passdb prefixes "{default}" first; doveadm pw -t's own "$1$ is always MD5-CRYPT, a fourth
    # $field is ignored" rule never applies to a login (seen on a private Dovecot 2.3.19).
    bare = next(v for v in VECTORS if v.get("note") == "bare $1$")
    assert verify_password(bare["password"], bare["hash"])
    assert scheme_of(bare["hash"]) == "MD5-CRYPT"
    assert scheme_of(bare["hash"], default_scheme="PLAIN") == "PLAIN"
    assert verify_password(bare["hash"], bare["hash"], default_scheme="PLAIN")
    with pytest.raises(MalformedHash):
        verify_password(bare["password"], bare["hash"] + "$ignored")


@pytest.mark.parametrize("stored", ["{NOPE}secret", "{}secret", "{PLAIN.ROT13}secret", "{NOPE", "{CRAM-MD5}abc"])
def test_an_unknown_scheme_is_an_error_never_a_plaintext_comparison(stored):
    with pytest.raises((UnknownScheme, MalformedHash)):
        verify_password("secret", stored)
    with pytest.raises((UnknownScheme, MalformedHash)):
        verify_password(stored, stored)


def test_an_unknown_scheme_names_itself_and_says_when_only_dovecot_knows_it():
    with pytest.raises(UnknownScheme, match="'NOPE'"):
        verify_password("secret", "{nope}secret")
    with pytest.raises(UnknownScheme, match="not in Dovecot 2.3"):
        scheme_of("{NTLM}8846f7eaee8fb117ad06bdd830b7586c")
    with pytest.raises(UnknownScheme):
        verify_password("secret", "secret", default_scheme="NOPE")


MALFORMED = [
    "{BLF-CRYPT}$2y$05$tooshort",
    "{BLF-CRYPT}" + SECRET,
    "{BLF-CRYPT}$2z$05$" + "a" * 53,
    "{BLF-CRYPT}$1$87eeapan$7Vyk4gqOHMB3GQZQY9oEZ1",
    "{BLF-CRYPT.B64}not base64!!",
    "{SHA512-CRYPT}$6$rounds=500$abcdefgh$lsQX5vgY.ApT9mh1hYzTFWJt3wK5HPIRzNnQYXamJBm0OMpmeN9T4bgBAWxtxzBXs6i.h4YPhewVyQNUIZyU0.",
    "{SHA512-CRYPT}$6$abcdefghijklmnopqrstu$GRSTFj3H0pZ9BY1uhdqITG.qORbXkTk40qgaa1roNICfs/axSgdNnbKEYghuyLnrmnFXvSE09GdxJbCDOnxdc1",
    "{SHA512-CRYPT}$y$j9T$abc$def",
    "{MD5-CRYPT}$6$K1nItxstHaqivHXB$kuTF9M",
    "{MD5-CRYPT}$1$87eeapan$7Vyk4gqOHMB3GQZQY9oEZ1$extra",
    "{ARGON2ID}$argon2id$garbage",
    "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$!!$??",
    "{ARGON2I}" + SECRET,
    "{SSHA512}not base64!!",
    "{SSHA}GpHWL3ymc5liWkNopqtdSjuqYHM=",  # exactly a SHA-1 digest, no salt: Dovecot says "too short"
    "{SMD5}j+TBFFEoHAlKZXjm3b9e7Q==",
    "{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM",  # base64 without its padding: Dovecot refuses it
    "{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=junk",
    "{SHA256}c2hvcnQ=",
    "{SHA512.HEX}zz",
    "{PLAIN-MD5}" + SECRET,
    "{MD5}" + SECRET,
    "{PLAIN.HEX}7",
    "{PLAIN-MD5",
    "{SCRAM-SHA-1}4096,c2FsdA==,notbase64",
    "{SCRAM-SHA-1}100,c2FsdHNhbHQ=,qZzKzJIB08+Tuf0bki1OhWAfxXc=,qZzKzJIB08+Tuf0bki1OhWAfxXc=",  # < 4096: Dovecot refuses
    "{SCRAM-SHA-256}4096,c2FsdA==,AAAA,AAAA",
    "{PBKDF2}$1$salt$5000$abc",
    "{PBKDF2}$2$salt$5000$" + "0" * 40,
    "{PBKDF2}$1$salt$0$" + "0" * 40,
    "{OTP}sha2 99 seed 0123456789abcdef",
    "{OTP}sha1 99 seedseedseedseedseed 0123456789abcdef",
    "{OTP}sha1 99 seed 0123",
    "{CRAM-MD5}0123",
    "{DIGEST-MD5}0123",
    "{PLAIN-TRUNC}" + SECRET,
]


@pytest.mark.parametrize("stored", MALFORMED)
def test_a_malformed_value_is_an_error_not_a_mismatch(stored):
    with pytest.raises(MalformedHash):
        verify_password(PASSWORD, stored)


@pytest.mark.parametrize("stored", MALFORMED + ["{NOPE}" + SECRET, "{PLAIN.ROT13}" + SECRET])
def test_no_error_message_contains_the_password_or_the_stored_data(stored):
    with pytest.raises(ValueError) as raised:
        verify_password(SECRET, stored)
    message = str(raised.value)
    assert SECRET not in message and "s3cret" not in message
    data = stored[stored.find("}") + 1 :]
    assert len(data) < 4 or data not in message


def test_no_error_message_from_writing_contains_the_password():
    for attempt in (lambda: hash_password(SECRET, "NOPE"), lambda: hash_password(SECRET + "\0")):
        with pytest.raises(ValueError) as raised:
            attempt()
        assert "s3cret" not in str(raised.value)


def test_dovecot_s_base64_may_hold_white_space():
    assert verify_password("pw", "{SHA} GpHWL3ymc5liWkNopqtdSjuqYHM=")  # doveadm verifies this too


def test_empty_plain_value_matches_only_the_empty_password():
    assert verify_password("", "{PLAIN}")  # as doveadm pw -t does
    assert not verify_password("x", "{PLAIN}")


# --- Naming and judging schemes -------------------------------------------------------------------


@pytest.mark.parametrize(
    "stored, scheme",
    [
        ("{blf-crypt}$2y$05$...", "BLF-CRYPT"),
        ("{SHA1}x", "SHA"),
        ("{CLEAR}x", "PLAIN"),
        ("{cleartext}x", "PLAIN"),
        ("{SSHA512.HEX}00", "SSHA512"),
        ("{PLAIN-MD5.b64}x", "PLAIN-MD5"),
        ("{CRYPT}$2y$05$abc", "BLF-CRYPT"),
        ("{CRYPT}$6$abc$def", "SHA512-CRYPT"),
        ("{CRYPT}c9nM6LUAc6BmY", "DES-CRYPT"),
        ("{CRYPT}$y$j9T$abc$def", "CRYPT"),
        ("{SHA512-CRYPT}$1$abc$def", "MD5-CRYPT"),
        ("{SHA512-CRYPT.HEX}243524", "SHA256-CRYPT"),
        ("{MD5}$1$abc$def", "MD5-CRYPT"),
        ("{MD5}8fe4c11451281c094a6578e6ddbf5eed", "PLAIN-MD5"),
        ("{ARGON2I}$argon2id$v=19$...", "ARGON2ID"),
        ("{ARGON2ID}$argon2i$v=19$...", "ARGON2I"),
        ("$1$abc$def", "MD5-CRYPT"),
        ("$2y$05$abc", "MD5"),  # the default scheme names a bare value, even a wrong one
        ("8fe4c11451281c094a6578e6ddbf5eed", "PLAIN-MD5"),  # Dovecot's SQL default MD5 reads hex as PLAIN-MD5
    ],
)
def test_scheme_of_gives_the_canonical_name_dovecot_will_use(stored, scheme):
    assert scheme_of(stored) == scheme


def test_scheme_of_names_every_committed_vector():
    assert {scheme_of(v["hash"]) for v in VECTORS} == {
        "BLF-CRYPT", "SHA512-CRYPT", "SHA256-CRYPT", "MD5-CRYPT", "DES-CRYPT", "ARGON2I", "ARGON2ID",
        "SSHA512", "SSHA256", "SSHA", "SMD5", "SHA512", "SHA256", "SHA", "LDAP-MD5", "PLAIN-MD5", "PLAIN",
        "SCRAM-SHA-1", "SCRAM-SHA-256", "CRAM-MD5", "HMAC-MD5", "DIGEST-MD5", "PLAIN-MD4", "PBKDF2", "OTP",
        "PLAIN-TRUNC",
    }  # fmt: skip


def test_a_digest_md5_hash_needs_the_login_name_and_says_so():
    stored = next(v for v in VECTORS if v["scheme"] == "DIGEST-MD5")
    with pytest.raises(CannotVerify, match="DIGEST-MD5.*user:realm:password.*login name"):
        verify_password(stored["password"], stored["hash"])
    assert verify_password(stored["password"], stored["hash"], user=DIGEST_USER)
    assert not verify_password(stored["password"], stored["hash"], user="john@a.example")


def test_an_empty_crypt_value_never_matches_as_in_dovecot():
    for stored in ("{SHA512-CRYPT}", "{CRYPT}", "{DES-CRYPT}"):
        assert not verify_password("", stored)
        assert not verify_password(PASSWORD, stored)


@pytest.mark.parametrize(
    "stored, cost",
    [
        (lambda: hash_password(PASSWORD, bcrypt_cost=5), {"cost": 5}),
        (lambda: hash_password(PASSWORD, "ARGON2ID"), {"memory_kib": 65536, "time": 3, "parallelism": 1}),
        (lambda: hash_password(PASSWORD, "SHA512-CRYPT"), {"rounds": 5000}),
        (lambda: next(v["hash"] for v in VECTORS if v.get("note") == "doveadm -r 12000"), {"rounds": 12000}),
        (lambda: next(v["hash"] for v in VECTORS if v["scheme"] == "SCRAM-SHA-256"), {"iterations": 4096}),
        (lambda: next(v["hash"] for v in VECTORS if v.get("note") == "doveadm -r 20000" and "PBKDF2" in v["hash"]), {"iterations": 20000}),
        (lambda: next(v["hash"] for v in VECTORS if v.get("note") == "md5 fold"), {"sequence": 99}),
        (lambda: "{CRYPT}$2y$07$" + "a" * 53, {"cost": 7}),
        (lambda: "{SSHA512}" + "A" * 88, {}),
    ],
)  # fmt: skip
def test_the_cost_of_a_stored_hash_can_be_read(stored, cost):
    assert parse(stored()).cost() == cost


def test_a_safe_summary_names_scheme_and_cost_but_never_the_data():
    stored = hash_password(PASSWORD, bcrypt_cost=5)
    summary = parse(stored).safe_summary()
    assert summary == {"scheme": "BLF-CRYPT", "strength": "strong", "cost": 5}
    assert not any(stored[20:40] in str(value) for value in summary.values())


def test_scheme_of_uses_the_default_scheme_for_a_bare_value():
    assert scheme_of("hunter2", default_scheme="plain") == "PLAIN"
    assert scheme_of("$2y$05$abc", default_scheme="BLF-CRYPT") == "BLF-CRYPT"


@pytest.mark.parametrize(
    "scheme, weak",
    [
        ("BLF-CRYPT", False), ("blf-crypt", False), ("ARGON2ID", False), ("ARGON2I", False),
        ("SHA512-CRYPT", False), ("SHA256-CRYPT", False), ("BLF-CRYPT.B64", False),
        ("MD5-CRYPT", True), ("MD5", True), ("DES-CRYPT", True), ("CRYPT", True),
        ("SSHA512", True), ("SSHA256", True), ("SSHA", True), ("SMD5", True),
        ("SHA512", True), ("SHA256", True), ("SHA", True), ("SHA1", True), ("SSHA512.HEX", True),
        ("PLAIN-MD5", True), ("LDAP-MD5", True), ("PLAIN", True), ("CLEAR", True), ("CLEARTEXT", True),
        ("CRAM-MD5", True), ("NOPE", True), ("PLAIN.ROT13", True), ("", True),
    ],
)  # fmt: skip
def test_weak_legacy_and_unknown_schemes_are_flagged(scheme, weak):
    assert is_weak(scheme) is weak


def _bcrypt(cost, variant="2y"):
    return hash_password(PASSWORD, bcrypt_cost=cost).replace("$2y$", f"${variant}$", 1)


@pytest.mark.parametrize(
    "make_stored, configured, cost, upgrade",
    [
        (lambda: _bcrypt(5), "BLF-CRYPT", 5, False),
        (lambda: _bcrypt(5), "BLF-CRYPT", 4, False),
        (lambda: _bcrypt(5), "BLF-CRYPT", 6, True),
        (lambda: _bcrypt(5), "blf-crypt", 5, False),
        (lambda: _bcrypt(5, "2b"), "BLF-CRYPT", 5, False),
        (lambda: _bcrypt(5, "2x"), "BLF-CRYPT", 5, True),
        (lambda: _bcrypt(5).replace("{BLF-CRYPT}", "{blf-crypt}"), "BLF-CRYPT", 5, True),
        (lambda: _bcrypt(5).replace("{BLF-CRYPT}", "{CRYPT}"), "BLF-CRYPT", 5, True),
        (lambda: _bcrypt(5), "ARGON2ID", 5, True),
        (lambda: hash_password(PASSWORD, "ARGON2ID"), "ARGON2ID", 12, False),
        (lambda: hash_password(PASSWORD, "ARGON2ID"), "BLF-CRYPT", 12, True),
        (lambda: "{ARGON2ID}$argon2id$v=19$m=4096,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "ARGON2ID", 12, True),
        (lambda: hash_password(PASSWORD, "SHA512-CRYPT"), "SHA512-CRYPT", 12, False),
        (lambda: "{SHA512-CRYPT}$6$rounds=1000$abc$def", "SHA512-CRYPT", 12, True),
        (lambda: "{SHA512-CRYPT}$6$rounds=20000$abc$def", "SHA512-CRYPT", 12, False),
        (lambda: hash_password(PASSWORD, "SHA512-CRYPT"), "BLF-CRYPT", 12, True),
        (lambda: "{SHA256-CRYPT}$5$abc$def", "BLF-CRYPT", 12, True),
        (lambda: "{MD5-CRYPT}$1$abc$def", "MD5-CRYPT", 12, True),
        (lambda: "{PLAIN}" + PASSWORD, "BLF-CRYPT", 12, True),
        (lambda: _bcrypt(5)[len("{BLF-CRYPT}") :], "BLF-CRYPT", 5, True),  # bare: give it its prefix
    ],
)
def test_needs_upgrade_for_weak_other_cheaper_or_oddly_written_hashes(make_stored, configured, cost, upgrade):
    stored = make_stored()
    assert needs_upgrade(stored, scheme=configured, bcrypt_cost=cost, default_scheme="BLF-CRYPT") is upgrade


def test_generated_passwords_are_long_random_and_unambiguous():
    seen = {generate_password() for _ in range(200)}
    assert len(seen) == 200
    assert all(len(p) == 20 and p.isalnum() and p.isascii() and not set(p) & set("Il1O0o") for p in seen)
    assert set("".join(seen)) >= set("abcXYZ23456789")
    assert len(generate_password(32)) == 32


def test_the_module_imports_no_django():
    code = "import sys, users.passwords; print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[2])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# --- Live: the real Dovecot's SQL passdb ----------------------------------------------------------


@pytest.fixture
def private_dovecot(transactional_db):
    from django.db import connection

    from mailadmin.testing import dovecot
    from mailadmin.testing.dovecot import MailDatabase, PrivateDovecot

    if connection.vendor != "mysql":
        pytest.skip("needs MariaDB (run with TEST_DATABASE_URL=mysql://...)")
    missing = dovecot.binaries_missing() + ([] if doveadm.available() else ["doveadm"])
    require_or_skip(not missing, f"missing {', '.join(missing)}")
    with PrivateDovecot(MailDatabase.from_django(connection)) as server:
        yield server


@pytest.mark.dovecot
@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_the_real_passdb_and_our_code_agree_on_every_committed_vector(private_dovecot):
    """Every scheme, stored in virtual_users as the guide's query reads it (the bare hex value and
    DIGEST-MD5's login name included), then `doveadm auth test` on a private Dovecot."""
    from users.models import Domain, Mailbox
    from users.tests.test_dovecot_login import dovecot_accepts

    domain = Domain.objects.create(name="a.example")
    column = Mailbox._meta.get_field("password").max_length  # the guide's varchar(150)
    cases = [v for v in VECTORS if v["password"] == PASSWORD and len(v["hash"]) <= column]
    assert {"DIGEST-MD5", "SCRAM-SHA-256", "CRAM-MD5", "OTP", "PBKDF2"} <= {v["scheme"] for v in cases}
    assert any(v.get("note") == "bare hex under the SQL default MD5" for v in cases)
    for number, case in enumerate(cases):
        email = case.get("user") or f"v{number}@a.example"
        Mailbox.objects.create(domain=domain, email=email, password=case["hash"])
    rejected = set()
    for number, case in enumerate(cases):
        email = case.get("user") or f"v{number}@a.example"
        probes = [case["password"]]
        if case["scheme"] not in rejected:  # Dovecot delays each failure by 2 s: one per scheme
            probes.append(case["rejects"][0])
            rejected.add(case["scheme"])
        for probe in probes:
            ours = verify_password(probe, case["hash"], user=email)
            assert dovecot_accepts(private_dovecot, email, probe) is ours, (case["hash"], probe)


YESCRYPT = "{CRYPT}$y$j9T$F5Jx5fExrKuPp53xLKQ..1$y8e1eitiNDaQsFFW6d.9KbSTlk5zV3R3coZQtfcNAO5"  # libxcrypt, of PASSWORD


def test_a_crypt_form_only_libc_knows_goes_to_the_system_crypt_as_in_dovecot():
    assert verify_password(PASSWORD, YESCRYPT)
    assert not verify_password(PASSWORD + "!", YESCRYPT)
    assert scheme_of(YESCRYPT) == "CRYPT"


@pytest.mark.dovecot
def test_doveadm_agrees_on_the_libc_only_crypt_form():
    needs_doveadm()
    assert doveadm.verifies(YESCRYPT, PASSWORD)
    assert not doveadm.verifies(YESCRYPT, PASSWORD + "!")
