"""The unit's reports: recoveries by jurisdiction and period, liens filed and released, settlement
compromises with their reasons, and specialist productivity.

Every figure is an aggregate computed in PostgreSQL (GROUP BY with conditional aggregation) over
the cases the user may see (`cases_visible_to`), narrowed by the filters; a report costs the same
few queries over ten cases or a million. Long lists (a report's drill-down) are querysets the page
paginates and the CSV streams. Money stays `Decimal`; rates and averages are rounded half-up.

Each report is a `Report` of `Table`s: the page, the CSV and the PDF all render the same tables,
so the export is exactly what the page shows.
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Case as Conditional
from django.db.models import (
    CharField,
    Count,
    DateField,
    DecimalField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, TruncDate, TruncMonth, TruncQuarter
from django.utils import timezone

from cases.models import Activity, Assignment, Case, Deadline
from cases.selectors import cases_visible_to
from ledger.models import Deposit, Disbursement
from ledger.reports import fiscal_quarter
from liens.models import Lien, LienChange
from recovery.core.models import Role, User
from recovery.money import MAX_DIGITS, ZERO
from settlements.models import BalanceAdjustment, Settlement

from . import charts
from .forms import Filters, person
from .selectors import add_months

MONEY = DecimalField(max_digits=MAX_DIGITS + 4, decimal_places=2)
PLAIN_NUMBER = r"^-?[0-9]+(\.[0-9]+)?$"
ONE_PLACE = Decimal("0.1")


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    # text | int | money | percent | days | date
    kind: str = "text"

    @property
    def numeric(self) -> bool:
        return self.kind in ("int", "money", "percent", "days")


@dataclass
class Table:
    """A titled table: `rows` (dicts keyed by column), or for a long list a `queryset` whose
    objects `to_row` turns into such dicts. `totals` is the closing row, or None."""

    key: str
    title: str
    columns: list[Column]
    rows: list[dict] = field(default_factory=list)
    totals: dict | None = None
    queryset: QuerySet | None = None
    to_row: Callable[[object], dict] | None = None
    note: str = ""
    empty: str = "Nothing in this period."
    # (row, column key) -> query parameters of the drill-down behind that cell, or None.
    drill: Callable[[dict, str], dict | None] | None = None

    @property
    def is_list(self) -> bool:
        return self.queryset is not None

    def iter_rows(self, limit: int | None = None) -> Iterator[dict]:
        if self.queryset is None:
            yield from (self.rows if limit is None else self.rows[:limit])
            return
        objects = (
            self.queryset[:limit] if limit is not None else self.queryset.iterator(chunk_size=2000)
        )
        for obj in objects:
            yield self.to_row(obj)

    def count(self) -> int:
        return self.queryset.count() if self.queryset is not None else len(self.rows)


@dataclass
class Report:
    slug: str
    title: str
    description: str
    filters: Filters
    tables: list[Table]
    chart: str = ""
    group_label: str = ""
    notes: list[str] = field(default_factory=list)

    def table(self, key: str) -> Table | None:
        return next((t for t in self.tables if t.key == key), None)

    @property
    def filter_rows(self) -> list[tuple[str, str]]:
        return self.filters.describe(group_label=self.group_label)


def rate(part: Decimal | None, whole: Decimal | None) -> Decimal | None:
    """`part` as a percentage of `whole`, to one place, half-up; None without a base."""
    if not whole:
        return None
    return (Decimal(part or 0) * 100 / Decimal(whole)).quantize(ONE_PLACE, rounding=ROUND_HALF_UP)


def average_days(total: timedelta | None, count: int) -> Decimal | None:
    if not count or total is None:
        return None
    days = Decimal(total.days) + Decimal(total.seconds) / Decimal(86400)
    return (days / count).quantize(ONE_PLACE, rounding=ROUND_HALF_UP)


def day_start(day: date) -> datetime:
    """Midnight at the start of `day` in the agency's time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def _moments(f: Filters) -> tuple[datetime, datetime]:
    """The period as [start, end) in time, for timestamp columns."""
    return day_start(f.date_from), day_start(f.date_to + timedelta(days=1))


def _name(first: str | None, last: str | None, username: str | None) -> str:
    return f"{first or ''} {last or ''}".strip() or (username or "")


def scoped_cases(user: User, f: Filters, *, people: bool = True) -> QuerySet[Case]:
    """The cases a report reads: those `user` may see, in the jurisdiction, team and (for case
    reports) assigned specialist chosen."""
    cases = cases_visible_to(user)
    if f.jurisdiction is not None:
        cases = cases.filter(jurisdiction=f.jurisdiction)
    if people and f.team is not None:
        cases = cases.filter(team=f.team)
    if people and f.specialist is not None:
        cases = cases.filter(assigned_to=f.specialist)
    return cases


# ---------------------------------------------------------------------------------------------
# Recoveries by jurisdiction and period
# ---------------------------------------------------------------------------------------------

RECOVERY_COLUMNS = [
    Column("jurisdiction", "Jurisdiction"),
    Column("period", "Period"),
    Column("cases", "Cases with funds received", "int"),
    Column("received", "Deposits received", "money"),
    Column("recovered", "Program recovery disbursed", "money"),
    Column("federal", "Federal share", "money"),
    Column("liens", "Liens recovered against", "money"),
    Column("rate", "Recovery rate (%)", "percent"),
]


