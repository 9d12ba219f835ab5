"""OpenAI-compatible endpoint backend against the stub (tests/openai_stub.py), one server's behaviour at a time."""

from __future__ import annotations

import json
import socket

import pytest
from pydantic import BaseModel, Field

from causal_core import runtime
from causal_core.ai.structured import DecodingSettings, StructuredTask
from causal_core.runtime import endpoint, endpoint_policy, registry
from tests.openai_stub import StubHTTPError, _chunks, start_stub


class Card(BaseModel):
    treatment: str = Field(max_length=80)
    outcome: str = Field(max_length=80)
    threats: list[str] = Field(max_length=3)


TASK = StructuredTask(name="card", artifact="card", system_prompt="You write estimand cards as JSON.",
                      build_user_prompt=lambda inputs: f"Brief: {inputs['brief']}", schema=Card,
                      field_aliases={"intervention": "treatment"})
GOOD = {"treatment": "proactive outreach", "outcome": "90-day churn", "threats": ["targeting of risky accounts"]}
NO_RETRY = DecodingSettings(repair_retry=False)


@pytest.fixture
def stub():
    """start(reply, **options) -> (model key, recorded requests); servers are stopped after the test."""
    stops = []

    def start(reply, **options):
        requests: list[dict] = []
        options.setdefault("model_names", ["qwen-7b"])
        base_url, stop = start_stub(reply, record=requests, **options)
        stops.append(stop)
        return registry.endpoint_key("qwen-7b", base_url), requests

    yield start
    for stop in stops:
        stop()


def _base(key: str) -> str:
    return registry.parse_endpoint_key(key)[1]


def test_valid_answer_with_json_schema_response_format(stub, monkeypatch):
    key, requests = stub(lambda request: json.dumps(GOOD))
    monkeypatch.setenv("CW_ENDPOINT_BASE_URL", _base(key))
    monkeypatch.setenv("CW_ENDPOINT_API_KEY", "sk-test-secret")
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
    assert sent["_headers"]["authorization"] == "Bearer sk-test-secret"  # the configured endpoint gets the key
    assert "sk-test-secret" not in interaction.model_dump_json()  # never stored in the project/log
    assert "generation: endpoint took response_format json_schema" in interaction.parser_notes
    assert interaction.new_tokens == len(_chunks(json.dumps(GOOD)))  # the server's usage.completion_tokens


@pytest.mark.parametrize("server", ["vllm", "ollama", "lmstudio"])
def test_json_schema_servers_stream_their_own_chunk_format(stub, server):
    answer = "```json\n" + json.dumps(GOOD, indent=1) + "\n```"
    key, requests = stub(lambda request: answer, server=server)
    pieces: list[str] = []
    interaction = runtime.run_task(TASK, {"brief": "b"}, key, on_text=pieces.append)
    assert requests[0]["stream"] is True and requests[0]["stream_options"] == {"include_usage": True}
    assert len(requests) == 1 and requests[0]["response_format"]["type"] == "json_schema"
    assert "".join(pieces) == interaction.raw_output
    assert interaction.parsed == GOOD
    assert interaction.repair_stage == "parser" and "stripped markdown code fences" in interaction.parser_notes
    assert "generation: new_tokens from the stream's usage chunk" in interaction.parser_notes
    assert interaction.new_tokens == len(_chunks(answer))  # the usage chunk's count, not the client's


def test_llama_cpp_python_500_falls_back_to_json_object_with_schema(stub):
    """llama-cpp-python 0.3.x answers json_schema with HTTP 500 (its pydantic Literal['text','json_object'])."""
    key, requests = stub(lambda request: json.dumps(GOOD), server="llamacpp")
    pieces: list[str] = []
    interaction = runtime.run_task(TASK, {"brief": "b"}, key, on_text=pieces.append)
    assert interaction.schema_valid and interaction.parsed == GOOD
    assert [r["response_format"]["type"] for r in requests] == ["json_schema", "json_object"]
    assert requests[1]["response_format"]["schema"]["required"] == ["treatment", "outcome", "threats"]
    note = next(note for note in interaction.parser_notes if "took response_format" in note)
    assert note.startswith("generation: endpoint took response_format json_object+schema after json_schema refused "
                           "(HTTP 500:")
    assert "Input should be 'text' or 'json_object'" not in note  # a reply body is never shown
    assert note.endswith("(HTTP 500: Internal Server Error)")
    assert "new_tokens counted from stream chunks" in " ".join(interaction.parser_notes)  # no usage chunk there
    assert endpoint.accepted_form(_base(key)) == "json_object+schema"
    runtime.run_task(TASK, {"brief": "again"}, key)  # the server's form is remembered: no refused request
    assert requests[2]["response_format"]["type"] == "json_object" and len(requests) == 3


