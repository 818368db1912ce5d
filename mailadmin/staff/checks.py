from django.conf import settings
from django.core.checks import Error, register

from mailadmin.staff.twofactor import REQUIREMENTS


@register()
def check_second_factor_setting(app_configs, **kwargs):
    if settings.MAILADMIN_REQUIRE_2FA not in REQUIREMENTS:
        return [
            Error(
                f"MAILADMIN_REQUIRE_2FA is {settings.MAILADMIN_REQUIRE_2FA!r}; use one of {', '.join(REQUIREMENTS)}.",
                id="staff.E001",
            )
        ]
    return []
