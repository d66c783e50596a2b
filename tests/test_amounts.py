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
    ("Bị phạt tiền bao nhiêu nếu không đăng ký tàu cá?", ("money",)),  # "nếu" is no counted noun
    ("Mấy xã viên này không góp vốn thì HTX có được khai trừ không?", ()),  # "these few members"
    ("Thôn đó có mấy tổ hợp tác ấy thành lập năm nào?", ()),
    ("Hợp tác xã vướng mắc về mấy chuyện gì khi giải thể?", ()),  # which matters: a list answers it
    ("Tổ hợp tác phải nộp cho xã mấy giấy tờ nào?", ()),
    # a verb whose object is money, then the ask word with no noun after it
    ("Vậy mỗi tổ hợp tác được vay tối đa bao nhiêu từ ngân hàng chính sách?", ("money",)),
    ("Hộ kinh doanh phải đóng bao nhiêu mỗi năm?", ("money",)),
    ("Xả rác ra kênh thì bị phạt bao nhiêu vậy?", ("money",)),
    ("Phải nộp bao nhiêu bộ hồ sơ?", ()),  # a count of sets: listing answers it
    ("Vay bao nhiêu năm thì phải trả hết?", ("duration",)),
])
def test_the_kind_of_amount_asked_is_read_from_the_ask_word_and_its_unit(question, kinds):
    assert set(asked_kinds(question)) == set(kinds)


@pytest.mark.parametrize("question", [
    "Có bao nhiêu nhiệm vụ được giao cho Sở Tư pháp?",  # a count by listing: the list answers it
    "Sở Tài chính phải làm gì về quỹ hỗ trợ?",
    "Kế hoạch thực hiện đến năm nào?",
    "Cần bao nhiêu người để lập tổ hợp tác?",  # people are counted under many names
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
        "volume": {"label": "thể tích", "asked": ["lít", "khối"], "stated": ["lít", "m3"]}}}, ensure_ascii=False),
        encoding="utf-8")
    try:
        V.use_data_dir(tmp_path)
        assert asked_kinds("Bể chứa tối thiểu bao nhiêu lít?") == ("volume",)
        assert check("Bể chứa tối thiểu bao nhiêu lít?", ["bể chứa 500 lít nước"]).missing == ()
        assert asked_kinds("Lãi suất bao nhiêu phần trăm?") == ("percent",)  # the packaged kinds stay
    finally:
        V.use_data_dir(None)
    # without it, the unit is read as a count: still a number before the word
    assert asked_kinds("Bể chứa tối thiểu bao nhiêu lít?") == ("count",)


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


def test_a_passage_holds_a_topic_word_through_its_abbreviation():
    """The topic word "tổ hợp tác" is in "12 THT": the passage that writes the abbreviation is
    read with the others, not left out for the one that spells the word and states nothing."""
    spelled = "Vận động nông dân tham gia tổ hợp tác ở các xã vùng sâu."
    abbreviated = "Năm 2019 thành lập mới 12 THT và 3 HTX."
    q = "Năm 2019 thành lập bao nhiêu tổ hợp tác?"
    assert not check(q, [spelled, abbreviated], ["tổ hợp tác"]).none_stated
    assert check(q, [spelled, "Năm 2019 thành lập mới 3 HTX."], ["tổ hợp tác"]).none_stated


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
    ("Kế toán viên của HTX được trả lương, phụ cấp bao nhiêu mỗi tháng?", "money"),  # across a comma, by "phụ cấp"
    ("Người làm tình nguyện được trợ cấp bao nhiêu?", "money"),
    ("Xả nước thải chưa xử lý ra kênh thì bị phạt tiền bao nhiêu?", "money"),
    ("Chi phí giám định tư pháp là bao nhiêu?", "money"),
    # the whole clause between the noun and the interrogative, however long
    ("Tổng kinh phí tổ chức các lớp bồi dưỡng cán bộ quản lý hợp tác xã nông nghiệp trên địa bàn huyện miền núi "
     "trong năm 2019 của Hội Nông dân là bao nhiêu?", "money"),
])
def test_a_quantity_named_by_its_noun_then_asked_for_is_an_amount(question, kind):
    assert kind in asked_kinds(question)


