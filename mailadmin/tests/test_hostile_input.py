"""Hostile input never yields a 500 or a page cut off half-way, on any page, as any role.

Every URL the resolver knows (the Django admin's included, so a new page is covered without
anyone adding it here) is requested by each actor with hostile values in its URL parts, its
query parameters and every field of the forms that post to it — the forms are read from the
pages themselves, so a new field is covered too. A form that answers with another form (a dry
run and its "apply", an admin action and its confirmation) is submitted once more.

Hypothesis draws the values with a fixed budget per page and a fixed seed, so a run takes the
same time every time. It matters most on MariaDB: the guide's utf8mb3 columns refuse to compare
with a 4-byte character ("Illegal mix of collations"), which SQLite never reports.
"""

import csv
import hashlib
import io
import os
import traceback
import zlib
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.contrib import admin
from django.db import connection, transaction
from django.test import Client
from django.urls import NoReverseMatch, Resolver404, URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.converters import IntConverter
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from mailadmin.testing import html_forms
from mailadmin.tests.test_permissions import all_rows, world  # noqa: F401 (a fixture)

# Examples per page and actor. SQLite gets a smaller share: the search matters most on MariaDB.
# HOSTILE_EXAMPLES=50 searches deeper by hand (a different, longer run; not for CI).
EXAMPLES_PER_PAGE = int(os.environ.get("HOSTILE_EXAMPLES") or {"mysql": 8}.get(connection.vendor, 3))
ACTORS = ("anonymous", "jane", "bob", "carol", "alice")
STRONG_PASSWORD = "Hostile-Input-Passw0rd"
SCRIPT = "<script>hostile()</script>"

HOSTILE = [
    "", " ", "a" * 300, "x" * 5000, "9" * 40, str(2**31), str(2**63), "-1", "-0", "1e309", "NaN",
    "inf", "0x10", "1.5", "99999999999999999999G", "9" * 30 + "T", "1" + "0" * 20 + ".5G",
    "𝔲𝔫𝔦𝔠𝔬𝔡𝔢", "😀", "jane😀@a.example", "😀@a.example", "info@a.example😀", "a.example😀", "😀.example",
    "e\u0301\u0301\u0301\u0301", "\u202eevil", "\ufeff", "\x00", "a\x00b", "jane@a.example\x00",
    "\r\n", "jane@a.example\r\nrhost=203.0.113.9", "\x1b[31m", "\t", SCRIPT, "\"'><img src=x>",
    "' OR 1=1 -- ", "\"; DROP TABLE virtual_users; --", "=cmd|'/c calc'!A0", "+1+1", "-2+3", "@SUM(1)",
    "../../etc/passwd", "%", "_", "\\", "%00", "{BLF-CRYPT}", "{PLAIN}\x00", "0000-00-00", "2026-99-99",
    "9999-12-31", "0001-01-01", "10000-01-01", "-1-01-01", "true", "on", "[]", "{}", "null",
]
# Plausible values for fields a page leaves empty, so the hostile one is often the only bad one.
GOOD = {
    "name": "new.example", "local_part": "new", "domain": "a.example", "quota": "1G",
    "password": STRONG_PASSWORD, "password1": STRONG_PASSWORD, "password2": STRONG_PASSWORD,
    "new_password1": STRONG_PASSWORD, "new_password2": STRONG_PASSWORD, "old_password": STRONG_PASSWORD,
    "username": "jane@a.example", "email": "jane@a.example", "source": "sales@a.example",
    "destination": "jane@a.example", "destinations": "jane@a.example", "address": "info@a.example",
    "login": "jane@a.example", "confirm_name": "a.example", "since": "2026-01-01", "until": "2026-12-31",
    "what": "mailboxes", "q": "jane", "page": "2", "recovery_email": "jane@elsewhere.example",
}
# Query parameters the panel and the Django admin read, besides those its pages link to.
COMMON_QUERY = ["page", "q", "domain", "alias", "sort", "scheme", "o", "p", "e", "_changelist_filters",
                "next", "source", "destination", "destinations", "address", "login", "refresh", "since",
                "until", "actor", "object", "what", "hashes", "all", "_popup", "_to_field", "id__exact"]
