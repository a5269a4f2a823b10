"""The unit's reports: exact figures on a hand-built data set, filters and periods, each user's
slice, access, CSV (formula-safe) and PDF read back, and a fixed number of queries."""

import csv
import io
import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases import services as case_services
from cases.models import Activity, Deadline
from ledger import services as ledger
from ledger.reports import fiscal_quarter
from liens import services as lien_services
from recovery.core.models import Role
from recovery.dashboard import reports
from recovery.dashboard.forms import Filters, ReportForm, preset_range
from recovery.dashboard.report_views import _csv_cell
from settlements import services as settlement_services
from settlements.models import Settlement
from tests.conftest import make_user
from tests.dashboard import builders
from tests.pdfs import pdf_text

URLS = {
    "recoveries": "/dashboard/reports/recoveries/",
    "liens": "/dashboard/reports/liens/",
    "compromises": "/dashboard/reports/compromises/",
    "productivity": "/dashboard/reports/productivity/",
}
INJECTION = '=HYPERLINK("http://evil.example","policy limits")'


def _moment(day, hour=11):
    return timezone.make_aware(datetime.combine(day, time(hour)))


@pytest.fixture
def world(supervisor, supervisor2, specialist, specialist2):
    """Three cases.

    A (FL, specialist, East): lien $10,000 of $6,000 at 90% and $4,000 at 60%, filed 40 days
      ago, later satisfied; settled at $8,000 against the full lien (a $2,000 compromise, approved
      by the supervisor); $8,000 received 40 days ago; recoveries of $5,000 (40 days ago) and
      $3,000 (today).
    B (GA, specialist2, West): lien $3,000 at 65.5%, filed today, amended to $3,500, released
      $500 in part and then in full; settled in full within authority; $3,000 received and
      $1,500 recovered today; a $250 hardship waiver (and a rejected write-off).
    C (FL, specialist, East): lien $1,000 filed today and withdrawn; a $500 deposit reversed;
      closed as withdrawn.
    """
    fl, ga = builders.jurisdictions()
    today = timezone.localdate()
    earlier = today - timedelta(days=40)

    a, firm_a = builders.case_with_lines(
        specialist, code="FL", lines=[("6000.00", "0.9000"), ("4000.00", "0.6000")]
    )
    lien_a = builders.file_lien(a, specialist, firm_a, filed_on=earlier)
    pending = builders.settle(
        a,
        specialist,
        gross="30000.00",
        fees="10000.00",
        agreed="8000.00",
        compromise_reason=INJECTION,
        justification="Limits exhausted after two other claimants.",
    )
    assert pending.status == Settlement.Status.PENDING
    settlement_services.approve_settlement(settlement=pending, approved_by=supervisor)
    builders.deposit(a, specialist, "8000.00", earlier, "a1")
    first = builders.recover(a, specialist, supervisor, "5000.00")
    assert first.federal_share == Decimal("3900.00")
    type(first).objects.filter(pk=first.pk).update(decided_at=_moment(earlier))
    second = builders.recover(a, specialist, supervisor, "3000.00")
    assert second.federal_share == Decimal("2340.00")
    lien_services.mark_satisfied(lien=lien_a, marked_by=specialist)

    b, firm_b = builders.case_with_lines(specialist2, code="GA", lines=[("3000.00", "0.6550")])
    lien_b = builders.file_lien(b, specialist2, firm_b, filed_on=today)
    builders.approve_change(
        lien_services.request_amendment(
            lien=lien_b, requested_by=specialist2, reason="Late claims", new_amount=Decimal("3500")
        ),
        supervisor2,
    )
    lien_b.refresh_from_db()
    builders.approve_change(
        lien_services.request_release(
            lien=lien_b, requested_by=specialist2, reason="Partial", amount=Decimal("500.00")
        ),
        supervisor2,
    )
    lien_b.refresh_from_db()
    builders.approve_change(
        lien_services.request_release(lien=lien_b, requested_by=specialist2, reason="Paid"),
        supervisor2,
    )
    accepted = builders.settle(b, specialist2, gross="20000.00", fees="5000.00")
    assert accepted.status == Settlement.Status.ACCEPTED and accepted.decided_by == specialist2
    builders.deposit(b, specialist2, "3000.00", today, "b1")
    assert builders.recover(b, specialist2, supervisor2, "1500.00").federal_share == Decimal(
        "982.50"
    )
    waiver = settlement_services.request_adjustment(
        case=b,
        requested_by=specialist2,
        kind="waiver",
        amount=Decimal("250.00"),
        reason_code="hardship",
        reason="Member hardship documented",
    )
    settlement_services.decide_adjustment(adjustment=waiver, decided_by=supervisor, approve=True)
    refused = settlement_services.request_adjustment(
        case=b,
        requested_by=specialist2,
        kind="write_off",
        amount=Decimal("900.00"),
        reason_code="no_assets",
        reason="Nothing to collect",
    )
    settlement_services.decide_adjustment(
        adjustment=refused, decided_by=supervisor, approve=False, note="Assets found"
    )

    c, firm_c = builders.case_with_lines(specialist, code="FL", lines=[("1000.00", "0.6000")])
    lien_c = builders.file_lien(c, specialist, firm_c, filed_on=today)
    builders.approve_change(
        lien_services.request_withdrawal(lien=lien_c, requested_by=specialist, reason="No claim"),
        supervisor,
    )
    bounced = builders.deposit(c, specialist, "500.00", today, "c1")
    ledger.reverse_transaction(
        original=bounced.transaction, reversed_by=supervisor, reason="Check returned"
    )
    builders.close(c, specialist, "withdrawn")

    # Activities and deadlines: only these.
    Activity.objects.all().delete()
    for subject, by, kind in (
        ("Call to the adjuster", specialist, "call"),
        ("Letter to the firm", specialist, "letter"),
        ("Note", specialist, "note"),
        ("Imported", specialist, "system"),  # not counted
        ("Call", specialist2, "call"),
    ):
        Activity.objects.create(case=a, kind=kind, subject=subject, created_by=by)
    old = Activity.objects.create(case=a, kind="call", subject="Old call", created_by=specialist)
    Activity.objects.filter(pk=old.pk).update(created_at=_moment(today - timedelta(days=90)))
    Deadline.objects.all().delete()
    for case, due, owner, done in (
        (a, today - timedelta(days=1), specialist, None),
        (c, today - timedelta(days=3), specialist, None),
        (a, today + timedelta(days=3), specialist, None),
        (a, today - timedelta(days=9), specialist, timezone.now()),
        (b, today - timedelta(days=2), specialist2, None),
    ):
        Deadline.objects.create(
            case=case, kind="follow_up", title="Call", due_date=due, owner=owner, done_at=done
        )
    return {"today": today, "earlier": earlier, "a": a, "b": b, "c": c, "fl": fl, "ga": ga}


