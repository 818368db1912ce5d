"""Two-factor login for staff: enrolment, the code step, recovery codes, disabling, reset."""

import base64

import pytest
from django.core.management import call_command
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import ACTOR_PASSWORD
from mailadmin.models import AuditEntry
from mailadmin.operator import Operator
from mailadmin.staff import codes, services
from mailadmin.staff.models import RecoveryCode
from mailadmin.staff.testing import totp_code


def log_in(client, username, password=ACTOR_PASSWORD):
    return client.post(reverse("login"), {"username": username, "password": password})


def enrol(client):
    """Enrol through the pages; returns (device key, recovery codes)."""
    client.get(reverse("security-enrol"))
    key = TOTPDevice.objects.get(confirmed=False).bin_key
    response = client.post(reverse("security-enrol"), {"code": totp_code(key)})
    assert response.status_code == 200
    return key, response.context["codes"]


@pytest.fixture
def enrolled_bob(client, bob):
    client.force_login(bob)
    key, recovery = enrol(client)
    client.logout()
    return key, recovery


def test_enrolment_confirms_the_device_and_shows_ten_codes_stored_only_hashed(client, bob):
    client.force_login(bob)
    key, recovery = enrol(client)
    assert TOTPDevice.objects.get(user=bob).confirmed
    assert len(recovery) == 10 and len(set(recovery)) == 10
    stored = set(RecoveryCode.objects.values_list("digest", flat=True))
    assert stored == {codes.digest(code) for code in recovery}
    assert not stored & {codes.normalized(code) for code in recovery}
    assert AuditEntry.objects.filter(object_type="staff account", changes__has_key="two-factor").exists()


def test_a_wrong_first_code_does_not_turn_it_on(client, bob):
    client.force_login(bob)
    client.get(reverse("security-enrol"))
    key = TOTPDevice.objects.get(user=bob).bin_key
    wrong = f"{(int(totp_code(key)) + 1) % 1000000:06d}"
    response = client.post(reverse("security-enrol"), {"code": wrong})
    assert response.context["form"].errors["code"]
    assert not TOTPDevice.objects.filter(user=bob, confirmed=True).exists()


def test_the_enrolment_page_shows_a_locally_made_qr_code_and_the_secret(client, bob):
    client.force_login(bob)
    page = client.get(reverse("security-enrol")).content.decode()
    device = TOTPDevice.objects.get(user=bob)
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    assert secret in page.replace(" ", "")
    svg = page.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert "<path" in svg
    # Drawn here: no image fetched from anywhere, and the otpauth:// URI is in no link.
    assert "<img" not in page and 'src="http' not in page and "otpauth://" not in page


def test_after_the_password_an_enrolled_admin_must_give_a_code(client, enrolled_bob):
    key, _ = enrolled_bob
    response = log_in(client, "bob")
    assert response.status_code == 302
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302 and response.url.startswith(reverse("login-code"))
    response = client.post(reverse("login-code") + "?next=/dashboard/", {"code": totp_code(key, steps_ahead=1)})
    assert response.status_code == 302 and response.url == "/dashboard/"
    assert client.get(reverse("dashboard")).status_code == 200


def test_a_wrong_code_keeps_the_admin_out_and_is_logged_for_fail2ban(client, enrolled_bob, caplog):
    import logging

    logger = logging.getLogger("mailadmin.auth")
    logger.addHandler(caplog.handler)
    try:
        log_in(client, "bob")
        response = client.post(reverse("login-code"), {"code": "000000"})
    finally:
        logger.removeHandler(caplog.handler)
    assert response.status_code == 200 and response.context["form"].errors["code"]
    assert client.get(reverse("dashboard")).status_code == 302
    assert "mailadmin login failed: rhost=127.0.0.1 user=bob" in caplog.text


def test_a_recovery_code_works_once(client, enrolled_bob):
    _, recovery = enrolled_bob
    log_in(client, "bob")
    response = client.post(reverse("login-code"), {"code": recovery[0].upper().replace("-", " ")})
    assert response.status_code == 302
    assert client.get(reverse("dashboard")).status_code == 200
    client.logout()
    log_in(client, "bob")
    response = client.post(reverse("login-code"), {"code": recovery[0]})
    assert response.status_code == 200
    assert client.get(reverse("dashboard")).status_code == 302


def test_new_recovery_codes_replace_the_old_ones(client, bob, enrolled_bob):
    key, old = enrolled_bob
    log_in(client, "bob")
    client.post(reverse("login-code"), {"code": totp_code(key, steps_ahead=1)})
    new = client.post(reverse("security-recovery-codes")).context["codes"]
    assert set(new).isdisjoint(old)
    device_codes = set(RecoveryCode.objects.values_list("digest", flat=True))
    assert device_codes == {codes.digest(code) for code in new}


def test_2fa_reset_lets_an_admin_who_lost_the_device_log_in_with_the_password(client, bob, enrolled_bob):
    call_command("staff", "2fa-reset", "bob")
    assert not TOTPDevice.objects.filter(user=bob).exists() and not RecoveryCode.objects.exists()
    log_in(client, "bob")
    assert client.get(reverse("dashboard")).status_code == 200
    entry = AuditEntry.objects.filter(object_repr="bob", via="cli").latest("id")
    assert entry.changes == {"two-factor": ["on", "off"]}


def test_an_obliged_superadmin_goes_to_enrolment_right_after_the_password(client, alice, settings):
    settings.MAILADMIN_REQUIRE_2FA = "superadmins"
    response = client.post(reverse("login"), {"username": "alice", "password": ACTOR_PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("security-enrol"))
    key, _ = enrol(client)
    assert client.get(reverse("dashboard")).status_code == 200


def test_turning_it_off_needs_a_recent_confirmation(client, bob, enrolled_bob):
    from mailadmin.staff.testing import mark_session

    key, _ = enrolled_bob
    log_in(client, "bob")
    client.post(reverse("login-code"), {"code": totp_code(key, steps_ahead=1)})
    mark_session(client, recent=False)
    response = client.post(reverse("security-disable"))
    assert response.url.startswith(reverse("security-reauth"))
    assert TOTPDevice.objects.filter(user=bob).exists()
    mark_session(client, recent=True)
    client.post(reverse("security-disable"))
    assert not TOTPDevice.objects.filter(user=bob).exists()


def test_removing_the_factor_of_an_account_without_one_says_so(bob):
    assert services.remove_second_factor(Operator.command_line(), bob) is False
