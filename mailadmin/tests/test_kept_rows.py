"""keyset.kept_rows: a page's statement built once and kept; its rows read afresh each time,
as the ORM would read them."""

import re

import pytest
from django.utils import timezone

from mailadmin import kept_statements
from mailadmin.keyset import _Slot, kept_rows
from mailadmin.models import AuditEntry
from users.models import Mailbox


@pytest.fixture
def mailboxes(domain_a):
    return [Mailbox.objects.create(domain=domain_a, email=f"u{n}@a.example", password="{PLAIN}x", quota=n) for n in range(3)]


def test_instances_are_the_orms_and_show_later_changes(mailboxes):
    def newest():
        return Mailbox.objects.order_by("-email")[:2]

    def fields(rows):
        return [(m.pk, m.domain_id, m.email, m.password, m.quota) for m in rows]

    assert fields(kept_rows(("test instances",), newest)) == fields(newest())
    Mailbox.objects.filter(email="u2@a.example").update(quota=7)
    assert fields(kept_rows(("test instances",), newest))[0][-1] == 7


def test_flat_values_are_the_orms_and_show_later_rows(mailboxes, domain_a):
    def emails():
        return Mailbox.objects.order_by("email").values_list("email", flat=True)[:10]

    assert kept_rows(("test values",), emails) == list(emails()) == ["u0@a.example", "u1@a.example", "u2@a.example"]
    Mailbox.objects.create(domain=domain_a, email="a@a.example", password="{PLAIN}x")
    assert kept_rows(("test values",), emails)[0] == "a@a.example"


def test_values_the_orm_converts_are_converted_as_the_orm_does(db):
    AuditEntry.objects.create(
        timestamp=timezone.now(), actor="x", action="update", object_type="mailbox", object_repr="m", changes={"quota": [1, 2]}
    )

    def changes():
        return AuditEntry.objects.order_by("-id").values_list("changes", flat=True)[:1]

    assert kept_rows(("test converted values",), changes) == list(changes()) == [{"quota": [1, 2]}]
    assert kept_statements.kept(("test converted values",), lambda: None)[0] == "values"


def test_tuples_are_the_orms_with_every_value_converted(db):
    import datetime

    now = timezone.now()
    for n in range(3):
        AuditEntry.objects.create(timestamp=now - datetime.timedelta(minutes=n), actor=f"a{n}", address="192.0.2.1",
                                  action="update", object_type="mailbox", object_repr="m", changes={"quota": [n, None]})

    def older(moment):
        return AuditEntry.objects.filter(timestamp__lt=moment).order_by("-timestamp").values_list(
            "id", "timestamp", "actor", "address", "changes")[:10]

    for moment in (now + datetime.timedelta(seconds=1), now, now - datetime.timedelta(minutes=1)):
        kept = kept_rows(("test tuples",), older, values=(moment,))
        assert kept == list(older(moment)) and kept, moment
        assert all(type(row) is tuple and row[1].tzinfo is not None and type(row[4]) is dict for row in kept)
    read, _sql, params, _model, _using, _converters, _names = kept_statements.kept(("test tuples",), lambda: None)
    assert read == "tuples" and params == (_Slot(0),)


def test_rows_read_with_their_related_rows_are_read_through_the_orm(mailboxes, django_assert_num_queries):
    def with_domains():
        return Mailbox.objects.select_related("domain").order_by("email")[:10]

    with django_assert_num_queries(1):
        rows = kept_rows(("test related",), with_domains)
        assert [m.domain.name for m in rows] == ["a.example"] * 3


def test_a_queryset_that_matches_nothing_reads_no_rows(mailboxes):
    assert kept_rows(("test nothing",), lambda: Mailbox.objects.none()) == []


def test_other_shapes_of_rows_are_refused(mailboxes):
    with pytest.raises(TypeError):
        kept_rows(("test dicts",), lambda: Mailbox.objects.values("email")[:1])
    with pytest.raises(TypeError):
        kept_rows(("test named tuples",), lambda: Mailbox.objects.values_list("email", named=True)[:1])


