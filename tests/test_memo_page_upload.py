"""Issue 17 §4 in the app: Memo and Overview right after an upload, before any role or estimate exists.

The Memo page used to show "ATE of the treatment on the treatment" as the estimand placeholder, and the
Overview's Artifacts table said "Decision memo done" because the placeholder memo is stored on the first visit.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from causal_core.data import project_for_upload, read_upload

ROOT = Path(__file__).resolve().parents[1]
FILENAME = "![](javascript:alert(1))<img src=x onerror=alert(1)>[a](javascript:alert(2))lalonde.csv"  # user text (issue 18 §3)
KEY = f"upload:{FILENAME}"


@pytest.fixture(scope="module")
def uploaded_app():
    frame = pd.DataFrame({"treat": [0, 1] * 20, "re78": [float(i) for i in range(40)], "age": range(40, 80)})
    buffer = io.BytesIO()
    frame.to_csv(buffer, index=False)
    loaded = read_upload(buffer.getvalue(), FILENAME)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.session_state["cw_projects"][KEY] = project_for_upload(loaded)
    at.session_state["cw_frames"][KEY] = loaded.frame
    at.session_state["cw_active"] = KEY
    at.session_state["cw_pending_choice"] = KEY
    at.switch_page("app_pages/memo.py").run()
    assert not at.exception, at.exception
    return at


def test_memo_page_placeholder_after_an_upload(uploaded_app):
    texts = " ".join(m.value for m in uploaded_app.markdown)
    assert "on the treatment" not in texts
    assert "once the treatment and the outcome are chosen" in texts
    assert uploaded_app.session_state["cw_active"] == KEY


def test_overview_artifacts_memo_not_done(uploaded_app):
    uploaded_app.switch_page("app_pages/overview.py").run()
    assert not uploaded_app.exception, uploaded_app.exception
    project = uploaded_app.session_state["cw_projects"][KEY]
    assert project.memo.deterministic  # the Memo page stored its placeholder memo
    table = uploaded_app.dataframe[-1].value
    assert table.loc[table["artifact"] == "Decision memo", "status"].item() == "not yet"


def test_overview_caption_shows_the_file_name_as_text(uploaded_app):
    uploaded_app.switch_page("app_pages/overview.py").run()
    caption = next(c.value for c in uploaded_app.caption if "rows" in c.value and "sha256" in c.value)
    rendered = MarkdownIt("commonmark", {"html": True}).render(caption)
    # The name is shown as text: no image, no link, nothing fetched or run.
    assert "<img" not in rendered and "<a " not in rendered and "javascript:alert(1)" in rendered
    assert "lalonde.csv" in rendered


def test_memo_page_points_at_the_analysis_warnings(uploaded_app):
    """Issue 17 §15 on the page: once estimated, the app's own warnings are announced beside the memo."""
    from causal_core.estimation import run_estimation
    from causal_core.project import EstimationSpec

    frame = uploaded_app.session_state["cw_frames"][KEY]
    result = run_estimation(frame, EstimationSpec(treatment="treat", outcome="re78", covariates=["age"]),
                            sensitivity=False, refutations=False)
    project = uploaded_app.session_state["cw_projects"][KEY]
    uploaded_app.session_state["cw_projects"][KEY] = project.model_copy(
        update={"treatment": "treat", "outcome": "re78", "estimation": result, "cluster_column": "age"}
    )
    uploaded_app.switch_page("app_pages/memo.py").run()
    assert not uploaded_app.exception, uploaded_app.exception
    stored = uploaded_app.session_state["cw_projects"][KEY].memo.deterministic["warnings"]
    assert "names `age` as the cluster column, but the estimation did not cluster" in stored
    count = stored.count("\n- ") + stored.startswith("- ")
    assert any(
        f"The analysis raised {count} warning" in w.value and "Warnings from the analysis" in w.value
        for w in uploaded_app.warning
    )
