"""The panel behind a real Apache, as the README's Deploying section sets it up.

Debian's apache2 runs with a config of its own in a temp dir (-f, -d; /etc/apache2 is never
read or touched) on a loopback port, with TLS from a certificate ssl-cert's make-ssl-cert made
(the snakeoil kind), and the site contrib/apache/mailadmin.conf as the installer renders it,
proxying to gunicorn on a unix socket with the production settings. A browser logs in, creates
a domain, imports mailboxes and watches the progress arrive while the import is still running.
"""

import os
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from conftest import require_or_skip
from mailadmin import doctor
from mailadmin.testing import browser
from mailadmin.testing.gunicorn import PrivateGunicorn
from mailadmin.testing.postfix import free_port
from mailadmin.testing.server import PrivateServer

pytestmark = [pytest.mark.browser]

PROJECT = Path(__file__).resolve().parents[2]
APACHE = "/usr/sbin/apache2"
MAKE_SSL_CERT = "/usr/sbin/make-ssl-cert"
MODULES = "/usr/lib/apache2/modules"
ADMIN, ADMIN_PASSWORD = "alice", "a long proxy test passphrase"
# Progress is shown every 50 passwords: the first line comes while 100 are still to be hashed.
IMPORTED = 150


def missing_reason():
    for path in (APACHE, MAKE_SSL_CERT):
        if not os.access(path, os.X_OK):
            return f"{path} is not installed (apache2, ssl-cert)"
    if os.geteuid() != 0:
        return "Apache is started as root and serves as www-data"
    return browser.missing_reason()


def snakeoil_certificate(directory):
    """A self-signed certificate and key in one file, made as ssl-cert makes its snakeoil, for localhost."""
    template = Path("/usr/share/ssl-cert/ssleay.cnf").read_text()
    config = directory / "ssleay.cnf"
    config.write_text(template.replace("@HostName@", "localhost")
                      .replace("@SubjectAltName@", "DNS:localhost,IP:127.0.0.1"))
    pem = directory / "snakeoil.pem"
    subprocess.run([MAKE_SSL_CERT, str(config), str(pem)], check=True, capture_output=True, timeout=120)
    return pem


