"""`manage.py doctor` against the private Postfix and Dovecot of the suite, on the test MariaDB.

Postfix reads the mail tables with an account of its own that may only SELECT, as in the guide;
each test starts from a configuration that matches the panel and changes one thing.
"""

import secrets
from contextlib import contextmanager
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from aliases.guides import BOOKWORM
from aliases.sender_login import ALIASES_QUERY, OWN_QUERY
from conftest import require_or_skip
from mailadmin import doctor
from mailadmin.testing import dovecot as private_dovecot
from mailadmin.testing import postfix as private_postfix
from mailadmin.testing.dovecot import MailDatabase, PrivateDovecot
from mailadmin.testing.postfix import PrivatePostfix
from mailadmin.testing.trixie import missing_reason, trixie_root

pytestmark = [pytest.mark.postfix, pytest.mark.dovecot, pytest.mark.mariadb]


def root_link():
    """A connection of its own for CREATE USER and GRANT, whose implicit commits must not end the test's transaction."""
    import MySQLdb

    db = MailDatabase.from_django(connection)
    return MySQLdb.connect(host=db.host, port=db.port, user=db.user, password=db.password, autocommit=True)


@pytest.fixture
def postfix_account(mariadb):
    """Postfix's read-only account (the guide's `mailserver` user), for this test alone."""
    db = MailDatabase.from_django(connection)
    account = MailDatabase(db.name, db.host, db.port, f"ma_doctor_{secrets.token_hex(3)}", secrets.token_urlsafe(18))
    link = root_link()
    cursor = link.cursor()
    cursor.execute("CREATE USER %s@'127.0.0.1' IDENTIFIED BY %s", (account.user, account.password))
    cursor.execute(f"GRANT SELECT ON `{db.name}`.* TO %s@'127.0.0.1'", (account.user,))
    try:
        yield account
    finally:
        cursor.execute("DROP USER %s@'127.0.0.1'", (account.user,))
        link.close()


class SchemeDovecot(PrivateDovecot):
    """The private Dovecot with a default_pass_scheme in its SQL passdb."""

    def __init__(self, database, scheme, **options):
        super().__init__(database, **options)
        self.scheme = scheme

    def _sql_conf(self):
        return super()._sql_conf() + f"default_pass_scheme = {self.scheme}\n"


@contextmanager
def mail_servers(account, *, sender_query=ALIASES_QUERY, delimiter="+", scheme=None,
                 password_query=private_dovecot.PASSWORD_QUERY):
    missing = private_postfix.binaries_missing() + private_dovecot.binaries_missing()
    require_or_skip(not missing, f"missing {', '.join(missing)}")
    dovecot = (SchemeDovecot(account, scheme, password_query=password_query) if scheme
               else PrivateDovecot(account, password_query=password_query))
    with dovecot:
        with PrivatePostfix(account, dovecot.auth_socket, sender_login_queries={"submission": sender_query},
                            recipient_delimiter=delimiter) as postfix:
            yield postfix, dovecot


@pytest.fixture
def production_settings(settings):
    """The panel as the installer configures it: `check --deploy` is clean."""
    settings.SECURE_SSL_REDIRECT = True
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = settings.SECURE_HSTS_PRELOAD = True
    settings.MAILADMIN_SENDER_LOGIN_QUERY = "aliases"
    settings.MAILADMIN_RECIPIENT_DELIMITER = "+"
    settings.MAILADMIN_DEFAULT_PASS_SCHEME = "MD5"
    # The private Postfix's mydestination, and its myorigin (Postfix's default, $myhostname).
    settings.MAILADMIN_LOCAL_DOMAINS = [PrivatePostfix.mydestination]
    settings.MAILADMIN_MYORIGIN = PrivatePostfix.myhostname
    return settings


def run_doctor(postfix, dovecot, *extra):
    out = StringIO()
    code = 0
    try:
        call_command("doctor", "--postfix-dir", str(postfix.config_dir), "--dovecot-config", str(dovecot.config_file),
                     *extra, stdout=out)
    except SystemExit as exit:
        code = exit.code
    return code, out.getvalue().splitlines()


