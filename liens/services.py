"""Lien actions. Filing snapshots the itemized lines; amendments, releases and withdrawals are
requested by a specialist and take effect only when a supervisor other than the requester
approves them."""

from datetime import date
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from cases.models import Activity, Case, CaseClaim, Deadline, Party
from cases.selectors import can_edit_case
from recovery.core.exceptions import Conflict
from recovery.core.models import Role, User
from recovery.core.services import notify
from recovery.money import ZERO, to_money

from .models import Lien, LienChange, LienFilingLine


def _ensure_can_edit(user: User, case: Case) -> None:
    if not can_edit_case(user, case):
        raise PermissionDenied("Only the assigned specialist or a supervisor may act on this lien.")


def _lock(lien: Lien) -> Lien:
    return Lien.objects.select_for_update().select_related("case").get(pk=lien.pk)


def open_lien_for(case: Case) -> Lien | None:
    return case.liens.exclude(status__in=Lien.CLOSED).first()


def _snapshot(lien: Lien, change: LienChange | None = None) -> int:
    included = CaseClaim.objects.filter(case_id=lien.case_id, included=True).select_related(
        "claim_line"
    )
    rows = [
        LienFilingLine(
            lien=lien,
            change=change,
            claim_line=cc.claim_line,
            claim_number=cc.claim_line.claim_number,
            line_number=cc.claim_line.line_number,
            service_from=cc.claim_line.service_from,
            service_to=cc.claim_line.service_to,
            provider_name=cc.claim_line.provider_name,
            procedure_code=cc.claim_line.procedure_code,
            diagnosis_codes=cc.claim_line.diagnosis_codes,
            paid_amount=cc.claim_line.paid_amount,
            paid_date=cc.claim_line.paid_date,
        )
        for cc in included
    ]
    LienFilingLine.objects.bulk_create(rows)
    return len(rows)


@transaction.atomic
def create_lien(*, case: Case, created_by: User) -> Lien:
    case = Case.objects.select_for_update().get(pk=case.pk)
    _ensure_can_edit(created_by, case)
    if open_lien_for(case):
        raise Conflict("This case already has an open lien.")
    if not case.is_open:
        raise Conflict("A closed case cannot get a new lien.")
    return Lien.objects.create(case=case, amount=case.lien_amount, created_by=created_by)


@transaction.atomic
def file_lien(
    *,
    lien: Lien,
    filed_by: User,
    filed_with: Party,
    filed_on: date,
    method: str,
    filed_with_kind: str = "",
    certified_mail_number: str = "",
    court_case_number: str = "",
    expires_on: date | None = None,
) -> Lien:
    """File a draft lien at the case's current lien amount, snapshotting the included lines."""
    lien = _lock(lien)
    case = Case.objects.select_for_update().get(pk=lien.case_id)
    _ensure_can_edit(filed_by, case)
    if lien.status != Lien.Status.DRAFT:
        raise Conflict("Only a draft lien can be filed.")
    errors = {}
    if case.lien_amount <= ZERO:
        errors["amount"] = "No claim lines are included: the lien amount is zero."
    if filed_on > timezone.localdate():
        errors["filed_on"] = "The filing date cannot be in the future."
    if method not in Lien.Method.values:
        errors["method"] = "Unknown delivery method."
    if method == Lien.Method.CERTIFIED_MAIL and not certified_mail_number.strip():
        errors["certified_mail_number"] = "Certified mail needs its tracking number."
    if not case.case_parties.filter(party=filed_with, is_active=True).exists():
        errors["filed_with"] = "File the lien with a party on this case."
    if expires_on and expires_on <= filed_on:
        errors["expires_on"] = "The expiry date must follow the filing date."
    if errors:
        raise ValidationError(errors)
    kind = filed_with_kind or {
        Party.Kind.ATTORNEY: Lien.FiledWith.ATTORNEY,
        Party.Kind.LAW_FIRM: Lien.FiledWith.ATTORNEY,
        Party.Kind.LIABILITY_INSURER: Lien.FiledWith.INSURER,
        Party.Kind.MEMBER_INSURER: Lien.FiledWith.INSURER,
        Party.Kind.COURT: Lien.FiledWith.COURT,
    }.get(filed_with.kind, Lien.FiledWith.OTHER)
    lien.amount = lien.original_amount = case.lien_amount
    lien.status = Lien.Status.FILED
    lien.filed_with = filed_with
    lien.filed_with_kind = kind
    lien.filed_on = filed_on
    lien.method = method
    lien.certified_mail_number = certified_mail_number.strip()
    lien.court_case_number = court_case_number.strip()
    lien.expires_on = expires_on
    lien.filed_by = filed_by
    lien.save()
    _snapshot(lien)
    if case.status in (Case.Status.NEW, Case.Status.RESEARCH):
        case.status = Case.Status.NOTICE
        case.save(update_fields=["status"])
    if expires_on:
        Deadline.objects.create(
            case=case,
            kind=Deadline.Kind.LIEN_EXPIRY,
            title="Lien expires: renew or release",
            due_date=expires_on,
            owner=case.assigned_to or filed_by,
        )
    Activity.objects.create(
        case=case,
        kind=Activity.Kind.NOTE,
        direction=Activity.Direction.OUTBOUND,
        party=filed_with,
        subject=f"Lien filed for ${lien.amount:,} with {filed_with}",
        outcome=lien.get_method_display(),
        created_by=filed_by,
    )
    return lien


