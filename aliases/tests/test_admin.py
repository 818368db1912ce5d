import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from aliases.models import Alias
from mailadmin.models import AuditEntry

ALIASES = reverse("admin:aliases_alias_changelist")


@pytest.fixture
def aliases(domain_a, domain_b):
    return [
        Alias.objects.create(domain=domain_a, source="info@a.example", destination="jane@a.example"),
        Alias.objects.create(domain=domain_a, source="@a.example", destination="jane@a.example"),
        Alias.objects.create(domain=domain_b, source="sales@b.example", destination="kim@elsewhere.example"),
    ]


def test_it_lists_searches_and_filters_aliases(client, alice, aliases):
    client.force_login(alice)
    page = client.get(ALIASES).content.decode()
    assert all(alias.source in page for alias in aliases)
    found = client.get(ALIASES, {"q": "kim@"}).content.decode()
    assert "sales@b.example" in found and "info@a.example" not in found
    catch_alls = client.get(ALIASES, {"kind": "catch-all"}).content.decode()
    assert "@a.example</" in catch_alls and "info@a.example" not in catch_alls


def test_a_domain_admin_sees_only_their_aliases(client, bob, aliases):
    bob.user_permissions.add(Permission.objects.get(codename="view_alias"))
    client.force_login(bob)
    page = client.get(ALIASES).content.decode()
    assert "info@a.example" in page and "sales@b.example" not in page


def test_adding_an_alias_in_the_admin_validates_through_the_model(client, alice, domain_a):
    client.force_login(alice)
    add = reverse("admin:aliases_alias_add")
    same = client.post(add, {"domain": domain_a.pk, "source": "x@a.example", "destination": "X@a.example"})
    assert same.status_code == 200 and not Alias.objects.exists()
    client.post(add, {"domain": domain_a.pk, "source": "Y@A.example", "destination": "jane@a.example"})
    assert Alias.objects.filter(source="y@a.example").exists()
    assert AuditEntry.objects.get(object_type="alias").via == "django-admin"


def test_deleting_aliases_confirms_with_a_count(client, alice, aliases):
    client.force_login(alice)
    selected = {"action": "delete_with_summary", "_selected_action": [aliases[0].pk, aliases[1].pk]}
    assert "2 aliases" in client.post(ALIASES, selected).content.decode()
    assert Alias.objects.count() == 3
    client.post(ALIASES, {**selected, "confirmed": "yes"})
    assert list(Alias.objects.values_list("source", flat=True)) == ["sales@b.example"]
