"""The French static site: strict build, tariff-generated tables, offline pages, local server.

The site is built once per module with ``mkdocs build --strict`` into a temporary folder.
"""

from __future__ import annotations

import collections
import gzip
import hashlib
import html
import http.client
import json
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import urllib.error
import urllib.request
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
import zstandard

from simulator import load_tariff

from .browser import ROOT, build_site, load_module, simulator_config

engine_assets = load_module("engine_assets_build", ROOT / "site" / "hooks" / "engine_assets.py")

# Files of the simulator page, written in parallel: mkdocs.yml refers to them.
THEIRS = (ROOT / "site" / "hooks" / "engine_assets.py", ROOT / "site" / "overrides" / "simulator.html")
PAGES = (
    "index.html",
    "simulateur/index.html",
    "formules/index.html",
    "prime/index.html",
    "glossaire/index.html",
    "tarif-illustratif/index.html",
    "mentions-legales/index.html",
)
NBSP, NNBSP = "\u00a0", "\u202f"
TARIFF = load_tariff()


@pytest.fixture(scope="module")
def built(site_build: Path) -> Path:
    """The session's build (see conftest.py)."""
    return site_build


# --- French notation, written independently of the hook's filters ---------------------------


def fr_decimal(value: Decimal) -> str:
    return format(value, "f").replace(".", ",")


def fr_factor(value: Decimal) -> str:
    return "×" + NBSP + fr_decimal(value)


def fr_euros(value: Decimal) -> str:
    assert value == value.to_integral_value(), "the tariff's amounts here are whole euros"
    return f"{int(value):,}".replace(",", NNBSP) + NBSP + "€"


def fr_share(value: Decimal) -> str:
    return fr_decimal((value * 100).normalize()) + NBSP + "%"


# --- HTML helpers -----------------------------------------------------------------------------


