import json
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from aliases.models import Alias
from conftest import MAILBOX_PASSWORD
from mailadmin import audit
from mailadmin.db import save_validated
from mailadmin.models import AuditEntry
from users import services
from users.models import DomainAdminGrant, Mailbox
from mailadmin.operator import Operator

NEW_PASSWORD = "Another-Passw0rd-entirely"


def entries_about(text):
    return list(AuditEntry.objects.filter(object_repr__contains=text).order_by("id"))


def everything_logged():
    return json.dumps([[e.actor, e.object_repr, e.changes] for e in AuditEntry.objects.all()])


def test_it_records_a_new_mailbox_with_actor_and_address(domain_a):
    operator = Operator(label="cli:root", via="cli", address="192.0.2.7")
    services.create_mailbox(operator, "new@a.example", MAILBOX_PASSWORD, quota=1024, domain=domain_a)
    (entry,) = entries_about("new@a.example")
    assert (entry.actor, entry.address, entry.via, entry.action) == ("cli:root", "192.0.2.7", "cli", "create")
    assert (entry.object_type, entry.domain) == ("mailbox", "a.example")
    assert entry.changes["quota"] == [None, 1024]
    assert entry.changes["password"] == "password set"


def test_it_records_before_and_after_of_a_quota_change(jane_mailbox):
    services.set_quota(Operator.command_line(), jane_mailbox, "2G")
    entry = entries_about("jane@a.example")[-1]
    assert entry.action == "update"
    assert entry.changes == {"quota": [0, 2 * 1024**3]}


def test_it_never_logs_a_password_or_its_hash(jane_mailbox):
    old_hash = jane_mailbox.password
    services.set_password(Operator.command_line(), jane_mailbox, NEW_PASSWORD)
    entry = entries_about("jane@a.example")[-1]
    assert entry.changes == {"password": audit.PASSWORD_CHANGED}
    logged = everything_logged()
    for secret in (old_hash, jane_mailbox.password, NEW_PASSWORD, MAILBOX_PASSWORD):
        assert secret not in logged
    assert "$2" not in logged


def test_a_save_without_change_is_not_logged(jane_mailbox):
    before = AuditEntry.objects.count()
    Mailbox.objects.get(pk=jane_mailbox.pk).save()
    assert AuditEntry.objects.count() == before


def test_deleting_a_domain_logs_every_row_it_takes_along(jane_mailbox, domain_a):
    save_validated(Alias(domain=domain_a, source="info@a.example", destination="jane@a.example"))
    domain_a.delete()
    deleted = {(e.object_type, e.object_repr) for e in AuditEntry.objects.filter(action="delete")}
    assert deleted == {("domain", "a.example"), ("mailbox", "jane@a.example"), ("alias", "info@a.example → jane@a.example")}
    mailbox_entry = AuditEntry.objects.get(action="delete", object_type="mailbox")
    assert mailbox_entry.changes["password"] == "password removed"
    assert jane_mailbox.password not in everything_logged()


def test_a_grant_is_logged_by_user_and_domain_name(bob):
    entry = AuditEntry.objects.get(object_type="domain admin")
    assert entry.changes == {"user": [None, "bob"], "domain": [None, "a.example"]}
    assert entry.domain == "a.example"


def test_a_change_through_the_web_names_the_login_and_client_address(client, alice, jane_mailbox):
    client.force_login(alice)
    url = reverse("admin:users_mailbox_change", args=[jane_mailbox.pk])
    response = client.post(url, {"quota": "1048576"}, REMOTE_ADDR="198.51.100.4")
    assert response.status_code == 302, response.content[:2000]
    entry = entries_about("jane@a.example")[-1]
    assert (entry.actor, entry.address, entry.via) == ("alice", "198.51.100.4", "django-admin")
    assert entry.changes == {"quota": [0, 1048576]}


@pytest.fixture
def mixed_log(jane_mailbox, domain_b):
    services.create_mailbox(Operator(label="cli:ops", via="cli"), "tom@b.example", MAILBOX_PASSWORD, domain=domain_b)
    AuditEntry.objects.filter(object_repr="a.example").update(timestamp=timezone.now() - timedelta(days=10))


def test_the_log_page_shows_a_domain_admin_only_entries_about_their_domains(client, bob, carol, mixed_log):
    client.force_login(bob)
    page = client.get(reverse("audit-log")).content.decode()
    assert "jane@a.example" in page
    assert "tom@b.example" not in page
    assert "carol administers b.example" not in page


def test_staff_without_domains_sees_no_entries(client, dave, mixed_log):
    client.force_login(dave)
    page = client.get(reverse("audit-log")).content.decode()
    assert "No entries." in page


def test_the_log_filters_by_actor_object_and_date(client, alice, mixed_log):
    client.force_login(alice)
    url = reverse("audit-log")
    by_actor = client.get(url, {"actor": "cli:ops"}).content.decode()
    assert "tom@b.example" in by_actor and "jane@a.example" not in by_actor
    by_object = client.get(url, {"object": "jane@"}).content.decode()
    assert "jane@a.example" in by_object and "tom@b.example" not in by_object
    today = timezone.localdate().isoformat()
    recent = client.get(url, {"since": today}).content.decode()
    assert "tom@b.example" in recent and ">a.example<" not in recent
    old = client.get(url, {"until": (timezone.localdate() - timedelta(days=5)).isoformat()}).content.decode()
    assert ">a.example<" in old and "tom@b.example" not in old


def test_the_log_exports_filtered_csv(client, alice, mixed_log):
    client.force_login(alice)
    response = client.get(reverse("audit-export"), {"object": "tom@"})
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    lines = text.strip().splitlines()
    assert lines[0].startswith("time,actor,address")
    assert len(lines) == 2 and "tom@b.example" in lines[1] and "password set" in lines[1]


