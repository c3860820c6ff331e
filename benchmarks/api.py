"""API figures: request latency in process on moto, cold import of the app, deployment zip size.

Run from anywhere::

    .venv/bin/python benchmarks/api.py [--requests N] [--warmup W] [--imports K] [--no-package]

Latency: ``POST /quotes`` (pricing + DynamoDB put) and ``GET /policies/{id}``
(custom authorizer with a cached JWKS + DynamoDB get) through
``chalice.test.Client`` on moto's in-process AWS, timed request by request with
``time.perf_counter_ns``; p50 and p99 by nearest rank. Cold import: a fresh
interpreter imports ``api/app.py`` (median of K). Zip: ``api/vendor_engine.py``
then ``chalice package --stage dev`` into a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
API = REPO / "api"
REGION = "eu-west-3"
GOALS = {"post_quotes_p50": 5.0, "post_quotes_p99": 20.0, "get_policy_p50": 5.0, "get_policy_p99": 20.0}
IMPORT_GOAL_MS = 300.0
CHALICE = "import sys; from chalice.cli import main; sys.exit(main())"
ZIP_GOAL_MB = 10.0

QUOTE = {
    "profile": {
        "turnover": 1200000,
        "b2b_share": 0.8,
        "sector": "services",
        "export": {"eu": 0.1, "world": 0.05},
        "buyers_count": 30,
        "top_buyers": [{"name": "Alpha", "share": 0.25, "grade": 4}, {"name": "Beta", "share": 0.12}],
        "payment_terms_days": 45,
        "past_losses": 8000,
        "company_age_years": 6,
    },
    "options": {"formula": "essentielle"},
    "contact_email": "bench@example.fr",
}


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def _environment(workdir: Path) -> tuple[Any, str]:
    """Env for the local stage and a JWKS file; returns the signing key and the JWKS URL."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    public.update({"kid": "bench", "use": "sig", "alg": "RS256"})
    path = workdir / "jwks.json"
    path.write_text(json.dumps({"keys": [public]}))
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "CORS_ALLOW_ORIGIN"):
        os.environ.pop(name, None)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "STAGE": "local",
            "JWKS_URL": path.as_uri(),
            "LOG_LEVEL": "WARNING",
        }
    )
    return key, path.as_uri()


def latency(requests: int, warmup: int) -> dict[str, float]:
    """p50/p99 in ms of POST /quotes and GET /policies/{id} in process on moto."""
    import jwt
    import moto

    sys.path[:0] = [str(API), str(REPO)]
    from infra.resources import create_resources

    with tempfile.TemporaryDirectory() as tmp, moto.mock_aws():
        key, _ = _environment(Path(tmp))
        os.environ.update(create_resources(region=REGION, prefix="bench"))
        import app
        from chalice.test import Client
        from chalicelib import config

        config.reset()
        client = Client(app.app, stage_name="local", project_dir=str(API)).http
        body = json.dumps(QUOTE).encode()
        headers = {"Content-Type": "application/json"}

        def post_quote() -> Any:
            return client.request("POST", "/quotes", headers=headers, body=body)

        quote = json.loads(post_quote().body)
        start = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 5 * 86400))
        subscription = {
            "quote_id": quote["quote_id"],
            "company": {
                "siren": "732829320",
                "legal_name": "Banc d'essai SAS",
                "address": {"line1": "1 rue de la Paix", "postal_code": "75002", "city": "Paris"},
            },
            "contact": {"first_name": "Ana", "last_name": "Lyse", "email": "bench.owner@example.fr"},
            "iban": "FR7630006000011234567890189",
            "start_date": start,
            "accept_terms": True,
            "password": "Banc-d-essai-2026!",
        }
        created = client.request(
            "POST", "/subscriptions", headers=headers, body=json.dumps(subscription).encode()
        )
        policy_id = json.loads(created.body)["policy_id"]
        now = int(time.time())
        token = jwt.encode(
            {
                "sub": "bench-staff",
                "iss": config.settings().issuer,
                "aud": os.environ["USER_POOL_CLIENT_ID"],
                "token_use": "id",
                "iat": now,
                "exp": now + 3600,
                "cognito:groups": ["staff"],
            },
            key,
            algorithm="RS256",
            headers={"kid": "bench"},
        )
        auth = {"Authorization": f"Bearer {token}"}

        def get_policy() -> Any:
            return client.request("GET", f"/policies/{policy_id}", headers=auth)

        figures = {}
        for name, call, status in (("post_quotes", post_quote, 201), ("get_policy", get_policy, 200)):
            samples = []
            for index in range(warmup + requests):
                started = time.perf_counter_ns()
                response = call()
                elapsed = (time.perf_counter_ns() - started) / 1e6
                if response.status_code != status:
                    raise SystemExit(f"{name}: HTTP {response.status_code} {response.body[:200]!r}")
                if index >= warmup:
                    samples.append(elapsed)
            figures[f"{name}_p50"] = percentile(samples, 50)
            figures[f"{name}_p99"] = percentile(samples, 99)
            figures[f"{name}_mean"] = statistics.fmean(samples)
        return figures


