"""The audit score panel every AI artifact carries: latest score, each check, and its history.

One widget for every artifact page (estimand card, DAG, profile review, memo) so the analyst
always reads a draft's quality the same way: was the output schema-valid, did it need repair,
how it failed, which deterministic checks pass, and how the score moved across drafts and edits.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from causal_core.project import AuditRecord, Project, RubricCheck
from causal_core.safe_text import escape_markdown

# Markdown marks are Streamlit's Material icons and table cells plain words: a fresh machine has no emoji font.
_ICON = {
    "pass": ":material/check_circle: pass",
    "fail": ":material/cancel: fail",
    "warn": ":material/warning: warn",
}
_WORD = {"pass": "pass", "fail": "FAIL", "warn": "warn"}




def _result(check: RubricCheck) -> str:
    return "pass" if check.passed else ("warn" if check.severity == "warn" else "fail")


def check_lines(checks: list[RubricCheck]) -> str:
    """The checks as a wrapped markdown list: icon, name, one-line reason (all text escaped)."""
    return "\n".join(
        f"- {_ICON[_result(c)]} "
        f"**{escape_markdown(c.name)}** — {escape_markdown(c.reason)}"
        for c in checks
    )


def check_rows(checks: list[RubricCheck]) -> pd.DataFrame:
    """One row per rubric check: pass / fail / warn and its one-line reason."""
    return pd.DataFrame(
        [
            {
                "check": c.name,
                "result": _WORD[_result(c)],
                "reason": c.reason,
            }
            for c in checks
        ],
        columns=["check", "result", "reason"],
    )


def history_rows(records: list[AuditRecord]) -> pd.DataFrame:
    """Every scoring of the artifact, newest first: who produced it (model or analyst), when, and the score."""
    return pd.DataFrame(
        [
            {
                "#": index,
                "time": r.time,
                "model": r.model_id or "—",
                "schema_valid": r.schema_valid,
                "repair_stage": r.repair_stage,
                "failure_type": r.failure_type or "—",
                "score": f"{r.score} / {r.max_score}",
            }
            for index, r in reversed(list(enumerate(records, start=1)))
        ],
        columns=["#", "time", "model", "schema_valid", "repair_stage", "failure_type", "score"],
    )


def _history_chart(records: list[AuditRecord]) -> alt.Chart:
    data = pd.DataFrame(
        [
            {"draft": i, "score": r.score, "max_score": r.max_score, "model": r.model_id or "—", "time": r.time}
            for i, r in enumerate(records, start=1)
        ]
    )
    top = max(int(data["max_score"].max()), 1)
    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("draft:O", title="scoring #"),
            y=alt.Y("score:Q", scale=alt.Scale(domain=[0, top]), title="score"),
            tooltip=["draft", "model", "time", "score", "max_score"],
        )
        .properties(height=140)
    )


def _failure_detail(project: Project, record: AuditRecord) -> str:
    """The logged error of the failed call, one line (from the AI log), if there is one."""
    interaction = next((i for i in reversed(project.ai_log) if i.id == record.interaction_id), None)
    if interaction is None or not interaction.error:
        return ""
    return " ".join(interaction.error.split())[:300]


def render_audit_panel(project: Project, artifact: str, title: str = "Audit score") -> None:
    """Show the latest audit record for ``artifact`` (schema, repair, failure, checks, k / n) and history."""
    records = project.audit_history(artifact)
    with st.container(border=True):
        st.markdown(f"**{title}**")
        if not records:
            st.caption("No audit yet: draft or load the artifact to score it.")
            return
        latest = records[-1]
        top = st.columns(2)
        top[0].metric("Score", f"{latest.score} / {latest.max_score}")
        top[1].metric("Schema valid", "yes" if latest.schema_valid else "no")
        bottom = st.columns(2)
        bottom[0].metric("Repair stage", latest.repair_stage)
        bottom[1].metric("Failure type", latest.failure_type or "—")
        source = "the analyst (example, manual entry or edit)" if latest.model_id == "analyst" else f"model `{latest.model_id or 'unknown'}`"
        st.caption(f"Latest scoring: {source}, {latest.time}.")
        if not latest.schema_valid:
            detail = _failure_detail(project, latest)
            st.error(
                f"Generation failed ({latest.failure_type}): the draft scores 0 / {latest.max_score}."
                + (f" Error: {escape_markdown(detail)}" if detail else "")
            )
        if latest.checks:
            st.markdown(check_lines(latest.checks))
            if any(c.severity == "warn" for c in latest.checks):
                st.caption(":material/warning: warn checks flag something to look at; they are not counted in the score.")
        if len(records) > 1:
            with st.expander(f"Score history ({len(records)})"):
                st.altair_chart(_history_chart(records), width="stretch")
                st.dataframe(history_rows(records), hide_index=True, width="stretch")
