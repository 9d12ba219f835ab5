"""Model lab core with a fake task and a scripted runtime: summary numbers, zero credit, resume, CLI."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from pydantic import BaseModel, Field

from causal_core import lab_bench as lab
from causal_core import runtime
from causal_core.ai import tasks
from causal_core.ai.rubric import check
from causal_core.ai.structured import DecodingSettings, StructuredTask
from causal_core.cli import main as cli_main
from causal_core.project import AIInteraction, Project
from causal_core.project_file import project_from_json, project_to_json


class Answer(BaseModel):
    treatment: str = Field("", max_length=40)
    outcome: str = Field("", max_length=40)


def _score(artifact: dict, project: Project, frame) -> list:
    """Three scored checks and one warning; the case's project says what is right."""
    return [
        check("treatment", artifact.get("treatment") == project.treatment, "treatment matches"),
        check("outcome", artifact.get("outcome") == project.outcome, "outcome matches"),
        check("non-empty", bool(artifact.get("treatment")), "has a treatment"),
        check("style", False, "warn-level checks are not counted", severity="warn"),
    ]


FAKE_TASK = StructuredTask(
    name="fake",
    artifact="fake_artifact",
    system_prompt="sys",
    build_user_prompt=lambda inputs: f"case {inputs['case']}",
    schema=Answer,
    defaults={"treatment": "", "outcome": ""},
    build_inputs=lambda project, frame: {"case": project.name, "rows": 0 if frame is None else len(frame)},
    score=_score,
)

RIGHT = {"treatment": "t", "outcome": "y"}
HALF = {"treatment": "t", "outcome": "wrong"}


def _interaction(kind: str, model_key: str, settings: DecodingSettings | None) -> AIInteraction:
    base = {"id": f"i-{model_key}-{kind}", "task": "fake", "model_id": model_key, "tokens_per_s": 10.0,
            "new_tokens": 20, "duration_s": 2.0, "seed": settings.seed if settings else None}
    if kind == "ok":
        return AIInteraction(**base, raw_output=json.dumps(RIGHT), parsed=RIGHT, schema_valid=True)
    if kind == "half":
        return AIInteraction(**base, raw_output=json.dumps(HALF), parsed=HALF, schema_valid=True)
    if kind == "parser":
        return AIInteraction(**base, raw_output="```json\n{'treatment': 't', 'outcome': 'y',", parsed=RIGHT,
                             schema_valid=True, repair_stage="parser", parser_notes=["json_repair"])
    if kind == "retry":
        return AIInteraction(**base, raw_output="I think t", repair_raw_output=json.dumps(RIGHT), parsed=RIGHT,
                             schema_valid=True, repair_stage="model_retry")
    if kind == "broken":
        return AIInteraction(**base, raw_output="x" * 900, schema_valid=False, repair_stage="failed",
                             failure_type="invalid_json_or_truncated_output", error="Expecting value: line 1")
    if kind == "load_fail":
        return AIInteraction(**base, schema_valid=False, repair_stage="failed", failure_type="model_error",
                             error="Out of memory while loading Huge: needs 64 GB")
    if kind == "empty":
        return AIInteraction(**base, raw_output="", schema_valid=False, repair_stage="failed",
                             failure_type="empty_output", error="empty model output")
    raise AssertionError(kind)


class ScriptedRuntime:
    """Plays back a per-(model, case, repeat) script and logs every call and unload in order."""

    def __init__(self, script: dict[tuple[str, str, int], str], models: list[dict]):
        self.script = script
        self.models = models
        self.events: list[tuple] = []

    def run_task(self, task, inputs, model_key, settings=None, on_text=None, should_stop=None, load_options=None):
        self.load_options = load_options
        case_id = inputs["case"]
        repeat = settings.seed - 209
        self.events.append(("run", model_key, case_id, repeat))
        kind = self.script.get((model_key, case_id, repeat), "ok")
        if kind == "raise":
            raise RuntimeError("CUDA out of memory (simulated)")
        if on_text:
            on_text("{")
        return _interaction(kind, model_key, settings)

    def list_models(self, extra_keys=None, probe_endpoints=True):
        return self.models

    def unload(self, model_key):
        self.events.append(("unload", model_key))
        return True

    def runs(self):
        return [event[1:] for event in self.events if event[0] == "run"]


