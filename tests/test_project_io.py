"""Project save/open: the round trip is exact and every bad file is refused with its own message."""

from __future__ import annotations

import json

import pytest

from causal_core.data import DataError, project_for_upload, read_upload, rebind_data
from causal_core.data.project_io import open_project_bytes
from causal_core.project import SCHEMA_VERSION, AIInteraction, EstimandCard, Project
from causal_core.project_file import ProjectFileError, project_from_json, project_to_json


def _rich_project(retention) -> Project:
    project, _ = retention
    project = project.model_copy(update={"estimand_card": EstimandCard(treatment="outreach", likely_threats=["a", "b"])})
    project = project.with_edit("estimand_card", "treatment", "", "outreach")
    return project.with_interaction(AIInteraction(id="x1", task="estimand-card", raw_output="{}", decoding={"temperature": 0}))


def test_round_trip_is_equal(retention):
    project = _rich_project(retention)
    reopened = project_from_json(project_to_json(project))
    assert reopened == project
    assert reopened.edit_log[0].after == "outreach"
    assert reopened.ai_log[0].decoding == {"temperature": 0}


def test_saved_file_references_data_by_hash_not_rows(retention):
    payload = json.loads(project_to_json(retention[0]))
    assert payload["schema"] == "causal-workbench/project"
    assert payload["schema_version"] == SCHEMA_VERSION
    assert len(payload["data_source"]["sha256"]) == 64
    assert payload["data_source"]["rows"] == 6000
    assert len(project_to_json(retention[0])) < 20_000  # no embedded rows


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "The project file is empty."),
        (b"{not json", "corrupt: invalid JSON at line 1, column 2"),
        (b"[1, 2]", "expected a JSON object"),
        (b"\xff\xfe\x00\x01", "not UTF-8"),
        (json.dumps({"schema": "other-tool/v2", "schema_version": 1}).encode(), "not a Causal Workbench project (schema is 'other-tool/v2'"),
        (json.dumps({"name": "no schema"}).encode(), "not a Causal Workbench project (schema is None"),
        (json.dumps({"schema": "causal-workbench/project", "schema_version": 99}).encode(), "newer Causal Workbench (schema_version 99"),
        (json.dumps({"schema": "causal-workbench/project", "schema_version": "1"}).encode(), "no valid integer schema_version"),
        (
            json.dumps({"schema": "causal-workbench/project", "schema_version": 1, "card_status": "maybe"}).encode(),
            "does not match the schema: card_status",
        ),
        (
            json.dumps({"schema": "causal-workbench/project", "schema_version": 1, "surprise": 1}).encode(),
            "does not match the schema: surprise",
        ),
    ],
)
def test_each_bad_file_has_its_specific_message(payload, message):
    with pytest.raises(ProjectFileError) as error:
        project_from_json(payload)
    assert message in str(error.value)


def test_open_regenerates_builtin_data_and_checks_hash(retention):
    project, frame = retention
    opened = open_project_bytes(project_to_json(project).encode())
    assert opened.project == project
    assert opened.frame.equals(frame)
    tampered = project.model_copy(update={"data_source": project.data_source.model_copy(update={"sha256": "0" * 64})})
    with pytest.raises(DataError, match="different hash"):
        open_project_bytes(project_to_json(tampered).encode())


def test_upload_backed_project_asks_for_the_file_and_checks_its_hash():
    original = b"t,y\n1,2.0\n0,3.5\n1,1.0\n"
    project = project_for_upload(read_upload(original, "trial.csv"))
    opened = open_project_bytes(project_to_json(project).encode())
    assert opened.frame is None
    assert "upload that file again" in opened.message
    with pytest.raises(DataError, match="not the file this project was built on"):
        rebind_data(project, b"t,y\n1,9\n0,9\n", "other.csv")
    assert rebind_data(project, original, "trial.csv")["y"].tolist() == [2.0, 3.5, 1.0]


def test_failed_open_leaves_the_session_project_untouched():
    """Through the sidebar's own open function inside a running app."""
    from streamlit.testing.v1 import AppTest

    def script():
        import streamlit as st

        from causal_core.ui import state
        from causal_core.ui.sidebar import open_uploaded_project

        before = state.get_project()
        ok = open_uploaded_project(b'{"schema": "causal-workbench/project", "schema_version": 7}')
        st.write(f"ok={ok} same={state.get_project() is before} name={state.get_project().name}")

    at = AppTest.from_function(script, default_timeout=60).run()
    assert not at.exception
    assert "newer Causal Workbench (schema_version 7" in at.error[0].value
    assert at.markdown[0].value == "ok=False same=True name=retention analysis"


def test_a_non_finite_number_is_refused_where_it_is_made():
    """Issue 18 §6: a NaN estimate saved as null and the file then failed to reopen. Now it cannot be stored."""
    from pydantic import ValidationError

    from causal_core.project import DagNode, EstimateRow

    for value in (float("nan"), float("inf"), float("-inf")):
        with pytest.raises(ValidationError, match="finite number"):
            EstimateRow(method="ipw", estimand="ATE", estimate=value)
        with pytest.raises(ValidationError, match="finite number"):
            DagNode(name="a", x=value)


def test_missing_values_in_free_form_tables_save_as_null_and_reopen(retention):
    """Diagnostics and audit tables are free-form: a NaN there is written as null and the file reopens."""
    from causal_core.project import DataAuditResult

    project = _rich_project(retention).model_copy(
        update={"data_audit": DataAuditResult(tables={"missing": [{"column": "x", "share": float("nan")}]})}
    )
    text = project_to_json(project)
    assert "NaN" not in text
    reopened = project_from_json(text)
    assert reopened.data_audit.tables["missing"][0]["share"] is None
    assert project_to_json(project_from_json(project_to_json(reopened))) == project_to_json(reopened)


def test_bounds_name_the_field_and_leave_room_for_a_real_project(retention):
    from causal_core.project_file import MAX_LIST_ITEMS, MAX_STRING_CHARS, check_project_bounds

    payload = json.loads(project_to_json(_rich_project(retention)))
    check_project_bounds(payload)  # the worked project is far inside every bound
    payload["ai_log"][0]["raw_output"] = "x" * (MAX_STRING_CHARS + 1)
    with pytest.raises(ProjectFileError, match=r"ai_log\.0\.raw_output holds 1,000,001 characters"):
        check_project_bounds(payload)
    payload["ai_log"][0]["raw_output"] = ""
    payload["guardrails"] = ["g"] * (MAX_LIST_ITEMS + 1)
    with pytest.raises(ProjectFileError, match="guardrails holds 50,001 items"):
        check_project_bounds(payload)
