"""Answers from legal texts: an article's heading ("Điều 18. Chính sách về khởi nghiệp") is a
label, never an answer point or the lead; a law the question names that is not loaded is said
to be missing; and the unit ranking reads, within one question's candidates, which words set
them apart. The law below is written for these tests (the real embedding model and Chroma)."""

from __future__ import annotations

import re

import pytest

from assistant.answering.passages import Unit, is_heading_line, is_label, split_units
from assistant.answering.select import TermWeights, _local_coverage, unit_infos

# An article title far longer than the ones a title-length rule would take for a heading.
LONG_TITLE = ("Điều 11. Trách nhiệm bồi thường của tổ chức, cá nhân nuôi ong khi đàn ong gây thiệt hại "
              "cho người, cây trồng, vật nuôi của hộ gia đình, cá nhân sinh sống liền kề trại ong")

LAW = (
    "Luật Nuôi ong\n\n"
    "Điều 1. Phạm vi điều chỉnh\n"
    "Luật này quy định về hoạt động nuôi ong, quyền và nghĩa vụ của tổ chức, cá nhân nuôi ong.\n\n"
    "Điều 2. Giải thích từ ngữ\n"
    "Trong Luật này, các từ ngữ dưới đây được hiểu như sau:\n"
    "1. Người nuôi ong là cá nhân từ đủ 18 tuổi trở lên đăng ký nuôi ít nhất 20 đàn ong.\n"
    "2. Trại ong là nơi đặt từ 50 đàn ong trở lên của một tổ chức hoặc cá nhân.\n\n"
    "Điều 7. Chính sách hỗ trợ người nuôi ong\n"
    "1. Nhà nước hỗ trợ đào tạo kỹ thuật nuôi ong cho hợp tác xã và tổ hợp tác.\n"
    "2. Khuyến khích hợp tác xã nuôi ong liên kết tiêu thụ mật ong với doanh nghiệp.\n"
    "3. Ưu tiên hỗ trợ người nuôi ong ở vùng đồng bào dân tộc thiểu số.\n\n"
    "Điều 9. Trách nhiệm của Ủy ban nhân dân cấp tỉnh\n"
    "1. Ban hành chính sách hỗ trợ người nuôi ong trên địa bàn.\n"
    "2. Báo cáo Bộ Nông nghiệp và Phát triển nông thôn về tình hình nuôi ong trước ngày 15 tháng 12 hằng năm.\n\n"
    f"{LONG_TITLE}\n"
    "1. Đàn ong đốt chết gia súc của hộ liền kề thì chủ trại ong bồi thường theo giá thị trường tại địa phương.\n"
    "2. Mức bồi thường do hai bên thỏa thuận; không thỏa thuận được thì Ủy ban nhân dân cấp xã hòa giải.\n"
)

ARTICLE_HEADING = re.compile(r"^Điều \d+\.?(?:\s|$)")


@pytest.mark.parametrize("line", ["Điều 18. Chính sách về khởi nghiệp", "Điều 5. Áp dụng tập quán.", "Chương II",
                                  "CHƯƠNG III. QUYỀN VÀ NGHĨA VỤ", "Mục 2. Hợp đồng hợp tác", "Phần thứ nhất"])
def test_legal_structure_lines_are_headings(line):
    assert is_heading_line(line)


@pytest.mark.parametrize("line", [
    "Điều 3. Luật này có hiệu lực thi hành từ ngày 01 tháng 01 năm 2017 và thay thế Luật số 12 năm 2005.",
    "Điều kiện kinh doanh dịch vụ lữ hành nội địa bao gồm:",
    "Mục tiêu của kế hoạch là phát triển hợp tác xã.",
])
def test_article_content_and_ordinary_sentences_are_not_headings(line):
    assert not is_heading_line(line)


def test_article_titles_and_agency_names_are_labels_but_a_numbered_task_is_not(tmp_path):
    from ingest.pipeline import ingest_file

    path = tmp_path / "luat-nuoi-ong.txt"
    path.write_text(LAW, encoding="utf-8")
    doc = ingest_file(path)
    units = [u for c in doc.chunks for u in split_units(c)]
    titles = [u for u in units if u.text.startswith("Điều 7.")]
    assert titles and all(u.kind == "heading" and is_label(u) for u in titles)
    task = "5. Củng cố, kiện toàn tổ chức bộ máy và nâng cao năng lực hoạt động của Liên minh Hợp tác xã tỉnh"
    assert is_heading_line(task)
    assert not is_label(Unit(doc.chunks[0], task, 0, 0, "heading"))
    names = "11. Trung tâm Xúc tiến Đầu tư, Thương mại và Du lịch tỉnh"
    assert is_heading_line(names) and is_label(Unit(doc.chunks[0], names, 0, 0, "heading"))


