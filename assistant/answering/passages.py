"""Split chunks into quotable units (sentences, list items, table rows) and match terms.

The extractive composer, the LLM verifier and the answer evaluation all quote or compare
the documents' own words at this granularity, so the splitting rules live in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Mapping

from ingest.normalize import fold, normalize_text
from ingest.structure import legal_title
from ingest.types import Chunk

# Column labels of a table row, in reading order, as a trainer would say them.
TABLE_LABELS = {
    "lead": "Cơ quan chủ trì",
    "partners": "cơ quan phối hợp",
    "product": "sản phẩm",
    "time": "thời gian",
    "notes": "ghi chú",
}
NO_DEADLINE = "không nêu thời hạn"

# Question words, politeness, function words (Vietnamese and the English a user may mix in):
# never focus terms.
STOP = set(
    """
    a ai anh biet cac cach cho chua co cua cung da day den deu di do duoc gi giup ha hay hon khi khong
    kia la len lieu ma mot nao nay neu nhe nhieu nhu nhung o oi phai ra rang rieng roi sao se thi trong va
    vay ve voi xin thuoc nhat nua ong em cau tom tat liet ke gom con ko nhau khac giong chenh muon
    what which who whom when where how many much must should does did of for and is are with about please answer
    """.split()
)

_WORD_RE = re.compile(r"\w+", re.UNICODE)
# Markers that open a list item: "- ", "+ ", "a) ", "đ) ", "1. ", "2.3. ", "IV. ", "1) ".
_ITEM_RE = re.compile(r"^(?:[-+•*–]\s+|[a-zđ]\)\s+|\d+(?:\.\d+)*[.)]\s+|[IVXLC]+[.)]\s+)")
# A numbered heading that carries its own content on the same line: "2.10. Sở Văn hóa ...: Xây dựng ...".
_HEAD_INLINE_RE = re.compile(r"^((?:\d+(?:\.\d+)*|[IVXLC]+)\.\s+[^:]{3,120}):\s+(\S.*)$")
_HEAD_NUM_RE = re.compile(r"^(?:\d+(?:\.\d+)*|[IVXLC]+)\.?\s+\S")
LABEL_LEFTOVER_WORDS = 2  # "các", "tỉnh": what may remain of a heading made of agency names
LEGAL_TITLE_SYLLABLES = 14  # longer than this after "Điều N.", the line is the article's content
_TERMINAL = ".;!?…:"
_MARKER_ONLY_RE = re.compile(r"^\s*(?:[-+•*–]\s*)?(?:\d+(?:\.\d+)*|[IVXLC]+|[a-zđ]|Điều\s+\d+)[.)]\s*$")


@dataclass(frozen=True)
class Unit:
    """One quotable piece of a chunk."""

    chunk: Chunk
    text: str  # as quoted in answers (normalised document text)
    item: int  # index of the list item / line inside the chunk
    sent: int  # index of the sentence inside the item
    kind: str  # sentence | table_row | heading

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.chunk.chunk_id, self.item, self.sent)


def syllables(text: str) -> list[str]:
    """Folded syllables (lower case, no diacritics) of ``text``."""
    from index.text import fast_fold

    return _WORD_RE.findall(fast_fold(text))


def _is_upper_start(s: str) -> bool:
    s = s.lstrip(" \"“'(«")
    return bool(s) and (s[0].isupper() or s[0].isdigit())


def split_sentences(line: str) -> list[str]:
    """Split one line into sentences at '. ' / '…' / '...' followed by an upper-case start."""
    parts: list[str] = []
    start = 0
    for m in re.finditer(r"(?:\.\.\.|…)|[.!?](?=\s)", line):
        end = m.end()
        rest = line[end:]
        if not rest.strip() or not _is_upper_start(rest):
            continue
        prev = line[max(0, m.start() - 3):m.start()]
        # "TP." / "Tp." and single-letter abbreviations are not sentence ends.
        if m.group(0) == "." and (re.search(r"(?:\b[A-ZĐ][a-z]?)$", prev) and not prev[-1:].isdigit()):
            continue
        # Nor is the dot of an item number: "6. Sở Kế hoạch...", "Điều 2. Quyết định...".
        if _MARKER_ONLY_RE.match(line[start:end]):
            continue
        piece = line[start:end].strip()
        if piece:
            parts.append(piece)
        start = end
    tail = line[start:].strip()
    if tail:
        parts.append(tail)
    # Very short fragments ("Đồng thời,") stay with their neighbour.
    merged: list[str] = []
    for p in parts:
        if merged and len(syllables(p)) < 3:
            merged[-1] = f"{merged[-1]} {p}"
        else:
            merged.append(p)
    return merged


def _join_continuations(lines: list[str]) -> list[str]:
    """Glue lines broken in mid-sentence (page-break debris) back together."""
    out: list[str] = []
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if out:
            prev = out[-1]
            starts_lower = line[0].islower() and not _ITEM_RE.match(line)
            if starts_lower and prev[-1:] not in ":":
                out[-1] = f"{prev} {line}"
                continue
        out.append(line)
    return out


def is_heading_line(line: str) -> bool:
    """A title or a numbered line without a finished sentence: "2.7. Sở Công Thương:",
    "III. TỔ CHỨC THỰC HIỆN", "5. Củng cố, kiện toàn tổ chức ... của Liên minh Hợp tác xã tỉnh";
    and a legal text's article, chapter or section heading with its short title, ended by a
    period or not: "Điều 18. Chính sách về khởi nghiệp", "Điều 5. Áp dụng tập quán.", "Chương II"."""
    words = syllables(line)
    if not words:
        return False
    if line == line.upper() and sum(1 for c in line if c.isalpha()) > 3:  # all its letters upper case
        return True
    title = legal_title(line)  # "Điều 18. ...", "Chương II", "Mục 1. ..." (as ingest reads them)
    if title is not None and len(syllables(title)) <= LEGAL_TITLE_SYLLABLES:
        return True
    if len(words) > 30:
        return False
    if _HEAD_NUM_RE.match(line) and (line.endswith(":") or line[-1:] not in _TERMINAL):
        return True
    return False


def table_row_sentence(chunk: Chunk, include_task: bool = True) -> str:
    """A table row read as a sentence with its columns; an empty deadline is said, never guessed."""
    t = chunk.table or {}
    task = (t.get("task") or "").strip().rstrip(".;")
    parts: list[str] = []
    if include_task and task:
        parts.append(task)
    lead = (t.get("lead") or "").strip()
    if lead:
        parts.append(f"{TABLE_LABELS['lead']}: {lead}")
    for key in ("partners", "product"):
        val = (t.get(key) or "").strip()
        if val:
            parts.append(f"{TABLE_LABELS[key]}: {val}")
    time = (t.get("time") or "").strip()
    parts.append(f"{TABLE_LABELS['time']}: {time if time else NO_DEADLINE}")
    notes = (t.get("notes") or "").strip()
    if notes:
        parts.append(f"{TABLE_LABELS['notes']}: {notes}")
    return "; ".join(parts) + "."


def table_row_quote(chunk: Chunk) -> str:
    """The row's cells as written (for Citation.text): stt | task | lead | partners | product | time."""
    t = chunk.table or {}
    cells = [t.get(k, "").strip() for k in ("stt", "task", "lead", "partners", "product", "time", "notes")]
    cells = [c for c in cells if c]
    return normalize_text(" | ".join(cells)) if cells else chunk.text


