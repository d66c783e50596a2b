"""What the documents in a question's scope contain (assistant.answering.scope): topic words,
numbers and the agency asked about, checked against the documents themselves. The documents
here are written for these tests, so the checks are seen to follow the documents, not a list."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.answering.corpus import build_snapshot, number_key
from assistant.answering.scope import check, scope_docs, topic_words
from assistant.answering.understand import Query
from ingest.pipeline import ingest_file

PLAN_A = (
    "ỦY BAN NHÂN DÂN TỈNH HÀ TĨNH\nSố: 21/KH-UBND\nHà Tĩnh, ngày 5 tháng 3 năm 2024\n\nKẾ HOẠCH\n"
    "Phát triển hợp tác xã nông nghiệp năm 2024\n\nI. NHIỆM VỤ\n"
    "1. Sở Tài chính\n- Bố trí kinh phí hỗ trợ hợp tác xã xây dựng kho lạnh bảo quản nông sản.\n"
    "2. Liên minh Hợp tác xã tỉnh\n- Tổ chức 12 lớp tập huấn về quản trị cho giám đốc hợp tác xã.\n")
PLAN_B = (
    "ỦY BAN NHÂN DÂN TỈNH QUẢNG TRỊ\nSố: 8/KH-UBND\nQuảng Trị, ngày 9 tháng 5 năm 2024\n\nKẾ HOẠCH\n"
    "Hỗ trợ hợp tác xã năm 2024\n\nI. NHIỆM VỤ\n"
    "1. Sở Công Thương\n- Hỗ trợ hợp tác xã tham gia hội chợ và sàn thương mại điện tử; "
    "lãi suất cho vay ưu đãi thực hiện theo quy định của ngân hàng.\n")


def _snapshot(tmp_path: Path, texts: dict[str, str]):
    chunks, metas = [], {}
    for name, text in texts.items():
        path = tmp_path / f"{name}.txt"
        path.write_text(text, encoding="utf-8")
        doc = ingest_file(path)
        chunks.extend(doc.chunks)
        metas[doc.meta.doc_id] = doc.meta
    return build_snapshot(("test", tuple(sorted(texts))), chunks, metas)


def _query(text: str, agencies=(), provinces=(), intents=("general",)) -> Query:
    return Query(typed=text, text=text, restored=text, intents=intents, agencies=tuple(agencies),
                 provinces=tuple(provinces))


def _docs_of(snap, province: str) -> tuple[str, ...]:
    return scope_docs(snap, (province,))


def test_topic_words_leave_out_question_words_and_entities():
    q = _query("Lãi suất ưu đãi của Sở Tài chính là bao nhiêu và thủ tục như thế nào?", agencies=("Sở Tài chính",))
    words = topic_words(q)
    assert "lãi suất" in words and "ưu đãi" in words
    assert not any(w in words for w in ("bao nhiêu", "thế nào", "như thế nào", "thủ tục", "tài chính"))


def test_a_word_no_document_in_scope_uses_is_absent_until_a_document_uses_it(tmp_path):
    q = _query("Lãi suất cho vay ưu đãi đối với hợp tác xã ở Hà Tĩnh là bao nhiêu?", provinces=("Hà Tĩnh",))
    one = _snapshot(tmp_path, {"a": PLAN_A})
    facts = check(q, one, _docs_of(one, "Hà Tĩnh"))
    assert "lãi suất" in facts.absent_words and "hợp tác xã" not in facts.absent_words
    both = _snapshot(tmp_path, {"a": PLAN_A, "b": PLAN_B})
    # Quảng Trị's plan uses the word, but it is not in the scope of a question about Hà Tĩnh ...
    assert "lãi suất" in check(q, both, _docs_of(both, "Hà Tĩnh")).absent_words
    # ... and is when the question is about Quảng Trị or names no province.
    q_qt = _query("Lãi suất cho vay ưu đãi đối với hợp tác xã ở Quảng Trị là bao nhiêu?", provinces=("Quảng Trị",))
    assert "lãi suất" not in check(q_qt, both, _docs_of(both, "Quảng Trị")).absent_words
    assert "lãi suất" not in check(_query("Lãi suất cho vay ưu đãi là bao nhiêu?"), both, scope_docs(both, ())).absent_words


def test_an_agency_the_provinces_documents_do_not_name_is_absent(tmp_path):
    snap = _snapshot(tmp_path, {"a": PLAN_A, "b": PLAN_B})
    q = _query("Sở Công Thương tỉnh Hà Tĩnh phải làm gì?", agencies=("Sở Công Thương",), provinces=("Hà Tĩnh",))
    assert check(q, snap, _docs_of(snap, "Hà Tĩnh")).absent_agencies == ("Sở Công Thương",)
    q2 = _query("Sở Công Thương tỉnh Quảng Trị phải làm gì?", agencies=("Sở Công Thương",), provinces=("Quảng Trị",))
    assert check(q2, snap, _docs_of(snap, "Quảng Trị")).absent_agencies == ()


def test_every_agency_the_question_names_is_checked_not_only_the_first(tmp_path):
    """"Theo kế hoạch của Liên minh HTX, Sở Công Thương phải làm gì?": the plan names the
    Liên minh but not the Sở, and the duty is asked of the Sở."""
    snap = _snapshot(tmp_path, {"a": PLAN_A, "b": PLAN_B})
    q = _query("Theo kế hoạch của Liên minh Hợp tác xã tỉnh Hà Tĩnh, Sở Công Thương phải làm gì?",
               agencies=("Liên minh Hợp tác xã tỉnh", "Sở Công Thương"), provinces=("Hà Tĩnh",))
    facts = check(q, snap, _docs_of(snap, "Hà Tĩnh"))
    assert facts.absent_agencies == ("Sở Công Thương",) and facts.province_agency_absent
    both = _query("Sở Tài chính và Liên minh Hợp tác xã tỉnh Hà Tĩnh phải làm gì?",
                  agencies=("Sở Tài chính", "Liên minh Hợp tác xã tỉnh"), provinces=("Hà Tĩnh",))
    assert check(both, snap, _docs_of(snap, "Hà Tĩnh")).absent_agencies == ()


LAW_WORDS = ("LUẬT\nTHƯƠNG MẠI NÔNG THÔN\n\nĐiều 1. Phạm vi điều chỉnh\nLuật này khuyến khích các cơ sở "
             "công nghiệp và hộ công thương nghiệp ở nông thôn liên kết với hợp tác xã.\n")


def test_a_law_that_holds_an_agency_s_words_does_not_name_a_province_s_agency(tmp_path):
    """"cơ sở công nghiệp", "công thương nghiệp" hold the words of "Sở Công Thương" and assign it nothing: a
    question about Hà Tĩnh's Sở Công Thương finds it absent (Hà Tĩnh's plan does not name it),
    while a question naming no province reads the law's words as before."""
    snap = _snapshot(tmp_path, {"a": PLAN_A, "law": LAW_WORDS})
    q = _query("Sở Công Thương tỉnh Hà Tĩnh phải làm gì?", agencies=("Sở Công Thương",), provinces=("Hà Tĩnh",))
    facts = check(q, snap, _docs_of(snap, "Hà Tĩnh"))
    assert facts.absent_agencies == ("Sở Công Thương",) and facts.province_agency_absent
    anywhere = _query("Sở Công Thương phải làm gì?", agencies=("Sở Công Thương",))
    assert check(anywhere, snap, scope_docs(snap, ())).absent_agencies == ()
    # named nowhere, but the question names no province: said, not refused for (decide.fact_reason)
    unnamed = check(_query("Sở Xây dựng phải làm gì?", agencies=("Sở Xây dựng",)), snap, scope_docs(snap, ()))
    assert unnamed.absent_agencies == ("Sở Xây dựng",) and not unnamed.province_agency_absent


