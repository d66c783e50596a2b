"""Query understanding: normalise, restore diacritics, expand abbreviations, recognise
provinces, agencies and the documents a question names ("Nghị định số 45/2021/NĐ-CP",
"Thông tư 09/2024/TT-BKHĐT", "Luật Hợp tác xã 2023", "Bộ luật Dân sự", "Hiến pháp").

``QueryAnalyzer(model).analyze(question) -> QueryAnalysis``. The diacritic model comes from
the current index snapshot, so restoration follows the indexed vocabulary.
"""

from __future__ import annotations

import re

from index.diacritics import DiacriticModel, accented_ratio
from index.text import expand_abbreviations, normalize_query_text
from index.types import QueryAnalysis
from ingest.normalize import has_diacritics
from ingest.vocab import find_agencies, find_provinces

# Below this share of accented syllables a question is treated as typed without diacritics
# (Vietnamese prose has well over half of its syllables accented).
RESTORE_BELOW = 0.35

_NUMBER = r"\d+[\w.]*/(?:\d{4}/)?[A-ZĐa-zđ][\wĐđ]*(?:-[\wĐđ]+)*"
_TYPES = r"Nghị định|Thông tư liên tịch|Thông tư|Quyết định|Nghị quyết|Chỉ thị|Kế hoạch|Công văn|Chương trình|Luật|Bộ luật|Pháp lệnh"
_NUMBERED = re.compile(rf"\b(?P<type>{_TYPES})\s+(?:số\s*:?\s*)?(?P<n>{_NUMBER})", re.IGNORECASE)
_BARE_NUMBER = re.compile(rf"(?<![\w/])(?P<n>\d+[\w.]*/(?:\d{{4}}/)?(?:NĐ|TT|QĐ|NQ|CT|KH|TTLT|QH|CV|L)[\wĐđ]*(?:-[\wĐđ]+)*)", re.IGNORECASE)
_LAW = re.compile(r"(?<!\w)(?P<type>Bộ luật|Luật|Pháp lệnh)\s+(?P<name>[^\W\d][\w]*(?:(?:\s+|,\s+(?=chống))[^\W\d][\w]*){0,7})", re.IGNORECASE)
_YEAR_AFTER = re.compile(r"\s+(?:năm\s+)?((?:19|20)\d{2})\b")
_CONSTITUTION = re.compile(r"(?<!\w)Hiến pháp(?:\s+(?:năm\s+)?(?P<year>(?:19|20)\d{2}))?", re.IGNORECASE)
# Words that end a law's name in running text ("Luật Cư trú quy định ...").
_NAME_STOP = {"quy", "thì", "có", "không", "là", "được", "đúng", "sai", "khi", "nếu", "về", "của", "cho", "năm",
              "số", "ngày", "theo", "tại", "này", "đã", "phải", "mà", "hay", "hoặc", "thế", "nào", "gì", "trong",
              "với", "để", "do", "bị", "sẽ", "đang", "cần", "nói", "nêu", "ghi", "hiện", "hành", "mới", "cũ", "đó"}


def find_documents(text: str) -> list[str]:
    """Document references in ``text``, normalised ("Nghị định 45/2021/NĐ-CP", "Luật Cư trú")."""
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    for m in _NUMBERED.finditer(text):
        t = m.group("type")
        out.append(f"{t[:1].upper()}{t[1:].lower()} {m.group('n').upper().replace('Đ', 'Đ')}")
        spans.append(m.span())
    for m in _BARE_NUMBER.finditer(text):
        if not any(a <= m.start() < b for a, b in spans):
            out.append(m.group("n").upper())
    for m in _LAW.finditer(text):
        if any(a <= m.start() < b for a, b in spans):
            continue
        words = []
        for w in re.split(r"(\s+|,\s+)", m.group("name")):
            if not w.strip():
                words.append(w)
                continue
            if w.strip(", ").lower() in _NAME_STOP:
                break
            words.append(w)
        name = "".join(words).strip(" ,")
        if not name:
            continue
        t = m.group("type")
        ref = f"{t[:1].upper()}{t[1:].lower()} {name[:1].upper()}{name[1:]}"
        y = _YEAR_AFTER.match(text, m.start("name") + len(name))
        if y:
            ref += f" {y.group(1)}"
        out.append(ref)
    for m in _CONSTITUTION.finditer(text):
        out.append("Hiến pháp" + (f" {m.group('year')}" if m.group("year") else ""))
    return list(dict.fromkeys(out))


class QueryAnalyzer:
    def __init__(self, model: DiacriticModel | None = None):
        self.model = model

    def analyze(self, question: str) -> QueryAnalysis:
        normalized = normalize_query_text(question)
        had = has_diacritics(normalized)
        restored = normalized
        if self.model is not None and normalized:
            # Typed without diacritics: restore them. Typed with them: only repair typos.
            typos_only = accented_ratio(normalized) >= RESTORE_BELOW
            restored = self.model.restore(normalized, typos_only=typos_only).text
        expanded = expand_abbreviations(restored)
        provinces = _merge(find_provinces(normalized), find_provinces(restored))
        agencies = _merge(find_agencies(normalized), find_agencies(restored), find_agencies(expanded))
        return QueryAnalysis(
            original=question,
            normalized=normalized,
            restored=restored,
            expanded=expanded,
            provinces=tuple(provinces),
            agencies=tuple(agencies),
            had_diacritics=had,
            documents=tuple(_merge(find_documents(normalized), find_documents(restored))),
        )


def _merge(*lists: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for lst in lists:
        for x in lst:
            seen.setdefault(x, None)
    return list(seen)

