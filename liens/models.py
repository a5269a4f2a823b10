"""Liens: the program's claim on a settlement, from draft to release, with every amendment and
release requested by a specialist and approved by a supervisor who is not the requester."""

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from recovery.money import MoneyField


class Lien(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        FILED = "filed", "Filed"
        AMENDED = "amended", "Amended"
        PARTIALLY_RELEASED = "partially_released", "Partially released"
        RELEASED = "released", "Released"
        SATISFIED = "satisfied", "Satisfied"
        WITHDRAWN = "withdrawn", "Withdrawn"

    ACTIVE = frozenset({Status.FILED, Status.AMENDED, Status.PARTIALLY_RELEASED})
    CLOSED = frozenset({Status.RELEASED, Status.SATISFIED, Status.WITHDRAWN})
    TRANSITIONS: dict[str, set[str]] = {
        Status.DRAFT: {Status.FILED, Status.WITHDRAWN},
        Status.FILED: {
            Status.AMENDED,
            Status.PARTIALLY_RELEASED,
            Status.RELEASED,
            Status.SATISFIED,
            Status.WITHDRAWN,
        },
        Status.AMENDED: {
            Status.AMENDED,
            Status.PARTIALLY_RELEASED,
            Status.RELEASED,
            Status.SATISFIED,
            Status.WITHDRAWN,
        },
        Status.PARTIALLY_RELEASED: {
            Status.AMENDED,
            Status.PARTIALLY_RELEASED,
            Status.RELEASED,
            Status.SATISFIED,
        },
        Status.RELEASED: set(),
        Status.SATISFIED: set(),
        Status.WITHDRAWN: set(),
    }

    class FiledWith(models.TextChoices):
        ATTORNEY = "attorney", "Member's attorney"
        INSURER = "insurer", "Liability insurer"
        COURT = "court", "Court clerk"
        OTHER = "other", "Other"

    class Method(models.TextChoices):
        EMAIL = "email", "E-mail"
        CERTIFIED_MAIL = "certified_mail", "Certified mail"
        FIRST_CLASS = "first_class", "First-class mail"
        FAX = "fax", "Fax"
        EFILING = "efiling", "Court e-filing"
        HAND = "hand", "Hand delivery"

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="liens")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    # The lien amount as filed, then as last amended; released amounts are kept apart.
    amount = MoneyField(default=Decimal("0.00"))
    original_amount = MoneyField(null=True, blank=True)
    released_amount = MoneyField(default=Decimal("0.00"))
    filed_with = models.ForeignKey(
        "cases.Party", null=True, blank=True, on_delete=models.PROTECT, related_name="liens_filed"
    )
    filed_with_kind = models.CharField(max_length=10, choices=FiledWith.choices, blank=True)
    filed_on = models.DateField(null=True, blank=True)
    method = models.CharField(max_length=20, choices=Method.choices, blank=True)
    certified_mail_number = models.CharField(max_length=40, blank=True)
    court_case_number = models.CharField(max_length=60, blank=True)
    receipt_signed_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True, help_text="Renewal due by this date.")
    released_on = models.DateField(null=True, blank=True)
    release_sent_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # At most one lien per case is open (draft or active) at a time.
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(status__in=["draft", "filed", "amended", "partially_released"]),
                name="one_open_lien_per_case",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="lien_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(released_amount__gte=0), name="lien_released_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"Lien on {self.case} ({self.get_status_display()})"

    def can_move_to(self, status: str) -> bool:
        return status in self.TRANSITIONS.get(self.status, set())

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def outstanding(self) -> Decimal:
        return max(self.amount - self.released_amount, Decimal("0.00"))

    def amount_as_of(self, day: date) -> Decimal | None:
        """The lien amount in force at the end of `day`: None before it was filed."""
        if self.filed_on is None or day < self.filed_on:
            return None
        changes = [
            change
            for change in self.changes.all()
            if change.status == LienChange.Status.APPROVED
            and change.decided_at is not None
            and timezone.localdate(change.decided_at) <= day
        ]
        amount = self.original_amount or Decimal("0.00")
        released = Decimal("0.00")
        for change in sorted(changes, key=lambda c: (c.decided_at, c.pk)):
            if change.kind == LienChange.Kind.AMEND:
                amount = change.new_amount
            elif change.kind == LienChange.Kind.RELEASE:
                released += change.release_amount or Decimal("0.00")
        return max(amount - released, Decimal("0.00"))


class LienFilingLine(models.Model):
    """The itemized claim lines a filing (or amendment) was based on, copied at that moment."""

    lien = models.ForeignKey(Lien, on_delete=models.CASCADE, related_name="filing_lines")
    change = models.ForeignKey(
        "LienChange", null=True, blank=True, on_delete=models.CASCADE, related_name="filing_lines"
    )
    claim_line = models.ForeignKey("cases.ClaimLine", on_delete=models.PROTECT, related_name="+")
    claim_number = models.CharField(max_length=50)
    line_number = models.PositiveIntegerField()
    service_from = models.DateField()
    service_to = models.DateField(null=True, blank=True)
    provider_name = models.CharField(max_length=120, blank=True)
    procedure_code = models.CharField(max_length=10, blank=True)
    diagnosis_codes = models.CharField(max_length=200, blank=True)
    paid_amount = MoneyField()
    paid_date = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["service_from", "claim_number", "line_number"]

    def __str__(self) -> str:
        return f"{self.claim_number}-{self.line_number} {self.paid_amount}"


class LienChange(models.Model):
    """A request to amend, release (partly or fully) or withdraw a lien, and its decision."""

    class Kind(models.TextChoices):
        AMEND = "amend", "Amendment"
        RELEASE = "release", "Release"
        WITHDRAW = "withdraw", "Withdrawal"

    class Status(models.TextChoices):
        REQUESTED = "requested", "Awaiting approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"

    lien = models.ForeignKey(Lien, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    old_amount = MoneyField()
    new_amount = MoneyField(null=True, blank=True)
    release_amount = MoneyField(null=True, blank=True)
    full_release = models.BooleanField(default=False)
    reason = models.TextField(max_length=2000)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True, max_length=2000)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["lien"], condition=Q(status="requested"), name="one_pending_change_per_lien"
            ),
            # The database refuses a self-approval even if a code path forgot to check.
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("requested_by")),
                name="lien_change_not_self_decided",
            ),
        ]
        indexes = [models.Index(fields=["status", "requested_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.lien} ({self.get_status_display()})"


class LetterBatch(models.Model):
    """One kind of letter generated for many cases at once, with progress; cancellable."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Generating"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=20)
    recipient_role = models.CharField(max_length=20, blank=True)
    criteria = models.JSONField(default=dict, blank=True)
    description = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "letter batches"

    def __str__(self) -> str:
        return f"{self.kind} batch of {self.total} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.status == self.Status.DONE else 0
        return int((self.done + self.failed + self.skipped) * 100 / self.total)


class LetterBatchItem(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        DONE = "done", "Generated"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    batch = models.ForeignKey(LetterBatch, on_delete=models.CASCADE, related_name="items")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    recipient = models.ForeignKey(
        "cases.Party", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    document = models.ForeignKey(
        "cases.Document", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    message = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["batch", "id"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "case"], name="one_item_per_case_per_batch")
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}/{self.case_id} {self.status}"
