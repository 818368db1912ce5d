"""The one write API for staff accounts, their domain grants and their second factor.

The staff pages, the security pages, the one-time password link and `manage.py staff` call it
with an Operator (mailadmin.operator), as users.services is called. Each function checks who
may do it (NotPermitted), validates (ValidationError), writes in one transaction and leaves an
audit entry in the operator's name (grants through the audit signals, account changes through
audit.record here). A mailbox user's shadow account (non-staff, see users/auth_backends.py) is
never a staff account: get_staff() does not find it.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_totp.models import TOTPDevice

from mailadmin import audit
from mailadmin.db import save_validated
from mailadmin.models import AuditEntry
from mailadmin.operator import NotPermitted
from mailadmin.staff import codes
from mailadmin.staff.models import RecoveryCode, RecoveryCodeDevice
from users import addresses
from users.models import Domain, DomainAdminGrant

User = get_user_model()
PROFILE_FIELDS = ("first_name", "last_name", "email")


def staff_accounts():
    return User.objects.filter(is_staff=True)


def get_staff(username):
    return staff_accounts().filter(username=username).first()


def _record(action, user, before=None, extra=None):
    changes = audit.diff(before, audit.snapshot(user)) if action != AuditEntry.DELETE else {
        field: [value, None] for field, value in audit.snapshot(user).items()
    }
    changes.update(extra or {})
    audit.record(action, user, changes)


def _require_self_or_machine_admin(operator, user, what):
    """The second factor is its owner's business; an operator on the server may reset it."""
    if operator.is_machine_admin or (operator.user is not None and operator.user.pk == user.pk):
        return
    raise NotPermitted(f"Only {user.get_username()} (or `manage.py staff` on the server) may {what}.")


def _refuse_losing_the_last_superadmin(user):
    others = staff_accounts().filter(is_superuser=True, is_active=True).exclude(pk=user.pk)
    if user.is_superuser and user.is_active and not others.exists():
        raise ValidationError(f"{user.get_username()} is the last active superadmin; make another one first.")


# --- Accounts ------------------------------------------------------------------------------


def create_staff(operator, username, *, email="", first_name="", last_name="", password=None):
    """A new domain-admin-to-be (staff, not superadmin). Without a password it gets an unusable
    one: the person sets their own through password_link_path()."""
    operator.require_superadmin("create a staff account")
    user = User(username=(username or "").strip(), email=email, first_name=first_name, last_name=last_name, is_staff=True)
    user.set_unusable_password()
    user.full_clean(exclude=["password"])
    if password is not None:
        validate_password(password, user=user)
        user.set_password(password)
    with operator.acting(), transaction.atomic():
        save_validated(user)
        _record(AuditEntry.CREATE, user, extra={"password": "password set"} if password is not None else None)
    return user


def update_profile(operator, user, **values):
    operator.require_superadmin("change a staff account")
    before = audit.snapshot(user)
    for field in PROFILE_FIELDS:
        if field in values:
            setattr(user, field, values[field])
    user.full_clean(exclude=["password"])
    with operator.acting(), transaction.atomic():
        user.save(update_fields=list(PROFILE_FIELDS))
        _record(AuditEntry.UPDATE, user, before)
    return user


def set_password(operator, user, raw_password):
    """A superadmin, or the account itself (through its one-time link)."""
    if not (operator.is_superadmin or (operator.user is not None and operator.user.pk == user.pk)):
        raise NotPermitted("Only a superadmin may set another account's password.")
    validate_password(raw_password, user=user)
    user.set_password(raw_password)
    with operator.acting(), transaction.atomic():
        user.save(update_fields=["password"])
        audit.record(AuditEntry.UPDATE, user, {"password": audit.PASSWORD_CHANGED})
    return user


def set_superadmin(operator, user, value):
    """Make a staff account a superadmin or take the right away (never from the last one)."""
    operator.require_superadmin("make or unmake a superadmin")
    if not value:
        _refuse_losing_the_last_superadmin(user)
    before = audit.snapshot(user)
    with operator.acting(), transaction.atomic():
        user.is_superuser = bool(value)
        user.save(update_fields=["is_superuser"])
        if value:
            # A superadmin sees every domain; grants would only mislead.
            for grant in DomainAdminGrant.objects.filter(user=user).select_related("domain"):
                grant.delete()
        _record(AuditEntry.UPDATE, user, before)
    return user