def _answerer_on(tmp_path_factory, store, name: str, files: dict[str, str]):
    """An answerer over a corpus of ``files`` (name -> text), written for these tests."""
    from conftest import make_settings

    from assistant.runtime import build_answerer, build_store, ingest_paths

    data = tmp_path_factory.mktemp(name)
    (data / "corpus").mkdir()
    for fname, text in files.items():
        (data / "corpus" / fname).write_text(text, encoding="utf-8")
    settings = make_settings(data)
    st = build_store(settings, embedder=store.embedder)
    assert all(r.ok for r in ingest_paths(st, [data / "corpus"], settings))
    return build_answerer(settings, store=st)


@pytest.fixture(scope="module")
def law_answerer(tmp_path_factory, store):
    return _answerer_on(tmp_path_factory, store, "law", {"luat-nuoi-ong.txt": LAW})


@pytest.mark.parametrize("question", [
    "Nhà nước có chính sách gì hỗ trợ hợp tác xã nuôi ong?",
    "HTX tụi tôi mới nuôi ong – theo luật thì bao nhiêu tuổi mới được coi là người nuôi ong?",
    "Ủy ban nhân dân tỉnh phải báo cáo về tình hình nuôi ong trước ngày nào?",
])
def test_no_answer_point_or_lead_is_an_article_heading(law_answerer, question):
    a = law_answerer.ask(question, full=True)
    assert not a.refused, a.answer
    lines = [ln.strip() for ln in a.answer.splitlines() if ln.strip()]
    points = [ln[2:] for ln in lines if ln.startswith("- ")]
    assert points, a.answer
    assert not ARTICLE_HEADING.match(lines[0]), a.answer
    # a point is labelled with its article ("Điều 7: ..."), its text is never the bare title
    assert not any(re.match(r"^Điều \d+\.\s[^.]{0,60}(?:\s\[\d+\])?$", p) for p in points), a.answer


def test_a_long_article_title_is_a_label_and_never_a_point(law_answerer, tmp_path):
    """ingest reads the line as the article's heading (its path holds the title, shortened with
    "…"), so the answer layer does too, however long the title; the article's clauses stay
    content, and the answer quotes them, not the title."""
    from ingest.pipeline import ingest_file

    path = tmp_path / "luat-nuoi-ong.txt"
    path.write_text(LAW, encoding="utf-8")
    units = [u for c in ingest_file(path).chunks for u in split_units(c)]
    title = [u for u in units if u.text == LONG_TITLE]
    assert title and all(u.kind == "heading" and is_label(u) for u in title)
    clauses = [u for u in units if u.text.startswith(("1. Đàn ong", "2. Mức bồi thường"))]
    assert clauses and not any(u.kind == "heading" for u in clauses)
    a = law_answerer.ask("Ong của trại bên cạnh đốt chết bò nhà tôi thì ai phải bồi thường, bồi thường thế nào?",
                         full=True)
    assert not a.refused, a.answer
    points = [ln.strip()[2:] for ln in a.answer.splitlines() if ln.strip().startswith("- ")]
    assert any("giá thị trường" in p or "thỏa thuận" in p for p in points), a.answer
    assert not any(LONG_TITLE[len("Điều 11. "):60] in p for p in points), a.answer


def test_the_asked_detail_leads_when_the_context_clause_shares_the_other_words(law_answerer):
    a = law_answerer.ask("HTX tụi tôi mới nuôi ong – theo luật thì bao nhiêu tuổi mới được coi là người nuôi ong?")
    assert "18 tuổi" in a.answer.split("\n\n")[0] + a.answer[:600], a.answer


def test_a_named_law_that_is_not_loaded_is_reported_and_a_loaded_one_is_not(law_answerer):
    missing = law_answerer.ask("Theo Luật Đất đai, hợp tác xã nuôi ong được thuê đất bao lâu?")
    assert "Luật Đất đai" in missing.metadata.get("documents_not_loaded", []), missing.metadata
    assert "Luật Đất đai" in missing.answer  # said to the user, not only in metadata
    loaded = law_answerer.ask("Theo Luật Nuôi ong, trại ong là gì?")
    assert not loaded.metadata.get("documents_not_loaded"), loaded.metadata


