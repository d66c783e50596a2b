"""The dense side of the index: one Chroma collection, embedded or on a server.

``PersistentClient(index_dir/"chroma")`` by default; ``HttpClient(host, port)`` when a Chroma
server is configured. Everything after client creation is the same code. We always hand
Chroma our own embedding function and precomputed vectors (its default function downloads
a model). The collection records which embedder filled it. Embedded, a model change drops
and rebuilds it; on a server (shared by replicas) it is never dropped: ``matches`` tells the
caller, which refuses to use it (an admin re-embeds with ``htx reindex``).

Search breadth: Chroma's HNSW index is approximate, and at its default breadth (``ef_search``
100) it missed a passage of cosine 0.868 from a top 46 whose last was 0.856, in 6 of 10 runs of
the same query on the same 3,403-vector collection, so answers changed from run to run. Every
collection is opened with ``ef_search`` at least ``DEFAULT_EF_SEARCH`` (a query-time setting:
an existing collection is raised in place, nothing is re-embedded), which returned the exact
top results in every run.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from index.embeddings import Embedder
from ingest.normalize import fold
from ingest.types import Chunk

log = logging.getLogger("htx.index.vector_store")

DEFAULT_EF_SEARCH = 500  # HNSW candidates explored per query (Chroma's own default: 100)


def search_breadth(col) -> int | None:
    """The collection's HNSW ``ef_search`` as Chroma reports it (None when it reports none)."""
    conf = getattr(col, "configuration", None) or {}
    hnsw = conf.get("hnsw") if isinstance(conf, dict) else None
    value = (hnsw or {}).get("ef_search") if isinstance(hnsw, dict) else None
    return int(value) if value is not None else None


class VectorStoreError(RuntimeError):
    """The vector store cannot be reached or used. ``message_vi`` is for users."""

    def __init__(self, message_en: str, message_vi: str):
        super().__init__(message_en)
        self.message_vi = message_vi


def agency_flag(agency: str) -> str:
    """Metadata key of the boolean flag for one agency (Chroma metadata values are scalars)."""
    return "ag_" + re.sub(r"[^a-z0-9]+", "_", fold(agency)).strip("_")


def chunk_metadata(chunk: Chunk) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "doc_id": chunk.doc_id,
        "province": chunk.province or "",
        "agencies": "|".join(chunk.agencies),
        "kind": chunk.kind,
        "order": int(chunk.order),
        "section": chunk.section[:300],
    }
    for a in chunk.agencies:
        meta[agency_flag(a)] = True
    return meta


def build_where(provinces: Sequence[str] = (), doc_ids: Sequence[str] = (), agencies: Sequence[str] = ()) -> dict | None:
    """Chroma ``where`` clause for the given metadata filters (None when unfiltered)."""
    clauses: list[dict[str, Any]] = []
    if provinces:
        clauses.append({"province": {"$in": list(provinces)}} if len(provinces) > 1 else {"province": provinces[0]})
    if doc_ids:
        clauses.append({"doc_id": {"$in": list(doc_ids)}} if len(doc_ids) > 1 else {"doc_id": doc_ids[0]})
    if agencies:
        flags = [{agency_flag(a): True} for a in agencies]
        clauses.append(flags[0] if len(flags) == 1 else {"$or": flags})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


@dataclass(frozen=True)
class DenseHit:
    chunk_id: str
    similarity: float  # cosine similarity


