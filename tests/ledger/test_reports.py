"""Ledger reports: trial balance, CMS-64 quarters, settlement aging, CSV safety, GL export."""

import csv
import io
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ledger import reports, services
from ledger.models import Account, Entry
from tests import factories

pytestmark = pytest.mark.django_db

LOCAL = ZoneInfo(settings.TIME_ZONE)


@pytest.fixture
def case(specialist):
    """A $10,000 lien: $6,000 paid at 90% and $4,000 at 60%."""
    person = factories.member()
    factories.claim_line(
        person, service_from=date(2025, 3, 1), paid="6000.00", fmap_rate=Decimal("0.9000")
    )
    factories.claim_line(
        person, service_from=date(2025, 3, 2), paid="4000.00", fmap_rate=Decimal("0.6000")
    )
    return factories.open_case(specialist, person)


def fund(case, user, amount, key):
    return services.post_deposit(
        case=case,
        amount=Decimal(amount),
        received_on=timezone.localdate(),
        payer="Acme Mutual",
        instrument="check",
        reference=key,
        idempotency_key=key,
        recorded_by=user,
    )[0]


def pay(case, requester, approver, amount, purpose="program_recovery", payee="Agency"):
    request = services.request_disbursement(
        case=case, amount=Decimal(amount), payee=payee, purpose=purpose, requested_by=requester
    )
    return services.approve_disbursement(disbursement=request, approved_by=approver)


def csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


# ---------------------------------------------------------------------------------------------
# Trial balance
# ---------------------------------------------------------------------------------------------


def test_the_trial_balance_balances_in_one_query(case, specialist, supervisor):
    fund(case, specialist, "5000.00", "a")
    fund(case, specialist, "300.00", "b")
    pay(case, specialist, supervisor, "2000.00")
    pay(case, specialist, supervisor, "100.00", purpose="mco_share")
    bounced = fund(case, specialist, "50.00", "c")
    services.reverse_transaction(original=bounced.transaction, reversed_by=supervisor, reason="x")
    with CaptureQueriesContext(connection) as queries:
        report = reports.trial_balance()
    assert len(queries) == 2  # the aggregate, and the six accounts
    rows = {row.account.code: row for row in report.rows}
    assert report.balanced and report.total_debit == report.total_credit
    assert (rows["1000"].debit, rows["1000"].credit) == (Decimal("5350.00"), Decimal("50.00"))
    assert rows["2000"].normal_balance == Decimal("3200.00")  # what the case holds
    assert rows["2100"].normal_balance + rows["4000"].normal_balance == Decimal("2000.00")
    assert rows["2200"].normal_balance == Decimal("100.00")
    assert sum(row.balance for row in report.rows) == Decimal("0.00")


def test_the_trial_balance_as_of_a_day_leaves_later_postings_out(case, specialist):
    with time_machine.travel(datetime(2026, 1, 10, 12, tzinfo=LOCAL)):
        fund(case, specialist, "100.00", "early")
    with time_machine.travel(datetime(2026, 1, 20, 12, tzinfo=LOCAL)):
        fund(case, specialist, "40.00", "late")
    report = reports.trial_balance(as_of=date(2026, 1, 15))
    assert report.total_debit == Decimal("100.00") and report.balanced


def test_the_trial_balance_reads_the_covering_index_only():
    sql, params = reports.trial_balance_queryset().query.sql_with_params()
    assert "JOIN" not in sql and "GROUP BY" in sql
    assert "ledger_entry" in sql and "transaction" not in sql.split("FROM")[1]


# ---------------------------------------------------------------------------------------------
# Federal share by federal fiscal quarter
# ---------------------------------------------------------------------------------------------


