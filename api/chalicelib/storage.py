"""Storage of quotes, policies and idempotency records: interfaces and DynamoDB.

The interfaces (``QuoteStore``, ``PolicyStore``, ``IdempotencyStore``) are
what the services use; ``Dynamo*`` implement them on the tables of the data
contract with the low-level client. Nested documents (engine request and
result, terms, addresses) are stored as JSON text, so a stored quote reads
back exactly as priced. Times are UTC ISO 8601 strings of fixed width, so
they sort as text in the ``created_at`` index keys.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from . import config

__all__ = [
    "DynamoIdempotencyStore",
    "DynamoPolicyStore",
    "DynamoQuoteStore",
    "IdempotencyRecord",
    "IdempotencyStore",
    "InvalidCursor",
    "Page",
    "PolicyNumberTaken",
    "PolicyRecord",
    "PolicyStateConflict",
    "PolicyStore",
    "QuoteNotRequested",
    "QuoteRecord",
    "QuoteStore",
    "iso",
    "parse_iso",
]


def iso(moment: dt.datetime) -> str:
    """Fixed-width UTC text of ``moment`` (sorts like the time)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> dt.datetime:
    """The aware datetime of :func:`iso` text."""
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)


class InvalidCursor(ValueError):
    """A ``next_token`` that this listing did not produce."""


class PolicyNumberTaken(Exception):
    """The random policy number exists already: draw another."""


class QuoteNotRequested(Exception):
    """The quote is no longer ``requested`` or has expired."""


class PolicyStateConflict(Exception):
    """The policy is not in the state the update expects."""


@dataclass
class QuoteRecord:
    """A requested quote as stored."""

    quote_id: str
    status: str
    created_at: dt.datetime
    expires_at: dt.datetime
    tariff_version: str
    request: dict[str, Any]
    result: dict[str, Any]
    contact_email: str
    broker_id: str | None = None
    policy_id: str | None = None
    accepted_at: dt.datetime | None = None

    def effective_status(self, now: dt.datetime) -> str:
        """``requested`` past its validity reads ``expired``."""
        if self.status == "requested" and self.expires_at <= now:
            return "expired"
        return self.status


@dataclass
class PolicyRecord:
    """A policy as stored; ``owner_sub`` is set once the owner's account exists."""

    policy_id: str
    status: str
    quote_id: str
    formula: str
    formula_label: str
    tariff_version: str
    created_at: dt.datetime
    start_date: dt.date
    end_date: dt.date
    company: dict[str, Any]
    contact: dict[str, Any]
    iban: str
    premium: dict[str, Any]
    terms: dict[str, Any]
    mandate: dict[str, Any]
    request_hash: str
    broker_id: str | None = None
    owner_sub: str | None = None
    activated_at: dt.datetime | None = None


@dataclass
class IdempotencyRecord:
    """The state of one idempotency key."""

    key: str
    status: str
    body_hash: str
    locked_until: int
    expires_at: int
    response: dict[str, Any] | None = None
    status_code: int | None = None


T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    """Items of one page and the opaque token of the next (``None`` at the end)."""

    items: list[T] = field(default_factory=list)
    next_token: str | None = None


class QuoteStore(Protocol):
    """Where quotes live."""

    def put(self, quote: QuoteRecord) -> None:
        """Store a new quote."""

    def get(self, quote_id: str) -> QuoteRecord | None:
        """The quote, or ``None``."""

    def list_by_status(
        self, status: str, now: dt.datetime, limit: int, cursor: str | None
    ) -> Page[QuoteRecord]:
        """Quotes by effective status, newest first."""


