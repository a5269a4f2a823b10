"""The claims import: CSV and X12 files become screened, merged, routed claim lines."""

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.urls import reverse

from cases import imports
from cases.imports import create_batch, run_import, start_import
from cases.models import CaseClaim, ClaimLine, ImportBatch, ImportReject, Lead, Member
from cases.tasks import import_claims
from recovery.core.audit import acting_as
from recovery.core.models import Notification, PhiAccess
from recovery.crypto import decrypt, keyed_hash
from tests import factories

pytestmark = pytest.mark.django_db

X12 = Path(__file__).resolve().parent.parent / "fixtures" / "x12"
HEADER = [
    "claim_number", "line_number", "member_id", "member_last_name", "member_first_name",
    "member_dob", "provider_npi", "provider_name", "service_from", "service_to",
    "procedure_code", "modifiers", "diagnosis_codes", "code_set", "billed_amount",
    "allowed_amount", "paid_amount", "paid_date", "accident_indicator", "accident_state",
    "accident_date", "occurrence_codes", "value_codes", "fmap_rate",
]  # fmt: skip


def line(**values) -> dict:
    row = {
        "claim_number": "C1001",
        "line_number": "1",
        "member_id": "M100000001",
        "member_last_name": "Rivera",
        "member_first_name": "Ana",
        "member_dob": "1984-02-29",
        "provider_npi": "1234567893",
        "provider_name": "Mercy General Hospital",
        "service_from": "2025-03-02",
        "service_to": "2025-03-02",
        "procedure_code": "99285",
        "modifiers": "",
        "diagnosis_codes": "S72.001A",
        "code_set": "ICD10",
        "billed_amount": "2450.00",
        "allowed_amount": "1800.00",
        "paid_amount": "1612.40",
        "paid_date": "2025-04-01",
        "accident_indicator": "",
        "accident_state": "",
        "accident_date": "",
        "occurrence_codes": "",
        "value_codes": "",
        "fmap_rate": "0.6500",
    }
    row.update(values)
    return row


def claims_csv(*rows, header=HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(name, "") for name in header] if isinstance(row, dict) else row)
    return out.getvalue().encode()


def load(content: bytes, user=None, filename="claims.csv") -> ImportBatch:
    batch = create_batch(uploaded_by=user, filename=filename, content=content)
    if user is None:
        return run_import(batch_id=batch.pk)
    with acting_as(user):
        return run_import(batch_id=batch.pk)


def rejects(batch: ImportBatch) -> dict[int, str]:
    return dict(batch.rejects.values_list("line", "reason"))


def counts(batch: ImportBatch) -> tuple:
    return (batch.inserted, batch.updated, batch.unchanged, batch.rejected)


@pytest.fixture(params=["copy", "orm"])
def load_path(request, monkeypatch):
    """Run a test through the PostgreSQL COPY path and through the portable ORM path (the one
    SQLite uses): both must give the same results."""
    if request.param == "orm":
        monkeypatch.setattr(imports, "_bulk_sql", lambda: False)
    return request.param


@pytest.fixture(autouse=True)
def _florida(db):
    factories.jurisdiction("FL")


# ---------------------------------------------------------------------------------------------
# CSV: good rows, bad rows, bad files
# ---------------------------------------------------------------------------------------------


