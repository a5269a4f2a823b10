"""Writes of the attorney portal: invitations, disputes, settlement reports, requests and
referrals of new cases.

Every function takes the acting user by keyword, runs in one transaction and raises
ValidationError / PermissionDenied instead of returning HTTP answers.
"""

import secrets
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from cases import services as case_services
from cases.models import US_STATES, Activity, Case, CaseClaim, IncidentKind, Member, Party
from recovery.core.models import Role, User
from recovery.core.services import notify
from recovery.crypto import keyed_hash
from settlements.models import NegotiationEntry
from settlements.services import log_negotiation

from .models import Dispute, Invitation, Referral, hash_token

INVITING_ROLES = frozenset({Role.SPECIALIST, Role.SUPERVISOR, Role.ADMIN})
DECIDING_ROLES = frozenset({Role.SPECIALIST, Role.SUPERVISOR, Role.ADMIN})
REFERRAL_STAFF_ROLES = frozenset({Role.SPECIALIST, Role.SUPERVISOR, Role.ADMIN, Role.AUDITOR})
PORTAL_PARTY_KINDS = frozenset({Party.Kind.LAW_FIRM, Party.Kind.ATTORNEY})


class InvitationGone(Exception):
    """The invitation was used already or has expired."""


# ---------------------------------------------------------------------------------------------
# Invitations
# ---------------------------------------------------------------------------------------------


@transaction.atomic
def invite_attorney(
    *, party: Party, email: str, created_by: User, base_url: str
) -> tuple[Invitation, str]:
    """Create an invitation and e-mail its one-time link. Returns it with the raw token (which
    is never stored). `base_url` is the scheme and host the link starts with."""
    if created_by.role not in INVITING_ROLES:
        raise PermissionDenied("Your role does not allow inviting attorneys.")
    if party.kind not in PORTAL_PARTY_KINDS or not party.is_active:
        raise ValidationError({"party": "Invite attorneys for an active law firm or attorney."})
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        email=email, party=party, token_hash=hash_token(token), created_by=created_by
    )
    link = base_url.rstrip("/") + reverse("portal:accept", args=[token])
    send_mail(
        subject=f"Your invitation to the {settings.AGENCY_NAME} recovery portal",
        message=(
            f"{created_by} invited you to the attorney portal for {party.name}.\n\n"
            f"Open this link to choose a username and password (it works once, until "
            f"{timezone.localtime(invitation.expires_at):%Y-%m-%d %H:%M}):\n\n{link}\n"
        ),
        from_email=None,
        recipient_list=[email],
    )
    return invitation, token


def invitation_for_token(token: str) -> Invitation:
    """The invitation behind a token; Invitation.DoesNotExist if none, InvitationGone if it
    was used or has expired."""
    invitation = Invitation.objects.select_related("party").get(token_hash=hash_token(token))
    if not invitation.is_usable:
        raise InvitationGone
    return invitation


@transaction.atomic
def accept_invitation(*, token: str, username: str, password: str) -> User:
    """Open the attorney's account (the password was validated by the form) and spend the
    token. The row lock makes a double submit create one account."""
    invitation = Invitation.objects.select_for_update().get(token_hash=hash_token(token))
    if not invitation.is_usable:
        raise InvitationGone
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": "That username is taken."})
    user = User.objects.create_user(
        username=username,
        password=password,
        email=invitation.email,
        role=Role.ATTORNEY,
        party=invitation.party,
    )
    invitation.accepted_at = timezone.now()
    invitation.user = user
    invitation.save(update_fields=["accepted_at", "user"])
    return user


# ---------------------------------------------------------------------------------------------
# Who hears about what
# ---------------------------------------------------------------------------------------------


def firm_party_ids(user: User) -> set[int]:
    """The attorney's own party and, for an attorney party, its firm."""
    if not user.party_id:
        return set()
    ids = {user.party_id}
    firm_id = Party.objects.filter(pk=user.party_id).values_list("firm_id", flat=True).first()
    if firm_id:
        ids.add(firm_id)
    return ids


def case_owner(case: Case) -> User | None:
    """Who is told about portal activity: the assigned specialist, else the team's supervisor."""
    if case.assigned_to_id:
        return case.assigned_to
    if case.team_id and case.team.supervisor_id:
        return case.team.supervisor
    return None


def _notify_owner(case: Case, *, kind: str, title: str, body: str = "", link: str = "") -> None:
    owner = case_owner(case)
    if owner is not None and owner.is_active:
        notify(
            user=owner,
            kind=kind,
            title=title[:200],
            body=body,
            link=link or reverse("cases:detail", args=[case.pk]),
        )


