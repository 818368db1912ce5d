"""The write API for domains and mailboxes: the only code that writes virtual_domains and
virtual_users. The panel's pages, the Django admin, the commands and the importer all call it
with an Operator (mailadmin.operator) and turn its errors into their own kind of message:

- ValidationError: bad or conflicting input, keyed by field ("name", "email", "quota",
  "password") so a form can show it next to the field;
- NotPermitted: the operator may not touch this (a domain admin outside their domains,
  anyone but a superadmin creating or deleting a domain).

Every function validates, checks scope, writes in one transaction and turns a lost race
(IntegrityError) into the same ValidationError a slower request would get. The audit entry
is written for the operator by mailadmin.audit's receivers inside `operator.acting()`.
"""

import os
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction

from mailadmin import audit
from mailadmin.db import save_validated
from mailadmin.models import AuditEntry
from mailadmin.operator import NotPermitted
from users import addresses, password_policy, signals, tallies
from users.models import Domain, Mailbox
from users.schema import quota_column_max

# --- Scope ---------------------------------------------------------------------------------


def require_domain(operator, domain):
    """NotPermitted unless the operator administers `domain` (superadmins: every domain)."""
    operator.require_staff()
    if operator.is_superadmin:
        return
    if not Domain.objects.visible_to(operator.user).filter(pk=domain.pk).exists():
        raise NotPermitted(f"{domain.display_name} is not one of your domains.")


def require_mailbox(operator, mailbox):
    """A mailbox user may change their own mailbox; staff the mailboxes of their domains."""
    if operator.own_mailbox:
        if operator.own_mailbox != mailbox.email:
            raise NotPermitted("A mailbox user may only change their own mailbox.")
        return
    require_domain(operator, mailbox.domain)


# --- Domains -------------------------------------------------------------------------------


def normalize_domain_name(name):
    try:
        return addresses.normalize_domain(name)
    except addresses.AddressError as error:
        raise ValidationError({"name": str(error)})


def create_domain(operator, name):
    operator.require_superadmin("add a domain")
    with operator.acting(), transaction.atomic():
        domain = save_validated(Domain(name=normalize_domain_name(name)))
        tallies.domain_added(domain.pk)
    return domain


def cascade_summary(domain):
    """What deleting a domain takes with it, for confirmations."""
    return {"mailboxes": domain.mailboxes.count(), "aliases": domain.aliases.count()}


def delete_domain(operator, domain, remove_forwarding=False):
    """Deletes the domain with its mailboxes and aliases; with `remove_forwarding`, also the
    alias rows elsewhere that would outlive it (see users.signals)."""
    operator.require_superadmin("delete a domain")
    with operator.acting(), transaction.atomic():
        summary = cascade_summary(domain)
        summary["aliases elsewhere"] = signals.removed_by_receivers(
            signals.domain_deleting, sender=Domain, domain=domain, operator=operator, remove_forwarding=remove_forwarding
        )
        # Row by row through the ORM, so the audit log sees each cascaded mailbox and alias.
        tallies.domain_removed(domain.pk)
        domain.delete()
    return summary


# --- Mailboxes -----------------------------------------------------------------------------


def parse_quota(text):
    """Bytes from "500M", "2G", "0" …; a ValidationError at "quota" otherwise."""
    if not isinstance(text, str):
        return text
    try:
        return addresses.parse_quota(text, max_bytes=quota_column_max())
    except addresses.AddressError as error:
        raise ValidationError({"quota": str(error)})


def new_mailbox(email, quota=0, domain=None):
    """An unsaved Mailbox with its address and quota checked against every rule but
    uniqueness (the database's unique key decides that when it is saved).

    The importer calls this per row too, so a row and a form are judged alike. A new mailbox's
    name must be one Dovecot lets log in (legacy rows are never judged by this again)."""
    try:
        email = addresses.mailbox_address(
            email,
            username_chars=settings.MAILADMIN_AUTH_USERNAME_CHARS,
            recipient_delimiter=settings.MAILADMIN_RECIPIENT_DELIMITER,
        )
    except addresses.AddressError as error:
        raise ValidationError({"email": str(error)})
    mailbox = Mailbox(email=email, quota=parse_quota(quota), domain=domain, password="")
    mailbox.full_clean(exclude=["password"], validate_unique=False)
    return mailbox