def test_a_short_number_is_not_loaded_only_when_no_loaded_document_of_its_type_could_be_it(law_answerer):
    """"Nghị định 31/2026": no decree is loaded, so a figure asked of it is refused and the
    decree named. "Luật 31/2026": the loaded law has no number in its text, it may be that
    one, so the question is answered from it."""
    decree = law_answerer.ask("Nghị định 31/2026 quy định trại ong phải có tối thiểu bao nhiêu đàn?")
    assert decree.refused, decree.answer
    assert decree.metadata.get("documents_not_loaded") == ["Nghị định 31/2026"], decree.metadata
    assert "Nghị định 31/2026" in decree.answer
    law = law_answerer.ask("Luật 31/2026 quy định trại ong là nơi đặt bao nhiêu đàn ong?")
    assert not law.refused, law.answer
    assert "50 đàn ong" in law.answer
    assert not law.metadata.get("documents_not_loaded"), law.metadata


@pytest.mark.parametrize("question", [
    "Luật Nuôi ong quy định trại ong là nơi đặt bao nhiêu đàn ong?",
    "Pháp luật quy định trại ong là nơi đặt bao nhiêu đàn ong?",
])
def test_the_verb_that_cites_a_text_is_no_topic_an_amount_must_be_found_under(law_answerer, question):
    """"… quy định …" says the question asks what a text says; the amount is not looked for
    only in the passages that happen to use the word "quy định"."""
    a = law_answerer.ask(question)
    assert not a.refused, a.answer
    assert "50 đàn ong" in a.answer


def test_a_document_named_only_in_the_background_does_not_refuse_a_figure(law_answerer):
    """A message that sets out its context first ("… vừa tập huấn Luật Đất đai 2024 …") and then
    asks a figure of the loaded law is answered; a figure asked of the unloaded law itself is
    refused."""
    background = law_answerer.ask("Xã tôi vừa tập huấn Luật Đất đai 2024 cho bà con nuôi ong. "
                                  "Cho hỏi trại ong là nơi đặt bao nhiêu đàn ong?")
    assert not background.refused, background.answer
    assert "50 đàn ong" in background.answer
    asked = law_answerer.ask("Luật Đất đai 2024 quy định trại ong là nơi đặt bao nhiêu đàn ong?")
    assert asked.refused and asked.metadata.get("refusal_reason") == "document_not_loaded", asked.answer


def test_local_coverage_ignores_words_every_candidate_shares(tmp_path):
    """"nuôi ong" is in every unit of this law, "tuổi" in one: the unit with "tuổi" leads."""
    from assistant.answering.corpus import build_snapshot
    from assistant.answering.understand import Query
    from ingest.pipeline import ingest_file
    from index.text import content_terms, fast_fold

    path = tmp_path / "luat-nuoi-ong.txt"
    path.write_text(LAW, encoding="utf-8")
    doc = ingest_file(path)
    snap = build_snapshot(("t", ("luat-nuoi-ong",)), doc.chunks, {doc.meta.doc_id: doc.meta})
    text = "nuôi ong bao nhiêu tuổi"
    q = Query(typed=text, text=text, restored=text, intents=("figure",), terms=tuple(content_terms(fast_fold(text))))
    tw = TermWeights(q, snap)
    found = [(info, {}, "main") for c in doc.chunks for info in unit_infos(c)[0]
             if "nuôi ong" in info.unit.text.lower() or "nuoi ong" in fast_fold(info.unit.text)]
    scores = _local_coverage(found, tw)
    best = max(zip(scores, found), key=lambda x: x[0])[1][0]
    assert "18 tuổi" in best.unit.text
    assert max(scores) == 1.0 and min(scores) < 1.0


