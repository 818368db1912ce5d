"""Dovecot-compatible password hashes, with no Django in it.

A stored value is "{SCHEME}data" as Dovecot 2.3's passdb reads it (src/auth/password-scheme.c);
every rule below was checked against `doveadm pw` 2.3.19 (see users/tests/test_passwords.py).

- A value starting with "{" is always parsed as a scheme here. (Dovecot's auth would fall back to
  the default scheme when the "}" is missing; we call that malformed instead of guessing.)
- A bare value uses the default scheme (Dovecot's SQL driver assumes MD5-CRYPT) — except a bare
  "$1$salt$hash", which Dovecot always reads as MD5-CRYPT, ignoring anything after a third "$".
- A scheme may carry an encoding suffix, ".B64"/".BASE64"/".HEX", for ANY scheme: the data is
  decoded first and the scheme then reads the result ({BLF-CRYPT.B64} is a base64'd "$2y$…").
- Unsalted fixed-size digests (SHA, SHA256, SHA512, PLAIN-MD5, LDAP-MD5) without a suffix are
  read as hex when the length is exactly twice the digest size, otherwise as base64.
- An unknown scheme is an error, never "compare as plaintext". No message from this module
  contains a password or the stored data.
"""

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import string
from dataclasses import dataclass
from typing import Callable

import bcrypt
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from passlib.hash import des_crypt, md5_crypt, sha256_crypt, sha512_crypt  # libpass

WRITABLE_SCHEMES = ("BLF-CRYPT", "ARGON2ID", "SHA512-CRYPT")

# Dovecot's bcrypt (Openwall crypt_blowfish) reads the first 72 bytes and ignores the rest:
# doveadm verifies a hash of 80 "x" with 72 "x" and any tail. bcrypt 4.3 truncates silently too;
# we cut explicitly so a future bcrypt that refuses long input changes nothing.
BCRYPT_MAX_BYTES = 72
# What `doveadm pw -s SHA512-CRYPT` writes: no "rounds=", i.e. libc's default of 5000.
SHA_CRYPT_ROUNDS = 5000
# What `doveadm pw -s ARGON2ID` writes (libsodium's "moderate" limits): m=65536 KiB, t=3, p=1.
_argon2 = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)


class UnknownScheme(ValueError):
    """The stored value names a scheme this module does not know (or cannot write)."""


class MalformedHash(ValueError):
    """The stored value cannot be read as its scheme says."""


# --- Reading the stored value ------------------------------------------------------------------

_ENCODINGS = {"B64": "b64", "BASE64": "b64", "HEX": "hex"}


@dataclass(frozen=True)
class _Stored:
    name: str  # the scheme as written, upper-case, without its encoding suffix
    encoding: str | None  # "b64" or "hex" from a suffix, else None
    data: str


def _parse_name(name):
    name, dot, suffix = name.upper().partition(".")
    if not dot:
        return name, None
    if suffix not in _ENCODINGS:
        raise UnknownScheme(f"Unknown password scheme {name + dot + suffix!r} (unknown encoding suffix).")
    return name, _ENCODINGS[suffix]


def _split(stored, default_scheme):
    if stored.startswith("{"):
        end = stored.find("}")
        if end < 0:
            raise MalformedHash("The stored value starts with '{' but has no closing '}'.")
        name, encoding = _parse_name(stored[1:end])
        data = stored[end + 1 :]
    elif re.match(r"\$1\$[^$]*\$", stored):
        name, encoding = "MD5-CRYPT", None
        data = "$".join(stored.split("$")[:4])
    else:
        name, encoding = _parse_name(default_scheme)
        data = stored
    if name not in _SCHEMES:
        raise UnknownScheme(_unknown_message(name))
    return _Stored(name, encoding, data)


def _unknown_message(name):
    if name in _DOVECOT_ONLY:
        return f"Password scheme {name!r} is known to Dovecot but not supported by mailadmin."
    return f"Unknown password scheme {name!r}."


def _raw(scheme, stored):
    """The bytes the scheme reads: the data after Dovecot's password_decode()."""
    encoding, guessed = stored.encoding, False
    if encoding is None and scheme.encoding and scheme.digest_size:
        encoding = "hex" if len(stored.data) == 2 * scheme.digest_size else "b64"
        guessed = True
    elif encoding is None:
        encoding = scheme.encoding
    raw = None
    if encoding == "hex":
        try:
            raw = binascii.unhexlify(stored.data)
        except (binascii.Error, ValueError):
            if not guessed:
                raise MalformedHash(f"The {scheme.name} value is not valid hex.") from None
            encoding = "b64"  # Dovecot falls back to base64 when its hex guess fails
    if encoding == "b64":
        raw = _b64decode(stored.data, scheme.name)
    if raw is None:
        raw = stored.data.encode("utf-8")
    if scheme.digest_size and len(raw) != scheme.digest_size:
        raise MalformedHash(f"The {scheme.name} value has the wrong length for its digest.")
    return raw


