"""Settlement actions: log the negotiation, propose a settlement (accepted at once within the
proposer's authority, otherwise sent to a supervisor), decide it, escalate stale approvals, set up
installments and adjust balances."""

from dataclasses import asdict
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from cases.models import Activity, Case, Deadline, Party
from cases.selectors import can_edit_case
from recovery.core.exceptions import Conflict
from recovery.core.models import Role, User
from recovery.core.services import notify
from recovery.money import ZERO, to_money

from . import calculator
from .models import BalanceAdjustment, Installment, NegotiationEntry, PaymentArrangement, Settlement
from .selectors import authority_check, business_hours_between

FUNDS_DUE_DAYS = 30


def _ensure_can_edit(user: User, case: Case) -> None:
    if not can_edit_case(user, case):
        raise PermissionDenied("Only the assigned specialist or a supervisor may act on this case.")


def _ensure_supervisor(user: User) -> None:
    if user.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise PermissionDenied("Only a supervisor decides this.")


# ---------------------------------------------------------------------------------------------
# Negotiation log
# ---------------------------------------------------------------------------------------------


@transaction.atomic
def log_negotiation(
    *,
    case: Case,
    logged_by: User,
    kind: str,
    amount: Decimal | None = None,
    party: Party | None = None,
    occurred_on: date | None = None,
    channel: str = NegotiationEntry.Channel.PHONE,
    note: str = "",
) -> NegotiationEntry:
    if logged_by.role != Role.ATTORNEY:
        _ensure_can_edit(logged_by, case)
    entry = NegotiationEntry(
        case=case,
        kind=kind,
        amount=to_money(amount) if amount is not None else None,
        party=party,
        occurred_on=occurred_on or timezone.localdate(),
        channel=channel,
        note=note,
        created_by=logged_by,
    )
    entry.full_clean(exclude=["case", "party", "created_by"])
    if entry.occurred_on > timezone.localdate():
        raise ValidationError({"occurred_on": "A negotiation step cannot be dated in the future."})
    if party is not None and not case.case_parties.filter(party=party).exists():
        raise ValidationError({"party": "That party is not on this case."})
    entry.save()
    return entry


# ---------------------------------------------------------------------------------------------
# Authority
# ---------------------------------------------------------------------------------------------


def reduction_of(program_paid: Decimal, agreed: Decimal) -> tuple[Decimal, Decimal]:
    """How far the agreed recovery falls below the lien, in dollars and percent of the lien."""
    reduction = max(to_money(program_paid - agreed), ZERO)
    percent = (
        (reduction * 100 / program_paid).quantize(Decimal("0.0001"))
        if program_paid > ZERO
        else Decimal("0")
    )
    return reduction, percent


def _approver_for(user: User) -> User | None:
    """The next level up: the team's supervisor; for a supervisor, an administrator; failing
    that, another supervisor. Never the user themselves."""
    if user.supervisor is not None:
        return user.supervisor
    others = User.objects.filter(is_active=True).exclude(pk=user.pk)
    return (
        others.filter(role=Role.ADMIN).order_by("pk").first()
        or others.filter(role=Role.SUPERVISOR).order_by("pk").first()
    )


# ---------------------------------------------------------------------------------------------
# Proposing and deciding
# ---------------------------------------------------------------------------------------------


def _inputs(case: Case, data: dict) -> calculator.Inputs:
    jurisdiction = case.jurisdiction
    return calculator.Inputs(
        gross_settlement=to_money(data["gross_settlement"]),
        attorney_fees=to_money(data.get("attorney_fees") or 0),
        costs=to_money(data.get("costs") or 0),
        program_paid=to_money(
            data.get("program_paid") if data.get("program_paid") is not None else case.lien_amount
        ),
        full_value=to_money(data["full_value"]) if data.get("full_value") is not None else None,
        allocation_ratio=Decimal(data["allocation_ratio"])
        if data.get("allocation_ratio") is not None
        else None,
        fixed_percentage=jurisdiction.fixed_percentage,
        fixed_threshold=jurisdiction.fixed_threshold,
        ordered_amount=to_money(data["ordered_amount"])
        if data.get("ordered_amount") is not None
        else None,
    )


def compare_formulas(*, case: Case, **data) -> dict[str, calculator.Result]:
    inputs = _inputs(case, data)
    errors = calculator.validate(inputs)
    if errors:
        raise ValidationError(errors)
    return calculator.calculate(inputs)


def _serialize(result: calculator.Result) -> dict:
    return {
        "formula": result.formula,
        "recovery_amount": str(result.recovery_amount),
        "steps": [
            {k: (str(v) if isinstance(v, Decimal) else v) for k, v in asdict(step).items()}
            for step in result.steps
        ],
    }


