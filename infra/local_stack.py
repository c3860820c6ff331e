"""The whole platform on 127.0.0.1: moto server, resources, demo accounts, ``chalice local``.

    python -m infra.local_stack [--app-dir api] [--port 8001] [--site-dir build/site --site-port 8000]

1. starts moto server on a free port of 127.0.0.1 (a subprocess, or a thread with ``--moto thread``);
2. creates the resources of ``infra/template.yaml`` on it (:func:`infra.resources.create_resources`)
   and seeds an owner, a broker and a staff member with random passwords;
3. runs ``chalice local --stage local`` from the app directory with the resource names,
   ``AWS_ENDPOINT_URL`` (moto) and ``JWKS_URL`` (moto's JWKS of the pool) in its environment,
   and waits until ``GET /health`` answers 200;
   (``MAIL_FROM`` is verified in moto's SES; the mails sent are listed at
   ``{moto}/moto-api/data.json``, section ``ses`` > ``Message``, printed at start);
4. optionally serves the built site (``site/serve.py``), plus ``/api-config.json``: where the
   site finds the API and the Cognito client (see :func:`infra.publish_site.site_config`);
   the API then allows the site's origin (``CORS_ALLOW_ORIGIN``);
5. prints ``API: http://127.0.0.1:PORT/`` (and ``SITE: ...``) and the demo accounts, then
   waits; Ctrl-C or SIGTERM stops everything it started.

The stage variables of ``.chalice/config.json`` override the environment, so the ``local``
stage must define none of the variables set here (``STAGE`` only).

Tests use :func:`start_stack`, which returns a :class:`LocalStack` (``.api_url``, ``.env``,
``.accounts``, ``.stop()``; also a context manager).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import IO, Any, Literal

from infra.mails import STATE_FILE, mails_url_of
from infra.publish_site import SITE_CONFIG_KEY, load_site_server, site_config
from infra.resources import (
    DEFAULT_REGION,
    create_resources,
    seed_buyer_register,
    seed_demo_accounts,
    verify_mail_sender,
)

__all__ = [
    "DEFAULT_APP_DIR",
    "HOST",
    "LocalStack",
    "free_port",
    "issuer_of",
    "jwks_url_of",
    "mails_url_of",
    "main",
    "start_moto",
    "start_stack",
]

REPO = Path(__file__).resolve().parents[1]
DEFAULT_APP_DIR = REPO / "api"
HOST = "127.0.0.1"
STAGE = "local"
# A local endpoint needs no real credentials, and must never receive them.
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
_AWS_VARIABLES_DROPPED = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_DEFAULT_PROFILE")
_CHALICE = "import sys; from chalice.cli import main; sys.exit(main())"

MotoMode = Literal["process", "thread"]


def free_port() -> int:
    """A TCP port of 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def jwks_url_of(endpoint_url: str, user_pool_id: str) -> str:
    """Where moto server publishes the signing keys of a user pool (same path as Cognito)."""
    return f"{endpoint_url.rstrip('/')}/{user_pool_id}/.well-known/jwks.json"


def issuer_of(region: str, user_pool_id: str) -> str:
    """``iss`` of the pool's tokens: moto uses Cognito's format, not the endpoint's address."""
    return f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"


def _wait(
    check: Callable[[], bool], timeout: float, what: str, alive: Callable[[], bool] = lambda: True
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if not alive():
            raise RuntimeError(f"{what} : le processus s'est arrêté")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} : pas de réponse après {timeout:.0f} s")
        time.sleep(0.05)


def _answers(url: str, expect: int | None = 200) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # http://127.0.0.1 only
            return expect is None or response.status == expect
    except urllib.error.HTTPError as error:
        return expect is None or error.code == expect
    except OSError:
        return False


def _stop_process(process: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """SIGTERM to the process group started with the process, SIGKILL after ``grace`` seconds."""
    if process.poll() is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)  # its own group: start_new_session=True
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def _child_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in _AWS_VARIABLES_DROPPED}
    env |= FAKE_CREDENTIALS
    env |= {
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "PYTHONUNBUFFERED": "1",
    }
    return env | dict(extra)


def start_moto(mode: MotoMode = "process", *, timeout: float = 20.0) -> tuple[str, Callable[[], None]]:
    """Start moto server on 127.0.0.1; returns its URL and a function that stops it.

    ``process`` (default) runs ``python -m moto.server`` in its own process: its state is
    not shared with ``moto.mock_aws`` in the caller. ``thread`` is faster to start but
    shares moto's in-process backends (a ``mock_aws`` reset empties it).
    """
    if mode == "thread":
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
        server = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        return f"http://{host}:{port}", server.stop
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_child_env({}),
        start_new_session=True,
    )
    url = f"http://{HOST}:{port}"
    try:
        _wait(
            lambda: _answers(f"{url}/moto-api/data.json"),
            timeout,
            "moto server",
            lambda: process.poll() is None,
        )
    except BaseException:
        _stop_process(process)
        raise
    return url, lambda: _stop_process(process)


