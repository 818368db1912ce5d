"""Recent re-authentication before the most dangerous actions.

Exporting password hashes, making someone a superadmin and deleting a domain with mailboxes
ask the staff member to confirm their password (and a code when they use a second factor)
unless they did so within MAILADMIN_REAUTH_MINUTES. A stolen session cookie alone then cannot
do them.
"""

import time
from functools import wraps

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from mailadmin.staff.twofactor import has_any_device

SESSION_KEY = "mailadmin_staff_reauth_at"


def mark_recent(session):
    session[SESSION_KEY] = int(time.time())


def is_recent(request):
    at = request.session.get(SESSION_KEY)
    if not isinstance(at, int):
        return False
    return 0 <= time.time() - at <= settings.MAILADMIN_REAUTH_MINUTES * 60


def redirect_to_reauth(request):
    # After a POST, come back to the page as a GET: the form is shown again, nothing is lost
    # but a click, and no request body is replayed.
    target = request.get_full_path() if request.method == "GET" else request.path
    return redirect(f"{reverse('security-reauth')}?{urlencode({'next': target})}")


def recent_auth_required(when=None):
    """View decorator: confirm identity first (only when `when(request, *args, **kwargs)` says so).

    Place it below the staff/superadmin decorators, so a visitor without the right is refused
    before being asked for a password."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if (when is None or when(request, *args, **kwargs)) and not is_recent(request):
                return redirect_to_reauth(request)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def _password_login_counts_as_recent(sender, request, user, **kwargs):
    # Without a second factor the password step is the whole authentication; with one, the
    # code step marks the session (mailadmin.staff.views.login_code).
    if request is not None and hasattr(request, "session") and user.is_staff and not has_any_device(user):
        mark_recent(request.session)


def connect_signals():
    user_logged_in.connect(_password_login_counts_as_recent, dispatch_uid="mailadmin.staff.reauth.login")