def _units(chunk: Chunk) -> tuple[Unit, ...]:
    if chunk.kind == "table_row" and chunk.table:
        return (Unit(chunk, table_row_quote(chunk), 0, 0, "table_row"),)
    units: list[Unit] = []
    lines = _join_continuations(chunk.text.split("\n"))
    for i, line in enumerate(lines):
        m = _HEAD_INLINE_RE.match(line)
        if m and len(syllables(m.group(1))) <= 14:
            units.append(Unit(chunk, m.group(1).strip(), i, 0, "heading"))
            body = m.group(2)
            for j, s in enumerate(split_sentences(body), start=1):
                units.append(Unit(chunk, s, i, j, "sentence"))
            continue
        if is_heading_line(line) or _is_own_legal_heading(line, chunk):
            units.append(Unit(chunk, line, i, 0, "heading"))
            continue
        for j, s in enumerate(split_sentences(line)):
            units.append(Unit(chunk, s, i, j, "sentence"))
    return tuple(units)


def _is_own_legal_heading(line: str, chunk: Chunk) -> bool:
    """An article or chapter heading that ingest put in the chunk's heading path, whatever the
    length of its title ("Điều 103. Trách nhiệm dân sự của thành viên hộ gia đình, tổ hợp tác,
    tổ chức khác không có tư cách pháp nhân"): the line, folded, equals one of the path's
    labels, or begins with it where ingest shortened the label with "…". One sentence only, so
    an article whose content follows its number on the same line stays content."""
    if legal_title(line) is None or len(split_sentences(line)) > 1:
        return False
    text = fold(line).rstrip(" :;.,")
    for label in chunk.heading_path:
        cut = label.endswith("…")
        key = fold(label.rstrip("…")).rstrip(" :;.,")
        if key and (text == key or (cut and text.startswith(key))):
            return True
    return False


