import pytest
from django.urls import reverse

from aliases.models import Alias
from users import tallies
from users.models import Domain, Mailbox
from users.listing import SEARCH_TOTAL_CAP
from users.views import DOMAIN_PAGE_ROWS

HASH = "{BLF-CRYPT}$2y$05$B73qez2RL79n1yPAPUwe6O33Yt.8xgSwlApHFU3nGHaRXs1ce0qea"


def add_mailboxes(domain, count, prefix="user"):
    Mailbox.objects.bulk_create(
        Mailbox(domain=domain, email=f"{prefix}{i}@{domain.name}", password=HASH) for i in range(count)
    )


def test_the_list_shows_counts_per_domain(client, alice, domain_a, domain_b):
    add_mailboxes(domain_a, 3)
    Alias.objects.create(domain=domain_a, source="info@a.example", destination="x@y.example")
    client.force_login(alice)
    rows = {d.name: (d.mailbox_count, d.alias_count) for d in client.get(reverse("domain-list")).context["rows"]}
    assert rows == {"a.example": (3, 1), "b.example": (0, 0)}


def test_a_domain_admin_lists_only_their_domains(client, bob, domain_b):
    client.force_login(bob)
    names = [d.name for d in client.get(reverse("domain-list")).context["rows"]]
    assert names == ["a.example"]


def test_search_is_a_prefix_of_the_name(client, alice, domain_a, domain_b):
    client.force_login(alice)
    response = client.get(reverse("domain-list"), {"q": "B."})
    assert [d.name for d in response.context["rows"]] == ["b.example"]


def test_a_search_counts_up_to_the_search_cap_and_pages_only_the_first_matches(client, alice):
    Domain.objects.bulk_create(Domain(name=f"d{i:03}.example") for i in range(SEARCH_TOTAL_CAP + 5))
    client.force_login(alice)
    first = client.get(reverse("domain-list"), {"q": "d"})
    assert (first.context["page"].paginator.count, first.context["page"].paginator.capped) == (SEARCH_TOTAL_CAP, True)
    assert f"more than {SEARCH_TOTAL_CAP} match; the first {SEARCH_TOTAL_CAP} are listed" in first.content.decode()
    # Past the last page: the last of the first matches, not the last of all of them.
    last = client.get(reverse("domain-list"), {"q": "d", "page": 999})
    names = [d.name for d in last.context["rows"]]
    assert names == [f"d{i:03}.example" for i in range(SEARCH_TOTAL_CAP - 50, SEARCH_TOTAL_CAP)]
    # Another search after these: its own matches, though its statements are those kept for the first.
    narrowed = client.get(reverse("domain-list"), {"q": "D00"})
    assert [d.name for d in narrowed.context["rows"]] == [f"d{i:03}.example" for i in range(10)]
    assert (narrowed.context["page"].paginator.count, narrowed.context["page"].paginator.capped) == (10, False)
    assert "10 in all" in narrowed.content.decode()
    assert [d.name for d in client.get(reverse("domain-list"), {"q": "d1"}).context["rows"]] == [
        f"d{i:03}.example" for i in range(100, 150)
    ]


def test_a_domain_admin_searches_only_their_domains(client, bob, domain_a, domain_b):
    client.force_login(bob)
    assert [d.name for d in client.get(reverse("domain-list"), {"q": "b"}).context["rows"]] == []
    assert [d.name for d in client.get(reverse("domain-list"), {"q": "a"}).context["rows"]] == ["a.example"]


def test_the_list_costs_the_same_queries_for_many_domains(client, alice, django_assert_max_num_queries):
    Domain.objects.bulk_create(Domain(name=f"d{i:03}.example") for i in range(120))
    tallies.recount()  # as the first view after a deploy does, once
    client.force_login(alice)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("domain-list"), {"page": 2})
    assert response.context["page"].number == 2
    assert len(response.context["rows"]) == 50


