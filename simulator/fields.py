"""Readers that turn JSON values into checked Python values.

Every reader takes the dotted path of the value so that errors name the
field at fault, and states the violated bound in French.

>>> read_decimal({"x": "12.5"}, "x", "p", low=0)
Decimal('12.5')
>>> read_decimal({"x": -1}, "x", "p", low=0)
Traceback (most recent call last):
...
simulator.errors.OutOfRange: p.x: doit être supérieur ou égal à 0 (reçu -1)
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import (
    InvalidRequest,
    InvalidType,
    InvalidValue,
    MissingField,
    OutOfRange,
    UnknownField,
)

__all__ = [
    "fmt_number",
    "join",
    "read_bool",
    "read_choice",
    "read_date",
    "read_decimal",
    "read_int",
    "read_list",
    "read_str",
    "reject_unknown",
    "require_object",
]

_MISSING = object()
_NUMBER_TEXT = re.compile(r"^-?\d+(\.\d+)?$")


def join(path: str, key: str | int) -> str:
    """Dotted path of ``key`` under ``path`` (list indexes in brackets)."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def fmt_number(value: Decimal | int) -> str:
    """A bound as a French reader expects it: no exponent, no trailing zeros."""
    if isinstance(value, int):
        return str(value)
    text = format(value.normalize(), "f")
    return text


def require_object(value: Any, path: str) -> Mapping[str, Any]:
    """``value`` as a JSON object, or an error on ``path``."""
    if value is None and path:
        raise MissingField(path, "champ obligatoire")
    if not isinstance(value, Mapping):
        if not path:
            raise InvalidRequest("", "la requête doit être un objet JSON")
        raise InvalidType(path, "doit être un objet JSON")
    return value


def reject_unknown(obj: Mapping[str, Any], allowed: Iterable[str], path: str) -> None:
    """Refuse any key of ``obj`` that is not in ``allowed`` (first in sorted order)."""
    allowed_set = set(allowed)
    unknown = sorted(k for k in obj if k not in allowed_set)
    if unknown:
        raise UnknownField(join(path, unknown[0]), "champ inconnu")


def _get(obj: Mapping[str, Any], key: str, path: str, default: Any) -> Any:
    value = obj.get(key, _MISSING)
    if value is _MISSING or value is None:
        if default is _MISSING:
            raise MissingField(join(path, key), "champ obligatoire")
        return default
    return value


def read_decimal(
    obj: Mapping[str, Any],
    key: str,
    path: str,
    *,
    default: Any = _MISSING,
    low: Decimal | int | None = None,
    high: Decimal | int | None = None,
    low_open: bool = False,
) -> Decimal:
    """A number (JSON number or decimal string) within ``[low, high]``.

    Floats are read through their shortest repr, so ``0.1`` is exactly
    ``Decimal('0.1')``: money never passes through binary arithmetic.
    """
    field = join(path, key)
    value = _get(obj, key, path, default)
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, bool):
        raise InvalidType(field, "doit être un nombre")
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidValue(field, "doit être un nombre fini")
        number = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip().replace(",", ".")
        if not _NUMBER_TEXT.match(text):
            raise InvalidType(field, "doit être un nombre")
        try:
            number = Decimal(text)
        except InvalidOperation as exc:  # pragma: no cover - regex guards it
            raise InvalidType(field, "doit être un nombre") from exc
    else:
        raise InvalidType(field, "doit être un nombre")
    if low is not None:
        if low_open and number <= low:
            raise OutOfRange(field, f"doit être supérieur à {fmt_number(low)} (reçu {fmt_number(number)})")
        if number < low:
            raise OutOfRange(
                field, f"doit être supérieur ou égal à {fmt_number(low)} (reçu {fmt_number(number)})"
            )
    if high is not None and number > high:
        raise OutOfRange(
            field, f"doit être inférieur ou égal à {fmt_number(high)} (reçu {fmt_number(number)})"
        )
    return number


def read_int(
    obj: Mapping[str, Any],
    key: str,
    path: str,
    *,
    default: Any = _MISSING,
    low: int | None = None,
    high: int | None = None,
) -> int:
    """A whole number within ``[low, high]``."""
    number = read_decimal(obj, key, path, default=default, low=low, high=high)
    if number != number.to_integral_value():
        raise InvalidType(join(path, key), "doit être un nombre entier")
    return int(number)


def read_bool(obj: Mapping[str, Any], key: str, path: str, *, default: Any = _MISSING) -> bool:
    """A JSON boolean."""
    value = _get(obj, key, path, default)
    if not isinstance(value, bool):
        raise InvalidType(join(path, key), "doit valoir true ou false")
    return value


def read_str(
    obj: Mapping[str, Any],
    key: str,
    path: str,
    *,
    default: Any = _MISSING,
    max_length: int = 200,
) -> str:
    """A non-empty string of at most ``max_length`` characters."""
    field = join(path, key)
    value = _get(obj, key, path, default)
    if not isinstance(value, str):
        raise InvalidType(field, "doit être une chaîne de caractères")
    value = value.strip()
    if not value:
        raise InvalidValue(field, "ne doit pas être vide")
    if len(value) > max_length:
        raise OutOfRange(field, f"doit compter au plus {max_length} caractères")
    return value


def read_choice(
    obj: Mapping[str, Any],
    key: str,
    path: str,
    choices: Iterable[str],
    *,
    default: Any = _MISSING,
) -> str:
    """One string among ``choices``."""
    options = list(choices)
    value = _get(obj, key, path, default)
    if not isinstance(value, str) or value not in options:
        raise InvalidValue(join(path, key), "valeur inconnue ; valeurs possibles : " + ", ".join(options))
    return value


def read_date(obj: Mapping[str, Any], key: str, path: str, *, default: Any = _MISSING) -> _dt.date:
    """An ISO date ``YYYY-MM-DD``."""
    field = join(path, key)
    value = _get(obj, key, path, default)
    if isinstance(value, _dt.date):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise InvalidType(field, "doit être une date au format AAAA-MM-JJ")
    try:
        return _dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidValue(field, "n'est pas une date du calendrier") from exc


def read_list(
    obj: Mapping[str, Any],
    key: str,
    path: str,
    *,
    default: Any = _MISSING,
    max_items: int = 1000,
) -> list[Any]:
    """A JSON array of at most ``max_items`` items."""
    field = join(path, key)
    value = _get(obj, key, path, default)
    if not isinstance(value, list):
        raise InvalidType(field, "doit être une liste")
    if len(value) > max_items:
        raise OutOfRange(field, f"doit compter au plus {max_items} éléments (reçu {len(value)})")
    return value
