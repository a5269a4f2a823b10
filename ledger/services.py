"""Money in and out of the holding account.

Every posting runs in one database transaction that locks the case's balance row first, writes a
balanced transaction (entries sum to zero — the database checks it at commit) and moves the
case's held balance, which can never go below zero. Nothing is ever updated or deleted in the
ledger: a correction is a reversing transaction.
"""

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from cases.models import Activity, Case, CaseClaim
from cases.selectors import can_edit_case
from recovery.core.exceptions import Conflict
from recovery.core.models import Role, User
from recovery.core.services import notify
from recovery.money import ZERO, to_money
from settlements.calculator import federal_share

from .models import Account, CaseBalance, Deposit, Disbursement, Entry, Transaction

WRITERS = (Role.SPECIALIST, Role.SUPERVISOR, Role.ADMIN)


ACCOUNT_TYPES = {
    Account.Code.HOLDING_CASH: Account.Type.ASSET,
    Account.Code.FUNDS_HELD: Account.Type.LIABILITY,
    Account.Code.FEDERAL_SHARE_PAYABLE: Account.Type.LIABILITY,
    Account.Code.MCO_PAYABLE: Account.Type.LIABILITY,
    Account.Code.REFUNDS_PAYABLE: Account.Type.LIABILITY,
    Account.Code.STATE_SHARE: Account.Type.REVENUE,
}


def _accounts() -> dict[str, Account]:
    accounts = {account.code: account for account in Account.objects.all()}
    if len(accounts) < len(ACCOUNT_TYPES):
        # The chart is created by migration; recreate any missing account rather than fail.
        for code, kind in ACCOUNT_TYPES.items():
            if code not in accounts:
                accounts[code] = Account.objects.get_or_create(
                    code=code, defaults={"name": Account.Code(code).label, "type": kind}
                )[0]
    return accounts


def _ensure_writer(user: User, case: Case) -> None:
    if user.role not in WRITERS:
        raise PermissionDenied("Your role does not allow money movements.")
    if user.role == Role.SPECIALIST and not can_edit_case(user, case):
        raise PermissionDenied(
            "Only the assigned specialist or a supervisor records money on this case."
        )


def _lock_balance(case_id: int) -> CaseBalance:
    CaseBalance.objects.get_or_create(case_id=case_id)
    return CaseBalance.objects.select_for_update().get(case_id=case_id)


def _post(
    *,
    kind: str,
    case: Case | None,
    memo: str,
    posted_by: User,
    lines: Iterable[tuple[str, Decimal, int | None]],
    posted_on: date | None = None,
    reverses: Transaction | None = None,
) -> Transaction:
    """Write one balanced transaction. `lines` are (account code, signed amount, case id)."""
    lines = [
        (code, to_money(amount), case_id)
        for code, amount, case_id in lines
        if to_money(amount) != ZERO
    ]
    if sum(amount for _, amount, _ in lines) != ZERO:
        raise ValueError("a ledger transaction must balance")
    accounts = _accounts()
    txn = Transaction.objects.create(
        kind=kind,
        case=case,
        memo=memo[:300],
        posted_by=posted_by,
        posted_on=posted_on or timezone.localdate(),
        reverses=reverses,
    )
    Entry.objects.bulk_create(
        [
            Entry(transaction=txn, account=accounts[code], amount=amount, case_id=case_id)
            for code, amount, case_id in lines
        ]
    )
    return txn


# ---------------------------------------------------------------------------------------------
# Deposits
# ---------------------------------------------------------------------------------------------