@transaction.atomic
def propose_settlement(
    *,
    case: Case,
    proposed_by: User,
    gross_settlement: Decimal,
    attorney_fees: Decimal = ZERO,
    costs: Decimal = ZERO,
    formula: str | None = None,
    agreed_recovery: Decimal | None = None,
    full_value: Decimal | None = None,
    allocation_ratio: Decimal | None = None,
    ordered_amount: Decimal | None = None,
    reduction_requested: bool = False,
    compromise_reason: str = "",
    justification: str = "",
) -> Settlement:
    """Record a settlement at the recovery the chosen formula gives (or an agreed amount below
    it). Within the proposer's authority it is accepted at once; beyond it, it waits for the
    proposer's supervisor, and a written justification is required."""
    case = Case.objects.select_for_update().select_related("jurisdiction").get(pk=case.pk)
    _ensure_can_edit(proposed_by, case)
    if case.settlements.filter(
        status__in=[Settlement.Status.PENDING, Settlement.Status.ACCEPTED]
    ).exists():
        raise Conflict(
            "This case already has a pending or accepted settlement; reject or supersede it first."
        )
    formula = formula or case.jurisdiction.default_formula
    if formula not in calculator.FORMULAS:
        raise ValidationError({"formula": "Unknown formula."})
    inputs = _inputs(
        case,
        {
            "gross_settlement": gross_settlement,
            "attorney_fees": attorney_fees,
            "costs": costs,
            "full_value": full_value,
            "allocation_ratio": allocation_ratio,
            "ordered_amount": ordered_amount,
        },
    )
    errors = calculator.validate(inputs, formula)
    if errors:
        raise ValidationError(errors)
    if inputs.program_paid <= ZERO:
        raise ValidationError(
            {"program_paid": "The case has no lien amount to recover: include claim lines first."}
        )
    results = dict(calculator.calculate(inputs))
    if formula not in results:
        try:
            results.update(calculator.calculate(inputs, formula=formula))
        except ValueError as exc:
            raise ValidationError(
                {"formula": str(exc) or "This formula does not apply to these figures."}
            ) from exc
    if formula not in results:
        raise ValidationError({"formula": "This formula does not apply to these figures."})
    result = results[formula]
    agreed = to_money(agreed_recovery) if agreed_recovery is not None else result.recovery_amount
    if agreed < ZERO:
        raise ValidationError({"agreed_recovery": "The agreed recovery cannot be negative."})
    if agreed > min(inputs.program_paid, inputs.gross_settlement) and formula != "ordered":
        raise ValidationError(
            {
                "agreed_recovery": "The program cannot recover more than it paid or than the settlement."
            }
        )
    if agreed < result.recovery_amount and not compromise_reason.strip():
        raise ValidationError(
            {"compromise_reason": "Say why the agreed recovery is below what the formula gives."}
        )
    reduction, percent = reduction_of(inputs.program_paid, agreed)
    # What the law gives is not a concession: authority is measured on the discretionary part,
    # how far the agreed recovery falls below what the jurisdiction's default formula gives (the
    # same rule the settlement screen shows as the user types).
    authority = authority_check(
        user=proposed_by,
        program_paid=inputs.program_paid,
        agreed=agreed,
        formula=formula,
        default_formula=case.jurisdiction.default_formula,
        results=results,
    )
    inside = authority.within
    if not inside and not justification.strip():
        raise ValidationError(
            {
                "justification": "This is beyond your authority: write the justification your supervisor will read."
            }
        )
    approver = None if inside else _approver_for(proposed_by)
    if not inside and approver is None:
        raise ValidationError(
            {
                "justification": "You have no supervisor on record to approve this; ask an administrator."
            }
        )
    settlement = Settlement.objects.create(
        case=case,
        status=Settlement.Status.ACCEPTED if inside else Settlement.Status.PENDING,
        gross_settlement=inputs.gross_settlement,
        attorney_fees=inputs.attorney_fees,
        costs=inputs.costs,
        full_value=inputs.full_value,
        allocation_ratio=inputs.allocation_ratio,
        program_paid=inputs.program_paid,
        formula=formula,
        computed_recovery=result.recovery_amount,
        calculation={
            **_serialize(result),
            "baseline_formula": authority.baseline_formula,
            "baseline_recovery": str(authority.baseline),
            "discretionary_reduction": str(authority.discretionary),
            "discretionary_percent_of_lien": str(authority.discretionary_percent),
        },
        agreed_recovery=agreed,
        reduction_amount=reduction,
        reduction_percent=percent,
        reduction_requested=reduction_requested,
        compromise_reason=compromise_reason.strip(),
        justification=justification.strip(),
        within_authority=inside,
        proposed_by=proposed_by,
        approver=approver,
    )
    if inside:
        settlement.decided_by = proposed_by
        settlement.decided_at = timezone.now()
        settlement.decision_note = "Within the proposer's authority."
        settlement.save(update_fields=["decided_by", "decided_at", "decision_note"])
        _on_accepted(settlement, acting=proposed_by)
    else:
        notify(
            user=approver,
            kind="approval",
            title=f"Settlement on {case.number} awaits your approval (${agreed:,} of ${inputs.program_paid:,})",
            link="/settlements/approvals/",
            key=f"settlement:{settlement.pk}:requested",
        )
    return settlement


