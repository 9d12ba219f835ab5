"""Small helpers: records, roles, coded treatment, the shared design source."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from causal_core.audit.constants import (
    ELIGIBLE,
    EXCLUDE,
    EXCLUDED_TIMINGS,
    NOT_A_CONTROL,
    NOT_ADJUSTMENT,
    SIMULATION_TRUTH,
    UNKNOWN_TIMING,
    AuditInputError,
)
from causal_core.project import Project, Timing


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
    categorical: set[str] = field(default_factory=set)  # the dictionary says: levels, even when stored as numbers

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
        raise AuditInputError(
            "No outcome column is set: choose the primary outcome on the Overview page (or --outcome)."
        )
    for label, name in (("treatment", project.treatment), ("outcome", project.outcome)):
        if name not in columns:
            raise AuditInputError(
                f"The {label} column '{name}' is not in the data (columns: {', '.join(columns[:20])})."
            )
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
        warnings.append(
            f"Columns with unknown timing (not eligible for adjustment until documented): {', '.join(unknown)}."
        )
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
        categorical={name for name, entry in entries.items() if entry.categorical},
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
            raise AuditInputError(
                f"A treated-value mapping needs a two-valued treatment; '{name}' has {len(values)} values."
            )
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
    is_zero_one = (
        pd.api.types.is_numeric_dtype(present)
        and not pd.api.types.is_bool_dtype(present)
        and set(np.asarray(values, dtype=float).tolist()) <= {0.0, 1.0}
    )
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
