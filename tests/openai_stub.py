"""A tiny OpenAI-compatible server on 127.0.0.1 for tests (no network, no real model).

    base_url, stop = start_stub(lambda request: '{"answer": 1}')
    ...  # POST {base_url}/chat/completions, GET {base_url}/models
    stop()

``reply`` receives the decoded JSON request body of each ``/v1/chat/completions`` call and returns
the assistant's text, or a dict ``{"content": str, "finish_reason": "length"}`` to fake a truncated
answer, or raises ``StubHTTPError(status, message)`` to answer with an HTTP error (e.g. a server
that rejects ``response_format``). Every request is also appended to ``stub.requests`` (via ``start_stub(...,
record=list)``) so tests can assert on what the client sent (messages, response_format, seed, ...).
``base_url`` ends in ``/v1`` as OpenAI clients expect. Streaming requests (``"stream": true``) get
server-sent events, one chunk per whitespace-separated piece of the reply, then ``data: [DONE]``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = Callable[[dict[str, Any]], "str | dict[str, str]"]


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


def _make_handler(
    reply: Reply, record: list[dict[str, Any]] | None, model_names: list[str], status: int
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output quiet
            return

        def _send_json(self, payload: dict[str, Any], code: int = 200) -> None:
            body = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (http.server naming)
            if self.path.rstrip("/") == "/v1/models":
                self._send_json({"object": "list", "data": [{"id": name, "object": "model"} for name in model_names]})
            else:
                self._send_json({"error": {"message": f"no route {self.path}"}}, 404)

        def do_POST(self) -> None:  # noqa: N802
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send_json({"error": {"message": f"no route {self.path}"}}, 404)
                return
            length = int(self.headers.get("Content-Length") or 0)
            request = json.loads(self.rfile.read(length) or b"{}")
            request["_headers"] = {key.lower(): value for key, value in self.headers.items()}
            if record is not None:
                record.append(request)
            if status != 200:
                self._send_json({"error": {"message": "stub configured to fail"}}, status)
                return
            try:
                answer = reply(request)
            except StubHTTPError as error:
                self._send_json({"error": {"message": error.message, "type": "invalid_request_error"}}, error.status)
                return
            text = answer if isinstance(answer, str) else str(answer.get("content", ""))
            finish = "stop" if isinstance(answer, str) else str(answer.get("finish_reason", "stop"))
            model = request.get("model", "stub-model")
            if request.get("stream"):
                self._stream(text, model, finish)
                return
            completion_tokens = len(_chunks(text))
            self._send_json(
                {
                    "id": "chatcmpl-stub",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": completion_tokens, "total_tokens": completion_tokens + 1},
                }
            )

        def _stream(self, text: str, model: str, finish: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for piece in _chunks(text):
                event = {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "model": model,
                         "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
            final = {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "model": model,
                     "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}
            self.wfile.write(f"data: {json.dumps(final)}\n\ndata: [DONE]\n\n".encode())
            self.wfile.flush()

    return Handler


def start_stub(
    reply: Reply,
    *,
    record: list[dict[str, Any]] | None = None,
    model_names: list[str] | None = None,
    status: int = 200,
) -> tuple[str, Callable[[], None]]:
    """Start the stub on a free port; returns (base_url ending in /v1, stop)."""
    handler = _make_handler(reply, record, model_names or ["stub-model"], status)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return f"http://{host}:{port}/v1", stop
