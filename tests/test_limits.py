"""Limits that keep the service up on an open network: the request rate per address, wrong
admin keys, feedback size, the corpus hidden without the access key, PDF page/time limits,
and one error format for every 4xx/5xx (the framework's own 404/405 included)."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from assistant.interfaces.api import create_app
from assistant.interfaces.ratelimit import Rate, SlidingWindowLimiter, parse_rate
from ingest.normalize import has_diacritics
from service_helpers import PROBE_QUESTION

ADMIN = "limits-admin-key"


def _vi_error(r, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    if code:
        assert body["error"]["code"] == code, body
    assert has_diacritics(body["error"]["message"]), body
    assert "Traceback" not in r.text and "detail" not in body
    return body["error"]


# --- the limiter itself -----------------------------------------------------------------------


def test_parse_rate():
    assert parse_rate("60/minute") == Rate(60, 60.0)
    assert parse_rate("20/min") == Rate(20, 60.0)
    assert parse_rate("5/second") == Rate(5, 1.0)
    assert parse_rate("1000/hour") == Rate(1000, 3600.0)
    assert parse_rate("5/10s") == Rate(5, 10.0)
    assert not parse_rate("0").enabled and not parse_rate("").enabled and not parse_rate("off").enabled
    for bad in ("lots", "10/fortnight", "-1/minute"):
        with pytest.raises(ValueError):
            parse_rate(bad)


def test_sliding_window_frees_slots_as_time_passes():
    now = [1000.0]
    lim = SlidingWindowLimiter(Rate(3, 60.0), clock=lambda: now[0])
    assert [lim.hit("a")[0] for _ in range(4)] == [True, True, True, False]
    assert lim.hit("b")[0]  # another address has its own count
    allowed, wait = lim.hit("a")
    assert not allowed and 0 < wait <= 60
    now[0] += 61
    assert lim.hit("a")[0]


def test_limiter_forgets_the_oldest_addresses():
    lim = SlidingWindowLimiter(Rate(1, 60.0), max_keys=3)
    for k in ("a", "b", "c", "d"):
        assert lim.hit(k)[0]
    assert len(lim._events) == 3 and lim.hit("a")[0]  # "a" was dropped, so it starts afresh


# --- rate limit through the API ------------------------------------------------------------


def test_burst_of_40_questions_gets_429_after_the_20th(settings, answerer):
    app = create_app(replace(settings, rate_limit="20/minute"), answerer=answerer, web=False)
    with TestClient(app) as c:
        statuses = []
        for _ in range(40):
            r = c.post("/v1/ask", json={"question": PROBE_QUESTION})
            statuses.append(r.status_code)
            last = r
        assert statuses[:20] == [200] * 20, statuses
        assert statuses[20:] == [429] * 20, statuses
        err = _vi_error(last, 429, "too_many_requests")
        assert "giây" in err["message"] and int(last.headers["Retry-After"]) >= 1
        # the same address is limited on every counted path, before the body is read
        _vi_error(c.post("/v1/ask/stream", json={"question": PROBE_QUESTION}), 429)
        _vi_error(c.post("/v1/search", json={"question": PROBE_QUESTION}), 429)
        _vi_error(c.post("/v1/feedback", json={"question": "q", "answer": "a", "rating": "up"}), 429)
        _vi_error(c.post("/v1/documents", files={"file": ("a.txt", b"x")}), 429)
        assert c.get("/healthz").status_code == 200  # probes are not limited
    with TestClient(app, client=("203.0.113.9", 4000)) as other:  # another address is not affected
        assert other.post("/v1/ask", json={"question": PROBE_QUESTION}).status_code == 200


def test_rate_limit_off_with_zero(settings, answerer):
    app = create_app(replace(settings, rate_limit="0"), answerer=answerer, web=False)
    with TestClient(app) as c:
        codes = {c.post("/v1/ask", json={"question": ""}).status_code for _ in range(80)}
    assert codes == {422}


def test_wrong_admin_keys_are_throttled(settings, answerer):
    s = replace(settings, admin_key=ADMIN, rate_limit="0", admin_failures_per_minute=5)
    with TestClient(create_app(s, answerer=answerer, web=False)) as c:
        for _ in range(5):
            _vi_error(c.delete("/v1/documents/nothing", headers={"X-API-Key": "guess"}), 401, "unauthorized")
        _vi_error(c.delete("/v1/documents/nothing", headers={"X-API-Key": "guess"}), 429, "too_many_key_failures")
        # while blocked even the right key waits (a guesser cannot tell a hit from a miss)
        _vi_error(c.delete("/v1/documents/nothing", headers={"X-API-Key": ADMIN}), 429)
        _vi_error(c.post("/v1/documents", files={"file": ("a.txt", b"x")}, headers={"X-API-Key": "guess"}), 429)
    with TestClient(create_app(s, answerer=answerer, web=False), client=("198.51.100.7", 1)) as other:
        _vi_error(other.delete("/v1/documents/nothing", headers={"X-API-Key": ADMIN}), 404, "document_not_found")


# --- feedback ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def open_client(settings, answerer):
    with TestClient(create_app(replace(settings, rate_limit="0"), answerer=answerer, web=False)) as c:
        yield c


def test_100kb_feedback_comment_is_refused(open_client):
    base = {"question": PROBE_QUESTION, "answer": "Trả lời", "rating": "down"}
    err = _vi_error(open_client.post("/v1/feedback", json={**base, "comment": "x" * 100_000}), 422, "invalid_request")
    assert "comment" in err["message"]
    _vi_error(open_client.post("/v1/feedback", json={**base, "comment": "y" * 2001}), 422)
    assert open_client.post("/v1/feedback", json={**base, "comment": "Góp ý " * 300}).status_code == 201  # 1,800 chars


def test_feedback_body_over_its_cap_is_413(open_client):
    body = {"question": "q", "answer": "a", "rating": "up", "citations": [{"text": "z" * 100_000}] * 3}
    _vi_error(open_client.post("/v1/feedback", json=body), 413, "request_too_large")


def test_feedback_needs_the_access_key_when_set(settings, answerer):
    s = replace(settings, api_key="access-key", rate_limit="0")
    with TestClient(create_app(s, answerer=answerer, web=False)) as c:
        body = {"question": "q", "answer": "a", "rating": "up"}
        _vi_error(c.post("/v1/feedback", json=body), 401, "unauthorized")
        assert c.post("/v1/feedback", json=body, headers={"X-API-Key": "access-key"}).status_code == 201


# --- corpus not served without the access key ------------------------------------------------------


def test_corpus_hidden_without_access_key_in_api_and_web(settings, answerer, store):
    s = replace(settings, api_key="access-key", admin_key=ADMIN, rate_limit="0")
    app = create_app(s, answerer=answerer, web=True)
    rt = app.state.runtime
    ids = [d.meta.doc_id for d in store.documents()]
    with TestClient(app) as c:
        _vi_error(c.get("/v1/documents"), 401)
        page = c.get("/").text + c.get("/config").text
        assert not any(i in page for i in ids)
        assert not any(p in page for p in ("Khánh Hòa", "Tây Ninh", "Kiên Giang"))  # no province choices
        assert c.get("/v1/documents", headers={"X-API-Key": "access-key"}).json()["count"] == len(ids)
    assert not rt.may_see_corpus(None, None) and not rt.may_see_corpus("wrong", "wrong")
    assert rt.may_see_corpus("access-key", None) and rt.may_see_corpus(None, ADMIN)


# --- one error format ---------------------------------------------------------------------------


def test_framework_errors_in_the_error_format_with_the_web_app_mounted(settings, answerer):
    with TestClient(create_app(replace(settings, rate_limit="0"), answerer=answerer, web=True)) as c:
        _vi_error(c.get("/v1/nothing"), 404, "not_found")
        _vi_error(c.post("/v1/nothing", json={}), 404, "not_found")
        _vi_error(c.put("/v1/ask", json={"question": "x"}), 405, "method_not_allowed")
        _vi_error(c.get("/v1/ask"), 405, "method_not_allowed")
        _vi_error(c.get("/v1/documents/x/y"), 404)
        for body, ctype in ((b"0", "application/json"), (b"hello", "text/plain"), (b"[1, 2]", "application/json"),
                            (b"\xff\xfe", "application/json"), (b"", "application/json")):
            err = _vi_error(c.post("/v1/ask", content=body, headers={"content-type": ctype}), 422)
            assert "'0'" not in err["message"] and "JSON" in err["message"], err
        assert c.get("/healthz").status_code == 200 and c.get("/").status_code == 200


# --- PDF limits ---------------------------------------------------------------------------------


def _pdf(pages: int) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for i in range(pages):
        pdf.add_page()
        pdf.cell(0, 10, f"Trang {i + 1}: Ho tro hop tac xa nuoi ong mat.")
    return bytes(pdf.output())


def test_pdf_page_and_time_limits():
    from ingest.loaders import PdfLimits, pdf_to_text
    from ingest.types import IngestError

    data = _pdf(12)
    assert "nuoi ong mat" in pdf_to_text(data, "ok.pdf", PdfLimits(max_pages=12, timeout_s=60))
    with pytest.raises(IngestError) as e:
        pdf_to_text(data, "long.pdf", PdfLimits(max_pages=10))
    assert e.value.code == "pdf_too_many_pages" and "10 trang" in e.value.message_vi
    with pytest.raises(IngestError) as e:
        pdf_to_text(data, "slow.pdf", PdfLimits(timeout_s=1e-9))
    assert e.value.code == "pdf_timeout" and has_diacritics(e.value.message_vi)


def test_pdf_over_the_page_limit_is_refused_on_upload_and_the_index_is_untouched(settings, answerer, store):
    s = replace(settings, admin_key=ADMIN, rate_limit="0")
    before = [(d.meta.doc_id, d.chunk_count) for d in store.documents()]
    with TestClient(create_app(s, answerer=answerer, web=False)) as c:
        files = {"file": ("qua_dai.pdf", io.BytesIO(_pdf(501)), "application/pdf")}
        err = _vi_error(c.post("/v1/documents", files=files, headers={"X-API-Key": ADMIN}), 422, "pdf_too_many_pages")
        assert "500" in err["message"]
    assert [(d.meta.doc_id, d.chunk_count) for d in store.documents()] == before
    assert not (s.corpus_dir / "qua_dai.pdf").exists()
