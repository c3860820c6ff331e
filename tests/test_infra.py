"""infra/: the CloudFormation template, its local twin on moto, the local stack, the site upload.

Fast (a few seconds): cfn-lint in process, moto in process or on 127.0.0.1, and a
throwaway Chalice app standing for api/ where the stack needs one.
"""

from __future__ import annotations

import gzip
import importlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "infra" / "template.yaml"
REGION = "eu-west-3"


def _need(module: str):
    """The module, or a skip outside CI (under ``CI`` a missing tool is a failure)."""
    if os.environ.get("CI"):
        return importlib.import_module(module)
    return pytest.importorskip(module)


boto3 = _need("boto3")
moto = _need("moto")
jwt = _need("jwt")
yaml = _need("yaml")

from infra import local_stack, publish_site, resources  # noqa: E402


@pytest.fixture(scope="module")
def template():
    return resources.load_template(TEMPLATE)


@pytest.fixture
def aws(monkeypatch):
    """moto in process, with fake credentials whatever the environment holds."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    with moto.mock_aws():
        yield


def _lint(text: str) -> list[str]:
    api = _need("cfnlint.api")
    return [str(match) for match in api.lint(text, regions=[REGION])]


# --- the template -----------------------------------------------------------------------


def test_template_passes_cfn_lint():
    assert _lint(TEMPLATE.read_text(encoding="utf-8")) == []


def test_loader_reads_short_tags_in_long_form():
    text = "A: !Ref X\nB: !GetAtt T.Arn\nC: !Sub '${T.Arn}/index/*'\nD: !Join [',', [!Ref X, b]]\n"
    data = yaml.load(text, Loader=resources.CloudFormationLoader)
    assert data == {
        "A": {"Ref": "X"},
        "B": {"Fn::GetAtt": ["T", "Arn"]},
        "C": {"Fn::Sub": "${T.Arn}/index/*"},
        "D": {"Fn::Join": [",", [{"Ref": "X"}, "b"]]},
    }


def _keys(schema):
    return {item["KeyType"]: item["AttributeName"] for item in schema}


def _indexes(props):
    return {
        index["IndexName"]: (_keys(index["KeySchema"]), index["Projection"]["ProjectionType"])
        for index in props.get("GlobalSecondaryIndexes", [])
    }


def test_template_has_the_contract_tables(template):
    res = template["Resources"]
    expected = {
        "QuotesTable": (
            {"HASH": "quote_id"},
            {
                "by_status": ({"HASH": "status", "RANGE": "created_at"}, "ALL"),
                "by_broker": ({"HASH": "broker_id", "RANGE": "created_at"}, "ALL"),
            },
        ),
        "PoliciesTable": (
            {"HASH": "policy_id"},
            {
                "by_owner": ({"HASH": "owner_sub", "RANGE": "created_at"}, "ALL"),
                "by_status": ({"HASH": "status", "RANGE": "created_at"}, "ALL"),
            },
        ),
        "IdempotencyTable": ({"HASH": "idempotency_key"}, {}),
    }
    for logical_id, (key, indexes) in expected.items():
        table = res[logical_id]
        props = table["Properties"]
        assert table["Type"] == "AWS::DynamoDB::Table"
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["SSESpecification"]["SSEEnabled"] is True
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert _keys(props["KeySchema"]) == key
        assert _indexes(props) == indexes
        types = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
        used = set(key.values()) | {name for keys, _ in indexes.values() for name in keys.values()}
        assert types == dict.fromkeys(used, "S"), logical_id
    assert res["IdempotencyTable"]["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": "expires_at",
        "Enabled": True,
    }
    for logical_id in ("QuotesTable", "PoliciesTable"):
        assert res[logical_id]["DeletionPolicy"] == res[logical_id]["UpdateReplacePolicy"] == "Retain"


def _private_encrypted(props):
    assert props["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert "AccessControl" not in props


def test_template_buckets_are_private_and_encrypted(template):
    res = template["Resources"]
    documents = res["DocumentsBucket"]["Properties"]
    _private_encrypted(documents)
    assert documents["VersioningConfiguration"] == {"Status": "Enabled"}
    _private_encrypted(res["SiteBucket"]["Properties"])
    # The site bucket is readable by its distribution only, through the origin access control.
    (allow,) = [
        s
        for s in res["SiteBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow"
    ]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    assert "${SiteDistribution}" in allow["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    config = res["SiteDistribution"]["Properties"]["DistributionConfig"]
    (origin,) = config["Origins"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["SiteOriginAccessControl", "Id"]}
    assert config["DefaultRootObject"] == "index.html"
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert config["DefaultCacheBehavior"]["Compress"] is True
    for bucket in ("DocumentsBucket", "SiteBucket"):
        policy = next(
            r
            for r in res.values()
            if r["Type"] == "AWS::S3::BucketPolicy" and r["Properties"]["Bucket"] == {"Ref": bucket}
        )
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
        ), bucket


def test_template_accounts(template):
    res = template["Resources"]
    pool = res["UserPool"]["Properties"]
    assert pool["UsernameAttributes"] == ["email"]
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] >= 12
    client = res["UserPoolClient"]["Properties"]
    assert client["GenerateSecret"] is False
    assert set(client["ExplicitAuthFlows"]) == {
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
        "ALLOW_USER_SRP_AUTH",
    }
    groups = {
        logical_id: r["Properties"]["GroupName"]
        for logical_id, r in res.items()
        if r["Type"] == "AWS::Cognito::UserPoolGroup"
    }
    assert groups == {"OwnersGroup": "owners", "BrokersGroup": "brokers", "StaffGroup": "staff"}


def test_template_api_policy_is_explicit_and_scoped(template):
    res = template["Resources"]
    statements = res["ApiPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    for statement in statements:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all("*" not in action for action in actions), statement
        targets = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        assert "*" not in targets, statement
    by_sid = {s["Sid"]: s for s in statements}
    assert set(by_sid["Tables"]["Action"]) == {
        f"dynamodb:{a}"
        for a in ("GetItem", "PutItem", "UpdateItem", "Query", "TransactWriteItems", "ConditionCheckItem")
    }
    for table in ("QuotesTable", "PoliciesTable", "IdempotencyTable"):
        assert {"Fn::GetAtt": [table, "Arn"]} in by_sid["Tables"]["Resource"]
        assert {"Fn::Sub": f"${{{table}.Arn}}/index/*"} in by_sid["Tables"]["Resource"]
    assert by_sid["Documents"]["Resource"] == {"Fn::Sub": "${DocumentsBucket.Arn}/*"}
    assert by_sid["Accounts"]["Resource"] == {"Fn::GetAtt": ["UserPool", "Arn"]}
    # Merged over the role Chalice generates: our policy attached, Chalice's inline one dropped.
    role = res["DefaultRole"]["Properties"]
    assert role["ManagedPolicyArns"] == [{"Ref": "ApiPolicy"}]
    assert role["Policies"] == []


def test_template_gives_the_functions_the_contract_variables(template):
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert resources.runtime_references(template) == {
        "QUOTES_TABLE": "QuotesTable",
        "POLICIES_TABLE": "PoliciesTable",
        "IDEMPOTENCY_TABLE": "IdempotencyTable",
        "BUYERS_TABLE": "BuyersTable",
        "LIMIT_REQUESTS_TABLE": "LimitRequestsTable",
        "BUYER_REGISTER_TABLE": "BuyerRegisterTable",
        "ALERTS_TABLE": "AlertsTable",
        "CLAIMS_TABLE": "ClaimsTable",
        "POLICY_YEARS_TABLE": "PolicyYearsTable",
        "DOCUMENTS_BUCKET": "DocumentsBucket",
        "USER_POOL_ID": "UserPool",
        "USER_POOL_CLIENT_ID": "UserPoolClient",
    }
    assert "STAGE" in variables
    # Local-only variables never reach a deployed stage.
    assert "JWKS_URL" not in variables
    assert "AWS_ENDPOINT_URL" not in variables
    outputs = template["Outputs"]
    for name in (
        "QuotesTableName",
        "DocumentsBucketName",
        "UserPoolId",
        "UserPoolClientId",
        "SiteDistributionId",
    ):
        assert name in outputs


THROWAWAY_APP = """
import os
import re
import shutil

