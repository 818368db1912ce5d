"""Measure the panel's pages at several sizes over real HTTP (see bench/README.md).

    .venv/bin/python bench/run.py --sizes 10000,100000,1000000 [--reseed] [--throughput]

Each size (in mailboxes) has its own database, mailadmin_bench_10k, _100k, _1m …, seeded by
bench/seed.py when it is missing (or with --reseed). Every size is served at once, each by its
own gunicorn on 127.0.0.1, the bench superuser logs in to each, and every page is timed warm and
as the first view after the kept figures expired (the cache emptied before the request), the
sizes taking turns request by request: whatever else the machine does meanwhile falls on every
size alike, so the growth from one size to the next is the panel's, not the minute's. One table
with a column group per size is printed at the end, as Markdown, with issue 15's targets.
"""

import argparse
import html
import http.client
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

import django  # noqa: E402

PORT = int(os.environ.get("BENCH_PORT", "18765"))
PYTHON = str(ROOT / ".venv" / "bin" / "python")
BASE_URL = os.environ.get("BENCH_DATABASE_URL", "mysql://root@127.0.0.1:3306/mailadmin_bench")
QUIET_LOAD = 1.0  # load average (1 min) below which a 2-core machine counts as quiet
ADMIN_PAGE = 25  # rows a page of the Django admin lists (users.admin.ScopedAdmin)
AUDIT_PAGE = 50
FIRST_VIEWS_MS = 10_000  # no further first view of a page once its first views took this long together
TARGET_EXPORT_S, TARGET_EXPORT_MB, TARGET_IMPORT_S = 10, 200, 30
THROUGHPUT_TARGET_RPS = 150

# Issue 15's targets per kind of page: (median ms, p95 ms or None), and the growth allowed
# from the smallest size to the largest (medians, warm and first view after expiry).
TARGETS = {
    "page": (10, 20),  # list and detail pages
    "dashboard": (10, 20),  # "≤ 10 ms always": the first view after expiry too
    "admin": (15, None),
    "alias search": (15, None),
    "audit": (15, None),
}
GROWTH = 1.20


def size_label(size):
    return f"{size // 1_000_000}m" if size % 1_000_000 == 0 else f"{size // 1000}k"


def database_url(size):
    base, _, name = BASE_URL.rpartition("/")
    return f"{base}/{name}_{size_label(size)}"


