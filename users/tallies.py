"""Figures the dashboard and the list totals need, kept exactly as the data changes.

Counting 1,000,000 mailboxes (or reading every password's scheme) on a page view costs seconds,
so the write API keeps per-domain counts in two panel-owned tables, in the same transaction as
the change: domains (1 a row), mailboxes and aliases per domain, mailboxes per password scheme
per domain, and the same figures for all domains together in the rows of domain id ALL_DOMAINS
(0, an id MariaDB's AUTO_INCREMENT never gives). A superadmin's page reads those rows; a domain
admin's sums a row per domain they see.

Every change takes the all-domains row of DomainCount first: the tallies of concurrent
transactions are then updated one transaction after another, in the same order, so they cannot
deadlock on each other's rows.

Rows written behind the panel's back (the mail server's own scripts, Roundcube's password
plugin, the mysql client) are counted on MariaDB by triggers in the writer's transaction
(users/tally_triggers.py). Where no trigger counted a new row, it is noticed by the highest id
of each mail table, which the panel remembers with its counts: a higher one means rows it never
counted, and the figures are counted again from the tables (`manage.py recount` does the same
by hand: after a restored dump, and on SQLite after changes and deletes made behind its back).
"""

import functools

from django.core.exceptions import EmptyResultSet
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Max, Sum

from mailadmin import kept_statements
from users.hash_inventory import MALFORMED, NO_PREFIX, scheme_expression, scheme_key
from users.models import Domain, DomainCount, DomainUsage, Mailbox, SchemeCount, TallyWatermark


def _bump(model, lookup, **deltas):
    updated = model.objects.filter(**lookup).update(**{name: F(name) + delta for name, delta in deltas.items()})
    if updated:
        return
    try:
        with transaction.atomic():
            model.objects.create(**lookup, **deltas)
    except IntegrityError:  # another transaction made the row first
        model.objects.filter(**lookup).update(**{name: F(name) + delta for name, delta in deltas.items()})


ALL_DOMAINS = 0


def _bump_domain(model, domain_id, lookup=None, **deltas):
    """Change a domain's figures and the all-domains figures alike (under _serialized)."""
    _bump(model, {"domain_id": domain_id, **(lookup or {})}, **deltas)
    _bump(model, {"domain_id": ALL_DOMAINS, **(lookup or {})}, **deltas)


def _serialized(change):
    """Lock the all-domains DomainCount row (made if missing) once, before `change` touches any
    other tally row."""

    @functools.wraps(change)
    def locked_first(*args, **kwargs):
        _bump(DomainCount, {"domain_id": ALL_DOMAINS}, mailboxes=0)
        return change(*args, **kwargs)

    return locked_first


# --- Kept by the write API ------------------------------------------------------------------


@_serialized
def domain_added(domain_id):
    _bump_domain(DomainCount, domain_id, domains=1)
    _raise_watermark(Domain, 1, domain_id)


@_serialized
def mailboxes_added(mailboxes):
    by_domain, by_scheme = {}, {}
    for mailbox in mailboxes:
        by_domain[mailbox.domain_id] = by_domain.get(mailbox.domain_id, 0) + 1
        key = (mailbox.domain_id, scheme_key(mailbox.password))
        by_scheme[key] = by_scheme.get(key, 0) + 1
    for domain_id, count in by_domain.items():
        _bump_domain(DomainCount, domain_id, mailboxes=count)
    for (domain_id, scheme), count in by_scheme.items():
        _bump_domain(SchemeCount, domain_id, {"scheme": scheme}, mailboxes=count)
    _raise_watermark(Mailbox, len(mailboxes), max((m.pk for m in mailboxes if m.pk), default=None))


@_serialized
def mailbox_removed(mailbox):
    _bump_domain(DomainCount, mailbox.domain_id, mailboxes=-1)
    _bump_domain(SchemeCount, mailbox.domain_id, {"scheme": scheme_key(mailbox.password)}, mailboxes=-1)


def password_replaced(mailbox, old_password):
    old, new = scheme_key(old_password), scheme_key(mailbox.password)
    if old != new:
        _scheme_moved(mailbox.domain_id, old, new)


