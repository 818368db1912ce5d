"""The panel's top-level pages: where each visitor starts, and the staff dashboard (it counts
domains, mailboxes and aliases together, so it lives above both apps)."""

from django.conf import settings
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET

from mailadmin.permissions import staff_required
from mailadmin import cached_counts
from users import hash_inventory, quota_usage, tallies
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
    # The figures are kept as the data changes (users.tallies): a row per domain summed, the
    # same cost at 10,000 and 1,000,000 mailboxes. "Count again" recounts from the tables, for
    # rows deleted behind the panel's back (rows added behind its back are noticed by their id).
    if "refresh" in request.GET and request.user.is_superuser:
        tallies.recount()
    user = request.user
    totals, schemes = tallies.figures(user)
    inventory = hash_inventory.rows_from_counts(schemes)
    mailboxes = mailboxes_for(user)
    return render(
        request,
        "users/dashboard.html",
        {
            "domain_count": domains_for(user).count(),
            "mailbox_count": totals["mailboxes"],
            "alias_count": totals["aliases"],
            "inventory": inventory,
            "flagged": [
                (row, list(hash_inventory.mailboxes_with(mailboxes, row.key)[: hash_inventory.SHOWN]))
                for row in inventory
                if row.flagged
            ],
            "configured_scheme": settings.MAILADMIN_PASSWORD_SCHEME,
            # Joining usage to quotas reads every reported mailbox: kept for a minute.
            "quota_alerts": cached_counts.remembered(
                f"quota-alerts:{user.pk}", lambda: quota_usage.nearly_full_and_full(mailboxes)
            )[0],
        },
    )