import boto3
import jwt
from chalice import AuthResponse, Chalice

app = Chalice(app_name="throwaway")
_keys = jwt.PyJWKClient(os.environ["JWKS_URL"]) if os.environ.get("JWKS_URL") else None


@app.authorizer()
def jwt_auth(auth_request):
    token = auth_request.token.removeprefix("Bearer ")
    pool = os.environ["USER_POOL_ID"]
    try:
        claims = jwt.decode(
            token,
            _keys.get_signing_key_from_jwt(token).key,
            algorithms=["RS256"],
            audience=os.environ["USER_POOL_CLIENT_ID"],
            issuer=f"https://cognito-idp.{os.environ['AWS_REGION']}.amazonaws.com/{pool}",
        )
    except Exception:
        return AuthResponse(routes=[], principal_id="anonymous")
    groups = ",".join(claims.get("cognito:groups", []))
    return AuthResponse(routes=["*"], principal_id=claims["sub"], context={"groups": groups})


@app.route("/health")
def health():
    boto3.client("dynamodb").describe_table(TableName=os.environ["QUOTES_TABLE"])
    return {"status": "ok", "stage": os.environ["STAGE"]}


@app.route("/whoami", authorizer=jwt_auth)
def whoami():
    context = app.current_request.context["authorizer"]
    return {"sub": context["principalId"], "groups": context["groups"]}