def _filters(world, **extra) -> Filters:
    return Filters(
        date_from=world["today"] - timedelta(days=60),
        date_to=world["today"],
        preset="custom",
        **extra,
    )


def _query(world, **extra) -> dict:
    return {
        "date_from": (world["today"] - timedelta(days=60)).isoformat(),
        "date_to": world["today"].isoformat(),
        **extra,
    }


def _csv(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def _rows(report, key=None):
    table = report.table(key) if key else report.tables[0]
    return list(table.iter_rows())


# ---------------------------------------------------------------------------------------------
# Recoveries
# ---------------------------------------------------------------------------------------------


def test_recoveries_by_jurisdiction_and_month(world, supervisor):
    report = reports.recoveries(supervisor, _filters(world))
    rows = _rows(report)
    earlier_month = world["earlier"].strftime("%Y-%m")
    this_month = world["today"].strftime("%Y-%m")
    by_key = {(row["jurisdiction"], row["period"]): row for row in rows}
    fl_earlier = by_key[("Florida (FL)", earlier_month)]
    assert (fl_earlier["cases"], fl_earlier["received"], fl_earlier["recovered"]) == (
        1,
        Decimal("8000.00"),
        Decimal("5000.00"),
    )
    assert fl_earlier["federal"] == Decimal("3900.00")
    assert fl_earlier["liens"] == Decimal("10000.00") and fl_earlier["rate"] == Decimal("50.0")
    fl_now = by_key[("Florida (FL)", this_month)]
    # The reversed $500 deposit of case C is left out: no funds received in FL this month.
    assert fl_now["cases"] == 0 and fl_now["received"] == Decimal("0.00")
    assert fl_now["recovered"] == Decimal("3000.00") and fl_now["federal"] == Decimal("2340.00")
    assert fl_now["liens"] == Decimal("10000.00") and fl_now["rate"] == Decimal("30.0")
    fl_all = by_key[("Florida (FL)", "All periods")]
    # Case A's lien counts once over the period although it was recovered in two months.
    assert fl_all["liens"] == Decimal("10000.00") and fl_all["recovered"] == Decimal("8000.00")
    assert fl_all["federal"] == Decimal("6240.00") and fl_all["rate"] == Decimal("80.0")
    assert fl_all["_subtotal"] is True
    ga = by_key[("Georgia (GA)", this_month)]
    assert ga["received"] == Decimal("3000.00") and ga["federal"] == Decimal("982.50")
    assert ga["liens"] == Decimal("3000.00") and ga["rate"] == Decimal("50.0")
    totals = report.tables[0].totals
    assert totals["cases"] == 2
    assert totals["received"] == Decimal("11000.00")
    assert totals["recovered"] == Decimal("9500.00")
    assert totals["federal"] == Decimal("7222.50")
    assert totals["liens"] == Decimal("13000.00")
    assert totals["rate"] == Decimal("73.1")  # 9,500 / 13,000 = 73.077 %, half-up
    assert all(isinstance(row["received"], Decimal) for row in rows)


def test_recoveries_by_quarter_keep_the_period_totals(world, supervisor):
    report = reports.recoveries(supervisor, _filters(world, group="quarter"))
    rows = _rows(report)
    fl_periods = [r["period"] for r in rows if r["jurisdiction"] == "Florida (FL)"]
    quarters = {fiscal_quarter(world["earlier"]), fiscal_quarter(world["today"])}
    assert len(fl_periods) == len(quarters) + 1
    assert all(p.startswith("FFY ") for p in fl_periods[:-1])
    assert report.tables[0].totals["recovered"] == Decimal("9500.00")
    assert report.tables[0].totals["liens"] == Decimal("13000.00")


def test_recoveries_filters(world, supervisor, specialist2, team_west):
    ga_only = reports.recoveries(supervisor, _filters(world, jurisdiction=world["ga"]))
    assert {r["jurisdiction"] for r in _rows(ga_only)} == {"Georgia (GA)"}
    assert ga_only.tables[0].totals["recovered"] == Decimal("1500.00")
    for narrowed in (
        reports.recoveries(supervisor, _filters(world, specialist=specialist2)),
        reports.recoveries(supervisor, _filters(world, team=team_west)),
    ):
        assert narrowed.tables[0].totals["received"] == Decimal("3000.00")
    # A period that starts after case A's first recovery and deposit.
    recent = Filters(
        date_from=world["today"] - timedelta(days=5), date_to=world["today"], preset="custom"
    )
    fl = next(
        r
        for r in _rows(reports.recoveries(supervisor, recent))
        if r["jurisdiction"] == "Florida (FL)" and r["period"] == "All periods"
    )
    assert fl["received"] == Decimal("0.00") and fl["recovered"] == Decimal("3000.00")
    assert fl["liens"] == Decimal("10000.00") and fl["rate"] == Decimal("30.0")


def test_specialist_sees_only_their_slice(world, specialist, client):
    report = reports.recoveries(specialist, _filters(world))
    assert {r["jurisdiction"] for r in _rows(report)} == {"Florida (FL)"}
    assert report.tables[0].totals["recovered"] == Decimal("8000.00")
    liens = reports.lien_events(specialist, _filters(world))
    assert [r["code"] for r in _rows(liens)] == ["FL"]
    compromises = reports.compromises(specialist, _filters(world))
    assert [r["case"] for r in _rows(compromises)] == [world["a"].number]
    client.force_login(specialist)
    page = client.get(URLS["recoveries"], _query(world)).content.decode()
    assert '<th scope="row">Georgia (GA)</th>' not in page
    assert '<th scope="row">Florida (FL)</th>' in page
    exported = _csv(client.get(URLS["compromises"], _query(world, format="csv")))
    assert world["b"].number not in str(exported)


# ---------------------------------------------------------------------------------------------
# Liens
# ---------------------------------------------------------------------------------------------


def test_lien_events_by_jurisdiction(world, supervisor):
    report = reports.lien_events(supervisor, _filters(world))
    fl, ga = _rows(report)
    assert (fl["filed_n"], fl["filed_amount"]) == (2, Decimal("11000.00"))
    assert (fl["satisfied_n"], fl["satisfied_amount"]) == (1, Decimal("10000.00"))
    assert (fl["withdrawn_n"], fl["withdrawn_amount"]) == (1, Decimal("1000.00"))
    assert (ga["filed_n"], ga["filed_amount"]) == (1, Decimal("3000.00"))
    assert (ga["amended_n"], ga["amended_amount"]) == (1, Decimal("500.00"))
    assert (ga["released_partial_n"], ga["released_partial_amount"]) == (1, Decimal("500.00"))
    assert (ga["released_full_n"], ga["released_full_amount"]) == (1, Decimal("3000.00"))
    totals = report.tables[0].totals
    assert totals["filed_n"] == 3 and totals["filed_amount"] == Decimal("14000.00")
    assert totals["released_full_n"] + totals["released_partial_n"] == 2

    recent = Filters(
        date_from=world["today"] - timedelta(days=5), date_to=world["today"], preset="custom"
    )
    fl_recent = _rows(reports.lien_events(supervisor, recent))[0]
    assert (fl_recent["filed_n"], fl_recent["filed_amount"]) == (1, Decimal("1000.00"))


def test_lien_drill_down_lists_the_events(world, supervisor, client):
    detail = reports.lien_events(supervisor, _filters(world), event="filed").table("events")
    assert sorted(r["case"] for r in detail.iter_rows()) == sorted(
        [world["a"].number, world["b"].number, world["c"].number]
    )
    amended = list(
        reports.lien_events(supervisor, _filters(world), event="amended")
        .table("events")
        .iter_rows()
    )
    assert len(amended) == 1
    assert amended[0]["amount"] == Decimal("500.00") and amended[0]["before"] == Decimal("3000.00")
    assert amended[0]["approved_by"] == "Supervisor2 Example"

    client.force_login(supervisor)
    page = client.get(URLS["liens"], _query(world))
    html = page.content.decode()
    assert "event=filed" in html and "jurisdiction=GA" in html  # the counts link to lists
    drill = client.get(URLS["liens"], _query(world, event="filed", jurisdiction="GA"))
    assert drill.status_code == 200
    text = drill.content.decode()
    assert world["b"].number in text and world["a"].number not in text
    rows = _csv(
        client.get(URLS["liens"], _query(world, event="satisfied", format="csv", table="events"))
    )
    assert rows[0][0] == "Case" and rows[1][0] == world["a"].number and rows[1][4] == "10000.00"


# ---------------------------------------------------------------------------------------------
# Compromises
# ---------------------------------------------------------------------------------------------


def test_compromises_with_reasons(world, supervisor):
    report = reports.compromises(supervisor, _filters(world))
    settlement, waiver = sorted(_rows(report), key=lambda r: r["kind"] != "Settlement")
    assert settlement["case"] == world["a"].number
    assert settlement["lien"] == Decimal("10000.00")
    assert settlement["default"] == Decimal("10000.00") and settlement["agreed"] == Decimal(
        "8000.00"
    )
    assert settlement["given_up"] == Decimal("2000.00") and settlement["percent"] == Decimal("20.0")
    assert settlement["reason"].startswith(INJECTION)
    assert "Limits exhausted" in settlement["reason"]
    assert settlement["proposer"] == "Specialist Example"
    assert settlement["approver"] == "Supervisor Example"
    assert waiver["kind"] == "Waiver (hardship)" and waiver["reason_code"] == "hardship"
    assert waiver["given_up"] == Decimal("250.00") and waiver["percent"] == Decimal("8.3")
    assert waiver["default"] is None and waiver["approver"] == "Supervisor Example"
    # Case B's settlement at the full formula amount and the rejected write-off are not listed.
    assert len(_rows(report)) == 2
    reasons = {r["reason_code"]: (r["count"], r["given_up"]) for r in _rows(report, "reasons")}
    assert reasons == {"settlement": (1, Decimal("2000.00")), "hardship": (1, Decimal("250.00"))}
    assert report.table("reasons").totals["given_up"] == Decimal("2250.00")


def test_csv_neutralises_formulas_and_keeps_numbers(world, client, supervisor, specialist):
    specialist.first_name = "@SUM(A1)"
    specialist.save()
    client.force_login(supervisor)
    rows = _csv(client.get(URLS["compromises"], _query(world, format="csv")))
    header, body, total = rows[0], rows[1:-1], rows[-1]
    assert header[0] == "Decided" and "Given up" in header
    reasons = [row[header.index("Reason / justification")] for row in body]
    assert any(r.startswith("'" + INJECTION) for r in reasons)
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)
    proposers = [row[header.index("Proposed by")] for row in body]
    assert "'@SUM(A1) Example" in proposers
    assert total[0] == "Total" and total[header.index("Given up")] == "2250.00"
    by_reason = _csv(client.get(URLS["compromises"], _query(world, format="csv", table="reasons")))
    assert by_reason[-1] == ["Total", "", "2", "2250.00"]
    assert (
        client.get(URLS["compromises"], _query(world, format="csv", table="nope")).status_code
        == 404
    )
    # A negative figure stays a number (an amendment that lowered a lien).
    assert reports.csv_value(Decimal("-50.00"), "money") == Decimal("-50.00")
    assert _csv_cell(Decimal("-50.00")) == "-50.00" and _csv_cell("-1+1") == "'-1+1"


