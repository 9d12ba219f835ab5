"""N09 §8 role scan (with the DAG cross-check) and leakage."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from causal_core import dag as dag_module
from causal_core.audit.constants import DAG_BAD_FOR_ELIGIBLE, ELIGIBLE, EXCLUDE, EXCLUDED_TIMINGS, UNKNOWN_TIMING
from causal_core.audit.helpers import Roles, _as_numeric, _is_categorical
from causal_core.project import Project, Timing


# ---------------------------------------------------------------------------------------------
# §8 role scan (with DAG cross-check) and leakage
# ---------------------------------------------------------------------------------------------
def _dag_roles(project: Project, columns: list[str]) -> tuple[dict[str, list[str]] | None, str]:
    """Column -> DAG roles when the project has a DAG; else (None, why)."""
    if project.dag is None or not project.dag.nodes:
        return None, "no DAG in the project"
    by_node = dag_module.node_roles(project.dag)  # total: never raises (tests/test_dag_roles_total.py)
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
            flag = (
                f"LEAKAGE RISK: {timing.value.replace('_', '-')} column predicts the outcome; exclude from adjustment"
            )
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
        "rank",
        "variable",
        "abs_corr_with_outcome",
        "corr_with_outcome",
        "rows_used",
        "timing",
        "initial_role",
        "adjustment_eligibility_for_total_effect",
        "flag",
    ]
    if not rows:
        return pd.DataFrame(columns=columns)
    table = pd.DataFrame(rows).sort_values("abs_corr_with_outcome", ascending=False, kind="stable", na_position="last")
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table[columns]
