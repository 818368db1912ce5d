"""Staff accounts (superadmin pages), the second factor (each staff member's own pages), the
login's code step and the re-authentication page. Every change goes through services."""

import logging

from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth.views import PasswordResetConfirmView
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from mailadmin import logsafe
from mailadmin.client_address import client_address
from mailadmin.db import first_message
from mailadmin.operator import Operator
from mailadmin.permissions import staff_required, superadmin_required
from mailadmin.staff import forms, reauth, services, twofactor
from mailadmin.staff.models import RecoveryCodeDevice
from users.models import DomainAdminGrant
from users.passwords import generate_password

log = logging.getLogger("mailadmin.auth")
PAGE_SIZE = 50


def show_once(request, template, context):
    """A page holding a secret made for this response (a password, a link, codes): never cached."""
    response = render(request, template, context)
    response["Cache-Control"] = "no-store"
    return response


def _add_errors(form, error, default_field=None):
    if hasattr(error, "error_dict"):
        for field, field_messages in error.message_dict.items():
            for message in field_messages:
                form.add_error(field if field in form.fields else default_field, message)
    else:
        for message in error.messages:
            form.add_error(default_field, message)


def _account(pk):
    return get_object_or_404(services.staff_accounts(), pk=pk)


def _next_url(request, default="home"):
    target = request.POST.get("next") or request.GET.get("next") or ""
    # Only a path of this site: redirect() would read any other word as a view name to reverse.
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse(default)


# --- Staff accounts (superadmins) ----------------------------------------------------------


@superadmin_required
@require_GET
def staff_list(request):
    accounts = (
        services.staff_accounts()
        .annotate(enrolled=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)))
        .prefetch_related("domain_grants__domain")
        .order_by("username")
    )
    page = Paginator(accounts, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "staff/list.html", {"page": page})


