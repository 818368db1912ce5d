"""One-time password reset links for mailboxes.

A link carries 256 random bits; the database keeps only their SHA-256, so a copy of the table
opens no mailbox (a fast hash is enough for a random secret of that size; a slow one is for
guessable passwords). A link works once, expires after MAILADMIN_RESET_LINK_HOURS, and dies when
the mailbox's password changes by any route — the panel, the command line, an import, or the
server's own scripts — because each row keeps a keyed fingerprint of the hash it was made for.
"""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from mailadmin.operator import Operator
from users import addresses, services
from users.models import Mailbox, PasswordResetToken, RecoveryAddress

# "Forgot password" sends at most one link per mailbox in this time, so the form cannot be used
# to flood somebody's recovery address.
RECOVERY_MAIL_INTERVAL = timedelta(minutes=5)


class InvalidLink(Exception):
    """The link is unknown, used, expired, or the password changed since it was made."""


def _token_hash(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def password_fingerprint(stored_hash):
    # Keyed with SECRET_KEY: the fingerprint says nothing about the hash to whoever reads the table.
    return salted_hmac("users.recovery.password", stored_hash, algorithm="sha256").hexdigest()


def make_link_token(mailbox, origin):
    """A new one-time token for `mailbox`; returns the token for the link (never stored)."""
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        # A new link replaces the mailbox's earlier unused ones.
        PasswordResetToken.objects.filter(mailbox=mailbox, used_at__isnull=True).delete()
        PasswordResetToken.objects.create(
            mailbox=mailbox,
            token_hash=_token_hash(token),
            password_fingerprint=password_fingerprint(mailbox.password),
            origin=origin,
            expires_at=timezone.now() + timedelta(hours=settings.MAILADMIN_RESET_LINK_HOURS),
        )
    return token


def link_path(token):
    return reverse("password-reset-confirm", kwargs={"token": token})


def link_url(token, build_absolute_uri):
    """The full link: on MAILADMIN_BASE_URL, never on the Host the request names.

    Anyone can send a request for somebody else's reset link with a Host header of their own
    (a second port passes ALLOWED_HOSTS); the mail must still point at the real panel.
    `build_absolute_uri` is only the fallback for a panel without a base URL (DEBUG, tests),
    which `check --deploy` refuses when mail is sent (mailadmin.E002)."""
    base = settings.MAILADMIN_BASE_URL
    if base:
        return base.rstrip("/") + link_path(token)
    return build_absolute_uri(link_path(token))


def _live_row(token, *, for_update=False):
    if not token or len(token) > 100:
        raise InvalidLink
    rows = PasswordResetToken.objects.select_for_update() if for_update else PasswordResetToken.objects
    row = rows.filter(token_hash=_token_hash(token)).first()
    if row is None or row.used_at is not None or row.expires_at <= timezone.now():
        raise InvalidLink
    mailboxes = Mailbox.objects.select_for_update() if for_update else Mailbox.objects
    # A missing mailbox was deleted behind the panel's back (there is no FK constraint).
    mailbox = mailboxes.filter(pk=row.mailbox_id).first()
    if mailbox is None or not constant_time_compare(
        row.password_fingerprint, password_fingerprint(mailbox.password)
    ):
        raise InvalidLink
    return row, mailbox


def mailbox_for_link(token):
    """The mailbox a live link resets; InvalidLink otherwise."""
    return _live_row(token)[1]


def reset_with_link(token, raw_password):
    """Set the password through a live link and use the link up, in one transaction.

    Raises InvalidLink, or ValidationError from the password validators (the link then stays
    usable, so the person can try another password)."""
    with transaction.atomic():
        # Both rows locked before the checks: a concurrent change of the password or a second
        # use of the link waits, then finds the link dead.
        row, mailbox = _live_row(token, for_update=True)
        # Audited as the mailbox itself: whoever holds a live link is acting for its owner.
        services.set_password(Operator.mailbox_user(mailbox.email), mailbox, raw_password)
        row.used_at = timezone.now()
        row.save(update_fields=["used_at"])
        # Every other link of this mailbox is dead anyway (new hash); drop them.
        PasswordResetToken.objects.filter(mailbox=mailbox).exclude(pk=row.pk).delete()
    return mailbox


def set_recovery_address(mailbox, address):
    """Store, change or (with an empty address) remove the mailbox's recovery address."""
    if not address:
        RecoveryAddress.objects.filter(mailbox=mailbox).delete()
        return None
    recovery, _ = RecoveryAddress.objects.update_or_create(mailbox=mailbox, defaults={"address": address})
    return recovery


def recovery_address_of(mailbox):
    return RecoveryAddress.objects.filter(mailbox=mailbox).values_list("address", flat=True).first()


def send_recovery_link(address, build_absolute_uri):
    """Mail a reset link to the recovery address of mailbox `address`, if it has one.

    Returns nothing the caller could show: the page says the same whether or not the mailbox
    exists, has a recovery address, or was sent a link a minute ago."""
    try:
        email = addresses.normalize_address(address)
    except addresses.AddressError:
        return
    recovery = RecoveryAddress.objects.select_related("mailbox").filter(mailbox__email=email).first()
    if recovery is None:
        return
    recent = PasswordResetToken.objects.filter(
        mailbox=recovery.mailbox,
        origin=PasswordResetToken.RECOVERY,
        created_at__gte=timezone.now() - RECOVERY_MAIL_INTERVAL,
    )
    if recent.exists():
        return
    mailbox = recovery.mailbox
    token = make_link_token(mailbox, PasswordResetToken.RECOVERY)
    context = {
        "mailbox": mailbox,
        "link": link_url(token, build_absolute_uri),
        "hours": settings.MAILADMIN_RESET_LINK_HOURS,
    }
    send_mail(
        subject=f"Password reset for {mailbox.display_email}",
        message=render_to_string("account/reset_email.txt", context),
        from_email=None,
        recipient_list=[recovery.address],
    )
