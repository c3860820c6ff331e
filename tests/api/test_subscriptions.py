"""POST /subscriptions: the transaction, the owner's account, idempotency, failures and retries."""

from __future__ import annotations

import datetime as dt
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from .conftest import (
    IBAN,
    PASSWORD,
    REGION,
    assert_error,
    body_of,
    count_items,
    live_claims,
    quote_body,
    subscription_body,
)


def _cognito() -> Any:
    return boto3.client("cognito-idp", region_name=REGION)


def _quote_status(client: Any, quote_id: str) -> str:
    return str(body_of(client.get(f"/quotes/{quote_id}"))["status"])


def test_subscription_creates_policy_account_and_mandate(
    client: Any, quote: dict[str, Any], aws: dict[str, str]
) -> None:
    body = subscription_body(quote["quote_id"])
    response = client.post("/subscriptions", body, Idempotency_Key="key-happy-0001")
    assert response.status_code == 201, response.body
    policy = body_of(response)
    number = policy["policy_id"]
    assert number == policy["policy_number"]
    year = dt.datetime.now(dt.UTC).year
    assert number.startswith(f"AC-{year}-")
    assert len(number) == len("AC-2026-000123")
    assert response.headers["Location"] == f"/policies/{number}"
    assert policy["status"] == "active"
    assert policy["quote_id"] == quote["quote_id"]
    assert policy["terms"] == quote["result"]["terms"]
    assert policy["premium"] == quote["premium"]
    assert policy["tariff_version"] == quote["tariff_version"]
    assert policy["iban_masked"] == "**** 0189"
    assert policy["mandate"]["reference"] == f"RUM-{number}"
    assert policy["mandate"]["iban_masked"] == "**** 0189"
    start = dt.date.fromisoformat(body["start_date"])
    assert policy["start_date"] == start.isoformat()
    assert policy["end_date"] == (start.replace(year=start.year + 1) - dt.timedelta(days=1)).isoformat()
    assert policy["renewal"] == "tacite"
    assert policy["notice_months"] == 2
    assert policy["company"]["siren"] == "732829320"
    assert IBAN[:-4] not in response.body.decode()
    assert _quote_status(client, quote["quote_id"]) == "accepted"
    assert count_items(aws["POLICIES_TABLE"]) == 1

    # The owner can log in right away with the chosen password, in group owners.
    cognito = _cognito()
    user = cognito.admin_get_user(UserPoolId=aws["USER_POOL_ID"], Username="jeanne.dupont@example.fr")
    groups = cognito.admin_list_groups_for_user(
        UserPoolId=aws["USER_POOL_ID"], Username="jeanne.dupont@example.fr"
    )
    assert [g["GroupName"] for g in groups["Groups"]] == ["owners"]
    assert user["UserStatus"] == "CONFIRMED"
    auth = cognito.admin_initiate_auth(
        UserPoolId=aws["USER_POOL_ID"],
        ClientId=aws["USER_POOL_CLIENT_ID"],
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "jeanne.dupont@example.fr", "PASSWORD": PASSWORD},
    )
    id_token = auth["AuthenticationResult"]["IdToken"]
    mine = client.get("/me/policies", token=id_token)
    assert mine.status_code == 200, mine.body
    assert [p["policy_id"] for p in body_of(mine)["items"]] == [number]


def test_same_key_replays_the_same_policy(client: Any, quote: dict[str, Any], aws: dict[str, str]) -> None:
    body = subscription_body(quote["quote_id"])
    first = client.post("/subscriptions", body, Idempotency_Key="key-replay-0001")
    second = client.post("/subscriptions", body, Idempotency_Key="key-replay-0001")
    assert first.status_code == second.status_code == 201
    assert body_of(first) == body_of(second)
    assert second.headers["Idempotent-Replayed"] == "true"
    assert count_items(aws["POLICIES_TABLE"]) == 1