def _ensure_attorney_on_case(user: User, case: Case) -> Case:
    from cases.selectors import cases_visible_to

    if user.role != Role.ATTORNEY:
        raise PermissionDenied("Only attorneys act through the portal.")
    try:
        return (
            cases_visible_to(user).select_related("assigned_to", "team__supervisor").get(pk=case.pk)
        )
    except Case.DoesNotExist as exc:
        raise PermissionDenied("Not your case.") from exc


def _portal_activity(*, case: Case, user: User, subject: str, body: str = "") -> Activity:
    party_id = user.party_id if case.case_parties.filter(party_id=user.party_id).exists() else None
    return Activity.objects.create(
        case=case,
        kind=Activity.Kind.PORTAL,
        direction=Activity.Direction.INBOUND,
        party_id=party_id,
        subject=subject[:200],
        body=body[:10000],
        created_by=user,
    )


# ---------------------------------------------------------------------------------------------
# Attorney actions
# ---------------------------------------------------------------------------------------------


@transaction.atomic
def create_dispute(
    *, case: Case, submitted_by: User, case_claim_ids, reason: str, upload=None
) -> Dispute:
    case = _ensure_attorney_on_case(submitted_by, case)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why these lines are disputed."})
    if len(reason) > 500:
        raise ValidationError({"reason": "Keep the reason to 500 characters."})
    ids = {int(i) for i in case_claim_ids}
    lines = list(CaseClaim.objects.filter(case=case, included=True, pk__in=ids))
    if not lines or len(lines) != len(ids):
        raise ValidationError({"lines": "Pick one or more of the lines in the lien."})
    document = None
    if upload is not None:
        document = case_services.upload_document(
            case=case, uploaded_by=submitted_by, upload=upload, title="Dispute support"
        )
    dispute = Dispute.objects.create(
        case=case,
        reason=reason,
        document=document,
        party_id=submitted_by.party_id,
        submitted_by=submitted_by,
    )
    dispute.lines.set(lines)
    _portal_activity(
        case=case,
        user=submitted_by,
        subject=f"Attorney disputed {len(lines)} claim line(s)",
        body=reason,
    )
    _notify_owner(
        case,
        kind="portal_dispute",
        title=f"{case.number}: attorney disputed {len(lines)} claim line(s)",
        body=reason,
        link=reverse("portal:disputes"),
    )
    return dispute


@transaction.atomic
def report_settlement(
    *,
    case: Case,
    reported_by: User,
    gross: Decimal,
    fees: Decimal = Decimal("0"),
    costs: Decimal = Decimal("0"),
    full_value: Decimal | None = None,
    reduction_requested: bool = False,
    note: str = "",
) -> NegotiationEntry:
    case = _ensure_attorney_on_case(reported_by, case)
    if fees + costs > gross:
        raise ValidationError({"fees": "Fees and costs cannot exceed the gross settlement."})
    kind = (
        NegotiationEntry.Kind.REDUCTION_REQUEST
        if reduction_requested
        else NegotiationEntry.Kind.SETTLEMENT_REPORT
    )
    lines = [f"Gross settlement: ${gross:,.2f}", f"Attorney fees: ${fees:,.2f}"]
    lines.append(f"Costs: ${costs:,.2f}")
    if full_value is not None:
        lines.append(f"Full value of damages: ${full_value:,.2f}")
    if reduction_requested:
        lines.append("The attorney asks for a reduction of the lien.")
    if note.strip():
        lines.append("")
        lines.append(note.strip())
    party = Party.objects.filter(pk=reported_by.party_id, case_links__case=case).first()
    entry = log_negotiation(
        case=case,
        logged_by=reported_by,
        kind=kind,
        amount=gross,
        party=party,
        channel=NegotiationEntry.Channel.PORTAL,
        note="\n".join(lines)[:4000],
    )
    label = "asked for a reduction" if reduction_requested else "reported a settlement"
    _notify_owner(
        case,
        kind="portal_settlement",
        title=f"{case.number}: attorney {label} (${gross:,.2f})",
        body=entry.note,
        link=reverse("settlements:case", args=[case.pk]),
    )
    return entry


@transaction.atomic
def request_lien_amount(*, case: Case, requested_by: User) -> Activity:
    case = _ensure_attorney_on_case(requested_by, case)
    activity = _portal_activity(
        case=case, user=requested_by, subject="Attorney asked for the current lien amount"
    )
    _notify_owner(
        case,
        kind="portal_lien_request",
        title=f"{case.number}: attorney asked for the current lien amount",
    )
    return activity


