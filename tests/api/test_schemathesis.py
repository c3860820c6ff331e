"""Schemathesis over the generated OpenAPI document against ``chalice local``'s server on moto.

Bounded: a few generated cases per operation. Every answer must be documented
(status, content type, schema), schema-invalid input must be refused, and no
answer may be a server error.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from .conftest import API_DIR

if str(API_DIR) not in sys.path:
    sys.path.insert(0, str(API_DIR))

from chalicelib import openapi

schema = schemathesis.openapi.from_dict(openapi.document())


@pytest.fixture(scope="module")
def live_server(aws_session: dict[str, str], app_module: Any) -> Iterator[str]:
    """``chalice local``'s HTTP server on a free port, in a thread, on the session's moto."""
    from chalice.cli.factory import CLIFactory
    from chalice.local import LocalDevServer
    from chalicelib import config

    config.reset()
    chalice_config = CLIFactory(str(API_DIR)).create_config_obj(chalice_stage_name="local")
    server = LocalDevServer(app_module.app, chalice_config, "127.0.0.1", 0)
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server.server_address[1]}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def staff_token(aws_session: dict[str, str], keys: Any) -> str:
    from .conftest import mint

    return mint(aws_session, keys, groups=("staff",))


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case: Any, live_server: str, staff_token: str) -> None:
    from chalice.local import ChaliceRequestHandler

    if not hasattr(ChaliceRequestHandler, "do_" + case.method.upper()):
        return  # TRACE, QUERY...: answered 501 by chalice local's HTTP server itself, never routed to the app
    headers = (
        {"Authorization": f"Bearer {staff_token}"} if case.operation.definition.raw.get("security") else {}
    )
    # The schema gives shapes; values (bounds per formula and tariff) are the engine's, so a
    # schema-valid body may still be a documented 422: positive_data_acceptance does not apply.
    case.call_and_validate(base_url=live_server, headers=headers, excluded_checks=[positive_data_acceptance])
