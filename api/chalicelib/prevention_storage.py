"""Storage of buyers, credit-limit requests, the buyer register and alerts: interfaces and DynamoDB.

A buyer's credit limit is an append-only list of steps (granted, reduced,
cancelled, each with the date from which it applies), so a reduction for
future deliveries never rewrites what covered past ones. A staff decision
on a referred request and its step on the buyer are written in one
``TransactWriteItems``, on condition that the request is still referred.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from . import config
from .storage import (
    Page,
    _client_error,
    _code,
    _decode_cursor,
    _encode_cursor,
    _failed_conditions,
    _json,
    _s,
    iso,
    parse_iso,
)

__all__ = [
    "AlertRecord",
    "AlertStore",
    "BuyerExists",
    "BuyerRecord",
    "BuyerRegister",
    "BuyerStore",
    "DynamoAlertStore",
    "DynamoBuyerRegister",
    "DynamoBuyerStore",
    "DynamoLimitRequestStore",
    "LimitRequestRecord",
    "LimitRequestStore",
    "RegisterEntry",
    "RequestAlreadyDecided",
    "StaleBuyer",
]


class BuyerExists(Exception):
    """The buyer is already named on this policy."""


class RequestAlreadyDecided(Exception):
    """The limit request is no longer referred."""


class StaleBuyer(Exception):
    """The buyer changed since it was read."""


@dataclass
class BuyerRecord:
    """A buyer named on a policy; ``limits`` is the append-only history of its credit limit."""

    policy_id: str
    buyer_id: str
    identifier: str
    identifier_type: str
    name: str
    country: str
    zone: str
    public: bool
    created_at: dt.datetime
    limits: list[dict[str, Any]] = field(default_factory=list)
    version: int = 0

    def limit_on(self, day: dt.date) -> Decimal | None:
        """The credit limit that applies to a delivery on ``day`` (``None``: no decision yet)."""
        current = None
        for step in self.limits:
            if dt.date.fromisoformat(step["effective_from"]) <= day:
                current = Decimal(step["amount"])
        return current


@dataclass
class LimitRequestRecord:
    """A credit-limit request on one buyer."""

    request_id: str
    policy_id: str
    buyer_id: str
    buyer_name: str
    amount: Decimal
    status: str
    created_at: dt.datetime
    requested_by: str
    rule: str
    grade: int | None = None
    decided_amount: Decimal | None = None
    decided_at: dt.datetime | None = None
    decided_by: str | None = None
    reason: str | None = None


@dataclass
class RegisterEntry:
    """A company of the buyer register: grade (1 best, 10 worst) and monitoring events."""

    identifier: str
    name: str
    country: str
    grade: int | None
    updated_at: dt.datetime
    events: list[dict[str, Any]] = field(default_factory=list)

    def insolvency(self) -> dict[str, Any] | None:
        """The latest insolvency judgment recorded, if any."""
        judgments = [e for e in self.events if e.get("type") == "insolvency_judgment"]
        return max(judgments, key=lambda e: e["date"]) if judgments else None


@dataclass
class AlertRecord:
    """A monitoring alert for one owner."""

    owner_sub: str
    alert_id: str
    created_at: dt.datetime
    policy_id: str
    buyer_id: str
    buyer_name: str
    event: dict[str, Any]
    message: str


class BuyerStore(Protocol):
    """Where buyers live."""

    def create(self, buyer: BuyerRecord) -> None:
        """Store a new buyer (:class:`BuyerExists` if named already)."""

    def get(self, policy_id: str, buyer_id: str) -> BuyerRecord | None:
        """The buyer, or ``None``."""

    def list_by_policy(self, policy_id: str) -> list[BuyerRecord]:
        """The buyers of a policy."""

    def policies_with(self, identifier: str) -> list[tuple[str, str, str]]:
        """``(policy_id, buyer_id, name)`` of every policy that names this buyer."""

    def add_limit_step(self, buyer: BuyerRecord, step: dict[str, Any]) -> None:
        """Append a step to the limit history, on condition nobody changed the buyer (:class:`StaleBuyer`)."""


class LimitRequestStore(Protocol):
    """Where credit-limit requests live."""

    def create(self, request: LimitRequestRecord, step: dict[str, Any] | None) -> None:
        """Store a request; a decided one appends ``step`` to its buyer in the same transaction."""

    def get(self, request_id: str) -> LimitRequestRecord | None:
        """The request, or ``None``."""

    def decide(self, request: LimitRequestRecord, step: dict[str, Any]) -> None:
        """Referred -> decided and the buyer's step, in one transaction (:class:`RequestAlreadyDecided`)."""

    def list_by_status(self, status: str, limit: int, cursor: str | None) -> Page[LimitRequestRecord]:
        """Requests in ``status``, oldest first (a queue)."""


