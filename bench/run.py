"""Measure the panel at 100,000 mailboxes over real HTTP (see bench/README.md).

    .venv/bin/python bench/seed.py && .venv/bin/python bench/run.py [--requests 30] [--skip-imports]

Serves the app with gunicorn on 127.0.0.1, logs in as the bench superuser, and prints a
table of target and figure side by side. Pages whose URL name does not exist yet are listed
as missing rather than left out.
"""

import argparse
import http.client
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

import django  # noqa: E402

PORT = int(os.environ.get("BENCH_PORT", "18765"))
PYTHON = str(ROOT / ".venv" / "bin" / "python")
TARGET_MEDIAN_MS, TARGET_P95_MS, TARGET_QUERIES = 50, 100, 20
TARGET_EXPORT_S, TARGET_EXPORT_MB, TARGET_IMPORT_S = 10, 200, 30


def pages(mailbox_pk, domain_name):
    """(label, url name, args, query) for every page the issue names."""
    last = {"page": 999999}  # Paginator.get_page() answers an out-of-range number with the last page
    return [
        ("dashboard", "dashboard", [], {}),
        ("domain list", "domain-list", [], {}),
        ("domain detail", "domain-detail", [domain_name], {}),
        ("mailbox list, first page", "mailbox-list", [], {}),
        ("mailbox list, last page", "mailbox-list", [], last),
        ("mailbox search", "mailbox-list", [], {"q": "user05"}),
        ("mailbox list, one domain", "mailbox-list", [], {"domain": domain_name}),
        # Quota usage (issue 13): a ratio of two tables' columns has no index; see RESULTS.md.
        ("mailbox list by used", "mailbox-list", [], {"sort": "-used"}),
        ("mailbox list by percent", "mailbox-list", [], {"sort": "-percent"}),
        ("mailboxes over 90 %", "mailbox-list", [], {"over": "90", "sort": "-percent"}),
        ("alias list, first page", "alias-list", [], {}),
        ("alias list, last page", "alias-list", [], last),
        ("alias search", "alias-list", [], {"q": "alias01"}),
        ("mailbox edit page", "mailbox-detail", [mailbox_pk], {}),
        ("audit log", "audit-log", [], {}),
        ("import/export page", "bulk-import", [], {}),
        ("admin: domains", "admin:users_domain_changelist", [], {}),
        ("admin: mailboxes", "admin:users_mailbox_changelist", [], {}),
        # Django admin shows 25 rows a page (users.admin.ScopedAdmin): 100,000 / 25 pages.
        ("admin: mailboxes, last page", "admin:users_mailbox_changelist", [], {"p": 4000}),
        ("admin: mailbox search", "admin:users_mailbox_changelist", [], {"q": "user05"}),
        ("admin: mailboxes by scheme", "admin:users_mailbox_changelist", [], {"scheme": "SHA512-CRYPT"}),
        ("admin: aliases", "admin:aliases_alias_changelist", [], {}),
        ("admin: alias search", "admin:aliases_alias_changelist", [], {"q": "alias01"}),
        ("admin: mailbox change", "admin:users_mailbox_change", [mailbox_pk], {}),
    ]


class Client:
    """One keep-alive connection with a cookie jar of two cookies."""

    def __init__(self):
        self.cookies = {}
        self.connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=900)

    def request(self, method, path, body=None, headers=None, stream_to=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        if stream_to is None:
            return response, response.read()
        size = 0
        while chunk := response.read(65536):
            size += len(chunk)
            stream_to(chunk)
        return response, size

    def login(self, username, password):
        _response, body = self.request("GET", "/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
        form = urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
        response, _ = self.request(
            "POST", "/login/", form, {"Content-Type": "application/x-www-form-urlencoded", "Referer": "http://127.0.0.1/login/"}
        )
        if response.status != 302:
            sys.exit(f"Login failed with HTTP {response.status}.")


def start_server(workers):
    try:
        http.client.HTTPConnection("127.0.0.1", PORT, timeout=1).request("GET", "/")
    except OSError:
        pass
    else:
        sys.exit(f"Something already listens on 127.0.0.1:{PORT}; set BENCH_PORT to a free port.")
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"), "mailadmin.wsgi", "--bind", f"127.0.0.1:{PORT}",
        "--workers", str(workers), "--timeout", "900", "--log-level", "warning",
    ]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    for _ in range(100):
        try:
            http.client.HTTPConnection("127.0.0.1", PORT, timeout=1).request("GET", "/login/")
            return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    sys.exit("gunicorn did not start.")


def worker_pids(server):
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    return [int(pid) for pid in children]


def rss_mb(pid, field="VmRSS"):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * fraction + 0.999999) - 1)]


