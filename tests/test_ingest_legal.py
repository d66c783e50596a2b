"""Legal documents: structure (Phần / Chương / Mục / Điều / khoản / điểm, definitions),
metadata of every kind of document (type, number, issuer, dates, scope, province), and
retrieval with provinces (2025 mergers, national documents) and named documents.
Every document is written here, in its official layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.chunker import MAX_TOKENS
from ingest.pipeline import ingest_file
from ingest.tokens import count_tokens

LAW = """QUỐC HỘI
CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc
Luật số: 17/2023/QH15
LUẬT
HỢP TÁC XÃ
Căn cứ Hiến pháp nước Cộng hòa xã hội chủ nghĩa Việt Nam;
Quốc hội ban hành Luật Hợp tác xã.

Phần thứ nhất
NHỮNG QUY ĐỊNH CHUNG

Chương I
PHẠM VI VÀ ĐỐI TƯỢNG

Điều 1. Phạm vi điều chỉnh
Luật này quy định về việc thành lập, tổ chức quản lý và hoạt động của tổ hợp tác, hợp tác xã, liên hiệp hợp tác xã.

Điều 2. Giải thích từ ngữ
Trong Luật này, các từ ngữ dưới đây được hiểu như sau:
1. Hợp tác xã là tổ chức kinh tế có tư cách pháp nhân do ít nhất 05 thành viên chính thức tự nguyện thành lập, hợp tác tương trợ trong sản xuất, kinh doanh.
2. Thành viên liên kết là thành viên không góp vốn, có nhu cầu sử dụng sản phẩm, dịch vụ của hợp tác xã.
3. Tổ hợp tác là tổ chức không có tư cách pháp nhân, do ít nhất 02 cá nhân tự nguyện thành lập.

Chương II
THÀNH VIÊN HỢP TÁC XÃ

Mục 1
ĐIỀU KIỆN TRỞ THÀNH THÀNH VIÊN

Điều 7. Điều kiện trở thành thành viên
1. Cá nhân là công dân Việt Nam đủ 18 tuổi trở lên, có năng lực hành vi dân sự đầy đủ.
2. Hộ gia đình có người đại diện hợp pháp, đáp ứng các điều kiện sau:
a) Có đơn tự nguyện gia nhập hợp tác xã;
b) Góp vốn theo quy định của Điều lệ;
đ) Cam kết thực hiện Điều lệ hợp tác xã.
3. Pháp nhân Việt Nam theo quy định của pháp luật.

Mục 2
QUYỀN VÀ NGHĨA VỤ

Điều 8. Quyền của thành viên
{long}
Điều 9. Nghĩa vụ của thành viên
Thành viên có nghĩa vụ tuân thủ Điều lệ và quy chế của hợp tác xã.
"""
_CLAUSE = ("Thành viên chính thức được hưởng lợi ích theo mức độ sử dụng sản phẩm, dịch vụ, được chia lãi theo vốn góp, "
           "được tham gia quyết định các vấn đề của hợp tác xã, được cung cấp thông tin về hoạt động, được đào tạo và bồi dưỡng, ")
LONG_ARTICLE = "\n".join(f"{i}. {_CLAUSE * 2}quyền thứ {i}." for i in range(1, 9))

DECREE = """CHÍNH PHỦ
CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc
Số: 45/2021/NĐ-CP
Hà Nội, ngày 31 tháng 3 năm 2021
NGHỊ ĐỊNH
Về việc thành lập và quản lý Quỹ hỗ trợ phát triển hợp tác xã
Căn cứ Luật Tổ chức Chính phủ ngày 19 tháng 6 năm 2015;
Căn cứ Luật Hợp tác xã ngày 20 tháng 11 năm 2012;
Chính phủ ban hành Nghị định về việc thành lập và quản lý Quỹ hỗ trợ phát triển hợp tác xã.

Chương I
QUY ĐỊNH CHUNG

Điều 1. Phạm vi điều chỉnh
Nghị định này quy định về thành lập, tổ chức, quản lý, hoạt động của Quỹ hỗ trợ phát triển hợp tác xã trung ương và địa phương, kể cả tại tỉnh Gia Lai.

