"""State-scale synthetic data for ``manage.py seed_scale`` (DESIGN §7: 1,000,000 cases, 20,000,000
claim lines, 5,000,000 ledger entries, 300 staff users).

Everything is made up, built from the demo's vocabularies (``cases.demo``) widened with more
names: members with encrypted PHI and keyed hashes exactly as the app writes them, cases over
eight jurisdictions, every status and seven years of ages, their parties, ~20 paid claim lines
per case with real ICD-10-CM / CPT / HCPCS / revenue codes screened by ``cases.screening``, the
include/exclude decision of every line on its case, deadlines, contact log, liens with their
itemized filing lines, settlements computed by ``settlements.calculator``, installments, and a
balanced holding-account ledger whose per-case balances match its entries.

How it is loaded
    Reference rows (users, teams, parties, SOL rules) go through the ORM. The bulk is generated
    in chunks of ``chunk`` cases by worker processes (pure Python, no database), each chunk as
    PostgreSQL COPY text, and streamed by the main process with ``copy_expert``, one database
    transaction per chunk; no more than a few chunks are ever in memory. Every row of a case is
    drawn from ``random.Random`` seeded by (seed, case index), so a seed gives the same data.
    Ids are explicit: each chunk owns a block of ids per table (gaps between blocks are harmless)
    so the workers need no database; sequences are moved past them at the end.

    While loading, the secondary indexes and foreign keys of the bulk tables are dropped and then
    recreated from their own definitions (``pg_get_indexdef`` / ``pg_get_constraintdef``), as
    pg_restore does: validating a foreign key once over the table is far cheaper than a check per
    row. The ledger keeps every trigger: each chunk's entries pass the deferred balance check when
    its transaction commits (COPY inserts; nothing is updated). ``VACUUM ANALYZE`` at the end.
"""

from __future__ import annotations

import functools
import io
import json
import multiprocessing
import os
import random
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection, connections, transaction
from django.utils import timezone

from recovery.core.models import Role, Team, User
from recovery.crypto import encrypt, keyed_hash
from settlements import calculator
from settlements.services import _serialize, reduction_of

from . import demo, screening
from .models import Case, CaseNumberSequence, IncidentKind, Jurisdiction, Party, SolRule

SCALE_USER_PREFIX = "scale-"
MARKER_USERNAME = "scale-admin"
SOURCE = "scale"  # claim lines' source column

# ---------------------------------------------------------------------------------------------
# Vocabularies: the demo's, widened so that a million members do not share a few thousand names
# ---------------------------------------------------------------------------------------------

MORE_LAST_NAMES = (
    "Cruz Ortiz Gomez Morales Reyes Gutierrez Chavez Ramos Ruiz Alvarez Mendoza Castillo Jimenez "
    "Vasquez Romero Herrera Medina Aguilar Vargas Guzman Salazar Munoz Castro Delgado Soto Pena "
    "Rios Contreras Sandoval Figueroa Acosta Silva Espinoza Estrada Cabrera Navarro Fuentes "
    "Cooper Richardson Cox Howard Ward Peterson Gray James Watson Brooks Kelly Sanders Price "
    "Bennett Wood Barnes Ross Henderson Coleman Jenkins Perry Powell Long Patterson Hughes "
    "Washington Butler Simmons Foster Bryant Alexander Russell Griffin Hayes Myers Ford Hamilton "
    "Graham Sullivan Wallace West Cole Jordan Owens Reynolds Fisher Ellis Harrison Gibson "
    "Mcdonald Marshall Murray Freeman Wells Webb Simpson Stevens Tucker Porter Hunter Hicks "
    "Crawford Henry Boyd Mason Kennedy Warren Dixon Burns Gordon Shaw Holmes Rice Robertson "
    "Hunt Black Daniels Palmer Mills Nichols Grant Knight Ferguson Stone Hawkins Dunn Perkins "
    "Hudson Spencer Gardner Stephens Payne Pierce Berry Matthews Arnold Wagner Willis Ray "
    "Watkins Olson Carroll Duncan Snyder Hart Cunningham Bradley Lane Andrews Harper Fox Riley "
    "Armstrong Carpenter Weaver Greene Lawrence Elliott Sims Austin Peters Kelley Franklin "
    "Lawson Fields Ryan Schmidt Carr Castaneda Tran Pham Le Huynh Vo Dang Bui Kim Park Chen "
    "Wang Li Zhang Liu Yang Huang Wu Zhou Patel Shah Singh Kumar Khan Ali Ahmed Hassan Ibrahim "
    "Okafor Mensah Diallo Nwosu Adeyemi Baptiste Jean Pierre Charles Joseph Louis Dubois Novak "
    "Kowalski Nowak Wojcik Kozlov Ivanova Petrov Schultz Meyer Weber Becker Hoffman Koch Bauer "
    "Richter Klein Wolf Neumann Schwartz Zimmerman Braun Hartmann Lange Werner Krause Lehmann "
    "Oconnor Obrien Byrne Ryan Walsh Quinn Doyle Brennan Gallagher Kavanagh Donnelly Flanagan"
).split()
MORE_FIRST_NAMES = (
    "Aaliyah Abigail Adrian Aiden Alejandro Alexis Alicia Alyssa Amber Ana Angel Anthony Antonio "
    "Ariana Ashley Austin Ava Benjamin Brandon Brianna Brittany Caleb Cameron Camila Carmen "
    "Catherine Chloe Christian Cody Crystal Cynthia Dakota Daniela Destiny Diana Diego Dylan "
    "Eduardo Elena Elijah Emma Eric Erica Ethan Evelyn Fernando Gabriel Gabriela Grace Hannah "
    "Hailey Isabella Isaiah Jacob Jada Jasmine Javier Jayden Jeremiah Jesus Jocelyn Jordan "
    "Jorge Josue Julia Justin Kayla Kendra Kenneth Kiara Latoya Leah Leticia Liam Lillian Logan "
    "Lucas Madison Makayla Manuel Marisol Mason Mia Miguel Monica Natalie Nathan Nevaeh Noah "
    "Olivia Omar Oscar Pedro Rachel Rafael Ricardo Roberto Ruby Samantha Samuel Santiago "
    "Savannah Sebastian Sergio Shanice Sofia Sophia Tanisha Taylor Trinity Tyler Valentina "
    "Valeria Vanessa Victor Victoria Xavier Yesenia Yolanda Zoe Ahmed Fatima Omari Imani"
).split()
LAST_NAMES = tuple(dict.fromkeys(demo.LAST_NAMES + MORE_LAST_NAMES))
FIRST_NAMES = tuple(dict.fromkeys(demo.FIRST_NAMES + MORE_FIRST_NAMES))
# Roughly Zipf-shaped: a few very common surnames, a long tail.
LAST_WEIGHTS = tuple(1 / (rank + 8) for rank in range(len(LAST_NAMES)))
FIRST_WEIGHTS = tuple(1 / (rank + 12) for rank in range(len(FIRST_NAMES)))

FIRM_PATTERNS = (
    "{a} & {b}, P.A.",
    "{a} Injury Law Group",
    "{a}, {b} & {c}, PLLC",
    "Law Offices of {f} {a}",
    "{a} Trial Lawyers, LLC",
    "{a} & {b} Accident Attorneys",
    "{a} Personal Injury Counsel, P.C.",
)
INSURER_WORDS = (
    "Granite Bluewater Keystone Prairie Sentinel Evergreen Copperline Northwind Ironbridge "
    "Harbor Summit Liberty Pioneer Meridian Cascade Redwood Beacon Frontier Heritage Guardian "
    "Sterling Anchor Lakeside Highland Republic Patriot Magnolia Bayou Mesa Canyon"
).split()
INSURER_SUFFIXES = (
    "Mutual Insurance Co.",
    "Casualty Company",
    "Indemnity Co.",
    "Auto Insurance Co.",
    "Property & Casualty Co.",
    "General Insurance Company",
)
EMPLOYER_WORDS = (
    "Logistics Roofing Poultry Produce Home-Care Warehousing Construction Janitorial Landscaping "
    "Trucking Staffing Packaging Manufacturing Restaurant-Group Hospitality Demolition"
).split()
TEAM_NAMES = (
    "Auto East",
    "Auto West",
    "Auto Central",
    "Auto North",
    "Auto South",
    "Premises",
    "Malpractice",
    "Workers' Compensation",
    "Estates & Probate",
    "Large Losses",
    "Trauma Screening",
    "Settlements",
    "Litigation",
    "Installments",
    "Intake",
    "Special Investigations",
)
PAYEE_PROGRAM = "State Medicaid program (state and federal share)"
PARTY_NOTE = "Synthetic party (seed_scale)."
INSURER_LINES = ("auto", "auto", "auto", "premises", "malpractice", "workers_comp")

