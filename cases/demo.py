"""Synthetic demo cases for ``manage.py seed_demo``.

Everything here is made up: member names are common first and last names combined at random,
program ids are "M" + 9 digits, SSNs are in the never-issued 900 area (or blank), streets are
invented, phone numbers are 555-01xx, NPIs and NAIC codes are made-up numbers. Diagnosis codes
are real ICD-10-CM codes and procedure codes real CPT/HCPCS/revenue codes, with plausible
Medicaid paid amounts.

Idempotent: every member has a deterministic program id; a member that already exists is
skipped together with its eligibility, claim lines, case or lead (they were written in the same
transaction). Reference data (jurisdictions, SOL rules, parties) is found by natural key.
Randomness comes from ``random.Random`` seeded per member, so a larger ``count`` adds members
without changing the earlier ones. Dates are relative to ``timezone.localdate()``.

User actions go through ``cases.services`` under ``acting_as`` so history rows name the user;
claim lines (a feed, not a user action) are bulk-inserted with their screening fields set.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils import timezone

from ledger import demo as money
from ledger.models import Deposit, Disbursement
from liens.models import Lien
from recovery.core.audit import acting_as
from recovery.core.models import User
from recovery.crypto import keyed_hash
from settlements.models import Settlement

from . import screening
from .models import (
    Activity,
    Assignment,
    Case,
    CaseClaim,
    CaseParty,
    ClaimLine,
    Deadline,
    EligibilitySpan,
    IncidentKind,
    Jurisdiction,
    Lead,
    Member,
    Party,
    SolRule,
)
from .services import (
    add_case_party,
    add_deadline,
    assign_case,
    change_status,
    complete_deadline,
    decide_claim,
    log_activity,
    open_case,
)

__all__ = ["seed_cases"]

CENT = Decimal("0.01")
EXPANSION_RATE = Decimal("0.9000")
LEAD_OFFSET = 500_000  # member keys of screening-lead members (no case)

# --------------------------------------------------------------------------------------------
# Reference data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StateInfo:
    code: str
    name: str
    sol_years: int
    sol_citation: str
    team: str
    weight: int
    fmap: Decimal
    expansion: bool  # Medicaid expansion adults claimed at 90%
    no_fault: bool  # PIP states: a member's own auto insurer pays first
    cities: tuple[tuple[str, str, str], ...]  # (city, ZIP prefix, area code)


EAST, WEST = "Casualty East", "Casualty West"

STATES: dict[str, StateInfo] = {
    s.code: s
    for s in (
        StateInfo("FL", "Florida", 2, "Fla. Stat. § 95.11", EAST, 18, Decimal("0.5750"), False, True,
                  (("Tampa", "336", "813"), ("Orlando", "328", "407"), ("Jacksonville", "322", "904"),
                   ("Gainesville", "326", "352"))),
        StateInfo("GA", "Georgia", 2, "O.C.G.A. § 9-3-33", EAST, 8, Decimal("0.6600"), False, False,
                  (("Atlanta", "303", "404"), ("Macon", "312", "478"), ("Savannah", "314", "912"))),
        StateInfo("NC", "North Carolina", 3, "N.C. Gen. Stat. § 1-52", EAST, 8, Decimal("0.6500"),
                  False, False,
                  (("Charlotte", "282", "704"), ("Raleigh", "276", "919"), ("Greensboro", "274", "336"))),
        StateInfo("OH", "Ohio", 2, "Ohio Rev. Code § 2305.10", EAST, 7, Decimal("0.6300"), True, False,
                  (("Columbus", "432", "614"), ("Cleveland", "441", "216"), ("Dayton", "454", "937"))),
        StateInfo("PA", "Pennsylvania", 2, "42 Pa. C.S. § 5524", EAST, 7, Decimal("0.5450"), True, True,
                  (("Philadelphia", "191", "215"), ("Pittsburgh", "152", "412"), ("Allentown", "181", "610"))),
        StateInfo("NY", "New York", 3, "N.Y. C.P.L.R. § 214", EAST, 12, Decimal("0.5000"), True, True,
                  (("Albany", "122", "518"), ("Buffalo", "142", "716"), ("Rochester", "146", "585"),
                   ("Bronx", "104", "718"))),
        StateInfo("TX", "Texas", 2, "Tex. Civ. Prac. & Rem. Code § 16.003", WEST, 22, Decimal("0.6090"),
                  False, False,
                  (("Houston", "770", "713"), ("San Antonio", "782", "210"), ("Dallas", "752", "214"),
                   ("El Paso", "799", "915"))),
        StateInfo("CA", "California", 2, "Cal. Civ. Proc. Code § 335.1", WEST, 18, Decimal("0.5000"),
                  True, False,
                  (("Fresno", "937", "559"), ("Sacramento", "958", "916"), ("San Diego", "921", "619"),
                   ("Bakersfield", "933", "661"))),
    )
}  # fmt: skip

# Kind-specific statutes of limitations that differ from the state default.
SOL_RULES = [
    ("OH", IncidentKind.MALPRACTICE, 1, "Ohio Rev. Code § 2305.113"),
    ("CA", IncidentKind.MALPRACTICE, 1, "Cal. Civ. Proc. Code § 340.5 (1 year from discovery)"),
    ("GA", IncidentKind.MALPRACTICE, 2, "O.C.G.A. § 9-3-71"),
    ("TX", IncidentKind.MALPRACTICE, 2, "Tex. Civ. Prac. & Rem. Code § 74.251"),
]

FIRST_NAMES = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Christopher Karen Charles Lisa Daniel Nancy "
    "Matthew Betty Anthony Sandra Mark Ashley Donald Kimberly Steven Emily Andrew Donna Joshua "
    "Michelle Kevin Carol Brian Amanda Luis Melissa Carlos Deborah Jose Stephanie Juan Rebecca "
    "Marcus Laura Andre Angela Tyrone Maria Jamal Rosa Wei Mei Hector Keisha Darnell Tamika"
).split()
LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
    "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill "
    "Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Phillips Evans "
    "Turner Diaz Parker Collins Edwards Stewart Morris Murphy Cook Rogers Reed Bailey Bell"
).split()
MIDDLE_INITIALS = "ABCDEFGHJKLMNPRSTW"
STREET_WORDS = (
    "Quailrun Larkspur Bramblewood Copperleaf Tanager Willowbend Foxglove Marigold Saddlebrook "
    "Heronwood Amberfield Thistledown Kestrel Juniper Hollow Briarcliff Sparrowhawk Cobblestone "
    "Wrenfield Mossberry Cinderwood Lanternfly Plumtree Buttonbush Chickadee Silverbell"
).split()
STREET_SUFFIXES = ("Ln", "Ct", "Way", "Trail", "Loop", "Run", "Dr", "Pl", "Cir", "Bend")
UNITS = ("Apt 2B", "Apt 104", "Unit 7", "Apt 3C", "Lot 12", "Apt 210")

# (name, state, attorney count)
LAW_FIRMS = [
    ("Whitcombe & Radley, P.A.", "FL", 3),
    ("Delgado Trial Lawyers, PLLC", "TX", 2),
    ("Okafor Injury Law Group", "FL", 2),
    ("Brennan Marsh Personal Injury, P.A.", "FL", 1),
    ("Castillo & Vaughn, LLP", "TX", 3),
    ("Peachtree Accident Attorneys, LLC", "GA", 2),
    ("Hollis, Grant & Pruitt, PLLC", "NC", 2),
    ("Buckeye Injury Counsel, LLC", "OH", 1),
    ("Schuylkill Valley Law Offices", "PA", 2),
    ("Adirondack Accident Law, P.C.", "NY", 2),
    ("Golden Valley Injury Lawyers, APC", "CA", 3),
    ("Lone Star Crash Attorneys, PLLC", "TX", 1),
]
# (name, NAIC code, kind of business)
INSURERS = [
    ("Granite Shield Mutual Insurance Co.", "31847", "auto"),
    ("Bluewater Casualty Company", "27519", "auto"),
    ("Keystone Valley Indemnity Co.", "40216", "auto"),
    ("Prairie Star Auto Insurance Co.", "18063", "auto"),
    ("Sentinel Harbor Insurance Company", "35972", "auto"),
    ("Evergreen Fidelity Casualty Co.", "22648", "auto"),
    ("Copperline Mutual Auto Insurance", "14390", "auto"),
    ("Northwind Property & Casualty Co.", "29784", "premises"),
    ("Cardinal Physicians Liability Trust", "11956", "malpractice"),
    ("Ironbridge Workers' Compensation Fund", "36421", "workers_comp"),
]
HEALTH_PLANS = [
    ("Sunrise Community Health Plan", "FL"),
    ("Harborlight Health Partners", "NY"),
    ("Bluestem Managed Care, Inc.", "TX"),
]
COURTS = [
    ("Hillsborough County Circuit Court (13th Judicial Circuit)", "FL"),
    ("Harris County District Court (215th District)", "TX"),
]
EMPLOYERS = [
    ("Tri-County Logistics LLC", "TX"),
    ("Sunbelt Roofing & Gutters Inc.", "FL"),
    ("Magnolia Home Care Services LLC", "GA"),
    ("Lakeview Poultry Processing Co.", "NC"),
    ("Central Valley Produce Packers", "CA"),
]
BAR_DIGITS = {"FL": 7, "TX": 8, "GA": 6, "NC": 5, "OH": 7, "PA": 6, "NY": 7, "CA": 6}

PROVIDERS: dict[str, tuple[str, ...]] = {
    "hospital": ("Mercy General Hospital", "Lakeshore Regional Medical Center",
                 "St. Brendan Community Hospital", "Pinecrest Memorial Hospital",
                 "Cedar Valley Medical Center"),
    "ed_group": ("Bayview Emergency Physicians", "Front Line Emergency Medicine Associates",
                 "Lakeshore Emergency Physician Group"),
    "ambulance": ("Crescent County EMS", "Lifeline Ambulance Services", "Rapid Response Medical Transport"),
    "imaging": ("Riverbend Imaging Associates", "ClearView Radiology Group"),
    "ortho": ("Northpoint Orthopaedic Associates", "Summit Bone & Joint Clinic",
              "Harborside Orthopedics"),
    "surgery": ("Clearwater Surgical Group", "Meadowbrook General Surgery"),
    "pt": ("Keystone Physical Therapy", "Stride Rehab & Physical Therapy", "MotionWorks Therapy Center"),
    "pcp": ("Summit Family Medicine", "Harbor Community Health Center", "Oakridge Primary Care",
            "Southgate Family Practice"),
    "behavioral": ("Beacon Behavioral Health",),
    "lab": ("Meridian Clinical Laboratories",),
    "dme": ("Cornerstone Medical Supply",),
}  # fmt: skip

# Injuries: (ICD-10-CM initial, subsequent, imaging (code, paid), surgery (code, paid) | None,
# inpatient days range, PT visits range, anesthesia (code, paid) | None)
INJURIES: dict[str, tuple] = {
    "whiplash": ("S134XXA", "S134XXD", ("72040", "38.00"), None, (0, 0), (8, 18), None),
    "concussion": ("S060X0A", "S060X0D", ("70450", "210.00"), None, (0, 0), (0, 4), None),
    "sternum": ("S2220XA", "S2220XD", ("71120", "32.00"), None, (0, 1), (0, 4), None),
    "lumbar": ("S335XXA", "S335XXD", ("72100", "36.00"), None, (0, 0), (6, 14), None),
    "tibia": ("S82201A", "S82201D", ("73590", "35.00"), ("27759", "1200.00"), (2, 4), (10, 20),
              ("01392", "240.00")),
    "lower_leg": ("S8290XA", "S8290XD", ("73590", "35.00"), None, (0, 1), (6, 12), None),
    "hip": ("S72001A", "S72001D", ("73502", "45.00"), ("27236", "1450.00"), (3, 5), (12, 24),
            ("01230", "260.00")),
    "humerus": ("S42201A", "S42201D", ("73060", "33.00"), ("23615", "1100.00"), (1, 2), (8, 16),
                ("01740", "220.00")),
    "wrist": ("S52501A", "S52501D", ("73110", "34.00"), ("25607", "780.00"), (0, 1), (6, 12),
              ("01830", "180.00")),
    "hand": ("S6290XA", "S6290XD", ("73130", "31.00"), None, (0, 0), (4, 8), None),
    "back_strain": ("S39012A", "S39012D", ("72100", "36.00"), None, (0, 0), (6, 12), None),
}  # fmt: skip
INJURIES_BY_KIND = {
    IncidentKind.AUTO: ("whiplash", "whiplash", "whiplash", "concussion", "sternum", "lumbar",
                        "tibia", "hip", "humerus", "wrist"),
    IncidentKind.PREMISES: ("hip", "wrist", "lower_leg", "concussion", "humerus", "back_strain"),
    IncidentKind.WORKERS_COMP: ("back_strain", "hand", "lower_leg", "wrist"),
}  # fmt: skip
EXTERNAL_CAUSES = {
    IncidentKind.AUTO: ("V4352XA", "V892XXA", "V4362XA"),
    IncidentKind.PREMISES: ("W010XXA", "W1830XA", "W108XXA", "W19XXXA"),
    IncidentKind.WORKERS_COMP: ("X500XXA", "W230XXA", "W1830XA"),
}
SECONDARY_INJURIES = ("S0083XA", "S20211A", "S0003XA")
# Unrelated care: (procedure, paid, diagnosis, provider kind)
UNRELATED = (
    ("99213", "75.00", "I10", "pcp"),
    ("99214", "110.00", "E119", "pcp"),
    ("83036", "10.00", "E119", "lab"),
    ("99213", "75.00", "J069", "pcp"),
    ("87880", "12.00", "J069", "lab"),
    ("99395", "95.00", "Z0000", "pcp"),
    ("80053", "11.00", "Z0000", "lab"),
    ("90834", "70.00", "F329", "behavioral"),
    ("99213", "75.00", "K219", "pcp"),
    ("85025", "8.00", "I10", "lab"),
)
ALL_ICD10_CODES = sorted(
    {code for injury in INJURIES.values() for code in injury[:2]}
    | {code for codes in EXTERNAL_CAUSES.values() for code in codes}
    | set(SECONDARY_INJURIES)
    | {row[2] for row in UNRELATED}
    | {"K8020", "T8141XA", "T8141XD", "Y838", "M5450", "M25561", "S60221A", "W230XXA"}
)

# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _money(base: str, rng: random.Random, spread: int = 10) -> Decimal:
    factor = Decimal(100 + rng.randint(-spread, spread)) / 100
    return (Decimal(base) * factor).quantize(CENT, rounding=ROUND_HALF_UP)


def _npi(name: str) -> str:
    """A made-up 10-digit NPI with a valid check digit (Luhn over the 80840 prefix)."""
    rng = random.Random(f"npi:{name}")
    body = "1" + "".join(str(rng.randint(0, 9)) for _ in range(8))
    digits = [int(ch) for ch in "80840" + body]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 0:
            digit *= 2
            digit = digit - 9 if digit > 9 else digit
        total += digit
    return body + str((10 - total % 10) % 10)


def _phone(rng: random.Random, area: str) -> str:
    return f"({area}) 555-01{rng.randint(0, 99):02d}"


def _slug(name: str) -> str:
    words = "".join(ch if ch.isalnum() else " " for ch in name.lower()).split()
    return "-".join(word for word in words[:3] if word not in {"llc", "pllc", "inc", "co"})


def _street(rng: random.Random) -> str:
    return f"{rng.randint(100, 9899)} {rng.choice(STREET_WORDS)} {rng.choice(STREET_SUFFIXES)}"


def _weighted(rng: random.Random, options: dict) -> object:
    return rng.choices(list(options), weights=list(options.values()))[0]


def _at(day: date, rng: random.Random, now: datetime) -> datetime:
    """A working-hours moment on `day`, never later than now."""
    moment = datetime.combine(
        day, time(rng.randint(8, 16), rng.choice((0, 10, 15, 20, 30, 40, 45, 50))),
        tzinfo=timezone.get_current_timezone(),
    )  # fmt: skip
    return min(moment, now - timedelta(minutes=1))


def _money_text(amount: Decimal) -> str:
    return f"${amount:,.2f}"


# --------------------------------------------------------------------------------------------
# Plans: everything random is drawn here, before the database is consulted
# --------------------------------------------------------------------------------------------


@dataclass
class LinePlan:
    service: date
    provider_kind: str
    procedure: str
    paid: Decimal
    diagnoses: tuple[str, ...]
    modifiers: str = ""
    indicator: str = ""
    occurrence: str = ""
    value: str = ""
    units_days: int = 0  # inpatient stay: service_to = service + days
    manual: str = ""  # "include" / "exclude": the specialist will overrule screening


@dataclass
class MemberPlan:
    key: int
    program_id: str
    first: str
    middle: str
    last: str
    dob: date
    ssn: str
    street: str
    unit: str
    city: str
    zip: str
    phone: str
    state: str
    expansion: bool
    spans: list[tuple[date, date | None]]
    encounters: list[list[LinePlan]] = field(default_factory=list)


@dataclass
class CasePlan:
    index: int
    member: MemberPlan
    kind: str
    injury: str
    incident: date
    description: str
    source: str
    priority: int
    status: str
    outcome: str
    intake: str  # specialist | supervisor_direct | supervisor_assign | queue
    firm_slot: str  # "attorney", "attorney2", "other", ""
    firm_pick: int
    insurer_pick: int
    limits: Decimal
    pip: bool
    mco: int | None
    opened: date
    rng_seed: str


def _member(seed: int, key: int, state: str, rng: random.Random, today: date, *, adult: bool):
    info = STATES[state]
    city, zip_prefix, area = rng.choice(info.cities)
    age = rng.randint(19, 63) if adult or rng.random() < 0.7 else rng.randint(4, 18)
    dob = today - timedelta(days=age * 365 + rng.randint(0, 364))
    scrambled = (key * 7919 + 123_457) % 1_000_000
    prefix = random.Random(f"{seed}:program-prefix").randint(100, 999)
    return MemberPlan(
        key=key,
        program_id=f"M{prefix}{scrambled:06d}",
        first=rng.choice(FIRST_NAMES),
        middle=rng.choice(MIDDLE_INITIALS) if rng.random() < 0.6 else "",
        last=rng.choice(LAST_NAMES),
        dob=dob,
        ssn=(
            f"9{rng.randint(0, 99):02d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
            if rng.random() < 0.75
            else ""
        ),
        street=_street(rng),
        unit=rng.choice(UNITS) if rng.random() < 0.3 else "",
        city=city,
        zip=f"{zip_prefix}{rng.randint(1, 99):02d}",
        phone=_phone(rng, area),
        state=state,
        expansion=info.expansion and 19 <= age <= 64 and rng.random() < 0.25,
        spans=[],
    )


def _eligibility(rng: random.Random, incident: date, today: date, *, eligible: bool):
    start = incident - timedelta(days=rng.randint(120, 2400))
    if eligible:
        end = None if rng.random() < 0.85 else today + timedelta(days=rng.randint(30, 300))
        return [(start, end)]
    # A gap in coverage around the incident: intake warns, screening excludes lines in the gap.
    first_end = incident - timedelta(days=rng.randint(10, 60))
    second_start = incident + timedelta(days=rng.randint(15, 45))
    return [(start, first_end), (min(second_start, today), None)]


def _encounters(
    rng, *, kind, injury, incident, today, state, passenger=False
) -> list[list[LinePlan]]:
    """The injury's episode of care, unrelated visits before and after it, all paid by today."""
    info = STATES[state]
    a_code, d_code, imaging, surgery, stay, pt_range, anesthesia = INJURIES[injury]
    external = rng.choice(EXTERNAL_CAUSES[kind])
    if passenger:
        external = "V4362XA"  # car passenger injured in collision with a car, traffic
    indicator = {"auto": "AA", "workers_comp": "EM"}.get(kind, "OA" if rng.random() < 0.3 else "")
    occurrence = {"auto": "01", "premises": "03", "workers_comp": "04"}[kind]
    value = {"workers_comp": "15"}.get(kind, "14" if kind == "auto" and info.no_fault else "")
    dx = (a_code, external) + ((rng.choice(SECONDARY_INJURIES),) if rng.random() < 0.3 else ())
    day0 = incident
    out: list[list[LinePlan]] = []
    # Day of the incident: ambulance, emergency department (facility + physician), imaging.
    if rng.random() < (0.75 if kind == "auto" else 0.35):
        out.append([
            LinePlan(day0, "ambulance", "A0429", _money("420.00", rng), dx, indicator=indicator),
            LinePlan(day0, "ambulance", "A0425", _money("64.00", rng, 30), dx, indicator=indicator),
        ])  # fmt: skip
    ed_code, ed_paid = ("99284", "290.00") if surgery or rng.random() < 0.5 else ("99283", "180.00")
    out.append([
        LinePlan(day0, "hospital", "0450", _money("1100.00", rng), dx, occurrence=occurrence, value=value),
        LinePlan(day0, "hospital", "J1885", _money("3.00", rng, 20), dx, occurrence=occurrence, value=value),
    ])  # fmt: skip
    out.append([LinePlan(day0, "ed_group", ed_code, _money(ed_paid, rng), dx, indicator=indicator)])
    out.append([LinePlan(day0, "imaging", imaging[0], _money(imaging[1], rng), dx, modifiers="26")])
    if injury == "concussion" or "S0083XA" in dx:
        out[-1].append(
            LinePlan(day0, "imaging", "70450", _money("210.00", rng), dx, modifiers="26")
        )
    # Inpatient stay and surgery.
    days = rng.randint(*stay)
    if surgery and (days or rng.random() < 0.5):
        days = max(days, 1)
        out.append([
            LinePlan(day0, "hospital", "0120", _money("880.00", rng) * days, dx,
                     occurrence=occurrence, value=value, units_days=days),
        ])  # fmt: skip
        surgeon = [LinePlan(day0, "ortho", surgery[0], _money(surgery[1], rng), dx, modifiers="RT")]
        surgeon.append(LinePlan(day0, "ortho", "99223", _money("155.00", rng), dx))
        out.append(surgeon)
        if anesthesia:
            out.append([LinePlan(day0, "hospital", anesthesia[0], _money(anesthesia[1], rng), dx)])
        out.append(
            [LinePlan(day0 + timedelta(days=days), "dme", "E0143", _money("65.00", rng), (a_code,))]
        )
    elif days:
        out.append([
            LinePlan(day0, "hospital", "0120", _money("880.00", rng) * days, dx,
                     occurrence=occurrence, value=value, units_days=days),
        ])  # fmt: skip
    # Follow-up visits with the subsequent-encounter code.
    follow_dx = (d_code, external) if rng.random() < 0.4 else (d_code,)
    follow_indicator = indicator if rng.random() < 0.3 else ""
    for weeks in (2, 6, 12)[: rng.randint(1, 3)]:
        day = day0 + timedelta(days=weeks * 7 + rng.randint(-2, 3))
        visit = [LinePlan(day, "ortho" if surgery else "pcp", rng.choice(("99213", "99214")),
                          Decimal(0), follow_dx, indicator=follow_indicator)]  # fmt: skip
        visit[0].paid = _money("75.00" if visit[0].procedure == "99213" else "110.00", rng)
        if rng.random() < 0.5:
            visit.append(LinePlan(day, "imaging", imaging[0], _money(imaging[1], rng), follow_dx))
        out.append(visit)
    # Physical therapy: an evaluation, then two visits a week of two or three units.
    visits = rng.randint(*pt_range)
    unrelated_dx_pt = rng.random() < 0.1  # billed with a symptom code: screening misses them
    pt_dx = (rng.choice(("M5450", "M25561")),) if unrelated_dx_pt else (d_code,)
    if visits:
        start = day0 + timedelta(days=rng.randint(10, 21) + days)
        manual = "include" if unrelated_dx_pt else ""
        out.append(
            [
                LinePlan(
                    start, "pt", "97161", _money("85.00", rng), pt_dx, modifiers="GP", manual=manual
                )
            ]
        )
        for n in range(visits):
            day = start + timedelta(days=3 + n * 3 + n // 2)
            session = [LinePlan(day, "pt", "97110", _money("32.00", rng) * rng.randint(1, 2), pt_dx,
                                modifiers="GP", manual=manual)]  # fmt: skip
            if rng.random() < 0.6:
                code, paid = rng.choice(
                    (("97140", "28.00"), ("97530", "34.00"), ("97112", "33.00"))
                )
                session.append(
                    LinePlan(
                        day, "pt", code, _money(paid, rng), pt_dx, modifiers="GP", manual=manual
                    )
                )
            out.append(session)
    # Unrelated care after the incident (excluded by screening), now and then a separate injury.
    for _ in range(rng.randint(1, 3)):
        code, paid, diagnosis, provider = rng.choice(UNRELATED)
        day = day0 + timedelta(days=rng.randint(5, 400))
        out.append([LinePlan(day, provider, code, _money(paid, rng), (diagnosis,))])
    if rng.random() < 0.1:
        day = day0 + timedelta(days=rng.randint(20, 90))
        out.append(
            [
                LinePlan(
                    day,
                    "pcp",
                    "99213",
                    _money("75.00", rng),
                    ("S60221A", "W230XXA"),
                    manual="exclude",
                )
            ]
        )
    if indicator and rng.random() < 0.1:
        # A routine visit billed with the accident indicator by mistake: screening includes it.
        day = day0 + timedelta(days=rng.randint(10, 60))
        code, paid, diagnosis, provider = rng.choice(UNRELATED[:4])
        out.append(
            [
                LinePlan(
                    day,
                    provider,
                    code,
                    _money(paid, rng),
                    (diagnosis,),
                    indicator=indicator,
                    manual="exclude",
                )
            ]
        )
    return out


def _malpractice_encounters(rng, *, incident) -> list[list[LinePlan]]:
    """A cholecystectomy followed by a surgical-site infection (review-level codes)."""
    day0 = incident
    dx_a, dx_d = ("T8141XA", "Y838"), ("T8141XD",)
    out = [
        [LinePlan(day0, "surgery", "47562", _money("650.00", rng), ("K8020",))],
        [LinePlan(day0, "hospital", "00790", _money("210.00", rng), ("K8020",))],
        [LinePlan(day0, "hospital", "0360", _money("1900.00", rng), ("K8020",))],
    ]
    readmit = day0 + timedelta(days=rng.randint(6, 12))
    days = rng.randint(2, 5)
    out.append([
        LinePlan(readmit, "hospital", "0450", _money("1100.00", rng), dx_a),
        LinePlan(readmit, "hospital", "0120", _money("880.00", rng) * days, dx_a, units_days=days),
        LinePlan(readmit, "hospital", "J0696", _money("2.00", rng, 20), dx_a),
    ])  # fmt: skip
    out.append([
        LinePlan(readmit, "surgery", "10180", _money("175.00", rng), dx_a),
        LinePlan(readmit, "surgery", "99223", _money("155.00", rng), dx_a),
    ])  # fmt: skip
    out.append([LinePlan(readmit, "lab", "87070", _money("11.00", rng), dx_a)])
    for n in range(rng.randint(3, 8)):
        day = readmit + timedelta(days=days + 4 + n * 7)
        out.append([LinePlan(day, "surgery", "97597", _money("58.00", rng), dx_d)])
    for _ in range(rng.randint(1, 3)):
        code, paid, diagnosis, provider = rng.choice(UNRELATED)
        day = day0 + timedelta(days=rng.randint(30, 300))
        out.append([LinePlan(day, provider, code, _money(paid, rng), (diagnosis,))])
    return out


def _before(rng, incident) -> list[list[LinePlan]]:
    """Routine care before the incident: never on the case."""
    out = []
    for _ in range(rng.randint(1, 4)):
        code, paid, diagnosis, provider = rng.choice(UNRELATED)
        day = incident - timedelta(days=rng.randint(20, 500))
        out.append([LinePlan(day, provider, code, _money(paid, rng), (diagnosis,))])
    return out


def _paid_by_today(encounters, rng, today, limit: int | None = None):
    """Keep what would have been paid by today, in service order, at most `limit` lines."""
    kept: list[list[LinePlan]] = []
    total = 0
    for encounter in sorted(encounters, key=lambda lines: lines[0].service):
        if encounter[0].service + timedelta(days=14) > today:
            continue
        if limit is not None and total + len(encounter) > limit:
            break
        kept.append(encounter)
        total += len(encounter)
    return kept


def _covered(encounters, spans, *, keep_one: bool) -> list[list[LinePlan]]:
    """The program pays only while the member is eligible; `keep_one` keeps the first hospital
    claim outside eligibility (a retroactive correction) so screening shows that exclusion."""
    kept = []
    for encounter in encounters:
        day = encounter[0].service
        if any(start <= day and (end is None or day <= end) for start, end in spans):
            kept.append(encounter)
        elif keep_one and encounter[0].provider_kind == "hospital":
            kept.append(encounter)
            keep_one = False
    return kept


DESCRIPTIONS = {
    "auto": (
        "Member was the driver; rear-ended at a red light by another vehicle.",
        "Member was a passenger in a car struck broadside at an intersection.",
        "Two-car collision on the interstate; other driver cited for following too closely.",
        "Member's car was hit by a delivery van making a left turn.",
        "Multi-vehicle collision in heavy rain; police report requested.",
    ),
    "premises": (
        "Slipped on a wet floor in a grocery store aisle; no warning sign.",
        "Tripped on a broken step at an apartment complex.",
        "Fell in a poorly lit parking garage stairwell.",
        "Slipped on spilled liquid at a restaurant.",
    ),
    "malpractice": (
        "Post-operative infection after laparoscopic cholecystectomy; member alleges "
        "improper wound care and delayed diagnosis.",
    ),
    "workers_comp": (
        "Injured lifting freight at work; employer's comp carrier notified.",
        "Hand caught in conveyor equipment at a processing plant.",
        "Fell from a ladder while working on a roof.",
    ),
}

STATUS_ORDER = ["new", "research", "notice", "follow_up", "settlement", "closed"]


def _status_for(rng: random.Random, outcome_rng: random.Random, age_days: int) -> tuple[str, str]:
    if age_days < 60:
        status = _weighted(rng, {"new": 40, "research": 45, "notice": 15})
    elif age_days < 365:
        status = _weighted(
            rng,
            {"new": 5, "research": 28, "notice": 25, "follow_up": 27, "settlement": 8, "closed": 7},
        )
    elif age_days < 730:
        status = _weighted(
            rng, {"research": 8, "notice": 12, "follow_up": 32, "settlement": 20, "closed": 28}
        )
    else:
        status = _weighted(rng, {"notice": 5, "follow_up": 25, "settlement": 15, "closed": 55})
    outcome = ""
    if status == "closed":
        outcome = _weighted(
            outcome_rng,
            {
                "recovered_full": 38,
                "compromised": 27,
                "waived": 7,
                "uncollectible": 8,
                "withdrawn": 10,
                "no_liability": 12,
            },
        )
    return status, outcome


def _case_plan(seed: int, index: int, today: date) -> CasePlan:
    rng = random.Random(f"{seed}:case:{index}")
    if index % 14 == 3:
        firm_slot, states = "attorney", ("FL", "FL", "GA")
    elif index % 20 == 10:
        firm_slot, states = "attorney2", ("TX", "TX", "CA")
    else:
        firm_slot, states = "", tuple(STATES)
    state = rng.choices(states, weights=[STATES[s].weight for s in states])[0]
    kind = _weighted(
        rng,
        {
            IncidentKind.AUTO: 66,
            IncidentKind.PREMISES: 18,
            IncidentKind.MALPRACTICE: 8,
            IncidentKind.WORKERS_COMP: 8,
        },
    )
    injury = rng.choice(INJURIES_BY_KIND.get(kind, ("whiplash",)))
    queue = index % 13 == 6  # left unassigned in the team's queue: a fresh intake
    age_days = rng.randint(20, 240 if queue else 1095)
    incident = today - timedelta(days=age_days)
    status, outcome = (
        ("new", "")
        if queue
        else _status_for(rng, random.Random(f"{seed}:outcome:{index}"), age_days)
    )
    source = _weighted(
        rng,
        {
            Case.Source.ATTORNEY_LETTER: 45,
            Case.Source.INSURER_NOTICE: 15,
            Case.Source.QUESTIONNAIRE: 10,
            Case.Source.SCREENING: 22,
            Case.Source.COURT_NOTICE: 3,
            Case.Source.OTHER: 5,
        },
    )
    if firm_slot:
        source = Case.Source.ATTORNEY_LETTER
    elif (
        source == Case.Source.ATTORNEY_LETTER
        or STATUS_ORDER.index(status) >= 2
        and rng.random() < 0.75
    ):
        firm_slot = "other"
    lag = rng.randint(3, max(4, min(120, age_days // 3)))
    opened = min(incident + timedelta(days=lag), today - timedelta(days=3))
    if status == "new":  # new cases are recent intakes, whenever the incident was
        opened = max(incident + timedelta(days=3), today - timedelta(days=rng.randint(0, 14)))
    member = _member(seed, index, state, rng, today, adult=kind == IncidentKind.WORKERS_COMP)
    # ~5% were not eligible on the incident date (enrolled after it): never a malpractice case,
    # whose surgery the program paid.
    eligible = rng.random() >= 0.05 or kind == IncidentKind.MALPRACTICE
    member.spans = _eligibility(rng, incident, today, eligible=eligible)
    if member.expansion:
        # Expansion adults became eligible in 2014 or later.
        member.spans = [(max(start, date(2014, 1, 1)), end) for start, end in member.spans]
    if kind == IncidentKind.MALPRACTICE:
        encounters = _malpractice_encounters(rng, incident=incident)
    else:
        encounters = _encounters(
            rng,
            kind=kind,
            injury=injury,
            incident=incident,
            today=today,
            state=state,
            passenger=kind == IncidentKind.AUTO and (incident - member.dob).days < 16 * 365,
        )
    keep_gap_claim = rng.random() < 0.5
    after = _paid_by_today(
        _covered(encounters, member.spans, keep_one=keep_gap_claim),
        rng,
        today,
        limit=rng.randint(5, 40),
    )
    before = _covered(_before(rng, incident), member.spans, keep_one=False)
    member.encounters = _paid_by_today(before, rng, today) + after
    return CasePlan(
        index=index,
        member=member,
        kind=kind,
        injury=injury,
        incident=incident,
        description=DESCRIPTIONS[kind][1]
        if kind == IncidentKind.AUTO and (incident - member.dob).days < 16 * 365
        else rng.choice(DESCRIPTIONS[kind]),
        source=source,
        priority=_weighted(
            rng, {Case.Priority.HIGH: 15, Case.Priority.NORMAL: 70, Case.Priority.LOW: 15}
        ),
        status=status,
        outcome=outcome,
        intake="queue"
        if queue
        else _weighted(rng, {"specialist": 60, "supervisor_direct": 15, "supervisor_assign": 25}),
        firm_slot=firm_slot,
        firm_pick=rng.randint(0, 10_000),
        insurer_pick=rng.randint(0, 10_000),
        limits=Decimal(
            rng.choice(("25000.00", "25000.00", "30000.00", "50000.00", "100000.00", "250000.00"))
        ),
        pip=kind == IncidentKind.AUTO and STATES[state].no_fault and rng.random() < 0.5,
        mco=rng.randrange(len(HEALTH_PLANS)) if rng.random() < 0.15 else None,
        opened=opened,
        rng_seed=f"{seed}:flow:{index}",
    )


def _lead_plan(seed: int, number: int, today: date) -> MemberPlan:
    rng = random.Random(f"{seed}:lead:{number}")
    state = rng.choices(list(STATES), weights=[s.weight for s in STATES.values()])[0]
    kind = _weighted(rng, {IncidentKind.AUTO: 70, IncidentKind.PREMISES: 30})
    injury = rng.choice(INJURIES_BY_KIND[kind])
    incident = today - timedelta(days=rng.randint(30, 200))
    member = _member(seed, LEAD_OFFSET + number, state, rng, today, adult=False)
    member.spans = _eligibility(rng, incident, today, eligible=True)
    encounters = _encounters(
        rng, kind=kind, injury=injury, incident=incident, today=today, state=state
    )
    before = _covered(_before(rng, incident), member.spans, keep_one=False)
    member.encounters = _paid_by_today(before, rng, today) + _paid_by_today(
        encounters, rng, today, limit=rng.randint(3, 10)
    )
    return member


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


@dataclass
class Directory:
    jurisdictions: dict[str, Jurisdiction]
    firms: list[Party]
    firm_state: dict[int, str]
    insurers: dict[str, list[Party]]
    health_plans: list[Party]
    courts: dict[str, Party]
    employers: list[Party]
    employer_state: dict[int, str]


def _party(kind: str, name: str, **fields) -> Party:
    party = Party.objects.filter(kind=kind, name=name).first()
    if party is None:
        party = Party.objects.create(kind=kind, name=name, **fields)
    return party


def _address(rng: random.Random, state: str) -> dict:
    city, zip_prefix, area = rng.choice(STATES[state].cities)
    return {
        "address_line1": _street(rng),
        "address_line2": rng.choice(("Suite 200", "Suite 410", "Floor 3", "Suite 1100", "")),
        "city": city,
        "state": state,
        "postal_code": f"{zip_prefix}{rng.randint(1, 99):02d}",
        "phone": _phone(rng, area),
        "fax": _phone(rng, area),
    }


def _ensure_reference(seed: int, users: dict[str, User]) -> Directory:
    jurisdictions = {}
    for code, info in STATES.items():
        jurisdiction, _ = Jurisdiction.objects.get_or_create(
            code=code, defaults={"name": info.name, "default_sol_years": info.sol_years}
        )
        jurisdictions[code] = jurisdiction
        SolRule.objects.get_or_create(
            jurisdiction=jurisdiction,
            incident_kind="",
            defaults={"years": info.sol_years, "citation": info.sol_citation},
        )
    for code, kind, years, citation in SOL_RULES:
        SolRule.objects.get_or_create(
            jurisdiction=jurisdictions[code],
            incident_kind=kind,
            defaults={"years": years, "citation": citation},
        )

    rng = random.Random(f"{seed}:parties")
    firms, firm_state = [], {}
    for number, (name, state, lawyers) in enumerate(LAW_FIRMS):
        firm = _party(
            Party.Kind.LAW_FIRM,
            name,
            email=f"intake@{_slug(name)}.example",
            contact_name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)} (paralegal)",
            **_address(rng, state),
        )
        firms.append(firm)
        firm_state[firm.pk] = state
        names = [f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}" for _ in range(lawyers)]
        portal_user = users.get({0: "attorney", 1: "attorney2"}.get(number, ""))
        if portal_user is not None and portal_user.get_full_name():
            names[0] = portal_user.get_full_name()
        for lawyer in names:
            # Drawn whether or not the attorney exists, so reruns draw the same numbers.
            bar_rng = random.Random(f"{seed}:bar:{name}:{lawyer}")
            bar_number = "".join(str(bar_rng.randint(0, 9)) for _ in range(BAR_DIGITS[state]))
            if not Party.objects.filter(kind=Party.Kind.ATTORNEY, name=lawyer, firm=firm).exists():
                first, last = lawyer.split(" ", 1)
                Party.objects.create(
                    kind=Party.Kind.ATTORNEY,
                    name=lawyer,
                    firm=firm,
                    bar_number=bar_number,
                    email=f"{first[0].lower()}{last.lower().replace(' ', '')}@{_slug(name)}.example",
                    phone=firm.phone,
                    **{
                        k: getattr(firm, k)
                        for k in ("address_line1", "address_line2", "city", "state", "postal_code")
                    },
                )
    insurers: dict[str, list[Party]] = {}
    for name, naic, business in INSURERS:
        insurer = _party(
            Party.Kind.LIABILITY_INSURER,
            name,
            naic_code=naic,
            email=f"claims@{_slug(name)}.example",
            contact_name="Claims intake",
            **_address(rng, rng.choice(list(STATES))),
        )
        insurers.setdefault(business, []).append(insurer)
    health_plans = [
        _party(
            Party.Kind.HEALTH_PLAN, name, email=f"tpl@{_slug(name)}.example", **_address(rng, state)
        )
        for name, state in HEALTH_PLANS
    ]
    courts = {
        state: _party(Party.Kind.COURT, name, **_address(rng, state)) for name, state in COURTS
    }
    employers, employer_state = [], {}
    for name, state in EMPLOYERS:
        employer = _party(
            Party.Kind.EMPLOYER, name, contact_name="Human resources", **_address(rng, state)
        )
        employers.append(employer)
        employer_state[employer.pk] = state
    for username, firm in (("attorney", firms[0]), ("attorney2", firms[1])):
        user = users.get(username)
        if user is not None and user.party_id != firm.pk:
            user.party = firm
            user.save(update_fields=["party"])
    return Directory(
        jurisdictions, firms, firm_state, insurers, health_plans, courts, employers, employer_state
    )


def _create_member(plan: MemberPlan) -> Member:
    member = Member(
        program_id=plan.program_id,
        ssn=plan.ssn,
        first_name=plan.first,
        middle_name=plan.middle,
        last_name=plan.last,
        date_of_birth=plan.dob.isoformat(),
        address_line1=plan.street,
        address_line2=plan.unit,
        city=plan.city,
        state=plan.state,
        postal_code=plan.zip,
        phone=plan.phone,
    )
    member.save()
    for start, end in plan.spans:
        EligibilitySpan.objects.create(
            member=member,
            start=start,
            end=end,
            program="Medicaid expansion adult" if plan.expansion else "Medicaid FFS",
        )
    return member


def _claim_lines(
    member: Member, plan: MemberPlan, rng: random.Random, today: date
) -> list[ClaimLine]:
    info = STATES[plan.state]
    eligibility = tuple(plan.spans)
    rows = []
    for claim_seq, encounter in enumerate(plan.encounters, start=1):
        first = encounter[0]
        claim_number = f"{first.service:%y%j}{plan.program_id[1:]}{claim_seq:03d}"
        paid_date = min(first.service + timedelta(days=rng.randint(14, 45)), today)
        provider = rng.choice(PROVIDERS[first.provider_kind])
        for line_number, line in enumerate(encounter, start=1):
            result = screening.screen_line(
                screening.ScreeningInput(
                    diagnosis_codes=line.diagnoses,
                    code_set="ICD10",
                    accident_indicator=line.indicator,
                    occurrence_codes=(line.occurrence,) if line.occurrence else (),
                    value_codes=(line.value,) if line.value else (),
                    service_from=line.service,
                ),
                eligibility=eligibility,
            )
            rate = EXPANSION_RATE if plan.expansion else info.fmap
            rows.append(
                ClaimLine(
                    member=member,
                    claim_number=claim_number,
                    line_number=line_number,
                    provider_npi=_npi(provider),
                    provider_name=provider,
                    service_from=line.service,
                    service_to=line.service + timedelta(days=line.units_days),
                    procedure_code=line.procedure,
                    modifiers=line.modifiers,
                    diagnosis_codes=" ".join(line.diagnoses),
                    code_set="ICD10",
                    billed_amount=(
                        line.paid * Decimal(rng.choice(("1.8", "2.2", "2.6", "3.1")))
                    ).quantize(CENT),
                    allowed_amount=line.paid,
                    paid_amount=line.paid,
                    paid_date=paid_date,
                    accident_indicator=line.indicator,
                    accident_state=plan.state if line.indicator or line.occurrence else "",
                    accident_date=first.service if line.indicator or line.occurrence else None,
                    occurrence_codes=line.occurrence,
                    value_codes=line.value,
                    fmap_rate=rate,
                    screening_decision=str(result.decision),
                    screening_rule=result.rule[:40],
                    screening_reason=result.reason[:300],
                    opens_case=result.opens_case,
                    source="demo",
                )
            )
    return rows


ATTORNEY_OUTCOMES = (
    "Left voicemail for the paralegal",
    "Paralegal confirmed receipt of the lien notice",
    "Client still treating; no demand yet",
    "Demand package sent to the carrier; awaiting an offer",
    "Attorney asked for an updated itemized statement",
    "No answer; will try again next week",
    "Negotiations ongoing; carrier offered less than limits",
)
INSURER_OUTCOMES = (
    "Adjuster confirmed the claim is open; liability accepted",
    "Adjuster reviewing medical specials",
    "Adjuster confirmed our lien is on file",
    "Claim in litigation; defense counsel assigned",
    "Adjuster out of office; left message",
)


class _CaseRun:
    """Walks one case from intake to its planned status, acting as the people who would."""

    def __init__(self, plan: CasePlan, member: Member, users: dict[str, User], directory: Directory,
                 today: date, now: datetime) -> None:  # fmt: skip
        self.plan = plan
        self.member = member
        self.directory = directory
        self.today = today
        self.now = now
        self.rng = random.Random(plan.rng_seed)
        info = STATES[member.state]
        east = info.team == EAST
        self.users = users
        self.specialist = users["specialist" if east else "specialist2"]
        self.supervisor = users["supervisor" if east else "supervisor2"]
        # Money steps draw from their own stream, so the rest of the walk stays as it was.
        self.money_rng = random.Random(f"{plan.rng_seed}:money")
        self.settlement = None
        self.jurisdiction = directory.jurisdictions[member.state]
        self.attorney = None
        self.insurer = None
        self.limits = plan.limits

    # -- timeline ----------------------------------------------------------------------------

    def _timeline(self) -> dict[str, date]:
        plan, rng = self.plan, self.rng
        span = max(1, (self.today - plan.opened).days)
        steps = STATUS_ORDER.index(plan.status)
        points = {"opened": plan.opened}
        fractions = {
            "research": rng.uniform(0.01, 0.06),
            "notice": rng.uniform(0.08, 0.2),
            "follow_up": rng.uniform(0.25, 0.45),
            "settlement": rng.uniform(0.55, 0.8),
            "closed": rng.uniform(0.85, 0.97),
        }
        if plan.status in ("research", "notice", "follow_up", "settlement"):
            # The current stage runs up to today: stretch the earlier ones less.
            scale = {"research": 6, "notice": 1.6, "follow_up": 1.2, "settlement": 1.05}[
                plan.status
            ]
            fractions = {k: min(0.97, v * scale) for k, v in fractions.items()}
        previous = plan.opened
        for name in STATUS_ORDER[1 : steps + 1]:
            day = max(previous, plan.opened + timedelta(days=int(span * fractions[name])))
            day = min(day, self.today)
            points[name] = day
            previous = day
        return points

    # -- steps -------------------------------------------------------------------------------

    def run(self) -> Case:
        plan = self.plan
        points = self._timeline()
        case = self._intake()
        actor = case.assigned_to or self.supervisor
        with acting_as(actor):
            self._parties_at_intake(case, actor, points["opened"])
            if STATUS_ORDER.index(plan.status) >= 1:
                case = self._research(case, actor, points)
            if STATUS_ORDER.index(plan.status) >= 2 and plan.outcome != "withdrawn":
                case = self._notice(case, actor, points)
            if STATUS_ORDER.index(plan.status) >= 3 and plan.outcome != "withdrawn":
                case = self._follow_up(case, actor, points)
            if plan.status == "settlement" or plan.outcome in (
                "recovered_full",
                "compromised",
                "waived",
            ):
                case = self._settlement(case, actor, points)
            self._statute(case, actor, points)
            if plan.status == "closed":
                case = self._close(case, actor, points)
            elif plan.status == "new":
                self._initial_review(case, actor)
            elif plan.status == "research":
                add_deadline(
                    case=case,
                    created_by=actor,
                    kind=Deadline.Kind.FOLLOW_UP,
                    title="Follow up on the information request",
                    due_date=self._due_relative_to_today(),
                )
        Case.objects.filter(pk=case.pk).update(
            opened_at=_at(points["opened"], self.rng, self.now),
            closed_at=_at(points["closed"], self.rng, self.now)
            if plan.status == "closed"
            else None,
        )
        return case

    def _intake(self) -> Case:
        plan = self.plan
        creator = self.specialist if plan.intake == "specialist" else self.supervisor
        with acting_as(creator):
            case = open_case(
                created_by=creator,
                member=self.member,
                incident_date=plan.incident,
                incident_kind=plan.kind,
                jurisdiction=self.jurisdiction,
                source=plan.source,
                incident_description=plan.description,
                priority=plan.priority,
                assigned_to=self.specialist if plan.intake == "supervisor_direct" else None,
                today=self.today,
            )
        if plan.intake == "supervisor_assign":
            with acting_as(self.supervisor):
                case = assign_case(
                    case=case,
                    assignee=self.specialist,
                    assigned_by=self.supervisor,
                    note=self.rng.choice(
                        ("New intake", "Round-robin assignment", "Workload balancing")
                    ),
                )
        return case

    def _firm(self) -> Party | None:
        plan, directory = self.plan, self.directory
        if plan.firm_slot == "attorney":
            return directory.firms[0]
        if plan.firm_slot == "attorney2":
            return directory.firms[1]
        if plan.firm_slot == "other":
            others = directory.firms[2:]
            local = [f for f in others if directory.firm_state[f.pk] == self.member.state]
            pool = local or others
            return pool[plan.firm_pick % len(pool)]
        return None

    def _add_attorney(self, case: Case, actor: User, day: date) -> None:
        firm = self._firm()
        if firm is None or self.attorney is not None:
            return
        add_case_party(
            case=case, party=firm, role=CaseParty.Role.ATTORNEY_OF_RECORD, added_by=actor
        )
        self.attorney = firm
        log_activity(
            case=case,
            logged_by=actor,
            kind=Activity.Kind.LETTER,
            direction=Activity.Direction.INBOUND,
            party=firm,
            subject="Letter of representation received",
            outcome="Attorney of record added; client authorization on file",
            occurred_at=_at(day, self.rng, self.now),
        )

    def _add_insurer(self, case: Case, actor: User) -> None:
        if self.insurer is not None:
            return
        plan, rng = self.plan, self.rng
        business = {"auto": "auto", "premises": "premises", "malpractice": "malpractice"}.get(
            plan.kind, "workers_comp"
        )
        pool = self.directory.insurers[business]
        if business == "premises":
            pool = pool + self.directory.insurers["auto"][:2]  # homeowners / commercial lines
        insurer = pool[plan.insurer_pick % len(pool)]
        initials = "".join(word[0] for word in insurer.name.split()[:3]).upper()
        adjuster_first, adjuster_last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        add_case_party(
            case=case,
            party=insurer,
            role=CaseParty.Role.LIABILITY_INSURER,
            added_by=actor,
            claim_number=f"{initials}-{plan.incident:%y}-{rng.randint(1000000, 9999999)}",
            policy_number=f"{initials[:2]}{rng.randint(100, 999)}-{rng.randint(10000, 99999)}",
            policy_limits=self.limits if plan.kind != "workers_comp" else None,
            adjuster_name=f"{adjuster_first} {adjuster_last}",
            adjuster_phone=_phone(rng, STATES[self.member.state].cities[0][2]),
            adjuster_email=f"{adjuster_first[0].lower()}{adjuster_last.lower()}@{_slug(insurer.name)}.example",
        )
        self.insurer = insurer
        if plan.pip:
            pip = self.directory.insurers["auto"][
                (plan.insurer_pick + 1) % len(self.directory.insurers["auto"])
            ]
            add_case_party(
                case=case,
                party=pip,
                role=CaseParty.Role.MEMBER_INSURER,
                added_by=actor,
                claim_number=f"PIP-{rng.randint(100000, 999999)}",
                policy_limits=Decimal("10000.00"),
            )
        if plan.mco is not None:
            add_case_party(
                case=case,
                party=self.directory.health_plans[plan.mco],
                role=CaseParty.Role.HEALTH_PLAN,
                added_by=actor,
            )
        if plan.kind == IncidentKind.WORKERS_COMP:
            employers = self.directory.employers
            local = [
                e for e in employers if self.directory.employer_state[e.pk] == self.member.state
            ]
            employer = (local or employers)[plan.firm_pick % len(local or employers)]
            add_case_party(case=case, party=employer, role=CaseParty.Role.EMPLOYER, added_by=actor)

    def _parties_at_intake(self, case: Case, actor: User, day: date) -> None:
        if self.plan.source == Case.Source.ATTORNEY_LETTER:
            self._add_attorney(case, actor, day)
        if self.plan.source == Case.Source.INSURER_NOTICE:
            self._add_insurer(case, actor)
            log_activity(
                case=case,
                logged_by=actor,
                kind=Activity.Kind.FAX,
                direction=Activity.Direction.INBOUND,
                party=self.insurer,
                subject="Insurer notice of claim received",
                outcome="Claim and policy numbers recorded",
                occurred_at=_at(day, self.rng, self.now),
            )

    def _research(self, case: Case, actor: User, points) -> Case:
        rng = self.rng
        day = points["research"]
        case = change_status(case=case, status=Case.Status.RESEARCH, changed_by=actor)
        eligible = any(span.covers(case.incident_date) for span in self.member.eligibility.all())
        log_activity(
            case=case,
            logged_by=actor,
            kind=Activity.Kind.NOTE,
            direction=Activity.Direction.INTERNAL,
            subject="Eligibility checked for the date of injury",
            outcome="Eligible on the date of injury"
            if eligible
            else "NOT eligible on the date of injury: coverage gap; lines in the gap excluded",
            occurred_at=_at(day, rng, self.now),
        )
        self._add_insurer(case, actor)
        if self.plan.kind == IncidentKind.AUTO:
            log_activity(
                case=case,
                logged_by=actor,
                kind=Activity.Kind.LETTER,
                subject="Crash report requested from the investigating agency",
                occurred_at=_at(day, rng, self.now),
            )
        if self.plan.firm_slot and rng.random() < 0.8:
            self._add_attorney(case, actor, day)
        self._manual_decisions(case, actor)
        return case

    def _manual_decisions(self, case: Case, actor: User) -> None:
        claims = list(
            case.case_claims.select_related("claim_line").order_by("claim_line__service_from")
        )
        plans = {
            (line.service, line.procedure, " ".join(line.diagnoses)): line.manual
            for encounter in self.plan.member.encounters
            for line in encounter
            if line.manual
        }
        for claim in claims:
            line = claim.claim_line
            wanted = plans.get((line.service_from, line.procedure_code, line.diagnosis_codes))
            if claim.needs_review and STATUS_ORDER.index(self.plan.status) >= 2:
                decide_claim(
                    case_claim=claim,
                    included=True,
                    reason="Treatment of the post-operative infection at issue in the claim; "
                    "related per the operative and readmission records",
                    decided_by=actor,
                )
            elif wanted == "include" and not claim.included:
                decide_claim(
                    case_claim=claim,
                    included=True,
                    reason="Physical therapy for the accident injuries (billed with a symptom "
                    "code); related per the treating provider's notes",
                    decided_by=actor,
                )
            elif wanted == "exclude" and claim.included:
                separate = "S60221A" in line.diagnosis_codes
                decide_claim(
                    case_claim=claim,
                    included=False,
                    reason="Separate incident: hand contusion from a household accident; not "
                    "related to this claim"
                    if separate
                    else "Routine care unrelated to the injury; the provider set the accident "
                    "indicator in error (confirmed by phone)",
                    decided_by=actor,
                )

    def _notice(self, case: Case, actor: User, points) -> Case:
        rng = self.rng
        day = points["notice"]
        if self.plan.firm_slot:
            self._add_attorney(case, actor, day)
        case = change_status(case=case, status=Case.Status.NOTICE, changed_by=actor)
        money.file_lien(case=case, actor=actor, party=self.attorney or self.insurer, day=day)
        case.refresh_from_db(fields=["lien_amount"])
        amount = _money_text(case.lien_amount)
        for party in (self.attorney, self.insurer):
            if party is not None:
                log_activity(
                    case=case,
                    logged_by=actor,
                    kind=Activity.Kind.LETTER,
                    party=party,
                    subject="Notice of lien with itemized statement",
                    outcome=f"Mailed certified; lien amount {amount}",
                    occurred_at=_at(day, rng, self.now),
                )
        due = day + timedelta(days=self.jurisdiction.response_days)
        deadline = add_deadline(
            case=case,
            created_by=actor,
            kind=Deadline.Kind.RESPONSE_DUE,
            title="Response to notice of lien due",
            due_date=due,
        )
        answered = STATUS_ORDER.index(self.plan.status) > 2 or rng.random() < 0.3
        if answered:
            complete_deadline(deadline=deadline, done_by=actor)
        return case

    def _follow_up(self, case: Case, actor: User, points) -> Case:
        rng = self.rng
        start = points["follow_up"]
        end = points.get("settlement") or points.get("closed") or self.today
        case = change_status(case=case, status=Case.Status.FOLLOW_UP, changed_by=actor)
        contacts = rng.randint(1, 4)
        for n in range(contacts):
            day = start + timedelta(days=int((end - start).days * n / contacts))
            party = rng.choice([p for p in (self.attorney, self.insurer) if p] or [None])
            kind = _weighted(
                rng, {Activity.Kind.CALL: 5, Activity.Kind.EMAIL: 3, Activity.Kind.FAX: 1}
            )
            outcome = rng.choice(INSURER_OUTCOMES if party is self.insurer else ATTORNEY_OUTCOMES)
            if (
                party is self.insurer
                and self.plan.kind != IncidentKind.WORKERS_COMP
                and rng.random() < 0.3
            ):
                outcome = f"Adjuster confirmed policy limits of {_money_text(self.limits)}"
            log_activity(
                case=case,
                logged_by=actor,
                kind=kind,
                direction=Activity.Direction.OUTBOUND,
                party=party,
                subject=f"Status check with {party}" if party else "Status check",
                outcome=outcome,
                occurred_at=_at(day, rng, self.now),
            )
        if self.plan.status == "follow_up":
            party = self.attorney or self.insurer
            log_activity(
                case=case,
                logged_by=actor,
                kind=Activity.Kind.CALL,
                party=party,
                subject=f"Follow-up call to {party}" if party else "Follow-up on claim status",
                outcome=rng.choice(ATTORNEY_OUTCOMES),
                occurred_at=_at(
                    min(self.today, max(start, self.today - timedelta(days=rng.randint(7, 40)))),
                    rng,
                    self.now,
                ),
                follow_up_on=self._due_relative_to_today(),
            )
        return case

    def _due_relative_to_today(self) -> date:
        bucket = _weighted(self.rng, {"overdue": 18, "today": 10, "week": 27, "later": 45})
        offset = {
            "overdue": -self.rng.randint(1, 21),
            "today": 0,
            "week": self.rng.randint(1, 6),
            "later": self.rng.randint(7, 60),
        }[bucket]
        return self.today + timedelta(days=offset)

    def _settlement(self, case: Case, actor: User, points) -> Case:
        rng = self.rng
        day = points["settlement"]
        case = change_status(case=case, status=Case.Status.SETTLEMENT, changed_by=actor)
        case.refresh_from_db(fields=["lien_amount"])
        if rng.random() < 0.4 or self.limits <= case.lien_amount * 2:
            gross = self.limits
            words = "policy-limits"
        else:
            multiple = Decimal(rng.choice(("2.5", "3", "4", "5")))
            gross = min(
                self.limits, (case.lien_amount * multiple / 1000).quantize(Decimal(1)) * 1000
            )
            gross = max(gross, Decimal("5000.00"))
            words = "negotiated"
        who = (
            "attorney asks for a reduction"
            if self.attorney
            else "insurer asks for the final amount"
        )
        log_activity(
            case=case,
            logged_by=actor,
            kind=Activity.Kind.EMAIL,
            direction=Activity.Direction.INBOUND,
            party=self.attorney or self.insurer,
            subject="Settlement reported; final lien amount requested",
            outcome=f"{words.capitalize()} settlement of {_money_text(gross)}; {who}",
            body="Attorney fees 33 1/3 %, costs to follow. Please confirm the final lien amount."
            if self.attorney
            else "Settlement reached directly with the member. Please confirm the final lien amount.",
            occurred_at=_at(day, rng, self.now),
        )
        if self.plan.status == "settlement":
            add_deadline(
                case=case,
                created_by=actor,
                kind=Deadline.Kind.REVIEW,
                title="Compute final lien and answer the reduction request",
                due_date=self._due_relative_to_today(),
            )
        self._settle(case, actor, gross, day)
        return case

    def _settle(self, case: Case, actor: User, gross: Decimal, day: date) -> None:
        """The settlement, and for an open case how far its money has come: funds awaited,
        deposited with the disbursement waiting for approval, or disbursed with the release
        waiting for approval. A closed case's money is finished in `_close`."""
        outcome, rng = self.plan.outcome, self.money_rng
        if self.plan.status == "closed" and outcome not in ("recovered_full", "compromised"):
            return
        stage = rng.random()
        open_case_ = self.plan.status == "settlement"
        self.settlement = money.settle(
            case=case,
            actor=actor,
            rng=rng,
            gross=gross,
            day=day,
            attorney=self.attorney is not None,
            compromise=outcome == "compromised" or (open_case_ and stage < 0.5),
            approve=not open_case_ or stage >= 0.2,
        )
        if not open_case_ or self.settlement is None:
            return
        if self.settlement.status != Settlement.Status.ACCEPTED or stage < 0.45:
            return  # waiting for the supervisor, or for the funds
        received = min(self.today, day + timedelta(days=rng.randint(10, 40)))
        approver = (
            money.other_supervisor(actor, self.supervisor, self.users) if stage >= 0.75 else None
        )
        money.collect(
            case=case,
            actor=actor,
            approver=approver,
            settlement=self.settlement,
            received_on=received,
            payer=self._payer(),
        )
        if approver is not None:
            money.release_lien(
                case=case,
                actor=actor,
                approver=None,
                reason="Paid in full under the accepted settlement",
                day=received,
            )

    def _payer(self) -> str:
        if self.insurer is not None:
            return str(self.insurer)
        if self.attorney is not None:
            return f"{self.attorney} trust account"
        return "Settlement administrator"

    def _statute(self, case: Case, actor: User, points) -> None:
        """Worked cases near or past their SOL were put in suit: the SOL deadline is met."""
        if (
            self.plan.status in ("new", "closed")
            or not case.sol_date
            or case.sol_date > self.today + timedelta(days=45)
        ):
            return
        court = self.directory.courts.get(self.member.state)
        if court is not None:
            add_case_party(case=case, party=court, role=CaseParty.Role.COURT, added_by=actor)
        log_activity(
            case=case,
            logged_by=actor,
            kind=Activity.Kind.NOTE,
            direction=Activity.Direction.INTERNAL,
            party=court,
            subject="Suit filed before the statute of limitations",
            outcome=f"Complaint filed{f' in {court}' if court else ''}; SOL no longer a bar",
            occurred_at=_at(
                min(self.today, case.sol_date - timedelta(days=20)), self.rng, self.now
            ),
        )
        for deadline in case.deadlines.filter(kind=Deadline.Kind.SOL, done_at__isnull=True):
            complete_deadline(deadline=deadline, done_by=actor)

    def _close(self, case: Case, actor: User, points) -> Case:
        rng, outcome = self.rng, self.plan.outcome
        day = points["closed"]
        texts = {
            "recovered_full": (Activity.Kind.LETTER, "Lien release", "Payment received in full; lien released"),
            "compromised": (Activity.Kind.LETTER, "Reduction decision and lien release",
                            "Accepted a reduced recovery (procurement-cost reduction); lien released"),
            "waived": (Activity.Kind.NOTE, "Lien waived",
                       "Undue hardship: catastrophic injuries; waiver approved by the supervisor"),
            "uncollectible": (Activity.Kind.NOTE, "Closed as uncollectible",
                              "Uninsured at-fault driver; no assets found"),
            "withdrawn": (Activity.Kind.NOTE, "Case withdrawn",
                          "No third party involved per the member's questionnaire"),
            "no_liability": (Activity.Kind.CALL, "Liability denied",
                             "Carrier denied liability; attorney withdrew; no recovery possible"),
        }  # fmt: skip
        kind, subject, text = texts[outcome]
        party = self.attorney if kind == Activity.Kind.LETTER else None
        if outcome == "no_liability":
            party = self.insurer
        log_activity(
            case=case,
            logged_by=actor,
            kind=kind,
            direction=Activity.Direction.INTERNAL
            if kind == Activity.Kind.NOTE
            else Activity.Direction.OUTBOUND,
            party=party,
            subject=subject,
            outcome=text,
            occurred_at=_at(day, rng, self.now),
        )
        self._finish_money(case, actor, day)
        case = change_status(
            case=case, status=Case.Status.CLOSED, changed_by=actor, outcome=outcome
        )
        for deadline in case.deadlines.filter(done_at__isnull=True):
            complete_deadline(deadline=deadline, done_by=actor)
        return case

    def _finish_money(self, case: Case, actor: User, day: date) -> None:
        """Before closing: a recovery is deposited, disbursed and its lien released; a lien on
        a waived case is released, on a case with nobody to pay withdrawn. A supervisor who is
        not the actor approves each step."""
        outcome = self.plan.outcome
        approver = money.other_supervisor(actor, self.supervisor, self.users)
        settlement = self.settlement
        if outcome in ("recovered_full", "compromised") and settlement is not None:
            decided = timezone.localdate(settlement.decided_at) if settlement.decided_at else day
            received = min(day, decided + timedelta(days=self.money_rng.randint(14, 60)))
            money.collect(
                case=case,
                actor=actor,
                approver=approver,
                settlement=settlement,
                received_on=received,
                payer=self._payer(),
            )
            reason = "Paid in full under the accepted settlement"
        elif outcome == "waived":
            reason = "Undue hardship waiver approved"
        else:
            reason = {
                "uncollectible": "Uncollectible: no insurance and no assets",
                "no_liability": "Liability denied; no recovery possible",
            }.get(outcome, "Case closed without recovery")
        money.release_lien(
            case=case,
            actor=actor,
            approver=approver,
            reason=reason,
            day=day,
            withdraw=outcome in ("uncollectible", "no_liability", "withdrawn"),
        )

    def _initial_review(self, case: Case, actor: User) -> None:
        add_deadline(
            case=case,
            created_by=actor,
            kind=Deadline.Kind.REVIEW,
            title="Initial review of a new case",
            due_date=self.today + timedelta(days=self.rng.randint(-3, 5)),
        )


def _create_lead(
    member: Member, plan: MemberPlan, rng: random.Random, now: datetime
) -> Lead | None:
    hits = list(
        member.claim_lines.filter(screening_decision=ClaimLine.Decision.INCLUDE).order_by(
            "service_from", "id"
        )
    )
    if not hits:
        return None
    status = _weighted(
        rng, {Lead.Status.NEW: 6, Lead.Status.LETTER_SENT: 3, Lead.Status.DISMISSED: 1}
    )
    return Lead.objects.create(
        member=member,
        status=status,
        first_service=hits[0].service_from,
        hit_lines=len(hits),
        hit_paid=sum((line.paid_amount for line in hits), Decimal("0.00")),
        reason=hits[0].screening_reason[:300],
        created_at=now - timedelta(days=rng.randint(1, 20)),
        updated_at=now,
    )


COUNTED = {
    "jurisdictions": Jurisdiction,
    "sol_rules": SolRule,
    "parties": Party,
    "members": Member,
    "eligibility_spans": EligibilitySpan,
    "claim_lines": ClaimLine,
    "cases": Case,
    "case_claims": CaseClaim,
    "case_parties": CaseParty,
    "activities": Activity,
    "deadlines": Deadline,
    "assignments": Assignment,
    "leads": Lead,
    "liens": Lien,
    "settlements": Settlement,
    "deposits": Deposit,
    "disbursements": Disbursement,
}


@transaction.atomic
def seed_cases(*, users: dict[str, User], count: int = 200, seed: int = 20261124) -> dict:
    """Create `count` synthetic cases (and ~count/10 screening leads) with everything around
    them; return how many rows of each kind were added (all zero on a second run)."""
    before = {name: model.objects.count() for name, model in COUNTED.items()}
    manual_before = CaseClaim.objects.filter(basis=CaseClaim.Basis.MANUAL).count()
    today = timezone.localdate()
    now = timezone.now()
    admin = users.get("admin") or users["supervisor"]

    with acting_as(admin):
        directory = _ensure_reference(seed, users)

    case_plans = [_case_plan(seed, index, today) for index in range(count)]
    lead_plans = [_lead_plan(seed, number, today) for number in range(max(3, count // 10))]
    all_members = [plan.member for plan in case_plans] + lead_plans
    existing = set(
        Member.objects.filter(
            program_id_hash__in=[keyed_hash(plan.program_id) for plan in all_members]
        ).values_list("program_id_hash", flat=True)
    )
    new_members: dict[int, Member] = {}
    lines: list[ClaimLine] = []
    with acting_as(admin):  # the eligibility feed, loaded by the administrator
        for plan in all_members:
            if keyed_hash(plan.program_id) in existing:
                continue
            member = _create_member(plan)
            new_members[plan.key] = member
            lines += _claim_lines(member, plan, random.Random(f"{seed}:lines:{plan.key}"), today)
    ClaimLine.objects.bulk_create(lines, batch_size=2000, ignore_conflicts=True)

    for plan in sorted(case_plans, key=lambda p: (p.opened, p.index)):
        member = new_members.get(plan.member.key)
        if member is None or member.cases.exists():
            continue
        _CaseRun(plan, member, users, directory, today, now).run()

    with acting_as(admin):  # leads come from the nightly screening job
        for plan in lead_plans:
            member = new_members.get(plan.key)
            if member is not None:
                _create_lead(member, plan, random.Random(f"{seed}:leadrow:{plan.key}"), now)

    counts = {name: model.objects.count() - before[name] for name, model in COUNTED.items()}
    counts["manual_decisions"] = (
        CaseClaim.objects.filter(basis=CaseClaim.Basis.MANUAL).count() - manual_before
    )
    return counts
