"""The real Dovecot reports usage and the panel shows Dovecot's figures.

A private Dovecot 2.3 (mailadmin.testing.dovecot.QuotaUsageDovecot) reads the panel's emitted
dovecot-sql.conf.ext (its user query gives the quota_rule) and includes the emitted quota-usage
snippet as written, its dict service writing quota_usage in the test MariaDB through an account
that has only the grant the README names. Messages of known
size are stored with `doveadm save`; the pages, the export and `mailbox usage` must then show
what Dovecot counted.
"""

import csv
import io
import pwd
import re
import secrets
import subprocess

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from aliases import server_config
from conftest import require_or_skip
from mailadmin.operator import Operator
from mailadmin.testing import doveadm
from mailadmin.testing import dovecot as private_dovecot
from mailadmin.testing.dovecot import MailDatabase, QuotaUsageDovecot
from users import services
from users.models import Domain, DomainUsage, Mailbox, QuotaUsage

pytestmark = [pytest.mark.dovecot, pytest.mark.mariadb, pytest.mark.django_db(transaction=True)]

JANE_QUOTA = 20_000
# What the README grants Dovecot's dict account, and nothing else.
DICT_GRANT = "GRANT SELECT, INSERT, UPDATE ON `{db}`.`quota_usage` TO {account}"


@pytest.fixture
def dict_account(transactional_db):
    """A MariaDB account of its own for the dict service, with only the README's grant."""
    db = connection.settings_dict["NAME"]
    user, password = f"dict_{db}"[:80], secrets.token_hex(16)
    account = f"'{user}'@'127.0.0.1'"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP USER IF EXISTS {account}")
        cursor.execute(f"CREATE USER {account} IDENTIFIED BY %s", [password])
        cursor.execute(DICT_GRANT.format(db=db, account=account))
    yield user, password
    with connection.cursor() as cursor:
        cursor.execute(f"DROP USER IF EXISTS {account}")


def message(size, subject):
    """A message of exactly `size` bytes with CRLF line ends, so Dovecot's virtual size (which
    counts CRLF) is the file size."""
    head = f"From: sender@outside.example\r\nTo: someone@a.example\r\nSubject: {subject}\r\n\r\n".encode()
    lines, left = [], size - len(head)
    while left > 0:
        # Lines of 78 bytes and CRLF; the last one takes what is left (at least the CRLF).
        take = min(80, left) if left - 80 >= 3 or left <= 80 else left - 3
        lines.append(b"x" * (take - 2) + b"\r\n")
        left -= take
    text = head + b"".join(lines)
    assert len(text) == size
    return text


@pytest.fixture
def dovecot(request, transactional_db, settings, monkeypatch):
    if connection.vendor != "mysql":
        pytest.skip("needs MariaDB (run with TEST_DATABASE_URL=mysql://...)")
    dict_user, dict_password = request.getfixturevalue("dict_account")
    missing = private_dovecot.binaries_missing() + ([] if doveadm.available() else ["doveadm"])
    require_or_skip(not missing, f"missing {', '.join(missing)}")
    database = MailDatabase.from_django(connection)
    target = server_config.Target(database.name, database.host, database.port, database.user, True)

    nobody = pwd.getpwnam("nobody")
    monkeypatch.setattr(server_config, "VMAIL_UID", nobody.pw_uid)
    monkeypatch.setattr(server_config, "VMAIL_GID", nobody.pw_gid)

    def configure(workdir):
        # The emitted files, with mail under the temp dir and the machine's unprivileged user in
        # place of the guide's vmail (5000).
        settings.MAILADMIN_VMAIL_ROOT = str(workdir / "vmail")
        dict_target = server_config.Target(database.name, database.host, database.port, dict_user, True)
        snippet = server_config.dovecot_quota_usage_files_23(
            dict_password, dict_target, config_dir=str(workdir), dict_socket_user="nobody", dict_socket_group="nogroup"
        )
        sql_conf = server_config.dovecot_sql_conf(database.password, target).text
        return sql_conf, [(f.path, f.text) for f in snippet]

    with QuotaUsageDovecot(database, configure=configure) as server:
        yield server


