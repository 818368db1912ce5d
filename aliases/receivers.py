"""The aliases app's part when a mailbox or a domain is deleted (users.signals).

Postfix keeps using alias rows that outlive what they refer to: a row forwarding to a deleted
mailbox sends the mail on to the catch-all or bounces it; a row whose source is in a deleted
domain but whose domain_id points elsewhere survives the cascade and still grants sending
rights. When the person asked for it, these rows go in the same transaction."""

from django.db import connection
from django.db.models import CharField, Q
from django.db.models.expressions import RawSQL
from django.db.models.lookups import Exact

from aliases.models import Alias
from users import addresses, signals, tallies
from users.models import Domain


def forwarding_to_mailbox(mailbox):
    return Alias.objects.filter(destination=mailbox.email).exclude(source=mailbox.email)


def _invisible(column):
    return RawSQL(f"`virtual_aliases`.`{column}`", [], output_field=CharField())


def outliving_domain(domain):
    """Rows the domain's cascade would not delete: in other domains, forwarding to its
    addresses, or with a source in the domain but another domain's id."""
    others = Alias.objects.exclude(domain=domain)
    if connection.vendor == "mysql":
        # The address domain indexes (aliases/migrations/0003): a range of each, not every row.
        # Lookups, not a boolean RawSQL, which Django compares with 1 and MariaDB then reads
        # every row for.
        at_domain = [Q(Exact(_invisible(column), domain.name)) for column in ("source_domain", "destination_domain")]
        return others.filter(at_domain[0] | at_domain[1])
    return others.filter(Q(source__iendswith="@" + domain.name) | Q(destination__iendswith="@" + domain.name))


def _remove(rows, operator):
    # A domain admin removes only rows of the domains they administer; the rest stay, and the
    # page that offered the removal said which.
    if not operator.is_superadmin:
        rows = rows.filter(domain__in=Domain.objects.visible_to(operator.user))
    count = 0
    for alias in rows:
        tallies.aliases_added(alias.domain_id, -1)
        alias.delete()  # one by one: the audit log records each
        count += 1
    return count


def on_mailbox_deleting(sender, mailbox, operator, remove_forwarding, **kwargs):
    return _remove(forwarding_to_mailbox(mailbox), operator) if remove_forwarding else 0


def on_domain_deleting(sender, domain, operator, remove_forwarding, **kwargs):
    return _remove(outliving_domain(domain), operator) if remove_forwarding else 0


def on_mailbox_address_warnings(sender, email, **kwargs):
    destinations = list(
        Alias.objects.filter(source=email).exclude(destination=email).order_by("destination").values_list("destination", flat=True)[:6]
    )
    if not destinations:
        return []
    shown = addresses.address_to_unicode(email)
    listed = ", ".join(addresses.address_to_unicode(d) for d in destinations[:5]) + (" …" if len(destinations) > 5 else "")
    return [
        f"{shown} is already an alias that forwards to {listed}. Postfix asks the alias table first, "
        f"so mail to {shown} will keep going there and will not arrive in the new mailbox — unless "
        f"you add {shown} itself to the alias's destinations (keep a copy) or delete the alias."
    ]


def connect():
    signals.mailbox_deleting.connect(on_mailbox_deleting, dispatch_uid="aliases.receivers.mailbox")
    signals.domain_deleting.connect(on_domain_deleting, dispatch_uid="aliases.receivers.domain")
    signals.mailbox_address_warnings.connect(on_mailbox_address_warnings, dispatch_uid="aliases.receivers.warnings")
