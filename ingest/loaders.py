"""File -> plain text in one common shape, whatever the format.

The common shape is what the .txt corpus looks like: one paragraph per line, blank lines
between blocks, and tables as tab-separated rows (one row per line). So the same cleanup,
structure and table code serves every format:
- .txt: decoded by ``ingest.encoding`` (BOM/UTF-8/UTF-16, legacy encodings refused).
- .md: decoded, then headings/links/list bullets/pipe tables turned into plain lines.
- .docx (python-docx): paragraphs and real Word tables in body order; merged cells once.
- .pdf (pypdf text layer): lines re-joined into paragraphs from their vertical spacing; a
  PDF with more pages than ``PdfLimits.max_pages`` or whose text takes longer than
  ``PdfLimits.timeout_s`` to extract (checked between pages and between text pieces) is refused.
"""

from __future__ import annotations

import io
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

from ingest import errors
from ingest.encoding import decode_bytes
from ingest.types import IngestError

log = logging.getLogger("htx.ingest")

SUPPORTED = (".txt", ".md", ".docx", ".pdf")


@dataclass(frozen=True)
class PdfLimits:
    """Bounds on PDF parsing (Settings.pdf_max_pages / pdf_timeout_s: HTX_PDF_MAX_PAGES, HTX_PDF_TIMEOUT_S)."""

    max_pages: int = 500
    timeout_s: float = 60.0


def load_text(path: Path, data: bytes, pdf_limits: PdfLimits | None = None) -> str:
    """Text of a file whose bytes are ``data`` (suffix decides the format)."""
    suffix = path.suffix.lower()
    if suffix == ".txt":
        return decode_bytes(data, str(path))
    if suffix == ".md":
        return markdown_to_text(decode_bytes(data, str(path)))
    if suffix == ".docx":
        return docx_to_text(data, str(path))
    if suffix == ".pdf":
        return pdf_to_text(data, str(path), pdf_limits)
    raise errors.unsupported_type(str(path), suffix)


# --- markdown -----------------------------------------------------------------------------

_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_BULLET = re.compile(r"^(\s*)[*]\s+")
_MD_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")


def markdown_to_text(text: str) -> str:
    out: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if _MD_TABLE_SEP.match(line):
            continue
        m = _MD_HEADING.match(line)
        if m:
            line = m.group(1)
        line = _MD_LINK.sub(r"\1", line)
        line = _MD_BULLET.sub(r"\1- ", line)
        line = re.sub(r"`([^`]*)`", r"\1", line)
        stripped = line.strip()
        if stripped.startswith("|") and stripped.endswith("|") and stripped.count("|") >= 3:
            line = "\t".join(c.strip() for c in stripped[1:-1].split("|"))
        out.append(line)
    return "\n".join(out)


# --- docx ---------------------------------------------------------------------------------


def _cell_text(cell) -> str:
    return " ".join(p.text.strip() for p in cell.paragraphs if p.text.strip())


def docx_to_text(data: bytes, path: str = "") -> str:
    import docx  # python-docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as e:  # corrupt zip, not a Word file ...
        raise errors.parse_error(path, f"not a readable .docx ({type(e).__name__}: {e})") from None
    out: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            out.append(block.text.replace("\t", " "))
        elif isinstance(block, Table):
            out.append("")
            for row in block.rows:
                cells, seen = [], set()
                for cell in row.cells:
                    key = id(cell._tc)
                    if key in seen:  # a merged cell is returned once per grid column
                        continue
                    seen.add(key)
                    cells.append(_cell_text(cell).replace("\t", " "))
                if len(cells) == 1:
                    out.append(cells[0])
                elif any(cells):
                    out.append("\t".join(cells))
            out.append("")
    return "\n".join(out)


# --- pdf ----------------------------------------------------------------------------------

_SENTENCE_END = tuple(".;:!?…")
_PAGE_NUMBER = re.compile(r"^\s*(?:-\s*\d{1,4}\s*-|(?:Trang|Page)\s+\d{1,4}(?:\s*/\s*\d{1,4})?|\d{1,4})\s*$", re.IGNORECASE)
_MARKER = re.compile(r"^(?:[IVX]+\.|\d+(?:\.\d+)*\.|[a-zđ]\)|[-+•])\s")


def _pdf_too_long(path: str, pages: int, limit: int) -> IngestError:
    return IngestError(
        "pdf_too_many_pages",
        f"PDF has {pages} pages, limit {limit}: {path}",
        f"Tệp PDF có {pages} trang, vượt giới hạn {limit} trang. Hãy tách tệp thành các phần nhỏ hơn.",
        path,
    )


