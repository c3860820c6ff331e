"""The simulator page in Debian's Chromium, against the built site served on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import re
import struct
import subprocess
import sys
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest

from .browser import AXE, ROOT, simulator_config

sys.path.insert(0, str(ROOT / "site" / "hooks"))
import engine_assets

sys.path.pop(0)

FORMULAS = ("essentielle", "selection", "tout_compris")
READY = "window.__sim && window.__sim.info"


def cli(request: dict[str, Any]) -> dict[str, Any]:
    """The engine through its command line, as the issue asks the page to agree with."""
    done = subprocess.run(
        [sys.executable, "-m", "simulator"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)["result"]


def totals(page: Any, items: str) -> dict[str, str]:
    """The ``data-premium-total`` inside each of ``items`` (elements with ``data-formula``), by formula."""
    return page.eval_on_selector_all(
        items,
        "items => Object.fromEntries(items.map(i => [i.dataset.formula, i.querySelector('[data-premium-total]')?.dataset.premiumTotal]))",
    )


def premiums(page: Any) -> dict[str, str]:
    """The totals of the formula cards."""
    return totals(page, "#sim-compare .sim-card[data-formula]")


def summary(page: Any) -> dict[str, str]:
    """The totals of the summary kept in view above the form."""
    return totals(page, "#sim-summary li[data-formula]")


def expected_totals(profile: dict[str, Any], options: dict[str, Any] | None = None) -> dict[str, str]:
    result = cli({"op": "compare", "profile": profile, "options": options or {}})
    return {f["formula"]: f["premium"]["total"] for f in result["formulas"] if f["available"]}


def open_simulator(page: Any, site_url: str, query: str = "") -> None:
    page.goto(f"{site_url}simulateur/{query}")
    page.wait_for_function(READY, timeout=60_000)


def wait_for_totals(page: Any, expected: dict[str, str]) -> None:
    page.wait_for_function(
        """expected => Object.entries(expected).every(([f, total]) =>
            document.querySelector(`#sim-compare .sim-card[data-formula="${f}"] [data-premium-total]`)?.dataset.premiumTotal === total)""",
        arg=expected,
        timeout=20_000,
    )


def test_first_paint_is_the_engine_result_before_pyodide(page, site_url):
    blocked: list[str] = []
    page.route(
        "**/assets/engine/engine-worker-*.js",
        lambda route: (blocked.append(route.request.url), route.abort()),
    )
    page.goto(f"{site_url}simulateur/")  # no engine at all: the premiums come with the page
    default = engine_assets.default_simulation()["results"]["compare"]
    assert premiums(page) == {f["formula"]: f["premium"]["total"] for f in default["formulas"]}
    assert summary(page) == premiums(page)
    best = default["recommended"]["formula"]
    assert page.get_attribute("#sim-summary .sim-summary-best", "data-formula") == best
    assert default == cli({"op": "compare", "profile": engine_assets.DEFAULT_PROFILE, "options": {}})
    assert page.locator("#sim-portfolio svg.sim-chart").count() == 1
    # The form is usable while the engine loads.
    page.fill("#f-profile-turnover", "900000")
    assert page.input_value("#f-profile-turnover") == "900000"
    page.wait_for_load_state("load")  # the inline script asked for the worker long before
    assert len(blocked) == 1


def test_engine_loads_from_the_snapshot(page, site_url):
    codings: dict[str, str | None] = {}
    page.on("response", lambda r: codings.__setitem__(r.url, r.headers.get("content-encoding")))
    # The progress bar's values as the worker reports the steps of its start.
    page.add_init_script(
        """new MutationObserver((_, parsing) => {
            const bar = document.getElementById("sim-progress");
            if (!bar) return;
            parsing.disconnect();
            window.__steps = [[bar.value, bar.max, bar.hidden]];
            new MutationObserver(() => __steps.push([bar.value, bar.max, bar.hidden]))
                .observe(bar, {attributes: true});
        }).observe(document, {childList: true, subtree: true});"""
    )
    # The workers the page creates, by URL.
    page.add_init_script(
        """{ const Native = window.Worker; window.__workers = [];
            window.Worker = function (url, options) { __workers.push(String(url)); return new Native(url, options); };
            window.Worker.prototype = Native.prototype; }"""
    )
    open_simulator(page, site_url)
    info = page.evaluate("window.__sim.info")
    assert info["snapshot"] is True
    # One engine worker, its config in its URL's fragment (it starts from there without waiting for
    # the init message), every URL made absolute, and no note of kept files on a first visit.
    (worker,) = [url for url in page.evaluate("window.__workers") if "/assets/engine/engine-worker-" in url]
    sent = json.loads(unquote(urlparse(worker).fragment))
    assert sent == {**page.evaluate(CONFIG), "cached": False}
    # The lean runtime and the snapshot come as their zstd copies (Chromium accepts zstd); the
    # full runtime is not fetched.
    assert {url.rsplit("/", 1)[1].split("-")[0]: codings.get(url) for url in big_files(page)} == {
        "runtime": "zstd",
        "snapshot": "zstd",
    }
    assert (info["runtime"], info["fallback"]) == ("lean", None)
    # Restored from the snapshot, the engine needs nothing from the standard library's zip, nor
    # its own archive: the snapshot holds it imported.
    assert not [url for url in page.requests if url.endswith("python_stdlib.zip")]
    assert archives(page) == []
    # Nor the package lock: the worker gives loadPyodide its header, and the engine loads no package.
    assert not [url for url in page.requests if url.endswith("pyodide-lock.json")]
    marks = info["marks"]
    assert 0 <= marks["loader"] <= marks["runtime"] <= marks["engine"] <= info["timings"]["total_ms"] + 1
    assert "prêt" in page.inner_text("#sim-status-text")
    assert page.is_hidden("#sim-progress")
    steps = page.evaluate("window.__steps")
    assert steps[0] == [0, 4, False]  # shown, empty, from the first paint
    shown = [value for value, _, hidden in steps if not hidden]
    assert shown == sorted(shown), steps
    assert {1, 2, 3} <= set(shown), steps
    assert steps[-1][2] is True
    assert not page.errors


# What the engine keeps between visits, by file name, each file whole: the private file system's
# folder (a file still being written is not swapped in yet; one a visit cut short left empty does
# not count) or Cache Storage (an entry still being written does not match yet).
KEPT_FILES = """store => store === 'cache'
    ? caches.open('ac-engine').then(async cache => {
        const names = [];
        for (const request of await cache.keys()) if (await cache.match(request)) names.push(request.url.split('/').pop());
        return names.sort();
    })
    : navigator.storage.getDirectory().then(root => root.getDirectoryHandle('ac-engine')).then(async dir => {
        const names = [];
        for await (const [name, handle] of dir.entries()) {
            if (handle.kind === 'file' && !name.endsWith('.crswap') && (await handle.getFile()).size > 0) names.push(name);
        }
        return names.sort();
    }, () => [])"""
# A file written into the engine's store by the page, as an earlier engine's would be.
KEEP_FILE = """([store, name, text]) => store === 'cache'
    ? caches.open('ac-engine').then(c => c.put(new URL('../assets/engine/' + name, location), new Response(text)))
    : navigator.storage.getDirectory().then(root => root.getDirectoryHandle('ac-engine', {create: true}))
        .then(dir => dir.getFileHandle(name, {create: true})).then(file => file.createWritable())
        .then(async writer => { await writer.write(text); await writer.close(); })"""
# The store emptied, as a browser clearing site data would (the folder only once the worker is done
# writing into it: a file being written cannot be removed).
FORGET_STORE = """store => store === 'cache'
    ? caches.delete('ac-engine')
    : navigator.storage.getDirectory().then(async root => {
        for (let tries = 0; ; tries++) {
            try { return await root.removeEntry('ac-engine', {recursive: true}); }
            catch (error) { if (error.name !== 'NoModificationAllowedError' || tries > 100) throw error; }
            await new Promise(resolve => setTimeout(resolve, 100));
        }
    })"""
# The worker's config, URLs made absolute as the page gives them to the worker.
CONFIG = """(() => {
    const config = JSON.parse(document.getElementById("sim-config").textContent);
    for (const key of ["indexURL", "archiveURL", "snapshotURL", "leanWasmURL"]) config[key] = new URL(config[key], document.baseURI).href;
    return config;
})()"""
SIM_CONFIG = re.compile(r'(<script type="application/json" id="sim-config">)(.*?)(</script>)', re.S)


def keep_in(page: Any, store: str) -> None:
    """Serve the simulator page with a config asking the worker to keep its files in ``store``
    ("disk", the default where the browser offers it, or "cache")."""

    def with_store(match: re.Match[str]) -> str:
        return match[1] + json.dumps(dict(json.loads(match[2]), keptIn=store)) + match[3]

    def fulfil(route: Any) -> None:
        html = SIM_CONFIG.sub(with_store, route.fetch().text(), 1)
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)

    page.route("**/simulateur/", fulfil)


def kept_when(page: Any, store: str, done: Any) -> list[str]:
    """What the engine's store holds once ``done(names)`` holds (the worker writes it after the start)."""
    deadline = time.monotonic() + 30
    while not done(names := page.evaluate(KEPT_FILES, store)):
        assert time.monotonic() < deadline, (
            f"the engine's {store} holds {names}; {page.evaluate('window.__sim.info')}"
        )
        page.wait_for_timeout(100)
    return names