def _b64decode(data, name):
    # Dovecot's base64 decoder skips white space but insists on the padding.
    try:
        return base64.b64decode(re.sub(r"[ \t\r\n]", "", data), validate=True)
    except (binascii.Error, ValueError):
        raise MalformedHash(f"The {name} value is not valid base64.") from None


def _text(raw, name):
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise MalformedHash(f"The {name} value is not a crypt string.") from None


# --- One verifier per family: (secret bytes, raw stored bytes, scheme name) -> bool -------------

_BCRYPT_FORM = re.compile(r"\$2([abxy])\$\d\d\$[./A-Za-z0-9]{53}")


def _verify_bcrypt(secret, raw, name):
    text = _text(raw, name)
    form = _BCRYPT_FORM.fullmatch(text)
    if not form:
        raise MalformedHash(f"The {name} value is not a $2a$, $2b$, $2x$ or $2y$ bcrypt hash.")
    # $2a$, $2b$ and $2y$ give one result for any UTF-8 password (crypt_blowfish's $2a$
    # countermeasure needs 0xFF bytes, which UTF-8 never has). $2x$ keeps the old sign-extension
    # bug, which changes the result for non-ASCII passwords; we rebuild that buggy key.
    key = _sign_extended_bcrypt_key(secret) if form.group(1) == "x" else secret[:BCRYPT_MAX_BYTES]
    try:
        return bcrypt.checkpw(key, ("$2b$" + text[4:]).encode("ascii"))
    except ValueError:
        raise MalformedHash(f"The {name} value is not a valid bcrypt hash.") from None


