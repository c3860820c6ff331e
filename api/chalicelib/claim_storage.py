"""Storage of overdue declarations and claims, and the policy-year counters: interface and DynamoDB.

Every change of a claim is a conditional update on its ``version`` that also
appends one entry to its ``history`` (a DynamoDB list, only ever appended
with ``list_append``). A settlement writes the claim and the policy-year
counter in one ``TransactWriteItems``: the claim must still be at the version
read, and the counter at the paid total the engine was given, with
``paid <= max_liability - indemnity``. Two settlements can therefore never
both succeed on stale figures.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from . import config
from .storage import Page, _client_error, _code, _failed_conditions, _json, _query, _s, iso, parse_iso

__all__ = [
    "ClaimRecord",
    "ClaimStore",
    "CounterMoved",
    "DynamoClaimStore",
    "InvoiceAlreadyDeclared",
    "StaleClaim",
    "YearUsage",
]

ZERO = Decimal("0")


class StaleClaim(Exception):
    """The claim changed since it was read."""


class InvoiceAlreadyDeclared(Exception):
    """This buyer's invoice number is already declared on the policy (``args[0]``: that claim's id)."""


class CounterMoved(Exception):
    """The policy-year counter changed since it was read (or the cap would be exceeded)."""


@dataclass
class ClaimRecord:
    """An overdue declaration and, once established, the claim, with its append-only history."""

    claim_id: str
    policy_id: str
    owner_sub: str
    buyer_id: str
    buyer_name: str
    status: str
    created_at: dt.datetime
    declared_on: dt.date
    policy_year: str
    invoice: dict[str, Any]
    assessment: dict[str, Any]
    version: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    recoveries: list[dict[str, Any]] = field(default_factory=list)
    settlement: dict[str, Any] | None = None
    indemnity: Decimal | None = None
    reason: str | None = None
    documents: list[dict[str, Any]] = field(default_factory=list)

    def recovered_before_indemnity(self) -> Decimal:
        """What the debtor paid before the indemnity (reduces the loss the engine settles)."""
        return sum((Decimal(r["amount"]) for r in self.recoveries if not r["after_indemnity"]), ZERO)

    def recovered_total(self) -> Decimal:
        """Every recovery recorded."""
        return sum((Decimal(r["amount"]) for r in self.recoveries), ZERO)


@dataclass(frozen=True)
class YearUsage:
    """A policy year's counter: indemnities paid, settlements made, and one buyer's consumption.

    A buyer's credit limit (or the automatic threshold) and the deductible apply once per buyer
    and policy year, across all its claims: ``cover`` and ``deductible`` are what earlier
    settlements of that buyer already used.
    """

    paid: Decimal = ZERO
    settlements: int = 0
    cover: Decimal = ZERO
    deductible: Decimal = ZERO


class ClaimStore(Protocol):
    """Where claims and policy-year counters live."""

    def create(self, claim: ClaimRecord) -> None:
        """Store a new claim with its first history entries (:class:`InvoiceAlreadyDeclared`)."""

    def get(self, claim_id: str) -> ClaimRecord | None:
        """The claim, or ``None``."""

    def update(self, claim: ClaimRecord, changes: Mapping[str, Any], entry: dict[str, Any] | None) -> None:
        """Apply ``changes`` and append ``entry`` (if any) if the claim is still at ``claim.version`` (:class:`StaleClaim`)."""

    def year_usage(self, policy_id: str, year_start: str, buyer_id: str) -> YearUsage:
        """The policy year's counter, read consistently, with ``buyer_id``'s consumption."""

    def settle(
        self,
        claim: ClaimRecord,
        changes: Mapping[str, Any],
        entry: dict[str, Any],
        before: YearUsage,
        max_liability: Decimal,
    ) -> None:
        """Claim and counter in one transaction (:class:`StaleClaim` or :class:`CounterMoved`).

        ``changes["settlement"]`` gives the buyer's ``covered_amount`` and ``deductible_applied``,
        added to the counter; the counter must still be at ``before`` (no settlement since).
        """

    def list_by_policy(self, policy_id: str, limit: int, cursor: str | None) -> Page[ClaimRecord]:
        """Claims of a policy, newest first."""

    def list_by_status(self, status: str, limit: int, cursor: str | None) -> Page[ClaimRecord]:
        """Claims in ``status``, newest first."""


# Attributes of a claim: how each is written and read.
_JSON_FIELDS = ("invoice", "assessment", "recoveries", "settlement", "documents")


def _encode(name: str, value: Any) -> dict[str, Any]:
    if name in _JSON_FIELDS:
        return _json(value)
    if isinstance(value, Decimal):
        return {"N": str(value)}
    if isinstance(value, dt.datetime):
        return _s(iso(value))
    if isinstance(value, dt.date):
        return _s(value.isoformat())
    return _s(str(value))


class DynamoClaimStore:
    """Claims in ``CLAIMS_TABLE`` (indexes ``by_policy``, ``by_status``), counters in ``POLICY_YEARS_TABLE``."""

    _POLICY_KEYS = frozenset({"claim_id", "policy_id", "created_at"})
    _STATUS_KEYS = frozenset({"claim_id", "status", "created_at"})

    def __init__(self, table: str, years_table: str) -> None:
        self.table = table
        self.years_table = years_table

    @staticmethod
    def _item(c: ClaimRecord) -> dict[str, Any]:
        item = {
            "claim_id": _s(c.claim_id),
            "policy_id": _s(c.policy_id),
            "owner_sub": _s(c.owner_sub),
            "buyer_id": _s(c.buyer_id),
            "buyer_name": _s(c.buyer_name),
            "status": _s(c.status),
            "created_at": _s(iso(c.created_at)),
            "declared_on": _s(c.declared_on.isoformat()),
            "policy_year": _s(c.policy_year),
            "invoice": _json(c.invoice),
            "assessment": _json(c.assessment),
            "recoveries": _json(c.recoveries),
            "documents": _json(c.documents),
            "version": {"N": str(c.version)},
            "history": {"L": [_json(h) for h in c.history]},
        }
        if c.reason is not None:
            item["reason"] = _s(c.reason)
        return item

    @staticmethod
    def _record(item: Mapping[str, Any]) -> ClaimRecord:
        return ClaimRecord(
            claim_id=item["claim_id"]["S"],
            policy_id=item["policy_id"]["S"],
            owner_sub=item["owner_sub"]["S"],
            buyer_id=item["buyer_id"]["S"],
            buyer_name=item["buyer_name"]["S"],
            status=item["status"]["S"],
            created_at=parse_iso(item["created_at"]["S"]),
            declared_on=dt.date.fromisoformat(item["declared_on"]["S"]),
            policy_year=item["policy_year"]["S"],
            invoice=json.loads(item["invoice"]["S"]),
            assessment=json.loads(item["assessment"]["S"]),
            version=int(item["version"]["N"]),
            history=[json.loads(h["S"]) for h in item.get("history", {}).get("L", [])],
            recoveries=json.loads(item["recoveries"]["S"]),
            settlement=json.loads(item["settlement"]["S"]) if "settlement" in item else None,
            indemnity=Decimal(item["indemnity"]["N"]) if "indemnity" in item else None,
            reason=item["reason"]["S"] if "reason" in item else None,
            documents=json.loads(item["documents"]["S"]) if "documents" in item else [],
        )

    @staticmethod
    def _invoice_key(claim: ClaimRecord) -> str:
        number = "".join(str(claim.invoice["invoice_number"]).split()).casefold()
        return f"invoice#{claim.policy_id}#{claim.buyer_id}#{number}"

    def create(self, claim: ClaimRecord) -> None:
        # The claim and a marker of its invoice number go in together: one buyer's invoice is
        # declared once per policy, even when two declarations race. Markers carry none of the
        # indexes' keys, so no listing sees them.
        marker = self._invoice_key(claim)
        client_error = _client_error()
        try:
            config.client("dynamodb").transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": self._item(claim),
                            "ConditionExpression": "attribute_not_exists(claim_id)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": {"claim_id": _s(marker), "claim": _s(claim.claim_id)},
                            "ConditionExpression": "attribute_not_exists(claim_id)",
                        }
                    },
                ]
            )
        except client_error as exc:
            failed = _failed_conditions(exc)
            if failed is None or 1 not in failed:
                raise
            item = config.client("dynamodb").get_item(
                TableName=self.table, Key={"claim_id": _s(marker)}, ConsistentRead=True
            )
            raise InvoiceAlreadyDeclared(item.get("Item", {}).get("claim", {}).get("S", "")) from None

    def get(self, claim_id: str) -> ClaimRecord | None:
        if "#" in claim_id:  # an invoice marker, never a claim
            return None
        response = config.client("dynamodb").get_item(
            TableName=self.table, Key={"claim_id": _s(claim_id)}, ConsistentRead=True
        )
        item = response.get("Item")
        return self._record(item) if item else None

    def _update(
        self, claim: ClaimRecord, changes: Mapping[str, Any], entry: dict[str, Any] | None
    ) -> dict[str, Any]:
        names = {"#v": "version"}
        values: dict[str, Any] = {":v": {"N": str(claim.version)}, ":next": {"N": str(claim.version + 1)}}
        sets = ["#v = :next"]
        if entry is not None:
            names["#h"] = "history"
            values[":entry"] = {"L": [_json(entry)]}
            sets.insert(0, "#h = list_append(#h, :entry)")
        for index, (name, value) in enumerate(changes.items()):
            names[f"#a{index}"] = name
            values[f":a{index}"] = _encode(name, value)
            sets.append(f"#a{index} = :a{index}")
        return {
            "TableName": self.table,
            "Key": {"claim_id": _s(claim.claim_id)},
            "UpdateExpression": "SET " + ", ".join(sets),
            "ConditionExpression": "#v = :v",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    def update(self, claim: ClaimRecord, changes: Mapping[str, Any], entry: dict[str, Any] | None) -> None:
        client_error = _client_error()
        try:
            config.client("dynamodb").update_item(**self._update(claim, changes, entry))
        except client_error as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                raise StaleClaim(claim.claim_id) from None
            raise

    def _year_key(self, policy_id: str, year_start: str) -> dict[str, Any]:
        return {"policy_id": _s(policy_id), "year_start": _s(year_start)}

    @staticmethod
    def _buyer_attrs(buyer_id: str) -> tuple[str, str]:
        return f"cover#{buyer_id}", f"deductible#{buyer_id}"

    def year_usage(self, policy_id: str, year_start: str, buyer_id: str) -> YearUsage:
        response = config.client("dynamodb").get_item(
            TableName=self.years_table, Key=self._year_key(policy_id, year_start), ConsistentRead=True
        )
        item = response.get("Item")
        if not item:
            return YearUsage()
        cover, deductible = self._buyer_attrs(buyer_id)
        return YearUsage(
            paid=Decimal(item["paid"]["N"]),
            settlements=int(item.get("claims_paid", {"N": "0"})["N"]),
            cover=Decimal(item[cover]["N"]) if cover in item else ZERO,
            deductible=Decimal(item[deductible]["N"]) if deductible in item else ZERO,
        )

    def settle(
        self,
        claim: ClaimRecord,
        changes: Mapping[str, Any],
        entry: dict[str, Any],
        before: YearUsage,
        max_liability: Decimal,
    ) -> None:
        indemnity = Decimal(changes["indemnity"])
        settlement = changes["settlement"]
        paid_before = before.paid
        cover, deductible = self._buyer_attrs(claim.buyer_id)
        first = before.settlements == 0 and paid_before == 0  # no counter yet for this policy year
        counter = {
            "TableName": self.years_table,
            "Key": self._year_key(claim.policy_id, claim.policy_year),
            "UpdateExpression": "SET paid = if_not_exists(paid, :zero) + :ind, max_liability = :max "
            "ADD claims_paid :one, #cov :cov, #ded :ded",
            # paid + indemnity <= max_liability, and no settlement since it was read (the count
            # moves even when an indemnity is zero but used some of the limit or deductible).
            "ConditionExpression": (
                "attribute_not_exists(paid)"
                if first
                else "paid = :before AND claims_paid = :count AND paid <= :room"
            ),
            "ExpressionAttributeNames": {"#cov": cover, "#ded": deductible},
            "ExpressionAttributeValues": {
                ":zero": {"N": "0"},
                ":one": {"N": "1"},
                ":ind": {"N": str(indemnity)},
                ":max": {"N": str(max_liability)},
                ":cov": {"N": str(settlement["covered_amount"])},
                ":ded": {"N": str(settlement["deductible_applied"])},
            },
        }
        if not first:
            counter["ExpressionAttributeValues"].update(
                {
                    ":before": {"N": str(paid_before)},
                    ":count": {"N": str(before.settlements)},
                    ":room": {"N": str(max_liability - indemnity)},
                }
            )
        if indemnity > max_liability - paid_before:
            raise CounterMoved(claim.policy_id)
        client_error = _client_error()
        try:
            config.client("dynamodb").transact_write_items(
                TransactItems=[{"Update": self._update(claim, changes, entry)}, {"Update": counter}]
            )
        except client_error as exc:
            failed = _failed_conditions(exc)
            if failed is None:
                raise
            if 0 in failed:
                raise StaleClaim(claim.claim_id) from None
            if 1 in failed:
                raise CounterMoved(claim.policy_id) from None
            raise

    def list_by_policy(self, policy_id: str, limit: int, cursor: str | None) -> Page[ClaimRecord]:
        items, token = _query(
            self.table, "by_policy", "policy_id", policy_id, self._POLICY_KEYS, limit, cursor
        )
        return Page([self._record(i) for i in items], token)

    def list_by_status(self, status: str, limit: int, cursor: str | None) -> Page[ClaimRecord]:
        items, token = _query(self.table, "by_status", "status", status, self._STATUS_KEYS, limit, cursor)
        return Page([self._record(i) for i in items], token)
