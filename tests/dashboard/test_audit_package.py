"""The case audit package: its members as stored, checksums that verify, the history of every
related record, calculations and ledger as stored, the PHI access log, access, and a fixed
number of queries."""

import csv
import hashlib
import io
import json
import zipfile
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases import services as case_services
from cases.models import Document
from liens import letters
from liens import services as lien_services
from recovery.core.models import PhiAccess
from settlements import services as settlement_services
from settlements.models import Settlement
from tests.dashboard import builders
from tests.pdfs import pdf_text

PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _url(case) -> str:
    return f"/dashboard/reports/cases/{case.pk}/audit-package/"


@pytest.fixture
def audited(supervisor, specialist):
    """A case worked end to end: a lien filed and amended, a negotiation and an accepted
    compromise, a deposit and a recovery, a waiver, an uploaded document and a rendered letter."""
    builders.jurisdictions()
    case, firm = builders.case_with_lines(
        specialist, code="FL", lines=[("6000.00", "0.9000"), ("4000.00", "0.6000")]
    )
    lien = builders.file_lien(case, specialist, firm, filed_on=timezone.localdate())
    change = lien_services.request_amendment(
        lien=lien, requested_by=specialist, reason="Late claims", new_amount=Decimal("10400.00")
    )
    builders.approve_change(change, supervisor)
    settlement_services.log_negotiation(
        case=case, logged_by=specialist, kind="offer", amount=Decimal("7000.00"), party=firm
    )
    pending = builders.settle(
        case,
        specialist,
        gross="30000.00",
        fees="10000.00",
        agreed="8000.00",
        compromise_reason="Policy limits",
        justification="Limits exhausted.",
    )
    settlement_services.approve_settlement(settlement=pending, approved_by=supervisor)
    builders.deposit(case, specialist, "8000.00", timezone.localdate(), "pkg-1")
    builders.recover(case, specialist, supervisor, "5000.00")
    waiver = settlement_services.request_adjustment(
        case=case,
        requested_by=specialist,
        kind="waiver",
        amount=Decimal("100.00"),
        reason_code="hardship",
        reason="Hardship",
    )
    settlement_services.decide_adjustment(adjustment=waiver, decided_by=supervisor, approve=True)
    case_services.log_activity(
        case=case, logged_by=specialist, kind="call", subject="=cmd|' /C calc'!A0"
    )
    upload = case_services.upload_document(
        case=case,
        uploaded_by=specialist,
        upload=SimpleUploadedFile("police report of Alex Sample.pdf", PDF_BYTES),
        kind="police_report",
        title="Police report",
    )
    letter = letters.request_letter(
        case=case, kind="lien_notice", recipient=firm, requested_by=specialist
    )
    letter = letters.render_document(letter)
    assert letter.status == Document.Status.READY
    case.refresh_from_db()
    return {"case": case, "firm": firm, "upload": upload, "letter": letter, "lien": lien}


