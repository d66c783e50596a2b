"""What the answering stages need to know about the index, built once per index version.

- term rarity (document frequency of folded content terms, abbreviations expanded), to weigh
  the question's words;
- each document's chunks in order, to find a retrieved chunk's structural neighbours (same
  article or section) without scanning the corpus;
- which provinces each agency has passages in, and the document metadata;
- per document, its syllable pairs, numbers and agencies, so that what a question names can
  be checked against the documents in its scope (``scope.py``) with set look-ups.

Building it reads every chunk once, and prepares each chunk's question-independent unit
features (``CorpusView(prepare=...)``: the select stage's ``unit_infos``), carried over from the
previous version for every chunk that did not change; answering a question afterwards reads
only the chunks retrieval returned and their neighbours and computes only what depends on the
question, so answer time does not grow with the corpus (the cost is paid once per index
version, and only for new chunks: ``CorpusSnapshot.build_ms`` / ``prepared_new``).
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from index.text import STOPWORDS_FOLDED, fold_expanded
from ingest.types import Chunk, DocumentMeta

log = logging.getLogger("htx.corpus")

_WORD = re.compile(r"\w+", re.UNICODE)


def term_seq(text: str) -> list[str]:
    """Folded content terms of ``text`` in order (abbreviations expanded, stop words and
    one-digit numbers dropped): the vocabulary of the answer layer's scoring."""
    return _content(_WORD.findall(fold_expanded(text)))


def _content(folded: list[str]) -> list[str]:
    return [t for t in folded if t not in STOPWORDS_FOLDED and (not t.isdigit() or len(t) >= 2)]


