"""Deterministic causal data audit (N09 §4–§10): Python measures, timing maps columns to roles.

Every table here is computed from the analysis rows plus the project's dictionary and roles, never
from a model. ``run_audit`` returns a ``DataAuditResult`` whose tables are JSON records (so the
project file, the CLI and the evidence bundle all carry the same numbers). The functions stay
vectorised because the audit must finish within seconds on a million rows.

Bad inputs that make an audit meaningless (no binary treatment, an outcome with no values, grain
columns that do not exist) raise ``AuditInputError`` with a message the analyst can act on; problems
that only limit it (rows with a missing treatment, undocumented columns, no grain) become warnings.
"""

from __future__ import annotations

import json
import math
import time
import warnings as pywarnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from causal_core import dag as dag_module
from causal_core.overview import schema_profile as overview_schema_profile
from causal_core.project import DataAuditResult, Project, Timing

EXPLICIT_WARNING = (
    "Dataset profiling can identify risks and questions, but it does not by itself establish causal identification."
)

# N09 §8's eligibility wording, plus the cases N09's example never needed (unknown timing, simulation truth).
ELIGIBLE = "eligible candidate, subject to causal graph review"
NOT_A_CONTROL = "not a control: treatment"
EXCLUDE = "exclude from primary adjustment set"
NOT_ADJUSTMENT = "not an adjustment variable"
UNKNOWN_TIMING = "timing unknown: not eligible until its timing is documented"
SIMULATION_TRUTH = "simulation truth: never a covariate"

EXCLUDED_TIMINGS = {Timing.post_treatment, Timing.outcome, Timing.future}
DAG_BAD_FOR_ELIGIBLE = {"mediator", "collider", "descendant_of_treatment", "outcome", "treatment"}

# N09 §10's caps: the bundle is intentionally lossy.
BUNDLE_CAPS = {
    "schema_profile": 20,
    "data_dictionary": 30,
    "type_profile_top_missing": 20,
    "missing_by_treatment": 16,
    "duplicate_summary": 8,
    "balance_table": 12,
    "overlap_summary": 20,
    "role_scan": 25,
    "leakage_correlations": 12,
    "regression_smoke_test": 10,
}


class AuditInputError(ValueError):
    """A dataset/role combination the audit cannot use; the message says what to change.

    ``values`` lists the treatment values found and ``suggested_mapping`` (value -> 0/1) is set when a
    two-valued treatment could be recoded, so the page can offer a one-click mapping.
    """

    def __init__(self, message: str, values: list[str] | None = None, suggested_mapping: dict[str, int] | None = None):
        super().__init__(message)
        self.values = values or []
        self.suggested_mapping = suggested_mapping


class AuditSettings(BaseModel):
    """Analyst-adjustable knobs; part of the cache key together with the data hash and roles."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bounds: tuple[float, float] = Field((0.05, 0.95), description="Propensity overlap bounds.")
    treated_value: str | None = Field(None, description="For a two-valued non-0/1 treatment: the value meaning treated.")
    smd_threshold: float = Field(0.1, gt=0)
    leak_threshold: float = Field(0.2, ge=0, le=1, description="|corr| above which a non-adjustable column is flagged.")
    heatmap_bins: int = Field(200, ge=10, le=2000)
    max_levels: int = Field(30, ge=2, description="Categoricals with more levels are not one-hot encoded.")

    @field_validator("bounds")
    @classmethod
    def _ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        low, high = value
        if not 0.0 <= low < high <= 1.0:
            raise ValueError(f"propensity bounds must satisfy 0 <= low < high <= 1, got {value}")
        return value


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------
def records(frame: pd.DataFrame, max_rows: int | None = None) -> list[dict[str, Any]]:
    """JSON-safe records (NaN -> null, timestamps -> ISO) exactly as N09's ``dataframe_records``."""
    subset = frame if max_rows is None else frame.head(max_rows)
    return json.loads(subset.to_json(orient="records", date_format="iso", double_precision=10))


def _is_categorical(series: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series))


def _as_numeric(series: pd.Series) -> pd.Series:
    return series.astype(float) if pd.api.types.is_bool_dtype(series) else series


@dataclass
class Roles:
    """The project's roles resolved against the data: what every table needs to know about columns."""

    treatment: str
    outcome: str
    guardrails: list[str]
    unit_columns: list[str]
    time_column: str | None
    timing: dict[str, Timing]
    timing_label: dict[str, str]
    role_label: dict[str, str]
    simulation_truth: set[str]
    columns: list[str]
    eligibility: dict[str, str] = field(default_factory=dict)

    def label(self, column: str) -> str:
        return self.timing_label.get(column) or self.timing.get(column, Timing.unknown).value

    def pre_treatment(self) -> list[str]:
        """Eligible pre-treatment candidates that exist in the data, in data order."""
        return [c for c in self.columns if self.eligibility.get(c) == ELIGIBLE]

    def excluded(self) -> list[str]:
        """Post-treatment, outcome-window and future columns in the data (never simulation truth)."""
        return [
            c
            for c in self.columns
            if c not in self.simulation_truth
            and c != self.treatment
            and (self.timing.get(c) in EXCLUDED_TIMINGS or c == self.outcome or c in self.guardrails)
        ]


