"""Mailbox users log in with their mail address and mail password.

The password is checked against the Dovecot hash in virtual_users; the panel keeps no copy.
A mailbox user is a non-staff Django User named by the address, with an unusable password,
made on the first successful login: sessions, CSRF, django-axes and login_required then work
as for staff. Staff accounts never log in through this backend.
"""

import logging
from functools import lru_cache

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

from mailadmin import logsafe
from mailadmin.operator import Operator
from users import addresses, password_policy, passwords, services
from users.models import Mailbox

log = logging.getLogger("mailadmin.auth")


@lru_cache(maxsize=8)
def _dummy_hash(scheme, bcrypt_cost):
    return passwords.hash_password(passwords.generate_password(), scheme, bcrypt_cost=bcrypt_cost)


def burn_verify_time(password):
    """Spend what checking a password against a stored hash of the configured scheme costs."""
    dummy = _dummy_hash(settings.MAILADMIN_PASSWORD_SCHEME, settings.MAILADMIN_BCRYPT_COST)
    passwords.verify_password(password, dummy)


def normalized_login(username):
    """The address as virtual_users stores it, or None when it is not a mail address."""
    if not username or "@" not in username:
        return None
    try:
        return addresses.normalize_address(username.strip())
    except addresses.AddressError:
        return None


def check_mailbox_password(mailbox, password):
    """True when Dovecot would accept `password`; a hash nobody can check is a refusal."""
    try:
        return mailbox.check_password(password)
    except ValueError:  # UnknownScheme, MalformedHash: the server refuses such a login too
        return False


def session_password(mailbox):
    """An unusable password that stands for the mailbox's current hash.

    Django keys every session to an HMAC of user.password. The mailbox user's real password
    lives in virtual_users, so we put a fingerprint of that hash in its place (in memory, for
    the session check): when the hash changes by any route, the user's other sessions end."""
    from users.recovery import password_fingerprint

    return UNUSABLE_PASSWORD_PREFIX + password_fingerprint(mailbox.password)


def upgrade_hash(mailbox, password):
    """Store the password again with the configured scheme when the upgrade rule says so
    (MAILADMIN_UPGRADE_HASH, decided by users.password_policy.should_rehash)."""
    if not password_policy.should_rehash(mailbox.password):
        return mailbox
    return services.rehash_verified_password(Operator.mailbox_user(mailbox.email), mailbox, password)


class MailboxBackend(BaseBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if password is None:
            return None
        email = normalized_login(username)
        if email is None:
            return None
        User = get_user_model()
        user = User._default_manager.filter(username=email).first()
        mailbox = Mailbox.objects.filter(email=email).first()
        if mailbox is None or (user is not None and user.is_staff):
            # As slow as a real check, so the answer's timing does not tell who exists.
            burn_verify_time(password)
            return None
        if not check_mailbox_password(mailbox, password):
            return None
        if user is None:
            user, _ = User._default_manager.get_or_create(username=email, defaults={"is_staff": False})
            if user.is_staff:  # made staff by somebody else in the meantime
                return None
            user.set_unusable_password()
            user.save(update_fields=["password"])
        if not user.is_active:
            return None
        mailbox = upgrade_hash(mailbox, password)
        user.password = session_password(mailbox)
        return user

    def get_user(self, user_id):
        User = get_user_model()
        user = User._default_manager.filter(pk=user_id, is_staff=False, is_active=True).first()
        if user is None:
            return None
        mailbox = Mailbox.objects.filter(email=user.get_username()).first()
        if mailbox is None:  # the mailbox was deleted: so is the right to its pages
            return None
        user.password = session_password(mailbox)
        return user


# --- Failed logins, in a line fail2ban can match ---------------------------------------------------


def client_address(request):
    if request is None:
        return "-"
    # The address django-axes counts, so fail2ban and the throttle agree on who asked.
    from axes.helpers import get_client_ip_address

    return get_client_ip_address(request) or "-"


def loggable_name(username):
    # Percent-encoded and after rhost: a name with spaces, "rhost=" or a line break cannot make
    # fail2ban read another address out of the line.
    return logsafe.token(username)


@receiver(user_login_failed, dispatch_uid="users.auth_backends.log_failed_login")
def log_failed_login(sender, credentials, request=None, **kwargs):
    username = credentials.get(get_user_model().USERNAME_FIELD, credentials.get("username"))
    log.warning(
        "mailadmin login failed: rhost=%s user=%s", client_address(request), loggable_name(username)
    )


AXES_USERNAME_MAX = 255


def axes_username(request, credentials):
    """The name django-axes counts failures under: "Jane@A.example" and "jane@a.example" are one
    mailbox, so they share one counter (AXES_USERNAME_CALLABLE)."""
    username = (credentials or {}).get("username")
    if username is None and request is not None:
        username = request.POST.get("username")
    name = normalized_login(username) or username
    # django-axes stores the name in a varchar(255): a longer one would fail the failed login.
    return name[:AXES_USERNAME_MAX] if isinstance(name, str) else name