def test_a_statement_kept_for_one_key_reads_the_rows_beyond_any_other(mailboxes):
    def after(email):
        return Mailbox.objects.filter(email__gt=email).order_by("email")[:10]

    for email in ("u0@a.example", "", "u1@a.example", "zzz", "u0@a.example"):
        assert kept_rows(("test after",), after, values=(email,)) == list(after(email))
    # Kept with a place for the key, not read through the ORM each time.
    read, _sql, params, _model, _using, _converters, _names = kept_statements.kept(("test after",), lambda: None)
    assert read == "instances" and params.count(_Slot(0)) == 1


def test_a_key_of_several_values_fills_each_of_its_places(mailboxes):
    from django.db.models import Q

    def beyond(quota, email):
        return Mailbox.objects.filter(Q(quota__lt=quota) | Q(quota=quota, email__lt=email)).order_by("-quota", "-email")[:10]

    for key in ((2, "u2@a.example"), (1, "zzz"), (3, ""), (0, "u0@a.example")):
        assert kept_rows(("test beyond",), beyond, values=key) == list(beyond(*key)), key


def test_a_key_the_guides_columns_cannot_hold_finds_nothing_instead_of_an_error(mailboxes):
    def after(email):
        return Mailbox.objects.filter(email__gt=email).order_by("email")[:10]

    kept_rows(("test unstorable",), after, values=("u0@a.example",))
    assert kept_rows(("test unstorable",), after, values=("😀@a.example",)) == list(after("😀@a.example"))


def test_a_key_by_id_finds_its_row_whatever_range_the_id_column_has(mailboxes):
    def by_id(pk):
        return Mailbox.objects.filter(pk=pk)[:1]

    for mailbox in mailboxes:
        assert kept_rows(("test by id",), by_id, values=(mailbox.pk,)) == [mailbox]
    assert kept_rows(("test by id",), by_id, values=(10**6,)) == []


def test_a_moment_in_a_key_takes_its_place_as_the_backend_writes_it(db):
    import datetime

    now = timezone.now()
    AuditEntry.objects.bulk_create(
        AuditEntry(timestamp=now - datetime.timedelta(minutes=n), actor="x", action="create", object_type="domain",
                   object_repr=f"d{n}")
        for n in range(5)
    )

    def since(moment):
        return AuditEntry.objects.filter(timestamp__gte=moment).order_by("id")[:10]

    for minutes in (0, 2, 10, 2):
        moment = now - datetime.timedelta(minutes=minutes)
        assert kept_rows(("test moments",), since, values=(moment,)) == list(since(moment)), minutes
    read, _sql, params, _model, _using, _converters, _names = kept_statements.kept(("test moments",), lambda: None)
    assert read == "instances" and params == (_Slot(0),)


def test_a_key_of_other_types_is_read_through_the_orm(mailboxes):
    import datetime

    def created_on(day):
        return Mailbox.objects.filter(domain__name__gte=str(day)).order_by("id")[:10]

    day = datetime.date(2026, 1, 1)
    assert kept_rows(("test days",), created_on, values=(day,)) == list(created_on(day))


def _made(instance):
    """What an instance holds: its values, annotations and deferred fields, and its state."""
    values = {name: value for name, value in vars(instance).items() if name != "_state"}
    return values, instance.get_deferred_fields(), instance._state.adding, instance._state.db


def test_instances_hold_what_djangos_own_hold(mailboxes):
    from users import quota_usage

    def annotated():
        return quota_usage.with_usage(Mailbox.objects.order_by("email"))[:10]

    def deferred():
        return Mailbox.objects.only("email").order_by("-email")[:10]

    for key, make in (("test annotated", annotated), ("test deferred", deferred)):
        kept = kept_rows((key,), make)
        assert [_made(m) for m in kept] == [_made(m) for m in make()] and kept
        assert kept_statements.kept((key,), lambda: None)[-1] is not None  # made here, not by Django
    mailbox = kept_rows(("test deferred",), deferred)[0]
    assert mailbox.quota == 2  # a deferred field is read when asked for, as Django's are
    mailbox.quota = 9
    mailbox.save()
    assert Mailbox.objects.get(pk=mailbox.pk).quota == 9


