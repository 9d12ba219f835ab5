"""AppTest of the Data audit page: both built-ins, an uploaded CSV, the AI review (runtime patched),
de-duplication, settings and the bad inputs the page must survive without losing anything."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from causal_core import runtime
from causal_core.audit.profile_review import N09_SAMPLE_REVIEW, normalise_review
from causal_core.data import frame_to_csv_bytes, project_for_upload, read_upload
from causal_core.data.datasets import support_dictionary
from causal_core.data.project_io import project_key
from causal_core.project import AIInteraction
from tests import rendered

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGE = "app_pages/data_audit.py"


def plain(markdown: str) -> str:
    """What a reader sees in a Markdown message: backslash escapes and code-span fences removed."""
    return rendered.plain(markdown).replace("`", "")


def open_page(dataset: str = "support") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180).run()
    if dataset != "retention":
        at.sidebar.selectbox(key="dataset_choice").set_value(dataset).run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def project_of(at: AppTest, key: str = "support"):
    return at.session_state["cw_projects"][key]


def install_upload(frame, **roles) -> tuple[AppTest, str]:
    """An uploaded CSV installed straight into session state (the keys causal_core/ui/state.py uses)."""
    loaded = read_upload(frame_to_csv_bytes(frame), "x.csv")
    project = project_for_upload(loaded).model_copy(update=roles)
    key = project_key(project)
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["cw_projects"] = {key: project}
    at.session_state["cw_frames"] = {key: loaded.frame}
    at.session_state["cw_active"] = key
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at, key


SUPPORT_ROLES = {
    "treatment": "assistant_enabled",
    "outcome": "human_handled_hours",
    "guardrails": ["customer_satisfaction_score"],
    "unit_columns": ["team_id", "week_start"],
    "time_column": "week_start",
}


# ---------------------------------------------------------------- built-ins
def test_support_page_shows_the_audit_and_stores_it():
    at = open_page("support")
    project = project_of(at)
    schema = {row["metric"]: row["value"] for row in project.data_audit.tables["schema_profile"]}
    assert (schema["rows"], schema["unique team-weeks"], schema["duplicated rows by intended grain"]) == (1268, 1260, 16)
    assert [round(r["treatment_coef"], 3) for r in project.data_audit.tables["smoke_test"]] == [-39.517, -28.385, 13.192]
    assert len(project.checklist) == 8
    warnings = [plain(w.value) for w in at.warning]
    assert any(w.startswith("Post-treatment/future columns that predict the outcome") for w in warnings)
    assert any("does not by itself establish causal identification" in w for w in warnings)
    frames = [df.value for df in at.dataframe]
    balance = next(f for f in frames if "abs_smd" in f.columns)
    assert balance["variable"].iloc[0] == "backlog_start" and round(balance["smd"].iloc[0], 3) == -0.898
    assert any("flag" in f.columns and f["variable"].iloc[0] == "next_week_backlog" for f in frames)
    assert at.error[0].value.startswith("Flagged: `next_week_backlog` (LEAKAGE RISK")


def test_retention_page_runs_with_its_own_roles():
    at = open_page("retention")
    project = project_of(at, "retention")
    assert project.data_audit.tables["smoke_test"][0]["rows_used"] == 6000
    assert any(plain(s.value).startswith("Every account_id appears once") for s in at.success)
    assert not [w.value for w in at.warning if plain(w.value).startswith("No unit grain")]


def test_loading_the_n09_sample_scores_full_marks_in_the_panel():
    at = open_page("support")
    at.button(key="replay_profile").click().run()
    assert not at.exception
    project = project_of(at)
    record = project.audit_history("profile_review")[-1]
    assert (record.score, record.max_score, record.model_id) == (13, 13, "Qwen/Qwen2.5-7B-Instruct")
    assert project.profile_review == normalise_review(N09_SAMPLE_REVIEW)
    replayed = project.ai_log[-1]
    assert (replayed.id, replayed.backend, replayed.device) == (record.interaction_id, "replay", "recorded, not generated")
    assert replayed.decoding["source"].startswith("N09 Dataset profiling with AI, section 13")
    assert any(m.value == "13 / 13" for m in at.metric)


def _fake_run_task(parsed: dict | None, calls: list):
    def fake(task, inputs, model_key, settings=None, on_text=None, should_stop=None):
        calls.append((task.name, inputs))
        if on_text:
            on_text(json.dumps(parsed or {})[:50])
        return AIInteraction(
            id=f"fake-{len(calls)}", task=task.name, model_id="fake-model", raw_output=json.dumps(parsed or "oops"),
            parsed=parsed, schema_valid=parsed is not None, repair_stage="none" if parsed else "failed",
            failure_type="" if parsed else "invalid_json_or_truncated_output",
        )
    return fake


def test_drafting_with_the_model_scores_and_logs_the_review(monkeypatch):
    calls: list = []
    monkeypatch.setattr(runtime, "run_task", _fake_run_task(normalise_review(N09_SAMPLE_REVIEW), calls))
    at = open_page("support")
    at.button(key="draft_profile").click().run()
    assert not at.exception
    assert calls[0][0] == "profile"
    assert calls[0][1]["bundle"]["explicit_warning"].startswith("Dataset profiling can identify risks")
    project = project_of(at)
    record = project.audit_history("profile_review")[-1]
    assert (record.score, record.max_score, record.model_id, record.interaction_id) == (13, 13, "fake-model", "fake-1")
    assert project.ai_log[-1].id == "fake-1"
    assert project.profile_review == normalise_review(N09_SAMPLE_REVIEW)


def test_a_failed_generation_scores_zero_and_keeps_the_previous_review(monkeypatch):
    calls: list = []
    monkeypatch.setattr(runtime, "run_task", _fake_run_task(None, calls))
    at = open_page("support")
    at.button(key="replay_profile").click().run()
    at.button(key="draft_profile").click().run()
    assert not at.exception
    project = project_of(at)
    record = project.audit_history("profile_review")[-1]
    assert (record.score, record.max_score, record.schema_valid, record.failure_type) == (
        0, 13, False, "invalid_json_or_truncated_output")
    assert project.profile_review["dataset_grain"] == "team_id, week_start"  # the replayed review survives
    assert [i.backend for i in project.ai_log][-1] != "replay" and len(project.ai_log) == 2


def test_pasted_review_is_scored_and_bad_json_changes_nothing():
    at = open_page("support")
    at.text_area(key="review_json_support_0").set_value("{broken").run()
    at.button(key="score_pasted_review").click().run()
    assert not at.exception
    assert any(plain(e.value).startswith("Not valid JSON (line 1, column 2)") for e in at.error)
    assert project_of(at).audit_history("profile_review") == []
    planted = {**N09_SAMPLE_REVIEW, "leakage_risks": []}
    at.text_area(key="review_json_support_0").set_value(json.dumps(planted)).run()
    at.button(key="score_pasted_review").click().run()
    record = project_of(at).audit_history("profile_review")[-1]
    assert (record.score, record.max_score) == (12, 13)
    assert [c.name for c in record.checks if not c.passed and c.severity == "fail"] == ["flags future leakage"]


def test_dedup_choice_is_logged_and_changes_the_analysis_rows():
    at = open_page("support")
    at.radio(key="audit_dedup_support").set_value("average").run()
    assert not at.exception
    project = project_of(at)
    assert project.dedup == "average"
    edit = project.edit_log[-1]
    assert (edit.artifact, edit.field, edit.before, edit.after) == ("data", "dedup", "none", "average")
    assert edit.note == "1,268 raw rows -> 1,260 analysis rows"
    schema = {row["metric"]: row["value"] for row in project.data_audit.tables["schema_profile"]}
    assert (schema["rows"], schema["duplicated rows by intended grain"]) == (1260, 0)


def test_overlap_bounds_follow_the_slider():
    at = open_page("support")
    at.slider(key="audit_bounds_support").set_value((0.1, 0.9)).run()
    assert not at.exception
    metrics = [row["metric"] for row in project_of(at).data_audit.tables["overlap_summary"]]
    assert "share outside [0.1, 0.9]" in metrics
    assert project_of(at).data_audit.settings["bounds"] == [0.1, 0.9]


def test_checklist_reset_is_logged():
    at = open_page("support")
    at.button(key="reset_checklist").click().run()
    assert not at.exception
    project = project_of(at)
    assert project.edit_log[-1].artifact == "checklist"
    assert [item.status for item in project.checklist] == ["todo"] * 8


# ---------------------------------------------------------------- uploads
def test_uploaded_csv_with_dictionary_reproduces_the_n09_audit(support):
    _, frame = support
    at, key = install_upload(frame, dictionary=support_dictionary(), **SUPPORT_ROLES)
    project = project_of(at, key)
    assert project.data_source.kind == "upload"
    assert [r["rows_used"] for r in project.data_audit.tables["smoke_test"]] == [1244, 1244, 458]
    assert project.data_audit.tables["balance"][0]["variable"] == "backlog_start"
    at.button(key="replay_profile").click().run()
    assert project_of(at, key).audit_history("profile_review")[-1].score == 13


def test_uploaded_csv_without_roles_asks_for_them(support):
    _, frame = support
    at, key = install_upload(frame)
    assert any("Choose the **treatment** and **primary outcome**" in i.value for i in at.info)
    assert project_of(at, key).data_audit is None


def test_uploaded_two_valued_treatment_offers_a_mapping(support):
    _, frame = support
    coded = frame.assign(assistant_enabled=frame["assistant_enabled"].map({1: "yes", 0: "no"}))
    at, key = install_upload(coded, dictionary=support_dictionary(), **SUPPORT_ROLES)
    assert plain(at.error[0].value).startswith("The treatment 'assistant_enabled' is not coded 0/1: it has the two values 'no', 'yes'")
    assert project_of(at, key).data_audit is None
    assert at.radio(key=f"treated_choice_{key}").value == "yes"
    at.button(key="apply_treatment_mapping").click().run()
    assert not at.exception
    project = project_of(at, key)
    assert project.data_audit.settings["treated_value"] == "yes"
    assert round(project.data_audit.tables["smoke_test"][0]["treatment_coef"], 3) == -39.517


@pytest.mark.parametrize(
    ("update", "message"),
    [
        ({"treatment": "region"}, "The treatment 'region' is not binary: it has 3 distinct values"),
        ({"unit_columns": ["team"]}, "Grain column(s) not in the data: team"),
    ],
)
def test_upload_bad_roles_show_a_specific_error(support, update, message):
    _, frame = support
    at, key = install_upload(frame, dictionary=support_dictionary(), **{**SUPPORT_ROLES, **update})
    assert any(plain(e.value).startswith(message) for e in at.error)
    assert project_of(at, key).data_audit is None


def test_upload_with_constant_treatment_and_missing_outcome(support):
    _, frame = support
    at, _ = install_upload(frame.assign(assistant_enabled=0), dictionary=support_dictionary(), **SUPPORT_ROLES)
    assert any("is constant" in plain(e.value) for e in at.error)
    at, _ = install_upload(frame.assign(human_handled_hours=float("nan")), dictionary=support_dictionary(), **SUPPORT_ROLES)
    assert any("missing in every row" in plain(e.value) for e in at.error)
