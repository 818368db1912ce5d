"""Production settings pass Django's deployment checks, and MariaDB runs in strict mode."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


# What a user's own runs leave in a checkout (`make run`, `make test`): git-ignored, and never
# something a test may depend on.
USER_FILES = (".secret_key", "*.sqlite3", ".venv", ".git", "staticfiles", "test-artifacts", "__pycache__",
              ".pytest_cache", ".hypothesis")


def bare_checkout(source, into):
    """A copy of the project's files at `into`, without anything a user's run left in `source`."""
    shutil.copytree(source, into, ignore=shutil.ignore_patterns(*USER_FILES))
    return into


def manage(*args, cwd=ROOT, **env_overrides):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MAILADMIN_", "DEBUG", "SECRET_KEY", "DATABASE_URL", "TEST_DATABASE_URL", "CACHE_URL"))
    }
    env.update(env_overrides)
    env["DJANGO_SETTINGS_MODULE"] = "mailadmin.settings"
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text("x9!" * 20 + "production-key-from-a-file")
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY_FILE=str(key_file),
        ALLOWED_HOSTS="mail.example.org",
        MAILADMIN_BASE_URL="https://mail.example.org",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def refuses_without_a_key(checkout, tmp_path):
    result = manage("check", cwd=checkout, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    return result.returncode != 0 and "SECRET_KEY is not set" in result.stderr, result.stderr


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    refused, stderr = refuses_without_a_key(bare_checkout(ROOT, tmp_path / "checkout"), tmp_path)
    assert refused, stderr


def test_the_key_test_holds_in_a_checkout_where_make_run_wrote_a_key(tmp_path):
    used = bare_checkout(ROOT, tmp_path / "used")
    (used / ".secret_key").write_text("k3y-" * 15)  # as `make run` writes it
    # The key file is read where it is ...
    assert manage("check", cwd=used, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}").returncode == 0
    # ... and the test above still sees a production without a key.
    refused, stderr = refuses_without_a_key(bare_checkout(used, tmp_path / "bare"), tmp_path)
    assert refused, stderr


def test_check_deploy_requires_a_base_url_for_links_in_mail(tmp_path):
    common = dict(SECRET_KEY="x9!" * 20, ALLOWED_HOSTS="mail.example.org",
                  DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    missing = manage("check", "--deploy", **common)
    assert missing.returncode != 0 and "mailadmin.E002" in missing.stderr, missing.stdout + missing.stderr
    no_mail = manage("check", "--deploy", EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend", **common)
    assert "mailadmin.E002" not in no_mail.stdout + no_mail.stderr
    wrong = manage("check", MAILADMIN_BASE_URL="mail.example.org/panel?x=1", **common)
    assert wrong.returncode != 0 and "mailadmin.E001" in wrong.stderr, wrong.stdout + wrong.stderr


def test_hsts_preload_is_opt_in(tmp_path):
    code = "from django.conf import settings; print('preload', settings.SECURE_HSTS_PRELOAD)"
    common = dict(SECRET_KEY="x" * 60, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert "preload False" in manage("shell", "-c", code, **common).stdout
    assert "preload True" in manage("shell", "-c", code, MAILADMIN_HSTS_PRELOAD="1", **common).stdout


@pytest.mark.mariadb
def test_mariadb_connections_use_utf8mb4_and_strict_mode(mariadb):
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@character_set_connection, @@sql_mode")
        charset, sql_mode = cursor.fetchone()
    assert charset == "utf8mb4"
    assert "STRICT_TRANS_TABLES" in sql_mode


@pytest.mark.mariadb
def test_mariadb_has_no_strict_mode_warning(mariadb):
    from django.core import checks

    messages = checks.run_checks(databases=["default"])
    assert [m.id for m in messages if m.id.startswith("mysql.")] == []


def test_production_caches_in_the_database_so_every_app_server_shares_it(tmp_path):
    database = tmp_path / "db.sqlite3"
    result = manage("migrate", "--noinput", SECRET_KEY="x" * 60, DATABASE_URL=f"sqlite:///{database}")
    assert result.returncode == 0, result.stderr

    import sqlite3

    tables = {row[0] for row in sqlite3.connect(database).execute("SELECT name FROM sqlite_master")}
    assert "mailadmin_cache" in tables  # made by `migrate`, no separate createcachetable step
    probe = manage(
        "shell",
        "-c",
        "from django.core.cache import cache; cache.set('probe', 42); print('cached', cache.get('probe'))",
        SECRET_KEY="x" * 60,
        DATABASE_URL=f"sqlite:///{database}",
    )
    assert "cached 42" in probe.stdout
    rows = sqlite3.connect(database).execute("SELECT cache_key FROM mailadmin_cache").fetchall()
    assert [key for (key,) in rows if key.endswith("probe")]


def test_behind_a_proxy_the_client_address_is_the_one_the_proxy_added(tmp_path):
    """A client can write anything into X-Forwarded-For; only the proxy's own entry counts."""
    code = (
        "from django.test import RequestFactory; from axes.helpers import get_client_ip_address; "
        "r = RequestFactory().get('/', REMOTE_ADDR='10.0.0.1', HTTP_X_FORWARDED_FOR='6.6.6.6, 198.51.100.7'); "
        "print('client', get_client_ip_address(r))"
    )
    result = manage(
        "shell", "-c", code, SECRET_KEY="x" * 60, MAILADMIN_BEHIND_PROXY="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    assert "client 198.51.100.7" in result.stdout, result.stdout + result.stderr
    direct = manage("shell", "-c", code, SECRET_KEY="x" * 60, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert "client 10.0.0.1" in direct.stdout, direct.stdout + direct.stderr


def _mariadb_connection_settings(**env):
    probe = manage(
        "shell", "-c",
        "from django.conf import settings; d = settings.DATABASES['default']; print(d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'])",
        SECRET_KEY="x" * 60, DATABASE_URL="mysql://mailadmin@127.0.0.1:3306/mailserver", **env,
    )
    assert probe.returncode == 0, probe.stderr
    return probe.stdout.splitlines()[-1].split()  # after the shell's own "N objects imported" line


def test_production_keeps_a_mariadb_connection_per_worker_and_checks_it_before_reuse():
    assert _mariadb_connection_settings() == ["60", "True"]
    assert _mariadb_connection_settings(MAILADMIN_DB_CONN_MAX_AGE="0") == ["0", "True"]


def test_the_wsgi_application_starts_with_django_and_its_urls_frozen_out_of_garbage_collection(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text("x9!" * 20 + "production-key-from-a-file")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MAILADMIN_", "DATABASE_URL"))}
    env.update(SECRET_KEY_FILE=str(key_file), ALLOWED_HOSTS="mail.example.org",
               DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", DJANGO_SETTINGS_MODULE="mailadmin.settings")
    script = "import gc, sys; import mailadmin.wsgi; print(gc.get_freeze_count(), 'users.views' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    frozen, views_loaded = result.stdout.split()
    assert int(frozen) > 10_000 and views_loaded == "True"
