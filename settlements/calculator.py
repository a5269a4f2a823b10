"""What the program may recover from a settlement (DESIGN §4), and the federal share of it.

Pure Python over `Decimal`: no ORM, no float (a float argument is a `TypeError`). Amounts are
rounded half-up to the cent (`recovery.money.to_money`) exactly where a rule names a rounding;
ratios are never rounded before they are applied — a share is computed as (a × b) ÷ c in one
step, so a share that lands exactly on half a cent rounds up as the rule says instead of sliding
below it through a truncated ratio. Ratios appear rounded only in the text shown to people.

Every result lists its steps (label, amount, the arithmetic written out, the authority), so a
specialist can show an attorney exactly how a figure was reached.
"""

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from decimal import ROUND_HALF_UP, Decimal, localcontext

from recovery.money import CENT, ZERO, to_money

FORMULAS = (
    "full_lien",
    "procurement_cost",
    "pro_rata",
    "statutory_half",
    "fixed_percentage",
    "ordered",
)

TITLES = {
    "full_lien": "Full lien",
    "procurement_cost": "Procurement-cost reduction",
    "pro_rata": "Pro-rata allocation",
    "statutory_half": "Statutory half of net",
    "fixed_percentage": "Fixed percentage",
    "ordered": "Ordered amount",
}

# Medicare's fixed percentage option: 25% of a physical-trauma liability settlement of $10,000
# or less (CMS raised the ceiling from $5,000 on 2 October 2023).
DEFAULT_FIXED_THRESHOLD = Decimal("10000.00")

FLORIDA_FEE_RATE = Decimal("0.25")

# Authorities cited in the steps.
ASSIGNMENT = "42 U.S.C. §1396k(a)(1)(A)"
TO_EXTENT_OF_LIABILITY = "42 U.S.C. §1396a(a)(25)(B)"
NO_MORE_THAN_PAID = "42 U.S.C. §1396k(b)"
CFR_411_37 = "42 CFR 411.37"
AHLBORN = "Arkansas Dept. of Health & Human Services v. Ahlborn, 547 U.S. 268 (2006)"
WOS = "Wos v. E.M.A., 568 U.S. 627 (2013)"
GALLARDO = "Gallardo v. Marstiller, 596 U.S. 420 (2022)"
FLORIDA_HALF = "Fla. Stat. §409.910(11)(f)"
FIXED_OPTION = "CMS fixed percentage option (physical-trauma liability settlements)"
ORDER = "Court order or hearing decision, e.g. Fla. Stat. §409.910(17)(b)"
FEDERAL_SHARE = "SSA §1903(d)(3); 42 CFR 433.154"

_RATIO_PLACES = Decimal("0.0000000001")  # Step.ratio keeps 10 places
MAX_AMOUNT = Decimal("999999999999.99")  # the widest amount a MoneyField column holds
_MONEY_FIELDS = (
    "gross_settlement",
    "attorney_fees",
    "costs",
    "program_paid",
    "full_value",
    "fixed_threshold",
    "ordered_amount",
)
_FRACTION_FIELDS = ("allocation_ratio", "fixed_percentage")


# ---------------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    label: str
    amount: Decimal | None
    formula: str
    citation: str
    ratio: Decimal | None = None


@dataclass(frozen=True)
class Result:
    formula: str
    recovery_amount: Decimal
    steps: tuple[Step, ...]
    applies: bool = True
    note: str = ""


@dataclass(frozen=True)
class Inputs:
    gross_settlement: Decimal
    attorney_fees: Decimal
    costs: Decimal
    program_paid: Decimal
    full_value: Decimal | None = None
    allocation_ratio: Decimal | None = None
    fixed_percentage: Decimal | None = None
    fixed_threshold: Decimal | None = None
    ordered_amount: Decimal | None = None

    def __post_init__(self):
        for field in fields(self):
            value = getattr(self, field.name)
            if value is None and field.default is None:
                continue
            object.__setattr__(self, field.name, _as_decimal(field.name, value))

    @property
    def procurement_costs(self) -> Decimal:
        return self.attorney_fees + self.costs


@dataclass(frozen=True)
class LineShare:
    paid_amount: Decimal
    rate: Decimal
    recovery_part: Decimal
    federal: Decimal
    state: Decimal


@dataclass(frozen=True)
class FederalSplit:
    recovery: Decimal
    total_federal: Decimal
    total_state: Decimal
    per_line: tuple[LineShare, ...]
    citation: str = FEDERAL_SHARE


