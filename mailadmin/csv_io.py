"""CSV export and import of mailboxes and aliases, shared by the browser pages and `manage.py import`.

Import is two steps over the same file: `plan()` reads every row and says what it would do
(new, changed, unchanged, error and why) without writing; `apply()` writes a plan with no
errors in one transaction. The file is read again for the apply rather than kept between the
steps, so plaintext passwords from a file are never stored anywhere by the panel.
"""

import csv
import io
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from aliases.models import Alias
from mailadmin import audit, csv_safe, utf8mb3
from mailadmin.models import AuditEntry
from users import addresses, passwords, services
from users.models import Domain, Mailbox
from users.schema import quota_column_max

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


def export_mailboxes(queryset, with_hashes=False):
    """CSV lines: email, quota[, password] — the password column only when asked for."""
    columns = ["email", "quota"] + (["password"] if with_hashes else [])
    writer = csv.writer(_Echo())
    yield writer.writerow(columns)
    for row in _keyset(queryset, "email", columns):
        yield writer.writerow(csv_safe.row(row))


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
        kind, allowed = MAILBOXES, {"email", "password", "quota"}
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


def _domains(names, user):
    """{name: Domain} for the names that exist, and the set of those the user may change."""
    found, allowed = {}, set()
    for chunk in _chunks(names):
        for domain in Domain.objects.filter(name__in=chunk):
            found[domain.name] = domain
        visible = Domain.objects.filter(name__in=chunk)
        if user is not None:
            visible = visible.visible_to(user)
        allowed.update(visible.values_list("name", flat=True))
    return found, allowed


def _domain_problem(name, found, allowed):
    if name not in found:
        return f"There is no domain {addresses.domain_to_unicode(name)}; add the domain first."
    if name not in allowed:
        return f"{addresses.domain_to_unicode(name)} is not one of your domains."
    return ""


def plan(data, user=None):
    """What importing `data` would do, row by row, without writing anything.

    `user` limits the import to the domains that user administers (None: all, for the CLI).
    """
    kind, rows = read_rows(data)
    if kind == MAILBOXES:
        return Plan(kind, _plan_mailboxes(rows, user))
    return Plan(kind, _plan_aliases(rows, user))


def _plan_mailboxes(raw_rows, user):
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
    found, allowed = _domains({addresses.domain_of(key) for key in wanted}, user)
    existing = {}
    for chunk in _chunks(wanted):
        for mailbox in Mailbox.objects.filter(email__in=chunk).only("id", "email", "quota", "password", "domain_id"):
            existing[mailbox.email] = mailbox
    quota_max = quota_column_max()
    for row in rows:
        if row.status != ERROR:
            _plan_mailbox(row, found, allowed, existing.get(row.key), quota_max)
    return rows


def _plan_mailbox(row, found, allowed, current, quota_max):
    values = row.values
    problem = _domain_problem(addresses.domain_of(row.key), found, allowed)
    if problem:
        row.status, row.detail = ERROR, problem
        return
    quota_text, password = values.get("quota", ""), values.get("password", "")
    if quota_text == "":
        quota = current.quota if current else 0
    else:
        try:
            quota = addresses.parse_quota(quota_text, max_bytes=quota_max)
        except addresses.AddressError as error:
            row.status, row.detail = ERROR, str(error)
            return
    mailbox = Mailbox(domain=found[addresses.domain_of(row.key)], email=row.key, quota=quota)
    stored_hash = None
    if password.startswith("{"):
        try:
            passwords.scheme_of(password)
        except ValueError as error:
            row.status, row.detail = ERROR, f"{error} Give a plaintext password or a hash of a scheme Dovecot knows."
            return
        if not utf8mb3.fits(password):
            row.status, row.detail = ERROR, "The hash has a character the password column cannot store."
            return
        if len(password) > Mailbox._meta.get_field("password").max_length:
            row.status, row.detail = ERROR, "The hash is longer than the password column holds."
            return
        stored_hash = password
    elif password:
        try:
            services.check_new_password(password, mailbox)
        except ValidationError as error:
            row.status, row.detail = ERROR, " ".join(error.messages)
            return
    elif current is None:
        row.status, row.detail = ERROR, "A new mailbox needs a password (plaintext or a {SCHEME} hash)."
        return

    row.values = {"quota": quota, "hash": stored_hash, "plaintext": password if password and not stored_hash else None,
                  "domain": mailbox.domain, "current": current}
    if current is None:
        row.status, row.detail = NEW, f"quota {addresses.format_quota(quota)}"
        return
    changes = []
    if quota != current.quota:
        changes.append(f"quota {addresses.format_quota(current.quota)} → {addresses.format_quota(quota)}")
    if row.values["plaintext"] or (stored_hash and stored_hash != current.password):
        changes.append("password")
    row.status = CHANGED if changes else UNCHANGED
    row.detail = ", ".join(changes)


