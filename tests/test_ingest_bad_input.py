"""Bad files are refused with the right code and a Vietnamese message (parse level)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.encoding import decode_bytes, detect_legacy, encode_tcvn3
from ingest.normalize import has_diacritics
from ingest.pipeline import ingest_file
from ingest.types import IngestError

SENTENCE = (
    "Ủy ban nhân dân tỉnh Kiên Giang chỉ thị các sở, ban, ngành đẩy mạnh phát triển hợp tác xã kiểu mới. "
    "Sở Kế hoạch và Đầu tư chủ trì, phối hợp với Liên minh Hợp tác xã tỉnh tổng hợp báo cáo hằng năm."
)
# The same sentence as a VNI-Windows editor saved it (base letter + mark byte), cp1252 bytes.
VNI_SENTENCE = "UÛy ban nhaân daân tænh Kieân Giang chæ thò caùc sôû, ban, ngaønh ñaåy maïnh phaùt trieån hôïp taùc xaõ kieåu môùi."


def _refused(path: Path, code: str, **kw) -> IngestError:
    with pytest.raises(IngestError) as info:
        ingest_file(path, **kw)
    err = info.value
    assert err.code == code, (err.code, str(err))
    assert err.message_vi and has_diacritics(err.message_vi), err.message_vi
    assert str(err)  # English for the logs
    return err


def test_empty_and_blank_files(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    _refused(empty, "empty_file")
    blank = tmp_path / "blank.txt"
    blank.write_bytes(b" \n\t\r\n  \n")
    _refused(blank, "empty_file")


def test_binary_file(tmp_path):
    p = tmp_path / "image.txt"
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)
    err = _refused(p, "binary_file")
    assert "nhị phân" in err.message_vi


def test_tcvn3_file_is_refused_by_name(tmp_path):
    data = encode_tcvn3(SENTENCE)
    assert b"\xa7" in data or b"\xae" in data  # really 8-bit TCVN3, not Unicode
    p = tmp_path / "tcvn3.txt"
    p.write_bytes(data)
    err = _refused(p, "legacy_encoding")
    assert "TCVN3" in err.message_vi and "Unicode" in err.message_vi
    # TCVN3 text that was already pasted into a UTF-8 file ("Céng hßa ...") is refused too.
    mojibake = tmp_path / "tcvn3_as_utf8.txt"
    mojibake.write_text(data.decode("cp1252"), encoding="utf-8")
    assert "TCVN3" in _refused(mojibake, "legacy_encoding").message_vi


def test_vni_file_is_refused_by_name(tmp_path):
    p = tmp_path / "vni.txt"
    p.write_bytes(VNI_SENTENCE.encode("cp1252"))
    err = _refused(p, "legacy_encoding")
    assert "VNI" in err.message_vi


def test_real_vietnamese_is_not_mistaken_for_legacy(corpus_dir):
    for path in sorted(corpus_dir.glob("*.txt")):
        assert detect_legacy(path.read_text(encoding="utf-8")) is None, path.name
    assert decode_bytes(SENTENCE.encode("utf-8")) == SENTENCE
    assert decode_bytes("Café, naïve résumé – plain Western text.".encode("cp1252")).startswith("Café")


def test_too_large_is_refused_before_reading(tmp_path):
    p = tmp_path / "big.txt"
    p.write_text(SENTENCE * 20, encoding="utf-8")
    err = _refused(p, "too_large", max_bytes=1000)
    assert "MB" in err.message_vi
    # A sparse 60 MiB file against the default 50 MiB limit: refused from its size alone.
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as fh:
        fh.truncate(60 * 1024 * 1024)
    _refused(huge, "too_large")


def test_missing_and_unsupported(tmp_path):
    _refused(tmp_path / "nope.txt", "not_found")
    x = tmp_path / "table.xlsx"
    x.write_bytes(b"PK\x03\x04 not really")
    _refused(x, "unsupported_type")


def test_corrupt_docx_and_pdf_are_parse_errors(tmp_path):
    d = tmp_path / "broken.docx"
    d.write_bytes(b"this is not a zip file at all")
    _refused(d, "parse_error")
    p = tmp_path / "broken.pdf"
    p.write_bytes(b"%PDF-1.4\n garbage without any objects")
    _refused(p, "parse_error")


def test_pdf_without_text_layer(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60, style="F")  # a "scan": drawing, no text
    p = tmp_path / "scan.pdf"
    pdf.output(str(p))
    err = _refused(p, "no_text")
    assert "scan" in err.message_vi


def test_docx_without_text(tmp_path):
    import docx

    document = docx.Document()
    document.add_paragraph("")
    p = tmp_path / "empty.docx"
    document.save(str(p))
    _refused(p, "no_text")


def test_unexpected_failure_becomes_parse_error(tmp_path, monkeypatch):
    import ingest.pipeline as pipeline

    def boom(items):
        raise RuntimeError("structure exploded")

    monkeypatch.setattr(pipeline, "parse", boom)
    p = tmp_path / "ok.txt"
    p.write_text(SENTENCE, encoding="utf-8")
    err = _refused(p, "parse_error")
    assert "structure exploded" in str(err)


def test_word_table_without_task_header_stays_readable_text(tmp_path):
    import docx

    document = docx.Document()
    document.add_paragraph("I. Số liệu")
    table = document.add_table(rows=2, cols=3)
    for j, v in enumerate(["Huyện", "Số HTX", "Thành viên"]):
        table.cell(0, j).text = v
    for j, v in enumerate(["Đức Trọng", "25", "1.200"]):
        table.cell(1, j).text = v
    p = tmp_path / "numbers.docx"
    document.save(str(p))
    doc = ingest_file(p)
    assert all(c.kind == "text" for c in doc.chunks)
    text = "\n".join(c.text for c in doc.chunks)
    assert "Huyện | Số HTX | Thành viên" in text and "Đức Trọng | 25 | 1.200" in text and "\t" not in text


def _encode_cp1258(text: str) -> bytes:
    """Vietnamese as Windows-1258 stores it: precomposed vowel + separate tone mark."""
    import unicodedata

    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        decomposed = unicodedata.normalize("NFD", ch)
        tone = "".join(c for c in decomposed if c in "\u0300\u0301\u0303\u0309\u0323")
        base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in tone))
        out += base.encode("cp1258") + tone.encode("cp1258")
    return bytes(out)


def test_cp1258_and_slightly_broken_utf8_are_read(tmp_path):
    p = tmp_path / "cp1258.txt"
    p.write_bytes(_encode_cp1258(SENTENCE))
    assert decode_bytes(p.read_bytes()) == SENTENCE
    doc = ingest_file(p)
    assert "Sở Kế hoạch và Đầu tư" in doc.chunks[0].text
    broken = tmp_path / "broken_utf8.txt"
    broken.write_bytes(SENTENCE.encode("utf-8").replace("phát triển".encode("utf-8"), b"ph\xe1t tri\xc3n", 1))
    text = decode_bytes(broken.read_bytes())
    assert "Kiên Giang" in text and "\ufffd" in text  # repaired, not refused as TCVN3
