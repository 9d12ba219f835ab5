"""Instrumental variables: two-stage least squares (linearmodels ``IV2SLS``) with the checks an applied
reader expects next to the number: the first-stage F and partial R², a weak-instrument warning, an
endogeneity and (when over-identified) an over-identification test, OLS for contrast, and an
Anderson–Rubin confidence set that stays valid when the instrument is weak.

Why the label matters: with a binary treatment and a binary instrument, 2SLS estimates the **LATE**, the
average effect among compliers (Imbens & Angrist 1994), not the ATE; with a continuous treatment it is
a constant-effect slope. The row's estimand says which, so a reader never takes a LATE for an ATE.

Standard errors follow Stata's ``ivregress 2sls`` with ``small``: ``debiased=True`` (t/F reference
distributions, n/(n−k) scaling). Wooldridge's Example 15.1 (Mroz, educ instrumented by fatheduc:
0.0591, SE 0.0351) is reproduced to 4 decimals by the tests.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from linearmodels.iv import IV2SLS
from pydantic import Field
from scipy import optimize, stats

from causal_core.diagnostics_models import AndersonRubinSet, FirstStage, IVDiagnostics, IVTests
from causal_core.estimation.constants import EstimationError, ProgressFn, StopFn
from causal_core.estimation.design import _treatment_vector
from causal_core.estimation.frontdoor import (
    MEASURED_COVERAGE,
    DesignResult,
    DesignSpecBase,
    check_design_columns,
    cluster_codes,
    complete_rows,
    coverage_label,
    numeric_block,
)
from causal_core.project import EstimateRow

WEAK_F = 10.0  # Staiger & Stock (1997) rule of thumb for one endogenous regressor
# Stock & Yogo (2005), Table 5.2: first-stage F above which the nominal 5 % Wald test of 2SLS has at most
# 10 % actual size, one endogenous regressor, by the number of instruments (homoskedastic errors).
STOCK_YOGO_10PCT_SIZE = {1: 16.38, 2: 19.93, 3: 22.30, 4: 24.58, 5: 26.87}
# Lee, McCrary, Moreira & Porter (2022, AER), "Valid t-ratio inference for IV": with one instrument the usual
# 5 % t-test (±1.96) has its nominal size only when the first-stage F is at least 104.7; below, the Wald
# interval under-covers (F 10–30: 0.867 in issue 23's replications, AR beside it 0.94).
TF_BAR = 104.7
IRRELEVANT_F = 1.0  # below this the instrument explains less of the treatment than noise would
AR_GRID_POINTS = 2001
MIN_IV_ROWS = 20
# Internal column labels for linearmodels, spelled so that no data column (a covariate called "treatment") can clash.
_INTERCEPT, _TREATMENT, _OUTCOME = "(intercept)", "(treatment)", "(outcome)"
_COV_TYPES = {"unadjusted": "unadjusted", "robust": "robust", "cluster": "clustered"}
__all__ = ["IVSpec", "estimate_iv", "WEAK_F", "TF_BAR", "STOCK_YOGO_10PCT_SIZE", "MEASURED_COVERAGE", "format_ar_set"]


class IVSpec(DesignSpecBase):
    instruments: list[str] = Field(default_factory=list)
    se: Literal["robust", "unadjusted", "cluster"] = "robust"


class _IVData:
    """Complete-case arrays of one IV analysis, checked for the ways an instrument can be unusable."""

    def __init__(self, frame: pd.DataFrame, spec: IVSpec):
        if not spec.instruments:
            raise EstimationError(
                "2SLS needs at least one instrument: a variable that moves the treatment and reaches the outcome "
                "only through it."
            )
        if spec.se == "cluster" and not spec.cluster:
            raise EstimationError("Cluster-robust SEs need a cluster column.")
        check_design_columns(frame, spec, {"instrument": spec.instruments})
        used = [spec.treatment, spec.outcome, *spec.instruments, *spec.covariates, *([spec.cluster] if spec.cluster else [])]
        self.frame, self.dropped = complete_rows(frame, used)
        if len(self.frame) < MIN_IV_ROWS:
            raise EstimationError(f"Only {len(self.frame)} complete rows; 2SLS needs at least {MIN_IV_ROWS}.")
        self.t = self._treatment(spec)
        self.binary_treatment = bool(np.isin(np.unique(self.t), [0.0, 1.0]).all())
        self.y = self.frame[spec.outcome].to_numpy(dtype=float)
        self.Z, self.z_names = numeric_block(self.frame, spec.instruments)
        self._check_instrument_variation(spec)
        X, x_names = numeric_block(self.frame, spec.covariates)
        constant = [name for j, name in enumerate(x_names) if np.ptp(X[:, j]) == 0]
        keep = [j for j, name in enumerate(x_names) if name not in constant]
        self.notes = [f"Constant covariate column(s) dropped: {', '.join(constant)}."] if constant else []
        self.X = np.hstack([np.ones((len(self.frame), 1)), X[:, keep]])
        self.x_names = [_INTERCEPT, *[x_names[j] for j in keep]]
        self._check_rank()
        self.clusters, self.n_clusters = cluster_codes(self.frame, spec.cluster if spec.se == "cluster" else None)
        self.binary_instrument = self.Z.shape[1] == 1 and bool(np.isin(np.unique(self.Z), [0.0, 1.0]).all())

    def _treatment(self, spec: IVSpec) -> np.ndarray:
        series = self.frame[spec.treatment]
        if spec.treated_value is not None or not pd.api.types.is_numeric_dtype(series) or series.nunique() == 2:
            try:
                return _treatment_vector(series, spec.treatment, spec.treated_value)
            except EstimationError as error:
                raise EstimationError(f"2SLS needs a numeric or two-valued treatment. {error}") from None
        values = series.to_numpy(dtype=float)
        if np.ptp(values) == 0:
            raise EstimationError(f"The treatment '{spec.treatment}' has no variation: there is no effect to estimate.")
        return values

    def _check_instrument_variation(self, spec: IVSpec) -> None:
        for column in spec.instruments:
            values = self.frame[column]
            if values.nunique() < 2:
                shown = str(values.iloc[0]) if len(values) else "missing"
                raise EstimationError(
                    f"The instrument '{column}' has no variation (every complete row is {shown}): it cannot move "
                    "the treatment, so it identifies nothing."
                )

    def _check_rank(self) -> None:
        """An instrument that is a linear function of the covariates adds no excluded variation."""
        exog_rank = np.linalg.matrix_rank(self.X)
        if exog_rank < self.X.shape[1]:
            raise EstimationError("The covariates are collinear (a column is a combination of others): drop one.")
        full = np.linalg.matrix_rank(np.hstack([self.X, self.Z]))
        if full < self.X.shape[1] + self.Z.shape[1]:
            raise EstimationError(
                f"The instrument(s) {', '.join(self.z_names)} are collinear with the covariates (or with each other): "
                "after the covariates they have no variation left to move the treatment."
            )

    @property
    def index(self) -> pd.RangeIndex:
        """A fresh 0..n-1 index: the data's own may repeat labels, which linearmodels would try to align on."""
        return pd.RangeIndex(len(self.frame))

    def frames(self) -> tuple[pd.DataFrame, pd.Series, pd.Series, pd.DataFrame]:
        index = self.index
        exog = pd.DataFrame(self.X, columns=self.x_names, index=index)
        return (pd.Series(self.y, index=index, name=_OUTCOME), pd.Series(self.t, index=index, name=_TREATMENT),
                exog, pd.DataFrame(self.Z, columns=self.z_names, index=index))


