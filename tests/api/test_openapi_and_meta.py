"""GET /openapi.json (matches the routes and the responses), GET /health, CORS, the vendored engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from .conftest import API_DIR, body_of, owner_sub_of, quote_body, subscription_body


@pytest.fixture
def spec(client: Any) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return dict(body_of(response))


def _check(spec: dict[str, Any], schema_name: str, document: Any) -> None:
    root = {"$ref": f"#/components/schemas/{schema_name}", "components": spec["components"]}
    errors = sorted(Draft202012Validator(root).iter_errors(document), key=str)
    assert not errors, errors[0]


def test_openapi_is_valid_3_1(spec: dict[str, Any]) -> None:
    assert spec["openapi"] == "3.1.0"
    validate(spec)
    assert "ErrorResponse" in spec["components"]["schemas"]
    assert spec["components"]["securitySchemes"]["cognito"]["scheme"] == "bearer"


def test_openapi_lists_exactly_the_routes(spec: dict[str, Any], app_module: Any) -> None:
    routes = {
        (method, path)
        for path, methods in app_module.app.routes.items()
        for method, entry in methods.items()
        if method != "OPTIONS"
    }
    documented = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    assert documented == routes
    for path, methods in app_module.app.routes.items():
        for method, entry in methods.items():
            if method == "OPTIONS":
                continue
            operation = spec["paths"][path][method.lower()]
            assert bool(operation["security"]) == (entry.authorizer is not None), (method, path)


def test_responses_match_the_schemas(
    client: Any, tokens: Any, spec: dict[str, Any], aws: dict[str, str]
) -> None:
    quote = body_of(client.post("/quotes", quote_body()))
    _check(spec, "QuoteOut", quote)
    policy = body_of(client.post("/subscriptions", subscription_body(quote["quote_id"])))
    _check(spec, "PolicyOut", policy)
    owner = tokens("owners", sub=owner_sub_of(aws, policy["policy_id"]))
    staff = tokens("staff")
    _check(spec, "PolicyList", body_of(client.get("/me/policies", token=owner)))
    _check(spec, "PolicyList", body_of(client.get("/policies", token=staff)))
    _check(spec, "QuoteList", body_of(client.get("/quotes?status=accepted", token=staff)))
    _check(spec, "HealthOut", body_of(client.get("/health")))
    for response in (
        client.post("/quotes", {"profile": {}}),
        client.get("/quotes/q_nope"),
        client.get("/policies", token=tokens("owners")),
        client.get("/policies", token=tokens("staff", expires_in=-60)),
        client.post("/quotes", b"{"),
    ):
        assert response.status_code >= 400
        _check(spec, "ErrorResponse", body_of(response))


def test_health(client: Any) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    health = body_of(response)
    assert health["status"] == "ok"
    assert health["stage"] == "local"
    assert health["tariff_version"] in health["tariff_versions"]


def test_cors_any_origin_by_default(client: Any) -> None:
    preflight = client.request(
        "OPTIONS", "/subscriptions", Origin="http://127.0.0.1:8000", Access_Control_Request_Method="POST"
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert preflight.headers["Access-Control-Allow-Methods"] == "POST,OPTIONS"
    assert "Idempotency-Key" in preflight.headers["Access-Control-Allow-Headers"]
    assert client.get("/health").headers["Access-Control-Allow-Origin"] == "*"


def test_cors_for_the_configured_site(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ALLOW_ORIGIN", "https://site.example, http://127.0.0.1:8000")
    allowed = client.request(
        "OPTIONS", "/quotes/{quote_id}".replace("{quote_id}", "q_x"), Origin="https://site.example"
    )
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://site.example"
    assert allowed.headers["Access-Control-Allow-Methods"] == "GET,OPTIONS"
    error = client.post("/quotes", b"{", Origin="http://127.0.0.1:8000")
    assert error.status_code == 400
    assert error.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8000"
    assert "Retry-After" in error.headers["Access-Control-Expose-Headers"]
    other = client.get("/health", Origin="https://evil.example")
    assert "Access-Control-Allow-Origin" not in other.headers


def test_vendored_engine_is_a_complete_copy(tmp_path: Any) -> None:
    sys.path.insert(0, str(API_DIR))
    try:
        import vendor_engine
    finally:
        sys.path.remove(str(API_DIR))
    copied = vendor_engine.vendor(target=tmp_path / "simulator")
    names = {p.relative_to(tmp_path).as_posix() for p in copied}
    assert "simulator/__init__.py" in names
    assert "simulator/tariffs/2026.1.json" in names
    assert not any("__pycache__" in n for n in names)
    request = json.dumps({"op": "quote", "profile": {"turnover": 800000, "sector": "services"}})
    code = "import sys, simulator; print(simulator.__file__); print(simulator.handle_json(sys.argv[1]))"
    result = subprocess.run(
        [sys.executable, "-S", "-c", code, request],
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    origin, answer = result.stdout.splitlines()
    assert origin.startswith(str(tmp_path))
    import simulator

    assert answer == simulator.handle_json(request)
