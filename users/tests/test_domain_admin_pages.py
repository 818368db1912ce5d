"""Domain admins: a superadmin grants and revokes domains on a staff account's page
(mailadmin/staff); the former /admins/ page leads there."""

from django.urls import reverse

from users.models import DomainAdminGrant


def test_a_superadmin_gives_a_staff_account_a_domain(client, alice, dave, domain_a):
    client.force_login(alice)
    response = client.post(reverse("staff-grant", args=[dave.pk]), {"domain": "A.Example"})
    assert response.status_code == 302
    assert DomainAdminGrant.objects.filter(user=dave, domain=domain_a).exists()
    client.force_login(dave)
    assert [d.name for d in client.get(reverse("domain-list")).context["rows"]] == ["a.example"]


def test_a_repeated_grant_and_an_unknown_domain_are_field_errors(client, alice, bob, domain_a):
    client.force_login(alice)
    response = client.post(reverse("staff-grant", args=[bob.pk]), {"domain": "a.example"})
    assert response.context["grant_form"].errors["domain"] == ["bob already administers a.example."]
    response = client.post(reverse("staff-grant", args=[bob.pk]), {"domain": "nowhere.example"})
    assert "There is no domain nowhere.example" in response.context["grant_form"].errors["domain"][0]


def test_superadmins_are_not_given_domains(client, alice, bob, domain_a):
    client.force_login(alice)
    response = client.post(reverse("staff-grant", args=[alice.pk]), {"domain": "a.example"})
    assert "superadmin" in response.context["grant_form"].errors["domain"][0]
    assert not DomainAdminGrant.objects.filter(user=alice).exists()


def test_removing_a_grant_takes_the_domain_away(client, alice, bob, domain_a):
    grant = DomainAdminGrant.objects.get(user=bob)
    client.force_login(alice)
    assert client.post(reverse("staff-revoke", args=[bob.pk, grant.pk])).status_code == 302
    client.force_login(bob)
    assert client.get(reverse("domain-detail", args=["a.example"])).status_code == 404


def test_the_old_page_leads_to_the_staff_accounts(client, alice):
    client.force_login(alice)
    assert client.get(reverse("domain-admins")).url == reverse("staff-list")