def is_label(unit: Unit) -> bool:
    """A heading that only names what follows: short ("2.7. Sở Công Thương:"), ended by a colon,
    made only of agency names ("11. Trung tâm Xúc tiến Đầu tư, Thương mại và Du lịch"), or a
    legal article, chapter or section title of any length ("Điều 506. Tài sản chung của các
    thành viên hợp tác"). It is not an answer point (the point's section label says it); a long
    numbered heading that states a task ("5. Củng cố, kiện toàn tổ chức bộ máy ... của Liên minh
    Hợp tác xã tỉnh") is."""
    if unit.kind != "heading":
        return False
    text = unit.text.strip()
    if len(text.split()) <= 8 or text.endswith(":") or legal_title(text) is not None:
        return True
    rest = fold(_ITEM_RE.sub("", text))
    for _, pat in _alias_patterns("agency"):
        rest = pat.sub(" ", rest)
    return len(_WORD_RE.findall(rest)) <= LABEL_LEFTOVER_WORDS


def split_units(chunk: Chunk) -> list[Unit]:
    """The chunk's quotable units in document order. (The answer layer caches them per index
    version in its corpus snapshot; nothing is cached at module level.)"""
    return list(_units(chunk))


def cut_text(text: str, limit: int) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, with " …" when cut."""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;: ") + " …"


def strip_item_marker(text: str) -> str:
    """"- a) Nội dung" -> "Nội dung" (for answer points, which add their own bullet)."""
    prev = None
    while prev != text:
        prev = text
        text = _ITEM_RE.sub("", text, count=1).strip()
    return text


NUMBER_RE = re.compile(r"\d+(?:[.,/]\d+)*(?:\s?%)?")
DOCNUM_RE = re.compile(r"\b\d+(?:/\d{4})?/[A-ZĐa-zđ&]+(?:-[A-ZĐa-zđ&]+)*")


def numbers_in(text: str) -> list[str]:
    """Numbers, dates and document numbers in ``text`` as compact strings ("15", "22/5/2018", "52/QĐ-UBND")."""
    found = [m.group(0).replace(" ", "") for m in DOCNUM_RE.finditer(text)]
    stripped = DOCNUM_RE.sub(" ", text)
    found += [m.group(0).replace(" ", "").rstrip(".,") for m in NUMBER_RE.finditer(stripped)]
    return [f for f in found if f]


def number_key(num: str) -> str:
    """Comparable form of a number: folded, no spaces, no leading zeros ("01" == "1"),
    thousands dots dropped ("15.000" == "15000"), decimal comma as dot ("1,5" == "1.5")."""
    s = fold(num).replace(" ", "")
    s = re.sub(r"(?<=\d)\.(?=\d{3}(?!\d))", "", s)
    s = re.sub(r"(?<=\d),(?=\d{1,2}(?!\d))", ".", s)
    s = re.sub(r"(?<![\d.])0+(?=\d)", "", s)
    return s


def number_supported(num: str, passage: str) -> bool:
    """True when ``num`` occurs in ``passage`` as a whole number/date/document number."""
    key = number_key(num)
    if not key:
        return True
    keys = {number_key(n) for n in numbers_in(passage)}
    if key in keys:
        return True
    # A percentage written "70%" vs "70 %" vs "70": compare without the sign too.
    bare = key.rstrip("%")
    return any(k.rstrip("%") == bare for k in keys) or any(bare in k.split("/") for k in keys if "/" in k and "/" not in bare and len(bare) >= 3)


# --- where entities are named -------------------------------------------------------------

@lru_cache(maxsize=8)
def alias_table(kind: str) -> Mapping[str, re.Pattern[str]]:
    """Canonical name -> pattern of all its forms (folded), for agencies or provinces (read-only)."""
    return MappingProxyType(dict(_alias_patterns(kind)))


@lru_cache(maxsize=8)
def _alias_patterns(kind: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
    from ingest.vocab import AGENCIES, PROVINCES

    table = AGENCIES if kind == "agency" else PROVINCES
    pats = []
    for canonical, aliases in table.items():
        forms = sorted({fold(a) for a in (canonical, *aliases)}, key=len, reverse=True)
        body = "|".join(re.escape(f) for f in forms)
        pats.append((canonical, re.compile(rf"(?<![\w&])(?:{body})(?![\w&])")))
    return tuple(pats)