def names(*urls: str) -> list[str]:
    return sorted(url.rsplit("/", 1)[-1] for url in urls)


def big_files(page: Any) -> list[str]:
    return sorted(
        u
        for u in page.requests
        if u.endswith("pyodide.asm.wasm") or "/snapshot-" in u or "/engine/runtime-" in u
    )


def archives(page: Any) -> list[str]:
    return [u for u in page.requests if "/assets/engine/simulator-" in u]


KEPT_NOTE = "localStorage.getItem('ac-engine-kept')"


@pytest.mark.parametrize("store", ["disk", "cache"])
def test_a_second_visit_starts_from_the_kept_files(page, site_url, store):
    """The runtime and the snapshot are kept decoded, in the private file system or Cache
    Storage; the next visit asks for neither."""
    keep_in(page, store)
    page.goto(site_url)
    page.evaluate(KEEP_FILE, [store, "snapshot-0.bin", "old"])  # an older engine's file goes on the way
    open_simulator(page, site_url)
    config = page.evaluate(CONFIG)
    assert page.evaluate("window.__sim.info.sources") == {"wasm": "network", "snapshot": "network"}
    kept = names(config["leanWasmURL"], config["snapshotURL"])
    kept_when(page, store, lambda found: found == kept)
    assert page.evaluate(KEPT_NOTE) == config["engine"]  # the next visit looks there first
    page.requests.clear()
    page.reload()
    page.wait_for_function(READY, timeout=60_000)
    assert page.evaluate("window.__sim.info.sources") == {"wasm": store, "snapshot": store}
    assert page.evaluate("window.__sim.info.snapshot") is True
    # The kept wasm is read on the worker's thread: pyodide.asm.mjs is imported only after it.
    marks = page.evaluate("window.__sim.info.marks")
    assert marks["asm"] > marks["wasm_bytes"], marks
    assert big_files(page) == []
    assert kept_when(page, store, lambda found: len(found) == 2) == kept
    profile = dict(engine_assets.DEFAULT_PROFILE, turnover="640000")
    page.fill("#f-profile-turnover", "640000")
    wait_for_totals(page, expected_totals(profile))
    assert not page.errors


