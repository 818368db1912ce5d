"""`manage.py doctor`: does the live mail server run what the panel's settings assume?

Each check is a small function that does one job and yields Findings; `CHECKS` runs them in
order. Add a check by decorating a function with `@doctor_check` (it gets the LiveServer, whose
readers cache what they read). A check that cannot read what it needs yields a failing Finding
that says how to let it read (Postfix's .cf files are readable by root only, as they hold the
database password).

The server is read through its own tools: `postconf -c DIR` (main.cf and master.cf, `$names`
expanded), `doveconf -c FILE`, the mysql: table files and Dovecot's SQL .conf.ext they name,
and MariaDB's SHOW GRANTS asked as each account itself.
"""

import functools
import os
import re
import shutil
import ssl
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import cached_property

import MySQLdb
from django.apps import apps
from django.conf import settings
from django.core import checks as django_checks
from django.db import connection, models
from django.db.migrations.executor import MigrationExecutor

from aliases import postfix_config, server_config
from aliases.guides import BOOKWORM, GUIDES
from aliases.sender_login import QUERIES as SENDER_QUERIES
from aliases.sender_rights import lookup_config
from aliases.sender_rights import myorigin as sender_rights_myorigin
from users import tallies, tally_triggers
from users.models import Domain
from users.schema import MARIADB_INDEXES

ENV_FILE = "/etc/mailadmin/mailadmin.env"
TIMEOUT = 30
# The panel's own apps: their indexes and constraints are the ones `migrate` adds.
PANEL_APPS = ("mailadmin", "users", "aliases")
MAIL_TABLES = ("virtual_domains", "virtual_users", "virtual_aliases")
# What the panel's account does on the mail tables, and what migrations need on the database.
PANEL_TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")
PANEL_SCHEMA_PRIVILEGES = ("CREATE", "ALTER", "INDEX", "REFERENCES", "TRIGGER")  # TRIGGER: quota_usage.used_ppm
# Privileges that change nothing; everything else is more than Postfix's lookups need.
READ_ONLY_PRIVILEGES = {"SELECT", "USAGE", "SHOW VIEW"}


@dataclass(frozen=True)
class Finding:
    ok: bool | None  # None: not checked (the check had nothing to look at)
    subject: str
    detail: str
    fix: str = ""

    def line(self):
        mark = {True: "ok  ", False: "FAIL", None: "skip"}[self.ok]
        text = f"{mark} {self.subject}: {self.detail}"
        return f"{text} -- fix: {self.fix}" if self.fix and self.ok is False else text


class Unreadable(Exception):
    """What a check needs cannot be read; the message says why, `fix` how to let it read."""

    def __init__(self, message, fix):
        super().__init__(message)
        self.fix = fix


def same_sql(a, b):
    return " ".join(a.split()).rstrip(";").lower() == " ".join(b.split()).rstrip(";").lower()


def env_line(name, value):
    """NAME="value" as both systemd's EnvironmentFile and a shell read it."""
    escaped = re.sub(r'(["\\$`])', r"\\\1", value)
    return f'{name}="{escaped}"'


# --- reading the live server ---------------------------------------------------------------


def parse_key_values(text):
    """`name = value` lines (Postfix's mysql_table(5) and Dovecot's .conf.ext), comments skipped.

    A line starting with white space continues the previous one (Postfix), as does a trailing
    backslash (Dovecot)."""
    values, name, pending = {}, None, ""
    for raw in text.splitlines():
        if raw.lstrip().startswith("#") or not raw.strip():
            continue
        if name and raw[:1].isspace() and not pending:
            values[name] += " " + raw.strip()
            continue
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if "=" in line:
            name, value = (part.strip() for part in line.split("=", 1))
            values[name] = value
    return values


def mysql_tables(value):
    """The files of the mysql: tables in a Postfix lookup-table list (`proxy:` unwrapped)."""
    paths = []
    for entry in re.split(r"[\s,]+", value or ""):
        entry = entry.removeprefix("proxy:")
        if entry.startswith("mysql:"):
            paths.append(entry.removeprefix("mysql:"))
    return paths


def cf_query(values):
    """The query a mysql_table(5) file runs; the legacy table/select_field form too."""
    if "query" in values:
        return values["query"]
    if {"table", "select_field", "where_field"} <= values.keys():
        return f"SELECT {values['select_field']} FROM {values['table']} WHERE {values['where_field']}='%s'"
    return ""


