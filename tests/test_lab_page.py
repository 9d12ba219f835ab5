"""AppTest of the Model lab page with the runtime patched (no model is loaded here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from causal_core import lab_bench as lab
from causal_core.safe_text import escape_markdown
from tests.test_lab import FAKE_TASK, MODELS, ScriptedRuntime, _case

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def patched(monkeypatch):
    """Scripted runtime, the fake task under every task name, small fake built-in cases."""
    from causal_core import runtime
    from causal_core.ai import tasks

    scripted = ScriptedRuntime({("small", "support", 0): "broken", ("big", "retention", 0): "parser"}, MODELS)
    monkeypatch.setattr(runtime, "run_task", scripted.run_task, raising=False)
    monkeypatch.setattr(runtime, "list_models", scripted.list_models, raising=False)
    monkeypatch.setattr(runtime, "unload", scripted.unload, raising=False)
    monkeypatch.setattr(tasks, "get_task", lambda name: FAKE_TASK)

    def fake_builtin(name):
        case = _case(name)
        return case.project, case.frame

    monkeypatch.setattr("causal_core.lab_bench.choices._builtin_case", fake_builtin)
    return scripted


def _open_lab() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("app_pages/model_lab.py").run()
    assert not at.exception
    return at


def _summary_table(at: AppTest):
    """The page's summary table (found by its N09 columns, not by position)."""
    tables = [frame.value for frame in at.main.dataframe]
    return next(t for t in tables if list(t.columns[: len(lab.SUMMARY_COLUMNS)]) == lab.SUMMARY_COLUMNS)


def _lab_state(at: AppTest) -> dict:
    return at.session_state["cw_projects"][at.session_state["cw_active"]].lab


def test_page_runs_shows_n09_tables_and_keeps_results_across_pages(patched):
    at = _open_lab()
    assert "No lab runs in this project yet." in [info.value for info in at.info]
    at.multiselect(key="lab_models").set_value(["small", "big", "huge"]).run()
    at.button(key="lab_run").click().run()
    assert not at.exception
    run = lab.latest_run(_lab_state(at))
    assert run["status"] == "complete"
    assert [success.value for success in at.success] == ["Lab run complete: 4 run(s) recorded."]
    assert len(run["records"]) == 4  # 2 available models x 2 cases; huge is listed, not run
    assert "huge" not in {event[1] for event in patched.events}

    tables = [frame.value for frame in at.dataframe]
    registry, unavailable, summary, cases, failed, repairs = tables[:6]
    assert registry["key"].tolist() == ["small", "big", "huge"]
    assert unavailable["reason"].tolist() == ["not downloaded (62 GB)"]
    assert unavailable["fetch_command"].tolist() == ["hf download org/huge"]
    summary = summary.set_index("model_id")
    assert summary.loc["small", "schema_reliability"] == pytest.approx(0.5)
    assert summary.loc["small", "mean_score"] == pytest.approx(0.5)
    assert summary.loc["big", "schema_repaired_cases"] == 1
    assert len(cases) == 4 and cases["raw_output_preview"].str.len().max() <= 500
    assert failed["failure_type"].tolist() == ["invalid_json_or_truncated_output"]
    repairs = dict(zip(repairs["repair_stage"], repairs["cases"], strict=True))
    assert repairs == {"none": 2, "parser": 1, "failed": 1}
    assert len(at.get("vega_lite_chart")) == 3  # score, schema reliability, tokens/s

    # results live in the project: away and back, they are still there
    at.switch_page("app_pages/overview.py").run()
    at.switch_page("app_pages/model_lab.py").run()
    assert not at.exception
    assert lab.latest_run(_lab_state(at))["id"] == run["id"]
    assert len(at.dataframe) >= 5

    at.button(key="lab_clear").click().run()
    assert lab.runs_of(_lab_state(at)) == []


