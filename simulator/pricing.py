"""Price one formula for one profile and explain the price factor by factor.

The net premium is built step by step from the insured turnover; each step
is rounded to the cent, so the effects of the explanation add up exactly to
the net premium. Every step is a non-decreasing function of the running
amount, which keeps the premium monotone in turnover, sector risk, past
losses, indemnity percentage and maximum liability.

>>> from .tariff import load_tariff
>>> r = quote_request({"profile": {"turnover": 1000000, "sector": "services"}}, load_tariff())
>>> r["premium"]["net"], r["insured_turnover"], r["minimum_applied"]
('1470.71', '1000000.00', False)
>>> sum(Decimal(s["effect"]) for s in r["explanation"]) == Decimal(r["premium"]["net"])
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .errors import InvalidCombination
from .fields import fmt_number, join, reject_unknown
from .money import ZERO, Premium, cents, euros_up, fr_money, money_str
from .options import Options, estimated_outstanding, parse_options
from .profile import ZONES, Profile, parse_profile, pct
from .tariff import Tariff

__all__ = ["Quote", "build_terms", "insured_segments", "price", "quote_request"]

_FACTOR = Decimal("0.0001")
_ONE = Decimal(1)
_QUOTE_FIELDS = ("op", "tariff_version", "profile", "options")


def _factor(value: Decimal) -> Decimal:
    return value.quantize(_FACTOR, rounding=ROUND_HALF_UP)


def _fr(value: Decimal) -> str:
    """A number in French notation for labels."""
    return fmt_number(value).replace(".", ",")


@dataclass
class _Ledger:
    """The running net premium and the explanation that builds it."""

    running: Decimal = ZERO
    steps: list[dict[str, str]] = field(default_factory=list)

    def add(self, factor: str, label: str, value: str, effect: Decimal) -> None:
        self.running += effect
        self.steps.append({"factor": factor, "label": label, "value": value, "effect": money_str(effect)})

    def scale(self, factor: str, label: str, multiplier: Decimal) -> None:
        multiplier = _factor(multiplier)
        self.add(factor, label, f"× {_fr(multiplier)}", cents(self.running * multiplier) - self.running)


@dataclass(frozen=True)
class Quote:
    """A priced formula: premium, explanation, fees and the terms it grants."""

    options: Options
    insured_turnover: Decimal
    segments: Mapping[str, Decimal]
    premium: Premium
    minimum_applied: bool
    explanation: list[dict[str, str]]
    fees: list[dict[str, str]]
    terms: dict[str, Any]


def insured_segments(profile: Profile, options: Options, tariff: Tariff) -> dict[str, Decimal]:
    """Insured turnover by segment (``france``, ``eu``, ``world``, ``public``)."""
    segments = dict.fromkeys((*ZONES, "public"), Decimal(0))
    if tariff.formula(options.formula)["named_limits"] == "listed":
        for buyer in options.named_buyers:
            segments[buyer.zone] += buyer.share * profile.turnover
    else:
        for zone in ZONES:
            if options.covers_zone(zone):
                segments[zone] = profile.zone_sales(zone)
        if options.public_buyers:
            segments["public"] = profile.public_sales
    return segments


def _named_limits(profile: Profile, options: Options, tariff: Tariff) -> list[dict[str, Any]]:
    rounding = tariff["named_limits"]["rounding"]
    limits = []
    for buyer in options.named_buyers:
        requested = euros_up(estimated_outstanding(buyer.share * profile.turnover, profile, tariff), rounding)
        factor = tariff["grades"][str(buyer.grade)]["limit_factor"] if buyer.grade else _ONE
        granted = cents(requested * factor)
        status = "refused" if granted == 0 else "reduced" if granted < requested else "granted"
        limits.append(
            {
                "buyer": buyer.name,
                "zone": buyer.zone,
                "grade": buyer.grade,
                "requested": money_str(requested),
                "limit": money_str(granted),
                "status": status,
            }
        )
    return limits


def build_terms(profile: Profile, options: Options, tariff: Tariff, net: Decimal) -> dict[str, Any]:
    """Everything needed to settle a claim under this formula later."""
    spec = tariff.formula(options.formula)
    zones = [z for z in ZONES if options.covers_zone(z)]
    claims = tariff["claims"]
    return {
        "formula": options.formula,
        "tariff_version": tariff.version,
        "indemnity_pct": fmt_number(options.indemnity_pct),
        "automatic_cover": spec["automatic_cover"],
        "automatic_threshold": money_str(options.automatic_threshold),
        "named_limits": _named_limits(profile, options, tariff),
        "covered_zones": zones,
        "max_credit_days": {z: tariff["zones"][z]["max_credit_days"] for z in zones},
        "declaration_deadline_days": claims["declaration_deadline_days"],
        "insolvency_declaration_days": claims["insolvency_declaration_days"],
        "waiting_period_days": claims["waiting_period_days"],
        "max_extension_days": claims["max_extension_days"],
        "payment_delay_days": claims["payment_delay_days"],
        "deductible": money_str(options.deductible),
        "liability_multiple": fmt_number(options.liability_multiple),
        "max_liability": money_str(net * options.liability_multiple),
        "public_buyers": options.public_buyers,
        "collection": options.collection,
        "litigation": options.litigation,
        "monitoring": spec["monitoring_included"] or bool(options.named_buyers),
        "vat_rate": fmt_number(tariff["vat_rate"]),
        "exclusions": [
            dict(e)
            for e in tariff["exclusions"]
            if not (e["code"] == "public_buyer" and options.public_buyers)
        ],
    }


def _fees(options: Options, tariff: Tariff) -> list[dict[str, str]]:
    spec = tariff.formula(options.formula)
    fees = tariff["fees"]
    lines: list[tuple[str, int, Decimal]] = []
    named = len(options.named_buyers)
    if named:
        lines.append(("named_buyer_request", named, fees["named_buyer_request"]["amount"]))
        if not spec["monitoring_included"]:
            lines.append(("named_buyer_monitoring", 12 * named, fees["named_buyer_monitoring"]["amount"]))
    for service in ("collection", "litigation"):
        if getattr(options, service) and not spec["options"][service]["included"]:
            lines.append((service, 1, fees[service]["amount"]))
    return [
        {
            "item": item,
            "label": fees[item]["label"],
            "quantity": str(quantity),
            "unit_price": money_str(unit),
            "amount": money_str(unit * quantity),
        }
        for item, quantity, unit in lines
    ]


def price(profile: Profile, options: Options, tariff: Tariff, path: str = "options") -> Quote:
    """Price ``options`` for ``profile`` under ``tariff``."""
    spec = tariff.formula(options.formula)
    label = spec["label"]
    segments = insured_segments(profile, options, tariff)
    insured = sum(segments.values(), Decimal(0))
    if insured <= 0:
        raise InvalidCombination(
            join(path, "export_cover"),
            f"aucune vente n'est assurée par la formule {label} : vos ventes à crédit sont hors des zones couvertes",
        )
    ledger = _Ledger()
    rate = spec["base_rate_per_mille"]
    ledger.add(
        "base",
        f"Chiffre d'affaires assuré × taux de base {_fr(rate)} ‰",
        f"{fr_money(insured)} × {_fr(rate)} ‰",
        cents(insured * rate / 1000),
    )
    weights = {zone: tariff["zones"][zone]["factor"] for zone in ZONES} | {
        "public": tariff["public_buyers"]["factor"]
    }
    zone_factor = sum((segments[s] * weights[s] for s in segments), Decimal(0)) / insured
    ledger.scale("zones", "Zones géographiques et acheteurs publics couverts", zone_factor)
    sector = tariff.sector(profile.sector)
    ledger.scale("sector", f"Secteur : {sector['label']}", sector["factor"])
    if spec["concentration_applies"]:
        share = profile.largest_share
        ledger.scale(
            "concentration",
            f"{tariff['concentration']['label']} : {pct(share)}",
            tariff.band("concentration", share),
        )
    if spec["automatic_cover"]:
        ledger.scale(
            "buyers_count",
            f"{tariff['buyers_count']['label']} : {profile.buyers_count}",
            tariff.band("buyers_count", profile.buyers_count),
        )
    ledger.scale(
        "company_age",
        f"{tariff['company_age']['label']} : {_fr(profile.company_age_years)} an(s)",
        tariff.band("company_age", profile.company_age_years),
    )
    ledger.scale(
        "payment_terms",
        f"{tariff['payment_terms']['label']} : {profile.payment_terms_days} jours",
        tariff.band("payment_terms", profile.payment_terms_days),
    )
    history = tariff["loss_history"]
    if profile.past_losses == 0:
        ledger.scale("loss_history", f"{history['label']} : aucun (bonus)", history["claim_free_factor"])
    else:
        loading = cents(
            min(history["max_loading"] * ledger.running, history["loading_share"] * profile.past_losses / 3)
        )
        ledger.add(
            "loss_history",
            f"{history['label']} : {fr_money(profile.past_losses)}",
            f"+ {_fr(history['loading_share'] * 100)} % des impayés annuels moyens, "
            f"au plus {_fr(history['max_loading'] * 100)} %",
            loading,
        )
    reference_pct = spec["options"]["indemnity_pct"]["default"]
    ledger.scale(
        "indemnity_pct",
        f"Quotité garantie : {_fr(options.indemnity_pct)} % (référence {_fr(reference_pct)} %)",
        options.indemnity_pct / reference_pct,
    )
    ded = tariff["deductible"]
    ledger.scale(
        "deductible",
        f"{ded['label']} : {fr_money(options.deductible)}",
        _ONE - ded["max_discount"] * options.deductible / (options.deductible + ded["scale"]),
    )
    liab = tariff["liability_multiple"]
    ledger.scale(
        "liability_multiple",
        f"{liab['label']} : {_fr(options.liability_multiple)} fois la prime",
        _ONE + liab["slope"] * (options.liability_multiple - liab["reference"]),
    )
    if spec["automatic_cover"]:
        auto = tariff["automatic_threshold"]
        ledger.scale(
            "automatic_threshold",
            f"{auto['label']} : {fr_money(options.automatic_threshold)}",
            _ONE + auto["slope_per_thousand"] * (options.automatic_threshold - auto["reference"]) / 1000,
        )
    minimum = spec["minimum_premium"]
    minimum_applied = ledger.running < minimum
    if minimum_applied:
        ledger.add(
            "minimum_premium",
            f"Prime minimum de la formule {label}",
            fr_money(minimum),
            minimum - ledger.running,
        )
    # Paying by the month costs the same loading whether or not the annual floor applied.
    payment = tariff["payment"][options.payment]
    ledger.scale("payment", payment["label"], payment["factor"])
    net = ledger.running

    fees = _fees(options, tariff)
    fee_total = sum((Decimal(f["amount"]) for f in fees), Decimal(0))
    tax_spec = tariff["tax"]
    export = segments["eu"] + segments["world"]
    taxable = net + fee_total
    tax = cents(
        taxable * (insured - export) / insured * tax_spec["rate"]
        + taxable * export / insured * tax_spec["export_rate"]
    )
    premium = Premium(net=net, fees=fee_total, tax=tax)
    return Quote(
        options=options,
        insured_turnover=insured,
        segments=segments,
        premium=premium,
        minimum_applied=minimum_applied,
        explanation=ledger.steps,
        fees=fees,
        terms=build_terms(profile, options, tariff, net),
    )


def quote_result(quote: Quote, tariff: Tariff) -> dict[str, Any]:
    """JSON form of a :class:`Quote`."""
    spec = tariff.formula(quote.options.formula)
    return {
        "formula": quote.options.formula,
        "label": spec["label"],
        "available": True,
        "premium": quote.premium.as_dict(),
        "rate_per_mille": str(
            (quote.premium.net / quote.insured_turnover * 1000).quantize(Decimal("0.01"), ROUND_HALF_UP)
        ),
        "insured_turnover": money_str(quote.insured_turnover),
        "insured_segments": {k: money_str(v) for k, v in quote.segments.items()},
        "minimum_applied": quote.minimum_applied,
        "payment": quote.options.payment,
        "explanation": quote.explanation,
        "fees": quote.fees,
        "services": list(spec["services"]),
        "terms": quote.terms,
    }


def quote_request(request: Mapping[str, Any], tariff: Tariff) -> dict[str, Any]:
    """The ``quote`` operation."""
    reject_unknown(request, _QUOTE_FIELDS, "")
    profile = parse_profile(request.get("profile"), tariff)
    options = parse_options(request.get("options"), profile, tariff)
    return quote_result(price(profile, options, tariff), tariff)
