"""Settlement reads: what a user may see, what a proposal would give and whether it is within the
proposer's authority, and the approvals waiting for a supervisor.

`authority_check` is the one statement of the authority rule; the proposal screen previews with
it, and `services.propose_settlement` should decide with it, so the screen never promises what the
service refuses.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from cases.models import Case, CaseParty
from cases.selectors import cases_visible_to
from recovery.core.models import Role, User
from recovery.money import CENT, ZERO, to_money

from . import calculator
from .models import BalanceAdjustment, Installment, NegotiationEntry, Settlement

LIVE = (Settlement.Status.PENDING, Settlement.Status.ACCEPTED)
PERCENT_PLACES = Decimal("0.0001")


# ---------------------------------------------------------------------------------------------
# Authority
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Authority:
    """How an agreed recovery measures against the proposer's limits.

    Authority is measured on the discretionary part only: how far the agreed recovery falls below
    what the jurisdiction's default formula gives. What the law gives is not a concession, and
    choosing a more generous formula than the default counts as discretion too.
    """

    baseline_formula: str
    baseline: Decimal
    agreed: Decimal
    discretionary: Decimal
    discretionary_percent: Decimal
    max_amount: Decimal
    max_percent: Decimal
    within: bool

    @property
    def over_amount(self) -> bool:
        return self.discretionary > self.max_amount

    @property
    def over_percent(self) -> bool:
        return self.discretionary_percent > self.max_percent


def authority_check(
    *,
    user: User,
    program_paid: Decimal,
    agreed: Decimal,
    formula: str,
    default_formula: str,
    results: dict[str, calculator.Result],
) -> Authority:
    """Is `agreed` (under `formula`) within `user`'s authority? `results` are the formulas'
    results for the same figures; the default formula's is the baseline, or the chosen formula's
    when the default does not apply. A court- or hearing-ordered amount is never discretionary."""
    chosen = results[formula]
    baseline = results.get(default_formula, chosen).recovery_amount
    if formula == "ordered":
        baseline = agreed
    discretionary = max(to_money(baseline - agreed), ZERO)
    percent = (
        (discretionary * 100 / program_paid).quantize(PERCENT_PLACES)
        if program_paid
        else Decimal("0")
    )
    max_amount = user.authority_max_reduction_amount
    max_percent = user.authority_max_reduction_percent
    within = discretionary == ZERO or (discretionary <= max_amount and percent <= max_percent)
    return Authority(
        baseline_formula=default_formula if default_formula in results else formula,
        baseline=baseline,
        agreed=agreed,
        discretionary=discretionary,
        discretionary_percent=percent,
        max_amount=max_amount,
        max_percent=max_percent,
        within=within,
    )


def lowest_within_authority(*, user: User, program_paid: Decimal, baseline: Decimal) -> Decimal:
    """The lowest recovery `user` may agree to alone when the default formula gives `baseline`."""
    by_percent = (user.authority_max_reduction_percent * program_paid / 100).quantize(
        CENT, rounding=ROUND_DOWN
    )
    lowest = max(baseline - min(user.authority_max_reduction_amount, by_percent), ZERO)
    results = {"baseline": calculator.Result("baseline", baseline, ())}

    def inside(amount: Decimal) -> bool:
        return authority_check(
            user=user,
            program_paid=program_paid,
            agreed=amount,
            formula="baseline",
            default_formula="baseline",
            results=results,
        ).within

    while lowest < baseline and not inside(lowest):  # a cent or two of rounding at most
        lowest += CENT
    return to_money(lowest)


# ---------------------------------------------------------------------------------------------
# A proposal, evaluated without writing anything
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    inputs: calculator.Inputs | None
    formula: str
    default_formula: str
    compared: dict[str, calculator.Result]
    result: calculator.Result | None
    agreed: Decimal | None
    authority: Authority | None
    errors: dict[str, str]

    @property
    def below_formula(self) -> bool:
        return bool(
            self.result and self.agreed is not None and self.agreed < self.result.recovery_amount
        )


def proposal_inputs(
    case: Case,
    *,
    gross_settlement: Decimal,
    attorney_fees: Decimal | None = None,
    costs: Decimal | None = None,
    full_value: Decimal | None = None,
    allocation_ratio: Decimal | None = None,
    ordered_amount: Decimal | None = None,
) -> calculator.Inputs:
    """The calculator's inputs for a settlement on `case`: its lien and its state's options."""
    jurisdiction = case.jurisdiction
    return calculator.Inputs(
        gross_settlement=to_money(gross_settlement),
        attorney_fees=to_money(attorney_fees or ZERO),
        costs=to_money(costs or ZERO),
        program_paid=case.lien_amount,
        full_value=to_money(full_value) if full_value is not None else None,
        allocation_ratio=allocation_ratio,
        fixed_percentage=jurisdiction.fixed_percentage,
        fixed_threshold=jurisdiction.fixed_threshold,
        ordered_amount=to_money(ordered_amount) if ordered_amount is not None else None,
    )


def evaluate_proposal(
    *,
    case: Case,
    user: User,
    formula: str | None = None,
    agreed_recovery: Decimal | None = None,
    **figures,
) -> Proposal:
    """What `propose_settlement` would decide for these figures, without writing: every
    formula side by side, the chosen one, the agreed amount (the computed one when not given)
    and the authority verdict; `errors` maps field → message as the service would raise them."""
    default_formula = case.jurisdiction.default_formula
    formula = formula or default_formula
    inputs = proposal_inputs(case, **figures)
    empty = Proposal(inputs, formula, default_formula, {}, None, None, None, {})
    if formula not in calculator.FORMULAS:
        return _with_errors(empty, {"formula": "Unknown formula."})
    errors = calculator.validate(inputs, formula)
    if errors:
        return _with_errors(empty, errors)
    compared = calculator.compare(inputs)
    result = compared[formula]
    if not result.applies:
        return _with_errors(empty, {"formula": result.note}, compared=compared)
    applying = {code: r for code, r in compared.items() if r.applies}
    agreed = to_money(agreed_recovery) if agreed_recovery is not None else result.recovery_amount
    errors = {}
    if inputs.program_paid <= ZERO:
        errors["program_paid"] = (
            "The case has no lien amount to recover: include claim lines first."
        )
    if agreed < ZERO:
        errors["agreed_recovery"] = "The agreed recovery cannot be negative."
    elif agreed > min(inputs.program_paid, inputs.gross_settlement) and formula != "ordered":
        errors["agreed_recovery"] = (
            "The program cannot recover more than it paid or than the settlement."
        )
    authority = authority_check(
        user=user,
        program_paid=inputs.program_paid,
        agreed=agreed,
        formula=formula,
        default_formula=default_formula,
        results=applying,
    )
    return Proposal(inputs, formula, default_formula, compared, result, agreed, authority, errors)


def _with_errors(proposal: Proposal, errors: dict, **changes) -> Proposal:
    return replace(proposal, errors=errors, **changes)


# ---------------------------------------------------------------------------------------------
# What a user may see
# ---------------------------------------------------------------------------------------------


def settlements_visible_to(user: User) -> QuerySet[Settlement]:
    return Settlement.objects.filter(case__in=cases_visible_to(user)).select_related(
        "case", "proposed_by", "decided_by", "approver"
    )


def settlement_get(*, user: User, id) -> Settlement:
    """A settlement on a case the user may see; `Settlement.DoesNotExist` otherwise."""
    try:
        return settlements_visible_to(user).get(pk=int(id))
    except (TypeError, ValueError) as exc:
        raise Settlement.DoesNotExist from exc


def negotiation_visible_to(user: User) -> QuerySet[NegotiationEntry]:
    return NegotiationEntry.objects.filter(case__in=cases_visible_to(user)).select_related(
        "party", "created_by"
    )


def adjustments_visible_to(user: User) -> QuerySet[BalanceAdjustment]:
    return BalanceAdjustment.objects.filter(case__in=cases_visible_to(user)).select_related(
        "case", "requested_by", "decided_by"
    )


def installment_get(*, user: User, id) -> Installment:
    return Installment.objects.select_related("arrangement__settlement__case").get(
        pk=int(id), arrangement__settlement__case__in=cases_visible_to(user)
    )


# ---------------------------------------------------------------------------------------------
# One case's settlement tab
# ---------------------------------------------------------------------------------------------


def case_negotiation(case: Case) -> QuerySet[NegotiationEntry]:
    return case.negotiation.select_related("party", "created_by").order_by("-occurred_on", "-id")


def case_settlements(case: Case) -> QuerySet[Settlement]:
    """Newest first, with what the tab shows: people, the arrangement and its installments."""
    return (
        case.settlements.select_related(
            "proposed_by", "decided_by", "approver", "arrangement", "arrangement__created_by"
        )
        .prefetch_related(
            Prefetch("arrangement__installments", queryset=Installment.objects.order_by("number"))
        )
        .order_by("-proposed_at", "-id")
    )


def live_settlement(settlements) -> Settlement | None:
    return next((s for s in settlements if s.status in LIVE), None)


def case_adjustments(case: Case) -> QuerySet[BalanceAdjustment]:
    return case.adjustments.select_related("requested_by", "decided_by").order_by(
        "-requested_at", "-id"
    )


def claim_totals(case: Case) -> dict:
    """Included lines: how many and what they paid."""
    totals = case.case_claims.aggregate(
        lines=Count("id", filter=Q(included=True)),
        paid=Sum("claim_line__paid_amount", filter=Q(included=True)),
    )
    return {"lines": totals["lines"], "paid": totals["paid"] or ZERO}


def liability_insurers(case: Case) -> list[CaseParty]:
    return list(
        case.case_parties.filter(role=CaseParty.Role.LIABILITY_INSURER, is_active=True)
        .select_related("party")
        .order_by("id")
    )


# ---------------------------------------------------------------------------------------------
# Approvals
# ---------------------------------------------------------------------------------------------


def pending_settlements_for(user: User) -> QuerySet[Settlement]:
    """Settlements waiting for `user`: the ones they are the approver of; every pending one for
    an administrator (and, read-only, for an auditor)."""
    pending = Settlement.objects.filter(status=Settlement.Status.PENDING).select_related(
        "case", "case__member", "proposed_by", "approver"
    )
    if user.role in (Role.ADMIN, Role.AUDITOR):
        return pending.order_by("proposed_at", "id")
    if user.role == Role.SUPERVISOR:
        return pending.filter(approver=user).order_by("proposed_at", "id")
    return pending.none()


def pending_lien_changes_for(user: User):
    from liens.models import LienChange

    if user.role not in (Role.SUPERVISOR, Role.ADMIN, Role.AUDITOR):
        return LienChange.objects.none()
    return (
        LienChange.objects.filter(
            status=LienChange.Status.REQUESTED, lien__case__in=cases_visible_to(user)
        )
        .select_related("lien", "lien__case", "lien__case__member", "requested_by")
        .order_by("requested_at", "id")
    )


def pending_adjustments_for(user: User) -> QuerySet[BalanceAdjustment]:
    if user.role not in (Role.SUPERVISOR, Role.ADMIN, Role.AUDITOR):
        return BalanceAdjustment.objects.none()
    return (
        BalanceAdjustment.objects.filter(status=BalanceAdjustment.Status.REQUESTED)
        .filter(case__in=cases_visible_to(user))
        .select_related("case", "case__member", "requested_by")
        .order_by("requested_at", "id")
    )


# ---------------------------------------------------------------------------------------------
# Business time
# ---------------------------------------------------------------------------------------------

DAY_START, DAY_END = 8, 17  # the working day, local time, Monday to Friday
HOURS_PER_DAY = DAY_END - DAY_START


def _working_hours_on(moment: datetime, since: datetime, until: datetime) -> float:
    if moment.weekday() >= 5:
        return 0.0
    start = moment.replace(hour=DAY_START, minute=0, second=0, microsecond=0)
    end = moment.replace(hour=DAY_END, minute=0, second=0, microsecond=0)
    lo, hi = max(since, start), min(until, end)
    return max((hi - lo).total_seconds() / 3600, 0.0)


def business_hours_between(start: datetime, end: datetime) -> float:
    """Working hours (Mon–Fri, 8:00–17:00 local) between two moments, in constant time: the
    partial first and last days, plus whole weekdays in between."""
    start, end = timezone.localtime(start), timezone.localtime(end)
    if end <= start:
        return 0.0
    if start.date() == end.date():
        return _working_hours_on(start, start, end)
    hours = _working_hours_on(start, start, end) + _working_hours_on(end, start, end)
    first, last = start.date() + timedelta(days=1), end.date()  # whole days: [first, last)
    days = (last - first).days
    weeks, rest = divmod(days, 7)
    weekdays = weeks * 5 + sum(1 for n in range(rest) if (first + timedelta(days=n)).weekday() < 5)
    return hours + weekdays * HOURS_PER_DAY


def business_age(since: datetime, now: datetime | None = None) -> str:
    """'3 business hours', '2 business days' — how long something has waited."""
    hours = business_hours_between(since, now or timezone.now())
    if hours < 1:
        return "under 1 business hour"
    if hours < HOURS_PER_DAY:
        whole = int(hours)
        return f"{whole} business hour{'s' if whole != 1 else ''}"
    days = int(hours // HOURS_PER_DAY)
    return f"{days} business day{'s' if days != 1 else ''}"
