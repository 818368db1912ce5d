"""CSV export and import of mailboxes and aliases, shared by the browser pages and `manage.py import`.

Import is two steps over the same file: `plan()` reads every row and says what it would do
(new, changed, unchanged, error and why) without writing; `apply()` writes a plan with no
errors in one transaction. The file is read again for the apply rather than kept between the
steps, so plaintext passwords from a file are never stored anywhere by the panel.
"""

import csv
import io
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from aliases import services as alias_services
from aliases.models import Alias
from mailadmin import audit, csv_safe
from mailadmin.db import first_message
from mailadmin.models import AuditEntry
from users import addresses, services, tallies
from users.models import Domain, Mailbox

MAILBOXES, ALIASES = "mailboxes", "aliases"
NEW, CHANGED, UNCHANGED, ERROR = "new", "changed", "unchanged", "error"
# Rows per SELECT when reading or exporting: bounded memory and short IN lists.
CHUNK = 2000


class ImportFileError(ValueError):
    """The file as a whole cannot be read (not CSV, unknown columns)."""


# --- Export ------------------------------------------------------------------------------


class _Echo:
    def write(self, value):
        return value


def _keyset(queryset, key, columns):
    """Rows in `key` order, CHUNK at a time, each chunk a fresh indexed range query.

    MySQLdb reads a whole result into memory even for .iterator(), so paging by the last key
    seen is what keeps an export of 100,000 rows in constant memory on MariaDB.
    """
    last = None
    while True:
        page = queryset.order_by(key)
        if last is not None:
            page = page.filter(**{f"{key}__gt": last})
        rows = list(page.values_list(*columns)[:CHUNK])
        yield from rows
        if len(rows) < CHUNK:
            return
        last = rows[-1][columns.index(key)]


# Read-only columns of a mailbox export, as Dovecot last reported the mailbox (empty: not yet);
# an import ignores them, so an exported file can be edited and imported again.
USAGE_COLUMNS = {"used_bytes": "usage__bytes", "messages": "usage__messages", "usage_updated": "usage__updated"}


def export_mailboxes(queryset, with_hashes=False):
    """CSV lines: email, quota, used_bytes, messages, usage_updated[, password] — the password
    column only when asked for."""
    columns = ["email", "quota", *USAGE_COLUMNS] + (["password"] if with_hashes else [])
    fields = [USAGE_COLUMNS.get(name, name) for name in columns]
    writer = csv.writer(_Echo())
    yield writer.writerow(columns)
    for row in _keyset(queryset, "email", fields):
        yield writer.writerow(csv_safe.row(["" if value is None else _cell(value) for value in row]))


def _cell(value):
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if hasattr(value, "strftime") else value


def export_aliases(queryset):
    writer = csv.writer(_Echo())
    yield writer.writerow(["source", "destination"])
    # id order: (source, destination) is unique, but a keyset over one column is simpler and indexed.
    for _id, source, destination in _keyset(queryset, "id", ["id", "source", "destination"]):
        yield writer.writerow(csv_safe.row([source, destination]))


# --- Reading a file ----------------------------------------------------------------------


@dataclass
class Row:
    line: int
    key: str
    status: str = NEW
    detail: str = ""
    # For the apply step; never shown.
    values: dict = field(default_factory=dict, repr=False)


@dataclass
class Plan:
    kind: str
    rows: list
    # Who asked for it: the apply step writes and logs as them.
    operator: object = None

    def count(self, status):
        return sum(1 for row in self.rows if row.status == status)

    @property
    def counts(self):
        return {status: self.count(status) for status in (NEW, CHANGED, UNCHANGED, ERROR)}

    @property
    def has_errors(self):
        return any(row.status == ERROR for row in self.rows)

    @property
    def to_write(self):
        return [row for row in self.rows if row.status in (NEW, CHANGED)]


def decode(data):
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError("The file is not UTF-8 text; save it as CSV (UTF-8).")


def read_rows(text):
    """(kind, [(line, {column: value})]) — the kind told by the header line."""
    reader = csv.reader(io.StringIO(decode(text)))
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        raise ImportFileError("The file is empty.")
    except csv.Error as error:
        raise ImportFileError(f"This is not a CSV file: {error}.")
    if "email" in header:
        kind, allowed = MAILBOXES, {"email", "password", "quota", *USAGE_COLUMNS}
    elif {"source", "destination"} <= set(header):
        kind, allowed = ALIASES, {"source", "destination"}
    else:
        raise ImportFileError(
            "The first line must name the columns: email,password,quota for mailboxes "
            "or source,destination for aliases."
        )
    unknown = [name for name in header if name not in allowed]
    if unknown:
        raise ImportFileError(f"Unknown column(s): {', '.join(unknown)}.")
    rows = []
    try:
        for values in reader:
            if not any(value.strip() for value in values):
                continue
            rows.append((reader.line_num, dict(zip(header, (csv_safe.uncell(value.strip()) for value in values)))))
    except csv.Error as error:
        raise ImportFileError(f"Line {reader.line_num} is not valid CSV: {error}.")
    return kind, rows


