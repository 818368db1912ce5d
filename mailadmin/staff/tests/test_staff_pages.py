"""Superadmins manage staff accounts on the panel; every change is audited."""

import re

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from conftest import ACTOR_PASSWORD
from mailadmin.models import AuditEntry
from mailadmin.operator import NotPermitted, Operator
from mailadmin.staff import services
from mailadmin.staff.testing import log_in_recently, mark_session
from users.models import DomainAdminGrant

NEW_PASSWORD = "a-new-admins-own-Passw0rd"


def entries(**filters):
    return list(AuditEntry.objects.filter(object_type="staff account", **filters).order_by("id"))


def test_a_new_admin_sets_their_own_password_through_a_one_time_link(client, alice):
    log_in_recently(client, alice)
    response = client.post(reverse("staff-create"), {"username": "erin", "email": "erin@example.org", "password_mode": "link"})
    assert "no-store" in response["Cache-Control"]
    link = response.context["link"]
    erin = User.objects.get(username="erin")
    assert erin.is_staff and not erin.is_superuser and not erin.has_usable_password()
    [created] = entries(action=AuditEntry.CREATE)
    assert created.actor == "alice" and created.changes["email"] == [None, "erin@example.org"]

    visitor = type(client)()
    path = link.split("testserver", 1)[1]
    response = visitor.get(path)
    # The token leaves the URL before the form is shown (no Referer can carry it).
    assert response.status_code == 302 and "set-password" in response.url
    form_page = visitor.get(response.url)
    assert form_page.context["validlink"]
    response = visitor.post(response.url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302 and response.url == reverse("login")
    erin.refresh_from_db()
    assert erin.check_password(NEW_PASSWORD) and erin.password.startswith("argon2$argon2id$")
    assert entries(action=AuditEntry.UPDATE)[-1].changes == {"password": "password changed"}
    # Used once: the link is dead now.
    again = type(client)().get(path, follow=True)
    assert not again.context["validlink"]


def test_a_generated_password_is_shown_once(client, alice):
    log_in_recently(client, alice)
    response = client.post(reverse("staff-create"), {"username": "erin", "password_mode": "generate"})
    password = response.context["password"]
    assert User.objects.get(username="erin").check_password(password)


def test_a_taken_username_is_a_form_error(client, alice, bob):
    client.force_login(alice)
    response = client.post(reverse("staff-create"), {"username": "bob", "password_mode": "link"})
    assert response.context["form"].errors["username"]


def test_a_superadmin_edits_name_and_email(client, alice, bob):
    client.force_login(alice)
    client.post(reverse("staff-detail", args=[bob.pk]), {"first_name": "Bob", "last_name": "Builder", "email": "b@x.example"})
    bob.refresh_from_db()
    assert (bob.first_name, bob.email) == ("Bob", "b@x.example")
    assert entries()[-1].changes == {"first_name": ["", "Bob"], "last_name": ["", "Builder"], "email": ["", "b@x.example"]}


def test_granting_and_revoking_a_domain_is_audited(client, alice, dave, domain_a):
    client.force_login(alice)
    assert client.post(reverse("staff-grant", args=[dave.pk]), {"domain": "A.Example"}).status_code == 302
    grant = DomainAdminGrant.objects.get(user=dave, domain=domain_a)
    client.post(reverse("staff-revoke", args=[dave.pk, grant.pk]))
    assert not DomainAdminGrant.objects.filter(user=dave).exists()
    actions = list(AuditEntry.objects.filter(object_type="domain admin").order_by("id").values_list("action", "actor", "domain"))
    assert actions == [("create", "alice", "a.example"), ("delete", "alice", "a.example")]


def test_a_repeated_grant_and_an_unknown_domain_are_field_errors(client, alice, bob):
    client.force_login(alice)
    response = client.post(reverse("staff-grant", args=[bob.pk]), {"domain": "a.example"})
    assert response.context["grant_form"].errors["domain"] == ["bob already administers a.example."]
    response = client.post(reverse("staff-grant", args=[bob.pk]), {"domain": "nowhere.example"})
    assert "There is no domain nowhere.example" in response.context["grant_form"].errors["domain"][0]


def test_deactivating_ends_the_accounts_sessions_at_once(client, alice, bob):
    bobs = type(client)()
    bobs.post(reverse("login"), {"username": "bob", "password": ACTOR_PASSWORD})
    assert bobs.get(reverse("dashboard")).status_code == 200
    client.force_login(alice)
    client.post(reverse("staff-deactivate", args=[bob.pk]))
    assert bobs.get(reverse("dashboard")).status_code == 302
    assert bobs.post(reverse("login"), {"username": "bob", "password": ACTOR_PASSWORD}).status_code == 200
    assert entries()[-1].changes == {"is_active": [True, False]}


def test_deleting_an_account_takes_its_grants(client, alice, bob):
    client.force_login(alice)
    assert client.post(reverse("staff-delete", args=[bob.pk])).status_code == 302
    assert not User.objects.filter(username="bob").exists()
    assert not DomainAdminGrant.objects.exists()
    assert entries()[-1].action == AuditEntry.DELETE


def test_the_last_superadmin_cannot_be_deactivated_demoted_or_deleted(client, alice):
    operator = Operator.for_user(alice)
    for change in (
        lambda: services.set_active(operator, alice, False),
        lambda: services.set_superadmin(operator, alice, False),
        lambda: services.delete_staff(operator, alice),
    ):
        with pytest.raises(Exception, match="last active superadmin"):
            change()
    alice.refresh_from_db()
    assert alice.is_active and alice.is_superuser


def test_making_a_superadmin_asks_for_the_password_again(client, alice, bob):
    client.post(reverse("login"), {"username": "alice", "password": ACTOR_PASSWORD})
    mark_session(client, recent=False)
    url = reverse("staff-superadmin", args=[bob.pk])
    response = client.post(url)
    assert response.status_code == 302 and response.url.startswith(reverse("security-reauth"))
    bob.refresh_from_db()
    assert not bob.is_superuser
    response = client.post(response.url, {"password": "wrong"})
    assert response.context["form"].errors["password"]
    response = client.post(f"{reverse('security-reauth')}?next={url}", {"password": ACTOR_PASSWORD})
    assert response.url == url
    client.post(url)
    bob.refresh_from_db()
    assert bob.is_superuser and not DomainAdminGrant.objects.filter(user=bob).exists()
    assert entries()[-1].changes == {"is_superuser": [False, True]}


def test_the_reauth_page_never_sends_you_elsewhere(client, alice):
    client.force_login(alice)
    response = client.post(f"{reverse('security-reauth')}?next=https://evil.example/", {"password": ACTOR_PASSWORD})
    assert response.url == reverse("home")


def test_the_old_domain_admins_page_leads_to_the_staff_list(client, alice):
    client.force_login(alice)
    assert client.get("/admins/").url == reverse("staff-list")


def test_the_staff_list_shows_roles_and_domains(client, alice, bob, carol):
    client.force_login(alice)
    page = client.get(reverse("staff-list")).content.decode()
    assert re.search(r"bob</a></td>\s*<td></td>\s*<td>domain admin</td>\s*<td>a.example</td>", page)


def test_mailbox_shadow_accounts_are_not_staff_accounts(client, alice, jane):
    client.force_login(alice)
    assert client.get(reverse("staff-detail", args=[jane.pk])).status_code == 404


def test_the_django_admin_offers_no_user_pages(client, alice):
    client.force_login(alice)
    assert client.get("/django-admin/auth/user/").status_code == 404


def test_only_a_superadmin_operator_may_change_staff_accounts(bob, dave, domain_a):
    operator = Operator.for_user(bob)
    for change in (
        lambda: services.grant_domain(operator, dave, domain_a),
        lambda: services.set_superadmin(operator, bob, True),
        lambda: services.create_staff(operator, "mallory"),
        lambda: services.remove_second_factor(operator, dave),
    ):
        with pytest.raises(NotPermitted):
            change()
    assert not User.objects.filter(username="mallory").exists()
    assert not DomainAdminGrant.objects.filter(user=dave).exists()
