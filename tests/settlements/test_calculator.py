"""The recovery formulas on hand-computed examples (the arithmetic is in the comments), the
federal share, and properties that hold for any valid settlement."""

from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from settlements.calculator import (
    FORMULAS,
    CalculationError,
    Inputs,
    calculate,
    compare,
    federal_share,
    validate,
)

D = Decimal


def inputs(gross, fees, costs, paid, **extra) -> Inputs:
    return Inputs(D(gross), D(fees), D(costs), D(paid), **{k: D(v) for k, v in extra.items()})


def recovery(data: Inputs, formula: str) -> Decimal:
    return calculate(data, formula)[formula].recovery_amount


def amounts(data: Inputs, formula: str) -> list:
    return [step.amount for step in calculate(data, formula)[formula].steps]


# ---------------------------------------------------------------------------------------------
# Full lien
# ---------------------------------------------------------------------------------------------


def test_full_lien_recovers_the_whole_lien_when_the_settlement_covers_it():
    # min(5,000.00 lien, 20,000.00 settlement) = 5,000.00
    assert recovery(inputs("20000.00", "6000.00", "1000.00", "5000.00"), "full_lien") == D(
        "5000.00"
    )


def test_full_lien_is_capped_by_the_settlement():
    # min(30,000.00 lien, 20,000.00 settlement) = 20,000.00
    data = inputs("20000.00", "6000.00", "1000.00", "30000.00")
    assert recovery(data, "full_lien") == D("20000.00")
    assert calculate(data, "full_lien")["full_lien"].steps[-1].formula == (
        "min($30,000.00 lien, $20,000.00 settlement) = $20,000.00"
    )


# ---------------------------------------------------------------------------------------------
# Procurement-cost reduction, 42 CFR 411.37
# ---------------------------------------------------------------------------------------------


def test_procurement_cost_when_payments_are_less_than_the_settlement_uses_the_ratio():
    # 411.37(c): procurement costs 6,000 + 1,000 = 7,000; ratio 7,000 ÷ 20,000 = 0.35;
    # share 0.35 × 5,000 = 1,750.00; recovery 5,000 − 1,750 = 3,250.00
    data = inputs("20000.00", "6000.00", "1000.00", "5000.00")
    result = calculate(data, "procurement_cost")["procurement_cost"]
    assert result.recovery_amount == D("3250.00")
    assert [step.amount for step in result.steps] == [
        D("7000.00"),
        None,
        None,
        D("1750.00"),
        D("3250.00"),
    ]
    ratio_step = result.steps[2]
    assert ratio_step.ratio == D("0.35")
    assert "= 0.3500" in ratio_step.formula
    assert [step.citation for step in result.steps[1:]] == [
        "42 CFR 411.37(c)",
        "42 CFR 411.37(c)(1)",
        "42 CFR 411.37(c)(2)",
        "42 CFR 411.37(c)(3)",
    ]


def test_procurement_cost_when_payments_exceed_the_settlement_is_settlement_less_costs():
    # 411.37(d): 12,000 paid ≥ 10,000 settlement → 10,000.00 − (3,333.33 + 500.00) = 6,166.67
    data = inputs("10000.00", "3333.33", "500.00", "12000.00")
    result = calculate(data, "procurement_cost")["procurement_cost"]
    assert result.recovery_amount == D("6166.67")
    assert result.steps[-1].citation == "42 CFR 411.37(d)"
    assert result.steps[-1].formula == (
        "$10,000.00 settlement − $3,833.33 procurement costs = $6,166.67"
    )


def test_procurement_cost_when_payments_equal_the_settlement_takes_the_d_branch():
    # 411.37(d) covers "equal or exceed": 10,000 − 2,500 = 7,500.00
    data = inputs("10000.00", "2000.00", "500.00", "10000.00")
    assert recovery(data, "procurement_cost") == D("7500.00")
    assert calculate(data, "procurement_cost")["procurement_cost"].steps[-1].citation == (
        "42 CFR 411.37(d)"
    )


def test_procurement_share_on_half_a_cent_rounds_half_up_not_to_even():
    # share = 100.00 × 100.10 ÷ 400.00 = 25.025 → 25.03 half-up (banker's would give 25.02);
    # recovery = 100.10 − 25.03 = 75.07
    data = inputs("400.00", "100.00", "0.00", "100.10")
    assert D("25.025").quantize(D("0.01"), rounding=ROUND_HALF_EVEN) == D("25.02")
    assert amounts(data, "procurement_cost")[3] == D("25.03")
    assert recovery(data, "procurement_cost") == D("75.07")


