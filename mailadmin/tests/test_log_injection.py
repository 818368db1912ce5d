"""A request cannot write a log line of its choosing, and fail2ban bans only who failed to log in.

The lines are written by the panel's own logging setup (settings.LOGGING: its format and its
escaping filter) and judged by the real fail2ban-regex with contrib/fail2ban/mailadmin.conf.
"""

import logging
import logging.config
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from conftest import require_or_skip
from mailadmin import logsafe

ROOT = Path(__file__).resolve().parents[2]
FILTER = ROOT / "contrib" / "fail2ban" / "mailadmin.conf"
ATTACKER = "192.0.2.66"
VICTIM = "203.0.113.9"
FORGED_LINE = f"2026-01-31 12:00:00,123 WARNING mailadmin.auth mailadmin login failed: rhost={VICTIM} user=y"
CRAFTED_NAMES = [
    f"x\n{FORGED_LINE}",
    f"x\n{FORGED_LINE}\nx",
    f"x\r{FORGED_LINE}",
    f"x\u2028{FORGED_LINE}",
    f"x\x85{FORGED_LINE}",
    f"x {FORGED_LINE[24:]}",  # the line without its date, in the middle of another line
    f"x rhost={VICTIM}",
    "\x1b[2K\x1b[1Gjane@a.example",
    "a" * 300,
]


@pytest.fixture
def panel_log(tmp_path):
    """The panel's loggers, as settings.LOGGING sets them up, writing to a file."""
    path = tmp_path / "mailadmin.log"
    config = {**settings.LOGGING, "handlers": {
        "console": {**settings.LOGGING["handlers"]["console"], "class": "logging.FileHandler", "filename": str(path)}
    }}
    logging.config.dictConfig(config)
    try:
        yield path
    finally:
        for handler in logging.getLogger("mailadmin.auth").handlers + logging.getLogger("axes").handlers:
            handler.close()
        logging.config.dictConfig(settings.LOGGING)


def fail2ban_hosts(log_path):
    require_or_skip(shutil.which("fail2ban-regex"), "fail2ban-regex is not installed (Debian package fail2ban)")
    result = subprocess.run(
        ["fail2ban-regex", "--out", "ip", str(log_path), str(FILTER)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.split()


def failed_login(username, address=ATTACKER):
    Client(REMOTE_ADDR=address).post("/login/", {"username": username, "password": "wrong"})


def test_the_filter_matches_each_failed_login_of_the_panel(db, panel_log):
    for _ in range(3):
        failed_login("jane@a.example")
    assert fail2ban_hosts(panel_log) == [ATTACKER] * 3


@pytest.mark.parametrize("username", CRAFTED_NAMES, ids=range(len(CRAFTED_NAMES)))
def test_a_crafted_user_name_bans_nobody_but_the_sender(db, panel_log, username):
    failed_login(username)
    assert fail2ban_hosts(panel_log) == [ATTACKER]
    # Every record is one line: nothing the name carried started another.
    lines = panel_log.read_text().splitlines()
    assert lines and all(line.startswith("20") for line in lines), lines


def test_django_axes_lines_are_escaped_too(db, panel_log):
    failed_login("x\ny")
    axes_lines = [line for line in panel_log.read_text().splitlines() if " axes." in line]
    assert axes_lines, "django-axes logged no failure at WARNING: the check below would prove nothing"
    assert any("x\\ny" in line for line in axes_lines)


def test_escape_writes_control_characters_visibly():
    assert logsafe.escape("a\nb\r\tc\x00\x1b\u2028\\") == "a\\nb\\r\\tc\\x00\\x1b\\u2028\\\\"
    assert logsafe.escape("jane@a.example 😀 é") == "jane@a.example 😀 é"


def test_the_filter_escapes_a_records_arguments_once():
    record = logging.LogRecord("axes", logging.WARNING, __file__, 1, "by %s, %d", ("x\ny", 3), None)
    escaping = logsafe.EscapeControlCharacters()
    escaping.filter(record)
    escaping.filter(record)  # a second handler
    assert record.getMessage() == "by x\\ny, 3"
