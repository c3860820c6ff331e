"""Buyers and credit limits of a policy, the limit-request queue, the buyer register and alerts."""

from __future__ import annotations

from chalice import Blueprint, Response

from .. import clock, prevention
from ..auth import Identity
from ..errors import BadRequest, FieldError
from ..http import api_route, json_response, page_params, read_body, validate
from ..models import (
    BuyerIn,
    LimitCancelIn,
    LimitDecisionIn,
    LimitReduceIn,
    LimitRequestIn,
    RegisterEventIn,
    RegisterIn,
)
from ..storage import InvalidCursor

bp = Blueprint(__name__)
REQUEST_STATUSES = ("referred", "approved", "partly_approved", "refused")


def _bad_token() -> BadRequest:
    return BadRequest(
        "invalid_parameter", "Paramètre invalide.", [FieldError("next_token", "jeton invalide")]
    )


@api_route(bp, "/policies/{policy_id}/buyers", "POST", groups=("owners",))
def add_buyer(identity: Identity, policy_id: str) -> Response:
    """Name a buyer on the owner's policy."""
    data = validate(BuyerIn, read_body(bp.current_request))
    buyer = prevention.add_buyer(identity, policy_id, data, clock.now())
    return json_response(buyer, 201, {"Location": f"/policies/{buyer.policy_id}/buyers/{buyer.buyer_id}"})


@api_route(bp, "/policies/{policy_id}/buyers", groups=("owners", "staff"))
def list_buyers(identity: Identity, policy_id: str) -> Response:
    """The buyers of a policy and their limits."""
    return json_response(prevention.list_buyers(identity, policy_id, clock.now()))


@api_route(bp, "/policies/{policy_id}/buyers/{buyer_id}/limit-requests", "POST", groups=("owners",))
def request_limit(identity: Identity, policy_id: str, buyer_id: str) -> Response:
    """Ask for a credit limit: decided at once where the rules allow, else referred to staff."""
    data = validate(LimitRequestIn, read_body(bp.current_request))
    return json_response(
        prevention.request_limit(identity, policy_id, buyer_id, data.amount, clock.now()), 201
    )


@api_route(bp, "/policies/{policy_id}/buyers/{buyer_id}/limit/reduce", "POST", groups=("staff",))
def reduce_limit(identity: Identity, policy_id: str, buyer_id: str) -> Response:
    """Reduce a limit for deliveries from the notice date."""
    data = validate(LimitReduceIn, read_body(bp.current_request))
    return json_response(prevention.change_limit(identity, policy_id, buyer_id, data, clock.now()))


@api_route(bp, "/policies/{policy_id}/buyers/{buyer_id}/limit/cancel", "POST", groups=("staff",))
def cancel_limit(identity: Identity, policy_id: str, buyer_id: str) -> Response:
    """Cancel a limit for deliveries from the notice date."""
    data = validate(LimitCancelIn, read_body(bp.current_request))
    return json_response(prevention.change_limit(identity, policy_id, buyer_id, data, clock.now()))


@api_route(bp, "/limit-requests", groups=("staff",))
def list_limit_requests(identity: Identity) -> Response:
    """Limit requests by status (referred by default), oldest first."""
    request = bp.current_request
    limit, token = page_params(request, extra=("status",))
    status = (request.query_params or {}).get("status", "referred")
    if status not in REQUEST_STATUSES:
        raise BadRequest(
            "invalid_parameter",
            "Paramètre invalide.",
            [FieldError("status", "valeurs possibles : " + ", ".join(REQUEST_STATUSES))],
        )
    try:
        return json_response(prevention.list_requests(status, limit, token))
    except InvalidCursor:
        raise _bad_token() from None


@api_route(bp, "/limit-requests/{request_id}/decision", "POST", groups=("staff",))
def decide_limit_request(identity: Identity, request_id: str) -> Response:
    """Approve, partly approve or refuse a referred request, once."""
    data = validate(LimitDecisionIn, read_body(bp.current_request))
    return json_response(prevention.decide_request(identity, request_id, data, clock.now()))


@api_route(bp, "/register/{identifier}", groups=("staff",))
def get_register_entry(identity: Identity, identifier: str) -> Response:
    """A company of the buyer register."""
    return json_response(prevention.get_register_entry(identifier))


@api_route(bp, "/register/{identifier}/buyers", groups=("staff",))
def register_buyers(identity: Identity, identifier: str) -> Response:
    """The policies naming this company, with their limits on it."""
    return json_response(prevention.buyers_in_register(identifier, clock.now()))


@api_route(bp, "/register/{identifier}", "PUT", groups=("staff",))
def put_register_entry(identity: Identity, identifier: str) -> Response:
    """Create or edit a company of the register (name, country, grade)."""
    data = validate(RegisterIn, read_body(bp.current_request))
    return json_response(prevention.put_register_entry(identifier, data, clock.now()))


@api_route(bp, "/register/{identifier}/events", "POST", groups=("staff",))
def record_event(identity: Identity, identifier: str) -> Response:
    """Record a payment incident or an insolvency judgment; owners with that buyer are alerted."""
    data = validate(RegisterEventIn, read_body(bp.current_request))
    return json_response(prevention.record_event(identifier, data, clock.now()), 201)


@api_route(bp, "/me/alerts", groups=("owners",))
def my_alerts(identity: Identity) -> Response:
    """The caller's monitoring alerts, newest first."""
    limit, token = page_params(bp.current_request)
    try:
        return json_response(prevention.list_my_alerts(identity, limit, token))
    except InvalidCursor:
        raise _bad_token() from None