def serve_site(site_dir: str | Path, port: int, config: Mapping[str, str]) -> tuple[ThreadingHTTPServer, str]:
    """``site/serve.py``'s server for ``site_dir``, also answering ``/api-config.json`` with ``config``.

    Runs in a background thread; stop with ``server.shutdown(); server.server_close()``.
    """
    serve = load_site_server()
    root = Path(site_dir).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"{root} n'existe pas : construisez d'abord le site (make site)")
    body = json.dumps(dict(config), indent=2).encode("utf-8")

    class Handler(serve.Handler):  # type: ignore[misc,name-defined]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def send_head(self) -> Any:
            if self.path.split("?", 1)[0] != f"/{SITE_CONFIG_KEY}":
                return super().send_head()
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            return io.BytesIO(body)

    server = ThreadingHTTPServer((HOST, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="site-server", daemon=True).start()
    return server, f"http://{HOST}:{server.server_address[1]}/"


@dataclass
class LocalStack:
    """A running local stack; :meth:`stop` (or leaving the ``with`` block) stops what it started."""

    api_url: str
    aws_endpoint_url: str
    region: str
    env: dict[str, str]
    accounts: list[dict[str, str]]
    site_url: str | None = None
    _stops: list[Callable[[], None]] = field(default_factory=list, repr=False)
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def alive(self) -> bool:
        """Whether ``chalice local`` still runs."""
        return self._process is not None and self._process.poll() is None

    @property
    def jwks_url(self) -> str:
        return self.env["JWKS_URL"]

    @property
    def issuer(self) -> str:
        return issuer_of(self.region, self.env["USER_POOL_ID"])

    def stop(self) -> None:
        """Stop ``chalice local``, the site, then moto (the reverse of their start); safe to call twice."""
        while self._stops:
            stop = self._stops.pop()
            with contextlib.suppress(Exception):
                stop()

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_stack(
    app_dir: str | Path = DEFAULT_APP_DIR,
    *,
    region: str = DEFAULT_REGION,
    api_port: int = 0,
    moto: MotoMode = "process",
    seed: bool = True,
    site_dir: str | Path | None = None,
    site_port: int = 0,
    autoreload: bool = False,
    log: IO[Any] | None = None,
    timeout: float = 60.0,
) -> LocalStack:
    """Start moto, create and seed the resources, run ``chalice local`` and wait for ``/health``.

    ``api_port`` 0 picks a free port. ``log``: where ``chalice local`` writes (default: a
    temporary file, quoted in the error if the app does not start; ``sys.stdout`` for a demo).
    """
    app_dir = Path(app_dir).resolve()
    if not (app_dir / "app.py").is_file():
        raise FileNotFoundError(f"{app_dir / 'app.py'} introuvable")
    stops: list[Callable[[], None]] = []
    stack: LocalStack | None = None
    try:
        endpoint_url, stop_moto = start_moto(moto)
        stops.append(stop_moto)
        resources = create_resources(region=region, endpoint_url=endpoint_url, prefix=STAGE)
        accounts = seed_demo_accounts(resources, endpoint_url, region=region) if seed else []
        if seed:
            seed_buyer_register(resources, endpoint_url, region=region)
        mail = verify_mail_sender(endpoint_url, region=region)
        port = api_port or free_port()
        api_url = f"http://{HOST}:{port}/"
        env = (
            resources
            | mail
            | {
                "STAGE": STAGE,
                "JWKS_URL": jwks_url_of(endpoint_url, resources["USER_POOL_ID"]),
                "AWS_ENDPOINT_URL": endpoint_url,
                "AWS_DEFAULT_REGION": region,
                "AWS_REGION": region,
            }
        )
        site_url = None
        if site_dir is not None:  # first, so that the API allows its origin
            config = site_config(api_url, region, resources, cognito_endpoint=f"{endpoint_url}/")
            server, site_url = serve_site(site_dir, site_port, config)
            stops.append(lambda: (server.shutdown(), server.server_close()))
            env["CORS_ALLOW_ORIGIN"] = site_url.rstrip("/")
        output: IO[Any] = log if log is not None else tempfile.TemporaryFile()  # noqa: SIM115 - closed on stop
        if log is None:
            stops.append(output.close)
        serving = ["--stage", STAGE, "--host", HOST, "--port", str(port)]
        if autoreload:
            # The chalice CLI reloads on code changes, but answers gateway errors its own way.
            command = [sys.executable, "-c", _CHALICE, "local", *serving]
        else:
            # chalice local with the template's gateway responses (infra/local_api.py).
            command = [
                sys.executable,
                "-m",
                "infra.local_api",
                "--app-dir",
                str(Path(app_dir).resolve()),
                *serving,
            ]
        process = subprocess.Popen(
            command,
            cwd=app_dir,
            # infra.local_api is imported from the repository, whatever the app directory.
            env=_child_env(
                env | {"PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
            ),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        stops.append(lambda: _stop_process(process))
        try:
            _wait(
                lambda: _answers(f"{api_url}health"), timeout, "chalice local", lambda: process.poll() is None
            )
        except (RuntimeError, TimeoutError) as error:
            tail = ""
            if log is None:
                output.flush()
                output.seek(0)
                tail = output.read()[-4000:].decode("utf-8", "replace")
            raise RuntimeError(f"{error}\n{tail}") from None
        stack = LocalStack(api_url, endpoint_url, region, env, accounts, site_url, stops, process)
        return stack
    finally:
        if stack is None:  # failed half-way: undo what was started
            while stops:
                with contextlib.suppress(Exception):
                    stops.pop()()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.local_stack",
        description="Lance la plateforme sur 127.0.0.1 : moto, ressources, comptes de démonstration, chalice local.",
    )
    parser.add_argument("--app-dir", default=str(DEFAULT_APP_DIR), help="dossier de l'application Chalice")
    parser.add_argument("--port", type=int, default=0, help="port de l'API (0 : un port libre)")
    parser.add_argument("--region", default=DEFAULT_REGION)
    parser.add_argument(
        "--moto",
        choices=("process", "thread"),
        default="process",
        help="moto server en processus ou en thread",
    )
    parser.add_argument("--site-dir", help="sert aussi ce site construit (build/site)")
    parser.add_argument("--site-port", type=int, default=0, help="port du site (0 : un port libre)")
    parser.add_argument("--env-file", help="écrit ici les variables données à chalice local (KEY=VALUE)")
    parser.add_argument("--autoreload", action="store_true", help="chalice local recharge le code modifié")
    parser.add_argument("--quiet", action="store_true", help="n'affiche pas le journal de chalice local")
    args = parser.parse_args(argv)

    signal.signal(signal.SIGTERM, _interrupt)
    started = time.perf_counter()
    try:
        stack = start_stack(
            args.app_dir,
            region=args.region,
            api_port=args.port,
            moto=args.moto,
            site_dir=args.site_dir,
            site_port=args.site_port,
            autoreload=args.autoreload,
            log=None if args.quiet else sys.stderr,
        )
    except (OSError, RuntimeError, TimeoutError) as error:
        print(f"local_stack : {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    try:
        if args.env_file:
            Path(args.env_file).write_text(
                "".join(f"{k}={v}\n" for k, v in sorted(stack.env.items())), encoding="utf-8"
            )
        # Where `make mails` (infra/mails.py) finds this demo; removed when it stops.
        STATE_FILE.parent.mkdir(parents=True, exist_ok=True)
        STATE_FILE.write_text(
            json.dumps(
                {
                    "aws_endpoint_url": stack.aws_endpoint_url,
                    "api_url": stack.api_url,
                    "site_url": stack.site_url,
                }
            ),
            encoding="utf-8",
        )
        print(f"AWS (moto): {stack.aws_endpoint_url}")
        print(f"JWKS_URL: {stack.jwks_url}")
        print(
            "Courriels envoyés : make mails (ou python -m infra.mails) ; "
            f"brut : {mails_url_of(stack.aws_endpoint_url)}"
        )
        print(f"issuer: {stack.issuer}")
        print("Comptes de démonstration (mots de passe générés à chaque lancement) :")
        for account in stack.accounts:
            print(
                f"  {account['role']:<7} {account['group']:<8} {account['email']:<32} {account['password']}"
            )
        print(f"démarré en {time.perf_counter() - started:.1f} s ; Ctrl-C pour tout arrêter")
        print(f"API: {stack.api_url}")
        if stack.site_url:
            print(f"SITE: {stack.site_url}")
        sys.stdout.flush()
        while stack.alive():
            time.sleep(0.5)
        print("local_stack : chalice local s'est arrêté", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        STATE_FILE.unlink(missing_ok=True)
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