"""


@pytest.fixture(scope="module")
def throwaway_app(tmp_path_factory):
    """A Chalice app with /health and a JWT authorizer, configured as proposed for api/."""
    app_dir = tmp_path_factory.mktemp("throwaway")
    (app_dir / "app.py").write_text(textwrap.dedent(THROWAWAY_APP), encoding="utf-8")
    (app_dir / "requirements.txt").write_text("", encoding="utf-8")
    (app_dir / ".chalice").mkdir()
    config = {
        "version": "2.0",
        "app_name": "throwaway",
        "stages": {
            "prod": {"api_gateway_stage": "api", "environment_variables": {"STAGE": "prod"}},
            "local": {"environment_variables": {"STAGE": "local"}},
        },
    }
    (app_dir / ".chalice" / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return app_dir


def test_merged_with_chalice_package_passes_cfn_lint(throwaway_app, tmp_path):
    _need("chalice")
    out = tmp_path / "out"
    env = os.environ | {"AWS_DEFAULT_REGION": REGION}
    command = "import sys; from chalice.cli import main; sys.exit(main())"
    subprocess.run(
        [
            sys.executable,
            "-c",
            command,
            "package",
            "--stage",
            "prod",
            "--merge-template",
            str(TEMPLATE),
            str(out),
        ],
        cwd=throwaway_app,
        env=env,
        check=True,
        capture_output=True,
    )
    merged_text = (out / "sam.yaml").read_text(encoding="utf-8")
    assert _lint(merged_text) == []
    merged = yaml.load(merged_text, Loader=resources.CloudFormationLoader)
    res = merged["Resources"]
    # SAM applies the Globals to both Chalice functions (the API and the authorizer), and
    # both run with the role whose only policy is ApiPolicy.
    functions = {k for k, r in res.items() if r["Type"] == "AWS::Serverless::Function"}
    assert {"APIHandler", "JwtAuth"} <= functions
    for name in functions:
        assert res[name]["Properties"]["Role"] == {"Fn::GetAtt": ["DefaultRole", "Arn"]}
    assert res["APIHandler"]["Properties"]["Environment"]["Variables"] == {"STAGE": "prod"}
    assert merged["Globals"]["Function"]["Environment"]["Variables"]["QUOTES_TABLE"] == {"Ref": "QuotesTable"}
    assert res["DefaultRole"]["Properties"]["Policies"] == []
    assert res["DefaultRole"]["Properties"]["ManagedPolicyArns"] == [{"Ref": "ApiPolicy"}]


API_CONFIG = ROOT / "api" / ".chalice" / "config.json"
LOCAL_ONLY = ("JWKS_URL", "AWS_ENDPOINT_URL")


def test_api_chalice_config_keeps_the_role_the_template_replaces(template):
    """The deployed stages let Chalice create `DefaultRole` (merged over by the template), and
    the local stage leaves the resource variables to the local stack's environment."""
    if not API_CONFIG.exists() and not os.environ.get("CI"):
        pytest.skip("api/.chalice/config.json not written yet")
    config = json.loads(API_CONFIG.read_text(encoding="utf-8"))
    stages = config.get("stages", {})
    assert "local" in stages
    variables = set(resources.runtime_references(template)) | set(LOCAL_ONLY)
    for name, stage in stages.items():
        scopes = [config, stage, *stage.get("lambda_functions", {}).values()]
        if name == "local":
            for scope in scopes:
                assert variables.isdisjoint(scope.get("environment_variables", {})), scope
            continue
        for scope in scopes:
            # Either would give the functions another role than `DefaultRole`, without ApiPolicy.
            assert scope.get("manage_iam_role", True) is True, (name, "manage_iam_role")
            assert scope.get("autogen_policy", True) is True, (name, "autogen_policy")
            assert "iam_role_arn" not in scope, name
            env = scope.get("environment_variables", {})
            assert set(LOCAL_ONLY).isdisjoint(env), (name, env)