def eligibility_of(column: str, roles: Roles) -> str:
    """N09 §8: eligibility for a total-effect adjustment set, from project roles then timing."""
    timing = roles.timing.get(column, Timing.unknown)
    if column == roles.treatment:
        return NOT_A_CONTROL
    if column == roles.outcome or column in roles.guardrails:
        return EXCLUDE
    if column in roles.simulation_truth:
        return SIMULATION_TRUTH
    if column in roles.unit_columns or column == roles.time_column or timing in {Timing.unit_id, Timing.time_id}:
        return NOT_ADJUSTMENT
    if timing == Timing.pre_treatment:
        return ELIGIBLE
    if timing in EXCLUDED_TIMINGS or timing == Timing.treatment:
        return EXCLUDE
    return UNKNOWN_TIMING


def resolve_roles(project: Project, frame: pd.DataFrame) -> tuple[Roles, list[str]]:
    """Check the project's roles against the data; raise for fatal problems, return warnings otherwise."""
    columns = [str(c) for c in frame.columns]
    if not project.treatment:
        raise AuditInputError("No treatment column is set: choose the treatment on the Overview page (or --treatment).")
    if not project.outcome:
        raise AuditInputError("No outcome column is set: choose the primary outcome on the Overview page (or --outcome).")
    for label, name in (("treatment", project.treatment), ("outcome", project.outcome)):
        if name not in columns:
            raise AuditInputError(f"The {label} column '{name}' is not in the data (columns: {', '.join(columns[:20])}).")
    if project.treatment == project.outcome:
        raise AuditInputError(f"'{project.treatment}' is set as both treatment and outcome.")
    missing_units = [c for c in project.unit_columns if c not in columns]
    if missing_units:
        raise AuditInputError(f"Grain column(s) not in the data: {', '.join(missing_units)}. Fix the unit grain.")
    warnings: list[str] = []
    guardrails = [g for g in project.guardrails if g in columns and g not in (project.treatment, project.outcome)]
    absent_guardrails = [g for g in project.guardrails if g not in columns]
    if absent_guardrails:
        warnings.append(f"Guardrail column(s) not in the data, skipped: {', '.join(absent_guardrails)}.")
    entries = {entry.variable: entry for entry in project.dictionary}
    absent = [name for name in entries if name not in columns]
    undocumented = [c for c in columns if c not in entries]
    if absent:
        warnings.append(f"Dictionary variables absent from the data: {', '.join(absent)}.")
    if undocumented:
        warnings.append(
            "Columns absent from the dictionary (timing = unknown, never treated as pre-treatment): "
            + ", ".join(undocumented)
            + "."
        )
    unknown = [c for c in columns if c in entries and entries[c].timing == Timing.unknown]
    if unknown:
        warnings.append(f"Columns with unknown timing (not eligible for adjustment until documented): {', '.join(unknown)}.")
    if not project.unit_columns:
        warnings.append(
            "No unit grain is given: duplicated units cannot be checked. Set the unit columns (Overview page or --unit)."
        )
    roles = Roles(
        treatment=project.treatment,
        outcome=project.outcome,
        guardrails=guardrails,
        unit_columns=list(project.unit_columns),
        time_column=project.time_column if project.time_column in columns else None,
        timing={c: entries[c].timing if c in entries else Timing.unknown for c in columns},
        timing_label={name: entry.timing_label for name, entry in entries.items()},
        role_label={name: entry.role for name, entry in entries.items()},
        simulation_truth={name for name, entry in entries.items() if entry.simulation_truth},
        columns=columns,
    )
    for name in [*columns, *absent]:
        roles.timing.setdefault(name, entries[name].timing if name in entries else Timing.unknown)
        roles.eligibility[name] = eligibility_of(name, roles)
    return roles, warnings


def code_treatment(series: pd.Series, name: str, treated_value: str | None = None) -> pd.Series:
    """The treatment as 1.0 / 0.0 (NaN where missing), or AuditInputError naming the values found."""
    present = series.dropna()
    if present.empty:
        raise AuditInputError(f"The treatment '{name}' is missing in every row.")
    values = pd.unique(present)
    shown = sorted(map(str, values[:50]))
    if treated_value is not None:
        if len(values) != 2:
            raise AuditInputError(f"A treated-value mapping needs a two-valued treatment; '{name}' has {len(values)} values.")
        as_text = present.astype(str)
        if treated_value not in set(as_text):
            raise AuditInputError(
                f"'{treated_value}' is not a value of the treatment '{name}' (values: {', '.join(shown)})."
            )
        coded = pd.Series(np.nan, index=series.index)
        coded[present.index] = (as_text == treated_value).astype(float)
        return coded
    if len(values) == 1:
        raise AuditInputError(
            f"The treatment '{name}' is constant (every non-missing row is {shown[0]!r}): there is no comparison group."
        )
    is_zero_one = pd.api.types.is_numeric_dtype(present) and not pd.api.types.is_bool_dtype(present) and set(
        np.asarray(values, dtype=float).tolist()
    ) <= {0.0, 1.0}
    if is_zero_one:
        return series.astype(float)
    if len(values) == 2:
        treated = _guess_treated(values)
        other = next(str(v) for v in values if str(v) != treated)
        raise AuditInputError(
            f"The treatment '{name}' is not coded 0/1: it has the two values {', '.join(map(repr, shown))}. "
            f"Choose which value means treated (e.g. treated value {treated!r}: {treated}→1, {other}→0).",
            values=shown,
            suggested_mapping={treated: 1, other: 0},
        )
    listed = ", ".join(map(repr, shown[:10])) + (" …" if len(values) > 10 else "")
    raise AuditInputError(
        f"The treatment '{name}' is not binary: it has {len(values)} distinct values ({listed}). "
        "Recode it to 0/1 (or compare two arms) before auditing.",
        values=shown,
    )