def test_spoilt_kept_files_are_fetched_again(page, site_url, site_build):
    """In the private file system, a cut snapshot and a wasm a visit cut short left empty are read
    as missing: both come from the network, the snapshot is restored, and both are kept whole again."""
    open_simulator(page, site_url)
    config = page.evaluate(CONFIG)
    kept = names(config["leanWasmURL"], config["snapshotURL"])
    kept_when(page, "disk", lambda found: found == kept)
    lean, snapshot = (url.rsplit("/", 1)[-1] for url in (config["leanWasmURL"], config["snapshotURL"]))
    page.evaluate(
        """([lean, snapshot]) => navigator.storage.getDirectory().then(root => root.getDirectoryHandle('ac-engine'))
            .then(async dir => {
                const cut = await (await dir.getFileHandle(snapshot)).getFile();
                const half = new Uint8Array(await cut.arrayBuffer()).subarray(0, cut.size >> 1);
                for (const [name, bytes] of [[snapshot, half], [lean, new Uint8Array(0)]]) {
                    const writer = await (await dir.getFileHandle(name)).createWritable();
                    await writer.write(bytes);
                    await writer.close();
                }
            })""",
        [lean, snapshot],
    )
    assert kept_when(page, "disk", lambda found: found == [snapshot]) == [snapshot]
    page.requests.clear()
    page.reload()
    page.wait_for_function(READY, timeout=60_000)
    assert page.evaluate("window.__sim.info.sources") == {"wasm": "network", "snapshot": "network"}
    assert page.evaluate("window.__sim.info.snapshot") is True
    assert len(big_files(page)) == 2
    assert archives(page) == []
    sizes = """names => navigator.storage.getDirectory().then(root => root.getDirectoryHandle('ac-engine'))
        .then(dir => Promise.all(names.map(async name => (await (await dir.getFileHandle(name)).getFile()).size)))"""
    served = [(site_build / "assets" / "engine" / name).stat().st_size for name in (lean, snapshot)]
    deadline = time.monotonic() + 30
    while page.evaluate(sizes, [lean, snapshot]) != served:
        assert time.monotonic() < deadline, page.evaluate(sizes, [lean, snapshot])
        page.wait_for_timeout(100)
    page.fill("#f-profile-turnover", "640000")
    wait_for_totals(page, expected_totals(dict(engine_assets.DEFAULT_PROFILE, turnover="640000")))
    assert not page.errors


def test_a_spoilt_cached_snapshot_costs_speed_not_the_engine(page, site_url):
    """A cut snapshot in Cache Storage: Python boots the usual way, the copy is dropped and fetched again."""
    keep_in(page, "cache")
    open_simulator(page, site_url)
    config = page.evaluate(CONFIG)
    kept_when(page, "cache", lambda found: len(found) == 2)
    page.requests.clear()
    page.evaluate(
        """url => caches.open('ac-engine').then(async c => {
            const bytes = new Uint8Array(await (await c.match(url)).arrayBuffer());
            await c.put(url, new Response(bytes.subarray(0, bytes.length >> 1)));
        })""",
        config["snapshotURL"],
    )
    page.reload()
    page.wait_for_function(READY, timeout=60_000)
    assert page.evaluate("window.__sim.info.snapshot") is False
    assert len(archives(page)) == 1  # booted without the snapshot, Python needs the engine's files
    page.fill("#f-profile-turnover", "640000")
    wait_for_totals(page, expected_totals(dict(engine_assets.DEFAULT_PROFILE, turnover="640000")))
    snapshot = names(config["snapshotURL"])[0]
    kept_when(page, "cache", lambda found: snapshot not in found)
    page.reload()
    page.wait_for_function(READY, timeout=60_000)
    assert page.evaluate("window.__sim.info.sources.snapshot") == "network"
    assert page.evaluate("window.__sim.info.snapshot") is True


@pytest.mark.parametrize("store", ["disk", "cache"])
def test_the_kept_files_are_looked_for_only_where_the_page_noted_them(page, site_url, store):
    """Without the page's note the files come from the network at once; with it but an emptied
    store, from the network too; both times the engine starts and the files are kept again."""
    keep_in(page, store)
    open_simulator(page, site_url)
    config = page.evaluate(CONFIG)
    kept = names(config["leanWasmURL"], config["snapshotURL"])
    kept_when(page, store, lambda found: found == kept)
    for forget in ("() => localStorage.removeItem('ac-engine-kept')", FORGET_STORE):
        page.evaluate(forget, store)
        page.requests.clear()
        page.reload()
        page.wait_for_function(READY, timeout=60_000)
        assert page.evaluate("window.__sim.info.sources") == {"wasm": "network", "snapshot": "network"}
        assert len(big_files(page)) == 2
        assert page.evaluate("window.__sim.info.snapshot") is True
        assert page.evaluate(KEPT_NOTE) == config["engine"]
        assert kept_when(page, store, lambda found: found == kept) == kept
    page.fill("#f-profile-turnover", "640000")
    wait_for_totals(page, expected_totals(dict(engine_assets.DEFAULT_PROFILE, turnover="640000")))
    assert not page.errors


