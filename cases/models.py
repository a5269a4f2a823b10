"""Cases and what a specialist researches for them: members, parties, paid claim lines, the
include/exclude decision on each line, the contact log, deadlines and documents."""

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from recovery.crypto import EncryptedTextField, keyed_hash
from recovery.money import MoneyField
from settlements.models import FORMULA_CHOICES

US_STATES = [
    ("AL", "Alabama"), ("AK", "Alaska"), ("AZ", "Arizona"), ("AR", "Arkansas"),
    ("CA", "California"), ("CO", "Colorado"), ("CT", "Connecticut"), ("DE", "Delaware"),
    ("DC", "District of Columbia"), ("FL", "Florida"), ("GA", "Georgia"), ("HI", "Hawaii"),
    ("ID", "Idaho"), ("IL", "Illinois"), ("IN", "Indiana"), ("IA", "Iowa"), ("KS", "Kansas"),
    ("KY", "Kentucky"), ("LA", "Louisiana"), ("ME", "Maine"), ("MD", "Maryland"),
    ("MA", "Massachusetts"), ("MI", "Michigan"), ("MN", "Minnesota"), ("MS", "Mississippi"),
    ("MO", "Missouri"), ("MT", "Montana"), ("NE", "Nebraska"), ("NV", "Nevada"),
    ("NH", "New Hampshire"), ("NJ", "New Jersey"), ("NM", "New Mexico"), ("NY", "New York"),
    ("NC", "North Carolina"), ("ND", "North Dakota"), ("OH", "Ohio"), ("OK", "Oklahoma"),
    ("OR", "Oregon"), ("PA", "Pennsylvania"), ("PR", "Puerto Rico"), ("RI", "Rhode Island"),
    ("SC", "South Carolina"), ("SD", "South Dakota"), ("TN", "Tennessee"), ("TX", "Texas"),
    ("UT", "Utah"), ("VT", "Vermont"), ("VA", "Virginia"), ("WA", "Washington"),
    ("WV", "West Virginia"), ("WI", "Wisconsin"), ("WY", "Wyoming"),
]  # fmt: skip

npi_validator = RegexValidator(r"^\d{10}$", "An NPI is 10 digits.")


class Member(models.Model):
    """A program member. Identifiers and contact details are PHI and encrypted at rest; the
    program id and SSN are found by exact match through keyed hashes."""

    program_id = EncryptedTextField()
    program_id_hash = models.CharField(max_length=64, unique=True, editable=False)
    ssn = EncryptedTextField(blank=True, default="")
    ssn_hash = models.CharField(
        max_length=64, blank=True, default="", db_index=True, editable=False
    )
    first_name = models.CharField(max_length=60)
    last_name = models.CharField(max_length=60, db_index=True)
    middle_name = models.CharField(max_length=60, blank=True)
    date_of_birth = EncryptedTextField(blank=True, default="")  # ISO date, encrypted
    address_line1 = EncryptedTextField(blank=True, default="")
    address_line2 = EncryptedTextField(blank=True, default="")
    city = models.CharField(max_length=60, blank=True)
    state = models.CharField(max_length=2, choices=US_STATES, blank=True)
    postal_code = models.CharField(max_length=10, blank=True)
    phone = EncryptedTextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        indexes = [
            models.Index(fields=["last_name", "first_name"]),
            # On PostgreSQL, name search (istartswith: UPPER(name) LIKE 'X%') also has
            # UPPER(name) text_pattern_ops indexes: migration 0009, PostgreSQL only.
        ]

    def __str__(self) -> str:
        return self.full_name

    def save(self, *args, **kwargs):
        # The hashes follow the clear values, so search can never disagree with the record.
        self.program_id_hash = keyed_hash(self.program_id)
        self.ssn_hash = keyed_hash(self.ssn) if self.ssn else ""
        if isinstance(self.date_of_birth, date):
            self.date_of_birth = self.date_of_birth.isoformat()
        super().save(*args, **kwargs)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def dob(self) -> date | None:
        return date.fromisoformat(self.date_of_birth) if self.date_of_birth else None

    @property
    def masked_program_id(self) -> str:
        return "•••" + self.program_id[-4:] if self.program_id else ""


