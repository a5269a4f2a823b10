from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from cases.models import Case, Deadline
from recovery.core.exceptions import Conflict
from settlements import services
from settlements.models import Installment, PaymentArrangement, Settlement
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(specialist):
    """A Georgia case (default formula: procurement cost) with a $10,000.00 lien."""
    person = factories.member()
    factories.claim_line(person, service_from=date(2025, 3, 1), paid="6000.00")
    factories.claim_line(person, service_from=date(2025, 3, 2), paid="4000.00")
    case = factories.open_case(specialist, person, code="GA")
    case.firm = factories.law_firm()
    factories.attorney_of_record(case, case.firm, specialist)
    case.refresh_from_db()
    assert case.lien_amount == Decimal("10000.00")
    return case


def test_a_formula_recovery_within_the_law_is_accepted_by_the_specialist(case, specialist):
    # 411.37: ratio 35,000/100,000 = 0.35; share 0.35 × 10,000 = 3,500; recovery 6,500.
    settlement = services.propose_settlement(
        case=case,
        proposed_by=specialist,
        gross_settlement=Decimal("100000.00"),
        attorney_fees=Decimal("33333.33"),
        costs=Decimal("1666.67"),
        formula="procurement_cost",
    )
    assert settlement.status == Settlement.Status.ACCEPTED
    assert settlement.within_authority and settlement.decided_by == specialist
    assert settlement.computed_recovery == settlement.agreed_recovery == Decimal("6500.00")
    assert settlement.reduction_amount == Decimal("3500.00")
    assert settlement.calculation["discretionary_reduction"] == "0.00"
    case.refresh_from_db()
    assert case.status == Case.Status.SETTLEMENT or case.status == Case.Status.NEW
    deadline = case.deadlines.get(kind=Deadline.Kind.FUNDS_DUE)
    assert deadline.due_date == timezone.localdate() + timedelta(days=30) == settlement.funds_due_on


def test_a_compromise_beyond_authority_needs_a_justification_and_a_supervisor(
    case, specialist, supervisor
):
    # Specialist's limits: $2,500 and 10% of the lien. Formula gives 6,500; agreeing to 3,000
    # gives up 3,500 (35% of the lien) at their discretion: beyond both limits.
    args = dict(
        case=case,
        proposed_by=specialist,
        gross_settlement=Decimal("100000.00"),
        attorney_fees=Decimal("35000.00"),
        formula="procurement_cost",
        agreed_recovery=Decimal("3000.00"),
        compromise_reason="Limited policy",
    )
    with pytest.raises(ValidationError) as error:
        services.propose_settlement(**args)
    assert "justification" in error.value.message_dict
    settlement = services.propose_settlement(
        **args, justification="Member has catastrophic injuries; policy limits exhausted"
    )
    assert settlement.status == Settlement.Status.PENDING and settlement.approver == supervisor
    assert supervisor.notifications.filter(title__contains="awaits your approval").exists()
    assert not case.deadlines.filter(kind=Deadline.Kind.FUNDS_DUE).exists()
    with pytest.raises(PermissionDenied):
        services.approve_settlement(settlement=settlement, approved_by=specialist)
    services.approve_settlement(settlement=settlement, approved_by=supervisor, note="Agreed")
    settlement.refresh_from_db()
    assert settlement.status == Settlement.Status.ACCEPTED and settlement.decided_by == supervisor
    assert (
        settlement.history.filter(status="accepted", history_user=None).exists()
        or settlement.history.count() >= 2
    )
    assert case.deadlines.filter(kind=Deadline.Kind.FUNDS_DUE).exists()


def test_a_small_compromise_within_both_limits_is_accepted(case, specialist):
    # Formula 6,500; agreed 6,000: 500 below (5% of the lien) — within $2,500 and 10%.
    settlement = services.propose_settlement(
        case=case,
        proposed_by=specialist,
        gross_settlement=Decimal("100000.00"),
        attorney_fees=Decimal("35000.00"),
        formula="procurement_cost",
        agreed_recovery=Decimal("6000.00"),
        compromise_reason="Quick payment",
    )
    assert settlement.status == Settlement.Status.ACCEPTED


def test_the_percentage_limit_binds_even_when_the_dollars_fit(specialist, supervisor):
    # A $1,000 lien: giving up $200 is within $2,500 but is 20% of the lien (> 10%).
    person = factories.member()
    factories.claim_line(person, service_from=date(2025, 3, 1), paid="1000.00")
    case = factories.open_case(specialist, person, code="GA")
    with pytest.raises(ValidationError) as error:
        services.propose_settlement(
            case=case,
            proposed_by=specialist,
            gross_settlement=Decimal("50000.00"),
            formula="full_lien",
            agreed_recovery=Decimal("800.00"),
            compromise_reason="Hardship",
        )
    assert "justification" in error.value.message_dict