# Forms in the page layout that end the session rather than test the page.
SKIPPED_TARGETS = {"logout", "admin:logout"}
CSV_HEADERS = [["email", "password", "quota"], ["source", "destination"], ["email", "quota"]]
CSV_GOOD = {"email": "new@a.example", "password": STRONG_PASSWORD, "quota": "1G",
            "source": "sales@a.example", "destination": "jane@a.example"}

no_surrogates = st.characters(exclude_categories=("Cs",))
hostile_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(alphabet=no_surrogates, max_size=40),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["jane", "a.example", "info"]).flatmap(
        lambda word: st.sampled_from(HOSTILE).map(lambda bad: word + bad)
    ),
)


# --- The pages -----------------------------------------------------------------------------


def endpoints(patterns=None, namespace="", prefix=""):
    """(url name, route pattern) for every named URL, the Django admin's included."""
    patterns = get_resolver().url_patterns if patterns is None else patterns
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from endpoints(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}{pattern.name}", pattern


ENDPOINTS = sorted(dict(endpoints()).items())


def _admin_models():
    by_name = {}
    for model in admin.site._registry:
        for suffix in ("changelist", "add", "history", "delete", "change"):
            by_name[f"admin:{model._meta.app_label}_{model._meta.model_name}_{suffix}"] = model
    return by_name


def good_kwargs(name, values):
    """URL arguments that reach a real object, from the permission matrix's rows or the admin."""
    for _source, row in all_rows():
        if row["name"] == name and row.get("kwargs"):
            return {k: values.get(v, v) if isinstance(v, str) else v for k, v in row["kwargs"].items()}
    model = _admin_models().get(name)
    if model is not None and not name.endswith(("changelist", "add")):
        first = model._default_manager.order_by("pk").first()
        return {"object_id": str(first.pk if first else 1)}
    if name == "admin:app_list":
        return {"app_label": "users"}
    if name == "admin:view_on_site":
        return {"content_type_id": "1", "object_id": "1"}
    if name == "admin:password_change" or name == "admin:auth_user_password_change":
        return {"id": "1"}
    return {}


def hostile_url_value(converter):
    if isinstance(converter, IntConverter):
        return st.one_of(
            st.integers(min_value=0, max_value=10**40).map(str),
            st.sampled_from(["0", str(2**31), str(2**63), "0" * 50 + "1"]),
        )
    return hostile_text.filter(lambda text: text and "/" not in text)


def build_url(name, kwargs):
    try:
        return reverse(name, kwargs=kwargs)
    except NoReverseMatch:
        return None


def url_name_of(path):
    try:
        match = resolve(urlsplit(path).path)
    except Resolver404:
        return None
    return f"{':'.join(match.namespaces)}:{match.url_name}" if match.namespaces else match.url_name


# --- What the pages offer --------------------------------------------------------------------


def crawl(client, values):
    """{url name: [Form posting to it]} and {url name: {query names}} from every page's GET."""
    forms_by_target, query_by_target = {}, {}
    for name, _pattern in ENDPOINTS:
        url = build_url(name, good_kwargs(name, values))
        if url is None:
            continue
        response = client.get(url)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        forms, links = html_forms.parse(response.content.decode())
        for form in forms:
            target = url_name_of(form.action or url)
            if target is None or target in SKIPPED_TARGETS:
                continue
            if form.method == "GET":
                query_by_target.setdefault(target, set()).update(f.name for f in form.fields)
            else:
                forms_by_target.setdefault(target, []).append(form)
        for link in links:
            parts = urlsplit(link)
            if parts.query and not parts.netloc:
                target = url_name_of(parts.path or url)
                if target:
                    query_by_target.setdefault(target, set()).update(k for k, _ in parse_qsl(parts.query))
    return forms_by_target, query_by_target


# --- Drawing values ----------------------------------------------------------------------------


