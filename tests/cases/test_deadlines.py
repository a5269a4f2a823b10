import importlib
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cases import deadlines
from cases.deadlines import add_days, business_days_between, due_date_for, rule_for
from cases.models import Activity, CaseParty, DeadlineRule, Holiday, Party
from tests import factories

pytestmark = pytest.mark.django_db

EASTERN = ZoneInfo("America/New_York")


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=EASTERN)


# ---------------------------------------------------------------------------------------------
# Business days
# ---------------------------------------------------------------------------------------------


def test_a_business_day_after_friday_is_monday():
    friday = date(2026, 11, 6)
    assert add_days(friday, 1, business=True) == date(2026, 11, 9)
    assert add_days(friday, 5, business=True) == date(2026, 11, 16)  # Veterans Day, Wed 11th
    assert business_days_between(friday, date(2026, 11, 9)) == 1
    assert business_days_between(friday, date(2026, 11, 16)) == 5


def test_thanksgiving_is_skipped_and_florida_also_skips_the_friday_after():
    wednesday = date(2026, 11, 25)
    assert add_days(wednesday, 1, business=True) == date(2026, 11, 27)
    assert add_days(wednesday, 1, business=True, jurisdiction_code="FL") == date(2026, 11, 30)
    assert business_days_between(wednesday, date(2026, 11, 30), "FL") == 1


def test_independence_day_on_a_saturday_is_observed_on_the_friday():
    thursday = date(2026, 7, 2)
    assert add_days(thursday, 1, business=True) == date(2026, 7, 6)
    # Massachusetts does not observe it on Friday; federal offices and courts still close.
    assert add_days(thursday, 1, business=True, jurisdiction_code="MA") == date(2026, 7, 6)


def test_a_state_holiday_row_counts_only_in_its_state():
    Holiday.objects.create(
        day=date(2026, 3, 10), name="Agency closure", jurisdiction=factories.jurisdiction("TX")
    )
    monday = date(2026, 3, 9)
    assert add_days(monday, 1, business=True, jurisdiction_code="TX") == date(2026, 3, 11)
    assert add_days(monday, 1, business=True, jurisdiction_code="FL") == date(2026, 3, 10)
    assert business_days_between(monday, date(2026, 3, 13), "TX") == 3


def test_an_all_state_holiday_row_counts_everywhere():
    Holiday.objects.create(day=date(2026, 3, 10), name="Snow day", jurisdiction=None)
    monday = date(2026, 3, 9)
    assert add_days(monday, 1, business=True, jurisdiction_code="FL") == date(2026, 3, 11)
    assert add_days(monday, 1, business=True) == date(2026, 3, 11)


def test_a_calendar_deadline_on_a_sunday_rolls_to_monday():
    assert add_days(date(2026, 10, 30), 30, business=False) == date(2026, 11, 30)


def test_a_calendar_deadline_on_a_sunday_before_a_monday_holiday_rolls_to_tuesday():
    assert add_days(date(2025, 12, 19), 30, business=False) == date(2026, 1, 20)


def test_a_calendar_deadline_on_a_weekday_does_not_move():
    assert add_days(date(2026, 3, 2), 30, business=False) == date(2026, 4, 1)


def test_business_days_count_backwards_and_count_between_inverts_add():
    start = date(2026, 12, 18)
    for n in range(0, 40):
        end = add_days(start, n, business=True, jurisdiction_code="FL")
        assert business_days_between(start, end, "FL") == n
    assert add_days(date(2026, 7, 6), -1, business=True) == date(2026, 7, 2)
    assert business_days_between(date(2026, 7, 6), date(2026, 7, 2)) == -1


def test_holidays_for_merges_federal_state_and_table_rows():
    texas = factories.jurisdiction("TX")
    Holiday.objects.create(day=date(2026, 8, 3), name="Local", jurisdiction=texas)
    days = deadlines.holidays_for("TX", [2026])
    assert date(2026, 11, 26) in days  # Thanksgiving (federal)
    assert date(2026, 3, 2) in days  # Texas Independence Day (state)
    assert date(2026, 8, 3) in days  # the table's row
    assert date(2026, 3, 2) not in deadlines.holidays_for("FL", [2026])


# ---------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------


def test_the_most_specific_rule_wins():
    event = DeadlineRule.Event.ATTORNEY_ANSWER
    florida, texas = factories.jurisdiction("FL"), factories.jurisdiction("TX")
    DeadlineRule.objects.update_or_create(
        event=event,
        jurisdiction=None,
        program="",
        defaults={"days": 10, "business_days": True},
    )
    DeadlineRule.objects.create(event=event, jurisdiction=None, program="MCO", days=7)
    DeadlineRule.objects.create(event=event, jurisdiction=florida, program="", days=5)
    DeadlineRule.objects.create(event=event, jurisdiction=florida, program="MCO", days=3)

    assert rule_for(event, jurisdiction=florida, program="MCO").days == 3
    assert rule_for(event, jurisdiction="FL", program="FFS").days == 5
    assert rule_for(event, jurisdiction=texas, program="MCO").days == 7
    assert rule_for(event, jurisdiction=texas).days == 10
    assert rule_for(event).days == 10


def test_without_any_rule_row_the_built_in_default_applies():
    DeadlineRule.objects.filter(event__in=["attorney_answer", "notice_response"]).delete()
    assert rule_for("attorney_answer") is None
    # 10 business days from Wednesday 2026-11-18: Thanksgiving and Florida's Friday skipped.
    assert due_date_for("attorney_answer", date(2026, 11, 18), jurisdiction="FL") == date(
        2026, 12, 4
    )
    assert due_date_for("notice_response", date(2026, 10, 30)) == date(2026, 11, 30)


