"""Rows added, changed and deleted behind the panel's back keep its figures right (MariaDB triggers,
users/tally_triggers.py): each test writes through another program's connection, committed,
and then compares the kept figures with what counting the tables again gives."""

import secrets
import threading
import time

import MySQLdb
import pytest
from django.db import connection

from aliases import services as aliases
from aliases.models import Alias
from mailadmin.operator import Operator
from mailadmin.testing.dovecot import MailDatabase
from users import services, tallies, tally_triggers
from users.models import Domain, DomainCount, Mailbox, SchemeCount, TallyWatermark

pytestmark = [pytest.mark.mariadb, pytest.mark.django_db(transaction=True)]

PASSPHRASE = "a long enough passphrase 42"
ROUNDCUBE_HASH = "{SHA512-CRYPT}$6$salt$" + "x" * 86


def _link(user=None, password=None):
    db = MailDatabase.from_django(connection)
    return MySQLdb.connect(host=db.host, port=db.port, user=user or db.user, password=password or db.password,
                           database=db.name, autocommit=True)


@pytest.fixture
def elsewhere(mariadb):
    """The mysql client's connection: the panel's database, without the panel's marker."""
    link = _link()
    yield link.cursor()
    link.close()


@pytest.fixture
def roundcube(mariadb):
    """Roundcube's password plugin as the ISPmail guide sets it up: an account that may only read
    and update virtual_users, running `UPDATE virtual_users SET password=%P WHERE email=%u`."""
    name, password = f"ma_rc_{secrets.token_hex(3)}", secrets.token_urlsafe(18)
    root = _link()
    root.cursor().execute("CREATE USER %s@'127.0.0.1' IDENTIFIED BY %s", (name, password))
    root.cursor().execute(f"GRANT SELECT, UPDATE ON `{connection.settings_dict['NAME']}`.virtual_users TO %s@'127.0.0.1'",
                          (name,))
    link = _link(name, password)
    try:
        yield lambda email, hashed: link.cursor().execute(
            "UPDATE virtual_users SET password=%s WHERE email=%s", (hashed, email))
    finally:
        link.close()
        root.cursor().execute("DROP USER %s@'127.0.0.1'", (name,))
        root.close()


@pytest.fixture
def server(mariadb):
    """Two domains with mailboxes and aliases, made through the write API."""
    operator = Operator.command_line()
    for name in ("a.example", "b.example"):
        services.create_domain(operator, name)
    for email in ("ann@a.example", "bob@a.example", "cid@b.example"):
        services.create_mailbox(operator, email, PASSPHRASE)
    aliases.create_aliases(operator, "info@a.example", ["ann@a.example", "bob@a.example"])
    aliases.create_aliases(operator, "sales@b.example", ["cid@b.example"])
    tallies.recount()  # as the first page view after `migrate` does: the highest ids counted are remembered
    return operator


def kept():
    """Every kept figure, rows of nothing but zeros left out (counting again makes no such rows)."""
    counts = {row.domain_id: (row.domains, row.mailboxes, row.aliases) for row in DomainCount.objects.all()}
    schemes = {(row.domain_id, row.scheme): row.mailboxes for row in SchemeCount.objects.all()}
    return ({key: value for key, value in counts.items() if any(value)},
            {key: value for key, value in schemes.items() if value})


def counted_again():
    tallies.recount()
    return kept()


def domain_id(name):
    return Domain.objects.get(name=name).pk


def test_the_panels_connections_carry_the_marker_the_triggers_skip(mariadb):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {tally_triggers.MARKER}")
        assert cursor.fetchone() == (1,)
    assert tally_triggers.missing(connection) == []


def test_the_panels_own_writes_are_counted_once(server):
    services.delete_mailbox(server, Mailbox.objects.get(email="bob@a.example"))
    aliases.delete_alias(server, Alias.objects.get(source="sales@b.example"))
    before = kept()
    assert before[0][tallies.ALL_DOMAINS] == (2, 2, 2)
    assert before == counted_again()


def test_a_password_set_by_roundcube_moves_the_mailbox_to_its_scheme(server, roundcube):
    roundcube("ann@a.example", ROUNDCUBE_HASH)
    assert tallies.schemes() == {"BLF-CRYPT": 2, "SHA512-CRYPT": 1}
    assert kept() == counted_again()


def test_a_password_changed_within_its_scheme_changes_no_figure(server, elsewhere):
    before = kept()
    elsewhere.execute("UPDATE virtual_users SET password = CONCAT('{blf-crypt}', SUBSTRING(password, 12)) "
                      "WHERE email = 'ann@a.example'")
    assert kept() == before == counted_again()


