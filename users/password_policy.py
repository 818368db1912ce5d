"""The one place that decides about mailbox passwords, for every door (web, CLI, import, Django admin).

    hash_for_storage(raw)           the value to store for a new plaintext password: the configured
                                    scheme (MAILADMIN_PASSWORD_SCHEME) and cost (MAILADMIN_BCRYPT_COST).
    read_supplied_password(value)   what a value from an import or the Django admin is:
                                    SuppliedPassword(plaintext=…) to validate and hash, or
                                    SuppliedPassword(stored_hash=…) to store as given; raises
                                    RefusedPassword(message) for anything else.
    check_plaintext(raw)            refuses a plaintext password Dovecot could not take (NUL, control
                                    characters); Django's validate_password() is still the caller's.
    check_hash_cost(stored)         refuses a hash whose verification would cost more than the
                                    configured bounds (MAILADMIN_MAX_…), naming the setting to widen.
    should_rehash(stored)           the upgrade-on-login rule (MAILADMIN_UPGRADE_HASH), applied by
                                    users.auth_backends after a successful login.

Why bounds: each login attempt verifies the stored hash, in the panel and in Dovecot. A bcrypt cost
of 31 or SHA-crypt with a billion rounds lets anyone burn hours of CPU with a few wrong logins.
The defaults keep one verification under about half a second on the project's 2-core machine
(bench/RESULTS.md, "Hash verification cost").
"""

import unicodedata
from dataclasses import dataclass

from django.conf import settings

from users import passwords
from users.models import Mailbox

UPGRADE_MODES = ("different", "weak", "off")
# RFC 2289 sequence numbers count down from a few hundred; 10,000 steps cost under 0.1 s.
OTP_MAX_SEQUENCE = 10_000
# Seconds one verification takes per unit of cost, measured on the project's machine (loaded,
# bench/RESULTS.md); only used to tell a person what a refused hash would have cost.
_SECONDS = {
    "cost": lambda cost: 0.37 * 2 ** (cost - 12),
    "rounds": lambda rounds: rounds * 2.6e-6,
    "argon2": lambda memory_kib, time: 0.36 * (memory_kib / 65536) * (time / 3),
    "iterations": lambda iterations: iterations * 0.8e-6,
    "sequence": lambda sequence: sequence * 8.5e-6,
}
# The floor of MAILADMIN_UPGRADE_HASH=weak for the strong schemes: what doveadm and libc write.
_FLOOR = {"rounds": passwords.SHA_CRYPT_ROUNDS, "memory_kib": passwords.ARGON2_MEMORY_KIB, "time": passwords.ARGON2_TIME}


class RefusedPassword(ValueError):
    """A supplied password or hash the panel will not store; the message is for a person."""


@dataclass(frozen=True)
class SuppliedPassword:
    """Exactly one of the two is set."""

    plaintext: str | None = None  # validate with validate_password(), then hash_for_storage()
    stored_hash: str | None = None  # store as given: known scheme, well-formed, cost in bounds


def hash_for_storage(raw_password):
    return passwords.hash_password(
        raw_password, settings.MAILADMIN_PASSWORD_SCHEME, bcrypt_cost=settings.MAILADMIN_BCRYPT_COST
    )


def check_plaintext(raw_password):
    """The password, or RefusedPassword when Dovecot could never take it as typed."""
    if "\0" in raw_password:
        raise RefusedPassword(
            "The password contains a NUL character: Dovecot reads a password as a C string and "
            "would ignore everything after it."
        )
    control = next((ch for ch in raw_password if unicodedata.category(ch) == "Cc"), None)
    if control is not None:
        raise RefusedPassword(
            f"The password contains a control character (U+{ord(control):04X}): no mail client can "
            "type it reliably. Use letters, digits, spaces and punctuation."
        )
    return raw_password


_BARE_CRYPT = ("$1$", "$2a$", "$2b$", "$2x$", "$2y$", "$5$", "$6$", "$argon2", "$y$", "$7$")


def read_supplied_password(value):
    """Classify a password value as an import or the Django admin gives it."""
    if not value:
        raise RefusedPassword("No password given.")
    if not value.startswith("{"):
        if value.startswith(_BARE_CRYPT):
            raise RefusedPassword(
                "This looks like a crypt(3) hash without its {SCHEME} prefix. Add the prefix "
                "(e.g. {SHA512-CRYPT}$6$…) or give the plaintext password."
            )
        return SuppliedPassword(plaintext=check_plaintext(value))
    try:
        parsed = passwords.parse(value)
    except passwords.UnknownScheme as error:
        raise RefusedPassword(f"{error} Give a plaintext password or a hash of a scheme Dovecot knows.") from None
    except passwords.MalformedHash as error:
        raise RefusedPassword(str(error)) from None
    if parsed.scheme.strength == passwords.PLAINTEXT:
        # {PLAIN}/{CLEAR}/{CLEARTEXT}/{PLAIN-TRUNC} carry the password itself: it is validated and
        # hashed like any plaintext, never stored as given.
        try:
            plaintext = parsed.scheme.plaintext(parsed.raw).decode("utf-8")
        except UnicodeDecodeError:
            raise RefusedPassword(f"The {parsed.scheme.name} password is not valid UTF-8.") from None
        return SuppliedPassword(plaintext=check_plaintext(plaintext))
    if any(ord(char) > 0xFFFF for char in value):  # virtual_users.password is utf8mb3
        raise RefusedPassword("The hash has a character the password column cannot store.")
    check_hash_cost(value, parsed)
    column = Mailbox._meta.get_field("password").max_length
    if len(value) > column:
        raise RefusedPassword(f"The hash is longer than the password column holds ({column} characters).")
    return SuppliedPassword(stored_hash=value)


