"""A tiny OpenAI-compatible server on 127.0.0.1 for tests (no network, no real model).

    base_url, stop = start_stub(lambda request: '{"answer": 1}', server="llamacpp")
    ...  # POST {base_url}/chat/completions, GET {base_url}/models
    stop()

``reply`` receives the decoded JSON body of each ``/v1/chat/completions`` call and returns the
assistant's text, or a dict:

- ``{"content": str, "finish_reason": "length"}`` — a truncated answer;
- ``{"content": str, "cut_after": n}`` — a stream that closes after n content chunks (no finish, no [DONE]);
- ``{"choices": []}`` — a 200 with an empty choices list;
- ``{"raw": str, "content_type": "text/html", "status": 200}`` — any body verbatim (an HTML page, a proxy);

or raises ``StubHTTPError(status, message)`` for an OpenAI-style error. ``record=list`` collects every
request (headers in ``_headers``, lower-cased) so tests can assert what the client sent.

``server`` picks whose real behaviour to reproduce (statuses, bodies, stream framing, finish_reason, usage):

- ``"vllm"`` (default; also SGLang): takes ``response_format`` json_schema (vLLM >= 0.12 removed guided_json)
  and json_object; unknown model → 404 ``{"error": {"message": "The model `x` does not exist.", "type":
  "NotFoundError", "param": "model", "code": 404}}``; wrong key → 401 ``{"error": "Unauthorized"}`` on every
  /v1 route (vllm/entrypoints/openai AuthenticationMiddleware); streams ``data: …\\n\\n``, a first chunk
  carrying the role, a final chunk with finish_reason, a usage chunk with ``choices: []`` when
  ``stream_options.include_usage``, then ``data: [DONE]``.
- ``"llamacpp"`` (llama-cpp-python 0.3.x ``[server]``): the request model is a pydantic model whose
  ``response_format.type`` is ``Literal["text", "json_object"]`` (plus an optional ``schema``); the
  validation error is caught by its RouteErrorHandler and returned as **HTTP 500** ``{"error": {"message":
  "<the pydantic error list>", "type": "internal_server_error", "param": null, "code": null}}``
  (llama_cpp/server/errors.py). Wrong key → 401 ``{"detail": "Invalid API key"}`` (FastAPI
  HTTPException). The model name is not checked. Streams through sse-starlette (``\\r\\n`` line ends),
  role chunk first, ``delta: {}`` with the finish_reason last, no usage chunk.
- ``"ollama"`` (its /v1 OpenAI layer): json_schema and json_object taken; unknown model → 404
  ``{"error": {"message": "model \\"x\\" not found, try pulling it first", "type": "not_found_error",
  "param": null, "code": null}}`` (openai.NewError); chunks carry ``system_fingerprint: "fp_ollama"`` and a
  role in every delta; usage chunk on include_usage.
- ``"lmstudio"``: json_schema taken, ``json_object`` refused with 400 naming response_format (the text is
  an approximation: LM Studio documents json_schema only); otherwise vLLM-like.
- ``"plain"``: a server that refuses any ``response_format`` (400 naming it) — the client must fall back
  to no response_format at all.

Without ``model_names`` the stub answers for any model name (and lists ``stub-model``); with them, the
server's "not served" 404 applies. ``token_delay`` sleeps that long per chunk; ``slots`` caps requests generating at once (a server's parallel
slots; the rest wait); ``stats`` (a dict) receives ``in_flight`` and ``peak_in_flight``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = Callable[[dict[str, Any]], "str | dict[str, Any]"]
SERVERS = ("vllm", "llamacpp", "ollama", "lmstudio", "plain")
LLAMACPP_LITERAL_ERROR = (
    "[{'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), 'msg': \"Input should be 'text' or "
    "'json_object'\", 'input': 'json_schema', 'ctx': {'expected': \"'text' or 'json_object'\"}}]"
)


class StubHTTPError(Exception):
    """Raise from ``reply`` to make the stub answer with this HTTP status and OpenAI-style error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _chunks(text: str) -> list[str]:
    """Split into pieces that concatenate back to ``text`` exactly (keeps the whitespace)."""
    pieces: list[str] = []
    current = ""
    for char in text:
        current += char
        if char in " \n":
            pieces.append(current)
            current = ""
    if current:
        pieces.append(current)
    return pieces