def cold_import(runs: int) -> list[float]:
    """Milliseconds to import api/app.py in a fresh interpreter, ``runs`` times."""
    code = "import time; t = time.perf_counter(); import app; print((time.perf_counter() - t) * 1000)"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    return [
        float(
            subprocess.run(
                [sys.executable, "-c", code], cwd=API, env=env, capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(runs)
    ]


def package_size() -> float:
    """Size in MB of the zip ``chalice package --stage dev`` builds (engine vendored first)."""
    vendor_dir = API / "vendor"
    vendored = vendor_dir / "simulator"
    existed = vendored.exists()
    had_vendor_dir = vendor_dir.exists()
    subprocess.run([sys.executable, str(API / "vendor_engine.py")], check=True, capture_output=True)
    try:
        with tempfile.TemporaryDirectory() as out:
            env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", REGION)}
            subprocess.run(
                [sys.executable, "-c", CHALICE, "package", "--stage", "dev", out],
                cwd=API,
                env=env,
                check=True,
                capture_output=True,
            )
            return (Path(out) / "deployment.zip").stat().st_size / 1e6
    finally:
        if not existed:
            shutil.rmtree(vendored, ignore_errors=True)
        if not had_vendor_dir:
            shutil.rmtree(vendor_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Print the figures beside their goals."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--imports", type=int, default=7)
    parser.add_argument("--no-package", action="store_true", help="skip chalice package (needs PyPI access)")
    args = parser.parse_args(argv)

    imports = cold_import(args.imports)
    figures = latency(args.requests, args.warmup)
    print(
        f"API benchmark, Python {sys.version.split()[0]}, moto in process, {args.requests} requests after {args.warmup} warm-up"
    )
    print(f"{'figure':<28}{'measured':>12}{'goal':>10}  ok")
    for name in ("post_quotes", "get_policy"):
        for q in ("p50", "p99"):
            value, goal = figures[f"{name}_{q}"], GOALS[f"{name}_{q}"]
            label = {"post_quotes": "POST /quotes", "get_policy": "GET /policies/{id}"}[name]
            print(f"{label + ' ' + q:<28}{value:>9.2f} ms{goal:>7.0f} ms  {'yes' if value <= goal else 'NO'}")
    median = statistics.median(imports)
    print(
        f"{'cold import app (median)':<28}{median:>9.0f} ms{IMPORT_GOAL_MS:>7.0f} ms  {'yes' if median <= IMPORT_GOAL_MS else 'NO'}"
        f"   (min {min(imports):.0f}, max {max(imports):.0f} over {len(imports)})"
    )
    if not args.no_package:
        size = package_size()
        print(
            f"{'deployment zip':<28}{size:>9.2f} MB{ZIP_GOAL_MB:>7.0f} MB  {'yes' if size <= ZIP_GOAL_MB else 'NO'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
