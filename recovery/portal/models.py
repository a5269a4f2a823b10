"""The attorney portal: invitations to it, attorneys' disputes of claim lines and their
referrals of new cases."""

import hashlib
import secrets
from datetime import date, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from cases.models import US_STATES, IncidentKind
from recovery.crypto import EncryptedTextField, keyed_hash

INVITATION_DAYS = 7


def default_expiry():
    return timezone.now() + timedelta(days=INVITATION_DAYS)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Invitation(models.Model):
    """A one-time link for an attorney to open a portal account for a firm.

    Only the SHA-256 of the token is stored; the token itself exists only in the e-mail."""

    email = models.EmailField()
    party = models.ForeignKey(
        "cases.Party", on_delete=models.PROTECT, related_name="portal_invitations"
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(default=default_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="portal_invitations",
    )
    history = HistoricalRecords(excluded_fields=["token_hash"])

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Invitation for {self.email} ({self.party})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_usable(self) -> bool:
        return self.accepted_at is None and not self.is_expired


class Dispute(models.Model):
    """An attorney's objection to included claim lines (e.g. unrelated to the accident)."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        UPHELD = "upheld", "Upheld"
        DENIED = "denied", "Denied"

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="disputes")
    lines = models.ManyToManyField("cases.CaseClaim", related_name="disputes")
    reason = models.CharField(max_length=500)
    document = models.ForeignKey(
        "cases.Document", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    party = models.ForeignKey(
        "cases.Party", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_reason = models.CharField(max_length=500, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-submitted_at", "-id"]
        indexes = [models.Index(fields=["status", "submitted_at"])]

    def __str__(self) -> str:
        return f"Dispute on {self.case_id} ({self.get_status_display()})"


def referral_path(instance: "Referral", filename: str) -> str:
    # Stored names never carry the uploaded name (it may hold PHI or path tricks).
    return f"referrals/{timezone.now():%Y%m}/{secrets.token_hex(16)}"


class Referral(models.Model):
    """A new case an attorney refers from the portal; staff open a case from it or decline it.

    The client's date of birth and program id are PHI and encrypted at rest; the program id is
    matched to members through its keyed hash."""

    class Status(models.TextChoices):
        NEW = "new", "New"
        CONVERTED = "converted", "Converted to a case"
        DECLINED = "declined", "Declined"

    client_name = models.CharField(max_length=120)
    client_date_of_birth = EncryptedTextField()  # ISO date, encrypted
    program_id = EncryptedTextField(blank=True, default="")
    program_id_hash = models.CharField(
        max_length=64, blank=True, default="", db_index=True, editable=False
    )
    incident_date = models.DateField()
    incident_kind = models.CharField(max_length=20, choices=IncidentKind.choices)
    state = models.CharField(max_length=2, choices=US_STATES)
    description = models.TextField(max_length=4000)
    representation_letter = models.FileField(upload_to=referral_path, max_length=300)
    representation_letter_type = models.CharField(max_length=100)
    representation_letter_extension = models.CharField(max_length=10)
    authorization = models.FileField(upload_to=referral_path, max_length=300, blank=True)
    authorization_type = models.CharField(max_length=100, blank=True)
    authorization_extension = models.CharField(max_length=10, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    firm = models.ForeignKey(
        "cases.Party", null=True, blank=True, on_delete=models.PROTECT, related_name="referrals"
    )
    created_at = models.DateTimeField(default=timezone.now)
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="referrals"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_note = models.CharField(max_length=500, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"Referral {self.pk} ({self.get_status_display()})"

    def save(self, *args, **kwargs):
        # The hash follows the clear value, so matching can never disagree with the record.
        self.program_id_hash = keyed_hash(self.program_id) if self.program_id else ""
        if isinstance(self.client_date_of_birth, date):
            self.client_date_of_birth = self.client_date_of_birth.isoformat()
        super().save(*args, **kwargs)