def pages(size, mailbox_pk, domain_name):
    """(label, kind, url name, args, query, how) for every page measured; `how` names a page
    reached by following the HTML's links instead of a URL parameter."""
    last = {"page": 999999}  # the lists answer an out-of-range page number with the last page
    admin_last = {"p": -(-size // ADMIN_PAGE)}
    admin_alias_last = {"p": -(-2 * size // ADMIN_PAGE)}
    return [
        ("dashboard", "dashboard", "dashboard", [], {}, None),
        ("domain list", "page", "domain-list", [], {}, None),
        ("domain search `d0`", "page", "domain-list", [], {"q": "d0"}, None),
        ("domain detail", "page", "domain-detail", [domain_name], {}, None),
        ("mailbox list, first page", "page", "mailbox-list", [], {}, None),
        ("mailbox list, 4th page (Next ×3)", "page", "mailbox-list", [], {}, "next3"),
        ("mailbox list, last page", "page", "mailbox-list", [], last, None),
        ("mailbox search `user05`", "page", "mailbox-list", [], {"q": "user05"}, None),
        ("mailbox search by domain `@d00`", "page", "mailbox-list", [], {"q": "@d00"}, None),
        ("mailbox list, one domain", "page", "mailbox-list", [], {"domain": domain_name}, None),
        ("mailbox list by used", "page", "mailbox-list", [], {"sort": "-used"}, None),
        ("mailbox list by percent", "page", "mailbox-list", [], {"sort": "-percent"}, None),
        ("mailboxes over 90 %", "page", "mailbox-list", [], {"over": "90", "sort": "-percent"}, None),
        ("mailboxes over 100 %, by address", "page", "mailbox-list", [], {"over": "100"}, None),
        ("mailboxes by scheme, last page", "page", "mailbox-list", [], {"scheme": "SHA512-CRYPT", **last}, None),
        ("alias list, first page", "page", "alias-list", [], {}, None),
        ("alias list, 4th page (Next ×3)", "page", "alias-list", [], {}, "next3"),
        ("alias list, last page", "page", "alias-list", [], last, None),
        ("alias list, one domain", "page", "alias-list", [], {"domain": domain_name}, None),
        ("alias search `alias042`", "alias search", "alias-list", [], {"q": "alias042"}, None),
        ("alias search by destination `user099`", "alias search", "alias-list", [], {"q": "user099"}, None),
        ("mailbox edit page", "page", "mailbox-detail", [mailbox_pk], {}, None),
        ("new mailbox page", "page", "mailbox-create", [], {}, None),
        ("domain delete confirmation", "page", "domain-delete", [domain_name], {}, None),
        ("audit log, first page", "audit", "audit-log", [], {}, None),
        ("audit log, 4th page (Older ×3)", "audit", "audit-log", [], {}, "next3"),
        ("audit log, last page", "audit", "audit-log", [], {}, "audit-last"),
        ("audit log, actor filter", "audit", "audit-log", [], {"actor": "alice"}, None),
        ("audit log, object filter", "audit", "audit-log", [], {"object": "user042@"}, None),
        ("import/export page", "page", "bulk-import", [], {}, None),
        ("admin: domains", "admin", "admin:users_domain_changelist", [], {}, None),
        ("admin: domains by mailboxes", "admin", "admin:users_domain_changelist", [], {"o": "-3"}, None),
        ("admin: mailboxes", "admin", "admin:users_mailbox_changelist", [], {}, None),
        ("admin: mailboxes, last page", "admin", "admin:users_mailbox_changelist", [], admin_last, None),
        ("admin: mailbox search `user05`", "admin", "admin:users_mailbox_changelist", [], {"q": "user05"}, None),
        ("admin: mailboxes by scheme", "admin", "admin:users_mailbox_changelist", [], {"scheme": "SHA512-CRYPT"}, None),
        ("admin: mailboxes by quota", "admin", "admin:users_mailbox_changelist", [], {"o": "-3"}, None),
        ("admin: aliases", "admin", "admin:aliases_alias_changelist", [], {}, None),
        ("admin: aliases, last page", "admin", "admin:aliases_alias_changelist", [], admin_alias_last, None),
        ("admin: alias search `alias042`", "admin", "admin:aliases_alias_changelist", [], {"q": "alias042"}, None),
        ("admin: aliases by destination", "admin", "admin:aliases_alias_changelist", [], {"o": "2"}, None),
        ("admin: mailbox change", "admin", "admin:users_mailbox_change", [mailbox_pk], {}, None),
    ]


class Client:
    """One connection with a cookie jar. Gunicorn's sync workers close the connection after
    each response; http.client then opens a new one for the next request."""

    def __init__(self, port=PORT):
        self.cookies = {}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=900)

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


# --- The bench's own look at a size's database (not timed) ----------------------------------


class BenchDatabase:
    def __init__(self, url):
        import MySQLdb

        parts = urlsplit(url)
        self.name = parts.path.lstrip("/")
        self.server = dict(host=parts.hostname or "127.0.0.1", port=parts.port or 3306, user=parts.username or "root",
                           password=parts.password or "")
        self._connect = MySQLdb.connect
        self.connection = None

    def exists(self):
        server = self._connect(**self.server)
        try:
            cursor = server.cursor()
            cursor.execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
                           "AND TABLE_NAME = 'virtual_users'", [self.name])
            return cursor.fetchone()[0] == 1
        finally:
            server.close()

    def one(self, sql, params=None):
        if self.connection is None:
            self.connection = self._connect(db=self.name, autocommit=True, **self.server)
        cursor = self.connection.cursor()
        cursor.execute(sql, params)
        return cursor.fetchone()

    def expire_kept_figures(self):
        """What a minute's wait did to the figures the panel once cached: the cache is this table."""
        from django.conf import settings

        self.one(f"DELETE FROM `{settings.CACHES['default']['LOCATION']}`")

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def seed(size, url):
    env = {**os.environ, "BENCH_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    subprocess.run([PYTHON, str(ROOT / "bench" / "seed.py"), "--domains", str(size // 100)], env=env, check=True)


# --- Serving ----------------------------------------------------------------------------------


def start_server(workers, url, port=PORT):
    try:
        http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/")
    except OSError:
        pass
    else:
        sys.exit(f"Something already listens on 127.0.0.1:{port}; set BENCH_PORT to a free range of ports.")
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"), "mailadmin.wsgi", "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers), "--timeout", "900", "--log-level", "warning",
    ]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "PYTHONPATH": str(ROOT), "BENCH_DATABASE_URL": url}
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    for _ in range(100):
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/login/")
            return server
        except OSError:
            time.sleep(0.2)
    stop_server(server)
    sys.exit("gunicorn did not start.")