def _on_accepted(settlement: Settlement, *, acting: User) -> None:
    """Acceptance: funds-due deadline, case to settlement, final demand (and reduction decision)."""
    case = settlement.case
    settlement.funds_due_on = timezone.localdate() + timedelta(days=FUNDS_DUE_DAYS)
    settlement.save(update_fields=["funds_due_on"])
    Deadline.objects.create(
        case=case,
        kind=Deadline.Kind.FUNDS_DUE,
        title=f"Settlement funds due: ${settlement.agreed_recovery:,}",
        due_date=settlement.funds_due_on,
        owner=case.assigned_to or settlement.proposed_by,
    )
    if case.can_move_to(Case.Status.SETTLEMENT):
        case.status = Case.Status.SETTLEMENT
        case.save(update_fields=["status"])
    Activity.objects.create(
        case=case,
        kind=Activity.Kind.NOTE,
        direction=Activity.Direction.INTERNAL,
        subject=f"Settlement accepted: recovery ${settlement.agreed_recovery:,} ({settlement.get_formula_display()})",
        created_by=acting,
    )
    _send_acceptance_letters(settlement, acting=acting)


def _send_acceptance_letters(settlement: Settlement, *, acting: User) -> None:
    try:
        from liens.letters import request_letter
    except ImportError:  # the letters module ships with the liens app
        return
    from cases.models import CaseParty

    attorney = (
        settlement.case.case_parties.filter(role=CaseParty.Role.ATTORNEY_OF_RECORD, is_active=True)
        .select_related("party")
        .first()
    )
    if attorney is None:
        return
    request_letter(
        case=settlement.case, kind="final_demand", recipient=attorney.party, requested_by=acting
    )
    if settlement.reduction_requested:
        request_letter(
            case=settlement.case,
            kind="reduction_decision",
            recipient=attorney.party,
            requested_by=acting,
            body=_reduction_decision_text(settlement),
        )


def _reduction_decision_text(settlement: Settlement) -> str:
    """The decision in plain words, from the settlement's own figures and reasons."""
    paragraphs = [
        f"We reviewed your request to reduce the program's lien of ${settlement.program_paid:,} "
        f"on a gross settlement of ${settlement.gross_settlement:,}.",
        f"Under the {settlement.get_formula_display()}, the program's recovery is "
        f"${settlement.computed_recovery:,}. The program agrees to accept "
        f"${settlement.agreed_recovery:,} in full satisfaction of its claim, provided payment is "
        "received by the date in our final demand.",
    ]
    if settlement.agreed_recovery >= settlement.program_paid:
        paragraphs[1] = (
            f"The request is denied: the program's recovery remains ${settlement.agreed_recovery:,}, "
            "payable by the date in our final demand."
        )
    reason = settlement.compromise_reason or settlement.decision_note
    if reason:
        paragraphs.append(f"Reasons: {reason}")
    return "\n\n".join(paragraphs)


@transaction.atomic
def approve_settlement(*, settlement: Settlement, approved_by: User, note: str = "") -> Settlement:
    settlement = Settlement.objects.select_for_update().select_related("case").get(pk=settlement.pk)
    _ensure_supervisor(approved_by)
    if settlement.proposed_by_id == approved_by.pk:
        raise PermissionDenied("Nobody approves their own settlement.")
    if settlement.status != Settlement.Status.PENDING:
        raise Conflict(f"This settlement is already {settlement.get_status_display().lower()}.")
    settlement.status = Settlement.Status.ACCEPTED
    settlement.decided_by = approved_by
    settlement.decided_at = timezone.now()
    settlement.decision_note = (note or "").strip()
    settlement.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    _on_accepted(settlement, acting=approved_by)
    notify(
        user=settlement.proposed_by,
        kind="approval",
        title=f"Settlement on {settlement.case.number} approved by {approved_by}",
        link=f"/cases/{settlement.case_id}/",
        key=f"settlement:{settlement.pk}:decided",
    )
    return settlement


