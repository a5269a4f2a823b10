"""Settlement API shapes: the calculator's input and its answer (DESIGN §6, fixed), and the
negotiation log, settlements, installments and balance adjustments. Inputs are plain
serializers that a service consumes; outputs are model serializers. Decimals are strings."""

from rest_framework import serializers

from cases.serializers import UserRefSerializer
from recovery.money import MAX_DIGITS, ZERO

from . import calculator
from .models import (
    FORMULA_CHOICES,
    BalanceAdjustment,
    Installment,
    NegotiationEntry,
    PaymentArrangement,
    Settlement,
)


def _money(**kwargs) -> serializers.DecimalField:
    # A JSON number arrives as a float; DRF reads it through its shortest repr, so 1234.567
    # still has three decimal places here and is refused rather than rounded.
    return serializers.DecimalField(max_digits=MAX_DIGITS, decimal_places=2, **kwargs)


def _optional_money(help_text: str) -> serializers.DecimalField:
    return _money(required=False, allow_null=True, help_text=help_text)


class SettlementCalculationInputSerializer(serializers.Serializer):
    gross_settlement = _money(help_text="Gross settlement or judgment.")
    attorney_fees = _money(help_text="The member's attorney fees.")
    costs = _money(help_text="Costs of procuring the settlement (taxable costs).")
    program_paid = _money(help_text="What the program paid: the lien amount.")
    full_value = _optional_money("Full value of the member's damages (pro-rata allocation).")
    allocation_ratio = serializers.DecimalField(
        max_digits=11,
        decimal_places=10,
        required=False,
        allow_null=True,
        help_text="A medical-expense ratio (0–1) the parties stipulated or a court set; "
        "used instead of settlement ÷ full value.",
    )
    formula = serializers.ChoiceField(
        choices=FORMULA_CHOICES,
        required=False,
        allow_null=True,
        help_text="Only this formula; every formula that applies when omitted.",
    )
    fixed_percentage = serializers.DecimalField(
        max_digits=7,
        decimal_places=6,
        required=False,
        allow_null=True,
        help_text="A fixed share of small settlements (0–1, e.g. 0.25), where offered.",
    )
    fixed_threshold = _optional_money(
        "Largest settlement the fixed percentage applies to; $10,000.00 when omitted."
    )
    ordered_amount = _optional_money("An amount a court or hearing ordered: overrides formulas.")

    def validate(self, attrs):
        formula = attrs.pop("formula", None)
        inputs = calculator.Inputs(**attrs)
        errors = calculator.validate(inputs, formula)
        if errors:
            raise serializers.ValidationError(errors)
        return {"inputs": inputs, "formula": formula}


class SettlementStepSerializer(serializers.Serializer):
    label = serializers.CharField()
    amount = _money(allow_null=True)
    formula = serializers.CharField(help_text="The arithmetic, written out.")
    citation = serializers.CharField(help_text="The rule the step applies.")


class SettlementResultSerializer(serializers.Serializer):
    recovery_amount = _money()
    steps = SettlementStepSerializer(many=True)


class SettlementCalculationSerializer(serializers.Serializer):
    results = serializers.DictField(
        child=SettlementResultSerializer(), help_text="Keyed by formula code, in a fixed order."
    )


# ---------------------------------------------------------------------------------------------
# Negotiation log
# ---------------------------------------------------------------------------------------------


class NegotiationEntrySerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", default=None, read_only=True)
    party_name = serializers.CharField(source="party.name", default=None, read_only=True)

    class Meta:
        model = NegotiationEntry
        fields = [
            "id",
            "case",
            "kind",
            "party",
            "party_name",
            "amount",
            "occurred_on",
            "channel",
            "note",
            "created_by",
            "created_at",
        ]


