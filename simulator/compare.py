"""Compare the three formulas for one profile and recommend one, with reasons.

>>> from .tariff import load_tariff
>>> r = compare_request({"profile": {"turnover": 900000, "sector": "it",
...     "top_buyers": [{"name": "Alpha", "share": 0.3}]}}, load_tariff())
>>> [f["formula"] for f in r["formulas"]], r["recommended"]["formula"]
(['essentielle', 'selection', 'tout_compris'], 'tout_compris')
>>> [reason["code"] for reason in r["recommended"]["reasons"]]
['concentration', 'many_buyers', 'price']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import SimulatorError
from .fields import join, reject_unknown, require_object
from .money import fr_money
from .options import parse_options
from .pricing import Quote, price, quote_result
from .profile import Profile, parse_profile, pct
from .tariff import FORMULAS, Tariff

__all__ = ["compare", "compare_request", "recommend"]

_COMPARE_FIELDS = ("op", "tariff_version", "profile", "options")


def compare(
    profile: Profile, raw_options: Mapping[str, Any], tariff: Tariff
) -> tuple[dict[str, Quote | SimulatorError], dict[str, Any]]:
    """Price every formula; a formula the profile cannot take is reported, not fatal."""
    quotes: dict[str, Quote | SimulatorError] = {}
    for formula in FORMULAS:
        path = join("options", formula)
        raw = raw_options.get(formula)
        try:
            options = parse_options(raw, profile, tariff, path=path, formula=formula)
        except SimulatorError as exc:
            # Without named clients Sélection has nothing to insure: show why instead of failing the comparison.
            if (
                formula == "selection"
                and exc.field == join(path, "named_buyers")
                and not (raw or {}).get("named_buyers")
            ):
                quotes[formula] = exc
                continue
            raise
        quotes[formula] = price(profile, options, tariff, path=path)
    return quotes, recommend(profile, quotes, tariff)


def recommend(
    profile: Profile, quotes: Mapping[str, Quote | SimulatorError], tariff: Tariff
) -> dict[str, Any]:
    """Pick the formula that fits the profile's risk, and say why in French."""
    rules = tariff["recommendation"]
    priced = {f: q for f, q in quotes.items() if isinstance(q, Quote)}
    cheapest = min(priced, key=lambda f: (priced[f].premium.total, FORMULAS.index(f)))
    largest = profile.largest_share
    export = profile.export_eu + profile.export_world
    many = profile.buyers_count > rules["many_buyers"]
    reasons: list[dict[str, str]] = []

    def reason(code: str, message: str) -> None:
        reasons.append({"code": code, "message": message})

    if largest >= rules["concentration_share"]:
        top = max(profile.top_buyers, key=lambda b: b.share)
        reason(
            "concentration",
            f"Votre premier client, {top.name}, pèse {pct(largest)} du chiffre d'affaires : au-delà de "
            f"{pct(rules['concentration_share'])}, une limite de crédit à son nom le protège mieux qu'une "
            "garantie automatique plafonnée par client.",
        )
        if (export >= rules["export_share"] or many) and "tout_compris" in priced:
            choice = "tout_compris"
            if many:
                reason(
                    "many_buyers",
                    f"Avec {profile.buyers_count} clients, la garantie automatique couvre aussi ceux que vous ne désignez pas.",
                )
            if export >= rules["export_share"]:
                reason(
                    "export",
                    f"{pct(export)} de vos ventes à crédit partent à l'export, inclus dans Tout compris.",
                )
        else:
            choice = "selection" if "selection" in priced else "tout_compris"
            reason(
                "few_buyers",
                "Vos ventes reposent sur peu de clients : les désigner coûte moins cher que garantir tout le portefeuille.",
            )
    elif export >= rules["export_share"]:
        choice = "tout_compris"
        reason(
            "export",
            f"{pct(export)} de vos ventes à crédit partent à l'export : Tout compris couvre l'Union européenne et le "
            "reste du monde, recouvrement inclus.",
        )
    else:
        choice = cheapest if cheapest != "selection" else "essentielle"
        reason(
            "spread",
            f"Vos clients sont répartis (le premier pèse {pct(largest)} du chiffre d'affaires) : la garantie automatique "
            "les couvre tous sans démarche client par client.",
        )
    gap = priced[choice].premium.total - priced[cheapest].premium.total
    if gap > 0:
        reason(
            "price",
            f"Elle coûte {fr_money(gap)} de plus par an que la formule {tariff.formula(cheapest)['label']}, "
            "la moins chère pour votre profil.",
        )
    else:
        reason("price", "C'est aussi la formule la moins chère pour votre profil.")
    return {"formula": choice, "label": tariff.formula(choice)["label"], "reasons": reasons}


def _unavailable(formula: str, error: SimulatorError, tariff: Tariff) -> dict[str, Any]:
    return {
        "formula": formula,
        "label": tariff.formula(formula)["label"],
        "available": False,
        "error": error.as_dict(),
    }


def compare_request(request: Mapping[str, Any], tariff: Tariff) -> dict[str, Any]:
    """The ``compare`` operation: ``options`` maps each formula to its options."""
    reject_unknown(request, _COMPARE_FIELDS, "")
    profile = parse_profile(request.get("profile"), tariff)
    raw_options = require_object(request.get("options") or {}, "options")
    reject_unknown(raw_options, FORMULAS, "options")
    quotes, recommended = compare(profile, raw_options, tariff)
    formulas = [
        quote_result(q, tariff) if isinstance(q, Quote) else _unavailable(f, q, tariff)
        for f, q in quotes.items()
    ]
    return {"formulas": formulas, "recommended": recommended}
