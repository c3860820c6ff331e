"""One error tree, rendered as ``{"error": {"code", "message", "fields"}}``.

Messages are French (they reach the user); codes are stable English
identifiers. AWS failures (botocore) become 503 and any other unexpected
exception 500, both without a stack trace.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ApiError",
    "BadRequest",
    "Conflict",
    "FieldError",
    "Forbidden",
    "NotFound",
    "ServiceUnavailable",
    "Unauthorized",
    "Unprocessable",
    "error_body",
    "from_exception",
    "is_aws_error",
]


@dataclass(frozen=True)
class FieldError:
    """One input at fault: its dotted path and what is wrong, in French."""

    path: str
    message: str


@dataclass(eq=False)
class ApiError(Exception):
    """Base of every error the API answers on purpose."""

    code: str
    message: str
    fields: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    status = 400

    def __str__(self) -> str:
        return f"{self.status} {self.code}"

    def body(self) -> dict[str, Any]:
        """The JSON body of the response."""
        return error_body(self.code, self.message, self.fields)


class BadRequest(ApiError):
    """The request cannot be read (malformed JSON, bad parameter)."""

    status = 400


class Unauthorized(ApiError):
    """No valid identity: missing, forged or expired token."""

    status = 401


class Forbidden(ApiError):
    """A valid identity without the group the route needs."""

    status = 403


class NotFound(ApiError):
    """Nothing there, or nothing this caller may see."""

    status = 404


class Conflict(ApiError):
    """The request clashes with the current state (accepted quote, reused key)."""

    status = 409


class Unprocessable(ApiError):
    """Well-formed input that breaks a rule; ``fields`` names the inputs."""

    status = 422


class ServiceUnavailable(ApiError):
    """A backing service failed; retrying later is safe."""

    status = 503


def error_body(code: str, message: str, fields: Iterable[FieldError] = ()) -> dict[str, Any]:
    """The error document of the API."""
    return {
        "error": {
            "code": code,
            "message": message,
            "fields": [{"path": f.path, "message": f.message} for f in fields],
        }
    }


def is_aws_error(exc: BaseException) -> bool:
    """Whether ``exc`` comes from botocore (a DynamoDB, S3 or Cognito failure)."""
    module = sys.modules.get("botocore.exceptions")
    if module is None:
        return False
    return isinstance(exc, module.ClientError | module.BotoCoreError)


def aws_error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError`` (empty otherwise)."""
    response: Mapping[str, Any] = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


UNAVAILABLE_MESSAGE = (
    "Service momentanément indisponible : rien n'a été enregistré, réessayez dans quelques instants."
)


def from_exception(exc: BaseException) -> ApiError:
    """The API error to answer for ``exc``."""
    if isinstance(exc, ApiError):
        return exc
    if is_aws_error(exc):
        return ServiceUnavailable("service_unavailable", UNAVAILABLE_MESSAGE, headers={"Retry-After": "2"})
    error = ApiError("internal_error", "Erreur interne : la demande n'a pas pu être traitée.")
    error.status = 500
    return error
