"""Staff pages about sending: a mailbox's sending rights, "who may send as …", the server's config."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from aliases import sender_rights, server_config
from aliases.sender_login import is_null_sender
from mailadmin.permissions import staff_required, superadmin_required
from users.access import domains_for, get_mailbox_for_user
from users import addresses
from users.models import Domain


@staff_required
@require_GET
def mailbox_sending(request, pk):
    mailbox = get_mailbox_for_user(request.user, pk)
    rights = sender_rights.rights_of(mailbox.email)
    return render(
        request,
        "sending/mailbox_sending.html",
        {
            "mailbox": mailbox,
            "rights": [(right, right.description(mailbox.email)) for right in rights],
            "config": sender_rights.lookup_config(),
        },
    )


def _lookup_error(user, address):
    """Why this staff user may not look at `address`, or ''.

    A domain admin asks about addresses of their own domains (and outside addresses, which no
    domain of the panel answers for); the owners listed may be anywhere, as their rows are.
    """
    if user.is_superuser or is_null_sender(address):
        return ""
    # The address Postfix looks up after its rewriting: `b.example!info` and
    # `info%b.example@localhost` are asked as info@b.example, and are b.example's business.
    resolved = sender_rights.resolved_address(address) or address
    domain = resolved.rpartition("@")[2].lower()
    if not domain:
        return "Enter a full address (local@domain), or <> for the null sender."
    try:
        domain = addresses.normalize_domain(domain)
    except addresses.AddressError as error:
        return str(error)
    if Domain.objects.filter(name=domain).exists() and not domains_for(user).filter(name=domain).exists():
        return f"{addresses.domain_to_unicode(domain)} is not one of your domains."
    return ""


@staff_required
@require_GET
def sending_lookup(request):
    address = request.GET.get("address", "").strip()
    answer = error = None
    decision = None
    login = request.GET.get("login", "").strip()
    if "address" in request.GET:
        error = _lookup_error(request.user, address)
        if not error:
            answer = sender_rights.who_may_send_as(address)
            if login:
                decision = sender_rights.check(login, address)
    return render(
        request,
        "sending/lookup.html",
        {
            "address": address,
            "login": login,
            "answer": answer,
            "decision": decision,
            "error": error,
            "config": sender_rights.lookup_config(),
        },
    )


@superadmin_required
@require_GET
def postfix_config(request):
    target = server_config.database_target()
    return render(
        request,
        "sending/postfix_config.html",
        {
            "files": server_config.all_files(target=target),
            "guide": server_config.current_guide(),
            "target": target,
            "main_cf": "\n".join(server_config.main_cf_lines()),
            "placeholder": server_config.PASSWORD_PLACEHOLDER,
            "config": sender_rights.lookup_config(),
        },
    )
