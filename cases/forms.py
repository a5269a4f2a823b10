"""Forms for the case screens: they parse and check input; the services decide and write."""

from django import forms
from django.core.exceptions import ValidationError

from recovery.core.models import Role, User

from .models import (
    Activity,
    Case,
    CaseParty,
    Deadline,
    Document,
    IncidentKind,
    Jurisdiction,
    Member,
    Party,
)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class Form(forms.Form):
    """Labels without the trailing colon, as everywhere else in the product."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def add_service_errors(
    form: forms.Form, exc: ValidationError, field_map: dict | None = None
) -> None:
    """Put a service's ValidationError on the form: known fields by name, the rest on top."""
    field_map = field_map or {}
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for name, errors in exc.message_dict.items():
        target = field_map.get(name, name)
        form.add_error(target if target in form.fields else None, errors)


def staff_users():
    """People a case can be assigned to."""
    return User.objects.filter(
        is_active=True, role__in=[Role.SPECIALIST, Role.SUPERVISOR]
    ).order_by("last_name", "first_name", "username")


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.get_full_name() or obj.username} ({obj.username})"


# ---------------------------------------------------------------------------------------------
# Case list
# ---------------------------------------------------------------------------------------------

STATUS_FILTERS = [("", "Any status"), ("open", "Open (not closed)"), *Case.Status.choices]
DUE_FILTERS = [
    ("", "Any"),
    ("overdue", "Overdue"),
    ("today", "Due today or overdue"),
    ("week", "Due within 7 days"),
]