def test_a_good_csv_loads_every_line_with_exact_amounts_and_encrypted_new_members(
    specialist, load_path
):
    known = factories.member(program_id="M200000002", last="Chen", first="Wei")
    batch = load(
        claims_csv(
            line(diagnosis_codes="S72.001A V43.52XA", accident_indicator="AA", accident_state="ga"),
            line(
                line_number="2", procedure_code="73560", paid_amount="198.75", billed_amount="310"
            ),
            line(
                claim_number="C1002",
                member_id="M200000002",
                member_last_name="",
                member_first_name="",
                member_dob="",
                diagnosis_codes="I10|E11.9",
                code_set="",
                service_from="03/05/2025",
                service_to="",
                allowed_amount="",
                paid_amount="85.10",
                fmap_rate="",
            ),
        ),
        user=specialist,
    )

    assert batch.status == ImportBatch.Status.DONE, batch.message
    assert counts(batch) == (3, 0, 0, 0)
    assert (batch.total_rows, batch.processed_rows, batch.hits) == (3, 3, 2)
    first = ClaimLine.objects.get(claim_number="C1001", line_number=1)
    assert first.paid_amount == Decimal("1612.40") and first.billed_amount == Decimal("2450.00")
    assert first.allowed_amount == Decimal("1800.00") and first.fmap_rate == Decimal("0.6500")
    assert first.diagnosis_codes == "S72001A V4352XA" and first.accident_state == "GA"
    assert (first.screening_decision, first.opens_case) == ("include", True)
    assert first.source == "csv" and first.batch_id == batch.pk
    assert ClaimLine.objects.get(claim_number="C1001", line_number=2).paid_amount == Decimal(
        "198.75"
    )
    other = ClaimLine.objects.get(claim_number="C1002")
    assert other.member == known and other.service_from == date(2025, 3, 5)
    assert other.allowed_amount is None and other.fmap_rate is None and other.service_to is None
    assert other.screening_decision == "no_hit" and other.diagnosis_codes == "I10 E119"

    new = Member.objects.get(program_id_hash=keyed_hash("M100000001"))
    assert (new.last_name, new.first_name, new.dob) == ("Rivera", "Ana", date(1984, 2, 29))
    assert new.program_id == "M100000001"
    with connection.cursor() as cursor:
        cursor.execute("SELECT program_id, date_of_birth FROM cases_member WHERE id = %s", [new.pk])
        stored_id, stored_dob = cursor.fetchone()
    assert "M100000001" not in stored_id and decrypt(stored_id) == "M100000001"
    assert decrypt(stored_dob) == "1984-02-29"
    assert new.history.get().history_user == specialist
    assert Member.objects.count() == 2


def test_bad_rows_are_rejected_with_their_line_and_column_while_good_rows_load():
    good = line()
    batch = load(
        claims_csv(
            good,  # line 2
            line(claim_number="C2", paid_amount="1e5"),  # 3
            line(claim_number="C3", paid_amount="-5.00"),  # 4
            line(claim_number="C4", billed_amount="12.345"),  # 5
            line(claim_number="C5", service_from="2025-02-30"),  # 6
            line(claim_number="C6", provider_npi="12345"),  # 7
            ["C7", "1", "M1"],  # 8: too few fields
            line(claim_number="C8", fmap_rate="1.5"),  # 9
            good,  # 10: the same claim line again
            line(claim_number="C9", member_id="M999", member_last_name=""),  # 11
            line(claim_number="C10", diagnosis_codes="S72.0?1A"),  # 12
            line(claim_number="", line_number="x", paid_amount="abc"),  # 13: several problems
            line(claim_number="C11", service_to="2025-03-01"),  # 14: before service_from
            line(claim_number="C12", accident_indicator="ZZ"),  # 15
        )
    )

    assert batch.status == ImportBatch.Status.DONE
    assert counts(batch) == (1, 0, 0, 13)
    found = rejects(batch)
    assert sorted(found) == list(range(3, 16))
    assert found[3] == "paid_amount: '1e5' is not an amount (write it like 1234.56)"
    assert found[4] == "paid_amount: '-5.00' is negative"
    assert found[5] == "billed_amount: '12.345' has more than 2 decimals"
    assert found[6].startswith("service_from: '2025-02-30' is not a date")
    assert found[7] == "provider_npi: '12345' is not 10 digits"
    assert found[8] == "the row has 3 fields, the header has 24"
    assert found[9].startswith("fmap_rate: '1.5' is not a rate from 0 to 1")
    assert found[10] == "claim C1001 line 1 is already on line 2 of this file; the repeat is not loaded"  # fmt: skip
    assert found[11].startswith("member_last_name: empty, and the member is not on file yet")
    assert found[12].startswith("diagnosis_codes: 'S720?1A' is not an ICD diagnosis code")
    assert "claim_number: empty" in found[13] and "line_number: 'x'" in found[13]
    assert "paid_amount: 'abc' is not an amount" in found[13]
    assert found[14] == "service_to: 2025-03-01 is before service_from 2025-03-02"
    assert found[15] == "accident_indicator: 'ZZ' is not one of AA, AB, AP, EM, OA"
    assert ClaimLine.objects.get().claim_number == "C1001"
    assert not Member.objects.filter(program_id_hash=keyed_hash("M999")).exists()


