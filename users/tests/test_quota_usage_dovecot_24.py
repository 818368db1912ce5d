"""Quota usage on the Trixie edition: Dovecot 2.4 (from the Trixie root) reports usage into the
panel's quota_usage table with the 2.4 snippet the panel emits.

As users/tests/test_quota_usage_dovecot.py does for 2.3: a private Dovecot 2.4 reads the panel's
generated 99-ispmail-sql.conf (its user query gives quota_storage_size) and includes the emitted
91-mailadmin-quota-usage.conf as written, its dict server writing quota_usage in the test
MariaDB through an account with only the grant the README names; mail is stored with
`doveadm save`.
"""

import re
import subprocess

import pytest
from django.db import connection

from aliases import server_config
from aliases.guides import TRIXIE
from conftest import require_or_skip
from mailadmin.testing import dovecot as private_dovecot
from mailadmin.testing.dovecot import MailDatabase, QuotaUsageDovecot
from mailadmin.testing.trixie import missing_reason, trixie_root
from users.models import Domain, DomainUsage, QuotaUsage
from users.tests.test_quota_usage_dovecot import dict_account, mailboxes, message  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.dovecot, pytest.mark.mariadb, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def dovecot24(request, transactional_db):
    if connection.vendor != "mysql":
        pytest.skip("needs MariaDB (run with TEST_DATABASE_URL=mysql://...)")
    require_or_skip(missing_reason() is None, missing_reason() or "")
    root = trixie_root()
    require_or_skip(not private_dovecot.binaries_missing(root), f"missing Dovecot in {root}")
    dict_user, dict_password = request.getfixturevalue("dict_account")
    database = MailDatabase.from_django(connection)
    target = server_config.Target(database.name, database.host, database.port, database.user, True)

    def configure(workdir):
        dict_target = server_config.Target(database.name, database.host, database.port, dict_user, True)
        snippet = server_config.dovecot_quota_usage_files_24(
            dict_password, dict_target, config_dir=str(workdir), dict_socket_user="nobody", dict_socket_group="nogroup"
        )
        sql_conf = server_config.dovecot_sql_conf(database.password, target, TRIXIE).text
        return sql_conf, [(f.path, f.text) for f in snippet]

    with QuotaUsageDovecot(database, configure=configure, root=root) as server:
        yield server


def dovecot_quota(dovecot, user):
    """(KiB, messages) as `doveadm quota get` reports them."""
    output = dovecot.doveadm("quota", "get", "-u", user)
    storage = re.search(r"User quota\s+STORAGE\s+(\d+)", output)
    count = re.search(r"User quota\s+MESSAGE\s+(\d+)", output)
    return int(storage.group(1)), int(count.group(1))


def usage():
    return {row.mailbox_id: (row.bytes, row.messages) for row in QuotaUsage.objects.all()}


def test_dovecot_24_writes_each_users_usage_into_quota_usage(dovecot24, mailboxes):
    for n, size in enumerate((9_000, 9_500)):
        dovecot24.doveadm("save", "-u", "jane@a.example", input=message(size, f"jane {n}"))
    # john's quota is 0 (unlimited): quota_storage_size = 0B must not refuse his mail.
    dovecot24.doveadm("save", "-u", "john@a.example", input=message(5_000, "john"))
    assert usage() == {"jane@a.example": (18_500, 2), "john@a.example": (5_000, 1)}, dovecot24.log_text()
    assert dovecot_quota(dovecot24, "jane@a.example") == (-(-18_500 // 1024), 2)


def test_dovecot_24_reports_the_smaller_usage_after_a_deletion(dovecot24, mailboxes):
    dovecot24.doveadm("save", "-u", "jane@a.example", input=message(3_000, "keep"))
    dovecot24.doveadm("save", "-u", "jane@a.example", input=message(2_000, "drop"))
    assert usage()["jane@a.example"] == (5_000, 2)
    dovecot24.doveadm("expunge", "-u", "jane@a.example", "mailbox", "INBOX", "SUBJECT", "drop")
    assert usage()["jane@a.example"] == (3_000, 1)
    kept = DomainUsage.objects.get(domain_id=Domain.objects.get(name="a.example").pk)  # the triggers' domain sums
    assert (kept.bytes, kept.reported) == (3_000, 1)


def test_dovecot_24_reads_the_limit_from_the_user_querys_quota_storage_size(dovecot24, mailboxes):
    # STORAGE limits in KiB, rounded up: jane's 20,000 bytes; john's 0 is no limit at all.
    jane = dovecot24.doveadm("quota", "get", "-u", "jane@a.example")
    assert re.search(r"User quota\s+STORAGE\s+0\s+20\s", jane), jane
    john = dovecot24.doveadm("quota", "get", "-u", "john@a.example")
    assert re.search(r"User quota\s+STORAGE\s+0\s+-\s", john), john


def test_doveadm_quota_recalc_does_not_write_the_table_on_dovecot_2_4_either(dovecot24, mailboxes):
    # As on 2.3 (the README says so): the table fills as mailboxes change, not on a recount.
    dovecot24.doveadm("save", "-u", "jane@a.example", input=message(3_000, "one"))
    QuotaUsage.objects.all().delete()
    dovecot24.doveadm("quota", "recalc", "-A")
    assert not QuotaUsage.objects.exists()
    assert dovecot_quota(dovecot24, "jane@a.example") == (3, 1)


def test_dovecot_24_refuses_mail_over_the_quota_the_panel_shows(dovecot24, mailboxes):
    dovecot24.doveadm("save", "-u", "jane@a.example", input=message(19_000, "big"))
    refused = subprocess.run(dovecot24.doveadm_command("save", "-u", "jane@a.example"), input=message(2_000, "too much"),
                             capture_output=True, timeout=60, start_new_session=True)
    assert refused.returncode != 0 and b"Quota exceeded" in refused.stderr
    assert usage() == {"jane@a.example": (19_000, 1)}
