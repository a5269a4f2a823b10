"""The reports' filters: a period (a preset or two dates), jurisdiction, team and specialist.

The form only parses; `ReportForm.filters()` hands the reports a plain `Filters` value. A request
without any period gets the federal fiscal year to date (the year starts on 1 October).

The page shows the period in effect both ways, the preset chosen and its dates, and remembers in
a hidden field which preset it showed. So, without any script: changing the preset applies the
preset; changing a date under an unchanged preset applies the dates."""

from dataclasses import dataclass
from datetime import date, timedelta

from django import forms
from django.db.models import Q
from django.utils import timezone

from cases.forms import DateInput, Form, UserChoiceField
from cases.models import Jurisdiction
from ledger.reports import fiscal_quarter, quarter_dates
from recovery.core.models import Role, Team, User

from .selectors import add_months, fiscal_year_start

MAX_DAYS = 3660  # ten years: the widest period a report covers at once

PRESETS = [
    ("this_month", "This month"),
    ("last_month", "Last month"),
    ("this_quarter", "This federal fiscal quarter"),
    ("last_quarter", "Last federal fiscal quarter"),
    ("fytd", "Federal fiscal year to date"),
    ("last_fy", "Last federal fiscal year"),
    ("ytd", "Calendar year to date"),
    ("custom", "Dates below"),
]
DEFAULT_PRESET = "fytd"


def preset_range(preset: str, today: date) -> tuple[date, date]:
    """First and last day of a named period, as of `today` (periods to date end today)."""
    month_start = today.replace(day=1)
    if preset == "this_month":
        return month_start, today
    if preset == "last_month":
        return add_months(month_start, -1), month_start - timedelta(days=1)
    if preset == "this_quarter":
        start, _end = quarter_dates(*fiscal_quarter(today))
        return start, today
    if preset == "last_quarter":
        start, _end = quarter_dates(*fiscal_quarter(today))
        return quarter_dates(*fiscal_quarter(start - timedelta(days=1)))
    if preset == "last_fy":
        start = fiscal_year_start(today)
        return date(start.year - 1, 10, 1), start - timedelta(days=1)
    if preset == "ytd":
        return date(today.year, 1, 1), today
    return fiscal_year_start(today), today


def person(user: User | None) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.username


@dataclass(frozen=True)
class Filters:
    date_from: date
    date_to: date
    preset: str = DEFAULT_PRESET
    jurisdiction: Jurisdiction | None = None
    team: Team | None = None
    specialist: User | None = None
    group: str = "month"

    @property
    def period_label(self) -> str:
        names = dict(PRESETS)
        text = f"{self.date_from:%Y-%m-%d} to {self.date_to:%Y-%m-%d}"
        if self.preset != "custom":
            text = f"{names.get(self.preset, '')}: {text}"
        return text

    def describe(self, *, group_label: str = "") -> list[tuple[str, str]]:
        """The filters in words, for the page, the PDF's heading and nowhere else."""
        rows = [("Period", self.period_label)]
        if group_label:
            rows.append(("Grouped by", group_label))
        rows.append(
            (
                "Jurisdiction",
                f"{self.jurisdiction.name} ({self.jurisdiction.code})"
                if self.jurisdiction
                else "All",
            )
        )
        rows.append(("Team", self.team.name if self.team else "All"))
        rows.append(("Specialist", person(self.specialist) if self.specialist else "All"))
        return rows


class ReportForm(Form):
    preset = forms.ChoiceField(label="Period", choices=PRESETS, required=False)
    date_from = forms.DateField(label="From", required=False, widget=DateInput())
    date_to = forms.DateField(label="To", required=False, widget=DateInput())
    jurisdiction = forms.ModelChoiceField(
        label="Jurisdiction",
        queryset=Jurisdiction.objects.order_by("code"),
        to_field_name="code",
        required=False,
        empty_label="All",
    )
    team = forms.ModelChoiceField(
        label="Team", queryset=Team.objects.order_by("name"), required=False, empty_label="All"
    )
    specialist = UserChoiceField(
        label="Specialist", queryset=User.objects.none(), required=False, empty_label="All"
    )
    shown = forms.CharField(required=False, widget=forms.HiddenInput, max_length=20)

    def __init__(self, data=None, *, user: User, today: date | None = None, **kwargs):
        if data is not None:
            data = data.copy()  # the page shows the period in effect (see `show_period`)
            if not data.get("preset"):
                # Typed dates alone mean those dates; nothing at all means the default period.
                typed = data.get("date_from") or data.get("date_to")
                data["preset"] = "custom" if typed else DEFAULT_PRESET
        super().__init__(data, **kwargs)
        self.today = today or timezone.localdate()
        people = User.objects.filter(
            is_active=True, role__in=[Role.SPECIALIST, Role.SUPERVISOR, Role.ADMIN]
        )
        if user.role == Role.SPECIALIST:
            # A specialist picks among themselves and their team, the people of their slice.
            mine = Q(pk=user.pk)
            if user.team_id:
                mine |= Q(team_id=user.team_id)
            people = people.filter(mine)
        self.fields["specialist"].queryset = people.order_by("last_name", "first_name", "username")

    def clean(self):
        data = super().clean()
        preset = data.get("preset") or ""
        start, end = data.get("date_from"), data.get("date_to")
        if not preset:
            preset = "custom" if (start or end) else DEFAULT_PRESET
        if preset != "custom" and data.get("shown") == preset and (start or end):
            # The preset is the one the page showed: dates that differ from it were typed.
            if (start, end) != preset_range(preset, self.today):
                preset = "custom"
        if preset == "custom":
            if start is None:
                self.add_error("date_from", "Give the first day of the period.")
            if end is None:
                self.add_error("date_to", "Give the last day of the period.")
            if start and end:
                if start > end:
                    self.add_error("date_to", "The period ends before it starts.")
                elif (end - start).days > MAX_DAYS:
                    self.add_error("date_to", "At most ten years at a time.")
        else:
            start, end = preset_range(preset, self.today)
        data.update({"preset": preset, "date_from": start, "date_to": end})
        return data

    def show_period(self) -> None:
        """After a valid request, show the period in effect: its preset and its dates."""
        for name in ("date_from", "date_to"):
            self.data[name] = self.cleaned_data[name].isoformat()
        self.data["preset"] = self.data["shown"] = self.cleaned_data["preset"]

    def filters(self) -> Filters:
        data = self.cleaned_data
        return Filters(
            date_from=data["date_from"],
            date_to=data["date_to"],
            preset=data["preset"],
            jurisdiction=data.get("jurisdiction"),
            team=data.get("team"),
            specialist=data.get("specialist"),
            group=data.get("group") or "month",
        )


class RecoveriesForm(ReportForm):
    group = forms.ChoiceField(
        label="Per",
        choices=[("month", "Month"), ("quarter", "Federal fiscal quarter")],
        required=False,
    )


class LienEventsForm(ReportForm):
    event = forms.ChoiceField(label="List", choices=[], required=False)

    def __init__(self, *args, events: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["event"].choices = [("", "—")] + events
