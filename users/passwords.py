"""Dovecot-compatible password hashes, with no Django in it.

Every scheme Dovecot 2.3.19 lists (`doveadm pw -l`) is one class here, in the shape of Django's
own hashers: `verify`, `encode` (for the schemes the panel writes), `must_update`, `cost` (the
parameters that decide what one verification costs) and `safe_summary`. `SCHEMES` is the one
registry; the functions at the bottom are the API the rest of the panel calls.

A stored value is "{SCHEME}data" as Dovecot's passdb reads it (src/auth/password-scheme.c); every
rule below was checked against `doveadm pw` 2.3.19 (users/tests/test_passwords.py).

- A value starting with "{" is always parsed as a scheme here. (Dovecot's auth would fall back to
  the default scheme when the "}" is missing; we call that malformed instead of guessing.)
- A bare value uses the default scheme, as the SQL passdb does (it prefixes "{default}" before
  anything else reads the value, auth_request_set_password()). Dovecot's SQL driver assumes MD5,
  which reads "$1$…" as MD5-CRYPT and anything else as PLAIN-MD5 (hex, or base64 by length).
  (`doveadm pw -t` differs: it reads a bare "$1$salt$hash$…" as MD5-CRYPT whatever the default
  and ignores a fourth "$" field; the passdb, which decides logins, does neither.)
- A scheme may carry an encoding suffix, ".B64"/".BASE64"/".HEX", for ANY scheme: the data is
  decoded first and the scheme then reads the result ({BLF-CRYPT.B64} is a base64'd "$2y$…").
- Fixed-size digests (SHA*, PLAIN-MD4/5, LDAP-MD5, CRAM-MD5, DIGEST-MD5) without a suffix are
  read as hex when the length is exactly twice the digest size, otherwise as base64.
- Where Dovecot lets the data decide, the data decides: {CRYPT}/{SHA512-CRYPT}/{DES-CRYPT} all
  call libc's crypt(), so "$1$…" under any of them is MD5-CRYPT; {ARGON2I} holding "$argon2id$"
  is Argon2id.
- An unknown scheme is an error, never "compare as plaintext". No message from this module
  contains a password or the stored data.
"""

import base64
import binascii
import hashlib
import hmac
import math
import re
import secrets
import string
import struct
import warnings
from dataclasses import dataclass

import bcrypt
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from passlib.crypto.digest import lookup_hash
from passlib.hash import des_crypt, md5_crypt, sha256_crypt, sha512_crypt  # libpass

# How strong a scheme is, for the hash inventory and the upgrade rule.
PLAINTEXT = "plaintext"  # the stored data is the password itself
WEAK = "weak"  # fast digests, MD5/DES crypt, challenge-response secrets
STRONG = "strong"  # slow and salted, made for passwords

# Dovecot's bcrypt (Openwall crypt_blowfish) reads the first 72 bytes and ignores the rest:
# doveadm verifies a hash of 80 "x" with 72 "x" and any tail. bcrypt 4.3 truncates silently too;
# we cut explicitly so a future bcrypt that refuses long input changes nothing.
BCRYPT_MAX_BYTES = 72
# What `doveadm pw -s SHA512-CRYPT` writes: no "rounds=", i.e. libc's default of 5000.
SHA_CRYPT_ROUNDS = 5000
# What `doveadm pw -s ARGON2ID` writes (libsodium's "moderate" limits): m=65536 KiB, t=3, p=1.
ARGON2_MEMORY_KIB, ARGON2_TIME, ARGON2_PARALLELISM = 65536, 3, 1
_argon2 = PasswordHasher(
    time_cost=ARGON2_TIME, memory_cost=ARGON2_MEMORY_KIB, parallelism=ARGON2_PARALLELISM,
    hash_len=32, salt_len=16, type=Type.ID,
)  # fmt: skip


class UnknownScheme(ValueError):
    """The stored value names a scheme this module does not know (or cannot write)."""


class MalformedHash(ValueError):
    """The stored value cannot be read as its scheme says."""


class CannotVerify(ValueError):
    """A known scheme whose value cannot be checked with what we were given (DIGEST-MD5 without
    the login name) or on this system (a crypt(3) form libc knows and Python cannot reach)."""


# --- Decoding the data -------------------------------------------------------------------------


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
        raise MalformedHash(f"The {name} value is not ASCII text.") from None