def test_a_semicolon_separated_latin1_file_is_read_with_warnings():
    content = claims_csv(line(member_last_name="Muñoz")).decode().replace(",", ";")
    batch = load(("\n" + content).encode("latin-1"))

    assert batch.status == ImportBatch.Status.DONE and batch.inserted == 1, batch.message
    assert Member.objects.get().last_name == "Muñoz"
    assert any("Latin-1" in warning for warning in batch.warnings)
    assert any("';'" in warning for warning in batch.warnings)


def test_a_file_with_missing_or_unknown_columns_is_rejected_as_a_whole():
    header = [name for name in HEADER if name not in ("paid_amount", "service_from")] + ["paid"]
    batch = load(claims_csv({"claim_number": "C1"}, header=header))

    assert batch.status == ImportBatch.Status.FAILED
    assert "missing required columns: service_from, paid_amount" in batch.message
    assert "unknown columns: 'paid'" in batch.message
    assert ClaimLine.objects.count() == 0 and batch.rejects.count() == 0


def test_a_file_that_is_neither_csv_nor_x12_is_refused_when_uploaded(specialist):
    with pytest.raises(ValidationError) as error:
        create_batch(uploaded_by=specialist, filename="scan.pdf", content=b"%PDF-1.7\x00\x01\x02")
    assert "file" in error.value.message_dict
    with pytest.raises(ValidationError):
        create_batch(uploaded_by=specialist, filename="empty.csv", content=b"")
    assert ImportBatch.objects.count() == 0


def test_an_auditor_cannot_create_a_batch(auditor):
    with pytest.raises(PermissionDenied):
        create_batch(uploaded_by=auditor, filename="x.csv", content=claims_csv(line()))


def test_the_file_is_stored_under_its_checksum_never_its_name(settings, specialist):
    batch = create_batch(uploaded_by=specialist, filename="../../etc/Smith John.csv", content=claims_csv(line()))  # fmt: skip
    assert batch.stored_path == f"imports/{batch.sha256}.csv"
    assert (Path(settings.MEDIA_ROOT) / batch.stored_path).read_bytes() == claims_csv(line())
    assert batch.filename == "Smith John.csv" and batch.format == "csv"
    assert batch.size == len(claims_csv(line()))


def test_importing_the_same_file_twice_adds_and_changes_nothing(load_path):
    content = claims_csv(line(), line(line_number="2"), line(claim_number="C2", member_id="M3"))
    first = load(content)
    again = load(content)

    assert counts(first) == (3, 0, 0, 0)
    assert counts(again) == (0, 0, 3, 0) and again.hits == 0
    assert ClaimLine.objects.count() == 3
    assert set(ClaimLine.objects.values_list("batch_id", flat=True)) == {first.pk}
    assert Lead.objects.count() == 2 and Member.objects.count() == 2


def test_a_file_mixing_new_and_known_lines_inserts_the_new_and_merges_the_known(monkeypatch):
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)  # the known line sits in the second chunk
    load(claims_csv(line(claim_number="C2")))
    batch = load(
        claims_csv(
            line(claim_number="C1"),
            line(claim_number="C0"),
            line(claim_number="C3"),
            line(claim_number="C2", paid_amount="7.00"),
            line(claim_number="C4"),
        )
    )
    assert counts(batch) == (4, 1, 0, 0) and batch.hits == 5
    assert ClaimLine.objects.get(claim_number="C2").paid_amount == Decimal("7.00")
    assert ClaimLine.objects.count() == 5


# ---------------------------------------------------------------------------------------------
# Merging a remittance with a claim
# ---------------------------------------------------------------------------------------------


