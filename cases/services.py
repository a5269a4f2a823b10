"""Writes on cases: one function per action a specialist or supervisor would name.

Every function takes the acting user by keyword, runs in one transaction, and raises
ValidationError / PermissionDenied / Conflict instead of returning HTTP answers. History rows
come from django-simple-history; hand-overs and decisions keep their own rows as well.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from recovery.core.exceptions import Conflict
from recovery.core.models import Role, User
from recovery.crypto import keyed_hash
from recovery.money import ZERO, to_money

from . import screening
from .models import (
    Activity,
    Assignment,
    Case,
    CaseClaim,
    CaseNumberSequence,
    CaseParty,
    ClaimLine,
    Deadline,
    Document,
    IncidentKind,
    Jurisdiction,
    Lead,
    Member,
    Party,
    SolRule,
    SupervisorQuestion,
)
from .selectors import can_edit_case, possible_duplicates

# ---------------------------------------------------------------------------------------------
# Guards
# ---------------------------------------------------------------------------------------------


def ensure_can_edit(user: User, case: Case) -> None:
    if not can_edit_case(user, case):
        raise PermissionDenied("Only the assigned specialist or a supervisor may change this case.")


def _require_staff_writer(user: User) -> None:
    if user.role not in (Role.SPECIALIST, Role.SUPERVISOR, Role.ADMIN):
        raise PermissionDenied("Your role does not allow changes.")


# ---------------------------------------------------------------------------------------------
# Members
# ---------------------------------------------------------------------------------------------


@transaction.atomic
def save_member(
    *, member: Member | None, saved_by: User, dob: date | None = None, **fields
) -> Member:
    """Create a member (member=None) or change one. The program id must be new to the program;
    the keyed hash finds a clash whatever the formatting."""
    _require_staff_writer(saved_by)
    member = member or Member()
    if "program_id" in fields:
        fields["program_id"] = fields["program_id"].strip()
        clash = Member.objects.filter(program_id_hash=keyed_hash(fields["program_id"]))
        if member.pk:
            clash = clash.exclude(pk=member.pk)
        if clash.exists():
            raise ValidationError({"program_id": "A member with this program id already exists."})
    if dob is not None:
        if dob > timezone.localdate():
            raise ValidationError({"date_of_birth": "A date of birth cannot be in the future."})
        member.date_of_birth = dob.isoformat()
    for name, value in fields.items():
        setattr(member, name, value)
    try:
        with transaction.atomic():
            member.save()
    except IntegrityError as exc:
        # Two requests with the same new program id at once: the unique hash decides.
        raise ValidationError(
            {"program_id": "A member with this program id already exists."}
        ) from exc
    return member


# ---------------------------------------------------------------------------------------------
# Intake
# ---------------------------------------------------------------------------------------------


def next_case_number(year: int) -> str:
    """TPL-YYYY-NNNNNN, gap-free per year; the row lock serialises concurrent intakes."""
    CaseNumberSequence.objects.get_or_create(year=year)
    sequence = CaseNumberSequence.objects.select_for_update().get(year=year)
    sequence.last += 1
    sequence.save(update_fields=["last"])
    return f"TPL-{year}-{sequence.last:06d}"


def suggest_sol_date(
    *, jurisdiction: Jurisdiction, incident_kind: str, incident_date: date
) -> date:
    rule = (
        SolRule.objects.filter(jurisdiction=jurisdiction, incident_kind=incident_kind).first()
        or SolRule.objects.filter(jurisdiction=jurisdiction, incident_kind="").first()
    )
    years = rule.years if rule else jurisdiction.default_sol_years
    try:
        return incident_date.replace(year=incident_date.year + years)
    except ValueError:  # 29 February in a year that has none
        return incident_date.replace(year=incident_date.year + years, day=28)


@dataclass
class IntakeWarnings:
    not_eligible: bool = False
    duplicates: list[Case] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return self.not_eligible or bool(self.duplicates)


def intake_checks(*, member: Member, incident_date: date) -> IntakeWarnings:
    eligible = any(span.covers(incident_date) for span in member.eligibility.all())
    return IntakeWarnings(
        not_eligible=not eligible,
        duplicates=list(possible_duplicates(member=member, incident_date=incident_date)),
    )


@transaction.atomic
def open_case(
    *,
    created_by: User,
    member: Member,
    incident_date: date,
    incident_kind: str,
    jurisdiction: Jurisdiction,
    source: str,
    incident_description: str = "",
    priority: int = Case.Priority.NORMAL,
    assigned_to: User | None = None,
    sol_date: date | None = None,
    acknowledge_duplicates: bool = False,
    today: date | None = None,
) -> Case:
    """Open a case. A possible duplicate (same member, incident within 30 days) stops the
    intake until the user confirms; the member's already-imported claim lines since the
    incident are screened onto the case at once."""
    _require_staff_writer(created_by)
    today = today or timezone.localdate()
    errors = {}
    if incident_date > today:
        errors["incident_date"] = "The incident date cannot be in the future."
    if incident_kind not in IncidentKind.values:
        errors["incident_kind"] = "Unknown incident kind."
    if source not in Case.Source.values:
        errors["source"] = "Unknown source."
    if errors:
        raise ValidationError(errors)
    duplicates = possible_duplicates(member=member, incident_date=incident_date)
    if duplicates.exists() and not acknowledge_duplicates:
        numbers = ", ".join(case.number for case in duplicates[:5])
        raise ValidationError(
            {"acknowledge_duplicates": f"Possible duplicate of {numbers}: confirm to open anyway."},
            code="duplicate",
        )
    if assigned_to is None and created_by.role == Role.SPECIALIST:
        assigned_to = created_by
    case = Case.objects.create(
        number=next_case_number(incident_date.year if incident_date.year >= 2000 else today.year),
        member=member,
        incident_date=incident_date,
        incident_kind=incident_kind,
        incident_description=incident_description,
        jurisdiction=jurisdiction,
        source=source,
        priority=priority,
        assigned_to=assigned_to,
        assigned_at=timezone.now() if assigned_to else None,
        team=(assigned_to.team if assigned_to else None) or created_by.team,
        sol_date=sol_date
        or suggest_sol_date(
            jurisdiction=jurisdiction, incident_kind=incident_kind, incident_date=incident_date
        ),
        created_by=created_by,
    )
    if assigned_to:
        Assignment.objects.create(
            case=case,
            action=Assignment.Action.SELF_ASSIGN
            if assigned_to == created_by
            else Assignment.Action.ASSIGN,
            assigned_to=assigned_to,
            assigned_by=created_by,
        )
    if case.sol_date:
        Deadline.objects.create(
            case=case,
            kind=Deadline.Kind.SOL,
            title="Statute of limitations",
            due_date=case.sol_date,
            owner=assigned_to,
        )
    Lead.objects.filter(
        member=member, status__in=[Lead.Status.NEW, Lead.Status.LETTER_SENT]
    ).update(status=Lead.Status.CONVERTED, case=case, updated_at=timezone.now())
    attach_claim_lines(case=case)
    return case


# ---------------------------------------------------------------------------------------------
# Claims on a case
# ---------------------------------------------------------------------------------------------


def _eligibility(member: Member) -> list[tuple[date, date | None]]:
    return [(span.start, span.end) for span in member.eligibility.all()]


def screen_for_case(line: ClaimLine, *, case: Case, eligibility) -> screening.ScreeningResult:
    return screening.screen_line(
        screening.ScreeningInput(
            diagnosis_codes=tuple(line.diagnosis_list),
            code_set=line.code_set,
            accident_indicator=line.accident_indicator,
            occurrence_codes=tuple(line.occurrence_codes.split()),
            value_codes=tuple(line.value_codes.split()),
            service_from=line.service_from,
        ),
        incident_date=case.incident_date,
        eligibility=eligibility or None,
    )


def attach_claim_lines(*, case: Case, lines=None, late_arriving: bool = False) -> int:
    """Put the member's paid lines from the incident date on the case, each with the screening
    decision and its reason. Lines already on the case keep their (possibly manual) decision."""
    if lines is None:
        lines = ClaimLine.objects.filter(
            member_id=case.member_id, service_from__gte=case.incident_date
        )
    eligibility = _eligibility(case.member)
    known = set(case.case_claims.values_list("claim_line_id", flat=True))
    rows = []
    for line in lines:
        if line.pk in known:
            continue
        result = screen_for_case(line, case=case, eligibility=eligibility)
        rows.append(
            CaseClaim(
                case=case,
                claim_line=line,
                included=result.decision == screening.Decision.INCLUDE,
                needs_review=result.decision == screening.Decision.REVIEW,
                basis=CaseClaim.Basis.SCREENING,
                reason=result.reason[:500] or "No trauma signal",
                late_arriving=late_arriving,
            )
        )
    CaseClaim.objects.bulk_create(rows, ignore_conflicts=True)
    recompute_lien_amount(case=case)
    return len(rows)


def recompute_lien_amount(*, case: Case) -> Case:
    """The lien amount is the sum of the included lines' paid amounts."""
    total = case.case_claims.filter(included=True).aggregate(total=Sum("claim_line__paid_amount"))[
        "total"
    ]
    amount = to_money(total or ZERO)
    if case.lien_amount != amount:
        case.lien_amount = amount
        case.save(update_fields=["lien_amount"])
    return case