def test_a_supervisor_cannot_approve_their_own_proposal(case, supervisor, supervisor2):
    supervisor.authority_max_reduction_amount = Decimal("0")
    supervisor.save()
    settlement = services.propose_settlement(
        case=case,
        proposed_by=supervisor,
        gross_settlement=Decimal("100000.00"),
        attorney_fees=Decimal("35000.00"),
        formula="procurement_cost",
        agreed_recovery=Decimal("5000.00"),
        compromise_reason="x",
        justification="y",
    )
    assert settlement.status == Settlement.Status.PENDING
    with pytest.raises(PermissionDenied):
        services.approve_settlement(settlement=settlement, approved_by=supervisor)


def test_the_database_refuses_a_self_approved_settlement_beyond_authority(
    case, supervisor, supervisor2
):
    supervisor.authority_max_reduction_amount = Decimal("0")
    supervisor.save()
    settlement = services.propose_settlement(
        case=case,
        proposed_by=supervisor,
        gross_settlement=Decimal("100000.00"),
        attorney_fees=Decimal("35000.00"),
        formula="procurement_cost",
        agreed_recovery=Decimal("5000.00"),
        compromise_reason="x",
        justification="y",
    )
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE settlements_settlement SET decided_by_id = proposed_by_id WHERE id = %s",
            [settlement.pk],
        )


def test_rejection_needs_a_reason_and_a_new_proposal_can_follow(case, specialist, supervisor):
    pending = services.propose_settlement(
        case=case,
        proposed_by=specialist,
        gross_settlement=Decimal("100000.00"),
        attorney_fees=Decimal("35000.00"),
        formula="procurement_cost",
        agreed_recovery=Decimal("2000.00"),
        compromise_reason="x",
        justification="y",
    )
    with pytest.raises(Conflict):
        services.propose_settlement(
            case=case, proposed_by=specialist, gross_settlement=Decimal("100000.00")
        )
    with pytest.raises(ValidationError):
        services.reject_settlement(settlement=pending, rejected_by=supervisor, note="")
    services.reject_settlement(settlement=pending, rejected_by=supervisor, note="Counter at 6,500")
    accepted = services.propose_settlement(
        case=case,
        proposed_by=specialist,
        gross_settlement=Decimal("100000.00"),
        attorney_fees=Decimal("35000.00"),
        formula="procurement_cost",
    )
    assert accepted.status == Settlement.Status.ACCEPTED


def test_invalid_figures_name_their_field(case, specialist):
    with pytest.raises(ValidationError) as error:
        services.propose_settlement(
            case=case,
            proposed_by=specialist,
            gross_settlement=Decimal("1000.00"),
            attorney_fees=Decimal("1500.00"),
        )
    assert "attorney_fees" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.propose_settlement(
            case=case,
            proposed_by=specialist,
            gross_settlement=Decimal("1000.00"),
            formula="pro_rata",
        )
    assert "full_value" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.propose_settlement(
            case=case,
            proposed_by=specialist,
            gross_settlement=Decimal("100000.00"),
            agreed_recovery=Decimal("20000.00"),
        )
    assert "agreed_recovery" in error.value.message_dict
    assert not Settlement.objects.exists()


def test_a_florida_case_defaults_to_statutory_half(specialist):
    # 409.910(11)(f): 100,000 − 25,000 fees − 5,000 costs = 70,000; half = 35,000; capped at 10,000.
    person = factories.member()
    factories.claim_line(person, service_from=date(2025, 3, 1), paid="10000.00")
    case = factories.open_case(specialist, person, code="FL")
    case.jurisdiction.default_formula = "statutory_half"
    case.jurisdiction.save()
    settlement = services.propose_settlement(
        case=case,
        proposed_by=specialist,
        gross_settlement=Decimal("100000.00"),
        attorney_fees=Decimal("25000.00"),
        costs=Decimal("5000.00"),
    )
    assert settlement.formula == "statutory_half" and settlement.agreed_recovery == Decimal(
        "10000.00"
    )


