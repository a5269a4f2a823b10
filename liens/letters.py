"""Letters: the PDFs the recovery unit sends — notices of lien, itemized statements, amendments,
releases, demands, decisions, requests, receipts, questionnaires and general letters.

A letter is *requested* (access checked, input validated, the data it shows copied into
`Document.context`, an Activity logged) and *rendered* afterwards by a task from that snapshot
alone. Rendering never reads live rows, so a letter can be reproduced byte for byte later and
checked against its stored SHA-256.

Templates are versioned: `Document.template_version` (e.g. ``lien_notice@1``) names the template
file a letter was rendered with. A change to a letter's wording gets a new file and version in
`TEMPLATES`; old documents keep rendering with theirs.

Only ids and event names are logged here, never member data.
"""

import logging
import re
import zlib
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import DatabaseError, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.http import Http404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as format_date

from cases.models import Activity, Case, CaseClaim, CaseParty, Document, Lead, Member, Party
from cases.selectors import can_edit_case, cases_visible_to
from recovery.core.exceptions import Conflict
from recovery.core.models import STAFF_ROLES, Role, User
from recovery.core.services import notify
from recovery.money import ZERO, to_money

from .models import LetterBatch, LetterBatchItem, Lien, LienChange

if TYPE_CHECKING:
    from recovery.core.pdf import RenderedPdf

logger = logging.getLogger(__name__)

Kind = Document.Kind
LETTER_KINDS = Document.LETTER_KINDS
MAX_BODY = 20_000
MAX_SUBJECT = 150
WRITER_ROLES = frozenset({Role.SPECIALIST, Role.SUPERVISOR, Role.ADMIN})

# template_version -> template file. Add a new entry (and file) when a letter's wording changes.
TEMPLATES: dict[str, str] = {f"{kind}@1": f"letters/{kind}.html" for kind in LETTER_KINDS}
CURRENT_VERSION: dict[str, str] = {kind: f"{kind}@1" for kind in LETTER_KINDS}

# Kinds that may be sent to many cases at once (a general letter or a decision needs a body
# written for the case; a questionnaire goes to members, not to parties).
BATCH_KINDS = (Kind.INFORMATION_REQUEST, Kind.LIEN_NOTICE, Kind.ITEMIZED_STATEMENT)

# The state statute a notice cites beside federal law. Defaults for a few states; the agency's
# counsel should confirm them (settings.LETTER_RECOVERY_STATUTES overrides or adds states).
STATE_RECOVERY_STATUTES = {
    "AR": "Ark. Code Ann. § 20-77-307",
    "CA": "California Welfare and Institutions Code § 14124.70 and following",
    "FL": "section 409.910, Florida Statutes",
    "IL": "305 ILCS 5/11-22",
    "MA": "M.G.L. c. 118E, § 22",
    "NC": "N.C. Gen. Stat. § 108A-57",
    "NJ": "N.J.S.A. 30:4D-7.1",
    "NY": "N.Y. Social Services Law §§ 104-b and 367-a",
    "OH": "Ohio Revised Code § 5160.37",
    "PA": "62 P.S. § 1409",
    "TX": "Texas Human Resources Code § 32.033",
}

ROLE_MEMBER_LABEL = {
    CaseParty.Role.ATTORNEY_OF_RECORD: "Your client",
    CaseParty.Role.LIABILITY_INSURER: "Claimant",
    CaseParty.Role.MEMBER_INSURER: "Your insured",
}


# ---------------------------------------------------------------------------------------------
# Letterhead and signature (configuration)
# ---------------------------------------------------------------------------------------------


def _lines(value) -> list[str]:
    """Address lines from a list, or from one string separated by ';' or new lines."""
    if isinstance(value, list | tuple):
        return [str(line).strip() for line in value if str(line).strip()]
    return [line.strip() for line in re.split(r"[;\n]", value or "") if line.strip()]


def letterhead() -> dict:
    """The agency block printed on every letter, from settings (all optional but the name)."""
    address = _lines(getattr(settings, "AGENCY_ADDRESS", ""))
    return {
        "name": settings.AGENCY_NAME,
        "address_lines": address,
        "phone": getattr(settings, "AGENCY_PHONE", ""),
        "fax": getattr(settings, "AGENCY_FAX", ""),
        "email": getattr(settings, "AGENCY_EMAIL", ""),
        "payee": getattr(settings, "AGENCY_PAYEE", "") or settings.AGENCY_NAME,
        "payment_address_lines": _lines(getattr(settings, "AGENCY_PAYMENT_ADDRESS", "")) or address,
    }


def _signer(user: User) -> dict:
    """Who signs: a configured official, or else the specialist who asked for the letter. The
    contact for questions is always that specialist."""
    agency = letterhead()
    default_title = {
        Role.SPECIALIST: "Recovery Specialist",
        Role.SUPERVISOR: "Recovery Supervisor",
    }.get(user.role, "Third Party Liability Unit")
    contact = {
        "name": user.get_full_name() or user.username,
        "title": user.title or default_title,
        "phone": user.phone or agency["phone"],
        "email": user.email or agency["email"],
    }
    configured = getattr(settings, "LETTER_SIGNATURE_NAME", "")
    if configured:
        signer = {
            "name": configured,
            "title": getattr(settings, "LETTER_SIGNATURE_TITLE", ""),
            "phone": agency["phone"],
            "email": agency["email"],
        }
    else:
        signer = dict(contact)
    return {"signer": signer, "contact": contact}


