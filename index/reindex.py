"""``htx reindex --model …``: re-embed every stored chunk with another embedding model.

Embedded store: opening the store with the new embedder rebuilds its collection from the
stored chunks (as a model change always did on one machine).

Chroma server (replicas): the shared collection is never dropped. Under the write lease, every
chunk of the shared registry is embedded into a new collection ``<collection>_g<N>``; the commit
records it (and the model) as the active one and bumps the generation. Replicas running the new
model follow it; replicas still running the old model keep answering from the old collection
read-only and refuse writes until restarted with the new model. The old collection stays until
an administrator deletes it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from index.embeddings import Embedder
from index.shared_state import SharedState
from index.vector_store import VectorStore, VectorStoreError

log = logging.getLogger("htx.index.reindex")

BATCH = 64  # chunks per embed + upsert step (the lease is renewed in the background)


@dataclass(frozen=True)
class ReindexReport:
    mode: str  # "embedded" | "server"
    documents: int
    chunks: int
    old_embedder: str | None
    new_embedder: str
    old_collection: str | None
    new_collection: str
    generation: int
    seconds: float


def reindex(index_dir: str | Path, embedder: Embedder, chroma_host: str | None = None, chroma_port: int = 8000,
            collection: str = "htx_chunks", lease_s: float = 60.0, lease_wait_s: float = 120.0,
            on_progress: Callable[[int, int], None] | None = None) -> ReindexReport:
    t0 = time.perf_counter()
    if not chroma_host:
        from index.store import IndexStore

        store = IndexStore(index_dir, embedder, collection=collection)
        return ReindexReport("embedded", len(store.documents()), len(store), None, embedder.name, collection,
                             collection, store.generation, time.perf_counter() - t0)

    from index.store import _content_hash

    vectors = VectorStore(index_dir, embedder, chroma_host, chroma_port, collection)
    shared = SharedState(vectors.client, collection, lease_s=lease_s, lease_wait_s=lease_wait_s)
    with shared.lease():
        status, docs = shared.read_consistent()
        generation = status.generation + 1
        target = f"{collection}_g{generation}"
        vectors.open_collection(target)
        if not vectors.matches:  # a leftover of another model under this name: never reuse or drop it
            raise VectorStoreError(
                f"collection {target} exists with embedder {vectors.recorded_embedder()[0]}",
                f"Bộ sưu tập '{target}' đã có và được lập bằng mô hình khác; hãy xóa nó trên máy chủ Chroma "
                "rồi chạy lại.")
        chunks = [c for d in docs for c in d.chunks]
        log.info("re-embedding %d chunk(s) of %d document(s) with %s into %s", len(chunks), len(docs), embedder.name,
                 target)
        for i in range(0, len(chunks), BATCH):
            part = chunks[i:i + BATCH]
            vecs = embedder.embed_passages_np([c.context_text() for c in part])
            vectors.upsert(part, vecs, [_content_hash(c) for c in part])
            if on_progress:
                on_progress(min(i + BATCH, len(chunks)), len(chunks))
        shared.commit(generation, collection=target, embedder=embedder.name, dim=int(embedder.dim))
    return ReindexReport("server", len(docs), len(chunks), status.embedder, embedder.name,
                         status.collection or collection, target, generation, time.perf_counter() - t0)


__all__ = ["reindex", "ReindexReport"]
