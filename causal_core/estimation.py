"""Estimation (N01 §9–11): adjustment set, design matrix, four estimators, diagnostics, trimming.

Why this module is plain numpy: the page must stay interactive on real data and the benchmark asks
for 1,000,000 rows in seconds, so every model is a closed-form OLS or a Newton/IRLS logistic fit
on a dense float64 design matrix, and every standard error is an explicit sandwich or influence
function (no per-row Python, no pandas in the hot path). statsmodels is the reference the tests
compare against, never the engine.

Conventions that reproduce N01 §11 on ``retention``:
* naive difference in means with a Welch SE and a ±1.96·SE interval;
* regression = linear probability model with HC3 SEs (constant-effect coefficient on treatment);
* IPW = Horvitz–Thompson form ``mean(t·y/e − (1−t)·y/(1−e))`` with propensities clipped to [0.02, 0.98];
* AIPW = per-arm outcome models (logistic for 0/1 outcomes) plugged into the efficient score.
The propensity model is an unpenalised logistic regression on standardised numerics + one-hot
categoricals (N01 used sklearn's L2, C = 1; at n = 6,000 the two agree to 3 decimals, see tests).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg
from scipy.special import expit
from scipy.stats import norm

from causal_core import dag as dag_module
from causal_core.audit import AuditInputError, code_treatment
from causal_core.project import (
    EstimateRow,
    EstimationResult,
    EstimationSpec,
    Project,
    Timing,
    utc_now,
)
from causal_core.question import estimand_kind

Z95 = float(norm.ppf(0.975))
MIN_ARM_ROWS = 10
ProgressFn = Callable[[float, str], None]
StopFn = Callable[[], bool]
METHOD_LABELS = {
    "naive": "Naive difference",
    "regression": "Regression adjustment (OLS)",
    "gcomp": "G-computation (interactions)",
    "ipw": "IPW",
    "aipw": "Doubly robust (AIPW)",
}


class EstimationError(ValueError):
    """A specification or dataset that cannot be estimated; the message says what to change."""


# ---------------------------------------------------------------------------------------------
# Eligibility and the default specification
# ---------------------------------------------------------------------------------------------
_TIMING_REASONS = {
    Timing.post_treatment: "post-treatment: measured after the treatment, so adjusting for it removes part of the "
    "effect (mediator) or opens a collider path",
    Timing.outcome: "measured in the outcome window: adjusting for an outcome-period variable biases the effect",
    Timing.future: "measured in the future (after the outcome window): adjusting for it leaks the outcome",
    Timing.treatment: "measured in the treatment period, not before it",
    Timing.unit_id: "a unit identifier, not a characteristic",
    Timing.time_id: "a time identifier, not a pre-treatment characteristic",
}


def _dag_descendant_columns(project: Project) -> set[str]:
    """Columns whose DAG node descends from the treatment node: post-treatment by the analyst's own DAG."""
    dag = project.dag
    if dag is None or not dag.treatment:
        return set()
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(node.name for node in dag.nodes)
    graph.add_edges_from((edge.source, edge.target) for edge in dag.edges)
    if dag.treatment not in graph:
        return set()
    descendants = nx.descendants(graph, dag.treatment)
    return {node.column for node in dag.nodes if node.name in descendants and node.column}


def ineligible_reason(project: Project, column: str) -> str | None:
    """Why a column may not enter a total-effect adjustment set (None = eligible).

    Choosing an ineligible column needs an explicit, logged override (see ``override_covariate``).
    Unknown timing is *not* a reason to block: it is never defaulted in, but the analyst may choose it.
    """
    if project.treatment and column == project.treatment:
        return "it is the treatment itself"
    if project.outcome and column == project.outcome:
        return "it is the outcome"
    if column in project.guardrails:
        return "it is a guardrail outcome (measured in the outcome window)"
    entry = project.dictionary_entry(column)
    if entry is not None and entry.simulation_truth:
        return "simulation truth: known only inside the simulation, never observable, never a covariate"
    if project.time_column and column == project.time_column:
        return "a time identifier, not a pre-treatment characteristic"
    if column in project.unit_columns:
        return "a unit identifier, not a characteristic"
    timing = project.timing_of(column)
    if timing in _TIMING_REASONS:
        label = f" ('{entry.timing_label}')" if entry is not None and entry.timing_label else ""
        return f"{_TIMING_REASONS[timing]}{label}"
    if column in _dag_descendant_columns(project):
        return "post-treatment by the DAG: it is a descendant of the treatment"
    return None


def _default_candidate(project: Project, frame: pd.DataFrame, column: str) -> bool:
    """Pre-treatment by the dictionary, eligible, and usable as a covariate (not a date, not an id-like text)."""
    if project.timing_of(column) != Timing.pre_treatment or ineligible_reason(project, column) is not None:
        return False
    series = frame[column]
    if pd.api.types.is_datetime64_any_dtype(series):
        return False
    return pd.api.types.is_numeric_dtype(series) or series.nunique(dropna=True) <= 50


def dag_adjustment(project: Project, frame: pd.DataFrame) -> tuple[list[str] | None, str]:
    """The DAG's recommended adjustment set as data columns, or None with the reason it is unavailable."""
    if project.dag is None or not project.dag.treatment or not project.dag.outcome:
        return None, "no DAG with a treatment and an outcome yet"
    try:
        identification = dag_module.identify(project.dag, project.dag.treatment, project.dag.outcome)
        if not identification.identifiable or identification.recommended_set is None:
            return None, f"the DAG does not identify the effect by adjustment ({identification.note or 'no valid set'})"
        columns = dag_module.adjustment_columns(project.dag, identification.recommended_set)
    except Exception as error:  # noqa: BLE001 - a broken DAG must not break estimation; fall back and say why
        return None, f"the DAG could not be analysed ({error})"
    return [column for column in columns if column in frame.columns], "the DAG's recommended adjustment set"


def default_covariates(project: Project, frame: pd.DataFrame) -> tuple[list[str], str]:
    """Default adjustment set and where it came from (DAG recommendation, else eligible pre-treatment columns)."""
    from_dag, note = dag_adjustment(project, frame)
    if from_dag is not None:
        eligible = [column for column in from_dag if ineligible_reason(project, column) is None]
        removed = sorted(set(from_dag) - set(eligible))
        if removed:
            note += f" (ineligible columns left out: {', '.join(removed)})"
        return eligible, note
    columns = [column for column in frame.columns if _default_candidate(project, frame, column)]
    return columns, f"the dictionary's eligible pre-treatment columns ({note})"