def test_payments_and_diagnoses_from_different_files_merge_onto_one_line(load_path):
    claim = load(
        claims_csv(
            line(accident_indicator="AA", paid_amount="", allowed_amount="", paid_date=""),
            line(line_number="2", diagnosis_codes="I10", paid_amount="", paid_date=""),
        )
    )
    remittance = load(
        claims_csv(
            line(diagnosis_codes="", code_set="", paid_amount="900.00", paid_date="2025-05-01"),
            line(line_number="2", diagnosis_codes="", code_set="", paid_amount="0.00"),
        )
    )

    assert counts(claim) == (2, 0, 0, 0) and counts(remittance) == (0, 2, 0, 0)
    merged = ClaimLine.objects.get(line_number=1)
    assert merged.paid_amount == Decimal("900.00") and merged.paid_date == date(2025, 5, 1)
    assert merged.diagnosis_codes == "S72001A" and merged.accident_indicator == "AA"
    assert merged.allowed_amount == Decimal("1800.00")  # the remittance's
    assert (merged.screening_decision, merged.opens_case) == ("include", True)
    assert merged.batch_id == remittance.pk and merged.source == "csv"
    assert ClaimLine.objects.get(line_number=2).paid_amount == Decimal("0.00")

    # A corrected claim without payment data keeps the payment it does not carry.
    corrected = load(claims_csv(line(diagnosis_codes="S72.002A", paid_amount="", paid_date="")))
    assert counts(corrected) == (0, 1, 0, 0)
    merged.refresh_from_db()
    assert merged.diagnosis_codes == "S72002A" and merged.paid_amount == Decimal("900.00")


def test_a_line_screened_from_file_and_stored_signals_is_screened_again(load_path):
    load(claims_csv(line(diagnosis_codes="I10", accident_indicator="AA")))
    batch = load(claims_csv(line(diagnosis_codes="J06.9", accident_indicator="")))

    merged = ClaimLine.objects.get()
    assert counts(batch) == (0, 1, 0, 0)
    assert (merged.diagnosis_codes, merged.accident_indicator) == ("J069", "AA")
    # The file alone says "no hit"; with the stored accident indicator the line is a hit.
    assert (merged.screening_decision, merged.screening_rule) == ("include", "accident_indicator")
    assert batch.hits == 1


def _x12(name: str) -> bytes:
    return (X12 / name).read_bytes()


def test_an_835_then_an_837_for_the_same_claim_fill_one_line_each_with_its_part():
    # The public samples share no claim: this remittance is the sample's, re-addressed to the
    # auto-accident claim 900000032 of member B99977791G.
    remittance = (
        _x12("cob-contractural-adjustment.835")
        .replace(b"CLP*0001000055", b"CLP*900000032")
        .replace(b"MI*987654321", b"MI*B99977791G")
        .replace(b"20050202", b"20051031")
    )
    paid = load(remittance, filename="era.835")
    claim = load(_x12("demo.autoaccident.837"), filename="claim.837")

    assert paid.format == "835" and counts(paid) == (1, 0, 0, 0)
    assert claim.format == "837" and counts(claim) == (1, 1, 0, 0)
    first = ClaimLine.objects.get(claim_number="900000032", line_number=1)
    assert first.paid_amount == Decimal("34.00") and first.allowed_amount == Decimal("550.00")
    assert first.payer_claim_number == "50650619501" and first.paid_date == date(2005, 3, 18)
    assert first.diagnosis_codes == "8540" and first.code_set == "ICD9"
    assert (first.accident_indicator, first.accident_state) == ("AA", "CA")
    assert first.accident_date == date(2005, 10, 31) and first.source == "837"
    assert first.screening_decision == "include"
    second = ClaimLine.objects.get(claim_number="900000032", line_number=2)
    assert second.paid_amount == Decimal("0.00") and second.payer_claim_number == ""
    assert Member.objects.get().program_id == "B99977791G"


