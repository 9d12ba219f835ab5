"""OpenAI-compatible endpoint backend against the local stub server (tests/openai_stub.py)."""

from __future__ import annotations

import json
import socket

import pytest
from pydantic import BaseModel, Field

from causal_core import runtime
from causal_core.runtime import registry
from causal_core.structured import DecodingSettings, StructuredTask
from tests.openai_stub import StubHTTPError, start_stub


class Card(BaseModel):
    treatment: str = Field(max_length=80)
    outcome: str = Field(max_length=80)
    threats: list[str] = Field(max_length=3)


TASK = StructuredTask(name="card", artifact="card", system_prompt="You write estimand cards as JSON.",
                      build_user_prompt=lambda inputs: f"Brief: {inputs['brief']}", schema=Card,
                      field_aliases={"intervention": "treatment"})
GOOD = {"treatment": "proactive outreach", "outcome": "90-day churn", "threats": ["targeting of risky accounts"]}


@pytest.fixture
def stub():
    """start(reply) -> (model key, recorded requests); servers are stopped after the test."""
    stops = []

    def start(reply, **options):
        requests: list[dict] = []
        base_url, stop = start_stub(reply, record=requests, model_names=["qwen-7b"], **options)
        stops.append(stop)
        return registry.endpoint_key("qwen-7b", base_url), requests

    yield start
    for stop in stops:
        stop()


def test_valid_answer_with_json_schema_response_format(stub, monkeypatch):
    monkeypatch.setenv("CW_ENDPOINT_API_KEY", "sk-test-secret")
    key, requests = stub(lambda request: json.dumps(GOOD))
    settings = DecodingSettings(temperature=0.2, top_p=0.9, max_new_tokens=300, seed=11)
    interaction = runtime.run_task(TASK, {"brief": "Did outreach reduce churn?"}, key, settings)
    assert interaction.schema_valid and interaction.parsed == GOOD
    assert (interaction.backend, interaction.device, interaction.repair_stage) == ("openai_endpoint", "remote", "none")
    sent = requests[0]
    assert sent["model"] == "qwen-7b"
    assert sent["messages"] == [{"role": "system", "content": "You write estimand cards as JSON."},
                                {"role": "user", "content": "Brief: Did outreach reduce churn?"}]
    assert (sent["temperature"], sent["top_p"], sent["max_tokens"], sent["seed"]) == (0.2, 0.9, 300, 11)
    schema = sent["response_format"]["json_schema"]
    assert sent["response_format"]["type"] == "json_schema" and schema["name"] == "Card"
    assert schema["schema"]["required"] == ["treatment", "outcome", "threats"]
    assert sent["_headers"]["authorization"] == "Bearer sk-test-secret"
    assert "sk-test-secret" not in interaction.model_dump_json()  # never stored in the project/log
    assert interaction.new_tokens > 0


def test_streaming_reaches_on_text_and_matches_raw_output(stub):
    key, requests = stub(lambda request: "```json\n" + json.dumps(GOOD, indent=1) + "\n```")
    pieces: list[str] = []
    interaction = runtime.run_task(TASK, {"brief": "b"}, key, on_text=pieces.append)
    assert requests[0]["stream"] is True
    assert "".join(pieces) == interaction.raw_output
    assert interaction.parsed == GOOD
    assert interaction.repair_stage == "parser" and "stripped markdown code fences" in interaction.parser_notes


def test_invalid_answer_gets_one_model_retry_with_the_repair_prompt(stub):
    answers = iter(["I think the treatment is outreach.", json.dumps({"intervention": "outreach", "outcome": "churn",
                                                                      "threats": []})])
    key, requests = stub(lambda request: next(answers))
    interaction = runtime.run_task(TASK, {"brief": "b"}, key)
    assert len(requests) == 2
    retry_prompt = requests[1]["messages"][1]["content"]
    assert "could not be parsed as the required Card JSON schema" in retry_prompt
    assert "I think the treatment is outreach." in retry_prompt and "no JSON object" in retry_prompt
    assert interaction.schema_valid and interaction.repair_stage == "model_retry"
    assert interaction.parsed == {"treatment": "outreach", "outcome": "churn", "threats": []}
    assert interaction.parser_notes[0] == "first_parse_error: invalid_json_or_truncated_output"
    assert "mapped field alias 'intervention' -> 'treatment'" in interaction.parser_notes
    assert interaction.raw_output == "I think the treatment is outreach."
    assert interaction.repair_raw_output.startswith('{"intervention"')


def test_both_attempts_invalid_is_a_classified_failure(stub):
    key, _ = stub(lambda request: json.dumps({"treatment": "outreach"}))
    interaction = runtime.run_task(TASK, {"brief": "b"}, key)
    assert not interaction.schema_valid and interaction.parsed is None
    assert interaction.repair_stage == "failed" and interaction.failure_type == "missing_required_field"
    assert "outcome: Field required" in interaction.error


def test_server_without_json_schema_support_is_retried_without_it(stub):
    def reply(request):
        if "response_format" in request:
            raise StubHTTPError(400, "response_format json_schema is not supported by this server")
        return json.dumps(GOOD)

    key, requests = stub(reply)
    interaction = runtime.run_task(TASK, {"brief": "b"}, key)
    assert interaction.schema_valid
    assert "response_format" in requests[0] and "response_format" not in requests[1]
    assert any("rejected the json_schema response_format" in note for note in interaction.parser_notes)


def test_length_finish_reason_is_truncation(stub):
    key, _ = stub(lambda request: {"content": '{"treatment": "outreach", "outcome": "ch', "finish_reason": "length"})
    interaction = runtime.run_task(TASK, {"brief": "b"}, key, DecodingSettings(repair_retry=False))
    assert interaction.truncated and interaction.failure_type == "invalid_json_or_truncated_output"


def test_server_errors_and_unreachable_endpoints_are_model_errors(stub):
    key, _ = stub(lambda request: "", status=500)
    interaction = runtime.run_task(TASK, {"brief": "b"}, key)
    assert interaction.failure_type == "model_error" and "HTTP 500" in interaction.error
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dead = registry.endpoint_key("qwen-7b", f"http://127.0.0.1:{port}/v1")
    interaction = runtime.run_task(TASK, {"brief": "b"}, dead)
    assert interaction.failure_type == "model_error" and "unreachable" in interaction.error
    assert runtime.list_models([dead])[-1].available is False


def test_empty_answer_is_empty_output(stub):
    key, _ = stub(lambda request: "")
    interaction = runtime.run_task(TASK, {"brief": "b"}, key, DecodingSettings(repair_retry=False))
    assert interaction.failure_type == "empty_output"


def test_endpoint_availability_probe(stub, monkeypatch):
    key, _ = stub(lambda request: "{}")
    info = runtime.list_models([key])[-1]
    assert (info.source, info.available, info.device) == ("endpoint", True, "remote")
    assert info.reason == "endpoint reachable, serving qwen-7b"
    model, base_url = registry.parse_endpoint_key(key)
    other = registry.describe(registry.endpoint_key("llama-70b", base_url))
    assert not other.available and "not llama-70b" in other.reason
    monkeypatch.setenv("CW_ENDPOINT_BASE_URL", base_url)
    monkeypatch.setenv("CW_ENDPOINT_MODEL", "qwen-7b")
    assert runtime.list_models()[-1].key == key  # configured for the whole app via the environment
