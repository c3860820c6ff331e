"""Pieces shared by the benchmark scripts (run as ``python benchmarks/NAME.py``)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent


def git_revision() -> str:
    """Short commit of the checkout, and whether it has uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        )
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain"], capture_output=True, text=True
        )
    except OSError:
        return "unknown"
    return head.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


def _by_path(name: str, path: Path) -> ModuleType:
    """The Python file ``path`` as module ``name``, loaded once."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def site_bench() -> ModuleType:
    """benchmarks/site.py as a module (by path: the name "site" is the standard library's)."""
    return _by_path("site_bench", Path(__file__).with_name("site.py"))


def engine_requests() -> ModuleType:
    """site/tools/engine_requests.py, the request corpus shared with the tests and the site's build."""
    return _by_path("engine_requests", REPO / "site" / "tools" / "engine_requests.py")
