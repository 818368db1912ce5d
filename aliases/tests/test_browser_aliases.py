"""Aliases in a real browser, on a desktop and a 390 px phone screen, as an admin works: type,
read the preview and the warning, confirm."""

import pytest
from playwright.sync_api import expect

from aliases import services
from aliases.models import Alias
from mailadmin.operator import Operator
from mailadmin.testing import browser
from users.models import Mailbox

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
VIEWPORTS = list(browser.VIEWPORTS)


@pytest.fixture
def admin_page(page, live_server, alice, jane_mailbox, domain_b, request):
    page.set_viewport_size(browser.VIEWPORTS[request.node.callspec.params["viewport"]])
    browser.force_login(page, live_server.url, alice)
    return page


def preview(page):
    return page.locator("#live-preview")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_new_alias_shows_delivery_and_sending_and_asks_only_for_the_hazard(admin_page, live_server, jane_mailbox, domain_b, viewport):
    page = admin_page
    Mailbox.objects.create(domain=domain_b, email="kim@b.example", password=jane_mailbox.password)
    page.goto(f"{live_server.url}/aliases/new/")
    expect(preview(page)).to_contain_text("Type the address")
    page.get_by_label("Address").fill("sales@a.example")
    expect(preview(page)).to_contain_text("Type at least one destination")  # the preview stays, with a reason
    page.get_by_label("Destinations").fill("jane@a.example")
    expect(preview(page)).to_contain_text("Mail to sales@a.example goes to")
    expect(preview(page)).to_contain_text("the mailbox jane@a.example")
    expect(preview(page)).to_contain_text("jane@a.example may also send as sales@a.example")
    page.get_by_label("Destinations").fill("jane@a.example\nkim@b.example")
    expect(preview(page)).to_contain_text("kim@b.example may also send as")
    page.get_by_role("button", name="Save").click()
    # A mailbox of another domain gains a sending right: the hazard is said, nothing saved yet.
    warning = page.get_by_role("alert")
    assert "kim@b.example is a mailbox outside a.example" in warning.inner_text()
    assert not Alias.objects.filter(source="sales@a.example").exists()
    page.get_by_role("button", name="Save anyway").click()
    page.wait_for_url(f"{live_server.url}/aliases/?q=sales%40a.example")
    assert sorted(Alias.objects.filter(source="sales@a.example").values_list("destination", flat=True)) == [
        "jane@a.example", "kim@b.example",
    ]
    row = page.get_by_role("row").filter(has_text="sales@a.example")
    assert "jane@a.example, kim@b.example" in row.inner_text()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_one_form_adds_and_removes_destinations_without_a_confirmation_for_a_harmless_change(admin_page, live_server, viewport):
    page = admin_page
    services.create_aliases(Operator.command_line(), "team@a.example", ["old@elsewhere.example"])
    page.goto(f"{live_server.url}/aliases/")
    page.get_by_role("link", name="Edit team@a.example").click()
    page.get_by_label("Destinations").fill("new@elsewhere.example\njane@a.example")
    expect(preview(page)).to_contain_text("new@elsewhere.example, on another server")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"{live_server.url}/aliases/?q=team%40a.example")
    assert "2 destination(s) added, 1 removed" in page.locator(".messages").inner_text()
    assert sorted(Alias.objects.filter(source="team@a.example").values_list("destination", flat=True)) == [
        "jane@a.example", "new@elsewhere.example",
    ]


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_catch_all_is_confirmed_as_a_catch_all(admin_page, live_server, viewport):
    page = admin_page
    page.goto(f"{live_server.url}/domains/a.example/")
    page.get_by_role("link", name="New alias").click()
    assert page.get_by_label("Address").input_value() == ""  # no @a.example filled in for you
    page.get_by_label("Address").fill("@a.example")
    page.get_by_label("Destinations").fill("jane@a.example")
    page.get_by_role("button", name="Save").click()
    assert "is a catch-all" in page.get_by_role("alert").inner_text()
    assert not Alias.objects.exists()
    page.get_by_role("button", name="Save anyway").click()
    page.wait_for_url(f"{live_server.url}/aliases/?q=%40a.example")
    assert Alias.objects.filter(source="@a.example").exists()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_mailbox_at_an_alias_address_is_warned_about_before_it_is_created(admin_page, live_server, viewport):
    page = admin_page
    services.create_aliases(Operator.command_line(), "info@a.example", ["boss@elsewhere.example"])
    page.goto(f"{live_server.url}/mailboxes/new/")
    page.get_by_label("Address").fill("info")
    page.get_by_label("Domain").select_option("a.example")
    page.get_by_role("button", name="Create mailbox").click()
    assert "will not arrive in the new mailbox" in page.get_by_role("alert").inner_text()
    assert not Mailbox.objects.filter(email="info@a.example").exists()
    page.get_by_role("button", name="Create anyway").click()
    page.locator(".secret").wait_for()  # the generated password, shown once
    assert Mailbox.objects.filter(email="info@a.example").exists()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_password_fields_show_only_when_typing_one_and_a_typed_password_is_used(admin_page, live_server, viewport):
    page = admin_page
    page.goto(f"{live_server.url}/mailboxes/new/")
    assert page.get_by_role("radio", name="Generate a password (shown once)").is_checked()
    assert not page.get_by_label("New password", exact=True).is_visible()
    page.get_by_role("radio", name="Type a password").check()
    page.get_by_label("Address").fill("typed")
    page.get_by_label("New password", exact=True).fill("typed-by-hand-Passw0rd")
    page.get_by_label("New password again").fill("typed-by-hand-Passw0rd")
    page.get_by_role("button", name="Create mailbox").click()
    page.wait_for_url(f"{live_server.url}/mailboxes/*/")
    assert Mailbox.objects.get(email="typed@a.example").check_password("typed-by-hand-Passw0rd")
