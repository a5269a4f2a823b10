"""The dashboard's five-minute cache gives way as soon as money is posted to the ledger."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from cases.models import Case
from ledger.services import approve_disbursement, post_deposit, request_disbursement
from recovery.dashboard.selectors import dashboard_data
from tests import factories


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


def received_this_month(user) -> Decimal:
    return dashboard_data(user)["money"]["periods"][0]["recovered"]


def deposit(case, by, amount: str):
    return post_deposit(
        case=case,
        amount=Decimal(amount),
        received_on=timezone.localdate(),
        payer="Magnolia Mutual",
        instrument="check",
        reference=f"CHK-{amount}",
        idempotency_key=f"dash-{case.pk}-{amount}",
        recorded_by=by,
    )[0]


def test_a_deposit_refreshes_every_cached_slice_once_it_commits(
    supervisor, specialist, django_capture_on_commit_callbacks
):
    case = factories.open_case(specialist)
    assert received_this_month(supervisor) == Decimal("0.00")
    assert received_this_month(specialist) == Decimal("0.00")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        deposit(case, specialist, "250.00")
    # Not yet committed: the cached figures still stand.
    assert received_this_month(supervisor) == Decimal("0.00")
    for callback in callbacks:
        callback()

    assert received_this_month(supervisor) == Decimal("250.00")
    assert received_this_month(specialist) == Decimal("250.00")


def test_other_changes_keep_the_cached_figures_for_five_minutes(supervisor, specialist):
    factories.open_case(specialist)
    assert dashboard_data(supervisor)["open_cases"]["total"] == 1
    Case.objects.update(status=Case.Status.CLOSED)
    assert dashboard_data(supervisor)["open_cases"]["total"] == 1


def test_an_approved_disbursement_refreshes_the_approvals_waiting(
    supervisor, specialist, django_capture_on_commit_callbacks
):
    case = factories.open_case(specialist)
    with django_capture_on_commit_callbacks(execute=True):
        deposit(case, specialist, "400.00")
    payout = request_disbursement(
        case=case,
        amount=Decimal("400.00"),
        payee="Magnolia Mutual",
        purpose="attorney_refund",
        requested_by=specialist,
    )
    assert dashboard_data(supervisor)["approvals"]["disbursements"] == 1

    with django_capture_on_commit_callbacks(execute=True):
        approve_disbursement(disbursement=payout, approved_by=supervisor)

    assert dashboard_data(supervisor)["approvals"]["disbursements"] == 0