@transaction.atomic
def decide_claim(
    *, case_claim: CaseClaim, included: bool, reason: str, decided_by: User
) -> CaseClaim:
    """A specialist includes or excludes a line, always with a reason."""
    case = Case.objects.select_for_update().get(pk=case_claim.case_id)
    ensure_can_edit(decided_by, case)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the line is included or excluded."})
    if len(reason) > 500:
        raise ValidationError({"reason": "Keep the reason under 500 characters."})
    case_claim = CaseClaim.objects.select_for_update().get(pk=case_claim.pk)
    case_claim.included = included
    case_claim.needs_review = False
    case_claim.basis = CaseClaim.Basis.MANUAL
    case_claim.reason = reason
    case_claim.decided_by = decided_by
    case_claim.decided_at = timezone.now()
    case_claim.save()
    recompute_lien_amount(case=case)
    case_claim.case = case
    return case_claim


# ---------------------------------------------------------------------------------------------
# Case state, assignment and queues
# ---------------------------------------------------------------------------------------------


@transaction.atomic
def change_status(*, case: Case, status: str, changed_by: User, outcome: str = "") -> Case:
    case = Case.objects.select_for_update().get(pk=case.pk)
    ensure_can_edit(changed_by, case)
    if status not in Case.Status.values:
        raise ValidationError({"status": "Unknown status."})
    if not case.can_move_to(status):
        raise Conflict(
            f"A case in {case.get_status_display()} cannot move to {Case.Status(status).label}."
        )
    if status == Case.Status.CLOSED:
        if outcome not in Case.Outcome.values:
            raise ValidationError({"outcome": "Closing a case needs an outcome."})
        case.outcome = outcome
        case.closed_at = timezone.now()
    else:
        case.outcome = ""
        case.closed_at = None
    case.status = status
    case.save(update_fields=["status", "outcome", "closed_at"])
    return case