def _guess_treated(values: np.ndarray) -> str:
    """Which of two values most likely means 'treated' — only a suggestion the analyst confirms."""
    positive = {"true", "yes", "y", "1", "treated", "treatment", "on", "enabled", "t"}
    texts = [str(v) for v in values]
    for text in texts:
        if text.strip().lower() in positive:
            return text
    return sorted(texts)[-1]


# ---------------------------------------------------------------------------------------------
# §4 grain and schema, §6 duplicates
# ---------------------------------------------------------------------------------------------
def schema_table(frame: pd.DataFrame, roles: Roles, coded: pd.Series, missing_treatment: int) -> pd.DataFrame:
    """N09 §4 (reusing the overview's schema profile) plus what the generic case needs."""
    view = frame.assign(**{roles.treatment: coded})
    table = overview_schema_profile(view, roles.unit_columns, roles.time_column, roles.treatment)
    extra = []
    if not roles.unit_columns:
        extra.append({"metric": "exact duplicate rows", "value": int(frame.duplicated().sum())})
    if missing_treatment:
        extra.append({"metric": "rows with missing treatment (excluded)", "value": int(missing_treatment)})
    return pd.concat([table, pd.DataFrame(extra)], ignore_index=True) if extra else table


def duplicate_summary(frame: pd.DataFrame, roles: Roles) -> pd.DataFrame:
    """N09 §6: one row per duplicated unit, the range of each disagreeing column, exact copies or not."""
    units = roles.unit_columns
    if not units:
        return pd.DataFrame(columns=["duplicate_rows", "exact_copies", "disagreeing_columns"])
    duplicated = frame.loc[frame.duplicated(units, keep=False)]
    if duplicated.empty:
        return pd.DataFrame(columns=[*units, "duplicate_rows", "exact_copies", "disagreeing_columns"])
    grouped = duplicated.groupby(units, sort=True, dropna=False)
    others = [c for c in frame.columns if c not in units]
    distinct = grouped[others].nunique(dropna=False)
    summary = grouped.size().rename("duplicate_rows").to_frame()
    summary["exact_copies"] = (distinct <= 1).all(axis=1)
    summary["disagreeing_columns"] = [", ".join(c for c in others if row[c] > 1) for _, row in distinct.iterrows()]
    disagreeing = [c for c in others if (distinct[c] > 1).any()]
    shown = list(dict.fromkeys([*disagreeing, roles.outcome]))
    for column in shown:
        series = duplicated[column]
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            low = grouped[column].min()
            high = grouped[column].max()
            summary[f"{column}_min"] = low
            summary[f"{column}_max"] = high
            summary[f"{column}_range"] = high - low
        else:
            summary[f"{column}_distinct_values"] = distinct[column]
    return summary.reset_index()


# ---------------------------------------------------------------------------------------------
# §4 types, §5 missingness
# ---------------------------------------------------------------------------------------------
def type_profile(frame: pd.DataFrame, roles: Roles, source: DesignSource | None = None) -> pd.DataFrame:
    """N09 §4's type profile merged with the dictionary, most-missing first."""
    n = len(frame)

    def distinct(column: str) -> int:
        # text columns: the shared category codes (one hash pass per column for the whole audit)
        if source is not None and _is_categorical(frame[column]):
            return len(source.codes(column)[1])
        return int(frame[column].nunique(dropna=True))

    non_null = frame.notna().sum()
    table = pd.DataFrame(
        {
            "variable": roles.columns,
            "dtype": [str(frame[c].dtype) for c in frame.columns],
            "non_null": non_null.to_numpy(dtype=int),
            "missing_share": (1 - non_null / n).to_numpy() if n else np.zeros(len(roles.columns)),
            "unique_values": [distinct(c) for c in frame.columns],
            "timing": [roles.label(c) for c in roles.columns],
            "initial_role": [roles.role_label.get(c, "not in dictionary") for c in roles.columns],
        }
    )
    return table.sort_values(["missing_share", "unique_values"], ascending=[False, True], kind="stable")


def _missing_kind(column: str, treated: float, untreated: float, roles: Roles) -> str:
    """Label missingness: structural for post-treatment columns not measured without treatment."""
    if treated == 0 and untreated == 0:
        return "none"
    timing = roles.timing.get(column, Timing.unknown)
    if timing == Timing.post_treatment and untreated >= 0.95:
        if treated > 0:
            return f"structural in untreated rows (not measured without treatment); {treated:.1%} data loss among treated"
        return "structural: not measured without treatment (missing by design, not data loss)"
    if column == roles.outcome or column in roles.guardrails or timing == Timing.outcome:
        return "data loss: outcome (threatens outcome validity)"
    if timing == Timing.pre_treatment:
        return "data loss: pre-treatment covariate (shrinks/biases the adjustment sample)"
    return "data loss"


