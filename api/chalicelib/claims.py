"""Overdue declarations and claims: declared -> collection -> recovered | claim_established -> indemnified | rejected.

The policy's frozen terms decide, through the engine's ``settle``, whether a
declaration is in time and eligible (a late or ineligible one is recorded
as ``rejected`` with the engine's reasons), and how much a claim pays: no
indemnity is computed anywhere else. The terms given to the engine are the
frozen ones plus the policy's dates and the buyer's credit limit that
applied on the invoice date. Every step appends one entry to the claim's
history (who, when, what).
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
import time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from . import clock, engine, notify, services
from .auth import Identity
from .claim_storage import ClaimRecord, CounterMoved, InvoiceAlreadyDeclared, StaleClaim, YearUsage
from .errors import Conflict, FieldError, NotFound, Unprocessable
from .models import ClaimList, ClaimOut, DeclarationIn, HistoryOut, ReasonOut, RecoveryIn, RecoveryOut
from .policies import get_visible_policy
from .prevention_storage import BuyerRecord
from .storage import PolicyRecord, iso

__all__ = [
    "CLAIM_STATUSES",
    "claim_out",
    "declare",
    "effective_terms",
    "establish",
    "get_visible_claim",
    "list_by_status",
    "list_for_policy",
    "policy_year_start",
    "record_recovery",
    "reject",
    "settle",
]

CLAIM_STATUSES = ("collection", "recovered", "claim_established", "indemnified", "rejected")
SETTLE_ATTEMPTS = 25
CENT = Decimal("0.01")


def policy_year_start(policy: PolicyRecord, day: dt.date) -> dt.date:
    """First day of the policy year that contains ``day`` (the policy renews tacitly each year)."""
    start = policy.start_date
    years = max(0, day.year - start.year + 1)
    for n in range(years, -1, -1):
        try:
            candidate = start.replace(year=start.year + n)
        except ValueError:  # 29 February
            candidate = dt.date(start.year + n, 3, 1)
        if candidate <= day:
            return candidate
    return start


def effective_terms(
    policy: PolicyRecord, buyer: BuyerRecord, invoice_date: dt.date, used: YearUsage | None = None
) -> dict[str, Any]:
    """The frozen terms, the policy's period and the buyer's limit that applied on ``invoice_date``.

    With ``used`` (the buyer's earlier settlements in the policy year), what is left of the
    buyer's limit or automatic threshold, and of the deductible, once per buyer and year.
    """
    terms = dict(policy.terms)
    year = policy_year_start(policy, invoice_date)
    terms["policy_start"] = policy.start_date.isoformat()
    try:
        next_year = year.replace(year=year.year + 1)
    except ValueError:  # pragma: no cover - 29 February
        next_year = dt.date(year.year + 1, 3, 1)
    terms["policy_end"] = max(policy.end_date, next_year - dt.timedelta(days=1)).isoformat()
    # Only decided limits count: the quote's named limits were the simulation's assumptions
    # (nobody granted them), so a buyer without a decision is left to the automatic cover.
    limit = buyer.limit_on(invoice_date)
    if used is not None and (used.cover or used.deductible):
        if limit is not None:
            limit = _left(limit, used.cover)
        terms["automatic_threshold"] = str(
            _left(Decimal(str(terms.get("automatic_threshold") or 0)), used.cover)
        )
        terms["deductible"] = str(_left(Decimal(str(terms.get("deductible") or 0)), used.deductible))
    terms["named_limits"] = (
        [] if limit is None else [{"buyer": buyer.name, "zone": buyer.zone, "limit": str(limit)}]
    )
    return terms


def _left(amount: Decimal, used: Decimal) -> Decimal:
    return max(Decimal("0.00"), amount - used).quantize(CENT)


def _engine_invoice(
    claim_id: str, buyer: BuyerRecord, invoice: dict[str, Any], declared_on: dt.date
) -> dict[str, Any]:
    return {
        "id": claim_id,
        "buyer": {"name": buyer.name, "zone": buyer.zone, "public": buyer.public},
        "amount": invoice["amount"],
        "vat_included": invoice["vat_included"],
        "invoice_date": invoice["invoice_date"],
        "due_date": invoice["due_date"],
        "extension_days": invoice["extension_days"],
        "event": invoice["event"],
        "declared_on": declared_on.isoformat(),
    }


def _run_settle(terms: dict[str, Any], invoice: dict[str, Any], paid: Decimal) -> dict[str, Any]:
    """The engine's settlement of one invoice; its request errors become 422 on the declaration's fields."""
    response = engine.settle(terms, [invoice], paid)
    if not response["ok"]:
        error = response["error"]
        path = str(error.get("field") or "")
        path = path.removeprefix("invoices[0].").replace("declared_on", "invoice_date")
        raise Unprocessable(
            "validation_error", "La déclaration est incohérente.", [FieldError(path, error["message"])]
        )
    return response["result"]


def _entry(
    identity: Identity | None, action: str, status: str, now: dt.datetime, **detail: Any
) -> dict[str, Any]:
    if identity is None:
        by_role, by = "system", "system"
    else:
        by_role, by = ("staff" if "staff" in identity.groups else "owner"), identity.sub
    return {
        "at": iso(now),
        "by_role": by_role,
        "by": by,
        "action": action,
        "status": status,
        "detail": detail,
    }


def claim_out(c: ClaimRecord) -> ClaimOut:
    """The API view of a claim."""
    return ClaimOut(
        claim_id=c.claim_id,
        policy_id=c.policy_id,
        buyer_id=c.buyer_id,
        buyer_name=c.buyer_name,
        status=c.status,  # type: ignore[arg-type]
        created_at=c.created_at,
        declared_on=c.declared_on,
        policy_year=dt.date.fromisoformat(c.policy_year),
        invoice=c.invoice,
        eligible=bool(c.assessment["eligible"]),
        reasons=[ReasonOut.model_validate(r) for r in c.assessment["reasons"]],
        timeline=c.assessment["timeline"],
        recovered=str(c.recovered_total().quantize(CENT)),
        recoveries=[RecoveryOut.model_validate(r) for r in c.recoveries],
        indemnity=None if c.indemnity is None else str(c.indemnity),
        settlement=c.settlement,
        rejection_reason=c.reason,
        history=[HistoryOut.model_validate(h) for h in c.history],
    )


def declare(identity: Identity, policy_id: str, data: DeclarationIn, now: dt.datetime) -> ClaimOut:
    """Record an overdue declaration; the terms decide at once (rejected ones are kept with the reasons)."""
    svc = services.get()
    policy = get_visible_policy(identity, policy_id)
    if policy.status != "active":
        raise Conflict("policy_not_active", "Le contrat n'est pas actif.")
    buyer = svc.buyers.get(policy.policy_id, data.buyer_id)
    if buyer is None:
        raise Unprocessable(
            "validation_error",
            "La demande contient des champs invalides.",
            [FieldError("buyer_id", "client inconnu sur ce contrat : désignez-le d'abord")],
        )
    today = clock.today_paris(now)
    event: dict[str, Any]
    if data.event is not None:
        event = {"type": data.event.type}
        if data.event.date is not None:
            event["date"] = data.event.date.isoformat()
    else:
        entry = svc.register.get(buyer.identifier)
        judgment = entry.insolvency() if entry else None
        event = (
            {"type": "insolvency", "date": judgment["date"]} if judgment else {"type": "protracted_default"}
        )
    if event["type"] == "insolvency" and dt.date.fromisoformat(event["date"]) > today:
        raise Unprocessable(
            "validation_error",
            "La demande contient des champs invalides.",
            [FieldError("event.date", "le jugement ne peut pas être dans le futur")],
        )
    if (
        event["type"] == "protracted_default"
        and data.due_date + dt.timedelta(days=data.extension_days) >= today
    ):
        raise Unprocessable(
            "not_overdue",
            "La facture n'est pas encore échue : déclarez-la après son échéance (prorogation comprise).",
            [FieldError("due_date", "échéance non dépassée")],
        )
    if data.invoice_date > today:
        raise Unprocessable(
            "validation_error",
            "La demande contient des champs invalides.",
            [FieldError("invoice_date", "la facture ne peut pas être datée du futur")],
        )
    invoice = {
        "invoice_number": data.invoice_number,
        "invoice_date": data.invoice_date.isoformat(),
        "due_date": data.due_date.isoformat(),
        "amount": str(data.amount),
        "vat_included": data.vat_included,
        "extension_days": data.extension_days,
        "event": event,
    }
    claim_id = f"SIN-{today.year}-{secrets.token_hex(5).upper()}"
    result = _run_settle(
        effective_terms(policy, buyer, data.invoice_date),
        _engine_invoice(claim_id, buyer, invoice, today),
        Decimal("0"),
    )
    row = result["invoices"][0]
    blocking = [r for r in row["reasons"] if r["blocking"]]
    assessment = {
        "eligible": row["eligible"],
        "reasons": blocking,
        "timeline": row["timeline"],  # the engine's dates, the expected payment included
    }
    history = [_entry(identity, "declared", "declared", now, invoice_number=data.invoice_number)]
    if row["eligible"]:
        status, reason = "collection", None
        history.append(_entry(None, "collection_started", status, now))
    else:
        status = "rejected"
        reason = " ".join(r["message"] for r in blocking)
        history.append(_entry(None, "rejected", status, now, reasons=[r["code"] for r in blocking]))
    claim = ClaimRecord(
        claim_id=claim_id,
        policy_id=policy.policy_id,
        owner_sub=policy.owner_sub or "",
        buyer_id=buyer.buyer_id,
        buyer_name=buyer.name,
        status=status,
        created_at=now,
        declared_on=today,
        policy_year=policy_year_start(policy, data.invoice_date).isoformat(),
        invoice=invoice,
        assessment=assessment,
        history=history,
        reason=reason,
    )
    try:
        svc.claims.create(claim)
    except InvoiceAlreadyDeclared as exc:
        raise Conflict(
            "invoice_already_declared",
            f"La facture {data.invoice_number} de ce client est déjà déclarée (dossier {exc.args[0]}).",
            [FieldError("invoice_number", "facture déjà déclarée sur ce contrat")],
        ) from None
    notify.claim_step(claim)
    return claim_out(claim)


def get_visible_claim(identity: Identity, claim_id: str) -> ClaimRecord:
    """The claim for staff or its owner; 404 otherwise."""
    claim = services.get().claims.get(claim_id) if 0 < len(claim_id) <= 64 else None
    if claim is None or not (
        "staff" in identity.groups or (claim.owner_sub and claim.owner_sub == identity.sub)
    ):
        raise NotFound("claim_not_found", "Sinistre introuvable.")
    return claim


def _state_conflict(claim: ClaimRecord, action: str) -> Conflict:
    return Conflict(
        "claim_state_conflict",
        f"Action « {action} » impossible : le dossier est au statut « {claim.status} ».",
    )


def _update(
    identity: Identity,
    claim_id: str,
    allowed: tuple[str, ...],
    action: str,
    change: Any,
) -> ClaimOut:
    """Read, check the status, apply ``change(claim) -> (changes, entry)`` on condition of the version; retry if it moved."""
    svc = services.get()
    for _ in range(5):
        claim = get_visible_claim(identity, claim_id)
        if claim.status not in allowed:
            raise _state_conflict(claim, action)
        changes, entry = change(claim)
        try:
            svc.claims.update(claim, changes, entry)
        except StaleClaim:
            continue
        fresh = svc.claims.get(claim.claim_id)
        assert fresh is not None
        notify.claim_step(fresh)
        return claim_out(fresh)
    raise Conflict("claim_busy", "Le dossier vient d'être modifié : réessayez.", headers={"Retry-After": "1"})


def establish(identity: Identity, claim_id: str, now: dt.datetime) -> ClaimOut:
    """Collection -> claim established: on an insolvency judgment, or once the waiting period is over."""
    today = clock.today_paris(now)

    def change(claim: ClaimRecord) -> tuple[dict[str, Any], dict[str, Any]]:
        event = claim.invoice["event"]
        basis, on = None, None
        if event["type"] == "insolvency":
            basis, on = "insolvency_judgment", event["date"]
        else:
            judgment = None
            buyer = services.get().buyers.get(claim.policy_id, claim.buyer_id)
            if buyer is not None:
                entry = services.get().register.get(buyer.identifier)
                judgment = entry.insolvency() if entry else None
            if judgment and dt.date.fromisoformat(judgment["date"]) <= today:
                basis, on = "insolvency_judgment", judgment["date"]
            elif claim.assessment["timeline"].get("claim_established") and today >= dt.date.fromisoformat(
                claim.assessment["timeline"]["claim_established"]
            ):
                basis, on = "waiting_period_over", claim.assessment["timeline"]["claim_established"]
        if basis is None:
            raise Conflict(
                "claim_not_established",
                "Le sinistre n'est pas encore constitué : ni jugement d'ouverture, ni fin du délai constitutif "
                f"(le {claim.assessment['timeline'].get('claim_established')}).",
            )
        return {"status": "claim_established"}, _entry(
            identity, "established", "claim_established", now, basis=basis, date=on
        )

    return _update(identity, claim_id, ("collection",), "constituer le sinistre", change)


def reject(identity: Identity, claim_id: str, reason: str, now: dt.datetime) -> ClaimOut:
    """Reject a claim with a reason (staff)."""

    def change(claim: ClaimRecord) -> tuple[dict[str, Any], dict[str, Any]]:
        return {"status": "rejected", "reason": reason}, _entry(
            identity, "rejected", "rejected", now, reason=reason
        )

    return _update(identity, claim_id, ("collection", "claim_established"), "refuser", change)


def record_recovery(identity: Identity, claim_id: str, data: RecoveryIn, now: dt.datetime) -> ClaimOut:
    """Record an amount recovered; after an indemnity it is shared at the indemnity percentage."""

    def change(claim: ClaimRecord) -> tuple[dict[str, Any], dict[str, Any]]:
        amount = Decimal(claim.invoice["amount"])
        if claim.recovered_total() + data.amount > amount:
            raise Unprocessable(
                "validation_error",
                "La demande contient des champs invalides.",
                [FieldError("amount", f"dépasse le reste dû ({amount - claim.recovered_total()} euros)")],
            )
        after = claim.status == "indemnified"
        if after:
            pct = Decimal(str((claim.settlement or {}).get("indemnity_pct", "0")))
            insurer = (data.amount * pct / 100).quantize(CENT, ROUND_HALF_UP)
        else:
            insurer = Decimal("0.00")
        recovery = {
            "amount": str(data.amount),
            "date": data.date.isoformat(),
            "recorded_at": iso(now),
            "after_indemnity": after,
            "insurer_share": str(insurer),
            "owner_share": str(data.amount - insurer),
        }
        fully = claim.recovered_total() + data.amount == amount
        status = "recovered" if fully and not after else claim.status
        changes: dict[str, Any] = {"recoveries": [*claim.recoveries, recovery]}
        if status != claim.status:
            changes["status"] = status
        return changes, _entry(identity, "recovery", status, now, **recovery)

    return _update(
        identity, claim_id, ("collection", "claim_established", "indemnified"), "encaisser", change
    )


def settle(identity: Identity, claim_id: str, now: dt.datetime) -> ClaimOut:
    """Settle an established claim with the engine, within the policy year's maximum liability.

    The claim (at the version read) and the policy-year counter (at the paid total given to the
    engine) are written in one transaction; if either moved, everything is read and computed again.
    """
    svc = services.get()
    for attempt in range(SETTLE_ATTEMPTS):
        claim = get_visible_claim(identity, claim_id)
        if claim.status != "claim_established":
            raise _state_conflict(claim, "indemniser")
        policy = svc.policies.get(claim.policy_id)
        buyer = svc.buyers.get(claim.policy_id, claim.buyer_id)
        if policy is None or buyer is None:  # pragma: no cover - never deleted
            raise NotFound("claim_not_found", "Sinistre introuvable.")
        invoice_date = dt.date.fromisoformat(claim.invoice["invoice_date"])
        usage = svc.claims.year_usage(claim.policy_id, claim.policy_year, claim.buyer_id)
        terms = effective_terms(policy, buyer, invoice_date, usage)
        paid = usage.paid
        invoice = _engine_invoice(claim.claim_id, buyer, claim.invoice, claim.declared_on)
        recovered = claim.recovered_before_indemnity()
        if recovered:
            invoice["recovered"] = str(recovered)
        result = _run_settle(terms, invoice, paid)
        row = result["invoices"][0]
        if not row["eligible"]:
            raise Conflict(
                "claim_not_eligible",
                "Le sinistre n'est plus garanti : "
                + " ".join(r["message"] for r in row["reasons"] if r["blocking"]),
            )
        indemnity = Decimal(row["indemnity"])
        settlement = {
            **row,
            "indemnity_pct": result["indemnity_pct"],
            "paid_this_year_before": result["totals"]["paid_this_year_before"],
            "paid_this_year_after": result["totals"]["paid_this_year_after"],
            "max_liability": result["totals"]["max_liability"],
            "remaining_liability": result["totals"]["remaining_liability"],
            "tariff_version": terms.get("tariff_version"),
            "settled_at": iso(now),
            # The buyer's earlier settlements this policy year: limit and deductible apply once.
            "buyer_cover_used_before": str(usage.cover),
            "buyer_deductible_used_before": str(usage.deductible),
        }
        entry = _entry(identity, "indemnified", "indemnified", now, indemnity=str(indemnity))
        changes = {"status": "indemnified", "indemnity": indemnity, "settlement": settlement}
        try:
            svc.claims.settle(claim, changes, entry, usage, Decimal(result["totals"]["max_liability"]))
        except StaleClaim:
            continue  # the next read sees the new status, or retries on a concurrent recovery
        except CounterMoved:
            time.sleep(random.uniform(0, 0.01 * (attempt + 1)))
            continue
        fresh = svc.claims.get(claim.claim_id)
        assert fresh is not None
        notify.claim_step(fresh)
        return claim_out(fresh)
    raise Conflict(
        "settlement_busy",
        "D'autres règlements sont en cours sur ce contrat : réessayez dans un instant.",
        headers={"Retry-After": "1"},
    )


def list_for_policy(identity: Identity, policy_id: str, limit: int, cursor: str | None) -> ClaimList:
    """Claims of a policy, for its owner or staff."""
    policy = get_visible_policy(identity, policy_id)
    page = services.get().claims.list_by_policy(policy.policy_id, limit, cursor)
    return ClaimList(items=[claim_out(c) for c in page.items], next_token=page.next_token)


def list_by_status(status: str, limit: int, cursor: str | None) -> ClaimList:
    """Claims in ``status`` (staff)."""
    page = services.get().claims.list_by_status(status, limit, cursor)
    return ClaimList(items=[claim_out(c) for c in page.items], next_token=page.next_token)
