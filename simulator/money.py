"""Money as ``Decimal`` cents with explicit half-up rounding.

>>> cents(Decimal("10.005"))
Decimal('10.01')
>>> p = Premium(net=Decimal("1000.00"), fees=Decimal("120.00"), tax=Decimal("100.80"))
>>> p.total, p.monthly
(Decimal('1220.80'), Decimal('101.73'))
>>> p.as_dict()["total"]
'1220.80'
>>> fr_money(Decimal("12345.5")) == "12\u202f345,50\u00a0€"
True
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

__all__ = ["CENT", "ZERO", "Premium", "cents", "euros_up", "fr_money", "money_str"]

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
_THIN_SPACE = "\u202f"  # French thousands separator
_NO_BREAK_SPACE = "\u00a0"  # keeps the amount and its currency on one line


def cents(amount: Decimal) -> Decimal:
    """``amount`` rounded half up to the cent."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def euros_up(amount: Decimal, step: Decimal) -> Decimal:
    """``amount`` rounded up to a multiple of ``step`` (a credit limit, say)."""
    return ((amount / step).to_integral_value(rounding=ROUND_CEILING) * step).quantize(CENT)


def money_str(amount: Decimal) -> str:
    """The JSON form of an amount: a string with exactly two decimals."""
    return str(cents(amount))


def fr_money(amount: Decimal) -> str:
    """An amount as French text: ``Decimal('12345.5')`` -> ``12 345,50 €`` (narrow no-break spaces)."""
    whole, frac = money_str(amount).split(".")
    sign = "-" if whole.startswith("-") else ""
    digits = whole.lstrip("-")
    groups = []
    while digits:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    return sign + _THIN_SPACE.join(groups) + "," + frac + _NO_BREAK_SPACE + "€"


@dataclass(frozen=True, slots=True)
class Premium:
    """An annual premium: net risk premium, fees, insurance tax and their total."""

    net: Decimal
    fees: Decimal
    tax: Decimal

    @property
    def gross(self) -> Decimal:
        """Net plus fees, before tax."""
        return self.net + self.fees

    @property
    def total(self) -> Decimal:
        """What the policyholder pays for the year."""
        return self.net + self.fees + self.tax

    @property
    def monthly(self) -> Decimal:
        """One twelfth of the total, to the cent."""
        return cents(self.total / 12)

    def as_dict(self) -> dict[str, str]:
        """JSON form."""
        return {
            "net": money_str(self.net),
            "fees": money_str(self.fees),
            "tax": money_str(self.tax),
            "total": money_str(self.total),
            "monthly": money_str(self.monthly),
        }
