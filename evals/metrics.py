"""Retrieval metrics over gold quotes: pure functions, no index or model needed.

A gold quote is an exact substring of a source document. A retrieved passage "covers" it
when, after normalising both sides (``match_key``: NFC, canonical tone marks, one kind of
dash and quote mark, no Markdown asterisks, whitespace collapsed),

1. the longest common substring of the quote and ONE passage text is at least
   ``threshold`` (80%) of the quote's characters -- chunkers may drop a bullet, rejoin a
   sentence broken by page-break debris, or prefix a heading, so exact containment is
   too strict; or
2. two passages ADJACENT in the same document (the quote straddles a chunk boundary)
   together cover it: either the concatenation of their texts has such a common
   substring, or the longest prefix of the quote found in the earlier passage plus the
   longest suffix found in the later one add up to ``threshold`` of the quote
   (this also works when chunks overlap).

Each passage is compared through all its texts (``Chunk.text`` and ``Chunk.display_text``).

A question is a hit at rank r when the top-r passages cover at least one of its gold
quotes (for rule 1 that is the rank of the covering passage, for rule 2 the later rank
of the pair). Hit@k, reciprocal rank and gold-quote recall@k follow from that.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Sequence

from ingest.normalize import normalize_text

DEFAULT_THRESHOLD = 0.8

_DASHES = re.compile(r"[\u2010-\u2015\u2212]")
_DQUOTES = re.compile(r"[\u201c\u201d\u201e\u00ab\u00bb]")
_SQUOTES = re.compile(r"[\u2018\u2019\u201a]")
_WS = re.compile(r"\s+")
_ROW_ORDER = ("stt", "task", "lead", "partners", "product", "time", "notes")
_CELL_SEP = re.compile(r"\s*[|\t]\s*")


def match_key(text: str) -> str:
    """Normalised form used for every comparison (both quotes and passages)."""
    text = normalize_text(text or "")
    text = _DASHES.sub("-", text)
    text = _DQUOTES.sub('"', text)
    text = _SQUOTES.sub("'", text)
    text = text.replace("*", "")
    # Table cells: a quote copied across cells (tab-separated in the file) must match a
    # rendered row ("cell | cell"), so cell separators count as plain spaces on both sides.
    text = _CELL_SEP.sub(" ", text)
    return _WS.sub(" ", text).strip()


# --- string primitives ------------------------------------------------------------------


def has_common_substring(a: str, b: str, length: int) -> bool:
    """True when some substring of ``a`` of ``length`` characters occurs in ``b``."""
    if length <= 0:
        return True
    if length > len(a) or length > len(b):
        return False
    return any(a[i : i + length] in b for i in range(len(a) - length + 1))


def longest_common_substring(a: str, b: str) -> int:
    """Length of the longest common substring (binary search on the length; monotone)."""
    if not a or not b:
        return 0
    if a in b:
        return len(a)
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if has_common_substring(a, b, mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def longest_prefix_in(quote: str, text: str) -> int:
    """Length of the longest prefix of ``quote`` that occurs somewhere in ``text``."""
    lo, hi = 0, len(quote)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if quote[:mid] in text:
            lo = mid
        else:
            hi = mid - 1
    return lo


def longest_suffix_in(quote: str, text: str) -> int:
    """Length of the longest suffix of ``quote`` that occurs somewhere in ``text``."""
    lo, hi = 0, len(quote)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if quote[len(quote) - mid :] in text:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _needed(quote_key: str, threshold: float) -> int:
    return max(1, math.ceil(threshold * len(quote_key) - 1e-9))


# --- passages ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Passage:
    """What the metrics need from a retrieved chunk: its document, its position there
    (for adjacency) and its texts, already passed through ``match_key``."""

    doc_id: str
    position: int
    keys: tuple[str, ...]

    @classmethod
    def of(cls, doc_id: str, position: int, texts: Iterable[str]) -> "Passage":
        keys: list[str] = []
        for t in texts:
            k = match_key(t)
            if k and k not in keys:
                keys.append(k)
        return cls(doc_id=doc_id, position=position, keys=tuple(keys))

    @classmethod
    def from_chunk(cls, chunk, positions: Mapping[str, int] | None = None) -> "Passage":
        """Build from an ``ingest.types.Chunk``; ``positions`` maps chunk_id -> index of the
        chunk in its document (defaults to ``chunk.order``)."""
        pos = positions.get(chunk.chunk_id, chunk.order) if positions else chunk.order
        texts = [chunk.text, chunk.display_text]
        table = getattr(chunk, "table", None)
        if table:
            # A quote copied across the cells of a table row reads the cells in file order.
            texts.append(" ".join(table.get(k, "") for k in _ROW_ORDER if table.get(k)))
        return cls.of(chunk.doc_id, int(pos), texts)


def adjacent(a: Passage, b: Passage) -> bool:
    return a.doc_id == b.doc_id and abs(a.position - b.position) == 1


def covers_single(quote_key: str, passage: Passage, threshold: float = DEFAULT_THRESHOLD) -> bool:
    need = _needed(quote_key, threshold)
    return any(quote_key in k or has_common_substring(quote_key, k, need) for k in passage.keys)


def covers_pair(quote_key: str, a: Passage, b: Passage, threshold: float = DEFAULT_THRESHOLD) -> bool:
    """Two adjacent passages together cover the quote (concatenation or prefix/suffix rule)."""
    first, second = (a, b) if a.position <= b.position else (b, a)
    need = _needed(quote_key, threshold)
    for k1 in first.keys:
        for k2 in second.keys:
            if has_common_substring(quote_key, f"{k1} {k2}", need):
                return True
            if longest_prefix_in(quote_key, k1) + longest_suffix_in(quote_key, k2) >= need:
                return True
    return False


def quote_coverage(quote: str, passages: Sequence[Passage], is_adjacent: Callable[[Passage, Passage], bool] = adjacent) -> float:
    """Best fraction of the quote covered by one passage or an adjacent pair (for reports)."""
    q = match_key(quote)
    if not q:
        return 0.0
    best = 0
    for p in passages:
        for k in p.keys:
            best = max(best, longest_common_substring(q, k))
    for i, a in enumerate(passages):
        for b in passages[i + 1 :]:
            if not is_adjacent(a, b):
                continue
            first, second = (a, b) if a.position <= b.position else (b, a)
            for k1 in first.keys:
                for k2 in second.keys:
                    best = max(best, longest_common_substring(q, f"{k1} {k2}"))
                    best = max(best, min(len(q), longest_prefix_in(q, k1) + longest_suffix_in(q, k2)))
    return best / len(q)


def quote_first_covered_rank(
    quote: str,
    passages: Sequence[Passage],
    threshold: float = DEFAULT_THRESHOLD,
    is_adjacent: Callable[[Passage, Passage], bool] = adjacent,
) -> int | None:
    """Smallest r (1-based) such that the top-r passages cover the quote; None if never."""
    q = match_key(quote)
    if not q:
        return None
    for r, p in enumerate(passages, 1):
        if covers_single(q, p, threshold):
            return r
        for earlier in passages[: r - 1]:
            if is_adjacent(earlier, p) and covers_pair(q, earlier, p, threshold):
                return r
    return None


def quote_covered(quote: str, passages: Sequence[Passage], threshold: float = DEFAULT_THRESHOLD) -> bool:
    return quote_first_covered_rank(quote, passages, threshold) is not None


def quote_ranks(quotes: Sequence[str], passages: Sequence[Passage], threshold: float = DEFAULT_THRESHOLD) -> list[int | None]:
    return [quote_first_covered_rank(q, passages, threshold) for q in quotes]


def first_hit_rank(quotes: Sequence[str], passages: Sequence[Passage], threshold: float = DEFAULT_THRESHOLD) -> int | None:
    """Rank at which the question is first answered (any gold quote covered); None if never."""
    ranks = [r for r in quote_ranks(quotes, passages, threshold) if r is not None]
    return min(ranks) if ranks else None


# --- per-question scores -----------------------------------------------------------------


def hit_at_k(rank: int | None, k: int) -> float:
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(rank: int | None, cutoff: int | None = None) -> float:
    if rank is None or rank < 1 or (cutoff is not None and rank > cutoff):
        return 0.0
    return 1.0 / rank


def recall_at_k(quote_ranks_: Sequence[int | None], k: int) -> float:
    """Fraction of gold quotes covered by the top-k passages."""
    if not quote_ranks_:
        return 0.0
    return sum(1 for r in quote_ranks_ if r is not None and r <= k) / len(quote_ranks_)


def quote_recall_at_k(quotes: Sequence[str], passages: Sequence[Passage], k: int, threshold: float = DEFAULT_THRESHOLD) -> float:
    return recall_at_k(quote_ranks(quotes, passages[:k], threshold), k)


# --- aggregation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionScore:
    """One scored question: its first hit rank and the rank of each gold quote."""

    qid: str
    kind: str
    rank: int | None
    quote_ranks: tuple[int | None, ...]


def score_question(qid: str, kind: str, quotes: Sequence[str], passages: Sequence[Passage], threshold: float = DEFAULT_THRESHOLD) -> QuestionScore:
    qr = tuple(quote_ranks(quotes, passages, threshold))
    found = [r for r in qr if r is not None]
    return QuestionScore(qid=qid, kind=kind, rank=min(found) if found else None, quote_ranks=qr)


def summarize(scores: Sequence[QuestionScore], mrr_cutoff: int | None = None, recall_k: int = 5) -> dict[str, float]:
    """n, hit@1, hit@5, MRR (ranks beyond ``mrr_cutoff`` count 0) and gold-quote recall@k."""
    n = len(scores)
    if n == 0:
        return {"n": 0, "hit@1": 0.0, "hit@5": 0.0, "mrr": 0.0, f"recall@{recall_k}": 0.0}
    return {
        "n": n,
        "hit@1": sum(hit_at_k(s.rank, 1) for s in scores) / n,
        "hit@5": sum(hit_at_k(s.rank, 5) for s in scores) / n,
        "mrr": sum(reciprocal_rank(s.rank, mrr_cutoff) for s in scores) / n,
        f"recall@{recall_k}": sum(recall_at_k(s.quote_ranks, recall_k) for s in scores) / n,
    }


def summarize_by_kind(scores: Sequence[QuestionScore], mrr_cutoff: int | None = None, recall_k: int = 5) -> dict[str, dict[str, float]]:
    kinds: dict[str, list[QuestionScore]] = {}
    for s in scores:
        kinds.setdefault(s.kind, []).append(s)
    return {k: summarize(v, mrr_cutoff, recall_k) for k, v in kinds.items()}
