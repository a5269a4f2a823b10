"""Deadline arithmetic: business days, holidays and the rules that say how long an event gives.

Business days skip Saturdays, Sundays and holidays. Holidays are the US federal ones (with their
observed days) and the state's public holidays from the `holidays` package, plus the rows of the
`Holiday` table (all-state rows and the state's own), which the admin edits.

Counting follows the court rules most states copy (FRCP 6(a)): the day of the event is not
counted, the last day is.
"""

import math
import statistics
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays as holiday_calendars
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from .models import Activity, CaseParty, DeadlineRule, Holiday, Jurisdiction, Party

# Built-in (days, business_days) per event, used when no DeadlineRule row matches. Migration
# 0005 seeds them as the all-state defaults so they show, and can be edited, in the admin.
DEFAULT_RULES: dict[str, tuple[int, bool]] = {
    DeadlineRule.Event.NOTICE_RESPONSE: (30, False),
    DeadlineRule.Event.FOLLOW_UP: (30, False),
    DeadlineRule.Event.DEMAND_PAYMENT: (30, False),
    DeadlineRule.Event.APPEAL: (30, False),
    DeadlineRule.Event.ATTORNEY_ANSWER: (10, True),
    DeadlineRule.Event.LIEN_RENEWAL: (365, False),
}

SATURDAY = 5


# ---------------------------------------------------------------------------------------------
# Holidays
# ---------------------------------------------------------------------------------------------


def _code(jurisdiction) -> str | None:
    if jurisdiction is None or jurisdiction == "":
        return None
    if isinstance(jurisdiction, Jurisdiction):
        return jurisdiction.code
    return str(jurisdiction).upper()


@lru_cache(maxsize=512)
def _calendar_holidays(state: str | None, year: int) -> frozenset[date]:
    """The package's holidays for one (state, year): pure computation, so cached for good."""
    days = set(holiday_calendars.US(years=year))
    if state and state in holiday_calendars.US.subdivisions:
        # A state's calendar may skip a federal observed day (Massachusetts does not observe a
        # Saturday holiday on Friday); federal offices and courts still close, so keep both.
        days |= set(holiday_calendars.US(years=year, subdiv=state))
    return frozenset(days)


def holidays_for(jurisdiction_code: str | None, years: Iterable[int]) -> set[date]:
    """Every non-business day other than weekends for the state (None = federal only).

    The package part is cached per (state, year). `Holiday` rows are read on every call (one
    small query), so a holiday added in the admin counts at once in every process.
    """
    state = _code(jurisdiction_code)
    years = sorted(set(years))
    if not years:
        return set()
    days: set[date] = set()
    for year in years:
        days |= _calendar_holidays(state, year)
    rows = Holiday.objects.filter(day__year__gte=years[0], day__year__lte=years[-1])
    scope = Q(jurisdiction__isnull=True)
    if state:
        scope |= Q(jurisdiction__code=state)
    days.update(
        day for day in rows.filter(scope).values_list("day", flat=True) if day.year in years
    )
    return days


