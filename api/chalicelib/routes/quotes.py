"""``POST /quotes`` (anonymous), ``GET /quotes/{quote_id}``, staff ``GET /quotes``."""

from __future__ import annotations

from chalice import Blueprint, Response

from .. import clock, quoting
from ..auth import Identity
from ..errors import BadRequest, FieldError
from ..http import api_route, json_response, page_params, read_body, validate
from ..logs import log_event
from ..models import QuoteIn
from ..storage import InvalidCursor

bp = Blueprint(__name__)


@api_route(bp, "/quotes", "POST")
def create_quote() -> Response:
    """Price the request again with the engine and store it as a requested quote."""
    raw = read_body(bp.current_request)
    data = validate(QuoteIn, raw)
    now = clock.now()
    record = quoting.create_quote(data, raw, now)
    log_event("quote_requested", quote_id=record.quote_id, tariff_version=record.tariff_version)
    return json_response(
        quoting.quote_out(record, now), 201, headers={"Location": f"/quotes/{record.quote_id}"}
    )


@api_route(bp, "/quotes/{quote_id}")
def get_quote(quote_id: str) -> Response:
    """A quote by its unguessable id."""
    now = clock.now()
    return json_response(quoting.quote_out(quoting.get_quote(quote_id), now))


@api_route(bp, "/quotes", groups=("staff",))
def list_quotes(identity: Identity) -> Response:
    """Quotes by status, newest first, a page at a time."""
    request = bp.current_request
    limit, token = page_params(request, extra=("status",))
    status = (request.query_params or {}).get("status", "requested")
    if status not in quoting.QUOTE_STATUSES:
        raise BadRequest(
            "invalid_parameter",
            "Paramètre invalide.",
            [FieldError("status", "valeurs possibles : " + ", ".join(quoting.QUOTE_STATUSES))],
        )
    try:
        page = quoting.list_quotes(status, limit, token, clock.now())
    except InvalidCursor:
        raise BadRequest(
            "invalid_parameter", "Paramètre invalide.", [FieldError("next_token", "jeton invalide")]
        ) from None
    return json_response(page)
