"""Claims import screens: the upload form with recent imports, a batch's page whose progress
polls while the worker loads it, and the leads queue (screening hits with no case).

Specialists, supervisors and administrators upload; auditors read these pages but cannot
upload; attorneys never reach them.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_http_methods

from recovery.core.audit import log_phi_access
from recovery.core.models import Role
from recovery.core.permissions import role_required

from .imports import IMPORTER_ROLES, MAX_IMPORT_BYTES, start_import
from .models import ImportBatch, Lead

READERS = (*IMPORTER_ROLES, Role.AUDITOR)
IMPORTS_PER_PAGE = 20
REJECTS_PER_PAGE = 100
LEADS_PER_PAGE = 50


class ImportForm(forms.Form):
    file = forms.FileField(
        label="Claims file",
        help_text="A CSV in the claims layout, or an X12 835 remittance or 837 claim file.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.835,.837,.837i,.x12,.edi"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise ValidationError(f"Files may be at most {MAX_IMPORT_BYTES // (1024 * 1024)} MB.")
        return upload


@role_required(*READERS)
@require_http_methods(["GET", "POST"])
def import_claims(request):
    can_upload = request.user.role in IMPORTER_ROLES
    form = ImportForm()
    if request.method == "POST":
        if not can_upload:
            raise PermissionDenied("Your role does not allow importing claims.")
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                batch = start_import(
                    uploaded_by=request.user, filename=upload.name, content=upload.read()
                )
            except ValidationError as exc:
                for message in exc.message_dict.get("file", exc.messages):
                    form.add_error("file", message)
            else:
                messages.success(request, f"{batch.filename} is queued for import.")
                return redirect("cases:import-detail", pk=batch.pk)
    page = Paginator(ImportBatch.objects.select_related("created_by"), IMPORTS_PER_PAGE)
    return render(
        request,
        "cases/import.html",
        {
            "form": form,
            "can_upload": can_upload,
            "page": page.get_page(request.GET.get("page")),
        },
        status=400 if form.errors else 200,
    )


@role_required(*READERS)
@require_GET
def import_detail(request, pk: int):
    batch = get_object_or_404(ImportBatch.objects.select_related("created_by"), pk=pk)
    rejects = Paginator(batch.rejects.order_by("line", "id"), REJECTS_PER_PAGE)
    return render(
        request,
        "cases/import_detail.html",
        {"batch": batch, "page": rejects.get_page(request.GET.get("page"))},
    )


@role_required(*READERS)
@require_GET
def import_progress(request, pk: int):
    """The progress box, polled by htmx every second while the batch runs. The poll that sees
    the batch finish reloads the page, which then shows the rejects and stops polling."""
    batch = get_object_or_404(ImportBatch, pk=pk)
    response = render(request, "cases/_import_progress.html", {"batch": batch})
    if request.htmx and batch.status in (ImportBatch.Status.DONE, ImportBatch.Status.FAILED):
        response["HX-Refresh"] = "true"
    return response


def _intake_url() -> str | None:
    try:
        return reverse("cases:new")
    except NoReverseMatch:
        return None


@role_required(*READERS)
@require_GET
def leads(request):
    """Screening hits for members with no open case, largest paid first: each is a
    questionnaire letter to send, or a case to open."""
    status = request.GET.get("status", "open")
    items = Lead.objects.select_related("member")
    if status in Lead.Status.values:
        items = items.filter(status=status)
    else:
        status = "open"
        items = items.filter(status__in=[Lead.Status.NEW, Lead.Status.LETTER_SENT])
    page = Paginator(items.order_by("-hit_paid", "-created_at", "-id"), LEADS_PER_PAGE)
    page = page.get_page(request.GET.get("page"))
    log_phi_access(
        user=request.user,
        subject_type="member",
        subject_ids=[lead.member_id for lead in page],
        request=request,
        detail="leads queue",
    )
    return render(
        request,
        "cases/leads.html",
        {
            "page": page,
            "status": status,
            "status_choices": [("open", "Open (new or letter sent)"), *Lead.Status.choices],
            "intake_url": _intake_url() if request.user.role in IMPORTER_ROLES else None,
        },
    )
