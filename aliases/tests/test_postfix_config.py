"""The generated server config, in both editions of the guide (MAILADMIN_GUIDE): what the private
Postfix and Dovecot of the tests actually run.

- The .cf files `manage.py postfix-config --dir` writes are byte for byte the files the private
  Postfix harness writes for the same database (both come from aliases.postfix_config).
- On MariaDB, the generated files installed as written into a private Postfix and a private
  Dovecot (this machine's Postfix 3.7/Dovecot 2.3, and the Trixie root's 3.10/2.4), reading with
  a read-only account, give the verdicts `sender check` gives and answer every lookup exactly as
  the guide's own files do.
"""

import os
import secrets
import stat
import subprocess
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from aliases import server_config
from aliases.models import Alias
from aliases.sender_rights import check, lookup_config, rights_of
from aliases.guides import GUIDES
from conftest import require_or_skip
from mailadmin.testing import dovecot as private_dovecot
from mailadmin.testing import postfix as private_postfix
from mailadmin.testing.dovecot import MailDatabase, PrivateDovecot, write_private
from mailadmin.testing.postfix import PrivatePostfix, SubmissionSession
from mailadmin.testing.trixie import MACHINE, missing_reason, trixie_root
from users.models import Domain, Mailbox

PASSWORD = "secret"


def write_config(tmp_path, password="db-pass", *options):
    out = StringIO()
    call_command("postfix-config", "--dir", str(tmp_path), "--password-stdin", *options,
                 stdin=StringIO(password + "\n"), stdout=out)
    return out.getvalue()


def root_of(guide):
    """Where that edition's Postfix and Dovecot run: this machine (Bookworm) or the Trixie root."""
    if guide == "bookworm":
        return MACHINE
    reason = missing_reason()
    require_or_skip(reason is None, reason or "")
    return trixie_root()


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_printing_never_shows_the_database_password(settings, db):
    # A new dict: the live connection shares the old one and must keep its real password.
    settings.DATABASES = {**settings.DATABASES, "default": {**settings.DATABASES["default"], "PASSWORD": "the-real-secret"}}
    out = StringIO()
    call_command("postfix-config", stdout=out)
    text = out.getvalue()
    assert "the-real-secret" not in text
    assert text.count(f"password = {server_config.PASSWORD_PLACEHOLDER}") == 5
    assert f"password={server_config.PASSWORD_PLACEHOLDER}" in text


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
@pytest.mark.parametrize("guide", ["bookworm", "trixie"])
def test_the_servers_read_with_the_read_only_account_not_the_panels(settings, db, guide, tmp_path):
    settings.MAILADMIN_GUIDE = guide
    settings.DATABASES = {**settings.DATABASES, "default": {**settings.DATABASES["default"], "USER": "mailadmin"}}
    out = StringIO()
    call_command("postfix-config", stdout=out)
    text = out.getvalue()
    assert "user = mailadmin" not in text and "user=mailadmin" not in text
    # Trixie: the mysql { } blocks of 99-ispmail-sql.conf and of the quota-usage dict.
    assert text.count("user = mailserver\n") == 5 + 2 * (guide == "trixie")
    write_config(tmp_path, "ro-pass", "--db-user", "mail_ro")
    for path in tmp_path.iterdir():
        content = path.read_text()
        if path.name == "11-mailadmin-quota-usage.conf":
            continue  # it names the dict file, which holds the connection
        assert "user = mail_ro" in content or "user=mail_ro" in content, path.name
        assert "user = mailserver" not in content and "user=mailserver" not in content, path.name


WRITTEN = {
    "bookworm": ["mysql-virtual-mailbox-domains.cf", "mysql-virtual-mailbox-maps.cf", "mysql-virtual-alias-maps.cf",
                 "mysql-email2email.cf", "mysql-sender-login-maps.cf", "dovecot-sql.conf.ext",
                 "11-mailadmin-quota-usage.conf", "dovecot-dict-sql.conf.ext"],
    "trixie": ["mariadb-virtual-mailbox-domains.cf", "mariadb-virtual-mailbox-maps.cf", "mariadb-virtual-alias-maps.cf",
               "mariadb-email2email.cf", "mariadb-sender-login-maps.cf", "99-ispmail-sql.conf",
               "91-mailadmin-quota-usage.conf"],
}


