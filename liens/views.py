"""Letter screens: a case's letters (list, send, preview, status that polls until ready) and
letter batches (start from the follow-up criterion, progress, cancel).

Views stay thin: a form parses, `liens.letters` decides and writes, the view renders. Cases and
documents are found through the selectors, so anything the user may not see is a 404; pages
that show a member's data write the PHI access log.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cases.forms import add_service_errors
from cases.models import CaseParty, Document, Party
from cases.selectors import can_edit_case, case_get
from cases.views import _header_context
from recovery.core.audit import log_phi_access
from recovery.core.exceptions import Conflict
from recovery.core.models import STAFF_ROLES, PhiAccess, Role
from recovery.core.permissions import role_required

from . import letters
from .models import LetterBatch

WRITERS = (Role.SPECIALIST, Role.SUPERVISOR, Role.ADMIN)
staff_required = role_required(*STAFF_ROLES)
writer_required = role_required(*WRITERS)

KIND_ORDER = [
    "lien_notice",
    "itemized_statement",
    "lien_amendment",
    "lien_release",
    "information_request",
    "final_demand",
    "reduction_decision",
    "payment_receipt",
    "member_questionnaire",
    "general",
]


class LetterForm(forms.Form):
    kind = forms.ChoiceField(
        label="Letter", choices=[(kind, Document.Kind(kind).label) for kind in KIND_ORDER]
    )
    recipient = forms.TypedChoiceField(label="To", coerce=int, required=False, empty_value=None)
    subject = forms.CharField(label="Subject", max_length=letters.MAX_SUBJECT, required=False)
    body = forms.CharField(
        label="Text",
        required=False,
        strip=False,
        max_length=letters.MAX_BODY,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Needed for a general letter and a reduction decision; added as further "
        "information to the others. Separate paragraphs with a blank line. The salutation, "
        "references and signature are added for you.",
    )
    deliver = forms.BooleanField(
        label="E-mail it to the recipient when it is ready", required=False
    )

    def __init__(self, *args, case, **kwargs):
        super().__init__(*args, **kwargs)
        links = (
            CaseParty.objects.filter(case=case, is_active=True)
            .select_related("party")
            .order_by("role", "party__name")
        )
        self.parties = {link.party_id: link.party for link in links}
        self.fields["recipient"].choices = [("", "— the member (questionnaire only) —")] + [
            (link.party_id, f"{link.party.name} ({link.get_role_display()})") for link in links
        ]

    def recipient_party(self) -> Party | None:
        return self.parties.get(self.cleaned_data.get("recipient"))


class BatchForm(forms.Form):
    kind = forms.ChoiceField(
        label="Letter", choices=[(kind, Document.Kind(kind).label) for kind in letters.BATCH_KINDS]
    )
    recipient_role = forms.ChoiceField(
        label="To",
        choices=[
            (role, CaseParty.Role(role).label)
            for role in (CaseParty.Role.ATTORNEY_OF_RECORD, CaseParty.Role.LIABILITY_INSURER)
        ],
    )
    days = forms.IntegerField(min_value=14, max_value=730, initial=90, widget=forms.HiddenInput)
    description = forms.CharField(label="Description", max_length=300, required=False)


def _log_member(request, member_id, case_id, *, action=PhiAccess.Action.VIEW, detail=""):
    if member_id:
        log_phi_access(
            user=request.user,
            subject_type="member",
            subject_ids=[member_id],
            case_id=case_id,
            request=request,
            action=action,
            detail=detail,
        )


# ---------------------------------------------------------------------------------------------
# A case's letters
# ---------------------------------------------------------------------------------------------


def _letters_page(request, case, form, *, status=200):
    documents = (
        case.documents.filter(kind__in=letters.LETTER_KINDS)
        .select_related("recipient", "uploaded_by")
        .order_by("-created_at", "-id")
    )
    page = Paginator(documents, 50).get_page(request.GET.get("page"))
    _log_member(request, case.member_id, case.pk)
    # The case page's header and tabs, as every tab shows them.
    context = _header_context(request, case)
    context.update(
        {
            "tab": "letters",
            "page": page,
            "documents": page.object_list,
            "form": form,
            "can_edit": can_edit_case(request.user, case),
        }
    )
    return render(
        request,
        "liens/letters.html",
        context,
        status=status,
    )


@staff_required
@require_http_methods(["GET", "POST"])
def case_letters(request, pk: int):
    case = case_get(user=request.user, id=pk)
    if request.method == "GET":
        return _letters_page(request, case, LetterForm(case=case))
    if request.user.role not in WRITERS:
        raise PermissionDenied("Your role does not allow sending letters.")
    form = LetterForm(request.POST, case=case)
    if form.is_valid():
        try:
            document = letters.request_letter(
                case=case,
                kind=form.cleaned_data["kind"],
                recipient=form.recipient_party(),
                requested_by=request.user,
                body=form.cleaned_data["body"],
                subject=form.cleaned_data["subject"],
                deliver=form.cleaned_data["deliver"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"{document.title}: being generated.")
            return redirect(reverse("liens:case-letters", args=[case.pk]))
    return _letters_page(request, case, form, status=400)


@writer_required
@require_POST
def letter_preview(request, pk: int):
    case = case_get(user=request.user, id=pk)
    form = LetterForm(request.POST, case=case)
    html = ""
    if form.is_valid():
        try:
            html = letters.preview_html(
                form.cleaned_data["kind"],
                case,
                form.recipient_party(),
                form.cleaned_data["body"],
                requested_by=request.user,
                subject=form.cleaned_data["subject"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            _log_member(request, case.member_id, case.pk, detail="letter preview")
    return render(request, "liens/_letter_preview.html", {"html": html, "form": form})


def _visible_letter(request, id: int) -> Document:
    document = letters.document_get(user=request.user, id=id)
    if not document.is_letter:
        raise Http404("No such letter")
    return document


@staff_required
@require_GET
def letter_row(request, id: int):
    """One row of the letters table; while the letter is pending it asks again every 2 s."""
    document = _visible_letter(request, id)
    can_edit = document.case is not None and can_edit_case(request.user, document.case)
    return render(request, "liens/_letter_row.html", {"doc": document, "can_edit": can_edit})


@writer_required
@require_POST
def letter_email(request, id: int):
    document = _visible_letter(request, id)
    try:
        letters.queue_delivery(document=document, requested_by=request.user)
    except (ValidationError, Conflict) as exc:
        messages.error(
            request, exc.message if isinstance(exc, Conflict) else " ".join(exc.messages)
        )
    else:
        messages.success(request, f"{document.title}: e-mail queued.")
    if document.case_id:
        return redirect(reverse("liens:case-letters", args=[document.case_id]))
    return redirect("home")


@role_required(*STAFF_ROLES, Role.ATTORNEY)
@require_GET
def letter_download(request, id: int):
    document = _visible_letter(request, id)
    if document.status != Document.Status.READY or not document.file:
        raise Http404("The letter is not ready")
    member_id = document.case.member_id if document.case_id else document.member_id
    _log_member(
        request,
        member_id,
        document.case_id,
        action=PhiAccess.Action.DOWNLOAD,
        detail=f"document {document.pk}",
    )
    reference = document.case.number if document.case_id else f"letter-{document.pk}"
    return FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=f"{reference}-{document.kind}-{document.pk}.pdf",
        content_type="application/pdf",
    )


# ---------------------------------------------------------------------------------------------
# Batches
# ---------------------------------------------------------------------------------------------


def _visible_batches(user):
    batches = LetterBatch.objects.select_related("created_by", "cancelled_by")
    if user.role in (Role.SUPERVISOR, Role.ADMIN, Role.AUDITOR):
        return batches
    return batches.filter(created_by=user)


def _batch_days(data) -> int:
    try:
        return max(14, min(730, int(data.get("days") or 90)))
    except (TypeError, ValueError):
        return 90


@staff_required
@require_http_methods(["GET", "POST"])
def batches(request):
    form = BatchForm(initial={"days": 90})
    status = 200
    if request.method == "POST":
        if request.user.role not in WRITERS:
            raise PermissionDenied("Your role does not allow sending letters.")
        form = BatchForm(request.POST)
        if form.is_valid():
            days = form.cleaned_data["days"]
            matching = letters.cases_without_recent_contact(request.user, days=days)
            try:
                batch = letters.start_batch(
                    kind=form.cleaned_data["kind"],
                    cases=list(matching.values_list("pk", flat=True)),
                    recipient_role=form.cleaned_data["recipient_role"],
                    created_by=request.user,
                    description=form.cleaned_data["description"]
                    or f"Follow-up: filed liens without contact for {days} days",
                    criteria={"rule": "no_contact", "days": days},
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                plural = "" if batch.total == 1 else "s"
                messages.success(request, f"Batch started for {batch.total} case{plural}.")
                return redirect("liens:batches")
        status = 400
    days = _batch_days(request.POST if request.method == "POST" else request.GET)
    matching = letters.cases_without_recent_contact(request.user, days=days)
    page = Paginator(_visible_batches(request.user), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "liens/batches.html",
        {
            "form": form,
            "days": days,
            "matching_count": matching.count(),
            "page": page,
            "batches": page.object_list,
            "can_write": request.user.role in WRITERS,
        },
        status=status,
    )


@staff_required
@require_GET
def batch_progress(request, id: int):
    batch = get_object_or_404(_visible_batches(request.user), pk=id)
    return render(
        request,
        "liens/_batch_row.html",
        {"batch": batch, "can_write": request.user.role in WRITERS},
    )


@writer_required
@require_POST
def batch_cancel(request, id: int):
    batch = get_object_or_404(_visible_batches(request.user), pk=id)
    try:
        letters.cancel_batch(batch, request.user)
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Batch cancelled: letters already generated stay.")
    return redirect("liens:batches")