@transaction.atomic
def portal_upload(*, case: Case, uploaded_by: User, upload, kind: str, title: str = ""):
    case = _ensure_attorney_on_case(uploaded_by, case)
    document = case_services.upload_document(
        case=case, uploaded_by=uploaded_by, upload=upload, kind=kind, title=title
    )
    _portal_activity(case=case, user=uploaded_by, subject=f"Attorney uploaded: {document.title}")
    _notify_owner(
        case, kind="portal_upload", title=f"{case.number}: attorney uploaded {document.title}"
    )
    return document


# ---------------------------------------------------------------------------------------------
# Staff decision
# ---------------------------------------------------------------------------------------------


def attorneys_for_party(party_id: int | None):
    if not party_id:
        return User.objects.none()
    return User.objects.filter(role=Role.ATTORNEY, is_active=True).filter(
        Q(party_id=party_id) | Q(party__firm_id=party_id)
    )


@transaction.atomic
def decide_dispute(*, dispute: Dispute, decided_by: User, uphold: bool, reason: str) -> Dispute:
    """Uphold (the lines leave the lien, which is recomputed) or deny (a reason is required);
    the firm's attorneys are told either way."""
    if decided_by.role not in DECIDING_ROLES:
        raise PermissionDenied("Your role does not allow deciding disputes.")
    dispute = Dispute.objects.select_for_update().get(pk=dispute.pk)
    case = Case.objects.get(pk=dispute.case_id)
    case_services.ensure_can_edit(decided_by, case)
    if dispute.status != Dispute.Status.OPEN:
        raise ValidationError({"status": "This dispute was decided already."})
    reason = (reason or "").strip()
    if len(reason) > 480:
        raise ValidationError({"reason": "Keep the reason under 480 characters."})
    if not uphold and not reason:
        raise ValidationError({"reason": "Say why the dispute is denied."})
    if uphold:
        line_reason = f"Dispute upheld: {reason or dispute.reason}"[:500]
        for case_claim in dispute.lines.all():
            case_services.decide_claim(
                case_claim=case_claim, included=False, reason=line_reason, decided_by=decided_by
            )
    dispute.status = Dispute.Status.UPHELD if uphold else Dispute.Status.DENIED
    dispute.decided_by = decided_by
    dispute.decision_reason = reason
    dispute.decided_at = timezone.now()
    dispute.save(update_fields=["status", "decided_by", "decision_reason", "decided_at"])
    case.refresh_from_db(fields=["lien_amount"])
    outcome = "upheld" if uphold else "denied"
    Activity.objects.create(
        case=case,
        kind=Activity.Kind.SYSTEM,
        direction=Activity.Direction.INTERNAL,
        subject=f"Portal dispute {outcome}",
        body=reason,
        created_by=decided_by,
    )
    recipients = {u.pk: u for u in attorneys_for_party(dispute.party_id)}
    recipients.setdefault(dispute.submitted_by_id, dispute.submitted_by)
    for user in recipients.values():
        if user.is_active and user.role == Role.ATTORNEY:
            notify(
                user=user,
                kind="portal_dispute_decided",
                title=f"{case.number}: your dispute was {outcome}"[:200],
                body=(
                    f"{reason}\n\nCurrent lien amount: ${case.lien_amount:,.2f}"
                    if reason
                    else f"Current lien amount: ${case.lien_amount:,.2f}"
                ),
                link=reverse("portal:case", args=[case.pk]),
            )
    return dispute


# ---------------------------------------------------------------------------------------------
# Referrals of new cases
# ---------------------------------------------------------------------------------------------


def firm_of(user: User) -> Party | None:
    """The law firm an attorney acts for: their party's firm, else their party itself."""
    if not user.party_id:
        return None
    party = Party.objects.select_related("firm").get(pk=user.party_id)
    return party.firm or party


def _checked_file(upload, field: str) -> tuple[bytes, str, str]:
    """Content, content type and extension of an upload, checked like case documents."""
    if upload.size > case_services.MAX_UPLOAD_BYTES:
        raise ValidationError(
            {field: f"Files may be at most {case_services.MAX_UPLOAD_BYTES // (1024 * 1024)} MB."}
        )
    if upload.size == 0:
        raise ValidationError({field: "The file is empty."})
    content = upload.read()
    sniffed = case_services.sniff_content_type(content[:16])
    if sniffed is None:
        raise ValidationError(
            {field: "Only PDF, PNG, JPEG or TIFF files are accepted (checked by content)."}
        )
    return content, *sniffed


