"""Publish the built site (``build/site``) to the site bucket, then invalidate CloudFront.

    python -m infra.publish_site --stack assurcredit-prod             # bucket and distribution from the stack outputs
    python -m infra.publish_site --bucket B --distribution-id E123    # or given

The objects carry the headers ``site/serve.py`` sends locally, read from that module so
the two hosts cannot drift: its Content-Type per extension, ``Cache-Control`` immutable
for the content-hashed folders and ``no-cache`` elsewhere. CloudFront cannot choose
between ``FILE`` and ``FILE.gz`` as serve.py does, and compresses on the fly only files
of 1 kB to 10 MB (the engine snapshot is about 30 MB), so when ``FILE.gz`` exists its
bytes are uploaded under the key ``FILE`` with ``Content-Encoding: gzip`` (every browser
accepts gzip) and the ``.gz`` keys themselves are not published. ``FILE.zst`` (every file
of the engine's folders has one) keeps its own key, with ``Content-Encoding: zstd`` and the
other headers of ``FILE``: the site's CloudFront function asks for it instead of ``FILE``
when the browser accepts zstd. Unchanged objects (same SHA-256, kept in the object
metadata) are skipped; pages go last, so a new page never points at an asset that is not
there yet. Old objects are kept unless ``--delete``.
With ``--stack``, ``api-config.json`` (the API's URL and the Cognito client, see
:func:`site_config`) is published too.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import mimetypes
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

__all__ = [
    "DEFAULT_SITE_DIR",
    "SITE_CONFIG_KEY",
    "Upload",
    "load_site_server",
    "plan_uploads",
    "publish_site",
    "site_config",
]

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SITE_DIR = REPO / "build" / "site"
SITE_SERVER = REPO / "site" / "serve.py"
SITE_CONFIG_KEY = "api-config.json"


def load_site_server() -> Any:
    """``site/serve.py``, loaded by path (``site`` is not a package, and its name is taken)."""
    spec = importlib.util.spec_from_file_location("_assurcredit_site_serve", SITE_SERVER)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(SITE_SERVER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def site_config(
    api_url: str, region: str, env: Mapping[str, str], *, cognito_endpoint: str | None = None
) -> dict[str, str]:
    """What the site's pages read from ``/api-config.json``: the API and the Cognito client to log in with.

    ``cognito_endpoint`` is where the pages send ``InitiateAuth`` (moto locally, Cognito's
    regional endpoint otherwise).
    """
    return {
        "api_url": api_url if api_url.endswith("/") else f"{api_url}/",
        "region": region,
        "user_pool_id": env["USER_POOL_ID"],
        "user_pool_client_id": env["USER_POOL_CLIENT_ID"],
        "cognito_endpoint": cognito_endpoint or f"https://cognito-idp.{region}.amazonaws.com/",
    }


@dataclass(frozen=True)
class Upload:
    """One object to put: its key, the file whose bytes it gets, and its headers."""

    key: str
    source: Path
    content_type: str
    cache_control: str
    content_encoding: str | None

    def sha256(self) -> str:
        digest = hashlib.sha256()
        with open(self.source, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()


def plan_uploads(site_dir: str | Path = DEFAULT_SITE_DIR) -> list[Upload]:
    """The objects of a built site, assets before pages, with serve.py's headers."""
    root = Path(site_dir).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"{root} n'existe pas : construisez d'abord le site (make site)")
    serve = load_site_server()
    types: dict[str, str] = dict(serve.Handler.extensions_map)

    def content_type(key: str) -> str:
        suffix = Path(key).suffix
        found = types.get(suffix) or types.get(suffix.lower()) or mimetypes.guess_type(key)[0]
        return found or "application/octet-stream"

    def uploads() -> Iterator[Upload]:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            relative = path.relative_to(root).as_posix()
            if relative.endswith(".zst") and (path.parent / path.name[:-4]).is_file():
                # its own key, served in FILE's stead to browsers that accept zstd
                plain = f"/{relative[:-4]}"
                yield Upload(relative, path, content_type(plain), serve.cache_control(plain), "zstd")
                continue
            if relative.endswith(".gz"):
                if (path.parent / path.name[:-3]).is_file():
                    continue  # published as the Content-Encoding of its sibling
                relative = relative[:-3]
            key = relative
            gz = root / f"{relative}.gz"
            cache = serve.cache_control(f"/{key}")
            yield Upload(
                key, gz if gz.is_file() else path, content_type(key), cache, "gzip" if gz.is_file() else None
            )

    return sorted(uploads(), key=lambda upload: (upload.key.endswith(".html"), upload.key))


