"""django-csp's middleware with the policy built once per process instead of on every response.

django-csp builds its Content-Security-Policy header from the settings for each response (and
the report-only header too): 0.28 M instructions a request, a ninth of what the smallest
logged-in request executes. The panel's pages neither change the policy
per view nor use a nonce, so their headers are the same every time: built once, and again
when a test changes the settings. A response with a policy of its own (django-csp's decorators)
or a request that asked for a nonce gets django-csp's own handling.
"""

import functools
import http.client

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

# What django-csp's decorators (csp_update, csp_replace, csp_override …) leave on a response.
PER_VIEW_POLICY = tuple(
    f"_csp_{kind}{suffix}" for kind in ("config", "update", "replace") for suffix in ("", "_ro")
)
# django-csp leaves Django's debug pages for these alone.
DEBUG_PAGES = (http.client.INTERNAL_SERVER_ERROR, http.client.NOT_FOUND)


class KeptPolicyCSPMiddleware(CSPMiddleware):
    def process_response(self, request, response):
        if getattr(request, "_csp_nonce", None) is not None or any(hasattr(response, name) for name in PER_VIEW_POLICY):
            return super().process_response(request, response)
        if response.status_code in DEBUG_PAGES and settings.DEBUG:
            return response
        enforced, report_only = _kept_policies()
        _add(request, response, HEADER, enforced, "_csp_exempt", "CONTENT_SECURITY_POLICY")
        _add(request, response, HEADER_REPORT_ONLY, report_only, "_csp_exempt_ro", "CONTENT_SECURITY_POLICY_REPORT_ONLY")
        # As django-csp does: a nonce asked for after the header is written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response


def _add(request, response, header, policy, exempt, setting):
    """The header, as django-csp sets it: unless empty, already set, exempted or excluded."""
    if not policy or header in response or getattr(response, exempt, False) is not False:
        return
    prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES", None) or ()
    if not request.path_info.startswith(tuple(prefixes)):
        response[header] = policy


@functools.lru_cache(maxsize=1)
def _kept_policies():
    return build_policy(), build_policy(report_only=True)


@receiver(setting_changed)
def _forget_policies(setting, **kwargs):
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _kept_policies.cache_clear()