def field_value(data, form_field):
    """The value a browser would send, or a hostile one, a list where one is expected, or none."""
    offered = [v for v in form_field.values if v is not None]
    good = offered[0] if offered else GOOD.get(form_field.name, "x")
    if form_field.name == "csrfmiddlewaretoken":
        return good
    choices = [st.just(good), st.just(good), hostile_text, st.just(None),
               st.lists(hostile_text, min_size=2, max_size=3)]
    if len(offered) > 1:
        choices.append(st.sampled_from(offered))
    if form_field.kind == "hidden":
        choices = [st.just(good)] * 4 + choices
    return data.draw(st.one_of(*choices), label=form_field.name)


csv_cell = st.one_of(hostile_text, st.just(None))


@st.composite
def csv_files(draw):
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from([b"", b"\xff\xfe\x00", b"email\n\x00\x00", b"email,email\n1,2", b'"']))
    header = draw(st.sampled_from(CSV_HEADERS))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for line in range(draw(st.integers(1, 3))):
        cells = []
        for column in header:
            good = CSV_GOOD[column].replace("new@", f"new{line}@").replace("sales@", f"sales{line}@")
            hostile = draw(csv_cell, label=f"csv {column}")
            cells.append(good if hostile is None else hostile)
        writer.writerow(cells)
    return out.getvalue().encode("utf-8")


def form_data(data, form, upload=None):
    post, upload_bytes = {}, upload
    for form_field in form.fields:
        if form_field.kind == "file":
            if upload_bytes is None:
                upload_bytes = data.draw(csv_files(), label="file")
            post[form_field.name] = _upload(upload_bytes)
            continue
        value = field_value(data, form_field)
        if value is not None:
            post[form_field.name] = value
    return post, upload_bytes


def _upload(content):
    upload = io.BytesIO(content)
    upload.name = "hostile.csv"
    return upload


# --- Checking an answer ------------------------------------------------------------------------


class Broken(AssertionError):
    pass


def check(response, request):
    """No 500, no page that stops half-way, no script of ours echoed unescaped."""
    if response.status_code >= 500:
        raise Broken(f"{request}: HTTP {response.status_code}")
    try:
        body = b"".join(response.streaming_content) if response.streaming else response.content
    except Exception as error:
        raise Broken(f"{request}: the response died while streaming: {error!r}") from error
    if "html" in response.get("Content-Type", "") and body and response.status_code < 500:
        text = body.decode("utf-8", "replace")
        # A page begins with its doctype and must reach its end; the live previews are fragments.
        if text.lstrip().lower().startswith("<!doctype") and "</html>" not in text:
            raise Broken(f"{request}: HTTP {response.status_code}, the page is cut off: …{text[-200:]!r}")
        if SCRIPT in text:
            raise Broken(f"{request}: the page echoes {SCRIPT} unescaped")
    return body


def send(client, method, url, query, post=None):
    described = f"{method} {url} query={query!r} data={ {k: v for k, v in (post or {}).items() if not hasattr(v, 'read')}!r}"
    try:
        with transaction.atomic():
            if method == "GET":
                response = client.get(url, query)
            else:
                response = client.post(url, post or {})
            check(response, described)
            transaction.set_rollback(True)
    except Broken:
        raise
    except Exception as error:
        raise Broken(f"{described}\n    {type(error).__name__}: {error}\n    at {_our_frame(error)}") from error
    return response


def _our_frame(error):
    """The innermost frame of the project's own code: where the fix belongs."""
    ours = [frame for frame in traceback.extract_tb(error.__traceback__) if "site-packages" not in frame.filename]
    frame = ours[-1] if ours else traceback.extract_tb(error.__traceback__)[-1]
    return f"{frame.filename}:{frame.lineno} in {frame.name}"


