"""Vocabulary from the data files: all provinces before and after the 2025 merger, the
old-to-new mapping, aliases, no false positives inside organisations' names; agencies with
rule-derived short forms, national bodies, 2025 renamings; user extensions from the data dir."""

from __future__ import annotations

import json

import pytest

from ingest import vocab as V
from ingest.vocab import (agency_successor, find_agencies, find_provinces, load_vocab, merged_from, merged_into,
                          related_provinces, short_forms)


def test_63_old_and_34_new_provinces():
    v = load_vocab(None)
    old = [p for p in v.provinces.values() if p.era in ("both", "old")]
    new = [p for p in v.provinces.values() if p.era in ("both", "new")]
    assert (len(old), len(new)) == (63, 34)
    assert sum(1 for p in new if not merged_from(p.name)) == 11  # unchanged
    for p in old:
        if p.era == "old":
            assert p.merged_into in {n.name for n in new}, p


@pytest.mark.parametrize("old, new", [("Hà Giang", "Tuyên Quang"), ("Vĩnh Phúc", "Phú Thọ"), ("Hòa Bình", "Phú Thọ"),
                                      ("Bình Dương", "Hồ Chí Minh"), ("Bà Rịa - Vũng Tàu", "Hồ Chí Minh"),
                                      ("Đắk Nông", "Lâm Đồng"), ("Kiên Giang", "An Giang"), ("Quảng Nam", "Đà Nẵng"),
                                      ("Hậu Giang", "Cần Thơ"), ("Kon Tum", "Quảng Ngãi")])
def test_old_province_maps_to_new(old, new):
    assert merged_into(old) == new
    assert old in merged_from(new)
    assert set(related_provinces(old)) == {old, new}
    assert old in related_provinces(new) and new == related_provinces(new)[0]


def test_unchanged_and_unknown():
    assert merged_into("Hà Nội") is None and merged_from("Hà Nội") == ()
    assert related_provinces("Huế") == ("Huế",)
    assert merged_into("Thừa Thiên Huế") is None
    assert related_provinces("Atlantis") == ()
    assert set(merged_from("Ninh Bình")) == {"Hà Nam", "Nam Định"}
    assert set(merged_from("Lâm Đồng")) == {"Đắk Nông", "Bình Thuận"}


@pytest.mark.parametrize("text, expected", [
    ("TP.HCM và tỉnh Bình Dương", ["Hồ Chí Minh", "Bình Dương"]),
    ("Thành phố Hồ Chí Minh", ["Hồ Chí Minh"]),
    ("tỉnh BR-VT", ["Bà Rịa - Vũng Tàu"]),
    ("Thừa Thiên Huế", ["Huế"]),
    ("hop tac xa o thanh hoa", ["Thanh Hóa"]),
    ("tỉnh Hòa Bình", ["Hòa Bình"]),
    ("Đoàn TNCS Hồ Chí Minh tỉnh Hà Tĩnh", ["Hà Tĩnh"]),
    ("học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh", []),
    ("Tư tưởng Hồ Chí Minh", []),
    ("vì hòa bình, hữu nghị và thái bình", []),
    ("hải dương học và chiến thắng Điện Biên Phủ", []),
])
def test_province_recognition(text, expected):
    assert find_provinces(text) == expected


def test_short_forms_by_rule_and_canonical_entity():
    assert {"Sở KH&ĐT", "Sở KHĐT", "Sở KH-ĐT"} <= set(short_forms("Sở Kế hoạch và Đầu tư"))
    assert "Sở NN&PTNT" in short_forms("Sở Nông nghiệp và Phát triển nông thôn")
    assert "Sở TN&MT" in short_forms("Sở Tài nguyên và Môi trường")
    for text in ("Sở Kế hoạch và Đầu tư", "Sở KH&ĐT", "Sở KHĐT", "so ke hoach va dau tu"):
        assert find_agencies(text) == ["Sở Kế hoạch và Đầu tư"], text
    assert find_agencies("Bộ KH&ĐT") == ["Bộ Kế hoạch và Đầu tư"]
    assert find_agencies("Sở NN&PTNT và Sở TN&MT") == ["Sở Nông nghiệp và Phát triển nông thôn", "Sở Tài nguyên và Môi trường"]


@pytest.mark.parametrize("text", ["Sở VH-TT&DL", "Sở VH,TT&DL", "Sở VHTT&DL", "sở vh-tt&dl", "Bộ VH-TT&DL"])
def test_a_comma_between_initials_is_written_as_a_dash_a_comma_or_nothing(text):
    """Names of three parts ("Văn hóa, Thể thao và Du lịch") are shortened with the comma as
    users write it."""
    expected = ("Bộ" if text.startswith("Bộ") else "Sở") + " Văn hóa, Thể thao và Du lịch"
    assert find_agencies(text) == [expected]