def lean_runtime_reaching(page: Any, site: Path, texts: list[str] | None) -> None:
    """Serve the page a lean runtime that keeps only what restoring the snapshot and answering
    ``texts`` reach (no text: restoring only; None: not even that)."""
    runtime = engine_assets.runtime_dir()
    full = (runtime / "pyodide.asm.wasm").read_bytes()
    keep: set[int] = set()
    if texts is not None:
        config = simulator_config(site)
        snapshot = engine_assets.CACHE_DIR / config["snapshotURL"].rsplit("/", 1)[1]
        keep = engine_assets.reached_functions(runtime, snapshot, texts)
    body = engine_assets.lean_wasm(full, keep)
    page.route(
        "**/assets/engine/runtime-*.wasm",
        lambda route: route.fulfill(status=200, body=body, headers={"Content-Type": "application/wasm"}),
    )


def test_the_full_runtime_takes_over_when_the_lean_one_cannot_restore(page, site_url, site_build):
    lean_runtime_reaching(page, site_build, None)
    open_simulator(page, site_url)
    info = page.evaluate("window.__sim.info")
    assert (info["snapshot"], info["runtime"]) == (True, "full")
    assert info["fallback"].startswith("start: ")
    assert [u for u in page.requests if u.endswith("/pyodide.asm.wasm")]
    page.fill("#f-profile-turnover", "640000")
    wait_for_totals(page, expected_totals(dict(engine_assets.DEFAULT_PROFILE, turnover="640000")))


def test_a_lean_runtime_that_cannot_be_fetched_costs_the_full_one(page, site_url):
    page.route("**/assets/engine/runtime-*.wasm", lambda route: route.abort())
    open_simulator(page, site_url)
    info = page.evaluate("window.__sim.info")
    assert (info["snapshot"], info["runtime"]) == (True, "full")
    assert info["sources"]["wasm"].startswith("loader (")
    page.fill("#f-profile-turnover", "640000")
    wait_for_totals(page, expected_totals(dict(engine_assets.DEFAULT_PROFILE, turnover="640000")))


def test_the_full_runtime_answers_a_request_the_lean_one_cannot(page, site_url, site_build):
    """Restored on a lean runtime that reaches no request: the first one traps, and the full
    runtime, restored from the same snapshot, answers it and every later one; both wasm files
    stay kept."""
    lean_runtime_reaching(page, site_build, [])
    open_simulator(page, site_url)
    assert page.evaluate("window.__sim.info.runtime") == "lean"
    config = page.evaluate(CONFIG)
    profile = dict(engine_assets.DEFAULT_PROFILE, turnover="640000")
    page.fill("#f-profile-turnover", "640000")
    wait_for_totals(page, expected_totals(profile))
    assert [u for u in page.requests if u.endswith("/pyodide.asm.wasm")]
    compare = cli({"op": "compare", "profile": profile, "options": {}})
    for result in compare["formulas"]:
        settled = cli(
            {
                "op": "settle",
                "terms": result["terms"],
                "invoices": [engine_assets.DEFAULT_INVOICE],
                "paid_this_year": "0",
            }
        )
        page.wait_for_function(
            "([f, value]) => document.querySelector(`#sim-whatif tr[data-formula=${f}] [data-indemnity]`)?.dataset.indemnity === value",
            arg=[result["formula"], settled["invoices"][0]["indemnity"]],
        )
    kept = names(config["leanWasmURL"], config["indexURL"] + "pyodide.asm.wasm", config["snapshotURL"])
    assert kept_when(page, "disk", lambda found: found == kept) == kept


# A second engine worker on the page, started with the page's config and digestImage: its answer.
STARTED_FOR_DIGEST = f"""async () => {{
    const config = {CONFIG};
    const worker = new Worker(new URL(document.getElementById("sim").dataset.worker, document.baseURI), {{type: "module"}});
    return new Promise((resolve, reject) => {{
        worker.onmessage = ({{data}}) => {{ if (!data.progress) (data.error ? reject(new Error(data.error)) : resolve(data.result)); }};
        worker.postMessage({{id: 1, op: "init", request: {{...config, digestImage: true}}}});
    }});
}}"""


@pytest.mark.parametrize("runtime", ["lean", "full"])
def test_the_snapshot_image_is_written_byte_for_byte(page, site_url, site_build, runtime):
    """The worker writes only the snapshot's runs and copies into the runtime's memory, and zeros
    only the part the runtime's start can have written and that is not dead stack: the memory then
    is the snapshot's image, byte for byte but in the stack, where no frame is live then (and the
    runtime never reads a byte there before writing it), on the lean runtime and on the full one
    restored after the lean one failed."""
    if runtime == "full":
        lean_runtime_reaching(page, site_build, None)
    open_simulator(page, site_url)
    info = page.evaluate(STARTED_FOR_DIGEST)
    assert (info["snapshot"], info["runtime"]) == (True, runtime)
    config = simulator_config(site_build)
    published = (site_build / "simulateur" / config["snapshotURL"]).resolve().read_bytes()
    wasm = (site_build / "simulateur" / config["indexURL"] / "pyodide.asm.wasm").resolve().read_bytes()
    snapshot = engine_assets.unsparse(published, engine_assets.initial_memory(wasm))
    (header,) = struct.unpack_from("<I", snapshot, 4)  # Pyodide's: where the memory's image starts
    image = bytearray(snapshot[header:])
    low, high = info["deadStack"]
    # The runtime's 10 MB stack: the snapshot carries nothing in most of it.
    assert 8 << 20 < high - low < 11 << 20, (low, high)
    assert high - low - image[low:high].count(0) < 1 << 20
    image[low:high] = bytes(high - low)
    assert info["imageDigest"] == hashlib.sha256(image).hexdigest()


