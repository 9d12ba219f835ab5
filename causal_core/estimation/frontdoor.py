"""Front-door estimation (Pearl 1995): the effect of a binary treatment when adjustment fails but a
mediator set intercepts every causal path and is itself unconfounded given the treatment.

Why it is here: the DAG page can say "not identifiable by adjustment, but identifiable by the front door
through {M}"; without an estimator the analyst would fall back on an adjusted estimate the graph has
just declared biased (the worst defect this product can have). Two estimators of the same formula:

* **plug-in** (every mediator and covariate discrete): the nonparametric front-door formula
  ``E[Y(x)] = Σ_w P(w) Σ_m P(m | x, w) Σ_x' E[Y | m, x', w] P(x' | w)``, computed from cell counts;
* **linear** (a continuous mediator, or covariates that are not discrete): the product-of-stages
  estimator ``Σ_j a_j·b_j`` with ``M_j = a_j·X + γ_j·W`` and ``Y = Σ_j b_j·M_j + c·X + δ·W`` (the
  g-formula above under linear models, no X×M interaction).

The interval is a nonparametric bootstrap (rows, or whole clusters, resampled), vectorised over
replicates: with a discrete outcome the plug-in replicates are multinomial cell counts (exactly the row
bootstrap, O(cells) per replicate), otherwise one sparse product of resampling weights and a cell
indicator matrix; the linear ones are batched weighted least squares. Its Monte Carlo coverage is
measured by ``bench/bench_designs.py`` and stated with every interval (:data:`MEASURED_COVERAGE`).

The result type :class:`DesignResult` is shared with :mod:`causal_core.estimation.iv` and stored in
``Project.designs`` (copy-on-write, JSON round-trip).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from scipy import sparse

from causal_core.diagnostics_models import (
    FrontdoorBootstrap,
    FrontdoorDiagnostics,
    IVDiagnostics,
    PotentialOutcomeMeans,
    StageEffect,
)
from causal_core.estimation.constants import (
    MAX_BOOTSTRAP,
    MIN_ARM_ROWS,
    Z95,
    EstimationError,
    ProgressFn,
    StopFn,
)
from causal_core.estimation.design import _treatment_vector
from causal_core.estimation.resampling import _resample_weights
from causal_core.project import EstimateRow, Project, utc_now

MAX_DISCRETE_LEVELS = 10  # a numeric column with at most this many values counts as discrete
MAX_PLUGIN_CELLS = 400  # covariate cells × mediator cells × 2 treatment values
MIN_COMPLETED_REPLICATES = 50
# Monte Carlo coverage of each nominal 95 % interval, measured by bench/bench_designs.py --reps 500 (Monte Carlo
# SE ≈ 0.01; the designs are in that script). Re-run it after changing an estimator and copy the figures here.
_FD = "500 simulated datasets, n = 1,000, B = 200"
_IV = "500 simulated datasets, n = 1,000"
MEASURED_COVERAGE: dict[str, dict[str, Any]] = {
    "frontdoor-plugin/percentile": {"coverage": 0.948, "where": f"binary smoking → tar → cancer, latent U; {_FD}"},
    "frontdoor-plugin/normal": {"coverage": 0.962, "where": f"binary smoking → tar → cancer, latent U; {_FD}"},
    "frontdoor-linear/percentile": {"coverage": 0.934, "where": f"continuous mediator, latent U; {_FD}"},
    "frontdoor-linear/normal": {"coverage": 0.944, "where": f"continuous mediator, latent U; {_FD}"},
    "iv-2sls-strong/robust": {"coverage": 0.946, "where": f"first-stage F ≈ 100, heteroskedastic errors; {_IV}"},
    "iv-2sls-strong/unadjusted": {"coverage": 0.940, "where": f"first-stage F ≈ 100, heteroskedastic errors; {_IV}"},
    "iv-2sls-weak/robust": {"coverage": 0.894, "where": f"first-stage F ≈ 3, strong endogeneity; {_IV}"},
    "iv-2sls-weak/unadjusted": {"coverage": 0.892, "where": f"first-stage F ≈ 3, strong endogeneity; {_IV}"},
    "iv-late-strong/robust": {"coverage": 0.950, "where": f"randomised binary encouragement, 50 % compliers; {_IV}"},
    "iv-ar-strong/robust": {"coverage": 0.954, "where": f"first-stage F ≈ 100; {_IV}"},
    "iv-ar-strong/unadjusted": {"coverage": 0.942, "where": f"first-stage F ≈ 100, heteroskedastic errors; {_IV}"},
    "iv-ar-weak/robust": {"coverage": 0.964, "where": f"first-stage F ≈ 3, strong endogeneity; {_IV}"},
    "iv-ar-weak/unadjusted": {"coverage": 0.960, "where": f"first-stage F ≈ 3, strong endogeneity; {_IV}"},
}
COVERAGE_BAND = (0.93, 0.97)

FRONTDOOR_ASSUMPTIONS = (
    "Front-door assumptions (not testable from these data): the mediators intercept every directed path from "
    "the treatment to the outcome; nothing unblocked confounds treatment and mediators; every backdoor path "
    "from the mediators to the outcome is blocked by the treatment (and the covariates)."
)


class DesignSpecBase(BaseModel):
    """Shared fields of the front-door and IV specifications (kept outside project.py: a design's spec
    is stored as plain JSON inside ``Project.designs``)."""

    model_config = ConfigDict(extra="forbid")

    treatment: str
    outcome: str
    covariates: list[str] = Field(default_factory=list)
    cluster: str | None = None
    treated_value: str | None = None


class FrontdoorSpec(DesignSpecBase):
    mediators: list[str] = Field(default_factory=list)
    method: Literal["auto", "plugin", "linear"] = "auto"
    bootstrap: int = 500
    ci: Literal["percentile", "normal"] = "percentile"
    seed: int = 123


class DesignResult(BaseModel):
    """One non-adjustment design's estimate: the main row first, comparison rows after it."""

    model_config = ConfigDict(extra="forbid")

    design: Literal["frontdoor", "iv"]
    spec: dict[str, Any]
    estimates: list[EstimateRow] = Field(default_factory=list)
    n_used: int = 0
    dropped: dict[str, int] = Field(default_factory=dict)
    diagnostics: IVDiagnostics | FrontdoorDiagnostics = Field(
        description="The design's own diagnostics (causal_core.diagnostics_models); unknown keys are refused.")
    warnings: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    created_at: str = Field(default_factory=utc_now)

    @property
    def main(self) -> EstimateRow:
        return self.estimates[0]