def _chunks(items, size=CHUNK):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _domains(names, operator):
    """{name: Domain} for the names that exist, and the set of those the operator may change."""
    found, allowed = {}, set()
    for chunk in _chunks(names):
        for domain in Domain.objects.filter(name__in=chunk):
            found[domain.name] = domain
        if operator.is_superadmin:
            allowed.update(domain.name for domain in found.values())
        elif operator.is_staff:
            allowed.update(Domain.objects.filter(name__in=chunk).visible_to(operator.user).values_list("name", flat=True))
    return found, allowed


def _domain_problem(name, found, allowed):
    if name not in found:
        return f"There is no domain {addresses.domain_to_unicode(name)}; add the domain first."
    if name not in allowed:
        return f"{addresses.domain_to_unicode(name)} is not one of your domains."
    return ""


def plan(data, operator):
    """What importing `data` would do, row by row, without writing anything.

    Each row is judged by the write API's own rules (users.services, aliases.services) within
    what `operator` may change."""
    kind, rows = read_rows(data)
    if kind == MAILBOXES:
        return Plan(kind, _plan_mailboxes(rows, operator), operator)
    return Plan(kind, _plan_aliases(rows, operator), operator)


def _plan_mailboxes(raw_rows, operator):
    rows, seen = [], {}
    for line, values in raw_rows:
        row = Row(line, values.get("email", ""))
        try:
            row.key = addresses.normalize_address(values.get("email", ""))
        except addresses.AddressError as error:
            row.status, row.detail = ERROR, str(error)
        else:
            if row.key in seen:
                row.status, row.detail = ERROR, f"The address is already on line {seen[row.key]}."
            seen.setdefault(row.key, line)
        row.values = values
        rows.append(row)

    wanted = [row.key for row in rows if row.status != ERROR]
    found, allowed = _domains({addresses.domain_of(key) for key in wanted}, operator)
    existing = {}
    for chunk in _chunks(wanted):
        for mailbox in Mailbox.objects.filter(email__in=chunk).only("id", "email", "quota", "password", "domain_id"):
            existing[mailbox.email] = mailbox
    for row in rows:
        if row.status != ERROR:
            _plan_mailbox(row, found, allowed, existing.get(row.key))
    return rows


def _plan_mailbox(row, found, allowed, current):
    values = row.values
    domain_name = addresses.domain_of(row.key)
    problem = _domain_problem(domain_name, found, allowed)
    if problem:
        row.status, row.detail = ERROR, problem
        return
    quota_text, password = values.get("quota", ""), values.get("password", "")
    try:
        if current is None:
            mailbox = services.new_mailbox(row.key, quota_text or 0, found[domain_name])
        else:
            mailbox = current
            quota = current.quota if quota_text == "" else services.parse_quota(quota_text)
            services.check_quota(quota)
        quota = mailbox.quota if current is None else quota
        if password:
            reading = services.check_supplied_password(password, mailbox)
        elif current is None:
            raise ValidationError({"password": "A new mailbox needs a password (plaintext or a {SCHEME} hash)."})
        else:
            reading = None
    except ValidationError as error:
        row.status, row.detail = ERROR, first_message(error)
        return

    row.values = {
        "quota": quota,
        "hash": reading.stored_hash if reading else None,
        "plaintext": reading.plaintext if reading else None,
        "domain": found[domain_name],
        "current": current,
    }
    if current is None:
        row.status, row.detail = NEW, f"quota {addresses.format_quota(quota)}"
        return
    changes = []
    if quota != current.quota:
        changes.append(f"quota {addresses.format_quota(current.quota)} → {addresses.format_quota(quota)}")
    if row.values["plaintext"] or (row.values["hash"] and row.values["hash"] != current.password):
        changes.append("password")
    row.status = CHANGED if changes else UNCHANGED
    row.detail = ", ".join(changes)


def _plan_aliases(raw_rows, operator):
    rows, seen = [], {}
    for line, values in raw_rows:
        row = Row(line, f"{values.get('source', '')} → {values.get('destination', '')}")
        try:
            source = addresses.normalize_alias_source(values.get("source", ""))
            destination = addresses.normalize_address(values.get("destination", ""))
        except addresses.AddressError as error:
            row.status, row.detail = ERROR, str(error)
            rows.append(row)
            continue
        row.key = f"{source} → {destination}"
        row.values = {"source": source, "destination": destination}
        if (source, destination) in seen:
            row.status, row.detail = ERROR, f"The same alias is already on line {seen[(source, destination)]}."
        seen.setdefault((source, destination), line)
        rows.append(row)

    wanted = [row for row in rows if row.status != ERROR]
    found, allowed = _domains({alias_services.source_domain(row.values["source"]) for row in wanted}, operator)
    existing = set()
    for chunk in _chunks({row.values["source"] for row in wanted}):
        existing.update(Alias.objects.filter(source__in=chunk).values_list("source", "destination"))
    to_add = [row for row in wanted if (row.values["source"], row.values["destination"]) not in existing]
    # One graph for the whole file: a loop made of two new rows is found like one with a stored row.
    graph = alias_services.AliasGraph(pending=[(row.values["source"], row.values["destination"]) for row in to_add])
    for row in wanted:
        source, destination = row.values["source"], row.values["destination"]
        domain_name = alias_services.source_domain(source)
        problem = _domain_problem(domain_name, found, allowed)
        if problem:
            row.status, row.detail = ERROR, problem
        elif (source, destination) in existing:
            row.status = UNCHANGED
        else:
            try:
                alias_services.check_new_aliases(source, [destination], graph=graph)
            except ValidationError as error:
                row.status, row.detail = ERROR, first_message(error)
                continue
            row.values["domain"] = found[domain_name]
            row.detail = " ".join(
                alias_services.warnings_for(source, [destination]) + alias_services.notes_for(source, [destination])
            )
    return rows


