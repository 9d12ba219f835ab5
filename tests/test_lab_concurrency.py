"""Model lab on several endpoints at once (one stub server per ladder model), bounded in flight per server."""

from __future__ import annotations

import json
import threading
import time

import pytest

from causal_core import lab_bench as lab
from causal_core import question
from causal_core.ai.structured import DecodingSettings
from causal_core.lab_bench import endpoints as lab_endpoints
from causal_core.runtime import registry
from tests.openai_stub import start_stub

CASE_IDS = ["retention"]  # built once per module (the slow part here)
TOKEN_DELAY = 0.004  # seconds per streamed chunk


def _draft_text() -> str:
    card = question.example_card("retention").model_dump()
    return json.dumps({name: card[name] for name in question.EstimandCardDraft.model_fields})


@pytest.fixture(scope="module")
def cases(build_once):
    with pytest.MonkeyPatch.context() as patch:  # the run's one build of each worked example (tests/conftest.py)
        patch.setattr("causal_core.headless.build_project", build_once)
        return {case_id: lab.builtin_case(case_id) for case_id in CASE_IDS}


@pytest.fixture
def servers():
    """start(name, reply) -> (model dict, requests, stats); one stub server per model, like a course's vLLMs."""
    stops = []

    def start(name, reply=None, **options):
        requests: list[dict] = []
        stats: dict[str, int] = {}
        base_url, stop = start_stub(reply or (lambda request: _draft_text()), record=requests, model_names=[name],
                                    token_delay=TOKEN_DELAY, stats=stats, **options)
        stops.append(stop)
        key = registry.endpoint_key(name, base_url)
        model = {"key": key, "label": name, "role": "endpoint", "source": "endpoint", "available": True}
        return model, requests, stats

    yield start
    for stop in stops:
        stop()


def test_endpoints_run_concurrently_and_the_bound_holds(servers, cases):
    started = [servers(name) for name in ("qwen-7b", "qwen-14b", "mistral-7b")]
    models = [model for model, _, _ in started]
    plan = lab.new_run("estimand-card", CASE_IDS, models, repeats=6, max_in_flight=2,
                       settings=DecodingSettings(max_new_tokens=900))
    clock = time.perf_counter()
    run = lab.latest_run(lab.run_lab(None, plan, cases))
    elapsed = time.perf_counter() - clock
    assert run["status"] == "complete" and len(run["records"]) == 3 * 6
    assert all(record["status"] == "ok" for record in run["records"])
    for _, requests, stats in started:
        assert len(requests) == 6
        assert stats["peak_in_flight"] == 2  # concurrency happened, and never more than the bound per server
    one_call = max(record["duration_s"] for record in run["records"])
    # 18 calls one after another would take >= 18 x the fastest call; 3 servers x 2 slots give ~3 x
    fastest = min(record["duration_s"] for record in run["records"])
    assert elapsed < 18 * fastest / 2, (elapsed, fastest, one_call)
    # records come back in plan order whatever order the servers finished in
    assert [(r["model_id"], r["case_id"], r["repeat"]) for r in run["records"]] == lab.planned_keys(run)


def test_a_bound_of_one_is_sequential_per_server(servers, cases):
    model, requests, stats = servers("qwen-7b")
    plan = lab.new_run("estimand-card", CASE_IDS, [model], repeats=3, max_in_flight=1)
    run = lab.latest_run(lab.run_lab(None, plan, cases))
    assert run["status"] == "complete" and stats["peak_in_flight"] == 1 and len(requests) == 3


def test_stop_cancels_queued_cases_and_resume_completes_without_duplicates(servers, cases):
    model, requests, _ = servers("qwen-7b")
    plan = lab.new_run("estimand-card", CASE_IDS, [model], repeats=8, max_in_flight=2)
    seen: list[int] = []
    stopped = lab.run_lab(None, plan, cases, should_stop=lambda: bool(seen),
                          on_update=lambda state: seen.append(len(lab.latest_run(state)["records"])))
    run = lab.latest_run(stopped)
    assert run["status"] == "stopped"
    assert 1 <= len(run["records"]) <= 2  # the one that finished, and at most the other one in flight
    assert len(requests) == 2  # the two in flight at the stop; queued cases were never sent
    resumed = lab.latest_run(lab.run_lab(stopped, run, cases))
    assert resumed["status"] == "complete" and len(resumed["records"]) == 8
    assert len({(r["case_id"], r["repeat"]) for r in resumed["records"]}) == 8


def test_truncated_answers_are_counted_separately_and_score_zero(servers, cases):
    cut = _draft_text()[:120]
    model, _, _ = servers("tiny", reply=lambda request: {"content": cut, "finish_reason": "length"})
    plan = lab.new_run("estimand-card", CASE_IDS, [model], settings=DecodingSettings(repair_retry=False))
    run = lab.latest_run(lab.run_lab(None, plan, cases))
    summary = lab.summarize(run).iloc[0]
    assert (summary["cases"], summary["schema_valid_cases"], summary["truncated_cases"]) == (1, 0, 1)
    assert summary["failure_types"] == ["truncated"] and summary["mean_score"] == 0.0
    assert run["records"][0]["error"].startswith("truncated output: generation stopped at max_new_tokens")


def test_a_session_key_reaches_the_lab_workers(servers, cases):
    """The worker threads run under the caller's context: the key typed in this session goes with them."""
    from causal_core.runtime import endpoint

    model, requests, _ = servers("qwen-7b", api_key="sk-mine")
    base_url = registry.parse_endpoint_key(model["key"])[1]
    endpoint.use_session_keys({base_url: "sk-mine"})
    try:
        run = lab.latest_run(lab.run_lab(None, lab.new_run("estimand-card", ["retention"], [model]), cases))
    finally:
        endpoint.use_session_keys({})
    assert run["records"][0]["status"] == "ok"
    assert requests[0]["_headers"]["authorization"] == "Bearer sk-mine"
    assert threading.current_thread() is threading.main_thread()


def test_in_flight_bound_is_clamped():
    assert lab_endpoints.bounded_in_flight(0) == 1
    assert lab_endpoints.bounded_in_flight("9999") == lab_endpoints.MAX_IN_FLIGHT
    assert lab_endpoints.bounded_in_flight(None) == lab_endpoints.DEFAULT_IN_FLIGHT
    assert lab_endpoints.server_of("bundled") == ""
    assert lab_endpoints.server_of("endpoint:q@http://u:p@h:8000/v1/") == ""  # credentials in a URL: refused (issue 21)


def test_credentials_in_lab_endpoint_keys_never_reach_the_results(servers, cases):
    """Issue 18 §4: endpoint:<model>@http://user:pass@host/v1 typed into the lab is stored without user:pass."""
    model, requests, _ = servers("qwen-7b")
    base_url = registry.parse_endpoint_key(model["key"])[1]
    typed = f"endpoint:qwen-7b@{base_url.replace('http://', 'http://bob:s3cret-pw@')}"
    resolved = lab.resolve_models([typed], known=[])
    assert resolved[0]["key"] == model["key"]
    state = lab.run_lab(None, lab.new_run("estimand-card", CASE_IDS, resolved), cases)
    saved = json.dumps(state, default=str)
    assert lab.latest_run(state)["records"][0]["status"] == "ok" and "s3cret" not in saved and "bob" not in saved
    assert "authorization" not in requests[0]["_headers"]  # nor were they sent as a key
    with pytest.raises(lab.LabError, match="bad endpoint key 'endpoint:qwen-7b@ftp://h/v1'"):
        lab.resolve_models(["endpoint:qwen-7b@ftp://bob:s3cret-pw@h/v1"], known=[])
