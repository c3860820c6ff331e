"""Properties of claim settlement: never more than the cover allows, never when the rules say no."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import handle

from .strategies import FORMULAS, money, profiles


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"), "ROUND_HALF_UP")


SETTINGS = settings(max_examples=80, deadline=None)
BUYERS = ("Client 1", "Client 2", "Client 3", "Inconnu SARL", "Autre SAS")
START = dt.date(2026, 1, 1)


@st.composite
def policy_terms(draw: st.DrawFn) -> dict[str, Any]:
    """Frozen terms of a real quote on a random profile and formula."""
    profile = draw(profiles(with_buyers=True))
    formula = draw(st.sampled_from(FORMULAS))
    response = handle({"op": "quote", "profile": profile, "options": {"formula": formula}})
    assert response["ok"], response
    return response["result"]["terms"]


@st.composite
def invoices(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(1, 8))
    out = []
    for i in range(count):
        invoice_date = START + dt.timedelta(days=draw(st.integers(0, 300)))
        due = invoice_date + dt.timedelta(days=draw(st.integers(0, 200)))
        extension = draw(st.sampled_from((0, 0, 15, 30, 60, 90)))
        if draw(st.booleans()):
            event = {
                "type": "insolvency",
                "date": str(invoice_date + dt.timedelta(days=draw(st.integers(-20, 250)))),
            }
        else:
            event = {"type": "protracted_default"}
        declared = invoice_date + dt.timedelta(days=draw(st.integers(0, 260)))
        buyer: dict[str, Any] = {"name": draw(st.sampled_from(BUYERS))}
        buyer["zone"] = draw(st.sampled_from(("france", "france", "eu", "world")))
        buyer["public"] = draw(st.booleans()) and draw(st.booleans())
        amount = draw(money(50, 150_000))
        out.append(
            {
                "id": f"F{i}",
                "buyer": buyer,
                "amount": amount,
                "vat_included": draw(st.booleans()),
                "invoice_date": str(invoice_date),
                "due_date": str(due),
                "event": event,
                "declared_on": str(declared),
                "extension_days": extension,
                "recovered": str(Decimal(amount) * draw(st.sampled_from((0, 0, 10, 50))) / 100),
            }
        )
    return out


def settle(terms: dict[str, Any], invs: list[dict[str, Any]], paid: str = "0") -> dict[str, Any]:
    response = handle({"op": "settle", "terms": terms, "invoices": invs, "paid_this_year": paid})
    assert response["ok"], response
    return response["result"]


@SETTINGS
@given(policy_terms(), invoices(), money(0, 120_000))
def test_indemnity_within_percentage_and_yearly_cap(terms, invs, paid):
    result = settle(terms, invs, paid)
    pct = Decimal(terms["indemnity_pct"]) / 100
    cap = Decimal(terms["max_liability"])
    for row in result["invoices"]:
        indemnity = Decimal(row["indemnity"])
        # Money is in cents, rounded half up: the bound is the percentage of the loss, to the cent.
        assert Decimal(0) <= indemnity <= cents(pct * Decimal(row["loss"]))
        assert indemnity <= Decimal(row["covered_amount"])
        assert Decimal(row["kept_loss"]) == Decimal(row["loss"]) - indemnity
        if not row["eligible"]:
            assert indemnity == 0
            assert any(r["blocking"] for r in row["reasons"])
    totals = result["totals"]
    paid_total = sum(Decimal(r["indemnity"]) for r in result["invoices"])
    assert Decimal(totals["indemnity"]) == paid_total
    assert Decimal(totals["paid_this_year_after"]) == Decimal(paid) + paid_total
    assert Decimal(totals["paid_this_year_after"]) <= max(cap, Decimal(paid))


@SETTINGS
@given(policy_terms(), invoices())
def test_late_or_beyond_credit_period_never_paid(terms, invs):
    result = settle(terms, invs)
    for inv, row in zip(invs, result["invoices"], strict=True):
        assert row["id"] == inv["id"]
        late = dt.date.fromisoformat(inv["declared_on"]) > dt.date.fromisoformat(
            row["timeline"]["declaration_deadline"]
        )
        zone = inv["buyer"]["zone"]
        credit_days = (
            dt.date.fromisoformat(inv["due_date"]) - dt.date.fromisoformat(inv["invoice_date"])
        ).days
        too_long = zone in terms["max_credit_days"] and credit_days > terms["max_credit_days"][zone]
        codes = {r["code"] for r in row["reasons"]}
        if late:
            assert "late_declaration" in codes
        if too_long:
            assert "beyond_max_credit_period" in codes
        if late or too_long or zone not in terms["covered_zones"]:
            assert row["indemnity"] == "0.00"
            assert not row["eligible"]


@SETTINGS
@given(policy_terms(), invoices(), st.randoms(use_true_random=False))
def test_order_of_declaration_does_not_change_totals_without_ties(terms, invs, rnd):
    # Claims are consumed in the order they are established, not the order they are listed.
    result = settle(terms, invs)
    dates = [r["timeline"]["claim_established"] for r in result["invoices"] if r["eligible"]]
    shuffled = invs[:]
    rnd.shuffle(shuffled)
    again = settle(terms, shuffled)
    if len(dates) == len(set(dates)):
        assert again["totals"] == result["totals"]
        by_id = {r["id"]: r for r in again["invoices"]}
        for row in result["invoices"]:
            assert by_id[row["id"]] == row