MODELS = [
    {"key": "small", "label": "Small", "role": "smoke test", "source": "ladder", "available": True},
    {"key": "big", "label": "Big", "role": "strong", "source": "ladder", "available": True},
    {"key": "huge", "label": "Huge", "role": "scale", "source": "ladder", "available": False,
     "reason": "not downloaded (62 GB)", "fetch_command": "hf download org/huge"},
]


def _case(name: str, treatment: str = "t", outcome: str = "y") -> lab.LabCase:
    project = Project(name=name, treatment=treatment, outcome=outcome)
    return lab.LabCase(case_id=name, project=project, frame=pd.DataFrame({"a": [1, 2, 3]}))


@pytest.fixture
def fake(monkeypatch):
    def install(script=None, models=MODELS):
        scripted = ScriptedRuntime(script or {}, models)
        monkeypatch.setattr(runtime, "run_task", scripted.run_task, raising=False)
        monkeypatch.setattr(runtime, "list_models", scripted.list_models, raising=False)
        monkeypatch.setattr(runtime, "unload", scripted.unload, raising=False)
        real_get = tasks.get_task
        monkeypatch.setattr(tasks, "get_task", lambda name: FAKE_TASK if name == "fake" else real_get(name))
        return scripted

    return install


CASES = {"alpha": _case("alpha"), "beta": _case("beta")}


def _plan(models=("small", "big", "huge"), cases=("alpha", "beta"), repeats=1):
    return lab.new_run("fake", list(cases), lab.resolve_models(models), repeats=repeats)


def test_summary_numbers_follow_n09(fake):
    scripted = fake({
        ("small", "alpha", 0): "parser",
        ("small", "beta", 0): "broken",
        ("big", "alpha", 0): "ok",
        ("big", "beta", 0): "half",
    })
    state = lab.run_lab(None, _plan(), CASES)
    run = lab.latest_run(state)
    assert run["status"] == "complete"
    summary = lab.summarize(run).set_index("model_id")
    assert list(lab.summarize(run).columns[: len(lab.SUMMARY_COLUMNS)]) == lab.SUMMARY_COLUMNS
    # small: 1 valid (parser repaired, 3/3) + 1 failed (0) -> reliability 0.5, mean 0.5
    assert summary.loc["small", "cases"] == 2
    assert summary.loc["small", "schema_valid_cases"] == 1
    assert summary.loc["small", "schema_repaired_cases"] == 1
    assert summary.loc["small", "schema_reliability"] == pytest.approx(0.5)
    assert summary.loc["small", "mean_score"] == pytest.approx(0.5)
    assert summary.loc["small", "failure_types"] == ["invalid_json_or_truncated_output"]
    # big: 3/3 and 2/3 -> mean 5/6, reliability 1
    assert summary.loc["big", "schema_valid_cases"] == 2
    assert summary.loc["big", "schema_repaired_cases"] == 0
    assert summary.loc["big", "schema_reliability"] == pytest.approx(1.0)
    assert summary.loc["big", "mean_score"] == pytest.approx(5 / 6)
    assert summary.loc["big", "failure_types"] == []
    # sorted by mean score: big first; the unavailable model has no row (it never ran)
    assert lab.summarize(run)["model_id"].tolist() == ["big", "small"]
    assert ("huge", "alpha", 0) not in scripted.runs()


