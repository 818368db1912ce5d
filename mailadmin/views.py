"""The panel's top-level pages: where each visitor starts, and the staff dashboard (it counts
domains, mailboxes and aliases together, so it lives above both apps)."""

from django.conf import settings
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET

from aliases.access import aliases_for
from mailadmin import cached_counts
from mailadmin.permissions import staff_required
from users import hash_inventory
from users.access import domains_for, mailboxes_for


def home(request):
    """Send each kind of visitor to their own start page."""
    if not request.user.is_authenticated:
        return redirect("login")
    candidates = ["dashboard", "domain-list"] if request.user.is_staff else ["account"]
    for name in candidates:
        try:
            return redirect(reverse(name))
        except NoReverseMatch:
            continue
    return redirect("login")


@staff_required
@require_GET
def dashboard(request):
    # Reading every password's scheme costs 170-270 ms at 100,000 mailboxes: computed once a
    # minute (or after a change made through the panel), on demand with ?refresh=1.
    figures, computed_at = cached_counts.remembered(
        f"dashboard:{request.user.pk}", lambda: _dashboard_figures(request.user), refresh="refresh" in request.GET
    )
    return render(
        request,
        "users/dashboard.html",
        {
            **figures,
            "computed_at": computed_at,
            "kept_seconds": cached_counts.TTL,
            "configured_scheme": settings.MAILADMIN_PASSWORD_SCHEME,
        },
    )


def _dashboard_figures(user):
    mailboxes = mailboxes_for(user)
    inventory = hash_inventory.schemes(mailboxes)
    return {
        "domain_count": domains_for(user).count(),
        "mailbox_count": sum(row.count for row in inventory),
        "alias_count": aliases_for(user).count(),
        "inventory": inventory,
        "flagged": [
            (row, list(hash_inventory.mailboxes_with(mailboxes, row.key)[: hash_inventory.SHOWN]))
            for row in inventory
            if row.flagged
        ],
    }
