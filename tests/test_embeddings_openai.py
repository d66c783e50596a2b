"""The embeddings-server backend (HTX_EMBEDDING=openai), tested at the protocol boundary: the
real client talks HTTP to a small stdlib server that speaks OpenAI's ``/v1/embeddings``."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from embedding_server import FakeEmbeddingServer
from index.embeddings import (
    CachedEmbedder,
    EmbeddingConfigError,
    EmbeddingServerError,
    OpenAIEmbedder,
    make_embedder,
)
from index.progress import EmbeddingProgress, IngestMeter, reporting

PASSAGES = [
    "Sở Công Thương tạo điều kiện cho các HTX tiếp cận quỹ khuyến công địa phương.",
    "Ngân hàng Nhà nước chỉ đạo các tổ chức tín dụng cho HTX vay vốn ưu đãi.",
    "Hội Nông dân tỉnh tuyên truyền, vận động nông dân tham gia hợp tác xã.",
]


@pytest.fixture()
def server():
    with FakeEmbeddingServer(dim=128) as s:
        yield s


def embedder(server: FakeEmbeddingServer, **kw) -> OpenAIEmbedder:
    kw.setdefault("backoff_s", 0.01)
    return OpenAIEmbedder(server.url, server.model, **kw)


def test_batches_prefixes_order_and_name(server):
    e = embedder(server, api_key="bi-mat", batch_size=2)
    assert e.dim == 128
    assert e.name.startswith("openai-fake-bow-e5-128d-")
    assert "127.0.0.1" not in e.name and str(server.port) not in e.name  # host-independent
    server.requests.clear()
    vecs = e.embed_passages_np(PASSAGES)
    assert vecs.shape == (3, 128)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert [len(r["input"]) for r in server.requests] == [2, 1]  # HTX_EMBEDDING_BATCH
    assert all(t.startswith("passage: ") for t in server.inputs)
    assert server.requests[0]["authorization"] == "Bearer bi-mat"
    # the server answers in reverse order: the client puts vectors back by "index"
    q = e.embed_query("HTX vay vốn ưu đãi ở ngân hàng")
    assert server.requests[-1]["input"] == ["query: HTX vay vốn ưu đãi ở ngân hàng"]
    assert int(np.argmax(vecs @ np.asarray(q))) == 1
    # other prefixes (or none) are another model as far as the index is concerned
    plain = embedder(server, query_prefix="", passage_prefix="")
    assert plain.name != e.name
    plain.embed_passages_np(PASSAGES[:1])
    assert server.requests[-1]["input"] == [PASSAGES[0]]


def test_base_url_without_v1_is_accepted(server):
    e = OpenAIEmbedder(f"http://127.0.0.1:{server.port}/", server.model, backoff_s=0.01)
    assert e.base_url == server.url


def test_retries_5xx_then_succeeds(server):
    e = embedder(server)
    server.fail_next(2, 503)
    vecs = e.embed_passages_np(PASSAGES[:2])
    assert vecs.shape == (2, 128)
    assert [r["status"] for r in server.requests[-3:]] == [503, 503, 200]


def test_bounded_retries_then_vietnamese_error(server):
    e = embedder(server, retries=2)
    server.fail_next(10, 500)
    with pytest.raises(EmbeddingServerError) as err:
        e.embed_passages_np(PASSAGES[:1])
    assert "Không kết nối được máy chủ tính vectơ" in err.value.message_vi
    assert sum(1 for r in server.requests if r["status"] == 500) == 3  # 1 try + 2 retries, no more


def test_unreachable_server_gives_vietnamese_error(server):
    e = embedder(server, retries=1)
    server.stop()
    with pytest.raises(EmbeddingServerError) as err:
        e.embed_query("HTX là gì?")
    assert server.url in err.value.message_vi and "HTX_EMBEDDING_BASE_URL" in err.value.message_vi
    with pytest.raises(EmbeddingServerError):  # at start too (the vector size is probed)
        embedder(server, retries=0)


def test_wrong_model_is_not_retried_and_config_is_checked(server):
    with pytest.raises(EmbeddingServerError) as err:
        OpenAIEmbedder(server.url, "khong-co-mo-hinh", backoff_s=0.01)
    assert "404" in err.value.message_vi and len(server.requests) == 1
    with pytest.raises(EmbeddingConfigError) as err:
        make_embedder("openai", None, 1, None, base_url=server.url)
    assert "HTX_EMBEDDING_MODEL" in err.value.message_vi


def test_cli_turns_an_unreachable_server_into_a_message(server, tmp_path, monkeypatch, capsys):
    from assistant.interfaces.cli import main

    doc = tmp_path / "kh.txt"
    doc.write_text("KẾ HOẠCH\nPhát triển hợp tác xã nuôi ong.\n\nI. MỤC TIÊU\n1. Thành lập 07 HTX.\n", encoding="utf-8")
    server.stop()
    monkeypatch.setenv("HTX_EMBEDDING", "openai")
    monkeypatch.setenv("HTX_EMBEDDING_BASE_URL", server.url)
    monkeypatch.setenv("HTX_EMBEDDING_MODEL", server.model)
    rc = main(["ingest", "-q", "--data-dir", str(tmp_path / "data"), str(doc)])
    err = capsys.readouterr().err
    assert rc != 0
    assert "Không kết nối được máy chủ tính vectơ" in err and "Traceback" not in err


def test_cached_embedder_reports_progress_and_reuses_vectors(server, tmp_path):
    cached = CachedEmbedder(embedder(server, batch_size=2), tmp_path / "cache.sqlite")
    events: list[EmbeddingProgress] = []
    cached.embed_passages_np(PASSAGES, progress=events.append)
    assert events[0] == EmbeddingProgress(0, 3, 0)
    assert events[-1].finished and events[-1].done == 3
    assert [e.done for e in events] == sorted(e.done for e in events)
    # second call through the context sink: everything comes from the cache
    events.clear()
    n = len(server.requests)
    with reporting(events.append):
        cached.embed_passages_np(PASSAGES + ["Một đoạn mới về hợp tác xã."])
    assert len(server.requests) == n + 1
    assert events[0] == EmbeddingProgress(3, 4, 3) and events[-1] == EmbeddingProgress(4, 4, 3, finished=True)
    assert cached.last_call == (4, 3)


def test_meter_sums_calls_and_writes_log_lines():
    out = io.StringIO()
    meter = IngestMeter(mode="log", stream=out, log_every_s=0)
    for ev in (EmbeddingProgress(2, 5, 2), EmbeddingProgress(4, 5, 2), EmbeddingProgress(5, 5, 2, finished=True),
               EmbeddingProgress(0, 3), EmbeddingProgress(3, 3, finished=True)):
        meter(ev)
    assert (meter.totals.passages, meter.totals.reused, meter.totals.new) == (8, 2, 6)
    assert meter.new_done_total() == (6, 6)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Tính vectơ: 0/3 đoạn mới") and lines[-1].startswith("Tính vectơ: 6/6 đoạn mới")


def test_ingest_and_search_through_the_index_store(server, tmp_path):
    from conftest import make_settings

    from assistant.runtime import build_embedder, build_store, ingest_paths

    repo = Path(__file__).resolve().parent.parent
    corpus = tmp_path / "data" / "corpus"
    corpus.mkdir(parents=True)
    src = sorted((repo / "data" / "corpus").glob("*.md")) or sorted((repo / "data" / "corpus").iterdir())
    (corpus / src[0].name).write_bytes(src[0].read_bytes())
    settings = make_settings(tmp_path / "data", embedding_backend="openai", embedding_base_url=server.url,
                             embedding_model=server.model, embedding_batch=8)
    emb = build_embedder(settings)
    assert emb.name.startswith("openai-")
    store = build_store(settings, embedder=emb)
    events: list[EmbeddingProgress] = []
    with reporting(events.append):
        results = ingest_paths(store, [corpus], settings)
    assert all(r.ok for r in results), results
    chunks = store.chunks()
    assert len(chunks) > 3 and events and events[-1].finished
    batches = [len(r["input"]) for r in server.requests if r["status"] == 200 and len(r["input"]) > 1]
    assert batches and max(batches) <= 8
    target = chunks[len(chunks) // 2]
    hits = store.search(target.text[:200], k=5)
    assert hits and target.chunk_id in [h.chunk.chunk_id for h in hits]
    assert any(h.dense_score > 0 for h in hits)  # the server's vectors took part in the ranking