@pytest.mark.parametrize("question", [
    "Số lượng hợp tác xã là bao nhiêu?",  # "lượng" is not "lương"
    "Lãi suất ưu đãi áp dụng thế nào? Bao nhiêu hợp tác xã được vay?",  # the noun and the interrogative in two sentences
    "Hợp tác xã tham gia bao nhiêu chương trình?",  # "gia" is not "giá"
])
def test_a_noun_outside_the_asking_clause_asks_for_nothing(question):
    assert not set(asked_kinds(question)) & {"percent", "money"}


def test_a_quantity_named_by_its_noun_is_stated_only_where_the_noun_is():
    """A percentage of growth is no interest rate, even when nothing else names the topic."""
    growth = "Doanh thu của hợp tác xã tăng 8-10% mỗi năm."
    q = "Lãi suất cho vay của quỹ là bao nhiêu?"
    assert check(q, [growth, "Quỹ cho vay với lãi suất ưu đãi."]).none_stated
    assert not check(q, [growth, "Quỹ cho vay với lãi suất 0,5%/tháng."]).none_stated
    assert not check(q, [growth, "Lãi suất cho vay: 6 phần trăm một năm."]).none_stated


@pytest.mark.parametrize("question,kind", [
    ("Thuế suất với hợp tác xã là 10% phải không?", "percent"),
    ("Xác nhận giúp tôi: thời gian giải quyết hồ sơ là 15 ngày.", "duration"),
    ("Có đúng là lệ phí đăng ký bằng 200 nghìn đồng không?", "money"),
])
def test_confirming_a_stated_amount_asks_for_that_kind(question, kind):
    assert kind in asked_kinds(question)


def test_confirming_without_an_amount_asks_for_none():
    assert not asked_kinds("Luật năm 2012 vẫn còn hiệu lực phải không?")
    assert not asked_kinds("Sở Tài chính chủ trì việc này đúng không?")


def test_a_confirmed_quantity_is_stated_only_where_its_noun_is():
    q = "Lãi suất cho vay của quỹ là 3%/năm đúng không?"
    assert check(q, ["Doanh thu tăng 3%/năm.", "Quỹ cho vay ưu đãi."]).none_stated
    assert not check(q, ["Quỹ cho vay với lãi suất 5%/năm."]).none_stated


def test_a_unit_states_the_asked_amount_only_in_the_asked_unit():
    """The selection feature ``amount``: of two sentences on the topic, the one with a number in
    the unit asked for ("bao nhiêu phần trăm") states it; a count or a year does not."""
    from types import SimpleNamespace

    from assistant.answering.amounts import asked_forms, states_any

    q = "Đến năm 2030 tỉnh phấn đấu bao nhiêu phần trăm hộ nông dân vào tổ hợp tác?"
    forms = asked_forms(SimpleNamespace(restored=q, typed=q))
    assert forms
    assert states_any("Phấn đấu 45% hộ nông dân tham gia tổ hợp tác.", forms)
    assert not states_any("Đến năm 2030 thành lập mới 120 tổ hợp tác.", forms)
    assert not asked_forms(SimpleNamespace(restored="Sở Tư pháp làm gì?", typed="Sở Tư pháp làm gì?"))


@pytest.mark.parametrize("question,passage", [
    ("Huyện phấn đấu thành lập mới bao nhiêu HTX mỗi năm?", "Mỗi năm thành lập mới ít nhất 12 hợp tác xã."),
    ("Cần tối thiểu mấy thành viên để lập tổ hợp tác?", "Tổ hợp tác có từ hai thành viên trở lên."),
    ("Mỗi xã xây dựng bao nhiêu mô hình điểm?", "xây dựng 03 mô hình điểm về liên kết"),
    ("Một con bò quy đổi bằng bao nhiêu đơn vị vật nuôi?", "bò thịt tương đương 1,0 đơn vị vật nuôi"),
    # a share of the whole states how many are needed
    ("Cần bao nhiêu thành viên hội đồng quản trị tán thành thì nghị quyết được thông qua?",
     "Nghị quyết được thông qua khi có quá nửa tổng số thành viên hội đồng quản trị biểu quyết tán thành."),
    ("Phải có mấy đại biểu đề nghị thì kỳ họp bất thường được triệu tập?",
     "Kỳ họp bất thường được triệu tập khi có ít nhất một phần ba tổng số đại biểu đề nghị."),
    ("Đại hội cần bao nhiêu xã viên dự họp?", "Đại hội thành viên được tiến hành khi có 2/3 số xã viên tham dự."),
])
def test_a_count_is_stated_as_a_number_before_the_counted_noun(question, passage):
    assert asked_kinds(question) == ("count",)
    assert not check(question, [passage]).missing


