"""Benchmark: the specification curve with shared fits vs a naive loop over run_estimation, and 1 M rows.

    .venv/bin/python bench/bench_multiverse.py [--naive-sample N] [--million-rows 1000000] [--skip-million]

Part 1 (target: ≥ 200 specifications on 6,000 rows in < 10 s): retention (N01, seed 42) with its default DAG,
invalid sets included (the recommended set + 7 'drop one confounder' sets), 5 estimators (regression,
g-computation, IPW, AIPW, 5-fold cross-fitted AIPW) × 3 trimming rules × ATE/ATT = 240 specifications.
The baseline runs ``run_estimation`` once per specification (sensitivity and refutations off, which favours
the baseline) and keeps the one row the specification asks for; both paths must give the same numbers.

Part 2 (1 M rows, progress and Stop): the retention simulation at 1,000,000 rows, recommended set only,
regression/IPW/AIPW × none/Crump × ATE; progress lines are printed after every specification, then a second,
larger run is stopped 8 s in by a should_stop callback (checked before every specification) and the wait printed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

from causal_core import dag, estimation
from causal_core.data import analysis_frame, project_for_builtin
from causal_core.data.datasets import simulate_retention
from causal_core.multiverse import build_space, run_multiverse
from causal_core.multiverse.runner import run_space
from causal_core.project import MultiverseOptions

ROOT = Path(__file__).resolve().parents[1]

TRIM = {"none": None, "bounds": "bounds", "crump": "crump"}


def naive_row(frame, project, row, folds: int):
    """What a hand-written loop does: one full run_estimation per specification, keep the asked-for row."""
    method = "aipw" if row.choices["estimator"].startswith("aipw_cf") else row.choices["estimator"]
    spec = estimation.default_spec(project, frame).model_copy(
        update={
            "covariates": list(row.covariates),
            "categorical": estimation.categorical_columns(frame, list(row.covariates)),
            "estimand": row.choices["estimand"],
            "trim": TRIM[row.choices["trimming"]],
            "crossfit_folds": folds if row.choices["estimator"].startswith("aipw_cf") else 0,
        }
    )
    result = estimation.run_estimation(frame, spec, sensitivity=False, refutations=False)
    return next(r for r in result.estimates if r.method == method)


def part_one(sample: int | None) -> None:
    project, raw = project_for_builtin("retention")
    project = project.model_copy(update={"dag": dag.default_dag("retention")})
    options = MultiverseOptions(include_invalid=True, both_estimands=True)
    run_multiverse(project, raw, options.model_copy(update={"estimators": ["regression"], "trimming": ["none"]}))
    print(f"Load average before the run: {', '.join(f'{v:.1f}' for v in os.getloadavg())} on {os.cpu_count()} cores")
    started, cpu = time.perf_counter(), time.process_time()
    result = run_multiverse(project, raw, options)
    shared, shared_cpu = time.perf_counter() - started, time.process_time() - cpu
    n = len(result.rows)
    print(f"Part 1: {n} specifications on {len(raw):,} rows (retention, DAG sets incl. 7 invalid)")
    print(
        f"  shared fits      : {shared:7.2f} s wall, {shared_cpu:.2f} s CPU "
        f"({shared / n * 1000:.1f} ms per specification; target < 10 s)"
    )
    print(f"  fits             : {result.summary['fits']}")
    frame = analysis_frame(project, raw)
    rows = result.rows if sample is None else result.rows[:: max(1, n // sample)]
    label = "measured" if len(rows) == n else f"measured on {len(rows)}, scaled to {n}"
    for threads in ("default BLAS threads", "1 BLAS thread, as the curve uses"):
        limit = threadpool_limits(limits=1, user_api="blas") if threads.startswith("1") else contextlib.nullcontext()
        with limit:
            started, cpu = time.perf_counter(), time.process_time()
            worst = max(
                abs(naive_row(frame, project, row, options.crossfit_folds).estimate - row.estimate) for row in rows
            )
            naive, naive_cpu = time.perf_counter() - started, time.process_time() - cpu
        scaled, scaled_cpu = naive * n / len(rows), naive_cpu * n / len(rows)
        print(f"  naive loop ({threads}): {scaled:7.2f} s wall, {scaled_cpu:.2f} s CPU ({label})")
        print(
            f"    ratio: {scaled / shared:.1f}x (wall), {scaled_cpu / shared_cpu:.1f}x (CPU); max |difference| {worst:.1e}"
        )


def part_two(rows: int) -> None:
    raw = simulate_retention(n=rows)
    project, _ = project_for_builtin("retention")
    project = project.model_copy(update={"dag": dag.default_dag("retention")})
    options = MultiverseOptions(estimators=["regression", "ipw", "aipw"], trimming=["none", "crump"])
    space = build_space(project, raw, options)
    clock = time.perf_counter()

    def progress(fraction: float, message: str) -> None:
        print(f"  {time.perf_counter() - clock:6.1f} s  {fraction:4.0%}  {message}")

    print(f"Part 2: {space.count()} specifications on {rows:,} rows, with progress")
    result = run_space(project, raw, space, options, progress=progress)
    print(f"  done in {time.perf_counter() - clock:.1f} s; {result.summary['fits']}")
    for sentence in result.summary["sentences"][:2]:
        print("  " + sentence)
    both = build_space(project, raw, options.model_copy(update={"both_estimands": True, "include_invalid": True}))
    request_after = 8.0
    seen: list[float] = []

    def stop_requested() -> bool:
        """The analyst presses Stop 8 s into the run; the runner checks before every specification."""
        if time.perf_counter() - clock < request_after:
            return False
        seen.append(time.perf_counter())
        return True

    clock = time.perf_counter()
    stopped = run_space(project, raw, both, options, should_stop=stop_requested)
    returned = time.perf_counter()
    kept = sum(r.status == "stopped" for r in stopped.rows)
    done = sum(r.status == "ok" for r in stopped.rows)
    print(
        f"  Stop: {both.count()} specifications requested, Stop pressed at {request_after:.0f} s; seen by the runner "
        f"{seen[0] - clock - request_after:.1f} s later (one specification at most), result returned "
        f"{1000 * (returned - seen[0]):.0f} ms after that; {done} finished, {kept} kept as 'stopped'"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--naive-sample", type=int, default=None, help="time the naive loop on N specs and scale")
    parser.add_argument("--million-rows", type=int, default=1_000_000)
    parser.add_argument("--skip-million", action="store_true")
    args = parser.parse_args()
    part_one(args.naive_sample)
    if not args.skip_million:
        part_two(args.million_rows)


if __name__ == "__main__":
    main()
