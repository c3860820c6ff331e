"""Where claim documents' bytes live: interface and S3 (``DOCUMENTS_BUCKET``).

The browser uploads straight to S3 through a presigned POST (its policy limits the
size and fixes the content type) and downloads through a presigned GET. The server
never trusts the POST policy alone (moto does not enforce it): it reads the object's
size, type and first bytes before attaching a document.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from . import config
from .storage import _client_error, _code

__all__ = ["DocumentFiles", "ObjectInfo", "S3DocumentFiles"]


@dataclass(frozen=True)
class ObjectInfo:
    """What S3 says of an uploaded object."""

    size: int
    content_type: str
    version: str | None = None


class DocumentFiles(Protocol):
    """Presigned uploads and downloads, and the checks of an uploaded object."""

    def upload_form(
        self, key: str, content_type: str, max_bytes: int, expires_in: int
    ) -> tuple[str, dict[str, str]]:
        """URL and form fields of a presigned POST for exactly ``key`` and ``content_type``."""

    def head(self, key: str) -> ObjectInfo | None:
        """Size and type of the object, or ``None`` if nothing was uploaded."""

    def first_bytes(self, key: str, count: int, version: str | None = None) -> bytes:
        """The first ``count`` bytes of the object (of that version; fewer if it is shorter)."""

    def download_url(
        self, key: str, filename: str, content_type: str, expires_in: int, version: str | None = None
    ) -> str:
        """A presigned GET of the object (of that version), valid ``expires_in`` seconds."""


class S3DocumentFiles:
    """Objects of ``bucket``."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    def upload_form(
        self, key: str, content_type: str, max_bytes: int, expires_in: int
    ) -> tuple[str, dict[str, str]]:
        post = config.client("s3").generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[
                ["content-length-range", 1, max_bytes],
                {"Content-Type": content_type},
            ],
            ExpiresIn=expires_in,
        )
        return str(post["url"]), {str(k): str(v) for k, v in post["fields"].items()}

    def head(self, key: str) -> ObjectInfo | None:
        client_error = _client_error()
        try:
            response = config.client("s3").head_object(Bucket=self.bucket, Key=key)
        except client_error as exc:
            if _code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        version = response.get("VersionId")
        return ObjectInfo(
            size=int(response.get("ContentLength", 0)),
            content_type=str(response.get("ContentType", "")),
            version=str(version) if version and version != "null" else None,
        )

    def first_bytes(self, key: str, count: int, version: str | None = None) -> bytes:
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key, "Range": f"bytes=0-{count - 1}"}
        if version:
            params["VersionId"] = version
        response: dict[str, Any] = config.client("s3").get_object(**params)
        body = response["Body"]
        try:
            return bytes(body.read(count))
        finally:
            body.close()

    def download_url(
        self, key: str, filename: str, content_type: str, expires_in: int, version: str | None = None
    ) -> str:
        safe = "".join(c if c.isascii() and (c.isalnum() or c in "._- ") else "_" for c in filename)
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": key,
            "ResponseContentType": content_type,
            "ResponseContentDisposition": f'attachment; filename="{safe or "document"}"',
        }
        if version:
            params["VersionId"] = version
        return str(
            config.client("s3").generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in)
        )