def test_changes_match_the_cli_exactly(page, site_url):
    open_simulator(page, site_url)
    page.fill("#f-profile-turnover", "1234567,89")
    page.select_option("#f-profile-sector", "construction")
    page.select_option("#f-essentielle-indemnity_pct", "65")
    page.select_option("#f-tout_compris-liability_multiple", "40")
    profile = dict(engine_assets.DEFAULT_PROFILE, turnover="1234567.89", sector="construction")
    options = {"essentielle": {"indemnity_pct": 65}, "tout_compris": {"liability_multiple": 40}}
    expected = expected_totals(profile, options)
    wait_for_totals(page, expected)
    assert premiums(page) == expected
    assert summary(page) == expected
    assert page.evaluate("window.__sim.lastRequests.compare") == {
        "profile": profile,
        "options": options | {"selection": {}},
    }
    best = cli({"op": "compare", "profile": profile, "options": options})["recommended"]["formula"]
    assert page.get_attribute("#sim-compare .sim-reco", "data-formula") == best
    assert page.get_attribute("#sim-summary .sim-summary-best", "data-formula") == best


# Records the op of every message the page posts to the engine's worker (its protocol's have an id;
# the theme's search worker gets others).
POSTED_OPS = """{ const post = Worker.prototype.postMessage; window.__posted = [];
    Worker.prototype.postMessage = function (data, ...rest) {
        if (data && "id" in data) __posted.push(data.op);
        return post.call(this, data, ...rest);
    }; }"""


def test_once_ready_the_engine_is_warmed_silently_until_the_visitor_changes_something(page, site_url):
    """Ten compare requests, then one what-if and one portfolio, none of them shown or counted as
    an update; the cards keep the build's figures but lose the closed explanations' tables, an
    explanation opened before keeps its own. A change stops the warm-up at once."""
    page.add_init_script(POSTED_OPS)
    page.goto(f"{site_url}simulateur/")
    build_totals = premiums(page)
    page.click("#sim-compare details.sim-explain[data-formula=essentielle] summary")
    page.wait_for_function(READY, timeout=60_000)
    page.wait_for_function("window.__posted.filter(op => op === 'portfolio').length === 1", timeout=30_000)
    page.wait_for_timeout(300)
    assert page.evaluate("window.__posted") == ["init", *["compare"] * 10, "settle", "portfolio"]
    assert page.evaluate("window.__sim.updates.length") == 0
    assert premiums(page) == build_totals == expected_totals(dict(engine_assets.DEFAULT_PROFILE))
    assert page.locator("#sim-compare details.sim-explain[data-formula=selection] table").count() == 0
    assert page.locator("#sim-compare details.sim-explain[data-formula=essentielle] table").count() > 0
    assert not page.errors
    # A visitor who changes something at once: the warm-up stops, their request is answered.
    page.add_init_script(
        "document.addEventListener('sim:ready', () => { const input = "
        "document.getElementById('f-profile-turnover'); input.value = '640000'; "
        "input.dispatchEvent(new Event('input', { bubbles: true })); })"
    )
    page.reload()
    wait_for_totals(page, expected_totals(dict(engine_assets.DEFAULT_PROFILE, turnover="640000")))
    page.wait_for_timeout(500)
    posted = page.evaluate("window.__posted")
    assert posted.count("compare") <= 2, posted  # the visitor's and at most one warm-up request