def set_active(operator, user, value):
    """Deactivating ends the account's sessions at once: the staff backend (StaffBackend, as
    Django's ModelBackend) refuses an inactive user on every request (get_user), so the next
    page is the login page."""
    operator.require_superadmin("deactivate or activate a staff account")
    if not value:
        _refuse_losing_the_last_superadmin(user)
    before = audit.snapshot(user)
    with operator.acting(), transaction.atomic():
        user.is_active = bool(value)
        user.save(update_fields=["is_active"])
        _record(AuditEntry.UPDATE, user, before)
    return user


def delete_staff(operator, user):
    operator.require_superadmin("delete a staff account")
    _refuse_losing_the_last_superadmin(user)
    with operator.acting(), transaction.atomic():
        # The grants' own entries come from their delete signals, before the account's.
        _record(AuditEntry.DELETE, user)
        user.delete()


def password_link_path(user):
    """The path of a one-time link that sets the account's password (Django's token generator:
    it dies when the password changes, i.e. once used, and after PASSWORD_RESET_TIMEOUT)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("staff-set-password", kwargs={"uidb64": uid, "token": default_token_generator.make_token(user)})


# --- Domain grants -------------------------------------------------------------------------


def find_domain(name):
    try:
        normalized = addresses.normalize_domain((name or "").strip())
    except addresses.AddressError as error:
        raise ValidationError({"domain": str(error)})
    domain = Domain.objects.filter(name=normalized).first()
    if domain is None:
        raise ValidationError({"domain": f"There is no domain {addresses.domain_to_unicode(normalized)} in the panel."})
    return domain


def grant_domain(operator, user, domain):
    operator.require_superadmin("grant a domain")
    if user.is_superuser:
        raise ValidationError({"user": f"{user.get_username()} is a superadmin and already sees every domain."})
    if not (user.is_staff and user.is_active):
        raise ValidationError({"user": f"{user.get_username()} is not an active staff account."})
    if DomainAdminGrant.objects.filter(user=user, domain=domain).exists():
        raise ValidationError(f"{user.get_username()} already administers {domain.display_name}.")
    with operator.acting():
        return save_validated(DomainAdminGrant(user=user, domain=domain))


def revoke_domain(operator, grant):
    operator.require_superadmin("revoke a domain")
    with operator.acting():
        grant.delete()


# --- Second factor -------------------------------------------------------------------------


def _two_factor_entry(user, before, after):
    audit.record(AuditEntry.UPDATE, user, {"two-factor": [before, after]})


def _new_recovery_codes(user):
    RecoveryCodeDevice.objects.filter(user=user).delete()
    device = RecoveryCodeDevice.objects.create(user=user, name="recovery codes", confirmed=True)
    new = codes.new_codes()
    RecoveryCode.objects.bulk_create(RecoveryCode(device=device, digest=codes.digest(code)) for code in new)
    return new


def confirm_totp(operator, user, device):
    """The enrolment's first code was right: this device replaces any other; returns the ten
    new recovery codes (to be shown once)."""
    _require_self_or_machine_admin(operator, user, "set up their second factor")
    with operator.acting(), transaction.atomic():
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        new = _new_recovery_codes(user)
        _two_factor_entry(user, "off", "on")
    return new


def regenerate_recovery_codes(operator, user):
    _require_self_or_machine_admin(operator, user, "make their recovery codes")
    with operator.acting(), transaction.atomic():
        new = _new_recovery_codes(user)
        audit.record(AuditEntry.UPDATE, user, {"recovery codes": "new codes made"})
    return new


def remove_second_factor(operator, user):
    """Disable (the owner) or reset (a lost device, `manage.py staff 2fa-reset`): every device goes.

    Returns whether there was anything to remove."""
    _require_self_or_machine_admin(operator, user, "turn their second factor off")
    with operator.acting(), transaction.atomic():
        removed = TOTPDevice.objects.filter(user=user).delete()[0] + RecoveryCodeDevice.objects.filter(user=user).delete()[0]
        if removed:
            _two_factor_entry(user, "on", "off")
    return bool(removed)
