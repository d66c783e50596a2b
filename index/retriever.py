"""Hybrid retrieval over an immutable index snapshot.

A :class:`Snapshot` is everything a reader needs, built once and never mutated: the chunks,
the BM25 index, the diacritic model and the set of live chunk ids. The store swaps the
snapshot reference atomically after a change; a search keeps the snapshot it started with.
Dense candidates come from Chroma (with metadata ``where`` filters) and are dropped when their
id is not live in the snapshot, so a half-written Chroma collection is never visible.

Ranking: fuse (weighted or RRF) the lexical and dense candidates, then boost chunks of the
provinces and agencies the question names, and demote chunks of other provinces when the
question names one. A province named in the question stands for itself and the provinces it
merged with in 2025 (``ingest.vocab.related_provinces``); national documents (province None)
are never demoted nor filtered out by a province filter (unless ``SearchFilters.national`` is
False). Chunks of a document the question names ("Nghị định 45/2021/NĐ-CP", "Luật Cư trú")
are boosted to rank first (``match_documents``); a definition question ("X là gì?") boosts the
"Giải thích từ ngữ" unit of term X.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from index.diacritics import DiacriticModel
from index.embeddings import Embedder
from index.fusion import fuse
from index.lexical import LexicalIndex
from index.query import QueryAnalyzer
from index.text import analyze_query, content_terms, expand_abbreviations, fast_fold
from index.types import Hit, QueryAnalysis, SearchFilters
from index.vector_store import VectorStore, build_where
from ingest.normalize import fold
from ingest.types import Chunk, DocumentMeta
from ingest.vocab import related_provinces

log = logging.getLogger("htx.index.retriever")
_WORD_RE = re.compile(r"\w+", re.UNICODE)

PROVINCE_BOOST = 0.15  # chunk of a province named in the question
OTHER_PROVINCE_FACTOR = 0.75  # chunk of another province when the question names one
AGENCY_BOOST = 0.12  # chunk whose responsible agencies include one named in the question
BOOST_MAX = PROVINCE_BOOST + AGENCY_BOOST
DOCUMENT_BOOST = 0.5  # chunk of a document named in the question (ranks it first)
DEFINITION_BOOST = 0.3  # definitions unit of the term a "… là gì?" question asks about
TITLE_BOOST = 0.3  # article whose whole title ("Điều 21. Hồ sơ đăng ký thường trú") is in the question
TITLE_MIN_SYLLABLES = 2
TITLE_MIN_COVERAGE = 1.0  # share of the title's syllables the question must hold (boost scales with it)
_LAW_TYPES = ("Hiến pháp", "Bộ luật", "Luật", "Pháp lệnh")
_DEFINITION_Q = re.compile(
    r"^(?:the nao la|the nao duoc goi la|the nao duoc hieu la|khai niem(?: ve)?|dinh nghia(?: ve)?)\s+(?P<a>.+?)\s*\??$"
    r"|^(?P<b>.+?)\s+(?:la gi|duoc hieu (?:la|nhu the nao|the nao|ra sao)|nghia la gi|la the nao|"
    r"duoc dinh nghia (?:la gi|nhu the nao|the nao|ra sao)|duoc giai thich (?:la gi|nhu the nao|the nao|ra sao))\b")
_NUMBER_RE = re.compile(r"\d+[\w.]*/[\w/.-]+")


def expand_provinces(provinces: Sequence[str]) -> tuple[str, ...]:
    """The provinces and those they merged with in 2025 (old names and new)."""
    out: list[str] = []
    for p in provinces:
        out += list(related_provinces(p)) or [p]
    return tuple(dict.fromkeys(out))


def _norm_number(n: str) -> str:
    return fold(n).replace(" ", "")


def _initials_ref(ref: str) -> set[str]:
    """"Luật BVMT" -> {"luat bvmt"}: a law named by the initials of its name (upper case, at
    least two letters, after the type word); "&" stands for "và" ("Luật HN&GĐ": Hôn nhân và gia
    đình), so the initials are read with and without it. Empty otherwise."""
    m = re.fullmatch(r"(Bộ luật|Luật)\s+([A-ZĐ][A-ZĐ&]{1,9})(?:\s+(?:năm\s+)?(?:19|20)\d{2})?", ref.strip())
    if not m or m.group(2).count("&") > 2 or m.group(2).endswith("&"):
        return set()
    kind, letters = fold(m.group(1)), fold(m.group(2)).lower()
    return {f"{kind} {letters.replace('&', 'v')}", f"{kind} {letters.replace('&', '')}"}


def _title_initials(title_folded: str) -> set[str]:
    """"luat bao ve moi truong" -> {"luat bvmt"} (the type word, then the initials of the rest;
    also without the "và" of "hôn nhân và gia đình", which an abbreviation may leave out)."""
    for kind in ("bo luat", "luat"):
        if title_folded.startswith(kind + " "):
            words = re.findall(r"[a-z0-9]+", title_folded[len(kind) + 1:])
            return {f"{kind} " + "".join(w[0] for w in words),
                    f"{kind} " + "".join(w[0] for w in words if w != "va")}
    return set()


def _short_number_names(ref: str, meta: DocumentMeta) -> bool:
    """A number and a year, the issuer's code left out ("193/2013", "188/2021"), name the
    document numbered "193/2013/NĐ-CP", or "188/KH-LMHTX" issued in 2021."""
    m = re.fullmatch(r"(\d+)/((?:19|20)\d{2})", ref)
    if not m:
        return False
    number = _norm_number(meta.number or "")
    if number.startswith(ref + "/"):
        return True
    return number.startswith(m.group(1) + "/") and bool(meta.date) and meta.date[:4] == m.group(2)


def _words(name: str) -> str:
    """A name folded to its words, punctuation aside ("Luật Phòng, chống …" -> "luat phong chong …")."""
    return " ".join(re.findall(r"\w+", fold(name)))


def documents_matching(metas: dict[str, DocumentMeta], references: Sequence[str]) -> tuple[str, ...]:
    """Doc ids of the loaded documents that the references name: by number (a number and a year
    alone also: ``_short_number_names``), or for laws by the initials of their name ("Luật
    BVMT"), or by
    name (the longest loaded title that the reference starts with; else the titles that start
    with the reference, which was read from the question's words and may stop inside the
    name: "Luật Hôn nhân" of "Luật Hôn nhân và gia đình quy định …"; a year must agree)."""
    out: list[str] = []
    for ref in references:
        nums = _NUMBER_RE.findall(ref)
        if nums:
            want = {_norm_number(n) for n in nums}
            out += [d for d, m in metas.items() if m.number and (_norm_number(m.number) in want
                                                                  or any(_short_number_names(w, m) for w in want))]
            continue
        # names are compared word by word, punctuation aside: "Luật Phòng" (the question's
        # reference, cut at the comma) starts "Luật Phòng, chống ma túy"
        fr = _words(ref)
        year = re.search(r"\b(?:19|20)\d{2}$", fr)
        name = fr[: year.start()].strip() if year else fr
        initials = _initials_ref(ref)
        best: list[tuple[int, str]] = []
        for d, m in metas.items():
            if m.doc_type not in _LAW_TYPES or not m.title:
                continue
            title = re.sub(r"\s+(?:nam\s+)?(?:19|20)\d{2}$", "", _words(m.title)).strip()
            if initials & _title_initials(title):  # "Luật BVMT": Luật Bảo vệ môi trường
                best.append(((True, len(title)), d))
                continue
            whole = name == title or name.startswith(title + " ")
            if whole or title.startswith(name + " "):
                if year and m.date and m.date[:4] != year.group(0) and year.group(0) not in fold(m.title):
                    continue
                best.append(((whole, len(title) if whole else -len(title)), d))
        if best:
            top = max(n for n, _ in best)
            out += [d for n, d in best if n == top]
    return tuple(dict.fromkeys(out))


def definition_term(question: str) -> str | None:
    """The folded term a question asks to define, however the question is framed: "hợp tác xã
    là gì?", "thế nào là thành viên liên kết?", "Luật An ninh mạng định nghĩa không gian mạng
    là gì?", "Theo Luật Cư trú, nơi thường trú là gì?", "Nơi tạm trú theo Luật Cư trú là gì?",
    "Khái niệm không gian mạng trong Luật An ninh mạng?". The document the question names and
    a polite lead-in ("cho em hỏi") are not part of the term."""
    q = fold(question).strip().rstrip("?. ")
    q = _POLITE.sub("", q)
    q = _LEAD_CLAUSE.sub("", q)
    m = _DEFINITION_Q.search(q)
    if not m:
        return None
    term = (m.group("a") or m.group("b") or "").strip()
    # "luat an ninh mang dinh nghia khong gian mang": the term is what the verb defines
    verbs = list(_DEFINING_VERB.finditer(term))
    if verbs:
        term = term[verbs[-1].end():]
    term = _TRAILING_SOURCE.sub("", term).strip(" ,")
    return term or None


_POLITE = re.compile(r"^(?:(?:cho|xin cho)\s+(?:em|toi|minh|chau|con|hoi)\s+(?:hoi\s+)?(?:la\s+)?|xin hoi\s+|hoi\s+)")
# "theo Luật Cư trú, …", "trong Luật Thanh niên, …": the source, then the question
_LEAD_CLAUSE = re.compile(r"^(?:theo|trong|tai|can cu|o)\s+[^,]{2,80},\s*")
_DEFINING_VERB = re.compile(r"(?:^|\s)(?:dinh nghia|giai thich|khai niem|quy dinh|hieu)(?:\s+(?:ve|cua))?\s+")
_TRAILING_SOURCE = re.compile(
    r"\s+(?:theo|trong|tai|cua|o)\s+(?:quy dinh|bo luat|luat|hien phap|nghi dinh|nghi quyet|thong tu|quyet dinh|"
    r"ke hoach|chi thi|van ban|chuong trinh|phap luat)\b.*$")


class ReaderCount:
    """How many searches are using one snapshot. A writer that swapped in a new snapshot
    waits for the old one's searches to finish before deleting vectors they may still ask
    Chroma for (a search takes its snapshot, embeds the question, then queries Chroma)."""

    def __init__(self):
        self._n = 0
        self._cond = threading.Condition()

    def enter(self) -> None:
        with self._cond:
            self._n += 1

    def exit(self) -> None:
        with self._cond:
            self._n -= 1
            if self._n <= 0:
                self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._n <= 0, timeout)

    @property
    def active(self) -> int:
        return self._n


@dataclass(frozen=True)
class Snapshot:
    """An immutable view of the index. Build with :meth:`build`."""

    chunks: tuple[Chunk, ...]
    metas: dict[str, DocumentMeta]
    position: dict[str, int]  # chunk_id -> index into chunks
    lexical: LexicalIndex
    diacritics: DiacriticModel
    analyzer: QueryAnalyzer
    province_of: np.ndarray = field(repr=False)  # object array: chunk province or ""
    doc_of: np.ndarray = field(repr=False)
    provinces: frozenset = frozenset()  # provinces that have chunks
    version: int = 0
    readers: ReaderCount = field(default_factory=ReaderCount, repr=False, compare=False)

    @classmethod
    def build(cls, chunks: Sequence[Chunk], metas: dict[str, DocumentMeta], version: int = 0) -> "Snapshot":
        chunks = tuple(chunks)
        texts = [c.context_text() for c in chunks]
        model = DiacriticModel.train(texts)
        return cls(
            chunks=chunks,
            metas=dict(metas),
            position={c.chunk_id: i for i, c in enumerate(chunks)},
            lexical=LexicalIndex(texts),
            diacritics=model,
            analyzer=QueryAnalyzer(model),
            province_of=np.array([c.province or "" for c in chunks], dtype=object),
            doc_of=np.array([c.doc_id for c in chunks], dtype=object),
            provinces=frozenset(c.province for c in chunks if c.province),
            version=version,
        )

    def allowed_mask(self, filters: SearchFilters | None) -> np.ndarray | None:
        if filters is None or filters.is_empty():
            return None
        mask = np.ones(len(self.chunks), dtype=bool)
        if filters.provinces:
            named = expand_provinces(filters.provinces) if filters.related else tuple(filters.provinces)
            allowed = list(named) + ([""] if filters.national else [])
            mask &= np.isin(self.province_of, allowed)
        if filters.doc_ids:
            mask &= np.isin(self.doc_of, list(filters.doc_ids))
        if filters.agencies:
            wanted = set(filters.agencies)
            mask &= np.array([bool(wanted.intersection(c.agencies)) for c in self.chunks], dtype=bool)
        return mask


class HybridRetriever:
    def __init__(self, vectors: VectorStore, embedder: Embedder, fusion: str = "weighted",
                 lexical_weight: float = 0.6, candidates: int = 30):
        self.vectors = vectors
        self.embedder = embedder
        self.fusion = fusion
        self.lexical_weight = lexical_weight
        self.candidates = max(1, int(candidates))

    # --- the two retrievers ------------------------------------------------------------

    def lexical(self, snap: Snapshot, analysis: QueryAnalysis, mask: np.ndarray | None, n: int) -> dict[str, float]:
        restored = analysis.restored != analysis.normalized
        tokens = analyze_query(analysis.restored, restored_from_folded=restored)
        if restored:
            # Keep what was typed too: a wrong restoration then costs little.
            tokens = list(dict.fromkeys(tokens + analyze_query(analysis.normalized, exact=False)))
        scores = snap.lexical.scores(tokens)
        if scores.size == 0:
            return {}
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        n = min(n, scores.size)
        top = np.argpartition(-scores, n - 1)[:n] if n < scores.size else np.arange(scores.size)
        return {snap.chunks[i].chunk_id: float(scores[i]) for i in top if scores[i] > 0}

    def query_vector(self, analysis: QueryAnalysis) -> np.ndarray:
        return self.embedder.embed_query_np(analysis.restored or analysis.normalized)

    def dense(self, snap: Snapshot, analysis: QueryAnalysis, filters: SearchFilters | None, n: int,
              mask: np.ndarray | None = None, vec: np.ndarray | None = None) -> dict[str, float]:
        if not snap.chunks:
            return {}
        if vec is None:
            vec = self.query_vector(analysis)
        where = None
        if filters is not None and not filters.is_empty():
            provinces = tuple(filters.provinces)
            if provinces and filters.related:
                provinces = expand_provinces(provinces)
            if provinces and filters.national:
                provinces = provinces + ("",)  # national chunks are stored with province ""
            where = build_where(provinces, filters.doc_ids, filters.agencies)
        allowed = int(mask.sum()) if mask is not None else len(snap.chunks)
        want = min(n, allowed)
        if want == 0:
            return {}
        # Chroma may hold ids that are not live in this snapshot (a document being added, or
        # stale ones being deleted): over-fetch, and fetch more until ``want`` live ids are in
        # hand, so the answer is exactly the one the snapshot alone would give.
        fetch = want + 16
        while True:
            hits = self.vectors.query(vec, fetch, where)
            live = [h for h in hits if h.chunk_id in snap.position]
            if len(live) >= want or len(hits) < fetch:
                break
            fetch *= 4
        return {h.chunk_id: h.similarity for h in live[:want]}

    # --- documents named in the question --------------------------------------------------

    def match_documents(self, snap: Snapshot, analysis: QueryAnalysis) -> tuple[str, ...]:
        """Doc ids of the loaded documents the question names (empty when it names none, or
        names only documents that are not loaded)."""
        if not analysis.documents:
            return ()
        return documents_matching(snap.metas, analysis.documents)

    # --- fusion and boosts -------------------------------------------------------------

    def search(self, snap: Snapshot, analysis: QueryAnalysis, k: int = 5,
               filters: SearchFilters | None = None) -> list[Hit]:
        if not snap.chunks or not analysis.normalized:
            return []
        t0 = time.perf_counter()
        mask = snap.allowed_mask(filters)
        n = max(self.candidates, k)
        lex = self.lexical(snap, analysis, mask, n)
        t1 = time.perf_counter()
        vec = self.query_vector(analysis)
        den = self.dense(snap, analysis, filters, n, mask, vec)
        t2 = time.perf_counter()
        if mask is not None:  # the where clause already filtered; enforce it on the snapshot too
            den = {i: s for i, s in den.items() if mask[snap.position[i]]}
        fused = fuse(self.fusion, lex, den, self.lexical_weight)
        lex_max = max(lex.values()) if lex else 0.0
        provinces = set(analysis.provinces)
        related = set(expand_provinces(analysis.provinces))  # merged with them in 2025: not demoted
        agencies = set(analysis.agencies)
        known_provinces = related & snap.provinces
        # The named province's own documents are boosted; when none is loaded, those of the
        # provinces it merged with (a question about Quảng Trị, a plan of Quảng Bình).
        boosted = (provinces & snap.provinces) or related
        named_docs = set(self.match_documents(snap, analysis))
        term = definition_term(analysis.restored or analysis.normalized)
        q_words = set(_WORD_RE.findall(fold(analysis.restored or analysis.normalized))) if TITLE_BOOST else set()
        if named_docs:  # the named document's passages compete even if fusion missed them
            extra = self.lexical(snap, analysis, _doc_mask(snap, named_docs, mask), n)
            for cid in extra:
                fused.setdefault(cid, 0.0)
        scored: list[tuple[float, str, dict[str, float]]] = []
        raw: dict[str, float] = {}
        for cid, base in fused.items():
            chunk = snap.chunks[snap.position[cid]]
            score = base
            details = {"fused": base}
            if known_provinces and chunk.province:
                if chunk.province in boosted:
                    score += PROVINCE_BOOST
                    details["province_boost"] = PROVINCE_BOOST
                elif chunk.province in related:
                    details["related_province"] = 1.0
                else:
                    score *= OTHER_PROVINCE_FACTOR
                    details["province_factor"] = OTHER_PROVINCE_FACTOR
            if agencies and agencies.intersection(chunk.agencies):
                score += AGENCY_BOOST
                details["agency_boost"] = AGENCY_BOOST
            bonus = 0.0
            if chunk.doc_id in named_docs:
                bonus += DOCUMENT_BOOST
                details["document_boost"] = DOCUMENT_BOOST
            cov = _title_coverage(chunk, q_words) if TITLE_BOOST and q_words else 0.0
            if cov >= TITLE_MIN_COVERAGE:
                bonus += TITLE_BOOST * cov
                details["title_boost"] = TITLE_BOOST * cov
            if term and chunk.kind == "definition" and fold(chunk.extra.get("term", "")) == term:
                bonus += DEFINITION_BOOST
                details["definition_boost"] = DEFINITION_BOOST
            raw[cid] = score + bonus
            score = min(1.0, max(0.0, (score + bonus) / (1.0 + BOOST_MAX)))
            scored.append((score, cid, details))
        scored.sort(key=lambda x: (-raw[x[1]], snap.position[x[1]]))
        terms = set(content_terms(analysis.restored)) | set(content_terms(analysis.normalized))
        # Hits found by BM25 alone get their cosine too (one lookup), so that dense_score is
        # always the question-passage similarity (the answering chain's refusal signal).
        missing = [cid for _, cid, _ in scored[:k] if cid not in den]
        cosines = dict(den)
        if missing:
            try:
                for cid, v in self.vectors.vectors(missing).items():
                    cosines[cid] = float(np.dot(v, vec))
            except Exception as e:  # noqa: BLE001 - a missing cosine is not worth failing a search
                log.warning("could not fetch vectors for %d hits: %s", len(missing), e)
        hits: list[Hit] = []
        for rank, (score, cid, details) in enumerate(scored[:k], 1):
            chunk = snap.chunks[snap.position[cid]]
            details = dict(details)
            details["bm25"] = lex.get(cid, 0.0)
            details["coverage"] = _coverage(terms, chunk)
            hits.append(Hit(
                chunk=chunk,
                score=float(score),
                rank=rank,
                lexical_score=float(lex.get(cid, 0.0) / lex_max) if lex_max > 0 else 0.0,
                dense_score=float(cosines.get(cid, 0.0)),
                details=details,
            ))
        log.debug("search %.1f ms lexical, %.1f ms dense, %d+%d candidates",
                  (t1 - t0) * 1000, (t2 - t1) * 1000, len(lex), len(den))
        return hits


def _title_coverage(chunk: Chunk, q_words: set[str]) -> float:
    """Share of the syllables of the chunk's article title that occur in the question (0 for
    chunks outside an article and for titles shorter than TITLE_MIN_SYLLABLES)."""
    article = chunk.extra.get("article")
    if not article:
        return 0.0
    label = next((p for p in chunk.heading_path if p.startswith(article)), "")
    words = _WORD_RE.findall(fold(label[len(article):].lstrip(". ")))
    if len(words) < TITLE_MIN_SYLLABLES:
        return 0.0
    return sum(1 for w in words if w in q_words) / len(words)


def _doc_mask(snap: Snapshot, doc_ids: set[str], mask: np.ndarray | None) -> np.ndarray:
    m = np.isin(snap.doc_of, list(doc_ids))
    return m if mask is None else (m & mask)


def _coverage(terms: set[str], chunk: Chunk) -> float:
    """Share of the question's content syllables (folded) that occur in the chunk's context:
    an absolute relevance signal, unlike the fused score which is relative to the candidates."""
    if not terms:
        return 0.0
    have = set(_WORD_RE.findall(fast_fold(expand_abbreviations(chunk.context_text()))))
    return sum(1 for t in terms if t in have) / len(terms)
