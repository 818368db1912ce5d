"""Who may reach which staff page.

The roles: a superadmin sees and changes everything; a domain admin is a staff account with
DomainAdminGrant rows and sees only those domains (users.access and aliases.access fetch
objects through them: anything else is a 404); a staff account without grants sees empty
lists; everyone else gets no staff page. The write API checks the same scope again for every
door (mailadmin.operator).
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied


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
