"""API shapes for cases. Input serializers validate; services write; output serializers read."""

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from recovery.core.models import Role, User

from .models import (
    Activity,
    Case,
    CaseClaim,
    CaseParty,
    ClaimLine,
    Deadline,
    EligibilitySpan,
    IncidentKind,
    Jurisdiction,
    Member,
    Party,
)


class UserRefSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="get_full_name")

    class Meta:
        model = User
        fields = ["id", "username", "name"]


class EligibilitySpanSerializer(serializers.ModelSerializer):
    class Meta:
        model = EligibilitySpan
        fields = ["id", "start", "end", "program"]


class MemberSerializer(serializers.ModelSerializer):
    """A member with PHI; every read through the API is written to the PHI access log."""

    eligibility = EligibilitySpanSerializer(many=True, read_only=True)
    date_of_birth = serializers.DateField(required=False, allow_null=True, source="dob")
    ssn = serializers.RegexField(
        r"^\d{3}-?\d{2}-?\d{4}$", required=False, allow_blank=True, write_only=True
    )
    ssn_last4 = serializers.SerializerMethodField()

    class Meta:
        model = Member
        fields = [
            "id",
            "program_id",
            "ssn",
            "ssn_last4",
            "first_name",
            "middle_name",
            "last_name",
            "date_of_birth",
            "address_line1",
            "address_line2",
            "city",
            "state",
            "postal_code",
            "phone",
            "eligibility",
        ]
        # The encrypted columns have no length of their own: the API bounds what it accepts.
        extra_kwargs = {
            "program_id": {"max_length": 30},
            "address_line1": {"max_length": 120},
            "address_line2": {"max_length": 120},
            "phone": {"max_length": 30},
        }

    def get_ssn_last4(self, member) -> str:
        return member.ssn[-4:] if member.ssn else ""

    def create(self, validated_data):
        from .services import save_member

        return save_member(member=None, saved_by=self.context["request"].user, **validated_data)

    def update(self, instance, validated_data):
        from .services import save_member

        return save_member(member=instance, saved_by=self.context["request"].user, **validated_data)


class PartySerializer(serializers.ModelSerializer):
    class Meta:
        model = Party
        fields = [
            "id",
            "kind",
            "name",
            "firm",
            "bar_number",
            "naic_code",
            "contact_name",
            "email",
            "phone",
            "fax",
            "address_line1",
            "address_line2",
            "city",
            "state",
            "postal_code",
            "notes",
            "is_active",
        ]


class JurisdictionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Jurisdiction
        fields = ["code", "name", "default_sol_years", "response_days"]


class CaseOutputSerializer(serializers.ModelSerializer):
    member_name = serializers.CharField(source="member.full_name", read_only=True)
    jurisdiction = serializers.CharField(source="jurisdiction.code", read_only=True)
    assigned_to = UserRefSerializer(read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    held_balance = serializers.SerializerMethodField()

    class Meta:
        model = Case
        fields = [
            "id",
            "number",
            "member",
            "member_name",
            "incident_date",
            "incident_kind",
            "incident_description",
            "jurisdiction",
            "source",
            "status",
            "status_display",
            "priority",
            "assigned_to",
            "assigned_at",
            "sol_date",
            "outcome",
            "lien_amount",
            "held_balance",
            "opened_at",
            "closed_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.DecimalField(max_digits=14, decimal_places=2))
    def get_held_balance(self, case) -> str:
        """Funds held for the case in the holding account."""
        balance = getattr(case, "balance", None)
        return f"{balance.held if balance is not None else Decimal('0.00'):.2f}"


class CaseCreateSerializer(serializers.Serializer):
    member = serializers.PrimaryKeyRelatedField(queryset=Member.objects.all())
    incident_date = serializers.DateField()
    incident_kind = serializers.ChoiceField(choices=IncidentKind.choices)
    jurisdiction = serializers.SlugRelatedField(
        slug_field="code", queryset=Jurisdiction.objects.filter(is_active=True)
    )
    source = serializers.ChoiceField(choices=Case.Source.choices)
    incident_description = serializers.CharField(
        required=False, allow_blank=True, max_length=4000, default=""
    )
    priority = serializers.ChoiceField(
        choices=Case.Priority.choices, required=False, default=Case.Priority.NORMAL
    )
    assigned_to = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True, role__in=[Role.SPECIALIST, Role.SUPERVISOR]),
        required=False,
        allow_null=True,
    )
    sol_date = serializers.DateField(required=False, allow_null=True)
    acknowledge_duplicates = serializers.BooleanField(required=False, default=False)


