"""A private Dovecot for tests: its own config, base_dir and auth socket, reading MariaDB.

It serves one thing, the SASL auth socket Postfix asks (as the guide's Dovecot does), with the
guide's passdb query. It never reads or writes /etc/dovecot and listens on no TCP port.

    with PrivateDovecot(MailDatabase.from_django(connection)) as dovecot:
        dovecot.auth_socket  # -> smtpd_sasl_path for a private Postfix
"""

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from mailadmin.testing.server import PrivateServer
from mailadmin.testing.trixie import MACHINE

DOVECOT = "/usr/sbin/dovecot"
PASSWORD_QUERY = "SELECT password FROM virtual_users WHERE email='{user}'"


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


def binaries_missing(root=MACHINE):
    return [path for path in (DOVECOT,) if not root.executable(path)]


def write_private(path, text, mode=0o600):
    """Write a file that may hold a database password: created with `mode`, never wider."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(path, mode)
    return path


class PrivateDovecot(PrivateServer):
    """`dovecot -c FILE -F` in a temp dir; use as a context manager (or start()/stop()).

    `root` picks the binaries (this machine's Dovecot 2.3, or 2.4 from the Trixie root); the
    configuration is written in that version's syntax. `sql_conf_text`, when given, is a whole
    SQL configuration as the panel generates it (dovecot-sql.conf.ext for 2.3, the
    99-ispmail-sql.conf fragment for 2.4), used for passdb and userdb alike.
    """

    workdir_prefix = "dovecot-"

    def __init__(self, database, *, socket_owner="postfix", password_query=PASSWORD_QUERY, sql_conf_text=None,
                 extra_conf="", workdir=None, root=MACHINE):
        super().__init__(workdir, root)
        self.database = database
        self.socket_owner = socket_owner
        self.password_query = password_query.replace("{user}", root.guide.dovecot_user)
        self.sql_conf_text = sql_conf_text
        # Lines appended to dovecot.conf as written (in the root's Dovecot syntax), e.g. a quota root.
        self.extra_conf = extra_conf
        self.base_dir = self.workdir / "run"
        self.auth_socket = self.base_dir / "auth-postfix"
        self.config_file = self.workdir / "dovecot.conf"
        self.log_file = self.workdir / "dovecot.log"

    @property
    def dovecot_24(self):
        return self.root.guide.dovecot_24

    def _sql_conf(self):
        if self.sql_conf_text is not None:
            return self.sql_conf_text
        db = self.database
        if self.dovecot_24:
            password = f'\n  password = "{db.password}"' if db.password else ""
            return (
                f"sql_driver = mysql\nmysql {db.host} {{\n  port = {db.port}\n  dbname = {db.name}\n"
                f"  user = {db.user}{password}\n}}\npassdb sql {{\n  query = {self.password_query}\n}}\n"
            )
        connect = f"host={db.host} port={db.port} dbname={db.name} user={db.user}"
        if db.password:
            connect += f" password={db.password}"
        return f"driver = mysql\nconnect = {connect}\npassword_query = {self.password_query}\n"

    def _dovecot_conf(self, sql_conf):
        inside = self.root.inside
        uid, gid = self.root.uid_gid("nobody")
        if self.dovecot_24:
            return self._dovecot_24_conf(inside(sql_conf), uid, gid)
        sql_userdb = self.sql_conf_text is not None
        userdb = (
            f"  driver = sql\n  args = {inside(sql_conf)}"
            if sql_userdb
            else f"  driver = static\n  args = uid={uid} gid={gid} home={inside(self.workdir)}/home/%d/%n"
        )
        return f"""\
# Private test instance; see mailadmin/testing/dovecot.py.
base_dir = {inside(self.base_dir)}
state_dir = {inside(self.workdir / "state")}
instance_name = dovecot-test-{os.getpid()}-{id(self)}
protocols = none
listen = 127.0.0.1
ssl = no
log_path = {inside(self.log_file)}
auth_mechanisms = plain login
# Postfix hands over the client's password only after STARTTLS; the socket is local.
disable_plaintext_auth = no
# A refused login answers at once (not after 2 s): the tests refuse many on purpose.
auth_failure_delay = 0
passdb {{
  driver = sql
  args = {inside(sql_conf)}
}}
userdb {{
{userdb}
}}
service auth {{
  unix_listener {self.auth_socket.name} {{
    mode = 0660
    user = {self.socket_owner}
    group = {self.socket_owner}
  }}
}}
"""

    def _dovecot_24_conf(self, sql_conf, uid, gid):
        inside = self.root.inside
        # 2.4 takes mail_home/mail_uid/mail_gid globally (the guide's 99-ispmail-mail.conf);
        # the generated SQL fragment brings its own userdb sql, the harness's a static one.
        userdb = "" if self.sql_conf_text is not None else "userdb static {\n}\n"
        return f"""\
dovecot_config_version = 2.4.1
dovecot_storage_version = 2.4.1
# Private test instance; see mailadmin/testing/dovecot.py.
base_dir = {inside(self.base_dir)}
state_dir = {inside(self.workdir / "state")}
instance_name = dovecot-test-{os.getpid()}-{id(self)}
protocols =
listen = 127.0.0.1
ssl = no
log_path = {inside(self.log_file)}
auth_mechanisms = plain login
# Postfix hands over the client's password only after STARTTLS; the socket is local.
auth_allow_cleartext = yes
# Refused logins answer at once (not after 2 s), a temporary failure too: tests refuse many.
auth_failure_delay = 0
auth_internal_failure_delay = 0
mail_home = {inside(self.workdir)}/home/%{{user | domain}}/%{{user | username}}
mail_uid = {uid}
mail_gid = {gid}
!include {sql_conf}
{userdb}service auth {{
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
        write_private(self.config_file, self._dovecot_conf(sql_conf) + self.extra_conf, 0o644)
        self.process = subprocess.Popen(
            self.root.command([DOVECOT, "-c", self.root.inside(self.config_file), "-F"]),
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
    """The private Dovecot with mail: the panel's SQL configuration as passdb and userdb (so the
    quota limit comes from the user query) and the panel's quota-usage snippet included as
    written, its dict service writing quota_usage in the test database. Dovecot 2.3 from this
    machine, or 2.4 from the Trixie root (`root`), each with the snippet of its own syntax.

    `configure(workdir)` renders the configuration for this instance's directory: the text of
    the SQL configuration, and the snippet's files as [(absolute path, text)], the file to
    include first (paths as seen from here; the server is given them as seen inside its root).
    Every path, socket and mail file stays in the temp dir. The mail processes run as
    `mail_owner` (the user query names it on 2.3, mail_uid on 2.4); `vmail_dir` is theirs.

        with QuotaUsageDovecot(db, configure=…) as dovecot:
            dovecot.doveadm("save", "-u", "jane@a.example", input=message)
    """

    def __init__(self, database, *, configure, mail_owner="nobody", **options):
        super().__init__(database, **options)
        self.sql_conf_text, self.snippet_files = configure(self.workdir)
        self.mail_owner_ids = self.root.uid_gid(mail_owner)
        self.vmail_dir = self.workdir / "vmail"

    def _sql_conf(self):
        return self.sql_conf_text

    def _dovecot_conf(self, sql_conf):
        conf = super()._dovecot_conf(sql_conf)
        include = f"!include {self.root.inside(self.snippet_files[0][0])}\n"
        if self.dovecot_24:
            # The generated fragment brings its userdb sql; homes are the harness's mail_home.
            return conf + "mail_driver = maildir\nmail_path = ~/Maildir\n" + include
        start = conf.index("userdb {")
        end = conf.index("}", start) + 1
        return (
            conf[:start]
            + f"userdb {{\n  driver = sql\n  args = {sql_conf}\n}}"
            + conf[end:]
            + "mail_location = maildir:~/Maildir\nmailbox_list_index = yes\n"
            + include
        )

    def start(self, timeout=15):
        for directory in (self.vmail_dir, self.workdir / "home"):
            directory.mkdir(parents=True, exist_ok=True)
            os.chown(directory, *self.mail_owner_ids)
        internal_gid = self.root.gid("dovecot")
        for name, text in self.snippet_files:
            path = Path(name)
            path.parent.mkdir(parents=True, exist_ok=True)
            # The dict service (user dovecot) reads its SQL file, which holds a password: 0640, group dovecot.
            write_private(path, text, 0o640)
            os.chown(path, 0, internal_gid)
        return super().start(timeout)

    def doveadm_command(self, *args):
        return self.root.command(["/usr/bin/doveadm", "-c", self.root.inside(self.config_file), *args])

    def doveadm(self, *args, input=None, check=True):
        """`doveadm -c <this config> ARGS`, in a session of its own (never the tester's tty).

        With check, an "Error:" line fails too: doveadm exits 0 when only quota_clone's dict
        write failed (seen with a dict account lacking SELECT)."""
        result = subprocess.run(
            self.doveadm_command(*args), input=input, capture_output=True, timeout=60, start_new_session=True,
        )  # fmt: skip
        if check and (result.returncode != 0 or b"Error:" in result.stderr):
            raise RuntimeError(
                f"doveadm {' '.join(args)} failed ({result.returncode}): "
                f"{result.stderr.decode(errors='replace')}\n{self.log_text()}"
            )
        return result.stdout.decode(errors="replace")
