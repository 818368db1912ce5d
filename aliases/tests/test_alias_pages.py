import pytest
from django.urls import reverse

from aliases import services
from aliases.models import Alias
from mailadmin.models import AuditEntry
from mailadmin.operator import Operator
from users.models import Mailbox


def alias(source, destination):
    return services.create_aliases(Operator.command_line(), source, [destination])[0]


def post_new(client, source, destinations, confirmed=None):
    data = {"source": source, "destinations": destinations}
    if confirmed is not None:
        data["confirmed"] = confirmed
    return client.post(reverse("alias-create"), data)


def errors(response, field):
    return " ".join(response.context["form"].errors.get(field, []))


def test_several_destinations_make_several_rows(client, bob):
    client.force_login(bob)
    response = post_new(client, "Info@a.example", "jane@a.example, boss@Elsewhere.example\njane@a.example")
    assert response.status_code == 302
    assert sorted(Alias.objects.values_list("source", "destination")) == [
        ("info@a.example", "boss@elsewhere.example"),
        ("info@a.example", "jane@a.example"),
    ]


def test_one_bad_destination_writes_no_row_and_is_named(client, bob):
    client.force_login(bob)
    response = post_new(client, "info@a.example", "jane@a.example\nnot an address")
    assert response.context["form"].errors["destinations"] == [
        "“not an address”: Enter an email address with exactly one '@', such as jane@example.org."
    ]
    assert not Alias.objects.exists()


def test_an_existing_row_is_refused(client, bob):
    alias("info@a.example", "jane@a.example")
    client.force_login(bob)
    response = post_new(client, "info@a.example", "x@y.example\nJANE@a.example")
    assert "info@a.example already forwards to jane@a.example." in errors(response, "destinations")
    assert Alias.objects.count() == 1


def test_a_loop_among_local_addresses_is_refused(client, bob):
    alias("a1@a.example", "a2@a.example")
    alias("a2@a.example", "a3@a.example")
    client.force_login(bob)
    response = post_new(client, "a3@a.example", "a1@a.example")
    assert "a3@a.example → a1@a.example → a2@a.example → a3@a.example" in errors(response, "destinations")
    assert Alias.objects.count() == 2


def test_a_catch_all_to_an_address_it_would_catch_is_a_loop(client, bob):
    client.force_login(bob)
    response = post_new(client, "@a.example", "nobody@a.example")
    assert "alias loop" in errors(response, "destinations")


def test_a_catch_all_to_a_mailbox_is_no_loop_but_needs_confirmation(client, bob, jane_mailbox):
    client.force_login(bob)
    response = post_new(client, "@a.example", "jane@a.example")
    assert response.status_code == 200 and response.context["confirming"]
    assert "is a catch-all" in " ".join(response.context["form"].warnings)
    assert not Alias.objects.exists()
    response = post_new(client, "@a.example", "jane@a.example", confirmed=response.context["fingerprint"])
    assert response.status_code == 302
    assert Alias.objects.filter(source="@a.example", destination="jane@a.example").exists()


def test_a_confirmation_does_not_carry_over_to_changed_input(client, bob, jane_mailbox):
    client.force_login(bob)
    first = post_new(client, "@a.example", "jane@a.example")
    response = post_new(client, "@a.example", "boss@elsewhere.example", confirmed=first.context["fingerprint"])
    assert response.context["confirming"]
    assert not Alias.objects.exists()


def test_an_external_destination_does_not_expand(client, bob):
    alias("x@a.example", "out@elsewhere.example")
    client.force_login(bob)
    assert post_new(client, "y@a.example", "x@a.example").status_code == 302


def test_a_source_that_is_a_mailbox_warns_what_postfix_will_do(client, bob, jane_mailbox):
    client.force_login(bob)
    response = post_new(client, "jane@a.example", "boss@elsewhere.example")
    warning = " ".join(response.context["form"].warnings)
    assert "jane@a.example is also a mailbox" in warning
    assert "no longer into the mailbox jane@a.example" in warning
    assert not Alias.objects.exists()


def test_a_source_outside_the_admins_domains_is_a_field_error(client, bob, domain_b):
    client.force_login(bob)
    response = post_new(client, "info@b.example", "x@y.example")
    assert "b.example is not one of your domains" in errors(response, "source")
    response = post_new(client, "info@nowhere.example", "x@y.example")
    assert "nowhere.example is not one of your domains" in errors(response, "source")
    assert not Alias.objects.exists()


def test_an_alias_to_itself_is_refused(client, bob):
    client.force_login(bob)
    response = post_new(client, "info@a.example", "INFO@a.example")
    assert "cannot forward to its own address" in errors(response, "destinations")


