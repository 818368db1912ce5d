"""mailadmin.instances: a raw query's instances made as Django's RawQuerySet makes them."""

import pytest
from django.core.exceptions import FieldDoesNotExist
from django.db import connection
from django.db.models.signals import pre_init

from mailadmin import instances
from mailadmin.models import AuditEntry
from users.models import Mailbox


def _made(instance):
    values = {name: value for name, value in vars(instance).items() if name != "_state"}
    return type(instance), values, instance.get_deferred_fields(), instance._state.adding, instance._state.db


@pytest.fixture
def mailboxes(domain_a):
    return [Mailbox.objects.create(domain=domain_a, email=f"u{n}@a.example", password="{PLAIN}x", quota=n) for n in range(3)]


def _table(model):
    return connection.ops.quote_name(model._meta.db_table)


@pytest.mark.parametrize(
    "columns, translations",
    [
        ("*", None),
        ("id, email, quota", None),  # the rest deferred
        ("id AS the_id, email AS address, quota * 2 AS doubled", {"the_id": "id", "address": "email"}),
    ],
)
def test_a_raw_querys_instances_are_djangos(mailboxes, columns, translations):
    sql = f"SELECT {columns} FROM {_table(Mailbox)} ORDER BY email"
    instances._raw_columns.clear()
    made = instances.raw(Mailbox, sql, (), translations=translations)
    assert [_made(m) for m in made] == [_made(m) for m in Mailbox.objects.raw(sql, translations=translations)]
    assert len(made) == 3
    (reading,) = instances._raw_columns.values()
    assert reading is not None  # made here, not by Django
    assert made[0].quota == 0 and made[2].domain.name == "a.example"  # deferred fields and relations read on demand


def test_values_are_converted_as_the_orm_converts_them(db):
    from django.utils import timezone

    AuditEntry.objects.create(timestamp=timezone.now(), actor="x", action="create", object_type="domain",
                              object_repr="d", changes={"a": [1, 2]})
    sql = f"SELECT * FROM {_table(AuditEntry)}"
    (made,) = instances.raw(AuditEntry, sql)
    assert _made(made) == _made(AuditEntry.objects.raw(sql)[0])
    assert made.changes == {"a": [1, 2]} and made.timestamp.tzinfo is not None


def test_a_raw_query_without_the_primary_key_fails_as_djangos_does(mailboxes):
    with pytest.raises(FieldDoesNotExist):
        instances.raw(Mailbox, f"SELECT email FROM {_table(Mailbox)}")


def test_a_model_with_init_signals_has_its_instances_made_by_django(mailboxes):
    seen = []

    def note(sender, **kwargs):
        seen.append(kwargs["args"])

    pre_init.connect(note, sender=Mailbox)
    try:
        made = instances.raw(Mailbox, f"SELECT * FROM {_table(Mailbox)} ORDER BY email")
    finally:
        pre_init.disconnect(note, sender=Mailbox)
    assert len(seen) == len(made) == 3


def test_a_model_that_sets_an_attribute_through_its_own_descriptor_is_made_by_django():
    class Shouting:
        def __get__(self, instance, owner=None):
            return self if instance is None else instance.__dict__["loud"]

        def __set__(self, instance, value):
            instance.__dict__["loud"] = value.upper()

    assert instances.made_plainly(Mailbox, ["id", "email", "doubled"])
    Mailbox.loud = Shouting()
    try:
        assert not instances.made_plainly(Mailbox, ["id", "email", "loud"])
    finally:
        del Mailbox.loud
