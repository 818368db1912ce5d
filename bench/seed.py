"""Fill the bench database: 1,000 domains, 100,000 mailboxes, 200,000 aliases, and the quota
usage Dovecot would have reported for 95 % of the mailboxes.

    .venv/bin/python bench/seed.py            # (re)creates the database named in BENCH_DATABASE_URL

Only the bench database (default mailadmin_bench) is dropped and created. Rows go in with
multi-row INSERTs and a few pre-computed hashes, so seeding takes seconds, not hours.
"""

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

import django  # noqa: E402

DOMAINS, MAILBOXES_PER_DOMAIN, ALIASES_PER_DOMAIN = 1000, 100, 200  # --domains changes the first
BENCH_USER, BENCH_PASSWORD = "bench", "bench-admin-password-123"
BATCH = 5000
# Pre-computed hashes of "bench-mailbox-password" (bcrypt cost 5 and SHA512-CRYPT): a mix
# of schemes as a real installation has, so the scheme filter and inventory have work to do.
HASHES = [
    "{BLF-CRYPT}$2y$05$64KGEi7EcPXLRtBRHC9eY.eFQ9kunwnGd9L8rL2FtDNvo9O4mCA.K",
    "{SHA512-CRYPT}$6$q.HayQLKi9PLQkKj$IttwwDKy0xBa1vyVQfB5svmPF8OBbsEY2EnmTUdrb1KwQvcQHWC6n798TJ9sK2C0/7uwoA92SYYw2QnZCU6Ks/",
]


def domain_name(n):
    return f"d{n:04}.bench.example"


def recreate_database():
    import MySQLdb
    from django.conf import settings

    db = settings.DATABASES["default"]
    name = db["NAME"]
    if "bench" not in name:
        sys.exit(f"Refusing to drop {name!r}: the bench database's name must contain 'bench'.")
    server = MySQLdb.connect(host=db["HOST"] or "127.0.0.1", port=int(db["PORT"] or 3306), user=db["USER"],
                             password=db["PASSWORD"] or "")
    cursor = server.cursor()
    cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci")
    server.close()


def insert_many(cursor, table, columns, rows):
    placeholders = "(" + ",".join(["%s"] * len(columns)) + ")"
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        sql = f"INSERT INTO {table} ({','.join(columns)}) VALUES " + ",".join([placeholders] * len(chunk))
        cursor.execute(sql, [value for row in chunk for value in row])


def usage_rows(mailboxes):
    """What quota_clone would have written: every 20th mailbox not reported yet, the others
    spread from empty to 5 % over their quota (so the dashboard's lists are long)."""
    rows = []
    for n, (_domain, email, _hash, quota) in enumerate(mailboxes):
        if n % 20 == 19:
            continue
        share = (n * 7919 % 1051) / 1000  # 0 … 1.05, scattered
        used = int(quota * share) if quota else n * 4096
        rows.append((email, used, used // 50_000))
    return rows


def seed(domains=DOMAINS):
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)
    with transaction.atomic(), connection.cursor() as cursor:
        insert_many(cursor, "virtual_domains", ["id", "name"], [(n, domain_name(n)) for n in range(1, domains + 1)])
        mailboxes = []
        for d in range(1, domains + 1):
            for m in range(MAILBOXES_PER_DOMAIN):
                quota = (m % 5) * 1024**3
                mailboxes.append((d, f"user{m:03}@{domain_name(d)}", HASHES[m % 10 == 0], quota))
        insert_many(cursor, "virtual_users", ["domain_id", "email", "password", "quota"], mailboxes)
        aliases = []
        for d in range(1, domains + 1):
            name = domain_name(d)
            for a in range(ALIASES_PER_DOMAIN):
                # Half forward within the domain, half to an outside address.
                destination = f"user{a % MAILBOXES_PER_DOMAIN:03}@{name}" if a % 2 else f"ext{a:03}@outside.example"
                aliases.append((d, f"alias{a:03}@{name}", destination))
        insert_many(cursor, "virtual_aliases", ["domain_id", "source", "destination"], aliases)
        insert_many(cursor, "quota_usage", ["email", "bytes", "messages"], usage_rows(mailboxes))
    User.objects.create_superuser(BENCH_USER, password=BENCH_PASSWORD)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE TABLE virtual_domains, virtual_users, virtual_aliases, quota_usage")
        cursor.fetchall()
    # The kept figures (users.tallies), as the panel would count them on its first page.
    call_command("recount", verbosity=0)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Fill the bench database.")
    parser.add_argument("--domains", type=int, default=DOMAINS,
                        help=f"domains, each with {MAILBOXES_PER_DOMAIN} mailboxes and {ALIASES_PER_DOMAIN} aliases "
                        f"(default {DOMAINS}: 100,000 mailboxes; 10000 for a million)")
    domains = parser.parse_args().domains
    django.setup()
    started = time.monotonic()
    recreate_database()
    from django.db import connection

    connection.close()
    seed(domains)
    print(f"Seeded {domains} domains, {domains * MAILBOXES_PER_DOMAIN} mailboxes, "
          f"{domains * ALIASES_PER_DOMAIN} aliases, their quota usage in {time.monotonic() - started:.1f} s.")
