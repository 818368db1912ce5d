import csv
import io
import re
from urllib.parse import urljoin

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from aliases.models import Alias
from conftest import MAILBOX_PASSWORD, admin_search_shapes
from mailadmin.models import AuditEntry
from users.models import Domain, Mailbox

MAILBOXES = reverse("admin:users_mailbox_changelist")
DOMAINS = reverse("admin:users_domain_changelist")
NEW_PASSWORD = "Fresh-and-l0ng-enough-password"


@pytest.fixture
def kim(domain_b):
    mailbox = Mailbox(domain=domain_b, email="kim@b.example")
    mailbox.password = "{SHA512-CRYPT}$6$saltsalt$" + "h" * 86
    mailbox.save()
    return mailbox


@pytest.fixture
def admin_client(client, alice):
    client.force_login(alice)
    return client


def test_the_mailbox_list_shows_address_domain_quota_and_scheme(admin_client, jane_mailbox, kim):
    page = admin_client.get(MAILBOXES).content.decode()
    assert "jane@a.example" in page and "kim@b.example" in page
    assert "BLF-CRYPT" in page and "SHA512-CRYPT" in page
    assert jane_mailbox.password not in page and kim.password not in page


def test_the_admin_pages_have_no_navigation_sidebar_but_breadcrumbs(admin_client):
    page = admin_client.get(MAILBOXES).content.decode()
    assert 'id="nav-sidebar"' not in page
    assert f'href="{reverse("admin:index")}"' in page


def test_the_admin_index_and_an_apps_index_still_list_their_models(admin_client, client, bob):
    index = admin_client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:users_mailbox_changelist") in index and reverse("admin:aliases_alias_changelist") in index
    users_index = admin_client.get(reverse("admin:app_list", args=["users"])).content.decode()
    assert reverse("admin:users_mailbox_changelist") in users_index
    assert reverse("admin:aliases_alias_changelist") not in users_index
    # An app the person may see no model of has no index page.
    client.force_login(bob)
    assert client.get(reverse("admin:app_list", args=["axes"])).status_code == 404


def test_it_filters_mailboxes_by_hash_scheme(admin_client, jane_mailbox, kim):
    page = admin_client.get(MAILBOXES, {"scheme": "SHA512-CRYPT"}).content.decode()
    assert "kim@b.example" in page and "jane@a.example" not in page


def test_it_filters_mailboxes_by_domain_and_searches_by_prefix(admin_client, jane_mailbox, kim, domain_b):
    by_domain = admin_client.get(MAILBOXES, {"domain": domain_b.pk}).content.decode()
    assert "kim@b.example" in by_domain and "jane@a.example" not in by_domain
    found = admin_client.get(MAILBOXES, {"q": "ja"}).content.decode()
    assert "jane@a.example" in found and "kim@b.example" not in found


def test_a_domain_admin_with_model_permissions_still_sees_only_their_domain(client, bob, jane_mailbox, kim):
    bob.user_permissions.add(*Permission.objects.filter(codename__in=["view_mailbox", "change_mailbox"]))
    client.force_login(bob)
    page = client.get(MAILBOXES).content.decode()
    assert "jane@a.example" in page and "kim@b.example" not in page
    assert client.get(reverse("admin:users_mailbox_change", args=[kim.pk])).status_code == 302  # "doesn't exist"
    assert client.get(reverse("admin:users_mailbox_password", args=[kim.pk])).status_code == 404


def test_a_domain_admin_without_permissions_is_kept_out(client, bob, jane_mailbox):
    client.force_login(bob)
    assert client.get(MAILBOXES).status_code == 403


def test_the_change_form_has_no_password_field_but_a_link(admin_client, jane_mailbox):
    page = admin_client.get(reverse("admin:users_mailbox_change", args=[jane_mailbox.pk])).content.decode()
    assert 'name="password"' not in page
    assert jane_mailbox.password not in page
    assert reverse("admin:users_mailbox_password", args=[jane_mailbox.pk]) in page


