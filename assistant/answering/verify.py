"""Check an LLM answer against the passages it was given, sentence by sentence.

Rules (all on normalised, accent-insensitive text):

1. every citation [n] must name a passage that was given (else the whole reply is rejected:
   ``invalid_citation``);
2. every sentence carrying a number, a date, a decree/decision number, an agency or a province
   must be supported by the passage(s) it cites: each such string occurs in a cited passage
   (agencies/provinces compared by canonical name); a sentence without a citation cannot be
   supported;
3. a cited sentence must share at least ``MIN_OVERLAP`` of its content words with its passages;
4. support is judged against ALL given passages, not only the cited one: each sentence is scored
   (content syllables and syllable pairs found) against every passage; when another passage
   supports it clearly better (``WRONG_MARGIN``), or only another passage has its numbers and
   names, the sentence is removed as ``wrong_passage``;
5. a sentence that is a question ("...?") is removed (``echo``), and a reply that only restates
   the question (no new words, no new number) is rejected (``echo``);
6. a figure question (intent ``figure``/``numeric``) answered without a number the question did
   not already contain is rejected (``no_figure``); a deadline question without a date or time
   expression, ``no_date``. Both apply only when the extractive evidence has one (``evidence``);
7. the reply must not repeat the system prompt (``prompt_leak``) and must not be a refusal
   when evidence was found (``llm_refused``).

Unsupported sentences are removed (and listed in ``removed``). When nothing cited is left, or
rule 1/5/6/7 fails, the reply is rejected and the caller falls back to the extractive answer.
The province/document coverage rule (the LLM answer must keep what the extractive evidence
covers) needs the extractive citations: see :func:`missing_sources`, used by the generator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

from ingest.normalize import fold, normalize_text
from ingest.vocab import find_agencies, find_provinces

from assistant.answering.llm import Passage
from assistant.answering.passages import number_key, numbers_in, number_supported, split_sentences, syllables
from assistant.answering.passages import STOP

MIN_OVERLAP = 0.35
WRONG_MARGIN = 0.25  # another passage scoring this much higher than the cited one is the real source
WRONG_MIN = 0.5  # ... and it must support the sentence at least this well
ECHO_NEW = 0.2  # a reply with fewer new content words than this share (and at least 2) echoes the question
LEAK_WORDS = 8  # this many consecutive words of the system prompt in a reply is a leak
_CITE_RE = re.compile(r"\[(\s*\d+\s*(?:[,;]\s*\d+\s*)*)\]")
_DATE_RE = re.compile(
    r"\b\d{1,2}/\d{1,2}/\d{4}\b|\b\d{1,2}/\d{4}\b|\b(?:19|20)\d{2}\b|\bquy (?:[1-4]|i{1,3}|iv)\b|\bthang \d{1,2}\b"
    r"|\bngay \d{1,2}\b|\b(?:hang nam|hang quy|hang thang|dinh ky|thuong xuyen|truoc ngay|chau nhat|giai doan)\b"
    r"|\b\d+ (?:ngay|thang|nam|tuan)\b"
)
FIGURE_INTENTS = ("figure", "numeric")
DATE_INTENTS = ("deadline", "date")
_REFUSAL_RE = re.compile(r"khong de cap den noi dung nay|khong co thong tin|khong the tra loi")


@dataclass
class Verification:
    ok: bool
    text: str  # the reply with unsupported sentences removed (citation numbers unchanged)
    reason: str | None = None
    removed: list[dict] = field(default_factory=list)  # {"sentence", "why"}
    used: list[int] = field(default_factory=list)  # passage numbers cited by kept sentences, first use first
    sentence_sources: list[tuple[str, list[int]]] = field(default_factory=list)  # kept sentence -> its numbers


def citations_in(text: str) -> list[int]:
    out: list[int] = []
    for m in _CITE_RE.finditer(text):
        out.extend(int(x) for x in re.split(r"[,;]", m.group(1)) if x.strip())
    return out


def strip_citations(text: str) -> str:
    return re.sub(r"\s+([.,;:])", r"\1", _CITE_RE.sub("", text)).strip()


def _content(words: list[str]) -> list[str]:
    return [w for w in words if w not in STOP and not w.isdigit() and len(w) > 1]


def leaks_prompt(text: str, system_prompt: str, n: int = LEAK_WORDS, public: str | None = None) -> bool:
    """True when ``text`` repeats ``n`` consecutive words of the system prompt. Word runs that
    are also in ``public`` (the fixed refusal message users see anyway) do not count."""
    from assistant.answering.decide import PUBLIC_TEXT

    public = PUBLIC_TEXT if public is None else public

    def grams_of(t: str) -> set[str]:
        w = syllables(t)
        return {" ".join(w[i:i + n]) for i in range(max(0, len(w) - n + 1))}

    grams = grams_of(system_prompt) - grams_of(public)
    words = syllables(text)
    return any(" ".join(words[i:i + n]) in grams for i in range(max(0, len(words) - n + 1)))


def check_sentence(sentence: str, cited: Sequence[Passage]) -> str | None:
    """Why ``sentence`` is not supported by ``cited`` (None when it is)."""
    body = strip_citations(sentence)
    nums = numbers_in(body)
    agencies = find_agencies(body)
    provinces = find_provinces(body)
    factual = bool(nums or agencies or provinces)
    if not cited:
        return "no_citation" if factual or len(_content(syllables(body))) >= 6 else None
    support = "\n".join(p.support_text for p in cited)
    for num in nums:
        if not number_supported(num, support):
            return f"number_not_in_passage:{num}"
    if agencies:
        have = set(find_agencies(support))
        for a in agencies:
            if a not in have:
                return f"agency_not_in_passage:{a}"
    if provinces:
        have_p = set(find_provinces(support)) | {p.chunk.province for p in cited if p.chunk.province}
        for pr in provinces:
            if pr not in have_p:
                return f"province_not_in_passage:{pr}"
    words = _content(syllables(body))
    if words:
        sup = set(syllables(support))
        share = sum(1 for w in words if w in sup) / len(words)
        if share < MIN_OVERLAP:
            return f"low_overlap:{share:.2f}"
    return None


def _bigrams(words: list[str]) -> set[str]:
    return {f"{a} {b}" for a, b in zip(words, words[1:]) if not (a in STOP and b in STOP)}


def support_score(sentence: str, support: str) -> float:
    """How well ``support`` backs ``sentence`` (0..1): the share of the sentence's content
    syllables found in it and the share of its syllable pairs, weighted towards pairs (single
    syllables such as "hợp", "tác", "xã" occur in every passage)."""
    words = syllables(strip_citations(sentence))
    content = _content(words)
    pairs = _bigrams(words)
    if not content and not pairs:
        return 1.0
    have = syllables(support)
    uni = sum(1 for w in content if w in set(have)) / len(content) if content else 1.0
    bi = len(pairs & _bigrams(have)) / len(pairs) if pairs else uni
    return 0.4 * uni + 0.6 * bi


def check_claim(sentence: str, cites: Sequence[int], passages: Sequence[Passage]) -> str | None:
    """Why ``sentence`` citing ``cites`` is not acceptable (None when it is): the cited-passage
    checks of :func:`check_sentence`, then the comparison with all the other passages."""
    given = {p.n: p for p in passages}
    cited = [given[n] for n in cites if n in given]
    why = check_sentence(sentence, cited)
    if not cited:
        return why
    others = [p for p in passages if p.n not in set(cites)]
    if not others or len(_content(syllables(strip_citations(sentence)))) < 3:
        return why
    own = support_score(sentence, "\n".join(p.support_text for p in cited))
    best = max(others, key=lambda p: support_score(sentence, p.support_text))
    other = support_score(sentence, best.support_text)
    if why and other > own and check_sentence(sentence, [best]) is None:
        return f"wrong_passage:[{best.n}]"
    if why is None and other >= WRONG_MIN and other - own >= WRONG_MARGIN:
        return f"wrong_passage:[{best.n}]"
    return why


def _number_keys(text: str) -> set[str]:
    return {number_key(n) for n in numbers_in(text)}


def _dates(text: str) -> set[str]:
    return {m.group(0) for m in _DATE_RE.finditer(" ".join(syllables(text)) + " " + fold(text).lower())}


def restates(text: str, question: str) -> bool:
    """True when ``text`` adds (almost) nothing to ``question``: no new number, and fewer new
    content words than ``ECHO_NEW`` of its words (at least 2)."""
    if not question.strip():
        return False
    body = strip_citations(text)
    q = set(syllables(question))
    words = _content(syllables(body))
    new_words = [w for w in words if w not in q]
    new_numbers = _number_keys(body) - _number_keys(question)
    return not new_numbers and len(new_words) < max(2, ECHO_NEW * len(words))


def has_figure(text: str, question: str = "") -> bool:
    """A number in ``text`` that the question did not already contain (years of a date excluded
    when the question names them)."""
    return bool(_number_keys(strip_citations(text)) - _number_keys(question))


def has_date(text: str, question: str = "") -> bool:
    return bool(_dates(strip_citations(text)) - _dates(question))


def missing_sources(evidence: Sequence, used: Sequence) -> list[tuple[str | None, str]]:
    """(province, doc_id) of each document the extractive ``evidence`` citations rest on that
    the LLM answer's citations ``used`` do not (Citation-like objects: ``.province``, ``.doc_id``).
    A dropped province is a dropped document of that province."""
    have = {c.doc_id for c in used}
    out: list[tuple[str | None, str]] = []
    for c in evidence:
        if c.doc_id not in have and (c.province, c.doc_id) not in out:
            out.append((c.province, c.doc_id))
    return out


def _lines(text: str) -> list[str]:
    return [ln.rstrip() for ln in normalize_text(text).split("\n")]


def _whole_reason(removed: list[dict]) -> str:
    kinds = {r["why"].split(":", 1)[0] for r in removed}
    if kinds and kinds <= {"wrong_passage"}:
        return "wrong_passage"
    if kinds and kinds <= {"echo"}:
        return "echo"
    return "unsupported"


def verify(reply: str, passages: Sequence[Passage], system_prompt: str = "", question: str = "",
           intent: Sequence[str] = (), evidence: str | None = None) -> Verification:
    """Check ``reply``. ``question`` and ``intent`` enable the echo and figure/date rules;
    ``evidence`` (the extractive answer's text) limits the figure/date rules to questions whose
    documents have a figure/date."""
    given = {p.n: p for p in passages}
    reply = (reply or "").strip()
    if not reply:
        return Verification(False, "", "empty")
    bad = sorted({n for n in citations_in(reply) if n not in given})
    if bad:
        return Verification(False, "", "invalid_citation", [{"sentence": "", "why": f"cites {bad} of {len(given)} passages"}])
    if system_prompt and leaks_prompt(reply, system_prompt):
        return Verification(False, "", "prompt_leak")
    if _REFUSAL_RE.search(" ".join(syllables(reply))) and not citations_in(reply):
        return Verification(False, "", "llm_refused")

    kept_lines: list[str] = []
    removed: list[dict] = []
    order: list[int] = []
    pairs: list[tuple[str, list[int]]] = []
    for line in _lines(reply):
        if not line.strip():
            kept_lines.append("")
            continue
        prefix = re.match(r"^\s*(?:[-*•+]|\d+[.)])\s+", line)
        lead = prefix.group(0) if prefix else ""
        body = line[len(lead):]
        sentences = split_sentences(body) or [body]
        kept: list[str] = []
        for i, s in enumerate(sentences):
            cites = citations_in(s)
            if not cites:
                # "A. B [1]": a sentence without its own marker rests on the line's next marker.
                later = [citations_in(x) for x in sentences[i + 1:]]
                cites = next((c for c in later if c), [])
            if not cites and body.rstrip().endswith(":") and i == len(sentences) - 1:
                # A heading line ("Lâm Đồng:") carries no claim of its own, but still may not
                # name a province or agency that no passage has.
                names = set(find_provinces(s)) | set(find_agencies(s))
                allp = "\n".join(p.support_text for p in passages)
                if names <= (set(find_provinces(allp)) | set(find_agencies(allp)) | {p.chunk.province for p in passages}):
                    kept.append(s)
                    continue
            if strip_citations(s).rstrip().endswith("?"):
                removed.append({"sentence": strip_citations(s), "why": "echo"})
                continue
            why = check_claim(s, cites, passages)
            if why:
                removed.append({"sentence": strip_citations(s), "why": why})
                continue
            kept.append(s)
            for n in cites:
                if n not in order:
                    order.append(n)
            pairs.append((strip_citations(s), cites))
        if kept:
            kept_lines.append(lead + " ".join(kept))
    if not order:
        return Verification(False, "", _whole_reason(removed), removed)
    # Citation numbers stay those of the passages (streamed lines already showed them).
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(kept_lines)).strip()
    claims = "\n".join(s for s, _ in pairs)
    if restates(claims, question):
        return Verification(False, "", "echo", removed)
    wants = set(intent)
    if wants & set(FIGURE_INTENTS) and not has_figure(claims, question) and (evidence is None or has_figure(evidence, question)):
        return Verification(False, "", "no_figure", removed)
    if wants & set(DATE_INTENTS) and not has_date(claims, question) and (evidence is None or has_date(evidence, question)):
        return Verification(False, "", "no_date", removed)
    return Verification(True, text, None, removed, order, pairs)


def folded(text: str) -> str:
    return fold(text)