def measure_pages(client, count, mailbox_pk, domain_name):
    from django.urls import NoReverseMatch, reverse

    results = []
    for label, name, args, query in pages(mailbox_pk, domain_name):
        try:
            path = reverse(name, args=args)
        except NoReverseMatch:
            results.append((label, None, None, None, "no such page yet"))
            continue
        if query:
            path += "?" + urlencode(query)
        for _ in range(3):  # warm-up: connections, template caches
            response, _ = client.request("GET", path)
        if response.status != 200:
            results.append((label, None, None, None, f"HTTP {response.status}"))
            continue
        timings = []
        for _ in range(count):
            started = time.perf_counter()
            response, _body = client.request("GET", path)
            timings.append((time.perf_counter() - started) * 1000)
        queries = int(response.getheader("X-Query-Count", "-1"))
        results.append((label, statistics.median(timings), percentile(timings, 0.95), queries, path))
    return results


def measure_export(client, server):
    """Seconds and peak worker memory for the CSV of all mailboxes."""
    from django.urls import reverse

    peak, stop = {}, threading.Event()

    def sample():
        while not stop.is_set():
            for pid in worker_pids(server):
                try:
                    peak[pid] = max(peak.get(pid, 0), rss_mb(pid))
                except OSError:
                    pass
            time.sleep(0.02)

    before = {pid: rss_mb(pid) for pid in worker_pids(server)}
    sampler = threading.Thread(target=sample)
    sampler.start()
    lines = []
    started = time.perf_counter()
    response, size = client.request(
        "GET", reverse("bulk-export") + "?what=mailboxes", stream_to=lambda chunk: lines.append(chunk.count(b"\n"))
    )
    seconds = time.perf_counter() - started
    stop.set()
    sampler.join()
    busiest = max(peak, key=lambda pid: peak[pid] - before.get(pid, 0))
    return {
        "status": response.status, "rows": sum(lines) - 1, "bytes": size, "seconds": seconds,
        "peak_mb": peak[busiest], "before_mb": before.get(busiest, 0.0),
    }


