"""Warnings a person reads before a mistake is saved, on the pages where the mistake is made."""

from django.urls import reverse

from aliases import services
from aliases.models import Alias
from mailadmin.operator import Operator
from users.models import Mailbox

PASSWORD = "a-long-enough-Passw0rd"


def new_mailbox(client, local_part, **extra):
    data = {"local_part": local_part, "domain": "a.example", "quota": "0", "password_mode": "generate", **extra}
    return client.post(reverse("mailbox-create"), data)


def test_a_mailbox_at_an_alias_address_is_warned_about_and_created_only_when_confirmed(client, bob, domain_a):
    services.create_aliases(Operator.command_line(), "info@a.example", ["boss@elsewhere.example"])
    client.force_login(bob)
    first = new_mailbox(client, "info")
    assert first.status_code == 200 and not Mailbox.objects.filter(email="info@a.example").exists()
    page = first.content.decode()
    assert "info@a.example is already an alias that forwards to boss@elsewhere.example" in page
    assert "will not arrive in the new mailbox" in page
    confirmed = new_mailbox(client, "info", confirmed="info@a.example")
    assert confirmed.status_code == 200  # the generated password, shown once
    assert Mailbox.objects.filter(email="info@a.example").exists()


def test_a_mailbox_at_a_free_address_needs_no_confirmation(client, bob, domain_a):
    client.force_login(bob)
    response = new_mailbox(client, "fresh", password_mode="type", password1=PASSWORD, password2=PASSWORD)
    assert response.status_code == 302
    assert Mailbox.objects.filter(email="fresh@a.example").exists()


def test_a_typed_password_is_never_thrown_away_for_a_generated_one(client, bob, domain_a):
    client.force_login(bob)
    response = new_mailbox(client, "fresh", password1=PASSWORD, password2=PASSWORD)
    assert response.status_code == 200
    assert "You typed a password, but “Generate a password” is chosen" in " ".join(
        response.context["form"].errors["password_mode"]
    )
    assert not Mailbox.objects.filter(email="fresh@a.example").exists()


def test_new_alias_from_a_domain_page_suggests_an_address_but_fills_in_none(client, bob, domain_a):
    client.force_login(bob)
    detail = client.get(reverse("domain-detail", args=["a.example"])).content.decode()
    assert "source=@" not in detail
    form_page = client.get(reverse("alias-create"), {"domain": "a.example"})
    assert form_page.context["form"]["source"].value() in (None, "")
    assert 'placeholder="info@a.example"' in form_page.content.decode()
    # Only destinations typed: no catch-all is made, the address is asked for.
    response = client.post(reverse("alias-create"), {"source": "", "destinations": "x@y.example"})
    assert response.context["form"].errors["source"]
    assert not Alias.objects.exists()


def test_the_command_line_prints_the_warning_after_adding_the_mailbox(domain_a):
    import io

    from django.core.management import call_command

    services.create_aliases(Operator.command_line(), "info@a.example", ["boss@elsewhere.example"])
    err = io.StringIO()
    call_command("mailbox", "add", "info@a.example", "--generate", stdout=io.StringIO(), stderr=err)
    assert "Warning: info@a.example is already an alias that forwards to boss@elsewhere.example" in err.getvalue()