class _Tables(HTMLParser):
    """Rows of every table as lists of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(re.sub(r"[ \t\r\n]+", " ", "".join(self._cell)).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def table_rows(page: Path) -> list[list[str]]:
    parser = _Tables()
    parser.feed(page.read_text("utf-8"))
    return parser.rows


def has_row(rows: list[list[str]], *cells: str) -> bool:
    return any(all(c in row for c in cells) for row in rows)


def page_text(page: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page.read_text("utf-8")))


# --- Pages ------------------------------------------------------------------------------------


def test_every_page_is_built_in_french(built):
    for name in PAGES:
        page = built / name
        assert page.is_file(), name
        assert re.search(r'<html lang="fr"', page.read_text("utf-8")), name


def test_every_page_says_the_tariff_is_illustrative(built):
    for name in PAGES:
        source = (built / name).read_text("utf-8")
        link = re.search(r'<a href="([^"]*)">\s*En savoir plus sur le tarif illustratif\s*</a>', source)
        assert link, name
        target = (built / name).parent / link.group(1) / "index.html"
        assert target.resolve() == (built / "tarif-illustratif" / "index.html").resolve(), name
    assert TARIFF.version in page_text(built / "tarif-illustratif" / "index.html")


def test_simulator_page_uses_its_template(built):
    source = (built / "simulateur" / "index.html").read_text("utf-8")
    assert "<title>Simulateur - " in source
    # The what-if says what it assumes about the key clients' limits, and what holds until granted.
    note = re.search(r'<p class="sim-hint" id="sim-whatif-note">(.*?)</p>', source, re.S)
    assert note
    assert "limite de crédit" in note.group(1)
    assert "seuil de garantie automatique" in note.group(1)


def test_simulator_page_starts_the_engine_before_the_form_with_its_config(built):
    """The worker is created by an inline script right after the summary of the first results,
    before the form, with everything it needs to start."""
    source = (built / "simulateur" / "index.html").read_text("utf-8")
    early = source.index("window.__simEarly")
    assert source.index('id="sim-summary"') < source.index('id="sim-config"') < early
    assert early < source.index('id="sim-form"')
    config = simulator_config(built)
    snapshot = (built / "simulateur" / config["snapshotURL"]).resolve()
    image = engine_assets.initial_memory(
        (built / "simulateur" / config["indexURL"] / "pyodide.asm.wasm").read_bytes()
    )
    assert config["snapshotSize"] == len(engine_assets.unsparse(snapshot.read_bytes(), image))
    # The worker keeps this much of the fresh memory for the snapshot's copies: they all lie there.
    assert config["staticSize"] == len(image)
    data = snapshot.read_bytes()
    runs, copies = struct.unpack_from("<II", data, 8)
    table = struct.iter_unpack("<III", data[16 + 8 * runs : 16 + 8 * runs + 12 * copies])
    assert copies
    assert all(address + length <= len(image) for _, address, length in table)
    assert (built / "simulateur" / config["archiveURL"]).resolve().is_file()
    assert (built / "simulateur" / config["indexURL"] / "pyodide.asm.wasm").resolve().is_file()
    # The config also goes in the worker URL's fragment, so the worker needs no message to start;
    # the worker's name carries its content's hash (cached for a year) and it is the source's copy.
    found = re.search(r'absolute\("\.\./assets/engine/(engine-worker-[0-9a-f]{16}\.js)"\) \+ "#"', source)
    assert found
    worker = built / "assets" / "engine" / found.group(1)
    assert worker.read_bytes() == (ROOT / "site" / "assets" / "js" / "engine-worker.js").read_bytes()
    assert not (built / "assets" / "js" / "engine-worker.js").exists()  # only the hashed copy is published


def test_runtime_files_are_the_pinned_packages_with_the_builds_edits(built):
    """Pyodide's files are npm's, byte for byte, but for the listed edits."""
    (runtime,) = (built / "assets" / "pyodide").iterdir()
    version = json.loads((engine_assets.PYODIDE_DIR / "package.json").read_text())["version"]
    # Cached for a year: the folder's name carries the version and the edited files' hash.
    assert re.fullmatch(re.escape(version) + r"-[0-9a-f]{16}", runtime.name)
    source = engine_assets.runtime_dir()
    assert f"pyodide-{runtime.name}" == source.name
    for name in engine_assets.PYODIDE_FILES:
        body = (runtime / name).read_bytes()
        pinned = (engine_assets.PYODIDE_DIR / name).read_bytes()
        if name == "pyodide.asm.mjs":
            # The listed edits, then the unnamed exports' assignments dropped (see the next test).
            text = pinned.decode()
            for _, old, new in engine_assets.RUNTIME_EDITS:
                assert text.count(old) == 1
                text = text.replace(old, new)
            pinned = engine_assets.trimmed_exports(text, engine_assets._around_runtime()).encode()
        assert body == pinned, name
        # The folder the snapshot is made from holds these very files.
        assert (source / name).read_bytes() == (runtime / name).read_bytes(), name
    assert {edit[0] for edit in engine_assets.RUNTIME_EDITS} == {"pyodide.asm.mjs"}


def _exports_assigned(runtime: str) -> list[str]:
    start = runtime.index(engine_assets.ASSIGN_EXPORTS)
    body = runtime[start : runtime.index("}", start)]
    # functions only: a global's statement goes on (".value>>>0") and is always kept
    return re.findall(r'(\w+)=Module\["\1"\]=wasmExports\["[^"]+"\](?=;|$)', body)


def test_the_served_runtime_assigns_only_the_exports_its_javascript_names(built):
    """Of the wasm's exports, the runtime assigns to variables and ``Module`` only those some
    JavaScript names; a dropped one is named nowhere in the served file, so no code can reach it
    but the dynamic linker, which keeps every symbol."""
    (runtime,) = (built / "assets" / "pyodide").iterdir()
    served = (runtime / "pyodide.asm.mjs").read_text()
    pinned = (engine_assets.PYODIDE_DIR / "pyodide.asm.mjs").read_text()
    assigned, all_exports = _exports_assigned(served), _exports_assigned(pinned)
    dropped = set(all_exports) - set(assigned)
    assert set(assigned) < set(all_exports)
    assert len(assigned) < len(all_exports) / 5, (len(assigned), len(all_exports))
    # (the wasm's own names, in wasmExports["..."], are not JavaScript names)
    named = set(re.findall(r"[A-Za-z_$][\w$]*", re.sub(r'wasmExports\["[^"]*"\]', "", served)))
    assert not dropped & named, sorted(dropped & named)[:10]
    # Every export left is declared in the var list, assigned (its name twice), and named once more.
    declared = re.search(rf"var ({re.escape(assigned[0])},[^;]*);", served)[1].split(",")
    assert set(assigned) <= set(declared)
    assert not dropped & set(declared)
    words = collections.Counter(re.findall(r"[A-Za-z_$][\w$]*", served + engine_assets._around_runtime()))
    assert all(words[name] >= 4 for name in assigned), [n for n in assigned if words[n] < 4][:10]
    # Those the engine's own tools call are among them.
    assert {"_sbrk", "_calloc", "_free", "_malloc"} <= set(assigned)


def test_a_runtime_edit_that_no_longer_applies_stops_the_build():
    """A Pyodide whose text moved fails loudly instead of serving an unedited runtime."""
    olds = [old.encode() for _, old, _ in engine_assets.RUNTIME_EDITS]
    news = [new.encode() for _, _, new in engine_assets.RUNTIME_EDITS]
    exports = (
        b"var _kept_export,_dropped_export;function assignWasmExports(wasmExports){"
        b'_kept_export=Module["_kept_export"]=wasmExports["kept_export"];'
        b'_dropped_export=Module["_dropped_export"]=wasmExports["dropped_export"]}_kept_export();'
    )
    edited = engine_assets.edit_runtime("pyodide.asm.mjs", b"a;" + b";".join(olds) + b";b" + exports)
    assert edited == b"a;" + b";".join(news) + b";b" + (
        b"var _kept_export;function assignWasmExports(wasmExports){"
        b'_kept_export=Module["_kept_export"]=wasmExports["kept_export"]}_kept_export();'
    )
    with pytest.raises(RuntimeError, match="occurs 0 times"):  # no assignWasmExports to trim
        engine_assets.edit_runtime("pyodide.asm.mjs", b";".join(olds))
    for index in range(len(olds)):
        others = olds[:index] + olds[index + 1 :]
        with pytest.raises(RuntimeError, match="occurs 0 times"):
            engine_assets.edit_runtime("pyodide.asm.mjs", b";".join(others))
        with pytest.raises(RuntimeError, match="occurs 2 times"):
            engine_assets.edit_runtime("pyodide.asm.mjs", b";".join([*olds, olds[index]]))
    assert engine_assets.edit_runtime("pyodide.mjs", b"unchanged") == b"unchanged"


def test_snapshot_is_published_without_its_zeros_and_static_data(built):
    """The published file rebuilds the snapshot Node made, byte for byte, from about a third of it:
    the rest is zeros or the runtime's static data as the wasm's data segments set it."""
    published = next((built / "assets" / "engine").glob("snapshot-*.bin"))
    made = (ROOT / "build" / "cache" / published.name).read_bytes()
    wasm = next((built / "assets" / "pyodide").glob("*/pyodide.asm.wasm")).read_bytes()
    image = engine_assets.initial_memory(wasm)
    data = published.read_bytes()
    assert engine_assets.unsparse(data, image) == made
    assert len(data) < 0.45 * len(made)
    copies = int.from_bytes(data[12:16], "little")
    assert copies > 0
    with pytest.raises(ValueError, match="beyond"):
        engine_assets.unsparse(data)  # the copies need the image


def test_a_build_drops_the_cache_files_it_no_longer_uses(built, tmp_path):
    """Each engine change makes a 31 MB snapshot in build/cache, and each changed file a gzipped
    copy: a build keeps only those it uses, and a build after it still finds them."""
    cache = ROOT / "build" / "cache"
    stale = [
        cache / "snapshot-0123456789abcdef.bin",
        cache / "simulator-0123456789abcdef.zip",
        cache / ("gz-" + "0" * 24 + ".gz"),
        cache / ("zst-" + "0" * 24 + ".zst"),
    ]
    for path in stale:
        path.write_bytes(b"from an older build")
    site = build_site(tmp_path / "site")
    assert [path.name for path in stale if path.exists()] == []
    published = {path.name for path in (site / "assets" / "engine").iterdir()}
    assert {path.name for path in cache.glob("snapshot-*")} == {n for n in published if n.endswith(".bin")}
    assert {path.name for path in cache.glob("simulator-*.zip")} <= published
    gzipped = {
        "gz-" + hashlib.sha256(path.with_suffix("").read_bytes()).hexdigest()[:24] + ".gz"
        for path in site.rglob("*.gz")
        if path.with_suffix("").suffix in engine_assets.GZIP_SUFFIXES  # mkdocs gzips its sitemap itself
    }
    assert {path.name for path in cache.glob("gz-*")} == gzipped
    compressed = {
        "zst-" + hashlib.sha256(path.with_suffix("").read_bytes()).hexdigest()[:24] + ".zst"
        for path in site.rglob("*.zst")
    }
    assert {path.name for path in cache.glob("zst-*")} == compressed
    # The session's build, made before, is served the same files.
    assert (built / "simulateur" / "index.html.gz").read_bytes() == (
        site / "simulateur" / "index.html.gz"
    ).read_bytes()


def test_every_engine_file_has_a_zstd_copy_a_browser_can_decode(built):
    folders = [built / folder for folder in engine_assets.ZSTD_FOLDERS]
    files = [p for f in folders for p in f.rglob("*") if p.is_file() and p.suffix not in (".gz", ".zst")]
    assert {p.name.split("-")[0] for p in files} >= {"pyodide.asm.wasm", "snapshot", "engine"}
    for path in files:
        data = path.with_name(path.name + ".zst").read_bytes()
        frame = zstandard.get_frame_parameters(data)
        # RFC 9659: a browser may refuse a window above 8 MB.
        assert frame.window_size <= 8 << 20, path.name
        assert frame.content_size == path.stat().st_size
        assert zstandard.ZstdDecompressor().decompress(data) == path.read_bytes(), path.name
    # Worth it where it counts: the runtime and the snapshot, against their gzip copies.
    for path in files:
        if path.stat().st_size > 1 << 20 and path.suffix != ".zip":
            zst = path.with_name(path.name + ".zst").stat().st_size
            assert zst < 0.9 * path.with_name(path.name + ".gz").stat().st_size, path.name
    # Nothing else gets one: the host sends zstd only for these folders.
    assert {p.parent for p in built.rglob("*.zst")} <= {p.parent for p in files}


def test_lean_runtime_differs_from_the_full_one_only_in_unreached_bodies_and_exports(built):
    """The lean runtime is the full one with the bodies the engine never reaches stubbed, and
    without the function exports no JavaScript of the runtime can reach."""
    config = simulator_config(built)
    lean = (built / "simulateur" / config["leanWasmURL"]).resolve().read_bytes()
    full = (built / "simulateur" / config["indexURL"] / "pyodide.asm.wasm").resolve().read_bytes()
    assert len(lean) < 0.5 * len(full)
    lean_sections, full_sections = engine_assets.wasm_sections(lean), engine_assets.wasm_sections(full)
    # One more section at the end: the table's slots, decoded by the build (see with_slots).
    slots_section = lean_sections.pop()
    assert slots_section[0] == 0
    assert lean[slots_section[1] :] == engine_assets.with_slots(full)[len(full) :]
    assert [s[0] for s in lean_sections] == [s[0] for s in full_sections]
    for (section, start, at, end), (_, f_start, f_at, f_end) in zip(
        lean_sections, full_sections, strict=True
    ):
        if section == 7:  # exports: see below
            continue
        if section != 10:  # types, imports, table, data...: byte for byte
            assert lean[start:end] == full[f_start:f_end], section
            continue
        kept = stubbed = 0
        count, cursor = engine_assets._uleb(lean, at)
        f_count, f_cursor = engine_assets._uleb(full, f_at)
        assert count == f_count
        for _ in range(count):
            size, body = engine_assets._uleb(lean, cursor)
            f_size, f_body = engine_assets._uleb(full, f_cursor)
            if lean[cursor : body + size] == engine_assets.LEAN_STUB:
                stubbed += 1
            else:
                assert lean[body : body + size] == full[f_body : f_body + f_size]
                kept += 1
            cursor, f_cursor = body + size, f_body + f_size
        assert (cursor, f_cursor) == (end, f_end)
        # The engine reaches about a thousand functions of seventeen thousand.
        assert engine_assets.LEAN_MIN_FUNCTIONS <= kept < count // 4 < stubbed
    # Exports: the full runtime's in order, its memory and table among them, but only the
    # functions and globals that the linker's own imports ask for or that the served JavaScript names.
    lean_exports, full_exports = engine_assets.exports(lean), engine_assets.exports(full)
    assert [e for e in full_exports if e in lean_exports] == lean_exports
    assert all(e in lean_exports for e in full_exports if e[1] not in (0, 3))
    runtime = built / "simulateur" / config["indexURL"]
    javascript = "".join(
        path.read_text()
        for path in (runtime / "pyodide.asm.mjs", runtime / "pyodide.mjs", *built.glob("assets/engine/*.js"))
    )
    named = set(re.findall(r"[A-Za-z_$][\w$]*", javascript))
    linked = {name for module, name, _ in engine_assets.imports(full) if module.startswith("GOT.func")}
    functions = {name for name, kind, _ in full_exports if kind == 0}
    left = {name for name, kind, _ in lean_exports if kind == 0}
    assert left == {name for name in functions if name in linked or name in named or f"_{name}" in named}
    assert linked & functions <= left  # (other GOT entries are JavaScript functions)
    assert len(left) < len(functions) / 10
    globals_ = {name for name, kind, _ in full_exports if kind == 3}
    globals_left = {name for name, kind, _ in lean_exports if kind == 3}
    assert globals_left == {
        name for name in globals_ if name in linked or name in named or f"_{name}" in named
    }
    assert len(globals_left) < len(globals_) / 2


def test_lean_wasm_stubs_the_bodies_not_kept():
    # One imported function (index 0), then two of type () -> i32 returning 7 and 8 (indices 1, 2).
    types = b"\x01\x60\x00\x01\x7f"
    imports = b"\x01\x01m\x01f\x00\x00"
    functions = b"\x02\x00\x00"
    memory = b"\x01\x00\x01"  # one memory of one page
    globals_ = b"\x01\x7f\x00\x41\x05\x0b"  # one i32 global, constant 5
    # Functions a and b, global g, the same global as h, memory m.
    exports = b"\x05\x01a\x00\x01\x01b\x00\x02\x01g\x03\x00\x01h\x03\x00\x01m\x02\x00"
    code = b"\x02" + b"\x04\x00\x41\x07\x0b" + b"\x04\x00\x41\x08\x0b"

    def section(number: int, payload: bytes) -> bytes:
        return bytes([number, len(payload)]) + payload

    module = b"\0asm\x01\0\0\0" + b"".join(
        section(n, p)
        for n, p in (
            (1, types),
            (2, imports),
            (3, functions),
            (5, memory),
            (6, globals_),
            (7, exports),
            (10, code),
        )
    )
    assert engine_assets.imported_functions(module) == 1
    lean = engine_assets.lean_wasm(module, {2})
    lean_code = b"\x02" + engine_assets.LEAN_STUB + b"\x04\x00\x41\x08\x0b"
    assert lean == module[: -len(code) - 2] + section(10, lean_code)
    assert [name for name, _, _ in engine_assets.exports(lean)] == ["a", "b", "g", "h", "m"]
    # Every body kept, function "a" and global "h" left out; the memory stays.
    only_b = engine_assets.lean_wasm(module, None, {"b", "g"})
    assert [name for name, _, _ in engine_assets.exports(only_b)] == ["b", "g", "m"]
    kept = b"\x03\x01b\x00\x02\x01g\x03\x00\x01m\x02\x00"
    assert only_b.replace(section(7, kept), section(7, exports)) == module
    assert engine_assets.imports(module) == [("m", "f", 0)]
    assert engine_assets.called_functions(
        "Compiled function 0x5a1b#2 using Liftoff, took 0 ms\nCompiled WasmToJS wrapper x\n"
        "Compiled function 0x5a1b#12 using TurboFan, took 1 ms\n"
    ) == {2, 12}
    if shutil.which("node") is None:
        return
    script = (
        "const bytes = require('fs').readFileSync(0);"
        "const {exports} = new WebAssembly.Instance(new WebAssembly.Module(bytes), {m: {f: () => 0}});"
        "let first; try { first = exports.a(); } catch (error) { first = error.constructor.name + ': ' + error.message; }"
        "console.log(JSON.stringify([first, exports.b(), exports.h.value]));"
    )
    done = subprocess.run(["node", "-e", script], input=lean, capture_output=True, check=True, timeout=60)
    assert json.loads(done.stdout) == ["RuntimeError: unreachable", 8, 5]


def test_initial_memory_is_the_data_segments():
    # A module with one memory and two active data segments, at 16 and at 200 (i32.const as LEB128).
    segments = b"\x02" + b"\x00\x41\x10\x0b\x03abc" + b"\x00\x41\xc8\x01\x0b\x02xy"
    memory_section = b"\x05\x03\x01\x00\x01"
    wasm = b"\0asm\x01\x00\x00\x00" + memory_section + b"\x0b" + bytes([len(segments)]) + segments
    image = engine_assets.initial_memory(wasm)
    assert image == bytes(16) + b"abc" + bytes(200 - 19) + b"xy"
    with pytest.raises(ValueError, match="start function"):
        engine_assets.initial_memory(wasm + b"\x08\x01\x00")
    with pytest.raises(ValueError, match="not a wasm"):
        engine_assets.initial_memory(b"\0snp" + wasm[4:])


@pytest.mark.parametrize(
    ("memory", "runs"),
    [
        (b"", 0),
        (bytes(10_000), 0),
        (b"x" * 10_000, 1),
        (bytes(4096) + b"a" + bytes(4095) + bytes(4096) + b"b" * 100, 2),
        (b"a" + bytes(8191) + b"b", 2),
        (b"a" * 4096 + b"b" * 4096, 1),
    ],
)
def test_sparse_format_round_trips(memory, runs):
    data = engine_assets.sparse(memory)
    assert int.from_bytes(data[8:12], "little") == runs
    assert engine_assets.unsparse(data) == memory


def test_sparse_format_copies_what_the_image_holds():
    image = bytes(64) + b"static data " * 3000  # as the memory starts: 36,064 bytes
    header = b"HEAD" * 36  # Pyodide's header before the memory, 144 bytes as in its snapshots
    memory = bytearray(image + bytes(40_000))
    memory[9000:9010] = b"changed!!!"  # a block the program wrote is carried
    memory[50_000:50_005] = b"heap!"
    snapshot = header + bytes(memory)
    data = engine_assets.sparse(snapshot, image)
    copies = int.from_bytes(data[12:16], "little")
    assert copies == 2  # the unchanged static data on both sides of the changed block
    assert engine_assets.unsparse(data, image) == snapshot
    assert len(data) < 0.5 * len(image)


def test_sparse_format_refuses_a_cut_or_foreign_file():
    data = engine_assets.sparse(b"a" * 5000)
    with pytest.raises(ValueError, match="runs end at"):
        engine_assets.unsparse(data[:-1])
    with pytest.raises(ValueError, match="ACSP"):
        engine_assets.unsparse(b"\0snp" + data[4:])


def test_own_stylesheets_are_published_as_one_file_under_its_content_hash(built):
    """Every page links one file joining the site's stylesheets in order (cached a year by
    serve.py); the separate files and their links are gone."""
    serve = load_module("site_serve_css", ROOT / "site" / "serve.py")
    (joined,) = (built / "assets" / "css").glob("site.*.css")
    text = joined.read_text("utf-8")
    at = 0
    for name in ("site", "simulator", "service"):
        source = (ROOT / "site" / "assets" / "css" / f"{name}.css").read_text("utf-8")
        found = text.index(source, at)  # whole, and after the one before it
        at = found + len(source)
        assert not list((built / "assets" / "css").glob(f"{name}.css"))
    assert sorted(p.name for p in (built / "assets" / "css").glob("*.css")) == [joined.name]
    assert serve.cache_control(f"/assets/css/{joined.name}") == "public, max-age=31536000, immutable"
    for page in ("index.html", "simulateur/index.html", "gestion/index.html", "glossaire/index.html"):
        html = (built / page).read_text("utf-8")
        links = re.findall(r'<link rel="stylesheet" href="([^"]+)">', html)
        assert [link for link in links if "/assets/css/" in link or link.startswith("assets/css/")] == [
            link for link in links if link.endswith(f"assets/css/{joined.name}")
        ], page
        assert len([link for link in links if link.endswith(f"assets/css/{joined.name}")]) == 1, page
        # After the theme's own stylesheets, as extra_css was.
        assert links.index(next(link for link in links if "palette" in link)) < links.index(
            next(link for link in links if joined.name in link)
        ), page


def test_own_scripts_are_published_under_their_content_hash(built):
    """Every script of assets/js is served as NAME.HASH.EXT, its hash that of its content, its
    imports naming such files; the pages name only those, and the unhashed names are gone."""
    serve = load_module("site_serve_js", ROOT / "site" / "serve.py")
    folder = built / "assets" / "js"
    published = {p.name: p for p in folder.iterdir() if p.suffix in (".js", ".mjs")}
    sources = sorted(
        p.name for p in (ROOT / "site" / "assets" / "js").iterdir() if p.name != "engine-worker.js"
    )
    assert sorted(re.sub(r"\.[0-9a-f]{12}(?=\.m?js$)", "", name) for name in published) == sources
    for name, path in published.items():
        text = path.read_text("utf-8")
        assert name.split(".")[1] == hashlib.sha256(text.encode()).hexdigest()[:12], name
        assert serve.cache_control(f"/assets/js/{name}") == "public, max-age=31536000, immutable"
        for imported in re.findall(r'from "\./([^"]+)"', text):
            assert imported in published, (name, imported)
        # The source, but for the imports' names.
        source = (ROOT / "site" / "assets" / "js" / re.sub(r"\.[0-9a-f]{12}", "", name)).read_text("utf-8")
        assert re.sub(r'(from "\./[\w-]+)\.[0-9a-f]{12}(\.m?js")', r"\1\2", text) == source, name
    for page in built.rglob("*.html"):
        named = re.findall(r'assets/js/([^"]+)"', page.read_text("utf-8"))
        assert all(n in published for n in named), (page, named)
    simulator_page = (built / "simulateur" / "index.html").read_text("utf-8")
    assert re.search(
        r'<script type="module" src="\.\./assets/js/simulator\.[0-9a-f]{12}\.js">', simulator_page
    )


def test_script_names_follow_what_they_import(tmp_path):
    """A change in an imported module renames the module and every one importing it; the others
    keep their names. An import of a missing file, or a cycle, stops the build."""
    fingerprint = load_module("site_fingerprint", ROOT / "site" / "hooks" / "fingerprint.py")

    def build(leaf: str) -> dict[str, str]:
        site = tmp_path / f"site-{len(leaf)}"
        folder = site / "assets" / "js"
        folder.mkdir(parents=True)
        (folder / "leaf.mjs").write_text(leaf)
        (folder / "mid.mjs").write_text('import { x } from "./leaf.mjs";\nexport const y = x;\n')
        (folder / "top.js").write_text('import { y } from "./mid.mjs";\nconsole.log(y);\n')
        (folder / "alone.js").write_text("console.log(1);\n")
        (folder / "engine-worker.js").write_text("self.onmessage = null;\n")
        (site / "page").mkdir()
        (site / "page" / "index.html").write_text('<script type="module" src="../assets/js/top.js"></script>')
        renamed = fingerprint.fingerprint_scripts(site)
        assert (folder / "engine-worker.js").is_file()  # left to engine_assets.py
        assert f'src="../assets/js/{renamed["top.js"]}"' in (site / "page" / "index.html").read_text()
        assert f'from "./{renamed["leaf.mjs"]}"' in (folder / renamed["mid.mjs"]).read_text()
        return renamed

    before, after = build("export const x = 1;\n"), build("export const x = 22;\n")
    assert before["alone.js"] == after["alone.js"]
    for name in ("leaf.mjs", "mid.mjs", "top.js"):
        assert before[name] != after[name], name
    broken = tmp_path / "broken" / "assets" / "js"
    broken.mkdir(parents=True)
    (broken / "a.js").write_text('import "./gone.js";\n')
    with pytest.raises(RuntimeError, match=r"imports gone\.js"):
        fingerprint.fingerprint_scripts(broken.parent.parent)
    (broken / "a.js").write_text('import "./b.js";\n')
    (broken / "b.js").write_text('import("./a.js");\n')
    with pytest.raises(RuntimeError, match="cycle"):
        fingerprint.fingerprint_scripts(broken.parent.parent)


def test_home_links_to_the_simulator(built):
    source = (built / "index.html").read_text("utf-8")
    assert re.search(r'<a [^>]*href="simulateur/"', source)
    assert f"68{NNBSP}000" in page_text(built / "index.html")


# --- Tables generated from the tariff ---------------------------------------------------------


def test_prime_tables_follow_the_tariff(built):
    page = built / "prime" / "index.html"
    rows = table_rows(page)
    for sector in TARIFF["sectors"].values():
        assert has_row(rows, sector["label"], fr_factor(sector["factor"]), fr_share(sector["pd"])), sector
    for zone in TARIFF["zones"].values():
        assert has_row(rows, zone["label"], fr_factor(zone["factor"]), f"{zone['max_credit_days']} jours")
    for table in ("concentration", "buyers_count", "company_age", "payment_terms"):
        factors = [row[-1] for row in rows if row]
        for band in TARIFF[table]["bands"]:
            assert fr_factor(band["factor"]) in factors, (table, band)
    for payment in TARIFF["payment"].values():
        assert has_row(rows, payment["label"], fr_factor(payment["factor"]))
    for fee in TARIFF["fees"].values():
        assert has_row(rows, fee["label"], fr_euros(fee["amount"]))
    assert has_row(rows, fr_share(TARIFF["tax"]["rate"]))
    assert has_row(rows, fr_share(TARIFF["tax"]["export_rate"]))
    for grade, spec in TARIFF["grades"].items():
        assert any(row[:2] == [grade, fr_share(spec["pd"])] for row in rows), grade
    for spec in TARIFF["formulas"].values():
        assert has_row(rows, spec["label"], fr_euros(spec["minimum_premium"]))
    text = page_text(page)
    assert fr_factor(TARIFF["loss_history"]["claim_free_factor"]) in text


def test_prime_worked_example_is_the_engines(built):
    rows = table_rows(built / "prime" / "index.html")
    total = next(row for row in rows if row and row[0] == "Prime totale par an")
    amount = Decimal(total[-1].replace(NNBSP, "").removesuffix(NBSP + "€").replace(",", "."))
    assert amount > 0


def test_formulas_page_compares_from_the_tariff(built):
    page = built / "formules" / "index.html"
    rows = table_rows(page)
    labels = [spec["label"] for spec in TARIFF["formulas"].values()]
    assert ["Caractéristique", *labels] in rows
    minimum = next(row for row in rows if row and row[0] == "Prime minimum par an")
    assert minimum[1:] == [fr_euros(s["minimum_premium"]) for s in TARIFF["formulas"].values()]
    rate = next(row for row in rows if row and row[0] == "Taux de base")
    for cell, spec in zip(rate[1:], TARIFF["formulas"].values(), strict=True):
        assert cell.startswith(fr_decimal(spec["base_rate_per_mille"]) + NBSP + "‰")
    for spec in TARIFF["formulas"].values():
        for service in spec["services"]:
            assert service in page_text(page)


def test_glossary_defines_every_domain_term(built):
    text = page_text(built / "glossaire" / "index.html")
    for term in (
        "Chiffre d'affaires assuré",
        "Quotité garantie",
        "Garantie automatique",
        "limite de crédit",
        "Durée maximale de crédit",
        "Déclaration de menace de sinistre",
        "Prorogation d'échéance",
        "Recouvrement",
        "Délai constitutif de sinistre",
        "Procédure collective",
        "Sinistre",
        "Franchise",
        "Plafond d'indemnisation",
        "Prime minimum",
        "Taxe sur les conventions d'assurance",
        "Surveillance",
        "Note",
    ):
        assert term in text, term
    assert "<dl>" in (built / "glossaire" / "index.html").read_text("utf-8")


# --- Offline: nothing is fetched from another host --------------------------------------------

_EXTERNAL = r"(?:https?:)?//(?!(?:127\.0\.0\.1|localhost|\[::1\])[:/])[\w.-]+"
_CODE_PATTERNS = [
    re.compile(p, re.IGNORECASE)
    for p in (
        rf"""@import\s+(?:url\(\s*)?["']?{_EXTERNAL}""",
        rf"""url\(\s*["']?{_EXTERNAL}""",
        rf"""\bsrc\s*[=:]\s*["'`]{_EXTERNAL}""",
        rf"""importScripts\(\s*["'`]{_EXTERNAL}""",
        rf"""\bimport\s*\(\s*["'`]{_EXTERNAL}""",
        rf"""\bfrom\s*["'`]{_EXTERNAL}""",
    )
]
_HARMLESS_LINK_RELS = {"canonical", "alternate", "prev", "next", "author", "license"}


