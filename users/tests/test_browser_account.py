"""A mailbox user in a real browser (Debian's chromium through Playwright): log in, change the
password, log out, log in with the new one; and a reset link from the admin to a new password."""

import re

import pytest

from conftest import ACTOR_PASSWORD, MAILBOX_PASSWORD
from users.models import Mailbox

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "browser-chosen-Passw0rd"


def log_in(page, live_server, username, password):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def log_out(page, live_server):
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{live_server.url}/login/")


def test_a_mailbox_user_changes_the_password_and_logs_in_with_the_new_one(page, live_server, jane_mailbox):
    log_in(page, live_server, "jane@a.example", MAILBOX_PASSWORD)
    page.wait_for_url(f"{live_server.url}/me/")
    assert page.locator("#account-address").inner_text().startswith("jane@a.example")
    assert page.locator("#account-quota").inner_text() == "unlimited"

    form = page.locator("#change-password")
    form.get_by_label("Current password").fill(MAILBOX_PASSWORD)
    form.get_by_label("New password", exact=True).fill("too-short")
    form.get_by_label("New password again").fill("too-short")
    form.get_by_role("button", name="Change password").click()
    assert "at least 12 characters" in page.locator("#id_new_password1_error").inner_text()

    form.get_by_label("Current password").fill(MAILBOX_PASSWORD)
    form.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    form.get_by_label("New password again").fill(NEW_PASSWORD)
    form.get_by_role("button", name="Change password").click()
    page.wait_for_url(f"{live_server.url}/me/")
    assert "Your password has been changed" in page.locator(".messages").inner_text()
    assert Mailbox.objects.get(pk=jane_mailbox.pk).check_password(NEW_PASSWORD)

    log_out(page, live_server)
    log_in(page, live_server, "jane@a.example", MAILBOX_PASSWORD)
    assert page.url.startswith(f"{live_server.url}/login/")
    assert page.get_by_role("alert").is_visible()
    log_in(page, live_server, "jane@a.example", NEW_PASSWORD)
    page.wait_for_url(f"{live_server.url}/me/")


def test_an_admin_makes_a_reset_link_and_the_user_sets_a_password_with_it(page, live_server, bob, jane_mailbox):
    log_in(page, live_server, "bob", ACTOR_PASSWORD)
    page.wait_for_url(f"{live_server.url}/dashboard/")
    page.goto(f"{live_server.url}/mailboxes/{jane_mailbox.pk}/")
    page.get_by_role("button", name="Make a reset link").click()
    link = page.locator("#reset-link").inner_text().strip()
    assert re.fullmatch(re.escape(live_server.url) + r"/reset/[A-Za-z0-9_-]+/", link)
    log_out(page, live_server)

    page.goto(link)
    page.wait_for_url(f"{live_server.url}/reset/set-password/")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password").click()
    page.wait_for_url(f"{live_server.url}/login/")
    assert "has been set" in page.locator(".messages").inner_text()

    log_in(page, live_server, "jane@a.example", NEW_PASSWORD)
    page.wait_for_url(f"{live_server.url}/me/")
    log_out(page, live_server)

    page.goto(link)
    assert "does not work" in page.locator("h1").inner_text()


def test_a_user_with_a_recovery_address_resets_a_forgotten_password(page, live_server, jane_mailbox, mailoutbox):
    log_in(page, live_server, "jane@a.example", MAILBOX_PASSWORD)
    page.wait_for_url(f"{live_server.url}/me/")
    form = page.locator("#recovery")
    form.get_by_label("Recovery address").fill("jane.private@elsewhere.example")
    form.get_by_label("Current password").fill(MAILBOX_PASSWORD)
    form.get_by_role("button", name="Save recovery address").click()
    page.wait_for_url(f"{live_server.url}/me/")
    assert "jane.private@elsewhere.example" in page.locator("#recovery").inner_text()
    log_out(page, live_server)

    page.get_by_role("link", name="Forgot your mail password?").click()
    page.get_by_label("Your mail address").fill("jane@a.example")
    page.get_by_role("button", name="Send me a reset link").click()
    page.wait_for_url(f"{live_server.url}/password-reset/sent/")
    [mail] = mailoutbox
    assert mail.to == ["jane.private@elsewhere.example"]
    link = re.search(r"http://\S+/reset/[A-Za-z0-9_-]+/", mail.body).group(0)

    page.goto(link)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password").click()
    page.wait_for_url(f"{live_server.url}/login/")
    log_in(page, live_server, "jane@a.example", NEW_PASSWORD)
    page.wait_for_url(f"{live_server.url}/me/")


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_the_page_opens_at_the_top_and_a_forms_errors_are_in_view(page, live_server, jane_mailbox, viewport):
    from mailadmin.testing import browser

    page.set_viewport_size(browser.VIEWPORTS[viewport])
    log_in(page, live_server, "jane@a.example", MAILBOX_PASSWORD)
    page.wait_for_url(f"{live_server.url}/me/")
    assert page.evaluate("() => window.scrollY") == 0  # no jump to a form
    assert page.locator("#sending-rights").get_by_text("jane@a.example").first.is_visible()
    recovery = page.locator("#recovery")
    recovery.get_by_label("Recovery address").fill("jane@elsewhere.example")
    recovery.get_by_label("Current password").fill("not my password")
    recovery.get_by_role("button", name="Save recovery address").click()
    error = page.locator("#id_recovery-current_password_error")
    error.wait_for()
    box = error.bounding_box()
    viewport_height = page.viewport_size["height"]
    assert box is not None and 0 <= box["y"] and box["y"] + box["height"] <= viewport_height
