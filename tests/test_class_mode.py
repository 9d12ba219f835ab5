"""Issue 21 item 3: endpoints a student adds cannot reach the server's network or files; admin actions need the
instructor password in class mode, and guessing it is rate-limited.

The URL validator is tested on a generated family (hypothesis); the client runs against the OpenAI stub on
127.0.0.1 with a redirecting route, a "secret" route and a bystander recorder that counts requests and keys.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from causal_core import runtime
from causal_core.ai.structured import DecodingSettings
from causal_core.runtime import admin_gate, endpoint, endpoint_policy, registry
from causal_core.runtime.endpoint_policy import EndpointRefused, check_endpoint, check_model_folder, validate_base_url
from tests.openai_stub import SECRET, start_recorder, start_stub
from tests.test_lab_page import patched  # noqa: F401 - a fixture used by name

ROOT = Path(__file__).resolve().parents[1]
NO_RETRY = DecodingSettings(repair_retry=False, max_new_tokens=40)
MESSAGES = [{"role": "user", "content": "x"}]
CLASS_ENV = ("CW_CLASS_MODE", "CW_INSTRUCTOR_PASSWORD", "CW_ALLOWED_ENDPOINTS", "CW_MODEL_ROOTS",
             "CW_ENDPOINT_BASE_URL", "CW_ENDPOINT_MODEL", "CW_ENDPOINT_API_KEY")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in CLASS_ENV:
        monkeypatch.delenv(name, raising=False)
    admin_gate.GATE = admin_gate.PasswordGate()
    yield
    admin_gate.GATE = admin_gate.PasswordGate()


# ------------------------------------------------------------------------------ URL validator (generated)

hosts = st.one_of(
    st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,10}){0,3}", fullmatch=True),
    st.builds(lambda a, b, c, d: f"{a}.{b}.{c}.{d}", *[st.integers(0, 255)] * 4),
    st.just("[::1]"),
)
ports = st.one_of(st.just(""), st.integers(1, 65535).map(lambda port: f":{port}"))
paths = st.lists(st.from_regex(r"[A-Za-z0-9._~-]{1,12}", fullmatch=True), max_size=4).map(
    lambda parts: "".join(f"/{part}" for part in parts))
schemes = st.sampled_from(["http", "https", "HTTP", "Https"])


@st.composite
def good_urls(draw) -> str:
    return f"{draw(schemes)}://{draw(hosts)}{draw(ports)}{draw(paths)}"


INJECTIONS = st.sampled_from([
    "?", "#", "@", "?x=", "#frag", "user:pass@", "\r\n", "\n", "\r", "\t", " ", "\x00", "\x7f", "\u2028",
    "\u202e", "\uff0f", "\u0430", "é", "\\", "%0d%0a?", "/secret?x=",
])
BAD_SCHEMES = st.sampled_from(["file", "gopher", "ftp", "dict", "ldap", "javascript", "data", "jar", "httpx",
                               "hxxp", "ws", ""])


@settings(max_examples=200, deadline=None)
@given(good_urls())
def test_well_formed_http_urls_are_accepted_as_typed(url):
    assert validate_base_url(url + "/") == url


@settings(max_examples=300, deadline=None)
@given(good_urls(), INJECTIONS, st.data())
def test_no_url_with_an_injected_character_is_accepted(url, injection, data):
    at = data.draw(st.integers(len(url.split("://")[0]) + 3, len(url) - 1))  # inside: a trailing space is trimmed
    hostile = url[:at] + injection + url[at:]
    with pytest.raises(EndpointRefused) as caught:
        validate_base_url(hostile)
    assert hostile.strip() not in str(caught.value)  # the message never echoes the URL (payloads, passwords)


@settings(max_examples=200, deadline=None)
@given(good_urls(), BAD_SCHEMES)
def test_no_other_scheme_is_accepted(url, scheme):
    hostile = f"{scheme}://{url.split('://', 1)[1]}" if scheme else url.split("://", 1)[1]
    with pytest.raises(EndpointRefused, match="must start with http:// or https://"):
        validate_base_url(hostile)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_anything_accepted_is_a_plain_http_url(text):
    """Whatever random text gets through has one shape: http(s), a host, no query, fragment, user or controls."""
    try:
        clean = validate_base_url(text)
    except EndpointRefused:
        return
    assert clean.lower().startswith(("http://", "https://"))
    assert not set(clean) & {"?", "#", "@", "\\"} and clean.isascii() and clean.isprintable() and " " not in clean
    assert endpoint_policy.urlsplit(clean).hostname


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8000/secret?x=", "http://h:8000/v1#x", "http://alice:pw@h:8000/v1", "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_FLUSHALL", "ftp://h/v1", "http:///v1", "http://:8000/v1", "http://h:0/v1",
    "http://h:99999/v1", "http://h:80:80/v1", "http://h/v1\r\nX-Injected: 1", "  ", "http://" + "a" * 3000,
])
def test_textbook_bad_urls_are_refused(url):
    with pytest.raises(EndpointRefused):
        validate_base_url(url)


# ------------------------------------------------------------------------------ the client on the wire


@pytest.fixture
def recorder():
    origin, seen, stop = start_recorder()
    yield origin, seen
    stop()


def test_a_redirect_never_carries_the_class_key_to_another_port(monkeypatch, recorder):
    recorder_origin, seen = recorder
    requests: list[dict] = []
    base, stop = start_stub(lambda request: "{}", api_key="sk-class", record=requests,
                            redirect_to=f"{recorder_origin}/v1")
    origin = base.rsplit("/v1", 1)[0]
    monkeypatch.setenv("CW_ENDPOINT_BASE_URL", base)
    monkeypatch.setenv("CW_ENDPOINT_API_KEY", "sk-class")
    try:
        redirecting = f"{origin}/redirect/v1"  # same origin as the class URL: the key is sent there, once
        ok, reason = endpoint.probe(redirecting, "stub-model")
        with pytest.raises(registry.ModelUnavailable) as caught:
            endpoint.chat(redirecting, "stub-model", MESSAGES, NO_RETRY)
    finally:
        stop()
    assert not ok and "redirects are not followed" in reason
    assert caught.value.kind == "endpoint_redirect" and "redirects are not followed" in str(caught.value)
    assert [r["_headers"]["authorization"] for r in requests] == ["Bearer sk-class"]  # the class server only
    assert seen == []  # the bystander never heard from the app, with or without the key
    assert SECRET not in reason + str(caught.value)


def test_a_secret_body_never_appears_in_any_message(monkeypatch):
    base, stop = start_stub(lambda request: "{}")
    origin = base.rsplit("/v1", 1)[0]
    monkeypatch.setenv("CW_ENDPOINT_BASE_URL", base)  # the secret routes are not the operator's base URL
    messages: list[str] = []
    try:
        for path in ("/secret", "/secret/v1", "/secret-error", "/secret-error/v1"):
            messages.append(endpoint.probe(origin + path, "stub-model")[1])
            messages.append(registry.describe(registry.endpoint_key("stub-model", origin + path)).reason)
            for on_text in (None, lambda _text: None):
                try:
                    endpoint.chat(origin + path, "stub-model", MESSAGES, NO_RETRY, on_text=on_text)
                except (registry.ModelUnavailable, endpoint.EndpointHTTPError) as error:
                    messages.append(str(error))
    finally:
        stop()
    assert len(messages) == 16
    assert all(SECRET not in text and "hunter2" not in text and "INTERNAL" not in text for text in messages)
    assert any("returned an HTML page, not an OpenAI JSON response" in text for text in messages)
    assert any("answered HTTP 500: Internal Server Error" in text for text in messages)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rude_port() -> tuple[int, threading.Event]:
    """A port that accepts and closes at once (an open non-HTTP service)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    done = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not done.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            connection.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")
            connection.close()
        server.close()

    threading.Thread(target=serve, daemon=True).start()
    return server.getsockname()[1], done


