"""The starting world of the browser flows: people, a state, the parties and a member.

Only what exists before a case starts is built here; everything a user does afterwards goes
through the screens.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from django.utils import timezone

from cases.models import EligibilitySpan, Member, Party
from recovery.core.models import Role, Team, User
from tests import factories
from tests.conftest import make_user

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# Four paid lines of Grace Okafor's care after a car crash on 2026-06-15 (see the file): the
# emergency visit ($6,000 at 90%), the surgery ($4,000 at 60%), physical therapy ($350) and an
# unrelated clinic visit for hypertension ($95).
CLAIMS_CSV = FIXTURES / "journey-claims.csv"
INJURY = date(2026, 6, 15)
PROGRAM_ID = "M410026001"


@dataclass
class World:
    specialist: User
    supervisor: User
    supervisor2: User
    attorney: User
    auditor: User
    firm: Party
    insurer: Party
    member: Member


def build() -> World:
    factories.jurisdiction("GA")  # 42 CFR 411.37 procurement-cost formula by default
    east = Team.objects.create(name="Casualty East")
    west = Team.objects.create(name="Casualty West")
    boss = make_user("castellano", Role.SUPERVISOR, east)
    east.supervisor = boss
    east.save()
    other_boss = make_user("ferreira", Role.SUPERVISOR, west)
    west.supervisor = other_boss
    west.save()
    specialist = make_user(
        "whitfield",
        Role.SPECIALIST,
        east,
        authority_max_reduction_amount=Decimal("2500.00"),
        authority_max_reduction_percent=Decimal("10.00"),
    )
    firm = Party.objects.create(
        kind=Party.Kind.LAW_FIRM,
        name="Marsh & Lindqvist LLP",
        contact_name="Helen Marsh",
        email="intake@marsh-lindqvist.example.org",
        phone="404-555-0142",
        address_line1="100 Peachtree Street NW, Suite 2100",
        city="Atlanta",
        state="GA",
        postal_code="30303",
    )
    insurer = Party.objects.create(
        kind=Party.Kind.LIABILITY_INSURER,
        name="Magnolia Mutual Insurance Company",
        email="claims@magnolia-mutual.example.org",
        address_line1="55 Claims Plaza",
        city="Macon",
        state="GA",
        postal_code="31201",
    )
    attorney = make_user("marsh", Role.ATTORNEY, party=firm)
    auditor = make_user("nakamura", Role.AUDITOR)
    member = Member.objects.create(
        program_id=PROGRAM_ID,
        first_name="Grace",
        last_name="Okafor",
        date_of_birth="1988-09-14",
        address_line1="12 Ponce de Leon Avenue",
        city="Decatur",
        state="GA",
    )
    EligibilitySpan.objects.create(member=member, start=date(2020, 1, 1))
    return World(
        specialist=specialist,
        supervisor=boss,
        supervisor2=other_boss,
        attorney=attorney,
        auditor=auditor,
        firm=firm,
        insurer=insurer,
        member=member,
    )


def busy_case(w: World):
    """A case in the middle of its life, built through the services, so that every tab and
    queue has something on it: parties, decided lines, a filed lien with its letters, a
    negotiation, a settlement waiting for approval, an open dispute, money held and a
    disbursement and a lien release waiting for a supervisor. Letters render in the calling
    thread (`eager_tasks`)."""
    from datetime import timedelta

    from cases import services as cases
    from cases.models import CaseClaim, CaseParty
    from ledger import services as ledger
    from liens import letters
    from liens import services as liens
    from recovery.portal import services as portal
    from settlements import services as settlements

    today = timezone.localdate()
    specialist = w.specialist
    for claim_number, paid, codes, rate in (
        ("ER26061501", "6000.00", "S82201A V4352XA", "0.9000"),
        ("OR26061802", "4000.00", "S82201A", "0.6000"),
        ("PT26070903", "350.00", "S82201D", "0.6000"),
        ("PC26072204", "95.00", "I10", "0.6000"),
    ):
        factories.claim_line(
            w.member,
            service_from=INJURY + timedelta(days=len(claim_number) % 3),
            paid=paid,
            codes=codes,
            claim_number=claim_number,
            fmap_rate=Decimal(rate),
            provider_name="Peachtree Regional Medical Center",
        )
    case = factories.open_case(specialist, w.member, incident_date=INJURY, code="GA")
    cases.add_case_party(
        case=case, party=w.firm, role=CaseParty.Role.ATTORNEY_OF_RECORD, added_by=specialist
    )
    cases.add_case_party(
        case=case,
        party=w.insurer,
        role=CaseParty.Role.LIABILITY_INSURER,
        added_by=specialist,
        claim_number="MM-26-0615-448",
        policy_limits=Decimal("100000.00"),
    )
    therapy = CaseClaim.objects.get(case=case, claim_line__claim_number="PT26070903")
    cases.decide_claim(
        case_claim=therapy,
        included=False,
        reason="Paid by the member's med-pay coverage",
        decided_by=specialist,
    )
    cases.log_activity(
        case=case,
        logged_by=specialist,
        kind="call",
        subject="Called the adjuster about policy limits",
        party=w.insurer,
        outcome="Limits confirmed",
    )
    cases.add_deadline(
        case=case,
        created_by=specialist,
        kind="follow_up",
        title="Ask the attorney for the settlement statement",
        due_date=today + timedelta(days=10),
        owner=specialist,
    )
    lien = liens.create_lien(case=case, created_by=specialist)
    liens.file_lien(
        lien=lien,
        filed_by=specialist,
        filed_with=w.firm,
        filed_on=today,
        method="certified_mail",
        certified_mail_number="9407 1118 9876 5432 1000 26",
    )
    for kind in ("lien_notice", "itemized_statement"):
        letters.request_letter(case=case, kind=kind, recipient=w.firm, requested_by=specialist)
    settlements.log_negotiation(
        case=case,
        logged_by=specialist,
        kind="reduction_request",
        amount=Decimal("4000.00"),
        party=w.firm,
        note="The attorney asks for a reduction to $4,000.",
    )
    settlements.propose_settlement(
        case=case,
        proposed_by=specialist,
        gross_settlement=Decimal("100000.00"),
        attorney_fees=Decimal("33333.33"),
        costs=Decimal("1666.67"),
        agreed_recovery=Decimal("5000.00"),
        reduction_requested=True,
        compromise_reason="The liability policy limit is $100,000.",
        justification="Permanent impairment; the insurer tendered its limit.",
    )
    surgery = CaseClaim.objects.get(case=case, claim_line__claim_number="OR26061802")
    portal.create_dispute(
        case=case,
        submitted_by=w.attorney,
        case_claim_ids=[surgery.pk],
        reason="The surgery treated a knee injury from 2024.",
    )
    ledger.post_deposit(
        case=case,
        amount=Decimal("5100.00"),
        received_on=today,
        payer="Magnolia Mutual Insurance Company",
        instrument="check",
        reference="CHK 20418",
        idempotency_key=f"busy-{case.pk}",
        recorded_by=specialist,
    )
    ledger.request_disbursement(
        case=case,
        amount=Decimal("100.00"),
        payee=w.firm.name,
        purpose="attorney_refund",
        requested_by=specialist,
    )
    return case


def case_with_release_requested(w: World):
    """A second member's case, its lien filed and a full release waiting for a supervisor."""
    from cases import services as cases
    from cases.models import CaseParty
    from liens import services as liens

    person = factories.member(first="Luis", last="Ferrante", program_id="M410026002")
    factories.claim_line(person, service_from=INJURY, paid="1200.00", fmap_rate=Decimal("0.6600"))
    case = factories.open_case(w.specialist, person, incident_date=INJURY, code="GA")
    cases.add_case_party(
        case=case, party=w.firm, role=CaseParty.Role.ATTORNEY_OF_RECORD, added_by=w.specialist
    )
    lien = liens.create_lien(case=case, created_by=w.specialist)
    liens.file_lien(
        lien=lien,
        filed_by=w.specialist,
        filed_with=w.firm,
        filed_on=timezone.localdate(),
        method="fax",
    )
    liens.request_release(lien=lien, requested_by=w.specialist, reason="Paid in full.")
    return case
