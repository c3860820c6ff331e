"""``GET /health`` and ``GET /openapi.json``."""

from __future__ import annotations

from chalice import Blueprint, Response

from .. import config, engine, openapi
from ..http import api_route, json_response
from ..models import HealthOut

bp = Blueprint(__name__)


@api_route(bp, "/health")
def health() -> Response:
    """Liveness: no call to AWS."""
    return json_response(
        HealthOut(
            status="ok",
            stage=config.settings().stage,
            tariff_version=engine.current_version(),
            tariff_versions=engine.versions(),
        )
    )


@api_route(bp, "/openapi.json")
def openapi_document() -> Response:
    """The OpenAPI 3.1 document generated from the models."""
    return json_response(openapi.document(), headers={"Cache-Control": "public, max-age=300"})
