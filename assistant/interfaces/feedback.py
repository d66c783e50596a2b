"""User feedback (👍/👎 and an optional comment) on answers, kept in SQLite under the data dir.

One row per rated answer: the question, the answer text, its citations (JSON), the rating
("up" or "down"), an optional comment and a UTC timestamp. ``htx feedback export`` writes
the rows to CSV for the people who improve the documents and the assistant.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

RATINGS = ("up", "down")
MAX_COMMENT_CHARS = 2000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at  TEXT NOT NULL,
    question    TEXT NOT NULL,
    answer      TEXT NOT NULL,
    citations   TEXT NOT NULL DEFAULT '[]',
    rating      TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment     TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL DEFAULT 'web'
);
"""

EXPORT_COLUMNS = ("id", "created_at", "rating", "question", "answer", "citations", "comment", "source")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _rating(value: str) -> str:
    v = str(value).strip().lower()
    aliases = {"like": "up", "dislike": "down", "+1": "up", "-1": "down", "👍": "up", "👎": "down"}
    v = aliases.get(v, v)
    if v not in RATINGS:
        raise ValueError(f"rating must be one of {RATINGS}, got {value!r}")
    return v


class FeedbackStore:
    """Thread-safe SQLite store; a short-lived connection per call (WAL journal)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=10)
        con.row_factory = sqlite3.Row
        try:
            yield con
            con.commit()
        finally:
            con.close()

    def add(
        self,
        question: str,
        answer: str,
        citations: list[dict[str, Any]] | None,
        rating: str,
        comment: str | None = None,
        source: str = "web",
    ) -> int:
        """Store one rating; returns the row id."""
        row = (
            _now(),
            question or "",
            answer or "",
            json.dumps(citations or [], ensure_ascii=False),
            _rating(rating),
            (comment or "").strip()[:MAX_COMMENT_CHARS],
            source,
        )
        with self._lock, self._connect() as con:
            cur = con.execute(
                "INSERT INTO feedback (created_at, question, answer, citations, rating, comment, source)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            return int(cur.lastrowid)

    def update(self, feedback_id: int, rating: str | None = None, comment: str | None = None) -> bool:
        """Change the rating and/or the comment of an existing row."""
        sets, params = [], []
        if rating is not None:
            sets.append("rating = ?")
            params.append(_rating(rating))
        if comment is not None:
            sets.append("comment = ?")
            params.append(comment.strip()[:MAX_COMMENT_CHARS])
        if not sets:
            return False
        with self._lock, self._connect() as con:
            cur = con.execute(f"UPDATE feedback SET {', '.join(sets)} WHERE id = ?", (*params, int(feedback_id)))
            return cur.rowcount > 0

    def delete(self, feedback_id: int) -> bool:
        with self._lock, self._connect() as con:
            return con.execute("DELETE FROM feedback WHERE id = ?", (int(feedback_id),)).rowcount > 0

    def get(self, feedback_id: int) -> dict[str, Any] | None:
        with self._connect() as con:
            row = con.execute("SELECT * FROM feedback WHERE id = ?", (int(feedback_id),)).fetchone()
        return self._row(row) if row else None

    def list(self, limit: int | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM feedback ORDER BY id"
        with self._connect() as con:
            rows = con.execute(sql + (" LIMIT ?" if limit else ""), ((int(limit),) if limit else ())).fetchall()
        return [self._row(r) for r in rows]

    def count(self) -> int:
        with self._connect() as con:
            return int(con.execute("SELECT COUNT(*) FROM feedback").fetchone()[0])

    def export_csv(self, path: str | Path) -> int:
        """Write every row to CSV (UTF-8 with BOM so spreadsheet programs show Vietnamese); returns rows written."""
        path = Path(path)
        if path.parent and not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            rows = con.execute(f"SELECT {', '.join(EXPORT_COLUMNS)} FROM feedback ORDER BY id").fetchall()
        with open(path, "w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f)
            w.writerow(EXPORT_COLUMNS)
            for r in rows:
                w.writerow([r[c] for c in EXPORT_COLUMNS])
        return len(rows)

    @staticmethod
    def _row(row: sqlite3.Row) -> dict[str, Any]:
        d = dict(row)
        try:
            d["citations"] = json.loads(d.get("citations") or "[]")
        except ValueError:
            pass
        return d