def _unsigned(text):
    """Dovecot's str_to_uint(): digits only, at most 2**32 - 1; None otherwise."""
    if not re.fullmatch(r"\d+", text) or int(text) > 2**32 - 1:
        return None
    return int(text)


# --- The scheme classes --------------------------------------------------------------------------


class Scheme:
    """One Dovecot scheme. `raw` is always the data after Dovecot's password_decode()."""

    name = ""
    aliases = ()
    encoding = None  # Dovecot's default encoding of the data: None (text), "b64" or "hex"
    digest_size = 0  # a fixed raw size: Dovecot then guesses hex or base64 by length
    strength = WEAK
    writable = False  # the panel stores new passwords in it

    def verify(self, secret, raw, *, user=None):
        """True when `secret` (the password's UTF-8 bytes) matches."""
        raise NotImplementedError

    def resolve(self, raw):
        """The scheme that will really read `raw` (and the raw bytes it reads)."""
        return self, raw

    def cost(self, raw):
        """The parameters that make one verification slower, by name; {} when fixed."""
        return {}

    def must_update(self, raw, **target):
        """True when a hash of this scheme is not what encode(**target) would write now."""
        return True

    def encode(self, password, **params):
        raise UnknownScheme(f"Cannot write {self.name!r} hashes; choose one of {', '.join(WRITABLE_SCHEMES)}.")

    def safe_summary(self, raw):
        """What a person may see about a hash: scheme, strength, cost, never the data."""
        return {"scheme": self.name, "strength": self.strength, **self.cost(raw)}

    def __repr__(self):
        return f"<{type(self).__name__} {self.name}>"


class Plain(Scheme):
    name, aliases, strength = "PLAIN", ("CLEAR", "CLEARTEXT"), PLAINTEXT

    def verify(self, secret, raw, *, user=None):
        return hmac.compare_digest(secret, raw)

    def plaintext(self, raw):
        return raw


class PlainTrunc(Scheme):
    """"<length>-<password>": a password some old system cut at <length> bytes."""

    name, strength = "PLAIN-TRUNC", PLAINTEXT

    def _split(self, raw):
        match = re.match(rb"(\d*)-", raw)
        if not match:
            raise MalformedHash("The PLAIN-TRUNC value has no '<length>-' prefix.")
        return int(match.group(1) or 0), raw[match.end() :]

    def verify(self, secret, raw, *, user=None):
        length, stored = self._split(raw)
        if len(stored) == length and len(secret) >= length:
            # Possibly truncated: Dovecot accepts any password that starts with it.
            return hmac.compare_digest(secret[:length], stored)
        return hmac.compare_digest(secret, stored)

    def plaintext(self, raw):
        return self._split(raw)[1]


class Digest(Scheme):
    """Dovecot's generic check: hash the password, compare with the stored digest."""

    def __init__(self, name, algorithm, encoding, aliases=()):
        self.name, self.algorithm, self.encoding, self.aliases = name, algorithm, encoding, aliases
        self.digest_size = len(self._digest(b""))

    def _digest(self, secret):
        if self.algorithm == "md4":  # OpenSSL 3 dropped MD4; passlib keeps a pure-Python one
            return lookup_hash("md4").const(secret).digest()
        return hashlib.new(self.algorithm, secret).digest()

    def verify(self, secret, raw, *, user=None):
        return hmac.compare_digest(self._digest(secret), raw)


class SaltedDigest(Scheme):
    """"<digest><salt>", base64: SSHA, SSHA256, SSHA512, SMD5."""

    encoding = "b64"

    def __init__(self, name, algorithm):
        self.name, self.algorithm = name, algorithm
        self.size = hashlib.new(algorithm).digest_size

    def verify(self, secret, raw, *, user=None):
        if len(raw) <= self.size:  # Dovecot refuses a value with no salt at all
            raise MalformedHash(f"The {self.name} value is too short to hold a digest and a salt.")
        return hmac.compare_digest(hashlib.new(self.algorithm, secret + raw[self.size :]).digest(), raw[: self.size])


