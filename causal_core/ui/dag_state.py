"""DAG page state: one commit path for every edit (edit log + undo history), flashes, and cached analyses.

Why one commit path: undo/redo is only trustworthy if *every* edit (form, edge table, draft, import,
layout) records the graph it replaced. Pages compute the new spec with a pure edit first, so a
rejection changes nothing; only then is the new Project set.

Why caches keyed on the spec's JSON: a 2,000-node graph took 48–58 s per page render because roles,
paths and the identification panel were recomputed on every rerun. Keyed on the JSON, a rerun that
does not change the graph (a click, a toggle elsewhere) costs a hash, not a recomputation.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from typing import Any

import streamlit as st

from causal_core import dag
from causal_core.dag import history
from causal_core.dag import paths as dag_paths
from causal_core.project import DagSpec
from causal_core.safe_text import escape_markdown
from causal_core.ui import state
from causal_core.ui.ai import clear_failed_outcome

FLASH = "dag_flash"
LARGE_PAGE_NODES = 150  # above this the page defers its expensive listings until asked
_FROZEN_AT = {"modules": 0}  # how many modules were imported when the heap was last frozen


def key(name: str) -> str:
    """A session key for this dataset's DAG page (switching datasets keeps each page's state)."""
    return f"{name}_{state.active_key()}"


def flash(kind: str, message: str) -> None:
    st.session_state[FLASH] = (kind, message)


def show_flash() -> None:
    """The last edit's sentence (user text escaped: a node name must not render as Markdown)."""
    if FLASH in st.session_state:
        kind, message = st.session_state.pop(FLASH)
        box = {"success": st.success, "warning": st.warning}.get(kind, st.error)
        box(escape_markdown(message))


def current_spec() -> DagSpec:
    return state.get_project().dag or DagSpec()


def get_history() -> history.DagHistory:
    stored = st.session_state.get(key("dag_history"))
    return history.DagHistory.model_validate_json(stored) if stored else history.DagHistory()


def _set_history(value: history.DagHistory) -> None:
    st.session_state[key("dag_history")] = value.model_dump_json()


def store(new_spec: DagSpec, field: str, after: Any, note: str, before: Any = None, remember: bool = True) -> None:
    """Set the spec in the project (copy-on-write) with one edit-log line; remember the old graph for undo."""
    project = state.get_project()
    if remember:
        _set_history(history.record(get_history(), project.dag, note))
    state.set_project(project.model_copy(update={"dag": new_spec}).with_edit("dag", field, before, after, note))
    clear_failed_outcome("dag")  # a successful edit ends the failed draft's pinned error


def commit(new_spec: DagSpec, field: str, after: Any, note: str, before: Any = None) -> None:
    """Store, say so on the next run, rerun."""
    store(new_spec, field, after, note, before)
    flash("success", note)
    st.rerun()


def attempt(edit: Callable[[], DagSpec], field: str, after: Any, note: str, before: Any = None) -> None:
    """Run a pure edit; a rejection is shown here and nothing changes."""
    try:
        new_spec = edit()
    except dag.DagEditError as error:
        st.error(f"Rejected — {escape_markdown(error)}. The graph is unchanged.")
        return
    commit(new_spec, field, after, note, before)


def step_history(direction: str) -> None:
    """Undo or redo one edit (logged like any edit, but not itself pushed onto the history)."""
    step = history.undo if direction == "undo" else history.redo
    try:
        updated, restored, note = step(get_history(), current_spec())
    except dag.DagEditError as error:
        st.error(f"Rejected — {error}. The graph is unchanged.")
        return
    _set_history(updated)
    verb = "Undid" if direction == "undo" else "Redid"
    store(restored, "dag", direction, f"{verb}: {note}", remember=False)
    flash("success", f"{verb}: {note}")
    st.rerun()


def is_large(spec: DagSpec) -> bool:
    return len(spec.nodes) > LARGE_PAGE_NODES


# ---------------------------------------------------------------- cached analyses (keyed on the spec's JSON)
@st.cache_data(max_entries=16, show_spinner=False)
def roles_of(spec_json: str) -> dict[str, list[str]]:
    return dag.node_roles(DagSpec.model_validate_json(spec_json))


@st.cache_data(max_entries=16, show_spinner=False)
def identification_of(spec_json: str) -> str:
    return dag.identify(DagSpec.model_validate_json(spec_json)).model_dump_json()


@st.cache_data(max_entries=16, show_spinner="Listing the paths between treatment and outcome…")
def path_report_of(spec_json: str, adjusted: tuple[str, ...]) -> tuple[str | None, str]:
    """The path list as JSON (None and the reason when the graph cannot have one)."""
    try:
        return dag_paths.list_paths(DagSpec.model_validate_json(spec_json), list(adjusted)).model_dump_json(), ""
    except dag_paths.DagPathError as error:
        return None, str(error)


@st.cache_data(max_entries=16, show_spinner=False)
def exports_of(spec_json: str, title: str) -> dict[str, str]:
    """DAGitty, DOT and JSON texts of one graph (0.5 s at 2,000 nodes: built once per graph, not per rerun)."""
    from causal_core import dag_io

    spec = DagSpec.model_validate_json(spec_json)
    return {"dagitty": dag_io.to_dagitty(spec), "dot": dag_io.to_dot(spec, title), "json": dag_io.to_json(spec)}


@st.cache_data(max_entries=8, show_spinner=False)
def svg_of(spec_json: str, title: str) -> str:
    from causal_core import dag_io

    return dag_io.to_svg(DagSpec.model_validate_json(spec_json), title)


# ---------------------------------------------------------------- the collector's cost per rerun
def freeze_long_lived_heap() -> bool:
    """Move the objects alive now (imported libraries: torch, transformers, statsmodels, ~400,000 objects) out
    of the cyclic collector's reach; returns whether it froze.

    Why: Streamlit runs ``gc.collect()`` after every script run, and statsmodels' ``multipletests`` (the DAG
    tests' Holm step) runs one more; each full collection walked the whole heap, 0.25–0.95 s on this shared
    machine, so one "Add node" (a run plus its rerun) paid three of them. Frozen objects are still freed by
    reference counting; only cycles among them would wait, so the freeze is redone (after a collection) only
    when new modules were imported since, which happens a bounded number of times per process.
    """
    if len(sys.modules) == _FROZEN_AT["modules"]:
        return False
    gc.collect()  # free today's garbage first: only live objects are frozen
    gc.freeze()
    _FROZEN_AT["modules"] = len(sys.modules)
    return True
