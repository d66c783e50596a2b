"""The understanding stage on its own: intents, entities, document references, follow-ups and
the condenser's acceptance rule. The analyzer is the index's real QueryAnalyzer (without a
diacritics model, so no index is needed). Phrasings are written for these tests, not taken
from the evaluation sets."""

from __future__ import annotations

import pytest

from assistant.answering.types import Turn
from assistant.answering.understand import Understander, documents_cited, documents_named, intents_of
from index.query import QueryAnalyzer


@pytest.fixture(scope="module")
def u() -> Understander:
    return Understander(QueryAnalyzer(None).analyze)


@pytest.mark.parametrize("question,intent", [
    ("Phòng Kinh tế huyện cần làm những gì để hỗ trợ tổ hợp tác?", "duty"),
    ("Mỗi năm tỉnh phấn đấu thành lập thêm bao nhiêu hợp tác xã?", "figure"),
    ("Hạn chót nộp báo cáo tổng kết là khi nào?", "deadline"),
    ("Ai chịu trách nhiệm thẩm định đề án thành lập quỹ?", "who"),
    ("Thành viên liên kết là gì?", "definition"),
    ("Thủ tục giải thể hợp tác xã gồm những bước nào?", "procedure"),
    ("Hợp tác xã cần đáp ứng điều kiện gì để được hỗ trợ?", "condition"),
    ("So sánh mục tiêu của hai tỉnh về đào tạo cán bộ.", "comparison"),
])
def test_intent_from_question_words(question, intent):
    assert intent in intents_of(question)


def test_plain_statement_is_general():
    assert intents_of("Kế hoạch hỗ trợ hợp tác xã nông nghiệp") == ("general",)


def test_document_references_are_found():
    refs = documents_named("Theo Nghị định số 92/2024/NĐ-CP và Luật Đất đai năm 2024, hợp tác xã được thuê đất ra sao?")
    assert "92/2024/NĐ-CP" in refs
    assert any(r.startswith("Luật Đất đai") for r in refs)


@pytest.mark.parametrize("question, ref", [
    ("Nghị định 87/2029 giới hạn vốn góp của mỗi xã viên ở mức nào?", "Nghị định 87/2029"),
    ("theo thông tư số 04/2031 thì hồ sơ gồm gì?", "thông tư số 04/2031"),
    ("Kế hoạch 45/2027 của tỉnh giao Sở Xây dựng làm gì?", "Kế hoạch 45/2027"),
])
def test_a_document_named_by_its_number_and_year_alone_is_a_reference(question, ref):
    """Users shorten a number to its number and year, leaving out the issuer's code."""
    assert ref in documents_named(question)


@pytest.mark.parametrize("question, ref", [
    ("luật htx 2012 quy định tối thiểu bao nhiêu thành viên?", "Luật HTX 2012"),
    ("theo luật KTTT thì sao?", "Luật KTTT"),
])
def test_a_law_typed_in_lower_case_with_an_abbreviated_name_is_a_reference(question, ref):
    assert ref in documents_named(question)


@pytest.mark.parametrize("question, ref", [
    ("luật TT&CN cấm những hành vi nào?", "Luật TT&CN"),
    ("Luật BVNTTS năm 2031 bắt buộc những gì với người nuôi?", "Luật BVNTTS năm 2031"),
    ("Luật TTCN 2030 áp dụng cho ai?", "Luật TTCN 2030"),
])
def test_a_law_named_by_its_initials_ends_with_them(question, ref):
    """Initials are the whole name (with the year, if one follows): the words after them are
    the question's, not the law's."""
    assert documents_named(question) == (ref,)


def test_a_code_s_name_is_not_read_as_a_law_s():
    assert documents_named("Theo Bộ luật Hàng hải, chủ tàu phải làm gì?") == ("Bộ luật Hàng hải",)


def test_a_full_number_is_not_read_twice_and_a_year_alone_is_no_reference():
    assert documents_named("Nghị định 87/2029/NĐ-CP quy định gì?") == ("87/2029/NĐ-CP",)
    assert documents_named("Đến năm 2030 có bao nhiêu HTX?") == ()


@pytest.mark.parametrize("question, name", [
    ("Theo Luật Bảo vệ môi trường, UBND xã chọn đơn vị thu gom rác thế nào?", "Luật Bảo vệ môi trường"),
    ("Luật Tố tụng hành chính quy định thời hiệu khởi kiện ra sao?", "Luật Tố tụng hành chính"),
    ("Theo Luật Du Lịch, hướng dẫn viên cần thẻ gì?", "Luật Du Lịch"),
    ("Luật Thủy sản về nuôi trồng quy định gì?", "Luật Thủy sản"),
])
def test_a_law_s_name_ends_at_a_word_that_ends_names_not_at_a_word_spelled_like_one(question, name):
    """Name ends are read with diacritics ("về" ends a name, "vệ" does not; "hành" of "hành
    chính" is part of it) and a capitalised word goes on with the name ("Du Lịch")."""
    assert name in documents_named(question)