def test_a_share_of_the_whole_never_states_the_size_of_the_whole():
    q = "Theo luật, một tổ hợp tác phải có tối thiểu bao nhiêu thành viên?"
    assert check(q, ["Việc quyết định được thông qua khi có quá nửa tổng số thành viên đồng ý."]).none_stated
    assert not check(q, ["Tổ hợp tác gồm từ 02 thành viên trở lên."]).none_stated


def test_a_count_not_stated_is_missing_whatever_other_numbers_the_passage_has():
    c = check("Tỉnh đặt chỉ tiêu thành lập bao nhiêu HTX đến năm 2030?",
              ["Đến năm 2030, 80% hợp tác xã hoạt động hiệu quả; doanh thu tăng 10%/năm.",
               "Quan tâm cả hợp tác xã nông nghiệp."])  # "tâm" is no "tám"
    assert c.none_stated and c.labels == ("số lượng",)


@pytest.mark.parametrize("question,passage,stated", [
    ("Hạn chót nộp báo cáo là ngày nào?", "Báo cáo gửi về Sở trước ngày 10 tháng 11 hằng năm.", True),
    ("Hồ sơ phải nộp trước ngày nào?", "nộp hồ sơ trước 15/12", True),
    ("Hạn chót nộp báo cáo là ngày nào?", "Báo cáo định kỳ hằng năm theo quy định.", False),
])
def test_a_date_asked_is_stated_as_a_day_a_month_or_a_quarter(question, passage, stated):
    assert "date" in asked_kinds(question)
    assert (not check(question, [passage]).missing) is stated


def test_a_weight_is_a_measure_like_the_others():
    assert asked_kinds("Một đơn vị vật nuôi bằng bao nhiêu ký?") == ("weight",)
    assert not check("Một đơn vị vật nuôi bằng bao nhiêu ký?", ["tương đương 500 kg thể trọng"]).missing


def test_a_count_asked_at_the_end_of_one_form_does_not_take_the_next_line():
    """The question is read as restored and as typed, one per line: "tăng bao nhiêu" ends the
    first, and the second line's first word is no counted noun."""
    assert "count" not in asked_kinds("thu nhập tăng bao nhiêu\nlam dong thu nhap tang bao nhieu")


@pytest.mark.parametrize("question", [
    "Có bao nhiêu bậc đào tạo nghề?",
    "Hợp tác xã gồm mấy loại thành viên?",
])
def test_a_count_asked_after_a_listing_verb_is_answered_by_a_list(question):
    """"Có bao nhiêu bậc …" asks what the levels are as much as how many: not checked."""
    assert "count" not in asked_kinds(question)
    assert not check(question, ["Đào tạo nghề gồm: sơ cấp, trung cấp và cao đẳng."]).none_stated


@pytest.mark.parametrize("question", [
    "Đến năm 2030 tỉnh Bến Tre phấn đấu có bao nhiêu hợp tác xã?",
    "Cuối năm ngoái xã tôi có bao nhiêu tổ hợp tác?",
    "Ban kiểm soát của quỹ gồm bao nhiêu thành viên?",
    "Thôn này có bao nhiêu hộ chăn nuôi?",
])
def test_a_listing_verb_after_a_subject_asks_a_count(question):
    """"toàn tỉnh có bao nhiêu HTX?" counts: the verb has a subject before it. Only a clause that
    opens with the verb ("Có bao nhiêu bậc …?") asks for the kinds."""
    assert "count" in asked_kinds(question)
    assert check(question, ["Phát triển hợp tác xã, tổ hợp tác và hộ chăn nuôi gắn với thành viên của quỹ."]).none_stated
    assert not check(question, ["Phấn đấu có 120 hợp tác xã, 45 tổ hợp tác, 300 hộ chăn nuôi; quỹ có 5 thành viên."]).none_stated


def test_a_quantity_named_with_its_unit_is_stated_by_a_number_in_that_unit():
    """"Độ tuổi … từ bao nhiêu?" is answered by "từ đủ 18 tuổi": the noun holds the unit."""
    q = "Độ tuổi lao động được tính từ bao nhiêu đến bao nhiêu?"
    assert "age" in asked_kinds(q)
    assert not check(q, ["Người lao động là người từ đủ 15 tuổi đến 60 tuổi."]).none_stated
    assert check(q, ["Người lao động làm việc theo hợp đồng."]).none_stated