def test_an_amount_the_law_does_not_state_is_refused_and_one_it_states_is_answered(law_answerer):
    """The law speaks of compensation for bee stings without any sum, and of the beekeeper's age
    with one: asked for a sum, the assistant says the documents give none (and offers the
    passages); asked for the age, it answers with it. Asked for both an age and a distance, it
    answers the age and says the distance is not stated."""
    sum_ = law_answerer.ask("Ong đốt chết bò thì chủ trại ong phải bồi thường tối đa bao nhiêu tiền?")
    assert sum_.refused and sum_.metadata.get("refusal_reason") == "amount_not_stated", sum_.answer
    assert "số tiền" in sum_.answer and sum_.related, sum_.answer
    age = law_answerer.ask("Phải từ bao nhiêu tuổi mới được đăng ký làm người nuôi ong?")
    assert not age.refused and "18 tuổi" in age.answer, age.answer
    both = law_answerer.ask("Người nuôi ong phải bao nhiêu tuổi, và trại ong phải đặt cách nhà dân tối thiểu bao nhiêu mét?")
    assert not both.refused and "18 tuổi" in both.answer, both.answer
    assert "không nêu khoảng cách" in both.answer, both.answer


PLAN = (
    "ỦY BAN NHÂN DÂN TỈNH HÀ GIANG\nSố: 31/KH-UBND\nHà Giang, ngày 4 tháng 6 năm 2024\n\nKẾ HOẠCH\n"
    "Phát triển nghề nuôi ong gắn với hợp tác xã giai đoạn 2024-2030\n\nI. MỤC TIÊU\n"
    "1. Mục tiêu chung\n"
    "- Thu hút hộ nuôi ong ở vùng cao tham gia hợp tác xã nuôi ong, nâng cao thu nhập của hộ nuôi ong tham gia hợp tác xã.\n"
    "- Vận động hộ nuôi ong tham gia hợp tác xã, liên kết hộ nuôi ong với doanh nghiệp tiêu thụ mật ong.\n"
    "- Tuyên truyền để hộ nuôi ong hiểu lợi ích khi tham gia hợp tác xã nuôi ong và tổ hợp tác nuôi ong.\n"
    "- Hỗ trợ hộ nuôi ong tham gia hợp tác xã tiếp cận vốn vay, giống ong và kỹ thuật nuôi ong an toàn.\n"
    "- Phát triển thương hiệu mật ong của hợp tác xã, để hộ nuôi ong tham gia hợp tác xã bán được giá cao.\n"
    "2. Chỉ tiêu cụ thể\n"
    "- Đến năm 2030 có ít nhất 35% số hộ trên địa bàn có đàn ong vào các tổ chức kinh tế tập thể.\n"
)


@pytest.fixture(scope="module")
def plan_answerer(tmp_path_factory, store):
    return _answerer_on(tmp_path_factory, store, "plan", {"ke-hoach-nuoi-ong.txt": PLAN})


def test_the_point_that_states_the_amount_asked_leads(plan_answerer):
    """Five sentences share the question's words and state no percentage; the one that states
    it shares fewer. Asked "bao nhiêu phần trăm", the answer leads with the percentage."""
    a = plan_answerer.ask("Hà Giang hướng tới bao nhiêu phần trăm hộ nuôi ong tham gia hợp tác xã?")
    assert not a.refused, a.answer
    lead = a.answer.splitlines()[0]
    assert "35%" in lead, a.answer


@pytest.fixture(scope="module")
def plan_and_law_answerer(tmp_path_factory, store):
    return _answerer_on(tmp_path_factory, store, "planlaw", {"ke-hoach-nuoi-ong.txt": PLAN, "luat-nuoi-ong.txt": LAW})


@pytest.mark.parametrize("question, parts", [
    ("Kế hoạch của Hà Giang có nói phát triển thương hiệu mật ong cho hợp tác xã. "
     "Còn theo Luật Nuôi ong thì Ủy ban nhân dân cấp tỉnh phải báo cáo tình hình nuôi ong trước ngày nào?",
     ("thương hiệu mật ong", "15 tháng 12")),
    ("Theo Luật Nuôi ong, trại ong là nơi đặt bao nhiêu đàn ong? "
     "Kế hoạch Hà Giang hỗ trợ hộ nuôi ong tiếp cận những gì?",
     ("50 đàn ong", "giống ong")),
])
def test_each_part_of_a_message_of_several_is_answered(plan_and_law_answerer, question, parts):
    """A message that sets out one thing and asks another (or asks two things in two sentences),
    each from a different document: the answer holds a passage for each part."""
    a = plan_and_law_answerer.ask(question)
    assert not a.refused, a.answer
    for part in parts:
        assert part in a.answer, (part, a.answer)


