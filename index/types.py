"""Data that flows out of retrieval: filters, the analysed query and ranked hits."""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest.types import Chunk, DocumentMeta


@dataclass(frozen=True)
class SearchFilters:
    """Metadata filters callers may pass; empty means no restriction."""

    provinces: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()
    agencies: tuple[str, ...] = ()
    # With a province filter: also keep national documents (laws, decrees ...). False keeps
    # only the provincial documents of those provinces (and the provinces merged with them).
    national: bool = True
    # With a province filter: also keep the provinces merged with them in 2025 (Lâm Đồng with
    # Đắk Nông and Bình Thuận). False keeps exactly the named provinces.
    related: bool = True

    def is_empty(self) -> bool:
        return not (self.provinces or self.doc_ids or self.agencies)


@dataclass(frozen=True)
class QueryAnalysis:
    """What the query-understanding step made of a question."""

    original: str  # as typed, kept for display
    normalized: str  # NFC, canonical tone marks, whitespace tidied
    restored: str  # diacritics restored when the question was typed without them
    expanded: str  # abbreviations expanded (HTX -> hợp tác xã ...), used for lexical search
    provinces: tuple[str, ...] = ()  # canonical province names recognised in the question
    agencies: tuple[str, ...] = ()  # canonical agency names recognised in the question
    had_diacritics: bool = True
    # Documents named in the question, normalised: "Nghị định 45/2021/NĐ-CP", "45/2021/NĐ-CP",
    # "Luật Hợp tác xã 2023", "Bộ luật Dân sự" (see HybridRetriever.match_documents).
    documents: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk with its fused score and the per-retriever evidence."""

    chunk: Chunk
    score: float  # fused score in [0, 1] (higher is better)
    rank: int  # 1-based
    lexical_score: float = 0.0  # normalised BM25 score in [0, 1]
    dense_score: float = 0.0  # cosine similarity
    details: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class DocumentInfo:
    """A document in the index, as listed by ``htx docs`` and ``GET /v1/documents``."""

    meta: DocumentMeta
    chunk_count: int

