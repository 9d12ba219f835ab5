"""The design matrix: treatment coding, covariate blocks, missing indicators, collinearity."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from causal_core.audit import AuditInputError, code_treatment
from causal_core.estimation.constants import MIN_ARM_ROWS, EstimationError
from causal_core.estimation.fitting import _with_intercept
from causal_core.estimation.spec import categorical_columns
from causal_core.project import (
    EstimationSpec,
)


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
    X_ps: np.ndarray | None = None  # propensity-model terms when they differ from X (None = X)
    names_ps: list[str] = field(default_factory=list)
    Z: np.ndarray | None = None  # terms interacted with the treatment in the regression row (None = none)
    z_names: list[str] = field(default_factory=list)
    # The covariates on their own scale, every level of a categorical included, kept when model terms replace X:
    # balance describes the covariates, not the model's columns (a drop-first dummy hides the reference level).
    balance_basis: list[tuple[str, np.ndarray]] | None = None

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

    @property
    def A1_ps(self) -> np.ndarray:
        """[1, X_ps]: the propensity model's design (the outcome model's [1, X] unless propensity terms differ)."""
        if self.X_ps is None:
            return self.A1
        cached = self.__dict__.get("_A1_ps")
        if cached is None or cached.shape[0] != self.n or cached.shape[1] != self.X_ps.shape[1] + 1:
            cached = _with_intercept(self.X_ps)
            self.__dict__["_A1_ps"] = cached
        return cached

    def subset(self, mask: np.ndarray) -> Design:
        """The same design restricted to some rows (trimming, data-subset refutation); scales are kept."""
        clusters = self.clusters[mask] if self.clusters is not None else None
        n_clusters = int(np.unique(clusters).size) if clusters is not None else 0
        if clusters is not None:
            clusters = np.unique(clusters, return_inverse=True)[1]
        kept = self.kept[mask] if self.kept is not None else None
        return Design(
            y=self.y[mask],
            t=self.t[mask],
            X=self.X[mask],
            names=list(self.names),
            groups=dict(self.groups),
            scales=dict(self.scales),
            reference=dict(self.reference),
            clusters=clusters,
            n_clusters=n_clusters,
            binary_outcome=self.binary_outcome,
            n_input=self.n_input,
            dropped=dict(self.dropped),
            notes=list(self.notes),
            kept=kept,
            X_ps=self.X_ps[mask] if self.X_ps is not None else None,
            names_ps=list(self.names_ps),
            Z=self.Z[mask] if self.Z is not None else None,
            z_names=list(self.z_names),
            balance_basis=None if self.balance_basis is None else [(n, v[mask]) for n, v in self.balance_basis],
        )

    def with_column(self, name: str, values: np.ndarray) -> Design:
        """Append one covariate (random-common-cause refutation) to the outcome and the propensity terms."""
        design = self.subset(np.ones(self.n, dtype=bool))
        design.X = np.column_stack([self.X, values])
        design.names = [*self.names, name]
        design.groups = {**self.groups, name: [self.X.shape[1]]}
        if self.X_ps is not None:
            design.X_ps = np.column_stack([self.X_ps, values])
            design.names_ps = [*self.names_ps, name]
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
        _refuse_mixed_outcome(outcome, spec.outcome)
        example = ", ".join(map(repr, outcome.dropna().unique()[:3]))
        raise EstimationError(
            f"The outcome '{spec.outcome}' is not numeric ({outcome.dtype}; e.g. {example}): "
            "encode it as numbers (0/1 for a binary outcome) first."
        )
    refuse_infinite(frame, spec)
    empty = [column for column in spec.covariates if frame[column].isna().all()]
    if empty:
        raise EstimationError(
            f"Covariate(s) with no values at all (every row is missing): {', '.join(empty)}. Remove them from the "
            "adjustment set; they carry no information and complete cases would drop every row."
        )
    dates = [column for column in spec.covariates if pd.api.types.is_datetime64_any_dtype(frame[column])]
    if dates:
        raise EstimationError(f"Date column(s) cannot be covariates as is: {', '.join(dates)}.")
    lo, hi = spec.clip
    if not 0.0 <= lo < 0.5 < hi <= 1.0:
        raise EstimationError(f"Clip bounds must satisfy 0 ≤ low < 0.5 < high ≤ 1 (got {lo}, {hi}).")


def _refuse_mixed_outcome(outcome: pd.Series, name: str) -> None:
    """An outcome that is mostly numbers with some text cells: say how many cells are text, and which."""
    present = outcome.dropna()
    numbers = pd.to_numeric(present, errors="coerce")
    text = present[numbers.isna()]
    if numbers.notna().any() and not text.empty:
        examples = ", ".join(map(repr, text.astype(str).unique()[:3]))
        raise EstimationError(
            f"The outcome '{name}' mixes numbers and text: {len(text):,} of {len(present):,} non-empty rows are not "
            f"numbers (e.g. {examples}). Fix or blank those cells (blank = missing, dropped and counted) first."
        )


def _infinite_rows(series: pd.Series) -> int:
    """Rows holding +inf or −inf (NaN is a missing value, handled by the missing-data rules, not counted here)."""
    if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return 0
    values = series.to_numpy(dtype=float, na_value=np.nan)
    return int(np.isinf(values).sum())


def refuse_infinite(frame: pd.DataFrame, spec: EstimationSpec) -> None:
    """Refuse ±inf in the treatment, the outcome or a covariate up front, naming the column and the row count.

    An outcome holding inf made every estimate NaN with no warning, and the saved project could not be reopened.
    """
    roles = [("treatment", spec.treatment), ("outcome", spec.outcome),
             *(("covariate", column) for column in spec.covariates)]
    found = [(role, column, _infinite_rows(frame[column])) for role, column in roles]
    found = [(role, column, count) for role, column, count in found if count]
    if found:
        listed = "; ".join(f"the {role} '{column}' in {count:,} row{'s' if count != 1 else ''}"
                           for role, column, count in found)
        raise EstimationError(
            f"Infinite values (inf or −inf) found: {listed}. Replace them (or mark them missing) before estimating; "
            "nothing was estimated."
        )


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


def balance_columns(design: Design) -> list[tuple[str, np.ndarray]]:
    """Covariates on their original scale, categoricals with every level (the reference level included)."""
    if design.balance_basis is not None:  # model terms replaced X: balance the covariates, not the terms
        return list(design.balance_basis)
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
    covariate_missing = {column: frame[column].isna().to_numpy() for column in spec.covariates if frame[column].hasnans}
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
    check_outcome_varies(y, t, spec.outcome)
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
        y=y,
        t=t,
        X=X,
        names=names,
        groups=groups,
        scales=scales,
        reference=reference,
        clusters=clusters,
        n_clusters=n_clusters,
        binary_outcome=binary,
        n_input=n_input,
        dropped=dropped,
        notes=notes,
        kept=rows,
    )
    _apply_terms(design, sub, spec, covariate_missing)
    return _drop_collinear(design)


def check_outcome_varies(y: np.ndarray, t: np.ndarray, outcome: str) -> None:
    """Refuse an outcome that takes one value in a whole arm.

    Every estimator would still return a number, but it would be the other arm's mean against a constant:
    usually a recording problem (the outcome measured for one arm only, or filled with 0), never evidence.
    """
    for arm, name in ((1, "treated"), (0, "control")):
        values = y[t == arm]
        if values.size and values.min() == values.max():
            raise EstimationError(
                f"The outcome '{outcome}' is constant in the {name} arm (every one of its {values.size:,} rows is "
                f"{values[0]:g}): there is no variation to compare. Check that the outcome was recorded for the "
                f"{name} rows, or choose another outcome."
            )


def _apply_terms(
    design: Design, sub: pd.DataFrame, spec: EstimationSpec, covariate_missing: dict[str, np.ndarray]
) -> None:
    """Replace or add model matrices written as formulas (outcome, propensity, treatment interactions).

    Without any formula the hand-built default design stays exactly as before (N01's numbers). A formula
    the analyst wrote is never silently repaired: a singular one is refused with the collinear terms named.
    """
    formulas = {
        "outcome terms": spec.outcome_terms,
        "propensity terms": spec.propensity_terms,
        "treatment interactions": spec.treatment_interactions,
    }
    formulas = {label: text.strip() for label, text in formulas.items() if text and text.strip()}
    if not formulas:
        return
    from causal_core.estimation import terms

    if spec.missing == "indicator" and covariate_missing:
        raise EstimationError(
            "Missing indicators cannot be combined with formula terms; choose complete cases, or fill the missing "
            f"values ({', '.join(covariate_missing)}) before estimating."
        )
    for label, text in formulas.items():
        if spec.treatment in terms.formula_variables(text, label):
            raise EstimationError(
                f"The treatment '{spec.treatment}' cannot appear in the {label}; to let the effect vary with a "
                "covariate, name that covariate in the treatment interactions."
            )
        terms.check_term_columns(text, label, sub, spec.covariates)
    intercept = ("intercept", np.ones(design.n))
    if "outcome terms" in formulas:
        matrix = terms.term_matrix(sub, formulas["outcome terms"], "outcome terms")
        terms.refuse_singular(
            "outcome terms", [intercept, (spec.treatment, design.t), *zip(matrix.names, matrix.X.T, strict=True)]
        )
        design.balance_basis = balance_columns(design)
        design.X, design.names, design.groups = matrix.X, matrix.names, matrix.groups
        design.scales, design.reference = matrix.scales, {}
        design.notes.append(f"Outcome models use the terms {formulas['outcome terms']} ({len(matrix.names)} columns).")
    if "propensity terms" in formulas:
        matrix = terms.term_matrix(sub, formulas["propensity terms"], "propensity terms")
        terms.refuse_singular("propensity terms", [intercept, *zip(matrix.names, matrix.X.T, strict=True)])
        design.X_ps, design.names_ps = matrix.X, matrix.names
        design.notes.append(
            f"The propensity model uses the terms {formulas['propensity terms']} ({len(matrix.names)} columns)."
        )
    if "treatment interactions" in formulas:
        matrix = terms.term_matrix(sub, formulas["treatment interactions"], "treatment interactions", standardise=False)
        terms.refuse_singular("treatment interactions", [intercept, *zip(matrix.names, matrix.X.T, strict=True)])
        design.Z, design.z_names = matrix.X, [f"{spec.treatment}:{name}" for name in matrix.names]


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
    design.notes.append("Dropped constant or collinear column(s): " + ", ".join(design.names[j] for j in drop) + ".")
    design.X = design.X[:, keep_cols]
    design.names = [design.names[j] for j in keep_cols]
    design.groups = {
        key: [remap[j] for j in cols if j in remap]
        for key, cols in design.groups.items()
        if any(j in remap for j in cols)
    }
    design.reference = {
        key: (label, [remap[j] for j in cols if j in remap]) for key, (label, cols) in design.reference.items()
    }
    return design
