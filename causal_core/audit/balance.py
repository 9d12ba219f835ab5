"""N09 §7 covariate balance and propensity overlap."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from causal_core.audit.helpers import _as_numeric, _is_categorical


# ---------------------------------------------------------------------------------------------
# §7 balance and propensity overlap
# ---------------------------------------------------------------------------------------------
def design_columns(
    frame: pd.DataFrame, columns: list[str], max_levels: int, marked_categorical: set[str] | frozenset[str] = frozenset()
) -> tuple[list[str], list[str], list[str]]:
    """Split covariates into numeric and categorical; drop datetimes and high-cardinality categoricals.

    ``marked_categorical``: columns the dictionary marks categorical (NHEFS education 1–5) use their levels
    even though they are stored as numbers.
    """
    numeric, categorical, skipped = [], [], []
    for column in columns:
        series = frame[column]
        if pd.api.types.is_datetime64_any_dtype(series):
            skipped.append(f"{column} (date/time)")
        elif column not in marked_categorical and not _is_categorical(series):
            numeric.append(column)
        elif series.nunique(dropna=True) > max_levels:
            skipped.append(f"{column} (more than {max_levels} categories)")
        else:
            categorical.append(column)
    return numeric, categorical, skipped


class DesignSource:
    """Covariate values computed once per audit: float arrays for numeric columns, sorted category codes
    for categoricals. Balance, propensity and the smoke test share it (hashing a million strings is
    the expensive part, so it happens once per column)."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self._numeric: dict[str, np.ndarray] = {}
        self._codes: dict[str, tuple[np.ndarray, pd.Index]] = {}

    def numeric(self, column: str) -> np.ndarray:
        if column not in self._numeric:
            self._numeric[column] = _as_numeric(self.frame[column]).to_numpy(dtype=float)
        return self._numeric[column]

    def codes(self, column: str) -> tuple[np.ndarray, pd.Index]:
        """Category codes in sorted level order (-1 where missing)."""
        if column not in self._codes:
            self._codes[column] = pd.factorize(self.frame[column], sort=True)
        return self._codes[column]

    def complete(self, columns: list[str]) -> np.ndarray:
        """Rows where every column is present."""
        mask = np.ones(len(self.frame), dtype=bool)
        for column in columns:
            if column in self._codes or _is_categorical(self.frame[column]):
                mask &= self.codes(column)[0] >= 0
            else:
                mask &= ~np.isnan(self.numeric(column))
        return mask

    def indicators(self, column: str) -> dict[str, np.ndarray]:
        """0/1 indicator per category level (NaN where the category is missing)."""
        codes, levels = self.codes(column)
        out = {}
        for index, level in enumerate(levels):
            values = (codes == index).astype(float)
            values[codes < 0] = np.nan
            out[f"{column}={level}"] = values
        return out

    def matrix(self, rows: np.ndarray, numeric: list[str], categorical: list[str]) -> np.ndarray:
        """Numeric columns plus drop-first dummies of the levels present in ``rows`` — patsy's Treatment
        coding, so coefficients match N09's formulas."""
        parts = [self.numeric(column)[rows] for column in numeric]
        for column in categorical:
            codes = self.codes(column)[0][rows]
            for level in np.unique(codes[codes >= 0])[1:]:
                parts.append((codes == level).astype(float))
        return np.column_stack(parts) if parts else np.empty((int(np.count_nonzero(rows)), 0))


def balance_table(
    source: DesignSource, coded: pd.Series, numeric: list[str], categorical: list[str], threshold: float
) -> pd.DataFrame:
    """N09 §7 standardised mean differences (pooled SD), numeric and one-hot categorical, |SMD| first."""
    treated = (coded == 1).to_numpy()
    control = (coded == 0).to_numpy()
    series: dict[str, tuple[str, np.ndarray]] = {c: ("numeric", source.numeric(c)) for c in numeric}
    for column in categorical:
        series.update({name: ("category level", values) for name, values in source.indicators(column).items()})
    rows = []
    for name, (kind, values) in series.items():
        t = values[treated]
        c = values[control]
        t = t[~np.isnan(t)]
        c = c[~np.isnan(c)]
        t_mean = t.mean() if t.size else np.nan
        c_mean = c.mean() if c.size else np.nan
        t_var = t.var(ddof=1) if t.size > 1 else np.nan
        c_var = c.var(ddof=1) if c.size > 1 else np.nan
        pooled = math.sqrt((t_var + c_var) / 2) if not (np.isnan(t_var) or np.isnan(c_var)) else np.nan
        smd = np.nan if not pooled or np.isnan(pooled) else (t_mean - c_mean) / pooled
        rows.append(
            {
                "variable": name,
                "kind": kind,
                "treated_mean": t_mean,
                "control_mean": c_mean,
                "smd": smd,
                "abs_smd": abs(smd) if not np.isnan(smd) else np.nan,
                "imbalanced": bool(not np.isnan(smd) and abs(smd) > threshold),
            }
        )
    table = pd.DataFrame(
        rows, columns=["variable", "kind", "treated_mean", "control_mean", "smd", "abs_smd", "imbalanced"]
    )
    return table.sort_values("abs_smd", ascending=False, kind="stable", na_position="last")