# Upgrade-on-login (users.auth_backends) stores a fresh hash of a password that just verified.
hash_for_storage = password_policy.hash_for_storage


def check_new_password(raw_password, mailbox=None):
    """Django's password validators (length, common, numeric, similar to the address).

    The error names no field: each door puts it at its own password field."""
    try:
        password_policy.check_plaintext(raw_password)
    except password_policy.RefusedPassword as error:
        raise ValidationError(str(error))
    validate_password(raw_password, user=mailbox)


def check_supplied_password(supplied, mailbox=None):
    """A password given as plaintext or as a "{SCHEME}…" hash (an import, the Django admin),
    judged: plaintext (and {PLAIN}-style values) must pass the validators and will be hashed
    with the configured scheme; a hash is kept only for a known scheme with parameters inside
    the configured bounds. Returns password_policy.SuppliedPassword."""
    try:
        reading = password_policy.read_supplied_password(supplied)
    except password_policy.RefusedPassword as error:
        raise ValidationError({"password": str(error)})
    if reading.stored_hash is None:
        try:
            check_new_password(reading.plaintext, mailbox)
        except ValidationError as error:
            raise ValidationError({"password": error.messages})
    return reading


def stored_password_for(supplied, mailbox=None):
    reading = check_supplied_password(supplied, mailbox)
    if reading.stored_hash is not None:
        return reading.stored_hash
    return password_policy.hash_for_storage(reading.plaintext)


def warnings_for_mailbox(email):
    """What a person should know before a mailbox is created at `email` (not errors: they may go
    ahead). The apps built on users answer through signals.mailbox_address_warnings."""
    return signals.warnings_from_receivers(signals.mailbox_address_warnings, sender=Mailbox, email=email)


def create_mailbox(operator, email, raw_password=None, *, quota=0, domain=None, supplied_password=None):
    """A new mailbox with a typed or generated password (`raw_password`, validated and hashed)
    or, from an import, `supplied_password` (plaintext or a hash, see stored_password_for)."""
    mailbox = new_mailbox(email, quota, domain)
    require_domain(operator, mailbox.domain)
    if supplied_password is not None:
        mailbox.password = stored_password_for(supplied_password, mailbox)
    else:
        check_new_password(raw_password, mailbox)
        mailbox.password = password_policy.hash_for_storage(raw_password)
    with operator.acting(), transaction.atomic():
        save_validated(mailbox)
        tallies.mailboxes_added([mailbox])
    return mailbox


def set_password(operator, mailbox, raw_password):
    require_mailbox(operator, mailbox)
    check_new_password(raw_password, mailbox)
    return _store_password(operator, mailbox, password_policy.hash_for_storage(raw_password))


def rehash_verified_password(operator, mailbox, verified_password):
    """After a login verified `verified_password`: the same password stored again with the
    configured scheme (no validators: the password does not change, only its hash). Returns the
    row as stored; a password changed meanwhile (an admin set a new one) wins and is kept."""
    require_mailbox(operator, mailbox)
    with operator.acting(), transaction.atomic():
        current = Mailbox.objects.select_for_update().get(pk=mailbox.pk)
        if current.password != mailbox.password:
            return current
        old, current.password = current.password, password_policy.hash_for_storage(verified_password)
        current.save(update_fields=["password"])
        tallies.password_replaced(current, old)
    return current


def set_supplied_password(operator, mailbox, supplied):
    require_mailbox(operator, mailbox)
    return _store_password(operator, mailbox, stored_password_for(supplied, mailbox))


def _store_password(operator, mailbox, stored):
    old, mailbox.password = mailbox.password, stored
    _save_columns(operator, mailbox, ["password"], then=lambda: tallies.password_replaced(mailbox, old))
    return mailbox


def _save_columns(operator, mailbox, columns, then=None):
    # Only the named columns: a legacy row's address (mixed case, a trailing blank) stays as it
    # is unless someone asks to change it.
    try:
        with operator.acting(), transaction.atomic():
            mailbox.save(update_fields=columns)
            if then is not None:
                then()
    except DatabaseError:
        if Mailbox.objects.filter(pk=mailbox.pk).exists():
            raise
        raise ValidationError(f"The mailbox {mailbox.display_email} was deleted in the meantime.")