# MD5's compression function, for CRAM-MD5: the stored value is the HMAC-MD5 state after the key
# block, which hashlib does not expose (RFC 1321, section 3.4).
_MD5_SHIFTS = [7, 12, 17, 22] * 4 + [5, 9, 14, 20] * 4 + [4, 11, 16, 23] * 4 + [6, 10, 15, 21] * 4
_MD5_CONSTANTS = [int(abs(math.sin(i + 1)) * 2**32) & 0xFFFFFFFF for i in range(64)]
_MD5_INITIAL = (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476)
_MASK32 = 0xFFFFFFFF


def _md5_compress(state, block):
    words = struct.unpack("<16I", block)
    a, b, c, d = state
    for i in range(64):
        if i < 16:
            f, g = (b & c) | (~b & d), i
        elif i < 32:
            f, g = (d & b) | (~d & c), (5 * i + 1) % 16
        elif i < 48:
            f, g = b ^ c ^ d, (3 * i + 5) % 16
        else:
            f, g = c ^ (b | ~d), (7 * i) % 16
        f = (f + a + _MD5_CONSTANTS[i] + words[g]) & _MASK32
        shift = _MD5_SHIFTS[i]
        a, d, c, b = d, c, b, (b + ((f << shift) | (f >> (32 - shift)))) & _MASK32
    return tuple((x + y) & _MASK32 for x, y in zip(state, (a, b, c, d)))


class CramMD5(Scheme):
    """The HMAC-MD5 outer and inner states after the key (32 bytes, hex): what a CRAM-MD5 server
    needs, and a password equivalent for that mechanism (src/lib/hmac-cram-md5.c)."""

    encoding, digest_size = "hex", 32

    def __init__(self, name):
        self.name = name

    def verify(self, secret, raw, *, user=None):
        key = hashlib.md5(secret).digest() if len(secret) > 64 else secret
        key = key.ljust(64, b"\0")
        outer = _md5_compress(_MD5_INITIAL, bytes(byte ^ 0x5C for byte in key))
        inner = _md5_compress(_MD5_INITIAL, bytes(byte ^ 0x36 for byte in key))
        return hmac.compare_digest(struct.pack("<8I", *outer, *inner), raw)


class DigestMD5(Scheme):
    """MD5("user:realm:password"), hex. Dovecot takes user and realm from the login name as the
    client typed it, split at its last "@": so it can only be checked with that name."""

    name, encoding, digest_size = "DIGEST-MD5", "hex", 16

    def verify(self, secret, raw, *, user=None):
        if user is None:
            raise CannotVerify(
                "A DIGEST-MD5 hash is MD5 of user:realm:password; it can only be checked with the "
                "login name (user@realm), which was not given."
            )
        name, at, realm = user.encode("utf-8").rpartition(b"@")
        if not at:
            name, realm = realm, b""
        return hmac.compare_digest(hashlib.md5(name + b":" + realm + b":" + secret).digest(), raw)


class Scram(Scheme):
    """"iterations,salt,StoredKey,ServerKey" (RFC 5802), base64 fields; Dovecot checks the
    password by recomputing StoredKey (src/auth/password-scheme-scram.c)."""

    MIN_ITERATIONS = 4096  # Dovecot refuses fewer (the RFC's SHOULD)

    def __init__(self, name, algorithm):
        self.name, self.algorithm = name, algorithm
        self.size = hashlib.new(algorithm).digest_size

    def _fields(self, raw):
        fields = _text(raw, self.name).split(",")
        if len(fields) != 4:
            raise MalformedHash(f"The {self.name} value is not iterations,salt,StoredKey,ServerKey.")
        iterations = _unsigned(fields[0])
        if iterations is None or not self.MIN_ITERATIONS <= iterations <= 2**31 - 1:
            raise MalformedHash(f"The {self.name} iteration count must be a number from {self.MIN_ITERATIONS}.")
        salt = _b64decode(fields[1], self.name)
        stored_key, server_key = _b64decode(fields[2], self.name), _b64decode(fields[3], self.name)
        if len(stored_key) != self.size or len(server_key) != self.size:
            raise MalformedHash(f"The {self.name} keys have the wrong length.")
        return iterations, salt, stored_key

    def verify(self, secret, raw, *, user=None):
        iterations, salt, stored_key = self._fields(raw)
        # Dovecot 2.3 feeds the password as it is (no SASLprep), and so do we.
        salted = hashlib.pbkdf2_hmac(self.algorithm, secret, salt, iterations)
        client_key = hmac.new(salted, b"Client Key", self.algorithm).digest()
        return hmac.compare_digest(hashlib.new(self.algorithm, client_key).digest(), stored_key)

    def cost(self, raw):
        return {"iterations": self._fields(raw)[0]}


