"""DAG: draw and edit the causal graph, draft it with AI, identify the effect, test what it implies."""

from __future__ import annotations

import streamlit as st

from causal_core import dag
from causal_core.dag import draft_names
from causal_core.dag import paths as dag_paths
from causal_core.dag.layout import CANVAS_WIDTH_PX, FULL_WIDTH_PX, layered_layout, needs_full_width
from causal_core.dag.seeding import only_focus_nodes
from causal_core.project import DagSpec
from causal_core.safe_text import code_span, escape_markdown
from causal_core.ui import dag_checks, dag_critique, dag_sections, dag_state, dag_view, state
from causal_core.ui import staleness as staleness_banner

LABEL_SIZES = {"normal": "Normal labels", "presentation": "Presentation (large)"}


def _start_graph(project, columns: list[str]) -> None:
    """A project without a DAG gets its first one (built-in notebook DAG, or seeded from the dictionary)."""
    start, origin = dag.initial_dag(project, columns)
    state.set_project(project.model_copy(update={"dag": start}).with_edit("dag", "dag", None, "initial", origin))
    (st.warning if only_focus_nodes(start) else st.info)(escape_markdown(origin))


def _render_toolbar(spec: DagSpec) -> str:
    """Undo / redo, the layered layout on demand, and the label size; returns the chosen size."""
    log = dag_state.get_history()
    cells = st.columns([1, 1, 1.4, 2.6])
    undo_help = f"Undo: {log.undo[-1].note}" if log.can_undo else "Nothing to undo yet."
    redo_help = f"Redo: {log.redo[-1].note}" if log.can_redo else "Nothing to redo."
    if cells[0].button("Undo", key="dag_undo", icon=":material/undo:", disabled=not log.can_undo, help=undo_help):
        dag_state.step_history("undo")
    if cells[1].button("Redo", key="dag_redo", icon=":material/redo:", disabled=not log.can_redo, help=redo_help):
        dag_state.step_history("redo")
    if cells[2].button("Auto-layout", key="dag_layout", icon=":material/account_tree:",
                       help="Place every node in layers with Graphviz dot (causes left, effects right). Undoable."):
        laid, message = layered_layout(spec)
        dag_state.commit(laid, "dag.nodes.position", "auto-layout", message)
    size = cells[3].segmented_control("Label size", list(LABEL_SIZES), format_func=LABEL_SIZES.get,
                                      default="normal", key=dag_state.key("dag_label_size"),
                                      label_visibility="collapsed")
    return size or "normal"


def _render_node_panel(project, spec: DagSpec, roles: dict, selected_key: str, columns: list[str]) -> None:
    names = dag.node_names(spec)
    st.subheader("Selected node")
    if not names:
        st.info("The graph is empty: add a node below.")
        return
    picker_key = dag_state.key("dag_node_picker")

    def _picked() -> None:
        st.session_state[selected_key] = st.session_state[picker_key]

    # The picker mirrors the selection (a graph click or the picker itself, via its callback).
    st.session_state[picker_key] = st.session_state[selected_key]
    choice = st.selectbox("Node", names, key=picker_key, on_change=_picked)
    node = dag.get_node(spec, choice)
    st.markdown(f"**{escape_markdown(node.label or node.name)}** — roles: "
                + ", ".join(code_span(r.replace("_", " ")) for r in roles.get(node.name, [])))
    timing = project.timing_of(node.column).value.replace("_", "-") if node.column else "—"
    status = "latent" if node.latent else "observed" if node.column else "no data: cannot be adjusted for"
    st.caption(f"Data column: {code_span(node.column or 'none (unobserved)')} · dictionary timing: {timing} · {status}")
    _render_node_edits(spec, node, columns)


def _render_node_edits(spec: DagSpec, node, columns: list[str]) -> None:
    new_name = st.text_input("Rename to", key="dag_rename_to")
    if st.button("Rename", key="dag_rename"):
        dag_state.attempt(lambda: dag.rename_node(spec, node.name, new_name), "dag.nodes", new_name,
                          f"Renamed {node.name} to {new_name.strip()}.", before=node.name)
    label_cols = st.columns(2)
    if label_cols[0].button("Make observed" if node.latent else "Make latent", key="dag_toggle_latent"):
        dag_state.attempt(lambda: dag.toggle_latent(spec, node.name), "dag.nodes.latent", not node.latent,
                          f"{node.name} is now {'observed' if node.latent else 'latent'}.", before=node.latent)
    if label_cols[1].button("Remove node", key="dag_remove_node", type="secondary"):
        dag_state.attempt(lambda: dag.remove_node(spec, node.name), "dag.nodes", None,
                          f"Removed node {node.name} and its edges.", before=node.name)
    column_options = ["(no data column)",
                      *[c for c in columns if c == node.column or dag.node_for_column(spec, c) is None]]
    current = node.column if node.column in column_options else "(no data column)"
    bound = st.selectbox("Data column", column_options, index=column_options.index(current), key="dag_node_column")
    if st.button("Bind column", key="dag_set_column"):
        value = None if bound == "(no data column)" else bound
        dag_state.attempt(lambda: dag.set_column(spec, node.name, value), "dag.nodes.column", value,
                          f"{node.name} now measures {value or 'no column'}.", before=node.column)
    focus_cols = st.columns(2)
    if focus_cols[0].button("Set as treatment", key="dag_set_treatment", disabled=node.name == spec.treatment):
        dag_state.attempt(lambda: dag.set_treatment(spec, node.name), "dag.treatment", node.name,
                          f"{node.name} is now the treatment.", before=spec.treatment)
    if focus_cols[1].button("Set as outcome", key="dag_set_outcome", disabled=node.name == spec.outcome):
        dag_state.attempt(lambda: dag.set_outcome(spec, node.name), "dag.outcome", node.name,
                          f"{node.name} is now the outcome.", before=spec.outcome)
    pos_cols = st.columns(3)
    x = pos_cols[0].number_input("x", value=float(node.x or 0.0), step=20.0, key=dag_state.key(f"dag_x_{node.name}"))
    y = pos_cols[1].number_input("y", value=float(node.y or 0.0), step=20.0, key=dag_state.key(f"dag_y_{node.name}"))
    if pos_cols[2].button("Move", key="dag_move"):
        dag_state.attempt(lambda: dag.move_node(spec, node.name, x, y), "dag.nodes.position", [x, y],
                          f"Moved {node.name}.", before=[node.x, node.y])