def test_an_unanswered_approval_escalates_after_business_hours(
    case, specialist, supervisor, admin_user, settings
):
    settings.SETTLEMENT_APPROVAL_HOURS = 16
    with time_machine.travel(
        timezone.make_aware(timezone.datetime(2026, 11, 20, 9, 0)), tick=False
    ) as clock:  # a Friday
        settlement = services.propose_settlement(
            case=case,
            proposed_by=specialist,
            gross_settlement=Decimal("100000.00"),
            attorney_fees=Decimal("35000.00"),
            formula="procurement_cost",
            agreed_recovery=Decimal("2000.00"),
            compromise_reason="x",
            justification="y",
        )
        # Friday 9:00–17:00 is 8 business hours, the weekend none, Monday 8:00–16:00 another 8.
        clock.move_to(timezone.make_aware(timezone.datetime(2026, 11, 23, 16, 0)))
        assert services.escalate_stale_approvals() == []  # 16 hours: not yet past the limit
    moved = services.escalate_stale_approvals(
        now=timezone.make_aware(timezone.datetime(2026, 11, 23, 16, 30))
    )
    settlement.refresh_from_db()
    assert moved == [settlement.pk] and settlement.approver == admin_user
    assert admin_user.notifications.filter(kind="escalation").exists()
    assert (
        services.escalate_stale_approvals(
            now=timezone.make_aware(timezone.datetime(2026, 11, 23, 17, 0))
        )
        == []
    )


def test_installments_split_to_the_cent_and_missed_ones_are_marked(case, specialist):
    settlement = services.propose_settlement(
        case=case,
        proposed_by=specialist,
        gross_settlement=Decimal("100000.00"),
        attorney_fees=Decimal("33333.33"),
        costs=Decimal("1666.67"),
        formula="procurement_cost",
    )
    arrangement = services.arrange_installments(
        settlement=settlement,
        arranged_by=specialist,
        installments=3,
        first_due_on=date(2026, 1, 31),
    )
    amounts = list(arrangement.installments.values_list("amount", flat=True))
    assert amounts == [Decimal("2166.66"), Decimal("2166.66"), Decimal("2166.68")]
    assert sum(amounts) == settlement.agreed_recovery
    assert list(arrangement.installments.values_list("due_on", flat=True)) == [
        date(2026, 1, 28),
        date(2026, 2, 28),
        date(2026, 3, 28),
    ]
    first = arrangement.installments.get(number=1)
    services.record_installment_payment(
        installment=first, amount=Decimal("2166.66"), recorded_by=specialist
    )
    assert services.mark_missed_installments(today=date(2026, 3, 1)) == 1
    assert (
        Installment.objects.get(arrangement=arrangement, number=2).status
        == Installment.Status.MISSED
    )
    for number in (2, 3):
        row = Installment.objects.get(arrangement=arrangement, number=number)
        services.record_installment_payment(
            installment=row, amount=row.amount, recorded_by=specialist
        )
    arrangement.refresh_from_db()
    assert arrangement.status == PaymentArrangement.Status.COMPLETED


def test_balance_adjustments_need_another_supervisor(case, specialist, supervisor):
    adjustment = services.request_adjustment(
        case=case,
        requested_by=specialist,
        kind="write_off",
        amount=Decimal("500.00"),
        reason_code="no_assets",
        reason="Judgment-proof",
    )
    with pytest.raises(PermissionDenied):
        services.decide_adjustment(adjustment=adjustment, decided_by=specialist, approve=True)
    services.decide_adjustment(adjustment=adjustment, decided_by=supervisor, approve=True)
    adjustment.refresh_from_db()
    assert adjustment.status == "approved"
    with pytest.raises(ValidationError):
        services.request_adjustment(
            case=case,
            requested_by=specialist,
            kind="bogus",
            amount=Decimal("-1"),
            reason_code="x",
            reason="",
        )


def test_negotiation_log_validates_party_and_date(case, specialist):
    entry = services.log_negotiation(
        case=case,
        logged_by=specialist,
        kind="offer",
        amount=Decimal("4000"),
        party=case.firm,
        channel="email",
    )
    assert entry.amount == Decimal("4000.00")
    with pytest.raises(ValidationError):
        services.log_negotiation(
            case=case, logged_by=specialist, kind="offer", occurred_on=date(2099, 1, 1)
        )
    with pytest.raises(ValidationError):
        services.log_negotiation(
            case=case, logged_by=specialist, kind="offer", party=factories.law_firm("Other")
        )


def test_the_settlement_jobs_are_scheduled_and_run(db):
    import importlib

    from django.apps import apps
    from django_celery_beat.models import PeriodicTask

    from settlements import tasks

    importlib.import_module("settlements.migrations.0002_beat_schedules").create_schedules(
        apps, None
    )
    names = set(PeriodicTask.objects.values_list("task", flat=True))
    assert {
        "settlements.tasks.escalate_stale_approvals",
        "settlements.tasks.mark_missed_installments",
    } <= names
    assert tasks.escalate_stale_approvals.apply().get() == []
    assert tasks.mark_missed_installments.apply().get() == 0
