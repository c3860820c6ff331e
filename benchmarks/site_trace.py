"""Where the processor time of one simulator-page load goes, from a Chromium trace.

    .venv/bin/python benchmarks/site_trace.py [--site build/site] [--warm] [--save trace.json]

One load of ``simulateur/`` (cold: a new Chromium, once its own start-up work is over;
``--warm``: a persistent profile loaded twice first), traced with Chromium's sampling profiler
on. It prints, from navigation start to engine ready: the busy time of each thread of the
browser (which ones compete for the processors), the part of it Chromium's autofill takes, V8's
work on the wasm (validation, lazy and optimising compiles, and whether a compiled module kept
from an earlier visit was used), then, for the engine's worker, the JavaScript and wasm functions
its time goes to (inclusive), with the worker's own marks. The profiler slows the load by a third
or so: read the shares, not the milliseconds. Standard library and Playwright only; page helpers
from ``site.py``.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import site_bench  # benchmarks/ is on sys.path when a script runs

bench = site_bench()

CATEGORIES = [
    "toplevel",
    "blink.user_timing",
    "devtools.timeline",
    "disabled-by-default-devtools.timeline",
    "disabled-by-default-v8.cpu_profiler",
    "v8.wasm",
    "disabled-by-default-v8.wasm.detailed",
]
TASKS = {"RunTask", "ThreadControllerImpl::RunTask", "ThreadPool_RunTask"}


def traced(
    page: Any, context: Any, categories: list[str], action: Callable[[], Any]
) -> tuple[Any, list[dict[str, Any]]]:
    """Run ``action`` (a load of ``page``) with Chromium's tracing on; its result and the trace's events."""
    cdp = context.new_cdp_session(page)
    events: list[dict[str, Any]] = []
    complete: list[bool] = []
    cdp.on("Tracing.dataCollected", lambda e: events.extend(e["value"]))
    cdp.on("Tracing.tracingComplete", lambda e: complete.append(True))
    cdp.send(
        "Tracing.start",
        {
            "traceConfig": {"includedCategories": categories, "recordMode": "recordAsMuchAsPossible"},
            "transferMode": "ReportEvents",
        },
    )
    result = action()
    cdp.send("Tracing.end")
    deadline = time.monotonic() + 60
    while not complete and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    return result, events


def traced_load(page: Any, context: Any, base: str, root: Path) -> tuple[Any, list[dict[str, Any]]]:
    """Load the simulator page with tracing on; the load's figures and the trace's events."""
    return traced(page, context, CATEGORIES, lambda: bench.load_page(page, base, bench.SIM_PATH, root))


def autofill_tasks(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The trace's thread-pool tasks posted by Chromium's autofill (its parsing of the page's forms)."""
    return [
        e
        for e in events
        if e.get("ph") == "X"
        and e.get("name") in TASKS
        and str(e.get("args", {}).get("src_file", "")).startswith("components/autofill/")
    ]


def wasm_work(events: list[dict[str, Any]], start: float, end: float) -> dict[str, tuple[int, float]]:
    """V8's work on the wasm begun within [start, end]: per step, how many events and their
    milliseconds (whole, even where an event runs past ``end``).

    ``validation`` runs on the thread pool, ``lazy compiles`` (Liftoff, one per function on its
    first call) on the worker's thread, ``optimising compiles`` (TurboFan, for hot functions) on the
    thread pool; ``code cache hits`` and ``deserialisation`` are nonzero only when Chromium handed
    V8 a compiled module it had kept from an earlier visit.
    """
    steps = {
        "validation": "wasm.ValidateFunctionsStreaming",
        "lazy compiles": "wasm.CompileLazy",
        "optimising compiles": "wasm.TopTierCompilation",
        "code cache hits": "v8.wasm.moduleCacheHit",
        "deserialisation": "wasm.Deserialize",
    }
    found: dict[str, tuple[int, float]] = {}
    for label, name in steps.items():
        hits = [e for e in events if e.get("name") == name and start <= e["ts"] <= end]
        found[label] = (len(hits), sum(e.get("dur", 0) for e in hits) / 1000)
    return found


def thread_names(events: list[dict[str, Any]]) -> dict[tuple[int, int | None], str]:
    names: dict[tuple[int, int | None], str] = {}
    for e in events:
        if e.get("ph") == "M" and e.get("name") == "thread_name":
            names[(e["pid"], e["tid"])] = e["args"]["name"]
        elif e.get("ph") == "M" and e.get("name") == "process_name":
            names[(e["pid"], None)] = e["args"]["name"]
    return names


def busy_threads(events: list[dict[str, Any]], start: float, end: float) -> collections.Counter[Any]:
    """Microseconds each thread spent running tasks within [start, end] (nested tasks once)."""
    spans: dict[tuple[int, int], list[tuple[float, float]]] = collections.defaultdict(list)
    for e in events:
        if e.get("ph") == "X" and e.get("name") in TASKS and "dur" in e:
            a, b = max(e["ts"], start), min(e["ts"] + e["dur"], end)
            if a < b:
                spans[(e["pid"], e["tid"])].append((a, b))
    busy: collections.Counter[Any] = collections.Counter()
    for key, intervals in spans.items():
        intervals.sort()
        reach = -1.0
        for a, b in intervals:
            if b > reach:
                busy[key] += b - max(a, reach)
                reach = b
    return busy