_LOCAL = re.compile(r"(?:https?:)?//(?:127\.0\.0\.1|localhost|\[::1\])(?:[:/]|$)", re.IGNORECASE)


def _external(url: str) -> bool:
    """An absolute or protocol-relative URL to another host."""
    url = url.strip()
    return bool(re.match(r"(?:https?:)?//", url, re.IGNORECASE)) and not _LOCAL.match(url)


class _ExternalRefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = {k: v or "" for k, v in attrs}
        for key in ("src", "srcset", "poster", "data", "action", "xlink:href"):
            if key in a and any(_external(part.split()[0]) for part in a[key].split(",") if part.strip()):
                self.problems.append(f"<{tag} {key}={a[key]!r}>")
        href = a.get("href", "")
        if not _external(href):
            return
        rels = set(a.get("rel", "").lower().split())
        if tag == "a":
            if "noopener" not in rels:
                self.problems.append(f"<a href={href!r}> without rel=noopener")
        elif tag == "link":
            if not rels <= _HARMLESS_LINK_RELS:
                self.problems.append(f"<link rel={a.get('rel')!r} href={href!r}>")
        else:
            self.problems.append(f"<{tag} href={href!r}>")


def test_no_request_leaves_the_host(built):
    problems = []
    for path in sorted(built.rglob("*")):
        if path.suffix not in (".html", ".css", ".js", ".mjs") or not path.is_file():
            continue
        text = path.read_text("utf-8", errors="replace")
        where = path.relative_to(built)
        problems += [f"{where}: {m.group(0)}" for p in _CODE_PATTERNS for m in p.finditer(text)]
        if path.suffix == ".html":
            parser = _ExternalRefs()
            parser.feed(text)
            problems += [f"{where}: {p}" for p in parser.problems]
    assert not problems, "\n".join(problems)