def fit_logistic(
    x: np.ndarray, y: np.ndarray, max_iter: int = 50, tol: float = 1e-7, ridge: float = 1e-6
) -> np.ndarray:
    """Logistic regression by Newton/IRLS on standardised columns (column 0 = intercept).

    A tiny ridge keeps the fit finite under (quasi-)separation, which is itself an overlap finding;
    numpy IRLS is used instead of statsmodels because it is several times faster at a million rows.
    Large inputs start from a fit on every k-th row, so the full data needs only the last few steps.
    """
    n, k = x.shape
    beta = np.zeros(k)
    if n > 200_000:
        step = n // 100_000
        beta = fit_logistic(x[::step], y[::step], max_iter=max_iter, tol=1e-4, ridge=ridge)
    penalty = np.full(k, ridge * n)
    penalty[0] = 0.0
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ beta, -35, 35)))
        root = np.sqrt(p * (1 - p))
        weighted = x * root[:, None]
        gradient = x.T @ (y - p) - penalty * beta
        hessian = weighted.T @ weighted + np.diag(penalty)
        try:
            change = np.linalg.solve(hessian, gradient)
        except np.linalg.LinAlgError:
            change = np.linalg.lstsq(hessian, gradient, rcond=None)[0]
        beta += change
        if np.max(np.abs(change)) < tol:
            break
    return beta


