"""An admin's daily work in a real browser (Debian's chromium through Playwright).

Each step checks both what the page shows and what reached the tables; the generated
passwords are checked by the real `doveadm pw -t` against the stored hash.
"""

import pytest

from conftest import ACTOR_PASSWORD, require_or_skip
from mailadmin.testing import browser, doveadm

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def doveadm_accepts(password, stored):
    """The real `doveadm pw -t HASH`, the password on stdin (never on the command line)."""
    require_or_skip(doveadm.available(), "doveadm is not installed (apt-get install dovecot-core)")
    return doveadm.verifies(stored, password)


def log_in(page, live_server, username, password):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def menu(page, label):
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=label, exact=True)


def test_an_admin_logs_in_and_lands_on_the_dashboard(page, live_server, alice):
    log_in(page, live_server, "alice", ACTOR_PASSWORD)
    page.wait_for_url(f"{live_server.url}/dashboard/")
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    assert page.get_by_role("heading", name="Password hashes").is_visible()


def test_a_wrong_password_keeps_the_admin_on_the_login_page(page, live_server, alice):
    log_in(page, live_server, "alice", "not the password")
    assert page.url.startswith(f"{live_server.url}/login/")
    assert page.locator(".errors").is_visible()


def test_an_admin_runs_a_domain_from_creation_to_deletion(page, live_server, alice):
    from aliases.models import Alias
    from users.models import Domain, Mailbox

    log_in(page, live_server, "alice", ACTOR_PASSWORD)
    page.wait_for_url(f"{live_server.url}/dashboard/")

    # Create a domain.
    menu(page, "Domains").click()
    page.get_by_role("link", name="New domain").click()
    page.get_by_label("Domain name").fill("Shop.Example")
    page.get_by_role("button", name="Create domain").click()
    page.wait_for_url(f"{live_server.url}/domains/shop.example/")
    assert Domain.objects.filter(name="shop.example").exists()

    # Create a mailbox with a generated password, shown once.
    page.get_by_role("link", name="New mailbox").click()
    page.get_by_label("Address").fill("sam")
    assert page.get_by_label("Domain").input_value() == "shop.example"
    page.get_by_label("Quota").fill("2G")
    page.get_by_role("button", name="Create mailbox").click()
    first_password = page.locator("#generated-password").inner_text().strip()
    mailbox = Mailbox.objects.get(email="sam@shop.example")
    assert mailbox.quota == 2 * 1024**3
    assert first_password not in mailbox.password
    assert doveadm_accepts(first_password, mailbox.password)
    assert not doveadm_accepts(first_password + "x", mailbox.password)

    # Add an alias with two destinations: two rows.
    menu(page, "Aliases").click()
    page.get_by_role("link", name="New alias").click()
    page.get_by_label("Source").fill("info@shop.example")
    page.get_by_label("Destinations").fill("sam@shop.example\nboss@elsewhere.example")
    # The live preview (a small script) says it while typing ...
    page.locator("#live-preview").get_by_text("sam@shop.example may also send as info@shop.example").wait_for()
    page.get_by_role("button", name="Save").click()
    # ... and, without scripts too, the page says it again before anything is saved.
    assert "sam@shop.example may also send as info@shop.example" in page.locator(".sending-preview").inner_text()
    page.get_by_role("button", name="Confirm and save").click()
    page.wait_for_url(f"{live_server.url}/aliases/?q=info%40shop.example")
    assert page.get_by_role("cell", name="boss@elsewhere.example").is_visible()
    assert sorted(Alias.objects.filter(source="info@shop.example").values_list("destination", flat=True)) == [
        "boss@elsewhere.example",
        "sam@shop.example",
    ]

    # Reset the password: a new generated one replaces the first.
    page.goto(f"{live_server.url}/mailboxes/{mailbox.pk}/")
    page.get_by_role("link", name="Reset password").click()
    page.get_by_role("button", name="Set password").click()
    second_password = page.locator("#generated-password").inner_text().strip()
    mailbox.refresh_from_db()
    assert second_password != first_password
    assert doveadm_accepts(second_password, mailbox.password)
    assert not doveadm_accepts(first_password, mailbox.password)

    # Delete the mailbox: the confirmation says the mail on disk stays, and offers to remove the
    # alias row that forwards to it in the same step.
    page.get_by_role("link", name="Done").click()
    page.get_by_role("link", name="Delete mailbox…").click()
    assert page.get_by_text("/var/vmail/shop.example/sam").first.is_visible()
    assert page.get_by_text("not removed").is_visible()
    assert page.get_by_text("info@shop.example → sam@shop.example").is_visible()
    assert page.get_by_label("Also remove this alias row").is_checked()
    page.get_by_role("button", name="Delete mailbox").click()
    page.wait_for_url(f"{live_server.url}/mailboxes/")
    assert not Mailbox.objects.filter(email="sam@shop.example").exists()
    assert list(Alias.objects.filter(source="info@shop.example").values_list("destination", flat=True)) == [
        "boss@elsewhere.example"
    ]

    # Delete the domain: the confirmation counts what goes with it and wants the name typed.
    page.goto(f"{live_server.url}/domains/shop.example/")
    page.get_by_role("link", name="Delete domain…").click()
    assert page.locator(".cascade-mailboxes").inner_text() == "0 mailboxes"
    assert page.locator(".cascade-aliases").inner_text() == "1 alias"
    page.get_by_label("Type the domain name to confirm").fill("shop.exampl")
    page.get_by_role("button", name="Delete domain").click()
    assert page.get_by_text("Type shop.example exactly").is_visible()
    assert Domain.objects.filter(name="shop.example").exists()
    page.get_by_label("Type the domain name to confirm").fill("shop.example")
    page.get_by_role("button", name="Delete domain").click()
    page.wait_for_url(f"{live_server.url}/domains/")
    assert not Domain.objects.filter(name="shop.example").exists()
    assert not Alias.objects.filter(source="info@shop.example").exists()


def test_a_failing_browser_test_leaves_a_screenshot(live_server, request):
    require_or_skip(browser.missing_reason() is None, browser.missing_reason() or "")
    name = request.node.name + "_inner"
    target = browser.screenshot_path(name)
    target.unlink(missing_ok=True)
    with pytest.raises(AssertionError):
        with browser.browser_page(name) as page:
            page.goto(f"{live_server.url}/login/")
            assert False, "a deliberate failure"
    assert target.exists() and target.stat().st_size > 0
    target.unlink()