def test_numbers_are_compared_without_separators_or_leading_zeros(tmp_path):
    assert number_key("15.000") == number_key("15000") and number_key("02") == number_key("2")
    snap = _snapshot(tmp_path, {"a": PLAN_A})
    docs = scope_docs(snap, ())
    assert check(_query("Hà Tĩnh tổ chức 12 lớp tập huấn cho ai?"), snap, docs).absent_numbers == ()
    assert check(_query("Hà Tĩnh tổ chức 40 lớp tập huấn cho ai?"), snap, docs).absent_numbers == ("40",)


LAW = ("LUẬT\nTHỦY LỢI\n\nĐiều 1. Phạm vi điều chỉnh\nLuật này quy định về hoạt động thủy lợi đến năm 2035 "
       "và trách nhiệm của Sở Tài chính.\n")


def test_a_year_the_provinces_own_documents_never_name_is_a_period_they_do_not_cover(tmp_path):
    """Hà Tĩnh's plan is for 2024: a question about Hà Tĩnh in 2030 asks for a period it does not
    cover, though a national law in scope names years of its own; a question naming no
    province is not checked (a law's text seldom carries its year)."""
    snap = _snapshot(tmp_path, {"a": PLAN_A, "law": LAW})
    docs = _docs_of(snap, "Hà Tĩnh")
    assert len(docs) == 2  # the plan and the national law
    later = _query("Đến năm 2035, Hà Tĩnh hỗ trợ hợp tác xã xây kho lạnh thế nào?", provinces=("Hà Tĩnh",))
    assert check(later, snap, docs).absent_years == ("2035",)
    assert check(later, snap, docs).absent_numbers == ()  # the law names 2035: not absent from the scope
    same = _query("Năm 2024 Hà Tĩnh hỗ trợ hợp tác xã xây kho lạnh thế nào?", provinces=("Hà Tĩnh",))
    assert check(same, snap, docs).absent_years == ()
    nowhere = _query("Luật Thủy lợi năm 2017 quy định gì về trách nhiệm của Sở Tài chính?")
    assert check(nowhere, snap, scope_docs(snap, ())).absent_years == ()
    # a number that is not a year (a count, an amount) is not a period
    count = _query("Hà Tĩnh tổ chức 2500 lớp tập huấn cho ai?", provinces=("Hà Tĩnh",))
    assert check(count, snap, docs).absent_years == ()


