"""What one verification of a stored hash costs here, per scheme and cost parameter: the figures
behind users/password_policy.py's default bounds (bench/RESULTS.md, "Hash verification cost").

    .venv/bin/python bench/hash_cost.py

Median of 5 runs of users.passwords.verify_password() with the right password, in one process.
"""

import base64
import hashlib
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from argon2 import PasswordHasher, Type  # noqa: E402
from passlib.hash import sha512_crypt  # noqa: E402

from users.passwords import hash_password, verify_password  # noqa: E402

PASSWORD = "correct horse battery staple"


def argon2(memory_kib, time_cost, parallelism=1):
    return "{ARGON2ID}" + PasswordHasher(
        time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
    ).hash(PASSWORD)


def pbkdf2(iterations):
    key = hashlib.pbkdf2_hmac("sha1", PASSWORD.encode(), b"saltsaltsaltsalt", iterations, 20).hex()
    return f"{{PBKDF2}}$1$saltsaltsaltsalt${iterations}${key}"


def scram_sha256(iterations):
    salt = b"0123456789abcdef"
    salted = hashlib.pbkdf2_hmac("sha256", PASSWORD.encode(), salt, iterations)
    import hmac

    client = hmac.new(salted, b"Client Key", "sha256").digest()
    stored = hashlib.sha256(client).digest()
    server = hmac.new(salted, b"Server Key", "sha256").digest()
    b64 = lambda data: base64.b64encode(data).decode()  # noqa: E731
    return f"{{SCRAM-SHA-256}}{iterations},{b64(salt)},{b64(stored)},{b64(server)}"


CASES = [
    *((f"BLF-CRYPT cost {cost}", lambda cost=cost: hash_password(PASSWORD, bcrypt_cost=cost)) for cost in (10, 12, 13, 14)),
    *(
        (f"SHA512-CRYPT rounds={rounds}", lambda rounds=rounds: "{SHA512-CRYPT}" + sha512_crypt.using(rounds=rounds).hash(PASSWORD))
        for rounds in (5000, 100_000, 200_000, 400_000)
    ),
    *(
        (f"ARGON2ID m={m} t={t} p={p}", lambda m=m, t=t, p=p: argon2(m, t, p))
        for m, t, p in ((65536, 3, 1), (65536, 4, 1), (65536, 4, 4), (131072, 3, 1))
    ),
    *((f"PBKDF2 iterations={n}", lambda n=n: pbkdf2(n)) for n in (5000, 500_000, 1_000_000)),
    *((f"SCRAM-SHA-256 iterations={n}", lambda n=n: scram_sha256(n)) for n in (4096, 500_000)),
    ("OTP sha1 sequence=10000", lambda: "{OTP}sha1 10000 seed 0123456789abcdef"),
]


def main():
    print(f"load before: {os.getloadavg()[0]:.2f}")
    print("| hash | median ms |\n|---|---:|")
    for label, make in CASES:
        stored = make()
        times = []
        for _ in range(5):
            start = time.perf_counter()
            verify_password(PASSWORD, stored)
            times.append(time.perf_counter() - start)
        print(f"| {label} | {statistics.median(times) * 1000:.0f} |", flush=True)
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
