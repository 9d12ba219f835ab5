"""The model lab's tables and charts (N09 §15): per-model summary, case results, failures, repair stages.

A failed run scores zero and stays in the denominator, so a model that fails is never flattered by a NaN that drops
out of a mean. The charts are altair, Streamlit-free, so they can be tested and exported.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from causal_core.lab_bench.state import (
    pending_keys,
    planned_keys,
    unavailable_models,
)
from causal_core.safe_io import safe_csv_text

# N09 §15's tables, generalised from the profile task to any artifact task (profile_score -> score).
SUMMARY_COLUMNS = [
    "label", "model_id", "role", "cases", "schema_valid_cases", "schema_repaired_cases",
    "schema_reliability", "mean_score", "failure_types",
]
SUMMARY_EXTRA_COLUMNS = ["truncated_cases", "mean_tokens_per_s", "mean_duration_s"]
CASE_RESULT_COLUMNS = [
    "label", "model_id", "role", "case_id", "repeat", "seed", "status", "schema_valid", "repair_used",
    "repair_stage", "failure_type", "score", "max_score", "score_share", "tokens_per_s", "new_tokens",
    "duration_s", "error", "raw_output_preview",
]
FAILED_COLUMNS = ["label", "model_id", "case_id", "repeat", "status", "failure_type", "error", "raw_output_preview"]
REPAIR_STAGES = ("none", "parser", "model_retry", "failed")


def case_results(run: dict[str, Any] | None) -> pd.DataFrame:
    """The case-result table: one row per (model, case, repeat), failures included with score 0."""
    records = (run or {}).get("records", [])
    if not records:
        return pd.DataFrame(columns=CASE_RESULT_COLUMNS)
    return pd.DataFrame(records).reindex(columns=CASE_RESULT_COLUMNS)


def summarize(run: dict[str, Any] | None) -> pd.DataFrame:
    """Per-model summary: reliability = valid / all runs; mean_score = mean share with failures at 0."""
    results = case_results(run)
    columns = SUMMARY_COLUMNS + SUMMARY_EXTRA_COLUMNS
    if results.empty:
        return pd.DataFrame(columns=columns)
    summary = results.groupby(["label", "model_id", "role"], as_index=False, sort=False).agg(
        cases=("case_id", "size"),
        schema_valid_cases=("schema_valid", "sum"),
        schema_repaired_cases=("repair_used", "sum"),
        mean_score=("score_share", "mean"),
        failure_types=("failure_type", lambda values: sorted({v for v in values if v})),
        truncated_cases=("failure_type", lambda values: int(sum(value == "truncated" for value in values))),
        mean_tokens_per_s=("tokens_per_s", lambda values: float(values[values > 0].mean()) if (values > 0).any() else 0.0),
        mean_duration_s=("duration_s", "mean"),
    )
    summary["cases"] = summary["cases"].astype(int)
    summary["schema_valid_cases"] = summary["schema_valid_cases"].astype(int)
    summary["schema_repaired_cases"] = summary["schema_repaired_cases"].astype(int)
    summary["schema_reliability"] = summary["schema_valid_cases"] / summary["cases"]
    # A model whose outputs were cut off is never ranked level with (or above) one whose outputs were not.
    summary = summary.assign(_clean=summary["truncated_cases"] == 0)
    summary = summary.sort_values(["_clean", "mean_score", "schema_reliability"], ascending=False, kind="stable")
    return summary[columns].reset_index(drop=True)


def failed_runs(run: dict[str, Any] | None) -> pd.DataFrame:
    results = case_results(run)
    if results.empty:
        return pd.DataFrame(columns=FAILED_COLUMNS)
    return results.loc[~results["schema_valid"].astype(bool), FAILED_COLUMNS].reset_index(drop=True)


def repair_stage_counts(run: dict[str, Any] | None, by_model: bool = False) -> pd.DataFrame:
    """How much cleanup the outputs needed: runs per repair stage (optionally per model)."""
    results = case_results(run)
    keys = ["label", "repair_stage"] if by_model else ["repair_stage"]
    if results.empty:
        return pd.DataFrame(columns=[*keys, "cases"])
    results = results.assign(repair_stage=results["repair_stage"].fillna("none"))
    counts = results.groupby(keys, as_index=False).agg(cases=("case_id", "size"))
    order = {stage: i for i, stage in enumerate(REPAIR_STAGES)}
    counts = counts.assign(_order=counts["repair_stage"].map(order).fillna(len(order)))
    sort_keys = (["label", "_order"] if by_model else ["_order"])
    return counts.sort_values(sort_keys).drop(columns="_order").reset_index(drop=True)


def report_payload(run: dict[str, Any] | None) -> dict[str, Any]:
    """Everything the CLI prints and the JSON download holds: summary, cases, failures, repairs, plan."""
    run = run or {}
    summary = summarize(run)
    cases = case_results(run)
    return {
        "run_id": run.get("id"),
        "task": run.get("task"),
        "status": run.get("status"),
        "case_ids": run.get("case_ids", []),
        "repeats": run.get("repeats"),
        "base_seed": run.get("base_seed"),
        "settings": run.get("settings", {}),
        "summary": summary.to_dict(orient="records"),
        "cases": cases.to_dict(orient="records"),
        "failed_runs": failed_runs(run).to_dict(orient="records"),
        "repair_stages": repair_stage_counts(run).to_dict(orient="records"),
        "unavailable": unavailable_models(run) if run else [],
        "warnings": list(run.get("warnings", [])),
        "pending": len(pending_keys(run)) if run else 0,
    }


def summary_csv(run: dict[str, Any] | None) -> bytes:
    summary = summarize(run)
    summary = summary.assign(failure_types=summary["failure_types"].map(lambda v: ";".join(v)))
    return safe_csv_text(summary).encode("utf-8")  # model ids and failure text: formula-like cells neutralised


def cases_csv(run: dict[str, Any] | None) -> bytes:
    return safe_csv_text(case_results(run)).encode("utf-8")


def run_json(run: dict[str, Any] | None) -> str:
    """The JSON download: the report plus the plan's models (with unavailability reasons)."""
    payload = {**report_payload(run), "models": (run or {}).get("models", [])}
    return json.dumps(payload, indent=2, default=str)