def test_federal_fiscal_quarters_turn_on_october_first():
    assert reports.fiscal_quarter(date(2025, 9, 30)) == (2025, 4)
    assert reports.fiscal_quarter(date(2025, 10, 1)) == (2026, 1)
    assert reports.fiscal_quarter(date(2025, 12, 31)) == (2026, 1)
    assert reports.fiscal_quarter(date(2026, 1, 1)) == (2026, 2)
    assert reports.fiscal_quarter(date(2026, 6, 30)) == (2026, 3)
    assert reports.quarter_dates(2026, 1) == (date(2025, 10, 1), date(2025, 12, 31))
    assert reports.quarter_dates(2026, 2) == (date(2026, 1, 1), date(2026, 3, 31))
    assert reports.quarter_dates(2025, 4) == (date(2025, 7, 1), date(2025, 9, 30))


def test_program_recoveries_are_reported_in_the_quarter_of_their_approval(specialist, supervisor):
    """Sep 30 23:30 in the agency's zone is already Oct 1 in UTC: it still counts for Q4."""
    cases = []
    for _ in range(3):
        person = factories.member()
        factories.claim_line(
            person, service_from=date(2025, 3, 1), paid="1000.00", fmap_rate=Decimal("0.9000")
        )
        cases.append(factories.open_case(specialist, person))
    with time_machine.travel(datetime(2025, 9, 30, 12, tzinfo=LOCAL)):
        for index, case in enumerate(cases):
            fund(case, specialist, "1000.00", f"q-{index}")
    moments = [
        datetime(2025, 9, 30, 23, 30, tzinfo=LOCAL),
        datetime(2025, 10, 1, 0, 30, tzinfo=LOCAL),
        datetime(2026, 1, 1, 0, 5, tzinfo=LOCAL),
    ]
    for case, moment in zip(cases, moments, strict=True):
        with time_machine.travel(moment, tick=False):
            pay(case, specialist, supervisor, "100.00")
    # A request rejected or of another purpose is no collection.
    with time_machine.travel(datetime(2025, 10, 2, 9, tzinfo=LOCAL)):
        pay(cases[0], specialist, supervisor, "10.00", purpose="mco_share")
    quarters = reports.federal_share_by_quarter()
    assert [(q.label, q.count, q.total, q.federal, q.state) for q in quarters] == [
        ("FFY 2025 Q4", 1, Decimal("100.00"), Decimal("90.00"), Decimal("10.00")),
        ("FFY 2026 Q1", 1, Decimal("100.00"), Decimal("90.00"), Decimal("10.00")),
        ("FFY 2026 Q2", 1, Decimal("100.00"), Decimal("90.00"), Decimal("10.00")),
    ]
    only_q1 = reports.federal_share_by_quarter(
        date_from=date(2025, 10, 1), date_to=date(2025, 12, 31)
    )
    assert [q.label for q in only_q1] == ["FFY 2026 Q1"]


def test_the_federal_share_page_and_csv(client, case, specialist, supervisor):
    fund(case, specialist, "5000.00", "f")
    pay(case, specialist, supervisor, "5000.00")
    client.force_login(supervisor)
    page = client.get(reverse("ledger:federal-share"))
    assert page.status_code == 200 and page.context["federal"] == Decimal("3900.00")
    rows = csv_rows(client.get(reverse("ledger:federal-share"), {"format": "csv"}))
    assert rows[0] == [
        "quarter",
        "period_start",
        "period_end",
        "disbursements",
        "collections",
        "federal_share",
        "state_share",
        "reversed_collections",
        "reversed_federal_share",
        "reversed_state_share",
    ]
    assert rows[1][4:] == ["5000.00", "3900.00", "1100.00", "0.00", "0.00", "0.00"]