# ---------------------------------------------------------------------------------------------
# Productivity
# ---------------------------------------------------------------------------------------------


def test_productivity_per_specialist(world, supervisor):
    report = reports.productivity(supervisor, _filters(world))
    rows = {row["name"]: row for row in _rows(report)}
    mine = rows["Specialist Example"]
    assert (mine["opened"], mine["assigned"], mine["liens"]) == (2, 2, 2)
    assert mine["settled"] == 1 and mine["agreed"] == Decimal("8000.00")
    assert mine["received"] == Decimal("8000.00")  # case C's reversed deposit is left out
    assert mine["closed"] == 1 and mine["closed_withdrawn"] == 1 and mine["closed_compromised"] == 0
    assert mine["days"] == Decimal("40.0")
    assert mine["activities"] == 3 and mine["overdue"] == 2
    other = rows["Specialist2 Example"]
    assert (other["opened"], other["liens"], other["settled"]) == (1, 1, 1)
    assert other["agreed"] == Decimal("3000.00") and other["received"] == Decimal("3000.00")
    assert other["days"] == Decimal("0.0") and other["activities"] == 1 and other["overdue"] == 1
    totals = report.tables[0].totals
    assert totals["settled"] == 2 and totals["agreed"] == Decimal("11000.00")
    assert totals["days"] == Decimal("20.0") and totals["overdue"] == 3