def _run(args, fix, prefix=()):
    """Run a tool of the mail server; `prefix` (say, a chroot into another system) comes before it."""
    # Postfix's and Dovecot's tools live in sbin, which a non-root PATH may lack.
    path = os.environ.get("PATH", "") + ":/usr/sbin:/usr/bin"
    if prefix:
        binary = args[0]  # found inside what the prefix enters, on the same PATH
    else:
        binary = shutil.which(args[0], path=path)
        if binary is None:
            raise Unreadable(f"{args[0]} is not installed here", "run doctor on the mail server itself")
    result = subprocess.run([*prefix, binary, *args[1:]], capture_output=True, text=True, timeout=TIMEOUT,
                            env={**os.environ, "PATH": path})
    if result.returncode != 0:
        raise Unreadable(f"{' '.join(args)} failed: {result.stderr.strip()}", fix)
    return result.stdout


POSTCONF_FIX = "run doctor as root on the mail server, or name Postfix's config with --postfix-dir DIR"
DOVECONF_FIX = "run doctor as root on the mail server, or name Dovecot's config with --dovecot-config FILE"


class LiveServer:
    """The mail server doctor looks at; every reader runs its tool once.

    `command_prefix` runs the tools inside another system (the tests' chroot into a Debian 13
    root), `files_root` is where that system's files are seen from here: the paths the tools print
    are opened under it. `manage.py doctor` sets neither: it looks at the system it runs on."""

    def __init__(self, postfix_dir=None, dovecot_config=None, url=None, ca_file=None, command_prefix=(),
                 files_root="/"):
        self.postfix_dir = postfix_dir
        self.dovecot_config = dovecot_config
        self.url = url
        self.ca_file = ca_file
        self.command_prefix = tuple(command_prefix)
        self.files_root = files_root
        self._postconf = {}
        self._files = {}

    def _run(self, args, fix):
        return _run(args, fix, self.command_prefix)

    # Postfix
    def postconf(self, name):
        if name not in self._postconf:
            directory = ["-c", self.postfix_dir] if self.postfix_dir else []
            self._postconf[name] = self._run(["postconf", *directory, "-xh", name], POSTCONF_FIX).strip()
        return self._postconf[name]

    @cached_property
    def master_overrides(self):
        """{(service/type, parameter): value} from master.cf's `-o` options."""
        directory = ["-c", self.postfix_dir] if self.postfix_dir else []
        overrides = {}
        for line in self._run(["postconf", *directory, "-Px"], POSTCONF_FIX).splitlines():
            key, _, value = line.partition(" = ")
            service, _, parameter = key.rpartition("/")
            overrides[(service, parameter)] = value.strip()
        return overrides

    def setting_values(self, name):
        """A parameter's value in main.cf and in every master.cf service that overrides it."""
        values = {"main.cf": self.postconf(name)}
        for (service, parameter), value in self.master_overrides.items():
            if parameter == name:
                values[f"master.cf {service}"] = value
        return {where: value for where, value in values.items() if value}

    def mysql_file(self, path):
        if path not in self._files:
            try:
                with open(os.path.join(self.files_root, path.lstrip("/"))) as handle:
                    self._files[path] = parse_key_values(handle.read())
            except PermissionError:
                raise Unreadable(f"cannot read {path}", "run doctor as root (the file holds a password)")
            except OSError as error:
                raise Unreadable(f"cannot read {path}: {error.strerror}", f"create {path} (manage.py postfix-config)")
        return self._files[path]

    # Dovecot
    @cached_property
    def dovecot_sections(self):
        """{"passdb": [settings, …], "userdb": […]} as doveconf prints them."""
        config = ["-c", self.dovecot_config] if self.dovecot_config else []
        sections, current = {"passdb": [], "userdb": []}, None
        for line in self._run(["doveconf", *config, "passdb", "userdb"], DOVECONF_FIX).splitlines():
            stripped = line.strip()
            if not line.startswith(" ") and stripped.endswith("{") and stripped.split()[0] in sections:
                current = {}
                sections[stripped.split()[0]].append(current)
            elif stripped == "}":
                current = None
            elif current is not None and "=" in stripped:
                name, value = (part.strip() for part in stripped.split("=", 1))
                current[name] = value
        return sections

    @cached_property
    def dovecot_version(self):
        """The running Dovecot's version, "2.3.19.1" (`dovecot --version` needs no config)."""
        return self._run(["dovecot", "--version"], "run doctor on the mail server itself").split()[0]

    def dovecot_sql(self, kind):
        """The parsed .conf.ext of the first SQL passdb or userdb, or None when there is none."""
        for section in self.dovecot_sections[kind]:
            if section.get("driver") == "sql":
                return section["args"], self.mysql_file(section["args"])
        return None


