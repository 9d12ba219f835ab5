"""N09 §4 types and §5 missingness."""

from __future__ import annotations

import numpy as np
import pandas as pd

from causal_core.audit.balance import DesignSource
from causal_core.audit.helpers import Roles, _is_categorical
from causal_core.project import Timing


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
            return (
                f"structural in untreated rows (not measured without treatment); {treated:.1%} data loss among treated"
            )
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
