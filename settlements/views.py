"""Settlement screens.

The calculator: every formula side by side with each step and its authority, the jurisdiction's
default marked, and what-if sliders that re-calculate via htmx. It writes nothing, so it answers
GET and every staff role may use it. Opened from a case (`?case=<id>`, found through `case_get`,
so a case the user may not see is a 404) it starts from the case's lien and jurisdiction and
splits each recovery into federal and state shares over the case's included claim lines. It shows
no member data, so it writes no PHI access log.

The case's Settlement tab (negotiation log, the current settlement with every step, proposing with
a live authority check, decisions, installments, balance adjustments), the supervisors' Approvals
page and the negotiation brief PDF. Views stay thin: a form parses, a service decides and writes,
and every refusal of a service becomes a form error or a message, never a 500.
"""

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import reswap, retarget

from cases.forms import add_service_errors
from cases.models import US_STATES, Case, Jurisdiction
from cases.selectors import can_edit_case, case_claims, case_get
from cases.views import _header_context
from recovery.core.audit import log_phi_access
from recovery.core.exceptions import Conflict
from recovery.core.models import PhiAccess, Role, User
from recovery.core.pdf import render_pdf
from recovery.core.permissions import role_required, staff_required
from recovery.money import MAX_DIGITS, ZERO, to_money

from . import calculator, selectors, services
from .forms import (
    AdjustmentDecisionForm,
    AdjustmentForm,
    DecisionForm,
    InstallmentsForm,
    NegotiationForm,
    PaymentForm,
    ProposeForm,
    RejectForm,
)
from .models import (
    BalanceAdjustment,
    Installment,
    NegotiationEntry,
    PaymentArrangement,
    Settlement,
)

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


# =============================================================================================
# The case's Settlement tab: negotiation log, the current settlement, proposing, deciding,
# installments and balance adjustments
# =============================================================================================

WRITERS = (Role.SPECIALIST, Role.SUPERVISOR, Role.ADMIN)
SUPERVISING = (Role.SUPERVISOR, Role.ADMIN)
# Auditors read everything; every write refuses them (and attorneys) with a 403.
writer_required = role_required(*WRITERS)
approvals_required = role_required(Role.SUPERVISOR, Role.ADMIN, Role.AUDITOR)

ENTRIES_SHOWN = 200
SETTLEMENTS_SHOWN = 20
ADJUSTMENTS_SHOWN = 50
APPROVALS_SHOWN = 200


def _log_member(request, case: Case, action: str = PhiAccess.Action.VIEW) -> None:
    log_phi_access(
        user=request.user,
        subject_type="member",
        subject_ids=[case.member_id],
        action=action,
        case_id=case.pk,
        request=request,
    )


def _usd(value) -> str:
    if value in (None, ""):
        return ""
    return calculator.usd(to_money(Decimal(str(value))))


def _tab_url(case_or_pk) -> str:
    return reverse("settlements:case", args=[getattr(case_or_pk, "pk", case_or_pk)])


