"""Owner and staff views of policies, and the attestation."""

from __future__ import annotations

from chalice import Blueprint, Response

from .. import attestation, clock, policies, prevention
from ..auth import Identity
from ..errors import BadRequest, FieldError
from ..http import api_route, json_response, page_params
from ..storage import InvalidCursor

bp = Blueprint(__name__)
POLICY_STATUSES = ("active", "pending_account")


def _bad_token() -> BadRequest:
    return BadRequest(
        "invalid_parameter", "Paramètre invalide.", [FieldError("next_token", "jeton invalide")]
    )


@api_route(bp, "/me/policies", groups=("owners",))
def my_policies(identity: Identity) -> Response:
    """The caller's policies, newest first."""
    limit, token = page_params(bp.current_request)
    try:
        return json_response(policies.list_mine(identity, limit, token))
    except InvalidCursor:
        raise _bad_token() from None


@api_route(bp, "/policies", groups=("staff",))
def list_policies(identity: Identity) -> Response:
    """Policies by status, newest first, a page at a time."""
    request = bp.current_request
    limit, token = page_params(request, extra=("status",))
    status = (request.query_params or {}).get("status", "active")
    if status not in POLICY_STATUSES:
        raise BadRequest(
            "invalid_parameter",
            "Paramètre invalide.",
            [FieldError("status", "valeurs possibles : " + ", ".join(POLICY_STATUSES))],
        )
    try:
        return json_response(policies.list_all(status, limit, token))
    except InvalidCursor:
        raise _bad_token() from None


@api_route(bp, "/policies/{policy_id}", groups=("owners", "staff"))
def get_policy(identity: Identity, policy_id: str) -> Response:
    """One policy, to its owner or to staff; anyone else gets 404."""
    return json_response(policies.policy_out(policies.get_visible_policy(identity, policy_id)))


@api_route(bp, "/policies/{policy_id}/attestation", groups=("owners", "staff"))
def get_attestation(identity: Identity, policy_id: str) -> Response:
    """The printable attestation of cover, in French."""
    record = policies.get_visible_policy(identity, policy_id)
    today = clock.today_paris(clock.now())
    page = attestation.render(record, today, prevention.limits_in_force(record.policy_id, today))
    return Response(
        body=page,
        status_code=200,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Content-Disposition": f'inline; filename="attestation-{record.policy_id}.html"',
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
