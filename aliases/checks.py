"""System checks (`manage.py check`): settings that cannot work fail here, with a one-line reason,
instead of on a request. Registered with @register; wired by this app's AppConfig.ready()."""

from django.core.checks import Error, register  # noqa: F401