@pytest.fixture
def mailboxes(transactional_db):
    a = Domain.objects.create(name="a.example")
    b = Domain.objects.create(name="b.example")
    Mailbox.objects.create(domain=a, email="jane@a.example", password="{PLAIN}x", quota=JANE_QUOTA)
    Mailbox.objects.create(domain=a, email="john@a.example", password="{PLAIN}x", quota=0)
    Mailbox.objects.create(domain=b, email="tom@b.example", password="{PLAIN}x", quota=10 * 1024**2)
    yield
    QuotaUsage.objects.all().delete()
    Mailbox.objects.all().delete()
    Domain.objects.all().delete()


def dovecot_quota(dovecot, user):
    """(KiB, messages) as `doveadm quota get` reports them (STORAGE in KiB, rounded up)."""
    output = dovecot.doveadm("quota", "get", "-u", user)
    storage = re.search(r"User quota\s+STORAGE\s+(\d+)", output)
    count = re.search(r"User quota\s+MESSAGE\s+(\d+)", output)
    return int(storage.group(1)), int(count.group(1))


def test_dovecot_writes_usage_the_panel_shows_everywhere(dovecot, mailboxes, client, alice):
    for n, size in enumerate((9_000, 9_500)):
        dovecot.doveadm("save", "-u", "jane@a.example", input=message(size, f"jane {n}"))
    dovecot.doveadm("save", "-u", "john@a.example", input=message(5_000, "john"))

    rows = {row.mailbox_id: row for row in QuotaUsage.objects.all()}
    assert sorted(rows) == ["jane@a.example", "john@a.example"], dovecot.log_text()
    assert (rows["jane@a.example"].bytes, rows["jane@a.example"].messages) == (18_500, 2)
    assert (rows["john@a.example"].bytes, rows["john@a.example"].messages) == (5_000, 1)
    assert rows["jane@a.example"].updated is not None  # kept by MariaDB, not written by Dovecot
    # Dovecot's own view of the same mailbox.
    assert dovecot_quota(dovecot, "jane@a.example") == (-(-18_500 // 1024), 2)

    client.force_login(alice)
    listing = client.get(reverse("mailbox-list"), {"sort": "-percent"}).content.decode()
    assert 'title="18500 bytes">18.1 KiB</span> of <span title="20000 bytes">19.5 KiB</span> (92 %)' in listing
    assert 'title="5000 bytes">4.9 KiB</span> (no limit)' in listing
    assert "not reported yet" in listing  # tom has had no mail
    jane = Mailbox.objects.get(email="jane@a.example")
    detail = client.get(reverse("mailbox-detail", args=[jane.pk])).content.decode()
    assert '<meter' in detail and 'value="18500"' in detail and 'max="20000"' in detail
    domains = client.get(reverse("domain-list")).content.decode()
    assert 'title="23500 bytes"' in domains  # a.example: 18,500 + 5,000
    dashboard = client.get(reverse("dashboard"), {"refresh": "1"})
    assert [m.email for m in dashboard.context["quota_alerts"]["nearly_full"][1]] == ["jane@a.example"]
    assert reverse("mailbox-detail", args=[jane.pk]) in dashboard.content.decode()

    export = b"".join(client.get(reverse("bulk-export"), {"what": "mailboxes"}).streaming_content).decode()
    exported = {row["email"]: row for row in csv.DictReader(io.StringIO(export))}
    assert (exported["jane@a.example"]["used_bytes"], exported["jane@a.example"]["messages"]) == ("18500", "2")
    assert exported["tom@b.example"]["used_bytes"] == ""

    out = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("mailbox", "usage", "--over", "90", stdout=out)
    assert failed.value.returncode == 1
    assert out.getvalue().splitlines() == ["jane@a.example\t18500\t20000\t92\t2\t18.1 KiB of 19.5 KiB (92 %)"]


def test_dovecots_writes_keep_the_percent_the_panel_sorts_and_alerts_by(dovecot, mailboxes):
    """quota_usage's triggers run inside Dovecot's own upserts, through its dict account with
    only the README's grant, and follow a quota the panel changes meanwhile."""
    dovecot.doveadm("save", "-u", "jane@a.example", input=message(18_000, "one"))
    dovecot.doveadm("save", "-u", "john@a.example", input=message(5_000, "unlimited"))
    rows = {row.mailbox_id: row for row in QuotaUsage.objects.all()}
    assert rows["jane@a.example"].used_ppm == 900_000, dovecot.log_text()  # 18,000 of 20,000
    assert rows["john@a.example"].used_ppm is None  # no limit, no percent
    domain = Domain.objects.get(name="a.example")
    kept = DomainUsage.objects.get(domain_id=domain.pk)  # the domain's sums, kept by the same triggers
    assert (kept.bytes, kept.reported) == (18_000 + 5_000, 2)
    assert (kept.mailboxes_full, kept.mailboxes_nearly_full) == (0, 1)  # jane, at 90 %
    services.set_quota(Operator.command_line(), Mailbox.objects.get(email="jane@a.example"), "40000")
    assert QuotaUsage.objects.get(mailbox_id="jane@a.example").used_ppm == 450_000
    kept.refresh_from_db()
    assert (kept.mailboxes_full, kept.mailboxes_nearly_full) == (0, 0)
    dovecot.doveadm("save", "-u", "jane@a.example", input=message(2_000, "two"))
    row = QuotaUsage.objects.get(mailbox_id="jane@a.example")
    assert (row.bytes, row.messages, row.used_ppm) == (20_000, 2, 500_000), dovecot.log_text()


def test_a_deletion_reports_the_smaller_usage(dovecot, mailboxes):
    dovecot.doveadm("save", "-u", "jane@a.example", input=message(3_000, "keep"))
    dovecot.doveadm("save", "-u", "jane@a.example", input=message(2_000, "drop"))
    assert QuotaUsage.objects.get(mailbox_id="jane@a.example").bytes == 5_000
    dovecot.doveadm("expunge", "-u", "jane@a.example", "mailbox", "INBOX", "SUBJECT", "drop")
    row = QuotaUsage.objects.get(mailbox_id="jane@a.example")
    assert (row.bytes, row.messages) == (3_000, 1)


def test_doveadm_quota_recalc_does_not_write_the_table_on_dovecot_2_3(dovecot, mailboxes):
    # What the README says about filling the table: Dovecot 2.3.19's quota_clone copies usage
    # when mail is saved, copied or expunged, not on `doveadm quota recalc` (which only
    # recounts). If this starts failing, Dovecot fills the table on recalc: update the README.
    dovecot.doveadm("save", "-u", "jane@a.example", input=message(3_000, "one"))
    QuotaUsage.objects.all().delete()
    dovecot.doveadm("quota", "recalc", "-A")
    assert not QuotaUsage.objects.exists()
    assert dovecot_quota(dovecot, "jane@a.example") == (3, 1)  # Dovecot itself still knows


def test_dovecot_refuses_mail_over_the_quota_the_panel_shows(dovecot, mailboxes):
    dovecot.doveadm("save", "-u", "jane@a.example", input=message(19_000, "big"))
    refused = subprocess.run(
        ["/usr/bin/doveadm", "-c", str(dovecot.config_file), "save", "-u", "jane@a.example"],
        input=message(2_000, "too much"), capture_output=True, timeout=60, start_new_session=True,
    )  # fmt: skip
    assert refused.returncode != 0 and b"Quota exceeded" in refused.stderr
    assert QuotaUsage.objects.get(mailbox_id="jane@a.example").bytes == 19_000
