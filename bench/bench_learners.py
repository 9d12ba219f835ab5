"""Benchmark: seconds per nuisance learner (one cross-fitting fold) on 100k and 1M rows, and a full cross-fit.

    .venv/bin/python bench/bench_learners.py [--rows 100000,1000000] [--full-rows N] [--stop-rows 1000000]
        [--stop-after 3]
    .venv/bin/python bench/bench_learners.py --rows "" --stop-rows 0 --coverage 200 [--coverage-n 1000]

Data: the N01 retention simulation (binary outcome churn, 7 covariates, 2 categorical → 13 design columns).
For each learner, one fit on a training fold (4/5 of the rows; for an outcome learner: the control arm of
that fold, the larger one) plus its prediction on the held-out fold, and the ratio against the exact
default fit measured in the same process. A 5-fold cross-fit is 5 × (1 propensity + 2 outcome fits).
Then (``--full-rows``) one full boosting/boosting cross-fit, printing progress per fit, and (``--stop-rows``) one
run stopped through ``should_stop`` after ``--stop-after`` fits (the time for the stop to land is printed).
A continuous outcome (``--continuous``) uses the regressors instead of the classifiers.
``--coverage R``: Monte Carlo bias, SE/SD and 95 % CI coverage of IPW and AIPW (boosting/boosting, cross-fitted)
against the linear defaults on the nonlinear design of tests/test_estimation_learners.py (true ATE 1), R replications.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from causal_core import estimation as est
from causal_core.data.datasets import simulate_retention
from causal_core.estimation import learners
from causal_core.project import EstimationSpec

ROOT = Path(__file__).resolve().parents[1]

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
    learners._guarded("propensity", 0, 5, learners._propensity_fit, design, spec, train, test)  # as the app runs it
    return time.perf_counter() - clock


def _time_outcome(design: est.Design, name: str, train: np.ndarray, test: np.ndarray) -> float:
    spec = SPEC.model_copy(update={"outcome_learner": name})
    rows = train[design.t[train] == 0]
    clock = time.perf_counter()
    learners._guarded("outcome", 0, 5, learners._outcome_fit, design, spec, rows, test, 0, learners.DEFAULT_FOLDS)
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


BOOSTING = SPEC.model_copy(update={"ps_learner": "boosting", "outcome_learner": "boosting"})


def full_crossfit(rows: int, continuous: bool) -> None:
    """One complete 5-fold boosting/boosting cross-fit, printing the progress messages the page shows."""
    design = _design(rows, continuous)
    start = time.perf_counter()

    def progress(fraction: float, message: str) -> None:
        if message.startswith("Fold "):
            print(f"  {time.perf_counter() - start:7.1f} s  {fraction:5.0%}  {message}", flush=True)

    print(f"\nFull 5-fold boosting/boosting cross-fit on {rows:,} rows (progress per fit):")
    core = est.CoreFit(rows=[])
    learners.fit_with_learners(core, design, BOOSTING, ("ipw", "aipw"), progress=progress)
    total = time.perf_counter() - start
    aipw = core.row("aipw")
    print(f"total {total:.1f} s; AIPW {aipw.estimate:+.4f} (SE {aipw.std_error:.4f})")


def stop_demo(rows: int, stop_after: int, continuous: bool) -> None:
    """A boosting cross-fit stopped through should_stop after a few fits: how long the stop takes to land."""
    design = _design(rows, continuous)
    fits = {"done": 0, "last": 0.0}
    start = time.perf_counter()

    def count(fraction: float, message: str) -> None:
        if message.endswith("model fits done"):
            fits["done"] += 1
            fits["last"] = time.perf_counter() - start
            print(f"  {fits['last']:7.1f} s  {message}", flush=True)

    print(f"\nBoosting cross-fit on {rows:,} rows, stop requested once {stop_after} fits are done:")
    try:
        learners.fit_with_learners(
            est.CoreFit(rows=[]), design, BOOSTING, ("ipw", "aipw"), progress=count,
            should_stop=lambda: fits["done"] >= stop_after,
        )
    except learners.LearnerStopped as stopped:
        landed = time.perf_counter() - start - fits["last"]
        print(f"stopped {landed:.3f} s after the request (between fits): {stopped}")


def nonlinear_frame(n: int, seed: int):
    """The test suite's design: treatment and outcome depend on x1² (invisible to linear-in-x models)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    x1, x2 = rng.uniform(-2, 2, n), rng.uniform(-2, 2, n)
    e = 1 / (1 + np.exp(-(1.8 * x1**2 - 2.4 + 0.3 * x2)))
    t = rng.binomial(1, e)
    y = t + 3 * np.sin(1.5 * x1) ** 2 + 1.5 * x1**2 + x2 + rng.normal(0, 1, n)
    return pd.DataFrame({"t": t, "y": y, "x1": x1, "x2": x2})


