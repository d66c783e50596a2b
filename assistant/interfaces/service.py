"""The service core shared by the HTTP API (assistant.interfaces.api) and the web app (assistant.interfaces.web).

It owns the loaded answer service (models and indexes load once per process), the rules
for who may ask and who may change documents, question checks, and the upload path:
check the name, the type and the bytes, ingest from a temporary file, and only then move
the file into the corpus folder. Every refusal is a :class:`ServiceError` carrying an HTTP
status, a stable code, a Vietnamese message for users and an English one for logs.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import shutil
import tempfile
import threading
import time
import unicodedata
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterator

from assistant.interfaces.feedback import FeedbackStore
from assistant.interfaces.ratelimit import Rate, SlidingWindowLimiter, parse_rate
from assistant.runtime import SUPPORTED_EXTENSIONS
from assistant.settings import Settings

log = logging.getLogger("htx.service")

MAX_HISTORY_TURNS = 8
MAX_TURN_CHARS = 4000
MAX_FILTER_VALUES = 50
MAX_FILENAME_CHARS = 150
# A .docx is a zip; refuse archives that would expand to far more than any real document.
MAX_DOCX_UNCOMPRESSED = 200 * 1024 * 1024

_STATUS_CODE_FOR_INGEST = {
    "too_large": 413,
    "unsupported_type": 415,
    "binary_file": 415,
    "not_found": 400,
    "empty_file": 422,
    "legacy_encoding": 422,
    "parse_error": 422,
    "no_text": 422,
}


class ServiceError(Exception):
    """A refusal with an HTTP status, a stable code and a Vietnamese message."""

    def __init__(self, status: int, code: str, message_vi: str, message_en: str | None = None):
        super().__init__(message_en or message_vi)
        self.status = status
        self.code = code
        self.message_vi = message_vi

    def to_json(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message_vi}}


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n // 1024} KB"


# --- keys ------------------------------------------------------------------------------------


def _same(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode("utf-8"), given.strip().encode("utf-8"))


def check_api_key(settings: Settings, given: str | None) -> None:
    """Asking needs X-API-Key only when the operator configured HTX_API_KEY."""
    if settings.api_key and not _same(settings.api_key, given):
        raise ServiceError(
            401,
            "unauthorized",
            "Thiếu hoặc sai khóa truy cập. Hãy gửi khóa trong tiêu đề X-API-Key.",
            "missing or wrong API key",
        )


def check_admin_key(settings: Settings, given: str | None) -> None:
    """Changing documents needs X-API-Key == HTX_ADMIN_KEY; with no admin key set it is off."""
    if not settings.admin_key:
        raise ServiceError(
            403,
            "admin_disabled",
            "Chức năng thêm/xóa văn bản đang tắt vì máy chủ chưa đặt khóa quản trị (biến HTX_ADMIN_KEY).",
            "document changes refused: HTX_ADMIN_KEY is not set",
        )
    if not _same(settings.admin_key, given):
        raise ServiceError(
            401,
            "unauthorized",
            "Thiếu hoặc sai khóa quản trị. Hãy nhập đúng khóa quản trị (tiêu đề X-API-Key).",
            "missing or wrong admin key",
        )


# --- questions -------------------------------------------------------------------------------


def clean_question(settings: Settings, question: str | None) -> str:
    q = unicodedata.normalize("NFC", question or "").strip()
    if not q:
        raise ServiceError(422, "empty_question", "Câu hỏi trống. Hãy nhập câu hỏi của bạn.", "empty question")
    if len(q) > settings.max_question_chars:
        raise ServiceError(
            413,
            "question_too_long",
            f"Câu hỏi quá dài ({len(q)} ký tự). Hãy rút gọn còn tối đa {settings.max_question_chars} ký tự.",
            f"question too long: {len(q)} > {settings.max_question_chars} chars",
        )
    return q


def clean_history(history: list[tuple[str, str]] | None):
    """Keep the last turns, cut long ones; roles other than user/assistant are dropped."""
    from assistant.answering.types import Turn

    turns = []
    for role, content in (history or [])[-MAX_HISTORY_TURNS:]:
        role = (role or "").strip().lower()
        if role not in ("user", "assistant"):
            continue
        text = unicodedata.normalize("NFC", content or "").strip()
        if text:
            turns.append(Turn(role=role, content=text[:MAX_TURN_CHARS]))
    return turns or None


def make_filters(provinces=None, doc_ids=None, agencies=None):
    from index.types import SearchFilters

    def tidy(values) -> tuple[str, ...]:
        out = []
        for v in (values or [])[:MAX_FILTER_VALUES]:
            v = unicodedata.normalize("NFC", str(v)).strip()
            if v and v not in out:
                out.append(v)
        return tuple(out)

    f = SearchFilters(provinces=tidy(provinces), doc_ids=tidy(doc_ids), agencies=tidy(agencies))
    return None if f.is_empty() else f


# --- uploaded files --------------------------------------------------------------------------

_BAD_NAME_CHARS = re.compile(r"[^\w\-. ()]+", re.UNICODE)


def safe_filename(name: str | None) -> str:
    """A file name that cannot leave the data folder; names with a path are refused."""
    raw = unicodedata.normalize("NFC", (name or "").strip())
    if not raw:
        raise ServiceError(400, "invalid_filename", "Tệp tải lên chưa có tên.", "upload without a file name")
    if "/" in raw or "\\" in raw or ".." in raw or raw.startswith(".") or any(ord(c) < 32 for c in raw):
        raise ServiceError(
            400,
            "invalid_filename",
            "Tên tệp không hợp lệ: tên tệp không được chứa đường dẫn thư mục (/, \\, ..) hoặc bắt đầu bằng dấu chấm.",
            f"refused file name with a path: {raw!r}",
        )
    stem, dot, ext = raw.rpartition(".")
    if not dot:
        stem, ext = raw, ""
    stem = _BAD_NAME_CHARS.sub("_", stem).strip(" ._") or "tai_lieu"
    stem = stem[:MAX_FILENAME_CHARS]
    return f"{stem}.{ext.lower()}" if ext else stem


def check_extension(name: str) -> str:
    ext = Path(name).suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        raise ServiceError(
            415,
            "unsupported_type",
            f"Không hỗ trợ loại tệp '{ext or '(không có đuôi)'}'. Chỉ nhận tệp .txt, .md, .docx hoặc .pdf.",
            f"unsupported extension {ext!r}",
        )
    return ext


def check_content(path: Path, ext: str) -> None:
    """The bytes must really be what the extension says."""
    size = path.stat().st_size
    if size == 0:
        raise ServiceError(422, "empty_file", "Tệp trống, không có nội dung để nạp.", "empty upload")
    with open(path, "rb") as f:
        head = f.read(64 * 1024)
    mismatch = ServiceError(
        415,
        "content_mismatch",
        f"Nội dung tệp không đúng với loại '{ext}'. Hãy kiểm tra lại tệp (có thể tệp bị đổi đuôi hoặc hỏng).",
        f"content does not match extension {ext}",
    )
    if ext in (".txt", ".md"):
        if b"\x00" in head or head.startswith((b"%PDF", b"PK\x03\x04", b"\x7fELF", b"MZ", b"\x89PNG", b"\xff\xd8\xff")):
            raise mismatch
        controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
        if controls > max(8, len(head) // 100):
            raise mismatch
    elif ext == ".pdf":
        if b"%PDF-" not in head[:1024]:
            raise mismatch
    elif ext == ".docx":
        if not zipfile.is_zipfile(path):
            raise mismatch
        try:
            with zipfile.ZipFile(path) as z:
                infos = z.infolist()
                names = {i.filename for i in infos}
                total = sum(i.file_size for i in infos)
        except (zipfile.BadZipFile, OSError):
            raise mismatch from None
        if "word/document.xml" not in names:
            raise mismatch
        if total > MAX_DOCX_UNCOMPRESSED:
            raise ServiceError(413, "file_too_large", "Tệp .docx giải nén ra quá lớn.", f"docx expands to {total} bytes")


def too_many_requests(wait_s: float, what: str = "requests") -> ServiceError:
    wait = max(1, int(wait_s + 0.999))
    err = ServiceError(
        429,
        "too_many_requests",
        f"Bạn gửi quá nhiều yêu cầu trong thời gian ngắn. Vui lòng thử lại sau {wait} giây.",
        f"rate limit on {what}; retry after {wait} s",
    )
    err.retry_after = wait
    return err


def too_many_key_failures(wait_s: float) -> ServiceError:
    wait = max(1, int(wait_s + 0.999))
    err = ServiceError(
        429,
        "too_many_key_failures",
        f"Đã nhập sai khóa quá nhiều lần. Vui lòng thử lại sau {wait} giây.",
        f"too many failed admin keys; retry after {wait} s",
    )
    err.retry_after = wait
    return err


def upload_too_large(settings: Settings) -> ServiceError:
    return ServiceError(
        413,
        "file_too_large",
        f"Tệp quá lớn. Kích thước tối đa cho phép là {_mb(settings.max_upload_bytes)}.",
        f"upload over {settings.max_upload_bytes} bytes",
    )


def document_json(info) -> dict[str, Any]:
    m = info.meta
    return {
        "doc_id": m.doc_id,
        "title": m.title,
        "short_title": m.short_title,
        "doc_type": m.doc_type,
        "number": m.number,
        "date": m.date,
        "issuer": m.issuer,
        "province": m.province,
        "file_name": Path(m.source_path).name if m.source_path else None,
        "sha256": m.sha256,
        "chunk_count": info.chunk_count,
    }


@dataclass
class UploadResult:
    doc_id: str
    file_name: str
    chunks: int
    changed: bool
    document: dict[str, Any] | None


# --- the service -----------------------------------------------------------------------------


class AssistantRuntime:
    """Process-wide state behind the API and the web app."""

    def __init__(self, settings: Settings, answerer=None):
        self.settings = settings
        self._answerer = answerer
        self._load_lock = threading.Lock()
        self._ingest_lock = threading.Lock()
        self._feedback: FeedbackStore | None = None
        self.started_at = time.time()
        self.load_error: str | None = None
        # Per process (per replica): request rate and failed admin keys, per client address.
        self.rate_limiter = SlidingWindowLimiter(parse_rate(settings.rate_limit))
        self.key_failures = SlidingWindowLimiter(Rate(max(0, settings.admin_failures_per_minute), 60.0))

    # limits
    def check_rate(self, client: str | None, what: str = "requests") -> None:
        """429 when ``client`` (an address) went over HTX_RATE_LIMIT; counts this request."""
        ok, wait = self.rate_limiter.hit(client or "unknown")
        if not ok:
            raise too_many_requests(wait, what)

    def check_admin(self, given: str | None, client: str | None) -> None:
        """check_admin_key, with failed keys throttled per address (429 after a few)."""
        key = client or "unknown"
        wait = self.key_failures.blocked(key)
        if wait > 0:
            raise too_many_key_failures(wait)
        try:
            check_admin_key(self.settings, given)
        except ServiceError as e:
            if e.status == 401:
                self.key_failures.record(key)
            raise

    def may_see_corpus(self, access_key: str | None = None, admin_key: str | None = None) -> bool:
        """With HTX_API_KEY set, the document list (and anything derived) needs that key or the admin key."""
        s = self.settings
        if not s.api_key:
            return True
        return _same(s.api_key, access_key) or bool(s.admin_key and _same(s.admin_key, admin_key))

    # lifecycle
    def load(self) -> None:
        """Build the answer service once (models, Chroma, BM25)."""
        with self._load_lock:
            if self._answerer is not None:
                return
            from assistant.runtime import build_answerer

            t0 = time.perf_counter()
            try:
                self._answerer = build_answerer(self.settings)
            except Exception as e:  # noqa: BLE001 - reported by /readyz, logged here
                self.load_error = f"{type(e).__name__}: {e}"
                log.exception("failed to load the answer service")
                raise
            log.info("answer service loaded in %.1f s", time.perf_counter() - t0)

    @property
    def loaded(self) -> bool:
        return self._answerer is not None

    @property
    def answerer(self):
        if self._answerer is None:
            raise ServiceError(
                503, "not_ready", "Hệ thống đang khởi động, vui lòng thử lại sau ít giây.", "answer service not loaded"
            )
        return self._answerer

    @property
    def store(self):
        return self.answerer.store

    @property
    def feedback(self) -> FeedbackStore:
        if self._feedback is None:
            self._feedback = FeedbackStore(self.settings.feedback_db)
        return self._feedback

    # asking; ``full`` asks for every point (the default answer is cut to a budget and says in
    # metadata["more"] how many points were left out). Passed only where the answerer takes it.
    def ask(self, question: str, history=None, filters=None, full: bool = False):
        answerer = self.answerer
        return answerer.ask(question, history=history, filters=filters, full=full)

    def search(self, question: str, k: int = 5, filters=None):
        """Retrieval alone (no answer layer): the ranked passages."""
        return self.answerer.search(question, k=k, filters=filters)

    def stream(self, question: str, history=None, filters=None, full: bool = False) -> Iterator[dict]:
        answerer = self.answerer
        return answerer.stream(question, history=history, filters=filters, full=full)

    # documents
    def documents(self) -> list[dict[str, Any]]:
        return [document_json(d) for d in self.store.documents()]

    def upload_dir(self) -> Path:
        """A fresh private folder for one upload, inside the data dir (same disk as the corpus)."""
        root = self.settings.data_dir / "uploads" / "tmp"
        root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="up-", dir=root))

    def ingest_upload(self, tmp_file: Path, file_name: str) -> UploadResult:
        """Check and ingest an uploaded file saved at ``tmp_file``; on success move it into the corpus.

        ``tmp_file`` lives in a folder from :meth:`upload_dir`, which is removed afterwards.
        """
        from ingest.manifest import load_manifest
        from ingest.loaders import PdfLimits
        from ingest.pipeline import ingest_file
        from ingest.types import IngestError

        settings = self.settings
        tmp_file = Path(tmp_file)
        try:
            name = safe_filename(file_name)
            ext = check_extension(name)
            if tmp_file.stat().st_size > settings.max_upload_bytes:
                raise upload_too_large(settings)
            check_content(tmp_file, ext)
            corpus = settings.corpus_dir
            corpus.mkdir(parents=True, exist_ok=True)
            stem = Path(name).stem
            clash = [p for p in corpus.glob("*") if p.is_file() and p.stem == stem and p.name != name
                     and p.suffix.lower() in SUPPORTED_EXTENSIONS]
            if clash:
                raise ServiceError(
                    409,
                    "name_conflict",
                    f"Đã có văn bản '{clash[0].name}' cùng tên. Hãy đổi tên tệp hoặc xóa văn bản cũ trước.",
                    f"upload {name} clashes with {clash[0].name}",
                )
            named = tmp_file.with_name(name)
            if named != tmp_file:
                os.replace(tmp_file, named)
            final = corpus / name
            with self._ingest_lock:
                try:
                    manifest = load_manifest(settings.manifest_path)
                    doc = ingest_file(named, manifest=manifest, max_bytes=settings.max_file_bytes,
                                         pdf_limits=PdfLimits(settings.pdf_max_pages, settings.pdf_timeout_s))
                except IngestError as e:
                    log.warning("upload %s refused by ingest: %s (%s)", name, e, e.code)
                    raise ServiceError(_STATUS_CODE_FOR_INGEST.get(e.code, 422), e.code, e.message_vi, str(e)) from None
                doc.meta = replace(doc.meta, source_path=str(final))
                changed = bool(self.store.add_document(doc))
                os.replace(named, final)
            info = next((d for d in self.store.documents() if d.meta.doc_id == doc.meta.doc_id), None)
            log.info("uploaded %s as %s: %d chunks (changed=%s)", name, doc.meta.doc_id, len(doc.chunks), changed)
            return UploadResult(doc.meta.doc_id, name, len(doc.chunks), changed, document_json(info) if info else None)
        finally:
            shutil.rmtree(tmp_file.parent, ignore_errors=True)

    def delete_document(self, doc_id: str) -> None:
        doc_id = (doc_id or "").strip()
        with self._ingest_lock:
            if not doc_id or not self.store.remove_document(doc_id):
                raise ServiceError(
                    404,
                    "document_not_found",
                    f"Không có văn bản mã '{doc_id[:100]}' trong chỉ mục.",
                    f"delete of unknown document {doc_id[:100]!r}",
                )
            # Keep a copy of the source file outside the corpus so a re-ingest does not bring it back.
            removed = self.settings.data_dir / "uploads" / "removed"
            for p in self.settings.corpus_dir.glob("*"):
                if p.is_file() and p.stem == doc_id and p.suffix.lower() in SUPPORTED_EXTENSIONS:
                    removed.mkdir(parents=True, exist_ok=True)
                    os.replace(p, removed / f"{p.name}.{int(time.time())}")
        log.info("removed document %s", doc_id)