class Pbkdf2(Scheme):
    """"$1$salt$rounds$hex": PBKDF2-HMAC-SHA1, 20 bytes, the salt used as text."""

    name = "PBKDF2"

    def _fields(self, raw):
        text = _text(raw, self.name)
        fields = text[3:].split("$")
        rounds = _unsigned(fields[1]) if len(fields) == 3 else None
        if not text.startswith("$1$") or rounds is None or not re.fullmatch(r"[0-9A-Fa-f]{40}", fields[2]):
            raise MalformedHash("The PBKDF2 value is not $1$salt$rounds$<40 hex digits>.")
        if rounds < 1:
            raise MalformedHash("The PBKDF2 value has 0 rounds.")
        return fields[0].encode("ascii"), rounds, bytes.fromhex(fields[2])

    def verify(self, secret, raw, *, user=None):
        salt, rounds, key = self._fields(raw)
        return hmac.compare_digest(hashlib.pbkdf2_hmac("sha1", secret, salt, rounds, 20), key)

    def cost(self, raw):
        return {"iterations": self._fields(raw)[1]}


class Otp(Scheme):
    """"algorithm sequence seed hash" (RFC 2289 S/Key state): the passphrase hashed with the
    seed, then sequence more times, each digest folded to 64 bits (src/lib-otp/otp-hash.c)."""

    name = "OTP"
    _FORM = re.compile(r"(md4|md5|sha1)[ \t](\d+)[ \t]([A-Za-z0-9]{0,16}) [ \t]*((?:[0-9A-Fa-f][ \t]*){16})")

    def _fields(self, raw):
        text = _text(raw, self.name)
        match = self._FORM.match(text)
        if not match or int(match.group(2)) > 2**31 - 1:
            raise MalformedHash("The OTP value is not 'md4|md5|sha1 <sequence> <seed> <16 hex digits>'.")
        algorithm, sequence, seed = match.group(1), int(match.group(2)), match.group(3).lower()
        return text, algorithm, sequence, seed

    @staticmethod
    def _fold(algorithm, data):
        if algorithm == "md4":
            digest = lookup_hash("md4").const(data).digest()
        else:
            digest = hashlib.new(algorithm, data).digest()
        words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, len(digest), 4)]
        first, second = words[0] ^ words[2], words[1] ^ words[3]
        if algorithm == "sha1":  # RFC 2289 appendix A: the SHA-1 fold also reverses each word
            return (first ^ words[4]).to_bytes(4, "big") + second.to_bytes(4, "big")
        return first.to_bytes(4, "little") + second.to_bytes(4, "little")

    def verify(self, secret, raw, *, user=None):
        text, algorithm, sequence, seed = self._fields(raw)
        value = self._fold(algorithm, seed.encode("ascii") + secret)
        for _ in range(sequence):
            value = self._fold(algorithm, value)
        # Dovecot prints the state again and compares without regard to case.
        expected = f"{algorithm} {sequence} {seed} {value.hex()}"
        return hmac.compare_digest(expected.lower().encode(), text.lower().encode())

    def cost(self, raw):
        return {"sequence": self._fields(raw)[2]}


_BCRYPT_FORM = re.compile(r"\$2([abxy])\$(\d\d)\$[./A-Za-z0-9]{53}")


