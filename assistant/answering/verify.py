"""Check an LLM answer against the passages it was given, sentence by sentence.

Rules (all on normalised, accent-insensitive text):

1. every citation [n] must name a passage that was given (else the whole reply is rejected:
   ``invalid_citation``);
2. every sentence carrying a number, a date, a decree/decision number, an agency or a province
   must be supported by the passage(s) it cites: each such string occurs in a cited passage
   (agencies/provinces compared by canonical name); a sentence without a citation cannot be
   supported;
3. a cited sentence must share at least ``MIN_OVERLAP`` of its content words with its passages;
4. the reply must not repeat the system prompt (``prompt_leak``) and must not be a refusal
   when evidence was found (``llm_refused``).

Unsupported sentences are removed (and listed in ``removed``). When nothing cited is left, or
rule 1/4 fails, the reply is rejected and the caller falls back to the extractive answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

from ingest.normalize import fold, normalize_text
from ingest.vocab import find_agencies, find_provinces

from assistant.answering.llm import Passage
from assistant.answering.passages import numbers_in, number_supported, split_sentences, syllables
from assistant.answering.question import STOP

MIN_OVERLAP = 0.35
LEAK_WORDS = 8  # this many consecutive words of the system prompt in a reply is a leak
_CITE_RE = re.compile(r"\[(\s*\d+\s*(?:[,;]\s*\d+\s*)*)\]")
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
    from assistant.answering.refusal import PUBLIC_TEXT

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


def _lines(text: str) -> list[str]:
    return [ln.rstrip() for ln in normalize_text(text).split("\n")]


def verify(reply: str, passages: Sequence[Passage], system_prompt: str = "") -> Verification:
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
            why = check_sentence(s, [given[n] for n in cites])
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
        return Verification(False, "", "unsupported", removed)
    # Citation numbers stay those of the passages (streamed lines already showed them).
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(kept_lines)).strip()
    return Verification(True, text, None, removed, order, pairs)


def folded(text: str) -> str:
    return fold(text)
