"""System checks (`manage.py check`): settings that cannot work fail here, with a one-line reason,
instead of on a request. Registered with @register; wired by this app's AppConfig.ready()."""

from django.conf import settings
from django.core.checks import Error, register

from users import password_policy, passwords


@register()
def check_password_settings(app_configs=None, **kwargs):
    errors = []
    scheme = settings.MAILADMIN_PASSWORD_SCHEME
    if scheme not in passwords.WRITABLE_SCHEMES:
        errors.append(
            Error(
                f"MAILADMIN_PASSWORD_SCHEME={scheme!r} cannot be written; choose one of "
                f"{', '.join(passwords.WRITABLE_SCHEMES)}.",
                id="users.E001",
            )
        )
    try:
        passwords.get_scheme(settings.MAILADMIN_DEFAULT_PASS_SCHEME)
    except passwords.UnknownScheme:
        errors.append(
            Error(
                f"MAILADMIN_DEFAULT_PASS_SCHEME={settings.MAILADMIN_DEFAULT_PASS_SCHEME!r} is not a scheme "
                "Dovecot 2.3 knows (Dovecot's SQL default is MD5).",
                id="users.E002",
            )
        )
    cost, max_cost = settings.MAILADMIN_BCRYPT_COST, settings.MAILADMIN_MAX_BCRYPT_COST
    low, high = passwords.Bcrypt.MIN_COST, passwords.Bcrypt.MAX_COST
    if not low <= max_cost <= high:
        errors.append(Error(f"MAILADMIN_MAX_BCRYPT_COST={max_cost} is outside bcrypt's range {low}–{high}.", id="users.E003"))
    if not low <= cost <= high:
        errors.append(Error(f"MAILADMIN_BCRYPT_COST={cost} is outside bcrypt's range {low}–{high}.", id="users.E004"))
    elif cost > max_cost:
        errors.append(
            Error(
                f"MAILADMIN_BCRYPT_COST={cost} is above MAILADMIN_MAX_BCRYPT_COST={max_cost}: the panel "
                "would write hashes it refuses to import; raise the limit or lower the cost.",
                id="users.E005",
            )
        )
    floors = {  # the smallest bound that still accepts what Dovecot and the panel write
        "MAILADMIN_MAX_SHA_CRYPT_ROUNDS": passwords.SHA_CRYPT_ROUNDS,
        "MAILADMIN_MAX_ARGON2_MEMORY_KIB": passwords.ARGON2_MEMORY_KIB,
        "MAILADMIN_MAX_ARGON2_TIME": passwords.ARGON2_TIME,
        "MAILADMIN_MAX_ARGON2_PARALLELISM": passwords.ARGON2_PARALLELISM,
        "MAILADMIN_MAX_PBKDF2_ITERATIONS": passwords.Scram.MIN_ITERATIONS,
    }
    for name, floor in floors.items():
        value = getattr(settings, name)
        if value < floor:
            errors.append(
                Error(f"{name}={value} is below {floor}, which refuses the hashes doveadm and the panel write.", id="users.E006")
            )
    mode = settings.MAILADMIN_UPGRADE_HASH
    if mode not in password_policy.UPGRADE_MODES:
        errors.append(
            Error(
                f"MAILADMIN_UPGRADE_HASH={mode!r}: choose one of {', '.join(password_policy.UPGRADE_MODES)}.",
                id="users.E007",
            )
        )
    chars = settings.MAILADMIN_AUTH_USERNAME_CHARS
    if chars and "@" not in chars:
        errors.append(
            Error(
                "MAILADMIN_AUTH_USERNAME_CHARS has no '@': no full address could log in to Dovecot.",
                id="users.E008",
            )
        )
    return errors
