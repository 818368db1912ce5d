"""CPU time of one staff login: Django's PBKDF2 (its default, what staff hashes were before issue
11) against Argon2id (PASSWORD_HASHERS now), through the real login view.

    .venv/bin/python bench/staff_login_bench.py [--logins 20]

Runs on a throw-away SQLite database in a temporary directory (the login's database work is a
few indexed reads; the hash is what costs). CPU time is the process's (time.process_time), all
threads counted: Argon2 runs its lanes in threads, so wall time can be lower than CPU time.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PASSWORD = "bench-staff-password-123"


def setup(directory):
    os.environ["DATABASE_URL"] = f"sqlite:///{directory}/bench.sqlite3"
    os.environ.setdefault("MAILADMIN_ALLOW_INSECURE_KEY", "1")
    os.environ["MAILADMIN_SECURE"] = "0"
    os.environ["AXES_ENABLED"] = "0"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ["MAILADMIN_REQUIRE_2FA"] = "off"
    os.environ["CACHE_URL"] = "locmemcache://"
    os.environ["DJANGO_SETTINGS_MODULE"] = "mailadmin.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def measure(hasher, logins):
    """Median CPU and wall seconds of `logins` logins through the login view (2 warm-ups)."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import User
    from django.test import Client
    from django.test.utils import override_settings

    # Only this hasher: the hash stays as made (it would otherwise be upgraded by the first login).
    with override_settings(PASSWORD_HASHERS=[HASHERS[hasher]]):
        User.objects.filter(username="bench").delete()
        User.objects.create(username="bench", is_staff=True, password=make_password(PASSWORD))
        cpu, wall = [], []
        for _ in range(logins + 2):
            client = Client()
            start_cpu, start_wall = time.process_time(), time.perf_counter()
            response = client.post("/login/", {"username": "bench", "password": PASSWORD})
            cpu.append(time.process_time() - start_cpu)
            wall.append(time.perf_counter() - start_wall)
            assert response.status_code == 302, response.status_code
    return statistics.median(cpu[2:]), statistics.median(wall[2:])


HASHERS = {
    "pbkdf2_sha256": "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django_argon2": "django.contrib.auth.hashers.Argon2PasswordHasher",
    "argon2": "mailadmin.staff.hashers.StaffArgon2idHasher",
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        setup(directory)
        from django.contrib.auth.hashers import Argon2PasswordHasher, PBKDF2PasswordHasher

        from mailadmin.staff.hashers import StaffArgon2idHasher

        def argon2(cls, who):
            return f"Argon2id {who}, t={cls.time_cost} m={cls.memory_cost} KiB p={cls.parallelism}"

        print(f"{'hasher':<56} {'CPU ms (median)':>16} {'wall ms (median)':>17}")
        for hasher, label in (
            ("pbkdf2_sha256", f"PBKDF2-SHA256 (before), {PBKDF2PasswordHasher.iterations:,} iterations"),
            ("django_argon2", argon2(Argon2PasswordHasher, "(Django's defaults)")),
            ("argon2", argon2(StaffArgon2idHasher, "(now)")),
        ):
            cpu, wall = measure(hasher, args.logins)
            print(f"{label:<56} {cpu * 1000:>16.1f} {wall * 1000:>17.1f}")


if __name__ == "__main__":
    main()
