"""Model lab against the real runtime: OpenAI-compatible stub endpoints returning broken JSON, the bundled
model, the real registry (unavailable ladder models listed, not run), resume, the CLI and the page."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from causal_core import lab_bench as lab
from causal_core import question, runtime
from causal_core.ai.rubric import score_of
from causal_core.ai.structured import FAILURE_TYPES, DecodingSettings
from tests.openai_stub import start_stub

ROOT = Path(__file__).resolve().parents[1]
UNAVAILABLE = "Qwen/Qwen2.5-32B-Instruct"  # never in this machine's HF cache (62 GB)
CASE_IDS = ["retention", "support"]


def _draft() -> dict:
    """N01's retention estimand card, as the model would emit it (the task schema's fields only)."""
    card = question.example_card("retention").model_dump()
    return {name: card[name] for name in question.EstimandCardDraft.model_fields}


def _is_repair_request(request: dict) -> bool:
    return any("could not be parsed" in str(message.get("content", "")) for message in request.get("messages", []))


def _reply(request: dict) -> str:
    """Per model name: 'repairable' sends fenced JSON with a trailing comma (the parser fixes it);
    'retry' sends prose first and valid JSON to the repair prompt; 'broken' never sends JSON."""
    text = json.dumps(_draft())
    model = request.get("model")
    if model == "repairable":
        return "Here is the estimand card:\n```json\n" + text[:-1] + ",}\n```"
    if model == "retry":
        return text if _is_repair_request(request) else "The treatment is outreach and the outcome is churn."
    return "Sorry, I cannot produce JSON for this request."


@pytest.fixture(scope="module")
def stub():
    requests: list[dict] = []
    base_url, stop = start_stub(_reply, record=requests, model_names=["repairable", "retry", "broken"])
    yield base_url, requests
    stop()


@pytest.fixture(scope="module")
def cases(build_once):
    with pytest.MonkeyPatch.context() as patch:  # the run's one build of each worked example (tests/conftest.py)
        patch.setattr("causal_core.headless.build_project", build_once)
        return {case_id: lab.builtin_case(case_id) for case_id in CASE_IDS}


def _key(name: str, base_url: str) -> str:
    return f"endpoint:{name}@{base_url}"


def _expected_share(case: lab.LabCase) -> float:
    """What the task's own rubric gives N01's retention card on this case (computed, not typed in)."""
    score, max_score = score_of(question.ESTIMAND_TASK.score(_draft(), case.project, case.frame))
    return score / max_score


def _requests_for(requests: list[dict], model: str) -> list[dict]:
    return [request for request in requests if request.get("model") == model]


def test_stub_endpoints_summary_repairs_and_zero_credit(stub, cases):
    base_url, requests = stub
    requests.clear()
    before = runtime.loaded_sessions()  # another file on this worker may have left its own model loaded
    models = lab.resolve_models([_key("repairable", base_url), _key("retry", base_url), _key("broken", base_url),
                                 UNAVAILABLE])
    plan = lab.new_run("estimand-card", CASE_IDS, models, settings=DecodingSettings(max_new_tokens=700))
    run = lab.latest_run(lab.run_lab(None, plan, cases))
    assert run["status"] == "complete"
    summary = lab.summarize(run).set_index("label")
    expected_mean = sum(_expected_share(cases[c]) for c in CASE_IDS) / 2
    assert 0.5 < expected_mean < 1.0  # the retention card fits retention better than support

    repairable = summary.loc[f"repairable @ {base_url}"]
    assert (repairable["cases"], repairable["schema_valid_cases"], repairable["schema_repaired_cases"]) == (2, 2, 2)
    assert repairable["schema_reliability"] == 1.0
    assert repairable["mean_score"] == pytest.approx(expected_mean)

    retry = summary.loc[f"retry @ {base_url}"]
    assert (retry["cases"], retry["schema_valid_cases"], retry["schema_repaired_cases"]) == (2, 2, 2)
    assert retry["mean_score"] == pytest.approx(expected_mean)

    broken = summary.loc[f"broken @ {base_url}"]
    assert (broken["cases"], broken["schema_valid_cases"], broken["schema_repaired_cases"]) == (2, 0, 0)
    assert broken["schema_reliability"] == 0.0
    assert broken["mean_score"] == 0.0
    assert broken["failure_types"] == ["invalid_json_or_truncated_output"]

    results = lab.case_results(run)
    failed = results[results["status"] == "failed"]
    assert failed["score"].tolist() == [0, 0] and failed["score_share"].tolist() == [0.0, 0.0]
    rubric_size = score_of(question.ESTIMAND_TASK.score(_draft(), cases["retention"].project,
                                                        cases["retention"].frame))[1]
    assert failed["max_score"].tolist() == [rubric_size, rubric_size]  # 0 of n, never NaN
    assert failed["raw_output_preview"].tolist() == ["Sorry, I cannot produce JSON for this request."] * 2
    assert set(failed["failure_type"]) <= set(FAILURE_TYPES)
    assert not results.drop(columns=["error", "failure_type"]).isna().any().any()

    stages = dict(zip(*lab.repair_stage_counts(run).to_dict(orient="list").values(), strict=True))
    assert stages == {"parser": 2, "model_retry": 2, "failed": 2}
    assert lab.failed_runs(run)["model_id"].tolist() == [_key("broken", base_url)] * 2

    # the broken model got its one repair retry per case; nothing was sent for the unavailable model
    assert len(_requests_for(requests, "broken")) == 4
    assert sum(_is_repair_request(r) for r in _requests_for(requests, "broken")) == 2
    assert len(_requests_for(requests, "repairable")) == 2
    assert lab.unavailable_models(run)[0]["model_id"] == UNAVAILABLE
    assert lab.unavailable_models(run)[0]["fetch_command"] == f"hf download {UNAVAILABLE}"
    assert runtime.loaded_sessions() == before  # every model the lab loaded is unloaded after its cases


def test_resume_after_interruption_with_the_real_runtime(stub, cases):
    base_url, requests = stub
    requests.clear()
    models = lab.resolve_models([_key("repairable", base_url), _key("broken", base_url)])
    plan = lab.new_run("estimand-card", CASE_IDS, models, max_in_flight=1)  # one server: strictly one at a time
    records_seen: list[int] = []

    def after_first_case() -> bool:
        return bool(records_seen) and records_seen[-1] >= 1

    def on_update(state: dict) -> None:
        records_seen.append(len(lab.latest_run(state)["records"]))

    stopped = lab.run_lab(None, plan, cases, should_stop=after_first_case, on_update=on_update)
    run = lab.latest_run(stopped)
    assert run["status"] == "stopped" and len(run["records"]) == 1
    assert len(requests) == 1
    resumed = lab.latest_run(lab.run_lab(stopped, run, cases))
    keys = [(r["model_id"], r["case_id"], r["repeat"]) for r in resumed["records"]]
    assert resumed["status"] == "complete"
    assert len(keys) == len(set(keys)) == 4
    assert len(_requests_for(requests, "repairable")) == 2  # the first case was not re-run
    assert len(_requests_for(requests, "broken")) == 4
    summary = lab.summarize(resumed).set_index("label")
    assert summary.loc[f"repairable @ {base_url}", "schema_reliability"] == 1.0
    assert summary.loc[f"broken @ {base_url}", "mean_score"] == 0.0


def _cli(*argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "causal_core", "lab", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def test_cli_end_to_end_with_a_stub_endpoint(stub, build_once, monkeypatch, capsys):
    """In process (`python -m causal_core lab` runs this `main`; the subprocess tests below check the exit status
    and stderr of a real interpreter), with the run's one build of the retention case."""
    from causal_core.cli import main

    base_url, _ = stub
    monkeypatch.setattr("causal_core.headless.build_project", build_once)
    code = main(["lab", "--task", "estimand-card", "--models", f"{_key('broken', base_url)},{UNAVAILABLE}",
                 "--cases", "retention", "--format", "json", "--quiet"])
    done = capsys.readouterr()
    assert code == 0, done.err
    payload = json.loads(done.out)
    assert payload["summary"] == [{
        "label": f"broken @ {base_url}", "model_id": _key("broken", base_url), "role": "OpenAI-compatible endpoint",
        "cases": 1, "schema_valid_cases": 0, "schema_repaired_cases": 0, "schema_reliability": 0.0,
        "mean_score": 0.0, "failure_types": ["invalid_json_or_truncated_output"], "truncated_cases": 0,
        "mean_tokens_per_s": payload["summary"][0]["mean_tokens_per_s"],
        "mean_duration_s": payload["summary"][0]["mean_duration_s"],
    }]
    assert [(c["case_id"], c["status"], c["score"], c["score_share"]) for c in payload["cases"]] == [
        ("retention", "failed", 0, 0.0)]
    assert payload["unavailable"][0]["model_id"] == UNAVAILABLE
    assert "hf download" in payload["unavailable"][0]["reason"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--task", "poem", "--models", "bundled"], "error: unknown task 'poem'"),
        (["--task", "dag", "--models", "bundeld"], "error: unknown model 'bundeld'"),
    ],
)
def test_cli_unknown_task_or_model_exits_2(argv, message):
    done = _cli(*argv)
    assert done.returncode == 2
    assert done.stderr.startswith(message) and done.stderr.count("\n") == 1
    assert done.stdout == ""


