from decimal import Decimal

from django import forms

from cases.models import US_STATES, CaseClaim, Document, IncidentKind, Party
from recovery.core.forms import NewUserForm

MONEY = {"max_digits": 12, "decimal_places": 2, "min_value": Decimal("0")}

UPLOAD_KINDS = [
    (Document.Kind.UPLOAD, "Other upload"),
    (Document.Kind.LETTER_OF_REPRESENTATION, Document.Kind.LETTER_OF_REPRESENTATION.label),
    (Document.Kind.AUTHORIZATION, Document.Kind.AUTHORIZATION.label),
    (Document.Kind.POLICE_REPORT, Document.Kind.POLICE_REPORT.label),
    (Document.Kind.SETTLEMENT_STATEMENT, Document.Kind.SETTLEMENT_STATEMENT.label),
    (Document.Kind.CORRESPONDENCE, Document.Kind.CORRESPONDENCE.label),
]


class InviteForm(forms.Form):
    party = forms.ModelChoiceField(
        label="Law firm",
        queryset=Party.objects.filter(
            is_active=True, kind__in=[Party.Kind.LAW_FIRM, Party.Kind.ATTORNEY]
        ).order_by("name"),
    )
    email = forms.EmailField(label="Attorney's e-mail")


class AcceptForm(NewUserForm):
    """Username and password (Django's password validators run on the new user)."""


class ClaimLineChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        line = obj.claim_line
        return (
            f"{line.service_from:%Y-%m-%d} · {line.provider_name or line.provider_npi or 'provider'}"
            f" · {line.procedure_code} · ${line.paid_amount}"
        )


class DisputeForm(forms.Form):
    lines = ClaimLineChoices(
        label="Disputed lines",
        queryset=CaseClaim.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}))
    file = forms.FileField(label="Supporting document (optional)", required=False)

    def __init__(self, *args, case=None, **kwargs):
        super().__init__(*args, **kwargs)
        if case is not None:
            self.fields["lines"].queryset = (
                case.case_claims.filter(included=True)
                .select_related("claim_line")
                .order_by("claim_line__service_from", "pk")
            )


class SettlementReportForm(forms.Form):
    gross = forms.DecimalField(label="Gross settlement", **MONEY)
    fees = forms.DecimalField(label="Attorney fees", initial=Decimal("0.00"), **MONEY)
    costs = forms.DecimalField(label="Costs", initial=Decimal("0.00"), **MONEY)
    full_value = forms.DecimalField(label="Full value of damages", required=False, **MONEY)
    reduction_requested = forms.BooleanField(label="We ask for a reduction", required=False)
    note = forms.CharField(max_length=3000, required=False, widget=forms.Textarea({"rows": 3}))

    def clean(self):
        data = super().clean()
        gross, fees, costs = data.get("gross"), data.get("fees"), data.get("costs")
        if None not in (gross, fees, costs) and fees + costs > gross:
            self.add_error("fees", "Fees and costs cannot exceed the gross settlement.")
        return data


class UploadForm(forms.Form):
    kind = forms.ChoiceField(choices=UPLOAD_KINDS, initial=Document.Kind.UPLOAD)
    title = forms.CharField(max_length=200, required=False)
    file = forms.FileField()


class DecideForm(forms.Form):
    decision = forms.ChoiceField(choices=[("uphold", "Uphold"), ("deny", "Deny")])
    reason = forms.CharField(max_length=480, required=False, widget=forms.Textarea({"rows": 2}))

    def clean(self):
        data = super().clean()
        if data.get("decision") == "deny" and not (data.get("reason") or "").strip():
            self.add_error("reason", "Say why the dispute is denied.")
        return data


class ReferralForm(forms.Form):
    client_name = forms.CharField(label="Client's name", max_length=120)
    client_date_of_birth = forms.DateField(
        label="Client's date of birth", widget=forms.DateInput(attrs={"type": "date"})
    )
    program_id = forms.CharField(label="Program id (if known)", max_length=40, required=False)
    incident_date = forms.DateField(
        label="Date of injury", widget=forms.DateInput(attrs={"type": "date"})
    )
    incident_kind = forms.ChoiceField(label="Kind of incident", choices=IncidentKind.choices)
    state = forms.ChoiceField(label="State", choices=[("", "---------"), *US_STATES])
    description = forms.CharField(
        label="What happened", max_length=4000, widget=forms.Textarea(attrs={"rows": 4})
    )
    representation_letter = forms.FileField(label="Letter of representation")
    authorization = forms.FileField(label="Client authorization (optional)", required=False)


class ConvertReferralForm(forms.Form):
    case_number = forms.CharField(label="Case number", max_length=20)


class DeclineReferralForm(forms.Form):
    note = forms.CharField(label="Why", max_length=500, widget=forms.Textarea({"rows": 2}))