def test_productivity_filters_narrow_the_people(world, supervisor, specialist, team_east):
    east = reports.productivity(supervisor, _filters(world, team=team_east))
    assert [r["name"] for r in _rows(east)] == ["Specialist Example"]
    ga = reports.productivity(supervisor, _filters(world, jurisdiction=world["ga"]))
    rows = {r["name"]: r for r in _rows(ga)}
    assert rows["Specialist Example"]["opened"] == 0
    assert rows["Specialist2 Example"]["opened"] == 1
    # A specialist's report covers their slice only: a West colleague shows with the call they
    # logged on an East case, never with their own West cases.
    slice_ = {r["name"]: r for r in _rows(reports.productivity(specialist, _filters(world)))}
    assert slice_["Specialist Example"]["opened"] == 2
    west = slice_["Specialist2 Example"]
    assert (west["activities"], west["opened"], west["liens"], west["overdue"]) == (1, 0, 0, 0)
    assert west["received"] == Decimal("0.00")


def test_average_days_and_rates_round_half_up():
    assert reports.rate(Decimal("1"), Decimal("8")) == Decimal("12.5")
    assert reports.rate(Decimal("1"), Decimal("16")) == Decimal("6.3")  # 6.25 -> 6.3
    assert reports.rate(Decimal("5"), Decimal("0")) is None
    assert reports.average_days(timedelta(days=5), 4) == Decimal("1.3")  # 1.25 -> 1.3
    assert reports.average_days(None, 0) is None


