"""Static-file storages whose URLs are worked out once per file.

Django joins and quotes a static file's URL anew for every `{% static %}` tag and every script
of a form's media: about 13 µs each, some 15 times on a page of the Django admin. Django makes
a new storage when STATIC_URL, STATIC_ROOT or STORAGES change (as tests do), and with it a new
set of kept URLs.
"""

from django.conf import settings
from django.contrib.staticfiles import storage
from whitenoise.storage import CompressedManifestStaticFilesStorage as WhiteNoiseManifestStorage


class KeptUrls:
    def url(self, name, force=False):
        kept = self.__dict__.setdefault("_kept_urls", {})
        key = (name, force, settings.DEBUG)  # a manifest's hashed names are not used in DEBUG
        try:
            return kept[key]
        except KeyError:
            url = kept[key] = super().url(name, force) if force else super().url(name)
            return url


class StaticFilesStorage(KeptUrls, storage.StaticFilesStorage):
    pass


class CompressedManifestStaticFilesStorage(KeptUrls, WhiteNoiseManifestStorage):
    pass
