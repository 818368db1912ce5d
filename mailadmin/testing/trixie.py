"""Where the private servers' binaries come from: this machine (Debian 12, the Bookworm edition
of the guide) or a Debian 13 root holding the Trixie edition's Postfix 3.10, Dovecot 2.4 and
MariaDB 11.8, made once per machine by scripts/trixie-root.sh and entered with chroot.

A server started from the Trixie root keeps its working directory under the root's /tmp, so the
same files have one path outside (for the test) and one inside (for the server): `inside()`
turns the first into the second. Users and groups (postfix, dovecot, mysql) have other ids
inside the root, so they are looked up in the root's own /etc/passwd and /etc/group.
Each process gets a mount namespace of its own (unshare) with /proc mounted in the root; it
shares the machine's network: the servers inside reach MariaDB on 127.0.0.1 as before.
"""

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from aliases.guides import BOOKWORM, TRIXIE

PROJECT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = PROJECT / "scripts" / "trixie-root.sh"
DEFAULT_ROOT = "/var/cache/mailadmin-trixie-root"


@dataclass(frozen=True)
class SystemRoot:
    path: Path
    guide: object

    @property
    def is_machine(self):
        return self.path == Path("/")

    def __str__(self):
        return f"{self.guide.name} ({self.guide.debian})"

    def command(self, argv):
        argv = [str(arg) for arg in argv]
        if self.is_machine:
            return argv
        # A mount namespace of the process's own with /proc in the root (Postfix logs to
        # /dev/stdout, a link into /proc); it goes away with the process, nothing stays mounted.
        enter = 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"'
        return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", enter, str(self.path), *argv]

    def inside(self, host_path):
        """The path a process inside the root sees for a file the tests made at host_path."""
        if self.is_machine or not Path(host_path).is_relative_to(self.path):
            return str(host_path)  # already a path inside (or one nobody will open)
        return "/" + str(Path(host_path).relative_to(self.path))

    def mkdtemp(self, prefix):
        return tempfile.mkdtemp(prefix=prefix, dir=None if self.is_machine else self.path / "tmp")

    def executable(self, path):
        return os.access(self.path / str(path).lstrip("/"), os.X_OK)

    def _entry(self, database, name):
        for line in (self.path / "etc" / database).read_text().splitlines():
            fields = line.split(":")
            if fields[0] == name:
                return fields
        raise KeyError(f"{name} not in {self.path}/etc/{database}")

    def uid_gid(self, user):
        fields = self._entry("passwd", user)
        return int(fields[2]), int(fields[3])

    def gid(self, group):
        return int(self._entry("group", group)[2])


MACHINE = SystemRoot(Path("/"), BOOKWORM)


def root_path():
    return Path(os.environ.get("MAILADMIN_TRIXIE_ROOT", DEFAULT_ROOT))


def trixie_root(build=True):
    """The Trixie root, built first when it is missing and we may (root, debootstrap); else None."""
    path = root_path()
    if not (path / ".mailadmin-ready").exists() and build and os.geteuid() == 0 and shutil.which("chroot"):
        subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, timeout=3600)
    if (path / ".mailadmin-ready").exists() and os.geteuid() == 0:
        return SystemRoot(path, TRIXIE)
    return None


def missing_reason():
    if os.geteuid() != 0:
        return "the Trixie root is entered with chroot, which needs root"
    if trixie_root() is None:
        return f"no Trixie root at {root_path()}: scripts/trixie-root.sh could not build it (needs debootstrap and Debian's archive)"
    return None


def root_for(guide_name):
    return MACHINE if guide_name == BOOKWORM.name else trixie_root()


def doveadm_pw(root, args, stdin_text, timeout=60):
    """`doveadm pw ARGS` from `root`, the password on standard input (never in argv).

    Dovecot 2.4 refuses to start without dovecot_config_version/dovecot_storage_version, so it
    gets a two-line config of its own; 2.3 gets /dev/null. Neither reads the system's config.
    """
    config = "/dev/null"
    if root.guide.dovecot_24:
        path = root.path / "tmp" / "mailadmin-doveadm.conf"
        if not path.exists():
            path.write_text("dovecot_config_version = 2.4.1\ndovecot_storage_version = 2.4.1\n")
        config = root.inside(path)
    return subprocess.run(
        root.command(["doveadm", "-c", config, "pw", *args]),
        input=stdin_text.encode(),
        capture_output=True,
        timeout=timeout,
        start_new_session=True,
    )
