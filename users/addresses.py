"""Mail addresses, domain names and quota sizes: parsing and normalising, with no Django in it.

Every entry point (forms, Django admin, command line, import) goes through these functions,
so a value reaches the tables in one shape: lowercased, IDN domains as punycode, within the
guide's column lengths. Errors are `AddressError` with a message meant for a person.
"""

import re
from decimal import Decimal

import idna

DOMAIN_MAX_LENGTH = 50  # virtual_domains.name varchar(50)
ADDRESS_MAX_LENGTH = 100  # virtual_users.email, virtual_aliases.source/destination varchar(100)
INT11_MAX = 2**31 - 1  # an old schema's `quota int(11)`
BIGINT_MAX = 2**63 - 1

# Dovecot's default auth_username_chars: a login name with any other character is refused before
# the passdb is asked (src/auth/auth-settings.c), so a mailbox named with one can never log in.
DOVECOT_USERNAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234567890.-_@"

# RFC 5322 dot-atom for the local part, which is what Postfix and Dovecot handle without quoting.
# Alias sources and destinations may use all of it (Postfix looks them up as given); a mailbox
# address must also pass mailbox_address() below.
_LOCAL_PART = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class AddressError(ValueError):
    pass


def refuse_outside_bmp(value):
    """The guide's columns are utf8mb3: a character beyond U+FFFF (emoji, mathematical letters)
    cannot be stored there, so it is refused here with a reason rather than by the database."""
    if any(ord(char) > 0xFFFF for char in value):
        raise AddressError(
            f"'{value.strip()}' contains a character such as an emoji, which the mail tables cannot store."
        )


def normalize_domain(value):
    """A domain as stored: lowercase, punycode for international names."""
    name = (value or "").strip().rstrip(".").lower()
    if not name:
        raise AddressError("Enter a domain name.")
    refuse_outside_bmp(name)
    if "@" in name:
        raise AddressError("Enter a domain name without '@', such as example.org.")
    if any(ch.isspace() for ch in name):
        raise AddressError("A domain name cannot contain spaces.")
    if not name.isascii():
        try:
            name = idna.encode(name, uts46=True).decode("ascii")
        except idna.IDNAError:
            raise AddressError(f"'{value.strip()}' is not a valid international domain name.")
    labels = name.split(".")
    if len(labels) < 2:
        raise AddressError("Enter a full domain name with a dot, such as example.org.")
    for label in labels:
        if not _LABEL.match(label):
            raise AddressError(
                f"'{value.strip()}' is not a valid domain name: each part between dots uses "
                "letters, digits and hyphens, and cannot start or end with a hyphen."
            )
        if label.startswith("xn--"):
            try:
                idna.decode(label)
            except idna.IDNAError:
                raise AddressError(f"'{label}' is not valid punycode.")
    if labels[-1].isdigit():
        raise AddressError("The last part of a domain name cannot be a number.")
    if len(name) > DOMAIN_MAX_LENGTH:
        raise AddressError(
            f"A domain name can have at most {DOMAIN_MAX_LENGTH} characters as stored "
            f"(this one has {len(name)})."
        )
    return name


def normalize_address(value):
    """A full address as stored: lowercase local part, normalised domain."""
    text = (value or "").strip()
    if not text:
        raise AddressError("Enter an email address.")
    if text.count("@") != 1:
        raise AddressError("Enter an email address with exactly one '@', such as jane@example.org.")
    local, domain = text.rsplit("@", 1)
    local = normalize_local_part(local)
    address = f"{local}@{normalize_domain(domain)}"
    if len(address) > ADDRESS_MAX_LENGTH:
        raise AddressError(
            f"An address can have at most {ADDRESS_MAX_LENGTH} characters as stored "
            f"(this one has {len(address)})."
        )
    return address


def normalize_local_part(value):
    local = (value or "").strip().lower()
    if not local:
        raise AddressError("The part before '@' is empty.")
    refuse_outside_bmp(local)
    if len(local) > 64:
        raise AddressError("The part before '@' can have at most 64 characters.")
    if not _LOCAL_PART.match(local):
        raise AddressError(
            f"'{value}' is not a valid mailbox name: use letters, digits and . _ - + "
            "without spaces, and no dot at the start, the end or twice in a row."
        )
    return local


