"""The pricing engine, ``simulator``: vendored in the Lambda package, the repository's copy elsewhere.

``api/vendor_engine.py`` copies ``simulator/`` into ``api/vendor/`` before
``chalice package`` (Chalice puts ``vendor/`` at the root of the zip). When
running from the repository (tests, ``chalice local``) the package is
importable from the virtualenv (editable install) or from the repository root.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

try:
    import simulator
except ImportError:  # pragma: no cover - only without the editable install
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    import simulator

__all__ = ["current_version", "quote", "settle", "versions"]


def quote(profile: Any, options: Any, tariff_version: str | None = None) -> dict[str, Any]:
    """The engine's response to a ``quote`` request (``ok`` true or false)."""
    request: dict[str, Any] = {"op": "quote", "profile": profile, "options": options}
    if tariff_version is not None:
        request["tariff_version"] = tariff_version
    return simulator.handle(request)


def settle(terms: Any, invoices: list[dict[str, Any]], paid_this_year: Any) -> dict[str, Any]:
    """The engine's response to a ``settle`` request: the one place indemnities are computed."""
    request = {"op": "settle", "terms": terms, "invoices": invoices, "paid_this_year": str(paid_this_year)}
    return simulator.handle(request)


def current_version() -> str:
    """The tariff version new quotes are priced with."""
    return str(simulator.load_tariff().version)


def versions() -> list[str]:
    """Every tariff version the engine can load."""
    return list(simulator.available_versions())