@transaction.atomic
def reject_settlement(*, settlement: Settlement, rejected_by: User, note: str) -> Settlement:
    settlement = Settlement.objects.select_for_update().select_related("case").get(pk=settlement.pk)
    _ensure_supervisor(rejected_by)
    if settlement.proposed_by_id == rejected_by.pk:
        raise PermissionDenied("Nobody decides their own settlement.")
    if settlement.status != Settlement.Status.PENDING:
        raise Conflict(f"This settlement is already {settlement.get_status_display().lower()}.")
    if not (note or "").strip():
        raise ValidationError({"note": "Say why the settlement is rejected."})
    settlement.status = Settlement.Status.REJECTED
    settlement.decided_by = rejected_by
    settlement.decided_at = timezone.now()
    settlement.decision_note = note.strip()
    settlement.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    notify(
        user=settlement.proposed_by,
        kind="approval",
        title=f"Settlement on {settlement.case.number} rejected",
        body=settlement.decision_note[:200],
        link=f"/cases/{settlement.case_id}/",
        key=f"settlement:{settlement.pk}:decided",
    )
    return settlement


@transaction.atomic
def supersede_settlement(*, settlement: Settlement, by: User) -> Settlement:
    """Set an accepted or pending settlement aside (e.g. the parties re-negotiated)."""
    settlement = Settlement.objects.select_for_update().select_related("case").get(pk=settlement.pk)
    _ensure_can_edit(by, settlement.case)
    if settlement.status not in (Settlement.Status.PENDING, Settlement.Status.ACCEPTED):
        raise Conflict("Only a pending or accepted settlement can be superseded.")
    settlement.status = Settlement.Status.SUPERSEDED
    settlement.save(update_fields=["status"])
    return settlement


@transaction.atomic
def escalate_stale_approvals(*, now=None) -> list[int]:
    """Pending settlements unanswered for SETTLEMENT_APPROVAL_HOURS business hours move to the
    approver's own supervisor (or, at the top, stay and notify every admin once)."""
    now = now or timezone.now()
    limit = getattr(settings, "SETTLEMENT_APPROVAL_HOURS", 16)
    moved = []
    pending = Settlement.objects.select_for_update(skip_locked=True, of=("self",)).filter(
        status=Settlement.Status.PENDING
    )
    for settlement in pending.select_related("approver", "case"):
        since = settlement.escalated_at or settlement.proposed_at
        if business_hours_between(since, now) <= limit:
            continue
        current = settlement.approver
        next_level = current.supervisor if current else None
        if next_level is None or next_level.pk == settlement.proposed_by_id:
            next_level = (
                User.objects.filter(role=Role.ADMIN, is_active=True)
                .exclude(pk=settlement.proposed_by_id)
                .order_by("pk")
                .first()
            )
        if next_level is None or (current and next_level.pk == current.pk):
            continue
        settlement.approver = next_level
        settlement.escalated_at = now
        settlement.save(update_fields=["approver", "escalated_at"])
        notify(
            user=next_level,
            kind="escalation",
            title=f"Escalated: settlement on {settlement.case.number} has waited {limit} business hours",
            link=f"/cases/{settlement.case_id}/",
            key=f"settlement:{settlement.pk}:escalated:{next_level.pk}",
        )
        moved.append(settlement.pk)
    return moved


# ---------------------------------------------------------------------------------------------
# Installments and balance adjustments
# ---------------------------------------------------------------------------------------------


