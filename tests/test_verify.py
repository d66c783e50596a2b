"""The verifier judges support, not overlap (issue 12): echo replies, figure/deadline questions
answered without one, sentences cited to the wrong passage, and answers that drop a document
the extractive evidence covers. Passages and replies are written here (Vietnamese, as users
and documents write), with real ``Chunk`` objects and the real vocabulary files."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from assistant.answering.generate import Generator
from assistant.answering.llm import Passage
from assistant.answering.types import Answer, Citation
from assistant.answering.verify import check_sentence, support_score, verify
from assistant.settings import Settings
from ingest.types import Chunk

LD = ("Bình quân hằng năm thành lập mới ít nhất 25 HTX và 30 tổ hợp tác có chứng thực của UBND xã. "
      "Hỗ trợ đào tạo nguồn nhân lực quản lý cho các HTX nông nghiệp, hướng dẫn xây dựng phương án sản xuất kinh doanh.")
KG = ("Sở Công Thương hỗ trợ các HTX tham gia hội chợ, triển lãm xúc tiến thương mại trong và ngoài tỉnh. "
      "Định kỳ trước ngày 15/12 hằng năm, các sở, ngành báo cáo kết quả thực hiện về Sở Kế hoạch và Đầu tư.")
KH = ("Tổ chức đào tạo, bồi dưỡng cán bộ quản lý HTX theo chương trình của tỉnh; phấn đấu đến năm 2025 có 70% "
      "cán bộ quản lý HTX đạt trình độ trung cấp trở lên.")


def _chunk(i: int, doc: str, province: str, text: str) -> Chunk:
    title = f"Kế hoạch phát triển kinh tế tập thể tỉnh {province}"
    return Chunk(f"c{i}", doc, title, province, "II > Nhiệm vụ", ("II", "Nhiệm vụ"), (), text, text)


CHUNKS = [_chunk(1, "doc_ld", "Lâm Đồng", LD), _chunk(2, "doc_kg", "Kiên Giang", KG), _chunk(3, "doc_kh", "Khánh Hòa", KH)]
PASSAGES = [Passage(i, c, c.text) for i, c in enumerate(CHUNKS, 1)]


def test_correct_paraphrase_is_accepted():
    reply = ("- Mỗi năm, tỉnh Lâm Đồng phấn đấu thành lập thêm tối thiểu 25 hợp tác xã và 30 tổ hợp tác [1]\n"
             "- Ở Khánh Hòa, mục tiêu đến năm 2025 là 70% cán bộ quản lý HTX có trình độ từ trung cấp trở lên [3]")
    v = verify(reply, PASSAGES, question="Các tỉnh đặt mục tiêu bao nhiêu HTX và tỷ lệ cán bộ được đào tạo?",
               intent=["figure"])
    assert v.ok, v.removed
    assert v.removed == []
    assert v.used == [1, 3]


def test_echo_of_the_question_is_rejected():
    question = "Lâm Đồng phấn đấu mỗi năm thành lập mới bao nhiêu HTX?"
    v = verify("- Lâm Đồng phấn đấu mỗi năm thành lập mới bao nhiêu HTX? [1]", PASSAGES, question=question)
    assert not v.ok and v.reason == "echo"
    v = verify("- Mỗi năm Lâm Đồng phấn đấu thành lập mới HTX [1]", PASSAGES, question=question)
    assert not v.ok and v.reason == "echo"


@pytest.mark.parametrize("intent", [["figure"], ["numeric"]])
def test_figure_question_without_a_figure_is_rejected(intent):
    question = "Lâm Đồng thành lập mới bao nhiêu HTX mỗi năm?"
    reply = "- Hằng năm Lâm Đồng thành lập mới các HTX và tổ hợp tác có chứng thực của UBND xã [1]"
    assert verify(reply, PASSAGES, question=question).ok  # without the intent it is a fine sentence
    v = verify(reply, PASSAGES, question=question, intent=intent)
    assert not v.ok and v.reason == "no_figure"


def test_deadline_question_without_a_date_is_rejected_and_with_one_accepted():
    question = "Các sở, ngành ở Kiên Giang báo cáo kết quả về Sở Kế hoạch và Đầu tư khi nào?"
    v = verify("- Các sở, ngành trong tỉnh gửi báo cáo kết quả thực hiện nhiệm vụ về Sở Kế hoạch và Đầu tư [2]", PASSAGES,
               question=question, intent=["deadline"])
    assert not v.ok and v.reason == "no_date"
    v = verify("- Trước ngày 15/12 mỗi năm, các sở, ngành gửi báo cáo kết quả thực hiện về Sở Kế hoạch và Đầu tư [2]",
               PASSAGES, question=question, intent=["deadline"])
    assert v.ok, v.removed


def test_sentence_cited_to_the_wrong_passage_is_rejected():
    # A sentence of [3] cited as [1]: it shares enough syllables with [1] for the old overlap
    # rule, but [3] supports it far better.
    sentence = "Tổ chức đào tạo, bồi dưỡng cán bộ quản lý HTX theo chương trình của tỉnh"
    assert check_sentence(sentence + " [1]", [PASSAGES[0]]) is None
    assert support_score(sentence, PASSAGES[2].support_text) > support_score(sentence, PASSAGES[0].support_text)
    v = verify(f"- {sentence} [1]", PASSAGES)
    assert not v.ok and v.reason == "wrong_passage"
    assert v.removed[0]["why"] == "wrong_passage:[3]"
    # Named entities found only in another passage: also the wrong passage.
    v = verify("- Sở Công Thương hỗ trợ các HTX tham gia hội chợ, triển lãm xúc tiến thương mại [1]", PASSAGES)
    assert not v.ok and v.reason == "wrong_passage"


def test_wrong_passage_sentence_is_removed_and_the_rest_kept():
    reply = ("- Bình quân mỗi năm thành lập mới ít nhất 25 HTX ở Lâm Đồng [1]\n"
             "- Tổ chức đào tạo, bồi dưỡng cán bộ quản lý HTX theo chương trình của tỉnh [1]")
    v = verify(reply, PASSAGES)
    assert v.ok
    assert "bồi dưỡng" not in v.text and "25 HTX" in v.text
    assert [r["why"] for r in v.removed] == ["wrong_passage:[3]"]


def _extractive() -> Answer:
    cites = [Citation(1, "doc_ld", CHUNKS[0].doc_title, "Lâm Đồng", "II", LD.split(". ")[0], "c1", LD),
             Citation(2, "doc_kg", CHUNKS[1].doc_title, "Kiên Giang", "II", KG.split(". ")[0], "c2", KG)]
    text = (f"Lâm Đồng — {CHUNKS[0].doc_title}:\n- {cites[0].text} [1]\n\n"
            f"Kiên Giang — {CHUNKS[1].doc_title}:\n- {cites[1].text} [2]")
    return Answer(text, cites, question="Các tỉnh hỗ trợ HTX như thế nào?", metadata={"intent": ["duty"]})


def test_answer_dropping_a_province_gets_its_extractive_block():
    gen = Generator(SimpleNamespace(system_prompt=""), Settings(), {c.chunk_id: c for c in CHUNKS}.get)
    passages = PASSAGES[:2]
    reply = "- Lâm Đồng phấn đấu mỗi năm thành lập mới ít nhất 25 HTX và 30 tổ hợp tác [1]"
    ans = gen.accept(_extractive(), reply, passages, {})
    assert ans.mode == "llm"
    assert {c.province for c in ans.citations} == {"Lâm Đồng", "Kiên Giang"}
    assert ans.metadata["appended_from_extractive"] == [{"province": "Kiên Giang", "doc_id": "doc_kg", "citations": [3]}]
    assert "Kiên Giang" in ans.answer and "hội chợ, triển lãm xúc tiến thương mại trong và ngoài tỉnh [3]" in ans.answer
    assert [c.n for c in ans.citations] == [1, 3]


def test_answer_keeping_every_province_appends_nothing():
    gen = Generator(SimpleNamespace(system_prompt=""), Settings(), {c.chunk_id: c for c in CHUNKS}.get)
    reply = ("- Lâm Đồng: mỗi năm thành lập mới ít nhất 25 HTX [1]\n"
             "- Kiên Giang: Sở Công Thương giúp HTX đến hội chợ, triển lãm xúc tiến thương mại [2]")
    ans = gen.accept(_extractive(), reply, PASSAGES[:2], {})
    assert ans.mode == "llm", ans.metadata
    assert "appended_from_extractive" not in ans.metadata
