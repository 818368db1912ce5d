"""What the panel does to domains and mailboxes, shared by the pages, the Django admin,
the command line and imports. Each function validates through the models and writes in
one transaction."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from mailadmin.db import save_validated
from users import addresses, passwords
from users.models import Domain, Mailbox


def create_domain(name):
    return save_validated(Domain(name=name))


def cascade_summary(domain):
    """What deleting a domain takes with it, for confirmations."""
    return {"mailboxes": domain.mailboxes.count(), "aliases": domain.aliases.count()}


def delete_domain(domain):
    with transaction.atomic():
        summary = cascade_summary(domain)
        domain.delete()
    return summary


def check_new_password(raw_password, mailbox=None):
    """Django's password validators (length, common, numeric, similar to the address)."""
    validate_password(raw_password, user=mailbox)


def hash_for_storage(raw_password):
    return passwords.hash_password(
        raw_password,
        settings.MAILADMIN_PASSWORD_SCHEME,
        bcrypt_cost=settings.MAILADMIN_BCRYPT_COST,
    )


def create_mailbox(email, raw_password, quota=0, domain=None):
    mailbox = Mailbox(email=email, quota=quota, domain=domain, password="")
    mailbox.full_clean(exclude=["password"])
    check_new_password(raw_password, mailbox)
    mailbox.password = hash_for_storage(raw_password)
    return save_validated(mailbox)


def set_password(mailbox, raw_password):
    check_new_password(raw_password, mailbox)
    mailbox.password = hash_for_storage(raw_password)
    mailbox.save(update_fields=["password"])
    return mailbox


def parse_quota(text):
    try:
        return addresses.parse_quota(text)
    except addresses.AddressError as error:
        raise ValidationError({"quota": str(error)})


def set_quota(mailbox, size):
    mailbox.quota = parse_quota(size) if isinstance(size, str) else size
    return save_validated(mailbox)