def recovery_statute(jurisdiction) -> str:
    statutes = {**STATE_RECOVERY_STATUTES, **getattr(settings, "LETTER_RECOVERY_STATUTES", {})}
    return statutes.get(jurisdiction.code) or (
        f"{jurisdiction.name} law on the recovery of Medicaid payments from liable third parties"
    )


# ---------------------------------------------------------------------------------------------
# Reads: which documents a user may reach; the example batch criterion
# ---------------------------------------------------------------------------------------------


def documents_visible_to(user: User) -> QuerySet[Document]:
    """Documents of cases the user sees. Attorneys reach only letters addressed to their firm
    (or one of its attorneys) and their own firm's uploads; a questionnaire to a member without
    a case is seen by whoever asked for it, supervisors and auditors."""
    documents = Document.objects.select_related("case", "recipient")
    if not user.is_authenticated or not user.is_active:
        return documents.none()
    on_cases = Q(case__in=cases_visible_to(user))
    if user.role == Role.ATTORNEY:
        if not user.party_id:
            return documents.none()
        parties = {user.party_id}
        firm_id = Party.objects.filter(pk=user.party_id).values_list("firm_id", flat=True).first()
        if firm_id:
            parties.add(firm_id)
        theirs = (
            Q(recipient_id__in=parties)
            | Q(recipient__firm_id__in=parties)
            | (~Q(kind__in=LETTER_KINDS) & Q(uploaded_by__party_id__in=parties))
        )
        return documents.filter(on_cases & theirs)
    if user.role not in STAFF_ROLES:
        return documents.none()
    if user.role == Role.SPECIALIST:
        return documents.filter(on_cases | Q(case__isnull=True, uploaded_by=user))
    return documents.filter(on_cases | Q(case__isnull=True))


