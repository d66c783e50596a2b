"""One writer per embedded index: a real `htx serve` holds the writer lock of its data dir, and
`htx ingest` / `htx remove` on the same folder are refused with a Vietnamese message while the
service keeps answering as before."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from index.lock import IndexLockedError, WriterLock, index_writer
from ingest.normalize import has_diacritics
from service_helpers import REPO, SMALL_DOC, start_server

QUESTION = "Sở Nông nghiệp và Phát triển nông thôn phải làm gì với hợp tác xã nuôi ong?"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HTX_") and k != "CHROMA_HOST"}
    env.update({"OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE", "ANONYMIZED_TELEMETRY": "False"})
    return env


def htx(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assistant.interfaces.cli", *args], cwd=str(REPO), env=_env(),
                          capture_output=True, text=True, timeout=timeout)


def _index_fingerprint(index_dir: Path) -> str:
    h = hashlib.sha1()
    for f in sorted(p for p in index_dir.rglob("*") if p.is_file() and p.name != ".lock"):
        h.update(str(f.relative_to(index_dir)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def test_lock_refuses_a_second_writer_in_process(tmp_path):
    with WriterLock(tmp_path / "index", "serve") as first:
        assert first.held and first.holder()["role"] == "serve"
        with pytest.raises(IndexLockedError) as e:
            WriterLock(tmp_path / "index", "ingest").acquire()
        assert "htx serve" in e.value.message_vi and str(os.getpid()) in e.value.message_vi
        assert "CHROMA_HOST" in e.value.message_vi and has_diacritics(e.value.message_vi)
        # server mode: writes are serialised by the lease in Chroma, no file lock
        with index_writer(tmp_path / "index", "ingest", server_mode=True) as none:
            assert none is None
    with index_writer(tmp_path / "index", "ingest") as again:  # released: the next writer gets it
        assert again is not None and again.held


@pytest.mark.server
def test_ingest_while_serve_runs_is_refused_and_the_index_still_answers(tmp_path):
    data = tmp_path / "data"
    doc = tmp_path / "ke-hoach-nuoi-ong.txt"
    doc.write_text(SMALL_DOC, encoding="utf-8")
    first = htx("ingest", "--data-dir", str(data), str(doc))
    assert first.returncode == 0, first.stderr
    assert "Tổng kết: 1/1 văn bản" in first.stdout  # the summary line (and the lock was released)

    server = start_server(data, tmp_path, {"HTX_ADMIN_KEY": "khoa-quan-tri"})
    try:
        with httpx.Client(base_url=server.url, timeout=120) as http:
            before = http.post("/v1/ask", json={"question": QUESTION})
            assert before.status_code == 200, before.text
            assert before.json()["citations"], before.json()
            docs_before = http.get("/v1/documents").json()
            fingerprint = _index_fingerprint(data / "index")

            other = tmp_path / "van-ban-khac.txt"
            other.write_text(SMALL_DOC.replace("ong mật", "cá tra"), encoding="utf-8")
            refused = htx("ingest", "--data-dir", str(data), str(other), timeout=120)
            assert refused.returncode != 0
            assert "đang được dịch vụ htx serve ghi" in refused.stderr, refused.stderr
            assert "POST /v1/documents" in refused.stderr and "CHROMA_HOST" in refused.stderr
            assert "Traceback" not in refused.stderr
            removed = htx("remove", "--data-dir", str(data), "ke-hoach-nuoi-ong", timeout=120)
            assert removed.returncode != 0 and "htx serve" in removed.stderr

            assert _index_fingerprint(data / "index") == fingerprint  # nothing was written
            after = http.post("/v1/ask", json={"question": QUESTION})
            assert after.status_code == 200
            assert after.json()["answer"] == before.json()["answer"]
            assert after.json()["citations"] == before.json()["citations"]
            assert http.get("/v1/documents").json() == docs_before
    finally:
        server.stop()
    # the service is gone: the lock went with it
    again = htx("ingest", "-q", "--data-dir", str(data), str(doc))
    assert again.returncode == 0, again.stderr
    assert "không đổi" in again.stdout