def test_procurement_share_is_exact_where_a_truncated_ratio_would_round_down():
    # ratio 1 ÷ 30 = 0.0333…; share 1.35 × 1 ÷ 30 = 0.045 exactly → 0.05 (a 28-digit ratio
    # times 1.35 gives 0.04499…96 and would round to 0.04); recovery 1.35 − 0.05 = 1.30
    data = inputs("30.00", "1.00", "0.00", "1.35")
    assert amounts(data, "procurement_cost")[3] == D("0.05")
    assert recovery(data, "procurement_cost") == D("1.30")
    assert "≈ 0.033333" in calculate(data, "procurement_cost")["procurement_cost"].steps[2].formula


# ---------------------------------------------------------------------------------------------
# Pro-rata allocation (Ahlborn, Wos, Gallardo)
# ---------------------------------------------------------------------------------------------


def test_pro_rata_with_full_value_of_damages():
    # ratio 50,000 ÷ 200,000 = 0.25; 12,345.62 × 0.25 = 3,086.405 → 3,086.41 half-up
    # (banker's: 3,086.40)
    data = inputs("50000.00", "15000.00", "2000.00", "12345.62", full_value="200000.00")
    result = calculate(data, "pro_rata")["pro_rata"]
    assert result.recovery_amount == D("3086.41")
    assert result.steps[0].ratio == D("0.25")
    assert "Ahlborn" in result.steps[0].citation
    assert "full value" in result.steps[0].label


def test_pro_rata_with_a_stipulated_ratio_says_so_and_ignores_the_full_value():
    # stipulated 0.4 × 10,000.00 = 4,000.00 (not 30,000 ÷ 300,000 = 0.1 → 1,000.00)
    data = inputs(
        "30000.00", "10000.00", "0.00", "10000.00", full_value="300000.00", allocation_ratio="0.4"
    )
    result = calculate(data, "pro_rata")["pro_rata"]
    assert result.recovery_amount == D("4000.00")
    assert "stipulated" in result.steps[0].label
    assert "Wos" in result.steps[0].citation
    assert "$300,000.00, is not used" in result.steps[0].formula


def test_pro_rata_is_capped_by_the_settlement():
    # stipulated 0.9 × 50,000.00 = 45,000.00 → capped at the 20,000.00 settlement
    data = inputs("20000.00", "5000.00", "0.00", "50000.00", allocation_ratio="0.9")
    assert amounts(data, "pro_rata")[1] == D("45000.00")
    assert recovery(data, "pro_rata") == D("20000.00")
    # payments above the full value: 30,000 × (10,000 ÷ 20,000) = 15,000 → capped at 10,000
    data = inputs("10000.00", "0.00", "0.00", "30000.00", full_value="20000.00")
    assert recovery(data, "pro_rata") == D("10000.00")


def test_pro_rata_does_not_apply_without_full_value_or_ratio_unless_named():
    data = inputs("20000.00", "6000.00", "1000.00", "5000.00")
    assert "pro_rata" not in calculate(data)
    assert compare(data)["pro_rata"].applies is False
    with pytest.raises(CalculationError) as raised:
        calculate(data, "pro_rata")
    assert "full_value" in raised.value.errors


# ---------------------------------------------------------------------------------------------
# Statutory half of net, Fla. Stat. §409.910(11)(f)
# ---------------------------------------------------------------------------------------------


def test_statutory_half_deems_fees_at_25_percent_and_subtracts_costs():
    # fees 25% × 100,000 = 25,000 (the actual 40,000 is ignored); remainder
    # 100,000 − 25,000 − 5,000 costs = 70,000; half = 35,000.00 ≤ 60,000 paid
    data = inputs("100000.00", "40000.00", "5000.00", "60000.00")
    assert amounts(data, "statutory_half") == [
        D("25000.00"),
        D("5000.00"),
        D("70000.00"),
        D("35000.00"),
        D("35000.00"),
    ]
    assert calculate(data, "statutory_half")["statutory_half"].steps[0].citation == (
        "Fla. Stat. §409.910(11)(f)3."
    )


def test_statutory_half_is_capped_by_program_payments():
    # half of 70,000 = 35,000 > 20,000 paid → 20,000.00
    assert recovery(inputs("100000.00", "40000.00", "5000.00", "20000.00"), "statutory_half") == D(
        "20000.00"
    )


