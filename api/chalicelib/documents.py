"""Documents of a claim: invoices, reminders, formal notices, court papers (PDF, JPEG, PNG, 10 MB at most).

The owner (or staff) asks for an upload: the document is recorded ``pending`` on the claim
and a presigned POST scoped to ``claims/{claim_id}/{document_id}`` is answered (size
range and exact type in its policy, valid 15 minutes). Since a POST policy may not be
enforced (moto does not), confirming the upload checks the object itself: its size and
type (``head_object``) and its first bytes (the PDF, JPEG or PNG signature of the declared
type). An accepted document is attached to the claim's history (who, when) and pinned to
the object version checked; a refused one is marked ``rejected`` with the reason, nothing
is deleted, and the owner may upload again and confirm again. Downloads are presigned GETs
valid 15 minutes at most, for the claim's owner and staff.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from typing import Any

from . import services
from .auth import Identity
from .claim_storage import ClaimRecord, StaleClaim
from .claims import _entry, get_visible_claim
from .errors import Conflict, FieldError, NotFound, Unprocessable
from .models import (
    MAX_DOCUMENT_BYTES,
    DocumentIn,
    DocumentList,
    DocumentOut,
    DocumentUploadOut,
    DownloadOut,
    UploadFormOut,
)
from .storage import iso, parse_iso

__all__ = [
    "DOWNLOAD_SECONDS",
    "MAGIC",
    "MAX_DOCUMENTS",
    "UPLOAD_SECONDS",
    "confirm",
    "download",
    "list_documents",
    "request_upload",
]

UPLOAD_SECONDS = 900
DOWNLOAD_SECONDS = 900
MAX_DOCUMENTS = 50
# The first bytes of each accepted type.
MAGIC = {
    "application/pdf": b"%PDF-",
    "image/jpeg": b"\xff\xd8\xff",
    "image/png": b"\x89PNG\r\n\x1a\n",
}
TYPE_NAMES = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}


def document_key(claim_id: str, document_id: str) -> str:
    """The S3 key of a document: always under its claim."""
    return f"claims/{claim_id}/{document_id}"


def _out(claim_id: str, d: dict[str, Any]) -> DocumentOut:
    return DocumentOut(
        document_id=d["document_id"],
        claim_id=claim_id,
        kind=d["kind"],
        filename=d["filename"],
        content_type=d["content_type"],
        size=d["size"],
        status=d["status"],
        created_at=parse_iso(d["created_at"]),
        created_by_role=d["created_by_role"],
        checked_at=parse_iso(d["checked_at"]) if d.get("checked_at") else None,
        rejection_reason=d.get("rejection_reason"),
    )


def _busy() -> Conflict:
    return Conflict(
        "claim_busy", "Le dossier vient d'être modifié : réessayez.", headers={"Retry-After": "1"}
    )


def _find(claim: ClaimRecord, document_id: str) -> dict[str, Any]:
    for d in claim.documents:
        if d["document_id"] == document_id:
            return d
    raise NotFound("document_not_found", "Document introuvable.")


def _write(
    identity: Identity,
    claim_id: str,
    change: Callable[[ClaimRecord], tuple[list[dict[str, Any]], dict[str, Any] | None, Any]],
) -> Any:
    """Read the claim, compute ``(documents, history entry, result)``, write on condition of the version; retry."""
    svc = services.get()
    for _ in range(5):
        claim = get_visible_claim(identity, claim_id)
        documents, entry, result = change(claim)
        try:
            svc.claims.update(claim, {"documents": documents}, entry)
        except StaleClaim:
            continue
        return result
    raise _busy()


def request_upload(
    identity: Identity, claim_id: str, data: DocumentIn, now: dt.datetime
) -> DocumentUploadOut:
    """Record a pending document and answer the presigned POST to upload it."""
    document_id = f"DOC-{secrets.token_hex(8).upper()}"

    def change(claim: ClaimRecord) -> tuple[list[dict[str, Any]], None, dict[str, Any]]:
        if len(claim.documents) >= MAX_DOCUMENTS:
            raise Conflict(
                "too_many_documents",
                f"Le dossier compte déjà {MAX_DOCUMENTS} documents : contactez votre gestionnaire.",
            )
        record = {
            "document_id": document_id,
            "key": document_key(claim.claim_id, document_id),
            "kind": data.kind,
            "filename": data.filename,
            "content_type": data.content_type,
            "size": data.size,
            "status": "pending",
            "created_at": iso(now),
            "created_by_role": "staff" if "staff" in identity.groups else "owner",
            "created_by": identity.sub,
        }
        return [*claim.documents, record], None, record

    record = _write(identity, claim_id, change)
    url, fields = services.get().files.upload_form(
        record["key"], data.content_type, MAX_DOCUMENT_BYTES, UPLOAD_SECONDS
    )
    return DocumentUploadOut(
        document=_out(claim_id, record),
        upload=UploadFormOut(
            url=url,
            fields=fields,
            expires_at=now + dt.timedelta(seconds=UPLOAD_SECONDS),
            max_bytes=MAX_DOCUMENT_BYTES,
        ),
    )


def _check(record: dict[str, Any]) -> tuple[str | None, int, str | None]:
    """``(reason of refusal or None, actual size, version checked)`` of the uploaded object."""
    files = services.get().files
    info = files.head(record["key"])
    if info is None:
        raise Conflict(
            "document_not_uploaded",
            "Le fichier n'a pas encore été reçu : envoyez-le avec le formulaire fourni, puis confirmez.",
        )
    declared = record["content_type"]
    name = TYPE_NAMES[declared]
    if info.size > MAX_DOCUMENT_BYTES:
        return "Le fichier dépasse 10 Mo.", info.size, info.version
    if info.size < 1:
        return "Le fichier est vide.", info.size, info.version
    actual_type = info.content_type.split(";")[0].strip().lower()
    if actual_type != declared:
        return (
            f"Le type du fichier reçu ({actual_type or 'inconnu'}) ne correspond pas au type déclaré ({declared}).",
            info.size,
            info.version,
        )
    head = files.first_bytes(record["key"], 8, info.version)
    if not head.startswith(MAGIC[declared]):
        return f"Le contenu du fichier n'est pas un {name} valide.", info.size, info.version
    return None, info.size, info.version


def confirm(identity: Identity, claim_id: str, document_id: str, now: dt.datetime) -> DocumentOut:
    """Check the uploaded object; attach it to the claim's history, or mark it rejected and answer 422."""
    claim = get_visible_claim(identity, claim_id)
    record = _find(claim, document_id)
    if record["status"] == "accepted":
        return _out(claim.claim_id, record)
    reason, size, version = _check(record)

    def change(claim: ClaimRecord) -> tuple[list[dict[str, Any]], dict[str, Any] | None, dict[str, Any]]:
        current = _find(claim, document_id)
        if current["status"] == "accepted":  # confirmed meanwhile
            return claim.documents, None, current
        updated = {**current, "size": size, "checked_at": iso(now)}
        entry = None
        if reason is None:
            updated.update(status="accepted", version=version)
            updated.pop("rejection_reason", None)
            entry = _entry(
                identity,
                "document_attached",
                claim.status,
                now,
                document_id=document_id,
                kind=current["kind"],
                filename=current["filename"],
            )
        else:
            updated.update(status="rejected", rejection_reason=reason)
        documents = [updated if d["document_id"] == document_id else d for d in claim.documents]
        return documents, entry, updated

    result = _write(identity, claim_id, change)
    if result["status"] == "rejected":
        raise Unprocessable(
            "document_rejected",
            f"Document refusé : {reason} Envoyez un fichier conforme puis confirmez de nouveau.",
            [FieldError("file", str(reason))],
        )
    return _out(claim.claim_id, result)


def list_documents(identity: Identity, claim_id: str) -> DocumentList:
    """Every document of the claim (pending, accepted, rejected), oldest first."""
    claim = get_visible_claim(identity, claim_id)
    return DocumentList(items=[_out(claim.claim_id, d) for d in claim.documents])


def download(identity: Identity, claim_id: str, document_id: str, now: dt.datetime) -> DownloadOut:
    """A presigned GET of an accepted document, valid 15 minutes at most."""
    claim = get_visible_claim(identity, claim_id)
    record = _find(claim, document_id)
    if record["status"] != "accepted":
        raise Conflict(
            "document_not_accepted",
            "Ce document n'a pas été vérifié et accepté : il n'est pas téléchargeable.",
        )
    url = services.get().files.download_url(
        record["key"], record["filename"], record["content_type"], DOWNLOAD_SECONDS, record.get("version")
    )
    return DownloadOut(
        url=url, expires_in=DOWNLOAD_SECONDS, expires_at=now + dt.timedelta(seconds=DOWNLOAD_SECONDS)
    )
