"""Serve the built site (``build/site``) on 127.0.0.1, standard library only.

    python site/serve.py [--port 8000] [--dir build/site]    # --port 0 picks a free port

Prints one line ``SITE: http://127.0.0.1:PORT/`` when ready and stops cleanly on
Ctrl-C or SIGTERM. Serves ``FILE.zst`` with ``Content-Encoding: zstd`` when it exists
and the client accepts zstd, else ``FILE.gz`` with ``Content-Encoding: gzip`` likewise;
files under ``assets/pyodide/`` and ``assets/engine/``, and files named ``NAME.HASH.EXT``
(the theme's, and the site's own stylesheet and scripts), are cached for a year (their names
change with their content), everything else is revalidated. Tests use
:func:`start`, which runs the server in a background thread.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import threading
from email.utils import formatdate
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any

__all__ = ["CODINGS", "DEFAULT_DIR", "Handler", "accepts", "cache_control", "main", "make_server", "start"]

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "build" / "site"
HOST = "127.0.0.1"
IMMUTABLE_PREFIXES = ("/assets/pyodide/", "/assets/engine/")
# The theme's own content-hashed files (bundle.a5f9d56c.min.js, main.57a0d79d.min.css, ...).
HASHED_NAME = re.compile(r"\.[0-9a-f]{8,}(?:\.min)?\.(?:js|mjs|css)$")
MIME_TYPES = {
    ".wasm": "application/wasm",
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".json": "application/json",
    ".map": "application/json",
    ".zip": "application/zip",
    ".bin": "application/octet-stream",
    ".data": "application/octet-stream",
    ".whl": "application/octet-stream",
    ".tar": "application/x-tar",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".xml": "application/xml",
    ".txt": "text/plain; charset=utf-8",
    ".gz": "application/gzip",
    ".zst": "application/zstd",
}
# Precompressed siblings, best first: (suffix, Content-Encoding).
CODINGS = ((".zst", "zstd"), (".gz", "gzip"))


def accepts(header: str | None, coding: str) -> bool:
    """Whether an ``Accept-Encoding`` header allows ``coding`` (``gzip;q=0`` refuses gzip)."""
    for part in (header or "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in (coding, "*"):
            quality = params.strip().removeprefix("q=").strip()
            try:
                return not quality or float(quality) > 0
            except ValueError:
                return False
    return False


def cache_control(path: str) -> str:
    """``Cache-Control`` for a URL path: a year for content-addressed files, revalidation otherwise."""
    if path.startswith(IMMUTABLE_PREFIXES) or HASHED_NAME.search(path):
        return "public, max-age=31536000, immutable"
    return "no-cache"


class Handler(SimpleHTTPRequestHandler):
    """Static files with the MIME types, caching and precompressed files the site needs."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}  # noqa: RUF012
    protocol_version = "HTTP/1.1"
    # The headers and the body go out in two writes. With Nagle's algorithm on, the body of a
    # response on a kept-alive connection waits for the client's ACK of the headers, which a
    # client that delays its ACKs (Python's http.client) sends 40 ms later: 44 ms per request
    # instead of 0.5 ms on this machine. Chromium was not measurably slowed.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: no line per request."""

    def end_headers(self) -> None:
        self.send_header("Cache-Control", cache_control(self.path.split("?", 1)[0].split("#", 1)[0]))
        super().end_headers()

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        """No directory listings: a folder without ``index.html`` is not found."""
        self.send_error(HTTPStatus.NOT_FOUND, "File not found")

    def send_head(self) -> Any:
        """Prefer ``FILE.zst``, then ``FILE.gz``, when it exists and the client accepts its coding."""
        path = self.translate_path(self.path)
        if os.path.isdir(path):
            if not self.path.split("?", 1)[0].endswith("/"):
                return super().send_head()  # the base class redirects to the slash form
            path = os.path.join(path, "index.html")
        siblings = [(path + suffix, coding) for suffix, coding in CODINGS if os.path.isfile(path + suffix)]
        if not os.path.isfile(path) and not siblings:
            return super().send_head()
        header = self.headers.get("Accept-Encoding")
        for sibling, coding in siblings:
            if accepts(header, coding):
                return self._send_file(sibling, path, encoding=coding, vary=True)
        if not os.path.isfile(path):  # only compressed versions exist and the client refuses them
            self.send_error(HTTPStatus.NOT_ACCEPTABLE, "Only compressed versions exist")
            return None
        return self._send_file(path, path, encoding=None, vary=bool(siblings))

    def _send_file(self, real: str, logical: str, encoding: str | None, vary: bool) -> Any:
        try:
            handle = open(real, "rb")  # noqa: SIM115 - closed by copyfile in the base class
        except OSError:
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        try:
            stat = os.fstat(handle.fileno())
            tag = f'"{stat.st_size:x}-{stat.st_mtime_ns:x}{f"-{encoding}" if encoding else ""}"'
            if self.headers.get("If-None-Match") == tag:
                # The browser's copy is current (revalidation of a no-cache file): no body again.
                handle.close()
                self.send_response(HTTPStatus.NOT_MODIFIED)
                self.send_header("ETag", tag)
                if vary:
                    self.send_header("Vary", "Accept-Encoding")
                self.end_headers()
                return None
            self.send_response(HTTPStatus.OK)
            self.send_header("ETag", tag)
            self.send_header("Content-Type", self.guess_type(logical))
            if encoding:
                self.send_header("Content-Encoding", encoding)
            if vary:
                self.send_header("Vary", "Accept-Encoding")
            self.send_header("Content-Length", str(stat.st_size))
            self.send_header("Last-Modified", formatdate(stat.st_mtime, usegmt=True))
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
        except Exception:
            handle.close()
            raise
        return handle


def make_server(directory: str | os.PathLike[str] = DEFAULT_DIR, port: int = 0) -> ThreadingHTTPServer:
    """A threaded server for ``directory`` on 127.0.0.1 (``port`` 0: a free one)."""
    root = Path(directory).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"{root} n'existe pas : construisez d'abord le site (make site)")

    class _Handler(Handler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

    server = ThreadingHTTPServer((HOST, port), _Handler)
    server.daemon_threads = True
    return server


def url_of(server: ThreadingHTTPServer) -> str:
    """``http://127.0.0.1:PORT/`` of a running server."""
    return f"http://{HOST}:{server.server_address[1]}/"


def start(directory: str | os.PathLike[str] = DEFAULT_DIR, port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """Serve ``directory`` from a background thread; stop with ``server.shutdown(); server.server_close()``."""
    server = make_server(directory, port)
    threading.Thread(target=server.serve_forever, name="site-server", daemon=True).start()
    return server, url_of(server)


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Sert le site construit sur 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8000, help="port d'écoute (0 : un port libre)")
    parser.add_argument("--dir", default=str(DEFAULT_DIR), help="dossier du site construit")
    args = parser.parse_args(argv)
    try:
        server = make_server(args.dir, args.port)
    except (FileNotFoundError, OSError) as error:
        print(f"serve.py : {error}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, _stop)
    print(f"SITE: {url_of(server)}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
