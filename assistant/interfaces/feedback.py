"""User feedback (👍/👎 and an optional comment) on answers, in SQLite or PostgreSQL.

One row per rated answer: the question, the answer text, its citations (JSON), the rating
("up" or "down"), an optional comment and a UTC timestamp. ``htx feedback export`` writes
the rows to CSV for the people who improve the documents and the assistant.

Where the rows live: ``<data_dir>/feedback.sqlite`` by default (one office machine); the
database named by ``HTX_DATABASE_URL`` (``postgresql://user:pass@host/db`` or
``sqlite:///path``) when several replicas must share one table. Access goes through
SQLAlchemy Core; the schema is versioned (table ``schema_version``, steps in
:data:`MIGRATIONS`, applied in order, each once, at start).
"""

from __future__ import annotations

import csv
import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger("htx.feedback")

RATINGS = ("up", "down")
MAX_COMMENT_CHARS = 2000

EXPORT_COLUMNS = ("id", "created_at", "rating", "question", "answer", "citations", "comment", "source")

_meta = sa.MetaData()

# The table as the first schema version defined it (the same columns the SQLite-only store had).
FEEDBACK = sa.Table(
    "feedback",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("answer", sa.Text, nullable=False),
    sa.Column("citations", sa.Text, nullable=False, server_default="[]"),
    sa.Column("rating", sa.Text, sa.CheckConstraint("rating IN ('up', 'down')", name="feedback_rating"),
              nullable=False),
    sa.Column("comment", sa.Text, nullable=False, server_default=""),
    sa.Column("source", sa.Text, nullable=False, server_default="web"),
    sqlite_autoincrement=True,
)

SCHEMA_VERSION = sa.Table(
    "schema_version",
    _meta,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("applied_at", sa.Text, nullable=False),
)


class FeedbackDatabaseError(RuntimeError):
    """The feedback database cannot be reached or used. ``message_vi`` is for users."""

    def __init__(self, message_en: str, message_vi: str):
        super().__init__(message_en)
        self.message_vi = message_vi


# --- migrations -------------------------------------------------------------------------


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Connection], None]


def _m1_feedback_table(con: Connection) -> None:
    # checkfirst: a SQLite file written before versioning already has this table, unchanged.
    FEEDBACK.create(con, checkfirst=True)


def _m2_created_at_index(con: Connection) -> None:
    # Plain DDL (both dialects know IF NOT EXISTS): an Index object would attach itself to FEEDBACK.
    con.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_feedback_created_at ON feedback (created_at)"))


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "feedback table", _m1_feedback_table),
    Migration(2, "index on feedback.created_at (export by period)", _m2_created_at_index),
)


def _applied_versions(con: Connection) -> set[int]:
    return {int(v) for v in con.execute(sa.select(SCHEMA_VERSION.c.version)).scalars()}


def migrate(engine: Engine) -> list[int]:
    """Apply the missing steps in order; returns the versions applied now (empty when up to date).

    On PostgreSQL an advisory lock serialises replicas that start together; on SQLite the
    write lock of the file does. Each step and its ``schema_version`` row commit together.
    """
    applied_now: list[int] = []
    with engine.connect().execution_options(sqlite_immediate=True) as con, con.begin():
        if con.dialect.name == "postgresql":
            con.execute(sa.text("SELECT pg_advisory_xact_lock(4815162342)"))
        SCHEMA_VERSION.create(con, checkfirst=True)
        done = _applied_versions(con)
        for step in MIGRATIONS:
            if step.version in done:
                continue
            step.apply(con)
            con.execute(SCHEMA_VERSION.insert().values(
                version=step.version, description=step.description, applied_at=_now()))
            applied_now.append(step.version)
    if applied_now:
        log.info("feedback database migrated to version %d (applied %s)", MIGRATIONS[-1].version, applied_now)
    return applied_now


# --- helpers ----------------------------------------------------------------------------


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _rating(value: str) -> str:
    v = str(value).strip().lower()
    aliases = {"like": "up", "dislike": "down", "+1": "up", "-1": "down", "👍": "up", "👎": "down"}
    v = aliases.get(v, v)
    if v not in RATINGS:
        raise ValueError(f"rating must be one of {RATINGS}, got {value!r}")
    return v


def database_url(target: str | Path) -> str:
    """A SQLAlchemy URL from a file path or a ``postgresql://`` / ``sqlite:///`` URL."""
    text = str(target)
    if "://" not in text:
        return f"sqlite:///{Path(text).expanduser().resolve()}"
    scheme, rest = text.split("://", 1)
    scheme = scheme.lower()
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        return f"postgresql+psycopg://{rest}"
    if scheme == "sqlite":
        return text
    raise FeedbackDatabaseError(
        f"unsupported database URL scheme {scheme!r} (expected postgresql:// or sqlite:///)",
        f"Địa chỉ cơ sở dữ liệu không hợp lệ ('{scheme}://'). HTX_DATABASE_URL phải có dạng "
        "postgresql://người_dùng:mật_khẩu@máy_chủ:5432/tên_csdl hoặc sqlite:///đường/dẫn/tệp.sqlite.",
    )