def _pdf_timeout(path: str, seconds: float, done: int, total: int) -> IngestError:
    return IngestError(
        "pdf_timeout",
        f"PDF text extraction over {seconds:.0f} s (stopped after {done}/{total} pages): {path}",
        f"Đọc tệp PDF quá lâu (quá {seconds:.0f} giây), tệp không được nạp. "
        "Hãy kiểm tra tệp hoặc dùng bản .docx/.txt.",
        path,
    )


class _Deadline:
    def __init__(self, path: str, timeout_s: float, total: int):
        self.path, self.timeout_s, self.total = path, timeout_s, total
        self.end = time.monotonic() + timeout_s
        self.done = 0

    def check(self) -> None:
        if self.timeout_s > 0 and time.monotonic() > self.end:
            raise _pdf_timeout(self.path, self.timeout_s, self.done, self.total)


def pdf_to_text(data: bytes, path: str = "", limits: PdfLimits | None = None) -> str:
    from pypdf import PdfReader

    limits = limits or PdfLimits()
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                reader.decrypt("")
            except Exception:
                raise errors.parse_error(path, "encrypted PDF") from None
        total = len(reader.pages)
        if limits.max_pages > 0 and total > limits.max_pages:
            raise _pdf_too_long(path, total, limits.max_pages)
        deadline = _Deadline(path, limits.timeout_s, total)
        pages = []
        for page in reader.pages:
            deadline.check()
            pages.append(_page_lines(page, deadline))
            deadline.done += 1
    except Exception as e:
        if hasattr(e, "message_vi"):
            raise
        raise errors.parse_error(path, f"not a readable .pdf ({type(e).__name__}: {e})") from None
    out: list[str] = []
    prev_full = False
    for lines, last_full in pages:
        if not lines:
            continue
        if out and out[-1].strip() and prev_full and _continues(out[-1], lines[0]):
            out[-1] = out[-1].rstrip() + " " + lines[0].lstrip()
            lines = lines[1:]
        elif out:
            out.append("")
        out.extend(lines)
        prev_full = last_full
    return "\n".join(out)


def _continues(prev: str, first: str) -> bool:
    """Does the first line of a page continue the last paragraph of the previous page?
    (Only asked when the previous page's last line ran to the right margin.)"""
    return not prev.rstrip().endswith(_SENTENCE_END) and not _MARKER.match(first.lstrip()) and "\t" not in prev


def _page_lines(page, deadline: _Deadline | None = None) -> tuple[list[str], bool]:
    """Lines of one page, wrapped lines re-joined into paragraphs using line spacing, and
    whether the page's last physical line ran (nearly) to the right margin."""
    text = page.extract_text() or ""
    if deadline:
        deadline.check()
    raw = [l for l in text.split("\n")]
    ys: list[float] = []

    def visitor(t, cm, tm, font_dict, font_size):
        if deadline:
            deadline.check()  # an exception from the visitor stops the extraction of this page
        if not t.strip():
            return
        y = tm[5] * cm[3] + cm[5] if cm else tm[5]
        if not ys or abs(ys[-1] - y) > 1.0:
            ys.append(y)

    try:
        page.extract_text(visitor_text=visitor)
    except IngestError:
        raise
    except Exception:  # pragma: no cover - visitor unsupported: keep raw lines
        ys = []
    lines = [l for l in raw if l.strip()]
    if len(ys) != len(lines):
        ys = []  # geometry does not line up with the text: no re-joining on this page
    # Page numbers printed at the top or bottom of the page are not text.
    while lines and _PAGE_NUMBER.match(lines[-1]):
        lines.pop()
        ys = ys[:-1]
    while lines and _PAGE_NUMBER.match(lines[0]):
        lines.pop(0)
        ys = ys[1:]
    widths = [len(l) for l in lines]
    full = sorted(widths)[int(len(widths) * 0.9)] if widths else 0
    last_full = bool(widths) and widths[-1] >= 0.8 * full
    if not ys or len(lines) < 2:
        return lines, last_full
    gaps = [round(ys[i] - ys[i + 1], 1) for i in range(len(ys) - 1)]
    positive = sorted(g for g in gaps if g > 0)
    if not positive:
        return lines, last_full
    pitch = positive[0]
    out: list[str] = [lines[0]]
    for i, gap in enumerate(gaps):
        nxt = lines[i + 1]
        if 0 < gap <= pitch * 1.1:
            out[-1] = out[-1].rstrip() + " " + nxt.lstrip()
        else:
            if gap > pitch * 1.6:
                out.append("")
            out.append(nxt)
    return out, last_full
