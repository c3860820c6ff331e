"""The run-time resources of ``infra/template.yaml``, created on any boto3 endpoint.

The template is the only definition: the resources created here are the ones its
``Globals.Function.Environment.Variables`` reference with ``!Ref`` (what the API reads
at run time), with the key schemas, indexes, TTL, encryption, public access block,
password policy, client flows and groups copied from their CloudFormation properties.
Local names are fresh (``{prefix}-{logical-id}-{random}``), so a call never collides
with an earlier one on the same endpoint.

    from infra.resources import create_resources, seed_demo_accounts
    with moto.mock_aws():
        env = create_resources()                # {"QUOTES_TABLE": "local-quotes-table-1a2b3c4d", ...}
        accounts = seed_demo_accounts(env)      # an owner, a broker and a staff member
        seed_buyer_register(env)                # demo companies with grades
        env |= verify_mail_sender()             # {"MAIL_FROM": ...}, an SES identity

CloudFormation-only settings are not reproduced locally: deletion protection (local
resources must stay disposable), lifecycle rules, retention policies.
"""

from __future__ import annotations

import functools
import re
import secrets
import string
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import botocore.loaders
import botocore.session
import yaml

__all__ = [
    "DEFAULT_REGION",
    "TEMPLATE_PATH",
    "CloudFormationLoader",
    "aws_client",
    "create_resources",
    "load_template",
    "runtime_references",
    "seed_buyer_register",
    "seed_demo_accounts",
    "verify_mail_sender",
]

TEMPLATE_PATH = Path(__file__).with_name("template.yaml")
DEFAULT_REGION = "eu-west-3"
# Local CORS origins of the documents bucket (the template allows the CloudFront site).
LOCAL_CORS_ORIGINS = ("http://127.0.0.1:*",)
# Sender of the owners' e-mails on the local stack (the template's MailFrom parameter in AWS).
LOCAL_MAIL_FROM = "notifications@assurcredit.local"

# CloudFormation properties with the same name and shape in the service API.
_GSI_KEYS = frozenset({"IndexName", "KeySchema", "Projection", "ProvisionedThroughput", "OnDemandThroughput"})
_LSI_KEYS = frozenset({"IndexName", "KeySchema", "Projection"})
_POOL_KEYS = frozenset(
    {
        "AccountRecoverySetting",
        "AdminCreateUserConfig",
        "AliasAttributes",
        "AutoVerifiedAttributes",
        "MfaConfiguration",
        "Policies",
        "Schema",
        "UserAttributeUpdateSettings",
        "UsernameAttributes",
        "UsernameConfiguration",
        "UserPoolTags",
        "VerificationMessageTemplate",
    }
)
_CLIENT_KEYS = frozenset(
    {
        "AccessTokenValidity",
        "AuthSessionValidity",
        "EnablePropagateAdditionalUserContextData",
        "EnableTokenRevocation",
        "ExplicitAuthFlows",
        "GenerateSecret",
        "IdTokenValidity",
        "PreventUserExistenceErrors",
        "ReadAttributes",
        "RefreshTokenValidity",
        "SupportedIdentityProviders",
        "TokenValidityUnits",
        "WriteAttributes",
    }
)
_GROUP_KEYS = frozenset({"Description", "GroupName", "Precedence"})
_SSE_RULE_KEYS = {"ServerSideEncryptionByDefault": "ApplyServerSideEncryptionByDefault"}
_CORS_RULE_KEYS = {
    "AllowedHeaders": "AllowedHeaders",
    "AllowedMethods": "AllowedMethods",
    "AllowedOrigins": "AllowedOrigins",
    "ExposedHeaders": "ExposeHeaders",
    "Id": "ID",
    "MaxAge": "MaxAgeSeconds",
}

# Demo accounts: (role, logical id of its group, e-mail).
_DEMO_ACCOUNTS = (
    ("owner", "OwnersGroup", "assure.demo@example.com"),
    ("broker", "BrokersGroup", "courtier.demo@example.com"),
    ("staff", "StaffGroup", "gestionnaire.demo@example.com"),
)
_PASSWORD_SYMBOLS = "-_.@%+=:,"  # accepted by Cognito, harmless when pasted in a shell


_SafeLoader: type[yaml.SafeLoader] = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader
)  # libyaml when built with it


class CloudFormationLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """A safe YAML loader that reads CloudFormation short tags as their long form.

    ``!Ref X`` -> ``{"Ref": "X"}``, ``!GetAtt A.B`` -> ``{"Fn::GetAtt": ["A", "B"]}``,
    ``!Sub s`` -> ``{"Fn::Sub": "s"}`` and so on; ``yaml.SafeLoader`` itself is untouched.
    """