@sensitive_post_parameters()
@never_cache
@superadmin_required
@require_http_methods(["GET", "POST"])
def staff_create(request):
    form = forms.StaffCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        password = generate_password() if data["password_mode"] == forms.GENERATE else None
        try:
            account = services.create_staff(Operator.for_request(request), 
                data["username"], email=data["email"], first_name=data["first_name"],
                last_name=data["last_name"], password=password,
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            context = {"account": account, "created": True}
            if password is None:
                context["link"] = request.build_absolute_uri(services.password_link_path(account))
            else:
                context["password"] = password
            return show_once(request, "staff/credentials.html", context)
    return render(request, "staff/create.html", {"form": form})


def _detail_page(request, account, profile_form=None, grant_form=None, status=200):
    return render(
        request,
        "staff/detail.html",
        {
            "account": account,
            "profile_form": profile_form or forms.ProfileForm(
                initial={field: getattr(account, field) for field in services.PROFILE_FIELDS}
            ),
            "grant_form": grant_form or forms.GrantForm(),
            "grants": DomainAdminGrant.objects.filter(user=account).select_related("domain").order_by("domain__name"),
            "enrolled": twofactor.is_enrolled(account),
            "is_self": account.pk == request.user.pk,
        },
        status=status,
    )


@superadmin_required
@require_http_methods(["GET", "POST"])
def staff_detail(request, pk):
    account = _account(pk)
    if request.method == "GET":
        return _detail_page(request, account)
    form = forms.ProfileForm(request.POST)
    if form.is_valid():
        try:
            services.update_profile(Operator.for_request(request), account, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"{account.get_username()} saved.")
            return redirect("staff-detail", pk=account.pk)
    return _detail_page(request, account, profile_form=form)


@superadmin_required
@require_POST
def staff_grant(request, pk):
    account = _account(pk)
    form = forms.GrantForm(request.POST)
    if form.is_valid():
        try:
            grant = services.grant_domain(Operator.for_request(request), account, services.find_domain(form.cleaned_data["domain"]))
        except ValidationError as error:
            _add_errors(form, error, default_field="domain")
        else:
            messages.success(request, f"{account.get_username()} now administers {grant.domain.display_name}.")
            return redirect("staff-detail", pk=account.pk)
    return _detail_page(request, account, grant_form=form)


@superadmin_required
@require_POST
def staff_revoke(request, pk, grant_pk):
    account = _account(pk)
    grant = get_object_or_404(DomainAdminGrant.objects.select_related("domain"), pk=grant_pk, user=account)
    services.revoke_domain(Operator.for_request(request), grant)
    messages.success(request, f"{account.get_username()} no longer administers {grant.domain.display_name}.")
    return redirect("staff-detail", pk=account.pk)


def _would_become_superadmin(request, pk):
    return not services.staff_accounts().filter(pk=pk, is_superuser=True).exists()


@superadmin_required
@require_http_methods(["GET", "POST"])
@reauth.recent_auth_required(when=_would_become_superadmin)
def staff_superadmin(request, pk):
    account = _account(pk)
    if request.method == "POST":
        try:
            services.set_superadmin(Operator.for_request(request), account, not account.is_superuser)
        except ValidationError as error:
            messages.error(request, first_message(error))
        else:
            state = "is now a superadmin" if account.is_superuser else "is no longer a superadmin"
            messages.success(request, f"{account.get_username()} {state}.")
        return redirect("staff-detail", pk=account.pk)
    return render(request, "staff/superadmin.html", {"account": account})


def _set_active(request, pk, value):
    account = _account(pk)
    try:
        services.set_active(Operator.for_request(request), account, value)
    except ValidationError as error:
        messages.error(request, first_message(error))
    else:
        messages.success(
            request,
            f"{account.get_username()} can log in again." if value
            else f"{account.get_username()} is deactivated; their sessions have ended.",
        )
    return redirect("staff-detail", pk=account.pk)


@superadmin_required
@require_POST
def staff_deactivate(request, pk):
    return _set_active(request, pk, False)


@superadmin_required
@require_POST
def staff_activate(request, pk):
    return _set_active(request, pk, True)


@superadmin_required
@require_http_methods(["GET", "POST"])
def staff_delete(request, pk):
    account = _account(pk)
    if request.method == "POST":
        try:
            services.delete_staff(Operator.for_request(request), account)
        except ValidationError as error:
            messages.error(request, first_message(error))
            return redirect("staff-detail", pk=account.pk)
        messages.success(request, f"Staff account {account.get_username()} deleted.")
        return redirect("staff-list")
    return render(request, "staff/delete.html", {"account": account, "grants": account.domain_grants.count()})


@never_cache
@superadmin_required
@require_POST
def staff_password_link(request, pk):
    account = _account(pk)
    link = request.build_absolute_uri(services.password_link_path(account))
    return show_once(request, "staff/credentials.html", {"account": account, "link": link})


def old_domain_admins(request):
    """The former "Domain admins" page: grants now live on each staff account's page."""
    return redirect("staff-list")


class StaffSetPasswordView(PasswordResetConfirmView):
    """The one-time link of a new (or reset) staff account. Django's view moves the token from
    the URL into the session before the form is shown, so it never reaches a Referer header."""

    template_name = "staff/set_password.html"
    success_url = reverse_lazy("login")

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        return user if user is not None and user.is_staff and user.is_active else None

    def form_valid(self, form):
        try:
            services.set_password(
                Operator.for_user(self.user, address=client_address(self.request)), self.user, form.cleaned_data["new_password1"])
        except ValidationError as error:
            _add_errors(form, error, default_field="new_password1")
            return self.form_invalid(form)
        del self.request.session["_password_reset_token"]
        messages.success(self.request, "Your password is set. Log in with it.")
        return redirect(self.success_url)


# --- The login's second step and re-authentication -------------------------------------------


def _log_failure(request):
    # The same line as a wrong password (users/auth_backends.py), so fail2ban bans code guessers too.
    log.warning(
        "mailadmin login failed: rhost=%s user=%s", client_address(request) or "-", logsafe.token(request.user.get_username())
    )


@sensitive_post_parameters("code")
@never_cache
@staff_required
@require_http_methods(["GET", "POST"])
def login_code(request):
    if request.user.is_verified() or not twofactor.has_any_device(request.user):
        # Nothing to enter (any more: a reset or a disable since the password step).
        request.session.pop(twofactor.SESSION_OWES_CODE, None)
        return redirect(_next_url(request))
    form = forms.CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = twofactor.verifying_device(request.user, form.cleaned_data["code"])
        if device is not None:
            otp_login(request, device)
            reauth.mark_recent(request.session)
            if isinstance(device, RecoveryCodeDevice):
                messages.warning(
                    request, f"You used a recovery code; {device.remaining()} left. Make new ones on your security page."
                )
            return redirect(_next_url(request))
        _log_failure(request)
        form.add_error("code", "That code did not work. Codes change every 30 seconds; recovery codes work once.")
    return render(request, "staff/login_code.html", {"form": form, "next": request.GET.get("next", "")})


@sensitive_post_parameters("password", "code")
@never_cache
@staff_required
@require_http_methods(["GET", "POST"])
def security_reauth(request):
    with_code = twofactor.has_any_device(request.user)
    form = forms.ReauthForm(request.POST or None, with_code=with_code)
    if request.method == "POST" and form.is_valid():
        # authenticate(), not check_password(): django-axes counts and throttles these attempts too.
        confirmed = authenticate(request, username=request.user.get_username(), password=form.cleaned_data["password"])
        if confirmed is None or confirmed.pk != request.user.pk:
            form.add_error("password", "That is not your password.")
        elif with_code and twofactor.verifying_device(request.user, form.cleaned_data["code"]) is None:
            _log_failure(request)
            form.add_error("code", "That code did not work.")
        else:
            reauth.mark_recent(request.session)
            return redirect(_next_url(request))
    return render(request, "staff/reauth.html", {"form": form, "next": request.GET.get("next", "")})


# --- Each staff member's own second factor --------------------------------------------------


@never_cache
@staff_required
@require_GET
def my_security(request):
    recovery = twofactor.recovery_device(request.user)
    return render(
        request,
        "staff/security.html",
        {
            "enrolled": twofactor.is_enrolled(request.user),
            "required": twofactor.must_enrol(request.user),
            "codes_left": recovery.remaining() if recovery else 0,
        },
    )


@sensitive_post_parameters("code")
@never_cache
@staff_required
@require_http_methods(["GET", "POST"])
def security_enrol(request):
    if twofactor.has_any_device(request.user):
        messages.info(request, "Your second factor is already set up. Disable it first to set up another device.")
        return redirect("my-security")
    device = twofactor.pending_totp(request.user)
    form = forms.EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"].replace(" ", "")):
            new_codes = services.confirm_totp(Operator.for_request(request), request.user, device)
            otp_login(request, device)
            reauth.mark_recent(request.session)
            return show_once(request, "staff/recovery_codes.html", {"codes": new_codes, "first_time": True})
        form.add_error("code", "That code did not work. Check the clock of the device and try the next code.")
    return render(
        request,
        "staff/enrol.html",
        {
            "form": form,
            "qr_svg": twofactor.qr_svg(device),
            "secret": twofactor.secret_base32(device),
            "required": twofactor.must_enrol(request.user),
        },
    )


@never_cache
@staff_required
@require_POST
def security_recovery_codes(request):
    if not twofactor.is_enrolled(request.user):
        return redirect("my-security")
    new_codes = services.regenerate_recovery_codes(Operator.for_request(request), request.user)
    return show_once(request, "staff/recovery_codes.html", {"codes": new_codes})


@staff_required
@require_POST
@reauth.recent_auth_required()
def security_disable(request):
    services.remove_second_factor(Operator.for_request(request), request.user)
    messages.success(request, "Two-factor login is off for your account.")
    return redirect("my-security")