def post_deposit(
    *,
    case: Case,
    amount: Decimal,
    received_on: date,
    payer: str,
    instrument: str,
    reference: str,
    idempotency_key: str,
    recorded_by: User,
    settlement=None,
    installment=None,
) -> tuple[Deposit, bool]:
    """Record a receipt against a case. A repeated idempotency key posts nothing and returns the
    original deposit (and False); the same key with different figures is a conflict."""
    key = (idempotency_key or "").strip()
    errors = {}
    if not key:
        errors["idempotency_key"] = (
            "An idempotency key is required (e.g. the check number and date)."
        )
    amount = to_money(amount)
    if amount <= ZERO:
        errors["amount"] = "A deposit is a positive amount."
    if received_on > timezone.localdate():
        errors["received_on"] = "A deposit cannot be received in the future."
    if instrument not in Deposit.Instrument.values:
        errors["instrument"] = "Unknown instrument."
    if not (payer or "").strip():
        errors["payer"] = "Who paid?"
    if not (reference or "").strip():
        errors["reference"] = "Give the check, trace or confirmation number."
    if settlement is not None and settlement.case_id != case.pk:
        errors["settlement"] = "That settlement belongs to another case."
    if installment is not None and installment.arrangement.settlement.case_id != case.pk:
        errors["installment"] = "That installment belongs to another case."
    if errors:
        raise ValidationError(errors)
    _ensure_writer(recorded_by, case)
    figures = {
        "case": case,
        "amount": amount,
        "received_on": received_on,
        "instrument": instrument,
        "reference": reference.strip(),
    }
    existing = Deposit.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return _same_deposit(existing, **figures), False
    try:
        with transaction.atomic():
            balance = _lock_balance(case.pk)
            txn = _post(
                kind=Transaction.Kind.DEPOSIT,
                case=case,
                memo=f"{Deposit.Instrument(instrument).label} {reference} from {payer}",
                posted_by=recorded_by,
                lines=[
                    (Account.Code.HOLDING_CASH, amount, None),
                    (Account.Code.FUNDS_HELD, -amount, case.pk),
                ],
            )
            deposit = Deposit.objects.create(
                case=case,
                amount=amount,
                received_on=received_on,
                payer=payer.strip()[:200],
                instrument=instrument,
                reference=reference.strip()[:60],
                idempotency_key=key[:100],
                settlement=settlement,
                installment=installment,
                transaction=txn,
                recorded_by=recorded_by,
            )
            CaseBalance.objects.filter(pk=balance.pk).update(
                held=F("held") + amount, received=F("received") + amount, updated_at=timezone.now()
            )
            Activity.objects.create(
                case=case,
                kind=Activity.Kind.NOTE,
                direction=Activity.Direction.INBOUND,
                subject=f"Payment received: ${amount:,} ({deposit.get_instrument_display()} {deposit.reference})",
                created_by=recorded_by,
            )
            if installment is not None:
                from settlements.services import record_installment_payment

                record_installment_payment(
                    installment=installment, amount=amount, recorded_by=recorded_by
                )
    except IntegrityError:
        # Another request posted the same key first: answer with its deposit.
        existing = Deposit.objects.filter(idempotency_key=key).first()
        if existing is None:
            raise
        return _same_deposit(existing, **figures), False
    return deposit, True


def _same_deposit(
    existing: Deposit,
    *,
    case: Case,
    amount: Decimal,
    received_on: date,
    instrument: str,
    reference: str,
) -> Deposit:
    """A replayed request gets the original back; the same key with other figures is refused."""
    if (
        existing.case_id != case.pk
        or existing.amount != amount
        or existing.received_on != received_on
        or existing.instrument != instrument
        or existing.reference != reference[:60]
    ):
        raise Conflict(
            "This idempotency key was already used for a different deposit.",
            code="idempotency_mismatch",
        )
    return existing


# ---------------------------------------------------------------------------------------------
# Disbursements
# ---------------------------------------------------------------------------------------------


@transaction.atomic
def request_disbursement(
    *, case: Case, amount: Decimal, payee: str, purpose: str, requested_by: User, note: str = ""
) -> Disbursement:
    _ensure_writer(requested_by, case)
    amount = to_money(amount)
    errors = {}
    if amount <= ZERO:
        errors["amount"] = "A disbursement is a positive amount."
    if purpose not in Disbursement.Purpose.values:
        errors["purpose"] = "Unknown purpose."
    if not (payee or "").strip():
        errors["payee"] = "Who is paid?"
    if errors:
        raise ValidationError(errors)
    held = CaseBalance.objects.filter(case=case).values_list("held", flat=True).first() or ZERO
    if amount > held:
        # Checked again, under lock, when it posts; refusing early saves a supervisor's time.
        raise Conflict(
            f"The case holds ${held:,}; a ${amount:,} disbursement would overdraw it.",
            code="overdraw",
        )
    disbursement = Disbursement.objects.create(
        case=case,
        amount=amount,
        payee=payee.strip()[:200],
        purpose=purpose,
        note=(note or "").strip()[:500],
        requested_by=requested_by,
    )
    supervisor = requested_by.supervisor
    if supervisor is not None:
        notify(
            user=supervisor,
            kind="approval",
            title=f"Disbursement of ${amount:,} from {case.number} awaits approval",
            link=f"/cases/{case.pk}/",
            key=f"disbursement:{disbursement.pk}:requested",
        )
    return disbursement


