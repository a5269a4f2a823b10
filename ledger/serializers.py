"""API shapes for the ledger. Input serializers validate what a caller sent; the services decide
and write; output serializers read. Amounts are decimal strings, never floats.

A case (or settlement, installment) the caller may not see is looked up among the visible ones
only, so it "does not exist": a 400 naming the field, exactly like a wrong id.
"""

from decimal import Decimal

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cases.selectors import cases_visible_to
from recovery.money import MAX_DIGITS
from settlements.models import Installment, Settlement

from .models import Deposit, Disbursement, Entry, Transaction


def money_field(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=MAX_DIGITS, decimal_places=2, coerce_to_string=True, **kwargs
    )


@extend_schema_field(OpenApiTypes.INT)
class VisibleCaseField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return cases_visible_to(self.context["request"].user)


@extend_schema_field(OpenApiTypes.INT)
class VisibleSettlementField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return Settlement.objects.filter(case__in=cases_visible_to(self.context["request"].user))


@extend_schema_field(OpenApiTypes.INT)
class VisibleInstallmentField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return Installment.objects.filter(
            arrangement__settlement__case__in=cases_visible_to(self.context["request"].user)
        ).select_related("arrangement__settlement")


# ---------------------------------------------------------------------------------------------
# Deposits
# ---------------------------------------------------------------------------------------------


class DepositInputSerializer(serializers.Serializer):
    case = VisibleCaseField()
    amount = money_field(min_value=Decimal("0.01"))
    received_on = serializers.DateField()
    payer = serializers.CharField(max_length=200)
    instrument = serializers.ChoiceField(choices=Deposit.Instrument.choices)
    reference = serializers.CharField(max_length=60)
    idempotency_key = serializers.CharField(max_length=100)
    settlement = VisibleSettlementField(required=False, allow_null=True)
    installment = VisibleInstallmentField(required=False, allow_null=True)


class DepositSerializer(serializers.ModelSerializer):
    amount = money_field()
    case_number = serializers.CharField(source="case.number", read_only=True)
    recorded_by = serializers.CharField(source="recorded_by.username", read_only=True)
    reversed = serializers.SerializerMethodField()

    class Meta:
        model = Deposit
        fields = [
            "id",
            "case",
            "case_number",
            "amount",
            "received_on",
            "payer",
            "instrument",
            "reference",
            "idempotency_key",
            "settlement",
            "installment",
            "transaction",
            "recorded_by",
            "recorded_at",
            "reversed",
            "reversed_at",
        ]
        read_only_fields = fields

    def get_reversed(self, deposit) -> bool:
        return deposit.reversed_at is not None


class DepositFilterSerializer(serializers.Serializer):
    case = serializers.IntegerField(required=False)
    received_from = serializers.DateField(required=False)
    received_to = serializers.DateField(required=False)

    def validate(self, data):
        start, end = data.get("received_from"), data.get("received_to")
        if start and end and start > end:
            raise serializers.ValidationError({"received_to": "Ends before it starts."})
        return data


# ---------------------------------------------------------------------------------------------
# Disbursements
# ---------------------------------------------------------------------------------------------


class DisbursementInputSerializer(serializers.Serializer):
    case = VisibleCaseField()
    amount = money_field(min_value=Decimal("0.01"))
    payee = serializers.CharField(max_length=200)
    purpose = serializers.ChoiceField(choices=Disbursement.Purpose.choices)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class DisbursementDecisionSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class DisbursementRejectSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=500)


class DisbursementSerializer(serializers.ModelSerializer):
    amount = money_field()
    state_share = money_field(allow_null=True)
    federal_share = money_field(allow_null=True)
    case_number = serializers.CharField(source="case.number", read_only=True)
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)
    decided_by = serializers.CharField(
        source="decided_by.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = Disbursement
        fields = [
            "id",
            "case",
            "case_number",
            "amount",
            "payee",
            "purpose",
            "note",
            "status",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "decision_note",
            "state_share",
            "federal_share",
            "transaction",
        ]
        read_only_fields = fields


class DisbursementFilterSerializer(serializers.Serializer):
    case = serializers.IntegerField(required=False)
    status = serializers.ChoiceField(choices=Disbursement.Status.choices, required=False)
    purpose = serializers.ChoiceField(choices=Disbursement.Purpose.choices, required=False)


# ---------------------------------------------------------------------------------------------
# Transactions
# ---------------------------------------------------------------------------------------------


class EntrySerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account.code", read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True)
    amount = money_field()
    side = serializers.SerializerMethodField()

    class Meta:
        model = Entry
        fields = ["id", "account", "account_name", "case", "amount", "side"]
        read_only_fields = fields

    def get_side(self, entry) -> str:
        return "debit" if entry.amount > 0 else "credit"


class TransactionSerializer(serializers.ModelSerializer):
    entries = EntrySerializer(many=True, read_only=True)
    case_number = serializers.CharField(
        source="case.number", read_only=True, allow_null=True, default=None
    )
    posted_by = serializers.CharField(source="posted_by.username", read_only=True)
    reversed_by = serializers.SerializerMethodField()

    class Meta:
        model = Transaction
        fields = [
            "id",
            "kind",
            "case",
            "case_number",
            "memo",
            "posted_on",
            "posted_at",
            "posted_by",
            "reverses",
            "reversed_by",
            "entries",
        ]
        read_only_fields = fields

    def get_reversed_by(self, txn) -> int | None:
        return getattr(txn, "reversal_id", None)


class TransactionFilterSerializer(serializers.Serializer):
    case = serializers.IntegerField(required=False)
    kind = serializers.ChoiceField(choices=Transaction.Kind.choices, required=False)
    posted_from = serializers.DateField(required=False)
    posted_to = serializers.DateField(required=False)


class TransactionReverseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=250)
