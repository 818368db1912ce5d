"""The permission matrix: every URL of the panel × every actor × GET and POST → expected status.

The rows live in permission_rows.py (format documented there) and in each feature's
`*/tests/permission_rows_*.py`. A named URL without a row fails `test_every_url_has_a_row`,
so a new page cannot ship without someone deciding who may reach it.
"""

import importlib
from pathlib import Path

import pytest
from django.utils.http import urlencode
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from aliases.models import Alias
from mailadmin.tests import permission_rows
from users.models import Domain, DomainAdminGrant, Mailbox

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# The Django admin is one entry (admin:index); its own views all sit behind admin_view().
SKIPPED_NAMESPACES = {"admin"}
# A hash nobody logs in with: the matrix never checks a mailbox password.
UNUSED_HASH = "{BLF-CRYPT}$2y$05$B73qez2RL79n1yPAPUwe6O33Yt.8xgSwlApHFU3nGHaRXs1ce0qea"


def feature_row_modules():
    for path in sorted(PROJECT_ROOT.glob("*/tests/permission_rows_*.py")):
        yield ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts)


def all_rows():
    rows = [("mailadmin.tests.permission_rows", row) for row in permission_rows.ROWS]
    for module_name in feature_row_modules():
        module = importlib.import_module(module_name)
        rows += [(module_name, row) for row in module.ROWS]
    return rows


def url_names(patterns=None, namespace=""):
    """Every URL name reachable from the root URLconf (an unnamed pattern is reported by its route)."""
    patterns = get_resolver().url_patterns if patterns is None else patterns
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace in SKIPPED_NAMESPACES:
                continue
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from url_names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            yield f"{namespace}{pattern.name}" if pattern.name else f"<unnamed {pattern.pattern}>"


def row_id(source_and_row):
    source, row = source_and_row
    kwargs = ",".join(f"{k}={v}" for k, v in sorted(row.get("kwargs", {}).items()))
    data = " with data" if row.get("data") else ""
    query = "?" + ",".join(f"{k}={v}" for k, v in sorted(row["query"].items())) if row.get("query") else ""
    return f"{row['name']}({kwargs}){query}{data}"


ROWS = all_rows()


def test_every_url_has_a_row():
    covered = {row["name"] for _, row in ROWS} | {"admin:index"}
    missing = sorted(set(url_names()) - covered)
    assert not missing, (
        "URLs without a row in the permission matrix (add them to your feature's "
        f"*/tests/permission_rows_*.py, format in mailadmin/tests/permission_rows.py): {missing}"
    )


def test_every_row_names_a_url():
    known = set(url_names()) | {"admin:index"}
    stale = sorted({f"{source}: {row['name']}" for source, row in ROWS if row["name"] not in known})
    assert not stale, f"Rows for URLs that do not exist: {stale}"


def test_every_row_has_a_status_for_each_actor_and_method():
    for source, row in ROWS:
        for method in ("GET", "POST"):
            statuses = row[method].split()
            assert len(statuses) == len(permission_rows.ACTORS) and all(s.isdigit() for s in statuses), (
                f"{source}: {row['name']} {method} must list {len(permission_rows.ACTORS)} statuses, "
                f"got {row[method]!r}"
            )


def test_the_walk_sees_the_panels_urls():
    # Guards the guard: if the walk found nothing, every "missing" check would pass.
    names = set(url_names())
    assert {"dashboard", "mailbox-list", "alias-list", "login"} <= names


@pytest.fixture
def world(db):
    a = Domain.objects.create(name="a.example")
    b = Domain.objects.create(name="b.example")
    jane_box = Mailbox.objects.create(domain=a, email="jane@a.example", password=UNUSED_HASH)
    kim_box = Mailbox.objects.create(domain=b, email="kim@b.example", password=UNUSED_HASH)
    alias_a = Alias.objects.create(domain=a, source="info@a.example", destination="jane@a.example")
    alias_b = Alias.objects.create(domain=b, source="info@b.example", destination="kim@b.example")
    users = {
        "jane": User.objects.create(username="jane@a.example"),
        "bob": User.objects.create(username="bob", is_staff=True),
        "carol": User.objects.create(username="carol", is_staff=True),
        "alice": User.objects.create(username="alice", is_staff=True, is_superuser=True),
    }
    grant_a = DomainAdminGrant.objects.create(user=users["bob"], domain=a)
    grant_b = DomainAdminGrant.objects.create(user=users["carol"], domain=b)
    values = {
        "domain_a": a.name,
        "domain_b": b.name,
        "mailbox_a": jane_box.pk,
        "mailbox_b": kim_box.pk,
        "alias_a": alias_a.pk,
        "alias_b": alias_b.pk,
        "grant_a": grant_a.pk,
        "grant_b": grant_b.pk,
        "staff_bob": users["bob"].pk,
        "staff_alice": users["alice"].pk,
    }
    return users, values


def status_of(user, method, url, data):
    """One request in a savepoint that is rolled back, so each cell sees the same world."""
    with transaction.atomic():
        client = Client()
        if user is not None:
            client.force_login(user, backend="mailadmin.staff.backends.StaffBackend")
        response = client.get(url) if method == "GET" else client.post(url, data or {})
        transaction.set_rollback(True)
    return response.status_code


@pytest.mark.parametrize("source_and_row", ROWS, ids=[row_id(r) for r in ROWS])
def test_permission_matrix(world, source_and_row):
    users, values = world
    source, row = source_and_row
    kwargs = {
        key: values[value] if isinstance(value, str) and value in values else value
        for key, value in row.get("kwargs", {}).items()
    }
    url = reverse(row["name"], kwargs=kwargs)
    if row.get("query"):
        query = {key: values.get(value, value) for key, value in row["query"].items()}
        url += "?" + urlencode(query)
    wrong = []
    for method in ("GET", "POST"):
        expected = [int(s) for s in row[method].split()]
        for actor, want in zip(permission_rows.ACTORS, expected):
            got = status_of(users.get(actor), method, url, row.get("data") if method == "POST" else None)
            if got != want:
                wrong.append(f"{method} {url} as {actor}: expected {want}, got {got}")
    assert not wrong, f"{source}:\n" + "\n".join(wrong)
