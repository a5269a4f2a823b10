"""The attorney portal (attorneys only; staff get 403) and the staff side of it: invitations,
the dispute review queue and the referral queue. A case, document or referral that is not the
attorney's is a 404."""

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Q, Subquery
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from cases.models import Case, Document
from cases.selectors import can_edit_case, cases_visible_to
from liens.letters import LETTER_KINDS, documents_visible_to
from liens.models import Lien
from recovery.core.audit import log_phi_access
from recovery.core.models import STAFF_ROLES, PhiAccess, Role
from recovery.core.permissions import role_required
from settlements.models import NegotiationEntry

from . import services
from .forms import (
    AcceptForm,
    ConvertReferralForm,
    DecideForm,
    DeclineReferralForm,
    DisputeForm,
    InviteForm,
    ReferralForm,
    SettlementReportForm,
    UploadForm,
)
from .models import Dispute, Invitation, Referral

attorney_required = role_required(Role.ATTORNEY)
inviter_required = role_required(*services.INVITING_ROLES)


def _form_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


# ---------------------------------------------------------------------------------------------
# Invitations
# ---------------------------------------------------------------------------------------------


@inviter_required
@require_http_methods(["GET", "POST"])
def invite(request):
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.invite_attorney(
                party=form.cleaned_data["party"],
                email=form.cleaned_data["email"],
                created_by=request.user,
                base_url=request.build_absolute_uri("/"),
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
            return redirect("portal:invite")
    recent = Invitation.objects.select_related("party", "created_by", "user")[:20]
    return render(
        request,
        "portal/invite.html",
        {"form": form, "recent": recent},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def accept(request, token: str):
    try:
        invitation = services.invitation_for_token(token)
    except Invitation.DoesNotExist as exc:
        raise Http404("No such invitation") from exc
    except services.InvitationGone:
        return render(request, "portal/invitation_gone.html", status=410)
    form = AcceptForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.accept_invitation(
                token=token,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
            )
        except services.InvitationGone:
            return render(request, "portal/invitation_gone.html", status=410)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, "Welcome. Your portal account is ready.")
            return redirect("portal:home")
    return render(
        request,
        "portal/accept.html",
        {"form": form, "invitation": invitation},
        status=400 if form.errors else 200,
    )


# ---------------------------------------------------------------------------------------------
# Attorney pages
# ---------------------------------------------------------------------------------------------


def _latest_lien(field: str):
    return Subquery(
        Lien.objects.filter(case=OuterRef("pk")).order_by("-created_at", "-id").values(field)[:1]
    )


@attorney_required
def home(request):
    cases = (
        cases_visible_to(request.user)
        .select_related("member")
        .annotate(lien_status=_latest_lien("status"))
        .order_by("-opened_at", "-id")
    )
    cases = list(cases[:500])
    statuses = dict(Lien.Status.choices)
    for case in cases:
        case.lien_status_label = statuses.get(case.lien_status, "Not filed")
    if cases:
        log_phi_access(
            user=request.user,
            subject_type="member",
            subject_ids=[c.member_id for c in cases],
            request=request,
            detail="portal case list",
        )
    return render(request, "portal/home.html", {"cases": cases})


def _attorney_case(request, id: int) -> Case:
    try:
        return (
            cases_visible_to(request.user)
            .select_related("member", "jurisdiction", "assigned_to", "team__supervisor")
            .get(pk=id)
        )
    except Case.DoesNotExist as exc:
        raise Http404("No such case") from exc


def _case_context(request, case: Case, **forms) -> dict:
    user = request.user
    parties = services.firm_party_ids(user)
    documents = documents_visible_to(user).filter(case=case).select_related("recipient")
    letters = [d for d in documents if d.kind in LETTER_KINDS]
    uploads = [d for d in documents if d.kind not in LETTER_KINDS]
    negotiation = (
        NegotiationEntry.objects.filter(case=case)
        .filter(
            Q(party_id__in=parties) | Q(party__firm_id__in=parties) | Q(created_by=user)
            if parties
            else Q(created_by=user)
        )
        .select_related("party")
    )
    claims = list(
        case.case_claims.filter(included=True)
        .select_related("claim_line")
        .order_by("claim_line__service_from", "claim_line__claim_number", "pk")
    )
    return {
        "case": case,
        "lien": case.liens.order_by("-created_at", "-id").first(),
        "claims": claims,
        "letters": letters,
        "uploads": uploads,
        "negotiation": negotiation,
        "disputes": case.disputes.prefetch_related("lines"),
        "dispute_form": forms.get("dispute_form") or DisputeForm(case=case),
        "settlement_form": forms.get("settlement_form") or SettlementReportForm(),
        "upload_form": forms.get("upload_form") or UploadForm(),
    }


def _render_case(request, case: Case, status: int = 200, **forms):
    return render(request, "portal/case.html", _case_context(request, case, **forms), status=status)


@attorney_required
def case_detail(request, id: int):
    case = _attorney_case(request, id)
    log_phi_access(
        user=request.user,
        subject_type="member",
        subject_ids=[case.member_id],
        case_id=case.pk,
        request=request,
        detail="portal case",
    )
    return _render_case(request, case)


@attorney_required
@require_POST
def dispute_create(request, id: int):
    case = _attorney_case(request, id)
    form = DisputeForm(request.POST, request.FILES, case=case)
    if form.is_valid():
        try:
            services.create_dispute(
                case=case,
                submitted_by=request.user,
                case_claim_ids=[c.pk for c in form.cleaned_data["lines"]],
                reason=form.cleaned_data["reason"],
                upload=form.cleaned_data.get("file"),
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "Your dispute was sent to the recovery specialist.")
            return redirect("portal:case", id=case.pk)
    return _render_case(request, case, status=400, dispute_form=form)


@attorney_required
@require_POST
def settlement_report(request, id: int):
    case = _attorney_case(request, id)
    form = SettlementReportForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.report_settlement(
                case=case,
                reported_by=request.user,
                gross=data["gross"],
                fees=data["fees"],
                costs=data["costs"],
                full_value=data.get("full_value"),
                reduction_requested=data["reduction_requested"],
                note=data.get("note", ""),
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "Thank you. The recovery specialist has been told.")
            return redirect("portal:case", id=case.pk)
    return _render_case(request, case, status=400, settlement_form=form)


@attorney_required
@require_POST
def lien_amount_request(request, id: int):
    case = _attorney_case(request, id)
    services.request_lien_amount(case=case, requested_by=request.user)
    messages.success(request, "Your request for the current lien amount was sent.")
    return redirect("portal:case", id=case.pk)


@attorney_required
@require_POST
def upload(request, id: int):
    case = _attorney_case(request, id)
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.portal_upload(
                case=case,
                uploaded_by=request.user,
                upload=form.cleaned_data["file"],
                kind=form.cleaned_data["kind"],
                title=form.cleaned_data["title"],
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "The document was uploaded.")
            return redirect("portal:case", id=case.pk)
    return _render_case(request, case, status=400, upload_form=form)


# ---------------------------------------------------------------------------------------------
# Staff: dispute review queue
# ---------------------------------------------------------------------------------------------


def _open_disputes(user):
    return (
        Dispute.objects.filter(status=Dispute.Status.OPEN, case__in=cases_visible_to(user))
        .select_related("case__member", "case__assigned_to", "submitted_by", "party", "document")
        .prefetch_related("lines__claim_line")
        .order_by("submitted_at", "id")
    )


@role_required(*STAFF_ROLES)
def disputes(request, forms=None, status: int = 200):
    items = list(_open_disputes(request.user)[:200])
    forms = forms or {}
    for dispute in items:
        dispute.can_decide = request.user.role != Role.AUDITOR and can_edit_case(
            request.user, dispute.case
        )
        dispute.form = forms.get(dispute.pk) or DecideForm()
    if items:
        log_phi_access(
            user=request.user,
            subject_type="member",
            subject_ids=[d.case.member_id for d in items],
            request=request,
            detail="portal dispute queue",
        )
    return render(request, "portal/disputes.html", {"disputes": items}, status=status)


@role_required(*services.DECIDING_ROLES)
@require_POST
def dispute_decide(request, id: int):
    dispute = get_object_or_404(_open_disputes(request.user), pk=id)
    form = DecideForm(request.POST)
    if form.is_valid():
        try:
            services.decide_dispute(
                dispute=dispute,
                decided_by=request.user,
                uphold=form.cleaned_data["decision"] == "uphold",
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"Dispute on {dispute.case.number} decided.")
            return redirect("portal:disputes")
    return disputes(request, forms={dispute.pk: form}, status=400)


# ---------------------------------------------------------------------------------------------
# Attorneys' own uploads
# ---------------------------------------------------------------------------------------------


@attorney_required
def document_download(request, id: int):
    """A document the attorney's firm uploaded, on a case the attorney sees; 404 otherwise."""
    parties = services.firm_party_ids(request.user)
    if not parties:
        raise Http404("No such document")
    document = get_object_or_404(
        Document.objects.filter(case__in=cases_visible_to(request.user))
        .exclude(kind__in=LETTER_KINDS)
        .filter(
            Q(uploaded_by__party_id__in=parties) | Q(uploaded_by__party__firm_id__in=parties),
            uploaded_by__role=Role.ATTORNEY,
            status=Document.Status.READY,
        )
        .select_related("case"),
        pk=id,
    )
    if not document.file:
        raise Http404("No such document")
    log_phi_access(
        user=request.user,
        subject_type="member",
        subject_ids=[document.case.member_id],
        action=PhiAccess.Action.DOWNLOAD,
        case_id=document.case_id,
        request=request,
        detail=f"portal document {document.pk}",
    )
    return FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        # The stored name never carries the uploaded one, which may hold PHI.
        filename=f"{document.case.number}-{document.pk}{document.extension}",
        content_type=document.content_type,
    )


