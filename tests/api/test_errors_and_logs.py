"""Error shape for failures (503, 500), and logs that never hold an IBAN, an e-mail or a token."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import (
    IBAN,
    IBAN_SPACED,
    PASSWORD,
    assert_error,
    body_of,
    count_items,
    owner_sub_of,
    quote_body,
    subscription_body,
)


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Everything the API logger writes, formatted as in production."""
    from chalicelib.logs import JsonFormatter, get_logger

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = get_logger()
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(level)


def _failing(real: Any, exc: Exception) -> Any:
    def call(**kwargs: Any) -> Any:
        raise exc

    return call


def _client_error(operation: str) -> Exception:
    from botocore.exceptions import ClientError

    return ClientError(
        {"Error": {"Code": "ResourceNotFoundException", "Message": "Requested resource not found"}}, operation
    )


def test_dynamodb_failure_on_quote_is_503(
    client: Any, aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib import config

    dynamodb = config.client("dynamodb")
    monkeypatch.setattr(dynamodb, "put_item", _failing(dynamodb.put_item, _client_error("PutItem")))
    response = client.post("/quotes", quote_body())
    error = assert_error(response, 503, "service_unavailable")
    assert "réessayez" in error["message"]
    assert count_items(aws["QUOTES_TABLE"]) == 0


def test_connection_failure_on_read_is_503(
    client: Any, tokens: Any, policy: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import EndpointConnectionError
    from chalicelib import config

    dynamodb = config.client("dynamodb")
    monkeypatch.setattr(
        dynamodb,
        "get_item",
        _failing(dynamodb.get_item, EndpointConnectionError(endpoint_url="https://dynamodb")),
    )
    assert_error(
        client.get(f"/policies/{policy['policy_id']}", token=tokens("staff")), 503, "service_unavailable"
    )
    assert_error(client.get(f"/quotes/{policy['quote_id']}"), 503, "service_unavailable")


def test_missing_table_is_503(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUOTES_TABLE", "no-such-table")
    from chalicelib import config

    config.reset()
    assert_error(client.post("/quotes", quote_body()), 503, "service_unavailable")


def test_unexpected_error_is_500_without_trace(
    client: Any, monkeypatch: pytest.MonkeyPatch, log_lines: io.StringIO
) -> None:
    from chalicelib import quoting

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"bug with {IBAN} and jeanne@example.fr")

    monkeypatch.setattr(quoting, "create_quote", broken)
    response = client.post("/quotes", quote_body())
    assert_error(response, 500, "internal_error")
    assert b"RuntimeError" not in response.body
    assert b"bug" not in response.body
    text = log_lines.getvalue()
    assert "RuntimeError" in text
    assert "[IBAN masqué]" in text
    assert "[e-mail masqué]" in text
    assert IBAN not in text
    assert "jeanne@example.fr" not in text


def test_no_iban_email_or_token_in_responses_or_logs(
    client: Any,
    tokens: Any,
    aws: dict[str, str],
    log_lines: io.StringIO,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.INFO)
    from chalicelib import config

    responses = []
    quote = body_of(client.post("/quotes", quote_body()))
    body = subscription_body(quote["quote_id"])
    cognito = config.client("cognito-idp")
    real = cognito.admin_create_user
    calls = {"n": 0}

    def flaky(**kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise _client_error("AdminCreateUser")
        return real(**kwargs)

    monkeypatch.setattr(cognito, "admin_create_user", flaky)
    responses.append(client.post("/subscriptions", body, Idempotency_Key="key-logs-00001"))
    responses.append(client.post("/subscriptions", body, Idempotency_Key="key-logs-00001"))
    responses.append(client.post("/subscriptions", body, Idempotency_Key="key-logs-00001"))
    responses.append(
        client.post(
            "/subscriptions", {**body, "iban": "DE89370400440532013000"}, Idempotency_Key="key-logs-00001"
        )
    )
    policy = body_of(responses[1])
    owner = tokens("owners", sub=owner_sub_of(aws, policy["policy_id"]))
    staff = tokens("staff")
    forged = tokens("staff", expires_in=-100)
    responses += [
        client.get("/me/policies", token=owner),
        client.get(f"/policies/{policy['policy_id']}", token=owner),
        client.get(f"/policies/{policy['policy_id']}/attestation", token=owner),
        client.get("/policies", token=staff),
        client.get("/policies", token=forged),
        client.post("/subscriptions", {**body, "iban": "FR00 1234"}),
    ]
    assert [r.status_code for r in responses] == [503, 201, 201, 409, 200, 200, 200, 200, 401, 422]
    logged = log_lines.getvalue() + "\n".join(r.getMessage() for r in caplog.records)
    assert '"event": "request"' in logged
    assert '"event": "policy_created"' in logged
    secrets = [
        IBAN,
        IBAN_SPACED,
        IBAN[4:],
        "FR00 1234",
        "DE89370400440532013000",
        PASSWORD,
        "jeanne.dupont@example.fr",
        owner,
        staff,
        forged,
    ]
    for secret in secrets:
        assert secret not in logged, secret
    for response in responses:
        text = response.body.decode()
        for secret in (IBAN, IBAN_SPACED, IBAN[4:-4], "DE89370400440532013000", PASSWORD):
            assert secret not in text


def test_redact_masks_personal_data() -> None:
    from chalicelib.logs import redact

    text = redact(
        "iban FR76 3000 6000 0112 3456 7890 189, fr7630006000011234567890189, mail a.b+c@d.example.fr, "
        "Authorization: Bearer abc.def.ghi, token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln, policy AC-2026-000123, quote q_AB12cdefGHIJklmnOPQRst"
    )
    assert "3000" not in text
    assert "7630006" not in text
    assert "d.example.fr" not in text
    assert "abc.def" not in text
    assert "eyJ" not in text
    assert "AC-2026-000123" in text
    assert "q_AB12cdefGHIJklmnOPQRst" in text
