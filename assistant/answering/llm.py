"""The optional generator: an OpenAI-compatible chat server (Ollama, vLLM, llama.cpp, OpenAI).

Used only when ``Settings.llm_base_url`` is set. Prompts are files in ``prompts/``:
``system.txt`` (the rules), ``answer.txt`` (passages + question) and ``condense.txt``
(follow-up -> standalone question), formatted with LangChain prompt templates. Passages are
numbered [1]..[k] and handed over as data inside tags; angle brackets in document or question
text are neutralised so nothing can close the data block and pose as an instruction.

The HTTP side is a small httpx client so that every request is bounded (issue 12):

- ``max_tokens`` and ``frequency_penalty`` are sent with every request;
- every request streams (``"stream": true``, Server-Sent Events), the non-streaming calls too;
- one wall-clock deadline covers a whole answer (retries included). A watchdog thread shuts the
  socket down when it passes, so keep-alive pings (SSE comments) cannot extend it and the
  server sees the connection close and stops generating;
- separate connect and first-token timeouts (the first-token wait covers the server reading
  the prompt, which takes tens of seconds on a CPU);
- a server error keeps its HTTP status, error code and message (:class:`LLMError`).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import httpx

from ingest.types import Chunk

from assistant.settings import Settings
from assistant.answering.types import Turn

log = logging.getLogger("htx.llm")

MAX_ERROR_BODY = 64 * 1024  # bytes of an error response kept for the log
CONDENSE_MAX_TOKENS = 128
_CONTEXT_MARKERS = ("context_length", "context length", "maximum context", "context window", "too many tokens",
                    "exceeds the context", "prompt is too long")


@dataclass(frozen=True)
class Passage:
    """One numbered passage given to the LLM."""

    n: int
    chunk: Chunk
    text: str  # the body the LLM sees (the chunk's normalised text)

    @property
    def header(self) -> str:
        c = self.chunk
        return f"Tỉnh: {c.province or 'không rõ'}; Văn bản: {c.doc_title}; Mục: {c.section or '—'}"

    @property
    def support_text(self) -> str:
        """Everything a cited sentence may rest on: header fields and body."""
        return f"{self.header}\n{self.text}"


class LLMError(Exception):
    """A failed generation. ``reason`` is the short form for ``metadata.fallback_reason``
    (``connect``, ``first_token_timeout``, ``deadline``, ``http_500``,
    ``http_400:context_length_exceeded``...); ``message`` is the server's explanation."""

    def __init__(self, reason: str, message: str = "", status: int | None = None, code: str | None = None):
        super().__init__(f"{reason}: {message}" if message else reason)
        self.reason = reason
        self.message = message
        self.status = status
        self.code = code

    @property
    def context_length(self) -> bool:
        text = f"{self.code or ''} {self.message}".lower()
        return self.status in (400, 413, 422) and any(m in text for m in _CONTEXT_MARKERS)


@dataclass
class CallStats:
    """What one streamed call took (seconds) and how it ended."""

    first_token_s: float | None = None
    total_s: float = 0.0
    finish_reason: str | None = None


def _neutralise(text: str) -> str:
    return text.replace("<", "‹").replace(">", "›").replace("{", "(").replace("}", ")")


def format_passages(passages: Sequence[Passage]) -> str:
    blocks = []
    for p in passages:
        blocks.append(f"[{p.n}] ({_neutralise(p.header)})\n{_neutralise(p.text)}")
    return "\n\n".join(blocks)


def format_history(history: Sequence[Turn], max_turns: int = 6) -> str:
    lines = []
    for t in list(history)[-max_turns:]:
        who = "Người dùng" if t.role == "user" else "Trợ lý"
        lines.append(f"{who}: {_neutralise(t.content.strip())[:800]}")
    return "\n".join(lines)


def load_prompt(settings: Settings, name: str) -> str:
    return (Path(settings.prompts_dir) / name).read_text(encoding="utf-8").strip()


