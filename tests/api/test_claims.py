"""Overdue declarations and claims: the terms decide at once, the lifecycle, its history, access rules."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from .claims_helpers import GERMAN, GOOD, add_buyer, declaration, insured_with_limit, move_clock
from .conftest import assert_error, body_of


@pytest.fixture
def setup(
    client: Any, tokens: Any, aws: dict[str, str], policy: dict[str, Any], monkeypatch: Any
) -> dict[str, Any]:
    """A policy, its owner, a French buyer with a 20,000 EUR limit, the clock 60 days after the start."""
    return insured_with_limit(client, tokens, aws, policy, monkeypatch)


def _declare(client: Any, s: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    body = declaration(overrides.pop("buyer_id", GOOD), s["start"], **overrides)
    response = client.post(f"/policies/{s['pid']}/declarations", body, token=s["owner"])
    assert response.status_code == 201, response.body
    return dict(body_of(response))


def _codes(claim: dict[str, Any]) -> list[str]:
    return [r["code"] for r in claim["reasons"]]


def test_declaration_in_time_starts_collection(client: Any, setup: dict[str, Any]) -> None:
    claim = _declare(client, setup)
    assert (claim["status"], claim["eligible"], claim["reasons"]) == ("collection", True, [])
    start = setup["start"]
    assert claim["timeline"]["declaration_deadline"] == (start + dt.timedelta(days=61)).isoformat()
    assert claim["timeline"]["claim_established"] == (start + dt.timedelta(days=31 + 150)).isoformat()
    assert [(h["action"], h["by_role"]) for h in claim["history"]] == [
        ("declared", "owner"),
        ("collection_started", "system"),
    ]
    assert claim["indemnity"] is None
    assert body_of(client.get(f"/claims/{claim['claim_id']}", token=setup["owner"])) == claim


def test_late_declaration_is_recorded_as_rejected_with_the_reason(client: Any, setup: dict[str, Any]) -> None:
    due = setup["start"] + dt.timedelta(days=20)  # deadline: due + 30 days = start + 50 < start + 60
    claim = _declare(client, setup, due_date=due.isoformat())
    assert (claim["status"], claim["eligible"]) == ("rejected", False)
    assert _codes(claim) == ["late_declaration"]
    assert "après la date limite" in claim["rejection_reason"]
    assert claim["history"][-1]["detail"]["reasons"] == ["late_declaration"]
    listed = body_of(client.get(f"/policies/{setup['pid']}/claims", token=setup["owner"]))["items"]
    assert [c["claim_id"] for c in listed] == [claim["claim_id"]]


def test_invoice_beyond_the_maximum_credit_period_is_rejected(client: Any, setup: dict[str, Any]) -> None:
    start = setup["start"]
    claim = _declare(
        client,
        setup,
        due_date=(start + dt.timedelta(days=101)).isoformat(),  # 100 days of credit > 90
        event={"type": "insolvency", "date": (start + dt.timedelta(days=55)).isoformat()},
    )
    assert claim["status"] == "rejected"
    assert "beyond_max_credit_period" in _codes(claim)


def test_excluded_buyer_is_rejected(client: Any, setup: dict[str, Any]) -> None:
    add_buyer(client, setup["pid"], setup["owner"], GERMAN, name="Müller Maschinenbau GmbH")
    claim = _declare(client, setup, buyer_id=GERMAN)
    assert claim["status"] == "rejected"
    assert _codes(claim) == ["zone_not_covered"]  # the essentielle policy covers France only


def test_buyer_with_a_refused_limit_is_rejected(client: Any, setup: dict[str, Any]) -> None:
    add_buyer(client, setup["pid"], setup["owner"], "542065479", name="Négoce Atlantique")
    url = f"/policies/{setup['pid']}/buyers/542065479/limit-requests"
    request = body_of(client.post(url, {"amount": 30000}, token=setup["owner"]))
    decision = {"decision": "refused", "reason": "Note 9"}
    client.post(f"/limit-requests/{request['request_id']}/decision", decision, token=setup["staff"])
    # The refusal applies from today on: an invoice of today is not covered.
    today = setup["start"] + dt.timedelta(days=60)
    claim = _declare(
        client,
        setup,
        buyer_id="542065479",
        invoice_date=today.isoformat(),
        due_date=(today + dt.timedelta(days=30)).isoformat(),
        event={"type": "insolvency", "date": today.isoformat()},
    )
    assert _codes(claim) == ["limit_refused"]


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"due_date": "2099-01-01"}, "due_date"),
        ({"buyer_id": "999999999"}, "buyer_id"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "10.001"}, "amount"),
        ({"event": {"type": "insolvency"}}, "event.date"),
        ({"extension_days": 400}, "extension_days"),
    ],
)
def test_declaration_input_is_checked(
    client: Any, setup: dict[str, Any], overrides: dict[str, Any], path: str
) -> None:
    body = declaration(GOOD, setup["start"])
    body.update(overrides)
    error = assert_error(
        client.post(f"/policies/{setup['pid']}/declarations", body, token=setup["owner"]), 422
    )
    assert error["fields"][0]["path"] == path, error


def test_an_invoice_is_declared_once(client: Any, setup: dict[str, Any]) -> None:
    first = _declare(client, setup, invoice_number="F-2026-077")
    again = client.post(
        f"/policies/{setup['pid']}/declarations",
        declaration(GOOD, setup["start"], invoice_number=" f-2026-077 "),  # same number, typed otherwise
        token=setup["owner"],
    )
    error = assert_error(again, 409, "invoice_already_declared")
    assert first["claim_id"] in error["message"]
    assert [f["path"] for f in error["fields"]] == ["invoice_number"]
    listed = body_of(client.get(f"/policies/{setup['pid']}/claims", token=setup["owner"]))["items"]
    assert [c["claim_id"] for c in listed] == [first["claim_id"]]
    # The marker behind the rule is no claim: its key answers 404 like any unknown id.
    marker = f"invoice#{setup['pid']}#{GOOD}#f-2026-077"
    assert_error(client.get(f"/claims/{marker}", token=setup["staff"]), 404)
    # Another number, or the same number for another buyer, is a new declaration.
    assert _declare(client, setup, invoice_number="F-2026-078")["status"] == "collection"


def test_claims_on_one_buyer_share_its_limit_and_deductible(client: Any, setup: dict[str, Any]) -> None:
    """Two invoices of 15,000 EUR on a buyer with a 20,000 EUR limit: 20,000 covered in all, one deductible."""
    staff = setup["staff"]
    judgment = {"type": "insolvency", "date": (setup["start"] + dt.timedelta(days=55)).isoformat()}
    settled = []
    for number in ("F-1", "F-2"):
        claim = _declare(client, setup, invoice_number=number, amount="15000", event=judgment)
        assert client.post(f"/claims/{claim['claim_id']}/establish", None, token=staff).status_code == 200
        settled.append(body_of(client.post(f"/claims/{claim['claim_id']}/settle", None, token=staff)))
    first, second = (c["settlement"] for c in settled)
    pct = Decimal(setup["policy"]["terms"]["indemnity_pct"]) / 100
    deductible = Decimal(setup["policy"]["terms"]["deductible"])
    assert (first["covered_amount"], first["deductible_applied"]) == ("15000.00", str(deductible))
    assert (second["covered_amount"], second["deductible_applied"]) == ("5000.00", "0.00")
    assert (second["buyer_cover_used_before"], second["buyer_deductible_used_before"]) == (
        "15000.00",
        str(deductible),
    )
    assert settled[1]["indemnity"] == str((5000 * pct).quantize(Decimal("0.01")))
    assert settled[0]["indemnity"] == str(((15000 - deductible) * pct).quantize(Decimal("0.01")))


def test_insolvency_claim_is_established_settled_and_recoveries_shared(
    client: Any, setup: dict[str, Any], aws: dict[str, str]
) -> None:
    import simulator

    start, staff, owner = setup["start"], setup["staff"], setup["owner"]
    judgment = (start + dt.timedelta(days=55)).isoformat()
    claim = _declare(client, setup, event={"type": "insolvency", "date": judgment})
    cid = claim["claim_id"]
    assert_error(client.post(f"/claims/{cid}/settle", None, token=staff), 409, "claim_state_conflict")
    established = body_of(client.post(f"/claims/{cid}/establish", None, token=staff))
    assert established["status"] == "claim_established"
    assert established["history"][-1]["detail"] == {"basis": "insolvency_judgment", "date": judgment}
    settled = client.post(f"/claims/{cid}/settle", None, token=staff)
    assert settled.status_code == 200, settled.body
    settled_claim = body_of(settled)
    # The same figure as the simulator's what-if for the same invoice and terms.
    terms = dict(
        setup["policy"]["terms"], named_limits=[{"buyer": "Transports Martin et Fils", "limit": "20000"}]
    )
    what_if = simulator.handle(
        {
            "op": "settle",
            "terms": terms,
            "invoices": [
                {
                    "id": "x",
                    "buyer": "Transports Martin et Fils",
                    "amount": "6000",
                    "invoice_date": (start + dt.timedelta(days=1)).isoformat(),
                    "due_date": (start + dt.timedelta(days=31)).isoformat(),
                    "event": {"type": "insolvency", "date": judgment},
                    "declared_on": (start + dt.timedelta(days=60)).isoformat(),
                }
            ],
        }
    )["result"]["invoices"][0]["indemnity"]
    pct = Decimal(setup["policy"]["terms"]["indemnity_pct"])
    deductible = Decimal(setup["policy"]["terms"]["deductible"])
    assert (
        settled_claim["indemnity"]
        == what_if
        == str(((6000 - deductible) * pct / 100).quantize(Decimal("0.01")))
    )
    assert settled_claim["status"] == "indemnified"
    assert settled_claim["settlement"]["paid_this_year_before"] == "0.00"
    assert_error(client.post(f"/claims/{cid}/settle", None, token=staff), 409, "claim_state_conflict")
    recovery = client.post(f"/claims/{cid}/recoveries", {"amount": 1000, "date": judgment}, token=staff)
    assert recovery.status_code == 201, recovery.body
    shared = body_of(recovery)["recoveries"][-1]
    assert shared["after_indemnity"] is True
    assert Decimal(shared["insurer_share"]) == (1000 * pct / 100).quantize(Decimal("0.01"))
    assert Decimal(shared["insurer_share"]) + Decimal(shared["owner_share"]) == 1000
    mine = body_of(client.get(f"/claims/{cid}", token=owner))
    assert [h["action"] for h in mine["history"]] == [
        "declared",
        "collection_started",
        "established",
        "indemnified",
        "recovery",
    ]
    assert all(h["at"] and h["by"] for h in mine["history"])
    assert body_of(client.get("/claims?status=indemnified", token=staff))["items"][0]["claim_id"] == cid


def test_protracted_default_waits_for_the_waiting_period_or_a_judgment(
    client: Any, setup: dict[str, Any], monkeypatch: Any
) -> None:
    staff = setup["staff"]
    first, second = _declare(client, setup), _declare(client, setup, invoice_number="F-2")
    assert_error(
        client.post(f"/claims/{first['claim_id']}/establish", None, token=staff), 409, "claim_not_established"
    )
    # An insolvency judgment recorded in the register establishes it at once.
    event = {
        "type": "insolvency_judgment",
        "date": (setup["start"] + dt.timedelta(days=59)).isoformat(),
        "kind": "liquidation",
    }
    assert client.post(f"/register/{GOOD}/events", event, token=staff).status_code == 201
    assert (
        body_of(client.post(f"/claims/{first['claim_id']}/establish", None, token=staff))["status"]
        == "claim_established"
    )
    # Or the end of the waiting period.
    move_clock(monkeypatch, dt.date.fromisoformat(second["timeline"]["claim_established"]))
    established = body_of(client.post(f"/claims/{second['claim_id']}/establish", None, token=staff))
    assert established["history"][-1]["detail"]["basis"] in ("waiting_period_over", "insolvency_judgment")


def test_full_recovery_closes_and_rejection_is_final(client: Any, setup: dict[str, Any]) -> None:
    staff = setup["staff"]
    claim = _declare(client, setup)
    url = f"/claims/{claim['claim_id']}/recoveries"
    assert_error(client.post(url, {"amount": 7000, "date": "2026-06-01"}, token=staff), 422)
    part = body_of(client.post(url, {"amount": 2500, "date": "2026-06-01"}, token=staff))
    assert (part["status"], part["recovered"]) == ("collection", "2500.00")
    closed = body_of(client.post(url, {"amount": 3500, "date": "2026-06-02"}, token=staff))
    assert (closed["status"], closed["recovered"]) == ("recovered", "6000.00")
    assert closed["recoveries"][0]["insurer_share"] == "0.00"
    other = _declare(client, setup, invoice_number="F-3")
    rejected = body_of(
        client.post(f"/claims/{other['claim_id']}/reject", {"reason": "Créance contestée"}, token=staff)
    )
    assert (rejected["status"], rejected["rejection_reason"]) == ("rejected", "Créance contestée")
    assert_error(client.post(f"/claims/{other['claim_id']}/establish", None, token=staff), 409)


def test_claims_are_private_and_staff_actions_refuse_owners_and_brokers(
    client: Any, setup: dict[str, Any], tokens: Any
) -> None:
    claim = _declare(client, setup)
    cid = claim["claim_id"]
    stranger = tokens("owners")
    assert_error(client.get(f"/claims/{cid}", token=stranger), 404, "claim_not_found")
    assert_error(client.get(f"/policies/{setup['pid']}/claims", token=stranger), 404)
    body = declaration(GOOD, setup["start"])
    assert_error(
        client.post(f"/policies/{setup['pid']}/declarations", body, token=stranger), 404, "policy_not_found"
    )
    for token in (setup["owner"], tokens("brokers")):
        for action in ("establish", "settle"):
            assert_error(client.post(f"/claims/{cid}/{action}", None, token=token), 403, "forbidden")
        assert_error(client.post(f"/claims/{cid}/reject", {"reason": "x"}, token=token), 403)
        assert_error(
            client.post(f"/claims/{cid}/recoveries", {"amount": 1, "date": "2026-01-01"}, token=token), 403
        )
        assert_error(client.get("/claims", token=token), 403)
    assert_error(client.post(f"/policies/{setup['pid']}/declarations", body, token=setup["staff"]), 403)
    assert_error(client.get("/claims/SIN-2026-NOPE", token=setup["staff"]), 404)
