import pytest
from django.core.management import call_command
from django.urls import reverse

from recovery.core.audit import log_phi_access
from recovery.core.models import Role, User
from recovery.core.services import notify

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"


def test_pages_send_security_headers(client, specialist):
    client.force_login(specialist)
    response = client.get(reverse("home"))
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert (
        "'unsafe-inline'"
        not in response["Content-Security-Policy"].split("script-src")[1].split(";")[0]
    )
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"


def test_no_page_carries_inline_script(client, specialist):
    client.force_login(specialist)
    body = client.get(reverse("home")).content.decode()
    assert "<script>" not in body
    assert "<script " in body and 'src="/static/js/' in body


@pytest.mark.parametrize(
    ("persona", "visible", "hidden"),
    [
        ("specialist", ["My work", "API"], ["Team", "Access log", "Admin", "My cases"]),
        ("supervisor", ["My work", "Team", "Access log"], ["Admin", "My cases"]),
        ("auditor", ["My work", "Team", "Access log"], ["Admin", "My cases"]),
        ("admin_user", ["My work", "Team", "Access log", "Admin"], ["My cases"]),
    ],
)
def test_navigation_follows_the_role(client, request, persona, visible, hidden):
    client.force_login(request.getfixturevalue(persona))
    nav = client.get(reverse("home")).context["nav_items"]
    labels = [item["label"] for item in nav]
    for label in visible:
        assert label in labels
    for label in hidden:
        assert label not in labels


def test_attorney_sees_only_the_portal_navigation(client, attorney):
    client.force_login(attorney)
    response = client.get(reverse("portal:home"))
    assert response.status_code == 200
    assert [item["label"] for item in response.context["nav_items"]] == ["My cases", "Refer a case"]


@pytest.mark.parametrize("url_name", ["team", "access-log"])
def test_staff_pages_refuse_specialists_and_attorneys(client, specialist, attorney, url_name):
    for user in (specialist, attorney):
        client.force_login(user)
        assert client.get(reverse(url_name)).status_code == 403


def test_staff_cannot_open_the_portal(client, specialist):
    client.force_login(specialist)
    assert client.get(reverse("portal:home")).status_code == 403


def test_access_log_lists_who_read_what(client, auditor, specialist):
    log_phi_access(user=specialist, subject_type="member", subject_ids=[42])
    client.force_login(auditor)
    response = client.get(reverse("access-log"), {"user": "specialist"})
    assert response.status_code == 200
    assert b"member #42" in response.content


def test_notifications_show_unread_count_and_mark_read(client, specialist):
    notify(user=specialist, kind="test", title="Lien response due", key="k1")
    assert notify(user=specialist, kind="test", title="Lien response due", key="k1") is None
    client.force_login(specialist)
    assert client.get(reverse("home")).context["unread_notifications"] == 1
    client.post(reverse("notifications-read"))
    assert client.get(reverse("home")).context["unread_notifications"] == 0


def test_home_runs_a_fixed_number_of_queries(client, specialist, django_assert_max_num_queries):
    for n in range(30):
        notify(user=specialist, kind="test", title=f"Item {n}")
    client.force_login(specialist)
    with django_assert_max_num_queries(14) as few:
        client.get(reverse("home"))
    for n in range(30):
        notify(user=specialist, kind="test", title=f"More {n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("home"))


def test_api_docs_and_schema_are_served_locally(client, specialist):
    schema = client.get(reverse("api-schema"))
    assert schema.status_code == 200
    assert b"/api/auth/token/" in schema.content
    client.force_login(specialist)
    docs = client.get(reverse("api-docs"))
    assert docs.status_code == 200
    assert b"//cdn" not in docs.content and b"https://" not in docs.content.split(b"<body")[0]


def test_seed_demo_is_idempotent_and_its_users_sign_in(client, settings):
    settings.DEMO_PASSWORD = "demo-password-for-test"
    call_command("seed_demo", cases=5)
    call_command("seed_demo", cases=5)
    usernames = {
        "specialist",
        "specialist2",
        "supervisor",
        "supervisor2",
        "attorney",
        "attorney2",
        "auditor",
        "admin",
    }
    assert set(User.objects.values_list("username", flat=True)) == usernames
    assert User.objects.get(username="auditor").role == Role.AUDITOR
    assert User.objects.get(username="specialist").team.supervisor.username == "supervisor"
    response = client.post(
        reverse("login"), {"username": "supervisor2", "password": "demo-password-for-test"}
    )
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200


def test_the_openapi_schema_generates_without_warnings(tmp_path):
    # --fail-on-warn turns any naming collision or unresolvable field into an error.
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml")
    )
    assert (tmp_path / "schema.yaml").stat().st_size > 10_000
