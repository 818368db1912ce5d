import math
from datetime import timedelta

from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from django.db.models import Max, Q
from django.shortcuts import redirect, render
from django.utils import timezone
from django.urls import NoReverseMatch, reverse

from mailadmin.client_address import client_address


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