@pytest.mark.parametrize("question, cited", [
    ("Theo Luật Thủy sản, tàu cá của HTX phải đăng ký ở đâu?", True),
    ("Xin hỏi Luật Lâm nghiệp quy định gì về rừng cộng đồng?", True),
    ("Căn cứ Thông tư 15/2030/TT-BTC thì HTX được miễn phí gì?", True),
    ("Báo cáo tình hình thi hành Luật Thủy sản do ai tổng hợp?", False),
    ("Hộ nuôi cá bị xử lý theo quy định của Luật Thủy sản khi nào?", False),
    # "theo <document>" later in the clause, then a question of content: what that document says
    ("Cho mình hỏi thủ tục cấp phép khai thác theo Luật Thủy sản gồm những bước gì?", True),
    ("Mức hỗ trợ đào tạo theo Thông tư 15/2030/TT-BTC là bao nhiêu?", True),
    ("Tàu cá vi phạm thì bị xử lý theo Luật Thủy sản không?", False),
])
def test_a_document_is_a_source_when_the_question_asks_what_it_says(question, cited):
    refs = documents_named(question)
    assert refs, question
    assert bool(documents_cited(question, refs)) is cited


def test_question_is_never_shortened(u):
    q = "Sở Nội vụ có vai trò gì trong củng cố hợp tác xã? Trả lời riêng cho từng tỉnh giúp tôi."
    query = u.understand(q)
    assert query.typed == q and query.text == q
    assert query.per_province


def test_full_name_and_abbreviation_are_one_agency(u):
    a = u.understand("Sở KH&ĐT phải làm gì?")
    b = u.understand("Sở Kế hoạch và Đầu tư phải làm gì?")
    assert a.agencies and a.agencies == b.agencies


def test_pronoun_follow_up_takes_the_previous_questions_agency(u):
    history = [Turn("user", "Liên minh Hợp tác xã tỉnh chủ trì những việc gì về đào tạo?"),
               Turn("assistant", "Sở Tài chính phối hợp bố trí kinh phí ... [1]")]
    query = u.understand("Họ phải làm xong việc đó trước thời điểm nào?", history)
    assert query.followup
    first = u.understand("Liên minh Hợp tác xã tỉnh chủ trì những việc gì về đào tạo?").agencies[0]
    assert query.agencies[:1] == (first,)  # the agency the user asked about, not one in the answer
    assert "deadline" in query.intents  # the intent is the new question's


def test_follow_up_after_a_refusal_carries_only_entities(u):
    history = [Turn("user", "Giá phân bón ở Kiên Giang tháng này bao nhiêu?"),
               Turn("assistant", "Các văn bản hiện có không đề cập đến nội dung này ...")]
    standalone = u.understand("Sở Tài chính tỉnh Lâm Đồng có nhiệm vụ gì?", history)
    assert standalone.text == "Sở Tài chính tỉnh Lâm Đồng có nhiệm vụ gì?"
    assert "phan" not in standalone.terms and "bon" not in standalone.terms  # nothing of the refused question
    leaning = u.understand("Vậy Sở Tài chính ở đó phải làm gì?", history)
    assert leaning.followup and leaning.provinces == ("Kiên Giang",)
    assert "phan" not in leaning.terms  # the refused topic is not carried, only the province


def test_elliptical_follow_up_switches_the_province(u):
    history = [Turn("user", "Sở Công Thương tỉnh Khánh Hòa được giao việc gì?")]
    query = u.understand("Còn Tây Ninh thì sao?", history)
    assert query.followup and query.provinces == ("Tây Ninh",)
    assert "Sở Công Thương" in query.text or query.agencies


