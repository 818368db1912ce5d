"""A domain admin's whole life in a real browser (Debian's chromium through Playwright): created
by a superadmin, sets a password through the one-time link, enrols TOTP by reading the secret
from the page, logs in with a code, uses a recovery code once, loses the device and is reset
with `manage.py staff 2fa-reset`."""

import base64
import io

import pytest
from django.core.management import call_command
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import ACTOR_PASSWORD
from mailadmin.staff.testing import totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ERIN_PASSWORD = "Erin-chose-this-passw0rd"


def log_in(page, live_server, username, password):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def enter_code(page, code):
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Verify").click()


def log_out(page):
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login/")


def key_from_page(page):
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    return base64.b32decode(secret + "=" * (-len(secret) % 8))


def test_a_domain_admin_from_creation_to_a_lost_device(page, live_server, alice, domain_a, domain_b, settings):
    settings.MAILADMIN_REQUIRE_2FA = "staff"
    alice_key = TOTPDevice.objects.create(user=alice, name="phone", confirmed=True).bin_key

    # The superadmin logs in with password and code ...
    log_in(page, live_server, "alice", ACTOR_PASSWORD)
    page.wait_for_url("**/login/code/**")
    enter_code(page, totp_code(alice_key))
    page.wait_for_url(f"{live_server.url}/dashboard/")

    # ... creates erin with a one-time link and gives her a.example.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Staff", exact=True).click()
    page.get_by_role("link", name="New staff account").click()
    page.get_by_label("Username").fill("erin")
    page.get_by_label("Email").fill("erin@example.org")
    page.get_by_role("button", name="Create account").click()
    link = page.locator("#password-link").inner_text().strip()
    assert link.startswith(f"{live_server.url}/staff/welcome/")
    page.get_by_role("link", name="Done").click()
    page.get_by_label("Domain", exact=True).fill("a.example")
    page.get_by_role("button", name="Grant domain").click()
    assert page.get_by_text("erin now administers a.example.").is_visible()
    log_out(page)

    # erin chooses her password through the link.
    page.goto(link)
    page.wait_for_url("**/set-password/")
    page.get_by_label("New password", exact=True).fill(ERIN_PASSWORD)
    page.get_by_label("New password confirmation").fill(ERIN_PASSWORD)
    page.get_by_role("button", name="Set password").click()
    page.wait_for_url("**/login/")
    # The link worked once.
    page.goto(link)
    assert page.get_by_role("heading", name="This link does not work").is_visible()

    # Her first login sends her to enrolment, and nowhere else until it is done.
    log_in(page, live_server, "erin", ERIN_PASSWORD)
    page.wait_for_url("**/security/enrol/**")
    page.goto(f"{live_server.url}/domains/")
    page.wait_for_url("**/security/enrol/**")
    assert page.locator(".qr svg").is_visible()
    key = key_from_page(page)
    page.get_by_label("Code").fill(totp_code(key))
    page.get_by_role("button", name="Turn on").click()
    recovery = [code.strip() for code in page.locator("#recovery-codes code").all_inner_texts()]
    assert len(recovery) == 10
    page.get_by_role("link", name="Done").click()
    log_out(page)

    # A login with a code (the next period's: the enrolment used this one).
    log_in(page, live_server, "erin", ERIN_PASSWORD)
    page.wait_for_url("**/login/code/**")
    enter_code(page, totp_code(key, steps_ahead=1))
    page.wait_for_url(f"{live_server.url}/dashboard/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Domains", exact=True).click()
    assert page.get_by_role("link", name="a.example").is_visible()
    assert page.get_by_role("link", name="b.example").count() == 0
    log_out(page)

    # A recovery code works once ...
    log_in(page, live_server, "erin", ERIN_PASSWORD)
    enter_code(page, recovery[0])
    page.wait_for_url(f"{live_server.url}/dashboard/")
    assert page.get_by_text("You used a recovery code; 9 left.").is_visible()
    log_out(page)
    # ... and not twice.
    log_in(page, live_server, "erin", ERIN_PASSWORD)
    page.wait_for_url("**/login/code/**")
    enter_code(page, recovery[0])
    assert page.get_by_text("That code did not work.").is_visible()
    assert "/login/code/" in page.url
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login/")

    # The phone is lost: an operator resets her second factor on the server.
    out = io.StringIO()
    call_command("staff", "2fa-reset", "erin", stdout=out)
    assert "Removed erin's second factor" in out.getvalue()
    log_in(page, live_server, "erin", ERIN_PASSWORD)
    page.wait_for_url("**/security/enrol/**")
    assert key_from_page(page) != key