def default_estimand(project: Project) -> str:
    """The approved card's estimand, read exactly as the Question page and the memo's consistency check
    read it (one parser, so the three stages cannot disagree). CATE/LATE and unnamed estimands fall back
    to ATE: this page estimates ATE, ATT and ATC only."""
    card = project.estimand_card
    if card is None or project.card_status != "approved":
        return "ATE"
    kind = estimand_kind(card.estimand)
    return kind if kind in {"ATE", "ATT", "ATC"} else "ATE"


def categorical_columns(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    """Non-numeric covariates are one-hot encoded (booleans count as numeric 0/1)."""
    return [
        column for column in columns
        if column in frame.columns
        and not (pd.api.types.is_numeric_dtype(frame[column]) or pd.api.types.is_bool_dtype(frame[column]))
    ]


def default_spec(project: Project, frame: pd.DataFrame) -> EstimationSpec:
    """The specification the page starts from: roles from the project, covariates from the DAG or dictionary."""
    treatment = project.treatment or (project.dag.treatment if project.dag else None)
    outcome = project.outcome or (project.dag.outcome if project.dag else None)
    if not treatment or not outcome:
        raise EstimationError("Set the treatment and the outcome (Question or Overview page) before estimating.")
    covariates, _ = default_covariates(project, frame)
    cluster = project.cluster_column if project.cluster_column in frame.columns else None
    return EstimationSpec(
        treatment=treatment,
        outcome=outcome,
        covariates=covariates,
        categorical=categorical_columns(frame, covariates),
        estimand=default_estimand(project),
        cluster=cluster,
        treated_value=audit_treated_value(project),
    )


def audit_treated_value(project: Project) -> str | None:
    """The data audit's treated-value mapping for a two-valued text treatment, if the analyst set one."""
    return project.data_audit.settings.get("treated_value") if project.data_audit else None


def override_covariate(
    project: Project, spec: EstimationSpec, column: str, reason: str
) -> tuple[Project, EstimationSpec]:
    """Add an ineligible column on purpose: logged in the edit log and kept in ``spec.overrides`` for the memo."""
    why_blocked = ineligible_reason(project, column)
    if why_blocked is None:
        raise EstimationError(f"'{column}' is eligible; no override is needed.")
    if not reason.strip():
        raise EstimationError(f"Give a reason for adjusting for '{column}' ({why_blocked}).")
    covariates = spec.covariates if column in spec.covariates else [*spec.covariates, column]
    overrides = spec.overrides if column in spec.overrides else [*spec.overrides, column]
    new_spec = spec.model_copy(update={"covariates": covariates, "overrides": overrides})
    new_project = project.with_edit(
        "estimation", "override", None, column, note=f"blocked because {why_blocked}; analyst's reason: {reason.strip()}"
    )
    return new_project, new_spec


def blocked_covariates(project: Project, spec: EstimationSpec) -> dict[str, str]:
    """Covariates in the spec that are ineligible and not overridden: the page refuses to run with these."""
    blocked = {}
    for column in spec.covariates:
        reason = ineligible_reason(project, column)
        if reason is not None and column not in spec.overrides:
            blocked[column] = reason
    return blocked


def true_effect(project: Project | None, frame: pd.DataFrame, estimand: str, treatment: str | None = None) -> float | None:
    """Simulation truth for the chosen estimand (retention: mean true_individual_effect overall / treated / controls)."""
    if project is None or project.data_source is None or project.data_source.kind != "builtin":
        return None
    from causal_core.datasets import BUILTINS

    builtin = BUILTINS.get(project.data_source.name)
    column = builtin.true_effect_column if builtin else None
    treatment = treatment or project.treatment
    if not column or column not in frame.columns:
        return None
    effects = frame[column]
    if estimand in ("ATT", "ATC") and treatment in frame.columns:
        arm = 1 if estimand == "ATT" else 0
        effects = effects[frame[treatment] == arm]
    return float(effects.mean())


# ---------------------------------------------------------------------------------------------
# Design matrix
# ---------------------------------------------------------------------------------------------
@dataclass
class Design:
    """Numeric arrays for one analysis plus how they were built (for balance, sensitivity and the memo)."""

    y: np.ndarray
    t: np.ndarray
    X: np.ndarray  # standardised numerics + reference-coded dummies (+ missing indicators); no intercept
    names: list[str]
    groups: dict[str, list[int]]  # covariate -> its columns in X (a categorical is a group)
    scales: dict[str, tuple[float, float]]  # numeric X column -> (mean, sd) used to standardise
    reference: dict[str, tuple[str, list[int]]]  # categorical -> (reference level label, its dummy columns)
    clusters: np.ndarray | None
    n_clusters: int
    binary_outcome: bool
    n_input: int
    dropped: dict[str, int]
    notes: list[str] = field(default_factory=list)
    kept: np.ndarray | None = None  # positions of the used rows within the input frame

    @property
    def n(self) -> int:
        return int(self.y.size)

    @property
    def A1(self) -> np.ndarray:
        """[1, X], built once per design (the propensity and outcome models share it)."""
        cached = self.__dict__.get("_A1")
        if cached is None or cached.shape[0] != self.n or cached.shape[1] != self.X.shape[1] + 1:
            cached = _with_intercept(self.X)
            self.__dict__["_A1"] = cached
        return cached

    def subset(self, mask: np.ndarray) -> Design:
        """The same design restricted to some rows (trimming, data-subset refutation); scales are kept."""
        clusters = self.clusters[mask] if self.clusters is not None else None
        n_clusters = int(np.unique(clusters).size) if clusters is not None else 0
        if clusters is not None:
            clusters = np.unique(clusters, return_inverse=True)[1]
        kept = self.kept[mask] if self.kept is not None else None
        return Design(
            y=self.y[mask], t=self.t[mask], X=self.X[mask], names=list(self.names), groups=dict(self.groups),
            scales=dict(self.scales), reference=dict(self.reference), clusters=clusters, n_clusters=n_clusters,
            binary_outcome=self.binary_outcome, n_input=self.n_input, dropped=dict(self.dropped),
            notes=list(self.notes), kept=kept,
        )

    def with_column(self, name: str, values: np.ndarray) -> Design:
        """Append one covariate (random-common-cause refutation)."""
        design = self.subset(np.ones(self.n, dtype=bool))
        design.X = np.column_stack([self.X, values])
        design.names = [*self.names, name]
        design.groups = {**self.groups, name: [self.X.shape[1]]}
        return design


def _check_columns(frame: pd.DataFrame, spec: EstimationSpec) -> None:
    wanted = [spec.treatment, spec.outcome, *spec.covariates, *([spec.cluster] if spec.cluster else [])]
    unknown = [column for column in dict.fromkeys(wanted) if column not in frame.columns]
    if unknown:
        available = ", ".join(map(str, frame.columns[:25])) + (" …" if frame.shape[1] > 25 else "")
        raise EstimationError(f"Unknown column(s): {', '.join(unknown)}. The data has: {available}.")
    for role, column in (("treatment", spec.treatment), ("outcome", spec.outcome)):
        if column in spec.covariates:
            raise EstimationError(f"'{column}' is the {role}; it cannot also be a covariate.")
    if spec.treatment == spec.outcome:
        raise EstimationError("The treatment and the outcome must be different columns.")
    outcome = frame[spec.outcome]
    if not (pd.api.types.is_numeric_dtype(outcome) or pd.api.types.is_bool_dtype(outcome)):
        example = ", ".join(map(repr, outcome.dropna().unique()[:3]))
        raise EstimationError(
            f"The outcome '{spec.outcome}' is not numeric ({outcome.dtype}; e.g. {example}): "
            "encode it as numbers (0/1 for a binary outcome) first."
        )
    dates = [column for column in spec.covariates if pd.api.types.is_datetime64_any_dtype(frame[column])]
    if dates:
        raise EstimationError(f"Date column(s) cannot be covariates as is: {', '.join(dates)}.")
    lo, hi = spec.clip
    if not 0.0 <= lo < 0.5 < hi <= 1.0:
        raise EstimationError(f"Clip bounds must satisfy 0 ≤ low < 0.5 < high ≤ 1 (got {lo}, {hi}).")


def _treatment_vector(series: pd.Series, name: str, treated_value: str | None = None) -> np.ndarray:
    """A 0/1 float vector; anything else is refused with the values found.

    A two-valued text treatment ('yes'/'no') is coded by the data audit's treated-value mapping, through the
    audit's own coder, so the audit and the estimates cannot code the same column differently.
    """
    if treated_value is not None:
        try:
            return code_treatment(series, name, treated_value).to_numpy(dtype=float)
        except AuditInputError as error:
            raise EstimationError(str(error)) from error
    values = series.to_numpy()
    if pd.api.types.is_bool_dtype(series):
        return values.astype(float)
    if not pd.api.types.is_numeric_dtype(series):
        found = ", ".join(map(repr, pd.unique(values)[:5]))
        raise EstimationError(
            f"The treatment '{name}' must be coded 0/1; found non-numeric values ({found}). For a two-valued "
            "treatment, choose the value that means treated in the data audit's settings."
        )
    values = values.astype(float)
    bad = np.unique(values[(values != 0) & (values != 1)])
    if bad.size:
        raise EstimationError(
            f"The treatment '{name}' must be coded 0/1; found other values ({', '.join(f'{v:g}' for v in bad[:5])})."
        )
    return values


def _numeric_block(values: np.ndarray, name: str, missing: np.ndarray | None, indicator: bool):
    """Standardise one numeric covariate; with the indicator method, mean-impute and add a missing flag."""
    columns, names = [], []
    if indicator and missing is not None and missing.any():
        fill = float(np.nanmean(values)) if (~missing).any() else 0.0
        values = np.where(missing, fill, values)
        columns.append(missing.astype(float))
        names.append(f"{name}__missing")
    mean, sd = float(values.mean()), float(values.std())
    scaled = (values - mean) / sd if sd > 0 else values - mean
    return [scaled, *columns], [name, *names], (mean, sd if sd > 0 else 1.0)


def _categorical_block(series: pd.Series, name: str, indicator: bool):
    """Reference-coded dummies (levels sorted as text, the first is the reference, as statsmodels' C())."""
    try:  # factorize the values as they are (fast); mixed types fall back to their text
        codes, levels = pd.factorize(series, sort=True)
    except TypeError:
        codes, levels = pd.factorize(series.astype("string"), sort=True)
    levels = [str(level) for level in levels]
    if indicator and (codes < 0).any():  # the missing level goes last so it is never the reference
        codes = np.where(codes < 0, len(levels), codes)
        levels = [*levels, "(missing)"]
    dummies = [(codes == index).astype(float) for index in range(1, len(levels))]
    names = [f"{name}[{level}]" for level in levels[1:]]
    return dummies, names, str(levels[0]) if len(levels) else ""


def build_design(frame: pd.DataFrame, spec: EstimationSpec) -> Design:
    """Rows and columns the estimators use; every dropped row is counted by reason.

    Raises EstimationError for unknown columns, a non-numeric outcome, a treatment not coded 0/1,
    fewer than 10 rows in an arm, or a single cluster.
    """
    _check_columns(frame, spec)
    n_input = len(frame)
    dropped: dict[str, int] = {}
    keep = np.ones(n_input, dtype=bool)
    for reason, column in (("missing outcome", spec.outcome), ("missing treatment", spec.treatment)):
        missing = frame[column].isna().to_numpy() & keep
        if missing.any():
            dropped[reason] = int(missing.sum())
            keep &= ~missing
    if spec.cluster:
        missing = frame[spec.cluster].isna().to_numpy() & keep
        if missing.any():
            dropped["missing cluster id"] = int(missing.sum())
            keep &= ~missing
    categorical = set(spec.categorical) | set(categorical_columns(frame, spec.covariates))
    notes: list[str] = []
    covariate_missing = {
        column: frame[column].isna().to_numpy() for column in spec.covariates if frame[column].hasnans
    }
    if spec.missing == "complete_case" and covariate_missing:
        any_missing = np.logical_or.reduce(list(covariate_missing.values())) & keep
        if any_missing.any():
            dropped["missing covariates (complete cases)"] = int(any_missing.sum())
            keep &= ~any_missing
            notes.append(
                f"Complete cases: {int(any_missing.sum()):,} rows with a missing covariate "
                f"({', '.join(covariate_missing)}) were dropped."
            )
    elif covariate_missing:
        notes.append(
            f"Missing indicators: missing values in {', '.join(covariate_missing)} were filled (mean for numerics, "
            "a '(missing)' level for categoricals) and flagged with an indicator column."
        )
    rows = np.flatnonzero(keep)
    sub = frame.iloc[rows] if rows.size < n_input else frame
    t = _treatment_vector(sub[spec.treatment], spec.treatment, spec.treated_value)
    y = sub[spec.outcome].to_numpy(dtype=float)
    n_treated, n_control = int(t.sum()), int(t.size - t.sum())
    if min(n_treated, n_control) < MIN_ARM_ROWS:
        raise EstimationError(
            f"Too few rows to compare: {n_treated:,} treated and {n_control:,} control rows remain after dropping "
            f"missing values ({', '.join(f'{k}: {v:,}' for k, v in dropped.items()) or 'none dropped'}); at least "
            f"{MIN_ARM_ROWS} of each are needed."
        )
    columns: list[np.ndarray] = []
    names: list[str] = []
    groups: dict[str, list[int]] = {}
    scales: dict[str, tuple[float, float]] = {}
    reference: dict[str, tuple[str, list[int]]] = {}
    indicator = spec.missing == "indicator"
    for column in spec.covariates:
        start = len(names)
        if column in categorical:
            block, block_names, ref = _categorical_block(sub[column], column, indicator)
            reference[column] = (f"{column}[{ref}]", list(range(start, start + len(block))))
        else:
            values = pd.to_numeric(sub[column], errors="coerce").to_numpy(dtype=float)
            missing = covariate_missing[column][rows] if column in covariate_missing else None
            block, block_names, scale = _numeric_block(values, column, missing, indicator)
            scales[column] = scale
        columns.extend(block)
        names.extend(block_names)
        groups[column] = list(range(start, len(names)))
    X = np.column_stack(columns) if columns else np.empty((t.size, 0))
    if not np.isfinite(X).all():
        bad = [names[j] for j in np.flatnonzero(~np.isfinite(X).all(axis=0))]
        raise EstimationError(f"Covariate(s) {', '.join(bad)} contain non-numeric or infinite values.")
    clusters, n_clusters = None, 0
    if spec.cluster:
        clusters = pd.factorize(sub[spec.cluster])[0]
        n_clusters = int(clusters.max()) + 1
        if n_clusters < 2:
            raise EstimationError(f"The cluster column '{spec.cluster}' has a single value; clustering needs ≥ 2.")
    binary = bool(np.isin(np.unique(y), [0.0, 1.0]).all())
    design = Design(
        y=y, t=t, X=X, names=names, groups=groups, scales=scales, reference=reference, clusters=clusters,
        n_clusters=n_clusters, binary_outcome=binary, n_input=n_input, dropped=dropped, notes=notes, kept=rows,
    )
    return _drop_collinear(design)


def _design_gram(design: Design) -> np.ndarray:
    """Gram matrix of [1, t, X] assembled from blocks (no n×(p+2) copy of the data)."""
    X, t = design.X, design.t
    p = X.shape[1]
    gram = np.empty((p + 2, p + 2))
    gram[0, 0], gram[0, 1], gram[1, 1] = design.n, t.sum(), t @ t
    gram[0, 2:] = X.sum(axis=0)
    gram[1, 2:] = t @ X
    gram[2:, 2:] = X.T @ X
    lower = np.tril_indices(p + 2, -1)
    gram[lower] = gram.T[lower]
    return gram


def _drop_collinear(design: Design) -> Design:
    """Remove covariate columns that are constant or exact linear combinations of earlier ones.

    Greedy in column order on the Gram matrix of [1, t, X], so the treatment is never the column dropped.
    """
    if design.X.shape[1] == 0:
        return design
    gram = _design_gram(design)
    kept: list[int] = [0, 1]
    for j in range(2, gram.shape[1]):
        sub = gram[np.ix_(kept, kept)]
        cross = gram[kept, j]
        try:
            residual = gram[j, j] - cross @ np.linalg.solve(sub, cross)
        except np.linalg.LinAlgError:
            residual = 0.0
        if residual > 1e-9 * max(gram[j, j], 1e-12) and residual > 1e-10 * design.n:
            kept.append(j)
    drop = [j - 2 for j in range(2, gram.shape[1]) if j not in kept]
    if not drop:
        return design
    keep_cols = [j for j in range(design.X.shape[1]) if j not in drop]
    remap = {old: new for new, old in enumerate(keep_cols)}
    design.notes.append(
        "Dropped constant or collinear column(s): " + ", ".join(design.names[j] for j in drop) + "."
    )
    design.X = design.X[:, keep_cols]
    design.names = [design.names[j] for j in keep_cols]
    design.groups = {
        key: [remap[j] for j in cols if j in remap] for key, cols in design.groups.items()
        if any(j in remap for j in cols)
    }
    design.reference = {
        key: (label, [remap[j] for j in cols if j in remap]) for key, (label, cols) in design.reference.items()
    }
    return design


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
        return float(np.sqrt(n_clusters / (n_clusters - 1) * np.sum(sums**2)) / n), f"cluster-robust IF ({n_clusters} clusters)"
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
        "coefficient": float(fit.beta[1]), "classical_se": classical_se, "robust_se": se,
        "t_stat": float(fit.beta[1] / classical_se), "dof": fit.dof,
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


def _fit_arm(A: np.ndarray, y: np.ndarray, rows: np.ndarray, predict: np.ndarray, binary: bool) -> tuple[np.ndarray, bool]:
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


def aipw(design: Design, e: np.ndarray, models: OutcomeModels, estimand: str, label: str = "") -> tuple[EstimateRow, dict[str, float]]:
    estimate, influence, arm_means = aipw_scores(design, e, models, estimand)
    se, se_type = _if_se(influence, design.clusters, design.n_clusters)
    return _row("aipw", estimand, estimate, se, design.n, se_type + label), arm_means


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
        {"covariate": name, "treated_mean": float(a), "control_mean": float(b), "smd_before": float(c),
         "weighted_treated_mean": float(d), "weighted_control_mean": float(e), "smd_after": float(f)}
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


def overlap_summary(design: Design, ps: Propensity, clip: tuple[float, float]) -> dict[str, Any]:
    """Propensity distribution by arm, how many rows clipping touched, and a binned density for the plot."""
    e, t = ps.raw, design.t
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
        out[name] = {
            "n": int(w.size), "ess": ess, "ess_share": ess / w.size if w.size else 0.0,
            "max_weight": float(w.max()), "mean_weight": float(w.mean()),
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
    if spec.trim == "bounds":
        return spec.clip
    if spec.trim == "crump":
        alpha = crump_alpha(e)
        return (alpha, 1 - alpha) if alpha > 0 else None
    return None


# ---------------------------------------------------------------------------------------------
# Orchestration
# ---------------------------------------------------------------------------------------------
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


def estimate_core(design: Design, spec: EstimationSpec, methods: tuple[str, ...] = ALL_METHODS) -> CoreFit:
    """Run the chosen estimators on one design (no diagnostics): the unit that refutations repeat."""
    estimand = spec.estimand
    core = CoreFit(rows=[])
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        core.timings[name] = now - clock
        clock = now

    if "naive" in methods:
        core.rows.append(naive_difference(design, estimand))
        lap("naive")
    if "regression" in methods:
        row, core.regression_info = regression(design, estimand)
        core.rows.append(row)
        lap("regression")
    if "gcomp" in methods:
        core.rows.append(gcomputation(design, estimand))
        lap("gcomp")
    if "ipw" in methods or "aipw" in methods:
        core.ps = propensity(design, spec.clip)
        w1, w0 = _ipw_weights(design.t, core.ps.clipped, estimand)
        core.ipw_weights = w1 + w0
        lap("propensity")
    if "ipw" in methods:
        core.rows.append(ipw(design, core.ps, estimand))
        lap("ipw")
    if "aipw" in methods:
        folds = crossfit_folds(design.n, spec.crossfit_folds, spec.seed)
        e = core.ps.clipped if folds is None else crossfit_propensity(design, spec.clip, folds)
        core.models = outcome_models(design, folds)
        label = f", {spec.crossfit_folds}-fold cross-fitted" if folds is not None else ""
        row, core.arm_means = aipw(design, e, core.models, estimand, label)
        core.rows.append(row)
        lap("aipw")
    return core


def _separation_culprits(design: Design) -> list[str]:
    """Covariate columns that alone split the arms: a category level seen in one arm only, or non-overlapping ranges."""
    culprits = []
    treated = design.t == 1
    for _label, dummies in design.reference.values():
        for j in dummies:
            present = design.X[:, j] == 1
            if present.any() and (treated[present].all() or (~treated[present]).all()):
                culprits.append(f"{design.names[j]} (all {'treated' if treated[present].all() else 'control'})")
    for name in design.scales:
        j = design.names.index(name)
        x = design.X[:, j]
        if x[treated].min() > x[~treated].max() or x[treated].max() < x[~treated].min():
            culprits.append(f"{name} (no overlap in range)")
    return culprits


def overlap_warnings(design: Design, core: CoreFit, overlap: dict[str, Any], weights: dict[str, Any]) -> list[str]:
    """Plain-language warnings naming the estimators that are unreliable and why."""
    warnings = []
    ps = core.ps
    if ps is not None and ps.fit.separated:
        culprits = _separation_culprits(design)
        named = f" ({', '.join(culprits[:5])})" if culprits else ""
        warnings.append(
            "Perfect or quasi-perfect separation in the propensity model: some covariates predict treatment "
            f"exactly{named}. IPW and AIPW are unreliable (propensities at 0 or 1, weights only bounded by clipping); "
            "regression and g-computation compare arms only by extrapolating a linear model across the gap."
        )
    if overlap["share_clipped"] > 0.05 or overlap["share_outside_05_95"] > 0.2:
        warnings.append(
            f"Poor overlap: {overlap['share_clipped']:.1%} of rows have an estimated propensity outside the clip bounds "
            f"[{overlap['clip'][0]:g}, {overlap['clip'][1]:g}] and {overlap['share_outside_05_95']:.1%} lie outside "
            "[0.05, 0.95]. IPW and AIPW are unreliable there (few comparable units; clipping biases the weights) and "
            "regression extrapolates. Consider trimming (Crump rule), which changes the estimand."
        )
    for arm in ("treated", "control"):
        info = weights.get(arm, {})
        if info and info["ess_share"] < 0.3:
            warnings.append(
                f"Extreme weights in the {arm} arm: effective sample size {info['ess']:.0f} of {info['n']:,} rows "
                f"({info['ess_share']:.0%}); IPW is driven by a few rows (max weight {info['max_weight']:.1f})."
            )
    if core.models is not None and core.models.separated:
        warnings.append(
            "The AIPW outcome model separates in the " + " and ".join(core.models.separated) + " arm(s) "
            "(predicted probabilities at 0 or 1); AIPW leans on the propensity weights there."
        )
    return warnings


def run_estimation(
    frame: pd.DataFrame,
    spec: EstimationSpec,
    *,
    true_effect: float | None = None,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    sensitivity: bool = True,
    refutations: bool = True,
) -> EstimationResult:
    """Estimate the spec's estimand with every method, plus diagnostics, sensitivity and refutations.

    Pure: the frame and spec are not changed; a bad input raises EstimationError before anything is computed.
    ``progress(fraction, message)`` is called between steps; ``should_stop()`` cancels the bootstrap.
    """
    report = progress or (lambda fraction, message: None)
    report(0.0, "Building the design matrix")
    design = build_design(frame, spec)
    warnings: list[str] = []
    trim_info: dict[str, Any] | None = None
    if spec.trim:
        design, trim_info = _apply_trimming(design, spec)
        if trim_info.get("statement"):
            warnings.append(trim_info["statement"])
    report(0.1, "Fitting the estimators")
    core = estimate_core(design, spec)
    report(0.4, "Diagnostics")
    diagnostics = _diagnostics(design, spec, core)
    if trim_info:
        diagnostics["trimming"] = trim_info
    warnings.extend(overlap_warnings(design, core, diagnostics["overlap"], diagnostics["weights"]))
    warnings.extend(
        f"Override: '{column}' is adjusted for although it is ineligible (logged in the edit log; the memo flags it)."
        for column in spec.overrides
    )
    rows = list(core.rows)
    if spec.bootstrap > 0:
        report(0.45, f"Bootstrap ({spec.bootstrap} replicates)")
        boot = bootstrap(design, spec, core, progress=_sub_progress(report, 0.45, 0.6), should_stop=should_stop)
        diagnostics["bootstrap"] = boot
        rows.extend(boot.pop("rows"))
        if boot["cancelled"]:
            warnings.append(boot["message"])
    result_sensitivity: dict[str, Any] = {}
    if sensitivity:
        report(0.6, "Sensitivity analysis")
        from causal_core import sensitivity as sensitivity_module

        result_sensitivity = sensitivity_module.summarise(design, core, spec)
    result_refutations: list[dict[str, Any]] = []
    if refutations:
        from causal_core import refutation

        report(0.7, "Refutation tests")
        result_refutations = refutation.run_refutations(design, spec, core, estimate_core)
    report(1.0, "Done")
    return EstimationResult(
        spec=spec,
        n_used=design.n,
        dropped=design.dropped,
        estimates=rows,
        true_effect=true_effect,
        diagnostics=diagnostics,
        sensitivity=result_sensitivity,
        refutations=result_refutations,
        warnings=warnings,
    )


def _sub_progress(report: ProgressFn, start: float, end: float) -> ProgressFn:
    """Map a step's own 0–1 progress into its slice of the overall bar."""
    return lambda fraction, message: report(start + (end - start) * fraction, message)


def _apply_trimming(design: Design, spec: EstimationSpec) -> tuple[Design, dict[str, Any]]:
    """Drop rows with extreme estimated propensities and say plainly how the estimand changed."""
    ps = propensity(design, spec.clip)
    bounds = trimming_rule(spec, ps.raw)
    rule = "Crump et al. (2009) rule" if spec.trim == "crump" else "the clip bounds"
    if bounds is None:
        return design, {
            "rule": spec.trim, "bounds": None, "kept": design.n, "dropped": 0,
            "statement": f"Trimming by {rule}: overlap is adequate, no rows trimmed; the estimand is unchanged.",
        }
    lo, hi = bounds
    keep = (ps.raw >= lo) & (ps.raw <= hi)
    trimmed = design.subset(keep)
    n_treated, n_control = int(trimmed.t.sum()), int(trimmed.n - trimmed.t.sum())
    if min(n_treated, n_control) < MIN_ARM_ROWS:
        raise EstimationError(
            f"Trimming to propensities in [{lo:.3f}, {hi:.3f}] leaves {n_treated} treated and {n_control} control rows;"
            f" at least {MIN_ARM_ROWS} of each are needed. Use wider bounds or no trimming."
        )
    removed = design.n - trimmed.n
    trimmed.dropped = {**design.dropped, f"trimmed (propensity outside [{lo:.3f}, {hi:.3f}])": removed}
    population = {"ATE": "all units", "ATT": "all treated units", "ATC": "all control units"}[spec.estimand]
    statement = (
        f"Trimming by {rule} kept {trimmed.n:,} of {design.n:,} rows with estimated propensity in [{lo:.3f}, {hi:.3f}]: "
        f"the estimand is now the {spec.estimand} in this overlap population, not for {population}."
    )
    return trimmed, {"rule": spec.trim, "bounds": [lo, hi], "kept": trimmed.n, "dropped": removed, "statement": statement}


def _diagnostics(design: Design, spec: EstimationSpec, core: CoreFit) -> dict[str, Any]:
    weights = core.ipw_weights
    return {
        "n_treated": int(design.t.sum()),
        "n_control": int(design.n - design.t.sum()),
        "n_clusters": design.n_clusters,
        "binary_outcome": design.binary_outcome,
        "outcome_sd": float(design.y.std(ddof=1)),
        "control_mean": float(design.y[design.t == 0].mean()),
        "treated_mean": float(design.y[design.t == 1].mean()),
        "design_columns": list(design.names),
        "notes": list(design.notes),
        "missing_handling": spec.missing,
        "balance": balance_table(design, weights),
        "overlap": overlap_summary(design, core.ps, spec.clip),
        "weights": weight_summary(design, weights),
        "propensity_model": {
            "kind": "logistic (unpenalised, Newton)", "converged": core.ps.fit.converged,
            "iterations": core.ps.fit.iterations, "separated": core.ps.fit.separated,
            "parameters": int(core.ps.fit.beta.size),
        },
        "outcome_model": {"kind": core.models.kind, "separated_arms": core.models.separated,
                          "crossfit_folds": spec.crossfit_folds},
        "regression": core.regression_info,
        "arm_means": core.arm_means,
        "timings_s": {key: round(value, 4) for key, value in core.timings.items()},
    }


# ---------------------------------------------------------------------------------------------
# Bootstrap (vectorised over replicates: batched Newton fits with resampling weights)
# ---------------------------------------------------------------------------------------------
def _resample_weights(rng: np.random.Generator, n: int, size: int, clusters: np.ndarray | None, n_clusters: int) -> np.ndarray:
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


def _replicate_estimates(design: Design, spec: EstimationSpec, core: CoreFit, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """IPW and AIPW re-estimated (propensity and outcome models refitted) for each weight row."""
    A, t, y, estimand = core.ps.A, design.t, design.y, spec.estimand
    beta_ps = _batched_logit(A, t, W, core.ps.fit.beta)
    e = np.clip(expit(beta_ps @ A.T), *spec.clip)
    w1, w0 = _ipw_weights(t[None, :], e, estimand)
    c = _target_weights(t, estimand)
    ipw_reps = np.sum(W * (w1 - w0) * y, axis=1) / (W @ c)
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
    if estimand == "ATE":
        psi = m1 - m0 + t * (y - m1) / e - (1 - t) * (y - m0) / (1 - e)
        aipw_reps = np.sum(W * psi, axis=1) / W.sum(axis=1)
    elif estimand == "ATT":
        score = t * (y - m0) - (1 - t) * e / (1 - e) * (y - m0)
        aipw_reps = np.sum(W * score, axis=1) / (W @ t)
    else:
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
    report = progress or (lambda fraction, message: None)
    rng = np.random.default_rng(spec.seed)
    total = spec.bootstrap
    batch = max(1, int(max_cells // (design.n * core.ps.A.shape[1])))
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
    out: dict[str, Any] = {"requested": total, "completed": done, "cancelled": cancelled, "rows": [],
                           "clustered": design.clusters is not None}
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


# ---------------------------------------------------------------------------------------------
# Presentation: results table, forest plot, love plot, overlap and weight charts (altair, no streamlit)
# ---------------------------------------------------------------------------------------------
def method_label(row: EstimateRow) -> str:
    label = METHOD_LABELS.get(row.method, row.method)
    return f"{label} [bootstrap SE]" if row.se_type.startswith("bootstrap") else label


def estimates_table(result: EstimationResult) -> pd.DataFrame:
    """The results table: method, estimand, estimate, SE, 95 % CI, n used, SE type."""
    return pd.DataFrame(
        [
            {"method": method_label(row), "estimand": row.estimand, "estimate": row.estimate, "std_error": row.std_error,
             "ci_low": row.ci_low, "ci_high": row.ci_high, "n_used": row.n_used, "se_type": row.se_type}
            for row in result.estimates
        ]
    )


def forest_chart(result: EstimationResult, title: str | None = None):
    """Estimates with 95 % CIs, the zero line and (simulations) the true effect as a dashed line."""
    import altair as alt

    table = estimates_table(result)
    order = table["method"].tolist()
    base = alt.Chart(table).encode(y=alt.Y("method:N", sort=order, title=None))
    bars = base.mark_rule(strokeWidth=2, color="#93c5fd").encode(x=alt.X("ci_low:Q", title="Effect estimate (95 % CI)"), x2="ci_high:Q")
    points = base.mark_circle(size=90, color="#2563eb").encode(
        x="estimate:Q",
        tooltip=["method", "estimand", alt.Tooltip("estimate:Q", format="+.4f"), alt.Tooltip("ci_low:Q", format="+.4f"),
                 alt.Tooltip("ci_high:Q", format="+.4f"), "se_type", "n_used"],
    )
    layers = [bars, points, alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(color="#475569").encode(x="x:Q")]
    if result.true_effect is not None:
        truth = pd.DataFrame({"x": [result.true_effect], "label": [f"true {result.spec.estimand} {result.true_effect:+.3f}"]})
        layers.append(alt.Chart(truth).mark_rule(color="#dc2626", strokeDash=[6, 4]).encode(x="x:Q", tooltip=["label"]))
        layers.append(alt.Chart(truth).mark_text(color="#dc2626", align="left", dx=4, dy=-6, baseline="bottom").encode(
            x="x:Q", y=alt.value(0), text="label"))
    chart = alt.layer(*layers).properties(height=max(160, 36 * len(order)))
    return chart.properties(title=title) if title else chart


def love_plot(result: EstimationResult):
    """SMD of every covariate before and after IPW weighting, with the |SMD| = 0.1 guide lines."""
    import altair as alt

    rows = result.diagnostics.get("balance", [])
    long = pd.DataFrame(
        [{"covariate": r["covariate"], "stage": "before weighting", "smd": r["smd_before"]} for r in rows]
        + [{"covariate": r["covariate"], "stage": "after weighting", "smd": r["smd_after"]} for r in rows]
    )
    order = [r["covariate"] for r in rows]
    points = alt.Chart(long).mark_point(filled=True, size=70).encode(
        x=alt.X("smd:Q", title="Standardised mean difference (treated − control)"),
        y=alt.Y("covariate:N", sort=order, title=None),
        color=alt.Color("stage:N", scale=alt.Scale(domain=["before weighting", "after weighting"], range=["#f97316", "#2563eb"])),
        tooltip=["covariate", "stage", alt.Tooltip("smd:Q", format="+.3f")],
    )
    guides = alt.Chart(pd.DataFrame({"x": [-0.1, 0.1]})).mark_rule(strokeDash=[4, 4], color="#94a3b8").encode(x="x:Q")
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(color="#475569").encode(x="x:Q")
    return alt.layer(guides, zero, points).properties(height=max(160, 22 * len(order)))


def _binned_chart(records: list[dict[str, Any]], value: str, title: str, log_x: bool = False):
    import altair as alt

    data = pd.DataFrame(records)
    scale = alt.Scale(type="log") if log_x else alt.Scale(domain=[0, 1])
    return alt.Chart(data).mark_area(opacity=0.4, interpolate="step-after").encode(
        x=alt.X("bin_start:Q", title=title, scale=scale),
        y=alt.Y(f"{value}:Q", title="density", stack=None),
        color=alt.Color("arm:N", scale=alt.Scale(domain=["treated", "control"], range=["#dc2626", "#2563eb"])),
        tooltip=["arm", alt.Tooltip("bin_start:Q", format=".3f"), alt.Tooltip("bin_end:Q", format=".3f"), "count"],
    ).properties(height=220)


def overlap_chart(result: EstimationResult):
    """Estimated propensity by arm (N01's overlap plot), with the clip bounds marked."""
    import altair as alt

    overlap = result.diagnostics["overlap"]
    bounds = alt.Chart(pd.DataFrame({"x": overlap["clip"]})).mark_rule(strokeDash=[4, 4], color="#475569").encode(x="x:Q")
    return alt.layer(_binned_chart(overlap["histogram"], "density", "Estimated probability of treatment"), bounds)


def weights_chart(result: EstimationResult):
    return _binned_chart(result.diagnostics["weights"]["histogram"], "density", "IPW weight (log scale)", log_x=True)


# ---------------------------------------------------------------------------------------------
# N01 §11 exactly as the notebook computed it (kept to prove the reproduction and explain the AIPW digit)
# ---------------------------------------------------------------------------------------------
N01_COVARIATES = ["company_size", "tenure_months", "usage_score", "prior_tickets", "health_score", "region", "segment"]
N01_CATEGORICAL = ["region", "segment"]


def _n01_features(frame: pd.DataFrame, scale_rows: np.ndarray) -> np.ndarray:
    """StandardScaler fitted on `scale_rows` for the numerics + full one-hot (sorted levels) for the categoricals."""
    numeric = frame[[c for c in N01_COVARIATES if c not in N01_CATEGORICAL]].to_numpy(dtype=float)
    mean, sd = numeric[scale_rows].mean(axis=0), numeric[scale_rows].std(axis=0)
    dummies = pd.get_dummies(frame[N01_CATEGORICAL].astype(str)).to_numpy(dtype=float)
    return _with_intercept((numeric - mean) / sd, dummies)


def n01_section11_table(frame: pd.DataFrame, clip: tuple[float, float] = (0.02, 0.98)) -> pd.DataFrame:
    """N01 §11's estimate table computed the notebook's way, quirks included.

    Differences from ``run_estimation`` (deliberate here, documented there):
    * logistic models are L2-penalised as sklearn's default (C = 1 on the summed log-loss, intercept free);
    * the IPW SE is N01's 300-replicate bootstrap (seed 123) holding the propensities fixed;
    * doubly robust: N01's three Pipelines share one ColumnTransformer, and sklearn's Pipeline refits it in
      place, so the control outcome model's coefficients end up applied to features standardised on the
      *treated* rows. Reproducing that gives N01's −0.047 [−0.068, −0.026]; the correct computation
      (``run_estimation``) gives −0.048 [−0.068, −0.027].
    """
    t = frame["outreach"].to_numpy(dtype=float)
    y = frame["churn"].to_numpy(dtype=float)
    design = build_design(frame, EstimationSpec(treatment="outreach", outcome="churn", covariates=N01_COVARIATES,
                                                categorical=N01_CATEGORICAL))
    naive = naive_difference(design, "ATE")
    reg, _ = regression(design, "ATE")
    everyone = np.ones(t.size, dtype=bool)
    A_all = _n01_features(frame, everyone)
    e = np.clip(expit(A_all @ logit(A_all, t, l2=1.0).beta), *clip)
    ipw_estimate = float(np.mean(t * y / e - (1 - t) * y / (1 - e)))
    rng = np.random.default_rng(123)
    draws = [rng.integers(0, t.size, t.size) for _ in range(300)]
    boot = [np.mean(t[i] * y[i] / e[i] - (1 - t[i]) * y[i] / (1 - e[i])) for i in draws]
    ipw_se = float(np.std(boot, ddof=1))
    control, treated = t == 0, t == 1
    A_control = _n01_features(frame, control)  # the shared scaler after fitting the control pipeline
    A_treated = _n01_features(frame, treated)  # ... and after fitting the treated pipeline (its final state)
    beta0 = logit(A_control[control], y[control], l2=1.0).beta
    beta1 = logit(A_treated[treated], y[treated], l2=1.0).beta
    mu0, mu1 = expit(A_treated @ beta0), expit(A_treated @ beta1)
    scores = mu1 - mu0 + t * (y - mu1) / e - (1 - t) * (y - mu0) / (1 - e)
    dr, dr_se = float(scores.mean()), float(scores.std(ddof=1) / np.sqrt(scores.size))
    rows = [
        ("Naive difference", naive.estimate, naive.std_error),
        ("Regression adjustment", reg.estimate, reg.std_error),
        ("IPW", ipw_estimate, ipw_se),
        ("Doubly robust", dr, dr_se),
    ]
    return pd.DataFrame(
        [{"method": m, "estimate": est, "std_error": se, "ci_low": est - 1.96 * se, "ci_high": est + 1.96 * se}
         for m, est, se in rows]
    )


# ---------------------------------------------------------------------------------------------
# Project-level steps (copy-on-write): what the page and the headless build call
# ---------------------------------------------------------------------------------------------
def estimate_project(
    project: Project,
    frame: pd.DataFrame,
    spec: EstimationSpec,
    *,
    override_reason: str = "",
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    refutations: bool = True,
) -> Project:
    """Run the estimation and return a new project holding it; the input project is never changed.

    Ineligible covariates need ``override_reason``: each is logged as an "override" edit and kept in
    ``spec.overrides``. Choosing missing indicators is logged too. Raises EstimationError (nothing stored).
    """
    new_project = project
    spec = spec.model_copy(update={"overrides": [c for c in spec.overrides if c in spec.covariates]})
    blocked = blocked_covariates(project, spec)
    if blocked and not override_reason.strip():
        listed = "; ".join(f"{column}: {why}" for column, why in blocked.items())
        raise EstimationError(f"Ineligible covariate(s) need an explicit override with a reason — {listed}.")
    for column in blocked:
        new_project, spec = override_covariate(new_project, spec, column, override_reason)
    previous = project.estimation.spec.missing if project.estimation else "complete_case"
    if spec.missing != previous:
        new_project = new_project.with_edit(
            "estimation", "missing", previous, spec.missing,
            note="missing covariates: " + ("indicator columns + mean/level fill" if spec.missing == "indicator"
                                           else "complete cases (rows dropped and counted)"),
        )
    truth = true_effect(project, frame, spec.estimand, spec.treatment)
    result = run_estimation(frame, spec, true_effect=truth, progress=progress, should_stop=should_stop,
                            refutations=refutations)
    return new_project.model_copy(update={"estimation": result, "updated_at": result.created_at})


def add_bootstrap(
    project: Project,
    frame: pd.DataFrame,
    replicates: int,
    *,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> Project:
    """Bootstrap SEs for IPW and AIPW added to the stored result (earlier bootstrap rows replaced)."""
    if project.estimation is None:
        raise EstimationError("Run the estimation before the bootstrap.")
    if replicates < 2:
        raise EstimationError("The bootstrap needs at least 2 replicates (use 200 or more for a stable SE).")
    result = project.estimation
    spec = result.spec.model_copy(update={"bootstrap": int(replicates)})
    design = build_design(frame, spec)
    if spec.trim:
        design, _ = _apply_trimming(design, spec)
    core = estimate_core(design, spec, methods=("ipw", "aipw"))
    boot = bootstrap(design, spec, core, progress=progress, should_stop=should_stop)
    rows = [row for row in result.estimates if not row.se_type.startswith("bootstrap")] + boot.pop("rows")
    warnings = [w for w in result.warnings if not w.startswith("Bootstrap cancelled")]
    if boot["cancelled"]:
        warnings.append(boot["message"])
    updated = result.model_copy(update={
        "spec": spec, "estimates": rows, "warnings": warnings,
        "diagnostics": {**result.diagnostics, "bootstrap": boot},
    })
    return project.model_copy(update={"estimation": updated, "updated_at": utc_now()})
