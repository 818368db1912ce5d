"""Import, export and the audit log pages (staff only; a domain admin's view is their domains)."""

import csv
import hashlib
from datetime import datetime, time, timedelta

from django import forms
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import escape
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from aliases.models import Alias
from mailadmin import csv_io, csv_safe, keyset, kept_statements
from mailadmin.bulk_forms import AuditFilterForm, ExportForm, ImportForm
from mailadmin.models import AuditEntry
from mailadmin.operator import Operator
from mailadmin.permissions import staff_required
from mailadmin.staff.reauth import recent_auth_required
from users.listing import query_without
from users.models import Domain, Mailbox


def _checksum(data):
    return hashlib.sha256(data).hexdigest()


# --- Import ------------------------------------------------------------------------------


@staff_required
@require_http_methods(["GET", "POST"])
def import_page(request):
    """GET: the upload and export forms. POST: a dry run of the uploaded file."""
    context = {"export_form": ExportForm(user=request.user)}
    if request.method == "GET":
        return render(request, "bulk/import.html", {**context, "form": ImportForm()})
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "bulk/import.html", {**context, "form": form}, status=400)
    data = form.cleaned_data["file"].read()
    try:
        the_plan = csv_io.plan(data, Operator.for_request(request).importing())
    except csv_io.ImportFileError as error:
        form.add_error("file", str(error))
        return render(request, "bulk/import.html", {**context, "form": form}, status=400)
    apply_form = ImportForm(initial={"checked": _checksum(data)})
    return render(
        request,
        "bulk/dry_run.html",
        {"plan": the_plan, "counts": the_plan.counts, "apply_form": apply_form,
         "file_name": form.cleaned_data["file"].name},
    )


@staff_required
@require_POST
def import_apply(request):
    """Applies a file the dry run showed; the page streams the progress of a long import."""
    form = ImportForm(request.POST, request.FILES)
    context = {"export_form": ExportForm(user=request.user)}
    if not form.is_valid():
        return render(request, "bulk/import.html", {**context, "form": form}, status=400)
    data = form.cleaned_data["file"].read()
    if form.cleaned_data["checked"] != _checksum(data):
        form.add_error("file", "This is not the file the dry run checked. Run the dry run on it first.")
        return render(request, "bulk/import.html", {**context, "form": form}, status=400)
    try:
        the_plan = csv_io.plan(data, Operator.for_request(request).importing())
    except csv_io.ImportFileError as error:
        form.add_error("file", str(error))
        return render(request, "bulk/import.html", {**context, "form": form}, status=400)
    if the_plan.has_errors:
        # The data changed since the dry run (someone deleted a domain...): show why.
        apply_form = ImportForm(initial={"checked": _checksum(data)})
        return render(
            request, "bulk/dry_run.html",
            {"plan": the_plan, "counts": the_plan.counts, "apply_form": apply_form, "changed_since": True},
            status=409,
        )
    response = StreamingHttpResponse(_applying(request, the_plan), content_type="text/html; charset=utf-8")
    # Proxies (nginx) would hold the page back until the end otherwise.
    response["X-Accel-Buffering"] = "no"
    response["Cache-Control"] = "no-store"
    return response


def _applying(request, the_plan):
    head, tail = render_to_string("bulk/applying.html", {"plan": the_plan}, request=request).split("<!--progress-->")
    # Browsers wait for about 1 KB before they show anything.
    yield head + "<!--" + " " * 1024 + "-->\n"
    last = {}
    try:
        # The request's middleware is done by the time this runs: the plan names its operator.
        with the_plan.operator.acting():
            for stage, done, total in csv_io.apply_steps(the_plan):
                tenth = done * 10 // total
                if last.get(stage) != tenth or done == total:
                    last[stage] = tenth
                    yield f'<li>{escape(stage)}: {done} of {total}</li>\n'
    except csv_io.ImportFailed as error:
        yield f'</ol><p class="error" role="alert">{escape(error)}</p>{tail}'
        return
    counts = the_plan.counts
    yield (
        f'</ol><p class="message success" role="status">Imported {counts["new"]} new and '
        f'{counts["changed"]} changed {the_plan.kind}.</p>{tail}'
    )


# --- Export ------------------------------------------------------------------------------


def _asks_for_hashes(request):
    return request.user.is_superuser and forms.BooleanField(required=False).to_python(request.GET.get("hashes"))


