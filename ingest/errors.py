"""Constructors for the ingest errors users see (Vietnamese) and logs keep (English)."""

from __future__ import annotations

from ingest.types import IngestError


def not_found(path: str) -> IngestError:
    return IngestError("not_found", f"file not found: {path}", f"Không tìm thấy tệp '{path}'.", path)


def unsupported_type(path: str, suffix: str) -> IngestError:
    return IngestError(
        "unsupported_type",
        f"unsupported file type {suffix or '(none)'}: {path}",
        f"Không hỗ trợ loại tệp '{suffix or '(không có đuôi)'}'. Hãy dùng tệp .txt, .md, .docx hoặc .pdf.",
        path,
    )


def empty_file(path: str) -> IngestError:
    return IngestError("empty_file", f"empty file: {path}", "Tệp rỗng, không có nội dung để nạp.", path)


def too_large(path: str, size: int, max_bytes: int) -> IngestError:
    mb = max_bytes / (1024 * 1024)
    return IngestError(
        "too_large",
        f"file too large: {size} bytes > limit {max_bytes} bytes: {path}",
        f"Tệp quá lớn ({size / (1024 * 1024):.1f} MB), vượt giới hạn {mb:.0f} MB. Hãy tách tệp thành các phần nhỏ hơn.",
        path,
    )


def binary_file(path: str, reason: str) -> IngestError:
    return IngestError(
        "binary_file",
        f"binary content, not text ({reason}): {path}",
        "Tệp không phải văn bản (có vẻ là tệp nhị phân). Hãy dùng tệp .txt, .md, .docx hoặc .pdf.",
        path,
    )


def legacy_encoding(path: str, encoding: str, message_vi: str) -> IngestError:
    return IngestError("legacy_encoding", f"legacy (non-Unicode) encoding {encoding}: {path}", message_vi, path)


def no_text(path: str, reason: str = "no extractable text") -> IngestError:
    return IngestError(
        "no_text",
        f"{reason}: {path}",
        "Không trích được chữ nào từ tệp (có thể là bản scan/ảnh). Hãy dùng tệp có lớp chữ hoặc bản .docx/.txt.",
        path,
    )


def parse_error(path: str, reason: str) -> IngestError:
    return IngestError(
        "parse_error",
        f"cannot parse {path}: {reason}",
        f"Không đọc được nội dung tệp (tệp hỏng hoặc sai định dạng): {reason}",
        path,
    )