class BuyerRegister(Protocol):
    """Where grades and monitoring events come from; another source can implement it."""

    def get(self, identifier: str) -> RegisterEntry | None:
        """The company, or ``None``."""

    def put(self, entry: RegisterEntry) -> None:
        """Create or replace a company's name, country and grade (its events are kept)."""

    def add_event(self, identifier: str, event: dict[str, Any], now: dt.datetime) -> RegisterEntry | None:
        """Append an event; ``None`` if the company is unknown."""


class AlertStore(Protocol):
    """Where owners' alerts live."""

    def put(self, alert: AlertRecord) -> None:
        """Store an alert."""

    def list_by_owner(self, owner_sub: str, limit: int, cursor: str | None) -> Page[AlertRecord]:
        """The owner's alerts, newest first."""


def _opt_s(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    return None if value is None else str(value["S"])


class DynamoBuyerStore:
    """Buyers in ``BUYERS_TABLE`` (key ``policy_id`` + ``buyer_id``; index ``by_identifier``)."""

    def __init__(self, table: str) -> None:
        self.table = table

    @staticmethod
    def item(b: BuyerRecord) -> dict[str, Any]:
        return {
            "policy_id": _s(b.policy_id),
            "buyer_id": _s(b.buyer_id),
            "identifier": _s(b.identifier),
            "identifier_type": _s(b.identifier_type),
            "name": _s(b.name),
            "country": _s(b.country),
            "zone": _s(b.zone),
            "public": {"BOOL": b.public},
            "created_at": _s(iso(b.created_at)),
            "limits": _json(b.limits),
            "version": {"N": str(b.version)},
        }

    @staticmethod
    def record(item: Mapping[str, Any]) -> BuyerRecord:
        return BuyerRecord(
            policy_id=item["policy_id"]["S"],
            buyer_id=item["buyer_id"]["S"],
            identifier=item["identifier"]["S"],
            identifier_type=item["identifier_type"]["S"],
            name=item["name"]["S"],
            country=item["country"]["S"],
            zone=item["zone"]["S"],
            public=bool(item["public"]["BOOL"]),
            created_at=parse_iso(item["created_at"]["S"]),
            limits=json.loads(item["limits"]["S"]),
            version=int(item["version"]["N"]),
        )

    def create(self, buyer: BuyerRecord) -> None:
        client_error = _client_error()
        try:
            config.client("dynamodb").put_item(
                TableName=self.table,
                Item=self.item(buyer),
                ConditionExpression="attribute_not_exists(buyer_id)",
            )
        except client_error as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                raise BuyerExists(buyer.buyer_id) from None
            raise

    def get(self, policy_id: str, buyer_id: str) -> BuyerRecord | None:
        response = config.client("dynamodb").get_item(
            TableName=self.table,
            Key={"policy_id": _s(policy_id), "buyer_id": _s(buyer_id)},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return self.record(item) if item else None

    def list_by_policy(self, policy_id: str) -> list[BuyerRecord]:
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "policy_id = :p",
            "ExpressionAttributeValues": {":p": _s(policy_id)},
            "ConsistentRead": True,
        }
        while True:
            response = config.client("dynamodb").query(**params)
            items += response.get("Items", [])
            if not response.get("LastEvaluatedKey"):
                return [self.record(i) for i in items]
            params["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def policies_with(self, identifier: str) -> list[tuple[str, str, str]]:
        found: list[tuple[str, str, str]] = []
        params: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "by_identifier",
            "KeyConditionExpression": "identifier = :i",
            "ExpressionAttributeValues": {":i": _s(identifier)},
        }
        while True:
            response = config.client("dynamodb").query(**params)
            found += [
                (i["policy_id"]["S"], i["buyer_id"]["S"], i["name"]["S"]) for i in response.get("Items", [])
            ]
            if not response.get("LastEvaluatedKey"):
                return found
            params["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def step_update(self, buyer: BuyerRecord, step: dict[str, Any]) -> dict[str, Any]:
        """The conditional update that appends ``step`` (for a transaction or alone)."""
        return {
            "TableName": self.table,
            "Key": {"policy_id": _s(buyer.policy_id), "buyer_id": _s(buyer.buyer_id)},
            "UpdateExpression": "SET limits = :l, version = :next",
            "ConditionExpression": "version = :v",
            "ExpressionAttributeValues": {
                ":l": _json([*buyer.limits, step]),
                ":v": {"N": str(buyer.version)},
                ":next": {"N": str(buyer.version + 1)},
            },
        }

    def add_limit_step(self, buyer: BuyerRecord, step: dict[str, Any]) -> None:
        client_error = _client_error()
        try:
            config.client("dynamodb").update_item(**self.step_update(buyer, step))
        except client_error as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                raise StaleBuyer(buyer.buyer_id) from None
            raise


class DynamoLimitRequestStore:
    """Limit requests in ``LIMIT_REQUESTS_TABLE`` (key ``request_id``; index ``by_status``)."""

    _STATUS_KEYS = frozenset({"request_id", "status", "created_at"})

    def __init__(self, table: str, buyers: DynamoBuyerStore) -> None:
        self.table = table
        self.buyers = buyers

    @staticmethod
    def _item(r: LimitRequestRecord) -> dict[str, Any]:
        item: dict[str, Any] = {
            "request_id": _s(r.request_id),
            "policy_id": _s(r.policy_id),
            "buyer_id": _s(r.buyer_id),
            "buyer_name": _s(r.buyer_name),
            "amount": {"N": str(r.amount)},
            "status": _s(r.status),
            "created_at": _s(iso(r.created_at)),
            "requested_by": _s(r.requested_by),
            "rule": _s(r.rule),
        }
        if r.grade is not None:
            item["grade"] = {"N": str(r.grade)}
        if r.decided_amount is not None:
            item["decided_amount"] = {"N": str(r.decided_amount)}
        if r.decided_at is not None:
            item["decided_at"] = _s(iso(r.decided_at))
        if r.decided_by is not None:
            item["decided_by"] = _s(r.decided_by)
        if r.reason is not None:
            item["reason"] = _s(r.reason)
        return item

    @staticmethod
    def _record(item: Mapping[str, Any]) -> LimitRequestRecord:
        decided_at = _opt_s(item, "decided_at")
        return LimitRequestRecord(
            request_id=item["request_id"]["S"],
            policy_id=item["policy_id"]["S"],
            buyer_id=item["buyer_id"]["S"],
            buyer_name=item["buyer_name"]["S"],
            amount=Decimal(item["amount"]["N"]),
            status=item["status"]["S"],
            created_at=parse_iso(item["created_at"]["S"]),
            requested_by=item["requested_by"]["S"],
            rule=item["rule"]["S"],
            grade=int(item["grade"]["N"]) if "grade" in item else None,
            decided_amount=Decimal(item["decided_amount"]["N"]) if "decided_amount" in item else None,
            decided_at=parse_iso(decided_at) if decided_at else None,
            decided_by=_opt_s(item, "decided_by"),
            reason=_opt_s(item, "reason"),
        )

    def create(self, request: LimitRequestRecord, step: dict[str, Any] | None) -> None:
        put = {
            "TableName": self.table,
            "Item": self._item(request),
            "ConditionExpression": "attribute_not_exists(request_id)",
        }
        if step is None:
            config.client("dynamodb").put_item(**put)
            return
        buyer = self.buyers.get(request.policy_id, request.buyer_id)
        if buyer is None:  # pragma: no cover - checked by the caller
            raise StaleBuyer(request.buyer_id)
        self._transact(put, buyer, step)

    def _transact(self, first: dict[str, Any], buyer: BuyerRecord, step: dict[str, Any]) -> None:
        client_error = _client_error()
        kind = "Put" if "Item" in first else "Update"
        try:
            config.client("dynamodb").transact_write_items(
                TransactItems=[{kind: first}, {"Update": self.buyers.step_update(buyer, step)}]
            )
        except client_error as exc:
            failed = _failed_conditions(exc)
            if failed is None:
                raise
            if 0 in failed:
                raise RequestAlreadyDecided(buyer.buyer_id) from None
            if 1 in failed:
                raise StaleBuyer(buyer.buyer_id) from None
            raise

    def get(self, request_id: str) -> LimitRequestRecord | None:
        response = config.client("dynamodb").get_item(
            TableName=self.table, Key={"request_id": _s(request_id)}, ConsistentRead=True
        )
        item = response.get("Item")
        return self._record(item) if item else None

    def decide(self, request: LimitRequestRecord, step: dict[str, Any]) -> None:
        buyer = self.buyers.get(request.policy_id, request.buyer_id)
        if buyer is None:  # pragma: no cover - buyers are never deleted
            raise StaleBuyer(request.buyer_id)
        values: dict[str, Any] = {
            ":status": _s(request.status),
            ":referred": _s("referred"),
            ":amount": {"N": str(request.decided_amount or 0)},
            ":at": _s(iso(request.decided_at or dt.datetime.now(dt.UTC))),
            ":by": _s(request.decided_by or ""),
            ":reason": _s(request.reason or ""),
        }
        update = {
            "TableName": self.table,
            "Key": {"request_id": _s(request.request_id)},
            "UpdateExpression": "SET #s = :status, decided_amount = :amount, decided_at = :at, "
            "decided_by = :by, reason = :reason",
            "ConditionExpression": "#s = :referred",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": values,
        }
        self._transact(update, buyer, step)

    def list_by_status(self, status: str, limit: int, cursor: str | None) -> Page[LimitRequestRecord]:
        params: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "by_status",
            "KeyConditionExpression": "#k = :k",
            "ExpressionAttributeNames": {"#k": "status"},
            "ExpressionAttributeValues": {":k": _s(status)},
            "ScanIndexForward": True,
            "Limit": limit,
        }
        start = _decode_cursor(cursor, self._STATUS_KEYS)
        if start:
            params["ExclusiveStartKey"] = start
        response = config.client("dynamodb").query(**params)
        items = [self._record(i) for i in response.get("Items", [])]
        return Page(items, _encode_cursor(response.get("LastEvaluatedKey")))


class DynamoBuyerRegister:
    """The buyer register in ``BUYER_REGISTER_TABLE`` (key ``identifier``: SIREN or VAT number)."""

    def __init__(self, table: str) -> None:
        self.table = table

    @staticmethod
    def _record(item: Mapping[str, Any]) -> RegisterEntry:
        return RegisterEntry(
            identifier=item["identifier"]["S"],
            name=item["name"]["S"],
            country=item["country"]["S"],
            grade=int(item["grade"]["N"]) if "grade" in item else None,
            updated_at=parse_iso(item["updated_at"]["S"]),
            events=json.loads(item["events"]["S"]) if "events" in item else [],
        )

    def get(self, identifier: str) -> RegisterEntry | None:
        response = config.client("dynamodb").get_item(
            TableName=self.table, Key={"identifier": _s(identifier)}, ConsistentRead=True
        )
        item = response.get("Item")
        return self._record(item) if item else None

    def put(self, entry: RegisterEntry) -> None:
        names = {"#n": "name"}
        values: dict[str, Any] = {
            ":n": _s(entry.name),
            ":c": _s(entry.country),
            ":u": _s(iso(entry.updated_at)),
            ":none": _json([]),
        }
        expression = "SET #n = :n, country = :c, updated_at = :u, events = if_not_exists(events, :none)"
        if entry.grade is not None:
            expression += ", grade = :g"
            values[":g"] = {"N": str(entry.grade)}
        else:
            expression += " REMOVE grade"
        config.client("dynamodb").update_item(
            TableName=self.table,
            Key={"identifier": _s(entry.identifier)},
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def add_event(self, identifier: str, event: dict[str, Any], now: dt.datetime) -> RegisterEntry | None:
        client_error = _client_error()
        for _ in range(5):
            entry = self.get(identifier)
            if entry is None:
                return None
            try:
                config.client("dynamodb").update_item(
                    TableName=self.table,
                    Key={"identifier": _s(identifier)},
                    UpdateExpression="SET events = :e, updated_at = :u",
                    ConditionExpression="updated_at = :seen",
                    ExpressionAttributeValues={
                        ":e": _json([*entry.events, event]),
                        ":u": _s(iso(now)),
                        ":seen": _s(iso(entry.updated_at)),
                    },
                )
            except client_error as exc:
                if _code(exc) != "ConditionalCheckFailedException":
                    raise
                continue
            entry.events.append(event)
            entry.updated_at = now
            return entry
        raise RuntimeError("register entry kept changing")  # pragma: no cover - pathological contention


class DynamoAlertStore:
    """Alerts in ``ALERTS_TABLE`` (key ``owner_sub`` + ``alert_id``, which sorts by time)."""

    _KEYS = frozenset({"owner_sub", "alert_id"})

    def __init__(self, table: str) -> None:
        self.table = table

    def put(self, alert: AlertRecord) -> None:
        config.client("dynamodb").put_item(
            TableName=self.table,
            Item={
                "owner_sub": _s(alert.owner_sub),
                "alert_id": _s(alert.alert_id),
                "created_at": _s(iso(alert.created_at)),
                "policy_id": _s(alert.policy_id),
                "buyer_id": _s(alert.buyer_id),
                "buyer_name": _s(alert.buyer_name),
                "event": _json(alert.event),
                "message": _s(alert.message),
            },
            ConditionExpression="attribute_not_exists(alert_id)",
        )

    def list_by_owner(self, owner_sub: str, limit: int, cursor: str | None) -> Page[AlertRecord]:
        params: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "owner_sub = :o",
            "ExpressionAttributeValues": {":o": _s(owner_sub)},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        start = _decode_cursor(cursor, self._KEYS)
        if start:
            params["ExclusiveStartKey"] = start
        response = config.client("dynamodb").query(**params)
        items = [
            AlertRecord(
                owner_sub=i["owner_sub"]["S"],
                alert_id=i["alert_id"]["S"],
                created_at=parse_iso(i["created_at"]["S"]),
                policy_id=i["policy_id"]["S"],
                buyer_id=i["buyer_id"]["S"],
                buyer_name=i["buyer_name"]["S"],
                event=json.loads(i["event"]["S"]),
                message=i["message"]["S"],
            )
            for i in response.get("Items", [])
        ]
        return Page(items, _encode_cursor(response.get("LastEvaluatedKey")))