# ---------------------------------------------------------------------------------------------
# Referrals: attorneys refer new cases, staff open or decline them
# ---------------------------------------------------------------------------------------------


def referrals_visible_to(user):
    """Staff of the referral queue see every referral; an attorney those of their firm."""
    referrals = Referral.objects.select_related("submitted_by", "firm", "case", "decided_by")
    if not user.is_authenticated or not user.is_active:
        return referrals.none()
    if user.role in services.REFERRAL_STAFF_ROLES:
        return referrals
    if user.role == Role.ATTORNEY:
        parties = services.firm_party_ids(user)
        return referrals.filter(Q(submitted_by=user) | Q(firm_id__in=parties))
    return referrals.none()


def _log_referrals(request, ids, *, detail: str, action=PhiAccess.Action.VIEW) -> None:
    if ids:
        log_phi_access(
            user=request.user,
            subject_type="referral",
            subject_ids=list(ids),
            action=action,
            request=request,
            detail=detail,
        )


@attorney_required
@require_http_methods(["GET", "POST"])
def referral_create(request):
    form = ReferralForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            referral = services.submit_referral(
                submitted_by=request.user,
                client_name=data["client_name"],
                client_date_of_birth=data["client_date_of_birth"],
                program_id=data.get("program_id", ""),
                incident_date=data["incident_date"],
                incident_kind=data["incident_kind"],
                state=data["state"],
                description=data["description"],
                representation_letter=data["representation_letter"],
                authorization=data.get("authorization"),
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "Thank you. The referral was sent to the recovery unit.")
            return redirect("portal:referral", id=referral.pk)
    mine = list(referrals_visible_to(request.user)[:50])
    _log_referrals(request, [r.pk for r in mine], detail="portal referral list")
    return render(
        request,
        "portal/refer.html",
        {"form": form, "referrals": mine},
        status=400 if form.errors else 200,
    )


