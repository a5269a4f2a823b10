"""Negotiation and settlement: what was offered, what the law lets the program recover, what was
agreed, and who approved it when it went beyond the specialist's authority."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from recovery.money import MoneyField

FORMULA_CHOICES = [
    ("full_lien", "Full lien (capped by the settlement)"),
    ("procurement_cost", "Procurement-cost reduction (42 CFR 411.37)"),
    ("pro_rata", "Pro-rata allocation (Ahlborn / Wos / Gallardo)"),
    ("statutory_half", "Statutory half of net"),
    ("fixed_percentage", "Fixed percentage of a small settlement"),
    ("ordered", "Court- or hearing-ordered amount"),
]


class NegotiationEntry(models.Model):
    class Kind(models.TextChoices):
        DEMAND = "demand", "Demand"
        OFFER = "offer", "Offer"
        COUNTER_OFFER = "counter_offer", "Counter-offer"
        REDUCTION_REQUEST = "reduction_request", "Reduction request"
        RESPONSE = "response", "Response"
        SETTLEMENT_REPORT = "settlement_report", "Settlement reported"

    class Channel(models.TextChoices):
        PHONE = "phone", "Phone"
        EMAIL = "email", "E-mail"
        LETTER = "letter", "Letter"
        FAX = "fax", "Fax"
        PORTAL = "portal", "Portal"
        MEETING = "meeting", "Meeting"

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="negotiation")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    party = models.ForeignKey(
        "cases.Party", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    amount = MoneyField(null=True, blank=True, validators=[MinValueValidator(Decimal("0"))])
    occurred_on = models.DateField(default=timezone.localdate)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.PHONE)
    note = models.TextField(blank=True, max_length=4000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-occurred_on", "-id"]
        verbose_name_plural = "negotiation entries"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount or ''} on {self.occurred_on}"


class Settlement(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting supervisor approval"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        SUPERSEDED = "superseded", "Superseded"

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="settlements")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    gross_settlement = MoneyField()
    attorney_fees = MoneyField(default=Decimal("0.00"))
    costs = MoneyField(default=Decimal("0.00"))
    full_value = MoneyField(null=True, blank=True)
    allocation_ratio = models.DecimalField(
        max_digits=7,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
    )
    # The lien (program payments) the proposal was measured against.
    program_paid = MoneyField()
    formula = models.CharField(max_length=20, choices=FORMULA_CHOICES)
    computed_recovery = MoneyField()
    calculation = models.JSONField(default=dict, help_text="Every step of the formula used.")
    agreed_recovery = MoneyField()
    reduction_amount = MoneyField(default=Decimal("0.00"))
    reduction_percent = models.DecimalField(max_digits=7, decimal_places=4, default=Decimal("0"))
    reduction_requested = models.BooleanField(
        default=False, help_text="The attorney asked for a reduction."
    )
    compromise_reason = models.TextField(blank=True, max_length=4000)
    justification = models.TextField(blank=True, max_length=4000)
    within_authority = models.BooleanField(default=False)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True, max_length=4000)
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="settlements_to_approve",
        help_text="Who is expected to decide; moves up a level when the approval escalates.",
    )
    escalated_at = models.DateTimeField(null=True, blank=True)
    funds_due_on = models.DateField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-proposed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(status__in=["pending", "accepted"]),
                name="one_live_settlement_per_case",
            ),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True)
                | ~Q(decided_by=models.F("proposed_by"))
                | Q(within_authority=True),
                name="settlement_not_self_approved",
            ),
            models.CheckConstraint(
                condition=Q(agreed_recovery__gte=0), name="settlement_agreed_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(attorney_fees__gte=0) & Q(costs__gte=0) & Q(gross_settlement__gte=0),
                name="settlement_amounts_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["status", "proposed_at"])]

    def __str__(self) -> str:
        return f"Settlement of {self.case} ({self.get_status_display()})"


class PaymentArrangement(models.Model):
    """An agreed recovery paid in installments."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Paid in full"
        DEFAULTED = "defaulted", "Defaulted"
        CANCELLED = "cancelled", "Cancelled"

    settlement = models.OneToOneField(
        Settlement, on_delete=models.CASCADE, related_name="arrangement"
    )
    total = MoneyField()
    installments_count = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(2), MaxValueValidator(120)]
    )
    first_due_on = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"{self.installments_count} installments for {self.settlement.case}"


class Installment(models.Model):
    class Status(models.TextChoices):
        DUE = "due", "Due"
        PAID = "paid", "Paid"
        PARTIAL = "partial", "Partly paid"
        MISSED = "missed", "Missed"

    arrangement = models.ForeignKey(
        PaymentArrangement, on_delete=models.CASCADE, related_name="installments"
    )
    number = models.PositiveSmallIntegerField()
    due_on = models.DateField()
    amount = MoneyField()
    received = MoneyField(default=Decimal("0.00"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DUE)
    history = HistoricalRecords()

    class Meta:
        ordering = ["arrangement", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["arrangement", "number"], name="installment_number_unique"
            )
        ]

    def __str__(self) -> str:
        return (
            f"Installment {self.number} of {self.arrangement_id}: {self.amount} due {self.due_on}"
        )


class BalanceAdjustment(models.Model):
    """Waiver, compromise or write-off of what remains owed, approved by a supervisor."""

    class Kind(models.TextChoices):
        WAIVER = "waiver", "Waiver (hardship)"
        COMPROMISE = "compromise", "Compromise"
        WRITE_OFF = "write_off", "Write-off (uncollectible)"

    class Reason(models.TextChoices):
        HARDSHIP = "hardship", "Member hardship"
        POLICY_LIMITS = "policy_limits", "Limited insurance / policy limits"
        LITIGATION_RISK = "litigation_risk", "Litigation risk"
        COST_EFFECTIVE = "cost_effective", "Not cost-effective to pursue"
        NO_ASSETS = "no_assets", "No collectible assets"
        DECEASED = "deceased", "Member deceased, no estate"
        SOL_EXPIRED = "sol_expired", "Statute of limitations expired"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        REQUESTED = "requested", "Awaiting approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="adjustments")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    amount = MoneyField(validators=[MinValueValidator(Decimal("0.01"))])
    reason_code = models.CharField(max_length=20, choices=Reason.choices)
    reason = models.TextField(max_length=4000)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True, max_length=4000)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("requested_by")),
                name="adjustment_not_self_decided",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.amount} on {self.case}"
