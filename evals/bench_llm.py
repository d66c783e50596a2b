"""`htx bench --llm`: is the configured LLM worth turning on?

Runs every question of the evaluation set (``evals/questions.jsonl``; ``--questions``,
``--limit``) twice over the same index: once extractive only, once with the LLM server of
``HTX_LLM_BASE_URL``. Reports, for the questions that reached the LLM (not refused):

- the share of LLM answers accepted by the verifier (``mode == "llm"``);
- the fallback reasons with their counts (``deadline``, ``first_token_timeout``,
  ``http_400:context_length_exceeded``, ``wrong_passage``, ``echo``...);
- time to first token and total LLM time (p50/p95, ms, from ``metadata["llm"]``) and the
  whole answer's wall time;
- the answer metrics of ``evals.answers`` (coverage, citation precision and recall, refusals,
  injection) for the LLM run beside the extractive one.

Timings are measurements for people, never asserted by tests.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

from evals.answers import _agg, score_one
from evals.dataset import EvalQuestion, load_questions

log = logging.getLogger("htx.evals.bench_llm")

METRICS = ["answer_point_coverage", "citation_precision", "citation_recall", "missed_refusals", "false_refusals",
           "injection_failures"]
HEAD = ["coverage", "cit.prec", "cit.recall", "missed_ref", "false_ref", "inj_fail"]


def _pct(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    return round(v[min(len(v) - 1, int(round(q * (len(v) - 1))))], 1)


def run(extractive, llm, questions: Sequence[EvalQuestion], system_prompt: str) -> dict[str, Any]:
    """Answer every question with both answerers; the report (see the module docstring)."""
    from assistant.answering.types import Turn

    ex_results, llm_results = [], []
    reasons: Counter[str] = Counter()
    first_token, llm_ms, wall_ms = [], [], []
    reached = accepted = retried = appended = 0
    for q in questions:
        history = [Turn(t["role"], t["content"]) for t in q.history] or None
        t0 = time.perf_counter()
        ea = extractive.ask(q.question, history=history)
        ex_results.append(score_one(q, ea, (time.perf_counter() - t0) * 1000.0, system_prompt))
        t0 = time.perf_counter()
        la = llm.ask(q.question, history=history)
        ms = (time.perf_counter() - t0) * 1000.0
        llm_results.append(score_one(q, la, ms, system_prompt))
        info = la.metadata.get("llm")
        if la.refused or info is None:
            continue
        reached += 1
        wall_ms.append(ms)
        llm_ms.append(float(info.get("ms", 0.0)))
        if "first_token_ms" in info:
            first_token.append(float(info["first_token_ms"]))
        if la.mode == "llm":
            accepted += 1
            appended += bool(la.metadata.get("appended_from_extractive"))
        else:
            reasons[str(la.metadata.get("fallback_reason"))] += 1
        retried += bool(la.metadata.get("llm_retry"))
        log.info("%s: %s %s", q.id, la.mode, la.metadata.get("fallback_reason", ""))
    return {
        "questions": len(questions),
        "reached_llm": reached,
        "accepted": accepted,
        "accepted_share": round(accepted / reached, 4) if reached else None,
        "appended_from_extractive": appended,
        "context_retries": retried,
        "fallback_reasons": dict(reasons.most_common()),
        "first_token_ms": {"p50": _pct(first_token, 0.5), "p95": _pct(first_token, 0.95), "n": len(first_token)},
        "llm_ms": {"p50": _pct(llm_ms, 0.5), "p95": _pct(llm_ms, 0.95)},
        "answer_ms": {"p50": _pct(wall_ms, 0.5), "p95": _pct(wall_ms, 0.95)},
        "metrics": {"extractive": _agg(ex_results), "llm": _agg(llm_results)},
    }


def print_report(report: dict[str, Any], model: str, url: str, out=sys.stdout) -> None:
    r = report
    share = "—" if r["accepted_share"] is None else f"{100 * r['accepted_share']:.1f}%"
    out.write(f"LLM {model} at {url}: {r['questions']} questions, {r['reached_llm']} reached the LLM (not refused)\n")
    out.write(f"accepted by the verifier: {r['accepted']}/{r['reached_llm']} ({share}); "
              f"completed from the extractive answer: {r['appended_from_extractive']}; "
              f"context-length retries: {r['context_retries']}\n")
    out.write("fallback reasons: " + (", ".join(f"{k} {v}" for k, v in r["fallback_reasons"].items()) or "none") + "\n")

    def ms(d: dict[str, Any]) -> str:
        return f"p50 {d['p50'] if d['p50'] is not None else '—'} ms, p95 {d['p95'] if d['p95'] is not None else '—'} ms"

    out.write(f"time to first token: {ms(r['first_token_ms'])} ({r['first_token_ms']['n']} answers had a token)\n")
    out.write(f"LLM time per answer: {ms(r['llm_ms'])}; whole answer: {ms(r['answer_ms'])}\n")
    out.write(f"{'':>12}  " + "  ".join(f"{h:>10}" for h in HEAD) + "\n")
    for name in ("extractive", "llm"):
        m = r["metrics"][name]
        vals = ["—" if m.get(c) is None else (f"{m[c]:.3f}" if isinstance(m[c], float) else str(m[c])) for c in METRICS]
        out.write(f"{name:>12}  " + "  ".join(f"{v:>10}" for v in vals) + "\n")


def main(settings, args) -> int:
    from assistant.runtime import build_answerer, build_store, ingest_paths

    if not settings.llm_base_url:
        sys.stderr.write("Chưa cấu hình máy chủ LLM: hãy đặt HTX_LLM_BASE_URL (ví dụ http://127.0.0.1:8080/v1) "
                         "rồi chạy lại `htx bench --llm`.\n")
        return 2
    try:
        questions = load_questions(getattr(args, "questions", None))
    except (OSError, ValueError) as e:
        sys.stderr.write(f"Không đọc được bộ câu hỏi: {e}\n")
        return 2
    limit = getattr(args, "limit", None)
    if limit:
        questions = questions[:limit]
    store = build_store(settings)
    if not store.documents():
        log.info("index empty: ingesting %s", settings.corpus_dir)
        ingest_paths(store, [settings.corpus_dir], settings)
    extractive = build_answerer(replace(settings, llm_base_url=None), store=store)
    llm = build_answerer(settings, store=store)
    extractive.ask("Sở Công Thương phải làm gì?")  # warm-up (models, caches), no LLM call
    system_prompt = (Path(settings.prompts_dir) / "system.txt").read_text(encoding="utf-8")
    report = run(extractive, llm, questions, system_prompt)
    print_report(report, settings.llm_model, settings.llm_base_url)
    out = getattr(args, "json_out", None)
    if out:
        Path(out).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0
