"""The command line admins script against: each command, its output and its error paths."""

import io
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.core.management.base import CommandError

from aliases.models import Alias
from users.models import Domain, Mailbox

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long enough passphrase 42"


def run(*args, stdin=""):
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return out.getvalue()


def fails(*args, stdin=""):
    with pytest.raises(CommandError) as excinfo:
        run(*args, stdin=stdin)
    return str(excinfo.value)


class TestDomain:
    def test_add_stores_the_normalised_name(self, db):
        assert run("domain", "add", "Bücher.DE") == "Added domain bücher.de (stored as xn--bcher-kva.de).\n"
        assert Domain.objects.get().name == "xn--bcher-kva.de"

    def test_add_refuses_a_duplicate_in_one_line(self, domain_a):
        assert fails("domain", "add", "A.example") == "This domain already exists."

    def test_add_refuses_a_bad_name(self, db):
        assert "with a dot" in fails("domain", "add", "localhost")

    def test_list_shows_counts(self, jane_mailbox, domain_b):
        Alias.objects.create(domain=jane_mailbox.domain, source="info@a.example", destination="jane@a.example")
        assert run("domain", "list") == (
            "a.example\t1 mailboxes\t1 aliases\nb.example\t0 mailboxes\t0 aliases\n"
        )

    def test_delete_says_what_cascades_and_needs_yes_without_a_terminal(self, jane_mailbox):
        assert fails("domain", "delete", "a.example") == "Refusing to delete without confirmation: add --yes."
        assert Domain.objects.exists()
        output = run("domain", "delete", "a.example", "--yes")
        assert "also deletes its 1 mailbox(es) and 0 alias(es)" in output
        assert not Domain.objects.exists() and not Mailbox.objects.exists()

    def test_delete_of_a_missing_domain_is_an_error(self, db):
        assert fails("domain", "delete", "nowhere.example", "--yes") == "There is no domain nowhere.example."


class TestMailbox:
    def test_add_with_a_password_on_stdin(self, domain_a):
        output = run("mailbox", "add", "Jane@a.example", "--quota", "2G", "--password-stdin", stdin=PASSWORD + "\n")
        assert output == "Added mailbox jane@a.example (quota 2G).\n"
        mailbox = Mailbox.objects.get()
        assert mailbox.quota == 2 * 1024**3
        assert mailbox.check_password(PASSWORD)

    def test_add_with_a_generated_password_prints_it_once(self, domain_a):
        output = run("mailbox", "add", "jane@a.example", "--generate")
        password = output.splitlines()[-1].rsplit(": ", 1)[1]
        assert len(password) >= 16
        assert Mailbox.objects.get().check_password(password)
        assert password not in Mailbox.objects.get().password

    def test_add_refuses_a_weak_password(self, domain_a):
        assert "at least 12 characters" in fails(
            "mailbox", "add", "jane@a.example", "--password-stdin", stdin="short\n"
        )
        assert not Mailbox.objects.exists()

    def test_add_without_a_terminal_or_a_source_says_what_to_use(self, domain_a):
        assert fails("mailbox", "add", "jane@a.example") == (
            "No terminal to ask for a password: use --password-stdin or --generate."
        )

    def test_add_refuses_an_unknown_domain(self, db):
        assert "There is no domain nowhere.example" in fails(
            "mailbox", "add", "jane@nowhere.example", "--generate"
        )

    def test_add_refuses_a_bad_quota_before_asking_for_a_password(self, domain_a):
        assert "is not a size" in fails("mailbox", "add", "jane@a.example", "--quota", "lots", "--generate")

    def test_password_sources_are_exclusive(self, domain_a):
        with pytest.raises(CommandError, match="not allowed with argument"):
            call_command("mailbox", "add", "jane@a.example", "--generate", "--password-stdin")

    def test_passwd_replaces_the_hash(self, jane_mailbox):
        old_hash = jane_mailbox.password
        assert run("mailbox", "passwd", "jane@a.example", "--password-stdin", stdin=PASSWORD + "\n") == (
            "Password changed for jane@a.example.\n"
        )
        jane_mailbox.refresh_from_db()
        assert jane_mailbox.password != old_hash and jane_mailbox.check_password(PASSWORD)

    def test_passwd_of_a_missing_mailbox_is_an_error(self, db):
        assert fails("mailbox", "passwd", "who@a.example", "--generate") == "There is no mailbox who@a.example."

    def test_quota_sets_and_reports_the_size(self, jane_mailbox):
        assert run("mailbox", "quota", "jane@a.example", "500M") == "Quota of jane@a.example is now 500M.\n"
        jane_mailbox.refresh_from_db()
        assert jane_mailbox.quota == 500 * 1024**2

    def test_list_shows_quota_and_scheme(self, jane_mailbox, domain_b):
        Mailbox.objects.create(domain=domain_b, email="old@b.example", password="{PLAIN-MD5}x", quota=1024)
        assert run("mailbox", "list") == "jane@a.example\tunlimited\tBLF-CRYPT\nold@b.example\t1K\tPLAIN-MD5\n"
        assert run("mailbox", "list", "--domain", "b.example") == "old@b.example\t1K\tPLAIN-MD5\n"

    def test_delete_says_the_mail_on_disk_stays(self, jane_mailbox):
        output = run("mailbox", "delete", "jane@a.example", "--yes")
        assert "the mail on disk (/var/vmail/a.example/jane) is not removed" in output
        assert not Mailbox.objects.exists()


