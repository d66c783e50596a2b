"""Query understanding: normalise, restore diacritics, expand abbreviations, recognise
provinces and agencies.

``QueryAnalyzer(model).analyze(question) -> QueryAnalysis``. The diacritic model comes from
the current index snapshot, so restoration follows the indexed vocabulary.
"""

from __future__ import annotations

from index.diacritics import DiacriticModel, accented_ratio
from index.text import expand_abbreviations, normalize_query_text
from index.types import QueryAnalysis
from ingest.normalize import has_diacritics
from ingest.vocab import find_agencies, find_provinces

# Below this share of accented syllables a question is treated as typed without diacritics
# (Vietnamese prose has well over half of its syllables accented).
RESTORE_BELOW = 0.35


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
        )


def _merge(*lists: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for lst in lists:
        for x in lst:
            seen.setdefault(x, None)
    return list(seen)