def test_the_log_is_not_for_mailbox_users(client, jane):
    client.force_login(jane)
    assert client.get(reverse("audit-log")).status_code == 403
    assert client.get(reverse("audit-export")).status_code == 403


def test_the_log_sends_strangers_to_the_login(client, db):
    response = client.get(reverse("audit-log"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_grant_for_deleted_user_is_logged_on_delete(bob):
    DomainAdminGrant.objects.filter(user=bob).delete()
    entry = AuditEntry.objects.get(object_type="domain admin", action="delete")
    assert entry.changes == {"user": ["bob", None], "domain": ["a.example", None]}


def test_the_log_pages_by_key_newest_first_through_every_entry(client, alice, db):
    when = timezone.now()
    AuditEntry.objects.bulk_create(
        AuditEntry(timestamp=when - timedelta(minutes=n // 3), actor="cli:seed", action="create",
                   object_type="domain", object_repr=f"d{n:03}.example", domain=f"d{n:03}.example")
        for n in range(120)
    )
    client.force_login(alice)
    url, seen, pages = reverse("audit-log"), [], 0
    query = {}
    while True:
        page = client.get(url, query).content.decode()
        seen += re.findall(r"<td>(d\d\d\d\.example)</td>", page)
        pages += 1
        older = re.search(r'older_than=(\d+)" rel="next"', page)
        if not older:
            break
        assert pages < 10, "the pages never end"
        query = {"older_than": older.group(1)}
    assert pages == 3 and len(seen) == 120 and len(set(seen)) == 120
    # Newest first, three entries a minute; within a minute the later-written entry first.
    assert seen[:4] == ["d002.example", "d001.example", "d000.example", "d005.example"]
    newer = re.search(r'newer_than=(\d+)" rel="prev"', page)
    back = client.get(url, {"newer_than": newer.group(1)}).content.decode()
    assert re.findall(r"<td>(d\d\d\d\.example)</td>", back) == seen[50:100]
    assert "120 entries match." in back


def test_the_log_says_more_than_a_thousand_instead_of_counting_them_all(client, alice, db, monkeypatch):
    from mailadmin import bulk_views

    monkeypatch.setattr(bulk_views, "AUDIT_COUNT_UP_TO", 5)
    AuditEntry.objects.bulk_create(
        AuditEntry(timestamp=timezone.now(), actor="x", action="create", object_type="domain", object_repr=f"{n}")
        for n in range(7)
    )
    client.force_login(alice)
    assert "More than 5 entries match." in client.get(reverse("audit-log")).content.decode()


def test_the_first_page_and_its_count_follow_new_entries_and_each_persons_scope(client, alice, bob, domain_b, mixed_log):
    """Their statements are built once per scope and kept; each view reads the log afresh."""
    client.force_login(alice)
    first = client.get(reverse("audit-log")).content.decode()
    assert "tom@b.example" in first and "jane@a.example" in first
    client.force_login(bob)
    assert "tom@b.example" not in client.get(reverse("audit-log")).content.decode()
    services.create_mailbox(Operator(label="cli:ops", via="cli"), "zoe@b.example", MAILBOX_PASSWORD, domain=domain_b)
    client.force_login(alice)
    again = client.get(reverse("audit-log")).content.decode()
    assert "zoe@b.example" in again
    assert int(re.search(r"(\d+) entries match", again).group(1)) == int(re.search(r"(\d+) entries match", first).group(1)) + 1


def test_every_filter_and_page_of_the_log_lists_what_a_reading_of_every_entry_lists(client, alice, db, monkeypatch):
    """Filtered pages are read through statements kept per set of filters, the filters' values
    and a page's entry in their places (mailadmin/keyset.py)."""
    from mailadmin import kept_statements

    monkeypatch.setattr(kept_statements, "_statements", {})
    start = timezone.now().replace(microsecond=0) - timedelta(days=30)
    AuditEntry.objects.bulk_create(
        AuditEntry(timestamp=start + timedelta(hours=7 * n), actor=["alice", "bob", "cli:ops"][n % 3], action="update",
                   object_type="mailbox", object_repr=[f"u{n}@a.example", f"u_{n}@b.example", f"u%{n}@c.example"][n % 3],
                   domain="a.example", changes={"quota": [n, n + 1]})
        for n in range(90)
    )
    entries = list(AuditEntry.objects.order_by("-timestamp", "-id"))
    client.force_login(alice)
    day = timezone.localdate() - timedelta(days=20)
    filters = [
        ({"actor": "bob"}, lambda e: e.actor == "bob"),
        ({"actor": "nobody"}, lambda e: False),
        ({"object": "u_"}, lambda e: e.object_repr.startswith("u_")),
        ({"object": "U%"}, lambda e: e.object_repr.startswith("u%")),
        ({"object": "u1"}, lambda e: e.object_repr.startswith("u1")),
        ({"since": day.isoformat()}, lambda e: timezone.localdate(e.timestamp) >= day),
        ({"until": day.isoformat(), "actor": "alice"}, lambda e: timezone.localdate(e.timestamp) <= day and e.actor == "alice"),
    ]
    for query, keeps in filters * 2:
        expected = [e.object_repr for e in entries if keeps(e)]
        seen, url_query = [], dict(query)
        while True:
            response = client.get(reverse("audit-log"), url_query)
            page = response.context["page"]
            seen += [entry.object_repr for entry in page.entries]
            if not page.has_older:
                break
            url_query = {**query, "older_than": page.entries[-1].pk}
        assert seen == expected, query
        assert response.context["matching"] == len(expected), query
    kept = {key[2] for _database, key in kept_statements._statements if key[0] == "audit log"}
    assert kept == {("actor",), ("object",), ("since",), ("actor", "until")}