def _fit_config(data: _IVData, spec: IVSpec) -> dict[str, Any]:
    config: dict[str, Any] = {"cov_type": _COV_TYPES[spec.se], "debiased": True}
    if spec.se == "cluster":
        config["clusters"] = pd.Series(data.clusters, index=data.index)
    return config


def weak_instrument_warning(first: dict[str, Any]) -> str | None:
    """Staiger–Stock's F < 10 as a warning (never an error: the analyst decides), with Stock–Yogo's bar."""
    q = first["n_instruments"]
    critical = STOCK_YOGO_10PCT_SIZE.get(q)
    bar = f"; Stock–Yogo's 10 % maximal-size critical value for {q} instrument(s) is {critical:.2f}" if critical else ""
    if first["f"] < WEAK_F:
        return (
            f"Weak instrument: first-stage F = {first['f']:.2f} < {WEAK_F:g} (Staiger–Stock rule of thumb{bar}). 2SLS is "
            "biased toward OLS and its Wald interval under-covers; read the Anderson–Rubin set instead."
        )
    if critical and first["f"] < critical:
        return (
            f"Moderately weak instrument: first-stage F = {first['f']:.2f} passes the rule of thumb of {WEAK_F:g} but "
            f"not Stock–Yogo's {critical:.2f} (10 % maximal size of a nominal 5 % test), nor Lee et al.'s (2022) "
            f"tF bar of {TF_BAR:g} for a valid 5 % t-test; prefer the Anderson–Rubin set."
        )
    if first["f"] < TF_BAR and first["n_instruments"] == 1:
        return (
            f"First-stage F = {first['f']:.2f} is below Lee, McCrary, Moreira & Porter's (2022) tF bar of {TF_BAR:g}: "
            "the 2SLS Wald interval (±1.96 SE) is approximate (at F 10–30 it covered 0.87); the Anderson–Rubin set "
            "keeps its 95 % coverage."
        )
    return None


