"""The settlement calculator screen: every formula side by side with each step and its
authority, the jurisdiction's default marked, and what-if sliders that re-calculate via htmx.

The page writes nothing, so it answers GET and every staff role may use it. Opened from a case
(`?case=<id>`, found through `case_get`, so a case the user may not see is a 404) it starts from
the case's lien and jurisdiction and splits each recovery into federal and state shares over the
case's included claim lines. It shows no member data, so it writes no PHI access log.
"""

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation

from django import forms
from django.http import QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from cases.models import US_STATES, Case, Jurisdiction
from cases.selectors import case_claims, case_get
from recovery.core.permissions import staff_required
from recovery.money import MAX_DIGITS, ZERO, to_money

from . import calculator

WHAT_IF_GROSS = "what_if_gross"
WHAT_IF_FEES = "what_if_fees"
REQUIRED = ("gross_settlement", "attorney_fees", "costs", "program_paid")
OPTIONAL = (
    "full_value",
    "allocation_ratio",
    "fixed_percentage",
    "fixed_threshold",
    "ordered_amount",
    "jurisdiction",
)
# Without a jurisdiction, the rule most programs follow (Jurisdiction.default_formula's default).
FALLBACK_DEFAULT_FORMULA = "procurement_cost"


class RangeInput(forms.NumberInput):
    input_type = "range"


def _money_field(label: str, *, required: bool = True, help_text: str = "") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        max_digits=MAX_DIGITS,
        decimal_places=2,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal"}),
    )


class CalculatorForm(forms.Form):
    """Parses what was typed; `calculator.validate` judges it, so the page and the API give
    the same messages."""

    gross_settlement = _money_field("Gross settlement")
    attorney_fees = _money_field("Attorney fees")
    costs = _money_field("Costs", help_text="Procurement (taxable) costs.")
    program_paid = _money_field("Program payments", help_text="The lien amount.")
    full_value = _money_field(
        "Full value of damages", required=False, help_text="For a pro-rata allocation."
    )
    allocation_ratio = forms.DecimalField(
        label="Allocation ratio",
        required=False,
        max_digits=11,
        decimal_places=10,
        help_text="0–1, stipulated or set by a court; replaces settlement ÷ full value.",
        widget=forms.NumberInput(attrs={"step": "any", "min": "0", "max": "1"}),
    )
    fixed_percentage = forms.DecimalField(
        label="Fixed percentage (%)",
        required=False,
        max_digits=9,
        decimal_places=4,
        help_text="Where the program offers one, e.g. 25.",
        widget=forms.NumberInput(attrs={"step": "any", "min": "0", "max": "100"}),
    )
    fixed_threshold = _money_field(
        "Fixed percentage up to",
        required=False,
        help_text=f"Largest settlement it applies to; {calculator.usd(calculator.DEFAULT_FIXED_THRESHOLD)} if empty.",
    )
    ordered_amount = _money_field(
        "Ordered amount", required=False, help_text="Set by a court or hearing: overrides all."
    )
    jurisdiction = forms.ChoiceField(
        label="Jurisdiction",
        required=False,
        choices=[("", "—")] + list(US_STATES),
        help_text="Marks its default formula.",
    )
    case = forms.IntegerField(required=False, widget=forms.HiddenInput)
    # Marks a formula instead of the jurisdiction's default (an unknown code is ignored).
    default = forms.CharField(required=False, max_length=30, widget=forms.HiddenInput)
    what_if_gross = forms.DecimalField(
        label="What if the settlement were",
        required=False,
        min_value=ZERO,
        widget=RangeInput(attrs={"min": "0", "step": "1"}),
    )
    what_if_fees = forms.DecimalField(
        label="What if the fees were (% of the settlement)",
        required=False,
        min_value=ZERO,
        max_value=Decimal(100),
        widget=RangeInput(attrs={"min": "0", "step": "0.5"}),
    )

    def __init__(self, *args, slider_max: Decimal = Decimal(100000), **kwargs):
        super().__init__(*args, **kwargs)
        results_url = reverse("settlements:results")
        for name in (WHAT_IF_GROSS, WHAT_IF_FEES):
            # `consume` keeps the slider's input event from also triggering the form itself.
            self.fields[name].widget.attrs.update(
                {
                    "hx-get": results_url,
                    "hx-trigger": "input changed delay:200ms consume",
                    "hx-include": "closest form",
                    "hx-target": "#calc-results",
                }
            )
        self.fields[WHAT_IF_GROSS].widget.attrs["max"] = str(slider_max)
        self.fields[WHAT_IF_FEES].widget.attrs["max"] = "100"

    def inputs(self) -> calculator.Inputs:
        data = self.cleaned_data
        percentage = data.get("fixed_percentage")
        return calculator.Inputs(
            gross_settlement=data["gross_settlement"],
            attorney_fees=data["attorney_fees"],
            costs=data["costs"],
            program_paid=data["program_paid"],
            full_value=data.get("full_value"),
            allocation_ratio=data.get("allocation_ratio"),
            fixed_percentage=None if percentage is None else percentage / 100,
            fixed_threshold=data.get("fixed_threshold"),
            ordered_amount=data.get("ordered_amount"),
        )