def test_creating_a_domain_normalises_its_name(client, alice):
    client.force_login(alice)
    response = client.post(reverse("domain-create"), {"name": " Example.ORG. "})
    assert response.status_code == 302
    assert Domain.objects.filter(name="example.org").exists()


@pytest.mark.parametrize(
    "name, message",
    [("", "This field is required."), ("no-dot", "with a dot"), ("a b.example", "cannot contain spaces"),
     ("x" * 60 + ".org", "at most 50 characters")],
)
def test_a_bad_domain_name_is_a_field_error(client, alice, name, message):
    client.force_login(alice)
    response = client.post(reverse("domain-create"), {"name": name})
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["name"])


def test_a_repeated_domain_is_a_field_error(client, alice, domain_a):
    client.force_login(alice)
    response = client.post(reverse("domain-create"), {"name": "A.example"})
    assert response.context["form"].errors["name"] == ["This domain already exists."]


def test_the_delete_page_says_what_goes_with_the_domain(client, alice, domain_a):
    add_mailboxes(domain_a, 2)
    Alias.objects.create(domain=domain_a, source="info@a.example", destination="x@y.example")
    client.force_login(alice)
    response = client.get(reverse("domain-delete", args=["a.example"]))
    assert response.context["summary"] == {"mailboxes": 2, "aliases": 1}
    assert b"/var/vmail/a.example/ is not removed" in response.content


def test_a_domain_is_deleted_only_with_its_name_typed(client, alice, domain_a):
    add_mailboxes(domain_a, 2)
    client.force_login(alice)
    url = reverse("domain-delete", args=["a.example"])
    response = client.post(url, {"confirm_name": "b.example"})
    assert "Type a.example exactly" in response.context["form"].errors["confirm_name"][0]
    assert Domain.objects.filter(name="a.example").exists()
    assert client.post(url, {"confirm_name": "A.example"}).status_code == 302
    assert not Domain.objects.filter(name="a.example").exists()
    assert not Mailbox.objects.exists()


def test_a_domains_page_lists_its_first_mailboxes_and_links_to_all_of_them(client, bob, domain_a):
    add_mailboxes(domain_a, DOMAIN_PAGE_ROWS + 1, prefix="u")
    client.force_login(bob)
    response = client.get(reverse("domain-detail", args=["a.example"]))
    page = response.content.decode()
    listed = sorted(f"u{i}@a.example" for i in range(DOMAIN_PAGE_ROWS + 1))[:DOMAIN_PAGE_ROWS]
    assert [mailbox.email for mailbox in response.context["mailbox_rows"]] == listed
    assert f"The first {DOMAIN_PAGE_ROWS} mailboxes are listed here." in page
    assert f'href="{reverse("mailbox-list")}?domain=a.example">All {DOMAIN_PAGE_ROWS + 1} mailboxes at a.example</a>' in page
    assert response.context["can_delete"] is False
    Mailbox.objects.filter(email=listed[0]).delete()
    assert "mailboxes are listed here" not in client.get(reverse("domain-detail", args=["a.example"])).content.decode()


def test_deleting_a_domain_shows_and_removes_alias_rows_elsewhere_that_refer_to_it(client, alice, domain_a, domain_b):
    jane = Mailbox.objects.create(domain=domain_a, email="jane@a.example", password="{PLAIN}x")
    Alias.objects.create(domain=domain_b, source="sales@b.example", destination=jane.email)
    # A legacy row: its source is in a.example, its domain_id says b.example (the cascade misses it).
    Alias.objects.create(domain=domain_b, source="old@a.example", destination="kim@b.example")
    Alias.objects.create(domain=domain_b, source="kept@b.example", destination="kim@b.example")
    client.force_login(alice)
    url = reverse("domain-delete", args=["a.example"])
    page = client.get(url).content.decode()
    assert "2 alias rows outside this domain refer to it" in page
    assert "sales@b.example → jane@a.example" in page and "old@a.example → kim@b.example" in page
    client.post(url, {"confirm_name": "a.example", "remove_forwarding": "1"})
    assert list(Alias.objects.values_list("source", flat=True)) == ["kept@b.example"]