@transaction.atomic
def record_receipt(*, lien: Lien, signed_on: date, recorded_by: User) -> Lien:
    lien = _lock(lien)
    _ensure_can_edit(recorded_by, lien.case)
    if lien.filed_on is None or signed_on < lien.filed_on:
        raise ValidationError(
            {"receipt_signed_on": "Receipt cannot be signed before the lien was filed."}
        )
    lien.receipt_signed_on = signed_on
    lien.save(update_fields=["receipt_signed_on"])
    return lien


def _request(lien: Lien, requested_by: User, kind: str, reason: str, **amounts) -> LienChange:
    lien = _lock(lien)
    _ensure_can_edit(requested_by, lien.case)
    if not lien.is_active:
        raise Conflict(f"A lien that is {lien.get_status_display().lower()} cannot be changed.")
    if lien.changes.filter(status=LienChange.Status.REQUESTED).exists():
        raise Conflict("A change to this lien is already awaiting approval.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Give the reason for the change."})
    change = LienChange.objects.create(
        lien=lien,
        kind=kind,
        old_amount=lien.amount,
        reason=reason[:2000],
        requested_by=requested_by,
        **amounts,
    )
    supervisor = requested_by.supervisor
    if supervisor is not None:
        notify(
            user=supervisor,
            kind="approval",
            title=f"{change.get_kind_display()} of the lien on {lien.case.number} awaits your approval",
            link=f"/cases/{lien.case_id}/",
            key=f"lienchange:{change.pk}:requested",
        )
    return change


@transaction.atomic
def request_amendment(
    *, lien: Lien, requested_by: User, reason: str, new_amount: Decimal | None = None
) -> LienChange:
    """Ask to change the lien amount; by default to the case's current included total."""
    amount = to_money(new_amount if new_amount is not None else lien.case.lien_amount)
    if amount < ZERO:
        raise ValidationError({"new_amount": "The amount cannot be negative."})
    if amount == lien.amount:
        raise ValidationError({"new_amount": "The lien already stands at this amount."})
    return _request(lien, requested_by, LienChange.Kind.AMEND, reason, new_amount=amount)


@transaction.atomic
def request_release(
    *, lien: Lien, requested_by: User, reason: str, amount: Decimal | None = None
) -> LienChange:
    """Ask to release the lien in full (no amount) or in part."""
    outstanding = lien.outstanding
    if amount is None:
        return _request(
            lien,
            requested_by,
            LienChange.Kind.RELEASE,
            reason,
            release_amount=outstanding,
            full_release=True,
        )
    amount = to_money(amount)
    if amount <= ZERO or amount > outstanding:
        raise ValidationError(
            {"amount": f"A partial release is between $0.01 and ${outstanding:,}."}
        )
    return _request(
        lien,
        requested_by,
        LienChange.Kind.RELEASE,
        reason,
        release_amount=amount,
        full_release=amount == outstanding,
    )


@transaction.atomic
def request_withdrawal(*, lien: Lien, requested_by: User, reason: str) -> LienChange:
    return _request(lien, requested_by, LienChange.Kind.WITHDRAW, reason)


def _ensure_approver(change: LienChange, user: User) -> None:
    if user.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise PermissionDenied("Only a supervisor approves lien changes.")
    if change.requested_by_id == user.pk:
        raise PermissionDenied("Nobody approves their own request.")