def document_get(*, user: User, id: int) -> Document:
    try:
        return documents_visible_to(user).get(pk=id)
    except (Document.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such document") from exc


def cases_without_recent_contact(user: User, *, days: int = 90, now=None) -> QuerySet[Case]:
    """Open cases the user may write letters on, with a filed (active) lien and no contact
    logged in the last `days` days — the example criterion for a follow-up batch."""
    now = now or timezone.now()
    cases = cases_visible_to(user).exclude(status=Case.Status.CLOSED)
    if user.role == Role.SPECIALIST:
        cases = cases.filter(assigned_to=user)
    elif user.role not in (Role.SUPERVISOR, Role.ADMIN):
        return cases.none()
    active_lien = Lien.objects.filter(case=OuterRef("pk"), status__in=Lien.ACTIVE)
    recent = Activity.objects.filter(
        case=OuterRef("pk"), occurred_at__gte=now - timedelta(days=days)
    ).exclude(kind=Activity.Kind.SYSTEM)
    return (
        cases.filter(Exists(active_lien))
        .filter(~Exists(recent))
        .select_related("member")
        .order_by("opened_at", "id")
    )


# ---------------------------------------------------------------------------------------------
# The context snapshot
# ---------------------------------------------------------------------------------------------


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(to_money(value))


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _diagnoses(codes: str) -> str:
    """'S8290XA T07' → 'S82.90XA, T07' (ICD-10-CM prints with a dot after the category)."""
    return ", ".join(f"{code[:3]}.{code[3:]}" if len(code) > 3 else code for code in codes.split())


def _line_row(line) -> dict:
    return {
        "service_from": _iso(line.service_from),
        "service_to": _iso(line.service_to) if line.service_to != line.service_from else None,
        "claim": f"{line.claim_number}-{line.line_number}",
        "provider": line.provider_name,
        "procedure": line.procedure_code,
        "diagnoses": _diagnoses(line.diagnosis_codes),
        "paid": _money(line.paid_amount),
    }


def _current_lines(case: Case) -> list[dict]:
    included = (
        CaseClaim.objects.filter(case=case, included=True)
        .select_related("claim_line")
        .order_by("claim_line__service_from", "claim_line__claim_number", "claim_line__line_number")
    )
    return [_line_row(cc.claim_line) for cc in included]


def _latest_amendment(lien: Lien) -> LienChange | None:
    return (
        lien.changes.filter(kind=LienChange.Kind.AMEND, status=LienChange.Status.APPROVED)
        .order_by("-decided_at", "-id")
        .first()
    )


def _filed_lines(lien: Lien, change: LienChange | None = None) -> list[dict]:
    """The lines a filing (or the given amendment) was based on, as snapshotted then."""
    lines = (
        lien.filing_lines.filter(change=change)
        if change
        else lien.filing_lines.filter(change__isnull=True)
    )
    return [_line_row(line) for line in lines]


def _statement(lines: list[dict]) -> dict:
    total = sum((Decimal(line["paid"]) for line in lines), ZERO)
    return {"lines": lines, "line_count": len(lines), "lines_total": _money(total)}


def _provider_summary(lines: list[dict]) -> list[dict]:
    groups: dict[str, dict] = {}
    for line in lines:
        name = line["provider"] or "Provider not named"
        group = groups.setdefault(
            name,
            {"provider": name, "services": 0, "first": None, "last": None, "paid": ZERO},
        )
        group["services"] += 1
        group["paid"] += Decimal(line["paid"])
        end = line["service_to"] or line["service_from"]
        group["first"] = min(filter(None, [group["first"], line["service_from"]]))
        group["last"] = max(filter(None, [group["last"], end]))
    rows = sorted(groups.values(), key=lambda g: (g["first"] or "", g["provider"]))
    return [{**row, "paid": _money(row["paid"])} for row in rows]


def _lien_facts(lien: Lien, today: date) -> dict:
    amount_now = lien.amount_as_of(today)
    return {
        "status": lien.status,
        "status_label": lien.get_status_display(),
        "amount": _money(lien.amount),
        "original_amount": _money(lien.original_amount),
        "released_amount": _money(lien.released_amount),
        "outstanding": _money(lien.outstanding),
        "amount_as_of_today": _money(amount_now if amount_now is not None else lien.amount),
        "filed_on": _iso(lien.filed_on),
        "filed_with": lien.filed_with.name if lien.filed_with_id else "",
        "filed_with_id": lien.filed_with_id,
        "method": lien.method,
        "method_label": lien.get_method_display() if lien.method else "",
        "certified_mail_number": lien.certified_mail_number,
        "court_case_number": lien.court_case_number,
        "expires_on": _iso(lien.expires_on),
        "released_on": _iso(lien.released_on),
    }


def _accepted_settlement(case: Case):
    """The case's latest accepted settlement (the settlements app), if any."""
    settlements = getattr(case, "settlements", None)
    if settlements is None:
        return None
    return settlements.filter(status="accepted").order_by("-decided_at", "-id").first()


def _settlement_facts(settlement) -> dict:
    return {
        "gross": _money(settlement.gross_settlement),
        "attorney_fees": _money(settlement.attorney_fees),
        "costs": _money(settlement.costs),
        "program_paid": _money(settlement.program_paid),
        "formula_label": settlement.get_formula_display(),
        "computed_recovery": _money(settlement.computed_recovery),
        "agreed_recovery": _money(settlement.agreed_recovery),
        "reduction": _money(settlement.reduction_amount),
        "decided_on": _iso(timezone.localdate(settlement.decided_at))
        if settlement.decided_at
        else None,
        "funds_due_on": _iso(settlement.funds_due_on),
    }


def _recipient_block(recipient: Party, link: CaseParty | None) -> dict:
    attention = (link.adjuster_name if link else "") or recipient.contact_name
    return {
        "id": recipient.pk,
        "name": recipient.name,
        "attention": attention,
        "address_lines": recipient.address_lines,
        "email": (link.adjuster_email if link else "") or recipient.email,
        "kind": recipient.kind,
        "role": link.role if link else "",
        "role_label": link.get_role_display() if link else "",
    }


def _member_block(member: Member) -> dict:
    city_line = " ".join(
        part
        for part in (f"{member.city}," if member.city else "", member.state, member.postal_code)
        if part
    )
    return {
        "name": member.full_name,
        "masked_program_id": member.masked_program_id,
        "address_lines": [
            line for line in (member.address_line1, member.address_line2, city_line) if line
        ],
    }


def _references(
    case: Case | None, member: Member, link: CaseParty | None, *, lien: dict | None = None
) -> list[list[str]]:
    refs: list[list[str]] = []
    if case is not None:
        refs.append(["Our reference", case.number])
    role = link.role if link else ""
    refs.append([ROLE_MEMBER_LABEL.get(role, "Medicaid member"), member.full_name])
    refs.append(["Medicaid ID", member.masked_program_id])
    if case is not None:
        refs.append(["Date of injury", format_date(case.incident_date, "F j, Y")])
    if link is not None and link.claim_number:
        refs.append(["Your claim number", link.claim_number])
    if link is not None and link.policy_number:
        refs.append(["Policy number", link.policy_number])
    if lien and lien.get("court_case_number"):
        refs.append(["Court case number", lien["court_case_number"]])
    return refs


def _paragraphs(body: str) -> list[str]:
    """Paragraphs split on blank lines; single line breaks stay inside a paragraph."""
    text = (body or "").replace("\r\n", "\n").replace("\r", "\n")
    return [part.strip() for part in re.split(r"\n\s*\n", text) if part.strip()]


def _open_or_latest_lien(case: Case) -> Lien | None:
    from .services import open_lien_for

    return open_lien_for(case) or case.liens.order_by("-created_at", "-id").first()


def _kind_facts(kind: str, case: Case | None, today: date) -> dict:
    """What each kind of letter shows, or a ValidationError on `kind` when the case is not in a
    state where that letter makes sense."""
    facts: dict = {}
    if case is None:
        return facts
    days = case.jurisdiction.response_days
    facts["respond_by"] = _iso(today + timedelta(days=days))
    facts["response_days"] = days
    facts["statute"] = recovery_statute(case.jurisdiction)

    if kind in (Kind.LIEN_NOTICE, Kind.ITEMIZED_STATEMENT):
        lien = _open_or_latest_lien(case)
        if lien is not None and lien.status in Lien.ACTIVE:
            change = _latest_amendment(lien)
            facts.update(_statement(_filed_lines(lien, change)))
            facts["lien"] = _lien_facts(lien, today)
            facts["amount"] = facts["lien"]["amount_as_of_today"]
            additional = to_money(case.lien_amount) - lien.amount
            facts["additional_paid"] = _money(additional) if additional > ZERO else None
            filed_due = lien.filed_on + timedelta(days=days)
            # The answer is due `days` after filing; a notice sent again once that date has
            # passed gives a fresh period instead of a date already gone.
            facts["respond_by"] = _iso(
                filed_due if filed_due >= today else today + timedelta(days=days)
            )
        else:
            lines = _current_lines(case)
            if not lines:
                raise ValidationError(
                    {
                        "kind": "This case has no filed lien and no included claim line: include "
                        "the injury-related lines first."
                    }
                )
            facts.update(_statement(lines))
            facts["lien"] = (
                _lien_facts(lien, today) if lien and lien.status == Lien.Status.DRAFT else None
            )
            facts["amount"] = facts["lines_total"]
            facts["additional_paid"] = None
        facts["as_of"] = _iso(today)

    elif kind == Kind.LIEN_AMENDMENT:
        lien = _open_or_latest_lien(case)
        change = _latest_amendment(lien) if lien else None
        if change is None:
            raise ValidationError(
                {"kind": "There is no approved amendment of this case's lien to announce."}
            )
        lines = _filed_lines(lien, change)
        facts["lien"] = _lien_facts(lien, today)
        facts["old_amount"] = _money(change.old_amount)
        facts["new_amount"] = _money(change.new_amount)
        facts["difference"] = _money(abs(change.new_amount - change.old_amount))
        facts["increase"] = change.new_amount > change.old_amount
        facts["reason"] = change.reason
        facts["amended_on"] = _iso(timezone.localdate(change.decided_at))
        facts["providers"] = _provider_summary(lines)
        facts.update({k: v for k, v in _statement(lines).items() if k != "lines"})

    elif kind == Kind.LIEN_RELEASE:
        lien = (
            case.liens.filter(
                status__in=[
                    Lien.Status.RELEASED,
                    Lien.Status.SATISFIED,
                    Lien.Status.PARTIALLY_RELEASED,
                ]
            )
            .order_by("-created_at", "-id")
            .first()
        )
        if lien is None:
            raise ValidationError(
                {"kind": "The lien on this case has not been released or satisfied."}
            )
        facts["lien"] = _lien_facts(lien, today)
        facts["full"] = lien.status != Lien.Status.PARTIALLY_RELEASED
        facts["satisfied"] = lien.status == Lien.Status.SATISFIED
        facts["released"] = _money(
            lien.amount if lien.status == Lien.Status.SATISFIED else lien.released_amount
        )
        facts["remaining"] = _money(
            ZERO if lien.status != Lien.Status.PARTIALLY_RELEASED else lien.outstanding
        )

    elif kind in (Kind.FINAL_DEMAND, Kind.REDUCTION_DECISION, Kind.PAYMENT_RECEIPT):
        # The accepted settlement, when there is one, sets the amount due; otherwise the lien as
        # it stands (and the specialist's own words) is what these letters can state.
        lien = _open_or_latest_lien(case)
        facts["lien"] = _lien_facts(lien, today) if lien else None
        if lien is not None and lien.filed_on:
            facts["amount"] = _money(lien.outstanding)
        else:
            facts["amount"] = _money(case.lien_amount)
        facts["lien_amount"] = facts["amount"]
        facts["paid_in_full"] = bool(lien and lien.status == Lien.Status.SATISFIED)
        settlement = _accepted_settlement(case)
        facts["settlement"] = _settlement_facts(settlement) if settlement else None
        if settlement is not None:
            facts["amount"] = _money(settlement.agreed_recovery)
            due = settlement.funds_due_on
            if kind == Kind.FINAL_DEMAND and due and due >= today:
                facts["respond_by"] = _iso(due)
        if kind == Kind.FINAL_DEMAND and Decimal(facts["amount"]) <= ZERO:
            raise ValidationError(
                {"kind": "Nothing is due on this case: there is no amount to demand."}
            )

    return facts


def build_context(
    kind: str,
    case: Case | None,
    recipient: Party | None,
    *,
    requested_by: User,
    body: str = "",
    subject: str = "",
    member: Member | None = None,
    today: date | None = None,
) -> dict:
    """The JSON snapshot a letter is rendered from: amounts as strings, dates as ISO strings."""
    today = today or timezone.localdate()
    member = case.member if case is not None else member
    link = None
    if case is not None and recipient is not None:
        link = (
            CaseParty.objects.filter(case=case, party=recipient, is_active=True)
            .order_by("role", "id")
            .first()
        )
    facts = _kind_facts(kind, case, today)
    if kind == Kind.MEMBER_QUESTIONNAIRE:
        recipient_block = _member_block(member)
        lead = member.leads.order_by("-created_at").first()
        facts["first_service"] = _iso(
            case.incident_date if case is not None else (lead.first_service if lead else None)
        )
        facts["respond_by"] = _iso(today + timedelta(days=30))
    else:
        recipient_block = _recipient_block(recipient, link)
    lien = facts.get("lien") or None
    via = ""
    if (
        kind == Kind.LIEN_NOTICE
        and lien
        and lien.get("filed_with_id") == getattr(recipient, "pk", None)
    ):
        if lien.get("method") == Lien.Method.CERTIFIED_MAIL and lien.get("certified_mail_number"):
            via = (
                f"By certified mail, return receipt requested — No. {lien['certified_mail_number']}"
            )
    label = Kind(kind).label
    return {
        "kind": kind,
        "kind_label": label,
        "template_version": CURRENT_VERSION[kind],
        "letter_date": _iso(today),
        "agency": letterhead(),
        **_signer(requested_by),
        "recipient": recipient_block,
        "recipient_role": link.role if link else "",
        "via": via,
        "case_number": case.number if case is not None else "",
        "case": {
            "number": case.number,
            "incident_date": _iso(case.incident_date),
            "incident_kind": case.incident_kind,
            "incident_kind_label": case.get_incident_kind_display(),
            "jurisdiction": case.jurisdiction.code,
            "jurisdiction_name": case.jurisdiction.name,
        }
        if case is not None
        else None,
        "member_name": member.full_name,
        "references": _references(case, member, link, lien=lien),
        "subject": (subject or "").strip() or _default_subject(kind, case),
        "paragraphs": _paragraphs(body),
        **facts,
    }


def _default_subject(kind: str, case: Case | None) -> str:
    if kind == Kind.GENERAL:
        return f"Our reference {case.number}" if case is not None else "Your Medicaid coverage"
    return Kind(kind).label


# ---------------------------------------------------------------------------------------------
# Requesting a letter
# ---------------------------------------------------------------------------------------------


def _check_access(user: User, case: Case | None) -> None:
    if case is None:
        if user.role not in WRITER_ROLES:
            raise PermissionDenied("Your role does not allow sending letters.")
    elif not can_edit_case(user, case):
        raise PermissionDenied("Only the assigned specialist or a supervisor sends letters here.")


def _validate(
    *,
    kind: str,
    case: Case | None,
    recipient: Party | None,
    body: str,
    subject: str,
    member: Member | None,
) -> None:
    if kind not in LETTER_KINDS:
        raise ValidationError({"kind": "Unknown letter kind."})
    errors: dict[str, str] = {}
    if kind == Kind.MEMBER_QUESTIONNAIRE:
        if recipient is not None:
            errors["recipient"] = "A questionnaire goes to the member: leave the recipient empty."
        if case is None and member is None:
            errors["member"] = "Name the member the questionnaire goes to."
        if case is not None and member is not None and member.pk != case.member_id:
            errors["member"] = "That member is not the member of this case."
    elif case is None:
        errors["case"] = "This letter is written on a case."
    elif recipient is None:
        errors["recipient"] = "Choose a party on this case."
    elif not CaseParty.objects.filter(case=case, party=recipient, is_active=True).exists():
        errors["recipient"] = "That party is not on this case."
    if len(body) > MAX_BODY:
        errors["body"] = f"A letter's text is at most {MAX_BODY:,} characters."
    elif kind == Kind.GENERAL and not body.strip():
        errors["body"] = "Write the letter's text."
    elif kind == Kind.REDUCTION_DECISION and not body.strip():
        errors["body"] = "Write the decision and the reasons for it."
    if len(subject) > MAX_SUBJECT:
        errors["subject"] = f"A subject is at most {MAX_SUBJECT} characters."
    if errors:
        raise ValidationError(errors)


def letter_title(kind: str, case: Case | None, recipient: Party | None) -> str:
    # A questionnaire's title never carries the member's name: titles show in lists and logs.
    to = recipient.name if recipient is not None else "to the member"
    parts = [Kind(kind).label, case.number if case is not None else "", to]
    return " — ".join(part for part in parts if part)[:200]


def _enqueue_render(document: Document, user: User) -> None:
    from . import tasks  # tasks import this module; the reverse import waits until it is needed

    transaction.on_commit(lambda: tasks.render_letter.delay(document.pk, acting_user_id=user.pk))


@transaction.atomic
def request_letter(
    *,
    case: Case | None,
    kind: str,
    recipient: Party | None,
    requested_by: User,
    body: str = "",
    subject: str = "",
    member: Member | None = None,
    batch_item: LetterBatchItem | None = None,
    deliver: bool = False,
    today: date | None = None,
) -> Document:
    """Ask for a letter: checked, snapshotted, logged, and rendered by a task after commit.

    With `batch_item` the batch renders the letter itself (no task per letter). With `deliver`
    the rendered PDF is e-mailed to the recipient once ready.
    """
    body = body or ""
    subject = (subject or "").strip()
    _check_access(requested_by, case)
    _validate(kind=kind, case=case, recipient=recipient, body=body, subject=subject, member=member)
    member = case.member if case is not None else member
    context = build_context(
        kind,
        case,
        recipient,
        requested_by=requested_by,
        body=body,
        subject=subject,
        member=member,
        today=today,
    )
    title = letter_title(kind, case, recipient)
    document = Document.objects.create(
        case=case,
        member=member if kind == Kind.MEMBER_QUESTIONNAIRE else None,
        kind=kind,
        title=title,
        status=Document.Status.PENDING,
        content_type="application/pdf",
        extension=".pdf",
        recipient=recipient,
        template_version=context["template_version"],
        context=context,
        body=body,
        delivery=Document.Delivery.QUEUED if deliver else Document.Delivery.NONE,
        uploaded_by=requested_by,
    )
    if case is not None:
        Activity.objects.create(
            case=case,
            kind=Activity.Kind.LETTER,
            direction=Activity.Direction.OUTBOUND,
            party=recipient,
            subject=title,
            outcome="Generated"
            if batch_item is None
            else f"Generated in batch {batch_item.batch_id}",
            created_by=requested_by,
        )
    elif kind == Kind.MEMBER_QUESTIONNAIRE:
        Lead.objects.filter(member=member, status=Lead.Status.NEW).update(
            status=Lead.Status.LETTER_SENT, updated_at=timezone.now()
        )
    if batch_item is not None:
        LetterBatchItem.objects.filter(pk=batch_item.pk).update(document=document)
    else:
        _enqueue_render(document, requested_by)
    return document


def preview_html(
    kind: str,
    case: Case | None,
    recipient: Party | None,
    body: str = "",
    *,
    requested_by: User,
    subject: str = "",
    member: Member | None = None,
) -> str:
    """The letter as HTML, from the same template and context a PDF would use. Nothing saved."""
    body = body or ""
    subject = (subject or "").strip()
    _check_access(requested_by, case)
    _validate(kind=kind, case=case, recipient=recipient, body=body, subject=subject, member=member)
    context = build_context(
        kind, case, recipient, requested_by=requested_by, body=body, subject=subject, member=member
    )
    return render_to_string(TEMPLATES[context["template_version"]], context)


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------

# Unexpected, possibly passing failures (disk, database): the task retries them. Anything else
# raised while rendering comes from the template and the stored data, so retrying cannot help.
TRANSIENT_ERRORS = (OSError, DatabaseError)

_OBJECT_STREAM = re.compile(rb"/Type\s*/ObjStm.*?>>\s*stream\r?\n", re.S)
_PAGES_COUNT = re.compile(
    rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)|/Count\s+(\d+)[^>]*?/Type\s*/Pages\b", re.S
)


