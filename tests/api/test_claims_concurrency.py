"""Concurrent settlements: one indemnity per claim, never above the policy year's maximum liability."""

from __future__ import annotations

import contextlib
import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import boto3
import pytest

from .claims_helpers import GOOD, add_buyer, declaration, move_clock, owner_of
from .conftest import REGION, body_of


@pytest.fixture
def threaded(client: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    from chalice.test import BaseClient

    # The test client swaps os.environ around each request, which races between threads;
    # the environment is already the local stage's.
    monkeypatch.setattr(BaseClient, "_patched_env_vars", lambda self, env: contextlib.nullcontext())
    return client


def _siren(n: int) -> str:
    from stdnum import luhn

    base = f"4{n:07d}"
    return base + luhn.calc_check_digit(base)


def _established_claims(
    client: Any,
    tokens: Any,
    aws: dict[str, str],
    policy: dict[str, Any],
    monkeypatch: Any,
    count: int,
    *,
    one_buyer: bool = False,
    amount: str = "9000",
) -> tuple[list[str], str]:
    """``count`` established claims under automatic cover (no named limit), one buyer each or all on one."""
    owner, staff = owner_of(client, tokens, aws, policy), tokens("staff")
    pid = policy["policy_id"]
    buyers = [GOOD] if one_buyer else [_siren(n) for n in range(count)]
    for n, buyer in enumerate(buyers):
        add_buyer(client, pid, owner, buyer, name=f"Client {n}")
    start = dt.date.fromisoformat(policy["start_date"])
    move_clock(monkeypatch, start + dt.timedelta(days=60))
    judgment = {"type": "insolvency", "date": (start + dt.timedelta(days=55)).isoformat()}
    ids = []
    for n in range(count):
        buyer = buyers[0] if one_buyer else buyers[n]
        body = declaration(buyer, start, invoice_number=f"F-{n}", amount=amount, event=judgment)
        claim = body_of(client.post(f"/policies/{pid}/declarations", body, token=owner))
        assert claim["status"] == "collection", claim
        assert client.post(f"/claims/{claim['claim_id']}/establish", None, token=staff).status_code == 200
        ids.append(claim["claim_id"])
    return ids, staff


def _counter(aws: dict[str, str], policy_id: str) -> Decimal:
    items = boto3.client("dynamodb", region_name=REGION).query(
        TableName=aws["POLICY_YEARS_TABLE"],
        KeyConditionExpression="policy_id = :p",
        ExpressionAttributeValues={":p": {"S": policy_id}},
    )["Items"]
    assert len(items) == 1
    return Decimal(items[0]["paid"]["N"])


def test_two_staff_settling_one_claim_make_one_indemnity(
    threaded: Any, tokens: Any, aws: dict[str, str], policy: dict[str, Any], monkeypatch: Any
) -> None:
    (claim_id,), staff = _established_claims(threaded, tokens, aws, policy, monkeypatch, 1)
    second = tokens("staff")

    def send(token: str) -> tuple[int, dict[str, Any]]:
        response = threaded.post(f"/claims/{claim_id}/settle", None, token=token)
        return response.status_code, body_of(response)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(send, [staff, second] * 4))
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [409] * 7, results
    (winner,) = [body for status, body in results if status == 200]
    assert all(body["error"]["code"] == "claim_state_conflict" for status, body in results if status == 409)
    claim = body_of(threaded.get(f"/claims/{claim_id}", token=staff))
    assert [h["action"] for h in claim["history"]].count("indemnified") == 1
    assert claim["indemnity"] == winner["indemnity"]
    assert _counter(aws, policy["policy_id"]) == Decimal(winner["indemnity"])


def test_concurrent_settlements_never_exceed_the_maximum_liability(
    threaded: Any, tokens: Any, aws: dict[str, str], policy: dict[str, Any], monkeypatch: Any
) -> None:
    terms = policy["terms"]
    max_liability = Decimal(terms["max_liability"])
    each = (
        (Decimal(terms["automatic_threshold"]) - Decimal(terms["deductible"]))
        * Decimal(terms["indemnity_pct"])
        / 100
    ).quantize(Decimal("0.01"))
    count = int(max_liability // each) + 3  # enough claims to go well past the cap
    ids, staff = _established_claims(threaded, tokens, aws, policy, monkeypatch, count)

    def send(claim_id: str) -> tuple[int, dict[str, Any]]:
        response = threaded.post(f"/claims/{claim_id}/settle", None, token=staff)
        return response.status_code, body_of(response)

    with ThreadPoolExecutor(max_workers=count) as pool:
        results = list(pool.map(send, ids))
    assert {status for status, _ in results} == {200}, results
    indemnities = [Decimal(body["indemnity"]) for _, body in results]
    assert all(Decimal(0) <= i <= each for i in indemnities)
    assert sum(indemnities) == max_liability  # paid up to the cap, not a cent more
    assert _counter(aws, policy["policy_id"]) == max_liability
    assert sum(1 for i in indemnities if i == each) == int(max_liability // each)
    capped = [body for _, body in results if Decimal(body["indemnity"]) < each]
    assert all(body["settlement"]["capped_by_max_liability"] for body in capped)


def test_concurrent_claims_on_one_buyer_share_its_cover_and_deductible(
    threaded: Any, tokens: Any, aws: dict[str, str], policy: dict[str, Any], monkeypatch: Any
) -> None:
    """Four claims of 3,000 EUR on one buyer settled at once: the automatic threshold and the
    deductible are used once in the policy year, whatever the order."""
    terms = policy["terms"]
    threshold, deductible = Decimal(terms["automatic_threshold"]), Decimal(terms["deductible"])
    pct = Decimal(terms["indemnity_pct"]) / 100
    ids, staff = _established_claims(
        threaded, tokens, aws, policy, monkeypatch, 4, one_buyer=True, amount="3000"
    )

    def send(claim_id: str) -> tuple[int, dict[str, Any]]:
        response = threaded.post(f"/claims/{claim_id}/settle", None, token=staff)
        return response.status_code, body_of(response)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(send, ids))
    assert {status for status, _ in results} == {200}, results
    settlements = [body["settlement"] for _, body in results]
    covered = sum(Decimal(s["covered_amount"]) for s in settlements)
    assert covered == min(threshold, Decimal(12000))
    assert sum(Decimal(s["deductible_applied"]) for s in settlements) == deductible
    total = sum(Decimal(body["indemnity"]) for _, body in results)
    assert total == ((covered - deductible) * pct).quantize(Decimal("0.01"))
    assert _counter(aws, policy["policy_id"]) == total


def test_racing_declarations_of_one_invoice_make_one_claim(
    threaded: Any, tokens: Any, aws: dict[str, str], policy: dict[str, Any], monkeypatch: Any
) -> None:
    owner = owner_of(threaded, tokens, aws, policy)
    pid = policy["policy_id"]
    add_buyer(threaded, pid, owner)
    start = dt.date.fromisoformat(policy["start_date"])
    move_clock(monkeypatch, start + dt.timedelta(days=60))
    body = declaration(
        GOOD,
        start,
        invoice_number="F-RACE",
        event={"type": "insolvency", "date": (start + dt.timedelta(days=55)).isoformat()},
    )

    def send(_: int) -> int:
        return int(threaded.post(f"/policies/{pid}/declarations", body, token=owner).status_code)

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = sorted(pool.map(send, range(6)))
    assert statuses == [201] + [409] * 5
    listed = body_of(threaded.get(f"/policies/{pid}/claims", token=owner))["items"]
    assert len(listed) == 1