def failures(lines):
    return [line for line in lines if line.startswith("FAIL")]


def test_a_matching_server_is_all_green(production_settings, postfix_account):
    with mail_servers(postfix_account) as (postfix, dovecot):
        code, lines = run_doctor(postfix, dovecot)
    assert failures(lines) == []
    assert code == 0
    assert lines[-1] == "All is well."
    checked = "\n".join(lines)
    for subject in ("postfix recipient_delimiter", "postfix smtpd_sender_login_maps", "postfix virtual_alias_maps",
                    "postfix myorigin", "postfix mydestination",
                    "postfix database grants", "dovecot password_query", "dovecot default_pass_scheme",
                    "panel database grants", "indexes", "kept figures", "check --deploy"):
        assert f"ok   {subject}" in checked, subject


def test_another_delimiter_is_reported_with_the_setting_that_matches_it(production_settings, postfix_account):
    with mail_servers(postfix_account, delimiter="-") as (postfix, dovecot):
        code, lines = run_doctor(postfix, dovecot)
    assert code == 1
    [line] = failures(lines)
    assert "Postfix has '-', the panel assumes '+'" in line
    assert 'fix: put MAILADMIN_RECIPIENT_DELIMITER="-" into /etc/mailadmin/mailadmin.env' in line


def test_the_own_mailbox_only_query_is_reported_and_offered_as_the_setting(production_settings, postfix_account):
    with mail_servers(postfix_account, sender_query=OWN_QUERY) as (postfix, dovecot):
        code, lines = run_doctor(postfix, dovecot)
        suggested = StringIO()
        call_command("doctor", "--postfix-dir", str(postfix.config_dir), "--suggest-settings", stdout=suggested)
    assert code == 1
    [line] = failures(lines)
    assert "postfix smtpd_sender_login_maps (master.cf 127.0.0.1:" in line
    assert f"Postfix runs {OWN_QUERY!r}" in line
    assert 'fix: put MAILADMIN_SENDER_LOGIN_QUERY="own" into' in line
    suggested_lines = suggested.getvalue().splitlines()[1:]
    assert 'MAILADMIN_RECIPIENT_DELIMITER="+"' in suggested_lines
    assert 'MAILADMIN_SENDER_LOGIN_QUERY="own"' in suggested_lines
    assert 'MAILADMIN_LOCAL_DOMAINS="localhost"' in suggested_lines


def test_another_mydestination_is_reported_with_the_setting_that_matches_it(production_settings, postfix_account):
    production_settings.MAILADMIN_LOCAL_DOMAINS = []
    with mail_servers(postfix_account) as (postfix, dovecot):
        code, lines = run_doctor(postfix, dovecot)
    assert code == 1
    [line] = failures(lines)
    assert "postfix mydestination: Postfix has localhost, the panel assumes (empty)" in line
    assert 'fix: put MAILADMIN_LOCAL_DOMAINS="localhost" into' in line


def test_another_myorigin_is_reported(production_settings, postfix_account):
    production_settings.MAILADMIN_MYORIGIN = "elsewhere.example"
    with mail_servers(postfix_account) as (postfix, dovecot):
        code, lines = run_doctor(postfix, dovecot)
    assert code == 1
    [line] = failures(lines)
    assert "postfix myorigin: Postfix appends @" in line and "the panel assumes @elsewhere.example" in line


def test_a_different_default_pass_scheme_is_reported(production_settings, postfix_account):
    with mail_servers(postfix_account, scheme="SHA512-CRYPT") as (postfix, dovecot):
        code, lines = run_doctor(postfix, dovecot)
    assert code == 1
    [line] = failures(lines)
    assert "Dovecot reads a hash without a {SCHEME} prefix as SHA512-CRYPT, the panel as MD5" in line
    assert 'fix: put MAILADMIN_DEFAULT_PASS_SCHEME="SHA512-CRYPT" into' in line


