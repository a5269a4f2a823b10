"""Cases with money built through the real services, for the report and audit-package tests."""

from datetime import date, timedelta
from decimal import Decimal

from cases import services as case_services
from cases.models import Case, Jurisdiction
from ledger import services as ledger
from liens import services as liens
from settlements import services as settlements
from tests import factories

INJURY = date(2025, 3, 1)


def jurisdictions() -> tuple[Jurisdiction, Jurisdiction]:
    fl, ga = factories.jurisdiction("FL"), factories.jurisdiction("GA")
    Jurisdiction.objects.filter(pk__in=[fl.pk, ga.pk]).update(default_formula="full_lien")
    fl.refresh_from_db()
    ga.refresh_from_db()
    return fl, ga


def case_with_lines(user, *, code: str, lines: list[tuple[str, str]], last: str = "Sample"):
    """A case opened by `user` whose included lien lines are (paid, matching rate), with a law
    firm as attorney of record."""
    person = factories.member(first="Alex", last=last)
    for n, (paid, rate) in enumerate(lines):
        factories.claim_line(
            person,
            service_from=INJURY + timedelta(days=n + 1),
            paid=paid,
            fmap_rate=Decimal(rate),
            provider_name="Springfield General Hospital",
        )
    case = factories.open_case(user, person, incident_date=INJURY, code=code)
    firm = factories.law_firm(f"Firm of {case.number}")
    factories.attorney_of_record(case, firm, user)
    case.refresh_from_db()
    return case, firm


def file_lien(case, user, firm, *, filed_on: date):
    lien = liens.create_lien(case=case, created_by=user)
    return liens.file_lien(
        lien=lien, filed_by=user, filed_with=firm, filed_on=filed_on, method="email"
    )


def approve_change(change, supervisor):
    return liens.approve_change(change=change, approved_by=supervisor)


def deposit(case, user, amount: str, received_on: date, key: str):
    made, _created = ledger.post_deposit(
        case=case,
        amount=Decimal(amount),
        received_on=received_on,
        payer="Acme Mutual Insurance",
        instrument="check",
        reference=f"CHK-{key}",
        idempotency_key=f"dep-{key}",
        recorded_by=user,
    )
    return made


def recover(case, requester, approver, amount: str):
    """A program recovery disbursement, requested and approved (posted with its split)."""
    request = ledger.request_disbursement(
        case=case,
        amount=Decimal(amount),
        payee="State Medicaid Program",
        purpose="program_recovery",
        requested_by=requester,
    )
    return ledger.approve_disbursement(disbursement=request, approved_by=approver)


def settle(case, user, *, gross: str, fees: str = "0", agreed: str | None = None, **extra):
    return settlements.propose_settlement(
        case=case,
        proposed_by=user,
        gross_settlement=Decimal(gross),
        attorney_fees=Decimal(fees),
        agreed_recovery=Decimal(agreed) if agreed is not None else None,
        **extra,
    )


def close(case: Case, user, outcome: str) -> Case:
    return case_services.change_status(case=case, status="closed", changed_by=user, outcome=outcome)
