"""The case page's Lien tab: create and file the lien, record receipt and the release sent,
request amendments, releases and withdrawals, and — for supervisors other than the requester —
approve or reject them. Every action goes through liens.services."""

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from cases import selectors as case_selectors
from cases.models import CaseParty
from cases.views import _header_context, _log_members
from recovery.core.exceptions import Conflict
from recovery.core.models import Role
from recovery.core.permissions import role_required, staff_required

from . import services
from .models import Lien, LienChange

writer_required = role_required(Role.SPECIALIST, Role.SUPERVISOR, Role.ADMIN)


class FileForm(forms.Form):
    filed_with = forms.ModelChoiceField(queryset=CaseParty.objects.none(), label="Filed with")
    filed_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    method = forms.ChoiceField(choices=Lien.Method.choices)
    certified_mail_number = forms.CharField(required=False, max_length=40)
    court_case_number = forms.CharField(required=False, max_length=60)
    expires_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, case=None, **kwargs):
        kwargs.setdefault("auto_id", "file_%s")
        super().__init__(*args, **kwargs)
        links = CaseParty.objects.filter(case=case, is_active=True).select_related("party")
        self.fields["filed_with"].queryset = links
        self.fields["filed_with"].label_from_instance = lambda link: (
            f"{link.party} — {link.get_role_display()}"
        )
        self.fields["filed_on"].initial = timezone.localdate()


class PrefixedIds:
    """The tab shows several of these forms at once: each gets its own element ids, so that
    every label names its own field (a shared `id_reason` would label only the first)."""

    id_prefix = ""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


class AmendForm(PrefixedIds, forms.Form):
    id_prefix = "amend"
    new_amount = forms.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0"))
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class ReleaseForm(PrefixedIds, forms.Form):
    id_prefix = "release"
    amount = forms.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        help_text="Leave empty for a full release.",
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class ReasonForm(PrefixedIds, forms.Form):
    id_prefix = "withdraw"
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class DateForm(forms.Form):
    on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))


class DecisionForm(forms.Form):
    note = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )


def _tab_url(case_pk: int) -> str:
    return reverse("liens:case-lien", args=[case_pk])


def _render(request, case, *, forms_override: dict | None = None, status: int = 200):
    lien = (
        case.liens.select_related("filed_with", "created_by", "filed_by")
        .prefetch_related("changes__requested_by", "changes__decided_by")
        .order_by("-created_at")
        .first()
    )
    past = list(case.liens.exclude(pk=lien.pk if lien else None).order_by("-created_at")[:10])
    can_edit = case_selectors.can_edit_case(request.user, case)
    pending = (
        next((c for c in lien.changes.all() if c.status == LienChange.Status.REQUESTED), None)
        if lien
        else None
    )
    context = _header_context(request, case)
    context.update(
        {
            "tab": "lien",
            "lien": lien,
            "past_liens": past,
            "pending": pending,
            "can_edit_lien": can_edit,
            "can_decide": pending is not None
            and request.user.role in (Role.SUPERVISOR, Role.ADMIN)
            and pending.requested_by_id != request.user.pk,
            "file_form": FileForm(case=case),
            "amend_form": AmendForm(initial={"new_amount": case.lien_amount}),
            "release_form": ReleaseForm(),
            "withdraw_form": ReasonForm(),
            "date_form": DateForm(initial={"on": timezone.localdate()}),
            "decision_form": DecisionForm(),
            "lines": lien.filing_lines.filter(change__isnull=True)[:500] if lien else [],
            "amount_changed": lien is not None
            and lien.is_active
            and lien.amount != case.lien_amount,
        }
    )
    context.update(forms_override or {})
    _log_members(request, [case.member_id], case_id=case.pk)
    return render(request, "liens/tab_lien.html", context, status=status)


@staff_required
@require_GET
def case_lien(request, pk: int):
    case = case_selectors.case_get(user=request.user, id=pk)
    return _render(request, case)


def _lien_for(request, pk: int, lien_id: int) -> tuple:
    case = case_selectors.case_get(user=request.user, id=pk)
    lien = get_object_or_404(Lien, pk=lien_id, case=case)
    return case, lien


def _run(request, case, action, *, form_name: str | None = None, form=None, success: str):
    """Call a service; its errors become form errors or messages, never a 500."""
    try:
        action()
    except ValidationError as error:
        if form is not None:
            for field, problems in error.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
            return _render(
                request, case, forms_override={form_name: form, "open_form": form_name}, status=400
            )
        messages.error(request, " ".join(error.messages))
    except (Conflict, PermissionDenied) as error:
        messages.error(request, str(error))
    else:
        messages.success(request, success)
    return redirect(_tab_url(case.pk))


