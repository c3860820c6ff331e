"""What the tests and the benchmarks check the engine against, written apart from it."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

__all__ = ["TYPICAL_PROFILE", "claim_indemnity"]

# A TPE of services with three named clients, some export and a loss history.
TYPICAL_PROFILE: dict[str, Any] = {
    "turnover": 1200000,
    "b2b_share": 0.8,
    "sector": "services",
    "export": {"eu": 0.1, "world": 0.05},
    "buyers_count": 30,
    "top_buyers": [
        {"name": "Alpha", "share": 0.25, "grade": 4},
        {"name": "Beta", "share": 0.12},
        {"name": "Gamma", "share": 0.08},
    ],
    "payment_terms_days": 45,
    "past_losses": 8000,
    "company_age_years": 6,
}


def claim_indemnity(terms: Mapping[str, Any], name: str, zone: str, exposure: Decimal) -> Decimal:
    """The policy's rule for one buyer's default: its covered part, less the deductible, times
    the indemnity percentage.

    >>> terms = {"covered_zones": ["france"], "named_limits": [], "automatic_cover": True,
    ...          "automatic_threshold": "7500", "deductible": "500", "indemnity_pct": "60"}
    >>> claim_indemnity(terms, "Alpha", "france", Decimal("18000"))
    Decimal('4200.00')
    >>> claim_indemnity(terms, "Alpha", "eu", Decimal("18000"))
    Decimal('0')
    """
    if zone not in terms["covered_zones"]:
        return Decimal(0)
    limits = {n["buyer"].casefold(): Decimal(n["limit"]) for n in terms["named_limits"]}
    if name.casefold() in limits:
        limit = limits[name.casefold()]
    elif terms["automatic_cover"]:
        limit = Decimal(terms["automatic_threshold"])
    else:
        return Decimal(0)
    covered = min(exposure, limit)
    deductible = min(Decimal(terms["deductible"]), covered)
    return ((covered - deductible) * Decimal(terms["indemnity_pct"]) / 100).quantize(
        Decimal("0.01"), "ROUND_HALF_UP"
    )
