"""Progress of the embedding phase, from the embedder to whoever shows it (CLI bar, web app).

An embedder reports through a callback given to ``embed_passages_np(texts, progress=...)``
or, when none is given, through the callback set for the current context with
:func:`reporting` (a ``contextvars`` variable, so concurrent requests never see each other's
sink and the index store needs no change)::

    with reporting(meter):
        ingest_paths(store, files, settings)

Each call of ``embed_passages_np`` emits :class:`EmbeddingProgress` events: first with
``done == reused`` (vectors found in the cache), then after every batch, last with
``finished=True``. :class:`IngestMeter` sums the events of several calls (one ingest may
embed in several calls) and renders them: a tqdm bar on a terminal, log lines otherwise.
"""

from __future__ import annotations

import contextvars
import logging
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, TextIO

log = logging.getLogger("htx.index.progress")


@dataclass(frozen=True)
class EmbeddingProgress:
    """One embedding call so far: ``done`` passages of ``total`` have vectors (``reused`` from the cache)."""

    done: int
    total: int
    reused: int = 0
    finished: bool = False


ProgressCallback = Callable[[EmbeddingProgress], None]

_SINK: contextvars.ContextVar[ProgressCallback | None] = contextvars.ContextVar("htx_embedding_progress", default=None)


@contextmanager
def reporting(callback: ProgressCallback | None) -> Iterator[None]:
    """Send the embedding progress of this context (thread / task) to ``callback``."""
    token = _SINK.set(callback)
    try:
        yield
    finally:
        _SINK.reset(token)


def current(explicit: ProgressCallback | None = None) -> ProgressCallback | None:
    """The callback an embedder should call: the one it was given, else the context's."""
    return explicit if explicit is not None else _SINK.get()


def emit(callback: ProgressCallback | None, event: EmbeddingProgress) -> None:
    """Call ``callback`` without letting a display problem break the indexing."""
    if callback is None:
        return
    try:
        callback(event)
    except Exception:  # noqa: BLE001 - progress is advisory
        log.exception("progress callback failed")


@dataclass
class EmbeddingTotals:
    """What an ingest embedded, summed over its embedding calls."""

    passages: int = 0
    reused: int = 0
    embed_s: float = 0.0

    @property
    def new(self) -> int:
        return self.passages - self.reused


def _duration_vi(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} giây"
    minutes, s = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} phút {s:02d} giây"
    hours, m = divmod(minutes, 60)
    return f"{hours} giờ {m:02d} phút"


class IngestMeter:
    """A progress callback that sums calls and shows chunks/s and time left.

    ``mode``: "bar" (tqdm on ``stream``), "log" (a line every ``log_every_s``), "none";
    "auto" picks "bar" when ``stream`` is a terminal, else "log". ``on_update(done_new,
    total_new)`` is also called on every event (the web app feeds ``gr.Progress`` with it).
    """

    def __init__(self, mode: str = "auto", stream: TextIO | None = None, log_every_s: float = 10.0,
                 on_update: Callable[[int, int], None] | None = None):
        self.stream = stream or sys.stderr
        if mode == "auto":
            mode = "bar" if getattr(self.stream, "isatty", lambda: False)() else "log"
        self.mode = mode
        self.log_every_s = log_every_s
        self.on_update = on_update
        self.totals = EmbeddingTotals()
        self._current = EmbeddingProgress(0, 0)
        self._call_started = 0.0
        self._started: float | None = None
        self._last_log = 0.0
        self._bar = None

    # the callback
    def __call__(self, event: EmbeddingProgress) -> None:
        now = time.perf_counter()
        if self._started is None:
            self._started = now
        if self._current.finished or self._current.total == 0 or event.done < self._current.done:
            self._call_started = now  # a new embedding call
        self._current = event
        if event.finished:
            self.totals.passages += event.total
            self.totals.reused += event.reused
            self.totals.embed_s += now - self._call_started
            self._current = EmbeddingProgress(0, 0, finished=True)
        self._show(now, event)

    # what is shown counts only the passages that need the model (cached ones cost nothing)
    def new_done_total(self) -> tuple[int, int]:
        cur = self._current
        done = self.totals.new + max(0, cur.done - cur.reused)
        total = self.totals.new + max(0, cur.total - cur.reused)
        return done, total

    def _show(self, now: float, event: EmbeddingProgress) -> None:
        done, total = self.new_done_total()
        if self.on_update:
            self.on_update(done, total)
        if self.mode == "bar":
            if self._bar is None:
                from tqdm import tqdm

                self._bar = tqdm(total=total, desc="Tính vectơ", unit="đoạn", file=self.stream,
                                 dynamic_ncols=True, leave=True)
            if self._bar.total != total:
                self._bar.total = total
            self._bar.update(done - self._bar.n)
        elif self.mode == "log":
            if event.finished or now - self._last_log >= self.log_every_s:
                self._last_log = now
                self.stream.write(self.line(now) + "\n")
                self.stream.flush()

    def line(self, now: float | None = None) -> str:
        """'Tính vectơ: 320/3075 đoạn mới (12,3 đoạn/giây, còn khoảng 3 phút 44 giây)'."""
        now = time.perf_counter() if now is None else now
        done, total = self.new_done_total()
        elapsed = now - (self._started or now)
        rate = done / elapsed if elapsed > 0 and done else 0.0
        text = f"Tính vectơ: {done}/{total} đoạn mới"
        if rate > 0:
            left = (total - done) / rate
            text += f" ({rate:.1f} đoạn/giây".replace(".", ",") + f", còn khoảng {_duration_vi(left)})"
        return text

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def duration_vi(seconds: float) -> str:
    """A short Vietnamese duration ('3 phút 05 giây') for summaries."""
    return _duration_vi(seconds)
