"""The Memo page's notebook export: download the runnable notebook, its .py twin and the student version.

Why on the Memo page: it is where the analysis is handed over. The notebook refers to ``project.json`` (the
page's Project download) beside it, and an upload-backed project to its data file under the original name;
the notebook checks the sha256 of whatever it finds before it computes anything.
"""

from __future__ import annotations

import streamlit as st

from causal_core.errors import WorkbenchInputError
from causal_core.notebook import build_export
from causal_core.notebook.checks import STAGE_TEXT
from causal_core.project import Project
from causal_core.project_file import project_from_json, project_to_json
from causal_core.safe_text import code_span, escape_markdown


@st.cache_data(max_entries=4, show_spinner="Writing the notebook…")
def notebook_files(project_json: str) -> tuple[str, str, str, str | None, str]:
    """(full .ipynb, .py twin, student .ipynb, last stage, notice) for one project state."""
    project = project_from_json(project_json)
    source = project.data_source
    data_file = source.name if source is not None and source.kind == "upload" else None
    full = build_export(project, "project.json", data_file)
    student = build_export(project, "project.json", data_file, student=True)
    return full.ipynb, full.script, student.ipynb, full.last_stage, full.notice


def render_notebook_export(project: Project) -> None:
    """Three download buttons and a line saying where the notebook stops."""
    st.markdown("**Reproducible notebook**")
    try:
        ipynb, script, student, last, notice = notebook_files(project_to_json(project))
    except WorkbenchInputError as error:  # a project the notebook cannot reproduce; a bug reaches the page guard
        st.warning(f"The notebook could not be built: {escape_markdown(error)}")
        return
    if notice:
        st.info(notice, icon=":material/info:")
    else:
        st.caption(
            f":material/check_circle: Re-runs every stage, up to {STAGE_TEXT.get(last or '', 'the end')}, and prints "
            "each number next to the project's stored value. Save the Project (JSON) as `project.json` beside it."
        )
    source = project.data_source
    if source is not None and source.kind == "upload":
        st.caption(
            f"This project's data came from the upload {code_span(source.name)}: put that file beside the notebook; "
            "its sha256 is checked before anything is computed."
        )
    columns = st.columns(3)
    columns[0].download_button(
        "Notebook (.ipynb)", ipynb, file_name="analysis.ipynb", mime="application/x-ipynb+json", key="dl_notebook"
    )
    columns[1].download_button("Script (.py)", script, file_name="analysis.py", mime="text/x-python", key="dl_script")
    columns[2].download_button(
        "Student version (.ipynb)", student, file_name="analysis-student.ipynb", mime="application/x-ipynb+json",
        key="dl_notebook_student", help="Result cells replaced by TODO cells; the code that computes each stage kept.",
    )
