"""gunicorn serving the panel on a unix socket in a temp dir, as mailadmin.service does, for the
deployment tests; and an HTTP client for such a socket.

    with PrivateGunicorn(".venv/bin/gunicorn", project_dir, env) as app:
        response = unix_request(app.socket, "/login/", host="mail.test")
"""

import http.client
import os
import socket
import subprocess
import time
from dataclasses import dataclass

from mailadmin.testing.server import PrivateServer


class PrivateGunicorn(PrivateServer):
    workdir_prefix = "gunicorn-"

    def __init__(self, gunicorn, project_dir, env, workdir=None):
        super().__init__(workdir)
        self.gunicorn = str(gunicorn)
        self.project_dir = project_dir
        self.env = env
        self.socket = self.workdir / "gunicorn.sock"
        self.log_file = self.workdir / "gunicorn.log"

    def start(self, timeout=60):
        # A proxy running as www-data must reach the socket, as it reaches /run/mailadmin.sock.
        self.workdir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.workdir, 0o755)
        self.process = subprocess.Popen(
            [self.gunicorn, "mailadmin.wsgi", "--bind", f"unix:{self.socket}", "--workers", "2",
             "--timeout", "600", "--umask", "0"],
            cwd=self.project_dir, env=self.env, stdin=subprocess.DEVNULL,
            stdout=open(self.log_file, "w"), stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = self.log_text()
                self.stop()
                raise RuntimeError(f"gunicorn did not start:\n{log}")
            time.sleep(0.1)
        return self

    def _answers(self):
        try:
            with socket.socket(socket.AF_UNIX) as sock:
                sock.connect(str(self.socket))
            return True
        except OSError:
            return False

    def log_text(self):
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.path = str(path)

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict
    body: bytes


def unix_request(socket_path, path, *, host, headers=None):
    """GET path over the socket, as a proxy that terminated TLS would forward it."""
    connection = _UnixConnection(socket_path)
    try:
        connection.request("GET", path, headers={"Host": host, "X-Forwarded-Proto": "https", **(headers or {})})
        response = connection.getresponse()
        return Response(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()
