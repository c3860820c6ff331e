"""Versioned tariff data shipped inside the package.

Every tariff version is a JSON file in ``simulator/tariffs/``; versions
already used by stored quotes stay loadable after a new one ships.

>>> t = load_tariff()
>>> t.version == CURRENT_VERSION
True
>>> t.sector("construction")["factor"] > t.sector("services")["factor"]
True
>>> load_tariff("1999.1")
Traceback (most recent call last):
...
simulator.errors.UnknownTariff: tariff_version: version de tarif inconnue ; versions : 2026.1
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from types import MappingProxyType
from typing import Any

from .errors import UnknownTariff

__all__ = ["CURRENT_VERSION", "FORMULAS", "Tariff", "available_versions", "load_tariff"]

CURRENT_VERSION = "2026.1"
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
FORMULAS = ("essentielle", "selection", "tout_compris")


def _freeze(value: Any) -> Any:
    """Read-only view of JSON data; numbers written as strings become Decimal."""
    if isinstance(value, dict):
        return MappingProxyType({k: v if k == "version" else _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        return Decimal(value)
    return value


@dataclass(frozen=True)
class Tariff:
    """One tariff version: read-only data with a few typed accessors."""

    version: str
    data: Mapping[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def sector(self, name: str) -> Mapping[str, Any]:
        """Factor, default probability and French label of a sector."""
        return self.data["sectors"][name]

    def formula(self, name: str) -> Mapping[str, Any]:
        """Definition of a formula (rates, minimum, option bounds)."""
        return self.data["formulas"][name]

    def band(self, table: str, value: Decimal | int) -> Decimal:
        """Factor of the band of ``table`` that holds ``value``."""
        for band in self.data[table]["bands"]:
            if "below" in band:
                if band["below"] is None or value < band["below"]:
                    return band["factor"]
            elif band["up_to"] is None or value <= band["up_to"]:
                return band["factor"]
        raise LookupError(f"{table}: no band holds {value}")  # pragma: no cover - tariff data bug


@functools.cache
def available_versions() -> tuple[str, ...]:
    """Every tariff version shipped in the package, oldest first."""
    names = [p.name for p in resources.files(__package__).joinpath("tariffs").iterdir()]
    return tuple(sorted(n.removesuffix(".json") for n in names if n.endswith(".json")))


@functools.cache
def _load(version: str) -> Tariff:
    text = resources.files(__package__).joinpath("tariffs", f"{version}.json").read_text("utf-8")
    data = json.loads(text)
    if data.get("version") != version:  # pragma: no cover - packaging bug
        raise RuntimeError(f"tariff file {version}.json says version {data.get('version')!r}")
    return Tariff(version=version, data=_freeze(data))


def load_tariff(version: str | None = None) -> Tariff:
    """The tariff ``version`` (the current one when ``None``)."""
    wanted = CURRENT_VERSION if version is None else version
    if wanted not in available_versions():
        raise UnknownTariff(
            "tariff_version", "version de tarif inconnue ; versions : " + ", ".join(available_versions())
        )
    return _load(wanted)
