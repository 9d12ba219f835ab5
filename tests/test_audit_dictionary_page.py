"""AppTest of the dictionary tools on Overview: bulk timing and categorical for several columns, one
clean 8-value timing vocabulary, and bad selections that show their message and change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from causal_core.project import Timing
from tests.test_audit_page import plain

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PREFIX = "dictionary_retention"


@pytest.fixture()
def overview() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert not at.exception, at.exception
    return at


def _project(at: AppTest):
    return at.session_state["cw_projects"]["retention"]


def test_bulk_timing_and_categorical_for_several_columns(overview):
    at = overview
    before = len(_project(at).edit_log)
    timing_box = at.selectbox(key=f"{PREFIX}_bulk_timing")
    assert timing_box.options == [
        "treatment (the intervention)", "outcome (measured after treatment)",
        "pre-treatment (before treatment; may adjust)", "post-treatment (mediator; never adjust)",
        "future (after the outcome window; leakage)", "unit id (identifies the unit)",
        "time id (identifies the period)", "unknown (not documented)",
    ]
    at.multiselect(key=f"{PREFIX}_bulk_columns").set_value(["region", "segment", "usage_score"]).run()
    at.selectbox(key=f"{PREFIX}_bulk_timing").set_value("post_treatment").run()
    at.button(key=f"{PREFIX}_bulk_set_timing").click().run()
    assert not at.exception
    entries = {e.variable: e for e in _project(at).dictionary}
    assert {entries[c].timing for c in ("region", "segment", "usage_score")} == {Timing.post_treatment}
    assert entries["company_size"].timing is Timing.pre_treatment
    at.multiselect(key=f"{PREFIX}_bulk_columns").set_value(["region", "segment"]).run()
    at.button(key=f"{PREFIX}_bulk_categorical").click().run()
    project = _project(at)
    assert sorted(e.variable for e in project.dictionary if e.categorical) == ["region", "segment"]
    assert [e.note for e in project.edit_log[before:]] == ["bulk timing", "bulk categorical"]
    assert any(plain(s.value) == "2 column(s) marked categorical." for s in at.success)


def test_a_bulk_edit_with_nothing_selected_changes_nothing(overview):
    at = overview
    snapshot = _project(at).model_dump()
    at.button(key=f"{PREFIX}_bulk_set_timing").click().run()
    assert not at.exception
    assert any(plain(e.value) == "Select at least one column first." for e in at.error)
    assert _project(at).model_dump() == snapshot
