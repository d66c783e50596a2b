"""One writer per embedded index: an exclusive ``fcntl.flock`` on ``<index_dir>/.lock``.

Writers of the embedded (local-folder) index take it: ``htx ingest``, ``htx remove`` for the
duration of the command, ``htx serve`` for its lifetime (uploads go through it). A second
writer is refused at once with :class:`IndexLockedError` (a Vietnamese message naming the
holder), before it opens the index, so it can never interleave writes. The kernel drops
the lock when the holder exits, even on a crash: there is no stale lock to clean up.

In server mode (``CHROMA_HOST`` set) replicas serialise writes with a lease in Chroma
instead, so no file lock is taken (see :func:`index_writer`).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

log = logging.getLogger("htx.index.lock")

LOCK_NAME = ".lock"


class IndexLockedError(RuntimeError):
    """Another process writes this index. ``message_vi`` is for users, str(e) for logs."""

    def __init__(self, message_en: str, message_vi: str, holder: dict | None = None):
        super().__init__(message_en)
        self.message_vi = message_vi
        self.holder = holder or {}


_ROLES_VI = {"serve": "dịch vụ htx serve", "ingest": "lệnh htx ingest", "remove": "lệnh htx remove",
             "reindex": "lệnh htx reindex"}


def _locked_message(index_dir: Path, holder: dict) -> str:
    who = _ROLES_VI.get(str(holder.get("role")), "một tiến trình khác")
    pid = f", mã tiến trình {holder['pid']}" if holder.get("pid") else ""
    since = f", từ {holder['since']}" if holder.get("since") else ""
    hint = ("Hãy nạp hoặc xóa văn bản qua ứng dụng web (thẻ «Văn bản») hoặc API (POST /v1/documents, "
            "DELETE /v1/documents/<mã>) của dịch vụ đang chạy, hoặc dừng dịch vụ rồi chạy lại lệnh."
            if holder.get("role") == "serve" else "Hãy chờ lệnh đó chạy xong rồi thử lại.")
    return (f"Chỉ mục tại '{index_dir}' đang được {who} ghi{pid}{since}. Chỉ một tiến trình được ghi vào "
            f"chỉ mục cùng lúc (để chỉ mục không bị hỏng). {hint} Muốn nhiều máy chủ cùng ghi, hãy dùng "
            "máy chủ Chroma (CHROMA_HOST).")


class WriterLock:
    """The exclusive writer lock of one index folder. Not re-entrant: take it once per process."""

    def __init__(self, index_dir: str | Path, role: str):
        self.index_dir = Path(index_dir)
        self.path = self.index_dir / LOCK_NAME
        self.role = role
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def holder(self) -> dict:
        """Who holds (or last held) the lock, as written in the file; {} when unknown."""
        try:
            return json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return {}

    def acquire(self) -> "WriterLock":
        if self._fd is not None:
            return self
        self.index_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = self.holder()
            raise IndexLockedError(
                f"index {self.index_dir} is locked by another writer ({holder or 'unknown'}); refused {self.role}",
                _locked_message(self.index_dir, holder),
                holder,
            ) from None
        info = {"pid": os.getpid(), "role": self.role,
                "since": datetime.now(timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M:%S"),
                "t": time.time()}
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(info).encode("utf-8"))
        self._fd = fd
        log.info("took the writer lock %s (%s)", self.path, self.role)
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "WriterLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


@contextmanager
def index_writer(index_dir: str | Path, role: str, server_mode: bool = False) -> Iterator[WriterLock | None]:
    """Hold the writer lock of ``index_dir`` for the block; nothing in server mode (the lease)."""
    if server_mode:
        yield None
        return
    with WriterLock(index_dir, role) as lock:
        yield lock
