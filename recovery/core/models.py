from decimal import Decimal

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from recovery.money import MoneyField


class Role(models.TextChoices):
    SPECIALIST = "specialist", "Recovery specialist"
    SUPERVISOR = "supervisor", "Supervisor"
    ATTORNEY = "attorney", "Attorney (portal)"
    AUDITOR = "auditor", "Auditor"
    ADMIN = "admin", "Administrator"


# Staff roles work inside the unit; attorneys only ever reach the portal.
STAFF_ROLES = frozenset({Role.SPECIALIST, Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN})
SUPERVISING_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    supervisor = models.ForeignKey(
        "core.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="supervised_teams",
        limit_choices_to={"role__in": ["supervisor", "admin"]},
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.SPECIALIST)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    title = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=30, blank=True)
    # Settlement authority: a specialist may accept, on their own, a recovery that reduces the
    # lien by at most this many dollars AND at most this percentage. Beyond either, a supervisor
    # approves.
    authority_max_reduction_amount = MoneyField(
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Largest reduction of a lien (in dollars) this user may accept alone.",
    )
    authority_max_reduction_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="Largest reduction of a lien (percent of the lien) this user may accept alone.",
    )

    # For attorneys: the law firm (or solo attorney) party they act for in the portal.
    party = models.ForeignKey(
        "cases.Party",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="portal_users",
    )

    objects = UserManager()
    # The password hash and login stamps are not worth a history row each.
    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_staff_role(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_supervising(self) -> bool:
        return self.role in SUPERVISING_ROLES

    @property
    def is_attorney(self) -> bool:
        return self.role == Role.ATTORNEY

    @property
    def is_auditor(self) -> bool:
        return self.role == Role.AUDITOR

    @property
    def is_specialist(self) -> bool:
        return self.role == Role.SPECIALIST

    @property
    def supervisor(self) -> "User | None":
        """The next level up: the team's supervisor (used for approvals and escalation)."""
        if self.team_id and self.team.supervisor_id and self.team.supervisor_id != self.pk:
            return self.team.supervisor
        return None


class PhiAccess(models.Model):
    """One read of protected health information by a user: who, what, when, from where.

    Rows are only ever inserted. Views call `recovery.core.audit.log_phi_access`.
    """

    class Action(models.TextChoices):
        VIEW = "view", "Viewed"
        SEARCH = "search", "Searched"
        EXPORT = "export", "Exported"
        DOWNLOAD = "download", "Downloaded"
        PRINT = "print", "Printed"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="phi_accesses")
    action = models.CharField(max_length=10, choices=Action.choices, default=Action.VIEW)
    subject_type = models.CharField(max_length=40)
    subject_id = models.BigIntegerField()
    case_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    # Path only, never the query string; paths carry ids, not PHI.
    path = models.CharField(max_length=300, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    detail = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["subject_type", "subject_id", "-at"]),
            models.Index(fields=["user", "-at"]),
        ]
        verbose_name = "PHI access"
        verbose_name_plural = "PHI access log"

    def __str__(self) -> str:
        return f"{self.user} {self.action} {self.subject_type}#{self.subject_id} at {self.at:%Y-%m-%d %H:%M}"


class Notification(models.Model):
    """An in-app message to a user; `key` makes a notification happen at most once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True)
    key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["user", "-created_at"],
                condition=models.Q(read_at__isnull=True),
                name="notification_unread_idx",
            )
        ]

    def __str__(self) -> str:
        return self.title
