"""A private Dovecot for tests: its own config, base_dir and auth socket, reading MariaDB.

It serves one thing, the SASL auth socket Postfix asks (as the guide's Dovecot does), with the
guide's passdb query. It never reads or writes /etc/dovecot and listens on no TCP port.

    with PrivateDovecot(MailDatabase.from_django(connection)) as dovecot:
        dovecot.auth_socket  # -> smtpd_sasl_path for a private Postfix
"""

import os
import pwd
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from mailadmin.testing.server import PrivateServer

DOVECOT = "/usr/sbin/dovecot"
PASSWORD_QUERY = "SELECT password FROM virtual_users WHERE email='%u'"


@dataclass(frozen=True)
class MailDatabase:
    """Where Postfix and Dovecot find the mail tables."""

    name: str
    host: str = "127.0.0.1"
    port: int = 3306
    user: str = "root"
    password: str = ""

    @classmethod
    def from_django(cls, connection):
        settings = connection.settings_dict
        host = settings.get("HOST") or "127.0.0.1"
        # "localhost" would make both servers use the socket; the guide uses TCP to 127.0.0.1.
        return cls(
            name=settings["NAME"],
            host="127.0.0.1" if host == "localhost" else host,
            port=int(settings.get("PORT") or 3306),
            user=settings.get("USER") or "root",
            password=settings.get("PASSWORD") or "",
        )


def binaries_missing():
    return [path for path in (DOVECOT,) if not os.access(path, os.X_OK)]


def write_private(path, text, mode=0o600):
    """Write a file that may hold a database password: created with `mode`, never wider."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(path, mode)
    return path


class PrivateDovecot(PrivateServer):
    """`dovecot -c FILE -F` in a temp dir; use as a context manager (or start()/stop())."""

    workdir_prefix = "dovecot-"

    def __init__(self, database, *, socket_owner="postfix", password_query=PASSWORD_QUERY, workdir=None):
        super().__init__(workdir)
        self.database = database
        self.socket_owner = socket_owner
        self.password_query = password_query
        self.base_dir = self.workdir / "run"
        self.auth_socket = self.base_dir / "auth-postfix"
        self.config_file = self.workdir / "dovecot.conf"
        self.log_file = self.workdir / "dovecot.log"

    def _sql_conf(self):
        db = self.database
        connect = f"host={db.host} port={db.port} dbname={db.name} user={db.user}"
        if db.password:
            connect += f" password={db.password}"
        return f"driver = mysql\nconnect = {connect}\npassword_query = {self.password_query}\n"

    def _dovecot_conf(self, sql_conf):
        nobody = pwd.getpwnam("nobody")
        return f"""\
# Private test instance; see mailadmin/testing/dovecot.py.
base_dir = {self.base_dir}
state_dir = {self.workdir / "state"}
instance_name = dovecot-test-{os.getpid()}-{id(self)}
protocols = none
listen = 127.0.0.1
ssl = no
log_path = {self.log_file}
auth_mechanisms = plain login
# Postfix hands over the client's password only after STARTTLS; the socket is local.
disable_plaintext_auth = no
passdb {{
  driver = sql
  args = {sql_conf}
}}
userdb {{
  driver = static
  args = uid={nobody.pw_uid} gid={nobody.pw_gid} home={self.workdir}/home/%d/%n
}}
service auth {{
  unix_listener {self.auth_socket.name} {{
    mode = 0660
    user = {self.socket_owner}
    group = {self.socket_owner}
  }}
}}
"""

    def start(self, timeout=15):
        (self.workdir / "state").mkdir(parents=True, exist_ok=True)
        self.base_dir.mkdir(parents=True, exist_ok=True)
        # Postfix's smtpd (user postfix) must reach the socket inside the temp dir.
        os.chmod(self.workdir, 0o755)
        os.chmod(self.base_dir, 0o755)
        sql_conf = write_private(self.workdir / "dovecot-sql.conf.ext", self._sql_conf())
        write_private(self.config_file, self._dovecot_conf(sql_conf), 0o644)
        self.process = subprocess.Popen(
            [DOVECOT, "-c", str(self.config_file), "-F"],
            stdout=subprocess.DEVNULL,
            stderr=open(self.workdir / "dovecot.stderr", "w"),
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while not self.auth_socket.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = self.log_text()
                self.stop()
                raise RuntimeError(f"private Dovecot did not start:\n{log}")
            time.sleep(0.05)
        return self

    def log_text(self):
        texts = []
        for name in ("dovecot.stderr", "dovecot.log"):
            path = self.workdir / name
            if path.exists():
                texts.append(path.read_text(errors="replace"))
        return "\n".join(texts)


class QuotaUsageDovecot(PrivateDovecot):
    """The private Dovecot with mail: the panel's dovecot-sql.conf.ext as passdb and userdb (so
    the quota_rule comes from the user query) and the panel's quota-usage snippet included as
    written, its dict service writing quota_usage in the test database.

    `configure(workdir)` renders the configuration for this instance's directory: the text of
    dovecot-sql.conf.ext, and the snippet's files as [(absolute path, text)], the file to include
    first. Every path, socket and mail file stays in the temp dir. The mail processes run as the user the user query names (`mail_owner`);
    `vmail_dir` is theirs.

        with QuotaUsageDovecot(db, configure=…) as dovecot:
            dovecot.doveadm("save", "-u", "jane@a.example", input=message)
    """

    def __init__(self, database, *, configure, mail_owner="nobody", **options):
        super().__init__(database, **options)
        self.sql_conf_text, self.snippet_files = configure(self.workdir)
        self.mail_owner = pwd.getpwnam(mail_owner)
        self.vmail_dir = self.workdir / "vmail"

    def _sql_conf(self):
        return self.sql_conf_text

    def _dovecot_conf(self, sql_conf):
        conf = super()._dovecot_conf(sql_conf)
        start = conf.index("userdb {")
        end = conf.index("}", start) + 1
        return (
            conf[:start]
            + f"userdb {{\n  driver = sql\n  args = {sql_conf}\n}}"
            + conf[end:]
            + "mail_location = maildir:~/Maildir\nmailbox_list_index = yes\n"
            + f"!include {self.snippet_files[0][0]}\n"
        )

    def start(self, timeout=15):
        self.vmail_dir.mkdir(parents=True, exist_ok=True)
        os.chown(self.vmail_dir, self.mail_owner.pw_uid, self.mail_owner.pw_gid)
        internal = pwd.getpwnam("dovecot")
        for name, text in self.snippet_files:
            path = Path(name)
            path.parent.mkdir(parents=True, exist_ok=True)
            # The dict service (user dovecot) reads its SQL file, which holds a password: 0640, group dovecot.
            write_private(path, text, 0o640)
            os.chown(path, 0, internal.pw_gid)
        return super().start(timeout)

    def doveadm(self, *args, input=None, check=True):
        """`doveadm -c <this config> ARGS`, in a session of its own (never the tester's tty).

        With check, an "Error:" line fails too: doveadm exits 0 when only quota_clone's dict
        write failed (seen with a dict account lacking SELECT)."""
        result = subprocess.run(
            ["/usr/bin/doveadm", "-c", str(self.config_file), *args],
            input=input, capture_output=True, timeout=60, start_new_session=True,
        )  # fmt: skip
        if check and (result.returncode != 0 or b"Error:" in result.stderr):
            raise RuntimeError(
                f"doveadm {' '.join(args)} failed ({result.returncode}): "
                f"{result.stderr.decode(errors='replace')}\n{self.log_text()}"
            )
        return result.stdout.decode(errors="replace")