def test_external_reference_check_catches_offenders():
    parser = _ExternalRefs()
    parser.feed(
        '<link rel="stylesheet" href="https://fonts.googleapis.com/css"><script src="//cdn.example/x.js">'
        '</script><a href="https://example.org">x</a><a href="https://example.org" rel="noopener">y</a>'
        '<img src="http://127.0.0.1:8000/a.png"><link rel="canonical" href="https://example.org/">'
    )
    assert len(parser.problems) == 3, parser.problems
    for bad in (
        "@import 'https://x.example/a.css';",
        "a{background:url(//cdn.example/i.png)}",
        'x.src="https://a.b/c"',
    ):
        assert any(p.search(bad) for p in _CODE_PATTERNS), bad
    for good in (
        "b{background:url(data:image/svg+xml;xmlns='http://www.w3.org/2000/svg')}",
        "url(assets/x.png)",
    ):
        assert not any(p.search(good) for p in _CODE_PATTERNS), good


# --- Hook filters -----------------------------------------------------------------------------


def test_french_number_filters():
    hook = load_module("tariff_pages_hook", ROOT / "site" / "hooks" / "tariff_pages.py")
    assert hook.fr_num(Decimal("12345.5")) == f"12{NNBSP}345,5"
    assert hook.fr_num(-1234567) == f"-1{NNBSP}234{NNBSP}567"
    assert hook.euros(Decimal("950.00")) == f"950{NBSP}€"
    assert hook.euros("41.4") == f"41,40{NBSP}€"
    assert hook.euros(7500, cents=True) == f"7{NNBSP}500,00{NBSP}€"
    assert hook.share(Decimal("0.0350")) == f"3,5{NBSP}%"
    assert hook.share(0.2) == f"20{NBSP}%"
    assert hook.factor(Decimal("1")) == f"×{NBSP}1,00"
    assert hook.factor(Decimal("0.9674")) == f"×{NBSP}0,9674"
    assert hook.signed_euros("-12") == f"−{NBSP}12,00{NBSP}€"
    assert hook.fr_date("2026-11-01") == "1er novembre 2026"


