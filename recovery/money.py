"""Money: one precision for every amount column and one rounding rule (half-up at the cent)."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import models

CENT = Decimal("0.01")
MAX_DIGITS = 14
ZERO = Decimal("0.00")


def to_money(value: Decimal | int | str) -> Decimal:
    """Round to the cent, half up. Floats are refused: they cannot carry exact cents."""
    if isinstance(value, float):
        raise TypeError("money must not pass through float; use Decimal or str")
    try:
        return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {value!r}") from exc


class MoneyField(models.DecimalField):
    """A Decimal column with 2 places, wide enough for a state's yearly recoveries."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", MAX_DIGITS)
        kwargs.setdefault("decimal_places", 2)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        return name, "recovery.money.MoneyField", args, kwargs
