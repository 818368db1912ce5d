"""A private MariaDB server for tests: its own datadir, socket and port in a temp dir.

Used to run the Trixie edition's MariaDB 11.8 (from the Trixie root) beside the machine's 10.11,
so adoption can be proven on a database the Trixie guide created and on a Bookworm database
dumped and restored there. It never reads /etc/mysql (--no-defaults) and listens on 127.0.0.1 only.

    with PrivateMariaDB(root=trixie_root()) as server:
        MySQLdb.connect(host="127.0.0.1", port=server.port, user="root")
"""

import os
import socket
import subprocess
import time

from mailadmin.testing.server import PrivateServer
from mailadmin.testing.trixie import MACHINE

MARIADBD = "/usr/sbin/mariadbd"
INSTALL_DB = "/usr/bin/mariadb-install-db"


def binaries_missing(root=MACHINE):
    return [path for path in (MARIADBD, INSTALL_DB) if not root.executable(path)]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateMariaDB(PrivateServer):
    workdir_prefix = "mariadb-"
    stop_timeout = 30

    def __init__(self, *, workdir=None, root=MACHINE):
        super().__init__(workdir, root)
        self.datadir = self.workdir / "data"
        self.socket = self.workdir / "mysqld.sock"
        self.log_file = self.workdir / "error.log"
        self.port = free_port()

    def _options(self):
        inside = self.root.inside
        return [
            "--no-defaults",
            f"--datadir={inside(self.datadir)}",
            f"--socket={inside(self.socket)}",
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            "--user=mysql",
            f"--log-error={inside(self.log_file)}",
            f"--pid-file={inside(self.workdir / 'mariadbd.pid')}",
            # mariadb-install-db --auth-root-authentication-method=normal makes root@localhost and
            # root@127.0.0.1 without a password: the tests connect as root over TCP, as they do to
            # the machine's server.
            "--skip-name-resolve",
        ]

    def start(self, timeout=60):
        self.datadir.mkdir(parents=True, exist_ok=True)
        self.workdir.chmod(0o755)
        uid, gid = self.root.uid_gid("mysql")
        for path in (self.workdir, self.datadir):
            os.chown(path, uid, gid)
        inside = self.root.inside
        subprocess.run(
            self.root.command([INSTALL_DB, "--no-defaults", f"--datadir={inside(self.datadir)}", "--user=mysql",
                               "--auth-root-authentication-method=normal", "--skip-test-db"]),
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip
        self.process = subprocess.Popen(
            self.root.command([MARIADBD, *self._options()]),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = self.log_text()
                self.stop()
                raise RuntimeError(f"private MariaDB did not start:\n{log}")
            time.sleep(0.2)
        return self

    def _answers(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2):
                return True
        except OSError:
            return False

    def version(self):
        result = subprocess.run(
            self.root.command(["mariadb", "--no-defaults", f"--socket={self.root.inside(self.socket)}", "-uroot",
                               "-N", "-e", "SELECT VERSION()"]),
            check=True, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        return result.stdout.strip()

    def log_text(self):
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
