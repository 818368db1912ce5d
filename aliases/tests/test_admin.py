import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from aliases.models import Alias
from conftest import admin_search_shapes
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


# --- Search: two prefix lookups (mailadmin.admin_search) -------------------------------------


def _listed(page, alias):
    """How many rows of the change list are this alias (by their selection checkbox)."""
    return page.count(f'value="{alias.pk}" class="action-select"')


def test_a_search_finds_aliases_by_either_side_and_lists_each_once(client, alice, domain_a, domain_b):
    client.force_login(alice)
    both = Alias.objects.create(domain=domain_a, source="sam@a.example", destination="sam@elsewhere.example")
    by_source = Alias.objects.create(domain=domain_a, source="sammy@a.example", destination="jane@a.example")
    by_destination = Alias.objects.create(domain=domain_b, source="info@b.example", destination="samuel@c.example")
    other = Alias.objects.create(domain=domain_b, source="tom@b.example", destination="tom@c.example")
    page = client.get(ALIASES, {"q": "SAM"}).content.decode()
    assert [_listed(page, alias) for alias in (both, by_source, by_destination, other)] == [1, 1, 1, 0]
    assert "3 aliases" in page


def test_a_search_of_several_words_wants_each_word_at_the_start_of_a_side(client, alice, domain_a):
    client.force_login(alice)
    wanted = Alias.objects.create(domain=domain_a, source="sales@a.example", destination="kim@c.example")
    half = Alias.objects.create(domain=domain_a, source="sales2@a.example", destination="tom@c.example")
    page = client.get(ALIASES, {"q": "sales kim"}).content.decode()
    assert _listed(page, wanted) == 1 and _listed(page, half) == 0


def test_a_domain_admin_searching_finds_only_their_domains_aliases(client, bob, domain_a, domain_b):
    bob.user_permissions.add(Permission.objects.get(codename="view_alias"))
    client.force_login(bob)
    own = Alias.objects.create(domain=domain_a, source="info@a.example", destination="kim@c.example")
    foreign = Alias.objects.create(domain=domain_b, source="kim@b.example", destination="kim@c.example")
    page = client.get(ALIASES, {"q": "kim"}).content.decode()
    assert _listed(page, own) == 1 and _listed(page, foreign) == 0
    assert "1 alias" in page


def test_percent_and_underscore_in_a_search_match_only_themselves(client, alice, domain_a):
    client.force_login(alice)
    underscore = Alias.objects.create(domain=domain_a, source="a_b@a.example", destination="jane@a.example")
    lookalike = Alias.objects.create(domain=domain_a, source="axb@a.example", destination="jane@a.example")
    percent = Alias.objects.create(domain=domain_a, source="list@a.example", destination="100%done@c.example")
    page = client.get(ALIASES, {"q": "a_"}).content.decode()
    assert _listed(page, underscore) == 1 and _listed(page, lookalike) == 0
    page = client.get(ALIASES, {"q": "100%"}).content.decode()
    assert _listed(page, percent) == 1
    page = client.get(ALIASES, {"q": "%"}).content.decode()
    assert not any(_listed(page, alias) for alias in (underscore, lookalike, percent))


def test_a_search_with_more_matches_than_it_lists_says_so_and_lists_that_many_in_order(
    client, alice, domain_a, monkeypatch
):
    from mailadmin import admin_pagination

    monkeypatch.setattr(admin_pagination, "CAP", 3)
    client.force_login(alice)
    # By source order: b-1 and c-1 (found by their destination) come before t-1 ... t-4.
    rows = [("t-1", "x"), ("t-2", "x"), ("t-3", "x"), ("t-4", "x"), ("b-1", "t-dest"), ("c-1", "t-dest")]
    aliases = {
        source: Alias.objects.create(domain=domain_a, source=f"{source}@a.example", destination=f"{destination}@c.example")
        for source, destination in rows
    }
    page = client.get(ALIASES, {"q": "t"}).content.decode()
    assert "more than 3 aliases" in page and "More than 3 aliases match; 3 of them are listed." in page
    assert {source for source, alias in aliases.items() if _listed(page, alias)} == {"b-1", "c-1", "t-1"}


