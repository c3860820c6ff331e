"""``chalice local`` with the gateway responses of ``infra/template.yaml``.

API Gateway answers some requests itself (no ``Authorization`` header, unknown route, a
refusal by the authorizer); the template turns those answers into the API's JSON error
shape with a CORS header (``AWS::ApiGateway::GatewayResponse``). ``chalice local`` has no
such setting and answers ``{"message":"Unauthorized"}``; this runner applies the same
resource definitions, so the local stack answers as the deployed one.

    python -m infra.local_api --app-dir api --stage local --host 127.0.0.1 --port 8001
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from chalice.cli.factory import CLIFactory
from chalice.local import (
    ChaliceRequestHandler,
    CustomLocalChalice,
    LocalChalice,
    LocalDevServer,
    LocalGatewayException,
)

from infra.resources import TEMPLATE_PATH, load_template

__all__ = ["GatewayResponse", "gateway_responses", "main"]

# chalice's local gateway answers an unknown route with this body, as API Gateway does.
_MISSING_TOKEN_BODY = b"Missing Authentication Token"


class GatewayResponse:
    """One ``AWS::ApiGateway::GatewayResponse``: status and JSON body."""

    def __init__(self, status: int | None, body: str) -> None:
        self.status = status
        self.body = body


def gateway_responses(template: Mapping[str, Any]) -> dict[str, GatewayResponse]:
    """The template's gateway responses by response type (``UNAUTHORIZED``, ``DEFAULT_4XX``...)."""
    out = {}
    for resource in template["Resources"].values():
        if resource.get("Type") != "AWS::ApiGateway::GatewayResponse":
            continue
        props = resource["Properties"]
        status = props.get("StatusCode")
        out[props["ResponseType"]] = GatewayResponse(
            int(status) if status else None, props["ResponseTemplates"]["application/json"]
        )
    return out


def _response_type(error: LocalGatewayException) -> str:
    if error.CODE == 401:
        return "UNAUTHORIZED"
    if error.CODE == 403 and _MISSING_TOKEN_BODY in (error.body or b""):
        return "MISSING_AUTHENTICATION_TOKEN"
    if error.CODE == 403:
        return "ACCESS_DENIED"
    return "DEFAULT_5XX" if error.CODE >= 500 else "DEFAULT_4XX"


def handler_class(
    responses: Mapping[str, GatewayResponse], origin: str | None
) -> type[ChaliceRequestHandler]:
    """A request handler that answers gateway errors as the template says."""

    class Handler(ChaliceRequestHandler):
        def _send_error_response(self, error: LocalGatewayException) -> None:
            kind = _response_type(error)
            response = responses.get(kind) or responses.get(
                "DEFAULT_5XX" if error.CODE >= 500 else "DEFAULT_4XX"
            )
            if response is None:
                super()._send_error_response(error)
                return
            # The deployed template names the CloudFront site; locally the site's own origin.
            headers = {"Content-Type": "application/json", "Vary": "Origin"}
            if origin:
                headers["Access-Control-Allow-Origin"] = origin
            body = json.dumps(json.loads(response.body), ensure_ascii=False).encode()
            self._send_http_response(response.status or error.CODE, headers, body)

    return Handler


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--app-dir", type=Path, default=Path("api"))
    parser.add_argument("--stage", default="local")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--template", type=Path, default=TEMPLATE_PATH)
    args = parser.parse_args(argv)
    responses = gateway_responses(load_template(args.template))
    os.environ["AWS_CHALICE_CLI_MODE"] = "true"  # as the chalice CLI sets before loading the app
    factory = CLIFactory(project_dir=str(args.app_dir.resolve()))
    config = factory.create_config_obj(chalice_stage_name=args.stage)
    app = config.chalice_app
    # The class swap `chalice local` makes (chalice.local.create_local_server), then our handler.
    CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
    app.__class__ = CustomLocalChalice
    handler = handler_class(responses, os.environ.get("CORS_ALLOW_ORIGIN"))
    LocalDevServer(app, config, args.host, args.port, handler_cls=handler).serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