def test_closed_and_open_ports_look_alike():
    closed = _closed_port()
    rude, done = _rude_port()
    try:
        answers = {port: endpoint.probe(f"http://127.0.0.1:{port}/v1", "m")[1].replace(str(port), "PORT")
                   for port in (closed, rude)}
    finally:
        done.set()
    assert answers[closed] == answers[rude] == f"Endpoint http://127.0.0.1:PORT/v1/models: {endpoint_policy.UNREACHABLE}."


def test_a_reply_longer_than_the_cap_is_refused_not_held():
    huge = "x" * (endpoint_policy.MAX_BODY_BYTES + 10)
    base, stop = start_stub(lambda request: huge)
    try:
        with pytest.raises(registry.ModelUnavailable, match="longer than 4 MB"):
            endpoint.chat(base, "stub-model", MESSAGES, NO_RETRY)
        with pytest.raises(registry.ModelUnavailable, match="longer than the 4 MB"):
            endpoint.chat(base, "stub-model", MESSAGES, NO_RETRY, on_text=lambda _text: None)
    finally:
        stop()


# ------------------------------------------------------------------------------ class mode allow-list


def test_class_mode_turns_on_with_the_password_or_the_flag(monkeypatch):
    assert not endpoint_policy.class_mode()
    monkeypatch.setenv("CW_CLASS_MODE", "1")
    assert endpoint_policy.class_mode()
    monkeypatch.setenv("CW_CLASS_MODE", "0")
    assert not endpoint_policy.class_mode()
    monkeypatch.setenv("CW_INSTRUCTOR_PASSWORD", "pw")
    assert endpoint_policy.class_mode()


