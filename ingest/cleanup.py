"""Raw text -> clean lines: normalisation per cell, emphasis marks, signature blocks, page breaks.

Steps (each line keeps a normalised ``text`` and an NFC-only ``display``):
1. NFC + canonical tone marks + tidy spaces, cell by cell so tab-separated tables survive.
2. Markdown-style emphasis (``**...**``, ``*...*``) is removed.
3. Signature and recipients blocks ("Nơi nhận:" lists, "TM. ỦY BAN NHÂN DÂN", the signer's
   name, filing codes) are dropped: they are not duties and would pollute answers.
4. Page-break debris is repaired: a line that does not end a sentence, followed (after any
   blank lines) by a line that starts in lower case, is joined to it.
"""

from __future__ import annotations

import re

from ingest.lines import Line
from ingest.normalize import canonical_tones, nfc, tidy_whitespace

_EMPHASIS_BOLD = re.compile(r"\*\*|__")
_EMPHASIS = re.compile(r"(?<![\w*])\*([^*\n]+?)\*(?![\w*])")
_SENTENCE_END = tuple(".;:!?…")
# List markers that start with a lower-case letter: "a) ", "đ) ", "b. " are items, not continuations.
_LOWER_MARKER = re.compile(r"^[a-zđ][).]\s")

_RECIPIENTS = re.compile(r"^\s*n[ơo]i nh[ậa]n\s*:?\s*$", re.IGNORECASE)
_SIGNATURE = re.compile(
    r"^(?:TM\.|KT\.|TL\.|TUQ\.|Q\.\s)|^(?:PHÓ\s+)?(?:CHỦ TỊCH|GIÁM ĐỐC|CHÁNH VĂN PHÒNG|TRƯỞNG BAN|BÍ THƯ)\b|^\(?(?:đã ký|Đã ký|ký tên)\)?$"
)
_CODE_LINE = re.compile(r"^[\w./-]{1,16}$")


def normalize_line(raw: str) -> Line:
    cells = raw.split("\t")
    nfc_cells = [tidy_whitespace(nfc(c)) for c in cells]
    text_cells = [tidy_whitespace(canonical_tones(c)) for c in nfc_cells]
    return Line("\t".join(text_cells), "\t".join(nfc_cells))


def strip_emphasis(raw: str) -> str:
    raw = _EMPHASIS_BOLD.sub("", raw)
    return _EMPHASIS.sub(r"\1", raw)


def _is_name_line(text: str) -> bool:
    words = text.split()
    # A signer's name: 2-5 title-case words ("Phạm Vũ Hồng"), not an upper-case heading.
    return 2 <= len(words) <= 5 and all(w.isalpha() and w[:1].isupper() and w[1:].islower() for w in words)


def drop_signature_blocks(lines: list[Line]) -> list[Line]:
    """Remove recipients lists and signature blocks (titles, signer's name, filing codes)."""
    out: list[Line] = []
    in_block = False
    for line in lines:
        t = line.text.strip().strip("\t").strip()
        if _RECIPIENTS.match(t) or (_SIGNATURE.match(t) and len(t) < 60):
            in_block = True
            continue
        if in_block:
            if not t or t.startswith(("-", "+", "•")) or _is_name_line(t) or _CODE_LINE.match(t) or (_SIGNATURE.match(t) and len(t) < 60):
                continue
            in_block = False
        out.append(line)
    return out


def _ends_sentence(text: str) -> bool:
    return text.rstrip().endswith(_SENTENCE_END)


def _starts_lower(text: str) -> bool:
    t = text.lstrip()
    return bool(t) and t[0].isalpha() and t[0].islower() and not _LOWER_MARKER.match(t)


def join_broken_lines(lines: list[Line]) -> list[Line]:
    """Join a sentence split by a page break (blank lines, then a lower-case continuation)."""
    out: list[Line] = []
    pending_blanks: list[Line] = []
    for line in lines:
        if line.blank:
            pending_blanks.append(line)
            continue
        prev = out[-1] if out else None
        if (
            prev is not None
            and "\t" not in prev.text
            and "\t" not in line.text
            and not _ends_sentence(prev.text)
            and _starts_lower(line.text)
        ):
            out[-1] = prev.join(line)
            pending_blanks = []
            continue
        out.extend(pending_blanks)
        pending_blanks = []
        out.append(line)
    out.extend(pending_blanks)
    return out


def prepare_lines(text: str) -> list[Line]:
    """Full cleanup of a document's text into normalised lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    lines = [normalize_line(strip_emphasis(raw)) for raw in text.split("\n")]
    lines = drop_signature_blocks(lines)
    lines = join_broken_lines(lines)
    return lines