class Bcrypt(Scheme):
    name, strength, writable = "BLF-CRYPT", STRONG, True
    MIN_COST, MAX_COST = 4, 31  # what bcrypt accepts at all

    def _form(self, raw):
        form = _BCRYPT_FORM.fullmatch(_text(raw, self.name))
        if not form:
            raise MalformedHash(f"The {self.name} value is not a $2a$, $2b$, $2x$ or $2y$ bcrypt hash.")
        return form

    def verify(self, secret, raw, *, user=None):
        form = self._form(raw)
        # $2a$, $2b$ and $2y$ give one result for any UTF-8 password (crypt_blowfish's $2a$
        # countermeasure needs 0xFF bytes, which UTF-8 never has). $2x$ keeps the old sign-extension
        # bug, which changes the result for non-ASCII passwords; we rebuild that buggy key.
        key = _sign_extended_bcrypt_key(secret) if form.group(1) == "x" else secret[:BCRYPT_MAX_BYTES]
        try:
            return bcrypt.checkpw(key, ("$2b$" + form.string[4:]).encode("ascii"))
        except ValueError:
            raise MalformedHash(f"The {self.name} value is not a valid bcrypt hash.") from None

    def cost(self, raw):
        return {"cost": int(self._form(raw).group(2))}

    def must_update(self, raw, *, bcrypt_cost=12, **target):
        # $2x$ keeps a bug on purpose; rewrite it as $2y$.
        return self._form(raw).group(1) == "x" or self.cost(raw)["cost"] < bcrypt_cost

    def encode(self, password, *, bcrypt_cost=12, **params):
        salt = bcrypt.gensalt(rounds=bcrypt_cost, prefix=b"2b")
        # $2b$ and $2y$ are the same algorithm; Dovecot writes $2y$.
        hashed = bcrypt.hashpw(_secret(password)[:BCRYPT_MAX_BYTES], salt).decode("ascii")
        return "{BLF-CRYPT}$2y$" + hashed[4:]


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


class PasslibCrypt(Scheme):
    """A crypt(3) form passlib checks exactly as libc does."""

    def __init__(self, name, handler, prefix, strength):
        self.name, self.handler, self.prefix, self.strength = name, handler, prefix, strength

    def _check(self, raw):
        text = _text(raw, self.name)
        if not text.startswith(self.prefix):
            raise MalformedHash(f"The {self.name} value is not a {self.prefix or 'DES'} crypt(3) value.")
        return text

    def verify(self, secret, raw, *, user=None):
        try:
            return self.handler.verify(secret, self._check(raw))
        except ValueError:  # libc refuses these too (rounds < 1000, salt too long …): no match in Dovecot
            raise MalformedHash(f"The {self.name} value is not a valid {self.handler.name} hash.") from None


class ShaCrypt(PasslibCrypt):
    writable = False

    def cost(self, raw):
        rounds = re.match(r"\$[56]\$rounds=(\d+)\$", self._check(raw))
        return {"rounds": int(rounds.group(1)) if rounds else SHA_CRYPT_ROUNDS}

    def must_update(self, raw, **target):
        return self.cost(raw)["rounds"] < SHA_CRYPT_ROUNDS


class Sha512Crypt(ShaCrypt):
    writable = True

    def __init__(self):
        super().__init__("SHA512-CRYPT", sha512_crypt, "$6$", STRONG)

    def encode(self, password, **params):
        return "{SHA512-CRYPT}" + sha512_crypt.using(rounds=SHA_CRYPT_ROUNDS, salt_size=16).hash(_secret(password))


class Md5Crypt(PasslibCrypt):
    def verify(self, secret, raw, *, user=None):
        # Dovecot's own MD5-CRYPT code: only "$1$" (anything else is a mismatch there).
        if not _text(raw, self.name).startswith("$1$"):
            raise MalformedHash(f"The {self.name} value is not a $1$salt$hash value.")
        return super().verify(secret, raw)


class LibcCrypt(Scheme):
    """{CRYPT}, and the label of every libc form: Dovecot passes the data to crypt(), so the data's
    "$id$" picks the algorithm, not the scheme's name. Forms passlib does not check (yescrypt
    "$y$", scrypt "$7$" …) go to the system's crypt() through Python's crypt module when present:
    the very libxcrypt Dovecot calls."""

    def __init__(self, name, strength=WEAK):
        self.name, self.strength = name, strength

    def resolve(self, raw):
        text = _text(raw, self.name)
        for form in _CRYPT_FORMS:
            if form.pattern.match(text):
                return SCHEMES[form.scheme], raw
        return self, raw

    def verify(self, secret, raw, *, user=None):
        scheme, raw = self.resolve(raw)
        if scheme is not self:
            return scheme.verify(secret, raw)
        text = _text(raw, self.name)
        if not text:
            return False  # Dovecot: an empty crypt value never matches
        crypt = _system_crypt()
        if crypt is None or not text.startswith(("$", "_")):
            raise CannotVerify(
                f"This {self.name} value is not a crypt(3) form mailadmin can check ($1$, $2?$, $5$, $6$ "
                "or DES); Dovecot hands it to the system's crypt(), which Python cannot reach here."
            )
        try:
            result = crypt.crypt(secret.decode("utf-8"), text)
        except (OSError, UnicodeDecodeError):
            result = None
        if not result or result.startswith("*"):
            raise MalformedHash(f"The {self.name} value is not a form the system's crypt() knows.")
        return hmac.compare_digest(result.encode(), raw)


