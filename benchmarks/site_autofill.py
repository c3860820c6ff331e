"""What Chromium's autofill costs the simulator page's start: its form parsing, and the start without it.

    .venv/bin/python benchmarks/site_autofill.py [--site build/site] [--runs 11] [--parse-only]

Chromium parses a page's forms for autofill on the browser's thread pool, once after
DOMContentLoaded and once after load, while the engine's worker starts and V8 validates the wasm
on the same two processors. The script prints:

1. the autofill time of warm loads (the trace's thread-pool tasks posted from Chromium's
   ``components/autofill/``), for the simulator page and for the home page, which has no form
   of its own;
2. unless ``--parse-only``, loads of the simulator page with autofill on and off, interleaved,
   cold (a new Chromium per load, settled as in ``site.py``) and warm (a profile per setting,
   relaunched for each load, since Chromium reads its policies at launch). Off is Chromium's
   managed policy (``AutofillAddressEnabled`` and ``AutofillCreditCardEnabled`` false), written to
   ``/etc/chromium/policies/managed/`` for the "off" launches and removed after: it needs root,
   and it stops if a file of that name is already there.

It measures the browser, not a change of ours: no page-side setting was found that spares the
parse (see benchmarks/README.md). Standard library and Playwright only; helpers from ``site.py``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import site_trace
from common import site_bench  # benchmarks/ is on sys.path when a script runs

bench = site_bench()

POLICY = Path("/etc/chromium/policies/managed/ac-bench-autofill-off.json")
POLICY_TEXT = json.dumps({"AutofillAddressEnabled": False, "AutofillCreditCardEnabled": False})


def autofill_ms(page: Any, context: Any, url: str) -> float:
    """Load ``url`` traced; the milliseconds of thread-pool tasks posted by Chromium's autofill."""

    def load() -> None:
        page.goto(url)
        page.wait_for_timeout(2500)  # both parses (after DOMContentLoaded and after load) are done by then

    _, events = site_trace.traced(page, context, ["toplevel"], load)
    return sum(e.get("dur", 0) for e in site_trace.autofill_tasks(events)) / 1000


@contextmanager
def autofill_off(off: bool) -> Iterator[None]:
    """Chromium launched inside has autofill turned off by managed policy when ``off``."""
    if off:
        POLICY.parent.mkdir(parents=True, exist_ok=True)
        POLICY.write_text(POLICY_TEXT, "utf-8")
    try:
        yield
    finally:
        POLICY.unlink(missing_ok=True)


def parse_times(playwright: Any, base: str, tmp: Path, runs: int) -> None:
    print("## Chromium's autofill parsing, warm loads (ms of thread-pool tasks; the first load not counted)")
    for path in (bench.SIM_PATH, ""):
        with bench.persistent(playwright, tmp / f"parse-{path.strip('/') or 'home'}") as context:
            times = []
            for i in range(runs + 1):
                page = context.new_page()
                spent = autofill_ms(page, context, base + path)
                page.close()
                if i:
                    times.append(spent)
        runs_text = ", ".join(f"{t:.0f}" for t in sorted(times))
        print(f"  {path or '(home page)':<14} median {statistics.median(times):6.1f}   [{runs_text}]")


def on_and_off(playwright: Any, base: str, root: Path, tmp: Path, runs: int) -> None:
    loads: dict[tuple[str, bool], list[Any]] = {}
    for off in (False, True):  # a first load fills each warm profile
        with autofill_off(off), bench.persistent(playwright, tmp / f"warm-{off}") as context:
            page = context.new_page()
            bench.load_page(page, base, bench.SIM_PATH, root)
            page.wait_for_timeout(bench.PRIME_SETTLE_S * 1000)
            page.close()
    for run in range(runs):
        for off in (False, True) if run % 2 == 0 else (True, False):
            with autofill_off(off):
                with bench.cold_page(playwright) as page:
                    loads.setdefault(("cold", off), []).append(
                        bench.load_page(page, base, bench.SIM_PATH, root)
                    )
                time.sleep(1)
                with bench.persistent(playwright, tmp / f"warm-{off}") as context:
                    page = context.new_page()
                    loads.setdefault(("warm", off), []).append(
                        bench.load_page(page, base, bench.SIM_PATH, root)
                    )
                    page.close()
                time.sleep(1)
        bench.progress(f"run {run + 1}/{runs}")
    print(
        f"\n## the simulator page with autofill on and off, {runs} interleaved loads each (ms from navigation start)"
    )
    print("   warm: a persistent profile relaunched per load (Chromium reads its policies at launch)")
    for (mode, off), group in sorted(loads.items()):
        ready = [x.ready_ms for x in group if x.ready_ms is not None]
        paint = [x.premium_ms for x in group if x.premium_ms is not None]
        problems = [x.error or x.problems[0] for x in group if x.error or x.problems]
        print(
            f"  {mode}, autofill {'off' if off else 'on '}: engine ready {bench.fmt_ms(bench.median(ready))}"
            f" [{bench.spread(ready)}], first premium painted {bench.fmt_ms(bench.median(paint))}"
            + (f"; problem: {problems[0]}" if problems else "")
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=bench.REPO / "build" / "site", help="a built site")
    parser.add_argument("--runs", type=int, default=11, help="loads per setting and mode (11)")
    parser.add_argument("--parse-only", action="store_true", help="only the autofill parsing time")
    args = parser.parse_args()
    if not (args.site / "simulateur" / "index.html").is_file():
        parser.error(f"{args.site}: not a built site (make site)")
    if not args.parse_only and POLICY.exists():
        parser.error(f"{POLICY} exists already: remove it, or use --parse-only")
    from playwright.sync_api import sync_playwright

    print(
        f"# Chromium's autofill and the simulator page; revision {bench.git_revision()}; {bench.cpu_model()}"
    )
    with tempfile.TemporaryDirectory(prefix="site-autofill-") as tmp_name, sync_playwright() as playwright:
        tmp = Path(tmp_name)
        root = bench.make_root(args.site, tmp / "root")
        with bench.serving(root) as base:
            parse_times(playwright, base, tmp, min(args.runs, 5))
            if not args.parse_only:
                try:
                    on_and_off(playwright, base, root, tmp, args.runs)
                except PermissionError as error:
                    print(f"\nautofill off needs root to write {POLICY}: {error}")
                    return 1
    print(f"load average (1 min) after: {Path('/proc/loadavg').read_text().split()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
