"""Domains and mailboxes as a staff user may see them: everything for a superadmin, their
granted domains for a domain admin, nothing for anyone else. Anything outside is a 404, as if
it did not exist (after healthchecks' _get_check_for_user)."""

from django.http import Http404
from django.shortcuts import get_object_or_404

from mailadmin import keyset, kept_statements
from mailadmin.params import parse_id
from users.models import Domain, Mailbox


def domains_for(user):
    return Domain.objects.visible_to(user)


def mailboxes_for(user):
    return Mailbox.objects.visible_to(user)


def get_domain_for_user(user, name):
    # Read through a statement kept per scope: every domain page looks its domain up by name.
    found = keyset.kept_rows(
        ("domain by name", kept_statements.scope_of(user)), lambda name: domains_for(user).filter(name=name)[:1], values=(name,)
    )
    if not found:
        raise Http404("No such domain.")
    return found[0]


def get_mailbox_for_user(user, pk):
    return get_object_or_404(mailboxes_for(user).select_related("domain"), pk=id_or_404(pk))


def id_or_404(value):
    # Ids also arrive in query strings (?alias=): text that is no id names no row.
    pk = parse_id(value)
    if pk is None:
        raise Http404
    return pk
