"""Claim documents: presigned POST scoped to the claim, server-side checks of the object, presigned GET."""

from __future__ import annotations

import datetime as dt
import urllib.parse
from typing import Any

import pytest

from .claims_helpers import GOOD, declaration, insured_with_limit
from .conftest import REGION, assert_error, body_of

MB10 = 10 * 1024 * 1024
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


@pytest.fixture
def claim(
    client: Any, tokens: Any, aws: dict[str, str], policy: dict[str, Any], monkeypatch: Any
) -> dict[str, Any]:
    """A claim in collection, its owner, staff."""
    s = insured_with_limit(client, tokens, aws, policy, monkeypatch)
    response = client.post(
        f"/policies/{s['pid']}/declarations", declaration(GOOD, s["start"]), token=s["owner"]
    )
    assert response.status_code == 201, response.body
    return {"id": body_of(response)["claim_id"], "owner": s["owner"], "staff": s["staff"], "aws": aws}


def _ask(
    client: Any, c: dict[str, Any], token: str | None = None, **overrides: Any
) -> tuple[Any, dict[str, Any]]:
    body = {
        "kind": "invoice",
        "filename": "facture F-2026-001.pdf",
        "content_type": "application/pdf",
        "size": 1000,
    }
    body.update(overrides)
    response = client.post(f"/claims/{c['id']}/documents", body, token=token or c["owner"])
    return response, body_of(response)


def _s3() -> Any:
    import boto3

    return boto3.client("s3", region_name=REGION)


def _put(c: dict[str, Any], answer: dict[str, Any], data: bytes, content_type: str | None = None) -> None:
    """Simulate the browser's upload (moto does not enforce the POST policy anyway)."""
    fields = answer["upload"]["fields"]
    _s3().put_object(
        Bucket=c["aws"]["DOCUMENTS_BUCKET"],
        Key=fields["key"],
        Body=data,
        ContentType=content_type or fields["Content-Type"],
    )


def _confirm(client: Any, c: dict[str, Any], answer: dict[str, Any], token: str | None = None) -> Any:
    doc = answer["document"]["document_id"]
    return client.post(f"/claims/{c['id']}/documents/{doc}/confirm", None, token=token or c["owner"])


def test_upload_form_is_scoped_to_the_claim_type_size_and_15_minutes(
    client: Any, claim: dict[str, Any]
) -> None:
    import base64
    import json

    response, answer = _ask(client, claim)
    assert response.status_code == 201, response.body
    doc = answer["document"]
    assert (doc["status"], doc["kind"], doc["claim_id"], doc["created_by_role"]) == (
        "pending",
        "invoice",
        claim["id"],
        "owner",
    )
    assert response.headers["Location"] == f"/claims/{claim['id']}/documents/{doc['document_id']}"
    fields = answer["upload"]["fields"]
    assert fields["key"] == f"claims/{claim['id']}/{doc['document_id']}"
    assert fields["Content-Type"] == "application/pdf"
    assert answer["upload"]["max_bytes"] == MB10
    assert claim["aws"]["DOCUMENTS_BUCKET"] in answer["upload"]["url"]
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert ["content-length-range", 1, MB10] in policy["conditions"]
    assert {"Content-Type": "application/pdf"} in policy["conditions"]
    assert {"key": fields["key"]} in policy["conditions"]
    expiration = dt.datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert dt.timedelta(0) < expiration - dt.datetime.now(dt.UTC) <= dt.timedelta(seconds=901)
    listed = body_of(client.get(f"/claims/{claim['id']}/documents", token=claim["owner"]))["items"]
    assert listed == [doc]


def test_upload_through_the_presigned_post_then_accepted_into_the_history(
    client: Any, claim: dict[str, Any]
) -> None:
    import requests

    _, answer = _ask(client, claim)
    upload = answer["upload"]
    sent = requests.post(
        upload["url"],
        data=upload["fields"],
        files={"file": ("facture.pdf", PDF, "application/pdf")},
        timeout=10,
    )
    assert sent.status_code in (200, 201, 204), sent.text
    response = _confirm(client, claim, answer)
    assert response.status_code == 200, response.body
    doc = body_of(response)
    assert (doc["status"], doc["size"], doc["rejection_reason"]) == ("accepted", len(PDF), None)
    assert doc["checked_at"] is not None
    history = body_of(client.get(f"/claims/{claim['id']}", token=claim["owner"]))["history"]
    assert history[-1]["action"] == "document_attached"
    assert history[-1]["by_role"] == "owner"
    assert history[-1]["detail"]["document_id"] == doc["document_id"]
    assert history[-1]["status"] == "collection"
    # Confirming again changes nothing and adds no history entry.
    again = _confirm(client, claim, answer)
    assert body_of(again) == doc
    assert len(body_of(client.get(f"/claims/{claim['id']}", token=claim["owner"]))["history"]) == len(history)


