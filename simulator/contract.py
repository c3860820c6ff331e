"""The JSON-in/JSON-out contract shared by the browser worker, the API and the CLI.

A request is ``{"op": ..., "tariff_version"?: ..., ...}``; a response is
``{"ok": true, "tariff_version": ..., "result": ...}`` or
``{"ok": false, "error": {"code", "message", "field"}}``.

>>> handle_json('{"op": "quote", "profile": {"turnover": -5, "sector": "services"}}')
'{"ok":false,"error":{"code":"out_of_range","message":"doit être supérieur à 0 (reçu -5)","field":"profile.turnover"}}'
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from .errors import InvalidRequest, InvalidType, SimulatorError, UnknownOperation
from .fields import require_object
from .tariff import Tariff, load_tariff

__all__ = ["MAX_DEPTH", "OPERATIONS", "dumps", "handle", "handle_json", "handle_text"]

MAX_DEPTH = 32
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(r"[\[\]{}]")


def _quote(request: Mapping[str, Any], tariff: Tariff) -> dict[str, Any]:
    from .pricing import quote_request

    return quote_request(request, tariff)


def _compare(request: Mapping[str, Any], tariff: Tariff) -> dict[str, Any]:
    from .compare import compare_request

    return compare_request(request, tariff)


def _settle(request: Mapping[str, Any], tariff: Tariff) -> dict[str, Any]:
    from .settle import settle_request

    return settle_request(request, tariff)


def _portfolio(request: Mapping[str, Any], tariff: Tariff) -> dict[str, Any]:
    from .portfolio import portfolio_request

    return portfolio_request(request, tariff)


OPERATIONS: dict[str, Callable[[Mapping[str, Any], Tariff], dict[str, Any]]] = {
    "quote": _quote,
    "compare": _compare,
    "settle": _settle,
    "portfolio": _portfolio,
}


def handle(request: Any) -> dict[str, Any]:
    """Run one request and return its response; request errors never raise."""
    try:
        body = require_object(request, "")
        op = body.get("op")
        if op is None:
            raise UnknownOperation("op", "champ obligatoire ; opérations : " + ", ".join(OPERATIONS))
        if not isinstance(op, str) or op not in OPERATIONS:
            raise UnknownOperation("op", "opération inconnue ; opérations : " + ", ".join(OPERATIONS))
        version = body.get("tariff_version")
        terms = body.get("terms")
        if version is None and op == "settle" and isinstance(terms, Mapping):
            # Frozen terms are settled under the tariff they were priced with.
            version = terms.get("tariff_version")
        if version is not None and not isinstance(version, str):
            raise InvalidType("tariff_version", "doit être une chaîne de caractères")
        tariff = load_tariff(version)
        result = OPERATIONS[op](body, tariff)
    except SimulatorError as exc:
        return {"ok": False, "error": exc.as_dict()}
    return {"ok": True, "tariff_version": tariff.version, "result": result}


def dumps(response: Mapping[str, Any]) -> str:
    """Canonical JSON text of a response: the same response, the same bytes."""
    return json.dumps(response, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _too_deep(text: str | bytes) -> bool:
    """Whether brackets nest deeper than any request needs.

    Checked before parsing: runtimes give up on deep nesting at different
    depths (Pyodide's JavaScript stack overflows and kills the interpreter).
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    depth = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > MAX_DEPTH:
            return True
    return False


def handle_text(text: str | bytes) -> dict[str, Any]:
    """:func:`handle` on JSON text; text that is not JSON is a request error."""
    if _too_deep(text):
        message = f"la requête imbrique plus de {MAX_DEPTH} niveaux d'objets ou de listes"
        return {"ok": False, "error": InvalidRequest("", message).as_dict()}
    try:
        request = json.loads(text)
    except (ValueError, RecursionError):
        return {"ok": False, "error": InvalidRequest("", "la requête n'est pas du JSON valide").as_dict()}
    return handle(request)


def handle_json(text: str | bytes) -> str:
    """:func:`handle` on JSON text, answering canonical JSON text."""
    return dumps(handle_text(text))
