"""Dovecot-compatible password hashes, with no Django in it.

A stored value is "{SCHEME}data", as Dovecot's SQL passdb reads it (password-scheme.c in
Dovecot 2.3). A value without a prefix is read with a default scheme (Dovecot's SQL driver
assumes MD5-CRYPT); a value starting with "{" is always parsed as a scheme. An unknown scheme
is an error: never "compare as plaintext". No message here ever contains a password or a hash.
"""

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import string

import bcrypt
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from passlib.hash import md5_crypt, sha256_crypt, sha512_crypt

WRITABLE_SCHEMES = ("BLF-CRYPT", "ARGON2ID", "SHA512-CRYPT")

# Dovecot's own bcrypt (crypt_blowfish) reads at most 72 bytes of the password.
BCRYPT_MAX_BYTES = 72
# glibc's default for $6$; Dovecot writes SHA512-CRYPT without rounds=, i.e. 5000.
SHA_CRYPT_ROUNDS = 5000
# Dovecot 2.3's ARGON2ID defaults (doveadm pw -s ARGON2ID): m=65536 KiB, t=3, p=1.
_argon2 = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)


class UnknownScheme(ValueError):
    """The stored value names a scheme this module does not know."""


class MalformedHash(ValueError):
    """The stored value cannot be read as its scheme says."""


# --- Salted and unsalted digests (Dovecot's default encoding is base64, PLAIN-MD5's is hex) ---

_DIGESTS = {
    # scheme: (hashlib name, salted, default encoding)
    "SSHA512": ("sha512", True, "b64"),
    "SSHA256": ("sha256", True, "b64"),
    "SSHA": ("sha1", True, "b64"),
    "SMD5": ("md5", True, "b64"),
    "SHA512": ("sha512", False, "b64"),
    "SHA256": ("sha256", False, "b64"),
    "SHA": ("sha1", False, "b64"),
    "SHA1": ("sha1", False, "b64"),
    "LDAP-MD5": ("md5", False, "b64"),
    "PLAIN-MD5": ("md5", False, "hex"),
}
_PLAIN = ("PLAIN", "CLEAR", "CLEARTEXT")
_CRYPTS = {"SHA512-CRYPT": sha512_crypt, "SHA256-CRYPT": sha256_crypt, "MD5-CRYPT": md5_crypt}
_KNOWN = set(_DIGESTS) | set(_PLAIN) | set(_CRYPTS) | {"BLF-CRYPT", "ARGON2I", "ARGON2ID"}
_ALIASES = {"SHA1": "SHA", "CLEAR": "PLAIN", "CLEARTEXT": "PLAIN"}
_STRONG = {"BLF-CRYPT", "ARGON2I", "ARGON2ID", "SHA512-CRYPT", "SHA256-CRYPT"}


def _split(stored, default_scheme):
    """(SCHEME, encoding suffix or None, data) from a stored value."""
    if stored.startswith("{"):
        end = stored.find("}")
        if end < 0:
            raise MalformedHash("The stored value starts with '{' but has no closing '}'.")
        name, data = stored[1:end].upper(), stored[end + 1 :]
    else:
        name, data = default_scheme.upper(), stored
    encoding = None
    for suffix, kind in ((".B64", "b64"), (".BASE64", "b64"), (".HEX", "hex")):
        if name.endswith(suffix):
            name, encoding = name[: -len(suffix)], kind
            break
    if name not in _KNOWN:
        raise UnknownScheme(f"Unknown password scheme {name!r}.")
    return name, encoding, data


def scheme_of(stored, *, default_scheme="MD5-CRYPT"):
    """The canonical scheme name of a stored value: 'BLF-CRYPT', 'SHA512-CRYPT', 'PLAIN' …"""
    name, _, _ = _split(stored, default_scheme)
    return _ALIASES.get(name, name)


def is_weak(scheme_name):
    """Weak or legacy: fast digests, MD5-CRYPT and plaintext. The crypt family with SHA-2 and
    many rounds, bcrypt and Argon2 are deliberately slow and salted, so they are not."""
    return _ALIASES.get(scheme_name.upper(), scheme_name.upper()) not in _STRONG


def needs_upgrade(stored, *, scheme, bcrypt_cost, default_scheme="MD5-CRYPT"):
    """True when a verified password should be re-hashed with the configured scheme."""
    current = scheme_of(stored, default_scheme=default_scheme)
    if is_weak(current) or current != scheme.upper():
        return True
    if current == "BLF-CRYPT":
        data = stored[stored.index("}") + 1 :]
        try:
            return int(data.split("$")[2]) < bcrypt_cost
        except (IndexError, ValueError):
            return True
    return False