def test_same_key_with_another_body_is_409(client: Any, quote: dict[str, Any], aws: dict[str, str]) -> None:
    assert (
        client.post(
            "/subscriptions", subscription_body(quote["quote_id"]), Idempotency_Key="key-conflict-01"
        ).status_code
        == 201
    )
    other = subscription_body(quote["quote_id"], iban="DE89370400440532013000")
    error = assert_error(
        client.post("/subscriptions", other, Idempotency_Key="key-conflict-01"), 409, "idempotency_key_reused"
    )
    assert error["fields"][0]["path"] == "Idempotency-Key"
    assert count_items(aws["POLICIES_TABLE"]) == 1


def test_doubled_request_without_key_returns_the_same_policy(
    client: Any, quote: dict[str, Any], aws: dict[str, str]
) -> None:
    body = subscription_body(quote["quote_id"])
    first = body_of(client.post("/subscriptions", body))
    second = client.post("/subscriptions", body)
    assert second.status_code == 201
    assert body_of(second)["policy_id"] == first["policy_id"]
    third = client.post("/subscriptions", body, Idempotency_Key="another-key-0001")
    assert third.status_code == 201
    assert body_of(third)["policy_id"] == first["policy_id"]
    assert count_items(aws["POLICIES_TABLE"]) == 1


def test_another_request_on_an_accepted_quote_is_409(
    client: Any, quote: dict[str, Any], aws: dict[str, str]
) -> None:
    assert client.post("/subscriptions", subscription_body(quote["quote_id"])).status_code == 201
    other = subscription_body(
        quote["quote_id"], contact={"first_name": "Paul", "last_name": "Martin", "email": "paul@example.fr"}
    )
    assert_error(client.post("/subscriptions", other), 409, "quote_already_accepted")
    assert count_items(aws["POLICIES_TABLE"]) == 1


def test_twenty_concurrent_identical_subscriptions_make_one_policy(
    client: Any, quote: dict[str, Any], aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import contextlib

    from chalice.test import BaseClient

    # The test client swaps os.environ around each request, which races between threads;
    # the environment is already the local stage's.
    monkeypatch.setattr(BaseClient, "_patched_env_vars", lambda self, env: contextlib.nullcontext())
    body = subscription_body(quote["quote_id"])

    def send(_: int) -> tuple[int, str]:
        response = client.post("/subscriptions", body, Idempotency_Key="key-concurrent-01")
        return response.status_code, json.loads(response.body).get("policy_id", "")

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(send, range(20)))
    assert {status for status, _ in results} == {201}
    assert len({policy_id for _, policy_id in results}) == 1
    assert count_items(aws["POLICIES_TABLE"]) == 1
    assert count_items(aws["IDEMPOTENCY_TABLE"]) == 1


