"""The feedback database: SQLite by default, a real PostgreSQL server (started on loopback by
the ``postgres_url`` fixture) when HTX_DATABASE_URL is set; versioned schema migrations."""

from __future__ import annotations

import csv
import sqlite3
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from assistant.interfaces.feedback import MIGRATIONS, FeedbackDatabaseError, FeedbackStore, migrate

CITES = [{"n": 1, "chunk_id": "kh-01#c3", "doc_title": "Kế hoạch phát triển HTX"}]

# The table exactly as the SQLite-only store (before versioned migrations) created it.
OLD_SCHEMA = """
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


@pytest.fixture()
def pg_database(postgres_url):
    """A fresh database on the session's PostgreSQL server (tests do not see each other's rows)."""
    name = f"fb_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"),
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as con:
        con.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield postgres_url.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as con:
        con.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _versions(store: FeedbackStore) -> list[int]:
    with store.engine.connect() as con:
        return list(con.execute(sa.text("SELECT version FROM schema_version ORDER BY version")).scalars())


def test_two_replicas_write_into_one_postgres_table(pg_database, tmp_path):
    a = FeedbackStore(pg_database)  # as replica A would open it
    b = FeedbackStore(pg_database)  # as replica B would
    assert a.dialect == "postgresql"
    ida = a.add("Sở Công Thương phải làm gì?", "Hỗ trợ HTX tiếp cận quỹ khuyến công.", CITES, "up", source="web")
    idb = b.add("HTX vay vốn ở đâu?", "Ngân hàng Nhà nước chỉ đạo cho vay.", [], "👎", "  thiếu nguồn  ", source="api")
    assert ida != idb
    assert a.count() == b.count() == 2
    assert [r["question"] for r in b.list()] == ["Sở Công Thương phải làm gì?", "HTX vay vốn ở đâu?"]
    row = a.get(idb)
    assert row["rating"] == "down" and row["comment"] == "thiếu nguồn" and row["source"] == "api"
    assert b.get(ida)["citations"] == CITES
    # a change made through one replica is what the other reads
    assert b.update(ida, rating="down", comment="sai tỉnh")
    assert a.get(ida)["rating"] == "down" and a.get(ida)["comment"] == "sai tỉnh"
    assert a.delete(idb) and b.get(idb) is None and not b.delete(idb)
    with pytest.raises(ValueError):
        a.add("q", "a", [], "maybe")
    out = tmp_path / "fb.csv"
    assert b.export_csv(out) == 1
    with open(out, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["question"] == "Sở Công Thương phải làm gì?" and rows[0]["comment"] == "sai tỉnh"
    a.close()
    b.close()


def test_migrations_run_once_and_are_idempotent(pg_database):
    first = FeedbackStore(pg_database)
    assert _versions(first) == [m.version for m in MIGRATIONS]
    assert first.schema_version() == MIGRATIONS[-1].version
    first.add("q", "a", [], "up")
    # a second start (another replica, a restart) applies nothing and keeps the rows
    assert migrate(first.engine) == []
    second = FeedbackStore(pg_database)
    assert _versions(second) == [m.version for m in MIGRATIONS]
    assert second.count() == 1
    with second.engine.connect() as con:
        indexes = set(con.execute(sa.text("SELECT indexname FROM pg_indexes WHERE tablename = 'feedback'")).scalars())
    assert "ix_feedback_created_at" in indexes
    first.close()
    second.close()


def test_old_sqlite_file_is_migrated_and_readable(tmp_path):
    path = tmp_path / "feedback.sqlite"
    with sqlite3.connect(path) as con:  # written by the SQLite-only store, no schema_version table
        con.executescript(OLD_SCHEMA)
        con.execute(
            "INSERT INTO feedback (created_at, question, answer, citations, rating, comment, source)"
            " VALUES ('2026-05-01T08:00:00+00:00', 'Câu hỏi cũ?', 'Trả lời cũ.', ?, 'up', 'tốt', 'web')",
            ('[{"n": 1, "chunk_id": "kh-01#c3"}]',),
        )
    store = FeedbackStore(path)
    assert store.dialect == "sqlite" and store.count() == 1
    old = store.list()[0]
    assert old["question"] == "Câu hỏi cũ?" and old["citations"] == [{"n": 1, "chunk_id": "kh-01#c3"}]
    assert _versions(store) == [m.version for m in MIGRATIONS]
    new_id = store.add("Câu hỏi mới?", "Trả lời mới.", CITES, "down")
    assert new_id == old["id"] + 1
    store.close()
    # the same file through a sqlite:/// URL, as HTX_DATABASE_URL may name it
    again = FeedbackStore(f"sqlite:///{path}")
    assert again.count() == 2 and migrate(again.engine) == []
    with sqlite3.connect(path) as con:
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "ix_feedback_created_at" in names
    again.close()


def test_unreachable_or_bad_database_url_gives_vietnamese_message(postgres_url):
    from evals.loadtest import free_port

    with pytest.raises(FeedbackDatabaseError) as e:
        FeedbackStore(f"postgresql://postgres@127.0.0.1:{free_port()}/postgres")
    assert "Không kết nối được" in e.value.message_vi
    with pytest.raises(FeedbackDatabaseError) as e:
        FeedbackStore("mysql://u@h/db")
    assert "HTX_DATABASE_URL" in e.value.message_vi


def test_cli_feedback_export_reads_postgres(pg_database, tmp_path, monkeypatch):
    from assistant.interfaces.cli import main

    FeedbackStore(pg_database).add("Câu hỏi qua API?", "Trả lời.", CITES, "up", source="api")
    monkeypatch.setenv("HTX_DATABASE_URL", pg_database)
    out = tmp_path / "export.csv"
    assert main(["feedback", "export", "--data-dir", str(tmp_path / "data"), "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8-sig")
    assert "Câu hỏi qua API?" in text
    assert not Path(tmp_path / "data" / "feedback.sqlite").exists()  # nothing written locally
