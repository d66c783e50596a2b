"""A cached view of what is indexed: chunks, document metadata, provinces and term statistics.

The answerer needs to know which provinces the documents cover (to refuse questions about
others), every chunk that assigns duties to an agency (to answer "what must X do?" for all
provinces, not just the top hits), and how rare each word is (to weigh the question's words
and to notice words no document uses). It is rebuilt when the set of documents changes.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections import Counter
from dataclasses import dataclass, field

from ingest.normalize import fold
from ingest.types import Chunk, DocumentMeta

log = logging.getLogger("htx.corpus")

_LINE_WORDS = re.compile(r"\w+", re.UNICODE)


def _bigrams(text: str) -> set[str]:
    out: set[str] = set()
    for piece in re.split(r"[\n.;:,()\"“”|!?]", fold(text)):
        words = _LINE_WORDS.findall(piece)
        out.update(f"{a} {b}" for a, b in zip(words, words[1:]))
    return out


@dataclass
class CorpusSnapshot:
    signature: tuple
    chunks: list[Chunk] = field(default_factory=list)
    docs: dict[str, DocumentMeta] = field(default_factory=dict)
    df: Counter = field(default_factory=Counter)  # scoring token (passages.score_tokens) -> chunks containing it
    raw: set[str] = field(default_factory=set)  # folded syllables used anywhere
    bigrams: set[str] = field(default_factory=set)  # adjacent folded syllable pairs used anywhere
    token_texts: list[str] = field(default_factory=list)  # " tok tok ... " per chunk, for phrase look-ups
    folded_texts: list[str] = field(default_factory=list)  # folded context text per chunk, for name look-ups

    @property
    def n(self) -> int:
        return max(1, len(self.chunks))

    @property
    def provinces(self) -> list[str]:
        seen: list[str] = []
        for meta in self.docs.values():
            if meta.province and meta.province not in seen:
                seen.append(meta.province)
        for c in self.chunks:
            if c.province and c.province not in seen:
                seen.append(c.province)
        return seen

    def idf(self, term: str) -> float:
        return math.log(1.0 + self.n / (1.0 + self.df.get(term, 0)))

    def has_token(self, term: str) -> bool:
        """``term`` is a scoring token of some chunk."""
        return self.df.get(term, 0) > 0

    def known(self, syllable: str) -> bool:
        """``syllable`` (folded) occurs somewhere in the indexed text."""
        return syllable in self.raw

    def known_bigram(self, a: str, b: str) -> bool:
        return f"{a} {b}" in self.bigrams

    def phrase_idf(self, phrase_tokens: tuple[str, ...]) -> float:
        """Rarity of a multi-token phrase (computed by a scan, cached per snapshot)."""
        cache = self.__dict__.setdefault("_phrase_idf", {})
        if phrase_tokens not in cache:
            needle = f" {' '.join(phrase_tokens)} "
            df = sum(1 for text in self.token_texts if needle in text)
            cache[phrase_tokens] = math.log(1.0 + self.n / (1.0 + df))
        return cache[phrase_tokens]

    def chunks_with(self, phrase_tokens: list[str], limit: int) -> list[Chunk] | None:
        """Chunks whose scoring tokens contain the phrase; None when more than ``limit`` do
        (the phrase is not rare enough to rescue a passage retrieval missed)."""
        needle = f" {' '.join(phrase_tokens)} "
        found: list[Chunk] = []
        for i, text in enumerate(self.token_texts):
            if needle in text:
                found.append(self.chunks[i])
                if len(found) > limit:
                    return None
        return found

    def doc_title(self, doc_id: str, fallback: str = "") -> str:
        meta = self.docs.get(doc_id)
        return (meta.short_title or meta.title) if meta else fallback


class CorpusView:
    """Thread-safe, lazily rebuilt snapshot of the store's contents."""

    def __init__(self, store):
        self.store = store
        self._lock = threading.Lock()
        self._snap: CorpusSnapshot | None = None

    def _signature(self) -> tuple:
        snap = getattr(self.store, "snapshot", None)  # IndexStore exposes its immutable snapshot
        if snap is not None and hasattr(snap, "version"):
            return ("snapshot", id(snap), snap.version)
        docs = self.store.documents()
        return tuple(sorted((d.meta.doc_id, d.meta.sha256, d.chunk_count) for d in docs))

    def snapshot(self) -> CorpusSnapshot:
        sig = self._signature()
        snap = self._snap
        if snap is not None and snap.signature == sig:
            return snap
        with self._lock:
            snap = self._snap
            if snap is not None and snap.signature == sig:
                return snap
            snap = self._build(sig)
            self._snap = snap
            return snap

    def _build(self, sig: tuple) -> CorpusSnapshot:
        docs = {d.meta.doc_id: d.meta for d in self.store.documents()}
        chunks = sorted(self.store.chunks(), key=lambda c: (c.doc_id, c.order))
        from assistant.answering.passages import score_tokens

        df: Counter = Counter()
        raw: set[str] = set()
        bigrams: set[str] = set()
        token_texts: list[str] = []
        folded_texts: list[str] = []
        for c in chunks:
            text = c.context_text()
            toks = score_tokens(text)
            token_texts.append(f" {' '.join(toks)} ")
            folded_texts.append(fold(text))
            df.update(set(toks))
            raw.update(_LINE_WORDS.findall(fold(text)))
            bigrams |= _bigrams(text)
        for meta in docs.values():
            bigrams |= _bigrams(meta.title or "")
            raw.update(_LINE_WORDS.findall(fold(meta.title or "")))
        log.info("corpus view rebuilt: %d documents, %d chunks", len(docs), len(chunks))
        return CorpusSnapshot(signature=sig, chunks=chunks, docs=docs, df=df, raw=raw, bigrams=bigrams,
                              token_texts=token_texts, folded_texts=folded_texts)
