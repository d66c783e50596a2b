"""The answering pipeline: a LangChain Runnable of typed stages

    understand -> retrieve -> select -> decide + compose -> generate and verify (LLM, optional)

Each stage is a module with its own typed input and output (``understand.Query``,
``select.Search`` / ``select.Candidate``, ``decide.Decision``, ``compose.Composed``,
``types.Answer``); this module only wires them. ``AnswerService.runnable`` is the pipeline,
``ask`` invokes it, ``stream`` runs it and streams the answer text, ``search`` is retrieval
alone (no answer layer). Every answer is composed from the documents first (extractive); when
an LLM is configured, its reply is verified against the passages it was given and any failure
falls back to the extractive answer (``mode == "extractive_fallback"``).

State: the service holds the store, the settings, the fitted weights and a cache of corpus
statistics keyed by index version; everything about one question lives in a ``_Run`` object
created for that question, so concurrent requests share nothing mutable.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field, replace
from typing import Any, Iterator

from langchain_core.runnables import RunnableLambda

from index.retriever import documents_matching
from ingest.normalize import fold
from index.types import Hit, SearchFilters

from assistant.answering import compose as composer
from assistant.answering.corpus import CorpusSnapshot, CorpusView
from assistant.answering.decide import Decision, decide, intent_caveats
from assistant.answering.amounts import amount_sentences, check_read as amount_check, question_forms
from assistant.answering.scope import check as scope_check, scope_docs
from assistant.answering.select import TOP_SCOPED, Candidate, Search, Selector, unit_infos
from assistant.answering.types import Answer, Turn
from assistant.answering.understand import Query, Understander, question_parts
from assistant.answering.weights import Weights, load_weights
from assistant.settings import Settings

log = logging.getLogger("htx.chain")

RETRIEVE_K = 10  # chunks of the main search (Settings.top_k if larger)
MAX_SCOPES = 8  # per-province searches for one question at most
RELATED_K = 3
_LAW_WORDS = ("Luật", "Bộ", "Hiến")  # a document named by name, not number: "Luật Đất đai", "Bộ luật Dân sự"


@dataclass
class _Run:
    """Everything about one question, handed from stage to stage."""

    question: str
    history: list[Turn] | None
    filters: SearchFilters | None
    full: bool = False
    t0: float = field(default_factory=time.perf_counter)
    timings: dict[str, float] = field(default_factory=dict)
    query: Query | None = None
    snap: CorpusSnapshot | None = None
    scope: tuple[str, ...] = ()
    missing_provinces: list[str] = field(default_factory=list)
    missing_documents: list[str] = field(default_factory=list)
    named_docs: tuple[str, ...] = ()
    per_province: bool = False
    scope_docs: tuple[str, ...] = ()  # the documents the main search reads
    searches: list[Search] = field(default_factory=list)
    cands: list[Candidate] = field(default_factory=list)
    # for a message of several parts (``understand.question_parts``): each part's candidates
    part_cands: list[list[Candidate]] = field(default_factory=list)
    decision: Decision | None = None
    answer: Answer | None = None
    weights: Weights | None = None  # set by evaluation to compose with other fitted weights

    def lap(self, name: str, since: float) -> float:
        now = time.perf_counter()
        self.timings[name] = self.timings.get(name, 0.0) + (now - since) * 1000.0
        return now

    @property
    def hits(self) -> list[Hit]:
        seen, out = set(), []
        for s in self.searches:
            for h in s.hits:
                if h.chunk.chunk_id not in seen:
                    seen.add(h.chunk.chunk_id)
                    out.append(h)
        return out


def _related_provinces(name: str) -> tuple[str, ...]:
    """The province, what it merged into in 2025 and what merged into it (ingest.vocab)."""
    from ingest import vocab

    fn = getattr(vocab, "related_provinces", None)
    return tuple(fn(name)) if fn else (name,)


def _covers(asked: str, province: str, snap) -> bool:
    """``province``'s loaded documents cover the province asked about (``ingest.vocab.covers``:
    the province an old one merged into, only by documents issued from the merger on)."""
    from ingest import vocab

    fn = getattr(vocab, "covers", None)
    return fn is None or fn(asked, province, (m.date for m in snap.docs.values() if m.province == province))


def _named_with_amount(query: Query, snap: CorpusSnapshot) -> tuple[str, ...]:
    """The loaded documents named in a sentence that asks an amount ("Thanh niên được vay tối
    đa bao nhiêu, lãi suất bao nhiêu theo Luật Thanh niên?"): that amount is looked for in them
    only. A document named in another sentence of the message ("Tây Ninh phấn đấu lập bao nhiêu
    HTX? … theo Bộ luật Dân sự thì …?") does not bind it."""
    refs = query.analysis.documents if query.analysis is not None else ()
    if not refs:
        return ()
    asking = [fold(t) for form in dict.fromkeys((query.restored, query.typed)) for t in amount_sentences(form)]
    inside = [r for r in refs if any(fold(r) in t for t in asking)]
    return tuple(documents_matching(snap.docs, inside)) if inside else ()


class AnswerService:
    def __init__(self, store, settings: Settings, weights=None):
        self.store = store
        self.settings = settings
        self.corpus = CorpusView(store, prepare=unit_infos)
        self.weights = weights or load_weights(getattr(settings, "weights_path", None))
        self.understander = Understander(store.analyze)
        self.selector = Selector(self.weights)
        self.llm = None
        self.generator = None
        if settings.llm_enabled:
            from assistant.answering.generate import Generator
            from assistant.answering.llm import LLMClient

            self.llm = LLMClient(settings)
            self.generator = Generator(self.llm, settings, store.get_chunk)
        self._prepare = (
            RunnableLambda(self._step_understand, name="understand")
            | RunnableLambda(self._step_retrieve, name="retrieve")
            | RunnableLambda(self._step_select, name="select")
            | RunnableLambda(self._step_compose, name="decide_and_compose")
        )
        self.runnable = self._prepare | RunnableLambda(self._step_generate, name="generate")

    # --- public API ------------------------------------------------------------------------

    def ask(self, question: str, history: list[Turn] | None = None, filters: SearchFilters | None = None,
            full: bool = False) -> Answer:
        run: _Run = self.runnable.invoke({"question": question, "history": history, "filters": filters, "full": full})
        return run.answer

    def stream(self, question: str, history: list[Turn] | None = None, filters: SearchFilters | None = None,
               full: bool = False) -> Iterator[dict[str, Any]]:
        run: _Run = self._prepare.invoke({"question": question, "history": history, "filters": filters, "full": full})
        if self.generator is not None and not run.answer.refused:
            run.answer = yield from self.generator.stream(self._llm_view(run), run.hits, run.timings)
            run.answer.question = run.query.text
        else:
            for piece in _pieces(run.answer.answer):
                yield {"event": "delta", "text": piece}
        run.timings["total"] = (time.perf_counter() - run.t0) * 1000.0
        run.answer.timings_ms = dict(run.timings)
        yield {"event": "answer", "data": run.answer.to_json()}

    def search(self, question: str, k: int = 5, filters: SearchFilters | None = None) -> list[Hit]:
        """Retrieval alone: the passages, no answer layer."""
        return self.store.search(question, k=k, filters=filters)

    def understand(self, question: str, history: list[Turn] | None = None) -> Query:
        return self.understander.understand(question, history)

    def prepare(self, question: str, history: list[Turn] | None = None, filters: SearchFilters | None = None,
                full: bool = False) -> _Run:
        """Understand, retrieve and select, without deciding (evaluation and fitting reuse the
        candidates with other weights through :meth:`finish`)."""
        run = self._step_understand({"question": question, "history": history, "filters": filters, "full": full})
        return self._step_select(self._step_retrieve(run))

    def finish(self, run: _Run, weights: Weights) -> Answer:
        """Decide and compose a prepared run with ``weights`` (candidates re-scored)."""
        from assistant.answering.select import rescore

        run = replace(run, weights=weights, cands=rescore(run.cands, weights), timings=dict(run.timings),
                      part_cands=[rescore(pc, weights) for pc in run.part_cands])
        return self._step_compose(run).answer

    # --- stages -----------------------------------------------------------------------------

    def _step_understand(self, inp: dict[str, Any]) -> _Run:
        run = _Run(question=str(inp.get("question") or "").strip(), history=inp.get("history"),
                   filters=inp.get("filters"), full=bool(inp.get("full")))
        t = time.perf_counter()
        condenser = self.llm.condense if (self.llm is not None and run.history) else None
        run.query = self.understander.understand(run.question, run.history, condenser)
        run.lap("understand", t)
        return run

    def _step_retrieve(self, run: _Run) -> _Run:
        t = time.perf_counter()
        run.snap = snap = self.corpus.snapshot()
        q = run.query
        if not q.typed:
            run.lap("retrieve", t)
            return run
        caller = run.filters or SearchFilters()
        have, missing = [], []
        loaded = set(snap.provinces)
        for p in q.provinces:
            related = [r for r in _related_provinces(p) if r in loaded and _covers(p, r, snap)]
            (have.extend(related) if related else missing.append(p))
        run.missing_provinces = missing
        scope = tuple(dict.fromkeys(have))
        if caller.provinces:
            scope = tuple(p for p in scope if p in caller.provinces) or tuple(caller.provinces)
        run.scope = scope
        filters = SearchFilters(provinces=scope, doc_ids=caller.doc_ids, agencies=caller.agencies)
        filters = None if filters.is_empty() else filters
        if missing and not scope and snap.national:
            # A province with no document of its own: the national documents may answer.
            filters = SearchFilters(provinces=tuple(missing), doc_ids=caller.doc_ids)
        run.scope_docs = scope_docs(snap, filters.provinces if filters else (), filters.doc_ids if filters else ())
        k = max(self.settings.top_k, RETRIEVE_K)
        main = self.store.search(q.text, k=k, filters=filters, analysis=q.analysis)
        run.searches = [Search("main", tuple(main))]
        self._search_documents(run, filters)
        self._search_agency(run, filters)
        self._search_per_province(run, main, caller)
        run.lap("retrieve", t)
        return run

    def _search_documents(self, run: _Run, filters: SearchFilters | None) -> None:
        """A document named in the question: its best passages join the candidates; a named
        document that no loaded document is (by number, or a law by its name: "Luật Đất đai")
        is reported."""
        q, snap = run.query, run.snap
        match = getattr(self.store.retriever, "match_documents", None)
        named: tuple[str, ...] = ()
        if match is not None and q.analysis is not None:
            try:
                named = tuple(match(self.store.snapshot, q.analysis))
            except Exception as e:  # noqa: BLE001 - a failed match only loses a boost
                log.warning("document matching failed: %s", e)
        if not named and q.documents:
            # a number in full, or shortened to number and year ("Kế hoạch 188/2021")
            named = tuple(dict.fromkeys(_match_by_number(q.documents, snap) + documents_matching(snap.docs, q.documents)))
        run.named_docs = named
        numbers = [d for d in q.documents if "/" in d]
        laws = [d for d in q.documents if "/" not in d and d.split()[0] in _LAW_WORDS]
        run.missing_documents = [d for d in numbers if not _number_loaded(d, snap)
                                 and not documents_matching(snap.docs, [d]) and not _unnumbered_of_type(d, snap)] + \
            [d for d in laws if not documents_matching(snap.docs, [d])]
        if named:
            base = filters or SearchFilters()
            f = SearchFilters(provinces=base.provinces, doc_ids=named, agencies=base.agencies)
            hits = self.store.search(q.text, k=TOP_SCOPED, filters=f, analysis=q.analysis)
            run.searches.append(Search("document", tuple(hits), TOP_SCOPED))

    def _search_agency(self, run: _Run, filters: SearchFilters | None) -> None:
        """An agency named in the question: the passages that assign work to it (chunks whose
        responsible agencies include it) join the candidates, so a listing of its duties is not
        crowded out by passages that merely share the question's other words."""
        q = run.query
        if not q.agencies:
            return
        base = filters or SearchFilters()
        f = SearchFilters(provinces=base.provinces, doc_ids=base.doc_ids, agencies=(q.agencies[0],))
        hits = self.store.search(q.text, k=2 * TOP_SCOPED, filters=f, analysis=q.analysis)
        if hits:
            run.searches.append(Search("agency", tuple(hits), 2 * TOP_SCOPED))

    def _search_per_province(self, run: _Run, main: list[Hit], caller: SearchFilters) -> None:
        """Keep provinces apart: one small search per province when the question compares
        provinces or asks about an agency that has passages in several of them."""
        q, snap = run.query, run.snap
        if caller.doc_ids:
            return
        if len(run.scope) >= 2:
            provinces = list(run.scope)
        elif run.scope or len(snap.provinces) < 2:
            return
        elif q.per_province:
            provinces = list(snap.provinces)
        elif q.agencies:
            provinces = [p for p in snap.agency_provinces.get(q.agencies[0], ()) if p]
        else:
            return
        if len(provinces) < 2:
            return
        run.per_province = True
        rank = {h.chunk.province: i for i, h in reversed(list(enumerate(main)))}
        provinces.sort(key=lambda p: rank.get(p, len(main)))
        for p in provinces[:MAX_SCOPES]:
            # The province's own documents: each province is compared as itself (no merged
            # provinces, no national documents; those come through the main search).
            f = SearchFilters(provinces=(p,), agencies=caller.agencies, national=False, related=False)
            hits = self.store.search(q.text, k=TOP_SCOPED, filters=f, analysis=q.analysis)
            run.searches.append(Search(f"province:{p}", tuple(hits), TOP_SCOPED))

    def _step_select(self, run: _Run) -> _Run:
        t = time.perf_counter()
        if run.query.typed and run.searches:
            run.cands = self.selector.candidates(run.query, run.searches, run.snap)
            run.part_cands = [self.selector.candidates(part, run.searches, run.snap)
                              for part in question_parts(run.query)]
        run.lap("select", t)
        return run

    def _step_compose(self, run: _Run) -> _Run:
        t = time.perf_counter()
        q, snap = run.query, run.snap
        weights = run.weights or self.weights
        top_dense = max((h.dense_score for h in (run.searches[0].hits if run.searches else ())), default=0.0)
        facts = scope_check(q, snap, run.scope_docs)
        # the amount asked is looked for in the named provinces' own and the national documents,
        # and, when the question names loaded documents ("… lãi suất bao nhiêu theo Luật Thanh
        # niên?"), in theirs: what another document states is not what the named one says
        read = [c for c in run.cands if c.chunk.doc_id not in facts.partners] if facts.partners else run.cands
        named = _named_with_amount(q, snap)
        read = [c for c in read if c.chunk.doc_id in named] or read
        amounts = amount_check(question_forms(q), read, facts.all_words)
        run.decision = d = decide(q, run.cands, top_dense, snap, weights, facts, run.missing_provinces,
                                  run.missing_documents, amounts)
        metadata: dict[str, Any] = {
            "provinces": list(run.scope),
            "agencies": list(q.agencies),
            "documents": list(run.named_docs),
            "intent": list(q.intents),
            "followup": q.followup,
            "decision": {"action": d.action, "p": round(d.p, 4)},
            "not_in_documents": list(d.absent),
        }
        if q.followup:
            metadata["followup_source"] = q.source
            metadata["carried"] = {k: list(v) for k, v in q.carried.items()}
        if run.missing_provinces:
            metadata["provinces_not_in_corpus"] = list(run.missing_provinces)
        if run.missing_documents:
            metadata["documents_not_loaded"] = list(run.missing_documents)
        merged = _merged_note(q.provinces, run.scope)
        question = q.text or run.question
        if d.refuse:
            related = (composer.related(run.cands, snap, RELATED_K)
                       if d.reason not in ("empty_question", "instruction_only") else [])
            metadata.update({"refusal_reason": d.reason, "more": 0})
            run.answer = Answer(answer=composer.refusal_text(d, bool(related)), citations=[], refused=True,
                                mode="extractive", related=related, question=question, metadata=metadata)
        else:
            notes = [merged] if merged else []
            out = composer.compose(q, run.cands, snap, d, weights.keep_ratio, run.per_province, run.full,
                                   extra_notes=notes, required=composer.part_bests(run.part_cands))
            out_notes = intent_caveats(q, out.shown, snap) if not any(n.startswith("Lưu ý") for n in d.caveats) else []
            text = out.text + ("\n\n" + "\n".join(out_notes) if out_notes else "")
            metadata.update({"more": out.more, "groups": out.groups, "answer_mode": "extractive"})
            if run.per_province:
                metadata["compared_provinces"] = sorted({c.province for c in out.citations if c.province})
            run.answer = Answer(answer=text, citations=out.citations, refused=False, mode="extractive",
                                question=question, metadata=metadata)
        run.lap("compose", t)
        run.answer.timings_ms = dict(run.timings)
        return run

    def _llm_view(self, run: _Run) -> Answer:
        """The answer as the LLM step sees it: the question with instructions aimed at the
        assistant cut off (only this path needs that), the factual question kept."""
        from assistant.answering.safety import sanitize

        s = sanitize(run.query.text)
        return replace(run.answer, question=s.question or run.query.text, metadata=dict(run.answer.metadata))

    def _step_generate(self, run: _Run) -> _Run:
        if self.generator is not None and not run.answer.refused:
            run.answer = self.generator.generate(self._llm_view(run), run.hits, run.timings)
            run.answer.question = run.query.text
        run.timings["total"] = (time.perf_counter() - run.t0) * 1000.0
        run.answer.timings_ms = dict(run.timings)
        return run


# --- helpers ----------------------------------------------------------------------------------


def _pieces(text: str) -> list[str]:
    lines = text.split("\n")
    return [ln + ("\n" if i < len(lines) - 1 else "") for i, ln in enumerate(lines)]


def _number_key(ref: str) -> str:
    from ingest.normalize import fold

    return fold(ref).replace(" ", "").lower()


def _number_loaded(ref: str, snap: CorpusSnapshot) -> bool:
    key = _number_key(ref)
    for meta in snap.docs.values():
        for field_ in (meta.number, meta.title, meta.short_title):
            if field_ and key in _number_key(field_):
                return True
    return False


def _unnumbered_of_type(ref: str, snap: CorpusSnapshot) -> bool:
    """A reference by type and short number ("Luật 52/2014") when a loaded document of that type
    has no number in its metadata (a law read from a plain text file): it may be that one, so
    it is not reported as not loaded."""
    from ingest.normalize import fold

    from assistant.answering.understand import DOC_SHORT_NUMBER

    m = DOC_SHORT_NUMBER.fullmatch(ref.strip())
    if m is None:
        return False
    kind = fold(re.sub(r"\s+(?:số\s+)?\d.*$", "", ref.strip(), flags=re.IGNORECASE))
    return any(not meta.number and fold(meta.doc_type or "") == kind for meta in snap.docs.values())


def _match_by_number(refs: tuple[str, ...], snap: CorpusSnapshot) -> tuple[str, ...]:
    out = []
    for ref in refs:
        if "/" not in ref:
            continue
        key = _number_key(ref)
        out.extend(d for d, m in snap.docs.items() if m.number and key in _number_key(m.number))
    return tuple(dict.fromkeys(out))


def _merged_note(named: tuple[str, ...], scope: tuple[str, ...]) -> str:
    """A question about a merged province also finds documents issued under the old names
    (or, for an old name, under the province it became part of), and says so."""
    from ingest import vocab

    into = getattr(vocab, "merged_into", lambda _p: None)
    notes = []
    for p in named:
        related = set(_related_provinces(p))
        others = [s for s in scope if s not in named and s in related]
        if not others:
            continue
        new = into(p)
        if new and new in others:
            notes.append(f"Từ năm 2025, {p} thuộc {new}; văn bản của {new} cũng được dùng.")
        else:
            notes.append(f"Từ năm 2025, {p} gồm cả {', '.join(others)} trước đây; "
                         f"văn bản ban hành dưới tên cũ cũng được dùng.")
    return " ".join(notes)
