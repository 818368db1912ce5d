"""Ask the real Dovecot about hashes with `doveadm pw`, the password always on standard input.

Without -p, doveadm 2.3 reads the password from stdin when stdin is not a terminal (`pw -s`
reads it twice, as "password" and "retype"; `pw -t` once), so a password never appears in a
process argument. The process gets a session of its own (no controlling terminal) so doveadm
could never prompt on the tty of whoever runs the tests, and an empty config (-c /dev/null),
which `doveadm pw` needs nothing from, so the system's /etc/dovecot is never read.
The HASH does go into argv with -t: fine for tests, never for real passwords.
"""

import shutil
import subprocess

TIMEOUT = 60


class DoveadmError(RuntimeError):
    pass


def path():
    return shutil.which("doveadm")


def available():
    return path() is not None


def _run(args, stdin_text):
    return subprocess.run(
        [path() or "doveadm", "-c", "/dev/null", "pw", *args],
        input=stdin_text.encode("utf-8"),
        capture_output=True,
        timeout=TIMEOUT,
        start_new_session=True,
    )


def _line(password):
    if "\n" in password or "\r" in password or "\0" in password:
        raise ValueError("doveadm reads one line: the password cannot hold a line break or NUL.")
    return password + "\n"


def _user(user):
    # DIGEST-MD5 hashes the login name too (user@realm); doveadm takes it with -u.
    return ["-u", user] if user else []


def make_hash(scheme, password, *, rounds=None, user=None):
    """A hash made by Dovecot itself: `doveadm pw -s SCHEME [-r ROUNDS] [-u USER]`."""
    line = _line(password)
    result = _run(["-s", scheme, *(["-r", str(rounds)] if rounds else []), *_user(user)], line + line)
    if result.returncode != 0:
        # stderr holds doveadm's reason; it never echoes the password.
        raise DoveadmError(f"doveadm pw -s {scheme} failed: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout.decode("utf-8").strip()


def verifies(stored, password, *, user=None):
    """True when Dovecot accepts the password for the stored value: `doveadm pw -t`.

    doveadm exits 0 and prints "… (verified)" on a match; 75 with "Password mismatch" or a
    decode error otherwise."""
    result = _run(["-t", stored, *_user(user)], _line(password))
    return result.returncode == 0 and b"(verified)" in result.stdout


def version():
    """Dovecot's version, e.g. "2.3.19.1 (9b53102964)" (doveadm itself has no --version)."""
    dovecot = shutil.which("dovecot") or "/usr/sbin/dovecot"
    result = subprocess.run([dovecot, "--version"], capture_output=True, timeout=TIMEOUT)
    return result.stdout.decode().strip()
