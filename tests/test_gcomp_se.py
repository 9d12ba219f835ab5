"""g-computation and regression standardisation: the SE from the full influence function (issue 23, item 1).

The old SE held the target rows' covariate mean fixed, so it measured the spread of the effect at the *sample*
mean only and left out Var(τ̂(X))/n: on τ(x) = 1 + 2·x1 it was 0.60–0.73 of the true SD and covered 0.84.
These tests compare the new SE with a seeded nonparametric bootstrap (rows, or whole clusters) and measure its
coverage of the *population* effect over small Monte Carlo families.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from causal_core import estimation as est
from causal_core.project import EstimationSpec

BOOTSTRAP_REPS = 400
COVERAGE_REPS = 200


def heterogeneous(seed: int, n: int = 500) -> pd.DataFrame:
    """i.i.d. rows, both arm models linear (so g-computation is correctly specified), τ(x) = 1 + 2·x1."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.standard_normal(n), rng.standard_normal(n)
    t = rng.binomial(1, heterogeneous_propensity(x1, x2))
    y = x1 + 0.5 * x2 + t * (1 + 2 * x1) + rng.standard_normal(n)
    return pd.DataFrame({"t": t, "y": y, "x1": x1, "x2": x2})


def heterogeneous_propensity(x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
    return expit(0.3 + 0.6 * x1 - 0.3 * x2)


def heterogeneous_truth(estimand: str) -> float:
    """E[τ] = 1; ATT/ATC = E[e·τ]/E[e] and E[(1−e)·τ]/E[1−e] on 4·10⁶ draws (MC error < 0.002)."""
    rng = np.random.default_rng(99)
    x1, x2 = rng.standard_normal(4_000_000), rng.standard_normal(4_000_000)
    e, tau = heterogeneous_propensity(x1, x2), 1 + 2 * x1
    weight = {"ATE": np.ones_like(e), "ATT": e, "ATC": 1 - e}[estimand]
    return float(np.sum(weight * tau) / np.sum(weight))


def clustered(seed: int, clusters: int = 60, size: int = 20) -> pd.DataFrame:
    """60 clusters, a cluster-level effect modifier w (τ = 1 + 1.5·w) and a cluster random effect u: ATE = 1."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(clusters), size)
    w = rng.standard_normal(clusters)[g]
    x1 = rng.standard_normal(g.size) + 0.5 * w
    t = rng.binomial(1, expit(0.4 * x1))
    y = x1 + w + rng.standard_normal(clusters)[g] + t * (1 + 1.5 * w) + rng.standard_normal(g.size)
    return pd.DataFrame({"t": t, "y": y, "x1": x1, "w": w, "g": g})


IID_SPEC = {"treatment": "t", "outcome": "y", "covariates": ["x1", "x2"]}
CLUSTER_SPEC = {"treatment": "t", "outcome": "y", "covariates": ["x1", "w"], "cluster": "g"}


def _design(frame: pd.DataFrame, roles: dict, estimand: str, **extra) -> est.Design:
    return est.build_design(frame, EstimationSpec(**roles, estimand=estimand, **extra))


def _bootstrap_sd(design: est.Design, estimator, seed: int) -> float:
    """SD of the estimator over resampled rows (or whole clusters when the design has clusters)."""
    rng = np.random.default_rng(seed)
    if design.clusters is None:
        draws = [rng.integers(0, design.n, design.n) for _ in range(BOOTSTRAP_REPS)]
    else:
        members = [np.flatnonzero(design.clusters == g) for g in range(design.n_clusters)]
        draws = [np.concatenate([members[g] for g in rng.integers(0, design.n_clusters, design.n_clusters)])
                 for _ in range(BOOTSTRAP_REPS)]
    return float(np.std([estimator(design.subset(rows)).estimate for rows in draws], ddof=1))


@pytest.mark.parametrize("estimand", ["ATE", "ATT", "ATC"])
@pytest.mark.parametrize(("make", "roles"), [(heterogeneous, IID_SPEC), (clustered, CLUSTER_SPEC)],
                         ids=["iid-heterogeneous", "60-clusters-cluster-modifier"])
def test_gcomputation_se_matches_the_bootstrap(make, roles, estimand):
    """The analytic SE is within 10 % of a 400-replicate bootstrap SD (bootstrap SD's own error ≈ 3.5 %)."""
    design = _design(make(7), roles, estimand)
    row = est.gcomputation(design, estimand)
    boot = _bootstrap_sd(design, lambda d: est.gcomputation(d, estimand), seed=11)
    assert row.std_error == pytest.approx(boot, rel=0.10)


def test_gcomputation_se_grows_by_the_effect_spread():
    """Without heterogeneity the spread term is zero: the SE is the old coefficient SE (HC3) to the digit."""
    frame = heterogeneous(3)
    frame["y"] = frame["x1"] + 0.5 * frame["x2"] + frame["t"] + np.random.default_rng(303).standard_normal(len(frame))
    design = _design(frame, IID_SPEC, "ATE")
    row = est.gcomputation(design, "ATE")
    A = np.column_stack([np.ones(design.n), design.t, design.X - design.X.mean(0),
                         design.t[:, None] * (design.X - design.X.mean(0))])
    fit = est.fitting.ols(A, design.y)
    coefficient_only, _ = est.fitting.coefficient_se(A, fit, 1)
    assert row.std_error == pytest.approx(coefficient_only, rel=0.05)  # only the fitted γ's noise spreads τ̂(x)
    hetero = _design(heterogeneous(3), IID_SPEC, "ATE")
    A = np.column_stack([np.ones(hetero.n), hetero.t, hetero.X - hetero.X.mean(0),
                         hetero.t[:, None] * (hetero.X - hetero.X.mean(0))])
    coefficient_only, _ = est.fitting.coefficient_se(A, est.fitting.ols(A, hetero.y), 1)
    assert est.gcomputation(hetero, "ATE").std_error > 1.2 * coefficient_only  # τ = 1 + 2·x1: Var(τ(X)) = 4


def test_standardisation_se_matches_the_bootstrap():
    """Regression standardisation (y ~ t + X + t·x1) on the heterogeneous design: same full IF, same check."""
    frame = heterogeneous(8)
    design = _design(frame, IID_SPEC, "ATT", treatment_interactions="x1")
    row, _ = est.regression(design, "ATT")
    assert row.label.startswith("Regression standardisation")
    boot = _bootstrap_sd(design, lambda d: est.regression(d, "ATT")[0], seed=12)
    assert row.std_error == pytest.approx(boot, rel=0.10)


def _coverage(make, roles, estimand: str, truth: float) -> float:
    hits = 0
    for seed in range(COVERAGE_REPS):
        row = est.gcomputation(_design(make(1_000 + seed), roles, estimand), estimand)
        hits += row.ci_low <= truth <= row.ci_high
    return hits / COVERAGE_REPS


@pytest.mark.parametrize("estimand", ["ATE", "ATT"])
def test_gcomputation_covers_the_population_effect_iid(estimand):
    """Coverage over 200 replications of the heterogeneous design.

    Monte Carlo SE of a coverage near 0.95 at 200 reps is √(0.95·0.05/200) ≈ 0.015, so [0.91, 0.985] is about
    ±2.5 MC SEs: the old SE (0.84 measured at 1,000 reps) fails it, a calibrated SE passes it with ≈ 99 %.
    """
    coverage = _coverage(heterogeneous, IID_SPEC, estimand, heterogeneous_truth(estimand))
    assert 0.91 <= coverage <= 0.985, coverage


def test_gcomputation_covers_the_population_effect_with_60_clusters():
    """60 clusters with a cluster-level modifier: the old SE covered 0.76; MC SE at 200 reps ≈ 0.015."""
    coverage = _coverage(clustered, CLUSTER_SPEC, "ATE", 1.0)
    assert 0.91 <= coverage <= 0.985, coverage