def test_a_lost_race_is_a_form_error_not_an_exception(client, bob, domain_a, monkeypatch):
    """Another admin adds the same row after our checks passed, before our INSERT."""
    client.force_login(bob)
    real_check_no_loop = services.check_no_loop
    calls = []

    def check_then_lose_the_race(*args, **kwargs):
        real_check_no_loop(*args, **kwargs)
        calls.append(1)
        if len(calls) == 2:  # the form checked, then create_aliases checked: now the other admin wins
            Alias.objects.create(domain=domain_a, source="info@a.example", destination="jane@a.example")

    monkeypatch.setattr(services, "check_no_loop", check_then_lose_the_race)
    response = post_new(client, "info@a.example", "x@y.example\njane@a.example")
    assert response.status_code == 200
    assert "This alias already exists." in errors(response, "destinations")
    assert list(Alias.objects.values_list("destination", flat=True)) == ["jane@a.example"]  # none of ours


def post_address(client, source, destinations, confirmed=None):
    data = {"destinations": destinations}
    if confirmed is not None:
        data["confirmed"] = confirmed
    return client.post(reverse("alias-address", args=[source]), data)


def stored(source):
    return sorted(Alias.objects.filter(source=source).values_list("destination", flat=True))


def test_one_form_adds_and_removes_destinations_of_an_address(client, bob):
    alias("info@a.example", "x@y.example")
    alias("info@a.example", "old@y.example")
    client.force_login(bob)
    page = client.get(reverse("alias-address", args=["info@a.example"]))
    assert page.context["form"].initial["destinations"] == "old@y.example\nx@y.example"
    response = post_address(client, "info@a.example", "x@y.example\nnew@y.example")
    assert response.status_code == 302
    assert stored("info@a.example") == ["new@y.example", "x@y.example"]


def test_replacing_destinations_writes_one_audit_entry_per_row(client, bob):
    alias("info@a.example", "old@y.example")
    before = AuditEntry.objects.count()
    client.force_login(bob)
    assert post_address(client, "info@a.example", "new1@y.example, new2@y.example").status_code == 302
    assert AuditEntry.objects.count() - before == 3  # one row removed, two added


def test_replacing_into_a_loop_changes_nothing(client, bob):
    alias("info@a.example", "x@y.example")
    alias("b1@a.example", "info@a.example")
    client.force_login(bob)
    response = post_address(client, "info@a.example", "b1@a.example")
    assert "alias loop" in errors(response, "destinations")
    assert stored("info@a.example") == ["x@y.example"]


