"""The estimators: naive, regression, g-computation, IPW, AIPW, with their standard errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import expit

from causal_core.estimation.constants import Z95
from causal_core.estimation.design import Design
from causal_core.estimation.fitting import (
    LogitFit,
    OLSFit,
    _sym_inverse,
    _with_intercept,
    coefficient_se,
    logit,
    ols,
    weighted_gram,
)
from causal_core.project import (
    EstimateRow,
)


# ---------------------------------------------------------------------------------------------
# Estimators
# ---------------------------------------------------------------------------------------------
def _row(method: str, estimand: str, estimate: float, se: float | None, n: int, se_type: str) -> EstimateRow:
    finite = se is not None and np.isfinite(se)
    return EstimateRow(
        method=method,
        estimand=estimand,
        estimate=float(estimate),
        std_error=float(se) if finite else None,
        ci_low=float(estimate - Z95 * se) if finite else None,
        ci_high=float(estimate + Z95 * se) if finite else None,
        n_used=int(n),
        se_type=se_type,
    )


def _if_se(influence: np.ndarray, clusters: np.ndarray | None, n_clusters: int) -> tuple[float, str]:
    """SE of a mean-type estimator from its influence values (ddof = 1, as N01; clustered sums with G/(G−1))."""
    n = influence.size
    if clusters is not None:
        sums = np.bincount(clusters, weights=influence, minlength=n_clusters)
        return float(
            np.sqrt(n_clusters / (n_clusters - 1) * np.sum(sums**2)) / n
        ), f"cluster-robust IF ({n_clusters} clusters)"
    return float(np.sqrt(np.sum(influence**2) / (n - 1)) / np.sqrt(n)), "influence function"


def naive_difference(design: Design, estimand: str) -> EstimateRow:
    """Difference in means with a Welch SE: what the raw comparison says (the same number for every estimand)."""
    t = design.t.astype(bool)
    y1, y0 = design.y[t], design.y[~t]
    estimate = y1.mean() - y0.mean()
    se = np.sqrt(y1.var(ddof=1) / y1.size + y0.var(ddof=1) / y0.size)
    return _row("naive", estimand, estimate, se, design.n, "Welch")


def regression(design: Design, estimand: str) -> tuple[EstimateRow, dict[str, Any]]:
    """OLS/LPM of y on [1, t, X]; the treatment coefficient assumes a constant effect (so it is the same for every estimand)."""
    A = _with_intercept(design.t, design.X)
    fit = ols(A, design.y)
    se, se_type = coefficient_se(A, fit, 1, design.clusters, design.n_clusters)
    sigma2 = float(fit.resid @ fit.resid / fit.dof)
    classical_se = float(np.sqrt(sigma2 * fit.inverse[1, 1]))
    info = {
        "coefficient": float(fit.beta[1]),
        "classical_se": classical_se,
        "robust_se": se,
        "t_stat": float(fit.beta[1] / classical_se),
        "dof": fit.dof,
    }
    return _row("regression", estimand, fit.beta[1], se, design.n, se_type), info


def _target_weights(t: np.ndarray, estimand: str) -> np.ndarray:
    """Which rows define the target population: all (ATE), treated (ATT), controls (ATC)."""
    if estimand == "ATT":
        return t
    if estimand == "ATC":
        return 1 - t
    return np.ones_like(t)


def gcomputation(design: Design, estimand: str) -> EstimateRow:
    """Lin's fully interacted regression: y ~ t + Xc + t·Xc with X centred on the target population.

    The treatment coefficient is then the g-computation estimate of the chosen estimand (equal to
    fitting one linear model per arm and averaging the predicted differences over the target rows).
    """
    target = _target_weights(design.t, estimand).astype(bool)
    centred = design.X - design.X[target].mean(axis=0) if design.X.shape[1] else design.X
    A = _with_intercept(design.t, centred, design.t[:, None] * centred)
    gram = weighted_gram(A)
    keep = _independent_columns(gram)
    if len(keep) < A.shape[1]:
        A, gram = A[:, keep], gram[np.ix_(keep, keep)]
    inverse = _sym_inverse(gram)
    beta = inverse @ (A.T @ design.y)
    fit = OLSFit(beta=beta, inverse=inverse, resid=design.y - A @ beta, dof=int(A.shape[0] - A.shape[1]))
    se, se_type = coefficient_se(A, fit, 1, design.clusters, design.n_clusters)
    return _row("gcomp", estimand, fit.beta[1], se, design.n, se_type)


def _independent_columns(gram: np.ndarray) -> list[int]:
    """Greedy, order-preserving selection of linearly independent columns (interactions with empty cells)."""
    kept: list[int] = []
    for j in range(gram.shape[1]):
        if not kept:
            kept.append(j)
            continue
        sub, cross = gram[np.ix_(kept, kept)], gram[kept, j]
        residual = gram[j, j] - cross @ np.linalg.lstsq(sub, cross, rcond=None)[0]
        if residual > 1e-9 * max(gram[j, j], 1e-12):
            kept.append(j)
    return kept


@dataclass
class Propensity:
    raw: np.ndarray  # fitted e(x)
    clipped: np.ndarray
    inside: np.ndarray  # rows where clipping did not bind (the derivative of e wrt β is nonzero)
    fit: LogitFit
    A: np.ndarray  # [1, X]
    t: np.ndarray  # the treatment the model was fitted to


def propensity(design: Design, clip: tuple[float, float], l2: float = 0.0) -> Propensity:
    A = design.A1
    fit = logit(A, design.t, l2=l2)
    lo, hi = clip
    clipped = np.clip(fit.p, lo, hi)
    inside = (fit.p > lo) & (fit.p < hi)
    return Propensity(raw=fit.p, clipped=clipped, inside=inside, fit=fit, A=A, t=design.t)


def _ipw_weights(t: np.ndarray, e: np.ndarray, estimand: str) -> tuple[np.ndarray, np.ndarray]:
    """Arm weights (w1 for treated rows, w0 for controls) that reweight each arm to the target population."""
    if estimand == "ATT":
        return t, (1 - t) * e / (1 - e)
    if estimand == "ATC":
        return t * (1 - e) / e, 1 - t
    return t / e, (1 - t) / (1 - e)


def ipw(design: Design, ps: Propensity, estimand: str) -> EstimateRow:
    """Horvitz–Thompson IPW (N01 §11) with an SE that accounts for the estimated propensity (M-estimation).

    θ = mean((w1 − w0)·y) / mean(c), c = 1 (ATE), t (ATT), 1 − t (ATC). The propensity correction
    G·IF(β) uses d w/d η = −t(1−e)/e (treated weights) and (1−t)e/(1−e) (control weights), zero where
    clipping binds.
    """
    t, y, e = design.t, design.y, ps.clipped
    w1, w0 = _ipw_weights(t, e, estimand)
    c = _target_weights(t, estimand)
    c_bar = c.mean()
    estimate = float(np.mean((w1 - w0) * y) / c_bar)
    base = ((w1 - w0) * y - estimate * c) / c_bar
    inside = ps.inside.astype(float)
    d1 = -t * (1 - e) / e * inside if estimand in ("ATE", "ATC") else np.zeros_like(t)
    d0 = (1 - t) * e / (1 - e) * inside if estimand in ("ATE", "ATT") else np.zeros_like(t)
    gradient = ps.A.T @ ((d1 - d0) * y) / design.n / c_bar
    influence = base + _propensity_influence(ps, gradient)
    se, se_type = _if_se(influence, design.clusters, design.n_clusters)
    return _row("ipw", estimand, estimate, se, design.n, se_type)


def _propensity_influence(ps: Propensity, gradient: np.ndarray) -> np.ndarray:
    """G · IF(β̂)_i with IF(β̂)_i = (A'WA/n)^-1 a_i (t_i − e_i): the first-order effect of estimating the propensity.

    Computed as (A · (H/n)^-1 G) ⊙ (t − e), an O(n·k) product instead of forming the n×k influence matrix.
    """
    direction = _sym_inverse(ps.fit.hessian / ps.A.shape[0]) @ gradient
    return (ps.A @ direction) * (ps.t - ps.raw)


@dataclass
class OutcomeModels:
    m0: np.ndarray
    m1: np.ndarray
    separated: list[str]
    kind: str


def _fit_arm(
    A: np.ndarray, y: np.ndarray, rows: np.ndarray, predict: np.ndarray, binary: bool
) -> tuple[np.ndarray, bool]:
    """One arm's outcome model, predicted on `predict` rows; a constant outcome needs no model."""
    y_arm = y[rows]
    if binary and (y_arm.min() == y_arm.max()):
        return np.full(predict.size, y_arm[0]), True
    if binary:
        fit = logit(A[rows], y_arm)
        return expit(A[predict] @ fit.beta), fit.separated
    fit = ols(A[rows], y_arm)
    return A[predict] @ fit.beta, False


def outcome_models(design: Design, folds: np.ndarray | None = None) -> OutcomeModels:
    """Per-arm outcome models (logistic for 0/1 outcomes, linear otherwise), optionally cross-fitted."""
    A = design.A1
    n = design.n
    m0, m1 = np.empty(n), np.empty(n)
    separated: set[str] = set()
    fold_ids = [None] if folds is None else list(np.unique(folds))
    for fold in fold_ids:
        predict = np.arange(n) if fold is None else np.flatnonzero(folds == fold)
        train = np.ones(n, dtype=bool) if fold is None else folds != fold
        for arm, target in ((0, m0), (1, m1)):
            rows = np.flatnonzero(train & (design.t == arm))
            values, flag = _fit_arm(A, design.y, rows, predict, design.binary_outcome)
            target[predict] = values
            if flag:
                separated.add("treated" if arm else "control")
    kind = "logistic" if design.binary_outcome else "linear"
    return OutcomeModels(m0=m0, m1=m1, separated=sorted(separated), kind=kind)


def aipw_scores(
    design: Design, e: np.ndarray, models: OutcomeModels, estimand: str
) -> tuple[float, np.ndarray, dict[str, float]]:
    """AIPW estimate, its influence values and the arm means of the potential outcomes on the target rows."""
    t, y, m0, m1 = design.t, design.y, models.m0, models.m1
    if estimand == "ATE":
        mu1_i = m1 + t * (y - m1) / e
        mu0_i = m0 + (1 - t) * (y - m0) / (1 - e)
        psi = mu1_i - mu0_i
        estimate = float(psi.mean())
        return estimate, psi - estimate, {"treated": float(mu1_i.mean()), "control": float(mu0_i.mean())}
    if estimand == "ATT":
        share = t.mean()
        score = t * (y - m0) - (1 - t) * e / (1 - e) * (y - m0)
        estimate = float(score.mean() / share)
        y1 = float(np.mean(t * y) / share)
        return estimate, (score - t * estimate) / share, {"treated": y1, "control": y1 - estimate}
    share = (1 - t).mean()
    score = (1 - t) * (m1 - y) + t * (1 - e) / e * (y - m1)
    estimate = float(score.mean() / share)
    y0 = float(np.mean((1 - t) * y) / share)
    return estimate, (score - (1 - t) * estimate) / share, {"treated": y0 + estimate, "control": y0}


def crossfit_folds(n: int, k: int, seed: int) -> np.ndarray | None:
    if k < 2:
        return None
    return np.random.default_rng(seed).permutation(np.arange(n) % k)


def crossfit_propensity(design: Design, clip: tuple[float, float], folds: np.ndarray) -> np.ndarray:
    """Out-of-fold propensity scores for cross-fitted AIPW."""
    A = design.A1
    e = np.empty(design.n)
    for fold in np.unique(folds):
        train = folds != fold
        fit = logit(A[train], design.t[train])
        e[folds == fold] = expit(A[folds == fold] @ fit.beta)
    return np.clip(e, *clip)


def aipw(
    design: Design, e: np.ndarray, models: OutcomeModels, estimand: str, label: str = ""
) -> tuple[EstimateRow, dict[str, float]]:
    estimate, influence, arm_means = aipw_scores(design, e, models, estimand)
    se, se_type = _if_se(influence, design.clusters, design.n_clusters)
    return _row("aipw", estimand, estimate, se, design.n, se_type + label), arm_means


@dataclass
class CoreFit:
    """Everything the four estimators produced for one design (refutations reuse it)."""

    rows: list[EstimateRow]
    ps: Propensity | None = None
    models: OutcomeModels | None = None
    ipw_weights: np.ndarray | None = None
    regression_info: dict[str, Any] = field(default_factory=dict)
    arm_means: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def row(self, method: str) -> EstimateRow | None:
        return next((row for row in self.rows if row.method == method), None)


ALL_METHODS = ("naive", "regression", "gcomp", "ipw", "aipw")
