"""Bank reconciliation: statement import, matching rules, refusals, the month-end close."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from ledger import reconciliation, services
from ledger.models import BankLine, BankStatement
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(specialist):
    return factories.open_case(specialist)


@pytest.fixture
def day():
    return timezone.localdate() - timedelta(days=5)


def deposit(case, user, amount, reference, received_on, key=None):
    return services.post_deposit(
        case=case,
        amount=Decimal(amount),
        received_on=received_on,
        payer="Acme Mutual",
        instrument="check",
        reference=reference,
        idempotency_key=key or f"k-{reference}-{amount}",
        recorded_by=user,
    )[0]


def csv_bytes(*rows: str, header: str = "date,amount,reference,description") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def lines_by_number(statement) -> dict[int, BankLine]:
    return {line.line_number: line for line in statement.lines.select_related("deposit")}


def test_lines_match_by_reference_by_amount_and_date_or_show_a_variance(
    case, specialist, supervisor, day
):
    exact = deposit(case, specialist, "500.00", "1001", day)
    ach = deposit(case, specialist, "250.00", "EFT-778", day)
    short = deposit(case, specialist, "1200.00", "555", day)
    no_ref = deposit(case, specialist, "80.00", "A1", day)
    missing = deposit(case, specialist, "900.00", "NOT-BANKED", day)
    content = csv_bytes(
        f"{day.isoformat()},500.00,CHK 001001,Check deposit",
        f'{(day + timedelta(days=1)):%m/%d/%Y},"$250.00",eft 778,ACH credit',
        f"{day.isoformat()},1150.00,555,Check deposit",
        f"{(day + timedelta(days=2)).isoformat()},80.00,,Counter deposit",
        f"{day.isoformat()},42.00,ZZZ,Unknown credit",
        f"{day.isoformat()},(15.00),,Bank fee",
    )
    statement = reconciliation.import_statement(
        filename="march.csv", content=content, imported_by=supervisor
    )
    lines = lines_by_number(statement)
    assert (lines[2].match, lines[2].deposit) == ("matched", exact)
    assert (lines[3].match, lines[3].deposit) == ("matched", ach)
    assert (lines[4].match, lines[4].deposit) == ("variance", short)
    assert lines[4].variance == Decimal("-50.00")
    assert (lines[5].match, lines[5].deposit) == ("matched", no_ref)
    assert (lines[6].match, lines[6].deposit) == ("unmatched", None)
    assert (lines[7].match, lines[7].amount) == ("ignored", Decimal("-15.00"))
    assert list(reconciliation.deposits_not_on_statement(statement)) == [missing]
    assert (statement.period_start, statement.period_end) == (day, day + timedelta(days=2))


def test_an_ambiguous_amount_and_date_match_is_left_unmatched(case, specialist, supervisor, day):
    deposit(case, specialist, "60.00", "X1", day)
    deposit(case, specialist, "60.00", "X2", day + timedelta(days=1))
    statement = reconciliation.import_statement(
        filename="a.csv",
        content=csv_bytes(f"{day.isoformat()},60.00,,Deposit"),
        imported_by=supervisor,
    )
    assert statement.lines.get().match == "unmatched"


def test_amount_and_date_match_only_within_three_days(case, specialist, supervisor, day):
    early = day - timedelta(days=10)
    deposit(case, specialist, "70.00", "Y1", early)
    statement = reconciliation.import_statement(
        filename="b.csv",
        content=csv_bytes(f"{(early + timedelta(days=4)).isoformat()},70.00,,Deposit"),
        imported_by=supervisor,
    )
    assert statement.lines.get().match == "unmatched"


def test_reversed_or_already_matched_deposits_are_not_matched_again(
    case, specialist, supervisor, day
):
    bounced = deposit(case, specialist, "300.00", "777", day)
    services.reverse_transaction(
        original=bounced.transaction, reversed_by=supervisor, reason="Bounced"
    )
    kept = deposit(case, specialist, "40.00", "888", day)
    first = reconciliation.import_statement(
        filename="one.csv",
        content=csv_bytes(f"{day.isoformat()},300.00,777,x", f"{day.isoformat()},40.00,888,y"),
        imported_by=supervisor,
    )
    assert [line.match for line in first.lines.order_by("line_number")] == [
        "unmatched",
        "matched",
    ]
    second = reconciliation.import_statement(
        filename="two.csv",
        content=csv_bytes(f"{day.isoformat()},40.00,888,again"),
        imported_by=supervisor,
    )
    assert second.lines.get().match == "unmatched"
    assert kept.bank_line.statement == first


def test_the_same_file_is_refused_the_second_time(supervisor, day):
    content = csv_bytes(f"{day.isoformat()},10.00,1,x")
    reconciliation.import_statement(filename="s.csv", content=content, imported_by=supervisor)
    with pytest.raises(ValidationError) as error:
        reconciliation.import_statement(
            filename="copy.csv", content=content, imported_by=supervisor
        )
    assert "already imported" in str(error.value)
    assert BankStatement.objects.count() == 1


def test_bad_rows_refuse_the_file_and_are_reported_with_line_numbers(supervisor, day):
    content = csv_bytes(
        f"{day.isoformat()},10.00,1,fine",
        "31/02/2026,10.00,2,bad date",
        f"{day.isoformat()},12,34.5x,3,bad amount",
        f"{day.isoformat()},ten dollars,4,bad amount",
        f"{day.isoformat()},5.00",
    )
    with pytest.raises(ValidationError) as error:
        reconciliation.import_statement(filename="bad.csv", content=content, imported_by=supervisor)
    messages = error.value.message_dict["file"]
    assert messages[0].startswith("Line 3:") and "not a date" in messages[0]
    assert any(m.startswith("Line 5:") and "not an amount" in m for m in messages)
    assert any(m.startswith("Line 6:") for m in messages)
    assert not BankStatement.objects.exists() and not BankLine.objects.exists()


def test_a_file_without_the_named_columns_or_not_text_is_refused(supervisor):
    with pytest.raises(ValidationError, match="missing: reference"):
        reconciliation.import_statement(
            filename="x.csv",
            content=b"date,amount,description\n2026-01-01,1.00,x\n",
            imported_by=supervisor,
        )
    with pytest.raises(ValidationError, match="not a text file"):
        reconciliation.import_statement(
            filename="x.csv", content=b"%PDF-1.4\x00\x01", imported_by=supervisor
        )
    with pytest.raises(ValidationError, match=".csv"):
        reconciliation.import_statement(filename="x.xlsx", content=b"a", imported_by=supervisor)


def test_only_supervisors_import_statements(specialist, auditor):
    for user in (specialist, auditor):
        with pytest.raises(PermissionDenied):
            reconciliation.import_statement(
                filename="s.csv", content=csv_bytes("2026-01-01,1.00,1,x"), imported_by=user
            )


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("1234.56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("$1,234.5", "1234.50"),
        ("-50.00", "-50.00"),
        ("(50.00)", "-50.00"),
        ("7", "7.00"),
    ],
)
def test_amounts_parse_without_floats(text, amount):
    assert reconciliation.parse_amount(text) == Decimal(amount)


@pytest.mark.parametrize("text", ["", "1.2.3", "12,34.5x", "1e5", "abc", "1.234"])
def test_bad_amounts_are_refused(text):
    with pytest.raises(ValueError):
        reconciliation.parse_amount(text)


def test_references_are_normalized_for_matching():
    assert reconciliation.normalize_reference("CHK #001001") == "1001"
    assert reconciliation.normalize_reference("1001") == "1001"
    assert reconciliation.normalize_reference("eft-778") == "778"
    assert reconciliation.normalize_reference("  ") == ""


# ---------------------------------------------------------------------------------------------
# Screens
# ---------------------------------------------------------------------------------------------


def test_a_supervisor_uploads_a_statement_and_sees_the_result(
    client, case, specialist, supervisor, day
):
    deposit(case, specialist, "500.00", "1001", day)
    client.force_login(supervisor)
    upload = SimpleUploadedFile(
        "bank.csv", csv_bytes(f"{day.isoformat()},500.00,1001,x", f"{day.isoformat()},9.99,Q,y")
    )
    response = client.post(reverse("ledger:reconciliation"), {"file": upload})
    statement = BankStatement.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("ledger:statement", args=[statement.pk])
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert len(page.context["matched"]) == 1 and len(page.context["unmatched"]) == 1
    again = client.post(
        reverse("ledger:reconciliation"),
        {
            "file": SimpleUploadedFile(
                "bank.csv",
                csv_bytes(f"{day.isoformat()},500.00,1001,x", f"{day.isoformat()},9.99,Q,y"),
            )
        },
    )
    assert again.status_code == 400 and "already imported" in again.content.decode()


def test_a_bad_upload_lists_the_lines_on_the_page(client, supervisor):
    client.force_login(supervisor)
    upload = SimpleUploadedFile("bank.csv", csv_bytes("2026-13-01,1.00,1,x"))
    response = client.post(reverse("ledger:reconciliation"), {"file": upload})
    assert response.status_code == 400 and "Line 2:" in response.content.decode()


def test_auditors_read_reconciliation_but_do_not_import(client, auditor, specialist):
    client.force_login(auditor)
    assert client.get(reverse("ledger:reconciliation")).status_code == 200
    upload = SimpleUploadedFile("bank.csv", csv_bytes("2026-01-01,1.00,1,x"))
    assert client.post(reverse("ledger:reconciliation"), {"file": upload}).status_code == 403
    client.force_login(specialist)
    assert client.get(reverse("ledger:reconciliation")).status_code == 403


def test_the_month_end_close_compares_postings_with_the_bank(client, case, specialist, supervisor):
    today = timezone.localdate()
    deposit(case, specialist, "500.00", "1001", today)
    deposit(case, specialist, "100.00", "1002", today)
    reconciliation.import_statement(
        filename="m.csv",
        content=csv_bytes(
            f"{today.isoformat()},500.00,1001,x", f"{today.isoformat()},20.00,ZZ,=cmd()"
        ),
        imported_by=supervisor,
    )
    report = reconciliation.month_end(today)
    assert (report.posted_total, report.bank_total) == (Decimal("600.00"), Decimal("520.00"))
    assert report.difference == Decimal("-80.00") and not report.reconciled
    assert [line.reference for line in report.unmatched_lines] == ["ZZ"]
    assert [d.reference for d in report.unreconciled_deposits] == ["1002"]
    client.force_login(supervisor)
    page = client.get(reverse("ledger:month-end"), {"month": f"{today:%Y-%m}"})
    assert page.status_code == 200 and page.context["report"].bank_total == Decimal("520.00")
    response = client.get(reverse("ledger:month-end"), {"month": f"{today:%Y-%m}", "format": "csv"})
    csv_text = b"".join(response.streaming_content).decode()
    assert "difference (bank - posted),,-80.00" in csv_text
    assert "'=cmd()" in csv_text
