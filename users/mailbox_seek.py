"""The mailbox list's orders as keys (mailadmin.keyset): each ends in the unique `email`.

A page link carries the key of a row as text: the address for the address and domain orders
(the domain is the address's own, so the address alone names the position), and
"<quota>:<address>" for the quota orders.
"""

from mailadmin import utf8mb3
from mailadmin.keyset import Ordering, QuerySetSeek, Seek
from users import addresses
from users.models import DomainCount

ORDERINGS = {
    "email": ("email",),
    "-email": ("-email",),
    "quota": ("quota", "email"),
    "-quota": ("-quota", "-email"),
    "domain": ("domain__name", "email"),
    "-domain": ("-domain__name", "-email"),
}

# How many domains the walk by domain reads at a time (see DomainWalk).
_DOMAIN_BATCH = 50

_LONGEST_KEY = 400


def _address(text):
    # A character the utf8mb3 column cannot hold names no row (and MariaDB would refuse the comparison).
    return text if 0 < len(text) <= _LONGEST_KEY and "@" in text and utf8mb3.fits(text) else None


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


class DomainWalk(Seek):
    """The whole list (or one domain's) by domain, then address, read domain by domain.

    ORDER BY domain.name, email over a join sorts every mailbox (6 s at a million); here the
    domains come in name order from their unique key (only those the write API counts
    mailboxes in, users.tallies), and each domain's mailboxes from the (domain_id, email) index,
    until the page is full: a query for the next domains and one per domain the page touches.
    """

    def __init__(self, mailboxes, domains, descending):
        self.mailboxes, self.descending = mailboxes, descending
        self.domains = domains.filter(pk__in=DomainCount.objects.filter(mailboxes__gt=0).values("domain_id"))

    def read(self, key, forward, limit, offset=0):
        ascending = forward != self.descending
        cmp, name_order, email_order = ("gt", "name", "email") if ascending else ("lt", "-name", "-email")
        wanted, rows = offset + limit, []
        start_name, start_email = key if key is not None else (None, None)
        name_from, inclusive = start_name, True
        while len(rows) < wanted:
            domains = self.domains.order_by(name_order)
            if name_from is not None:
                domains = domains.filter(**{f"name__{cmp}{'e' if inclusive else ''}": name_from})
            batch = list(domains.values_list("pk", "name")[:_DOMAIN_BATCH])
            for pk, name in batch:
                mailboxes = self.mailboxes.filter(domain_id=pk)
                if name == start_name and start_email is not None:
                    mailboxes = mailboxes.filter(**{f"email__{cmp}": start_email})
                rows += mailboxes.order_by(email_order)[: wanted - len(rows)]
                if len(rows) >= wanted:
                    break
            if len(batch) < _DOMAIN_BATCH:
                break
            name_from, inclusive = batch[-1][1], False
        return rows[offset:]

    def key_of(self, mailbox):
        return mailbox.email

    def parse(self, text):
        return _parse("domain", text)


def seek(mailboxes, sort, *, domains=None, kept_as=None, narrowed=None):
    """A keyset.Seek over `mailboxes` in the order `sort` (a key of ORDERINGS). `domains`, when
    given, are the domains those mailboxes may be in (the list is not narrowed otherwise): the
    domain orders then walk them one by one. `kept_as`: what the SQL of `mailboxes` in this order
    depends on, for its pages' statements to be kept; `narrowed`: (narrow, values), a search
    whose values take their places in them (keyset.QuerySetSeek)."""
    if domains is not None and sort in ("domain", "-domain"):
        return DomainWalk(mailboxes, domains, descending=sort == "-domain")
    return QuerySetSeek(
        mailboxes,
        Ordering(ORDERINGS[sort]),
        key_of=lambda mailbox: _key_of(sort, mailbox),
        to_text=lambda key: _to_text(sort, key),
        parse=lambda text: _parse(sort, text),
        kept_as=kept_as,
        narrowed=narrowed,
    )