def test_a_server_refusing_every_response_format_gets_none(stub):
    key, requests = stub(lambda request: json.dumps(GOOD), server="plain")
    interaction = runtime.run_task(TASK, {"brief": "b"}, key)
    assert interaction.schema_valid
    assert [r.get("response_format", {}).get("type") for r in requests] == ["json_schema", "json_object", None]
    assert any("took response_format none after json_schema refused" in note for note in interaction.parser_notes)


def test_a_refusal_not_about_the_format_is_not_retried(stub):
    def reply(request):
        raise StubHTTPError(400, "messages: too many tokens in the prompt")

    key, requests = stub(reply)
    interaction = runtime.run_task(TASK, {"brief": "b"}, key, NO_RETRY)
    assert len(requests) == 1 and interaction.failure_type == "model_error"
    assert interaction.error == f"{_base(key)}/chat/completions answered HTTP 400: Bad Request"


def test_the_operator_configured_server_may_explain_its_errors(stub, monkeypatch):
    """The class URL (on the allow-list) is trusted to speak: its JSON error.message is shown; others are not."""
    def reply(request):
        raise StubHTTPError(400, "messages: too many tokens in the prompt")

    key, _requests = stub(reply)
    monkeypatch.setenv("CW_ENDPOINT_BASE_URL", _base(key))
    interaction = runtime.run_task(TASK, {"brief": "b"}, key, NO_RETRY)
    assert interaction.error == f"{_base(key)}/chat/completions answered HTTP 400: messages: too many tokens in the prompt"


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
    assert "first_parse_error: invalid_json_or_truncated_output" in interaction.parser_notes
    assert "mapped field alias 'intervention' -> 'treatment'" in interaction.parser_notes
    assert interaction.raw_output == "I think the treatment is outreach."
    assert interaction.repair_raw_output.startswith('{"intervention"')


def test_both_attempts_invalid_is_a_classified_failure(stub):
    key, _ = stub(lambda request: json.dumps({"treatment": "outreach"}))
    interaction = runtime.run_task(TASK, {"brief": "b"}, key)
    assert not interaction.schema_valid and interaction.parsed is None
    assert interaction.repair_stage == "failed" and interaction.failure_type == "missing_required_field"
    assert "outcome: Field required" in interaction.error


@pytest.mark.parametrize("stream", [False, True])
def test_length_finish_reason_is_truncated_never_repaired(stub, stream):
    """json-repair could close this object into a valid Card; a cut-off answer must not score as valid."""
    cut = '{"treatment": "outreach", "outcome": "churn", "threats": ["targeting'
    key, _ = stub(lambda request: {"content": cut, "finish_reason": "length"})
    interaction = runtime.run_task(TASK, {"brief": "b"}, key, NO_RETRY, on_text=(lambda _: None) if stream else None)
    assert interaction.truncated and not interaction.schema_valid and interaction.parsed is None
    assert interaction.failure_type == "truncated"
    assert "generation: finish_reason=length: the server stopped at max_tokens" in interaction.parser_notes


def test_server_errors_show_the_status_and_url_not_the_body(stub):
    key, _ = stub(lambda request: "", status=500)
    interaction = runtime.run_task(TASK, {"brief": "b"}, key)
    assert interaction.failure_type == "model_error"
    assert interaction.error == f"{_base(key)}/chat/completions answered HTTP 500: Internal Server Error"


def test_empty_answer_is_empty_output(stub):
    key, _ = stub(lambda request: "")
    interaction = runtime.run_task(TASK, {"brief": "b"}, key, NO_RETRY)
    assert interaction.failure_type == "empty_output"


