"""Who owes a second factor, which devices an account has, and the enrolment QR code."""

import base64

import segno
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from mailadmin.staff.models import RecoveryCodeDevice

SUPERADMINS, STAFF, OFF = "superadmins", "staff", "off"
REQUIREMENTS = (SUPERADMINS, STAFF, OFF)
# Set at the password step when the account has a device: the session owes a code. Kept in the
# session so that the pages of staff without a device cost no query for it (a session begun
# before its owner enrolled elsewhere stays as it was, like any session begun with the password).
SESSION_OWES_CODE = "mailadmin_staff_owes_code"


def owes_code(request):
    return bool(request.session.get(SESSION_OWES_CODE))


def _remember_device_at_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session") and user.is_staff:
        request.session[SESSION_OWES_CODE] = has_any_device(user)


def connect_signals():
    user_logged_in.connect(_remember_device_at_login, dispatch_uid="mailadmin.staff.twofactor.login")


def must_enrol(user):
    """True for a staff account the setting obliges to use a second factor."""
    if not (user.is_authenticated and user.is_staff):
        return False
    required = settings.MAILADMIN_REQUIRE_2FA
    return required == STAFF or (required == SUPERADMINS and user.is_superuser)


def is_enrolled(user):
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def has_any_device(user):
    return user_has_device(user, confirmed=True)


def totp_device(user):
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def recovery_device(user):
    return RecoveryCodeDevice.objects.filter(user=user, confirmed=True).first()


def verifying_device(user, token):
    """The device that accepts `token` (a TOTP code or an unused recovery code), or None.

    Each device keeps its own rules: TOTP refuses a code already used and slows down after
    failures (django-otp's throttling); a recovery code works once."""
    token = (token or "").strip()
    for device in (totp_device(user), recovery_device(user)):
        if device is not None and device.verify_token(token):
            return device
    return None


def pending_totp(user):
    """The unconfirmed TOTP device of an enrolment in progress (made on first visit)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator app", confirmed=False)
    return device


def secret_base32(device):
    """The secret as authenticator apps let you type it, in groups of four."""
    text = base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def qr_svg(device):
    """The otpauth:// URI as an inline SVG QR code, made here: the secret goes to no QR service."""
    return segno.make(device.config_url, error="m").svg_inline(scale=4, dark="#111", light="#fff")
