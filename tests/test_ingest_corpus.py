"""Acceptance tests of ingestion on the five real provincial documents (parse level)."""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from pathlib import Path

import pytest

from ingest.chunker import MAX_TOKENS
from ingest.manifest import load_manifest
from ingest.pipeline import ingest_file
from ingest.tables import KEYS
from ingest.tokens import count_tokens

CORPUS = Path(__file__).resolve().parent.parent / "data" / "corpus"
EXPECTED_PROVINCE = {"000": "Lâm Đồng", "001": "Khánh Hòa", "002": "Đắk Nông", "003": "Kiên Giang", "004": "Tây Ninh"}
SENTENCE_END = tuple(".;:!?…")


def _path(prefix: str) -> Path:
    (p,) = sorted(CORPUS.glob(f"{prefix}_*.txt"))
    return p


@pytest.fixture(scope="module")
def docs():
    return {prefix: ingest_file(_path(prefix)) for prefix in EXPECTED_PROVINCE}


def test_every_document_has_its_province(docs):
    for prefix, doc in docs.items():
        assert doc.meta.province == EXPECTED_PROVINCE[prefix], (prefix, doc.meta)
        assert {c.province for c in doc.chunks} == {EXPECTED_PROVINCE[prefix]}
        assert EXPECTED_PROVINCE[prefix] in doc.meta.short_title
        assert doc.meta.doc_id == _path(prefix).stem


def test_metadata_found_in_text(docs):
    m = {p: d.meta for p, d in docs.items()}
    assert (m["003"].doc_type, m["003"].number, m["003"].date) == ("Chỉ thị", "1558/CT-UBND", "2018-07-12")
    assert m["003"].short_title == "Chỉ thị 1558/CT-UBND – Kiên Giang (2018)"
    assert (m["001"].doc_type, m["001"].number, m["001"].date) == ("Quyết định", "52/QĐ-UBND", "2021-01-25")
    assert (m["002"].doc_type, m["002"].number, m["002"].date) == ("Kế hoạch", "188/KH-LMHTX", "2021-05-11")
    assert m["000"].doc_type == "Kế hoạch" and m["000"].short_title == "Kế hoạch 12/CT-TTg – Lâm Đồng (2018)"
    assert m["000"].title.startswith("Kế hoạch thực hiện Chỉ thị số 12/CT-TTg ngày 22/5/2018")
    assert m["004"].doc_type == "Kế hoạch" and "phối hợp phát triển kinh tế tập thể" in m["004"].title
    assert m["004"].short_title.endswith("Tây Ninh (2018)")
    assert m["001"].issuer == "UBND tỉnh Khánh Hòa"
    assert m["003"].issuer == "UBND tỉnh Kiên Giang"
    assert "Đắk Nông" in (m["002"].issuer or "")


def test_dak_nong_decomposed_first_line_becomes_nfc(docs):
    raw = _path("002").read_text(encoding="utf-8")
    assert not unicodedata.is_normalized("NFC", raw.split("\n", 1)[0])  # the quirk is really there
    doc = docs["002"]
    assert unicodedata.is_normalized("NFC", doc.meta.title)
    assert unicodedata.is_normalized("NFC", doc.meta.short_title)
    assert doc.meta.title.startswith("Kế hoạch thực hiện Nghị quyết số 134/NQ-CP")
    for c in doc.chunks:
        assert unicodedata.is_normalized("NFC", c.text) and unicodedata.is_normalized("NFC", c.display_text)


def test_lam_dong_cong_thuong_items_stay_reachable(docs):
    doc = docs["000"]
    holding = [c for c in doc.chunks if "2.7. Sở Công Thương" in c.text]
    assert holding, "no chunk holds the heading 2.7. Sở Công Thương"
    under = [c for c in doc.chunks if "2.7. Sở Công Thương" in c.section]
    reachable = "\n".join(c.text for c in holding + under)
    assert "a) Tiếp tục duy trì, củng cố và phát triển các HTX" in reachable
    assert "b) Xây dựng kế hoạch thành lập mới các HTX" in reachable
    for c in holding + under:
        assert c.province == "Lâm Đồng"
        assert "Sở Công Thương" in c.agencies
        assert c.heading_path[0].startswith("II.")
    # Items of the next agency are not mixed in.
    assert all("Sở Xây dựng:" not in c.text for c in holding)


