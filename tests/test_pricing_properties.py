"""Properties of the premium: monotone where common sense says so, explained to the cent."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from simulator import handle

from .strategies import FORMULAS, SECTORS, TARIFF, profiles

SETTINGS = settings(max_examples=60, deadline=None)


def quote(profile: dict[str, Any], **options: Any) -> dict[str, Any]:
    response = handle({"op": "quote", "profile": profile, "options": options})
    assert response["ok"], response
    return response["result"]


def total(profile: dict[str, Any], **options: Any) -> Decimal:
    return Decimal(quote(profile, **options)["premium"]["total"])


def bounds(formula: str, option: str) -> tuple[int, int]:
    spec = TARIFF.formula(formula)["options"][option]
    return int(spec["min"]), int(spec["max"])


formulas = st.sampled_from(FORMULAS)


@SETTINGS
@given(profiles(with_buyers=True), formulas, st.integers(1, 300))
def test_more_turnover_never_cheaper(profile, formula, growth_pct):
    grown = min(
        Decimal(profile["turnover"]) * (100 + growth_pct) / 100, Decimal(10_000_000)
    )  # the engine's bound
    bigger = dict(profile, turnover=str(grown))
    small, large = quote(profile, formula=formula), quote(bigger, formula=formula)
    assert Decimal(large["premium"]["net"]) >= Decimal(small["premium"]["net"])
    assert Decimal(large["premium"]["total"]) >= Decimal(small["premium"]["total"])


@SETTINGS
@given(profiles(with_buyers=True), formulas, st.integers(0, 99))
def test_one_cent_more_turnover_never_cheaper(profile, formula, cents):
    # Rounding at each step must not let a tiny rise lower the price.
    bigger = dict(profile, turnover=str(Decimal(profile["turnover"]) + Decimal(cents + 1) / 100))
    assert total(bigger, formula=formula) >= total(profile, formula=formula)


@SETTINGS
@given(profiles(with_buyers=True), formulas, st.sampled_from(SECTORS), st.sampled_from(SECTORS))
def test_riskier_sector_never_cheaper(profile, formula, a, b):
    fa, fb = TARIFF.sector(a)["factor"], TARIFF.sector(b)["factor"]
    assume(fa != fb)
    safe, risky = (a, b) if fa < fb else (b, a)
    assert total(dict(profile, sector=risky), formula=formula) >= total(
        dict(profile, sector=safe), formula=formula
    )


@SETTINGS
@given(profiles(with_buyers=True), formulas, st.integers(1, 200_000))
def test_more_past_losses_never_cheaper(profile, formula, extra):
    worse_losses = Decimal(profile["past_losses"]) + extra
    assume(worse_losses <= 3 * Decimal(profile["turnover"]))  # more is refused as impossible
    worse = dict(profile, past_losses=str(worse_losses))
    assert total(worse, formula=formula) >= total(profile, formula=formula)


@SETTINGS
@given(profiles(with_buyers=True), formulas, st.data())
def test_higher_indemnity_pct_never_cheaper(profile, formula, data):
    low, high = bounds(formula, "indemnity_pct")
    a = data.draw(st.integers(low, high))
    b = data.draw(st.integers(a, high))
    assert total(profile, formula=formula, indemnity_pct=b) >= total(
        profile, formula=formula, indemnity_pct=a
    )


@SETTINGS
@given(profiles(with_buyers=True), formulas, st.data())
def test_higher_liability_multiple_never_cheaper(profile, formula, data):
    low, high = bounds(formula, "liability_multiple")
    a = data.draw(st.integers(low, high))
    b = data.draw(st.integers(a, high))
    assert total(profile, formula=formula, liability_multiple=b) >= total(
        profile, formula=formula, liability_multiple=a
    )


@SETTINGS
@given(profiles(with_buyers=True), formulas, st.data())
def test_higher_deductible_never_dearer(profile, formula, data):
    low, high = bounds(formula, "deductible")
    a = data.draw(st.integers(low, high))
    b = data.draw(st.integers(a, high))
    assert total(profile, formula=formula, deductible=b) <= total(profile, formula=formula, deductible=a)


@SETTINGS
@given(profiles(), st.sampled_from(("essentielle", "tout_compris")), st.sampled_from(("annual", "monthly")))
def test_explanation_adds_up_to_net(profile, formula, payment):
    result = quote(profile, formula=formula, payment=payment)
    effects = [Decimal(step["effect"]) for step in result["explanation"]]
    assert sum(effects) == Decimal(result["premium"]["net"])
    assert all(step["label"] and step["factor"] for step in result["explanation"])
    premium = {k: Decimal(v) for k, v in result["premium"].items()}
    assert premium["total"] == premium["net"] + premium["fees"] + premium["tax"]
    assert premium["net"] >= TARIFF.formula(formula)["minimum_premium"]


@SETTINGS
@given(profiles())
def test_exports_are_taxed_at_zero(profile):
    result = quote(profile, formula="tout_compris", export_cover="world")
    # Every zone is insured here, so the French share of insured turnover is the profile's.
    domestic = 1 - Decimal(profile["export"]["eu"]) - Decimal(profile["export"]["world"])
    premium = result["premium"]
    taxable = Decimal(premium["net"]) + Decimal(premium["fees"])
    expected = (taxable * domestic * TARIFF["tax"]["rate"]).quantize(Decimal("0.01"), "ROUND_HALF_UP")
    assert Decimal(premium["tax"]) == expected


def test_all_export_sales_pay_no_tax():
    profile = {"turnover": 900000, "sector": "wholesale", "export": {"eu": 0.6, "world": 0.4}}
    result = quote(profile, formula="tout_compris")
    assert result["insured_segments"]["france"] == "0.00"
    assert result["premium"]["tax"] == "0.00"
    assert Decimal(result["premium"]["total"]) == Decimal(result["premium"]["net"]) + Decimal(
        result["premium"]["fees"]
    )


@SETTINGS
@given(profiles(with_buyers=True), formulas)
def test_monthly_payment_costs_at_least_annual(profile, formula):
    assert total(profile, formula=formula, payment="monthly") >= total(
        profile, formula=formula, payment="annual"
    )


@settings(max_examples=40, deadline=None)
@given(profiles(), st.integers(350, 1800), st.integers(0, 19_999), st.integers(2, 40))
def test_typical_rate_in_market_range(profile, turnover_k, past_losses, age):
    """A typical TPE lands between 0.1 % and 0.5 % of insured turnover (DOMAIN.md)."""
    # Typical: enough credit sales that the minimum premium does not decide the price, a modest
    # loss history, an established company and payment terms within the law (60 days).
    typical = dict(
        profile,
        # Credit sales of turnover_k thousand euros, whatever the profile's share on credit.
        turnover=str((Decimal(turnover_k * 1000) / Decimal(profile["b2b_share"])).quantize(Decimal("0.01"))),
        past_losses=str(past_losses),
        company_age_years=age,
        payment_terms_days=min(60, profile["payment_terms_days"]),
    )
    result = quote(typical, formula="essentielle")
    rate = Decimal(result["premium"]["net"]) / Decimal(result["insured_turnover"])
    assert Decimal("0.001") <= rate <= Decimal("0.005"), rate