# --- the checks ------------------------------------------------------------------------------

CHECKS = []


def doctor_check(function):
    CHECKS.append(function)
    return function


def run_checks(server, checks=None):
    for check in checks or CHECKS:
        try:
            yield from check(server)
        except Unreadable as error:
            yield Finding(False, check.__name__.replace("_", " "), str(error), error.fix)


def mail_database_name():
    if connection.vendor != "mysql":
        return None
    return connection.settings_dict["NAME"]


@doctor_check
def postfix_recipient_delimiter(server):
    live = server.postconf("recipient_delimiter")
    ours = settings.MAILADMIN_RECIPIENT_DELIMITER
    if live == ours:
        yield Finding(True, "postfix recipient_delimiter", f"{live!r}, as MAILADMIN_RECIPIENT_DELIMITER")
    else:
        yield Finding(False, "postfix recipient_delimiter", f"Postfix has {live!r}, the panel assumes {ours!r}",
                      f"put {env_line('MAILADMIN_RECIPIENT_DELIMITER', live)} into {ENV_FILE} and restart mailadmin")


def live_sender_queries(server):
    """[(where, file, query)] for every mysql: table of smtpd_sender_login_maps."""
    found = []
    for where, value in server.setting_values("smtpd_sender_login_maps").items():
        for path in mysql_tables(value):
            found.append((where, path, cf_query(server.mysql_file(path))))
    return found


def sender_query_setting(query):
    """The MAILADMIN_SENDER_LOGIN_QUERY value for a live query: a known name, else the text."""
    return next((name for name, known in SENDER_QUERIES.items() if same_sql(known, query)), query)


@doctor_check
def postfix_sender_login_query(server):
    found = live_sender_queries(server)
    if not found:
        yield Finding(False, "postfix smtpd_sender_login_maps", "no mysql: table: the panel's sending rights mean nothing",
                      "set smtpd_sender_login_maps on the submission service (manage.py postfix-config)")
        return
    ours = lookup_config().text
    for where, path, query in found:
        subject = f"postfix smtpd_sender_login_maps ({where}, {path})"
        if same_sql(query, ours):
            yield Finding(True, subject, f"the panel's query ({lookup_config().name})")
        else:
            setting = env_line("MAILADMIN_SENDER_LOGIN_QUERY", sender_query_setting(query))
            yield Finding(False, subject, f"Postfix runs {query!r}, the panel previews {ours!r}",
                          f"put {setting} into {ENV_FILE} (or `manage.py doctor --suggest-settings`) "
                          f"and restart mailadmin, or change the query in {path}")


# The maps Postfix reads the panel's tables through, and the queries the panel writes for.
VIRTUAL_MAPS = {
    "virtual_mailbox_domains": (postfix_config.MAILBOX_DOMAINS_QUERY,),
    "virtual_mailbox_maps": (postfix_config.MAILBOX_MAPS_QUERY,),
    # email2email keeps a catch-all from taking the mail of existing mailboxes.
    "virtual_alias_maps": (postfix_config.ALIAS_MAPS_QUERY, postfix_config.EMAIL2EMAIL_QUERY),
}


@doctor_check
def postfix_virtual_maps(server):
    for parameter, expected in VIRTUAL_MAPS.items():
        queries = {path: cf_query(server.mysql_file(path)) for path in mysql_tables(server.postconf(parameter))}
        unknown = {path: query for path, query in queries.items() if not any(same_sql(query, q) for q in expected)}
        missing = [q for q in expected if not any(same_sql(query, q) for query in queries.values())]
        if not unknown and not missing:
            yield Finding(True, f"postfix {parameter}", "the guide's queries on the panel's tables")
            continue
        problems = [f"{path} runs {query!r}" for path, query in unknown.items()]
        problems += [f"no table runs {query!r}" for query in missing]
        yield Finding(False, f"postfix {parameter}", "; ".join(problems),
                      "use the files `manage.py postfix-config` writes and the main.cf lines it prints")