def publish_site(
    bucket: str,
    site_dir: str | Path = DEFAULT_SITE_DIR,
    *,
    distribution_id: str | None = None,
    config: Mapping[str, str] | None = None,
    delete: bool = False,
    region: str | None = None,
    endpoint_url: str | None = None,
) -> dict[str, int]:
    """Upload the changed objects, optionally delete stale ones, invalidate the distribution.

    ``config`` (see :func:`site_config`) is published as ``api-config.json``. Returns
    counts: ``uploaded``, ``unchanged``, ``deleted``, ``invalidated`` (0 or 1).
    """
    session = boto3.session.Session(region_name=region)
    s3 = session.client("s3", endpoint_url=endpoint_url)
    plan = plan_uploads(site_dir)
    existing: dict[str, str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        existing |= {item["Key"]: item["ETag"] for item in page.get("Contents", [])}
    counts = {"uploaded": 0, "unchanged": 0, "deleted": 0, "invalidated": 0}
    for upload in plan:
        digest = upload.sha256()
        if upload.key in existing:
            metadata = s3.head_object(Bucket=bucket, Key=upload.key).get("Metadata", {})
            if metadata.get("sha256") == digest:
                counts["unchanged"] += 1
                continue
        extra: dict[str, Any] = {
            "ContentType": upload.content_type,
            "CacheControl": upload.cache_control,
            "Metadata": {"sha256": digest},
        }
        if upload.content_encoding:
            extra["ContentEncoding"] = upload.content_encoding
        s3.upload_file(str(upload.source), bucket, upload.key, ExtraArgs=extra)
        counts["uploaded"] += 1
    published = {upload.key for upload in plan}
    if config is not None:
        body = json.dumps(dict(config), indent=2).encode("utf-8")
        s3.put_object(
            Bucket=bucket,
            Key=SITE_CONFIG_KEY,
            Body=body,
            ContentType="application/json",
            CacheControl="no-cache",
        )
        published.add(SITE_CONFIG_KEY)
        counts["uploaded"] += 1
    if delete:
        stale = sorted(set(existing) - published)
        for start in range(0, len(stale), 1000):
            batch = [{"Key": key} for key in stale[start : start + 1000]]
            s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        counts["deleted"] = len(stale)
    if distribution_id and (counts["uploaded"] or counts["deleted"]):
        session.client("cloudfront", endpoint_url=endpoint_url).create_invalidation(
            DistributionId=distribution_id,
            InvalidationBatch={
                "Paths": {"Quantity": 1, "Items": ["/*"]},
                "CallerReference": str(time.time_ns()),
            },
        )
        counts["invalidated"] = 1
    return counts


def _stack_outputs(stack: str, region: str | None) -> dict[str, str]:
    cloudformation = boto3.session.Session(region_name=region).client("cloudformation")
    outputs = cloudformation.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    return {item["OutputKey"]: item["OutputValue"] for item in outputs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.publish_site", description="Publie le site construit."
    )
    parser.add_argument("--site-dir", default=str(DEFAULT_SITE_DIR))
    parser.add_argument(
        "--stack", help="pile CloudFormation : SiteBucketName et SiteDistributionId de ses sorties"
    )
    parser.add_argument("--bucket")
    parser.add_argument("--distribution-id")
    parser.add_argument("--region")
    parser.add_argument("--delete", action="store_true", help="supprime les objets absents du site construit")
    args = parser.parse_args(argv)
    bucket, distribution_id = args.bucket, args.distribution_id
    config = None
    if args.stack:
        outputs = _stack_outputs(args.stack, args.region)
        bucket = bucket or outputs["SiteBucketName"]
        distribution_id = distribution_id or outputs["SiteDistributionId"]
        region = boto3.session.Session(region_name=args.region).region_name
        env = {"USER_POOL_ID": outputs["UserPoolId"], "USER_POOL_CLIENT_ID": outputs["UserPoolClientId"]}
        config = site_config(outputs["EndpointURL"], region, env)  # EndpointURL: from chalice package
    if not bucket:
        parser.error("--bucket ou --stack est requis")
    counts = publish_site(
        bucket,
        args.site_dir,
        distribution_id=distribution_id,
        config=config,
        delete=args.delete,
        region=args.region,
    )
    print(", ".join(f"{name} : {count}" for name, count in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