# Bulk tables, their columns in COPY order, and how many ids one case may use at most.
TABLES: dict[str, tuple[tuple[str, ...], int]] = {
    "cases_member": (
        (
            "id", "program_id", "program_id_hash", "ssn", "ssn_hash", "first_name", "last_name",
            "middle_name", "date_of_birth", "address_line1", "address_line2", "city", "state",
            "postal_code", "phone", "created_at",
        ),
        1,
    ),
    "cases_eligibilityspan": (("id", "member_id", "start", '"end"', "program"), 3),
    "cases_case": (
        (
            "id", "number", "member_id", "incident_date", "incident_kind", "incident_description",
            "jurisdiction_id", "source", "status", "priority", "team_id", "assigned_to_id",
            "assigned_at", "sol_date", "outcome", "lien_amount", "opened_at", "closed_at",
            "created_by_id",
        ),
        1,
    ),
    "cases_historicalcase": (
        (
            "history_id", "id", "number", "member_id", "incident_date", "incident_kind",
            "incident_description", "jurisdiction_id", "source", "status", "priority",
            "team_id", "assigned_to_id", "assigned_at", "sol_date", "outcome", "lien_amount",
            "opened_at", "closed_at", "created_by_id", "history_date", "history_type",
            "history_user_id",
        ),
        1,
    ),
    "cases_caseparty": (
        (
            "id", "case_id", "party_id", "role", "claim_number", "policy_number",
            "policy_limits", "adjuster_name", "adjuster_phone", "adjuster_email", "is_active",
            "added_at",
        ),
        8,
    ),
    "cases_claimline": (
        (
            "id", "member_id", "claim_number", "line_number", "payer_claim_number",
            "provider_npi", "provider_name", "service_from", "service_to", "procedure_code",
            "modifiers", "diagnosis_codes", "code_set", "billed_amount", "allowed_amount",
            "paid_amount", "paid_date", "accident_indicator", "accident_state", "accident_date",
            "occurrence_codes", "value_codes", "fmap_rate", "screening_decision",
            "screening_rule", "screening_reason", "opens_case", "source", "imported_at",
        ),
        80,
    ),
    "cases_caseclaim": (
        (
            "id", "case_id", "claim_line_id", "included", "needs_review", "basis", "reason",
            "late_arriving", "decided_by_id", "decided_at",
        ),
        80,
    ),
    "cases_deadline": (
        (
            "id", "case_id", "kind", "title", "due_date", "owner_id", "done_at", "done_by_id",
            "created_at",
        ),
        8,
    ),
    "cases_activity": (
        (
            "id", "case_id", "kind", "direction", "party_id", "occurred_at", "subject",
            "outcome", "body", "created_by_id", "created_at",
        ),
        64,
    ),
    "cases_assignment": (
        ("id", "case_id", "action", "assigned_to_id", "assigned_by_id", "at", "note"),
        2,
    ),
    "liens_lien": (
        (
            "id", "case_id", "status", "amount", "original_amount", "released_amount",
            "filed_with_id", "filed_with_kind", "filed_on", "method", "certified_mail_number",
            "court_case_number", "expires_on", "released_on", "created_by_id", "filed_by_id",
            "created_at",
        ),
        1,
    ),
    "liens_lienfilingline": (
        (
            "id", "lien_id", "claim_line_id", "claim_number", "line_number", "service_from",
            "service_to", "provider_name", "procedure_code", "diagnosis_codes", "paid_amount",
            "paid_date",
        ),
        80,
    ),
    "settlements_settlement": (
        (
            "id", "case_id", "status", "gross_settlement", "attorney_fees", "costs",
            "program_paid", "formula", "computed_recovery", "calculation", "agreed_recovery",
            "reduction_amount", "reduction_percent", "reduction_requested", "compromise_reason",
            "justification", "within_authority", "proposed_by_id", "proposed_at",
            "decided_by_id", "decided_at", "decision_note", "funds_due_on",
        ),
        1,
    ),
    "settlements_paymentarrangement": (
        (
            "id", "settlement_id", "total", "installments_count", "first_due_on", "status",
            "created_by_id", "created_at",
        ),
        1,
    ),
    "settlements_installment": (
        ("id", "arrangement_id", "number", "due_on", "amount", "received", "status"),
        24,
    ),
    "ledger_transaction": (
        ("id", "kind", "case_id", "memo", "posted_on", "posted_at", "posted_by_id"),
        48,
    ),
    "ledger_entry": (("id", "transaction_id", "account_id", "case_id", "amount"), 120),
    "ledger_deposit": (
        (
            "id", "case_id", "amount", "received_on", "payer", "instrument", "reference",
            "idempotency_key", "settlement_id", "installment_id", "transaction_id",
            "recorded_by_id", "recorded_at",
        ),
        24,
    ),
    "ledger_disbursement": (
        (
            "id", "case_id", "amount", "payee", "purpose", "note", "status", "requested_by_id",
            "requested_at", "decided_by_id", "decided_at", "decision_note", "state_share",
            "federal_share", "transaction_id",
        ),
        24,
    ),
    "ledger_casebalance": (("case_id", "held", "received", "disbursed", "updated_at"), 0),
}  # fmt: skip
# Tables whose ids come from (history_id for the history table) a sequence.
ID_COLUMN = {"cases_historicalcase": "history_id", "ledger_casebalance": None}
# Load order inside one chunk's transaction.
LOAD_ORDER = tuple(TABLES)
# What the deferred balance check of each ledger entry needs while loading.
KEEP_INDEXES = {"ledger_entry": ("transaction_id",)}


# ---------------------------------------------------------------------------------------------
# Reference data shared with the workers (plain ids and strings, picklable)
# ---------------------------------------------------------------------------------------------


@dataclass
class TeamRef:
    id: int
    supervisor: int
    specialists: tuple[int, ...]


@dataclass
class Reference:
    seed: int
    today: date
    now: datetime
    chunk: int
    first_index: int
    bases: dict[str, int]
    jurisdictions: dict[str, tuple[int, int, str]]  # code -> (id, response days, formula)
    sol_years: dict[tuple[str, str], int]
    teams: tuple[TeamRef, ...]
    team_of_state: dict[str, tuple[int, ...]]  # state -> indexes into teams
    supervisors: tuple[int, ...]
    admin: int
    firms: dict[str, tuple[tuple[int, str], ...]]  # state -> (id, name)
    insurers: dict[str, tuple[tuple[int, str], ...]]  # line of business -> (id, name)
    health_plans: tuple[tuple[int, str], ...]
    courts: dict[str, tuple[int, str]]
    employers: dict[str, tuple[tuple[int, str], ...]]
    accounts: dict[str, int]
    number_start: dict[int, int] = field(default_factory=dict)  # per chunk, set by the loader


def incident_age(seed: int, index: int) -> int:
    """Days between the incident and today: most of the open inventory is under three years
    old; older cases are mostly closed."""
    rng = random.Random(f"{seed}:age:{index}")
    return rng.randint(20, 1095) if rng.random() < 0.72 else rng.randint(1096, 2555)


def case_year(seed: int, index: int, today: date) -> int:
    return (today - timedelta(days=incident_age(seed, index))).year


# ---------------------------------------------------------------------------------------------
# COPY text
# ---------------------------------------------------------------------------------------------

NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _t(value: str) -> str:
    return value.translate(_ESCAPES)


def _cents(value: int) -> str:
    sign = "-" if value < 0 else ""
    value = abs(value)
    return f"{sign}{value // 100}.{value % 100:02d}"


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S+00")


def _d(day: date | None) -> str:
    return day.isoformat() if day else NULL


def _n(value) -> str:
    return NULL if value is None else str(value)


def _b(value: bool) -> str:
    return "t" if value else "f"


class Chunk:
    """COPY text per table for one chunk of cases, with the next id of each table."""

    def __init__(self, ref: Reference, number: int) -> None:
        self.ref = ref
        self.buffers = {table: io.StringIO() for table in TABLES}
        self.next_id = {
            table: ref.bases[table] + number * ref.chunk * slots
            for table, (_, slots) in TABLES.items()
            if slots
        }
        self.limit = {
            table: self.next_id[table] + ref.chunk * slots
            for table, (_, slots) in TABLES.items()
            if slots
        }
        self.rows: dict[str, int] = dict.fromkeys(TABLES, 0)

    def take(self, table: str) -> int:
        value = self.next_id[table]
        if value >= self.limit[table]:
            raise RuntimeError(f"{table}: the chunk's id block is exhausted")
        self.next_id[table] = value + 1
        return value

    def write(self, table: str, *values: str) -> None:
        self.buffers[table].write("\t".join(values))
        self.buffers[table].write("\n")
        self.rows[table] += 1

    def result(self) -> tuple[dict[str, bytes], Counter]:
        return {
            table: buffer.getvalue().encode() for table, buffer in self.buffers.items()
        }, self.rows


# ---------------------------------------------------------------------------------------------
# One case, drawn from its own random stream
# ---------------------------------------------------------------------------------------------

_NPI: dict[str, str] = {}
MINUTES = (0, 10, 15, 20, 30, 40, 45, 50)


@functools.cache
def _tz():
    return timezone.get_current_timezone()


_SCREEN: dict[tuple, Screened] = {}


@dataclass(frozen=True)
class Screened:
    """A screening result with its columns already in COPY text."""

    decision: str
    rule: str
    line_reason: str  # the claim line's column (300 characters)
    case_reason: str  # the case claim's column (500 characters)
    opens_case: str