def test_the_rows_outliving_a_domain_are_exactly_those_at_its_name_in_any_case(client, alice, domain_a, domain_b):
    refer = [("to-upper@b.example", "Jane@A.Example"), ("@b.example", "catch@a.example"), ("@a.example", "kim@b.example")]
    unrelated = [("to-sub@b.example", "x@sub.a.example"), ("to-longer@b.example", "x@xa.example"),
                 ("to-local@b.example", "a.example"), ("to-at@b.example", "x@a.example.org")]
    Alias.objects.bulk_create(Alias(domain=domain_b, source=s, destination=d) for s, d in refer + unrelated)
    Alias.objects.create(domain=domain_a, source="own@a.example", destination="jane@a.example")  # the cascade's
    client.force_login(alice)
    page = client.get(reverse("domain-delete", args=["a.example"])).content.decode()
    assert "3 alias rows outside this domain refer to it" in page
    assert all(f"{s} → {d}" in page for s, d in refer) and not any(s in page for s, _ in unrelated)


def test_a_domains_page_lists_one_line_per_alias_address(client, bob, domain_a):
    from aliases.models import Alias

    Alias.objects.bulk_create(
        Alias(domain=domain_a, source="team@a.example", destination=f"d{i}@y.example") for i in range(5)
    )
    client.force_login(bob)
    page = client.get(reverse("domain-detail", args=["a.example"])).content.decode()
    assert page.count("team@a.example</a>") == 1
    assert "d0@y.example, d1@y.example, d2@y.example" in page and "and 2 more" in page


def test_a_domains_page_lists_its_first_alias_addresses_and_links_to_the_rest(client, bob, domain_a):
    Alias.objects.bulk_create(
        Alias(domain=domain_a, source=f"a{i:02}@a.example", destination="x@y.example") for i in range(DOMAIN_PAGE_ROWS + 1)
    )
    Alias.objects.create(domain=domain_a, source="a00@a.example", destination="z@y.example")
    client.force_login(bob)
    response = client.get(reverse("domain-detail", args=["a.example"]))
    page = response.content.decode()
    assert response.context["alias_sources"] == [f"a{i:02}@a.example" for i in range(DOMAIN_PAGE_ROWS)]
    assert f"a{DOMAIN_PAGE_ROWS:02}@a.example" not in page
    assert f"The first {DOMAIN_PAGE_ROWS} addresses are listed here." in page
    assert f'href="{reverse("alias-list")}?domain=a.example">All aliases at a.example</a> ({DOMAIN_PAGE_ROWS + 2} alias rows)' in page
    Alias.objects.filter(source=f"a{DOMAIN_PAGE_ROWS:02}@a.example").delete()
    assert "All aliases at" not in client.get(reverse("domain-detail", args=["a.example"])).content.decode()


def test_each_domains_page_shows_its_own_rows_and_only_to_those_who_may_see_it(client, alice, bob, domain_a, domain_b):
    """Their statements are kept for every domain's page; each page fills in its own domain."""
    for domain in (domain_a, domain_b):
        Mailbox.objects.create(domain=domain, email=f"box@{domain.name}", password="{PLAIN}x")
        Alias.objects.create(domain=domain, source=f"alias@{domain.name}", destination=f"box@{domain.name}")
    client.force_login(alice)
    for domain, other in ((domain_a, domain_b), (domain_b, domain_a)):
        page = client.get(reverse("domain-detail", args=[domain.name])).content.decode()
        assert f"box@{domain.name}" in page and f"alias@{domain.name}" in page
        assert f"box@{other.name}" not in page and f"alias@{other.name}" not in page
    client.force_login(bob)
    assert client.get(reverse("domain-detail", args=["a.example"])).status_code == 200
    assert client.get(reverse("domain-detail", args=["b.example"])).status_code == 404
    assert client.get(reverse("domain-detail", args=["😀.example"])).status_code == 404
