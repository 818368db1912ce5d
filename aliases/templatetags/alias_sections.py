"""Sections about aliases on pages of the users app (a mailbox's page, its delete page, a
mailbox user's own page). The users app renders them by name in its templates and never
imports the aliases app: aliases builds on users, not the reverse."""

from django import template

from aliases import receivers, sender_rights
from aliases.models import Alias
from users import addresses

register = template.Library()


@register.inclusion_tag("aliases/_mailbox_aliases.html")
def aliases_of_mailbox(mailbox):
    aliases_from = list(Alias.objects.filter(source=mailbox.email).order_by("destination"))
    return {
        "mailbox": mailbox,
        "aliases_from": aliases_from,
        # An adopted database may hold the guide's "keep a copy" row (source = destination).
        "keeps_copy": any(alias.destination == mailbox.email for alias in aliases_from),
        "aliases_to": Alias.objects.filter(destination=mailbox.email).order_by("source")[:100],
    }


@register.inclusion_tag("aliases/_mailbox_delete_aliases.html")
def aliases_after_mailbox_delete(mailbox):
    """What Postfix does with mail for the address once the mailbox row is gone."""
    own_rows = list(
        Alias.objects.filter(source=mailbox.email).exclude(destination=mailbox.email).values_list("destination", flat=True)
    )
    catch_all = list(
        Alias.objects.filter(source="@" + mailbox.domain_name).values_list("destination", flat=True)[:5]
    )
    return {
        "mailbox": mailbox,
        "forwarding_here": list(receivers.forwarding_to_mailbox(mailbox).order_by("source")[:50]),
        "own_destinations": [addresses.address_to_unicode(d) for d in own_rows],
        "catch_all_destinations": [addresses.address_to_unicode(d) for d in catch_all],
    }


@register.inclusion_tag("aliases/_domain_delete_aliases.html")
def aliases_outliving_domain(domain):
    rows = receivers.outliving_domain(domain).order_by("source", "destination")
    return {"domain": domain, "outliving": list(rows[:50]), "outliving_count": rows.count()}


def _in_plain_words(right, login):
    # The staff page's descriptions speak of keys and lookups; a mailbox user needs less.
    if right.kind == "catch-all":
        return f"any address at {right.domain} that has no mailbox or alias of its own"
    if right.kind == "extension":
        return f"{right.via} with any extension after the {right.pattern.partition('*')[0][-1]}"
    if right.via == login:
        return "your own address"
    return "an alias that delivers to you"


@register.inclusion_tag("account/_sending_rights.html")
def own_sending_rights(mailbox):
    rights = sender_rights.rights_of(mailbox.email)
    return {"sending_rights": [(right, _in_plain_words(right, mailbox.email)) for right in rights]}