@pytest.mark.parametrize("question, passage, stated", [
    # the opposite bound answers nothing
    ("Mỗi tổ hợp tác được vay tối đa bao nhiêu triệu đồng?", "Phấn đấu đưa vốn của quỹ lên trên 50 tỷ đồng.", False),
    ("Hộ nuôi ong được hỗ trợ nhiều nhất bao nhiêu tiền?", "Mỗi hộ được hỗ trợ ít nhất 3 triệu đồng.", False),
    ("Thời gian tập sự tối thiểu mấy tháng?", "Thời gian tập sự không quá 06 tháng.", False),
    ("Giám đốc phải ít nhất bao nhiêu tuổi?", "Người được bổ nhiệm phải dưới 60 tuổi.", False),
    ("Người học nghề tối đa bao nhiêu tuổi?", "Người học nghề từ đủ 15 tuổi trở lên.", False),
    # a plain amount, a range or the same bound answers
    ("Mỗi tổ hợp tác được vay tối đa bao nhiêu triệu đồng?", "Mỗi tổ hợp tác được vay 300 triệu đồng.", True),
    ("Hộ nuôi ong được hỗ trợ nhiều nhất bao nhiêu tiền?", "Mức hỗ trợ không quá 5 triệu đồng mỗi hộ.", True),
    ("Thời gian tập sự tối thiểu mấy tháng?", "Thời gian tập sự ít nhất là 03 tháng.", True),
    ("Người học nghề tối đa bao nhiêu tuổi?", "Người học nghề từ đủ 15 tuổi đến 35 tuổi.", True),
    # no bound asked: any amount of the kind answers
    ("Quỹ có bao nhiêu tiền?", "Phấn đấu đưa vốn của quỹ lên trên 50 tỷ đồng.", True),
])
def test_a_maximum_or_a_minimum_is_not_answered_by_the_opposite_bound(question, passage, stated):
    result = check(question, [passage])
    assert bool(result.missing) is not stated, result
    if not stated and result.missing:
        assert any(w in result.labels[0] for w in ("tối đa", "tối thiểu")), result.labels


@pytest.mark.parametrize("question, kinds", [
    # "mấy"/"bao nhiêu" in a sentence that tells, beside one that asks, is "a few", "so much"
    ("Tôi với mấy anh em trồng tiêu muốn lập HTX. Phải nộp hồ sơ ở cơ quan nào?", ()),
    ("Nhà tôi có mấy con bò, đang nuôi ở vườn. Chuồng phải cách nhà ở bao xa theo luật?", ()),
    ("Bọn mình bỏ ra bao nhiêu công sức rồi. Giờ muốn giải thể HTX thì làm thế nào?", ()),
    # ... and "mấy" before a noun in a clause that asks yes or no; in a clause of its own it asks
    ("Em với mấy bạn cùng xóm góp vốn mở tiệm thì có cần đăng ký HTX không?", ()),
    ("nha minh trong may cay sau rieng thi co duoc ho tro giong ko?", ()),
    ("Tổ hợp tác cần mấy thành viên, có cần chứng thực không?", ("count",)),
    # ... and "mấy" as the plural of speech, its noun going on, in a sentence that asks otherwise
    ("Ở Khánh Hòa ai lo đào tạo cho mấy anh chị làm kế toán HTX mới vào nghề vậy?", ()),
    ("Tỉnh có chính sách gì cho HTX không, hay chỉ hỗ trợ mấy doanh nghiệp lớn ngoài khu công nghiệp thôi?", ()),
    ("Báo cáo gửi cho những cơ quan nào, mấy kỳ?", ("count",)),
    ("Mỗi năm huyện lập mấy HTX kiểu mới và ai chủ trì?", ("count",)),
    # a classifier points back to a noun named before: no counted noun of its own
    ("Huyện mình mỗi năm lập mới HTX, được bao nhiêu cái rồi?", ()),
    # a unit that, folded, spells another word is read as written
    ("Một con heo xuất chuồng nặng bao nhiêu ký?", ("weight",)),
    ("Báo cáo tình hình HTX mỗi năm mấy kỳ?", ("count",)),
    # the asking sentence still asks, and a message with no "?" is read whole
    ("Tôi với mấy hộ muốn lập HTX. Cần tối thiểu mấy thành viên?", ("count",)),
    ("Cho hỏi HTX được vay tối đa bao nhiêu tiền", ("money",)),
    # a confirmation reads the amount stated in the sentence before
    ("Lãi suất cho vay là 5%/năm. Có đúng không?", ("percent",)),
    ("Kế hoạch ghi Quỹ phải đạt 50 tỷ đồng vào năm 2020. Xác nhận giúp tôi để tôi đưa vào báo cáo.", ("money",)),
    # ... when it only confirms: a yes/no question of its own after an amount told asks none
    ("Bên mua đặt cọc 20 triệu đồng rồi bỏ không mua. Tôi có phải trả lại tiền cọc không?", ()),
    ("HTX em có 12 thành viên, vốn góp 300 triệu. Có phải đăng ký lại với UBND xã không?", ()),
])
def test_only_the_sentences_that_ask_ask_for_an_amount(question, kinds):
    assert set(asked_kinds(question)) == set(kinds)


