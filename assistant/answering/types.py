"""Data that flows out of the answering chain: an answer with its numbered citations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Turn:
    """One message of a conversation, as sent by clients: role is "user" or "assistant"."""

    role: str
    content: str


@dataclass(frozen=True)
class Citation:
    """A numbered source: the exact passage an answer point rests on."""

    n: int
    doc_id: str  # source file name without extension
    doc_title: str
    province: str | None
    section: str  # heading path
    text: str  # the cited passage (sentence, list item or table row) as in the document
    chunk_id: str = ""
    chunk_text: str = ""  # the whole chunk the passage came from, for "open the passage"

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "doc_id": self.doc_id,
            "doc_title": self.doc_title,
            "province": self.province,
            "section": self.section,
            "text": self.text,
            "chunk_id": self.chunk_id,
        }


@dataclass
class Answer:
    """The answer to one question. ``to_json`` is the public contract of ask --json and the API."""

    answer: str  # Markdown-ish plain text in Vietnamese; points end with [n]
    citations: list[Citation]
    refused: bool = False
    mode: str = "extractive"  # extractive | llm | extractive_fallback
    timings_ms: dict[str, float] = field(default_factory=dict)
    related: list[Citation] = field(default_factory=list)  # "có thể liên quan" when refused
    question: str = ""  # the question as understood (after follow-up resolution)
    metadata: dict[str, Any] = field(default_factory=dict)  # fallback_reason, provinces, agencies...

    def to_json(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "citations": [c.to_json() for c in self.citations],
            "refused": self.refused,
            "mode": self.mode,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "related": [c.to_json() for c in self.related],
            "question": self.question,
            "metadata": self.metadata,
        }