referral_reader_required = role_required(*services.REFERRAL_STAFF_ROLES, Role.ATTORNEY)


@referral_reader_required
def referral_detail(request, id: int):
    referral = get_object_or_404(referrals_visible_to(request.user), pk=id)
    _log_referrals(request, [referral.pk], detail="portal referral")
    return render(
        request,
        "portal/referral.html",
        {"referral": referral, "is_staff": request.user.role != Role.ATTORNEY},
    )


REFERRAL_FILES = {"letter": "representation_letter", "authorization": "authorization"}


@referral_reader_required
def referral_file(request, id: int, which: str):
    """A file of a referral, for staff and the submitting firm; 404 for anyone else."""
    field = REFERRAL_FILES.get(which)
    referral = get_object_or_404(referrals_visible_to(request.user), pk=id)
    stored = getattr(referral, field) if field else None
    if not stored:
        raise Http404("No such file")
    extension = getattr(referral, f"{field}_extension")
    content_type = getattr(referral, f"{field}_type")
    _log_referrals(
        request,
        [referral.pk],
        detail=f"portal referral {which}",
        action=PhiAccess.Action.DOWNLOAD,
    )
    return FileResponse(
        stored.open("rb"),
        as_attachment=True,
        filename=f"referral-{referral.pk}-{which}{extension}",
        content_type=content_type,
    )


