"""Domains and mailboxes as a staff user may see them: everything for a superadmin, their
granted domains for a domain admin, nothing for anyone else. Anything outside is a 404, as if
it did not exist (after healthchecks' _get_check_for_user)."""

from django.http import Http404
from django.shortcuts import get_object_or_404

from mailadmin.params import parse_id
from users.models import Domain, Mailbox


def domains_for(user):
    return Domain.objects.visible_to(user)


def mailboxes_for(user):
    return Mailbox.objects.visible_to(user)


def get_domain_for_user(user, name):
    return get_object_or_404(domains_for(user), name=name)


def get_mailbox_for_user(user, pk):
    return get_object_or_404(mailboxes_for(user).select_related("domain"), pk=id_or_404(pk))


def id_or_404(value):
    # Ids also arrive in query strings (?alias=): text that is no id names no row.
    pk = parse_id(value)
    if pk is None:
        raise Http404
    return pk
