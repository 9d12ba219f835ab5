"""Weights and diagnostics: balance, overlap, weight summaries, Crump trimming."""

from __future__ import annotations

from typing import Any

import numpy as np

from causal_core.estimation.design import Design
from causal_core.estimation.estimators import Propensity, effective_bounds
from causal_core.project import (
    EstimationSpec,
)


# ---------------------------------------------------------------------------------------------
# Diagnostics
# ---------------------------------------------------------------------------------------------
def _arm_moments(M: np.ndarray, mask: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Column means (optionally weighted) and unweighted sample variances of M over the rows in mask."""
    rows = mask.astype(float)
    count = rows.sum()
    mean = rows @ M / count
    variance = (rows @ (M * M) / count - mean**2) * count / (count - 1)
    if weights is not None:
        mean = (rows * weights) @ M / np.sum(rows * weights)
    return mean, variance


def balance_columns(design: Design) -> list[tuple[str, np.ndarray]]:
    """Covariates on their original scale, categoricals with every level (the reference level included)."""
    columns: list[tuple[str, np.ndarray]] = []
    for covariate, cols in design.groups.items():
        if covariate in design.reference:
            label, dummies = design.reference[covariate]
            if dummies:
                columns.append((label, 1.0 - design.X[:, dummies].sum(axis=1)))
            columns.extend((design.names[j], design.X[:, j]) for j in cols)
            continue
        for j in cols:
            name = design.names[j]
            mean, sd = design.scales.get(name, (0.0, 1.0))
            columns.append((name, design.X[:, j] * sd + mean))
    return columns


def balance_table(design: Design, weights: np.ndarray) -> list[dict[str, Any]]:
    """SMD before and after weighting for every covariate column (N01 §9 before; the IPW weights after).

    The denominator is the unweighted pooled SD √((s²_t + s²_c)/2) both times, so the change is due to the means.
    """
    columns = balance_columns(design)
    if not columns:
        return []
    names = [name for name, _ in columns]
    M = np.column_stack([values for _, values in columns])
    treated, control = design.t == 1, design.t == 0
    m1, v1 = _arm_moments(M, treated)
    m0, v0 = _arm_moments(M, control)
    wm1, _ = _arm_moments(M, treated, weights)
    wm0, _ = _arm_moments(M, control, weights)
    pooled = np.sqrt(np.maximum((v1 + v0) / 2, 0.0))
    safe = np.where(pooled > 0, pooled, 1.0)
    before = np.where(pooled > 0, (m1 - m0) / safe, 0.0)
    after = np.where(pooled > 0, (wm1 - wm0) / safe, 0.0)
    rows = [
        {
            "covariate": name,
            "treated_mean": float(a),
            "control_mean": float(b),
            "smd_before": float(c),
            "weighted_treated_mean": float(d),
            "weighted_control_mean": float(e),
            "smd_after": float(f),
        }
        for name, a, b, c, d, e, f in zip(names, m1, m0, before, wm1, wm0, after, strict=True)
    ]
    return sorted(rows, key=lambda row: -abs(row["smd_before"]))


def _histogram(values: np.ndarray, t: np.ndarray, bins: np.ndarray, label: str) -> list[dict[str, Any]]:
    rows = []
    for arm, name in ((1, "treated"), (0, "control")):
        counts, edges = np.histogram(values[t == arm], bins=bins)
        density = counts / max(counts.sum(), 1) / np.diff(edges)
        rows.extend(
            {"arm": name, "bin_start": float(a), "bin_end": float(b), label: float(d), "count": int(c)}
            for a, b, d, c in zip(edges[:-1], edges[1:], density, counts, strict=True)
        )
    return rows


def target_extreme_share(e: np.ndarray, t: np.ndarray, estimand: str) -> tuple[float, str]:
    """Share of the target population whose propensity leaves few comparable units in the other arm.

    ATE: every row outside [0.05, 0.95]. ATT: treated rows with e > 0.95 (few controls resemble them);
    controls with a tiny e are irrelevant to the ATT (they get a tiny weight). ATC: the mirror image.
    """
    if estimand == "ATT":
        return float(np.mean(e[t == 1] > 0.95)), "of the treated rows have e > 0.95"
    if estimand == "ATC":
        return float(np.mean(e[t == 0] < 0.05)), "of the control rows have e < 0.05"
    return float(np.mean((e < 0.05) | (e > 0.95))), "of the rows lie outside [0.05, 0.95]"


def overlap_summary(design: Design, ps: Propensity, clip: tuple[float, float], estimand: str = "ATE") -> dict[str, Any]:
    """Propensity distribution by arm, how many rows clipping touched, and a binned density for the plot."""
    e, t = ps.raw, design.t
    target_share, target_text = target_extreme_share(e, t, estimand)
    quantiles = [0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0]
    by_arm = {
        name: {f"q{int(q * 100):02d}": float(np.quantile(e[t == arm], q)) for q in quantiles}
        for arm, name in ((1, "treated"), (0, "control"))
    }
    lo, hi = clip
    return {
        "quantiles": by_arm,
        "clip": [lo, hi],
        "n_below_clip": int(np.sum(e < lo)),
        "n_above_clip": int(np.sum(e > hi)),
        "share_clipped": float(np.mean((e < lo) | (e > hi))),
        "share_outside_05_95": float(np.mean((e < 0.05) | (e > 0.95))),
        "target_share_extreme": target_share,
        "target_extreme_text": target_text,
        "treated_above_max_control": int(np.sum(e[t == 1] > e[t == 0].max())),
        "control_below_min_treated": int(np.sum(e[t == 0] < e[t == 1].min())),
        "histogram": _histogram(e, t, np.linspace(0, 1, 41), "density"),
    }


def weight_summary(design: Design, weights: np.ndarray) -> dict[str, Any]:
    """Extreme weights and effective sample size per arm (Kish: (Σw)²/Σw²)."""
    out: dict[str, Any] = {}
    for arm, name in ((1, "treated"), (0, "control")):
        w = weights[design.t == arm]
        ess = float(w.sum() ** 2 / np.sum(w**2)) if w.size else 0.0
        top = np.sort(w)[::-1][: max(1, int(np.ceil(0.01 * w.size)))]
        total = float(w.sum()) if w.size else 0.0
        out[name] = {
            "n": int(w.size),
            "ess": ess,
            "ess_share": ess / w.size if w.size else 0.0,
            "max_weight": float(w.max()) if w.size else 0.0,
            # the raw maximum means nothing across estimands (ATT control weights e/(1−e) are all below 1):
            # the largest row's share of its arm's total weight does
            "max_normalised_weight": float(w.max() / total) if total > 0 else 0.0,
            "n_top1pct": int(top.size),
            "mean_weight": float(w.mean()) if w.size else 0.0,
            "top1pct_weight_share": float(top.sum() / w.sum()) if w.sum() > 0 else 0.0,
        }
    positive = weights[weights > 0]
    edges = np.geomspace(max(positive.min(), 1e-3), positive.max() * 1.0001, 31) if positive.size else np.array([0, 1])
    out["histogram"] = _histogram(weights, design.t, edges, "density")
    return out


def crump_alpha(e: np.ndarray) -> float:
    """Crump, Hotz, Imbens & Mitnik (2009) optimal trimming threshold α (keep α ≤ e ≤ 1 − α).

    No trimming when max 1/(e(1−e)) ≤ 2·E[1/(e(1−e))]; otherwise the smallest γ = 1/(α(1−α)) with
    γ ≥ 2·E[g | g ≤ γ], found on the sorted g = 1/(e(1−e)).
    """
    g = np.sort(1.0 / (e * (1 - e)))
    if g[-1] <= 2 * g.mean():
        return 0.0
    running_mean = np.cumsum(g) / np.arange(1, g.size + 1)
    index = int(np.argmax(g >= 2 * running_mean)) if np.any(g >= 2 * running_mean) else g.size - 1
    gamma = g[index]
    return float(0.5 - np.sqrt(max(0.25 - 1.0 / gamma, 0.0)))


def trimming_rule(spec: EstimationSpec, e: np.ndarray) -> tuple[float, float] | None:
    if spec.trim == "bounds":  # the estimand's own bounds: ATT trims only e above the upper bound, ATC the mirror
        return effective_bounds(spec.clip, spec.estimand)
    if spec.trim == "crump":
        alpha = crump_alpha(e)
        return (alpha, 1 - alpha) if alpha > 0 else None
    return None
