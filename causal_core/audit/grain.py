"""N09 §4 grain and schema, §6 duplicates."""

from __future__ import annotations

import pandas as pd

from causal_core.audit.helpers import Roles
from causal_core.audit.overview import schema_profile as overview_schema_profile
from causal_core.project import Project, Timing


# ---------------------------------------------------------------------------------------------
# Exact duplicate rows (every column equal) and the grain the dictionary names
# ---------------------------------------------------------------------------------------------
def exact_duplicate_count(frame: pd.DataFrame) -> int:
    """Rows that repeat an earlier row in every column (what de-duplication would drop; the first copy stays)."""
    return int(frame.duplicated(keep="first").sum()) if len(frame.columns) else 0


def exact_duplicate_warning(frame: pd.DataFrame) -> str | None:
    """The audit's finding for exact copies, with count and share; checked with or without a unit grain.

    Why always: on an upload half the rows were exact copies (13,616 of 27,178) and nothing said so, because the
    duplicate check only ran on a unit grain. Identical rows double the weight of whatever they record.
    """
    count = exact_duplicate_count(frame)
    if not count:
        return None
    share = count / len(frame)
    return (
        f"{count:,} of {len(frame):,} rows ({share:.1%}) are exact duplicates of an earlier row (every column equal): "
        "each copy counts again in every estimate. Confirm they are real repeats, or de-duplicate them "
        "(CLI: audit --drop-exact-duplicates; or set the unit grain and a de-duplication rule)."
    )


def drop_exact_duplicates(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The rows without exact copies (first occurrence kept, order kept) and how many were dropped."""
    kept = frame.drop_duplicates(keep="first").reset_index(drop=True)
    return kept, len(frame) - len(kept)


def dictionary_grain(project: Project, frame: pd.DataFrame) -> list[str]:
    """The unit grain: the project's unit columns, else the columns the dictionary times as 'unit id' (with its
    'time id' columns: a panel's row is one unit at one time).

    Why the dictionary: an analyst who documents a column as the unit identifier has named the grain; the audit
    must not then say "No unit grain is given".
    """
    if project.unit_columns:
        return list(project.unit_columns)
    columns = {str(c) for c in frame.columns}
    units = [e.variable for e in project.dictionary if e.timing == Timing.unit_id and e.variable in columns]
    if not units:
        return []
    times = [e.variable for e in project.dictionary if e.timing == Timing.time_id and e.variable in columns]
    return units + [t for t in times if t not in units]  # a panel's row is one unit at one time


def with_dictionary_grain(project: Project, frame: pd.DataFrame) -> tuple[Project, str | None]:
    """The project with the dictionary's grain filled in for the audit, and the note that says so (or None)."""
    if project.unit_columns:
        return project, None
    grain = dictionary_grain(project, frame)
    if not grain:
        return project, None
    note = (
        f"Unit grain taken from the dictionary (timing 'unit id'): {', '.join(grain)}. Set it on the Overview page "
        "to make it the project's grain for de-duplication."
    )
    return project.model_copy(update={"unit_columns": grain}), note


# ---------------------------------------------------------------------------------------------
# §4 grain and schema, §6 duplicates
# ---------------------------------------------------------------------------------------------
def schema_table(frame: pd.DataFrame, roles: Roles, coded: pd.Series, missing_treatment: int) -> pd.DataFrame:
    """N09 §4 (reusing the overview's schema profile) plus what the generic case needs."""
    view = frame.assign(**{roles.treatment: coded})
    table = overview_schema_profile(view, roles.unit_columns, roles.time_column, roles.treatment)
    extra = []
    duplicates = exact_duplicate_count(frame)
    extra.append({"metric": "exact duplicate rows", "value": duplicates})
    if len(frame):
        extra.append({"metric": "exact duplicate share", "value": round(duplicates / len(frame), 4)})
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