def test_an_elliptical_follow_up_asks_the_earlier_kind_of_amount(u):
    """"Còn Tây Ninh thì sao?" after "… gửi báo cáo trước ngày nào?" asks for a date too; a
    follow-up that asks something of its own asks only that."""
    from assistant.answering.amounts import asked_kinds, question_forms

    history = [Turn("user", "Ở Khánh Hòa, phòng Kinh tế các huyện gửi báo cáo năm trước ngày nào?")]
    same = u.understand("Còn Tây Ninh thì sao?", history)
    assert asked_kinds(question_forms(same)) == ("date",)
    own = u.understand("Còn Tây Ninh thì phải lập mấy tổ hợp tác?", history)
    assert "date" not in asked_kinds(question_forms(own))
    by_noun = [Turn("user", "Khánh Hòa đặt vốn điều lệ của quỹ đến năm 2025 là bao nhiêu?")]
    assert asked_kinds(question_forms(u.understand("Còn Tây Ninh thì sao?", by_noun))) == ()
    # a follow-up with words of its own and an open question word asks what it says, not a count
    counted = [Turn("user", "Ở Khánh Hòa mỗi năm thành lập mới bao nhiêu tổ hợp tác?")]
    own_words = u.understand("Vậy còn Tây Ninh thì tổ hợp tác phải hoạt động theo nguyên tắc nào?", counted)
    assert asked_kinds(question_forms(own_words)) == ()


def test_condenser_output_is_used_only_when_it_adds_and_keeps_entities(u):
    history = [Turn("user", "Sở Tài chính tỉnh Khánh Hòa phải làm gì?")]
    same = u.understand("Còn Lâm Đồng thì sao?", history, condenser=lambda q, h: q)
    assert same.source == "rules"
    drops = u.understand("Còn Lâm Đồng thì sao?", history, condenser=lambda q, h: "Tỉnh phải làm gì?")
    assert drops.source == "rules"
    good = u.understand("Còn Lâm Đồng thì sao?", history,
                        condenser=lambda q, h: "Sở Tài chính tỉnh Lâm Đồng phải làm gì?")
    assert good.source == "llm" and good.text == "Sở Tài chính tỉnh Lâm Đồng phải làm gì?"

    def broken(q, h):
        raise TimeoutError("condenser down")

    assert u.understand("Còn Lâm Đồng thì sao?", history, condenser=broken).source == "rules"


def test_a_noun_with_a_demonstrative_points_back_to_the_earlier_turn(u):
    """"Quỹ đó", "mô hình ấy": whatever the noun, the question leans on the earlier turn and takes
    its province; "trong đó" (among which) points back to nothing."""
    history = [Turn("user", "Ở Bạc Liêu, cơ quan nào thành lập quỹ bảo lãnh tín dụng cho hợp tác xã?")]
    q = u.understand("Quỹ đó được cấp bao nhiêu vốn?", history)
    assert q.followup and q.provinces == ("Bạc Liêu",)
    other = u.understand("Có bao nhiêu HTX, trong đó bao nhiêu HTX nông nghiệp đạt chuẩn khá?", history)
    assert not other.provinces


@pytest.mark.parametrize("question,asked", [
    ("Theo Quyết định 51/QĐ-UBND của UBND tỉnh Cao Bằng, Sở Nội vụ phải làm gì?", ("Sở Nội vụ",)),
    ("Chương trình hành động của Liên minh HTX tỉnh giao Sở Công Thương việc gì?", ("Sở Công Thương",)),
    # the only agency named is kept, issuer or not
    ("Kế hoạch của UBND tỉnh Lạng Sơn có mấy phần?", ("Ủy ban nhân dân tỉnh",)),
    # named again outside the citation: asked about too
    ("Kế hoạch của Sở Tài chính giao UBND tỉnh và Sở Tài chính những việc gì?", None),
])
def test_the_issuer_of_a_cited_document_is_not_the_agency_asked_about(u, question, asked):
    q = u.understand(question)
    if asked is None:
        assert "Sở Tài chính" in q.agencies and len(q.agencies) == 2, q.agencies
    else:
        assert q.agencies == asked, q.agencies
        assert tuple(q.analysis.agencies) == asked  # the search favours the same agencies


@pytest.mark.parametrize("question, law", [
    ("Chỉ thị 1558/CT-UBND của Kiên Giang đánh giá HTX sau 5 năm làm theo Luật HTX 2012 còn những hạn chế gì?",
     "Luật HTX 2012"),
    ("Kế hoạch 87/KH-UBND nêu các HTX chuyển đổi theo Luật HTX năm 2012 còn những tồn tại gì?", "Luật HTX năm 2012"),
])
def test_a_document_after_the_clause_s_own_source_is_its_object(question, law):
    """A clause has one source: the document that opens it; a law named later, after "theo", is
    what that document speaks of, not a second source."""
    refs = documents_named(question)
    assert law in refs, refs
    assert law not in documents_cited(question, refs)
    assert law in documents_cited(f"Theo {law}, HTX phải có bao nhiêu thành viên?", documents_named(f"Theo {law}, HTX phải có bao nhiêu thành viên?"))
