"""How routes are declared, read their input and answer.

Every route goes through :func:`api_route`: it attaches the custom
authorizer and checks groups on protected routes, turns every exception into
the API's JSON error (AWS failures 503, never a stack trace), and logs one
structured line per request.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from chalice import Blueprint, Response
from chalice.app import Request
from pydantic import BaseModel, ValidationError

from .auth import Identity, identity_from_context, jwt_auth
from .errors import ApiError, BadRequest, FieldError, Unprocessable, error_body, from_exception
from .logs import log_event

__all__ = ["api_route", "cors_headers", "json_response", "page_params", "read_body", "validate"]

MAX_BODY_BYTES = 64 * 1024
JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store"}
M = TypeVar("M", bound=BaseModel)

ALLOW_HEADERS = "Authorization,Content-Type,Idempotency-Key"
EXPOSE_HEADERS = "Idempotent-Replayed,Location,Retry-After"
_PATH_METHODS: dict[str, list[str]] = {}


def cors_headers(request: Request | None) -> dict[str, str]:
    """CORS headers for ``request``'s origin, read at run time from ``CORS_ALLOW_ORIGIN``.

    A comma-separated list of origins (the site's); ``*`` or unset allows any origin,
    which is safe here because the API authenticates by bearer token, never by cookie.
    """
    allowed = [o.strip() for o in os.environ.get("CORS_ALLOW_ORIGIN", "").split(",") if o.strip()]
    headers = {"Vary": "Origin"}
    origin = (request.headers.get("origin") if request is not None else None) or ""
    if not allowed or "*" in allowed:
        headers["Access-Control-Allow-Origin"] = "*"
    elif origin in allowed:
        headers["Access-Control-Allow-Origin"] = origin
    else:
        return headers
    headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
    return headers


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON response; pydantic models are dumped in JSON mode."""
    if isinstance(body, BaseModel):
        body = body.model_dump(mode="json")
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Response(body=text, status_code=status, headers={**JSON_HEADERS, **(headers or {})})


def error_response(error: ApiError) -> Response:
    """The JSON error document with the error's status and headers."""
    return json_response(error.body(), error.status, error.headers)


def read_body(request: Request) -> dict[str, Any]:
    """The JSON object in the body, or 400."""
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest("body_too_large", f"Le corps de la requête dépasse {MAX_BODY_BYTES // 1024} Kio.")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise BadRequest("invalid_json", "Le corps de la requête n'est pas du JSON valide.") from None
    if not isinstance(data, dict):
        raise BadRequest("invalid_body", "Le corps de la requête doit être un objet JSON.")
    return data


def validate(model: type[M], data: Mapping[str, Any]) -> M:
    """``data`` as ``model``, or 422 with French messages per field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        from .models import field_errors

        raise Unprocessable(
            "validation_error", "La demande contient des champs invalides.", field_errors(exc)
        ) from None


def page_params(
    request: Request, extra: tuple[str, ...] = (), default_limit: int = 20, max_limit: int = 100
) -> tuple[int, str | None]:
    """``limit`` and ``next_token`` query parameters (and no unknown one but ``extra``), or 400."""
    query = request.query_params or {}
    unknown = sorted(set(query) - {"limit", "next_token", *extra})
    if unknown:
        raise BadRequest(
            "invalid_parameter", "Paramètre inconnu.", [FieldError(unknown[0], "paramètre inconnu")]
        )
    text = query.get("limit")
    limit = default_limit
    if text is not None:
        if not text.isdigit() or not 1 <= int(text) <= max_limit:
            raise BadRequest(
                "invalid_parameter",
                "Paramètre invalide.",
                [FieldError("limit", f"doit être un entier de 1 à {max_limit}")],
            )
        limit = int(text)
    token = query.get("next_token")
    if token is not None and not (0 < len(token) <= 2048):
        raise BadRequest(
            "invalid_parameter", "Paramètre invalide.", [FieldError("next_token", "jeton invalide")]
        )
    return limit, token


def api_route(
    bp: Blueprint, path: str, method: str = "GET", groups: tuple[str, ...] | None = None
) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Declare a route; ``groups`` ``None`` is anonymous, ``()`` any signed-in user, else one of them.

    A protected view receives ``identity`` (an :class:`~chalicelib.auth.Identity`) as first argument.
    """

    def decorate(view: Callable[..., Response]) -> Callable[..., Response]:
        def guarded(**path_args: Any) -> Response:
            started = time.perf_counter()
            request = bp.current_request
            principal = "anonymous"
            try:
                if groups is None:
                    response = view(**path_args)
                else:
                    identity: Identity = identity_from_context(request.context, groups)
                    principal = identity.sub
                    response = view(identity, **path_args)
            except Exception as exc:
                error = from_exception(exc)
                if error is not exc:  # an AWS failure or a bug: keep the (redacted) traceback
                    log_event(
                        "request_failed",
                        logging.ERROR,
                        route=f"{method} {path}",
                        error_type=type(exc).__name__,
                        error_code=error.code,
                        exc_info=exc,
                    )
                response = error_response(error)
            log_event(
                "request",
                route=f"{method} {path}",
                status=response.status_code,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                principal=principal,
                request_id=(request.context or {}).get("requestId", ""),
            )
            return response

        guarded.__name__ = view.__name__
        guarded.__qualname__ = view.__qualname__
        guarded.__doc__ = view.__doc__
        guarded.__module__ = view.__module__
        options: dict[str, Any] = {"methods": [method]}
        if groups is not None:
            options["authorizer"] = jwt_auth
        if method in ("POST", "PUT", "PATCH"):
            options["content_types"] = ["application/json"]
        bp.route(path, **options)(guarded)
        if path not in _PATH_METHODS:
            _PATH_METHODS[path] = []
            _register_preflight(bp, path)
        _PATH_METHODS[path].append(method)
        return view

    return decorate


def _register_preflight(bp: Blueprint, path: str) -> None:
    """An ``OPTIONS`` view for ``path``: the CORS preflight, answered by the app so the origin stays configurable."""

    def preflight(**_: Any) -> Response:
        headers = {
            **cors_headers(bp.current_request),
            "Access-Control-Allow-Methods": ",".join([*_PATH_METHODS[path], "OPTIONS"]),
            "Access-Control-Allow-Headers": ALLOW_HEADERS,
            "Access-Control-Max-Age": "600",
        }
        return Response(body="", status_code=204, headers=headers)

    name = "preflight_" + "".join(c if c.isalnum() else "_" for c in path).strip("_")
    preflight.__name__ = preflight.__qualname__ = name
    bp.route(path, methods=["OPTIONS"])(preflight)


def http_middleware(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Add the CORS headers to every answer; give errors produced by Chalice itself (405, 415) the API's shape."""
    response = get_response(event)
    response.headers = {**cors_headers(event if isinstance(event, Request) else None), **response.headers}
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body and "error" not in body:
        messages = {
            405: ("method_not_allowed", "Méthode non autorisée pour cette adresse."),
            415: ("unsupported_media_type", "Le corps de la requête doit être envoyé en application/json."),
        }
        code, message = messages.get(response.status_code, ("internal_error", "Erreur interne."))
        text = json.dumps(error_body(code, message), ensure_ascii=False)
        response.body = text
        response.headers = {**response.headers, **JSON_HEADERS}
    return response
