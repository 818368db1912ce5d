"""The generated server config: what the private Postfix and Dovecot of the tests actually run.

- The .cf files `manage.py postfix-config --dir` writes are byte for byte the files the private
  Postfix harness writes for the same database (both come from aliases.postfix_config).
- On MariaDB, a private Postfix whose sender-login .cf is the panel's configured query, and a
  private Dovecot reading the generated dovecot-sql.conf.ext (passdb and userdb), give the
  verdicts `sender check` gives, and the quota_rule of user_query.
"""

import stat
import subprocess
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from aliases import server_config
from aliases.models import Alias
from aliases.sender_rights import check, lookup_config, rights_of
from conftest import require_or_skip
from mailadmin.testing import dovecot as private_dovecot
from mailadmin.testing import postfix as private_postfix
from mailadmin.testing.dovecot import MailDatabase, PrivateDovecot
from mailadmin.testing.postfix import PrivatePostfix, SubmissionSession
from users.models import Domain, Mailbox

PASSWORD = "secret"


def write_config(tmp_path, password="db-pass"):
    out = StringIO()
    call_command("postfix-config", "--dir", str(tmp_path), "--password-stdin", stdin=StringIO(password + "\n"), stdout=out)
    return out.getvalue()


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


def test_written_files_are_private_and_carry_the_given_password(tmp_path, db):
    write_config(tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(
        ["mysql-virtual-mailbox-domains.cf", "mysql-virtual-mailbox-maps.cf", "mysql-virtual-alias-maps.cf",
         "mysql-email2email.cf", "mysql-sender-login-maps.cf", "dovecot-sql.conf.ext",
         "11-mailadmin-quota-usage.conf", "dovecot-dict-sql.conf.ext"]
    )
    for path in tmp_path.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o640
        # The quota-usage snippet names the dict file; it holds no connection of its own.
        assert ("db-pass" in path.read_text()) != (path.name == "11-mailadmin-quota-usage.conf")


def test_a_password_dovecot_cannot_hold_is_refused(tmp_path, db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="white space"):
        write_config(tmp_path, password="two words")


def test_the_default_pass_scheme_follows_the_panel(settings, db):
    assert "#default_pass_scheme = MD5-CRYPT" in server_config.dovecot_sql_conf().text
    settings.MAILADMIN_DEFAULT_PASS_SCHEME = "SHA512-CRYPT"
    assert "\ndefault_pass_scheme = SHA512-CRYPT\n" in server_config.dovecot_sql_conf().text


@pytest.mark.postfix
@pytest.mark.parametrize("query", ["own", "aliases"])
def test_the_panel_files_are_the_files_the_private_postfix_runs(tmp_path, db, settings, query):
    missing = private_postfix.binaries_missing()
    require_or_skip(not missing, f"missing {', '.join(missing)}")
    settings.MAILADMIN_SENDER_LOGIN_QUERY = query
    write_config(tmp_path / "panel", password="db-pass")
    target = server_config.database_target()
    database = MailDatabase(target.dbname, target.host, target.port or 3306, target.user, "db-pass")
    harness = PrivatePostfix(database, "/nonexistent/auth", sender_login_queries={"panel": lookup_config().text},
                             workdir=tmp_path / "harness")
    harness.write_config()
    sender_file, _ = server_config.sender_login_file()
    pairs = [(name, name) for name in server_config.postfix_config.GUIDE_FILES] + [(sender_file, "sender-login-panel.cf")]
    for panel_name, harness_name in pairs:
        assert (tmp_path / "panel" / panel_name).read_text() == harness.cf_path(harness_name).read_text(), panel_name
    # And Postfix itself accepts the configuration that names them.
    result = harness.postfix("check", check=False)
    assert result.returncode == 0, result.stderr


# --- against the real servers (MariaDB) -----------------------------------------------------------


class GeneratedSqlDovecot(PrivateDovecot):
    """The harness's private Dovecot, but reading the panel's dovecot-sql.conf.ext for passdb and userdb."""

    def __init__(self, database, sql_conf_text, **options):
        super().__init__(database, **options)
        self.sql_conf_text = sql_conf_text

    def _sql_conf(self):
        return self.sql_conf_text

    def _dovecot_conf(self, sql_conf):
        conf = super()._dovecot_conf(sql_conf)
        start = conf.index("userdb {")
        end = conf.index("}", start) + 1
        return conf[:start] + f"userdb {{\n  driver = sql\n  args = {sql_conf}\n}}" + conf[end:]


@pytest.fixture
def mail_rows(transactional_db):
    a = Domain.objects.create(name="a.example")
    c = Domain.objects.create(name="c.example")
    for domain, email, quota in ((a, "jane@a.example", 1024**3), (a, "john@a.example", 0), (c, "carol@c.example", 0)):
        Mailbox.objects.create(domain=domain, email=email, password="{PLAIN}" + PASSWORD, quota=quota)
    Alias.objects.create(domain=a, source="info@a.example", destination="jane@a.example")
    Alias.objects.create(domain=a, source="info@a.example", destination="john@a.example")
    Alias.objects.create(domain=c, source="@c.example", destination="jane@a.example")
    yield
    Alias.objects.all().delete()
    Mailbox.objects.all().delete()
    Domain.objects.all().delete()


@pytest.mark.postfix
@pytest.mark.dovecot
@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("query", ["own", "aliases"])
def test_postfix_with_the_generated_files_agrees_with_sender_check(mail_rows, settings, tmp_path, query):
    if connection.vendor != "mysql":
        pytest.skip("needs MariaDB (run with TEST_DATABASE_URL=mysql://...)")
    missing = private_postfix.binaries_missing() + private_dovecot.binaries_missing()
    require_or_skip(not missing, f"missing {', '.join(missing)}")
    settings.MAILADMIN_SENDER_LOGIN_QUERY = query
    database = MailDatabase.from_django(connection)
    target = server_config.Target(database.name, database.host, database.port, database.user, True)
    sql_conf = server_config.dovecot_sql_conf(password=database.password, target=target).text
    senders = ["jane@a.example", "jane+x@a.example", "info@a.example", "info+x@a.example", "john@a.example",
               "carol@c.example", "any@c.example", "any+x@c.example", "x@outside.example", ""]
    logins = ["jane@a.example", "john@a.example", "carol@c.example"]
    with GeneratedSqlDovecot(database, sql_conf) as dovecot:
        with PrivatePostfix(database, dovecot.auth_socket, sender_login_queries={"panel": lookup_config().text}) as postfix:
            disagreements, codes = [], []
            for login in logins:
                rights = rights_of(login)
                with SubmissionSession(postfix.ports["panel"], postfix.cert_file) as session:
                    session.login(login, PASSWORD)
                    for sender in senders:
                        reply = session.try_sender(sender)
                        codes.append(reply.code)
                        decision = check(login, sender)
                        listed = sender == "" or rights.covers(sender)
                        if str(reply) != decision.postfix_reply or listed != (reply.code == 250):
                            disagreements.append(f"{login} as <{sender}>: Postfix {reply}; panel "
                                                 f"{decision.postfix_reply}, listed={listed}")
            assert not disagreements, "\n".join(disagreements)
            assert codes.count(250) >= 5 and codes.count(553) >= 5, codes
        # userdb: the generated user_query, as Dovecot runs it.
        user = subprocess.run(["doveadm", "-c", str(dovecot.config_file), "user", "jane@a.example"],
                              capture_output=True, text=True)
        assert user.returncode == 0, user.stderr + dovecot.log_text()
        assert "quota_rule\t*:bytes=1073741824" in user.stdout
        assert "home\t/var/vmail/a.example/jane" in user.stdout
