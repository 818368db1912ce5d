"""Recovery codes: random, shown once, stored only as a SHA-256.

A code carries 80 random bits (16 base32 characters), so a fast unsalted hash is enough: nobody
can search that space, and a copy of the table opens no account. (A slow hash is for passwords
people choose.) Typing is forgiving: case, spaces and dashes do not matter.
"""

import hashlib
import secrets

ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
LENGTH = 16
GROUP = 4
COUNT = 10


def new_code():
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i : i + GROUP] for i in range(0, LENGTH, GROUP))


def new_codes(count=COUNT):
    return [new_code() for _ in range(count)]


def normalized(text):
    """The code as generated, without separators; None when it cannot be a code."""
    cleaned = "".join(ch for ch in str(text or "").lower() if ch not in " -\t")
    if len(cleaned) != LENGTH or any(ch not in ALPHABET for ch in cleaned):
        return None
    return cleaned


def digest(text):
    code = normalized(text)
    return hashlib.sha256(code.encode("ascii")).hexdigest() if code else None
