"""Select: candidate units from the retrieved chunks, ranked by one fitted scoring function.

Candidates are the quotable units (sentences, list items, table rows, headings; see
``passages.split_units``) of the top chunks of each search the pipeline ran, and of the
structural neighbours (same article or section) of the best few: never a scan of the corpus.

Each unit gets the feature vector of ``FEATURES`` (all in [0, 1]) and one score,
``p = sigmoid(w · f)``, whose weights are fitted by ``htx eval fit`` (logistic regression on
units labelled by the gold quotes of a training split) and stored in ``weights.json``.
The features are general: how much of the question's (rarity-weighted) words and word pairs
the unit holds, as such and beside the best candidate of the same question (``cov_rel``,
``pairs_rel``, ``local``: the last weighs each word by how few candidates hold it, so words
every retrieved passage shares do not decide), how its chunk ranked, whether it holds the kind of thing the question's
intent asks for (a quantity, a date, an agency, a definition ...), whether it states an amount in
the unit the question asks for ("bao nhiêu phần trăm": a percentage; ``amounts``), whether it names the
agency asked about, and its shape (first sentence of its passage, heading, very short).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Sequence

from index.types import Hit
from index.text import fast_fold as fold
from ingest.types import Chunk

from assistant.answering.corpus import CorpusSnapshot, term_seq
from assistant.answering.passages import Unit, split_units
from assistant.answering.understand import Query
from assistant.answering.weights import Weights

FEATURES = ("bias", "ret", "rank", "dense", "cov", "ctx", "pairs", "intent", "agency", "first", "short",
            "heading", "neighbour", "cov_rel", "pairs_rel", "local", "amount")
TOP_MAIN = 8  # chunks of the main search whose units are candidates
TOP_SCOPED = 3  # chunks of each per-province / per-document search
NEIGHBOURS_OF = 3  # the best chunks whose structural neighbours are added

# What each intent asks for, as it shows in a passage (general Vietnamese forms of quantities,
# dates and agencies, not any document's wording).
_QUANTITY = re.compile(
    r"\d+(?:[.,]\d+)*\s*(?:%|phần trăm|tỷ|triệu|nghìn|ngàn|đồng|lần|người|thành viên|hợp tác xã|HTX|ha\b|tấn|"
    r"ngày|tháng|năm\b|xã|hộ|lớp|mô hình|sản phẩm|cơ sở|doanh nghiệp|tổ hợp tác)", re.IGNORECASE)
_TIME = re.compile(
    r"ngày\s+\d{1,2}|\d{1,2}/\d{1,2}/\d{4}|(?:trước|đến|từ|trong|sau|vào)\s+(?:ngày|năm|tháng|quý)|quý\s+[IVX1-4]+"
    r"|(?:hằng|hàng|mỗi)\s+(?:năm|quý|tháng)|định kỳ|\d+\s+(?:ngày|tháng|năm)\b|hiệu lực|thời hạn|giai đoạn\s+\d{4}",
    re.IGNORECASE)
_ACTOR = re.compile(r"\b(?:chủ trì|đầu mối|chịu trách nhiệm|có trách nhiệm|có nhiệm vụ|cơ quan|giao)\b", re.IGNORECASE)
_DEFINES = re.compile(r"^\s*(?:\d+\.\s*)?[^.:;]{2,90}?\s+(?:là|gồm|bao gồm|được hiểu là)\s+\S", re.IGNORECASE)
_STEPS = re.compile(r"\b(?:hồ sơ|trình tự|thủ tục|đăng ký|nộp|gửi|bước|thực hiện theo)\b", re.IGNORECASE)
_CONDITION = re.compile(r"\b(?:điều kiện|trường hợp|phải|nếu|khi|được|không được|đáp ứng)\b", re.IGNORECASE)
_DUTY = re.compile(r"\b(?:chủ trì|phối hợp|tham mưu|hướng dẫn|triển khai|xây dựng|tổ chức|thực hiện|theo dõi|"
                   r"kiểm tra|báo cáo|có trách nhiệm|có nhiệm vụ|quyền|nghĩa vụ)\b", re.IGNORECASE)


@dataclass(frozen=True)
class UnitInfo:
    """What scoring needs of a unit that does not depend on the question (cached per chunk)."""

    unit: Unit
    terms: tuple[str, ...]  # folded content terms in order
    agencies: frozenset  # agencies the unit names
    kinds: frozenset  # answer kinds it holds: figure, deadline, who, definition, procedure, condition, duty
    syllables: int
    first: bool  # first non-heading unit of its chunk
    folded: str = ""  # folded words joined by spaces (duplicate detection in compose)
    words: frozenset = frozenset()  # the set of those words


def _kinds(u: Unit, agencies: frozenset) -> frozenset:
    text, chunk = u.text, u.chunk
    out = set()
    if _QUANTITY.search(text):
        out.add("figure")
    if _TIME.search(text):
        out.add("deadline")
    if agencies or _ACTOR.search(text) or chunk.kind == "table_row":
        out.add("who")
    if chunk.kind == "definition" or _DEFINES.match(text):
        out.add("definition")
    if _STEPS.search(text):
        out.add("procedure")
    if _CONDITION.search(text):
        out.add("condition")
    if _DUTY.search(text):
        out.add("duty")
    return frozenset(out)


def _agency_patterns(names: Sequence[str]) -> list[tuple[str, re.Pattern[str]]]:
    """Patterns of the agencies a chunk is about (found at ingest): a unit names one of them
    or none, so the whole vocabulary need not be searched unit by unit."""
    from assistant.answering.passages import alias_table

    table = alias_table("agency")
    out = []
    for name in names:
        pat = table.get(name)
        out.append((name, pat if pat is not None else re.compile(rf"(?<![\w&]){re.escape(fold(name))}(?![\w&])")))
    return out


def unit_infos(chunk: Chunk) -> tuple[tuple[UnitInfo, ...], frozenset]:
    """The chunk's units with their static features, and its context terms (each unit's text
    is folded once)."""
    folded_units = []
    for u in split_units(chunk):
        folded = fold(u.text)
        words = _FOLDED_WORD.findall(folded)
        if len(words) >= 2:
            folded_units.append((u, folded, words))
    first = next((u.key for u, _, _ in folded_units if u.kind != "heading"), None)
    infos = []
    patterns = _agency_patterns(chunk.agencies)
    for u, folded, words in folded_units:
        ags = frozenset(name for name, pat in patterns if pat.search(folded))
        infos.append(UnitInfo(u, tuple(term_seq(u.text)), ags, _kinds(u, ags), len(words),
                              u.key == first, " ".join(words), frozenset(words)))
    context = f"{chunk.doc_title} {chunk.section} {' '.join(chunk.heading_path)}"
    return tuple(infos), frozenset(term_seq(context))


_FOLDED_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Candidate:
    """One quotable unit with its features and fitted relevance."""

    unit: Unit
    features: tuple[float, ...]
    p: float
    source: str  # the search that found its chunk ("main", "province:X", "document:Y") or "neighbour"
    info: UnitInfo = field(compare=False, repr=False)  # the unit's static features

    @property
    def chunk(self) -> Chunk:
        return self.unit.chunk

    def feature(self, name: str) -> float:
        return self.features[FEATURES.index(name)]


@dataclass(frozen=True)
class Search:
    """One retrieval run: a label and its hits in rank order."""

    label: str
    hits: tuple[Hit, ...]
    top: int = TOP_MAIN


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, x))))


class TermWeights:
    """The question's content terms with their rarity, and its adjacent term pairs."""

    def __init__(self, query: Query, snap: CorpusSnapshot):
        terms = [t for t in query.terms if not (t.isdigit() and len(t) < 2)]
        unknown = math.log(1.0 + snap.n)
        self.w = {t: (snap.idf(t) if snap.known(t) else unknown) for t in dict.fromkeys(terms)}
        self.total = sum(self.w.values()) or 1.0
        self.pairs = {(a, b) for a, b in zip(terms, terms[1:]) if a != b}
        self.oov = sum(w for t, w in self.w.items() if not snap.known(t)) / self.total if self.w else 0.0

    def coverage(self, have: set[str]) -> float:
        return sum(w for t, w in self.w.items() if t in have) / self.total if self.w else 0.0

    def pair_share(self, seq: Sequence[str]) -> float:
        if not self.pairs:
            return 0.0
        have = set(zip(seq, seq[1:]))
        return len(self.pairs & have) / len(self.pairs)