@pytest.mark.parametrize(
    ("name", "file_format", "inserted", "rejected", "hits"),
    [
        ("cob-contractural-adjustment.835", "835", 1, 0, 0),
        ("managed-care.835", "835", 2, 0, 0),
        ("medicare-part-a.835", "835", 2, 0, 0),
        ("secondary-payment.835", "835", 3, 0, 0),
        ("tertiary-payment.835", "835", 0, 1, 0),
        ("demo.autoaccident.837", "837", 2, 0, 2),
        ("demo.example1.837", "837", 4, 0, 0),
        ("institutional-claim.837i", "837", 2, 0, 0),
    ],
)
def test_each_public_x12_sample_imports_with_its_expected_counts(
    name, file_format, inserted, rejected, hits
):
    batch = load(_x12(name), filename=name)

    assert batch.status == ImportBatch.Status.DONE, batch.message
    assert batch.format == file_format
    assert (batch.inserted, batch.rejected, batch.hits) == (inserted, rejected, hits)
    assert ClaimLine.objects.filter(source=file_format).count() == inserted
    again = load(_x12(name), filename=name)
    assert counts(again) == (0, 0, inserted, rejected)


def test_x12_rejects_keep_their_segment_number_and_warnings_are_kept():
    batch = load(_x12("tertiary-payment.835"), filename="tertiary.835")
    (reject,) = batch.rejects.all()
    assert reject.line == 20 and "SVC01" in reject.reason
    assert any("ST03" in warning for warning in batch.warnings)


# ---------------------------------------------------------------------------------------------
# All or nothing
# ---------------------------------------------------------------------------------------------


def test_a_failure_during_the_load_leaves_nothing_behind(monkeypatch):
    def explode(*args):
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(imports, "_route_to_cases", explode)
    batch = load(claims_csv(line(), line(claim_number="C2", paid_amount="1e5")))

    assert batch.status == ImportBatch.Status.FAILED
    assert "nothing was loaded" in batch.message and "the disk is on fire" in batch.message
    assert ClaimLine.objects.count() == 0 and Member.objects.count() == 0
    assert Lead.objects.count() == 0 and Member.history.count() == 0
    assert list(batch.rejects.values_list("line", flat=True)) == [3]  # the rejects are kept
    assert batch.finished_at is not None


def test_a_failure_in_a_later_chunk_rolls_back_the_chunks_already_loaded(monkeypatch):
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)
    loaded = []
    original = imports._PostgresLoader.load

    def load_then_fail(self, chunk, ids, counts):
        if loaded:
            raise RuntimeError("connection lost")
        loaded.append(len(chunk.rows))
        original(self, chunk, ids, counts)

    monkeypatch.setattr(imports._PostgresLoader, "load", load_then_fail)
    batch = load(claims_csv(*(line(claim_number=f"C{n}") for n in range(6))))

    assert loaded == [2] and batch.status == ImportBatch.Status.FAILED
    assert ClaimLine.objects.count() == 0 and Member.objects.count() == 0


def test_a_failed_batch_can_run_again_and_a_done_batch_is_left_alone(monkeypatch):
    batch = create_batch(uploaded_by=None, filename="c.csv", content=claims_csv(line()))
    monkeypatch.setattr(imports, "_route_to_cases", lambda *args: 1 / 0)
    assert run_import(batch_id=batch.pk).status == ImportBatch.Status.FAILED
    monkeypatch.undo()

    done = run_import(batch_id=batch.pk)
    assert done.status == ImportBatch.Status.DONE and done.inserted == 1 and done.message == ""
    assert run_import(batch_id=batch.pk).inserted == 1  # not run again
    assert import_claims.apply(args=[batch.pk]).get() == "done"
    assert ClaimLine.objects.count() == 1


# ---------------------------------------------------------------------------------------------
# Routing: open cases, late-arriving lines, leads
# ---------------------------------------------------------------------------------------------