# ---------------------------------------------------------------------------------------------
# Input checks and complete cases (shared with iv.py)
# ---------------------------------------------------------------------------------------------
def _available(frame: pd.DataFrame) -> str:
    return ", ".join(map(str, frame.columns[:25])) + (" …" if frame.shape[1] > 25 else "")


def check_design_columns(frame: pd.DataFrame, spec: DesignSpecBase, roles: dict[str, Sequence[str]]) -> None:
    """Every named column exists, plays one role only, and the outcome is numeric; else a message naming them.

    ``roles`` maps a role name ("mediator", "instrument") to its columns, so a missing mediator is reported
    as a missing *mediator*, not as an unknown column.
    """
    if spec.treatment == spec.outcome:
        raise EstimationError("The treatment and the outcome must be different columns.")
    named = {"treatment": [spec.treatment], "outcome": [spec.outcome], **roles, "covariate": spec.covariates}
    if spec.cluster:
        named["cluster"] = [spec.cluster]
    for role, columns in named.items():
        missing = [column for column in columns if column not in frame.columns]
        if missing:
            raise EstimationError(
                f"{role.capitalize()} column(s) not in the data: {', '.join(missing)}. The data has: {_available(frame)}."
            )
    seen: dict[str, str] = {}
    for role, columns in named.items():
        if role == "cluster":
            continue
        for column in columns:
            if column in seen and seen[column] != role:
                raise EstimationError(f"'{column}' cannot be both the {seen[column]} and a {role}.")
            if column in seen:
                raise EstimationError(f"'{column}' is listed twice as a {role}.")
            seen[column] = role
    outcome = frame[spec.outcome]
    if not (pd.api.types.is_numeric_dtype(outcome) or pd.api.types.is_bool_dtype(outcome)):
        raise EstimationError(f"The outcome '{spec.outcome}' is not numeric ({outcome.dtype}): encode it as numbers first.")


def complete_rows(frame: pd.DataFrame, columns: Sequence[str]) -> tuple[pd.DataFrame, dict[str, int]]:
    """Rows with every used column present; the dropped rows are counted per column (first missing one)."""
    keep = np.ones(len(frame), dtype=bool)
    dropped: dict[str, int] = {}
    for column in dict.fromkeys(columns):
        missing = frame[column].isna().to_numpy() & keep
        if missing.any():
            dropped[f"missing {column}"] = int(missing.sum())
            keep &= ~missing
    return (frame.loc[keep] if not keep.all() else frame), dropped