def missingness_tables(frame: pd.DataFrame, roles: Roles, coded: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """N09 §5: missing share by variable, and by treatment group with the difference and a label."""
    missing = frame.isna()
    overall = missing.mean()
    treated_mask = (coded == 1).to_numpy()
    control_mask = (coded == 0).to_numpy()
    values = missing.to_numpy()
    treated_share = values[treated_mask].mean(axis=0) if treated_mask.any() else np.full(values.shape[1], np.nan)
    control_share = values[control_mask].mean(axis=0) if control_mask.any() else np.full(values.shape[1], np.nan)
    timing = [roles.label(c) for c in roles.columns]
    role = [roles.role_label.get(c, "not in dictionary") for c in roles.columns]
    by_variable = pd.DataFrame(
        {
            "variable": roles.columns,
            "missing_share": overall.to_numpy(),
            "missing_count": missing.sum().to_numpy(dtype=int),
            "timing": timing,
            "initial_role": role,
        }
    ).sort_values("missing_share", ascending=False, kind="stable")
    by_treatment = pd.DataFrame(
        {
            "variable": roles.columns,
            "treated": treated_share,
            "untreated": control_share,
            "timing": timing,
            "initial_role": role,
        }
    )
    by_treatment["treated_minus_untreated"] = by_treatment["treated"] - by_treatment["untreated"]
    by_treatment["missingness"] = [
        _missing_kind(c, t, u, roles)
        for c, t, u in zip(roles.columns, treated_share.tolist(), control_share.tolist(), strict=True)
    ]
    by_treatment = by_treatment.sort_values(
        "treated_minus_untreated", key=lambda s: s.abs(), ascending=False, kind="stable"
    )
    return by_variable, by_treatment


def missing_pattern(frame: pd.DataFrame, roles: Roles, bins: int, source: DesignSource | None = None) -> pd.DataFrame:
    """Heatmap data: rows sorted by the grain, grouped into ≤ ``bins`` bands, missing share per band.

    Binning keeps the chart readable (and small) at a million rows; with few rows each band is one row.
    """
    n = len(frame)
    if n == 0:
        return pd.DataFrame(columns=["row_band", "first_row", "last_row", "variable", "missing_share"])
    order_by = [c for c in roles.unit_columns if c in frame.columns]
    if roles.time_column and roles.time_column not in order_by:
        order_by.append(roles.time_column)
    values = frame.isna().to_numpy()
    if order_by:
        source = source or DesignSource(frame)
        keys = [source.codes(c)[0] for c in reversed(order_by)]
        values = values[np.lexsort(keys)]
    n_bins = min(n, bins)
    starts = (np.arange(n_bins) * n) // n_bins
    counts = np.diff(np.append(starts, n))
    shares = np.add.reduceat(values.astype(np.int32), starts, axis=0) / counts[:, None]
    band = pd.DataFrame(shares, columns=roles.columns)
    band["row_band"] = np.arange(n_bins)
    band["first_row"] = starts + 1
    band["last_row"] = starts + counts
    return band.melt(id_vars=["row_band", "first_row", "last_row"], var_name="variable", value_name="missing_share")


# ---------------------------------------------------------------------------------------------
# §7 balance and propensity overlap
# ---------------------------------------------------------------------------------------------
def design_columns(frame: pd.DataFrame, columns: list[str], max_levels: int) -> tuple[list[str], list[str], list[str]]:
    """Split covariates into numeric and categorical; drop datetimes and high-cardinality categoricals."""
    numeric, categorical, skipped = [], [], []
    for column in columns:
        series = frame[column]
        if pd.api.types.is_datetime64_any_dtype(series):
            skipped.append(f"{column} (date/time)")
        elif not _is_categorical(series):
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


def fit_logistic(x: np.ndarray, y: np.ndarray, max_iter: int = 50, tol: float = 1e-7, ridge: float = 1e-6) -> np.ndarray:
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
                {"arm": arm, "bin_start": float(start), "bin_end": float(end), "density": count / total / width, "rows": int(count)}
            )
    return pd.DataFrame(summary), pd.DataFrame(density_rows, columns=density_columns)


# ---------------------------------------------------------------------------------------------
# §8 role scan (with DAG cross-check) and leakage
# ---------------------------------------------------------------------------------------------
def _dag_roles(project: Project, columns: list[str]) -> tuple[dict[str, list[str]] | None, str]:
    """Column -> DAG roles when the project has a DAG; else (None, why)."""
    if project.dag is None or not project.dag.nodes:
        return None, "no DAG in the project"
    try:
        by_node = dag_module.node_roles(project.dag)
    except Exception as error:  # an invalid DAG must not break the audit
        return None, f"DAG roles could not be computed ({error})"
    result: dict[str, list[str]] = {}
    for node in project.dag.nodes:
        column = node.column or (node.name if node.name in columns else None)
        if column and node.name in by_node:
            result.setdefault(column, []).extend(by_node[node.name])
    return result, ""


