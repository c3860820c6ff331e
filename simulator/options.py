"""Options of a formula: cover level, deductible, services, named clients.

Every option has a default per formula (tariff data); an option a formula
cannot take is an error, never silently corrected.

>>> from .profile import parse_profile
>>> from .tariff import load_tariff
>>> t = load_tariff()
>>> p = parse_profile({"turnover": 900000, "sector": "services"}, t)
>>> o = parse_options({"formula": "essentielle", "indemnity_pct": 65}, p, t)
>>> o.indemnity_pct, o.deductible, o.export_cover
(Decimal('65'), Decimal('500'), 'none')
>>> parse_options({"formula": "tout_compris", "collection": False}, p, t)
Traceback (most recent call last):
...
simulator.errors.InvalidCombination: options.collection: le recouvrement est inclus dans la formule Tout compris
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .errors import InvalidCombination, InvalidType, InvalidValue, OutOfRange
from .fields import (
    fmt_number,
    join,
    read_bool,
    read_choice,
    read_decimal,
    read_list,
    reject_unknown,
    require_object,
)
from .profile import Buyer, Profile
from .tariff import FORMULAS, Tariff

__all__ = ["OPTION_FIELDS", "Options", "estimated_outstanding", "parse_options"]

OPTION_FIELDS = (
    "formula",
    "indemnity_pct",
    "deductible",
    "liability_multiple",
    "automatic_threshold",
    "collection",
    "litigation",
    "export_cover",
    "public_buyers",
    "named_buyers",
    "payment",
)
_SERVICE_LABELS = {"collection": "le recouvrement", "litigation": "l'assistance juridique"}
_EXPORT_LABELS = {"none": "sans export", "eu": "export UE", "world": "export UE et monde"}


@dataclass(frozen=True, slots=True)
class Options:
    """Validated options of one formula."""

    formula: str
    indemnity_pct: Decimal
    deductible: Decimal
    liability_multiple: Decimal
    automatic_threshold: Decimal
    collection: bool
    litigation: bool
    export_cover: str
    public_buyers: bool
    named_buyers: tuple[Buyer, ...]
    payment: str

    def covers_zone(self, zone: str) -> bool:
        """Whether sales to ``zone`` are insured."""
        return zone == "france" or self.export_cover == "world" or self.export_cover == zone


def estimated_outstanding(annual_sales: Decimal, profile: Profile, tariff: Tariff) -> Decimal:
    """Peak receivable on a client: its sales over payment terms plus a margin for late payers."""
    margin = tariff["named_limits"]["outstanding_margin_days"]
    return annual_sales * (profile.payment_terms_days + margin) / 365


def _bounded(obj: Any, key: str, path: str, spec: Any, label: str) -> Decimal:
    value = read_decimal(obj, key, path, default=spec["default"], low=0)
    low, high = spec["min"], spec["max"]
    if not low <= value <= high:
        bounds = (
            f"égal à {fmt_number(low)}"
            if low == high
            else f"compris entre {fmt_number(low)} et {fmt_number(high)}"
        )
        raise OutOfRange(
            join(path, key), f"pour la formule {label}, doit être {bounds} (reçu {fmt_number(value)})"
        )
    return value


def _named_buyers(
    obj: Any, path: str, profile: Profile, tariff: Tariff, formula: str, threshold: Decimal
) -> tuple[Buyer, ...]:
    spec = tariff.formula(formula)
    label = spec["label"]
    mode = spec["named_limits"]
    field = join(path, "named_buyers")
    if obj.get("named_buyers") is None:
        if mode == "listed":
            chosen = profile.top_buyers
        elif mode == "above_threshold":
            chosen = tuple(
                b
                for b in profile.top_buyers
                if estimated_outstanding(b.share * profile.turnover, profile, tariff) > threshold
            )
        else:
            chosen = ()
    else:
        names = read_list(obj, "named_buyers", path, max_items=50)
        if names and mode == "none":
            raise InvalidCombination(field, f"la formule {label} ne comporte pas de clients dénommés")
        picked: list[Buyer] = []
        for i, name in enumerate(names):
            if not isinstance(name, str) or not name.strip():
                raise InvalidType(join(field, i), "doit être le nom d'un principal client")
            buyer = profile.buyer(name)
            if buyer is None:
                raise InvalidValue(
                    join(field, i), f"« {name} » ne figure pas parmi les principaux clients du profil"
                )
            if buyer in picked:
                raise InvalidValue(join(field, i), f"« {name} » est désigné deux fois")
            picked.append(buyer)
        chosen = tuple(picked)
    if mode == "listed" and not chosen:
        raise InvalidCombination(
            field,
            f"la formule {label} couvre seulement les clients désignés : indiquez au moins un principal client",
        )
    return chosen


def parse_options(
    raw: Any, profile: Profile, tariff: Tariff, path: str = "options", formula: str | None = None
) -> Options:
    """Check ``raw`` against ``formula``'s bounds and return :class:`Options`."""
    obj = require_object(raw if raw is not None else {}, path)
    reject_unknown(obj, OPTION_FIELDS, path)
    if formula is None:
        formula = read_choice(obj, "formula", path, FORMULAS, default="essentielle")
    elif obj.get("formula") not in (None, formula):
        raise InvalidCombination(join(path, "formula"), f"ces options sont celles de la formule {formula}")
    spec = tariff.formula(formula)
    label = spec["label"]
    bounds = spec["options"]

    indemnity = _bounded(obj, "indemnity_pct", path, bounds["indemnity_pct"], label)
    deductible = _bounded(obj, "deductible", path, bounds["deductible"], label)
    multiple = _bounded(obj, "liability_multiple", path, bounds["liability_multiple"], label)
    threshold_spec = bounds["automatic_threshold"]
    if not spec["automatic_cover"] and obj.get("automatic_threshold") not in (None, 0, "0"):
        raise InvalidCombination(
            join(path, "automatic_threshold"), f"la formule {label} n'a pas de garantie automatique"
        )
    threshold = _bounded(obj, "automatic_threshold", path, threshold_spec, label)

    services: dict[str, bool] = {}
    for key in ("collection", "litigation"):
        service = bounds[key]
        services[key] = read_bool(obj, key, path, default=service["default"])
        if service["included"] and not services[key]:
            raise InvalidCombination(
                join(path, key), f"{_SERVICE_LABELS[key]} est inclus dans la formule {label}"
            )

    export_spec = bounds["export_cover"]
    named = _named_buyers(obj, path, profile, tariff, formula, threshold)
    default_export = export_spec["default"]
    if spec["named_limits"] == "listed" and default_export != "world":
        # By default the cover reaches the clients the owner names, wherever they are.
        zones = {b.zone for b in named}
        default_export = "world" if "world" in zones else "eu" if "eu" in zones else default_export
    export_cover = read_choice(obj, "export_cover", path, ("none", "eu", "world"), default=default_export)
    if export_cover not in export_spec["allowed"]:
        raise InvalidCombination(
            join(path, "export_cover"),
            f"la formule {label} ne propose pas la couverture « {_EXPORT_LABELS[export_cover]} »",
        )
    public_buyers = read_bool(obj, "public_buyers", path, default=bounds["public_buyers"]["default"])
    if public_buyers not in bounds["public_buyers"]["allowed"]:
        raise InvalidCombination(
            join(path, "public_buyers"),
            f"la formule {label} ne couvre que des clients désignés, pas les acheteurs publics",
        )
    payment = read_choice(obj, "payment", path, ("annual", "monthly"), default="annual")
    options = Options(
        formula=formula,
        indemnity_pct=indemnity,
        deductible=deductible,
        liability_multiple=multiple,
        automatic_threshold=threshold,
        collection=services["collection"],
        litigation=services["litigation"],
        export_cover=export_cover,
        public_buyers=public_buyers,
        named_buyers=named,
        payment=payment,
    )
    if spec["named_limits"] == "listed":
        for buyer in named:
            if not options.covers_zone(buyer.zone):
                raise InvalidCombination(
                    join(path, "export_cover"),
                    f"le client désigné « {buyer.name} » est hors de la zone couverte ({_EXPORT_LABELS[export_cover]})",
                )
    return options
