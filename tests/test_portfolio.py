"""Portfolio risk against a brute-force enumeration of every default pattern."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import handle

from .reference import claim_indemnity

PROFILE = {
    "turnover": 900000,
    "b2b_share": 0.9,
    "sector": "construction",
    "export": {"eu": 0.1},
    "buyers_count": 6,
    "top_buyers": [
        {"name": "Alpha", "share": 0.35, "grade": 5},
        {"name": "Beta", "share": 0.2},
        {"name": "Gamma", "share": 0.1, "grade": 8},
    ],
    "payment_terms_days": 60,
}


def portfolio(request: dict[str, Any]) -> dict[str, Any]:
    response = handle({"op": "portfolio", **request})
    assert response["ok"], response
    return response["result"]


def terms_of(profile: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result = handle({"op": "compare", "profile": profile})["result"]
    return {f["formula"]: f["terms"] for f in result["formulas"] if f["available"]}


def brute_force(buyers: list[dict[str, Any]], terms: dict[str, Any] | None) -> list[tuple[float, Decimal]]:
    """(probability, loss kept) of every default pattern, with the yearly cap applied exactly."""
    cap = Decimal(terms["max_liability"]) if terms else Decimal(0)
    outcomes = []
    for pattern in itertools.product((False, True), repeat=len(buyers)):
        prob = 1.0
        gross = paid = Decimal(0)
        for b, default in zip(buyers, pattern, strict=True):
            pd = float(b["pd"])
            prob *= pd if default else 1 - pd
            if default:
                gross += Decimal(b["exposure"])
                if terms:
                    paid += claim_indemnity(terms, b["name"], b.get("zone", "france"), Decimal(b["exposure"]))
        outcomes.append((prob, gross - min(paid, cap)))
    return outcomes


def survival(outcomes: list[tuple[float, Decimal]], x: Decimal) -> float:
    return sum(p for p, k in outcomes if k > x)


def quantile(outcomes: list[tuple[float, Decimal]], level: float) -> Decimal:
    cumulative = 0.0
    for p, k in sorted(outcomes, key=lambda o: o[1]):
        cumulative += p
        if cumulative >= level - 1e-12:
            return k
    return max(k for _, k in outcomes)


buyer_lists = st.lists(
    st.fixed_dictionaries(
        {
            "exposure": st.integers(5, 400).map(lambda k: str(k * 250)),
            "pd": st.integers(2, 150).map(lambda p: str(Decimal(p) / 1000)),
            "zone": st.sampled_from(("france", "france", "france", "eu", "world")),
        }
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=40, deadline=None)
@given(buyer_lists, st.integers(0, 200).map(lambda k: k * 1000), st.booleans())
def test_matches_brute_force(raw_buyers, cushion, named):
    buyers = [dict(b, name=f"B{i}") for i, b in enumerate(raw_buyers)]
    if named:  # the profile's top buyers get named limits under Sélection and Tout compris
        for b, name in zip(buyers, ("Alpha", "Beta", "Gamma"), strict=False):
            b["name"] = name
            b["zone"] = "france"
    result = portfolio({"profile": PROFILE, "buyers": buyers, "cash_cushion": cushion})
    step = Decimal(result["grid"]["step"])
    all_terms = terms_of(PROFILE)
    # Each default's amount is split between its two grid points, and figures are read between
    # grid points: together at most one step per default plus one for the reading.
    defaults = len(buyers) + 1
    for outcome in result["outcomes"]:
        terms = None if outcome["formula"] == "none" else all_terms[outcome["formula"]]
        exact = brute_force(buyers, terms)
        expected = sum(Decimal(repr(p)) * k for p, k in exact)
        assert abs(Decimal(outcome["expected_kept_loss"]) - expected) <= max(Decimal(1), expected / 200), (
            outcome
        )
        slack = step * defaults
        bound = float(outcome["cap_bound"]) + 1e-6
        for level, key in ((0.95, "kept_loss_q95"), (0.99, "kept_loss_q99")):
            # The engine reads a prudent survival, above the true one by at most cap_bound.
            engine_q = Decimal(outcome[key])
            assert quantile(exact, level) - slack <= engine_q, (key, outcome)
            assert engine_q <= quantile(exact, min(1.0, level + bound)) + slack, (key, outcome)
        ranges = outcome["ranges"]
        for level, key in ((0.95, "kept_loss_q95"), (0.99, "kept_loss_q99")):
            low, high = (Decimal(v) for v in ranges[key])
            assert low - slack <= quantile(exact, level) <= high + slack, (key, ranges)
        low_p, high_p = (float(v) for v in ranges["prob_exceeds_cushion"])
        assert survival(exact, Decimal(cushion) + slack) - 1e-6 <= high_p
        assert low_p <= survival(exact, Decimal(cushion) - slack) + 1e-6
        p_engine = float(outcome["prob_exceeds_cushion"])
        assert survival(exact, Decimal(cushion) + slack) - bound <= p_engine
        assert p_engine <= survival(exact, Decimal(cushion) - slack) + bound


def test_cover_lowers_the_loss_kept_and_the_tail():
    result = portfolio({"profile": PROFILE, "cash_cushion": 60000})
    outcomes = {o["formula"]: o for o in result["outcomes"]}
    none = outcomes["none"]
    for formula in ("essentielle", "selection", "tout_compris"):
        o = outcomes[formula]
        assert Decimal(o["expected_kept_loss"]) < Decimal(none["expected_kept_loss"])
        assert Decimal(o["kept_loss_q99"]) <= Decimal(none["kept_loss_q99"])
        assert float(o["prob_exceeds_cushion"]) <= float(none["prob_exceeds_cushion"])
        assert Decimal(o["expected_cost"]) == Decimal(o["expected_kept_loss"]) + Decimal(o["premium_total"])
    # Named limits at 90 % beat an automatic threshold when one client is 35 % of turnover.
    assert Decimal(outcomes["selection"]["kept_loss_q99"]) < Decimal(outcomes["essentielle"]["kept_loss_q99"])


def test_histogram_is_a_distribution_per_outcome():
    result = portfolio({"profile": PROFILE, "cash_cushion": 20000})
    histogram = result["histogram"]
    assert len(histogram["edges"]) == len(next(iter(histogram["series"].values()))) + 1
    for name, masses in histogram["series"].items():
        assert abs(sum(float(m) for m in masses) - 1.0) < 1e-5, name
        assert all(float(m) >= 0 for m in masses)


def test_profile_buyers_follow_the_profile():
    result = portfolio({"profile": PROFILE})
    assert result["buyers"]["count"] == PROFILE["buyers_count"]
    assert result["buyers"]["source"] == "profile"


@pytest.mark.parametrize(
    ("buyers", "field"),
    [
        ([{"name": "A", "exposure": -1, "pd": 0.1}], "buyers[0].exposure"),
        ([{"name": "A", "exposure": 100, "pd": 1.5}], "buyers[0].pd"),
        ([{"name": "A", "exposure": 100, "grade": 0}], "buyers[0].grade"),
        ([{"name": "A", "exposure": 100}, {"name": "a", "exposure": 5}], "buyers[1].name"),
        ([{"name": "A", "exposure": 100, "rating": "AAA"}], "buyers[0].rating"),
    ],
)
def test_bad_buyers_are_refused(buyers, field):
    response = handle({"op": "portfolio", "profile": PROFILE, "buyers": buyers})
    assert response["ok"] is False
    assert response["error"]["field"] == field


def test_large_identical_portfolio_stays_exact_in_mean():
    profile = {"turnover": 2000000, "sector": "retail", "buyers_count": 5000, "payment_terms_days": 30}
    result = portfolio({"profile": profile, "cash_cushion": 30000})
    none = result["outcomes"][0]
    exposure = Decimal(result["buyers"]["total_exposure"])
    assert Decimal(none["expected_kept_loss"]) == (exposure * Decimal("0.017")).quantize(
        Decimal("0.01"), "ROUND_HALF_UP"
    )
    assert float(none["prob_exceeds_cushion"]) < 0.5
