"""Engine speed on CPython and on Pyodide-in-Node, and portfolio accuracy against Monte Carlo.

Run from anywhere (``make bench`` does it)::

    .venv/bin/python benchmarks/engine.py [--iterations N] [--warmup W] [--mc-years N] [--seed S]

Speed: ``simulator.handle(request)`` is timed call by call with
``time.perf_counter_ns`` on both runtimes (in Pyodide, inside Python, so JS
conversion is not counted); the table shows median and p95 (nearest rank)
beside the goals. Accuracy: the yearly loss kept, with no cover and under each formula
(yearly cap included), is simulated year by year in CPython for the 200-buyer
portfolio and for the typical profile, and set beside the engine's figures.
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import os
import platform
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from common import engine_requests, git_revision  # benchmarks/ is on sys.path when a script runs

REPO = Path(__file__).resolve().parent.parent
RUNNER = REPO / "tests" / "pyodide_node" / "run.mjs"
sys.path.insert(0, str(REPO))
from tests.reference import TYPICAL_PROFILE, claim_indemnity  # noqa: E402  (shared with the tests)

CASH_CUSHION = "80000"

# Goals in milliseconds: (CPython, Pyodide).
GOALS_MS = {"compare": (1.0, 3.0), "portfolio-200": (20.0, 50.0)}


def scenarios() -> dict[str, str]:
    """Request text of each benchmarked case; both runtimes get these very texts."""
    compare = {"op": "compare", "profile": TYPICAL_PROFILE}
    portfolio = {
        "op": "portfolio",
        "profile": TYPICAL_PROFILE,
        "buyers": engine_requests().portfolio_buyers(200, 42),
        "cash_cushion": CASH_CUSHION,
    }
    return {"compare": json.dumps(compare), "portfolio-200": json.dumps(portfolio)}


# --- timing -----------------------------------------------------------------


def p95(values: Sequence[int]) -> int:
    """Nearest-rank 95th percentile (the same rule as run.mjs)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


@dataclass
class Timing:
    """Per-call times of one scenario on one runtime, and its response."""

    runtime: str
    times_ns: list[int]
    response: str

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times_ns) / 1e6

    @property
    def p95_ms(self) -> float:
        return p95(self.times_ns) / 1e6


def time_cpython(text: str, iterations: int, warmup: int) -> Timing:
    """Time ``simulator.handle`` on this interpreter, as run.mjs does in Pyodide."""
    import simulator

    request = json.loads(text)
    response = simulator.handle_json(text)
    for _ in range(warmup):
        simulator.handle(request)
    clock = time.perf_counter_ns
    times = []
    for _ in range(iterations):
        start = clock()
        simulator.handle(request)
        times.append(clock() - start)
    return Timing(f"CPython {platform.python_version()}", times, response)


