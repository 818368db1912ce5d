"""After authentication and the second-factor gate, request.user is the user object itself, with
what django-otp adds to it, not a lazy stand-in (mailadmin.middleware.EvaluatedUser)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse


def test_a_logged_in_users_request_carries_the_user_itself(client, alice):
    client.force_login(alice)
    request = client.get(reverse("mailbox-list")).wsgi_request
    assert type(request.user) is get_user_model() and request.user.pk == alice.pk
    assert request.user.is_verified() is False and request.user.otp_device is None  # django-otp's


def test_an_anonymous_request_carries_the_anonymous_user(client):
    request = client.get(reverse("login")).wsgi_request
    assert type(request.user) is AnonymousUser


def test_logging_out_still_leaves_the_anonymous_user(client, alice):
    client.force_login(alice)
    response = client.post(reverse("logout"))
    assert type(response.wsgi_request.user) is AnonymousUser
    assert client.get(reverse("mailbox-list")).status_code == 302
