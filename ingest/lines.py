"""The unit passed between ingestion stages: one source line in two spellings.

``text`` is normalised (NFC, canonical tone marks, tidy spaces) and is what gets parsed,
indexed and quoted; ``display`` is the same line with only NFC and whitespace tidied, so the
original wording (e.g. ``Uỷ ban``) can be shown. Both are always joined and split together.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    text: str
    display: str

    @property
    def blank(self) -> bool:
        return not self.text.strip()

    def join(self, other: "Line", sep: str = " ") -> "Line":
        return Line(self.text.rstrip() + sep + other.text.lstrip(), self.display.rstrip() + sep + other.display.lstrip())
