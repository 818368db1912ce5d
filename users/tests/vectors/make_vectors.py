"""Rebuild dovecot_vectors.json: hashes made by the real Dovecot, and Dovecot's own verdicts.

    .venv/bin/python users/tests/vectors/make_vectors.py

Every hash comes from `doveadm pw -s` (a few are doveadm's output relabelled, or made by
libxcrypt's crypt() where doveadm cannot write the form, such as $2x$). For every hash a
handful of probe passwords go through `doveadm pw -t`, and Dovecot's answer for each is
recorded under "accepts" or "rejects". The tests then ask our code the same questions.
Passwords go to doveadm on stdin only (mailadmin/testing/doveadm.py).
"""

import json
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from mailadmin.testing import doveadm  # noqa: E402

OUT = Path(__file__).with_name("dovecot_vectors.json")
ASCII = "correct horse battery staple"
UNICODE = "pässwörd-ünïcode €"
LONG = "x" * 80  # longer than bcrypt's 72 bytes
PASSWORDS = (ASCII, UNICODE, LONG)

SCHEMES = [
    "BLF-CRYPT", "SHA512-CRYPT", "SHA256-CRYPT", "MD5-CRYPT", "ARGON2I", "ARGON2ID",
    "SSHA512", "SSHA256", "SSHA", "SMD5", "SHA512", "SHA256", "SHA", "SHA1", "LDAP-MD5", "PLAIN-MD5",
    "PLAIN", "CLEAR", "CLEARTEXT", "MD5", "CRYPT", "DES-CRYPT",
    "SSHA512.HEX", "SSHA.HEX", "SHA512.HEX", "SHA256.B64", "PLAIN-MD5.B64", "PLAIN.B64", "PLAIN.HEX",
    "SHA512-CRYPT.HEX", "BLF-CRYPT.B64",
    # Challenge-response and other schemes Dovecot 2.3 lists (issue 17).
    "SCRAM-SHA-1", "SCRAM-SHA-256", "CRAM-MD5", "HMAC-MD5", "PLAIN-MD4", "PBKDF2", "OTP",
    "CRAM-MD5.B64", "PLAIN-MD4.B64",
]  # fmt: skip
# DIGEST-MD5 hashes user:realm:password; doveadm takes the login name with -u.
DIGEST_USER = "jane@a.example"


def probes(password, stored):
    if "$argon2" in stored:  # slow to check; one wrong password says enough
        return [password, password[:-1]]
    candidates = [password, password + "!", password[:-1], password.upper(), "", password[:8] + "-tail"]
    if len(password.encode()) > 72:
        candidates += [password[:72], password[:72] + "other tail", password[:71]]
    return list(dict.fromkeys(candidates))


def vector(scheme, password, stored, note="", user=None):
    accepts, rejects = [], []
    for probe in probes(password, stored):
        (accepts if doveadm.verifies(stored, probe, user=user) else rejects).append(probe)
    if password not in accepts:
        raise SystemExit(f"doveadm does not verify its own {scheme} vector: {stored}")
    entry = {"scheme": scheme, "password": password, "hash": stored, "accepts": accepts, "rejects": rejects}
    if note:
        entry["note"] = note
    if user:
        entry["user"] = user
    return entry


def otp_state(algorithm, sequence, seed, password):
    """An OTP entry of another digest than doveadm writes (sha1), made by our code: the
    vector only stands because doveadm then verifies it."""
    from users.passwords import Otp

    value = Otp._fold(algorithm, seed.encode() + password.encode())
    for _ in range(sequence):
        value = Otp._fold(algorithm, value)
    return f"{{OTP}}{algorithm} {sequence} {seed} {value.hex()}"


def relabel(stored, old, new):
    assert stored.startswith("{" + old + "}"), stored
    return "{" + new + "}" + stored[len(old) + 2 :]


def libxcrypt(password, setting):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # Python 3.11's binding of libxcrypt; only this dev script uses it

    return crypt.crypt(password, setting)


