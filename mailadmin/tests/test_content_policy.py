"""The kept-policy middleware sets the headers django-csp's own middleware sets, in every case."""

import pytest
from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.exceptions import CSPNonceError
from csp.middleware import CSPMiddleware
from django.http import HttpResponse, HttpResponseNotFound
from django.test import RequestFactory, override_settings

from mailadmin.content_policy import KeptPolicyCSPMiddleware

POLICY = {"DIRECTIVES": {"default-src": ["'self'"], "img-src": ["'self'", "data:"]}}
REPORTING = {"DIRECTIVES": {"default-src": ["'none'"], "report-uri": "/csp-report/"}}


def headers_from(middleware_class, path="/dashboard/", response=None, uses_nonce=False):
    """The CSP headers the middleware leaves on `response` for a GET of `path`."""
    request = RequestFactory().get(path)
    middleware = middleware_class(lambda request: response)
    middleware.process_request(request)
    if uses_nonce:
        str(request.csp_nonce)
    response = middleware.process_response(request, response or HttpResponse("page"))
    return {name: response[name] for name in (HEADER, HEADER_REPORT_ONLY) if name in response}


def both(**kwargs):
    """(django-csp's headers, ours) for the same request and a fresh response each."""
    make = kwargs.pop("make_response", lambda: HttpResponse("page"))
    return headers_from(CSPMiddleware, response=make(), **kwargs), headers_from(
        KeptPolicyCSPMiddleware, response=make(), **kwargs
    )


def with_attributes(**attributes):
    def make():
        response = HttpResponse("page")
        for name, value in attributes.items():
            setattr(response, name, value)
        return response

    return make


@pytest.mark.parametrize(
    "case",
    [
        {},
        {"make_response": with_attributes(_csp_exempt=True)},
        {"make_response": with_attributes(_csp_update={"img-src": ["https://cdn.example"]})},
        {"make_response": with_attributes(_csp_replace={"img-src": None})},
        {"make_response": with_attributes(_csp_config={"default-src": ["'none'"]})},
        {"uses_nonce": True},
        {"path": "/excluded/page/"},
        {"make_response": HttpResponseNotFound},
    ],
    ids=["plain", "exempt", "updated by its view", "replaced by its view", "its own config", "nonce", "excluded", "404"],
)
@pytest.mark.parametrize(
    "settings_case",
    [
        {"CONTENT_SECURITY_POLICY": POLICY},
        {"CONTENT_SECURITY_POLICY": {**POLICY, "EXCLUDE_URL_PREFIXES": ["/excluded/"]}},
        {"CONTENT_SECURITY_POLICY": POLICY, "CONTENT_SECURITY_POLICY_REPORT_ONLY": REPORTING},
        {"CONTENT_SECURITY_POLICY": None, "CONTENT_SECURITY_POLICY_REPORT_ONLY": REPORTING},
        {"CONTENT_SECURITY_POLICY": POLICY, "DEBUG": True},
    ],
    ids=["policy", "excluded prefix", "with report-only", "report-only alone", "debug"],
)
def test_the_headers_are_django_csps_own(case, settings_case):
    with override_settings(**settings_case):
        theirs, ours = both(**case)
    assert ours == theirs


def test_a_changed_setting_changes_the_kept_header():
    with override_settings(CONTENT_SECURITY_POLICY=POLICY):
        first = headers_from(KeptPolicyCSPMiddleware)[HEADER]
    with override_settings(CONTENT_SECURITY_POLICY=REPORTING):
        second = headers_from(KeptPolicyCSPMiddleware)[HEADER]
    assert "img-src 'self' data:" in first and "default-src 'none'" in second


def test_a_nonce_asked_for_after_the_header_is_written_is_an_error():
    request = RequestFactory().get("/")
    middleware = KeptPolicyCSPMiddleware(lambda request: HttpResponse("page"))
    middleware.process_request(request)
    middleware.process_response(request, HttpResponse("page"))
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)


def test_the_panel_serves_the_policy_through_the_kept_middleware(client):
    response = client.get("/login/")
    assert "default-src 'self'" in response[HEADER]