def test_a_part_s_best_unit_is_shown_second_even_below_the_floor(plan_and_law_answerer):
    """``compose.select_points`` keeps a required unit (a part's answer) whatever its score for
    the whole message, and shows it."""
    from assistant.answering import compose
    from assistant.answering.passages import is_label

    a = plan_and_law_answerer
    run = a.prepare("Hộ nuôi ong tham gia hợp tác xã ở Hà Giang được hỗ trợ những gì?")
    w = a.weights
    low = [c for c in run.cands if not is_label(c.unit) and c.p < w.keep_ratio * run.cands[0].p]
    assert low, "the test needs a unit below the floor"
    target = low[-1]
    shown = lambda groups: [pt for g in groups for pt in g.points]  # noqa: E731
    plain, _ = compose.select_points(run.query, run.cands, run.snap, w.keep_ratio, False, False)
    assert all(target.unit.key not in [u.unit.key for u in pt.units] for pt in shown(plain))
    groups, _ = compose.select_points(run.query, run.cands, run.snap, w.keep_ratio, False, False, (target.unit.key,))
    keys = [[u.unit.key for u in pt.units] for pt in shown(groups)]
    assert any(target.unit.key in k for k in keys), keys


def test_a_province_with_no_document_is_answered_from_national_ones_only_when_they_answer(law_answerer):
    """Only a national law is loaded. What the law says holds in Sơn La too, and is answered with
    a note; what Sơn La itself decided, which the law does not answer, is refused, naming Sơn La."""
    told = law_answerer.ask("Ở Sơn La, người nuôi ong phải từ đủ bao nhiêu tuổi?")
    assert not told.refused and "18 tuổi" in told.answer and "Sơn La" in told.answer, told.answer
    own = law_answerer.ask("Kế hoạch nuôi ong của tỉnh Sơn La giao việc gì cho huyện Mộc Châu?")
    assert own.refused and own.metadata["refusal_reason"] == "province_not_in_corpus", own.answer
    assert "Sơn La" in own.answer, own.answer


# A plan whose appendix restates a body item, as plans do: the row names the agency and the
# year, the body sentence keeps a detail (the number of staff) that the row drops.
_SHARED = ("Thành lập tổ cho vay lưu động của Quỹ hỗ trợ hợp tác xã nuôi ong, đặt tại các huyện vùng cao, hoạt động "
           "độc lập với ngân hàng thương mại, ưu tiên cho vay mua giống ong, thùng nuôi, máy quay mật và kho bảo quản "
           "mật ong cho hợp tác xã mới thành lập ở các xã biên giới")
PLAN_WITH_APPENDIX = (
    "LIÊN MINH HỢP TÁC XÃ TỈNH HÀ GIANG\nSố: 77/KH-LMHTX\nHà Giang, ngày 9 tháng 3 năm 2024\n\nKẾ HOẠCH\n"
    "Hỗ trợ hợp tác xã nuôi ong giai đoạn 2024-2028\n\nI. NHIỆM VỤ\n"
    "1. Về vốn\n"
    f"- {_SHARED}, có 3 cán bộ chuyên trách.\n"
    "- Hướng dẫn hợp tác xã nuôi ong lập phương án vay vốn mua giống ong và thùng nuôi.\n"
    "2. Về đào tạo\n"
    "- Mở lớp tập huấn kỹ thuật nuôi ong an toàn cho thành viên hợp tác xã.\n\n"
    "II. TỔ CHỨC THỰC HIỆN\n"
    "Các phòng, ban căn cứ phụ lục kèm theo để thực hiện.\n\n"
    "Phụ lục\nPHÂN CÔNG THỰC HIỆN KẾ HOẠCH\n\n"
    "\tStt\n\tNhiệm vụ\n\tChủ trì tham mưu\n\tThời gian thực hiện\n\tGhi chú\n\n"
    f"\t1\n\t{_SHARED}\n\tBan Quỹ hỗ trợ\n\tNăm 2025\n\t\n\n"
    "\t2\n\tMở lớp tập huấn kỹ thuật nuôi ong an toàn cho thành viên hợp tác xã\n\tBan Đào tạo\n\tHằng năm\n\t\n"
)


@pytest.fixture(scope="module")
def appendix_answerer(tmp_path_factory, store):
    return _answerer_on(tmp_path_factory, store, "appendix", {"ke-hoach-quy-ong.txt": PLAN_WITH_APPENDIX})


