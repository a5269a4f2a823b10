"""The dashboard's numbers: every figure is an aggregate computed in the database over the cases
the user may see (`cases_visible_to`), a fixed number of queries whatever the data size, and the
result is cached for five minutes per visibility slice. Money posted to the ledger (a deposit, a
disbursement, a reversal) makes every cached slice stale at once, so a recovery shows as soon as
it is booked."""

import time
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.apps import apps
from django.core.cache import cache
from django.db import transaction
from django.db.models import (
    Avg,
    Count,
    DateField,
    DurationField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
)
from django.db.models.functions import Cast, TruncDate, TruncMonth
from django.utils import timezone

from cases.models import Case, Deadline
from cases.selectors import cases_visible_to
from ledger.models import Deposit, Disbursement
from liens.models import Lien, LienChange
from recovery.core.models import Role, User
from settlements.models import Settlement

CACHE_SECONDS = 300
CACHE_VERSION = 1
# Part of every entry's key: a new value makes all cached slices unreachable (they expire alone).
GENERATION_KEY = f"dashboard:v{CACHE_VERSION}:generation"
ZERO = Decimal("0.00")
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0–30", 0, 30),
    ("31–60", 31, 60),
    ("61–90", 61, 90),
    ("91–180", 91, 180),
    ("181–365", 181, 365),
    ("365+", 366, None),
)
UPCOMING_DAYS = 14
SERIES_MONTHS = 12