@pytest.mark.parametrize(
    ("content_type", "data", "filename"),
    [("image/png", PNG, "relance.png"), ("image/jpeg", JPEG, "mise-en-demeure.jpg")],
)
def test_real_png_and_jpeg_headers_are_accepted(
    client: Any, claim: dict[str, Any], content_type: str, data: bytes, filename: str
) -> None:
    _, answer = _ask(
        client, claim, kind="reminder", filename=filename, content_type=content_type, size=len(data)
    )
    _put(claim, answer, data)
    response = _confirm(client, claim, answer)
    assert response.status_code == 200, response.body
    assert body_of(response)["status"] == "accepted"


def _rejected(client: Any, claim: dict[str, Any], answer: dict[str, Any], words: str) -> None:
    error = assert_error(_confirm(client, claim, answer), 422, "document_rejected")
    assert words in error["message"]
    assert error["fields"][0]["path"] == "file"
    docs = body_of(client.get(f"/claims/{claim['id']}/documents", token=claim["owner"]))["items"]
    (doc,) = [d for d in docs if d["document_id"] == answer["document"]["document_id"]]
    assert doc["status"] == "rejected"
    assert words in doc["rejection_reason"]
    history = body_of(client.get(f"/claims/{claim['id']}", token=claim["owner"]))["history"]
    assert all(h["action"] != "document_attached" for h in history)
    # Nothing deleted: the object is still there for the record.
    _s3().head_object(Bucket=claim["aws"]["DOCUMENTS_BUCKET"], Key=answer["upload"]["fields"]["key"])
    doc_id = answer["document"]["document_id"]
    assert_error(
        client.get(f"/claims/{claim['id']}/documents/{doc_id}/download", token=claim["owner"]),
        409,
        "document_not_accepted",
    )


def test_wrong_type_is_refused(client: Any, claim: dict[str, Any]) -> None:
    _, answer = _ask(client, claim)
    _put(claim, answer, PDF, content_type="text/html")
    _rejected(client, claim, answer, "ne correspond pas au type déclaré")


def test_fake_pdf_is_refused_then_a_real_one_can_be_sent_again(client: Any, claim: dict[str, Any]) -> None:
    _, answer = _ask(client, claim)
    _put(claim, answer, b"MZ\x90\x00 not a pdf at all")
    _rejected(client, claim, answer, "n'est pas un PDF valide")
    _put(claim, answer, PDF)
    response = _confirm(client, claim, answer)
    assert response.status_code == 200, response.body
    assert (body_of(response)["status"], body_of(response)["rejection_reason"]) == ("accepted", None)


def test_png_declared_as_pdf_is_refused(client: Any, claim: dict[str, Any]) -> None:
    _, answer = _ask(client, claim)
    _put(claim, answer, PNG)
    _rejected(client, claim, answer, "n'est pas un PDF valide")


def test_oversize_object_is_refused(client: Any, claim: dict[str, Any]) -> None:
    _, answer = _ask(client, claim, size=MB10)
    _put(claim, answer, PDF + b"\0" * (MB10 + 1 - len(PDF)))
    _rejected(client, claim, answer, "dépasse 10 Mo")


def test_confirm_before_upload_is_a_conflict_and_stays_pending(client: Any, claim: dict[str, Any]) -> None:
    _, answer = _ask(client, claim)
    assert_error(_confirm(client, claim, answer), 409, "document_not_uploaded")
    docs = body_of(client.get(f"/claims/{claim['id']}/documents", token=claim["owner"]))["items"]
    assert docs[0]["status"] == "pending"


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"kind": "selfie"}, "kind"),
        ({"content_type": "text/html"}, "content_type"),
        ({"size": MB10 + 1}, "size"),
        ({"size": 0}, "size"),
        ({"filename": "../../etc/passwd"}, "filename"),
        ({"filename": ""}, "filename"),
    ],
)
def test_upload_request_is_validated(
    client: Any, claim: dict[str, Any], overrides: dict[str, Any], path: str
) -> None:
    response, _ = _ask(client, claim, **overrides)
    error = assert_error(response, 422, "validation_error")
    assert path in [f["path"] for f in error["fields"]]
    assert body_of(client.get(f"/claims/{claim['id']}/documents", token=claim["owner"]))["items"] == []