PLAN_QB = (
    "ỦY BAN NHÂN DÂN TỈNH QUẢNG BÌNH\nSố: 40/KH-UBND\nQuảng Bình, ngày 2 tháng 4 năm 2021\n\nKẾ HOẠCH\n"
    "Phát triển kinh tế tập thể giai đoạn 2021-2030\n\nI. MỤC TIÊU\n"
    "- Đến năm 2030, toàn tỉnh có 450 hợp tác xã nông nghiệp hoạt động hiệu quả.\n")


def test_a_year_only_a_merged_province_s_plan_names_is_not_the_named_province_s_target(tmp_path):
    """Quảng Bình merged into Quảng Trị in 2025, so a question about either reads both plans; but
    a target year of Quảng Trị is looked for in Quảng Trị's own plan: Quảng Bình's 2030 target is
    not Quảng Trị's. When the named province has no plan of its own, the merged one's counts."""
    snap = _snapshot(tmp_path, {"qt": PLAN_B, "qb": PLAN_QB})
    both = scope_docs(snap, ("Quảng Trị", "Quảng Bình"))
    assert len(both) == 2
    qt = _query("Quảng Trị đặt mục tiêu đến năm 2030 có bao nhiêu hợp tác xã?", provinces=("Quảng Trị",))
    assert check(qt, snap, both).absent_years == ("2030",)
    qb = _query("Quảng Bình đặt mục tiêu đến năm 2030 có bao nhiêu hợp tác xã?", provinces=("Quảng Bình",))
    assert check(qb, snap, both).absent_years == ()
    (tmp_path / "only").mkdir()
    only_qb = _snapshot(tmp_path / "only", {"qb": PLAN_QB})
    assert check(qt, only_qb, scope_docs(only_qb, ("Quảng Trị", "Quảng Bình"))).absent_years == ()


def test_a_merged_province_s_plan_is_a_partner_whose_amounts_are_not_the_named_province_s(tmp_path):
    """A question about Quảng Trị reads Quảng Bình's plan too (merged in 2025); an amount asked
    is looked for in Quảng Trị's own plan (and national documents), so Quảng Bình's figures do
    not answer it. When Quảng Trị has no plan of its own, nothing is set aside."""
    from assistant.answering.amounts import check as amount_check

    snap = _snapshot(tmp_path, {"qt": PLAN_B, "qb": PLAN_QB})
    both = scope_docs(snap, ("Quảng Trị", "Quảng Bình"))
    qt = _query("Quảng Trị đặt mục tiêu có bao nhiêu hợp tác xã?", provinces=("Quảng Trị",))
    partners = check(qt, snap, both).partners
    assert [snap.docs[d].province for d in partners] == ["Quảng Bình"]
    chunks = [c for cs in snap.by_doc.values() for c in cs]
    own = [c.text for c in chunks if c.doc_id not in partners]
    every = [c.text for c in chunks]
    assert not amount_check("Quảng Trị đặt mục tiêu bao nhiêu hợp tác xã?", every).none_stated
    assert amount_check("Quảng Trị đặt mục tiêu bao nhiêu hợp tác xã?", own).none_stated
    (tmp_path / "only").mkdir()
    only_qb = _snapshot(tmp_path / "only", {"qb": PLAN_QB})
    assert check(qt, only_qb, scope_docs(only_qb, ("Quảng Trị", "Quảng Bình"))).partners == ()


# --- through the answering pipeline, on the bundled corpus ---------------------------------------