# ---------------------------------------------------------------------------------------------
# Periods and filters
# ---------------------------------------------------------------------------------------------


def test_presets_follow_the_federal_fiscal_year():
    today = date(2026, 2, 14)
    assert preset_range("this_month", today) == (date(2026, 2, 1), today)
    assert preset_range("last_month", today) == (date(2026, 1, 1), date(2026, 1, 31))
    assert preset_range("fytd", today) == (date(2025, 10, 1), today)
    assert preset_range("last_fy", today) == (date(2024, 10, 1), date(2025, 9, 30))
    assert preset_range("this_quarter", today) == (date(2026, 1, 1), today)
    assert preset_range("last_quarter", today) == (date(2025, 10, 1), date(2025, 12, 31))
    assert preset_range("fytd", date(2025, 10, 1)) == (date(2025, 10, 1), date(2025, 10, 1))
    assert preset_range("last_month", date(2026, 1, 5)) == (date(2025, 12, 1), date(2025, 12, 31))


def test_form_defaults_to_the_fiscal_year_and_rejects_bad_periods(supervisor):
    form = ReportForm({}, user=supervisor)
    assert form.is_valid()
    f = form.filters()
    assert f.preset == "fytd" and f.date_to == timezone.localdate()
    bad = ReportForm({"date_from": "2026-03-01", "date_to": "2026-01-01"}, user=supervisor)
    assert not bad.is_valid() and "date_to" in bad.errors
    long = ReportForm({"date_from": "2000-01-01", "date_to": "2026-01-01"}, user=supervisor)
    assert not long.is_valid()
    assert not ReportForm({"preset": "custom"}, user=supervisor).is_valid()
    assert not ReportForm({"jurisdiction": "ZZ"}, user=supervisor).is_valid()