def test_failed_run_scores_zero_of_n_and_is_never_nan(fake):
    fake({("small", "alpha", 0): "broken", ("small", "beta", 0): "empty"})
    run = lab.latest_run(lab.run_lab(None, _plan(models=("small", "big")), CASES))
    results = lab.case_results(run)
    failed = results[results["model_id"] == "small"]
    assert failed["status"].tolist() == ["failed", "failed"]
    assert failed["score"].tolist() == [0, 0]
    assert failed["score_share"].tolist() == [0.0, 0.0]
    assert failed["max_score"].tolist() == [3, 3]  # 0 of the rubric's 3 scored checks, not 0 of 0
    assert failed["failure_type"].tolist() == ["invalid_json_or_truncated_output", "empty_output"]
    assert failed["repair_stage"].tolist() == ["failed", "failed"]
    assert len(failed["raw_output_preview"].iloc[0]) == lab.PREVIEW_CHARS
    summary = lab.summarize(run).set_index("model_id")
    assert summary.loc["small", "schema_reliability"] == 0.0
    assert summary.loc["small", "mean_score"] == 0.0
    assert summary.loc["small", "failure_types"] == ["empty_output", "invalid_json_or_truncated_output"]
    assert not lab.summarize(run).drop(columns="failure_types").isna().any().any()
    details = lab.failed_runs(run)
    assert details.columns.tolist() == lab.FAILED_COLUMNS
    assert details["model_id"].tolist() == ["small", "small"]
    assert "Expecting value" in details["error"].iloc[0]
    assert "NaN" not in json.dumps(lab.report_payload(run), default=str)


def test_repair_stage_counts(fake):
    fake({("small", "alpha", 0): "parser", ("small", "beta", 0): "retry", ("big", "alpha", 0): "broken"})
    run = lab.latest_run(lab.run_lab(None, _plan(models=("small", "big")), CASES))
    counts = lab.repair_stage_counts(run)
    assert counts.to_dict(orient="records") == [
        {"repair_stage": "none", "cases": 1},
        {"repair_stage": "parser", "cases": 1},
        {"repair_stage": "model_retry", "cases": 1},
        {"repair_stage": "failed", "cases": 1},
    ]
    by_model = lab.repair_stage_counts(run, by_model=True)
    assert by_model[by_model["label"] == "Small"]["cases"].sum() == 2
    assert lab.summarize(run).set_index("model_id").loc["small", "schema_repaired_cases"] == 2


def test_one_model_at_a_time_load_run_unload(fake):
    scripted = fake()
    lab.run_lab(None, _plan(repeats=2), CASES)
    assert scripted.events == [
        ("run", "small", "alpha", 0), ("run", "small", "alpha", 1),
        ("run", "small", "beta", 0), ("run", "small", "beta", 1),
        ("unload", "small"),
        ("run", "big", "alpha", 0), ("run", "big", "alpha", 1),
        ("run", "big", "beta", 0), ("run", "big", "beta", 1),
        ("unload", "big"),
    ]


def test_load_options_reach_the_runtime_only_when_set(fake):
    scripted = fake()
    lab.run_lab(None, _plan(models=("small",), cases=("alpha",)), CASES)
    assert scripted.load_options is None  # the runtime's auto plan
    plan = lab.new_run("fake", ["alpha"], lab.resolve_models(["small"]), load_options={"dtype": "float32"})
    run = lab.latest_run(lab.run_lab(None, plan, CASES))
    assert scripted.load_options == {"dtype": "float32"}
    assert run["load_options"] == {"dtype": "float32"}


def test_repeats_use_seed_plus_repeat(fake):
    fake()
    run = lab.latest_run(lab.run_lab(None, _plan(models=("small",), cases=("alpha",), repeats=3), CASES))
    assert [(r["repeat"], r["seed"]) for r in run["records"]] == [(0, 209), (1, 210), (2, 211)]
    assert lab.summarize(run).loc[0, "cases"] == 3


def test_unavailable_models_are_listed_and_not_run(fake):
    scripted = fake()
    run = lab.latest_run(lab.run_lab(None, _plan(), CASES))
    assert lab.unavailable_models(run) == [{
        "label": "Huge", "model_id": "huge", "role": "scale", "reason": "not downloaded (62 GB)",
        "fetch_command": "hf download org/huge",
    }]
    assert "huge" not in {event[1] for event in scripted.events}
    assert len(run["records"]) == 4