@dataclass(frozen=True)
class CorpusSnapshot:
    version: tuple
    docs: dict[str, DocumentMeta]
    n: int
    df: Counter
    by_doc: dict[str, tuple[Chunk, ...]]  # doc_id -> chunks in document order
    position: dict[str, int]  # chunk_id -> index in by_doc[doc_id]
    agency_provinces: dict[str, tuple[str, ...]]  # agency -> provinces whose chunks name it
    provinces: tuple[str, ...] = ()  # provinces that have documents
    national: bool = False  # a national document (no province) is loaded
    pairs: frozenset = frozenset()  # adjacent content-term pairs used anywhere
    # per document, for what a question's scope contains (assistant.answering.scope):
    doc_pairs: dict[str, frozenset] = field(default_factory=dict)  # adjacent folded syllable pairs
    doc_numbers: dict[str, frozenset] = field(default_factory=dict)  # number_key of every number
    doc_agencies: dict[str, frozenset] = field(default_factory=dict)  # agencies found at ingest
    # chunk_id -> (chunk, its prepared question-independent features), see CorpusView(prepare=)
    prepared: Mapping[str, tuple[Chunk, Any]] = field(default_factory=dict, repr=False, compare=False)
    prepared_new: int = 0  # chunks whose features this version computed (the rest carried over)
    build_ms: float = 0.0
    _cache: dict = field(default_factory=dict, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def chunk_features(self, chunk: Chunk, build: Callable[[Chunk], Any]) -> Any:
        """The chunk's prepared features; for a chunk the snapshot did not prepare (a view
        built without ``prepare``), built once and cached."""
        got = self.prepared.get(chunk.chunk_id)
        if got is not None and got[0] is chunk:
            return got[1]
        return self.cached(("features", chunk.chunk_id), lambda: build(chunk))

    def cached(self, key, build):
        """A value derived from this index version, built once."""
        value = self._cache.get(key)
        if value is None:
            value = build()
            with self._lock:
                if len(self._cache) > 50000:
                    self._cache.clear()
                self._cache[key] = value
        return value

    def idf(self, term: str) -> float:
        return math.log(1.0 + self.n / (1.0 + self.df.get(term, 0)))

    def known(self, term: str) -> bool:
        return self.df.get(term, 0) > 0

    def doc_title(self, doc_id: str, fallback: str = "") -> str:
        meta = self.docs.get(doc_id)
        return (meta.short_title or meta.title) if meta else fallback

    def neighbours(self, chunk: Chunk, span: int = 2) -> list[Chunk]:
        """Chunks next to ``chunk`` in its document that belong to the same article or section
        (their heading paths share everything but the last level)."""
        seq = self.by_doc.get(chunk.doc_id, ())
        i = self.position.get(chunk.chunk_id)
        if i is None:
            return []
        parent = tuple(chunk.heading_path[:-1]) if len(chunk.heading_path) > 1 else tuple(chunk.heading_path)
        out = []
        for j in range(max(0, i - span), min(len(seq), i + span + 1)):
            if j == i:
                continue
            other = seq[j]
            if tuple(other.heading_path[: len(parent)]) == parent:
                out.append(other)
        return out


_NUMBER = re.compile(r"\d+(?:[.,]\d{3})*")


def number_key(text: str) -> str:
    """A number as compared across documents: thousands separators and leading zeros dropped
    ("15.000" and "15000", "02" and "2" are the same)."""
    digits = text.replace(".", "").replace(",", "").lstrip("0")
    return digits or "0"


def build_snapshot(version: tuple, chunks: list[Chunk], docs: dict[str, DocumentMeta],
                   prepare: Callable[[Chunk], Any] | None = None,
                   previous: "CorpusSnapshot | None" = None) -> CorpusSnapshot:
    """The snapshot of ``chunks``; with ``prepare``, every chunk's features too, reused from
    ``previous`` for a chunk that is equal to the one it was prepared from."""
    t0 = time.perf_counter()
    df: Counter = Counter()
    by_doc: dict[str, list[Chunk]] = defaultdict(list)
    agency_prov: dict[str, set[str]] = defaultdict(set)
    pairs: set[tuple[str, str]] = set()
    doc_pairs: dict[str, set] = defaultdict(set)
    doc_numbers: dict[str, set] = defaultdict(set)
    doc_agencies: dict[str, set] = defaultdict(set)
    for c in chunks:
        text = c.context_text()
        syl = _WORD.findall(fold_expanded(text))
        terms = _content(syl)
        df.update(set(terms))
        pairs.update(zip(terms, terms[1:]))
        by_doc[c.doc_id].append(c)
        for a in c.agencies:
            agency_prov[a].add(c.province or "")
        doc_pairs[c.doc_id].update(zip(syl, syl[1:]))
        doc_numbers[c.doc_id].update(number_key(n) for n in _NUMBER.findall(text))
        doc_agencies[c.doc_id].update(c.agencies)
    seqs = {d: tuple(sorted(cs, key=lambda c: c.order)) for d, cs in by_doc.items()}
    position = {c.chunk_id: i for cs in seqs.values() for i, c in enumerate(cs)}
    provinces = tuple(dict.fromkeys(m.province for m in docs.values() if m.province))
    national = any(not m.province for m in docs.values())
    prepared: dict[str, tuple[Chunk, Any]] = {}
    new = 0
    if prepare is not None:
        old = previous.prepared if previous is not None else {}
        for c in chunks:
            got = old.get(c.chunk_id)
            if got is not None and (got[0] is c or got[0] == c):
                prepared[c.chunk_id] = (c, got[1])  # equal content: its features hold
            else:
                prepared[c.chunk_id] = (c, prepare(c))
                new += 1
    build_ms = (time.perf_counter() - t0) * 1000.0
    log.info("corpus view rebuilt: %d documents, %d chunks, %d prepared anew, %.0f ms",
             len(docs), len(chunks), new, build_ms)
    return CorpusSnapshot(version=version, docs=dict(docs), n=max(1, len(chunks)), df=df, by_doc=seqs,
                          position=position, agency_provinces={a: tuple(sorted(p)) for a, p in agency_prov.items()},
                          provinces=provinces, national=national, pairs=frozenset(pairs),
                          doc_pairs={d: frozenset(v) for d, v in doc_pairs.items()},
                          doc_numbers={d: frozenset(v) for d, v in doc_numbers.items()},
                          doc_agencies={d: frozenset(v) for d, v in doc_agencies.items()},
                          prepared=prepared, prepared_new=new, build_ms=build_ms)


class CorpusView:
    """The current :class:`CorpusSnapshot`, rebuilt (once, under a lock) when the index changes."""

    def __init__(self, store, prepare: Callable[[Chunk], Any] | None = None):
        self.store = store
        self.prepare = prepare
        self._lock = threading.Lock()
        self._snap: CorpusSnapshot | None = None

    def _version(self):
        snap = getattr(self.store, "snapshot", None)
        if snap is not None and hasattr(snap, "version"):
            return ("snapshot", id(snap), snap.version), snap
        docs = self.store.documents()
        return tuple(sorted((d.meta.doc_id, d.meta.sha256, d.chunk_count) for d in docs)), None

    def snapshot(self) -> CorpusSnapshot:
        version, snap = self._version()
        cur = self._snap
        if cur is not None and cur.version == version:
            return cur
        with self._lock:
            cur = self._snap
            if cur is not None and cur.version == version:
                return cur
            if snap is not None:
                chunks, docs = list(snap.chunks), dict(snap.metas)
            else:
                chunks, docs = self.store.chunks(), {d.meta.doc_id: d.meta for d in self.store.documents()}
            self._snap = build_snapshot(version, chunks, docs, self.prepare, cur)
            return self._snap