# --- resources created from the template --------------------------------------------------


def test_create_resources_follows_the_template(aws, template):
    env = resources.create_resources(region=REGION, prefix="t")
    assert set(env) == {
        "QUOTES_TABLE",
        "POLICIES_TABLE",
        "IDEMPOTENCY_TABLE",
        "BUYERS_TABLE",
        "LIMIT_REQUESTS_TABLE",
        "BUYER_REGISTER_TABLE",
        "ALERTS_TABLE",
        "CLAIMS_TABLE",
        "POLICY_YEARS_TABLE",
        "DOCUMENTS_BUCKET",
        "USER_POOL_ID",
        "USER_POOL_CLIENT_ID",
    }
    res = template["Resources"]
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    for variable, logical_id in resources.runtime_references(template).items():
        if res[logical_id]["Type"] != "AWS::DynamoDB::Table":
            continue
        props = res[logical_id]["Properties"]
        table = dynamodb.describe_table(TableName=env[variable])["Table"]
        assert table["TableName"].startswith("t-")
        assert table["KeySchema"] == props["KeySchema"]
        assert sorted(table["AttributeDefinitions"], key=str) == sorted(
            props["AttributeDefinitions"], key=str
        )
        assert _indexes(table) == _indexes(props)
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert table["SSEDescription"]["Status"] == "ENABLED"
        backups = dynamodb.describe_continuous_backups(TableName=env[variable])[
            "ContinuousBackupsDescription"
        ]
        assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
        ttl = dynamodb.describe_time_to_live(TableName=env[variable])["TimeToLiveDescription"]
        if "TimeToLiveSpecification" in props:
            assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
        else:
            assert ttl["TimeToLiveStatus"] == "DISABLED"

    s3 = boto3.client("s3", region_name=REGION)
    bucket = env["DOCUMENTS_BUCKET"]
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == res["DocumentsBucket"]["Properties"]["PublicAccessBlockConfiguration"]
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "BucketOwnerEnforced"}
    ]
    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] == REGION

    cognito = boto3.client("cognito-idp", region_name=REGION)
    pool = cognito.describe_user_pool(UserPoolId=env["USER_POOL_ID"])["UserPool"]
    assert pool["UsernameAttributes"] == ["email"]
    assert pool["Policies"] == res["UserPool"]["Properties"]["Policies"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    client = cognito.describe_user_pool_client(
        UserPoolId=env["USER_POOL_ID"], ClientId=env["USER_POOL_CLIENT_ID"]
    )
    assert "ClientSecret" not in client["UserPoolClient"]
    assert (
        client["UserPoolClient"]["ExplicitAuthFlows"]
        == res["UserPoolClient"]["Properties"]["ExplicitAuthFlows"]
    )
    groups = cognito.list_groups(UserPoolId=env["USER_POOL_ID"])["Groups"]
    assert sorted(g["GroupName"] for g in groups) == ["brokers", "owners", "staff"]

    # Fresh names: a second call on the same endpoint does not collide.
    again = resources.create_resources(region=REGION, prefix="t")
    assert set(again.values()).isdisjoint(env.values())


def test_demo_accounts_log_in_with_their_groups(aws):
    env = resources.create_resources(region=REGION)
    accounts = resources.seed_demo_accounts(env)
    assert [(a["role"], a["group"]) for a in accounts] == [
        ("owner", "owners"),
        ("broker", "brokers"),
        ("staff", "staff"),
    ]
    cognito = boto3.client("cognito-idp", region_name=REGION)
    for account in accounts:
        password = account["password"]
        assert len(password) >= 12
        for kind in (str.islower, str.isupper, str.isdigit, lambda c: not c.isalnum()):
            assert any(kind(c) for c in password), password
        result = cognito.initiate_auth(
            ClientId=env["USER_POOL_CLIENT_ID"],
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": account["email"], "PASSWORD": password},
        )["AuthenticationResult"]
        claims = jwt.decode(result["IdToken"], options={"verify_signature": False})
        assert claims["cognito:groups"] == [account["group"]]
        assert claims["sub"] == account["sub"]
    # Seeding again resets the passwords instead of failing.
    again = resources.seed_demo_accounts(env)
    assert [a["sub"] for a in again] == [a["sub"] for a in accounts]
    assert all(a["password"] != b["password"] for a, b in zip(again, accounts, strict=True))


# --- moto server and the local stack -------------------------------------------------------


def test_threaded_moto_server_serves_resources_and_jwks(monkeypatch):
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    url, stop = local_stack.start_moto("thread")
    try:
        assert url.startswith("http://127.0.0.1:")
        env = resources.create_resources(region=REGION, endpoint_url=url)
        (owner, *_) = resources.seed_demo_accounts(env, url)
        cognito = boto3.client(
            "cognito-idp",
            region_name=REGION,
            endpoint_url=url,
            aws_access_key_id="t",
            aws_secret_access_key="t",
        )
        token = cognito.initiate_auth(
            ClientId=env["USER_POOL_CLIENT_ID"],
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": owner["email"], "PASSWORD": owner["password"]},
        )["AuthenticationResult"]["IdToken"]
        jwks = local_stack.jwks_url_of(url, env["USER_POOL_ID"])
        key = jwt.PyJWKClient(jwks).get_signing_key_from_jwt(token).key
        claims = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            audience=env["USER_POOL_CLIENT_ID"],
            issuer=local_stack.issuer_of(REGION, env["USER_POOL_ID"]),
        )
        assert claims["sub"] == owner["sub"]
        assert claims["token_use"] == "id"
    finally:
        stop()
    assert _closed(url)


