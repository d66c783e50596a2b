"""A question that asks for an amount in a unit is answered only by a passage that states a
number in that unit (``assistant/answering/amounts.py``). The phrasings and passages here are
written for these tests; none comes from an evaluation set."""

from __future__ import annotations

import json

import pytest

from assistant.answering.amounts import asked_kinds, check


@pytest.mark.parametrize("question,kinds", [
    ("Phí cấp bản sao hồ sơ là bao nhiêu tiền một bộ?", ("money",)),
    ("Mỗi xã viên được vay tối đa bao nhiêu triệu?", ("money",)),
    ("Tỷ lệ vốn góp của một thành viên không quá bao nhiêu phần trăm vốn điều lệ?", ("percent",)),
    ("Lãi suất ưu đãi là bao nhiêu %/năm?", ("percent",)),
    ("Chuồng trại phải cách nguồn nước tối thiểu bao nhiêu mét?", ("length",)),
    ("Diện tích kho tối thiểu bao nhiêu m2?", ("area",)),
    ("Giấy phép có giá trị trong mấy năm?", ("duration",)),
    ("Hồ sơ được giải quyết trong bao lâu?", ("duration",)),
    ("Từ bao nhiêu tuổi thì được làm giám đốc?", ("age",)),
])
def test_the_kind_of_amount_asked_is_read_from_the_ask_word_and_its_unit(question, kinds):
    assert set(asked_kinds(question)) == set(kinds)


@pytest.mark.parametrize("question", [
    "Tỉnh có bao nhiêu hợp tác xã nông nghiệp?",  # a count of things: no unit of measure
    "Sở Tài chính phải làm gì về quỹ hỗ trợ?",
    "Kế hoạch thực hiện đến năm nào?",
    "Báo cáo gửi trước ngày nào?",
])
def test_questions_that_ask_no_amount_in_a_unit_are_not_checked(question):
    assert asked_kinds(question) == ()
    assert not check(question, ["Không có con số nào ở đây."]).none_stated


@pytest.mark.parametrize("passage", [
    "Mức cho vay tối đa 300 triệu đồng đối với mỗi thành viên.",
    "mức cho vay không quá 1.500.000.000 đồng",
    "được hỗ trợ từ 20 - 50 triệu",
    "cho vay tối đa ba trăm triệu đồng",
])
def test_an_amount_is_stated_in_digits_ranges_or_number_words(passage):
    assert not check("Được vay tối đa bao nhiêu tiền?", [passage]).missing


def test_a_passage_on_the_topic_without_the_amount_does_not_state_it():
    c = check("Hộ kinh doanh được vay tối đa bao nhiêu tiền?",
              ["Ngân hàng chính sách xã hội cho hộ kinh doanh vay vốn ưu đãi theo quy định.",
               "Thời hạn cho vay tối đa 36 tháng."])
    assert c.none_stated and c.missing == ("money",) and c.labels == ("số tiền",)


def test_several_amounts_asked_one_stated_names_the_other():
    c = check("Lãi suất bao nhiêu %/năm và vay được mấy năm?", ["Lãi suất cho vay bằng 0,5%/tháng."])
    assert not c.none_stated and c.missing == ("duration",)


def test_users_can_add_a_unit_in_their_vocabulary_folder(tmp_path):
    import ingest.vocab as V

    (tmp_path / "vocab").mkdir()
    (tmp_path / "vocab" / "units.json").write_text(json.dumps({"units": {
        "weight": {"label": "khối lượng", "asked": ["kg", "tấn"], "stated": ["kg", "tấn"]}}}, ensure_ascii=False),
        encoding="utf-8")
    try:
        V.use_data_dir(tmp_path)
        assert asked_kinds("Mỗi vụ thu mua tối thiểu bao nhiêu tấn?") == ("weight",)
        assert check("Mỗi vụ thu mua tối thiểu bao nhiêu tấn?", ["thu mua 15 tấn lúa"]).missing == ()
        assert asked_kinds("Lãi suất bao nhiêu phần trăm?") == ("percent",)  # the packaged kinds stay
    finally:
        V.use_data_dir(None)
    assert asked_kinds("Mỗi vụ thu mua tối thiểu bao nhiêu tấn?") == ()


