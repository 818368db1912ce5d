"""Usage bars on a 390 px phone, and what a screen reader gets (the words, not a bare bar)."""

import pytest

from conftest import ACTOR_PASSWORD, MAILBOX_PASSWORD
from users.models import Mailbox, QuotaUsage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GIB = 1024**3
PHONE = {"width": 390, "height": 844}


def log_in(page, live_server, username, password):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def page_width(page):
    return page.evaluate("document.documentElement.scrollWidth")


@pytest.fixture
def nearly_full_jane(jane_mailbox):
    Mailbox.objects.filter(pk=jane_mailbox.pk).update(quota=GIB)
    QuotaUsage.objects.create(mailbox_id="jane@a.example", bytes=GIB * 15 // 16, messages=40)
    yield jane_mailbox
    QuotaUsage.objects.all().delete()


def test_the_mailbox_user_sees_a_bar_and_the_words_on_a_phone(page, live_server, nearly_full_jane):
    page.set_viewport_size(PHONE)
    log_in(page, live_server, "jane@a.example", MAILBOX_PASSWORD)
    page.wait_for_url(f"{live_server.url}/me/")
    usage = page.locator("#account-usage")
    assert usage.inner_text().startswith("960 MiB of 1 GiB (93 %)")
    meter = usage.locator("meter")
    box = meter.bounding_box()
    assert box["width"] > 50 and box["x"] + box["width"] <= PHONE["width"]
    assert page_width(page) <= PHONE["width"]
    # The bar is hidden from assistive technology; the figures beside it are read instead.
    assert meter.get_attribute("aria-hidden") == "true"
    assert "960 MiB of 1 GiB (93 %)" in page.locator("main").inner_text()


def test_the_admin_pages_with_bars_fit_a_phone(page, live_server, bob, nearly_full_jane):
    page.set_viewport_size(PHONE)
    log_in(page, live_server, "bob", ACTOR_PASSWORD)
    page.wait_for_url(f"{live_server.url}/dashboard/")
    assert "jane@a.example" in page.locator("#quota-nearly-full").inner_text()
    page.locator("#quota-nearly-full").get_by_role("link", name="jane@a.example").click()
    page.wait_for_url(f"{live_server.url}/mailboxes/{nearly_full_jane.pk}/")
    assert "960 MiB of 1 GiB (93 %)" in page.locator("#mailbox-usage").inner_text()
    assert page_width(page) <= PHONE["width"]
    for path in ("/mailboxes/?sort=-percent", "/domains/", "/dashboard/"):
        page.goto(live_server.url + path)
        # Wide tables scroll inside their own box; the page itself never does.
        assert page_width(page) <= PHONE["width"], path