@pytest.mark.parametrize(("url", "allowed"), [
    ("http://gpu.example:8000/v1", True),
    ("http://GPU.example:8000/other/", True),  # an origin entry admits any path on it
    ("https://llm.example/v1", True),
    ("https://llm.example:443/v1", True),
    ("https://llm.example/v2", False),  # a base URL entry admits only itself
    ("http://llm.example/v1", False),
    ("http://gpu.example:8001/v1", False),
    ("http://gpu.example.evil.test:8000/v1", False),
    ("http://127.0.0.1:8000/v1", False),
])
def test_class_mode_allows_only_the_listed_endpoints(monkeypatch, url, allowed):
    monkeypatch.setenv("CW_CLASS_MODE", "1")
    monkeypatch.setenv("CW_ALLOWED_ENDPOINTS", "http://gpu.example:8000, https://llm.example/v1/ ,not a url")
    if allowed:
        assert check_endpoint(url) == url.rstrip("/")
    else:
        with pytest.raises(EndpointRefused, match="class mode"):
            check_endpoint(url)
    monkeypatch.delenv("CW_CLASS_MODE")
    assert check_endpoint(url) == url.rstrip("/")  # outside class mode only the form is checked


def test_class_mode_default_allow_list_is_the_class_url_and_nothing_is_sent_elsewhere(monkeypatch, recorder):
    recorder_origin, seen = recorder
    monkeypatch.setenv("CW_INSTRUCTOR_PASSWORD", "pw")
    monkeypatch.setenv("CW_ENDPOINT_BASE_URL", "http://gpu.example:8000/v1")
    assert endpoint_policy.allowed_endpoints() == ["http://gpu.example:8000/v1"]
    ok, reason = endpoint.probe(f"{recorder_origin}/v1", "stub-model")
    with pytest.raises(registry.ModelUnavailable, match="class mode"):
        endpoint.chat(f"{recorder_origin}/v1", "stub-model", MESSAGES, NO_RETRY)
    info = registry.describe(registry.endpoint_key("stub-model", f"{recorder_origin}/v1"))
    assert not ok and "class mode" in reason and not info.available
    assert seen == []


# ------------------------------------------------------------------------------ model folders