def page_count(pdf: bytes) -> int | None:
    """The page count from the PDF's page tree (WeasyPrint keeps it in a compressed object
    stream). pypdf is only a test dependency, so this reads the one number it needs."""
    chunks = [pdf]
    for match in _OBJECT_STREAM.finditer(pdf):
        end = pdf.find(b"endstream", match.end())
        try:
            chunks.append(zlib.decompress(pdf[match.end() : end]))
        except zlib.error:
            continue
    for chunk in chunks:
        found = _PAGES_COUNT.search(chunk)
        if found:
            return int(found.group(1) or found.group(2))
    return None


def render_letter_pdf(template_version: str, context: dict) -> "RenderedPdf":
    """Pure rendering: the same version and context give the same bytes."""
    # WeasyPrint takes ~0.5 s and tens of MB to import: only the worker that renders pays it.
    from recovery.core.pdf import render_pdf

    try:
        template = TEMPLATES[template_version]
    except KeyError as exc:
        raise ValueError(f"unknown template version {template_version!r}") from exc
    return render_pdf(template, context)


def _letters_link(document: Document) -> str:
    return reverse("liens:case-letters", args=[document.case_id]) if document.case_id else ""


def render_document(document: Document) -> Document:
    """Render a pending letter from its stored context; a ready one is returned at once.

    The row is locked while rendering so two workers never both render it. Failures that
    retrying cannot fix (template or data) mark the letter failed and tell the requester.
    """
    with transaction.atomic():
        document = Document.objects.select_for_update().get(pk=document.pk)
        if document.status == Document.Status.READY:
            return document
        try:
            rendered = render_letter_pdf(document.template_version, document.context)
        except TRANSIENT_ERRORS:
            raise
        except Exception as exc:  # a template or data error: this letter cannot be rendered
            logger.warning("letter %s failed to render: %s", document.pk, type(exc).__name__)
            document.status = Document.Status.FAILED
            document.error = f"The letter could not be generated ({type(exc).__name__}: {exc})"[
                :2000
            ]
            document.save(update_fields=["status", "error"])
            if document.uploaded_by_id:
                _notify_requester(document, "could not be generated", "failed")
            return document
        document.sha256 = rendered.sha256
        document.size = len(rendered.content)
        document.pages = page_count(rendered.content)
        document.extension = ".pdf"
        document.content_type = "application/pdf"
        # The stored name comes from the checksum (document_path), never from user data.
        document.file.save("letter.pdf", ContentFile(rendered.content), save=False)
        document.status = Document.Status.READY
        document.ready_at = timezone.now()
        document.error = ""
        document.save()
        if rendered.refused_urls:
            logger.warning(
                "letter %s: renderer refused %d URL(s)", document.pk, len(rendered.refused_urls)
            )
        if document.delivery == Document.Delivery.QUEUED:
            _enqueue_delivery(document)
    logger.info("letter %s rendered (%s pages)", document.pk, document.pages)
    return document


