"""Shared pieces of the browser tests: building the site once, serving it, Debian's Chromium."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .chromium import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# In a page, the URL of one of the site's own scripts that the page loaded, by its name before the
# build named it after its content (site/hooks/fingerprint.py): "service" finds
# .../assets/js/service.0123456789ab.js. Undefined when the page did not load it.
LOADED_SCRIPT = """name => performance.getEntriesByType('resource').map(e => e.name)
    .find(url => new RegExp('/assets/js/' + name + '\\\\.[0-9a-f]{12}\\\\.m?js$').test(url))"""


def load_module(name: str, path: Path) -> Any:
    """A Python file of the site (a build hook, serve.py) imported as module ``name``."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def simulator_config(site: Path) -> dict[str, Any]:
    """The worker's config as the build wrote it into a built site's simulator page (URLs relative)."""
    found = re.search(
        r'<script type="application/json" id="sim-config">(.*?)</script>',
        (site / "simulateur" / "index.html").read_text("utf-8"),
        re.S,
    )
    assert found, "no sim-config script in the simulator page"
    return json.loads(found.group(1))


def require_browser() -> None:
    """Skip without Chromium, except under CI where `make test` must have installed it."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is not installed")


def build_site(out: Path) -> Path:
    """``mkdocs build --strict`` into ``out`` (the engine snapshot is cached in build/cache)."""
    if shutil.which("node") is None or not (ROOT / "node_modules" / "pyodide").is_dir():
        if os.environ.get("CI"):
            pytest.fail("node and node_modules/pyodide are needed to build the site")
        pytest.skip("node_modules/pyodide is missing: run `npm ci`")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return out


def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 for the duration of the generator."""
    sys.path.insert(0, str(ROOT / "site"))
    try:
        import serve as site_server  # site/serve.py
    finally:
        sys.path.pop(0)
    server, url = site_server.start(directory)
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()


def launch(playwright: Any, **kwargs: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, **kwargs)
