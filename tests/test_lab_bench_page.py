"""AppTest of the Model lab's DAG benchmark (calibration rows only: no model is loaded here)."""

from __future__ import annotations

import pytest

from causal_core import lab_bench as lab
from tests.test_lab import MODELS, ScriptedRuntime
from tests.test_lab_page import _lab_state, _open_lab


@pytest.fixture
def no_models(monkeypatch):
    from causal_core import runtime

    scripted = ScriptedRuntime({}, MODELS)
    monkeypatch.setattr(runtime, "run_task", scripted.run_task, raising=False)
    monkeypatch.setattr(runtime, "list_models", scripted.list_models, raising=False)
    monkeypatch.setattr(runtime, "unload", scripted.unload, raising=False)
    return scripted


def _bench_table(at, kind_values: set[str]):
    for frame in at.main.dataframe:
        table = frame.value
        if "edge_f1" in table.columns and "kind" in table.columns and set(table["kind"]) == kind_values:
            return table
    raise AssertionError("no benchmark table")


def test_page_runs_the_benchmark_with_calibration_rows_and_shows_table_and_chart(no_models):
    at = _open_lab()
    at.selectbox(key="lab_task").set_value("dag-benchmark").run()
    assert at.multiselect(key="lab_bench_models").value == ["oracle", "empty"]  # no local model: no "bundled"
    at.multiselect(key="lab_bench_cases").set_value(["asia", "survey", "builtin_retention"]).run()
    at.button(key="lab_run").click().run()
    assert not at.exception
    run = lab.latest_run(_lab_state(at))
    assert run["task"] == "dag-benchmark" and run["status"] == "complete" and len(run["records"]) == 6
    assert no_models.runs() == []  # the calibration rows call no model
    summary = _bench_table(at, {"all"}).set_index("label")
    assert summary.loc["oracle", "edge_f1"] == 1.0 and summary.loc["oracle", "adjustment_valid"] == 1.0
    assert summary.loc["empty", "edge_f1"] == 0.0 and summary.loc["oracle", "shd"] == 0.0
    split = _bench_table(at, {"famous", "novel"})
    assert len(split) == 4
    assert len(at.get("vega_lite_chart")) >= 1


def test_page_refuses_the_project_case_without_a_dag_and_runs_nothing(no_models):
    at = _open_lab()
    at.selectbox(key="lab_task").set_value("dag-benchmark").run()
    at.multiselect(key="lab_bench_cases").set_value(["project"]).run()
    at.button(key="lab_run").click().run()
    assert not at.exception
    assert any("no DAG with edges" in error.value for error in at.error)
    assert not lab.runs_of(_lab_state(at))