def mark_render_failed(document_id: int, message: str) -> Document | None:
    """The last retry of a render gave up: fail the letter and tell the requester."""
    with transaction.atomic():
        document = Document.objects.select_for_update().filter(pk=document_id).first()
        if document is None or document.status != Document.Status.PENDING:
            return document
        document.status = Document.Status.FAILED
        document.error = message[:2000]
        document.save(update_fields=["status", "error"])
        if document.uploaded_by_id:
            _notify_requester(document, "could not be generated", "failed")
    return document


def _notify_requester(document: Document, what: str, key: str) -> None:
    notify(
        user=document.uploaded_by,
        kind="letter",
        title=f"{document.title} {what}"[:200],
        body=(document.error or document.delivery_error)[:500],
        link=_letters_link(document),
        key=f"letter:{document.pk}:{key}",
    )


# ---------------------------------------------------------------------------------------------
# E-mail delivery
# ---------------------------------------------------------------------------------------------


def recipient_email(document: Document) -> str:
    if document.recipient_id is None:
        return ""
    return (document.context.get("recipient") or {}).get("email") or document.recipient.email


def _enqueue_delivery(document: Document) -> None:
    from . import tasks

    user_id = document.uploaded_by_id
    transaction.on_commit(lambda: tasks.deliver_letter.delay(document.pk, acting_user_id=user_id))