def test_a_new_run_is_shown_and_older_runs_stay_selectable(patched):
    at = _open_lab()
    at.multiselect(key="lab_models").set_value(["small"]).run()
    at.multiselect(key="lab_cases").set_value(["retention"]).run()
    at.button(key="lab_run").click().run()
    first = lab.latest_run(_lab_state(at))["id"]
    at.multiselect(key="lab_models").set_value(["big"]).run()
    at.text_input(key="lab_extra_model").set_value("endpoint:a@http://127.0.0.1:9/v1, endpoint:b@http://127.0.0.1:9/v1").run()
    at.button(key="lab_run").click().run()
    assert not at.exception
    runs = lab.runs_of(_lab_state(at))
    assert len(runs) == 2
    assert [m["key"] for m in runs[1]["models"]] == ["big", "endpoint:a@http://127.0.0.1:9/v1",
                                                     "endpoint:b@http://127.0.0.1:9/v1"]
    assert at.selectbox(key="lab_run_choice").value == runs[1]["id"]
    assert set(_summary_table(at)["model_id"]) == {"big", "endpoint:a@http://127.0.0.1:9/v1",
                                                      "endpoint:b@http://127.0.0.1:9/v1"}
    at.selectbox(key="lab_run_choice").set_value(first).run()
    assert _summary_table(at)["model_id"].tolist() == ["small"]
    # switching dataset shows that project's (empty) lab; switching back finds the runs again
    at.sidebar.selectbox(key="dataset_choice").set_value("support").run()
    assert not at.exception
    assert "No lab runs in this project yet." in [info.value for info in at.info]
    at.sidebar.selectbox(key="dataset_choice").set_value("retention").run()
    assert not at.exception
    assert len(lab.runs_of(_lab_state(at))) == 2


def test_page_resumes_an_interrupted_run(patched):
    at = _open_lab()
    at.multiselect(key="lab_models").set_value(["small", "big"]).run()
    # simulate an interruption: a run that stopped after its first record, as saved in the project
    plan = lab.new_run("estimand-card", ["retention", "support"], lab.resolve_models(["small", "big"], MODELS))
    cases = {name: lab.builtin_case(name) for name in ("retention", "support")}
    stopped = lab.run_lab(None, plan, cases, should_stop=lambda: len(patched.runs()) >= 1)
    key = at.session_state["cw_active"]
    projects = at.session_state["cw_projects"]
    projects[key] = lab.project_with_lab(projects[key], stopped)
    at.run()
    assert any("still to do" in warning.value for warning in at.warning)
    assert not at.button(key="lab_resume").disabled
    at.button(key="lab_resume").click().run()
    assert not at.exception
    run = lab.latest_run(_lab_state(at))
    keys = [(r["model_id"], r["case_id"], r["repeat"]) for r in run["records"]]
    assert run["status"] == "complete" and len(keys) == len(set(keys)) == 4
    assert patched.runs() == [("small", "retention", 0), ("small", "support", 0), ("big", "retention", 0),
                              ("big", "support", 0)]
    assert at.button(key="lab_resume").disabled


def test_page_bad_choices_show_errors_and_change_nothing(patched):
    at = _open_lab()
    at.multiselect(key="lab_models").set_value([]).run()
    at.button(key="lab_run").click().run()
    assert [error.value for error in at.main.error] == ["choose at least one model"]
    at.multiselect(key="lab_models").set_value(["small"]).run()
    at.multiselect(key="lab_cases").set_value([]).run()
    at.button(key="lab_run").click().run()
    assert [error.value for error in at.main.error] == ["choose at least one case"]
    at.multiselect(key="lab_cases").set_value(["retention"]).run()
    at.text_input(key="lab_extra_model").set_value("endpoint:qwen").run()
    at.button(key="lab_run").click().run()
    assert escape_markdown("bad endpoint key 'endpoint:qwen'") in at.main.error[0].value  # shown as text
    assert lab.runs_of(_lab_state(at)) == []
    assert patched.events == []


def test_page_reports_a_case_the_task_cannot_use(patched, monkeypatch):
    from causal_core.ai import tasks
    from causal_core.ai.structured import StructuredTask

    def needs_a_card(project, frame):
        if project.name != "retention":
            raise ValueError("approve an estimand card first")
        return {"case": project.name}

    picky = StructuredTask(**{**FAKE_TASK.__dict__, "build_inputs": needs_a_card})
    monkeypatch.setattr(tasks, "get_task", lambda name: picky)
    at = _open_lab()
    at.multiselect(key="lab_models").set_value(["small"]).run()
    at.multiselect(key="lab_cases").set_value(["retention", "current"]).run()
    at.button(key="lab_run").click().run()
    assert not at.exception
    assert any("case 'current' cannot be used" in e.value and "approve an estimand card first" in e.value
               for e in at.error)
    assert lab.runs_of(_lab_state(at)) == []
    assert patched.events == []


def test_page_survives_a_missing_registry(monkeypatch):
    from causal_core import runtime

    def broken(*args, **kwargs):
        raise RuntimeError("cache scan failed")

    monkeypatch.setattr(runtime, "list_models", broken, raising=False)
    at = _open_lab()
    errors = [error.value for error in at.main.error]
    assert escape_markdown("The model registry could not be read: RuntimeError: cache scan failed") in errors
    at.button(key="lab_run").click().run()
    assert not at.exception
    assert escape_markdown("no model registry: see the error above") in [error.value for error in at.main.error]