@transaction.atomic
def assign_case(*, case: Case, assignee: User, assigned_by: User, note: str = "") -> Case:
    """A supervisor (re)assigns a case to a specialist."""
    if assigned_by.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise PermissionDenied("Only a supervisor assigns cases.")
    if assignee.role not in (Role.SPECIALIST, Role.SUPERVISOR) or not assignee.is_active:
        raise ValidationError({"assignee": "Cases go to active specialists or supervisors."})
    case = Case.objects.select_for_update().get(pk=case.pk)
    action = Assignment.Action.REASSIGN if case.assigned_to_id else Assignment.Action.ASSIGN
    case.assigned_to = assignee
    case.assigned_at = timezone.now()
    case.team = assignee.team or case.team
    case.save(update_fields=["assigned_to", "assigned_at", "team"])
    Assignment.objects.create(
        case=case, action=action, assigned_to=assignee, assigned_by=assigned_by, note=note[:1000]
    )
    case.deadlines.filter(done_at__isnull=True).update(owner=assignee)
    return case


@transaction.atomic
def take_case(*, case: Case, user: User) -> Case:
    """Self-assign an unassigned case from the team's queue."""
    _require_staff_writer(user)
    case = Case.objects.select_for_update().get(pk=case.pk)
    if case.assigned_to_id:
        raise Conflict("Someone already took this case.")
    if user.role == Role.SPECIALIST and case.team_id not in (None, user.team_id):
        raise PermissionDenied("This case belongs to another team's queue.")
    case.assigned_to = user
    case.assigned_at = timezone.now()
    case.team = user.team or case.team
    case.save(update_fields=["assigned_to", "assigned_at", "team"])
    Assignment.objects.create(
        case=case, action=Assignment.Action.SELF_ASSIGN, assigned_to=user, assigned_by=user
    )
    case.deadlines.filter(done_at__isnull=True).update(owner=user)
    return case