def _dag_check(column: str, eligibility: str, dag_roles: list[str] | None, roles: Roles) -> str:
    if dag_roles is None:
        return "not in DAG"
    found = set(dag_roles)
    if "treatment" in found and column != roles.treatment:
        return f"disagrees: the DAG's treatment is '{column}', the project's is '{roles.treatment}'"
    if "outcome" in found and column != roles.outcome and column not in roles.guardrails:
        return f"disagrees: the DAG's outcome is '{column}', the project's is '{roles.outcome}'"
    if eligibility == ELIGIBLE and found & DAG_BAD_FOR_ELIGIBLE:
        bad = ", ".join(sorted(found & DAG_BAD_FOR_ELIGIBLE))
        return f"disagrees: timing says pre-treatment but the DAG makes it a {bad}"
    if eligibility == EXCLUDE and "confounder" in found:
        return "disagrees: timing excludes it but the DAG makes it a confounder (check its timing)"
    if eligibility == UNKNOWN_TIMING and found - {"other"}:
        return f"timing unknown; the DAG says {', '.join(sorted(found))} (document the timing)"
    if eligibility == ELIGIBLE and "instrument" in found:
        return "caution: the DAG makes it an instrument (adjusting adds variance, removes no bias)"
    return "agrees"


def role_scan(project: Project, roles: Roles) -> tuple[pd.DataFrame, list[str]]:
    """N09 §8's eligibility table for every data column and dictionary entry, with DAG agreement."""
    in_data = set(roles.columns)
    names = [*roles.columns, *[e.variable for e in project.dictionary if e.variable not in in_data]]
    dag_roles, why = _dag_roles(project, roles.columns)
    rows = []
    for name in names:
        eligibility = roles.eligibility[name]
        row = {
            "variable": name,
            "timing": roles.label(name),
            "initial_role": roles.role_label.get(name, "not in dictionary"),
            "adjustment_eligibility_for_total_effect": eligibility,
            "in_data": name in in_data,
        }
        if dag_roles is not None:
            found = dag_roles.get(name)
            row["dag_roles"] = ", ".join(found) if found else ""
            row["dag_check"] = _dag_check(name, eligibility, found, roles)
        rows.append(row)
    warnings = []
    if dag_roles is not None:
        disagreements = [r["variable"] for r in rows if str(r.get("dag_check", "")).startswith("disagrees")]
        if disagreements:
            warnings.append(f"Timing and the DAG disagree on: {', '.join(disagreements)} (see the role scan).")
    elif project.dag is not None and why:
        warnings.append(f"DAG cross-check skipped: {why}.")
    return pd.DataFrame(rows), warnings


def leakage_table(frame: pd.DataFrame, roles: Roles, coded: pd.Series, threshold: float) -> pd.DataFrame:
    """N09 §8: |corr| of every numeric column with the outcome (pairwise complete), ranked, with flags."""
    outcome = frame[roles.outcome].to_numpy(dtype=float)
    outcome_ok = ~np.isnan(outcome)
    rows = []
    for column in roles.columns:
        if column == roles.outcome:
            continue
        series = coded if column == roles.treatment else frame[column]
        if _is_categorical(series) or pd.api.types.is_datetime64_any_dtype(series):
            continue
        values = _as_numeric(series).to_numpy(dtype=float)
        ok = outcome_ok & ~np.isnan(values)
        corr = np.nan
        if ok.sum() > 2:
            a = values[ok] - values[ok].mean()
            b = outcome[ok] - outcome[ok].mean()
            denominator = math.sqrt(float(a @ a) * float(b @ b))
            corr = float(a @ b) / denominator if denominator > 0 else np.nan
        timing = roles.timing.get(column, Timing.unknown)
        strong = not np.isnan(corr) and abs(corr) >= threshold
        flag = ""
        if strong and column in roles.simulation_truth:
            flag = "simulation truth predicts the outcome: never a covariate"
        elif strong and (timing in EXCLUDED_TIMINGS or column in roles.guardrails):
            flag = f"LEAKAGE RISK: {timing.value.replace('_', '-')} column predicts the outcome; exclude from adjustment"
        elif strong and timing == Timing.unknown:
            flag = "predicts the outcome but its timing is unknown: document it before any use"
        rows.append(
            {
                "variable": column,
                "abs_corr_with_outcome": abs(corr) if not np.isnan(corr) else np.nan,
                "corr_with_outcome": corr,
                "rows_used": int(ok.sum()),
                "timing": roles.label(column),
                "initial_role": roles.role_label.get(column, "not in dictionary"),
                "adjustment_eligibility_for_total_effect": roles.eligibility[column],
                "flag": flag,
            }
        )
    columns = [
        "rank", "variable", "abs_corr_with_outcome", "corr_with_outcome", "rows_used", "timing", "initial_role",
        "adjustment_eligibility_for_total_effect", "flag",
    ]
    if not rows:
        return pd.DataFrame(columns=columns)
    table = pd.DataFrame(rows).sort_values("abs_corr_with_outcome", ascending=False, kind="stable", na_position="last")
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table[columns]


# ---------------------------------------------------------------------------------------------
# §9 regression smoke test
# ---------------------------------------------------------------------------------------------
# Above this many rows the smoke test uses the normal-equations path (same estimator, same HC3
# formula, ~6x faster); tests check it against statsmodels to 1e-8, including the rank-deficient case.
FAST_OLS_ROWS = 200_000


@dataclass
class OlsFit:
    """The few numbers the smoke test reports for one coefficient of an OLS fit with HC3 errors."""

    coef: float
    se: float
    p_value: float
    r_squared: float
    rank_deficient: bool


