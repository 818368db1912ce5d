"""Where mail to an alias ends up, as Postfix would deliver it (`virtual_alias_maps = aliases,
email2email`, see aliases.services): followed through chained aliases and catch-alls down to
mailboxes, addresses on other servers, and addresses that bounce.

Read-only, a few indexed queries per level of the chain; the alias pages show it beside the
sending rights before anything is saved.
"""

from dataclasses import dataclass

from aliases.models import Alias
from users import addresses
from users.models import Domain, Mailbox

MAILBOX, OUTSIDE, BOUNCES = "mailbox", "outside", "bounces"
# An alias tree larger than this is cut, and the page says so.
MAX_ADDRESSES = 200


@dataclass(frozen=True)
class Endpoint:
    address: str
    kind: str  # MAILBOX, OUTSIDE or BOUNCES
    path: tuple[str, ...]  # the addresses passed on the way, the source's own destination first

    @property
    def display_address(self):
        return addresses.address_to_unicode(self.address)

    @property
    def display_via(self):
        """The chain before this address, in words ('' when it is a destination of the source)."""
        return " → ".join(addresses.address_to_unicode(a) for a in self.path[:-1])


@dataclass(frozen=True)
class Delivery:
    endpoints: tuple[Endpoint, ...]
    cut: bool = False

    def of_kind(self, kind):
        return [endpoint for endpoint in self.endpoints if endpoint.kind == kind]

    @property
    def mailboxes(self):
        return self.of_kind(MAILBOX)

    @property
    def outside(self):
        return self.of_kind(OUTSIDE)

    @property
    def bounces(self):
        return self.of_kind(BOUNCES)


def _level(frontier):
    """For each address: its alias rows, whether it is a mailbox, its domain's catch-all rows."""
    domains = {addresses.domain_of(a) for a in frontier}
    local = set(Domain.objects.filter(name__in=domains).values_list("name", flat=True))
    local_addresses = [a for a in frontier if addresses.domain_of(a) in local]
    rows = {}
    for source, destination in Alias.objects.filter(
        source__in=local_addresses + ["@" + d for d in local]
    ).values_list("source", "destination"):
        rows.setdefault(source, []).append(destination)
    mailboxes = set(Mailbox.objects.filter(email__in=local_addresses).values_list("email", flat=True))
    return local, rows, mailboxes


def delivery_of(source, destinations):
    """Where mail to `source` goes if its destinations are `destinations` (normalised)."""
    endpoints, seen = [], {source}
    frontier = []
    for destination in destinations:
        if destination == source:
            # The guide's "keep a copy" row: delivered into the source's own mailbox.
            endpoints.append(Endpoint(source, MAILBOX, (source,)))
        elif destination not in seen:
            seen.add(destination)
            frontier.append((destination, (destination,)))
    cut = False
    while frontier:
        local, rows, mailboxes = _level([address for address, _ in frontier])
        next_frontier = []
        for address, path in frontier:
            domain = addresses.domain_of(address)
            if domain not in local:
                endpoints.append(Endpoint(address, OUTSIDE, path))
                continue
            own = rows.get(address)
            if own is None and address in mailboxes:
                endpoints.append(Endpoint(address, MAILBOX, path))
                continue
            targets = own if own is not None else rows.get("@" + domain)
            if not targets:
                endpoints.append(Endpoint(address, BOUNCES, path))
                continue
            via = path if own is not None else path + ("@" + domain,)
            for target in targets:
                if target == address:
                    endpoints.append(Endpoint(address, MAILBOX if address in mailboxes else BOUNCES, path))
                elif target not in seen:
                    if len(seen) >= MAX_ADDRESSES:
                        cut = True
                        continue
                    seen.add(target)
                    next_frontier.append((target, via + (target,)))
        frontier = next_frontier
    return Delivery(tuple(endpoints), cut)