class TestAlias:
    def test_add_list_delete(self, jane_mailbox):
        assert run("alias", "add", "Sales@a.example", "jane@a.example") == (
            "Added alias sales@a.example → jane@a.example.\n"
        )
        run("alias", "add", "@a.example", "jane@a.example")
        assert run("alias", "list", "--domain", "a.example") == (
            "@a.example\tjane@a.example\nsales@a.example\tjane@a.example\n"
        )
        assert run("alias", "delete", "sales@a.example", "jane@a.example") == (
            "Deleted alias sales@a.example → jane@a.example.\n"
        )
        assert list(Alias.objects.values_list("source", flat=True)) == ["@a.example"]

    def test_add_refuses_a_source_outside_the_panels_domains(self, db):
        assert "There is no domain x.example" in fails("alias", "add", "info@x.example", "jane@a.example")

    def test_add_refuses_a_duplicate(self, jane_mailbox):
        run("alias", "add", "sales@a.example", "jane@a.example")
        assert fails("alias", "add", "sales@a.example", "jane@a.example") == "sales@a.example already forwards to jane@a.example."

    def test_delete_of_a_missing_alias_is_an_error(self, db):
        assert fails("alias", "delete", "x@a.example", "y@a.example") == "There is no alias x@a.example -> y@a.example."


class TestPw:
    def test_it_hashes_a_password_from_stdin_with_the_configured_scheme(self, db):
        stored = run("pw", stdin=PASSWORD + "\n").strip()
        assert stored.startswith("{BLF-CRYPT}$2y$")
        assert run("pw", "-t", stored, stdin=PASSWORD + "\n").strip() == f"{stored} (verified)"

    @pytest.mark.parametrize("scheme, prefix", [("ARGON2ID", "{ARGON2ID}$argon2id$"), ("sha512-crypt", "{SHA512-CRYPT}$6$")])
    def test_it_hashes_with_another_scheme(self, db, scheme, prefix):
        assert run("pw", "-s", scheme, stdin=PASSWORD + "\n").startswith(prefix)

    def test_it_refuses_to_write_a_weak_scheme(self, db):
        assert "Cannot write MD5-CRYPT hashes" in fails("pw", "-s", "MD5-CRYPT", stdin=PASSWORD + "\n")

    def test_a_wrong_password_exits_1(self, db):
        stored = run("pw", stdin=PASSWORD + "\n").strip()
        with pytest.raises(CommandError) as excinfo:
            run("pw", "-t", stored, stdin="wrong\n")
        assert excinfo.value.returncode == 1

    def test_an_unknown_scheme_is_an_error_not_a_plaintext_comparison(self, db):
        message = fails("pw", "-t", "{NOPE}secret", stdin="secret\n")
        assert "NOPE" in message and "secret" not in message.replace("NOPE", "")