@transaction.atomic
def return_case(*, case: Case, user: User, note: str) -> Case:
    """Hand a case back to the queue; a note saying why is required."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    ensure_can_edit(user, case)
    if not (note or "").strip():
        raise ValidationError({"note": "Say why the case goes back to the queue."})
    if not case.assigned_to_id:
        raise Conflict("The case is not assigned.")
    case.assigned_to = None
    case.assigned_at = None
    case.save(update_fields=["assigned_to", "assigned_at"])
    Assignment.objects.create(
        case=case, action=Assignment.Action.RETURN, assigned_by=user, note=note.strip()[:1000]
    )
    return case


@transaction.atomic
def update_case(*, case: Case, changed_by: User, **fields) -> Case:
    """Edit a case's facts. Only these fields may change here; status has its own action."""
    editable = {
        "incident_date",
        "incident_kind",
        "incident_description",
        "jurisdiction",
        "priority",
        "sol_date",
        "source",
    }
    unknown = set(fields) - editable
    if unknown:
        raise ValidationError({name: "This field cannot be changed here." for name in unknown})
    case = Case.objects.select_for_update().get(pk=case.pk)
    ensure_can_edit(changed_by, case)
    for name, value in fields.items():
        setattr(case, name, value)
    case.full_clean(exclude=["member", "number", "team", "assigned_to", "created_by"])
    case.save(update_fields=list(fields))
    if "incident_date" in fields:
        # A new incident date changes which lines screening considers.
        attach_claim_lines(case=case)
    return case


# ---------------------------------------------------------------------------------------------
# Parties, activities, deadlines, questions, documents
# ---------------------------------------------------------------------------------------------


@transaction.atomic
def add_case_party(*, case: Case, party: Party, role: str, added_by: User, **details) -> CaseParty:
    ensure_can_edit(added_by, case)
    if role not in CaseParty.Role.values:
        raise ValidationError({"role": "Unknown role."})
    if CaseParty.objects.filter(case=case, party=party, role=role).exists():
        raise ValidationError(
            {"party": f"{party} is already on this case as {CaseParty.Role(role).label}."}
        )
    link = CaseParty(case=case, party=party, role=role, **details)
    link.full_clean(exclude=["case", "party"])
    link.save()
    return link


@transaction.atomic
def log_activity(
    *,
    case: Case,
    logged_by: User,
    kind: str,
    subject: str,
    direction: str = Activity.Direction.OUTBOUND,
    party: Party | None = None,
    outcome: str = "",
    body: str = "",
    occurred_at: datetime | None = None,
    follow_up_on: date | None = None,
) -> Activity:
    ensure_can_edit(logged_by, case)
    if party is not None and not case.case_parties.filter(party=party).exists():
        raise ValidationError({"party": "That party is not on this case."})
    activity = Activity(
        case=case,
        kind=kind,
        direction=direction,
        party=party,
        subject=subject,
        outcome=outcome,
        body=body,
        occurred_at=occurred_at or timezone.now(),
        created_by=logged_by,
    )
    activity.full_clean(exclude=["case", "created_by", "party"])
    if activity.occurred_at > timezone.now() + timezone.timedelta(minutes=5):
        raise ValidationError({"occurred_at": "An activity cannot be logged in the future."})
    activity.save()
    if follow_up_on:
        add_deadline(
            case=case,
            created_by=logged_by,
            kind=Deadline.Kind.FOLLOW_UP,
            title=f"Follow up: {subject}"[:200],
            due_date=follow_up_on,
        )
    return activity


@transaction.atomic
def add_deadline(
    *,
    case: Case,
    created_by: User,
    kind: str,
    title: str,
    due_date: date,
    owner: User | None = None,
) -> Deadline:
    ensure_can_edit(created_by, case)
    deadline = Deadline(
        case=case,
        kind=kind,
        title=title,
        due_date=due_date,
        owner=owner or case.assigned_to or created_by,
    )
    deadline.full_clean(exclude=["case", "owner"])
    deadline.save()
    return deadline