class CaseUpdateSerializer(serializers.Serializer):
    incident_date = serializers.DateField(required=False)
    incident_kind = serializers.ChoiceField(choices=IncidentKind.choices, required=False)
    incident_description = serializers.CharField(required=False, allow_blank=True, max_length=4000)
    jurisdiction = serializers.SlugRelatedField(
        slug_field="code", queryset=Jurisdiction.objects.filter(is_active=True), required=False
    )
    priority = serializers.ChoiceField(choices=Case.Priority.choices, required=False)
    sol_date = serializers.DateField(required=False, allow_null=True)
    source = serializers.ChoiceField(choices=Case.Source.choices, required=False)


class StatusInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Case.Status.choices)
    outcome = serializers.ChoiceField(
        choices=Case.Outcome.choices, required=False, allow_blank=True, default=""
    )


class AssignInputSerializer(serializers.Serializer):
    assignee = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")


class NoteInputSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=1000)


class ClaimLineSerializer(serializers.ModelSerializer):
    diagnosis_codes = serializers.ListField(
        source="diagnosis_list", child=serializers.CharField(), read_only=True
    )

    class Meta:
        model = ClaimLine
        fields = [
            "id",
            "member",
            "claim_number",
            "line_number",
            "payer_claim_number",
            "provider_npi",
            "provider_name",
            "service_from",
            "service_to",
            "procedure_code",
            "modifiers",
            "diagnosis_codes",
            "code_set",
            "billed_amount",
            "allowed_amount",
            "paid_amount",
            "paid_date",
            "accident_indicator",
            "accident_state",
            "accident_date",
            "occurrence_codes",
            "value_codes",
            "fmap_rate",
            "screening_decision",
            "screening_rule",
            "screening_reason",
            "source",
        ]
        read_only_fields = fields


class CaseClaimSerializer(serializers.ModelSerializer):
    claim_line = ClaimLineSerializer(read_only=True)
    decided_by = serializers.CharField(source="decided_by.username", default=None, read_only=True)

    class Meta:
        model = CaseClaim
        fields = [
            "id",
            "claim_line",
            "included",
            "needs_review",
            "basis",
            "reason",
            "late_arriving",
            "decided_by",
            "decided_at",
        ]
        read_only_fields = fields


class DecideInputSerializer(serializers.Serializer):
    included = serializers.BooleanField()
    reason = serializers.CharField(max_length=500)


class CasePartySerializer(serializers.ModelSerializer):
    party = serializers.PrimaryKeyRelatedField(queryset=Party.objects.filter(is_active=True))
    party_name = serializers.CharField(source="party.name", read_only=True)

    class Meta:
        model = CaseParty
        fields = [
            "id",
            "party",
            "party_name",
            "role",
            "claim_number",
            "policy_number",
            "policy_limits",
            "adjuster_name",
            "adjuster_phone",
            "adjuster_email",
            "is_active",
            "added_at",
        ]
        read_only_fields = ["id", "party_name", "is_active", "added_at"]


class ActivitySerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", default=None, read_only=True)
    party = serializers.PrimaryKeyRelatedField(
        queryset=Party.objects.all(), required=False, allow_null=True
    )
    follow_up_on = serializers.DateField(required=False, allow_null=True, write_only=True)

    class Meta:
        model = Activity
        fields = [
            "id",
            "kind",
            "direction",
            "party",
            "occurred_at",
            "subject",
            "outcome",
            "body",
            "follow_up_on",
            "created_by",
            "created_at",
        ]
        read_only_fields = ["id", "created_by", "created_at"]
        extra_kwargs = {"occurred_at": {"required": False}}


class DeadlineSerializer(serializers.ModelSerializer):
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )

    class Meta:
        model = Deadline
        fields = ["id", "kind", "title", "due_date", "owner", "done_at", "done_by", "created_at"]
        read_only_fields = ["id", "done_at", "done_by", "created_at"]