def _bucket_label(start: date, group: str) -> str:
    if group == "quarter":
        year, quarter = fiscal_quarter(start)
        return f"FFY {year} Q{quarter}"
    return start.strftime("%Y-%m")


def _bucket_starts(f: Filters) -> list[date]:
    step = 3 if f.group == "quarter" else 1
    first = f.date_from.replace(day=1)
    if step == 3:
        first = first.replace(month=(first.month - 1) // 3 * 3 + 1)
    starts = []
    while first <= f.date_to:
        starts.append(first)
        first = add_months(first, step)
    return starts


def _as_day(value) -> date:
    if isinstance(value, datetime):
        return timezone.localtime(value).date()
    return value


def _lien_of_case() -> Coalesce:
    """The lien a recovery was against: the program payments its case's accepted settlement was
    measured on (`Settlement.program_paid`), or the case's lien amount when none was accepted."""
    accepted = (
        Settlement.objects.filter(case=OuterRef("case"), status=Settlement.Status.ACCEPTED)
        .order_by("-decided_at", "-pk")
        .values("program_paid")[:1]
    )
    return Coalesce(
        Subquery(accepted, output_field=MONEY), F("case__lien_amount"), output_field=MONEY
    )


def _program_recoveries(cases: QuerySet[Case], start: datetime, end: datetime) -> QuerySet:
    return Disbursement.objects.filter(
        case__in=cases,
        purpose=Disbursement.Purpose.PROGRAM_RECOVERY,
        status=Disbursement.Status.APPROVED,
        reversed_at__isnull=True,
        decided_at__gte=start,
        decided_at__lt=end,
    )


def _earlier_recovery(start: datetime, bucket=None) -> Exists:
    """An earlier program recovery of the same case inside the period (and, given `bucket`, in
    the same month or quarter): the case's lien then counts once, with its first recovery."""
    earlier = Disbursement.objects.filter(
        case=OuterRef("case"),
        purpose=Disbursement.Purpose.PROGRAM_RECOVERY,
        status=Disbursement.Status.APPROVED,
        reversed_at__isnull=True,
        decided_at__gte=start,
    ).filter(
        Q(decided_at__lt=OuterRef("decided_at"))
        | Q(decided_at=OuterRef("decided_at"), pk__lt=OuterRef("pk"))
    )
    if bucket is not None:
        # Both sides truncated the same way (in the agency's time zone), so they compare alike.
        earlier = earlier.annotate(same_bucket=bucket("decided_at")).filter(
            same_bucket=OuterRef("bucket")
        )
    return Exists(earlier)


def recoveries(user: User, f: Filters) -> Report:
    """Per jurisdiction and month (or federal fiscal quarter): cases with funds received and the
    deposits received (by the day received); program recoveries disbursed and their federal
    share (by the day approved); the liens those recoveries were against, each case's lien
    counted once per row; and the recovery rate. Reversed deposits and recoveries are left out.
    Four GROUP BY queries."""
    cases = scoped_cases(user, f)
    start, end = _moments(f)
    trunc = TruncQuarter if f.group == "quarter" else TruncMonth
    code = F("case__jurisdiction__code")
    name = F("case__jurisdiction__name")

    deposits = Deposit.objects.filter(
        case__in=cases, reversed_at__isnull=True, received_on__range=(f.date_from, f.date_to)
    )
    deposit_sums = {"cases": Count("case", distinct=True), "received": Sum("amount")}
    deposits_by_bucket = (
        deposits.annotate(code=code, name=name, bucket=trunc("received_on"))
        .values("code", "name", "bucket")
        .annotate(**deposit_sums)
        .order_by()
    )
    deposits_by_state = (
        deposits.annotate(code=code, name=name)
        .values("code", "name")
        .annotate(**deposit_sums)
        .order_by()
    )

    recovered = _program_recoveries(cases, start, end).alias(lien=_lien_of_case())
    recovery_sums = {
        "recovered": Sum("amount"),
        "federal": Sum("federal_share"),
    }
    recoveries_by_bucket = (
        recovered.annotate(code=code, name=name, bucket=trunc("decided_at"))
        .alias(repeat=_earlier_recovery(start, trunc))
        .values("code", "name", "bucket")
        .annotate(**recovery_sums, liens=Sum("lien", filter=Q(repeat=False)))
        .order_by()
    )
    recoveries_by_state = (
        recovered.annotate(code=code, name=name)
        .alias(repeat=_earlier_recovery(start))
        .values("code", "name")
        .annotate(**recovery_sums, liens=Sum("lien", filter=Q(repeat=False)))
        .order_by()
    )

    names: dict[str, str] = {}
    cells: dict[tuple[str, date], dict] = {}
    states: dict[str, dict] = {}
    for rows, keyed in (
        (deposits_by_bucket, True),
        (recoveries_by_bucket, True),
        (deposits_by_state, False),
        (recoveries_by_state, False),
    ):
        for row in rows:
            names[row["code"]] = row["name"]
            if keyed:
                target = cells.setdefault((row["code"], _as_day(row["bucket"])), {})
            else:
                target = states.setdefault(row["code"], {})
            target.update({k: v for k, v in row.items() if k not in ("code", "name", "bucket")})

    def figures(values: dict) -> dict:
        out = {
            "cases": values.get("cases") or 0,
            "received": values.get("received") or ZERO,
            "recovered": values.get("recovered") or ZERO,
            "federal": values.get("federal") or ZERO,
            "liens": values.get("liens") or ZERO,
        }
        out["rate"] = rate(out["recovered"], out["liens"])
        return out

    rows = []
    for state in sorted(names):
        label = f"{names[state]} ({state})"
        for cell_state, bucket in sorted(k for k in cells if k[0] == state):
            rows.append(
                {
                    "jurisdiction": label,
                    "period": _bucket_label(bucket, f.group),
                    **figures(cells[(cell_state, bucket)]),
                }
            )
        rows.append(
            {
                "jurisdiction": label,
                "period": "All periods",
                **figures(states.get(state, {})),
                "_subtotal": True,
            }
        )
    # A case has one jurisdiction, so the jurisdictions' figures add up to the unit's.
    subtotals = [figures(states.get(state, {})) for state in names]
    totals = {
        "jurisdiction": "Total",
        "period": f"{f.date_from:%Y-%m-%d} – {f.date_to:%Y-%m-%d}",
    }
    for key in ("cases", "received", "recovered", "federal", "liens"):
        totals[key] = sum((row[key] for row in subtotals), 0 if key == "cases" else ZERO)
    totals["rate"] = rate(totals["recovered"], totals["liens"])

    per_bucket: dict[date, Decimal] = {}
    for (_state, bucket), values in cells.items():
        per_bucket[bucket] = per_bucket.get(bucket, ZERO) + (values.get("recovered") or ZERO)
    starts = _bucket_starts(f)
    chart = charts.time_series(
        [
            _bucket_label(s, f.group) if f.group == "quarter" else s.strftime("%m/%y")
            for s in starts
        ],
        [per_bucket.get(s, ZERO) for s in starts],
        title="Program recovery disbursed per period",
    )
    group_label = "Federal fiscal quarter" if f.group == "quarter" else "Month"
    if not any(per_bucket.values()):
        chart = ""
    return Report(
        slug="recoveries",
        title="Recoveries by jurisdiction and period",
        description=(
            "Deposits are counted on the day they were received, program recoveries on the day "
            "their disbursement was approved; reversed deposits and recoveries are left out. The "
            "lien a recovery was against is the program payments its case's accepted settlement "
            "was measured on (the case's lien amount when no settlement was accepted), counted "
            "once per case in each row. The recovery rate is program recovery disbursed ÷ those "
            "liens, rounded half-up to 0.1%."
        ),
        filters=f,
        group_label=group_label,
        tables=[
            Table(
                key="recoveries",
                title=f"Recoveries by jurisdiction and {group_label.lower()}",
                columns=RECOVERY_COLUMNS,
                rows=rows,
                totals=totals,
            )
        ],
        chart=chart,
    )


# ---------------------------------------------------------------------------------------------
# Liens filed and released
# ---------------------------------------------------------------------------------------------

LIEN_EVENTS = [
    ("filed", "Filed"),
    ("amended", "Amended"),
    ("released_full", "Released in full"),
    ("released_partial", "Released in part"),
    ("satisfied", "Satisfied"),
    ("withdrawn", "Withdrawn"),
]
CHANGE_EVENTS = {
    "amended": Q(kind=LienChange.Kind.AMEND),
    "released_full": Q(kind=LienChange.Kind.RELEASE, full_release=True),
    "released_partial": Q(kind=LienChange.Kind.RELEASE, full_release=False),
    "withdrawn": Q(kind=LienChange.Kind.WITHDRAW),
}
CHANGE_AMOUNTS = {
    # An amendment's amount is the change it made (negative when it lowered the lien).
    "amended": ExpressionWrapper(F("new_amount") - F("old_amount"), output_field=MONEY),
    "released_full": F("release_amount"),
    "released_partial": F("release_amount"),
    "withdrawn": F("old_amount"),
}
LIEN_DETAIL_COLUMNS = [
    Column("case", "Case"),
    Column("jurisdiction", "State"),
    Column("on", "Date", "date"),
    Column("event", "Event"),
    Column("amount", "Amount", "money"),
    Column("before", "Lien before", "money"),
    Column("by", "Filed / requested by"),
    Column("approved_by", "Approved by"),
    Column("detail", "Detail"),
]


def _lien_summary_columns() -> list[Column]:
    columns = [Column("jurisdiction", "Jurisdiction")]
    for key, label in LIEN_EVENTS:
        amount_label = "net change" if key == "amended" else "amount"
        columns += [
            Column(f"{key}_n", f"{label}", "int"),
            Column(f"{key}_amount", f"{label}: {amount_label}", "money"),
        ]
    return columns


def _filed_q(f: Filters) -> Q:
    return Q(filed_on__range=(f.date_from, f.date_to))


def _satisfied_q(f: Filters) -> Q:
    return Q(status=Lien.Status.SATISFIED, released_on__range=(f.date_from, f.date_to))


def _changes(cases: QuerySet[Case], f: Filters) -> QuerySet[LienChange]:
    start, end = _moments(f)
    return LienChange.objects.filter(
        lien__case__in=cases,
        status=LienChange.Status.APPROVED,
        decided_at__gte=start,
        decided_at__lt=end,
    )


def lien_events(user: User, f: Filters, *, event: str = "") -> Report:
    """Per jurisdiction: liens filed (at the amount filed), amendments (their net change),
    releases in full and in part (the amount released), liens satisfied (the amount outstanding)
    and withdrawals (the amount withdrawn), each in the period. Two GROUP BY queries; the
    drill-down lists one kind of event."""
    cases = scoped_cases(user, f)
    filed, satisfied = _filed_q(f), _satisfied_q(f)
    lien_rows = (
        Lien.objects.filter(case__in=cases)
        .filter(filed | satisfied)
        .annotate(code=F("case__jurisdiction__code"), name=F("case__jurisdiction__name"))
        .values("code", "name")
        .annotate(
            filed_n=Count("pk", filter=filed),
            filed_amount=Sum(Coalesce("original_amount", "amount"), filter=filed),
            satisfied_n=Count("pk", filter=satisfied),
            satisfied_amount=Sum(F("amount") - F("released_amount"), filter=satisfied),
        )
        .order_by()
    )
    change_aggregates = {}
    for key, condition in CHANGE_EVENTS.items():
        change_aggregates[f"{key}_n"] = Count("pk", filter=condition)
        change_aggregates[f"{key}_amount"] = Sum(CHANGE_AMOUNTS[key], filter=condition)
    change_rows = (
        _changes(cases, f)
        .annotate(
            code=F("lien__case__jurisdiction__code"), name=F("lien__case__jurisdiction__name")
        )
        .values("code", "name")
        .annotate(**change_aggregates)
        .order_by()
    )
    by_state: dict[str, dict] = {}
    for row in [*lien_rows, *change_rows]:
        target = by_state.setdefault(row["code"], {"code": row["code"], "name": row["name"]})
        target.update({k: v for k, v in row.items() if k not in ("code", "name")})

    rows = []
    for code in sorted(by_state):
        values = by_state[code]
        row = {"jurisdiction": f"{values['name']} ({code})", "code": code}
        for key, _label in LIEN_EVENTS:
            row[f"{key}_n"] = values.get(f"{key}_n") or 0
            row[f"{key}_amount"] = values.get(f"{key}_amount") or ZERO
        rows.append(row)
    totals = {"jurisdiction": "Total"}
    for key, _label in LIEN_EVENTS:
        totals[f"{key}_n"] = sum(row[f"{key}_n"] for row in rows)
        totals[f"{key}_amount"] = sum((row[f"{key}_amount"] for row in rows), ZERO)

    def drill(row: dict, column: str) -> dict | None:
        key = column.removesuffix("_n")
        if column.endswith("_n") and row.get(column) and "code" in row:
            return {"event": key, "jurisdiction": row["code"]}
        if column.endswith("_n") and row.get(column) and row.get("jurisdiction") == "Total":
            return {"event": key}
        return None

    tables = [
        Table(
            key="liens",
            title="Lien events by jurisdiction",
            columns=_lien_summary_columns(),
            rows=rows,
            totals=totals,
            drill=drill,
            note="Select a count to list its liens.",
        )
    ]
    if event in dict(LIEN_EVENTS):
        tables.append(_lien_detail(cases, f, event))
    chart = charts.bar_chart(
        [row["jurisdiction"] for row in rows],
        [row["filed_n"] for row in rows],
        title="Liens filed per jurisdiction",
    )
    return Report(
        slug="liens",
        title="Liens filed and released",
        description=(
            "Liens filed in the period (at the amount filed), amendments, releases and "
            "withdrawals approved in the period, and liens marked satisfied in the period (at "
            "the amount then outstanding). An amendment's amount is the change it made to the "
            "lien. Jurisdiction, team and specialist are the case's."
        ),
        filters=f,
        tables=tables,
        chart=chart if any(row["filed_n"] for row in rows) else "",
    )


def _lien_detail(cases: QuerySet[Case], f: Filters, event: str) -> Table:
    label = dict(LIEN_EVENTS)[event]
    if event in ("filed", "satisfied"):
        liens = (
            Lien.objects.filter(case__in=cases)
            .filter(_filed_q(f) if event == "filed" else _satisfied_q(f))
            .select_related("case__jurisdiction", "filed_by", "filed_with")
            .order_by("filed_on" if event == "filed" else "released_on", "pk")
        )

        def lien_row(lien: Lien) -> dict:
            if event == "filed":
                amount = lien.original_amount if lien.original_amount is not None else lien.amount
                detail = " · ".join(
                    part
                    for part in (
                        f"with {lien.filed_with.name}" if lien.filed_with else "",
                        lien.get_method_display() if lien.method else "",
                    )
                    if part
                )
                return {
                    "_case_id": lien.case_id,
                    "case": lien.case.number,
                    "jurisdiction": lien.case.jurisdiction.code,
                    "on": lien.filed_on,
                    "event": label,
                    "amount": amount,
                    "before": None,
                    "by": person(lien.filed_by),
                    "approved_by": "",
                    "detail": detail,
                }
            return {
                "_case_id": lien.case_id,
                "case": lien.case.number,
                "jurisdiction": lien.case.jurisdiction.code,
                "on": lien.released_on,
                "event": label,
                "amount": lien.amount - lien.released_amount,
                "before": lien.amount,
                "by": "",
                "approved_by": "",
                "detail": "Recovery received in full",
            }

        return Table(
            key="events",
            title=f"Liens {label.lower()}",
            columns=LIEN_DETAIL_COLUMNS,
            queryset=liens,
            to_row=lien_row,
        )

    changes = (
        _changes(cases, f)
        .filter(CHANGE_EVENTS[event])
        .select_related("lien__case__jurisdiction", "requested_by", "decided_by")
        .order_by("decided_at", "pk")
    )

    def change_row(change: LienChange) -> dict:
        if event == "amended":
            amount = change.new_amount - change.old_amount
        elif event == "withdrawn":
            amount = change.old_amount
        else:
            amount = change.release_amount
        return {
            "_case_id": change.lien.case_id,
            "case": change.lien.case.number,
            "jurisdiction": change.lien.case.jurisdiction.code,
            "on": timezone.localtime(change.decided_at).date(),
            "event": label,
            "amount": amount,
            "before": change.old_amount,
            "by": person(change.requested_by),
            "approved_by": person(change.decided_by),
            "detail": change.reason,
        }

    return Table(
        key="events",
        title=f"Liens {label.lower()}",
        columns=LIEN_DETAIL_COLUMNS,
        queryset=changes,
        to_row=change_row,
    )


# ---------------------------------------------------------------------------------------------
# Settlement compromises and balance adjustments, with their reasons
# ---------------------------------------------------------------------------------------------

SETTLEMENT_CODE = "settlement"
REASON_LABELS = {
    SETTLEMENT_CODE: "Settlement below the default formula",
    **dict(BalanceAdjustment.Reason.choices),
}
KIND_LABELS = {SETTLEMENT_CODE: "Settlement", **dict(BalanceAdjustment.Kind.choices)}
COMPROMISE_COLUMNS = [
    Column("on", "Decided", "date"),
    Column("case", "Case"),
    Column("jurisdiction", "State"),
    Column("kind", "Kind"),
    Column("lien", "Lien", "money"),
    Column("default", "Default formula amount", "money"),
    Column("agreed", "Agreed", "money"),
    Column("given_up", "Given up", "money"),
    Column("percent", "Given up (% of lien)", "percent"),
    Column("reason_code", "Reason code"),
    Column("reason", "Reason / justification"),
    Column("proposer", "Proposed by"),
    Column("approver", "Approved by"),
]
REASON_COLUMNS = [
    Column("reason_code", "Reason code"),
    Column("reason", "Reason"),
    Column("count", "Count", "int"),
    Column("given_up", "Given up", "money"),
]
UNION_FIELDS = (
    "r_kind",
    "r_id",
    "r_on",
    "r_case",
    "r_case_id",
    "r_jurisdiction",
    "r_lien",
    "r_default",
    "r_agreed",
    "r_given_up",
    "r_reason_code",
    "r_reason",
    "r_justification",
    "r_proposer_first",
    "r_proposer_last",
    "r_proposer_username",
    "r_approver_first",
    "r_approver_last",
    "r_approver_username",
)


def default_formula_amount() -> Conditional:
    """What the jurisdiction's default formula gave, as stored with the settlement (the
    authority baseline); the computed recovery for a settlement stored without it."""
    return Conditional(
        When(
            calculation__baseline_recovery__regex=PLAIN_NUMBER,
            then=Cast(KT("calculation__baseline_recovery"), MONEY),
        ),
        default=F("computed_recovery"),
        output_field=MONEY,
    )


def _compromised_settlements(cases: QuerySet[Case], f: Filters) -> QuerySet[Settlement]:
    start, end = _moments(f)
    return (
        Settlement.objects.filter(
            case__in=cases,
            status=Settlement.Status.ACCEPTED,
            decided_at__gte=start,
            decided_at__lt=end,
        )
        .annotate(r_default=default_formula_amount())
        .filter(agreed_recovery__lt=F("r_default"))
    )


def _adjustments(cases: QuerySet[Case], f: Filters) -> QuerySet[BalanceAdjustment]:
    start, end = _moments(f)
    return BalanceAdjustment.objects.filter(
        case__in=cases,
        status=BalanceAdjustment.Status.APPROVED,
        decided_at__gte=start,
        decided_at__lt=end,
    )


def _people_columns(proposer: str, approver: str) -> dict:
    return {
        "r_proposer_first": F(f"{proposer}__first_name"),
        "r_proposer_last": F(f"{proposer}__last_name"),
        "r_proposer_username": F(f"{proposer}__username"),
        "r_approver_first": F(f"{approver}__first_name"),
        "r_approver_last": F(f"{approver}__last_name"),
        "r_approver_username": F(f"{approver}__username"),
    }


def compromise_rows(cases: QuerySet[Case], f: Filters) -> QuerySet:
    """Accepted settlements below the default formula and approved adjustments, as one list
    (a UNION in the database, so it pages and streams like any queryset)."""
    text = CharField()
    settlements = _compromised_settlements(cases, f).annotate(
        r_kind=Value(SETTLEMENT_CODE, output_field=text),
        r_id=F("pk"),
        r_on=F("decided_at"),
        r_case=F("case__number"),
        r_case_id=F("case_id"),
        r_jurisdiction=F("case__jurisdiction__code"),
        r_lien=F("program_paid"),
        r_agreed=F("agreed_recovery"),
        r_given_up=ExpressionWrapper(F("r_default") - F("agreed_recovery"), output_field=MONEY),
        r_reason_code=Value(SETTLEMENT_CODE, output_field=text),
        r_reason=F("compromise_reason"),
        r_justification=F("justification"),
        **_people_columns("proposed_by", "decided_by"),
    )
    adjustments = _adjustments(cases, f).annotate(
        r_kind=F("kind"),
        r_id=F("pk"),
        r_on=F("decided_at"),
        r_case=F("case__number"),
        r_case_id=F("case_id"),
        r_jurisdiction=F("case__jurisdiction__code"),
        r_lien=F("case__lien_amount"),
        r_default=Value(None, output_field=MONEY),
        r_agreed=Value(None, output_field=MONEY),
        r_given_up=F("amount"),
        r_reason_code=F("reason_code"),
        r_reason=F("reason"),
        r_justification=F("decision_note"),
        **_people_columns("requested_by", "decided_by"),
    )
    return (
        settlements.order_by()
        .values(*UNION_FIELDS)
        .union(adjustments.order_by().values(*UNION_FIELDS), all=True)
        .order_by("r_on", "r_kind", "r_id")
    )


def _compromise_row(row: dict) -> dict:
    reason = row["r_reason"] or ""
    if row["r_justification"]:
        reason = f"{reason} — {row['r_justification']}" if reason else row["r_justification"]
    return {
        "_case_id": row["r_case_id"],
        "on": timezone.localtime(row["r_on"]).date() if row["r_on"] else None,
        "case": row["r_case"],
        "jurisdiction": row["r_jurisdiction"],
        "kind": KIND_LABELS.get(row["r_kind"], row["r_kind"]),
        "lien": row["r_lien"],
        "default": row["r_default"],
        "agreed": row["r_agreed"],
        "given_up": row["r_given_up"],
        "percent": rate(row["r_given_up"], row["r_lien"]),
        "reason_code": row["r_reason_code"],
        "reason": reason,
        "proposer": _name(
            row["r_proposer_first"], row["r_proposer_last"], row["r_proposer_username"]
        ),
        "approver": _name(
            row["r_approver_first"], row["r_approver_last"], row["r_approver_username"]
        ),
    }


def compromises(user: User, f: Filters) -> Report:
    """Every settlement accepted in the period below what the jurisdiction's default formula
    gave, and every waiver, compromise or write-off approved in the period, with what was given
    up and why; totals by reason code. The list is one UNION query; the totals two GROUP BYs."""
    cases = scoped_cases(user, f)
    settled = _compromised_settlements(cases, f).aggregate(
        count=Count("pk"),
        given_up=Sum(F("r_default") - F("agreed_recovery"), output_field=MONEY),
    )
    by_reason = {
        row["reason_code"]: row
        for row in _adjustments(cases, f)
        .values("reason_code")
        .annotate(count=Count("pk"), given_up=Sum("amount"))
        .order_by()
    }
    reason_rows = []
    if settled["count"]:
        reason_rows.append(
            {
                "reason_code": SETTLEMENT_CODE,
                "reason": REASON_LABELS[SETTLEMENT_CODE],
                "count": settled["count"],
                "given_up": settled["given_up"] or ZERO,
            }
        )
    for code, label in BalanceAdjustment.Reason.choices:
        if code in by_reason:
            reason_rows.append(
                {
                    "reason_code": code,
                    "reason": label,
                    "count": by_reason[code]["count"],
                    "given_up": by_reason[code]["given_up"] or ZERO,
                }
            )
    totals = {
        "reason_code": "Total",
        "reason": "",
        "count": sum(row["count"] for row in reason_rows),
        "given_up": sum((row["given_up"] for row in reason_rows), ZERO),
    }
    listing = Table(
        key="compromises",
        title="Compromises, waivers and write-offs",
        columns=COMPROMISE_COLUMNS,
        queryset=compromise_rows(cases, f),
        to_row=_compromise_row,
        totals={
            "on": "Total",
            "given_up": totals["given_up"],
            "reason": f"{totals['count']} item{'s' if totals['count'] != 1 else ''}",
        },
        empty="No compromises in this period.",
    )
    chart = charts.bar_chart(
        [
            "Settlements" if row["reason_code"] == SETTLEMENT_CODE else row["reason"]
            for row in reason_rows
        ],
        [row["given_up"] for row in reason_rows],
        title="Amount given up by reason",
    )
    return Report(
        slug="compromises",
        title="Settlement compromises and their reasons",
        description=(
            "Settlements accepted in the period whose agreed recovery is below what the "
            "jurisdiction's default formula gave (as stored with the settlement when it was "
            "proposed), and waivers, compromises and write-offs of balances approved in the "
            "period. The percentage given up is of the lien. Jurisdiction, team and specialist "
            "are the case's."
        ),
        filters=f,
        tables=[
            listing,
            Table(
                key="reasons",
                title="Totals by reason code",
                columns=REASON_COLUMNS,
                rows=reason_rows,
                totals=totals,
            ),
        ],
        chart=chart if reason_rows else "",
    )


# ---------------------------------------------------------------------------------------------
# Specialist productivity
# ---------------------------------------------------------------------------------------------

OUTCOMES = list(Case.Outcome.choices)
PRODUCTIVITY_COLUMNS = [
    Column("name", "Specialist"),
    Column("team", "Team"),
    Column("opened", "Cases opened", "int"),
    Column("assigned", "Cases assigned", "int"),
    Column("liens", "Liens filed", "int"),
    Column("settled", "Settlements accepted", "int"),
    Column("agreed", "Agreed recoveries", "money"),
    Column("received", "Received on their cases", "money"),
    Column("closed", "Cases closed", "int"),
    *[Column(f"closed_{value}", f"Closed: {label}", "int") for value, label in OUTCOMES],
    Column("days", "Average days notice to settlement", "days"),
    Column("activities", "Activities logged", "int"),
    Column("overdue", "Overdue deadlines", "int"),
]
PRODUCTIVITY_COUNTS = [
    "opened",
    "assigned",
    "liens",
    "settled",
    "closed",
    *[f"closed_{value}" for value, _label in OUTCOMES],
    "activities",
    "overdue",
]


def _by_person(rows: QuerySet, actor: str, f: Filters, **aggregates) -> dict[int, dict]:
    """One GROUP BY per measure: the figures of each person who acted (`actor` names them)."""
    if f.team is not None:
        rows = rows.filter(**{f"{actor}__team": f.team})
    if f.specialist is not None:
        rows = rows.filter(**{actor: f.specialist})
    grouped = (
        rows.filter(**{f"{actor}__isnull": False}).values(actor).annotate(**aggregates).order_by()
    )
    return {row[actor]: row for row in grouped}


def productivity(user: User, f: Filters, *, today: date | None = None) -> Report:
    """Per person, over the cases the user may see: cases opened (by them) and assigned (to
    them), liens filed, settlements accepted and their agreed recoveries, funds received on the
    cases assigned to them, cases closed by outcome, the average days from the case's first
    lien notice to the acceptance, activities logged and deadlines overdue today. Team and
    specialist narrow the people; jurisdiction the cases. Nine GROUP BY queries."""
    today = today or timezone.localdate()
    start, end = _moments(f)
    cases = scoped_cases(user, f, people=False)
    first_notice = (
        Lien.objects.filter(case=OuterRef("case"), filed_on__isnull=False)
        .order_by("filed_on")
        .values("filed_on")[:1]
    )
    measures: dict[str, dict[int, dict]] = {
        "opened": _by_person(
            cases.filter(opened_at__gte=start, opened_at__lt=end), "created_by", f, n=Count("pk")
        ),
        "assigned": _by_person(
            Assignment.objects.filter(case__in=cases, at__gte=start, at__lt=end).exclude(
                action=Assignment.Action.RETURN
            ),
            "assigned_to",
            f,
            n=Count("case", distinct=True),
        ),
        "liens": _by_person(
            Lien.objects.filter(case__in=cases, filed_on__range=(f.date_from, f.date_to)),
            "filed_by",
            f,
            n=Count("pk"),
        ),
        "settled": _by_person(
            Settlement.objects.filter(
                case__in=cases,
                status=Settlement.Status.ACCEPTED,
                decided_at__gte=start,
                decided_at__lt=end,
            ).alias(
                decided_on=Cast(TruncDate("decided_at"), DateField()),
                noticed_on=Subquery(first_notice, output_field=DateField()),
            ),
            "proposed_by",
            f,
            n=Count("pk"),
            agreed=Sum("agreed_recovery"),
            timed=Count("pk", filter=Q(noticed_on__isnull=False)),
            days=Sum(
                ExpressionWrapper(F("decided_on") - F("noticed_on"), output_field=DurationField())
            ),
        ),
        "received": _by_person(
            Deposit.objects.filter(
                case__in=cases,
                reversed_at__isnull=True,
                received_on__range=(f.date_from, f.date_to),
            ),
            "case__assigned_to",
            f,
            amount=Sum("amount"),
        ),
        "closed": _by_person(
            cases.filter(status=Case.Status.CLOSED, closed_at__gte=start, closed_at__lt=end),
            "assigned_to",
            f,
            n=Count("pk"),
            **{f"o_{value}": Count("pk", filter=Q(outcome=value)) for value, _label in OUTCOMES},
        ),
        "activities": _by_person(
            Activity.objects.filter(
                case__in=cases, created_at__gte=start, created_at__lt=end
            ).exclude(kind=Activity.Kind.SYSTEM),
            "created_by",
            f,
            n=Count("pk"),
        ),
        "overdue": _by_person(
            Deadline.objects.filter(case__in=cases, done_at__isnull=True, due_date__lt=today),
            "owner",
            f,
            n=Count("pk"),
        ),
    }
    acted = set().union(*(figures.keys() for figures in measures.values()))
    # Everyone who should appear even with nothing to show: the specialists in scope.
    expected = Q(is_active=True, role=Role.SPECIALIST)
    if user.role == Role.SPECIALIST:
        expected &= Q(pk=user.pk) | (Q(team_id=user.team_id) if user.team_id else Q(pk=user.pk))
    if f.team is not None:
        expected &= Q(team=f.team)
    if f.specialist is not None:
        expected &= Q(pk=f.specialist.pk)
    people = (
        User.objects.filter(Q(pk__in=acted) | expected)
        .select_related("team")
        .order_by("last_name", "first_name", "username")
    )

    rows = []
    timed_total, days_total = 0, timedelta(0)
    for someone in people:
        pk = someone.pk
        settled = measures["settled"].get(pk, {})
        closed = measures["closed"].get(pk, {})
        row = {
            "name": person(someone),
            "team": someone.team.name if someone.team else "",
            "opened": measures["opened"].get(pk, {}).get("n", 0),
            "assigned": measures["assigned"].get(pk, {}).get("n", 0),
            "liens": measures["liens"].get(pk, {}).get("n", 0),
            "settled": settled.get("n", 0),
            "agreed": settled.get("agreed") or ZERO,
            "received": measures["received"].get(pk, {}).get("amount") or ZERO,
            "closed": closed.get("n", 0),
            "days": average_days(settled.get("days"), settled.get("timed", 0)),
            "activities": measures["activities"].get(pk, {}).get("n", 0),
            "overdue": measures["overdue"].get(pk, {}).get("n", 0),
        }
        for value, _label in OUTCOMES:
            row[f"closed_{value}"] = closed.get(f"o_{value}", 0)
        timed_total += settled.get("timed", 0)
        days_total += settled.get("days") or timedelta(0)
        rows.append(row)
    totals = {"name": "Total", "team": ""}
    for key in PRODUCTIVITY_COUNTS:
        totals[key] = sum(row[key] for row in rows)
    for key in ("agreed", "received"):
        totals[key] = sum((row[key] for row in rows), ZERO)
    totals["days"] = average_days(days_total, timed_total)
    chart = charts.stacked_bar(
        [row["name"] for row in rows],
        [
            ("Liens filed", [row["liens"] for row in rows]),
            ("Settlements", [row["settled"] for row in rows]),
            ("Closed", [row["closed"] for row in rows]),
        ],
        title="Liens filed, settlements accepted and cases closed per specialist",
    )
    return Report(
        slug="productivity",
        title="Specialist productivity",
        description=(
            "Each person's work in the period on the cases in scope: cases they opened and cases "
            "assigned to them, liens they filed, settlements they proposed that were accepted "
            "(and the recoveries agreed), deposits received on the cases assigned to them, cases "
            "assigned to them closed in the period by outcome, the average days from the case's "
            "first lien notice to the settlement's acceptance, activities they logged, and their "
            "deadlines overdue today. Team and specialist choose the people; jurisdiction the "
            "cases."
        ),
        filters=f,
        tables=[
            Table(
                key="productivity",
                title="Productivity by specialist",
                columns=PRODUCTIVITY_COLUMNS,
                rows=rows,
                totals=totals,
                empty="Nobody in scope.",
            )
        ],
        chart=chart if rows else "",
    )


# ---------------------------------------------------------------------------------------------
# Cells: the same value as the page, the PDF and the CSV show it
# ---------------------------------------------------------------------------------------------


def display(value, kind: str) -> str:
    """A cell as the page and the PDF print it."""
    if value is None or value == "":
        return "" if kind == "text" else "—"
    if kind == "money":
        amount = Decimal(value)
        text = f"${abs(amount):,.2f}"
        return f"−{text}" if amount < 0 else text
    if kind == "int":
        return f"{value:,}"
    if kind == "percent":
        return f"{value}%"
    if kind == "date" and isinstance(value, date):
        return value.isoformat()
    return str(value)


def csv_value(value, kind: str):
    """A cell as the CSV holds it: plain numbers for figures (never formatted), text otherwise
    (the CSV writer neutralises formulas in text)."""
    if value is None:
        return ""
    if kind == "date" and isinstance(value, date):
        return value.isoformat()
    return value


def csv_rows(table: Table) -> Iterable[list]:
    yield [column.label for column in table.columns]
    for row in table.iter_rows():
        yield [csv_value(row.get(column.key), column.kind) for column in table.columns]
    if table.totals is not None:
        yield [csv_value(table.totals.get(column.key), column.kind) for column in table.columns]


REPORTS: dict[str, tuple[str, str]] = {
    "recoveries": (
        "Recoveries by jurisdiction and period",
        "Deposits received, program recovery disbursed and its federal share, the liens "
        "recovered against and the recovery rate, per jurisdiction and month or quarter.",
    ),
    "liens": (
        "Liens filed and released",
        "Counts and amounts of liens filed, amended, released in full or in part, satisfied "
        "and withdrawn, per jurisdiction, with the list behind each count.",
    ),
    "compromises": (
        "Settlement compromises and their reasons",
        "Accepted settlements below the default formula and approved waivers and write-offs: "
        "what was given up, why, and who proposed and approved it; totals by reason code.",
    ),
    "productivity": (
        "Specialist productivity",
        "Per specialist: cases opened and assigned, liens filed, settlements accepted, amounts "
        "recovered, cases closed by outcome, days from notice to settlement, activities and "
        "overdue deadlines.",
    ),
}

BUILDERS: dict[str, Callable[..., Report]] = {
    "recoveries": recoveries,
    "liens": lien_events,
    "compromises": compromises,
    "productivity": productivity,
}
