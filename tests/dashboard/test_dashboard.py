"""The supervisor dashboard: numbers on a hand-made data set, visibility, access, CSV, SVG, speed."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.models import Case, Deadline
from ledger.models import Disbursement
from ledger.services import post_deposit
from liens.models import Lien, LienChange
from recovery.dashboard import charts
from recovery.dashboard.selectors import add_months, dashboard_data, fiscal_year_start
from recovery.dashboard.views import csv_safe
from recovery.portal.models import Dispute
from settlements.models import Settlement
from tests import factories

URL = "/dashboard/"


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


def _case(by, *, status, days_open, assignee, lien="0.00"):
    case = factories.open_case(by, incident_date=timezone.localdate() - timedelta(days=900))
    Case.objects.filter(pk=case.pk).update(
        status=status,
        opened_at=timezone.now() - timedelta(days=days_open, hours=1),
        assigned_to=assignee,
        team=assignee.team,
        lien_amount=Decimal(lien),
    )
    case.refresh_from_db()
    return case


def _deposit(case, by, amount, received_on):
    deposit, _ = post_deposit(
        case=case,
        amount=Decimal(amount),
        received_on=received_on,
        payer="Insurer",
        instrument="check",
        reference=f"CHK-{case.pk}-{received_on}",
        idempotency_key=f"k-{case.pk}-{received_on}-{amount}",
        recorded_by=by,
    )
    return deposit


def _settlement(case, by, *, status, decided_at=None, recovery="1000.00"):
    return Settlement.objects.create(
        case=case,
        status=status,
        gross_settlement=Decimal("10000.00"),
        program_paid=case.lien_amount,
        formula="full_lien",
        computed_recovery=Decimal(recovery),
        agreed_recovery=Decimal(recovery),
        proposed_by=by,
        decided_at=decided_at,
    )


@pytest.fixture
def world(supervisor, specialist, specialist2):
    """Five cases across two specialists (east: c1, c2, c5; west: c3, c4) with money and tasks."""
    now = timezone.now()
    today = timezone.localdate(now)
    c1 = _case(supervisor, status=Case.Status.NEW, days_open=5, assignee=specialist)
    c2 = _case(supervisor, status=Case.Status.RESEARCH, days_open=45, assignee=specialist)
    c3 = _case(supervisor, status=Case.Status.FOLLOW_UP, days_open=100, assignee=specialist2)
    c4 = _case(
        supervisor, status=Case.Status.RECEIVABLE, days_open=400, assignee=specialist2, lien="4000"
    )
    c5 = _case(
        supervisor, status=Case.Status.RECEIVABLE, days_open=800, assignee=specialist, lien="2000"
    )

    # c4: lien filed 40 days before a settlement accepted now; paid today.
    Lien.objects.create(case=c4, status=Lien.Status.FILED, filed_on=today - timedelta(days=40))
    _settlement(c4, specialist2, status=Settlement.Status.ACCEPTED, decided_at=now)
    two_months_ago = add_months(today.replace(day=1), -2)
    _deposit(c4, supervisor, "250.00", two_months_ago)  # before acceptance: not "first deposit"
    _deposit(c4, supervisor, "1000.00", today)

    # c5: accepted 400 days ago, lien filed 20 days before that, first deposit 5 days after.
    old = now - timedelta(days=400)
    old_day = timezone.localdate(old)
    Lien.objects.create(
        case=c5, status=Lien.Status.SATISFIED, filed_on=old_day - timedelta(days=20)
    )
    _settlement(c5, specialist, status=Settlement.Status.ACCEPTED, decided_at=old)
    _deposit(c5, supervisor, "500.00", old_day + timedelta(days=5))
    Case.objects.filter(pk=c5.pk).update(status=Case.Status.CLOSED, closed_at=now)

    # Approvals waiting: a pending settlement (west), a lien change (east), a disbursement (west).
    _settlement(c3, specialist2, status=Settlement.Status.PENDING)
    lien2 = Lien.objects.create(
        case=c2, status=Lien.Status.FILED, filed_on=today - timedelta(days=10)
    )
    LienChange.objects.create(
        lien=lien2,
        kind=LienChange.Kind.AMEND,
        old_amount=Decimal("0"),
        reason="More claims",
        requested_by=specialist,
    )
    Disbursement.objects.create(
        case=c4,
        amount=Decimal("100.00"),
        payee="State",
        purpose="program_recovery",
        requested_by=specialist2,
    )

    # Deadlines: only ours.
    Deadline.objects.all().delete()
    for case, due, owner, done in (
        (c1, today - timedelta(days=3), specialist, None),  # overdue
        (c1, today - timedelta(days=9), specialist, now),  # done: ignored
        (c2, today + timedelta(days=5), specialist, None),  # upcoming
        (c3, today + timedelta(days=14), specialist2, None),  # upcoming (last day)
        (c3, today + timedelta(days=30), specialist2, None),  # later
    ):
        Deadline.objects.create(
            case=case, kind="follow_up", title="Call", due_date=due, owner=owner, done_at=done
        )

    Dispute.objects.create(case=c3, reason="Unrelated", submitted_by=supervisor)
    Dispute.objects.create(
        case=c1, reason="Unrelated", submitted_by=supervisor, status="upheld", decided_at=now
    )
    return {"today": today, "two_months_ago": two_months_ago, "cases": (c1, c2, c3, c4, c5)}


def test_supervisor_numbers(world, supervisor):
    data = dashboard_data(supervisor)
    today = world["today"]
    opened = data["open_cases"]
    assert opened["total"] == 4
    assert dict(opened["by_status"]) == {
        "New": 1,
        "Research": 1,
        "Lien noticed": 0,
        "Follow-up": 1,
        "Settlement": 0,
        "Awaiting funds": 1,
    }
    assert dict(opened["by_age"]) == {
        "0–30": 1,
        "31–60": 1,
        "61–90": 0,
        "91–180": 1,
        "181–365": 0,
        "365+": 1,
    }

    month, fytd = data["money"]["periods"]
    assert month["recovered"] == Decimal("1000.00") and month["lien"] == Decimal("4000.00")
    assert month["rate"] == Decimal("25.0")
    in_fy = world["two_months_ago"] >= fiscal_year_start(today)
    assert fytd["recovered"] == Decimal("1250.00" if in_fy else "1000.00")
    assert fytd["lien"] == Decimal("4000.00")
    series = dict(data["money"]["series"])
    assert len(series) == 12
    assert series[today.strftime("%Y-%m")] == Decimal("1000.00")
    assert series[world["two_months_ago"].strftime("%Y-%m")] == Decimal("250.00")
    assert sum(series.values()) == Decimal("1250.00")  # the 400-day-old deposit is outside

    assert data["cycle"]["filing_to_acceptance"] == 30.0  # (40 + 20) / 2
    assert data["cycle"]["acceptance_to_deposit"] == 2.5  # (0 + 5) / 2
    assert data["deadlines"] == {"overdue": 1, "upcoming": 2}
    assert data["approvals"] == {"settlements": 1, "lien_changes": 1, "disbursements": 1}
    workload = {p["name"]: (p["cases"], p["deadlines"]) for p in data["workload"]}
    assert workload == {"Specialist Example": (2, 2), "Specialist2 Example": (2, 2)}
    assert data["disputes"] == {"opened": 2, "upheld": 1, "denied": 0, "still_open": 1}


def test_specialist_sees_only_their_slice(world, specialist, client):
    data = dashboard_data(specialist)
    assert data["open_cases"]["total"] == 2
    month, _fytd = data["money"]["periods"]
    assert month["recovered"] == Decimal("0.00") and month["rate"] is None
    assert data["deadlines"] == {"overdue": 1, "upcoming": 1}
    assert data["approvals"] == {"settlements": 0, "lien_changes": 1, "disbursements": 0}
    assert [p["name"] for p in data["workload"]] == ["Specialist Example"]
    assert data["disputes"]["opened"] == 1
    client.force_login(specialist)
    page = client.get(URL).content.decode()
    assert "Specialist2 Example" not in page


def test_cache_is_per_slice(world, supervisor, specialist):
    assert dashboard_data(supervisor)["open_cases"]["total"] == 4
    Case.objects.filter(status=Case.Status.NEW).update(status=Case.Status.CLOSED)
    assert dashboard_data(supervisor)["open_cases"]["total"] == 4  # cached for 5 minutes
    assert dashboard_data(specialist)["open_cases"]["total"] == 1  # its own entry


def test_page_renders_for_staff(world, client, supervisor, auditor):
    for user in (supervisor, auditor):
        client.force_login(user)
        response = client.get(URL)
        assert response.status_code == 200
        html = response.content.decode()
        assert html.count("<svg") == 4
        assert "Show table" in html and "/dashboard/export/status.csv" in html
        assert "<script>" not in html.split("</head>")[1]
        assert "25.0%" in html


def test_attorney_forbidden_and_anonymous_redirected(client, attorney):
    response = client.get(URL)
    assert response.status_code == 302 and "/login" in response["Location"]
    assert client.get("/dashboard/export/status.csv").status_code == 302
    client.force_login(attorney)
    assert client.get(URL).status_code == 403
    assert client.get("/dashboard/export/status.csv").status_code == 403


def test_csv_export(world, client, supervisor):
    client.force_login(supervisor)
    response = client.get("/dashboard/export/status.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Status", "Open cases"]
    assert ["New", "1"] in rows and ["Awaiting funds", "1"] in rows
    deadlines = list(csv.reader(io.StringIO(client.get("/dashboard/export/deadlines.csv").text)))
    assert deadlines[1] == ["Overdue", "1"]
    assert client.get("/dashboard/export/nope.csv").status_code == 404


def test_csv_formula_injection(world, client, supervisor, specialist):
    for value in ("=HYPERLINK(1)", "+1", "-2", "@SUM(A1)"):
        assert csv_safe(value) == "'" + value
    assert csv_safe("Plain") == "Plain" and csv_safe(3) == "3"
    specialist.first_name = "=cmd|' /C calc'!A0"
    specialist.save()
    client.force_login(supervisor)
    rows = list(csv.reader(io.StringIO(client.get("/dashboard/export/workload.csv").text)))
    names = [row[0] for row in rows[1:]]
    assert "'=cmd|' /C calc'!A0 Example" in names
    assert not any(name.startswith(("=", "+", "-", "@")) for name in names)


def test_svg_escapes_labels():
    for svg in (
        charts.bar_chart(["<script>alert(1)</script>"], [3], title="t<b>"),
        charts.stacked_bar(["<script>x</script>"], [("<i>", [1]), ("b", [2])], title="t"),
        charts.time_series(["<script>"], [Decimal("5")], title="t"),
    ):
        assert "<script" not in svg
        assert "&lt;script&gt;" in svg
        assert svg.startswith("<svg") and svg.endswith("</svg>")


def test_page_escapes_user_names_in_svg(world, client, supervisor, specialist):
    specialist.first_name = "<script>alert(1)</script>"
    specialist.save()
    client.force_login(supervisor)
    html = client.get(URL).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def _count_page_queries(client) -> int:
    cache.clear()
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(URL).status_code == 200
    return len(ctx.captured_queries)


def test_query_count_bounded(world, client, supervisor, specialist, django_assert_max_num_queries):
    client.force_login(supervisor)
    small = _count_page_queries(client)
    # Many more cases, deadlines and deposits: the count must not move.
    c1 = world["cases"][0]
    for i in range(15):
        case = _case(supervisor, status=Case.Status.NOTICE, days_open=i * 30, assignee=specialist)
        Deadline.objects.create(
            case=case, kind="follow_up", title="x", due_date=world["today"], owner=specialist
        )
        _deposit(case, supervisor, "10.00", world["today"] - timedelta(days=i * 20))
    Deadline.objects.create(
        case=c1, kind="follow_up", title="y", due_date=world["today"], owner=specialist
    )
    large = _count_page_queries(client)
    assert large == small
    cache.clear()
    with django_assert_max_num_queries(20):
        client.get(URL)
    with django_assert_max_num_queries(small - 12):  # the aggregates come from the cache
        client.get(URL)