def test_statutory_half_rounds_half_up_at_each_named_step():
    # fees 25% × 10,000.02 = 2,500.005 → 2,500.01; remainder 10,000.02 − 2,500.01 = 7,500.01;
    # half 3,750.005 → 3,750.01 (banker's would give 2,500.00 and 3,750.01 / 3,750.00)
    data = inputs("10000.02", "3000.00", "0.00", "10000.00")
    assert amounts(data, "statutory_half")[0] == D("2500.01")
    assert recovery(data, "statutory_half") == D("3750.01")


def test_statutory_half_is_never_negative():
    # fees 250; remainder 1,000 − 250 − 900 = −150 → 0.00
    assert recovery(inputs("1000.00", "0.00", "900.00", "5000.00"), "statutory_half") == D("0.00")


# ---------------------------------------------------------------------------------------------
# Fixed percentage and ordered amount
# ---------------------------------------------------------------------------------------------


def test_fixed_percentage_at_or_below_the_threshold():
    # 25% × 8,000 = 2,000.00; at the $10,000 default threshold 25% × 10,000 = 2,500.00
    assert recovery(
        inputs("8000.00", "2000.00", "0.00", "5000.00", fixed_percentage="0.25"),
        "fixed_percentage",
    ) == D("2000.00")
    assert recovery(
        inputs("10000.00", "2000.00", "0.00", "5000.00", fixed_percentage="0.25"),
        "fixed_percentage",
    ) == D("2500.00")


def test_fixed_percentage_above_the_threshold_does_not_apply():
    data = inputs("10000.01", "2000.00", "0.00", "5000.00", fixed_percentage="0.25")
    assert "fixed_percentage" not in calculate(data)
    assert "$10,000.00 or less" in compare(data)["fixed_percentage"].note
    with pytest.raises(CalculationError) as raised:
        calculate(data, "fixed_percentage")
    assert raised.value.errors == {
        "gross_settlement": "The fixed percentage applies only to settlements of $10,000.00 or less."
    }
    # a program's own threshold: 8,000 > 5,000
    lower = inputs(
        "8000.00", "0.00", "0.00", "5000.00", fixed_percentage="0.25", fixed_threshold="5000.00"
    )
    assert "fixed_percentage" not in calculate(lower)


def test_fixed_percentage_is_capped_by_program_payments_and_needs_its_percentage():
    # 25% × 8,000 = 2,000 > 1,000 paid → 1,000.00
    assert recovery(
        inputs("8000.00", "0.00", "0.00", "1000.00", fixed_percentage="0.25"), "fixed_percentage"
    ) == D("1000.00")
    plain = inputs("8000.00", "0.00", "0.00", "1000.00")
    assert "fixed_percentage" not in calculate(plain)
    with pytest.raises(CalculationError):
        calculate(plain, "fixed_percentage")


def test_ordered_amount_overrides_every_formula_even_above_the_payments():
    # ordered 7,500.00 with 5,000.00 paid: the order stands (it needs only ≤ the settlement)
    data = inputs("20000.00", "6000.00", "1000.00", "5000.00", ordered_amount="7500")
    results = calculate(data)
    assert results["ordered"].recovery_amount == D("7500.00")
    assert "overrides" in results["ordered"].note
    assert "ordered" not in calculate(inputs("20000.00", "6000.00", "1000.00", "5000.00"))


def test_ordered_amount_above_the_settlement_is_refused():
    data = inputs("20000.00", "6000.00", "1000.00", "5000.00", ordered_amount="20000.01")
    assert validate(data) == {"ordered_amount": "An ordered amount cannot exceed the settlement."}


def test_all_formulas_in_a_fixed_order():
    data = inputs(
        "8000.00",
        "2000.00",
        "100.00",
        "5000.00",
        full_value="16000.00",
        fixed_percentage="0.25",
        ordered_amount="1000.00",
    )
    assert tuple(calculate(data)) == FORMULAS