# --- Local server -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def serve():
    return load_module("site_serve", ROOT / "site" / "serve.py")


def _get(url: str, **headers: str):
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
        return response.status, dict(response.headers), response.read()


def test_server_serves_pages_and_wasm(built, serve):
    dummy = built / "assets" / "pyodide" / "test-dummy.wasm"
    dummy.parent.mkdir(parents=True, exist_ok=True)
    dummy.write_bytes(b"\0asm\1\0\0\0")
    module = built / "assets" / "engine" / "test-dummy.mjs"
    module.parent.mkdir(parents=True, exist_ok=True)
    module.write_text("export const x = 1;\n")
    module.with_name(module.name + ".gz").write_bytes(gzip.compress(module.read_bytes()))
    module.with_name(module.name + ".zst").write_bytes(
        zstandard.ZstdCompressor().compress(module.read_bytes())
    )
    server, url = serve.start(built)
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", url)
        status, headers, body = _get(url + "prime/")
        assert status == 200
        assert headers["Content-Type"].startswith("text/html")
        assert headers["Cache-Control"] == "no-cache"
        assert "Comment la prime est calculée" in body.decode("utf-8")

        status, headers, body = _get(url + "assets/pyodide/test-dummy.wasm")
        assert (status, headers["Content-Type"], body) == (200, "application/wasm", dummy.read_bytes())
        assert headers["Cache-Control"] == "public, max-age=31536000, immutable"

        status, headers, body = _get(url + "assets/engine/test-dummy.mjs", **{"Accept-Encoding": "gzip"})
        assert headers["Content-Type"] == "text/javascript"
        assert headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(body) == module.read_bytes()
        # zstd is preferred where the client takes it (Chromium sends "gzip, deflate, br, zstd").
        status, headers, body = _get(
            url + "assets/engine/test-dummy.mjs", **{"Accept-Encoding": "gzip, deflate, br, zstd"}
        )
        assert (headers["Content-Type"], headers["Content-Encoding"]) == ("text/javascript", "zstd")
        assert headers["Vary"] == "Accept-Encoding"
        assert zstandard.ZstdDecompressor().decompress(body) == module.read_bytes()
        zstd_tag = headers["ETag"]
        status, headers, body = _get(
            url + "assets/engine/test-dummy.mjs", **{"Accept-Encoding": "zstd;q=0, gzip"}
        )
        assert headers["Content-Encoding"] == "gzip"
        assert headers["ETag"] != zstd_tag
        status, headers, body = _get(url + "assets/engine/test-dummy.mjs")
        assert "Content-Encoding" not in headers
        assert body == module.read_bytes()

        # A revalidated page answers 304 with no body; a changed or unknown tag gets the page.
        status, headers, _ = _get(url + "prime/", **{"Accept-Encoding": "gzip"})
        tag = headers["ETag"]
        with pytest.raises(urllib.error.HTTPError) as same:
            _get(url + "prime/", **{"Accept-Encoding": "gzip", "If-None-Match": tag})
        assert same.value.code == 304
        assert same.value.headers["ETag"] == tag
        assert same.value.read() == b""
        status, headers, body = _get(
            url + "prime/", **{"Accept-Encoding": "gzip", "If-None-Match": '"other"'}
        )
        assert status == 200
        assert body
        # The theme's content-hashed files are cached for a year; its other files are revalidated.
        bundle = next((built / "assets" / "javascripts").glob("bundle.*.min.js"))
        status, headers, _ = _get(url + f"assets/javascripts/{bundle.name}")
        assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
        status, headers, _ = _get(url + "search/search_index.json")
        assert headers["Cache-Control"] == "no-cache"

        with pytest.raises(urllib.error.HTTPError) as missing:
            _get(url + "nope/")
        assert missing.value.code == 404
    finally:
        server.shutdown()
        server.server_close()


def test_server_sends_each_response_at_once_on_a_kept_alive_connection(built, serve):
    """The handler turns Nagle's algorithm off on every connection it accepts: otherwise a body
    written after its headers waits for the client's delayed ACK (44 ms per request)."""
    server, _ = serve.start(built)
    nodelay: list[int] = []

    class Watching(server.RequestHandlerClass):  # type: ignore[name-defined, misc]
        def setup(self) -> None:
            super().setup()
            nodelay.append(self.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    server.RequestHandlerClass = Watching
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
        for _ in range(3):
            connection.request("GET", "/prime/")
            response = connection.getresponse()
            assert response.status == 200
            assert response.read()
        connection.close()
        assert len(nodelay) == 1  # the three requests shared one connection
        assert nodelay[0]
    finally:
        server.shutdown()
        server.server_close()


def test_server_command_prints_one_line_and_stops_on_sigterm(built):
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "site" / "serve.py"), "--port", "0", "--dir", str(built)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert re.fullmatch(r"SITE: http://127\.0\.0\.1:\d+/\n", line), line
        status, _, _ = _get(line.split(" ", 1)[1].strip())
        assert status == 200
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert out == ""
