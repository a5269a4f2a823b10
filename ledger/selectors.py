"""Reads of the ledger: who sees which money, and the querysets every screen, API and report
starts from.

Money hangs off a case, so visibility is the case's (`cases_visible_to`): a deposit, request or
transaction on a case the user may not see does not exist for them (404). Supervisors, admins
and auditors see every case, and so also the few rows without one.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.http import Http404
from django.utils import timezone

from cases.models import Case
from cases.selectors import cases_visible_to
from recovery.core.models import Role, User
from recovery.money import ZERO, to_money

from .models import CaseBalance, Deposit, Disbursement, Entry, Transaction
from .services import split_program_recovery

SEES_ALL = (Role.SUPERVISOR, Role.ADMIN, Role.AUDITOR)


def _case_filter(user: User, field: str = "case") -> Q:
    if user.is_authenticated and user.role in SEES_ALL:
        return Q()
    return Q(**{f"{field}__in": cases_visible_to(user)})


def deposits_visible_to(user: User) -> QuerySet[Deposit]:
    return Deposit.objects.filter(_case_filter(user)).select_related(
        "case", "recorded_by", "transaction"
    )


def disbursements_visible_to(user: User) -> QuerySet[Disbursement]:
    return Disbursement.objects.filter(_case_filter(user)).select_related(
        "case", "requested_by", "decided_by"
    )


def transactions_visible_to(user: User) -> QuerySet[Transaction]:
    transactions = Transaction.objects.all()
    if not (user.is_authenticated and user.role in SEES_ALL):
        transactions = transactions.filter(case__in=cases_visible_to(user))
    return (
        transactions.select_related("case", "posted_by")
        .annotate(
            reversal_id=Subquery(
                Transaction.objects.filter(reverses=OuterRef("pk")).values("pk")[:1]
            )
        )
        .prefetch_related(Prefetch("entries", queryset=Entry.objects.select_related("account")))
    )


def _get(queryset: QuerySet, id) -> object:
    try:
        return queryset.get(pk=id)
    except (queryset.model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404(f"No such {queryset.model._meta.verbose_name}") from exc


def deposit_get(*, user: User, id) -> Deposit:
    return _get(deposits_visible_to(user), id)


def disbursement_get(*, user: User, id) -> Disbursement:
    return _get(disbursements_visible_to(user), id)


def transaction_get(*, user: User, id) -> Transaction:
    return _get(transactions_visible_to(user), id)


def is_reversed() -> Exists:
    """Annotation: the transaction has a reversal."""
    return Exists(Transaction.objects.filter(reverses=OuterRef("pk")))


# ---------------------------------------------------------------------------------------------
# One case's money (the case page's Money tab)
# ---------------------------------------------------------------------------------------------


@dataclass
class CaseMoney:
    held: Decimal
    received: Decimal
    disbursed: Decimal
    pending: Decimal
    deposits: list[Deposit]
    disbursements: list[Disbursement]
    transactions: list[Transaction]

    @property
    def available(self) -> Decimal:
        """Held money not yet promised to a pending request."""
        return max(self.held - self.pending, ZERO)


CASE_ROWS = 100


def case_money(case: Case) -> CaseMoney:
    """Balances, deposits, requests and postings of one case: a fixed number of queries, the
    newest `CASE_ROWS` of each list."""
    balance = CaseBalance.objects.filter(case=case).first()
    disbursements = list(
        Disbursement.objects.filter(case=case)
        .select_related("requested_by", "decided_by", "transaction")
        .annotate(reversed=Exists(Transaction.objects.filter(reverses=OuterRef("transaction"))))
        .order_by("-requested_at", "-id")[:CASE_ROWS]
    )
    pending = (
        Disbursement.objects.filter(case=case, status=Disbursement.Status.REQUESTED).aggregate(
            total=Sum("amount")
        )["total"]
        or ZERO
    )
    deposits = list(
        Deposit.objects.filter(case=case)
        .select_related("recorded_by", "transaction", "settlement", "installment")
        .order_by("-received_on", "-id")[:CASE_ROWS]
    )
    transactions = list(
        Transaction.objects.filter(case=case)
        .select_related("posted_by", "reverses")
        .annotate(reversed=is_reversed())
        .prefetch_related(Prefetch("entries", queryset=Entry.objects.select_related("account")))
        .order_by("-posted_at", "-id")[:CASE_ROWS]
    )
    return CaseMoney(
        held=balance.held if balance else ZERO,
        received=balance.received if balance else ZERO,
        disbursed=balance.disbursed if balance else ZERO,
        pending=pending,
        deposits=deposits,
        disbursements=disbursements,
        transactions=transactions,
    )


@dataclass
class SplitPreview:
    amount: Decimal
    state: Decimal | None = None
    federal: Decimal | None = None
    error: str = ""


def preview_split(case: Case, amount) -> SplitPreview:
    """The state/federal split a program recovery of `amount` would post, read-only."""
    try:
        amount = to_money(amount)
    except (ValueError, TypeError):
        return SplitPreview(amount=ZERO, error="Enter an amount.")
    if amount <= ZERO:
        return SplitPreview(amount=amount, error="Enter a positive amount.")
    try:
        state, federal = split_program_recovery(case, amount)
    except ValidationError as exc:
        return SplitPreview(amount=amount, error=" ".join(exc.messages))
    return SplitPreview(amount=amount, state=state, federal=federal)


# ---------------------------------------------------------------------------------------------
# The holding account
# ---------------------------------------------------------------------------------------------


def pending_disbursements(user: User) -> QuerySet[Disbursement]:
    """Requests awaiting a decision, oldest first."""
    return (
        disbursements_visible_to(user)
        .filter(status=Disbursement.Status.REQUESTED)
        .order_by("requested_at", "id")
    )


def deposit_batch(day: date) -> QuerySet[Deposit]:
    """The deposits received on one day (a day's batch to the bank)."""
    return (
        Deposit.objects.filter(received_on=day)
        .select_related("case", "recorded_by")
        .order_by("instrument", "id")
    )


def deposit_batch_totals(day: date) -> list[dict]:
    """Per instrument: count and amount of the deposits that stand, reversed ones apart."""
    rows = list(
        Deposit.objects.filter(received_on=day)
        .values("instrument")
        .order_by("instrument")
        .annotate(
            count=Count("id", filter=Q(reversed_at__isnull=True)),
            total=Sum("amount", filter=Q(reversed_at__isnull=True), default=ZERO),
            reversed_total=Sum("amount", filter=Q(reversed_at__isnull=False), default=ZERO),
        )
    )
    labels = dict(Deposit.Instrument.choices)
    for row in rows:
        row["label"] = labels.get(row["instrument"], row["instrument"])
    return rows


def recent_batch_days(limit: int = 14) -> list[date]:
    return list(
        Deposit.objects.order_by("-received_on")
        .values_list("received_on", flat=True)
        .distinct()[:limit]
    )


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def disbursement_register(
    *,
    status: str = "",
    purpose: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
    case: Case | None = None,
    user: User | None = None,
) -> QuerySet[Disbursement]:
    """Every request with its decision, filtered; dates are the request's (local) day."""
    disbursements = (
        disbursements_visible_to(user)
        if user is not None
        else Disbursement.objects.select_related("case", "requested_by", "decided_by")
    )
    if status in Disbursement.Status.values:
        disbursements = disbursements.filter(status=status)
    if purpose in Disbursement.Purpose.values:
        disbursements = disbursements.filter(purpose=purpose)
    # Whole local days, as a range on the column itself (so its index serves).
    if date_from:
        disbursements = disbursements.filter(requested_at__gte=_start_of(date_from))
    if date_to:
        disbursements = disbursements.filter(
            requested_at__lt=_start_of(date_to + timedelta(days=1))
        )
    if case is not None:
        disbursements = disbursements.filter(case=case)
    return disbursements.order_by("-requested_at", "-id")
