"""The sending pages: a mailbox's rights, the lookup box, the server's configuration."""

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from aliases import sender_rights
from aliases.models import Alias
from users.models import Mailbox

HASH = "{PLAIN}unused"


@pytest.fixture
def rows(domain_a, domain_b, jane_mailbox):
    kim = Mailbox.objects.create(domain=domain_b, email="kim@b.example", password=HASH)
    Alias.objects.create(domain=domain_a, source="info@a.example", destination="jane@a.example")
    Alias.objects.create(domain=domain_a, source="info@a.example", destination="kim@b.example")
    Alias.objects.create(domain=domain_b, source="@b.example", destination="jane@a.example")
    return kim


def logged_in(client, user):
    client.force_login(user)
    return client


def test_a_mailbox_page_lists_its_rights_with_the_reason(client, bob, rows, jane_mailbox):
    page = logged_in(client, bob).get(reverse("mailbox-sending", args=[jane_mailbox.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "info@a.example: alias info@a.example; also allowed: kim@b.example" in text
    assert "any address at b.example that has no row of its own" in text
    assert "jane+*@a.example" in text


def test_a_domain_admin_gets_404_for_another_domain_s_mailbox(client, carol, rows, jane_mailbox):
    assert logged_in(client, carol).get(reverse("mailbox-sending", args=[jane_mailbox.pk])).status_code == 404


def test_a_mailbox_that_owns_nothing_says_so(client, alice, domain_a, settings):
    mailbox = Mailbox.objects.create(domain=domain_a, email="new@a.example", password=HASH)
    settings.MAILADMIN_SENDER_LOGIN_QUERY = "SELECT destination FROM virtual_aliases WHERE source='%s'"
    page = logged_in(client, alice).get(reverse("mailbox-sending", args=[mailbox.pk]))
    assert "No key lists new@a.example" in page.content.decode()


def test_the_lookup_shows_owners_keys_and_postfix_reply(client, bob, rows):
    page = logged_in(client, bob).get(
        reverse("sending-lookup"), {"address": "Info+x@A.example", "login": "kim@b.example"}
    )
    text = page.content.decode()
    assert "<strong>jane@a.example</strong>, <strong>kim@b.example</strong>" in text
    assert "info+x@a.example, had no rows" not in text  # one skipped key, no trailing comma
    assert "info+x@a.example had no rows; info@a.example (the address without its extension) answered" in text
    assert "250 2.1.5 Ok" in text


def test_the_lookup_gives_postfix_s_rejection(client, alice, rows):
    page = logged_in(client, alice).get(reverse("sending-lookup"), {"address": "info@a.example", "login": "x@b.example"})
    assert "553 5.7.1 &lt;info@a.example&gt;: Sender address rejected: not owned by user x@b.example" in page.content.decode()


def test_the_lookup_refuses_a_domain_the_admin_does_not_manage(client, carol, rows):
    page = logged_in(client, carol).get(reverse("sending-lookup"), {"address": "info@a.example"})
    text = page.content.decode()
    assert "a.example is not one of your domains." in text
    assert "jane@a.example" not in text


@pytest.mark.parametrize("disguised", ["a.example!info", '"info"@a.example', "@relay.example:info@a.example"])
def test_a_rewritten_address_is_scoped_by_the_domain_postfix_looks_up(client, carol, rows, disguised):
    text = logged_in(client, carol).get(reverse("sending-lookup"), {"address": disguised}).content.decode()
    assert "a.example is not one of your domains." in text
    assert "jane@a.example" not in text


def test_the_lookup_answers_outside_addresses_and_the_null_sender(client, carol, rows):
    client = logged_in(client, carol)
    assert "Nobody may send as this address." in client.get(reverse("sending-lookup"), {"address": "x@outside.example"}).content.decode()
    assert "never checked" in client.get(reverse("sending-lookup"), {"address": "<>"}).content.decode()


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_the_config_page_shows_every_file_with_a_placeholder_password(client, alice, settings):
    # A new dict: the live connection shares the old one and must keep its real password.
    settings.DATABASES = {**settings.DATABASES, "default": {**settings.DATABASES["default"], "PASSWORD": "the-real-secret"}}
    text = logged_in(client, alice).get(reverse("postfix-config")).content.decode()
    for name in ("mysql-virtual-mailbox-domains.cf", "mysql-virtual-mailbox-maps.cf", "mysql-virtual-alias-maps.cf",
                 "mysql-email2email.cf", "mysql-sender-login-maps.cf", "dovecot-sql.conf.ext"):
        assert name in text
    assert "UNION SELECT destination FROM virtual_aliases WHERE source=&#x27;%s&#x27;" in text
    assert "quota_rule" in text and "password_query" in text
    assert "REPLACE-WITH-THE-DATABASE-PASSWORD" in text
    assert "the-real-secret" not in text


def test_the_config_page_follows_the_configured_query(client, alice, settings):
    settings.MAILADMIN_SENDER_LOGIN_QUERY = "own"
    text = logged_in(client, alice).get(reverse("postfix-config")).content.decode()
    assert "mysql-sender-login-maps-own.cf" in text and "UNION" not in text


def test_the_preview_partial_renders_gains_and_losses(rows, domain_a):
    preview = sender_rights.preview_create("@a.example", ["kim@b.example"])
    html = render_to_string("aliases/_sending_preview.html", {"sending_preview": preview})
    assert 'class="added">After this, kim@b.example may also send as any address at a.example' in html
    quiet = render_to_string("aliases/_sending_preview.html", {"sending_preview": sender_rights.SendingPreview()})
    assert "Nobody gains or loses a sender address." in quiet
    assert render_to_string("aliases/_sending_preview.html", {}).strip() == ""


def test_the_lookup_says_which_rewrite_postfix_applied(client, alice, rows, settings):
    settings.MAILADMIN_LOCAL_DOMAINS = ["localhost"]
    page = logged_in(client, alice).get(
        reverse("sending-lookup"), {"address": "info%a.example@localhost", "login": "jane@a.example"}
    )
    text = page.content.decode()
    assert "Postfix looks up &lt;info%a.example@localhost&gt; as info@a.example" in text
    assert "info%a.example is info@a.example (allow_percent_hack)" in text
    assert "250 2.1.5 Ok" in text