def spawn_on_a_terminal(args, answers, env_extra=None):
    """Run manage.py on a pseudo-terminal and type the answers at its prompts."""
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="mailadmin.test_settings", **(env_extra or {}))
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(ROOT)
        os.execve(sys.executable, [sys.executable, "manage.py", *args], env)
    output = b""
    pending = list(answers)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
            # Answer each prompt once, after it is shown: getpass turns echo off before it
            # prints the prompt, so an answer typed earlier would be echoed.
            prompts = len(re.findall(rb"Password(?: \(again\))?: ", output))
            answered = len(answers) - len(pending)
            if pending and prompts > answered and output.endswith(b": "):
                os.write(fd, pending.pop(0).encode() + b"\n")
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")


@pytest.mark.django_db(transaction=True)
def test_mailbox_add_asks_twice_at_a_terminal_and_never_echoes(domain_a, tmp_path):
    from django.db import connection

    if connection.vendor == "sqlite":
        db_url = f"sqlite:///{connection.settings_dict['NAME']}"
    else:
        s = connection.settings_dict
        db_url = f"mysql://{s['USER']}:{s['PASSWORD']}@{s['HOST'] or 'localhost'}:{s['PORT'] or 3306}/{s['NAME']}"
    if connection.vendor == "sqlite" and ":memory:" in db_url or "mode=memory" in db_url:
        pytest.skip("the SQLite test database lives in memory; the MariaDB run covers this")
    code, output = spawn_on_a_terminal(
        ["mailbox", "add", "jane@a.example"],
        [PASSWORD, PASSWORD + "typo", PASSWORD, PASSWORD],
        {"DATABASE_URL": db_url, "TEST_DATABASE_URL": ""},
    )
    assert code == 0, output
    assert "do not match" in output
    assert PASSWORD not in output
    assert Mailbox.objects.get(email="jane@a.example").check_password(PASSWORD)


def test_commands_have_help():
    for command in ("domain", "mailbox", "alias", "pw", "initadmin"):
        result = subprocess.run(
            [sys.executable, "manage.py", command, "--help"],
            cwd=ROOT,
            env=dict(os.environ, DJANGO_SETTINGS_MODULE="mailadmin.test_settings"),
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0 and "usage:" in result.stdout, command


class TestLegacyRows:
    """Rows written before the panel (mixed case, a trailing blank, as the guide's utf8
    columns compare them equal) are managed as they are: never rewritten behind the admin's back."""

    @pytest.fixture
    def legacy_row(self, mariadb, domain_a):
        with mariadb.cursor() as cursor:
            cursor.execute(
                "INSERT INTO virtual_users (domain_id, email, password, quota) VALUES (%s, %s, %s, 0)",
                [domain_a.pk, "BOB@a.example ", "{PLAIN}legacy"],
            )
        return Mailbox.objects.get(email="bob@a.example")

    def test_quota_and_password_change_without_rewriting_the_address(self, legacy_row):
        run("mailbox", "quota", "BOB@a.example", "2G")
        run("mailbox", "passwd", "bob@a.example", "--password-stdin", stdin="a long enough passphrase 42\n")
        with connection.cursor() as cursor:
            cursor.execute("SELECT email, quota, password FROM virtual_users WHERE id = %s", [legacy_row.pk])
            email, quota, password = cursor.fetchone()
        assert (email, quota) == ("BOB@a.example ", 2 * 1024**3)
        assert password.startswith("{BLF-CRYPT}")

    def test_it_can_be_deleted(self, legacy_row):
        run("mailbox", "delete", "bob@a.example", "--yes")
        assert not Mailbox.objects.filter(pk=legacy_row.pk).exists()