def test_resume_after_interruption_has_no_duplicates(fake):
    scripted = fake({("big", "beta", 0): "broken"})
    calls = {"n": 0}

    def stop_after_first() -> bool:
        return len(scripted.runs()) >= 1

    saved: list[dict] = []
    state = lab.run_lab(None, _plan(), CASES, should_stop=stop_after_first, on_update=saved.append)
    run = lab.latest_run(state)
    assert run["status"] == "stopped"
    assert [(r["model_id"], r["case_id"]) for r in run["records"]] == [("small", "alpha")]
    assert len(lab.pending_keys(run)) == 3
    assert ("unload", "small") in scripted.events  # the model is released even when stopped
    # the project holds the partial run (what survives a page switch), and resuming finishes it
    project = lab.project_with_lab(Project(name="p"), saved[-1])
    project = project_from_json(project_to_json(project))
    resumed = lab.run_lab(project.lab, lab.latest_run(project.lab), CASES, should_stop=lambda: calls["n"] > 99)
    run = lab.latest_run(resumed)
    keys = [(r["model_id"], r["case_id"], r["repeat"]) for r in run["records"]]
    assert run["status"] == "complete"
    assert len(keys) == len(set(keys)) == 4
    assert scripted.runs() == [("small", "alpha", 0), ("small", "beta", 0), ("big", "alpha", 0), ("big", "beta", 0)]
    assert len(lab.runs_of(resumed)) == 1  # resumed in place, not a second run
    summary = lab.summarize(run).set_index("model_id")
    assert summary.loc["big", "schema_reliability"] == pytest.approx(0.5)
    assert summary.loc["small", "cases"] == 2


def test_stop_during_a_call_discards_the_cut_short_failure(fake, monkeypatch):
    scripted = fake({("small", "alpha", 0): "broken"})
    stop = {"now": False}
    original = scripted.run_task

    def run_then_stop(*args, **kwargs):
        stop["now"] = True  # the analyst pressed stop while this call was generating
        return original(*args, **kwargs)

    monkeypatch.setattr(runtime, "run_task", run_then_stop)
    run = lab.latest_run(lab.run_lab(None, _plan(models=("small",)), CASES, should_stop=lambda: stop["now"]))
    assert run["records"] == []
    assert run["status"] == "stopped"
    assert len(lab.pending_keys(run)) == 2


def test_a_raising_backend_is_a_zero_credit_model_error(fake):
    fake({("small", "alpha", 0): "raise"})
    run = lab.latest_run(lab.run_lab(None, _plan(models=("small",)), CASES))
    first = run["records"][0]
    assert (first["status"], first["failure_type"], first["score_share"]) == ("failed", "model_error", 0.0)
    assert "CUDA out of memory" in first["error"]
    assert run["records"][1]["status"] == "ok"  # the lab carried on
    assert lab.summarize(run).loc[0, "schema_reliability"] == pytest.approx(0.5)


def test_a_model_that_cannot_load_is_not_reloaded_for_every_case(fake):
    scripted = fake({("small", "alpha", 0): "load_fail"})
    run = lab.latest_run(lab.run_lab(None, _plan(models=("small", "big"), repeats=2), CASES))
    small = [r for r in run["records"] if r["model_id"] == "small"]
    assert len(small) == 4  # every planned run is recorded and counted, at zero credit
    assert {(r["status"], r["failure_type"], r["score_share"]) for r in small} == {("failed", "model_error", 0.0)}
    assert "Out of memory while loading Huge" in small[0]["error"]
    assert small[1]["error"].startswith("not attempted: the model failed to load earlier: Out of memory")
    assert [e for e in scripted.runs() if e[0] == "small"] == [("small", "alpha", 0)]  # one load attempt
    assert all("_load_failure" not in r for r in run["records"])
    summary = lab.summarize(run).set_index("model_id")
    assert (summary.loc["small", "cases"], summary.loc["small", "schema_reliability"]) == (4, 0.0)
    assert summary.loc["small", "failure_types"] == ["model_error"]
    assert summary.loc["big", "schema_reliability"] == 1.0


def test_a_crashing_rubric_is_recorded_not_raised(fake, monkeypatch):
    fake()

    def bad_score(artifact, project, frame):
        raise KeyError("treatment")

    broken = StructuredTask(**{**FAKE_TASK.__dict__, "score": bad_score})
    monkeypatch.setattr(tasks, "get_task", lambda name: broken)
    run = lab.latest_run(lab.run_lab(None, _plan(models=("small",), cases=("alpha",)), CASES))
    record = run["records"][0]
    assert (record["status"], record["failure_type"], record["score"]) == ("failed", "scoring_error", 0)
    assert "scoring failed: KeyError" in record["error"]


