"""Fixtures of the API tests: moto in process, the resources of infra/, test-minted JWTs.

Every test gets fresh tables, bucket and user pool (``infra.resources.create_resources``
under ``moto.mock_aws``) and a ``chalice.test.Client`` on ``api/app.py`` in the ``local``
stage. Tokens are signed with an RSA key generated for the session; the authorizer
reads its public key from a JWKS file (``JWKS_URL=file://...``, honoured in the local
stage only), which also holds moto's key so that tokens from moto's Cognito pass too.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

REPO = Path(__file__).resolve().parents[2]
API_DIR = REPO / "api"
if str(API_DIR) not in sys.path:
    sys.path.insert(0, str(API_DIR))

REGION = "eu-west-3"
KID = "test-key-1"
# What the app reads at import time or on first use; the AWS ones keep boto3 away from real AWS.
BASE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "STAGE": "local",
    "IDEMPOTENCY_WAIT_SECONDS": "10",
}

import moto  # noqa: E402
from moto.core.botocore_stubber import BotocoreStubber  # noqa: E402
from moto.utilities.utils import load_resource  # noqa: E402

from infra.resources import create_resources, seed_buyer_register  # noqa: E402


@pytest.fixture(scope="package", autouse=True)
def _serialised_moto() -> Iterator[None]:
    """One moto call at a time, as DynamoDB applies each conditional write atomically (moto has no lock)."""
    lock = threading.Lock()
    original = BotocoreStubber.process_request

    def locked(self: BotocoreStubber, request: Any) -> Any:
        with lock:
            return original(self, request)

    BotocoreStubber.process_request = locked  # type: ignore[method-assign]
    yield
    BotocoreStubber.process_request = original  # type: ignore[method-assign]


class Keys:
    """The session's signing key, a rogue key with the same kid, and the JWKS file."""

    def __init__(self, directory: Path) -> None:
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.rogue = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        public.update({"kid": KID, "use": "sig", "alg": "RS256"})
        moto_jwks = load_resource("cognitoidp/resources/jwks-public.json")
        self.jwks_path = directory / "jwks.json"
        self.jwks_path.write_text(json.dumps({"keys": [public, *moto_jwks["keys"]]}))
        self.jwks_url = self.jwks_path.as_uri()


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return Keys(tmp_path_factory.mktemp("jwks"))


@pytest.fixture(scope="session")
def app_module() -> Any:
    """``api/app.py``, imported once with a neutral environment."""
    import app

    return app


@pytest.fixture(scope="package")
def aws_session(keys: Keys, app_module: Any) -> Iterator[dict[str, str]]:
    """moto for the tests of this package, with the resources of infra/ created once."""
    environ = os.environ  # the test client swaps os.environ per request; give the real one back
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "CORS_ALLOW_ORIGIN"):
            patch.delenv(name, raising=False)
        for name, value in BASE_ENV.items():
            patch.setenv(name, value)
        with moto.mock_aws():
            env = create_resources(region=REGION, prefix="test")
            for name, value in env.items():
                patch.setenv(name, value)
            patch.setenv("JWKS_URL", keys.jwks_url)
            yield env
        os.environ = environ  # noqa: B003 - put back the real os._Environ object, not its values


def _wipe(env: dict[str, str]) -> None:
    """Empty the tables and the user pool; the buyer register gets its demo companies back."""
    import boto3

    dynamodb = boto3.client("dynamodb", region_name=REGION)
    for variable, table in env.items():
        if not variable.endswith("_TABLE"):
            continue
        keys = [k["AttributeName"] for k in dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]]
        names = {f"#k{i}": k for i, k in enumerate(keys)}
        for item in dynamodb.scan(
            TableName=table, ProjectionExpression=", ".join(names), ExpressionAttributeNames=names
        )["Items"]:
            dynamodb.delete_item(TableName=table, Key={k: item[k] for k in keys})
    seed_buyer_register(env)
    cognito = boto3.client("cognito-idp", region_name=REGION)
    for user in cognito.list_users(UserPoolId=env["USER_POOL_ID"])["Users"]:
        cognito.admin_delete_user(UserPoolId=env["USER_POOL_ID"], Username=user["Username"])


@pytest.fixture
def aws(aws_session: dict[str, str]) -> Iterator[dict[str, str]]:
    """Empty resources, fresh settings and clients for one test."""
    from chalicelib import auth, config

    _wipe(aws_session)
    config.reset()
    auth.clear_jwks_cache()
    yield aws_session
    config.reset()


@pytest.fixture
def client(aws: dict[str, str], app_module: Any) -> Any:
    from chalice.test import Client

    with Client(app_module.app, stage_name="local", project_dir=str(API_DIR)) as test_client:
        yield Api(test_client, aws)


class Api:
    """Small helpers over the Chalice test client."""

    def __init__(self, test_client: Any, env: dict[str, str]) -> None:
        self.raw = test_client
        self.env = env

    def request(
        self, method: str, path: str, body: Any = None, token: str | None = None, **headers: str
    ) -> Any:
        sent = {k.replace("_", "-"): v for k, v in headers.items()}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        data = b""
        if body is not None:
            sent.setdefault("Content-Type", "application/json")
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.raw.http.request(method, path, headers=sent, body=data)

    def get(self, path: str, token: str | None = None, **headers: str) -> Any:
        return self.request("GET", path, token=token, **headers)

    def post(self, path: str, body: Any, token: str | None = None, **headers: str) -> Any:
        return self.request("POST", path, body, token=token, **headers)


