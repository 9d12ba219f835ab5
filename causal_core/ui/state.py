"""Session state: the current Project and its data, kept per dataset so switching loses nothing.

Only plain keys and data live in ``st.session_state`` (never model objects; see runtime).
Pages read with ``get_project()`` and write whole new projects with ``set_project()``.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from causal_core.data import analysis_frame, builtin_source, project_for_builtin
from causal_core.project import Project
from causal_core.safe_text import code_span

DEFAULT_DATASET = "retention"
_PROJECTS = "cw_projects"  # dataset key -> Project
_FRAMES = "cw_frames"  # dataset key -> raw DataFrame
_ACTIVE = "cw_active"  # dataset key of the current project
PENDING_CHOICE = "cw_pending_choice"  # dataset picker value to apply before the widget is drawn
FLASH = "cw_flash"  # one message to show on the next run (e.g. after opening a project); Markdown, escaped
BESIDE_MARK = " #"  # dataset key suffix of a project opened beside existing work: "retention #2"


@st.cache_data(show_spinner="Generating the built-in dataset…")
def cached_builtin(name: str, n: int | None = None, seed: int | None = None) -> pd.DataFrame:
    """Built-ins are deterministic, so one generation serves every session and rerun."""
    return builtin_source(name, n, seed).frame


def _ensure() -> None:
    if _PROJECTS not in st.session_state:
        st.session_state[_PROJECTS] = {}
        st.session_state[_FRAMES] = {}
    if _ACTIVE not in st.session_state:
        activate_builtin(DEFAULT_DATASET)


def activate_builtin(name: str) -> None:
    """Make a built-in dataset current, reusing its project if this session already has one."""
    projects = st.session_state.setdefault(_PROJECTS, {})
    frames = st.session_state.setdefault(_FRAMES, {})
    if name not in projects:
        project, _ = project_for_builtin(name)
        projects[name] = project
    if name not in frames:
        source = projects[name].data_source
        frames[name] = cached_builtin(name, source.n if source else None, source.seed if source else None)
    st.session_state[_ACTIVE] = name


def activate(key: str, project: Project, frame: pd.DataFrame | None) -> None:
    """Install a project (and its raw rows) under a dataset key and make it current."""
    st.session_state.setdefault(_PROJECTS, {})[key] = project
    st.session_state.setdefault(_FRAMES, {})[key] = frame
    st.session_state[_ACTIVE] = key
    st.session_state[PENDING_CHOICE] = key


def has_work(project: Project) -> bool:
    """Whether replacing this project would lose anything the analyst did (edits, drafts, results)."""
    return bool(
        project.edit_log or project.ai_log or project.audits or project.estimand_card or project.dag
        or project.data_audit or project.estimation or project.multiverse or project.designs
        or project.memo.final or project.memo.ai_draft or project.checklist or project.open_questions
        or project.profile_review or project.lab
    )


def key_beside(key: str) -> str:
    """The first free key for a second project on the same dataset ("retention #2", "retention #3", …)."""
    taken = set(st.session_state.get(_PROJECTS, {}))
    number = 2
    while f"{key}{BESIDE_MARK}{number}" in taken:
        number += 1
    return f"{key}{BESIDE_MARK}{number}"


def active_key() -> str:
    _ensure()
    return st.session_state[_ACTIVE]


def dataset_keys() -> list[str]:
    _ensure()
    return list(st.session_state[_PROJECTS])


def get_project() -> Project:
    _ensure()
    return st.session_state[_PROJECTS][st.session_state[_ACTIVE]]


def set_project(project: Project) -> None:
    """Replace the current project as a whole (callers build it with model_copy)."""
    _ensure()
    st.session_state[_PROJECTS][st.session_state[_ACTIVE]] = project


def get_raw_frame() -> pd.DataFrame | None:
    _ensure()
    return st.session_state[_FRAMES].get(st.session_state[_ACTIVE])


def get_frame() -> pd.DataFrame | None:
    """Rows for analysis: raw data after the project's logged preparation (e.g. de-duplication)."""
    raw = get_raw_frame()
    return None if raw is None else analysis_frame(get_project(), raw)


def require_frame() -> pd.DataFrame:
    """Stop the page with a clear message when the current project has no data bound yet."""
    frame = get_frame()
    if frame is None:
        source = get_project().data_source
        name = code_span(source.name) if source else "a dataset"
        st.info(f"This project needs its data: upload {name} again in the sidebar (Dataset → Upload).")
        st.stop()
    return frame
