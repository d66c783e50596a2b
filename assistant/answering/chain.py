"""The answering chain: a LangChain Runnable pipeline

    resolve follow-up -> retrieve (store.search) -> refuse or compose (extractive) -> generate (LLM, optional)

``AnswerService.runnable`` is that pipeline (RunnableLambda steps); ``ask`` invokes it and
``stream`` runs the same steps, then streams the answer text. Every answer is composed from
the documents first (extractive); when an LLM is configured its reply is verified against the
passages it was given, and any failure (timeout, error, a check) falls back to the extractive
answer with ``mode == "extractive_fallback"`` and ``metadata["fallback_reason"]``.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field, replace
from typing import Any, Iterator

from langchain_core.runnables import RunnableLambda

from index.types import Hit, QueryAnalysis, SearchFilters
from ingest.normalize import fold

from assistant.answering import refusal
from assistant.answering.corpus import CorpusSnapshot, CorpusView
from assistant.answering.extractive import (Composition, compose_agency, compose_topic, compose_who, keep_provinces,
                                  related_citations, render)
from assistant.answering.followup import Resolved, resolve
from assistant.answering.question import QuestionInfo, analyse_question, only_dates
from assistant.answering.safety import Sanitized, sanitize
from assistant.settings import Settings
from assistant.answering.types import Answer, Citation, Turn

log = logging.getLogger("htx.chain")

RETRIEVE_K_MIN = 10  # candidate chunks for topic answers (Settings.top_k if larger)
RELATED_K = 3
PER_PROVINCE_K = 5  # extra candidates per province for comparisons
# "sở này", "cơ quan đó": the follow-up is about the agency of the previous question.
_AGENCY_DEIXIS = re.compile(r"\b(?:so|co quan|don vi|nganh|ban|hoi|bo phan|phong|lien minh|ngan hang|quy) (?:nay|do|ay|tren)\b")
# Agencies that are rarely what a question asks about when another one is named too
# ("UBND tỉnh giao Sở Công Thương những gì?" asks about Sở Công Thương).
_BACKGROUND_AGENCIES = ("Ủy ban nhân dân tỉnh", "Các sở, ban, ngành", "Hội đồng nhân dân các cấp")


@dataclass
class _Run:
    """State handed from one step of the pipeline to the next."""

    question: str
    history: list[Turn] | None
    filters: SearchFilters | None
    t0: float = field(default_factory=time.perf_counter)
    timings: dict[str, float] = field(default_factory=dict)
    sanitized: Sanitized | None = None
    resolved: Resolved | None = None
    analysis: QueryAnalysis | None = None
    info: QuestionInfo | None = None
    snap: CorpusSnapshot | None = None
    hits: list[Hit] = field(default_factory=list)
    scope: tuple[str, ...] = ()
    missing_provinces: list[str] = field(default_factory=list)
    compare_over: list[str] = field(default_factory=list)  # provinces a comparison is answered for
    search_question: str = ""  # the text searched (the question plus context provinces)
    silent_provinces: list[str] = field(default_factory=list)  # compared provinces with no evidence
    per_province: bool = False
    decision: refusal.Decision | None = None
    comp: Composition | None = None
    answer: Answer | None = None

    def lap(self, name: str, since: float) -> float:
        now = time.perf_counter()
        self.timings[name] = self.timings.get(name, 0.0) + (now - since) * 1000.0
        return now


def _order_agencies(agencies: tuple[str, ...]) -> tuple[str, ...]:
    specific = [a for a in agencies if a not in _BACKGROUND_AGENCIES]
    return tuple(specific + [a for a in agencies if a in _BACKGROUND_AGENCIES])


class AnswerService:
    def __init__(self, store, settings: Settings):
        self.store = store
        self.settings = settings
        self.corpus = CorpusView(store)
        self._warned_threshold = False
        self.llm = None
        self.generator = None
        if settings.llm_enabled:
            from assistant.answering.generate import Generator
            from assistant.answering.llm import LLMClient

            self.llm = LLMClient(settings)
            self.generator = Generator(self.llm, settings, store.get_chunk)
        self.runnable = (
            RunnableLambda(self._step_resolve, name="resolve_followup")
            | RunnableLambda(self._step_retrieve, name="retrieve")
            | RunnableLambda(self._step_compose, name="refuse_or_compose")
            | RunnableLambda(self._step_generate, name="generate")
        )
        self._prepare = (
            RunnableLambda(self._step_resolve, name="resolve_followup")
            | RunnableLambda(self._step_retrieve, name="retrieve")
            | RunnableLambda(self._step_compose, name="refuse_or_compose")
        )

    # --- public API ------------------------------------------------------------------------

    def ask(self, question: str, history: list[Turn] | None = None, filters: SearchFilters | None = None) -> Answer:
        run: _Run = self.runnable.invoke({"question": question, "history": history, "filters": filters})
        return run.answer

    def stream(self, question: str, history: list[Turn] | None = None, filters: SearchFilters | None = None) -> Iterator[dict[str, Any]]:
        run: _Run = self._prepare.invoke({"question": question, "history": history, "filters": filters})
        if self.generator is not None and not run.answer.refused:
            run.answer = yield from self.generator.stream(run.answer, run.hits, run.timings)
        else:
            for piece in _pieces(run.answer.answer):
                yield {"event": "delta", "text": piece}
        run.timings["total"] = (time.perf_counter() - run.t0) * 1000.0
        run.answer.timings_ms = dict(run.timings)
        yield {"event": "answer", "data": run.answer.to_json()}

    # --- steps ------------------------------------------------------------------------------

    def _step_resolve(self, inp: dict[str, Any]) -> _Run:
        run = _Run(question=str(inp.get("question") or "").strip(), history=inp.get("history"), filters=inp.get("filters"))
        t = time.perf_counter()
        run.sanitized = sanitize(run.question)
        condenser = self.llm.condense if (self.llm is not None and run.history) else None
        history = [Turn(t_.role, sanitize(t_.content).question or t_.content) for t_ in (run.history or [])]
        run.resolved = resolve(run.sanitized.question, history, condenser) if run.sanitized.question else Resolved("", run.question, "")
        run.lap("resolve", t)
        return run

    def _step_retrieve(self, run: _Run) -> _Run:
        t = time.perf_counter()
        run.snap = self.corpus.snapshot()
        question = run.resolved.question
        if not run.question:
            run.decision = refusal.Decision(True, "empty_question", refusal.EMPTY_MESSAGE)
            run.lap("retrieve", t)
            return run
        if not question:
            run.decision = refusal.Decision(True, "instructions_only", refusal.message_for("instructions_only"))
            run.lap("retrieve", t)
            return run
        if run.sanitized.context_provinces:
            question = f"{question} ({', '.join(run.sanitized.context_provinces)})"
        analysis = self.store.analyze(question)
        run.analysis = analysis
        run.search_question = question
        text = analysis.restored or analysis.normalized or question
        base = analyse_question(text, provinces=tuple(analysis.provinces), agencies=_order_agencies(tuple(analysis.agencies)))
        intent_src = run.resolved.intent_text
        if intent_src and intent_src != run.resolved.question:
            # A follow-up with its own wording ("Thời hạn là khi nào?"): the intent and the agency
            # asked about are the new question's; the earlier question only adds context words.
            ia = self.store.analyze(intent_src)
            intent = analyse_question(ia.restored or intent_src, agencies=_order_agencies(tuple(ia.agencies)))
            agencies = intent.agencies or (base.agencies if _AGENCY_DEIXIS.search(fold(intent_src)) else ())
            base = replace(base, duty=intent.duty, numeric=intent.numeric, deadline=intent.deadline, lead=intent.lead,
                           docnum=intent.docnum, compare=intent.compare or base.compare, agencies=agencies,
                           subject=intent.subject, subject_seq=intent.subject_seq)
        if run.sanitized.injection and base.numbers:
            # "X là 50, đúng không?": answer with the document's figure ("... năm 2025?": its date).
            base = replace(base, deadline=True) if only_dates(base.text) else replace(base, numeric=True)
        run.info = base
        corpus_provinces = run.snap.provinces
        have, missing = refusal.split_provinces(base.provinces, corpus_provinces)
        run.missing_provinces = missing
        caller = run.filters or SearchFilters()
        scope = tuple(dict.fromkeys([*caller.provinces, *have])) if (caller.provinces or have) else ()
        if caller.provinces and have:
            scope = tuple(p for p in have if p in caller.provinces) or tuple(caller.provinces)
        run.scope = scope
        run.decision = refusal.before_retrieval(base, text, run.snap, original=question)
        if run.decision.refuse:
            # Nearest passages anywhere, offered as "có thể liên quan".
            filters = SearchFilters(doc_ids=caller.doc_ids) if caller.doc_ids else None
        else:
            filters = SearchFilters(provinces=scope, doc_ids=caller.doc_ids, agencies=caller.agencies)
            filters = None if filters.is_empty() else filters
        k = max(self.settings.top_k, RETRIEVE_K_MIN)
        run.hits = self.store.search(question, k=k, filters=filters, analysis=analysis)
        # A comparison gets the best passages of each province, not only of the best one.
        compare_over = list(have) if len(have) >= 2 else (corpus_provinces if base.compare and not have else [])
        if caller.provinces:
            compare_over = [p for p in compare_over if p in caller.provinces]
        run.compare_over = list(compare_over) if len(compare_over) >= 2 else []
        if run.compare_over and not run.decision.refuse and not base.agency_listing:
            self._search_per_province(run, question)
        run.lap("retrieve", t)
        return run

    def _search_per_province(self, run: _Run, question: str) -> None:
        """Add the best passages of each compared province (a search filtered to it)."""
        caller = run.filters or SearchFilters()
        run.per_province = True
        seen = {h.chunk.chunk_id for h in run.hits}
        for p in run.compare_over:
            pf = SearchFilters(provinces=(p,), doc_ids=caller.doc_ids, agencies=caller.agencies)
            for h in self.store.search(question, k=PER_PROVINCE_K, filters=pf, analysis=run.analysis):
                if h.chunk.chunk_id not in seen:
                    seen.add(h.chunk.chunk_id)
                    run.hits.append(h)

    def _compose_topic(self, run: _Run) -> refusal.Decision:
        """Compose from the retrieved passages; a comparison keeps the provinces whose documents
        answer and names the others, and is refused only when none answers."""
        info, caller = run.info, run.filters or SearchFilters()
        top = max((h.dense_score for h in run.hits), default=None)
        decision = refusal.after_retrieval(top, self._threshold())
        if decision.refuse:
            return decision
        who = None
        if info.who:
            # "Vay vốn thì hỏi ai?": the agencies whose passages are about the topic, per province.
            who = compose_who(info, run.snap, scope=run.scope, doc_ids=tuple(caller.doc_ids))
            if who.empty or refusal.after_composition(info, who).refuse:
                who = None
        run.comp = compose_topic(info, run.hits, run.snap, per_province=run.per_province,
                                 scope=run.scope, doc_ids=tuple(caller.doc_ids))
        if who is not None and (run.comp.empty or who.focus_coverage >= run.comp.focus_coverage):
            # The agency passages cover the question at least as well as the best retrieved
            # passage ("who pays for X?" is answered by a funding sentence, not by X's organiser).
            run.comp = who
            return refusal.ok()
        if run.per_province and run.compare_over and not run.comp.empty:
            answered, silent = refusal.split_compared(info, run.comp, run.compare_over)
            if not answered:
                return refusal.Decision(True, "weak_evidence", refusal.REFUSAL_MESSAGE,
                                        {"provinces_without_evidence": silent})
            run.comp = keep_provinces(run.comp, answered)
            run.silent_provinces = silent
            if silent:
                where = f"tỉnh {silent[0]}" if len(silent) == 1 else f"các tỉnh {', '.join(silent)}"
                run.comp.notes.append(f"Không tìm thấy nội dung này trong văn bản của {where}.")
        return refusal.after_composition(info, run.comp)

    def _step_compose(self, run: _Run) -> _Run:
        t = time.perf_counter()
        info, snap = run.info, run.snap
        decision = run.decision
        if not decision.refuse:
            caller = run.filters or SearchFilters()
            if info.agency_listing:
                run.comp = compose_agency(info, snap, run.scope, tuple(caller.doc_ids))
                decision = refusal.after_composition(info, run.comp)
                if decision.refuse and run.compare_over and info.focus:
                    # "Khánh Hòa và Lâm Đồng khác nhau thế nào về việc thành lập Quỹ ...?": the
                    # agency is what is compared, not who acts; compare the topic per province.
                    run.comp = None
                    self._search_per_province(run, run.search_question)
                    decision = self._compose_topic(run)
            else:
                decision = self._compose_topic(run)
            if decision.refuse and decision.reason == "no_duties":
                listed = [a for a in info.listed_agencies if a in info.agencies] or list(info.agencies[:1])
                decision.message = refusal.message_for("no_duties", agency=", ".join(listed))
        run.decision = decision
        metadata: dict[str, Any] = {
            "provinces": list(run.scope),
            "agencies": list(info.agencies) if info else [],
            "intent": _intent(info),
            "followup": bool(run.resolved and run.resolved.is_followup),
        }
        if run.resolved and run.resolved.is_followup:
            metadata["followup_source"] = run.resolved.source
        if run.sanitized and run.sanitized.injection:
            metadata["ignored_instructions"] = list(run.sanitized.removed)
        if run.missing_provinces:
            metadata["provinces_not_in_corpus"] = run.missing_provinces
        if run.per_province and run.compare_over:
            metadata["compared_provinces"] = list(run.compare_over)
            if run.silent_provinces:
                metadata["provinces_without_evidence"] = list(run.silent_provinces)
        question = run.resolved.question if run.resolved and run.resolved.question else run.question
        if decision.refuse:
            related = related_citations(run.hits, RELATED_K)
            msg = decision.message or refusal.REFUSAL_MESSAGE
            if decision.reason not in ("instructions_only", "empty_question") and related and refusal.RELATED_NOTE not in msg:
                msg = f"{msg} {refusal.RELATED_NOTE}"
            if decision.reason in ("instructions_only", "empty_question"):
                related = []
            metadata.update({"refusal_reason": decision.reason, **decision.details})
            run.answer = Answer(answer=msg, citations=[], refused=True, mode="extractive", related=related,
                                question=question, metadata=metadata)
        else:
            text, citations = render(run.comp, info, snap)
            if run.missing_provinces:
                text += "\n\n" + (f"Kho văn bản hiện không có văn bản nào của {', '.join(run.missing_provinces)}.")
            metadata["answer_mode"] = run.comp.mode
            run.answer = Answer(answer=text, citations=citations, refused=False, mode="extractive", question=question,
                                metadata=metadata)
        run.lap("compose", t)
        run.answer.timings_ms = dict(run.timings)
        return run

    def _step_generate(self, run: _Run) -> _Run:
        if self.generator is not None and not run.answer.refused:
            run.answer = self.generator.generate(run.answer, run.hits, run.timings)
        run.timings["total"] = (time.perf_counter() - run.t0) * 1000.0
        run.answer.timings_ms = dict(run.timings)
        return run

    def _threshold(self) -> float:
        """The similarity threshold, when it was calibrated for the embedder in use."""
        name = str(getattr(getattr(self.store, "embedder", None), "name", ""))
        if name.startswith(refusal.CALIBRATED_EMBEDDER):
            return self.settings.refusal_threshold
        if not self._warned_threshold:
            log.warning("refusal threshold calibrated for %s, not %s: similarity check disabled",
                        refusal.CALIBRATED_EMBEDDER, name or "this embedder")
            self._warned_threshold = True
        return 0.0

# --- helpers ----------------------------------------------------------------------------------


def _pieces(text: str) -> list[str]:
    lines = text.split("\n")
    return [ln + ("\n" if i < len(lines) - 1 else "") for i, ln in enumerate(lines)]


def _intent(info: QuestionInfo | None) -> list[str]:
    if info is None:
        return []
    flags = [("agency_listing", info.agency_listing), ("numeric", info.numeric), ("deadline", info.deadline),
             ("lead", info.lead), ("compare", info.compare), ("duty", info.duty)]
    return [name for name, on in flags if on]