def numeric_block(frame: pd.DataFrame, columns: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Numeric columns as they are, text/categorical ones as reference-coded dummies (first level dropped)."""
    blocks, names = [], []
    for column in columns:
        series = frame[column]
        if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
            blocks.append(series.to_numpy(dtype=float)[:, None])
            names.append(column)
        else:
            dummies = pd.get_dummies(series.astype(str), prefix=column, prefix_sep="=", drop_first=True, dtype=float)
            blocks.append(dummies.to_numpy())
            names.extend(dummies.columns)
    if not blocks:
        return np.empty((len(frame), 0)), []
    return np.hstack(blocks), names


def binary_treatment(frame: pd.DataFrame, spec: DesignSpecBase, design_name: str) -> np.ndarray:
    """The treatment as 0/1 with a message that names the design (the front door here needs two arms)."""
    try:
        t = _treatment_vector(frame[spec.treatment], spec.treatment, spec.treated_value)
    except EstimationError as error:
        raise EstimationError(f"The {design_name} needs a binary treatment. {error}") from None
    n1 = int(t.sum())
    if min(n1, t.size - n1) < MIN_ARM_ROWS:
        raise EstimationError(
            f"Too few rows to compare: {n1:,} treated and {t.size - n1:,} control rows after dropping missing values; "
            f"the {design_name} needs at least {MIN_ARM_ROWS} of each."
        )
    return t


def cluster_codes(frame: pd.DataFrame, cluster: str | None) -> tuple[np.ndarray | None, int]:
    if not cluster:
        return None, 0
    codes = pd.factorize(frame[cluster])[0]
    n_clusters = int(codes.max()) + 1
    if n_clusters < 2:
        raise EstimationError(f"The cluster column '{cluster}' has a single value; clustering needs ≥ 2 clusters.")
    return codes, n_clusters


def is_discrete(series: pd.Series) -> bool:
    """Text, boolean, or numeric with few distinct values: the plug-in formula can use its levels as cells."""
    if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return True
    return int(series.nunique(dropna=True)) <= MAX_DISCRETE_LEVELS


def _cell_codes(frame: pd.DataFrame, columns: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Joint level of several discrete columns as 0..K-1, with a readable label per level."""
    if not columns:
        return np.zeros(len(frame), dtype=int), ["(all rows)"]
    grouped = frame.groupby(list(columns) if len(columns) > 1 else columns[0], sort=True, observed=True)
    codes = grouped.ngroup().to_numpy()
    keys = list(grouped.groups.keys())
    labels = [", ".join(f"{c}={v}" for c, v in zip(columns, key if isinstance(key, tuple) else (key,), strict=True))
              for key in keys]
    return codes, labels


# ---------------------------------------------------------------------------------------------
# The plug-in (discrete) front-door formula, vectorised over weight rows
# ---------------------------------------------------------------------------------------------
def _plugin_indicator(t: np.ndarray, m: np.ndarray, w: np.ndarray, n_m: int, n_w: int) -> sparse.csc_matrix:
    """n × (W·M·2) indicator of each row's (covariate cell, mediator cell, treatment) cell."""
    cell = (w * n_m + m) * 2 + t.astype(int)
    return sparse.csc_matrix((np.ones(t.size), (np.arange(t.size), cell)), shape=(t.size, n_w * n_m * 2))


def _plugin_tables(
    C: sparse.csc_matrix, y: np.ndarray, W: np.ndarray, n_m: int, n_w: int
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted row counts and outcome sums per (covariate, mediator, treatment) cell for every weight row."""
    counts = np.asarray((C.T @ W.T).T).reshape(-1, n_w, n_m, 2)
    sums = np.asarray((C.T @ (W * y).T).T).reshape(-1, n_w, n_m, 2)
    return counts, sums


def _frontdoor_formula(counts: np.ndarray, sums: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """E[Y(1)], E[Y(0)] and a validity flag per replicate from cell tables shaped (B, W, M, 2).

    A replicate is invalid when a (covariate, mediator) cell that occurs has no rows in one treatment arm:
    E[Y | m, x', w] is then undefined and the formula cannot be evaluated (positivity).
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = sums / counts  # E[Y | w, m, x']
        per_w = counts.sum(axis=2)  # (B, W, 2)
        p_x_given_w = per_w / per_w.sum(axis=2, keepdims=True)
        p_m_given_xw = counts / per_w[:, :, None, :]
    p_w = per_w.sum(axis=2) / counts.sum(axis=(1, 2, 3))[:, None]
    present = counts.sum(axis=3) > 0  # (B, W, M)
    valid = ~np.any(present & (counts.min(axis=3) == 0), axis=(1, 2)) & np.all(per_w.min(axis=2) > 0, axis=1)
    inner = np.where(present, np.nansum(mu * p_x_given_w[:, :, None, :], axis=3), 0.0)  # (B, W, M)
    p_m = np.nan_to_num(p_m_given_xw)
    means = np.einsum("bw,bwmx,bwm->bx", p_w, p_m, inner)
    return means[:, 1], means[:, 0], valid


def _plugin_means(
    C: sparse.csc_matrix, y: np.ndarray, W: np.ndarray, n_m: int, n_w: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """E[Y(1)], E[Y(0)] and validity for every weight row (B × n) by the front-door formula."""
    return _frontdoor_formula(*_plugin_tables(C, y, W, n_m, n_w))


class _CellSampler:
    """Row-bootstrap replicates of the plug-in formula drawn as multinomial cell counts.

    Why: with a discrete outcome every statistic the formula needs is a function of the counts of the
    (covariate, mediator, treatment, outcome) cells, and resampling n rows with replacement makes those
    counts multinomial(n, observed shares), exactly. A replicate then costs O(cells), not O(n).
    """

    def __init__(self, C: sparse.csc_matrix, y: np.ndarray, n_m: int, n_w: int):
        self.levels, y_codes = np.unique(y, return_inverse=True)
        cells = C.indices if C.format == "csr" else C.tocsr().indices  # each row's cell (one 1 per row)
        joint = cells * self.levels.size + y_codes
        self.shares = np.bincount(joint, minlength=C.shape[1] * self.levels.size) / y.size
        self.n, self.n_m, self.n_w = y.size, n_m, n_w

    def draw(self, rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        joint = rng.multinomial(self.n, self.shares, size=size).reshape(size, -1, self.levels.size).astype(float)
        counts = joint.sum(axis=2).reshape(size, self.n_w, self.n_m, 2)
        sums = (joint @ self.levels).reshape(size, self.n_w, self.n_m, 2)
        return _frontdoor_formula(counts, sums)


def _positivity_problem(t: np.ndarray, m: np.ndarray, w: np.ndarray, m_labels: list[str], w_labels: list[str]) -> str | None:
    """The first cell where the formula needs both treatment values and sees one, in words."""
    table = pd.crosstab([w, m], t)
    for column in (0.0, 1.0):
        if column not in table.columns:
            table[column] = 0
    for (wi, mi), row in table.iterrows():
        if row[0.0] == 0 or row[1.0] == 0:
            seen = "treated" if row[0.0] == 0 else "control"
            where = m_labels[mi] + ("" if len(w_labels) == 1 else f" within {w_labels[wi]}")
            return (
                f"Front-door positivity fails: the mediator cell {where} has {int(row.sum())} row(s), all {seen}, so "
                "E[outcome | mediator, treatment] is undefined for the other arm. Merge sparse mediator levels or "
                "use the linear method."
            )
    return None


# ---------------------------------------------------------------------------------------------
# The linear (product-of-stages) front-door estimator, vectorised over weight rows
# ---------------------------------------------------------------------------------------------
class _WeightedLeastSquares:
    """Weighted least squares of every target column for every weight row: (B, p, k) coefficients.

    The Gram matrices of all replicates are one BLAS product W @ [a_i·a_j] with the n × p² products
    formed once per analysis (not per batch), several times faster than (B, n, p) weighted copies;
    wide designs fall back to those.
    """

    def __init__(self, A: np.ndarray, targets: np.ndarray):
        self.A, self.targets = A, targets
        n, self.p = A.shape
        self.k = targets.shape[1]
        self.products = None
        if n * self.p * (self.p + self.k) <= 6e7:
            self.products = (
                (A[:, :, None] * A[:, None, :]).reshape(n, self.p * self.p),
                (A[:, :, None] * targets[:, None, :]).reshape(n, self.p * self.k),
            )

    def solve(self, W: np.ndarray) -> np.ndarray:
        p, k = self.p, self.k
        if self.products is not None:
            gram = (W @ self.products[0]).reshape(-1, p, p)
            cross = (W @ self.products[1]).reshape(-1, p, k)
        else:
            weighted = self.A[None, :, :] * W[:, :, None]
            gram = np.matmul(weighted.transpose(0, 2, 1), self.A)
            cross = np.matmul(weighted.transpose(0, 2, 1), self.targets)
        return np.linalg.solve(gram + 1e-10 * np.eye(p), cross)


class _LinearFrontdoor:
    """The two stages of the product-of-stages estimator, ready for any weight rows."""

    def __init__(self, t: np.ndarray, M: np.ndarray, X: np.ndarray, y: np.ndarray):
        ones = np.ones((t.size, 1))
        self.mediator_model = _WeightedLeastSquares(np.hstack([ones, t[:, None], X]), M)
        self.outcome_model = _WeightedLeastSquares(np.hstack([ones, M, t[:, None], X]), y[:, None])
        self.j = M.shape[1]

    def stages(self, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(B, J) treatment → mediator effects a and (B, J) mediator → outcome effects b."""
        a = self.mediator_model.solve(W)[:, 1, :]
        b = self.outcome_model.solve(W)[:, 1 : 1 + self.j, 0]
        return a, b

    def effects(self, W: np.ndarray) -> np.ndarray:
        """Σ_j a_j·b_j for every weight row (B × n)."""
        a, b = self.stages(W)
        return np.sum(a * b, axis=1)


# ---------------------------------------------------------------------------------------------
# The estimator
# ---------------------------------------------------------------------------------------------
def _choose_method(frame: pd.DataFrame, spec: FrontdoorSpec) -> tuple[str, str]:
    """'plugin' when every mediator and covariate is discrete and the cells are few, else 'linear' (and why)."""
    columns = [*spec.mediators, *spec.covariates]
    continuous = [c for c in columns if not is_discrete(frame[c])]
    cells = 2
    for group in (spec.mediators, spec.covariates):
        if group:
            cells *= int(frame[list(group)].drop_duplicates().shape[0])
    if spec.method == "plugin":
        if continuous:
            raise EstimationError(
                f"The plug-in front-door formula needs discrete mediators and covariates; continuous: "
                f"{', '.join(continuous)} (more than {MAX_DISCRETE_LEVELS} values). Use the linear method."
            )
        if cells > MAX_PLUGIN_CELLS:
            raise EstimationError(
                f"The plug-in formula would need {cells:,} cells (limit {MAX_PLUGIN_CELLS}); use the linear method."
            )
        return "plugin", "chosen by the analyst"
    if spec.method == "linear":
        return "linear", "chosen by the analyst"
    if continuous:
        return "linear", f"continuous column(s) {', '.join(continuous)}: product-of-stages linear models"
    if cells > MAX_PLUGIN_CELLS:
        return "linear", f"{cells:,} cells exceed the plug-in limit of {MAX_PLUGIN_CELLS}"
    return "plugin", "every mediator and covariate is discrete: the nonparametric plug-in formula"


def _naive_row(t: np.ndarray, y: np.ndarray) -> EstimateRow:
    """The raw difference in means with a Welch SE: how far the confounded comparison is from the front door."""
    y1, y0 = y[t == 1], y[t == 0]
    estimate = float(y1.mean() - y0.mean())
    se = float(np.sqrt(y1.var(ddof=1) / y1.size + y0.var(ddof=1) / y0.size))
    return EstimateRow(method="naive", estimand="ATE (only if unconfounded)", estimate=estimate, std_error=se,
                       ci_low=estimate - Z95 * se, ci_high=estimate + Z95 * se, n_used=int(t.size),
                       se_type="Welch ±1.96·SE; covers the effect only if there is no confounding",
                       label="confounded comparison, shown for contrast (not the effect when the DAG needs a design)")


def coverage_label(key: str, ci: str) -> str:
    """What the interval's measured Monte Carlo coverage is, or 'approximate' when it is unmeasured or off."""
    measured = MEASURED_COVERAGE.get(f"{key}/{ci}")
    if measured is None:
        return "approximate (coverage not measured for this interval)"
    lo, hi = COVERAGE_BAND
    verdict = "" if lo <= measured["coverage"] <= hi else "approximate: "
    return f"{verdict}Monte Carlo coverage {measured['coverage']:.3f} ({measured['where']})"


class _Prepared:
    """Arrays of one front-door analysis (complete cases)."""

    def __init__(self, frame: pd.DataFrame, spec: FrontdoorSpec):
        if not spec.mediators:
            raise EstimationError(
                "The front-door estimator needs at least one mediator: the variable(s) every causal path from the "
                "treatment to the outcome runs through."
            )
        check_design_columns(frame, spec, {"mediator": spec.mediators})
        used = [spec.treatment, spec.outcome, *spec.mediators, *spec.covariates, *([spec.cluster] if spec.cluster else [])]
        self.frame, self.dropped = complete_rows(frame, used)
        self.n_input = len(frame)
        self.t = binary_treatment(self.frame, spec, "front-door estimator")
        self.y = self.frame[spec.outcome].to_numpy(dtype=float)
        self.clusters, self.n_clusters = cluster_codes(self.frame, spec.cluster)
        self.method, self.method_reason = _choose_method(self.frame, spec)
        self.sampler: _CellSampler | None = None
        for mediator in spec.mediators:
            if self.frame[mediator].nunique() < 2:
                raise EstimationError(f"The mediator '{mediator}' has no variation (a single value): it cannot carry an effect.")
        if self.method == "plugin":
            self.m, self.m_labels = _cell_codes(self.frame, spec.mediators)
            self.w, self.w_labels = _cell_codes(self.frame, spec.covariates)
            problem = _positivity_problem(self.t, self.m, self.w, self.m_labels, self.w_labels)
            if problem:
                raise EstimationError(problem)
            self.C = _plugin_indicator(self.t, self.m, self.w, len(self.m_labels), len(self.w_labels))
            discrete_outcome = np.unique(self.y).size <= MAX_DISCRETE_LEVELS
            self.sampler = (_CellSampler(self.C, self.y, len(self.m_labels), len(self.w_labels))
                            if discrete_outcome and self.clusters is None else None)
        else:
            self.M, self.m_names = numeric_block(self.frame, spec.mediators)
            self.X, self.x_names = numeric_block(self.frame, spec.covariates)
            ones = np.ones((self.t.size, 1))
            if np.linalg.matrix_rank(np.hstack([ones, self.t[:, None], self.X])) < self.X.shape[1] + 2:
                raise EstimationError("The treatment is collinear with the covariates: the mediator model cannot separate them.")
            outcome_design = np.hstack([ones, self.M, self.t[:, None], self.X])
            if np.linalg.matrix_rank(outcome_design) < outcome_design.shape[1]:
                raise EstimationError(
                    "The mediators are collinear with the treatment or the covariates (e.g. a mediator that copies the "
                    "treatment): the outcome model cannot separate the mediator's effect from the treatment's."
                )
            self.linear = _LinearFrontdoor(self.t, self.M, self.X, self.y)

    @property
    def n(self) -> int:
        return int(self.t.size)

    def effects(self, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Front-door ATE for each weight row, and which rows could be evaluated."""
        if self.method == "plugin":
            m1, m0, valid = _plugin_means(self.C, self.y, W, len(self.m_labels), len(self.w_labels))
            return m1 - m0, valid
        effects = self.linear.effects(W)
        return effects, np.isfinite(effects)

    def batch_size(self, max_cells: float) -> int:
        """Replicates per batch: the (batch × n) weight matrix stays under ``max_cells`` numbers."""
        return max(1, int(max_cells // self.n))

    def draw(self, rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
        """``size`` bootstrap replicates (rows or whole clusters resampled) and which could be evaluated."""
        if self.sampler is not None:
            m1, m0, valid = self.sampler.draw(rng, size)
            return m1 - m0, valid
        return self.effects(_resample_weights(rng, self.n, size, self.clusters, self.n_clusters))


def frontdoor_bootstrap(
    prepared: _Prepared,
    replicates: int,
    seed: int,
    *,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    max_cells: float = 4e6,
) -> dict[str, Any]:
    """Replicate estimates in vectorised batches; cancellable between batches (kept if ≥ 50 are done)."""
    report = progress or (lambda fraction, message: None)
    rng = np.random.default_rng(seed)
    batch = prepared.batch_size(max_cells)
    chunks: list[np.ndarray] = []
    done, invalid, cancelled = 0, 0, False
    while done < replicates:
        if should_stop is not None and should_stop():
            cancelled = True
            break
        size = min(batch, replicates - done)
        effects, valid = prepared.draw(rng, size)
        chunks.append(effects[valid])
        invalid += int((~valid).sum())
        done += size
        report(done / replicates, f"Front-door bootstrap replicate {done}/{replicates}")
    reps = np.concatenate(chunks) if chunks else np.empty(0)
    return {"requested": replicates, "completed": done, "usable": int(reps.size), "undefined": invalid,
            "cancelled": cancelled, "replicates": reps}


def estimate_frontdoor(
    frame: pd.DataFrame,
    spec: FrontdoorSpec,
    *,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> DesignResult:
    """The front-door ATE with its bootstrap interval, the naive comparison, and the method's reasons.

    Raises EstimationError for a missing mediator column, a non-binary treatment, a mediator without
    variation, or a positivity failure of the plug-in formula; nothing is stored by this function.
    """
    if spec.bootstrap > MAX_BOOTSTRAP:
        raise EstimationError(
            f"The front-door bootstrap asks for {spec.bootstrap:,} replicates; the limit is {MAX_BOOTSTRAP:,}."
        )
    if spec.bootstrap < 0 or 0 < spec.bootstrap < MIN_COMPLETED_REPLICATES:
        raise EstimationError(
            f"The number of bootstrap replicates must be 0 (no interval) or at least {MIN_COMPLETED_REPLICATES} "
            f"(got {spec.bootstrap}; 500 or more gives a stable interval)."
        )
    prepared = _Prepared(frame, spec)
    report = progress or (lambda fraction, message: None)
    report(0.0, f"Front-door ({prepared.method}) point estimate")
    point, valid = prepared.effects(np.ones((1, prepared.n)))
    if not valid[0]:
        raise EstimationError("The front-door formula could not be evaluated on these rows (an undefined cell mean).")
    estimate = float(point[0])
    warnings: list[str] = []
    diagnostics = FrontdoorDiagnostics(method=prepared.method, method_reason=prepared.method_reason,
                                       mediators=list(spec.mediators), covariates=list(spec.covariates))
    if prepared.method == "plugin":
        diagnostics.mediator_cells = len(prepared.m_labels)
        diagnostics.covariate_cells = len(prepared.w_labels)
        y1, y0, _ = _plugin_means(prepared.C, prepared.y, np.ones((1, prepared.n)), len(prepared.m_labels),
                                  len(prepared.w_labels))
        diagnostics.potential_outcome_means = PotentialOutcomeMeans(treated=float(y1[0]), control=float(y0[0]))
    else:
        diagnostics.mediator_columns = prepared.m_names
        diagnostics.stage_effects = _stage_effects(prepared)
    se = ci_low = ci_high = None
    se_type = "none (no bootstrap requested)"
    if spec.bootstrap:
        boot = frontdoor_bootstrap(prepared, spec.bootstrap, spec.seed, progress=progress, should_stop=should_stop)
        reps = boot.pop("replicates")
        diagnostics.bootstrap = FrontdoorBootstrap.model_validate(boot)
        if boot["cancelled"]:
            warnings.append(f"Front-door bootstrap cancelled after {boot['completed']} of {boot['requested']} replicates"
                            + ("." if reps.size >= MIN_COMPLETED_REPLICATES else "; too few for an interval."))
        if boot["undefined"]:
            share = boot["undefined"] / boot["completed"]
            (warnings if share > 0.01 else diagnostics.notes).append(
                f"{boot['undefined']} bootstrap replicate(s) ({share:.1%}) left a mediator cell without one arm and were "
                "skipped; the interval may be too narrow when this share is large.")
        se_type = f"none ({reps.size} usable bootstrap replicates; at least {MIN_COMPLETED_REPLICATES} are needed)"
        if reps.size >= MIN_COMPLETED_REPLICATES:
            se = float(np.std(reps, ddof=1))
            if spec.ci == "percentile":
                ci_low, ci_high = (float(q) for q in np.quantile(reps, [0.025, 0.975]))
            else:
                ci_low, ci_high = estimate - Z95 * se, estimate + Z95 * se
            clusters = f", {prepared.n_clusters} clusters resampled" if prepared.clusters is not None else ""
            se_type = (f"bootstrap ({reps.size} replicates{clusters}), {spec.ci} 95% CI; "
                       + coverage_label(f"frontdoor-{prepared.method}", spec.ci))
    else:
        warnings.append("No bootstrap replicates requested: the front-door estimate has no interval.")
    row = EstimateRow(method="frontdoor", estimand="ATE", estimate=estimate, std_error=se, ci_low=ci_low,
                      ci_high=ci_high, n_used=prepared.n, se_type=se_type,
                      label=f"front-door ATE through {', '.join(spec.mediators)} ({prepared.method})")
    report(1.0, "Front-door estimate done")
    return DesignResult(
        design="frontdoor", spec=spec.model_dump(mode="json"), estimates=[row, _naive_row(prepared.t, prepared.y)],
        n_used=prepared.n, dropped=prepared.dropped, diagnostics=diagnostics, warnings=warnings,
        notes=[FRONTDOOR_ASSUMPTIONS, f"Method: {prepared.method} ({prepared.method_reason})."],
    )


def _stage_effects(prepared: _Prepared) -> list[StageEffect]:
    """Per mediator column: treatment → mediator (a) and mediator → outcome given treatment (b), full sample."""
    a, b = prepared.linear.stages(np.ones((1, prepared.n)))
    return [StageEffect(mediator=name, treatment_to_mediator=float(ai), mediator_to_outcome=float(bi),
                        product=float(ai * bi)) for name, ai, bi in zip(prepared.m_names, a[0], b[0], strict=True)]


# ---------------------------------------------------------------------------------------------
# Project steps (copy-on-write)
# ---------------------------------------------------------------------------------------------
def with_design(project: Project, result: DesignResult) -> Project:
    """A new project holding this design's result (an earlier one of the same design is replaced); the input
    project is never changed.

    Why on the project and not inside the adjustment estimation: a graph where adjustment fails needs no
    adjustment run first, and re-running the adjustment estimation must not drop a front-door or IV result.
    """
    designs = {**project.designs, result.design: result.model_dump(mode="json")}
    return project.model_copy(update={"designs": designs, "updated_at": utc_now()})


def stored_design(project: Project, design: str) -> DesignResult | None:
    """The stored result of one design, validated back into its model (None if absent)."""
    if design not in project.designs:
        return None
    return DesignResult.model_validate(project.designs[design])


# ---------------------------------------------------------------------------------------------
# Prefill from the DAG (the identification helper's frontdoor_sets; guarded while it is being written)
# ---------------------------------------------------------------------------------------------
def dag_focus(project: Project) -> tuple[Any, str] | tuple[None, str]:
    """The project's DAG when it names a treatment and an outcome, else None with what is missing."""
    spec = project.dag
    if spec is None or not spec.treatment or not spec.outcome:
        return None, "no DAG with a treatment and an outcome yet"
    columns = {node.name: node.column for node in spec.nodes}
    for role, node, column in (("treatment", spec.treatment, project.treatment), ("outcome", spec.outcome, project.outcome)):
        if column and columns.get(node) not in (None, column):
            return None, (f"the DAG's {role} node '{node}' measures '{columns.get(node)}', not the project's {role} "
                          f"'{column}' (a set found for another question would be wrong here)")
    return spec, ""


def node_sets_as_columns(spec: Any, sets: Sequence[Sequence[str]], frame: pd.DataFrame) -> tuple[list[list[str]], list[str]]:
    """DAG node sets → data-column sets; a set with a node that measures no column of the data is left out."""
    from causal_core import dag as dag_module

    usable, unusable = [], []
    for nodes in sets:
        columns = dag_module.adjustment_columns(spec, nodes)
        if len(columns) == len(nodes) and all(column in frame.columns for column in columns):
            usable.append(columns)
        else:
            unusable.append("{" + ", ".join(nodes) + "}")
    return usable, unusable


def frontdoor_from_dag(project: Project, frame: pd.DataFrame) -> tuple[list[list[str]], str]:
    """Mediator column sets that satisfy the front-door criterion in the project's DAG, and where they came from.

    An empty list always comes with the reason, so the page can say why nothing is prefilled.
    """
    from causal_core import dag as dag_module

    spec, missing = dag_focus(project)
    if spec is None:
        return [], f"{missing}: name the mediators yourself"
    finder = getattr(dag_module, "frontdoor_sets", None)
    if finder is None:
        return [], "this version's DAG engine has no front-door search (dag.frontdoor_sets): name the mediators yourself"
    try:
        sets = finder(spec, spec.treatment, spec.outcome)
    except ValueError as error:
        return [], f"the DAG could not be analysed ({error})"
    if not sets:
        return [], "no mediator set in the DAG satisfies the front-door criterion"
    usable, unusable = node_sets_as_columns(spec, sets, frame)
    if not usable:
        return [], f"front-door set(s) {', '.join(unusable)} include a node with no data column"
    return usable, "the DAG's front-door set" + ("s" if len(usable) > 1 else "")


def design_table(result: DesignResult) -> pd.DataFrame:
    """The estimate rows as the page and CLI show them (the main design row first)."""
    return pd.DataFrame(
        [{"method": row.method, "label": row.label, "estimand": row.estimand, "estimate": row.estimate,
          "std_error": row.std_error,
          "ci_low": row.ci_low, "ci_high": row.ci_high, "n_used": row.n_used, "interval": row.se_type}
         for row in result.estimates]
    )