def test_a_body_item_and_the_appendix_row_that_restates_it_are_cited_together(appendix_answerer):
    """The row and the body sentence say the same thing (one is shown, the other is a repeat):
    the point cites both passages, so the detail only the body keeps ("3 cán bộ chuyên trách") is
    one click away, whichever of the two is shown."""
    a = appendix_answerer.ask("Tổ cho vay lưu động của Quỹ hỗ trợ HTX nuôi ong ở Hà Giang do ai chủ trì, "
                              "hoạt động độc lập hay qua ngân hàng?", full=True)
    assert not a.refused, a.answer
    body = [c for c in a.citations if "3 cán bộ chuyên trách" in c.text]
    rows = [c for c in a.citations if "Ban Quỹ hỗ trợ" in c.text]
    assert body and rows, (a.answer, [c.text for c in a.citations])
    line = next(ln for ln in a.answer.splitlines() if f"[{body[0].n}]" in ln)
    assert f"[{rows[0].n}]" in line, a.answer
    # the point shows the detail only the body keeps, and the row's agency and year
    assert "3 cán bộ chuyên trách" in line and "Ban Quỹ hỗ trợ" in line and "Năm 2025" in line, line


def _plan(province: str, number: str, deadline: str) -> str:
    """A small provincial plan written for these tests: its report section says much about
    reports to Sở Kế hoạch và Đầu tư, and one sentence only gives the yearly deadline."""
    return (
        f"ỦY BAN NHÂN DÂN TỈNH {province.upper()}\nSố: {number}/KH-UBND\n\nKẾ HOẠCH\n"
        "Phát triển hợp tác xã nuôi cá lồng giai đoạn 2026-2030\n\n"
        "I. NHIỆM VỤ\n"
        "1. Hỗ trợ hợp tác xã nuôi cá lồng mua giống cá và thức ăn.\n"
        "2. Tập huấn kỹ thuật nuôi cá lồng cho thành viên hợp tác xã.\n\n"
        "II. TỔ CHỨC THỰC HIỆN\n"
        "1. Sở Kế hoạch và Đầu tư tổng hợp báo cáo năm của các sở, ngành về kết quả thực hiện kế hoạch, "
        "báo cáo Ủy ban nhân dân tỉnh.\n"
        "2. Các sở, ngành gửi báo cáo năm về Sở Kế hoạch và Đầu tư, nêu rõ khó khăn, vướng mắc và đề xuất "
        "giải pháp trong năm tới.\n"
        "3. Sở Kế hoạch và Đầu tư hướng dẫn mẫu báo cáo năm cho các sở, ngành và huyện.\n"
        f"4. Thời gian gửi: {deadline} hằng năm.\n"
    )


@pytest.fixture(scope="module")
def two_plans_answerer(tmp_path_factory, store):
    return _answerer_on(tmp_path_factory, store, "twoplans", {
        "ke-hoach-cao-bang.txt": _plan("Cao Bằng", "41", "trước ngày 15 tháng 11"),
        "ke-hoach-lang-son.txt": _plan("Lạng Sơn", "58", "trước ngày 05 tháng 12"),
    })


@pytest.mark.parametrize("question", [
    "Hạn gửi báo cáo năm về Sở KH&ĐT ở Cao Bằng và Lạng Sơn khác nhau thế nào?",
    "So sánh giúp tôi thời hạn nộp báo cáo năm của các sở, ngành ở Cao Bằng với Lạng Sơn.",
])
def test_a_comparison_of_a_quantity_named_by_its_noun_leads_each_province_with_its_amount(two_plans_answerer,
                                                                                          question):
    """A comparison names the quantity it compares ("hạn", "thời hạn": a date) without asking
    "ngày nào": each province's group opens with the sentence that states its date, not with
    the sentences that share more of the question's words (``amounts.compared_forms``)."""
    a = two_plans_answerer.ask(question)
    assert not a.refused, a.answer
    lines = a.answer.splitlines()
    for province, deadline in (("Cao Bằng", "15 tháng 11"), ("Lạng Sơn", "05 tháng 12")):
        head = next(i for i, ln in enumerate(lines) if province in ln and ln.rstrip().endswith(":"))
        first = next(ln for ln in lines[head + 1:] if ln.startswith("- "))
        assert deadline in first, (province, a.answer)


