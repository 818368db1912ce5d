"""Ask the real Dovecot about hashes: `doveadm pw`, with the password on standard input.

doveadm reads the password from stdin when it is not a terminal (`pw -s` reads it twice, as
"password" and "retype"), so no password ever appears in a process argument.
"""

import shutil
import subprocess

DOVEADM = shutil.which("doveadm") or "/usr/bin/doveadm"


def available():
    return shutil.which("doveadm") is not None


def make_hash(scheme, password):
    """A hash made by Dovecot itself: `doveadm pw -s SCHEME`."""
    result = subprocess.run(
        [DOVEADM, "pw", "-s", scheme],
        input=f"{password}\n{password}\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        raise RuntimeError(f"doveadm pw -s {scheme} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def verifies(stored, password):
    """True when Dovecot accepts the password for the stored value: `doveadm pw -t`."""
    result = subprocess.run(
        [DOVEADM, "pw", "-t", stored],
        input=f"{password}\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.returncode == 0 and "(verified)" in result.stdout