@role_required(*services.REFERRAL_STAFF_ROLES)
def referrals(request, forms=None, status: int = 200):
    items = list(
        referrals_visible_to(request.user)
        .filter(status=Referral.Status.NEW)
        .order_by("created_at", "id")[:200]
    )
    decided = list(
        referrals_visible_to(request.user)
        .exclude(status=Referral.Status.NEW)
        .order_by("-decided_at", "-id")[:20]
    )
    forms = forms or {}
    can_decide = request.user.role in services.DECIDING_ROLES
    for referral in items:
        referral.convert_form = forms.get((referral.pk, "convert")) or ConvertReferralForm()
        referral.decline_form = forms.get((referral.pk, "decline")) or DeclineReferralForm()
    _log_referrals(
        request, [r.pk for r in items] + [r.pk for r in decided], detail="portal referral queue"
    )
    return render(
        request,
        "portal/referrals.html",
        {"referrals": items, "decided": decided, "can_decide": can_decide},
        status=status,
    )


def _new_referral(request, id: int) -> Referral:
    return get_object_or_404(
        referrals_visible_to(request.user).filter(status=Referral.Status.NEW), pk=id
    )


@role_required(*services.DECIDING_ROLES)
def referral_open_case(request, id: int):
    """Go to intake for the referred member, when the program id matches one."""
    referral = _new_referral(request, id)
    member = services.referral_member(referral)
    if member is None:
        messages.warning(
            request,
            f"No member matches the program id of referral {referral.pk}. Find or create the "
            "member first, open the case, then mark the referral converted.",
        )
        return redirect("portal:referrals")
    return redirect(f"{reverse('cases:new')}?member={member.pk}")


@role_required(*services.DECIDING_ROLES)
@require_POST
def referral_convert(request, id: int):
    referral = _new_referral(request, id)
    form = ConvertReferralForm(request.POST)
    if form.is_valid():
        try:
            referral = services.convert_referral(
                referral=referral,
                decided_by=request.user,
                case_number=form.cleaned_data["case_number"],
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"Referral {referral.pk} converted to {referral.case}.")
            return redirect("portal:referrals")
    return referrals(request, forms={(referral.pk, "convert"): form}, status=400)


@role_required(*services.DECIDING_ROLES)
@require_POST
def referral_decline(request, id: int):
    referral = _new_referral(request, id)
    form = DeclineReferralForm(request.POST)
    if form.is_valid():
        try:
            services.decline_referral(
                referral=referral, decided_by=request.user, note=form.cleaned_data["note"]
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"Referral {referral.pk} declined.")
            return redirect("portal:referrals")
    return referrals(request, forms={(referral.pk, "decline"): form}, status=400)
