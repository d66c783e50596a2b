"""A small stdlib server speaking the OpenAI embeddings protocol, for tests and ``htx bench``.

It stands in for the external boundary (Text Embeddings Inference, vLLM, Ollama):
``POST /v1/embeddings`` with ``{"model", "input": str | [str]}`` answers
``{"object": "list", "data": [{"index", "embedding"}], "model", "usage"}``.

- Vectors are deterministic: a hashed bag of words (lower-cased word tokens, the e5 prefixes
  ``query:`` / ``passage:`` ignored), so texts sharing words are close;
- ``fail_next(n, status=503)``: the next ``n`` requests get that status (retries);
- ``stop()``: the port closes (unreachable);
- every request is recorded in ``requests`` (inputs, model, Authorization header).

Binds 127.0.0.1 on a free port, serves from a daemon thread.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

_WORD = re.compile(r"\w+", re.UNICODE)
_PREFIX = re.compile(r"^\s*(query|passage)\s*:\s*", re.IGNORECASE)


def bag_of_words_vector(text: str, dim: int) -> list[float]:
    vec = np.zeros(dim, dtype=np.float64)
    for token in _WORD.findall(_PREFIX.sub("", text).lower()):
        h = int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")
        vec[h % dim] += 1.0 if (h >> 32) & 1 else -1.0
    if not vec.any():
        vec[0] = 1.0
    return (vec / np.linalg.norm(vec)).round(6).tolist()


class FakeEmbeddingServer:
    def __init__(self, dim: int = 128, model: str = "fake/bow-e5") -> None:
        self.dim = dim
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self._fail: list[int] = []  # statuses for the next requests
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self.port = 0

    # --- control ---------------------------------------------------------------------
    def fail_next(self, n: int, status: int = 503) -> None:
        with self._lock:
            self._fail.extend([status] * n)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def inputs(self) -> list[str]:
        return [t for r in self.requests if r.get("status") == 200 for t in r["input"]]

    # --- lifecycle -------------------------------------------------------------------
    def start(self) -> "FakeEmbeddingServer":
        server = self

        class Handler(BaseHTTPRequestHandler):
            # One request per connection: after stop() nothing is left serving a kept-alive socket.
            protocol_version = "HTTP/1.0"

            def log_message(self, *args):  # quiet
                pass

            def _send(self, status: int, body: dict[str, Any]) -> None:
                raw = json.dumps(body).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self):  # noqa: N802 - http.server naming
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    req = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    return self._send(400, {"error": {"message": "invalid JSON"}})
                if self.path.rstrip("/") not in ("/v1/embeddings", "/embeddings"):
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                texts = req.get("input")
                texts = [texts] if isinstance(texts, str) else list(texts or [])
                record = {"model": req.get("model"), "input": texts,
                          "authorization": self.headers.get("Authorization")}
                with server._lock:
                    status = server._fail.pop(0) if server._fail else 200
                    record["status"] = status
                    server.requests.append(record)
                if status != 200:
                    return self._send(status, {"error": {"message": "temporarily unavailable"}})
                if req.get("model") != server.model:
                    record["status"] = 404
                    return self._send(404, {"error": {"message": f"model {req.get('model')!r} not found"}})
                data = [{"object": "embedding", "index": i, "embedding": bag_of_words_vector(t, server.dim)}
                        for i, t in enumerate(texts)]
                data.reverse()  # clients must order by "index", not by position
                self._send(200, {"object": "list", "data": data, "model": server.model,
                                 "usage": {"prompt_tokens": len(texts), "total_tokens": len(texts)}})

        from evals.loadtest import free_port

        for _ in range(20):
            port = free_port()
            try:
                self._httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
                break
            except OSError:
                continue
        if self._httpd is None:
            raise RuntimeError("no free port on 127.0.0.1")
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        threading.Thread(target=self._httpd.serve_forever, name="fake-embeddings", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "FakeEmbeddingServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