def test_lam_dong_missing_section_three_does_not_break_structure(docs):
    tops = {c.heading_path[0] for c in docs["000"].chunks if c.heading_path}
    assert {"I. Mục tiêu", "II. Một số nhiệm vụ, giải pháp trọng tâm", "IV. Tổ chức thực hiện"} <= tops
    sec_210 = [c for c in docs["000"].chunks if c.section.endswith("2.10. Sở Văn hóa, Thể thao và Du lịch")]
    assert len(sec_210) == 1 and sec_210[0].agencies[0] == "Sở Văn hóa, Thể thao và Du lịch"
    assert "Phấn đấu mỗi năm thành lập mới ít nhất 01 HTX" in sec_210[0].text


def _rows(doc):
    return [c for c in doc.chunks if c.kind == "table_row"]


def test_khanh_hoa_khuyen_cong_row(docs):
    rows = [c for c in _rows(docs["001"]) if "Chương trình Khuyến công và Xúc tiến thương mại" in c.table["task"]]
    assert len(rows) == 1
    row = rows[0]
    assert row.table["lead"] == "Sở Công Thương"
    assert row.table["time"] == "Quý IV hàng năm"
    assert row.table["stt"] == "6"
    assert row.table["product"] == "Quyết định UBND tỉnh"
    assert "Trung tâm Khuyến công và XTTM" in row.table["partners"]
    assert row.table["group"].startswith("Tăng cường năng lực quản trị")
    assert row.section.startswith("Phụ lục > IV. Tăng cường năng lực quản trị") and row.section.endswith(" > 6")
    assert row.agencies[0] == "Sở Công Thương"
    assert row.province == "Khánh Hòa"
    assert "Cơ quan chủ trì: Sở Công Thương" in row.text and "Thời gian: Quý IV hàng năm" in row.text


def test_khanh_hoa_table_layout_quirks(docs):
    rows = _rows(docs["001"])
    assert len(rows) == 14
    assert all(set(r.table) == set(KEYS) for r in rows)
    # Repeated header rows are not records, group rows are not records.
    assert not any(r.table["task"].startswith("Nhiệm vụ, giải pháp") for r in rows)
    assert not any(r.table["stt"] in ("I", "II", "III", "IV") for r in rows)
    # Rows with an empty STT keep their group.
    no_stt = [r for r in rows if not r.table["stt"]]
    assert len(no_stt) == 2 and all(r.table["group"] for r in no_stt)
    # The appendix ends mid-table: the last row has no time; missing cells are "".
    last = rows[-1]
    assert last.table["lead"] == "Sở Xây dựng" and last.table["time"] == ""
    # The appendix's own header keeps the 232/QĐ-UBND reference (an inconsistency to show, not hide).
    assert any("232/QĐ-UBND" in c.text and c.section == "Phụ lục" for c in docs["001"].chunks)


def test_dak_nong_every_row_has_lead_and_time(docs):
    rows = _rows(docs["002"])
    assert len(rows) == 15
    for r in rows:
        assert r.table["lead"], r.table
        assert r.table["time"], r.table
        assert r.table["task"] and r.table["stt"].isdigit()
        assert set(r.table) == set(KEYS)
        assert r.agencies, r.section
    assert {r.table["group"].split(",")[0] for r in rows} >= {"Tuyên truyền"}
    first = rows[0]
    assert first.table["lead"] == "Phòng CSTT, PT HTX" and first.table["time"] == "Thường xuyên"
    assert first.section.startswith("Phụ lục > I. Tuyên truyền, nâng cao nhận thức") and first.section.endswith("> 1")


def test_kien_giang_page_break_sentence_is_whole(docs):
    sentence = (
        "Nghị định số 193/2013/NĐ-CP, ngày 21/11/2013, của Chính phủ, quy định chi tiết một số điều "
        "của Luật Hợp tác xã năm 2012;"
    )
    assert any(sentence in c.text for c in docs["003"].chunks)
    joined = [
        "làm cầu nối kết nối đầu vào, đầu ra",  # lines 57-59
        "có trách nhiệm tổ chức, chỉ đạo triển khai thực hiện nghiêm Chỉ thị này",  # lines 193-195
    ]
    for phrase in joined:
        assert any(phrase in c.text for c in docs["003"].chunks), phrase
    assert any("hợp đồng liên kết sản xuất và tiêu thụ sản phẩm với HTX được vay vốn ưu đãi để doanh nghiệp" in c.text
               for c in docs["003"].chunks)


def test_no_chunk_line_starts_as_a_broken_sentence(docs):
    for doc in docs.values():
        for c in doc.chunks:
            for line in c.text.split("\n"):
                first = line[:1]
                marker = re.match(r"^[a-zđ]\)", line)
                assert not (first.isalpha() and first.islower() and not marker), (c.doc_id, c.section, line[:80])


