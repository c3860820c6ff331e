"""Hypothesis strategies for valid engine requests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from simulator import load_tariff

TARIFF = load_tariff()
SECTORS = tuple(TARIFF["sectors"])
FORMULAS = ("essentielle", "selection", "tout_compris")


def money(low: int, high: int) -> st.SearchStrategy[str]:
    """Amounts in cents between ``low`` and ``high`` euros, as strings."""
    return st.integers(low * 100, high * 100).map(lambda c: str(Decimal(c) / 100))


def share(low: int = 0, high: int = 100) -> st.SearchStrategy[Decimal]:
    """Shares in whole percent."""
    return st.integers(low, high).map(lambda p: Decimal(p) / 100)


@st.composite
def profiles(draw: st.DrawFn, *, with_buyers: bool | None = None) -> dict[str, Any]:
    """A valid profile: shares consistent, top buyers within French credit sales."""
    b2b = draw(share(20, 100))
    eu = draw(share(0, 30))
    world = draw(share(0, 30))
    france_sales = b2b * (1 - eu - world)
    n_top = draw(st.integers(1 if with_buyers else 0, 0 if with_buyers is False else 4))
    top = []
    room = france_sales
    for i in range(n_top):
        cap = int(room * 100)
        if cap < 1:
            break
        s = Decimal(draw(st.integers(1, min(cap, 45)))) / 100
        room -= s
        grade = draw(st.one_of(st.none(), st.integers(1, 9)))
        buyer: dict[str, Any] = {"name": f"Client {i + 1}", "share": str(s)}
        if grade is not None:
            buyer["grade"] = grade
        top.append(buyer)
    if with_buyers and not top:
        top.append({"name": "Client 1", "share": "0.01"})
    return {
        "turnover": draw(money(80_000, 3_000_000)),
        "b2b_share": str(b2b),
        "sector": draw(st.sampled_from(SECTORS)),
        "export": {"eu": str(eu), "world": str(world)},
        "buyers_count": len(top) + draw(st.integers(1, 200)),
        "top_buyers": top,
        "payment_terms_days": draw(st.integers(0, 120)),
        "past_losses": draw(money(0, 60_000)),
        "company_age_years": draw(st.integers(0, 40)),
    }
