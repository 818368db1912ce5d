"""Static URLs are worked out once per file, and anew when the static settings change."""

from django.contrib.staticfiles import storage as django_storage
from django.templatetags.static import static
from django.test import override_settings

from mailadmin import static_storage


def test_a_kept_static_url_is_the_one_django_gives():
    ours = static_storage.StaticFilesStorage()
    for name in ("admin/js/core.js", "mailadmin/mailadmin.css", "a file with spaces & signs.js"):
        assert ours.url(name) == ours.url(name) == django_storage.StaticFilesStorage().url(name)


def test_the_panel_serves_its_static_urls_from_the_kept_storage():
    static("admin/js/core.js")
    assert isinstance(django_storage.staticfiles_storage._wrapped, static_storage.KeptUrls)


def test_a_changed_static_url_setting_gives_new_urls():
    before = static("admin/js/core.js")
    with override_settings(STATIC_URL="/assets/"):
        assert static("admin/js/core.js") == "/assets/admin/js/core.js"
    assert static("admin/js/core.js") == before