def ols_hc3_statsmodels(y: np.ndarray, x: np.ndarray, column: int) -> OlsFit:
    """statsmodels OLS (pinv, as N09's formula fit) with HC3 robust standard errors."""
    import statsmodels.api as sm

    with pywarnings.catch_warnings():  # rank deficiency is reported in ``note`` instead
        pywarnings.simplefilter("ignore")
        fitted = sm.OLS(y, x).fit(cov_type="HC3")
    return OlsFit(
        coef=float(fitted.params[column]),
        se=float(fitted.bse[column]),
        p_value=float(fitted.pvalues[column]),
        r_squared=float(fitted.rsquared),
        rank_deficient=bool(fitted.model.rank < x.shape[1]),
    )


def ols_hc3_fast(y: np.ndarray, x: np.ndarray, column: int) -> OlsFit:
    """The same estimator through X'X: pinv(X'X)X'y is the minimum-norm least-squares solution that
    statsmodels' pinv fit returns, and HC3 is pinv(X'X) X' diag(e²/(1-h)²) X pinv(X'X) with leverage h."""
    from scipy.stats import norm

    # Scaling the covariates (not the intercept or the reported column) improves conditioning without
    # changing fitted values, leverage, or the reported coefficient — nor the min-norm split between
    # an intercept and a constant treatment.
    scale = np.ones(x.shape[1])
    others = [j for j in range(x.shape[1]) if j not in (0, column)]
    spread = x[:, others].std(axis=0)
    scale[others] = np.where(spread > 0, spread, 1.0)
    x = x / scale
    xtx = x.T @ x
    eigenvalues = np.linalg.eigvalsh(xtx)
    inverse = np.linalg.pinv(xtx, rcond=1e-15, hermitian=True)
    beta = inverse @ (x.T @ y)
    residual = y - x @ beta
    leverage = np.einsum("ij,jk,ik->i", x, inverse, x)
    weight = (residual / (1 - leverage)) ** 2
    covariance = inverse @ ((x.T * weight) @ x) @ inverse
    se = float(np.sqrt(covariance[column, column]))
    coef = float(beta[column])
    centred = y - y.mean()
    return OlsFit(
        coef=coef,
        se=se,
        p_value=float(2 * norm.sf(abs(coef / se))) if se > 0 else float("nan"),
        r_squared=float(1 - residual @ residual / (centred @ centred)),
        rank_deficient=bool(eigenvalues.min() <= eigenvalues.max() * 1e-12),
    )


def _ols_row(
    label: str, source: DesignSource, rows: np.ndarray, roles: Roles, treatment: np.ndarray, numeric: list[str],
    categorical: list[str],
) -> dict:
    covariates = [*numeric, *categorical]
    count = int(np.count_nonzero(rows))
    base = {"model": label, "covariates": ", ".join(covariates) if covariates else "none", "rows_used": count}
    arm = treatment[rows]
    if count <= len(covariates) + 2:
        return {**base, "note": "too few complete rows to fit"}
    covariate_matrix = source.matrix(rows, numeric, categorical)
    # the intercept is always added, as a formula does, even if the treatment is constant here
    x = np.column_stack([np.ones(count), arm, covariate_matrix])
    y = source.numeric(roles.outcome)[rows]
    fit = (ols_hc3_fast if count > FAST_OLS_ROWS else ols_hc3_statsmodels)(y, x, 1)
    note = ""
    if np.unique(arm).size < 2:
        which = "treated" if arm[0] == 1 else "untreated"
        note = (
            f"the treatment is constant in this sample (all rows {which}): its coefficient is not identified and "
            "only splits the intercept — an artefact of the bad adjustment, not an effect"
        )
    elif fit.rank_deficient:
        note = "the design is rank-deficient (collinear covariates): coefficients are not unique"
    return {
        **base,
        "treatment_coef": fit.coef,
        "robust_se": fit.se,
        "p_value": fit.p_value,
        "ci_low": fit.coef - 1.96 * fit.se,
        "ci_high": fit.coef + 1.96 * fit.se,
        "r_squared": fit.r_squared,
        "note": note,
    }


def regression_smoke_test(
    source: DesignSource, roles: Roles, coded: pd.Series, max_levels: int
) -> pd.DataFrame:
    """N09 §9: naive, pre-treatment adjustment and a deliberately bad (post-treatment + future) model.

    The analysis sample is complete cases on the outcome and the pre-treatment candidates, as in N09;
    the bad model additionally drops rows missing its post-treatment/future columns.
    """
    frame = source.frame
    pre_numeric, pre_categorical, _ = design_columns(frame, roles.pre_treatment(), max_levels)
    bad_extra = [
        c for c in roles.columns
        if roles.timing.get(c) in {Timing.post_treatment, Timing.future}
        and c not in roles.simulation_truth and c not in (roles.treatment, roles.outcome) and c not in roles.guardrails
    ]
    bad_numeric, bad_categorical, _ = design_columns(frame, bad_extra, max_levels)
    treatment = coded.to_numpy(dtype=float)
    sample = ~np.isnan(treatment) & source.complete([roles.outcome, *pre_numeric, *pre_categorical])
    rows = [
        _ols_row("naive", source, sample, roles, treatment, [], []),
        _ols_row("pre-treatment adjustment", source, sample, roles, treatment, pre_numeric, pre_categorical),
    ]
    bad_label = "bad post-treatment/leaky adjustment"
    if bad_numeric or bad_categorical:
        bad_sample = sample & source.complete([*bad_numeric, *bad_categorical])
        rows.append(
            _ols_row(bad_label, source, bad_sample, roles, treatment, [*pre_numeric, *bad_numeric],
                     [*pre_categorical, *bad_categorical])
        )
    else:
        rows.append({"model": bad_label, "covariates": "none", "rows_used": 0,
                     "note": "no post-treatment or future columns in the dictionary: nothing to misuse"})
    columns = ["model", "rows_used", "treatment_coef", "robust_se", "p_value", "ci_low", "ci_high", "r_squared", "covariates", "note"]
    return pd.DataFrame(rows).reindex(columns=columns)