def intent_match(info: UnitInfo, query: Query) -> float:
    """1 when the unit holds the kind of answer the question's intent asks for."""
    return 1.0 if info.kinds.intersection(query.intents) else 0.0


def _names_agency(info: UnitInfo, query: Query) -> float:
    if not query.agencies:
        return 0.0
    asked = set(query.agencies)
    if asked & info.agencies:
        return 1.0
    if asked & set(info.unit.chunk.agencies):
        return 0.5
    return 0.0


class Selector:
    """Builds candidates from the searches and scores them with the fitted unit weights."""

    def __init__(self, weights: Weights):
        self.weights = weights

    def candidates(self, query: Query, searches: Sequence[Search], snap: CorpusSnapshot) -> list[Candidate]:
        from assistant.answering.amounts import question_forms, selected_forms

        tw = TermWeights(query, snap)
        forms = selected_forms(query)
        asked_text = question_forms(query) if forms else ""
        found: list[tuple[UnitInfo, dict[str, float], str]] = []
        seen_chunks: set[str] = set()
        main_top: list[Chunk] = []
        for s in searches:
            hits = list(s.hits[: s.top])
            top_score = max((h.score for h in hits), default=0.0) or 1.0
            for r, h in enumerate(hits, 1):
                seen_chunks.add(h.chunk.chunk_id)
                if s.label == "main" and r <= NEIGHBOURS_OF:
                    main_top.append(h.chunk)
                ret = {"ret": h.score / top_score, "rank": 1.0 / r, "dense": max(0.0, h.dense_score), "neighbour": 0.0}
                self._add(found, h.chunk, ret, s.label, query, tw, snap, forms, asked_text)
        for ch in main_top:
            for nb in snap.neighbours(ch):
                if nb.chunk_id not in seen_chunks:
                    seen_chunks.add(nb.chunk_id)
                    self._add(found, nb, {"ret": 0.0, "rank": 0.0, "dense": 0.0, "neighbour": 1.0}, "neighbour",
                              query, tw, snap, forms, asked_text)
        # How a unit matches the question beside the best-matching candidate of the same
        # question: absolute coverage differs from question to question (a long question
        # leaves every unit's share low), the ranking within one question does not.
        local = _local_coverage(found, tw)
        top_cov = max((f["cov"] for _, f, _ in found), default=0.0) or 1.0
        top_pairs = max((f["pairs"] for _, f, _ in found), default=0.0) or 1.0
        best: dict[tuple[str, int, int], Candidate] = {}
        for (info, f, label), loc in zip(found, local):
            f["local"] = loc
            f["cov_rel"] = f["cov"] / top_cov
            f["pairs_rel"] = f["pairs"] / top_pairs
            vec = tuple(float(f[name]) for name in FEATURES)
            p = sigmoid(sum(w * x for w, x in zip(self.weights.unit, vec)))
            old = best.get(info.unit.key)
            if old is None or p > old.p:
                best[info.unit.key] = Candidate(info.unit, vec, p, label, info)
        return sorted(best.values(), key=lambda c: -c.p)

    def _add(self, found: list, chunk: Chunk, ret: dict[str, float], label: str, query: Query, tw: TermWeights,
             snap: CorpusSnapshot, forms: Sequence = (), asked_text: str = "") -> None:
        from assistant.answering.amounts import states_any

        infos, ctx_terms = snap.chunk_features(chunk, unit_infos)
        for info in infos:
            have = set(info.terms)
            found.append((info, {
                "bias": 1.0,
                **ret,
                "cov": tw.coverage(have),
                "ctx": tw.coverage(have | ctx_terms),
                "pairs": tw.pair_share(info.terms),
                "intent": intent_match(info, query),
                "agency": _names_agency(info, query),
                "first": 1.0 if info.first else 0.0,
                "short": 1.0 if info.syllables < 6 else 0.0,
                "heading": 1.0 if info.unit.kind == "heading" else 0.0,
                "amount": 1.0 if states_any(info.unit.text, forms, asked_text) else 0.0,
            }, label))