def test_the_set_password_page_hashes_with_the_configured_scheme(admin_client, jane_mailbox, settings):
    url = reverse("admin:users_mailbox_password", args=[jane_mailbox.pk])
    response = admin_client.post(url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302
    jane_mailbox.refresh_from_db()
    assert jane_mailbox.password.startswith("{" + settings.MAILADMIN_PASSWORD_SCHEME + "}")
    assert jane_mailbox.check_password(NEW_PASSWORD)
    entry = AuditEntry.objects.filter(object_repr="jane@a.example").first()
    assert entry.changes == {"password": "password changed"} and entry.via == "django-admin"


def test_the_set_password_page_refuses_weak_or_differing_passwords(admin_client, jane_mailbox):
    url = reverse("admin:users_mailbox_password", args=[jane_mailbox.pk])
    before = jane_mailbox.password
    assert admin_client.post(url, {"password1": "12345", "password2": "12345"}).status_code == 200
    assert admin_client.post(url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD + "x"}).status_code == 200
    jane_mailbox.refresh_from_db()
    assert jane_mailbox.password == before


def test_adding_a_mailbox_asks_for_a_password_twice(admin_client, domain_a):
    response = admin_client.post(
        reverse("admin:users_mailbox_add"),
        {"domain": domain_a.pk, "email": "New@A.example", "quota": "0", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Mailbox.objects.get(email="new@a.example").check_password(NEW_PASSWORD)


def test_the_bulk_quota_action_sets_every_selected_mailbox(admin_client, jane_mailbox, kim):
    form = admin_client.post(MAILBOXES, {"action": "set_quota", "_selected_action": [jane_mailbox.pk, kim.pk]})
    assert b'name="quota"' in form.content
    admin_client.post(MAILBOXES, {"action": "set_quota", "_selected_action": [jane_mailbox.pk, kim.pk], "quota": "2G"})
    assert set(Mailbox.objects.values_list("quota", flat=True)) == {2 * 1024**3}
    assert AuditEntry.objects.filter(action="update", changes__quota=[0, 2 * 1024**3]).count() == 2


def test_new_passwords_come_once_as_csv_and_are_not_stored(admin_client, jane_mailbox, kim):
    selected = {"action": "generate_passwords", "_selected_action": [jane_mailbox.pk, kim.pk]}
    confirm = admin_client.post(MAILBOXES, selected)
    assert b"Replace their passwords" in confirm.content
    assert Mailbox.objects.get(pk=kim.pk).password == kim.password
    response = admin_client.post(MAILBOXES, {**selected, "confirmed": "yes"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert {row["email"] for row in rows} == {"jane@a.example", "kim@b.example"}
    for row in rows:
        mailbox = Mailbox.objects.get(email=row["email"])
        assert mailbox.check_password(row["password"])
        assert row["password"] not in mailbox.password
    logged = str(list(AuditEntry.objects.values_list("changes", flat=True)))
    assert all(row["password"] not in logged for row in rows)
    assert not Mailbox.objects.get(pk=jane_mailbox.pk).check_password(MAILBOX_PASSWORD)


def test_deleting_domains_shows_what_cascades_before_it_deletes(admin_client, jane_mailbox, domain_a):
    Alias.objects.create(domain=domain_a, source="info@a.example", destination="jane@a.example")
    selected = {"action": "delete_with_summary", "_selected_action": [domain_a.pk]}
    confirm = admin_client.post(DOMAINS, selected).content.decode()
    assert "1 domains" in confirm and "1 mailboxes" in confirm and "1 aliases" in confirm
    assert Domain.objects.filter(pk=domain_a.pk).exists()
    assert "Type <strong>a.example</strong> to confirm" in confirm
    admin_client.post(DOMAINS, {**selected, "confirmed": "yes"})
    assert Domain.objects.filter(pk=domain_a.pk).exists(), "deleted without the typed name"
    admin_client.post(DOMAINS, {**selected, "confirmed": "yes", "typed_confirmation": "a.example"})
    assert not Domain.objects.filter(pk=domain_a.pk).exists()
    assert not Mailbox.objects.filter(email="jane@a.example").exists()
    assert AuditEntry.objects.filter(action="delete", object_type="alias").count() == 1


def test_deleting_mailboxes_warns_about_aliases_that_forward_to_them(admin_client, jane_mailbox, domain_a):
    Alias.objects.create(domain=domain_a, source="info@a.example", destination="jane@a.example")
    selected = {"action": "delete_with_summary", "_selected_action": [jane_mailbox.pk]}
    confirm = admin_client.post(MAILBOXES, selected).content.decode()
    assert "1 aliases forward to these addresses" in confirm and "Mail on disk is not removed" in confirm
    admin_client.post(MAILBOXES, {**selected, "confirmed": "yes"})
    assert not Mailbox.objects.filter(pk=jane_mailbox.pk).exists()


def test_the_domain_list_counts_mailboxes_and_aliases(admin_client, jane_mailbox, domain_a, domain_b):
    Alias.objects.create(domain=domain_a, source="info@a.example", destination="jane@a.example")
    Alias.objects.create(domain=domain_a, source="@a.example", destination="jane@a.example")
    page = admin_client.get(DOMAINS).content.decode()
    assert f'?domain={domain_a.pk}">1</a>' in page and f'?domain={domain_a.pk}">2</a>' in page
    assert f'?domain={domain_b.pk}">0</a>' in page
    # The links are relative to the domain list, as a browser follows them.
    mailboxes_link = re.search(rf'href="([^"]+\?domain={domain_a.pk})">1</a>', page).group(1)
    assert urljoin(DOMAINS, mailboxes_link) == f"{MAILBOXES}?domain={domain_a.pk}"
    aliases_link = re.search(rf'href="([^"]+\?domain={domain_a.pk})">2</a>', page).group(1)
    assert urljoin(DOMAINS, aliases_link) == f"{reverse('admin:aliases_alias_changelist')}?domain={domain_a.pk}"


def test_the_domain_list_shows_each_viewer_their_own_domains_in_turn(client, alice, bob, carol, domain_a, domain_b):
    from users.models import DomainAdminGrant

    for user in (bob, carol):
        user.user_permissions.add(Permission.objects.get(codename="view_domain"))

    def listed_for(viewer):
        client.force_login(viewer)
        page = client.get(DOMAINS).content.decode()
        return sorted(pk for pk in (domain_a.pk, domain_b.pk) if f'?domain={pk}">' in page)

    for viewer, shown in ((alice, [domain_a.pk, domain_b.pk]), (bob, [domain_a.pk]), (carol, [domain_b.pk]),
                          (alice, [domain_a.pk, domain_b.pk]), (bob, [domain_a.pk])):
        assert listed_for(viewer) == shown
    DomainAdminGrant.objects.create(user=bob, domain=domain_b)
    assert listed_for(bob) == [domain_a.pk, domain_b.pk]


def test_new_passwords_are_refused_for_too_many_mailboxes_at_once(admin_client, jane_mailbox, kim, monkeypatch):
    from users import admin as users_admin

    monkeypatch.setattr(users_admin, "MAX_GENERATED", 1)
    selected = {"action": "generate_passwords", "_selected_action": [jane_mailbox.pk, kim.pk], "confirmed": "yes"}
    response = admin_client.post(MAILBOXES, selected, follow=True)
    assert "Select at most 1 mailboxes" in response.content.decode()
    assert Mailbox.objects.get(pk=kim.pk).password == kim.password


def test_the_bulk_quota_action_refuses_a_quota_that_is_not_a_size(admin_client, jane_mailbox):
    page = admin_client.post(MAILBOXES, {"action": "set_quota", "_selected_action": [jane_mailbox.pk], "quota": "lots"})
    assert "is not a size" in page.content.decode()
    assert Mailbox.objects.get(pk=jane_mailbox.pk).quota == 0


def test_the_mailbox_changelist_pages_from_either_end_with_a_kept_total(admin_client, domain_a):
    Mailbox.objects.bulk_create(
        Mailbox(domain=domain_a, email=f"user{n:03}@a.example", password="{PLAIN}x") for n in range(120)
    )
    url = reverse("admin:users_mailbox_changelist")
    first = admin_client.get(url).content.decode()
    assert "user000@a.example" in first and "user024@a.example" in first and "user025@a.example" not in first
    last = admin_client.get(url, {"p": 5}).content.decode()
    assert "user100@a.example" in last and "user119@a.example" in last and "user099@a.example" not in last
    assert "120 mailboxes" in last
    gone = Mailbox.objects.get(email="user119@a.example")
    admin_client.post(url, {"action": "delete_with_summary", "_selected_action": [gone.pk], "confirmed": "yes"})
    assert "119 mailboxes" in admin_client.get(url).content.decode()  # kept by the write API


def _addresses_on(page):
    return re.findall(r'>([a-z0-9.-]+@[a-z.]+)</a>', page)


def test_a_list_filtered_by_scheme_reads_its_rows_afresh_from_kept_statements(admin_client, domain_a, monkeypatch):
    from mailadmin import kept_statements

    Mailbox.objects.bulk_create(
        Mailbox(domain=domain_a, email=f"u{n:02}@a.example", password="{PLAIN}x" if n % 2 else "{SSHA}eA==")
        for n in range(60)
    )
    monkeypatch.setattr(kept_statements, "_statements", {})
    plain = {"scheme": "PLAIN"}
    first = admin_client.get(MAILBOXES, plain).content.decode()
    assert _addresses_on(first) == [f"u{n:02}@a.example" for n in range(1, 50, 2)] and "30 mailboxes" in first
    # ("admin list", model, scope, order, the filters' values, the search's shape, what, …): its
    # count, its ids and the rows of those ids.
    kept = {key[6] for _database, key in kept_statements._statements if key[4:6] == ((("scheme", "PLAIN"),), None)}
    assert kept == {"count", "ids", "by ids"}
    Mailbox.objects.create(domain=domain_a, email="a-new@a.example", password="{PLAIN}y")
    again = admin_client.get(MAILBOXES, plain).content.decode()
    assert _addresses_on(again)[:2] == ["a-new@a.example", "u01@a.example"] and "31 mailboxes" in again
    second_page = admin_client.get(MAILBOXES, {**plain, "p": 2}).content.decode()
    assert _addresses_on(second_page) == [f"u{n:02}@a.example" for n in range(49, 60, 2)]
    other = admin_client.get(MAILBOXES, {"scheme": "SSHA"}).content.decode()
    assert _addresses_on(other) == [f"u{n:02}@a.example" for n in range(0, 50, 2)]


def test_each_search_of_the_mailbox_list_reads_its_own_rows_through_the_statements_kept_for_its_shape(
    admin_client, domain_a, monkeypatch
):
    from mailadmin import kept_statements

    Mailbox.objects.bulk_create(
        Mailbox(domain=domain_a, email=f"{prefix}{n:02}@a.example", password="{PLAIN}x")
        for prefix in ("red", "rest", "blue") for n in range(30)
    )
    monkeypatch.setattr(kept_statements, "_statements", {})
    red = admin_client.get(MAILBOXES, {"q": "red"}).content.decode()
    assert _addresses_on(red) == [f"red{n:02}@a.example" for n in range(25)] and "30 mailboxes" in red
    assert admin_search_shapes() == {("search", ("email",), 1)}
    blue = admin_client.get(MAILBOXES, {"q": "blue"}).content.decode()
    assert _addresses_on(blue) == [f"blue{n:02}@a.example" for n in range(25)] and "30 mailboxes" in blue
    # The last page is read from the end, with the words of this search, not of the first one.
    last_blue = admin_client.get(MAILBOXES, {"q": "BLUE", "p": 2}).content.decode()
    assert _addresses_on(last_blue) == [f"blue{n:02}@a.example" for n in range(25, 30)] and "30 mailboxes" in last_blue
    assert _addresses_on(admin_client.get(MAILBOXES, {"q": "re", "p": 3}).content.decode()) == [
        f"rest{n:02}@a.example" for n in range(20, 30)
    ]
    both_words = admin_client.get(MAILBOXES, {"q": "re rest0"}).content.decode()
    assert _addresses_on(both_words) == [f"rest{n:02}@a.example" for n in range(10)] and "10 mailboxes" in both_words
    nothing = admin_client.get(MAILBOXES, {"q": "re%"}).content.decode()
    assert _addresses_on(nothing) == [] and "0 mailboxes" in nothing
    assert admin_search_shapes() == {("search", ("email",), 1), ("search", ("email",), 2)}


def test_each_domain_admin_keeps_their_own_filtered_list(client, bob, alice, domain_a, domain_b, jane_mailbox, kim):
    from users.models import DomainAdminGrant

    bob.user_permissions.add(Permission.objects.get(codename="view_mailbox"))
    for viewer, shown in ((alice, ["kim@b.example"]), (bob, []), (alice, ["kim@b.example"])):
        client.force_login(viewer)
        page = client.get(MAILBOXES, {"scheme": "SHA512-CRYPT"}).content.decode()
        assert _addresses_on(page) == shown
    DomainAdminGrant.objects.create(user=bob, domain=domain_b)
    client.force_login(bob)
    assert _addresses_on(client.get(MAILBOXES, {"scheme": "SHA512-CRYPT"}).content.decode()) == ["kim@b.example"]


def test_the_change_list_links_its_scripts_where_the_static_files_are_now(admin_client, settings):
    assert re.search(r'<script src="/static/admin/js/[^"]+"', admin_client.get(MAILBOXES).content.decode())
    settings.STATIC_URL = "/elsewhere/"
    page = admin_client.get(MAILBOXES).content.decode()
    assert re.search(r'<script src="/elsewhere/admin/js/[^"]+"', page) and 'src="/static/' not in page


def test_the_domain_delete_button_leads_to_the_panels_page_that_wants_the_name_typed(admin_client, domain_a):
    response = admin_client.get(reverse("admin:users_domain_delete", args=[domain_a.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("domain-delete", args=["a.example"])


def test_searching_the_mailbox_list_by_domain_name_finds_its_mailboxes(admin_client, jane_mailbox, domain_b):
    Mailbox.objects.create(domain=domain_b, email="tom@b.example", password="{PLAIN}x")
    page = admin_client.get(MAILBOXES, {"q": "a.example"}).content.decode()
    assert "jane@a.example" in page and "tom@b.example" not in page


def test_the_domain_filter_shows_international_names_in_unicode(admin_client, db):
    Domain.objects.create(name="xn--bcher-kva.de")
    assert "bücher.de" in admin_client.get(MAILBOXES).content.decode()


def test_the_domain_filter_links_every_domain_while_they_are_few(admin_client, domain_a, domain_b):
    page = admin_client.get(MAILBOXES).content.decode()
    assert f"?domain={domain_a.pk}" in page and f"?domain={domain_b.pk}" in page


def test_beyond_its_limit_the_domain_filter_links_only_the_chosen_domain(admin_client, domain_a, domain_b, monkeypatch):
    from users.admin import DomainFilter

    monkeypatch.setattr(DomainFilter, "MAX_LINKS", 1)
    unfiltered = admin_client.get(MAILBOXES).content.decode()
    assert "?domain=" not in unfiltered
    chosen = admin_client.get(MAILBOXES, {"domain": domain_b.pk}).content.decode()
    assert f"?domain={domain_b.pk}" in chosen and f"?domain={domain_a.pk}" not in chosen


def test_the_domain_filter_trusts_the_domains_over_a_kept_count_that_lags(admin_client, domain_a, domain_b, monkeypatch):
    from users import admin as users_admin

    monkeypatch.setattr(users_admin.DomainFilter, "MAX_LINKS", 1)
    monkeypatch.setattr(users_admin, "kept_counts", lambda request, domain_id=None: {"domains": 1, "mailboxes": 0, "aliases": 0})
    page = admin_client.get(MAILBOXES).content.decode()
    assert "?domain=" not in page  # two domains found: more than one link's worth


def test_the_first_page_shows_new_rows_in_the_order_asked_and_only_each_persons_own(client, alice, bob, jane_mailbox, kim):
    import re

    bob.user_permissions.add(Permission.objects.get(codename="view_mailbox"))

    def addresses(user, **query):
        client.force_login(user)
        page = client.get(MAILBOXES, query).content.decode()
        return re.findall(r'<th class="field-display_email"><a [^>]*>([^<]+)</a>', page)

    # Column 1 is the address (the action checkbox is column 0).
    assert addresses(alice) == ["jane@a.example", "kim@b.example"] == addresses(alice, o="-1")[::-1]
    assert addresses(bob) == ["jane@a.example"]
    Mailbox.objects.create(domain=kim.domain, email="abe@b.example", password="{PLAIN}x")
    assert addresses(alice) == ["abe@b.example", "jane@a.example", "kim@b.example"]
    assert addresses(alice, o="-1") == ["kim@b.example", "jane@a.example", "abe@b.example"]
    assert addresses(bob) == ["jane@a.example"]


def test_a_list_filtered_by_domain_takes_its_total_from_the_kept_counts(admin_client, domain_a, domain_b, kim):
    Mailbox.objects.bulk_create(Mailbox(domain=domain_a, email=f"u{n}@a.example", password="{PLAIN}x") for n in range(30))
    page = admin_client.get(MAILBOXES, {"domain": domain_a.pk, "p": 2}).content.decode()
    assert "30 mailboxes" in page and "u9@a.example" in page  # the last page, read from the end


def test_a_filter_matching_more_rows_than_a_list_pages_through_says_more_than(admin_client, domain_a, monkeypatch):
    from mailadmin import admin_pagination

    monkeypatch.setattr(admin_pagination, "CAP", 30)
    Mailbox.objects.bulk_create(
        Mailbox(domain=domain_a, email=f"u{n:02}@a.example", password="{SHA512-CRYPT}$6$x") for n in range(40)
    )
    first = admin_client.get(MAILBOXES, {"scheme": "SHA512-CRYPT"}).content.decode()
    assert "more than 30 mailboxes" in first and "Select all more than 30 mailboxes" in first
    second = admin_client.get(MAILBOXES, {"scheme": "SHA512-CRYPT", "p": 2}).content.decode()
    assert "u25@a.example" in second and "u29@a.example" in second and "u30@a.example" not in second


def _as_a_browser_reads_it(page):
    """The page with each run of white space as one space (how HTML reads it) and the CSRF
    tokens numbered in order of appearance (each page masks the token anew, once: Django's
    page puts the same token in both of its forms)."""
    numbers = {}
    page = re.sub(
        r'name="csrfmiddlewaretoken" value="([^"]+)"',
        lambda token: f'name="csrfmiddlewaretoken" value="token {numbers.setdefault(token[1], len(numbers) + 1)}"',
        page,
    )
    return re.sub(r"\s+", " ", page)


@pytest.mark.parametrize(
    "url, query",
    [
        (MAILBOXES, {}),
        (MAILBOXES, {"q": "ja", "o": "-3"}),
        (MAILBOXES, {"scheme": "PLAIN", "domain": "domain_a"}),
        (MAILBOXES, {"p": "2"}),
        (DOMAINS, {}),
        (reverse("admin:aliases_alias_changelist"), {"domain": "domain_a"}),
        (reverse("admin:aliases_alias_changelist"), {"q": "in&", "o": "2.1"}),
    ],
)
@pytest.mark.parametrize("whole_page_in_jinja", [True, False], ids=["jinja page", "django page with jinja parts"])
def test_the_change_list_pages_are_the_ones_django_renders(
    admin_client, jane_mailbox, kim, domain_a, monkeypatch, url, query, whole_page_in_jinja
):
    """The panel's change lists are printed their own faster way (mailadmin/admin_page.py); the
    page must stay the one Django's own templates render."""
    Alias.objects.create(domain=domain_a, source="in&fo@a.example", destination="jane@a.example")
    Alias.objects.create(domain=domain_a, source="o'brien@a.example", destination='"jane"<x>@a.example')
    Domain.objects.create(name="xn--bcher-kva.de")
    Mailbox.objects.bulk_create(Mailbox(domain=domain_a, email=f"u{n:02}@a.example", password="{PLAIN}x") for n in range(30))
    query = {name: domain_a.pk if value == "domain_a" else value for name, value in query.items()}
    quick, djangos = _ours_and_djangos(admin_client, url, query, monkeypatch, whole_page_in_jinja)
    assert quick == djangos
    assert "<tbody>" in quick and "<tr><td class=\"action-checkbox\">" in quick


def test_a_domain_admin_who_may_only_view_gets_the_change_list_django_renders(client, bob, jane_mailbox, monkeypatch):
    bob.user_permissions.add(Permission.objects.get(codename="view_mailbox"))
    client.force_login(bob)
    quick, djangos = _ours_and_djangos(client, MAILBOXES, {}, monkeypatch, whole_page_in_jinja=True)
    assert quick == djangos
    assert "jane@a.example" in quick and 'class="addlink"' not in quick


def test_a_change_list_with_messages_is_the_one_django_renders(admin_client, jane_mailbox, monkeypatch):
    from django.contrib import messages
    from django.contrib.messages import context_processors
    from django.contrib.messages.storage.base import Message
    from django.utils.safestring import mark_safe

    shown = [
        Message(messages.SUCCESS, mark_safe('The mailbox “<a href="/x/">jane@a.example</a>” was changed.')),
        Message(messages.WARNING, "plain text & <not markup>"),
        Message(messages.INFO, "lowercase first"),
    ]
    monkeypatch.setattr(messages, "get_messages", lambda request: shown)
    monkeypatch.setattr(context_processors, "get_messages", lambda request: shown)
    quick, djangos = _ours_and_djangos(admin_client, MAILBOXES, {}, monkeypatch, whole_page_in_jinja=True)
    assert quick == djangos
    assert '<li class="success">The mailbox “<a href="/x/">' in quick and "&lt;not markup&gt;" in quick


def _ours_and_djangos(client, url, query, monkeypatch, whole_page_in_jinja):
    """The page as the panel prints it, and as Django's own templates and rows print it."""
    from django.contrib.admin.templatetags import admin_list

    from mailadmin import admin_page
    from users.admin import ScopedAdmin

    if not whole_page_in_jinja:  # as where a project overrides admin/base_site.html
        monkeypatch.setattr(admin_page, "in_jinja_where_possible", lambda request, response: response)

    def page():
        response = client.get(url, query)
        assert response.status_code == 200
        return response.template_name, _as_a_browser_reads_it(response.content.decode())

    with monkeypatch.context() as patched:
        patched.setattr(admin_list, "items_for_result", None)  # not Django's rows: they would fail
        ours_template, ours = page()
    monkeypatch.setattr(ScopedAdmin, "change_list_template", None)  # Django's own templates and rows
    djangos_template, djangos = page()
    assert ours_template == (admin_page.JINJA_PAGE if whole_page_in_jinja else admin_page.DJANGO_TEMPLATE)
    assert djangos_template[-1] == "admin/change_list.html"
    return ours, djangos


@pytest.mark.parametrize(
    "part",
    ["pagination.html", "actions.html", "change_list_results.html", "search_form.html", "filter.html", "base_site.html"],
)
def test_a_change_list_part_overridden_by_the_project_is_printed_from_the_override(
    admin_client, jane_mailbox, tmp_path, settings, part
):
    # Django looks filter.html and base_site.html up by that name only, the others per model first.
    folder = tmp_path / "admin" if part in ("filter.html", "base_site.html") else tmp_path / "admin" / "users" / "mailbox"
    folder.mkdir(parents=True)
    (folder / part).write_text(f"<p>the project's own {part}</p>")
    settings.TEMPLATES = [
        {**engine, "DIRS": [tmp_path, *engine["DIRS"]]} if engine["BACKEND"].endswith("DjangoTemplates") else engine
        for engine in settings.TEMPLATES
    ]
    page = admin_client.get(MAILBOXES).content.decode()
    assert f"<p>the project's own {part}</p>" in page


def test_a_domain_admin_filtering_by_another_domain_sees_no_rows_and_no_total(client, bob, domain_b, kim):
    bob.user_permissions.add(Permission.objects.get(codename="view_mailbox"))
    client.force_login(bob)
    page = client.get(MAILBOXES, {"domain": domain_b.pk}).content.decode()
    assert "kim@b.example" not in page and "0 mailboxes" in page


def test_a_list_asked_for_facets_counts_no_filter_choice(admin_client, jane_mailbox, kim):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    admin_client.get(MAILBOXES)  # the kept counts catch up once with the fixtures' rows (a GROUP BY count)
    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(MAILBOXES, {"scheme": "SHA512-CRYPT", "_facets": "1"})
    assert page.status_code == 200 and "kim@b.example" in page.content.decode()
    # The only count is the paginator's, which stops at its cap (a LIMIT).
    counts = [query["sql"] for query in queries.captured_queries if "COUNT(" in query["sql"].upper()]
    assert counts and all("LIMIT" in sql for sql in counts)


def test_with_many_domains_a_form_asks_for_the_domain_by_id_instead_of_listing_them(
    admin_client, domain_a, domain_b, monkeypatch
):
    from users import admin as users_admin

    add = reverse("admin:users_mailbox_add")
    assert '<select name="domain"' in admin_client.get(add).content.decode()
    monkeypatch.setattr(users_admin, "MAX_DOMAIN_CHOICES", 1)
    form = admin_client.get(add).content.decode()
    assert '<select name="domain"' not in form and 'name="domain"' in form and "b.example" not in form
    response = admin_client.post(
        add, {"domain": domain_b.pk, "email": "new@b.example", "quota": "0", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 302 and Mailbox.objects.filter(email="new@b.example", domain=domain_b).exists()


def test_a_domain_admin_cannot_type_the_id_of_a_domain_they_do_not_administer(client, bob, domain_b, monkeypatch):
    from users import admin as users_admin

    monkeypatch.setattr(users_admin, "MAX_DOMAIN_CHOICES", 0)
    bob.user_permissions.add(*Permission.objects.filter(codename__in=["add_alias", "view_alias"]))
    client.force_login(bob)
    add = reverse("admin:aliases_alias_add")
    response = client.post(add, {"domain": domain_b.pk, "source": "x@b.example", "destination": "y@c.example"})
    assert response.status_code == 200 and not Alias.objects.exists()


def test_show_all_is_not_offered_or_honoured_for_a_list_counted_only_up_to_its_cap(admin_client, domain_a):
    from mailadmin.admin_pagination import CAP

    Mailbox.objects.bulk_create(
        Mailbox(domain=domain_a, email=f"u{n:03}@a.example", password="{SHA512-CRYPT}$6$x") for n in range(CAP + 1)
    )
    listed = admin_client.get(MAILBOXES, {"scheme": "SHA512-CRYPT"}).content.decode()
    assert f"more than {CAP} mailboxes" in listed and 'class="showall"' not in listed
    everything = admin_client.get(MAILBOXES, {"scheme": "SHA512-CRYPT", "all": ""}).content.decode()
    assert "u024@a.example" in everything and "u025@a.example" not in everything


def test_the_domain_lists_counts_follow_each_change_and_order_it(admin_client, domain_a, domain_b):
    def counts_in_order():
        page = admin_client.get(DOMAINS, {"o": "-3"}).content.decode()  # by mailboxes, most first
        return re.findall(r'<td class="field-name">([^<]+)</td><td class="field-mailbox_count"><a [^>]*>(\d+)</a>', page)

    assert sorted(counts_in_order()) == [("a.example", "0"), ("b.example", "0")]
    Mailbox.objects.create(domain=domain_b, email="kim@b.example", password="{PLAIN}x")
    assert counts_in_order() == [("b.example", "1"), ("a.example", "0")]
    Mailbox.objects.bulk_create(Mailbox(domain=domain_a, email=f"u{n}@a.example", password="{PLAIN}x") for n in range(2))
    assert counts_in_order() == [("a.example", "2"), ("b.example", "1")]