class NegotiationInputSerializer(serializers.Serializer):
    case = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=NegotiationEntry.Kind.choices)
    party = serializers.IntegerField(required=False, allow_null=True)
    amount = _optional_money("The figure offered, demanded or reported.")
    occurred_on = serializers.DateField(required=False, allow_null=True)
    channel = serializers.ChoiceField(
        choices=NegotiationEntry.Channel.choices, default=NegotiationEntry.Channel.PHONE
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")


# ---------------------------------------------------------------------------------------------
# Settlements
# ---------------------------------------------------------------------------------------------


class InstallmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Installment
        fields = ["id", "number", "due_on", "amount", "received", "status"]


class ArrangementSerializer(serializers.ModelSerializer):
    installments = InstallmentSerializer(many=True, read_only=True)

    class Meta:
        model = PaymentArrangement
        fields = [
            "id",
            "settlement",
            "total",
            "installments_count",
            "first_due_on",
            "status",
            "installments",
        ]


class SettlementSerializer(serializers.ModelSerializer):
    proposed_by = UserRefSerializer(read_only=True)
    decided_by = UserRefSerializer(read_only=True)
    approver = UserRefSerializer(read_only=True)
    case_number = serializers.CharField(source="case.number", read_only=True)

    class Meta:
        model = Settlement
        fields = [
            "id",
            "case",
            "case_number",
            "status",
            "gross_settlement",
            "attorney_fees",
            "costs",
            "full_value",
            "allocation_ratio",
            "program_paid",
            "formula",
            "computed_recovery",
            "calculation",
            "agreed_recovery",
            "reduction_amount",
            "reduction_percent",
            "reduction_requested",
            "compromise_reason",
            "justification",
            "within_authority",
            "proposed_by",
            "proposed_at",
            "approver",
            "escalated_at",
            "decided_by",
            "decided_at",
            "decision_note",
            "funds_due_on",
        ]


class ProposeInputSerializer(serializers.Serializer):
    case = serializers.IntegerField()
    gross_settlement = _money(help_text="Gross settlement or judgment.")
    attorney_fees = _money(required=False, default=ZERO, help_text="The member's attorney fees.")
    costs = _money(required=False, default=ZERO, help_text="Procurement (taxable) costs.")
    full_value = _optional_money("Full value of damages (pro-rata allocation).")
    allocation_ratio = serializers.DecimalField(
        max_digits=7,
        decimal_places=6,
        required=False,
        allow_null=True,
        help_text="A stipulated or court-set medical ratio (0–1).",
    )
    ordered_amount = _optional_money("An amount a court or hearing ordered (formula `ordered`).")
    formula = serializers.ChoiceField(
        choices=FORMULA_CHOICES,
        required=False,
        allow_null=True,
        help_text="The jurisdiction's default formula when omitted.",
    )
    agreed_recovery = _optional_money("The recovery agreed; the formula's when omitted.")
    reduction_requested = serializers.BooleanField(required=False, default=False)
    compromise_reason = serializers.CharField(
        required=False, allow_blank=True, max_length=4000, default=""
    )
    justification = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=4000,
        default="",
        help_text="Required when the agreement is beyond the proposer's authority.",
    )


class DecisionInputSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")


class RejectInputSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=4000, help_text="Why the settlement is rejected.")


class InstallmentsInputSerializer(serializers.Serializer):
    installments = serializers.IntegerField(min_value=2, max_value=120)
    first_due_on = serializers.DateField()


class PaymentInputSerializer(serializers.Serializer):
    amount = _money(help_text="The amount received for this installment.")


# ---------------------------------------------------------------------------------------------
# Balance adjustments
# ---------------------------------------------------------------------------------------------


class AdjustmentSerializer(serializers.ModelSerializer):
    requested_by = UserRefSerializer(read_only=True)
    decided_by = UserRefSerializer(read_only=True)

    class Meta:
        model = BalanceAdjustment
        fields = [
            "id",
            "case",
            "kind",
            "amount",
            "reason_code",
            "reason",
            "status",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "decision_note",
        ]


class AdjustmentInputSerializer(serializers.Serializer):
    case = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=BalanceAdjustment.Kind.choices)
    amount = _money()
    reason_code = serializers.ChoiceField(choices=BalanceAdjustment.Reason.choices)
    reason = serializers.CharField(max_length=4000)


class AdjustmentDecisionInputSerializer(serializers.Serializer):
    approve = serializers.BooleanField()
    note = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")