def test_new_lines_of_a_member_with_an_open_case_go_onto_the_case(specialist):
    person = factories.member(program_id="M300000003")
    case = factories.open_case(specialist, person, incident_date=date(2025, 3, 1))
    batch = load(
        claims_csv(
            line(member_id="M300000003", service_from="2025-03-02", paid_amount="100.00"),
            line(member_id="M300000003", claim_number="C2", service_from="2025-02-01"),
        )
    )

    assert batch.late_arriving == 0
    (on_case,) = CaseClaim.objects.filter(case=case)
    assert on_case.claim_line.claim_number == "C1001" and on_case.included
    assert not on_case.late_arriving
    case.refresh_from_db()
    assert case.lien_amount == Decimal("100.00")
    assert Lead.objects.count() == 0  # the member has a case: no lead
    assert Notification.objects.filter(kind="late_claims").count() == 0


def test_lines_paid_after_the_lien_was_filed_arrive_late_and_tell_the_specialist(specialist):
    person = factories.member(program_id="M300000004")
    # A filed lien needs included lines: one earlier line, then the lien is filed.
    load(claims_csv(line(member_id="M300000004", claim_number="C0999", paid_amount="10.00")))
    case = factories.open_case(specialist, person, incident_date=date(2025, 3, 1))
    firm = factories.law_firm()
    factories.attorney_of_record(case, firm, specialist)
    from liens import services as lien_services

    lien = lien_services.create_lien(case=case, created_by=specialist)
    lien_services.file_lien(
        lien=lien, filed_by=specialist, filed_with=firm, filed_on=date(2025, 6, 1), method="email"
    )
    content = claims_csv(
        line(member_id="M300000004", paid_amount="250.00"),
        line(member_id="M300000004", line_number="2", diagnosis_codes="I10", paid_amount="40.00"),
    )
    batch = load(content)

    assert batch.late_arriving == 2
    assert CaseClaim.objects.filter(case=case, late_arriving=True).count() == 2
    case.refresh_from_db()
    assert case.lien_amount == Decimal("260.00")  # the I10 line is on the case, excluded
    note = Notification.objects.get(kind="late_claims")
    assert note.user == specialist and note.link == f"/cases/{case.pk}/"
    assert note.title == f"2 late-arriving claim lines on {case.number}"
    assert note.key == f"late:{batch.pk}:{case.pk}"

    again = load(content)
    assert again.late_arriving == 0 and Notification.objects.filter(kind="late_claims").count() == 1  # fmt: skip


def test_a_changed_line_already_on_a_case_stays_put_and_the_lien_follows(specialist):
    person = factories.member(program_id="M300000005")
    load(claims_csv(line(member_id="M300000005", paid_amount="100.00")))
    case = factories.open_case(specialist, person, incident_date=date(2025, 3, 1))
    later = factories.open_case(
        specialist, person, incident_date=date(2025, 3, 2), acknowledge_duplicates=True
    )
    assert CaseClaim.objects.filter(case=case).count() == 1
    CaseClaim.objects.filter(case=later).delete()  # say the specialist moved it to the first case

    batch = load(claims_csv(line(member_id="M300000005", paid_amount="120.00")))

    assert counts(batch) == (0, 1, 0, 0)
    assert CaseClaim.objects.get().case == case  # not put on the later case as well
    case.refresh_from_db()
    assert case.lien_amount == Decimal("120.00")


def test_hits_without_a_case_become_one_lead_that_reimports_do_not_inflate(specialist, load_path):
    content = claims_csv(
        line(
            member_id="M400000005", service_from="2025-03-09", service_to="", paid_amount="100.00"
        ),
        line(
            member_id="M400000005", line_number="2", service_from="2025-03-02", paid_amount="50.25"
        ),  # fmt: skip
        line(member_id="M400000005", line_number="3", diagnosis_codes="I10"),
        line(member_id="M400000006", claim_number="C9", diagnosis_codes="S72.001D"),  # subsequent
    )
    load(content, user=specialist)

    lead = Lead.objects.get()
    assert lead.member.program_id == "M400000005" and lead.status == Lead.Status.NEW
    assert (lead.hit_lines, lead.hit_paid) == (2, Decimal("150.25"))
    assert lead.first_service == date(2025, 3, 2)
    assert lead.reason.startswith("2 hit lines; first: Trauma hit: S72001A")
    assert lead.history.get().history_user == specialist

    load(content, user=specialist)
    assert Lead.objects.get().hit_lines == 2 and Lead.history.count() == 1

    load(claims_csv(line(member_id="M400000005", claim_number="C7", paid_amount="10.00")))
    lead.refresh_from_db()
    assert (lead.hit_lines, lead.hit_paid) == (3, Decimal("160.25"))
    assert Lead.objects.count() == 1 and Lead.history.count() == 2


