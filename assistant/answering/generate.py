"""Generate and verify: the optional LLM step after the extractive answer.

Input: the extractive :class:`Answer` (already composed from the documents) and the retrieved
hits. Output: the same answer replaced by a verified LLM answer (``mode == "llm"``), or kept
with ``mode == "extractive_fallback"`` and ``metadata["fallback_reason"]`` when generation fails
(timeout, server error) or the verifier rejects the reply.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Iterator, Sequence

from index.types import Hit

from assistant.answering.llm import LLMClient, Passage
from assistant.answering.passages import split_units, syllables, table_row_quote
from assistant.answering.types import Answer, Citation
from assistant.settings import Settings

log = logging.getLogger("htx.generate")

MAX_LLM_PASSAGES = 8


class Generator:
    """Runs the LLM over the passages behind an extractive answer and verifies its reply."""

    def __init__(self, llm: LLMClient, settings: Settings, get_chunk: Callable[[str], Any]):
        self.llm = llm
        self.settings = settings
        self.get_chunk = get_chunk

    def passages(self, answer: Answer, hits: Sequence[Hit]) -> list[Passage]:
        """The cited chunks first, then the best other hits, numbered [1]..[k]."""
        chunks = []
        seen: set[str] = set()
        for c in answer.citations:
            ch = self.get_chunk(c.chunk_id)
            if ch is not None and ch.chunk_id not in seen:
                seen.add(ch.chunk_id)
                chunks.append(ch)
        for h in hits:
            if len(chunks) >= max(3, min(self.settings.top_k, MAX_LLM_PASSAGES)):
                break
            if h.chunk.chunk_id not in seen:
                seen.add(h.chunk.chunk_id)
                chunks.append(h.chunk)
        return [Passage(i, ch, ch.text) for i, ch in enumerate(chunks[:MAX_LLM_PASSAGES], 1)]

    def generate(self, answer: Answer, hits: Sequence[Hit], timings: dict[str, float]) -> Answer:
        t = time.perf_counter()
        passages = self.passages(answer, hits)
        try:
            reply = self.llm.answer(answer.question, passages)
        except Exception as e:  # timeout, connection, server error: the extractive answer stands
            _lap(timings, "llm", t)
            return fallback(answer, _error_reason(e))
        _lap(timings, "llm", t)
        return self.accept(answer, reply, passages, timings)

    def accept(self, answer: Answer, reply: str, passages: Sequence[Passage], timings: dict[str, float]) -> Answer:
        from assistant.answering.verify import verify

        t = time.perf_counter()
        result = verify(reply, passages, self.llm.system_prompt)
        _lap(timings, "verify", t)
        if not result.ok:
            return fallback(answer, result.reason or "verification_failed", result.removed)
        by_n = {p.n: p for p in passages}
        citations = []
        for n in result.used:
            sentences = [s for s, ns in result.sentence_sources if n in ns]
            citations.append(citation_for(n, by_n[n].chunk, sentences))
        meta = dict(answer.metadata)
        meta["verification"] = {"removed": result.removed, "passages": len(passages)}
        return Answer(answer=result.text, citations=citations, refused=False, mode="llm", related=[],
                      question=answer.question, metadata=meta, timings_ms=answer.timings_ms)

    def stream(self, answer: Answer, hits: Sequence[Hit], timings: dict[str, float]) -> Iterator[dict[str, Any]]:
        """Yield "delta" events for lines that check out; the final answer is returned via
        StopIteration's value (use ``yield from``)."""
        from assistant.answering.verify import check_sentence, citations_in

        passages = self.passages(answer, hits)
        given = {p.n: p for p in passages}
        t = time.perf_counter()
        reply, buffer = "", ""
        try:
            for piece in self.llm.stream(answer.question, passages):
                reply += piece
                buffer += piece
                while "\n" in buffer:
                    line, buffer = buffer.split("\n", 1)
                    if _line_ok(line, given, check_sentence, citations_in):
                        yield {"event": "delta", "text": line + "\n"}
            if buffer.strip() and _line_ok(buffer, given, check_sentence, citations_in):
                yield {"event": "delta", "text": buffer}
            _lap(timings, "llm", t)
        except Exception as e:
            _lap(timings, "llm", t)
            return fallback(answer, _error_reason(e))
        return self.accept(answer, reply, passages, timings)


def fallback(answer: Answer, reason: str, removed: list | None = None) -> Answer:
    log.warning("LLM answer rejected (%s); using the extractive answer", reason)
    answer.mode = "extractive_fallback"
    answer.metadata["fallback_reason"] = reason
    if removed:
        answer.metadata["verification"] = {"removed": removed}
    return answer


def _lap(timings: dict[str, float], name: str, since: float) -> None:
    timings[name] = timings.get(name, 0.0) + (time.perf_counter() - since) * 1000.0


def _line_ok(line: str, given, check_sentence, citations_in) -> bool:
    """Stream only lines whose every citation was given and whose claims check out."""
    if not line.strip():
        return True
    cites = citations_in(line)
    if any(n not in given for n in cites):
        return False
    if not cites:
        return line.rstrip().endswith(":")
    return check_sentence(line, [given[n] for n in cites]) is None


def _error_reason(e: Exception) -> str:
    name = type(e).__name__
    if "Timeout" in name or "timed out" in str(e).lower():
        return "timeout"
    return f"error:{name}"


def citation_for(n: int, chunk, sentences: list[str]) -> Citation:
    """The passage's sentence/row that best matches the reply's sentences citing it."""
    if chunk.kind == "table_row" and chunk.table:
        text = table_row_quote(chunk)
    else:
        want = set(w for s in sentences for w in syllables(s))
        units = [u for u in split_units(chunk) if u.kind != "heading"] or split_units(chunk)
        best = max(units, key=lambda u: len(want & set(syllables(u.text))) / (1 + 0.01 * len(u.text)), default=None)
        text = best.text if best is not None else chunk.text
    return Citation(n, chunk.doc_id, chunk.doc_title, chunk.province, chunk.section, text, chunk.chunk_id, chunk.text)