@pytest.mark.parametrize("passage, stated", [
    ("Thực hiện Nghị quyết số 15-NQ/TU, ngày 3-4-2019, của Tỉnh ủy về kinh tế tập thể.", False),
    ("Căn cứ Thông tư số 07/2031/TT-BNN ngày 8 tháng 2 năm 2031 của Bộ.", False),
    ("Theo Công văn 118/SNN-KTHT; ngày 12/3/2022 về hỗ trợ HTX.", False),
    ("Thực hiện Thông báo số 204- TB/TU ngày 9/10/2020 của Tỉnh ủy.", False),  # a space after the hyphen
    ("Các xã gửi báo cáo về Phòng Kinh tế trước ngày 10 tháng 11 hằng năm.", True),
    ("Hạn nộp hồ sơ: 30/6 hằng năm.", True),
])
def test_a_document_s_own_date_sets_no_deadline(passage, stated):
    """The date after a document's number dates the document; a deadline is a date of its own."""
    assert bool(check("Báo cáo phải gửi trước ngày nào?", [passage]).missing) is not stated


@pytest.mark.parametrize("question, passage, stated", [
    ("Hạn cuối đăng ký nuôi cá lồng với xã là ngày nào?",
     "Luật này được Quốc hội khóa XV thông qua ngày 14 tháng 6 năm 2029.", False),
    ("Người nuôi cá lồng phải đăng ký trước ngày nào?", "Quy chế ban hành ngày 2/8/2027, có hiệu lực sau 45 ngày.", False),
    ("Luật Thủy sản được Quốc hội thông qua ngày nào?",
     "Luật này được Quốc hội khóa XV thông qua ngày 14 tháng 6 năm 2029.", True),
    ("Quy chế ban hành ngày nào?", "Quy chế ban hành ngày 2/8/2027, có hiệu lực sau 45 ngày.", True),
    ("Người nuôi cá lồng phải đăng ký trước ngày nào?",
     "Người nuôi cá lồng đăng ký với Ủy ban nhân dân cấp xã trước ngày 31 tháng 3 hằng năm.", True),
])
def test_the_date_of_a_document_s_own_event_answers_only_a_question_about_that_event(question, passage, stated):
    """"thông qua ngày …", "ban hành ngày …" date the document itself: they answer "được thông
    qua ngày nào?", not the deadline of a duty the document sets."""
    assert bool(check(question, [passage]).missing) is not stated


@pytest.mark.parametrize("question, stated", [
    ("Các xã gửi báo cáo trước ngày nào?", False),
    ("Chỉ thị này ký ngày nào?", True),
    ("Kế hoạch ban hành ngày nào?", True),
])
def test_a_document_s_dateline_answers_only_a_question_about_a_document_event(question, stated):
    """"Bạc Liêu, ngày 3 tháng 9 năm 2026" opens a line: the document's place and date."""
    passages = ["ỦY BAN NHÂN DÂN\nBạc Liêu, ngày 3 tháng 9 năm 2026\nKẾ HOẠCH"]
    assert bool(check(question, passages).missing) is not stated