def stop_server(server):
    server.terminate()  # the arbiter stops its workers itself
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


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


# --- Pages ------------------------------------------------------------------------------------

NEXT_LINK = re.compile(r'<a\b[^>]*\bhref="([^"]*)"[^>]*\brel="next"|<a\b[^>]*\brel="next"[^>]*\bhref="([^"]*)"')


def next_link(path, body):
    """The page's rel="next" link ("Next", "Older") as a path, or None."""
    found = NEXT_LINK.search(body.decode())
    if not found:
        return None
    href = html.unescape(found.group(1) or found.group(2))
    base = path.split("?", 1)[0]
    return base + href if href.startswith("?") else href


def follow_next(client, path, times):
    for _ in range(times):
        _response, body = client.request("GET", path)
        following = next_link(path, body)
        if following is None:
            return None
        path = following
    return path


def audit_last_page(client, path, database, entries):
    """The audit log's last page as its own links reach it: the first page's "Older" link with
    the id it carries (the page's last entry) replaced by the entry just before the last page.
    The ids are looked up once here, outside the timing."""
    _response, body = client.request("GET", path)
    older = next_link(path, body)
    if older is None or entries <= AUDIT_PAGE:
        return path
    order = "ORDER BY timestamp DESC, id DESC LIMIT 1 OFFSET %s"
    first_page_last = str(database.one(f"SELECT id FROM mailadmin_audit {order}", [AUDIT_PAGE - 1])[0])
    last_page_start = (entries - 1) // AUDIT_PAGE * AUDIT_PAGE
    anchor = str(database.one(f"SELECT id FROM mailadmin_audit {order}", [last_page_start - 1])[0])
    base, _, query = older.partition("?")
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(value == first_page_last for _name, value in pairs):
        return None  # the link no longer carries an entry's id: the bench needs a new way there
    return base + "?" + urlencode([(name, anchor if value == first_page_last else value) for name, value in pairs])


def resolve(client, database, size, label, name, args, query, how):
    from django.urls import NoReverseMatch, reverse

    try:
        path = reverse(name, args=args)
    except NoReverseMatch:
        return None, "no such page yet"
    if query:
        path += "?" + urlencode(query)
    if how == "next3":
        path = follow_next(client, path, 3)
    elif how == "audit-last":
        path = audit_last_page(client, path, database, database.one("SELECT COUNT(*) FROM mailadmin_audit")[0])
    return (path, None) if path else (None, "no link to follow")


class Served:
    """One size while the pages are measured: its database, its gunicorn, a logged-in client,
    and its pages by label (the same pages, with this size's mailbox and domain)."""

    def __init__(self, size, database, server, client, mailbox_pk, domain):
        self.size, self.database, self.server, self.client = size, database, server, client
        self.pages = {page[0]: page for page in pages(size, mailbox_pk, domain)}

    def timed_request(self, path):
        """(milliseconds, response) of one GET as the client sees it."""
        started = time.perf_counter()
        response, _body = self.client.request("GET", path)
        return (time.perf_counter() - started) * 1000, response


WARM_UPS, MOST_WARM_UP_ROUNDS = 3, 20


