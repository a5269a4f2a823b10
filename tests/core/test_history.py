from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from recovery.core.audit import acting_as, log_phi_access
from recovery.core.models import PhiAccess, User
from recovery.core.services import deactivate_dormant_accounts
from recovery.core.tasks import deactivate_dormant_accounts as deactivate_task

pytestmark = pytest.mark.django_db


def test_a_change_through_the_admin_records_the_acting_user(client, admin_user, specialist):
    client.force_login(admin_user)
    url = reverse("admin:core_user_change", args=[specialist.pk])
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {
        k: v
        for k, v in form.initial.items()
        if v is not None
        and k not in {"password", "groups", "user_permissions", "last_login", "date_joined"}
    }
    data.update(
        {
            "username": "specialist",
            "role": "specialist",
            "team": specialist.team_id,
            "authority_max_reduction_amount": "3000.00",
            "authority_max_reduction_percent": "12.50",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "09:00:00",
            "is_active": "on",
        }
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    latest = specialist.history.first()
    assert latest.history_user == admin_user
    assert latest.authority_max_reduction_amount == __import__("decimal").Decimal("3000.00")


def test_acting_as_credits_writes_made_outside_a_request(supervisor, specialist):
    with acting_as(supervisor):
        specialist.title = "Senior specialist"
        specialist.save()
    assert specialist.history.first().history_user == supervisor
    specialist.title = "Specialist"
    specialist.save()
    assert specialist.history.first().history_user is None


def test_a_task_records_the_user_who_asked_for_it(supervisor, specialist):
    User.objects.filter(pk=specialist.pk).update(last_login=timezone.now() - timedelta(days=400))
    deactivate_task.apply(kwargs={"acting_user_id": supervisor.pk}).get()
    specialist.refresh_from_db()
    assert not specialist.is_active
    record = specialist.history.first()
    assert record.history_user == supervisor
    assert "No sign-in" in record.history_change_reason


def test_dormant_accounts_are_deactivated_once(specialist, supervisor):
    User.objects.filter(pk=specialist.pk).update(last_login=timezone.now() - timedelta(days=400))
    assert deactivate_dormant_accounts() == [specialist.pk]
    assert deactivate_dormant_accounts() == []
    assert User.objects.get(pk=supervisor.pk).is_active


def test_phi_access_is_logged_once_per_subject(rf, auditor):
    request = rf.get("/cases/7/")
    request.META["REMOTE_ADDR"] = "10.0.0.5"
    count = log_phi_access(
        user=auditor, subject_type="member", subject_ids=[3, 3, 4], case_id=7, request=request
    )
    assert count == 2
    rows = list(PhiAccess.objects.order_by("subject_id"))
    assert [(r.subject_id, r.case_id, r.path, r.ip_address) for r in rows] == [
        (3, 7, "/cases/7/", "10.0.0.5"),
        (4, 7, "/cases/7/", "10.0.0.5"),
    ]