def _sign_extended_bcrypt_key(secret):
    """The 72 key bytes crypt_blowfish's $2x$ mode uses: each 32-bit key word is built from a
    cycle of password+NUL, with bytes >= 0x80 sign-extended over the bytes before them.
    Fed to a correct bcrypt as a 72-byte password, it gives the $2x$ result."""
    cycle = secret + b"\0"
    stream = (cycle * (BCRYPT_MAX_BYTES // len(cycle) + 1))[:BCRYPT_MAX_BYTES]
    key = bytearray()
    for start in range(0, BCRYPT_MAX_BYTES, 4):
        word = 0
        for byte in stream[start : start + 4]:
            word = ((word << 8) | (byte | 0xFFFFFF00 if byte & 0x80 else byte)) & 0xFFFFFFFF
        key += word.to_bytes(4, "big")
    return bytes(key)


_CRYPT_FORMS = (  # crypt(3) forms, by the scheme Dovecot names them
    (re.compile(r"\$2[abxy]\$"), "BLF-CRYPT", None),
    (re.compile(r"\$1\$"), "MD5-CRYPT", md5_crypt),
    (re.compile(r"\$5\$"), "SHA256-CRYPT", sha256_crypt),
    (re.compile(r"\$6\$"), "SHA512-CRYPT", sha512_crypt),
    (re.compile(r"[./0-9A-Za-z]{13}$"), "DES-CRYPT", des_crypt),
)


def _crypt_form(text):
    for pattern, name, handler in _CRYPT_FORMS:
        if pattern.match(text):
            return name, handler
    return None, None


def _verify_libc_crypt(secret, raw, name):
    # SHA512-CRYPT, SHA256-CRYPT, DES-CRYPT and CRYPT all call libc's crypt() in Dovecot, so
    # the "$id$" in the data decides, not the scheme name: doveadm verifies {SHA512-CRYPT}$1$….
    text = _text(raw, name)
    form, handler = _crypt_form(text)
    if form == "BLF-CRYPT":
        return _verify_bcrypt(secret, raw, name)
    if handler is None:
        raise MalformedHash(f"The {name} value is not a crypt(3) form mailadmin can verify.")
    return _verify_with(handler, secret, text, name)


def _verify_md5_crypt(secret, raw, name):
    # Dovecot's own MD5-CRYPT code: only "$1$" (anything else is a mismatch there).
    text = _text(raw, name)
    if not text.startswith("$1$"):
        raise MalformedHash(f"The {name} value is not a $1$salt$hash value.")
    return _verify_with(md5_crypt, secret, text, name)


def _verify_with(handler, secret, text, name):
    try:
        return handler.verify(secret, text)
    except ValueError:  # libc refuses these too (rounds < 1000, salt too long …): no match in Dovecot
        raise MalformedHash(f"The {name} value is not a valid {handler.name} hash.") from None


def _verify_md5(secret, raw, name):
    # Dovecot's "MD5" is MD5-CRYPT when the data starts with $1$, otherwise PLAIN-MD5.
    if raw.startswith(b"$1$"):
        return _verify_md5_crypt(secret, raw, name)
    plain_md5 = _SCHEMES["PLAIN-MD5"]
    digest = _raw(plain_md5, _Stored("PLAIN-MD5", None, _text(raw, name)))
    return plain_md5.verify(secret, digest, name)


_ARGON2_FORM = re.compile(r"\$argon2(id|i)\$(v=\d+\$)?m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+")


def _verify_argon2(secret, raw, name):
    # libsodium reads the variant from the data, so {ARGON2I} and {ARGON2ID} are interchangeable.
    text = _text(raw, name)
    if not _ARGON2_FORM.fullmatch(text):
        raise MalformedHash(f"The {name} value is not an $argon2i$ or $argon2id$ hash.")
    try:
        return _argon2.verify(text, secret)
    except VerifyMismatchError:
        return False
    except (VerificationError, InvalidHashError):
        raise MalformedHash(f"The {name} value is not a valid Argon2 hash.") from None


def _digest(algorithm):
    def verify(secret, raw, name):
        return hmac.compare_digest(hashlib.new(algorithm, secret).digest(), raw)

    return verify


def _salted_digest(algorithm):
    size = hashlib.new(algorithm).digest_size

    def verify(secret, raw, name):
        # <digest><salt>; Dovecot refuses a value with no salt at all.
        if len(raw) <= size:
            raise MalformedHash(f"The {name} value is too short to hold a digest and a salt.")
        return hmac.compare_digest(hashlib.new(algorithm, secret + raw[size:]).digest(), raw[:size])

    return verify


def _verify_plain(secret, raw, name):
    return hmac.compare_digest(secret, raw)


# --- The schemes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scheme:
    name: str  # canonical
    verify: Callable[[bytes, bytes, str], bool]
    encoding: str | None = None  # Dovecot's default encoding: None (text), "b64" or "hex"
    digest_size: int = 0  # fixed raw size: Dovecot then guesses hex or base64 by length
    weak: bool = True


def _digest_scheme(name, algorithm, encoding):
    return _Scheme(name, _digest(algorithm), encoding, hashlib.new(algorithm).digest_size)


_SCHEME_LIST = [
    # Slow, salted, made for passwords. SHA256-CRYPT and SHA512-CRYPT are not weak: salted and
    # iterated (5000 rounds of SHA-2 by default, at least 1000), still every libc's password
    # hash. They are not memory-hard, so GPUs crack them faster than bcrypt or Argon2; that is
    # why BLF-CRYPT is the default and upgrade-on-login moves them to the configured scheme.
    _Scheme("BLF-CRYPT", _verify_bcrypt, weak=False),
    _Scheme("ARGON2ID", _verify_argon2, weak=False),
    _Scheme("ARGON2I", _verify_argon2, weak=False),
    _Scheme("SHA512-CRYPT", _verify_libc_crypt, weak=False),
    _Scheme("SHA256-CRYPT", _verify_libc_crypt, weak=False),
    # Weak or legacy: fast digests, MD5 and DES crypt, plaintext.
    _Scheme("MD5-CRYPT", _verify_md5_crypt),
    _Scheme("DES-CRYPT", _verify_libc_crypt),
    _Scheme("CRYPT", _verify_libc_crypt),
    _Scheme("MD5", _verify_md5),
    _Scheme("SSHA512", _salted_digest("sha512"), "b64"),
    _Scheme("SSHA256", _salted_digest("sha256"), "b64"),
    _Scheme("SSHA", _salted_digest("sha1"), "b64"),
    _Scheme("SMD5", _salted_digest("md5"), "b64"),
    _digest_scheme("SHA512", "sha512", "b64"),
    _digest_scheme("SHA256", "sha256", "b64"),
    _digest_scheme("SHA", "sha1", "b64"),
    _digest_scheme("LDAP-MD5", "md5", "b64"),
    _digest_scheme("PLAIN-MD5", "md5", "hex"),
    _Scheme("PLAIN", _verify_plain),
]
_SCHEMES = {scheme.name: scheme for scheme in _SCHEME_LIST}
_ALIASES = {"SHA1": "SHA", "CLEAR": "PLAIN", "CLEARTEXT": "PLAIN"}
_SCHEMES.update({alias: _SCHEMES[name] for alias, name in _ALIASES.items()})
# Known to Dovecot 2.3 (doveadm pw -l) but not verified here: challenge-response, per-user or
# one-time schemes no mail guide stores.
_DOVECOT_ONLY = {
    "CRAM-MD5", "HMAC-MD5", "DIGEST-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256", "OTP", "SKEY", "PBKDF2",
    "PLAIN-MD4", "PLAIN-TRUNC", "LANMAN", "NTLM", "RPA",
}  # fmt: skip


# --- The API -------------------------------------------------------------------------------------


def scheme_of(stored, *, default_scheme="MD5-CRYPT"):
    """The canonical name of the scheme Dovecot will use for a stored value.

    Aliases fold (SHA1 -> SHA, CLEAR/CLEARTEXT -> PLAIN), encoding suffixes drop, and where
    Dovecot lets the data decide, the data names it: {CRYPT}/{SHA512-CRYPT} holding "$1$…" is
    MD5-CRYPT, {MD5} is MD5-CRYPT or PLAIN-MD5, {ARGON2I}$argon2id$… is ARGON2ID."""
    parsed = _split(stored, default_scheme)
    scheme = _SCHEMES[parsed.name]
    if scheme.verify in (_verify_libc_crypt, _verify_md5, _verify_argon2):
        try:
            text = _text(_raw(scheme, parsed), scheme.name)
        except MalformedHash:
            return scheme.name
        if scheme.verify is _verify_argon2:
            variant = re.match(r"\$argon2(id|i)\$", text)
            return f"ARGON2{variant.group(1).upper()}" if variant else scheme.name
        if scheme.verify is _verify_md5:
            return "MD5-CRYPT" if text.startswith("$1$") else "PLAIN-MD5"
        return _crypt_form(text)[0] or scheme.name
    return scheme.name


def is_weak(scheme_name):
    """True for weak or legacy schemes, and for any scheme this module does not know."""
    try:
        name, _ = _parse_name(scheme_name)
    except UnknownScheme:
        return True
    scheme = _SCHEMES.get(name)
    return scheme is None or scheme.weak


def needs_upgrade(stored, *, scheme, bcrypt_cost, default_scheme="MD5-CRYPT"):
    """True when a password that just verified should be stored again with hash_password():
    its scheme is weak or not the configured one, it is not stored in the plain "{SCHEME}"
    form, or it is cheaper than what we would write now."""
    current = scheme_of(stored, default_scheme=default_scheme)
    if is_weak(current) or current != scheme.upper() or not stored.startswith("{" + current + "}"):
        return True
    data = stored[len(current) + 2 :]
    if current == "BLF-CRYPT":
        # $2x$ keeps a bug on purpose; rewrite it as $2y$.
        return data[:4] == "$2x$" or int(data[4:6]) < bcrypt_cost
    if current == "ARGON2ID":
        return _argon2.check_needs_rehash(data)
    if current == "SHA512-CRYPT":
        rounds = re.match(r"\$6\$rounds=(\d+)\$", data)
        return rounds is not None and int(rounds.group(1)) < SHA_CRYPT_ROUNDS
    return False


def hash_password(password, scheme="BLF-CRYPT", *, bcrypt_cost=12):
    """The value to store for `password`, as Dovecot writes it: "{SCHEME}…"."""
    scheme = scheme.upper()
    secret = _secret(password)
    if scheme == "BLF-CRYPT":
        salt = bcrypt.gensalt(rounds=bcrypt_cost, prefix=b"2b")
        # $2b$ and $2y$ are the same algorithm; Dovecot writes $2y$.
        return "{BLF-CRYPT}$2y$" + bcrypt.hashpw(secret[:BCRYPT_MAX_BYTES], salt).decode("ascii")[4:]
    if scheme == "ARGON2ID":
        return "{ARGON2ID}" + _argon2.hash(secret)
    if scheme == "SHA512-CRYPT":
        return "{SHA512-CRYPT}" + sha512_crypt.using(rounds=SHA_CRYPT_ROUNDS, salt_size=16).hash(secret)
    raise UnknownScheme(f"Cannot write {scheme!r} hashes; choose one of {', '.join(WRITABLE_SCHEMES)}.")


def verify_password(password, stored, *, default_scheme="MD5-CRYPT"):
    """True when `password` matches the stored value. Raises UnknownScheme or MalformedHash
    when the stored value cannot be checked at all."""
    parsed = _split(stored, default_scheme)
    scheme = _SCHEMES[parsed.name]
    raw = _raw(scheme, parsed)
    if "\0" in password:
        # Dovecot reads a password as a C string: nothing after a NUL would count.
        return False
    return scheme.verify(password.encode("utf-8"), raw, scheme.name)


def _secret(password):
    # Dovecot sees the UTF-8 bytes, read as a C string (so a NUL would end the password).
    if "\0" in password:
        raise ValueError("A password cannot contain a NUL character.")
    return password.encode("utf-8")


_ALPHABET = "".join(ch for ch in string.ascii_letters + string.digits if ch not in "Il1O0o")


def generate_password(length=20):
    """A random password of unambiguous letters and digits (20 of 56 symbols: about 116 bits)."""
    if length < 1:
        raise ValueError("A password needs at least one character.")
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))