def _npi(name: str) -> str:
    if name not in _NPI:
        _NPI[name] = demo._npi(name)
    return _NPI[name]


def _screen(line: demo.LinePlan, *, incident: date | None, spans) -> Screened:
    """`screening.screen_line`, memoised on what its answer depends on (the codes, the ICD era,
    and whether the service falls before the incident or outside eligibility)."""
    day = line.service
    before = incident is not None and day < incident
    outside = not any(start <= day and (end is None or day <= end) for start, end in spans)
    key = (
        line.diagnoses,
        line.indicator,
        line.occurrence,
        line.value,
        day >= screening.ICD10_EFFECTIVE_DATE,
        before,
        outside,
    )
    result = _SCREEN.get(key)
    if result is None:
        result = screening.screen_line(
            screening.ScreeningInput(
                diagnosis_codes=line.diagnoses,
                code_set="ICD10",
                accident_indicator=line.indicator,
                occurrence_codes=(line.occurrence,) if line.occurrence else (),
                value_codes=(line.value,) if line.value else (),
                service_from=day,
            ),
            incident_date=incident,
            eligibility=tuple(spans),
        )
        result = _SCREEN[key] = Screened(
            decision=str(result.decision),
            rule=result.rule[:40],
            line_reason=_t(result.reason[:300]),
            case_reason=_t(result.reason[:500] or "No trauma signal"),
            opens_case=_b(result.opens_case),
        )
    return result


def _status_for(rng: random.Random, outcome_rng: random.Random, age: int) -> tuple[str, str]:
    if age <= 1095:
        status, outcome = demo._status_for(rng, outcome_rng, age)
    else:
        status = demo._weighted(rng, {"follow_up": 5, "settlement": 4, "closed": 91})
        outcome = ""
        if status == "closed":
            outcome = demo._weighted(
                outcome_rng,
                {
                    "recovered_full": 36,
                    "compromised": 30,
                    "waived": 6,
                    "uncollectible": 10,
                    "withdrawn": 8,
                    "no_liability": 10,
                },
            )
    return status, outcome


STAGES = ("new", "research", "notice", "follow_up", "settlement", "receivable", "closed")