def test_a_reversed_recovery_is_an_adjustment_of_the_quarter_of_its_reversal(
    case, specialist, supervisor
):
    with time_machine.travel(datetime(2025, 9, 15, 12, tzinfo=LOCAL)):
        fund(case, specialist, "5000.00", "rev")
        posted = pay(case, specialist, supervisor, "5000.00")
    with time_machine.travel(datetime(2025, 10, 3, 12, tzinfo=LOCAL)):
        services.reverse_transaction(
            original=posted.transaction, reversed_by=supervisor, reason="Check not cashed"
        )
    q4, q1 = reports.federal_share_by_quarter()
    assert (q4.label, q4.federal, q4.reversed_federal) == ("FFY 2025 Q4", Decimal("3900.00"), 0)
    assert (q1.label, q1.count, q1.federal) == ("FFY 2026 Q1", 0, 0)
    assert (q1.reversed_count, q1.reversed_total, q1.reversed_federal) == (
        1,
        Decimal("5000.00"),
        Decimal("3900.00"),
    )
    assert q1.net_federal == Decimal("-3900.00")


# ---------------------------------------------------------------------------------------------
# Aging of accepted settlements
# ---------------------------------------------------------------------------------------------


def accepted_settlement(specialist, *, days_ago: int, today: date, lien: str = "1000.00"):
    person = factories.member()
    factories.claim_line(person, service_from=date(2025, 3, 1), paid=lien)
    case = factories.open_case(specialist, person)
    from settlements import services as settlement_services

    moment = datetime.combine(today - timedelta(days=days_ago), datetime.min.time(), LOCAL)
    with time_machine.travel(moment.replace(hour=10)):
        settlement = settlement_services.propose_settlement(
            case=case,
            proposed_by=specialist,
            gross_settlement=Decimal("100000.00"),
            formula="full_lien",
        )
    assert settlement.status == "accepted", settlement.status
    return case, settlement


def test_aging_buckets_by_days_since_acceptance_net_of_deposits(specialist, supervisor):
    today = timezone.localdate()
    ages = [0, 30, 31, 60, 61, 90, 91, 400]
    made = {age: accepted_settlement(specialist, days_ago=age, today=today) for age in ages}
    # Part paid: 400 of 1,000 outstanding stays; paid in full: gone; a reversed deposit: no pay.
    fund(made[31][0], specialist, "400.00", "part")
    fund(made[61][0], specialist, "1000.00", "full")
    bounced = fund(made[90][0], specialist, "1000.00", "bounced")
    services.reverse_transaction(original=bounced.transaction, reversed_by=supervisor, reason="x")
    aged = reports.settlement_aging(today)
    buckets = {s.case_id: s.bucket for s in aged}
    assert buckets == {
        made[0][0].pk: "0-30",
        made[30][0].pk: "0-30",
        made[31][0].pk: "31-60",
        made[60][0].pk: "31-60",
        made[90][0].pk: "61-90",
        made[91][0].pk: "91+",
        made[400][0].pk: "91+",
    }
    summary = {row["bucket"]: (row["count"], row["amount"]) for row in reports.aging_summary(aged)}
    assert summary == {
        "0-30": (2, Decimal("2000.00")),
        "31-60": (2, Decimal("1600.00")),
        "61-90": (1, Decimal("1000.00")),
        "91+": (2, Decimal("2000.00")),
    }


def test_the_aging_page_filters_a_bucket(client, specialist, supervisor):
    today = timezone.localdate()
    accepted_settlement(specialist, days_ago=5, today=today)
    accepted_settlement(specialist, days_ago=100, today=today)
    client.force_login(supervisor)
    page = client.get(reverse("ledger:aging"), {"bucket": "91+"})
    assert [row.days for row in page.context["rows"]] == [100]
    rows = csv_rows(client.get(reverse("ledger:aging"), {"format": "csv"}))
    assert [row[3] for row in rows[1:]] == ["91+", "0-30"]