def warm_up(each, path):
    """The last of WARM_UPS requests, after rounds of as many requests at once as the server
    has workers until every worker has served the page twice (up to MOST_WARM_UP_ROUNDS; a
    worker served in a round when its CPU time grew by more than half a millisecond). A worker's first request of a
    page pays what its process does once (imports, Jinja2 compiling templates, kept
    statements: 40-49 ms of CPU for the first Django admin page on 2026-12-04). One request
    after another, the worker that just answered takes the next one too, often for all of
    them: the other worker's first request then fell into the timed ones of whichever page it
    served first, the admin's domain list."""
    pids = worker_pids(each.server)
    served = dict.fromkeys(pids, 0)
    port = each.client.connection.port
    for _ in range(MOST_WARM_UP_ROUNDS):
        if min(served.values()) >= 2:
            break
        before = {pid: run_seconds(pid) for pid in pids}
        clients = [Client(port) for _ in pids]
        for client in clients:
            client.cookies = dict(each.client.cookies)
        requests = [threading.Thread(target=client.request, args=("GET", path)) for client in clients]
        for request in requests:
            request.start()
        for request in requests:
            request.join()
        for pid in pids:
            served[pid] += run_seconds(pid) - before[pid] > 0.0005
    for _ in range(WARM_UPS):  # connections, template caches, the kept figures
        response, _ = each.client.request("GET", path)
    return response


def in_turns(served, round_number):
    """Every size once, starting with a different one each round: none always goes first."""
    start = round_number % len(served)
    return served[start:] + served[:start]


def measure_pages(served, count, cold_count, only=None):
    """{size: [result per page]}: each page at every size, the sizes taking turns request by request."""
    results = {each.size: [] for each in served}
    for label in served[0].pages:
        if only and not re.search(only, label):
            continue
        timed = []
        for each in served:
            _label, kind, name, args, query, how = each.pages[label]
            path, problem = resolve(each.client, each.database, each.size, label, name, args, query, how)
            result = {"label": label, "kind": kind, "path": path, "problem": problem}
            results[each.size].append(result)
            if problem:
                continue
            response = warm_up(each, path)
            if response.status != 200:
                result["problem"] = f"HTTP {response.status}"
                continue
            timed.append((each, result))
        if not timed:
            continue
        timings = {each.size: [] for each, _ in timed}
        last_response = {}
        cpu_before = {each.size: workers_cpu_seconds(each.server) for each, _ in timed}
        for round_number in range(count):
            for each, result in in_turns(timed, round_number):
                milliseconds, last_response[each.size] = each.timed_request(result["path"])
                timings[each.size].append(milliseconds)
        for each, result in timed:
            result.update(median=statistics.median(timings[each.size]), p95=percentile(timings[each.size], 0.95),
                          queries=int(last_response[each.size].getheader("X-Query-Count", "-1")),
                          cpu=(workers_cpu_seconds(each.server) - cpu_before[each.size]) * 1000 / count)
        firsts = {each.size: [] for each, _ in timed}
        for round_number in range(cold_count):
            for each, result in in_turns(timed, round_number):
                if sum(firsts[each.size]) >= FIRST_VIEWS_MS:
                    continue
                each.database.expire_kept_figures()
                milliseconds, last_response[each.size] = each.timed_request(result["path"])
                firsts[each.size].append(milliseconds)
        for each, result in timed:
            result.update(first=statistics.median(firsts[each.size]), first_count=len(firsts[each.size]),
                          first_queries=int(last_response[each.size].getheader("X-Query-Count", "-1")))
        for each in served:
            page = results[each.size][-1]
            print(f"  {size_label(each.size):>4} {label:36} {fmt(page.get('median')):>7} {fmt(page.get('p95')):>7} "
                  f"{fmt(page.get('first')):>7} {page.get('queries', '')!s:>4} {fmt(page.get('cpu')):>5}  "
                  f"{page['problem'] or page['path']}", flush=True)
    return results


# --- Throughput -------------------------------------------------------------------------------


def cpu_seconds(pid):
    """User + system CPU seconds a process has used (fields 14 and 15 of /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_seconds(pid):
    """Seconds a single-threaded process has run on a CPU, to the nanosecond (the first field of
    /proc/PID/schedstat), or its cpu_seconds() where the kernel keeps no schedstat."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return cpu_seconds(pid)


def workers_cpu_seconds(server):
    """CPU seconds the gunicorn workers (sync: one thread each) have used so far. Not from
    /proc/PID/stat, which counts in clock ticks of 10 ms: over 30 requests that left a page's
    CPU per request known to ±0.3 ms only."""
    return sum(run_seconds(pid) for pid in worker_pids(server))


