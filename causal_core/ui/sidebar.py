"""Sidebar: project name, dataset choice (built-in or upload), save and open."""

from __future__ import annotations

import os

import streamlit as st

from causal_core.data import DataError, project_for_upload, read_upload, rebind_data
from causal_core.datasets import BUILTINS
from causal_core.project import ProjectFileError, project_to_json
from causal_core.project_io import open_project_bytes, project_key
from causal_core.ui import state

UPLOAD_CHOICE = "Upload CSV / Parquet…"


def max_upload_mb() -> float:
    """The app's upload limit: CW_MAX_UPLOAD_MB, else Streamlit's server.maxUploadSize."""
    configured = os.environ.get("CW_MAX_UPLOAD_MB")
    if configured:
        return float(configured)
    return float(st.get_option("server.maxUploadSize"))


def _dataset_label(key: str) -> str:
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
    try:
        loaded = read_upload(uploaded.getvalue(), uploaded.name, max_mb=max_upload_mb())
    except DataError as error:
        st.error(str(error))
        return
    project = project_for_upload(loaded)
    key = project_key(project)
    if key in state.dataset_keys():  # the same file again: return to its project, keep its work
        state.activate(key, st.session_state[state._PROJECTS][key], loaded.frame)
        st.rerun()
    else:
        state.activate(key, project, loaded.frame)
        st.session_state[state.FLASH] = (
            f"Loaded {loaded.source.rows:,} rows × {len(loaded.source.columns)} columns from {uploaded.name}. "
            "Fill in the data dictionary and roles on the Overview page." + (f" Note: {loaded.notice}" if loaded.notice else "")
        )
        st.rerun()


def _render_rebind(project) -> None:
    st.warning(f"Upload **{project.data_source.name}** again to reattach this project's data.")
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
    try:
        result = open_project_bytes(payload)
    except (ProjectFileError, DataError) as error:
        st.error(str(error))
        return False
    state.activate(project_key(result.project), result.project, result.frame)
    st.session_state[state.FLASH] = result.message
    st.rerun()
    return True


def render_sidebar() -> None:
    with st.sidebar:
        st.markdown("### Causal Workbench")
        if state.FLASH in st.session_state:
            st.success(st.session_state.pop(state.FLASH))
        render_project_name()
        render_dataset_picker()
        with st.expander("Save / open project", expanded=False):
            render_save_open()