def _back(request, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _is_partial(request) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


def _arrangement(settlement: Settlement) -> PaymentArrangement | None:
    try:
        return settlement.arrangement
    except ObjectDoesNotExist:
        return None


def _steps(calculation: dict) -> list[dict]:
    return [
        {
            "label": step.get("label", ""),
            "amount": _usd(step.get("amount")),
            "formula": step.get("formula", ""),
            "citation": step.get("citation", ""),
        }
        for step in calculation.get("steps", [])
    ]


def _settlement_view(settlement: Settlement, user: User, *, with_arrangement=True) -> dict:
    """What the tab and the approvals page show of one settlement, and what the user may do."""
    calc = settlement.calculation or {}
    pending = settlement.status == Settlement.Status.PENDING
    baseline_formula = calc.get("baseline_formula", "")
    arrangement = _arrangement(settlement) if with_arrangement else None
    return {
        "obj": settlement,
        "steps": _steps(calc),
        "baseline_title": calculator.TITLES.get(baseline_formula, baseline_formula),
        "baseline": _usd(calc.get("baseline_recovery")),
        "discretionary": (
            _usd(calc.get("discretionary_reduction"))
            if Decimal(calc.get("discretionary_reduction") or "0")
            else ""
        ),
        "discretionary_percent": calc.get("discretionary_percent_of_lien", ""),
        "below_formula": settlement.agreed_recovery < settlement.computed_recovery,
        "can_decide": pending and user.role in SUPERVISING and settlement.proposed_by_id != user.pk,
        "own": settlement.proposed_by_id == user.pk,
        "arrangement": arrangement,
        "installments": list(arrangement.installments.all()) if arrangement else [],
    }


def _proposal_initial(case: Case, entries: list[NegotiationEntry]) -> dict:
    """Start from the latest reported settlement amount, if one was logged."""
    initial: dict = {"formula": case.jurisdiction.default_formula}
    for entry in entries:
        if entry.kind == NegotiationEntry.Kind.SETTLEMENT_REPORT and entry.amount is not None:
            initial["gross_settlement"] = entry.amount
            break
    return initial


def _preview_context(case: Case, user: User, form: ProposeForm) -> dict:
    """The live answer under the proposal form: every formula for the figures typed, the chosen
    one, and whether the agreed amount is within the user's authority (`evaluate_proposal`, the
    same rule the service applies)."""
    context: dict = {"case": case, "preview": None, "preview_errors": [], "missing": False}
    if not form.is_bound:
        return context
    form.is_valid()  # parse what can be parsed; the figures are all that matters here
    data = getattr(form, "cleaned_data", {})
    if data.get("gross_settlement") is None:
        context["missing"] = True
        # Still typing: an empty field is not an error yet, a malformed number is.
        problems = form.errors.as_data()
        context["preview_errors"] = [
            f"{form[name].label}: {' '.join(e.messages[0] for e in errors)}"
            for name, errors in problems.items()
            if name in form.fields and any(e.code != "required" for e in errors)
        ]
        return context
    proposal = selectors.evaluate_proposal(
        case=case,
        user=user,
        formula=data.get("formula") or None,
        agreed_recovery=data.get("agreed_recovery"),
        **form.figures(),
    )
    labels = {name: field.label for name, field in form.fields.items()}
    context["preview_errors"] = [
        f"{labels.get(field, 'Figures')}: {message}" for field, message in proposal.errors.items()
    ]
    if proposal.result is None:
        return context
    paid = proposal.inputs.program_paid
    rows = []
    for code, result in proposal.compared.items():
        rows.append(
            {
                "code": code,
                "title": calculator.TITLES[code],
                "applies": result.applies,
                "recovery": calculator.usd(result.recovery_amount) if result.applies else "",
                "note": result.note,
                "is_default": code == proposal.default_formula,
                "is_chosen": code == proposal.formula,
                "reduction": (
                    calculator.usd(paid - result.recovery_amount)
                    if result.applies and paid > result.recovery_amount
                    else ""
                ),
            }
        )
    authority = proposal.authority
    context["preview"] = {
        "rows": rows,
        "chosen_title": calculator.TITLES[proposal.formula],
        "computed": calculator.usd(proposal.result.recovery_amount),
        "agreed": calculator.usd(proposal.agreed),
        "agreed_is_computed": data.get("agreed_recovery") is None,
        "below_formula": proposal.below_formula,
        "paid": calculator.usd(paid),
        "authority": authority,
        "baseline_title": calculator.TITLES.get(
            authority.baseline_formula, authority.baseline_formula
        ),
        "baseline": calculator.usd(authority.baseline),
        "discretionary": calculator.usd(authority.discretionary),
        "max_amount": calculator.usd(authority.max_amount),
        "lowest": calculator.usd(
            selectors.lowest_within_authority(
                user=user, program_paid=paid, baseline=authority.baseline
            )
        ),
        "approver": user.supervisor if not authority.within else None,
    }
    return context


def _tab_context(
    request,
    case: Case,
    *,
    negotiation_form: NegotiationForm | None = None,
    propose_form: ProposeForm | None = None,
    installments_form: InstallmentsForm | None = None,
    adjustment_form: AdjustmentForm | None = None,
) -> dict:
    user = request.user
    can_edit = can_edit_case(user, case)
    entries = list(selectors.case_negotiation(case)[:ENTRIES_SHOWN])
    settlements = list(selectors.case_settlements(case)[:SETTLEMENTS_SHOWN])
    live = selectors.live_settlement(settlements)
    adjustments = list(selectors.case_adjustments(case)[:ADJUSTMENTS_SHOWN])
    for adjustment in adjustments:
        adjustment.can_decide = (
            adjustment.status == BalanceAdjustment.Status.REQUESTED
            and user.role in SUPERVISING
            and adjustment.requested_by_id != user.pk
        )
    context: dict = {
        "can_edit": can_edit,
        "entries": entries,
        "entries_capped": len(entries) == ENTRIES_SHOWN,
        "live": _settlement_view(live, user) if live else None,
        "earlier": [s for s in settlements if s is not live],
        "adjustments": adjustments,
        "lien": calculator.usd(case.lien_amount),
        "authority_amount": calculator.usd(user.authority_max_reduction_amount),
        "authority_percent": user.authority_max_reduction_percent,
    }
    if can_edit:
        context["negotiation_form"] = negotiation_form or NegotiationForm(case=case)
        context["adjustment_form"] = adjustment_form or AdjustmentForm()
        if live is None:
            form = propose_form or ProposeForm(initial=_proposal_initial(case, entries), case=case)
            context["propose_form"] = form
            preview_form = form
            if not form.is_bound and form.initial.get("gross_settlement") is not None:
                preview_form = ProposeForm(
                    {k: v for k, v in form.initial.items() if v is not None}, case=case
                )
            context |= _preview_context(case, user, preview_form)
        elif live.status == Settlement.Status.ACCEPTED and not _arrangement(live):
            context["installments_form"] = installments_form or InstallmentsForm(
                initial={"first_due_on": live.funds_due_on}
            )
    return context


def _tab_page(request, case: Case, *, status: int = 200, **forms):
    context = _header_context(request, case)
    context.update(_tab_context(request, case, **forms))
    context["tab"] = "settlement"
    _log_member(request, case)
    return render(request, "settlements/tab.html", context, status=status)


def _editable_case(request, pk) -> Case:
    case = case_get(user=request.user, id=pk)
    if not can_edit_case(request.user, case):
        raise PermissionDenied("Only the assigned specialist or a supervisor may act on this case.")
    return case


@staff_required
@require_GET
def case_settlement(request, pk: int):
    case = case_get(user=request.user, id=pk)
    return _tab_page(request, case)


@writer_required
@require_POST
def negotiation_add(request, pk: int):
    case = _editable_case(request, pk)
    form = NegotiationForm(request.POST, case=case)
    entry = None
    if form.is_valid():
        try:
            entry = services.log_negotiation(case=case, logged_by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
    if _is_partial(request):
        if entry is None:
            response = render(
                request,
                "settlements/_negotiation_form.html",
                {"case": case, "negotiation_form": form},
            )
            return reswap(retarget(response, "#negotiation-form"), "outerHTML")
        return render(
            request,
            "settlements/_negotiation_added.html",
            {"case": case, "entry": entry, "negotiation_form": NegotiationForm(case=case)},
        )
    if entry is None:
        return _tab_page(request, case, status=400, negotiation_form=form)
    messages.success(request, f"Logged: {entry.get_kind_display()}.")
    return redirect(_tab_url(case))


@writer_required
@require_GET
def proposal_preview(request, pk: int):
    case = case_get(user=request.user, id=pk)
    form = ProposeForm(request.GET, case=case)
    context = _preview_context(case, request.user, form) | {"oob_status": True}
    return render(request, "settlements/_proposal_preview.html", context)


# Service field names that the form calls otherwise, or shows above the fields.
PROPOSE_FIELD_MAP = {"program_paid": None, "fixed_percentage": None, "installments": None}


@writer_required
@require_POST
def propose(request, pk: int):
    case = _editable_case(request, pk)
    form = ProposeForm(request.POST, case=case)
    if form.is_valid():
        data = form.cleaned_data
        try:
            settlement = services.propose_settlement(
                case=case,
                proposed_by=request.user,
                formula=data["formula"],
                agreed_recovery=data.get("agreed_recovery"),
                reduction_requested=data["reduction_requested"],
                compromise_reason=data["compromise_reason"],
                justification=data["justification"],
                **form.figures(),
            )
        except ValidationError as exc:
            add_service_errors(form, exc, PROPOSE_FIELD_MAP)
        except Conflict as exc:
            # Only a stale page posts this: the form is not shown while a settlement is live.
            messages.error(request, exc.message)
            return redirect(_tab_url(case))
        else:
            if settlement.status == Settlement.Status.ACCEPTED:
                messages.success(
                    request,
                    f"Settlement accepted at {calculator.usd(settlement.agreed_recovery)}; "
                    f"funds are due by {settlement.funds_due_on:%Y-%m-%d}.",
                )
            else:
                approver = settlement.approver
                messages.success(
                    request,
                    f"Beyond your authority: sent to {approver} for approval."
                    if approver
                    else "Beyond your authority: sent for approval.",
                )
            return redirect(_tab_url(case))
    return _tab_page(request, case, status=400, propose_form=form)


def _visible_settlement(request, id: int) -> Settlement:
    try:
        return selectors.settlement_get(user=request.user, id=id)
    except Settlement.DoesNotExist as exc:
        raise Http404("No such settlement") from exc


def _run(request, action, success: str) -> bool:
    """Run a service call; its refusals become messages on the next page, never a 500."""
    try:
        action()
    except PermissionDenied as exc:
        messages.error(request, str(exc) or "You may not do this.")
    except Conflict as exc:
        messages.error(request, exc.message)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, success)
        return True
    return False


@writer_required
@require_POST
def approve(request, id: int):
    settlement = _visible_settlement(request, id)
    form = DecisionForm(request.POST)
    form.is_valid()
    _run(
        request,
        lambda: services.approve_settlement(
            settlement=settlement,
            approved_by=request.user,
            note=form.cleaned_data.get("note", ""),
        ),
        f"Settlement on {settlement.case.number} approved.",
    )
    return redirect(_back(request, _tab_url(settlement.case_id)))


@writer_required
@require_POST
def reject(request, id: int):
    settlement = _visible_settlement(request, id)
    form = RejectForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["note"]))
    else:
        _run(
            request,
            lambda: services.reject_settlement(
                settlement=settlement, rejected_by=request.user, note=form.cleaned_data["note"]
            ),
            f"Settlement on {settlement.case.number} rejected.",
        )
    return redirect(_back(request, _tab_url(settlement.case_id)))