def propensity_overlap(
    source: DesignSource, coded: pd.Series, numeric: list[str], categorical: list[str], bounds: tuple[float, float]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Propensity from pre-treatment candidates: summary (shares outside bounds, ESS) and density by arm."""
    low, high = bounds
    used = [*numeric, *categorical]
    mask = coded.notna().to_numpy() & source.complete(used)
    y = coded.to_numpy()[mask]
    summary: list[dict[str, Any]] = [
        {"metric": "covariates", "value": ", ".join(used) if used else "none (intercept only)"},
        {"metric": "rows used (complete pre-treatment covariates)", "value": int(mask.sum())},
        {"metric": "rows dropped (missing covariates)", "value": int(coded.notna().sum() - mask.sum())},
    ]
    density_columns = ["arm", "bin_start", "bin_end", "density", "rows"]
    if mask.sum() < 2 or len(np.unique(y)) < 2:
        summary.append({"metric": "note", "value": "not enough complete rows in both arms to fit a propensity model"})
        return pd.DataFrame(summary), pd.DataFrame(columns=density_columns)
    design = source.matrix(mask, numeric, categorical)
    centre = design.mean(axis=0) if design.size else np.zeros(0)
    scale = design.std(axis=0) if design.size else np.zeros(0)
    keep = scale > 0
    standardised = (design[:, keep] - centre[keep]) / scale[keep]
    x = np.column_stack([np.ones(len(y)), standardised])
    beta = fit_logistic(x, y)
    score = 1.0 / (1.0 + np.exp(-np.clip(x @ beta, -35, 35)))
    treated = y == 1
    outside = (score < low) | (score > high)
    weights = np.where(treated, 1 / np.maximum(score, 1e-12), 1 / np.maximum(1 - score, 1e-12))

    def ess(w: np.ndarray) -> float:
        return float(w.sum() ** 2 / np.square(w).sum()) if w.size else float("nan")

    summary += [
        {"metric": "treated rows used", "value": int(treated.sum())},
        {"metric": "untreated rows used", "value": int((~treated).sum())},
        {"metric": f"share outside [{low:g}, {high:g}]", "value": float(outside.mean())},
        {"metric": f"treated share outside [{low:g}, {high:g}]", "value": float(outside[treated].mean())},
        {"metric": f"untreated share outside [{low:g}, {high:g}]", "value": float(outside[~treated].mean())},
        {"metric": "propensity min (treated)", "value": float(score[treated].min())},
        {"metric": "propensity max (treated)", "value": float(score[treated].max())},
        {"metric": "propensity min (untreated)", "value": float(score[~treated].min())},
        {"metric": "propensity max (untreated)", "value": float(score[~treated].max())},
        {"metric": "effective sample size, IPW (ATE), all", "value": ess(weights)},
        {"metric": "effective sample size, IPW (ATE), treated", "value": ess(weights[treated])},
        {"metric": "effective sample size, IPW (ATE), untreated", "value": ess(weights[~treated])},
    ]
    edges = np.linspace(0, 1, 41)
    density_rows = []
    for arm, members in (("treated", treated), ("untreated", ~treated)):
        counts, _ = np.histogram(score[members], bins=edges)
        width = edges[1] - edges[0]
        total = max(int(members.sum()), 1)
        for start, end, count in zip(edges[:-1], edges[1:], counts, strict=True):
            density_rows.append(
                {
                    "arm": arm,
                    "bin_start": float(start),
                    "bin_end": float(end),
                    "density": count / total / width,
                    "rows": int(count),
                }
            )
    return pd.DataFrame(summary), pd.DataFrame(density_rows, columns=density_columns)


def _metric(summary: pd.DataFrame, name: str) -> float | None:
    """A numeric value from the overlap summary, or None when the row is missing (too few rows to fit)."""
    rows = summary[summary["metric"] == name]["value"] if "metric" in summary else []
    if len(rows) == 0:
        return None
    try:
        value = float(rows.iloc[0])
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def overlap_reading(summary: pd.DataFrame, estimand: str, bounds: tuple[float, float]) -> str:
    """What the shares outside the overlap bounds mean for the estimand, so a large share is read in context.

    Under the ATT only the treated need comparable untreated units (each treated unit needs controls like it;
    untreated units with a propensity near 0 are simply down-weighted), so the treated units' share outside is
    the number that matters; under the ATC the untreated units'; under the ATE every unit's. A rare treatment
    (0.8 % of rows) puts almost every untreated unit near 0, so the overall share alone would alarm for nothing.
    """
    low, high = bounds
    window = f"[{low:g}, {high:g}]"
    shares = {arm: _metric(summary, f"{prefix}share outside {window}")
              for arm, prefix in (("all", ""), ("treated", "treated "), ("untreated", "untreated "))}
    treated_n, untreated_n = _metric(summary, "treated rows used"), _metric(summary, "untreated rows used")
    if shares["all"] is None or not treated_n or not untreated_n:
        return ""
    kind = (estimand or "ATE").upper()
    treated_rate = treated_n / (treated_n + untreated_n)
    overall = f"{shares['all']:.1%} of all units lie outside {window}"
    if kind in ("ATT", "ATC"):
        arm, other = ("treated", "untreated") if kind == "ATT" else ("untreated", "treated")
        target = shares[arm] or 0.0
        verdict = ("so overlap looks adequate for it" if target < 0.05 else
                   f"so those {arm} units have few comparable {other} units: trim them or report the estimate as "
                   "resting on extrapolation")
        return (f"Under the {kind} only the {arm} units need comparable {other} units: {target:.1%} of the "
                f"{arm} units lie outside {window}, {verdict}. The overall figure ({overall}; treated are "
                f"{treated_rate:.1%} of rows) mostly reflects {other} units far from the {arm} ones, which the "
                f"{kind} down-weights rather than needs.")
    verdict = ("overlap looks adequate" if shares["all"] < 0.05 else
               "these units rely on extrapolation or extreme weights: consider trimming, or the ATT/ATC if only "
               "one arm needs to be compared")
    return (f"Under the ATE every unit needs comparable units in the other arm: {overall} (treated "
            f"{(shares['treated'] or 0.0):.1%}, untreated {(shares['untreated'] or 0.0):.1%}); {verdict}.")


def audit_estimand(project: Any) -> str:
    """The estimand the overlap is read for: the estimation's own, else the approved card's, else the ATE."""
    from causal_core.question import estimand_kind

    if getattr(project, "estimation", None) is not None:
        return str(project.estimation.spec.estimand)
    card = getattr(project, "estimand_card", None)
    return (estimand_kind(card.estimand) if card else "") or "ATE"