# ---------------------------------------------------------------------------------------------
# The whole audit
# ---------------------------------------------------------------------------------------------
TABLE_TITLES = {
    "schema_profile": "Grain and schema profile (N09 §4)",
    "duplicate_summary": "Duplicated units (N09 §6)",
    "type_profile": "Type profile with the dictionary (N09 §4)",
    "missingness": "Missingness by variable (N09 §5)",
    "missing_by_treatment": "Missingness by treatment group (N09 §5)",
    "missing_pattern": "Missingness pattern (heatmap data)",
    "balance": "Standardised mean differences (N09 §7)",
    "overlap_summary": "Propensity overlap",
    "propensity_density": "Propensity density by arm",
    "role_scan": "Role scan (N09 §8)",
    "leakage": "Correlation with the outcome (N09 §8)",
    "smoke_test": "Regression smoke test (N09 §9)",
}


def settings_fingerprint(project: Project, settings: AuditSettings) -> dict[str, Any]:
    """Everything a table depends on besides the rows: the cache key (with the data hash) and the record."""
    return {
        **settings.model_dump(mode="json"),
        "data_sha256": project.data_source.sha256 if project.data_source else "",
        "dedup": project.dedup,
        "treatment": project.treatment,
        "outcome": project.outcome,
        "guardrails": list(project.guardrails),
        "unit_columns": list(project.unit_columns),
        "time_column": project.time_column,
        "dictionary": [[e.variable, e.timing.value, e.timing_label, e.role, e.simulation_truth] for e in project.dictionary],
        "dag": project.dag.model_dump(mode="json") if project.dag else None,
        # the evidence bundle quotes the question and estimand, so they are part of the key too
        "question": [
            project.brief,
            project.estimand_card.business_question if project.estimand_card else "",
            project.estimand_card.estimand if project.estimand_card else "",
        ],
    }


