"""Who may reach which staff page, and objects fetched through what the user may see.

The roles: a superadmin sees and changes everything; a domain admin is a staff account with
DomainAdminGrant rows and sees only those domains (anything else is a 404, as if it did not
exist); a staff account without grants sees empty lists; everyone else gets no staff page.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404

from aliases.models import Alias
from mailadmin.params import parse_id
from users.models import Domain, Mailbox


def staff_required(view):
    """Anonymous visitors go to the login page; logged-in non-staff (mailbox users) get 403."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not (request.user.is_active and request.user.is_staff):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def superadmin_required(view):
    """Staff pages that change the set of domains or of domain admins."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_superuser:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return staff_required(wrapper)


def can_manage_domains(user):
    return user.is_superuser


def domains_for(user):
    return Domain.objects.visible_to(user)


def mailboxes_for(user):
    return Mailbox.objects.visible_to(user)


def aliases_for(user):
    return Alias.objects.visible_to(user)


def get_domain_for_user(user, name):
    return get_object_or_404(domains_for(user), name=name)


def get_mailbox_for_user(user, pk):
    return get_object_or_404(mailboxes_for(user).select_related("domain"), pk=_id_or_404(pk))


def get_alias_for_user(user, pk):
    return get_object_or_404(aliases_for(user).select_related("domain"), pk=_id_or_404(pk))


def _id_or_404(value):
    # Ids also arrive in query strings (?alias=): text that is no id names no row.
    pk = parse_id(value)
    if pk is None:
        raise Http404
    return pk
