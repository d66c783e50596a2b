"""Turn a follow-up question into a standalone one, using the conversation so far.

Without an LLM this is done with rules: the conversation's recognised agency, province and
topic are carried over from the previous user questions (each resolved in turn), and the
entities the new question names replace the old ones. "Còn ở Kiên Giang thì sao?" after
"Sở Công Thương Lâm Đồng phải làm gì?" becomes "Sở Công Thương Kiên Giang phải làm gì?".
With an LLM, a condenser (prompts/condense.txt) is tried first and the rules are the fallback.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Callable, Sequence

from ingest.normalize import fold
from ingest.vocab import AGENCIES, PROVINCES, find_agencies, find_provinces

from assistant.answering.question import STOP, _without_entities
from assistant.answering.types import Turn

log = logging.getLogger("htx.followup")

# Words that only make sense with a previous question ("còn ... thì sao?", "cơ quan đó", "họ").
_MARKERS = {"con", "thi", "sao", "vay", "the", "nua", "do", "nay", "ho", "no", "kia", "tren", "ay", "o", "tinh", "cung", "thanh", "pho"}
_DEICTIC_RE = re.compile(
    r"^(?:con|the con|vay con|vay thi|va con|con voi)\b|\bthi sao\b|\bthi the nao\b"
    r"|\b(?:co quan|don vi|tinh|van ban|nhiem vu|viec|noi dung|ke hoach|chi thi|quyet dinh|chuong trinh|de an|so|ban|"
    r"nganh|quy|hoi|phong|bo phan|han|muc tieu|chi tieu) (?:do|nay|ay|tren)\b"
)
MAX_CARRY_TERMS = 4  # a question with more content words than this is taken as standalone


@dataclass(frozen=True)
class Resolved:
    question: str  # standalone question used for retrieval
    original: str  # as typed
    intent_text: str  # the text whose wording decides the intent (figure, deadline, duties...)
    is_followup: bool = False
    source: str = "none"  # none | rules | llm


def _content_terms(text: str) -> list[str]:
    rest = re.findall(r"[a-z]+", _without_entities(text, questions=False))
    return [t for t in rest if t not in STOP and t not in _MARKERS and len(t) > 1]


def _alias_regex(table: dict[str, tuple[str, ...]], names: Sequence[str]) -> list[re.Pattern[str]]:
    pats = []
    for name in names:
        forms = sorted({fold(a) for a in (name, *table.get(name, ()))}, key=len, reverse=True)
        pats.append(re.compile("|".join(re.escape(f) for f in forms)))
    return pats


def _replace_entities(text: str, table: dict[str, tuple[str, ...]], old: Sequence[str], new: Sequence[str]) -> str | None:
    """Replace the first mention of the old entities in ``text`` by the new ones (accent-insensitive).

    Folding keeps string length for Vietnamese letters, so spans found on the folded text map
    back onto the original. Returns None when nothing could be replaced.
    """
    folded = fold(text)
    spans: list[tuple[int, int]] = []
    for pat in _alias_regex(table, old):
        for m in pat.finditer(folded):
            spans.append(m.span())
    if not spans or len(folded) != len(text):
        return None
    spans.sort()
    replacement = " và ".join(new)
    out, pos, done = [], 0, False
    for a, b in spans:
        if a < pos:
            continue
        out.append(text[pos:a])
        out.append("" if done else replacement)
        done = True
        pos = b
    out.append(text[pos:])
    result = re.sub(r"\s{2,}", " ", "".join(out)).strip()
    result = re.sub(r"\s+và\s+(?=[?.,])", "", result)
    return result


def _append_before_qmark(text: str, addition: str) -> str:
    text = text.rstrip()
    if text.endswith("?"):
        return f"{text[:-1].rstrip()} {addition}?"
    return f"{text} {addition}"


def is_followup(question: str, has_history: bool) -> bool:
    if not has_history:
        return False
    folded = " ".join(re.findall(r"\w+", fold(question)))
    if _DEICTIC_RE.search(folded):
        return True
    return len(_content_terms(question)) <= MAX_CARRY_TERMS and not (find_agencies(question) and find_provinces(question))


def _resolve_one(question: str, previous: str | None) -> Resolved:
    """Resolve ``question`` against the previous (already standalone) user question."""
    q = question.strip()
    if not previous or not is_followup(q, True):
        return Resolved(q, q, q)
    new_prov, new_ag = find_provinces(q), find_agencies(q)
    old_prov, old_ag = find_provinces(previous), find_agencies(previous)
    elliptical = not _content_terms(q)
    if elliptical and (new_prov or new_ag):
        text = previous
        if new_prov and new_prov != old_prov:
            replaced = _replace_entities(text, PROVINCES, old_prov, new_prov) if old_prov else None
            text = replaced or _append_before_qmark(text, "ở " + " và ".join(f"tỉnh {p}" for p in new_prov))
        if new_ag and new_ag != old_ag:
            replaced = _replace_entities(text, AGENCIES, old_ag, new_ag) if old_ag else None
            text = replaced or _append_before_qmark(text, f"({', '.join(new_ag)})")
        return Resolved(text, q, text, True, "rules")
    if elliptical:
        # "Còn gì nữa?" / "Thì sao?": the previous question again.
        return Resolved(previous, q, previous, True, "rules")
    # The new question has its own content ("Thời hạn là khi nào?"): keep its wording for the
    # intent, add the entities it does not name and the previous topic for retrieval.
    # The previous question carries the entities and the topic the new one leaves out.
    text = f"{q.rstrip()} ({previous.rstrip(' ?')})"
    if new_prov and old_prov and new_prov != old_prov:
        text = _replace_entities(text, PROVINCES, old_prov, new_prov) or text
    if new_ag and old_ag and new_ag != old_ag:
        text = _replace_entities(text, AGENCIES, old_ag, new_ag) or text
    # Keep the new wording first so the intent (deadline, figure...) is the new question's.
    return Resolved(text, q, q, True, "rules")


def resolve_rules(question: str, history: Sequence[Turn] | None) -> Resolved:
    """Resolve with rules: each earlier user question is resolved in turn, then this one."""
    previous: str | None = None
    for turn in history or ():
        if turn.role != "user" or not turn.content.strip():
            continue
        previous = _resolve_one(turn.content, previous).question
    return _resolve_one(question, previous)


def resolve(
    question: str,
    history: Sequence[Turn] | None,
    condenser: Callable[[str, Sequence[Turn]], str] | None = None,
) -> Resolved:
    """Standalone question for ``question`` given ``history``; the LLM condenser first when given."""
    question = question.strip()
    if not history:
        return Resolved(question, question, question)
    if condenser is not None:
        try:
            condensed = (condenser(question, history) or "").strip().strip('"“”')
            if condensed and len(condensed) <= 1000:
                return Resolved(condensed, question, condensed, condensed != question, "llm")
        except Exception as e:  # the rules are the fallback; never fail a question on this
            log.warning("condense failed, using rules: %s", e)
    return resolve_rules(question, history)
