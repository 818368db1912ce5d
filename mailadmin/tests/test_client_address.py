import pytest
from django.test import RequestFactory

from mailadmin.client_address import client_address


def request(forwarded=None, remote="10.0.0.1"):
    headers = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **headers)


def test_without_a_proxy_the_header_is_ignored(settings):
    settings.MAILADMIN_PROXY_COUNT = 0
    assert client_address(request("198.51.100.7")) == "10.0.0.1"


def test_behind_one_proxy_the_address_it_added_counts_not_what_the_client_wrote(settings):
    settings.MAILADMIN_PROXY_COUNT = 1
    assert client_address(request("6.6.6.6, 198.51.100.7")) == "198.51.100.7"
    assert client_address(request("2001:db8::5")) == "2001:db8::5"


def test_behind_two_proxies_the_outer_one_is_trusted(settings):
    settings.MAILADMIN_PROXY_COUNT = 2
    assert client_address(request("6.6.6.6, 198.51.100.7, 192.0.2.1")) == "198.51.100.7"


@pytest.mark.parametrize("forwarded", [None, "", "not-an-address", " , "])
def test_a_missing_or_garbled_header_falls_back_to_the_connection(settings, forwarded):
    settings.MAILADMIN_PROXY_COUNT = 1
    assert client_address(request(forwarded)) == "10.0.0.1"