class CaseFilterForm(Form):
    """The list's query string. Unknown values fall back to 'no filter' instead of an error."""

    q = forms.CharField(required=False, max_length=100, label="Search")
    status = forms.ChoiceField(required=False, choices=STATUS_FILTERS)
    specialist = forms.CharField(required=False, max_length=12)
    jurisdiction = forms.CharField(required=False, max_length=2)
    due = forms.ChoiceField(required=False, choices=DUE_FILTERS)
    sort = forms.CharField(required=False, max_length=12)

    def values(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        specialist = data.get("specialist", "")
        if specialist not in ("me", "none") and not specialist.isdigit():
            specialist = ""
        return {
            "q": data.get("q", "").strip(),
            "status": data.get("status", ""),
            "specialist": specialist,
            "jurisdiction": data.get("jurisdiction", "").upper(),
            "due": data.get("due", ""),
            "sort": data.get("sort", "") or "-opened",
        }


# ---------------------------------------------------------------------------------------------
# Intake
# ---------------------------------------------------------------------------------------------


class IntakeForm(Form):
    member = forms.ModelChoiceField(queryset=Member.objects.all(), widget=forms.HiddenInput)
    incident_date = forms.DateField(label="Date of injury", widget=DateInput)
    incident_kind = forms.ChoiceField(label="Kind of incident", choices=IncidentKind.choices)
    jurisdiction = forms.ModelChoiceField(
        label="State",
        queryset=Jurisdiction.objects.filter(is_active=True),
        empty_label="Choose a state",
    )
    source = forms.ChoiceField(label="How we learned of it", choices=Case.Source.choices)
    incident_description = forms.CharField(
        label="What happened",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    priority = forms.TypedChoiceField(
        choices=Case.Priority.choices, coerce=int, initial=Case.Priority.NORMAL
    )
    assigned_to = UserChoiceField(
        label="Assign to",
        queryset=staff_users(),
        required=False,
        empty_label="Unassigned (team queue)",
    )
    sol_date = forms.DateField(
        label="Statute of limitations",
        required=False,
        widget=DateInput,
        help_text="Left empty, the jurisdiction's rule decides.",
    )
    # The suggestion last shown, so a refreshed suggestion replaces it but not a typed date.
    sol_suggested = forms.DateField(required=False, widget=forms.HiddenInput)
    confirm = forms.BooleanField(
        required=False, label="I have read the warnings above and want to open the case anyway."
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        if user.role not in (Role.SUPERVISOR, Role.ADMIN):
            # Specialists open cases for themselves; the service assigns them.
            del self.fields["assigned_to"]


# ---------------------------------------------------------------------------------------------
# Actions on a case
# ---------------------------------------------------------------------------------------------


class DecideClaimForm(Form):
    included = forms.TypedChoiceField(
        choices=[("1", "Include"), ("0", "Exclude")], coerce=lambda value: value == "1"
    )
    reason = forms.CharField(
        max_length=500,
        error_messages={"required": "Say why the line is included or excluded."},
    )


class StatusForm(Form):
    status = forms.ChoiceField(label="Move to", choices=Case.Status.choices)
    outcome = forms.ChoiceField(
        label="Outcome (when closing)", required=False, choices=[("", "—"), *Case.Outcome.choices]
    )

    def clean(self):
        data = super().clean()
        if data.get("status") == Case.Status.CLOSED and not data.get("outcome"):
            self.add_error("outcome", "Closing a case needs an outcome.")
        return data


class ReturnForm(Form):
    note = forms.CharField(
        label="Why does it go back to the queue?",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say why the case goes back to the queue."},
    )


class AskForm(Form):
    question = forms.CharField(
        label="Question for my supervisor",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Write the question."},
    )


class AnswerForm(Form):
    answer = forms.CharField(
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Write the answer."},
    )


class PartyChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} — {obj.get_kind_display()}"


class AddPartyForm(Form):
    party = PartyChoiceField(
        queryset=Party.objects.filter(is_active=True), empty_label="Choose a party"
    )
    role = forms.ChoiceField(choices=CaseParty.Role.choices)
    claim_number = forms.CharField(required=False, max_length=60)
    policy_number = forms.CharField(required=False, max_length=60)
    policy_limits = forms.DecimalField(
        required=False, max_digits=14, decimal_places=2, min_value=0, label="Policy limits ($)"
    )
    adjuster_name = forms.CharField(required=False, max_length=120)
    adjuster_phone = forms.CharField(required=False, max_length=30)
    adjuster_email = forms.EmailField(required=False)

    DETAILS = (
        "claim_number",
        "policy_number",
        "policy_limits",
        "adjuster_name",
        "adjuster_phone",
        "adjuster_email",
    )

    def details(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.DETAILS}


class ActivityForm(Form):
    kind = forms.ChoiceField(
        choices=[c for c in Activity.Kind.choices if c[0] != Activity.Kind.SYSTEM]
    )
    direction = forms.ChoiceField(
        choices=Activity.Direction.choices, initial=Activity.Direction.OUTBOUND
    )
    party = PartyChoiceField(queryset=Party.objects.none(), required=False, empty_label="—")
    subject = forms.CharField(max_length=200)
    outcome = forms.CharField(required=False, max_length=200)
    body = forms.CharField(
        label="Notes", required=False, max_length=10000, widget=forms.Textarea(attrs={"rows": 3})
    )
    occurred_at = forms.DateTimeField(
        label="When",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Empty means now.",
    )
    follow_up_on = forms.DateField(label="Follow up on", required=False, widget=DateInput)

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["party"].queryset = Party.objects.filter(case_links__case=case).distinct()


class DeadlineForm(Form):
    kind = forms.ChoiceField(choices=Deadline.Kind.choices, initial=Deadline.Kind.FOLLOW_UP)
    title = forms.CharField(max_length=200)
    due_date = forms.DateField(widget=DateInput)


ACCEPTED_UPLOADS = ".pdf,.png,.jpg,.jpeg,.tif,.tiff,application/pdf,image/png,image/jpeg,image/tiff"


class UploadForm(Form):
    file = forms.FileField(widget=forms.ClearableFileInput(attrs={"accept": ACCEPTED_UPLOADS}))
    # Letters are generated, never uploaded.
    kind = forms.ChoiceField(
        choices=[c for c in Document.Kind.choices if c[0] not in Document.LETTER_KINDS],
        initial=Document.Kind.UPLOAD,
    )
    title = forms.CharField(required=False, max_length=200)


class ReassignForm(Form):
    case_number = forms.CharField(label="Case number", max_length=20)
    assignee = UserChoiceField(label="Give to", queryset=staff_users(), empty_label="Choose")
    note = forms.CharField(required=False, max_length=1000)

    def clean_case_number(self):
        return " ".join(self.cleaned_data["case_number"].split()).upper()


class AssignForm(Form):
    assignee = UserChoiceField(label="Assign to", queryset=staff_users(), empty_label="Choose")
    note = forms.CharField(required=False, max_length=1000)