@pytest.mark.parametrize("question, passage, stated", [
    # a total is no amount per item
    ("Quỹ cho mỗi hộ vay tối đa bao nhiêu tiền?", "Đến năm 2030 nâng vốn của Quỹ tín dụng lên 40 tỷ đồng.", False),
    ("Mức trợ cấp đối với một tổ hợp tác là bao nhiêu tiền?", "Ngân sách tỉnh bố trí 12 tỷ đồng cho chương trình.", False),
    ("Quyết định 9 hỗ trợ 50 triệu đồng cho mỗi THT mới, đúng không?", "Quỹ có vốn điều lệ 12 tỷ đồng.", False),
    # the amount marks the item: "mỗi", "đối với", "/", an abbreviation or its expansion
    ("Quỹ cho mỗi hộ vay tối đa bao nhiêu tiền?", "Mỗi hộ được vay tối đa 100 triệu đồng, thời hạn 3 năm.", True),
    ("Mức trợ cấp đối với một tổ hợp tác là bao nhiêu tiền?", "Trợ cấp 15 triệu đồng/THT thành lập mới.", True),
    ("Mỗi HTX được hỗ trợ bao nhiêu tiền?", "Hỗ trợ 20 triệu đồng cho mỗi hợp tác xã thành lập mới.", True),
    # no item: "một số" is some; "mỗi tỉnh" in a comparison is each province named; "mỗi năm" a time
    ("Một số HTX được vay bao nhiêu tiền?", "Nâng vốn của Quỹ lên 40 tỷ đồng.", True),
    ("So sánh Cà Mau và Bạc Liêu: mỗi tỉnh bố trí bao nhiêu tỷ đồng cho Quỹ?", "Nâng vốn của Quỹ lên 40 tỷ đồng.", True),
    ("Mỗi năm tỉnh chi bao nhiêu tiền cho tập huấn?", "Kinh phí tập huấn 300 triệu đồng hằng năm.", True),
])
def test_an_amount_asked_per_item_is_stated_only_where_the_item_is_marked(question, passage, stated):
    """"cho mỗi hộ", "đối với một tổ hợp tác": a fund's or a programme's total answers no
    amount per household or per group."""
    assert bool(check(question, [passage]).missing) is not stated


def test_an_amount_missing_per_item_is_named_with_its_item():
    assert check("Quỹ cho mỗi hộ vay bao nhiêu tiền?", ["Vốn Quỹ 40 tỷ đồng."]).labels == ("số tiền cho mỗi hộ",)


@pytest.mark.parametrize("question, passage, stated", [
    # "ngày 12 tháng 7 năm 2018" is a date: neither "12 tháng" nor "7 năm" is a duration
    ("Hồ sơ được giải quyết trong mấy tháng?", "Bạc Liêu, ngày 12 tháng 7 năm 2026", False),
    ("Hồ sơ được giải quyết trong mấy tháng?", "Hồ sơ được giải quyết trong 3 tháng kể từ ngày nhận.", True),
    # "định kỳ 6 tháng" says how often, not how long
    ("Phải lập kế hoạch trong vòng bao nhiêu ngày?", "Định kỳ (6 tháng, năm) báo cáo UBND tỉnh.", False),
    ("Bao lâu thì báo cáo UBND tỉnh một lần?", "Định kỳ (6 tháng, năm) báo cáo UBND tỉnh.", True),
    ("Hội nghị tổ chức bao lâu một lần?", "Tổ chức hội nghị biểu dương HTX tiêu biểu hằng năm.", True),
    ("Hội nghị phải tổ chức trong bao lâu?", "Tổ chức hội nghị biểu dương HTX tiêu biểu hằng năm.", False),
])
def test_a_date_or_a_recurrence_is_no_time_limit(question, passage, stated):
    assert bool(check(question, [passage]).missing) is not stated


@pytest.mark.parametrize("question, passage, stated", [
    ("Số tổ hợp tác có chứng thực của xã là bao nhiêu?", "Đến năm 2030 có 120 THT có chứng thực của UBND xã.", True),
    ("Số tổ hợp tác có chứng thực của xã là bao nhiêu?", "Đến năm 2030, 60% số xã có tổ hợp tác.", False),
    ("Số lượng thành viên tối thiểu của HTX là mấy?", "Hợp tác xã phải có ít nhất 05 thành viên.", True),
])
def test_a_count_asked_as_so_noun_la_bao_nhieu_is_stated_before_the_noun(question, passage, stated):
    """"Số X … là bao nhiêu?" asks how many X, as "bao nhiêu X" does."""
    assert asked_kinds(question) == ("count",)
    assert bool(check(question, [passage]).missing) is not stated