@staff_required
@require_GET
@recent_auth_required(when=_asks_for_hashes)
def export(request):
    form = ExportForm(request.GET, user=request.user)
    if not form.is_valid():
        return render(request, "bulk/import.html", {"export_form": form, "form": ImportForm()}, status=400)
    domain, what = form.cleaned_data["domain"], form.cleaned_data["what"]
    model = Mailbox if what == csv_io.MAILBOXES else Alias
    rows = model.objects.visible_to(request.user)
    if domain is not None:
        rows = rows.filter(domain=domain)
    if what == csv_io.MAILBOXES:
        lines = csv_io.export_mailboxes(rows, with_hashes=form.cleaned_data.get("hashes", False))
    else:
        lines = csv_io.export_aliases(rows)
    name = f"{what}-{domain.name if domain else 'all'}-{timezone.now():%Y%m%d}.csv"
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


# --- Audit log ---------------------------------------------------------------------------


def visible_entries(user):
    entries = AuditEntry.objects.all()
    if user.is_superuser:
        return entries
    return entries.filter(domain__in=Domain.objects.visible_to(user).values("name"))


# How each filter of the log narrows its entries, in the order they are applied.
_AUDIT_FILTERS = {
    "actor": lambda entries, actor: entries.filter(actor=actor),
    # A prefix, so the object_repr index answers it (an address, a domain, "@a.example").
    "object": lambda entries, prefix: entries.filter(object_repr__istartswith=prefix),
    "since": lambda entries, moment: entries.filter(timestamp__gte=moment),
    "until": lambda entries, moment: entries.filter(timestamp__lt=moment),
}


class AuditFilters:
    """The filters a request's form asks for: their names (what the log's SQL depends on, with
    whose log it is) and their values (which kept statements take in their places)."""

    def __init__(self, form):
        self.names, self.values = (), ()
        if not form.is_valid():
            return
        data, zone = form.cleaned_data, timezone.get_current_timezone()
        given = {
            "actor": data["actor"].strip() if data["actor"] else None,
            "object": data["object"].strip() if data["object"] else None,
            "since": datetime.combine(data["since"], time.min, zone) if data["since"] else None,
            "until": datetime.combine(data["until"] + timedelta(days=1), time.min, zone) if data["until"] else None,
        }
        applied = [(name, value) for name, value in given.items() if value]
        self.names, self.values = tuple(name for name, _ in applied), tuple(value for _, value in applied)

    def narrow(self, entries, *values):
        for name, value in zip(self.names, values):
            entries = _AUDIT_FILTERS[name](entries, value)
        return entries


def _filtered(request):
    """(the filter form, the entries it leaves, the filters)."""
    form = AuditFilterForm(request.GET)
    filters = AuditFilters(form)
    return form, filters.narrow(visible_entries(request.user), *filters.values), filters


AUDIT_PAGE = 50
# The page says "more than N" rather than counting a log of millions of entries.
AUDIT_COUNT_UP_TO = 1000


@staff_required
@require_GET
def audit_log(request):
    form = AuditFilterForm(request.GET)
    filters = AuditFilters(form)
    entries = visible_entries(request.user)
    # The statements depend only on whose log it is and which filters narrow it: built once and
    # kept, with places for the filters' values.
    kept_as = ("audit log", kept_statements.scope_of(request.user), filters.names)
    page = audit_page(
        entries, older_than=_entry_id(request, "older_than"), newer_than=_entry_id(request, "newer_than"),
        kept_as=kept_as, narrowed=(filters.narrow, filters.values),
    )
    query = query_without(request, "older_than", "newer_than")

    def capped(*values):
        return filters.narrow(entries, *values).order_by()[: AUDIT_COUNT_UP_TO + 1]

    matching = keyset.Total.of(
        keyset.kept_count_of((*kept_as, "count", AUDIT_COUNT_UP_TO), capped, values=filters.values), AUDIT_COUNT_UP_TO
    )
    return render(
        request,
        "audit/log.html",
        {
            "form": form,
            "page": page,
            "query": query,
            "matching": matching.count,
            "more_than": matching.capped,
        },
    )