def test_presigned_get_lasts_at_most_15_minutes_for_owner_and_staff(
    client: Any, claim: dict[str, Any]
) -> None:
    import requests

    _, answer = _ask(client, claim)
    _put(claim, answer, PDF)
    assert _confirm(client, claim, answer).status_code == 200
    doc_id = answer["document"]["document_id"]
    for token in (claim["owner"], claim["staff"]):
        response = client.get(f"/claims/{claim['id']}/documents/{doc_id}/download", token=token)
        assert response.status_code == 200, response.body
        link = body_of(response)
        assert link["expires_in"] <= 900
        query = urllib.parse.parse_qs(urllib.parse.urlparse(link["url"]).query)
        assert 0 < int(query["X-Amz-Expires"][0]) <= 900
        assert urllib.parse.urlparse(link["url"]).path.endswith(answer["upload"]["fields"]["key"])
        fetched = requests.get(link["url"], timeout=10)
        assert fetched.status_code == 200
        assert fetched.content == PDF


def test_a_replaced_object_after_acceptance_is_not_what_is_downloaded(
    client: Any, claim: dict[str, Any]
) -> None:
    import requests

    _, answer = _ask(client, claim)
    _put(claim, answer, PDF)
    assert _confirm(client, claim, answer).status_code == 200
    _put(claim, answer, b"%PDF- but swapped after the check")  # the upload form is still valid
    doc_id = answer["document"]["document_id"]
    link = body_of(client.get(f"/claims/{claim['id']}/documents/{doc_id}/download", token=claim["owner"]))
    assert requests.get(link["url"], timeout=10).content == PDF


def test_staff_can_upload_and_it_is_recorded_as_staff(client: Any, claim: dict[str, Any]) -> None:
    response, answer = _ask(client, claim, token=claim["staff"], kind="court_paper")
    assert response.status_code == 201, response.body
    assert answer["document"]["created_by_role"] == "staff"
    _put(claim, answer, PDF)
    assert body_of(_confirm(client, claim, answer, token=claim["staff"]))["status"] == "accepted"
    history = body_of(client.get(f"/claims/{claim['id']}", token=claim["owner"]))["history"]
    assert (history[-1]["action"], history[-1]["by_role"]) == ("document_attached", "staff")


def test_documents_are_private_to_the_owner_and_staff(
    client: Any, tokens: Any, claim: dict[str, Any]
) -> None:
    _, answer = _ask(client, claim)
    _put(claim, answer, PDF)
    assert _confirm(client, claim, answer).status_code == 200
    doc_id = answer["document"]["document_id"]
    cid = claim["id"]
    stranger = tokens("owners")
    body = {"kind": "invoice", "filename": "x.pdf", "content_type": "application/pdf", "size": 10}
    for response in (
        client.post(f"/claims/{cid}/documents", body, token=stranger),
        client.get(f"/claims/{cid}/documents", token=stranger),
        client.post(f"/claims/{cid}/documents/{doc_id}/confirm", None, token=stranger),
        client.get(f"/claims/{cid}/documents/{doc_id}/download", token=stranger),
    ):
        assert_error(response, 404, "claim_not_found")
    broker = tokens("brokers")
    for response in (
        client.post(f"/claims/{cid}/documents", body, token=broker),
        client.get(f"/claims/{cid}/documents/{doc_id}/download", token=broker),
    ):
        assert_error(response, 403, "forbidden")
    assert client.get(f"/claims/{cid}/documents/{doc_id}/download").status_code == 401
    assert_error(
        client.get(f"/claims/{cid}/documents/DOC-NOPE/download", token=claim["owner"]),
        404,
        "document_not_found",
    )
    assert_error(client.get("/claims/SIN-NOPE/documents", token=claim["owner"]), 404, "claim_not_found")