@transaction.atomic
def approve_change(*, change: LienChange, approved_by: User, note: str = "") -> LienChange:
    change = LienChange.objects.select_for_update().get(pk=change.pk)
    _ensure_approver(change, approved_by)
    if change.status != LienChange.Status.REQUESTED:
        raise Conflict(f"This request is already {change.get_status_display().lower()}.")
    lien = _lock(change.lien)
    today = timezone.localdate()
    if change.kind == LienChange.Kind.AMEND:
        lien.amount = change.new_amount
        lien.status = Lien.Status.AMENDED
        lien.save(update_fields=["amount", "status"])
        _snapshot(lien, change)
    elif change.kind == LienChange.Kind.RELEASE:
        lien.released_amount = to_money(lien.released_amount + change.release_amount)
        lien.status = (
            Lien.Status.RELEASED if lien.outstanding == ZERO else Lien.Status.PARTIALLY_RELEASED
        )
        if lien.status == Lien.Status.RELEASED:
            lien.released_on = today
        lien.save(update_fields=["released_amount", "status", "released_on"])
    else:
        lien.status = Lien.Status.WITHDRAWN
        lien.save(update_fields=["status"])
    change.status = LienChange.Status.APPROVED
    change.decided_by = approved_by
    change.decided_at = timezone.now()
    change.decision_note = (note or "")[:2000]
    change.save()
    Activity.objects.create(
        case=lien.case,
        kind=Activity.Kind.NOTE,
        direction=Activity.Direction.INTERNAL,
        subject=f"{change.get_kind_display()} approved by {approved_by}",
        body=change.reason,
        created_by=approved_by,
    )
    notify(
        user=change.requested_by,
        kind="approval",
        title=f"{change.get_kind_display()} of the lien on {lien.case.number} approved",
        link=f"/cases/{lien.case_id}/",
        key=f"lienchange:{change.pk}:decided",
    )
    return change


@transaction.atomic
def reject_change(*, change: LienChange, rejected_by: User, note: str) -> LienChange:
    change = LienChange.objects.select_for_update().get(pk=change.pk)
    _ensure_approver(change, rejected_by)
    if change.status != LienChange.Status.REQUESTED:
        raise Conflict(f"This request is already {change.get_status_display().lower()}.")
    if not (note or "").strip():
        raise ValidationError({"note": "Say why the request is rejected."})
    change.status = LienChange.Status.REJECTED
    change.decided_by = rejected_by
    change.decided_at = timezone.now()
    change.decision_note = note.strip()[:2000]
    change.save()
    notify(
        user=change.requested_by,
        kind="approval",
        title=f"{change.get_kind_display()} of the lien on {change.lien.case.number} rejected",
        body=change.decision_note[:200],
        link=f"/cases/{change.lien.case_id}/",
        key=f"lienchange:{change.pk}:decided",
    )
    return change


@transaction.atomic
def cancel_change(*, change: LienChange, cancelled_by: User) -> LienChange:
    change = LienChange.objects.select_for_update().get(pk=change.pk)
    if change.requested_by_id != cancelled_by.pk and cancelled_by.role not in (
        Role.SUPERVISOR,
        Role.ADMIN,
    ):
        raise PermissionDenied("Only the requester or a supervisor cancels a request.")
    if change.status != LienChange.Status.REQUESTED:
        raise Conflict(f"This request is already {change.get_status_display().lower()}.")
    change.status = LienChange.Status.CANCELLED
    change.save(update_fields=["status"])
    return change


@transaction.atomic
def mark_satisfied(*, lien: Lien, marked_by: User) -> Lien:
    """The recovery was received in full: the lien is satisfied (a release letter follows)."""
    lien = _lock(lien)
    _ensure_can_edit(marked_by, lien.case)
    if not lien.can_move_to(Lien.Status.SATISFIED):
        raise Conflict(f"A lien that is {lien.get_status_display().lower()} cannot be satisfied.")
    lien.status = Lien.Status.SATISFIED
    lien.released_on = timezone.localdate()
    lien.save(update_fields=["status", "released_on"])
    return lien


@transaction.atomic
def record_release_sent(*, lien: Lien, sent_on: date, recorded_by: User) -> Lien:
    lien = _lock(lien)
    _ensure_can_edit(recorded_by, lien.case)
    if lien.status not in (
        Lien.Status.RELEASED,
        Lien.Status.SATISFIED,
        Lien.Status.PARTIALLY_RELEASED,
    ):
        raise Conflict("Only a released or satisfied lien has a release to send.")
    lien.release_sent_on = sent_on
    lien.save(update_fields=["release_sent_on"])
    return lien