def _construct_tag(loader: CloudFormationLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - every YAML node is one of the three
        raise yaml.constructor.ConstructorError(
            None, None, f"nœud YAML inattendu : {node!r}", node.start_mark
        )
    return {name: value}


CloudFormationLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: str | Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The CloudFormation template at ``path`` as plain data (tags in their long form)."""
    with open(path, encoding="utf-8") as handle:
        template = yaml.load(handle, Loader=CloudFormationLoader)  # a SafeLoader subclass
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise ValueError(f"{path} n'est pas un modèle CloudFormation")
    return template


def runtime_references(template: Mapping[str, Any]) -> dict[str, str]:
    """Environment variable -> logical id, for every function variable that is a ``!Ref`` to a resource."""
    variables = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    resources = template["Resources"]
    return {
        name: value["Ref"]
        for name, value in variables.items()
        if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in resources
    }


def _kebab(logical_id: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", logical_id).lower()


def _literal(value: Any, where: str) -> Any:
    """``value`` unchanged, after checking that it holds no intrinsic function to resolve."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" or key.startswith("Fn::"):
                raise ValueError(f"{where} : {key} ne peut pas être résolu localement")
            _literal(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _literal(item, f"{where}[{index}]")
    return value


def _pick(properties: Mapping[str, Any], keys: Iterable[str], where: str) -> dict[str, Any]:
    return {key: _literal(properties[key], f"{where}.{key}") for key in keys if key in properties}


class _Builder:
    """Creates resources on demand, following ``!Ref`` between them."""

    def __init__(
        self,
        template: Mapping[str, Any],
        region: str,
        endpoint_url: str | None,
        prefix: str,
        cors_origins: Iterable[str],
    ) -> None:
        self.resources: Mapping[str, Any] = template["Resources"]
        self.region = region
        self.endpoint_url = endpoint_url
        self.prefix = prefix
        self.suffix = secrets.token_hex(4)
        self.cors_origins = list(cors_origins)
        self.physical: dict[str, str] = {}
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = aws_client(service, self.region, self.endpoint_url)
        return self._clients[service]

    def name(self, logical_id: str) -> str:
        return f"{self.prefix}-{_kebab(logical_id)}-{self.suffix}"

    def ref(self, logical_id: str) -> str:
        """What ``!Ref logical_id`` resolves to once the resource exists (created if need be)."""
        if logical_id not in self.physical:
            resource = self.resources.get(logical_id)
            if resource is None:
                raise KeyError(f"ressource inconnue dans le modèle : {logical_id}")
            creators = {
                "AWS::DynamoDB::Table": self._table,
                "AWS::S3::Bucket": self._bucket,
                "AWS::Cognito::UserPool": self._user_pool,
                "AWS::Cognito::UserPoolClient": self._user_pool_client,
            }
            creator = creators.get(resource["Type"])
            if creator is None:
                raise ValueError(f"{logical_id} : type {resource['Type']} non pris en charge localement")
            self.physical[logical_id] = creator(logical_id, resource.get("Properties", {}))
        return self.physical[logical_id]

    def _resolve_ref(self, value: Any, where: str) -> str:
        if isinstance(value, dict) and set(value) == {"Ref"}:
            return self.ref(value["Ref"])
        return str(_literal(value, where))

    def _table(self, logical_id: str, props: Mapping[str, Any]) -> str:
        dynamodb = self.client("dynamodb")
        name = self.name(logical_id)
        kwargs: dict[str, Any] = {"TableName": name, "BillingMode": props.get("BillingMode", "PROVISIONED")}
        kwargs |= _pick(
            props, ("AttributeDefinitions", "KeySchema", "ProvisionedThroughput", "TableClass"), logical_id
        )
        if "GlobalSecondaryIndexes" in props:
            kwargs["GlobalSecondaryIndexes"] = [
                _pick(index, _GSI_KEYS, f"{logical_id}.GlobalSecondaryIndexes")
                for index in props["GlobalSecondaryIndexes"]
            ]
        if "LocalSecondaryIndexes" in props:
            kwargs["LocalSecondaryIndexes"] = [
                _pick(index, _LSI_KEYS, f"{logical_id}.LocalSecondaryIndexes")
                for index in props["LocalSecondaryIndexes"]
            ]
        if "SSESpecification" in props:
            sse = props["SSESpecification"]
            kwargs["SSESpecification"] = {"Enabled": bool(sse.get("SSEEnabled", False))} | _pick(
                sse, ("SSEType", "KMSMasterKeyId"), f"{logical_id}.SSESpecification"
            )
        if "StreamSpecification" in props:
            kwargs["StreamSpecification"] = {"StreamEnabled": True} | _pick(
                props["StreamSpecification"], ("StreamViewType",), logical_id
            )
        dynamodb.create_table(**kwargs)
        dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        if "TimeToLiveSpecification" in props:
            ttl = _pick(props["TimeToLiveSpecification"], ("AttributeName", "Enabled"), logical_id)
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        if "PointInTimeRecoverySpecification" in props:
            pitr = _pick(
                props["PointInTimeRecoverySpecification"], ("PointInTimeRecoveryEnabled",), logical_id
            )
            dynamodb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification=pitr)
        return name

    def _bucket(self, logical_id: str, props: Mapping[str, Any]) -> str:
        s3 = self.client("s3")
        name = self.name(logical_id)[:63]
        kwargs: dict[str, Any] = {"Bucket": name}
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        s3.create_bucket(**kwargs)
        if "OwnershipControls" in props:
            s3.put_bucket_ownership_controls(
                Bucket=name, OwnershipControls=_literal(props["OwnershipControls"], logical_id)
            )
        if "PublicAccessBlockConfiguration" in props:
            s3.put_public_access_block(
                Bucket=name,
                PublicAccessBlockConfiguration=_literal(props["PublicAccessBlockConfiguration"], logical_id),
            )
        if "BucketEncryption" in props:
            rules = [
                {_SSE_RULE_KEYS.get(key, key): value for key, value in rule.items()}
                for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            ]
            s3.put_bucket_encryption(
                Bucket=name, ServerSideEncryptionConfiguration={"Rules": _literal(rules, logical_id)}
            )
        if "VersioningConfiguration" in props:
            status = props["VersioningConfiguration"]["Status"]
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": status})
        if "CorsConfiguration" in props and self.cors_origins:
            rules = []
            for rule in props["CorsConfiguration"]["CorsRules"]:
                local = {api: rule[cfn] for cfn, api in _CORS_RULE_KEYS.items() if cfn in rule}
                local["AllowedOrigins"] = self.cors_origins  # the template names the CloudFront site
                rules.append(_literal(local, f"{logical_id}.CorsConfiguration"))
            s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})
        return name

    def _user_pool(self, logical_id: str, props: Mapping[str, Any]) -> str:
        cognito = self.client("cognito-idp")
        pool = cognito.create_user_pool(
            PoolName=self.name(logical_id), **_pick(props, _POOL_KEYS, logical_id)
        )
        pool_id: str = pool["UserPool"]["Id"]
        for group_id, resource in self.resources.items():
            group_props = resource.get("Properties", {})
            if resource["Type"] == "AWS::Cognito::UserPoolGroup" and group_props.get("UserPoolId") == {
                "Ref": logical_id
            }:
                group = _pick(group_props, _GROUP_KEYS, group_id)
                cognito.create_group(UserPoolId=pool_id, **group)
                self.physical[group_id] = group["GroupName"]
        return pool_id

    def _user_pool_client(self, logical_id: str, props: Mapping[str, Any]) -> str:
        pool_id = self._resolve_ref(props["UserPoolId"], f"{logical_id}.UserPoolId")
        client_name = str(props.get("ClientName", _kebab(logical_id)))
        created = self.client("cognito-idp").create_user_pool_client(
            UserPoolId=pool_id,
            ClientName=f"{self.prefix}-{client_name}",
            **_pick(props, _CLIENT_KEYS, logical_id),
        )
        return str(created["UserPoolClient"]["ClientId"])


