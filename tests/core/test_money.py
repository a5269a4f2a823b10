from decimal import Decimal

import pytest

from recovery.money import to_money


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.005", "1.01"),
        ("1.004", "1.00"),
        ("2.675", "2.68"),
        ("-1.005", "-1.01"),
        (Decimal("0.125"), "0.13"),
        (7, "7.00"),
    ],
)
def test_to_money_rounds_half_up_at_the_cent(value, expected):
    assert to_money(value) == Decimal(expected)


def test_to_money_refuses_float():
    with pytest.raises(TypeError):
        to_money(1.1)


def test_to_money_refuses_garbage():
    with pytest.raises(ValueError):
        to_money("twelve dollars")