@transaction.atomic
def queue_delivery(*, document: Document, requested_by: User) -> Document:
    """Ask for a letter to be e-mailed to its recipient (now if ready, else once it is)."""
    document = (
        Document.objects.select_for_update(of=("self",)).select_related("case").get(pk=document.pk)
    )
    _check_access(requested_by, document.case)
    if not document.is_letter:
        raise ValidationError({"document": "Only generated letters are e-mailed from here."})
    if document.delivery in (Document.Delivery.QUEUED, Document.Delivery.SENT):
        raise Conflict(f"This letter is already {document.get_delivery_display().lower()}.")
    if document.status == Document.Status.FAILED:
        raise Conflict("This letter failed to generate; request it again.")
    document.delivery = Document.Delivery.QUEUED
    document.delivery_error = ""
    document.save(update_fields=["delivery", "delivery_error"])
    if document.status == Document.Status.READY:
        _enqueue_delivery(document)
    return document


def deliver_letter(document: Document) -> Document:
    """E-mail a ready letter to its recipient. Already sent: nothing happens. No address: the
    letter stays undelivered with the reason. A sending error is recorded and raised again so
    the task retries it."""
    with transaction.atomic():
        document = (
            Document.objects.select_for_update(of=("self",))
            .select_related("case", "recipient")
            .get(pk=document.pk)
        )
        if document.delivery == Document.Delivery.SENT:
            return document
        if document.status != Document.Status.READY:
            raise Conflict("The letter is not ready to send yet.")
        address = recipient_email(document)
        if not address:
            document.delivery = Document.Delivery.NONE
            document.delivery_error = (
                "No e-mail address on file for the recipient: print the letter and post it."
                if document.recipient_id
                else "Letters to members go by post: print the letter and mail it."
            )
            document.save(update_fields=["delivery", "delivery_error"])
            return document
        document.delivery_attempts += 1
        document.save(update_fields=["delivery_attempts"])
    agency = document.context.get("agency") or letterhead()
    contact = document.context.get("contact") or {}
    reference = document.case.number if document.case_id else f"letter {document.pk}"
    message = EmailMessage(
        subject=document.title,
        body=(
            f"Please find attached a letter from {agency.get('name', settings.AGENCY_NAME)}: "
            f"{document.get_kind_display()}, our reference {reference}.\n\n"
            f"Questions: {contact.get('name', '')} {contact.get('phone', '')} "
            f"{contact.get('email', '')}".rstrip()
            + "\n\nThis message and its attachment contain confidential health information. "
            "If you received it in error, please tell us and delete it."
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[address],
    )
    with document.file.open("rb") as handle:
        message.attach(f"{reference}-{document.kind}.pdf", handle.read(), "application/pdf")
    try:
        message.send(fail_silently=False)
    except Exception as exc:
        Document.objects.filter(pk=document.pk).update(
            delivery_error=f"Sending failed (attempt {document.delivery_attempts}): "
            f"{type(exc).__name__}: {exc}"[:500]
        )
        raise
    with transaction.atomic():
        document = Document.objects.select_for_update().get(pk=document.pk)
        document.delivery = Document.Delivery.SENT
        document.delivered_at = timezone.now()
        document.delivery_error = ""
        document.save(update_fields=["delivery", "delivered_at", "delivery_error"])
    logger.info("letter %s e-mailed", document.pk)
    return document


def mark_delivery_failed(document_id: int, message: str) -> Document | None:
    """The last retry gave up: the e-mail failed; the requester is told."""
    with transaction.atomic():
        document = Document.objects.select_for_update().filter(pk=document_id).first()
        if document is None or document.delivery == Document.Delivery.SENT:
            return document
        document.delivery = Document.Delivery.FAILED
        document.delivery_error = message[:500]
        document.save(update_fields=["delivery", "delivery_error"])
        if document.uploaded_by_id:
            _notify_requester(
                document, "could not be e-mailed", f"delivery-failed:{document.delivery_attempts}"
            )
    return document


# ---------------------------------------------------------------------------------------------
# Batches
# ---------------------------------------------------------------------------------------------


@transaction.atomic
def start_batch(
    *,
    kind: str,
    cases,
    recipient_role: str,
    created_by: User,
    description: str = "",
    criteria: dict | None = None,
) -> LetterBatch:
    """One kind of letter for many cases. Items are unique per case, so a case listed twice (or
    added again) gets one letter. The batch runs in a task after commit."""
    if created_by.role not in WRITER_ROLES:
        raise PermissionDenied("Your role does not allow sending letters.")
    errors = {}
    if kind not in BATCH_KINDS:
        errors["kind"] = "Choose a letter that can be sent in a batch."
    if recipient_role not in CaseParty.Role.values:
        errors["recipient_role"] = "Choose who receives the letters."
    if errors:
        raise ValidationError(errors)
    case_ids = list(dict.fromkeys(getattr(case, "pk", case) for case in cases))
    if not case_ids:
        raise ValidationError({"cases": "No case matches: there is nothing to send."})
    batch = LetterBatch.objects.create(
        kind=kind,
        recipient_role=recipient_role,
        criteria=criteria or {},
        description=(
            description or f"{Kind(kind).label} to {CaseParty.Role(recipient_role).label}"
        )[:300],
        created_by=created_by,
    )
    add_batch_items(batch, case_ids)
    from . import tasks

    transaction.on_commit(lambda: tasks.run_batch.delay(batch.pk, acting_user_id=created_by.pk))
    batch.refresh_from_db()
    return batch


def add_batch_items(batch: LetterBatch, case_ids) -> int:
    """Add cases to a batch; those already in it are left alone. Returns how many were new."""
    links = {
        link.case_id: link.party_id
        for link in CaseParty.objects.filter(
            case_id__in=case_ids, role=batch.recipient_role, is_active=True
        ).order_by("-id")
    }
    rows = [
        LetterBatchItem(batch=batch, case_id=case_id, recipient_id=links.get(case_id))
        for case_id in case_ids
    ]
    items = LetterBatchItem.objects.filter(batch=batch)
    before = items.count()
    # The unique (batch, case) constraint decides: a case already in the batch adds nothing.
    LetterBatchItem.objects.bulk_create(rows, ignore_conflicts=True)
    total = items.count()
    LetterBatch.objects.filter(pk=batch.pk).update(total=total)
    return total - before


@transaction.atomic
def cancel_batch(batch: LetterBatch, by: User) -> LetterBatch:
    """Stop a batch: letters already generated stay; waiting cases are skipped."""
    if by.role not in WRITER_ROLES or (by.role == Role.SPECIALIST and batch.created_by_id != by.pk):
        raise PermissionDenied("Only the person who started a batch or a supervisor stops it.")
    claimed = LetterBatch.objects.filter(
        pk=batch.pk, status__in=[LetterBatch.Status.PENDING, LetterBatch.Status.RUNNING]
    ).update(
        status=LetterBatch.Status.CANCELLED,
        cancelled_at=timezone.now(),
        cancelled_by=by,
        finished_at=timezone.now(),
    )
    if not claimed:
        batch.refresh_from_db()
        raise Conflict(f"This batch is already {batch.get_status_display().lower()}.")
    # An item whose letter is being generated right now finishes; the others are skipped.
    skipped = LetterBatchItem.objects.filter(
        batch=batch, status=LetterBatchItem.Status.PENDING, document__isnull=True
    ).update(status=LetterBatchItem.Status.SKIPPED, message="Batch cancelled")
    LetterBatch.objects.filter(pk=batch.pk).update(skipped=F("skipped") + skipped)
    batch.refresh_from_db()
    return batch


def _finish_item(item_id: int, batch_id: int, status: str, message: str = "") -> bool:
    """Claim a pending item for its final status and count it, once."""
    counter = {
        LetterBatchItem.Status.DONE: "done",
        LetterBatchItem.Status.FAILED: "failed",
        LetterBatchItem.Status.SKIPPED: "skipped",
    }[status]
    with transaction.atomic():
        claimed = LetterBatchItem.objects.filter(
            pk=item_id, status=LetterBatchItem.Status.PENDING
        ).update(status=status, message=message[:300])
        if claimed:
            LetterBatch.objects.filter(pk=batch_id).update(**{counter: F(counter) + 1})
    return bool(claimed)


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    if isinstance(exc, Conflict):
        return exc.message
    return str(exc) or type(exc).__name__


def _is_cancelled(batch_id: int) -> bool:
    return LetterBatch.objects.filter(pk=batch_id, cancelled_at__isnull=False).exists()


def run_batch(batch_id: int) -> LetterBatch | None:
    """Generate a batch's letters one case at a time. Safe to run again (after a worker died):
    finished items are skipped, an item whose letter exists is only rendered, and cancellation
    is checked between items."""
    started = LetterBatch.objects.filter(
        pk=batch_id, status__in=[LetterBatch.Status.PENDING, LetterBatch.Status.RUNNING]
    ).update(status=LetterBatch.Status.RUNNING)
    if not started:
        return LetterBatch.objects.filter(pk=batch_id).first()
    batch = LetterBatch.objects.select_related("created_by").get(pk=batch_id)
    pending = LetterBatchItem.objects.filter(
        batch_id=batch_id, status=LetterBatchItem.Status.PENDING
    ).order_by("id")
    for item_id in list(pending.values_list("id", flat=True)):
        if _is_cancelled(batch_id):
            break
        item = (
            LetterBatchItem.objects.select_related("case", "recipient", "document")
            .filter(pk=item_id, status=LetterBatchItem.Status.PENDING)
            .first()
        )
        if item is None:
            continue
        document = item.document
        if document is None:
            if item.recipient is None:
                role = CaseParty.Role(batch.recipient_role).label.lower()
                _finish_item(
                    item.pk, batch_id, LetterBatchItem.Status.SKIPPED, f"No {role} on this case"
                )
                continue
            try:
                document = request_letter(
                    case=item.case,
                    kind=batch.kind,
                    recipient=item.recipient,
                    requested_by=batch.created_by,
                    batch_item=item,
                )
            except (ValidationError, PermissionDenied, Conflict) as exc:
                _finish_item(item.pk, batch_id, LetterBatchItem.Status.FAILED, _error_text(exc))
                continue
        document = render_document(document)
        if document.status == Document.Status.READY:
            _finish_item(item.pk, batch_id, LetterBatchItem.Status.DONE)
        else:
            _finish_item(
                item.pk,
                batch_id,
                LetterBatchItem.Status.FAILED,
                "The letter could not be generated",
            )
    LetterBatch.objects.filter(pk=batch_id, status=LetterBatch.Status.RUNNING).update(
        status=LetterBatch.Status.DONE, finished_at=timezone.now()
    )
    return LetterBatch.objects.get(pk=batch_id)