def hash_password(password, scheme="BLF-CRYPT", *, bcrypt_cost=12):
    scheme = scheme.upper()
    secret = password.encode("utf-8")
    if scheme == "BLF-CRYPT":
        salt = bcrypt.gensalt(rounds=bcrypt_cost, prefix=b"2b")
        # $2b$ and $2y$ are the same algorithm; Dovecot writes $2y$.
        return "{BLF-CRYPT}$2y$" + bcrypt.hashpw(secret[:BCRYPT_MAX_BYTES], salt).decode()[4:]
    if scheme == "ARGON2ID":
        return "{ARGON2ID}" + _argon2.hash(secret)
    if scheme == "SHA512-CRYPT":
        return "{SHA512-CRYPT}" + sha512_crypt.using(rounds=SHA_CRYPT_ROUNDS).hash(password)
    raise UnknownScheme(f"Cannot write {scheme!r} hashes; choose one of {', '.join(WRITABLE_SCHEMES)}.")


def verify_password(password, stored, *, default_scheme="MD5-CRYPT"):
    name, encoding, data = _split(stored, default_scheme)
    secret = password.encode("utf-8")
    if name == "BLF-CRYPT":
        return _verify_bcrypt(secret, data)
    if name in ("ARGON2I", "ARGON2ID"):
        return _verify_argon2(secret, data, name)
    if name in _CRYPTS:
        return _verify_crypt(_CRYPTS[name], password, data, name)
    if name in _PLAIN:
        expected = _decode(data, encoding, name) if encoding else data.encode("utf-8")
        return hmac.compare_digest(secret, expected)
    return _verify_digest(secret, data, name, encoding)


def _verify_bcrypt(secret, data):
    if not (len(data) == 60 and data[:4] in ("$2a$", "$2b$", "$2y$", "$2x$")):
        raise MalformedHash("A BLF-CRYPT value must be a $2a$, $2b$, $2x$ or $2y$ bcrypt hash.")
    try:
        return bcrypt.checkpw(secret[:BCRYPT_MAX_BYTES], ("$2b$" + data[4:]).encode())
    except ValueError:
        raise MalformedHash("The BLF-CRYPT value is not a valid bcrypt hash.")


_ARGON2_FORM = re.compile(r"^\$argon2(id|i)\$(v=\d+\$)?m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$")


def _verify_argon2(secret, data, name):
    form = _ARGON2_FORM.match(data)
    if not form or f"ARGON2{form.group(1).upper()}" != name:
        raise MalformedHash(f"A {name} value must have the form ${name.lower()}$v=19$m=…,t=…,p=…$salt$hash.")
    try:
        return _argon2.verify(data, secret)
    except VerificationError:
        return False
    except InvalidHashError:
        raise MalformedHash(f"The {name} value is not a valid Argon2 hash.")


def _verify_crypt(handler, password, data, name):
    if not handler.identify(data):
        raise MalformedHash(f"The {name} value is not in the {handler.ident}salt$hash form.")
    try:
        return handler.verify(password, data)
    except ValueError:
        raise MalformedHash(f"The {name} value is not a valid {name} hash.")


def _decode(data, encoding, name):
    try:
        if encoding == "hex":
            return binascii.unhexlify(data)
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedHash(f"The {name} value is not valid {'hex' if encoding == 'hex' else 'base64'}.")


def _verify_digest(secret, data, name, encoding):
    algorithm, salted, default_encoding = _DIGESTS[name]
    size = hashlib.new(algorithm).digest_size
    if encoding is None:
        # Dovecot reads an unsalted digest as hex when its length is exactly the hex length.
        encoding = "hex" if not salted and len(data) == size * 2 else default_encoding
    raw = _decode(data, encoding, name)
    if salted:
        if len(raw) <= size:
            raise MalformedHash(f"The {name} value is too short to hold a digest and a salt.")
        digest, salt = raw[:size], raw[size:]
        return hmac.compare_digest(hashlib.new(algorithm, secret + salt).digest(), digest)
    if len(raw) != size:
        raise MalformedHash(f"The {name} value has the wrong length for its digest.")
    return hmac.compare_digest(hashlib.new(algorithm, secret).digest(), raw)


_ALPHABET = "".join(ch for ch in string.ascii_letters + string.digits if ch not in "Il1O0o")


def generate_password(length=20):
    """A random password of unambiguous letters and digits (20 give about 115 bits)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))