def test_a_dismissed_lead_is_not_reopened_by_the_same_lines():
    content = claims_csv(line(member_id="M500000007"))
    load(content)
    Lead.objects.update(status=Lead.Status.DISMISSED)
    load(content)
    assert Lead.objects.count() == 1

    load(claims_csv(line(member_id="M500000007", claim_number="C2", paid_amount="5.00")))
    fresh = Lead.objects.get(status=Lead.Status.NEW)
    assert (fresh.hit_lines, fresh.hit_paid) == (1, Decimal("5.00"))


# ---------------------------------------------------------------------------------------------
# Command, task, start
# ---------------------------------------------------------------------------------------------


def test_the_command_prints_the_counts_and_every_reject(tmp_path, specialist):
    path = tmp_path / "claims.csv"
    path.write_bytes(claims_csv(line(), line(claim_number="C2", paid_amount="-1")))
    out = io.StringIO()
    call_command("import_claims", str(path), user="specialist", stdout=out)

    text = out.getvalue()
    assert "inserted 1, updated 0, unchanged 0, rejected 1" in text
    assert "line 3: paid_amount: '-1' is negative" in text
    assert ImportBatch.objects.get().created_by == specialist


def test_the_command_fails_when_the_file_is_rejected_as_a_whole(tmp_path):
    path = tmp_path / "claims.csv"
    path.write_text("claim,amount\nC1,10.00\n")
    out = io.StringIO()
    with pytest.raises(CommandError, match="missing required columns"):
        call_command("import_claims", str(path), stdout=out)
    assert "failed" in out.getvalue()
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_claims", str(tmp_path / "nope.csv"))


def test_starting_an_import_sends_the_task_after_commit(
    specialist, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(import_claims, "delay", lambda *a, **kw: sent.append((a, kw)))
    with django_capture_on_commit_callbacks(execute=True):
        batch = start_import(uploaded_by=specialist, filename="c.csv", content=claims_csv(line()))
        assert sent == []
    assert sent == [((batch.pk,), {"acting_user_id": specialist.pk})]
    assert batch.status == ImportBatch.Status.PENDING and batch.created_by == specialist


@pytest.fixture
def shared_media(settings, monkeypatch):
    """The worker process reads the stored file where this test wrote it."""
    monkeypatch.setenv("MEDIA_ROOT", str(settings.MEDIA_ROOT))


@pytest.mark.celery_worker
def test_a_real_worker_imports_the_file_for_the_uploader(shared_media, real_worker, specialist):
    factories.jurisdiction("FL")
    batch = create_batch(
        uploaded_by=specialist, filename="c.csv", content=claims_csv(line(), line(line_number="2"))
    )
    result = import_claims.apply_async(
        args=[batch.pk], kwargs={"acting_user_id": specialist.pk}, queue=real_worker
    )
    assert result.get(timeout=60) == "done"
    batch.refresh_from_db()
    assert counts(batch) == (2, 0, 0, 0) and batch.processed_rows == 2
    assert ClaimLine.objects.filter(batch=batch).count() == 2
    assert Member.history.get().history_user == specialist
    assert Lead.history.get().history_user == specialist
    again = import_claims.apply_async(args=[batch.pk], queue=real_worker)
    assert again.get(timeout=60) == "done" and ClaimLine.objects.count() == 2


# ---------------------------------------------------------------------------------------------
# Screens
# ---------------------------------------------------------------------------------------------


def test_a_specialist_uploads_a_file_and_lands_on_its_page(
    client, specialist, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(import_claims, "delay", lambda *a, **kw: sent.append(a[0]))
    client.force_login(specialist)
    upload = io.BytesIO(claims_csv(line()))
    upload.name = "weekly.csv"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("cases:import"), {"file": upload})

    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("cases:import-detail", args=[batch.pk])
    assert sent == [batch.pk] and batch.filename == "weekly.csv"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert b'hx-trigger="every 1s"' in page.content and b"weekly.csv" in page.content


def test_an_upload_that_is_not_a_claims_file_shows_the_reason_on_the_form(client, specialist):
    client.force_login(specialist)
    upload = io.BytesIO(b"%PDF-1.4\x00\x00binary")
    upload.name = "scan.pdf"
    response = client.post(reverse("cases:import"), {"file": upload})
    assert response.status_code == 400
    assert b"Only CSV, X12 835 and X12 837 files can be imported" in response.content
    empty = client.post(reverse("cases:import"), {})
    assert empty.status_code == 400 and b"This field is required" in empty.content
    assert ImportBatch.objects.count() == 0


def test_the_import_pages_show_progress_counts_and_rejects(client, supervisor):
    batch = load(claims_csv(line(), line(claim_number="C2", paid_amount="1e5")))
    client.force_login(supervisor)

    listing = client.get(reverse("cases:import")).content.decode()
    assert "claims.csv" in listing and "Done" in listing
    detail = client.get(reverse("cases:import-detail", args=[batch.pk])).content.decode()
    assert "paid_amount: &#x27;1e5&#x27; is not an amount" in detail
    assert "hx-trigger" not in detail  # finished: no polling

    progress = reverse("cases:import-progress", args=[batch.pk])
    assert client.get(progress, HTTP_HX_REQUEST="true")["HX-Refresh"] == "true"
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=ImportBatch.Status.RUNNING, processed_rows=5000, total_rows=20000
    )
    running = client.get(progress, HTTP_HX_REQUEST="true")
    assert "HX-Refresh" not in running
    body = running.content.decode()
    assert 'hx-get="' + progress + '"' in body and 'hx-trigger="every 1s"' in body
    assert '<progress max="100" value="25">' in body and "5000 of about 20000" in body


