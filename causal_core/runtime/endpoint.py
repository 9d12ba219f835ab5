"""OpenAI-compatible chat endpoint (a class's vLLM, SGLang, llama.cpp, Ollama, LM Studio), stdlib HTTP only.

Structured output: servers disagree on ``response_format``. vLLM >= 0.12, SGLang, Ollama and LM Studio take
``{type: json_schema, json_schema: {...}}``; llama.cpp / llama-cpp-python take ``{type: json_object, schema}``
and answer json_schema with an error (llama-cpp-python 0.3.x: HTTP 500 whose body says the type must be
'text' or 'json_object'). So a refusal is recognised by its status (any 4xx/5xx) *and* a body naming
response_format / json_schema / json_object, and the request is retried with the next form: json_schema →
json_object+schema → none (the parser still validates). The form a server took is remembered per base URL,
logged, and written into the interaction's notes.

Keys (docs/security.md): the class key CW_ENDPOINT_API_KEY goes only to the configured CW_ENDPOINT_BASE_URL (same
scheme, host and port). An endpoint a user adds gets only the key the user typed for it, which lives in the
browser session (see ``use_session_keys``) and never in a project, an export or an error message. URLs are
stripped of embedded ``user:pass@`` before they are stored or shown.

Issue 21 (see docs/security.md): every URL passes ``endpoint_policy.check_endpoint`` before a request; redirects
are refused (not followed, so the key cannot travel to another origin); bodies are read up to 4 MB; a failed
request is described by its HTTP status, the standard reason phrase and our own hint, never by the reply's text,
so a base URL aimed at an internal service cannot read it back and closed and open ports look alike.
"""

from __future__ import annotations

import contextvars
import http.client
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from causal_core.runtime import endpoint_policy
from causal_core.runtime.endpoint_policy import (
    UNREACHABLE,
    BodyTooLarge,
    EndpointRefused,
    RedirectRefused,
    same_origin,
    strip_credentials,
)
from causal_core.runtime.types import ENDPOINT_ENV_API_KEY, ENDPOINT_ENV_BASE_URL, GenerationOutput, ModelUnavailable

logger = logging.getLogger(__name__)
TIMEOUT_S = 300.0
BODY_CHARS = 600  # kept internally (response_format detection); never shown
LINE_BYTES = 1024 * 1024  # one server-sent event line
RESPONSE_FORMS = ("json_schema", "json_object+schema", "none")
_REJECTION_WORDS = ("response_format", "json_schema", "json_object")
_accepted_forms: dict[str, str] = {}
_accepted_lock = threading.Lock()

# Keys the analyst typed for endpoints they added, ((base_url, key), ...). Set by the sidebar on every rerun from
# st.session_state, so it belongs to that browser session's script thread; code that calls an endpoint
# from a worker thread runs it under contextvars.copy_context() (the Model lab does).
_session_keys: contextvars.ContextVar[tuple[tuple[str, str], ...]] = contextvars.ContextVar("cw_endpoint_keys",
                                                                                           default=())


def use_session_keys(keys: Mapping[str, str]) -> None:
    """Make ``{base_url: key}`` (typed in this browser session) the keys this thread's endpoint calls may send."""
    _session_keys.set(tuple((strip_credentials(url), key) for url, key in keys.items() if key))


class EndpointHTTPError(Exception):
    """The server answered with an HTTP error; ``message`` is ours, ``body`` its text (trimmed, never shown)."""

    def __init__(self, status: int, message: str, url: str = "", body: str = "") -> None:
        where = f"{strip_credentials(url)} answered " if url else ""
        super().__init__(f"{where}HTTP {status}: {message}")
        self.status = status
        self.message = message
        self.url = strip_credentials(url)
        self.body = body


def bad_response(url: str, problem: str) -> ModelUnavailable:
    """A reply that is not an OpenAI chat completion (HTML, no choices, a cut stream): one clear message."""
    return ModelUnavailable("endpoint_bad_response", f"Endpoint {strip_credentials(url)} {problem}")


# ---------------------------------------------------------------------------------------------- keys


def api_key_for(url: str) -> str:
    """The key this URL may receive: the one typed for it in this session, else the class key for its origin."""
    for base_url, key in _session_keys.get():
        if same_origin(base_url, url):
            return key
    configured = os.environ.get(ENDPOINT_ENV_BASE_URL, "").strip()
    class_key = os.environ.get(ENDPOINT_ENV_API_KEY, "").strip()
    if class_key and configured and same_origin(configured, url):
        return class_key
    return ""


