"""Sections about aliases on pages of the users app (a mailbox's page, its delete page, a
mailbox user's own page). The users app renders them by name in its templates and never
imports the aliases app: aliases builds on users, not the reverse."""

from django import template

from aliases import listing, receivers, sender_rights
from aliases.models import Alias
from mailadmin.row_templates import render_fragment
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


def sending_summary(rights, login):
    """What a mailbox user may send as, in plain words: one line per address they may use, its
    +tag form on the same line, a catch-all as "everything at d …". Never the other owners of
    a shared alias, nor the addresses a catch-all leaves out (both name other people)."""
    extensions = {right.via: right.pattern for right in rights if right.kind == "extension"}
    lines = []
    for right in rights:
        if right.kind == "address":
            shown = addresses.address_to_unicode(right.pattern)
            line = {"address": shown, "own": right.via == login}
            if right.pattern in extensions:
                local, _, domain = extensions[right.pattern].rpartition("@")
                line["tagged"] = f"{local[:-1]}tag@{addresses.domain_to_unicode(domain)}"
            lines.append(line)
        elif right.kind == "catch-all":
            lines.append({"catch_all": addresses.domain_to_unicode(right.domain)})
    return lines


@register.inclusion_tag("account/_sending_rights.html")
def own_sending_rights(mailbox):
    return {"sending_lines": sending_summary(sender_rights.rights_of(mailbox.email), mailbox.email)}


@register.simple_tag
def alias_address_rows(sources):
    """Table rows, one per alias address, for a page of sources (a domain's page)."""
    return render_fragment("aliases/_address_rows.jinja", rows=listing.address_rows(list(sources)))
