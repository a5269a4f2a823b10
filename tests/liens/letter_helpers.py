"""Shared builders for the letter tests: a case with a firm, an insurer and injury lines, a lien
in each state, and a PDF read back as text."""

from datetime import date, timedelta
from io import BytesIO

from django.utils import timezone
from pypdf import PdfReader

from cases import services as case_services
from cases.models import CaseParty, Party
from liens import services as lien_services
from tests import factories
from tests.pdfs import pdf_text  # noqa: F401  (re-exported for the letter tests)

INJURY = date(2025, 3, 1)


def pdf_pages(content: bytes) -> int:
    return len(PdfReader(BytesIO(content)).pages)


def document_text(document, tmp_path) -> str:
    with document.file.open("rb") as handle:
        return pdf_text(handle.read(), tmp_path)


def build_case(user, *, lines: int = 3, firm_name: str = "Smith & Jones LLP", paid: str = "100.00"):
    """A case on an auto accident with `lines` included injury lines, a law firm as attorney of
    record and a liability insurer with a claim number."""
    person = factories.member(first="Alex", last="Sample")
    for n in range(lines):
        factories.claim_line(
            person,
            service_from=INJURY + timedelta(days=n % 300),
            paid=paid,
            provider_name=f"Springfield General Hospital {n % 7}",
            line_number=1,
        )
    case = factories.open_case(user, person, incident_date=INJURY)
    firm = factories.law_firm(firm_name)
    firm.address_line1 = "10 Main Street"
    firm.city = "Tampa"
    firm.state = "FL"
    firm.postal_code = "33602"
    firm.save()
    factories.attorney_of_record(case, firm, user)
    insurer = Party.objects.create(
        kind=Party.Kind.LIABILITY_INSURER,
        name="Acme Mutual Insurance",
        email="claims@acme.example",
        address_line1="1 Insurance Plaza",
        city="Hartford",
        state="CT",
        postal_code="06103",
    )
    case_services.add_case_party(
        case=case,
        party=insurer,
        role=CaseParty.Role.LIABILITY_INSURER,
        added_by=user,
        claim_number="CLM-77-1234",
        adjuster_name="Pat Adjuster",
    )
    case.refresh_from_db()
    return case, firm, insurer


def file_lien(case, user, filed_with, *, filed_on: date | None = None):
    lien = lien_services.create_lien(case=case, created_by=user)
    return lien_services.file_lien(
        lien=lien,
        filed_by=user,
        filed_with=filed_with,
        filed_on=filed_on or timezone.localdate(),
        method="certified_mail",
        certified_mail_number="7019 0700 0000 1234 5678",
    )


def amend_lien(lien, specialist, supervisor, *, new_amount):
    change = lien_services.request_amendment(
        lien=lien,
        requested_by=specialist,
        reason="Late-arriving claims added.",
        new_amount=new_amount,
    )
    lien_services.approve_change(change=change, approved_by=supervisor)
    lien.refresh_from_db()
    return lien


def release_lien(lien, specialist, supervisor, *, amount=None):
    change = lien_services.request_release(
        lien=lien, requested_by=specialist, reason="Settled and paid.", amount=amount
    )
    lien_services.approve_change(change=change, approved_by=supervisor)
    lien.refresh_from_db()
    return lien