def main():
    if not doveadm.available():
        raise SystemExit("doveadm is not installed")
    vectors = []
    for scheme in SCHEMES:
        for password in PASSWORDS:
            vectors.append(vector(scheme, password, doveadm.make_hash(scheme, password)))

    for password in (ASCII, UNICODE):
        blf = doveadm.make_hash("BLF-CRYPT", password)
        for variant in ("2a", "2b"):
            vectors.append(vector("BLF-CRYPT", password, blf.replace("$2y$", f"${variant}$", 1), f"${variant}$ form"))
        for rounds in (1000, 5000, 12000):
            for scheme in ("SHA512-CRYPT", "SHA256-CRYPT"):
                stored = doveadm.make_hash(scheme, password, rounds=rounds)
                vectors.append(vector(scheme, password, stored, f"doveadm -r {rounds}"))
        salt = blf[len("{BLF-CRYPT}$2y$05$") :][:22]
        vectors.append(
            vector("BLF-CRYPT", password, "{BLF-CRYPT}" + libxcrypt(password, f"$2x$05${salt}"), "$2x$ by libxcrypt")
        )
        # The same data under the other label: the data decides in Dovecot.
        md5 = doveadm.make_hash("MD5-CRYPT", password)
        vectors.append(
            vector("SHA512-CRYPT", password, relabel(md5, "MD5-CRYPT", "SHA512-CRYPT"), "$1$ under SHA512-CRYPT")
        )
        sha512 = doveadm.make_hash("SHA512-CRYPT", password)
        vectors.append(vector("CRYPT", password, relabel(sha512, "SHA512-CRYPT", "CRYPT"), "$6$ under CRYPT"))
        argon2id = doveadm.make_hash("ARGON2ID", password)
        vectors.append(
            vector("ARGON2I", password, relabel(argon2id, "ARGON2ID", "ARGON2I"), "$argon2id$ under ARGON2I")
        )
        # Dovecot guesses hex or base64 by length when no suffix is given.
        for scheme in ("SHA", "SHA256", "SHA512", "LDAP-MD5"):
            hexed = doveadm.make_hash(scheme + ".HEX", password)
            vectors.append(vector(scheme, password, relabel(hexed, scheme + ".HEX", scheme), "hex, guessed"))
        b64 = doveadm.make_hash("PLAIN-MD5.B64", password)
        vectors.append(vector("PLAIN-MD5", password, relabel(b64, "PLAIN-MD5.B64", "PLAIN-MD5"), "base64, guessed"))
        lower = doveadm.make_hash("SSHA256", password)
        vectors.append(vector("SSHA256", password, relabel(lower, "SSHA256", "ssha256"), "lower-case scheme"))
        # Dovecot writes no user or realm into a DIGEST-MD5 hash: the login name supplies both.
        vectors.append(
            vector("DIGEST-MD5", password, doveadm.make_hash("DIGEST-MD5", password, user=DIGEST_USER), user=DIGEST_USER)
        )
        for rounds in (1000, 20000):
            stored = doveadm.make_hash("PBKDF2", password, rounds=rounds)
            vectors.append(vector("PBKDF2", password, stored, f"doveadm -r {rounds}"))
        for algorithm in ("md4", "md5"):
            stored = otp_state(algorithm, 99, "ke1234", password)
            vectors.append(vector("OTP", password, stored, f"{algorithm} fold"))
        # PLAIN-TRUNC is "<length>-<password>" (doveadm writes it without the length, which
        # Dovecot then refuses); a password cut at 8 bytes accepts any password that starts so.
        size = len(password.encode())
        vectors.append(vector("PLAIN-TRUNC", password, f"{{PLAIN-TRUNC}}{size}-{password}", "whole"))
        cut = password.encode()[:8].decode()
        vectors.append(vector("PLAIN-TRUNC", password, f"{{PLAIN-TRUNC}}8-{cut}", "cut at 8 bytes"))
        # A bare hex PLAIN-MD5 (the guide's own examples): Dovecot's SQL default scheme MD5 reads
        # it. doveadm pw -t needs a prefix, so the verdicts come from the {MD5} form of the value.
        hexed = doveadm.make_hash("PLAIN-MD5", password)
        under_md5 = vector("PLAIN-MD5", password, relabel(hexed, "PLAIN-MD5", "MD5"), "hex under MD5")
        vectors.append(under_md5)
        vectors.append({**under_md5, "hash": under_md5["hash"][len("{MD5}") :], "note": "bare hex under the SQL default MD5"})
        # A bare $1$ value: the SQL passdb reads it as {MD5}$1$…, i.e. MD5-CRYPT.
        vectors.append(vector("MD5-CRYPT", password, md5[len("{MD5-CRYPT}") :], "bare $1$"))

    OUT.write_text(
        json.dumps(
            {"made_by": f"doveadm pw, Dovecot {doveadm.version()}; see make_vectors.py", "vectors": vectors},
            indent=1,
            ensure_ascii=False,
        )
        + "\n"
    )
    print(f"{len(vectors)} vectors written to {OUT}")


if __name__ == "__main__":
    main()