class EligibilitySpan(models.Model):
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="eligibility")
    start = models.DateField()
    end = models.DateField(null=True, blank=True, help_text="Empty while still eligible.")
    program = models.CharField(max_length=60, default="Medicaid FFS")
    history = HistoricalRecords()

    class Meta:
        ordering = ["member", "start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=models.F("start")),
                name="eligibility_end_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.program} {self.start} – {self.end or 'open'}"

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


class Party(models.Model):
    class Kind(models.TextChoices):
        ATTORNEY = "attorney", "Attorney"
        LAW_FIRM = "law_firm", "Law firm"
        LIABILITY_INSURER = "liability_insurer", "Liability insurer"
        MEMBER_INSURER = "member_insurer", "Member's insurer (med-pay/PIP)"
        HEALTH_PLAN = "health_plan", "Health plan (MCO)"
        COURT = "court", "Court"
        EMPLOYER = "employer", "Employer"
        AGENCY = "agency", "Other agency"
        OTHER = "other", "Other"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    name = models.CharField(max_length=200, db_index=True)
    firm = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="attorneys",
        limit_choices_to={"kind": Kind.LAW_FIRM},
        help_text="For an attorney: the law firm they practise with.",
    )
    bar_number = models.CharField(max_length=30, blank=True)
    naic_code = models.CharField(
        max_length=5,
        blank=True,
        validators=[RegexValidator(r"^\d{5}$", "A NAIC company code is 5 digits.")],
    )
    contact_name = models.CharField(max_length=120, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=30, blank=True)
    fax = models.CharField(max_length=30, blank=True)
    address_line1 = models.CharField(max_length=120, blank=True)
    address_line2 = models.CharField(max_length=120, blank=True)
    city = models.CharField(max_length=60, blank=True)
    state = models.CharField(max_length=2, choices=US_STATES, blank=True)
    postal_code = models.CharField(max_length=10, blank=True)
    notes = models.TextField(blank=True, max_length=4000)
    is_active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "parties"

    def __str__(self) -> str:
        return self.name

    @property
    def address_lines(self) -> list[str]:
        city_line = " ".join(
            part
            for part in (f"{self.city}," if self.city else "", self.state, self.postal_code)
            if part
        )
        return [line for line in (self.address_line1, self.address_line2, city_line) if line]


class Jurisdiction(models.Model):
    """A state's rules for recovery casework (admin-editable, with history)."""

    code = models.CharField(max_length=2, choices=US_STATES, unique=True)
    name = models.CharField(max_length=60)
    default_sol_years = models.PositiveSmallIntegerField(
        default=2, help_text="Personal-injury statute of limitations, in years."
    )
    response_days = models.PositiveSmallIntegerField(
        default=30, help_text="Days a notice of lien gives for a response."
    )
    default_formula = models.CharField(
        max_length=20,
        choices=FORMULA_CHOICES,
        default="procurement_cost",
        help_text="The recovery formula this state applies unless a case calls for another.",
    )
    fixed_percentage = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text="Optional: a fixed share of small settlements (e.g. 0.2500).",
    )
    fixed_threshold = MoneyField(
        null=True,
        blank=True,
        help_text="Settlements at or below this amount may use the fixed share.",
    )
    is_active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def fmap_for(self, day: date) -> Decimal | None:
        """The matching rate for the federal fiscal year (October–September) containing `day`."""
        fiscal_year = day.year + 1 if day.month >= 10 else day.year
        row = self.fmap_rates.filter(fiscal_year=fiscal_year).first()
        return row.rate if row else None


class FmapRate(models.Model):
    """Federal medical assistance percentage by state and federal fiscal year (admin-edited)."""

    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.CASCADE, related_name="fmap_rates"
    )
    fiscal_year = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1966), MaxValueValidator(2100)]
    )
    rate = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(Decimal("1"))],
    )
    expansion_rate = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.9000"),
        validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(Decimal("1"))],
        help_text="Enhanced rate for the expansion adult group.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["jurisdiction", "-fiscal_year"]
        constraints = [
            models.UniqueConstraint(
                fields=["jurisdiction", "fiscal_year"], name="one_fmap_per_state_year"
            )
        ]

    def __str__(self) -> str:
        return f"{self.jurisdiction.code} FFY{self.fiscal_year}: {self.rate}"


