import pytest
from django.urls import reverse
from rest_framework.test import APIRequestFactory

from recovery.core.models import Role
from recovery.core.permissions import IsStaffRole, IsSupervisor, role_permission

pytestmark = pytest.mark.django_db


def test_a_specialist_calling_a_supervisor_only_endpoint_gets_403(api, specialist):
    assert api.as_user(specialist).get(reverse("api-users")).status_code == 403


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("supervisor", 200),
        ("auditor", 200),
        ("admin_user", 200),
        ("specialist", 403),
        ("attorney", 403),
    ],
)
def test_user_list_is_for_supervisors_admins_and_auditors(api, request, persona, status):
    user = request.getfixturevalue(persona)
    assert api.as_user(user).get(reverse("api-users")).status_code == status


def test_anonymous_api_calls_are_401(api):
    assert api.get(reverse("api-users")).status_code == 401
    assert api.get(reverse("api-me")).status_code == 401


def test_every_role_can_read_itself(api, attorney, auditor):
    assert api.as_user(attorney).get(reverse("api-me")).json()["role"] == "attorney"
    assert api.as_user(auditor).get(reverse("api-me")).json()["role"] == "auditor"


def _request(method, user):
    request = getattr(APIRequestFactory(), method)("/")
    request.user = user
    return request


def test_auditors_only_read_through_staff_permission(auditor, specialist, attorney):
    perm = IsStaffRole()
    assert perm.has_permission(_request("get", auditor), None)
    assert not perm.has_permission(_request("post", auditor), None)
    assert perm.has_permission(_request("post", specialist), None)
    assert not perm.has_permission(_request("get", attorney), None)


def test_supervisor_permission_excludes_specialists(supervisor, specialist):
    assert IsSupervisor().has_permission(_request("post", supervisor), None)
    assert not IsSupervisor().has_permission(_request("get", specialist), None)


def test_role_permission_factory(specialist, attorney):
    perm = role_permission(Role.ATTORNEY)()
    assert perm.has_permission(_request("get", attorney), None)
    assert not perm.has_permission(_request("get", specialist), None)


def test_user_list_paginates_and_filters(api, supervisor, specialist, specialist2):
    body = api.as_user(supervisor).get(reverse("api-users"), {"role": "specialist"}).json()
    assert body["count"] == 2
    assert {u["username"] for u in body["results"]} == {"specialist", "specialist2"}
