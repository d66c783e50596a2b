"""The HTTP API in-process (FastAPI TestClient) on the real answering chain and index.

Bad input must get a clear 4xx with a Vietnamese message and must leave the index answering
exactly as before."""

from __future__ import annotations

import io
import json
import sqlite3
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.interfaces.api import create_app
from ingest.normalize import has_diacritics
from service_helpers import PROBE_QUESTION, SMALL_DOC, StreamedMultipart, parse_sse

ADMIN = "admin-key-for-tests"
LONG_QUESTION = "Liên minh HTX tỉnh có nhiệm vụ gì?"  # duties in every province: more points than one answer holds


def _vi_error(r, status: int, code: str | None = None) -> dict:
    """The response is the JSON error shape with a Vietnamese message (and no stack trace)."""
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    assert isinstance(err["code"], str) and err["code"]
    if code:
        assert err["code"] == code, err
    assert has_diacritics(err["message"]), err["message"]
    assert "Traceback" not in r.text and 'File "' not in r.text
    return err


def _probe(client) -> dict:
    r = client.post("/v1/ask", json={"question": PROBE_QUESTION})
    assert r.status_code == 200, r.text
    body = r.json()
    return {"answer": body["answer"], "citations": [(c["n"], c["chunk_id"], c["text"]) for c in body["citations"]],
            "refused": body["refused"]}


@pytest.fixture(scope="module")
def admin_settings(settings):
    # Request and wrong-key limits have their own tests (test_limits.py).
    return replace(settings, admin_key=ADMIN, rate_limit="0", admin_failures_per_minute=0)


@pytest.fixture(scope="module")
def client(admin_settings, answerer):
    with TestClient(create_app(admin_settings, answerer=answerer, web=False)) as c:
        yield c


@pytest.fixture(scope="module")
def baseline(client, store):
    """What the shared index answers and holds before any bad input is thrown at it."""
    return {"probe": _probe(client), "docs": client.get("/v1/documents").json()}


@pytest.fixture(scope="module")
def small_store(tmp_path_factory, store):
    """A separate data dir with one small document, for uploads and deletions that succeed."""
    from conftest import make_settings

    from assistant.runtime import build_answerer, build_store, ingest_paths

    d = tmp_path_factory.mktemp("apidata")
    (d / "corpus").mkdir()
    (d / "corpus" / "ke_hoach_ong_mat.txt").write_text(SMALL_DOC, encoding="utf-8")
    s = make_settings(d, admin_key=ADMIN)
    st = build_store(s, embedder=store.embedder)
    results = ingest_paths(st, [s.corpus_dir], s)
    assert all(r.ok for r in results), results
    return s, build_answerer(s, store=st)


@pytest.fixture(scope="module")
def small_client(small_store):
    s, answerer = small_store
    with TestClient(create_app(s, answerer=answerer, web=False)) as c:
        yield c


# --- health ---------------------------------------------------------------------------------


def test_healthz_and_readyz(client, store):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ready"
    assert body["documents"] == len(store.documents()) == 5
    assert body["chunks"] == sum(d.chunk_count for d in store.documents()) > 0


def test_openapi_docs(client):
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    for path in ("/v1/ask", "/v1/ask/stream", "/v1/documents", "/v1/documents/{doc_id}", "/healthz", "/readyz"):
        assert path in spec["paths"], path
    assert "multipart/form-data" in spec["paths"]["/v1/documents"]["post"]["requestBody"]["content"]


# --- asking ---------------------------------------------------------------------------------


def test_ask_returns_cited_answer(client, baseline):
    r = client.post("/v1/ask", json={"question": PROBE_QUESTION})
    assert r.status_code == 200, r.text
    body = r.json()
    for key in ("answer", "citations", "refused", "mode", "timings_ms"):
        assert key in body
    assert body["refused"] is False
    assert body["citations"], body
    for c in body["citations"]:
        assert {"n", "doc_id", "doc_title", "province", "section", "text"} <= set(c)
        assert c["text"].strip()
    provinces = {c["province"] for c in body["citations"]}
    assert len(provinces) >= 2, provinces  # the agency has duties in several provinces
    numbers = {c["n"] for c in body["citations"]}
    assert any(f"[{n}]" in body["answer"] for n in numbers)