@_serialized
def _scheme_moved(domain_id, old, new):
    _bump_domain(SchemeCount, domain_id, {"scheme": old}, mailboxes=-1)
    _bump_domain(SchemeCount, domain_id, {"scheme": new}, mailboxes=1)


@_serialized
def aliases_added(domain_id, count):
    _bump_domain(DomainCount, domain_id, aliases=count)


def aliases_inserted(count, highest_id=None):
    """After the panel inserted `count` alias rows (their highest id, when the database said)."""
    _raise_watermark(_alias_model(), count, highest_id)


def alias_moved(old_domain_id, new_domain_id):
    if old_domain_id != new_domain_id:
        aliases_added(old_domain_id, -1)
        aliases_added(new_domain_id, 1)


@_serialized
def domain_removed(domain_id):
    for kept in DomainCount.objects.filter(domain_id=domain_id):
        _bump(DomainCount, {"domain_id": ALL_DOMAINS}, domains=-kept.domains, mailboxes=-kept.mailboxes, aliases=-kept.aliases)
    for kept in SchemeCount.objects.filter(domain_id=domain_id):
        _bump(SchemeCount, {"domain_id": ALL_DOMAINS, "scheme": kept.scheme}, mailboxes=-kept.mailboxes)
    DomainCount.objects.filter(domain_id=domain_id).delete()
    SchemeCount.objects.filter(domain_id=domain_id).delete()


def _alias_model():
    return Domain._meta.get_field("aliases").related_model


def _raise_watermark(model, new_rows, highest_id=None):
    """Move the remembered highest id past `new_rows` rows the panel just counted — only when
    every row above the old mark is one of them, so a row slipped in behind the panel's back
    keeps the mark below it and the next read counts again."""
    table = model._meta.db_table
    kept = TallyWatermark.objects.filter(table=table).values_list("max_id", flat=True).first()
    if kept is None or not new_rows:
        return
    if highest_id is None:
        highest_id = model.objects.aggregate(top=Max("pk"))["top"] or 0
    if highest_id <= kept:
        return
    if model.objects.filter(pk__gt=kept, pk__lte=highest_id).count() != new_rows:
        return
    TallyWatermark.objects.filter(table=table, max_id__lt=highest_id).update(max_id=highest_id)


# --- Read by the pages --------------------------------------------------------------------


def kept_rows_for(model, user):
    """The rows of a model kept per domain (and for ALL_DOMAINS) whose sum is the figure for the
    domains `user` sees (None: all)."""
    if user is None or user.is_superuser:
        return model.objects.filter(domain_id=ALL_DOMAINS)
    return _per_domain(model, user)


def _per_domain(model, user):
    rows = model.objects.exclude(domain_id=ALL_DOMAINS)
    if user is not None and not user.is_superuser:
        rows = rows.filter(domain_id__in=Domain.objects.visible_to(user).values("pk"))
    return rows


def figures(user=None):
    """(totals, schemes, quota alerts) for the domains `user` sees, counted again first if rows
    appeared behind the panel's back. The alerts are the kept counts of full and nearly full
    mailboxes (DomainUsage, kept by quota_usage's triggers), read in the totals' statement."""
    sums = _checked_sums_of(
        lambda: {
            "totals": (kept_rows_for(DomainCount, user), TOTALS),
            "alerts": (kept_rows_for(DomainUsage, user), ALERTS),
        },
        key=("figures", kept_statements.scope_of(user)),
    )
    return sums["totals"], schemes(user, checked=True), sums["alerts"]


TOTALS = ("domains", "mailboxes", "aliases")
ALERTS = ("mailboxes_full", "mailboxes_nearly_full")


def totals(user=None, checked=False):
    """{"domains": n, "mailboxes": n, "aliases": n} for the domains `user` sees (None: all)."""
    if checked:
        return _sums(kept_rows_for(DomainCount, user), TOTALS)
    def parts():
        return {"totals": (kept_rows_for(DomainCount, user), TOTALS)}

    return _checked_sums_of(parts, key=("totals", kept_statements.scope_of(user)))["totals"]