def profiles(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The sampling profiles in the trace, by id: thread, start time, nodes, samples, deltas."""
    found: dict[str, dict[str, Any]] = {}
    for e in events:
        if e.get("name") == "Profile":
            found[e["id"]] = {
                "thread": (e["pid"], e["tid"]),
                "start": e["args"]["data"]["startTime"],
                "nodes": {},
                "samples": [],
                "deltas": [],
            }
    for e in events:
        if e.get("name") == "ProfileChunk" and e.get("id") in found:
            profile, data = found[e["id"]], e["args"]["data"]
            for node in data.get("cpuProfile", {}).get("nodes", []):
                profile["nodes"][node["id"]] = node
            profile["samples"] += data.get("cpuProfile", {}).get("samples", [])
            profile["deltas"] += data.get("timeDeltas", [])
    return found


def label(node: dict[str, Any]) -> str:
    frame = node["callFrame"]
    name = frame.get("functionName") or "(anonymous)"
    where = frame.get("url", "").split("#", 1)[0].split("?", 1)[0].rsplit("/", 1)[-1]
    return f"{name} [{where}]" if where else name


def attribute(profile: dict[str, Any], start: float, end: float) -> tuple[collections.Counter[str], float]:
    """Inclusive microseconds per function within [start, end], and the busy total (idle left out)."""
    nodes = profile["nodes"]
    parent = {child: node["id"] for node in nodes.values() for child in node.get("children", [])}
    parent.update({node["id"]: node["parent"] for node in nodes.values() if "parent" in node})
    inclusive: collections.Counter[str] = collections.Counter()
    busy = 0.0
    at = profile["start"]
    for sample, delta in zip(profile["samples"], profile["deltas"], strict=False):
        at += delta
        if not start <= at <= end or sample not in nodes:
            continue
        if nodes[sample]["callFrame"].get("functionName") == "(idle)":
            continue
        busy += delta
        seen: set[str] = set()
        node_id: int | None = sample
        while node_id in nodes:
            name = label(nodes[node_id])
            if name not in seen and name != "(root)":
                inclusive[name] += delta
                seen.add(name)
            node_id = parent.get(node_id)
    return inclusive, busy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=bench.REPO / "build" / "site", help="a built site")
    parser.add_argument("--warm", action="store_true", help="a persistent profile, loaded twice first")
    parser.add_argument("--save", type=Path, help="write the trace's events there (JSON)")
    args = parser.parse_args()
    if not (args.site / "simulateur" / "index.html").is_file():
        parser.error(f"{args.site}: not a built site (make site)")
    from playwright.sync_api import sync_playwright

    mode = "warm" if args.warm else "cold"
    with tempfile.TemporaryDirectory(prefix="site-trace-") as tmp_name, sync_playwright() as playwright:
        tmp = Path(tmp_name)
        root = bench.make_root(args.site, tmp)
        with bench.serving(root) as base:
            if args.warm:
                with bench.persistent(playwright, tmp / "profile") as context:
                    for _ in range(2):
                        page = context.new_page()
                        bench.load_page(page, base, bench.SIM_PATH, root)
                        page.wait_for_timeout(bench.PRIME_SETTLE_S * 1000)
                        page.close()
                    load, events = traced_load(context.new_page(), context, base, root)
            else:
                with bench.cold_page(playwright) as page:
                    load, events = traced_load(page, page.context, base, root)
    if load.error or load.ready_ms is None:
        print(f"the page did not get ready: {load.error or load.problems[:3]}")
        return 1
    if args.save:
        args.save.write_text(json.dumps(events), "utf-8")
    starts = [e["ts"] for e in events if e.get("name") == "navigationStart"]
    if not starts:
        print("no navigationStart in the trace")
        return 1
    start = min(starts)
    end = start + load.ready_ms * 1000
    names = thread_names(events)
    print(
        f"# one {mode} load of {bench.SIM_PATH}, traced; revision {bench.git_revision()}; {bench.cpu_model()}"
    )
    print(
        f"engine ready at {load.ready_ms:.0f} ms (profiler on); first premium painted at {load.premium_ms} ms"
    )
    print("\n## busy time of each thread, navigation start to engine ready (ms)")
    busy = busy_threads(events, start, end)
    for key, micros in busy.most_common(12):
        process = names.get((key[0], None), str(key[0]))
        print(f"{micros / 1000:8.1f}  {process} / {names.get(key, str(key[1]))}")
    print(f"{sum(busy.values()) / 1000:8.1f}  all threads, against {load.ready_ms:.0f} ms x 2 processors")
    autofill = [e for e in autofill_tasks(events) if start <= e["ts"] <= end]
    print(
        f"of which Chromium's autofill parsing the page's forms (browser thread pool): "
        f"{sum(e.get('dur', 0) for e in autofill) / 1000:.1f} ms in {len(autofill)} tasks, starting at "
        + (", ".join(f"{(e['ts'] - start) / 1000:.0f}" for e in autofill) or "-")
        + " ms (see site_autofill.py)"
    )
    print("\n## V8's work on the wasm begun before engine ready (ms, events)")
    for label, (count, ms) in wasm_work(events, start, end).items():
        print(f"{ms:8.1f}  {label} ({count})")
    engine = [
        p
        for p in profiles(events).values()
        if any("engine-worker" in n["callFrame"].get("url", "") for n in p["nodes"].values())
    ]
    if not engine:
        print("\nno profile of the engine's worker in the trace")
        return 1
    inclusive, total = attribute(engine[0], start, end)
    print(f"\n## the engine's worker: {total / 1000:.0f} ms busy; functions, inclusive (ms)")
    for name, micros in inclusive.most_common(30):
        print(f"{micros / 1000:8.1f}  {name}")
    marks = load.info.get("marks") or {}
    steps = ", ".join(f"{name} {bench.engine_mark(load, name):.0f}" for name in sorted(marks, key=marks.get))
    print(f"\nworker marks (ms from navigation start): starts {bench.engine_mark(load, None):.0f}, {steps}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
