"""The Memo page's notebook export panel (causal_core/ui/notebook_export.py), rendered on its own with AppTest."""

from __future__ import annotations

import json

import nbformat
from streamlit.testing.v1 import AppTest

from causal_core.data import project_for_builtin
from causal_core.project_file import project_to_json


def panel(project_json: str) -> None:
    from causal_core.project_file import project_from_json
    from causal_core.ui.notebook_export import render_notebook_export

    render_notebook_export(project_from_json(project_json))


def run_panel(project) -> AppTest:
    at = AppTest.from_function(panel, args=(project_to_json(project),), default_timeout=60).run()
    assert not at.exception, at.exception
    return at


def test_panel_offers_three_downloads_and_says_where_it_stops():
    """A project with data but nothing else: the notice names the last stage and the downloads are real notebooks."""
    project, _ = project_for_builtin("support")
    at = run_panel(project)
    buttons = at.get("download_button")
    assert [b.proto.label for b in buttons] == ["Notebook (.ipynb)", "Script (.py)", "Student version (.ipynb)"]
    assert len(at.info) == 1
    assert "no estimation yet, so the notebook stops after the data check" in at.info[0].value
    assert "Estimation page" in at.info[0].value


def test_panel_notebook_matches_the_cli_export():
    """The page's notebook is the same build as the CLI's for the same project (project.json beside it)."""
    from causal_core.notebook import build_export
    from causal_core.ui.notebook_export import notebook_files

    project, _ = project_for_builtin("retention")
    ipynb, script, student, last, notice = notebook_files.__wrapped__(project_to_json(project))
    assert last == "data" and notice
    expected = build_export(project, "project.json")
    assert json.loads(ipynb) == json.loads(expected.ipynb) and script == expected.script
    student_notebook = nbformat.reads(student, as_version=4)
    assert student_notebook.metadata["causal_workbench"]["student_version"] is True
    assert any(c.metadata["causal_workbench"]["role"] == "todo" for c in student_notebook.cells)