def postfix_accounts(server):
    """{(user, hosts, dbname): (password, [files])} of the mysql: tables Postfix reads the panel's tables with."""
    paths = [path for parameter in VIRTUAL_MAPS for path in mysql_tables(server.postconf(parameter))]
    paths += [path for _, path, _ in live_sender_queries(server)]
    accounts = {}
    for path in dict.fromkeys(paths):
        values = server.mysql_file(path)
        key = (values.get("user", ""), values.get("hosts", ""), values.get("dbname", ""))
        accounts.setdefault(key, (values.get("password", ""), []))[1].append(path)
    return accounts


@doctor_check
def postfix_reads_the_panels_database(server):
    ours = mail_database_name()
    if ours is None:
        yield Finding(False, "postfix database", "the panel's database is SQLite, which Postfix cannot read",
                      f"set DATABASE_URL in {ENV_FILE} to the mail database (mysql://…)")
        return
    for (_user, _hosts, dbname), (_password, files) in postfix_accounts(server).items():
        if dbname == ours:
            yield Finding(True, "postfix database", f"{', '.join(files)} read {dbname}, the panel's database")
        else:
            yield Finding(False, "postfix database", f"{', '.join(files)} read {dbname!r}, the panel writes {ours!r}",
                          "point DATABASE_URL and the .cf files' dbname at the same database")


@doctor_check
def dovecot_password_query(server):
    sql = server.dovecot_sql("passdb")
    if sql is None:
        yield Finding(False, "dovecot password_query", "no SQL passdb: mailbox passwords are not read from the panel's table",
                      "add the guide's passdb { driver = sql } (conf.d/auth-sql.conf.ext)")
        return
    path, values = sql
    query = values.get("password_query", "")
    # The panel's query also selects `email AS user`, older guides do not; both read the column
    # the panel writes. (These checks read Dovecot 2.3's SQL file, Bookworm's syntax.)
    ours = server_config.password_query(BOOKWORM)
    accepted = (ours, "SELECT password FROM virtual_users WHERE email='%u'")
    if any(same_sql(query, known) for known in accepted):
        yield Finding(True, f"dovecot password_query ({path})", "reads virtual_users.password by email")
    else:
        yield Finding(False, f"dovecot password_query ({path})", f"runs {query!r}",
                      f"password_query = {ours} (manage.py postfix-config)")


@doctor_check
def dovecot_user_query(server):
    sql = server.dovecot_sql("userdb")
    if sql is None:
        drivers = ", ".join(section.get("driver", "?") for section in server.dovecot_sections["userdb"]) or "none"
        yield Finding(None, "dovecot user_query", f"no SQL userdb (userdb: {drivers}): quotas are not read from the panel")
        return
    path, values = sql
    query = values.get("user_query", "")
    ours = server_config.user_query(BOOKWORM)
    if same_sql(query, ours):
        yield Finding(True, f"dovecot user_query ({path})", "the panel's query (quota in bytes)")
    elif "virtual_users" in query and "quota" in query:
        yield Finding(True, f"dovecot user_query ({path})", f"reads quota from virtual_users: {query!r}")
    else:
        yield Finding(False, f"dovecot user_query ({path})", f"runs {query!r}, which does not read virtual_users.quota",
                      f"user_query = {ours}")


@doctor_check
def dovecot_default_pass_scheme(server):
    sql = server.dovecot_sql("passdb")
    if sql is None:
        yield Finding(None, "dovecot default_pass_scheme", "no SQL passdb")
        return
    path, values = sql
    # Dovecot 2.3's SQL driver reads a value without a {SCHEME} prefix as MD5 when unset
    # (MD5-CRYPT for "$1$…", otherwise hex PLAIN-MD5).
    live = values.get("default_pass_scheme", "MD5").upper()
    ours = settings.MAILADMIN_DEFAULT_PASS_SCHEME
    if live == ours:
        yield Finding(True, f"dovecot default_pass_scheme ({path})", f"{live}, as MAILADMIN_DEFAULT_PASS_SCHEME")
    else:
        yield Finding(False, f"dovecot default_pass_scheme ({path})",
                      f"Dovecot reads a hash without a {{SCHEME}} prefix as {live}, the panel as {ours}",
                      f"put {env_line('MAILADMIN_DEFAULT_PASS_SCHEME', live)} into {ENV_FILE} and restart mailadmin")


# --- grants ----------------------------------------------------------------------------------

_GRANT = re.compile(r"^GRANT (?P<privileges>.+?) ON (?P<db>`[^`]*`|\*)\.(?P<table>`[^`]*`|\*) TO ")


