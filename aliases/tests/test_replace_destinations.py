"""services.replace_destinations: an address's whole list of destinations in one step, with the
rules of create_aliases; and delivery.delivery_of, where mail to the address then goes."""

import pytest
from django.core.exceptions import ValidationError

from aliases import delivery, services
from aliases.models import Alias
from mailadmin.models import AuditEntry
from mailadmin.operator import NotPermitted, Operator
from users.models import Mailbox

CLI = Operator.command_line()


def rows(source):
    return sorted(Alias.objects.filter(source=source).values_list("destination", flat=True))


def test_it_adds_and_removes_in_one_step_with_one_audit_entry_per_row(domain_a):
    services.create_aliases(CLI, "info@a.example", ["keep@y.example", "gone@y.example"])
    before = AuditEntry.objects.count()
    added, removed = services.replace_destinations(CLI, "INFO@a.example", ["keep@y.example", "New@y.example"])
    assert (added, removed) == (["new@y.example"], ["gone@y.example"])
    assert rows("info@a.example") == ["keep@y.example", "new@y.example"]
    assert AuditEntry.objects.count() - before == 2


def test_an_empty_list_removes_every_row(domain_a):
    services.create_aliases(CLI, "info@a.example", ["a@y.example", "b@y.example"])
    services.replace_destinations(CLI, "info@a.example", [])
    assert rows("info@a.example") == []


def test_a_loop_through_an_added_destination_changes_nothing(domain_a):
    services.create_aliases(CLI, "info@a.example", ["x@y.example"])
    services.create_aliases(CLI, "b1@a.example", ["info@a.example"])
    with pytest.raises(ValidationError, match="alias loop"):
        services.replace_destinations(CLI, "info@a.example", ["b1@a.example"])
    assert rows("info@a.example") == ["x@y.example"]


def test_forwarding_to_itself_is_refused_unless_a_mailbox_keeps_a_copy(domain_a, jane_mailbox):
    services.create_aliases(CLI, "info@a.example", ["x@y.example"])
    with pytest.raises(ValidationError, match="cannot forward to its own address"):
        services.replace_destinations(CLI, "info@a.example", ["info@a.example"])
    services.create_aliases(CLI, "jane@a.example", ["x@y.example"])
    services.replace_destinations(CLI, "jane@a.example", ["jane@a.example", "x@y.example"])
    assert rows("jane@a.example") == ["jane@a.example", "x@y.example"]


def test_repeats_in_the_input_are_one_row(domain_a):
    services.replace_destinations(CLI, "info@a.example", ["x@y.example", "X@y.example"])
    assert rows("info@a.example") == ["x@y.example"]


def test_a_domain_admin_cannot_replace_another_domains_destinations(bob, domain_b):
    services.create_aliases(CLI, "info@b.example", ["x@y.example"])
    with pytest.raises(NotPermitted):
        services.replace_destinations(Operator.for_user(bob), "info@b.example", ["z@y.example"])
    assert rows("info@b.example") == ["x@y.example"]


def test_delivery_follows_chains_and_the_catch_all_to_mailboxes_outside_addresses_and_bounces(domain_a, jane_mailbox):
    Mailbox.objects.create(domain=domain_a, email="kim@a.example", password=jane_mailbox.password)
    services.create_aliases(CLI, "team@a.example", ["kim@a.example", "boss@elsewhere.example"])
    services.create_aliases(CLI, "@a.example", ["jane@a.example"])
    result = delivery.delivery_of("info@a.example", ["team@a.example", "typo@a.example", "jane@a.example"])
    found = {(e.address, e.kind, e.path) for e in result.endpoints}
    assert found == {
        ("kim@a.example", delivery.MAILBOX, ("team@a.example", "kim@a.example")),
        ("boss@elsewhere.example", delivery.OUTSIDE, ("team@a.example", "boss@elsewhere.example")),
        ("jane@a.example", delivery.MAILBOX, ("jane@a.example",)),
    }  # typo@ falls to the catch-all, which delivers to jane once


def test_delivery_names_an_address_that_bounces(domain_a, jane_mailbox):
    result = delivery.delivery_of("info@a.example", ["nobody@a.example"])
    assert [(e.address, e.kind) for e in result.endpoints] == [("nobody@a.example", delivery.BOUNCES)]


def test_a_mailbox_keeping_a_copy_is_delivered_to(domain_a, jane_mailbox):
    result = delivery.delivery_of("jane@a.example", ["jane@a.example", "x@y.example"])
    assert [(e.address, e.kind) for e in result.endpoints] == [
        ("jane@a.example", delivery.MAILBOX),
        ("x@y.example", delivery.OUTSIDE),
    ]
