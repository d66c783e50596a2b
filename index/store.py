"""IndexStore: documents in, hybrid search out; the one object the rest of the system uses.

On disk (``index_dir``):
- ``docs/<doc_id>.json``: a document's metadata and chunks (the source of truth for text);
- ``registry.json``: the document list (metadata, chunk ids, file) and the embedder name;
- ``chroma/``: the embedded Chroma collection (or a Chroma server when ``chroma_host`` is set);
- ``embedding_cache.sqlite``: vectors by content hash (owned by the embedder, see runtime).
All JSON files are written to a temporary file and moved into place with ``os.replace``.

On a Chroma server (``chroma_host`` set; replicas behind a load balancer) nothing of the index
lives on local disk: chunks, the document registry and a generation counter are in Chroma
(:mod:`index.shared_state`), so a replica starts from an empty data dir. It builds its snapshot
from Chroma at start and follows the shared generation (a background thread polls every
``sync_interval_s`` and rebuilds, then swaps, when it moved). Writes through any replica are
serialised by the shared write lease and bump the generation. A replica never deletes or
re-upserts vectors at start, and never drops a shared collection filled by another embedder:
it refuses to start (``htx reindex --model`` re-embeds into a new collection).

Concurrency: writers (add/remove) take an ``RLock``; readers take no lock on the index. They
read the current :class:`~index.retriever.Snapshot` reference once and use that object to the
end; a writer prepares everything (vectors in Chroma, files, a new snapshot) and then swaps
the reference. Dense results whose ids are not in the reader's snapshot are ignored, so a
reader never sees a half-built index; vectors the old snapshot still needs are deleted only
after the searches running on it have finished (a per-snapshot reader count). If anything
fails before the swap, the previous snapshot, registry and files stay exactly as they were,
and vectors written for new ids are deleted.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
import json
import logging
import os
import re
import tempfile
import threading
import weakref
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from index.embeddings import Embedder
from index.retriever import HybridRetriever, Snapshot
from index.types import DocumentInfo, Hit, QueryAnalysis, SearchFilters
from index.shared_state import SharedDocument, SharedState, SharedStatus
from index.vector_store import DEFAULT_EF_SEARCH, VectorStore, VectorStoreError
from ingest.types import Chunk, Document, DocumentMeta

log = logging.getLogger("htx.index.store")

REGISTRY_VERSION = 1
DRAIN_TIMEOUT_S = 30.0  # how long a writer waits for searches on the previous snapshot
_SAFE_ID = re.compile(r"^[\w.\-]{1,120}$")


def _atomic_write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _doc_filename(doc_id: str) -> str:
    if _SAFE_ID.match(doc_id) and not doc_id.startswith("."):
        return f"{doc_id}.json"
    return f"doc_{hashlib.sha1(doc_id.encode('utf-8')).hexdigest()[:16]}.json"


def _meta_key(meta: DocumentMeta) -> dict[str, Any]:
    d = meta.to_dict()
    d.pop("source_path", None)  # the same file ingested from another folder is the same document
    return d


def model_mismatch_error(collection: str, recorded: str | None, mine: str) -> VectorStoreError:
    return VectorStoreError(
        f"shared collection {collection} was built with embedder {recorded}, this replica uses {mine}",
        f"Chỉ mục dùng chung '{collection}' được lập bằng mô hình nhúng '{recorded}', còn bản sao này dùng "
        f"'{mine}'. Bản sao không ghi và không trả lời bằng mô hình khác, và không xóa chỉ mục chung. Hãy chạy "
        "với đúng mô hình (HTX_EMBEDDING, HTX_EMBEDDING_MODEL), hoặc quản trị viên chạy "
        "`htx reindex --model <mô hình>` để nhúng lại toàn bộ văn bản.",
    )


class IndexStore:
    def __init__(self, index_dir: str | Path, embedder: Embedder, chroma_host: str | None = None,
                 chroma_port: int = 8000, collection: str = "htx_chunks", fusion: str = "weighted",
                 lexical_weight: float = 0.6, candidates: int = 30, sync_interval_s: float = 3.0,
                 lease_s: float = 60.0, lease_wait_s: float = 120.0, replica_id: str | None = None,
                 ef_search: int = DEFAULT_EF_SEARCH):
        if fusion not in ("weighted", "rrf"):
            raise ValueError(f"unknown fusion {fusion!r} (expected 'weighted' or 'rrf')")
        self.index_dir = Path(index_dir)
        self.docs_dir = self.index_dir / "docs"
        self.registry_path = self.index_dir / "registry.json"
        self.embedder = embedder
        self._lock = threading.RLock()
        self.index_dir.mkdir(parents=True, exist_ok=True)
        self._vectors = VectorStore(self.index_dir, embedder, chroma_host, chroma_port, collection,
                                    ef_search=ef_search)
        self._retriever = HybridRetriever(self._vectors, embedder, fusion, lexical_weight, candidates)
        self._shared: SharedState | None = None
        self._generation = 0  # server mode: the shared generation the snapshot was built from
        self._read_only: str | None = None  # server mode: why this replica may not write (Vietnamese)
        self._stop = threading.Event()
        if self._vectors.remote:
            self._shared = SharedState(self._vectors.client, collection, holder=replica_id, lease_s=lease_s,
                                       lease_wait_s=lease_wait_s)
            self._registry = {"version": REGISTRY_VERSION, "embedder": embedder.name, "documents": {}}
            self._snapshot = self._open_shared()
            if sync_interval_s and sync_interval_s > 0:
                self._follow(float(sync_interval_s))
            return
        registry, docs = self._load()
        snap = Snapshot.build([c for _, chunks in docs for c in chunks], {m.doc_id: m for m, _ in docs})
        self._sync_vectors(snap, registry)
        if registry.get("embedder") != embedder.name:
            registry["embedder"] = embedder.name
            self._write_registry(registry)
        self._registry = registry
        self._snapshot = snap

    # --- loading -----------------------------------------------------------------------

    def _load(self) -> tuple[dict[str, Any], list[tuple[DocumentMeta, list[Chunk]]]]:
        registry: dict[str, Any] = {"version": REGISTRY_VERSION, "embedder": None, "documents": {}}
        if self.registry_path.exists():
            try:
                registry = json.loads(self.registry_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                log.error("registry %s unreadable (%s): starting from the document files", self.registry_path, e)
                registry = {"version": REGISTRY_VERSION, "embedder": None, "documents": {}}
        registry.setdefault("documents", {})
        docs: list[tuple[DocumentMeta, list[Chunk]]] = []
        for doc_id, entry in list(registry["documents"].items()):
            path = self.docs_dir / entry.get("file", _doc_filename(doc_id))
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                meta = DocumentMeta.from_dict(data["meta"])
                chunks = [Chunk.from_dict(c) for c in data["chunks"]]
            except (OSError, ValueError, KeyError, TypeError) as e:
                log.error("document %s: cannot read %s (%s); leaving it out", doc_id, path, e)
                del registry["documents"][doc_id]
                continue
            docs.append((meta, chunks))
        return registry, docs

    def _sync_vectors(self, snap: Snapshot, registry: dict[str, Any]) -> None:
        """Make Chroma hold exactly the snapshot's vectors (model change, new server, crash)."""
        if not snap.chunks:
            return
        model_changed = registry.get("embedder") not in (None, self.embedder.name)
        if model_changed and not self._vectors.rebuilt:
            log.warning("embedder changed from %s to %s: rebuilding the vector collection",
                        registry.get("embedder"), self.embedder.name)
            self._vectors.reset()
        have = self._vectors.content_hashes()
        todo = [c for c in snap.chunks if have.get(c.chunk_id) != _content_hash(c)]
        if todo:
            log.info("embedding %d chunk(s) missing from the vector store", len(todo))
            vecs = self.embedder.embed_passages_np([c.context_text() for c in todo])
            self._vectors.upsert(todo, vecs, [_content_hash(c) for c in todo])
        extra = set(have) - set(snap.position)
        if extra and not self._vectors.remote:
            # Leftovers of an interrupted write. On a shared server they may belong to another
            # writer mid-update, so only the embedded store is cleaned.
            self._vectors.delete(sorted(extra))

    def _write_registry(self, registry: dict[str, Any]) -> None:
        registry = dict(registry)
        registry["version"] = REGISTRY_VERSION
        registry["updated"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        _atomic_write_json(self.registry_path, registry)

    # --- server mode: the shared index --------------------------------------------------

    def _open_shared(self) -> Snapshot:
        assert self._shared is not None
        if not self._shared.status().initialised:
            self._initialise_shared()
        status, docs = self._shared.read_consistent()
        if status.embedder and status.embedder != self.embedder.name:
            raise model_mismatch_error(status.collection or self._vectors.collection_name, status.embedder,
                                       self.embedder.name)
        if status.collection:
            self._vectors.open_collection(status.collection)
        if not self._vectors.matches:
            raise model_mismatch_error(self._vectors.collection_name, self._vectors.recorded_embedder()[0],
                                       self.embedder.name)
        snap = self._build_shared(status, docs)
        log.info("shared index %s on %s: generation %d, %d document(s), %d chunks", self._vectors.collection_name,
                 self._vectors.location, status.generation, len(snap.metas), len(snap.chunks))
        return snap

    def _initialise_shared(self) -> None:
        """First start on a server: record the collection and embedder; a local embedded index in
        ``index_dir`` (moving to a server) is uploaded, its vectors from the embedding cache."""
        assert self._shared is not None
        if not self._vectors.matches:
            raise model_mismatch_error(self._vectors.collection_name, self._vectors.recorded_embedder()[0],
                                       self.embedder.name)
        with self._shared.lease():
            if self._shared.status().initialised:
                return
            _, local = self._load() if self.registry_path.exists() else ({}, [])
            chunks = [c for _, cs in local for c in cs]
            if chunks:
                have = self._vectors.content_hashes()
                todo = [c for c in chunks if have.get(c.chunk_id) != _content_hash(c)]
                if todo:
                    log.info("uploading the local index: embedding %d chunk(s)", len(todo))
                    vecs = self.embedder.embed_passages_np([c.context_text() for c in todo])
                    self._vectors.upsert(todo, vecs, [_content_hash(c) for c in todo])
            self._shared.commit(1 if local else 0, put=[(m, cs) for m, cs in local],
                                collection=self._vectors.collection_name, embedder=self.embedder.name,
                                dim=int(self.embedder.dim))
            log.info("shared index %s initialised with %d local document(s)", self._vectors.collection_name, len(local))

    def _build_shared(self, status: SharedStatus, docs: list[SharedDocument]) -> Snapshot:
        snap = Snapshot.build([c for d in docs for c in d.chunks], {d.meta.doc_id: d.meta for d in docs},
                              version=status.generation)
        self._generation = status.generation
        return snap

    @staticmethod
    def _by_document(chunks: list[Chunk]) -> list[Chunk]:
        """Server mode keeps chunks grouped by doc_id in id order, as every replica rebuilds them."""
        return sorted(chunks, key=lambda c: c.doc_id)

    def _follow(self, interval_s: float) -> None:
        ref = weakref.ref(self)
        stop = self._stop

        def loop() -> None:
            failing = False
            while not stop.wait(interval_s):
                store = ref()
                if store is None:
                    return
                try:
                    store.refresh()
                    if failing:
                        log.info("shared index reachable again")
                    failing = False
                except Exception as e:  # noqa: BLE001 - keep serving the last snapshot
                    if not failing:
                        log.warning("cannot follow the shared index (serving generation %d): %s", store._generation, e)
                    failing = True
                del store

        threading.Thread(target=loop, name="htx-index-sync", daemon=True).start()

    def refresh(self) -> bool:
        """Server mode: catch up with the shared generation. True when a new snapshot was swapped in."""
        if self._shared is None or self._read_only:
            return False
        if self._shared.status().generation <= self._generation:
            return False
        with self._lock:
            return self._refresh_locked()

    def _refresh_locked(self) -> bool:
        assert self._shared is not None
        if self._shared.status().generation <= self._generation:
            return False
        status, docs = self._shared.read_consistent()
        if status.generation <= self._generation:
            return False
        if status.embedder and status.embedder != self.embedder.name:
            if self._read_only is None:
                err = model_mismatch_error(status.collection or "?", status.embedder, self.embedder.name)
                self._read_only = err.message_vi
                log.error("%s; serving generation %d read-only from %s", err, self._generation,
                          self._vectors.collection_name)
            return False
        if status.collection and status.collection != self._vectors.collection_name:
            log.info("shared index re-embedded into %s", status.collection)
            self._vectors.open_collection(status.collection)
        old = self._snapshot
        self._snapshot = self._build_shared(status, docs)
        log.info("following the shared index: generation %d (%d document(s), %d chunks; was %d)",
                 status.generation, len(self._snapshot.metas), len(self._snapshot.chunks), old.version)
        return True

    def _check_writable(self) -> None:
        if self._read_only:
            raise VectorStoreError("replica is read-only: the shared index uses another embedder", self._read_only)

    def _add_shared(self, docs: list[Document]) -> list[bool]:
        assert self._shared is not None
        self._check_writable()
        with self._shared.lease():
            self._refresh_locked()  # write on top of the latest committed generation
            self._check_writable()
            snap = self._snapshot
            plan = self._plan_add(snap, docs)
            if not plan.todo:
                return plan.changed
            changed, todo, new_chunks = plan.changed, plan.todo, plan.new_chunks
            vecs, hashes, fresh = plan.vecs, plan.hashes, plan.fresh
            gen = self._generation + 1
            committing = False
            try:
                self._vectors.upsert([new_chunks[i] for i in fresh], vecs[fresh] if fresh else vecs[:0],
                                     [hashes[i] for i in fresh])
                chunks = self._by_document(self._replace_chunks(snap, {d.meta.doc_id: list(d.chunks) for d in todo}))
                metas = {**snap.metas, **{d.meta.doc_id: d.meta for d in todo}}
                new_snap = Snapshot.build(chunks, metas, version=gen)
                committing = True
                self._shared.commit(gen, put=[(d.meta, list(d.chunks)) for d in todo])
            except BaseException:
                if committing:
                    log.error("commit of generation %d failed midway; its new vectors are kept", gen)
                else:
                    try:
                        if fresh:
                            self._vectors.delete([new_chunks[i].chunk_id for i in fresh])
                    except Exception as e:  # noqa: BLE001
                        log.error("rollback of %d new vectors failed (they stay invisible): %s", len(fresh), e)
                raise
            self._snapshot = new_snap
            self._generation = gen
            # clean-up under the lease: no other writer can be reusing these ids meanwhile
            stale = self._clean_up(snap, plan)
            log.info("indexed %d document(s) in shared generation %d: %d chunks (%d new, %d removed)", len(todo), gen,
                     len(new_chunks), len(fresh), len(stale))
            return changed

    def _remove_shared(self, doc_id: str) -> bool:
        assert self._shared is not None
        self._check_writable()
        with self._shared.lease():
            self._refresh_locked()
            self._check_writable()
            snap = self._snapshot
            if doc_id not in snap.metas:
                return False
            ids = [c.chunk_id for c in snap.chunks if c.doc_id == doc_id]
            gen = self._generation + 1
            new_snap = Snapshot.build([c for c in snap.chunks if c.doc_id != doc_id],
                                      {k: v for k, v in snap.metas.items() if k != doc_id}, version=gen)
            self._shared.commit(gen, delete=[doc_id])
            self._snapshot = new_snap
            self._generation = gen
            self._drain(snap)
            try:
                if ids:
                    self._vectors.delete(ids)
            except Exception as e:  # noqa: BLE001
                log.warning("document %s removed, but vector clean-up failed: %s", doc_id, e)
            log.info("document %s removed in shared generation %d (%d chunks)", doc_id, gen, len(ids))
            return True

    @property
    def generation(self) -> int:
        """The index generation served: shared (server mode) or local snapshot version."""
        return self._generation if self._shared is not None else self._snapshot.version

    @property
    def shared(self) -> SharedState | None:
        return self._shared

    @property
    def read_only(self) -> str | None:
        """Why this replica refuses writes (Vietnamese), or None."""
        return self._read_only

    def close(self) -> None:
        """Stop following the shared index (the background thread ends within one interval)."""
        self._stop.set()

    # --- writes ------------------------------------------------------------------------

    def add_document(self, doc: Document) -> bool:
        """Index ``doc`` (replacing an earlier version). Returns False when nothing changed."""
        return self.add_documents([doc])[0]

    def add_documents(self, docs: list[Document]) -> list[bool]:
        """Index several documents in one step (one snapshot rebuild): all or nothing.

        Returns, per document, whether it changed the index."""
        docs = list(docs)
        seen: set[str] = set()
        for doc in docs:
            doc_id = doc.meta.doc_id
            ids = [c.chunk_id for c in doc.chunks]
            if doc_id in seen:
                raise ValueError(f"document {doc_id} given twice")
            seen.add(doc_id)
            if len(set(ids)) != len(ids):
                raise ValueError(f"document {doc_id}: duplicate chunk ids")
            if any(c.doc_id != doc_id for c in doc.chunks):
                raise ValueError(f"document {doc_id}: chunk with another doc_id")
        with self._lock:
            if self._shared is not None:
                return self._add_shared(docs)
            snap = self._snapshot
            # 1. vectors (cached by content): nothing is written yet, a failure here changes nothing
            plan = self._plan_add(snap, docs)
            if not plan.todo:
                return plan.changed
            changed, todo, new_chunks = plan.changed, plan.todo, plan.new_chunks
            vecs, hashes, fresh = plan.vecs, plan.hashes, plan.fresh
            files = {d.meta.doc_id: self.docs_dir / _doc_filename(d.meta.doc_id) for d in todo}
            old_bytes = {k: (f.read_bytes() if f.exists() else None) for k, f in files.items()}
            registry = json.loads(json.dumps(self._registry))
            try:
                # 2. new ids into Chroma (invisible to readers: not live in their snapshot)
                self._vectors.upsert([new_chunks[i] for i in fresh], vecs[fresh] if fresh else vecs[:0],
                                     [hashes[i] for i in fresh])
                # 3. the new snapshot
                chunks = self._replace_chunks(snap, {d.meta.doc_id: list(d.chunks) for d in todo})
                metas = {**snap.metas, **{d.meta.doc_id: d.meta for d in todo}}
                new_snap = Snapshot.build(chunks, metas, version=snap.version + 1)
                # 4. files: documents, then registry (the commit point on disk)
                for d in todo:
                    doc_id = d.meta.doc_id
                    _atomic_write_json(files[doc_id], {"meta": d.meta.to_dict(), "chunks": [c.to_dict() for c in d.chunks]})
                    registry["documents"][doc_id] = {
                        "meta": d.meta.to_dict(), "chunk_ids": [c.chunk_id for c in d.chunks],
                        "file": files[doc_id].name, "chunk_count": len(d.chunks),
                    }
                registry["embedder"] = self.embedder.name
                self._write_registry(registry)
            except BaseException:
                self._rollback(files, old_bytes, [new_chunks[i].chunk_id for i in fresh])
                raise
            # 5. swap: from here on readers see the new documents
            self._snapshot = new_snap
            self._registry = registry
            # 6. housekeeping; stale ids are already invisible, so failures here only cost space.
            #    Searches still running on the old snapshot may ask Chroma for them: let them end.
            stale = self._clean_up(snap, plan)
            log.info("indexed %d document(s): %d chunks (%d new, %d removed)", len(todo), len(new_chunks),
                     len(fresh), len(stale))
            return changed

    def _plan_add(self, snap: Snapshot, docs: list[Document]) -> "_AddPlan":
        """Which documents changed, their chunks, and their vectors (embedded here: nothing is
        written yet, so a failure changes nothing)."""
        old_by_doc: dict[str, list[Chunk]] = {}
        for c in snap.chunks:
            old_by_doc.setdefault(c.doc_id, []).append(c)
        changed = [not self._unchanged(doc, snap.metas.get(doc.meta.doc_id), old_by_doc.get(doc.meta.doc_id, []))
                   for doc in docs]
        todo = [d for d, ch in zip(docs, changed) if ch]
        if not todo:
            for d in docs:
                log.info("document %s unchanged (%d chunks)", d.meta.doc_id, len(d.chunks))
            return _AddPlan(changed, [], [], {}, None, [], [], [])
        new_chunks = [c for d in todo for c in d.chunks]
        old_by_id = {c.chunk_id: c for d in todo for c in old_by_doc.get(d.meta.doc_id, [])}
        vecs = self.embedder.embed_passages_np([c.context_text() for c in new_chunks])
        hashes = [_content_hash(c) for c in new_chunks]
        fresh = [i for i, c in enumerate(new_chunks) if c.chunk_id not in old_by_id]
        changed_kept = [i for i, c in enumerate(new_chunks)
                        if c.chunk_id in old_by_id and _content_hash(old_by_id[c.chunk_id]) != hashes[i]]
        return _AddPlan(changed, todo, new_chunks, old_by_id, vecs, hashes, fresh, changed_kept)

    def _clean_up(self, old: Snapshot, plan: "_AddPlan") -> set[str]:
        """After the swap: re-upsert vectors of kept ids whose content changed and delete the
        ids no document has any more. Readers of the old snapshot finish first; a failure here
        only costs space (the new snapshot never returns those ids). Returns the stale ids."""
        self._drain(old)
        stale = set(plan.old_by_id) - {c.chunk_id for c in plan.new_chunks}
        try:
            if plan.changed_kept:
                kept = plan.changed_kept
                self._vectors.upsert([plan.new_chunks[i] for i in kept], plan.vecs[kept],
                                     [plan.hashes[i] for i in kept])
            if stale:
                self._vectors.delete(sorted(stale))
        except Exception as e:  # noqa: BLE001
            log.warning("documents indexed, but vector clean-up failed: %s", e)
        return stale

    @staticmethod
    def _unchanged(doc: Document, old_meta: DocumentMeta | None, old_chunks: list[Chunk]) -> bool:
        """Same chunk ids, same chunks, same metadata (the file's location aside)."""
        return old_meta is not None and [c.chunk_id for c in old_chunks] == [c.chunk_id for c in doc.chunks] \
            and _meta_key(old_meta) == _meta_key(doc.meta) \
            and [c.to_dict() for c in old_chunks] == [c.to_dict() for c in doc.chunks]

    @staticmethod
    def _drain(old: Snapshot) -> None:
        if not old.readers.wait_idle(DRAIN_TIMEOUT_S):
            log.warning("%d search(es) still running on the previous index after %.0f s; deleting old vectors anyway",
                        old.readers.active, DRAIN_TIMEOUT_S)

    def _rollback(self, files: dict[str, Path], old_bytes: dict[str, bytes | None], new_ids: list[str]) -> None:
        try:
            for doc_id, doc_file in files.items():
                before = old_bytes.get(doc_id)
                if before is None:
                    if doc_file.exists():
                        doc_file.unlink()
                elif not doc_file.exists() or doc_file.read_bytes() != before:
                    tmp = doc_file.with_suffix(".rollback.tmp")
                    tmp.write_bytes(before)
                    os.replace(tmp, doc_file)
            # the in-memory registry was not touched; put the old one back on disk
            self._write_registry(self._registry)
        except Exception as e:  # noqa: BLE001
            log.error("rollback of files failed: %s", e)
        try:
            if new_ids:
                self._vectors.delete(new_ids)
        except Exception as e:  # noqa: BLE001
            log.error("rollback of %d new vectors failed (they stay invisible): %s", len(new_ids), e)

    @staticmethod
    def _replace_chunks(snap: Snapshot, replacements: dict[str, list[Chunk]]) -> list[Chunk]:
        """The snapshot's chunks with whole documents replaced in place (new ones appended)."""
        out: list[Chunk] = []
        placed: set[str] = set()
        for c in snap.chunks:
            if c.doc_id in replacements:
                if c.doc_id not in placed:
                    out.extend(replacements[c.doc_id])
                    placed.add(c.doc_id)
                continue
            out.append(c)
        for doc_id, chunks in replacements.items():
            if doc_id not in placed:
                out.extend(chunks)
        return out

    def remove_document(self, doc_id: str) -> bool:
        with self._lock:
            if self._shared is not None:
                return self._remove_shared(doc_id)
            snap = self._snapshot
            if doc_id not in self._registry["documents"]:
                return False
            entry = self._registry["documents"][doc_id]
            doc_file = self.docs_dir / entry.get("file", _doc_filename(doc_id))
            ids = [c.chunk_id for c in snap.chunks if c.doc_id == doc_id]
            new_snap = Snapshot.build([c for c in snap.chunks if c.doc_id != doc_id],
                                      {k: v for k, v in snap.metas.items() if k != doc_id}, version=snap.version + 1)
            registry = json.loads(json.dumps(self._registry))
            del registry["documents"][doc_id]
            self._write_registry(registry)
            self._snapshot = new_snap
            self._registry = registry
            self._drain(snap)
            try:
                doc_file.unlink(missing_ok=True)
                if ids:
                    self._vectors.delete(ids)
            except Exception as e:  # noqa: BLE001
                log.warning("document %s removed, but clean-up failed: %s", doc_id, e)
            log.info("document %s removed (%d chunks)", doc_id, len(ids))
            return True

    # --- reads (lock-free: one snapshot per call) ----------------------------------------

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    def documents(self) -> list[DocumentInfo]:
        snap = self._snapshot
        counts: dict[str, int] = {}
        for c in snap.chunks:
            counts[c.doc_id] = counts.get(c.doc_id, 0) + 1
        return [DocumentInfo(meta=snap.metas[d], chunk_count=counts.get(d, 0)) for d in sorted(snap.metas)]

    def get_chunk(self, chunk_id: str) -> Chunk | None:
        snap = self._snapshot
        i = snap.position.get(chunk_id)
        return snap.chunks[i] if i is not None else None

    def chunks(self, doc_id: str | None = None) -> list[Chunk]:
        snap = self._snapshot
        if doc_id is None:
            return list(snap.chunks)
        return [c for c in snap.chunks if c.doc_id == doc_id]

    def analyze(self, question: str) -> QueryAnalysis:
        return self._snapshot.analyzer.analyze(question)

    def _enter(self) -> Snapshot:
        """Take the current snapshot and register as its reader (see ``_drain``)."""
        while True:
            snap = self._snapshot
            snap.readers.enter()
            if snap is self._snapshot:
                return snap
            snap.readers.exit()  # swapped meanwhile: take the new one

    def search(self, question: str, k: int = 5, filters: SearchFilters | None = None,
               analysis: QueryAnalysis | None = None) -> list[Hit]:
        snap = self._enter()
        try:
            if analysis is None:
                analysis = snap.analyzer.analyze(question)
            return self._retriever.search(snap, analysis, k=k, filters=filters)
        finally:
            snap.readers.exit()

    # --- configuration (used by evaluation to compare fusions) ------------------------

    @property
    def retriever(self) -> HybridRetriever:
        return self._retriever

    def __len__(self) -> int:
        return len(self._snapshot.chunks)


@dataclass
class _AddPlan:
    """What an add of documents will write (see ``IndexStore._plan_add``)."""

    changed: list[bool]
    todo: list[Document]
    new_chunks: list[Chunk]
    old_by_id: dict[str, Chunk]
    vecs: Any
    hashes: list[str]
    fresh: list[int]
    changed_kept: list[int]


def _content_hash(chunk: Chunk) -> str:
    return hashlib.sha1(chunk.context_text().encode("utf-8")).hexdigest()[:16]


__all__ = ["IndexStore"]