def _model_folder(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"]}))
    return path


def test_folders_in_class_mode_only_under_the_roots(tmp_path, monkeypatch):
    root = tmp_path / "root"
    inside = _model_folder(root / "qwen")
    outside = _model_folder(tmp_path / "elsewhere" / "qwen")
    (root / "escape").symlink_to(outside, target_is_directory=True)
    monkeypatch.setenv("CW_CLASS_MODE", "1")
    monkeypatch.setenv("CW_MODEL_ROOTS", os.pathsep.join([str(root), str(tmp_path / "missing-root")]))
    assert check_model_folder(str(inside)) == inside.resolve()
    for refused in (outside, root / "escape", "/etc", "/"):
        with pytest.raises(EndpointRefused, match="class mode"):
            check_model_folder(str(refused))
    with pytest.raises(EndpointRefused, match=r"may not contain '\.\.'"):
        check_model_folder(f"{root}/qwen/../../elsewhere/qwen")
    info = registry.describe(registry.path_key(outside))
    assert not info.available and "class mode" in info.reason and "elsewhere" not in info.reason.split("(")[0]


def test_outside_class_mode_every_failure_outside_the_roots_reads_the_same(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "file.txt").write_text("x")
    messages = set()
    for folder in (tmp_path / "missing", tmp_path / "empty", tmp_path / "file.txt", Path("/etc"), Path("/root")):
        with pytest.raises(EndpointRefused) as caught:
            check_model_folder(str(folder))
        messages.add(str(caught.value))
        messages.add(registry.describe(registry.path_key(folder)).reason)
    assert messages == {"the folder is not a loadable model folder",
                        "Model folder refused: the folder is not a loadable model folder."}
    good = _model_folder(tmp_path / "good")
    assert check_model_folder(str(good)) == good


# ------------------------------------------------------------------------------ password gate


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_five_failures_lock_the_session_for_a_minute_then_twice_as_long():
    clock = _Clock()
    gate = admin_gate.PasswordGate(clock)
    for _ in range(5):
        assert gate.check("s1", "guess", "right") == (False, "Wrong instructor password. Nothing was changed.")
    allowed, message = gate.check("s1", "right", "right")
    assert not allowed and message.startswith("Too many wrong instructor passwords: try again in 61 s")
    clock.now += 59.5
    assert not gate.check("s1", "right", "right")[0]
    clock.now += 1.0
    assert gate.check("s1", "right", "right") == (True, "")
    for _ in range(5):
        gate.check("s1", "guess", "right")
    assert gate.seconds_locked("s1") == pytest.approx(120.0)  # doubling (the global counter too)


def test_failures_from_many_sessions_lock_everybody():
    clock = _Clock()
    gate = admin_gate.PasswordGate(clock)
    for session in range(5):
        gate.check(f"student-{session}", "guess", "right")
    assert gate.seconds_locked("a-fresh-session") == pytest.approx(60.0)
    assert not gate.check("instructor", "right", "right")[0]


def test_gate_is_thread_safe_under_concurrent_guessing():
    gate = admin_gate.PasswordGate(_Clock())
    threads = [threading.Thread(target=lambda: [gate.check("s", "guess", "right") for _ in range(50)])
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert gate.seconds_locked("s") > 0 and gate.seconds_locked("other") > 0


def test_class_mode_without_a_password_disables_admin_actions(monkeypatch):
    assert admin_gate.admin_allowed("s", "") == (True, "")  # single-analyst default
    monkeypatch.setenv("CW_CLASS_MODE", "1")
    allowed, message = admin_gate.admin_allowed("s", "anything")
    assert not allowed and "instructor actions are disabled" in message


# ------------------------------------------------------------------------------ AppTest: the sidebar


@pytest.fixture
def class_app(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("CW_INSTRUCTOR_PASSWORD", "teach-2026")
    from causal_core.ui import model_picker

    model_picker._model_rows.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    assert not at.exception
    yield at
    model_picker._model_rows.clear()


def _errors(at) -> list[str]:
    return [error.value for error in at.sidebar.error]


def test_class_mode_sidebar_refuses_endpoint_and_load_without_the_password(class_app, monkeypatch, recorder):
    recorder_origin, seen = recorder
    at = class_app
    monkeypatch.setenv("CW_ALLOWED_ENDPOINTS", recorder_origin)
    before_model, before_loaded = at.session_state["cw_model_key"], runtime.loaded_sessions()

    at.sidebar.text_input(key="cw_add_endpoint_url").set_value(f"{recorder_origin}/v1").run()
    at.sidebar.text_input(key="cw_add_endpoint_model").set_value("stub-model").run()
    at.sidebar.button(key="cw_add_endpoint_button").click().run()
    assert not at.exception
    assert any(text.startswith("Adding an endpoint is an instructor action on this class server. This is an "
                               "instructor action: enter the instructor password.") for text in _errors(at))
    assert at.session_state["cw_model_key"] == before_model and "cw_custom_models" not in at.session_state

    at.sidebar.text_input(key="cw_add_endpoint_url").set_value("http://not-listed.example:8000/v1").run()
    at.sidebar.button(key="cw_add_endpoint_button").click().run()
    assert any("only the endpoints the instructor allowed" in text for text in _errors(at))

    at.sidebar.checkbox(key="cw_trust_bundled").check().run()
    at.sidebar.button(key="cw_load_model").click().run()
    assert any(text.startswith("Loading a model with remote code trusted is an instructor action")
               for text in _errors(at))
    at.sidebar.checkbox(key="cw_trust_bundled").uncheck().run()
    at.sidebar.text_input(key="cw_instructor_password").set_value("wrong").run()
    at.sidebar.button(key="cw_load_model").click().run()
    assert any(text.startswith("Loading a model is an instructor action on this class server. Wrong instructor "
                               "password.") for text in _errors(at))
    assert runtime.loaded_sessions() == before_loaded and seen == []

    at.sidebar.text_input(key="cw_instructor_password").set_value("teach-2026").run()
    at.sidebar.text_input(key="cw_add_endpoint_url").set_value(f"{recorder_origin}/v1").run()
    at.sidebar.button(key="cw_add_endpoint_button").click().run()
    assert not at.exception and at.session_state["cw_custom_models"] == [f"endpoint:stub-model@{recorder_origin}/v1"]
    assert all(SECRET not in text for text in _errors(at))


def test_class_mode_drafts_never_load_a_model_a_student_picked(class_app):
    at = class_app
    at.sidebar.selectbox(key="cw_model_select").set_value("Qwen/Qwen2.5-7B-Instruct").run()
    assert not at.exception
    assert at.session_state["cw_model_key"] == "bundled"
    assert any("only the instructor loads models" in caption.value for caption in at.sidebar.caption)


@pytest.mark.parametrize(("keys", "extra", "calls", "loaded", "expected"), [
    (["endpoint:m@http://gpu:8000/v1"], "", 4, set(), []),
    (["endpoint:m@http://gpu:8000/v1"], "", 5, set(), ["it makes 5 calls (more than 4)"]),
    (["bundled"], "", 1, {"bundled"}, []),
    (["bundled", "Qwen/Qwen2.5-7B-Instruct"], "", 2, {"bundled"}, ["it loads 1 local model(s)"]),
    (["endpoint:m@http://gpu:8000/v1"], " path:/x ", 1, set(), ["it adds endpoints or folders"]),
])
def test_which_model_lab_runs_are_instructor_actions(keys, extra, calls, loaded, expected):
    from causal_core.lab_bench import endpoints as lab_endpoints

    assert lab_endpoints.instructor_reasons(keys, extra, calls, loaded) == expected


def test_class_mode_model_lab_run_needs_the_password_and_nothing_runs_without_it(monkeypatch, request):
    from causal_core import lab_bench as lab
    from tests.test_lab_page import _lab_state, _open_lab

    request.getfixturevalue("patched")  # the Model lab page tests' scripted runtime (no model is loaded)
    monkeypatch.setenv("CW_INSTRUCTOR_PASSWORD", "teach-2026")
    at = _open_lab()
    at.multiselect(key="lab_models").set_value(["small", "big", "huge"]).run()
    at.button(key="lab_run").click().run()
    assert not at.exception
    errors = [error.value.replace("\\", "") for error in at.main.error]  # escape_markdown's backslashes
    assert ("This Model lab run (it loads 3 local model(s); it makes 6 calls (more than 4)) is an instructor action "
            "on this class server. This is an instructor action: enter the instructor password. Nothing was "
            "changed.") in errors, errors
    assert lab.latest_run(_lab_state(at)) is None
    at.sidebar.text_input(key="cw_instructor_password").set_value("teach-2026").run()
    at.button(key="lab_run").click().run()
    assert not at.exception and lab.latest_run(_lab_state(at))["status"] == "complete"
