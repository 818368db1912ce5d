from django.urls import reverse

from users.models import DomainAdminGrant


def test_a_superadmin_gives_a_staff_account_a_domain(client, alice, dave, domain_a):
    client.force_login(alice)
    response = client.post(reverse("domain-admins"), {"user": dave.pk, "domain": "A.Example"})
    assert response.status_code == 302
    assert DomainAdminGrant.objects.filter(user=dave, domain=domain_a).exists()
    client.force_login(dave)
    assert [d.name for d in client.get(reverse("domain-list")).context["rows"]] == ["a.example"]


def test_a_repeated_grant_and_an_unknown_domain_are_field_errors(client, alice, bob, domain_a):
    client.force_login(alice)
    response = client.post(reverse("domain-admins"), {"user": bob.pk, "domain": "a.example"})
    assert response.context["form"].non_field_errors() == ["bob already administers a.example."]
    response = client.post(reverse("domain-admins"), {"user": bob.pk, "domain": "nowhere.example"})
    assert "There is no domain nowhere.example" in response.context["form"].errors["domain"][0]


def test_superadmins_are_not_offered_as_domain_admins(client, alice, bob):
    client.force_login(alice)
    response = client.post(reverse("domain-admins"), {"user": alice.pk, "domain": "a.example"})
    assert "user" in response.context["form"].errors


def test_removing_a_grant_takes_the_domain_away(client, alice, bob, domain_a):
    grant = DomainAdminGrant.objects.get(user=bob)
    client.force_login(alice)
    assert client.post(reverse("domain-admin-remove", args=[grant.pk])).status_code == 302
    client.force_login(bob)
    assert client.get(reverse("domain-detail", args=["a.example"])).status_code == 404