# ---------------------------------------------------------------------------------------------
# Validation and types
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"gross_settlement": D("-1.00")}, {"gross_settlement": "Must not be negative."}),
        (
            {"attorney_fees": D("15000.00"), "costs": D("5000.01")},
            {"attorney_fees": "Fees and costs cannot exceed the settlement."},
        ),
        (
            {"allocation_ratio": D("1.01")},
            {"allocation_ratio": "The allocation ratio must be between 0 and 1."},
        ),
        (
            {"allocation_ratio": D("-0.1")},
            {"allocation_ratio": "The allocation ratio must be between 0 and 1."},
        ),
        (
            {"full_value": D("19999.99")},
            {"full_value": "The full value of damages cannot be less than the settlement."},
        ),
        (
            {"fixed_percentage": D("1.5")},
            {"fixed_percentage": "The fixed percentage must be between 0 and 1."},
        ),
        ({"costs": D("1.005")}, {"costs": "Use at most 2 decimal places (whole cents)."}),
        ({"program_paid": D("NaN")}, {"program_paid": "Enter a number."}),
    ],
)
def test_validation_names_the_field(changes, expected):
    base = dict(
        gross_settlement=D("20000.00"),
        attorney_fees=D("6000.00"),
        costs=D("1000.00"),
        program_paid=D("5000.00"),
    )
    data = Inputs(**(base | changes))
    assert validate(data) == expected
    with pytest.raises(CalculationError) as raised:
        calculate(data)
    assert raised.value.errors == expected
    assert isinstance(raised.value, ValueError)


def test_unknown_formula_is_refused():
    with pytest.raises(CalculationError) as raised:
        calculate(inputs("1.00", "0.00", "0.00", "1.00"), "half_and_half")
    assert "formula" in raised.value.errors


def test_a_float_is_a_type_error():
    with pytest.raises(TypeError):
        Inputs(20000.0, D("1.00"), D("0.00"), D("1.00"))
    with pytest.raises(TypeError):
        Inputs(D("1.00"), D("0"), D("0"), D("1"), allocation_ratio=0.5)
    with pytest.raises(TypeError):
        federal_share(D("1.00"), [(1.0, D("0.5"))])


def test_whole_dollars_come_back_with_cents():
    # ints are exact: accepted, and every amount returned has 2 places
    data = Inputs(20000, 6000, 1000, 5000)
    for result in calculate(data).values():
        assert result.recovery_amount.as_tuple().exponent == -2


# ---------------------------------------------------------------------------------------------
# Federal share
# ---------------------------------------------------------------------------------------------


def test_design_example_half_of_a_lien_at_90_and_60_percent_gives_3900_federal():
    # lien 6,000 @ 90% + 4,000 @ 60% = 10,000; recover half = 5,000 → parts 3,000 and 2,000;
    # federal 3,000 × 0.9 + 2,000 × 0.6 = 2,700 + 1,200 = 3,900.00; state 1,100.00
    split = federal_share(D("5000.00"), [(D("6000.00"), D("0.90")), (D("4000.00"), D("0.60"))])
    assert split.total_federal == D("3900.00")
    assert split.total_state == D("1100.00")
    assert [line.recovery_part for line in split.per_line] == [D("3000.00"), D("2000.00")]
    assert [line.federal for line in split.per_line] == [D("2700.00"), D("1200.00")]


def test_federal_share_parts_use_the_largest_remainder_and_sum_exactly():
    # 100.00 over three equal lines of 100.00: 33.333… each; floors 33.33 × 3 = 99.99; the 1 leftover
    # cent goes to the first of the tied remainders → 33.34, 33.33, 33.33
    # federal: 33.34 × 0.9 = 30.006 → 30.01; 33.33 × 0.5 = 16.665 → 16.67 (half-up);
    # 33.33 × 0.75 = 24.9975 → 25.00; total 71.68, state 28.32
    split = federal_share(
        D("100.00"),
        [(D("100.00"), D("0.9")), (D("100.00"), D("0.5")), (D("100.00"), D("0.75"))],
    )
    assert [line.recovery_part for line in split.per_line] == [
        D("33.34"),
        D("33.33"),
        D("33.33"),
    ]
    assert [line.federal for line in split.per_line] == [D("30.01"), D("16.67"), D("25.00")]
    assert split.total_federal == D("71.68")
    assert split.total_state == D("28.32")


def test_federal_share_gives_the_leftover_cent_to_the_largest_remainder():
    # 0.10 over 0.03 and 0.07 (total 0.10): exact parts 0.03 and 0.07, no leftover.
    # 0.05 over 0.03 and 0.07: exact 0.015 and 0.035 → floors 0.01 and 0.03 (sum 0.04);
    # remainders equal (half a cent each) → the earlier line gets it: 0.02 and 0.03
    split = federal_share(D("0.05"), [(D("0.03"), D("1")), (D("0.07"), D("1"))])
    assert [line.recovery_part for line in split.per_line] == [D("0.02"), D("0.03")]
    # 1.00 over 1.00, 2.00 (total 3.00): 0.333… and 0.666… → floors 0.33, 0.66; the larger
    # remainder (0.666…) takes the cent: 0.33 and 0.67
    split = federal_share(D("1.00"), [(D("1.00"), D("0")), (D("2.00"), D("0"))])
    assert [line.recovery_part for line in split.per_line] == [D("0.33"), D("0.67")]
    assert split.total_federal == D("0.00") and split.total_state == D("1.00")