def _local_coverage(found: Sequence[tuple[UnitInfo, dict, str]], tw: TermWeights) -> list[float]:
    """How much of what sets units apart within this question's candidates a unit holds,
    beside the best candidate (1.0). Each question term weighs its corpus rarity times its
    rarity among the candidate units: a term that every retrieved passage shares ("HTX",
    "Kiên Giang", "thực hiện" in a question about one province's plan) says nothing about
    which of them answers; one that few of them hold ("báo cáo", "tuổi") does."""
    units = {info.unit.key: info for info, _, _ in found}
    n = len(units)
    if not n or not tw.w:
        return [0.0] * len(found)
    df = dict.fromkeys(tw.w, 0)
    sets = {k: set(info.terms) for k, info in units.items()}
    for terms in sets.values():
        for t in df:
            if t in terms:
                df[t] += 1
    lw = {t: w * math.log((1.0 + n) / (1.0 + df[t])) for t, w in tw.w.items()}
    score = {k: sum(w for t, w in lw.items() if t in terms) for k, terms in sets.items()}
    top = max(score.values(), default=0.0) or 1.0
    return [score[info.unit.key] / top for info, _, _ in found]


def rescore(cands: Sequence[Candidate], weights: Weights) -> list[Candidate]:
    """The same candidates scored with other unit weights, best first."""
    out = [replace(c, p=sigmoid(sum(w * x for w, x in zip(weights.unit, c.features)))) for c in cands]
    return sorted(out, key=lambda c: -c.p)


def unit_label(unit_text: str, gold_keys: Sequence[str]) -> bool:
    """Training label: the unit and a gold quote share a passage (longest common substring of
    their match keys at least half of the shorter one, and at least 20 characters)."""
    from evals.metrics import longest_common_substring, match_key

    key = match_key(unit_text)
    for g in gold_keys:
        if not g or not key:
            continue
        need = max(20, 0.5 * min(len(g), len(key)))
        if longest_common_substring(key, g) >= need:
            return True
    return False
