"""The top bar of every page: one menu for the whole panel, each entry shown to the roles it
serves, and the links to the start page and to log out.

An entry whose page does not exist (its URL name does not resolve) is left out, so a feature's
pages appear in the menu as soon as its URLs are included.

The bar is the same for every request of one role on one page, yet Django's template language
spent about a tenth of a list page's instructions on it (an include, a loop of tags per entry,
two `{% url %}`): its links are reversed once per script prefix and the menu's HTML is built
once per set of entries.
"""

import functools

from django.conf import settings
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

STAFF, SUPERUSER, MAILBOX_USER = "staff", "superuser", "mailbox_user"

NAV = [
    ("Dashboard", "dashboard", STAFF),
    ("Domains", "domain-list", STAFF),
    ("Mailboxes", "mailbox-list", STAFF),
    ("Aliases", "alias-list", STAFF),
    ("Sending rights", "sending-lookup", STAFF),
    ("Import / export", "bulk-import", STAFF),
    ("Audit log", "audit-log", STAFF),
    ("Server config", "postfix-config", SUPERUSER),
    ("Staff", "staff-list", SUPERUSER),
    ("Django admin", "admin:index", SUPERUSER),
    ("My security", "my-security", STAFF),
    ("My mailbox", "account", MAILBOX_USER),
]


def _roles(user):
    if not user.is_authenticated:
        return set()
    if user.is_superuser:
        return {STAFF, SUPERUSER}
    if user.is_staff:
        return {STAFF}
    return {MAILBOX_USER}


@functools.lru_cache(maxsize=256)
def page_url(url_name, script_prefix, urlconf):
    """reverse(url_name), or None when the page does not exist: the same for every request
    under one script prefix and URLconf, so reversed once (a dozen reverses were ~2 % of a page)."""
    try:
        return reverse(url_name, urlconf=urlconf)
    except NoReverseMatch:
        return None


@functools.lru_cache(maxsize=256)
def _menu(entries):
    """The menu's links for `entries`, (label, url, is the current page) each."""
    return format_html_join(
        "",
        '<a href="{}"{}>{}</a>',
        ((url, mark_safe(' aria-current="page"') if active else "", label) for label, url, active in entries),
    )


def topbar(request):
    """Context processor: `nav` (the menu's HTML), `home_url` and `logout_url`."""
    roles = _roles(getattr(request, "user", None)) if hasattr(request, "user") else set()
    script_prefix, urlconf = get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF
    entries = []
    for label, url_name, role in NAV:
        if role not in roles:
            continue
        url = page_url(url_name, script_prefix, urlconf)
        if url is None:
            continue
        active = request.path == url or (url != "/" and request.path.startswith(url))
        entries.append((label, url, active))
    return {
        "nav": _menu(tuple(entries)),
        "home_url": page_url("home", script_prefix, urlconf),
        "logout_url": page_url("logout", script_prefix, urlconf),
    }