def bounds():
    """The verification bounds in force, by cost name: (limit, setting)."""
    return {
        "cost": (settings.MAILADMIN_MAX_BCRYPT_COST, "MAILADMIN_MAX_BCRYPT_COST"),
        "rounds": (settings.MAILADMIN_MAX_SHA_CRYPT_ROUNDS, "MAILADMIN_MAX_SHA_CRYPT_ROUNDS"),
        "memory_kib": (settings.MAILADMIN_MAX_ARGON2_MEMORY_KIB, "MAILADMIN_MAX_ARGON2_MEMORY_KIB"),
        "time": (settings.MAILADMIN_MAX_ARGON2_TIME, "MAILADMIN_MAX_ARGON2_TIME"),
        "parallelism": (settings.MAILADMIN_MAX_ARGON2_PARALLELISM, "MAILADMIN_MAX_ARGON2_PARALLELISM"),
        "iterations": (settings.MAILADMIN_MAX_PBKDF2_ITERATIONS, "MAILADMIN_MAX_PBKDF2_ITERATIONS"),
        "sequence": (OTP_MAX_SEQUENCE, None),
    }


_COST_NAMES = {
    "cost": "bcrypt cost",
    "rounds": "{scheme} rounds",
    "memory_kib": "Argon2 memory (KiB)",
    "time": "Argon2 time cost",
    "parallelism": "Argon2 parallelism",
    "iterations": "{scheme} iterations",
    "sequence": "OTP sequence",
}


def check_hash_cost(stored, parsed=None):
    """RefusedPassword unless the stored hash is well-formed with a cost inside the bounds."""
    try:
        parsed = parsed or passwords.parse(stored)
        cost = parsed.cost()
    except ValueError as error:
        raise RefusedPassword(str(error)) from None
    if isinstance(parsed.scheme, passwords.LibcCrypt):
        raise RefusedPassword(
            f"This {parsed.scheme.name} value is not a crypt(3) form whose cost the panel can check "
            "($1$, $2?$, $5$, $6$ or DES); give the plaintext password or one of those forms."
        )
    limits = bounds()
    for name, value in cost.items():
        limit, setting = limits[name]
        if value > limit:
            label = _COST_NAMES[name].format(scheme=parsed.scheme.name)
            widen = f" ({setting})" if setting else ""
            raise RefusedPassword(
                f"{label} {value} is above the limit {limit}{widen}: each login would take about "
                f"{_describe(_estimate(cost))}."
            )
    if not cost:
        # Fixed-cost schemes are all fast digests: one trial verification finds a malformed value.
        try:
            parsed.verify("", user="check@invalid")
        except ValueError as error:
            raise RefusedPassword(str(error)) from None


def _estimate(cost):
    if "memory_kib" in cost:
        return _SECONDS["argon2"](cost["memory_kib"], cost["time"])
    (name, value), *_ = cost.items()
    return _SECONDS[name](value)


def _describe(seconds):
    if seconds < 1:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} minutes"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.0f} hours"
    return f"{seconds / 86400:.0f} days"


# --- Upgrade on login ------------------------------------------------------------------------------


def upgrade_mode():
    # MAILADMIN_UPGRADE_HASH_ON_LOGIN=off, the older switch, still turns the upgrade off.
    if not getattr(settings, "MAILADMIN_UPGRADE_HASH_ON_LOGIN", True):
        return "off"
    return settings.MAILADMIN_UPGRADE_HASH


def should_rehash(stored):
    """True when a password that just verified against `stored` is to be stored again with
    hash_for_storage(). MAILADMIN_UPGRADE_HASH:

    - "different": the stored value is not what the panel writes now — another scheme, not in the
      canonical "{SCHEME}" form, bcrypt $2x$ or a cost below MAILADMIN_BCRYPT_COST, Argon2 with
      other parameters than m=65536,t=3,p=1, SHA512-CRYPT below 5000 rounds;
    - "weak": only hashes below the floor — a weak or plaintext scheme (everything except
      BLF-CRYPT, ARGON2I/ARGON2ID, SHA256-CRYPT and SHA512-CRYPT), bcrypt $2x$ or a cost below
      MAILADMIN_BCRYPT_COST, SHA-crypt below 5000 rounds, Argon2 below m=65536 KiB or t=3;
    - "off": never.
    A value that cannot be read is never re-hashed (it did not verify)."""
    mode = upgrade_mode()
    if mode == "off":
        return False
    try:
        if mode == "different":
            return passwords.needs_upgrade(
                stored,
                scheme=settings.MAILADMIN_PASSWORD_SCHEME,
                bcrypt_cost=settings.MAILADMIN_BCRYPT_COST,
                default_scheme=settings.MAILADMIN_DEFAULT_PASS_SCHEME,
            )
        parsed = passwords.parse(stored, default_scheme=settings.MAILADMIN_DEFAULT_PASS_SCHEME)
        return below_floor(parsed)
    except ValueError:
        return False


def below_floor(parsed):
    """The "weak" rule for a parsed hash (see should_rehash)."""
    scheme = parsed.scheme
    if scheme.strength != passwords.STRONG:
        return True
    if isinstance(scheme, passwords.Bcrypt):
        return scheme.must_update(parsed.raw, bcrypt_cost=settings.MAILADMIN_BCRYPT_COST)
    return any(value < _FLOOR.get(name, 0) for name, value in parsed.cost().items())
