"""Credit-insurance pricing, comparison, claim settlement and portfolio risk.

Standard library only, no I/O beyond reading the tariff files shipped inside
the package: the same code runs on CPython and in the browser under Pyodide.
One entry point, :func:`handle`, takes a JSON-like request and returns a
JSON-like response; :func:`handle_json` does the same on text, byte for byte
deterministic.

>>> r = handle({"op": "quote", "profile": {"turnover": 800000, "sector": "services"}})
>>> r["ok"], r["result"]["formula"], r["result"]["premium"]["total"]
(True, 'essentielle', '1282.46')
>>> handle({"op": "fly"})["error"]["code"]
'unknown_operation'
"""

from __future__ import annotations

from .contract import dumps, handle, handle_json
from .errors import SimulatorError
from .tariff import CURRENT_VERSION, available_versions, load_tariff

__all__ = [
    "CURRENT_VERSION",
    "SimulatorError",
    "available_versions",
    "dumps",
    "handle",
    "handle_json",
    "load_tariff",
]