# ---------------------------------------------------------------------------------------------
# CSV formula injection
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "amount", "expected"),
    [
        ('=HYPERLINK("http://x")', False, '\'=HYPERLINK("http://x")'),
        ("+SUM(A1)", False, "'+SUM(A1)"),
        ("-2+3", False, "'-2+3"),
        ("@cmd", False, "'@cmd"),
        ("\t=1", False, "'\t=1"),
        ("Acme Mutual", False, "Acme Mutual"),
        (Decimal("-44.00"), True, "-44.00"),
        ("-44.00", True, "-44.00"),
        ("-44.00", False, "'-44.00"),
        ("-1+1", True, "'-1+1"),
        (None, True, ""),
    ],
)
def test_csv_cells_cannot_run_as_formulas(value, amount, expected):
    assert reports.csv_cell(value, amount=amount) == expected


def test_the_register_csv_neutralises_formulas_but_keeps_amounts(
    client, case, specialist, supervisor
):
    fund(case, specialist, "500.00", "inj")
    pay(case, specialist, supervisor, "10.00", purpose="member_refund", payee="=cmd|' /C calc'!A0")
    services.request_disbursement(
        case=case,
        amount=Decimal("20.00"),
        payee="@SUM(1+1)",
        purpose="mco_share",
        requested_by=specialist,
        note="-2+3",
    )
    client.force_login(supervisor)
    rows = csv_rows(client.get(reverse("ledger:register"), {"format": "csv"}))
    header, *body = rows
    payees = {row[header.index("payee")] for row in body}
    assert payees == {"'=cmd|' /C calc'!A0", "'@SUM(1+1)"}
    assert {row[header.index("note")] for row in body} == {"", "'-2+3"}
    assert {row[header.index("amount")] for row in body} == {"10.00", "20.00"}


def test_negative_amounts_stay_numbers_in_the_trial_balance_csv(
    client, case, specialist, supervisor
):
    fund(case, specialist, "100.00", "tb")
    client.force_login(supervisor)
    rows = csv_rows(client.get(reverse("ledger:trial-balance"), {"format": "csv"}))
    balances = {row[0]: row[5] for row in rows[1:]}
    assert balances["1000"] == "100.00" and balances["2000"] == "-100.00"
    assert rows[-1][:1] == ["total"] and rows[-1][3] == rows[-1][4] == "100.00"


# ---------------------------------------------------------------------------------------------
# General-ledger export
# ---------------------------------------------------------------------------------------------


def test_the_gl_export_lists_each_entry_with_the_mapped_account(
    client, case, specialist, supervisor
):
    services._accounts()  # the chart, recreated if a transactional test flushed it
    Account.objects.filter(code="1000").update(external_code="GL-101000")
    with time_machine.travel(datetime(2026, 1, 5, 12, tzinfo=LOCAL)):
        fund(case, specialist, "5000.00", "gl-1")
    with time_machine.travel(datetime(2026, 1, 6, 12, tzinfo=LOCAL)):
        pay(case, specialist, supervisor, "1000.00")
    with time_machine.travel(datetime(2026, 2, 1, 12, tzinfo=LOCAL)):
        fund(case, specialist, "7.00", "outside")
    client.force_login(supervisor)
    params = {"date_from": "2026-01-01", "date_to": "2026-01-31"}
    rows = csv_rows(client.get(reverse("ledger:gl-export"), {**params, "format": "csv"}))
    header, *body = rows
    assert header == [
        "date",
        "transaction_id",
        "kind",
        "account",
        "debit",
        "credit",
        "case_number",
        "memo",
    ]
    assert len(body) == 5 == Entry.objects.filter(transaction__posted_on__month=1).count()
    assert body[0][:6] == ["2026-01-05", body[0][1], "deposit", "GL-101000", "5000.00", ""]
    assert {row[3] for row in body} == {"GL-101000", "2000", "2100", "4000"}
    assert all(row[6] == case.number for row in body)
    debit = sum(Decimal(row[4]) for row in body if row[4])
    credit = sum(Decimal(row[5]) for row in body if row[5])
    assert debit == credit == Decimal("6000.00")
    page = client.get(reverse("ledger:gl-export"), params)
    summary = page.context["summary"]
    assert (summary["debit"], summary["credit"], summary["entries"], summary["transactions"]) == (
        Decimal("6000.00"),
        Decimal("6000.00"),
        5,
        2,
    )


