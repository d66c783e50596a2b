"""Unit tests of the retrieval metrics (pure functions; no index, no model)."""

from __future__ import annotations

import pytest

from evals.metrics import (
    Passage,
    QuestionScore,
    first_hit_rank,
    hit_at_k,
    longest_common_substring,
    longest_prefix_in,
    longest_suffix_in,
    match_key,
    quote_coverage,
    quote_covered,
    quote_first_covered_rank,
    quote_recall_at_k,
    reciprocal_rank,
    recall_at_k,
    score_question,
    summarize,
    summarize_by_kind,
)

QUOTE = "Phấn đấu đến năm 2020 toàn tỉnh có từ 75% số HTX nông nghiệp được đầu tư điện ba pha phục vụ bơm tưới"


def P(text: str, doc: str = "d", pos: int = 0, display: str | None = None) -> Passage:
    return Passage.of(doc, pos, (text, display if display is not None else text))


def test_match_key_normalises_tones_unicode_dashes_and_whitespace():
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "Uỷ ban  nhân dân\n\ntỉnh – “HTX”")
    assert match_key(decomposed) == 'Ủy ban nhân dân tỉnh - "HTX"'
    assert match_key("**TM. ỦY BAN**") == "TM. ỦY BAN"


def test_string_primitives():
    assert longest_common_substring("abcdef", "xxcdexx") == 3
    assert longest_common_substring("abc", "zzabczz") == 3
    assert longest_common_substring("", "abc") == 0
    assert longest_prefix_in("abcdef", "..abc..") == 3
    assert longest_suffix_in("abcdef", "..def..") == 3
    assert longest_prefix_in("abcdef", "xyz") == 0


def test_exact_containment_is_covered_and_rank_is_position():
    passages = [P("một đoạn không liên quan về Sở Tài chính"), P("6. Sở Công Thương\n- " + QUOTE + ".")]
    assert quote_first_covered_rank(QUOTE, passages) == 2
    assert first_hit_rank([QUOTE], passages) == 2
    assert quote_covered(QUOTE, passages)


def test_whitespace_and_page_break_debris_do_not_matter():
    broken = QUOTE.replace("HTX nông", "HTX\n\n\n\nnông").replace("  ", " ")
    assert quote_covered(QUOTE, [P(broken)])
    # and the other way round: a quote copied with debris matches a cleaned chunk
    assert quote_covered(broken, [P(QUOTE)])


def test_partial_overlap_below_threshold_is_not_covered():
    # shares a long phrase but not 80% of the quote
    similar = "Phấn đấu đến năm 2020 toàn tỉnh có 300 HTX và 360 THT có chứng thực của UBND xã"
    assert not quote_covered(QUOTE, [P(similar)])
    assert quote_coverage(QUOTE, [P(similar)]) < 0.8


def test_tolerates_small_edits_inside_threshold():
    edited = QUOTE[:-12]  # chunk cut a few words before the end: still >= 80%
    assert len(edited) / len(QUOTE) >= 0.8
    assert quote_covered(QUOTE, [P(edited)])
    assert not quote_covered(QUOTE, [P(QUOTE[: len(QUOTE) // 2])])


def test_quote_split_across_two_adjacent_chunks_counts_at_later_rank():
    cut = len(QUOTE) // 2
    a = P("đầu đoạn trước. " + QUOTE[:cut], doc="kg", pos=7)
    b = P(QUOTE[cut:] + " và phần sau.", doc="kg", pos=8)
    other = P("không liên quan", doc="kg", pos=20)
    assert quote_first_covered_rank(QUOTE, [a, other, b]) == 3
    assert quote_first_covered_rank(QUOTE, [b, a]) == 2
    # not adjacent in the document (or another document): no credit
    far = P(QUOTE[cut:], doc="kg", pos=12)
    assert quote_first_covered_rank(QUOTE, [a, far]) is None
    other_doc = P(QUOTE[cut:], doc="ld", pos=8)
    assert quote_first_covered_rank(QUOTE, [a, other_doc]) is None


def test_overlapping_chunks_prefix_suffix_rule():
    # sliding windows: the second chunk repeats the end of the first
    a = P("x " + QUOTE[:70], doc="d", pos=1)
    b = P(QUOTE[40:] + " y", doc="d", pos=2)
    assert not quote_covered(QUOTE, [a]) and not quote_covered(QUOTE, [b])
    assert quote_covered(QUOTE, [a, b])
    assert quote_coverage(QUOTE, [a, b]) == pytest.approx(1.0)


def test_display_text_is_also_compared():
    p = Passage.of("d", 0, ("văn bản đã chuẩn hóa khác", "bản gốc: " + QUOTE))
    assert quote_covered(QUOTE, [p])


def test_hit_rr_recall_and_summaries():
    assert hit_at_k(1, 1) == 1.0 and hit_at_k(5, 5) == 1.0 and hit_at_k(6, 5) == 0.0 and hit_at_k(None, 5) == 0.0
    assert reciprocal_rank(2) == 0.5 and reciprocal_rank(None) == 0.0 and reciprocal_rank(7, cutoff=5) == 0.0
    assert recall_at_k([1, None, 4, 9], 5) == 0.5
    assert recall_at_k([], 5) == 0.0

    q2 = "Định kỳ báo cáo kết quả thực hiện 6 tháng (trước ngày 25 tháng 6)"
    passages = [P("không liên quan"), P(q2), P("x"), P("y"), P("z"), P(QUOTE)]
    assert quote_recall_at_k([QUOTE, q2], passages, 5) == 0.5
    assert quote_recall_at_k([QUOTE, q2], passages, 6) == 1.0
    s = score_question("q1", "numeric_target", [QUOTE, q2], passages)
    assert s.rank == 2 and s.quote_ranks == (6, 2)

    scores = [
        QuestionScore("a", "k1", 1, (1,)),
        QuestionScore("b", "k1", 3, (3, None)),
        QuestionScore("c", "k2", None, (None,)),
        QuestionScore("d", "k2", 8, (8,)),
    ]
    overall = summarize(scores)
    assert overall["n"] == 4
    assert overall["hit@1"] == pytest.approx(0.25)
    assert overall["hit@5"] == pytest.approx(0.5)
    assert overall["mrr"] == pytest.approx((1 + 1 / 3 + 0 + 1 / 8) / 4)
    assert overall["recall@5"] == pytest.approx((1 + 0.5 + 0 + 0) / 4)
    assert summarize(scores, mrr_cutoff=5)["mrr"] == pytest.approx((1 + 1 / 3) / 4)
    by_kind = summarize_by_kind(scores)
    assert by_kind["k1"]["hit@5"] == 1.0 and by_kind["k2"]["hit@5"] == 0.0
    assert summarize([])["n"] == 0


def test_unrelated_formulaic_text_does_not_count():
    # Legal boilerplate shares many short phrases; it must not add up to a hit.
    quote = "Phấn đấu mỗi năm thành lập mới thêm ít nhất 02 HTX"
    near = "Phấn đấu mỗi năm thành lập ít nhất 02 HTX giao thông vận tải"
    assert not quote_covered(quote, [P(near)])