def mariadb_pid():
    found = subprocess.run(["pidof", "mariadbd"], capture_output=True, text=True).stdout.split()
    return int(found[0]) if found else None


def cpu_now(server):
    """CPU seconds so far: the gunicorn workers, the MariaDB server, this (client) process."""
    used = {"gunicorn workers": workers_cpu_seconds(server)}
    if (pid := mariadb_pid()) is not None:
        used["MariaDB"] = cpu_seconds(pid)
    used["bench client"] = cpu_seconds(os.getpid())
    return used


def measure_throughput(server, path, clients, seconds, username, password):
    """`clients` threads, each logged in on its own connection, requesting `path` for `seconds`."""
    sessions = []
    for _ in range(clients):
        session = Client()
        session.login(username, password)
        session.request("GET", path)
        sessions.append(session)
    latencies, errors, lock = [], [0], threading.Lock()
    start = threading.Barrier(clients + 1)
    deadline = [0.0]

    def hammer(session):
        mine, failed = [], 0
        start.wait()
        while time.perf_counter() < deadline[0]:
            began = time.perf_counter()
            try:
                response, _body = session.request("GET", path)
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                session.connection.close()
                ok = False
            if ok:
                mine.append((time.perf_counter() - began) * 1000)
            else:
                failed += 1
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    threads = [threading.Thread(target=hammer, args=(session,)) for session in sessions]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline[0] = began + seconds
    cpu_before, counters_before = cpu_now(server), cpu_counters()
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    cpu = {name: used - cpu_before[name] for name, used in cpu_now(server).items()}
    return {"cpu": cpu, "requests": len(latencies), "errors": errors[0], "seconds": elapsed, "rps": len(latencies) / elapsed,
            "stolen": stolen_share(counters_before, cpu_counters()),
            "median": statistics.median(latencies), "p95": percentile(latencies, 0.95)}


# --- Export and imports (one size) ---------------------------------------------------------


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


def run_command(url, *args):
    """Runs manage.py in the bench settings on one size's database: seconds, exit code, output."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "PYTHONPATH": str(ROOT), "BENCH_DATABASE_URL": url}
    started = time.perf_counter()
    process = subprocess.Popen([PYTHON, "manage.py", *args], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = process.communicate()
    seconds = time.perf_counter() - started
    return seconds, process.returncode, out.decode(), err.decode()


def import_file(rows, plaintext, domains, seed_hash):
    from bench.seed import domain_name

    handle = tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False)
    handle.write("email,password,quota\n")
    for n in range(rows):
        password = f"Imported-passw0rd-{n:05}" if plaintext else seed_hash
        handle.write(f"imp{n:05}@{domain_name(n % domains + 1)},{password},1G\n")
    handle.close()
    return handle.name


def measure_import(url, database, rows, plaintext, domains, seed_hash):
    path = import_file(rows, plaintext, domains, seed_hash)
    try:
        dry_s, dry_rc, dry_out, dry_err = run_command(url, "import", path, "--dry-run", "--quiet")
        apply_s, apply_rc, apply_out, apply_err = run_command(url, "import", path, "--quiet")
    finally:
        os.unlink(path)
        database.one("DELETE FROM virtual_users WHERE email LIKE 'imp%'")
        database.one("DELETE FROM mailadmin_audit WHERE object_repr LIKE 'imp%'")  # the log's size stays the seed's
        run_command(url, "recount")  # the rows went behind the panel's back
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


# --- Report -----------------------------------------------------------------------------------


def machine():
    def version(module):
        try:
            return __import__(module).__version__
        except (ImportError, AttributeError):
            return "?"

    memory = next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    mariadb = subprocess.run(["mysql", "-h127.0.0.1", "-uroot", "-Ne", "SELECT VERSION()"], capture_output=True,
                             text=True).stdout.strip() or "?"
    commit = subprocess.run(["git", "log", "-1", "--format=%h %s"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "?")
    return (f"commit {commit}\nnproc {os.cpu_count()} ({cpu}), {int(memory) / 1024**2:.1f} GiB RAM, {platform.platform()}, "
            f"MariaDB {mariadb}, Python {platform.python_version()}, Django {django.get_version()}, gunicorn {version('gunicorn')}")


def fmt(value):
    return "—" if value is None else f"{value:.1f}"


def verdict(kind, by_size, sizes):
    """What misses issue 15's targets at the largest size, and the growth from the smallest."""
    target_median, target_p95 = TARGETS[kind]
    largest, smallest = by_size.get(sizes[-1]), by_size.get(sizes[0])
    if not largest or largest.get("median") is None:
        return "—"
    misses = []
    if largest["median"] > target_median:
        misses.append(f"median > {target_median}")
    if target_p95 and largest["p95"] > target_p95:
        misses.append(f"p95 > {target_p95}")
    if kind == "dashboard" and largest["first"] > target_median:
        misses.append(f"first view > {target_median}")
    if len(sizes) > 1 and smallest and smallest.get("median"):
        for what in ("median", "first"):
            growth = largest[what] / smallest[what]
            if growth > GROWTH:
                misses.append(f"{what} ×{growth:.1f}")
    return "ok" if not misses else "MISSES " + ", ".join(misses)


