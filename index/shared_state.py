"""What replicas share on a Chroma server besides the vectors: the document registry, the
generation counter and the write lease.

Two small collections next to the vector collection ``<collection>``:
- ``<collection>_registry``: one record per document; its ``document`` is the JSON of the
  document's ``DocumentMeta`` and every chunk (``Chunk.to_dict()``), so a replica with an empty
  data dir can build its lexical index and snapshot from Chroma alone;
- ``<collection>_state``: the record ``generation`` (counter, active vector collection, the
  embedder that filled it) and the record ``lease`` (holder, expiry, phase).

Records carry a dummy one-dimensional embedding (Chroma requires one); nothing is ever
searched by vector in these collections.

Chroma has no compare-and-swap, so the lease is taken by check-after-write: write our holder id
when the lease is free or expired, wait a moment, read it back and proceed only if it is still
ours. The holder renews it while writing and checks it again right before committing (phase
``commit``); a crashed writer's lease expires after ``lease_s``. Expiry uses the writers' wall
clocks, so hosts must keep their clocks in sync (NTP).

A commit is: phase ``commit`` → registry records written/deleted → generation + 1. A reader
reads state, registry, state again and retries while a commit is in progress or the generation
moved, so a snapshot is always built from one committed generation.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from ingest.types import Chunk, DocumentMeta

log = logging.getLogger("htx.index.shared_state")

GENERATION_ID = "generation"
LEASE_ID = "lease"
_DUMMY = [1.0]
PAGE = 200  # registry records per read (each holds a whole document)


class SharedStateError(RuntimeError):
    """The shared index cannot be written or read consistently. ``message_vi`` is for users."""

    def __init__(self, message_en: str, message_vi: str):
        super().__init__(message_en)
        self.message_vi = message_vi


@dataclass(frozen=True)
class Lease:
    holder: str
    token: str
    expires: float
    phase: str  # "write" | "commit"

    def live(self, now: float | None = None) -> bool:
        return bool(self.holder) and self.expires > (time.time() if now is None else now)


@dataclass(frozen=True)
class SharedStatus:
    """The ``generation`` record (and the lease read with it, in one call)."""

    initialised: bool
    generation: int
    collection: str | None  # the vector collection replicas query
    embedder: str | None  # the embedder that filled it
    dim: int | None
    lease: Lease | None

    def committing(self, now: float | None = None) -> bool:
        return self.lease is not None and self.lease.phase == "commit" and self.lease.live(now)


@dataclass(frozen=True)
class SharedDocument:
    meta: DocumentMeta
    chunks: tuple[Chunk, ...]


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _busy_error(holder: str, waited: float) -> SharedStateError:
    return SharedStateError(
        f"write lease held by {holder} (waited {waited:.0f} s)",
        "Một bản sao khác đang cập nhật chỉ mục dùng chung; vui lòng thử lại sau ít phút.",
    )


def _lost_error(detail: str) -> SharedStateError:
    return SharedStateError(
        f"write lease lost before commit: {detail}",
        "Mất quyền ghi chỉ mục dùng chung (một bản sao khác đã ghi); thay đổi chưa được lưu, hãy thử lại.",
    )


class SharedState:
    def __init__(self, client, collection: str, holder: str | None = None, lease_s: float = 60.0,
                 lease_wait_s: float = 120.0, settle_s: float = 0.3):
        self.name = collection
        self.holder = holder or default_holder()
        self.lease_s = float(lease_s)
        self.lease_wait_s = float(lease_wait_s)
        self.settle_s = float(settle_s)
        self.registry = client.get_or_create_collection(f"{collection}_registry", embedding_function=None,
                                                        metadata={"htx": "registry", "of": collection})
        self.state = client.get_or_create_collection(f"{collection}_state", embedding_function=None,
                                                     metadata={"htx": "state", "of": collection})
        self._token: str | None = None
        self._phase = "write"
        self._lease_lock = threading.Lock()  # the renewer and the committer write the same record

    # --- reads ---------------------------------------------------------------------------

    def status(self) -> SharedStatus:
        res = self.state.get(ids=[GENERATION_ID, LEASE_ID], include=["metadatas"])
        recs = {i: (m or {}) for i, m in zip(res["ids"], res["metadatas"] or [])}
        g = recs.get(GENERATION_ID)
        lease = None
        if LEASE_ID in recs:
            m = recs[LEASE_ID]
            lease = Lease(str(m.get("holder") or ""), str(m.get("token") or ""), float(m.get("expires") or 0.0),
                          str(m.get("phase") or "write"))
        if g is None:
            return SharedStatus(False, 0, None, None, None, lease)
        return SharedStatus(True, int(g.get("generation") or 0), g.get("collection") or None, g.get("embedder") or None,
                            int(g["dim"]) if g.get("dim") is not None else None, lease)

    def document_ids(self) -> list[str]:
        return sorted(self.registry.get(include=[])["ids"])

    def documents(self) -> list[SharedDocument]:
        out: list[SharedDocument] = []
        total = int(self.registry.count())
        for offset in range(0, total + PAGE, PAGE):
            res = self.registry.get(include=["documents"], limit=PAGE, offset=offset)
            if not res["ids"]:
                break
            for doc_id, text in zip(res["ids"], res["documents"] or []):
                try:
                    data = json.loads(text or "")
                    out.append(SharedDocument(DocumentMeta.from_dict(data["meta"]),
                                              tuple(Chunk.from_dict(c) for c in data["chunks"])))
                except (ValueError, KeyError, TypeError) as e:
                    log.error("shared registry record %s unreadable (%s); leaving it out", doc_id, e)
        out.sort(key=lambda d: d.meta.doc_id)
        return out

    def read_consistent(self, attempts: int = 40, pause_s: float = 0.25) -> tuple[SharedStatus, list[SharedDocument]]:
        """The registry as of one committed generation (waits out a commit in progress)."""
        last: tuple[SharedStatus, list[SharedDocument]] | None = None
        for _ in range(max(1, attempts)):
            before = self.status()
            if before.committing():
                time.sleep(pause_s)
                continue
            docs = self.documents()
            after = self.status()
            last = (after, docs)
            if after.generation == before.generation and not after.committing():
                return after, docs
            time.sleep(pause_s)
        if last is None:
            raise SharedStateError("a commit on the shared index did not finish",
                                   "Chỉ mục dùng chung đang được ghi quá lâu; vui lòng thử lại sau.")
        log.warning("shared registry read while generations kept moving; using generation %d", last[0].generation)
        return last

    # --- the lease -------------------------------------------------------------------------

    def _write_lease(self, token: str, phase: str) -> None:
        self.state.upsert(ids=[LEASE_ID], embeddings=[_DUMMY], documents=[""], metadatas=[{
            "holder": self.holder, "token": token, "expires": time.time() + self.lease_s, "phase": phase}])

    def acquire(self) -> None:
        deadline = time.time() + self.lease_wait_s
        t0 = time.time()
        while True:
            cur = self.status().lease
            if cur is None or not cur.live() or cur.token == self._token:
                token = uuid.uuid4().hex
                self._write_lease(token, "write")
                time.sleep(self.settle_s)  # check after write: another writer may have written meanwhile
                now = self.status().lease
                if now is not None and now.token == token:
                    self._token = token
                    self._phase = "write"
                    return
                log.info("write lease taken by %s meanwhile; waiting", now.holder if now else "?")
                cur = now
            if time.time() > deadline:
                raise _busy_error(cur.holder if cur else "?", time.time() - t0)
            time.sleep(0.5)

    def _check(self) -> None:
        cur = self.status().lease
        if self._token is None or cur is None or cur.token != self._token:
            raise _lost_error(f"now held by {cur.holder if cur else 'nobody'}")
        if not cur.live():
            raise _lost_error("expired")

    def renew(self, phase: str | None = None) -> None:
        with self._lease_lock:
            self._check()
            if phase is not None:
                self._phase = phase
            self._write_lease(self._token or "", self._phase)

    def release(self) -> None:
        if self._token is None:
            return
        try:
            cur = self.status().lease
            if cur is not None and cur.token == self._token:
                self.state.upsert(ids=[LEASE_ID], embeddings=[_DUMMY], documents=[""], metadatas=[{
                    "holder": "", "token": "", "expires": 0.0, "phase": "write"}])
        finally:
            self._token = None

    @contextmanager
    def lease(self) -> Iterator["SharedState"]:
        """Hold the write lease for the block, renewed in the background every lease_s / 3."""
        self.acquire()
        stop = threading.Event()

        def renewer() -> None:
            while not stop.wait(self.lease_s / 3):
                try:
                    self.renew()
                except SharedStateError as e:
                    log.error("%s", e)
                    return
                except Exception as e:  # noqa: BLE001 - the commit check will fail if this persists
                    log.warning("lease renewal failed: %s", e)

        t = threading.Thread(target=renewer, name="htx-lease", daemon=True)
        t.start()
        try:
            yield self
        finally:
            stop.set()
            t.join(timeout=30)
            try:
                self.release()
            except Exception as e:  # noqa: BLE001 - it expires by itself
                log.warning("lease release failed (it expires in %.0f s): %s", self.lease_s, e)

    # --- commits (lease holder only) ----------------------------------------------------------

    def commit(self, generation: int, put: Sequence[tuple[DocumentMeta, Sequence[Chunk]]] = (),
               delete: Sequence[str] = (), collection: str | None = None, embedder: str | None = None,
               dim: int | None = None) -> int:
        """Write registry changes and set the generation to ``generation``. Returns it."""
        self.renew(phase="commit")  # raises when the lease is no longer ours
        try:
            if put:
                for i in range(0, len(put), PAGE):
                    part = put[i:i + PAGE]
                    self.registry.upsert(
                        ids=[m.doc_id for m, _ in part], embeddings=[_DUMMY] * len(part),
                        documents=[json.dumps({"meta": m.to_dict(), "chunks": [c.to_dict() for c in ch]},
                                              ensure_ascii=False) for m, ch in part],
                        metadatas=[{"doc_id": m.doc_id, "chunks": len(ch), "generation": generation} for m, ch in part])
            if delete:
                self.registry.delete(ids=list(delete))
            meta: dict[str, Any] = {"generation": int(generation), "updated": time.time(), "by": self.holder}
            for key, value in (("collection", collection), ("embedder", embedder), ("dim", dim)):
                if value is not None:
                    meta[key] = value
            prev = self.state.get(ids=[GENERATION_ID], include=["metadatas"])
            if prev["ids"]:
                meta = {**(prev["metadatas"][0] or {}), **meta}
            self.state.upsert(ids=[GENERATION_ID], embeddings=[_DUMMY], documents=[""], metadatas=[meta])
        finally:
            try:
                self.renew(phase="write")
            except Exception as e:  # noqa: BLE001 - expires by itself
                log.warning("lease phase reset failed: %s", e)
        return int(generation)


__all__ = ["SharedState", "SharedStateError", "SharedStatus", "SharedDocument", "Lease", "default_holder"]