def _grant_pattern(quoted):
    """A GRANT's database name as a regex: `_` and `%` are wildcards unless escaped."""
    if quoted == "*":
        return re.compile(".*")
    pattern, text, i = "", quoted.strip("`"), 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            pattern += re.escape(text[i + 1])
            i += 2
            continue
        pattern += {"_": ".", "%": ".*"}.get(text[i], re.escape(text[i]))
        i += 1
    return re.compile(pattern + r"\Z", re.IGNORECASE)


def privileges_on(grants, dbname, table="*"):
    """The privileges SHOW GRANTS lines give on dbname.table (table "*": the database itself)."""
    found = set()
    for line in grants:
        match = _GRANT.match(line)
        if not match or not _grant_pattern(match["db"]).match(dbname):
            continue
        granted_table = match["table"].strip("`")
        if granted_table != "*" and granted_table != table:
            continue
        privileges = re.sub(r"\s*\([^)]*\)", "", match["privileges"])  # column lists
        for privilege in privileges.split(","):
            privilege = privilege.strip().upper()
            found.add("ALL" if privilege == "ALL PRIVILEGES" else privilege)
    return found


def has(privileges, wanted):
    return "ALL" in privileges or wanted in privileges


def _show_grants(cursor):
    cursor.execute("SELECT CURRENT_USER()")
    (account,) = cursor.fetchone()
    cursor.execute("SHOW GRANTS")
    return account, [row[0] for row in cursor.fetchall()]


def _sql_account(account):
    user, _, host = account.rpartition("@")
    return f"'{user}'@'{host}'"


@doctor_check
def panel_database_grants(server):
    dbname = mail_database_name()
    if dbname is None:
        yield Finding(None, "panel database grants", "SQLite: no accounts")
        return
    with connection.cursor() as cursor:
        account, grants = _show_grants(cursor)
    missing = []
    for table in MAIL_TABLES:
        privileges = privileges_on(grants, dbname, table)
        missing += [f"{p} on {table}" for p in PANEL_TABLE_PRIVILEGES if not has(privileges, p)]
    schema = privileges_on(grants, dbname)
    missing_schema = [p for p in PANEL_SCHEMA_PRIVILEGES if not has(schema, p)]
    if not missing and not missing_schema:
        yield Finding(True, f"panel database grants ({account})", f"may read and write the mail tables and migrate {dbname}")
        return
    needed = ", ".join(PANEL_TABLE_PRIVILEGES + PANEL_SCHEMA_PRIVILEGES)
    yield Finding(False, f"panel database grants ({account})", "lacks " + ", ".join(missing + missing_schema),
                  f"GRANT {needed} ON `{dbname}`.* TO {_sql_account(account)};")


def _connect_as(user, password, hosts, dbname):
    host = hosts.split()[0] if hosts.split() else "localhost"
    options = {"user": user, "password": password, "database": dbname, "connect_timeout": 10}
    if host.startswith("unix:"):
        options["unix_socket"] = host.removeprefix("unix:")
    else:
        host = host.removeprefix("inet:")
        name, _, port = host.partition(":")
        options.update(host=name, port=int(port or 3306))
    return MySQLdb.connect(**options)


@doctor_check
def postfix_database_grants(server):
    for (user, hosts, dbname), (password, files) in postfix_accounts(server).items():
        subject = f"postfix database grants ({user}, {files[0]})"
        try:
            link = _connect_as(user, password, hosts, dbname)
        except MySQLdb.Error as error:
            yield Finding(False, subject, f"cannot log in as Postfix does: {error.args[-1]}",
                          "check user, password, hosts and dbname in the .cf files")
            continue
        try:
            account, grants = _show_grants(link.cursor())
        finally:
            link.close()
        too_much, cannot_read = set(), []
        for table in MAIL_TABLES:
            privileges = privileges_on(grants, dbname, table)
            too_much |= privileges - READ_ONLY_PRIVILEGES
            if not has(privileges, "SELECT"):
                cannot_read.append(table)
        sql_account = _sql_account(account)
        if too_much:
            yield Finding(False, subject, f"{account} may {', '.join(sorted(too_much))} on the mail tables; "
                          "Postfix only reads",
                          f"REVOKE ALL PRIVILEGES, GRANT OPTION FROM {sql_account}; "
                          f"GRANT SELECT ON `{dbname}`.* TO {sql_account};")
        elif cannot_read:
            yield Finding(False, subject, f"{account} cannot read {', '.join(cannot_read)}",
                          f"GRANT SELECT ON `{dbname}`.* TO {sql_account};")
        else:
            yield Finding(True, subject, f"{account} may only read the mail tables")