def test_mailboxes_deleted_or_moved_with_the_mysql_client_leave_the_figures_right(server, elsewhere):
    elsewhere.execute("DELETE FROM virtual_users WHERE email = 'bob@a.example'")
    elsewhere.execute("UPDATE virtual_users SET domain_id = %s, password = '{PLAIN}x' WHERE email = 'cid@b.example'",
                      (domain_id("a.example"),))
    assert tallies.totals() == {"domains": 2, "mailboxes": 2, "aliases": 3}
    assert tallies.domain_totals(None, name="b.example")["mailboxes"] == 0
    assert tallies.schemes() == {"BLF-CRYPT": 1, "PLAIN": 1}
    assert kept() == counted_again()


def test_aliases_deleted_or_moved_with_the_mysql_client_leave_the_figures_right(server, elsewhere):
    elsewhere.execute("DELETE FROM virtual_aliases WHERE destination = 'bob@a.example'")
    elsewhere.execute("UPDATE virtual_aliases SET domain_id = %s WHERE source = 'sales@b.example'",
                      (domain_id("a.example"),))
    elsewhere.execute("UPDATE virtual_aliases SET destination = 'cid@b.example' WHERE source = 'info@a.example'")
    assert tallies.domain_totals(None, name="a.example") == {"mailboxes": 2, "aliases": 2}
    assert tallies.domain_totals(None, name="b.example") == {"mailboxes": 1, "aliases": 0}
    assert kept() == counted_again()


def test_a_domain_deleted_with_the_mysql_client_takes_what_its_deletion_cascades_to(server, elsewhere):
    gone = domain_id("a.example")
    elsewhere.execute("DELETE FROM virtual_domains WHERE name = 'a.example'")
    assert not Mailbox.objects.filter(domain_id=gone).exists()  # the guide's ON DELETE CASCADE
    assert tallies.totals() == {"domains": 1, "mailboxes": 1, "aliases": 1}
    assert not DomainCount.objects.filter(domain_id=gone).exists()
    assert not SchemeCount.objects.filter(domain_id=gone).exists()
    assert kept() == counted_again()


def highest_counted(table):
    return TallyWatermark.objects.get(table=table).max_id


def test_rows_added_with_the_mysql_client_are_counted_as_they_are_written(server, elsewhere):
    elsewhere.execute("INSERT INTO virtual_domains (name) VALUES ('c.example')")
    elsewhere.execute("INSERT INTO virtual_users (domain_id, email, password) VALUES (%s, 'new@c.example', %s)",
                      (domain_id("c.example"), ROUNDCUBE_HASH))
    elsewhere.execute("INSERT INTO virtual_aliases (domain_id, source, destination) "
                      "VALUES (%s, 'info@c.example', 'new@c.example')", (domain_id("c.example"),))
    # Counted by the triggers, the highest ids moved with them: nothing left to count again.
    assert kept()[0][tallies.ALL_DOMAINS] == (3, 4, 4)
    assert highest_counted("virtual_users") == Mailbox.objects.get(email="new@c.example").pk
    assert tallies.ensure_counted() is False
    assert tallies.schemes() == {"BLF-CRYPT": 3, "SHA512-CRYPT": 1}
    assert kept() == counted_again()


def test_a_row_added_above_an_uncounted_one_is_left_to_the_count_again(server, elsewhere):
    with connection.cursor() as cursor:  # the panel's connection, around its write API: counted by nobody
        cursor.execute("INSERT INTO virtual_users (domain_id, email, password) VALUES (%s, 'raw@a.example', '{PLAIN}x')",
                       [domain_id("a.example")])
    elsewhere.execute("INSERT INTO virtual_users (domain_id, email, password) VALUES (%s, 'new@a.example', '{PLAIN}x')",
                      (domain_id("a.example"),))
    elsewhere.execute("UPDATE virtual_users SET password = %s WHERE email = 'new@a.example'", (ROUNDCUBE_HASH,))
    elsewhere.execute("DELETE FROM virtual_users WHERE email = 'ann@a.example'")
    assert kept()[0][tallies.ALL_DOMAINS] == (2, 2, 3)  # the delete alone: the new rows are above the counted ids
    assert tallies.totals()["mailboxes"] == 4  # counted again: ids above the counted ones
    assert tallies.schemes() == {"BLF-CRYPT": 2, "PLAIN": 1, "SHA512-CRYPT": 1}
    assert kept() == counted_again()


def test_recount_makes_missing_triggers_again(server, elsewhere):
    from django.core.management import call_command

    elsewhere.execute("DROP TRIGGER virtual_users_tally_delete")
    assert tally_triggers.missing(connection) == [("virtual_users_tally_delete", "virtual_users")]
    call_command("recount", stdout=open("/dev/null", "w"))
    assert tally_triggers.missing(connection) == []
    elsewhere.execute("DELETE FROM virtual_users WHERE email = 'bob@a.example'")
    assert tallies.totals()["mailboxes"] == 2


