"""Ledger reports. Every figure is one SQL aggregate — never a Python loop over entries — so a
report costs the same few queries over a hundred entries or five million.

- trial balance: debit and credit totals per account (an index-only scan of
  `entry_account_amount_idx`); total debits equal total credits;
- held balances per case, largest first, checked against the entries of account 2000;
- the disbursement register;
- federal share by federal fiscal quarter, in the shape of CMS-64.9A line 9;
- aging of accepted settlements not yet paid;
- the general-ledger export.

Each report also renders as CSV through `csv_response`, which neutralises spreadsheet formula
injection.
"""

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import (
    Case,
    Count,
    DecimalField,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, ExtractMonth, ExtractYear
from django.http import StreamingHttpResponse
from django.utils import timezone

from recovery.money import MAX_DIGITS, ZERO
from settlements.models import Settlement

from .models import Account, CaseBalance, Deposit, Disbursement, Entry

MONEY = DecimalField(max_digits=MAX_DIGITS + 4, decimal_places=2)


# ---------------------------------------------------------------------------------------------
# Trial balance
# ---------------------------------------------------------------------------------------------


@dataclass
class TrialBalanceRow:
    account: Account
    debit: Decimal
    credit: Decimal

    @property
    def balance(self) -> Decimal:
        """Debit balance positive, credit balance negative (the entries' own sign)."""
        return self.debit - self.credit

    @property
    def normal_balance(self) -> Decimal:
        """The balance on the account's normal side: assets debit, the others credit."""
        return self.balance if self.account.type == Account.Type.ASSET else -self.balance


@dataclass
class TrialBalance:
    rows: list[TrialBalanceRow]
    as_of: date | None = None

    @property
    def total_debit(self) -> Decimal:
        return sum((row.debit for row in self.rows), ZERO)

    @property
    def total_credit(self) -> Decimal:
        return sum((row.credit for row in self.rows), ZERO)

    @property
    def balanced(self) -> bool:
        return self.total_debit == self.total_credit


def trial_balance_queryset(as_of: date | None = None) -> QuerySet:
    """One GROUP BY over the entries. Without a date it reads only the covering index
    (account, amount); with one it joins the transactions for their posting day."""
    entries = Entry.objects.all()
    if as_of is not None:
        entries = entries.filter(transaction__posted_on__lte=as_of)
    return (
        entries.order_by()
        .values("account_id")
        .annotate(
            debit=Sum("amount", filter=Q(amount__gt=0), default=ZERO),
            credit=Sum("amount", filter=Q(amount__lt=0), default=ZERO),
        )
    )


def trial_balance(*, as_of: date | None = None) -> TrialBalance:
    totals = {row["account_id"]: row for row in trial_balance_queryset(as_of)}
    rows = []
    for account in Account.objects.order_by("code"):
        row = totals.get(account.pk, {"debit": ZERO, "credit": ZERO})
        rows.append(TrialBalanceRow(account=account, debit=row["debit"], credit=-row["credit"]))
    return TrialBalance(rows=rows, as_of=as_of)


def account_balances() -> list[TrialBalanceRow]:
    return trial_balance().rows


# ---------------------------------------------------------------------------------------------
# Held balances per case
# ---------------------------------------------------------------------------------------------


def held_balances() -> QuerySet[CaseBalance]:
    """Cases holding money, largest first (paginate it)."""
    return (
        CaseBalance.objects.filter(held__gt=0)
        .select_related("case", "case__assigned_to")
        .order_by("-held", "case_id")
    )


def ledger_held(case_ids: Iterable[int]) -> dict[int, Decimal]:
    """What the entries of account 2000 say each case holds (a credit balance): the check on
    the maintained balance rows, for one page of cases in one query."""
    rows = (
        Entry.objects.filter(case_id__in=list(case_ids), account__code=Account.Code.FUNDS_HELD)
        .order_by()
        .values("case_id")
        .annotate(total=Sum("amount"))
    )
    return {row["case_id"]: -row["total"] for row in rows}


def held_totals() -> dict:
    return CaseBalance.objects.aggregate(
        cases=Count("case_id", filter=Q(held__gt=0)), held=Sum("held", default=ZERO)
    )


# ---------------------------------------------------------------------------------------------
# Federal share by federal fiscal quarter (CMS-64.9A line 9)
# ---------------------------------------------------------------------------------------------


@dataclass
class QuarterRow:
    fiscal_year: int
    quarter: int
    count: int = 0
    total: Decimal = ZERO
    federal: Decimal = ZERO
    state: Decimal = ZERO
    # Program recoveries reversed in this quarter (whenever they were approved): adjustments.
    reversed_count: int = 0
    reversed_total: Decimal = ZERO
    reversed_federal: Decimal = ZERO
    reversed_state: Decimal = ZERO

    @property
    def label(self) -> str:
        return f"FFY {self.fiscal_year} Q{self.quarter}"

    @property
    def period(self) -> tuple[date, date]:
        return quarter_dates(self.fiscal_year, self.quarter)

    @property
    def net_federal(self) -> Decimal:
        return self.federal - self.reversed_federal


def quarter_dates(fiscal_year: int, quarter: int) -> tuple[date, date]:
    """First and last day of a federal fiscal quarter (FFY 2026 Q1 = Oct–Dec 2025)."""
    start_month = (quarter - 1) * 3 + 10
    year = fiscal_year - 1
    if start_month > 12:
        start_month -= 12
        year += 1
    start = date(year, start_month, 1)
    end_month = start_month + 3
    end = date(year + (end_month > 12), (end_month - 1) % 12 + 1, 1) - timedelta(days=1)
    return start, end


def fiscal_quarter(day: date) -> tuple[int, int]:
    """(federal fiscal year, quarter) of a day: October to December is Q1 of the next year."""
    if day.month >= 10:
        return day.year + 1, 1
    return day.year, (day.month - 1) // 3 + 2


def _aware(day: date, *, end: bool = False) -> datetime:
    moment = datetime.combine(day + timedelta(days=1) if end else day, time.min)
    return timezone.make_aware(moment)


def _by_fiscal_quarter(rows: QuerySet, moment: str) -> QuerySet:
    """Group by the federal fiscal quarter of a timestamp, in the agency's time zone."""
    return (
        rows.order_by()
        .alias(moment_month=ExtractMonth(moment))
        .annotate(
            ffy=ExtractYear(moment)
            + Case(When(Q(moment_month__gte=10), then=Value(1)), default=Value(0)),
            ffq=Case(
                When(Q(moment_month__gte=10), then=Value(1)),
                When(Q(moment_month__lte=3), then=Value(2)),
                When(Q(moment_month__lte=6), then=Value(3)),
                default=Value(4),
                output_field=IntegerField(),
            ),
        )
        .values("ffy", "ffq")
        .annotate(
            count=Count("id"),
            total=Sum("amount", default=ZERO),
            federal=Sum("federal_share", default=ZERO),
            state=Sum("state_share", default=ZERO),
        )
        .order_by("ffy", "ffq")
    )


def federal_share_by_quarter(
    *, date_from: date | None = None, date_to: date | None = None
) -> list[QuarterRow]:
    """Approved program recoveries grouped by the federal fiscal quarter in which they were
    approved (their `decided_at`, in the agency's time zone); recoveries reversed later are
    adjustments of the quarter of the reversal. Two GROUP BY queries."""
    recoveries = Disbursement.objects.filter(
        purpose=Disbursement.Purpose.PROGRAM_RECOVERY, status=Disbursement.Status.APPROVED
    )
    approved = recoveries
    reversed_ = recoveries.filter(transaction__reversed_by__isnull=False)
    reversed_at = "transaction__reversed_by__posted_at"
    if date_from:
        approved = approved.filter(decided_at__gte=_aware(date_from))
        reversed_ = reversed_.filter(**{f"{reversed_at}__gte": _aware(date_from)})
    if date_to:
        approved = approved.filter(decided_at__lt=_aware(date_to, end=True))
        reversed_ = reversed_.filter(**{f"{reversed_at}__lt": _aware(date_to, end=True)})
    quarters: dict[tuple[int, int], QuarterRow] = {}
    for row in _by_fiscal_quarter(approved, "decided_at"):
        quarters[(row["ffy"], row["ffq"])] = QuarterRow(
            fiscal_year=row["ffy"],
            quarter=row["ffq"],
            count=row["count"],
            total=row["total"],
            federal=row["federal"],
            state=row["state"],
        )
    for row in _by_fiscal_quarter(reversed_, reversed_at):
        key = (row["ffy"], row["ffq"])
        quarter = quarters.setdefault(key, QuarterRow(fiscal_year=key[0], quarter=key[1]))
        quarter.reversed_count = row["count"]
        quarter.reversed_total = row["total"]
        quarter.reversed_federal = row["federal"]
        quarter.reversed_state = row["state"]
    return [quarters[key] for key in sorted(quarters)]


# ---------------------------------------------------------------------------------------------
# Aging of accepted settlements not yet paid
# ---------------------------------------------------------------------------------------------

BUCKETS = [
    ("0-30", "0–30 days"),
    ("31-60", "31–60 days"),
    ("61-90", "61–90 days"),
    ("91+", "91+ days"),
]


def settlement_aging(today: date | None = None) -> QuerySet[Settlement]:
    """Accepted settlements whose case has received less than the agreed recovery, with
    `received`, `outstanding`, `decided_on_at` and `bucket` (days since the acceptance)."""
    today = today or timezone.localdate()
    received = (
        Deposit.objects.filter(case=OuterRef("case"), reversed_at__isnull=True)
        .order_by()
        .values("case")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    since = Coalesce("decided_at", "proposed_at")
    # Day boundaries in the agency's time zone: accepted on day D is 0 days old on D.
    cut_30 = _aware(today - timedelta(days=30))
    cut_60 = _aware(today - timedelta(days=60))
    cut_90 = _aware(today - timedelta(days=90))
    return (
        Settlement.objects.filter(status=Settlement.Status.ACCEPTED)
        .annotate(
            accepted_at=since,
            received=Coalesce(
                Subquery(received, output_field=MONEY), Value(ZERO), output_field=MONEY
            ),
        )
        .annotate(outstanding=F("agreed_recovery") - F("received"))
        .filter(outstanding__gt=0)
        .annotate(
            bucket=Case(
                When(accepted_at__gte=cut_30, then=Value("0-30")),
                When(accepted_at__gte=cut_60, then=Value("31-60")),
                When(accepted_at__gte=cut_90, then=Value("61-90")),
                default=Value("91+"),
            )
        )
        .select_related("case", "case__assigned_to")
        .order_by("accepted_at", "id")
    )


def aging_summary(aged: QuerySet[Settlement]) -> list[dict]:
    """Count and outstanding amount per bucket, every bucket listed (one GROUP BY)."""
    totals = {
        row["bucket"]: row
        for row in aged.order_by()
        .values("bucket")
        .annotate(count=Count("id"), amount=Sum("outstanding"))
    }
    return [
        {
            "bucket": key,
            "label": label,
            "count": totals.get(key, {}).get("count", 0),
            "amount": totals.get(key, {}).get("amount") or ZERO,
        }
        for key, label in BUCKETS
    ]


# ---------------------------------------------------------------------------------------------
# General-ledger export
# ---------------------------------------------------------------------------------------------

GL_HEADER = [
    "date",
    "transaction_id",
    "kind",
    "account",
    "debit",
    "credit",
    "case_number",
    "memo",
]


def gl_entries(date_from: date, date_to: date) -> QuerySet:
    """Posted entries in the range of posting days, in posting order, flat for the export."""
    return (
        Entry.objects.filter(transaction__posted_on__range=(date_from, date_to))
        .annotate(
            gl_account=Case(
                When(~Q(account__external_code=""), then=F("account__external_code")),
                default=F("account__code"),
            )
        )
        .order_by("transaction__posted_on", "transaction_id", "id")
        .values_list(
            "transaction__posted_on",
            "transaction_id",
            "transaction__kind",
            "gl_account",
            "amount",
            "transaction__case__number",
            "transaction__memo",
        )
    )


def gl_rows(date_from: date, date_to: date) -> Iterator[list]:
    for posted_on, txn_id, kind, account, amount, case_number, memo in gl_entries(
        date_from, date_to
    ).iterator(chunk_size=5000):
        yield [
            posted_on.isoformat(),
            txn_id,
            kind,
            account,
            amount if amount > 0 else "",
            -amount if amount < 0 else "",
            case_number or "",
            memo,
        ]


def gl_summary(date_from: date, date_to: date) -> dict:
    """Per-account totals of the export, and its grand totals (debits = credits)."""
    entries = Entry.objects.filter(transaction__posted_on__range=(date_from, date_to))
    accounts = list(
        entries.order_by("account__code")
        .values("account__code", "account__name", "account__external_code")
        .annotate(
            debit=Sum("amount", filter=Q(amount__gt=0), default=ZERO),
            credit=-Sum("amount", filter=Q(amount__lt=0), default=ZERO),
            count=Count("id"),
        )
    )
    totals = entries.aggregate(
        debit=Sum("amount", filter=Q(amount__gt=0), default=ZERO),
        credit=-Sum("amount", filter=Q(amount__lt=0), default=ZERO),
        entries=Count("id"),
        transactions=Count("transaction_id", distinct=True),
    )
    return {"accounts": accounts, **totals}


# ---------------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------------

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def csv_cell(value, *, amount: bool = False) -> str:
    """A cell a spreadsheet will not run: text starting with = + - @ (or a tab / carriage
    return) gets a leading apostrophe, except a plain negative number in an amount column."""
    if value is None:
        return ""
    text = str(value)
    if amount and PLAIN_NUMBER.match(text):
        return text
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(
    header: list[str], rows: Iterable[Iterable], amount_columns: Iterable[str] = ()
) -> Iterator[str]:
    amounts = {header.index(name) for name in amount_columns}
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(header)
    for row in rows:
        yield writer.writerow(
            [csv_cell(value, amount=index in amounts) for index, value in enumerate(row)]
        )


def csv_response(
    filename: str,
    header: list[str],
    rows: Iterable[Iterable],
    amount_columns: Iterable[str] = (),
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        csv_lines(header, rows, amount_columns), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