# --- the panel's own database and settings -----------------------------------------------------


@doctor_check
def panel_migrations(server):
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in pending[:5])
        yield Finding(False, "migrations", f"{len(pending)} not applied ({names})", "manage.py migrate")
    else:
        yield Finding(True, "migrations", "all applied")


def panel_indexes_and_constraints():
    for model in apps.get_models():
        if model._meta.app_label not in PANEL_APPS or not model._meta.managed:
            continue
        for index in model._meta.indexes:
            yield model, index
        for constraint in model._meta.constraints:
            yield model, constraint


def _creating_sql(model, item):
    with connection.schema_editor(collect_sql=True, atomic=False) as editor:
        if isinstance(item, models.Index):
            editor.add_index(model, item)
        else:
            editor.add_constraint(model, item)
    return " ".join(editor.collected_sql)


@doctor_check
def panel_indexes(server):
    # (name, table, the SQL that makes it, asked for only when it is missing)
    expected = [(item.name, model._meta.db_table, functools.partial(_creating_sql, model, item))
                for model, item in panel_indexes_and_constraints()]
    if connection.vendor == "mysql":
        expected += [(name, table, functools.partial(str, sql)) for name, (table, sql) in MARIADB_INDEXES.items()]
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
        # A table that is not there yet is the migrations check's finding, not a missing index.
        existing = {table: set(connection.introspection.get_constraints(cursor, table))
                    for table in {table for _, table, _ in expected} & tables}
    missing = [(name, table, creating_sql()) for name, table, creating_sql in expected
               if table in existing and name not in existing[table]]
    if not missing:
        yield Finding(True, "indexes", "every index and key the panel added is there")
    for name, table, sql in missing:
        yield Finding(False, f"index {name}", f"missing on {table}", sql)


@doctor_check
def kept_figures(server):
    """The triggers that keep the panel's figures through other programs' writes, and the
    figures themselves against a count of the mail tables (seconds at a million mailboxes)."""
    for name, table in tally_triggers.missing(connection):
        yield Finding(False, f"trigger {name}", f"missing on {table}: other programs' changes there go uncounted",
                      "manage.py recount (makes it again)")
    differing = tallies.differences()
    if not differing:
        yield Finding(True, "kept figures", "the panel's counts match the mail tables")
        return
    names = dict(Domain.objects.filter(pk__in=differing).values_list("pk", "name"))
    shown = "; ".join(_difference_text(names, domain_id, *sides) for domain_id, sides in list(differing.items())[:3])
    more = f" and {len(differing) - 3} more" if len(differing) > 3 else ""
    yield Finding(False, "kept figures", f"differ from the mail tables: {shown}{more}", "manage.py recount")


def _difference_text(names, domain_id, kept, counted):
    if domain_id == tallies.ALL_DOMAINS:
        label = "all domains"
    else:
        label = names.get(domain_id) or f"domain id {domain_id} (not in virtual_domains)"
    parts = [f"{what} {was} kept, {now} counted"
             for what, was, now in zip(("domains", "mailboxes", "aliases"), kept, counted) if was != now]
    if kept[3] != counted[3]:
        parts.append(f"schemes {_schemes_text(kept[3])} kept, {_schemes_text(counted[3])} counted")
    return f"{label}: " + ", ".join(parts)


def _schemes_text(schemes):
    return "{" + ", ".join(f"{scheme} {n}" for scheme, n in sorted(schemes.items())) + "}"


@doctor_check
def django_deploy_checks(server):
    messages = [m for m in django_checks.run_checks(include_deployment_checks=True)
                if m.level >= django_checks.WARNING and not m.is_silenced()]
    if not messages:
        yield Finding(True, "check --deploy", "no issues")
    for message in messages:
        yield Finding(False, f"check --deploy {message.id}", message.msg, message.hint or "see Django's deployment checklist")


# --- through the proxy --------------------------------------------------------------------------


def _fetch(url, context):
    request = urllib.request.Request(url, headers={"User-Agent": "mailadmin-doctor"})
    with urllib.request.urlopen(request, timeout=TIMEOUT, context=context) as response:
        return response.status, response.geturl(), response.headers, response.read()