class PolicyStore(Protocol):
    """Where policies live."""

    def create_from_quote(self, policy: PolicyRecord, now: dt.datetime) -> None:
        """Atomically store ``policy`` and mark its quote accepted."""

    def get(self, policy_id: str) -> PolicyRecord | None:
        """The policy, or ``None``."""

    def activate(self, policy_id: str, owner_sub: str, now: dt.datetime) -> None:
        """Link the owner's account and make the policy active."""

    def list_by_owner(self, owner_sub: str, limit: int, cursor: str | None) -> Page[PolicyRecord]:
        """The owner's policies, newest first."""

    def list_by_status(self, status: str, limit: int, cursor: str | None) -> Page[PolicyRecord]:
        """Policies in ``status``, newest first."""


class IdempotencyStore(Protocol):
    """Records of idempotent requests."""

    def claim(
        self, key: str, body_hash: str, now: int, lock_seconds: int, ttl_seconds: int
    ) -> IdempotencyRecord | None:
        """Take ``key`` (``None``) or return the record that holds it."""

    def get(self, key: str) -> IdempotencyRecord | None:
        """The record of ``key``, read consistently."""

    def complete(self, key: str, body_hash: str, status_code: int, response: dict[str, Any]) -> None:
        """Store the response to replay for ``key``."""

    def release(self, key: str, body_hash: str) -> None:
        """Give up an unfinished claim so that a retry (any body) runs again."""


# DynamoDB encoding helpers.


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _json(value: Any) -> dict[str, str]:
    return {"S": json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)}