def test_resolve_models(fake):
    fake()
    assert [m["key"] for m in lab.resolve_models(["big", "small", "big"])] == ["big", "small"]
    endpoint = lab.resolve_models(["endpoint:qwen@http://127.0.0.1:9/v1"])[0]
    assert (endpoint["label"], endpoint["source"], endpoint["available"]) == ("qwen", "endpoint", True)
    missing = lab.resolve_models(["path:/definitely/not/here"])[0]
    assert not missing["available"] and "does not exist" in missing["reason"]
    with pytest.raises(lab.LabError, match="unknown model 'nope': choose from small, big, huge"):
        lab.resolve_models(["nope"])
    with pytest.raises(lab.LabError, match="bad endpoint key"):
        lab.resolve_models(["endpoint:qwen"])
    with pytest.raises(lab.LabError, match="at least one model"):
        lab.resolve_models([" "])


def test_bad_plans_and_cases(fake):
    fake()
    with pytest.raises(lab.LabError, match="repeats must be at least 1"):
        _plan(repeats=0)
    with pytest.raises(lab.LabError, match="at least one case"):
        _plan(cases=())
    with pytest.raises(lab.LabError, match="unknown task 'nope'"):
        lab.task_for("nope")
    with pytest.raises(lab.LabError, match="cases not prepared: gamma"):
        lab.run_lab(None, _plan(cases=("alpha", "gamma")), CASES)
    picky = StructuredTask(**{**FAKE_TASK.__dict__, "build_inputs": lambda p, f: 1 / 0})
    with pytest.raises(lab.LabError, match="case 'alpha' cannot be used for task 'fake': division by zero"):
        lab.case_inputs(picky, CASES["alpha"])


def test_runs_are_kept_newest_last_and_bounded(fake):
    fake()
    state = None
    for _ in range(lab.MAX_RUNS + 2):
        state = lab.run_lab(state, _plan(models=("small",), cases=("alpha",)), CASES)
    assert len(lab.runs_of(state)) == lab.MAX_RUNS
    assert all(run["status"] == "complete" for run in lab.runs_of(state))


def test_downloads_round_trip(fake):
    fake({("small", "beta", 0): "broken"})
    run = lab.latest_run(lab.run_lab(None, _plan(), CASES))
    import io

    summary = pd.read_csv(io.BytesIO(lab.summary_csv(run)))
    assert summary["model_id"].tolist() == ["big", "small"]
    assert summary.set_index("model_id").loc["small", "failure_types"] == "invalid_json_or_truncated_output"
    cases = pd.read_csv(io.BytesIO(lab.cases_csv(run)))
    assert cases.columns.tolist() == lab.CASE_RESULT_COLUMNS
    assert len(cases) == 4
    payload = json.loads(json.dumps(lab.report_payload(run)))
    assert payload["summary"][1]["schema_reliability"] == 0.5
    assert payload["unavailable"][0]["model_id"] == "huge"
    assert not any(isinstance(v, float) and math.isnan(v) for row in payload["cases"] for v in row.values())


# ---------------------------------------------------------------------------------------------
# CLI (cases patched to small fake projects; the real headless cases are exercised in test_lab_models)
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def cli_cases(monkeypatch):
    def fake_builtin(name):
        case = _case(name)
        return case.project, case.frame

    monkeypatch.setattr("causal_core.lab_bench.choices._builtin_case", fake_builtin)


def test_cli_json_output(fake, cli_cases, capsys):
    fake({("small", "support", 0): "broken"})
    code = cli_main(["lab", "--task", "fake", "--models", "small,huge", "--cases", "retention,support",
                     "--format", "json", "--quiet"])
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["summary"] == [{
        "label": "Small", "model_id": "small", "role": "smoke test", "cases": 2, "schema_valid_cases": 1,
        "schema_repaired_cases": 0, "schema_reliability": 0.5, "mean_score": 0.5,
        "failure_types": ["invalid_json_or_truncated_output"], "truncated_cases": 0, "mean_tokens_per_s": 10.0,
        "mean_duration_s": 2.0,
    }]
    assert [(c["case_id"], c["status"], c["score"], c["max_score"]) for c in payload["cases"]] == [
        ("retention", "ok", 3, 3), ("support", "failed", 0, 3)]
    assert payload["unavailable"][0]["reason"] == "not downloaded (62 GB)"