class PrivateApache(PrivateServer):
    """`apache2 -f CONF -d DIR -DFOREGROUND` with the installer's site on 127.0.0.1:port."""

    workdir_prefix = "apache-"
    modules = ["mpm_event", "authz_core", "alias", "mime", "env", "setenvif", "headers", "filter", "deflate",
               "socache_shmcb", "ssl", "proxy", "proxy_http"]

    def __init__(self, socket_path, certificate, workdir=None):
        super().__init__(workdir)
        self.socket_path = socket_path
        self.certificate = certificate
        self.port = free_port()

    def site(self):
        text = (PROJECT / "contrib/apache/mailadmin.conf").read_text()
        for name, value in (("SERVER_NAME", "localhost"), ("SOCKET", str(self.socket_path)),
                            ("CERTIFICATE", str(self.certificate)), ("CERTIFICATE_KEY", str(self.certificate))):
            text = text.replace(f"@{name}@", value)
        return text.replace("<VirtualHost *:443>", f"<VirtualHost 127.0.0.1:{self.port}>")

    def config(self):
        loads = "\n".join(f"LoadModule {name}_module {MODULES}/mod_{name}.so" for name in self.modules)
        return f"""\
ServerRoot {self.workdir}
DefaultRuntimeDir {self.workdir}
PidFile {self.workdir}/apache2.pid
Mutex file:{self.workdir}
ErrorLog {self.workdir}/error.log
LogLevel warn
User www-data
Group www-data
Listen 127.0.0.1:{self.port}
ServerName localhost
{loads}
TypesConfig /etc/mime.types
# As Debian's deflate.conf: HTML is compressed unless a site says no.
AddOutputFilterByType DEFLATE text/html text/plain text/css application/javascript
SSLSessionCache shmcb:{self.workdir}/ssl_scache(512000)
IncludeOptional {self.workdir}/site.conf
"""

    def start(self, timeout=30):
        self.workdir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.workdir, 0o755)
        (self.workdir / "site.conf").write_text(self.site())
        (self.workdir / "apache2.conf").write_text(self.config())
        self.process = subprocess.Popen(
            [APACHE, "-f", str(self.workdir / "apache2.conf"), "-d", str(self.workdir), "-DFOREGROUND"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(self.workdir / "stderr.log", "w"),
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=2).close()
                return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = self.log_text()
                    self.stop()
                    raise RuntimeError(f"Apache did not start:\n{log}")
                time.sleep(0.1)

    def log_text(self):
        return "\n".join(path.read_text(errors="replace") for path in (self.workdir / "stderr.log",
                         self.workdir / "error.log") if path.exists())

    @property
    def url(self):
        return f"https://localhost:{self.port}"


# --- the panel, with production settings, on a database of its own ------------------------------


@contextmanager
def panel_database(directory):
    """(DATABASE_URL, count of imported mailboxes) on MariaDB when the suite runs there, else SQLite."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("mysql"):
        path = directory / "panel.sqlite3"

        def count():
            with sqlite3.connect(path, timeout=30) as link:
                return link.execute("SELECT COUNT(*) FROM virtual_users WHERE email LIKE '%@proxy.example'").fetchone()[0]

        yield f"sqlite:///{path}", count
        return
    import MySQLdb

    parts = urlsplit(url)
    name = f"ma_proxy_{secrets.token_hex(3)}"
    server = {"host": parts.hostname or "127.0.0.1", "port": parts.port or 3306, "user": parts.username or "root",
              "password": parts.password or ""}
    link = MySQLdb.connect(**server, autocommit=True)
    link.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")

    def count():
        reader = MySQLdb.connect(**server, database=name, autocommit=True)
        try:
            cursor = reader.cursor()
            cursor.execute("SELECT COUNT(*) FROM virtual_users WHERE email LIKE '%%@proxy.example'")
            return cursor.fetchone()[0]
        finally:
            reader.close()

    try:
        yield urlunsplit(parts._replace(path=f"/{name}")), count
    finally:
        link.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        link.close()


def production_env(database_url, static_root):
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("MAILADMIN_", "DATABASE_URL", "TEST_DATABASE_URL", "SECRET_KEY", "DJANGO_", "CACHE_URL"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "mailadmin.settings",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": database_url,
        "ALLOWED_HOSTS": "localhost",
        "MAILADMIN_BEHIND_PROXY": "1",
        "MAILADMIN_SERVE_STATIC": "1",
        "STATIC_ROOT": str(static_root),
        # A little cheaper than production's 12, so 150 passwords hash in seconds on two cores.
        "MAILADMIN_BCRYPT_COST": "10",
        # This test is about the proxy; the second factor has tests of its own (mailadmin/staff).
        "MAILADMIN_REQUIRE_2FA": "off",
    })
    return env


def manage(env, *args, stdin=None):
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=PROJECT, env=env, input=stdin,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture
def deployed():
    require_or_skip(missing_reason() is None, missing_reason() or "")
    # Not pytest's tmp_path: www-data must reach the socket, and pytest's directories are 0700.
    directory = Path(tempfile.mkdtemp(prefix="mailadmin-proxy-"))
    os.chmod(directory, 0o755)
    try:
        with panel_database(directory) as (database_url, count):
            env = production_env(database_url, directory / "static")
            manage(env, "migrate", "--noinput", "--verbosity", "0")
            manage(env, "collectstatic", "--noinput", "--verbosity", "0")
            # The password goes in on standard input, never in an argument.
            manage(env, "shell", stdin=(
                "import sys; from django.contrib.auth.models import User\n"
                f"User.objects.create_superuser({ADMIN!r}, '', {ADMIN_PASSWORD!r})\n"))
            certificate = snakeoil_certificate(directory)
            with PrivateGunicorn(PROJECT / ".venv/bin/gunicorn", PROJECT, env, workdir=directory / "app") as app:
                with PrivateApache(app.socket, certificate, workdir=directory / "apache") as apache:
                    yield apache, app, count, certificate
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def browser_page(test_name):
    """A page that trusts the snakeoil certificate, as an admin clicks through the warning once."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=browser.CHROMIUM, args=browser.CHROMIUM_ARGS)
        try:
            page = chromium.new_context(ignore_https_errors=True).new_page()
            page.set_default_timeout(60_000)
            try:
                yield page
            except BaseException:
                browser.save_screenshot(page, test_name)
                raise
        finally:
            chromium.close()


def test_an_admin_works_through_apache_and_sees_the_import_progress_while_it_runs(deployed, request):
    apache, app, count, _ = deployed
    static_responses = []
    csv = "email,password,quota\n" + "".join(
        f"user{i}@proxy.example,Proxy-Import-Passphrase-{i},0\n" for i in range(IMPORTED))

    with browser_page(request.node.name) as page:
        page.on("response", lambda r: static_responses.append(r) if "/static/" in r.url else None)
        page.goto(f"{apache.url}/login/")
        page.get_by_label("Username").fill(ADMIN)
        page.get_by_label("Password").fill(ADMIN_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{apache.url}/dashboard/")

        # Change something: a new domain (a POST with its CSRF check, through the proxy).
        page.goto(f"{apache.url}/domains/")
        page.get_by_role("link", name="New domain").click()
        page.get_by_label("Domain name").fill("proxy.example")
        page.get_by_role("button", name="Create domain").click()
        page.wait_for_url(f"{apache.url}/domains/proxy.example/")

        # Import mailboxes with plaintext passwords: hashed on the server, progress streamed.
        page.goto(f"{apache.url}/import/")
        upload = {"name": "mailboxes.csv", "mimeType": "text/csv", "buffer": csv.encode()}
        page.locator("input[type=file]").set_input_files(upload)
        page.get_by_role("button", name="Check the file (dry run)").click()
        page.locator("input[type=file]").set_input_files(upload)  # the dry run asks for the same file again
        page.get_by_role("button", name=f"Apply {IMPORTED} mailboxes").click()
        page.locator("ol.progress li").first.wait_for()
        # The import writes in one transaction at its end: a progress line the browser shows
        # while nothing is written yet came through Apache before the response was complete.
        assert count() == 0
        page.get_by_role("status").filter(has_text=f"Imported {IMPORTED} new").wait_for()
        assert count() == IMPORTED

    assert [r.url for r in static_responses if r.url.endswith(".css")], "the page loads no stylesheet"
    for response in static_responses:
        assert response.status == 200, response.url
        assert response.headers["cache-control"] == "max-age=315360000, public, immutable", response.url


def test_doctor_sees_the_panel_answer_over_https_through_the_proxy(deployed):
    apache, app, _, certificate = deployed
    findings = list(doctor.proxy_https(doctor.LiveServer(url=apache.url + "/", ca_file=str(certificate))))
    assert [(f.subject, f.ok) for f in findings] == [("proxy", True), ("static files", True)], findings


def test_doctor_says_when_the_proxy_hides_https_from_the_panel(deployed):
    apache, app, _, certificate = deployed
    site = apache.workdir / "site.conf"
    site.write_text(site.read_text().replace('RequestHeader set X-Forwarded-Proto "https"', ""))
    subprocess.run([APACHE, "-f", str(apache.workdir / "apache2.conf"), "-d", str(apache.workdir), "-k", "graceful"],
                   check=True, capture_output=True)
    deadline = time.monotonic() + 30
    while True:
        findings = list(doctor.proxy_https(doctor.LiveServer(url=apache.url + "/", ca_file=str(certificate))))
        if findings[0].ok is False or time.monotonic() > deadline:
            break
        time.sleep(0.2)  # until the graceful restart has replaced the workers
    assert findings[0].ok is False
    assert "X-Forwarded-Proto" in findings[0].fix
