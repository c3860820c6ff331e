"""One error tree for every request problem, all under ``ValueError``.

Each error carries a stable ``code``, a French ``message`` for the user and
the dotted ``field`` path of the input at fault.

>>> err = InvalidValue("profile.turnover", "doit être positif")
>>> isinstance(err, ValueError), err.code, err.field
(True, 'invalid_value', 'profile.turnover')
"""

from __future__ import annotations

__all__ = [
    "InvalidCombination",
    "InvalidRequest",
    "InvalidType",
    "InvalidValue",
    "MissingField",
    "OutOfRange",
    "SimulatorError",
    "UnknownField",
    "UnknownOperation",
    "UnknownTariff",
]


class SimulatorError(ValueError):
    """Base of every error a request can cause."""

    code = "invalid_request"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message

    def as_dict(self) -> dict[str, str]:
        """The error as the JSON contract shows it."""
        return {"code": self.code, "message": self.message, "field": self.field}


class InvalidRequest(SimulatorError):
    """The request as a whole is not a JSON object or is malformed."""

    code = "invalid_request"


class MissingField(SimulatorError):
    """A required field is absent."""

    code = "missing_field"


class UnknownField(SimulatorError):
    """A field the contract does not know: refused, never ignored."""

    code = "unknown_field"


class InvalidType(SimulatorError):
    """A field has the wrong JSON type."""

    code = "invalid_type"


class InvalidValue(SimulatorError):
    """A field has a value outside its allowed set."""

    code = "invalid_value"


class OutOfRange(SimulatorError):
    """A number lies outside its allowed bounds (the message states them)."""

    code = "out_of_range"


class InvalidCombination(SimulatorError):
    """Fields that are each valid but impossible together."""

    code = "invalid_combination"


class UnknownOperation(SimulatorError):
    """The ``op`` names no operation."""

    code = "unknown_operation"


class UnknownTariff(SimulatorError):
    """The requested tariff version is not shipped with this package."""

    code = "unknown_tariff"
