"""Diacritics restoration trained on the bundled corpus itself."""

from __future__ import annotations

import re

import pytest

from index.diacritics import DiacriticModel, accented_ratio
from index.query import QueryAnalyzer
from ingest.normalize import normalize_text, strip_diacritics


@pytest.fixture(scope="module")
def corpus_texts(corpus_dir):
    return [normalize_text(p.read_text(encoding="utf-8")) for p in sorted(corpus_dir.glob("*.txt"))]


@pytest.fixture(scope="module")
def model(corpus_texts):
    return DiacriticModel.train(corpus_texts)


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("So Cong Thuong phai lam gi?", "Sở Công Thương phải làm gì?"),
        ("Lien minh HTX tinh Dak Nong co nhiem vu gi", "Liên minh HTX tỉnh Đắk Nông có nhiệm vụ gì"),
        ("quy ho tro phat trien hop tac xa", "quỹ hỗ trợ phát triển hợp tác xã"),
        ("Ngan hang Nha nuoc chi nhanh tinh Kien Giang", "Ngân hàng Nhà nước chi nhánh tỉnh Kiên Giang"),
        ("ket qua thuc hien chuong trinh hanh dong", "kết quả thực hiện chương trình hành động"),
        ("so tai chinh bo tri kinh phi ho tro HTX", "sở tài chính bố trí kinh phí hỗ trợ HTX"),
        ("Hoi Nong dan Tay Ninh phoi hop tuyen truyen", "Hội Nông dân Tây Ninh phối hợp tuyên truyền"),
    ],
)
def test_restores_corpus_phrases(model, typed, expected):
    assert model.restore(typed).text == expected


def test_restoration_accuracy_on_corpus_sentences(model, corpus_texts):
    """Strip 60 real sentences of their diacritics and put them back: >= 95% of syllables."""
    sentences = []
    for text in corpus_texts:
        for s in re.split(r"(?<=[.;:])\s+", text):
            words = s.split()
            if 8 <= len(words) <= 40 and re.search(r"[a-zđ]", s):
                sentences.append(s)
    sample = sentences[:: max(1, len(sentences) // 60)][:60]
    assert len(sample) >= 40
    total = correct = 0
    for s in sample:
        restored = model.restore(strip_diacritics(s)).text
        a, b = restored.split(), s.split()
        assert len(a) == len(b)  # spacing and punctuation are kept
        total += len(b)
        correct += sum(x == y for x, y in zip(a, b))
    assert correct / total >= 0.95, correct / total


def test_keeps_what_is_already_accented_and_the_case(model):
    out = model.restore("SO Công Thuong Lâm Dong").text
    assert out == "SỞ Công Thương Lâm Đồng"


def test_leaves_numbers_abbreviations_and_unknown_words_alone(model):
    out = model.restore("HTX nam 2020 theo 12/CT-TTg, xyzzyq").text
    assert out == "HTX năm 2020 theo 12/CT-TTg, xyzzyq"


def test_corrects_typos_towards_corpus_syllables(model):
    r = model.restore("so cong thuongg phai lam gi")
    assert r.text == "sở công thương phải làm gì"
    assert r.corrected == (("thuongg", "thương"),)
    # s/x confusion, common in typed Vietnamese, fixed by context
    assert model.restore("hop tac sa nong nghiep").text == "hợp tác xã nông nghiệp"


def test_analyzer_restores_only_unaccented_questions(model):
    qa = QueryAnalyzer(model)
    a = qa.analyze("Ngan hang Nha nuoc Lam Dong chi dao gi ve QTDND?")
    assert a.had_diacritics is False
    assert a.restored.startswith("Ngân hàng Nhà nước Lâm Đồng chỉ đạo")
    assert a.provinces == ("Lâm Đồng",)
    assert "quỹ tín dụng nhân dân" in a.expanded
    typed = "Sở Công Thương phải làm gì cho HTX?"
    b = qa.analyze(typed)
    assert b.restored == b.normalized == typed  # an accented question is not touched


def test_accented_ratio():
    assert accented_ratio("so cong thuong") == 0.0
    assert accented_ratio("Sở Công Thương") == 1.0
    assert accented_ratio("2020 12") == 0.0