@writer_required
@require_POST
def supersede(request, id: int):
    settlement = _visible_settlement(request, id)
    _run(
        request,
        lambda: services.supersede_settlement(settlement=settlement, by=request.user),
        "Settlement set aside: propose the new one.",
    )
    return redirect(_tab_url(settlement.case_id))


@writer_required
@require_POST
def installments(request, id: int):
    settlement = _visible_settlement(request, id)
    form = InstallmentsForm(request.POST)
    if form.is_valid():
        try:
            arrangement = services.arrange_installments(
                settlement=settlement,
                arranged_by=request.user,
                installments=form.cleaned_data["installments"],
                first_due_on=form.cleaned_data["first_due_on"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        except Conflict as exc:
            messages.error(request, exc.message)
            return redirect(_tab_url(settlement.case_id))
        else:
            messages.success(request, f"{arrangement.installments_count} installments set up.")
            return redirect(_tab_url(settlement.case_id))
    case = case_get(user=request.user, id=settlement.case_id)
    return _tab_page(request, case, status=400, installments_form=form)


@writer_required
@require_POST
def installment_payment(request, id: int):
    try:
        installment = selectors.installment_get(user=request.user, id=id)
    except (Installment.DoesNotExist, ValueError) as exc:
        raise Http404("No such installment") from exc
    form = PaymentForm(request.POST)
    case_id = installment.arrangement.settlement.case_id
    if not form.is_valid():
        messages.error(request, "Enter the amount received, in dollars and cents.")
    else:
        _run(
            request,
            lambda: services.record_installment_payment(
                installment=installment,
                amount=form.cleaned_data["amount"],
                recorded_by=request.user,
            ),
            f"Payment of {calculator.usd(form.cleaned_data['amount'])} recorded on "
            f"installment {installment.number}.",
        )
    return redirect(_tab_url(case_id))


@writer_required
@require_POST
def adjustment_request(request, pk: int):
    case = _editable_case(request, pk)
    form = AdjustmentForm(request.POST)
    if form.is_valid():
        try:
            adjustment = services.request_adjustment(
                case=case, requested_by=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, f"{adjustment.get_kind_display()} requested: a supervisor decides."
            )
            return redirect(_tab_url(case))
    return _tab_page(request, case, status=400, adjustment_form=form)


@writer_required
@require_POST
def adjustment_decide(request, id: int):
    try:
        adjustment = selectors.adjustments_visible_to(request.user).get(pk=id)
    except BalanceAdjustment.DoesNotExist as exc:
        raise Http404("No such adjustment") from exc
    form = AdjustmentDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose approve or reject.")
    else:
        verb = "approved" if form.approve else "rejected"
        _run(
            request,
            lambda: services.decide_adjustment(
                adjustment=adjustment,
                decided_by=request.user,
                approve=form.approve,
                note=form.cleaned_data["note"],
            ),
            f"{adjustment.get_kind_display()} on {adjustment.case.number} {verb}.",
        )
    return redirect(_back(request, _tab_url(adjustment.case_id)))


# ---------------------------------------------------------------------------------------------
# Approvals
# ---------------------------------------------------------------------------------------------


def _lien_tab(case_id: int) -> str:
    try:
        return reverse("liens:case-lien", args=[case_id])
    except NoReverseMatch:
        return reverse("cases:detail", args=[case_id])


@approvals_required
@require_GET
def approvals(request):
    """Everything waiting for the user's decision, oldest first, with how long it has waited
    in business time. Auditors see it all, read-only."""
    user = request.user
    now = timezone.now()
    may_decide = user.role in SUPERVISING
    settlements = list(selectors.pending_settlements_for(user)[:APPROVALS_SHOWN])
    changes = list(selectors.pending_lien_changes_for(user)[:APPROVALS_SHOWN])
    adjustments = list(selectors.pending_adjustments_for(user)[:APPROVALS_SHOWN])

    settlement_rows = []
    for settlement in settlements:
        view = _settlement_view(settlement, user, with_arrangement=False)
        view["age"] = selectors.business_age(settlement.escalated_at or settlement.proposed_at, now)
        view["can_decide"] = view["can_decide"] and may_decide
        settlement_rows.append(view)
    for change in changes:
        change.age = selectors.business_age(change.requested_at, now)
        change.own = change.requested_by_id == user.pk
        change.link = _lien_tab(change.lien.case_id)
    for adjustment in adjustments:
        adjustment.age = selectors.business_age(adjustment.requested_at, now)
        adjustment.own = adjustment.requested_by_id == user.pk
        adjustment.can_decide = may_decide and not adjustment.own

    members = [s.case.member_id for s in settlements]
    members += [c.lien.case.member_id for c in changes]
    members += [a.case.member_id for a in adjustments]
    if members:
        log_phi_access(user=user, subject_type="member", subject_ids=members, request=request)
    context = {
        "settlements": settlement_rows,
        "changes": changes,
        "adjustments": adjustments,
        "may_decide": may_decide,
        "capped": APPROVALS_SHOWN,
        "here": request.get_full_path(),
        "count": len(settlements) + len(changes) + len(adjustments),
    }
    return render(request, "settlements/approvals.html", context)


# ---------------------------------------------------------------------------------------------
# Negotiation brief (PDF)
# ---------------------------------------------------------------------------------------------

BRIEF_ENTRIES = 6
BRIEF_PARAMS = {
    "gross": "gross_settlement",
    "fees": "attorney_fees",
    "costs": "costs",
    "full_value": "full_value",
    "ratio": "allocation_ratio",
}


def _brief_figures(request, latest: Settlement | None, entries) -> tuple[dict | None, str]:
    """The figures to compare: `?gross=&fees=&costs=` when given, else the latest settlement's,
    else the latest reported settlement amount. Raises ValueError on a bad number."""
    if any(request.GET.get(name) for name in BRIEF_PARAMS):
        figures = {}
        for param, name in BRIEF_PARAMS.items():
            raw = (request.GET.get(param) or "").strip()
            if not raw:
                continue
            try:
                value = Decimal(raw)
            except InvalidOperation as exc:
                raise ValueError(f"{param} must be a number") from exc
            if not value.is_finite() or value < 0:
                raise ValueError(f"{param} must be a non-negative number")
            figures[name] = value if name == "allocation_ratio" else to_money(value)
        if "gross_settlement" not in figures:
            raise ValueError("gross is required with fees and costs")
        return figures, "the figures asked for"
    if latest is not None:
        return {
            "gross_settlement": latest.gross_settlement,
            "attorney_fees": latest.attorney_fees,
            "costs": latest.costs,
            "full_value": latest.full_value,
            "allocation_ratio": latest.allocation_ratio,
        }, f"the settlement proposed on {timezone.localdate(latest.proposed_at):%Y-%m-%d}"
    for entry in entries:
        if entry.kind == NegotiationEntry.Kind.SETTLEMENT_REPORT and entry.amount is not None:
            return {"gross_settlement": entry.amount}, (
                f"the settlement reported on {entry.occurred_on:%Y-%m-%d} (no fees or costs yet)"
            )
    return None, ""


@staff_required
@require_GET
def brief_pdf(request, pk: int):
    case = case_get(user=request.user, id=pk)
    user = request.user
    entries = list(selectors.case_negotiation(case)[:BRIEF_ENTRIES])
    latest = selectors.case_settlements(case).first()
    try:
        figures, figures_source = _brief_figures(request, latest, entries)
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")

    comparison, authority = [], None
    if figures is not None:
        proposal = selectors.evaluate_proposal(case=case, user=user, **figures)
        if proposal.compared:
            paid = case.lien_amount
            for code, result in proposal.compared.items():
                if code == "ordered" and not result.applies:
                    continue
                comparison.append(
                    {
                        "title": calculator.TITLES[code],
                        "applies": result.applies,
                        "recovery": result.recovery_amount,
                        "reduction": max(paid - result.recovery_amount, ZERO),
                        "note": result.note,
                        "is_default": code == proposal.default_formula,
                    }
                )
            if proposal.authority is not None:
                authority = {
                    "baseline_title": calculator.TITLES.get(
                        proposal.authority.baseline_formula, ""
                    ),
                    "baseline": proposal.authority.baseline,
                    "lowest": selectors.lowest_within_authority(
                        user=user, program_paid=paid, baseline=proposal.authority.baseline
                    ),
                }
        else:
            figures_source += " — " + "; ".join(proposal.errors.values())

    member = case.member
    context = {
        **_letterhead(),
        "kind_label": "Negotiation brief",
        "case": case,
        "case_number": case.number,
        "member_name": member.full_name,
        "letter_date": timezone.localdate(),
        "references": [
            ("Our reference", case.number),
            ("Member", member.full_name),
            (
                "Date of injury",
                f"{case.incident_date:%Y-%m-%d} ({case.get_incident_kind_display()})",
            ),
            ("State", case.jurisdiction.name),
        ],
        "lien_amount": case.lien_amount,
        "totals": selectors.claim_totals(case),
        "insurers": selectors.liability_insurers(case),
        "latest": latest,
        "latest_proposed_on": timezone.localdate(latest.proposed_at) if latest else None,
        "entries": entries,
        "figures": figures,
        "figures_source": figures_source,
        "comparison": comparison,
        "authority": authority,
        "user": user,
        "authority_amount": user.authority_max_reduction_amount,
        "authority_percent": user.authority_max_reduction_percent,
    }
    pdf = render_pdf("settlements/brief.html", context)
    _log_member(request, case, PhiAccess.Action.PRINT)
    response = HttpResponse(pdf.content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="brief-{case.number}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


def _letterhead() -> dict:
    try:
        from liens.letters import letterhead
    except ImportError:  # the letters module ships with the liens app
        return {"agency": {"name": settings.AGENCY_NAME}}
    return {"agency": letterhead()}