class CaseWriter:
    """Writes one case and everything hanging off it into a chunk."""

    def __init__(self, chunk: Chunk, index: int, number: str) -> None:
        self.chunk, self.ref = chunk, chunk.ref
        self.index, self.number = index, number
        ref = self.ref
        self.rng = random.Random(f"{ref.seed}:case:{index}")
        self.today, self.now = ref.today, ref.now
        self.latest = ref.now - timedelta(minutes=1)
        self.splits: dict[int, calculator.FederalSplit] = {}

    # -- helpers ---------------------------------------------------------------------------

    def at(self, day: date) -> datetime:
        """A working-hours moment on `day`, never later than now."""
        rng = self.rng
        moment = datetime(
            day.year, day.month, day.day, 8 + int(rng.random() * 9),
            MINUTES[int(rng.random() * 8)], tzinfo=_tz(),
        )  # fmt: skip
        return moment if moment < self.latest else self.latest

    def due_near_today(self) -> date:
        rng = self.rng
        bucket = demo._weighted(rng, {"overdue": 18, "today": 10, "week": 27, "later": 45})
        offset = {
            "overdue": -rng.randint(1, 21),
            "today": 0,
            "week": rng.randint(1, 6),
            "later": rng.randint(7, 60),
        }[bucket]
        return self.today + timedelta(days=offset)

    # -- the plan ----------------------------------------------------------------------------

    def plan(self) -> None:
        ref, rng, today = self.ref, self.rng, self.today
        age = incident_age(ref.seed, self.index)
        self.incident = today - timedelta(days=age)
        state = rng.choices(tuple(demo.STATES), weights=[s.weight for s in demo.STATES.values()])[0]
        self.state = state
        kind = demo._weighted(
            rng,
            {
                IncidentKind.AUTO: 66,
                IncidentKind.PREMISES: 18,
                IncidentKind.MALPRACTICE: 8,
                IncidentKind.WORKERS_COMP: 8,
            },
        )
        self.kind = str(kind)
        injury = rng.choice(demo.INJURIES_BY_KIND.get(kind, ("whiplash",)))
        self.queue = age < 240 and rng.random() < 0.06
        self.unit_queue = self.queue and age < 60 and rng.random() < 0.3
        if self.queue:
            self.status, self.outcome = "new", ""
        else:
            self.status, self.outcome = _status_for(
                rng, random.Random(f"{ref.seed}:outcome:{self.index}"), age
            )
        if self.status == "settlement" and rng.random() < 0.35:
            self.status = "receivable"
        self.source = str(
            demo._weighted(
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
        )
        self.has_attorney = self.source == Case.Source.ATTORNEY_LETTER or (
            STAGES.index(self.status) >= 2 and rng.random() < 0.75
        )
        lag = rng.randint(3, max(4, min(120, age // 3)))
        opened = min(self.incident + timedelta(days=lag), today - timedelta(days=3))
        if self.status == "new":
            opened = max(
                self.incident + timedelta(days=3), today - timedelta(days=rng.randint(0, 14))
            )
        self.opened = opened
        self.member = self._member(state, kind, age)
        eligible = rng.random() >= 0.05 or kind == IncidentKind.MALPRACTICE
        self.spans = demo._eligibility(rng, self.incident, today, eligible=eligible)
        if self.member["expansion"]:
            self.spans = [(max(start, date(2014, 1, 1)), end) for start, end in self.spans]
        if kind == IncidentKind.MALPRACTICE:
            encounters = demo._malpractice_encounters(rng, incident=self.incident)
        else:
            passenger = kind == IncidentKind.AUTO and (self.incident - self.member["dob"]).days < (
                16 * 365
            )
            encounters = demo._encounters(
                rng,
                kind=kind,
                injury=injury,
                incident=self.incident,
                today=today,
                state=state,
                passenger=passenger,
            )
        after = demo._paid_by_today(
            demo._covered(encounters, self.spans, keep_one=rng.random() < 0.5),
            rng,
            today,
            limit=rng.randint(8, 44),
        )
        before = demo._covered(demo._before(rng, self.incident), self.spans, keep_one=False)
        self.encounters = demo._paid_by_today(before, rng, today) + after
        description = rng.choice(demo.DESCRIPTIONS[kind])
        self.description = description
        self.priority = int(
            demo._weighted(
                rng, {Case.Priority.HIGH: 15, Case.Priority.NORMAL: 70, Case.Priority.LOW: 15}
            )
        )
        self.limits = rng.choice(
            (2_500_000, 2_500_000, 3_000_000, 5_000_000, 10_000_000, 25_000_000)
        )
        self.pip = kind == IncidentKind.AUTO and demo.STATES[state].no_fault and rng.random() < 0.5
        self.mco = rng.randrange(len(ref.health_plans)) if rng.random() < 0.15 else None
        # Team and specialist.
        team_choices = ref.team_of_state[state]
        self.team = ref.teams[team_choices[rng.randrange(len(team_choices))]]
        if self.unit_queue:
            self.team_id, self.specialist = None, None
        elif self.queue:
            self.team_id, self.specialist = self.team.id, None
        else:
            self.team_id = self.team.id
            self.specialist = self.team.specialists[rng.randrange(len(self.team.specialists))]
        self.supervisor = self.team.supervisor
        self.actor = self.specialist or self.supervisor
        self.points = self._timeline()

    def _member(self, state: str, kind: str, age: int) -> dict:
        rng, seed = self.rng, self.ref.seed
        info = demo.STATES[state]
        city, zip_prefix, area = rng.choice(info.cities)
        adult = kind == IncidentKind.WORKERS_COMP
        years = rng.randint(19, 63) if adult or rng.random() < 0.7 else rng.randint(4, 18)
        dob = self.incident - timedelta(days=years * 365 + rng.randint(0, 364))
        names = random.Random(f"{seed}:name:{self.index}")
        key = (self.index * 7_919_993 + 104_729 + seed * 31) % 10**10
        return {
            "program_id": f"M{key:010d}",
            "first": names.choices(FIRST_NAMES, weights=FIRST_WEIGHTS)[0],
            "middle": rng.choice(demo.MIDDLE_INITIALS) if rng.random() < 0.6 else "",
            "last": names.choices(LAST_NAMES, weights=LAST_WEIGHTS)[0],
            "dob": dob,
            "ssn": (
                f"9{rng.randint(0, 99):02d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
                if rng.random() < 0.75
                else ""
            ),
            "street": demo._street(rng),
            "unit": rng.choice(demo.UNITS) if rng.random() < 0.3 else "",
            "city": city,
            "zip": f"{zip_prefix}{rng.randint(1, 99):02d}",
            "phone": demo._phone(rng, area),
            "expansion": info.expansion and 19 <= years <= 64 and rng.random() < 0.25,
        }

    def _timeline(self) -> dict[str, date]:
        rng, today = self.rng, self.today
        span = max(1, (today - self.opened).days)
        steps = STAGES.index(self.status)
        fractions = {
            "research": rng.uniform(0.01, 0.06),
            "notice": rng.uniform(0.08, 0.2),
            "follow_up": rng.uniform(0.25, 0.45),
            "settlement": rng.uniform(0.55, 0.8),
            "receivable": rng.uniform(0.8, 0.86),
            "closed": rng.uniform(0.87, 0.97),
        }
        if self.status in ("research", "notice", "follow_up", "settlement", "receivable"):
            scale = {
                "research": 6,
                "notice": 1.6,
                "follow_up": 1.2,
                "settlement": 1.05,
                "receivable": 1.02,
            }[self.status]
            fractions = {k: min(0.97, v * scale) for k, v in fractions.items()}
        points = {"opened": self.opened}
        previous = self.opened
        for name in STAGES[1 : steps + 1]:
            day = max(previous, self.opened + timedelta(days=int(span * fractions[name])))
            day = min(day, today)
            points[name] = day
            previous = day
        return points

    # -- writing -----------------------------------------------------------------------------

    def write(self) -> None:
        self.plan()
        ref = self.ref
        self.case_id = ref.bases["cases_case"] + self.index - ref.first_index
        self.member_id = ref.bases["cases_member"] + self.index - ref.first_index
        self._write_member()
        lines = self._write_claim_lines()
        self.parties: dict[str, tuple[int, str]] = {}
        self._write_parties()
        self.lien_cents = self._write_case_claims(lines)
        self._write_case()
        self._write_deadlines()
        self._write_activities()
        self._write_lien(lines)
        self._write_settlement_and_money(lines)

    def _write_member(self) -> None:
        m, rng = self.member, self.rng
        created = self.at(self.opened - timedelta(days=rng.randint(30, 900)))

        def enc(value: str) -> str:
            return encrypt(value) if value else ""

        self.chunk.write(
            "cases_member",
            str(self.member_id),
            enc(m["program_id"]),
            keyed_hash(m["program_id"]),
            enc(m["ssn"]),
            keyed_hash(m["ssn"]) if m["ssn"] else "",
            m["first"],
            m["last"],
            m["middle"],
            enc(m["dob"].isoformat()),
            enc(m["street"]),
            enc(m["unit"]),
            m["city"],
            self.state,
            m["zip"],
            enc(m["phone"]),
            _ts(created),
        )
        program = "Medicaid expansion adult" if m["expansion"] else "Medicaid FFS"
        for start, end in self.spans:
            self.chunk.write(
                "cases_eligibilityspan",
                str(self.chunk.take("cases_eligibilityspan")),
                str(self.member_id),
                start.isoformat(),
                _d(end),
                program,
            )

    def _write_claim_lines(self) -> list[tuple]:
        """Every paid line of the member; returns (id, plan, paid cents, rate, claim number,
        line number, provider, paid date) of each."""
        rng, chunk, info = self.rng, self.chunk, demo.STATES[self.state]
        rate = "0.9000" if self.member["expansion"] else str(info.fmap)
        program_digits = self.member["program_id"][1:]
        imported = _ts(self.now - timedelta(days=rng.randint(1, 30)))
        out = []
        for claim_seq, encounter in enumerate(self.encounters, start=1):
            first = encounter[0]
            claim_number = f"{first.service:%y%j}{program_digits}{claim_seq:03d}"
            paid_date = min(first.service + timedelta(days=rng.randint(14, 45)), self.today)
            provider = rng.choice(demo.PROVIDERS[first.provider_kind])
            npi = _npi(provider)
            multiplier = rng.choice((180, 220, 260, 310))
            for line_number, line in enumerate(encounter, start=1):
                result = _screen(line, incident=None, spans=self.spans)
                paid = int(line.paid * 100)
                line_id = chunk.take("cases_claimline")
                accident = bool(line.indicator or line.occurrence)
                chunk.write(
                    "cases_claimline",
                    str(line_id),
                    str(self.member_id),
                    claim_number,
                    str(line_number),
                    "",
                    npi,
                    provider,
                    line.service.isoformat(),
                    (line.service + timedelta(days=line.units_days)).isoformat(),
                    line.procedure,
                    line.modifiers,
                    " ".join(line.diagnoses),
                    "ICD10",
                    _cents(paid * multiplier // 100),
                    _cents(paid),
                    _cents(paid),
                    paid_date.isoformat(),
                    line.indicator,
                    self.state if accident else "",
                    first.service.isoformat() if accident else NULL,
                    line.occurrence,
                    line.value,
                    rate,
                    result.decision,
                    result.rule,
                    result.line_reason,
                    result.opens_case,
                    SOURCE,
                    imported,
                )
                out.append(
                    (line_id, line, paid, Decimal(rate), claim_number, line_number, provider,
                     paid_date)
                )  # fmt: skip
        return out

    def _party_pick(self, options: tuple) -> tuple[int, str]:
        return options[self.rng.randrange(len(options))]

    def _write_parties(self) -> None:
        ref, rng, chunk = self.ref, self.rng, self.chunk
        added = _ts(self.at(self.opened))

        def link(role: str, party: tuple[int, str], **extra) -> None:
            chunk.write(
                "cases_caseparty",
                str(chunk.take("cases_caseparty")),
                str(self.case_id),
                str(party[0]),
                role,
                extra.get("claim_number", ""),
                extra.get("policy_number", ""),
                _n(extra.get("limits")),
                extra.get("adjuster_name", ""),
                extra.get("adjuster_phone", ""),
                extra.get("adjuster_email", ""),
                "t",
                added,
            )
            self.parties[role] = party

        if self.has_attorney:
            local = ref.firms.get(self.state) or next(iter(ref.firms.values()))
            link("attorney_of_record", self._party_pick(local))
        if self.source == Case.Source.INSURER_NOTICE or STAGES.index(self.status) >= 1:
            business = {"auto": "auto", "premises": "premises", "malpractice": "malpractice"}.get(
                self.kind, "workers_comp"
            )
            insurer = self._party_pick(ref.insurers[business])
            initials = "".join(word[0] for word in insurer[1].split()[:3]).upper()
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            link(
                "liability_insurer",
                insurer,
                claim_number=f"{initials}-{self.incident:%y}-{rng.randint(1000000, 9999999)}",
                policy_number=f"{initials[:2]}{rng.randint(100, 999)}-{rng.randint(10000, 99999)}",
                limits=_cents(self.limits) if self.kind != "workers_comp" else None,
                adjuster_name=f"{first} {last}",
                adjuster_phone=demo._phone(rng, demo.STATES[self.state].cities[0][2]),
                adjuster_email=f"{first[0].lower()}{last.lower()}@{demo._slug(insurer[1])}.example",
            )
            if self.pip:
                auto = ref.insurers["auto"]
                link(
                    "member_insurer",
                    auto[(auto.index(insurer) + 1) % len(auto)] if insurer in auto else auto[0],
                    claim_number=f"PIP-{rng.randint(100000, 999999)}",
                    limits="10000.00",
                )
        if self.mco is not None:
            link("health_plan", ref.health_plans[self.mco])
        if self.kind == "workers_comp":
            pool = ref.employers.get(self.state) or next(iter(ref.employers.values()))
            link("employer", self._party_pick(pool))
        sol = self.sol_date()
        if (
            self.status not in ("new", "closed")
            and sol
            and sol <= self.today + timedelta(days=45)
            and self.state in ref.courts
        ):
            self.suit_filed = True
            link("court", ref.courts[self.state])
        else:
            self.suit_filed = False

    def sol_date(self) -> date:
        years = self.ref.sol_years.get((self.state, self.kind)) or self.ref.sol_years.get(
            (self.state, ""), 2
        )
        try:
            return self.incident.replace(year=self.incident.year + years)
        except ValueError:
            return self.incident.replace(year=self.incident.year + years, day=28)

    def _write_case_claims(self, lines: list[tuple]) -> int:
        """The lines from the incident on, screened for the case; the specialist's decisions
        where the plan calls for one. Returns the lien amount in cents."""
        chunk = self.chunk
        decided_at = _ts(self.at(self.opened))
        research = STAGES.index(self.status) >= 1
        noticed = STAGES.index(self.status) >= 2
        manual_at = _ts(self.at(self.points.get("research", self.opened)))
        total = 0
        self.included: list[tuple] = []
        for row in lines:
            line_id, line, paid = row[0], row[1], row[2]
            if line.service < self.incident:
                continue
            result = _screen(line, incident=self.incident, spans=self.spans)
            included = result.decision == screening.Decision.INCLUDE
            review = result.decision == screening.Decision.REVIEW
            basis, reason, decider, at = "screening", result.case_reason, NULL, decided_at
            if research and review and noticed:
                included, review, basis = True, False, "manual"
                reason = (
                    "Treatment of the post-operative infection at issue in the claim; related "
                    "per the operative and readmission records"
                )
            elif research and line.manual == "include" and not included:
                included, review, basis = True, False, "manual"
                reason = (
                    "Physical therapy for the accident injuries (billed with a symptom code); "
                    "related per the treating provider's notes"
                )
            elif research and line.manual == "exclude" and included:
                included, basis = False, "manual"
                reason = (
                    "Separate incident: hand contusion from a household accident; not related "
                    "to this claim"
                    if "S60221A" in line.diagnoses
                    else "Routine care unrelated to the injury; the provider set the accident "
                    "indicator in error (confirmed by phone)"
                )
            if basis == "manual":
                decider, at = str(self.actor), manual_at
            chunk.write(
                "cases_caseclaim",
                str(chunk.take("cases_caseclaim")),
                str(self.case_id),
                str(line_id),
                _b(included),
                _b(review),
                basis,
                reason,
                "f",
                decider,
                at,
            )
            if included:
                total += paid
                self.included.append(row)
        return total

    def _write_case(self) -> None:
        ref, chunk = self.ref, self.chunk
        jurisdiction = ref.jurisdictions[self.state]
        opened_at = self.at(self.opened)
        closed_at = self.at(self.points["closed"]) if self.status == "closed" else None
        creator = (
            self.specialist if self.specialist and self.rng.random() < 0.6 else self.supervisor
        )
        self.opened_at = opened_at
        values = (
            self.number,
            str(self.member_id),
            self.incident.isoformat(),
            self.kind,
            _t(self.description),
            str(jurisdiction[0]),
            self.source,
            self.status,
            str(self.priority),
            _n(self.team_id),
            _n(self.specialist),
            _ts(opened_at) if self.specialist else NULL,
            self.sol_date().isoformat(),
            self.outcome,
            _cents(self.lien_cents),
            _ts(opened_at),
            _ts(closed_at) if closed_at else NULL,
            str(creator),
        )
        chunk.write("cases_case", str(self.case_id), *values)
        chunk.write(
            "cases_historicalcase",
            str(chunk.take("cases_historicalcase")),
            str(self.case_id),
            *values,
            _ts(opened_at),
            "+",
            str(creator),
        )
        if self.specialist:
            by_supervisor = creator == self.supervisor
            chunk.write(
                "cases_assignment",
                str(chunk.take("cases_assignment")),
                str(self.case_id),
                "assign" if by_supervisor else "self_assign",
                str(self.specialist),
                str(creator),
                _ts(opened_at),
                self.rng.choice(("New intake", "Round-robin assignment", "Workload balancing"))
                if by_supervisor
                else "",
            )

    def _deadline(self, kind: str, title: str, due: date, *, done: date | None = None) -> None:
        chunk = self.chunk
        owner = self.specialist
        chunk.write(
            "cases_deadline",
            str(chunk.take("cases_deadline")),
            str(self.case_id),
            kind,
            title,
            due.isoformat(),
            _n(owner),
            _ts(self.at(done)) if done else NULL,
            str(self.actor) if done else NULL,
            _ts(self.opened_at),
        )

    def _write_deadlines(self) -> None:
        status, points, rng = self.status, self.points, self.rng
        closed = points.get("closed")
        sol = self.sol_date()
        sol_done = closed or (
            min(self.today, sol - timedelta(days=20)) if self.suit_filed else None
        )
        self._deadline("sol", "Statute of limitations", sol, done=sol_done)
        if "notice" in points:
            due = points["notice"] + timedelta(days=self.ref.jurisdictions[self.state][1])
            answered = STAGES.index(status) > 2 or rng.random() < 0.3
            done = min(self.today, points.get("follow_up") or due) if answered else None
            self._deadline(
                "response_due", "Response to notice of lien due", due, done=closed or done
            )
        if status == "new":
            self._deadline(
                "review",
                "Initial review of a new case",
                self.today + timedelta(days=rng.randint(-3, 5)),
            )
        elif status == "research":
            self._deadline(
                "follow_up", "Follow up on the information request", self.due_near_today()
            )
        elif status == "follow_up":
            self._deadline("follow_up", "Follow-up call", self.due_near_today())
        elif status == "settlement":
            self._deadline(
                "review",
                "Compute final lien and answer the reduction request",
                self.due_near_today(),
            )
        elif status == "receivable":
            self._deadline("funds_due", "Settlement funds due", self.due_near_today())

    def _activity(self, day: date, kind: str, subject: str, outcome: str = "", *,
                  direction: str = "out", party: tuple[int, str] | None = None,
                  body: str = "") -> None:  # fmt: skip
        chunk = self.chunk
        moment = _ts(self.at(day))
        chunk.write(
            "cases_activity",
            str(chunk.take("cases_activity")),
            str(self.case_id),
            kind,
            direction,
            _n(party[0] if party else None),
            moment,
            _t(subject[:200]),
            _t(outcome[:200]),
            _t(body),
            str(self.actor),
            moment,
        )

    def _write_activities(self) -> None:
        rng, points, parties = self.rng, self.points, self.parties
        attorney = parties.get("attorney_of_record")
        insurer = parties.get("liability_insurer")
        if attorney and self.source == Case.Source.ATTORNEY_LETTER:
            self._activity(
                self.opened,
                "letter",
                "Letter of representation received",
                "Attorney of record added; client authorization on file",
                direction="in",
                party=attorney,
            )
        if insurer and self.source == Case.Source.INSURER_NOTICE:
            self._activity(
                self.opened,
                "fax",
                "Insurer notice of claim received",
                "Claim and policy numbers recorded",
                direction="in",
                party=insurer,
            )
        if "research" in points:
            self._activity(
                points["research"],
                "note",
                "Eligibility checked for the date of injury",
                "Eligible on the date of injury",
                direction="internal",
            )
        if "notice" in points:
            for party in (attorney, insurer):
                if party:
                    self._activity(
                        points["notice"],
                        "letter",
                        "Notice of lien with itemized statement",
                        f"Mailed certified; lien amount ${_cents(self.lien_cents)}",
                        party=party,
                    )
        if "follow_up" in points:
            start = points["follow_up"]
            end = points.get("settlement") or points.get("closed") or self.today
            contacts = rng.randint(1, 4)
            for n in range(contacts):
                day = start + timedelta(days=int((end - start).days * n / contacts))
                party = rng.choice([p for p in (attorney, insurer) if p] or [None])
                kind = demo._weighted(rng, {"call": 5, "email": 3, "fax": 1})
                texts = demo.INSURER_OUTCOMES if party is insurer else demo.ATTORNEY_OUTCOMES
                self._activity(
                    day,
                    kind,
                    f"Status check with {party[1]}" if party else "Status check",
                    rng.choice(texts),
                    party=party,
                )
        if "settlement" in points:
            self._activity(
                points["settlement"],
                "email",
                "Settlement reported; final lien amount requested",
                f"Settlement of ${_cents(self.limits)}; "
                + ("attorney asks for a reduction" if attorney else "insurer asks for the final amount"),
                direction="in",
                party=attorney or insurer,
            )  # fmt: skip
        if self.suit_filed:
            self._activity(
                min(self.today, self.sol_date() - timedelta(days=20)),
                "note",
                "Suit filed before the statute of limitations",
                "Complaint filed; SOL no longer a bar",
                direction="internal",
                party=self.parties.get("court"),
            )
        if self.status == "closed":
            self._activity(
                points["closed"],
                "note",
                f"Case closed: {Case.Outcome(self.outcome).label}",
                direction="internal",
            )

    def _write_lien(self, lines: list[tuple]) -> None:
        points, chunk, rng = self.points, self.chunk, self.rng
        self.lien_id = None
        if "notice" not in points or self.outcome == "withdrawn" or not self.lien_cents:
            return
        status = {
            "recovered_full": "satisfied",
            "compromised": "satisfied",
            "waived": "released",
            "uncollectible": "released",
            "no_liability": "released",
        }.get(self.outcome, "filed")
        filed_on = points["notice"]
        attorney = self.parties.get("attorney_of_record")
        filed_with = attorney or self.parties.get("liability_insurer")
        released_on = points.get("closed") if status in ("released", "satisfied") else None
        released = self.lien_cents if status == "released" else 0
        lien_id = chunk.take("liens_lien")
        self.lien_id = lien_id
        chunk.write(
            "liens_lien",
            str(lien_id),
            str(self.case_id),
            status,
            _cents(self.lien_cents),
            _cents(self.lien_cents),
            _cents(released),
            _n(filed_with[0] if filed_with else None),
            ("attorney" if attorney else "insurer") if filed_with else "",
            filed_on.isoformat(),
            "certified_mail",
            "9407" + "".join(str(rng.randint(0, 9)) for _ in range(18)),
            "",
            (filed_on + timedelta(days=5 * 365)).isoformat(),
            _d(released_on),
            str(self.actor),
            str(self.actor),
            _ts(self.at(filed_on)),
        )
        for (
            line_id,
            line,
            paid,
            _rate,
            claim_number,
            line_number,
            provider,
            paid_date,
        ) in self.included:
            chunk.write(
                "liens_lienfilingline",
                str(chunk.take("liens_lienfilingline")),
                str(lien_id),
                str(line_id),
                claim_number,
                str(line_number),
                line.service.isoformat(),
                (line.service + timedelta(days=line.units_days)).isoformat(),
                provider,
                line.procedure,
                " ".join(line.diagnoses),
                _cents(paid),
                paid_date.isoformat(),
            )

    def _write_settlement_and_money(self, lines: list[tuple]) -> None:
        ref, rng, chunk, points = self.ref, self.rng, self.chunk, self.points
        settled = self.status in ("settlement", "receivable") or self.outcome in (
            "recovered_full",
            "compromised",
            "waived",
        )
        if not settled or not self.lien_cents or "settlement" not in points:
            return
        lien = Decimal(self.lien_cents) / 100
        limits = Decimal(self.limits) / 100
        if rng.random() < 0.4 or limits <= lien * 2:
            gross = limits
        else:
            multiple = Decimal(rng.choice(("2.5", "3", "4", "5")))
            gross = max(min(limits, (lien * multiple / 1000).quantize(Decimal(1)) * 1000), Decimal(5000))  # fmt: skip
        fees = (gross / 3).quantize(Decimal("0.01"))
        costs = (gross * rng.randint(1, 6) / 100).quantize(Decimal("0.01"))
        formula = (
            "full_lien" if self.outcome == "recovered_full" else ref.jurisdictions[self.state][2]
        )
        inputs = calculator.Inputs(
            gross_settlement=gross, attorney_fees=fees, costs=costs, program_paid=lien
        )
        try:
            result = calculator.calculate(inputs, formula=formula)[formula]
        except (KeyError, ValueError):
            formula = "full_lien"
            result = calculator.calculate(inputs, formula=formula)[formula]
        agreed = result.recovery_amount
        reduction, percent = reduction_of(lien, agreed)
        pending = self.status == "settlement" and rng.random() < 0.5
        proposer = self.actor
        proposed_at = self.at(points["settlement"])
        decided_at = proposed_at + timedelta(hours=rng.randint(1, 72))
        decided_at = min(decided_at, self.now - timedelta(minutes=1))
        calculation = {
            **_serialize(result),
            "baseline_formula": formula,
            "baseline_recovery": str(agreed),
            "discretionary_reduction": "0.00",
            "discretionary_percent_of_lien": "0",
        }
        settlement_id = chunk.take("settlements_settlement")

        funds_due = points["settlement"] + timedelta(days=30)
        chunk.write(
            "settlements_settlement",
            str(settlement_id),
            str(self.case_id),
            "pending" if pending else "accepted",
            str(gross),
            str(fees),
            str(costs),
            str(lien),
            formula,
            str(agreed),
            _t(json.dumps(calculation)),
            str(agreed),
            str(reduction),
            str(percent),
            _b(bool(self.parties.get("attorney_of_record")) and reduction > 0),
            "",
            "",
            _b(not pending),
            str(proposer),
            _ts(proposed_at),
            NULL if pending else str(proposer),
            NULL if pending else _ts(decided_at),
            "" if pending else "Within the proposer's authority.",
            funds_due.isoformat(),
        )
        if pending or self.outcome == "waived" or agreed <= 0:
            return
        # Money: a lump sum or installments; each receipt is disbursed to the program, except
        # what a case awaiting funds still holds.
        agreed_cents = int(agreed * 100)
        received_all = self.status == "closed"
        if rng.random() < 0.3 and agreed_cents >= 60_000:
            count = rng.randint(3, 12)
        else:
            count = 1
        first_due = points["settlement"] + timedelta(days=30)
        if count > 1:
            arrangement_id = chunk.take("settlements_paymentarrangement")
            paid_count = count if received_all else rng.randint(0, count - 1)
            chunk.write(
                "settlements_paymentarrangement",
                str(arrangement_id),
                str(settlement_id),
                _cents(agreed_cents),
                str(count),
                first_due.isoformat(),
                "completed" if paid_count == count else "active",
                str(proposer),
                _ts(decided_at),
            )
            base = agreed_cents // count
            amounts = [base] * (count - 1) + [agreed_cents - base * (count - 1)]
        else:
            arrangement_id = None
            paid_count = 1 if received_all or rng.random() < 0.3 else 0
            amounts = [agreed_cents]
        closed = points.get("closed") or self.today
        span = max(1, (closed - first_due).days)
        deposits = []
        for n, cents in enumerate(amounts):
            due = first_due + timedelta(days=30 * n)
            if count > 1:
                due = min(due, first_due + timedelta(days=span * n // count))
            paid = n < paid_count
            installment_id = None
            if arrangement_id is not None:
                installment_id = chunk.take("settlements_installment")
                chunk.write(
                    "settlements_installment",
                    str(installment_id),
                    str(arrangement_id),
                    str(n + 1),
                    due.isoformat(),
                    _cents(cents),
                    _cents(cents if paid else 0),
                    "paid" if paid else "due",
                )
            if paid:
                deposits.append((min(due + timedelta(days=rng.randint(0, 9)), self.today), cents, installment_id))  # fmt: skip
        held = received = disbursed = 0
        payer = self.parties.get("liability_insurer") or self.parties.get("attorney_of_record")
        payer_name = payer[1] if payer else "Member"
        shares = [(Decimal(row[2]) / 100, row[3]) for row in self.included]
        for n, (day, cents, installment_id) in enumerate(deposits):
            moment = self.at(day)
            reference = f"{rng.randint(100000, 999999)}"
            instrument = rng.choice(("check", "check", "check", "eft", "ach"))
            txn = chunk.take("ledger_transaction")
            memo = f"{instrument.upper() if instrument != 'check' else 'Check'} {reference} from {payer_name}"
            chunk.write("ledger_transaction", str(txn), "deposit", str(self.case_id), _t(memo[:300]), day.isoformat(), _ts(moment), str(self.actor))  # fmt: skip
            chunk.write("ledger_entry", str(chunk.take("ledger_entry")), str(txn), str(ref.accounts["1000"]), NULL, _cents(cents))  # fmt: skip
            chunk.write("ledger_entry", str(chunk.take("ledger_entry")), str(txn), str(ref.accounts["2000"]), str(self.case_id), _cents(-cents))  # fmt: skip
            chunk.write(
                "ledger_deposit",
                str(chunk.take("ledger_deposit")),
                str(self.case_id),
                _cents(cents),
                day.isoformat(),
                _t(payer_name[:200]),
                instrument,
                reference,
                f"scale-{self.case_id}-{n + 1}",
                str(settlement_id),
                _n(installment_id),
                str(txn),
                str(self.actor),
                _ts(moment),
            )
            self._activity(
                day,
                "note",
                f"Payment received: ${int(cents) // 100:,}.{cents % 100:02d} ({instrument.upper()} {reference})",
                direction="in",
            )
            received += cents
            held += cents
            last_unsent = self.status == "receivable" and n == len(deposits) - 1
            if last_unsent:
                continue
            # The program's recovery, split at each line's matching rate.
            amount = Decimal(cents) / 100
            split = None
            if shares:
                split = self.splits.get(cents)
                if split is None:
                    split = self.splits[cents] = calculator.federal_share(amount, shares)
            state = int(split.total_state * 100) if split else cents
            federal = int(split.total_federal * 100) if split else 0
            approver = self.supervisor if self.actor != self.supervisor else ref.admin
            moment = min(moment + timedelta(days=rng.randint(1, 10)), self.now - timedelta(minutes=1))  # fmt: skip
            txn = chunk.take("ledger_transaction")
            chunk.write("ledger_transaction", str(txn), "disbursement", str(self.case_id), _t(f"Program recovery (state and federal share) to {PAYEE_PROGRAM}"[:300]), timezone.localdate(moment).isoformat(), _ts(moment), str(approver))  # fmt: skip
            for account, value in (("2000", cents), ("4000", -state), ("2100", -federal)):
                if value:
                    chunk.write("ledger_entry", str(chunk.take("ledger_entry")), str(txn), str(ref.accounts[account]), str(self.case_id), _cents(value))  # fmt: skip
            chunk.write(
                "ledger_disbursement",
                str(chunk.take("ledger_disbursement")),
                str(self.case_id),
                _cents(cents),
                PAYEE_PROGRAM,
                "program_recovery",
                "",
                "approved",
                str(self.actor),
                _ts(moment - timedelta(hours=2)),
                str(approver),
                _ts(moment),
                "",
                _cents(state),
                _cents(federal),
                str(txn),
            )
            held -= cents
            disbursed += cents
        if received:
            chunk.write(
                "ledger_casebalance",
                str(self.case_id),
                _cents(held),
                _cents(received),
                _cents(disbursed),
                _ts(self.now),
            )


def generate_chunk(ref: Reference, number: int, indexes: range, numbers: dict[int, int]):
    """COPY text of every table for the cases `indexes` (chunk `number`)."""
    chunk = Chunk(ref, number)
    counters = dict(numbers)
    for index in indexes:
        year = case_year(ref.seed, index, ref.today)
        counters[year] = counters.get(year, 0) + 1
        if counters[year] > 999_999:
            raise RuntimeError(f"more than 999,999 cases numbered in {year}")
        CaseWriter(chunk, index, f"TPL-{year}-{counters[year]:06d}").write()
    return chunk.result()


_WORKER_REF: Reference | None = None


def _init_worker(ref: Reference) -> None:
    global _WORKER_REF
    _WORKER_REF = ref


def _work(task: tuple[int, range, dict[int, int]]):
    assert _WORKER_REF is not None
    number, indexes, numbers = task
    return generate_chunk(_WORKER_REF, number, indexes, numbers)


# ---------------------------------------------------------------------------------------------
# Reference rows (ORM)
# ---------------------------------------------------------------------------------------------


def _ensure_users(rng: random.Random) -> tuple[list[TeamRef], int, list[int]]:
    """~300 staff in 16 teams: a supervisor each, ~17 specialists each, plus an administrator
    and auditors. All use the demo password (DEMO_PASSWORD)."""
    password = make_password(settings.DEMO_PASSWORD)
    admin, _ = User.objects.get_or_create(
        username=MARKER_USERNAME,
        defaults={
            "role": Role.ADMIN,
            "first_name": "Scale",
            "last_name": "Administrator",
            "email": "scale-admin@agency.example",
            "password": password,
            "is_staff": True,
        },
    )
    for n in range(1, 5):
        User.objects.get_or_create(
            username=f"{SCALE_USER_PREFIX}auditor-{n}",
            defaults={
                "role": Role.AUDITOR,
                "first_name": rng.choice(FIRST_NAMES),
                "last_name": rng.choice(LAST_NAMES),
                "email": f"scale-auditor-{n}@agency.example",
                "password": password,
            },
        )
    teams, supervisors = [], []
    specialists_per_team = 17
    for t, name in enumerate(TEAM_NAMES):
        boss, _ = User.objects.get_or_create(
            username=f"{SCALE_USER_PREFIX}sup-{t + 1:02d}",
            defaults={
                "role": Role.SUPERVISOR,
                "first_name": rng.choice(FIRST_NAMES),
                "last_name": rng.choice(LAST_NAMES),
                "email": f"scale-sup-{t + 1:02d}@agency.example",
                "password": password,
                "title": "Recovery supervisor",
                "authority_max_reduction_amount": Decimal("25000.00"),
                "authority_max_reduction_percent": Decimal("50.00"),
            },
        )
        team, _ = Team.objects.get_or_create(name=f"Scale {name}", defaults={"supervisor": boss})
        if boss.team_id != team.pk:
            boss.team = team
            boss.save(update_fields=["team"])
        supervisors.append(boss.pk)
        existing = {u.username: u.pk for u in User.objects.filter(team=team, role=Role.SPECIALIST)}
        missing = []
        for s in range(specialists_per_team):
            username = f"{SCALE_USER_PREFIX}spec-{t + 1:02d}-{s + 1:02d}"
            if username not in existing:
                missing.append(
                    User(
                        username=username,
                        role=Role.SPECIALIST,
                        team=team,
                        first_name=rng.choice(FIRST_NAMES),
                        last_name=rng.choice(LAST_NAMES),
                        email=f"{username}@agency.example",
                        password=password,
                        title="Recovery specialist",
                        authority_max_reduction_amount=Decimal("2500.00"),
                        authority_max_reduction_percent=Decimal("15.00"),
                    )
                )
        User.objects.bulk_create(missing)
        specialists = tuple(
            User.objects.filter(
                team=team, role=Role.SPECIALIST, username__startswith=SCALE_USER_PREFIX
            )
            .order_by("username")
            .values_list("pk", flat=True)
        )
        teams.append(TeamRef(team.pk, boss.pk, specialists))
    return teams, admin.pk, supervisors


def _ensure_parties(rng: random.Random) -> dict:
    """Law firms (with attorneys), insurers, health plans, courts and employers."""
    have = Party.objects.filter(notes=PARTY_NOTE).exists()
    states = list(demo.STATES)
    if not have:
        rows = []
        for state in states:
            info = demo.STATES[state]
            for n in range(60 + info.weight * 4):
                a, b, c = (rng.choice(LAST_NAMES) for _ in range(3))
                name = rng.choice(FIRM_PATTERNS).format(a=a, b=b, c=c, f=rng.choice(FIRST_NAMES))
                city, zip_prefix, area = rng.choice(info.cities)
                rows.append(
                    Party(
                        kind=Party.Kind.LAW_FIRM,
                        name=name,
                        email=f"intake@{demo._slug(name)}-{n}.example",
                        phone=demo._phone(rng, area),
                        address_line1=demo._street(rng),
                        city=city,
                        state=state,
                        postal_code=f"{zip_prefix}{rng.randint(1, 99):02d}",
                        notes=PARTY_NOTE,
                    )
                )
        for n in range(64):
            name = f"{rng.choice(INSURER_WORDS)} {rng.choice(INSURER_SUFFIXES)}"
            rows.append(
                Party(
                    kind=Party.Kind.LIABILITY_INSURER,
                    name=name,
                    naic_code=f"{10000 + n * 1361 % 89999:05d}",
                    email=f"claims@{demo._slug(name)}.example",
                    contact_name="Claims intake",
                    notes=PARTY_NOTE,
                )
            )
        for name, state in demo.HEALTH_PLANS + [
            ("Gulf Coast Community Care", "FL"),
            ("Lone Star Family Health Plan", "TX"),
            ("Empire Medicaid Partners", "NY"),
        ]:
            rows.append(
                Party(kind=Party.Kind.HEALTH_PLAN, name=name, state=state, notes=PARTY_NOTE)
            )
        for state in states:
            info = demo.STATES[state]
            rows.append(
                Party(
                    kind=Party.Kind.COURT,
                    name=f"{info.cities[0][0]} Circuit Court",
                    city=info.cities[0][0],
                    state=state,
                    notes=PARTY_NOTE,
                )
            )
            for _ in range(25):
                name = (
                    f"{rng.choice(LAST_NAMES)} {rng.choice(EMPLOYER_WORDS).replace('-', ' ')} LLC"
                )
                rows.append(
                    Party(
                        kind=Party.Kind.EMPLOYER,
                        name=name,
                        contact_name="Human resources",
                        state=state,
                        notes=PARTY_NOTE,
                    )
                )
        Party.objects.bulk_create(rows, batch_size=2000)
        # Two or three attorneys per firm.
        attorneys = []
        for firm in Party.objects.filter(kind=Party.Kind.LAW_FIRM, notes=PARTY_NOTE):
            for _ in range(rng.randint(1, 3)):
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                attorneys.append(
                    Party(
                        kind=Party.Kind.ATTORNEY,
                        name=f"{first} {last}",
                        firm=firm,
                        bar_number=str(rng.randint(100000, 9999999)),
                        email=f"{first[0].lower()}{last.lower()}@{firm.email.split('@')[1]}",
                        phone=firm.phone,
                        city=firm.city,
                        state=firm.state,
                        notes=PARTY_NOTE,
                    )
                )
        Party.objects.bulk_create(attorneys, batch_size=2000)
    parties = Party.objects.filter(notes=PARTY_NOTE).order_by("pk")
    firms: dict[str, list] = {}
    insurers: dict[str, list] = {}
    plans, courts, employers = [], {}, {}
    for party in parties.only("pk", "kind", "name", "state", "notes"):
        entry = (party.pk, party.name)
        if party.kind == Party.Kind.LAW_FIRM:
            firms.setdefault(party.state, []).append(entry)
        elif party.kind == Party.Kind.LIABILITY_INSURER:
            business = INSURER_LINES[sum(map(len, insurers.values())) % len(INSURER_LINES)]
            insurers.setdefault(business, []).append(entry)
        elif party.kind == Party.Kind.HEALTH_PLAN:
            plans.append(entry)
        elif party.kind == Party.Kind.COURT:
            courts[party.state] = entry
        elif party.kind == Party.Kind.EMPLOYER:
            employers.setdefault(party.state, []).append(entry)
    insurers["premises"] = insurers["premises"] + insurers["auto"][:4]
    return {
        "firms": {k: tuple(v) for k, v in firms.items()},
        "insurers": {k: tuple(v) for k, v in insurers.items()},
        "health_plans": tuple(plans),
        "courts": courts,
        "employers": {k: tuple(v) for k, v in employers.items()},
    }


def _ensure_rules() -> tuple[dict[str, tuple[int, int, str]], dict[tuple[str, str], int]]:
    jurisdictions = {}
    for code, info in demo.STATES.items():
        jurisdiction, _ = Jurisdiction.objects.get_or_create(
            code=code, defaults={"name": info.name, "default_sol_years": info.sol_years}
        )
        SolRule.objects.get_or_create(
            jurisdiction=jurisdiction,
            incident_kind="",
            defaults={"years": info.sol_years, "citation": info.sol_citation},
        )
        jurisdictions[code] = (
            jurisdiction.pk,
            jurisdiction.response_days,
            jurisdiction.default_formula,
        )
    for code, kind, years, citation in demo.SOL_RULES:
        SolRule.objects.get_or_create(
            jurisdiction_id=jurisdictions[code][0],
            incident_kind=kind,
            defaults={"years": years, "citation": citation},
        )
    rules = {
        (rule.jurisdiction.code, rule.incident_kind): rule.years
        for rule in SolRule.objects.select_related("jurisdiction")
    }
    return jurisdictions, rules


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


class NotEmpty(Exception):
    pass


def existing_data() -> tuple[int, bool]:
    """(cases already in the database, whether seed_scale made them)."""
    count = Case.objects.count()
    return count, User.objects.filter(username=MARKER_USERNAME).exists()


def _next_ids(cursor) -> dict[str, int]:
    bases = {}
    for table in TABLES:
        column = ID_COLUMN.get(table, "id")
        if column is None:
            continue
        # Table and column names come from TABLES above, never from input.
        cursor.execute(f"SELECT COALESCE(MAX({column}), 0) + 1 FROM {table}")  # noqa: S608
        bases[table] = cursor.fetchone()[0]
    return bases


@dataclass
class Deferred:
    """Secondary indexes and foreign keys of the bulk tables, dropped while loading."""

    indexes: list[tuple[str, str]] = field(default_factory=list)  # (name, CREATE INDEX ...)
    constraints: list[tuple[str, str, str]] = field(default_factory=list)  # (table, name, def)


def drop_for_load(cursor) -> Deferred:
    deferred = Deferred()
    tables = [t for t in TABLES]
    cursor.execute(
        """
        SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), c.contype
          FROM pg_constraint c
         WHERE c.conrelid::regclass::text = ANY(%s) AND c.contype IN ('f', 'u')
         ORDER BY c.contype DESC, c.conname
        """,
        [tables],
    )
    for table, name, definition, _kind in cursor.fetchall():
        deferred.constraints.append((table, name, definition))
    for table, name, _ in deferred.constraints:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    cursor.execute(
        """
        SELECT i.indexrelid::regclass::text, t.relname, pg_get_indexdef(i.indexrelid),
               ARRAY(SELECT a.attname FROM pg_attribute a
                      WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey))
          FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
         WHERE t.relname = ANY(%s) AND NOT i.indisprimary
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        """,
        [tables],
    )
    for name, table, definition, columns in cursor.fetchall():
        if tuple(columns) in [(c,) for c in KEEP_INDEXES.get(table, ())]:
            continue
        deferred.indexes.append((name, definition))
        cursor.execute(f"DROP INDEX {name}")
    return deferred


def restore_after_load(cursor, deferred: Deferred, log: Callable[[str], None]) -> None:
    for name, definition in deferred.indexes:
        started = time.perf_counter()
        cursor.execute(definition)
        log(f"  index {name}: {time.perf_counter() - started:.1f} s")
    # Unique constraints first (foreign keys may reference them), then foreign keys.
    for table, name, definition in sorted(
        deferred.constraints, key=lambda c: not c[2].startswith("UNIQUE")
    ):
        started = time.perf_counter()
        cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        log(f"  constraint {table}.{name}: {time.perf_counter() - started:.1f} s")


def _reset_sequences(cursor) -> None:
    for table in TABLES:
        column = ID_COLUMN.get(table, "id")
        if column is None:
            continue
        # Names from TABLES above, never from input.
        sql = f"SELECT setval(pg_get_serial_sequence(%s, %s), GREATEST(MAX({column}), 1)) FROM {table}"  # noqa: S608, E501
        cursor.execute(sql, [table, column])


def _tasks(ref: Reference, total: int) -> Iterator[tuple[int, range, dict[int, int]]]:
    """Chunks of case indexes, each with the case numbers already used per year before it."""
    numbers = dict(ref.number_start)
    for number, start in enumerate(range(ref.first_index, ref.first_index + total, ref.chunk)):
        indexes = range(start, min(start + ref.chunk, ref.first_index + total))
        yield number, indexes, dict(numbers)
        for index in indexes:
            year = case_year(ref.seed, index, ref.today)
            numbers[year] = numbers.get(year, 0) + 1


def seed_scale(
    *,
    cases: int,
    seed: int = 20260101,
    chunk: int = 2000,
    workers: int | None = None,
    force: bool = False,
    vacuum: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, int]:
    """Add `cases` synthetic cases with everything around them; return rows added per table."""
    if connection.vendor != "postgresql":
        raise RuntimeError("seed_scale loads with PostgreSQL COPY: set DATABASE_URL.")
    count, ours = existing_data()
    if count and not force:
        if ours:
            raise NotEmpty(
                f"The database already holds {count:,} cases from seed_scale; use --force to add"
                f" {cases:,} more."
            )
        raise NotEmpty(
            f"The database holds {count:,} cases that seed_scale did not make; refusing to mix"
            " scale data with them (use --force to add anyway)."
        )
    started = time.perf_counter()
    rng = random.Random(f"{seed}:reference")
    with transaction.atomic():
        teams, admin, supervisors = _ensure_users(rng)
        parties = _ensure_parties(rng)
        jurisdictions, sol_years = _ensure_rules()
    from ledger.services import _accounts

    accounts = {code: account.pk for code, account in _accounts().items()}
    team_of_state: dict[str, list[int]] = {}
    states = list(demo.STATES)
    for t in range(len(teams)):
        for s in (states[t % len(states)], states[(t + 3) % len(states)]):
            team_of_state.setdefault(s, []).append(t)
    today = timezone.localdate()
    with connection.cursor() as cursor:
        bases = _next_ids(cursor)
    ref = Reference(
        seed=seed,
        today=today,
        now=timezone.now(),
        chunk=chunk,
        first_index=count,
        bases=bases,
        jurisdictions=jurisdictions,
        sol_years=sol_years,
        teams=tuple(teams),
        team_of_state={k: tuple(v) for k, v in team_of_state.items()},
        supervisors=tuple(supervisors),
        admin=admin,
        accounts=accounts,
        number_start={s.year: s.last for s in CaseNumberSequence.objects.all()},
        **parties,
    )
    log(f"reference rows ready ({time.perf_counter() - started:.1f} s); loading {cases:,} cases")

    workers = (os.cpu_count() or 1) if workers is None else workers
    totals: Counter = Counter()
    connections.close_all()  # forked workers must not inherit an open connection
    pool = (
        multiprocessing.get_context("fork").Pool(workers, _init_worker, (ref,))
        if workers > 0
        else None
    )
    raw = _loader_connection()
    deferred = Deferred()
    load_started = time.perf_counter()
    try:
        with raw.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '1GB'")
            deferred = drop_for_load(cursor)
        raw.commit()
        done = 0
        for buffers, rows in _results(pool, ref, cases, window=workers + 2):
            with raw.cursor() as cursor:
                for table in LOAD_ORDER:
                    data = buffers[table]
                    if data:
                        columns = ", ".join(TABLES[table][0])
                        cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", io.BytesIO(data))
            raw.commit()  # the ledger's deferred balance check runs here, per entry
            totals.update(rows)
            done += rows["cases_case"]
            elapsed = time.perf_counter() - load_started
            if done == cases or done % (chunk * 25) == 0:
                log(
                    f"  {done:,} cases, {totals['cases_claimline']:,} claim lines,"
                    f" {totals['ledger_entry']:,} ledger entries: {elapsed:.0f} s"
                    f" ({done / elapsed:,.0f} cases/s)"
                )
        log(f"rows loaded in {time.perf_counter() - load_started:.0f} s")
    finally:
        if pool:
            pool.terminate()
        raw.rollback()
        restore_started = time.perf_counter()
        log("restoring indexes and constraints")
        with raw.cursor() as cursor:
            restore_after_load(cursor, deferred, log)
            _reset_sequences(cursor)
            # The app's own case-number sequence continues after the numbers used.
            cursor.execute(
                """
                INSERT INTO cases_casenumbersequence (year, last)
                SELECT split_part(number, '-', 2)::int, MAX(split_part(number, '-', 3)::int)
                  FROM cases_case WHERE number LIKE 'TPL-____-%%' GROUP BY 1
                ON CONFLICT (year) DO UPDATE
                   SET last = GREATEST(cases_casenumbersequence.last, EXCLUDED.last)
                """
            )
        raw.commit()
        log(f"indexes and constraints restored in {time.perf_counter() - restore_started:.0f} s")
    analyze_started = time.perf_counter()
    raw.autocommit = True
    with raw.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"{'VACUUM ANALYZE' if vacuum else 'ANALYZE'} {table}")
        cursor.execute("ANALYZE")
    raw.close()
    log(f"{'VACUUM ' if vacuum else ''}ANALYZE: {time.perf_counter() - analyze_started:.0f} s")
    log(f"seed_scale finished in {time.perf_counter() - started:.0f} s")
    return dict(totals)


def _loader_connection():
    """A connection of its own for the COPY stream (Django's stays in its usual state)."""
    import psycopg2

    params = connection.get_connection_params()
    return psycopg2.connect(**params)


def _results(pool, ref: Reference, cases: int, *, window: int):
    """Chunk results in order, with at most `window` chunks generated ahead of the loader."""
    tasks = _tasks(ref, cases)
    if pool is None:
        for task in tasks:
            yield generate_chunk(ref, *task)
        return
    pending: deque = deque()
    for task in tasks:
        pending.append(pool.apply_async(_work, (task,)))
        if len(pending) >= window:
            yield pending.popleft().get()
    while pending:
        yield pending.popleft().get()
