"""The service as users get it: `htx serve` in its own process on loopback, over real HTTP."""

from __future__ import annotations

import concurrent.futures as cf

import httpx
import pytest

from ingest.normalize import has_diacritics
from service_helpers import (
    PROBE_QUESTION,
    SMALL_DOC,
    StreamedMultipart,
    copy_data_dir,
    parse_sse,
    raw_upload,
    start_server,
)

pytestmark = [pytest.mark.server, pytest.mark.slow]

ADMIN = "server-admin-key"
UPLOAD_LIMIT = 2 * 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory, store, settings):
    """A copy of the indexed bundled corpus served by a real process (admin key, 2 MB uploads)."""
    d = copy_data_dir(settings.data_dir, tmp_path_factory.mktemp("serverdata"))
    srv = start_server(d, tmp_path_factory.mktemp("serverlogs"),
                       {"HTX_ADMIN_KEY": ADMIN, "HTX_MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT), "HTX_RATE_LIMIT": "0"})
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, timeout=120) as c:
        yield c


def _probe(http) -> dict:
    r = http.post("/v1/ask", json={"question": PROBE_QUESTION})
    assert r.status_code == 200, r.text
    b = r.json()
    return {"answer": b["answer"], "citations": [(c["n"], c["chunk_id"]) for c in b["citations"]]}


@pytest.fixture(scope="module")
def baseline(http):
    return {"probe": _probe(http), "docs": http.get("/v1/documents").json()}


def _vi_error(r, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    if code:
        assert err["code"] == code
    assert has_diacritics(err["message"])
    return err


def test_health_and_ready(http, server):
    assert http.get("/healthz").json()["status"] == "ok"
    ready = http.get("/readyz").json()
    assert ready["status"] == "ready" and ready["documents"] == 5
    assert server.proc.poll() is None


def test_ask_over_http(http, baseline):
    r = http.post("/v1/ask", json={"question": PROBE_QUESTION})
    assert r.status_code == 200
    body = r.json()
    assert body["citations"] and len({c["province"] for c in body["citations"]}) >= 2
    assert body["answer"] == baseline["probe"]["answer"]


def test_sse_stream(http):
    with http.stream("POST", "/v1/ask/stream", json={"question": PROBE_QUESTION}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = parse_sse(r.iter_lines())
    kinds = [e for e, _ in events]
    assert kinds[0] == "delta" and kinds[-1] == "answer" and "error" not in kinds, kinds
    final = events[-1][1]
    assert final["citations"] and "".join(d["text"] for e, d in events if e == "delta").strip() == final["answer"].strip()


def test_concurrent_requests(http, server, baseline):
    """Many askers at once: all answered, identical answers for the same question."""
    questions = [PROBE_QUESTION, "Liên minh HTX tỉnh được giao những nhiệm vụ gì?", "Sở Tài chính phải làm gì để hỗ trợ HTX?"]

    def ask(i: int):
        with httpx.Client(base_url=server.url, timeout=180) as c:
            r = c.post("/v1/ask", json={"question": questions[i % 3]})
            return i % 3, r.status_code, r.json().get("answer")

    with cf.ThreadPoolExecutor(12) as pool:
        results = list(pool.map(ask, range(24)))
    assert all(status == 200 for _, status, _ in results), results
    by_q: dict[int, set] = {}
    for qi, _, ans in results:
        by_q.setdefault(qi, set()).add(ans)
    assert all(len(a) == 1 for a in by_q.values())
    assert by_q[0] == {baseline["probe"]["answer"]}


def test_bad_questions(http):
    _vi_error(http.post("/v1/ask", json={"question": ""}), 422, "empty_question")
    _vi_error(http.post("/v1/ask", json={"question": "x" * 100_000}), 413, "question_too_long")
    _vi_error(http.post("/v1/ask", content=b"nope", headers={"content-type": "application/json"}), 422)


def test_200mb_upload_refused_before_the_body(server):
    body = StreamedMultipart("big.txt", 200 * 1024 * 1024)
    status, payload, sent = raw_upload(server.port, body, ADMIN, chunked=False, max_send=0)
    assert status == 413, payload
    assert payload["error"]["code"] == "file_too_large" and has_diacritics(payload["error"]["message"])
    assert sent == 0  # the answer came on the headers alone


def test_oversized_chunked_upload_stopped_while_streaming(server):
    body = StreamedMultipart("big.txt", 200 * 1024 * 1024)
    status, payload, sent = raw_upload(server.port, body, ADMIN, chunked=True, max_send=200 * 1024 * 1024)
    assert status == 413, payload
    assert payload["error"]["code"] == "file_too_large"
    assert sent < 40 * 1024 * 1024  # stopped near the 2 MB limit, not after 200 MB


def test_bad_uploads(http, server):
    h = {"X-API-Key": ADMIN}
    _vi_error(http.post("/v1/documents", files={"file": ("x.txt", bytes(range(256)) * 40)}, headers=h), 415, "content_mismatch")
    _vi_error(http.post("/v1/documents", files={"file": ("../../x.txt", SMALL_DOC.encode())}, headers=h), 400, "invalid_filename")
    _vi_error(http.post("/v1/documents", files={"file": ("x.exe", b"MZ" * 10)}, headers=h), 415, "unsupported_type")
    _vi_error(http.post("/v1/documents", files={"file": ("x.txt", SMALL_DOC.encode())}), 401, "unauthorized")
    _vi_error(http.delete("/v1/documents/khong-co", headers=h), 404, "document_not_found")
    assert not list(server.data_dir.parent.glob("x.txt"))


def test_upload_and_delete(http, server, baseline):
    h = {"X-API-Key": ADMIN}
    r = http.post("/v1/documents", files={"file": ("ong_mat_binh_phuoc.txt", SMALL_DOC.encode("utf-8"), "text/plain")}, headers=h)
    assert r.status_code == 201, r.text
    doc_id = r.json()["doc_id"]
    assert (server.data_dir / "corpus" / "ong_mat_binh_phuoc.txt").exists()
    assert http.get("/readyz").json()["documents"] == 6
    r = http.post("/v1/ask", json={"question": "Bao nhiêu hợp tác xã nuôi ong mật được thành lập mới?",
                                   "filters": {"doc_ids": [doc_id]}})
    assert r.status_code == 200 and {c["doc_id"] for c in r.json()["citations"] + r.json()["related"]} == {doc_id}
    assert http.delete(f"/v1/documents/{doc_id}", headers=h).status_code == 200
    assert http.get("/readyz").json()["documents"] == 5


def test_index_answers_as_before(http, baseline):
    assert http.get("/v1/documents").json() == baseline["docs"]
    assert _probe(http) == baseline["probe"]


def test_web_app_served(http):
    r = http.get("/")
    assert r.status_code == 200 and "<html" in r.text.lower()
    assert http.get("/docs").status_code == 200