def test_page_shows_the_period_in_effect_and_reads_what_was_changed(supervisor, client):
    today = date(2026, 2, 14)
    fytd = preset_range("fytd", today)
    # Dates changed under the preset the page showed: the dates apply.
    typed = ReportForm(
        {"preset": "fytd", "shown": "fytd", "date_from": "2026-01-05", "date_to": "2026-01-20"},
        user=supervisor,
        today=today,
    )
    assert typed.is_valid()
    assert typed.filters().preset == "custom"
    assert (typed.filters().date_from, typed.filters().date_to) == (
        date(2026, 1, 5),
        date(2026, 1, 20),
    )
    # The preset changed, the dates still those shown for the old one: the preset applies.
    changed = ReportForm(
        {
            "preset": "last_month",
            "shown": "fytd",
            "date_from": fytd[0].isoformat(),
            "date_to": fytd[1].isoformat(),
        },
        user=supervisor,
        today=today,
    )
    assert changed.is_valid() and changed.filters().preset == "last_month"
    assert changed.filters().date_from == date(2026, 1, 1)
    # Sent back unchanged: still the preset.
    same = ReportForm(
        {
            "preset": "fytd",
            "shown": "fytd",
            "date_from": fytd[0].isoformat(),
            "date_to": fytd[1].isoformat(),
        },
        user=supervisor,
        today=today,
    )
    assert same.is_valid() and same.filters().preset == "fytd"

    client.force_login(supervisor)
    html = client.get(URLS["compromises"], {"preset": "last_month"}).content.decode()
    start, end = preset_range("last_month", timezone.localdate())
    assert f'value="{start.isoformat()}"' in html and f'value="{end.isoformat()}"' in html
    assert 'name="shown" value="last_month"' in html


