"""A private Postfix 3.7 for tests: its own config, queue and data directories in a temp dir.

It runs the guide's submission service (STARTTLS, SASL through a private Dovecot,
smtpd_sender_restrictions = reject_sender_login_mismatch, permit_sasl_authenticated, reject),
once per smtpd_sender_login_maps query, each on its own free port on 127.0.0.1, and the
guide's virtual_* maps. All mysql: files are rendered by aliases.postfix_config, the same
text the panel shows admins. /etc/postfix is only read (dynamicmaps.cf, postfix-files).

    with private_mail_servers(db) as postfix:     # or PrivateDovecot + PrivatePostfix yourself
        with SubmissionSession(postfix.ports["aliases"], postfix.cert_file) as session:
            session.login("jane@a.example", "secret")
            reply = session.try_sender("info@a.example")   # Reply(code=250, text=...)
            reply = session.try_raw_sender('"info"@a.example')  # MAIL FROM:<"info"@a.example> as written

`variants={"name": {"myorigin": "a.example"}}` adds a submission service per query with those
main.cf overrides: `postfix.port_for("aliases", "name")`.

Nothing is delivered: a session resets after RCPT TO.
"""

import os
import smtplib
import socket
import ssl
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from aliases import postfix_config
from aliases.sender_login import QUERIES
from mailadmin.testing.dovecot import PrivateDovecot, write_private
from mailadmin.testing.server import PrivateServer
from mailadmin.testing.trixie import MACHINE

POSTFIX = "/usr/sbin/postfix"
OPENSSL = "/usr/bin/openssl"
EXTERNAL_RECIPIENT = "someone@example.org"