def coverage(replications: int, n: int) -> None:
    """Bias, SE/SD ratio and 95 % CI coverage of the IPW and AIPW rows per learner choice (truth = 1)."""
    choices = {"linear": ("logistic", "linear"), "boosting (5-fold)": ("boosting", "boosting")}
    estimates: dict[str, list[tuple[float, float, float, float]]] = {}
    start = time.perf_counter()
    for replication in range(replications):
        frame = nonlinear_frame(n, 1000 + replication)
        for name, (ps, outcome) in choices.items():
            spec = EstimationSpec(treatment="t", outcome="y", covariates=["x1", "x2"], ps_learner=ps,
                                  outcome_learner=outcome)
            core = est.estimate_core(est.build_design(frame, spec), spec, methods=("ipw", "aipw"))
            for method in ("ipw", "aipw"):
                row = core.row(method)
                estimates.setdefault(f"{method.upper()} {name}", []).append(
                    (row.estimate, row.std_error, row.ci_low, row.ci_high))
    seconds = time.perf_counter() - start
    print(f"\nMonte Carlo, nonlinear design, n = {n:,}, {replications} replications ({seconds:.0f} s), true ATE 1")
    print(f"{'estimator':<26}{'bias':>9}{'SD':>8}{'mean SE':>9}{'SE/SD':>7}{'coverage':>10}")
    for name, values in estimates.items():
        array = np.array(values)
        sd = array[:, 0].std(ddof=1)
        covered = np.mean((array[:, 2] <= 1) & (array[:, 3] >= 1))
        print(f"{name:<26}{array[:, 0].mean() - 1:>+9.3f}{sd:>8.3f}{array[:, 1].mean():>9.3f}"
              f"{array[:, 1].mean() / sd:>7.2f}{covered:>10.1%}")
    print(f"(coverage MC SE ≈ {np.sqrt(0.95 * 0.05 / replications):.1%})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100000,1000000")
    parser.add_argument("--full-rows", type=int, default=0, help="a full boosting cross-fit (0 = skip)")
    parser.add_argument("--stop-rows", type=int, default=1_000_000, help="the stop demonstration (0 = skip)")
    parser.add_argument("--stop-after", type=int, default=3)
    parser.add_argument("--continuous", action="store_true", help="a continuous outcome (regressors)")
    parser.add_argument("--coverage", type=int, default=0, metavar="R", help="Monte Carlo replications (0 = skip)")
    parser.add_argument("--coverage-n", type=int, default=1000)
    args = parser.parse_args()
    for rows in (int(value) for value in args.rows.split(",") if value):
        per_learner_table(rows, args.continuous)
    if args.full_rows:
        full_crossfit(args.full_rows, args.continuous)
    if args.stop_rows:
        stop_demo(args.stop_rows, args.stop_after, args.continuous)
    if args.coverage:
        coverage(args.coverage, args.coverage_n)


if __name__ == "__main__":
    main()
