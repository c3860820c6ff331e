"""Compare the simulator page's start-up between builds, loads interleaved (A, B, B, A, ...).

On a shared two-CPU machine the same build's medians move by 100 ms from one run to the next,
so two changes are only compared in the same run, one load of each in turn::

    .venv/bin/python benchmarks/site_ab.py before=/tmp/site-before after=build/site [--runs 7] [--cold] [--warm] [--changes N]

Each ``LABEL=DIR`` is a built site (``mkdocs build -d DIR``). Cold: a new Chromium per load, once its
own start-up work is over (``site.py``'s ``settle``).
Warm: one persistent profile per build, loaded once, then one new tab per load. It prints, per
build, the medians (and every run) of first premium painted, engine ready, the time from the
worker's start to ready (the worker's own path, without the wait for the page's main thread) and
the worker's marks on the page's clock. With ``--changes N``, each cold load then takes N changes
of the turnover, as ``site.py`` does, and the report adds, per load, the median of the page's
input-to-premiums figure and of the same to the next frame (the first five changes of a load left
out: V8 has not optimised the page's code yet). Standard library and Playwright only; measuring
helpers from ``site.py``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from common import site_bench  # benchmarks/ is on sys.path when a script runs

bench = site_bench()


def figures(load: Any) -> dict[str, float | None]:
    """A load's figures, ms from navigation start: paint, ready and every worker mark."""
    out: dict[str, float | None] = {
        "first premium painted": load.premium_ms,
        "engine ready": load.ready_ms,
        "worker created": load.worker_created_ms,
        "worker starts": bench.engine_mark(load, None),
    }
    starts = out["worker starts"]
    # The worker's own path, per load: the page's main thread moves its start by 100 ms or more
    # from load to load, which this difference leaves out.
    out["worker start to ready [duration]"] = (
        None if starts is None or load.ready_ms is None else load.ready_ms - starts
    )
    for name in load.info.get("marks") or {}:
        out[f"worker: {name}"] = bench.engine_mark(load, name)
    return out


WARM_UP_CHANGES = 5


def changes(page: Any, count: int, seed: int) -> dict[str, float | None]:
    """``count`` turnover changes in a loaded page: the medians of the page's own figures."""
    page.wait_for_timeout(1000)  # the what-if and portfolio of the load are done
    updates, frames = bench.turnover_changes(page, count, seed)
    updates, frames = updates[WARM_UP_CHANGES:], frames[WARM_UP_CHANGES:]
    return {
        "input -> premiums [median]": statistics.median(updates) if updates else None,
        "input -> next frame [median]": statistics.median(frames) if frames else None,
    }


def report(
    label: str, mode: str, loads: list[Any], extras: list[dict[str, float | None]] | None = None
) -> None:
    rows = [figures(x) | extra for x, extra in zip(loads, extras or [{}] * len(loads), strict=True)]
    names: list[str] = []
    for row in rows:
        names += [n for n in row if n not in names]
    print(f"## {label}, {mode}: medians of {len(loads)} (ms from navigation start)")
    for name in names:
        values = [v for row in rows if (v := row.get(name)) is not None]
        if values:
            digits = 1 if name.startswith("input ->") else 0
            runs = ", ".join(f"{v:.{digits}f}" for v in values)
            print(f"  {name:<30}{statistics.median(values):8.{digits}f}   [{runs}]")
    for load in loads:
        if load.problems or load.error:
            print(f"  problem: {load.error or load.problems[:3]}")


def parse_site(text: str) -> tuple[str, Path]:
    label, _, directory = text.partition("=")
    site = Path(directory)
    if not label or not (site / "simulateur" / "index.html").is_file():
        raise argparse.ArgumentTypeError(f"{text!r}: expected LABEL=DIR, DIR a built site")
    return label, site


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sites", nargs="+", type=parse_site, metavar="LABEL=DIR")
    parser.add_argument("--runs", type=int, default=7, help="loads per build and mode (7)")
    parser.add_argument("--cold", action="store_true", help="cold loads only")
    parser.add_argument("--warm", action="store_true", help="warm loads only")
    parser.add_argument(
        "--changes", type=int, default=0, help="turnover changes after each cold load (0: none)"
    )
    args = parser.parse_args()
    modes = [m for m in ("cold", "warm") if getattr(args, m)] or ["cold", "warm"]
    from playwright.sync_api import sync_playwright

    print(f"# {' vs '.join(label for label, _ in args.sites)}; {bench.cpu_model()}")
    with tempfile.TemporaryDirectory(prefix="site-ab-") as tmp_name, ExitStack() as stack:
        tmp = Path(tmp_name)
        playwright = stack.enter_context(sync_playwright())
        served = []
        for label, site in args.sites:
            root = bench.make_root(site, tmp / label)
            served.append((label, root, stack.enter_context(bench.serving(root))))
        for mode in modes:
            loads: dict[str, list[Any]] = {label: [] for label, _, _ in served}
            extras: dict[str, list[dict[str, float | None]]] = {label: [] for label, _, _ in served}
            contexts = {}
            if mode == "warm":
                for label, root, base in served:
                    contexts[label] = stack.enter_context(
                        bench.persistent(playwright, tmp / f"profile-{label}")
                    )
                    page = contexts[label].new_page()
                    bench.load_page(page, base, bench.SIM_PATH, root)
                    page.wait_for_timeout(bench.PRIME_SETTLE_S * 1000)
                    page.close()
            for run in range(args.runs):
                for label, root, base in served if run % 2 == 0 else served[::-1]:
                    if mode == "cold":
                        with bench.cold_page(playwright) as page:
                            load = bench.load_page(page, base, bench.SIM_PATH, root)
                            loads[label].append(load)
                            # As in site.py: a load that failed has no engine to take changes.
                            ok = args.changes and load.error is None
                            extras[label].append(changes(page, args.changes, run) if ok else {})
                    else:
                        page = contexts[label].new_page()
                        loads[label].append(bench.load_page(page, base, bench.SIM_PATH, root))
                        page.close()
                    time.sleep(1)
            for label, _, _ in served:
                report(label, mode, loads[label], extras[label] if mode == "cold" else None)
    print(f"load average (1 min) after: {Path('/proc/loadavg').read_text().split()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
