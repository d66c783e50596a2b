"""A small local server speaking the OpenAI chat-completions protocol, for tests.

It stands in for the external boundary (Ollama / vLLM / llama.cpp / OpenAI): the answering
chain talks to it through the real ``langchain_openai.ChatOpenAI`` client over HTTP.

- ``POST /v1/chat/completions`` (and ``/chat/completions``), JSON or streaming
  (``"stream": true`` -> Server-Sent Events ``data: {...}`` chunks with
  ``choices[0].delta.content``, then ``data: [DONE]``);
- scriptable: ``server.script(fn)`` where ``fn(request_json) -> Reply``; a Reply carries
  the content, an HTTP status for errors, or a delay (to provoke client timeouts);
- every request body is recorded in ``server.requests``.

Binds 127.0.0.1 on a random port in 20000-60000, serves from a daemon thread.
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable


@dataclass
class Reply:
    content: str = ""
    status: int = 200
    delay_s: float = 0.0
    chunk_size: int = 12  # characters per streamed delta


def _completion(content: str, model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _chunk(delta: dict[str, Any], model: str, finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


class FakeOpenAIServer:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self._fn: Callable[[dict[str, Any]], Reply] = lambda req: Reply("Xin chào.")
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # --- scripting ---------------------------------------------------------------------
    def script(self, fn: Callable[[dict[str, Any]], Reply]) -> None:
        self._fn = fn
        self.requests.clear()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> "FakeOpenAIServer":
        server = self
        handler = type("Handler", (_Handler,), {"server_ref": server})
        for _ in range(50):
            port = random.randint(20000, 60000)
            try:
                self._httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
                break
            except OSError:
                continue
        if self._httpd is None:
            raise RuntimeError("no free port for the fake OpenAI server")
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "FakeOpenAIServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    server_ref: FakeOpenAIServer
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _send_json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 (http.server naming)
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send_json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
            return
        length = int(self.headers.get("Content-Length") or 0)
        req = json.loads(self.rfile.read(length) or b"{}")
        self.server_ref.requests.append(req)
        reply = self.server_ref._fn(req)
        if reply.delay_s:
            time.sleep(reply.delay_s)
        model = req.get("model", "fake")
        if reply.status != 200:
            self._send_json(reply.status, {"error": {"message": "scripted failure", "type": "server_error"}})
            return
        if not req.get("stream"):
            self._send_json(200, _completion(reply.content, model))
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        events = [_chunk({"role": "assistant", "content": ""}, model)]
        text = reply.content
        for i in range(0, len(text), max(1, reply.chunk_size)):
            events.append(_chunk({"content": text[i:i + reply.chunk_size]}, model))
        events.append(_chunk({}, model, "stop"))
        for ev in events:
            self.wfile.write(f"data: {json.dumps(ev, ensure_ascii=False)}\n\n".encode("utf-8"))
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True