def test_the_panel_and_another_program_writing_at_once_wait_for_each_other_and_both_count(server):
    """Both take the all-domains row first: no deadlock, and every write counted once."""
    errors = []

    def panel():
        try:
            for n in range(15):
                services.create_mailbox(Operator.command_line(), f"panel{n}@a.example", PASSPHRASE)
            services.delete_mailbox(Operator.command_line(), Mailbox.objects.get(email="panel0@a.example"))
        except Exception as error:  # reported below, with the other side's
            errors.append(error)
        finally:
            connection.close()

    def other_program():
        link = _link()
        try:
            cursor = link.cursor()
            a = domain_id("a.example")
            for n in range(15):
                cursor.execute("INSERT INTO virtual_users (domain_id, email, password) VALUES (%s, %s, %s)",
                               (a, f"script{n}@a.example", ROUNDCUBE_HASH))
                cursor.execute("UPDATE virtual_users SET password = '{PLAIN}x' WHERE email = 'ann@a.example'")
                cursor.execute("UPDATE virtual_users SET password = %s WHERE email = 'ann@a.example'", (ROUNDCUBE_HASH,))
            cursor.execute("DELETE FROM virtual_users WHERE email = 'script0@a.example'")
        except Exception as error:
            errors.append(error)
        finally:
            link.close()
            connection.close()

    threads = [threading.Thread(target=panel), threading.Thread(target=other_program)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert tallies.totals()["mailboxes"] == 3 + 14 + 14
    assert kept() == counted_again()


def wait_until_running(statement_like, failure):
    """Until another connection runs a statement LIKE `statement_like` (there, waiting for a lock
    the test holds), for up to 2 s."""
    link = _link()
    try:
        for _ in range(200):
            cursor = link.cursor()
            cursor.execute("SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE %s AND id <> CONNECTION_ID()",
                           (statement_like,))
            if cursor.fetchone()[0]:
                return
            time.sleep(0.01)
        pytest.fail(failure)
    finally:
        link.close()


def test_a_row_the_panel_moved_the_highest_counted_id_past_unseen_is_counted_by_its_trigger(server):
    """Another program's new row waits for the all-domains row while the panel, which cannot
    see it yet, counts its own rows on both sides of it and remembers the highest."""
    from django.db import transaction

    def other_program():
        link = _link()
        try:
            link.cursor().execute("INSERT INTO virtual_users (domain_id, email, password) VALUES (%s, %s, %s)",
                                  (domain_id("a.example"), "script@a.example", ROUNDCUBE_HASH))
        finally:
            link.close()
            connection.close()

    with transaction.atomic():
        services.create_mailbox(server, "before@a.example", PASSPHRASE)  # takes the all-domains row
        thread = threading.Thread(target=other_program)
        thread.start()
        # The trigger's first statement, waiting for the row this transaction holds.
        wait_until_running("UPDATE mailadmin_domain_count SET mailboxes = mailboxes WHERE domain_id = 0",
                           "the other program's insert never waited for the all-domains row")
        services.create_mailbox(server, "after@a.example", PASSPHRASE)
    thread.join()
    ids = sorted(Mailbox.objects.filter(email__in=["before@a.example", "script@a.example", "after@a.example"])
                 .values_list("pk", "email"))
    assert [email for _pk, email in ids] == ["before@a.example", "script@a.example", "after@a.example"]
    assert highest_counted("virtual_users") == ids[-1][0]  # moved past the row it could not see
    assert tallies.ensure_counted() is False
    assert kept()[0][tallies.ALL_DOMAINS] == (2, 6, 3)
    assert kept() == counted_again()


def test_a_count_again_waits_for_a_change_in_flight_instead_of_overwriting_it(server):
    """The panel deletes a mailbox in a transaction still open while the figures are counted
    again: the count waits for it, then counts without the mailbox."""
    from django.db import transaction

    def count_again():
        try:
            tallies.recount()
        finally:
            connection.close()

    with transaction.atomic():
        services.delete_mailbox(server, Mailbox.objects.get(email="bob@a.example"))  # takes the all-domains row
        thread = threading.Thread(target=count_again)
        thread.start()
        wait_until_running("%mailadmin_domain_count%", "the count again never waited for the figures the open transaction changed")
    thread.join()
    assert kept()[0][tallies.ALL_DOMAINS] == (2, 2, 3)
    assert kept() == counted_again()


def test_the_comparison_with_a_count_reads_both_sides_in_one_snapshot(server, elsewhere, monkeypatch):
    """Another program deletes a mailbox (its trigger changing the kept rows) between the count
    and the reading of the kept rows: neither side sees it, and nothing differs."""
    count = tallies._counted

    def count_then_delete():
        counted = count()
        elsewhere.execute("DELETE FROM virtual_users WHERE email = 'bob@a.example'")
        return counted

    monkeypatch.setattr(tallies, "_counted", count_then_delete)
    assert tallies.differences() == {}
    monkeypatch.undo()
    assert tallies.totals()["mailboxes"] == 2
    assert tallies.differences() == {}
