"""Forms for the settlement screens: they parse what was typed; the services decide and write."""

from decimal import Decimal

from django import forms

from cases.forms import DateInput, Form, PartyChoiceField
from cases.models import Case, Party
from recovery.money import MAX_DIGITS

from . import calculator
from .models import FORMULA_CHOICES, BalanceAdjustment, NegotiationEntry


def money_field(label: str, *, required: bool = True, help_text: str = "", **attrs):
    return forms.DecimalField(
        label=label,
        required=required,
        max_digits=MAX_DIGITS,
        decimal_places=2,
        min_value=Decimal("0"),
        help_text=help_text,
        widget=forms.NumberInput(
            attrs={"step": "0.01", "min": "0", "inputmode": "decimal", **attrs}
        ),
    )


def _textarea(rows: int = 3) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


class NegotiationForm(Form):
    kind = forms.ChoiceField(label="What happened", choices=NegotiationEntry.Kind.choices)
    party = PartyChoiceField(
        label="With", queryset=Party.objects.none(), required=False, empty_label="—"
    )
    amount = money_field("Amount", required=False, help_text="The figure offered or reported.")
    occurred_on = forms.DateField(
        label="On", required=False, widget=DateInput, help_text="Empty means today."
    )
    channel = forms.ChoiceField(
        choices=NegotiationEntry.Channel.choices, initial=NegotiationEntry.Channel.PHONE
    )
    note = forms.CharField(label="Note", required=False, max_length=4000, widget=_textarea(2))

    def __init__(self, *args, case: Case, **kwargs):
        kwargs.setdefault("prefix", "entry")
        super().__init__(*args, **kwargs)
        self.fields["party"].queryset = (
            Party.objects.filter(case_links__case=case, case_links__is_active=True)
            .distinct()
            .order_by("name")
        )


class ProposeForm(Form):
    """The figures of a reported settlement and what the specialist agreed to."""

    gross_settlement = money_field("Gross settlement")
    attorney_fees = money_field("Attorney fees", required=False)
    costs = money_field("Costs", required=False, help_text="Procurement (taxable) costs.")
    full_value = money_field(
        "Full value of damages", required=False, help_text="For a pro-rata allocation."
    )
    allocation_ratio = forms.DecimalField(
        label="Allocation ratio",
        required=False,
        max_digits=7,
        decimal_places=6,
        min_value=Decimal("0"),
        max_value=Decimal("1"),
        help_text="0–1, stipulated or set by a court; replaces settlement ÷ full value.",
        widget=forms.NumberInput(attrs={"step": "any", "min": "0", "max": "1"}),
    )
    ordered_amount = money_field(
        "Ordered amount", required=False, help_text="Only with the “ordered” formula."
    )
    formula = forms.ChoiceField(label="Formula", choices=FORMULA_CHOICES)
    agreed_recovery = money_field(
        "Agreed recovery", required=False, help_text="Empty: the recovery the formula gives."
    )
    reduction_requested = forms.BooleanField(
        label="The attorney asked for a reduction", required=False
    )
    compromise_reason = forms.CharField(
        label="Compromise reason",
        required=False,
        max_length=4000,
        widget=_textarea(2),
        help_text="Needed when the agreed recovery is below the formula's.",
    )
    justification = forms.CharField(
        label="Justification for your supervisor",
        required=False,
        max_length=4000,
        widget=_textarea(3),
        help_text="Needed when the agreement is beyond your authority.",
    )

    FIGURES = ("gross_settlement", "attorney_fees", "costs", "full_value", "allocation_ratio")

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        default = case.jurisdiction.default_formula
        self.fields["formula"].initial = default
        self.fields["formula"].choices = [
            (code, f"{label} — default for {case.jurisdiction.name}" if code == default else label)
            for code, label in FORMULA_CHOICES
        ]
        self.fields["formula"].help_text = (
            f"{case.jurisdiction.name} applies {calculator.TITLES.get(default, default)} "
            "unless a case calls for another."
        )

    def figure_fields(self) -> list:
        """The fields that change what the formulas give (the live preview watches them)."""
        names = (*self.FIGURES, "ordered_amount", "formula", "agreed_recovery")
        return [self[name] for name in names]

    def figures(self) -> dict:
        """The service's keyword arguments for the settlement's figures."""
        data = self.cleaned_data
        return {
            "gross_settlement": data["gross_settlement"],
            "attorney_fees": data.get("attorney_fees") or Decimal("0.00"),
            "costs": data.get("costs") or Decimal("0.00"),
            "full_value": data.get("full_value"),
            "allocation_ratio": data.get("allocation_ratio"),
            "ordered_amount": data.get("ordered_amount"),
        }


class DecisionForm(Form):
    note = forms.CharField(label="Note", required=False, max_length=4000, widget=_textarea(2))


class RejectForm(Form):
    note = forms.CharField(
        label="Why reject it",
        max_length=4000,
        widget=_textarea(2),
        error_messages={"required": "Say why the settlement is rejected."},
    )


class InstallmentsForm(Form):
    installments = forms.IntegerField(
        label="Number of installments", min_value=2, max_value=120, initial=6
    )
    first_due_on = forms.DateField(label="First due on", widget=DateInput)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "plan")
        super().__init__(*args, **kwargs)


class PaymentForm(Form):
    amount = money_field("Amount received")


class AdjustmentForm(Form):
    kind = forms.ChoiceField(choices=BalanceAdjustment.Kind.choices)
    amount = money_field("Amount")
    reason_code = forms.ChoiceField(label="Reason", choices=BalanceAdjustment.Reason.choices)
    reason = forms.CharField(label="Explanation", max_length=4000, widget=_textarea(2))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "adj")
        super().__init__(*args, **kwargs)


class AdjustmentDecisionForm(Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    note = forms.CharField(label="Note", required=False, max_length=4000, widget=_textarea(2))

    @property
    def approve(self) -> bool:
        return self.cleaned_data["decision"] == "approve"