def _download(client, case):
    response = client.get(_url(case))
    assert response.status_code == 200, response.content[:300]
    assert response.streaming and response["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def _csv(archive, name) -> list[dict]:
    return list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8"))))


def test_package_members_and_manifest_checksums_verify(audited, client, auditor):
    client.force_login(auditor)
    archive = _download(client, audited["case"])
    assert archive.testzip() is None
    names = archive.namelist()
    upload, letter = audited["upload"], audited["letter"]
    settlement = Settlement.objects.get(case=audited["case"], status="accepted")
    for expected in (
        "history/history.pdf",
        "history/history.csv",
        f"calculations/settlement-{settlement.pk:06d}.json",
        "calculations/steps.csv",
        "ledger/entries.csv",
        "ledger/deposits.csv",
        "ledger/disbursements.csv",
        "documents/index.csv",
        f"documents/{upload.pk:06d}-police_report.pdf",
        f"documents/{letter.pk:06d}-lien_notice.pdf",
        "manifest.csv",
        "manifest.json",
    ):
        assert expected in names
    # The uploaded name (which may hold PHI) is never used.
    assert not any("Alex" in name for name in names)

    manifest = json.loads(archive.read("manifest.json"))
    listed = {row["path"]: row for row in manifest["files"]}
    assert set(listed) == set(names) - {"manifest.csv", "manifest.json"}
    for path, row in listed.items():
        content = archive.read(path)
        assert row["sha256"] == hashlib.sha256(content).hexdigest(), path
        assert row["bytes"] == len(content)
    # Documents are exactly as stored, and match the checksum recorded when they were stored.
    for document in (upload, letter):
        path = f"documents/{document.pk:06d}-{document.kind}.pdf"
        with document.file.open("rb") as handle:
            assert archive.read(path) == handle.read()
        assert listed[path]["stored_sha256"] == document.sha256
        assert listed[path]["stored_sha256_matches"] == "yes"
    assert archive.read(f"documents/{upload.pk:06d}-police_report.pdf") == PDF_BYTES
    csv_rows = {row["path"]: row for row in _csv(archive, "manifest.csv")}
    assert csv_rows.keys() == listed.keys()
    assert all(csv_rows[p]["sha256"] == listed[p]["sha256"] for p in listed)

    assert manifest["generator"].startswith("Recovery case audit package")
    assert manifest["generated_by"]["username"] == "auditor"
    assert manifest["case"]["number"] == audited["case"].number
    generated = manifest["generated_at"]
    assert generated[:10] == timezone.localdate().isoformat()
    index = {row["document_id"]: row for row in _csv(archive, "documents/index.csv")}
    # The final-demand letter from the acceptance never rendered in this test: listed, not filed.
    assert any(row["status"] == "pending" and not row["file_in_package"] for row in index.values())
    assert index[str(upload.pk)]["stored_sha256"] == upload.sha256


def test_history_covers_every_related_record(audited, client, supervisor, tmp_path):
    client.force_login(supervisor)
    archive = _download(client, audited["case"])
    rows = _csv(archive, "history/history.csv")
    kinds = {row["record"] for row in rows}
    for kind in (
        "Case",
        "Member",
        "Party",
        "Claim line",
        "Lien",
        "Lien change",
        "Settlement",
        "Negotiation",
        "Balance adjustment",
        "Activity",
        "Task",
        "Document",
        "Deposit",
        "Disbursement",
        "Ledger transaction",
        "Assignment",
    ):
        assert kind in kinds, kind
    amended = [
        r
        for r in rows
        if r["record"] == "Lien" and r["action"] == "Changed" and r["field"] == "Amount"
    ]
    assert [(r["old_value"], r["new_value"]) for r in amended] == [("10000.00", "10400.00")]
    approvals = [
        r
        for r in rows
        if r["record"] == "Lien change" and r["field"] == "Status" and r["new_value"] == "Approved"
    ]
    assert approvals and approvals[0]["old_value"] == "Awaiting approval"
    # Every row says who and when; the program id is masked; times are in order.
    assert all(row["user"] and row["at"] for row in rows)
    program_ids = [
        r["new_value"] for r in rows if r["record"] == "Member" and r["field"] == "Program id"
    ]
    assert program_ids and all(value.startswith("•••") for value in program_ids)
    assert [r["at"] for r in rows] == sorted(r["at"] for r in rows)
    # A formula typed into a subject is neutralised in the CSV.
    subjects = [
        r["new_value"] for r in rows if r["record"] == "Activity" and r["field"] == "Subject"
    ]
    assert "'=cmd|' /C calc'!A0" in subjects
    transactions = [r for r in rows if r["record"] == "Ledger transaction"]
    assert any(
        r["field"].startswith("Debit 1000") and r["new_value"] == "8000.00" for r in transactions
    )

    text = pdf_text(archive.read("history/history.pdf"), tmp_path)
    assert "CASE HISTORY" in text and audited["case"].number in text
    assert "Lien change" in text and "Specialist Example" in text and "Supervisor Example" in text
    assert "10,400" in text or "10400.00" in text
    assert "Third Party Liability Unit" in text and "Page 1 of" in text


def test_calculations_and_ledger_as_stored(audited, client, supervisor):
    client.force_login(supervisor)
    archive = _download(client, audited["case"])
    settlement = Settlement.objects.get(case=audited["case"], status="accepted")
    stored = json.loads(archive.read(f"calculations/settlement-{settlement.pk:06d}.json"))
    assert stored["calculation"] == settlement.calculation
    assert stored["agreed_recovery"] == "8000.00" and stored["formula"] == "full_lien"
    assert stored["decided_by"] == "supervisor"
    steps = _csv(archive, "calculations/steps.csv")
    assert len(steps) == len(settlement.calculation["steps"]) and steps[0]["settlement_id"] == str(
        settlement.pk
    )
    entries = _csv(archive, "ledger/entries.csv")
    debits = sum(Decimal(e["debit"]) for e in entries if e["debit"])
    credits = sum(Decimal(e["credit"]) for e in entries if e["credit"])
    assert debits == credits == Decimal("13000.00")  # the $8,000 deposit and the $5,000 recovery
    federal = [e for e in entries if e["account"] == "2100"]
    assert [e["credit"] for e in federal] == ["3900.00"]
    deposits = _csv(archive, "ledger/deposits.csv")
    assert [d["amount"] for d in deposits] == ["8000.00"]
    disbursements = _csv(archive, "ledger/disbursements.csv")
    assert [(d["amount"], d["federal_share"], d["decided_by"]) for d in disbursements] == [
        ("5000.00", "3900.00", "supervisor")
    ]


def test_download_is_in_the_phi_access_log(audited, client, specialist):
    client.force_login(specialist)
    before = PhiAccess.objects.count()
    _download(client, audited["case"])
    row = PhiAccess.objects.latest("id")
    assert PhiAccess.objects.count() == before + 1
    assert row.user == specialist and row.action == PhiAccess.Action.EXPORT
    assert row.case_id == audited["case"].pk and row.subject_id == audited["case"].member_id
    assert row.detail == "case audit package" and row.path == _url(audited["case"])


def test_package_is_reproducible_from_stored_data(audited, client, supervisor, auditor):
    client.force_login(supervisor)
    first = _download(client, audited["case"])
    client.force_login(auditor)
    second = _download(client, audited["case"])
    assert first.namelist() == second.namelist()
    for name in first.namelist():
        if name != "manifest.json":
            assert first.read(name) == second.read(name), name
    assert json.loads(first.read("manifest.json"))["generated_by"]["username"] == "supervisor"


def test_a_changed_or_missing_file_is_flagged(audited, client, supervisor):
    upload, letter = audited["upload"], audited["letter"]
    with open(upload.file.path, "ab") as handle:
        handle.write(b"tampered")
    letter.file.storage.delete(letter.file.name)
    client.force_login(supervisor)
    archive = _download(client, audited["case"])
    manifest = json.loads(archive.read("manifest.json"))
    listed = {row["path"]: row for row in manifest["files"]}
    assert listed[f"documents/{upload.pk:06d}-police_report.pdf"]["stored_sha256_matches"] == "no"
    assert manifest["missing_from_storage"] == [f"documents/{letter.pk:06d}-lien_notice.pdf"]
    assert f"documents/{letter.pk:06d}-lien_notice.pdf" not in archive.namelist()


def test_who_may_download(audited, client, auditor, admin_user, specialist2, attorney):
    case = audited["case"]
    assert client.get(_url(case)).status_code == 302  # to the login page
    for user in (auditor, admin_user):
        client.force_login(user)
        assert client.get(_url(case)).status_code == 200
    client.force_login(specialist2)  # another team: the case does not exist for them
    assert client.get(_url(case)).status_code == 404
    client.force_login(attorney)
    assert client.get(_url(case)).status_code == 403
    client.force_login(auditor)
    assert client.get("/dashboard/reports/cases/999999/audit-package/").status_code == 404
    assert PhiAccess.objects.filter(detail="case audit package", user=specialist2).count() == 0


def test_history_tab_links_to_the_package(audited, client, specialist):
    client.force_login(specialist)
    html = client.get(f"/cases/{audited['case'].pk}/history/").content.decode()
    assert _url(audited["case"]) in html


def _count(client, case) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(_url(case))
        b"".join(response.streaming_content)
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_the_case(
    audited, client, supervisor, specialist, django_assert_max_num_queries
):
    case, firm = audited["case"], audited["firm"]
    client.force_login(supervisor)
    small = _count(client, case)
    for n in range(8):
        case_services.log_activity(
            case=case, logged_by=specialist, kind="call", subject=f"Call {n}"
        )
        settlement_services.log_negotiation(
            case=case, logged_by=specialist, kind="offer", amount=Decimal(100 + n), party=firm
        )
        builders.deposit(
            case, specialist, "10.00", timezone.localdate() - timedelta(days=n), f"more-{n}"
        )
        case_services.upload_document(
            case=case,
            uploaded_by=specialist,
            upload=SimpleUploadedFile(f"scan{n}.pdf", PDF_BYTES + bytes([n])),
        )
    builders.recover(case, specialist, supervisor, "50.00")
    assert _count(client, case) == small
    with django_assert_max_num_queries(45):
        b"".join(client.get(_url(case)).streaming_content)
