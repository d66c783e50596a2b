"""The fixed evaluation set (``evals/questions.jsonl``): schema, loading and validation.

One JSON object per line:

- ``id`` ("q001"), ``question`` (Vietnamese, as users type it), ``kind`` (one of KINDS),
- ``doc_ids``: file stems whose passages answer it ([] when unanswerable),
- ``gold_quotes``: exact substrings of those files (as on disk), one per needed passage,
- ``answer_points``: short facts a correct answer must contain; each is a substring of a
  gold quote unless ``notes`` contains POINTS_OUTSIDE_MARKER (table rows: the agency or the
  time sits in another cell of the same row), in which case it is a substring of the document,
- ``must_refuse`` (bool), ``notes`` (expected behaviour, quirks),
- optional ``history`` ([{role, content}], or plain strings for earlier user questions) for
  follow-ups, ``variant_of`` (id of the
  accented/canonical twin), ``provinces`` (canonical names the answer must cover).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EVALS_DIR = Path(__file__).resolve().parent
DEFAULT_QUESTIONS = EVALS_DIR / "questions.jsonl"

KINDS: tuple[str, ...] = (
    "agency_duty_multi",
    "agency_duty_scoped",
    "numeric_target",
    "table_row",
    "deadline_reporting",
    "cited_decree",
    "cross_document",
    "no_diacritics",
    "abbreviation",
    "typo",
    "unanswerable",
    "prompt_injection",
    "follow_up",
)

# Minimum number of questions per kind (the issue asks for >= 8 each, >= 10 for these two).
MIN_PER_KIND: dict[str, int] = {k: 8 for k in KINDS} | {"no_diacritics": 10, "unanswerable": 10}
MIN_TOTAL = 110

QUOTE_MIN_CHARS = 30
QUOTE_MAX_CHARS = 200

POINTS_OUTSIDE_MARKER = "answer_points outside gold quotes:"

_REQUIRED = {
    "id": str,
    "question": str,
    "kind": str,
    "doc_ids": list,
    "gold_quotes": list,
    "answer_points": list,
    "must_refuse": bool,
    "notes": str,
}


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    kind: str
    doc_ids: tuple[str, ...]
    gold_quotes: tuple[str, ...]
    answer_points: tuple[str, ...]
    must_refuse: bool
    notes: str
    history: tuple[dict[str, str], ...] = ()
    variant_of: str | None = None
    provinces: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def answerable(self) -> bool:
        """Has a retrieval target (gold quotes). Refusals without quotes are not scored for retrieval."""
        return bool(self.gold_quotes)

    def last_user_turn(self) -> str | None:
        for turn in reversed(self.history):
            if turn.get("role") == "user" and str(turn.get("content", "")).strip():
                return str(turn["content"]).strip()
        return None

    def retrieval_query(self) -> str:
        """The text sent to retrieval.

        Follow-ups are resolved naively for retrieval evaluation: the question is concatenated
        with the last user turn of the history ("Còn ở Kiên Giang thì sao? Sở Công Thương
        Lâm Đồng phải làm gì?"). Proper follow-up resolution belongs to the answering chain;
        this only measures whether retrieval can find the passage given the conversation's words.
        """
        last = self.last_user_turn()
        return f"{self.question} {last}" if last else self.question


def parse_question(data: dict[str, Any], where: str = "") -> EvalQuestion:
    """Validate one record's schema and build an EvalQuestion (ValueError on any problem)."""
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a JSON object")
    for name, typ in _REQUIRED.items():
        if name not in data:
            raise ValueError(f"{where}: missing field '{name}'")
        if not isinstance(data[name], typ):
            raise ValueError(f"{where}: field '{name}' must be {typ.__name__}")
    for name in ("doc_ids", "gold_quotes", "answer_points"):
        if not all(isinstance(x, str) and x.strip() for x in data[name]):
            raise ValueError(f"{where}: '{name}' must be a list of non-empty strings")
    if not data["question"].strip():
        raise ValueError(f"{where}: empty question")
    history = data.get("history") or []
    if not isinstance(history, list):
        raise ValueError(f"{where}: 'history' must be a list")
    history = [{"role": "user", "content": t} if isinstance(t, str) and t.strip() else t for t in history]
    for turn in history:
        if not (isinstance(turn, dict) and turn.get("role") in ("user", "assistant") and isinstance(turn.get("content"), str)):
            raise ValueError(f"{where}: bad history turn {turn!r}")
    variant_of = data.get("variant_of")
    if variant_of is not None and not isinstance(variant_of, str):
        raise ValueError(f"{where}: 'variant_of' must be a string")
    provinces = data.get("provinces") or []
    if not (isinstance(provinces, list) and all(isinstance(p, str) for p in provinces)):
        raise ValueError(f"{where}: 'provinces' must be a list of strings")
    known = set(_REQUIRED) | {"history", "variant_of", "provinces"}
    return EvalQuestion(
        id=data["id"],
        question=data["question"],
        kind=data["kind"],
        doc_ids=tuple(data["doc_ids"]),
        gold_quotes=tuple(data["gold_quotes"]),
        answer_points=tuple(data["answer_points"]),
        must_refuse=data["must_refuse"],
        notes=data["notes"],
        history=tuple({"role": t["role"], "content": t["content"]} for t in history),
        variant_of=variant_of,
        provinces=tuple(provinces),
        extra={k: v for k, v in data.items() if k not in known},
    )


def load_questions(path: str | Path | None = None) -> list[EvalQuestion]:
    """Read a questions JSONL file; blank lines are skipped; errors name the line."""
    path = Path(path) if path else DEFAULT_QUESTIONS
    return [parse_question(data, where=f"{path}:{lineno}") for lineno, data in jsonl_records(path)]


def jsonl_records(path: str | Path):
    """(line number, parsed object) for each non-blank line; ValueError names a bad line."""
    path = Path(path)
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield lineno, json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{lineno}: invalid JSON ({e})") from e
