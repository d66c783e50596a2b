"""Helpers for the service tests: a real `htx serve` subprocess on loopback, SSE parsing,
streamed multipart bodies and raw-socket uploads (to see what a server does before the body)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx

from evals.loadtest import copy_data_dir, free_port, stop_process  # noqa: F401  (shared with the load test)

REPO = Path(__file__).resolve().parent.parent
PROBE_QUESTION = "Sở Công Thương phải làm gì?"

SMALL_DOC = """KẾ HOẠCH
Phát triển hợp tác xã nuôi ong mật giai đoạn 2024-2025 (văn bản thử nghiệm)

I. MỤC TIÊU
1. Thành lập mới 07 hợp tác xã nuôi ong mật trên địa bàn tỉnh Bình Phước trong năm 2025.
2. Đào tạo kỹ thuật nuôi ong cho 300 thành viên hợp tác xã.

II. NHIỆM VỤ
1. Sở Nông nghiệp và Phát triển nông thôn
Chủ trì hướng dẫn kỹ thuật nuôi ong mật an toàn sinh học cho các hợp tác xã.
2. Hội Nông dân tỉnh
Phối hợp tuyên truyền, vận động nông dân tham gia hợp tác xã nuôi ong mật.
"""




@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    data_dir: Path
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self) -> None:
        stop_process(self.proc)


def start_server(data_dir: Path, log_dir: Path, env_extra: dict[str, str] | None = None, timeout_s: float = 240) -> Server:
    """`htx serve` on 127.0.0.1:<random port>; returns once /readyz answers 200."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HTX_")}
    env.update({
        "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE", "ANONYMIZED_TELEMETRY": "False",
        "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1",
    })
    env.update(env_extra or {})
    log_path = log_dir / f"server-{port}.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant.interfaces.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--data-dir", str(data_dir)],
        cwd=str(REPO), env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    server = Server(proc, port, data_dir, log_path)
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{server.log_tail()}")
        try:
            r = httpx.get(f"{server.url}/readyz", timeout=5)
            if r.status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"server not ready after {timeout_s} s:\n{server.log_tail()}")


def parse_sse(lines: Iterator[str]) -> list[tuple[str, dict]]:
    """(event, data) pairs from a text/event-stream."""
    events, event, data = [], "message", []
    for line in lines:
        line = line.rstrip("\r\n")
        if not line:
            if data:
                events.append((event, json.loads("\n".join(data))))
            event, data = "message", []
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())
    if data:
        events.append((event, json.loads("\n".join(data))))
    return events


class StreamedMultipart:
    """A multipart/form-data body with one file part whose bytes come from a generator
    (so a test can 'send' hundreds of megabytes without holding them in memory)."""

    def __init__(self, filename: str, size: int, chunk: bytes = b"A" * 65536, field: str = "file"):
        self.boundary = uuid.uuid4().hex
        self.head = (
            f"--{self.boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
            "Content-Type: text/plain\r\n\r\n"
        ).encode("utf-8")
        self.tail = f"\r\n--{self.boundary}--\r\n".encode()
        self.size = size
        self.chunk = chunk
        self.sent = 0  # file bytes handed out so far

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    @property
    def content_length(self) -> int:
        return len(self.head) + self.size + len(self.tail)

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        left = self.size
        while left > 0:
            piece = self.chunk[: min(len(self.chunk), left)]
            left -= len(piece)
            self.sent += len(piece)
            yield piece
        yield self.tail


def raw_upload(port: int, body: StreamedMultipart, api_key: str, chunked: bool, max_send: int,
               timeout_s: float = 60) -> tuple[int, dict, int]:
    """Sends an upload over a raw socket, reading the response as soon as the server answers.

    With ``chunked`` False only the headers (Content-Length of the full body) and the first piece
    are sent before reading; with ``chunked`` True, body pieces are sent with chunked transfer
    encoding until the server answers or ``max_send`` bytes went out. Returns
    (status, json body, bytes of the file part sent)."""
    import select

    headers = [
        "POST /v1/documents HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        f"X-API-Key: {api_key}",
        f"Content-Type: {body.content_type}",
        "Connection: close",
    ]
    headers.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {body.content_length}")
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
    response = b""
    try:
        sock.sendall(("\r\n".join(headers) + "\r\n\r\n").encode())
        sent = 0
        deadline = time.time() + timeout_s
        pieces = iter(body)
        while time.time() < deadline:
            readable, _, _ = select.select([sock], [], [], 0 if chunked else 0.5)
            if readable:
                break
            if not chunked and sent > 0:
                continue  # headers + first piece sent: wait for the answer
            piece = next(pieces, None)
            if piece is None or sent >= max_send:
                break
            try:
                sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(piece)
        sock.settimeout(timeout_s)
        while True:
            try:
                data = sock.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not data:
                break
            response += data
            if b"\r\n\r\n" in response:
                head, _, rest = response.partition(b"\r\n\r\n")
                length = next((int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")), None)
                if length is not None and len(rest) >= length:
                    break
    finally:
        sock.close()
    head, _, rest = response.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head else 0
    try:
        payload = json.loads(rest.decode("utf-8")) if rest else {}
    except ValueError:
        payload = {"raw": rest[:200].decode("latin-1")}
    return status, payload, body.sent