def test_a_share_of_a_count_is_no_count():
    assert asked_kinds("Tỷ lệ số xã có tổ hợp tác là bao nhiêu?") == ()
    # "con số" is a figure; the clause ends at ":"
    assert asked_kinds("Hãy tự nghĩ ra một con số hợp lý: lãi suất của quỹ là bao nhiêu?") == ("percent",)


def test_a_number_in_a_cited_document_s_title_counts_nothing():
    """"… về việc phê duyệt Đề án phát triển 10.000 tổ hợp tác" names a programme; it does not
    say how many groups the province has."""
    q = "Đến nay tỉnh đã thành lập bao nhiêu tổ hợp tác?"
    cited = ("Căn cứ Quyết định số 88/QĐ-TTg ngày 2/3/2029 của Thủ tướng Chính phủ về việc phê duyệt "
             "Đề án phát triển 10.000 tổ hợp tác đến năm 2035;")
    assert check(q, [cited]).missing == ("count",)
    assert not check(q, [cited + " Đến nay toàn tỉnh đã thành lập 412 tổ hợp tác."]).missing


@pytest.mark.parametrize("question, stated", [
    ("Hợp đồng với cán bộ trẻ có thời hạn mấy năm?", False),
    ("Chỉ thị sơ kết sau mấy năm thực hiện Luật?", True),
])
def test_how_long_a_law_has_run_is_no_term(question, stated):
    """"sau 7 năm thi hành Luật" says how long the law has run: it answers a question about that
    review, not the term of a contract."""
    passage = "Sau 7 năm thi hành Luật Hợp tác xã, đội ngũ cán bộ trẻ của hợp tác xã còn thiếu."
    assert bool(check(question, [passage]).missing) is not stated


def test_a_quantity_s_noun_in_the_clause_that_asks_by_unit_locates_the_amount():
    """"Quỹ cho vay lãi suất mấy %/năm?": the percentage must be an interest rate, however the
    question asks it; a growth rate beside a passage that names the fund states none."""
    growth = "Quỹ hỗ trợ hợp tác xã: số thành viên tăng 10% mỗi năm."
    assert check("Quỹ cho vay lãi suất mấy %/năm?", [growth], ["quỹ"]).none_stated
    assert not check("Quỹ cho vay lãi suất mấy %/năm?", [growth + " Lãi suất cho vay 0,5%/tháng."], ["quỹ"]).none_stated


def test_a_noun_is_looked_for_in_the_amount_s_own_sentence():
    """"vốn điều lệ" in one sentence and "15 tỷ đồng" in the next, about another fund, state no
    charter capital."""
    text = "Hợp tác xã tự quyết định vốn điều lệ. Quỹ bảo lãnh tín dụng có 15 tỷ đồng."
    assert check("Vốn điều lệ của HTX là bao nhiêu?", [text]).none_stated
    assert not check("Vốn điều lệ của HTX là bao nhiêu?", ["Vốn điều lệ tối thiểu là 50 triệu đồng."]).none_stated


@pytest.mark.parametrize("question,kinds", [
    ("Hạn nộp hồ sơ xét tặng ở hai huyện khác nhau ra sao?", {"date"}),
    ("Mức phí cấp phép của Quảng Ninh và Thanh Hóa có giống nhau không?", {"money"}),
    ("So sánh tỷ lệ hộ tham gia tổ hợp tác của Nghệ An với Hà Tĩnh.", {"percent"}),
    ("Đối chiếu thời hạn của giấy phép khai thác và giấy phép chế biến.", {"date", "duration"}),
    ("So sánh hạn mức bảo lãnh của hai quỹ.", {"money", "percent"}),  # "hạn mức" is no "hạn"
    ("So sánh nhiệm vụ của Sở Nội vụ ở hai tỉnh.", set()),  # compares duties, no quantity
    ("Hạn nộp báo cáo tổng kết là khi nào?", set()),  # no comparison
])
def test_a_comparison_names_the_quantity_it_compares_by_its_noun(question, kinds):
    """A comparison asks no "bao nhiêu": the kind it compares is read from the quantity's noun,
    the longest noun first. It orders the answer's points; nothing is refused for it."""
    from types import SimpleNamespace

    from assistant.answering.amounts import compared_forms, question_forms

    query = SimpleNamespace(restored=question, typed=question, asked_before="")
    assert {k.name for k in compared_forms(query)} == kinds
    assert not asked_kinds(question_forms(query))  # the refusal check reads no amount from it


