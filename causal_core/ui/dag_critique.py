""""Critique my DAG" expander on the DAG page: a model's suggestions, each with its evidence, accept/reject.

Only suggestions that passed their checks can be accepted; accepting one goes through the page's normal
edit path (``dag_state.attempt``: validated edit, undo history, edit-log line). Rejected ones stay listed
with the reason, so the analyst sees what the model proposed and why it was refused.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from causal_core.ai.rubric import audit_record
from causal_core.lab_bench import critique
from causal_core.project import DagSpec, Project
from causal_core.safe_text import escape_markdown
from causal_core.ui import dag_state, state
from causal_core.ui.audit_panel import render_audit_panel

STORE = "dag_critique_answer"
DISMISSED = "dag_critique_dismissed"
FAILED_MAX_SCORE = 5


def _ask_model(project: Project, frame: pd.DataFrame | None) -> None:
    """Run the critique task; the answer is kept for this page, the audit record goes into the project."""
    from causal_core.ui.ai import draft_artifact

    interaction = draft_artifact(critique.CRITIQUE_TASK, critique.build_inputs(project, frame))
    current = state.get_project()
    if interaction.schema_valid and interaction.parsed is not None:
        checks = critique.score_critique(interaction.parsed, current, frame)
        st.session_state[dag_state.key(STORE)] = interaction.parsed
        st.session_state[dag_state.key(DISMISSED)] = []
        state.set_project(current.with_audit(audit_record("dag_critique", checks, interaction)))
    else:
        state.set_project(current.with_audit(audit_record("dag_critique", [], interaction,
                                                          max_score_if_failed=FAILED_MAX_SCORE)))


def _render_one(index: int, item: critique.CheckedSuggestion, spec: DagSpec, frame: pd.DataFrame | None) -> None:
    icon = ":material/check_circle:" if item.acceptable else ":material/block:"
    st.markdown(f"{icon} **{escape_markdown(item.title)}** — {escape_markdown(item.rationale)}")
    for line in item.evidence:
        st.caption(escape_markdown(line))
    for reason in item.rejected_because:
        st.caption(f":material/error: Rejected: {escape_markdown(reason)}")
    if not item.acceptable:
        return
    st.caption("Accepting makes: " + escape_markdown("; ".join(item.edits)))
    left, right = st.columns(2)
    if left.button("Accept", key=dag_state.key(f"dag_critique_accept_{index}"), icon=":material/done:"):
        suggestion = critique.Suggestion(kind=item.kind, node=item.node, source=item.source, target=item.target,
                                         rationale=item.rationale or "critique")
        columns = list(frame.columns) if frame is not None else []
        st.session_state[dag_state.key(DISMISSED)] = [*st.session_state.get(dag_state.key(DISMISSED), []), index]
        dag_state.attempt(lambda: critique.proposed_spec(spec, suggestion, columns)[0], "dag.critique",
                          item.title, f"Accepted critique suggestion: {item.title} ({'; '.join(item.edits)})")
    if right.button("Reject", key=dag_state.key(f"dag_critique_reject_{index}"), icon=":material/close:"):
        st.session_state[dag_state.key(DISMISSED)] = [*st.session_state.get(dag_state.key(DISMISSED), []), index]
        st.rerun()


def render_critique(project: Project, spec: DagSpec, frame: pd.DataFrame | None) -> None:
    """The expander: ask, then every suggestion with its evidence; the critique's audit score below."""
    with st.expander("Critique my DAG (AI)", icon=":material/rate_review:"):
        st.caption("A model proposes missing confounders, suspicious edges and negative-control outcomes. Each is "
                   "checked before it is shown: dictionary timing, cycles and names, CI tests on the data, and what "
                   "accepting it would do to the adjustment set and the linear estimate.")
        if not spec.treatment or not spec.outcome:
            st.info("Choose a treatment and an outcome node first.")
            return
        if st.button("Ask the model for a critique", key=dag_state.key("dag_critique_run"), icon=":material/psychology:"):
            _ask_model(project, frame)
        answer = st.session_state.get(dag_state.key(STORE))
        if answer:
            dismissed = set(st.session_state.get(dag_state.key(DISMISSED), []))
            checked = critique.check_critique(answer, state.get_project(), frame)
            for index, item in enumerate(checked):
                if index not in dismissed:
                    with st.container(border=True):
                        _render_one(index, item, spec, frame)
        render_audit_panel(state.get_project(), "dag_critique", "Critique audit score")
