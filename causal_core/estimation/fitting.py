"""Model primitives: OLS with HC3 / cluster SEs and a logistic Newton fit (plain numpy)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg
from scipy.special import expit


# ---------------------------------------------------------------------------------------------
# Model primitives: OLS with HC3 / cluster SEs, logistic Newton
# ---------------------------------------------------------------------------------------------
def _with_intercept(*blocks: np.ndarray) -> np.ndarray:
    n = blocks[0].shape[0]
    parts = [np.ones((n, 1))] + [b.reshape(n, -1) for b in blocks]
    return np.hstack(parts)


def weighted_gram(A: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """A'·diag(w)·A computed as B'B with B = √w·A, which numpy routes to a symmetric rank-k update (half the flops)."""
    B = A if weights is None else A * np.sqrt(weights)[:, None]
    return B.T @ B


def _sym_inverse(gram: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive-definite matrix via Cholesky (pseudo-inverse if it is singular)."""
    try:
        factor = linalg.cho_factor(gram, lower=True, check_finite=False)
        return linalg.cho_solve(factor, np.eye(gram.shape[0]), check_finite=False)
    except linalg.LinAlgError:
        return np.linalg.pinv(gram)


@dataclass
class OLSFit:
    beta: np.ndarray
    inverse: np.ndarray  # (A'A)^-1
    resid: np.ndarray
    dof: int


def ols(A: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> OLSFit:
    """Least squares via the normal equations (p ≤ ~100, so Cholesky on A'A is exact enough and fast)."""
    gram = weighted_gram(A, weights)
    inverse = _sym_inverse(gram)
    beta = inverse @ (A.T @ (y if weights is None else weights * y))
    return OLSFit(beta=beta, inverse=inverse, resid=y - A @ beta, dof=int(A.shape[0] - A.shape[1]))


def coefficient_se(
    A: np.ndarray, fit: OLSFit, index: int, clusters: np.ndarray | None = None, n_clusters: int = 0
) -> tuple[float, str]:
    """SE of one coefficient: HC3, or cluster-robust (CR1, statsmodels' small-sample correction) with clusters.

    Only one row of the sandwich is needed, so the cost is one n×p product plus the leverages.
    """
    row = A @ fit.inverse[:, index]  # influence direction of coefficient `index`
    n, k = A.shape
    if clusters is not None:
        sums = np.bincount(clusters, weights=row * fit.resid, minlength=n_clusters)
        correction = n_clusters / (n_clusters - 1) * (n - 1) / (n - k)
        return float(np.sqrt(correction * np.sum(sums**2))), f"cluster-robust ({n_clusters} clusters)"
    leverage = np.einsum("ij,ij->i", A @ fit.inverse, A)
    u = fit.resid / (1.0 - np.minimum(leverage, 1 - 1e-12))
    return float(np.sqrt(np.sum((row * u) ** 2))), "HC3"


@dataclass
class LogitFit:
    beta: np.ndarray
    p: np.ndarray
    converged: bool
    iterations: int
    separated: bool
    hessian: np.ndarray  # A'·diag(w·p(1−p))·A at the last Newton step (for sandwich SEs)


def logit(
    A: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None, l2: float = 0.0, max_iter: int = 40
) -> LogitFit:
    """Logistic regression by Newton–Raphson with step halving.

    ``l2`` adds ½·l2·||β||² (intercept unpenalised), i.e. sklearn's C = 1/l2 on the summed log-loss.
    Separation shows as fitted probabilities racing to 0/1 without convergence; it is flagged, not hidden.
    """
    n, k = A.shape
    w = np.ones(n) if weights is None else weights
    penalty = np.full(k, l2)
    penalty[0] = 0.0
    mean_y = np.clip(np.sum(w * y) / np.sum(w), 1e-6, 1 - 1e-6)
    beta = np.zeros(k)
    beta[0] = np.log(mean_y / (1 - mean_y))

    def objective(b: np.ndarray) -> tuple[float, np.ndarray]:
        eta = A @ b
        return float(np.sum(w * (np.logaddexp(0.0, eta) - y * eta)) + 0.5 * np.sum(penalty * b * b)), eta

    loss, eta = objective(beta)
    converged, iteration = False, 0
    while iteration < max_iter:
        iteration += 1
        p = expit(eta)
        grad = A.T @ (w * (p - y)) + penalty * beta
        hess = weighted_gram(A, w * p * (1 - p)) + np.diag(penalty)
        try:
            step = linalg.solve(hess, grad, assume_a="pos", check_finite=False)
        except (linalg.LinAlgError, ValueError):
            step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        scale = 1.0
        for _ in range(30):
            candidate = beta - scale * step
            new_loss, new_eta = objective(candidate)
            if new_loss <= loss + 1e-12 * max(1.0, abs(loss)):
                break
            scale /= 2
        beta, eta, old_loss, loss = candidate, new_eta, loss, new_loss
        moved = float(np.max(np.abs(scale * step)))
        if moved < 1e-8:
            converged = True
            break
        if abs(old_loss - loss) < 1e-13 * max(1.0, abs(loss)):
            # the loss no longer changes but the coefficients still move: a direction of divergence (separation)
            converged = moved < 1e-4
            break
    p = expit(eta)
    separated = (not converged) or bool(np.max(np.abs(eta)) > 25)
    return LogitFit(beta=beta, p=p, converged=converged, iterations=iteration, separated=separated, hessian=hess)