def test_unknown_and_expired_quotes(
    client: Any, quote: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    error = assert_error(
        client.post("/subscriptions", subscription_body("q_unknown00000000000000")), 404, "quote_not_found"
    )
    assert error["fields"][0]["path"] == "quote_id"
    from chalicelib import clock

    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
    monkeypatch.setattr(clock, "now", lambda: later)
    body = subscription_body(quote["quote_id"], start_date=(later.date() + dt.timedelta(days=1)).isoformat())
    assert_error(client.post("/subscriptions", body), 409, "quote_expired")


@pytest.mark.parametrize(
    ("change", "path", "fragment"),
    [
        ({"company": {"siren": "123456789"}}, "company.siren", "SIREN invalide"),
        ({"company": {"siren": "210000006"}}, "company.siren", "organismes publics"),
        ({"company": {"siren": "130000003"}}, "company.siren", "organismes publics"),
        ({"company": {"siret": "35600000000048"}}, "company.siret", "doit commencer par le SIREN"),
        ({"iban": "FR7630006000011234567890180"}, "iban", "IBAN invalide"),
        ({"iban": "BR1800360305000010009795493C1"}, "iban", "zone SEPA"),
        ({"accept_terms": False}, "accept_terms", "conditions générales"),
        ({"password": "court"}, "password", "12 à 128 caractères"),
        ({"password": "sanschiffreNIsymbole"}, "password", "12 à 128 caractères"),
        ({"start_date": "01/12/2026"}, "start_date", "AAAA-MM-JJ"),
        ({"contact": {"email": "jeanne"}}, "contact.email", "e-mail invalide"),
    ],
)
def test_subscription_validation(
    client: Any, quote: dict[str, Any], aws: dict[str, str], change: dict[str, Any], path: str, fragment: str
) -> None:
    body = subscription_body(quote["quote_id"])
    for key, value in change.items():
        if isinstance(value, dict):
            body[key] = {**body[key], **value}
        else:
            body[key] = value
    error = assert_error(client.post("/subscriptions", body), 422, "validation_error")
    messages = {f["path"]: f["message"] for f in error["fields"]}
    assert fragment in messages[path], messages
    assert count_items(aws["POLICIES_TABLE"]) == 0
    assert live_claims(aws) == 0


@pytest.mark.parametrize("days", [-1, 91])
def test_start_date_window(client: Any, quote: dict[str, Any], aws: dict[str, str], days: int) -> None:
    from chalicelib import clock

    start = clock.today_paris(clock.now()) + dt.timedelta(days=days)
    error = assert_error(
        client.post("/subscriptions", subscription_body(quote["quote_id"], start_date=start.isoformat())),
        422,
        "invalid_start_date",
    )
    assert error["fields"][0]["path"] == "start_date"
    assert count_items(aws["POLICIES_TABLE"]) == 0
    assert _quote_status(client, quote["quote_id"]) == "requested"


def test_invalid_idempotency_key_is_400(client: Any, quote: dict[str, Any]) -> None:
    error = assert_error(
        client.post("/subscriptions", subscription_body(quote["quote_id"]), Idempotency_Key="x y"),
        400,
        "invalid_idempotency_key",
    )
    assert error["fields"][0]["path"] == "Idempotency-Key"


def test_existing_account_is_409_and_nothing_is_written(
    client: Any, quote: dict[str, Any], aws: dict[str, str]
) -> None:
    _cognito().admin_create_user(
        UserPoolId=aws["USER_POOL_ID"], Username="jeanne.dupont@example.fr", MessageAction="SUPPRESS"
    )
    error = assert_error(
        client.post("/subscriptions", subscription_body(quote["quote_id"])), 409, "account_exists"
    )
    assert error["fields"][0]["path"] == "contact.email"
    assert count_items(aws["POLICIES_TABLE"]) == 0
    assert live_claims(aws) == 0
    assert _quote_status(client, quote["quote_id"]) == "requested"


def _failing(method: str, real: Any, times: int = 1) -> Any:
    """``real`` that raises a botocore ClientError on its first ``times`` calls."""
    from botocore.exceptions import ClientError

    calls = {"n": 0}

    def call(**kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] <= times:
            raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "injected"}}, method)
        return real(**kwargs)

    return call


