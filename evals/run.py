"""`htx eval` on any question file and any corpus: retrieval alone and answers side by side.

Question files: the project's evaluation JSONL (``evals/dataset.py``) or the ALQAC format
(``{"id", "question", "gold": [{"law", "article", "doc_id", "text"}]}``, as in
``../shared/alqac/questions_train.jsonl``); the format is recognised per line.

For every question the pipeline runs once up to candidate selection
(:meth:`AnswerService.prepare`); retrieval alone is that run's main search, the answer is
that run decided and composed (:meth:`AnswerService.finish`), so the two columns differ only by
the answer layer. Per question set:

- retrieval ``recall@5``: share of gold quotes covered by the top 5 passages
  (``evals.metrics``; ALQAC: a gold article matched by the README's 3-gram rule), and for ALQAC
  hit@1 / hit@5 / MRR;
- answers: citation recall (gold quotes covered by the cited passages), answer-point coverage,
  false refusals (answerable, refused) and missed refusals (must refuse, answered; "gap
  unnamed": of those, the answers that do not name anything the documents lack; "gap on
  answerable": answerable questions answered with a note that the documents lack something
  the question names), answer
  length p50 / p90 (characters); ALQAC: hit@5 / MRR over the citations in the order shown;
- the loss: retrieval recall@5 minus answer citation recall.

``fit`` fits the answer layer's weights on a training split (``evals/fit.py``); ``lodo`` fits
on all documents but one and scores that one, for every document (leave one document out), and
prints in-sample beside held-out.
"""

from __future__ import annotations

import json
import logging
import re
import statistics
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from evals.dataset import EvalQuestion, jsonl_records, parse_question
from evals.metrics import Passage, quote_recall_at_k

log = logging.getLogger("htx.evals.run")

ALQAC_MATCH = 0.5


# --- question files ---------------------------------------------------------------------------


def load_any(path: str | Path) -> list[EvalQuestion]:
    """Evaluation JSONL or ALQAC questions, recognised line by line."""
    path = Path(path)
    out: list[EvalQuestion] = []
    for lineno, data in jsonl_records(path):
        if isinstance(data, dict) and isinstance(data.get("gold"), list) and "kind" not in data:
            gold = [g for g in data["gold"] if isinstance(g, dict) and g.get("text")]
            out.append(EvalQuestion(
                id=str(data.get("id", f"line{lineno}")), question=str(data["question"]), kind="alqac",
                doc_ids=tuple(dict.fromkeys(str(g.get("doc_id", "")) for g in gold)),
                gold_quotes=tuple(g["text"] for g in gold), answer_points=(), must_refuse=not gold, notes="",
                extra={"format": "alqac"}))
        else:
            out.append(parse_question(data, where=f"{path}:{lineno}"))
    return out


# --- ALQAC matching (../shared/alqac/README.md) -------------------------------------------------