def test_full_answer_on_request(client):
    """The default answer is cut to a budget and says how many points it left out; full=true
    (the web app's "Xem thêm") returns them all, on /v1/ask and /v1/ask/stream alike."""
    short = client.post("/v1/ask", json={"question": LONG_QUESTION}).json()
    more = int(short["metadata"].get("more") or 0)
    assert more > 0, short["answer"]
    full = client.post("/v1/ask", json={"question": LONG_QUESTION, "full": True}).json()
    assert int(full["metadata"].get("more") or 0) == 0
    assert len(full["answer"]) > len(short["answer"])
    assert len(full["citations"]) >= len(short["citations"])
    with client.stream("POST", "/v1/ask/stream", json={"question": LONG_QUESTION, "full": True}) as r:
        final = parse_sse(r.iter_lines())[-1][1]
    assert final["answer"] == full["answer"]
    _vi_error(client.post("/v1/ask", json={"question": PROBE_QUESTION, "full": "rất"}), 422)


def test_ask_with_province_filter(client):
    from ingest.vocab import related_provinces

    allowed = set(related_provinces("Lâm Đồng")) | {None}  # since 2025 Lâm Đồng includes Đắk Nông
    r = client.post("/v1/ask", json={"question": PROBE_QUESTION, "filters": {"provinces": ["Lâm Đồng"]}})
    assert r.status_code == 200, r.text
    cites = r.json()["citations"] + r.json()["related"]
    assert cites and all(c["province"] in allowed for c in cites), cites
    assert any(c["province"] == "Lâm Đồng" for c in cites)


def test_search_is_retrieval_alone(client):
    r = client.post("/v1/search", json={"question": "Quỹ hỗ trợ phát triển hợp tác xã", "k": 3})
    assert r.status_code == 200, r.text
    hits = r.json()["hits"]
    assert len(hits) == 3 and [h["rank"] for h in hits] == [1, 2, 3]
    assert all(h["text"] and h["chunk_id"] for h in hits)
    assert "answer" not in r.json()
    _vi_error(client.post("/v1/search", json={"question": "", "k": 3}), 422)
    _vi_error(client.post("/v1/search", json={"question": "HTX", "k": 500}), 422)


def test_ask_with_history(client):
    first = client.post("/v1/ask", json={"question": PROBE_QUESTION}).json()
    r = client.post("/v1/ask", json={
        "question": "Còn Sở Tài chính thì sao?",
        "history": [{"role": "user", "content": PROBE_QUESTION}, {"role": "assistant", "content": first["answer"]}],
    })
    assert r.status_code == 200, r.text
    assert r.json()["answer"].strip()


