"""The same document as .txt, .md, .docx (paragraphs + a real Word table) and .pdf must give
the same chunks: same texts, same sections, same table records."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.pipeline import ingest_file

CORPUS = Path(__file__).resolve().parent.parent / "data" / "corpus"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

HEADER = ["STT", "Nhiệm vụ, giải pháp", "Cơ quan chủ trì", "Cơ quan phối hợp", "Sản phẩm hoàn thành", "Thời gian"]
GROUP = ("I", "Rà soát, hoàn thiện cơ chế chính sách về phát triển KTTT, HTX")
ROWS = [
    ["1", "Xây dựng Kế hoạch phát triển kinh tế tập thể, hợp tác xã giai đoạn 2021-2025", "Sở Kế hoạch và Đầu tư",
     "Các sở, ngành, UBND cấp huyện", "Quyết định UBND tỉnh", "2021"],
    ["2", "Tham mưu ban hành Chương trình Khuyến công và Xúc tiến thương mại hàng năm", "Sở Công Thương",
     "Trung tâm Khuyến công và XTTM, Liên minh HTX tỉnh", "Quyết định UBND tỉnh", "Quý IV hàng năm"],
    ["", "Kiện toàn Ban Chỉ đạo đổi mới, phát triển kinh tế tập thể, hợp tác xã tỉnh", "Sở Kế hoạch và Đầu tư",
     "Các sở, ngành", "Quyết định UBND tỉnh", ""],
]


def _source_lines() -> list[str]:
    (path,) = sorted(CORPUS.glob("004_*.txt"))
    return path.read_text(encoding="utf-8").split("\n")


def _txt_with_table() -> str:
    lines = _source_lines() + ["", "Phụ lục", "", "\t".join(HEADER), "\t".join([*GROUP, "", "", "", ""])]
    lines += ["\t".join(r) for r in ROWS]
    return "\n".join(lines) + "\n"


def _signature(doc):
    return [(c.section, c.text, c.kind, c.table, c.agencies) for c in doc.chunks]


@pytest.fixture(scope="module")
def txt_doc(tmp_path_factory):
    d = tmp_path_factory.mktemp("fmt")
    p = d / "taynin.txt"
    p.write_text(_txt_with_table(), encoding="utf-8")
    return ingest_file(p)


def test_reference_txt_has_text_and_table_chunks(txt_doc):
    kinds = [c.kind for c in txt_doc.chunks]
    assert kinds.count("table_row") == 3 and kinds.count("text") >= 10
    row = [c for c in txt_doc.chunks if c.kind == "table_row"][1]
    assert row.table["lead"] == "Sở Công Thương" and row.table["time"] == "Quý IV hàng năm"
    assert row.section == f"Phụ lục > I. {GROUP[1]} > 2"
    assert txt_doc.meta.province == "Tây Ninh"


def test_docx_with_word_table_gives_same_chunks(tmp_path, txt_doc):
    import docx

    document = docx.Document()
    for line in _source_lines():
        if line.strip():
            document.add_paragraph(line.strip())
    document.add_paragraph("Phụ lục")
    table = document.add_table(rows=2 + len(ROWS), cols=len(HEADER))
    for j, h in enumerate(HEADER):
        table.cell(0, j).text = h
    # Group row: the title cell is merged across the remaining columns, as in real appendices.
    table.cell(1, 0).text = GROUP[0]
    merged = table.cell(1, 1).merge(table.cell(1, len(HEADER) - 1))
    merged.text = GROUP[1]
    for i, row in enumerate(ROWS, start=2):
        for j, value in enumerate(row):
            table.cell(i, j).text = value
    path = tmp_path / "taynin.docx"
    document.save(str(path))

    doc = ingest_file(path)
    assert doc.meta.province == txt_doc.meta.province and doc.meta.title == txt_doc.meta.title
    assert _signature(doc) == _signature(txt_doc)


def test_markdown_emphasis_and_headings_are_stripped(tmp_path, txt_doc):
    md_lines = []
    for line in _txt_with_table().split("\n"):
        s = line.strip()
        if s[:3] in ("I. ", "II.", "III"):
            md_lines.append(f"## **{s}**")
        elif s.startswith("1.1."):
            md_lines.append(f"*{s}*")
        else:
            md_lines.append(line)
    path = tmp_path / "taynin.md"
    path.write_text("\n".join(md_lines), encoding="utf-8")
    doc = ingest_file(path)
    assert _signature(doc) == _signature(txt_doc)
    assert not any("**" in c.text or c.text.startswith("#") for c in doc.chunks)


@pytest.mark.skipif(not FONT.exists(), reason=f"DejaVuSans font not installed at {FONT} (needed to write Vietnamese into a PDF)")
def test_pdf_text_layer_gives_same_chunks(tmp_path):
    from fpdf import FPDF

    source = _source_lines()
    txt = tmp_path / "taynin_plain.txt"
    txt.write_text("\n".join(source), encoding="utf-8")

    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("DejaVu", "", str(FONT))
    pdf.set_font("DejaVu", size=11)
    for line in source:
        if not line.strip():
            pdf.ln(3)
            continue
        # Long lines wrap over several PDF lines and across pages; the loader must rejoin them.
        pdf.multi_cell(0, 6, line.strip(), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1.5)
    path = tmp_path / "taynin_plain.pdf"
    pdf.output(str(path))

    doc_pdf, doc_txt = ingest_file(path), ingest_file(txt)
    assert len(doc_pdf.chunks) == len(doc_txt.chunks)
    assert [(c.section, c.text) for c in doc_pdf.chunks] == [(c.section, c.text) for c in doc_txt.chunks]
    assert doc_pdf.meta.province == "Tây Ninh"


def test_utf16_and_bom_files_decode(tmp_path, txt_doc):
    text = _txt_with_table()
    for name, data in (("bom8.txt", b"\xef\xbb\xbf" + text.encode("utf-8")), ("u16.txt", text.encode("utf-16")),
                       ("crlf.txt", text.replace("\n", "\r\n").encode("utf-8"))):
        p = tmp_path / name
        p.write_bytes(data)
        doc = ingest_file(p)
        assert [(c.section, c.text) for c in doc.chunks] == [(c.section, c.text) for c in txt_doc.chunks], name


@pytest.mark.skipif(not FONT.exists(), reason=f"DejaVuSans font not installed at {FONT}")
def test_pdf_page_numbers_are_dropped(tmp_path):
    from fpdf import FPDF

    class Numbered(FPDF):
        def footer(self):
            self.set_y(-15)
            self.set_font("DejaVu", size=9)
            self.cell(0, 10, str(self.page_no()), align="C")

    source = _source_lines()
    pdf = Numbered()
    pdf.add_font("DejaVu", "", str(FONT))
    pdf.add_page()
    pdf.set_font("DejaVu", size=11)
    for line in source:
        if not line.strip():
            pdf.ln(3)
            continue
        pdf.multi_cell(0, 6, line.strip(), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1.5)
    path = tmp_path / "numbered.pdf"
    pdf.output(str(path))
    assert len(pdf.pages) >= 3
    txt = tmp_path / "numbered.txt"
    txt.write_text("\n".join(source), encoding="utf-8")
    doc_pdf, doc_txt = ingest_file(path), ingest_file(txt)
    assert [(c.section, c.text) for c in doc_pdf.chunks] == [(c.section, c.text) for c in doc_txt.chunks]
