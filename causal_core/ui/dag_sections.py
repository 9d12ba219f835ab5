"""DAG page editor sections: add/remove, edge table, AI draft, import/export (layout and widgets only).

Every edit is a pure ``causal_core.dag`` function run through ``dag_state.attempt``, so a rejected edit
changes nothing and every accepted one can be undone. User and model text shown here goes through
``causal_core.safe_text``.

The AI draft keeps its progress where the user started it: the page's section bar is a keyed
``st.tabs`` (its choice survives the reruns a draft causes), and a draft interrupted by Stop (the click
reruns the script, abandoning the generation) is reported on the next run instead of vanishing.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from causal_core import dag, dag_io
from causal_core.ai.rubric import audit_record
from causal_core.dag import draft as dag_draft
from causal_core.dag.layout import MAX_DOT_NODES, place_new_nodes
from causal_core.dag.seeding import node_name_for_column
from causal_core.project import DagSpec, Project
from causal_core.safe_text import escape_markdown
from causal_core.ui import ai, dag_state, state
from causal_core.ui.audit_panel import render_audit_panel

SECTIONS = ["Add / remove", "Edge table", "AI draft", "Import / export"]
FAILURE_SENTENCES = {
    "stopped": "The draft was stopped before it finished",
    "timeout": "The draft ran out of time",
    "repetition": "The model repeated itself, so the draft was stopped early",
    "truncated": "The model's output was cut off at its token limit",
}


def render_sections(project: Project, spec: DagSpec, frame: pd.DataFrame, columns: list[str],
                    errors: list[str]) -> None:
    """The section bar (keyed: it stays on the section the user chose across reruns) and its sections."""
    tabs = st.tabs(SECTIONS, key=dag_state.key("dag_section"), on_change="rerun")
    with tabs[0]:
        _render_add_remove(spec, columns)
    with tabs[1]:
        _render_edge_table(spec)
    with tabs[2]:
        _render_draft(project, frame, columns)
    with tabs[3]:
        _render_import_export(project, spec, columns, errors)


# ---------------------------------------------------------------- add / remove
def _render_add_remove(spec: DagSpec, columns: list[str]) -> None:
    names = dag.node_names(spec)
    add_col, edge_col = st.columns(2)
    with add_col:
        st.markdown("**Add a node**")
        kind = st.radio("From", ["Data column", "Free name"], horizontal=True, key="dag_add_kind")
        free_columns = [c for c in columns if dag.node_for_column(spec, c) is None and c not in names]
        if kind == "Data column":
            column = st.selectbox("Column", free_columns or ["(every column is in the DAG)"], key="dag_add_column")
            if st.button("Add node", key="dag_add_node"):
                if column not in free_columns:
                    st.error("Rejected — every data column already has a node. The graph is unchanged.")
                else:
                    name = node_name_for_column(column, names)
                    label = column.strip() if name != column else ""
                    dag_state.attempt(
                        lambda: place_new_nodes(dag.add_node(spec, name, label=label, column=column), [name]),
                        "dag.nodes", name, f"Added node {name} (column {column}).",
                    )
        else:
            free_name = st.text_input("Name", key="dag_add_name")
            latent = st.checkbox("Latent (unmeasured)", key="dag_add_latent")
            if st.button("Add node", key="dag_add_free_node"):
                name = free_name.strip()
                dag_state.attempt(
                    lambda: place_new_nodes(dag.add_node(spec, name, label=name, latent=latent), [name]),
                    "dag.nodes", name, f"Added {'latent ' if latent else ''}node {name} (no data column).",
                )
    with edge_col:
        _render_edge_form(spec, names)


def _render_edge_form(spec: DagSpec, names: list[str]) -> None:
    st.markdown("**Add an edge**")
    source = st.selectbox("Cause", names, key="dag_edge_source")
    target = st.selectbox("Effect", names, key="dag_edge_target")
    rationale = st.text_input("Rationale (one line)", key="dag_edge_rationale")
    if st.button("Add edge", key="dag_add_edge"):
        dag_state.attempt(lambda: dag.add_edge(spec, source, target, rationale), "dag.edges",
                          dag.edge_text(source, target), f"Added {dag.edge_text(source, target)}.")
    st.markdown("**Remove an edge**")
    edge_labels = [dag.edge_text(e.source, e.target) for e in spec.edges]
    doomed = st.selectbox("Edge", edge_labels or ["(no edges)"], key="dag_remove_edge_choice")
    if st.button("Remove edge", key="dag_remove_edge"):
        if doomed not in edge_labels:
            st.error("Rejected — there is no edge to remove. The graph is unchanged.")
        else:
            chosen = spec.edges[edge_labels.index(doomed)]
            dag_state.attempt(lambda: dag.remove_edge(spec, chosen.source, chosen.target), "dag.edges", None,
                              f"Removed {doomed}.", before=doomed)


# ---------------------------------------------------------------- edge table
def _render_edge_table(spec: DagSpec) -> None:
    names = dag.node_names(spec)
    st.caption("Bulk edit: change, add or delete rows, then apply. All rows must be valid or nothing changes.")
    table = pd.DataFrame([e.model_dump() for e in spec.edges], columns=["source", "target", "rationale"])
    edited = st.data_editor(
        table,
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        column_config={
            "source": st.column_config.SelectboxColumn("source", options=names, required=True),
            "target": st.column_config.SelectboxColumn("target", options=names, required=True),
            "rationale": st.column_config.TextColumn("rationale", max_chars=200),
        },
        key=dag_state.key("dag_edge_table"),
    )
    if st.button("Apply edge table", key="dag_apply_edges"):
        rows = edited.to_dict("records")
        dag_state.attempt(lambda: dag.replace_edges(spec, rows), "dag.edges", f"{len(rows)} rows",
                          f"Edge table applied ({len(rows)} rows).", before=f"{len(spec.edges)} edges")


# ---------------------------------------------------------------- AI draft
def _running_key() -> str:
    return dag_state.key("dag_draft_running")


def _report_interrupted_draft() -> None:
    """A draft whose run never reached its end (Stop, or any click, reruns the script mid-generation)."""
    if st.session_state.pop(_running_key(), False):
        st.warning("The last AI draft was stopped before it finished: no edge was proposed and the DAG is "
                   "unchanged. Draft again, or load an example draft.", icon=":material/stop_circle:")


def _failure_sentence(failure_type: str | None) -> str:
    reason = FAILURE_SENTENCES.get(failure_type or "", "The model's output could not be used")
    return f"{reason} ({escape_markdown(failure_type or 'unknown')}); the DAG is unchanged."


def _draft_with_ai(project: Project, frame: pd.DataFrame, draft_key: str) -> None:
    inputs = dag_draft.DAG_TASK.build_inputs(project, frame)
    st.session_state[_running_key()] = True
    interaction = ai.draft_artifact(dag_draft.DAG_TASK, inputs)
    st.session_state.pop(_running_key(), None)
    logged = state.get_project()
    if interaction.schema_valid and interaction.parsed:
        checks = dag_draft.score_dag_draft(interaction.parsed, logged, frame)
        state.set_project(logged.with_audit(audit_record("dag", checks, interaction)))
        st.session_state[draft_key] = interaction.parsed
    else:
        state.set_project(logged.with_audit(audit_record("dag", [], interaction, max_score_if_failed=6)))
        st.session_state.pop(draft_key, None)
        st.error(_failure_sentence(interaction.failure_type))


def _render_draft(project: Project, frame: pd.DataFrame, columns: list[str]) -> None:
    if project.card_status != "approved":
        st.info("No approved estimand card yet: the draft will use the data dictionary only.")
    _report_interrupted_draft()
    draft_key = dag_state.key("dag_draft")
    buttons = st.columns(3)
    if buttons[0].button("Draft DAG with AI", key="dag_draft_ai"):
        _draft_with_ai(project, frame, draft_key)
    render_last = getattr(ai, "render_last_outcome", None)  # helper C's: the last draft's outcome, kept visible
    if render_last is not None:
        render_last(dag_draft.DAG_TASK)
    source_info = project.data_source
    has_example = source_info is not None and source_info.kind == "builtin" and source_info.name in dag.DEFAULT_DAGS
    if has_example and buttons[1].button("Load the notebook's example draft", key="dag_example_draft"):
        example = dag_draft.draft_from_spec(dag.default_dag(source_info.name), use_labels=True)
        checks = dag_draft.score_dag_draft(example, project, frame)
        state.set_project(project.with_audit(audit_record("dag", checks)))
        st.session_state[draft_key] = example
    if st.session_state.get(draft_key) and buttons[2].button("Discard draft", key="dag_discard_draft"):
        st.session_state.pop(draft_key, None)
    draft = st.session_state.get(draft_key)
    if draft:
        _render_draft_review(draft, columns)
    render_audit_panel(state.get_project(), "dag", "DAG draft audit")


def _render_draft_review(draft: dict, columns: list[str]) -> None:
    review = dag_draft.review_draft(draft, dag_state.current_spec(), columns)
    for problem in review.problems:
        st.warning(escape_markdown(problem))
    if review.mapped:
        st.caption("Names mapped: " + "; ".join(f"{escape_markdown(raw)} → {escape_markdown(name)}"
                                                for raw, name in review.mapped.items()))
    st.dataframe(
        pd.DataFrame([r.model_dump(exclude={"raw_source", "raw_target"}) for r in review.rows]),
        hide_index=True,
        width="stretch",
    )
    if review.only_in_current:
        st.caption("In the current DAG but not in the draft (kept): "
                   + ", ".join(escape_markdown(n) for n in review.only_in_current))
    pending = [(i, r) for i, r in enumerate(review.rows) if r.acceptable]
    if not pending:
        return
    if st.button(f"Accept all {len(pending)} new edges", key="dag_accept_all"):
        new_spec, skipped = dag_draft.accept_all(dag_state.current_spec(), review, columns)
        for reason in skipped:
            st.warning(f"Skipped: {escape_markdown(reason)}")
        accepted = len(pending) - len(skipped)
        dag_state.commit(new_spec, "dag.edges", f"{accepted} draft edges",
                         f"Accepted {accepted} draft edge(s)" + (f"; skipped {len(skipped)}" if skipped else "") + ".")
    for index, row in pending:
        text = dag.edge_text(row.source, row.target)
        if st.button(f"Accept {escape_markdown(text)}", key=f"dag_accept_{index}"):  # labels render Markdown
            dag_state.attempt(lambda row=row: dag_draft.accept_row(dag_state.current_spec(), row, columns),
                              "dag.edges", text, f"Accepted {text}.")


# ---------------------------------------------------------------- import / export
def _render_exports(project: Project, spec: DagSpec, errors: list[str]) -> None:
    texts = dag_state.exports_of(spec.model_dump_json(), project.name)
    dot_text = texts["dot"]
    export_cols = st.columns(4)
    export_cols[0].download_button("DAGitty", texts["dagitty"], file_name="dag.dagitty", key="dag_export_dagitty")
    export_cols[1].download_button("DOT", dot_text, file_name="dag.dot", key="dag_export_dot")
    export_cols[2].download_button("JSON", texts["json"], file_name="dag.json", key="dag_export_json")
    if not dag_io.dot_available():
        export_cols[3].caption("SVG needs Graphviz's `dot` program (not installed); download the DOT instead.")
    elif errors:
        export_cols[3].caption("SVG: fix the graph first.")
    elif len(spec.nodes) > MAX_DOT_NODES:
        export_cols[3].caption(f"SVG is built here up to {MAX_DOT_NODES} nodes; run `dot -Tsvg dag.dot` on the DOT.")
    else:
        try:
            svg = dag_state.svg_of(spec.model_dump_json(), project.name)
        except dag_io.DotUnavailable as error:
            export_cols[3].caption(escape_markdown(error))
        else:
            export_cols[3].download_button("SVG", svg, file_name="dag.svg", mime="image/svg+xml", key="dag_export_svg")
    if dag_state.is_large(spec):
        st.caption(f"The Graphviz preview is skipped above {dag_state.LARGE_PAGE_NODES} nodes (download the DOT).")
    else:
        with st.expander("N01 make_dag view (Graphviz)"):
            st.graphviz_chart(dot_text)
    with st.expander("DAGitty text"):
        st.code(texts["dagitty"], language="text")


def _render_import_export(project: Project, spec: DagSpec, columns: list[str], errors: list[str]) -> None:
    _render_exports(project, spec, errors)
    st.markdown("**Import** (replaces the current DAG; roles and positions are kept)")
    upload = st.file_uploader("DAG file (.dagitty, .dot, .json)", type=["dagitty", "txt", "dot", "gv", "json"],
                              key="dag_import_file")
    pasted = st.text_area("…or paste DAGitty / DOT / JSON", key="dag_import_text", height=120)
    fmt = st.selectbox("Format of the pasted text", ["dagitty", "dot", "json"], key="dag_import_format")
    if st.button("Import DAG", key="dag_import"):
        try:
            if upload is not None:  # strict UTF-8: a non-UTF-8 file is refused, never imported with U+FFFD names
                imported = dag_io.parse_bytes(upload.getvalue(), upload.name)
            else:
                imported = dag_io.parse(pasted, fmt)
        except dag_io.DagFormatError as error:
            st.error(f"Import rejected — {escape_markdown(error)}. The current DAG is unchanged.")
            return
        imported, notes = dag.bind_to_data(imported, columns, project.treatment, project.outcome)
        for note in notes:
            st.info(escape_markdown(note))
        dag_state.commit(imported, "dag", "imported",
                         f"Imported a DAG with {len(imported.nodes)} nodes and {len(imported.edges)} edges.")