def _closed(url):
    """Nothing listens any more at the host and port of ``url``."""
    parts = urllib.parse.urlsplit(url)
    with socket.socket() as sock:
        return sock.connect_ex((parts.hostname, parts.port)) != 0


def _get(url, token=None):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, None


def test_local_stack_runs_chalice_local_against_moto(throwaway_app, tmp_path):
    _need("chalice")
    (tmp_path / "index.html").write_text("<!doctype html><title>Accueil</title>", encoding="utf-8")
    with local_stack.start_stack(throwaway_app, site_dir=tmp_path) as stack:
        assert stack.api_url.startswith("http://127.0.0.1:")
        assert _get(f"{stack.api_url}health") == (200, {"status": "ok", "stage": "local"})
        # The site, and where its pages find the API and the Cognito client.
        assert stack.site_url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(stack.site_url, timeout=10) as response:
            assert b"Accueil" in response.read()
        assert _get(f"{stack.site_url}api-config.json") == (
            200,
            {
                "api_url": stack.api_url,
                "region": REGION,
                "user_pool_id": stack.env["USER_POOL_ID"],
                "user_pool_client_id": stack.env["USER_POOL_CLIENT_ID"],
                "cognito_endpoint": f"{stack.aws_endpoint_url}/",
            },
        )
        assert stack.env["CORS_ALLOW_ORIGIN"] == stack.site_url.rstrip("/")
        assert stack.env["JWKS_URL"] == local_stack.jwks_url_of(
            stack.aws_endpoint_url, stack.env["USER_POOL_ID"]
        )
        assert stack.env["AWS_ENDPOINT_URL"] == stack.aws_endpoint_url
        cognito = boto3.client(
            "cognito-idp",
            region_name=REGION,
            endpoint_url=stack.aws_endpoint_url,
            aws_access_key_id="t",
            aws_secret_access_key="t",
        )
        staff = next(a for a in stack.accounts if a["role"] == "staff")
        token = cognito.initiate_auth(
            ClientId=stack.env["USER_POOL_CLIENT_ID"],
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": staff["email"], "PASSWORD": staff["password"]},
        )["AuthenticationResult"]["IdToken"]
        # chalice local runs the custom authorizer against moto's JWKS.
        assert _get(f"{stack.api_url}whoami", token) == (200, {"sub": staff["sub"], "groups": "staff"})
        assert _get(f"{stack.api_url}whoami", token[:-4] + "AAAA")[0] == 403
        assert _get(f"{stack.api_url}whoami")[0] == 401
        urls = (stack.api_url, stack.aws_endpoint_url, stack.site_url)
    assert all(_closed(url) for url in urls)


