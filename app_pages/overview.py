"""Overview: the workflow in brief, the dataset, its dictionary and which artifacts exist."""

import streamlit as st

from causal_core.audit.overview import artifact_checklist, format_values, overview_table
from causal_core.safe_text import escape_markdown
from causal_core.ui import state
from causal_core.ui.dictionary_editor import render_dictionary_editor, render_role_columns

st.title("Causal Workbench")
st.markdown(
    """
Walk one causal question from business language to a defensible decision memo:
**Question** (estimand card) → **DAG** (adjustment sets, bad controls) → **Data audit** (grain, missingness,
balance, leakage) → **Estimation** (naive, regression, IPW, doubly robust, sensitivity) → **Memo**.

*Python counts, the LLM drafts and asks questions, deterministic audits score the drafts, the analyst decides.*
A model's text is never causal evidence and is never executed.
"""
)

project = state.get_project()
frame = state.require_frame()
source = project.data_source

st.subheader("Dataset")
if source is not None:
    st.caption(  # the file name is user text: escaped, never Markdown
        f"{source.kind}: **{escape_markdown(source.name)}** · {source.rows:,} rows · {len(source.columns)} columns · "
        f"sha256 `{source.sha256[:16]}…`"
    )
title, table = overview_table(project, frame)
left, right = st.columns([1, 2])
with left:
    st.markdown(f"**{title}**")
    st.dataframe(format_values(table), hide_index=True, width="stretch")
with right:
    st.markdown("**Preview**")
    st.dataframe(frame.head(20), width="stretch")

st.subheader("Roles")
render_role_columns(project, frame)

st.subheader("Data dictionary")
st.caption(
    "Timing decides what may be adjusted for: pre-treatment columns are candidates; post-treatment, outcome and "
    "future columns are excluded from total-effect adjustment. Unknown timing is never guessed as pre-treatment."
)
render_dictionary_editor(state.get_project(), frame)

st.subheader("Artifacts")
st.dataframe(artifact_checklist(state.get_project()), hide_index=True, width="stretch")