def split_program_recovery(case: Case, amount: Decimal) -> tuple[Decimal, Decimal]:
    """(state share, federal share) of a program recovery: spread over the case's included lines
    in proportion to their paid amounts, each part at the line's own matching rate."""
    lines = []
    included = CaseClaim.objects.filter(case=case, included=True).select_related("claim_line")
    for case_claim in included:
        line = case_claim.claim_line
        rate = line.fmap_rate
        if rate is None:
            rate = case.jurisdiction.fmap_for(line.paid_date or line.service_from)
        if rate is None:
            raise ValidationError(
                {
                    "purpose": f"Claim {line.claim_number}-{line.line_number} has no matching rate and the state's FMAP table has none for its fiscal year."
                }
            )
        lines.append((line.paid_amount, rate))
    paid_total = sum((paid for paid, _ in lines), ZERO)
    already = (
        Disbursement.objects.filter(
            case=case,
            purpose=Disbursement.Purpose.PROGRAM_RECOVERY,
            status=Disbursement.Status.APPROVED,
        ).aggregate(total=Sum("amount"))["total"]
        or ZERO
    )
    if amount + already > paid_total:
        raise ValidationError(
            {
                "amount": f"The program recovers at most what it paid (${paid_total:,}; ${already:,} already recovered). Refund the rest to the member."
            }
        )
    split = federal_share(amount, lines)
    return split.total_state, split.total_federal


PAYABLE = {
    Disbursement.Purpose.MCO_SHARE: Account.Code.MCO_PAYABLE,
    Disbursement.Purpose.ATTORNEY_REFUND: Account.Code.REFUNDS_PAYABLE,
    Disbursement.Purpose.MEMBER_REFUND: Account.Code.REFUNDS_PAYABLE,
}


@transaction.atomic
def approve_disbursement(
    *, disbursement: Disbursement, approved_by: User, note: str = ""
) -> Disbursement:
    """A supervisor who did not request it approves; it posts at once, under the case's balance
    lock, or not at all (409 when it would overdraw)."""
    if approved_by.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise PermissionDenied("Only a supervisor approves disbursements.")
    disbursement = (
        Disbursement.objects.select_for_update()
        .select_related("case__jurisdiction")
        .get(pk=disbursement.pk)
    )
    if disbursement.requested_by_id == approved_by.pk:
        raise PermissionDenied("Nobody approves their own disbursement request.")
    if disbursement.status != Disbursement.Status.REQUESTED:
        raise Conflict(f"This disbursement is already {disbursement.get_status_display().lower()}.")
    case = disbursement.case
    balance = _lock_balance(case.pk)
    amount = disbursement.amount
    if amount > balance.held:
        raise Conflict(
            f"The case holds ${balance.held:,}; ${amount:,} would overdraw it.", code="overdraw"
        )
    lines: list[tuple[str, Decimal, int | None]] = [(Account.Code.FUNDS_HELD, amount, case.pk)]
    if disbursement.purpose == Disbursement.Purpose.PROGRAM_RECOVERY:
        state, federal = split_program_recovery(case, amount)
        lines += [
            (Account.Code.STATE_SHARE, -state, case.pk),
            (Account.Code.FEDERAL_SHARE_PAYABLE, -federal, case.pk),
        ]
        disbursement.state_share, disbursement.federal_share = state, federal
    else:
        lines.append((PAYABLE[disbursement.purpose], -amount, case.pk))
    txn = _post(
        kind=Transaction.Kind.DISBURSEMENT,
        case=case,
        memo=f"{disbursement.get_purpose_display()} to {disbursement.payee}",
        posted_by=approved_by,
        lines=lines,
    )
    CaseBalance.objects.filter(pk=balance.pk).update(
        held=F("held") - amount, disbursed=F("disbursed") + amount, updated_at=timezone.now()
    )
    disbursement.status = Disbursement.Status.APPROVED
    disbursement.decided_by = approved_by
    disbursement.decided_at = timezone.now()
    disbursement.decision_note = (note or "")[:500]
    disbursement.transaction = txn
    disbursement.save()
    notify(
        user=disbursement.requested_by,
        kind="approval",
        title=f"Disbursement of ${amount:,} from {case.number} approved and posted",
        link=f"/cases/{case.pk}/",
        key=f"disbursement:{disbursement.pk}:decided",
    )
    return disbursement


