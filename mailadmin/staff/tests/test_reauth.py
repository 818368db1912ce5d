"""The most dangerous actions want a recent password (and code) confirmation."""

from django.urls import reverse

from conftest import ACTOR_PASSWORD
from mailadmin.staff.testing import mark_session, totp_code
from users.models import Domain, Mailbox


def stale_login(client, user):
    client.post(reverse("login"), {"username": user.get_username(), "password": ACTOR_PASSWORD})
    mark_session(client, recent=False)


def test_a_password_login_counts_as_recent(client, alice, jane_mailbox):
    client.post(reverse("login"), {"username": "alice", "password": ACTOR_PASSWORD})
    assert client.get(reverse("domain-delete", args=["a.example"])).status_code == 200


def test_exporting_hashes_asks_again_but_a_plain_export_does_not(client, alice, jane_mailbox):
    stale_login(client, alice)
    plain = client.get(reverse("bulk-export"), {"what": "mailboxes"})
    assert plain.status_code == 200 and plain.streaming
    response = client.get(reverse("bulk-export"), {"what": "mailboxes", "hashes": "on"})
    assert response.status_code == 302 and response.url.startswith(reverse("security-reauth"))
    back = client.post(response.url, {"password": ACTOR_PASSWORD})
    assert back.url == reverse("bulk-export") + "?what=mailboxes&hashes=on"
    exported = b"".join(client.get(back.url).streaming_content).decode()
    assert jane_mailbox.password in exported


def test_deleting_a_domain_with_mailboxes_asks_again(client, alice, jane_mailbox):
    stale_login(client, alice)
    url = reverse("domain-delete", args=["a.example"])
    response = client.post(url, {"confirm_name": "a.example"})
    assert response.url.startswith(reverse("security-reauth"))
    assert Mailbox.objects.filter(pk=jane_mailbox.pk).exists()
    client.post(response.url, {"password": ACTOR_PASSWORD})
    assert client.post(url, {"confirm_name": "a.example"}).status_code == 302
    assert not Domain.objects.filter(name="a.example").exists()


def test_an_empty_domain_is_deleted_without_asking_again(client, alice, domain_b):
    stale_login(client, alice)
    assert client.get(reverse("domain-delete", args=["b.example"])).status_code == 200


def test_with_a_second_factor_the_confirmation_wants_a_code_too(client, alice, jane_mailbox):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client.force_login(alice)
    client.get(reverse("security-enrol"))
    key = TOTPDevice.objects.get(user=alice).bin_key
    client.post(reverse("security-enrol"), {"code": totp_code(key)})
    mark_session(client, recent=False)
    url = f"{reverse('security-reauth')}?next=/"
    response = client.post(url, {"password": ACTOR_PASSWORD})
    assert response.status_code == 200 and response.context["form"].errors["code"]
    response = client.post(url, {"password": ACTOR_PASSWORD, "code": totp_code(key, steps_ahead=1)})
    assert response.status_code == 302
    assert client.get(reverse("domain-delete", args=["a.example"])).status_code == 200
