"""``htx eval retrieval``: how well retrieval finds the gold passages of evals/questions.jsonl.

For every answerable question (one with gold quotes) the hybrid store is asked for the top
10 chunks (``store.search(query, k=10)``) and scored with :mod:`evals.metrics`: hit@1, hit@5,
MRR (over the 10) and gold-quote recall@5, overall and per kind, plus the no-diacritics gap
(no_diacritics questions against their accented twins).

Follow-up questions are sent as "<question> <last user turn of the history>": a naive
resolution that only measures whether the conversation's words reach the passage. Real
follow-up resolution is the answering chain's job (assistant.answering.chain).

Unless ``--no-baseline``, the same questions go through the LangChain-tutorial baseline a
user would build: ``RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)`` over
the raw document texts, the SAME embedding model (the store's embedder, a LangChain
``Embeddings``) and ``langchain_chroma.Chroma`` in a temporary directory, k=5. Its MRR is over
5 results; the hybrid-vs-baseline comparison uses hit@5 and MRR@5 for both.

``--check`` exits 1 when any gate fails (see GATES); ``--json`` writes every number, the
per-question ranks and the misses.
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from evals.dataset import DEFAULT_QUESTIONS, KINDS, EvalQuestion, load_questions
from evals.metrics import Passage, QuestionScore, quote_coverage, score_question, summarize, summarize_by_kind

log = logging.getLogger("htx.evals.retrieval")

HYBRID_K = 10
BASELINE_K = 5
RECALL_K = 5

# The thresholds. Never lower them to make a run pass.
GATES = {
    "overall_hit@5": 0.95,
    "overall_mrr": 0.85,
    "kind_hit@5": 0.90,
    "no_diacritics_max_gap_points": 5.0,
}

VARIANT_KINDS = ("no_diacritics", "abbreviation", "typo")


# --- running ---------------------------------------------------------------------------


@dataclass
class RunResult:
    """Scores of one retriever over the answerable questions."""

    name: str
    k: int
    scores: list[QuestionScore]
    passages: dict[str, list[Passage]] = field(default_factory=dict)
    top: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # per question: what came back
    seconds: float = 0.0

    def by_id(self) -> dict[str, QuestionScore]:
        return {s.qid: s for s in self.scores}


def scored_questions(questions: Sequence[EvalQuestion]) -> list[EvalQuestion]:
    """Questions with a retrieval target (refusals without gold quotes are not scored here)."""
    return [q for q in questions if q.answerable]


def chunk_positions(store) -> dict[str, int]:
    """chunk_id -> index of the chunk within its document, in document order (for adjacency)."""
    positions: dict[str, int] = {}
    by_doc: dict[str, list] = {}
    for c in store.chunks():
        by_doc.setdefault(c.doc_id, []).append(c)
    for chunks in by_doc.values():
        for i, c in enumerate(sorted(chunks, key=lambda c: c.order)):
            positions[c.chunk_id] = i
    return positions


def run_hybrid(store, questions: Sequence[EvalQuestion], k: int = HYBRID_K) -> RunResult:
    positions = chunk_positions(store)
    result = RunResult(name="hybrid", k=k, scores=[])
    start = time.perf_counter()
    for q in scored_questions(questions):
        hits = store.search(q.retrieval_query(), k=k)
        passages = [Passage.from_chunk(h.chunk, positions) for h in hits]
        result.passages[q.id] = passages
        result.top[q.id] = [
            {
                "rank": h.rank,
                "chunk_id": h.chunk.chunk_id,
                "doc_id": h.chunk.doc_id,
                "province": h.chunk.province,
                "section": h.chunk.section,
                "kind": h.chunk.kind,
                "score": round(float(h.score), 4),
                "lexical": round(float(h.lexical_score), 4),
                "dense": round(float(h.dense_score), 4),
                "text": h.chunk.text[:200],
            }
            for h in hits
        ]
        result.scores.append(score_question(q.id, q.kind, q.gold_quotes, passages))
    result.seconds = time.perf_counter() - start
    return result


class LangChainBaseline:
    """The tutorial pipeline: 1000/200 recursive splitting of raw texts, same embeddings, Chroma."""

    def __init__(self, embedder, corpus_dir: Path, workdir: str | Path, chunk_size: int = 1000, chunk_overlap: int = 200):
        import chromadb
        from langchain_chroma import Chroma
        from langchain_core.documents import Document as LCDocument
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        splitter = RecursiveCharacterTextSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap)
        docs: list[LCDocument] = []
        for path in sorted(Path(corpus_dir).glob("*.txt")):
            raw = path.read_text(encoding="utf-8", errors="replace")
            for i, piece in enumerate(splitter.split_text(raw)):
                docs.append(LCDocument(page_content=piece, metadata={"doc_id": path.stem, "position": i}))
        if not docs:
            raise ValueError(f"no .txt documents in {corpus_dir}")
        self.n_chunks = len(docs)
        self._client = chromadb.PersistentClient(path=str(workdir), settings=chromadb.config.Settings(anonymized_telemetry=False))
        self.vs = Chroma(collection_name="baseline", embedding_function=embedder, client=self._client)
        self.vs.add_documents(docs, ids=[f"b{i}" for i in range(len(docs))])

    def search(self, query: str, k: int = BASELINE_K) -> list[tuple[Passage, dict[str, Any]]]:
        out = []
        for doc in self.vs.similarity_search(query, k=k):
            md = doc.metadata
            out.append((Passage.of(md["doc_id"], int(md["position"]), (doc.page_content,)),
                        {"doc_id": md["doc_id"], "position": md["position"], "text": doc.page_content[:200]}))
        return out


def run_baseline(baseline: LangChainBaseline, questions: Sequence[EvalQuestion], k: int = BASELINE_K) -> RunResult:
    result = RunResult(name="baseline", k=k, scores=[])
    start = time.perf_counter()
    for q in scored_questions(questions):
        found = baseline.search(q.retrieval_query(), k=k)
        passages = [p for p, _ in found]
        result.passages[q.id] = passages
        result.top[q.id] = [{"rank": i, **info} for i, (_, info) in enumerate(found, 1)]
        result.scores.append(score_question(q.id, q.kind, q.gold_quotes, passages))
    result.seconds = time.perf_counter() - start
    return result


# --- summaries ---------------------------------------------------------------------------


def summary_of(run: RunResult) -> dict[str, Any]:
    overall = summarize(run.scores, mrr_cutoff=run.k, recall_k=RECALL_K)
    overall["mrr@5"] = summarize(run.scores, mrr_cutoff=5, recall_k=RECALL_K)["mrr"]
    by_kind = summarize_by_kind(run.scores, mrr_cutoff=run.k, recall_k=RECALL_K)
    for kind, scores in _group(run.scores).items():
        by_kind[kind]["mrr@5"] = summarize(scores, mrr_cutoff=5, recall_k=RECALL_K)["mrr"]
    ordered = {k: by_kind[k] for k in KINDS if k in by_kind}
    ordered.update({k: v for k, v in by_kind.items() if k not in ordered})
    return {"k": run.k, "seconds": round(run.seconds, 2), "overall": overall, "by_kind": ordered}


def _group(scores: Sequence[QuestionScore]) -> dict[str, list[QuestionScore]]:
    groups: dict[str, list[QuestionScore]] = {}
    for s in scores:
        groups.setdefault(s.kind, []).append(s)
    return groups


def variant_gap(run: RunResult, questions: Sequence[EvalQuestion], kind: str) -> dict[str, Any] | None:
    """hit@5 and MRR of ``kind`` variants against their twins (same pairs, same retriever)."""
    by_id = run.by_id()
    pairs = [(by_id[q.id], by_id[q.variant_of]) for q in questions
             if q.kind == kind and q.variant_of and q.id in by_id and q.variant_of in by_id]
    if not pairs:
        return None
    var = summarize([v for v, _ in pairs], mrr_cutoff=run.k)
    twin = summarize([t for _, t in pairs], mrr_cutoff=run.k)
    return {
        "n_pairs": len(pairs),
        "variant": {"hit@5": var["hit@5"], "mrr": var["mrr"]},
        "twins": {"hit@5": twin["hit@5"], "mrr": twin["mrr"]},
        "gap_hit@5_points": round((twin["hit@5"] - var["hit@5"]) * 100, 2),
        "gap_mrr": round(twin["mrr"] - var["mrr"], 4),
        "worse": [v.qid for v, t in pairs if (v.rank or 99) > (t.rank or 99)],
    }


def misses(run: RunResult, questions: Sequence[EvalQuestion], store=None, k: int = 5) -> list[dict[str, Any]]:
    """Questions whose gold passage is not in the top k, with what came back instead."""
    by_id = run.by_id()
    out = []
    for q in scored_questions(questions):
        s = by_id.get(q.id)
        if s is None or (s.rank is not None and s.rank <= k):
            continue
        entry: dict[str, Any] = {
            "id": q.id,
            "kind": q.kind,
            "question": q.question,
            "query": q.retrieval_query(),
            "rank": s.rank,
            "expected_doc_ids": list(q.doc_ids),
            "gold_quotes": [
                {"quote": quote, "first_covered_rank": r,
                 "best_coverage_top_k": round(quote_coverage(quote, run.passages.get(q.id, [])[:k]), 3)}
                for quote, r in zip(q.gold_quotes, s.quote_ranks)
            ],
            "top": run.top.get(q.id, [])[:k],
            "notes": q.notes,
        }
        if store is not None:
            a = store.analyze(q.retrieval_query())
            entry["analysis"] = {"restored": a.restored, "expanded": a.expanded,
                                 "provinces": list(a.provinces), "agencies": list(a.agencies)}
        out.append(entry)
    return out


def check_gates(report: dict[str, Any]) -> list[str]:
    """Every failed gate, in words (empty when all pass)."""
    failures: list[str] = []
    hyb = report["hybrid"]
    o = hyb["overall"]
    if o["hit@5"] < GATES["overall_hit@5"]:
        failures.append(f"overall hit@5 {o['hit@5']:.3f} < {GATES['overall_hit@5']}")
    if o["mrr"] < GATES["overall_mrr"]:
        failures.append(f"overall MRR {o['mrr']:.3f} < {GATES['overall_mrr']}")
    for kind, m in hyb["by_kind"].items():
        if m["hit@5"] < GATES["kind_hit@5"]:
            failures.append(f"kind {kind}: hit@5 {m['hit@5']:.3f} < {GATES['kind_hit@5']}")
    gap = report.get("variant_gaps", {}).get("no_diacritics")
    if gap and gap["gap_hit@5_points"] > GATES["no_diacritics_max_gap_points"]:
        failures.append(f"no-diacritics hit@5 is {gap['gap_hit@5_points']:.1f} points below the accented twins "
                        f"(max {GATES['no_diacritics_max_gap_points']})")
    base = report.get("baseline")
    if base:
        for kind in list(hyb["by_kind"]) + ["overall"]:
            h = hyb["overall"] if kind == "overall" else hyb["by_kind"][kind]
            b = base["overall"] if kind == "overall" else base["by_kind"].get(kind)
            if b is None:
                continue
            if not hybrid_beats(h, b):
                failures.append(f"kind {kind}: hybrid not better than baseline "
                                f"(hit@5 {h['hit@5']:.3f} vs {b['hit@5']:.3f}, MRR@5 {h['mrr@5']:.3f} vs {b['mrr@5']:.3f})")
    return failures


def hybrid_beats(h: dict[str, float], b: dict[str, float], eps: float = 1e-9) -> bool:
    """Better on hit@5, ties broken by MRR@5. A tie on both counts as better only when both are
    perfect (1.0): a perfect baseline cannot be beaten, and equal-but-imperfect is not better."""
    if h["hit@5"] > b["hit@5"] + eps:
        return True
    if h["hit@5"] < b["hit@5"] - eps:
        return False
    if h["mrr@5"] > b["mrr@5"] + eps:
        return True
    if h["mrr@5"] < b["mrr@5"] - eps:
        return False
    return h["hit@5"] >= 1.0 - eps and h["mrr@5"] >= 1.0 - eps


def evaluate(store, questions: Sequence[EvalQuestion], corpus_dir: Path | None = None, baseline: bool = True) -> dict[str, Any]:
    """Run the hybrid store (and the baseline) and build the full report."""
    hybrid = run_hybrid(store, questions)
    report: dict[str, Any] = {
        "n_questions": len(questions),
        "n_scored": len(hybrid.scores),
        "follow_up_query": "question + ' ' + last user turn of history",
        "hybrid": summary_of(hybrid),
        "variant_gaps": {k: g for k in VARIANT_KINDS if (g := variant_gap(hybrid, questions, k))},
        "baseline": None,
    }
    base_run = None
    if baseline:
        if corpus_dir is None:
            raise ValueError("corpus_dir is needed for the baseline")
        with tempfile.TemporaryDirectory(prefix="htx_baseline_") as tmp:
            start = time.perf_counter()
            bl = LangChainBaseline(store.embedder, corpus_dir, tmp)
            build_s = time.perf_counter() - start
            base_run = run_baseline(bl, questions)
            n_chunks = bl.n_chunks
            del bl
        report["baseline"] = summary_of(base_run)
        report["baseline"]["chunks"] = n_chunks
        report["baseline"]["build_seconds"] = round(build_s, 2)
        report["baseline_variant_gaps"] = {k: g for k in VARIANT_KINDS if (g := variant_gap(base_run, questions, k))}
    base_ranks = base_run.by_id() if base_run else {}
    report["per_question"] = [
        {"id": s.qid, "kind": s.kind, "rank": s.rank, "quote_ranks": list(s.quote_ranks),
         "baseline_rank": base_ranks[s.qid].rank if s.qid in base_ranks else None}
        for s in hybrid.scores
    ]
    report["misses"] = misses(hybrid, questions, store)
    report["failures"] = check_gates(report)
    report["passed"] = not report["failures"]
    report["gates"] = dict(GATES)
    return report


# --- formatting ---------------------------------------------------------------------------


def _f(x: float | None) -> str:
    return "   -" if x is None else f"{x:.2f}"


def format_report(report: dict[str, Any]) -> str:
    hyb = report["hybrid"]
    base = report.get("baseline")
    lines: list[str] = []
    lines.append(f"Đánh giá truy xuất: {report['n_scored']} câu có đáp án / {report['n_questions']} câu "
                 f"(lai ghép k={hyb['k']}, baseline LangChain k={BASELINE_K})")
    lines.append("H@1, H@5 = tỉ lệ câu có đoạn đúng trong top 1 / top 5; MRR = hạng nghịch đảo trung bình "
                 f"(lai ghép trên top {hyb['k']}, baseline trên top {BASELINE_K}); R@5 = tỉ lệ trích dẫn vàng có trong top 5.")
    lines.append("")
    name_w = max(len("Loại câu hỏi"), *(len(k) for k in hyb["by_kind"]), len("TỔNG"))
    cols = ["H@1", "H@5", "MRR", "R@5"]
    head = f"{'Loại câu hỏi':<{name_w}}  {'n':>3}  | " + " ".join(f"{c:>4}" for c in cols) + "  (lai ghép)"
    if base:
        head += "  | " + " ".join(f"{c:>4}" for c in cols) + "  (baseline)"
    lines.append(head)
    lines.append("-" * len(head))

    def row(name: str, h: dict[str, float], b: dict[str, float] | None) -> str:
        s = f"{name:<{name_w}}  {h['n']:>3}  | " + " ".join(f"{_f(h[m]):>4}" for m in ("hit@1", "hit@5", "mrr", "recall@5")) + " " * 12
        if base:
            s += "  | " + (" ".join(f"{_f(b[m]):>4}" for m in ("hit@1", "hit@5", "mrr", "recall@5")) if b else "   -")
        return s.rstrip()

    for kind, h in hyb["by_kind"].items():
        lines.append(row(kind, h, base["by_kind"].get(kind) if base else None))
    lines.append("-" * len(head))
    lines.append(row("TỔNG", hyb["overall"], base["overall"] if base else None))
    lines.append("")
    for kind, g in report.get("variant_gaps", {}).items():
        gap = g["gap_hit@5_points"]
        verdict = f"thấp hơn câu gốc {gap:.1f} điểm" if gap > 0 else "không thấp hơn câu gốc"
        lines.append(f"{kind} ({g['n_pairs']} cặp với câu gốc): H@5 {g['variant']['hit@5']:.2f} vs {g['twins']['hit@5']:.2f}, "
                     f"MRR {g['variant']['mrr']:.2f} vs {g['twins']['mrr']:.2f} -> H@5 {verdict}")
    lines.append(f"Thời gian: lai ghép {hyb['seconds']:.1f} s"
                 + (f", baseline {base['seconds']:.1f} s (+{base['build_seconds']:.1f} s dựng chỉ mục)" if base else ""))
    miss = report.get("misses", [])
    if miss:
        lines.append("")
        lines.append(f"Câu trượt top 5 ({len(miss)}): " + ", ".join(f"{m['id']}[{m['kind']}]" for m in miss))
    lines.append("")
    if report["failures"]:
        lines.append("CHƯA ĐẠT ngưỡng:")
        lines.extend(f"  - {f}" for f in report["failures"])
    else:
        lines.append("ĐẠT tất cả ngưỡng.")
    return "\n".join(lines)


# --- CLI entry point ----------------------------------------------------------------------


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def main(settings, args) -> int:
    from assistant.runtime import build_store, ingest_paths

    qpath = Path(getattr(args, "questions", None) or DEFAULT_QUESTIONS)
    if not qpath.exists():
        sys.stderr.write(f"Không tìm thấy tệp câu hỏi '{qpath}'.\n")
        return 2
    try:
        questions = load_questions(qpath)
    except ValueError as e:
        sys.stderr.write(f"Tệp câu hỏi không hợp lệ: {e}\n")
        return 2
    store = build_store(settings)
    if not store.documents():
        _out(f"Chỉ mục trống: đang nạp bộ văn bản mẫu từ {settings.corpus_dir} ...")
        results = ingest_paths(store, [settings.corpus_dir], settings)
        bad = [r for r in results if not r.ok]
        for r in bad:
            sys.stderr.write(f"✘ {r.path}: {r.message_vi} [{r.error_code}]\n")
        if not store.documents():
            sys.stderr.write("Không nạp được văn bản nào; không thể đánh giá.\n")
            return 1
        _out(f"Đã nạp {len(results) - len(bad)} văn bản.")
    report = evaluate(store, questions, settings.corpus_dir, baseline=not getattr(args, "no_baseline", False))
    report["questions_file"] = str(qpath)
    _out(format_report(report))
    if getattr(args, "json_out", None):
        out = Path(args.json_out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        _out(f"Đã ghi kết quả ra {out}")
    if getattr(args, "check", False) and report["failures"]:
        return 1
    return 0