@pytest.mark.parametrize("text, expected", [
    ("Nhà nước đầu tư xây dựng các cơ sở văn hóa, thể thao và du lịch ở vùng sâu.", []),
    ("Đặt văn phòng giao dịch tại trụ sở tài chính của huyện.", []),
    ("Mỗi cơ sở tài chính vi mô và Sở Tài chính tỉnh phối hợp.", ["Sở Tài chính"]),
    ("so tai chinh huong dan gi", ["Sở Tài chính"]),
])
def test_so_inside_co_so_or_tru_so_is_no_department(text, expected):
    """"cơ sở" (a facility) and "trụ sở" (an office) hold the syllable "sở" of a department's name."""
    assert find_agencies(text) == expected


def test_national_bodies_and_2025_renamings():
    assert find_agencies("Thủ tướng Chính phủ giao Bộ Tài chính") == ["Thủ tướng Chính phủ", "Bộ Tài chính"]
    assert find_agencies("Quốc hội ban hành") == ["Quốc hội"]
    assert find_agencies("Liên minh HTX Việt Nam và Liên minh HTX tỉnh") == ["Liên minh Hợp tác xã Việt Nam", "Liên minh Hợp tác xã tỉnh"]
    assert agency_successor("Sở Nông nghiệp và Phát triển nông thôn") == "Sở Nông nghiệp và Môi trường"
    assert agency_successor("Sở Tài nguyên và Môi trường") == "Sở Nông nghiệp và Môi trường"
    assert agency_successor("Sở Kế hoạch và Đầu tư") == "Sở Tài chính"
    assert set(V.related_agencies("Sở Nông nghiệp và Môi trường")) >= {"Sở Nông nghiệp và Phát triển nông thôn", "Sở Tài nguyên và Môi trường"}


@pytest.mark.parametrize("text, expected", [
    ("Sở Y tế hướng dẫn an toàn thực phẩm cho HTX", ["Sở Y tế"]),
    ("Sở GD&ĐT và Sở Tư pháp phối hợp tuyên truyền", ["Sở Giáo dục và Đào tạo", "Sở Tư pháp"]),
    ("Ban Dân tộc tỉnh hỗ trợ HTX vùng đồng bào", ["Ban Dân tộc tỉnh"]),
    ("Công an tỉnh và Bộ Chỉ huy Quân sự tỉnh", ["Công an tỉnh", "Bộ Chỉ huy Quân sự tỉnh"]),
])
def test_every_standard_provincial_department_is_an_agency(text, expected):
    """The departments every province has, not only those the bundled plans name: a user's own
    plan assigns work to them, and a question about one is about that agency."""
    assert find_agencies(text) == expected


def test_no_aliases_copied_from_single_documents_in_python():
    from pathlib import Path

    src = Path(V.__file__).read_text(encoding="utf-8")
    for s in ("Điện lực Kiên Giang", "Báo Lâm Đồng", "Lâm Đồng\": ("):
        assert s not in src
    # The rule "Báo {province}" in the data file covers every province.
    assert find_agencies("Báo Lâm Đồng") == find_agencies("Báo Hà Tĩnh") == ["Báo và Đài Phát thanh - Truyền hình tỉnh"]


def test_user_vocabulary_from_the_data_dir(tmp_path):
    (tmp_path / "vocab").mkdir()
    (tmp_path / "vocab" / "agencies.json").write_text(json.dumps({"agencies": [
        {"name": "Ban Quản lý Khu kinh tế", "scope": "local", "aliases": ["BQLKKT"]}]}, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "vocab" / "provinces.json").write_text(json.dumps({"provinces": [
        {"name": "Hà Nội", "kind": "thành phố", "era": "both", "aliases": ["Thủ đô"]}]}, ensure_ascii=False), encoding="utf-8")
    v = load_vocab(tmp_path)
    assert v.find_agencies("BQLKKT chủ trì") == ["Ban Quản lý Khu kinh tế"]
    assert v.find_provinces("ở Thủ đô") == ["Hà Nội"]
    assert len(v.provinces) == len(load_vocab(None).provinces)  # replaced, not duplicated
    assert load_vocab(None).find_agencies("BQLKKT chủ trì") == []
    try:
        V.use_data_dir(tmp_path)
        assert find_agencies("Ban Quản lý Khu kinh tế") == ["Ban Quản lý Khu kinh tế"]
    finally:
        V.use_data_dir(None)
    assert find_agencies("Ban Quản lý Khu kinh tế") == []


def test_a_successor_s_documents_cover_an_old_province_only_from_the_merger_on():
    """Ninh Thuận merged into Khánh Hòa on 2025-07-01: Khánh Hòa's documents cover it only when
    issued from then on; a province's own documents, and those of the old provinces that merged
    into one, always cover it (undated documents are not known to be from after the merger)."""
    from ingest.vocab import covers

    assert not covers("Ninh Thuận", "Khánh Hòa", ["2021-01-25", None])
    assert covers("Ninh Thuận", "Khánh Hòa", ["2021-01-25", "2025-09-02"])
    assert covers("Khánh Hòa", "Ninh Thuận", ["2019-03-01"])
    assert covers("Khánh Hòa", "Khánh Hòa", [None])