def mailbox_address(value, *, username_chars=DOVECOT_USERNAME_CHARS, recipient_delimiter="+"):
    """normalize_address() for a MAILBOX: also refuses what Dovecot would refuse as a login name
    (`username_chars`, its auth_username_chars; empty allows all) and a local part holding one of
    Postfix's recipient_delimiter characters."""
    address = normalize_address(value)
    local = address.rsplit("@", 1)[0]
    if username_chars:
        refused = sorted({ch for ch in address if ch not in username_chars})
        if refused:
            shown = " ".join(repr(ch) for ch in refused)
            raise AddressError(
                f"'{local}' cannot be a mailbox name: Dovecot refuses a login name with {shown} "
                "(its auth_username_chars; MAILADMIN_AUTH_USERNAME_CHARS here), so the owner could "
                f"never log in{_delimiter_note(refused, recipient_delimiter)}. Use letters, digits "
                "and . - _ (an alias may use more)."
            )
    delimiters = sorted({ch for ch in local if ch in recipient_delimiter})
    if delimiters:
        raise AddressError(
            f"'{local}' cannot be a mailbox name: {delimiters[0]!r} is Postfix's recipient delimiter "
            f"(mail to {local.split(delimiters[0])[0]}{delimiters[0]}anything goes to "
            f"{local.split(delimiters[0])[0]}), so the name would collide with address extensions."
        )
    return address


def _delimiter_note(chars, recipient_delimiter):
    hits = [ch for ch in chars if ch in recipient_delimiter]
    return f"; {hits[0]!r} is also Postfix's recipient delimiter" if hits else ""


def normalize_alias_source(value):
    """An alias source: a full address, or '@domain' for a catch-all."""
    text = (value or "").strip()
    if text.startswith("@"):
        return "@" + normalize_domain(text[1:])
    return normalize_address(text)


def domain_of(address):
    return address.rsplit("@", 1)[1]


def domain_to_unicode(name):
    try:
        return idna.decode(name) if "xn--" in name else name
    except idna.IDNAError:
        return name


def address_to_unicode(address):
    if "@" not in address:
        return address
    local, domain = address.rsplit("@", 1)
    return f"{local}@{domain_to_unicode(domain)}"


# --- Quota sizes -------------------------------------------------------------------------

# 1024-based, as Dovecot reads sizes in quota_rule ("500M" = 500 * 1024 * 1024 bytes).
_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?$")


def parse_quota(value, *, max_bytes=BIGINT_MAX):
    """Bytes from '500M', '2G', '1.5G', '0' (unlimited) or a plain number of bytes."""
    text = str(value if value is not None else "").strip().upper()
    if text in ("", "0", "UNLIMITED", "NONE"):
        return 0
    match = _SIZE.match(text)
    if not match:
        raise AddressError(
            f"'{value}' is not a size: enter bytes or a number with K, M, G or T "
            "(1024-based, e.g. 500M or 2G); 0 means unlimited."
        )
    number, unit = match.groups()
    if len(number.partition(".")[0]) > 20:  # more than any column holds
        raise AddressError(f"'{value}' is more than this database's quota column holds.")
    exact = Decimal(number) * _UNITS[unit]
    if exact != exact.to_integral_value():
        # A number without a unit is bytes: "1.5" would be a byte and a half, not 1 byte.
        raise AddressError(
            f"'{value}' is not a whole number of bytes: write a whole number, or a fraction of a "
            "unit that comes out whole (1.5G, 1.5M)."
        )
    size = int(exact)
    if size > max_bytes:
        raise AddressError(
            f"{format_quota(size)} is more than this database's quota column holds "
            f"(at most {format_quota(max_bytes)}, {max_bytes} bytes)."
        )
    return size


def format_quota(size):
    """'2G', '500M', '1536K' — the largest unit that divides exactly; 0 is 'unlimited'."""
    if not size:
        return "unlimited"
    for unit in ("T", "G", "M", "K"):
        if size % _UNITS[unit] == 0:
            return f"{size // _UNITS[unit]}{unit}"
    return f"{size} bytes"


def format_quota_human(size):
    """Rounded, for lists: '1.5 GiB'."""
    if not size:
        return "unlimited"
    for unit, label in (("T", "TiB"), ("G", "GiB"), ("M", "MiB"), ("K", "KiB")):
        if size >= _UNITS[unit]:
            value = size / _UNITS[unit]
            return f"{value:.1f} {label}".replace(".0 ", " ")
    return f"{size} bytes"