def _number(value: str | None) -> Decimal | None:
    """A finite Decimal from a query value, or None: only for keeping the sliders in step."""
    try:
        number = Decimal((value or "").strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() and number >= 0 else None


def _sync_what_if(data: QueryDict, trigger: str | None) -> None:
    """A slider leads when it triggered the request (fees keep their share of a new settlement);
    otherwise the typed amounts lead and the sliders follow them."""
    gross = _number(data.get("gross_settlement"))
    if trigger == WHAT_IF_GROSS:
        gross = _number(data.get(WHAT_IF_GROSS))
        if gross is not None:
            data["gross_settlement"] = str(to_money(gross.quantize(Decimal(1), ROUND_HALF_UP)))
            gross = Decimal(data["gross_settlement"])
    if trigger in (WHAT_IF_GROSS, WHAT_IF_FEES):
        share = _number(data.get(WHAT_IF_FEES))
        if gross is not None and share is not None and share <= 100:
            data["attorney_fees"] = str(to_money(gross * share / 100))
        return
    fees = _number(data.get("attorney_fees"))
    if gross is not None:
        data[WHAT_IF_GROSS] = str(gross)
        if fees is not None and gross > 0:
            data[WHAT_IF_FEES] = str(min(fees * 100 / gross, Decimal(100)).quantize(Decimal("0.1")))


def _slider_max(data: QueryDict) -> Decimal:
    """Room to explore: twice the larger of the settlement and the lien, at least $10,000,
    rounded up to a round number."""
    largest = max(
        (_number(data.get(name)) or ZERO for name in ("gross_settlement", "program_paid")),
        default=ZERO,
    )
    top = max(largest * 2, Decimal(10000))
    magnitude = Decimal(10) ** (len(str(int(top))) - 1)
    return (top / magnitude).to_integral_value(rounding=ROUND_CEILING) * magnitude


# ---------------------------------------------------------------------------------------------
# Federal share over the case's included lines
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseLines:
    lines: tuple[tuple[Decimal, Decimal], ...]
    unknown_rates: int


def _case_lines(case: Case) -> CaseLines:
    """(paid, matching rate) of the included lines; a line without a stored rate takes the
    jurisdiction's FMAP for the federal fiscal year in which it was paid."""
    rates_by_year: dict[int, Decimal | None] = {}
    lines, unknown = [], 0
    rows = (
        case_claims(case)
        .filter(included=True)
        .values_list(
            "claim_line__paid_amount",
            "claim_line__fmap_rate",
            "claim_line__paid_date",
            "claim_line__service_from",
        )
    )
    for paid, rate, paid_on, served_on in rows:
        if rate is None:
            day = paid_on or served_on
            fiscal_year = day.year + 1 if day.month >= 10 else day.year
            if fiscal_year not in rates_by_year:
                rates_by_year[fiscal_year] = case.jurisdiction.fmap_for(day)
            rate = rates_by_year[fiscal_year]
        if rate is None:
            unknown += 1
        else:
            lines.append((paid, rate))
    return CaseLines(tuple(lines), unknown)


def _federal(recovery: Decimal, case_lines: CaseLines | None) -> tuple[dict | None, str]:
    if case_lines is None:
        return None, ""
    if case_lines.unknown_rates:
        return None, f"No matching rate for {case_lines.unknown_rates} included line(s)."
    try:
        split = calculator.federal_share(recovery, case_lines.lines)
    except ValueError:
        return (
            None,
            "More than the included lines paid: no federal split (the excess is not the program's).",
        )
    return {
        "federal": calculator.usd(split.total_federal),
        "state": calculator.usd(split.total_state),
        "lines": len(split.per_line),
    }, ""


# ---------------------------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------------------------


def _context(request, *, trigger: str | None = None) -> dict:
    case = None
    case_id = request.GET.get("case")
    if case_id:
        case = case_get(user=request.user, id=case_id)

    context: dict = {
        "case": case,
        "lien": calculator.usd(case.lien_amount) if case is not None else "",
        "required_fields": REQUIRED,
        "optional_fields": OPTIONAL,
        "errors": [],
        "missing": "",
        "cards": [],
        "calculated": False,
    }
    if not any(name in request.GET for name in REQUIRED):
        state = case.jurisdiction.code if case is not None else request.GET.get("jurisdiction", "")
        initial = {"case": case_id or None, "default": request.GET.get("default", "")}
        initial |= _jurisdiction_initial(_jurisdiction(state, case))
        if case is not None:
            initial["program_paid"] = case.lien_amount
        data = QueryDict(mutable=True)
        data.update({k: str(v) for k, v in initial.items() if v not in (None, "")})
        form = CalculatorForm(initial=initial, slider_max=_slider_max(data))
        context |= {"form": form, **_default_context(form, case, bound=False)}
        return context

    data = request.GET.copy()
    _sync_what_if(data, trigger)
    form = CalculatorForm(data, slider_max=_slider_max(data))
    context["form"] = form
    context |= _default_context(form, case, bound=True)
    inputs = _checked_inputs(form)
    if inputs is None:
        problems = form.errors.as_data()
        if all(error.code == "required" for errors in problems.values() for error in errors):
            # Still typing: name what is missing rather than list "required" errors.
            labels = [form[field].label.lower() for field in problems]
            context["missing"] = (
                f"{', '.join(labels[:-1])} and {labels[-1]}" if len(labels) > 1 else labels[0]
            )
        else:
            context["errors"] = [
                {
                    "id": form[field].id_for_label if field in form.fields else "",
                    "label": form[field].label if field in form.fields else "Inputs",
                    "message": " ".join(messages),
                }
                for field, messages in form.errors.items()
            ]
        return context

    results = calculator.compare(inputs)
    case_lines = _case_lines(case) if case is not None else None
    default_code = context["default_code"]
    cards = []
    for code, result in results.items():
        federal, federal_note = (
            _federal(result.recovery_amount, case_lines) if result.applies else (None, "")
        )
        reduction = inputs.program_paid - result.recovery_amount
        cards.append(
            {
                "code": code,
                "title": calculator.TITLES[code],
                "result": result,
                "recovery": calculator.usd(result.recovery_amount),
                "is_default": code == default_code,
                "reduction": calculator.usd(reduction) if result.applies and reduction > 0 else "",
                "reduction_percent": (
                    calculator.percent(
                        (reduction / inputs.program_paid).quantize(Decimal("0.0001"))
                    )
                    if result.applies and reduction > 0
                    else ""
                ),
                "steps": [
                    {
                        "label": step.label,
                        "amount": "" if step.amount is None else calculator.usd(step.amount),
                        "formula": step.formula,
                        "citation": step.citation,
                    }
                    for step in result.steps
                ],
                "federal": federal,
                "federal_note": federal_note,
            }
        )
    fees_share = (
        calculator.percent(
            (inputs.attorney_fees / inputs.gross_settlement).quantize(Decimal("0.001"))
        )
        if inputs.gross_settlement
        else ""
    )
    default_card = next((card for card in cards if card["is_default"]), None)
    context |= {
        "calculated": True,
        "cards": cards,
        "ordered": (
            calculator.usd(results["ordered"].recovery_amount) if results["ordered"].applies else ""
        ),
        "summary": {
            "gross": calculator.usd(inputs.gross_settlement),
            "fees": calculator.usd(inputs.attorney_fees),
            "fees_share": fees_share,
            "costs": calculator.usd(inputs.costs),
            "paid": calculator.usd(inputs.program_paid),
        },
        "status_text": (
            f"{default_card['title']}: {default_card['recovery']}"
            if default_card and default_card["result"].applies
            else "Calculated."
        ),
    }
    return context


def _checked_inputs(form: CalculatorForm) -> calculator.Inputs | None:
    """The calculator's inputs, or None with the form's errors set — the form's parsing and
    the calculator's own checks, which the API shares."""
    if not form.is_valid():
        return None
    inputs = form.inputs()
    for field, message in calculator.validate(inputs).items():
        if field == "fixed_percentage":  # typed as a percentage on this page, not 0–1
            message = "Enter a percentage between 0 and 100."
        form.add_error(field if field in form.fields else None, message)
    return None if form.errors else inputs


def _jurisdiction(state: str, case: Case | None) -> Jurisdiction | None:
    if case is not None and case.jurisdiction.code == state:
        return case.jurisdiction  # loaded with the case
    if not state:
        return None
    return Jurisdiction.objects.filter(code=state).first()


def _jurisdiction_initial(jurisdiction: Jurisdiction | None) -> dict:
    """Start from the state's rules: its code and its fixed-percentage option, if it has one
    (the page takes the percentage as 25, the jurisdiction stores 0.2500)."""
    if jurisdiction is None:
        return {}
    initial: dict = {"jurisdiction": jurisdiction.code}
    if jurisdiction.fixed_percentage is not None:
        initial["fixed_percentage"] = (jurisdiction.fixed_percentage * 100).normalize()
    if jurisdiction.fixed_threshold is not None:
        initial["fixed_threshold"] = jurisdiction.fixed_threshold
    return initial


def _default_context(form: CalculatorForm, case: Case | None, *, bound: bool) -> dict:
    """Which formula to mark: `?default=` when given, else the jurisdiction's own default."""
    source = form.data if bound else form.initial
    chosen = source.get("default", "")
    if chosen in calculator.FORMULAS:
        return {"default_code": chosen, "default_label": "Chosen default"}
    jurisdiction = _jurisdiction(source.get("jurisdiction", ""), case)
    if jurisdiction is not None and jurisdiction.default_formula in calculator.FORMULAS:
        return {
            "default_code": jurisdiction.default_formula,
            "default_label": f"Default for {jurisdiction.name}",
        }
    return {"default_code": FALLBACK_DEFAULT_FORMULA, "default_label": "Default"}


@staff_required
@require_GET
def calculator_page(request):
    return render(request, "settlements/calculator.html", _context(request))


@staff_required
@require_GET
def calculator_results(request):
    """The results partial for htmx. The sliders and the typed amounts stay in step through
    out-of-band swaps — never of the control the user is moving."""
    trigger = request.htmx.trigger_name if request.htmx else None
    context = _context(request, trigger=trigger)
    form = context["form"]
    if trigger == WHAT_IF_GROSS:
        names = ["gross_settlement", "attorney_fees"]
    elif trigger == WHAT_IF_FEES:
        names = ["attorney_fees"]
    else:
        names = [WHAT_IF_GROSS, WHAT_IF_FEES]
    if form.is_bound:
        for name in names:
            form.fields[name].widget.attrs["hx-swap-oob"] = "true"
        context["oob_fields"] = [form[name] for name in names]
    context["oob_status"] = True
    return render(request, "settlements/_results.html", context)