def test_the_results_are_patched_in_place_so_what_the_visitor_opened_stays_open(page, site_url):
    open_simulator(page, site_url)
    explain = "#sim-compare details.sim-explain[data-formula=selection]"
    page.click(f"{explain} summary")
    page.evaluate(
        """explain => {
            window.__kept = {details: document.querySelector(explain), card: document.querySelector(
                '#sim-compare .sim-card[data-formula=selection]'), row: document.querySelector('#sim-whatif tr[data-formula=selection]')};
        }""",
        explain,
    )
    updates = page.evaluate("window.__sim.updates.length")
    page.fill("#f-profile-turnover", "1500000")
    expected = expected_totals(dict(engine_assets.DEFAULT_PROFILE, turnover="1500000"))
    wait_for_totals(page, expected)
    assert page.evaluate("window.__sim.updates.length") == updates + 1
    # The same nodes, with the new figures: the explanation is still open and shows the new total.
    assert page.evaluate(f"document.querySelector('{explain}') === window.__kept.details")
    assert page.evaluate(f"document.querySelector('{explain}').open")
    assert page.evaluate(
        "document.querySelector('#sim-compare .sim-card[data-formula=selection]') === window.__kept.card"
    )
    total = page.locator(f"{explain} .sim-subtotal tr").last.locator("td.sim-num").inner_text()
    assert total == page.locator("#sim-compare .sim-card[data-formula=selection] .sim-amount").inner_text()
    # A closed explanation has no table after an update: it gets one, with the new figures, as it opens.
    closed = "#sim-compare details.sim-explain[data-formula=tout_compris]"
    assert page.locator(f"{closed} table").count() == 0
    page.focus(f"{closed} summary")
    page.keyboard.press("Enter")
    assert page.evaluate(f"document.querySelector('{closed}').open")
    total = page.locator(f"{closed} .sim-subtotal tr").last.locator("td.sim-num").inner_text()
    card = page.locator("#sim-compare .sim-card[data-formula=tout_compris] .sim-amount").inner_text()
    assert total == card
    # The what-if table (a live region) is patched as well, once typing pauses.
    compared = cli(
        {"op": "compare", "profile": dict(engine_assets.DEFAULT_PROFILE, turnover="1500000"), "options": {}}
    )
    terms = next(f["terms"] for f in compared["formulas"] if f["formula"] == "selection")
    invoice = page.evaluate("window.__sim.lastRequests.invoice")
    settled = cli({"op": "settle", "terms": terms, "invoices": [invoice], "paid_this_year": "0"})
    indemnity = settled["invoices"][0]["indemnity"]
    page.wait_for_function(
        "value => document.querySelector('#sim-whatif tr[data-formula=selection] [data-indemnity]')?.dataset.indemnity === value",
        arg=indemnity,
    )
    assert page.evaluate(
        "document.querySelector('#sim-whatif tr[data-formula=selection]') === window.__kept.row"
    )


def test_patch_keeps_nodes_by_key_and_what_other_scripts_added(page, site_url):
    page.goto(f"{site_url}simulateur/")
    result = page.evaluate(
        """async () => {
            const { patch } = await import(document.querySelector('link[rel=modulepreload][href*="/patch."]').href);
            const box = document.createElement('div');
            box.innerHTML = '<ul><li data-formula="a" class="x">1</li><li data-formula="b">2</li><li data-formula="c">3</li></ul>'
                + '<details data-formula="a"><summary>s</summary><p title="t">old</p></details><p>tail</p>';
            const [a, b, c] = box.querySelectorAll('li');
            const details = box.querySelector('details');
            details.open = true;
            const added = Object.assign(document.createElement('span'), {textContent: 'added'});
            added.dataset.keep = '';
            b.append(added);
            patch(box, '<ul><li data-formula="c">3</li><li data-formula="a">1,5</li><li data-formula="b" class="y">2</li></ul>'
                + '<details data-formula="a"><summary>s</summary><p>new</p></details>');
            const lis = [...box.querySelectorAll('li')];
            return {
                order: lis.map((li) => li.dataset.formula),
                same: lis[0] === c && lis[1] === a && lis[2] === b,
                texts: lis.map((li) => li.firstChild.nodeValue),
                aClass: a.getAttribute('class'), bClass: b.getAttribute('class'),
                kept: b.lastChild === added,
                detailsSame: box.querySelector('details') === details, open: details.open,
                p: details.querySelector('p').outerHTML,
                tail: box.lastElementChild.tagName,
                gone: (patch(box, '<ul><li data-formula="b">2</li></ul>'), box.innerHTML),
            };
        }"""
    )
    assert result["order"] == ["c", "a", "b"]
    assert result["same"] is True  # moved, not made anew
    assert result["texts"] == ["3", "1,5", "2"]
    assert result["aClass"] is None  # attributes follow the new markup
    assert result["bClass"] == "y"
    assert result["kept"] is True  # another script's element stays where it was
    assert result["detailsSame"] is True
    assert result["open"] is True  # the visitor's choice stays
    assert result["p"] == "<p>new</p>"
    assert result["tail"] == "DETAILS"  # what the new markup lacks is removed
    assert result["gone"] == '<ul><li data-formula="b">2<span data-keep="">added</span></li></ul>'


def test_the_summary_stays_in_view_while_the_form_is_filled(page, site_url):
    open_simulator(page, site_url)
    box = page.locator("#sim-summary")
    # Far down the form, reached with the keyboard: the totals are still in view, and the
    # field is not hidden under them.
    page.focus("#f-tout_compris-indemnity_pct")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    field = page.locator("#f-tout_compris-indemnity_pct").bounding_box()
    top = box.bounding_box()
    assert page.evaluate("scrollY") > 600  # the page did scroll down to the field
    assert 0 <= top["y"] < 200, top
    assert field["y"] >= top["y"] + top["height"], (field, top)
    page.select_option("#f-tout_compris-indemnity_pct", "90")
    expected = expected_totals(engine_assets.DEFAULT_PROFILE, {"tout_compris": {"indemnity_pct": 90}})
    page.wait_for_function(
        "total => document.querySelector('#sim-summary [data-formula=tout_compris] [data-premium-total]')"
        "?.dataset.premiumTotal === total",
        arg=expected["tout_compris"],
    )
    assert summary(page) == expected
    # Past the form the summary scrolls away with it: the cards say the same in full.
    page.locator("#sim-whatif-title").scroll_into_view_if_needed()
    assert box.bounding_box()["y"] + box.bounding_box()["height"] <= 0


