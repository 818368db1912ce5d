import pytest
from django.urls import reverse

from aliases import services
from aliases.models import Alias
from mailadmin.operator import Operator


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
    assert "not: Enter an email address" in errors(response, "destinations")
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


def test_editing_changes_the_row(client, bob):
    row = alias("info@a.example", "jane@a.example")
    client.force_login(bob)
    response = client.post(reverse("alias-edit", args=[row.pk]), {"source": "sales@a.example", "destination": "x@y.example"})
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.source, row.destination) == ("sales@a.example", "x@y.example")


def test_editing_into_a_duplicate_or_a_loop_is_refused(client, bob):
    alias("info@a.example", "x@y.example")
    alias("b1@a.example", "b2@a.example")
    row = alias("info@a.example", "jane@a.example")
    client.force_login(bob)
    url = reverse("alias-edit", args=[row.pk])
    response = client.post(url, {"source": "info@a.example", "destination": "x@y.example"})
    assert "already forwards to x@y.example" in errors(response, "destination")
    response = client.post(url, {"source": "b2@a.example", "destination": "b1@a.example"})
    assert "alias loop" in errors(response, "destination")
    row.refresh_from_db()
    assert (row.source, row.destination) == ("info@a.example", "jane@a.example")


def test_a_domain_admin_cannot_move_an_alias_out_of_their_domains(client, bob, domain_b):
    row = alias("info@a.example", "jane@a.example")
    client.force_login(bob)
    response = client.post(reverse("alias-edit", args=[row.pk]), {"source": "info@b.example", "destination": "x@y.example"})
    assert "not one of your domains" in errors(response, "source")


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
    found = lambda q: [(a.source, a.destination) for a in client.get(reverse("alias-list"), {"q": q}).context["page"]]
    assert found("info") == [("info@a.example", "jane@a.example"), ("sales@a.example", "info@elsewhere.example")]
    assert found("jane") == [("info@a.example", "jane@a.example")]
    client.force_login(carol)
    assert found("info") == []


def test_the_list_costs_the_same_queries_for_many_aliases(client, alice, domain_a, django_assert_max_num_queries):
    Alias.objects.bulk_create(
        Alias(domain=domain_a, source=f"s{i:04}@a.example", destination="x@y.example") for i in range(300)
    )
    client.force_login(alice)
    with django_assert_max_num_queries(6):
        response = client.get(reverse("alias-list"), {"page": 4})
    assert len(response.context["page"].object_list) == 50


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


def test_creating_an_alias_shows_who_gains_sending_rights_before_saving(client, bob, jane_mailbox):
    client.force_login(bob)
    first = post_new(client, "sales@a.example", "jane@a.example")
    assert first.status_code == 200 and not Alias.objects.exists()
    page = first.content.decode()
    assert "Sending rights after this change" in page
    assert "jane@a.example may also send as sales@a.example" in page
    saved = post_new(client, "sales@a.example", "jane@a.example", confirmed=first.context["fingerprint"])
    assert saved.status_code == 302
    assert Alias.objects.filter(source="sales@a.example", destination="jane@a.example").exists()


def test_a_changed_input_needs_a_new_confirmation(client, bob, jane_mailbox):
    client.force_login(bob)
    first = post_new(client, "sales@a.example", "jane@a.example")
    again = post_new(client, "info@a.example", "jane@a.example", confirmed=first.context["fingerprint"])
    assert again.status_code == 200 and not Alias.objects.exists()


def test_the_delete_page_shows_who_loses_sending_rights(client, bob, jane_mailbox):
    alias = Alias.objects.create(domain=jane_mailbox.domain, source="sales@a.example", destination="jane@a.example")
    client.force_login(bob)
    page = client.get(reverse("alias-delete", args=[alias.pk])).content.decode()
    assert "jane@a.example" in page and "loses" in page and "sales@a.example" in page