class IncidentKind(models.TextChoices):
    AUTO = "auto", "Auto accident"
    PREMISES = "premises", "Premises / slip and fall"
    MALPRACTICE = "malpractice", "Medical malpractice"
    PRODUCT = "product", "Product liability"
    WORKERS_COMP = "workers_comp", "Workers' compensation"
    ASSAULT = "assault", "Assault / crime victim"
    OTHER = "other", "Other"


class SolRule(models.Model):
    """Statute of limitations by jurisdiction and incident kind; a blank kind is the default."""

    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.CASCADE, related_name="sol_rules"
    )
    incident_kind = models.CharField(max_length=20, choices=IncidentKind.choices, blank=True)
    years = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(30)]
    )
    citation = models.CharField(max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["jurisdiction", "incident_kind"], name="one_sol_rule_per_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.jurisdiction.code} {self.incident_kind or 'default'}: {self.years} years"


class Case(models.Model):
    class Status(models.TextChoices):
        NEW = "new", "New"
        RESEARCH = "research", "Research"
        NOTICE = "notice", "Lien noticed"
        FOLLOW_UP = "follow_up", "Follow-up"
        SETTLEMENT = "settlement", "Settlement"
        RECEIVABLE = "receivable", "Awaiting funds"
        CLOSED = "closed", "Closed"

    # Where a case may go from each status; reopening returns a closed case to research.
    TRANSITIONS: dict[str, set[str]] = {
        Status.NEW: {Status.RESEARCH, Status.CLOSED},
        Status.RESEARCH: {Status.NOTICE, Status.CLOSED},
        Status.NOTICE: {Status.FOLLOW_UP, Status.SETTLEMENT, Status.RESEARCH, Status.CLOSED},
        Status.FOLLOW_UP: {Status.SETTLEMENT, Status.NOTICE, Status.RESEARCH, Status.CLOSED},
        Status.SETTLEMENT: {Status.RECEIVABLE, Status.FOLLOW_UP, Status.CLOSED},
        Status.RECEIVABLE: {Status.CLOSED, Status.SETTLEMENT},
        Status.CLOSED: {Status.RESEARCH},
    }

    class Source(models.TextChoices):
        ATTORNEY_LETTER = "attorney_letter", "Attorney letter of representation"
        INSURER_NOTICE = "insurer_notice", "Insurer notice"
        QUESTIONNAIRE = "questionnaire", "Member accident questionnaire"
        SCREENING = "screening", "Trauma screening"
        COURT_NOTICE = "court_notice", "Court / probate notice"
        OTHER = "other", "Other"

    class Priority(models.IntegerChoices):
        LOW = 3, "Low"
        NORMAL = 2, "Normal"
        HIGH = 1, "High"

    class Outcome(models.TextChoices):
        RECOVERED_FULL = "recovered_full", "Recovered in full"
        COMPROMISED = "compromised", "Compromised"
        WAIVED = "waived", "Waived"
        UNCOLLECTIBLE = "uncollectible", "Uncollectible"
        WITHDRAWN = "withdrawn", "Withdrawn"
        NO_LIABILITY = "no_liability", "No liability"

    number = models.CharField(max_length=20, unique=True, editable=False)
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="cases")
    incident_date = models.DateField()
    incident_kind = models.CharField(max_length=20, choices=IncidentKind.choices)
    incident_description = models.TextField(blank=True, max_length=4000)
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="cases")
    source = models.CharField(max_length=20, choices=Source.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    team = models.ForeignKey(
        "core.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_cases",
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    sol_date = models.DateField("statute of limitations", null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    # The sum of included lines' paid amounts, kept by the services that change inclusion so
    # lists can show and sort it without aggregating millions of lines.
    lien_amount = MoneyField(default=Decimal("0.00"))
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [
            models.Index(fields=["status", "assigned_to"]),
            models.Index(fields=["assigned_to", "status"]),
            models.Index(fields=["team", "status"]),
            models.Index(fields=["member", "incident_date"]),
            # The case list's sorts: (column, id) read in either direction gives a page of 50
            # without sorting the visible cases (selectors.SORTS).
            models.Index(fields=["opened_at", "id"], name="case_opened_idx"),
            models.Index(fields=["incident_date", "id"], name="case_incident_idx"),
            models.Index(fields=["lien_amount", "id"], name="case_lien_idx"),
            models.Index(fields=["sol_date", "id"], name="case_sol_idx"),
            models.Index(fields=["status", "id"], name="case_status_idx"),
            # On PostgreSQL, searching by the last digits of a number reads a prefix of the
            # reversed number (migration 0009, PostgreSQL only).
        ]

    def __str__(self) -> str:
        return self.number

    def can_move_to(self, status: str) -> bool:
        return status in self.TRANSITIONS.get(self.status, set())

    @property
    def is_open(self) -> bool:
        return self.status != self.Status.CLOSED


class CaseNumberSequence(models.Model):
    """Last number used per year, locked while a case number is drawn."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class CaseParty(models.Model):
    class Role(models.TextChoices):
        ATTORNEY_OF_RECORD = "attorney_of_record", "Member's attorney of record"
        LIABILITY_INSURER = "liability_insurer", "Liability insurer"
        MEMBER_INSURER = "member_insurer", "Member's insurer (med-pay/PIP)"
        HEALTH_PLAN = "health_plan", "Health plan (MCO)"
        COURT = "court", "Court"
        EMPLOYER = "employer", "Employer"
        DEFENSE_ATTORNEY = "defense_attorney", "Defense attorney"
        OTHER = "other", "Other"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="case_parties")
    party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="case_links")
    role = models.CharField(max_length=20, choices=Role.choices)
    claim_number = models.CharField(max_length=60, blank=True)
    policy_number = models.CharField(max_length=60, blank=True)
    policy_limits = MoneyField(null=True, blank=True)
    adjuster_name = models.CharField(max_length=120, blank=True)
    adjuster_phone = models.CharField(max_length=30, blank=True)
    adjuster_email = models.EmailField(blank=True)
    is_active = models.BooleanField(default=True)
    added_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["role", "id"]
        verbose_name_plural = "case parties"
        constraints = [
            models.UniqueConstraint(
                fields=["case", "party", "role"], name="one_role_per_party_per_case"
            )
        ]
        indexes = [models.Index(fields=["party", "role", "is_active"])]

    def __str__(self) -> str:
        return f"{self.party} ({self.get_role_display()})"


class ImportBatch(models.Model):
    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        X12_835 = "835", "X12 835 remittance"
        X12_837 = "837", "X12 837 claim"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.PositiveBigIntegerField(default=0)
    format = models.CharField(max_length=3, choices=Format.choices, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    stored_path = models.CharField(max_length=500, blank=True)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    inserted = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    hits = models.PositiveIntegerField(default=0)
    late_arriving = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    warnings = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "import batches"

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.total_rows:
            return 0
        return min(99, int(self.processed_rows * 100 / self.total_rows))


class ImportReject(models.Model):
    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="rejects")
    line = models.PositiveIntegerField()
    reason = models.CharField(max_length=500)

    class Meta:
        ordering = ["batch", "line", "id"]

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class ClaimLine(models.Model):
    """One paid fee-for-service claim line, as the claims feed reported it."""

    class Decision(models.TextChoices):
        INCLUDE = "include", "Trauma hit"
        REVIEW = "review", "Review"
        EXCLUDE = "exclude", "Excluded"
        NO_HIT = "no_hit", "No trauma signal"

    # No index of its own: the (member, service_from) index serves every lookup by member.
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="claim_lines", db_index=False
    )
    claim_number = models.CharField(max_length=50)
    line_number = models.PositiveIntegerField()
    payer_claim_number = models.CharField(max_length=50, blank=True)
    provider_npi = models.CharField(max_length=10, blank=True)
    provider_name = models.CharField(max_length=120, blank=True)
    service_from = models.DateField()
    service_to = models.DateField(null=True, blank=True)
    procedure_code = models.CharField(max_length=10, blank=True)
    modifiers = models.CharField(max_length=20, blank=True)
    diagnosis_codes = models.CharField(
        max_length=200, blank=True, help_text="Space-separated, principal first, without dots."
    )
    code_set = models.CharField(max_length=5, blank=True)
    billed_amount = MoneyField(default=Decimal("0.00"))
    allowed_amount = MoneyField(null=True, blank=True)
    paid_amount = MoneyField(default=Decimal("0.00"))
    paid_date = models.DateField(null=True, blank=True, db_index=True)
    accident_indicator = models.CharField(max_length=20, blank=True)
    accident_state = models.CharField(max_length=2, blank=True)
    accident_date = models.DateField(null=True, blank=True)
    occurrence_codes = models.CharField(max_length=60, blank=True)
    value_codes = models.CharField(max_length=60, blank=True)
    # The federal matching rate at which this payment was claimed (e.g. 0.6500 or 0.9000).
    fmap_rate = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
    )
    screening_decision = models.CharField(
        max_length=10, choices=Decision.choices, default=Decision.NO_HIT
    )
    screening_rule = models.CharField(max_length=40, blank=True)
    screening_reason = models.CharField(max_length=300, blank=True)
    opens_case = models.BooleanField(default=False)
    source = models.CharField(max_length=10, default="manual")
    batch = models.ForeignKey(
        ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="lines"
    )
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["service_from", "claim_number", "line_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["claim_number", "line_number"], name="claim_line_unique"
            )
        ]
        indexes = [
            models.Index(fields=["member", "service_from"]),
            # Screening hits that could open a case: what the lead queue reads.
            models.Index(
                fields=["member"],
                condition=Q(opens_case=True, screening_decision__in=["include", "review"]),
                name="claimline_opening_hits_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.claim_number}-{self.line_number}"

    @property
    def diagnosis_list(self) -> list[str]:
        return self.diagnosis_codes.split()


class CaseClaim(models.Model):
    """Whether a claim line belongs to a case's lien, and why."""

    class Basis(models.TextChoices):
        SCREENING = "screening", "Screening rule"
        MANUAL = "manual", "Specialist decision"
        DISPUTE = "dispute", "Dispute outcome"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="case_claims")
    claim_line = models.ForeignKey(ClaimLine, on_delete=models.CASCADE, related_name="case_claims")
    included = models.BooleanField(default=False)
    needs_review = models.BooleanField(default=False)
    basis = models.CharField(max_length=10, choices=Basis.choices, default=Basis.SCREENING)
    reason = models.CharField(max_length=500)
    late_arriving = models.BooleanField(
        default=False, help_text="Paid after the lien was filed: prompts an amendment."
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = [
            "claim_line__service_from",
            "claim_line__claim_number",
            "claim_line__line_number",
        ]
        constraints = [
            models.UniqueConstraint(fields=["case", "claim_line"], name="claim_line_once_per_case")
        ]
        indexes = [models.Index(fields=["case", "included"])]

    def __str__(self) -> str:
        return f"{self.case} {self.claim_line} {'in' if self.included else 'out'}"


class Lead(models.Model):
    """Screening hits for a member with no open case: a questionnaire letter goes out."""

    class Status(models.TextChoices):
        NEW = "new", "New"
        LETTER_SENT = "letter_sent", "Questionnaire sent"
        CONVERTED = "converted", "Case opened"
        DISMISSED = "dismissed", "Dismissed"

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="leads")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NEW)
    first_service = models.DateField()
    hit_lines = models.PositiveIntegerField(default=0)
    hit_paid = MoneyField(default=Decimal("0.00"))
    reason = models.CharField(max_length=300, blank=True)
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-hit_paid", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["member"],
                condition=Q(status__in=["new", "letter_sent"]),
                name="one_open_lead_per_member",
            )
        ]

    def __str__(self) -> str:
        return f"Lead {self.member} ({self.get_status_display()})"