@transaction.atomic
def reject_disbursement(
    *, disbursement: Disbursement, rejected_by: User, note: str
) -> Disbursement:
    if rejected_by.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise PermissionDenied("Only a supervisor rejects disbursements.")
    disbursement = Disbursement.objects.select_for_update().get(pk=disbursement.pk)
    if disbursement.requested_by_id == rejected_by.pk:
        raise PermissionDenied("Nobody decides their own disbursement request.")
    if disbursement.status != Disbursement.Status.REQUESTED:
        raise Conflict(f"This disbursement is already {disbursement.get_status_display().lower()}.")
    if not (note or "").strip():
        raise ValidationError({"note": "Say why the disbursement is rejected."})
    disbursement.status = Disbursement.Status.REJECTED
    disbursement.decided_by = rejected_by
    disbursement.decided_at = timezone.now()
    disbursement.decision_note = note.strip()[:500]
    disbursement.save()
    return disbursement


@transaction.atomic
def cancel_disbursement(*, disbursement: Disbursement, cancelled_by: User) -> Disbursement:
    disbursement = Disbursement.objects.select_for_update().get(pk=disbursement.pk)
    if disbursement.requested_by_id != cancelled_by.pk and cancelled_by.role not in (
        Role.SUPERVISOR,
        Role.ADMIN,
    ):
        raise PermissionDenied("Only the requester or a supervisor cancels a request.")
    if disbursement.status != Disbursement.Status.REQUESTED:
        raise Conflict(f"This disbursement is already {disbursement.get_status_display().lower()}.")
    disbursement.status = Disbursement.Status.CANCELLED
    disbursement.save(update_fields=["status"])
    return disbursement


# ---------------------------------------------------------------------------------------------
# Corrections
# ---------------------------------------------------------------------------------------------


@transaction.atomic
def reverse_transaction(*, original: Transaction, reversed_by: User, reason: str) -> Transaction:
    """Post the mirror image of a transaction. Only supervisors correct the books; a transaction
    is reversed at most once; a reversal never leaves a case's held balance below zero."""
    if reversed_by.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise PermissionDenied("Only a supervisor reverses ledger transactions.")
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the transaction is reversed."})
    original = Transaction.objects.select_for_update().get(pk=original.pk)
    if original.kind == Transaction.Kind.REVERSAL:
        raise Conflict("A reversal is not reversed; post a new transaction instead.")
    if Transaction.objects.filter(reverses=original).exists():
        raise Conflict("This transaction was already reversed.")
    entries = list(original.entries.select_related("account"))
    # Funds held is a credit-balance account: a case holds minus the sum of its entries there.
    # Reversing negates the entries, so the case's held balance moves by the original sum
    # (a deposit's credit of -100 comes back off: held changes by -100).
    held_change: dict[int, Decimal] = {}
    for entry in entries:
        if entry.account.code == Account.Code.FUNDS_HELD and entry.case_id:
            held_change[entry.case_id] = held_change.get(entry.case_id, ZERO) + entry.amount
    balances = {case_id: _lock_balance(case_id) for case_id in sorted(held_change)}
    for case_id, change in held_change.items():
        if balances[case_id].held + change < ZERO:
            raise Conflict(
                "Reversing this would leave the case's held balance below zero.", code="overdraw"
            )
    txn = _post(
        kind=Transaction.Kind.REVERSAL,
        case=original.case,
        memo=f"Reversal of #{original.pk}: {reason.strip()}"[:300],
        posted_by=reversed_by,
        lines=[(entry.account.code, -entry.amount, entry.case_id) for entry in entries],
        reverses=original,
    )
    for case_id, change in held_change.items():
        field_delta = {"held": F("held") + change, "updated_at": timezone.now()}
        if original.kind == Transaction.Kind.DEPOSIT:
            field_delta["received"] = F("received") + change
        elif original.kind == Transaction.Kind.DISBURSEMENT:
            field_delta["disbursed"] = F("disbursed") - change
        CaseBalance.objects.filter(case_id=case_id).update(**field_delta)
    Deposit.objects.filter(transaction=original).update(reversed_at=timezone.now())
    Disbursement.objects.filter(transaction=original).update(reversed_at=timezone.now())
    return txn


def held_balance(case: Case) -> Decimal:
    return CaseBalance.objects.filter(case=case).values_list("held", flat=True).first() or ZERO
