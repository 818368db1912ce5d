"""The write API for aliases: the only code that writes virtual_aliases. Pages, the Django
admin, the commands and the importer call it with an Operator (mailadmin.operator); it owns
every alias rule once — normalisation, repeats, loops, the guide's "keep a copy" row, the
warnings a person should see before saving, the operator's scope — and writes in one
transaction, logged for the operator.

How Postfix reads the table (ISPMAIL.md): `virtual_alias_maps = aliases, email2email`. For a
recipient it asks the full address in both tables before it tries the catch-all `@domain`,
and the first table that answers wins. So:
- an address with alias rows goes to those rows' destinations only;
- a mailbox without alias rows answers itself through email2email (no catch-all for it);
- any other address of the domain falls to the catch-all, when there is one;
- an address among its own expansion is delivered as is, not expanded again.
"""

import re

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from aliases.models import Alias
from mailadmin.db import save_validated
from users import addresses
from users.models import Domain, Mailbox, domain_for_address
from users import tallies
from users.services import require_domain

MAX_DESTINATIONS = 100
# Loop search stops after this many addresses; an alias tree that large is refused, not guessed at.
MAX_ADDRESSES_FOLLOWED = 2000


def domain_of_source(source):
    """The Domain row of a source (an address or '@domain'), or a form error at the source."""
    return domain_for_address(normalize_source(source), "source")


def split_destinations(text):
    """Destinations typed one per line, or separated by commas or spaces; order kept, repeats dropped."""
    seen = []
    for item in re.split(r"[\s,;]+", text or ""):
        if item and item not in seen:
            seen.append(item)
    return seen


def normalize_source(source):
    try:
        return addresses.normalize_alias_source(source)
    except addresses.AddressError as error:
        raise ValidationError({"source": str(error)})


def normalize_destinations(destinations):
    """Each destination normalised; every bad one is named in one error."""
    if not destinations:
        raise ValidationError({"destinations": "Enter at least one destination address."})
    if len(destinations) > MAX_DESTINATIONS:
        raise ValidationError(
            {"destinations": f"Enter at most {MAX_DESTINATIONS} destinations at once."}
        )
    normalized, problems = [], []
    for destination in destinations:
        try:
            address = addresses.normalize_address(destination)
        except addresses.AddressError as error:
            problems.append(f"{destination}: {error}")
            continue
        if address not in normalized:
            normalized.append(address)
    if problems:
        raise ValidationError({"destinations": problems})
    return normalized


def check_new_aliases(source, destinations, ignore_alias_id=None, graph=None):
    """Normalised (source, destinations), or a ValidationError for a repeat or a loop.

    Run before asking a person to confirm a warning, so nobody confirms what will be refused.
    An importer passes one AliasGraph holding the file's other rows, so a loop made of two
    rows of one file is found like a loop with a row already stored.
    """
    source = normalize_source(source)
    destinations = normalize_destinations(destinations)
    if source in destinations and not is_mailbox(source):
        raise ValidationError(
            {
                "destinations": "An alias cannot forward to its own address, unless that address is a "
                "mailbox keeping a copy of the mail it forwards."
            }
        )
    existing = Alias.objects.filter(source=source, destination__in=destinations)
    if ignore_alias_id is not None:
        existing = existing.exclude(pk=ignore_alias_id)
    repeated = sorted(addresses.address_to_unicode(d) for d in existing.values_list("destination", flat=True))
    if repeated:
        raise ValidationError(
            {"destinations": f"{addresses.address_to_unicode(source)} already forwards to {', '.join(repeated)}."}
        )
    check_no_loop(source, destinations, ignore_alias_id=ignore_alias_id, graph=graph)
    return source, destinations


def create_aliases(operator, source, destinations):
    """One row per destination, all or none, in one transaction.

    Refuses a row that exists already and a destination that would bring mail for `source`
    back to `source` through the local aliases (a loop Postfix would bounce).
    """
    source, destinations = check_new_aliases(source, destinations)
    domain = domain_of_source(source)
    require_domain(operator, domain)
    try:
        with operator.acting(), transaction.atomic():
            rows = [
                save_validated(Alias(source=source, destination=destination, domain=domain))
                for destination in destinations
            ]
            tallies.aliases_added(domain.pk, len(rows))
            tallies.aliases_inserted(len(rows), max(row.pk for row in rows))
            return rows
    except ValidationError as error:
        raise _as_form_error(error)
    except IntegrityError:
        raise ValidationError("Someone else changed these aliases at the same moment; reload and try again.")