def test_endpoint_availability_probe_lists_served_models(stub, monkeypatch):
    key, _ = stub(lambda request: "{}", model_names=["qwen-7b", "llama-8b"])
    info = registry.describe(key)
    assert (info.source, info.available, info.device) == ("endpoint", True, "remote")
    assert info.reason == "endpoint reachable, serving qwen-7b"
    base_url = _base(key)
    assert endpoint.served_models(base_url) == ["qwen-7b", "llama-8b"]
    other = registry.describe(registry.endpoint_key("llama-70b", base_url))
    assert not other.available
    assert other.reason == f"{base_url} does not serve llama-70b; it serves: qwen-7b, llama-8b"
    monkeypatch.setenv("CW_ENDPOINT_BASE_URL", base_url)
    monkeypatch.setenv("CW_ENDPOINT_MODEL", "qwen-7b")
    assert registry.configured_endpoint() == key  # configured for the whole app via the environment


# ------------------------------------------------------------------------------------------- bad inputs


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_bad_input_endpoint_down():
    dead = registry.endpoint_key("qwen-7b", f"http://127.0.0.1:{_free_port()}/v1")
    interaction = runtime.run_task(TASK, {"brief": "b"}, dead)
    assert interaction.failure_type == "model_error" and interaction.parsed is None
    assert interaction.error == f"Endpoint {_base(dead)}/chat/completions: could not reach the endpoint."
    assert registry.describe(dead).available is False


def test_bad_input_endpoint_returns_html(stub):
    page = "<!DOCTYPE html><html><body><h1>Welcome to nginx!</h1></body></html>"
    key, _ = stub(lambda request: {"raw": page, "content_type": "text/html"})
    interaction = runtime.run_task(TASK, {"brief": "b"}, key)
    assert interaction.failure_type == "model_error"
    assert interaction.error == (f"Endpoint {_base(key)}/chat/completions returned an HTML page, not an OpenAI JSON "
                                 "response (is the base URL right? it usually ends in /v1)")


def test_bad_input_200_with_empty_choices(stub):
    key, _ = stub(lambda request: {"choices": []})
    interaction = runtime.run_task(TASK, {"brief": "b"}, key)
    assert interaction.failure_type == "model_error"
    assert interaction.error.endswith("answered 200 with an empty choices list: the server produced no completion")


def test_bad_input_stream_cut_mid_json_is_not_repaired(stub):
    key, _ = stub(lambda request: {"content": json.dumps(GOOD), "cut_after": 3})
    seen: list[str] = []
    interaction = runtime.run_task(TASK, {"brief": "b"}, key, NO_RETRY, on_text=seen.append)
    assert "".join(seen) == '{"treatment": "proactive outreach", '  # three chunks arrived, then the socket closed
    assert interaction.failure_type == "model_error" and interaction.parsed is None
    assert interaction.error == (f"Endpoint {_base(key)}/chat/completions closed the stream mid-answer after 36 "
                                 "characters, without a finish_reason or [DONE]; the partial answer was discarded, "
                                 "not repaired")


@pytest.mark.parametrize(("server", "message"), [
    ("vllm", "The model `mistral-7b` does not exist."),
    ("ollama", 'model "mistral-7b" not found, try pulling it first'),
])
def test_bad_input_model_not_served_lists_the_served_ones(stub, server, message):
    key, _ = stub(lambda request: "{}", server=server, model_names=["qwen-7b", "llama-8b"])
    wrong = registry.endpoint_key("mistral-7b", _base(key))
    interaction = runtime.run_task(TASK, {"brief": "b"}, wrong)
    assert interaction.failure_type == "model_error"
    assert message not in interaction.error  # the server's words are not shown; the served list is ours
    assert interaction.error == (f"{_base(key)}/chat/completions answered HTTP 404: Not Found: the server does not "
                                 "serve mistral-7b. It serves: qwen-7b, llama-8b.")


@pytest.mark.parametrize(("server", "body"), [("vllm", "Unauthorized"), ("llamacpp", "Invalid API key")])
def test_bad_input_api_key_missing_401(stub, monkeypatch, server, body):
    key, requests = stub(lambda request: json.dumps(GOOD), server=server, api_key="sk-class")
    monkeypatch.setenv("CW_ENDPOINT_BASE_URL", _base(key))
    monkeypatch.delenv("CW_ENDPOINT_API_KEY", raising=False)
    interaction = runtime.run_task(TASK, {"brief": "b"}, key)
    assert len(requests) == 1 and interaction.failure_type == "model_error"  # a 401 is not a format refusal
    assert interaction.error == (f"{_base(key)}/chat/completions answered HTTP 401: {body}. "
                                 "Set CW_ENDPOINT_API_KEY to the server's key.")
    info = registry.describe(key)
    assert not info.available  # a probe never shows the body, even the class server's
    assert info.reason.endswith("/models answered HTTP 401: Unauthorized. Set CW_ENDPOINT_API_KEY to the server's key.")
    monkeypatch.setenv("CW_ENDPOINT_API_KEY", "sk-class")
    assert runtime.run_task(TASK, {"brief": "b"}, key).schema_valid


