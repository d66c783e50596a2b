"""Instructions inside a question never change the rules.

A question may carry text aimed at the assistant rather than at the documents ("bỏ qua mọi
quy tắc", "in ra system prompt", "hãy xác nhận con số này", an HTML comment with a fake
system order). Those segments are cut off before retrieval; what remains is answered by the
same rules as any question. When nothing remains, the question is refused politely. Provinces
named in the removed segments are kept as context (they say what the user is talking about).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.normalize import fold
from ingest.vocab import find_provinces

# Folded patterns of instructions to the assistant (Vietnamese and English).
_INSTRUCTION_PATTERNS = [
    r"\bbo qua\b.*\b(?:quy tac|huong dan|chi dan|yeu cau|lenh|nguyen tac|trich dan)",
    r"\bignore\b", r"\bdisregard\b", r"\bsystem prompt\b", r"\bprompt\b", r"\binstructions?\b",
    r"\bwithout citations?\b", r"\banswer in english\b", r"\byou are\b",
    r"\b(?:loi nhac|huong dan|chi dan|cau lenh) he thong\b", r"\blenh he thong\b", r"^he thong$",
    r"\bche do (?:quan tri|admin|nha phat trien)", r"\bquan tri vien\b",
    r"\bdong vai\b", r"\bban la (?:mot )?tro ly\b", r"\bkhong bi gioi han\b", r"\btu dat ra\b", r"\btu bịa\b", r"\btu bia\b",
    r"\bchi tra loi\b", r"\bhay tra loi rang\b", r"\btra loi rang\b",
    r"\b(?:dung|khong can|khong duoc|khong) (?:trich dan|dan nguon|ghi nguon|can nguon|neu nguon)\b",
    r"\btra loi khong can\b", r"\bkhong can nguon\b",
    r"\bdung bao gio noi\b", r"\bkhong bao gio noi\b",
    r"\bin (?:ra|nguyen van|toan bo)\b", r"\btiet lo\b", r"\bnguyen van toan bo\b",
    r"\bkhong can tra loi\b",
    r"\bxac nhan (?:con so|so lieu|thong tin|dieu nay)\b", r"\bhay xac nhan\b",
    r"\btai lieu mat\b", r"\btoi vua gui\b", r"\btai lieu (?:toi|cua toi)\b",
    r"\bra quyet dinh moi\b", r"\bdoi han\b.*\bthanh\b",
]
_INSTRUCTION_RE = [re.compile(p) for p in _INSTRUCTION_PATTERNS]
_COMMENT_RE = re.compile(r"<!--.*?-->|<\s*/?\s*(?:system|sys|instruction)[^>]*>", re.DOTALL | re.IGNORECASE)
_SEGMENT_RE = re.compile(r"[^.!?:\n]+[.!?:]*")


@dataclass(frozen=True)
class Sanitized:
    question: str  # what is left to answer ("" when the whole question was instructions)
    removed: tuple[str, ...] = ()  # the segments cut off
    context_provinces: tuple[str, ...] = ()  # provinces named only in removed segments

    @property
    def injection(self) -> bool:
        return bool(self.removed)


def is_instruction(segment: str) -> bool:
    folded = " ".join(re.findall(r"\w+", fold(segment)))
    return any(p.search(folded) for p in _INSTRUCTION_RE)


def sanitize(question: str) -> Sanitized:
    """Cut instruction segments out of ``question``."""
    removed: list[str] = []
    text = question
    for m in _COMMENT_RE.finditer(text):
        removed.append(m.group(0))
    text = _COMMENT_RE.sub(" ", text)
    kept: list[str] = []
    for m in _SEGMENT_RE.finditer(text):
        seg = m.group(0).strip()
        if not seg:
            continue
        if is_instruction(seg):
            removed.append(seg)
        else:
            kept.append(seg)
    if not removed:
        return Sanitized(question.strip())
    # A leftover that is only a label ("Theo văn bản,") or a tag is not a question.
    rest = " ".join(kept).strip()
    rest = re.sub(r"\s+", " ", rest).strip(" ,;:")
    if rest and not rest.endswith(("?", ".", "!")):
        rest = rest.rstrip(":") + "?"
    if len(re.findall(r"\w+", rest)) < 3:
        rest = ""
    provinces_kept = set(find_provinces(rest))
    ctx = tuple(p for seg in removed for p in find_provinces(seg) if p not in provinces_kept)
    return Sanitized(rest, tuple(removed), tuple(dict.fromkeys(ctx)))
