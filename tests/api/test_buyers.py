"""Buyers, credit limits (automatic, on grade, referred to staff, reduced, cancelled), the register and alerts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from .claims_helpers import GERMAN, GOOD, POOR, add_buyer, owner_of
from .conftest import assert_error, body_of, paris_today


def test_owner_names_buyers_french_and_foreign(
    client: Any, tokens: Any, aws: dict[str, str], policy: dict[str, Any]
) -> None:
    owner = owner_of(client, tokens, aws, policy)
    pid = policy["policy_id"]
    french = add_buyer(client, pid, owner, "552 100 554")
    assert (french["buyer_id"], french["zone"], french["identifier_type"]) == (GOOD, "france", "siren")
    assert french["current_limit"] is None
    german = add_buyer(client, pid, owner, GERMAN, name="Müller Maschinenbau GmbH")
    assert (german["country"], german["zone"], german["identifier_type"]) == ("DE", "eu", "vat")
    listed = body_of(client.get(f"/policies/{pid}/buyers", token=owner))["items"]
    assert sorted(b["buyer_id"] for b in listed) == sorted([GOOD, GERMAN])
    assert body_of(client.get(f"/policies/{pid}/buyers", token=tokens("staff")))["items"]
    again = client.post(f"/policies/{pid}/buyers", {"siren": GOOD, "name": "X"}, token=owner)
    assert_error(again, 409, "buyer_exists")


@pytest.mark.parametrize(
    ("body", "status", "path", "fragment"),
    [
        ({"siren": "123456789", "name": "X"}, 422, "siren", "SIREN invalide"),
        ({"siren": "210000006", "name": "Mairie"}, 422, "siren", "organisme public"),
        ({"vat_number": "DE000000000", "name": "X", "country": "DE"}, 422, "vat_number", "TVA"),
        ({"vat_number": GERMAN, "name": "X", "country": "IT"}, 422, "country", "ne correspond pas"),
        ({"vat_number": "FR40303265045", "name": "X", "country": "FR"}, 422, "vat_number", "SIREN"),
        ({"name": "X"}, 422, "siren", "soit le SIREN"),
    ],
)
def test_buyer_identifiers_are_checked(
    client: Any,
    tokens: Any,
    aws: dict[str, str],
    policy: dict[str, Any],
    body: dict[str, Any],
    status: int,
    path: str,
    fragment: str,
) -> None:
    owner = owner_of(client, tokens, aws, policy)
    error = assert_error(client.post(f"/policies/{policy['policy_id']}/buyers", body, token=owner), status)
    messages = {f["path"]: f["message"] for f in error["fields"]}
    assert fragment in messages[path], messages


def test_the_insured_cannot_name_itself(
    client: Any, tokens: Any, aws: dict[str, str], policy: dict[str, Any]
) -> None:
    owner = owner_of(client, tokens, aws, policy)
    siren = policy["company"]["siren"]
    response = client.post(
        f"/policies/{policy['policy_id']}/buyers", {"siren": siren, "name": "Moi"}, token=owner
    )
    error = assert_error(response, 422, "own_company")
    assert [f["path"] for f in error["fields"]] == ["siren"]
    assert body_of(client.get(f"/policies/{policy['policy_id']}/buyers", token=owner))["items"] == []


def test_buyers_of_another_owner_are_404_and_staff_only_actions_are_403(
    client: Any, tokens: Any, aws: dict[str, str], policy: dict[str, Any]
) -> None:
    pid = policy["policy_id"]
    owner = owner_of(client, tokens, aws, policy)
    add_buyer(client, pid, owner)
    stranger = tokens("owners")
    assert_error(client.get(f"/policies/{pid}/buyers", token=stranger), 404, "policy_not_found")
    assert_error(
        client.post(f"/policies/{pid}/buyers", {"siren": POOR, "name": "X"}, token=stranger),
        404,
        "policy_not_found",
    )
    assert_error(
        client.post(f"/policies/{pid}/buyers/{GOOD}/limit-requests", {"amount": 1000}, token=stranger), 404
    )
    body = {"notice_date": paris_today().isoformat(), "reason": "Dégradation"}
    for token in (owner, tokens("brokers")):
        assert_error(
            client.post(f"/policies/{pid}/buyers/{GOOD}/limit/cancel", body, token=token), 403, "forbidden"
        )
        assert_error(client.get("/limit-requests", token=token), 403, "forbidden")
        assert_error(client.request("PUT", "/register/552100554", {"name": "X"}, token=token), 403)


def test_limits_decided_at_once_under_the_threshold_or_on_a_good_grade(
    client: Any, tokens: Any, aws: dict[str, str], policy: dict[str, Any]
) -> None:
    pid = policy["policy_id"]
    owner = owner_of(client, tokens, aws, policy)
    add_buyer(client, pid, owner, POOR, name="Menuiserie Lefèvre")
    add_buyer(client, pid, owner, GOOD)
    threshold = float(policy["terms"]["automatic_threshold"])  # essentielle: automatic cover
    small = body_of(
        client.post(f"/policies/{pid}/buyers/{POOR}/limit-requests", {"amount": threshold}, token=owner)
    )
    assert (small["status"], small["rule"], small["decided_amount"]) == (
        "approved",
        "automatic_threshold",
        f"{threshold:.2f}",
    )
    good = client.post(f"/policies/{pid}/buyers/{GOOD}/limit-requests", {"amount": "20000"}, token=owner)
    assert good.status_code == 201
    assert (body_of(good)["status"], body_of(good)["rule"], body_of(good)["grade"]) == (
        "approved",
        "good_grade",
        4,
    )
    above_cap = body_of(
        client.post(f"/policies/{pid}/buyers/{GOOD}/limit-requests", {"amount": "50000.01"}, token=owner)
    )
    assert above_cap["status"] == "referred"
    buyers = {b["buyer_id"]: b for b in body_of(client.get(f"/policies/{pid}/buyers", token=owner))["items"]}
    assert buyers[GOOD]["current_limit"] == "20000.00"
    assert buyers[POOR]["current_limit"] == f"{threshold:.2f}"
    assert [s["kind"] for s in buyers[GOOD]["limits"]] == ["approved"]


def test_referred_request_is_decided_once_by_staff(
    client: Any, tokens: Any, aws: dict[str, str], policy: dict[str, Any]
) -> None:
    pid = policy["policy_id"]
    owner, staff = owner_of(client, tokens, aws, policy), tokens("staff")
    add_buyer(client, pid, owner, POOR, name="Menuiserie Lefèvre")
    referred = body_of(
        client.post(f"/policies/{pid}/buyers/{POOR}/limit-requests", {"amount": 30000}, token=owner)
    )
    assert (referred["status"], referred["rule"], referred["grade"]) == ("referred", "referred", 7)
    queue = body_of(client.get("/limit-requests?status=referred&limit=5", token=staff))
    assert [r["request_id"] for r in queue["items"]] == [referred["request_id"]]
    url = f"/limit-requests/{referred['request_id']}/decision"
    bad = client.post(url, {"decision": "partly_approved", "amount": 40000, "reason": "x"}, token=staff)
    assert assert_error(bad, 422)["fields"][0]["path"] == "amount"
    assert_error(client.post(url, {"decision": "approved", "reason": "x"}, token=owner), 403)
    decided = client.post(
        url, {"decision": "partly_approved", "amount": 12000, "reason": "Note 7"}, token=staff
    )
    assert decided.status_code == 200, decided.body
    assert (body_of(decided)["status"], body_of(decided)["decided_amount"]) == ("partly_approved", "12000.00")
    assert_error(
        client.post(url, {"decision": "refused", "reason": "encore"}, token=staff),
        409,
        "limit_request_decided",
    )
    assert body_of(client.get("/limit-requests", token=staff))["items"] == []
    buyer = body_of(client.get(f"/policies/{pid}/buyers", token=owner))["items"][0]
    assert buyer["current_limit"] == "12000.00"
    assert_error(
        client.post("/limit-requests/lr_nope/decision", {"decision": "refused", "reason": "x"}, token=staff),
        404,
    )


def test_staff_reduce_then_cancel_for_future_deliveries(
    client: Any, tokens: Any, aws: dict[str, str], policy: dict[str, Any]
) -> None:
    pid = policy["policy_id"]
    owner, staff = owner_of(client, tokens, aws, policy), tokens("staff")
    add_buyer(client, pid, owner)
    base = f"/policies/{pid}/buyers/{GOOD}/limit"
    today = paris_today()
    assert_error(
        client.post(f"{base}/cancel", {"notice_date": today.isoformat(), "reason": "x"}, token=staff), 409
    )
    client.post(f"/policies/{pid}/buyers/{GOOD}/limit-requests", {"amount": 20000}, token=owner)
    past = (today - dt.timedelta(days=1)).isoformat()
    error = assert_error(
        client.post(f"{base}/reduce", {"amount": 1, "notice_date": past, "reason": "x"}, token=staff), 422
    )
    assert error["fields"][0]["path"] == "notice_date"
    later = (today + dt.timedelta(days=30)).isoformat()
    too_much = client.post(
        f"{base}/reduce", {"amount": 25000, "notice_date": later, "reason": "x"}, token=staff
    )
    assert assert_error(too_much, 422)["fields"][0]["path"] == "amount"
    reduced = body_of(
        client.post(
            f"{base}/reduce", {"amount": 8000, "notice_date": later, "reason": "Retards"}, token=staff
        )
    )
    assert reduced["current_limit"] == "20000.00"  # deliveries before the notice date keep the old limit
    assert [(s["kind"], s["amount"], s["effective_from"]) for s in reduced["limits"]][-1] == (
        "reduced",
        "8000.00",
        later,
    )
    cancelled = body_of(
        client.post(f"{base}/cancel", {"notice_date": later, "reason": "Procédure"}, token=staff)
    )
    assert [s["kind"] for s in cancelled["limits"]] == ["approved", "reduced", "cancelled"]
    # Staff find the same exposure from the register, every policy naming the company.
    exposure = body_of(client.get(f"/register/{GOOD}/buyers", token=staff))["items"]
    assert [(b["policy_id"], b["current_limit"]) for b in exposure] == [(pid, "20000.00")]
    assert [s["kind"] for s in exposure[0]["limits"]] == ["approved", "reduced", "cancelled"]
    assert_error(client.get(f"/register/{GOOD}/buyers", token=owner), 403)
    assert_error(client.get("/register/123456789/buyers", token=staff), 422)
    assert body_of(client.get("/register/542065479/buyers", token=staff))["items"] == []


def test_register_is_editable_and_events_alert_every_owner_with_the_buyer(
    client: Any, tokens: Any, aws: dict[str, str], policy: dict[str, Any]
) -> None:
    staff = tokens("staff")
    owner = owner_of(client, tokens, aws, policy)
    add_buyer(client, policy["policy_id"], owner)
    entry = body_of(client.get(f"/register/{GOOD}", token=staff))
    assert (entry["grade"], entry["events"]) == (4, [])
    edited = client.request(
        "PUT", f"/register/{GOOD}", {"name": "Transports Martin", "grade": 8}, token=staff
    )
    assert edited.status_code == 200, edited.body
    assert body_of(edited)["grade"] == 8
    created = client.request("PUT", "/register/443061841", {"name": "Nouvelle SARL", "grade": 2}, token=staff)
    assert body_of(created)["identifier"] == "443061841"
    assert_error(client.get("/register/000000000", token=staff), 404)
    bad = assert_error(client.get("/register/123456789", token=staff), 422)
    assert [f["path"] for f in bad["fields"]] == ["identifier"]
    event = {"type": "insolvency_judgment", "date": "2026-03-02", "kind": "redressement"}
    assert_error(
        client.post(
            "/register/542065479/events", {"type": "insolvency_judgment", "date": "2026-03-02"}, token=staff
        ),
        422,
    )
    result = client.post(f"/register/{GOOD}/events", event, token=staff)
    assert result.status_code == 201, result.body
    assert body_of(result)["alerts_sent"] == 1
    assert body_of(result)["entry"]["events"][0]["kind"] == "redressement"
    alerts = body_of(client.get("/me/alerts", token=owner))["items"]
    assert len(alerts) == 1
    assert alerts[0]["buyer_id"] == GOOD
    assert "redressement" in alerts[0]["message"]
    assert body_of(client.get("/me/alerts", token=tokens("owners")))["items"] == []
    # A bad grade now refers the request.
    asked = body_of(
        client.post(
            f"/policies/{policy['policy_id']}/buyers/{GOOD}/limit-requests", {"amount": 20000}, token=owner
        )
    )
    assert asked["status"] == "referred"


def test_only_decided_limits_cover_and_show_on_the_attestation(
    client: Any, tokens: Any, aws: dict[str, str], monkeypatch: Any
) -> None:
    """The quote's named limits were the simulation's assumptions: nobody granted them."""
    from .claims_helpers import declaration, move_clock
    from .conftest import quote_body, subscription_body

    quote = body_of(client.post("/quotes", quote_body(options={"formula": "selection"})))
    response = client.post(
        "/subscriptions", subscription_body(quote["quote_id"]), Idempotency_Key="k-decided-1"
    )
    policy = body_of(response)
    assert "Alpha" in [n["buyer"] for n in policy["terms"]["named_limits"]]  # assumed by the simulation
    pid, owner, staff = policy["policy_id"], owner_of(client, tokens, aws, policy), tokens("staff")
    start = dt.date.fromisoformat(policy["start_date"])
    today = start + dt.timedelta(days=60)
    move_clock(monkeypatch, today)
    add_buyer(client, pid, owner, POOR, name="Alpha")
    judgment = {"type": "insolvency", "date": (start + dt.timedelta(days=55)).isoformat()}

    refused = body_of(
        client.post(f"/policies/{pid}/declarations", declaration(POOR, start, event=judgment), token=owner)
    )
    assert refused["status"] == "rejected"
    assert [r["code"] for r in refused["reasons"]] == ["buyer_not_named"]
    page = client.get(f"/policies/{pid}/attestation", token=owner).body.decode()
    assert "Clients dénommés" not in page

    asked = body_of(
        client.post(f"/policies/{pid}/buyers/{POOR}/limit-requests", {"amount": 20000}, token=owner)
    )
    assert asked["status"] == "referred"
    decided = client.post(
        f"/limit-requests/{asked['request_id']}/decision",
        {"decision": "approved", "reason": "Bilan sain"},
        token=staff,
    )
    assert decided.status_code == 200, decided.body
    page = client.get(f"/policies/{pid}/attestation", token=owner).body.decode()
    assert "Clients dénommés : limites de crédit en vigueur le" in page
    assert '<td>Alpha</td><td>France</td><td class="num">20\u202f000,00\u00a0€</td>' in page
    accepted = body_of(
        client.post(
            f"/policies/{pid}/declarations",
            declaration(
                POOR,
                start,
                invoice_number="F-2026-002",
                invoice_date=today.isoformat(),  # limits cover deliveries from their decision on
                due_date=(today + dt.timedelta(days=30)).isoformat(),
                event={"type": "insolvency", "date": today.isoformat()},
            ),
            token=owner,
        )
    )
    assert (accepted["status"], accepted["reasons"]) == ("collection", [])