def test_dynamodb_failure_in_the_transaction_is_503_and_writes_nothing(
    client: Any, quote: dict[str, Any], aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib import config

    dynamodb = config.client("dynamodb")
    monkeypatch.setattr(
        dynamodb, "transact_write_items", _failing("TransactWriteItems", dynamodb.transact_write_items)
    )
    body = subscription_body(quote["quote_id"])
    response = client.post("/subscriptions", body, Idempotency_Key="key-ddb-fail-01")
    assert_error(response, 503, "service_unavailable")
    assert response.headers["Retry-After"] == "2"
    assert count_items(aws["POLICIES_TABLE"]) == 0
    assert live_claims(aws) == 0
    assert _quote_status(client, quote["quote_id"]) == "requested"
    users = _cognito().list_users(UserPoolId=aws["USER_POOL_ID"])["Users"]
    assert users == []
    # The retry goes through.
    retry = client.post("/subscriptions", body, Idempotency_Key="key-ddb-fail-01")
    assert retry.status_code == 201
    assert count_items(aws["POLICIES_TABLE"]) == 1


@pytest.mark.parametrize(
    "failing", ["admin_create_user", "admin_set_user_password", "admin_add_user_to_group"]
)
def test_cognito_failure_after_the_transaction_is_retriable(
    client: Any, quote: dict[str, Any], aws: dict[str, str], monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    from chalicelib import config

    cognito = config.client("cognito-idp")
    monkeypatch.setattr(cognito, failing, _failing(failing, getattr(cognito, failing)))
    body = subscription_body(quote["quote_id"])
    response = client.post("/subscriptions", body, Idempotency_Key="key-cognito-01")
    error = assert_error(response, 503, "account_pending")
    assert "AC-" in error["message"]
    # The policy is recorded, waiting for its account; the quote is accepted; nothing else.
    assert count_items(aws["POLICIES_TABLE"]) == 1
    assert _quote_status(client, quote["quote_id"]) == "accepted"
    retry = client.post("/subscriptions", body, Idempotency_Key="key-cognito-01")
    assert retry.status_code == 201, retry.body
    policy = body_of(retry)
    assert policy["status"] == "active"
    assert count_items(aws["POLICIES_TABLE"]) == 1
    assert "AC-" + error["message"].split("AC-")[1].split(" ")[0] == policy["policy_id"]
    users = _cognito().list_users(UserPoolId=aws["USER_POOL_ID"])["Users"]
    assert len(users) == 1


def test_a_retry_may_change_only_the_password(
    client: Any, quote: dict[str, Any], aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib import config

    cognito = config.client("cognito-idp")
    monkeypatch.setattr(
        cognito,
        "admin_set_user_password",
        _failing("admin_set_user_password", cognito.admin_set_user_password),
    )
    body = subscription_body(quote["quote_id"])
    assert client.post("/subscriptions", body, Idempotency_Key="key-password-01").status_code == 503
    body["password"] = "Un-Autre-Motdepasse-99"
    assert client.post("/subscriptions", body, Idempotency_Key="key-password-01").status_code == 201
    _cognito().admin_initiate_auth(
        UserPoolId=aws["USER_POOL_ID"],
        ClientId=aws["USER_POOL_CLIENT_ID"],
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "jeanne.dupont@example.fr", "PASSWORD": "Un-Autre-Motdepasse-99"},
    )


def test_two_quotes_make_two_policies(client: Any, aws: dict[str, str]) -> None:
    ids = []
    for index in range(2):
        quote = body_of(client.post("/quotes", quote_body()))
        contact = {"first_name": "Jeanne", "last_name": "Dupont", "email": f"owner{index}@example.fr"}
        ids.append(
            body_of(client.post("/subscriptions", subscription_body(quote["quote_id"], contact=contact)))[
                "policy_id"
            ]
        )
    assert len(set(ids)) == 2
    assert count_items(aws["POLICIES_TABLE"]) == 2


def test_after_a_failure_the_key_is_free_for_a_corrected_request(
    client: Any, quote: dict[str, Any], aws: dict[str, str]
) -> None:
    """A failed attempt releases its claim: the same key with a fixed body goes through."""
    from chalicelib import clock

    too_late = clock.today_paris(clock.now()) + dt.timedelta(days=120)
    body = subscription_body(quote["quote_id"], start_date=too_late.isoformat())
    assert_error(
        client.post("/subscriptions", body, Idempotency_Key="key-fixed-0001"), 422, "invalid_start_date"
    )
    fixed = subscription_body(quote["quote_id"])
    response = client.post("/subscriptions", fixed, Idempotency_Key="key-fixed-0001")
    assert response.status_code == 201
    assert live_claims(aws) == 1