@functools.cache
def _data_loader() -> botocore.loaders.Loader:
    """botocore's service models, read once per process (each new session reads them again)."""
    return botocore.session.get_session().get_component("data_loader")


def aws_client(service: str, region: str, endpoint_url: str | None = None) -> Any:
    """A client with the usual credentials for AWS, or fixed fake ones for a local endpoint (never real ones)."""
    session = botocore.session.get_session()  # a fresh credential chain each time
    session.register_component("data_loader", _data_loader())
    if endpoint_url is None:
        return session.create_client(service, region_name=region)
    return session.create_client(
        service,
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def create_resources(
    region: str = DEFAULT_REGION,
    endpoint_url: str | None = None,
    prefix: str = "local",
    *,
    template_path: str | Path = TEMPLATE_PATH,
    cors_origins: Iterable[str] = LOCAL_CORS_ORIGINS,
) -> dict[str, str]:
    """Create the resources the API reads at run time; their environment variables -> values.

    ``endpoint_url`` is a moto server (``http://127.0.0.1:PORT``, reached with fake
    credentials) or ``None`` for the default endpoints and boto3's usual credentials
    (moto's ``mock_aws`` in process, or AWS). Returns ``{"QUOTES_TABLE": ..., "USER_POOL_ID": ..., ...}``: exactly the
    function variables of the template that are a ``!Ref`` to a resource.
    """
    template = load_template(template_path)
    builder = _Builder(template, region, endpoint_url, prefix, cors_origins)
    return {
        variable: builder.ref(logical_id) for variable, logical_id in runtime_references(template).items()
    }


def _group_names(template: Mapping[str, Any]) -> dict[str, str]:
    return {
        logical_id: str(resource["Properties"]["GroupName"])
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Cognito::UserPoolGroup"
    }


def generate_password(length: int = 20) -> str:
    """A random password with lower and upper case letters, digits and symbols (Cognito's strictest policy)."""
    classes = (string.ascii_lowercase, string.ascii_uppercase, string.digits, _PASSWORD_SYMBOLS)
    alphabet = "".join(classes)
    chars = [secrets.choice(chars) for chars in classes]
    chars += [secrets.choice(alphabet) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def seed_demo_accounts(
    env: Mapping[str, str],
    endpoint_url: str | None = None,
    *,
    region: str | None = None,
    template_path: str | Path = TEMPLATE_PATH,
) -> list[dict[str, str]]:
    """Create (or reset) an owner, a broker and a staff member with fresh random passwords.

    Each account: ``{"role", "group", "email", "password", "sub"}``; the password is
    permanent (no change asked at first log-in). ``region`` defaults to the pool's.
    """
    pool_id = env["USER_POOL_ID"]
    region = region or pool_id.split("_", 1)[0]
    cognito = aws_client("cognito-idp", region, endpoint_url)
    groups = _group_names(load_template(template_path))
    accounts = []
    for role, group_id, email in _DEMO_ACCOUNTS:
        attributes = [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}]
        try:
            user = cognito.admin_create_user(
                UserPoolId=pool_id, Username=email, UserAttributes=attributes, MessageAction="SUPPRESS"
            )["User"]
            found = {item["Name"]: item["Value"] for item in user["Attributes"]}
        except cognito.exceptions.UsernameExistsException:
            user = cognito.admin_get_user(UserPoolId=pool_id, Username=email)
            found = {item["Name"]: item["Value"] for item in user["UserAttributes"]}
        password = generate_password()
        cognito.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=password, Permanent=True)
        cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=groups[group_id])
        accounts.append(
            {
                "role": role,
                "group": groups[group_id],
                "email": email,
                "password": password,
                "sub": found["sub"],
            }
        )
    return accounts


