"""One file -> one Document: checks, decoding, cleanup, metadata, structure, tables, chunks.

Every failure is an IngestError with a code, an English message for logs and a Vietnamese
one for users; nothing is half-ingested (the caller indexes only a complete Document).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from ingest import errors
from ingest.chunker import build_chunks
from ingest.cleanup import prepare_lines
from ingest.loaders import SUPPORTED, PdfLimits, load_text
from ingest.manifest import apply_manifest
from ingest.metadata import extract_metadata
from ingest.structure import parse
from ingest.tables import extract_tables
from ingest.types import Document, IngestError

log = logging.getLogger("htx.ingest")

DEFAULT_MAX_BYTES = 50 * 1024 * 1024


def ingest_file(path: Path, manifest: dict | None = None, max_bytes: int = DEFAULT_MAX_BYTES,
                pdf_limits: PdfLimits | None = None) -> Document:
    path = Path(path)
    if not path.is_file():
        raise errors.not_found(str(path))
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise errors.unsupported_type(str(path), suffix)
    size = path.stat().st_size  # checked before reading anything
    if size > max_bytes:
        raise errors.too_large(str(path), size, max_bytes)
    if size == 0:
        raise errors.empty_file(str(path))
    try:
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
        if len(data) > max_bytes:  # grew while we looked
            raise errors.too_large(str(path), len(data), max_bytes)
        if suffix in (".txt", ".md") and not data.strip():
            raise errors.empty_file(str(path))
        return parse_document(path, data, manifest, pdf_limits)
    except IngestError:
        raise
    except Exception as e:  # any unexpected failure: refuse the file, keep the reason
        log.exception("unexpected error while ingesting %s", path)
        raise errors.parse_error(str(path), f"{type(e).__name__}: {e}") from e


def parse_document(path: Path, data: bytes, manifest: dict | None = None,
                   pdf_limits: PdfLimits | None = None) -> Document:
    """Parse already-read bytes (size checks done by the caller)."""
    text = load_text(path, data, pdf_limits)
    lines = prepare_lines(text)
    if not any(not l.blank for l in lines):
        raise errors.no_text(str(path))
    doc_id = path.stem
    meta = extract_metadata(lines, doc_id, str(path), hashlib.sha256(data).hexdigest())
    meta = apply_manifest(meta, manifest)
    tree = parse(extract_tables(lines))
    chunks = build_chunks(tree, meta)
    if not chunks:
        raise errors.no_text(str(path), "no chunks produced")
    full_text = "\n".join(l.text for l in lines).strip()
    log.info("parsed %s: %d chunks, province=%s", path.name, len(chunks), meta.province)
    return Document(meta=meta, text=full_text, chunks=chunks)
