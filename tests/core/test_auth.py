from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def login(client, username, password=PASSWORD):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_login_page_renders_for_anonymous_users(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b"Sign in" in response.content


def test_pages_require_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_specialist_lands_on_my_work(client, specialist):
    response = login(client, "specialist")
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200


def test_attorney_is_sent_to_the_portal(client, attorney):
    login(client, "attorney")
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:home")


def test_wrong_password_is_a_form_error_not_a_login(client, specialist):
    response = login(client, "specialist", "wrong-password")
    assert response.status_code == 200
    assert b"did not match" in response.content
    assert "_auth_user_id" not in client.session


def test_repeated_failures_lock_the_account_even_with_the_right_password(
    client, specialist, settings
):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "specialist", "wrong-password")
    response = login(client, "specialist")
    assert response.status_code == 429
    assert b"temporarily locked" in response.content
    assert "_auth_user_id" not in client.session


def test_lockout_also_guards_the_token_endpoint(api, specialist, settings):
    url = reverse("api-token")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        api.post(url, {"username": "specialist", "password": "nope"}, format="json")
    response = api.post(url, {"username": "specialist", "password": PASSWORD}, format="json")
    assert response.status_code in (400, 403, 429)
    assert "token" not in response.json()


def test_session_expires_after_idle_minutes(client, specialist, settings):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        login(client, "specialist")
        assert client.get(reverse("home")).status_code == 200
        traveller.shift(timedelta(minutes=settings.SESSION_IDLE_MINUTES - 1))
        # Activity within the window renews the session...
        assert client.get(reverse("home")).status_code == 200
        traveller.shift(timedelta(minutes=settings.SESSION_IDLE_MINUTES - 1))
        assert client.get(reverse("home")).status_code == 200
        # ...and a full idle period ends it.
        traveller.shift(timedelta(minutes=settings.SESSION_IDLE_MINUTES, seconds=5))
        response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_pages_carry_the_idle_timeout_for_the_warning(client, specialist, settings):
    login(client, "specialist")
    body = client.get(reverse("home")).content.decode()
    assert f'data-idle-seconds="{settings.SESSION_IDLE_MINUTES * 60}"' in body
    assert 'id="idle-warning"' in body


def test_keepalive_needs_post_and_a_session(client, specialist):
    assert client.post(reverse("keepalive")).status_code == 302
    login(client, "specialist")
    assert client.get(reverse("keepalive")).status_code == 405
    assert client.post(reverse("keepalive")).status_code == 204


def test_token_login_returns_a_token_that_authenticates(api, specialist):
    response = api.post(
        reverse("api-token"), {"username": "specialist", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    token = response.json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = api.get(reverse("api-me"))
    assert me.status_code == 200
    assert me.json()["username"] == "specialist"
    assert me.json()["role"] == "specialist"
    assert me.json()["authority_max_reduction_amount"] == "2500.00"


def test_token_login_with_bad_credentials_is_a_400_with_a_message(api, specialist):
    response = api.post(
        reverse("api-token"), {"username": "specialist", "password": "bad"}, format="json"
    )
    assert response.status_code == 400
    assert "non_field_errors" in response.json()


def test_token_login_with_missing_fields_names_them(api):
    response = api.post(reverse("api-token"), {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) >= {"username", "password"}


def test_inactive_users_cannot_get_a_token(api, specialist):
    specialist.is_active = False
    specialist.save()
    response = api.post(
        reverse("api-token"), {"username": "specialist", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 400


def test_logout_is_a_post(client, specialist):
    login(client, "specialist")
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302
