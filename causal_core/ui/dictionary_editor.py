"""Editable data dictionary and the project's role columns (treatment, outcome, grain)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from causal_core.data import DataError, dictionary_from_frame, dictionary_to_frame
from causal_core.project import TIMING_SYNONYMS, Project
from causal_core.ui import state

TIMING_CHOICES = sorted({term for term in TIMING_SYNONYMS if term} | {"unknown"})


def render_dictionary_editor(project: Project, frame: pd.DataFrame) -> None:
    """Edit variable/description/timing/role; each saved change is logged as an analyst edit."""
    table = dictionary_to_frame(project.dictionary).drop(columns=["timing_normalised"])
    # The key changes with every saved dictionary edit: a data_editor keeps its edit delta under its key
    # and would re-apply it to the already-updated table (an added row would be added again each run).
    saved_edits = sum(edit.artifact == "dictionary" for edit in project.edit_log)
    edited = st.data_editor(
        table,
        key=f"dictionary_editor_{state.active_key()}_{saved_edits}",
        num_rows="dynamic",
        width="stretch",
        column_config={
            "timing": st.column_config.SelectboxColumn("timing", options=TIMING_CHOICES, required=False),
            "simulation_truth": st.column_config.CheckboxColumn("simulation truth"),
        },
        hide_index=True,
    )
    unknown_columns = sorted(set(map(str, frame.columns)) - set(edited["variable"].astype(str)))
    absent = sorted(set(edited["variable"].astype(str)) - set(map(str, frame.columns)))
    if unknown_columns:
        st.caption(f"Columns without a dictionary row (timing = unknown): {', '.join(unknown_columns)}")
    if absent:
        st.caption(f"Dictionary variables not in the data: {', '.join(absent)}")
    if edited.equals(table):
        return
    try:
        entries = dictionary_from_frame(edited)
    except DataError as error:
        st.error(str(error))
        return
    updated = project.with_edit("dictionary", "rows", table.to_dict("records"), edited.to_dict("records"))
    state.set_project(updated.model_copy(update={"dictionary": entries}))


def render_role_columns(project: Project, frame: pd.DataFrame) -> None:
    """Treatment, outcome, guardrails, grain and cluster: defaults later pages start from."""
    columns = [str(c) for c in frame.columns]
    none = "—"
    left, right = st.columns(2)

    def pick(container, label: str, current: str | None, key: str) -> str | None:
        options = [none, *columns]
        index = options.index(current) if current in options else 0
        value = container.selectbox(label, options, index=index, key=f"{key}_{state.active_key()}")
        return None if value == none else value

    treatment = pick(left, "Treatment", project.treatment, "role_treatment")
    outcome = pick(left, "Primary outcome", project.outcome, "role_outcome")
    guardrails = left.multiselect(
        "Guardrail outcomes", columns, default=[g for g in project.guardrails if g in columns], key=f"role_guardrails_{state.active_key()}"
    )
    units = right.multiselect(
        "Unit grain (columns that identify one row)", columns,
        default=[u for u in project.unit_columns if u in columns], key=f"role_units_{state.active_key()}",
    )
    time_column = pick(right, "Time column", project.time_column, "role_time")
    cluster = pick(right, "Cluster column (for robust SEs)", project.cluster_column, "role_cluster")
    changes = {
        "treatment": treatment, "outcome": outcome, "guardrails": guardrails,
        "unit_columns": units, "time_column": time_column, "cluster_column": cluster,
    }
    changed = {name: value for name, value in changes.items() if getattr(project, name) != value}
    if not changed:
        return
    updated = project
    for name, value in changed.items():
        updated = updated.with_edit("project", name, getattr(project, name), value)
    state.set_project(updated.model_copy(update=changed))
