"""The demo seed's money: liens, settlements, deposits and disbursements made through the real
services, so the dashboard, reports, queues and the ledger have something true to show."""

import csv
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import F, Sum
from django.urls import reverse
from django.utils import timezone

from cases.models import Case
from ledger.models import CaseBalance, Deposit, Disbursement, Entry
from liens.models import Lien, LienChange
from recovery.core.models import Role, User
from recovery.dashboard.selectors import compute
from settlements.models import Settlement

pytestmark = pytest.mark.django_db

CASES = 60


@pytest.fixture
def seeded(settings):
    settings.DEMO_PASSWORD = "demo-password-for-test"
    call_command("seed_demo", cases=CASES)
    return {u.username: u for u in User.objects.all()}


def _liens_are_filed_and_closed_recoveries_are_finished():
    assert Lien.objects.filter(filed_on__isnull=False).count() >= CASES // 3
    recovered = Case.objects.filter(
        status=Case.Status.CLOSED, outcome__in=["recovered_full", "compromised"]
    )
    assert recovered.exists()
    for case in recovered:
        # The lien is released, the money came in and went out again: nothing is held.
        assert not case.liens.exclude(status=Lien.Status.RELEASED).exists(), case.number
        balance = CaseBalance.objects.get(case=case)
        assert balance.held == Decimal("0.00") and balance.received > 0, case.number
        assert balance.received == balance.disbursed
        settlement = case.settlements.get(status=Settlement.Status.ACCEPTED)
        assert balance.received == settlement.agreed_recovery
    # Nothing stays held on a closed case, and no lien stays open on one.
    assert not CaseBalance.objects.filter(case__status=Case.Status.CLOSED).exclude(held=0).exists()
    assert not Lien.objects.filter(
        case__status=Case.Status.CLOSED, status__in=[Lien.Status.FILED, Lien.Status.AMENDED]
    ).exists()


def _every_approval_is_by_a_supervisor_who_did_not_ask():
    approved = Disbursement.objects.filter(status=Disbursement.Status.APPROVED)
    assert approved.exists()
    assert not approved.filter(decided_by=F("requested_by")).exists()
    assert set(approved.values_list("decided_by__role", flat=True)) <= {Role.SUPERVISOR}
    assert not LienChange.objects.filter(
        status=LienChange.Status.APPROVED, decided_by=F("requested_by")
    ).exists()
    beyond = Settlement.objects.filter(status=Settlement.Status.ACCEPTED, within_authority=False)
    assert beyond.exists()
    assert not beyond.filter(decided_by=F("proposed_by")).exists()
    assert all(s.justification and s.compromise_reason for s in beyond)


def _the_queues_have_work_waiting():
    waiting = (
        Settlement.objects.filter(status=Settlement.Status.PENDING).count()
        + Disbursement.objects.filter(status=Disbursement.Status.REQUESTED).count()
        + LienChange.objects.filter(status=LienChange.Status.REQUESTED).count()
    )
    assert waiting > 0
    # What waits for a disbursement is still held on the case.
    for request in Disbursement.objects.filter(status=Disbursement.Status.REQUESTED):
        assert CaseBalance.objects.get(case=request.case).held >= request.amount


def _the_ledger_balances_and_matches_the_deposits():
    assert Entry.objects.aggregate(total=Sum("amount"))["total"] == Decimal("0.00")
    deposits = Deposit.objects.aggregate(total=Sum("amount"))["total"]
    assert deposits > 0
    assert CaseBalance.objects.aggregate(total=Sum("received"))["total"] == deposits
    # Each deposit's date is the walk's, never after today, never before its settlement.
    for deposit in Deposit.objects.select_related("settlement"):
        assert deposit.settlement is not None
        assert deposit.received_on >= deposit.settlement.decided_at.date()


def _history_names_the_people_who_acted(users_by_name):
    lien = Lien.objects.filter(filed_on__isnull=False).first()
    users = {h.history_user for h in lien.history.all()}
    assert None not in users and users <= set(users_by_name.values())


def test_the_money_follows_the_rules(seeded):
    """One seed (it takes seconds), every rule checked on it."""
    _liens_are_filed_and_closed_recoveries_are_finished()
    _every_approval_is_by_a_supervisor_who_did_not_ask()
    _the_queues_have_work_waiting()
    _the_ledger_balances_and_matches_the_deposits()
    _history_names_the_people_who_acted(seeded)


def test_dashboard_and_reports_show_the_recoveries_and_a_second_run_adds_nothing(seeded, client):
    supervisor = seeded["supervisor"]
    data = compute(supervisor)
    assert sum(amount for _month, amount in data["money"]["series"]) > 0
    assert data["cycle"]["settled"] > 0 and data["cycle"]["with_deposit"] > 0

    client.force_login(supervisor)
    page = client.get(reverse("dashboard:index"))
    assert page.status_code == 200
    for name in ("recoveries", "liens", "compromises", "productivity"):
        response = client.get(
            reverse(f"dashboard:report-{name}"),
            {
                "preset": "custom",
                "date_from": "2020-01-01",
                "date_to": str(timezone.localdate()),
                "format": "csv",
            },
        )
        body = (
            b"".join(response.streaming_content) if response.streaming else response.content
        ).decode("utf-8-sig")
        assert response.status_code == 200, (name, body)
        rows = [row for row in csv.reader(io.StringIO(body)) if any(row)]
        assert len(rows) > 2, (name, rows[:3])

    before = (
        Lien.objects.count(),
        Settlement.objects.count(),
        Deposit.objects.count(),
        Disbursement.objects.count(),
        Entry.objects.count(),
    )
    call_command("seed_demo", cases=CASES)
    after = (
        Lien.objects.count(),
        Settlement.objects.count(),
        Deposit.objects.count(),
        Disbursement.objects.count(),
        Entry.objects.count(),
    )
    assert after == before