# Demo companies of the buyer register: (identifier, name, country, grade 1 best .. 10 worst).
DEMO_REGISTER = (
    ("732829320", "Boulangerie Industrielle du Rhône", "FR", 2),
    ("552100554", "Transports Martin et Fils", "FR", 4),
    ("404833048", "Menuiserie Lefèvre", "FR", 7),
    ("542065479", "Négoce Atlantique", "FR", 9),
    ("DE136695976", "Müller Maschinenbau GmbH", "DE", 3),
)


def seed_buyer_register(
    env: Mapping[str, str],
    endpoint_url: str | None = None,
    *,
    region: str = DEFAULT_REGION,
    companies: Iterable[tuple[str, str, str, int]] = DEMO_REGISTER,
) -> int:
    """Put the demo companies in ``BUYER_REGISTER_TABLE`` (existing entries are overwritten); their count."""
    dynamodb = aws_client("dynamodb", region, endpoint_url)
    count = 0
    for identifier, name, country, grade in companies:
        dynamodb.put_item(
            TableName=env["BUYER_REGISTER_TABLE"],
            Item={
                "identifier": {"S": identifier},
                "name": {"S": name},
                "country": {"S": country},
                "grade": {"N": str(grade)},
                "events": {"S": "[]"},
                "updated_at": {"S": "2026-01-01T00:00:00.000000Z"},
            },
        )
        count += 1
    return count


def verify_mail_sender(
    endpoint_url: str | None = None, *, region: str = DEFAULT_REGION, address: str = LOCAL_MAIL_FROM
) -> dict[str, str]:
    """Verify ``address`` as an SES identity (moto refuses unverified senders); ``{"MAIL_FROM": address}``.

    In AWS the template's ``MailFrom`` parameter names an identity verified out of band.
    """
    aws_client("ses", region, endpoint_url).verify_email_identity(EmailAddress=address)
    return {"MAIL_FROM": address}