def set_quota(operator, mailbox, size):
    require_domain(operator, mailbox.domain)  # staff only: a mailbox user cannot raise their own
    quota = parse_quota(size)
    check_quota(quota)
    mailbox.quota = quota
    _save_columns(operator, mailbox, ["quota"])
    return mailbox


def check_quota(quota):
    if quota is None or quota < 0:
        raise ValidationError({"quota": "A quota is 0 (unlimited) or a positive size."})
    limit = quota_column_max()
    if quota > limit:
        raise ValidationError(
            {
                "quota": f"{addresses.format_quota(quota)} is more than this database's quota column "
                f"holds (at most {addresses.format_quota_human(limit)}, {limit} bytes)."
            }
        )


def set_quotas(operator, mailboxes, size):
    """One quota for many mailboxes (the Django admin's bulk action): one UPDATE per thousand
    rows instead of a save per mailbox, with one audit entry per changed row. Returns how many
    changed; a mailbox outside the operator's domains makes the whole call NotPermitted."""
    operator.require_staff()
    quota = parse_quota(size)
    check_quota(quota)
    with operator.acting(), transaction.atomic():
        rows = list(mailboxes.select_for_update().order_by().values_list("pk", "email", "quota", "domain_id"))
        _require_domain_ids(operator, {domain_id for *_rest, domain_id in rows})
        changed = [(pk, email, old) for pk, email, old, _domain in rows if old != quota]
        for start in range(0, len(changed), 1000):
            ids = [pk for pk, _email, _old in changed[start : start + 1000]]
            Mailbox.objects.filter(pk__in=ids).update(quota=quota)
        audit.record_many(
            [
                audit.entry(AuditEntry.UPDATE, Mailbox(pk=pk, email=email, quota=quota), {"quota": [old, quota]})
                for pk, email, old in changed
            ]
        )
    return len(changed)


def _require_domain_ids(operator, domain_ids):
    operator.require_staff()
    if operator.is_superadmin or not domain_ids:
        return
    allowed = set(Domain.objects.visible_to(operator.user).filter(pk__in=domain_ids).values_list("pk", flat=True))
    if set(domain_ids) - allowed:
        raise NotPermitted("Some of these mailboxes are not in your domains.")


def replace_passwords(operator, mailboxes, stored_hashes):
    """New stored hashes for many mailboxes at once (generated passwords), audited row by row."""
    _require_domain_ids(operator, {mailbox.domain_id for mailbox in mailboxes})
    with operator.acting(), transaction.atomic():
        for mailbox, stored in zip(mailboxes, stored_hashes):
            old, mailbox.password = mailbox.password, stored
            mailbox.save(update_fields=["password"])
            tallies.password_replaced(mailbox, old)
    return mailboxes


def delete_mailbox(operator, mailbox, remove_forwarding=False):
    """Deletes the mailbox row (never its mail on disk); with `remove_forwarding`, also the
    alias rows that forward to it. Returns how many such alias rows went."""
    require_domain(operator, mailbox.domain)
    with operator.acting(), transaction.atomic():
        removed = signals.removed_by_receivers(
            signals.mailbox_deleting, sender=Mailbox, mailbox=mailbox, operator=operator, remove_forwarding=remove_forwarding
        )
        tallies.mailbox_removed(mailbox)
        mailbox.delete()
    return removed


def delete_mailboxes(operator, mailboxes):
    """Many mailboxes in one transaction (the Django admin's bulk delete)."""
    rows = list(mailboxes.select_related("domain"))
    _require_domain_ids(operator, {mailbox.domain_id for mailbox in rows})
    with operator.acting(), transaction.atomic():
        for mailbox in rows:
            tallies.mailbox_removed(mailbox)
            mailbox.delete()
    return len(rows)


# --- Hashing many passwords ------------------------------------------------------------------


def hash_passwords(plaintexts, into):
    """Hash with the configured scheme on every core, appending to `into` in input order;
    yields progress as (stage, done, total).

    bcrypt and argon2 release the GIL while they hash, so threads use every core without the
    cost of starting processes and pickling (bench/RESULTS.md has the measurement).
    """
    total = len(plaintexts)
    if not total:
        return
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        results = pool.map(password_policy.hash_for_storage, plaintexts)
        for done, hashed in enumerate(results, start=1):
            into.append(hashed)
            if done % 50 == 0 or done == total:
                yield "hashing passwords", done, total
