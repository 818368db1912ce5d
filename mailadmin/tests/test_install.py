"""scripts/install.sh into a throw-away root on this machine: user, files and modes, the units,
WhiteNoise in the installed release, upgrade, rollback, uninstall.

The root gets copies of the files a Debian 12 system brings (the user and group databases and
systemd's own units, so `systemd-analyze verify --root` can resolve the targets the units name).
The installer, given --root, never calls systemctl or apt-get; nothing outside the root changes.
The tests of this module share one installation and run in file order (uninstall last).
"""

import grp
import json
import os
import pwd
import re
import shlex
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import require_or_skip
from mailadmin.testing.gunicorn import PrivateGunicorn, unix_request

ROOT_OF_PROJECT = Path(__file__).resolve().parents[2]
INSTALLER = ROOT_OF_PROJECT / "scripts" / "install.sh"
SERVER_NAME = "mail.test"


def missing_reason():
    if os.geteuid() != 0:
        return "the installer runs as root"
    for tool in ("/usr/bin/systemd-analyze", "/usr/sbin/useradd", "/usr/bin/python3"):
        if not os.access(tool, os.X_OK):
            return f"{tool} is not installed"
    return None


def install(root, action="install", *options, database_url=None):
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DATABASE_URL", "SECRET_KEY", "MAILADMIN_", "DJANGO_", "VIRTUAL_ENV"))}
    if database_url:
        env["DATABASE_URL"] = database_url
    result = subprocess.run(["bash", str(INSTALLER), action, "--root", str(root), *options],
                            env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def read_env_file(path):
    values = {}
    for line in Path(path).read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = shlex.split(value)[0] if value else ""
    return values


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    require_or_skip(missing_reason() is None, missing_reason() or "")
    root = tmp_path_factory.mktemp("root")
    (root / "etc").mkdir()
    for name in ("passwd", "group", "shadow", "gshadow", "login.defs"):
        shutil.copy2(f"/etc/{name}", root / "etc" / name)
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    (root / "etc/apache2").mkdir()
    (root / "etc/nginx").mkdir()
    output = install(root, "install", "--server-name", SERVER_NAME, "--release", "r1",
                     database_url=f"sqlite:///{root}/var/lib/mailadmin/mailadmin.sqlite3")
    root.joinpath("install-output.txt").write_text(output)
    return root


def account(root, name="mailadmin"):
    for line in (root / "etc/passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == name:
            return fields
    return None


def test_the_service_user_is_a_system_user_that_cannot_log_in(root):
    name, _, uid, _, _, home, shell = account(root)
    assert int(uid) < 1000
    assert (home, shell) == ("/var/lib/mailadmin", "/usr/sbin/nologin")
    with pytest.raises(KeyError):
        pwd.getpwnam("mailadmin")  # only inside the throw-away root


def test_the_env_file_is_not_world_readable_and_holds_a_generated_key(root):
    gid = int(account(root)[3])
    env_dir, env_file = root / "etc/mailadmin", root / "etc/mailadmin/mailadmin.env"
    for path, mode in ((env_dir, 0o750), (env_file, 0o640)):
        info = path.stat()
        assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (mode, 0, gid), path
    values = read_env_file(env_file)
    assert len(values["SECRET_KEY"]) >= 50
    assert values["ALLOWED_HOSTS"] == SERVER_NAME
    assert values["CSRF_TRUSTED_ORIGINS"] == f"https://{SERVER_NAME}"
    assert values["MAILADMIN_BEHIND_PROXY"] == values["MAILADMIN_SERVE_STATIC"] == "1"
    assert values["SECRET_KEY"] not in (root / "install-output.txt").read_text()


def test_the_release_is_current_with_its_own_virtualenv_and_nothing_of_the_checkout(root):
    current = root / "opt/mailadmin/current"
    assert os.readlink(current) == "releases/r1"
    assert (current / ".complete").exists()
    assert (current / ".venv/bin/gunicorn").exists()
    assert not (current / ".venv").is_symlink()
    assert not (current / ".secret_key").exists() and not (current / "mailadmin.sqlite3").exists()
    assert not os.stat(current / "manage.py").st_mode & stat.S_IWOTH
    command = (root / "usr/local/sbin/mailadmin").read_text()
    assert "manage.py" in command and "mailadmin.env" in command


def test_the_units_pass_systemd_analyze_verify(root):
    result = subprocess.run(
        ["systemd-analyze", "verify", f"--root={root}", "/etc/systemd/system/mailadmin.service",
         "/etc/systemd/system/mailadmin.socket"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""


def unit_settings(path):
    settings = {}
    for line in Path(path).read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            name, _, value = line.partition("=")
            settings.setdefault(name, []).append(value)
    return settings


def test_the_service_is_sandboxed_with_only_its_state_directory_writable(root):
    unit = unit_settings(root / "etc/systemd/system/mailadmin.service")
    assert unit["ProtectSystem"] == ["strict"]
    assert unit["NoNewPrivileges"] == unit["PrivateTmp"] == unit["ProtectHome"] == ["yes"]
    assert unit["StateDirectory"] == ["mailadmin"]
    assert "ReadWritePaths" not in unit
    assert unit["User"] == ["mailadmin"]
    assert unit["CapabilityBoundingSet"] == [""]
    socket_unit = unit_settings(root / "etc/systemd/system/mailadmin.socket")
    assert socket_unit["ListenStream"] == ["/run/mailadmin.sock"]
    assert socket_unit["SocketMode"] == ["0660"] and socket_unit["SocketGroup"] == ["www-data"]
    state = root / "var/lib/mailadmin"
    assert stat.S_IMODE(state.stat().st_mode) == 0o750
    assert state.stat().st_uid == int(account(root)[2])


def test_the_proxy_sites_are_written_for_this_server_but_not_enabled(root):
    apache = (root / "etc/apache2/sites-available/mailadmin.conf").read_text()
    nginx = (root / "etc/nginx/sites-available/mailadmin").read_text()
    for text in (apache, nginx):
        assert "@" + "SERVER_NAME@" not in text and "@SOCKET@" not in text
        assert f"/etc/letsencrypt/live/{SERVER_NAME}/fullchain.pem" in text
    assert f"ServerName {SERVER_NAME}" in apache
    assert '"unix:/run/mailadmin.sock|http://mailadmin/"' in apache
    assert "proxy_pass http://unix:/run/mailadmin.sock;" in nginx
    assert not (root / "etc/apache2/sites-enabled").exists()
    assert not (root / "etc/nginx/sites-enabled").exists()


def test_whitenoise_serves_hashed_static_files_compressed_with_far_future_cache_headers(root):
    current = root / "opt/mailadmin/current"
    manifest = json.loads((current / "staticfiles/staticfiles.json").read_text())["paths"]
    env = {"PATH": os.environ["PATH"], **read_env_file(root / "etc/mailadmin/mailadmin.env")}
    with PrivateGunicorn(current / ".venv/bin/gunicorn", current, env) as app:
        page = unix_request(app.socket, "/login/", host=SERVER_NAME)
        assert page.status == 200, app.log_text()
        # The page names its stylesheet by the hashed name collectstatic wrote.
        hashed = re.search(rb'href="/static/([^"]+\.css)"', page.body)[1].decode()
        name = next(name for name, value in manifest.items() if value == hashed)
        assert re.search(r"\.[0-9a-f]{12}\.css$", hashed)
        response = unix_request(app.socket, f"/static/{hashed}", host=SERVER_NAME, headers={"Accept-Encoding": "gzip"})
        unhashed = unix_request(app.socket, f"/static/{name}", host=SERVER_NAME)
    assert response.status == 200
    assert response.headers["cache-control"] == "max-age=315360000, public, immutable"
    assert response.headers["content-encoding"] == "gzip"
    assert unhashed.status == 200
    assert "immutable" not in unhashed.headers["cache-control"]


def test_a_second_install_keeps_the_secret_key_and_changes_nothing_else(root):
    env_file = root / "etc/mailadmin/mailadmin.env"
    before = env_file.read_text()
    install(root, "install", "--server-name", "other.test", "--release", "r1")
    assert env_file.read_text() == before
    assert os.readlink(root / "opt/mailadmin/current") == "releases/r1"
    assert not (root / "opt/mailadmin/previous").exists()


def test_upgrade_keeps_the_previous_release_and_rollback_is_one_command(root):
    install(root, "upgrade", "--server-name", SERVER_NAME, "--release", "r2")
    app = root / "opt/mailadmin"
    assert (os.readlink(app / "current"), os.readlink(app / "previous")) == ("releases/r2", "releases/r1")
    assert (app / "releases/r2/.venv/bin/gunicorn").exists()
    install(root, "rollback")
    assert (os.readlink(app / "current"), os.readlink(app / "previous")) == ("releases/r1", "releases/r2")


def test_enable_proxy_links_the_site(root):
    install(root, "install", "--server-name", SERVER_NAME, "--release", "r1", "--enable-proxy", "nginx")
    assert os.readlink(root / "etc/nginx/sites-enabled/mailadmin") == "../sites-available/mailadmin"


def test_uninstall_removes_code_units_and_sites_and_keeps_the_settings_unless_purged(root):
    install(root, "uninstall")
    for path in ("opt/mailadmin", "etc/systemd/system/mailadmin.service", "etc/systemd/system/mailadmin.socket",
                 "usr/local/sbin/mailadmin", "etc/apache2/sites-available/mailadmin.conf",
                 "etc/nginx/sites-enabled/mailadmin"):
        assert not (root / path).exists(), path
    assert (root / "etc/mailadmin/mailadmin.env").exists()
    assert account(root) is not None
    install(root, "uninstall", "--purge")
    assert not (root / "etc/mailadmin").exists()
    assert account(root) is None
    assert grp.getgrnam("root")  # the machine's own databases are untouched
