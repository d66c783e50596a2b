"""Builds the running system from Settings: embedder, index store, answer service.

This is the only place that turns configuration into components; the CLI, the API,
the evaluation runners and the tests all go through it, so models load once per process.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from assistant.settings import Settings, apply_thread_settings
from ingest.types import Document, IngestError

log = logging.getLogger("htx")

SUPPORTED_EXTENSIONS = (".txt", ".md", ".docx", ".pdf")


@dataclass
class IngestResult:
    path: str
    doc_id: str | None
    ok: bool
    chunks: int = 0
    changed: bool = False  # False when the file was already indexed unchanged
    error_code: str | None = None
    message_vi: str | None = None
    message_en: str | None = None


def build_embedder(settings: Settings):
    apply_thread_settings(settings.threads)
    from index.embeddings import make_embedder

    return make_embedder(
        backend=settings.embedding_backend,
        model_path=settings.embedding_model,
        threads=settings.threads,
        cache_path=settings.index_dir / "embedding_cache.sqlite",
        base_url=settings.embedding_base_url,
        api_key=settings.embedding_api_key,
        batch_size=settings.embedding_batch,
        timeout_s=settings.embedding_timeout_s,
        query_prefix=settings.embedding_query_prefix,
        passage_prefix=settings.embedding_passage_prefix,
    )


def build_store(settings: Settings, embedder=None):
    apply_thread_settings(settings.threads)
    from index.store import IndexStore
    from ingest.vocab import use_data_dir

    use_data_dir(settings.data_dir)  # <data_dir>/vocab/*.json extend the packaged vocabulary

    return IndexStore(
        index_dir=settings.index_dir,
        embedder=embedder or build_embedder(settings),
        chroma_host=settings.chroma_host,
        chroma_port=settings.chroma_port,
        collection=settings.collection,
        fusion=settings.fusion,
        lexical_weight=settings.lexical_weight,
        candidates=settings.candidates,
        ef_search=settings.ef_search,
        sync_interval_s=settings.sync_interval_s,
        lease_s=settings.lease_s,
        lease_wait_s=settings.lease_wait_s,
    )


def build_answerer(settings: Settings, store=None, weights=None):
    from assistant.answering.chain import AnswerService

    return AnswerService(store=store or build_store(settings), settings=settings, weights=weights)


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files to ingest: directories are walked for supported extensions, sorted by name."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SUPPORTED_EXTENSIONS))
        else:
            files.append(p)
    return files


def ingest_paths(
    store,
    paths: Iterable[str | Path],
    settings: Settings,
    on_progress: Callable[[Path], None] | None = None,
) -> list[IngestResult]:
    """Parse every file, then index the parsed documents in one all-or-nothing step.

    A file that fails to parse is reported and skipped; the others are indexed. If the
    indexing step itself fails, nothing changes in the index and every file is reported.
    Two files with the same name stem (the same doc_id) in one batch: the later one is refused.
    """
    from ingest.manifest import load_manifest
    from ingest.loaders import PdfLimits
    from ingest.pipeline import ingest_file

    manifest = load_manifest(settings.manifest_path)
    results: list[IngestResult] = []
    parsed: list[tuple[IngestResult, Document]] = []
    for path in expand_paths(paths):
        try:
            doc: Document = ingest_file(path, manifest=manifest, max_bytes=settings.max_file_bytes,
                                         pdf_limits=PdfLimits(settings.pdf_max_pages, settings.pdf_timeout_s))
            if any(d.meta.doc_id == doc.meta.doc_id for _, d in parsed):
                raise IngestError(
                    "duplicate_doc_id",
                    f"two files with document id {doc.meta.doc_id} in one batch",
                    f"Có hai tệp cùng tên '{doc.meta.doc_id}' trong một lần nạp; hãy đổi tên một tệp.",
                    str(path),
                )
            result = IngestResult(str(path), doc.meta.doc_id, True, len(doc.chunks))
            parsed.append((result, doc))
        except IngestError as e:
            log.warning("ingest failed for %s: %s (%s)", path, e, e.code)
            result = IngestResult(str(path), None, False, error_code=e.code, message_vi=e.message_vi, message_en=str(e))
        results.append(result)
        if on_progress:
            on_progress(path)
    if parsed:
        try:
            changed = store.add_documents([d for _, d in parsed])
        except Exception as e:  # the store guarantees the index is unchanged
            log.exception("indexing failed; index left unchanged")
            for result, _ in parsed:
                result.ok = False
                result.error_code = "index_error"
                result.message_en = f"indexing failed: {e}"
                result.message_vi = getattr(e, "message_vi", None) or (
                    "Lỗi khi lập chỉ mục; chỉ mục cũ được giữ nguyên. Chi tiết có trong nhật ký.")
        else:
            for (result, _), ch in zip(parsed, changed):
                result.changed = bool(ch)
    return results