def test_bad_input_is_a_400(world, client, supervisor):
    client.force_login(supervisor)
    page = client.get(URLS["recoveries"], {"date_from": "2026-13-01", "date_to": "x"})
    assert page.status_code == 400 and "The filters are not valid" in page.content.decode()
    assert (
        client.get(
            URLS["liens"], {"date_from": "2026-03-01", "date_to": "2026-01-01", "format": "csv"}
        ).status_code
        == 400
    )
    assert client.get(URLS["productivity"], {"format": "xlsx"}).status_code == 400
    assert (
        client.get(URLS["compromises"], {"specialist": "abc", "format": "pdf"}).status_code == 400
    )
    assert client.get(URLS["recoveries"], {"group": "week"}).status_code == 400
    assert client.get(URLS["compromises"], {"page": "999"}).status_code == 200


# ---------------------------------------------------------------------------------------------
# Pages, access, PDF
# ---------------------------------------------------------------------------------------------


def test_pages_render_for_every_staff_role(
    world, client, supervisor, auditor, admin_user, specialist
):
    for user in (supervisor, auditor, admin_user, specialist):
        client.force_login(user)
        index = client.get("/dashboard/reports/")
        assert index.status_code == 200
        for url in URLS.values():
            assert url in index.content.decode()
            response = client.get(url)
            assert response.status_code == 200, url
            html = response.content.decode()
            assert "Federal fiscal year to date" in html and "format=csv" in html
            assert "<script>" not in html.split("</head>")[1]
    client.force_login(supervisor)
    html = client.get(URLS["recoveries"], _query(world)).content.decode()
    assert "<svg" in html and "$9,500.00" in html and "73.1%" in html
    assert 'href="/dashboard/reports/"' in client.get("/").content.decode()  # in the menu


def test_attorneys_are_refused_and_anonymous_users_sent_to_login(client, attorney):
    for url in ["/dashboard/reports/", *URLS.values()]:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response["Location"]
    client.force_login(attorney)
    for url in ["/dashboard/reports/", *URLS.values()]:
        assert client.get(url).status_code == 403
        assert client.get(url, {"format": "csv"}).status_code == 403
    assert client.post(URLS["recoveries"]).status_code in (403, 405)