def update_alias(operator, alias, source, destination):
    """Change one row; the same refusals as creating it, in the old and the new domain."""
    require_domain(operator, alias.domain)
    source, (destination,) = check_new_aliases(source, [destination], ignore_alias_id=alias.pk)
    domain = domain_of_source(source)  # an edit may move the alias to another domain
    require_domain(operator, domain)
    old_domain_id = alias.domain_id
    alias.source, alias.destination, alias.domain = source, destination, domain
    try:
        with operator.acting(), transaction.atomic():
            save_validated(alias)
            tallies.alias_moved(old_domain_id, domain.pk)
            return alias
    except ValidationError as error:
        raise _as_form_error(error)


def delete_alias(operator, alias):
    require_domain(operator, alias.domain)
    with operator.acting(), transaction.atomic():
        tallies.aliases_added(alias.domain_id, -1)
        alias.delete()
    return alias


def delete_aliases(operator, aliases):
    """Many rows at once (the Django admin's bulk delete, `alias delete`), all or none."""
    rows = list(aliases.select_related("domain"))
    for domain in {alias.domain for alias in rows}:
        require_domain(operator, domain)
    with operator.acting(), transaction.atomic():
        for alias in rows:
            tallies.aliases_added(alias.domain_id, -1)
            alias.delete()
    return len(rows)


def _as_form_error(error):
    """A row's model error, reported against the form's destinations field."""
    if not hasattr(error, "message_dict"):
        return error
    messages = error.message_dict
    if set(messages) <= {"source"}:
        return error
    return ValidationError(
        {
            "destinations": [m for key, msgs in messages.items() if key != "source" for m in msgs],
            **({"source": messages["source"]} if "source" in messages else {}),
        }
    )


def source_domain(source):
    """The domain name of a normalised source, catch-all or not."""
    return source[1:] if source.startswith("@") else addresses.domain_of(source)


# --- Loops ---------------------------------------------------------------------------------


def is_mailbox(address):
    return Mailbox.objects.filter(email=address).exists()


def check_no_loop(source, destinations, ignore_alias_id=None, graph=None):
    path = find_loop(source, destinations, ignore_alias_id=ignore_alias_id, graph=graph)
    if path:
        shown = " → ".join(addresses.address_to_unicode(a) for a in path)
        raise ValidationError(
            {"destinations": f"This would make an alias loop, and Postfix would bounce the mail: {shown}."}
        )


def find_loop(source, destinations, ignore_alias_id=None, graph=None):
    """The chain of addresses that leads from the new rows back to `source`, or None.

    Only local addresses expand (their domain is in virtual_domains); an external
    destination ends a chain. For a catch-all source the loop closes at any address of its
    domain that would itself fall to the catch-all.
    """
    graph = graph or AliasGraph(ignore_alias_id)
    catch_all_domain = source[1:] if source.startswith("@") else None

    def closes_loop(address):
        if address == source:
            return True
        return (
            catch_all_domain is not None
            and addresses.domain_of(address) == catch_all_domain
            and graph.falls_to_catch_all(address)
        )

    parents = {}
    frontier = []
    for destination in destinations:
        if destination == source and is_mailbox(source):
            continue  # the guide's "keep a copy": Postfix delivers to the mailbox and stops there
        if closes_loop(destination):
            return [source, destination] if destination != source else [source, source]
        if destination not in parents:
            parents[destination] = source
            frontier.append(destination)
    while frontier:
        if len(parents) > MAX_ADDRESSES_FOLLOWED:
            raise ValidationError(
                {"destinations": "These aliases expand to too many addresses to check for loops."}
            )
        expansions = graph.expand_all(frontier)
        next_frontier = []
        for address in frontier:
            for target in expansions.get(address, []):
                if closes_loop(target):
                    return _chain(parents, address, source) + [target]
                if target not in parents:
                    parents[target] = address
                    next_frontier.append(target)
        frontier = next_frontier
    return None


def _chain(parents, address, source):
    chain = [address]
    while chain[-1] != source:
        chain.append(parents[chain[-1]])
    return list(reversed(chain))


