"""Look for pages whose cost grows with the installation: many more pages than bench/run.py
measures (as the superuser, a domain admin of two domains and a mailbox user), each timed
in-process at every size, the growth flagged.

    .venv/bin/python bench/sweep.py [--sizes 10000,1000000] [--only REGEX]

It is a search, not a measurement: Django's test client in one process per size (the bench
superuser, 2 warm-ups, the median of 5), no gunicorn, no turns between the sizes. A page it
flags is then measured with bench/run.py (add it there) and bench/instructions.py. The sizes'
databases are bench/run.py's (seed them with it or bench/seed.py). On 2026-12-04 it found four
pages that grew 3-800x from 10k to 1m; bench/RESULTS.md has them.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GROWTH = 1.5  # flagged above this, and above 2 ms more: in-process times of one size swing that much


def pages(domain, mailbox_pk, alias, domain_pk, staff_pk):
    """(label, path) of every page swept, for the bench's data (d0042.bench.example …)."""
    from django.urls import reverse

    def at(name, *args, **query):
        return reverse(name, args=args) + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")

    def admin(model, *args, view="changelist", **query):
        return at(f"admin:{model}_{view}", *args, **query)

    return [
        ("domain list sorted by mailboxes", at("domain-list", sort="-mailboxes")),
        ("domain list, last page", at("domain-list", page=999999)),
        ("domain search `bench`", at("domain-list", q="bench")),
        ("domain detail, last page", at("domain-detail", domain, page=999)),
        ("new domain page", at("domain-create")),
        ("domain delete confirmation", at("domain-delete", domain)),
        ("new mailbox page", at("mailbox-create")),
        ("mailbox password page", at("mailbox-password", mailbox_pk)),
        ("mailbox delete confirmation", at("mailbox-delete", mailbox_pk)),
        ("mailbox sending rights", at("mailbox-sending", mailbox_pk)),
        ("mailbox list by -address", at("mailbox-list", sort="-email")),
        ("mailbox list by quota, last page", at("mailbox-list", sort="-quota", page=999999)),
        ("mailbox list, one domain, by used", at("mailbox-list", domain=domain, sort="-used")),
        ("mailboxes over 90 %, by address", at("mailbox-list", over=90, sort="email")),
        ("mailboxes by scheme PLAIN", at("mailbox-list", scheme="PLAIN")),
        ("mailbox search with no match", at("mailbox-list", q="zzz")),
        ("mailbox search `user`, by used", at("mailbox-list", q="user", sort="-used")),
        ("mailbox search by domain name", at("mailbox-list", q="bench.example")),
        ("alias list by destination", at("alias-list", sort="destination")),
        ("alias list, one domain, last page", at("alias-list", domain=domain, page=999)),
        ("alias search `ext`", at("alias-list", q="ext")),
        ("alias search by domain `@d0042`", at("alias-list", q="@d0042")),
        ("new alias page", at("alias-create")),
        ("alias preview: a new address", at("alias-preview", source=f"new@{domain}", destinations=f"user001@{domain}")),
        ("alias preview: a catch-all", at("alias-preview", source=f"@{domain}", destinations=f"user001@{domain}")),
        ("alias preview: an edit", at("alias-preview", source=alias, destinations=f"user002@{domain}", editing=alias)),
        ("alias address page", at("alias-address", alias)),
        ("alias address delete confirmation", at("alias-address-delete", alias)),
        ("who may send as a mailbox", at("sending-lookup", address=f"user042@{domain}")),
        ("who may send as an alias", at("sending-lookup", address=alias, login=f"user042@{domain}")),
        ("who may send as an unknown address", at("sending-lookup", address=f"nobody@{domain}")),
        ("server config page", at("postfix-config")),
        ("staff list", at("staff-list")),
        ("staff detail", at("staff-detail", staff_pk)),
        ("my security", at("my-security")),
        ("audit log, domain filter", at("audit-log", domain=domain)),
        ("audit log, search", at("audit-log", q="user042")),
        ("admin: index", at("admin:index")),
        ("admin: domain change", admin("users_domain", domain_pk, view="change")),
        ("admin: domain search `d00`", admin("users_domain", q="d00")),
        ("admin: domains by aliases, 3rd page", admin("users_domain", o="-4", p=3)),
        ("admin: mailboxes by quota then address", admin("users_mailbox", o="3.-1")),
        ("admin: mailboxes of one domain", admin("users_mailbox", domain__id__exact=domain_pk)),
        ("admin: new mailbox", admin("users_mailbox", view="add")),
        ("admin: mailbox delete", admin("users_mailbox", mailbox_pk, view="delete")),
        ("admin: aliases by source", admin("aliases_alias", o="-1")),
        ("admin: alias search `ext`", admin("aliases_alias", q="ext")),
        ("admin: new alias", admin("aliases_alias", view="add")),
    ]