Điều 2. Cho vay
Quỹ hỗ trợ phát triển hợp tác xã cho vay với lãi suất ưu đãi đối với các dự án sản xuất kinh doanh của hợp tác xã. Bộ Tài chính hướng dẫn, Cục Kinh tế hợp tác và Phát triển nông thôn theo dõi việc cho vay.

Chương II
ĐIỀU KHOẢN THI HÀNH

Điều 3. Hiệu lực thi hành
Nghị định này có hiệu lực thi hành từ ngày 15 tháng 5 năm 2021.
"""

CIRCULAR = """BỘ KẾ HOẠCH VÀ ĐẦU TƯ
CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc
Số: 09/2024/TT-BKHĐT
Hà Nội, ngày 10 tháng 5 năm 2024
THÔNG TƯ
Hướng dẫn thực hiện chương trình hỗ trợ phát triển kinh tế tập thể
Căn cứ Quyết định số 1804/QĐ-TTg ngày 13 tháng 11 năm 2020 của Thủ tướng Chính phủ;
Bộ trưởng Bộ Kế hoạch và Đầu tư ban hành Thông tư hướng dẫn.

Điều 1. Phạm vi điều chỉnh
Thông tư này hướng dẫn nội dung hỗ trợ hợp tác xã theo Quyết định 1804/QĐ-TTg, áp dụng cả tỉnh Gia Lai và tỉnh Đắk Lắk.

Điều 2. Đối tượng áp dụng
Hợp tác xã, liên hiệp hợp tác xã, tổ hợp tác và các cơ quan có liên quan.

Điều 3. Hiệu lực
Thông tư này có hiệu lực từ ngày 01/7/2024.
"""

HA_TINH_PLAN = """ỦY BAN NHÂN DÂN TỈNH HÀ TĨNH
CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Số: 120/KH-UBND
Hà Tĩnh, ngày 05 tháng 4 năm 2022
KẾ HOẠCH
Phát triển kinh tế tập thể năm 2022
I. MỤC TIÊU
1. Phát triển mới 50 hợp tác xã nông nghiệp trên địa bàn tỉnh, học tập kinh nghiệm theo Quyết định số 52/QĐ-UBND của UBND tỉnh Khánh Hòa.
II. NHIỆM VỤ
1. Đoàn TNCS Hồ Chí Minh tỉnh hỗ trợ thanh niên khởi nghiệp thành lập hợp tác xã.
2. Sở Kế hoạch và Đầu tư tổng hợp kết quả thực hiện hợp tác xã, báo cáo UBND tỉnh.
"""

QUANG_BINH_PLAN = """ỦY BAN NHÂN DÂN TỈNH QUẢNG BÌNH
Số: 77/KH-UBND
Quảng Bình, ngày 12 tháng 3 năm 2021
KẾ HOẠCH
Hỗ trợ hợp tác xã nông nghiệp vay vốn
I. NỘI DUNG
1. Quỹ hỗ trợ phát triển hợp tác xã tỉnh cho vay vốn ưu đãi đối với hợp tác xã nông nghiệp ứng dụng công nghệ cao.
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def law(tmp_path_factory):
    d = tmp_path_factory.mktemp("law")
    return ingest_file(_write(d, "luat-htx.txt", LAW.replace("{long}", LONG_ARTICLE)))


def test_law_metadata_is_national(law):
    m = law.meta
    assert (m.doc_type, m.number, m.issuer, m.scope, m.province) == ("Luật", "17/2023/QH15", "Quốc hội", "national", None)
    assert m.title == "Luật Hợp tác xã"
    assert all(c.province is None for c in law.chunks)


