"""The audit score panel every AI artifact carries: latest score, each check, and its history."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from causal_core.project import AuditRecord, Project


def _history_table(records: list[AuditRecord]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "time": r.time,
                "model": r.model_id,
                "schema_valid": r.schema_valid,
                "repair_stage": r.repair_stage,
                "failure_type": r.failure_type or "—",
                "score": f"{r.score} / {r.max_score}",
            }
            for r in reversed(records)
        ]
    )


def render_audit_panel(project: Project, artifact: str, title: str = "Audit score") -> None:
    """Show the latest audit record for ``artifact`` (schema, repair, failure, checks, k / n) and history."""
    records = project.audit_history(artifact)
    with st.container(border=True):
        st.markdown(f"**{title}**")
        if not records:
            st.caption("No audit yet: draft or load the artifact to score it.")
            return
        latest = records[-1]
        cols = st.columns(4)
        cols[0].metric("Score", f"{latest.score} / {latest.max_score}")
        cols[1].metric("Schema valid", "yes" if latest.schema_valid else "no")
        cols[2].metric("Repair stage", latest.repair_stage)
        cols[3].metric("Failure type", latest.failure_type or "—")
        if not latest.schema_valid:
            st.error(f"Generation failed ({latest.failure_type}): the artifact scores zero.")
        if latest.checks:
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "check": c.name,
                            "result": ("✅ pass" if c.passed else ("⚠️ warn" if c.severity == "warn" else "❌ fail")),
                            "reason": c.reason,
                        }
                        for c in latest.checks
                    ]
                ),
                hide_index=True,
                width="stretch",
            )
        if len(records) > 1:
            with st.expander(f"Score history ({len(records)})"):
                st.dataframe(_history_table(records), hide_index=True, width="stretch")