class CalculationError(ValueError):
    """The inputs cannot produce the requested result; `errors` maps field → message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = errors


def _as_decimal(name: str, value) -> Decimal:
    # bool is an int; neither it nor float can stand for an amount.
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    raise TypeError(f"{name} must be a Decimal (got {type(value).__name__})")


# ---------------------------------------------------------------------------------------------
# Formatting for the step text
# ---------------------------------------------------------------------------------------------


def usd(amount: Decimal) -> str:
    """$1,234.56 — for amounts already at the cent."""
    sign = "−" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


def percent(fraction: Decimal) -> str:
    """0.25 → 25%, 0.3333 → 33.33%."""
    return f"{format((fraction * 100).normalize(), 'f')}%"


def _ratio_text(ratio: Decimal) -> str:
    """'= 0.3500' when the shown digits are the ratio, '≈ 0.333333' when they are rounded."""
    for places in (Decimal("0.0001"), Decimal("0.000001")):
        shown = ratio.quantize(places, rounding=ROUND_HALF_UP)
        if shown == ratio:
            return f"= {shown}"
    return f"≈ {ratio.quantize(Decimal('0.000001'), rounding=ROUND_HALF_UP)}"


def _exact(numerator: Decimal, denominator: Decimal) -> Decimal:
    # 40 significant digits: a quotient that terminates (the only kind that can sit exactly on
    # half a cent) comes out exact for any amount this product handles.
    with localcontext() as context:
        context.prec = 40
        return numerator / denominator


def _ratio(numerator: Decimal, denominator: Decimal) -> Decimal:
    return _exact(numerator, denominator).quantize(_RATIO_PLACES, rounding=ROUND_HALF_UP)


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------


def validate(inputs: Inputs, formula: str | None = None) -> dict[str, str]:
    """Field → message for every problem; empty when the inputs can be calculated.

    Inputs a formula needs are required only when that formula is named: when all formulas are
    compared, a formula without its inputs simply does not apply.
    """
    errors: dict[str, str] = {}
    if formula is not None and formula not in FORMULAS:
        errors["formula"] = f"Unknown formula; use one of: {', '.join(FORMULAS)}."

    for name in _MONEY_FIELDS:
        value = getattr(inputs, name)
        if value is None:
            continue
        if not value.is_finite():
            errors[name] = "Enter a number."
        elif value < 0:
            errors[name] = "Must not be negative."
        elif value > MAX_AMOUNT:
            errors[name] = f"Must not be more than {usd(MAX_AMOUNT)}."
        elif value != value.quantize(CENT, rounding=ROUND_HALF_UP):
            errors[name] = "Use at most 2 decimal places (whole cents)."
    for name in _FRACTION_FIELDS:
        value = getattr(inputs, name)
        if value is None:
            continue
        if not value.is_finite() or not ZERO <= value <= 1:
            label = "allocation ratio" if name == "allocation_ratio" else "fixed percentage"
            errors[name] = f"The {label} must be between 0 and 1."
    if errors:
        return errors  # the cross-field checks below assume sound numbers

    gross = inputs.gross_settlement
    if inputs.procurement_costs > gross:
        errors["attorney_fees"] = "Fees and costs cannot exceed the settlement."
    if inputs.full_value is not None:
        if inputs.full_value == 0:
            errors["full_value"] = "The full value of damages must be more than zero."
        elif inputs.full_value < gross:
            errors["full_value"] = "The full value of damages cannot be less than the settlement."
    if inputs.ordered_amount is not None and inputs.ordered_amount > gross:
        errors["ordered_amount"] = "An ordered amount cannot exceed the settlement."

    if formula == "pro_rata" and inputs.full_value is None and inputs.allocation_ratio is None:
        errors["full_value"] = (
            "Enter the full value of damages or an allocation ratio for a pro-rata allocation."
        )
    if formula == "fixed_percentage":
        if inputs.fixed_percentage is None:
            errors["fixed_percentage"] = "Enter the fixed percentage (e.g. 0.25) to use it."
        elif gross > _threshold(inputs):
            errors["gross_settlement"] = (
                f"The fixed percentage applies only to settlements of {usd(_threshold(inputs))} "
                "or less."
            )
    if formula == "ordered" and inputs.ordered_amount is None:
        errors["ordered_amount"] = "Enter the amount the court or hearing ordered."
    return errors


def _threshold(inputs: Inputs) -> Decimal:
    if inputs.fixed_threshold is None:
        return DEFAULT_FIXED_THRESHOLD
    return inputs.fixed_threshold


# ---------------------------------------------------------------------------------------------
# Formulas
# ---------------------------------------------------------------------------------------------


def _full_lien(i: Inputs) -> Result:
    recovery = min(i.program_paid, i.gross_settlement)
    return Result(
        "full_lien",
        recovery,
        (
            Step(
                "Lien (program payments)",
                i.program_paid,
                "Paid amounts of the injury-related claim lines",
                ASSIGNMENT,
            ),
            Step(
                "Recovery (lien capped by the settlement)",
                recovery,
                f"min({usd(i.program_paid)} lien, {usd(i.gross_settlement)} settlement) "
                f"= {usd(recovery)}",
                TO_EXTENT_OF_LIABILITY,
            ),
        ),
    )


def _procurement_cost(i: Inputs) -> Result:
    gross, paid, procurement = i.gross_settlement, i.program_paid, i.procurement_costs
    steps = [
        Step(
            "Procurement costs",
            procurement,
            f"{usd(i.attorney_fees)} attorney fees + {usd(i.costs)} costs = {usd(procurement)}",
            f"{CFR_411_37}(a)",
        )
    ]
    if paid < gross:
        ratio = _ratio(procurement, gross)
        # (costs × payments) ÷ settlement in one step: the exact product of ratio and payments.
        share = to_money(_exact(procurement * paid, gross))
        recovery = paid - share
        steps += [
            Step(
                "Payments less than the settlement",
                None,
                f"{usd(paid)} program payments < {usd(gross)} settlement: the ratio method applies",
                f"{CFR_411_37}(c)",
            ),
            Step(
                "Procurement cost ratio",
                None,
                f"{usd(procurement)} ÷ {usd(gross)} settlement {_ratio_text(ratio)}",
                f"{CFR_411_37}(c)(1)",
                ratio=ratio,
            ),
            Step(
                "Program's share of procurement costs",
                share,
                f"ratio × {usd(paid)} program payments = {usd(share)} (rounded to the cent)",
                f"{CFR_411_37}(c)(2)",
            ),
            Step(
                "Recovery",
                recovery,
                f"{usd(paid)} program payments − {usd(share)} share = {usd(recovery)}",
                f"{CFR_411_37}(c)(3)",
            ),
        ]
    else:
        recovery = gross - procurement
        steps += [
            Step(
                "Payments equal or exceed the settlement",
                None,
                f"{usd(paid)} program payments ≥ {usd(gross)} settlement: "
                "the settlement less procurement costs",
                f"{CFR_411_37}(d)",
            ),
            Step(
                "Recovery",
                recovery,
                f"{usd(gross)} settlement − {usd(procurement)} procurement costs = {usd(recovery)}",
                f"{CFR_411_37}(d)",
            ),
        ]
    return Result("procurement_cost", recovery, tuple(steps))


def _pro_rata(i: Inputs) -> Result:
    gross, paid = i.gross_settlement, i.program_paid
    if i.allocation_ratio is not None:
        ratio = i.allocation_ratio
        unused = (
            f" (the full value of damages, {usd(i.full_value)}, is not used)"
            if i.full_value is not None
            else ""
        )
        ratio_step = Step(
            "Allocation ratio stipulated by the parties or set by a court",
            None,
            f"ratio {_ratio_text(ratio)}{unused}",
            f"{WOS}; {AHLBORN}",
            ratio=ratio.quantize(_RATIO_PLACES, rounding=ROUND_HALF_UP),
        )
        medical = to_money(paid * ratio)
    else:
        assert i.full_value is not None
        shown = _ratio(gross, i.full_value)
        ratio_step = Step(
            "Allocation ratio (settlement ÷ full value of damages)",
            None,
            f"{usd(gross)} settlement ÷ {usd(i.full_value)} full value {_ratio_text(shown)}",
            f"{AHLBORN}; {GALLARDO}",
            ratio=shown,
        )
        medical = to_money(_exact(paid * gross, i.full_value))
    recovery = min(medical, gross, paid)
    return Result(
        "pro_rata",
        recovery,
        (
            ratio_step,
            Step(
                "Medical share of the settlement",
                medical,
                f"{usd(paid)} program payments × ratio = {usd(medical)} (rounded to the cent)",
                AHLBORN,
            ),
            Step(
                "Recovery",
                recovery,
                f"min({usd(medical)}, {usd(gross)} settlement, {usd(paid)} program payments) "
                f"= {usd(recovery)}",
                f"{AHLBORN}; {NO_MORE_THAN_PAID}",
            ),
        ),
    )


def _statutory_half(i: Inputs) -> Result:
    gross, paid = i.gross_settlement, i.program_paid
    fees = to_money(gross * FLORIDA_FEE_RATE)
    remainder = max(gross - fees - i.costs, ZERO)
    half = to_money(remainder / 2)
    recovery = min(half, paid)
    return Result(
        "statutory_half",
        recovery,
        (
            Step(
                "Attorney fees deemed at 25% of the settlement",
                fees,
                f"25% × {usd(gross)} = {usd(fees)} (actual fees of {usd(i.attorney_fees)} "
                "are not used)",
                f"{FLORIDA_HALF}3.",
            ),
            Step("Taxable costs", i.costs, f"{usd(i.costs)} as reported", f"{FLORIDA_HALF}1."),
            Step(
                "Remaining recovery",
                remainder,
                f"{usd(gross)} − {usd(fees)} fees − {usd(i.costs)} costs = {usd(remainder)}"
                " (never below $0.00)",
                f"{FLORIDA_HALF}1.",
            ),
            Step(
                "One half of the remainder",
                half,
                f"{usd(remainder)} ÷ 2 = {usd(half)} (rounded to the cent)",
                f"{FLORIDA_HALF}1.",
            ),
            Step(
                "Recovery (up to the program's payments)",
                recovery,
                f"min({usd(half)}, {usd(paid)} program payments) = {usd(recovery)}",
                f"{FLORIDA_HALF}1.",
            ),
        ),
    )


def _fixed_percentage(i: Inputs) -> Result:
    assert i.fixed_percentage is not None
    gross, paid, threshold = i.gross_settlement, i.program_paid, _threshold(i)
    amount = to_money(gross * i.fixed_percentage)
    recovery = min(amount, paid, gross)
    return Result(
        "fixed_percentage",
        recovery,
        (
            Step(
                "Settlement within the threshold",
                None,
                f"{usd(gross)} settlement ≤ {usd(threshold)} threshold",
                FIXED_OPTION,
            ),
            Step(
                "Fixed percentage of the settlement",
                amount,
                f"{percent(i.fixed_percentage)} × {usd(gross)} = {usd(amount)} "
                "(rounded to the cent; no reduction for fees or costs)",
                FIXED_OPTION,
            ),
            Step(
                "Recovery (up to the program's payments)",
                recovery,
                f"min({usd(amount)}, {usd(paid)} program payments) = {usd(recovery)}",
                NO_MORE_THAN_PAID,
            ),
        ),
    )


def _ordered(i: Inputs) -> Result:
    assert i.ordered_amount is not None
    amount = i.ordered_amount
    return Result(
        "ordered",
        amount,
        (
            Step("Ordered amount", amount, f"{usd(amount)} as ordered", ORDER),
            Step(
                "Recovery (overrides every formula)",
                amount,
                f"{usd(amount)} ≤ {usd(i.gross_settlement)} settlement",
                ORDER,
            ),
        ),
        note="Ordered by a court or hearing: overrides every formula.",
    )


def _not_applicable(formula: str, note: str) -> Result:
    return Result(formula, ZERO, (), applies=False, note=note)


def _in_cents(inputs: Inputs) -> Inputs:
    """Validated inputs with every amount at exactly 2 places ($5 becomes $5.00), so every
    amount a result shows carries its cents. Exact: validation allowed whole cents only."""
    amounts = {
        name: to_money(getattr(inputs, name))
        for name in _MONEY_FIELDS
        if getattr(inputs, name) is not None
    }
    return replace(inputs, **amounts)


def _evaluate(inputs: Inputs, formula: str) -> Result:
    if formula == "full_lien":
        return _full_lien(inputs)
    if formula == "procurement_cost":
        return _procurement_cost(inputs)
    if formula == "pro_rata":
        if inputs.full_value is None and inputs.allocation_ratio is None:
            return _not_applicable(
                formula, "Needs the full value of damages or a stipulated allocation ratio."
            )
        return _pro_rata(inputs)
    if formula == "statutory_half":
        return _statutory_half(inputs)
    if formula == "fixed_percentage":
        if inputs.fixed_percentage is None:
            return _not_applicable(
                formula, "Needs a fixed percentage, where the program offers one."
            )
        if inputs.gross_settlement > _threshold(inputs):
            return _not_applicable(
                formula,
                f"Only for settlements of {usd(_threshold(inputs))} or less.",
            )
        return _fixed_percentage(inputs)
    if formula == "ordered":
        if inputs.ordered_amount is None:
            return _not_applicable(formula, "Only when a court or hearing has ordered an amount.")
        return _ordered(inputs)
    raise ValueError(f"unknown formula {formula!r}")


def compare(inputs: Inputs) -> dict[str, Result]:
    """Every formula in `FORMULAS` order, the ones that do not apply with `applies=False`, a
    zero amount and a note saying why (for a side-by-side screen). Raises `CalculationError` on invalid inputs."""
    errors = validate(inputs)
    if errors:
        raise CalculationError(errors)
    inputs = _in_cents(inputs)
    return {formula: _evaluate(inputs, formula) for formula in FORMULAS}


def calculate(inputs: Inputs, formula: str | None = None) -> dict[str, Result]:
    """Every formula that applies (`formula=None`), or only the named one.

    Raises `CalculationError` (a `ValueError` carrying field → message) when the inputs are
    invalid or the named formula cannot apply to them.
    """
    errors = validate(inputs, formula)
    if errors:
        raise CalculationError(errors)
    if formula is None:
        return {code: result for code, result in compare(inputs).items() if result.applies}
    result = _evaluate(_in_cents(inputs), formula)
    if not result.applies:  # validate() names each such case; this is a backstop
        raise CalculationError({"formula": result.note})
    return {formula: result}


# ---------------------------------------------------------------------------------------------
# Federal share
# ---------------------------------------------------------------------------------------------


def federal_share(recovery: Decimal, lines: Sequence[tuple[Decimal, Decimal]]) -> FederalSplit:
    """Spread `recovery` over the lien's lines in proportion to their paid amounts and apply
    each line's matching rate (SSA §1903(d)(3); 42 CFR 433.154).

    `lines` are (paid_amount, fmap_rate). Each line's part is rounded to the cent by the largest
    remainder method — floor every part, then give the leftover cents to the lines with the
    largest remainders (ties: the earlier line) — so the parts sum exactly to the recovery. The
    federal part of a line is part × rate, rounded half-up; the state keeps the rest.

    A recovery above the lines' payments raises `ValueError`: the program keeps only up to
    what it spent and the excess belongs to the member, so there is nothing to split it by. That
    covers lines that paid nothing (no claim was matched, so no federal share is known) — except
    a zero recovery, which splits into zeros.
    """
    recovery = _as_decimal("recovery", recovery)
    if not recovery.is_finite() or recovery < 0 or recovery != to_money(recovery):
        raise ValueError("the recovery must be a non-negative amount in whole cents")
    paid_cents, rates = [], []
    for number, (paid, rate) in enumerate(lines, start=1):
        paid = _as_decimal(f"line {number} paid amount", paid)
        rate = _as_decimal(f"line {number} rate", rate)
        if not paid.is_finite() or paid < 0 or paid != to_money(paid):
            raise ValueError(f"line {number}: the paid amount must be non-negative whole cents")
        if not rate.is_finite() or not ZERO <= rate <= 1:
            raise ValueError(f"line {number}: the matching rate must be between 0 and 1")
        paid_cents.append(int(paid * 100))
        rates.append(rate)
    total = sum(paid_cents)
    wanted = int(recovery * 100)
    if wanted > total:
        raise ValueError(
            f"the recovery {usd(recovery)} exceeds the lines' payments "
            f"{usd(Decimal(total) / 100)}; the program keeps only up to what it spent"
        )

    parts = [0] * len(paid_cents)
    if wanted:
        remainders = []
        for index, cents in enumerate(paid_cents):
            parts[index], remainder = divmod(wanted * cents, total)
            remainders.append(remainder)
        leftover = wanted - sum(parts)
        by_remainder = sorted(range(len(parts)), key=lambda k: (-remainders[k], k))
        for index in by_remainder[:leftover]:
            parts[index] += 1

    shares = []
    for cents, part_cents, rate in zip(paid_cents, parts, rates, strict=True):
        part = Decimal(part_cents) / 100
        federal = to_money(part * rate)
        shares.append(
            LineShare(
                paid_amount=to_money(Decimal(cents) / 100),
                rate=rate,
                recovery_part=to_money(part),
                federal=federal,
                state=to_money(part - federal),
            )
        )
    total_federal = to_money(sum((share.federal for share in shares), ZERO))
    return FederalSplit(
        recovery=to_money(recovery),
        total_federal=total_federal,
        total_state=to_money(recovery - total_federal),
        per_line=tuple(shares),
    )
