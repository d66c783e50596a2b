"""Lexical analysis, abbreviation expansion, fusion and query understanding (no model needed)."""

from __future__ import annotations

import pytest

from index.fusion import fuse, minmax, rrf_fusion, weighted_fusion
from index.query import QueryAnalyzer
from index.text import analyze, analyze_query, content_terms, expand_abbreviations, fast_fold, syllables
from ingest.normalize import fold, normalize_text


@pytest.mark.parametrize(
    "typed, expansion",
    [
        ("HTX", "hợp tác xã"),
        ("htx", "hợp tác xã"),
        ("THT", "tổ hợp tác"),
        ("LHHTX", "liên hiệp hợp tác xã"),
        ("UBND", "ủy ban nhân dân"),
        ("Sở KH&ĐT", "kế hoạch và đầu tư"),
        ("So KH&DT", "kế hoạch và đầu tư"),
        ("Sở KH & ĐT", "kế hoạch và đầu tư"),
        ("Sở NN&PTNT", "nông nghiệp và phát triển nông thôn"),
        ("QTDND", "quỹ tín dụng nhân dân"),
        ("MTTQ", "mặt trận tổ quốc"),
        ("OCOP", "mỗi xã một sản phẩm"),
    ],
)
def test_abbreviations_expand_with_or_without_diacritics(typed, expansion):
    out = expand_abbreviations(f"Hỏi về {typed} ở tỉnh")
    assert expansion in out
    assert out.startswith("Hỏi về ")  # the text around is kept
    assert out.rstrip().endswith("ở tỉnh")


def test_abbreviation_inside_a_word_is_not_expanded():
    assert expand_abbreviations("CHTXA và khtx") == "CHTXA và khtx"


def test_abbreviations_expand_on_passages_and_questions_alike():
    # A passage that only says "HTX" matches a question that spells it out, and vice versa.
    passage = set(analyze("Các HTX nông nghiệp"))
    assert {"hop_tac", "tac_xa", "htx"} <= passage
    question = set(analyze_query("hợp tác xã nông nghiệp"))
    assert {"hop_tac", "tac_xa"} <= question


def test_token_streams_folded_pairs_and_exact():
    toks = analyze("Sở Công Thương Khánh Hòa")
    assert {"so", "cong", "thuong", "khanh", "hoa"} <= set(toks)  # folded syllables
    assert {"so_cong", "cong_thuong", "khanh_hoa"} <= set(toks)  # folded pairs
    assert {"=sở", "=công", "=thương", "=hòa"} <= set(toks)  # exact syllables
    assert analyze("Khánh Hoà") == analyze("Khánh Hòa")  # old/new tone placement


def test_question_tokens_drop_function_words():
    toks = analyze_query("Sở Công Thương phải làm gì?")
    assert "phai" not in toks and "gi" not in toks and "lam" not in toks
    assert "thuong" in toks and "cong_thuong" in toks
    assert len(toks) == len(set(toks))


def test_syllables_and_content_terms():
    assert syllables("Sở Công Thương, năm 2020!") == ["sở", "công", "thương", "năm", "2020"]
    assert content_terms("HTX phải làm gì") == ["htx", "hop", "tac", "xa"]


def test_minmax_and_weighted_fusion_are_bounded():
    lex = {"a": 12.0, "b": 6.0, "c": 0.5}
    den = {"b": 0.91, "d": 0.85, "a": 0.80}
    assert minmax(lex) == {"a": 1.0, "b": pytest.approx(5.5 / 11.5), "c": 0.0}
    fused = weighted_fusion(lex, den, 0.6)
    assert set(fused) == {"a", "b", "c", "d"}
    assert all(0.0 <= v <= 1.0 for v in fused.values())
    assert fused["a"] == pytest.approx(0.6)  # best lexical, worst dense
    assert fused["b"] == pytest.approx(0.6 * 5.5 / 11.5 + 0.4)
    assert weighted_fusion(lex, den, 1.0)["a"] == 1.0
    assert weighted_fusion(lex, den, 0.0)["b"] == 1.0


def test_rrf_is_bounded_and_rewards_agreement():
    lex = {"a": 3.0, "b": 2.0, "c": 1.0}
    den = {"a": 0.9, "c": 0.8, "b": 0.1}
    fused = rrf_fusion(lex, den, 0.5)
    assert fused["a"] == pytest.approx(1.0)  # first in both lists
    assert fused["a"] > fused["c"] and fused["a"] > fused["b"]
    assert all(0.0 <= v <= 1.0 for v in fused.values())
    with pytest.raises(ValueError):
        fuse("magic", lex, den, 0.5)


def test_query_analysis_recognises_provinces_and_agencies_without_diacritics():
    qa = QueryAnalyzer(None)
    a = qa.analyze("So KH&DT tinh Khanh Hoa phai lam gi cho HTX?")
    assert a.provinces == ("Khánh Hòa",)
    assert "Sở Kế hoạch và Đầu tư" in a.agencies
    assert a.had_diacritics is False
    assert "hợp tác xã" in a.expanded and "kế hoạch và đầu tư" in a.expanded

    b = qa.analyze("  Sở NN&PTNT   Đắk Nông và Liên minh HTX tỉnh ")
    assert b.normalized == "Sở NN&PTNT Đắk Nông và Liên minh HTX tỉnh"
    assert b.provinces == ("Đắk Nông",)
    assert set(b.agencies) >= {"Sở Nông nghiệp và Phát triển nông thôn", "Liên minh Hợp tác xã tỉnh"}
    assert b.had_diacritics is True


def test_query_normalisation_matches_ingest_normalisation():
    qa = QueryAnalyzer(None)
    typed = "Uỷ ban nhân dân tỉnh Khánh Hoà"
    assert qa.analyze(typed).normalized == normalize_text(typed)


def test_fast_fold_equals_fold(corpus_dir):
    import unicodedata

    samples = [p.read_text(encoding="utf-8") for p in sorted(corpus_dir.glob("*.txt"))]
    samples += ["ĐẮK NÔNG Ủy ban Khánh Hoà ỹ ỳ ẵ ậ", unicodedata.normalize("NFD", "Đắk Nông Khánh Hòa"), "Ǹ ß ø ç"]
    for text in samples:
        assert fast_fold(text) == fold(text)
