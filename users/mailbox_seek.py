"""The mailbox list's orders as keys (mailadmin.keyset): each ends in the unique `email`.

A page link carries the key of a row as text: the address for the address and domain orders
(the domain is the address's own, so the address alone names the position), and
"<quota>:<address>" for the quota orders.
"""

from mailadmin.keyset import Ordering, QuerySetSeek
from users import addresses

ORDERINGS = {
    "email": ("email",),
    "-email": ("-email",),
    "quota": ("quota", "email"),
    "-quota": ("-quota", "email"),
    "domain": ("domain__name", "email"),
    "-domain": ("-domain__name", "email"),
}

_LONGEST_KEY = 400


def _address(text):
    return text if 0 < len(text) <= _LONGEST_KEY and "@" in text else None


def _parse(sort, text):
    if sort in ("quota", "-quota"):
        quota, _, email = text.partition(":")
        if not quota.isdigit() or _address(email) is None:
            return None
        return (int(quota), email)
    email = _address(text)
    if email is None:
        return None
    return (addresses.domain_of(email), email) if sort in ("domain", "-domain") else (email,)


def _key_of(sort, mailbox):
    if sort in ("quota", "-quota"):
        return (mailbox.quota, mailbox.email)
    return (mailbox.domain_name, mailbox.email) if sort in ("domain", "-domain") else (mailbox.email,)


def _to_text(sort, key):
    return f"{key[0]}:{key[1]}" if sort in ("quota", "-quota") else key[-1]


def seek(mailboxes, sort):
    """A keyset.Seek over `mailboxes` in the order `sort` (a key of ORDERINGS)."""
    return QuerySetSeek(
        mailboxes,
        Ordering(ORDERINGS[sort]),
        key_of=lambda mailbox: _key_of(sort, mailbox),
        to_text=lambda key: _to_text(sort, key),
        parse=lambda text: _parse(sort, text),
    )