def test_stream_sends_deltas_then_the_full_answer(client):
    with client.stream("POST", "/v1/ask/stream", json={"question": PROBE_QUESTION}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = parse_sse(r.iter_lines())
    kinds = [e for e, _ in events]
    assert "delta" in kinds and kinds[-1] == "answer", kinds
    assert kinds.index("delta") < kinds.index("answer")
    final = events[-1][1]
    streamed = "".join(d["text"] for e, d in events if e == "delta")
    assert streamed.strip() == final["answer"].strip()
    plain = client.post("/v1/ask", json={"question": PROBE_QUESTION}).json()
    assert final["answer"] == plain["answer"]
    assert [c["chunk_id"] for c in final["citations"]] == [c["chunk_id"] for c in plain["citations"]]


def test_empty_question(client):
    _vi_error(client.post("/v1/ask", json={"question": ""}), 422, "empty_question")
    _vi_error(client.post("/v1/ask", json={"question": "   \n "}), 422, "empty_question")
    _vi_error(client.post("/v1/ask/stream", json={"question": ""}), 422, "empty_question")


def test_missing_or_malformed_body(client):
    _vi_error(client.post("/v1/ask", json={}), 422, "invalid_request")
    _vi_error(client.post("/v1/ask", json={"question": 42}), 422, "invalid_request")
    _vi_error(client.post("/v1/ask", content=b"{not json", headers={"content-type": "application/json"}), 422)
    _vi_error(client.post("/v1/ask", json={"question": "x", "history": [{"role": "hacker", "content": "y"}]}), 422)


def test_100kb_question_is_refused(client, admin_settings):
    q = "Sở Công Thương phải làm gì? " * 4000  # about 100 KB
    assert len(q.encode()) > 100_000
    err = _vi_error(client.post("/v1/ask", json={"question": q}), 413, "question_too_long")
    assert str(admin_settings.max_question_chars) in err["message"]


def test_oversized_json_body_is_refused_before_reading(client):
    big = json.dumps({"question": "x", "history": [{"role": "user", "content": "a" * 2_000_000}]})
    _vi_error(client.post("/v1/ask", content=big, headers={"content-type": "application/json"}), 413, "request_too_large")
    chunked = iter([big[i:i + 65536].encode() for i in range(0, len(big), 65536)])  # no Content-Length
    _vi_error(client.post("/v1/ask", content=chunked, headers={"content-type": "application/json"}), 413, "request_too_large")


def test_api_key_required_only_when_configured(settings, answerer):
    app = create_app(replace(settings, api_key="secret-ask"), answerer=answerer, web=False)
    with TestClient(app) as c:
        _vi_error(c.post("/v1/ask", json={"question": PROBE_QUESTION}), 401, "unauthorized")
        _vi_error(c.post("/v1/ask", json={"question": PROBE_QUESTION}, headers={"X-API-Key": "wrong"}), 401)
        _vi_error(c.get("/v1/documents"), 401)
        assert c.post("/v1/ask", json={"question": PROBE_QUESTION}, headers={"X-API-Key": "secret-ask"}).status_code == 200
        assert c.get("/healthz").status_code == 200  # probes stay open
    # without HTX_API_KEY anyone may ask (the shared client has none)


def test_unknown_route_and_method_are_json_errors(client):
    _vi_error(client.get("/v1/nothing-here"), 404, "not_found")
    _vi_error(client.put("/v1/ask", json={"question": "x"}), 405, "method_not_allowed")


def test_internal_error_is_json_without_trace(admin_settings, answerer, monkeypatch):
    app = create_app(admin_settings, answerer=answerer, web=False)
    rt = app.state.runtime

    def broken(*a, **k):
        raise RuntimeError("simulated failure deep inside")

    monkeypatch.setattr(rt, "ask", broken)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/v1/ask", json={"question": PROBE_QUESTION})
        err = _vi_error(r, 500, "internal_error")
        assert "simulated" not in r.text and "RuntimeError" not in r.text, err


# --- documents: listing and auth --------------------------------------------------------------


def test_list_documents(client, store):
    r = client.get("/v1/documents")
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 5 == len(body["documents"])
    ids = {d["doc_id"] for d in body["documents"]}
    assert ids == {d.meta.doc_id for d in store.documents()}
    for d in body["documents"]:
        assert d["chunk_count"] > 0 and d["title"] and d["province"]
        assert "source_path" not in d  # server paths are not exposed
    assert {d["province"] for d in body["documents"]} == {"Lâm Đồng", "Khánh Hòa", "Đắk Nông", "Kiên Giang", "Tây Ninh"}


def test_document_changes_refused_without_admin_key_configured(settings, answerer):
    assert settings.admin_key is None
    with TestClient(create_app(settings, answerer=answerer, web=False)) as c:
        files = {"file": ("a.txt", SMALL_DOC.encode(), "text/plain")}
        _vi_error(c.post("/v1/documents", files=files, headers={"X-API-Key": "anything"}), 403, "admin_disabled")
        _vi_error(c.delete("/v1/documents/000_15ea241e59a4e9bb", headers={"X-API-Key": "anything"}), 403, "admin_disabled")
    assert len(c.app.state.runtime.store.documents()) == 5


def test_wrong_or_missing_admin_key(client):
    files = {"file": ("a.txt", SMALL_DOC.encode(), "text/plain")}
    _vi_error(client.post("/v1/documents", files=files), 401, "unauthorized")
    _vi_error(client.post("/v1/documents", files=files, headers={"X-API-Key": "wrong"}), 401, "unauthorized")
    _vi_error(client.delete("/v1/documents/000_15ea241e59a4e9bb", headers={"X-API-Key": "wrong"}), 401)


# --- documents: bad uploads leave the index as it was ---------------------------------------------


def _post_file(client, name: str, data: bytes, ctype: str = "application/octet-stream"):
    return client.post("/v1/documents", files={"file": (name, data, ctype)}, headers={"X-API-Key": ADMIN})


def test_unsupported_extension(client):
    _vi_error(_post_file(client, "virus.exe", b"MZ\x90\x00" * 100), 415, "unsupported_type")
    _vi_error(_post_file(client, "photo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100), 415, "unsupported_type")


def test_binary_file_named_txt(client):
    blob = bytes(range(256)) * 64
    _vi_error(_post_file(client, "notes.txt", blob), 415, "content_mismatch")
    _vi_error(_post_file(client, "notes.md", b"PK\x03\x04" + b"\x00" * 500), 415, "content_mismatch")


def test_fake_pdf_and_docx(client):
    _vi_error(_post_file(client, "plan.pdf", "Không phải PDF".encode() * 50), 415, "content_mismatch")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "a zip, but not a Word document")
    _vi_error(_post_file(client, "plan.docx", buf.getvalue()), 415, "content_mismatch")
    _vi_error(_post_file(client, "plan.docx", b"not a zip at all" * 20), 415, "content_mismatch")


def test_path_traversal_file_names(client, admin_settings):
    for name in ("../../evil.txt", "..\\..\\evil.txt", "/etc/evil.txt", "sub/evil.txt", ".hidden.txt"):
        _vi_error(_post_file(client, name, SMALL_DOC.encode(), "text/plain"), 400, "invalid_filename")
    data_dir = admin_settings.data_dir
    assert not list(data_dir.parent.glob("evil*")) and not list(data_dir.rglob("evil*"))


def test_empty_and_missing_file(client):
    _vi_error(_post_file(client, "empty.txt", b""), 422, "empty_file")
    r = client.post("/v1/documents", files={"note": (None, "no file")}, headers={"X-API-Key": ADMIN})
    _vi_error(r, 400, "missing_file")
    r = client.post("/v1/documents", content=b"plain body", headers={"X-API-Key": ADMIN, "content-type": "text/plain"})
    _vi_error(r, 415, "expected_multipart")


def test_200mb_upload_refused_from_content_length(client, admin_settings):
    body = StreamedMultipart("big.txt", 200 * 1024 * 1024)
    r = client.post(
        "/v1/documents",
        content=iter(body),
        headers={"X-API-Key": ADMIN, "Content-Type": body.content_type, "Content-Length": str(body.content_length)},
    )
    err = _vi_error(r, 413, "file_too_large")
    assert "MB" in err["message"]
    assert body.sent < 1024 * 1024  # refused before the body was read


def test_oversized_upload_refused_while_streaming(admin_settings, answerer):
    """No Content-Length (chunked): the limit is enforced on the bytes as they arrive."""
    s = replace(admin_settings, max_upload_bytes=256 * 1024)
    body = StreamedMultipart("big.txt", 3 * 1024 * 1024)
    with TestClient(create_app(s, answerer=answerer, web=False)) as c:
        r = c.post("/v1/documents", content=iter(body), headers={"X-API-Key": ADMIN, "Content-Type": body.content_type})
    _vi_error(r, 413, "file_too_large")
    assert not list((s.data_dir / "uploads" / "tmp").glob("*/*"))  # nothing left behind


def test_delete_unknown_document(client):
    err = _vi_error(client.delete("/v1/documents/khong-ton-tai", headers={"X-API-Key": ADMIN}), 404, "document_not_found")
    assert "khong-ton-tai" in err["message"]


def test_index_unchanged_after_bad_input(client, baseline, admin_settings):
    """Runs after the bad-input tests above (file order): same documents, same answer."""
    assert client.get("/v1/documents").json() == baseline["docs"]
    assert _probe(client) == baseline["probe"]
    assert sorted(p.name for p in admin_settings.corpus_dir.iterdir()) == sorted(
        p.name for p in Path(__file__).resolve().parent.parent.joinpath("data", "corpus").iterdir()
    )
    assert not list((admin_settings.data_dir / "uploads" / "tmp").glob("*/*"))


# --- documents: uploads and deletions that succeed (separate small index) ---------------------------


def test_upload_ask_reupload_delete(small_client, small_store):
    s, _ = small_store
    before = small_client.get("/v1/documents").json()
    assert before["count"] == 1
    doc = SMALL_DOC.replace("ong mật", "ong dú").replace("Bình Phước", "Lâm Đồng")
    r = _post_file(small_client, "ke hoach ong du.txt", doc.encode("utf-8"), "text/plain")
    assert r.status_code == 201, r.text
    up = r.json()
    doc_id = up["doc_id"]
    assert up["changed"] is True and up["chunks"] > 0
    assert up["file_name"] == "ke hoach ong du.txt"
    assert (s.corpus_dir / up["file_name"]).read_text(encoding="utf-8") == doc
    listed = {d["doc_id"]: d for d in small_client.get("/v1/documents").json()["documents"]}
    assert doc_id in listed and listed[doc_id]["chunk_count"] == up["chunks"]

    r = small_client.post("/v1/ask", json={"question": "Hợp tác xã nuôi ong dú: thành lập mới bao nhiêu HTX?",
                                          "filters": {"doc_ids": [doc_id]}})
    assert r.status_code == 200, r.text
    assert {c["doc_id"] for c in r.json()["citations"] + r.json()["related"]} == {doc_id}

    again = _post_file(small_client, "ke hoach ong du.txt", doc.encode("utf-8"), "text/plain")
    assert again.status_code == 201 and again.json()["changed"] is False

    r = small_client.delete(f"/v1/documents/{doc_id}", headers={"X-API-Key": ADMIN})
    assert r.status_code == 200 and r.json() == {"doc_id": doc_id, "deleted": True}
    assert doc_id not in {d["doc_id"] for d in small_client.get("/v1/documents").json()["documents"]}
    assert not (s.corpus_dir / up["file_name"]).exists()
    assert list((s.data_dir / "uploads" / "removed").glob("ke hoach ong du.txt.*"))
    _vi_error(small_client.delete(f"/v1/documents/{doc_id}", headers={"X-API-Key": ADMIN}), 404, "document_not_found")
    assert small_client.get("/v1/documents").json() == before


def test_upload_docx_and_pdf(small_client, small_store):
    import docx
    from fpdf import FPDF

    d = docx.Document()
    for line in SMALL_DOC.replace("Bình Phước", "Tây Ninh").splitlines():
        d.add_paragraph(line)
    buf = io.BytesIO()
    d.save(buf)
    r = _post_file(small_client, "ong_tay_ninh.docx", buf.getvalue())
    assert r.status_code == 201, r.text
    assert r.json()["chunks"] > 0

    font = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    assert font.exists(), "fonts-dejavu-core is needed (scripts/install_browser.sh installs it)"
    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("DejaVu", fname=str(font))
    pdf.set_font("DejaVu", size=11)
    for line in SMALL_DOC.replace("Bình Phước", "Kiên Giang").splitlines():
        pdf.multi_cell(0, 6, line or " ", new_x="LMARGIN", new_y="NEXT")
    r = _post_file(small_client, "ong_kien_giang.pdf", bytes(pdf.output()))
    assert r.status_code == 201, r.text
    assert r.json()["chunks"] > 0
    ids = {d["doc_id"] for d in small_client.get("/v1/documents").json()["documents"]}
    assert {"ong_tay_ninh", "ong_kien_giang"} <= ids
    for doc_id in ("ong_tay_ninh", "ong_kien_giang"):
        assert small_client.delete(f"/v1/documents/{doc_id}", headers={"X-API-Key": ADMIN}).status_code == 200


def test_same_name_other_type_is_a_conflict(small_client):
    r = _post_file(small_client, "ke_hoach_ong_mat.md", SMALL_DOC.encode(), "text/markdown")
    _vi_error(r, 409, "name_conflict")


# --- feedback ---------------------------------------------------------------------------------


def test_feedback_endpoint_and_csv_export(client, admin_settings, tmp_path):
    from assistant.interfaces.cli import main as htx

    answer = client.post("/v1/ask", json={"question": PROBE_QUESTION}).json()
    r = client.post("/v1/feedback", json={"question": PROBE_QUESTION, "answer": answer["answer"],
                                         "citations": answer["citations"], "rating": "down", "comment": "Thiếu Tây Ninh"})
    assert r.status_code == 201, r.text
    fid = r.json()["id"]
    with sqlite3.connect(admin_settings.feedback_db) as con:
        row = con.execute("SELECT question, rating, comment, citations FROM feedback WHERE id = ?", (fid,)).fetchone()
    assert row[0] == PROBE_QUESTION and row[1] == "down" and row[2] == "Thiếu Tây Ninh"
    assert json.loads(row[3])[0]["doc_id"] == answer["citations"][0]["doc_id"]
    _vi_error(client.post("/v1/feedback", json={"question": "q", "answer": "a", "rating": "meh"}), 422)

    out = tmp_path / "fb.csv"
    assert htx(["feedback", "export", "--out", str(out), "--data-dir", str(admin_settings.data_dir)]) == 0
    text = out.read_text(encoding="utf-8-sig")
    assert "Thiếu Tây Ninh" in text and text.splitlines()[0].startswith("id,created_at,rating")


# --- the web app is mounted at "/" -------------------------------------------------------------------


def test_web_app_mounted_at_root(admin_settings, answerer):
    with TestClient(create_app(admin_settings, answerer=answerer)) as c:
        r = c.get("/")
        assert r.status_code == 200 and "<html" in r.text.lower()
        config = c.get("/config").json()
        ids = {comp.get("props", {}).get("elem_id") for comp in config["components"]}
        assert {"question", "ask-btn", "chat", "citations", "passage", "admin-key", "upload-file"} <= ids
        assert c.get("/healthz").status_code == 200  # API routes keep priority over the mount
        assert c.post("/v1/ask", json={"question": PROBE_QUESTION}).status_code == 200


# --- rendering of citations -------------------------------------------------------------------------


def test_quote_highlight_tolerates_spacing_punctuation_and_tone_marks():
    from assistant.interfaces.render import find_quote, highlight_html

    passage = "b) Chủ trì, phối hợp với các sở,\nngành liên quan hỗ trợ HTX xúc tiến thương mại, quảng bá sản phẩm; Uỷ ban"
    a, b = find_quote(passage, "hỗ trợ HTX xúc tiến thương mại quảng bá sản phẩm")
    assert passage[a:b] == "hỗ trợ HTX xúc tiến thương mại, quảng bá sản phẩm"
    a, b = find_quote(passage, "phối hợp với các sở, ngành")  # line break inside the quote
    assert passage[a:b] == "phối hợp với các sở,\nngành"
    assert find_quote(passage, "Ủy ban") is not None  # old and new tone placement
    assert find_quote(passage, "Sở Tài chính lập dự toán kinh phí hằng năm") is None
    html, found = highlight_html(passage + " <script>", "quảng bá sản phẩm")
    assert found and "<mark" in html and "<script>" not in html


def test_table_row_quote_highlights_each_cell():
    from assistant.interfaces.render import highlight_html

    passage = ("Nhiệm vụ: Tham mưu ban hành Chương trình Khuyến công hàng năm\nCơ quan chủ trì: Sở Công Thương\n"
               "Cơ quan phối hợp: Hội Nông dân tỉnh")
    html, found = highlight_html(passage, "6 | Tham mưu ban hành Chương trình Khuyến công hàng năm | Sở Công Thương | Hội Nông dân tỉnh")
    assert found and html.count("<mark") == 3
    assert '<mark class="htx-mark">Sở Công Thương</mark>' in html
