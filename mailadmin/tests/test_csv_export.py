import csv
import io

import pytest
from django.urls import reverse

from aliases.models import Alias
from mailadmin import csv_io
from users.models import Mailbox


# Usage columns (users/tests/test_quota_usage.py): empty while Dovecot has not reported a mailbox.
USAGE_HEADER = ["email", "quota", "used_bytes", "messages", "usage_updated"]
NO_USAGE = ["", "", ""]


def rows_of(response):
    assert response.streaming, "an export must stream, not build the file in memory"
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.fixture
def mailboxes(jane_mailbox, domain_a, domain_b):
    Mailbox.objects.create(domain=domain_a, email="zoe@a.example", password="{BLF-CRYPT}$2y$05$" + "z" * 53, quota=5)
    Mailbox.objects.create(domain=domain_b, email="tom@b.example", password="{SHA512-CRYPT}$6$salt$hash", quota=7)
    Alias.objects.create(domain=domain_a, source="info@a.example", destination="jane@a.example")
    Alias.objects.create(domain=domain_b, source="@b.example", destination="tom@b.example")


def test_it_exports_mailboxes_without_hashes_unless_asked(client, alice, mailboxes):
    client.force_login(alice)
    rows = rows_of(client.get(reverse("bulk-export"), {"what": "mailboxes"}))
    assert rows == [USAGE_HEADER, ["jane@a.example", "0", *NO_USAGE], ["tom@b.example", "7", *NO_USAGE],
                    ["zoe@a.example", "5", *NO_USAGE]]


def test_it_exports_hashes_when_a_superuser_asks(client, alice, mailboxes):
    client.force_login(alice)
    rows = rows_of(client.get(reverse("bulk-export"), {"what": "mailboxes", "hashes": "on", "domain": "b.example"}))
    assert rows == [[*USAGE_HEADER, "password"], ["tom@b.example", "7", *NO_USAGE, "{SHA512-CRYPT}$6$salt$hash"]]


def test_a_domain_admin_exports_only_their_domain_and_never_hashes(client, bob, mailboxes):
    client.force_login(bob)
    rows = rows_of(client.get(reverse("bulk-export"), {"what": "mailboxes", "hashes": "on"}))
    assert rows == [USAGE_HEADER, ["jane@a.example", "0", *NO_USAGE], ["zoe@a.example", "5", *NO_USAGE]]


def test_a_domain_admin_cannot_name_another_domain(client, bob, mailboxes):
    client.force_login(bob)
    response = client.get(reverse("bulk-export"), {"what": "mailboxes", "domain": "b.example"})
    assert response.status_code == 400


def test_it_exports_aliases(client, alice, mailboxes):
    client.force_login(alice)
    rows = rows_of(client.get(reverse("bulk-export"), {"what": "aliases"}))
    assert rows[0] == ["source", "destination"]
    # A catch-all starts with "@": written as text for spreadsheets (mailadmin/csv_safe.py).
    assert sorted(rows[1:]) == [["'@b.example", "tom@b.example"], ["info@a.example", "jane@a.example"]]


def test_the_export_pages_through_the_table_by_key(domain_a, monkeypatch):
    # Several pages of 3 rows each: every row once, in order, across page boundaries.
    monkeypatch.setattr(csv_io, "CHUNK", 3)
    emails = [f"user{n:02}@a.example" for n in range(10)]
    Mailbox.objects.bulk_create(Mailbox(domain=domain_a, email=e, password="{PLAIN}x") for e in emails)
    lines = list(csv_io.export_mailboxes(Mailbox.objects.all()))
    assert [line.split(",")[0] for line in lines[1:]] == emails


def test_export_is_for_staff_only(client, jane):
    client.force_login(jane)
    assert client.get(reverse("bulk-export"), {"what": "mailboxes"}).status_code == 403
