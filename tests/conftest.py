"""Fixtures shared by several test modules."""

from __future__ import annotations

from pathlib import Path

import pytest

from .browser import build_site


@pytest.fixture(scope="session")
def site_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built once per test session (``mkdocs build --strict``)."""
    return build_site(tmp_path_factory.mktemp("site") / "build")