def test_page_with_the_real_registry_and_a_stub_endpoint(stub):
    base_url, requests = stub
    requests.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at.switch_page("app_pages/model_lab.py").run()
    assert not at.exception
    registry = at.dataframe[0].value
    assert "bundled" in registry["key"].tolist()
    assert registry.set_index("key").loc[UNAVAILABLE, "fetch_command"] == f"hf download {UNAVAILABLE}"
    at.multiselect(key="lab_models").set_value([UNAVAILABLE]).run()
    at.multiselect(key="lab_cases").set_value(["retention"]).run()
    at.text_input(key="lab_extra_model").set_value(_key("repairable", base_url)).run()
    at.button(key="lab_run").click().run()
    assert not at.exception
    run = lab.latest_run(at.session_state["cw_projects"][at.session_state["cw_active"]].lab)
    assert run["status"] == "complete"
    assert [(r["model_id"], r["repair_stage"]) for r in run["records"]] == [(_key("repairable", base_url), "parser")]
    summary = lab.summarize(run)
    assert summary.loc[0, "schema_repaired_cases"] == 1
    assert summary.loc[0, "mean_score"] == pytest.approx(_expected_share(lab.builtin_case("retention")))
    assert lab.unavailable_models(run)[0]["model_id"] == UNAVAILABLE
    assert len(requests) == 1