def test_law_sections_read_part_chapter_section_article(law):
    by_article = {}
    for c in law.chunks:
        if c.section.startswith("Phần mở đầu"):
            continue
        arts = [p for p in c.heading_path if p.startswith("Điều ")]
        assert len(arts) == 1, c.section  # every chunk belongs to exactly one article
        by_article.setdefault(arts[0], []).append(c)
        assert c.heading_path[0] == "Phần thứ nhất. Những quy định chung"
    c7 = by_article["Điều 7. Điều kiện trở thành thành viên"]
    assert len(c7) == 1
    assert c7[0].section == ("Phần thứ nhất. Những quy định chung > Chương II. Thành viên hợp tác xã > "
                             "Mục 1. Điều kiện trở thành thành viên > Điều 7. Điều kiện trở thành thành viên")
    assert "a) Có đơn tự nguyện" in c7[0].text and "đ) Cam kết" in c7[0].text
    # The chapter / section titles are headings, never glued to the previous article.
    c1 = by_article["Điều 1. Phạm vi điều chỉnh"][0]
    assert "THÀNH VIÊN" not in c1.text and "Chương" not in c1.text
    assert c1.section.endswith("Chương I. Phạm vi và đối tượng > Điều 1. Phạm vi điều chỉnh")
    assert by_article["Điều 9. Nghĩa vụ của thành viên"][0].heading_path[-2] == "Mục 2. Quyền và nghĩa vụ"


def test_long_article_splits_at_khoan_repeating_its_title(law):
    pieces = [c for c in law.chunks if "Điều 8. Quyền của thành viên" in c.heading_path]
    assert len(pieces) >= 2
    for c in pieces:
        assert "Điều 8. Quyền của thành viên" in c.context_text()
        assert c.extra["tokens"] <= MAX_TOKENS
        assert "Điều 9" not in c.text
    joined = "\n".join(c.text for c in pieces)
    for i in range(1, 9):
        assert f"quyền thứ {i}." in joined
    # Pieces start at a khoản.
    assert all(c.text.startswith(("Điều 8", "1.", "2.", "3.", "4.", "5.", "6.", "7.", "8.")) for c in pieces)


def test_definitions_give_one_unit_per_term(law):
    defs = [c for c in law.chunks if c.kind == "definition"]
    assert [c.extra["term"] for c in defs] == ["Hợp tác xã", "Thành viên liên kết", "Tổ hợp tác"]
    for c in defs:
        assert "Điều 2. Giải thích từ ngữ" in c.heading_path
        assert c.extra["term"] in c.heading_path[-1] and c.extra["term"] in c.text
    assert defs[1].section.endswith("Điều 2. Giải thích từ ngữ > Khoản 2. Thành viên liên kết")


def test_decree_header(tmp_path):
    doc = ingest_file(_write(tmp_path, "nd45.txt", DECREE))
    m = doc.meta
    assert (m.doc_type, m.number, m.issuer, m.date) == ("Nghị định", "45/2021/NĐ-CP", "Chính phủ", "2021-03-31")
    assert m.effective_date == "2021-05-15"
    assert (m.scope, m.province) == ("national", None)  # "Hà Nội, ngày" and "tỉnh Gia Lai" do not make it provincial
    assert m.title.startswith("Nghị định về việc thành lập và quản lý Quỹ hỗ trợ phát triển hợp tác xã")
    assert {c.province for c in doc.chunks} == {None}
    c = next(c for c in doc.chunks if "Điều 2. Cho vay" in c.heading_path)
    assert c.section == "Chương I. Quy định chung > Điều 2. Cho vay"
    # Agencies named in the text, known ones canonical, others found by rule.
    assert {"Bộ Tài chính", "Cục Kinh tế hợp tác và Phát triển nông thôn"} <= set(c.agencies)


def test_circular_citing_a_decision_keeps_its_own_type_and_number(tmp_path):
    doc = ingest_file(_write(tmp_path, "tt09.txt", CIRCULAR))
    m = doc.meta
    assert (m.doc_type, m.number, m.issuer) == ("Thông tư", "09/2024/TT-BKHĐT", "Bộ Kế hoạch và Đầu tư")
    assert (m.date, m.effective_date) == ("2024-05-10", "2024-07-01")
    assert (m.scope, m.province) == ("national", None)
    assert "1804" not in m.short_title
    assert [c.heading_path[-1] for c in doc.chunks if c.kind == "text"][-1] == "Điều 3. Hiệu lực"


def test_ha_tinh_plan_is_not_ho_chi_minh_nor_khanh_hoa(tmp_path):
    doc = ingest_file(_write(tmp_path, "kh120.txt", HA_TINH_PLAN))
    m = doc.meta
    assert (m.doc_type, m.number, m.issuer, m.scope, m.province) == ("Kế hoạch", "120/KH-UBND", "UBND tỉnh Hà Tĩnh", "province", "Hà Tĩnh")
    assert {c.province for c in doc.chunks} == {"Hà Tĩnh"}
    c = next(c for c in doc.chunks if "Đoàn TNCS" in c.text)
    assert c.section.startswith("II. Nhiệm vụ")
    assert "Tỉnh Đoàn" in c.agencies