def mint(
    env: dict[str, str],
    keys: Keys,
    sub: str | None = None,
    groups: tuple[str, ...] = ("owners",),
    *,
    token_use: str = "id",
    expires_in: int = 3600,
    audience: str | None = None,
    issuer: str | None = None,
    key: Any = None,
    kid: str = KID,
    algorithm: str = "RS256",
    drop: tuple[str, ...] = (),
) -> str:
    """A Cognito-like token signed with the session key (or ``key``)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": sub or str(uuid.uuid4()),
        "iss": issuer or f"https://cognito-idp.{REGION}.amazonaws.com/{env['USER_POOL_ID']}",
        "token_use": token_use,
        "iat": now,
        "auth_time": now,
        "exp": now + expires_in,
        "cognito:groups": list(groups),
    }
    claims["aud" if token_use == "id" else "client_id"] = audience or env["USER_POOL_CLIENT_ID"]
    for name in drop:
        claims.pop(name, None)
    signing_key = key if key is not None else keys.private
    return jwt.encode(claims, signing_key, algorithm=algorithm, headers={"kid": kid})


@pytest.fixture
def tokens(aws: dict[str, str], keys: Keys) -> Any:
    """``tokens(groups, sub=None, **options)`` -> a signed token."""

    def make(*groups: str, sub: str | None = None, **options: Any) -> str:
        return mint(aws, keys, sub, groups or ("owners",), **options)

    return make


# Request bodies.

PROFILE: dict[str, Any] = {
    "turnover": 900000,
    "sector": "it",
    "b2b_share": 0.9,
    "export": {"eu": 0.1},
    "buyers_count": 25,
    "top_buyers": [{"name": "Alpha", "share": 0.25, "grade": 3}, {"name": "Beta", "share": 0.1}],
}
IBAN = "FR7630006000011234567890189"
IBAN_SPACED = "FR76 3000 6000 0112 3456 7890 189"
PASSWORD = "Motdepasse-Solide-2026"


def quote_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "profile": json.loads(json.dumps(PROFILE)),
        "options": {"formula": "essentielle", "indemnity_pct": 70},
        "contact_email": "Jeanne.Dupont@Example.fr",
    }
    body.update(overrides)
    return body


def paris_today() -> dt.date:
    """The API's today: the date in France now, whatever the host's time zone."""
    from chalicelib import clock

    return clock.today_paris(clock.now())


def subscription_body(quote_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "quote_id": quote_id,
        "company": {
            "siren": "732 829 320",
            "legal_name": "Atelier Dupont SARL",
            "address": {"line1": "12 rue des Lilas", "postal_code": "69003", "city": "Lyon"},
        },
        "contact": {"first_name": "Jeanne", "last_name": "Dupont", "email": "jeanne.dupont@example.fr"},
        "iban": IBAN_SPACED,
        "start_date": (paris_today() + dt.timedelta(days=10)).isoformat(),
        "accept_terms": True,
        "password": PASSWORD,
    }
    body.update(overrides)
    return body


@pytest.fixture
def quote(client: Api) -> dict[str, Any]:
    """A freshly requested quote."""
    response = client.post("/quotes", quote_body())
    assert response.status_code == 201, response.body
    return json.loads(response.body)


@pytest.fixture
def policy(client: Api, quote: dict[str, Any]) -> dict[str, Any]:
    """A policy subscribed from :func:`quote` (its owner's sub is in the policy table)."""
    response = client.post(
        "/subscriptions", subscription_body(quote["quote_id"]), Idempotency_Key="key-policy-0001"
    )
    assert response.status_code == 201, response.body
    return json.loads(response.body)


def body_of(response: Any) -> Any:
    return json.loads(response.body)


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is the API's error document with ``status`` (and ``code``)."""
    assert response.status_code == status, response.body
    document = json.loads(response.body)
    assert set(document) == {"error"}
    error = document["error"]
    assert set(error) == {"code", "message", "fields"}
    assert isinstance(error["message"], str)
    assert error["message"]
    assert all(set(f) == {"path", "message"} for f in error["fields"])
    assert b"Traceback" not in response.body
    if code is not None:
        assert error["code"] == code, error
    return error


def count_items(table: str) -> int:
    import boto3

    return int(boto3.client("dynamodb", region_name=REGION).scan(TableName=table, Select="COUNT")["Count"])


def owner_sub_of(env: dict[str, str], policy_id: str) -> str:
    import boto3

    item = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=env["POLICIES_TABLE"], Key={"policy_id": {"S": policy_id}}
    )["Item"]
    return str(item["owner_sub"]["S"])


def live_claims(env: dict[str, str]) -> int:
    """Idempotency records that are not released (in progress or completed)."""
    import boto3

    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=env["IDEMPOTENCY_TABLE"])["Items"]
    return sum(1 for item in items if item["status"]["S"] != "released")
