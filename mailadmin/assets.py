"""The static files every page links to (base.html), their URLs looked up once per script
prefix rather than by three `{% static %}` tags on every page (2 % of a list page's
instructions); looked up again when the static-file settings change, as tests do."""

import functools

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.templatetags.static import static
from django.urls import get_script_prefix

LAYOUT = {
    "stylesheet": "mailadmin/mailadmin.css",
    "icon": "mailadmin/favicon.svg",
    "script": "mailadmin/panel.js",
}


@functools.lru_cache(maxsize=16)
def _layout_urls(script_prefix):
    return {name: static(path) for name, path in LAYOUT.items()}


def layout_assets(request):
    """Context processor: `assets`, the URL of each LAYOUT file by its name."""
    return {"assets": _layout_urls(get_script_prefix())}


@receiver(setting_changed)
def _forget_urls(setting, **kwargs):
    if setting in ("STATIC_URL", "STATIC_ROOT", "STORAGES"):
        _layout_urls.cache_clear()