def alert_counts(user=None):
    """{"mailboxes_full": n, "mailboxes_nearly_full": n} for the domains `user` sees: the kept
    counts quota_usage's triggers keep (DomainUsage), read with the check for rows written
    behind the panel's back in one statement kept per scope."""
    def parts():
        return {"alerts": (kept_rows_for(DomainUsage, user), ALERTS)}

    return _checked_sums_of(parts, key=("alerts", kept_statements.scope_of(user)))["alerts"]


def domain_totals(user, **domain):
    """{"mailboxes": n, "aliases": n} of one domain (`name=…` or `pk=…`), when `user` sees it
    (else zeros)."""
    def parts():
        kept = _per_domain(DomainCount, user).filter(domain_id__in=Domain.objects.filter(**domain).values("pk"))
        return {"sums": (kept, ("mailboxes", "aliases"))}

    # One statement a domain (and user) viewed: kept_statements holds up to a thousand.
    key = ("domain totals", kept_statements.scope_of(user), *sorted(domain.items()))
    return _checked_sums_of(parts, key=key)["sums"]


def domain_figures(domain):
    """({"mailboxes": n, "aliases": n}, {"bytes": n, "reported": n}) of one domain, for its page:
    its kept counts and the usage sums quota_usage's triggers keep (DomainUsage), read with the
    check for rows written behind the panel's back in one statement, kept per domain."""
    def parts():
        return {
            "counts": (DomainCount.objects.filter(domain_id=domain.pk), ("mailboxes", "aliases")),
            "usage": (DomainUsage.objects.filter(domain_id=domain.pk), ("bytes", "reported")),
        }

    sums = _checked_sums_of(parts, key=("domain figures", domain.pk))
    return sums["counts"], sums["usage"]


def _sums(kept, names):
    sums = kept.aggregate(**{name: Sum(name) for name in names})
    return {name: value or 0 for name, value in sums.items()}


def _checked_sums_of(parts, key=None):
    """{part: _sums(kept, names)} for each of parts()'s {part: (kept, names)}, after
    ensure_counted(), all in one query: every list page reads a kept total, and this is one
    round trip instead of two (the dashboard's: one instead of three). With a `key`, the
    statement is built at the first call and kept: `parts` must then give the same SQL
    whenever the key is the same."""
    def build():
        return _sums_statement(parts())

    names_of, columns, from_clause, params, read = build() if key is None else kept_statements.kept(key, build)
    found = {part: dict.fromkeys(names, 0) for part, names in names_of.items()}
    if not read:
        ensure_counted()
        return found
    noticed, row = _check_highest_ids(columns, from_clause, params)
    if noticed:  # counted again: the sums read with the check are the old ones
        built = parts()
        return found | {part: _sums(*built[part]) for part in read}
    values = iter(row)
    for part in read:
        # MariaDB's SUM of integers is a DECIMAL; the ORM's aggregate() turns it into an int.
        found[part] = {name: int(next(values) or 0) for name in names_of[part]}
    return found


def _sums_statement(parts):
    """(names of each part, the columns, FROM clause and parameters of their sums, the parts
    read) for _check_highest_ids()."""
    quote = connection.ops.quote_name
    columns, derived_tables, params, read = [], [], [], []
    for number, (part, (kept, names)) in enumerate(parts.items()):
        try:
            scoped, scoped_params = kept.order_by().values_list(*names).query.sql_with_params()
        except EmptyResultSet:  # a scope that names nothing
            continue
        sums = ", ".join(f"SUM({quote(name)}) AS {quote(name)}" for name in names)
        derived_tables.append(f"(SELECT {sums} FROM ({scoped}) scoped_{number}) kept_{number}")
        columns.extend(f"kept_{number}.{quote(name)}" for name in names)
        params.extend(scoped_params)
        read.append(part)
    names_of = {part: names for part, (_kept, names) in parts.items()}
    return names_of, ", ".join(columns), "FROM " + " CROSS JOIN ".join(derived_tables), tuple(params), tuple(read)


