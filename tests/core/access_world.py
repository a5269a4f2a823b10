"""One world holding an object for every URL parameter of the project, built through services.

Two cases of `specialist` (team East): `mine`, where `attorney`'s firm is attorney of record,
and `theirs`, where `attorney2`'s firm is. Every other object hangs off `mine`."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from cases import imports
from cases import services as case_services
from cases.models import Party
from ledger import reconciliation
from ledger import services as ledger_services
from liens import letters
from liens import services as lien_services
from recovery.portal import services as portal_services
from settlements import services as settlement_services
from settlements.models import Installment
from tests.portal.test_portal import PDF, extras, world  # noqa: F401  (fixtures)

CLAIMS_CSV = (
    b"member_id,claim_number,line_number,service_from,paid_amount,diagnosis_codes\n"
    b"M000000001,C1,1,2025-03-02,10.00,S8290XA\n"
)


@pytest.fixture
def access_world(
    extras,  # noqa: F811
    specialist,
    supervisor,
    attorney,
    django_capture_on_commit_callbacks,
):
    w = extras
    case = w["mine"]
    insurer = Party.objects.create(kind=Party.Kind.LIABILITY_INSURER, name="Acme Mutual")
    case_services.add_case_party(
        case=case, party=insurer, role="liability_insurer", added_by=specialist
    )
    w["insurer"] = insurer
    w["member"] = case.member
    w["claim_line"] = case.case_claims.first().claim_line
    w["case_claim"] = case.case_claims.order_by("pk").first()
    w["deadline"] = case_services.add_deadline(
        case=case,
        created_by=specialist,
        kind="follow_up",
        title="Call the adjuster",
        due_date=timezone.localdate() + timedelta(days=7),
    )
    w["question"] = case_services.ask_supervisor(
        case=case, asked_by=specialist, question="May I accept less?"
    )
    w["import_batch"] = imports.create_batch(
        uploaded_by=specialist, filename="claims.csv", content=CLAIMS_CSV
    )
    lien = lien_services.create_lien(case=case, created_by=specialist)
    lien = lien_services.file_lien(
        lien=lien,
        filed_by=specialist,
        filed_with=insurer,
        filed_on=date(2025, 6, 1),
        method="email",
    )
    w["lien"] = lien
    w["lien_change"] = lien_services.request_amendment(
        lien=lien, requested_by=specialist, reason="New claims", new_amount=Decimal("600.00")
    )
    w["negotiation"] = settlement_services.log_negotiation(
        case=case, logged_by=specialist, kind="offer", amount=Decimal("200.00")
    )
    settlement = settlement_services.propose_settlement(
        case=case,
        proposed_by=specialist,
        gross_settlement=Decimal("100000.00"),
        attorney_fees=Decimal("30000.00"),
        costs=Decimal("1000.00"),
        formula="full_lien",
    )
    w["settlement"] = settlement
    settlement_services.arrange_installments(
        settlement=settlement,
        arranged_by=specialist,
        installments=2,
        first_due_on=timezone.localdate() + timedelta(days=30),
    )
    w["installment"] = Installment.objects.filter(arrangement__settlement=settlement).first()
    w["adjustment"] = settlement_services.request_adjustment(
        case=case,
        requested_by=specialist,
        kind="write_off",
        amount=Decimal("50.00"),
        reason_code="no_assets",
        reason="Judgment-proof",
    )
    deposit = ledger_services.post_deposit(
        case=case,
        amount=Decimal("300.00"),
        received_on=timezone.localdate(),
        payer="Acme Mutual",
        instrument="check",
        reference="CHK-1",
        idempotency_key="access-deposit-1",
        recorded_by=specialist,
    )[0]
    w["deposit"] = deposit
    w["transaction"] = deposit.transaction
    w["disbursement"] = ledger_services.request_disbursement(
        case=case,
        amount=Decimal("100.00"),
        payee="Gulf Health Plan",
        purpose="mco_share",
        requested_by=specialist,
    )
    w["statement"] = reconciliation.import_statement(
        filename="statement.csv",
        content=f"date,amount,reference,description\n{timezone.localdate()},300.00,CHK-1,Dep\n".encode(),
        imported_by=supervisor,
    )
    with django_capture_on_commit_callbacks(execute=False):
        w["batch"] = letters.start_batch(
            kind="information_request",
            cases=[case],
            recipient_role="attorney_of_record",
            created_by=specialist,
        )
    w["dispute"] = portal_services.create_dispute(
        case=case,
        submitted_by=attorney,
        case_claim_ids=[w["case_claim"].pk],
        reason="Not accident related",
    )
    _, w["invitation_token"] = portal_services.invite_attorney(
        party=w["firm"], email="new.lawyer@example.org", created_by=supervisor, base_url="http://t"
    )
    w["upload_file"] = SimpleUploadedFile("x.pdf", PDF, content_type="application/pdf")
    return w