def test_the_old_edit_url_leads_to_the_address_page(client, bob):
    row = alias("info@a.example", "jane@a.example")
    client.force_login(bob)
    response = client.get(reverse("alias-edit", args=[row.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("alias-address", args=["info@a.example"])


def test_an_address_of_another_domain_is_not_found(client, bob, domain_b):
    alias("info@b.example", "x@y.example")
    client.force_login(bob)
    assert client.get(reverse("alias-address", args=["info@b.example"])).status_code == 404
    assert post_address(client, "info@b.example", "z@y.example").status_code == 404
    assert stored("info@b.example") == ["x@y.example"]


def test_deleting_removes_only_that_row(client, bob):
    keep = alias("info@a.example", "x@y.example")
    gone = alias("info@a.example", "jane@a.example")
    client.force_login(bob)
    assert client.post(reverse("alias-delete", args=[gone.pk])).status_code == 302
    assert list(Alias.objects.values_list("pk", flat=True)) == [keep.pk]


def test_the_list_searches_source_and_destination_by_prefix(client, carol, bob):
    alias("info@a.example", "jane@a.example")
    alias("sales@a.example", "info@elsewhere.example")
    client.force_login(bob)
    found = lambda q: [(r["source"], r["destinations"]) for r in client.get(reverse("alias-list"), {"q": q}).context["rows"]]
    assert found("info") == [("info@a.example", ["jane@a.example"]), ("sales@a.example", ["info@elsewhere.example"])]
    assert found("jane") == [("info@a.example", ["jane@a.example"])]
    client.force_login(carol)
    assert found("info") == []


def test_one_domains_list_says_so_and_keeps_the_domain_in_its_search(client, alice, domain_a, domain_b):
    alias("info@a.example", "jane@a.example")
    alias("info@b.example", "tom@b.example")
    client.force_login(alice)
    response = client.get(reverse("alias-list"), {"domain": "a.example", "q": "info"})
    assert [row["source"] for row in response.context["rows"]] == ["info@a.example"]
    page = response.content.decode()
    assert f'Showing aliases at a.example · <a href="{reverse("alias-list")}">show all</a>' in page
    assert '<input type="hidden" name="domain" value="a.example">' in page
    assert f'href="{reverse("alias-create")}?domain=a.example"' in page
    assert "Showing aliases at" not in client.get(reverse("alias-list")).content.decode()


def test_the_lists_address_count_follows_the_domain_filter_and_grants_given_after_a_first_view(
    client, bob, domain_a, domain_b
):
    from users.models import DomainAdminGrant

    def addresses_counted(**filters):
        return client.get(reverse("alias-list"), filters).context["page"].total.count

    alias("info@a.example", "jane@a.example")
    alias("info@a.example", "tom@a.example")
    alias("sales@b.example", "tom@b.example")
    alias("help@b.example", "tom@b.example")
    client.force_login(bob)
    assert (addresses_counted(), addresses_counted(domain="a.example"), addresses_counted(domain="b.example")) == (1, 1, 0)
    DomainAdminGrant.objects.create(user=bob, domain=domain_b)
    assert (addresses_counted(), addresses_counted(domain="a.example"), addresses_counted(domain="b.example")) == (3, 1, 2)


def test_the_list_costs_the_same_queries_for_many_aliases(client, alice, domain_a, django_assert_max_num_queries):
    Alias.objects.bulk_create(
        Alias(domain=domain_a, source=f"s{i:04}@a.example", destination="x@y.example") for i in range(300)
    )
    client.force_login(alice)
    client.get(reverse("alias-list"))  # the kept figures count these rows, added behind the panel's back, once
    with django_assert_max_num_queries(7):
        response = client.get(reverse("alias-list"), {"after": "s0149@a.example"})
    assert [row["source"] for row in response.context["rows"]][:2] == ["s0150@a.example", "s0151@a.example"]
    assert len(response.context["rows"]) == 50


def test_the_list_shows_one_line_per_address_with_a_count_of_long_lists(client, bob, domain_a):
    Alias.objects.bulk_create(
        # Written last to first: the line shows the first destinations by address, not by age.
        Alias(domain=domain_a, source="many@a.example", destination=f"d{i:02}@y.example") for i in reversed(range(12))
    )
    alias("one@a.example", "x@y.example")
    client.force_login(bob)
    response = client.get(reverse("alias-list"))
    rows = response.context["rows"]
    assert [(r["source"], r["destinations"], r["more"]) for r in rows] == [
        ("many@a.example", ["d00@y.example", "d01@y.example", "d02@y.example"], 9),
        ("one@a.example", ["x@y.example"], 0),
    ]
    assert b"and 9 more" in response.content


@pytest.mark.parametrize("source", ["", "@", "a@@a.example", "x" * 120 + "@a.example"])
def test_a_bad_source_is_a_field_error(client, bob, source):
    client.force_login(bob)
    response = post_new(client, source, "x@y.example")
    assert response.status_code == 200
    assert errors(response, "source")


def test_a_mailbox_may_keep_a_copy_of_what_it_forwards(client, bob, jane_mailbox):
    """The guide's pattern: jane -> jane plus jane -> elsewhere delivers to both."""
    client.force_login(bob)
    first = post_new(client, "jane@a.example", "jane@a.example, jane@elsewhere.example")
    assert first.status_code == 200 and not errors(first, "destinations")  # the "also a mailbox" warning
    response = post_new(
        client, "jane@a.example", "jane@a.example, jane@elsewhere.example", confirmed=first.context["fingerprint"]
    )
    assert response.status_code == 302
    assert sorted(Alias.objects.values_list("destination", flat=True)) == ["jane@a.example", "jane@elsewhere.example"]


def test_a_sending_right_inside_the_domain_needs_no_confirmation(client, bob, jane_mailbox):
    client.force_login(bob)
    assert post_new(client, "sales@a.example", "jane@a.example").status_code == 302
    assert stored("sales@a.example") == ["jane@a.example"]


def test_a_mailbox_of_another_domain_gaining_a_sending_right_is_confirmed_first(client, alice, jane_mailbox, domain_b):
    Mailbox.objects.create(domain=domain_b, email="kim@b.example", password=jane_mailbox.password)
    client.force_login(alice)
    first = post_new(client, "sales@a.example", "kim@b.example")
    assert first.status_code == 200 and first.context["confirming"] and not Alias.objects.exists()
    page = first.content.decode()
    assert "kim@b.example is a mailbox outside a.example and will be allowed to send as sales@a.example" in page
    assert "Mail to sales@a.example goes to" in page and "the mailbox <strong>kim@b.example</strong>" in page
    again = post_new(client, "info@a.example", "kim@b.example", confirmed=first.context["fingerprint"])
    assert again.status_code == 200 and not Alias.objects.exists()  # a changed input needs a new confirmation
    saved = post_new(client, "sales@a.example", "kim@b.example", confirmed=first.context["fingerprint"])
    assert saved.status_code == 302 and stored("sales@a.example") == ["kim@b.example"]


def test_removing_someones_sending_right_is_confirmed_first(client, bob, jane_mailbox):
    alias("sales@a.example", "jane@a.example")
    client.force_login(bob)
    first = post_address(client, "sales@a.example", "boss@elsewhere.example")
    assert first.status_code == 200 and first.context["confirming"]
    assert "jane@a.example will no longer be allowed to send as sales@a.example" in first.content.decode()
    assert stored("sales@a.example") == ["jane@a.example"]
    saved = post_address(client, "sales@a.example", "boss@elsewhere.example", confirmed=first.context["fingerprint"])
    assert saved.status_code == 302 and stored("sales@a.example") == ["boss@elsewhere.example"]


def test_the_delete_page_shows_who_loses_sending_rights(client, bob, jane_mailbox):
    alias = Alias.objects.create(domain=jane_mailbox.domain, source="sales@a.example", destination="jane@a.example")
    client.force_login(bob)
    page = client.get(reverse("alias-address-delete", args=[alias.source])).content.decode()
    assert "jane@a.example" in page and "loses" in page and "sales@a.example" in page