def _trigrams(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", unicodedata.normalize("NFC", text).lower())
    return {tuple(words[i:i + 3]) for i in range(len(words) - 2)}


def alqac_match(passage: str, article: str) -> bool:
    """At least half of the passage's distinct word 3-grams occur in the article, or half of the
    article's in the passage."""
    p, a = _trigrams(passage), _trigrams(article)
    if not p or not a:
        return False
    common = len(p & a)
    return common >= ALQAC_MATCH * len(p) or common >= ALQAC_MATCH * len(a)


def _first_rank(texts: Sequence[str], golds: Sequence[str]) -> int | None:
    for i, t in enumerate(texts, 1):
        if any(alqac_match(t, g) for g in golds):
            return i
    return None


# --- one question ---------------------------------------------------------------------------------


@dataclass
class Scored:
    qid: str
    kind: str
    docs: tuple[str, ...]
    must_refuse: bool
    refused: bool
    retrieval_recall: float | None
    answer_recall: float | None
    coverage: float | None
    chars: int
    ret_rank: int | None = None  # ALQAC: first matching retrieved passage
    ans_rank: int | None = None  # ALQAC: first matching citation
    alqac: bool = False
    answer: str = ""
    named_gap: bool = False  # the answer says what the documents lack (metadata "not_in_documents")
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Prepared:
    """A question and its pipeline run up to candidate selection."""

    q: EvalQuestion
    run: Any
    positions: dict[str, int]


def prepare_all(answerer, questions: Sequence[EvalQuestion]) -> list[Prepared]:
    from assistant.answering.types import Turn

    positions = _positions(answerer.store)
    out = []
    for q in questions:
        history = [Turn(t["role"], t["content"]) for t in q.history] or None
        out.append(Prepared(q, answerer.prepare(q.question, history=history), positions))
    return out


def _positions(store) -> dict[str, int]:
    by_doc: dict[str, list] = {}
    for c in store.chunks():
        by_doc.setdefault(c.doc_id, []).append(c)
    return {c.chunk_id: i for cs in by_doc.values() for i, c in enumerate(sorted(cs, key=lambda c: c.order))}


def score(answerer, prep: Prepared, weights) -> Scored:
    from evals.answers import score_one

    q, run = prep.q, prep.run
    answer = answerer.finish(run, weights)
    main = list(run.searches[0].hits) if run.searches else []
    alqac = q.extra.get("format") == "alqac"
    if alqac:
        ret_rank = _first_rank([h.chunk.text for h in main], q.gold_quotes)
        seen, texts = set(), []
        for c in answer.citations:
            if c.chunk_id not in seen:
                seen.add(c.chunk_id)
                texts.append(c.chunk_text or c.text)
        ans_rank = None if answer.refused else _first_rank(texts, q.gold_quotes)
        return Scored(q.id, q.kind, q.doc_ids, q.must_refuse, answer.refused,
                      1.0 if ret_rank and ret_rank <= 5 else 0.0, 1.0 if ans_rank and ans_rank <= 5 else 0.0,
                      None, len(answer.answer), ret_rank, ans_rank, True, answer.answer,
                      named_gap=bool(answer.metadata.get("not_in_documents")))
    ret = None
    if q.gold_quotes:
        passages = [Passage.from_chunk(h.chunk, prep.positions) for h in main]
        ret = quote_recall_at_k(q.gold_quotes, passages, 5)
    r = score_one(q, answer, 0.0, "")
    return Scored(q.id, q.kind, q.doc_ids, q.must_refuse, answer.refused, ret,
                  r.recall if q.gold_quotes else None, r.coverage if q.answer_points else None, len(answer.answer),
                  answer=answer.answer, named_gap=bool(answer.metadata.get("not_in_documents")),
                  extra={"missing_points": r.missing_points, "p": answer.metadata.get("decision")})


# --- summary ----------------------------------------------------------------------------------------


def _pct(values: Sequence[int], q: float) -> int:
    if not values:
        return 0
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


def summarize(rows: Sequence[Scored]) -> dict[str, Any]:
    answerable = [r for r in rows if not r.must_refuse]
    unanswerable = [r for r in rows if r.must_refuse]
    ret = [r.retrieval_recall for r in answerable if r.retrieval_recall is not None]
    ans = [r.answer_recall for r in answerable if r.answer_recall is not None]
    cov = [r.coverage for r in answerable if r.coverage is not None]
    lengths = [r.chars for r in rows if not r.refused]
    out: dict[str, Any] = {
        "n": len(rows),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "retrieval_recall@5": round(statistics.fmean(ret), 4) if ret else None,
        "answer_citation_recall": round(statistics.fmean(ans), 4) if ans else None,
        "answer_point_coverage": round(statistics.fmean(cov), 4) if cov else None,
        "false_refusals": sum(1 for r in answerable if r.refused),
        "missed_refusals": sum(1 for r in unanswerable if not r.refused),
        # of those, answered without naming anything the documents lack
        "missed_unnamed": sum(1 for r in unanswerable if not r.refused and not r.named_gap),
        # answerable, answered, and yet saying the documents lack something the question names
        "gap_on_answerable": sum(1 for r in answerable if not r.refused and r.named_gap),
        "chars_p50": _pct(lengths, 0.5),
        "chars_p90": _pct(lengths, 0.9),
    }
    if out["retrieval_recall@5"] is not None and out["answer_citation_recall"] is not None:
        out["loss"] = round(out["retrieval_recall@5"] - out["answer_citation_recall"], 4)
    out["false_refusal_rate"] = round(out["false_refusals"] / len(answerable), 4) if answerable else 0.0
    out["missed_refusal_rate"] = round(out["missed_refusals"] / len(unanswerable), 4) if unanswerable else 0.0
    al = [r for r in rows if r.alqac and not r.must_refuse]
    if al:
        n = len(al)
        out["retrieval_hit@1"] = round(sum(1 for r in al if r.ret_rank == 1) / n, 4)
        out["retrieval_hit@5"] = round(sum(1 for r in al if r.ret_rank and r.ret_rank <= 5) / n, 4)
        out["retrieval_mrr"] = round(sum(1 / r.ret_rank for r in al if r.ret_rank) / n, 4)
        out["answer_hit@5"] = round(sum(1 for r in al if r.ans_rank and r.ans_rank <= 5) / n, 4)
        out["answer_mrr"] = round(sum(1 / r.ans_rank for r in al if r.ans_rank) / n, 4)
    return out


COLUMNS = (
    ("retrieval_recall@5", "ret R@5"), ("answer_citation_recall", "ans cit.R"), ("loss", "loss"),
    ("answer_point_coverage", "points"), ("false_refusals", "false ref"), ("missed_refusals", "missed ref"),
    ("missed_unnamed", "…gap unnamed"), ("gap_on_answerable", "gap on answerable"),
    ("chars_p50", "len p50"), ("chars_p90", "len p90"), ("retrieval_hit@5", "ret H@5"), ("retrieval_mrr", "ret MRR"),
    ("answer_hit@5", "ans H@5"), ("answer_mrr", "ans MRR"),
)


def format_table(rows: Sequence[tuple[str, dict[str, Any]]]) -> str:
    head = "| set | n | " + " | ".join(h for _, h in COLUMNS) + " |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 2)]
    for name, s in rows:
        cells = []
        for key, _ in COLUMNS:
            v = s.get(key)
            if v is None:
                cells.append("—")
            elif key in ("false_refusals", "missed_refusals", "missed_unnamed", "gap_on_answerable"):
                total = s["answerable"] if key in ("false_refusals", "gap_on_answerable") else s["unanswerable"]
                cells.append(f"{v}/{total}")
            elif isinstance(v, float):
                cells.append(f"{v:.3f}")
            else:
                cells.append(str(v))
        lines.append(f"| {name} | {s['n']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --- command ----------------------------------------------------------------------------------------


def _answerer(settings, corpus: str | None, weights=None):
    from assistant.runtime import build_answerer, build_store, ingest_paths

    store = build_store(settings)
    if corpus or not store.documents():
        src = Path(corpus) if corpus else settings.corpus_dir
        results = ingest_paths(store, [src], settings)
        bad = [r for r in results if not r.ok]
        if bad:
            raise RuntimeError(f"{len(bad)} files failed to ingest: {bad[0].message_en}")
    return build_answerer(settings, store=store, weights=weights)


def main(settings, args) -> int:
    from dataclasses import replace

    from assistant.answering.weights import load_weights
    from evals import fit as fitting

    settings = replace(settings, llm_base_url=None)
    files = args.questions or [str(Path(__file__).resolve().parent / "questions.jsonl")]
    try:
        sets = [(Path(f).stem, load_any(f)) for f in files]
    except (OSError, ValueError) as e:
        sys.stderr.write(f"Không đọc được bộ câu hỏi: {e}\n")
        return 2
    what = getattr(args, "what", "all")
    # fitting replaces weights fitted for other features; anything else refuses them
    weights = load_weights(getattr(args, "weights", None) or settings.weights_path, strict=what != "fit")
    answerer = _answerer(settings, getattr(args, "corpus", None), weights)
    report: dict[str, Any] = {}
    rows: list[tuple[str, dict[str, Any]]] = []
    prepared = {name: prepare_all(answerer, qs) for name, qs in sets}
    if what == "fit":
        train = [p for name, ps in prepared.items() for p in ps]
        fitted = fitting.fit(answerer, train, files)
        out = Path(getattr(args, "out", None) or fitting.DEFAULT_OUT)
        fitted.save(out)
        sys.stdout.write(f"Đã ghi trọng số vào {out}\n")
        weights = fitted
    for name, ps in prepared.items():
        s = summarize([score(answerer, p, weights) for p in ps])
        rows.append((name, s))
        report[name] = s
    if what in ("lodo", "all") and getattr(args, "lodo", True):
        allp = [p for ps in prepared.values() for p in ps]
        held = fitting.leave_one_document_out(answerer, allp, files)
        s = summarize(held)
        rows.append(("leave-one-document-out", s))
        report["leave_one_document_out"] = s
    sys.stdout.write(format_table(rows) + "\n")
    if getattr(args, "json_out", None):
        Path(args.json_out).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0