COLOUR_KEY = (
    "Colours: treatment = yellow · outcome = red · post-treatment = violet · other = pale blue (the N01 palette). "
    "Dashed border = latent; grey text = no data column; thick black border = adjusted for; amber border = "
    "selection node; dashed double arrow = latent common cause. Click a node to edit it; pick a row in the path "
    "table below to highlight that path (green = causal, red = biasing)."
)

# ---------------------------------------------------------------------------------------------
# Page
# ---------------------------------------------------------------------------------------------
st.title("Causal DAG")
st.caption(
    "Edit the graph, let a model draft edges, and read what the graph implies: adjustment sets for the total "
    "effect, variables not to control for, and independencies the data can contradict. Roles are derived from "
    "the arrows — never typed."
)
project = state.get_project()
staleness_banner.render(project)  # out of date: recompute (causal_core/staleness.py)
frame = state.require_frame()
columns = draft_names.usable_columns(project, frame)

if project.dag is None:
    _start_graph(project, columns)
    project = state.get_project()
dag_state.show_flash()

spec = dag_state.current_spec()
spec_json = spec.model_dump_json()
errors = dag.validate_dag(spec)
if errors:
    st.error("The stored DAG is not valid: " + "; ".join(escape_markdown(e) for e in errors[:20]))
roles = dag_state.roles_of(spec_json)
selected_key = dag_state.key("dag_selected_node")
names = dag.node_names(spec)
if st.session_state.get(selected_key) not in names:
    st.session_state[selected_key] = spec.treatment if spec.treatment in names else (names[0] if names else None)

if spec.treatment and project.treatment:
    focus = dag.get_node(spec, spec.treatment)
    if focus is not None and focus.column and focus.column != project.treatment:
        st.warning(f"The DAG's treatment node measures {code_span(focus.column)} but the project's treatment is "
                   f"{code_span(project.treatment)}.")

adjusted, adjusted_problems = dag_paths.usable_adjustment(spec)
paths_table_key = dag_state.key("dag_paths_table")
picked_row = dag_checks.selected_path_row(paths_table_key)
picked_path = None
if picked_row is not None:
    report, _ = dag_checks.path_report(spec, spec_json, adjusted)
    if report and picked_row < len(report.paths):
        picked_path = report.paths[picked_row]

label_size = _render_toolbar(spec)
presenting = label_size == "presentation"
# Presentation: the graph takes the full width (the node panel goes below it), so the fit-to-view zoom keeps
# its 24 px labels large on a projector; in the normal view it shares the row with the node panel.
full_width = presenting or needs_full_width(spec)  # a wide graph's labels would be unreadable in the column
graph_col, panel_col = (st.container(), st.container()) if full_width else st.columns([3, 2])
with graph_col:
    clicked = dag_view.render_dag(
        spec,
        roles,
        selected=st.session_state[selected_key],
        height=720 if presenting else 500,
        highlight=dag_paths.path_edges_for_display(picked_path) if picked_path else None,
        highlight_colour=dag_view.CAUSAL_COLOUR if picked_path and picked_path.causal else dag_view.PATH_COLOUR,
        adjusted=adjusted,
        size=label_size,
        width_px=FULL_WIDTH_PX if full_width else CANVAS_WIDTH_PX,
    )
    last_click = dag_state.key("dag_last_click")
    if clicked and clicked != st.session_state.get(last_click) and clicked in names:
        st.session_state[selected_key] = clicked
    st.session_state[last_click] = clicked
    st.caption(COLOUR_KEY)

with panel_col:
    _render_node_panel(project, spec, roles, selected_key, columns)

dag_sections.render_sections(project, spec, frame, columns, errors)
dag_critique.render_critique(state.get_project(), spec, frame)
dag_checks.render_lower_half(state.get_project(), spec, frame, errors, adjusted, adjusted_problems, paths_table_key)
dag_state.freeze_long_lived_heap()  # the libraries this page imported are frozen: later collections skip them
