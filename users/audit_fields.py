"""How domains, mailboxes and domain-admin grants appear in the audit log (mailadmin.audit)."""

from mailadmin import audit
from users.models import Domain


def _grant_domain_name(grant):
    cached = grant._state.fields_cache.get("domain")
    if cached is not None:
        return cached.name
    # No database constraint: the domain may be gone already (deleted by the server's scripts).
    return Domain.objects.filter(pk=grant.domain_id).values_list("name", flat=True).first() or ""


def _grant_snapshot(grant):
    user = grant._state.fields_cache.get("user")
    if user is None:
        user = type(grant).user.field.related_model.objects.filter(pk=grant.user_id).first()
    return {"user": user.get_username() if user is not None else None, "domain": _grant_domain_name(grant)}


def register():
    audit.register("users.Domain", "domain", ["name"], domain_of=lambda domain: domain.name)
    audit.register(
        "users.Mailbox",
        "mailbox",
        ["email", "quota", "password"],
        domain_of=lambda mailbox: mailbox.email.rpartition("@")[2],
    )
    audit.register(
        "users.DomainAdminGrant",
        "domain admin",
        ["user", "domain"],
        domain_of=_grant_domain_name,
        snapshot=_grant_snapshot,
    )
