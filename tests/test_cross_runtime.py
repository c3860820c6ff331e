"""CPython and Pyodide-in-Node must answer every request with the same bytes.

All requests go through one Node process (Pyodide takes seconds to start);
each request is then its own test case, named after the request. Request
texts are fixed here, so both runtimes parse exactly the same text.

Pyodide runs from the files the site serves (npm's, with the build's edits:
``RUNTIME_EDITS`` in ``site/hooks/engine_assets.py``), twice: booted from
them, and as the site's worker runs it, restoring the memory snapshot made by
``site/tools/make_snapshot.mjs`` with an empty standard library (the page never
downloads ``python_stdlib.zip``): an import the snapshot does not hold fails
there, on any request.

Without ``node_modules/pyodide`` (or ``node``) the test is skipped, except
under CI (``CI`` set), where it fails: CI installs them with ``npm ci``.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import subprocess
import traceback
import zipfile
from pathlib import Path
from typing import Any

import pytest

from .browser import load_module
from .reference import TYPICAL_PROFILE

REPO = Path(__file__).resolve().parent.parent
RUNNER = REPO / "tests" / "pyodide_node" / "run.mjs"
PYODIDE_DIR = REPO / "node_modules" / "pyodide"
DATA_DIR = REPO / "tests" / "data"
SNAPSHOT_TOOL = REPO / "site" / "tools" / "make_snapshot.mjs"
COVERAGE_TOOL = REPO / "site" / "tools" / "wasm_coverage.mjs"
# The requests, shared with the site's build (the lean runtime keeps what they call).
CORPUS = load_module("engine_requests", REPO / "site" / "tools" / "engine_requests.py")
NODE_TIMEOUT_S = 600


def _worked_examples() -> list[tuple[str, str]]:
    """Requests of the worked examples in tests/data (their own tests check them)."""
    cases = []
    for path in sorted(DATA_DIR.glob("*.json")):
        try:
            data = json.loads(path.read_text("utf-8"))
        except (ValueError, UnicodeDecodeError):
            continue  # a broken example fails in the tests that own it
        if isinstance(data, dict) and "request" in data:
            cases.append((f"data/{path.name}", CORPUS.request_text(data["request"])))
    return cases


def build_requests() -> list[tuple[str, str]]:
    """(name, request text) pairs: the shared corpus on the typical profile, and the worked examples."""
    cases = CORPUS.build_requests(TYPICAL_PROFILE) + _worked_examples()
    names = [name for name, _ in cases]
    assert len(set(names)) == len(names), "request names must be unique"
    return cases


REQUESTS = build_requests()


def _missing_runtime() -> str | None:
    if shutil.which("node") is None:
        return "node is not on PATH"
    if not (PYODIDE_DIR / "pyodide.mjs").is_file():
        return f"{PYODIDE_DIR} is missing (run `npm ci`)"
    return None


def _node_json(script: str, *args: str) -> Any:
    """What an ES module script run by Node prints last, as JSON (its arguments after the script)."""
    proc = subprocess.run(
        ["node", "--input-type=module", "-e", script, *args],
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_S,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _cpython_response(text: str) -> Any:
    """handle_json's answer, or ``{"exception": "Type: message"}`` if it raised."""
    import simulator

    try:
        return simulator.handle_json(text)
    except Exception as exc:  # a contract breach, reported by the test
        return {"exception": "".join(traceback.format_exception_only(exc)).strip()}


def _pyodide_answer(answer: Any) -> Any:
    """run.mjs's item, with a traceback cut to its last line like CPython's."""
    if isinstance(answer, dict) and "exception" in answer:
        return {"exception": answer["exception"].strip().splitlines()[-1], "traceback": answer["exception"]}
    return answer


def _engine_assets() -> Any:
    """The site's build hook, which knows the runtime the site serves and how the snapshot is made."""
    import sys

    sys.path.insert(0, str(REPO / "site" / "hooks"))
    try:
        import engine_assets
    finally:
        sys.path.pop(0)
    return engine_assets