def test_what_if_and_chart_render(page, site_url):
    open_simulator(page, site_url)
    page.fill("#f-invoices-0-amount", "25000")
    page.wait_for_function(
        "document.querySelector('#sim-whatif tr[data-formula=selection] [data-indemnity]')?.dataset.indemnity !== '15930.00'"
    )
    compare = cli({"op": "compare", "profile": engine_assets.DEFAULT_PROFILE, "options": {}})
    invoice = dict(engine_assets.DEFAULT_INVOICE, amount="25000")
    for result in compare["formulas"]:
        settled = cli(
            {"op": "settle", "terms": result["terms"], "invoices": [invoice], "paid_this_year": "0"}
        )
        row = page.locator(f"#sim-whatif tr[data-formula={result['formula']}]")
        assert (
            row.locator("[data-indemnity]").get_attribute("data-indemnity")
            == settled["invoices"][0]["indemnity"]
        )
    chart = page.locator("#sim-portfolio svg.sim-chart")
    assert chart.get_attribute("role") == "img"
    assert {p.get_attribute("data-series") for p in chart.locator("path[data-series]").all()} == {
        "none",
        *FORMULAS,
    }
    assert chart.locator("desc").text_content().startswith("Sans assurance")
    page.fill("#f-cash_cushion", "10000")
    portfolio = cli(
        {"op": "portfolio", "profile": engine_assets.DEFAULT_PROFILE, "options": {}, "cash_cushion": "10000"}
    )
    none = next(o for o in portfolio["outcomes"] if o["formula"] == "none")
    page.wait_for_function(
        "value => document.querySelector('#sim-portfolio tr[data-formula=none] [data-exceeds]')?.dataset.exceeds === value",
        arg=none["prob_exceeds_cushion"],
    )


def test_the_url_holds_the_simulation(page, site_url):
    open_simulator(page, site_url)
    page.fill("#f-profile-turnover", "640000")
    page.select_option("#f-payment", "monthly")
    page.click("#sim-add-buyer")
    page.fill("#f-buyer-name-2", "Client C")
    page.fill("#f-buyer-share-2", "7,5")
    profile = dict(engine_assets.DEFAULT_PROFILE, turnover="640000")
    profile["top_buyers"] = [*profile["top_buyers"], {"name": "Client C", "share": "0.075"}]
    options = {f: {"payment": "monthly"} for f in FORMULAS}
    expected = expected_totals(profile, options)
    wait_for_totals(page, expected)
    # The URL follows the form a moment after the numbers (it is written off the hot path).
    page.wait_for_function(
        "location.search.includes('clients=') && location.search.includes('payment=monthly')"
    )
    shared = page.url
    assert "profile.turnover=640000" in shared
    other = page.context.new_page()
    other.goto(shared)
    other.wait_for_function(READY, timeout=60_000)
    wait_for_totals(other, expected)
    assert other.input_value("#f-buyer-name-2") == "Client C"
    assert other.input_value("#f-payment") == "monthly"


@pytest.mark.parametrize(
    ("selector", "value", "field", "message"),
    [
        ("#f-profile-turnover", "-5", "profile.turnover", "supérieur à 0"),
        ("#f-profile-turnover", "", "profile.turnover", "Champ obligatoire"),
        ("#f-profile-b2b_share", "120", "profile.b2b_share", "inférieur ou égal à 1"),
        ("#f-buyer-share-0", "95", "profile.top_buyers", "dépasse"),
    ],
)
def test_bad_input_shows_the_message_and_keeps_results(page, site_url, selector, value, field, message):
    open_simulator(page, site_url)
    before = premiums(page)
    page.fill(selector, value)
    error = page.locator(f"[data-error-for='{field}']")
    error.wait_for(state="visible")
    assert message in error.inner_text()
    if field != "profile.top_buyers":
        assert page.get_attribute(selector, "aria-invalid") == "true"
    assert premiums(page) == before
    assert summary(page) == before
    assert page.get_attribute("#sim-compare", "data-stale") == "true"
    assert page.get_attribute("#sim-summary-body", "data-stale") == "true"


def test_keyboard_only(page, site_url):
    open_simulator(page, site_url)
    page.focus("#f-profile-turnover")
    page.keyboard.press("Control+A")
    page.keyboard.type("700000")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "f-profile-sector"
    expected = expected_totals(dict(engine_assets.DEFAULT_PROFILE, turnover="700000"))
    wait_for_totals(page, expected)
    page.focus("#sim-add-buyer")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "f-buyer-name-2"


def test_no_request_leaves_the_host(page, site_url):
    open_simulator(page, site_url)
    page.fill("#f-profile-turnover", "990000")
    page.wait_for_timeout(500)
    for path in ("", "formules/", "prime/", "glossaire/", "tarif-illustratif/", "mentions-legales/"):
        page.goto(site_url + path)
    hosts = {urlparse(url).hostname for url in page.requests if not url.startswith(("data:", "blob:"))}
    assert hosts == {"127.0.0.1"}, hosts


@pytest.mark.parametrize(
    "path", ["simulateur/", "", "formules/", "prime/", "glossaire/", "mentions-legales/"]
)
def test_axe_finds_no_violation(page, site_url, path):
    if path == "simulateur/":
        open_simulator(page, site_url)
        page.wait_for_timeout(600)  # what-if and chart redrawn by the live engine
    else:
        page.goto(site_url + path)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    violations = [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]]
    assert violations == []