def test_chunking_a_huge_paragraph_covers_it_within_the_limit(tmp_path):
    words = ("hợp tác xã", "thành viên", "vốn góp", "kinh tế", "tập thể", "phát triển", "hỗ trợ", "nông nghiệp")
    para = " ".join(f"{words[i % 8]} {i}," if i % 13 else f"{words[i % 8]} {i}." for i in range(30000))
    para = para[:200_000].rsplit(" ", 1)[0]
    assert len(para) > 190_000 and "\n" not in para
    doc = ingest_file(_write(tmp_path, "huge.txt", "KẾ HOẠCH\nPhát triển kinh tế tập thể\nI. NỘI DUNG\n" + para + "\n"))
    body = [c for c in doc.chunks if c.section.startswith("I.")]
    assert len(body) > 50
    for c in body:
        assert count_tokens(c.context_text()) <= MAX_TOKENS
    covered = " ".join(c.text for c in body).replace("I. NỘI DUNG", "").split()
    assert covered == para.split()


# --- retrieval: provinces after the 2025 merger, national documents, named documents ------

@pytest.fixture(scope="module")
def legal_store(tmp_path_factory):
    from conftest import make_settings

    from assistant.runtime import build_store, ingest_paths

    d = tmp_path_factory.mktemp("legal")
    corpus = d / "corpus"
    corpus.mkdir()
    for name, text in (("nd45.txt", DECREE), ("kh120-ha-tinh.txt", HA_TINH_PLAN), ("kh77-quang-binh.txt", QUANG_BINH_PLAN),
                       ("tt09.txt", CIRCULAR)):
        _write(corpus, name, text)
    settings = make_settings(d)
    store = build_store(settings)
    results = ingest_paths(store, [corpus], settings)
    assert all(r.ok for r in results), results
    return store


def test_pre_2025_province_in_a_question_finds_its_and_national_documents(legal_store):
    from index.types import SearchFilters
    from ingest.vocab import related_provinces

    assert set(related_provinces("Quảng Trị")) == {"Quảng Trị", "Quảng Bình"}
    q = "Quỹ hỗ trợ phát triển hợp tác xã ở Quảng Trị cho vay thế nào?"
    analysis = legal_store.analyze(q)
    assert "Quảng Trị" in analysis.provinces
    hits = legal_store.search(q, k=10, filters=SearchFilters(provinces=analysis.provinces))
    provinces = {h.chunk.province for h in hits}
    assert provinces == {"Quảng Bình", None}  # the old province's plan and the national decree
    assert "Hà Tĩnh" not in provinces
    only = legal_store.search(q, k=10, filters=SearchFilters(provinces=("Quảng Trị",), national=False))
    assert only and {h.chunk.province for h in only} == {"Quảng Bình"}


def test_a_document_named_by_number_ranks_first(legal_store):
    q = "Theo Nghị định số 45/2021/NĐ-CP, hợp tác xã được hỗ trợ gì?"
    analysis = legal_store.analyze(q)
    assert analysis.documents == ("Nghị định 45/2021/NĐ-CP",)
    assert legal_store.retriever.match_documents(legal_store._snapshot, analysis) == ("nd45",)
    hits = legal_store.search(q, k=3)
    assert hits[0].chunk.doc_id == "nd45"
    missing = legal_store.analyze("Nghị định số 92/2024/NĐ-CP quy định gì về hợp tác xã?")
    assert missing.documents and legal_store.retriever.match_documents(legal_store._snapshot, missing) == ()


def test_docs_json_lists_the_new_fields(legal_store):
    docs = {d.meta.doc_id: d for d in legal_store.documents()}
    assert (docs["nd45"].meta.scope, docs["nd45"].meta.province) == ("national", None)
    assert (docs["kh77-quang-binh"].meta.scope, docs["kh77-quang-binh"].meta.province) == ("province", "Quảng Bình")