@writer_required
@require_POST
def create(request, pk: int):
    case = case_selectors.case_get(user=request.user, id=pk)
    return _run(
        request,
        case,
        lambda: services.create_lien(case=case, created_by=request.user),
        success="Draft lien created.",
    )


def _form_action(
    request,
    pk: int,
    lien_id: int,
    *,
    form_class,
    form_name: str,
    call,
    success: str,
    keep_form=True,
):
    """The shape of every lien form post: validate the form, call the service with the lien and
    the cleaned data, and show the form again with its errors (or a message) when it refuses."""
    case, lien = _lien_for(request, pk, lien_id)
    form = (
        form_class(request.POST, case=case) if form_class is FileForm else form_class(request.POST)
    )
    if not form.is_valid():
        return _render(
            request, case, forms_override={form_name: form, "open_form": form_name}, status=400
        )
    return _run(
        request,
        case,
        lambda: call(lien, form.cleaned_data),
        form_name=form_name if keep_form else None,
        form=form if keep_form else None,
        success=success,
    )


def _filed_with_party(data: dict) -> dict:
    # The form picks a party link on the case; the service files with the party itself.
    return {**data, "filed_with": data["filed_with"].party}


@writer_required
@require_POST
def file(request, pk: int, lien_id: int):
    return _form_action(
        request,
        pk,
        lien_id,
        form_class=FileForm,
        form_name="file_form",
        call=lambda lien, data: services.file_lien(
            lien=lien, filed_by=request.user, **_filed_with_party(data)
        ),
        success="Lien filed. Send the notice and itemized statement from the Letters tab.",
    )


@writer_required
@require_POST
def amend(request, pk: int, lien_id: int):
    return _form_action(
        request,
        pk,
        lien_id,
        form_class=AmendForm,
        form_name="amend_form",
        call=lambda lien, data: services.request_amendment(
            lien=lien, requested_by=request.user, **data
        ),
        success="Amendment requested: it takes effect when a supervisor approves it.",
    )


@writer_required
@require_POST
def release(request, pk: int, lien_id: int):
    return _form_action(
        request,
        pk,
        lien_id,
        form_class=ReleaseForm,
        form_name="release_form",
        call=lambda lien, data: services.request_release(
            lien=lien, requested_by=request.user, **data
        ),
        success="Release requested: it takes effect when a supervisor approves it.",
    )


@writer_required
@require_POST
def withdraw(request, pk: int, lien_id: int):
    return _form_action(
        request,
        pk,
        lien_id,
        form_class=ReasonForm,
        form_name="withdraw_form",
        call=lambda lien, data: services.request_withdrawal(
            lien=lien, requested_by=request.user, **data
        ),
        success="Withdrawal requested.",
    )


@writer_required
@require_POST
def receipt(request, pk: int, lien_id: int):
    return _form_action(
        request,
        pk,
        lien_id,
        form_class=DateForm,
        form_name="date_form",
        call=lambda lien, data: services.record_receipt(
            lien=lien, signed_on=data["on"], recorded_by=request.user
        ),
        success="Signed receipt recorded.",
        keep_form=False,  # the date sits inline; a refusal reads better as a message
    )


@writer_required
@require_POST
def release_sent(request, pk: int, lien_id: int):
    return _form_action(
        request,
        pk,
        lien_id,
        form_class=DateForm,
        form_name="date_form",
        call=lambda lien, data: services.record_release_sent(
            lien=lien, sent_on=data["on"], recorded_by=request.user
        ),
        success="Release sending recorded.",
        keep_form=False,
    )


@role_required(Role.SUPERVISOR, Role.ADMIN)
@require_POST
def decide(request, pk: int, change_id: int):
    case = case_selectors.case_get(user=request.user, id=pk)
    change = get_object_or_404(LienChange, pk=change_id, lien__case=case)
    form = DecisionForm(request.POST)
    form.is_valid()
    note = form.cleaned_data.get("note", "")
    if request.POST.get("decision") == "approve":
        return _run(
            request,
            case,
            lambda: services.approve_change(change=change, approved_by=request.user, note=note),
            success=f"{change.get_kind_display()} approved.",
        )
    return _run(
        request,
        case,
        lambda: services.reject_change(change=change, rejected_by=request.user, note=note),
        success=f"{change.get_kind_display()} rejected.",
    )


@writer_required
@require_POST
def cancel(request, pk: int, change_id: int):
    case = case_selectors.case_get(user=request.user, id=pk)
    change = get_object_or_404(LienChange, pk=change_id, lien__case=case)
    return _run(
        request,
        case,
        lambda: services.cancel_change(change=change, cancelled_by=request.user),
        success="Request cancelled.",
    )
