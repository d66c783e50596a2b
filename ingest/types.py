"""Data that flows out of ingestion: a document's metadata, its chunks, and ingest errors."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class DocumentMeta:
    """Metadata of one source document, found in its text, overridable by the manifest."""

    doc_id: str  # source file name without extension
    title: str  # full title as written ("Kế hoạch thực hiện Chỉ thị số 12/CT-TTg ...")
    short_title: str  # short label for answers ("Kế hoạch 12/CT-TTg (Lâm Đồng, 2018)")
    doc_type: str | None  # Kế hoạch, Quyết định, Chỉ thị, Chương trình ...
    number: str | None  # "1558/CT-UBND"
    date: str | None  # ISO "2018-07-12"
    issuer: str | None  # "UBND tỉnh Kiên Giang"
    province: str | None  # canonical province name, e.g. "Lâm Đồng"
    source_path: str  # path of the file that was ingested
    sha256: str  # hash of the raw file bytes
    scope: str | None = None  # "national" or "province"
    effective_date: str | None = None  # ISO, where the text states it ("có hiệu lực ... từ ngày ...")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "DocumentMeta":
        """Tolerant of registries written before a field existed (missing keys get defaults;
        a missing scope follows the province) and of unknown keys."""
        fields = cls.__dataclass_fields__
        values = {k: data.get(k) for k in fields}
        if not values.get("scope"):
            values["scope"] = "province" if values.get("province") else "national"
        return cls(**values)


@dataclass(frozen=True)
class Chunk:
    """One retrievable passage with everything needed to cite it."""

    chunk_id: str  # stable: hash of doc_id + heading path + normalised text
    doc_id: str
    doc_title: str  # DocumentMeta.short_title
    province: str | None
    section: str  # heading path joined: "II > 2.7. Sở Công Thương > b)"
    heading_path: tuple[str, ...]
    agencies: tuple[str, ...]  # canonical agency names responsible for this passage
    text: str  # normalised text (NFC, canonical tone marks) used for indexing and quoting
    display_text: str  # the original wording for display
    kind: str = "text"  # text | list | table_row
    order: int = 0  # position in the document
    table: dict[str, str] | None = None  # for table rows: column name -> cell value
    extra: dict[str, Any] = field(default_factory=dict)

    def context_text(self) -> str:
        """Text used for embedding and lexical indexing: title, province, heading path, body."""
        head = " | ".join(p for p in (self.doc_title, self.province or "", self.section) if p)
        return f"{head}\n{self.text}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["heading_path"] = list(self.heading_path)
        data["agencies"] = list(self.agencies)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Chunk":
        data = dict(data)
        data["heading_path"] = tuple(data.get("heading_path") or ())
        data["agencies"] = tuple(data.get("agencies") or ())
        data.setdefault("extra", {})
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass
class Document:
    """A parsed document: its metadata, its normalised text and its chunks."""

    meta: DocumentMeta
    text: str
    chunks: list[Chunk]


class IngestError(Exception):
    """A file that cannot be ingested. ``message_vi`` is shown to users, str(e) goes to logs."""

    def __init__(self, code: str, message_en: str, message_vi: str, path: str | None = None):
        super().__init__(message_en)
        self.code = code
        self.message_vi = message_vi
        self.path = path