def wald_label(first: dict[str, Any], kind: str, se: str) -> str:
    """The Wald interval's coverage label from the first-stage F: calibrated only at or above the tF bar.

    Why: Stock–Yogo's and the F > 10 rules bound bias or size distortion, not the t-test's coverage; Lee et al.
    (2022) show the ±1.96 interval needs F ≥ 104.7 (one instrument). Between 10 and that bar the label says
    approximate and names the Anderson–Rubin set; below 10 it carries the weak-instrument benchmark figure.
    """
    f_value = first["f"]
    if f_value < WEAK_F:
        return coverage_label(f"{kind}-weak", se)
    if f_value < TF_BAR:
        return (f"approximate: first-stage F = {f_value:.1f} is below the tF bar {TF_BAR:g} (Lee et al. 2022) for a "
                "5 % t-test; read the Anderson–Rubin set")
    return coverage_label(f"{kind}-strong", se)


def refuse_irrelevant_instrument(first: dict[str, Any], names: list[str]) -> None:
    """F < 1: the instruments move the treatment less than noise would; a 2SLS number would be meaningless."""
    if first["f"] < IRRELEVANT_F:
        raise EstimationError(
            f"The instrument(s) {', '.join(names)} barely move the treatment (first-stage F = {first['f']:.2f} < "
            f"{IRRELEVANT_F:g}): 2SLS would be an arbitrary number and any 95 % set for the effect is the whole real "
            "line or two rays. Find a stronger instrument; nothing was stored."
        )