def _entry_id(request, name):
    value = request.GET.get(name, "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 12 else None


class AuditPage:
    def __init__(self, entries, has_newer, has_older):
        self.entries = entries
        self.has_newer = has_newer
        self.has_older = has_older


class AuditRow:
    """An entry as the log page prints it, made from a values_list() of COLUMNS: a page of
    model instances cost 26,000 instructions an entry to make, more than printing it."""

    COLUMNS = ("id", "timestamp", "actor", "address", "via", "action", "object_type", "object_repr", "changes")
    __slots__ = ("pk", "timestamp", "actor", "address", "via", "what", "object_repr", "summary")

    def __init__(self, values):
        self.pk, self.timestamp, self.actor, self.address, self.via, action, object_type, self.object_repr, changes = values
        self.what = f"{object_type} {AuditEntry.ACTION_LABELS.get(action, action)}"
        self.summary = describe_changes(changes)


def audit_page(entries, older_than=None, newer_than=None, kept_as=None, narrowed=None):
    """One page of the log (AuditRow), newest first, keyed by the last entry seen instead of an
    OFFSET: the last page of a million entries costs what the first does (the (timestamp) index
    holds the id too, so the range and the order both come from it). `narrowed`: (narrow,
    values), the entries are narrow(entries, *values). `kept_as`: the page's statements are kept
    under that key, with places for those values and the entry a page starts from
    (keyset.kept_rows)."""
    narrow, narrowing = narrowed or (lambda entries: entries, ())
    entries = entries.values_list(*AuditRow.COLUMNS)

    def read(direction, make_queryset, *values):
        if kept_as is None:
            rows = list(make_queryset(narrow(entries, *narrowing), *values))
        else:
            def narrowed_queryset(*values):
                return make_queryset(narrow(entries, *values[: len(narrowing)]), *values[len(narrowing) :])

            rows = keyset.kept_rows((*kept_as, direction, AUDIT_PAGE), narrowed_queryset, values=(*narrowing, *values))
        return [AuditRow(row) for row in rows]

    def anchor_time(pk):
        return AuditEntry.objects.filter(pk=pk).values_list("timestamp", flat=True)[:1]

    anchor_id = older_than if older_than is not None else newer_than
    anchor = []
    if anchor_id:
        anchor_key = None if kept_as is None else ("audit log anchor",)
        anchor = list(anchor_time(anchor_id)) if anchor_key is None else keyset.kept_rows(
            anchor_key, anchor_time, values=(anchor_id,)
        )
    if not anchor:
        rows = read("newest", lambda entries: entries.order_by("-timestamp", "-id")[: AUDIT_PAGE + 1])
        return AuditPage(rows[:AUDIT_PAGE], has_newer=False, has_older=len(rows) > AUDIT_PAGE)
    when, pk = anchor[0], anchor_id
    if older_than is not None:
        def older(entries, when, pk):
            return entries.filter(timestamp__lte=when).exclude(timestamp=when, id__gte=pk).order_by("-timestamp", "-id")[
                : AUDIT_PAGE + 1
            ]

        rows = read("older", older, when, pk)
        return AuditPage(rows[:AUDIT_PAGE], has_newer=True, has_older=len(rows) > AUDIT_PAGE)

    def newer(entries, when, pk):
        return entries.filter(timestamp__gte=when).exclude(timestamp=when, id__lte=pk).order_by("timestamp", "id")[
            : AUDIT_PAGE + 1
        ]

    rows = read("newer", newer, when, pk)
    page = list(reversed(rows[:AUDIT_PAGE]))
    return AuditPage(page, has_newer=len(rows) > AUDIT_PAGE, has_older=True)


@staff_required
@require_GET
def audit_export(request):
    _form, entries, _filters = _filtered(request)

    def lines():
        writer = csv.writer(csv_io._Echo())
        yield writer.writerow(["time", "actor", "address", "via", "action", "type", "object", "domain", "changes"])
        for entry in entries.iterator(chunk_size=2000):
            yield writer.writerow(csv_safe.row([
                entry.timestamp.isoformat(), entry.actor, entry.address or "", entry.via, entry.action,
                entry.object_type, entry.object_repr, entry.domain, describe_changes(entry.changes),
            ]))

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{timezone.now():%Y%m%d}.csv"'
    return response


def describe_changes(changes):
    parts = []
    for field, change in changes.items():
        if isinstance(change, str):
            parts.append(change)
        else:
            before, after = change
            parts.append(f"{field}: {'' if before is None else before} → {'' if after is None else after}")
    return "; ".join(parts)