def print_table(sizes, results, cold_count):
    labels = list(dict.fromkeys(r["label"] for size in sizes for r in results[size]["pages"]))
    header = ["page"]
    for size in sizes:
        tag = size_label(size)
        header += [f"{tag} median", f"{tag} p95", f"{tag} first", f"{tag} q", f"{tag} cpu"]
    header += ["target (median / p95 ms)", "verdict"]
    print("| " + " | ".join(header) + " |")
    print("|---|" + "---:|" * (5 * len(sizes)) + "---|---|")
    for label in labels:
        by_size = {size: next((r for r in results[size]["pages"] if r["label"] == label), None) for size in sizes}
        kind = next(r["kind"] for r in by_size.values() if r)
        row = [label]
        for size in sizes:
            r = by_size[size] or {}
            if r.get("problem"):
                row += [r["problem"], "", "", "", ""]
                continue
            queries = r.get("queries")
            first_queries = r.get("first_queries")
            q = "—" if queries is None else (str(queries) if first_queries == queries else f"{queries} ({first_queries})")
            first = fmt(r.get("first"))
            if r.get("first_count") is not None and r["first_count"] < cold_count:
                first += f" (n={r['first_count']})"
            row += [fmt(r.get("median")), fmt(r.get("p95")), first, q, fmt(r.get("cpu"))]
        median, p95 = TARGETS[kind]
        target = f"≤ {median}" + (f" / ≤ {p95}" if p95 else "")
        if kind == "dashboard":
            target += ", first view too"
        row += [target, verdict(kind, by_size, sizes)]
        print("| " + " | ".join(row) + " |")


def cpu_counters():
    """The machine's CPU time so far, by kind (the first line of /proc/stat: user nice system idle
    iowait irq softirq steal …, in ticks)."""
    return [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]


def stolen_share(before, after):
    """The share of the CPU time between two cpu_counters() that the host gave to other machines
    ("steal"): a virtual machine's cores run slower by that much, whatever its load average says."""
    spent = [later - earlier for earlier, later in zip(before, after)]
    return spent[7] / sum(spent) if sum(spent) else 0.0


def speed_probe(rounds=5):
    """CPU ms of a fixed piece of pure Python (formatting, dicts, small objects, as a page's
    code does), the least of `rounds`: how fast this machine runs Python right now. The same
    page has cost 1.3-1.7x more CPU per request in one run than in another minutes later on the
    same machine; this says how much of a difference between two runs is the machine's."""
    best = None
    for _ in range(rounds):
        start = time.thread_time()
        rows = [{"email": f"user{n}@d{n % 100}.example", "quota": n * 1024} for n in range(20_000)]
        sum(len(f"{row['email']}:{row['quota']:,}") for row in rows if row["email"].endswith(".example"))
        spent = (time.thread_time() - start) * 1000
        best = spent if best is None else min(best, spent)
    return best


def settle(seconds):
    """Wait up to `seconds` for the 1-minute load average to fall below QUIET_LOAD (the bench's own
    previous phase counts too); the load average then."""
    deadline = time.monotonic() + seconds
    while os.getloadavg()[0] >= QUIET_LOAD and time.monotonic() < deadline:
        time.sleep(5)
    return os.getloadavg()


