"""`manage.py doctor` compares the figures the panel keeps with a count of the mail tables, and
on MariaDB looks for the triggers that keep them through other programs' writes."""

import pytest
from django.db import connection

from mailadmin import doctor
from mailadmin.operator import Operator
from users import services, tallies
from users.models import Domain

PASSPHRASE = "a long enough passphrase 42"


def findings():
    return [finding.line() for finding in doctor.run_checks(None, [doctor.kept_figures])]


@pytest.fixture
def counted(db):
    operator = Operator.command_line()
    services.create_domain(operator, "a.example")
    services.create_domain(operator, "b.example")
    services.create_mailbox(operator, "ann@a.example", PASSPHRASE)
    tallies.recount()


def behind_the_panels_back(sql, params=()):
    """On the panel's own connection, written around the write API (on MariaDB the triggers
    take the panel's connection at its word: the write API counts its writes)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_figures_that_match_the_tables_are_reported_ok(counted):
    assert findings() == ["ok   kept figures: the panel's counts match the mail tables"]


def test_a_deleted_mailbox_still_counted_is_reported_with_the_fix(counted):
    behind_the_panels_back("DELETE FROM virtual_users WHERE email = %s", ["ann@a.example"])
    [line] = findings()
    assert line == (
        "FAIL kept figures: differ from the mail tables: "
        "all domains: mailboxes 1 kept, 0 counted, schemes {BLF-CRYPT 1} kept, {} counted; "
        "a.example: mailboxes 1 kept, 0 counted, schemes {BLF-CRYPT 1} kept, {} counted -- fix: manage.py recount"
    )
    tallies.recount()
    assert findings() == ["ok   kept figures: the panel's counts match the mail tables"]


def test_the_kept_rows_of_a_domain_deleted_behind_its_back_are_named_by_id(counted):
    gone = Domain.objects.get(name="b.example").pk
    behind_the_panels_back("DELETE FROM virtual_domains WHERE id = %s", [gone])
    [line] = findings()
    assert f"domain id {gone} (not in virtual_domains): domains 1 kept, 0 counted" in line
    assert "all domains: domains 2 kept, 1 counted" in line


def test_rows_added_behind_its_back_are_counted_as_a_page_view_would_not_reported(counted):
    behind_the_panels_back(
        "INSERT INTO virtual_users (domain_id, email, password, quota) VALUES (%s, 'new@a.example', '{PLAIN}x', 0)",
        [Domain.objects.get(name="a.example").pk],
    )
    assert findings() == ["ok   kept figures: the panel's counts match the mail tables"]


@pytest.mark.django_db(transaction=True)  # DROP TRIGGER would end a test's transaction
def test_a_missing_trigger_is_reported_with_the_command_that_makes_it_again(counted, mariadb):
    behind_the_panels_back("DROP TRIGGER virtual_aliases_tally_delete")
    try:
        assert findings()[0] == (
            "FAIL trigger virtual_aliases_tally_delete: missing on virtual_aliases: other programs' changes there go "
            "uncounted -- fix: manage.py recount (makes it again)"
        )
    finally:
        from django.core.management import call_command

        call_command("recount", stdout=open("/dev/null", "w"))
    assert findings() == ["ok   kept figures: the panel's counts match the mail tables"]
