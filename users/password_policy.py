"""(Interim) what the panel does with passwords; replaced by the pw branch's full policy."""

from dataclasses import dataclass

from django.conf import settings

from users import passwords

PLAINTEXT_SCHEMES = {"PLAIN", "CLEAR", "CLEARTEXT"}


class RefusedPassword(ValueError):
    pass


@dataclass(frozen=True)
class SuppliedPassword:
    plaintext: str | None = None
    stored_hash: str | None = None


def hash_for_storage(raw_password):
    return passwords.hash_password(
        raw_password, settings.MAILADMIN_PASSWORD_SCHEME, bcrypt_cost=settings.MAILADMIN_BCRYPT_COST
    )


def read_supplied_password(value):
    if not value.startswith("{"):
        return SuppliedPassword(plaintext=value)
    try:
        scheme = passwords.scheme_of(value)
    except ValueError as error:
        raise RefusedPassword(f"{error} Give a plaintext password or a hash of a scheme Dovecot knows.")
    if scheme in PLAINTEXT_SCHEMES:
        return SuppliedPassword(plaintext=value[value.index("}") + 1 :])
    if any(ord(char) > 0xFFFF for char in value):  # virtual_users.password is utf8mb3
        raise RefusedPassword("The hash has a character the password column cannot store.")
    if len(value) > 150:
        raise RefusedPassword("The hash is longer than the password column holds.")
    return SuppliedPassword(stored_hash=value)