def _system_crypt():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt  # removed in Python 3.13; Debian 12 has 3.11
    except ImportError:
        return None
    return crypt


@dataclass(frozen=True)
class _CryptForm:
    pattern: re.Pattern  # compiled once: the admin's mailbox list resolves a hash a row
    scheme: str


_CRYPT_FORMS = (
    _CryptForm(re.compile(r"\$2[abxy]\$"), "BLF-CRYPT"),
    _CryptForm(re.compile(r"\$1\$"), "MD5-CRYPT"),
    _CryptForm(re.compile(r"\$5\$"), "SHA256-CRYPT"),
    _CryptForm(re.compile(r"\$6\$"), "SHA512-CRYPT"),
    _CryptForm(re.compile(r"[./0-9A-Za-z]{13}$"), "DES-CRYPT"),
)


class Md5(Scheme):
    """Dovecot's "MD5" (the SQL driver's default scheme): MD5-CRYPT when the data starts with
    "$1$", otherwise PLAIN-MD5 (hex, or base64 by length)."""

    name = "MD5"

    def resolve(self, raw):
        if raw.startswith(b"$1$"):
            return SCHEMES["MD5-CRYPT"], raw
        plain_md5 = SCHEMES["PLAIN-MD5"]
        return plain_md5, _decode(plain_md5, None, _text(raw, self.name))

    def verify(self, secret, raw, *, user=None):
        scheme, raw = self.resolve(raw)
        return scheme.verify(secret, raw)


_ARGON2_FORM = re.compile(r"\$argon2(id|i)\$(?:v=\d+\$)?m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+")


class Argon2(Scheme):
    """libsodium reads the variant from the data, so {ARGON2I} and {ARGON2ID} are interchangeable."""

    strength = STRONG

    def __init__(self, name, variant):
        self.name, self.variant = name, variant
        self.writable = variant == "id"

    def _form(self, raw):
        form = _ARGON2_FORM.fullmatch(_text(raw, self.name))
        if not form:
            raise MalformedHash(f"The {self.name} value is not an $argon2i$ or $argon2id$ hash.")
        return form

    def resolve(self, raw):
        variant = re.match(rb"\$argon2(id|i)\$", raw)
        return (SCHEMES["ARGON2" + variant.group(1).decode().upper()] if variant else self), raw

    def verify(self, secret, raw, *, user=None):
        form = self._form(raw)
        try:
            return _argon2.verify(form.string, secret)
        except VerifyMismatchError:
            return False
        except (VerificationError, InvalidHashError):
            raise MalformedHash(f"The {self.name} value is not a valid Argon2 hash.") from None

    def cost(self, raw):
        form = self._form(raw)
        return {"memory_kib": int(form.group(2)), "time": int(form.group(3)), "parallelism": int(form.group(4))}

    def must_update(self, raw, **target):
        return not self.writable or _argon2.check_needs_rehash(self._form(raw).string)

    def encode(self, password, **params):
        if not self.writable:
            return super().encode(password)
        return "{ARGON2ID}" + _argon2.hash(_secret(password))


# --- The registry --------------------------------------------------------------------------------