@transaction.atomic
def submit_referral(
    *,
    submitted_by: User,
    client_name: str,
    client_date_of_birth: date,
    incident_date: date,
    incident_kind: str,
    state: str,
    description: str,
    representation_letter,
    program_id: str = "",
    authorization=None,
) -> Referral:
    """An attorney refers a new case; the letter of representation is required."""
    if submitted_by.role != Role.ATTORNEY:
        raise PermissionDenied("Only attorneys refer cases through the portal.")
    errors = {}
    client_name = (client_name or "").strip()
    description = (description or "").strip()
    today = timezone.localdate()
    if not client_name:
        errors["client_name"] = "Give the client's name."
    if client_date_of_birth is None or client_date_of_birth > today:
        errors["client_date_of_birth"] = "Give a date of birth that is not in the future."
    if incident_date is None or incident_date > today:
        errors["incident_date"] = "The date of injury cannot be in the future."
    elif client_date_of_birth and incident_date < client_date_of_birth:
        errors["incident_date"] = "The date of injury is before the client's date of birth."
    if incident_kind not in IncidentKind.values:
        errors["incident_kind"] = "Pick the kind of incident."
    if state not in dict(US_STATES):
        errors["state"] = "Pick the state."
    if not description:
        errors["description"] = "Describe what happened."
    elif len(description) > 4000:
        errors["description"] = "Keep the description to 4,000 characters."
    if representation_letter is None:
        errors["representation_letter"] = "Attach the letter of representation."
    if errors:
        raise ValidationError(errors)
    letter = _checked_file(representation_letter, "representation_letter")
    auth = _checked_file(authorization, "authorization") if authorization is not None else None
    referral = Referral(
        client_name=client_name[:120],
        client_date_of_birth=client_date_of_birth,
        program_id=(program_id or "").strip()[:40],
        incident_date=incident_date,
        incident_kind=incident_kind,
        state=state,
        description=description,
        representation_letter_type=letter[1],
        representation_letter_extension=letter[2],
        submitted_by=submitted_by,
        firm=firm_of(submitted_by),
    )
    referral.representation_letter.save("letter", ContentFile(letter[0]), save=False)
    if auth is not None:
        referral.authorization_type, referral.authorization_extension = auth[1], auth[2]
        referral.authorization.save("authorization", ContentFile(auth[0]), save=False)
    referral.save()
    return referral


def referral_member(referral: Referral) -> Member | None:
    """The member whose program id matches the referral's (by keyed hash), if any."""
    if not referral.program_id:
        return None
    return Member.objects.filter(program_id_hash=keyed_hash(referral.program_id)).first()


def _notify_firm(referral: Referral, *, title: str, body: str = "") -> None:
    recipients = {u.pk: u for u in attorneys_for_party(referral.firm_id)}
    recipients.setdefault(referral.submitted_by_id, referral.submitted_by)
    for user in recipients.values():
        if user.is_active and user.role == Role.ATTORNEY:
            notify(
                user=user,
                kind="portal_referral_decided",
                title=title[:200],
                body=body,
                link=reverse("portal:referral", args=[referral.pk]),
            )


def _decidable(referral: Referral, decided_by: User) -> Referral:
    if decided_by.role not in DECIDING_ROLES:
        raise PermissionDenied("Your role does not allow deciding referrals.")
    referral = Referral.objects.select_for_update().get(pk=referral.pk)
    if referral.status != Referral.Status.NEW:
        raise ValidationError({"status": "This referral was decided already."})
    return referral


@transaction.atomic
def convert_referral(*, referral: Referral, decided_by: User, case_number: str) -> Referral:
    """Mark the referral converted into the (already opened) case with that number."""
    from cases.selectors import cases_visible_to

    referral = _decidable(referral, decided_by)
    case = cases_visible_to(decided_by).filter(number=(case_number or "").strip()).first()
    if case is None:
        raise ValidationError({"case_number": "No case has that number."})
    referral.status = Referral.Status.CONVERTED
    referral.case = case
    referral.decided_by = decided_by
    referral.decided_at = timezone.now()
    referral.save(update_fields=["status", "case", "decided_by", "decided_at"])
    _notify_firm(
        referral,
        title=f"Your referral for {referral.client_name} is now case {case.number}",
        body="The recovery unit opened a case from your referral.",
    )
    return referral


@transaction.atomic
def decline_referral(*, referral: Referral, decided_by: User, note: str) -> Referral:
    """Decline the referral; the note says why and is sent to the firm."""
    referral = _decidable(referral, decided_by)
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": "Say why the referral is declined."})
    if len(note) > 500:
        raise ValidationError({"note": "Keep the note to 500 characters."})
    referral.status = Referral.Status.DECLINED
    referral.decided_by = decided_by
    referral.decision_note = note
    referral.decided_at = timezone.now()
    referral.save(update_fields=["status", "decided_by", "decision_note", "decided_at"])
    _notify_firm(
        referral, title=f"Your referral for {referral.client_name} was declined", body=note
    )
    return referral