def test_the_amount_is_looked_for_in_the_passages_that_hold_the_question_s_topic_words():
    """A percentage in a passage about growth does not state an interest rate: when the topic
    word occurs in some passages, the amount must be in one of them, lead-in and list items
    read together; when it occurs in none (a paraphrase), any passage may state it."""
    growth = "Doanh thu của hợp tác xã tăng 8-10% mỗi năm."
    fund = "Quỹ cho hợp tác xã vay với lãi suất ưu đãi."
    q = "Quỹ cho vay với lãi suất bao nhiêu phần trăm?"
    assert check(q, [growth, fund], ["lãi suất"]).none_stated
    assert not check("Quỹ cho vay bao nhiêu phần trăm?", [growth, fund], []).none_stated
    assert not check(q, [growth, fund + " Lãi suất cho vay bằng 0,3%/tháng."], ["lãi suất"]).none_stated
    article = ("1. Nam, nữ kết hôn với nhau phải tuân theo các điều kiện sau đây:\n"
               "a) Nam từ đủ 20 tuổi trở lên, nữ từ đủ 18 tuổi trở lên;")
    assert not check("Nam nữ bao nhiêu tuổi thì được kết hôn?", [article, "Hôn nhân một vợ một chồng."],
                     ["kết hôn"]).none_stated
    paraphrase = check("Tài xế phải bao nhiêu tuổi?", ["Người lái xe phải đủ 18 tuổi."], ["tài xế"])
    assert not paraphrase.none_stated


@pytest.mark.parametrize("question, kind", [
    ("Cho tôi xin số điện thoại của Liên minh Hợp tác xã tỉnh.", "phone"),
    ("cho xin sdt phong ke hoach de hoi thu tuc", "phone"),
    ("so dien thoai cua quy ho tro la gi", "phone"),
    ("Đường dây nóng của Sở là số nào?", "phone"),
    ("Cho biết số tài khoản của Quỹ để chuyển tiền góp vốn.", "account"),
    ("Địa chỉ email liên hệ của Ban quản lý là gì?", "email"),
])
def test_a_value_with_a_format_of_its_own_is_asked_for(question, kind):
    assert kind in asked_kinds(question)


@pytest.mark.parametrize("question", [
    "Có được gửi yêu cầu cung cấp thông tin qua thư điện tử không?",
    "Hợp tác xã được hỗ trợ máy móc nào?",
])
def test_mentioning_a_channel_is_not_asking_for_a_contact(question):
    assert not {"phone", "email", "account"} & set(asked_kinds(question))


@pytest.mark.parametrize("passage, stated", [
    ("Mọi thắc mắc liên hệ Văn phòng, điện thoại: 0263.3822.123.", True),
    ("ĐT: (0297) 3862 456", True),
    ("Hotline 0912345678 hoạt động 24/7.", True),
    ("Hỗ trợ 1.000.000 đồng mỗi hợp tác xã, thành lập mới 05-07 hợp tác xã năm 2021.", False),
    ("Văn phòng tiếp nhận hồ sơ qua điện thoại và thư điện tử.", False),
])
def test_a_phone_number_is_stated_only_in_its_format(passage, stated):
    assert check("Cho tôi xin số điện thoại của Văn phòng.", [passage]).none_stated is not stated


@pytest.mark.parametrize("question, kind", [
    ("Lãi suất vay vốn của quỹ tín dụng nhân dân là bao nhiêu?", "percent"),
    ("Thuế suất áp dụng với hợp tác xã là bao nhiêu vậy?", "percent"),
    ("Lệ phí cấp giấy chứng nhận đăng ký là bao nhiêu?", "money"),
    ("Mức lương tối thiểu của giám đốc là bao nhiêu?", "money"),
    ("Vốn điều lệ của quỹ khi thành lập là bao nhiêu?", "money"),
])
def test_a_quantity_named_by_its_noun_then_asked_for_is_an_amount(question, kind):
    assert kind in asked_kinds(question)


@pytest.mark.parametrize("question", [
    "Số lượng hợp tác xã là bao nhiêu?",  # "lượng" is not "lương"
    "Lãi suất ưu đãi áp dụng thế nào? Bao nhiêu hợp tác xã được vay?",  # the noun and the interrogative in two sentences
    "Hợp tác xã tham gia bao nhiêu chương trình?",  # "gia" is not "giá"
])
def test_a_noun_outside_the_asking_clause_asks_for_nothing(question):
    assert not asked_kinds(question)


def test_a_quantity_named_by_its_noun_is_stated_only_where_the_noun_is():
    """A percentage of growth is no interest rate, even when nothing else names the topic."""
    growth = "Doanh thu của hợp tác xã tăng 8-10% mỗi năm."
    q = "Lãi suất cho vay của quỹ là bao nhiêu?"
    assert check(q, [growth, "Quỹ cho vay với lãi suất ưu đãi."]).none_stated
    assert not check(q, [growth, "Quỹ cho vay với lãi suất 0,5%/tháng."]).none_stated
    assert not check(q, [growth, "Lãi suất cho vay: 6 phần trăm một năm."]).none_stated