def fiscal_year_start(day: date) -> date:
    """The federal fiscal year starts on 1 October."""
    return date(day.year if day.month >= 10 else day.year - 1, 10, 1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def slice_key(user: User) -> str:
    """Users who see the same cases share a cache entry; a specialist's slice is their own."""
    if user.role in (Role.SUPERVISOR, Role.ADMIN, Role.AUDITOR):
        return "all"
    return f"user-{user.pk}-team-{user.team_id or 0}"


def disputes_available() -> bool:
    try:
        apps.get_model("portal", "Dispute")
    except LookupError:
        return False
    return True


def _days(delta) -> float | None:
    if delta is None:
        return None
    if isinstance(delta, timedelta):
        return round(delta.total_seconds() / 86400, 1)
    return round(float(delta), 1)


def _rate(recovered: Decimal, liens: Decimal) -> Decimal | None:
    if not liens:
        return None
    return (recovered * 100 / liens).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _open_cases(cases, now) -> dict:
    open_cases = cases.exclude(status=Case.Status.CLOSED)
    counts = {
        f"s_{value}": Count("pk", filter=Q(status=value))
        for value in Case.Status.values
        if value != Case.Status.CLOSED
    }
    for index, (_label, low, high) in enumerate(AGE_BUCKETS):
        # Age in whole days since opening: opened_at <= now - low days (and > now - (high+1)).
        condition = Q(opened_at__lte=now - timedelta(days=low))
        if high is not None:
            condition &= Q(opened_at__gt=now - timedelta(days=high + 1))
        counts[f"a_{index}"] = Count("pk", filter=condition)
    row = open_cases.aggregate(total=Count("pk"), **counts)
    by_status = [
        (label, row[f"s_{value}"])
        for value, label in Case.Status.choices
        if value != Case.Status.CLOSED
    ]
    by_age = [(label, row[f"a_{i}"]) for i, (label, _l, _h) in enumerate(AGE_BUCKETS)]
    return {"total": row["total"], "by_status": by_status, "by_age": by_age}


def _money(cases, today: date) -> dict:
    month_start = today.replace(day=1)
    fy_start = fiscal_year_start(today)
    deposits = Deposit.objects.filter(case__in=cases, reversed_at__isnull=True)
    received = deposits.aggregate(
        month=Sum("amount", filter=Q(received_on__gte=month_start, received_on__lte=today)),
        fytd=Sum("amount", filter=Q(received_on__gte=fy_start, received_on__lte=today)),
    )
    accepted = Settlement.objects.filter(
        case__in=cases, status=Settlement.Status.ACCEPTED, decided_at__isnull=False
    ).annotate(decided_on=TruncDate("decided_at"))
    liens = accepted.aggregate(
        month=Sum("case__lien_amount", filter=Q(decided_on__gte=month_start)),
        fytd=Sum("case__lien_amount", filter=Q(decided_on__gte=fy_start)),
    )
    periods = []
    for key, label, start in (
        ("month", "This month", month_start),
        ("fytd", f"Federal FY {fy_start.year + 1} to date", fy_start),
    ):
        got = received[key] or ZERO
        lien = liens[key] or ZERO
        periods.append(
            {
                "key": key,
                "label": label,
                "start": start,
                "recovered": got,
                "lien": lien,
                "rate": _rate(got, lien),
            }
        )

    first = add_months(month_start, -(SERIES_MONTHS - 1))
    monthly = {
        row["month"]: row["total"]
        for row in deposits.filter(received_on__gte=first, received_on__lte=today)
        .annotate(month=TruncMonth("received_on"))
        .values("month")
        .annotate(total=Sum("amount"))
        .order_by("month")
    }
    series = []
    for i in range(SERIES_MONTHS):
        month = add_months(first, i)
        series.append((month.strftime("%Y-%m"), monthly.get(month, ZERO) or ZERO))
    return {"periods": periods, "series": series}


def _cycle_times(cases) -> dict:
    first_filed = (
        Lien.objects.filter(case=OuterRef("case"), filed_on__isnull=False)
        .order_by("filed_on")
        .values("filed_on")[:1]
    )
    first_deposit = (
        Deposit.objects.filter(
            case=OuterRef("case"),
            reversed_at__isnull=True,
            received_on__gte=OuterRef("decided_on"),
        )
        .order_by("received_on")
        .values("received_on")[:1]
    )
    accepted = Settlement.objects.filter(
        case__in=cases, status=Settlement.Status.ACCEPTED, decided_at__isnull=False
    ).annotate(
        decided_on=Cast(TruncDate("decided_at"), DateField()),
        filed_on=Subquery(first_filed, output_field=DateField()),
        paid_on=Subquery(first_deposit, output_field=DateField()),
    )
    row = accepted.aggregate(
        filing_to_acceptance=Avg(
            ExpressionWrapper(F("decided_on") - F("filed_on"), output_field=DurationField())
        ),
        acceptance_to_deposit=Avg(
            ExpressionWrapper(F("paid_on") - F("decided_on"), output_field=DurationField())
        ),
        settled=Count("pk"),
        with_lien=Count("pk", filter=Q(filed_on__isnull=False)),
        with_deposit=Count("pk", filter=Q(paid_on__isnull=False)),
    )
    return {
        "filing_to_acceptance": _days(row["filing_to_acceptance"]),
        "acceptance_to_deposit": _days(row["acceptance_to_deposit"]),
        "settled": row["settled"],
        "with_lien": row["with_lien"],
        "with_deposit": row["with_deposit"],
    }


def _deadlines(cases, today: date) -> dict:
    row = Deadline.objects.filter(case__in=cases, done_at__isnull=True).aggregate(
        overdue=Count("pk", filter=Q(due_date__lt=today)),
        upcoming=Count(
            "pk", filter=Q(due_date__gte=today, due_date__lte=today + timedelta(UPCOMING_DAYS))
        ),
    )
    return {"overdue": row["overdue"], "upcoming": row["upcoming"]}


def _approvals(cases) -> dict:
    return {
        "settlements": Settlement.objects.filter(
            case__in=cases, status=Settlement.Status.PENDING
        ).count(),
        "lien_changes": LienChange.objects.filter(
            lien__case__in=cases, status=LienChange.Status.REQUESTED
        ).count(),
        "disbursements": Disbursement.objects.filter(
            case__in=cases, status=Disbursement.Status.REQUESTED
        ).count(),
    }


def _person(first: str, last: str, username: str) -> str:
    name = f"{first} {last}".strip()
    return name or username


def _workload(cases) -> list[dict]:
    people: dict[int, dict] = {}
    case_rows = (
        cases.exclude(status=Case.Status.CLOSED)
        .filter(assigned_to__isnull=False)
        .values(
            "assigned_to",
            "assigned_to__first_name",
            "assigned_to__last_name",
            "assigned_to__username",
        )
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in case_rows:
        people[row["assigned_to"]] = {
            "name": _person(
                row["assigned_to__first_name"],
                row["assigned_to__last_name"],
                row["assigned_to__username"],
            ),
            "cases": row["n"],
            "deadlines": 0,
        }
    deadline_rows = (
        Deadline.objects.filter(case__in=cases, done_at__isnull=True, owner__isnull=False)
        .values("owner", "owner__first_name", "owner__last_name", "owner__username")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in deadline_rows:
        entry = people.setdefault(
            row["owner"],
            {
                "name": _person(
                    row["owner__first_name"], row["owner__last_name"], row["owner__username"]
                ),
                "cases": 0,
                "deadlines": 0,
            },
        )
        entry["deadlines"] = row["n"]
    return sorted(people.values(), key=lambda p: (-(p["cases"] + p["deadlines"]), p["name"]))


def _disputes(cases, today: date) -> dict | None:
    if not disputes_available():
        return None
    Dispute = apps.get_model("portal", "Dispute")
    fy_start = fiscal_year_start(today)
    row = Dispute.objects.filter(case__in=cases).aggregate(
        opened=Count("pk", filter=Q(submitted_at__date__gte=fy_start)),
        upheld=Count("pk", filter=Q(status="upheld", decided_at__date__gte=fy_start)),
        denied=Count("pk", filter=Q(status="denied", decided_at__date__gte=fy_start)),
        still_open=Count("pk", filter=Q(status="open")),
    )
    return row


def compute(user: User) -> dict:
    now = timezone.now()
    today = timezone.localdate(now)
    cases = cases_visible_to(user)
    return {
        "today": today,
        "fy_start": fiscal_year_start(today),
        "open_cases": _open_cases(cases, now),
        "money": _money(cases, today),
        "cycle": _cycle_times(cases),
        "deadlines": _deadlines(cases, today),
        "approvals": _approvals(cases),
        "workload": _workload(cases),
        "disputes": _disputes(cases, today),
    }


def invalidate_cache() -> None:
    cache.set(GENERATION_KEY, time.time_ns(), timeout=None)


def ledger_posted(sender, instance, created: bool, **kwargs) -> None:
    """post_save of a ledger transaction: once it commits, no slice serves figures without it."""
    if created:
        transaction.on_commit(invalidate_cache)


def dashboard_data(user: User) -> dict:
    """The aggregates for this user's slice, from the cache when fresh (5 minutes, or until
    money is next posted)."""
    today = timezone.localdate()
    generation = cache.get(GENERATION_KEY, 0)
    key = f"dashboard:v{CACHE_VERSION}:{generation}:{slice_key(user)}:{today.isoformat()}"
    data = cache.get(key)
    if data is None:
        data = compute(user)
        cache.set(key, data, CACHE_SECONDS)
    return data


def panel_tables(data: dict) -> dict[str, dict]:
    """Each panel's numbers as a titled table: the page's tables and the CSV exports."""
    money = data["money"]
    tables = {
        "status": {
            "title": "Open cases by status",
            "headers": ["Status", "Open cases"],
            "rows": [[label, n] for label, n in data["open_cases"]["by_status"]],
        },
        "age": {
            "title": "Open cases by age (days since opened)",
            "headers": ["Age (days)", "Open cases"],
            "rows": [[label, n] for label, n in data["open_cases"]["by_age"]],
        },
        "recovery": {
            "title": "Recovered vs. lien amounts of cases settled",
            "headers": ["Period", "From", "Recovered", "Lien amounts settled", "Recovery rate (%)"],
            "rows": [
                [
                    p["label"],
                    p["start"].isoformat(),
                    p["recovered"],
                    p["lien"],
                    "" if p["rate"] is None else p["rate"],
                ]
                for p in money["periods"]
            ],
        },
        "deposits": {
            "title": "Deposits received, last 12 months",
            "headers": ["Month", "Deposits received"],
            "rows": [[month, total] for month, total in money["series"]],
        },
        "cycle": {
            "title": "Average cycle times (days)",
            "headers": ["Measure", "Average days", "Settlements counted"],
            "rows": [
                [
                    "Lien filed to settlement accepted",
                    _blank(data["cycle"]["filing_to_acceptance"]),
                    data["cycle"]["with_lien"],
                ],
                [
                    "Settlement accepted to first deposit",
                    _blank(data["cycle"]["acceptance_to_deposit"]),
                    data["cycle"]["with_deposit"],
                ],
            ],
        },
        "deadlines": {
            "title": "Open deadlines",
            "headers": ["Deadlines", "Count"],
            "rows": [
                ["Overdue", data["deadlines"]["overdue"]],
                [f"Due in the next {UPCOMING_DAYS} days", data["deadlines"]["upcoming"]],
            ],
        },
        "approvals": {
            "title": "Approvals waiting",
            "headers": ["Approval", "Waiting"],
            "rows": [
                ["Settlements", data["approvals"]["settlements"]],
                ["Lien changes", data["approvals"]["lien_changes"]],
                ["Disbursements", data["approvals"]["disbursements"]],
            ],
        },
        "workload": {
            "title": "Workload by specialist",
            "headers": ["Specialist", "Open cases", "Open deadlines"],
            "rows": [[p["name"], p["cases"], p["deadlines"]] for p in data["workload"]],
        },
    }
    if data["disputes"] is not None:
        d = data["disputes"]
        tables["disputes"] = {
            "title": "Disputes (federal fiscal year to date)",
            "headers": ["Disputes", "Count"],
            "rows": [
                ["Opened", d["opened"]],
                ["Upheld", d["upheld"]],
                ["Denied", d["denied"]],
                ["Still open (any year)", d["still_open"]],
            ],
        }
    return tables


def _blank(value):
    return "" if value is None else value