def follow_up(client, data, response, url, upload):
    """Submit the form a POST answered with (dry run → apply, action → confirmation) once."""
    if response.status_code != 200 or "html" not in response.get("Content-Type", "") or response.streaming:
        return
    forms, _links = html_forms.parse(response.content.decode())
    candidates = [
        form for form in forms
        if form.method == "POST" and url_name_of(form.action or url) not in SKIPPED_TARGETS | {None}
    ]
    if not candidates:
        return
    form = data.draw(st.sampled_from(candidates), label="follow-up form")
    post, _ = form_data(data, form, upload=upload)
    send(client, "POST", form.action or url, {}, post)


# --- The test ----------------------------------------------------------------------------------


def client_for(users, actor):
    client = Client()
    if actor != "anonymous":
        client.force_login(users[actor], backend="mailadmin.staff.backends.StaffBackend")
    return client


@pytest.mark.parametrize("actor", ACTORS)
def test_no_hostile_input_breaks_a_page(world, actor):  # noqa: F811 (world is the imported fixture)
    users, values = world
    client = client_for(users, actor)
    with transaction.atomic():
        forms_by_target, query_by_target = crawl(client, values)
        transaction.set_rollback(True)
    assert forms_by_target or actor in ("anonymous",), "the crawl found no form at all: the walk is broken"

    failures = []
    for name, pattern in ENDPOINTS:
        try:
            sweep_own_parameters(client, name, values, query_by_target.get(name, set()))
            hostile_page(client, f"{actor} {name}", name, pattern, values, forms_by_target.get(name, []),
                         sorted(query_by_target.get(name, set()) | set(COMMON_QUERY)))
        except Broken as broken:
            failures.append(f"{name}: {broken}")
    try:
        hostile_raw_paths(client)
    except Broken as broken:
        failures.append(f"raw path: {broken}")
    assert not failures, f"{len(failures)} page(s) broke as {actor}:\n\n" + "\n\n".join(failures)


# Every parameter a page itself links to or asks for, alone with each of these, before the
# random search: a wrong value in one parameter is then never masked by another's.
SWEEP = ["😀", " ", "9" * 40, "a\x00"]


def sweep_own_parameters(client, name, values, query_names):
    url = build_url(name, good_kwargs(name, values))
    if url is None:
        return
    for key in sorted(query_names):
        for value in SWEEP:
            send(client, "GET", url, {key: value})


def hostile_page(client, case, name, pattern, values, forms, query_names):
    good = good_kwargs(name, values)
    converters = getattr(pattern.pattern, "converters", {})

    # A fixed seed per page and actor: the same requests on every run, different ones per page.
    @seed(zlib.crc32(case.encode()))
    @settings(max_examples=EXAMPLES_PER_PAGE, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), print_blob=False, report_multiple_bugs=False)
    @given(data=st.data())
    def run(data):
        kwargs = dict(good)
        for key, converter in converters.items():
            if data.draw(st.booleans(), label=f"hostile {key}"):
                kwargs[key] = data.draw(hostile_url_value(converter), label=f"url {key}")
        url = build_url(name, kwargs) or build_url(name, good)
        if url is None:
            return
        chosen = data.draw(st.lists(st.sampled_from(query_names), max_size=3, unique=True), label="query names")
        query = {key: data.draw(hostile_text, label=f"query {key}") for key in chosen}
        if not forms or data.draw(st.integers(0, 3)) == 0:
            send(client, "GET", url, query)
            return
        form = data.draw(st.sampled_from(forms), label="form")
        post, upload = form_data(data, form)
        response = send(client, "POST", url, {}, post)
        follow_up(client, data, response, url, upload)

    run()


def hostile_raw_paths(client):
    """Paths no pattern names: the 404 page and the Django admin's catch-all."""

    @seed(0)
    @settings(max_examples=EXAMPLES_PER_PAGE * 2, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), print_blob=False, report_multiple_bugs=False)
    @given(prefix=st.sampled_from(["/", "/django-admin/", "/domains/", "/reset/"]), tail=hostile_text)
    def run(prefix, tail):
        from urllib.parse import quote

        send(client, "GET", prefix + quote(tail.encode("utf-8"), safe=""), {})

    run()