def http_error(status: int, body: bytes) -> LLMError:
    """The error of a non-200 response, with the server's code and message when it sent JSON."""
    message, code = body.decode("utf-8", "replace").strip()[:500], None
    try:
        data = json.loads(body)
        err = data.get("error", data) if isinstance(data, dict) else {}
        if isinstance(err, dict):
            message = str(err.get("message") or err.get("detail") or message)[:500]
            code = err.get("code") or err.get("type")
        elif isinstance(err, str):
            message = err[:500]
    except ValueError:
        pass
    e = LLMError(f"http_{status}", message, status, str(code) if code else None)
    if e.context_length:
        e.code = "context_length_exceeded"
    if e.code and e.code != "server_error":
        e.reason = f"http_{status}:{e.code}"
    return e


class _Watchdog(threading.Thread):
    """Cuts the connection (socket shutdown) when the first-token time or the deadline passes."""

    def __init__(self, deadline_at: float, first_token_at: float):
        super().__init__(name="htx-llm-watchdog", daemon=True)
        self.deadline_at = deadline_at
        self.first_token_at = min(first_token_at, deadline_at)
        self.reason: str | None = None
        self._got_token = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._done = threading.Event()

    def arm(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock
            if self.reason is not None:
                self._cut()

    def token(self) -> None:
        self._got_token = True

    def stop(self) -> None:
        self._done.set()

    def run(self) -> None:
        while not self._done.is_set():
            now = time.monotonic()
            limit = self.deadline_at if self._got_token else self.first_token_at
            if now >= limit:
                with self._lock:
                    early = not self._got_token and self.first_token_at < self.deadline_at
                    self.reason = "first_token_timeout" if early else "deadline"
                    self._cut()
                return
            self._done.wait(limit - now)  # the limit only moves later (first token), so re-check

    def _cut(self) -> None:
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _cut_message(dog: _Watchdog) -> str:
    what = "no token before the first-token timeout" if dog.reason == "first_token_timeout" else "the answer deadline passed"
    return f"{what}; the client closed the connection"


def _socket_of(response: httpx.Response) -> socket.socket | None:
    stream = response.extensions.get("network_stream")
    try:
        return stream.get_extra_info("socket") if stream is not None else None
    except Exception:  # a transport without a socket (never the default one)
        return None


def _piece_of(event: dict[str, Any]) -> tuple[str, str | None]:
    choice = (event.get("choices") or [{}])[0] or {}
    delta = choice.get("delta") or choice.get("message") or {}
    piece = delta.get("content") if isinstance(delta, dict) else None
    if piece is None:
        piece = choice.get("text")
    return piece or "", choice.get("finish_reason")


class ChatHTTP:
    """Streams one chat completion over HTTP within a wall-clock deadline."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.url = settings.llm_base_url.rstrip("/") + "/chat/completions"
        self.headers = {"Authorization": f"Bearer {settings.llm_api_key or 'not-needed'}", "Accept": "text/event-stream"}

    def stream(self, messages: list[dict[str, str]], deadline_at: float, max_tokens: int,
               stats: CallStats | None = None) -> Iterator[str]:
        """Yield content pieces; raise :class:`LLMError` on any failure. ``deadline_at`` is a
        ``time.monotonic()`` instant; the first-token timeout counts from this call."""
        s = self.settings
        stats = stats if stats is not None else CallStats()
        start = time.monotonic()
        left = max(0.05, deadline_at - start)
        first_at = start + s.llm_first_token_timeout_s
        body: dict[str, Any] = {"model": s.llm_model, "messages": messages, "stream": True, "temperature": 0,
                                "max_tokens": max_tokens}
        if s.llm_frequency_penalty:
            body["frequency_penalty"] = s.llm_frequency_penalty
        # Before the response headers arrive, httpx's own timeouts bound the wait; afterwards the
        # watchdog does (a per-read timeout would be reset by every keep-alive ping).
        wait = max(0.05, min(s.llm_first_token_timeout_s, left))
        timeout = httpx.Timeout(connect=min(s.llm_connect_timeout_s, left), read=wait, write=wait, pool=wait)
        dog = _Watchdog(deadline_at, first_at)
        dog.start()
        got_token = False
        try:
            with httpx.Client(timeout=timeout) as client:
                with client.stream("POST", self.url, json=body, headers=self.headers) as resp:
                    dog.arm(_socket_of(resp))
                    if resp.status_code != 200:
                        raw = b""
                        for part in resp.iter_bytes():
                            raw += part
                            if len(raw) >= MAX_ERROR_BODY:
                                break
                        raise http_error(resp.status_code, raw)
                    if "json" in resp.headers.get("content-type", ""):  # a server that ignores "stream"
                        piece, stats.finish_reason = _piece_of(json.loads(resp.read() or b"{}"))
                        if piece:
                            stats.first_token_s = time.monotonic() - start
                            yield piece
                        return
                    for line in resp.iter_lines():
                        if dog.reason is not None:
                            break
                        if not line.startswith("data:"):  # blank lines, ": ping" comments, event names
                            continue
                        data = line[5:].strip()
                        if data == "[DONE]":
                            break
                        try:
                            event = json.loads(data)
                        except ValueError:
                            raise LLMError("bad_stream", data[:200]) from None
                        if isinstance(event, dict) and event.get("error"):
                            err = http_error(200, json.dumps(event).encode())
                            err.reason = "stream_error" + (f":{err.code}" if err.code else "")
                            raise err
                        piece, finish = _piece_of(event)
                        if finish:
                            stats.finish_reason = finish
                        if piece:
                            if not got_token:
                                got_token = True
                                dog.token()
                                stats.first_token_s = time.monotonic() - start
                            yield piece
        except LLMError:
            if dog.reason is not None:
                raise LLMError(dog.reason, _cut_message(dog)) from None
            raise
        except (httpx.ConnectError, httpx.ConnectTimeout) as e:
            raise LLMError("connect", str(e) or type(e).__name__) from None
        except httpx.TimeoutException as e:
            late = time.monotonic() >= deadline_at - 0.05
            reason = dog.reason or ("deadline" if late else "read_timeout" if got_token else "first_token_timeout")
            raise LLMError(reason, str(e) or type(e).__name__) from None
        except (httpx.HTTPError, OSError, ValueError) as e:
            raise LLMError(dog.reason or "network", str(e) or type(e).__name__) from None
        finally:
            dog.stop()
            stats.total_s = time.monotonic() - start
        if dog.reason is not None:
            raise LLMError(dog.reason, _cut_message(dog))


class LLMClient:
    """Prompt templates (LangChain) + the bounded HTTP client; one instance per AnswerService."""

    def __init__(self, settings: Settings):
        from langchain_core.messages import SystemMessage
        from langchain_core.prompts import ChatPromptTemplate

        self.settings = settings
        self.system_prompt = load_prompt(settings, "system.txt")
        self.http = ChatHTTP(settings)
        # The system prompt is a fixed message (not a template): braces in it stay literal.
        self.answer_prompt = ChatPromptTemplate.from_messages(
            [SystemMessage(content=self.system_prompt), ("human", load_prompt(settings, "answer.txt"))]
        )
        # Condensing only rewrites a question: its own instructions, without the answering rules.
        self.condense_prompt = ChatPromptTemplate.from_messages([("human", load_prompt(settings, "condense.txt"))])

    def deadline(self) -> float:
        """The monotonic instant by which an answer started now must be finished."""
        return time.monotonic() + self.settings.llm_answer_deadline_s

    def answer_messages(self, question: str, passages: Sequence[Passage]) -> list[dict[str, str]]:
        msgs = self.answer_prompt.format_messages(passages=format_passages(passages), question=_neutralise(question))
        return [_wire(m) for m in msgs]

    def stream(self, question: str, passages: Sequence[Passage], deadline_at: float | None = None,
               stats: CallStats | None = None) -> Iterator[str]:
        yield from self.http.stream(self.answer_messages(question, passages),
                                    self.deadline() if deadline_at is None else deadline_at,
                                    self.settings.llm_max_tokens, stats)

    def answer(self, question: str, passages: Sequence[Passage], deadline_at: float | None = None,
               stats: CallStats | None = None) -> str:
        return "".join(self.stream(question, passages, deadline_at, stats))

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        msgs = self.condense_prompt.format_messages(history=format_history(history), question=_neutralise(question))
        deadline_at = time.monotonic() + min(self.settings.llm_answer_deadline_s, self.settings.llm_first_token_timeout_s + 10)
        out = "".join(self.http.stream([_wire(m) for m in msgs], deadline_at, CONDENSE_MAX_TOKENS)).strip()
        return out.splitlines()[0].strip() if out else ""


def _wire(message) -> dict[str, str]:
    role = {"human": "user", "ai": "assistant"}.get(message.type, message.type)
    return {"role": role, "content": str(message.content)}