def _redacted(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only for log lines
        return url.split("@")[-1]


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 10})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_con, _record):  # noqa: ANN001 - DBAPI objects
            dbapi_con.isolation_level = None  # SQLAlchemy issues BEGIN itself (see below)
            dbapi_con.execute("PRAGMA journal_mode=WAL")

        @sa.event.listens_for(engine, "begin")
        def _sqlite_begin(con):  # noqa: ANN001
            # IMMEDIATE takes the write lock up front: two processes migrating one file serialise.
            con.exec_driver_sql("BEGIN IMMEDIATE" if con.get_execution_options().get("sqlite_immediate") else "BEGIN")

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5,
                            connect_args={"connect_timeout": 10})


class FeedbackStore:
    """Thread-safe feedback table over one SQLAlchemy engine (SQLite file or PostgreSQL)."""

    def __init__(self, target: str | Path):
        self.url = database_url(target)
        self.path = Path(self.url.split(":///", 1)[1]) if self.url.startswith("sqlite:///") else None
        self._lock = threading.Lock()
        self.engine = _make_engine(self.url)
        try:
            migrate(self.engine)
        except sa.exc.OperationalError as e:
            self.engine.dispose()
            raise FeedbackDatabaseError(
                f"cannot open the feedback database {_redacted(self.url)}: {e.orig or e}",
                "Không kết nối được cơ sở dữ liệu phản hồi. Hãy kiểm tra HTX_DATABASE_URL "
                "(máy chủ, cổng, tên người dùng, mật khẩu) và máy chủ PostgreSQL đang chạy.",
            ) from e

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def schema_version(self) -> int:
        with self.engine.connect() as con:
            return max(_applied_versions(con), default=0)

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
        values = dict(
            created_at=_now(),
            question=question or "",
            answer=answer or "",
            citations=json.dumps(citations or [], ensure_ascii=False),
            rating=_rating(rating),
            comment=(comment or "").strip()[:MAX_COMMENT_CHARS],
            source=source,
        )
        with self._lock, self.engine.begin() as con:
            result = con.execute(FEEDBACK.insert().values(**values))
            return int(result.inserted_primary_key[0])

    def update(self, feedback_id: int, rating: str | None = None, comment: str | None = None) -> bool:
        """Change the rating and/or the comment of an existing row."""
        values: dict[str, Any] = {}
        if rating is not None:
            values["rating"] = _rating(rating)
        if comment is not None:
            values["comment"] = comment.strip()[:MAX_COMMENT_CHARS]
        if not values:
            return False
        with self._lock, self.engine.begin() as con:
            result = con.execute(FEEDBACK.update().where(FEEDBACK.c.id == int(feedback_id)).values(**values))
            return result.rowcount > 0

    def delete(self, feedback_id: int) -> bool:
        with self._lock, self.engine.begin() as con:
            return con.execute(FEEDBACK.delete().where(FEEDBACK.c.id == int(feedback_id))).rowcount > 0

    def get(self, feedback_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as con:
            row = con.execute(sa.select(FEEDBACK).where(FEEDBACK.c.id == int(feedback_id))).mappings().first()
        return self._row(row) if row else None

    def list(self, limit: int | None = None) -> list[dict[str, Any]]:
        query = sa.select(FEEDBACK).order_by(FEEDBACK.c.id)
        if limit:
            query = query.limit(int(limit))
        with self.engine.connect() as con:
            rows = con.execute(query).mappings().all()
        return [self._row(r) for r in rows]

    def count(self) -> int:
        with self.engine.connect() as con:
            return int(con.execute(sa.select(sa.func.count()).select_from(FEEDBACK)).scalar_one())

    def export_csv(self, path: str | Path) -> int:
        """Write every row to CSV (UTF-8 with BOM so spreadsheet programs show Vietnamese); returns rows written."""
        path = Path(path)
        if path.parent and not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        query = sa.select(*[FEEDBACK.c[c] for c in EXPORT_COLUMNS]).order_by(FEEDBACK.c.id)
        with self.engine.connect() as con:
            rows = con.execute(query).mappings().all()
        with open(path, "w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f)
            w.writerow(EXPORT_COLUMNS)
            for r in rows:
                w.writerow([r[c] for c in EXPORT_COLUMNS])
        return len(rows)

    def close(self) -> None:
        self.engine.dispose()

    @staticmethod
    def _row(row) -> dict[str, Any]:  # noqa: ANN001 - a SQLAlchemy RowMapping
        d = dict(row)
        try:
            d["citations"] = json.loads(d.get("citations") or "[]")
        except ValueError:
            pass
        return d
