"""Settings read from the environment, and lazily created boto3 clients.

Nothing here touches AWS at import time: boto3 is imported on the first
client request, so the app module imports fast and tests can swap the
environment (moto) before any client exists. ``AWS_ENDPOINT_URL`` is honoured
by boto3 itself.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any

__all__ = ["Settings", "client", "reset", "settings"]

DEFAULT_REGION = "eu-west-3"
QUOTE_VALIDITY_DAYS = 30
# Credit limits decided at once on the register's grade: grade 1 (best) to this one, up to the cap (EUR).
LIMIT_AUTO_MAX_GRADE = 4
LIMIT_AUTO_CAP = "50000"


@dataclass(frozen=True)
class Settings:
    """Every value the API reads from its environment."""

    stage: str
    region: str
    quotes_table: str
    policies_table: str
    idempotency_table: str
    buyers_table: str
    limit_requests_table: str
    buyer_register_table: str
    alerts_table: str
    claims_table: str
    policy_years_table: str
    documents_bucket: str
    user_pool_id: str
    user_pool_client_id: str
    jwks_url_override: str
    quote_validity_days: int
    idempotency_wait_seconds: float
    limit_auto_max_grade: int
    limit_auto_cap: str
    mail_from: str = ""

    @property
    def is_local(self) -> bool:
        """Whether this is the local stage (moto, test keys)."""
        return self.stage == "local"

    @property
    def issuer(self) -> str:
        """The Cognito issuer every token must name."""
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"

    @property
    def jwks_url(self) -> str:
        """Where the signing keys are read; the override works in the local stage only."""
        if self.is_local and self.jwks_url_override:
            return self.jwks_url_override
        return f"{self.issuer}/.well-known/jwks.json"


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


@functools.cache
def settings() -> Settings:
    """The settings of this process (cached; :func:`reset` forgets them)."""
    return Settings(
        stage=_env("STAGE", "dev"),
        region=_env("AWS_REGION") or _env("AWS_DEFAULT_REGION") or DEFAULT_REGION,
        quotes_table=_env("QUOTES_TABLE"),
        policies_table=_env("POLICIES_TABLE"),
        idempotency_table=_env("IDEMPOTENCY_TABLE"),
        buyers_table=_env("BUYERS_TABLE"),
        limit_requests_table=_env("LIMIT_REQUESTS_TABLE"),
        buyer_register_table=_env("BUYER_REGISTER_TABLE"),
        alerts_table=_env("ALERTS_TABLE"),
        claims_table=_env("CLAIMS_TABLE"),
        policy_years_table=_env("POLICY_YEARS_TABLE"),
        documents_bucket=_env("DOCUMENTS_BUCKET"),
        user_pool_id=_env("USER_POOL_ID"),
        user_pool_client_id=_env("USER_POOL_CLIENT_ID"),
        jwks_url_override=_env("JWKS_URL"),
        quote_validity_days=int(_env("QUOTE_VALIDITY_DAYS", str(QUOTE_VALIDITY_DAYS))),
        idempotency_wait_seconds=float(_env("IDEMPOTENCY_WAIT_SECONDS", "5")),
        limit_auto_max_grade=int(_env("LIMIT_AUTO_MAX_GRADE", str(LIMIT_AUTO_MAX_GRADE))),
        limit_auto_cap=_env("LIMIT_AUTO_CAP", LIMIT_AUTO_CAP),
        mail_from=_env("MAIL_FROM"),
    )


@functools.cache
def _session() -> Any:
    """One boto3 session per process: its loader caches the service models between clients."""
    import boto3

    return boto3.session.Session()


@functools.cache
def client(service: str) -> Any:
    """A boto3 client for ``service`` in the configured region, created once."""
    from botocore.config import Config

    config = Config(
        connect_timeout=2,
        read_timeout=5,
        retries={"max_attempts": 3, "mode": "standard"},
    )
    return _session().client(service, region_name=settings().region, config=config)


def reset() -> None:
    """Forget settings, clients and stores (tests change the environment)."""
    settings.cache_clear()
    client.cache_clear()
    from . import services

    services.reset()
