"""Benchmark: seconds per nuisance learner (one cross-fitting fold) on 100k and 1M rows, and a full cross-fit.

    .venv/bin/python bench/bench_learners.py [--rows 100000,1000000] [--full-rows 1000000] [--stop-after 3]

Data: the N01 retention simulation (binary outcome churn, 7 covariates, 2 categorical → 13 design columns).
For each learner, one fit on a training fold (4/5 of the rows; for an outcome learner: the control arm of
that fold, the larger one) plus its prediction on the held-out fold, and the ratio against the exact
default fit measured in the same process. A 5-fold cross-fit is 5 × (1 propensity + 2 outcome fits).
Then one full boosting/boosting cross-fit on ``--full-rows`` rows, printing progress per fit, and one run
stopped through ``should_stop`` after ``--stop-after`` fits (the time to stop is printed).
A continuous outcome (``--continuous``) uses the regressors instead of the classifiers.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from causal_core import estimation as est  # noqa: E402
from causal_core.datasets import simulate_retention  # noqa: E402
from causal_core.estimation import learners  # noqa: E402
from causal_core.project import EstimationSpec  # noqa: E402

SPEC = EstimationSpec(
    treatment="outreach", outcome="churn", covariates=est.N01_COVARIATES, categorical=est.N01_CATEGORICAL
)


def _design(rows: int, continuous: bool) -> est.Design:
    frame = simulate_retention(n=rows, seed=7)
    if continuous:
        noise = np.random.default_rng(1).normal(0, 0.1, rows)
        frame["churn"] = frame["p_churn_without"] + frame["outreach"] * frame["true_individual_effect"] + noise
    return est.build_design(frame, SPEC)


def _one_fold(design: est.Design) -> tuple[np.ndarray, np.ndarray]:
    folds = learners.stratified_folds(design, learners.DEFAULT_FOLDS, SPEC.seed)
    return np.flatnonzero(folds != 0), np.flatnonzero(folds == 0)


def _time_propensity(design: est.Design, name: str, train: np.ndarray, test: np.ndarray) -> float:
    spec = SPEC.model_copy(update={"ps_learner": name})
    clock = time.perf_counter()
    learners._propensity_fit(design, spec, train, test)
    return time.perf_counter() - clock


def _time_outcome(design: est.Design, name: str, train: np.ndarray, test: np.ndarray) -> float:
    spec = SPEC.model_copy(update={"outcome_learner": name})
    rows = train[design.t[train] == 0]
    clock = time.perf_counter()
    learners._outcome_fit(design, spec, rows, test, 0, learners.DEFAULT_FOLDS)
    return time.perf_counter() - clock


def per_learner_table(rows: int, continuous: bool) -> None:
    design = _design(rows, continuous)
    train, test = _one_fold(design)
    print(f"\n{rows:,} rows ({design.X.shape[1]} design columns), one fold: fit on {train.size:,}, predict {test.size:,}")
    print(f"{'model':<12}{'learner':<14}{'seconds':>10}{'× exact':>10}{'5-fold est.':>14}")
    base = _time_propensity(design, "logistic", train, test)
    for name in learners.PS_LEARNERS:
        seconds = base if name == "logistic" else _time_propensity(design, name, train, test)
        print(f"{'propensity':<12}{name:<14}{seconds:>10.2f}{seconds / base:>10.1f}{5 * seconds:>14.1f}")
    base = _time_outcome(design, "linear", train, test)
    for name in learners.OUTCOME_LEARNERS:
        seconds = base if name == "linear" else _time_outcome(design, name, train, test)
        print(f"{'outcome arm':<12}{name:<14}{seconds:>10.2f}{seconds / base:>10.1f}{10 * seconds:>14.1f}")


def full_crossfit(rows: int, stop_after: int, continuous: bool) -> None:
    design = _design(rows, continuous)
    spec = SPEC.model_copy(update={"ps_learner": "boosting", "outcome_learner": "boosting"})
    start = time.perf_counter()

    def progress(fraction: float, message: str) -> None:
        print(f"  {time.perf_counter() - start:7.1f} s  {fraction:5.0%}  {message}")

    print(f"\nFull 5-fold boosting/boosting cross-fit on {rows:,} rows (progress per fit):")
    core = est.CoreFit(rows=[])
    learners.fit_with_learners(core, design, spec, ("ipw", "aipw"), progress=progress)
    total = time.perf_counter() - start
    aipw = core.row("aipw")
    print(f"total {total:.1f} s; AIPW {aipw.estimate:+.4f} (SE {aipw.std_error:.4f})")

    fits = {"done": 0}

    def count(fraction: float, message: str) -> None:
        if message.endswith("model fits done"):
            fits["done"] += 1

    start = time.perf_counter()
    try:
        learners.fit_with_learners(
            est.CoreFit(rows=[]), design, spec, ("ipw", "aipw"), progress=count,
            should_stop=lambda: fits["done"] >= stop_after,
        )
    except learners.LearnerStopped as stopped:
        print(f"stop requested after {stop_after} fits: stopped at {time.perf_counter() - start:.1f} s — {stopped}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100000,1000000")
    parser.add_argument("--full-rows", type=int, default=1_000_000, help="0 = skip the full cross-fit")
    parser.add_argument("--stop-after", type=int, default=3)
    parser.add_argument("--continuous", action="store_true", help="a continuous outcome (regressors)")
    args = parser.parse_args()
    for rows in (int(value) for value in args.rows.split(",") if value):
        per_learner_table(rows, args.continuous)
    if args.full_rows:
        full_crossfit(args.full_rows, args.stop_after, args.continuous)


if __name__ == "__main__":
    main()