def test_phone_width_has_no_horizontal_scroll(browser, site_url, tmp_path):
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True
    )
    page = context.new_page()
    page.goto(f"{site_url}simulateur/")
    page.wait_for_function(READY, timeout=60_000)
    page.wait_for_timeout(500)
    shot = tmp_path / "simulateur-360.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    width = page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")
    assert width <= 360
    # Tables that scroll sideways on a phone must be reachable with the keyboard.
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    assert [v["id"] for v in result["violations"]] == []
    context.close()


def test_prices_shown_are_the_engine_strings(page, site_url):
    open_simulator(page, site_url)
    card = page.locator("#sim-compare .sim-card[data-formula=essentielle]")
    total = Decimal(card.locator("[data-premium-total]").get_attribute("data-premium-total"))
    text = card.locator("[data-premium-total]").inner_text()
    # French format: narrow no-break thousands, comma decimals, euro sign after a no-break space.
    whole, cents = f"{total:.2f}".split(".")
    assert text.replace("\u202f", "").replace("\u00a0", " ") == f"{int(whole)},{cents} €"
    # The summary rounds to the euro, half up, from the same string.
    short = page.locator("#sim-summary [data-formula=essentielle] [data-premium-total]")
    assert short.get_attribute("data-premium-total") == str(total)
    rounded = total.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert short.inner_text().replace("\u202f", "").replace("\u00a0", " ") == f"{rounded} €"


def open_with_snapshot_held(page: Any, site_url: str) -> list[Any]:
    """Open the simulator with the engine's snapshot request held back; the held routes."""
    held: list[Any] = []
    page.route("**/assets/engine/snapshot-*", lambda route: held.append(route))
    page.goto(f"{site_url}simulateur/")
    page.wait_for_selector("#sim-compare [data-premium-total]")
    return held


def release(page: Any, held: list[Any]) -> None:
    """Let the held snapshot request go, once the worker has made it."""
    deadline = time.monotonic() + 30
    while not held:
        assert time.monotonic() < deadline, "the worker never asked for the snapshot"
        page.wait_for_timeout(50)
    for route in held:
        route.continue_()


SEARCH_WORKER = "performance.getEntriesByType('resource').filter(e => e.name.includes('/workers/search.')).map(e => e.startTime)"


def test_search_starts_after_the_engine_and_finds_pages(page, site_url):
    """On the simulator page the theme's search worker waits for the engine, then works."""
    open_simulator(page, site_url)
    page.wait_for_function("window.__searchDeferred.released")
    state = page.evaluate("window.__searchDeferred")
    assert state["reason"] == "engine"
    page.wait_for_function(f"({SEARCH_WORKER}).length === 1")
    assert page.evaluate(SEARCH_WORKER)[0] >= state["at"]
    page.fill("input.md-search__input", "franchise")
    page.wait_for_selector(".md-search-result__item")
    assert "Glossaire" in page.inner_text(".md-search-result")
    assert not page.errors


def test_search_starts_at_once_when_the_visitor_turns_to_it(page, site_url):
    """With the engine still loading (its snapshot held back), focusing the search box starts it."""
    held = open_with_snapshot_held(page, site_url)
    assert page.evaluate("window.__searchDeferred.released") is False
    page.focus("input.md-search__input")
    page.fill("input.md-search__input", "franchise")
    page.wait_for_selector(".md-search-result__item")
    assert page.evaluate("window.__searchDeferred.reason") == "visitor"
    assert page.evaluate("window.__sim?.info ?? null") is None  # the engine is still waiting
    release(page, held)
    page.wait_for_function(READY, timeout=60_000)


THEME_SCRIPT = "performance.getEntriesByType('resource').filter(e => /\\/javascripts\\/bundle\\./.test(e.name)).map(e => e.startTime)"


def test_theme_script_starts_once_the_engine_is_ready(page, site_url):
    """The theme's JavaScript waits for the engine, then runs (it publishes its observables)."""
    page.add_init_script(
        "document.addEventListener('sim:ready', () => { window.__readyAt = performance.now(); })"
    )
    held = open_with_snapshot_held(page, site_url)
    page.wait_for_timeout(300)
    assert page.evaluate("typeof window.component$") == "undefined"
    assert page.evaluate(THEME_SCRIPT) == []
    release(page, held)
    page.wait_for_function(READY, timeout=60_000)
    page.wait_for_function(f"({THEME_SCRIPT}).length === 1")
    assert page.evaluate(THEME_SCRIPT)[0] >= page.evaluate("window.__readyAt")
    page.wait_for_function("typeof window.component$ === 'object'")
    assert not page.errors


def test_theme_script_starts_at_the_visitors_first_key(page, site_url):
    """With the engine still loading (its snapshot held back), a key press starts the theme's script."""
    held = open_with_snapshot_held(page, site_url)
    page.wait_for_timeout(300)
    assert page.evaluate(THEME_SCRIPT) == []
    page.keyboard.press("Tab")
    page.wait_for_function(f"({THEME_SCRIPT}).length === 1")
    assert page.evaluate("window.__sim?.info ?? null") is None  # the engine is still waiting
    release(page, held)
    page.wait_for_function(READY, timeout=60_000)
    assert not page.errors


def test_theme_script_starts_when_the_engine_cannot(page, site_url):
    page.route("**/assets/engine/engine-worker-*.js", lambda route: route.abort())
    page.goto(f"{site_url}simulateur/")
    page.wait_for_function(
        "document.getElementById('sim-status-text').textContent.includes('pas pu démarrer')"
    )
    page.wait_for_function(f"({THEME_SCRIPT}).length === 1")
