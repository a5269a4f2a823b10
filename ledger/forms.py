"""Forms of the money screens: they parse what was typed; the services judge and write."""

import secrets
from decimal import Decimal

from django import forms
from django.utils import timezone

from cases.models import Case, CaseParty
from recovery.money import MAX_DIGITS
from settlements.models import Settlement

from .models import Deposit, Disbursement
from .reconciliation import ALLOWED_EXTENSIONS, MAX_BYTES


def money_field(label: str, **kwargs) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        max_digits=MAX_DIGITS,
        decimal_places=2,
        min_value=Decimal("0.01"),
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01", "inputmode": "decimal"}),
        **kwargs,
    )


def new_idempotency_key() -> str:
    return f"web-{secrets.token_urlsafe(18)}"


class DepositForm(forms.Form):
    amount = money_field("Amount")
    received_on = forms.DateField(
        label="Received on", widget=forms.DateInput(attrs={"type": "date"})
    )
    instrument = forms.ChoiceField(label="Instrument", choices=Deposit.Instrument.choices)
    reference = forms.CharField(
        label="Reference", max_length=60, help_text="Check number, trace or confirmation number."
    )
    payer = forms.CharField(label="Payer", max_length=200)
    settlement = forms.ModelChoiceField(
        label="Settlement",
        queryset=Settlement.objects.none(),
        required=False,
        empty_label="— none —",
        help_text="The accepted settlement this pays, if any.",
    )
    receipt_to = forms.TypedChoiceField(
        label="Send a payment receipt to",
        coerce=int,
        required=False,
        empty_value=None,
        help_text="Optional: a receipt letter is generated for this party.",
    )
    # A random token made when the form is shown: a second submit of the same form (a double
    # click, a reload) carries the same key and posts nothing new.
    idempotency_key = forms.CharField(max_length=100, widget=forms.HiddenInput)

    def __init__(self, *args, case: Case, receipts: bool = False, **kwargs):
        kwargs.setdefault("auto_id", "deposit_%s")
        kwargs.setdefault(
            "initial",
            {"received_on": timezone.localdate(), "idempotency_key": new_idempotency_key()},
        )
        super().__init__(*args, **kwargs)
        self.fields["settlement"].queryset = Settlement.objects.filter(
            case=case, status=Settlement.Status.ACCEPTED
        )
        self.parties = {}
        if receipts:
            links = (
                CaseParty.objects.filter(case=case, is_active=True)
                .select_related("party")
                .order_by("role", "party__name")
            )
            self.parties = {link.party_id: link.party for link in links}
            self.fields["receipt_to"].choices = [("", "— no receipt —")] + [
                (link.party_id, f"{link.party.name} ({link.get_role_display()})") for link in links
            ]
        else:
            del self.fields["receipt_to"]

    def receipt_party(self):
        return self.parties.get(self.cleaned_data.get("receipt_to"))


class DisbursementForm(forms.Form):
    purpose = forms.ChoiceField(label="Purpose", choices=Disbursement.Purpose.choices)
    payee = forms.CharField(label="Payee", max_length=200)
    amount = money_field("Amount")
    note = forms.CharField(
        label="Note", max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, preview_url: str = "", **kwargs):
        kwargs.setdefault("auto_id", "disbursement_%s")
        super().__init__(*args, **kwargs)
        if preview_url:
            # htmx: a program recovery shows the state/federal split it would post.
            for name in ("purpose", "amount"):
                self.fields[name].widget.attrs.update(
                    {
                        "hx-get": preview_url,
                        "hx-trigger": "change, input changed delay:300ms",
                        "hx-include": "#disbursement_purpose, #disbursement_amount",
                        "hx-target": "#split-preview",
                        "aria-controls": "split-preview",
                    }
                )


class DecisionForm(forms.Form):
    note = forms.CharField(label="Note", max_length=500, required=False)


class ReverseForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=250)


class StatementForm(forms.Form):
    file = forms.FileField(
        label="Bank statement (CSV)",
        help_text=f"Columns date, amount, reference, description; at most {MAX_BYTES // (1024 * 1024)} MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(ALLOWED_EXTENSIONS)}),
    )


class RegisterFilterForm(forms.Form):
    status = forms.ChoiceField(
        label="Status", choices=[("", "Any")] + Disbursement.Status.choices, required=False
    )
    purpose = forms.ChoiceField(
        label="Purpose", choices=[("", "Any")] + Disbursement.Purpose.choices, required=False
    )
    date_from = forms.DateField(
        label="Requested from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="to", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def values(self) -> dict:
        if not self.is_valid():
            return {"status": "", "purpose": "", "date_from": None, "date_to": None}
        return self.cleaned_data


class DateRangeForm(forms.Form):
    date_from = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The range ends before it starts.")
        if start and end and (end - start).days > 3660:
            self.add_error("date_to", "At most ten years at a time.")
        return data