def test_due_date_follows_a_state_rule_in_calendar_days():
    DeadlineRule.objects.create(
        event="notice_response", jurisdiction=factories.jurisdiction("TX"), days=45
    )
    assert due_date_for("notice_response", date(2026, 3, 2), jurisdiction="TX") == date(2026, 4, 16)


def test_an_unknown_event_is_refused():
    with pytest.raises(ValueError):
        due_date_for("no_such_event", date(2026, 3, 2))


def test_the_default_rules_are_seeded_by_migration():
    from django.apps import apps
    from django.db import connection
    from django.db.migrations.recorder import MigrationRecorder

    migration = importlib.import_module("cases.migrations.0005_default_deadline_rules")
    assert ("cases", "0005_default_deadline_rules") in MigrationRecorder(
        connection
    ).applied_migrations()
    # Re-running it is harmless (and restores the rows if a transactional test flushed them).
    migration.create(apps, None)
    seeded = {
        rule.event: (rule.days, rule.business_days)
        for rule in DeadlineRule.objects.filter(jurisdiction=None, program="")
    }
    assert seeded == deadlines.DEFAULT_RULES
    assert DeadlineRule.objects.filter(jurisdiction=None, program="").count() == 6


# ---------------------------------------------------------------------------------------------
# Service level: answering attorneys
# ---------------------------------------------------------------------------------------------


def _message(case, party, day, *, direction="in", kind="letter", hour=10):
    return Activity.objects.create(
        case=case,
        party=party,
        kind=kind,
        direction=direction,
        subject="Correspondence",
        occurred_at=at(day, hour),
    )


def test_attorney_response_sla_on_a_small_hand_made_set(specialist, specialist2):
    DeadlineRule.objects.update_or_create(
        event="attorney_answer",
        jurisdiction=None,
        program="",
        defaults={"days": 10, "business_days": True},
    )
    case = factories.open_case(specialist)
    firm = factories.law_firm()
    factories.attorney_of_record(case, firm, specialist)
    lawyer = Party.objects.create(kind=Party.Kind.ATTORNEY, name="A. Lawyer", firm=firm)
    insurer = Party.objects.create(kind=Party.Kind.LIABILITY_INSURER, name="Insurer")
    CaseParty.objects.create(case=case, party=insurer, role=CaseParty.Role.LIABILITY_INSURER)
    stranger = factories.law_firm("Not On This Case LLP")

    # Mon 3 Nov 2025 -> Wed 5 Nov: 2 business days.
    _message(case, firm, date(2025, 11, 3))
    _message(case, None, date(2025, 11, 5), direction="out", kind="email")
    # Fri 7 Nov (an attorney of the firm, by e-mail) -> Mon 10 Nov: 1.
    _message(case, lawyer, date(2025, 11, 7), kind="email")
    _message(case, None, date(2025, 11, 10), direction="out", kind="call")
    # Wed 26 Nov (portal) -> Mon 1 Dec: Thanksgiving and Florida's Friday after skipped: 1.
    _message(case, firm, date(2025, 11, 26), kind="portal")
    _message(case, None, date(2025, 11, 26), direction="internal", kind="note", hour=11)
    _message(case, None, date(2025, 12, 1), direction="out", kind="letter")
    # Tue 2 Dec (fax) -> Tue 23 Dec: 15 business days, outside the 10-day rule.
    _message(case, firm, date(2025, 12, 2), kind="fax")
    _message(case, None, date(2025, 12, 23), direction="out", kind="letter")
    # Mon 29 Dec, never answered: past its period (13 Jan) by the reporting day -> a miss.
    _message(case, firm, date(2025, 12, 29))
    # Thu 15 Jan, not answered yet but still within its period on the reporting day.
    _message(case, firm, date(2026, 1, 15))
    # Not counted: an insurer's letter, a firm not on the case, a call, an outbound letter.
    _message(case, insurer, date(2025, 11, 4))
    _message(case, stranger, date(2025, 11, 4))
    _message(case, firm, date(2025, 11, 4), kind="call")
    # Another team's case.
    other = factories.open_case(specialist2)
    factories.attorney_of_record(other, firm, specialist2)
    _message(other, firm, date(2025, 11, 12))

    figure = deadlines.attorney_response_sla(
        since=date(2025, 11, 1),
        until=date(2026, 1, 31),
        team_id=specialist.team_id,
        today=date(2026, 1, 20),
    )
    assert figure == {
        "count": 6,
        "answered": 4,
        "unanswered": 2,
        "median_days": 1.5,
        "p90_days": 15,
        "within_rule": 3,
        "within_rule_pct": 60.0,
    }
    everyone = deadlines.attorney_response_sla(
        since=date(2025, 11, 1), until=date(2026, 1, 31), today=date(2026, 1, 20)
    )
    assert everyone["count"] == 7
    assert everyone["unanswered"] == 3


def test_attorney_response_sla_is_one_query_plus_calendars(
    specialist, django_assert_max_num_queries
):
    case = factories.open_case(specialist)
    firm = factories.law_firm()
    factories.attorney_of_record(case, firm, specialist)
    for offset in range(20):
        day = date(2025, 10, 1) + timedelta(days=offset)
        _message(case, firm, day)
        _message(case, None, day + timedelta(days=2), direction="out", kind="email")
    # The activities, then per state: the rule and the holiday rows.
    with django_assert_max_num_queries(3):
        figure = deadlines.attorney_response_sla(
            since=date(2025, 10, 1), until=date(2025, 10, 31), today=date(2025, 12, 1)
        )
    assert figure["count"] == 20
    assert figure["answered"] == 20
