"""``POST /subscriptions``: online subscription from a quote, idempotent."""

from __future__ import annotations

import re

from chalice import Blueprint, Response

from .. import clock, subscribing
from ..errors import BadRequest, FieldError
from ..http import api_route, json_response, read_body, validate
from ..models import SubscriptionIn

bp = Blueprint(__name__)
_KEY = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


@api_route(bp, "/subscriptions", "POST")
def subscribe() -> Response:
    """Create the policy, the owner's account and the SEPA mandate; a repeat returns the same policy."""
    request = bp.current_request
    key = request.headers.get("idempotency-key")
    if key is not None and not _KEY.match(key):
        raise BadRequest(
            "invalid_idempotency_key",
            "En-tête Idempotency-Key invalide.",
            [FieldError("Idempotency-Key", "8 à 128 caractères parmi lettres, chiffres, . _ : -")],
        )
    data = validate(SubscriptionIn, read_body(request))
    outcome = subscribing.subscribe(data, key, clock.now())
    headers = {"Location": f"/policies/{outcome.body['policy_id']}"}
    if outcome.replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_response(outcome.body, outcome.status, headers)