def _run_tool(tool: Path, *args: Path) -> None:
    """Run one of the site's Node tools; the test fails with its error output if it fails."""
    proc = subprocess.run(
        ["node", str(tool), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_S,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(f"{tool.name} exited with {proc.returncode}:\n{proc.stderr[-6000:]}")


def _snapshot(directory: Path, runtime: Path) -> Path:
    """A snapshot of the engine as the site build makes it, from the package CPython runs."""
    archive = directory / "simulator.zip"
    archive.write_bytes(_engine_assets()._engine_archive())
    out = directory / "snapshot.bin"
    _run_tool(SNAPSHOT_TOOL, runtime, archive, out)
    return out


@pytest.fixture(scope="module")
def runtime() -> Path:
    """The folder of the runtime the site serves: Pyodide's files with the build's edits.

    Skips without Node or Pyodide's files; under CI, where both are installed, fails instead.
    """
    missing = _missing_runtime()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"cross-runtime test cannot run under CI: {missing}")
        pytest.skip(f"Pyodide runtime unavailable: {missing}")
    return _engine_assets().runtime_dir()


@pytest.fixture(scope="module")
def snapshot_file(runtime: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The snapshot the site build would make, by the runtime the site serves."""
    return _snapshot(tmp_path_factory.mktemp("snapshot"), runtime)


def _lean_answers(
    runtime: Path, snapshot: Path, site: Path, directory: Path, requests_file: Path
) -> list[Any]:
    """The answers of the site's lean runtime, restored from ``snapshot`` and called as the
    worker calls it (site/tools/wasm_coverage.mjs): the full runtime's files, its wasm replaced."""
    lean = directory / "lean"
    shutil.copytree(runtime, lean)
    published = list((site / "assets" / "engine").glob("runtime-*.wasm"))
    assert len(published) == 1, published
    shutil.copyfile(published[0], lean / "pyodide.asm.wasm")
    out = directory / "answers.json"
    _run_tool(COVERAGE_TOOL, lean, snapshot, requests_file, out)
    return json.loads(out.read_text("utf-8"))


@pytest.fixture(scope="module", params=["booted", "snapshot", "lean"])
def responses(
    request: pytest.FixtureRequest, runtime: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[Any, Any]]:
    """CPython's and Pyodide's answers to every request, by request name: Pyodide booted, restored
    from the snapshot, and restored on the site's lean runtime (which must answer every request
    itself: a request that reaches a function it lacks dies there, answered {"fatal": ...})."""
    import simulator

    package_dir = Path(simulator.__file__).resolve().parent  # the very code CPython runs
    directory = tmp_path_factory.mktemp("cross_runtime")
    requests_file = directory / "requests.json"
    requests_file.write_text(json.dumps([text for _, text in REQUESTS], ensure_ascii=True), "ascii")
    if request.param == "lean":
        snapshot = request.getfixturevalue("snapshot_file")
        site = request.getfixturevalue("site_build")
        answers = _lean_answers(runtime, snapshot, site, directory, requests_file)
        return {
            name: (_cpython_response(text), _pyodide_answer(answer))
            for (name, text), answer in zip(REQUESTS, answers, strict=True)
        }
    # The runtime the site serves, booted or restored.
    extra = ["--pyodide-dir", str(runtime)]
    if request.param == "snapshot":
        extra += ["--snapshot", str(request.getfixturevalue("snapshot_file"))]
    proc = subprocess.run(
        [
            "node",
            str(RUNNER),
            "run",
            "--requests",
            str(requests_file),
            "--package-dir",
            str(package_dir),
            *extra,
        ],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=NODE_TIMEOUT_S,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(f"run.mjs exited with {proc.returncode}:\n{proc.stderr[-6000:]}")
    pyodide = json.loads(proc.stdout)
    assert len(pyodide) == len(REQUESTS), f"run.mjs answered {len(pyodide)} of {len(REQUESTS)} requests"
    return {
        name: (_cpython_response(text), _pyodide_answer(answer))
        for (name, text), answer in zip(REQUESTS, pyodide, strict=True)
    }


def _shorten(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"


def _difference(cpython: Any, pyodide: Any) -> str:
    """Where the two answers part, for the failure message."""
    if not (isinstance(cpython, str) and isinstance(pyodide, str)):
        return f"CPython: {_shorten(str(cpython), 2000)}\nPyodide: {_shorten(str(pyodide), 2000)}"
    at = next(
        (i for i, (a, b) in enumerate(zip(cpython, pyodide, strict=False)) if a != b),
        min(len(cpython), len(pyodide)),
    )
    lines = [
        f"first difference at character {at}:",
        f"  CPython: ...{cpython[max(0, at - 60) : at + 60]!r}",
        f"  Pyodide: ...{pyodide[max(0, at - 60) : at + 60]!r}",
    ]
    try:
        a = json.dumps(json.loads(cpython), indent=1, ensure_ascii=False, sort_keys=True).splitlines()
        b = json.dumps(json.loads(pyodide), indent=1, ensure_ascii=False, sort_keys=True).splitlines()
    except ValueError:
        return "\n".join(lines)
    diff = list(difflib.unified_diff(a, b, "CPython", "Pyodide", n=2, lineterm=""))
    if not diff:
        lines.append("same JSON value, different text (key order or number formatting)")
    return "\n".join(lines + diff[:80])


@pytest.mark.parametrize(("name", "text"), REQUESTS, ids=[name for name, _ in REQUESTS])
def test_same_bytes_on_cpython_and_pyodide(
    name: str, text: str, responses: dict[str, tuple[Any, Any]]
) -> None:
    cpython, pyodide = responses[name]
    if (
        isinstance(cpython, dict)
        and isinstance(pyodide, dict)
        and cpython["exception"] == pyodide.get("exception")
    ):
        pytest.fail(
            f"request {name!r}: handle_json raised the same exception on both runtimes (it must answer, "
            f"never raise)\nrequest: {_shorten(text)}\n{pyodide['traceback']}",
            pytrace=False,
        )
    if cpython != pyodide:
        pytest.fail(
            f"request {name!r} answers differ between CPython and Pyodide\n"
            f"request: {_shorten(text)}\n{_difference(cpython, pyodide)}",
            pytrace=False,
        )


LINKER_CHECK = """
let compiled = 0;
const { Module } = WebAssembly;
WebAssembly.Module = new Proxy(Module, { construct: (...args) => ((compiled += 1), Reflect.construct(...args)) });
const { loadPyodide } = await import(process.argv[1] + "/pyodide.mjs");
const pyodide = await loadPyodide({ indexURL: process.argv[1] + "/", stdout: () => {}, stderr: () => {} });
const booted = compiled;
// The linker's entries for JavaScript functions: their slots, in the order the entries come.
const module = pyodide._module;
const slots = [];
for (const [name, entry] of Object.entries(module.GOT)) {
  const func = module.resolveGlobalSymbol(name, true).sym;
  if (typeof func !== "function" || func.sig === undefined || slots.some((s) => s.func === func)) continue;
  const wrapper = module.getWasmTableEntry(entry.value);
  slots.push({ func, slot: entry.value, arity: wrapper.length === func.sig.length - 1, mapped: module.getFunctionAddress(func) === entry.value });
}
const python = JSON.parse(pyodide.runPython(`
import ctypes, json
main = ctypes.CDLL(None)
address = lambda f: ctypes.cast(f, ctypes.c_void_p).value
json.dumps([main.strlen(b"abcd"), main.abs(-7), address(main.strlen) == address(ctypes.CDLL(None).strlen)])
`));
console.log(JSON.stringify({
  python,
  booted,
  wrapped: slots.length,
  consecutive: slots.every((s, i) => i === 0 || s.slot === slots[i - 1].slot + 1),
  arity: slots.every((s) => s.arity),
  mapped: slots.every((s) => s.mapped),
}));
"""


def test_the_edited_runtime_still_links_symbols_on_demand(runtime: Path) -> None:
    """The site's runtime fills the linker's entries only when asked, and wraps its JavaScript
    functions in one module (RUNTIME_EDITS): a symbol looked up while Python runs still resolves
    to a working function, at one address every time, and each JavaScript function has its slot,
    taken in the order the unedited linker takes them (the snapshot keeps these numbers)."""
    found = _node_json(LINKER_CHECK, str(runtime))
    assert found["python"] == [4, 7, True]
    # About 260 functions, once wrapped one module each; now the runtime's wasm and one more.
    assert found["wrapped"] > 200
    assert found["booted"] <= 3, found
    assert found["consecutive"], found
    assert found["arity"], found
    assert found["mapped"], found


TABLE_SLOTS_CHECK = """
const [dir, workerPath] = process.argv.slice(1);
const { readFileSync } = await import("node:fs");
const vm = await import("node:vm");
// The worker's own tableSlots, its script run in a context of its own (it starts nothing there).
const context = vm.createContext({ self: { fetch: () => Promise.reject(new Error("no network")), location: { hash: "" } } });
vm.runInContext(readFileSync(workerPath, "utf-8"), context);
const wasm = new Uint8Array(readFileSync(dir + "/pyodide.asm.wasm"));
const slots = context.tableSlots(wasm);
// Bytes cut short (a spoilt download): no slots before the element segment is whole, and no
// endless read; the same slots after it (the compile then fails on its own).
const cut = [9, 100, wasm.length >> 1].map((length) => context.tableSlots(wasm.subarray(0, length))?.size ?? null);
const { loadPyodide } = await import(dir + "/pyodide.mjs");
const { default: factory } = await import(dir + "/pyodide.asm.mjs");
let reads = 0;
const get = WebAssembly.Table.prototype.get;
WebAssembly.Table.prototype.get = function (index) {
  reads += 1;
  return get.call(this, index);
};
const start = async (given) => {
  let linked = null;
  const createPyodideModule = (settings) => {
    settings.tableSlots = given;
    // Reads of the table until the runtime is created: the linker's lookups and Python's start.
    reads = 0;
    return factory(settings).then((module) => ((linked = reads), module));
  };
  const pyodide = await loadPyodide({ indexURL: dir + "/", createPyodideModule, stdout: () => {}, stderr: () => {} });
  return {
    entries: Object.entries(pyodide._module.GOT).map(([name, entry]) => [name, entry.value]),
    linked,
    sum: pyodide.runPython("sum(range(10))"),
  };
};
const scanned = await start(null);
const looked = await start(slots);
console.log(JSON.stringify({ slots: slots && slots.size, cut, scanned, looked }));
"""


def test_the_linker_finds_slots_in_the_workers_table_map_as_in_the_table(runtime: Path) -> None:
    """Given the slots the engine's worker reads from the wasm's element segment (tableSlots), the
    edited linker gives every entry the slot a read of the whole table gives, and the runtime's
    creation reads thousands fewer slots."""
    worker = REPO / "site" / "assets" / "js" / "engine-worker.js"
    found = _node_json(TABLE_SLOTS_CHECK, str(runtime), str(worker))
    assert found["slots"] > 7000, found["slots"]  # the element segment's distinct functions
    assert found["cut"] == [None, None, found["slots"]]
    scanned, looked = found["scanned"], found["looked"]
    assert scanned["sum"] == looked["sum"] == 45
    assert len(looked["entries"]) > 200
    assert looked["entries"] == scanned["entries"]
    # Python's own start (a fresh boot here) reads slots too: the difference is the table's scan.
    assert scanned["linked"] - looked["linked"] > 8000, (scanned["linked"], looked["linked"])


SLOTS_SECTION_CHECK = """
const [workerPath, withSection, without] = process.argv.slice(1);
const { readFileSync } = await import("node:fs");
const vm = await import("node:vm");
const context = vm.createContext({ self: { fetch: () => Promise.reject(new Error("no network")), location: { hash: "" } } });
vm.runInContext(readFileSync(workerPath, "utf-8"), context);
const wasm = vm.runInContext("WebAssembly", context);
const bytes = new Uint8Array(readFileSync(withSection));
const fromSection = context.sectionSlots(await wasm.compile(bytes));
const decoded = context.tableSlots(bytes);
let differ = 0;
let found = 0;
for (let index = -2; index < 40000; index++) {
  if (fromSection.get(index) !== decoded.get(index)) differ++;
  if (fromSection.get(index) !== undefined) found++;
}
const plain = context.sectionSlots(await wasm.compile(new Uint8Array(readFileSync(without))));
console.log(JSON.stringify({ size: fromSection.size, decoded: decoded.size, found, differ, plain }));
"""


def test_the_slots_the_build_writes_into_the_wasm_are_the_ones_the_worker_would_decode(
    runtime: Path, tmp_path: Path
) -> None:
    """The table slots the build decodes into a custom section of the lean runtime (with_slots),
    read back by the worker (sectionSlots), equal what the worker's own decoding of the element
    segment (tableSlots) gives, function by function; a wasm without the section gives none."""
    worker = REPO / "site" / "assets" / "js" / "engine-worker.js"
    full = (runtime / "pyodide.asm.wasm").read_bytes()
    (tmp_path / "with.wasm").write_bytes(_engine_assets().with_slots(full))
    found = _node_json(
        SLOTS_SECTION_CHECK, str(worker), str(tmp_path / "with.wasm"), str(runtime / "pyodide.asm.wasm")
    )
    assert found["size"] == found["decoded"] == found["found"] > 7000, found
    assert found["differ"] == 0, found
    assert found["plain"] is None


RESTORED_CHECK = """
const [dir, snapshot, emptyZip] = process.argv.slice(1);
const { readFileSync } = await import("node:fs");
const { loadPyodide } = await import(dir + "/pyodide.mjs");
const pyodide = await loadPyodide({
  indexURL: dir + "/",
  _loadSnapshot: readFileSync(snapshot),
  stdLibURL: emptyZip, // as in the browser: the snapshot holds every module the engine uses
  stdout: () => {},
  stderr: () => {},
});
const answer = pyodide.runPython("x = 40 + 2\\nx");
const simulator = pyodide.pyimport("simulator");
const reply = JSON.parse(simulator.handle_json(JSON.stringify({ op: "quote", profile: { turnover: 800000, sector: "services" } })));
console.log(JSON.stringify({
  answer,
  global: pyodide.globals.get("x"),
  builtin: pyodide.runPython("len('abc')"),
  main: pyodide.runPython("__name__"),
  imported: pyodide.runPython("import json; json.dumps([1])"),
  engine: reply.ok,
}));
"""


def test_a_runtime_restored_from_the_snapshot_runs_python_as_usual(
    runtime: Path, snapshot_file: Path, tmp_path: Path
) -> None:
    """Restored, the site's runtime fetches the objects it needs through calls instead of running
    Python source (RUNTIME_EDITS): source, globals, builtins and imports then work as booted."""
    empty = tmp_path / "empty.zip"
    zipfile.ZipFile(empty, "w").close()
    found = _node_json(RESTORED_CHECK, str(runtime), str(snapshot_file), str(empty))
    assert found == {
        "answer": 42,
        "global": 42,
        "builtin": 3,
        "main": "__main__",
        "imported": "[1]",
        "engine": True,
    }
