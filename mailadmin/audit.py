"""The audit log: who changed which domain, mailbox, alias or grant, when, from where.

Every write goes through the write API (users.services, aliases.services), which runs it
inside `operator.acting()`: the receivers registered here for each audited model then file an
entry naming that operator, its address and its door. The middleware names the request's user
for anything else a request saves. Writes that bypass signals (the importer's bulk_create, the
bulk quota UPDATE) call `record()` / `record_many()` themselves.
"""

import getpass
import os
from contextlib import contextmanager
from contextvars import ContextVar

from django.db.models.signals import post_delete, post_save, pre_save
from django.utils import timezone

from mailadmin.client_address import client_address

# Stored instead of a password or hash, which never reaches the log.
PASSWORD_CHANGED = "password changed"
SECRET_FIELDS = {"password"}


class Audited:
    """What an audited model contributes to an entry. Each app registers its own models from
    AppConfig.ready() (this module knows no app): the object type shown in the log, the fields
    compared before/after, the domain an entry is filed under (a domain admin sees the entries
    of their domains), and optionally how to read the fields (a grant names its user)."""

    def __init__(self, object_type, fields, domain_of, snapshot=None):
        self.object_type = object_type
        self.fields = fields
        self.domain_of = domain_of
        self.snapshot = snapshot


AUDITED = {}


def register(model_label, object_type, fields, domain_of, snapshot=None, by_signals=True):
    """by_signals=False: the model's write API records its entries itself (audit.record)."""
    AUDITED[model_label] = Audited(object_type, fields, domain_of, snapshot)
    if not by_signals:
        return
    uid = f"mailadmin.audit:{model_label}"
    # A string sender is resolved when the model's app is loaded (ModelSignal's lazy senders).
    pre_save.connect(_before_save, sender=model_label, dispatch_uid=uid)
    post_save.connect(_after_save, sender=model_label, dispatch_uid=uid)
    post_delete.connect(_after_delete, sender=model_label, dispatch_uid=uid)


class Actor:
    def __init__(self, label, address=None, via=""):
        self._label = label
        self.address = address or None
        self.via = via

    @property
    def label(self):
        return self._label() if callable(self._label) else self._label


_current = ContextVar("mailadmin_audit_actor", default=None)


def _local_actor():
    """Outside a request and without acting_as(): a process on this machine (manage.py, shell)."""
    ssh = os.environ.get("SSH_CLIENT", "").split()
    return Actor(f"cli:{getpass.getuser()}", ssh[0] if ssh else None, "cli")


def current_actor():
    return _current.get() or _local_actor()


@contextmanager
def acting_as(label, address=None, via="cli"):
    """Attribute every change inside the block to `label` (e.g. "cli:root", "import:alice")."""
    token = _current.set(Actor(label, address, via))
    try:
        yield
    finally:
        _current.reset(token)


def _request_label(request):
    user = getattr(request, "user", None)
    return user.get_username() if user is not None and user.is_authenticated else "anonymous"


class AuditActorMiddleware:
    """Sets the actor for the request; must come after AuthenticationMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        via = "django-admin" if request.path_info.startswith("/django-admin/") else "panel"
        actor = Actor(lambda: _request_label(request), client_address(request), via)
        token = _current.set(actor)
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)


# --- What an entry says about an object ---------------------------------------------------


def _label_of(instance):
    return f"{instance._meta.app_label}.{instance._meta.object_name}"


def domain_name_of(instance):
    return AUDITED[_label_of(instance)].domain_of(instance)


def snapshot(instance):
    """The audited fields' values as plain JSON values."""
    audited = AUDITED[_label_of(instance)]
    if audited.snapshot is not None:
        return audited.snapshot(instance)
    return {field: getattr(instance, field) for field in audited.fields}


def diff(before, after):
    """{field: [before, after]} for the fields that differ; secrets only as a marker."""
    changes = {}
    for field in after:
        old, new = (before or {}).get(field), after.get(field)
        if before is not None and old == new:
            continue
        if field in SECRET_FIELDS:
            if before is None and not new:
                continue
            changes[field] = PASSWORD_CHANGED if before is not None else "password set"
        else:
            changes[field] = [old, new]
    return changes


def entry(action, instance, changes, actor=None, when=None):
    """An unsaved AuditEntry for `instance`."""
    from mailadmin.models import AuditEntry

    actor = actor or current_actor()
    return AuditEntry(
        timestamp=when or timezone.now(),
        actor=actor.label[:150],
        address=actor.address,
        via=actor.via,
        action=action,
        object_type=AUDITED[_label_of(instance)].object_type,
        object_id=instance.pk,
        object_repr=str(instance)[:255],
        domain=domain_name_of(instance)[:255],
        changes=changes,
    )


def record(action, instance, changes):
    made = entry(action, instance, changes)
    made.save()
    return made


def record_many(entries):
    from mailadmin.models import AuditEntry

    AuditEntry.objects.bulk_create(entries, batch_size=1000)


# --- Signal receivers ------------------------------------------------------------------


def _before_save(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw or instance.pk is None:
        instance._audit_before = None
        return
    old = sender._base_manager.filter(pk=instance.pk).first()
    instance._audit_before = snapshot(old) if old is not None else None


def _after_save(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    from mailadmin.models import AuditEntry

    before = None if created else getattr(instance, "_audit_before", None)
    changes = diff(before, snapshot(instance))
    if before is not None and not changes:
        return  # saved without a change: nothing happened worth a line
    record(AuditEntry.CREATE if before is None else AuditEntry.UPDATE, instance, changes)


def _after_delete(sender, instance, **kwargs):
    from mailadmin.models import AuditEntry

    values = snapshot(instance)
    changes = {
        field: ("password removed" if field in SECRET_FIELDS else [value, None])
        for field, value in values.items()
    }
    record(AuditEntry.DELETE, instance, changes)
