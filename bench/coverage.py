"""Monte Carlo coverage of every interval the Estimation page shows: bias, SE/SD ratio, 95 % CI coverage.

Run from the repository root as a module (the package is found on the working directory, no path hacks):

    .venv/bin/python -m bench.coverage               # quick smoke run (60 replications)
    .venv/bin/python -m bench.coverage --reps 500    # the table in the README (≈ 2–3 min on one core)
    .venv/bin/python -m bench.coverage --reps 500 --jobs 2 --json coverage.json
    .venv/bin/python -m bench.coverage --family 30 --reps 200 --seed 2026 --jobs 1   # random family (docs/coverage.md)

``--family N`` draws N designs at random from a family (``coverage_family.py``) and runs each replication
through ``run_estimation``, the page's own path, with the page's labels (``interval_note``); see that module.

Two designs, each run for ATE, ATT and ATC through the public estimation API (build_design + estimate_core,
the same code the page runs, diagnostics skipped):
* retention: N01's simulation (causal_core.data.datasets.simulate_retention), binary outcome, mild heterogeneity,
  n = 2,000 per replication; the truth is the population value from 1,000,000 simulated rows, using the
  true propensity and the true potential-outcome probabilities (no outcome noise in the truth);
* overlap: poor overlap (≈ 7 % of true propensities below 0.02 or above 0.98) and a strongly heterogeneous,
  heteroskedastic effect τ(x) = 1 + 1.5·x1 on a continuous outcome, n = 1,000; the outcome is linear in x
  within each arm and the propensity is logistic, so g-computation, IPW and AIPW are correctly specified,
  while the constant-effect regression coefficient is not an ATE/ATT/ATC at all (it is a variance-weighted
  average of τ(x));
* clustered (``--designs clustered``): 60 clusters × 20 rows, a cluster random effect in the outcome and a
  treatment correlated within clusters, τ(x) = 1 + 0.5·x1: every row's cluster-robust SE.

Variants beyond the default rows: AIPW 5-fold cross-fitted, and IPW with the book's fixed-weight robust SE.
Coverage's Monte Carlo standard error is √(c(1 − c)/reps) (≈ 0.0097 at c = 0.95, reps = 500), so a row whose
coverage is outside [0.93, 0.97] at 500 reps is off target by more than about 2 MC SEs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit

from causal_core import estimation as est
from causal_core.data.datasets import simulate_retention
from causal_core.project import EstimationSpec

ESTIMANDS = ("ATE", "ATT", "ATC")
TARGET = (0.93, 0.97)
RETENTION_N = 2_000
OVERLAP_N = 1_000
CLUSTERS, CLUSTER_SIZE = 60, 20
VARIANTS = {  # name -> (spec update, methods)
    "default": ({}, est.ALL_METHODS),
    "crossfit": ({"crossfit_folds": 5}, ("aipw",)),
    "fixed_weights": ({"ipw_se": "fixed_weights"}, ("ipw",)),
    "standardisation": ({"treatment_interactions": "{interact}"}, ("regression",)),
}


# ---------------------------------------------------------------------------------------------
# Designs: data for one replication and the population truth
# ---------------------------------------------------------------------------------------------
def retention_data(seed: int, n: int = RETENTION_N) -> pd.DataFrame:
    return simulate_retention(n, seed=seed)


def retention_truth() -> dict[str, float]:
    """Population ATE/ATT/ATC from 10⁶ rows: E[τ], E[e·τ]/E[e], E[(1−e)·τ]/E[1−e] with τ = p_with − p_without."""
    frame = simulate_retention(1_000_000, seed=20_260_101)
    tau = (frame["p_churn_with"] - frame["p_churn_without"]).to_numpy()
    e = frame["propensity_true"].to_numpy()
    return {"ATE": float(tau.mean()), "ATT": float((e * tau).sum() / e.sum()),
            "ATC": float(((1 - e) * tau).sum() / (1 - e).sum())}


def overlap_data(seed: int, n: int = OVERLAP_N) -> pd.DataFrame:
    """Poor overlap, heterogeneous and heteroskedastic effect; linear per-arm outcome, logistic propensity."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.standard_normal(n), rng.standard_normal(n)
    e = overlap_propensity(x1, x2)
    t = rng.binomial(1, e)
    noise = rng.standard_normal(n) * (1 + 0.5 * np.abs(x1))
    y = 1 + x1 + 0.5 * x2 + t * overlap_tau(x1) + noise
    return pd.DataFrame({"t": t, "y": y, "x1": x1, "x2": x2})