def test_chunk_ids_are_stable_and_unique(docs):
    for prefix, doc in docs.items():
        again = ingest_file(_path(prefix))
        assert [c.chunk_id for c in again.chunks] == [c.chunk_id for c in doc.chunks]
        assert [c.text for c in again.chunks] == [c.text for c in doc.chunks]
        ids = [c.chunk_id for c in doc.chunks]
        assert len(set(ids)) == len(ids)
        assert all(i.startswith(doc.meta.doc_id + "-") for i in ids)
        assert [c.order for c in doc.chunks] == list(range(len(doc.chunks)))


def test_every_chunk_fits_the_model_with_its_header(docs):
    for doc in docs.values():
        for c in doc.chunks:
            n = count_tokens(c.context_text())
            assert n <= MAX_TOKENS, (c.chunk_id, n)
            assert c.context_text().startswith(doc.meta.short_title)


def test_no_chunk_ends_mid_sentence(docs):
    for doc in docs.values():
        source_lines = {line.strip() for line in doc.text.split("\n") if line.strip()}
        for c in doc.chunks:
            if c.kind == "table_row":
                assert c.text.split("\n")[-1].split(":")[0] in ("Nhiệm vụ", "Cơ quan chủ trì", "Cơ quan phối hợp", "Sản phẩm", "Thời gian", "Ghi chú")
                continue
            last = c.text.rstrip().split("\n")[-1].strip()
            assert c.text.rstrip().endswith(SENTENCE_END) or last in source_lines, (c.chunk_id, c.section, last[-80:])


def test_signatures_and_recipients_do_not_pollute_chunks(docs):
    for doc in docs.values():
        for c in doc.chunks:
            for junk in ("Nơi nhận", "Lưu: VT", "Lê Hữu Hoàng", "Phạm Vũ Hồng", "Nguyễn Khải", "TM. ỦY BAN", "(đã ký)", "DN-1.21"):
                assert junk not in c.text, (c.chunk_id, junk)


def test_agencies_come_from_the_heading(docs):
    ct = [c for c in docs["003"].chunks if c.section == "6. Sở Công Thương"]
    assert len(ct) == 1 and ct[0].agencies == ("Sở Công Thương",)
    # The closing instructions are not filed under the last numbered agency (Hội Nông dân).
    closing = [c for c in docs["003"].chunks if "Định kỳ báo cáo kết quả thực hiện 6 tháng" in c.text]
    assert closing and closing[0].section == "Phần kết"
    nhnn = [c for c in docs["000"].chunks if "2.6. Ngân hàng Nhà nước" in c.section]
    assert nhnn and all(c.agencies[0] == "Ngân hàng Nhà nước chi nhánh tỉnh" for c in nhnn)


def test_section_labels_are_short_and_readable(docs):
    for doc in docs.values():
        for c in doc.chunks:
            assert all(len(p) <= 81 for p in c.heading_path), c.heading_path
            assert c.section == " > ".join(c.heading_path)
    sections = {c.section for c in docs["000"].chunks}
    assert any(s.endswith("> 2.7. Sở Công Thương") for s in sections)


def test_display_text_keeps_original_tone_marks(docs):
    doc = docs["004"]
    hits = [c for c in doc.chunks if "Uỷ ban MTTQ" in c.display_text]
    assert hits, "the original spelling 'Uỷ ban' should be kept for display"
    assert all("Ủy ban MTTQ" in c.text and "Uỷ" not in c.text for c in hits)


def test_manifest_overrides_and_bad_manifests(tmp_path, caplog):
    assert load_manifest(tmp_path / "absent.json") == {}
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="htx.ingest"):
        assert load_manifest(bad) == {}
    assert any("manifest" in r.getMessage() for r in caplog.records)
    wrong_shape = tmp_path / "list.json"
    wrong_shape.write_text("[1, 2]", encoding="utf-8")
    assert load_manifest(wrong_shape) == {}

    path = _path("004")
    good = tmp_path / "manifest.json"
    good.write_text(json.dumps({path.stem: {"number": "01/KH-LMHTX", "date": "2018-03-05", "bogus": "x"}}), encoding="utf-8")
    manifest = load_manifest(good)
    assert manifest == {path.stem: {"number": "01/KH-LMHTX", "date": "2018-03-05"}}
    doc = ingest_file(path, manifest=manifest)
    assert doc.meta.number == "01/KH-LMHTX" and doc.meta.date == "2018-03-05"
    assert doc.meta.short_title == "Kế hoạch 01/KH-LMHTX – Tây Ninh (2018)"
    assert doc.meta.province == "Tây Ninh"
    assert all(c.doc_title == doc.meta.short_title for c in doc.chunks)