@doctor_check
def proxy_https(server):
    if not server.url:
        yield Finding(None, "proxy", "not asked (doctor --url https://mail.example.org/)")
        return
    base = server.url.rstrip("/")
    context = ssl.create_default_context(cafile=server.ca_file)
    missing_proto_fix = (f"MAILADMIN_BEHIND_PROXY=1 in {ENV_FILE} and "
                         "`RequestHeader set X-Forwarded-Proto https` in the vhost (contrib/apache)")
    try:
        status, final_url, headers, body = _fetch(base + "/login/", context)
    except urllib.error.HTTPError as error:
        if 300 <= error.code < 400:
            # The panel redirects every request to HTTPS, which it already is: it cannot tell.
            yield Finding(False, "proxy", f"{base}/login/ redirects in a loop: the panel does not see HTTPS",
                          missing_proto_fix)
        else:
            yield Finding(False, "proxy", f"{base}/login/ answers {error.code}", "journalctl -u mailadmin")
        return
    except (urllib.error.URLError, OSError) as error:
        yield Finding(False, "proxy", f"{base}/login/ does not answer: {getattr(error, 'reason', error)}",
                      "enable the proxy site (README, Deploying) and start mailadmin.socket")
        return
    if not final_url.startswith("https://"):
        yield Finding(False, "proxy", f"{base}/login/ ends at {final_url}, not HTTPS", "use the TLS vhost of contrib/apache")
    elif "Strict-Transport-Security" not in headers:
        # Django sends HSTS only on a request it knows to be secure: X-Forwarded-Proto got lost.
        yield Finding(False, "proxy", "the panel does not see HTTPS behind the proxy", missing_proto_fix)
    else:
        yield Finding(True, "proxy", f"{final_url} answers {status} over HTTPS, and the panel knows it")
    static = re.search(rb'(?:href|src)="(/static/[^"]+)"', body)
    if static:
        try:
            _, _, static_headers, _ = _fetch(base + static[1].decode(), context)
        except (urllib.error.URLError, OSError) as error:
            yield Finding(False, "static files", f"{static[1].decode()} fails: {error}", "manage.py collectstatic")
            return
        cache = static_headers.get("Cache-Control", "")
        if "immutable" in cache or "max-age=315360000" in cache:
            yield Finding(True, "static files", f"hashed names, {cache}")
        else:
            yield Finding(False, "static files", f"{static[1].decode()} has Cache-Control {cache!r}",
                          f"MAILADMIN_SERVE_STATIC=1 in {ENV_FILE}, collectstatic, restart mailadmin")


def live_myorigin(server):
    """Postfix's $myorigin as it decides (a "/file" value names the file whose first word it is)."""
    value = server.postconf("myorigin")
    if value.startswith("/"):
        try:
            with open(value, encoding="utf-8") as file:
                value = (file.read().split() or [""])[0]
        except OSError as error:
            raise Unreadable(f"cannot read {value}: {error.strerror}", f"run doctor as root, or check {value}")
    return value.lower().rstrip(".")


def live_local_domains(server):
    """Postfix's $mydestination, the domains whose bare local part is a sender-login key."""
    return sorted({item.lower().rstrip(".") for item in re.split(r"[\s,]+", server.postconf("mydestination")) if item})


@doctor_check
def postfix_myorigin(server):
    live, ours = live_myorigin(server), sender_rights_myorigin()
    if live == ours:
        yield Finding(True, "postfix myorigin", f"{live}, as the panel assumes")
    else:
        yield Finding(False, "postfix myorigin", f"Postfix appends @{live} to a bare sender, the panel assumes @{ours}",
                      f"put {env_line('MAILADMIN_MYORIGIN', live)} into {ENV_FILE} and restart mailadmin")


@doctor_check
def postfix_mydestination(server):
    live, ours = live_local_domains(server), sorted(d.lower() for d in settings.MAILADMIN_LOCAL_DOMAINS)
    if live == ours:
        yield Finding(True, "postfix mydestination", f"{', '.join(live) or '(empty)'}, as MAILADMIN_LOCAL_DOMAINS")
    else:
        yield Finding(False, "postfix mydestination", f"Postfix has {', '.join(live) or '(empty)'}, the panel assumes "
                      f"{', '.join(ours) or '(empty)'}",
                      f"put {env_line('MAILADMIN_LOCAL_DOMAINS', ','.join(live))} into {ENV_FILE} and restart mailadmin")


# --- the edition of the guide ----------------------------------------------------------------


def version_tuple(text):
    """(3, 10) from "3.10.5" or "2.4.1-4": major and minor are what the editions differ in."""
    numbers = re.findall(r"\d+", text)[:2]
    return tuple(int(n) for n in numbers)