class VectorStore:
    def __init__(self, index_dir: str | Path, embedder: Embedder, chroma_host: str | None = None,
                 chroma_port: int = 8000, collection: str = "htx_chunks", drop_on_mismatch: bool | None = None,
                 ef_search: int = DEFAULT_EF_SEARCH):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        if int(ef_search) < 1:
            raise ValueError(f"ef_search must be at least 1, got {ef_search!r}")
        self.ef_search = int(ef_search)
        self.embedder = embedder
        self.collection_name = collection
        self.remote = bool(chroma_host)
        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        try:
            if chroma_host:
                self.client = chromadb.HttpClient(host=chroma_host, port=int(chroma_port), settings=chroma_settings)
                self.client.heartbeat()
                self.location = f"http://{chroma_host}:{chroma_port}"
            else:
                path = Path(index_dir) / "chroma"
                path.mkdir(parents=True, exist_ok=True)
                self.client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
                self.location = str(path)
        except Exception as e:  # noqa: BLE001
            where = f"{chroma_host}:{chroma_port}" if chroma_host else str(Path(index_dir) / "chroma")
            raise VectorStoreError(
                f"cannot open Chroma at {where}: {e}",
                f"Không kết nối được kho vector Chroma tại {where}. Kiểm tra CHROMA_HOST/CHROMA_PORT "
                "hoặc quyền ghi thư mục chỉ mục.",
            ) from e
        self._ef = embedder.as_chroma_function()
        # Serialises collection drops/recreation against other calls (model change, reset).
        self._lock = threading.RLock()
        self.rebuilt = False  # True when the collection was (re)created for a different embedder
        # A shared server collection is never dropped for a model change (see ``matches``).
        self.drop_on_mismatch = (not self.remote) if drop_on_mismatch is None else bool(drop_on_mismatch)
        self.collection = self._open()

    # --- collection lifecycle ----------------------------------------------------------

    def _metadata(self) -> dict[str, Any]:
        return {"embedder": self.embedder.name, "dim": int(self.embedder.dim), "hnsw:space": "cosine"}

    def _create(self):
        return self.client.get_or_create_collection(
            name=self.collection_name, embedding_function=self._ef, metadata=self._metadata())

    def recorded_embedder(self, col=None) -> tuple[str | None, int]:
        meta = (col if col is not None else self.collection).metadata or {}
        return meta.get("embedder"), int(meta.get("dim") or 0)

    @property
    def matches(self) -> bool:
        """Whether the open collection was filled by this store's embedder."""
        return self.recorded_embedder() == (self.embedder.name, int(self.embedder.dim))

    def open_collection(self, name: str) -> None:
        """Switch to another collection on the same client (the one the shared state names)."""
        with self._lock:
            if name != self.collection_name:
                self.collection_name = name
                self.collection = self._open()

    def _open(self):
        return self._with_search_breadth(self._open_checked())

    def _with_search_breadth(self, col):
        """The collection, searching at least ``ef_search`` candidates: raised in place when it
        was created with less (a query-time setting; the vectors are not touched)."""
        have = search_breadth(col)
        if have is not None and have >= self.ef_search:
            return col
        try:
            col.modify(configuration={"hnsw": {"ef_search": self.ef_search}})
        except Exception as e:  # noqa: BLE001 - Chroma re-reads its configuration after the change
            log.debug("modify(ef_search) reported %s", e)
        col = self.client.get_collection(self.collection_name, embedding_function=self._ef)
        if (search_breadth(col) or 0) < self.ef_search:
            log.warning("could not raise ef_search of %s to %d (now %s): dense search stays approximate",
                        self.collection_name, self.ef_search, search_breadth(col))
        return col

    def _open_checked(self):
        col = self._create()
        if not self.drop_on_mismatch:
            return col
        meta = col.metadata or {}
        if meta.get("embedder") != self.embedder.name or int(meta.get("dim") or 0) != int(self.embedder.dim):
            had = col.count()
            if had:
                log.warning("collection %s was built with %s, now %s: dropping %d vectors",
                            self.collection_name, meta.get("embedder"), self.embedder.name, had)
            self.client.delete_collection(self.collection_name)
            col = self._create()
            self.rebuilt = True
        return col

    def reset(self) -> None:
        """Drop every vector (used when rebuilding from the stored chunks; embedded store only)."""
        if not self.drop_on_mismatch:
            raise RuntimeError(f"refusing to drop the shared collection {self.collection_name}")
        with self._lock:
            self.client.delete_collection(self.collection_name)
            self.collection = self._with_search_breadth(self._create())

    # --- writes ------------------------------------------------------------------------

    def _batch(self) -> int:
        try:
            return max(1, min(2000, int(self.client.get_max_batch_size())))
        except Exception:  # noqa: BLE001
            return 1000

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray, hashes: Sequence[str] | None = None) -> None:
        """Write vectors with their metadata; ``hashes`` (of the embedded text) let a later
        sync find vectors that are out of date."""
        if not chunks:
            return
        step = self._batch()
        for i in range(0, len(chunks), step):
            part = chunks[i:i + step]
            metas = [chunk_metadata(c) for c in part]
            if hashes is not None:
                for m, h in zip(metas, hashes[i:i + step]):
                    m["h"] = h
            self.collection.upsert(
                ids=[c.chunk_id for c in part],
                embeddings=np.asarray(vectors[i:i + step], dtype=np.float32),
                metadatas=metas,
            )

    def delete(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        step = self._batch()
        for i in range(0, len(ids), step):
            self.collection.delete(ids=ids[i:i + step])

    # --- reads -------------------------------------------------------------------------

    def count(self) -> int:
        return int(self.collection.count())

    def ids(self) -> set[str]:
        return set(self.content_hashes())

    def content_hashes(self) -> dict[str, str]:
        """chunk id -> hash of the text its vector was computed from ("" when unknown)."""
        out: dict[str, str] = {}
        total = self.count()
        step = 5000
        for offset in range(0, total, step):
            res = self.collection.get(include=["metadatas"], limit=step, offset=offset)
            for i, m in zip(res["ids"], res["metadatas"] or [None] * len(res["ids"])):
                out[i] = str((m or {}).get("h", ""))
        return out

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors of the given ids (those that exist)."""
        if not ids:
            return {}
        res = self.collection.get(ids=list(ids), include=["embeddings"])
        embs = res.get("embeddings")
        if embs is None:
            return {}
        return {i: np.asarray(e, dtype=np.float32) for i, e in zip(res["ids"], embs)}

    def query(self, vector: np.ndarray, n: int, where: dict | None = None) -> list[DenseHit]:
        if n <= 0:
            return []
        res = self.collection.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)],
            n_results=n,
            where=where,
            include=["distances"],
        )
        ids = res["ids"][0] if res.get("ids") else []
        dists = res["distances"][0] if res.get("distances") else []
        return [DenseHit(i, float(1.0 - d)) for i, d in zip(ids, dists)]
