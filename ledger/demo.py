"""Liens, settlements and money for the demo cases (``manage.py seed_demo``).

``cases.demo`` walks each synthetic case through its life; these helpers do the money part of
that walk through the real services, so every lien, settlement, deposit and disbursement has
the checks, ledger entries, history and notifications a user's action would have:

- notice: a lien is filed with the attorney of record (or the liability insurer);
- settlement: the settlement is proposed at the jurisdiction's default formula, sometimes with
  a compromise; one beyond the proposer's authority waits for, or gets, the supervisor's
  approval;
- funds: the check is deposited, the program recovery disbursement requested and approved by a
  supervisor who did not request it (the holding balance returns to zero), and the lien
  released, all approved by someone other than the requester.

Dates in the past are the walk's own (filing date, date received); what the services stamp with
the current time (a settlement's decision, a release) is moved back to the walk's day, as an
imported history would be. Ledger transactions keep the day they were posted: they are never
updated.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

from cases.models import Case, Deadline, Party
from cases.services import complete_deadline
from liens import services as liens
from liens.models import Lien, LienChange
from recovery.core.models import Role, User
from settlements import services as settlements
from settlements.models import Settlement

from . import services as ledger
from .models import Disbursement

__all__ = ["collect", "file_lien", "release_lien", "settle"]

CENT = Decimal("0.01")

COMPROMISE_REASONS = (
    "Limited policy: the settlement is the liability carrier's policy limits and the member's "
    "future care is not covered",
    "Disputed liability: comparative fault of about a third argued by the defense",
    "Procurement costs: the attorney's fees and costs of the suit reduce the net recovery",
    "Hardship: the member has continuing medical needs and no other resources",
)


def _at(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(14, 0)))


def file_lien(*, case: Case, actor: User, party: Party | None, day: date) -> Lien | None:
    """File the case's lien with `party` on `day` (nothing when there is no party or no
    included line to claim)."""
    case.refresh_from_db(fields=["lien_amount", "status"])
    if party is None or case.lien_amount <= 0 or liens.open_lien_for(case) is not None:
        return None
    lien = liens.create_lien(case=case, created_by=actor)
    Lien.objects.filter(pk=lien.pk).update(created_at=_at(min(day, timezone.localdate())))
    return liens.file_lien(
        lien=lien,
        filed_by=actor,
        filed_with=party,
        filed_on=min(day, timezone.localdate()),
        method=Lien.Method.CERTIFIED_MAIL,
        certified_mail_number=f"9407 1112 0620 {case.pk:04d} {day:%m%d} {case.pk % 97:02d}",
    )


def settle(
    *,
    case: Case,
    actor: User,
    rng: random.Random,
    gross: Decimal,
    day: date,
    attorney: bool,
    compromise: bool,
    approve: bool = True,
) -> Settlement | None:
    """Propose the settlement (fees of a third when an attorney is of record); with `compromise`
    agree to less than the formula gives, with a reason and a justification. A proposal beyond
    the proposer's authority is approved by their approver when `approve`, else left waiting."""
    case.refresh_from_db(fields=["lien_amount"])
    if case.lien_amount <= 0:
        return None
    gross = gross.quantize(CENT)
    fees = (gross / 3).quantize(CENT, rounding=ROUND_HALF_UP) if attorney else Decimal("0.00")
    costs = (gross * Decimal(rng.choice(("0.01", "0.02", "0.035")))).quantize(CENT)
    figures = {"gross_settlement": gross, "attorney_fees": fees, "costs": costs}
    formula = case.jurisdiction.default_formula
    baseline = settlements.compare_formulas(case=case, **figures)[formula].recovery_amount
    agreed, reason, justification = None, "", ""
    if compromise and baseline > Decimal("100.00"):
        # Supervisors' authority (40 %) covers every demo compromise; specialists' may not.
        share = Decimal(rng.choice(("0.65", "0.75", "0.8", "0.85", "0.9", "0.95")))
        agreed = (baseline * share).quantize(CENT, rounding=ROUND_HALF_UP)
        reason = rng.choice(COMPROMISE_REASONS)
        justification = f"{reason}. The member's attorney documented it in writing."
    settlement = settlements.propose_settlement(
        case=case,
        proposed_by=actor,
        formula=formula,
        agreed_recovery=agreed,
        reduction_requested=compromise and attorney,
        compromise_reason=reason,
        justification=justification,
        **figures,
    )
    if settlement.status == Settlement.Status.PENDING:
        if not approve:
            return settlement  # proposed today: it waits in the supervisor's queue
        settlement = settlements.approve_settlement(
            settlement=settlement,
            approved_by=settlement.approver,
            note="Compromise reviewed against the file; approved.",
        )
    Settlement.objects.filter(pk=settlement.pk).update(proposed_at=_at(day), decided_at=_at(day))
    settlement.refresh_from_db()
    return settlement


def collect(
    *,
    case: Case,
    actor: User,
    approver: User | None,
    settlement: Settlement,
    received_on: date,
    payer: str,
) -> Disbursement:
    """Deposit the settlement's recovery and request its disbursement to the program; with an
    `approver` (a supervisor other than `actor`) the disbursement is approved and posted."""
    received_on = min(received_on, timezone.localdate())
    deposit, _created = ledger.post_deposit(
        case=case,
        amount=settlement.agreed_recovery,
        received_on=received_on,
        payer=payer,
        instrument="check",
        reference=f"CHK-{case.pk:06d}",
        idempotency_key=f"demo-deposit-{case.number}",
        recorded_by=actor,
        settlement=settlement,
    )
    for deadline in case.deadlines.filter(kind=Deadline.Kind.FUNDS_DUE, done_at__isnull=True):
        complete_deadline(deadline=deadline, done_by=actor)
    request = ledger.request_disbursement(
        case=case,
        amount=deposit.amount,
        payee="State Medicaid Program",
        purpose=Disbursement.Purpose.PROGRAM_RECOVERY,
        requested_by=actor,
        note=f"Recovery of the settlement, check {deposit.reference}",
    )
    if approver is None:
        return request
    return ledger.approve_disbursement(
        disbursement=request, approved_by=approver, note="Matches the deposit and the settlement."
    )


def release_lien(
    *, case: Case, actor: User, approver: User | None, reason: str, day: date, withdraw=False
) -> LienChange | None:
    """Ask to release (or withdraw) the case's open lien; approved when an `approver` is given."""
    lien = liens.open_lien_for(case)
    if lien is None:
        return None
    change = (
        liens.request_withdrawal(lien=lien, requested_by=actor, reason=reason)
        if withdraw
        else liens.request_release(lien=lien, requested_by=actor, reason=reason)
    )
    if approver is None:
        return change
    change = liens.approve_change(change=change, approved_by=approver, note="Approved.")
    LienChange.objects.filter(pk=change.pk).update(requested_at=_at(day), decided_at=_at(day))
    if not withdraw:
        Lien.objects.filter(pk=lien.pk, status=Lien.Status.RELEASED).update(released_on=day)
    return change


def other_supervisor(actor: User, preferred: User, users: dict[str, User]) -> User:
    """A supervisor who is not `actor`: `preferred` unless that is the actor."""
    if preferred.pk != actor.pk:
        return preferred
    return next(u for u in users.values() if u.role == Role.SUPERVISOR and u.pk != actor.pk)
