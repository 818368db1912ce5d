"""The aliases app's part when a mailbox or a domain is deleted (users.signals).

Postfix keeps using alias rows that outlive what they refer to: a row forwarding to a deleted
mailbox sends the mail on to the catch-all or bounces it; a row whose source is in a deleted
domain but whose domain_id points elsewhere survives the cascade and still grants sending
rights. When the person asked for it, these rows go in the same transaction."""

from django.db.models import Q

from aliases.models import Alias
from users import signals, tallies
from users.models import Domain


def forwarding_to_mailbox(mailbox):
    return Alias.objects.filter(destination=mailbox.email).exclude(source=mailbox.email)


def outliving_domain(domain):
    """Rows the domain's cascade would not delete: in other domains, forwarding to its
    addresses, or with a source in the domain but another domain's id."""
    in_domain = Q(source__iendswith="@" + domain.name)
    return Alias.objects.exclude(domain=domain).filter(in_domain | Q(destination__iendswith="@" + domain.name))


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


def connect():
    signals.mailbox_deleting.connect(on_mailbox_deleting, dispatch_uid="aliases.receivers.mailbox")
    signals.domain_deleting.connect(on_domain_deleting, dispatch_uid="aliases.receivers.domain")
