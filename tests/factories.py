"""Consistent test objects built through the real services where a user would act."""

import importlib
import itertools
from datetime import date
from decimal import Decimal

from cases import services
from cases.models import (
    US_STATES,
    CaseParty,
    ClaimLine,
    EligibilitySpan,
    Jurisdiction,
    Member,
    Party,
)
from cases.screening import ScreeningInput, screen_line

_seq = itertools.count(1)


def jurisdiction(code: str = "FL") -> Jurisdiction:
    # Seeded by migration; recreated here in case a transactional test flushed the table.
    years = importlib.import_module("cases.migrations.0002_jurisdictions").SOL_YEARS[code]
    name = dict(US_STATES)[code]
    return Jurisdiction.objects.get_or_create(
        code=code, defaults={"name": name, "default_sol_years": years}
    )[0]


def member(
    *,
    program_id: str | None = None,
    first: str = "Alex",
    last: str = "Sample",
    eligible_from=date(2020, 1, 1),
    **extra,
) -> Member:
    n = next(_seq)
    person = Member(
        program_id=program_id or f"M{900000000 + n}",
        first_name=first,
        last_name=last,
        date_of_birth="1985-06-15",
        address_line1=f"{n} Test Street",
        city="Springfield",
        state="FL",
        **extra,
    )
    person.save()
    if eligible_from:
        EligibilitySpan.objects.create(member=person, start=eligible_from)
    return person


def claim_line(
    person: Member, *, service_from: date, paid: str = "100.00", codes: str = "S8290XA", **extra
) -> ClaimLine:
    n = next(_seq)
    result = screen_line(
        ScreeningInput(diagnosis_codes=tuple(codes.split()), service_from=service_from)
    )
    return ClaimLine.objects.create(
        member=person,
        claim_number=extra.pop("claim_number", f"C{n:08d}"),
        line_number=extra.pop("line_number", 1),
        service_from=service_from,
        procedure_code=extra.pop("procedure_code", "99283"),
        diagnosis_codes=codes,
        billed_amount=Decimal(paid) * 2,
        paid_amount=Decimal(paid),
        paid_date=service_from,
        fmap_rate=extra.pop("fmap_rate", Decimal("0.6000")),
        screening_decision=result.decision.value,
        screening_rule=result.rule,
        screening_reason=result.reason[:300],
        opens_case=result.opens_case,
        **extra,
    )


def open_case(
    user, person: Member | None = None, *, incident_date=date(2025, 3, 1), code: str = "FL", **extra
):
    return services.open_case(
        created_by=user,
        member=person or member(),
        incident_date=incident_date,
        incident_kind=extra.pop("incident_kind", "auto"),
        jurisdiction=jurisdiction(code),
        source=extra.pop("source", "attorney_letter"),
        **extra,
    )


def law_firm(name: str = "Example & Partners LLP") -> Party:
    return Party.objects.create(kind=Party.Kind.LAW_FIRM, name=name, email="intake@example.org")


def attorney_of_record(case, firm: Party, by) -> CaseParty:
    return services.add_case_party(
        case=case, party=firm, role=CaseParty.Role.ATTORNEY_OF_RECORD, added_by=by
    )