@pytest.mark.parametrize("passages, stated", [
    # the documents use the compound, and count it nowhere: a count of HTX is no count of it
    (["Kết nạp thêm, để số HTX thành viên của Liên minh tăng gấp đôi so với năm 2029.",
      "Mỗi năm thành lập mới 15 HTX nông nghiệp."], False),
    (["Đến năm 2031 Liên minh có 60 HTX thành viên.", "số HTX thành viên tăng đều."], True),
    (["Đến năm 2031 có 60 hợp tác xã là thành viên của Liên minh; số hợp tác xã thành viên tăng."], True),
    # the documents never use the compound: the question's words are its own, any count answers
    (["Mỗi năm thành lập mới 15 HTX nông nghiệp."], True),
])
def test_a_count_of_a_compound_noun_the_documents_use_is_stated_only_with_it(passages, stated):
    """"bao nhiêu HTX thành viên": where the passages read write "HTX thành viên" as a term of
    their own, its count is a number before "HTX" with "thành viên" after it in the same
    sentence; "15 HTX nông nghiệp" counts other cooperatives."""
    q = "Năm 2029 Liên minh hợp tác xã tỉnh có bao nhiêu HTX thành viên?"
    assert "count" in asked_kinds(q)
    assert check(q, passages).none_stated is (not stated)


@pytest.mark.parametrize("question, passages, stated", [
    ("Báo cáo 3 tháng gửi Sở Tài chính trước ngày nào?",
     ["Định kỳ báo cáo kết quả về Sở Tài chính trước ngày 05 tháng 12 hằng năm."], False),
    ("Báo cáo 3 tháng gửi Sở Tài chính trước ngày nào?",
     ["Định kỳ báo cáo kết quả về Sở Tài chính trước ngày 05 tháng 12 hằng năm.",
      "Báo cáo định kỳ 03 tháng gửi Sở Tài chính trước ngày 20 của tháng cuối quý."], True),
    ("Hội nghị sơ kết 5 năm thực hiện đề án tổ chức trước ngày nào?",
     ["Tổ chức sơ kết 05 năm thực hiện Đề án trước ngày 30 tháng 9 năm 2031."], True),
    ("Hội nghị sơ kết 5 năm thực hiện đề án tổ chức trước ngày nào?",
     ["Tổng kết 10 năm thực hiện Đề án trước ngày 30 tháng 9 năm 2036."], False),
    # a date the question names is no qualifier
    ("Hạn nộp là trước ngày 15 tháng 6 hay ngày nào khác?", ["Nộp hồ sơ trước ngày 20 tháng 6 hằng năm."], True),
])
def test_a_date_asked_of_a_thing_qualified_by_a_period_is_stated_only_where_that_period_is(question, passages, stated):
    """"báo cáo 3 tháng … trước ngày nào?" asks the quarterly report's date: the annual report's
    date answers another question (``qualified_by`` of the date kind in the vocabulary)."""
    assert "date" in asked_kinds(question)
    assert check(question, passages).none_stated is (not stated)


@pytest.mark.parametrize("question, passage, stated", [
    ("Sở phải ban hành kế hoạch trong bao nhiêu ngày?", "Kế hoạch của Sở được áp dụng trong 05 năm.", False),
    ("Sở phải ban hành kế hoạch trong bao nhiêu ngày?", "Ban hành kế hoạch trong thời hạn 15 ngày.", True),
    ("Thẻ hội viên có giá trị mấy năm?", "Thẻ hội viên có giá trị 03 năm kể từ ngày cấp.", True),
    ("Thẻ hội viên có giá trị mấy năm?", "Thẻ hội viên được cấp trong 10 ngày làm việc.", False),
    ("Thẻ hội viên có giá trị bao lâu?", "Thẻ hội viên có giá trị 36 tháng.", True),  # no unit asked: any
])
def test_a_duration_asked_in_a_unit_is_stated_in_that_unit(question, passage, stated):
    """"bao nhiêu ngày" is not answered by "05 năm" (``same_unit`` of the duration kind): the
    number of another unit is another span."""
    assert "duration" in asked_kinds(question)
    assert check(question, [passage]).none_stated is (not stated)