def others_pages(domain, mailbox_pk):
    """(label, path) seen by a domain admin of two domains, and by a mailbox user."""
    from django.urls import reverse

    lists = [("mailbox list", "mailbox-list"), ("alias list", "alias-list"), ("domain list", "domain-list")]
    as_domain_admin = [(f"domain admin: {label}", reverse(name)) for label, name in lists] + [
        ("domain admin: dashboard", reverse("dashboard")),
        ("domain admin: mailbox list by used", reverse("mailbox-list") + "?sort=-used"),
        ("domain admin: mailbox search `user04`", reverse("mailbox-list") + "?q=user04"),
        ("domain admin: alias search `alias04`", reverse("alias-list") + "?q=alias04"),
        ("domain admin: new mailbox page", reverse("mailbox-create")),
        ("domain admin: mailbox edit page", reverse("mailbox-detail", args=[mailbox_pk])),
        ("domain admin: audit log", reverse("audit-log")),
        ("domain admin: admin mailboxes by quota", reverse("admin:users_mailbox_changelist") + "?o=-3"),
        ("domain admin: admin aliases by destination", reverse("admin:aliases_alias_changelist") + "?o=2"),
        ("domain admin: admin domains by mailboxes", reverse("admin:users_domain_changelist") + "?o=-3"),
    ]
    as_mailbox_user = [("mailbox user: own page", reverse("account"))]
    return as_domain_admin, as_mailbox_user


def people(domain_names):
    """Clients logged in as a domain admin of `domain_names` and as the mailbox user042 of the
    first, made in the bench's database the first time (the seed makes only the superuser)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.test import Client

    from users.models import Domain, DomainAdminGrant

    users = get_user_model()
    admin, _ = users.objects.get_or_create(username="sweepdomainadmin", defaults={"is_staff": True})
    for name in domain_names:
        DomainAdminGrant.objects.get_or_create(user=admin, domain=Domain.objects.get(name=name))
    admin.user_permissions.add(*Permission.objects.filter(
        content_type__app_label__in=["users", "aliases"], codename__regex=r"^(view|change)_(domain|mailbox|alias)$"))
    mailbox_user, _ = users.objects.get_or_create(username=f"user042@{domain_names[0]}")
    clients = []
    for user in (admin, mailbox_user):
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)
        clients.append(client)
    return clients


def sweep(only):
    """Child: time each page at this process's database; print one JSON line a page."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from aliases.models import Alias
    from bench.seed import BENCH_USER
    from users.models import Domain, Mailbox

    user = get_user_model().objects.get(username=BENCH_USER)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    domain = Domain.objects.get(name="d0042.bench.example")
    mailbox = Mailbox.objects.get(email=f"user042@{domain.name}")
    alias = Alias.objects.filter(source=f"alias042@{domain.name}").first().source
    as_domain_admin, as_mailbox_user = others_pages(domain.name, mailbox.pk)
    domain_admin, mailbox_user = people([domain.name, "d0043.bench.example"])
    swept = [(client, label, path) for label, path in pages(domain.name, mailbox.pk, alias, domain.pk, user.pk)]
    swept += [(domain_admin, label, path) for label, path in as_domain_admin]
    swept += [(mailbox_user, label, path) for label, path in as_mailbox_user]
    for client, label, path in swept:
        if only and not re.search(only, label):
            continue
        times = []
        for _ in range(7):
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - start) * 1000)
        print(json.dumps({"label": label, "path": path, "status": response.status_code,
                          "ms": statistics.median(times[2:]), "queries": len(queries)}), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--only", help="sweep only the pages whose label matches this regular expression")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return sweep(args.only)

    sys.path.insert(0, str(ROOT))
    from bench.run import database_url, size_label

    sizes = [int(size) for size in args.sizes.split(",")]
    found = {}
    for size in sizes:
        env = {**os.environ, "BENCH_DATABASE_URL": database_url(size), "DJANGO_SETTINGS_MODULE": "bench.settings",
               "PYTHONPATH": str(ROOT)}
        command = [sys.executable, str(Path(__file__).resolve()), "--child"] + (["--only", args.only] if args.only else [])
        output = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
        for line in output.splitlines():
            page = json.loads(line)
            found.setdefault(page["label"], {})[size] = page
    labels = [size_label(size) for size in sizes]
    print("| page | " + " | ".join(f"{label} ms (queries)" for label in labels) + " | growth |")
    print("|---|" + "---:|" * len(sizes) + "---|")
    for label, by_size in found.items():
        cells = [f"{by_size[s]['ms']:.1f} ({by_size[s]['queries']})" + ("" if by_size[s]["status"] == 200 else
                 f" HTTP {by_size[s]['status']}") for s in sizes]
        first, last = by_size[sizes[0]]["ms"], by_size[sizes[-1]]["ms"]
        growth = last / first
        flag = f"×{growth:.1f}" + (" **grows**" if growth > GROWTH and last - first > 2 else "")
        print(f"| {label} | " + " | ".join(cells) + f" | {flag} |")


if __name__ == "__main__":
    main()