@pytest.mark.parametrize("guide", ["bookworm", "trixie"])
def test_written_files_are_named_as_the_guide_names_them_private_and_carry_the_given_password(
    tmp_path, db, settings, guide
):
    settings.MAILADMIN_GUIDE = guide
    write_config(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(WRITTEN[guide])
    for path in tmp_path.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o640
        # The quota-usage snippet names the dict file; it holds no connection of its own.
        assert ("db-pass" in path.read_text()) != (path.name == "11-mailadmin-quota-usage.conf")


def test_the_guide_option_overrides_the_setting(tmp_path, db, settings):
    settings.MAILADMIN_GUIDE = "bookworm"
    write_config(tmp_path, "db-pass", "--guide", "trixie")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(WRITTEN["trixie"])


def test_bookworm_dovecot_config_is_23_syntax_with_the_canonical_login(db, settings):
    settings.MAILADMIN_GUIDE = "bookworm"
    text = server_config.dovecot_sql_conf().text
    assert "driver = mysql\nconnect = host=127.0.0.1 " in text and " user=mailserver password=" in text
    assert "password_query = SELECT email AS user, password FROM virtual_users WHERE email='%u'\n" in text
    assert "CONCAT('*:bytes=', quota) AS quota_rule" in text and "%{" not in text


def test_trixie_dovecot_config_is_24_syntax_with_quota_storage_size(db, settings):
    settings.MAILADMIN_GUIDE = "trixie"
    config = server_config.dovecot_sql_conf()
    text = config.text
    assert config.path == "/etc/dovecot/conf.d/99-ispmail-sql.conf"
    assert "sql_driver = mysql\nmysql 127.0.0.1 {\n" in text and "  user = mailserver\n" in text
    assert "passdb sql {\n" in text and "userdb sql {\n" in text
    assert "query = SELECT email AS user, password FROM virtual_users WHERE email='%{user}'\n" in text
    assert "CONCAT(quota, 'B') AS quota_storage_size" in text
    # 2.4 reads an unprefixed value as PLAIN: the panel's reading is always spelt out.
    assert "default_password_scheme = MD5\n" in text
    assert "'%u'" not in text and "quota_rule" not in text and "connect =" not in text


def test_trixie_main_cf_names_mariadb_files_with_the_mysql_map_type(db, settings):
    settings.MAILADMIN_GUIDE = "trixie"
    lines = "\n".join(server_config.main_cf_lines())
    assert "virtual_mailbox_domains = mysql:/etc/postfix/mariadb-virtual-mailbox-domains.cf" in lines
    assert "submission and submissions" in lines
    assert "mysql-" not in lines


def test_a_dovecot_24_password_that_would_break_its_quoting_is_refused(db, settings):
    from django.core.management.base import CommandError

    settings.MAILADMIN_GUIDE = "trixie"
    for password in ('with"quote', "with%{var}", "back\\slash"):
        with pytest.raises(CommandError, match="cannot contain"):
            write_config(Path("/nonexistent-never-written"), password)


def test_a_password_dovecot_cannot_hold_is_refused(tmp_path, db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="white space"):
        write_config(tmp_path, password="two words")


def test_the_default_pass_scheme_follows_the_panel(settings, db):
    assert "#default_pass_scheme = MD5\n" in server_config.dovecot_sql_conf().text
    settings.MAILADMIN_DEFAULT_PASS_SCHEME = "SHA512-CRYPT"
    assert "\ndefault_pass_scheme = SHA512-CRYPT\n" in server_config.dovecot_sql_conf().text


@pytest.mark.postfix
@pytest.mark.parametrize("guide", ["bookworm", "trixie"])
@pytest.mark.parametrize("query", ["own", "aliases"])
def test_the_panel_files_are_the_files_the_private_postfix_runs(tmp_path, db, settings, query, guide):
    root = root_of(guide)
    missing = private_postfix.binaries_missing(root)
    require_or_skip(not missing, f"missing {', '.join(missing)} in {root}")
    settings.MAILADMIN_SENDER_LOGIN_QUERY = query
    settings.MAILADMIN_GUIDE = guide
    write_config(tmp_path / "panel", password="db-pass")
    target = server_config.database_target()
    database = MailDatabase(target.dbname, target.host, target.port or 3306, target.user, "db-pass")
    harness = PrivatePostfix(database, "/nonexistent/auth", sender_login_queries={"panel": lookup_config().text},
                             root=root)
    try:
        harness.write_config()
        sender_file, _ = server_config.sender_login_file()
        pairs = [(name, name) for name in server_config.postfix_config.guide_files(GUIDES[guide])]
        pairs.append((sender_file, "sender-login-panel.cf"))
        for panel_name, harness_name in pairs:
            assert (tmp_path / "panel" / panel_name).read_text() == harness.cf_path(harness_name).read_text(), panel_name
        # And that edition's Postfix itself accepts the configuration that names them.
        result = harness.postfix("check", check=False)
        assert result.returncode == 0, result.stderr
    finally:
        harness.stop()


def test_the_config_page_shows_the_trixie_edition_with_the_read_only_account(client, alice, settings):
    from django.urls import reverse

    settings.MAILADMIN_GUIDE = "trixie"
    client.force_login(alice)
    text = client.get(reverse("postfix-config")).content.decode()
    assert "Trixie</strong> edition" in text and "Dovecot 2.4" in text
    assert "/etc/postfix/mariadb-virtual-mailbox-domains.cf" in text and "mysql-virtual" not in text
    assert "/etc/dovecot/conf.d/99-ispmail-sql.conf" in text and "quota_storage_size" in text
    assert "read-only database account <code>mailserver</code>" in text


@pytest.mark.parametrize("value, errors", [("bookworm", 0), ("trixie", 0), ("jessie", 1)])
def test_manage_py_check_refuses_an_unknown_guide_edition(settings, value, errors):
    from aliases.checks import check_guide_edition

    settings.MAILADMIN_GUIDE = value
    assert len(check_guide_edition()) == errors


# --- against the real servers (MariaDB) -----------------------------------------------------------

# The guide's own files, as each edition prints them (Bookworm: 100-postfix-access-mariadb,
# 120-setting-up-dovecot, 180-relaying; Trixie: 160-postfix, 165-dovecot, 180-relaying),
# copied here rather than taken from the panel's code so that agreeing proves something.
GUIDE_POSTFIX_QUERIES = {
    "virtual-mailbox-domains": "SELECT 1 FROM virtual_domains WHERE name='%s'",
    "virtual-mailbox-maps": "SELECT 1 FROM virtual_users WHERE email='%s'",
    "virtual-alias-maps": "SELECT destination FROM virtual_aliases WHERE source='%s'",
    "email2email": "SELECT email FROM virtual_users WHERE email='%s'",
}
GUIDE_SENDER_LOGIN = {
    "own": "SELECT email FROM virtual_users WHERE email='%s'",  # the email2email map
    "aliases": "SELECT email FROM virtual_users WHERE email='%s' UNION SELECT destination FROM virtual_aliases WHERE source='%s'",
}
GUIDE_DOVECOT_SQL = {
    "bookworm": (
        "driver = mysql\nconnect = host={host} port={port} dbname={dbname} user={user} password={password}\n"
        "user_query = SELECT email as user, concat('*:bytes=', quota) AS quota_rule, '/var/vmail/%d/%n' AS home, "
        "5000 AS uid, 5000 AS gid FROM virtual_users WHERE email='%u'\n"
        "password_query = SELECT password FROM virtual_users WHERE email='%u'\n"
        "iterate_query = SELECT email AS user FROM virtual_users\n"
    ),
    "trixie": (
        "sql_driver = mysql\nmysql {host} {{\n  port = {port}\n  user = {user}\n  password = '{password}'\n"
        "  dbname = {dbname}\n}}\n"
        "userdb sql {{\n  query = SELECT email as user FROM virtual_users WHERE email='%{{user}}'\n"
        "  iterate_query = SELECT email as user FROM virtual_users\n}}\n"
        "passdb sql {{\n  query = SELECT password FROM virtual_users where email='%{{user}}'\n}}\n"
    ),
}

LOGINS = ["jane@a.example", "john@a.example", "carol@c.example"]
SENDERS = ["jane@a.example", "jane+x@a.example", "info@a.example", "info+x@a.example", "john@a.example",
           "carol@c.example", "any@c.example", "any+x@c.example", "x@outside.example", ""]
# Every key each map is asked in the proof, with case, extension and unknown variants.
MAP_KEYS = ["a.example", "A.Example", "c.example", "nope.example", "jane@a.example", "JANE@a.example",
            "Mixed@a.example", "mixed@a.example", "info@a.example", "@c.example", "any@c.example",
            "john@a.example", "carol@c.example", "nobody@a.example", "jane+x@a.example"]


@pytest.fixture
def mail_rows(transactional_db):
    a = Domain.objects.create(name="a.example")
    c = Domain.objects.create(name="c.example")
    for domain, email, quota in ((a, "jane@a.example", 1024**3), (a, "john@a.example", 0), (c, "carol@c.example", 0),
                                 (a, "Mixed@a.example", 5)):
        Mailbox.objects.create(domain=domain, email=email, password="{PLAIN}" + PASSWORD, quota=quota)
    Alias.objects.create(domain=a, source="info@a.example", destination="jane@a.example")
    Alias.objects.create(domain=a, source="info@a.example", destination="john@a.example")
    Alias.objects.create(domain=c, source="@c.example", destination="jane@a.example")
    yield
    Alias.objects.all().delete()
    Mailbox.objects.all().delete()
    Domain.objects.all().delete()


@pytest.fixture
def read_only_account(transactional_db):
    """The guide's `mailserver` account for the test database: SELECT and nothing else."""
    if connection.vendor != "mysql":
        pytest.skip("needs MariaDB (run with TEST_DATABASE_URL=mysql://...)")
    admin = MailDatabase.from_django(connection)
    user = f"ro_{admin.name}"[:80]
    password = secrets.token_hex(12)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE OR REPLACE USER '{user}'@'127.0.0.1' IDENTIFIED BY %s", [password])
        cursor.execute(f"GRANT SELECT ON `{admin.name}`.* TO '{user}'@'127.0.0.1'")
    yield MailDatabase(admin.name, admin.host, admin.port, user, password)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP USER IF EXISTS '{user}'@'127.0.0.1'")


class InstalledPostfix(PrivatePostfix):
    """The harness's private Postfix with the panel's generated .cf files installed as written
    (its main.cf and master.cf are the harness's own; they only name the files)."""

    def __init__(self, generated_dir, sender_file, *args, **options):
        self.generated_dir = Path(generated_dir)
        self.sender_file = sender_file
        super().__init__(*args, sender_login_queries={"panel": "(installed from the generated file)"}, **options)

    def sender_login_cf(self, name):
        return self.cf_path(self.sender_file)

    def write_mysql_cf(self, file_name, query):
        path = write_private(self.cf_path(file_name), (self.generated_dir / file_name).read_text(), 0o640)
        os.chown(path, 0, self.root.gid("postfix"))
        return path

    def write_guides_file(self, file_name, query, account):
        """The guide's own file for a map, as its `cat > … << EOF` writes it."""
        hosts = server_config.postfix_config.mysql_hosts(account.host, account.port)
        text = (f"user = {account.user}\npassword = {account.password}\nhosts = {hosts}\n"
                f"dbname = {account.name}\nquery = {query}\n")
        path = write_private(self.cf_path(f"guide-{file_name}"), text, 0o640)
        os.chown(path, 0, self.root.gid("postfix"))
        return path

    def postmap(self, keys, cf_file):
        """{key: value or None}: `postmap -q -` asks the map each key read from stdin."""
        result = subprocess.run(
            self.root.command(["postmap", "-c", self.root.inside(self.config_dir), "-q", "-",
                               f"mysql:{self.root.inside(cf_file)}"]),
            input="".join(f"{key}\n" for key in keys), capture_output=True, text=True,
        )  # fmt: skip
        # 0 some found, 1 none found; a fatal error (a refused login, a missing file) also
        # exits 1, with its reason on stderr, and must fail the test.
        assert result.returncode in (0, 1) and not result.stderr, result.stderr
        found = dict(line.split("\t", 1) for line in result.stdout.splitlines())
        return {key: found.get(key) for key in keys}


def doveadm(dovecot, *args, password=None):
    root = dovecot.root
    return subprocess.run(
        root.command(["doveadm", "-c", root.inside(dovecot.config_file), *args]),
        input=(password + "\n").encode() if password is not None else None,
        capture_output=True, timeout=60, start_new_session=True,
    )  # fmt: skip


def dovecot_answers(dovecot, logins):
    """What the Dovecot says for each (login, password) and `doveadm user` for each login."""
    answers = {}
    for login in logins:
        # A wrong password for one login only: Dovecot 2.3 answers a refusal after seconds.
        for password in (PASSWORD, "wrong") if login == logins[0] else (PASSWORD,):
            result = doveadm(dovecot, "auth", "test", "-a", dovecot.root.inside(dovecot.base_dir / "auth-client"),
                             login, password=password)
            answers[("auth", login, password)] = result.returncode
        user = doveadm(dovecot, "user", "-f", "flow", login)
        fields = dict(part.split("=", 1) for part in user.stdout.decode().split() if "=" in part)
        answers[("user", login)] = (user.returncode, fields.get("home"), fields.get("quota_rule"))
    return answers


@pytest.mark.postfix
@pytest.mark.dovecot
@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("guide", ["bookworm", "trixie"])
@pytest.mark.parametrize("query", ["own", "aliases"])
def test_the_generated_files_installed_as_written_answer_as_the_guides_own_files(
    mail_rows, read_only_account, settings, tmp_path, query, guide
):
    root = root_of(guide)
    missing = private_postfix.binaries_missing(root) + private_dovecot.binaries_missing(root)
    require_or_skip(not missing, f"missing {', '.join(missing)} in {root}")
    settings.MAILADMIN_SENDER_LOGIN_QUERY = query
    settings.MAILADMIN_GUIDE = guide
    ro = read_only_account
    generated = tmp_path / "generated"
    write_config(generated, ro.password, "--db-user", ro.user)
    sender_file, _ = server_config.sender_login_file()
    dovecot_file = server_config.dovecot_sql_conf().name
    guide_sql = GUIDE_DOVECOT_SQL[guide].format(host=ro.host, port=ro.port, dbname=ro.name, user=ro.user,
                                                password=ro.password)
    with PrivateDovecot(ro, sql_conf_text=(generated / dovecot_file).read_text(), root=root) as dovecot, \
            PrivateDovecot(ro, sql_conf_text=guide_sql, root=root) as guides_dovecot:
        with InstalledPostfix(generated, sender_file, ro, dovecot.auth_socket, root=root) as postfix:
            # Postfix: the sender verdicts are `sender check`'s ...
            disagreements, codes = [], []
            for login in LOGINS:
                rights = rights_of(login)
                with SubmissionSession(postfix.ports["panel"], postfix.cert_file) as session:
                    session.login(login, PASSWORD)
                    for sender in SENDERS:
                        reply = session.try_sender(sender)
                        codes.append(reply.code)
                        decision = check(login, sender)
                        listed = sender == "" or rights.covers(sender)
                        if str(reply) != decision.postfix_reply or listed != (reply.code == 250):
                            disagreements.append(f"{login} as <{sender}>: Postfix {reply}; panel "
                                                 f"{decision.postfix_reply}, listed={listed}")
            assert not disagreements, "\n".join(disagreements)
            assert codes.count(250) >= 5 and codes.count(553) >= 5, codes
            # ... and every map answers every key exactly as the guide's own file does.
            guide_queries = {GUIDES[guide].cf_name(stem): text for stem, text in GUIDE_POSTFIX_QUERIES.items()}
            guide_queries[sender_file] = GUIDE_SENDER_LOGIN[query]
            mismatches, found = [], 0
            for file_name, guide_query in guide_queries.items():
                guides_file = postfix.write_guides_file(file_name, guide_query, ro)
                ours = postfix.postmap(MAP_KEYS, postfix.cf_path(file_name))
                theirs = postfix.postmap(MAP_KEYS, guides_file)
                found += sum(value is not None for value in ours.values())
                mismatches += [f"{file_name} {key!r}: generated {ours[key]!r}, guide {theirs[key]!r}"
                               for key in MAP_KEYS if ours[key] != theirs[key]]
            assert not mismatches, "\n".join(mismatches)
            assert found >= 15, found
        # Dovecot: every login and `doveadm user` as the guide's files answer them.
        ours, theirs = dovecot_answers(dovecot, LOGINS + ["Mixed@a.example", "MIXED@A.EXAMPLE", "nobody@a.example"]), \
            dovecot_answers(guides_dovecot, LOGINS + ["Mixed@a.example", "MIXED@A.EXAMPLE", "nobody@a.example"])
        assert ours == theirs
        assert ours[("auth", "jane@a.example", PASSWORD)] == 0 and ours[("auth", "jane@a.example", "wrong")] == 77
        # The canonical address comes back as the login name, whatever case the client typed.
        login = doveadm(dovecot, "auth", "test", "-a", root.inside(dovecot.base_dir / "auth-client"),
                        "MIXED@A.EXAMPLE", password=PASSWORD)
        assert b"user=Mixed@a.example" in login.stdout, login.stdout
        # The quota field the edition's Dovecot takes.
        user = doveadm(dovecot, "user", "jane@a.example").stdout.decode()
        if guide == "bookworm":
            assert "quota_rule\t*:bytes=1073741824" in user and "home\t/var/vmail/a.example/jane" in user
        else:
            assert "quota_storage_size\t1073741824B" in user, user


QUOTA_ROOT_24 = """\
mail_driver = maildir
mail_path = ~/Maildir
mail_plugins {
  quota = yes
}
quota "User quota" {
  driver = count
}
"""


@pytest.mark.dovecot
@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_dovecot_24_takes_the_generated_quota_storage_size_and_zero_as_unlimited(mail_rows, settings):
    if connection.vendor != "mysql":
        pytest.skip("needs MariaDB (run with TEST_DATABASE_URL=mysql://...)")
    root = root_of("trixie")
    require_or_skip(not private_dovecot.binaries_missing(root), f"missing dovecot in {root}")
    settings.MAILADMIN_GUIDE = "trixie"
    database = MailDatabase.from_django(connection)
    target = server_config.Target(database.name, database.host, database.port, database.user, True)
    sql_conf = server_config.dovecot_sql_conf(password=database.password or "unused", target=target).text
    if not database.password:
        sql_conf = sql_conf.replace('  password = "unused"\n', "")
    with PrivateDovecot(database, sql_conf_text=sql_conf, extra_conf=QUOTA_ROOT_24, root=root) as dovecot:
        limits = {}
        for login in ("jane@a.example", "john@a.example"):
            result = doveadm(dovecot, "quota", "get", "-u", login)
            assert result.returncode == 0, result.stderr
            storage = next(line for line in result.stdout.decode().splitlines() if "STORAGE" in line)
            limits[login] = storage.split()[4]  # "User quota STORAGE <value> <limit> <percent>"
    # 1 GiB in the column is 1048576 KiB to Dovecot; 0 is no limit at all ("-").
    assert limits == {"jane@a.example": "1048576", "john@a.example": "-"}