class Activity(models.Model):
    class Kind(models.TextChoices):
        CALL = "call", "Call"
        LETTER = "letter", "Letter"
        EMAIL = "email", "E-mail"
        FAX = "fax", "Fax"
        MEETING = "meeting", "Meeting"
        NOTE = "note", "Note"
        PORTAL = "portal", "Portal"
        SYSTEM = "system", "System"

    class Direction(models.TextChoices):
        INBOUND = "in", "Inbound"
        OUTBOUND = "out", "Outbound"
        INTERNAL = "internal", "Internal"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    direction = models.CharField(
        max_length=10, choices=Direction.choices, default=Direction.OUTBOUND
    )
    party = models.ForeignKey(
        Party, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    occurred_at = models.DateTimeField(default=timezone.now)
    subject = models.CharField(max_length=200)
    outcome = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True, max_length=10000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "activities"
        indexes = [models.Index(fields=["case", "-occurred_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"


class Deadline(models.Model):
    """A task with a due date: respond, follow up, watch the statute of limitations..."""

    class Kind(models.TextChoices):
        RESPONSE_DUE = "response_due", "Response due"
        FOLLOW_UP = "follow_up", "Follow-up"
        SOL = "sol", "Statute of limitations"
        LIEN_EXPIRY = "lien_expiry", "Lien expiry / renewal"
        FUNDS_DUE = "funds_due", "Settlement funds due"
        REVIEW = "review", "Review"
        OTHER = "other", "Other"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="deadlines")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=200)
    due_date = models.DateField(db_index=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deadlines",
    )
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["due_date", "id"]
        indexes = [
            models.Index(
                fields=["owner", "due_date"],
                condition=Q(done_at__isnull=True),
                name="deadline_open_owner_idx",
            ),
            models.Index(
                fields=["due_date"], condition=Q(done_at__isnull=True), name="deadline_open_due_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.due_date})"

    @property
    def is_done(self) -> bool:
        return self.done_at is not None


def document_path(instance: "Document", filename: str) -> str:
    # Stored names never carry the uploaded name (it may hold PHI or path tricks).
    return (
        f"cases/{instance.case_id}/{timezone.now():%Y%m}/{instance.sha256[:16]}{instance.extension}"
    )


class Document(models.Model):
    """A file on a case: an upload, or a letter the product generated (PDF).

    A generated letter keeps the data it was rendered from (`context`), the template version and
    the SHA-256 of the PDF, so it can be reproduced and verified later.
    """

    class Kind(models.TextChoices):
        UPLOAD = "upload", "Upload"
        LETTER_OF_REPRESENTATION = "representation", "Letter of representation"
        AUTHORIZATION = "authorization", "Client authorization"
        POLICE_REPORT = "police_report", "Police / accident report"
        SETTLEMENT_STATEMENT = "settlement", "Settlement statement"
        CORRESPONDENCE = "correspondence", "Correspondence"
        OTHER = "other", "Other"
        # Generated letters (DESIGN §6).
        LIEN_NOTICE = "lien_notice", "Notice of lien"
        ITEMIZED_STATEMENT = "itemized_statement", "Itemized statement"
        LIEN_AMENDMENT = "lien_amendment", "Amended notice of lien"
        LIEN_RELEASE = "lien_release", "Release of lien"
        FINAL_DEMAND = "final_demand", "Final demand"
        REDUCTION_DECISION = "reduction_decision", "Reduction decision"
        INFORMATION_REQUEST = "information_request", "Request for information"
        PAYMENT_RECEIPT = "payment_receipt", "Payment receipt"
        MEMBER_QUESTIONNAIRE = "member_questionnaire", "Accident questionnaire"
        GENERAL = "general", "General letter"

    LETTER_KINDS = frozenset(
        {
            "lien_notice",
            "itemized_statement",
            "lien_amendment",
            "lien_release",
            "final_demand",
            "reduction_decision",
            "information_request",
            "payment_receipt",
            "member_questionnaire",
            "general",
        }
    )

    class Status(models.TextChoices):
        PENDING = "pending", "Being generated"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    class Delivery(models.TextChoices):
        NONE = "none", "Not e-mailed"
        QUEUED = "queued", "E-mail queued"
        SENT = "sent", "E-mailed"
        FAILED = "failed", "E-mail failed"

    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.CASCADE, related_name="documents"
    )
    # Letters to members without a case yet (questionnaires from screening leads).
    member = models.ForeignKey(
        Member, null=True, blank=True, on_delete=models.CASCADE, related_name="documents"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.UPLOAD)
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.READY)
    file = models.FileField(upload_to=document_path, max_length=300, blank=True)
    original_name = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100, default="application/pdf")
    extension = models.CharField(max_length=10, blank=True)
    size = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    recipient = models.ForeignKey(
        Party, null=True, blank=True, on_delete=models.PROTECT, related_name="letters"
    )
    template_version = models.CharField(max_length=40, blank=True)
    context = models.JSONField(default=dict, blank=True)
    body = models.TextField(blank=True, max_length=20000)
    error = models.TextField(blank=True)
    pages = models.PositiveSmallIntegerField(null=True, blank=True)
    delivery = models.CharField(max_length=10, choices=Delivery.choices, default=Delivery.NONE)
    delivery_attempts = models.PositiveSmallIntegerField(default=0)
    delivered_at = models.DateTimeField(null=True, blank=True)
    delivery_error = models.CharField(max_length=500, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    ready_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["context"])

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["case", "kind", "-created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(case__isnull=False) | Q(member__isnull=False),
                name="document_has_case_or_member",
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_letter(self) -> bool:
        return self.kind in self.LETTER_KINDS

    @property
    def requested_by(self):
        return self.uploaded_by


class Assignment(models.Model):
    """Every hand-over of a case: who gave it to whom, when, and why."""

    class Action(models.TextChoices):
        ASSIGN = "assign", "Assigned"
        SELF_ASSIGN = "self_assign", "Taken from queue"
        REASSIGN = "reassign", "Reassigned"
        RETURN = "return", "Returned to queue"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="assignments")
    action = models.CharField(max_length=12, choices=Action.choices)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=1000, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.case} {self.get_action_display()} {self.at:%Y-%m-%d}"