def test_cli_text_output_and_progress(fake, cli_cases, capsys):
    fake()
    assert cli_main(["lab", "--task", "fake", "--models", "small,huge", "--cases", "retention"]) == 0
    captured = capsys.readouterr()
    assert "Summary" in captured.out and "Small" in captured.out
    assert "huge: not downloaded (62 GB) — fetch: hf download org/huge" in captured.out
    assert "[0/1] Loading Small (small)…" in captured.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--task", "nope", "--models", "small"], "error: unknown task 'nope'"),
        (["--task", "fake", "--models", "nope"], "error: unknown model 'nope'"),
        (["--task", "fake", "--models", "small", "--cases", "mars"], "error: unknown case 'mars'"),
        (["--task", "fake", "--models", "small", "--repeats", "0"], "error: --repeats must be at least 1"),
        (["--task", "fake", "--models", "small", "--temperature", "9"], "error: bad decoding setting temperature"),
        (["--task", "fake", "--models", "small", "--max-in-flight", "0"],
         "error: --max-in-flight must be between 1 and 64, got 0"),
        (["--task", "fake", "--models", "endpoint:q@ftp://bob:pw@h/v1"],
         "error: bad endpoint key 'endpoint:q@ftp://h/v1'"),
    ],
)
def test_cli_bad_inputs_exit_2_with_one_line(fake, cli_cases, capsys, argv, message):
    fake()
    assert cli_main(["lab", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message)
    assert err.count("\n") == 1


def test_cli_state_file_resumes(fake, cli_cases, capsys, tmp_path, monkeypatch):
    scripted = fake()
    original = scripted.run_task

    def interrupt_second(*args, **kwargs):
        if len(scripted.runs()) == 1:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(runtime, "run_task", interrupt_second)
    state = tmp_path / "lab.json"
    argv = ["lab", "--task", "fake", "--models", "small", "--cases", "retention,support", "--state", str(state),
            "--format", "json", "--quiet"]
    assert cli_main(argv) == 130
    assert "rerun to resume" in capsys.readouterr().err
    assert len(json.loads(state.read_text())["runs"][0]["records"]) == 1
    monkeypatch.setattr(runtime, "run_task", original)
    assert cli_main(argv) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["status"] == "complete"
    assert [c["case_id"] for c in payload["cases"]] == ["retention", "support"]
    assert scripted.runs() == [("small", "retention", 0), ("small", "support", 0)]
    state.write_text("not json")
    assert cli_main(argv) == 2
    assert "cannot read lab state" in capsys.readouterr().err


def test_resolve_models_asks_the_runtime_about_extra_keys(fake, monkeypatch):
    fake()
    asked: list[list[str]] = []

    def list_models(extra_keys=None):
        asked.append(list(extra_keys or []))
        rows = list(MODELS)
        for key in extra_keys or []:
            rows.append({"key": key, "label": key, "source": "endpoint" if key.startswith("endpoint:") else "hf_cache",
                         "available": False, "reason": f"{key}: connection refused" if key.startswith("endpoint:")
                         else f"{key} is not in the local Hugging Face cache", "fetch_command":
                         "" if key.startswith("endpoint:") else f"hf download {key}"})
        return rows

    monkeypatch.setattr(runtime, "list_models", list_models)
    endpoint, repo = lab.resolve_models(["endpoint:m@http://127.0.0.1:1/v1", "org/new-model"], known=MODELS)
    assert asked == [["endpoint:m@http://127.0.0.1:1/v1", "org/new-model"]]
    assert (endpoint["available"], endpoint["reason"]) == (False, "endpoint:m@http://127.0.0.1:1/v1: connection refused")
    assert (repo["available"], repo["fetch_command"]) == (False, "hf download org/new-model")
    with pytest.raises(lab.LabError, match="unknown model 'bundeld'"):
        lab.resolve_models(["bundeld"], known=MODELS)


# ---- honest speed, repeats and ranking (issue 22 §6) -------------------------------------------------------------
def _endpoint_interaction(**fields) -> AIInteraction:
    base = {"id": "i", "task": "estimand-card", "backend": "openai_endpoint", "raw_output": "x" * 400,
            "new_tokens": 100, "tokens_per_s": 50.0, "duration_s": 2.0}
    return AIInteraction(**{**base, **fields})


def test_endpoint_tokens_per_s_counts_only_usage_tokens():
    assert lab.measured_speed(_endpoint_interaction()) == ("usage", 50.0)
    chunks = _endpoint_interaction(parser_notes=["generation: new_tokens counted from stream chunks"])
    assert lab.measured_speed(chunks)[1] == 0.0 and "no usage" in lab.measured_speed(chunks)[0]
    assert lab.measured_speed(_endpoint_interaction(new_tokens=0, tokens_per_s=0.0))[1] == 0.0
    huge = _endpoint_interaction(new_tokens=8_567_816, tokens_per_s=4_283_908.0)  # the figure the lab once showed
    source, speed = lab.measured_speed(huge)
    assert speed == 0.0 and "implausible" in source
    local = AIInteraction(id="l", task="dag", backend="transformers", new_tokens=10, tokens_per_s=3.0)
    assert lab.measured_speed(local) == ("local", 3.0)


def test_repeats_at_temperature_zero_are_warned_about():
    model = {"key": "bundled", "label": "b", "role": "", "source": "bundled", "available": True, "reason": "",
             "fetch_command": ""}
    greedy = lab.new_run("dag", ["support"], [model], repeats=3)
    assert greedy["warnings"] and "identical" in greedy["warnings"][0]
    assert lab.report_payload(greedy)["warnings"] == greedy["warnings"]
    assert lab.new_run("dag", ["support"], [model], repeats=1)["warnings"] == []
    sampled = lab.new_run("dag", ["support"], [model], repeats=3, settings=DecodingSettings(temperature=0.7))
    assert sampled["warnings"] == []


def _row(label: str, case: str, share: float, failure: str = "") -> dict:
    return {"label": label, "model_id": label, "role": "", "case_id": case, "repeat": 0, "schema_valid": not failure,
            "repair_used": False, "repair_stage": "none" if not failure else "failed", "failure_type": failure,
            "score_share": share, "tokens_per_s": 1.0, "duration_s": 1.0, "status": "ok" if not failure else "failed"}


def test_a_truncating_model_is_never_ranked_level_with_a_clean_one():
    # "cut" scores the same mean as "clean" (a perfect case plus a truncated zero vs two halves) and would tie
    run = {"records": [_row("cut", "a", 1.0), _row("cut", "b", 0.0, "truncated"),
                       _row("clean", "a", 0.5), _row("clean", "b", 0.5)]}
    summary = lab.summarize(run)
    assert list(summary["label"]) == ["clean", "cut"]
    assert summary.set_index("label").loc["cut", "truncated_cases"] == 1
    better = {"records": [_row("cut", "a", 1.0), _row("cut", "b", 0.9, "truncated"), _row("clean", "a", 0.1)]}
    assert list(lab.summarize(better)["label"]) == ["clean", "cut"]  # even with a higher mean score


def test_cli_runs_a_saved_project_as_the_current_case(fake, cli_cases, capsys, tmp_path):
    scripted = fake()
    path = tmp_path / "mine.json"
    path.write_text(project_to_json(Project(name="my analysis", treatment="t", outcome="y")), encoding="utf-8")
    assert cli_main(["lab", "--task", "fake", "--models", "small", "--cases", "current,retention", "--project", str(path),
                     "--format", "json", "--quiet"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert [row["case_id"] for row in payload["cases"]] == ["current", "retention"]
    assert payload["cases"][0]["score"] == 3  # the project's own treatment and outcome are right
    assert ("small", "my analysis", 0) in scripted.runs()  # the prompt was built from the saved project
    assert cli_main(["lab", "--task", "fake", "--models", "small", "--cases", "current"]) == 2
    assert "needs --project FILE" in capsys.readouterr().err