RABBIT_LAW = (
    "Luật Chăn nuôi thỏ\n\n"
    "Điều 1. Phạm vi điều chỉnh\n"
    "Luật này quy định về chăn nuôi thỏ, vận chuyển thỏ giống và trách nhiệm của cơ quan quản lý.\n\n"
    "Điều 5. Giấy chứng nhận đủ điều kiện chăn nuôi thỏ\n"
    "1. Trang trại nuôi từ 500 con thỏ trở lên phải có Giấy chứng nhận đủ điều kiện chăn nuôi thỏ.\n"
    "2. Giấy chứng nhận đủ điều kiện chăn nuôi thỏ có thời hạn là 03 năm và được cấp lại.\n\n"
    "Điều 6. Giấy phép vận chuyển thỏ giống\n"
    "1. Tổ chức, cá nhân vận chuyển thỏ giống ra ngoài tỉnh phải có Giấy phép vận chuyển thỏ giống.\n"
    "2. Bộ trưởng Bộ Nông nghiệp và Môi trường quy định chi tiết hồ sơ, trình tự, thời hạn cấp Giấy phép "
    "vận chuyển thỏ giống.\n\n"
    "Điều 7. Tập huấn\n"
    "1. Cán bộ thú y được cử đi tập huấn không quá 06 tháng mỗi đợt.\n"
    "2. Cán bộ thú y được trại thỏ cử đi tập huấn mà tự ý bỏ tập huấn thì phải đền bù chi phí tập huấn "
    "theo quy định của Chính phủ.\n\n"
    "Điều 8. Hội đồng thẩm định giống thỏ và Ban kiểm soát trại thỏ\n"
    "1. Nhiệm kỳ của Hội đồng thẩm định giống thỏ do luật định.\n"
    "2. Nhiệm kỳ của Ban kiểm soát trại thỏ là 02 năm.\n"
)


@pytest.fixture(scope="module")
def rabbit_answerer(tmp_path_factory, store):
    return _answerer_on(tmp_path_factory, store, "rabbit", {"luat-chan-nuoi-tho.txt": RABBIT_LAW})


@pytest.mark.parametrize("question,stated", [
    ("Xin Giấy phép vận chuyển thỏ giống thì phải chờ bao lâu?", None),
    ("Nhiệm kỳ của Hội đồng thẩm định giống thỏ là mấy năm?", None),
    ("Giấy chứng nhận đủ điều kiện chăn nuôi thỏ có thời hạn mấy năm?", "03 năm"),
    ("Nhiệm kỳ của Ban kiểm soát trại thỏ là mấy năm?", "02 năm"),
    # a sentence that leaves a cost to the Government leaves no duration
    ("Cán bộ thú y được trại thỏ cử đi tập huấn tối đa bao lâu?", "06 tháng"),
])
def test_an_amount_the_law_leaves_to_another_instrument_is_not_stated(rabbit_answerer, question, stated):
    """A law that leaves a matter to another instrument ("Bộ trưởng … quy định chi tiết … thời
    hạn cấp Giấy phép …", "… do luật định") states no amount for it, though the article beside
    states a term of something else: the question about the delegated matter is refused, quoting
    the delegating sentence; the one about the stated term is answered (``amounts.delegated``)."""
    a = rabbit_answerer.ask(question)
    if stated is None:
        assert a.refused and a.metadata["refusal_reason"] == "amount_not_stated", a.answer
        assert "quy định chi tiết" in a.answer or "do luật định" in a.answer, a.answer
    else:
        assert not a.refused and stated in a.answer.splitlines()[0], a.answer


CAGE_LAW = (
    "Luật Nuôi cá lồng\n\n"
    "Điều 1. Phạm vi điều chỉnh\n"
    "Luật này quy định về nuôi cá lồng trên sông, hồ và trách nhiệm của tổ chức, cá nhân nuôi cá lồng.\n\n"
    "Điều 2. Giải thích từ ngữ\n"
    "Trong Luật này, các từ ngữ dưới đây được hiểu như sau:\n"
    "1. Lồng nuôi là khung chứa cá bằng lưới hoặc tre đặt cố định trên mặt nước.\n"
    "2. Vùng nuôi lồng là khu vực mặt nước được Ủy ban nhân dân cấp huyện công bố để đặt lồng nuôi.\n"
    "3. Cá giống là cá chưa đủ 30 ngày tuổi dùng để thả vào lồng nuôi.\n\n"
    "Điều 10. Quản lý vùng nuôi lồng\n"
    "1. Quản lý vùng nuôi lồng là việc Ủy ban nhân dân cấp xã kiểm tra lồng nuôi đặt trong vùng nuôi lồng.\n"
    "2. Hợp tác xã nuôi cá lồng được ưu tiên thuê mặt nước trong vùng nuôi lồng.\n\n"
    "Điều 12. Trách nhiệm của người nuôi cá lồng\n"
    "1. Người nuôi cá lồng là thành viên hợp tác xã phải đăng ký lồng nuôi với Ủy ban nhân dân cấp xã.\n"
    "2. Không thả cá giống bị bệnh vào lồng nuôi trong vùng nuôi lồng.\n"
)