def test_page_escapes_user_text(world, client, supervisor, specialist):
    specialist.first_name = "<script>alert(1)</script>"
    specialist.save()
    client.force_login(supervisor)
    html = client.get(URLS["productivity"], _query(world)).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_pdf_states_the_filters_and_holds_rows_and_totals(world, client, supervisor, tmp_path):
    client.force_login(supervisor)
    response = client.get(URLS["recoveries"], _query(world, jurisdiction="FL"))
    assert response.status_code == 200
    pdf = client.get(URLS["recoveries"], _query(world, jurisdiction="FL", format="pdf"))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = pdf_text(pdf.content, tmp_path)
    assert "RECOVERIES BY JURISDICTION AND PERIOD" in text
    assert "Third Party Liability Unit" in text  # the letterhead
    assert "Florida (FL)" in text and "Georgia" not in text
    assert f"{(world['today'] - timedelta(days=60)):%Y-%m-%d} to {world['today']:%Y-%m-%d}" in text
    assert "$8,000.00" in text and "$6,240.00" in text and "80.0%" in text
    assert re.search(r"Page 1 of \d", text)
    compromises = client.get(URLS["compromises"], _query(world, format="pdf"))
    text = pdf_text(compromises.content, tmp_path)
    assert world["a"].number in text and "$2,250.00" in text and "HYPERLINK" in text
    assert "Member hardship" in text and "Totals by reason code" in text
    productivity = client.get(URLS["productivity"], _query(world, format="pdf"))
    text = pdf_text(productivity.content, tmp_path)
    assert "Specialist2" in text and "$11,000.00" in text
    liens = client.get(URLS["liens"], _query(world, format="pdf", event="withdrawn"))
    text = pdf_text(liens.content, tmp_path)
    assert "Liens withdrawn" in text and world["c"].number in text and "No claim" in text


def test_pdf_never_fetches_anything(world, client, supervisor, specialist, listener):
    specialist.first_name = f'<img src="http://127.0.0.1:{listener.port}/x.png">'
    specialist.save()
    client.force_login(supervisor)
    assert client.get(URLS["productivity"], _query(world, format="pdf")).status_code == 200
    assert listener.connections == 0


# ---------------------------------------------------------------------------------------------
# A fixed number of queries, whatever the data size
# ---------------------------------------------------------------------------------------------


def _more_data(supervisor, specialist, n: int):
    today = timezone.localdate()
    for i in range(n):
        case, firm = builders.case_with_lines(
            specialist, code="FL" if i % 2 else "GA", lines=[("1000.00", "0.6000")], last=f"M{i}"
        )
        builders.file_lien(case, specialist, firm, filed_on=today)
        builders.settle(
            case, specialist, gross="5000.00", agreed="950.00", compromise_reason="Limits"
        )
        builders.deposit(case, specialist, "950.00", today, f"more-{case.pk}")
        builders.recover(case, specialist, supervisor, "400.00")
        builders.recover(case, specialist, supervisor, "300.00")
        Deadline.objects.create(
            case=case,
            kind="follow_up",
            title="x",
            due_date=today - timedelta(days=1),
            owner=specialist,
        )
        case_services.log_activity(
            case=case, logged_by=specialist, kind="call", subject="Follow-up call"
        )
    make_user(f"extra{n}", Role.SPECIALIST, specialist.team)


def _count(client, url, params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
        assert response.status_code == 200
        if response.streaming:
            b"".join(response.streaming_content)
    return len(ctx.captured_queries)


@pytest.mark.parametrize("slug", list(URLS))
def test_query_count_does_not_grow_with_the_data(
    slug, world, client, supervisor, specialist, django_assert_max_num_queries
):
    client.force_login(supervisor)
    params = _query(world, event="filed") if slug == "liens" else _query(world)
    small = {fmt: _count(client, URLS[slug], {**params, "format": fmt}) for fmt in ("", "csv")}
    _more_data(supervisor, specialist, 6)
    large = {fmt: _count(client, URLS[slug], {**params, "format": fmt}) for fmt in ("", "csv")}
    assert large == small
    with django_assert_max_num_queries(22):
        client.get(URLS[slug], params)