def _get_s(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    return None if value is None else str(value["S"])


def _req_s(item: Mapping[str, Any], name: str) -> str:
    return str(item[name]["S"])


def _encode_cursor(last_key: Mapping[str, Any] | None) -> str | None:
    if not last_key:
        return None
    plain = {k: v["S"] for k, v in sorted(last_key.items())}
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode_cursor(token: str | None, keys: frozenset[str]) -> dict[str, Any] | None:
    if token is None:
        return None
    try:
        plain = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidCursor(token) from None
    if (
        not isinstance(plain, dict)
        or set(plain) != keys
        or not all(isinstance(v, str) and v for v in plain.values())
    ):
        raise InvalidCursor(token)
    return {k: _s(v) for k, v in plain.items()}


def _query(
    table: str,
    index: str,
    key_name: str,
    key_value: str,
    cursor_keys: frozenset[str],
    limit: int,
    cursor: str | None,
    extra: Mapping[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    params: dict[str, Any] = {
        "TableName": table,
        "IndexName": index,
        "KeyConditionExpression": "#k = :k",
        "ExpressionAttributeNames": {"#k": key_name},
        "ExpressionAttributeValues": {":k": _s(key_value)},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    start = _decode_cursor(cursor, cursor_keys)
    if start:
        params["ExclusiveStartKey"] = start
    if extra:
        params["FilterExpression"] = extra["filter"]
        params["ExpressionAttributeValues"].update(extra["values"])
    response = config.client("dynamodb").query(**params)
    return response.get("Items", []), _encode_cursor(response.get("LastEvaluatedKey"))


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _failed_conditions(exc: Exception) -> set[int] | None:
    """Positions of the items whose condition failed in a cancelled transaction; None for any other error."""
    if _code(exc) != "TransactionCanceledException":
        return None
    reasons = getattr(exc, "response", {}).get("CancellationReasons", [])
    return {i for i, reason in enumerate(reasons) if reason.get("Code") == "ConditionalCheckFailed"}


def _client_error() -> type[Exception]:
    from botocore.exceptions import ClientError

    return ClientError


class DynamoQuoteStore:
    """Quotes in ``QUOTES_TABLE`` (key ``quote_id``; index ``by_status``)."""

    _STATUS_KEYS = frozenset({"quote_id", "status", "created_at"})

    def __init__(self, table: str) -> None:
        self.table = table

    @staticmethod
    def _item(q: QuoteRecord) -> dict[str, Any]:
        item = {
            "quote_id": _s(q.quote_id),
            "status": _s(q.status),
            "created_at": _s(iso(q.created_at)),
            "expires_at": _s(iso(q.expires_at)),
            "tariff_version": _s(q.tariff_version),
            "formula": _s(str(q.result.get("formula", ""))),
            "request": _json(q.request),
            "result": _json(q.result),
            "contact_email": _s(q.contact_email),
        }
        if q.broker_id:
            item["broker_id"] = _s(q.broker_id)
        return item

    @staticmethod
    def _record(item: Mapping[str, Any]) -> QuoteRecord:
        accepted = _get_s(item, "accepted_at")
        return QuoteRecord(
            quote_id=_req_s(item, "quote_id"),
            status=_req_s(item, "status"),
            created_at=parse_iso(_req_s(item, "created_at")),
            expires_at=parse_iso(_req_s(item, "expires_at")),
            tariff_version=_req_s(item, "tariff_version"),
            request=json.loads(_req_s(item, "request")),
            result=json.loads(_req_s(item, "result")),
            contact_email=_req_s(item, "contact_email"),
            broker_id=_get_s(item, "broker_id"),
            policy_id=_get_s(item, "policy_id"),
            accepted_at=parse_iso(accepted) if accepted else None,
        )

    def put(self, quote: QuoteRecord) -> None:
        """Store a new quote (never overwrites one)."""
        config.client("dynamodb").put_item(
            TableName=self.table,
            Item=self._item(quote),
            ConditionExpression="attribute_not_exists(quote_id)",
        )

    def get(self, quote_id: str) -> QuoteRecord | None:
        """The quote, read consistently, or ``None``."""
        response = config.client("dynamodb").get_item(
            TableName=self.table, Key={"quote_id": _s(quote_id)}, ConsistentRead=True
        )
        item = response.get("Item")
        return self._record(item) if item else None

    def list_by_status(
        self, status: str, now: dt.datetime, limit: int, cursor: str | None
    ) -> Page[QuoteRecord]:
        """``expired`` reads requested quotes past validity; ``requested`` the others."""
        stored = "requested" if status == "expired" else status
        extra = None
        if status in ("requested", "expired"):
            op = "<=" if status == "expired" else ">"
            extra = {"filter": f"expires_at {op} :now", "values": {":now": _s(iso(now))}}
        items, token = _query(
            self.table, "by_status", "status", stored, self._STATUS_KEYS, limit, cursor, extra
        )
        return Page([self._record(i) for i in items], token)


class DynamoPolicyStore:
    """Policies in ``POLICIES_TABLE`` (key ``policy_id``; indexes ``by_owner``, ``by_status``)."""

    _OWNER_KEYS = frozenset({"policy_id", "owner_sub", "created_at"})
    _STATUS_KEYS = frozenset({"policy_id", "status", "created_at"})

    def __init__(self, table: str, quotes_table: str) -> None:
        self.table = table
        self.quotes_table = quotes_table

    @staticmethod
    def _item(p: PolicyRecord) -> dict[str, Any]:
        item = {
            "policy_id": _s(p.policy_id),
            "status": _s(p.status),
            "quote_id": _s(p.quote_id),
            "formula": _s(p.formula),
            "formula_label": _s(p.formula_label),
            "tariff_version": _s(p.tariff_version),
            "created_at": _s(iso(p.created_at)),
            "start_date": _s(p.start_date.isoformat()),
            "end_date": _s(p.end_date.isoformat()),
            "company": _json(p.company),
            "contact": _json(p.contact),
            "iban": _s(p.iban),
            "premium": _json(p.premium),
            "terms": _json(p.terms),
            "mandate": _json(p.mandate),
            "request_hash": _s(p.request_hash),
        }
        if p.broker_id:
            item["broker_id"] = _s(p.broker_id)
        if p.owner_sub:
            item["owner_sub"] = _s(p.owner_sub)
        return item

    @staticmethod
    def _record(item: Mapping[str, Any]) -> PolicyRecord:
        activated = _get_s(item, "activated_at")
        return PolicyRecord(
            policy_id=_req_s(item, "policy_id"),
            status=_req_s(item, "status"),
            quote_id=_req_s(item, "quote_id"),
            formula=_req_s(item, "formula"),
            formula_label=_req_s(item, "formula_label"),
            tariff_version=_req_s(item, "tariff_version"),
            created_at=parse_iso(_req_s(item, "created_at")),
            start_date=dt.date.fromisoformat(_req_s(item, "start_date")),
            end_date=dt.date.fromisoformat(_req_s(item, "end_date")),
            company=json.loads(_req_s(item, "company")),
            contact=json.loads(_req_s(item, "contact")),
            iban=_req_s(item, "iban"),
            premium=json.loads(_req_s(item, "premium")),
            terms=json.loads(_req_s(item, "terms")),
            mandate=json.loads(_req_s(item, "mandate")),
            request_hash=_req_s(item, "request_hash"),
            broker_id=_get_s(item, "broker_id"),
            owner_sub=_get_s(item, "owner_sub"),
            activated_at=parse_iso(activated) if activated else None,
        )

    def create_from_quote(self, policy: PolicyRecord, now: dt.datetime) -> None:
        """One transaction: put the policy (new number) and accept its quote (still requested, unexpired)."""
        client_error = _client_error()
        try:
            config.client("dynamodb").transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": self._item(policy),
                            "ConditionExpression": "attribute_not_exists(policy_id)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.quotes_table,
                            "Key": {"quote_id": _s(policy.quote_id)},
                            "UpdateExpression": "SET #s = :accepted, policy_id = :p, accepted_at = :now",
                            "ConditionExpression": "#s = :requested AND expires_at > :now",
                            "ExpressionAttributeNames": {"#s": "status"},
                            "ExpressionAttributeValues": {
                                ":accepted": _s("accepted"),
                                ":requested": _s("requested"),
                                ":p": _s(policy.policy_id),
                                ":now": _s(iso(now)),
                            },
                        }
                    },
                ]
            )
        except client_error as exc:
            failed = _failed_conditions(exc)
            if failed is None:
                raise
            if 0 in failed:
                raise PolicyNumberTaken(policy.policy_id) from None
            if 1 in failed:
                raise QuoteNotRequested(policy.quote_id) from None
            raise

    def get(self, policy_id: str) -> PolicyRecord | None:
        """The policy, read consistently, or ``None``."""
        response = config.client("dynamodb").get_item(
            TableName=self.table, Key={"policy_id": _s(policy_id)}, ConsistentRead=True
        )
        item = response.get("Item")
        return self._record(item) if item else None

    def activate(self, policy_id: str, owner_sub: str, now: dt.datetime) -> None:
        """Pending -> active with its owner; a repeat with the same owner is a no-op."""
        client_error = _client_error()
        try:
            config.client("dynamodb").update_item(
                TableName=self.table,
                Key={"policy_id": _s(policy_id)},
                UpdateExpression="SET #s = :active, owner_sub = :sub, activated_at = if_not_exists(activated_at, :now)",
                ConditionExpression="#s = :pending OR (#s = :active AND owner_sub = :sub)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":active": _s("active"),
                    ":pending": _s("pending_account"),
                    ":sub": _s(owner_sub),
                    ":now": _s(iso(now)),
                },
            )
        except client_error as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                raise PolicyStateConflict(policy_id) from None
            raise

    def list_by_owner(self, owner_sub: str, limit: int, cursor: str | None) -> Page[PolicyRecord]:
        """The owner's policies, newest first."""
        items, token = _query(self.table, "by_owner", "owner_sub", owner_sub, self._OWNER_KEYS, limit, cursor)
        return Page([self._record(i) for i in items], token)

    def list_by_status(self, status: str, limit: int, cursor: str | None) -> Page[PolicyRecord]:
        """Policies in ``status``, newest first."""
        items, token = _query(self.table, "by_status", "status", status, self._STATUS_KEYS, limit, cursor)
        return Page([self._record(i) for i in items], token)


