"""Helpers of the prevention and claims tests: a subscribed policy, its owner, a moved clock."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .conftest import body_of, owner_sub_of

GOOD = "552100554"  # grade 4 in the demo register
POOR = "404833048"  # grade 7
GERMAN = "DE136695976"


def owner_of(client: Any, tokens: Any, aws: dict[str, str], policy: dict[str, Any]) -> str:
    return str(tokens("owners", sub=owner_sub_of(aws, policy["policy_id"])))


def add_buyer(
    client: Any, policy_id: str, token: str, identifier: str = GOOD, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"name": extra.pop("name", "Transports Martin et Fils"), **extra}
    if identifier[:2].isalpha():
        body.update(vat_number=identifier, country=identifier[:2])
    else:
        body["siren"] = identifier
    response = client.post(f"/policies/{policy_id}/buyers", body, token=token)
    assert response.status_code == 201, response.body
    return dict(body_of(response))


def move_clock(monkeypatch: Any, day: dt.date) -> None:
    from chalicelib import clock

    moment = dt.datetime(day.year, day.month, day.day, 10, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(clock, "now", lambda: moment)


def declaration(buyer_id: str, start: dt.date, **overrides: Any) -> dict[str, Any]:
    """An invoice of 6,000 EUR excl. VAT, dated start+1, due start+31 (declared at start+60: in time)."""
    body: dict[str, Any] = {
        "invoice_number": "F-2026-001",
        "invoice_date": (start + dt.timedelta(days=1)).isoformat(),
        "due_date": (start + dt.timedelta(days=31)).isoformat(),
        "amount": "6000.00",
        "vat_included": False,
        "buyer_id": buyer_id,
        "extension_days": 0,
    }
    body.update(overrides)
    return body


def insured_with_limit(
    client: Any, tokens: Any, aws: dict[str, str], policy: dict[str, Any], monkeypatch: Any
) -> dict[str, Any]:
    """A policy, its owner, a French buyer with a 20,000 EUR limit, the clock 60 days after the start."""
    owner = owner_of(client, tokens, aws, policy)
    pid = policy["policy_id"]
    add_buyer(client, pid, owner)
    granted = client.post(f"/policies/{pid}/buyers/{GOOD}/limit-requests", {"amount": 20000}, token=owner)
    assert body_of(granted)["status"] == "approved"
    start = dt.date.fromisoformat(policy["start_date"])
    move_clock(monkeypatch, start + dt.timedelta(days=60))
    return {"pid": pid, "owner": owner, "staff": tokens("staff"), "start": start, "policy": policy}