def _openai_error(message: str, kind: str, status: int, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": status}}


def _format_refusal(server: str, request: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
    """The (status, body) this server answers for the request's response_format, or None if it takes it."""
    response_format = request.get("response_format")
    if not isinstance(response_format, dict):
        return None
    kind = response_format.get("type")
    if server == "llamacpp" and kind not in ("text", "json_object"):
        return 500, {"error": {"message": LLAMACPP_LITERAL_ERROR.replace("'json_schema'", repr(kind)),
                               "type": "internal_server_error", "param": None, "code": None}}
    if server == "lmstudio" and kind == "json_object":
        return 400, {"error": "'response_format.type' must be 'json_schema' or 'text'"}
    if server == "plain":
        return 400, _openai_error("response_format is not supported by this server", "invalid_request_error", 400,
                                  "response_format")
    return None


def _unauthorised(server: str) -> dict[str, Any]:
    return {"detail": "Invalid API key"} if server == "llamacpp" else {"error": "Unauthorized"}


def _not_served(server: str, model: str) -> dict[str, Any]:
    if server == "ollama":
        return {"error": {"message": f'model "{model}" not found, try pulling it first', "type": "not_found_error",
                          "param": None, "code": None}}
    return _openai_error(f"The model `{model}` does not exist.", "NotFoundError", 404, "model")


class _Slots:
    """A server's parallel slots: at most ``limit`` generating at once; counts the peak for tests."""

    def __init__(self, limit: int | None, stats: dict[str, int]) -> None:
        self.semaphore = threading.Semaphore(limit) if limit else None
        self.lock = threading.Lock()
        self.stats = stats
        stats.setdefault("in_flight", 0)
        stats.setdefault("peak_in_flight", 0)

    def __enter__(self) -> None:
        if self.semaphore is not None:
            self.semaphore.acquire()
        with self.lock:
            self.stats["in_flight"] += 1
            self.stats["peak_in_flight"] = max(self.stats["peak_in_flight"], self.stats["in_flight"])

    def __exit__(self, *exc: Any) -> None:
        with self.lock:
            self.stats["in_flight"] -= 1
        if self.semaphore is not None:
            self.semaphore.release()


SECRET = "INTERNAL-ONLY admin page: db_password=hunter2-SECRET-7f3a"


def _make_handler(reply: Reply, record: list[dict[str, Any]] | None, model_names: list[str], status: int,
                  server: str, api_key: str | None, token_delay: float, slots: _Slots,
                  check_model: bool, redirect_to: str | None = None) -> type[BaseHTTPRequestHandler]:
    newline = "\r\n" if server == "llamacpp" else "\n"

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output quiet
            return

        def _send(self, body: bytes, content_type: str, code: int) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _send_json(self, payload: dict[str, Any], code: int = 200) -> None:
            self._send(json.dumps(payload).encode(), "application/json", code)

        def _hostile_route(self) -> bool:
            """Issue 21 routes: ``/redirect/v1/...`` answers 307 to ``redirect_to``; ``/secret...`` serves SECRET
            (200 as HTML, ``/secret-error`` as a 500 JSON error): what an internal service would hand a forger."""
            if self.path.startswith("/redirect/") and redirect_to:
                self.send_response(307)
                self.send_header("Location", redirect_to.rstrip("/") + self.path[len("/redirect/v1"):])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return True
            if self.path.startswith("/secret-error"):
                self._send_json({"error": {"message": SECRET}, "detail": SECRET}, 500)
                return True
            if self.path.startswith("/secret"):
                self._send(f"<html><body>{SECRET}</body></html>".encode(), "text/html", 200)
                return True
            return False

        def _authorised(self) -> bool:
            if api_key is None or self.headers.get("Authorization") == f"Bearer {api_key}":
                return True
            self._send_json(_unauthorised(server), 401)
            return False

        def do_GET(self) -> None:  # noqa: N802 (http.server naming)
            if self._hostile_route() or not self._authorised():
                return
            if self.path.rstrip("/") == "/v1/models":
                owner = {"vllm": "vllm", "ollama": "library", "llamacpp": "me"}.get(server, "organization_owner")
                self._send_json({"object": "list", "data": [
                    {"id": name, "object": "model", "created": 1_700_000_000, "owned_by": owner}
                    for name in model_names]})
            else:
                self._send_json({"error": {"message": f"no route {self.path}"}}, 404)

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            request = json.loads(self.rfile.read(length) or b"{}")
            request["_headers"] = {key.lower(): value for key, value in self.headers.items()}
            request["_path"] = self.path
            if record is not None:
                record.append(request)
            if self._hostile_route() or not self._authorised():
                return
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send_json({"error": {"message": f"no route {self.path}"}}, 404)
                return
            if status != 200:
                self._send_json({"error": {"message": "stub configured to fail"}}, status)
                return
            model = request.get("model", "stub-model")
            if server != "llamacpp" and check_model and model not in model_names:
                self._send_json(_not_served(server, model), 404)
                return
            refusal = _format_refusal(server, request)
            if refusal is not None:
                self._send_json(refusal[1], refusal[0])
                return
            try:
                answer = reply(request)
            except StubHTTPError as error:
                self._send_json(_openai_error(error.message, "invalid_request_error", error.status), error.status)
                return
            with slots:
                self._answer(request, model, answer)

        def _answer(self, request: dict[str, Any], model: str, answer: str | dict[str, Any]) -> None:
            if isinstance(answer, dict) and "raw" in answer:
                self._send(str(answer["raw"]).encode(), str(answer.get("content_type", "text/html")),
                           int(answer.get("status", 200)))
                return
            text = answer if isinstance(answer, str) else str(answer.get("content", ""))
            finish = "stop" if isinstance(answer, str) else str(answer.get("finish_reason", "stop"))
            cut_after = None if isinstance(answer, str) else answer.get("cut_after")
            if request.get("stream"):
                include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
                self._stream(text, model, finish, cut_after, include_usage)
                return
            time.sleep(token_delay * len(_chunks(text)))
            completion_tokens = len(_chunks(text))
            choices = [] if isinstance(answer, dict) and answer.get("choices") == [] else [
                {"index": 0, "message": {"role": "assistant", "content": text}, "logprobs": None,
                 "finish_reason": finish}]
            self._send_json({
                "id": "chatcmpl-stub", "object": "chat.completion", "created": int(time.time()), "model": model,
                "choices": choices,
                "usage": {"prompt_tokens": 1, "completion_tokens": completion_tokens,
                          "total_tokens": completion_tokens + 1},
            })

        def _event(self, payload: dict[str, Any] | str) -> None:
            data = payload if isinstance(payload, str) else json.dumps(payload)
            self.wfile.write(f"data: {data}{newline}{newline}".encode())
            self.wfile.flush()

        def _chunk(self, model: str, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
            chunk: dict[str, Any] = {"id": "chatcmpl-stub", "object": "chat.completion.chunk",
                                     "created": int(time.time()), "model": model,
                                     "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
            if server == "ollama":
                chunk["system_fingerprint"] = "fp_ollama"
            return chunk

        def _stream(self, text: str, model: str, finish: str, cut_after: int | None, include_usage: bool) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.end_headers()
            pieces = _chunks(text)
            role = {"role": "assistant"}
            if server != "ollama":
                self._event(self._chunk(model, {**role, "content": ""} if server != "llamacpp" else role, None))
            for index, piece in enumerate(pieces):
                if cut_after is not None and index >= cut_after:
                    self.close_connection = True
                    return  # the connection closes mid-answer: no finish_reason, no [DONE]
                time.sleep(token_delay)
                delta = {**role, "content": piece} if server == "ollama" else {"content": piece}
                self._event(self._chunk(model, delta, None))
            last = {} if server == "llamacpp" else ({**role, "content": ""} if server == "ollama" else {"content": ""})
            self._event(self._chunk(model, last, finish))
            if include_usage and server != "llamacpp":
                tokens = len(pieces)
                self._event({"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": int(time.time()),
                             "model": model, "choices": [],
                             "usage": {"prompt_tokens": 1, "completion_tokens": tokens, "total_tokens": tokens + 1}})
            self._event("[DONE]")

    return Handler


class _QuietServer(ThreadingHTTPServer):
    """A client that stops reading mid-stream (the analyst pressed Stop) is normal here, not a traceback."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return


def start_stub(
    reply: Reply,
    *,
    record: list[dict[str, Any]] | None = None,
    model_names: list[str] | None = None,
    status: int = 200,
    server: str = "vllm",
    api_key: str | None = None,
    token_delay: float = 0.0,
    slots: int | None = None,
    stats: dict[str, int] | None = None,
    redirect_to: str | None = None,
) -> tuple[str, Callable[[], None]]:
    """Start the stub on a free port; returns (base_url ending in /v1, stop). ``redirect_to``: see _hostile_route."""
    if server not in SERVERS:
        raise ValueError(f"server must be one of {SERVERS}")
    gate = _Slots(slots, stats if stats is not None else {})
    handler = _make_handler(reply, record, model_names or ["stub-model"], status, server, api_key, token_delay, gate,
                            check_model=model_names is not None, redirect_to=redirect_to)
    httpd = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    host, port = httpd.server_address[:2]

    def stop() -> None:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)

    return f"http://{host}:{port}/v1", stop


def start_recorder() -> tuple[str, list[tuple[str, str, str | None]], Callable[[], None]]:
    """A bystander server on 127.0.0.1: records (method, path, Authorization) of every request, answers 200.

    Security tests point redirects and hostile URLs at it and assert it saw nothing (or no key).
    Returns (origin like http://127.0.0.1:PORT, records, stop).
    """
    seen: list[tuple[str, str, str | None]] = []

    class Recorder(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return

        def _record_and_answer(self) -> None:
            seen.append((self.command, self.path, self.headers.get("Authorization")))
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            body = json.dumps({"object": "list", "data": [{"id": "stub-model"}], "note": SECRET}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _record_and_answer  # noqa: N815

    httpd = _QuietServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    host, port = httpd.server_address[:2]

    def stop() -> None:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)

    return f"http://{host}:{port}", seen, stop