def binaries_missing(root=MACHINE):
    # openssl runs on this machine (it only makes the test certificate); Postfix in the root.
    return [path for path in (POSTFIX,) if not root.executable(path)] + [
        path for path in (OPENSSL,) if not MACHINE.executable(path)
    ]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivatePostfix(PrivateServer):
    """`postfix -c DIR start-fg`; use as a context manager (or start()/stop())."""

    workdir_prefix = "postfix-"
    stop_timeout = 20

    myhostname = "mail.test"
    mydestination = "localhost"

    def __init__(
        self,
        database,
        sasl_socket,
        *,
        sender_login_queries=None,
        recipient_delimiter="+",
        variants=None,
        workdir=None,
        root=MACHINE,
    ):
        self.database = database
        self.sasl_socket = Path(sasl_socket)
        self.sender_login_queries = dict(sender_login_queries or QUERIES)
        self.recipient_delimiter = recipient_delimiter
        # `ports` run main.cf as written (myorigin at Postfix's default, $myhostname). Each
        # variant {name: {parameter: value}} gets a submission service per query in
        # `variant_ports[(query name, variant)]` with those `-o` overrides; one that sets
        # myorigin also gets a trivial-rewrite of its own (the rewriting happens there, the
        # lookup in smtpd, and both read myorigin).
        self.variants = {name: dict(options) for name, options in (variants or {}).items()}
        super().__init__(workdir, root)
        self.config_dir = self.workdir / "config"
        self.queue_dir = self.workdir / "queue"
        self.data_dir = self.workdir / "data"
        self.log_file = self.workdir / "maillog"
        self.cert_file = self.workdir / "config" / "cert.pem"
        self.key_file = self.workdir / "config" / "key.pem"
        self.ports = {name: free_port() for name in self.sender_login_queries}
        self.variant_ports = {
            (name, variant): free_port() for variant in self.variants for name in self.sender_login_queries
        }
        self.dovecot = None  # set by private_mail_servers()

    @property
    def local_domains(self):
        """What resolve_local() calls local: $mydestination and [inet_interfaces] (not $myorigin)."""
        return (self.mydestination, "[127.0.0.1]")

    # --- files ----------------------------------------------------------------------------

    def cf_path(self, file_name):
        return self.config_dir / file_name

    def write_mysql_cf(self, file_name, query):
        db = self.database
        text = postfix_config.render_postfix_mysql_cf(
            query,
            user=db.user,
            password=db.password,
            hosts=postfix_config.mysql_hosts(db.host, db.port),
            dbname=db.name,
        )
        path = write_private(self.cf_path(file_name), text, 0o640)
        # Postfix daemons read maps as root before they drop privileges; group postfix lets
        # `postmap -q` style tools running as postfix read them too, as in the guide.
        os.chown(path, 0, self.root.gid("postfix"))
        return path

    def sender_login_cf(self, name):
        return self.cf_path(f"sender-login-{name}.cf")

    def guide_files(self):
        """The guide's table files under the edition's names (mysql-*.cf, or mariadb-*.cf on Trixie)."""
        return postfix_config.guide_files(self.root.guide)

    def _main_cf(self):
        inside = self.root.inside
        names = {query: name for name, query in self.guide_files().items()}

        def cf(stem_query):
            return inside(self.cf_path(names[stem_query]))

        return f"""\
# Private test instance; see mailadmin/testing/postfix.py.
compatibility_level = 3.6
queue_directory = {inside(self.queue_dir)}
data_directory = {inside(self.data_dir)}
mail_owner = postfix
setgid_group = postdrop
myhostname = {self.myhostname}
mydestination = {self.mydestination}
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
maillog_file = /dev/stdout
alias_maps =
alias_database =
biff = no
recipient_delimiter = {self.recipient_delimiter}
virtual_mailbox_domains = mysql:{cf(postfix_config.MAILBOX_DOMAINS_QUERY)}
virtual_mailbox_maps = mysql:{cf(postfix_config.MAILBOX_MAPS_QUERY)}
virtual_alias_maps = mysql:{cf(postfix_config.ALIAS_MAPS_QUERY)}, mysql:{cf(postfix_config.EMAIL2EMAIL_QUERY)}
# Nothing is ever delivered: sessions reset after RCPT TO, and anything queued is discarded.
# (An error: transport would make smtpd reject the recipient and hide the sender verdict.)
virtual_transport = discard:test instance
default_transport = discard:test instance
relay_transport = discard:test instance
smtpd_sasl_type = dovecot
smtpd_sasl_path = {inside(self.sasl_socket)}
smtpd_tls_cert_file = {inside(self.cert_file)}
smtpd_tls_key_file = {inside(self.key_file)}
# A test asks many senders in one session; Postfix would otherwise slow down and hang up.
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 10000
smtpd_hard_error_limit = 10000
smtpd_junk_command_limit = 10000
# Every accepted RCPT opens a queue file that RSET throws away, so qmgr never hands back
# flow-control tokens and cleanup would wait in_flow_delay (1s) per message.
in_flow_delay = 0
"""

    def port_for(self, query_name, variant=None):
        """The submission port of one query, as main.cf has it or under one of `variants`."""
        return self.ports[query_name] if variant is None else self.variant_ports[(query_name, variant)]

    def variant_value(self, variant, parameter, default):
        return self.variants.get(variant, {}).get(parameter, default) if variant else default

    def _rewrite_service(self, variant):
        return f"rewrite-{list(self.variants).index(variant)}"

    def _master_cf(self):
        lines = []
        services = [(name, port, None) for name, port in self.ports.items()]
        services += [(name, port, variant) for (name, variant), port in self.variant_ports.items()]
        for variant, options in self.variants.items():
            if "myorigin" in options:
                lines += [f"{self._rewrite_service(variant)} unix - - n - - trivial-rewrite",
                          f"  -o myorigin={options['myorigin']}"]
        for name, port, variant in services:
            lines.append(f"127.0.0.1:{port} inet n - n - - smtpd")
            for parameter, value in self.variants.get(variant, {}).items():
                lines.append(f"  -o {parameter}={value}")
            if "myorigin" in self.variants.get(variant, {}):
                lines.append(f"  -o rewrite_service_name={self._rewrite_service(variant)}")
            lines += [
                f"  -o syslog_name=postfix/submission-{name}",
                "  -o smtpd_tls_security_level=encrypt",
                "  -o smtpd_sasl_auth_enable=yes",
                "  -o smtpd_tls_auth_only=yes",
                f"  -o smtpd_sender_login_maps=mysql:{self.root.inside(self.sender_login_cf(name))}",
                "  -o smtpd_sender_restrictions=reject_sender_login_mismatch,permit_sasl_authenticated,reject",
                "  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject",
            ]
        services = [
            "cleanup unix n - n - 0 cleanup",
            "qmgr unix n - n 300 1 qmgr",
            "tlsmgr unix - - n 1000? 1 tlsmgr",
            "rewrite unix - - n - - trivial-rewrite",
            "bounce unix - - n - 0 bounce",
            "defer unix - - n - 0 bounce",
            "trace unix - - n - 0 bounce",
            "verify unix - - n - 1 verify",
            "flush unix n - n 1000? 0 flush",
            "proxymap unix - - n - - proxymap",
            "error unix - - n - - error",
            "retry unix - - n - - error",
            "discard unix - - n - - discard",
            "showq unix n - n - - showq",
            "anvil unix - - n - 1 anvil",
            "scache unix - - n - 1 scache",
            "postlog unix-dgram n - n - 1 postlogd",
        ]
        return "\n".join(lines + services) + "\n"

    def _make_certificate(self):
        subprocess.run(
            [OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
             "-keyout", str(self.key_file), "-out", str(self.cert_file)],
            check=True, capture_output=True,
        )
        os.chmod(self.key_file, 0o600)

    def write_config(self):
        for path in (self.config_dir, self.queue_dir):
            path.mkdir(parents=True, exist_ok=True)
            os.chmod(path, 0o755)
        os.chmod(self.workdir, 0o755)
        self.data_dir.mkdir(exist_ok=True)
        os.chown(self.data_dir, *self.root.uid_gid("postfix"))
        os.chmod(self.data_dir, 0o700)
        (self.config_dir / "main.cf").write_text(self._main_cf())
        (self.config_dir / "master.cf").write_text(self._master_cf())
        for file_name, query in self.guide_files().items():
            self.write_mysql_cf(file_name, query)
        for name, query in self.sender_login_queries.items():
            self.write_mysql_cf(self.sender_login_cf(name).name, query)
        if not self.cert_file.exists():
            self._make_certificate()

    # --- running ----------------------------------------------------------------------------

    def postfix(self, *args, check=True):
        return subprocess.run(
            self.root.command([POSTFIX, "-c", self.root.inside(self.config_dir), *args]),
            capture_output=True, text=True, check=check,
        )

    def start(self, timeout=30):
        self.write_config()
        # create-missing makes the queue's subdirectories with Postfix's owners and modes.
        self.postfix("check")
        self.process = subprocess.Popen(
            self.root.command([POSTFIX, "-c", self.root.inside(self.config_dir), "start-fg"]),
            stdout=open(self.log_file, "w"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        for port in [*self.ports.values(), *self.variant_ports.values()]:
            while not self._answers(port):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = self.log_text()
                    self.stop()
                    raise RuntimeError(f"private Postfix did not start:\n{log}")
                time.sleep(0.1)
        return self

    @staticmethod
    def _answers(port):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                return sock.recv(4).startswith(b"220")
        except OSError:
            return False

    def reload(self):
        self.write_config()
        self.postfix("reload")

    def log_text(self):
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def ask_to_stop(self):
        self.postfix("stop", check=False)


@contextmanager
def private_mail_servers(database, root=MACHINE, **postfix_options):
    """A private Dovecot and a private Postfix using it, from one root; yields the PrivatePostfix."""
    with PrivateDovecot(database, root=root) as dovecot:
        with PrivatePostfix(database, dovecot.auth_socket, root=root, **postfix_options) as postfix:
            postfix.dovecot = dovecot
            yield postfix


# --- a submission client ---------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    code: int
    text: str

    def __str__(self):
        return f"{self.code} {self.text}"


class SubmissionSession:
    """One SMTP session on a private submission port: STARTTLS (verified), then AUTH PLAIN."""

    def __init__(self, port, cert_file, *, host="127.0.0.1", timeout=20):
        self.port = port
        self.host = host
        self.context = ssl.create_default_context(cafile=str(cert_file))
        self.timeout = timeout
        self.smtp = None

    def __enter__(self):
        self.smtp = smtplib.SMTP(self.host, self.port, local_hostname="client.test", timeout=self.timeout)
        self.smtp.starttls(context=self.context)
        self.smtp.ehlo("client.test")
        return self

    def __exit__(self, *exc):
        try:
            self.smtp.quit()
        except smtplib.SMTPException:
            self.smtp.close()

    def login(self, user, password):
        """AUTH PLAIN; raises smtplib.SMTPAuthenticationError when Dovecot says no."""
        self.smtp.user, self.smtp.password = user, password
        code, text = self.smtp.auth("PLAIN", self.smtp.auth_plain)
        return Reply(code, text.decode())

    def try_raw_sender(self, argument, recipient=EXTERNAL_RECIPIENT):
        """`MAIL FROM:<argument>` exactly as given (smtplib would re-quote it), then as try_sender."""
        try:
            code, text = self.smtp.docmd(f"MAIL FROM:<{argument}>")
            if code < 400:
                code, text = self.smtp.rcpt(recipient)
        finally:
            self.smtp.rset()
        return Reply(code, text.decode(errors="replace"))

    def try_sender(self, sender, recipient=EXTERNAL_RECIPIENT):
        """MAIL FROM:<sender>, RCPT TO:<recipient>, RSET: the first reply that is not 2xx, else RCPT's.

        With smtpd_delay_reject=yes (the default) the sender restrictions answer at RCPT TO.
        """
        try:
            code, text = self.smtp.mail(sender)
            if code < 400:
                code, text = self.smtp.rcpt(recipient)
        finally:
            self.smtp.rset()
        return Reply(code, text.decode(errors="replace"))


def submission_reply(port, cert_file, login, password, sender, recipient=EXTERNAL_RECIPIENT):
    """Postfix's answer for one (login, sender) pair in a fresh session; login None = no AUTH."""
    with SubmissionSession(port, cert_file) as session:
        if login is not None:
            session.login(login, password)
        return session.try_sender(sender, recipient)
