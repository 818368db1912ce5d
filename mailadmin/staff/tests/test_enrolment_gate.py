"""A staff account that must enrol a second factor reaches enrolment and logout, nothing else.

Walks every row of the permission matrix (mailadmin/tests/test_permissions.py) as that account."""

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client
from django.urls import reverse

from mailadmin.tests import test_permissions
from mailadmin.tests.permission_rows_staff import ENROLLING_REACHES

ROWS = test_permissions.ROWS
world = test_permissions.world


@pytest.fixture
def enrolling(world, settings):
    settings.MAILADMIN_REQUIRE_2FA = "superadmins"
    return User.objects.create(username="erin", is_staff=True, is_superuser=True)


def status_and_target(user, method, url, data):
    with transaction.atomic():
        client = Client()
        client.force_login(user, backend="mailadmin.staff.backends.StaffBackend")
        response = client.get(url) if method == "GET" else client.post(url, data or {})
        transaction.set_rollback(True)
    return response.status_code, response.get("Location", "")


def test_an_enrolling_superadmin_reaches_only_enrolment_and_logout(world, enrolling):
    _, values = world
    values = {**values, "staff_bob": User.objects.get(username="bob").pk}
    enrol = reverse("security-enrol")
    wrong = []
    for source, row in ROWS:
        kwargs = {k: values.get(v, v) if isinstance(v, str) else v for k, v in row.get("kwargs", {}).items()}
        url = reverse(row["name"], kwargs=kwargs)
        for method in ("GET", "POST"):
            status, target = status_and_target(enrolling, method, url, row.get("data") if method == "POST" else None)
            expected = ENROLLING_REACHES.get((row["name"], method))
            if expected is not None:
                if status != expected:
                    wrong.append(f"{method} {url}: expected {expected}, got {status}")
            elif status != 302 or not target.startswith(enrol):
                wrong.append(f"{method} {url}: expected a redirect to {enrol}, got {status} {target}")
    assert not wrong, "\n".join(wrong)


def test_a_domain_admin_is_not_obliged_under_the_default(world, enrolling):
    bob = User.objects.get(username="bob")
    assert status_and_target(bob, "GET", reverse("dashboard"), None)[0] == 200


def test_the_staff_setting_obliges_domain_admins_too(world, enrolling, settings):
    settings.MAILADMIN_REQUIRE_2FA = "staff"
    bob = User.objects.get(username="bob")
    status, target = status_and_target(bob, "GET", reverse("dashboard"), None)
    assert status == 302 and target.startswith(reverse("security-enrol"))


def test_mailbox_users_are_never_sent_to_enrolment(world, enrolling, settings):
    settings.MAILADMIN_REQUIRE_2FA = "staff"
    jane = User.objects.get(username="jane@a.example")
    assert status_and_target(jane, "GET", reverse("account"), None)[0] == 200
