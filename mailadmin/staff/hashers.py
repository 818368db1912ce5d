"""The hasher for staff passwords: Django's Argon2id with the cost set in settings.

Django's own defaults (100 MiB, 2 passes, 8 lanes) cost a login about as much CPU as the
PBKDF2 they replace (bench/RESULTS.md). OWASP's Password Storage Cheat Sheet lists
19 MiB / 2 passes / 1 lane as an Argon2id configuration of equal defence: memory-hard, so a
guessing attacker with GPUs pays for the memory on every guess, at a tenth of the panel's CPU
per login. The algorithm name stays "argon2": a hash made with other parameters (Django's
defaults included) still verifies and is re-hashed with these at the next login (must_update).
"""

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher


class StaffArgon2idHasher(Argon2PasswordHasher):
    time_cost = settings.MAILADMIN_ARGON2_TIME_COST
    memory_cost = settings.MAILADMIN_ARGON2_MEMORY_KIB
    parallelism = settings.MAILADMIN_ARGON2_PARALLELISM