def run_audit(
    project: Project,
    frame: pd.DataFrame,
    settings: AuditSettings | dict[str, Any] | None = None,
    timings: dict[str, float] | None = None,
) -> DataAuditResult:
    """Every deterministic audit table for ``frame`` (the analysis rows) under the project's roles.

    Raises AuditInputError for unusable roles; ``timings`` (if given) receives seconds per table.
    """
    if not isinstance(settings, AuditSettings):
        settings = AuditSettings(**(settings or {}))
    frame = frame.rename(columns=str).reset_index(drop=True)  # positional index: uploads may repeat labels
    clock: dict[str, float] = timings if timings is not None else {}

    def timed(name: str, compute: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        value = compute()
        clock[name] = clock.get(name, 0.0) + time.perf_counter() - start
        return value

    roles, warnings = timed("roles", lambda: resolve_roles(project, frame))
    coded_all = timed("roles", lambda: code_treatment(frame[roles.treatment], roles.treatment, settings.treated_value))
    if frame[roles.outcome].isna().all():
        raise AuditInputError(f"The outcome '{roles.outcome}' is missing in every row: there is nothing to compare.")
    if not pd.api.types.is_numeric_dtype(frame[roles.outcome]):
        raise AuditInputError(
            f"The outcome '{roles.outcome}' is not numeric (dtype {frame[roles.outcome].dtype}): recode it as a number or 0/1."
        )
    missing_treatment = int(coded_all.isna().sum())
    schema = timed("schema_profile", lambda: schema_table(frame, roles, coded_all, missing_treatment))
    if missing_treatment:
        warnings.append(
            f"{missing_treatment:,} row(s) have a missing treatment and were excluded from every table below the schema profile."
        )
        keep = coded_all.notna().to_numpy()
        frame = frame.loc[keep].reset_index(drop=True)
        coded = coded_all.loc[keep].reset_index(drop=True)
    else:
        coded = coded_all
    if coded.nunique() < 2:
        raise AuditInputError(f"After excluding rows with a missing treatment, '{roles.treatment}' is constant.")
    if frame[roles.outcome].isna().all():
        raise AuditInputError(f"The outcome '{roles.outcome}' is missing in every row with a treatment.")
    numeric, categorical, skipped = design_columns(frame, roles.pre_treatment(), settings.max_levels)
    if skipped:
        warnings.append(f"Pre-treatment columns not used in balance/propensity/regression: {', '.join(skipped)}.")
    if not roles.pre_treatment():
        warnings.append(
            "No column is documented as pre-treatment: balance, propensity and adjusted regression have no covariates. "
            "Fill in the dictionary's timing."
        )
    tables: dict[str, pd.DataFrame] = {"schema_profile": schema}
    source = DesignSource(frame)
    tables["duplicate_summary"] = timed("duplicate_summary", lambda: duplicate_summary(frame, roles))
    tables["type_profile"] = timed("type_profile", lambda: type_profile(frame, roles, source))
    by_variable, by_treatment = timed("missingness", lambda: missingness_tables(frame, roles, coded))
    tables["missingness"], tables["missing_by_treatment"] = by_variable, by_treatment
    tables["missing_pattern"] = timed("missing_pattern", lambda: missing_pattern(frame, roles, settings.heatmap_bins, source))
    tables["balance"] = timed(
        "balance", lambda: balance_table(source, coded, numeric, categorical, settings.smd_threshold)
    )
    overlap, density = timed("propensity", lambda: propensity_overlap(source, coded, numeric, categorical, settings.bounds))
    tables["overlap_summary"], tables["propensity_density"] = overlap, density
    scan, dag_warnings = timed("role_scan", lambda: role_scan(project, roles))
    tables["role_scan"] = scan
    warnings.extend(dag_warnings)
    tables["leakage"] = timed("leakage", lambda: leakage_table(frame, roles, coded, settings.leak_threshold))
    tables["smoke_test"] = timed("smoke_test", lambda: regression_smoke_test(source, roles, coded, settings.max_levels))
    warnings.extend(_finding_warnings(tables, roles))
    result = DataAuditResult(
        settings=settings_fingerprint(project, settings),
        tables={name: records(table) for name, table in tables.items()},
        warnings=warnings,
    )
    bundle = timed("evidence_bundle", lambda: build_evidence_bundle(project, result))
    return result.model_copy(update={"evidence_bundle": bundle})


def _finding_warnings(tables: dict[str, pd.DataFrame], roles: Roles) -> list[str]:
    """One-line findings the page and the memo can quote (leakage, duplicates, bad-model artefacts)."""
    notes = []
    leaky = tables["leakage"].loc[tables["leakage"]["flag"].str.startswith("LEAKAGE", na=False), "variable"].tolist()
    if leaky:
        notes.append(f"Post-treatment/future columns that predict the outcome (never adjust for them): {', '.join(leaky)}.")
    duplicates = tables["duplicate_summary"]
    if len(duplicates):
        exact = int(duplicates["exact_copies"].sum())
        notes.append(
            f"{len(duplicates)} unit(s) of the grain {' × '.join(roles.unit_columns)} appear more than once "
            f"({exact} exact copies, {len(duplicates) - exact} disagreeing): resolve or de-duplicate."
        )
    return notes


def table_frame(result: DataAuditResult, name: str) -> pd.DataFrame:
    """A stored audit table back as a DataFrame (for charts and display)."""
    return pd.DataFrame(result.tables.get(name, []))


# ---------------------------------------------------------------------------------------------
# §10 evidence bundle
# ---------------------------------------------------------------------------------------------
def _round(value: Any) -> Any:
    """Six significant digits keep the bundle compact and stable across platforms."""
    if isinstance(value, float):
        return float(f"{value:.6g}") if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _round(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_round(item) for item in value]
    return value


def _grain_phrase(unit_columns: list[str]) -> str:
    return "-".join(c.removesuffix("_id").removesuffix("_start") for c in unit_columns) or "row"


def build_evidence_bundle(project: Project, result: DataAuditResult) -> dict[str, Any]:
    """N09 §10: the compact, capped, deterministic evidence an LLM reviews instead of the raw rows."""
    card = project.estimand_card
    treatment, outcome = project.treatment or "", project.outcome or ""
    estimand = (card.estimand if card and card.estimand else "") or (
        f"Total effect of {treatment} on {outcome} at the {_grain_phrase(project.unit_columns)} level."
    )
    tables = result.tables
    dictionary = [
        {"variable": e.variable, "description": e.description, "timing": e.timing_label or e.timing.value, "initial_role": e.role}
        for e in project.dictionary
    ]
    selected = {
        "schema_profile": tables.get("schema_profile", []),
        "data_dictionary": dictionary,
        "type_profile_top_missing": tables.get("type_profile", []),
        "missing_by_treatment": tables.get("missing_by_treatment", []),
        "duplicate_summary": tables.get("duplicate_summary", []),
        "balance_table": tables.get("balance", []),
        "overlap_summary": tables.get("overlap_summary", []),
        "role_scan": tables.get("role_scan", []),
        "leakage_correlations": tables.get("leakage", []),
        "regression_smoke_test": tables.get("smoke_test", []),
    }
    bundle: dict[str, Any] = {
        "business_question": (card.business_question if card and card.business_question else "") or project.brief,
        "intended_estimand": estimand,
        "intended_row_grain": list(project.unit_columns),
        "treatment": treatment,
        "primary_outcome": outcome,
        "guardrail_outcome": project.guardrails[0] if len(project.guardrails) == 1 else list(project.guardrails),
    }
    truncated = {}
    for key, rows in selected.items():
        cap = BUNDLE_CAPS[key]
        bundle[key] = _round(rows[:cap])
        if len(rows) > cap:
            truncated[key] = f"first {cap} of {len(rows)} rows"
    bundle["data_warnings"] = list(result.warnings)
    bundle["truncated_tables"] = truncated
    bundle["explicit_warning"] = EXPLICIT_WARNING
    return bundle


def bundle_json(bundle: dict[str, Any]) -> str:
    """The bundle as stable, human-readable JSON (what the page shows and offers for download)."""
    return json.dumps(bundle, indent=2, ensure_ascii=False)
