"""`manage.py staff`: the CLI's conventions (one-line errors, no password in argv)."""

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from mailadmin.models import AuditEntry
from users.models import DomainAdminGrant

PASSWORD = "a-long-Staff-passw0rd"


def run(*args, stdin=""):
    out = io.StringIO()
    call_command("staff", *args, stdout=out, stderr=io.StringIO(), stdin=io.StringIO(stdin))
    return out.getvalue()


def test_add_reads_the_password_from_stdin_and_audits_as_the_cli(db):
    assert "Added staff account erin." in run("add", "erin", "--email", "erin@x.example", "--password-stdin", stdin=PASSWORD + "\n")
    erin = User.objects.get(username="erin")
    assert erin.is_staff and erin.check_password(PASSWORD)
    entry = AuditEntry.objects.get(object_type="staff account")
    assert entry.via == "cli" and entry.actor.startswith("cli:")


def test_add_without_a_terminal_or_password_source_refuses(db):
    with pytest.raises(CommandError, match="--password-stdin or --generate"):
        run("add", "erin")


def test_add_generate_prints_the_password_once(db):
    out = run("add", "erin", "--superadmin", "--generate")
    password = out.split("Password (shown once): ")[1].strip()
    erin = User.objects.get(username="erin")
    assert erin.is_superuser and erin.check_password(password)


def test_add_link_prints_a_one_time_path(db):
    out = run("add", "erin", "--link")
    assert "/staff/welcome/" in out
    assert not User.objects.get(username="erin").has_usable_password()


def test_a_weak_password_is_one_line_error(db):
    with pytest.raises(CommandError, match="too short"):
        run("add", "erin", "--password-stdin", stdin="short\n")
    assert not User.objects.filter(username="erin").exists()


def test_grant_revoke_and_list(dave, domain_a):
    assert run("grant", "dave", "A.example") == "dave now administers a.example.\n"
    assert "dave\tdomain admin\tactive\t2fa off\ta.example" in run("list")
    with pytest.raises(CommandError, match="already administers"):
        run("grant", "dave", "a.example")
    run("revoke", "dave", "a.example")
    assert not DomainAdminGrant.objects.exists()
    with pytest.raises(CommandError, match="does not administer"):
        run("revoke", "dave", "a.example")


def test_unknown_accounts_and_mailbox_users_are_not_found(jane):
    with pytest.raises(CommandError, match="There is no staff account jane@a.example"):
        run("deactivate", "jane@a.example")


def test_deactivate_and_delete(alice, bob):
    run("deactivate", "bob")
    assert not User.objects.get(username="bob").is_active
    with pytest.raises(CommandError, match="last active superadmin"):
        run("deactivate", "alice")
    with pytest.raises(CommandError, match="--yes"):
        run("delete", "bob")
    run("delete", "bob", "--yes")
    assert not User.objects.filter(username="bob").exists()


def test_2fa_reset_of_an_account_without_a_factor_is_an_error(bob):
    with pytest.raises(CommandError, match="has no second factor"):
        run("2fa-reset", "bob")


def test_initadmin_makes_the_first_superadmin_once_and_audits_it(db):
    from io import StringIO

    from django.contrib.auth.models import User
    from django.core.management import call_command

    from mailadmin.models import AuditEntry

    out = StringIO()
    call_command("initadmin", stdout=out)
    password = out.getvalue().rsplit(": ", 1)[1].strip()
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.check_password(password)
    assert AuditEntry.objects.filter(object_repr="admin", action="create").exists()
    again = StringIO()
    call_command("initadmin", stdout=again)
    assert again.getvalue() == "A superadmin exists already; nothing to do.\n"
