"""AppTest: the app starts and every registered page runs without an exception on both built-ins."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def registered_pages() -> list[str]:
    """Page files listed in app.py's PAGES table (what the navigation shows)."""
    tree = ast.parse((ROOT / "app.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "PAGES":
            return [f"app_pages/{item.elts[0].value}" for item in node.value.elts]
    raise AssertionError("app.py has no PAGES table")


def test_every_registered_page_file_exists():
    pages = registered_pages()
    assert pages[0] == "app_pages/overview.py"
    missing = [page for page in pages if not (ROOT / page).exists()]
    assert missing == []


def test_no_legacy_pages_folder():
    assert not (ROOT / "pages").exists(), "a pages/ folder switches Streamlit to legacy multipage mode"


@pytest.mark.parametrize("dataset", ["retention", "support"])
def test_every_page_runs_without_exception(dataset):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    assert not at.exception
    if dataset != "retention":
        at.sidebar.selectbox(key="dataset_choice").set_value(dataset).run()
        assert not at.exception
    assert at.session_state["cw_active"] == dataset
    for page in registered_pages():
        at.switch_page(page).run()
        assert not at.exception, f"{page} raised on {dataset}: {at.exception}"
        assert at.session_state["cw_active"] == dataset, f"{page} lost the dataset choice"


def test_overview_shows_the_notebook_overview_tables():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    overview = at.dataframe[0].value
    assert overview["quantity"].tolist()[1] == "outreach rate"
    assert overview["value"].tolist() == ["6,000", "0.340", "0.222", "-0.046", "0.321", "0.189"]
    at.sidebar.selectbox(key="dataset_choice").set_value("support").run()
    profile = dict(zip(at.dataframe[0].value["metric"], at.dataframe[0].value["value"], strict=True))
    assert profile["unique team-weeks"] == "1,260"
    assert profile["duplicated rows by intended grain"] == "16"
    assert profile["first week"] == "2025-01-06"


def test_switching_datasets_keeps_each_project():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.sidebar.text_input(key="project_name_retention").set_value("Outreach review").run()
    at.sidebar.selectbox(key="dataset_choice").set_value("support").run()
    assert at.session_state["cw_projects"]["support"].name == "support analysis"
    at.sidebar.selectbox(key="dataset_choice").set_value("retention").run()
    assert at.session_state["cw_projects"]["retention"].name == "Outreach review"


def test_role_edits_are_logged_in_the_project():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.selectbox(key="role_cluster_retention").set_value("region").run()
    project = at.session_state["cw_projects"]["retention"]
    assert project.cluster_column == "region"
    assert (project.edit_log[-1].field, project.edit_log[-1].before, project.edit_log[-1].after) == ("cluster_column", None, "region")
