"""A small local server speaking the OpenAI chat-completions protocol, for tests.

It stands in for the external boundary (Ollama / vLLM / llama.cpp / OpenAI): the answering
chain talks to it over HTTP with its own client (``assistant.answering.llm``).

- ``POST /v1/chat/completions`` (and ``/chat/completions``), JSON or streaming
  (``"stream": true`` -> Server-Sent Events ``data: {...}`` chunks with
  ``choices[0].delta.content``, then ``data: [DONE]``);
- scriptable: ``server.script(fn)`` where ``fn(request_json) -> Reply``; a Reply carries
  the content, an HTTP status with an error code and message, a delay before the response
  headers, a slow first token (headers at once, then ": ping" SSE comments until the first
  token, like llama.cpp reading a long prompt), an endless stream (the content, then the
  content again and pings, never finishing: a repetition loop), and a prompt-length limit
  above which the reply is a 400 ``context_length_exceeded`` error;
- every request body is recorded in ``server.requests``; ``server.disconnects`` counts
  streams the client closed before they finished (the server "stops generating").

Binds 127.0.0.1 on a random port in 20000-60000, serves from a daemon thread. Every loop is
bounded (``Reply.max_stream_s``).

``python tests/fake_openai_server.py`` serves :class:`MixedBehaviour` (each of those behaviours
for a stable share of the questions) and prints its base URL, for ``htx bench --llm``.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import zlib
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable


@dataclass
class Reply:
    content: str = ""
    status: int = 200
    delay_s: float = 0.0  # before the response headers
    chunk_size: int = 12  # characters per streamed delta
    error_code: str | None = None  # with a non-200 status
    error_message: str = "scripted failure"
    first_token_delay_s: float = 0.0  # streaming: headers at once, pings, then the first token
    endless: bool = False  # streaming: repeat the content with pings between, never [DONE]
    ping_s: float = 0.5  # keep-alive ": ping" comment interval
    max_prompt_chars: int | None = None  # longer prompts get a 400 context_length_exceeded
    max_stream_s: float = 30.0  # bound on any stream of this fake


def prompt_chars(req: dict[str, Any]) -> int:
    return sum(len(str(m.get("content", ""))) for m in req.get("messages", []))


def context_error(req: dict[str, Any], limit: int) -> Reply:
    """A 400 as llama.cpp / vLLM / OpenAI send it when the prompt is too long."""
    n = prompt_chars(req)
    return Reply(status=400, error_code="context_length_exceeded",
                 error_message=f"This model's maximum context length is {limit} characters. However, your messages "
                               f"resulted in {n} characters. Please reduce the length of the messages.")


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
        self.disconnects = 0  # streams closed by the client before they finished
        self.disconnected = threading.Event()
        self._fn: Callable[[dict[str, Any]], Reply] = lambda req: Reply("Xin chào.")
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # --- scripting ---------------------------------------------------------------------
    def script(self, fn: Callable[[dict[str, Any]], Reply]) -> None:
        self._fn = fn
        self.requests.clear()
        self.disconnects = 0
        self.disconnected.clear()

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
        if reply.max_prompt_chars is not None and prompt_chars(req) > reply.max_prompt_chars:
            reply = context_error(req, reply.max_prompt_chars)
        if reply.delay_s:
            time.sleep(reply.delay_s)
        model = req.get("model", "fake")
        if reply.status != 200:
            err = {"message": reply.error_message, "type": "invalid_request_error" if reply.status < 500 else "server_error"}
            if reply.error_code:
                err["code"] = reply.error_code
            self._send_json(reply.status, {"error": err})
            return
        if not req.get("stream"):
            self._send_json(200, _completion(reply.content, model))
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            self._stream(reply, model)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, OSError):
            self.server_ref.disconnects += 1
            self.server_ref.disconnected.set()

    def _event(self, ev: dict[str, Any]) -> None:
        self.wfile.write(f"data: {json.dumps(ev, ensure_ascii=False)}\n\n".encode("utf-8"))
        self.wfile.flush()

    def _ping(self) -> None:
        self.wfile.write(b": ping\n\n")
        self.wfile.flush()

    def _stream(self, reply: Reply, model: str) -> None:
        started = time.monotonic()
        self._event(_chunk({"role": "assistant", "content": ""}, model))
        while time.monotonic() - started < min(reply.first_token_delay_s, reply.max_stream_s):
            time.sleep(min(reply.ping_s, max(0.0, reply.first_token_delay_s - (time.monotonic() - started))))
            self._ping()
        text = reply.content
        while True:
            for i in range(0, len(text), max(1, reply.chunk_size)):
                self._event(_chunk({"content": text[i:i + reply.chunk_size]}, model))
            if not reply.endless:
                break
            if time.monotonic() - started >= reply.max_stream_s:
                return  # bounded: give up without [DONE]
            time.sleep(reply.ping_s)
            self._ping()
        self._event(_chunk({}, model, "stop"))
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


# --- a standalone server for `htx bench --llm` against the fake -----------------------------

def _question_of(req: dict[str, Any]) -> str:
    text = next((str(m.get("content", "")) for m in req.get("messages", []) if m.get("role") == "user"), "")
    return text.split("<cau_hoi>", 1)[-1].split("</cau_hoi>", 1)[0].strip()


def _passages_of(req: dict[str, Any]) -> dict[int, str]:
    text = next((str(m.get("content", "")) for m in req.get("messages", []) if m.get("role") == "user"), "")
    block = text.split("<tai_lieu>", 1)[-1].split("</tai_lieu>", 1)[0]
    found = re.finditer(r"\[(\d+)\] \([^\n]*\)\n(.*?)(?=\n\n\[\d+\] \(|\Z)", block, re.DOTALL)
    return {int(m.group(1)): m.group(2).strip() for m in found}


def _sentence_of(body: str) -> str:
    lines = sorted((ln.strip() for ln in body.split("\n") if len(ln.split()) > 4), key=len, reverse=True) or [body]
    line = re.sub(r"^(?:[-+]|[a-zđ]\)|\d+\.)\s*", "", lines[0])
    return re.split(r"(?<=[.;])\s", line)[0].rstrip(";")


class MixedBehaviour:
    """Per question (stable by a hash of it), one of the behaviours a real server showed:
    a good cited reply (4 in 9), an echo of the question, a sentence cited to the wrong
    passage, a slow first token, an endless stream with pings, a context-length error that the
    shrunk retry fixes."""

    KINDS = ("good", "good", "good", "good", "echo", "wrong_passage", "slow_first_token", "endless", "context_length")

    def __init__(self, slow_s: float = 30.0) -> None:
        self.slow_s = slow_s
        self.limits: dict[str, int] = {}
        self.lock = threading.Lock()

    def __call__(self, req: dict[str, Any]) -> Reply:
        question = _question_of(req)
        if "Câu hỏi độc lập" in str(req.get("messages", "")):
            return Reply(question)  # a condenser that changes nothing
        passages = _passages_of(req)
        kind = self.KINDS[zlib.crc32(question.encode("utf-8")) % len(self.KINDS)]
        good = "\n".join(f"- {_sentence_of(passages[n])} [{n}]" for n in sorted(passages)[:3])
        if kind == "echo":
            return Reply(f"- {question} [1]")
        if kind == "wrong_passage" and len(passages) >= 2:
            return Reply(f"- {_sentence_of(passages[len(passages)])} [1]")
        if kind == "slow_first_token":
            return Reply(good, first_token_delay_s=self.slow_s)
        if kind == "endless":
            return Reply(f"- {_sentence_of(passages[1])} [1]\n", endless=True)
        if kind == "context_length":
            with self.lock:
                limit = self.limits.setdefault(question, prompt_chars(req) - 1)
            return Reply(good.split("\n")[0], max_prompt_chars=limit)
        return Reply(good)


if __name__ == "__main__":
    import argparse
    import sys

    ap = argparse.ArgumentParser(description="fake OpenAI-compatible server for `htx bench --llm`")
    ap.add_argument("--seconds", type=float, default=900.0, help="stop after this long")
    ap.add_argument("--slow-s", type=float, default=30.0, help="first-token delay of the slow behaviour")
    a = ap.parse_args()
    srv = FakeOpenAIServer().start()
    srv.script(MixedBehaviour(a.slow_s))
    sys.stdout.write(srv.base_url + "\n")
    sys.stdout.flush()
    try:
        time.sleep(a.seconds)
    finally:
        srv.stop()