def run_label(run: dict[str, Any]) -> str:
    """How a stored run is named in the run picker."""
    done, planned = len(run.get("records", [])), len(planned_keys(run))
    return f"{run['task']} · {run['created_at'][:16].replace('T', ' ')} · {run['status']} ({done}/{planned})"


def _bar(summary: pd.DataFrame, field: str, title: str, domain: tuple[float, float] | None, fmt: str) -> Any:
    import altair as alt

    scale = alt.Scale(domain=list(domain)) if domain else alt.Undefined
    return (
        alt.Chart(summary, title=title)
        .mark_bar()
        .properties(height=alt.Step(32))
        .encode(
            y=alt.Y("label:N", sort="-x", title="model", axis=alt.Axis(labelLimit=320)),
            x=alt.X(f"{field}:Q", scale=scale, title=title),
            tooltip=["label", "model_id", "role", alt.Tooltip(f"{field}:Q", format=fmt), "cases"],
        )
    )


def lab_charts(run: dict[str, Any] | None) -> dict[str, Any]:
    """Score (mean share, with every run as a dot), schema reliability and tokens/s by model."""
    import altair as alt

    summary = summarize(run)
    if summary.empty:
        return {}
    summary = summary.drop(columns="failure_types")
    runs = case_results(run)[["label", "case_id", "repeat", "score_share", "status"]]
    score_bars = _bar(summary, "mean_score", "mean rubric score share", (0.0, 1.0), ".2f")
    dots = (
        alt.Chart(runs)
        .mark_point(filled=True, size=60, color="black", opacity=0.6)
        .encode(
            y=alt.Y("label:N", sort=alt.EncodingSortField("score_share", op="mean", order="descending"),
                    axis=alt.Axis(labelLimit=320)),
            x="score_share:Q",
            shape=alt.Shape("status:N", scale=alt.Scale(domain=["ok", "failed"], range=["circle", "cross"])),
            tooltip=["label", "case_id", "repeat", "status", alt.Tooltip("score_share:Q", format=".2f")],
        )
    )
    return {
        "score": alt.layer(score_bars, dots),
        "reliability": _bar(summary, "schema_reliability", "schema reliability", (0.0, 1.0), ".2f"),
        "tokens_per_s": _bar(summary, "mean_tokens_per_s", "tokens / s (mean)", None, ".1f"),
    }
