"""N09 §4 grain and schema, §6 duplicates."""

from __future__ import annotations

import pandas as pd

from causal_core.audit.helpers import Roles
from causal_core.overview import schema_profile as overview_schema_profile


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
