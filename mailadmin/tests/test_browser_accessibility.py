"""axe-core on every panel page each role can reach, on a desktop and a 390 px phone screen.

The pages are the permission matrix's (mailadmin/tests/permission_rows*.py): every row whose GET
answers 200 for the role, so a new page is checked as soon as it has its row. Any violation,
whatever its impact, fails. The Django admin pages the panel customised may have at most the
violations of Django's own pages. Screenshots of the main pages are kept in test-artifacts/.
"""

import pytest
from playwright.sync_api import Error as PlaywrightError
from django.urls import reverse
from django.utils.http import urlencode

from mailadmin.testing import axe, browser
from mailadmin.tests import permission_rows
from mailadmin.tests.test_permissions import ROWS, world  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = browser.VIEWPORTS
# Pages kept as screenshots for a reviewer (URL names; the first URL of each reached by a role).
SCREENSHOTS = {
    "dashboard", "domain-list", "domain-detail", "mailbox-list", "mailbox-detail", "mailbox-create",
    "alias-list", "alias-create", "alias-address", "audit-log", "sending-lookup", "account", "login",
    "postfix-config", "mailbox-sending", "error-403", "error-404",
}


# Pieces of a page, fetched by its script; checked as part of the page that shows them.
FRAGMENTS = {"alias-preview"}


def url_of(row, values):
    kwargs = {k: values[v] if isinstance(v, str) and v in values else v for k, v in row.get("kwargs", {}).items()}
    url = reverse(row["name"], kwargs=kwargs)
    if row.get("query"):
        url += "?" + urlencode({k: values.get(v, v) for k, v in row["query"].items()})
    return url


# Error pages are pages too: the first URL the matrix answers with each of these for a role.
ERROR_STATUSES = ("400", "403", "404")


def pages_for(actor, values):
    """(URL name, URL) of every page the matrix says `actor` may GET (200), each URL once, and
    one page of each error status the role meets."""
    column = permission_rows.ACTORS.index(actor)
    seen, errors = {}, {}
    for _source, row in ROWS:
        if row["name"].startswith("admin:") or row["name"] in FRAGMENTS:
            continue
        status = row["GET"].split()[column]
        if status == "200":
            seen.setdefault(url_of(row, values), row["name"])
        elif status in ERROR_STATUSES and status not in errors:
            errors[status] = (f"error-{status}", url_of(row, values))
    return [(name, url) for url, name in seen.items()] + list(errors.values())


def log_in(page, live_server, user):
    if user is not None:
        browser.force_login(page, live_server.url, user)


def check_pages(page, live_server, pages, viewport, label):
    """{url: violations} for every HTML page of the list; screenshots of the main ones."""
    page.set_viewport_size(VIEWPORTS[viewport])
    found, shot = {}, set()
    for name, url in pages:
        try:
            response = page.goto(live_server.url + url)
        except PlaywrightError as error:
            if "Download is starting" in str(error):
                continue  # a CSV export
            raise
        if "text/html" not in (response.headers.get("content-type") or ""):
            continue
        page.wait_for_load_state("networkidle")
        violations = axe.violations(page)
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 0:
            # The page itself scrolls sideways (a table scrolls inside its own frame instead).
            violations.append({"id": "page-wider-than-screen", "impact": "serious",
                               "help": f"the page is {overflow} px wider than the screen", "targets": ["html"]})
        if violations:
            found[url] = violations
        if name in SCREENSHOTS and name not in shot:
            shot.add(name)
            browser.save_screenshot(page, f"screen-{viewport}-{label}-{name}")
    return found


def report(found):
    return "\n".join(f"{url}:\n{axe.describe(violations)}" for url, violations in found.items())


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("actor", ["anonymous", "jane", "bob", "carol", "alice"])
def test_every_page_a_role_reaches_has_no_axe_violation(page, live_server, world, actor, viewport):
    users, values = world
    pages = pages_for(actor, values)
    assert pages, f"the matrix gives {actor} no page"
    log_in(page, live_server, users.get(actor))
    found = check_pages(page, live_server, pages, viewport, actor)
    assert not found, f"axe violations for {actor} on {viewport}:\n{report(found)}"


def test_the_check_finds_what_axe_calls_a_violation(page, live_server):
    page.goto(live_server.url + "/login/")
    page.evaluate("() => { document.documentElement.removeAttribute('lang'); document.body.append(document.createElement('img')); }")
    found = {violation["id"] for violation in axe.violations(page)}
    assert {"html-has-lang", "image-alt"} <= found


# The Django admin: the pages the panel changed, against the same kind of page Django ships.
CUSTOMISED_ADMIN = [
    "admin:users_domain_changelist",
    "admin:users_mailbox_changelist",
    "admin:aliases_alias_changelist",
    ("admin:users_mailbox_password", "mailbox_a"),
    ("admin:users_domain_delete", "domain_a_pk"),
]
# Django's own markup for options the panel sets on its lists (ModelAdmin.search_help_text,
# show_full_result_count = False): the search box is described but labelled by an icon, and the
# "Show all" link is told from its text by colour alone. Allowed on exactly those elements.
DJANGO_MARKUP = {("label-title-only", "#searchbar"), ("link-in-text-block", '.small > a[href="?"]')}
# Pages Django (and django-axes, with Django's own templates) render unchanged.
STOCK_ADMIN = ["admin:index", "admin:password_change", "admin:axes_accessattempt_changelist", "admin:axes_accesslog_changelist"]


def admin_urls(entries, values):
    for entry in entries:
        if isinstance(entry, tuple):
            name, key = entry
            yield reverse(name, args=[values[key]])
        else:
            yield reverse(entry)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_customised_django_admin_pages_add_no_violation_to_djangos_own(page, live_server, world, viewport):
    from users.models import Domain

    users, values = world
    values = {**values, "domain_a_pk": Domain.objects.get(name="a.example").pk}
    log_in(page, live_server, users["alice"])
    page.set_viewport_size(VIEWPORTS[viewport])

    def rules(urls):
        found = {}
        for url in urls:
            page.goto(live_server.url + url)
            for violation in axe.violations(page):
                targets = [t for t in violation["targets"] if (violation["id"], t) not in DJANGO_MARKUP]
                if targets:
                    found.setdefault(violation["id"], []).append(f"{url} {', '.join(targets)}")
        return found

    stock = rules(admin_urls(STOCK_ADMIN, values))
    ours = rules(admin_urls(CUSTOMISED_ADMIN, values))
    added = {rule: urls for rule, urls in ours.items() if rule not in stock}
    assert not added, f"violations Django's own pages do not have: {added}"
