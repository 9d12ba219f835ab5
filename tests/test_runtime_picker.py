"""Sidebar model picker (AppTest, no model loaded): availability, bad inputs, decoding settings, endpoint path.

Generation here goes to the local OpenAI stub through the real runtime (nothing patched in the
runtime); load failures are produced by shrinking the memory the device planner sees.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from causal_core import runtime
from causal_core.runtime import devices, registry
from causal_core.safe_text import escape_markdown
from tests.openai_stub import start_stub

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))  # an empty cache: every ladder model is missing
    from causal_core.ui import model_picker

    model_picker._model_rows.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    assert not at.exception
    yield at
    model_picker._model_rows.clear()


def _select(at, key: str):
    at.sidebar.selectbox(key="cw_model_select").set_value(key).run()
    assert not at.exception
    return at


def test_picker_lists_bundled_and_the_ladder_with_availability(app):
    picker = app.sidebar.selectbox(key="cw_model_select")
    assert picker.value == "bundled" and app.session_state["cw_model_key"] == "bundled"
    assert picker.options[0].startswith("✓ SmolLM2-135M-Instruct (bundled)")
    assert len([option for option in picker.options if option.startswith("✗")]) == 9
    _select(app, "meta-llama/Meta-Llama-3.1-8B-Instruct")
    assert app.sidebar.button(key="cw_load_model").disabled
    assert "hf download meta-llama/Meta-Llama-3.1-8B-Instruct" in [code.value for code in app.sidebar.code]
    assert any("Llama 3.1 Community License" in info.value for info in app.sidebar.info)
    assert any("not in the local Hugging Face cache" in warning.value for warning in app.sidebar.warning)
    _select(app, "Qwen/Qwen2.5-32B-Instruct")
    assert any(warning.value.startswith("Memory: needs ≈131.1 GB in float32 on cpu") for warning in app.sidebar.warning)
    assert app.session_state["cw_model_key"] == "Qwen/Qwen2.5-32B-Instruct"


def test_decoding_settings_are_kept_as_plain_values(app):
    assert app.session_state["cw_decoding"] == {"temperature": 0.0, "max_new_tokens": 700, "top_p": 1.0,
                                                "repetition_penalty": 1.0, "seed": 209, "constrained": True,
                                                "repair_retry": True}
    app.sidebar.slider(key="cw_temperature").set_value(0.7).run()
    app.sidebar.number_input(key="cw_max_new_tokens").set_value(300).run()
    app.sidebar.slider(key="cw_repetition_penalty").set_value(1.35).run()
    decoding = app.session_state["cw_decoding"]
    assert (decoding["temperature"], decoding["max_new_tokens"], decoding["repetition_penalty"]) == (0.7, 300, 1.35)
    assert any("1.3 drove the bundled model" in caption.value for caption in app.sidebar.caption)
    assert app.session_state["cw_load_options"] == {"device": "auto", "dtype": "auto", "quantisation": "none",
                                                    "trust_remote_code": False}
    assert app.sidebar.selectbox(key="cw_quantisation").options == ["none"]  # no CUDA here: no bitsandbytes choice


def test_bad_endpoint_and_folder_inputs_are_specific_messages(app, tmp_path):
    app.sidebar.text_input(key="cw_add_endpoint_url").set_value("ftp://example").run()
    app.sidebar.text_input(key="cw_add_endpoint_model").set_value("qwen").run()
    app.sidebar.button(key="cw_add_endpoint_button").click().run()
    assert not app.exception
    assert any(escape_markdown("must start with http:// or https:// (other schemes such as file://") in error.value
               for error in app.sidebar.error)
    before = app.session_state["cw_model_key"]
    (tmp_path / "no-config").mkdir()
    for folder in (tmp_path / "missing-model", tmp_path / "no-config", tmp_path / "a-file.txt"):
        app.sidebar.text_input(key="cw_add_folder").set_value(str(folder)).run()
        app.sidebar.button(key="cw_add_folder_button").click().run()
        assert not app.exception
        # missing, empty and not-a-folder get one sentence: the field is not an oracle for the server's disk
        assert [error.value for error in app.sidebar.error] == [
            "Folder refused: the folder is not a loadable model folder. Nothing was added."]
        assert app.session_state["cw_model_key"] == before and "cw_custom_models" not in app.session_state


def test_out_of_memory_plan_is_a_specific_error_and_the_app_keeps_working(app, monkeypatch):
    monkeypatch.setattr(devices, "cpu_free_bytes", lambda: 100_000_000)  # 0.1 GB free: the bundled model cannot fit
    before = runtime.loaded_sessions()
    app.sidebar.button(key="cw_load_model").click().run()
    assert not app.exception
    errors = [error.value for error in app.sidebar.error]
    assert any(text.startswith("**Out of memory.** " + escape_markdown("Out of memory: the weights need ≈0.5 GB"))
               for text in errors)
    assert runtime.loaded_sessions() == before
    app.switch_page("app_pages/overview.py").run()
    assert not app.exception


def test_endpoint_quick_test_runs_the_real_runtime_and_logs_the_call(app, monkeypatch):
    monkeypatch.setenv("CW_ENDPOINT_API_KEY", "sk-never-stored")
    requests: list[dict] = []
    answer = {"treatment": "proactive outreach", "outcome": "churn", "design": "observational"}
    base_url, stop = start_stub(lambda request: json.dumps(answer), record=requests, model_names=["qwen-7b"])
    try:
        app.sidebar.text_input(key="cw_add_endpoint_url").set_value(base_url).run()
        app.sidebar.text_input(key="cw_add_endpoint_model").set_value("qwen-7b").run()
        app.sidebar.button(key="cw_add_endpoint_button").click().run()
        key = registry.endpoint_key("qwen-7b", base_url)
        assert app.session_state["cw_model_key"] == key
        assert any("Endpoints need no loading" in caption.value for caption in app.sidebar.caption)
        assert any(escape_markdown("endpoint reachable, serving qwen-7b") in caption.value
                   for caption in app.sidebar.caption)
        app.sidebar.button(key="cw_quick_test").click().run()
        assert not app.exception
    finally:
        stop()
    project = app.session_state["cw_projects"][app.session_state["cw_active"]]
    interaction = project.ai_log[-1]
    assert (interaction.task, interaction.model_id, interaction.schema_valid) == ("smoke-test", key, True)
    assert interaction.parsed == answer
    assert requests[-1]["response_format"]["type"] == "json_schema"
    assert "sk-never-stored" not in project.model_dump_json()


class _Listener:
    """A real HTTP server on a free port that answers like an OpenAI endpoint and records every Authorization."""

    def __init__(self, answer: dict) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        seen = self.seen = []  # (method, path, Authorization or None)

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                return

            def _reply(self, payload: dict) -> None:
                body = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):  # noqa: N802
                seen.append(("GET", self.path, self.headers.get("Authorization")))
                self._reply({"object": "list", "data": [{"id": "qwen-7b", "object": "model"}]})

            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                seen.append(("POST", self.path, self.headers.get("Authorization")))
                self._reply({"choices": [{"index": 0, "message": {"role": "assistant", "content": json.dumps(answer)},
                                          "finish_reason": "stop"}], "usage": {"completion_tokens": 5}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


SMOKE_ANSWER = {"treatment": "proactive outreach", "outcome": "churn", "design": "observational"}


def _add_endpoint(app, url: str, api_key: str = "") -> None:
    app.sidebar.text_input(key="cw_add_endpoint_url").set_value(url).run()
    app.sidebar.text_input(key="cw_add_endpoint_model").set_value("qwen-7b").run()
    app.sidebar.text_input(key="cw_add_endpoint_key").set_value(api_key).run()
    app.sidebar.button(key="cw_add_endpoint_button").click().run()
    assert not app.exception


def test_class_key_goes_only_to_the_class_endpoint_and_typed_keys_stay_in_the_session(app, monkeypatch):
    """Issue 18 §2: a student adding their own URL must not receive the instructor's key."""
    class_server, student_server = _Listener(SMOKE_ANSWER), _Listener(SMOKE_ANSWER)
    monkeypatch.setenv("CW_ENDPOINT_BASE_URL", f"http://127.0.0.1:{class_server.port}/v1")
    monkeypatch.setenv("CW_ENDPOINT_MODEL", "qwen-7b")
    monkeypatch.setenv("CW_ENDPOINT_API_KEY", "sk-class-secret")
    try:
        _add_endpoint(app, f"http://127.0.0.1:{student_server.port}/v1")  # no key typed
        app.sidebar.button(key="cw_quick_test").click().run()
        assert not app.exception
        assert student_server.seen and all(auth is None for _, _, auth in student_server.seen)
        assert {path for _, path, _ in student_server.seen} >= {"/v1/models", "/v1/chat/completions"}

        student_server.seen.clear()
        _add_endpoint(app, f"http://127.0.0.1:{student_server.port}/v1", api_key="sk-student-own")
        app.sidebar.button(key="cw_quick_test").click().run()
        assert ("POST", "/v1/chat/completions", "Bearer sk-student-own") in student_server.seen
        assert all(auth in (None, "Bearer sk-student-own") for _, _, auth in student_server.seen)

        _select(app, registry.endpoint_key("qwen-7b", f"http://127.0.0.1:{class_server.port}/v1"))
        app.sidebar.button(key="cw_quick_test").click().run()
        assert ("POST", "/v1/chat/completions", "Bearer sk-class-secret") in class_server.seen
    finally:
        class_server.close()
        student_server.close()
    seen_keys = {auth for _, _, auth in student_server.seen}
    assert "Bearer sk-class-secret" not in seen_keys
    saved = app.session_state["cw_projects"][app.session_state["cw_active"]].model_dump_json()
    assert "sk-student-own" not in saved and "sk-class-secret" not in saved
    assert app.session_state["cw_endpoint_keys"] == {f"http://127.0.0.1:{student_server.port}/v1": "sk-student-own"}


def test_credentials_in_an_endpoint_url_are_refused_never_stored_or_shown(app):
    """Issue 18 §4 / 21: http://user:pass@host/v1 is refused; it never reaches the project, a request or a message."""
    server = _Listener(SMOKE_ANSWER)
    before = app.session_state["cw_model_key"]
    try:
        _add_endpoint(app, f"http://alice:hunter2-pass@127.0.0.1:{server.port}/v1")
        assert not app.exception and app.session_state["cw_model_key"] == before
        assert any("may not contain a user name or password" in error.value for error in app.sidebar.error)
    finally:
        server.close()
    assert server.seen == []  # nothing was probed
    project = app.session_state["cw_projects"][app.session_state["cw_active"]]
    saved = project.model_dump_json()
    assert "hunter2" not in saved and "alice" not in saved
    shown = " ".join(element.value for element in [*app.sidebar.caption, *app.sidebar.warning, *app.sidebar.error])
    assert "hunter2" not in shown