def test_the_gl_export_refuses_a_backwards_range(client, supervisor):
    client.force_login(supervisor)
    response = client.get(
        reverse("ledger:gl-export"), {"date_from": "2026-02-01", "date_to": "2026-01-01"}
    )
    assert response.status_code == 200 and response.context["summary"] is None
    assert "ends before it starts" in response.content.decode()


# ---------------------------------------------------------------------------------------------
# Pages and admin
# ---------------------------------------------------------------------------------------------


def test_every_report_page_opens_for_auditors_and_not_for_specialists(
    client, case, specialist, supervisor, auditor
):
    fund(case, specialist, "100.00", "p")
    names = ["reports", "trial-balance", "held", "register", "federal-share", "aging", "gl-export"]
    client.force_login(auditor)
    for name in names:
        assert client.get(reverse(f"ledger:{name}")).status_code == 200, name
    client.force_login(specialist)
    for name in names:
        assert client.get(reverse(f"ledger:{name}")).status_code == 403, name


def test_held_balances_agree_with_the_entries(client, case, specialist, supervisor):
    fund(case, specialist, "800.00", "h")
    pay(case, specialist, supervisor, "300.00", purpose="mco_share")
    client.force_login(supervisor)
    page = client.get(reverse("ledger:held"))
    (row,) = page.context["rows"]
    assert row.held == row.ledger_held == Decimal("500.00") and row.agrees


def test_the_admin_edits_gl_codes_and_shows_postings_read_only(
    client, case, specialist, admin_user
):
    deposit = fund(case, specialist, "10.00", "adm")
    client.force_login(admin_user)
    assert client.get(reverse("admin:ledger_account_changelist")).status_code == 200
    cash = Account.objects.get(code="1000")
    change = reverse("admin:ledger_account_change", args=[cash.pk])
    response = client.post(change, {"name": cash.name, "external_code": "GL-1"})
    assert response.status_code == 302
    cash.refresh_from_db()
    assert cash.external_code == "GL-1" and cash.code == "1000"
    txn_url = reverse("admin:ledger_transaction_change", args=[deposit.transaction_id])
    assert client.get(txn_url).status_code == 200
    assert client.post(txn_url, {"memo": "changed"}).status_code == 403
    assert client.get(reverse("admin:ledger_transaction_add")).status_code == 403
    assert client.get(reverse("admin:ledger_entry_add")).status_code == 403
    entry = deposit.transaction.entries.first()
    delete = reverse("admin:ledger_entry_delete", args=[entry.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403


def test_the_register_filters_by_local_request_day(client, case, specialist, supervisor):
    with time_machine.travel(datetime(2026, 1, 10, 12, tzinfo=LOCAL)):
        fund(case, specialist, "500.00", "reg")
    # 23:30 in the agency's zone is already the next day in UTC: it belongs to Jan 10.
    with time_machine.travel(datetime(2026, 1, 10, 23, 30, tzinfo=LOCAL), tick=False):
        late = services.request_disbursement(
            case=case,
            amount=Decimal("10.00"),
            payee="x",
            purpose="mco_share",
            requested_by=specialist,
        )
    with time_machine.travel(datetime(2026, 1, 11, 9, tzinfo=LOCAL), tick=False):
        services.request_disbursement(
            case=case,
            amount=Decimal("20.00"),
            payee="y",
            purpose="mco_share",
            requested_by=specialist,
        )
    client.force_login(supervisor)
    page = client.get(
        reverse("ledger:register"), {"date_from": "2026-01-10", "date_to": "2026-01-10"}
    )
    assert [d.pk for d in page.context["rows"]] == [late.pk]
    assert page.context["totals"]["requested"] == Decimal("10.00")