class _Partialled:
    """Outcome, treatment and instruments with the covariates partialled out (Frisch–Waugh–Lovell), and the
    score cross-products for the chosen SE type.

    Why by hand: the first-stage F and the Anderson–Rubin statistic are Wald tests on the q instrument
    coefficients only; computing them on partialled columns costs one n × (k+q) solve, where linearmodels'
    first-stage diagnostics refit several models (≈ 6 s at 40,000 rows). The tests check equality with
    linearmodels on Mroz for every SE type.
    """

    def __init__(self, data: _IVData, spec: IVSpec):
        stacked = np.column_stack([data.y, data.t, data.Z])
        coef, *_ = np.linalg.lstsq(data.X, stacked, rcond=None)
        resid = stacked - data.X @ coef
        self.y, self.t, self.Z = resid[:, 0], resid[:, 1], resid[:, 2:]
        self.n, self.k, self.q = len(self.y), data.X.shape[1], self.Z.shape[1]
        self.dof = self.n - self.k - self.q
        self.gram_inv = np.linalg.inv(self.Z.T @ self.Z)
        self.se, self.clusters, self.n_clusters = spec.se, data.clusters, data.n_clusters

    def coefficients(self, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Reduced-form coefficients of ``target`` on the instruments, and the residuals."""
        pi = self.gram_inv @ (self.Z.T @ target)
        return pi, target - self.Z @ pi

    def cross(self, u_a: np.ndarray, u_b: np.ndarray) -> np.ndarray:
        """The sandwich meat for residuals u_a, u_b (symmetric in a = b), as linearmodels' debiased estimators."""
        if self.se == "unadjusted":
            return (u_a @ u_b) / self.dof * (self.Z.T @ self.Z)
        if self.se == "cluster":
            s_a = np.stack([np.bincount(self.clusters, weights=self.Z[:, j] * u_a) for j in range(self.q)], axis=1)
            s_b = np.stack([np.bincount(self.clusters, weights=self.Z[:, j] * u_b) for j in range(self.q)], axis=1)
            g = self.n_clusters
            return g / (g - 1) * (self.n - 1) / self.dof * (s_a.T @ s_b)
        return self.n / self.dof * ((self.Z * u_a[:, None]).T @ (self.Z * u_b[:, None]))

    def wald_f(self, pi: np.ndarray, meat: np.ndarray) -> float:
        cov = self.gram_inv @ meat @ self.gram_inv
        return float(pi @ np.linalg.solve(cov, pi) / self.q)


def refuse_exact_fit(residuals: np.ndarray, y: np.ndarray, spec: IVSpec) -> None:
    """Refuse an outcome that the treatment and covariates reproduce exactly (2SLS residuals ~ 0).

    Why: with no residual variation the standard error is 0 and the Anderson–Rubin statistic is 0/0 at the
    estimate (it raised a singular-matrix error); an outcome computed from the treatment is also almost always a
    wrong column choice, so say that instead of printing a zero-width interval.
    """
    spread = float(np.sum((y - y.mean()) ** 2))
    if spread > 0 and float(residuals @ residuals) <= 1e-20 * spread:
        raise EstimationError(
            f"The outcome '{spec.outcome}' is an exact linear function of the treatment '{spec.treatment}'"
            + (" and the covariates" if spec.covariates else "")
            + ": 2SLS leaves no residual variation, so no standard error or interval exists. Check that the outcome "
            "is not computed from the treatment."
        )


def first_stage(data: _IVData, spec: IVSpec, part: _Partialled) -> dict[str, Any]:
    """The excluded instruments' F (Wald/q with the chosen SE type) and partial R² in the first stage."""
    pi, u = part.coefficients(part.t)
    f_value = part.wald_f(pi, part.cross(u, u))
    return {"f": f_value, "f_pvalue": float(stats.f.sf(f_value, part.q, part.dof)),
            "partial_r2": float(1 - (u @ u) / (part.t @ part.t)), "reference": f"F({part.q},{part.dof})",
            "n_instruments": part.q, "coefficients": {name: float(c) for name, c in zip(data.z_names, pi, strict=True)},
            "kind": _F_KINDS[spec.se]}


_F_KINDS = {
    "unadjusted": "classical F (Cragg–Donald for one endogenous regressor: the statistic Stock–Yogo tabulate)",
    "robust": "heteroskedasticity-robust Wald F (Kleibergen–Paap's, up to small-sample scaling); Stock–Yogo's "
    "values assume homoskedastic errors, so read them as a guide (Olea–Pflueger give the robust bar)",
    "cluster": "cluster-robust Wald F (Kleibergen–Paap's, up to small-sample scaling); Stock–Yogo's values assume "
    "homoskedastic errors, so read them as a guide (Olea–Pflueger give the robust bar)",
}


def _ar_statistic(part: _Partialled) -> tuple[Any, float]:
    """The Anderson–Rubin F statistic as a vectorised function of β₀, and its 5 % critical value.

    The reduced-form coefficient of y − β₀·t is π_y − β₀·π_t and its meat A − β₀(B + Bᵀ) + β₀²C, so
    every β₀ costs q × q work and a fine grid plus root refinement is cheap.
    """
    pi_y, u_y = part.coefficients(part.y)
    pi_t, u_t = part.coefficients(part.t)
    A, B, C = part.cross(u_y, u_y), part.cross(u_y, u_t), part.cross(u_t, u_t)
    gram_inv = part.gram_inv

    def statistic(beta: np.ndarray) -> np.ndarray:
        beta = np.atleast_1d(np.asarray(beta, dtype=float))
        pi = pi_y[None, :] - beta[:, None] * pi_t[None, :]
        meat = A[None] - beta[:, None, None] * (B + B.T)[None] + beta[:, None, None] ** 2 * C[None]
        cov = gram_inv[None] @ meat @ gram_inv[None]
        return np.einsum("gi,gi->g", pi, np.linalg.solve(cov, pi[:, :, None])[:, :, 0]) / part.q

    return statistic, float(stats.f.ppf(0.95, part.q, part.dof))


def anderson_rubin_set(part: _Partialled, centre: float, scale: float, first_f: float | None = None) -> dict[str, Any]:
    """95 % Anderson–Rubin confidence set for the treatment coefficient, by inverting the AR test.

    Why: its coverage does not depend on the first-stage strength, so it is the honest interval when F is
    small. A 2,001-point grid over ±50 SE finds the accepted region; each edge is then refined by a root
    search, so the limits are exact, not grid-rounded. As β → ±∞ the AR statistic tends to the first-stage
    Wald F (same SE type), so the set is unbounded exactly when that F is below the AR critical value: then a
    piece reaching the grid end runs to infinity (``None`` limits, never the grid edge); otherwise an accepted
    grid end is followed outward to its real root.
    """
    statistic, critical = _ar_statistic(part)
    if first_f is None:
        pi_t, u_t = part.coefficients(part.t)
        first_f = part.wald_f(pi_t, part.cross(u_t, u_t))
    tails = first_f <= critical
    half_width = 50 * scale if np.isfinite(scale) and scale > 0 else 50 * max(abs(centre), 1.0)
    grid = np.linspace(centre - half_width, centre + half_width, AR_GRID_POINTS)
    accepted = statistic(grid) <= critical
    region = _accepted_region(grid, accepted, critical)

    def excess(beta: float) -> float:
        return float(statistic(beta)[0] - critical)

    step = grid[1] - grid[0]
    refined: list[list[float | None]] = []
    for low, high in region["pieces"]:
        refined.append([_edge(excess, low, grid[0], -step, tails), _edge(excess, high, grid[-1], step, tails)])
    if tails:
        refined = _add_missing_rays(excess, refined, grid, step)
    region["pieces"] = refined
    region["kind"] = _ar_kind(refined, tails)
    if refined:
        region["low"], region["high"] = refined[0][0], refined[-1][1]
    region["text"] = format_ar_set(region)
    return region


def _edge(excess: Any, value: float, grid_end: float, step: float, tails: bool) -> float | None:
    """A piece's refined end: a root next to the grid point, infinity (None) at an unbounded tail, or the root
    beyond the grid when the tail is bounded but the grid was too narrow."""
    if value != grid_end:
        bracket = sorted((value, value + step))
        return float(optimize.brentq(excess, *bracket, xtol=1e-12))
    if tails:
        return None
    inner, outer, width = value, value + step, abs(step)
    for _ in range(200):
        if excess(outer) > 0:
            return float(optimize.brentq(excess, *sorted((inner, outer)), xtol=1e-12))
        width *= 2
        inner, outer = outer, outer + np.sign(step) * width
    return None


def _add_missing_rays(excess: Any, pieces: list[list[float | None]], grid: np.ndarray,
                      step: float) -> list[list[float | None]]:
    """Unbounded tails whose accepted part starts beyond the searched grid: follow each outward to its root."""
    if not pieces or pieces[0][0] is not None:
        root = _outward_root(excess, float(grid[0]), -step)
        pieces = [[None, root]] + pieces if root is not None else pieces
    if pieces[-1][1] is not None:
        root = _outward_root(excess, float(grid[-1]), step)
        pieces = pieces + [[root, None]] if root is not None else pieces
    return pieces


def _outward_root(excess: Any, start: float, step: float) -> float | None:
    """From a rejected point, step outward (doubling) until the AR test accepts; the boundary between them."""
    inner, outer, width = start, start + step, abs(step)
    for _ in range(200):
        if excess(outer) <= 0:
            return float(optimize.brentq(excess, *sorted((inner, outer)), xtol=1e-12))
        width *= 2
        inner, outer = outer, outer + np.sign(step) * width
    return None


def _ar_kind(pieces: list[list[float | None]], tails: bool) -> str:
    if not pieces:
        return "empty"
    if tails:
        return "whole line" if len(pieces) == 1 and pieces[0] == [None, None] else "unbounded"
    return "interval" if len(pieces) == 1 else "union"


def format_ar_set(region: dict[str, Any]) -> str:
    """The set as a reader writes it: '[a, b]', '(−∞, a] ∪ [b, ∞)', 'the whole real line' or 'empty'."""
    if region.get("kind") == "whole line":
        return "the whole real line"
    parts = []
    for low, high in region.get("pieces") or []:
        left = "(−∞" if low is None else f"[{low:.4g}"
        right = "∞)" if high is None else f"{high:.4g}]"
        parts.append(f"{left}, {right}")
    return " ∪ ".join(parts) or "empty"


def _accepted_region(grid: np.ndarray, accepted: np.ndarray, critical: float) -> dict[str, Any]:
    """Describe the accepted grid points: an interval, a union of pieces, empty, or unbounded (at the grid edge)."""
    if not accepted.any():
        return {"kind": "empty", "low": None, "high": None, "pieces": [], "critical_f": critical}
    edges = np.flatnonzero(np.diff(accepted.astype(int)))
    starts = [0] if accepted[0] else []
    starts += [e + 1 for e in edges if not accepted[e]]
    ends = [e for e in edges if accepted[e]] + ([grid.size - 1] if accepted[-1] else [])
    pieces = [[float(grid[s]), float(grid[e])] for s, e in zip(starts, ends, strict=True)]
    unbounded = bool(accepted[0] or accepted[-1])
    kind = "unbounded" if unbounded else ("interval" if len(pieces) == 1 else "union")
    return {"kind": kind, "low": None, "high": None, "pieces": pieces, "critical_f": critical}


def _estimand(data: _IVData, spec: IVSpec) -> tuple[str, str]:
    """The label of what 2SLS estimates here, and the sentence that explains it."""
    if data.binary_treatment and data.binary_instrument:
        covariates = (
            " With covariates it is a weighted average of covariate-specific LATEs (Angrist & Imbens 1995), exactly "
            "so only when the covariates enter saturated."
            if spec.covariates else ""
        )
        return "LATE (compliers)", (
            "LATE: the average effect among compliers, the units whose treatment the instrument changes, assuming "
            "independence, exclusion and monotonicity (no defiers) (Imbens & Angrist 1994). It is not the ATE of "
            "the whole population." + covariates
        )
    if data.binary_treatment:
        which = "several instruments" if data.Z.shape[1] > 1 else "a non-binary instrument"
        return "weighted average of LATEs", (
            f"With {which}, 2SLS is a weighted average of local effects among the units each instrument shift moves "
            "(under monotonicity); it is not the ATE of the whole population."
        )
    return "IV slope (constant effect)", (
        "The effect of one unit of the treatment, assuming it is the same for everyone (linear, constant effect); "
        "with heterogeneous effects it is a weighted average of marginal effects."
    )


def _row(fit: Any, method: str, estimand: str, n: int, se_type: str, label: str) -> EstimateRow:
    low, high = (float(v) for v in fit.conf_int().loc[_TREATMENT])
    return EstimateRow(method=method, estimand=estimand, estimate=float(fit.params[_TREATMENT]),
                       std_error=float(fit.std_errors[_TREATMENT]), ci_low=low, ci_high=high, n_used=n,
                       se_type=se_type, label=label)


def _se_words(data: _IVData, spec: IVSpec) -> str:
    if spec.se == "cluster":
        return f"cluster-robust ({data.n_clusters} clusters)"
    return {"robust": "heteroskedasticity-robust", "unadjusted": "homoskedastic (classical)"}[spec.se]


def endogeneity_test(data: _IVData, part: _Partialled) -> dict[str, Any]:
    """Wooldridge's regression (control-function) test that the treatment is exogenous: add the first-stage
    residual to the outcome regression and test its coefficient with the chosen SE type.

    Why by hand: linearmodels' ``wooldridge_regression`` refits the augmented model through its data layer
    (≈ 9 s at 300,000 rows); on partialled columns it is a single-regressor sandwich. The tests check
    equality with linearmodels for every SE type.
    """
    _, v = part.coefficients(part.t)  # first-stage residual (covariates and instruments out)
    residual_on = np.column_stack([data.X, data.t])
    coef, *_ = np.linalg.lstsq(residual_on, np.column_stack([data.y, v]), rcond=None)
    resid = np.column_stack([data.y, v]) - residual_on @ coef
    y_r, v_r = resid[:, 0], resid[:, 1]
    vv = v_r @ v_r
    gamma = (v_r @ y_r) / vv
    e = y_r - gamma * v_r
    n, dof = part.n, part.n - data.X.shape[1] - 2
    if part.se == "unadjusted":
        variance = (e @ e) / dof / vv
    elif part.se == "cluster":
        sums = np.bincount(part.clusters, weights=v_r * e)
        g = part.n_clusters
        variance = g / (g - 1) * (n - 1) / dof * (sums @ sums) / vv**2
    else:
        variance = n / dof * np.sum((v_r * e) ** 2) / vv**2
    statistic = float(gamma**2 / variance)
    return {"name": "Wooldridge regression test (control function)", "statistic": statistic,
            "pvalue": float(stats.chi2.sf(statistic, 1))}


def _tests(fit: Any, data: _IVData, part: _Partialled, spec: IVSpec) -> dict[str, Any]:
    """Endogeneity (is OLS different?) and, if over-identified, the over-identification test (linearmodels)."""
    out: dict[str, Any] = {"endogeneity": endogeneity_test(data, part)}
    if part.q > 1:
        overid = fit.sargan if spec.se == "unadjusted" else fit.wooldridge_overid
        out["overidentification"] = {"name": "Sargan" if spec.se == "unadjusted" else "Wooldridge score",
                                     "statistic": float(overid.stat), "pvalue": float(overid.pval)}
    return out


def estimate_iv(
    frame: pd.DataFrame,
    spec: IVSpec,
    *,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> DesignResult:
    """2SLS of the outcome on the treatment instrumented by ``spec.instruments``, with covariates.

    Raises EstimationError for no instrument, an instrument without variation or collinear with the
    covariates, a missing column, or a treatment that is neither numeric nor two-valued. A weak first
    stage (F < 10) is a warning, not an error.
    """
    report = progress or (lambda fraction, message: None)
    data = _IVData(frame, spec)
    y, t, exog, instruments = data.frames()
    config = _fit_config(data, spec)
    report(0.2, "2SLS fit")
    fit = IV2SLS(y, exog, t, instruments).fit(**config)
    refuse_exact_fit(np.asarray(fit.resids, dtype=float), data.y, spec)
    if should_stop is not None and should_stop():
        raise EstimationError("IV estimation stopped before the diagnostics; nothing was stored.")
    report(0.6, "OLS comparison and first stage")
    ols = IV2SLS(y, pd.concat([exog, t], axis=1), None, None).fit(**config)
    part = _Partialled(data, spec)
    first = first_stage(data, spec, part)
    estimand, estimand_sentence = _estimand(data, spec)
    se_words = _se_words(data, spec)
    n = len(data.frame)
    refuse_irrelevant_instrument(first, data.z_names)
    strength = "weak" if first["f"] < WEAK_F else "strong"  # the AR set's benchmark figure
    kind = "iv-late" if data.binary_treatment and data.binary_instrument else "iv-2sls"
    main = _row(fit, "2sls", estimand, n, f"{se_words}, Wald 95% CI; " + wald_label(first, kind, spec.se),
                f"2SLS, instrumented by {', '.join(data.z_names)}")
    ols_row = _row(ols, "ols", "OLS coefficient (assumes no confounding)", n,
                   f"{se_words}, t 95% CI; covers the effect only if the treatment is exogenous",
                   "OLS with the same covariates, shown for contrast (biased if the treatment is endogenous)")
    report(0.8, "Anderson–Rubin set")
    ar = anderson_rubin_set(part, main.estimate, main.std_error or float("nan"), first["f"])
    ar["coverage"] = coverage_label(f"iv-ar-{strength}", spec.se)
    warnings = [w for w in (weak_instrument_warning(first),) if w]
    if ar["kind"] in ("unbounded", "whole line"):
        warnings.append(f"The Anderson–Rubin 95% set is {ar['text']}: the data cannot bound the effect with these "
                        "instruments.")
    diagnostics = IVDiagnostics(
        first_stage=FirstStage.model_validate(first), anderson_rubin=AndersonRubinSet.model_validate(ar),
        tests=IVTests.model_validate(_tests(fit, data, part, spec)), estimand_sentence=estimand_sentence,
        instruments=data.z_names, covariates=data.x_names[1:], se=spec.se,
    )
    if data.binary_treatment and data.binary_instrument and not spec.covariates:
        z = data.Z[:, 0] == 1
        diagnostics.complier_share = float(data.t[z].mean() - data.t[~z].mean())
    report(1.0, "IV estimate done")
    return DesignResult(
        design="iv", spec=spec.model_dump(mode="json"), estimates=[main, ols_row], n_used=n, dropped=data.dropped,
        diagnostics=diagnostics, warnings=warnings,
        notes=[estimand_sentence, *data.notes,
               "IV assumptions (not testable from these data): the instrument moves the treatment (relevance, checked "
               "by the first-stage F), is as good as random given the covariates, and affects the outcome only "
               "through the treatment (exclusion)."],
    )


# ---------------------------------------------------------------------------------------------
# Prefill from the DAG (the identification helper's conditional_instruments; guarded)
# ---------------------------------------------------------------------------------------------
def instruments_from_dag(project: Any, frame: pd.DataFrame) -> tuple[list[dict[str, list[str]]], str]:
    """Conditional instruments of the project's DAG as columns: [{"instruments": [z], "covariates": [w…]}].

    An empty list comes with the reason; when the graph has none it is the DAG engine's own sentence
    ("no conditional instrument exists in this graph").
    """
    from causal_core import dag as dag_module
    from causal_core.estimation.frontdoor import dag_focus, node_sets_as_columns

    spec, missing = dag_focus(project)
    if spec is None:
        return [], f"{missing}: name the instrument yourself"
    finder = getattr(dag_module, "conditional_instruments", None)
    if finder is None:
        return [], "this version's DAG engine has no instrument search (dag.conditional_instruments): name it yourself"
    none_message = getattr(dag_module, "NO_INSTRUMENT_MESSAGE", "no conditional instrument exists in this graph")
    try:
        found = finder(spec, spec.treatment, spec.outcome)
    except ValueError as error:
        return [], str(error) or none_message
    options, unusable = [], []
    for item in found:
        instrument, conditioning = item.instrument, list(item.conditioning)
        columns, bad = node_sets_as_columns(spec, [[instrument], conditioning], frame)
        if bad:
            unusable.append(instrument)
            continue
        options.append({"instruments": columns[0], "covariates": columns[1]})
    if not found:
        return [], none_message
    if not options:
        return [], f"the DAG's instrument(s) {', '.join(unusable)} (or their conditioning sets) have no data column"
    return options, "the DAG's conditional instrument" + ("s" if len(options) > 1 else "")