def test_auditors_read_the_import_pages_but_cannot_upload(client, auditor):
    batch = load(claims_csv(line()))
    client.force_login(auditor)
    page = client.get(reverse("cases:import"))
    assert page.status_code == 200 and b'type="file"' not in page.content
    upload = io.BytesIO(claims_csv(line()))
    upload.name = "c.csv"
    assert client.post(reverse("cases:import"), {"file": upload}).status_code == 403
    assert client.get(reverse("cases:import-detail", args=[batch.pk])).status_code == 200
    assert client.get(reverse("cases:leads")).status_code == 200
    assert ImportBatch.objects.count() == 1


def test_attorneys_never_reach_the_import_pages(client, attorney):
    batch = load(claims_csv(line()))
    client.force_login(attorney)
    for url in (
        reverse("cases:import"),
        reverse("cases:import-detail", args=[batch.pk]),
        reverse("cases:import-progress", args=[batch.pk]),
        reverse("cases:leads"),
    ):
        assert client.get(url).status_code == 403, url


def test_the_leads_queue_lists_hits_without_a_case_and_logs_the_phi_read(client, specialist):
    load(claims_csv(line(member_id="M600000008", member_last_name="Okafor", paid_amount="75.00")))
    lead = Lead.objects.get()
    client.force_login(specialist)

    body = client.get(reverse("cases:leads")).content.decode()
    assert "Okafor, Ana" in body and "2025-03-02" in body and "75.00" in body
    assert "Trauma hit: S72001A" in body
    assert f'href="{reverse("cases:new")}?member={lead.member_id}"' in body
    assert PhiAccess.objects.filter(
        user=specialist, subject_type="member", subject_id=lead.member_id
    ).exists()
    dismissed = client.get(reverse("cases:leads"), {"status": "dismissed"}).content.decode()
    assert "Okafor" not in dismissed


def test_the_import_runs_whole_inside_an_outer_transaction_too():
    # A caller's transaction (a test, a script) becomes a savepoint: still all or nothing.
    with transaction.atomic():
        batch = load(claims_csv(line()))
    assert batch.status == ImportBatch.Status.DONE and ImportReject.objects.count() == 0
