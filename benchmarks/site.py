"""Simulator page speed in Debian's Chromium, against plain Pyodide loaded from the same files.

Run from anywhere::

    .venv/bin/python benchmarks/site.py [--runs 5] [--changes 50] [--build] [--experiments]

It builds the site if ``build/site`` is missing (or with ``--build``), serves it with
``site/serve.py`` on 127.0.0.1 (zstd or gzip copies on) and measures, in a fresh browser per run (cold,
navigated once the browser's own start-up work is over) and in a persistent profile loaded once
before (warm):

- a bare page whose module worker imports ``assets/pyodide/<version>-<hash>/pyodide.mjs`` and
  calls ``loadPyodide({indexURL})``: the baseline. It is written into a temporary copy
  of the built site, which is what is served (never into ``site/``);
- a page holding one premium and nothing else, the first paint's reference: what this machine
  and this Chromium take to paint any page cold;
- the simulator page ``simulateur/``: first premium painted, engine ready, input to
  updated premiums over ``--changes`` edits of the turnover, bytes by file.

Every timing is the median of ``--runs`` runs. ``--experiments`` adds cold loads of the
page with ``python_stdlib.zip`` answered by an empty zip or the snapshot blocked, and the
bare page importing the engine without the snapshot, or running the site's own engine worker
(with it), cold and warm.
Standard library and Playwright only.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode

from common import git_revision  # benchmarks/ is on sys.path when a script runs

REPO = Path(__file__).resolve().parent.parent
SITE_DIR = REPO / "build" / "site"
sys.path.insert(0, str(REPO))
from tests.chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402  (the tests' own settings)

VIEWPORT = {"width": 1280, "height": 900}
LOCALE = "fr-FR"
READY_TIMEOUT_MS = 60_000
# The priming load's page stays open this long after ready: time for the engine's worker to keep its
# files (it writes them after ready, and a page closed before a file is swapped in keeps nothing of
# it) and for Chromium to write its code caches.
PRIME_SETTLE_S = 3.0
SETTLE_POLL_S = 0.2  # a new browser is idle once its processes take less than
SETTLE_IDLE_CPU_S = 0.02  # this much processor time per poll (10% of one core),
SETTLE_QUIET_POLLS = 2  # this many polls in a row,
SETTLE_MAX_S = 8.0  # or after this long, whichever comes first
SETTLED_S: list[float] = []  # how long each cold page waited for its browser (print_methods)
BENCH_DIR = "__bench"  # the bare page's folder in the served root
FLOOR_PATH = f"{BENCH_DIR}/paint.html"  # one premium and nothing else: the first paint's reference
SIM_PATH = "simulateur/"
TURNOVER = "#f-profile-turnover"

GOAL_PREMIUM_MS = 300.0
GOAL_READY_COLD_RATIO = 0.25
GOAL_READY_WARM_MS = 500.0
GOAL_INPUT_MEDIAN_MS = 16.0
GOAL_INPUT_P95_MS = 50.0

# Added to every page before its own scripts (a Playwright init script). It only observes:
# - reads Element Timing's entries named `premium`: the page names its premiums itself
#   (`elementtiming="premium"` in render.mjs). For a build that does not (an older one in an
#   A/B run), a MutationObserver names the block holding each `[data-premium-total]` (Chromium
#   aggregates inline text to its block); its callbacks may come after the first frame, which
#   then goes unreported. The observer also notes when the parser inserts the first premium;
# - records sim:ready / sim:updated, long tasks, and when the page creates each Worker and
#   gets its first answer (Worker is wrapped; the page's own use of it is unchanged).
INIT_SCRIPT = r"""
(() => {
  const b = (window.__bench_obs = {
    dom: null, ready: null, premium: [], longtasks: [], workers: [], counts: {compare: 0, secondary: 0},
    frames: [],
  });
  Object.defineProperty(window, "__bench_workers", {value: [], enumerable: false});
  const observe = (type, fn) => {
    try { new PerformanceObserver((list) => list.getEntries().forEach(fn)).observe({type, buffered: true}); }
    catch (error) {}
  };
  observe("element", (e) => { if (e.identifier === "premium") b.premium.push(e.renderTime || e.startTime); });
  observe("longtask", (e) => b.longtasks.push([e.startTime, e.duration]));
  const mark = () => {
    const premiums = document.querySelectorAll("[data-premium-total]");
    if (!premiums.length) return;
    b.dom ??= performance.now();
    if (document.querySelector('[elementtiming="premium"]')) {
      mutations.disconnect(); // named by the page itself: nothing more to do here
      return;
    }
    for (const el of premiums) {
      const block = el.closest("p, div, li, td, th, dd, article, section") ?? el;
      if (!block.hasAttribute("elementtiming")) block.setAttribute("elementtiming", "premium");
    }
  };
  const mutations = new MutationObserver(mark);
  mutations.observe(document, {childList: true, subtree: true});
  document.addEventListener("DOMContentLoaded", () => { mark(); mutations.disconnect(); });
  document.addEventListener("sim:ready", () => { b.ready = performance.now(); });
  document.addEventListener("sim:updated", (event) => {
    const kind = event.detail && event.detail.kind;
    b.counts[kind] = (b.counts[kind] || 0) + 1;
    if (kind !== "compare") return;
    const at = performance.now();
    // The frame after the re-render: rAF runs before that frame's paint, the task after it.
    requestAnimationFrame(() => setTimeout(() => b.frames.push(performance.now() - at), 0));
  });
  const NativeWorker = window.Worker;
  if (NativeWorker) {
    const Wrapped = function (url, options) {
      const worker = new NativeWorker(url, options);
      const record = {url: String(url), created: performance.now(), message: null};
      b.workers.push(record);
      window.__bench_workers.push({url: record.url, worker});
      // The first answer (the engine worker's progress messages before it do not count).
      worker.addEventListener("message", (event) => {
        if (!(event.data && event.data.progress)) record.message ??= performance.now();
      });
      return worker;
    };
    Wrapped.prototype = NativeWorker.prototype;
    window.Worker = Wrapped;
  }
})();
"""

# Round trips straight to the page's engine worker, with ids the page ignores.
ROUND_TRIP_JS = """async ({request, count}) => {
  const found = window.__bench_workers.find((w) => w.url.includes("engine-worker"));
  if (!found) return [];
  const times = [];
  for (let i = 0; i < count; i++) {
    const id = 1e9 + i;
    const started = performance.now();
    await new Promise((resolve) => {
      const on = ({data}) => { if (data.id === id) { found.worker.removeEventListener("message", on); resolve(); } };
      found.worker.addEventListener("message", on);
      found.worker.postMessage({id, op: "compare", request});
    });
    times.push(performance.now() - started);
  }
  return times;
}"""

# Waits that resolve on the page's own events, so nothing polls the main thread (Playwright's
# wait_for_function polls on every animation frame by default).
WAIT_JS = """([what, counts, timeout]) => new Promise((resolve, reject) => {
  const obs = window.__bench_obs;
  const done = {
    ready: () => obs.ready !== null,
    bare: () => window.__bench && (window.__bench.ready !== null || window.__bench.error !== null),
    paint: () => obs.premium.length > 0,
    compare: () => obs.counts.compare > counts.compare,
    change: () => obs.counts.compare > counts.compare && (obs.counts.secondary || 0) > (counts.secondary || 0),
  }[what];
  if (done()) return resolve(true);
  const timer = setTimeout(() => reject(new Error(`${what}: nothing after ${timeout} ms`)), timeout);
  const check = () => { if (done()) { clearTimeout(timer); stop(); resolve(true); } };
  const events = ["sim:ready", "sim:updated", "bench:done"];
  // Element Timing entries come with no event: a slow timer for `paint` only.
  const poll = what === "paint" ? setInterval(check, 10) : null;
  const stop = () => { events.forEach((e) => document.removeEventListener(e, check)); clearInterval(poll); };
  events.forEach((e) => document.addEventListener(e, check));
})"""


def wait_for(
    page: Any, what: str, counts: dict[str, int] | None = None, timeout_ms: int = READY_TIMEOUT_MS
) -> None:
    page.evaluate(WAIT_JS, [what, counts or {}, timeout_ms])


PREMIUMS_JS = """() => Object.fromEntries([...document.querySelectorAll('#sim-compare .sim-card[data-formula]')]
    .map(c => [c.dataset.formula, c.querySelector('[data-premium-total]')?.dataset.premiumTotal]))"""

BARE_HTML = """<!doctype html>
<html lang="en">
<meta charset="utf-8">
<link rel="icon" href="data:,">
<title>Plain Pyodide (benchmark baseline)</title>
<p id="status">loading Pyodide…</p>
<script type="module">
const params = new URLSearchParams(location.search);
const url = (relative) => (relative ? new URL(relative, location.href).href : null);
const bench = (window.__bench = {created: performance.now(), ready: null, worker: null, error: null});
const done = (data) => {
  if (data.error) bench.error = data.error;
  else { bench.worker = data; bench.ready = performance.now(); }
  document.getElementById("status").textContent = data.error ?? "ready";
  document.dispatchEvent(new Event("bench:done"));
};
const config = {
  indexURL: url(params.get("index")),
  archiveURL: url(params.get("archive")),
  snapshotURL: url(params.get("snapshot")),
  leanWasmURL: url(params.get("lean")),
  lockInfo: params.get("lock") ? JSON.parse(params.get("lock")) : undefined,
};
let worker;
if (params.get("mode") === "snapshot") {
  // The site's own engine worker, started as the simulator page starts it (config in the URL's
  // fragment, its kept files looked for when an earlier load noted them), on a page with nothing else.
  const KEPT = "ac-engine-kept";
  const engine = params.get("engine");
  const started = {...config, snapshotSize: Number(params.get("size")), staticSize: Number(params.get("static")), engine, cached: localStorage.getItem(KEPT) === engine};
  worker = new Worker(url(params.get("worker")) + "#" + encodeURIComponent(JSON.stringify(started)), {type: "module"});
  worker.onmessage = ({data}) => {
    if (data.result) localStorage.setItem(KEPT, engine);
    const marks = data.result ? Object.fromEntries(Object.entries(data.result.marks).map(([k, v]) => [k, data.result.start + v])) : {};
    done(data.error ? {error: data.error} : {origin: data.result.origin, t0: data.result.start, t2: marks.runtime, t3: marks.engine, snapshot_fetched: marks.snapshot_bytes, start: data.result.start, marks: data.result.marks});
  };
  worker.postMessage({id: 0, op: "init", request: started});
} else {
  worker = new Worker(new URL("./worker.mjs", location.href), {type: "module"});
  worker.onmessage = ({data}) => done(data);
  worker.postMessage({mode: params.get("mode") ?? "plain", ...config});
}
worker.onerror = (event) => {
  bench.error = event.message || "worker error";
  document.dispatchEvent(new Event("bench:done"));
};
</script>
</html>
"""

FLOOR_HTML = """<!doctype html>
<html lang="fr">
<meta charset="utf-8">
<link rel="icon" href="data:,">
<title>Une prime (référence du benchmark)</title>
<p elementtiming="premium">Prime TTC par an : <span data-premium-total="1234.00">1 234,00 €</span></p>
</html>
"""

BARE_WORKER = """// plain: import the loader, loadPyodide, run one line (the baseline).
// engine: the same, then unpack the engine zip and import it (what the page does without a snapshot).
// (snapshot: the page runs the site's own engine worker instead of this one.)
const ENGINE_DIR = "/home/pyodide/engine";
const bytes = async (url) => {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${response.status} on ${url}`);
  return new Uint8Array(await response.arrayBuffer());
};
self.onmessage = async ({data}) => {
  const t0 = performance.now();
  try {
    const archive = data.mode === "plain" ? null : bytes(data.archiveURL);
    archive?.catch(() => {});
    const {loadPyodide} = await import(`${data.indexURL}pyodide.mjs`);
    const t1 = performance.now();
    const pyodide = await loadPyodide({indexURL: data.indexURL, stdout: () => {}, stderr: () => {}});
    const t2 = performance.now();
    if (archive) {
      pyodide.unpackArchive(await archive, "zip", {extractDir: ENGINE_DIR});
      pyodide.runPython(`import sys\\nif "${ENGINE_DIR}" not in sys.path: sys.path.insert(0, "${ENGINE_DIR}")\\nimport simulator`);
    } else pyodide.runPython("6 * 7");
    const t3 = performance.now();
    self.postMessage({origin: performance.timeOrigin, t0, t1, t2, t3, version: pyodide.version});
  } catch (error) {
    self.postMessage({error: String(error && error.message ? error.message : error)});
  }
};
"""


# --- numbers ------------------------------------------------------------------------


def p95(values: Sequence[float]) -> float:
    """Nearest-rank 95th percentile (the rule of benchmarks/engine.py)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def median(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return statistics.median(kept) if kept else None


def fmt_ms(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def spread(values: Sequence[float | None], digits: int = 0) -> str:
    kept = [v for v in values if v is not None]
    return f"{min(kept):,.{digits}f}-{max(kept):,.{digits}f}" if kept else "-"


# --- what a load fetched ------------------------------------------------------------


@dataclass
class Transfer:
    """One finished request of a load, sizes as Chromium reports them through Playwright."""

    path: str  # inside the served root; the URL when on another origin
    category: str
    body: int  # response body bytes on the wire: Network.loadingFinished encodedDataLength - headers
    headers: int
    start_ms: float | None  # from navigation start
    end_ms: float | None
    note: str = (
        ""  # "cache": from Chromium's cache; "304": revalidated, no body; "*": size of the served file
    )


@dataclass
class Load:
    """One navigation: when things happened (ms from navigation start) and what it fetched."""

    kind: str  # "baseline" (the bare page, any mode) or "simulator"
    origin: float | None = None  # the page's performance.timeOrigin, ms since the epoch
    ready_ms: float | None = None
    premium_ms: float | None = None  # Element Timing renderTime of the first premium painted
    premium_last_ms: float | None = None
    premium_y: float | None = None  # the first premium's top in the page, px
    fcp_ms: float | None = None
    dom_ms: float | None = None
    info: dict[str, Any] = field(default_factory=dict)  # window.__sim.info, or the bare worker's report
    worker_created_ms: float | None = None
    worker_message_ms: float | None = None
    longtasks: list[tuple[float, float]] = field(default_factory=list)
    transfers: list[Transfer] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # failed requests, HTTP errors, console errors
    error: str | None = None

    @property
    def timings(self) -> dict[str, float]:
        return self.info.get("timings", {})

    def worker_mark(self, name: str) -> float | None:
        """A mark of the bare worker on the page's clock (both clocks count from the epoch)."""
        if name not in self.info or "origin" not in self.info or self.origin is None:
            return None
        return self.info["origin"] + self.info[name] - self.origin


CATEGORIES = (
    "wasm",
    "lean wasm",
    "stdlib",
    "snapshot",
    "asm.mjs",
    "pyodide.mjs + lock",
    "engine zip",
    "page html/css/js",
    "theme search",
    "bare page",
    "other origin",
)


def category(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    if name == "pyodide.asm.wasm":
        return "wasm"
    if name.startswith("runtime-") and name.endswith(".wasm"):
        return "lean wasm"
    if name == "python_stdlib.zip":
        return "stdlib"
    if name.startswith("snapshot-") and name.endswith(".bin"):
        return "snapshot"
    if name == "pyodide.asm.mjs":
        return "asm.mjs"
    if name in ("pyodide.mjs", "pyodide-lock.json"):
        return "pyodide.mjs + lock"
    if name.startswith("simulator-") and name.endswith(".zip"):
        return "engine zip"
    if path.startswith(BENCH_DIR + "/"):
        return "bare page"
    if path.startswith("search/") or "/workers/search" in path or "/lunr/" in path:
        return "theme search"
    return "page html/css/js"


def served_file(root: Path, path: str) -> Path | None:
    local = root / unquote(path)
    if path == "" or path.endswith("/"):
        local = local / "index.html"
    return local if local.is_file() else None


def sent_size(file: Path) -> int:
    """What serve.py sends to Chromium (it accepts zstd and gzip): the ``.zst`` sibling, else the ``.gz``."""
    for sibling in (file.with_name(file.name + suffix) for suffix in (".zst", ".gz")):
        if sibling.is_file():
            return sibling.stat().st_size
    return file.stat().st_size


def gz_size(file: Path) -> int:
    """The ``.gz`` sibling a host would send, or gzip -9 of the file when the build made none."""
    sibling = file.with_name(file.name + ".gz")
    if sibling.is_file():
        return sibling.stat().st_size
    return len(gzip.compress(file.read_bytes(), compresslevel=9, mtime=0))


# Paths answered 304 Not Modified by the benchmark's server, oldest first (filled by `serving`):
# Chromium reports a revalidated response with the size of the body it already had.
NOT_MODIFIED: list[str] = []


def transfer(request: Any, base: str, root: Path, origin: float) -> Transfer:
    sizes = request.sizes()
    timing = request.timing
    start = timing.get("startTime", -1)
    end = timing.get("responseEnd", -1)
    start_ms = start - origin if start and start > 0 else None
    end_ms = start_ms + end if start_ms is not None and end is not None and end >= 0 else None
    local = request.url.startswith(base)
    path = request.url[len(base) :].split("?", 1)[0].split("#", 1)[0] if local else request.url
    body = int(sizes.get("responseBodySize", 0))
    note = ""
    if body < 0:  # from Chromium's cache: nothing received, the headers size is subtracted from 0
        body, note = 0, "cache"
    elif local and f"/{path}" in NOT_MODIFIED:
        NOT_MODIFIED.remove(f"/{path}")
        body, note = 0, "304"
    elif body == 0 and local and (file := served_file(root, path)) is not None and file.stat().st_size:
        body, note = sent_size(file), "*"  # a dedicated worker's own script is reported with no size
    return Transfer(
        path=path,
        category=category(path) if local else "other origin",
        body=body,
        headers=int(sizes.get("responseHeadersSize", 0)),
        start_ms=start_ms,
        end_ms=end_ms,
        note=note,
    )


# --- the served root ----------------------------------------------------------------


def build_site() -> None:
    mkdocs = REPO / ".venv" / "bin" / "mkdocs"
    command = [str(mkdocs)] if mkdocs.exists() else [sys.executable, "-m", "mkdocs"]
    command += ["build", "--strict"]
    progress(f"building the site: {shlex.join(command)}")
    started = time.perf_counter()
    done = subprocess.run(
        command,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    if done.returncode != 0:
        raise SystemExit(f"mkdocs build failed:\n{done.stderr[-4000:]}")
    progress(f"built in {time.perf_counter() - started:.1f} s")


def boot_config(site: Path) -> dict[str, Any]:
    """The worker's config as the build wrote it into the simulator page."""
    html = (site / "simulateur" / "index.html").read_text("utf-8")
    found = re.search(r'<script type="application/json" id="sim-config">(.*?)</script>', html, re.S)
    if not found:
        raise SystemExit("no sim-config script in build/site/simulateur/index.html")
    worker = re.search(r'<div id="sim" [^>]*data-worker="([^"]+)"', html)
    if not worker:
        raise SystemExit("no data-worker on #sim in build/site/simulateur/index.html")
    return {**json.loads(found.group(1)), "worker": worker.group(1)}


def make_root(site: Path, tmp: Path) -> Path:
    """A copy of the built site (a rebuild during the run changes nothing here), plus the bare page."""
    root = tmp / "root"
    shutil.copytree(site, root)
    bench = root / BENCH_DIR
    bench.mkdir()
    (bench / "index.html").write_text(BARE_HTML, "utf-8")
    (bench / "worker.mjs").write_text(BARE_WORKER, "utf-8")
    (root / FLOOR_PATH).write_text(FLOOR_HTML, "utf-8")
    return root


def bare_path(mode: str, config: dict[str, Any]) -> str:
    """The bare page's address for ``mode``; its folder is as deep as simulateur/, so the URLs hold."""
    query = {"mode": mode, "index": config["indexURL"]}
    if mode != "plain":
        query["archive"] = config["archiveURL"]
    if mode == "snapshot":
        query.update(
            snapshot=config["snapshotURL"],
            lean=config["leanWasmURL"],
            size=str(config["snapshotSize"]),
            static=str(config["staticSize"]),
            engine=config["engine"],
            worker=config["worker"],
            lock=json.dumps(config["lockInfo"]),
        )
    return f"{BENCH_DIR}/?{urlencode(query)}"


@contextmanager
def serving(root: Path) -> Iterator[str]:
    sys.path.insert(0, str(REPO / "site"))
    try:
        import serve  # site/serve.py
    finally:
        sys.path.pop(0)
    server, url = serve.start(root)
    report = server.handle_error
    handler = server.RequestHandlerClass
    sent = handler.send_response

    def send_response(self: Any, code: int, message: str | None = None) -> None:
        if code == 304:
            NOT_MODIFIED.append(self.path.split("?", 1)[0].split("#", 1)[0])
        sent(self, code, message)

    handler.send_response = send_response  # type: ignore[method-assign]

    def quiet(request: Any, client_address: Any) -> None:
        # A browser closed in the middle of a download resets its connection: not worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            report(request, client_address)

    server.handle_error = quiet  # type: ignore[method-assign]
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()


# --- one page load ------------------------------------------------------------------


def load_page(page: Any, base: str, path: str, root: Path, paint_only: bool = False) -> Load:
    """Open ``path`` and wait until its engine is ready (or, ``paint_only``, its first premium painted)."""
    NOT_MODIFIED.clear()
    kind = "floor" if path == FLOOR_PATH else "baseline" if path.startswith(BENCH_DIR) else "simulator"
    load = Load(kind)
    finished: list[Any] = []
    page.on("requestfinished", lambda r: finished.append(r))
    page.on("requestfailed", lambda r: load.problems.append(f"request failed: {r.url} ({r.failure})"))
    page.on(
        "response", lambda r: load.problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None
    )
    page.on(
        "console",
        lambda m: (
            load.problems.append(f"console {m.type}: {m.text.splitlines()[0][:160]}")
            if m.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda e: load.problems.append(f"uncaught: {str(e).splitlines()[0][:160]}"))
    page.add_init_script(INIT_SCRIPT)
    what = "bare" if kind == "baseline" else "paint" if paint_only else "ready"
    try:
        page.goto(base + path, timeout=READY_TIMEOUT_MS)
        wait_for(page, what)
    except Exception as error:  # a page that never gets ready: report it and go on
        load.error = f"{type(error).__name__}: {str(error).splitlines()[0]}"
        return load
    if not paint_only:
        page.wait_for_timeout(300)  # the last requestfinished events reach Python
    state = page.evaluate(
        """() => {
        const premium = document.querySelector('[data-premium-total]');
        return {
            origin: performance.timeOrigin,
            fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null,
            obs: window.__bench_obs,
            bench: window.__bench ?? null,
            sim: window.__sim ? window.__sim.info : null,
            premiumY: premium ? premium.getBoundingClientRect().top + scrollY : null,
        };
    }"""
    )
    obs = state["obs"]
    load.origin = state["origin"]
    load.fcp_ms = state["fcp"]
    load.longtasks = [(s, d) for s, d in obs["longtasks"]]
    if kind == "baseline":
        bench = state["bench"]
        load.error = bench["error"]
        load.ready_ms = bench["ready"]
        load.info = bench["worker"] or {}
        load.worker_created_ms = bench["created"]
        load.worker_message_ms = bench["ready"]
    else:
        load.info = state["sim"] or {}
        load.ready_ms = obs["ready"]
        load.dom_ms = obs["dom"]
        load.premium_y = state["premiumY"]
        if obs["premium"]:
            load.premium_ms = min(obs["premium"])
            load.premium_last_ms = max(obs["premium"])
        engine = [w for w in obs["workers"] if "engine-worker" in w["url"]]
        if engine:
            load.worker_created_ms = engine[0]["created"]
            load.worker_message_ms = engine[0]["message"]
    if not paint_only:
        load.transfers = [transfer(r, base, root, state["origin"]) for r in finished]
        load.transfers.sort(key=lambda t: (t.start_ms is None, t.start_ms or 0.0))
    return load


def turnover_changes(page: Any, count: int, seed: int) -> tuple[list[float], list[float]]:
    """Type ``count`` new turnovers one after the other, each change done before the next.

    Returns the page's own figures (``window.__sim.updates[].ms``: input event to the premiums
    re-rendered) and the same plus the wait for the next frame.
    """
    first = page.evaluate("window.__sim.updates.length")
    for i in range(count):
        counts = page.evaluate("window.__bench_obs.counts")
        value = str(850_000 + (seed * 997 + (i + 1) * 1_231) % 400_000)
        if value == page.input_value(TURNOVER):
            value = str(int(value) + 1)
        page.fill(TURNOVER, value)  # one input event
        # The compare render, then the what-if/portfolio one (200 ms later): the change is done.
        wait_for(page, "change", counts, 30_000)
    page.wait_for_timeout(50)
    updates = page.evaluate(f"window.__sim.updates.slice({first}).map(u => u.ms)")
    frames = page.evaluate("window.__bench_obs.frames")[-len(updates) :] if updates else []
    return updates, [u + f for u, f in zip(updates, frames, strict=False)]


def round_trips(page: Any, count: int) -> list[float]:
    """``count`` compare requests (the last one the page sent) straight to its worker, one at a time."""
    request = page.evaluate("window.__sim.lastRequests && window.__sim.lastRequests.compare")
    if not request:
        return []
    return page.evaluate(ROUND_TRIP_JS, {"request": request, "count": count})


def profile_changes(page: Any, count: int, seed: int, base: str) -> dict[str, Any]:
    """``count`` more changes under Chromium's sampling profiler: where the page's main thread spends them."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Profiler.enable")
    cdp.send("Profiler.setSamplingInterval", {"interval": 200})
    cdp.send("Profiler.start")
    updates, _ = turnover_changes(page, count, seed)
    profile = cdp.send("Profiler.stop")["profile"]
    cdp.detach()
    nodes = {n["id"]: n for n in profile["nodes"]}
    parent = {child: n["id"] for n in profile["nodes"] for child in n.get("children", [])}

    def key(node_id: int) -> tuple[str, bool]:
        frame = nodes[node_id]["callFrame"]
        url = frame["url"]
        name = frame["functionName"] or "(anonymous)"
        if not url:
            return name, False
        return f"{name} ({url.rsplit('/', 1)[-1]}:{frame['lineNumber'] + 1})", url.startswith(base)

    inclusive: dict[str, float] = {}
    leaves: dict[str, float] = {}
    native: dict[str, float] = {}
    page_ms = 0.0
    deltas = [*profile["timeDeltas"][1:], 0]
    for sample, delta in zip(profile["samples"], deltas, strict=False):
        ms = delta / 1000
        leaf, _ = key(sample)
        if leaf in ("(program)", "(idle)", "(garbage collector)", "(root)"):
            native[leaf] = native.get(leaf, 0.0) + ms
        stack, node = [], sample
        while node in nodes:
            stack.append(key(node))
            node = parent.get(node, -1)
        page_frames = {name for name, ours in stack if ours}
        if not page_frames:
            continue
        page_ms += ms
        leaves[leaf] = leaves.get(leaf, 0.0) + ms
        for name in page_frames:
            inclusive[name] = inclusive.get(name, 0.0) + ms
    return {
        "changes": count,
        "updates": updates,
        "page_ms": page_ms,
        "inclusive": sorted(inclusive.items(), key=lambda kv: -kv[1]),
        "leaves": sorted(leaves.items(), key=lambda kv: -kv[1]),
        "native": native,
    }


# --- browsers -----------------------------------------------------------------------


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def settle(browser: Any) -> float:
    """Wait until ``browser``'s processes are idle (at most ``SETTLE_MAX_S``); the seconds waited.

    A new Chromium window starts its own pages (the omnibox's WebUI popups: about 1.1 s of
    processor time in a renderer of theirs, 0.3 s in the browser process) in the second after
    it opens. A visitor's browser did that long before the visit; on two cores it would
    otherwise compete with the page measured.
    """
    cdp = browser.new_browser_cdp_session()
    started = time.monotonic()
    try:
        last, quiet = None, 0
        while quiet < SETTLE_QUIET_POLLS and time.monotonic() - started < SETTLE_MAX_S:
            busy = sum(p["cpuTime"] for p in cdp.send("SystemInfo.getProcessInfo")["processInfo"])
            quiet = quiet + 1 if last is not None and busy - last < SETTLE_IDLE_CPU_S else 0
            last = busy
            time.sleep(SETTLE_POLL_S)
    finally:
        cdp.detach()
    return time.monotonic() - started


@contextmanager
def cold_page(playwright: Any) -> Iterator[Any]:
    """A page in a fresh browser: nothing cached anywhere (HTTP cache, code cache, processes).

    The page is given once the browser's own start-up work is over (``settle``), as in a
    browser a visitor already has open.
    """
    browser = launch(playwright)
    try:
        page = browser.new_context(viewport=VIEWPORT, locale=LOCALE).new_page()
        SETTLED_S.append(settle(browser))
        yield page
    finally:
        browser.close()


@contextmanager
def persistent(playwright: Any, user_dir: Path) -> Iterator[Any]:
    context = playwright.chromium.launch_persistent_context(
        str(user_dir), executable_path=CHROMIUM, args=CHROMIUM_ARGS, viewport=VIEWPORT, locale=LOCALE
    )
    try:
        yield context
    finally:
        context.close()


def warm_series(
    playwright: Any, tmp: Path, base: str, path: str, root: Path, runs: int, pause: float
) -> list[Load]:
    """One persistent profile: a priming load left open PRIME_SETTLE_S, then ``runs`` loads."""
    user_dir = Path(tempfile.mkdtemp(prefix="profile-", dir=tmp))
    loads = []
    with persistent(playwright, user_dir) as context:
        for i in range(runs + 1):
            page = context.new_page()
            try:
                load = load_page(page, base, path, root)
                if not i:
                    page.wait_for_timeout(PRIME_SETTLE_S * 1000)
            finally:
                page.close()
            if i:
                loads.append(load)
                time.sleep(pause)
    return loads


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- the run --------------------------------------------------------------------------


@dataclass
class Results:
    chromium: str = ""
    cold_base: list[Load] = field(default_factory=list)
    cold_sim: list[Load] = field(default_factory=list)
    cold_view: list[Load] = field(default_factory=list)  # opened at #sim-compare: first paint only
    cold_floor: list[Load] = field(default_factory=list)  # the page with one premium: first paint only
    warm_base: list[Load] = field(default_factory=list)
    warm_sim: list[Load] = field(default_factory=list)
    input_ms: list[list[float]] = field(default_factory=list)  # per run
    frame_ms: list[list[float]] = field(default_factory=list)
    round_trip_ms: list[float] = field(default_factory=list)
    variants: dict[str, list[Load]] = field(default_factory=dict)
    variant_premiums: dict[str, list[str]] = field(default_factory=dict)
    bare: dict[str, list[Load]] = field(default_factory=dict)
    profile: dict[str, Any] = field(default_factory=dict)


def run(args: argparse.Namespace, base: str, root: Path, tmp: Path, config: dict[str, Any]) -> Results:
    from playwright.sync_api import sync_playwright

    res = Results()
    baseline = bare_path("plain", config)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        res.chromium = browser.version
        browser.close()
        for i in range(args.runs):
            progress(
                f"cold run {i + 1}/{args.runs}: plain Pyodide, one premium alone, simulator, simulator at #sim-compare"
            )
            with cold_page(playwright) as page:
                res.cold_base.append(load_page(page, base, baseline, root))
            time.sleep(args.pause)
            with cold_page(playwright) as page:
                res.cold_floor.append(load_page(page, base, FLOOR_PATH, root, paint_only=True))
            time.sleep(args.pause)
            with cold_page(playwright) as page:
                load = load_page(page, base, SIM_PATH, root)
                res.cold_sim.append(load)
                if load.error is None and args.changes:
                    updates, frames = turnover_changes(page, args.changes, i)
                    res.input_ms.append(updates)
                    res.frame_ms.append(frames)
                    res.round_trip_ms += round_trips(page, 20)
                    if args.experiments and i == 0:
                        progress("experiment: CPU profile of 20 more changes")
                        res.profile = profile_changes(page, 20, 100, base)
            time.sleep(args.pause)
            with cold_page(playwright) as page:
                res.cold_view.append(load_page(page, base, SIM_PATH + "#sim-compare", root, paint_only=True))
            time.sleep(args.pause)
        progress(f"warm: plain Pyodide, 1 + {args.runs} loads in one profile")
        res.warm_base = warm_series(playwright, tmp, base, baseline, root, args.runs, args.pause)
        progress(f"warm: simulator, 1 + {args.runs} loads in one profile")
        res.warm_sim = warm_series(playwright, tmp, base, SIM_PATH, root, args.runs, args.pause)
        if args.experiments:
            run_experiments(playwright, args, base, root, tmp, config, res)
    return res


def run_experiments(
    playwright: Any,
    args: argparse.Namespace,
    base: str,
    root: Path,
    tmp: Path,
    config: dict[str, Any],
    res: Results,
) -> None:
    empty_zip = b"PK\x05\x06" + bytes(18)  # only the end-of-central-directory record: a zip with no file

    def passthrough(page: Any) -> None:
        page.route("**/python_stdlib.zip", lambda route: route.continue_())

    def empty_stdlib(page: Any) -> None:
        page.route(
            "**/python_stdlib.zip",
            lambda route: route.fulfill(
                status=200, body=empty_zip, headers={"Content-Type": "application/zip"}
            ),
        )

    def no_snapshot(page: Any) -> None:
        page.route("**/assets/engine/snapshot-*.bin", lambda route: route.abort())

    # Routing turns Chromium's cache off for the page: the control is routed too, and passed on.
    variants: dict[str, Callable[[Any], None]] = {
        "control: stdlib request routed and passed on": passthrough,
        "python_stdlib.zip answered by an empty zip": empty_stdlib,
        "snapshot request blocked (the page falls back)": no_snapshot,
    }
    for i in range(args.runs):
        for name, route in variants.items():
            progress(f"experiment {i + 1}/{args.runs}: {name}")
            with cold_page(playwright) as page:
                route(page)
                load = load_page(page, base, SIM_PATH, root)
                res.variants.setdefault(name, []).append(load)
                res.variant_premiums.setdefault(name, []).append(one_change(page, load))
            time.sleep(args.pause)
        for mode in ("engine", "snapshot"):
            progress(f"experiment {i + 1}/{args.runs}: bare page, mode {mode}, cold")
            with cold_page(playwright) as page:
                res.bare.setdefault(f"{mode} cold", []).append(
                    load_page(page, base, bare_path(mode, config), root)
                )
            time.sleep(args.pause)
    for mode in ("engine", "snapshot"):
        progress(f"experiment: bare page, mode {mode}, warm")
        res.bare[f"{mode} warm"] = warm_series(
            playwright, tmp, base, bare_path(mode, config), root, args.runs, args.pause
        )


def one_change(page: Any, load: Load) -> str:
    """Does the engine still answer? The same change in every variant: its premiums, and whether
    the what-if and portfolio (settle and portfolio requests) came back without an error."""
    if load.error is not None:
        return f"not ready: {load.error}"
    counts = page.evaluate("window.__bench_obs.counts")
    page.fill(TURNOVER, "912345")
    try:
        wait_for(page, "change", counts, 20_000)
    except Exception as error:
        return f"no update: {type(error).__name__}"
    premiums = page.evaluate(PREMIUMS_JS)
    stale = page.evaluate(
        "[...document.querySelectorAll('#sim [data-stale]')].map(e => e.id)"
        ".concat([...document.querySelectorAll('#sim .sim-error:not([hidden])')].map(e => e.textContent))"
    )
    text = ", ".join(f"{k} {v}" for k, v in sorted(premiums.items()))
    return text + ("; what-if and portfolio fine" if not stale else f"; stale or in error: {stale}")


# --- report -----------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def playwright_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("playwright")
    except PackageNotFoundError:
        return "unknown"


def reproduce_command(args: argparse.Namespace) -> str:
    python = Path(sys.executable)
    shown = os.path.relpath(python, REPO) if python.is_relative_to(REPO) else str(python)
    command = [shown, "benchmarks/site.py", "--runs", str(args.runs), "--changes", str(args.changes)]
    command += (
        ["--pause", f"{args.pause:g}"] + ["--build"] * args.build + ["--experiments"] * args.experiments
    )
    return f"cd {shlex.quote(str(REPO))} && {shlex.join(command)}"


def status(value: float | None, goal: float | None) -> str:
    if value is None:
        return "no data"
    if goal is None:
        return "-"
    return "met" if value <= goal else "MISSED"


def row(
    label: str, value: float | None, runs: str, goal: float | None, goal_text: str, digits: int = 0
) -> None:
    print(f"{label:<54}{fmt_ms(value, digits):>9}{runs:>15}  {goal_text:<27}{status(value, goal)}")


def print_timings(res: Results, runs: int) -> dict[str, float | None]:
    def ready(loads: list[Load]) -> tuple[float | None, str]:
        return median([x.ready_ms for x in loads]), spread([x.ready_ms for x in loads])

    def premium(loads: list[Load]) -> tuple[float | None, str]:
        return median([x.premium_ms for x in loads]), spread([x.premium_ms for x in loads])

    pooled = [v for one in res.input_ms for v in one]
    figures: dict[str, float | None] = {
        "base_cold": ready(res.cold_base)[0],
        "base_warm": ready(res.warm_base)[0],
        "sim_cold": ready(res.cold_sim)[0],
        "sim_warm": ready(res.warm_sim)[0],
        "premium_cold": premium(res.cold_sim)[0],
        "input_median": statistics.median(pooled) if pooled else None,
        "input_p95": p95(pooled) if pooled else None,
    }
    ready_goal = GOAL_READY_COLD_RATIO * figures["base_cold"] if figures["base_cold"] else None
    print(f"## timings: medians of {runs} runs, ms from navigation start")
    print(f"{'measure':<54}{'median':>9}{'runs min-max':>15}  {'goal':<27}status")
    row("baseline: plain Pyodide ready, cold", *ready(res.cold_base), None, "(reference)")
    row("baseline: plain Pyodide ready, warm", *ready(res.warm_base), None, "(reference)")
    row("baseline: a page with one premium, first paint, cold", *premium(res.cold_floor), None, "(reference)")
    y = median([x.premium_y for x in res.cold_sim])
    row(
        "(a) first premium painted, cold",
        *premium(res.cold_sim),
        GOAL_PREMIUM_MS,
        f"<= {GOAL_PREMIUM_MS:.0f}",
    )
    row("    same, warm", *premium(res.warm_sim), GOAL_PREMIUM_MS, f"<= {GOAL_PREMIUM_MS:.0f}")
    row(
        "    same, opened at #sim-compare (cards in view), cold",
        *premium(res.cold_view),
        GOAL_PREMIUM_MS,
        f"<= {GOAL_PREMIUM_MS:.0f}",
    )
    print(
        f"    (the first premium's top is {fmt_ms(y)} px down the page; the viewport is {VIEWPORT['height']} px high)"
    )
    row(
        "(b) engine ready, cold",
        *ready(res.cold_sim),
        ready_goal,
        f"<= {GOAL_READY_COLD_RATIO} x baseline = {fmt_ms(ready_goal)}",
    )
    row("    engine ready, warm", *ready(res.warm_sim), GOAL_READY_WARM_MS, f"<= {GOAL_READY_WARM_MS:.0f}")
    print(
        "    warm loads in order (ms), plain Pyodide: "
        + ", ".join(fmt_ms(x.ready_ms) for x in res.warm_base)
        + "; simulator: "
        + ", ".join(fmt_ms(x.ready_ms) for x in res.warm_sim)
    )
    run_medians = [statistics.median(r) for r in res.input_ms if r]
    run_p95s = [p95(r) for r in res.input_ms if r]
    n = len(pooled)
    row(
        f"(c) input -> premiums re-rendered, median of {n}",
        figures["input_median"],
        spread(run_medians, 1),
        GOAL_INPUT_MEDIAN_MS,
        f"<= {GOAL_INPUT_MEDIAN_MS:.0f}",
        1,
    )
    row(
        f"    input -> premiums re-rendered, p95 of {n}",
        figures["input_p95"],
        spread(run_p95s, 1),
        GOAL_INPUT_P95_MS,
        f"<= {GOAL_INPUT_P95_MS:.0f}",
        1,
    )
    frames = [v for one in res.frame_ms for v in one]
    if frames:
        row("    same to the next frame, median", statistics.median(frames), "", None, "(information)", 1)
        row("    same to the next frame, p95", p95(frames), "", None, "(information)", 1)
    if pooled:
        early = [v for one in res.input_ms for v in one[:10]]
        late = [v for one in res.input_ms for v in one[10:]]
        print(
            f"    all {n}: min {min(pooled):.1f}, max {max(pooled):.1f} ms; {sum(v > 16 for v in pooled)} over 16 ms, "
            f"{sum(v > 50 for v in pooled)} over 50 ms; median of changes 1-10 {fmt_ms(median(early), 1)}, "
            f"of changes 11+ {fmt_ms(median(late), 1)}"
        )
    if res.round_trip_ms:
        rt = res.round_trip_ms
        print(
            f"    engine round trip alone (compare posted straight to the page's worker, {len(rt)} calls): "
            f"median {statistics.median(rt):.1f}, p95 {p95(rt):.1f} ms"
        )
    return figures


def long_sum(load: Load) -> float | None:
    if load.ready_ms is None:
        return None
    return sum(d for s, d in load.longtasks if s < load.ready_ms)


def first_request(load: Load, group: str) -> float | None:
    starts = [t.start_ms for t in load.transfers if t.category == group and t.start_ms is not None]
    return min(starts) if starts else None


def last_end(load: Load, group: str) -> float | None:
    ends = [t.end_ms for t in load.transfers if t.category == group and t.end_ms is not None]
    return max(ends) if ends else None


def engine_mark(load: Load, name: str | None) -> float | None:
    """A step of the page's engine worker (``info.marks``; None: its start) on the page's clock."""
    info = load.info
    marks = info.get("marks") or {}
    if "origin" not in info or load.origin is None or (name is not None and name not in marks):
        return None
    return info["origin"] + info.get("start", 0.0) + (marks[name] if name else 0.0) - load.origin


def print_breakdown(res: Results) -> None:
    print(
        "## where the time goes on the simulator page (medians; ms from navigation start unless a duration)"
    )
    print(f"{'':<58}{'cold':>9}{'warm':>9}")
    rows: list[tuple[str, Callable[[Load], float | None]]] = [
        ("first contentful paint", lambda x: x.fcp_ms),
        ("first premium in the DOM (parser)", lambda x: x.dom_ms),
        ("first premium painted (Element Timing)", lambda x: x.premium_ms),
        (
            "engine worker created by the page (its inline script after the summary)",
            lambda x: x.worker_created_ms,
        ),
        ("snapshot request starts", lambda x: first_request(x, "snapshot")),
        ("lean wasm request starts", lambda x: first_request(x, "lean wasm")),
        ("full wasm request starts (only without the lean one)", lambda x: first_request(x, "wasm")),
        ("snapshot received", lambda x: last_end(x, "snapshot")),
        ("lean wasm received", lambda x: last_end(x, "lean wasm")),
        ("full wasm received", lambda x: last_end(x, "wasm")),
        ("stdlib received", lambda x: last_end(x, "stdlib")),
        (
            "worker: fetch + import pyodide.mjs + loadPyodide [duration]",
            lambda x: x.timings.get("runtime_ms"),
        ),
        ("worker: unzip + import the engine [duration]", lambda x: x.timings.get("engine_ms")),
        ("worker: total [duration]", lambda x: x.timings.get("total_ms")),
        ("worker: engine start begins", lambda x: engine_mark(x, None)),
        ("worker: pyodide.mjs imported", lambda x: engine_mark(x, "loader")),
        ("worker: wasm bytes all in", lambda x: engine_mark(x, "wasm_bytes")),
        ("worker: pyodide.asm.mjs imported", lambda x: engine_mark(x, "asm")),
        ("worker: wasm compiled", lambda x: engine_mark(x, "wasm_compiled")),
        ("worker: wasm instantiated", lambda x: engine_mark(x, "wasm")),
        ("worker: snapshot bytes all in", lambda x: engine_mark(x, "snapshot_bytes")),
        ("worker: runtime module created (after its start-up code)", lambda x: engine_mark(x, "created")),
        ("worker: restored and finalized (loadPyodide returns)", lambda x: engine_mark(x, "runtime")),
        ("worker: engine imported, reply posted", lambda x: engine_mark(x, "engine")),
        ("worker's reply reaches the page", lambda x: x.worker_message_ms),
        ("sim:ready (window.__sim.info set)", lambda x: x.ready_ms),
        ("main-thread long tasks before ready [sum of durations]", long_sum),
    ]
    for label, get in rows:
        cold = median([get(x) for x in res.cold_sim])
        warm = median([get(x) for x in res.warm_sim])
        print(f"{label:<58}{fmt_ms(cold):>9}{fmt_ms(warm):>9}")
    restored = sorted({str(x.info.get("snapshot")) for x in res.cold_sim + res.warm_sim if x.info})
    print(f"restored from the snapshot (window.__sim.info.snapshot): {', '.join(restored)}")
    for label, loads in (("cold", res.cold_sim), ("warm", res.warm_sim)):
        sources = sorted({json.dumps(x.info.get("sources"), sort_keys=True) for x in loads if x.info})
        print(f"  {label}: wasm and snapshot read from {', '.join(sources)}")
    print("bare page, plain Pyodide (medians, ms from navigation start):")
    for label, loads in (("cold", res.cold_base), ("warm", res.warm_base)):
        print(
            f"  {label}: worker starts {fmt_ms(median([x.worker_mark('t0') for x in loads]))}, "
            f"pyodide.mjs imported {fmt_ms(median([x.worker_mark('t1') for x in loads]))}, "
            f"loadPyodide done {fmt_ms(median([x.worker_mark('t2') for x in loads]))}, "
            f"page told {fmt_ms(median([x.ready_ms for x in loads]))}"
        )


def by_category(load: Load | None, root: Path) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = {}
    for t in load.transfers if load else []:
        entry = table.setdefault(t.category, {"files": 0, "wire": 0, "headers": 0, "raw": 0, "gz": 0})
        entry["files"] += 1
        entry["wire"] += t.body
        entry["headers"] += t.headers
        file = served_file(root, t.path) if t.category != "other origin" else None
        if file is not None:
            entry["raw"] += file.stat().st_size
            entry["gz"] += gz_size(file)
    return table


def print_bytes(res: Results, root: Path) -> dict[str, dict[str, int]]:
    sim = next((x for x in res.cold_sim if x.error is None), None)
    if sim is None:
        print("## bytes: no cold simulator load succeeded")
        return {}
    base = next((x for x in res.cold_base if x.error is None), None)
    warm = next((x for x in res.warm_sim if x.error is None), None)
    sim_t, base_t, warm_t = by_category(sim, root), by_category(base, root), by_category(warm, root)
    empty = {"files": 0, "wire": 0, "headers": 0, "raw": 0, "gz": 0}
    print(
        "## bytes: one cold load each, the engine's files served as zstd, the others gzip; raw = the files' sizes,\n"
        "## gz = their .gz siblings or gzip -9 (what a host sends a browser without zstd)"
    )
    print(f"{'':<20}{'simulator page, cold':>46}    {'plain Pyodide, cold':>24}    {'sim. warm':>11}")
    print(
        f"{'file group':<20}{'files':>6}{'on the wire':>14}{'raw':>14}{'gz':>12}    "
        f"{'files':>6}{'on the wire':>18}    {'on the wire':>11}"
    )
    total = dict.fromkeys(("files", "wire", "raw", "gz", "headers", "bfiles", "bwire", "bheaders", "warm"), 0)
    for group in CATEGORIES:
        if group not in sim_t and group not in base_t:
            continue
        s, b, w = sim_t.get(group, empty), base_t.get(group, empty), warm_t.get(group, empty)
        for key in ("files", "wire", "raw", "gz", "headers"):
            total[key] += s[key]
        total["bfiles"] += b["files"]
        total["bwire"] += b["wire"]
        total["bheaders"] += b["headers"]
        total["warm"] += w["wire"]
        print(
            f"{group:<20}{s['files']:>6}{s['wire']:>14,}{s['raw']:>14,}{s['gz']:>12,}    "
            f"{b['files']:>6}{b['wire']:>18,}    {w['wire']:>11,}"
        )
    print(
        f"{'total of the bodies':<20}{total['files']:>6}{total['wire']:>14,}{total['raw']:>14,}{total['gz']:>12,}    "
        f"{total['bfiles']:>6}{total['bwire']:>18,}    {total['warm']:>11,}"
    )
    print(f"{'+ response headers':<20}{'':>6}{total['headers']:>14,}{'':>30}{'':>6}{total['bheaders']:>18,}")
    print()
    print("## the first cold simulator load, request by request (ms from navigation start)")
    print(f"{'request':<56}{'group':<20}{'start':>7}{'end':>7}{'on the wire':>13}")
    for t in sim.transfers:
        print(
            f"{t.path[-56:]:<56}{t.category:<20}{fmt_ms(t.start_ms):>7}{fmt_ms(t.end_ms):>7}{t.body:>13,}{t.note}"
        )
    print("* a dedicated worker's own script has no size in Chromium's report: the size of the file served")
    stdlib = [t for t in sim.transfers if t.category == "stdlib"]
    print(
        "python_stdlib.zip fetched by the page's worker although it restores from the snapshot: "
        + (f"yes ({stdlib[0].body:,} B on the wire)" if stdlib else "no")
    )
    warm_wire = [t for t in warm.transfers if t.body and t.note not in ("cache", "304")] if warm else []
    if warm_wire:
        print(
            f"warm: {len(warm_wire)} responses still carry a body ({sum(t.body for t in warm_wire):,} B): "
            + ", ".join(sorted({t.path.rsplit("/", 1)[-1] or t.path for t in warm_wire})[:8])
            + (" ..." if len(warm_wire) > 8 else "")
        )
    return sim_t


def print_tradeoff(figures: dict[str, float | None], sim_t: dict[str, dict[str, int]]) -> None:
    snap = sim_t.get("snapshot")
    if not snap:
        return
    print("## trade-off: the snapshot's bytes against the time gained over plain Pyodide")

    def gain(base: float | None, sim: float | None) -> float | None:
        return base - sim if base is not None and sim is not None else None

    cold = gain(figures["base_cold"], figures["sim_cold"])
    warm = gain(figures["base_warm"], figures["sim_warm"])
    print(
        f"snapshot {snap['raw']:,} B raw, {snap['gz']:,} B gz (on the wire cold: {snap['wire']:,} B, warm: 0); "
        f"gain: cold {fmt_ms(cold)} ms ({fmt_ms(figures['base_cold'])} -> {fmt_ms(figures['sim_cold'])}), "
        f"warm {fmt_ms(warm)} ms ({fmt_ms(figures['base_warm'])} -> {fmt_ms(figures['sim_warm'])})"
    )
    if cold is not None and cold > 0:
        mbps = snap["wire"] * 8 / (cold / 1000) / 1e6
        print(
            f"measured on loopback, where bytes cost no transfer time: on a link that is the bottleneck the "
            f"snapshot's {snap['wire'] / 1e6:.1f} MB cost more than the {cold / 1000:.2f} s it gains below about "
            f"{mbps:.0f} Mbit/s (bytes x 8 / gain)"
        )


def print_profile(profile: dict[str, Any]) -> None:
    n = profile["changes"]
    print(
        f"main thread during {n} more changes of the turnover under Chromium's sampling profiler (200 us; the\n"
        f"profiler slows the page: input -> premiums median {statistics.median(profile['updates']):.1f} ms here). "
        f"Per change, what-if/portfolio included: page JavaScript {profile['page_ms'] / n:.1f} ms; "
        + ", ".join(f"{k} {v / n:.1f} ms" for k, v in sorted(profile["native"].items()) if k != "(idle)")
        + " ((program): Chromium's own work on that thread, style, layout and paint among it)"
    )
    print(
        "  page functions, inclusive ms per change: "
        + ", ".join(f"{k} {v / n:.2f}" for k, v in profile["inclusive"][:8])
    )
    print(
        "  where that time is spent (leaf frames), ms per change: "
        + ", ".join(f"{k} {v / n:.2f}" for k, v in profile["leaves"][:8])
    )


def print_experiments(res: Results) -> None:
    if not (res.variants or res.bare or res.profile):
        return
    print("## experiments")
    if res.profile:
        print_profile(res.profile)
    print("simulator page, cold, one request intercepted with page.route (which turns Chromium's cache off):")
    print(
        f"{'variant':<50}{'ready':>8}{'runs min-max':>15}  {'snapshot':<9}{'stdlib':<10}after one change (premiums; what-if and portfolio)"
    )
    for name, loads in res.variants.items():
        snap = ",".join(sorted({str(x.info.get("snapshot")) for x in loads}))
        stdlib = ",".join(
            sorted({"requested" if any(t.category == "stdlib" for t in x.transfers) else "-" for x in loads})
        )
        outcome = " | ".join(sorted(set(res.variant_premiums.get(name, []))))
        ready = [x.ready_ms for x in loads]
        print(f"{name:<50}{fmt_ms(median(ready)):>8}{spread(ready):>15}  {snap:<9}{stdlib:<10}{outcome}")
        for problem in sorted({p for x in loads for p in x.problems})[:4]:
            print(f"{'':<4}{problem}")
    if res.bare:
        print("bare page importing the engine (ms from navigation start, medians):")
        print(
            f"{'mode':<18}{'worker starts':>14}{'snapshot in':>13}{'loadPyodide':>13}{'engine imported':>17}"
            f"{'page told':>11}{'runs min-max':>15}"
        )
        for name, loads in res.bare.items():
            t0 = [x.worker_mark("t0") for x in loads]
            print(
                f"{name:<18}{fmt_ms(median(t0)):>14}"
                f"{fmt_ms(median([x.worker_mark('snapshot_fetched') for x in loads])):>13}"
                f"{fmt_ms(median([x.worker_mark('t2') for x in loads])):>13}"
                f"{fmt_ms(median([x.worker_mark('t3') for x in loads])):>17}"
                f"{fmt_ms(median([x.ready_ms for x in loads])):>11}{spread([x.ready_ms for x in loads]):>15}"
            )
            for problem in sorted(
                {p for x in loads for p in x.problems} | {x.error for x in loads if x.error}
            )[:3]:
                print(f"{'':<4}{problem}")


def print_methods() -> None:
    print("## how each figure is taken")
    print(
        "- engine ready: performance.now() in the page when document gets `sim:ready`, dispatched in the task that\n"
        "  sets window.__sim.info; 0 = navigation start. Plain Pyodide ready: performance.now() in the bare page\n"
        "  when its module worker's message arrives, after import(pyodide.mjs), loadPyodide({indexURL}), runPython."
    )
    print(
        "- first premium painted: the earliest Element Timing renderTime of the elements the page names\n"
        '  `elementtiming="premium"`: the totals in the summary kept in view above the form, and in the cards.\n'
        "  Opened at #sim-compare the cards are in the viewport; that row is measured apart. The reference\n"
        f"  page ({FLOOR_PATH}) is one paragraph with one premium, no stylesheet, no script: the floor of a\n"
        "  cold first paint on this machine."
    )
    print(
        "- input -> premiums: window.__sim.updates[].ms, the page's own figure from the input event to the compare\n"
        "  result written into the DOM (before paint); one page.fill of #f-profile-turnover per change (one input\n"
        "  event), the next only after the compare and the what-if/portfolio (`secondary`) renders, in the cold page\n"
        "  right after ready. 'next frame': plus requestAnimationFrame and one task after `sim:updated`. The script\n"
        "  waits on the page's events (no wait_for_function polling on every frame of the page's main thread)."
    )
    print(
        "- cold: a new Chromium per load (empty HTTP cache, no code cache), navigated once its own start-up\n"
        f"  work is over (its processes idle: see settle(); median wait {fmt_ms(median([s * 1000 for s in SETTLED_S]))} ms).\n"
        f"  warm: a persistent profile per page, loaded once and left open {PRIME_SETTLE_S:.0f} s (its files kept, its caches written),\n"
        "  then one new tab per run; --pause s between loads."
    )
    print(
        "- bytes: Playwright's request.sizes() for every finished request of the page and its workers, taken from\n"
        "  Chromium's Network.loadingFinished encodedDataLength (body = it minus the headers). A raw CDP session on\n"
        "  the page does not see the dedicated worker's requests, which is why Playwright's view is used."
    )


def print_problems(res: Results) -> None:
    loads = res.cold_base + res.cold_floor + res.cold_sim + res.cold_view + res.warm_base + res.warm_sim
    errors = [f"FAILED {x.kind}: {x.error}" for x in loads if x.error]
    problems = sorted({p for x in loads for p in x.problems})
    if not (errors or problems):
        print("no failed load, failed request, HTTP error or console error/warning in the measured loads")
    for line in errors + problems:
        print(line)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--runs", type=int, default=5, help="runs per timing; medians are printed (default 5)"
    )
    parser.add_argument(
        "--changes", type=int, default=50, help="turnover changes per cold simulator run (50)"
    )
    parser.add_argument("--pause", type=float, default=2.0, help="seconds of idle between loads (2)")
    parser.add_argument("--build", action="store_true", help="build the site first even if build/site exists")
    parser.add_argument(
        "--experiments", action="store_true", help="also the experiments (see the top of this file)"
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.changes < 0 or args.pause < 0:
        parser.error("--runs must be positive, --changes and --pause not negative")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing (CHROMIUM=path selects another Chromium)", file=sys.stderr)
        return 2
    if args.build or not (SITE_DIR / "simulateur" / "index.html").is_file():
        build_site()
    config = boot_config(SITE_DIR)
    with tempfile.TemporaryDirectory(prefix="site-bench-") as tmp_name:
        tmp = Path(tmp_name)
        root = make_root(SITE_DIR, tmp)
        with serving(root) as base:
            started, load_before = time.perf_counter(), os.getloadavg()
            res = run(args, base, root, tmp, config)
            elapsed, load_after = time.perf_counter() - started, os.getloadavg()
        print("# simulator page benchmark")
        print(f"reproduce: {reproduce_command(args)}")
        print(f"revision: {git_revision()}")
        print(
            f"machine: {platform.platform()}, {os.cpu_count()} CPUs ({cpu_model()}); Chromium {res.chromium} "
            f"({CHROMIUM}), Playwright {playwright_version()}; viewport {VIEWPORT['width']}x{VIEWPORT['height']}"
        )
        print(
            f"site: {os.path.relpath(SITE_DIR, REPO)} (engine {config['engine']}, Pyodide {config['pyodide']}), "
            f"served by site/serve.py at {base} (zstd, gzip); bare page {base}{BENCH_DIR}/ (temporary); "
            f"{elapsed:.0f} s of measuring"
        )
        print(
            f"load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f}: other work on the "
            f"machine shifts every figure; compare runs taken under the same load"
        )
        print()
        figures = print_timings(res, args.runs)
        print()
        print_breakdown(res)
        print()
        sim_t = print_bytes(res, root)
        print()
        print_tradeoff(figures, sim_t)
        print()
        if res.variants or res.bare or res.profile:
            print_experiments(res)
            print()
        print_methods()
        print()
        print_problems(res)
    return 1 if any(v is None for v in figures.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
