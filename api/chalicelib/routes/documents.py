"""Documents of a claim: presigned upload, server-side check, list, presigned download."""

from __future__ import annotations

from chalice import Blueprint, Response

from .. import clock, documents
from ..auth import Identity
from ..http import api_route, json_response, read_body, validate
from ..models import DocumentIn

bp = Blueprint(__name__)


@api_route(bp, "/claims/{claim_id}/documents", "POST", groups=("owners", "staff"))
def request_upload(identity: Identity, claim_id: str) -> Response:
    """Record a pending document and answer the presigned POST to upload it."""
    data = validate(DocumentIn, read_body(bp.current_request))
    answer = documents.request_upload(identity, claim_id, data, clock.now())
    location = f"/claims/{claim_id}/documents/{answer.document.document_id}"
    return json_response(answer, 201, {"Location": location})


@api_route(bp, "/claims/{claim_id}/documents", groups=("owners", "staff"))
def list_documents(identity: Identity, claim_id: str) -> Response:
    """The documents of a claim."""
    return json_response(documents.list_documents(identity, claim_id))


@api_route(bp, "/claims/{claim_id}/documents/{document_id}/confirm", "POST", groups=("owners", "staff"))
def confirm(identity: Identity, claim_id: str, document_id: str) -> Response:
    """Check the uploaded file (size, type, first bytes) and attach it to the claim, or refuse it."""
    return json_response(documents.confirm(identity, claim_id, document_id, clock.now()))


@api_route(bp, "/claims/{claim_id}/documents/{document_id}/download", groups=("owners", "staff"))
def download(identity: Identity, claim_id: str, document_id: str) -> Response:
    """A presigned GET of an accepted document, valid 15 minutes at most."""
    return json_response(documents.download(identity, claim_id, document_id, clock.now()))
