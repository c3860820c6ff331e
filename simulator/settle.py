"""Settle unpaid invoices under a policy's frozen terms.

The same function serves the simulator's what-if and the API's real
settlements. Invoices are taken in the order their claims are established,
so the yearly maximum liability, the credit limits and the per-claim
deductible are consumed the way a claims handler would consume them.

>>> from .tariff import load_tariff
>>> t = load_tariff()
>>> terms = {"formula": "essentielle", "indemnity_pct": "60", "automatic_cover": True,
...     "automatic_threshold": "7500", "deductible": "500", "max_liability": "30000"}
>>> r = settle_request({"terms": terms, "invoices": [{"id": "F1", "buyer": "Dupont SARL",
...     "amount": "6000", "invoice_date": "2026-01-10", "due_date": "2026-03-10",
...     "event": {"type": "insolvency", "date": "2026-04-02"}, "declared_on": "2026-04-05"}]}, t)
>>> inv = r["invoices"][0]
>>> inv["eligible"], inv["indemnity"], inv["timeline"]["claim_established"]
(True, '3300.00', '2026-04-02')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .errors import InvalidCombination, InvalidValue
from .fields import (
    join,
    read_bool,
    read_choice,
    read_date,
    read_decimal,
    read_int,
    read_list,
    read_str,
    reject_unknown,
    require_object,
)
from .money import ZERO, cents, fr_money, money_str
from .profile import ZONES
from .tariff import FORMULAS, Tariff

__all__ = [
    "Invoice",
    "Terms",
    "buyer_blocking",
    "cover_limit",
    "indemnity_due",
    "parse_invoice",
    "parse_terms",
    "settle",
    "settle_request",
]

_MAX_AMOUNT = Decimal("100000000")
_TERMS_FIELDS = (
    "formula",
    "tariff_version",
    "indemnity_pct",
    "automatic_cover",
    "automatic_threshold",
    "named_limits",
    "covered_zones",
    "max_credit_days",
    "declaration_deadline_days",
    "insolvency_declaration_days",
    "waiting_period_days",
    "max_extension_days",
    "payment_delay_days",
    "deductible",
    "liability_multiple",
    "max_liability",
    "public_buyers",
    "collection",
    "litigation",
    "monitoring",
    "vat_rate",
    "exclusions",
    "policy_start",
    "policy_end",
)
_INVOICE_FIELDS = (
    "id",
    "buyer",
    "amount",
    "vat_included",
    "vat_rate",
    "invoice_date",
    "due_date",
    "event",
    "declared_on",
    "extension_days",
    "disputed",
    "recovered",
)
_BUYER_FIELDS = ("name", "zone", "public", "affiliated", "private_person")
_SETTLE_FIELDS = ("op", "tariff_version", "terms", "invoices", "paid_this_year")

# Messages of the reasons, French for the owner; ``blocking`` ones mean no indemnity.
_REASONS: dict[str, tuple[bool, str]] = {
    "public_buyer": (True, "Acheteur public : exclu sauf si l'option acheteurs publics est souscrite."),
    "affiliated": (True, "Société du même groupe que vous : exclue de la garantie."),
    "private_person": (True, "Client particulier : seules les créances sur des entreprises sont garanties."),
    "zone_not_covered": (True, "Client situé hors des zones couvertes par votre contrat."),
    "disputed_debt": (True, "Créance contestée : pas d'indemnisation tant que le litige n'est pas réglé."),
    "outside_policy_period": (True, "Facture émise hors de la période de validité du contrat."),
    "beyond_max_credit_period": (
        True,
        "Délai de paiement de la facture au-delà de la durée maximale de crédit.",
    ),
    "extension_too_long": (
        True,
        "Prorogation d'échéance plus longue que celle permise sans accord de l'assureur.",
    ),
    "late_declaration": (True, "Déclaration faite après la date limite : la créance n'est plus garantie."),
    "delivery_after_insolvency": (
        True,
        "Facture émise après le jugement d'ouverture de la procédure collective.",
    ),
    "limit_refused": (True, "L'assureur a refusé toute limite de crédit sur ce client."),
    "buyer_not_named": (True, "Client non désigné : votre formule ne garantit que les clients désignés."),
    "over_limit": (
        False,
        "Créance supérieure à la limite de crédit ou au seuil de garantie automatique : seul le montant couvert est indemnisé.",
    ),
    "deductible": (False, "Franchise par sinistre déduite."),
    "max_liability_reached": (
        False,
        "Plafond annuel d'indemnisation atteint : l'indemnité est réduite d'autant.",
    ),
}


@dataclass(frozen=True, slots=True)
class Terms:
    """The settlement rules of a policy, frozen at quote time."""

    formula: str
    tariff_version: str
    indemnity_pct: Decimal
    automatic_cover: bool
    automatic_threshold: Decimal
    named_limits: Mapping[str, Decimal]
    covered_zones: tuple[str, ...]
    max_credit_days: Mapping[str, int]
    declaration_deadline_days: int
    insolvency_declaration_days: int
    waiting_period_days: int
    max_extension_days: int
    payment_delay_days: int
    deductible: Decimal
    max_liability: Decimal
    public_buyers: bool
    vat_rate: Decimal
    policy_start: dt.date | None
    policy_end: dt.date | None


@dataclass(frozen=True, slots=True)
class Invoice:
    """One unpaid invoice as declared."""

    id: str
    buyer: str
    zone: str
    public: bool
    affiliated: bool
    private_person: bool
    amount: Decimal
    vat_included: bool
    vat_rate: Decimal
    invoice_date: dt.date
    due_date: dt.date
    event_type: str
    event_date: dt.date | None
    declared_on: dt.date
    extension_days: int
    disputed: bool
    recovered: Decimal

    def excl_vat(self, amount: Decimal) -> Decimal:
        """``amount`` without VAT, to the cent (indemnities are computed excl. VAT)."""
        return cents(amount / (1 + self.vat_rate)) if self.vat_included else amount

    @property
    def effective_due(self) -> dt.date:
        """The due date after any extension granted."""
        return self.due_date + dt.timedelta(days=self.extension_days)


def parse_terms(raw: Any, tariff: Tariff, path: str = "terms") -> Terms:
    """Check frozen terms (as :func:`simulator.pricing.build_terms` writes them)."""
    obj = require_object(raw, path)
    reject_unknown(obj, _TERMS_FIELDS, path)
    claims = tariff["claims"]
    limits_path = join(path, "named_limits")
    limits: dict[str, Decimal] = {}
    for i, item in enumerate(read_list(obj, "named_limits", path, default=[], max_items=200)):
        item_path = join(limits_path, i)
        entry = require_object(item, item_path)
        reject_unknown(entry, ("buyer", "zone", "grade", "requested", "limit", "status"), item_path)
        name = read_str(entry, "buyer", item_path, max_length=120)
        limits[name.casefold()] = read_decimal(entry, "limit", item_path, low=0, high=_MAX_AMOUNT)
    zones = read_list(obj, "covered_zones", path, default=["france"], max_items=3)
    for i, zone in enumerate(zones):
        if zone not in ZONES:
            raise InvalidValue(
                join(join(path, "covered_zones"), i), "zone inconnue ; zones : " + ", ".join(ZONES)
            )
    credit_path = join(path, "max_credit_days")
    credit = require_object(obj.get("max_credit_days") or {}, credit_path)
    reject_unknown(credit, ZONES, credit_path)
    max_credit = {
        z: read_int(credit, z, credit_path, default=tariff["zones"][z]["max_credit_days"], low=0, high=365)
        for z in ZONES
    }
    start = read_date(obj, "policy_start", path, default=None) if obj.get("policy_start") else None
    end = read_date(obj, "policy_end", path, default=None) if obj.get("policy_end") else None
    if start and end and end < start:
        raise InvalidCombination(join(path, "policy_end"), "la fin du contrat précède son début")
    return Terms(
        formula=read_choice(obj, "formula", path, FORMULAS),
        tariff_version=tariff.version,
        indemnity_pct=read_decimal(obj, "indemnity_pct", path, low=0, high=100),
        automatic_cover=read_bool(obj, "automatic_cover", path, default=False),
        automatic_threshold=read_decimal(
            obj, "automatic_threshold", path, default=ZERO, low=0, high=_MAX_AMOUNT
        ),
        named_limits=limits,
        covered_zones=tuple(zones),
        max_credit_days=max_credit,
        declaration_deadline_days=read_int(
            obj,
            "declaration_deadline_days",
            path,
            default=claims["declaration_deadline_days"],
            low=0,
            high=365,
        ),
        insolvency_declaration_days=read_int(
            obj,
            "insolvency_declaration_days",
            path,
            default=claims["insolvency_declaration_days"],
            low=0,
            high=365,
        ),
        waiting_period_days=read_int(
            obj, "waiting_period_days", path, default=claims["waiting_period_days"], low=0, high=730
        ),
        max_extension_days=read_int(
            obj, "max_extension_days", path, default=claims["max_extension_days"], low=0, high=365
        ),
        payment_delay_days=read_int(
            obj, "payment_delay_days", path, default=claims["payment_delay_days"], low=0, high=365
        ),
        deductible=read_decimal(obj, "deductible", path, default=ZERO, low=0, high=_MAX_AMOUNT),
        max_liability=read_decimal(obj, "max_liability", path, low=0, high=_MAX_AMOUNT),
        public_buyers=read_bool(obj, "public_buyers", path, default=False),
        vat_rate=read_decimal(obj, "vat_rate", path, default=tariff["vat_rate"], low=0, high=1),
        policy_start=start,
        policy_end=end,
    )


def parse_invoice(raw: Any, terms: Terms, path: str) -> Invoice:
    """Check one invoice; impossible dates are errors, late ones are reasons."""
    obj = require_object(raw, path)
    reject_unknown(obj, _INVOICE_FIELDS, path)
    buyer_path = join(path, "buyer")
    raw_buyer = obj.get("buyer")
    buyer: Mapping[str, Any] = {}
    if isinstance(raw_buyer, str):
        name = read_str(obj, "buyer", path, max_length=120)
    else:
        buyer = require_object(raw_buyer, buyer_path)
        reject_unknown(buyer, _BUYER_FIELDS, buyer_path)
        name = read_str(buyer, "name", buyer_path, max_length=120)
    amount = read_decimal(obj, "amount", path, low=0, high=_MAX_AMOUNT, low_open=True)
    invoice_date = read_date(obj, "invoice_date", path)
    due_date = read_date(obj, "due_date", path)
    if due_date < invoice_date:
        raise InvalidCombination(join(path, "due_date"), "l'échéance précède la date de la facture")
    declared_on = read_date(obj, "declared_on", path)
    if declared_on < invoice_date:
        raise InvalidCombination(join(path, "declared_on"), "la déclaration précède la date de la facture")
    event_path = join(path, "event")
    event = require_object(obj.get("event"), event_path)
    reject_unknown(event, ("type", "date"), event_path)
    event_type = read_choice(event, "type", event_path, ("insolvency", "protracted_default"))
    if event_type == "insolvency":
        event_date: dt.date | None = read_date(event, "date", event_path)
    else:
        event_date = read_date(event, "date", event_path, default=None) if event.get("date") else None
        if event_date is not None and event_date < due_date:
            raise InvalidCombination(
                join(event_path, "date"), "un défaut de paiement ne peut précéder l'échéance"
            )
    recovered = read_decimal(obj, "recovered", path, default=ZERO, low=0, high=amount)
    return Invoice(
        id=read_str(obj, "id", path, max_length=64),
        buyer=name,
        zone=read_choice(buyer, "zone", buyer_path, ZONES, default="france"),
        public=read_bool(buyer, "public", buyer_path, default=False),
        affiliated=read_bool(buyer, "affiliated", buyer_path, default=False),
        private_person=read_bool(buyer, "private_person", buyer_path, default=False),
        amount=amount,
        vat_included=read_bool(obj, "vat_included", path, default=False),
        vat_rate=read_decimal(obj, "vat_rate", path, default=terms.vat_rate, low=0, high=1),
        invoice_date=invoice_date,
        due_date=due_date,
        event_type=event_type,
        event_date=event_date,
        declared_on=declared_on,
        extension_days=read_int(obj, "extension_days", path, default=0, low=0, high=365),
        disputed=read_bool(obj, "disputed", path, default=False),
        recovered=recovered,
    )


def _timeline(inv: Invoice, terms: Terms) -> tuple[dt.date, dt.date]:
    """Declaration deadline and the date the claim is established."""
    due = inv.effective_due
    deadline = due + dt.timedelta(days=terms.declaration_deadline_days)
    if inv.event_type == "insolvency":
        assert inv.event_date is not None
        deadline = min(deadline, inv.event_date + dt.timedelta(days=terms.insolvency_declaration_days))
        established = inv.event_date
    else:
        established = due + dt.timedelta(days=terms.waiting_period_days)
    return deadline, established


def _blocking_reasons(inv: Invoice, terms: Terms, deadline: dt.date) -> list[str]:
    codes = []
    if inv.public and not terms.public_buyers:
        codes.append("public_buyer")
    if inv.affiliated:
        codes.append("affiliated")
    if inv.private_person:
        codes.append("private_person")
    if inv.zone not in terms.covered_zones:
        codes.append("zone_not_covered")
    if inv.disputed:
        codes.append("disputed_debt")
    if (terms.policy_start and inv.invoice_date < terms.policy_start) or (
        terms.policy_end and inv.invoice_date > terms.policy_end
    ):
        codes.append("outside_policy_period")
    if (inv.due_date - inv.invoice_date).days > terms.max_credit_days[inv.zone]:
        codes.append("beyond_max_credit_period")
    if inv.extension_days > terms.max_extension_days:
        codes.append("extension_too_long")
    if inv.declared_on > deadline:
        codes.append("late_declaration")
    if inv.event_type == "insolvency" and inv.event_date is not None and inv.event_date < inv.invoice_date:
        codes.append("delivery_after_insolvency")
    return [*codes, *buyer_blocking(terms, inv.buyer, inv.zone, zone_checked=True)]


def buyer_blocking(terms: Terms, name: str, zone: str, *, zone_checked: bool = False) -> list[str]:
    """Reasons why no claim on this buyer can be paid, whatever the invoice."""
    codes = [] if zone_checked or zone in terms.covered_zones else ["zone_not_covered"]
    key = name.casefold()
    if key in terms.named_limits:
        if terms.named_limits[key] == 0:
            codes.append("limit_refused")
    elif not terms.automatic_cover:
        codes.append("buyer_not_named")
    return codes


def cover_limit(terms: Terms, name: str) -> Decimal:
    """Most the policy covers on one buyer: its named limit, else the automatic threshold."""
    return terms.named_limits.get(name.casefold(), terms.automatic_threshold)


def indemnity_due(terms: Terms, covered: Decimal, deductible: Decimal) -> Decimal:
    """Indemnity on a covered amount after the deductible, before the yearly cap."""
    return cents((covered - deductible) * terms.indemnity_pct / 100)


def _reason(code: str, detail: str = "") -> dict[str, Any]:
    blocking, message = _REASONS[code]
    return {"code": code, "blocking": blocking, "message": f"{message} {detail}".strip()}


def settle(terms: Terms, invoices: list[Invoice], paid_this_year: Decimal) -> dict[str, Any]:
    """Indemnity of each invoice and totals, never above the yearly maximum liability."""
    timelines = {inv.id: _timeline(inv, terms) for inv in invoices}
    order = sorted(range(len(invoices)), key=lambda i: (timelines[invoices[i].id][1], i))
    cover_left: dict[str, Decimal] = {}
    deductible_left: dict[str, Decimal] = {}
    paid = paid_this_year
    results: dict[int, dict[str, Any]] = {}
    for i in order:
        inv = invoices[i]
        deadline, established = timelines[inv.id]
        loss = inv.excl_vat(inv.amount) - inv.excl_vat(inv.recovered)
        codes = _blocking_reasons(inv, terms, deadline)
        reasons = [_reason(c) for c in codes]
        covered = deductible = indemnity = ZERO
        capped = False
        if not codes:
            key = inv.buyer.casefold()
            left = cover_left.setdefault(key, cover_limit(terms, inv.buyer))
            covered = min(loss, left)
            cover_left[key] = left - covered
            if covered < loss:
                reasons.append(_reason("over_limit", f"Montant couvert : {fr_money(covered)}."))
            deductible = min(deductible_left.setdefault(key, terms.deductible), covered)
            deductible_left[key] -= deductible
            if deductible:
                reasons.append(_reason("deductible", f"Montant : {fr_money(deductible)}."))
            due = indemnity_due(terms, covered, deductible)
            indemnity = min(due, max(ZERO, terms.max_liability - paid))
            capped = indemnity < due
            if capped:
                reasons.append(
                    _reason("max_liability_reached", f"Indemnité réduite de {fr_money(due - indemnity)}.")
                )
            paid += indemnity
        eligible = not codes
        payment = max(established, inv.declared_on) + dt.timedelta(days=terms.payment_delay_days)
        results[i] = {
            "id": inv.id,
            "buyer": inv.buyer,
            "eligible": eligible,
            "reasons": reasons,
            "amount_excl_vat": money_str(inv.excl_vat(inv.amount)),
            "recovered_excl_vat": money_str(inv.excl_vat(inv.recovered)),
            "loss": money_str(loss),
            "covered_amount": money_str(covered),
            "deductible_applied": money_str(deductible),
            "indemnity": money_str(indemnity),
            "capped_by_max_liability": capped,
            "kept_loss": money_str(loss - indemnity),
            "timeline": {
                "due_date": inv.due_date.isoformat(),
                "effective_due_date": inv.effective_due.isoformat(),
                "declaration_deadline": deadline.isoformat(),
                "declared_on": inv.declared_on.isoformat(),
                "claim_established": established.isoformat() if eligible else None,
                "expected_payment": payment.isoformat() if eligible else None,
            },
        }
    rows = [results[i] for i in range(len(invoices))]

    def total(key: str) -> str:
        return money_str(sum((Decimal(r[key]) for r in rows), ZERO))

    return {
        "formula": terms.formula,
        "indemnity_pct": str(terms.indemnity_pct),
        "invoices": rows,
        "totals": {
            "loss": total("loss"),
            "covered_amount": total("covered_amount"),
            "deductible_applied": total("deductible_applied"),
            "indemnity": total("indemnity"),
            "kept_loss": total("kept_loss"),
            "eligible_invoices": sum(1 for r in rows if r["eligible"]),
            "paid_this_year_before": money_str(paid_this_year),
            "paid_this_year_after": money_str(paid),
            "max_liability": money_str(terms.max_liability),
            "remaining_liability": money_str(max(ZERO, terms.max_liability - paid)),
        },
    }


def settle_request(request: Mapping[str, Any], tariff: Tariff) -> dict[str, Any]:
    """The ``settle`` operation."""
    reject_unknown(request, _SETTLE_FIELDS, "")
    terms = parse_terms(request.get("terms"), tariff)
    raw_invoices = read_list(request, "invoices", "", max_items=500)
    invoices = [parse_invoice(raw, terms, join("invoices", i)) for i, raw in enumerate(raw_invoices)]
    seen: set[str] = set()
    for i, inv in enumerate(invoices):
        if inv.id in seen:
            raise InvalidValue(join(join("invoices", i), "id"), f"la facture « {inv.id} » figure deux fois")
        seen.add(inv.id)
    paid = read_decimal(request, "paid_this_year", "", default=ZERO, low=0, high=_MAX_AMOUNT)
    return settle(terms, invoices, paid)