def time_pyodide(text: str, iterations: int, warmup: int, package_dir: Path) -> Timing:
    """One Node process running run.mjs in bench mode; returns its per-call times."""
    with tempfile.TemporaryDirectory() as tmp:
        request_file = Path(tmp) / "request.json"
        request_file.write_text(json.dumps(text), "ascii")  # a JSON string: the exact text
        command = [
            "node",
            str(RUNNER),
            "bench",
            "--request",
            str(request_file),
            "--iterations",
            str(iterations),
            "--warmup",
            str(warmup),
            "--package-dir",
            str(package_dir),
        ]
        proc = subprocess.run(command, capture_output=True, text=True, encoding="utf-8", check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"run.mjs bench failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    report = json.loads(proc.stdout)
    return Timing(
        f"Pyodide {report['pyodide']} (Python {report['python']})", report["times_ns"], report["response"]
    )


def response_note(response: str) -> str:
    """``ok``, or the error code: timing an error response measures nothing useful."""
    try:
        body = json.loads(response)
    except ValueError:
        return "response is not JSON"
    if body.get("ok"):
        return "ok"
    error = body.get("error") or {}
    return f"ERROR {error.get('code')} at {error.get('field')!r}: {error.get('message')}"


def goal_status(timing: Timing, goal_ms: float) -> str:
    """Met when p95 is within the goal; 'median only' when just the median is."""
    if timing.p95_ms <= goal_ms:
        return "met"
    if timing.median_ms <= goal_ms:
        return "median only"
    return "MISSED"


def print_speed(results: Mapping[str, list[Timing]]) -> None:
    print(f"{'scenario':<15}{'runtime':<32}{'median ms':>11}{'p95 ms':>10}{'goal ms':>9}  status")
    for name, timings in results.items():
        for index, timing in enumerate(timings):
            goal = GOALS_MS[name][0 if timing.runtime.startswith("CPython") else 1]
            print(
                f"{name if index == 0 else '':<15}{timing.runtime:<32}{timing.median_ms:>11.3f}"
                f"{timing.p95_ms:>10.3f}{goal:>9g}  {goal_status(timing, goal)}"
            )
        notes = {response_note(t.response) for t in timings}
        if notes != {"ok"}:
            print(f"{'':<15}response: {'; '.join(sorted(notes))}")
        if len({t.response for t in timings}) > 1:
            print(f"{'':<15}WARNING: the runtimes' responses differ (see tests/test_cross_runtime.py)")


# --- accuracy ---------------------------------------------------------------


def simulate_default_years(pds: Sequence[float], years: int, seed: int) -> list[list[int]]:
    """For each simulated year, the indexes of the buyers that default in it.

    Rather than one draw per buyer and year, each buyer jumps from one default
    year to the next by a geometric gap: the same independent Bernoulli years,
    but about sum(pd) draws per year instead of one per buyer, so pure Python
    simulates a million years in seconds (no numpy needed).
    """
    rng = random.Random(seed)
    defaults: list[list[int]] = [[] for _ in range(years)]
    for index, pd in enumerate(pds):
        if pd <= 0:
            continue
        if pd >= 1:
            for year in defaults:
                year.append(index)
            continue
        log_q = math.log1p(-pd)
        year = -1
        while True:
            # Years without default before the next one: floor(log U / log(1 - pd)), U in (0, 1].
            year += 1 + int(math.log(1.0 - rng.random()) / log_q)
            if year >= years:
                break
            defaults[year].append(index)
    return defaults


def kept_losses(
    defaults: Sequence[Sequence[int]], exposures: Sequence[int], indemnities: Sequence[int], cap: int | None
) -> list[int]:
    """Loss kept each year in cents: gross loss less the indemnities, capped at ``cap`` a year."""
    out = []
    for year in defaults:
        gross = sum(exposures[i] for i in year)
        paid = sum(indemnities[i] for i in year)
        out.append(gross - (paid if cap is None else min(paid, cap)))
    return out


@dataclass
class Reference:
    """Monte Carlo figures of the yearly loss, with 95 % confidence intervals."""

    years: int
    mean: float
    mean_ci: tuple[float, float]
    quantiles: dict[float, tuple[float, tuple[float, float]]]
    p_exceeds: float
    p_exceeds_ci: tuple[float, float]


def reference(totals_cents: list[int], cushion: float) -> Reference:
    """Mean, 95 %/99 % quantiles (smallest x with P(L <= x) >= q) and P(L > cushion), in euros."""
    n = len(totals_cents)
    ordered = sorted(totals_cents)
    # Integer sums: exact, and far faster than statistics.pstdev on a million values.
    s1 = sum(ordered)
    s2 = sum(t * t for t in ordered)
    mean = s1 / n / 100
    sd = math.sqrt(max(0.0, (s2 - s1 * s1 / n) / n)) / 100
    half = 1.96 * sd / math.sqrt(n)
    quantiles = {}
    for q in (0.95, 0.99):
        k = math.ceil(q * n) - 1
        # Order-statistic interval for the q quantile: ranks k +/- 1.96 sqrt(n q (1 - q)).
        spread = math.ceil(1.96 * math.sqrt(n * q * (1 - q)))
        low, high = ordered[max(0, k - spread)] / 100, ordered[min(n - 1, k + spread)] / 100
        quantiles[q] = (ordered[k] / 100, (low, high))
    above = (n - bisect.bisect_right(ordered, round(cushion * 100))) / n
    p_half = 1.96 * math.sqrt(above * (1 - above) / n)
    return Reference(n, mean, (mean - half, mean + half), quantiles, above, (above - p_half, above + p_half))


def risk_buyers(request: Mapping[str, Any]) -> list[tuple[str, str, Decimal, float]]:
    """(name, zone, exposure, pd) of every buyer the request describes, one row per buyer."""
    import simulator
    from simulator.portfolio import profile_buyers
    from simulator.profile import parse_profile

    tariff = simulator.load_tariff()
    if request.get("buyers"):
        return [
            (b["name"], b.get("zone", "france"), Decimal(b["exposure"]), float(b["pd"]))
            for b in request["buyers"]
        ]
    # The engine's reading of the profile into buyers is model input, not what is measured here.
    rows = []
    for b in profile_buyers(parse_profile(request["profile"], tariff), tariff):
        rows += [
            (b.name if b.count == 1 else f"{b.name} #{k}", b.zone, b.exposure, float(b.pd))
            for k in range(b.count)
        ]
    return rows


def print_accuracy(name: str, text: str, years: int, seed: int) -> None:
    """Every outcome of a portfolio request, engine against a seeded Monte Carlo with the yearly cap."""
    import simulator

    request = json.loads(text)
    response = json.loads(simulator.handle_json(text))
    if not response.get("ok"):
        print(f"engine answered an error, nothing to compare: {response.get('error')}")
        return
    result = response["result"]
    compare = simulator.handle(
        {"op": "compare", "profile": request["profile"], "options": request.get("options", {})}
    )
    terms = {f["formula"]: f["terms"] for f in compare["result"]["formulas"] if f["available"]}
    buyers = risk_buyers(request)
    cushion = float(request.get("cash_cushion", 0))
    start = time.perf_counter()
    defaults = simulate_default_years([b[3] for b in buyers], years, seed)
    exposures = [round(b[2] * 100) for b in buyers]
    print(
        f"### {name}: {len(buyers)} buyers, grid step {result['grid']['step']} EUR; reference {years:,} years, "
        f"seed {seed}; intervals are 95 % confidence intervals"
    )
    print(
        f"{'outcome':<14}{'figure':<22}{'engine':>14}{'Monte Carlo':>14}  {'95 % interval':<28}{'diff':>9}  note"
    )
    for outcome in result["outcomes"]:
        formula = outcome["formula"]
        if not outcome.get("available", True):
            continue
        if formula == "none":
            indemnities, cap = [0] * len(buyers), None
        else:
            t = terms[formula]
            indemnities = [round(claim_indemnity(t, n, z, e) * 100) for n, z, e, _ in buyers]
            cap = round(Decimal(t["max_liability"]) * 100)
        ref = reference(kept_losses(defaults, exposures, indemnities, cap), cushion)
        rows = [
            ("expected kept", outcome["expected_kept_loss"], ref.mean, ref.mean_ci, ",.2f"),
            ("95 % quantile", outcome["kept_loss_q95"], *ref.quantiles[0.95], ",.2f"),
            ("99 % quantile", outcome["kept_loss_q99"], *ref.quantiles[0.99], ",.2f"),
            (
                f"P(kept > {cushion:,.0f})",
                outcome["prob_exceeds_cushion"],
                ref.p_exceeds,
                ref.p_exceeds_ci,
                ".6f",
            ),
        ]
        note = f"cap_bound {outcome['cap_bound']}" if formula != "none" else ""
        for label, engine_text, value, (low, high), fmt in rows:
            engine = float(engine_text) if engine_text is not None else float("nan")
            interval = f"[{low:{fmt}}, {high:{fmt}}]"
            inside = "inside" if low <= engine <= high else "outside"
            rel = f"{(engine - value) / value:+.2%}" if value else "-"
            print(
                f"{formula:<14}{label:<22}{engine:>14{fmt}}{value:>14{fmt}}  {interval:<28}{rel:>9}  {inside} {note}"
            )
            note = ""
    print(f"(reference computed in {time.perf_counter() - start:.1f} s)")
    print()


# --- main -------------------------------------------------------------------


def node_version() -> str:
    try:
        return (
            subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip() or "unknown"
        )
    except OSError:
        return "not found"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=100, help="timed calls per scenario and runtime")
    parser.add_argument("--warmup", type=int, default=10, help="untimed calls first")
    parser.add_argument("--mc-years", type=int, default=1_000_000, help="simulated years of the reference")
    parser.add_argument("--seed", type=int, default=20261126, help="seed of the Monte Carlo reference")
    parser.add_argument("--package-dir", type=Path, default=REPO / "simulator", help="the simulator package")
    parser.add_argument("--skip-pyodide", action="store_true", help="CPython timings only")
    parser.add_argument("--skip-accuracy", action="store_true", help="no Monte Carlo section")
    args = parser.parse_args(argv)
    if args.iterations < 1 or args.warmup < 0 or args.mc_years < 1:
        parser.error("--iterations and --mc-years must be positive, --warmup not negative")
    return args


