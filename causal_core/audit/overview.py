"""Overview tables shown on the first page: N01 §4 for retention, N09 §4 for panels, generic otherwise."""

from __future__ import annotations

import numpy as np
import pandas as pd

from causal_core.project import Project


def naive_risk_difference(frame: pd.DataFrame, treatment: str, outcome: str) -> dict[str, float]:
    """Difference in means with a Welch (unpooled) standard error and a normal 95 % interval."""
    treated = frame.loc[frame[treatment] == 1, outcome].dropna()
    control = frame.loc[frame[treatment] == 0, outcome].dropna()
    estimate = treated.mean() - control.mean()
    se = float(np.sqrt(treated.var(ddof=1) / treated.size + control.var(ddof=1) / control.size))
    return {
        "treated_mean": float(treated.mean()),
        "control_mean": float(control.mean()),
        "estimate": float(estimate),
        "std_error": se,
        "ci_low": float(estimate - 1.96 * se),
        "ci_high": float(estimate + 1.96 * se),
        "n_treated": int(treated.size),
        "n_control": int(control.size),
    }


def retention_overview(frame: pd.DataFrame) -> pd.DataFrame:
    """N01 §4's overview table (quantity, value)."""
    treated = frame["outreach"] == 1
    return pd.DataFrame(
        {
            "quantity": [
                "accounts",
                "outreach rate",
                "observed churn rate",
                "true ATE in simulation",
                "mean baseline churn risk among treated",
                "mean baseline churn risk among controls",
            ],
            "value": [
                float(len(frame)),
                frame["outreach"].mean(),
                frame["churn"].mean(),
                frame["true_individual_effect"].mean(),
                frame.loc[treated, "p_churn_without"].mean(),
                frame.loc[~treated, "p_churn_without"].mean(),
            ],
        }
    )


def schema_profile(frame: pd.DataFrame, unit_columns: list[str], time_column: str | None, treatment: str | None) -> pd.DataFrame:
    """N09 §4: rows, columns, unique units by the intended grain, duplicated rows, time span, arms."""
    rows: list[dict] = [
        {"metric": "rows", "value": len(frame)},
        {"metric": "columns", "value": frame.shape[1]},
    ]
    if unit_columns:
        grain = "-".join(col.removesuffix("_id").removesuffix("_start") for col in unit_columns)
        rows.append({"metric": f"unique {grain}s", "value": int(frame[unit_columns].drop_duplicates().shape[0])})
        rows.append(
            {"metric": "duplicated rows by intended grain", "value": int(frame.duplicated(unit_columns, keep=False).sum())}
        )
    if time_column and time_column in frame.columns:
        rows.append({"metric": "first week" if "week" in time_column else "first time", "value": frame[time_column].min()})
        rows.append({"metric": "last week" if "week" in time_column else "last time", "value": frame[time_column].max()})
    if treatment and treatment in frame.columns and pd.api.types.is_numeric_dtype(frame[treatment]):
        rows.append({"metric": "treated rows", "value": int((frame[treatment] == 1).sum())})
        rows.append({"metric": "untreated rows", "value": int((frame[treatment] == 0).sum())})
    return pd.DataFrame(rows)


def generic_overview(frame: pd.DataFrame) -> pd.DataFrame:
    """For uploads: size, types and missingness at a glance."""
    numeric = frame.select_dtypes(include="number").shape[1]
    return pd.DataFrame(
        [
            {"metric": "rows", "value": len(frame)},
            {"metric": "columns", "value": frame.shape[1]},
            {"metric": "numeric columns", "value": numeric},
            {"metric": "other columns", "value": frame.shape[1] - numeric},
            {"metric": "cells missing", "value": int(frame.isna().sum().sum())},
            {"metric": "exact duplicate rows", "value": int(frame.duplicated().sum())},
        ]
    )


def overview_table(project: Project, frame: pd.DataFrame) -> tuple[str, pd.DataFrame]:
    """The overview that fits the dataset, with a title naming which one it is."""
    source = project.data_source
    if source and source.kind == "builtin" and source.name == "retention":
        return "Dataset overview (N01 §4)", retention_overview(frame)
    if project.unit_columns:
        return "Grain and schema profile (N09 §4)", schema_profile(
            frame, project.unit_columns, project.time_column, project.treatment
        )
    return "Dataset overview", generic_overview(frame)


def artifact_checklist(project: Project) -> pd.DataFrame:
    """Which workflow artifacts exist in the project, in workflow order."""
    items = [
        ("Brief", bool(project.brief.strip()), "Question"),
        ("Estimand card", project.estimand_card is not None, "Question"),
        ("Estimand card approved", project.card_status == "approved", "Question"),
        ("Data dictionary with timing", any(e.timing.value != "unknown" for e in project.dictionary), "Overview"),
        ("DAG", project.dag is not None and bool(project.dag.edges), "DAG"),
        ("Data audit", project.data_audit is not None, "Data audit"),
        ("AI profile review", project.profile_review is not None, "Data audit"),
        ("Estimates", project.estimation is not None and bool(project.estimation.estimates), "Estimation"),
        ("Decision memo", memo_done(project), "Memo"),
    ]
    return pd.DataFrame(
        [{"artifact": name, "status": "done" if done else "not yet", "page": page} for name, done, page in items]
    )


def memo_done(project: Project) -> bool:
    """A memo counts only once it reports an estimate: the deterministic memo is stored from the first visit
    (saying "not yet estimated"), and that placeholder is not a decision memo. An analyst's final memo counts."""
    if any(str(text).strip() for text in project.memo.final.values()):
        return True
    estimated = project.estimation is not None and bool(project.estimation.estimates)
    return estimated and bool(project.memo.deterministic)


def format_values(table: pd.DataFrame) -> pd.DataFrame:
    """Display copy of a metric/value table: whole numbers as integers, others to 3 decimals, dates as dates."""

    def show(value: object) -> str:
        if isinstance(value, pd.Timestamp):
            return str(value.date()) if value == value.normalize() else str(value)
        if isinstance(value, int | np.integer):
            return f"{int(value):,}"
        if isinstance(value, float | np.floating):
            return f"{int(value):,}" if float(value).is_integer() else f"{float(value):.3f}"
        return str(value)

    return table.assign(value=table["value"].map(show))
