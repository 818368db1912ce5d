"""What the kept figures' triggers (users/tally_triggers.py) cost another program's writes, and
whether the figures are still right afterwards.

    .venv/bin/python bench/behind_the_back.py [--sizes 10000,1000000] [--writes 500]

At each size, from a connection of its own (as Roundcube's password plugin or the mysql client
would write): Roundcube's `UPDATE virtual_users SET password=… WHERE email=…`, each moving a
mailbox to the other of two schemes and back, and an alias moved to another domain and back.
Each statement is timed with the connection carrying the panel's marker (the triggers then stop
at their first test) and then with the triggers doing their work: the difference is what they
cost. Every write is undone by the next one. Then as many mailboxes are added and deleted again,
with the triggers at work (timed), and whether they counted every added one is printed. Afterwards the kept figures are compared with a
count of the tables (`tallies.differences()`, what `manage.py doctor` reports). The databases
are bench/run.py's; `migrate` is run first to give them the triggers.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import MySQLdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import BenchDatabase, database_url, run_command, size_label  # noqa: E402

BLF = "{BLF-CRYPT}$2y$05$" + "a" * 53
SHA = "{SHA512-CRYPT}$6$salt$" + "b" * 86


def connect(url):
    """A connection of its own to a size's database, without the panel's marker."""
    database = BenchDatabase(url)
    return MySQLdb.connect(db=database.name, autocommit=True, **database.server)


def timed(cursor, statements):
    spent = []
    for sql, params in statements:
        start = time.perf_counter()
        cursor.execute(sql, params)
        spent.append((time.perf_counter() - start) * 1000)
    return statistics.median(spent)


def writes(cursor, count):
    cursor.execute("SELECT email, password FROM virtual_users WHERE domain_id = (SELECT MAX(id) FROM virtual_domains) "
                   "ORDER BY id LIMIT %s", (count,))
    mailboxes = cursor.fetchall()
    cursor.execute("SELECT id, domain_id FROM virtual_aliases WHERE domain_id = (SELECT MAX(id) FROM virtual_domains) "
                   "ORDER BY id LIMIT %s", (count,))
    aliases = cursor.fetchall()
    cursor.execute("SELECT MIN(id), MAX(id) FROM virtual_domains")
    other_domain, last_domain = cursor.fetchone()
    passwords = [("UPDATE virtual_users SET password=%s WHERE email=%s", (SHA if n < len(mailboxes) else BLF, email))
                 for n, (email, _password) in enumerate(mailboxes * 2)]
    restore = [("UPDATE virtual_users SET password=%s WHERE email=%s", (password, email)) for email, password in mailboxes]
    moves = [("UPDATE virtual_aliases SET domain_id=%s WHERE id=%s", (other_domain if n < len(aliases) else domain_id, pk))
             for n, (pk, domain_id) in enumerate(aliases * 2)]
    added = [("INSERT INTO virtual_users (domain_id, email, password) VALUES (%s, %s, %s)",
              (last_domain, f"behind{n}@back.example", BLF)) for n in range(count)]
    deleted = [("DELETE FROM virtual_users WHERE email = %s", (f"behind{n}@back.example",)) for n in range(count)]
    return passwords, restore, moves, added, deleted


def counted_up_to_the_highest_id(cursor):
    """Did the triggers count every new row (the remembered highest id is the table's)?"""
    cursor.execute("SELECT (SELECT MAX(id) FROM virtual_users) = "
                   "(SELECT max_id FROM mailadmin_tally_watermark WHERE `table` = 'virtual_users')")
    return bool(cursor.fetchone()[0])


def differences(url):
    snippet = "from users import tallies; print(len(tallies.differences()))"
    seconds, code, out, err = run_command(url, "shell", "-v", "0", "-c", snippet)
    if code:
        sys.exit(err)
    return int(out.split()[-1]), seconds


def migrate(url):
    _seconds, code, _out, err = run_command(url, "migrate", "--noinput", "-v", "0")
    if code:
        sys.exit(err)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--writes", type=int, default=500)
    args = parser.parse_args()
    for size in [int(size) for size in args.sizes.split(",")]:
        url = database_url(size)
        migrate(url)
        link = connect(url)
        cursor = link.cursor()
        passwords, restore, moves, added, deleted = writes(cursor, args.writes)
        results = {}
        for marker in (1, None):  # the triggers skipping (the panel's marker), then at work
            cursor.execute("SET @mailadmin_keeps_tallies = %s", (marker,))
            results[marker] = (timed(cursor, passwords), timed(cursor, moves))
            timed(cursor, restore)
        add_ms = timed(cursor, added)
        all_counted = counted_up_to_the_highest_id(cursor)
        delete_ms = timed(cursor, deleted)
        link.close()
        found, seconds = differences(url)
        (with_password, with_move), (without_password, without_move) = results[None], results[1]
        print(f"{size_label(size)}: password set {with_password:.3f} ms with the triggers' work, "
              f"{without_password:.3f} without (median of {len(passwords)}); alias moved to another domain "
              f"{with_move:.3f} / {without_move:.3f} ms (of {len(moves)}); mailbox added {add_ms:.3f} ms, "
              f"deleted {delete_ms:.3f} ms (of {len(added)}), the added ones "
              f"{'all counted by the triggers' if all_counted else 'left to a count again'}; "
              f"kept figures differing from a count afterwards: {found} domains (compared in {seconds:.1f} s)")


if __name__ == "__main__":
    main()