def test_a_search_with_more_matches_than_it_lists_reads_them_in_one_query_where_the_database_can(
    db, domain_a
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from mailadmin.admin_search import prefix_matching_ids

    rows = [("t-1", "x"), ("t-2", "x"), ("t-3", "x"), ("t-4", "x"), ("b-1", "t-dest"), ("c-1", "t-dest"), ("t-5", "t-dest")]
    aliases = {
        source: Alias.objects.create(domain=domain_a, source=f"{source}@a.example", destination=f"{destination}@c.example")
        for source, destination in rows
    }
    with CaptureQueriesContext(connection) as capped:
        ids, complete = prefix_matching_ids(Alias.objects.all(), ["source", "destination"], ["t"], 3)
    assert not complete and list(ids) == [aliases["b-1"].pk, aliases["c-1"].pk, aliases["t-1"].pk]
    with CaptureQueriesContext(connection) as whole:
        ids, complete = prefix_matching_ids(Alias.objects.all(), ["source", "destination"], ["t"], 7)
    # t-5 matches by both sides and is listed once.
    assert complete and sorted(ids) == sorted(alias.pk for alias in aliases.values())
    one_query = connection.features.supports_slicing_ordering_in_compound
    assert (len(capped), len(whole)) == ((1, 1) if one_query else (3, 2))


def test_an_action_on_every_match_of_a_long_search_reaches_them_all(client, alice, domain_a, monkeypatch):
    from mailadmin import admin_pagination

    monkeypatch.setattr(admin_pagination, "CAP", 2)
    client.force_login(alice)
    old = [Alias.objects.create(domain=domain_a, source=f"old{n}@a.example", destination="jane@a.example") for n in range(4)]
    kept = Alias.objects.create(domain=domain_a, source="new@a.example", destination="jane@a.example")
    # The rows of the page ticked, and "Select all" across the pages, as the list's form sends it.
    selected = {"action": "delete_with_summary", "select_across": "1", "_selected_action": [old[0].pk, old[1].pk]}
    assert "4 aliases" in client.post(ALIASES + "?q=old", {**selected, "index": "0"}).content.decode()
    client.post(ALIASES + "?q=old", {**selected, "confirmed": "yes"})
    assert list(Alias.objects.values_list("pk", flat=True)) == [kept.pk]


def test_a_search_for_a_character_the_tables_cannot_hold_finds_nothing(client, alice, aliases):
    client.force_login(alice)
    response = client.get(ALIASES, {"q": "\N{GRINNING FACE}"})
    assert response.status_code == 200 and "0 aliases" in response.content.decode()


def test_searches_in_turn_each_list_their_own_aliases_page_by_page(client, alice, domain_a, monkeypatch):
    from django.db import connection

    from mailadmin import kept_statements

    monkeypatch.setattr(kept_statements, "_statements", {})
    client.force_login(alice)
    made = {}
    for source, destination in (
        [(f"red{n:02}", "x") for n in range(30)] + [(f"blue{n:02}", "y") for n in range(30)]
        + [(f"m{n}", "red-m") for n in range(5)]
    ):
        made[source] = Alias.objects.create(domain=domain_a, source=f"{source}@a.example", destination=f"{destination}@c.example")

    def listed(query):
        page = client.get(ALIASES, query).content.decode()
        return [source for source, alias in made.items() if _listed(page, alias)], page

    # In the list's order (by source): m0 … m4, found by their destination, before red00 … red29.
    red, page = listed({"q": "red"})
    assert sorted(red) == [f"m{n}" for n in range(5)] + [f"red{n:02}" for n in range(20)] and "35 aliases" in page
    blue, page = listed({"q": "blue"})
    assert sorted(blue) == [f"blue{n:02}" for n in range(25)] and "30 aliases" in page
    # The last pages are read from the end, each with its own words.
    assert sorted(listed({"q": "blue", "p": 2})[0]) == [f"blue{n:02}" for n in range(25, 30)]
    assert sorted(listed({"q": "RED", "p": 2})[0]) == [f"red{n:02}" for n in range(20, 30)]
    assert sorted(listed({"q": "red m"})[0]) == [f"m{n}" for n in range(5)]
    if connection.features.supports_slicing_ordering_in_compound:  # the ids in one query, kept
        fields = ("source", "destination")
        assert admin_search_shapes() == {("two prefixes", fields, 1), ("two prefixes", fields, 2)}