class SupervisorQuestion(models.Model):
    """'Ask my supervisor': a question on a case, answered in the supervisor's queue."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="questions")
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="questions_to_answer",
    )
    question = models.TextField(max_length=4000)
    asked_at = models.DateTimeField(default=timezone.now)
    answer = models.TextField(blank=True, max_length=4000)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-asked_at", "-id"]

    def __str__(self) -> str:
        return f"Question on {self.case} by {self.asked_by}"


class Holiday(models.Model):
    """A day the unit does not count as a business day (federal, or one state's)."""

    day = models.DateField()
    name = models.CharField(max_length=100)
    jurisdiction = models.ForeignKey(
        Jurisdiction, null=True, blank=True, on_delete=models.CASCADE, related_name="holidays"
    )

    class Meta:
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "jurisdiction"], name="one_holiday_per_day_and_state"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.name}"


class DeadlineRule(models.Model):
    """How many (calendar or business) days an event gives, per jurisdiction and program.

    The most specific rule wins: jurisdiction + program, then jurisdiction, then program, then
    the default (both blank).
    """

    class Event(models.TextChoices):
        NOTICE_RESPONSE = "notice_response", "Response to a notice of lien"
        FOLLOW_UP = "follow_up", "Follow-up cadence"
        DEMAND_PAYMENT = "demand_payment", "Payment after final demand"
        APPEAL = "appeal", "Appeal window"
        ATTORNEY_ANSWER = "attorney_answer", "Answer to an attorney's request"
        LIEN_RENEWAL = "lien_renewal", "Lien renewal"

    event = models.CharField(max_length=20, choices=Event.choices)
    jurisdiction = models.ForeignKey(
        Jurisdiction, null=True, blank=True, on_delete=models.CASCADE, related_name="deadline_rules"
    )
    program = models.CharField(max_length=60, blank=True)
    days = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(3650)]
    )
    business_days = models.BooleanField(default=False)
    citation = models.CharField(max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["event", "jurisdiction", "program"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "jurisdiction", "program"],
                name="one_deadline_rule_per_scope",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        unit = "business days" if self.business_days else "days"
        scope = self.jurisdiction.code if self.jurisdiction_id else "all states"
        return f"{self.get_event_display()}: {self.days} {unit} ({scope})"


class Reminder(models.Model):
    """One reminder sent for one deadline at one threshold; the unique key makes the daily scan
    safe to run twice or to retry after a worker died."""

    OVERDUE = -1

    deadline = models.ForeignKey(Deadline, on_delete=models.CASCADE, related_name="reminders")
    threshold = models.SmallIntegerField(help_text="Days before the due date; -1 means overdue.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    escalated_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["deadline", "threshold"], name="one_reminder_per_threshold"
            )
        ]

    def __str__(self) -> str:
        return f"Reminder {self.deadline_id} at {self.threshold}"
