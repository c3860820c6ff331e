"""Overdue declarations and claims: the owner declares, staff establish, settle, reject, record recoveries."""

from __future__ import annotations

from chalice import Blueprint, Response

from .. import claims, clock
from ..auth import Identity
from ..errors import BadRequest, FieldError
from ..http import api_route, json_response, page_params, read_body, validate
from ..models import DeclarationIn, RecoveryIn, RejectIn
from ..storage import InvalidCursor

bp = Blueprint(__name__)


def _bad_token() -> BadRequest:
    return BadRequest(
        "invalid_parameter", "Paramètre invalide.", [FieldError("next_token", "jeton invalide")]
    )


@api_route(bp, "/policies/{policy_id}/declarations", "POST", groups=("owners",))
def declare(identity: Identity, policy_id: str) -> Response:
    """Declare an overdue invoice; a late or ineligible one is recorded as rejected with the reasons."""
    data = validate(DeclarationIn, read_body(bp.current_request))
    claim = claims.declare(identity, policy_id, data, clock.now())
    return json_response(claim, 201, {"Location": f"/claims/{claim.claim_id}"})


@api_route(bp, "/policies/{policy_id}/claims", groups=("owners", "staff"))
def list_policy_claims(identity: Identity, policy_id: str) -> Response:
    """Declarations and claims of a policy, newest first."""
    limit, token = page_params(bp.current_request)
    try:
        return json_response(claims.list_for_policy(identity, policy_id, limit, token))
    except InvalidCursor:
        raise _bad_token() from None


@api_route(bp, "/claims", groups=("staff",))
def list_claims(identity: Identity) -> Response:
    """Claims by status (collection by default), newest first."""
    request = bp.current_request
    limit, token = page_params(request, extra=("status",))
    status = (request.query_params or {}).get("status", "collection")
    if status not in claims.CLAIM_STATUSES:
        raise BadRequest(
            "invalid_parameter",
            "Paramètre invalide.",
            [FieldError("status", "valeurs possibles : " + ", ".join(claims.CLAIM_STATUSES))],
        )
    try:
        return json_response(claims.list_by_status(status, limit, token))
    except InvalidCursor:
        raise _bad_token() from None


@api_route(bp, "/claims/{claim_id}", groups=("owners", "staff"))
def get_claim(identity: Identity, claim_id: str) -> Response:
    """One claim with its history, to its owner or staff."""
    return json_response(claims.claim_out(claims.get_visible_claim(identity, claim_id)))


@api_route(bp, "/claims/{claim_id}/recoveries", "POST", groups=("staff",))
def record_recovery(identity: Identity, claim_id: str) -> Response:
    """Record an amount recovered from the debtor."""
    data = validate(RecoveryIn, read_body(bp.current_request))
    return json_response(claims.record_recovery(identity, claim_id, data, clock.now()), 201)


@api_route(bp, "/claims/{claim_id}/establish", "POST", groups=("staff",))
def establish(identity: Identity, claim_id: str) -> Response:
    """Establish the claim (insolvency judgment, or waiting period over)."""
    return json_response(claims.establish(identity, claim_id, clock.now()))


@api_route(bp, "/claims/{claim_id}/settle", "POST", groups=("staff",))
def settle(identity: Identity, claim_id: str) -> Response:
    """Settle the claim with the engine under the policy's frozen terms and the year's maximum liability."""
    return json_response(claims.settle(identity, claim_id, clock.now()))


@api_route(bp, "/claims/{claim_id}/reject", "POST", groups=("staff",))
def reject(identity: Identity, claim_id: str) -> Response:
    """Reject the claim with a reason."""
    data = validate(RejectIn, read_body(bp.current_request))
    return json_response(claims.reject(identity, claim_id, data.reason, clock.now()))
