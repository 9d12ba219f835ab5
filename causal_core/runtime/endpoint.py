"""OpenAI-compatible chat endpoint (e.g. a vLLM server shared by a class), stdlib HTTP only.

The API key comes from the environment variable CW_ENDPOINT_API_KEY at call time and is never written
to the project, the AI log or any error message. Structured tasks ask for the server's JSON-schema
``response_format``; a server that rejects it is retried once without it (the parser still validates).
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from causal_core.runtime.local_hf import GenerationOutput
from causal_core.runtime.registry import ENDPOINT_ENV_API_KEY, ModelUnavailable

TIMEOUT_S = 300.0


class EndpointHTTPError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


def _headers() -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    key = os.environ.get(ENDPOINT_ENV_API_KEY, "").strip()
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return headers


def _error_message(error: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(error.read() or b"{}")
        detail = body.get("error", body)
        return str(detail.get("message", detail) if isinstance(detail, dict) else detail)[:400]
    except (ValueError, OSError):
        return str(error.reason)[:400]


def _open(url: str, payload: dict[str, Any] | None, timeout: float) -> Any:
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data=data, headers=_headers(), method="POST" if data else "GET")
    try:
        return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - the user's own http(s) endpoint
    except urllib.error.HTTPError as error:
        raise EndpointHTTPError(error.code, _error_message(error)) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise ModelUnavailable("endpoint_unreachable", f"Endpoint {url} is unreachable: {reason}") from None


def probe(base_url: str, model: str, timeout: float = 3.0) -> tuple[bool, str]:
    """(reachable and serving ``model``?, reason) via GET <base_url>/models."""
    try:
        with _open(f"{base_url}/models", None, timeout) as response:
            served = [item.get("id") for item in json.load(response).get("data", [])]
    except ModelUnavailable as error:
        return False, str(error)
    except EndpointHTTPError as error:
        if error.status in (401, 403):
            return False, f"endpoint refused the request ({error.status}): set {ENDPOINT_ENV_API_KEY}"
        return False, f"endpoint answered {error}"
    except (ValueError, AttributeError):
        return False, "endpoint /models did not return OpenAI-style JSON"
    if served and model not in served:
        return False, f"endpoint serves {', '.join(map(str, served[:5]))}, not {model}"
    return True, f"endpoint reachable, serving {model}"


def _body(model: str, messages: list[dict[str, str]], settings: Any, stream: bool,
          json_schema: dict | None, schema_name: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "max_tokens": settings.max_new_tokens,
        "temperature": settings.temperature,
        "top_p": settings.top_p,
        "seed": settings.seed,
        "stream": stream,
    }
    if settings.repetition_penalty != 1.0:
        body["repetition_penalty"] = settings.repetition_penalty  # vLLM extension
    if json_schema is not None:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": schema_name or "artifact", "schema": json_schema, "strict": True},
        }
    return body


def _rejects_response_format(error: EndpointHTTPError) -> bool:
    text = error.message.lower()
    return error.status in (400, 422, 501) and any(word in text for word in ("response_format", "json_schema", "schema"))


def chat(base_url: str, model: str, messages: list[dict[str, str]], settings: Any, json_schema: dict | None = None,
         schema_name: str = "", on_text: Callable[[str], None] | None = None,
         should_stop: Callable[[], bool] | None = None, timeout: float = TIMEOUT_S) -> GenerationOutput:
    """One chat completion; raises ModelUnavailable (unreachable) or EndpointHTTPError (server refused)."""
    notes: list[str] = []
    stream = on_text is not None or should_stop is not None
    started = time.perf_counter()
    try:
        response = _open(f"{base_url}/chat/completions",
                         _body(model, messages, settings, stream, json_schema, schema_name), timeout)
        constrained = json_schema is not None
    except EndpointHTTPError as error:
        if json_schema is None or not _rejects_response_format(error):
            raise
        notes.append(f"endpoint rejected the json_schema response_format ({error.message[:120]}); retried without it")
        response = _open(f"{base_url}/chat/completions", _body(model, messages, settings, stream, None, ""), timeout)
        constrained = False
    with response:
        if stream:
            text, tokens, finish, cancelled = _read_stream(response, on_text, should_stop)
            notes.append("new_tokens counted from stream chunks")
        else:
            payload = json.load(response)
            choice = (payload.get("choices") or [{}])[0]
            text = (choice.get("message") or {}).get("content") or ""
            finish = choice.get("finish_reason") or ""
            tokens = int((payload.get("usage") or {}).get("completion_tokens") or 0)
            cancelled = False
    seconds = time.perf_counter() - started
    return GenerationOutput(text, tokens, seconds, truncated=finish == "length", cancelled=cancelled,
                            constrained=constrained, notes=notes)


def _read_stream(response: Any, on_text: Callable[[str], None] | None,
                 should_stop: Callable[[], bool] | None) -> tuple[str, int, str, bool]:
    """Server-sent events: accumulate delta content; stop reading when the analyst cancels."""
    pieces: list[str] = []
    finish = ""
    chunks = 0
    for raw_line in response:
        if should_stop is not None and should_stop():
            return "".join(pieces), chunks, finish, True
        line = raw_line.decode("utf-8", "replace").strip()
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            break
        try:
            event = json.loads(data)
        except ValueError:
            continue
        choice = (event.get("choices") or [{}])[0]
        piece = (choice.get("delta") or {}).get("content") or ""
        if piece:
            chunks += 1
            pieces.append(piece)
            if on_text is not None:
                on_text(piece)
        finish = choice.get("finish_reason") or finish
    return "".join(pieces), chunks, finish, False