def add_domain_counts(domains, checked=False):
    """Set `mailbox_count` and `alias_count` on each of a page's domains from their kept rows:
    one primary-key lookup per domain, where counting reads every mailbox and alias of each."""
    domains = list(domains)
    if not checked:
        ensure_counted()
    kept = kept_by_domain(DomainCount, ("mailboxes", "aliases"), [domain.pk for domain in domains])
    for domain in domains:
        domain.mailbox_count, domain.alias_count = kept.get(domain.pk, (0, 0))
    return domains


def kept_by_domain(model, fields, domain_ids):
    """{domain id: (value of each field)} from a table kept per domain (DomainCount,
    DomainUsage), for a page's domains. Written out: the ORM took 0.1 ms of CPU to build each of
    these primary-key lookups, more than the database took to answer it."""
    ids = [int(pk) for pk in domain_ids]
    if not ids:
        return {}
    name, meta = connection.ops.quote_name, model._meta
    key = name(meta.pk.column)
    columns = ", ".join(name(meta.get_field(field).column) for field in fields)
    sql = f"SELECT {key}, {columns} FROM {name(meta.db_table)} WHERE {key} IN ({', '.join(map(str, ids))})"
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return {row[0]: tuple(row[1:]) for row in cursor.fetchall()}


def schemes(user=None, checked=False):
    """{scheme key: mailboxes} for the domains `user` sees, as hash_inventory.scheme_key names them."""
    if not checked:
        ensure_counted()
    def build():
        rows = kept_rows_for(SchemeCount, user).values("scheme").annotate(n=Sum("mailboxes")).order_by()
        try:
            return rows.values_list("scheme", "n").query.sql_with_params()
        except EmptyResultSet:  # a scope that names nothing
            return None

    statement = kept_statements.kept(("schemes", kept_statements.scope_of(user)), build)
    if statement is None:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(*statement)
        # MariaDB's SUM of integers is a DECIMAL.
        return {scheme: int(n) for scheme, n in cursor.fetchall() if n}


# --- Noticing rows written behind the panel's back -----------------------------------------


def _watched():
    return [Domain, Mailbox, _alias_model()]


def _highest_ids():
    return {model._meta.db_table: model.objects.aggregate(top=Max("pk"))["top"] or 0 for model in _watched()}


def ensure_counted():
    """Count again when a mail table holds ids the panel never counted: one query, an index
    lookup per table."""
    noticed, _row = _check_highest_ids()
    return noticed


def _check_highest_ids(more_columns="", from_clause="", params=()):
    """ensure_counted(), with `more_columns` (read `from_clause`) in the same SELECT: (whether
    the figures were counted again, the values of more_columns as they were before)."""
    watched, watch_columns, watch_params = kept_statements.kept("highest ids", _highest_ids_columns)
    columns = f"{watch_columns}, {more_columns}" if more_columns else watch_columns
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} {from_clause}", [*watch_params, *params])
        row = cursor.fetchone()
    pairs = list(zip(row[0:watched:2], row[1:watched:2]))
    if all(kept is not None and kept >= (top or 0) for top, kept in pairs):
        return False, row[watched:]
    recount()
    return True, row[watched:]


def _highest_ids_columns():
    """(how many, the columns, their parameters): each watched table's highest id, and the
    highest the figures were counted up to."""
    quote = connection.ops.quote_name
    parts = []
    for model in _watched():
        table = model._meta.db_table
        parts.append(f"(SELECT MAX({quote('id')}) FROM {quote(table)})")
        parts.append(
            f"(SELECT {quote('max_id')} FROM {quote(TallyWatermark._meta.db_table)} WHERE {quote('table')} = %s)"
        )
    return len(parts), ", ".join(parts), tuple(model._meta.db_table for model in _watched())