_SHA512_CRYPT = Sha512Crypt()
_SHA256_CRYPT = ShaCrypt("SHA256-CRYPT", sha256_crypt, "$5$", STRONG)
_DES_CRYPT = PasslibCrypt("DES-CRYPT", des_crypt, "", WEAK)
_SCHEME_LIST = [
    # Slow, salted, made for passwords. SHA256-CRYPT and SHA512-CRYPT are salted and iterated
    # (5000 rounds of SHA-2 by default, at least 1000), still every libc's password hash; they are
    # not memory-hard, so GPUs crack them faster than bcrypt or Argon2.
    Bcrypt(),
    Argon2("ARGON2ID", "id"),
    Argon2("ARGON2I", "i"),
    _SHA512_CRYPT,
    _SHA256_CRYPT,
    # Weak or legacy: fast digests, MD5 and DES crypt, challenge-response secrets.
    Md5Crypt("MD5-CRYPT", md5_crypt, "$1$", WEAK),
    _DES_CRYPT,
    LibcCrypt("CRYPT"),
    Md5(),
    SaltedDigest("SSHA512", "sha512"),
    SaltedDigest("SSHA256", "sha256"),
    SaltedDigest("SSHA", "sha1"),
    SaltedDigest("SMD5", "md5"),
    Digest("SHA512", "sha512", "b64"),
    Digest("SHA256", "sha256", "b64"),
    Digest("SHA", "sha1", "b64", aliases=("SHA1",)),
    Digest("LDAP-MD5", "md5", "b64"),
    Digest("PLAIN-MD5", "md5", "hex"),
    Digest("PLAIN-MD4", "md4", "hex"),
    CramMD5("CRAM-MD5"),
    CramMD5("HMAC-MD5"),
    DigestMD5(),
    Scram("SCRAM-SHA-1", "sha1"),
    Scram("SCRAM-SHA-256", "sha256"),
    Pbkdf2(),
    Otp(),
    # The password itself.
    Plain(),
    PlainTrunc(),
]
SCHEMES = {name: scheme for scheme in _SCHEME_LIST for name in (scheme.name, *scheme.aliases)}
# As labels, the libc schemes read whatever crypt() form the data holds (see LibcCrypt).
_LABELS = dict(SCHEMES)
_LABELS.update({scheme.name: LibcCrypt(scheme.name, scheme.strength) for scheme in (_SHA512_CRYPT, _SHA256_CRYPT, _DES_CRYPT)})
WRITABLE_SCHEMES = tuple(scheme.name for scheme in _SCHEME_LIST if scheme.writable)  # BLF-CRYPT, ARGON2ID, SHA512-CRYPT
# In Dovecot before 2.3 (or built with other options); 2.3.19 refuses them too.
_NOT_IN_DOVECOT_23 = {"LANMAN", "NTLM", "RPA", "SKEY"}


# --- Reading the stored value ------------------------------------------------------------------

_ENCODINGS = {"B64": "b64", "BASE64": "b64", "HEX": "hex"}


@dataclass(frozen=True)
class StoredHash:
    """A stored value as Dovecot reads it: `label` is the scheme it names (or the default scheme),
    `scheme` the one that really checks it (the data decides, see LibcCrypt), `raw` the decoded
    data that scheme reads, `prefixed` whether it carries its canonical "{SCHEME}" prefix."""

    label: Scheme
    scheme: Scheme
    raw: bytes
    prefixed: bool

    def verify(self, password, *, user=None):
        if "\0" in password:
            # Dovecot reads a password as a C string: nothing after a NUL would count.
            return False
        return self.scheme.verify(password.encode("utf-8"), self.raw, user=user)

    def cost(self):
        return self.scheme.cost(self.raw)

    def safe_summary(self):
        return self.scheme.safe_summary(self.raw)


def _parse_name(name):
    name, dot, suffix = name.upper().partition(".")
    if not dot:
        return name, None
    if suffix not in _ENCODINGS:
        raise UnknownScheme(f"Unknown password scheme {name + dot + suffix!r} (unknown encoding suffix).")
    return name, _ENCODINGS[suffix]


def _lookup(name, table=_LABELS):
    scheme = table.get(name)
    if scheme is None:
        if name in _NOT_IN_DOVECOT_23:
            raise UnknownScheme(f"Password scheme {name!r} is not in Dovecot 2.3 (doveadm pw -l): Dovecot refuses it too.")
        raise UnknownScheme(f"Unknown password scheme {name!r}: Dovecot 2.3 does not know it either.")
    return scheme


