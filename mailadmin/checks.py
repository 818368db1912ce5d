"""System checks (`manage.py check`): settings that cannot work fail here, with a one-line reason,
instead of on a request. Registered with @register; wired by this app's AppConfig.ready()."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, register

# Backends that deliver no mail: a reset link in them reaches nobody outside the machine.
NON_DELIVERING_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
}


@register(Tags.security)
def check_base_url_form(app_configs=None, **kwargs):
    base = settings.MAILADMIN_BASE_URL
    if not base:
        return []
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") \
            or parts.query or parts.fragment or parts.username or parts.password:
        return [Error(
            f"MAILADMIN_BASE_URL={base!r} is not the panel's address: give the scheme and host only, "
            "such as https://mail.example.org.",
            id="mailadmin.E001",
        )]
    return []


@register(Tags.security, deploy=True)
def check_base_url_for_mail(app_configs=None, **kwargs):
    if settings.DEBUG or settings.MAILADMIN_BASE_URL or settings.EMAIL_BACKEND in NON_DELIVERING_BACKENDS:
        return []
    return [Error(
        "MAILADMIN_BASE_URL is not set, so password reset links in mail would use the Host header "
        "of whoever asked for them.",
        hint="Set MAILADMIN_BASE_URL to the panel's address, such as https://mail.example.org.",
        id="mailadmin.E002",
    )]