def recount():
    """Every figure counted again from the mail tables (GROUP BY domain: one scan each).

    The all-domains row is taken before the tables are read, as every change to the figures
    takes it first (the write API, the triggers): a change that commits while the tables are
    read would otherwise have its difference overwritten by a count that did not include it."""
    with transaction.atomic():
        _bump(DomainCount, {"domain_id": ALL_DOMAINS}, mailboxes=0)
        domain_rows, scheme_rows, highest = _counted()
        DomainCount.objects.all().delete()
        DomainCount.objects.bulk_create(DomainCount(domain_id=domain_id, domains=domains, mailboxes=mailboxes, aliases=aliases)
                                        for domain_id, (domains, mailboxes, aliases) in domain_rows.items())
        SchemeCount.objects.all().delete()
        SchemeCount.objects.bulk_create(SchemeCount(domain_id=domain_id, scheme=scheme, mailboxes=count)
                                        for (domain_id, scheme), count in scheme_rows.items())
        TallyWatermark.objects.all().delete()
        TallyWatermark.objects.bulk_create(TallyWatermark(table=table, max_id=top) for table, top in highest.items())


def _counted():
    """What the kept rows would be, counted from the mail tables now: ({domain id: (domains,
    mailboxes, aliases)}, {(domain id, scheme): mailboxes}, {table: highest id}), the rows of
    ALL_DOMAINS included."""
    alias_model = _alias_model()
    highest = _highest_ids()
    domains = set(Domain.objects.values_list("pk", flat=True))
    mailboxes = dict(Mailbox.objects.order_by().values_list("domain_id").annotate(n=Count("pk")))
    aliases = dict(alias_model.objects.order_by().values_list("domain_id").annotate(n=Count("pk")))
    domain_rows = {
        domain_id: (int(domain_id in domains), mailboxes.get(domain_id, 0), aliases.get(domain_id, 0))
        for domain_id in domains | set(mailboxes) | set(aliases)
    }
    domain_rows[ALL_DOMAINS] = (len(domains), sum(mailboxes.values()), sum(aliases.values()))
    scheme_rows = _schemes_per_domain()
    for (_domain_id, scheme), count in list(scheme_rows.items()):
        scheme_rows[ALL_DOMAINS, scheme] = scheme_rows.get((ALL_DOMAINS, scheme), 0) + count
    return domain_rows, scheme_rows, highest


def differences():
    """{domain id: (kept, counted)} for each domain (and ALL_DOMAINS) whose kept figures differ
    from a count of the mail tables now, each side (domains, mailboxes, aliases, {scheme:
    mailboxes}). Rows added behind the panel's back are counted first, as a page view would;
    the count and the kept rows are read in one snapshot (every change to the figures commits
    with the rows it counts), without holding up the writes as a lock would."""
    ensure_counted()
    if connection.vendor == "mysql" and not connection.in_atomic_block:
        # Django's connections read committed rows anew at each statement; this applies to
        # the next transaction only.
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    with transaction.atomic():
        domain_rows, scheme_rows, _highest = _counted()
        kept_rows = {row.domain_id: (row.domains, row.mailboxes, row.aliases) for row in DomainCount.objects.all()}
        kept_schemes = {(row.domain_id, row.scheme): row.mailboxes for row in SchemeCount.objects.all()}

    def by_domain(schemes):
        grouped = {}
        for (domain_id, scheme), count in schemes.items():
            if count:
                grouped.setdefault(domain_id, {})[scheme] = count
        return grouped

    kept_by_domain, counted_by_domain = by_domain(kept_schemes), by_domain(scheme_rows)
    found = {}
    for domain_id in sorted({*domain_rows, *kept_rows, *kept_by_domain, *counted_by_domain}):
        kept = (*kept_rows.get(domain_id, (0, 0, 0)), kept_by_domain.get(domain_id, {}))
        counted = (*domain_rows.get(domain_id, (0, 0, 0)), counted_by_domain.get(domain_id, {}))
        if kept != counted:
            found[domain_id] = (kept, counted)
    return found


def _schemes_per_domain():
    counted = {}
    rows = (
        Mailbox.objects.order_by()
        .annotate(scheme=scheme_expression())
        .values_list("domain_id", "scheme")
        .annotate(n=Count("pk"))
    )
    for domain_id, scheme, count in rows:
        # The database's case folding may split one scheme into spellings: merged here.
        key = (domain_id, scheme.upper() if scheme not in (NO_PREFIX, MALFORMED) else scheme)
        counted[key] = counted.get(key, 0) + count
    return counted

