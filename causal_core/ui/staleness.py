"""The "out of date: recompute" banner every page shows when a stored result no longer matches its inputs.

One call per page (``render()``); the logic (fingerprints, which artifact is stale and why) is in
causal_core/staleness.py, so the CLI, the memo and the pages agree.
"""

from __future__ import annotations

import streamlit as st

from causal_core import staleness
from causal_core.project import Project


def render(project: Project | None = None, artifacts: tuple[str, ...] = tuple(staleness.ARTIFACT_INPUTS)) -> list:
    """One warning per out-of-date artifact among ``artifacts``; returns the stale items (empty when all current)."""
    if project is None:
        from causal_core.ui import state

        project = state.get_project()
    items = staleness.stale_artifacts(project, artifacts)
    for item in items:
        st.warning(item.sentence, icon=":material/update:")
    return items


def hide_stale_results(project: Project, artifact: str, key: str) -> bool:
    """Banner for one artifact plus a toggle; True when the page should not draw the out-of-date results.

    Why hidden by default: numbers computed from an earlier DAG or before de-duplication look exactly like
    current ones; a reader who wants them must ask for them, and they stay labelled.
    """
    items = render(project, (artifact,))
    if not items:
        return False
    return not st.toggle("Show the out-of-date results anyway (labelled)", key=key)