@transaction.atomic
def arrange_installments(
    *, settlement: Settlement, arranged_by: User, installments: int, first_due_on: date
) -> PaymentArrangement:
    settlement = Settlement.objects.select_for_update().select_related("case").get(pk=settlement.pk)
    _ensure_can_edit(arranged_by, settlement.case)
    if settlement.status != Settlement.Status.ACCEPTED:
        raise Conflict("Only an accepted settlement can be paid in installments.")
    if hasattr(settlement, "arrangement"):
        raise Conflict("This settlement already has a payment arrangement.")
    if not 2 <= installments <= 120:
        raise ValidationError({"installments": "Between 2 and 120 installments."})
    total = settlement.agreed_recovery
    base = (total / installments).quantize(Decimal("0.01"), rounding="ROUND_DOWN")
    amounts = [base] * installments
    amounts[-1] = to_money(total - base * (installments - 1))  # the last one takes the cents
    arrangement = PaymentArrangement.objects.create(
        settlement=settlement,
        total=total,
        installments_count=installments,
        first_due_on=first_due_on,
        created_by=arranged_by,
    )
    rows = []
    for number, amount in enumerate(amounts, start=1):
        month = first_due_on.month - 1 + (number - 1)
        year = first_due_on.year + month // 12
        month = month % 12 + 1
        day = min(first_due_on.day, 28)
        rows.append(
            Installment(
                arrangement=arrangement, number=number, due_on=date(year, month, day), amount=amount
            )
        )
    Installment.objects.bulk_create(rows)
    case = settlement.case
    for row in rows:
        Deadline.objects.create(
            case=case,
            kind=Deadline.Kind.FUNDS_DUE,
            title=f"Installment {row.number} of {installments}: ${row.amount:,}",
            due_date=row.due_on,
            owner=case.assigned_to or arranged_by,
        )
    return arrangement


@transaction.atomic
def record_installment_payment(
    *, installment: Installment, amount: Decimal, recorded_by: User
) -> Installment:
    installment = (
        Installment.objects.select_for_update()
        .select_related("arrangement__settlement__case")
        .get(pk=installment.pk)
    )
    _ensure_can_edit(recorded_by, installment.arrangement.settlement.case)
    amount = to_money(amount)
    if amount <= ZERO:
        raise ValidationError({"amount": "The payment must be positive."})
    installment.received = to_money(installment.received + amount)
    installment.status = (
        Installment.Status.PAID
        if installment.received >= installment.amount
        else Installment.Status.PARTIAL
    )
    installment.save(update_fields=["received", "status"])
    if installment.status == Installment.Status.PAID:
        installment.arrangement.settlement.case.deadlines.filter(
            kind=Deadline.Kind.FUNDS_DUE,
            due_date=installment.due_on,
            title__startswith=f"Installment {installment.number} of",
            done_at__isnull=True,
        ).update(done_at=timezone.now(), done_by=recorded_by)
    arrangement = installment.arrangement
    if not arrangement.installments.exclude(status=Installment.Status.PAID).exists():
        arrangement.status = PaymentArrangement.Status.COMPLETED
        arrangement.save(update_fields=["status"])
    return installment


@transaction.atomic
def mark_missed_installments(*, today: date | None = None) -> int:
    """Installments past due and not paid become missed (their funds-due deadline is already
    overdue, so the reminder scan escalates them)."""
    today = today or timezone.localdate()
    return Installment.objects.filter(
        due_on__lt=today, status__in=[Installment.Status.DUE, Installment.Status.PARTIAL]
    ).update(status=Installment.Status.MISSED)


@transaction.atomic
def request_adjustment(
    *, case: Case, requested_by: User, kind: str, amount: Decimal, reason_code: str, reason: str
) -> BalanceAdjustment:
    _ensure_can_edit(requested_by, case)
    adjustment = BalanceAdjustment(
        case=case,
        kind=kind,
        amount=to_money(amount),
        reason_code=reason_code,
        reason=(reason or "").strip(),
        requested_by=requested_by,
    )
    adjustment.full_clean(exclude=["case", "requested_by"])
    adjustment.save()
    supervisor = requested_by.supervisor
    if supervisor:
        notify(
            user=supervisor,
            kind="approval",
            title=f"{adjustment.get_kind_display()} of ${adjustment.amount:,} on {case.number} awaits approval",
            link=f"/cases/{case.pk}/",
            key=f"adjustment:{adjustment.pk}:requested",
        )
    return adjustment


@transaction.atomic
def decide_adjustment(
    *, adjustment: BalanceAdjustment, decided_by: User, approve: bool, note: str = ""
) -> BalanceAdjustment:
    adjustment = BalanceAdjustment.objects.select_for_update().get(pk=adjustment.pk)
    _ensure_supervisor(decided_by)
    if adjustment.requested_by_id == decided_by.pk:
        raise PermissionDenied("Nobody decides their own request.")
    if adjustment.status != BalanceAdjustment.Status.REQUESTED:
        raise Conflict(f"This request is already {adjustment.get_status_display().lower()}.")
    if not approve and not (note or "").strip():
        raise ValidationError({"note": "Say why the request is rejected."})
    adjustment.status = (
        BalanceAdjustment.Status.APPROVED if approve else BalanceAdjustment.Status.REJECTED
    )
    adjustment.decided_by = decided_by
    adjustment.decided_at = timezone.now()
    adjustment.decision_note = (note or "").strip()
    adjustment.save()
    return adjustment
