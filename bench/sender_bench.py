"""Time who_may_send_as and rights_of on the bench database (issue 6: each under 10 ms).

    .venv/bin/python bench/seed.py          # once: 1,000 domains, 100,000 mailboxes, 200,000 aliases
    .venv/bin/python bench/sender_bench.py [--runs 200]

Direct calls on one warm connection (no HTTP), a different address or login each run, with
the sender-login query "aliases" (the one that reads virtual_aliases). Prints median and p95
(nearest rank) in milliseconds, and the number of SQL statements per call.
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
os.environ["MAILADMIN_SENDER_LOGIN_QUERY"] = "aliases"

import django  # noqa: E402

TARGET_MS = 10


def p95(values):
    ordered = sorted(values)
    return ordered[max(0, int(round(0.95 * len(ordered))) - 1)]


def measure(label, function, arguments):
    from django.db import connection, reset_queries

    timings, queries = [], []
    for argument in arguments[:5]:
        function(argument)  # warm-up
    for argument in arguments:
        reset_queries()
        started = time.perf_counter()
        function(argument)
        timings.append((time.perf_counter() - started) * 1000)
        queries.append(len(connection.queries))
    median, high = statistics.median(timings), p95(timings)
    verdict = "ok" if high < TARGET_MS else "SLOW"
    print(f"{label:<44} median {median:6.2f} ms   p95 {high:6.2f} ms   {max(queries)} queries   {verdict}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    django.setup()
    from django.conf import settings
    from django.db import connection

    from aliases.sender_rights import rights_of, who_may_send_as
    from bench.seed import ALIASES_PER_DOMAIN, DOMAINS, MAILBOXES_PER_DOMAIN, domain_name

    settings.DEBUG = True  # connection.queries counts statements
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM virtual_aliases")
        (aliases,) = cursor.fetchone()
    if aliases < DOMAINS * ALIASES_PER_DOMAIN:
        sys.exit(f"The bench database holds {aliases} aliases; run bench/seed.py first.")
    print(f"{settings.DATABASES['default']['NAME']}: {aliases} aliases, {args.runs} runs each, target < {TARGET_MS} ms")
    rng = random.Random(6)

    def domain():
        return domain_name(rng.randint(1, DOMAINS))

    def n(limit):
        return rng.randrange(limit)

    measure("who_may_send_as(alias)", who_may_send_as, [f"alias{n(ALIASES_PER_DOMAIN):03}@{domain()}" for _ in range(args.runs)])
    measure("who_may_send_as(mailbox+extension)", who_may_send_as,
            [f"user{n(MAILBOXES_PER_DOMAIN):03}+x@{domain()}" for _ in range(args.runs)])
    measure("who_may_send_as(unknown address)", who_may_send_as, [f"nobody{n(999)}@{domain()}" for _ in range(args.runs)])
    measure("rights_of(mailbox with aliases)", rights_of, [f"user{n(MAILBOXES_PER_DOMAIN):03}@{domain()}" for _ in range(args.runs)])


if __name__ == "__main__":
    main()