def test_a_virtual_map_on_another_table_is_reported(production_settings, postfix_account):
    with mail_servers(postfix_account) as (postfix, dovecot):
        postfix.write_mysql_cf("mysql-virtual-alias-maps.cf", "SELECT goto FROM alias WHERE address='%s'")
        code, lines = run_doctor(postfix, dovecot)
    assert code == 1
    [line] = failures(lines)
    assert line.startswith("FAIL postfix virtual_alias_maps: ")
    assert "mysql-virtual-alias-maps.cf runs \"SELECT goto FROM alias WHERE address='%s'\"" in line
    assert "no table runs \"SELECT destination FROM virtual_aliases WHERE source='%s'\"" in line


def test_a_password_query_on_another_column_is_reported(production_settings, postfix_account):
    query = "SELECT pass AS password FROM virtual_users WHERE email='%u'"
    with mail_servers(postfix_account, password_query=query) as (postfix, dovecot):
        code, lines = run_doctor(postfix, dovecot)
    assert code == 1
    [line] = failures(lines)
    assert line.startswith("FAIL dovecot password_query (")
    assert "fix: password_query = SELECT email AS user, password FROM virtual_users WHERE email='%u'" in line


@pytest.fixture(params=[("virtual_aliases", "virtual_aliases_destination", "(destination)"),
                        ("virtual_users", "virtual_users_password_scheme", "(password(20))"),
                        ("virtual_aliases", "virtual_aliases_destination_domain", "(destination_domain, domain_id)")],
                ids=["a Django index", "a prefix index", "an index on a generated column"])
def without_an_index(request, transactional_db, mariadb):
    """A mail table without one of the panel's indexes; put back afterwards whatever the test did.

    Outside a test transaction: one would hold the table's metadata lock and block the CREATE INDEX."""
    table, name, columns = request.param
    link = root_link()
    cursor = link.cursor()
    qualified = f"`{connection.settings_dict['NAME']}`.`{table}`"
    cursor.execute(f"DROP INDEX {name} ON {qualified}")
    try:
        yield table, name
    finally:
        cursor.execute(f"SHOW INDEX FROM {qualified} WHERE Key_name = '{name}'")
        if not cursor.fetchall():
            cursor.execute(f"CREATE INDEX {name} ON {qualified} {columns}")
        link.close()


def test_a_missing_index_is_reported_with_the_sql_that_makes_it(production_settings, postfix_account, without_an_index):
    table, name = without_an_index
    with mail_servers(postfix_account) as (postfix, dovecot):
        code, lines = run_doctor(postfix, dovecot)
        [line] = failures(lines)
        assert code == 1
        assert line.startswith(f"FAIL index {name}: missing on {table} -- fix: ")
        assert "CREATE INDEX" in line or f"ADD INDEX IF NOT EXISTS `{name}`" in line
        link = root_link()
        link.select_db(connection.settings_dict["NAME"])
        link.cursor().execute(line.split(" -- fix: ", 1)[1])
        link.close()
        code, lines = run_doctor(postfix, dovecot)
    assert (code, failures(lines)) == (0, [])


def test_a_write_grant_for_postfixs_account_is_reported_with_the_revoke(production_settings, postfix_account):
    link = root_link()
    link.cursor().execute(f"GRANT INSERT, UPDATE ON `{postfix_account.name}`.* TO %s@'127.0.0.1'",
                          (postfix_account.user,))
    with mail_servers(postfix_account) as (postfix, dovecot):
        code, lines = run_doctor(postfix, dovecot)
        [line] = failures(lines)
        assert code == 1
        assert f"{postfix_account.user}@127.0.0.1 may INSERT, UPDATE on the mail tables; Postfix only reads" in line
        fix = line.split(" -- fix: ", 1)[1]
        assert fix.startswith(f"REVOKE ALL PRIVILEGES, GRANT OPTION FROM '{postfix_account.user}'@'127.0.0.1';")
        for statement in filter(None, (part.strip() for part in fix.split(";"))):
            link.cursor().execute(statement)
        code, lines = run_doctor(postfix, dovecot)
    link.close()
    assert (code, failures(lines)) == (0, [])