@pytest.mark.slow
def test_bundled_model_one_small_run():
    """SmolLM2-135M on CPU (~17 tokens/s): one estimand card on retention. Whatever the model does, the
    lab's numbers must agree with the record: reliability = valid/1, score share = score/n or 0."""
    case = lab.builtin_case("retention")
    models = lab.resolve_models(["bundled"])
    assert models[0]["available"], models[0]["reason"]
    plan = lab.new_run("estimand-card", ["retention"], models, settings=DecodingSettings(max_new_tokens=700))
    run = lab.latest_run(lab.run_lab(None, plan, {"retention": case}))
    assert run["status"] == "complete"
    (record,) = run["records"]
    summary = lab.summarize(run).iloc[0]
    assert summary["cases"] == 1
    assert summary["schema_valid_cases"] == int(record["schema_valid"])
    assert summary["schema_reliability"] == float(record["schema_valid"])
    assert record["new_tokens"] > 0 and record["tokens_per_s"] > 0
    rubric_size = score_of(question.ESTIMAND_TASK.score(_draft(), case.project, case.frame))[1]
    assert record["max_score"] == rubric_size
    if record["schema_valid"]:
        assert summary["mean_score"] == pytest.approx(record["score"] / rubric_size)
        assert record["repair_stage"] in ("none", "parser", "model_retry")
    else:
        assert (record["score"], record["score_share"], summary["mean_score"]) == (0, 0.0, 0.0)
        assert record["failure_type"] in FAILURE_TYPES
        assert summary["failure_types"] == [record["failure_type"]]
    assert runtime.loaded_sessions() == []
