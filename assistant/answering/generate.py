"""Generate and verify: the optional LLM step after the extractive answer.

Input: the extractive :class:`Answer` (already composed from the documents) and the retrieved
hits. Output: the same answer replaced by a verified LLM answer (``mode == "llm"``), or kept
with ``mode == "extractive_fallback"`` and ``metadata["fallback_reason"]`` when generation fails
or the verifier rejects the reply. Reasons: ``connect``, ``first_token_timeout``, ``deadline``,
``http_<status>[:<code>]`` (e.g. ``http_400:context_length_exceeded``), ``network``, and the
verifier's (``invalid_citation``, ``unsupported``, ``wrong_passage``, ``echo``, ``no_figure``,
``no_date``, ``prompt_leak``, ``llm_refused``, ``empty``).

- One deadline (``Settings.llm_answer_deadline_s``) covers the whole answer, the retry included.
- A context-length error shrinks the prompt to half the passages and retries once
  (``metadata["llm_retry"] == "context_length"``).
- Coverage: an accepted LLM answer that leaves out a document (hence possibly a province) that
  the extractive answer cites gets that document's extractive lines appended, with their
  citations renumbered after the LLM's, and ``metadata["appended_from_extractive"]`` lists them
  ({"province", "doc_id", "citations"}). Appending rather than falling back keeps the LLM's
  wording where it is sound and never loses evidence the rules found.
- ``metadata["llm"]``: ``first_token_ms`` and ``ms`` (from the start of the LLM step),
  ``finish_reason`` (``length`` when ``max_tokens`` cut the reply) and ``passages``.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import replace
from typing import Any, Callable, Iterator, Sequence

from index.types import Hit

from assistant.answering.llm import CallStats, LLMClient, LLMError, Passage
from assistant.answering.passages import split_units, syllables, table_row_quote
from assistant.answering.types import Answer, Citation
from assistant.settings import Settings

log = logging.getLogger("htx.generate")

MAX_LLM_PASSAGES = 8
_CITE_RE = re.compile(r"\[(\s*\d+\s*(?:[,;]\s*\d+\s*)*)\]")


class _Call:
    """The state of one LLM answer: passages (shrunk on retry), timings, retry."""

    def __init__(self, passages: list[Passage], deadline_at: float):
        self.passages = passages
        self.deadline_at = deadline_at
        self.start = time.monotonic()
        self.first_token_s: float | None = None
        self.stats = CallStats()
        self.retry: str | None = None

    def info(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ms": round((time.monotonic() - self.start) * 1000.0, 1), "passages": len(self.passages)}
        if self.first_token_s is not None:
            out["first_token_ms"] = round(self.first_token_s * 1000.0, 1)
        if self.stats.finish_reason:
            out["finish_reason"] = self.stats.finish_reason
        return out


class Generator:
    """Runs the LLM over the passages behind an extractive answer and verifies its reply."""

    def __init__(self, llm: LLMClient, settings: Settings, get_chunk: Callable[[str], Any]):
        self.llm = llm
        self.settings = settings
        self.get_chunk = get_chunk

    @property
    def system_prompt(self) -> str:
        return getattr(self.llm, "system_prompt", "") or ""

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

    # --- the LLM call ------------------------------------------------------------------------

    def _pieces(self, question: str, call: _Call) -> Iterator[str]:
        """The reply's pieces; a context-length error before any token shrinks and retries once."""
        try:
            yield from self._timed(question, call)
        except LLMError as e:
            if not e.context_length or call.first_token_s is not None or len(call.passages) < 2:
                raise
            keep = max(1, len(call.passages) // 2)
            log.warning("LLM server: context length exceeded (%s, status %s): %s; retrying once with %d of %d passages",
                        e.reason, e.status, e.message, keep, len(call.passages))
            call.passages = [Passage(i, p.chunk, p.text) for i, p in enumerate(call.passages[:keep], 1)]
            call.retry = "context_length"
            yield from self._timed(question, call)

    def _timed(self, question: str, call: _Call) -> Iterator[str]:
        for piece in self.llm.stream(question, call.passages, call.deadline_at, call.stats):
            if call.first_token_s is None:
                call.first_token_s = time.monotonic() - call.start
            yield piece

    def _start(self, answer: Answer, hits: Sequence[Hit], deadline_at: float | None) -> _Call:
        return _Call(self.passages(answer, hits), self.llm.deadline() if deadline_at is None else deadline_at)

    def generate(self, answer: Answer, hits: Sequence[Hit], timings: dict[str, float],
                 deadline_at: float | None = None) -> Answer:
        t = time.perf_counter()
        call = self._start(answer, hits, deadline_at)
        try:
            reply = "".join(self._pieces(answer.question, call))
        except LLMError as e:
            _lap(timings, "llm", t)
            return fallback(answer, _failed(e), call=call)
        _lap(timings, "llm", t)
        return self._accept(answer, reply, call, timings)[0]

    def accept(self, answer: Answer, reply: str, passages: Sequence[Passage], timings: dict[str, float]) -> Answer:
        """Verify ``reply`` (given ``passages``) and build the answer (public for tests and tools)."""
        call = _Call(list(passages), time.monotonic())
        return self._accept(answer, reply, call, timings)[0]

    def _accept(self, answer: Answer, reply: str, call: _Call, timings: dict[str, float]) -> tuple[Answer, str]:
        """The answer and the text appended from the extractive answer ("" when none)."""
        from assistant.answering.verify import missing_sources, verify

        t = time.perf_counter()
        passages = call.passages
        intent = [str(x) for x in (answer.metadata.get("intent") or [])]
        result = verify(reply, passages, self.system_prompt, question=answer.question, intent=intent,
                        evidence=answer.answer)
        _lap(timings, "verify", t)
        if not result.ok:
            return fallback(answer, result.reason or "verification_failed", result.removed, call), ""
        by_n = {p.n: p for p in passages}
        citations = []
        for n in result.used:
            sentences = [s for s, ns in result.sentence_sources if n in ns]
            citations.append(citation_for(n, by_n[n].chunk, sentences))
        meta = dict(answer.metadata)
        meta["verification"] = {"removed": result.removed, "passages": len(passages)}
        meta["llm"] = call.info()
        if call.retry:
            meta["llm_retry"] = call.retry
        text, appended = result.text, ""
        missing = missing_sources(answer.citations, citations)
        if missing:
            start = max([c.n for c in citations] + [len(passages)]) + 1
            appended, extra, which = extractive_blocks(answer, [d for _, d in missing], start)
            if appended:
                text = f"{text}\n\n{appended}"
                citations += extra
                meta["appended_from_extractive"] = which
                log.info("LLM answer left out %s; appended their extractive lines", [d for _, d in missing])
        return Answer(answer=text, citations=citations, refused=False, mode="llm", related=[],
                      question=answer.question, metadata=meta, timings_ms=answer.timings_ms), appended

    def stream(self, answer: Answer, hits: Sequence[Hit], timings: dict[str, float],
               deadline_at: float | None = None) -> Iterator[dict[str, Any]]:
        """Yield "delta" events for lines that check out; the final answer is returned via
        StopIteration's value (use ``yield from``)."""
        from assistant.answering.verify import check_claim, citations_in

        call = self._start(answer, hits, deadline_at)
        t = time.perf_counter()
        reply, buffer = "", ""
        try:
            for piece in self._pieces(answer.question, call):
                reply += piece
                buffer += piece
                while "\n" in buffer:
                    line, buffer = buffer.split("\n", 1)
                    if _line_ok(line, call.passages, check_claim, citations_in):
                        yield {"event": "delta", "text": line + "\n"}
            if buffer.strip() and _line_ok(buffer, call.passages, check_claim, citations_in):
                yield {"event": "delta", "text": buffer}
            _lap(timings, "llm", t)
        except LLMError as e:
            _lap(timings, "llm", t)
            return fallback(answer, _failed(e), call=call)
        final, appended = self._accept(answer, reply, call, timings)
        if appended:
            yield {"event": "delta", "text": "\n\n" + appended}
        return final


def fallback(answer: Answer, reason: str, removed: list | None = None, call: _Call | None = None) -> Answer:
    log.warning("LLM answer rejected (%s); using the extractive answer", reason)
    answer.mode = "extractive_fallback"
    answer.metadata["fallback_reason"] = reason
    if removed:
        answer.metadata["verification"] = {"removed": removed}
    if call is not None:
        answer.metadata["llm"] = call.info()
        if call.retry:
            answer.metadata["llm_retry"] = call.retry
    return answer


def _failed(e: LLMError) -> str:
    """Log a failed call with the server's status, code and message; its short reason."""
    where = f" (HTTP {e.status}{', code ' + e.code if e.code else ''})" if e.status else ""
    log.warning("LLM call failed: %s%s: %s", e.reason, where, e.message or "-")
    return e.reason


def _lap(timings: dict[str, float], name: str, since: float) -> None:
    timings[name] = timings.get(name, 0.0) + (time.perf_counter() - since) * 1000.0


def _line_ok(line: str, passages: Sequence[Passage], check_claim, citations_in) -> bool:
    """Stream only lines whose every citation was given and whose claims check out."""
    if not line.strip():
        return True
    given = {p.n for p in passages}
    cites = citations_in(line)
    if any(n not in given for n in cites):
        return False
    if not cites:
        return line.rstrip().endswith(":")
    if _CITE_RE.sub("", line).rstrip().endswith("?"):
        return False
    return check_claim(line, cites, passages) is None


def extractive_blocks(answer: Answer, doc_ids: Sequence[str], start: int) -> tuple[str, list[Citation], list[dict]]:
    """The extractive answer's lines citing ``doc_ids``, under their block headings, with their
    citations renumbered from ``start``: (text, citations, [{"province", "doc_id", "citations"}])."""
    by_n = {c.n: c for c in answer.citations}
    wanted = set(doc_ids)
    renum: dict[int, int] = {}
    citations: list[Citation] = []
    blocks: list[list[str]] = []
    heading: str | None = None
    current: list[str] | None = None
    for line in answer.answer.split("\n"):
        nums = [int(x) for m in _CITE_RE.finditer(line) for x in re.split(r"[,;]", m.group(1)) if x.strip()]
        if not nums:
            if line.rstrip().endswith(":"):
                heading, current = line.rstrip(), None
            continue
        if not any(n in by_n and by_n[n].doc_id in wanted for n in nums):
            continue
        for n in nums:
            if n in by_n and n not in renum:
                renum[n] = start + len(citations)
                citations.append(replace(by_n[n], n=renum[n]))
        if current is None:
            current = [heading] if heading else []
            blocks.append(current)
        current.append(_CITE_RE.sub(lambda m: "[" + ", ".join(
            str(renum.get(int(x), int(x))) for x in re.split(r"[,;]", m.group(1)) if x.strip()) + "]", line))
    which: list[dict] = []
    for c in citations:
        entry = next((w for w in which if w["doc_id"] == c.doc_id), None)
        if entry is None:
            entry = {"province": c.province, "doc_id": c.doc_id, "citations": []}
            which.append(entry)
        entry["citations"].append(c.n)
    return "\n\n".join("\n".join(b) for b in blocks), citations, which


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
