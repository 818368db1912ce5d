"""Count the instructions each page costs in Python (valgrind's callgrind), see bench/README.md.

    .venv/bin/python bench/instructions.py [--sizes 10000] [--only REGEX] [--against REF]

Times on this kind of machine swing by 15-30 % from one minute to the next (other machines'
work on the same host), more than most changes a page gets. An instruction count does not: the
same code, data and requests execute the same instructions, on a quiet machine or a busy one.
Each page is requested in-process (Django's test client, logged in as the bench superuser)
under callgrind: 3 warm-up requests, then --requests counted ones; the figure is the
instructions of the Django process per request (the middleware, the view, the ORM, the
templates, the database driver's client side; MariaDB's own work is not in it).
`--against REF` counts the same pages with the code of a git commit too, side by side.
"""

import argparse
import gc
import json
import os
import re
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WARM_UPS = 3


# --- The process under callgrind: requests the pages it is told to -----------------------------


def serve_pages(requests):
    """Child: for each page the parent names, warm up, say "ready", count on "go", say "done"."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    from bench import run
    from bench.seed import BENCH_USER

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(get_user_model().objects.get(username=BENCH_USER))
    database = run.BenchDatabase(os.environ["BENCH_DATABASE_URL"])
    for line in sys.stdin:
        label, name, args, query, how = json.loads(line)
        try:
            path = reverse(name, args=args) + ("?" + run.urlencode(query) if query else "")
        except NoReverseMatch:
            print(json.dumps({"problem": "no such page"}), flush=True)
            continue
        if how == "next3":
            path = run.follow_next(InProcess(client), path, 3)
        elif how == "audit-last":
            entries = database.one("SELECT COUNT(*) FROM mailadmin_audit")[0]
            path = run.audit_last_page(InProcess(client), path, database, entries)
        if path is None:
            print(json.dumps({"problem": "no link to follow"}), flush=True)
            continue
        for _ in range(WARM_UPS):
            response = client.get(path)
        if response.status_code != 200:
            print(json.dumps({"problem": f"HTTP {response.status_code}"}), flush=True)
            continue
        # Each page starts from an empty garbage collector: otherwise a full collection (its cost
        # grows with everything earlier pages left alive) falls into whichever page's counted
        # requests the allocations so far lead it to, and a page counted 11 % more after others.
        gc.collect()
        print(json.dumps({"ready": path}), flush=True)
        sys.stdin.readline()  # "go": the parent has zeroed the counters
        for _ in range(requests):
            response = client.get(path)
        print(json.dumps({"done": path, "queries": response.get("X-Query-Count")}), flush=True)


class InProcess:
    """The bench's HTTP client interface (request → (response, body)) over Django's test client."""

    def __init__(self, client):
        self.client = client

    def request(self, method, path, body=None, headers=None):
        response = self.client.generic(method, path, body or "")
        response.status = response.status_code
        return response, response.content


# --- The parent: drives the child and reads callgrind's counters -------------------------------


class Counted:
    """A child process under callgrind, instrumented only while a page's requests run."""

    def __init__(self, root, database_url, requests, dump_dir):
        env = {**os.environ, "BENCH_DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "bench.settings",
               "PYTHONPATH": str(root), "PYTHONHASHSEED": "0"}
        self.dump_dir = dump_dir
        self.process = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={dump_dir}/cg.%p",
             sys.executable, str(Path(__file__).resolve()), "--child", "--requests", str(requests)],
            cwd=root, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )

    def _control(self, *options):
        subprocess.run(["callgrind_control", *options, str(self.process.pid)], check=True, capture_output=True)

    def _say(self, message):
        self.process.stdin.write(message + "\n")
        self.process.stdin.flush()

    def _hear(self):
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the counted process ended (run it without valgrind to see why)")
        return json.loads(line)

    def page(self, label, name, args, query, how):
        self._say(json.dumps([label, name, args, query, how]))
        answer = self._hear()
        if "problem" in answer:
            return answer
        self._control("--instr=on")
        self._control("--zero")
        self._say("go")
        answer.update(self._hear())
        before = set(Path(self.dump_dir).glob(f"cg.{self.process.pid}*"))
        self._control("--dump")
        self._control("--instr=off")
        (dump,) = set(Path(self.dump_dir).glob(f"cg.{self.process.pid}*")) - before
        answer["instructions"] = next(int(line.split()[1]) for line in dump.open() if line.startswith("summary:"))
        return answer

    def close(self):
        self.process.stdin.close()
        self.process.wait()


@contextmanager
def code_at(ref):
    """A checkout of `ref` beside this one (a git worktree), removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="bench-ref-") as parent:
        tree = Path(parent) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(tree), ref], check=True)
        try:
            yield tree
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=True)


def count_pages(root, database_url, pages, requests):
    with tempfile.TemporaryDirectory(prefix="callgrind-") as dump_dir:
        counted = Counted(root, database_url, requests, dump_dir)
        try:
            results = {}
            for label, _kind, name, args, query, how in pages:
                answer = counted.page(label, name, args, query, how)
                if "instructions" in answer:
                    answer["per_request"] = answer["instructions"] / requests
                results[label] = answer
                shown = f"{answer['per_request'] / 1e6:.2f} M" if "per_request" in answer else answer["problem"]
                print(f"  {label:36} {shown}", flush=True)
            return results
        finally:
            counted.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000", help="mailboxes per database, comma-separated (default 10000)")
    parser.add_argument("--only", help="count only the pages whose label matches this regular expression")
    parser.add_argument("--requests", type=int, default=10, help="counted requests per page (default 10)")
    parser.add_argument("--against", metavar="REF", help="also count the pages with the code of this git commit")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        return serve_pages(options.requests)

    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    from bench import run

    columns = ["this code"] + ([options.against] if options.against else [])
    table = {}
    for size in sorted(int(size) for size in options.sizes.split(",")):
        url = run.database_url(size)
        database = run.BenchDatabase(url)
        if not database.exists():
            run.seed(size, url)
        mailbox_pk, domain_id = database.one("SELECT id, domain_id FROM virtual_users ORDER BY email LIMIT 1 OFFSET %s",
                                             [size // 2])
        domain = database.one("SELECT name FROM virtual_domains WHERE id = %s", [domain_id])[0]
        pages = [page for page in run.pages(size, mailbox_pk, domain) if not options.only or re.search(options.only, page[0])]
        print(f"{database.name}, this code:", flush=True)
        table[size] = {"this code": count_pages(ROOT, url, pages, options.requests)}
        if options.against:
            with code_at(options.against) as tree:
                print(f"{database.name}, {options.against}:", flush=True)
                table[size][options.against] = count_pages(tree, url, pages, options.requests)
    print_table(table, columns)


def print_table(table, columns):
    """Markdown: millions of instructions per request, per size and code, and the change."""
    from bench.run import size_label

    header = ["page"] + [f"{size_label(size)} {column}" for size in table for column in columns]
    if len(columns) == 2:
        header += [f"{size_label(size)} change" for size in table]
    print("\n| " + " | ".join(header) + " |\n|---|" + "---:|" * (len(header) - 1))
    labels = list(dict.fromkeys(label for size in table for label in table[size]["this code"]))
    for label in labels:
        cells = []
        for size in table:
            for column in columns:
                answer = table[size][column].get(label, {})
                cells.append(f"{answer['per_request'] / 1e6:.2f}" if "per_request" in answer else answer.get("problem", ""))
        if len(columns) == 2:
            for size in table:
                new, old = (table[size][column].get(label, {}).get("per_request") for column in columns)
                cells.append(f"{(new - old) / old:+.0%}" if new and old else "")
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
