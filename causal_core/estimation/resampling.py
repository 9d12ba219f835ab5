"""Bootstrap, vectorised over replicates (batched Newton fits with resampling weights)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit

from causal_core.estimation.constants import MAX_BOOTSTRAP, EstimationError, ProgressFn, StopFn
from causal_core.estimation.design import Design
from causal_core.estimation.estimators import CoreFit, _ipw_weights, _row, effective_bounds
from causal_core.estimation.fitting import logit
from causal_core.methods import Estimand, parse_estimand
from causal_core.project import (
    EstimationSpec,
)


# ---------------------------------------------------------------------------------------------
# Bootstrap (vectorised over replicates: batched Newton fits with resampling weights)
# ---------------------------------------------------------------------------------------------
def _resample_weights(
    rng: np.random.Generator, n: int, size: int, clusters: np.ndarray | None, n_clusters: int
) -> np.ndarray:
    """Bootstrap counts as weights (size × n); with clusters, whole clusters are resampled."""
    if clusters is not None:
        draws = rng.integers(0, n_clusters, size=(size, n_clusters))
        counts = np.stack([np.bincount(row, minlength=n_clusters) for row in draws]).astype(float)
        return counts[:, clusters]
    draws = rng.integers(0, n, size=(size, n)) + (np.arange(size) * n)[:, None]
    return np.bincount(draws.ravel(), minlength=size * n).reshape(size, n).astype(float)


def _batched_logit(A: np.ndarray, y: np.ndarray, W: np.ndarray, beta0: np.ndarray, iterations: int = 25) -> np.ndarray:
    """Weighted logistic fits for every replicate at once (rows of W), Newton from the full-sample fit."""
    beta = np.tile(beta0, (W.shape[0], 1))
    ridge = 1e-10 * np.eye(A.shape[1])
    for _ in range(iterations):
        p = expit(beta @ A.T)
        grad = (W * (y - p)) @ A
        hess = np.matmul((A[None, :, :] * (W * p * (1 - p))[:, :, None]).transpose(0, 2, 1), A) + ridge
        step = np.linalg.solve(hess, grad[:, :, None])[:, :, 0]
        step = np.clip(step, -5, 5)
        beta += step
        if np.max(np.abs(step)) < 1e-9:
            break
    return beta


def _batched_ols(A: np.ndarray, y: np.ndarray, W: np.ndarray) -> np.ndarray:
    weighted = A[None, :, :] * W[:, :, None]
    gram = np.matmul(weighted.transpose(0, 2, 1), A) + 1e-10 * np.eye(A.shape[1])
    return np.linalg.solve(gram, (weighted.transpose(0, 2, 1) @ y)[:, :, None])[:, :, 0]


def _replicate_estimates(
    design: Design, spec: EstimationSpec, core: CoreFit, W: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """IPW and AIPW re-estimated (propensity and outcome models refitted) for each weight row."""
    A_ps, t, y, estimand = core.ps.A, design.t, design.y, spec.estimand
    A = design.A1  # the outcome models' terms (may differ from the propensity terms)
    beta_ps = _batched_logit(A_ps, t, W, core.ps.fit.beta)
    e = np.clip(expit(beta_ps @ A_ps.T), *effective_bounds(spec.clip, estimand))
    w1, w0 = _ipw_weights(t[None, :], e, estimand)
    w1, w0 = W * w1, W * w0
    ipw_reps = (w1 @ y) / w1.sum(axis=1) - (w0 @ y) / w0.sum(axis=1)  # Hájek, as the reported row
    predictions = []
    for arm in (0, 1):
        W_arm = W * (t == arm)
        rows = t == arm
        if design.binary_outcome:
            start = logit(A[rows], y[rows]).beta
            beta = _batched_logit(A, y, W_arm, start)
            predictions.append(expit(beta @ A.T))
        else:
            predictions.append(_batched_ols(A, y, W_arm) @ A.T)
    m0, m1 = predictions
    match parse_estimand(estimand):
        case Estimand.ATE:
            psi = m1 - m0 + t * (y - m1) / e - (1 - t) * (y - m0) / (1 - e)
            aipw_reps = np.sum(W * psi, axis=1) / W.sum(axis=1)
        case Estimand.ATT:
            score = t * (y - m0) - (1 - t) * e / (1 - e) * (y - m0)
            aipw_reps = np.sum(W * score, axis=1) / (W @ t)
        case Estimand.ATC:
            score = (1 - t) * (m1 - y) + t * (1 - e) / e * (y - m1)
            aipw_reps = np.sum(W * score, axis=1) / (W @ (1 - t))
    return ipw_reps, aipw_reps


def bootstrap(
    design: Design,
    spec: EstimationSpec,
    core: CoreFit,
    *,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    max_cells: float = 4e6,
) -> dict[str, Any]:
    """Nonparametric bootstrap of IPW and AIPW (models refitted in every replicate), in vectorised batches.

    Cancellable between batches: ``should_stop()`` → the replicates done so far are kept only if ≥ 50.
    Cross-fitting is not repeated inside replicates (the full-sample fits are bootstrapped).
    """
    if spec.bootstrap > MAX_BOOTSTRAP:  # model_copy(update=...) skips the spec's validator
        raise EstimationError(f"The bootstrap asks for {spec.bootstrap:,} replicates; the limit is {MAX_BOOTSTRAP:,}.")
    report = progress or (lambda fraction, message: None)
    rng = np.random.default_rng(spec.seed)
    total = spec.bootstrap
    batch = max(1, int(max_cells // (design.n * max(core.ps.A.shape[1], design.A1.shape[1]))))
    ipw_reps: list[np.ndarray] = []
    aipw_reps: list[np.ndarray] = []
    done, cancelled = 0, False
    while done < total:
        if should_stop is not None and should_stop():
            cancelled = True
            break
        size = min(batch, total - done)
        W = _resample_weights(rng, design.n, size, design.clusters, design.n_clusters)
        ipw_batch, aipw_batch = _replicate_estimates(design, spec, core, W)
        ipw_reps.append(ipw_batch)
        aipw_reps.append(aipw_batch)
        done += size
        report(done / total, f"Bootstrap replicate {done}/{total}")
    out: dict[str, Any] = {
        "requested": total,
        "completed": done,
        "cancelled": cancelled,
        "rows": [],
        "clustered": design.clusters is not None,
    }
    if cancelled:
        out["message"] = f"Bootstrap cancelled after {done} of {total} replicates" + (
            "; SEs use the completed replicates." if done >= 50 else "; too few replicates for a bootstrap SE."
        )
    if done < (50 if cancelled else 2):
        return out
    for method, reps in (("ipw", np.concatenate(ipw_reps)), ("aipw", np.concatenate(aipw_reps))):
        base = core.row(method)
        se = float(np.std(reps, ddof=1))
        row = _row(method, spec.estimand, base.estimate, se, design.n, f"bootstrap ({done} replicates)")
        out["rows"].append(row)
        out[method] = {"se": se, "percentile_ci": [float(np.quantile(reps, 0.025)), float(np.quantile(reps, 0.975))]}
    return out