def test_instances_of_a_model_with_init_signals_are_made_by_django(mailboxes):
    from django.db.models.signals import post_init

    seen = []

    def note(sender, instance, **kwargs):
        seen.append(instance.email)

    post_init.connect(note, sender=Mailbox)
    try:
        rows = kept_rows(("test signals",), lambda: Mailbox.objects.order_by("email")[:10])
    finally:
        post_init.disconnect(note, sender=Mailbox)
    assert seen == [m.email for m in rows] == ["u0@a.example", "u1@a.example", "u2@a.example"]


def test_a_prefix_takes_its_place_in_a_like_pattern_escaped_as_the_orm_escapes_it(mailboxes, domain_a):
    from mailadmin.keyset import kept_count_of

    for odd in ("u_x", "u%x", "u\\x", "ux"):
        Mailbox.objects.create(domain=domain_a, email=f"{odd}@a.example", password="{PLAIN}x")

    def starting(prefix):
        return Mailbox.objects.filter(email__istartswith=prefix).order_by("email")[:10]

    for prefix in ("u", "U0", "u_", "u%", "u\\", "ux", "zz", "u0@a.example", "😀"):
        assert kept_rows(("test prefix",), starting, values=(prefix,)) == list(starting(prefix)), prefix
        assert kept_count_of(("test prefix count",), starting, values=(prefix,)) == starting(prefix).count(), prefix
    read, _sql, params, *_rest = kept_statements.kept(("test prefix",), lambda: None)
    assert read == "instances" and params == (_Slot(0, prefix=True),)


def test_kept_sql_is_the_built_statement_with_the_values_in_their_places(mailboxes):
    from django.db import connection

    from mailadmin.keyset import kept_sql

    def build(prefix, after):
        sql, params = Mailbox.objects.filter(email__istartswith=prefix, email__gt=after).values("email").query.sql_with_params()
        return sql, params

    def emails(statement):
        with connection.cursor() as cursor:
            cursor.execute(*statement)
            return sorted(row[0] for row in cursor.fetchall())

    for prefix, after in (("u", ""), ("u", "u0@a.example"), ("u_", ""), ("x", "a")):
        assert emails(kept_sql(("test sql",), build, (prefix, after))) == emails(build(prefix, after))
    assert set(kept_statements.kept(("test sql",), lambda: None)[1]) == {_Slot(0, prefix=True), _Slot(1)}


def test_a_value_used_as_it_is_and_changed_too_is_never_run_as_its_stand_in(mailboxes):
    from django.db.models import Q

    def both(text):
        return Mailbox.objects.filter(Q(email=text) | Q(email__contains=text)).order_by("email")[:10]

    def on_the_day(moment):
        return AuditEntry.objects.filter(Q(timestamp=moment) | Q(timestamp__date=moment.date())).order_by("id")[:10]

    assert kept_rows(("test both",), both, values=("u1",)) == list(both("u1")) and list(both("u1"))
    assert kept_statements.kept(("test both",), lambda: None)[0] == "through the ORM"
    AuditEntry.objects.create(timestamp=timezone.now(), actor="x", action="create", object_type="domain", object_repr="d")
    moment = timezone.now()
    assert kept_rows(("test day",), on_the_day, values=(moment,)) == list(on_the_day(moment)) and list(on_the_day(moment))


def test_a_kept_count_reads_the_primary_keys_alone_as_djangos_count_does(mailboxes, domain_a):
    from mailadmin.keyset import kept_count, kept_count_of

    def starting(prefix):
        return Mailbox.objects.filter(email__istartswith=prefix).order_by()[:2]

    assert kept_count_of(("test count",), starting, values=("u",)) == starting("u").count() == 2
    assert kept_count(Mailbox.objects.order_by()[:10], ("test whole count",)) == 3
    distinct = Mailbox.objects.values_list("domain_id", flat=True).distinct().order_by()
    assert kept_count(distinct, ("test distinct count",)) == distinct.count() == 1
    for key in (("test count",), ("test whole count",)):
        sql = kept_statements.kept(key, lambda: None)[0]
        inner = re.search(r"\(SELECT (.*?) FROM ", sql).group(1)
        assert "," not in inner and "email" not in inner and "id" in inner, sql