@transaction.atomic
def complete_deadline(*, deadline: Deadline, done_by: User) -> Deadline:
    deadline = Deadline.objects.select_for_update().select_related("case").get(pk=deadline.pk)
    ensure_can_edit(done_by, deadline.case)
    if deadline.done_at is None:
        deadline.done_at = timezone.now()
        deadline.done_by = done_by
        deadline.save(update_fields=["done_at", "done_by"])
    return deadline


@transaction.atomic
def ask_supervisor(*, case: Case, asked_by: User, question: str) -> SupervisorQuestion:
    ensure_can_edit(asked_by, case)
    question = (question or "").strip()
    if not question:
        raise ValidationError({"question": "Write the question."})
    supervisor = asked_by.supervisor
    if supervisor is None:
        raise ValidationError(
            {"question": "You have no supervisor on record; ask an administrator."}
        )
    item = SupervisorQuestion.objects.create(
        case=case, asked_by=asked_by, supervisor=supervisor, question=question[:4000]
    )
    Activity.objects.create(
        case=case,
        kind=Activity.Kind.NOTE,
        direction=Activity.Direction.INTERNAL,
        subject=f"Question to {supervisor}",
        body=question[:4000],
        created_by=asked_by,
    )
    from recovery.core.services import notify

    notify(
        user=supervisor,
        kind="question",
        title=f"{asked_by} asks about {case.number}",
        body=question[:200],
        link=f"/cases/{case.pk}/",
    )
    return item


@transaction.atomic
def answer_question(
    *, question: SupervisorQuestion, answered_by: User, answer: str
) -> SupervisorQuestion:
    if answered_by.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise PermissionDenied("Only a supervisor answers.")
    question = (
        SupervisorQuestion.objects.select_for_update().select_related("case").get(pk=question.pk)
    )
    if question.answered_at:
        raise Conflict("This question was already answered.")
    answer = (answer or "").strip()
    if not answer:
        raise ValidationError({"answer": "Write the answer."})
    question.answer = answer[:4000]
    question.answered_by = answered_by
    question.answered_at = timezone.now()
    question.save()
    Activity.objects.create(
        case=question.case,
        kind=Activity.Kind.NOTE,
        direction=Activity.Direction.INTERNAL,
        subject=f"Supervisor answer from {answered_by}",
        body=question.answer,
        created_by=answered_by,
    )
    from recovery.core.services import notify

    notify(
        user=question.asked_by,
        kind="answer",
        title=f"{answered_by} answered your question on {question.case.number}",
        body=question.answer[:200],
        link=f"/cases/{question.case_id}/",
    )
    return question


MAX_UPLOAD_BYTES = 20 * 1024 * 1024
# Accepted types, recognised by their first bytes — never by the file name.
SIGNATURES: list[tuple[bytes, str, str]] = [
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"II*\x00", "image/tiff", ".tif"),
    (b"MM\x00*", "image/tiff", ".tif"),
]


def sniff_content_type(head: bytes) -> tuple[str, str] | None:
    for signature, content_type, extension in SIGNATURES:
        if head.startswith(signature):
            return content_type, extension
    return None


@transaction.atomic
def upload_document(
    *, case: Case, uploaded_by: User, upload, kind: str = Document.Kind.UPLOAD, title: str = ""
) -> Document:
    """Store an upload outside the web root after checking its size and its real type."""
    if uploaded_by.role != Role.ATTORNEY:
        ensure_can_edit(uploaded_by, case)
    if upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            {"file": f"Files may be at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB."}
        )
    if upload.size == 0:
        raise ValidationError({"file": "The file is empty."})
    content = upload.read()
    sniffed = sniff_content_type(content[:16])
    if sniffed is None:
        raise ValidationError(
            {"file": "Only PDF, PNG, JPEG or TIFF files are accepted (checked by content)."}
        )
    content_type, extension = sniffed
    if kind not in Document.Kind.values:
        raise ValidationError({"kind": "Unknown document kind."})
    document = Document(
        case=case,
        kind=kind,
        title=(title or upload.name or "Upload")[:200],
        original_name=(upload.name or "")[:255],
        content_type=content_type,
        extension=extension,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        uploaded_by=uploaded_by,
    )
    document.file.save("upload", ContentFile(content), save=False)
    document.save()
    return document
