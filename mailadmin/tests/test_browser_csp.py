"""The Content-Security-Policy holds on every page: a real browser reports no violation.

A superadmin's browser walks every page it can reach by links from the dashboard (the Django
admin's included) and the error pages, and listens for `securitypolicyviolation` events and
for the console's CSP messages. One page of each shape is opened (/mailboxes/7/ stands for
every mailbox page), so the walk covers every template without opening every row.
"""

import re
from urllib.parse import urljoin, urlsplit

import pytest

from conftest import ACTOR_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MAX_PAGES = 120
# Links a walk must not follow: they end the session or start a download.
NOT_FOLLOWED = re.compile(r"^/(logout/|django-admin/logout/|static/)|export|\.csv$")
COLLECT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || "?"}:${event.lineNumber}`);
});
"""


def shape(url):
    """/mailboxes/12/?page=3&sort=quota -> /mailboxes/N/?page&sort: one page per template and view."""
    parts = urlsplit(url)
    keys = "&".join(sorted({pair.split("=", 1)[0] for pair in parts.query.split("&") if pair}))
    return re.sub(r"\d+", "N", parts.path) + ("?" + keys if keys else "")


@pytest.fixture
def a_world(alice, bob, jane_mailbox):
    from aliases.models import Alias

    Alias.objects.create(domain=jane_mailbox.domain, source="info@a.example", destination="jane@a.example")


def test_no_page_a_superadmin_reaches_violates_the_content_security_policy(page, live_server, a_world):
    violations = []
    page.add_init_script(COLLECT_VIOLATIONS)
    page.on(
        "console",
        lambda message: violations.append(f"{page.url}: console: {message.text}")
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text
        else None,
    )
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(ACTOR_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/dashboard/")

    queue = ["/dashboard/", "/django-admin/", "/no-such-page/", "/mailboxes/999999/"]
    seen, visited = set(), []
    while queue and len(visited) < MAX_PAGES:
        path = queue.pop(0)
        if shape(path) in seen:
            continue
        seen.add(shape(path))
        response = page.goto(live_server.url + path)
        assert response is not None, path
        page.wait_for_load_state("load")
        visited.append(path)
        violations += [f"{path}: {text}" for text in page.evaluate("window.__cspViolations || []")]
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))"):
            target = urlsplit(urljoin(live_server.url + path, href))
            if target.netloc != urlsplit(live_server.url).netloc:
                continue
            local = target.path + ("?" + target.query if target.query else "")
            if not NOT_FOLLOWED.search(local) and shape(local) not in seen:
                queue.append(local)

    assert len(visited) > 20, f"the walk reached only {visited}: it proves nothing"
    assert {"/dashboard/", "/django-admin/"} <= set(visited)
    assert not violations, "\n".join(violations)


def test_every_page_names_its_policy(client, alice):
    client.force_login(alice)
    policy = client.get("/dashboard/")["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
