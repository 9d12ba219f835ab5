"""Causal Workbench entry point: navigation and the shared sidebar.

Pages live in ``app_pages/`` and are registered here with ``st.navigation`` (a ``pages/`` folder
would switch Streamlit to its legacy multipage mode, where sidebar widgets lose state).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from causal_core.ui.errors import run_guarded
from causal_core.ui.model_picker import render_model_sidebar
from causal_core.ui.sidebar import render_sidebar

st.set_page_config(page_title="Causal Workbench", page_icon=":material/explore:", layout="wide")

PAGE_DIR = Path(__file__).parent / "app_pages"
PAGES = [
    ("overview.py", "Overview", ":material/home:"),
    ("question.py", "Question", ":material/help:"),
    ("dag.py", "DAG", ":material/account_tree:"),
    ("data_audit.py", "Data audit", ":material/fact_check:"),
    ("estimation.py", "Estimation", ":material/functions:"),
    ("specification_curve.py", "Specification curve", ":material/stacked_line_chart:"),
    ("memo.py", "Memo", ":material/description:"),
    ("present.py", "Present", ":material/slideshow:"),
    ("model_lab.py", "Model lab", ":material/science:"),
]

navigation = st.navigation(
    [
        st.Page(str(PAGE_DIR / filename), title=title, icon=icon, default=(index == 0))
        for index, (filename, title, icon) in enumerate(PAGES)
    ]
)
# Each part guarded on its own: a failing page still leaves the sidebar (save, open) usable.
run_guarded(render_sidebar, "the sidebar")
run_guarded(render_model_sidebar, "the model picker")
run_guarded(navigation.run, "this page")
