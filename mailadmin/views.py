from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse


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
