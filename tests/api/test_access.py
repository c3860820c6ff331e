"""The custom authorizer and the group checks: 401, 403, 404 on another owner's policy."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest

from .conftest import KID, assert_error, body_of, owner_sub_of


def test_no_token_is_401(client: Any) -> None:
    response = client.get("/me/policies")
    assert response.status_code == 401


@pytest.mark.parametrize(
    "options",
    [
        {"expires_in": -60},
        {"audience": "another-client"},
        {"issuer": "https://cognito-idp.eu-west-3.amazonaws.com/eu-west-3_other"},
        {"token_use": "refresh"},
        {"drop": ("exp",)},
        {"drop": ("sub",)},
        {"kid": "unknown-kid"},
    ],
    ids=["expired", "audience", "issuer", "token_use", "no_exp", "no_sub", "unknown_kid"],
)
def test_invalid_tokens_are_401(client: Any, tokens: Any, options: dict[str, Any]) -> None:
    assert_error(client.get("/me/policies", token=tokens("owners", **options)), 401, "unauthorized")


def test_forged_token_is_401(client: Any, tokens: Any, keys: Any) -> None:
    forged = tokens("staff", key=keys.rogue)
    assert_error(client.get("/policies", token=forged), 401, "unauthorized")
    hmac = jwt.encode(
        {"sub": "x", "token_use": "id"},
        "a-shared-secret-that-is-long-enough-32b",
        algorithm="HS256",
        headers={"kid": KID},
    )
    assert_error(client.get("/policies", token=hmac), 401)
    header = jwt.utils.base64url_encode(json.dumps({"alg": "none", "kid": KID}).encode()).decode()
    payload = jwt.utils.base64url_encode(
        json.dumps({"sub": "x", "cognito:groups": ["staff"]}).encode()
    ).decode()
    assert_error(client.get("/policies", token=f"{header}.{payload}."), 401)
    assert_error(client.get("/policies", token="not-a-jwt"), 401)
    assert_error(client.request("GET", "/policies", Authorization="Basic dXNlcjpwYXNz"), 401)


def test_access_token_is_accepted(client: Any, tokens: Any) -> None:
    response = client.get("/policies", token=tokens("staff", token_use="access"))
    assert response.status_code == 200


def test_wrong_group_is_403(client: Any, tokens: Any) -> None:
    assert_error(client.get("/policies", token=tokens("owners")), 403, "forbidden")
    assert_error(client.get("/quotes", token=tokens("brokers")), 403, "forbidden")
    assert_error(client.get("/me/policies", token=tokens("staff")), 403, "forbidden")
    assert_error(client.get("/me/policies", token=tokens("unknown-group")), 403, "forbidden")


def test_owner_sees_own_policy_and_not_another_ones(
    client: Any, tokens: Any, policy: dict[str, Any], aws: dict[str, str]
) -> None:
    sub = owner_sub_of(aws, policy["policy_id"])
    mine = client.get(f"/policies/{policy['policy_id']}", token=tokens("owners", sub=sub))
    assert mine.status_code == 200
    assert body_of(mine) == policy
    other = client.get(f"/policies/{policy['policy_id']}", token=tokens("owners"))
    error = assert_error(other, 404, "policy_not_found")
    missing = assert_error(
        client.get("/policies/AC-2026-999999", token=tokens("owners")), 404, "policy_not_found"
    )
    assert error == missing  # the answer does not tell whether the policy exists
    assert_error(client.get(f"/policies/{policy['policy_id']}/attestation", token=tokens("owners")), 404)
    assert body_of(client.get("/me/policies", token=tokens("owners")))["items"] == []


def test_staff_sees_any_policy(client: Any, tokens: Any, policy: dict[str, Any]) -> None:
    response = client.get(f"/policies/{policy['policy_id']}", token=tokens("staff"))
    assert response.status_code == 200
    assert body_of(response)["policy_id"] == policy["policy_id"]


def test_jwks_override_only_in_local_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib import config

    monkeypatch.setenv("JWKS_URL", "file:///tmp/keys.json")
    monkeypatch.setenv("USER_POOL_ID", "eu-west-3_abc")
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    for stage, expected in (
        ("local", "file:///tmp/keys.json"),
        ("dev", "https://cognito-idp.eu-west-3.amazonaws.com/eu-west-3_abc/.well-known/jwks.json"),
        ("prod", "https://cognito-idp.eu-west-3.amazonaws.com/eu-west-3_abc/.well-known/jwks.json"),
    ):
        monkeypatch.setenv("STAGE", stage)
        config.settings.cache_clear()
        assert config.settings().jwks_url == expected
    config.settings.cache_clear()


def test_expiry_is_checked_again_after_the_authorizer(monkeypatch: pytest.MonkeyPatch) -> None:
    """The gateway may cache an authorizer answer: the route guard still refuses an expired token."""
    from chalicelib import auth, errors

    context = {"authorizer": {"sub": "s", "groups": "owners", "exp": 1000}}
    with pytest.raises(errors.Unauthorized):
        auth.identity_from_context(context, ("owners",))
    with pytest.raises(errors.Unauthorized):
        auth.identity_from_context({"authorizer": {"auth_error": "expired"}}, ())