def test_federal_share_with_no_payments():
    # nothing recovered: nothing to split
    split = federal_share(D("0.00"), [])
    assert (split.total_federal, split.total_state, split.per_line) == (D("0.00"), D("0.00"), ())
    # something recovered over no payments: no rate is known, and it is not the program's
    with pytest.raises(ValueError, match="exceeds the lines' payments"):
        federal_share(D("1.00"), [])
    with pytest.raises(ValueError):
        federal_share(D("1.00"), [(D("0.00"), D("0.5"))])


def test_federal_share_refuses_bad_lines():
    with pytest.raises(ValueError, match="matching rate"):
        federal_share(D("1.00"), [(D("10.00"), D("1.5"))])
    with pytest.raises(ValueError, match="paid amount"):
        federal_share(D("1.00"), [(D("-10.00"), D("0.5"))])
    with pytest.raises(ValueError, match="whole cents"):
        federal_share(D("1.005"), [(D("10.00"), D("0.5"))])


# ---------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------


def cents(low: int = 0, high: int = 10**11):
    return st.integers(low, high).map(lambda value: Decimal(value).scaleb(-2))


@st.composite
def valid_inputs(draw) -> Inputs:
    gross = draw(st.integers(0, 10**11))
    fees = draw(st.integers(0, gross))
    costs = draw(st.integers(0, gross - fees))
    full_value = draw(st.none() | st.integers(max(gross, 1), 10**12))
    return Inputs(
        gross_settlement=Decimal(gross).scaleb(-2),
        attorney_fees=Decimal(fees).scaleb(-2),
        costs=Decimal(costs).scaleb(-2),
        program_paid=draw(cents()),
        full_value=None if full_value is None else Decimal(full_value).scaleb(-2),
        allocation_ratio=draw(
            st.none() | st.integers(0, 10**10).map(lambda v: Decimal(v).scaleb(-10))
        ),
        fixed_percentage=draw(
            st.none() | st.integers(0, 10**4).map(lambda v: Decimal(v).scaleb(-4))
        ),
        fixed_threshold=draw(st.none() | cents()),
        ordered_amount=draw(st.none() | st.integers(0, gross).map(lambda v: Decimal(v).scaleb(-2))),
    )


@given(valid_inputs())
def test_every_formula_stays_within_the_payments_and_the_settlement(data):
    assert validate(data) == {}
    for code, result in calculate(data).items():
        amount = result.recovery_amount
        assert amount.as_tuple().exponent == -2, code
        assert Decimal(0) <= amount <= data.gross_settlement, code
        if code != "ordered":
            assert amount <= data.program_paid, code
        # the last step is the recovery, and every amount shown has its cents
        assert result.steps[-1].amount == amount
        for step in result.steps:
            assert step.amount is None or step.amount.as_tuple().exponent == -2


@given(
    st.lists(
        st.tuples(cents(0, 10**9), st.integers(0, 10**4).map(lambda v: Decimal(v).scaleb(-4))),
        min_size=1,
        max_size=30,
    ),
    st.data(),
)
def test_federal_share_parts_sum_exactly_to_the_recovery(lines, draw):
    total = sum((paid for paid, _rate in lines), Decimal("0.00"))
    recovered = draw.draw(st.integers(0, int(total * 100)).map(lambda v: Decimal(v).scaleb(-2)))
    split = federal_share(recovered, lines)
    assert sum((line.recovery_part for line in split.per_line), Decimal("0.00")) == recovered
    assert Decimal(0) <= split.total_federal <= recovered
    assert split.total_federal + split.total_state == recovered
    assert split.total_federal == sum(line.federal for line in split.per_line)
    for line, (paid, _rate) in zip(split.per_line, lines, strict=True):
        assert Decimal(0) <= line.recovery_part <= paid
        assert line.recovery_part.as_tuple().exponent == -2
        assert line.federal.as_tuple().exponent == -2