# --- publishing the site ---------------------------------------------------------------------


def test_publish_site_uploads_precompressed_files_with_their_headers(aws, tmp_path):
    site = tmp_path / "site"
    (site / "prime").mkdir(parents=True)
    (site / "assets" / "engine").mkdir(parents=True)
    page = "<!doctype html><title>Prime</title>" + "x" * 2000
    (site / "prime" / "index.html").write_text(page, encoding="utf-8")
    (site / "prime" / "index.html.gz").write_bytes(gzip.compress(page.encode()))
    (site / "assets" / "engine" / "snapshot-1.bin").write_bytes(b"\0" * 5000)
    (site / "assets" / "engine" / "snapshot-1.bin.gz").write_bytes(gzip.compress(b"\0" * 5000))
    zstd_copy = b"(zstd bytes: not decoded on the way)"
    (site / "assets" / "engine" / "snapshot-1.bin.zst").write_bytes(zstd_copy)
    (site / "robots.txt").write_text("User-agent: *\n", encoding="utf-8")

    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="site", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="site", Key="old.html", Body=b"old")
    plan = publish_site.plan_uploads(site)
    assert [u.key for u in plan] == [
        "assets/engine/snapshot-1.bin",
        "assets/engine/snapshot-1.bin.zst",
        "robots.txt",
        "prime/index.html",
    ]

    counts = publish_site.publish_site("site", site, region=REGION)
    assert counts == {"uploaded": 4, "unchanged": 0, "deleted": 0, "invalidated": 0}
    head = s3.head_object(Bucket="site", Key="prime/index.html")
    assert head["ContentEncoding"] == "gzip"
    assert head["ContentType"] == "text/html; charset=utf-8"
    assert head["CacheControl"] == "no-cache"
    body = s3.get_object(Bucket="site", Key="prime/index.html")["Body"].read()
    assert gzip.decompress(body).decode() == page
    snapshot = s3.head_object(Bucket="site", Key="assets/engine/snapshot-1.bin")
    assert snapshot["CacheControl"] == "public, max-age=31536000, immutable"
    assert snapshot["ContentEncoding"] == "gzip"
    # The zstd copy keeps its own key (the CloudFront function asks for it) and FILE's headers.
    zstd = s3.get_object(Bucket="site", Key="assets/engine/snapshot-1.bin.zst")
    assert (zstd["ContentEncoding"], zstd["ContentType"]) == ("zstd", "application/octet-stream")
    assert zstd["CacheControl"] == "public, max-age=31536000, immutable"
    assert zstd["Body"].read() == zstd_copy
    robots = s3.head_object(Bucket="site", Key="robots.txt")
    assert "ContentEncoding" not in robots
    assert robots["ContentType"].startswith("text/plain")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="site")["Contents"]}
    assert not any(key.endswith(".gz") for key in keys)

    cloudfront = boto3.client("cloudfront", region_name=REGION)
    distribution = cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": "t",
            "Comment": "",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "s3",
                        "DomainName": "site.s3.amazonaws.com",
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    }
                ],
            },
            "DefaultCacheBehavior": {"TargetOriginId": "s3", "ViewerProtocolPolicy": "redirect-to-https"},
        }
    )["Distribution"]["Id"]
    (site / "robots.txt").write_text("User-agent: *\nDisallow:\n", encoding="utf-8")
    config = publish_site.site_config(
        "https://api.example.com/api", REGION, {"USER_POOL_ID": "pool", "USER_POOL_CLIENT_ID": "client"}
    )
    counts = publish_site.publish_site(
        "site", site, region=REGION, distribution_id=distribution, config=config, delete=True
    )
    assert counts == {"uploaded": 2, "unchanged": 3, "deleted": 1, "invalidated": 1}
    published = json.loads(s3.get_object(Bucket="site", Key="api-config.json")["Body"].read())
    assert published["api_url"] == "https://api.example.com/api/"
    assert published["cognito_endpoint"] == f"https://cognito-idp.{REGION}.amazonaws.com/"
    invalidations = cloudfront.list_invalidations(DistributionId=distribution)["InvalidationList"]
    assert invalidations["Quantity"] == 1