def test_an_agency_the_province_does_not_mention_is_refused_and_named(answerer):
    """Any duty quoted would be another agency's or another province's: refused, with the agency
    named and related passages offered."""
    ans = answerer.ask("Điện lực tỉnh Tây Ninh phải làm gì cho hợp tác xã?")
    assert ans.refused and ans.metadata["refusal_reason"] == "agency_not_in_scope", ans.answer
    assert "không nhắc đến Điện lực" in ans.answer and ans.related, ans.answer
    other = answerer.ask("Điện lực Kiên Giang phải làm gì cho hợp tác xã?")
    assert not other.refused and "không nhắc đến Điện lực" not in other.answer, other.answer


def test_a_department_the_province_s_plans_never_name_is_refused_and_named(answerer):
    """Sở Y tế is a department of every province, though no bundled plan assigns it work."""
    ans = answerer.ask("Kế hoạch của Lâm Đồng giao Sở Y tế những nhiệm vụ gì về HTX?")
    assert ans.refused and ans.metadata["refusal_reason"] == "agency_not_in_scope", ans.answer
    assert "Sở Y tế" in ans.answer, ans.answer


def test_a_year_the_province_s_documents_do_not_cover_is_refused_and_named(answerer):
    ans = answerer.ask("Đến năm 2035 Kiên Giang muốn có bao nhiêu hợp tác xã?")
    assert ans.refused and ans.metadata["refusal_reason"] == "period_not_covered", ans.answer
    assert "2035" in ans.answer, ans.answer
    covered = answerer.ask("Đến năm 2020 Kiên Giang muốn bao nhiêu phần trăm HTX nông nghiệp có điện ba pha?")
    assert not covered.refused and "75%" in covered.answer, covered.answer


@pytest.mark.parametrize("question", [
    "Sở Tài chính tỉnh Lâm Đồng phải làm gì?",
    "Tây Ninh phấn đấu thành lập mới bao nhiêu tổ hợp tác?",
])
def test_answerable_questions_name_nothing_absent(answerer, question):
    ans = answerer.ask(question)
    assert not ans.refused and "không nhắc đến" not in ans.answer, ans.answer


def test_a_figure_asked_of_a_document_not_loaded_is_refused_and_the_document_named(answerer):
    """A figure quoted from a loaded plan is not the unloaded decree's figure."""
    ans = answerer.ask("Theo Nghị định 99/2031/NĐ-CP, mỗi hợp tác xã được hỗ trợ tối đa bao nhiêu?")
    assert ans.refused and ans.metadata["refusal_reason"] == "document_not_loaded", ans.answer
    assert "99/2031/NĐ-CP" in ans.answer and "chưa được nạp" in ans.answer, ans.answer


def test_a_question_about_how_loaded_plans_cite_an_unloaded_law_is_answered(answerer):
    ans = answerer.ask("Kiên Giang triển khai Luật Hợp tác xã theo những nghị định nào?")
    assert not ans.refused and "NĐ-CP" in ans.answer, ans.answer


@pytest.mark.parametrize("question", [
    "Theo Luật Thủy sản, HTX nuôi cá lồng trên sông phải đăng ký với cơ quan nào?",
    "Cho mình hỏi Luật Lâm nghiệp quy định HTX được giao rừng sản xuất trong trường hợp nào?",
    "Căn cứ Nghị định 77/2032/NĐ-CP thì HTX nào được ưu tiên vay vốn?",
])
def test_anything_asked_of_what_an_unloaded_document_says_is_refused(answerer, question):
    """What the loaded plans say is not what the named law or decree says, whatever is asked."""
    ans = answerer.ask(question)
    assert ans.refused and ans.metadata["refusal_reason"] == "document_not_loaded", ans.answer
    assert "chưa được nạp" in ans.answer, ans.answer


def test_an_unloaded_law_named_as_the_object_of_a_plan_s_work_is_answered(answerer):
    """The plans speak of implementing the 2012 law: a question about that work is theirs."""
    ans = answerer.ask("Tây Ninh phối hợp tuyên truyền việc thi hành Luật Hợp tác xã năm 2012 như thế nào?")
    assert not ans.refused, ans.answer


def test_the_topic_words_of_every_sentence_are_kept_for_locating_an_amount(tmp_path):
    """A message that sets the scene in one sentence and asks in another ("Em soạn bài tập huấn
    … . Báo cáo năm nộp trước ngày nào?"): the amount is looked for where either sentence's
    words are, not only where the best-covered sentence's are."""
    snap = _snapshot(tmp_path, {"a": PLAN_A})
    q = _query("Em đang soạn bài giảng về kho lạnh cho giám đốc hợp tác xã. Báo cáo năm gửi Sở Tài chính trước ngày nào?",
               provinces=("Hà Tĩnh",))
    facts = check(q, snap, _docs_of(snap, "Hà Tĩnh"))
    assert "báo cáo" in facts.all_words and "giám đốc" in facts.all_words
    assert set(facts.words) <= set(facts.all_words)