def run_command(*args):
    """Runs manage.py in the bench settings: seconds, exit code, output."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    process = subprocess.Popen([PYTHON, "manage.py", *args], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = process.communicate()
    seconds = time.perf_counter() - started
    return seconds, process.returncode, out.decode(), err.decode()


def import_file(rows, plaintext):
    handle = tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False)
    handle.write("email,password,quota\n")
    for n in range(rows):
        password = f"Imported-passw0rd-{n:05}" if plaintext else SEED_HASH
        handle.write(f"imp{n:05}@d{n % 1000 + 1:04}.bench.example,{password},1G\n")
    handle.close()
    return handle.name


def remove_imported():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM virtual_users WHERE email LIKE 'imp%%'")


def measure_import(rows, plaintext):
    path = import_file(rows, plaintext)
    try:
        dry_s, dry_rc, dry_out, dry_err = run_command("import", path, "--dry-run", "--quiet")
        apply_s, apply_rc, apply_out, apply_err = run_command("import", path, "--quiet")
    finally:
        os.unlink(path)
        remove_imported()
    if dry_rc or apply_rc:
        print(dry_err or apply_err, file=sys.stderr)
    return {"dry_s": dry_s, "apply_s": apply_s, "ok": not (dry_rc or apply_rc),
            "summary": apply_out.strip().splitlines()[-1] if apply_out.strip() else apply_err.strip()[-200:]}


def measure_hash_pools(count=24):
    """Seconds to hash `count` passwords with the configured scheme: 1 thread, N threads, N processes."""
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
    from functools import partial

    from django.conf import settings

    work = partial(_hash_one, settings.MAILADMIN_PASSWORD_SCHEME, settings.MAILADMIN_BCRYPT_COST)
    items = [f"pool-test-password-{n}" for n in range(count)]
    cores = os.cpu_count() or 1
    timings = {}
    started = time.perf_counter()
    list(map(work, items))
    timings["1 thread"] = time.perf_counter() - started
    for label, pool in ((f"{cores} threads", ThreadPoolExecutor(cores)), (f"{cores} processes", ProcessPoolExecutor(cores))):
        with pool:
            list(pool.map(work, items[:cores]))  # start the workers first
            started = time.perf_counter()
            list(pool.map(work, items))
            timings[label] = time.perf_counter() - started
    return count, timings


def _hash_one(scheme, cost, password):
    from users import passwords

    return passwords.hash_password(password, scheme, bcrypt_cost=cost)


SEED_HASH = None


def main():
    global SEED_HASH
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page (default 30)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--skip-imports", action="store_true")
    options = parser.parse_args()

    django.setup()
    from django.conf import settings

    from bench.seed import BENCH_PASSWORD, BENCH_USER, HASHES
    from users.models import Mailbox

    SEED_HASH = HASHES[0]
    # Other work on the same cores shows in every figure: print it with them.
    print("Load average before: %.2f %.2f %.2f" % os.getloadavg())
    mailbox = Mailbox.objects.select_related("domain").order_by("email")[50000]
    server = start_server(options.workers)
    try:
        client = Client()
        client.login(BENCH_USER, BENCH_PASSWORD)
        print(f"Pages ({options.requests} requests each after 3 warm-ups, {options.workers} gunicorn workers):")
        print(f"{'page':34} {'median ms':>10} {'p95 ms':>8} {'queries':>8}   target: median ≤ {TARGET_MEDIAN_MS}, "
              f"p95 ≤ {TARGET_P95_MS}, queries ≤ {TARGET_QUERIES}")
        for label, median, p95, queries, note in measure_pages(client, options.requests, mailbox.pk, mailbox.domain.name):
            if median is None:
                print(f"{label:34} {'—':>10} {'—':>8} {'—':>8}   {note}")
                continue
            misses = [what for what, bad in (("median", median > TARGET_MEDIAN_MS), ("p95", p95 > TARGET_P95_MS),
                                             ("queries", queries > TARGET_QUERIES)) if bad]
            verdict = "MISSES " + ", ".join(misses) if misses else "ok"
            print(f"{label:34} {median:10.1f} {p95:8.1f} {queries:8}   {verdict}  {note}")

        export = measure_export(client, server)
        print(f"\nExport of all mailboxes: {export['rows']} rows, {export['bytes'] / 1e6:.1f} MB of CSV in "
              f"{export['seconds']:.2f} s (target ≤ {TARGET_EXPORT_S} s); serving worker's RSS peaked at "
              f"{export['peak_mb']:.0f} MB (was {export['before_mb']:.0f} MB; target ≤ {TARGET_EXPORT_MB} MB)")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait()

    print("Load average after the pages and the export: %.2f %.2f %.2f" % os.getloadavg())
    if options.skip_imports:
        return
    count, timings = measure_hash_pools()
    print(f"\nHashing {count} passwords with {settings.MAILADMIN_PASSWORD_SCHEME} cost {settings.MAILADMIN_BCRYPT_COST}: "
          + ", ".join(f"{label} {seconds:.2f} s" for label, seconds in timings.items()))
    print("\nImports through `manage.py import` (wall clock, including Django's start-up):")
    for rows, plaintext in ((10000, False), (1000, True)):
        result = measure_import(rows, plaintext)
        kind = "plaintext passwords" if plaintext else "{SCHEME} hashes"
        target = f" (target apply ≤ {TARGET_IMPORT_S} s)" if not plaintext else ""
        print(f"{rows} mailboxes with {kind}: dry run {result['dry_s']:.1f} s, apply {result['apply_s']:.1f} s{target}"
              f" — {result['summary']}")
    print("Load average at the end: %.2f %.2f %.2f" % os.getloadavg())


if __name__ == "__main__":
    main()
