"""A mailbox user's own page (address, quota, sending rights, password, recovery address), the
password reset pages, and the staff action that makes a reset link for a mailbox.

A mailbox user reaches only their own mailbox: no page here takes a mailbox id from the URL,
the mailbox is the one named by the logged-in account.
"""

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import BACKEND_SESSION_KEY, update_session_auth_hash
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mailadmin.operator import Operator
from mailadmin.permissions import staff_required
from users.access import get_mailbox_for_user
from users import addresses, quota_usage, recovery, services
from users.account_forms import ChangePasswordForm, ForgotPasswordForm, RecoveryAddressForm, ResetPasswordForm
from users.auth_backends import session_password
from users.models import Mailbox, PasswordResetToken

MAILBOX_BACKEND = "users.auth_backends.MailboxBackend"
# The reset token moves from the URL into the session before the form is shown, so the link
# is not in the address bar, the history or a Referer while the person types a password.
RESET_SESSION_KEY = "mailadmin_reset_token"


def mailbox_user_required(view):
    """Anonymous visitors go to the login page; staff and accounts without a mailbox get 403.
    The view receives the user's own mailbox."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if user.is_staff or not user.is_active:
            raise PermissionDenied
        mailbox = Mailbox.objects.select_related("domain").filter(email=user.get_username()).first()
        if mailbox is None:
            raise PermissionDenied
        return view(request, mailbox, *args, **kwargs)

    return wrapper


def _account_page(request, mailbox, password_form=None, recovery_form=None, status=200):
    current_recovery = recovery.recovery_address_of(mailbox)
    context = {
        "mailbox": mailbox,
        "quota": addresses.format_quota_human(mailbox.quota),
        "usage": quota_usage.usage_of(mailbox),
        "recovery_address": current_recovery,
        "password_form": password_form or ChangePasswordForm(request, mailbox),
        "recovery_form": recovery_form
        or RecoveryAddressForm(request, mailbox, initial={"address": current_recovery or ""}),
    }
    return render(request, "account/account.html", context, status=status)


@never_cache
@mailbox_user_required
@require_GET
def account(request, mailbox):
    return _account_page(request, mailbox)


@sensitive_post_parameters("current_password", "new_password1", "new_password2")
@never_cache
@mailbox_user_required
@require_POST
def account_password(request, mailbox):
    form = ChangePasswordForm(request, mailbox, request.POST)
    if form.is_valid():
        mailbox.refresh_from_db()  # the current-password check may have upgraded the hash
        try:
            services.set_password(Operator.mailbox_user(mailbox.email, request), mailbox, form.cleaned_data["new_password1"])
        except ValidationError as error:
            form.add_error("new_password1", error.messages)
        else:
            if request.session.get(BACKEND_SESSION_KEY) == MAILBOX_BACKEND:
                # Other sessions end with the old hash; this one goes on (see session_password).
                request.user.password = session_password(mailbox)
                update_session_auth_hash(request, request.user)
            messages.success(request, "Your password has been changed. Use the new one in your mail programs too.")
            return redirect("account")
    return _account_page(request, mailbox, password_form=form)


@sensitive_post_parameters("current_password")
@never_cache
@mailbox_user_required
@require_POST
def account_recovery(request, mailbox):
    form = RecoveryAddressForm(request, mailbox, request.POST)
    if form.is_valid():
        address = form.cleaned_data["address"]
        recovery.set_recovery_address(mailbox, address)
        if address:
            messages.success(request, f"Reset links for forgotten passwords will go to {address}.")
        else:
            messages.success(request, "Your recovery address has been removed.")
        return redirect("account")
    return _account_page(request, mailbox, recovery_form=form)


# --- Forgotten passwords ------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def password_reset_request(request):
    form = ForgotPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # The same page follows whatever happened: no hint whether the mailbox exists.
        recovery.send_recovery_link(form.cleaned_data["address"], request.build_absolute_uri)
        return redirect("password-reset-sent")
    return render(request, "registration/password_reset_request.html", {"form": form})


@require_GET
def password_reset_sent(request):
    return render(request, "registration/password_reset_sent.html")


@never_cache
@require_GET
def password_reset_confirm(request, token):
    try:
        recovery.mailbox_for_link(token)
    except recovery.InvalidLink:
        return render(request, "registration/password_reset_invalid.html")
    request.session[RESET_SESSION_KEY] = token
    return redirect("password-reset-set")


@sensitive_post_parameters("new_password1", "new_password2")
@never_cache
@require_http_methods(["GET", "POST"])
def password_reset_set(request):
    token = request.session.get(RESET_SESSION_KEY)
    try:
        mailbox = recovery.mailbox_for_link(token)
    except recovery.InvalidLink:
        request.session.pop(RESET_SESSION_KEY, None)
        return render(request, "registration/password_reset_invalid.html")
    form = ResetPasswordForm(mailbox, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            recovery.reset_with_link(token, form.cleaned_data["new_password1"])
        except recovery.InvalidLink:
            request.session.pop(RESET_SESSION_KEY, None)
            return render(request, "registration/password_reset_invalid.html")
        except ValidationError as error:
            form.add_error("new_password1", error)
        else:
            request.session.pop(RESET_SESSION_KEY, None)
            messages.success(request, f"The password of {mailbox.display_email} has been set. Log in with it.")
            return redirect("login")
    return render(request, "registration/password_reset_set.html", {"form": form, "mailbox": mailbox})


# --- Staff: make a reset link for a mailbox ---------------------------------------------------------


@never_cache
@staff_required
@require_POST
def mailbox_reset_link(request, pk):
    mailbox = get_mailbox_for_user(request.user, pk)
    token = recovery.make_link_token(mailbox, PasswordResetToken.ADMIN)
    # never_cache: the page holds a link that opens the mailbox (Cache-Control: no-store).
    return render(
        request,
        "account/reset_link_made.html",
        {
            "mailbox": mailbox,
            "link": recovery.link_url(token, request.build_absolute_uri),
            "hours": settings.MAILADMIN_RESET_LINK_HOURS,
        },
    )