def test_panel_settings_that_fail_check_deploy_are_reported(settings, postfix_account):
    settings.SESSION_COOKIE_SECURE = False
    with mail_servers(postfix_account) as (postfix, dovecot):
        code, lines = run_doctor(postfix, dovecot)
    assert code == 1
    assert any(line.startswith("FAIL check --deploy security.W012") for line in failures(lines))


def test_an_unreadable_postfix_config_is_a_failure_that_says_how_to_point_at_it(db, tmp_path):
    checks = [doctor.postfix_recipient_delimiter]
    [finding] = doctor.run_checks(doctor.LiveServer(postfix_dir=str(tmp_path)), checks)
    assert finding.ok is False
    assert "--postfix-dir DIR" in finding.fix


@pytest.mark.parametrize(
    "grants, table, expected",
    [
        (["GRANT SELECT ON `mailserver`.* TO `m`@`h`"], "virtual_users", {"SELECT"}),
        (["GRANT SELECT ON `other`.* TO `m`@`h`"], "virtual_users", set()),
        (["GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION"], "virtual_users", {"ALL"}),
        (["GRANT SELECT, INSERT ON `mail\\_server`.* TO `m`@`h`"], "virtual_users", set()),
        (["GRANT SELECT, INSERT ON `mail%`.* TO `m`@`h`"], "virtual_users", {"SELECT", "INSERT"}),
        (["GRANT UPDATE (`password`) ON `mailserver`.`virtual_users` TO `m`@`h`"], "virtual_users", {"UPDATE"}),
        (["GRANT DELETE ON `mailserver`.`virtual_aliases` TO `m`@`h`"], "virtual_users", set()),
    ],
)
def test_grant_lines_are_read_with_mariadbs_wildcards(grants, table, expected):
    assert doctor.privileges_on(grants, "mailserver", table) == expected


@pytest.mark.parametrize("value", ["+", "SELECT x FROM t WHERE a='%s'", 'say "$HOME" `x` \\'])
def test_suggested_env_lines_read_back_as_the_value_in_a_shell(value, tmp_path):
    import subprocess

    env_file = tmp_path / "mailadmin.env"
    env_file.write_text(doctor.env_line("VALUE", value) + "\n")
    result = subprocess.run(["bash", "-c", f'set -a; . "{env_file}"; printf %s "$VALUE"'], capture_output=True, text=True)
    assert result.stdout == value


# --- the edition of the guide ------------------------------------------------------------------


def edition_lines(lines):
    return [line for line in lines if " guide edition: " in line]


def test_this_machines_postfix_and_dovecot_are_the_bookworm_edition(production_settings, postfix_account):
    production_settings.MAILADMIN_GUIDE = "bookworm"
    with mail_servers(postfix_account) as (postfix, dovecot):
        code, lines = run_doctor(postfix, dovecot)
    [line] = edition_lines(lines)
    assert line.startswith("ok   guide edition: Postfix 3.7."), line
    assert ", Dovecot 2.3." in line and "mysql-*.cf maps: the bookworm edition, as MAILADMIN_GUIDE" in line
    assert code == 0


def test_a_trixie_panel_pointed_at_a_bookworm_server_is_drift_with_the_setting_that_fixes_it(
        production_settings, postfix_account):
    production_settings.MAILADMIN_GUIDE = "trixie"
    with mail_servers(postfix_account) as (postfix, dovecot):
        code, lines = run_doctor(postfix, dovecot)
        suggested = StringIO()
        call_command("doctor", "--postfix-dir", str(postfix.config_dir), "--suggest-settings", stdout=suggested)
    assert code == 1
    [line] = failures(lines)
    assert line.startswith("FAIL guide edition: Postfix 3.7.")
    assert ("the server follows the bookworm edition (Debian 12), the panel writes configuration for trixie "
            "(Debian 13)") in line
    assert line.endswith('fix: put MAILADMIN_GUIDE="bookworm" into /etc/mailadmin/mailadmin.env and restart mailadmin')
    assert 'MAILADMIN_GUIDE="bookworm"' in suggested.getvalue().splitlines()


