"""Build hook: the site's own stylesheets under names of their content, cached a year by browsers.

A page waits for its stylesheets before it runs its inline scripts and paints; under a plain name
a returning visitor's browser must ask the server again for each one (``no-cache``). After the
build, each ``extra_css`` file moves to ``NAME.HASH.css`` and every page's reference follows, so
``site/serve.py`` and ``infra/publish_site.py`` serve them as immutable. Runs before
``engine_assets.py``, which writes the ``.gz`` siblings.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

__all__ = ["fingerprint", "on_post_build"]


def fingerprint(site: Path, assets: list[str]) -> dict[str, str]:
    """Move each of ``assets`` (paths in ``site``) to its hashed name, rewrite the pages; the renames."""
    renames: dict[str, str] = {}
    for asset in assets:
        path = site / asset
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        hashed = path.with_name(f"{path.stem}.{digest}{path.suffix}")
        path.replace(hashed)
        renames[asset] = hashed.relative_to(site).as_posix()
    for page in site.rglob("*.html"):
        text = page.read_text("utf-8")
        # References are relative (``../assets/css/site.css``): the path's end, up to its quote, is enough.
        changed = text
        for old, new in renames.items():
            changed = changed.replace(f'{old}"', f'{new}"')
        if changed != text:
            page.write_text(changed, "utf-8")
    return renames


def on_post_build(config: Any) -> None:
    fingerprint(Path(config["site_dir"]), [str(entry) for entry in config["extra_css"]])
