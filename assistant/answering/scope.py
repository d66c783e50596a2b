"""What the documents a question is asked of contain: its topic words, numbers and agency.

A question can only be answered by the documents in its scope (the provinces it names, with
the national documents, or the documents a caller filtered to). This stage checks three kinds
of things the question names against those documents, as facts about the corpus, not scores:

- **topic words**: the question's Vietnamese words of two to four syllables (found with a
  general word list, ``index.diacritics.general_lexicon``), after its question words
  (``understand.INTENT_CUES``) and entity names are masked: "lãi suất", "giấy tờ",
  "điện thoại". A word is in a document when each pair of its adjacent syllables occurs there;
- **numbers** of two or more digits ("2030", "500"), thousands separators and leading zeros
  ignored;
- **the agency** asked about ("Sở Công Thương" in a question about Tây Ninh);
- **years** ("đến năm 2030", "giai đoạn 2021-2025") in a question about a province: a year that
  none of that province's own documents mentions is a period they do not cover (a plan with
  targets to 2020 says nothing of 2030). National documents are not read for this: a law's
  text seldom carries its own year, and it sets no province's targets.

An absent agency or year settles a refusal (``decide.fact_reason``); absent words and numbers
are features of the decision (``decide.FEATURES``). All are named in what the assistant says ("Các văn bản của Tây Ninh không nhắc đến Sở Công Thương"). Reading them
costs a few set look-ups per word: the per-document sets are built once per index version
(``corpus.CorpusSnapshot``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Iterable, Sequence

from index.text import fast_fold as fold, is_function_syllable

from assistant.answering.corpus import CorpusSnapshot, number_key
from assistant.answering.passages import alias_table
from assistant.answering.understand import INTENT_CUES, Query

MAX_WORD = 4  # syllables of the longest word looked up
_SYLLABLE = re.compile(r"\w+", re.UNICODE)
_SENTENCE_END = re.compile(r"[.!?;:\n]+(?=\s|$)")
_NUMBER = re.compile(r"(?<![\w/])\d{2,}(?:[.,]\d{3})*(?![\w/])")
_YEAR = re.compile(r"(?<![\w/.,])(?:19|20)\d{2}(?![\w/]|[.,]\d)")


@dataclass(frozen=True)
class ScopeFacts:
    """What the question names that no document in its scope contains."""

    docs: tuple[str, ...]  # the documents in scope
    words: tuple[str, ...]  # the question's topic words
    absent_words: tuple[str, ...]  # in none of the documents that match the question best
    absent_numbers: tuple[str, ...]
    absent_agencies: tuple[str, ...]

    missing_words: tuple[str, ...] = ()  # in no document of the scope at all
    absent_years: tuple[str, ...] = ()  # years of a question about a province that its documents never name
    # the question names a province with documents of its own, and none of them names its agency
    province_agency_absent: bool = False
    # the topic words of every sentence of the message (``words`` are the best-covered one's):
    # where an amount asked in one sentence is looked for, whichever sentence sets the context
    all_words: tuple[str, ...] = ()
    # documents in scope only as another province's (merged with a named one, ``partner_docs``)
    partners: tuple[str, ...] = ()

    @property
    def word_absent(self) -> float:
        return len(self.absent_words) / len(self.words) if self.words else 0.0


@lru_cache(maxsize=1)
def _lexicon() -> frozenset:
    from index.diacritics import general_lexicon

    out = set()
    for w in general_lexicon():
        syl = tuple(w.lower().split())
        if 2 <= len(syl) <= MAX_WORD:
            out.add(syl)
    return frozenset(out)


def _masked(query: Query) -> list[str]:
    """The question's syllables (lower case, diacritics kept) with question words and entity
    names (in any of their vocabulary forms: "Quỹ ... HTX") replaced by a break, so no word is
    read across them."""
    syl = _SYLLABLE.findall(query.restored.lower())
    folded = [fold(s) for s in syl]
    keep = [True] * len(syl)
    line = " ".join(folded)
    starts, pos = [], 0
    for f in folded:
        starts.append(pos)
        pos += len(f) + 1

    def mask(a: int, b: int) -> None:
        for i, s in enumerate(starts):
            if a <= s < b:
                keep[i] = False

    for pat in INTENT_CUES.values():
        for m in pat.finditer(line):
            mask(m.start(), m.end())
    for kind, names in (("agency", query.agencies), ("province", query.provinces)):
        table = alias_table(kind)
        for name in names:
            key = " ".join(_SYLLABLE.findall(fold(name)))
            for pat in (table.get(name), re.compile(rf"(?<!\w){re.escape(key)}(?!\w)")):
                for m in (pat.finditer(line) if pat is not None else ()):
                    mask(m.start(), m.end())
    return [s if k else "" for s, k in zip(syl, keep)]


# Words by which a question cites what a text says ("Luật … quy định …", "văn bản có đề cập
# …"), not what it is about: every legal text "quy định" something, so they name no topic.
_CITING_WORDS = frozenset({"quy dinh", "de cap", "neu ro", "nhac den", "nhac toi"})


def topic_words(query: Query) -> list[str]:
    """Words of two to four syllables in the question (longest first, left to right), its
    question words, entity names, words made only of function words ("thế nào") and the words
    that cite what a text says ("quy định": ``_CITING_WORDS``) left out."""
    lex = _lexicon()
    syl = _masked(query)
    out, i = [], 0
    while i < len(syl):
        for n in range(MAX_WORD, 1, -1):
            part = syl[i:i + n]
            if len(part) == n and all(part) and tuple(part) in lex:
                if (not all(is_function_syllable(x) for x in part)  # "thế nào": grammar, no topic; "trọng tài" is one
                        and fold(" ".join(part)) not in _CITING_WORDS):
                    out.append(" ".join(part))
                i += n
                break
        else:
            i += 1
    return list(dict.fromkeys(out))


def _in_docs(words_folded: Sequence[str], snap: CorpusSnapshot, docs: Iterable[str]) -> bool:
    pairs = list(zip(words_folded, words_folded[1:]))
    for d in docs:
        have = snap.doc_pairs.get(d)
        if have is not None and all(p in have for p in pairs):
            return True
    return False


def scope_docs(snap: CorpusSnapshot, provinces: Sequence[str], doc_ids: Sequence[str] = (),
               national: bool = True) -> tuple[str, ...]:
    """Documents a search with these filters reads: the provinces' own documents and the
    national ones (all documents when no province is given), within ``doc_ids`` if set."""
    wanted = set(provinces)
    out = []
    for d, meta in snap.docs.items():
        if doc_ids and d not in doc_ids:
            continue
        if wanted and meta.province not in wanted and not (national and not meta.province):
            continue
        out.append(d)
    return tuple(out)


def check(query: Query, snap: CorpusSnapshot, docs: Sequence[str]) -> ScopeFacts:
    """The question's topic words that the documents best matching it do not contain, and its
    numbers and agencies that no document in scope contains (each agency it names: the one a
    duty is asked of is not always the first, "Trong kế hoạch của UBND tỉnh, Sở Tài chính…").

    Words are read document by document: a question is answered by a passage, and a passage
    belongs to one document, so "lãi suất" of the Civil Code and "Quỹ Hỗ trợ phát triển hợp tác
    xã" of a provincial plan do not answer "Lãi suất cho vay của Quỹ ... là bao nhiêu?". The
    documents that name the question's agency (when it names one), and among them those that
    hold the most of its words, are the best match; the words none of them holds are absent.

    A message of several sentences is answered when one of them is ("Đừng trích dẫn gì cả và
    chỉ trả lời bằng tiếng Anh. Sở Tài chính có nhiệm vụ gì?"): its words are read sentence by
    sentence and the sentence the documents cover best counts. (Searching still uses the whole
    question.)
    """
    docs = tuple(docs)
    agency = query.agencies[0] if query.agencies else None
    agency_docs = _agency_docs(query, agency, snap, docs)
    best: tuple[float, int, list[str], tuple[str, ...]] | None = None
    every: list[str] = []
    for sentence in _sentences(query.restored):
        words = topic_words(replace(query, restored=sentence))
        every.extend(words)
        if not words:
            if _asks(sentence):  # "Sở Tài chính có nhiệm vụ gì?": nothing beyond entities and question words
                best = (0.0, 0, [], ())
                break
            continue
        absent = _absent_in_best_docs(words, snap, docs, agency_docs)
        key = (len(absent) / len(words), -len(words))
        if best is None or key < best[:2]:
            best = (key[0], key[1], words, absent)
    words, absent_w = (best[2], best[3]) if best is not None else ([], ())
    numbers = dict.fromkeys(number_key(n) for n in _NUMBER.findall(query.restored))
    absent_n = tuple(n for n in numbers if not any(n in snap.doc_numbers.get(d, ()) for d in docs))
    # every agency the question names: "Trong kế hoạch của UBND tỉnh, Sở Lao động - Thương binh
    # và Xã hội phải làm gì?" asks about the second, which the plan may never name
    absent_a = tuple(a for a in query.agencies
                     if not (agency_docs if a == agency else _agency_docs(query, a, snap, docs)))
    missing_w = tuple(w for w in absent_w if not _in_docs(_SYLLABLE.findall(fold(w)), snap, docs))
    return ScopeFacts(docs, tuple(words), absent_w, absent_n, absent_a, missing_w, _absent_years(query, snap, docs),
                      province_agency_absent=_province_agency_absent(query, snap, docs, absent_a),
                      all_words=tuple(dict.fromkeys(every)), partners=partner_docs(query, snap, docs))


def _province_agency_absent(query: Query, snap: CorpusSnapshot, docs: Sequence[str], absent: Sequence[str]) -> bool:
    """The question is about a province's agency that no document in scope names: the province
    has documents and none names it, or it has none, the national documents answer for it, and
    the agency is one of a province's own ("Sở Công Thương tỉnh Bình Dương" when no plan of Bình
    Dương is loaded: a law names the ministries and "Ủy ban nhân dân cấp tỉnh", never a province's
    departments, so any duty quoted would be another province's)."""
    if not (absent and query.provinces):
        return False
    if _own_docs(snap, docs):
        return True
    from ingest.vocab import vocab

    return any(not vocab().is_national(a) for a in absent)


def _own_docs(snap: CorpusSnapshot, docs: Sequence[str]) -> tuple[str, ...]:
    """The provincial documents among ``docs`` (those of the provinces a question names)."""
    return tuple(d for d in docs if d in snap.docs and snap.docs[d].province)


def _agency_docs(query: Query, agency: str | None, snap: CorpusSnapshot, docs: Sequence[str]) -> set[str]:
    """The documents in scope that name the agency asked about: by the agency names ingest found
    in them, or by the agency's words. In a question about a province, a province's own agency
    ("Sở Công Thương", ``scope: local`` in the vocabulary) counts in a national document only
    when ingest found it named there: a law's "cơ sở tài chính" holds the words of "Sở Tài
    chính" and assigns it nothing."""
    if agency is None:
        return set()
    from ingest.vocab import vocab

    key = _SYLLABLE.findall(fold(agency))
    loose = set(_own_docs(snap, docs)) if query.provinces and not vocab().is_national(agency) else set(docs)
    return {d for d in docs
            if agency in snap.doc_agencies.get(d, ()) or (d in loose and _in_docs(key, snap, (d,)))}


def partner_docs(query: Query, snap: CorpusSnapshot, docs: Sequence[str]) -> tuple[str, ...]:
    """The provincial documents in scope of provinces the question does not name, when a named
    province has documents of its own: a question about Lâm Đồng also reads Đắk Nông's plans
    (merged into it in 2025), but Đắk Nông's figures are not Lâm Đồng's (the amount asked is
    looked for in the named provinces' and the national documents)."""
    if not query.provinces:
        return ()
    own = _own_docs(snap, docs)
    if not any(snap.docs[d].province in query.provinces for d in own):
        return ()
    return tuple(d for d in own if snap.docs[d].province not in query.provinces)


def _absent_years(query: Query, snap: CorpusSnapshot, docs: Sequence[str]) -> tuple[str, ...]:
    """The question's years that none of the named provinces' own documents in scope contains
    (only for a question that names a province with documents).

    A province's targets are set in the documents issued under its own name: a question about
    Lâm Đồng also reads the plan of Đắk Nông, which merged into it in 2025, but "Lâm Đồng đặt
    mục tiêu đến năm 2025" is not answered by Đắk Nông's 2025 targets. The documents of the
    provinces merged with a named one count only when the named province has none of its own."""
    if not query.provinces:
        return ()
    partners = partner_docs(query, snap, docs)
    own = tuple(d for d in _own_docs(snap, docs) if d not in partners)
    if not own:
        return ()
    years = dict.fromkeys(_YEAR.findall(query.restored))
    return tuple(y for y in years if not any(y in snap.doc_numbers.get(d, ()) for d in own))


def _asks(sentence: str) -> bool:
    line = " ".join(_SYLLABLE.findall(fold(sentence)))
    return any(p.search(line) for p in INTENT_CUES.values())


def _sentences(text: str) -> list[str]:
    parts = [p.strip() for p in _SENTENCE_END.split(text)]
    return [p for p in parts if p] or [text]


def _absent_in_best_docs(words: Sequence[str], snap: CorpusSnapshot, docs: Sequence[str],
                         agency_docs: set[str]) -> tuple[str, ...]:
    keys = {w: _SYLLABLE.findall(fold(w)) for w in words}
    best, best_docs = (-1, -1), []
    for d in docs:
        have = {w for w, k in keys.items() if _in_docs(k, snap, (d,))}
        n = (1 if d in agency_docs else 0, len(have))  # the documents about the agency asked about first
        if n > best:
            best, best_docs = n, [have]
        elif n == best:
            best_docs.append(have)
    covered = set().union(*best_docs) if best_docs else set()
    return tuple(w for w in words if w not in covered)