class AliasGraph:
    """Where Postfix sends mail for local addresses, asked a level at a time (one query each).

    `pending` holds (source, destination) rows not stored yet — the other rows of an import —
    which count as if they were."""

    def __init__(self, ignore_alias_id=None, pending=()):
        self.ignore_alias_id = ignore_alias_id
        self._local_domains = {}
        self._mailboxes = set()
        self._has_rows = set()
        self._pending = {}
        for source, destination in pending:
            self._pending.setdefault(source, []).append(destination)

    def _rows(self, sources):
        rows = Alias.objects.filter(source__in=list(sources))
        if self.ignore_alias_id is not None:
            rows = rows.exclude(pk=self.ignore_alias_id)
        found = list(rows.values_list("source", "destination"))
        for source in sources:
            found.extend((source, destination) for destination in self._pending.get(source, ()))
        return found

    def _learn_domains(self, domains):
        unknown = [d for d in domains if d not in self._local_domains]
        if unknown:
            local = set(Domain.objects.filter(name__in=unknown).values_list("name", flat=True))
            for domain in unknown:
                self._local_domains[domain] = domain in local

    def expand_all(self, frontier):
        self._learn_domains({addresses.domain_of(a) for a in frontier})
        local = [a for a in frontier if self._local_domains[addresses.domain_of(a)]]
        if not local:
            return {}
        result = {}
        for source, destination in self._rows(local):
            self._has_rows.add(source)
            if destination != source:  # an address in its own expansion is delivered, not expanded
                result.setdefault(source, []).append(destination)
        self._mailboxes.update(Mailbox.objects.filter(email__in=local).values_list("email", flat=True))
        falling = [a for a in local if a not in self._has_rows and a not in self._mailboxes]
        if falling:
            catch_alls = {}
            domains = {"@" + addresses.domain_of(a) for a in falling}
            for source, destination in self._rows(domains):
                catch_alls.setdefault(source, []).append(destination)
            for address in falling:
                for destination in catch_alls.get("@" + addresses.domain_of(address), []):
                    if destination != address:
                        result.setdefault(address, []).append(destination)
        return result

    def falls_to_catch_all(self, address):
        """An address of a local domain with no alias row of its own and no mailbox."""
        if address in self._has_rows or address in self._mailboxes:
            return False
        if self._rows([address]):
            self._has_rows.add(address)
            return False
        return not Mailbox.objects.filter(email=address).exists()


# --- Warnings ------------------------------------------------------------------------------


def warnings_for(source, destinations):
    """What a person should know before these rows are written (not errors: they may go ahead).

    Every door shows them: the pages ask to confirm, the command line prints them, the import
    lists them per row."""
    warnings = []
    shown_source = addresses.address_to_unicode(source)
    shown_destinations = ", ".join(addresses.address_to_unicode(d) for d in destinations)
    if source.startswith("@"):
        domain = addresses.domain_to_unicode(source[1:])
        warnings.append(
            f"{shown_source} is a catch-all: mail to every address at {domain} that is neither a "
            f"mailbox nor an alias of its own will go to {shown_destinations}, including mail to "
            "misspelt and made-up addresses, which is mostly spam."
        )
    elif Mailbox.objects.filter(email=source).exists():
        warnings.append(
            f"{shown_source} is also a mailbox. Postfix asks the alias table before the mailbox "
            f"(virtual_alias_maps = aliases, email2email) and takes the first answer, so mail to "
            f"{shown_source} will go to {shown_destinations} and no longer into the mailbox "
            f"{shown_source}. Postfix keeps a copy in the mailbox only when {shown_source} is "
            "itself one of the destinations."
        )
    return warnings


def notes_for(source, destinations):
    """What a person should know that needs no confirmation: destinations on other servers."""
    local = set(Domain.objects.filter(name__in={addresses.domain_of(d) for d in destinations}).values_list("name", flat=True))
    outside = [d for d in destinations if addresses.domain_of(d) not in local]
    if not outside:
        return []
    shown = ", ".join(addresses.address_to_unicode(d) for d in outside)
    return [
        f"{shown} {'is' if len(outside) == 1 else 'are'} on another server: Postfix forwards mail for "
        f"{addresses.address_to_unicode(source)} there, where SPF or DMARC checks may refuse it."
    ]

