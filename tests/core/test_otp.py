"""The optional TOTP second factor: required by role or by having a device, verified after login."""

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from ..conftest import PASSWORD

HOME = reverse("home")
SETUP = reverse("otp-setup")
VERIFY = reverse("otp-verify")


def code_for(device) -> str:
    return f"{totp(device.bin_key):06d}"


def wrong_code(device) -> str:
    return f"{(totp(device.bin_key) + 1) % 1_000_000:06d}"


@pytest.fixture
def supervisors_need_otp(settings):
    settings.OTP_REQUIRED_ROLES = ["supervisor", "admin"]


def password_login(client, user):
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return response


def test_required_role_without_device_is_sent_to_setup(client, supervisor, supervisors_need_otp):
    password_login(client, supervisor)
    response = client.get(HOME)
    assert response.status_code == 302
    assert response.url.startswith(SETUP)

    page = client.get(SETUP)
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user=supervisor, confirmed=False)
    assert "otpauth://totp/" in page.content.decode()
    assert page.context["secret"]

    response = client.post(SETUP, {"code": code_for(device), "next": HOME})
    assert response.status_code == 302
    assert response.url == HOME
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(HOME).status_code == 200


def test_setup_rejects_a_wrong_code(client, supervisor, supervisors_need_otp):
    password_login(client, supervisor)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=supervisor, confirmed=False)
    response = client.post(SETUP, {"code": wrong_code(device)})
    assert response.status_code == 400
    assert "did not match" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert client.get(HOME).status_code == 302


def test_required_role_with_device_is_sent_to_verify(client, supervisor, supervisors_need_otp):
    TOTPDevice.objects.create(user=supervisor, name="phone", confirmed=True)
    password_login(client, supervisor)
    response = client.get(HOME)
    assert response.status_code == 302
    assert response.url.startswith(VERIFY)
    # Setting up another device does not get round the one already confirmed.
    assert client.get(SETUP).url.startswith(VERIFY)


def test_wrong_code_is_an_error_and_keeps_the_user_out(client, supervisor, supervisors_need_otp):
    device = TOTPDevice.objects.create(user=supervisor, name="phone", confirmed=True)
    password_login(client, supervisor)
    response = client.post(VERIFY, {"code": wrong_code(device)})
    assert response.status_code == 400
    assert "did not match" in response.content.decode()
    assert client.get(HOME).status_code == 302


def test_malformed_code_is_an_error(client, supervisor, supervisors_need_otp):
    TOTPDevice.objects.create(user=supervisor, name="phone", confirmed=True)
    password_login(client, supervisor)
    response = client.post(VERIFY, {"code": "abc"})
    assert response.status_code == 400


def test_right_code_lets_the_user_through(client, supervisor, supervisors_need_otp):
    device = TOTPDevice.objects.create(user=supervisor, name="phone", confirmed=True)
    password_login(client, supervisor)
    response = client.post(VERIFY, {"code": code_for(device), "next": "/notifications/"})
    assert response.status_code == 302
    assert response.url == "/notifications/"
    assert client.get(HOME).status_code == 200
    assert client.get(reverse("notifications")).status_code == 200


def test_next_cannot_point_off_site(client, supervisor, supervisors_need_otp):
    device = TOTPDevice.objects.create(user=supervisor, name="phone", confirmed=True)
    password_login(client, supervisor)
    response = client.post(VERIFY, {"code": code_for(device), "next": "https://evil.example/"})
    assert response.url == HOME


def test_a_confirmed_device_requires_verification_whatever_the_role(client, specialist, settings):
    settings.OTP_REQUIRED_ROLES = []
    device = TOTPDevice.objects.create(user=specialist, name="phone", confirmed=True)
    password_login(client, specialist)
    assert client.get(HOME).url.startswith(VERIFY)
    client.post(VERIFY, {"code": code_for(device)})
    assert client.get(HOME).status_code == 200


def test_role_not_required_and_no_device_is_unaffected(client, specialist, supervisors_need_otp):
    password_login(client, specialist)
    assert client.get(HOME).status_code == 200
    # The verify page has nothing to verify and offers optional enrolment instead.
    assert client.get(VERIFY).url.startswith(SETUP)


def test_logout_always_works(client, supervisor, supervisors_need_otp):
    TOTPDevice.objects.create(user=supervisor, name="phone", confirmed=True)
    password_login(client, supervisor)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response.url == reverse("login")
    assert "_auth_user_id" not in client.session


def test_session_api_calls_need_the_second_factor_but_tokens_do_not(
    client, api, supervisor, supervisors_need_otp
):
    TOTPDevice.objects.create(user=supervisor, name="phone", confirmed=True)
    password_login(client, supervisor)
    assert client.get("/api/me/").status_code == 403
    assert api.as_user(supervisor).get("/api/me/").status_code == 200


def test_admin_is_behind_the_second_factor(client, admin_user, supervisors_need_otp):
    password_login(client, admin_user)
    assert client.get("/admin/").url.startswith(SETUP)


def test_portal_attorneys_owe_a_second_factor_only_when_their_role_is_listed(
    client, attorney, settings
):
    TOTPDevice.objects.create(user=attorney, name="phone", confirmed=True)
    settings.OTP_REQUIRED_ROLES = ["supervisor"]
    password_login(client, attorney)
    assert client.get(reverse("portal:home")).status_code == 200
    settings.OTP_REQUIRED_ROLES = ["attorney"]
    assert client.get(reverse("portal:home")).url.startswith(VERIFY)


def test_a_second_wrong_code_straight_away_is_throttled(client, supervisor, supervisors_need_otp):
    device = TOTPDevice.objects.create(user=supervisor, name="phone", confirmed=True)
    password_login(client, supervisor)
    client.post(VERIFY, {"code": wrong_code(device)})
    response = client.post(VERIFY, {"code": code_for(device)})
    assert response.status_code == 400
    assert "Too many wrong codes" in response.content.decode()
