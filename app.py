"""Causal Workbench entry point: navigation and the shared sidebar.

Pages live in ``app_pages/`` and are registered here with ``st.navigation`` (a ``pages/`` folder
would switch Streamlit to its legacy multipage mode, where sidebar widgets lose state).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from causal_core.ui.sidebar import render_sidebar

st.set_page_config(page_title="Causal Workbench", page_icon="🧭", layout="wide")

PAGE_DIR = Path(__file__).parent / "app_pages"
PAGES = [
    ("overview.py", "Overview", "🏠"),
    ("question.py", "Question", "❓"),
    ("dag.py", "DAG", "🕸️"),
    ("data_audit.py", "Data audit", "🔎"),
    ("estimation.py", "Estimation", "📐"),
    ("memo.py", "Memo", "📝"),
    ("model_lab.py", "Model lab", "🧪"),
]

navigation = st.navigation(
    [
        st.Page(str(PAGE_DIR / filename), title=title, icon=icon, default=(index == 0))
        for index, (filename, title, icon) in enumerate(PAGES)
        if (PAGE_DIR / filename).exists()
    ]
)
render_sidebar()
if (Path(__file__).parent / "causal_core" / "ui" / "model_picker.py").exists():
    from causal_core.ui.model_picker import render_model_sidebar

    render_model_sidebar()
navigation.run()
