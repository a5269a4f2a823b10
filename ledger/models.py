"""The holding-account ledger: double entry, immutable, one lockable balance row per case.

Sign convention: an entry's amount is positive for a debit and negative for a credit, so every
transaction's entries sum to zero. Entries and transactions are never updated or deleted — the
database refuses it (see migration 0002) — and a correction is a reversing transaction.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from recovery.money import MoneyField


class Account(models.Model):
    class Code(models.TextChoices):
        HOLDING_CASH = "1000", "Holding account cash"
        FUNDS_HELD = "2000", "Funds held for cases"
        FEDERAL_SHARE_PAYABLE = "2100", "Federal share payable (CMS-64.9A)"
        MCO_PAYABLE = "2200", "Managed-care plan payable"
        REFUNDS_PAYABLE = "2300", "Refunds payable"
        STATE_SHARE = "4000", "Program recovery – state share"

    class Type(models.TextChoices):
        ASSET = "asset", "Asset"
        LIABILITY = "liability", "Liability"
        REVENUE = "revenue", "Revenue"

    code = models.CharField(max_length=10, unique=True, choices=Code.choices)
    name = models.CharField(max_length=100)
    type = models.CharField(max_length=10, choices=Type.choices)
    # The code this account has in the agency's accounting system (general-ledger export).
    external_code = models.CharField(max_length=40, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Transaction(models.Model):
    class Kind(models.TextChoices):
        DEPOSIT = "deposit", "Deposit"
        DISBURSEMENT = "disbursement", "Disbursement"
        PAYOUT = "payout", "Payout of a payable"
        REVERSAL = "reversal", "Reversal"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    memo = models.CharField(max_length=300)
    posted_on = models.DateField(default=timezone.localdate, db_index=True)
    posted_at = models.DateTimeField(default=timezone.now)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )

    class Meta:
        ordering = ["-posted_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} {self.posted_on}"


class Entry(models.Model):
    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="entries")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    amount = MoneyField(help_text="Debit positive, credit negative.")

    class Meta:
        ordering = ["transaction", "id"]
        verbose_name_plural = "entries"
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="entry_amount_not_zero")]
        indexes = [
            # Covering index: the trial balance is an index-only scan.
            models.Index(fields=["account", "amount"], name="entry_account_amount_idx"),
            models.Index(fields=["case", "account"], name="entry_case_account_idx"),
        ]

    def __str__(self) -> str:
        side = "Dr" if self.amount > 0 else "Cr"
        return f"{side} {self.account.code} {abs(self.amount)}"


class CaseBalance(models.Model):
    """Funds held for one case; the row is locked while money moves so it never goes below
    zero, also under concurrent requests (and a CHECK constraint backs that up)."""

    case = models.OneToOneField(
        "cases.Case", primary_key=True, on_delete=models.PROTECT, related_name="balance"
    )
    held = MoneyField(default=Decimal("0.00"))
    received = MoneyField(default=Decimal("0.00"))
    disbursed = MoneyField(default=Decimal("0.00"))
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(held__gte=0), name="case_balance_not_negative")
        ]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.held}"


class Deposit(models.Model):
    class Instrument(models.TextChoices):
        CHECK = "check", "Check"
        EFT = "eft", "EFT"
        ACH = "ach", "ACH"
        WIRE = "wire", "Wire"
        MONEY_ORDER = "money_order", "Money order"

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="deposits")
    amount = MoneyField(validators=[MinValueValidator(Decimal("0.01"))])
    received_on = models.DateField()
    payer = models.CharField(max_length=200)
    instrument = models.CharField(max_length=12, choices=Instrument.choices)
    reference = models.CharField(
        max_length=60, help_text="Check number, trace or confirmation number."
    )
    idempotency_key = models.CharField(max_length=100, unique=True)
    settlement = models.ForeignKey(
        "settlements.Settlement",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deposits",
    )
    installment = models.ForeignKey(
        "settlements.Installment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deposits",
    )
    transaction = models.OneToOneField(
        Transaction, on_delete=models.PROTECT, related_name="deposit"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    reversed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_on", "-id"]
        indexes = [models.Index(fields=["received_on"]), models.Index(fields=["reference"])]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="deposit_amount_positive")
        ]

    def __str__(self) -> str:
        return f"Deposit {self.amount} on {self.case_id} ({self.reference})"


class Disbursement(models.Model):
    class Purpose(models.TextChoices):
        PROGRAM_RECOVERY = "program_recovery", "Program recovery (state and federal share)"
        MCO_SHARE = "mco_share", "Managed-care plan share"
        ATTORNEY_REFUND = "attorney_refund", "Refund to attorney"
        MEMBER_REFUND = "member_refund", "Refund to member"

    class Status(models.TextChoices):
        REQUESTED = "requested", "Awaiting approval"
        APPROVED = "approved", "Approved and posted"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="disbursements")
    amount = MoneyField(validators=[MinValueValidator(Decimal("0.01"))])
    payee = models.CharField(max_length=200)
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    note = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)
    state_share = MoneyField(null=True, blank=True)
    federal_share = MoneyField(null=True, blank=True)
    transaction = models.OneToOneField(
        Transaction, null=True, blank=True, on_delete=models.PROTECT, related_name="disbursement"
    )
    reversed_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="disbursement_amount_positive"),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("requested_by")),
                name="disbursement_not_self_decided",
            ),
        ]
        indexes = [models.Index(fields=["status", "requested_at"])]

    def __str__(self) -> str:
        return f"Disbursement {self.amount} from {self.case_id} ({self.get_status_display()})"


class BankStatement(models.Model):
    """An imported bank statement (CSV) of the holding account, for reconciliation."""

    filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, unique=True)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-imported_at", "-id"]

    def __str__(self) -> str:
        return self.filename


class BankLine(models.Model):
    class Match(models.TextChoices):
        UNMATCHED = "unmatched", "Unmatched"
        MATCHED = "matched", "Matched"
        VARIANCE = "variance", "Matched with a variance"
        IGNORED = "ignored", "Not a deposit"

    statement = models.ForeignKey(BankStatement, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveIntegerField()
    posted_on = models.DateField()
    amount = MoneyField()
    reference = models.CharField(max_length=100, blank=True)
    description = models.CharField(max_length=300, blank=True)
    match = models.CharField(max_length=10, choices=Match.choices, default=Match.UNMATCHED)
    deposit = models.OneToOneField(
        Deposit, null=True, blank=True, on_delete=models.SET_NULL, related_name="bank_line"
    )
    variance = MoneyField(default=Decimal("0.00"))

    class Meta:
        ordering = ["statement", "line_number"]

    def __str__(self) -> str:
        return f"{self.posted_on} {self.amount} {self.reference}"