class UpgradedPostfix(PrivatePostfix):
    """A server upgraded from Debian 12 to 13 in place: Trixie's Postfix, Bookworm's mysql-*.cf files."""

    def guide_files(self):
        return private_postfix.postfix_config.guide_files(BOOKWORM)


@contextmanager
def trixie_servers(account, postfix_class=PrivatePostfix):
    """The private Postfix 3.10 and Dovecot 2.4 of the Trixie root, and a LiveServer whose tools run in it."""
    require_or_skip(missing_reason() is None, missing_reason() or "")
    root = trixie_root()
    missing = private_postfix.binaries_missing(root) + private_dovecot.binaries_missing(root)
    require_or_skip(not missing, f"missing {', '.join(missing)} in {root}")
    with PrivateDovecot(account, root=root) as dovecot:
        with postfix_class(account, dovecot.auth_socket, root=root) as postfix:
            yield doctor.LiveServer(postfix_dir=root.inside(postfix.config_dir),
                                    dovecot_config=root.inside(dovecot.config_file),
                                    command_prefix=root.command([]), files_root=str(root.path))


def test_a_bookworm_panel_pointed_at_a_trixie_server_is_drift_with_the_setting_that_fixes_it(
        production_settings, postfix_account):
    production_settings.MAILADMIN_GUIDE = "bookworm"
    with trixie_servers(postfix_account) as server:
        [finding] = doctor.run_checks(server, [doctor.guide_edition])
        suggested = doctor.suggested_settings(server)
    assert finding.ok is False
    assert finding.detail.startswith("Postfix 3.10."), finding.detail
    assert ", Dovecot 2.4." in finding.detail and "mariadb-*.cf maps: the server follows the trixie edition" in finding.detail
    assert finding.fix == 'put MAILADMIN_GUIDE="trixie" into /etc/mailadmin/mailadmin.env and restart mailadmin'
    assert 'MAILADMIN_GUIDE="trixie"' in suggested


def test_a_trixie_panel_on_a_trixie_server_is_green(production_settings, postfix_account):
    production_settings.MAILADMIN_GUIDE = "trixie"
    with trixie_servers(postfix_account) as server:
        [finding] = doctor.run_checks(server, [doctor.guide_edition])
    assert finding.ok is True, finding.line()
    assert finding.detail.endswith("mariadb-*.cf maps: the trixie edition, as MAILADMIN_GUIDE")


def test_a_server_upgraded_to_trixie_is_trixie_though_its_maps_keep_bookworms_names(
        production_settings, postfix_account):
    production_settings.MAILADMIN_GUIDE = "bookworm"
    with trixie_servers(postfix_account, UpgradedPostfix) as server:
        [finding] = doctor.run_checks(server, [doctor.guide_edition])
        production_settings.MAILADMIN_GUIDE = "trixie"
        [after_the_fix] = doctor.run_checks(server, [doctor.guide_edition])
    assert finding.ok is False and finding.fix.startswith('put MAILADMIN_GUIDE="trixie"')
    assert after_the_fix.ok is True
    assert "the maps keep bookworm's mysql-*.cf names; the panel names them mariadb-*.cf" in after_the_fix.detail


@pytest.mark.parametrize(
    "version, tool, expected",
    [
        ("3.7.11", "postfix", "bookworm"),
        ("3.8.6", "postfix", "bookworm"),  # bookworm-backports: still Bookworm's configuration
        ("3.10.5", "postfix", "trixie"),
        ("2.3.19.1", "dovecot", "bookworm"),
        ("2.4.1-4", "dovecot", "trixie"),
        ("2.2.36", "dovecot", None),
    ],
)
def test_a_version_names_the_newest_edition_it_has_reached(version, tool, expected):
    guide = doctor.edition_by(version, lambda g: getattr(g, f"{tool}_version"))
    assert (guide.name if guide else None) == expected