@pytest.fixture(scope="module")
def cage_answerer(tmp_path_factory, store):
    return _answerer_on(tmp_path_factory, store, "cage", {"luat-nuoi-ca-long.txt": CAGE_LAW})


@pytest.mark.parametrize("question,defined", [
    ("Luật Nuôi cá lồng định nghĩa vùng nuôi lồng là gì?", "Vùng nuôi lồng là khu vực"),
    ("Vùng nuôi lồng theo Luật Nuôi cá lồng là gì?", "Vùng nuôi lồng là khu vực"),
    ("Trong Luật Nuôi cá lồng, vùng nuôi lồng được hiểu là gì?", "Vùng nuôi lồng là khu vực"),
    ("Cho em hỏi luật NCL giải thích lồng nuôi là gì?", "Lồng nuôi là khung"),
])
def test_the_definition_of_the_asked_term_leads_however_the_question_frames_it(cage_answerer, question, defined):
    """The term a definition question asks about is read without the law it names, the verb
    that frames it ("định nghĩa", "giải thích") or a courtesy (``definition_term``); that term's
    definition leads, not another sentence of the form "… là …" that uses the term."""
    a = cage_answerer.ask(question)
    assert not a.refused, a.answer
    assert a.answer.splitlines()[0].startswith(defined), a.answer


YOUTH_LAW = (
    "Luật Thanh niên nông thôn\n\n"
    "Điều 1. Phạm vi điều chỉnh\n"
    "Luật này quy định về chính sách đối với thanh niên sinh sống ở nông thôn.\n\n"
    "Điều 6. Hỗ trợ thanh niên lập nghiệp\n"
    "1. Nhà nước hỗ trợ thanh niên nông thôn vay vốn ưu đãi để lập nghiệp, thành lập tổ hợp tác, hợp tác xã.\n"
    "2. Thanh niên được ưu tiên đào tạo nghề nông nghiệp công nghệ cao.\n"
)

LENDING_LAW = (
    "Luật Cho vay tài sản\n\n"
    "Điều 1. Phạm vi điều chỉnh\n"
    "Luật này quy định về hợp đồng vay tài sản giữa các tổ chức, cá nhân.\n\n"
    "Điều 8. Lãi suất\n"
    "1. Lãi suất vay do các bên thỏa thuận nhưng không được vượt quá 20%/năm của khoản tiền vay.\n"
    "2. Bên vay phải trả nợ đúng hạn đã thỏa thuận.\n"
)


@pytest.fixture(scope="module")
def two_laws_answerer(tmp_path_factory, store):
    return _answerer_on(tmp_path_factory, store, "twolaws", {"luat-thanh-nien-nong-thon.txt": YOUTH_LAW,
                                                             "luat-cho-vay-tai-san.txt": LENDING_LAW})


def test_an_amount_asked_of_a_named_law_is_looked_for_in_that_law(two_laws_answerer):
    """The rate another law states is not what the named law says; a law named in another
    sentence of the message does not bind the amount."""
    a = two_laws_answerer.ask("Thanh niên lập nghiệp được vay với lãi suất bao nhiêu theo Luật Thanh niên nông thôn?")
    assert a.refused and a.metadata["refusal_reason"] == "amount_not_stated", a.answer
    b = two_laws_answerer.ask("Theo Luật Cho vay tài sản, lãi suất vay tối đa là bao nhiêu?")
    assert not b.refused and "20%/năm" in b.answer, b.answer
    c = two_laws_answerer.ask("Lãi suất vay tối đa là bao nhiêu phần trăm một năm? "
                              "Còn Luật Thanh niên nông thôn hỗ trợ thanh niên những gì?")
    assert not c.refused and "20%/năm" in c.answer, c.answer