# ------------------------------------------------------------------------------ keys and credentials


@pytest.mark.parametrize(("url", "gets_class_key"), [
    ("http://gpu.example:8000/v1", True),
    ("HTTP://GPU.example:8000/v1/", True),  # scheme and host are case-insensitive
    ("http://gpu.example:8000/other", True),  # same origin, another path
    ("https://gpu.example:8000/v1", False),  # another scheme
    ("http://gpu.example:8001/v1", False),  # another port
    ("http://gpu.example/v1", False),  # port 80, not 8000
    ("http://gpu.example.evil.test:8000/v1", False),
    ("http://evil.test:8000/v1?u=http://gpu.example:8000", False),
])
def test_the_class_key_goes_only_to_the_configured_origin(monkeypatch, url, gets_class_key):
    monkeypatch.setenv("CW_ENDPOINT_BASE_URL", "http://gpu.example:8000/v1")
    monkeypatch.setenv("CW_ENDPOINT_API_KEY", "sk-class")
    assert (endpoint.api_key_for(url) == "sk-class") is gets_class_key
    assert endpoint_policy.same_origin("https://h/v1", "https://h:443/v1")  # default ports are filled in


def test_a_typed_key_goes_only_to_its_endpoint_and_is_forgotten_with_the_session(monkeypatch):
    monkeypatch.delenv("CW_ENDPOINT_API_KEY", raising=False)
    endpoint.use_session_keys({"http://mine.test:9000/v1": "sk-mine", "http://empty.test/v1": ""})
    try:
        assert endpoint.api_key_for("http://mine.test:9000/v1/chat/completions") == "sk-mine"
        assert endpoint.api_key_for("http://other.test:9000/v1") == ""
        assert endpoint.api_key_for("http://empty.test/v1") == ""
    finally:
        endpoint.use_session_keys({})
    assert endpoint.api_key_for("http://mine.test:9000/v1") == ""


def test_credentials_are_stripped_from_urls_and_keys():
    assert registry.strip_credentials("http://user:p%40ss@host:8000/v1") == "http://host:8000/v1"
    assert registry.strip_credentials("https://token@host/v1") == "https://host/v1"
    assert registry.strip_credentials("http://host:8000/v1") == "http://host:8000/v1"
    key = registry.endpoint_key("qwen", "http://user:secret@host:8000/v1/")
    assert key == "endpoint:qwen@http://host:8000/v1"
    assert registry.normalise_key("endpoint:qwen@http://user:secret@host:8000/v1") == key
    with pytest.raises(ValueError, match="user name or password") as caught:  # refused, not silently repaired
        registry.parse_endpoint_key("endpoint:qwen@http://user:secret@host:8000/v1")
    assert "secret" not in str(caught.value)
    assert registry.normalise_key("bundled") == "bundled"


def test_unreachable_error_never_shows_credentials():
    url = f"http://alice:s3cret@127.0.0.1:{_free_port()}/v1"
    with pytest.raises(registry.ModelUnavailable) as caught:
        endpoint.chat(url, "qwen-7b", [{"role": "user", "content": "x"}], NO_RETRY)
    assert "s3cret" not in str(caught.value) and "alice" not in str(caught.value)
    assert str(caught.value).startswith("Endpoint refused: the endpoint base URL may not contain a user name")


def test_stub_parallel_slots_make_extra_requests_wait():
    """The stub's ``slots`` (a server's parallel sequences) cap concurrency; bench_concurrency relies on it."""
    from concurrent.futures import ThreadPoolExecutor

    stats: dict[str, int] = {}
    base_url, stop = start_stub(lambda request: "one two three four five", slots=2, token_delay=0.02, stats=stats)
    try:
        with ThreadPoolExecutor(max_workers=5) as pool:
            outputs = list(pool.map(lambda _: endpoint.chat(base_url, "any", [{"role": "user", "content": "x"}],
                                                            NO_RETRY, should_stop=lambda: False), range(5)))
    finally:
        stop()
    assert [output.text for output in outputs] == ["one two three four five"] * 5
    assert stats["peak_in_flight"] == 2 and stats["in_flight"] == 0