@contextmanager
def serving(workers, url, port=PORT):
    server = start_server(workers, url, port)
    try:
        yield server
    finally:
        stop_server(server)


def size_phase(title, databases, settle_seconds):
    load = settle(settle_seconds)
    quiet = load[0] < QUIET_LOAD
    names = ", ".join(database.name for database in databases)
    print(f"\n{names}, {title}: load average before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          f"({'quiet' if quiet else 'NOT quiet'})", flush=True)
    return load, quiet


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000",
                        help="mailboxes per database, comma-separated (multiples of 100; default 10000,100000,1000000)")
    parser.add_argument("--reseed", action="store_true", help="seed every size's database again")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page (default 30)")
    parser.add_argument("--first-views", type=int, default=5,
                        help="first views after expiry per page, each after emptying the cache (default 5)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    parser.add_argument("--only", help="measure only the pages whose label matches this regular expression")
    parser.add_argument("--settle", type=float, default=90,
                        help="seconds to wait at most, before each size, for the load average to fall below "
                        f"{QUIET_LOAD} (default 90)")
    parser.add_argument("--throughput", action="store_true",
                        help="also hammer the one-domain mailbox list with --clients threads for --seconds at each "
                        "size, after every size's pages")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--conn-max-age", type=int,
                        help="an experiment: keep each worker's database connection this many seconds "
                        "(the panel's setting opens one per request)")
    parser.add_argument("--export", action="store_true", help="also time the CSV export of all mailboxes at each size")
    parser.add_argument("--imports", action="store_true",
                        help="also time `manage.py import` at the largest size (10,000 hashes, 1,000 plaintexts)")
    parser.add_argument("--skip-pages", action="store_true", help="only throughput, export, imports")
    options = parser.parse_args()
    if options.conn_max_age is not None:
        os.environ["BENCH_CONN_MAX_AGE"] = str(options.conn_max_age)  # read by bench/settings.py in gunicorn
    sizes = sorted(int(size) for size in options.sizes.split(","))

    django.setup()
    from django.urls import reverse

    from bench.seed import BENCH_PASSWORD, BENCH_USER, HASHES

    print(machine())
    results = {}
    for size in sizes:
        url = database_url(size)
        database = BenchDatabase(url)
        if options.reseed or not database.exists():
            seed(size, url)
        mailbox_pk, domain_id = database.one("SELECT id, domain_id FROM virtual_users ORDER BY email LIMIT 1 OFFSET %s",
                                             [size // 2])
        domain = database.one("SELECT name FROM virtual_domains WHERE id = %s", [domain_id])[0]
        results[size] = {"url": url, "database": database, "domain": domain, "mailbox_pk": mailbox_pk, "pages": []}

    if not options.skip_pages or options.export:
        load_before, quiet = size_phase("pages", [results[size]["database"] for size in sizes], options.settle)
        probe_before = speed_probe()
        counters_before = cpu_counters()
        with ExitStack() as servers:
            served = []
            for number, size in enumerate(sizes):
                result = results[size]
                server = servers.enter_context(serving(options.workers, result["url"], PORT + number))
                client = Client(PORT + number)
                client.login(BENCH_USER, BENCH_PASSWORD)
                served.append(Served(size, result["database"], server, client, result["mailbox_pk"], result["domain"]))
            if not options.skip_pages:
                for size, measured in measure_pages(served, options.requests, options.first_views, options.only).items():
                    results[size]["pages"] = measured
            if options.export:
                for each in served:
                    results[each.size]["export"] = export = measure_export(each.client, each.server)
                    print(f"  {size_label(each.size)}: export of all mailboxes: {export['rows']} rows, "
                          f"{export['bytes'] / 1e6:.1f} MB in {export['seconds']:.2f} s (target ≤ {TARGET_EXPORT_S} s); "
                          f"worker RSS peak {export['peak_mb']:.0f} MB (was {export['before_mb']:.0f} MB; "
                          f"target ≤ {TARGET_EXPORT_MB} MB)", flush=True)
        load = os.getloadavg()
        stolen = stolen_share(counters_before, cpu_counters())
        probes = (probe_before, speed_probe())
        for size in sizes:
            results[size].update(load_before=load_before, quiet=quiet, load_after=load, stolen=stolen, probes=probes)
        print(f"Load average after {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
              f"CPU stolen by the host meanwhile {stolen:.0%}", flush=True)

    if options.throughput:
        for size in sizes:
            result = results[size]
            result["throughput_before"], result["throughput_quiet"] = size_phase("throughput", [result["database"]],
                                                                                 options.settle)
            path = reverse("mailbox-list") + "?" + urlencode({"domain": result["domain"]})
            with serving(options.workers, result["url"]) as server:
                result["throughput"] = t = measure_throughput(server, path, options.clients, options.seconds,
                                                              BENCH_USER, BENCH_PASSWORD)
            result["throughput_after"] = os.getloadavg()
            print(f"  {path}: {t['rps']:.1f} requests/s ({t['stolen']:.0%} of the CPU stolen by the host), "
                  f"median {t['median']:.1f} ms, p95 {t['p95']:.1f} ms, "
                  f"{t['errors']} errors, {t['requests']} requests in {t['seconds']:.1f} s; CPU s: "
                  + ", ".join(f"{name} {used:.1f}" for name, used in t["cpu"].items()), flush=True)

    if options.imports:
        from django.conf import settings

        size = sizes[-1]
        count, timings = measure_hash_pools()
        print(f"\nHashing {count} passwords with {settings.MAILADMIN_PASSWORD_SCHEME} cost "
              f"{settings.MAILADMIN_BCRYPT_COST}: " + ", ".join(f"{k} {v:.2f} s" for k, v in timings.items()))
        for rows, plaintext in ((10000, False), (1000, True)):
            imported = measure_import(results[size]["url"], results[size]["database"], rows, plaintext, size // 100,
                                      HASHES[0])
            kind = "plaintext passwords" if plaintext else "{SCHEME} hashes"
            target = f" (target apply ≤ {TARGET_IMPORT_S} s)" if not plaintext else ""
            print(f"Import of {rows} mailboxes with {kind} into {size_label(size)}: dry run {imported['dry_s']:.1f} s, "
                  f"apply {imported['apply_s']:.1f} s{target} — {imported['summary']}", flush=True)
    for result in results.values():
        result["database"].close()

    if not options.skip_pages:
        print(f"\nPages: {options.requests} timed requests each after {WARM_UPS}+ warm-ups (median, p95 in ms, as the client "
              f"sees them), and the median of {options.first_views} first views after expiry (fewer, n=, once they took "
              f"{FIRST_VIEWS_MS // 1000} s together; the cache emptied "
              f"before each); q = queries (the first view's in brackets when different); cpu = the workers' CPU ms "
              f"per timed request (from /proc/PID/schedstat). gunicorn, "
              f"{options.workers} sync workers per size, every size served at once and taking turns request by "
              f"request.")
        r = results[sizes[0]]
        print(f"- load average {r['load_before'][0]:.2f} before, {r['load_after'][0]:.2f} after "
              f"— {'quiet' if r['quiet'] else 'NOT quiet'} (quiet: below {QUIET_LOAD} before starting); "
              f"{r['stolen']:.0%} of the CPU time stolen by the host while the pages ran; speed probe "
              f"{r['probes'][0]:.1f} ms before, {r['probes'][1]:.1f} after (bench.run.speed_probe: lower is faster)")
        print()
        print_table(sizes, results, options.first_views)
    if options.throughput:
        print(f"\nThroughput, one-domain mailbox list, {options.clients} clients, {options.seconds:.0f} s, "
              f"{options.workers} sync workers (target ≥ {THROUGHPUT_TARGET_RPS} requests/s):")
        print("| size | requests/s | median ms | p95 ms | errors | CPU s: workers / MariaDB / client | load before → after "
              "| stolen by the host |\n|---|---:|---:|---:|---:|---|---|---:|")
        for size in sizes:
            r = results[size]
            t = r["throughput"]
            cpu = " / ".join(f"{used:.1f}" for used in t["cpu"].values())
            print(f"| {size_label(size)} | {t['rps']:.1f} | {t['median']:.1f} | {t['p95']:.1f} | {t['errors']} | {cpu} | "
                  f"{r['throughput_before'][0]:.2f} → {r['throughput_after'][0]:.2f} | {t['stolen']:.0%} |")


if __name__ == "__main__":
    main()