# --- Applying ----------------------------------------------------------------------------


class ImportFailed(Exception):
    pass


def apply(the_plan, progress=None):
    """Write every new and changed row in one transaction; refuses a plan with errors."""
    for event in apply_steps(the_plan):
        if progress:
            progress(*event)
    return the_plan.counts


def apply_steps(the_plan):
    """apply() as a generator of (stage, done, total), for a page that streams its progress.

    The transaction is open while the generator writes: stopping it half-way (a closed
    connection) raises GeneratorExit inside the atomic block, which rolls everything back.
    """
    if the_plan.has_errors:
        raise ImportFailed(f"{the_plan.count(ERROR)} row(s) have errors; nothing was imported.")
    try:
        if the_plan.kind == MAILBOXES:
            yield from _apply_mailboxes(the_plan.to_write, the_plan.operator)
        else:
            yield from _apply_aliases(the_plan.to_write, the_plan.operator)
    except IntegrityError as error:
        raise ImportFailed(f"The database refused the import, so nothing was written: {error.args[-1]}")


def _apply_mailboxes(rows, operator):
    needs_hash = [row for row in rows if row.values["plaintext"]]
    hashes = []
    yield from services.hash_passwords([row.values["plaintext"] for row in needs_hash], hashes)
    for row, hashed in zip(needs_hash, hashes):
        row.values["hash"], row.values["plaintext"] = hashed, None

    actor, when = _import_actor(operator), timezone.now()
    new = [
        Mailbox(domain=row.values["domain"], email=row.key, quota=row.values["quota"], password=row.values["hash"])
        for row in rows
        if row.status == NEW
    ]
    changed, entries, old_passwords = [], [], []
    for row in rows:
        if row.status != CHANGED:
            continue
        mailbox = row.values["current"]
        before = audit.snapshot(mailbox)
        old_passwords.append(mailbox.password)
        mailbox.quota = row.values["quota"]
        if row.values["hash"]:
            mailbox.password = row.values["hash"]
        entries.append(audit.entry(AuditEntry.UPDATE, mailbox, audit.diff(before, audit.snapshot(mailbox)), actor, when))
        changed.append(mailbox)
    with transaction.atomic():
        for start in range(0, len(new), 1000):
            Mailbox.objects.bulk_create(new[start : start + 1000])
            yield "writing mailboxes", min(start + 1000, len(new)), len(new)
        Mailbox.objects.bulk_update(changed, ["quota", "password"], batch_size=500)
        _fill_ids(new)
        # The kept figures (users.tallies) change in the same transaction.
        tallies.mailboxes_added(new)
        for mailbox, old in zip(changed, old_passwords):
            tallies.password_replaced(mailbox, old)
        entries += [audit.entry(AuditEntry.CREATE, mailbox, audit.diff(None, audit.snapshot(mailbox)), actor, when)
                    for mailbox in new]
        audit.record_many(entries)


def _import_actor(operator):
    return audit.Actor(operator.label, operator.address, via="import")


def _fill_ids(mailboxes):
    """bulk_create on MariaDB does not return ids; the log wants them."""
    by_email = {mailbox.email: mailbox for mailbox in mailboxes if mailbox.pk is None}
    for chunk in _chunks(by_email):
        for pk, email in Mailbox.objects.filter(email__in=chunk).values_list("id", "email"):
            by_email[email].pk = pk


def _apply_aliases(rows, operator):
    actor, when = _import_actor(operator), timezone.now()
    new = [Alias(domain=row.values["domain"], source=row.values["source"], destination=row.values["destination"])
           for row in rows]
    with transaction.atomic():
        for start in range(0, len(new), 1000):
            Alias.objects.bulk_create(new[start : start + 1000])
            yield "writing aliases", min(start + 1000, len(new)), len(new)
        per_domain = {}
        for alias in new:
            per_domain[alias.domain_id] = per_domain.get(alias.domain_id, 0) + 1
        for domain_id, count in per_domain.items():
            tallies.aliases_added(domain_id, count)
        tallies.aliases_inserted(len(new))
        audit.record_many(
            [audit.entry(AuditEntry.CREATE, alias, audit.diff(None, audit.snapshot(alias)), actor, when) for alias in new]
        )