def _headers(url: str) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    key = api_key_for(url)
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return headers


# -------------------------------------------------------------------------------------------- HTTP


def _status_phrase(status: int) -> str:
    """The standard reason phrase for a status (ours, not the server's, which could carry anything)."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "error"


def _server_words(body: str) -> str:
    """An OpenAI/vLLM ``error.message`` or FastAPI ``detail`` string from a JSON error body, else "" (clipped)."""
    try:
        payload = json.loads(body)
    except ValueError:
        return ""
    detail = payload.get("error", payload.get("detail")) if isinstance(payload, dict) else None
    if isinstance(detail, dict):
        detail = detail.get("message")
    return " ".join(str(detail).split())[:300] if isinstance(detail, str) else ""


def _checked(url: str, path: str) -> str:
    """``<base>/<path>`` after the endpoint policy (scheme, ?, #, credentials, class allow-list)."""
    try:
        return f"{endpoint_policy.check_endpoint(url)}{path}"
    except EndpointRefused as error:
        raise ModelUnavailable("endpoint_refused", f"Endpoint refused: {error}.") from None


def _open(url: str, payload: dict[str, Any] | None, timeout: float, operator_server: bool = False) -> Any:
    """POST/GET ``url`` (already checked): no redirects; errors by status and a fixed phrase, except that a
    server the operator configured (``operator_server``: on the allow-list) may add its JSON error message."""
    shown = strip_credentials(url)
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(shown, data=data, headers=_headers(shown), method="POST" if data else "GET")
    try:
        return endpoint_policy.open_url(request, timeout)
    except urllib.error.HTTPError as error:
        try:
            body = endpoint_policy.read_capped(error, 64 * 1024).decode("utf-8", "replace")
        except OSError:
            body = ""
        words = _server_words(body) if operator_server else ""
        raise EndpointHTTPError(error.code, words or _status_phrase(error.code), shown, body[:BODY_CHARS]) from None
    except RedirectRefused as error:
        raise ModelUnavailable("endpoint_redirect", f"Endpoint {shown}: {error}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError, ValueError, http.client.HTTPException):
        # one sentence for refused, closed, filtered, unresolvable: the app is not a port scanner
        raise ModelUnavailable("endpoint_unreachable", f"Endpoint {shown}: {UNREACHABLE}.") from None


def _read_json(response: Any, url: str) -> Any:
    try:
        raw = endpoint_policy.read_capped(response).decode("utf-8", "replace")
    except BodyTooLarge as error:
        raise bad_response(url, f"was refused: {error}") from None
    except (OSError, http.client.HTTPException):
        raise bad_response(url, "closed the connection before the reply was complete") from None
    try:
        return json.loads(raw)
    except ValueError:
        raise bad_response(url, f"returned {_describe_kind(raw)}, not an OpenAI JSON response (is the base URL "
                                "right? it usually ends in /v1)") from None


def _describe_kind(raw: str) -> str:
    """What kind of body came back, in our words (never its text)."""
    text = raw.strip()
    if not text:
        return "an empty body"
    return "an HTML page" if "<html" in text[:200].lower() or text.lower().startswith("<!doctype") else "text"


def served_models(base_url: str, timeout: float = 3.0) -> list[str]:
    """The model ids GET <base_url>/models lists (what the server actually serves)."""
    url = _checked(base_url, "/models")
    with _open(url, None, timeout) as response:
        payload = _read_json(response, url)
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        raise bad_response(url, "did not return an OpenAI model list ({'data': [...]})")
    return [str(item.get("id")) for item in payload["data"] if isinstance(item, dict) and item.get("id")]


def probe(base_url: str, model: str, timeout: float = 3.0) -> tuple[bool, str]:
    """(reachable and serving ``model``?, reason) via GET <base_url>/models."""
    try:
        served = served_models(base_url, timeout)
    except ModelUnavailable as error:
        return False, str(error)
    except EndpointHTTPError as error:
        if error.status in (401, 403):
            return False, f"{error}. {_key_hint(base_url)}"
        return False, f"{error}: {UNREACHABLE} as an OpenAI-compatible server"
    if served and model not in served:
        return False, f"{strip_credentials(base_url)} does not serve {model}; it serves: {', '.join(served[:20])}"
    return True, f"endpoint reachable, serving {model}"


def _key_hint(base_url: str) -> str:
    configured = os.environ.get(ENDPOINT_ENV_BASE_URL, "").strip()
    if configured and same_origin(configured, base_url):
        return f"Set {ENDPOINT_ENV_API_KEY} to the server's key."
    return "Type this endpoint's API key where you added it (the class key is sent only to the class endpoint)."


# ------------------------------------------------------------------------------------------ request


def _response_format(form: str, json_schema: dict, schema_name: str) -> dict[str, Any] | None:
    if form == "json_schema":
        return {"type": "json_schema",
                "json_schema": {"name": schema_name or "artifact", "schema": json_schema, "strict": True}}
    if form == "json_object+schema":
        return {"type": "json_object", "schema": json_schema}
    return None


def _body(model: str, messages: list[dict[str, str]], settings: Any, stream: bool,
          response_format: dict[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "max_tokens": settings.max_new_tokens,
        "temperature": settings.temperature,
        "top_p": settings.top_p,
        "seed": settings.seed,
        "stream": stream,
    }
    if stream:
        body["stream_options"] = {"include_usage": True}  # vLLM, Ollama, LM Studio send a final usage chunk
    if settings.repetition_penalty != 1.0:
        body["repetition_penalty"] = settings.repetition_penalty  # vLLM/SGLang extension (llama.cpp: repeat_penalty)
    if response_format is not None:
        body["response_format"] = response_format
    return body


def rejects_response_format(error: EndpointHTTPError) -> bool:
    """Any 4xx/5xx whose body names the response_format (a 401 or an outage is not a refusal of the form)."""
    text = f"{error.message} {error.body}".lower()
    return error.status >= 400 and error.status not in (401, 403, 404) and any(w in text for w in _REJECTION_WORDS)


def accepted_form(base_url: str) -> str:
    """The response_format form this server took last time ("" before the first structured call)."""
    with _accepted_lock:
        return _accepted_forms.get(strip_credentials(base_url), "")


def _remember_form(base_url: str, form: str) -> None:
    with _accepted_lock:
        _accepted_forms[strip_credentials(base_url)] = form


def _not_served(error: EndpointHTTPError, base_url: str, model: str) -> EndpointHTTPError:
    """A 404 / 'model does not exist': add the list of models the server does serve."""
    text = f"{error.message} {error.body}".lower()
    names_model = "model" in text and any(word in text for word in ("not found", "does not exist"))
    if error.status != 404 and not names_model:
        return error
    try:
        served = served_models(base_url)
    except (ModelUnavailable, EndpointHTTPError):
        return error
    if model in served:
        return error
    listing = ", ".join(served[:20]) or "(none listed)"
    return EndpointHTTPError(error.status, f"{error.message}: the server does not serve {model}. It serves: "
                             f"{listing}.", error.url, error.body)


def _open_completion(base_url: str, model: str, messages: list[dict[str, str]], settings: Any, stream: bool,
                     json_schema: dict | None, schema_name: str, timeout: float,
                     notes: list[str]) -> tuple[Any, str]:
    """POST the completion, walking json_schema → json_object+schema → none on refusals; (response, form)."""
    url = _checked(base_url, "/chat/completions")
    operator_server = endpoint_policy.is_allowed(base_url, endpoint_policy.allowed_endpoints())
    if json_schema is None:
        forms = ["none"]
    else:
        known = accepted_form(base_url)
        forms = list(RESPONSE_FORMS[RESPONSE_FORMS.index(known):] if known else RESPONSE_FORMS)
    refusals: list[str] = []
    for index, form in enumerate(forms):
        body = _body(model, messages, settings, stream, _response_format(form, json_schema or {}, schema_name))
        try:
            response = _open(url, body, timeout, operator_server)
        except EndpointHTTPError as error:
            if error.status in (401, 403):
                raise EndpointHTTPError(error.status, f"{error.message}. {_key_hint(base_url)}", error.url,
                                        error.body) from None
            last = index == len(forms) - 1
            if form == "none" or last or not rejects_response_format(error):
                raise _not_served(error, base_url, model) from None
            refusals.append(f"{form} refused (HTTP {error.status}: {error.message})")
            continue
        if json_schema is not None:
            if accepted_form(base_url) != form:
                logger.info("endpoint %s takes response_format %s", strip_credentials(base_url), form)
            _remember_form(base_url, form)
            notes.append(f"endpoint took response_format {form}" + (f" after {'; '.join(refusals)}" if refusals else ""))
        return response, form
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def chat(base_url: str, model: str, messages: list[dict[str, str]], settings: Any, json_schema: dict | None = None,
         schema_name: str = "", on_text: Callable[[str], None] | None = None,
         should_stop: Callable[[], bool] | None = None, timeout: float = TIMEOUT_S) -> GenerationOutput:
    """One chat completion; raises ModelUnavailable (unreachable / not a completion) or EndpointHTTPError."""
    base_url = base_url.strip().rstrip("/")  # credentials, ?, # and other schemes are refused by _checked
    url = f"{base_url}/chat/completions"
    notes: list[str] = []
    stream = on_text is not None or should_stop is not None
    started = time.perf_counter()
    response, form = _open_completion(base_url, model, messages, settings, stream, json_schema, schema_name,
                                      timeout, notes)
    with response:
        content_type = str(response.headers.get("Content-Type", "")).lower()
        if stream and "json" in content_type:  # a server that ignores "stream": true answers in one piece
            notes.append("asked to stream, the server answered with one JSON body")
            stream = False
        if stream:
            text, tokens, finish, cancelled = read_stream(response, url, on_text, should_stop)
            notes.append("new_tokens from the stream's usage chunk" if tokens[1] else "new_tokens counted from stream chunks")
            tokens_used = tokens[0]
        else:
            text, tokens_used, finish = _read_completion(response, url)
            cancelled = False
            if on_text is not None and text:
                on_text(text)
    if finish == "length":
        notes.append("finish_reason=length: the server stopped at max_tokens")
    return GenerationOutput(text, tokens_used, time.perf_counter() - started, truncated=finish == "length",
                            cancelled=cancelled, constrained=form != "none", notes=notes)


def _read_completion(response: Any, url: str) -> tuple[str, int, str]:
    payload = _read_json(response, url)
    if not isinstance(payload, dict):
        raise bad_response(url, "returned JSON that is not a chat completion object")
    if "error" in payload and not payload.get("choices"):
        raise bad_response(url, "returned an error object with status 200 (its text is not shown)")
    choices = payload.get("choices")
    if not choices or not isinstance(choices, list) or not isinstance(choices[0], dict):
        raise bad_response(url, "answered 200 with an empty choices list: the server produced no completion")
    choice = choices[0]
    text = (choice.get("message") or {}).get("content") or ""
    tokens = int((payload.get("usage") or {}).get("completion_tokens") or 0)
    return text, tokens, str(choice.get("finish_reason") or "")


def read_stream(response: Any, url: str, on_text: Callable[[str], None] | None,
                should_stop: Callable[[], bool] | None) -> tuple[str, tuple[int, bool], str, bool]:
    """Server-sent events → (text, (tokens, from usage?), finish_reason, cancelled).

    A stream that ends without a finish_reason or ``[DONE]`` was cut (server crash, proxy timeout): that
    is an error, not an answer, because json-repair would otherwise close the half-written JSON.
    """
    pieces: list[str] = []
    finish, done, chunks, usage_tokens, received = "", False, 0, 0, 0
    try:
        for raw_line in iter(lambda: response.readline(LINE_BYTES), b""):
            received += len(raw_line)
            if received > endpoint_policy.MAX_BODY_BYTES or len(raw_line) >= LINE_BYTES:
                raise _cut(url, pieces, " (reply longer than the 4 MB the app reads)")
            if should_stop is not None and should_stop():
                return "".join(pieces), (chunks, False), finish, True
            line = raw_line.decode("utf-8", "replace").strip()
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                done = True
                break
            try:
                event = json.loads(data)
            except ValueError:
                continue
            if not isinstance(event, dict):
                continue
            if event.get("error"):
                raise bad_response(url, "sent an error mid-stream (its text is not shown)")
            usage_tokens = int((event.get("usage") or {}).get("completion_tokens") or usage_tokens)
            choice = (event.get("choices") or [{}])[0]
            piece = (choice.get("delta") or {}).get("content") or ""
            if piece:
                chunks += 1
                pieces.append(piece)
                if on_text is not None:
                    on_text(piece)
            finish = choice.get("finish_reason") or finish
    except (http.client.HTTPException, ConnectionError, TimeoutError, OSError) as error:
        raise _cut(url, pieces, f" ({type(error).__name__})") from None
    if not finish and not done:
        raise _cut(url, pieces, "")
    tokens = (usage_tokens, True) if usage_tokens else (chunks, False)
    return "".join(pieces), tokens, finish, False


def _cut(url: str, pieces: list[str], detail: str) -> ModelUnavailable:
    received = sum(len(piece) for piece in pieces)
    return bad_response(url, f"closed the stream mid-answer{detail} after {received} characters, without a "
                             "finish_reason or [DONE]; the partial answer was discarded, not repaired")