class DynamoIdempotencyStore:
    """Idempotency records in ``IDEMPOTENCY_TABLE`` (key ``idempotency_key``, TTL ``expires_at``)."""

    def __init__(self, table: str) -> None:
        self.table = table

    @staticmethod
    def _record(item: Mapping[str, Any]) -> IdempotencyRecord:
        response = _get_s(item, "response")
        code = item.get("status_code")
        return IdempotencyRecord(
            key=_req_s(item, "idempotency_key"),
            status=_req_s(item, "status"),
            body_hash=_req_s(item, "body_hash"),
            locked_until=int(item["locked_until"]["N"]),
            expires_at=int(item["expires_at"]["N"]),
            response=json.loads(response) if response else None,
            status_code=int(code["N"]) if code else None,
        )

    def claim(
        self, key: str, body_hash: str, now: int, lock_seconds: int, ttl_seconds: int
    ) -> IdempotencyRecord | None:
        """Conditional put: a new key, an expired or released record, or a stale lock of the same request."""
        client_error = _client_error()
        dynamodb = config.client("dynamodb")
        for _ in range(3):
            try:
                dynamodb.put_item(
                    TableName=self.table,
                    Item={
                        "idempotency_key": _s(key),
                        "status": _s("in_progress"),
                        "body_hash": _s(body_hash),
                        "locked_until": _n(now + lock_seconds),
                        "expires_at": _n(now + ttl_seconds),
                    },
                    ConditionExpression=(
                        "attribute_not_exists(idempotency_key) OR expires_at < :now OR #s = :released"
                        " OR (#s = :in_progress AND locked_until < :now AND body_hash = :h)"
                    ),
                    ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues={
                        ":now": _n(now),
                        ":in_progress": _s("in_progress"),
                        ":released": _s("released"),
                        ":h": _s(body_hash),
                    },
                )
                return None
            except client_error as exc:
                if _code(exc) != "ConditionalCheckFailedException":
                    raise
            existing = self.get(key)
            if existing is not None and existing.status != "released":
                return existing
        raise RuntimeError(
            "idempotency record vanished three times"
        )  # pragma: no cover - needs a pathological race

    def get(self, key: str) -> IdempotencyRecord | None:
        """The record of ``key``, read consistently."""
        response = config.client("dynamodb").get_item(
            TableName=self.table, Key={"idempotency_key": _s(key)}, ConsistentRead=True
        )
        item = response.get("Item")
        return self._record(item) if item else None

    def complete(self, key: str, body_hash: str, status_code: int, response: dict[str, Any]) -> None:
        """Store the response to replay; only the claim of the same request may complete."""
        config.client("dynamodb").update_item(
            TableName=self.table,
            Key={"idempotency_key": _s(key)},
            UpdateExpression="SET #s = :completed, #r = :r, status_code = :c",
            ConditionExpression="body_hash = :h",
            ExpressionAttributeNames={"#s": "status", "#r": "response"},
            ExpressionAttributeValues={
                ":completed": _s("completed"),
                ":r": _json(response),
                ":c": _n(status_code),
                ":h": _s(body_hash),
            },
        )

    def release(self, key: str, body_hash: str) -> None:
        """Mark an in-progress claim of this request released (a completed one stays).

        An update rather than a delete: the API's IAM policy grants no ``DeleteItem``;
        a released record is free for the next claim and expires with its TTL.
        """
        client_error = _client_error()
        try:
            config.client("dynamodb").update_item(
                TableName=self.table,
                Key={"idempotency_key": _s(key)},
                UpdateExpression="SET #s = :released, locked_until = :zero",
                ConditionExpression="#s = :in_progress AND body_hash = :h",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":in_progress": _s("in_progress"),
                    ":released": _s("released"),
                    ":zero": _n(0),
                    ":h": _s(body_hash),
                },
            )
        except client_error as exc:
            if _code(exc) != "ConditionalCheckFailedException":
                raise