def edition_by(version, guide_version):
    """The newest edition whose version of a tool the live one has reached (3.8 is still Bookworm's)."""
    reached = [guide for guide in GUIDES.values() if version_tuple(guide_version(guide)) <= version_tuple(version)]
    return max(reached, key=lambda guide: version_tuple(guide_version(guide)), default=None)


def live_map_names(server):
    """The editions the names of Postfix's mysql: table files follow (mysql-*.cf, mariadb-*.cf)."""
    paths = [path for parameter in VIRTUAL_MAPS for path in mysql_tables(server.postconf(parameter))]
    names = {os.path.basename(path) for path in paths}
    return {guide for guide in GUIDES.values() if any(name.startswith(guide.cf_prefix) for name in names)}


@dataclass(frozen=True)
class LiveEdition:
    guide: object  # the edition the server follows, None when neither version says
    evidence: tuple  # what was read, e.g. ("Postfix 3.10.5", "Dovecot 2.4.1-4")
    note: str = ""


def live_edition(server):
    """The edition the server follows. Dovecot's version decides, as the panel writes Dovecot's
    configuration in its syntax (2.3 and 2.4 read each other's not at all); Postfix's decides
    when Dovecot is not there to ask. A server upgraded to Debian 13 keeps its mysql-*.cf files:
    their names are told, but decide nothing."""
    postfix = server.postconf("mail_version")
    evidence = [f"Postfix {postfix}"]
    try:
        dovecot = server.dovecot_version
    except Unreadable:
        dovecot = None
        evidence.append("Dovecot not found")
    else:
        evidence.append(f"Dovecot {dovecot}")
    guide = edition_by(dovecot, lambda g: g.dovecot_version) if dovecot else None
    guide = guide or edition_by(postfix, lambda g: g.postfix_version)
    named = live_map_names(server)
    if len(named) == 1:
        [by_name] = named
        evidence.append(f"{by_name.cf_prefix}*.cf maps")
        note = "" if guide is None or by_name == guide else f"the maps keep {by_name.name}'s {by_name.cf_prefix}*.cf names"
    else:
        note = ""
    return LiveEdition(guide, tuple(evidence), note)


@doctor_check
def guide_edition(server):
    live = live_edition(server)
    try:
        ours = server_config.current_guide()
    except ValueError as error:  # the system check says so too; doctor still says what to set
        fix = f"put {env_line('MAILADMIN_GUIDE', live.guide.name)} into {ENV_FILE}" if live.guide else ""
        yield Finding(False, "guide edition", str(error), fix)
        return
    evidence = ", ".join(live.evidence)
    if live.guide is None:
        yield Finding(None, "guide edition", f"{evidence}: no edition of the guide has these versions")
    elif live.guide == ours:
        note = f" ({live.note}; the panel names them {ours.cf_prefix}*.cf)" if live.note else ""
        yield Finding(True, "guide edition", f"{evidence}: the {ours.name} edition, as MAILADMIN_GUIDE{note}")
    else:
        yield Finding(False, "guide edition",
                      f"{evidence}: the server follows the {live.guide.name} edition ({live.guide.debian}), "
                      f"the panel writes configuration for {ours.name} ({ours.debian})",
                      f"put {env_line('MAILADMIN_GUIDE', live.guide.name)} into {ENV_FILE} and restart mailadmin")


def suggested_settings(server):
    """The env lines that make the panel assume what the live Postfix (and Dovecot) do."""
    edition = live_edition(server).guide
    lines = [
        *([env_line("MAILADMIN_GUIDE", edition.name)] if edition else []),
        env_line("MAILADMIN_RECIPIENT_DELIMITER", server.postconf("recipient_delimiter")),
        env_line("MAILADMIN_MYORIGIN", live_myorigin(server)),
        env_line("MAILADMIN_LOCAL_DOMAINS", ",".join(live_local_domains(server))),
    ]
    queries = {query for _, _, query in live_sender_queries(server)}
    if len(queries) == 1:
        lines.append(env_line("MAILADMIN_SENDER_LOGIN_QUERY", sender_query_setting(queries.pop())))
    elif queries:
        lines.append("# Postfix runs several sender-login queries; pick the submission service's:")
        lines += ["# " + env_line("MAILADMIN_SENDER_LOGIN_QUERY", sender_query_setting(q)) for q in sorted(queries)]
    return lines