def _plan_aliases(raw_rows, user):
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
        if source == destination:
            row.status, row.detail = ERROR, "An alias cannot forward to its own address."
        elif (source, destination) in seen:
            row.status, row.detail = ERROR, f"The same alias is already on line {seen[(source, destination)]}."
        seen.setdefault((source, destination), line)
        rows.append(row)

    wanted = [row for row in rows if row.status != ERROR]
    found, allowed = _domains({_source_domain(row.values["source"]) for row in wanted}, user)
    existing = set()
    for chunk in _chunks({row.values["source"] for row in wanted}):
        existing.update(Alias.objects.filter(source__in=chunk).values_list("source", "destination"))
    for row in wanted:
        source, destination = row.values["source"], row.values["destination"]
        domain_name = _source_domain(source)
        problem = _domain_problem(domain_name, found, allowed)
        if problem:
            row.status, row.detail = ERROR, problem
        elif (source, destination) in existing:
            row.status = UNCHANGED
        else:
            row.values["domain"] = found[domain_name]
    return rows


def _source_domain(source):
    return source.rpartition("@")[2]


# --- Applying ----------------------------------------------------------------------------


class ImportFailed(Exception):
    pass


def hash_passwords(plaintexts, into):
    """Hash with the configured scheme on every core, appending to `into` in input order;
    yields progress as (stage, done, total).

    bcrypt and argon2 release the GIL while they hash, so threads use every core without the
    cost of starting processes and pickling (bench/RESULTS.md has the measurement).
    """
    scheme, cost = settings.MAILADMIN_PASSWORD_SCHEME, settings.MAILADMIN_BCRYPT_COST
    total = len(plaintexts)
    if not total:
        return
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        results = pool.map(lambda pw: passwords.hash_password(pw, scheme, bcrypt_cost=cost), plaintexts)
        for done, hashed in enumerate(results, start=1):
            into.append(hashed)
            if done % 50 == 0 or done == total:
                yield "hashing passwords", done, total


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
            yield from _apply_mailboxes(the_plan.to_write)
        else:
            yield from _apply_aliases(the_plan.to_write)
    except IntegrityError as error:
        raise ImportFailed(f"The database refused the import, so nothing was written: {error.args[-1]}")


def _apply_mailboxes(rows):
    needs_hash = [row for row in rows if row.values["plaintext"]]
    hashes = []
    yield from hash_passwords([row.values["plaintext"] for row in needs_hash], hashes)
    for row, hashed in zip(needs_hash, hashes):
        row.values["hash"], row.values["plaintext"] = hashed, None

    actor, when = _import_actor(), timezone.now()
    new = [
        Mailbox(domain=row.values["domain"], email=row.key, quota=row.values["quota"], password=row.values["hash"])
        for row in rows
        if row.status == NEW
    ]
    changed, entries = [], []
    for row in rows:
        if row.status != CHANGED:
            continue
        mailbox = row.values["current"]
        before = audit.snapshot(mailbox)
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
        entries += [audit.entry(AuditEntry.CREATE, mailbox, audit.diff(None, audit.snapshot(mailbox)), actor, when)
                    for mailbox in new]
        audit.record_many(entries)


def _import_actor():
    actor = audit.current_actor()
    return audit.Actor(actor.label, actor.address, via="import")


def _fill_ids(mailboxes):
    """bulk_create on MariaDB does not return ids; the log wants them."""
    by_email = {mailbox.email: mailbox for mailbox in mailboxes if mailbox.pk is None}
    for chunk in _chunks(by_email):
        for pk, email in Mailbox.objects.filter(email__in=chunk).values_list("id", "email"):
            by_email[email].pk = pk


def _apply_aliases(rows):
    actor, when = _import_actor(), timezone.now()
    new = [Alias(domain=row.values["domain"], source=row.values["source"], destination=row.values["destination"])
           for row in rows]
    with transaction.atomic():
        for start in range(0, len(new), 1000):
            Alias.objects.bulk_create(new[start : start + 1000])
            yield "writing aliases", min(start + 1000, len(new)), len(new)
        audit.record_many(
            [audit.entry(AuditEntry.CREATE, alias, audit.diff(None, audit.snapshot(alias)), actor, when) for alias in new]
        )