def _decode(scheme, encoding, data):
    """The bytes the scheme reads: Dovecot's password_decode()."""
    guessed = False
    if encoding is None and scheme.encoding and scheme.digest_size:
        encoding, guessed = ("hex" if len(data) == 2 * scheme.digest_size else "b64"), True
    elif encoding is None:
        encoding = scheme.encoding
    raw = None
    if encoding == "hex":
        try:
            raw = binascii.unhexlify(data)
        except (binascii.Error, ValueError):
            if not guessed:
                raise MalformedHash(f"The {scheme.name} value is not valid hex.") from None
            encoding = "b64"  # Dovecot falls back to base64 when its hex guess fails
    if encoding == "b64":
        raw = _b64decode(data, scheme.name)
    if raw is None:
        raw = data.encode("utf-8")
    if scheme.digest_size and len(raw) != scheme.digest_size:
        raise MalformedHash(f"The {scheme.name} value has the wrong length for its digest.")
    return raw


def parse(stored, *, default_scheme="MD5"):
    """The StoredHash for a value from virtual_users.password. Raises UnknownScheme or MalformedHash."""
    prefix = None
    if stored.startswith("{"):
        end = stored.find("}")
        if end < 0:
            raise MalformedHash("The stored value starts with '{' but has no closing '}'.")
        prefix = stored[1:end]
        name, encoding = _parse_name(prefix)
        data = stored[end + 1 :]
    else:
        name, encoding = _parse_name(default_scheme)
        data = stored
    label = _lookup(name)
    raw = _decode(label, encoding, data)
    scheme, raw = label.resolve(raw)
    return StoredHash(label=label, scheme=scheme, raw=raw, prefixed=prefix == scheme.name)


# --- The API -------------------------------------------------------------------------------------


def scheme_of(stored, *, default_scheme="MD5"):
    """The canonical name of the scheme Dovecot will use for a stored value.

    Aliases fold (SHA1 -> SHA, CLEAR/CLEARTEXT -> PLAIN), encoding suffixes drop, and where
    Dovecot lets the data decide, the data names it: {CRYPT}/{SHA512-CRYPT} holding "$1$…" is
    MD5-CRYPT, {MD5} is MD5-CRYPT or PLAIN-MD5, {ARGON2I}$argon2id$… is ARGON2ID. A value whose
    data cannot be decoded is named by its label."""
    prefix_end = stored.find("}") if stored.startswith("{") else -1
    try:
        return parse(stored, default_scheme=default_scheme).scheme.name
    except MalformedHash:
        if stored.startswith("{") and prefix_end < 0:
            raise
        name = _parse_name(stored[1:prefix_end] if prefix_end >= 0 else default_scheme)[0]
        return _lookup(name).name


def get_scheme(name):
    """The Scheme registered under `name` (any alias, any case, an encoding suffix ignored)."""
    return _lookup(_parse_name(name)[0], SCHEMES)


def strength_of(scheme_name):
    """PLAINTEXT, WEAK or STRONG; an unknown scheme is WEAK (never trusted)."""
    try:
        return get_scheme(scheme_name).strength
    except UnknownScheme:
        return WEAK


def is_weak(scheme_name):
    """True for weak, legacy and plaintext schemes, and for any scheme this module does not know."""
    return strength_of(scheme_name) != STRONG


def needs_upgrade(stored, *, scheme, bcrypt_cost, default_scheme="MD5"):
    """True when a password that just verified differs from what hash_password() would write:
    another scheme, not in the plain "{SCHEME}" form, or cheaper than the configured cost.
    (users.password_policy decides which of these the panel actually re-hashes.)"""
    parsed = parse(stored, default_scheme=default_scheme)
    if parsed.scheme.name != scheme.upper() or not parsed.prefixed:
        return True
    return parsed.scheme.must_update(parsed.raw, bcrypt_cost=bcrypt_cost)


def hash_password(password, scheme="BLF-CRYPT", *, bcrypt_cost=12):
    """The value to store for `password`, as Dovecot writes it: "{SCHEME}…"."""
    try:
        writer = get_scheme(scheme)
    except UnknownScheme:
        writer = None
    if writer is None or not writer.writable:
        raise UnknownScheme(f"Cannot write {scheme.upper()!r} hashes; choose one of {', '.join(WRITABLE_SCHEMES)}.")
    return writer.encode(password, bcrypt_cost=bcrypt_cost)


def verify_password(password, stored, *, default_scheme="MD5", user=None):
    """True when `password` matches the stored value. `user` is the login name, which only
    DIGEST-MD5 needs. Raises UnknownScheme, MalformedHash or CannotVerify when the stored value
    cannot be checked at all."""
    return parse(stored, default_scheme=default_scheme).verify(password, user=user)


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
