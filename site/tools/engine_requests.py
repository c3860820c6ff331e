"""Requests that exercise every path of the engine's JSON contract, as texts.

Shared by the cross-runtime test (``tests/test_cross_runtime.py``: CPython and Pyodide must
answer each with the same bytes) and the site's build (``site/hooks/engine_assets.py``: the
lean runtime keeps the wasm functions these requests call, with those of a few others). Standard
library only.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

__all__ = ["PROFILES", "build_requests", "portfolio_buyers", "request_text"]

TARIFF_DIR = Path(__file__).resolve().parents[2] / "simulator" / "tariffs"


def request_text(request: Any) -> str:
    """A request as the text both runtimes parse (ASCII escapes keep it exact through any pipe)."""
    return json.dumps(request, ensure_ascii=True)


PROFILES: dict[str, dict[str, Any]] = {
    "minimal": {"turnover": 800000, "sector": "services"},
    "strings": {"turnover": "450000.50", "sector": "it", "b2b_share": "0,9", "past_losses": "0"},
    "young-construction-concentrated": {
        "turnover": 350000,
        "sector": "construction",
        "buyers_count": 4,
        "top_buyers": [
            {"name": "Mairie de Lyon", "share": 0.45, "grade": 2},
            {"name": "SCI Durand", "share": 0.3},
        ],
        "payment_terms_days": 60,
        "company_age_years": 1.5,
        "past_losses": 25000,
    },
    "exporter-world": {
        "turnover": 4800000,
        "sector": "wholesale",
        "b2b_share": 0.95,
        "export": {"eu": 0.35, "world": 0.4},
        "buyers_count": 140,
        "top_buyers": [
            {"name": "Hamburg Handel GmbH", "share": 0.15, "grade": 3, "zone": "eu"},
            {"name": "Société Générale d'Équipement", "share": 0.1, "grade": 7},
            {"name": "Shanghai 贸易", "share": 0.09, "grade": 6, "zone": "world"},
        ],
        "payment_terms_days": 90,
        "company_age_years": 22,
    },
    "public-and-tiny": {
        "turnover": 60000,
        "sector": "health",
        "b2b_share": 0.5,
        "public_share": 0.4,
        "buyers_count": 3,
        "payment_terms_days": 30,
        "company_age_years": 0,
    },
}


def _formulas() -> dict[str, Any]:
    """Formula definitions of every shipped tariff file (read as data, not via the engine)."""
    formulas: dict[str, Any] = {}
    for path in sorted(TARIFF_DIR.glob("*.json")):
        formulas.update(json.loads(path.read_text("utf-8")).get("formulas", {}))
    return formulas or {name: {} for name in ("essentielle", "selection", "tout_compris")}


def _bound_options(spec: dict[str, Any], bound: str) -> dict[str, Any]:
    """Every numeric option of a formula at its ``min`` or ``max``."""
    return {
        key: value[bound]
        for key, value in spec.get("options", {}).items()
        if isinstance(value, dict) and bound in value
    }


def portfolio_buyers(count: int, seed: int) -> list[dict[str, str]]:
    """``count`` buyers drawn from ``random.Random(seed)``: exposures 2,000-60,000 EUR, pd 0.3-6 %."""
    rng = random.Random(seed)
    return [
        {
            "name": f"B{i + 1}",
            "exposure": f"{rng.uniform(2000, 60000):.2f}",
            "pd": f"{rng.uniform(0.003, 0.06):.4f}",
        }
        for i in range(count)
    ]


def build_requests(typical: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, request text) pairs: every operation, edge values and errors, ``typical`` the
    profile most requests use."""
    cases: list[tuple[str, str]] = []

    def add(name: str, request: Any) -> None:
        cases.append((name, request if isinstance(request, str) else request_text(request)))

    profiles = {"typical": typical, **PROFILES}
    for name, profile in profiles.items():
        add(f"compare/{name}", {"op": "compare", "profile": profile})
    add("compare/typical-no-options", {"op": "compare", "profile": typical, "options": {}})
    add(
        "compare/exporter-with-options",
        {
            "op": "compare",
            "profile": profiles["exporter-world"],
            "options": {
                "essentielle": {"export_cover": "eu", "deductible": "1000"},
                "selection": {
                    "export_cover": "world",
                    "named_buyers": ["hamburg handel gmbh", "Shanghai 贸易"],
                },
                "tout_compris": {"indemnity_pct": "90", "payment": "monthly"},
            },
        },
    )
    add("compare/tariff-version", {"op": "compare", "profile": typical, "tariff_version": "2026.1"})

    for formula, spec in _formulas().items():
        add(f"quote/{formula}", {"op": "quote", "profile": typical, "options": {"formula": formula}})
        # The widest export cover each formula allows, so the exporter's named clients are insurable.
        allowed = spec.get("options", {}).get("export_cover", {}).get("allowed", [])
        widest = {"export_cover": allowed[-1]} if allowed else {}
        for bound in ("min", "max"):
            options = {"formula": formula, **_bound_options(spec, bound), **widest}
            add(
                f"quote/{formula}-{bound}",
                {"op": "quote", "profile": profiles["exporter-world"], "options": options},
            )
        add(
            f"quote/{formula}-monthly",
            {
                "op": "quote",
                "profile": profiles["young-construction-concentrated"],
                "options": {"formula": formula, "payment": "monthly"},
            },
        )
    add("quote/default-formula", {"op": "quote", "profile": profiles["minimal"]})

    terms = {
        "formula": "essentielle",
        "indemnity_pct": "60",
        "automatic_cover": True,
        "automatic_threshold": "7500",
        "deductible": "500",
        "max_liability": "30000",
    }
    invoice = {
        "id": "F1",
        "buyer": "Dupont SARL",
        "amount": "6000",
        "invoice_date": "2026-01-10",
        "due_date": "2026-03-10",
        "event": {"type": "insolvency", "date": "2026-04-02"},
        "declared_on": "2026-04-05",
    }
    late = {
        **invoice,
        "id": "F2",
        "amount": "3999.99",
        "event": {"type": "protracted_default"},
        "declared_on": "2026-09-30",
    }
    big = {**invoice, "id": "F3", "buyer": "Alpha", "amount": "48000.00", "vat_included": True}
    export = {**invoice, "id": "F4", "buyer": {"name": "Hamburg Handel GmbH", "zone": "eu"}, "amount": "9000"}
    add("settle/one-invoice", {"op": "settle", "terms": terms, "invoices": [invoice], "paid_this_year": "0"})
    add(
        "settle/three-invoices-liability-cap",
        {"op": "settle", "terms": terms, "invoices": [invoice, late, big], "paid_this_year": "15000"},
    )
    add(
        "settle/selection-named-limit",
        {
            "op": "settle",
            "terms": {
                **terms,
                "formula": "selection",
                "indemnity_pct": "90",
                "automatic_cover": False,
                "automatic_threshold": "0",
                "named_limits": [{"buyer": "Alpha", "limit": "40000"}],
                "covered_zones": ["france", "eu"],
            },
            "invoices": [big, export, invoice],
            "paid_this_year": "0",
        },
    )
    add("settle/no-invoices", {"op": "settle", "terms": terms, "invoices": [], "paid_this_year": "0"})

    small = [
        {"name": "B1", "exposure": "12000", "pd": "0.02"},
        {"name": "B2", "exposure": "8000", "pd": "0.05"},
        {"name": "B3", "exposure": "30000.50", "pd": "0.01"},
    ]
    add(
        "portfolio/three-buyers",
        {"op": "portfolio", "profile": typical, "buyers": small, "cash_cushion": "50000"},
    )
    add(
        "portfolio/one-buyer",
        {"op": "portfolio", "profile": profiles["minimal"], "buyers": small[:1], "cash_cushion": "0"},
    )
    add(
        "portfolio/200-buyers",
        {
            "op": "portfolio",
            "profile": typical,
            "buyers": portfolio_buyers(200, 42),
            "cash_cushion": "80000",
        },
    )
    add(
        "portfolio/50-buyers-seed7",
        {
            "op": "portfolio",
            "profile": profiles["exporter-world"],
            "buyers": portfolio_buyers(50, 7),
            "cash_cushion": "20000",
        },
    )
    add("portfolio/from-profile", {"op": "portfolio", "profile": typical, "cash_cushion": "50000"})

    # Errors: each must be the same error, message and field on both runtimes.
    add("error/unknown-op", {"op": "fly"})
    add("error/missing-op", {"profile": profiles["minimal"]})
    add("error/op-not-string", {"op": ["quote"]})
    add("error/unknown-field", {"op": "quote", "profile": {**profiles["minimal"], "colour": "blue"}})
    add("error/negative-turnover", {"op": "quote", "profile": {"turnover": -5, "sector": "services"}})
    add("error/bool-turnover", {"op": "compare", "profile": {"turnover": True, "sector": "services"}})
    add("error/unknown-sector", {"op": "compare", "profile": {"turnover": 500000, "sector": "bakery"}})
    add(
        "error/shares-over-100",
        {"op": "compare", "profile": {**typical, "export": {"eu": 0.7, "world": 0.6}}},
    )
    add(
        "error/option-out-of-range",
        {
            "op": "quote",
            "profile": typical,
            "options": {"formula": "essentielle", "indemnity_pct": 99},
        },
    )
    add("error/unknown-tariff", {"op": "quote", "profile": profiles["minimal"], "tariff_version": "1999.1"})
    add("error/tariff-not-string", {"op": "quote", "profile": profiles["minimal"], "tariff_version": 2026.1})
    add(
        "error/bad-pd",
        {
            "op": "portfolio",
            "profile": typical,
            "buyers": [{"name": "X", "exposure": "100", "pd": "1.5"}],
            "cash_cushion": "0",
        },
    )
    add(
        "error/bad-date",
        {
            "op": "settle",
            "terms": terms,
            "invoices": [{**invoice, "invoice_date": "2026-02-30"}],
            "paid_this_year": "0",
        },
    )
    add("error/settle-missing-terms", {"op": "settle", "invoices": [invoice], "paid_this_year": "0"})
    add("json/invalid-text", '{"op": "quote", "profile": ')
    add("json/trailing-comma", '{"op": "fly",}')
    add("json/empty-text", "")
    add("json/not-object", "[1, 2, 3]")
    add("json/null", "null")
    add("json/nan-literal", '{"op": "quote", "profile": {"turnover": NaN, "sector": "services"}}')
    add("json/huge-exponent", '{"op": "quote", "profile": {"turnover": 1e400, "sector": "services"}}')
    add(
        "json/5000-digit-int",
        '{"op": "quote", "profile": {"turnover": ' + "9" * 5000 + ', "sector": "services"}}',
    )
    add("json/duplicate-keys", '{"op": "fly", "op": "quote", "profile": {"turnover": 1, "sector": "it"}}')
    add("json/lone-surrogate", '{"op": "quote", "profile": {"turnover": 1, "sector": "\\ud800"}}')
    add(
        "json/whitespace-and-bom-free-unicode",
        ' \n\t{"op" : "quote" , "profile" : {"turnover" : 2e5 , "sector" : "it"}}\n',
    )
    # CPython 3.11 stops at ~1000 levels (RecursionError); Pyodide's json goes
    # deeper, then overflows the JS stack and dies: requests must not depend on it.
    add("json/nested-1000", "[" * 1000 + "]" * 1000)
    add("json/nested-100000", '{"op":' * 100000 + "1" + "}" * 100000)

    names = [name for name, _ in cases]
    assert len(set(names)) == len(names), "request names must be unique"
    return cases
