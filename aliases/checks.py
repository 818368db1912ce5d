"""System checks (`manage.py check`): settings that cannot work fail here, with a one-line reason,
instead of on a request. Registered with @register; wired by this app's AppConfig.ready()."""

from django.conf import settings
from django.core.checks import Error, register

from aliases.guides import GUIDES


@register
def guide_edition_check(app_configs, **kwargs):
    """MAILADMIN_GUIDE names an edition of the guide the server configuration can be written for."""
    if settings.MAILADMIN_GUIDE in GUIDES:
        return []
    return [
        Error(
            f"MAILADMIN_GUIDE={settings.MAILADMIN_GUIDE!r} is not an edition of the ISPmail guide.",
            hint=f"Use one of: {', '.join(GUIDES)} (Debian 12 or Debian 13).",
            id="aliases.E001",
        )
    ]
