"""Sidebar: project name, dataset choice (built-in or upload), save and open."""

from __future__ import annotations

import os

import streamlit as st

from causal_core.data import DataError, project_for_upload, read_upload, rebind_data
from causal_core.data.datasets import BUILTINS
from causal_core.data.project_io import open_project_bytes, project_key
from causal_core.project_file import ProjectFileError, project_to_json
from causal_core.safe_text import code_span, escape_markdown
from causal_core.ui import state

UPLOAD_CHOICE = "Upload CSV / Parquet…"


def max_upload_mb() -> float:
    """The app's upload limit: CW_MAX_UPLOAD_MB, else Streamlit's server.maxUploadSize."""
    configured = os.environ.get("CW_MAX_UPLOAD_MB")
    if configured:
        return float(configured)
    return float(st.get_option("server.maxUploadSize"))


def _dataset_label(key: str) -> str:
    """A picker label; a project opened beside existing work is labelled by its project name too.
    (Selectbox options are shown as plain text, so names need no escaping here.)"""
    base, _, copy = key.partition(state.BESIDE_MARK)
    if copy:
        project = st.session_state.get(state._PROJECTS, {}).get(key)
        return f"{_dataset_label(base)} — opened: {project.name if project else copy}"
    if key in BUILTINS:
        return f"{key} — {BUILTINS[key].title}"
    if key == UPLOAD_CHOICE:
        return key
    return key.split(":")[1] if key.startswith("upload:") else key


def render_project_name() -> None:
    project = state.get_project()
    name = st.text_input("Project name", value=project.name, key=f"project_name_{state.active_key()}")
    if name.strip() and name != project.name:
        state.set_project(project.model_copy(update={"name": name.strip()}))


def render_dataset_picker() -> None:
    keys = list(dict.fromkeys([*BUILTINS, *state.dataset_keys()]))
    choices = [*keys, UPLOAD_CHOICE]
    current = state.active_key()
    if state.PENDING_CHOICE in st.session_state:
        st.session_state["dataset_choice"] = st.session_state.pop(state.PENDING_CHOICE)
    choice = st.selectbox("Dataset", choices, index=choices.index(current), format_func=_dataset_label, key="dataset_choice")
    if choice == UPLOAD_CHOICE:
        _render_upload()
    elif choice != current:
        if choice in BUILTINS:
            state.activate_builtin(choice)
        else:
            projects = st.session_state[state._PROJECTS]
            state.activate(choice, projects[choice], st.session_state[state._FRAMES].get(choice))
        st.rerun()
    project = state.get_project()
    if project.data_source and state.get_raw_frame() is None:
        _render_rebind(project)


def _render_upload() -> None:
    uploaded = st.file_uploader("Data file", type=["csv", "parquet"], key="data_upload")
    if uploaded is None:
        st.caption("CSV (UTF-8 or Latin-1) or Parquet. Files are parsed, never executed.")
        return
    if install_upload(uploaded.getvalue(), uploaded.name) is None:
        st.rerun()


def install_upload(payload: bytes, filename: str) -> str | None:
    """Read an upload and make it current; on a bad file show why (st.error) and return that message.

    Nothing changes on failure: the file is parsed completely before the session is touched.
    """
    try:
        loaded = read_upload(payload, filename, max_mb=max_upload_mb())
    except DataError as error:
        st.error(str(error))
        return str(error)
    project = project_for_upload(loaded)
    key = project_key(project)
    if key in state.dataset_keys():  # the same file again: return to its project, keep its work
        state.activate(key, st.session_state[state._PROJECTS][key], loaded.frame)
        return None
    state.activate(key, project, loaded.frame)
    st.session_state[state.FLASH] = (
        f"Loaded {loaded.source.rows:,} rows × {len(loaded.source.columns)} columns from {code_span(filename)}. "
        "Fill in the data dictionary and roles on the Overview page."
        + (f" Note: {escape_markdown(loaded.notice)}" if loaded.notice else "")
    )
    return None


def _render_rebind(project) -> None:
    st.warning(f"Upload {code_span(project.data_source.name)} again to reattach this project's data.")
    uploaded = st.file_uploader("Original data file", type=["csv", "parquet"], key="rebind_upload")
    if uploaded is None:
        return
    try:
        frame = rebind_data(project, uploaded.getvalue(), uploaded.name)
    except DataError as error:
        st.error(str(error))
        return
    state.activate(state.active_key(), project, frame)
    st.rerun()


def render_save_open() -> None:
    project = state.get_project()
    st.download_button(
        "Save project (JSON)",
        data=project_to_json(project),
        file_name=f"{project.name.replace(' ', '_') or 'project'}.json",
        mime="application/json",
        key="save_project",
        width="stretch",
    )
    opened = st.file_uploader("Open project", type=["json"], key="open_project")
    if opened is None:
        st.session_state.pop("cw_last_opened", None)
        return
    token = (opened.name, opened.size)
    if st.session_state.get("cw_last_opened") == token:
        return
    st.session_state["cw_last_opened"] = token
    open_uploaded_project(opened.getvalue())


def open_uploaded_project(payload: bytes) -> bool:
    """Install a saved project; on any problem show why and leave the current project as it was."""
    if install_opened_project(payload) is not None:
        return False
    st.rerun()
    return True


def install_opened_project(payload: bytes) -> str | None:
    """Parse, bound and rebind a project file, then install it; on failure show and return the message.

    A valid file never silently replaces work: when this session already has a different project on the same
    dataset with work in it, the opened one is installed beside it (state.key_beside) and the flash says so.
    """
    try:
        result = open_project_bytes(payload)
    except (ProjectFileError, DataError) as error:
        st.error(str(error))
        return str(error)
    key = project_key(result.project)
    existing = st.session_state.get(state._PROJECTS, {}).get(key)
    beside = existing is not None and state.has_work(existing) and existing != result.project
    if beside:
        key = state.key_beside(key)
    state.activate(key, result.project, result.frame)
    st.session_state[state.FLASH] = escape_markdown(result.message) + (
        " It was opened beside your current work on this dataset, which is kept: switch between them with the "
        "Dataset picker." if beside else ""
    )
    return None


def render_sidebar() -> None:
    with st.sidebar:
        st.markdown("### Causal Workbench")
        if state.FLASH in st.session_state:
            st.success(st.session_state.pop(state.FLASH))
        render_project_name()
        render_dataset_picker()
        with st.expander("Save / open project", expanded=False):
            render_save_open()
