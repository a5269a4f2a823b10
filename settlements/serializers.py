"""Settlement API shapes: the calculator's input and its answer (DESIGN §6, fixed)."""

from rest_framework import serializers

from recovery.money import MAX_DIGITS

from . import calculator


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
        choices=calculator.FORMULAS,
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