def _years_spanned(start: date, days: int) -> range:
    # Business days stretch a period by 7/5 plus holidays; a generous margin keeps one query.
    reach = timedelta(days=abs(days) * 7 // 5 + 40)
    low, high = sorted((start, start + reach if days >= 0 else start - reach))
    return range(low.year, high.year + 1)


def is_business_day(day: date, holidays: set[date]) -> bool:
    return day.weekday() < SATURDAY and day not in holidays


# ---------------------------------------------------------------------------------------------
# Arithmetic
# ---------------------------------------------------------------------------------------------


def add_days(
    start: date,
    days: int,
    *,
    business: bool,
    jurisdiction_code: str | None = None,
    holidays: set[date] | None = None,
) -> date:
    """The date `days` (business or calendar) days after `start`; negative counts backwards.

    The start day is not counted. A calendar-day period whose last day falls on a weekend or a
    holiday runs on to the next business day (FRCP 6(a)(1)(C) and most state court rules; for a
    period counted backwards, FRCP 6(a)(5): on to the previous one).
    """
    if holidays is None:
        holidays = holidays_for(jurisdiction_code, _years_spanned(start, days))
    step = timedelta(days=1 if days >= 0 else -1)
    if not business:
        day = start + timedelta(days=days)
        while not is_business_day(day, holidays):
            day += step
        return day
    day, remaining = start, abs(days)
    while remaining:
        day += step
        if is_business_day(day, holidays):
            remaining -= 1
    return day


def business_days_between(
    start: date,
    end: date,
    jurisdiction_code: str | None = None,
    *,
    holidays: set[date] | None = None,
) -> int:
    """Business days after `start` up to and including `end` (negative when `end` is earlier).

    The inverse of `add_days(..., business=True)`: a same-day answer is 0 days, an answer on the
    next business day is 1.
    """
    if end < start:
        return -business_days_between(end, start, jurisdiction_code, holidays=holidays)
    if holidays is None:
        holidays = holidays_for(jurisdiction_code, range(start.year, end.year + 1))
    total = (end - start).days
    weeks, rest = divmod(total, 7)
    count = weeks * 5
    for offset in range(1, rest + 1):
        if (start + timedelta(days=offset)).weekday() < SATURDAY:
            count += 1
    count -= sum(1 for day in holidays if start < day <= end and day.weekday() < SATURDAY)
    return count


# ---------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------


def rule_for(event: str, *, jurisdiction=None, program: str = "") -> DeadlineRule | None:
    """The most specific rule for the event: jurisdiction + program, then jurisdiction alone,
    then program alone, then the all-state default. None when no row matches at all.

    `jurisdiction` is a Jurisdiction or a state code.
    """
    code = _code(jurisdiction)
    scope = Q(jurisdiction__isnull=True)
    if code:
        scope |= Q(jurisdiction__code=code)
    programs = {"", program or ""}
    candidates = DeadlineRule.objects.filter(scope, event=event, program__in=programs)

    def specificity(rule: DeadlineRule) -> tuple[bool, bool]:
        return (rule.jurisdiction_id is not None, rule.program != "")

    return max(candidates.select_related("jurisdiction"), key=specificity, default=None)


def period_for(event: str, *, jurisdiction=None, program: str = "") -> tuple[int, bool]:
    """(days, business_days) for the event, from the rule table or the built-in default."""
    rule = rule_for(event, jurisdiction=jurisdiction, program=program)
    if rule is not None:
        return rule.days, rule.business_days
    try:
        return DEFAULT_RULES[event]
    except KeyError:
        raise ValueError(f"Unknown deadline event: {event!r}") from None


def due_date_for(event: str, start: date, *, jurisdiction=None, program: str = "") -> date:
    """When the event's period ends, counted from `start` (e.g. the day a notice was mailed)."""
    days, business = period_for(event, jurisdiction=jurisdiction, program=program)
    return add_days(start, days, business=business, jurisdiction_code=_code(jurisdiction))


# ---------------------------------------------------------------------------------------------
# Service level: how fast the unit answers attorneys
# ---------------------------------------------------------------------------------------------

ATTORNEY_KINDS = (Party.Kind.ATTORNEY, Party.Kind.LAW_FIRM)
CORRESPONDENCE_KINDS = (
    Activity.Kind.LETTER,
    Activity.Kind.EMAIL,
    Activity.Kind.FAX,
    Activity.Kind.PORTAL,
)
# What counts as an answer: any outbound contact. Notes and system entries are not contacts.
ANSWER_KINDS = (*CORRESPONDENCE_KINDS, Activity.Kind.CALL, Activity.Kind.MEETING)


def _percentile(sorted_values: list[int], fraction: float) -> int | None:
    """Nearest-rank percentile: the smallest value with at least `fraction` of values at or
    below it (so p90 of ten answers is the 9th fastest)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def attorney_response_sla(
    *, since: date, until: date, team_id: int | None = None, today: date | None = None
) -> dict:
    """Business days from an attorney's inbound letter/e-mail/fax/portal message to the unit's
    next outbound contact on the same case, for messages received from `since` to `until`.

    One query: the period's inbound attorney messages, each annotated with the time of the next
    outbound contact by a correlated subquery (served by the (case, -occurred_at) index). The
    business-day count and percentiles are then computed over that bounded list.

    Returns count (messages), answered, unanswered, median_days and p90_days (answered ones),
    within_rule (answered within the state's `attorney_answer` period) and within_rule_pct —
    over the messages whose outcome is known: answered, or unanswered and already past the
    period as of `today`. A message still inside its period is neither a hit nor a miss yet.
    """
    today = today or timezone.localdate()
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(since, time.min), tz)
    end = timezone.make_aware(datetime.combine(until + timedelta(days=1), time.min), tz)
    attorney_on_case = CaseParty.objects.filter(case_id=OuterRef("case_id")).filter(
        Q(party_id=OuterRef("party_id")) | Q(party_id=OuterRef("party__firm_id"))
    )
    next_answer = (
        Activity.objects.filter(
            case_id=OuterRef("case_id"),
            direction=Activity.Direction.OUTBOUND,
            kind__in=ANSWER_KINDS,
            occurred_at__gt=OuterRef("occurred_at"),
        )
        .order_by("occurred_at")
        .values("occurred_at")[:1]
    )
    inbound = Activity.objects.filter(
        kind__in=CORRESPONDENCE_KINDS,
        direction=Activity.Direction.INBOUND,
        party__kind__in=ATTORNEY_KINDS,
        occurred_at__gte=start,
        occurred_at__lt=end,
    ).filter(Exists(attorney_on_case))
    if team_id is not None:
        inbound = inbound.filter(case__team_id=team_id)
    rows = list(
        inbound.annotate(answered_at=Subquery(next_answer))
        .order_by()
        .values_list("occurred_at", "answered_at", "case__jurisdiction__code")
    )

    calendars: dict[str | None, set[date]] = {}
    periods: dict[str | None, tuple[int, bool]] = {}
    answered_days: list[int] = []
    within = missed = 0
    for received_at, answered_at, state in rows:
        if state not in calendars:
            periods[state] = period_for(DeadlineRule.Event.ATTORNEY_ANSWER, jurisdiction=state)
            reach = _years_spanned(max(until, today), periods[state][0])
            calendars[state] = holidays_for(state, range(since.year, reach.stop))
        days, business = periods[state]
        received = timezone.localtime(received_at).date()
        due = add_days(received, days, business=business, holidays=calendars[state])
        if answered_at is not None:
            answered = timezone.localtime(answered_at).date()
            answered_days.append(
                business_days_between(received, answered, holidays=calendars[state])
            )
            if answered <= due:
                within += 1
            else:
                missed += 1
        elif today > due:
            missed += 1
    answered_days.sort()
    decided = within + missed
    return {
        "count": len(rows),
        "answered": len(answered_days),
        "unanswered": len(rows) - len(answered_days),
        "median_days": statistics.median(answered_days) if answered_days else None,
        "p90_days": _percentile(answered_days, 0.9),
        "within_rule": within,
        "within_rule_pct": round(100 * within / decided, 1) if decided else None,
    }