def _viewer_requests(code: str, requests: list[dict]) -> list[dict]:
    """Run a CloudFront viewer-request function's code in Node on each request; what it returns."""
    if shutil.which("node") is None:
        if os.environ.get("CI"):
            pytest.fail("node is needed to run the site's CloudFront function")
        pytest.skip("node is not installed")
    script = code + "\nconst requests = JSON.parse(require('fs').readFileSync(0, 'utf8'));\n"
    script += "process.stdout.write(JSON.stringify(requests.map((request) => handler({request}))));\n"
    done = subprocess.run(
        ["node", "-e", script],
        input=json.dumps(requests),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def test_site_function_serves_directories_and_zstd_copies_of_the_engines_files(template):
    code = template["Resources"]["SiteDirectoryIndexFunction"]["Properties"]["FunctionCode"]
    chromium = {"accept-encoding": {"value": "gzip, deflate, br, zstd"}}
    cases = [
        ({"uri": "/prime/", "headers": chromium}, "/prime/index.html"),
        ({"uri": "/assets/engine/snapshot-1.bin", "headers": chromium}, "/assets/engine/snapshot-1.bin.zst"),
        (
            {"uri": "/assets/pyodide/314-a/pyodide.asm.wasm", "headers": chromium},
            "/assets/pyodide/314-a/pyodide.asm.wasm.zst",
        ),
        # not accepted, refused, or not an engine file: FILE itself (gzip where it has a copy)
        ({"uri": "/assets/engine/snapshot-1.bin", "headers": {}}, "/assets/engine/snapshot-1.bin"),
        (
            {"uri": "/assets/engine/x.js", "headers": {"accept-encoding": {"value": "gzip, zstd;q=0"}}},
            "/assets/engine/x.js",
        ),
        (
            {"uri": "/assets/engine/x.js", "headers": {"accept-encoding": {"value": "gzip, ZSTD;q=0.5"}}},
            "/assets/engine/x.js.zst",
        ),
        (
            {"uri": "/assets/engine/x.js", "headers": {"accept-encoding": {"value": "gzip, zstdx"}}},
            "/assets/engine/x.js",
        ),
        ({"uri": "/assets/engine/x.js.zst", "headers": chromium}, "/assets/engine/x.js.zst"),
        ({"uri": "/assets/js/simulator.js", "headers": chromium}, "/assets/js/simulator.js"),
        ({"uri": "/assets/engineering/a.js", "headers": chromium}, "/assets/engineering/a.js"),
    ]
    results = _viewer_requests(code, [request for request, _ in cases])
    assert [r.get("uri") for r in results] == [uri for _, uri in cases]
    moved = _viewer_requests(code, [{"uri": "/prime", "headers": chromium}])[0]
    assert (moved["statusCode"], moved["headers"]["location"]["value"]) == (301, "/prime/")


# Calls that are not IAM actions of the same name.
_ACTIONS_OF_CALL = {
    ("dynamodb", "transact_write_items"): ("PutItem", "UpdateItem", "ConditionCheckItem"),
    ("s3", "head_object"): ("GetObject",),
    ("s3", "generate_presigned_url"): ("GetObject",),
    ("s3", "generate_presigned_post"): ("PutObject",),
}


def test_api_policy_allows_every_aws_call_the_app_makes(template):
    """Chalice's generated policy misses calls made in chalicelib: ours must not."""
    source = "\n".join(p.read_text("utf-8") for p in (ROOT / "api" / "chalicelib").rglob("*.py"))
    aliases = dict(re.findall(r'(\w+) = config\.client\("([\w-]+)"\)$', source, re.MULTILINE))
    calls = set(re.findall(r'config\.client\("([\w-]+)"\)\.(\w+)\(', source))
    calls |= {
        (aliases[name], method) for name, method in re.findall(r"\b(\w+)\.(\w+)\(", source) if name in aliases
    }
    assert calls, "no AWS call found: the scan no longer matches the code"
    allowed = set()
    for statement in template["Resources"]["ApiPolicy"]["Properties"]["PolicyDocument"]["Statement"]:
        actions = statement["Action"]
        allowed |= set([actions] if isinstance(actions, str) else actions)
    missing = []
    for service, method in sorted(calls):
        actions = _ACTIONS_OF_CALL.get((service, method)) or ("".join(w.title() for w in method.split("_")),)
        missing += [f"{service}:{a}" for a in actions if f"{service}:{a}" not in allowed]
    assert missing == []


def test_mails_tool_finds_the_running_demo_or_says_why(tmp_path, monkeypatch, capsys):
    from infra import local_stack, mails

    state = tmp_path / "local-stack.json"
    monkeypatch.setattr(mails, "STATE_FILE", state)
    with pytest.raises(SystemExit) as none:
        mails.main([])
    assert "make demo" in str(none.value)
    port = local_stack.free_port()
    state.write_text(json.dumps({"aws_endpoint_url": f"http://127.0.0.1:{port}"}))
    assert mails.main([]) == 1  # the demo's moto is gone
    assert f"127.0.0.1:{port}" in capsys.readouterr().err