def reproduce_command(args: argparse.Namespace) -> str:
    python = Path(sys.executable)
    shown = os.path.relpath(python, REPO) if python.is_relative_to(REPO) else str(python)
    command = [
        shown,
        "benchmarks/engine.py",
        "--iterations",
        str(args.iterations),
        "--warmup",
        str(args.warmup),
    ]
    command += ["--mc-years", str(args.mc_years), "--seed", str(args.seed)]
    if args.package_dir.resolve() != (REPO / "simulator").resolve():
        command += ["--package-dir", str(args.package_dir)]
    command += ["--skip-pyodide"] * args.skip_pyodide + ["--skip-accuracy"] * args.skip_accuracy
    return f"cd {shlex.quote(str(REPO))} && {shlex.join(command)}"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    package_dir = args.package_dir.resolve()
    # Import the package being measured, the same files Pyodide gets.
    sys.path.insert(0, str(package_dir.parent))
    import simulator

    if Path(simulator.__file__).resolve().parent != package_dir:
        print(f"warning: CPython imports {simulator.__file__}, not {package_dir}", file=sys.stderr)

    print("# simulator engine benchmark")
    print(f"reproduce: {reproduce_command(args)}")
    print(f"revision: {git_revision()}; package: {package_dir}")
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs; CPython {platform.python_version()}; "
        f"node {node_version()}"
    )
    print()

    cases = scenarios()
    results: dict[str, list[Timing]] = {}
    failures: list[str] = []
    can_run_node = shutil.which("node") is not None and RUNNER.exists()
    if not (args.skip_pyodide or can_run_node):
        failures.append("Pyodide: node or run.mjs not found")
    for name, text in cases.items():
        results[name] = []
        try:
            results[name].append(time_cpython(text, args.iterations, args.warmup))
        except Exception as exc:  # an unfinished engine: report it and go on
            failures.append(f"{name} on CPython: {type(exc).__name__}: {exc}")
        if args.skip_pyodide or not can_run_node:
            continue
        try:
            results[name].append(time_pyodide(text, args.iterations, args.warmup, package_dir))
        except RuntimeError as exc:
            failures.append(f"{name} on Pyodide: {exc}")
    print(
        f"## speed: {args.iterations} timed calls after {args.warmup} warm-up calls, per scenario and runtime"
    )
    print_speed(results)
    for failure in failures:
        print(f"FAILED {failure}")

    if not args.skip_accuracy:
        print()
        print("## accuracy: yearly loss kept, with no cover and under each formula, engine vs Monte Carlo")
        print_accuracy("portfolio-200 (explicit buyers)", cases["portfolio-200"], args.mc_years, args.seed)
        profile_case = json.dumps({"op": "portfolio", "profile": TYPICAL_PROFILE, "cash_cushion": "50000"})
        print_accuracy("typical profile (buyers from the profile)", profile_case, args.mc_years, args.seed)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
