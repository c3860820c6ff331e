"""Build hook: the site's own stylesheets and scripts named by their content, cached a year by browsers.

A page waits for every stylesheet it links before it paints; each one is a request the
server answers in turn. After the build the ``extra_css`` files (site-wide look, simulator,
service pages) are joined, in their order, into ``assets/css/site.HASH.css``: every page links
that one file where it linked the first, so ``site/serve.py`` and ``infra/publish_site.py``
serve it as immutable. One request instead of three brought the simulator page's first paint
56 ms sooner (25 interleaved cold loads, median of the differences).

The page scripts (``assets/js/*.js`` and ``*.mjs``) become ``NAME.HASH.js``: a returning visitor's
browser runs them from its cache without first asking the server whether they changed, which
costs a round trip per visit. A module's name covers the names of the modules it imports, so a
change reaches every page that depends on it. A second visit of the simulator page now makes 4
conditional requests instead of 8; in two runs of 13 interleaved warm loads (benchmarks/site_ab.py)
its first premium painted 40 and 12 ms sooner and the engine was ready 26 and 8 ms sooner, with no
measurable change on first visits. The engine's worker is named by ``engine_assets.py``,
which runs after this hook and writes the ``.gz`` siblings.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["bundle", "fingerprint_scripts", "on_post_build"]

SCRIPTS = "assets/js"
# The engine's worker: named and moved by engine_assets.py.
LEFT_TO_ENGINE_ASSETS = frozenset({"engine-worker.js"})
# A relative import of a sibling module: `from "./x.mjs"`, `import "./x.js"`, `import("./x.js")`.
SIBLING_IMPORT = re.compile(r"""(\bfrom\s*|\bimport\s*\(?\s*)(["'])\./([\w.-]+\.m?js)\2""")


def _named_by_content(path: Path, data: bytes) -> Path:
    """``path`` with the first 12 hex digits of ``data``'s SHA-256 before its suffix."""
    return path.with_name(f"{path.stem}.{hashlib.sha256(data).hexdigest()[:12]}{path.suffix}")


def _edit_pages(site: Path, edit: Callable[[str], str]) -> None:
    """Rewrite every HTML page of ``site`` that ``edit`` changes."""
    for page in site.rglob("*.html"):
        text = page.read_text("utf-8")
        changed = edit(text)
        if changed != text:
            page.write_text(changed, "utf-8")


def bundle(site: Path, assets: list[str]) -> str:
    """Join ``assets`` (stylesheet paths in ``site``, in order) into one hashed file in the first's
    folder, point every page's link to the first at it, drop the others' links; its path."""
    if not assets:
        raise ValueError("no stylesheet to bundle")
    parts = [f"/* {Path(asset).name} */\n{(site / asset).read_text('utf-8')}" for asset in assets]
    data = "\n".join(parts).encode()
    target = _named_by_content(site / assets[0], data)
    target.write_bytes(data)
    for asset in assets:
        (site / asset).unlink()
    joined = target.relative_to(site).as_posix()
    # References are relative (``../assets/css/site.css``): the path's end, up to its quote, is enough.
    drop = [
        re.compile(r'\s*<link rel="stylesheet" href="[^"]*' + re.escape(asset) + r'">')
        for asset in assets[1:]
    ]

    def relink(text: str) -> str:
        text = text.replace(f'{assets[0]}"', f'{joined}"')
        for pattern in drop:
            text = pattern.sub("", text)
        return text

    _edit_pages(site, relink)
    return joined


def fingerprint_scripts(site: Path, skip: frozenset[str] = LEFT_TO_ENGINE_ASSETS) -> dict[str, str]:
    """Rename each script of ``site``'s ``assets/js`` (but ``skip``) to ``NAME.HASH.EXT`` after its
    content, imports of sibling modules rewritten to their new names first, and point every page
    at the new names; the map from old to new file name."""
    folder = site / SCRIPTS
    texts = {
        path.name: path.read_text("utf-8")
        for path in sorted(folder.iterdir())
        if path.suffix in (".js", ".mjs") and path.name not in skip
    }
    imports = {name: {m[3] for m in SIBLING_IMPORT.finditer(text)} for name, text in texts.items()}
    for name, needed in imports.items():
        if missing := sorted(needed - texts.keys()):
            raise RuntimeError(f"{SCRIPTS}/{name} imports {', '.join(missing)}: not among the site's scripts")
    renamed: dict[str, str] = {}
    while len(renamed) < len(texts):
        ready = [name for name in texts if name not in renamed and imports[name] <= renamed.keys()]
        if not ready:
            raise RuntimeError(
                f"{SCRIPTS}: modules import each other in a cycle: {sorted(texts.keys() - renamed.keys())}"
            )
        for name in ready:
            text = SIBLING_IMPORT.sub(lambda m: f"{m[1]}{m[2]}./{renamed[m[3]]}{m[2]}", texts[name])
            target = _named_by_content(folder / name, text.encode())
            target.write_text(text, "utf-8")
            (folder / name).unlink()
            renamed[name] = target.name
    if renamed:
        # Pages name a script by a relative path ending in ``assets/js/NAME`` and a quote.
        reference = re.compile(r"assets/js/(" + "|".join(map(re.escape, renamed)) + r')(?=")')
        _edit_pages(site, lambda text: reference.sub(lambda m: f"assets/js/{renamed[m[1]]}", text))
    return renamed


def on_post_build(config: Any) -> None:
    site = Path(config["site_dir"])
    bundle(site, [str(entry) for entry in config["extra_css"]])
    fingerprint_scripts(site)