def overlap_propensity(x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
    return expit(-0.5 + 2.0 * x1 + 0.8 * x2)


def overlap_tau(x1: np.ndarray) -> np.ndarray:
    return 1 + 1.5 * x1


def overlap_truth() -> dict[str, float]:
    rng = np.random.default_rng(20_260_102)
    x1, x2 = rng.standard_normal(4_000_000), rng.standard_normal(4_000_000)
    e, tau = overlap_propensity(x1, x2), overlap_tau(x1)
    return {"ATE": 1.0, "ATT": float((e * tau).sum() / e.sum()), "ATC": float(((1 - e) * tau).sum() / (1 - e).sum())}


def clustered_data(seed: int, clusters: int = CLUSTERS, size: int = CLUSTER_SIZE) -> pd.DataFrame:
    """60 clusters of 20 rows: a cluster random effect in the outcome, treatment correlated within clusters."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(clusters), size)
    n = g.size
    c = rng.normal(0, 0.5, clusters)[g]
    x1, x2 = c + rng.standard_normal(n), rng.standard_normal(n)
    t = rng.binomial(1, clustered_propensity(x1, x2, c))
    u = rng.standard_normal(clusters)[g]
    y = 1 + x1 + 0.5 * x2 + u + t * clustered_tau(x1) + rng.standard_normal(n)
    return pd.DataFrame({"t": t, "y": y, "x1": x1, "x2": x2, "g": g})


def clustered_propensity(x1: np.ndarray, x2: np.ndarray, c: np.ndarray) -> np.ndarray:
    return expit(-0.3 + 0.6 * x1 + 0.8 * c + 0.4 * x2)


def clustered_tau(x1: np.ndarray) -> np.ndarray:
    return 1 + 0.5 * x1


def clustered_truth() -> dict[str, float]:
    rng = np.random.default_rng(20_260_103)
    c = rng.normal(0, 0.5, 4_000_000)
    x1, x2 = c + rng.standard_normal(c.size), rng.standard_normal(c.size)
    e, tau = clustered_propensity(x1, x2, c), clustered_tau(x1)
    return {"ATE": 1.0, "ATT": float((e * tau).sum() / e.sum()), "ATC": float(((1 - e) * tau).sum() / (1 - e).sum())}


DESIGNS = {
    "retention": (retention_data, retention_truth,
                  {"treatment": "outreach", "outcome": "churn", "covariates": est.N01_COVARIATES}, "health_score"),
    "overlap": (overlap_data, overlap_truth, {"treatment": "t", "outcome": "y", "covariates": ["x1", "x2"]}, "x1"),
    "clustered": (clustered_data, clustered_truth,
                  {"treatment": "t", "outcome": "y", "covariates": ["x1", "x2"], "cluster": "g"}, "x1"),
}
DEFAULT_DESIGNS = ("retention", "overlap")


# ---------------------------------------------------------------------------------------------
# One replication → rows; many → the table
# ---------------------------------------------------------------------------------------------
def replicate(task: tuple[str, int]) -> list[dict]:
    """Every interval the page would show on one simulated data set, for every estimand and variant."""
    name, seed = task
    make, _, roles, interact = DESIGNS[name]
    frame = make(seed)
    out = []
    for estimand in ESTIMANDS:
        for variant, (update, methods) in VARIANTS.items():
            update = {key: value.format(interact=interact) if isinstance(value, str) else value
                      for key, value in update.items()}
            spec = EstimationSpec(**roles, estimand=estimand, seed=seed, **update)
            core = est.estimate_core(est.build_design(frame, spec), spec, methods)
            beyond = float(np.mean((core.ps.raw < spec.clip[0]) | (core.ps.raw > spec.clip[1]))) if core.ps else None
            for row in core.rows:
                out.append({"design": name, "estimand": estimand, "variant": variant, "method": row.method,
                            "row_estimand": row.estimand, "se_type": row.se_type, "label": row.label,
                            "estimate": row.estimate, "std_error": row.std_error, "ci_low": row.ci_low,
                            "ci_high": row.ci_high, "beyond_clip": beyond})
    return out


def run(reps: int, jobs: int, designs: Iterable[str], seed0: int = 1_000) -> pd.DataFrame:
    tasks = [(name, seed0 + rep) for name in designs for rep in range(reps)]
    results: list[list[dict]] = []
    step = max(1, len(tasks) // 10)
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for rows in pool.map(replicate, tasks, chunksize=max(1, len(tasks) // (8 * jobs))):
                results.append(rows)
                _progress(len(results), len(tasks), step)
    else:
        for task in tasks:
            results.append(replicate(task))
            _progress(len(results), len(tasks), step)
    return pd.DataFrame([row for rows in results for row in rows])


def _progress(done: int, total: int, step: int) -> None:
    """A line on stderr every tenth of the run, so a long run shows it is alive (stdout stays the table)."""
    if done % step == 0 or done == total:
        print(f"  {done}/{total} replications", file=sys.stderr, flush=True)


def summarise(draws: pd.DataFrame, truths: dict[str, dict[str, float]]) -> pd.DataFrame:
    """Per (design, estimand, method, SE type): bias, SD, mean SE, SE/SD, coverage and its MC SE."""
    draws = draws.assign(truth=[truths[d][e] for d, e in zip(draws["design"], draws["estimand"], strict=True)])
    draws["covered"] = (draws["ci_low"] <= draws["truth"]) & (draws["truth"] <= draws["ci_high"])
    keys = ["design", "estimand", "method", "se_type", "label"]
    table = draws.groupby(keys, sort=False).agg(
        reps=("estimate", "size"), row_estimand=("row_estimand", "first"), truth=("truth", "first"),
        mean=("estimate", "mean"), sd=("estimate", "std"), beyond_clip=("beyond_clip", "mean"),
        mean_se=("std_error", "mean"), coverage=("covered", "mean"),
    ).reset_index()
    table["bias"] = table["mean"] - table["truth"]
    table["se_sd"] = table["mean_se"] / table["sd"]
    table["coverage_mcse"] = np.sqrt(table["coverage"] * (1 - table["coverage"]) / table["reps"])
    table["on_target"] = table["coverage"].between(*TARGET)
    return table


def markdown(table: pd.DataFrame) -> str:
    lines = [
        "| design | target | method [row's own estimand] | SE type | bias | SE/SD | coverage (± MC SE) | in [0.93, 0.97] |",
        "|---|---|---|---|---:|---:|---:|:---:|",
    ]
    for row in table.itertuples():
        method = row.method if row.row_estimand == row.estimand else f"{row.method} [{row.row_estimand}]"
        method += " (standardisation)" if str(row.label).startswith("Regression standardisation") else ""
        lines.append(
            f"| {row.design} | {row.estimand} | {method} | {row.se_type} | {row.bias:+.4f} | {row.se_sd:.2f} | "
            f"{row.coverage:.3f} ± {row.coverage_mcse:.3f} | {'yes' if row.on_target else '**no**'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=60, help="replications per design (500 for the README table)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (the machine's cores are shared)")
    parser.add_argument("--designs", default=",".join(DEFAULT_DESIGNS),
                        help=f"comma-separated, of {', '.join(DESIGNS)} (default: {', '.join(DEFAULT_DESIGNS)})")
    parser.add_argument("--json", metavar="FILE", help="also write the summary table as JSON")
    parser.add_argument("--family", type=int, default=0, metavar="N",
                        help="draw N designs at random from the family instead (see bench/coverage_family.py)")
    parser.add_argument("--seed", type=int, default=2026, help="the family's seed (designs and replications)")
    args = parser.parse_args(argv)
    if args.family:
        from bench.coverage_family import main as family_main

        return family_main(args.family, args.reps, args.seed, args.jobs, args.json)
    designs = [name for name in args.designs.split(",") if name]
    clock = time.perf_counter()
    truths = {name: DESIGNS[name][1]() for name in designs}
    draws = run(args.reps, args.jobs, designs)
    table = summarise(draws, truths)
    seconds = time.perf_counter() - clock
    print(f"# Coverage: {args.reps} replications per design, {seconds:.1f} s, {args.jobs} job(s)")
    for name in designs:
        beyond = draws.loc[draws["design"] == name, "beyond_clip"].mean()
        print(f"# truth {name}: " + ", ".join(f"{k} {v:+.4f}" for k, v in truths[name].items())
              + f"; mean share of estimated propensities beyond the clip bounds {beyond:.1%}")
    print(markdown(table))
    if args.json:
        Path(args.json).write_text(json.dumps({"reps": args.reps, "truths": truths,
                                               "rows": table.to_dict(orient="records")}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
