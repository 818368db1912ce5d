"""The panel's top-level pages: where each visitor starts, and the staff dashboard (it counts
domains, mailboxes and aliases together, so it lives above both apps)."""

import math
from datetime import timedelta

from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, Q
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import timezone
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET

from mailadmin.client_address import client_address
from mailadmin.permissions import staff_required
from users import hash_inventory, quota_usage, tallies
from users.listing import mailbox_rows


def favicon(request):
    # Resolved per request: with hashed static names the file's URL is known only once
    # collectstatic has run, which may be after the URLs are loaded (migrate's checks load them).
    # Not permanent: the hashed name changes with every release.
    return redirect(static("mailadmin/favicon.svg"))


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
    totals, schemes, alert_counts = tallies.figures(user)
    inventory = hash_inventory.rows_from_counts(schemes)
    # Kept counts, and index range scans of the kept percent (users.quota_usage).
    quota_alerts = quota_usage.nearly_full_and_full(user, alert_counts)
    for alert in quota_alerts.values():
        mailbox_rows(alert.mailboxes, usage_bars=True)  # each row's link and bar
    flagged = [row for row in inventory if row.flagged]
    flagged_mailboxes = hash_inventory.some_mailboxes_of_each(user, [row.key for row in flagged])
    return render(
        request,
        "users/dashboard.html",
        {
            "domain_count": totals["domains"],
            "mailbox_count": totals["mailboxes"],
            "alias_count": totals["aliases"],
            "inventory": inventory,
            "flagged": [(row, mailbox_rows(flagged_mailboxes[row.key])) for row in flagged],
            "configured_scheme": settings.MAILADMIN_PASSWORD_SCHEME,
            "quota_alerts": quota_alerts,
        },
    )


def lockout(request, original_response=None, credentials=None):
    """django-axes' answer to a locked-out login (AXES_LOCKOUT_CALLABLE): the panel's page,
    saying how much longer the lock lasts."""
    limit = get_failure_limit(request, credentials)
    cool_off = get_cool_off(request)
    remaining = _remaining_lock(request, credentials, limit, cool_off) if cool_off else None
    context = {"failure_limit": limit, "minutes": None, "until": None}
    if remaining is not None:
        context["minutes"] = max(1, math.ceil(remaining.total_seconds() / 60))
        context["until"] = timezone.localtime(timezone.now() + remaining)
    response = render(request, "429.html", context, status=429)
    if remaining is not None:
        response["Retry-After"] = str(math.ceil(remaining.total_seconds()))
    return response


def _remaining_lock(request, credentials, limit, cool_off):
    """Time until the newest locking attempt (by this account or this address) has cooled off."""
    username = get_client_username(request, credentials)
    address = getattr(request, "axes_ip_address", None) or client_address(request)
    who = Q(ip_address=address)
    if username:
        who |= Q(username=username)
    last = (
        AccessAttempt.objects.filter(who, failures_since_start__gte=limit)
        .aggregate(last=Max("attempt_time"))["last"]
    )
    if last is None:
        return cool_off
    return max(cool_off - (timezone.now() - last), timedelta(0))
