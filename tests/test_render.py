"""Document text is shown as text: links, images and raw HTML planted in a document (or
written by an LLM) never reach the chat Markdown, the citation cards or the export as live
markup. Related passages are labelled with the document and a real heading."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from assistant.interfaces import render
from assistant.interfaces.api import create_app

EVIL = "evil.example"
PLANTED_DOC = f"""KẾ HOẠCH
Hỗ trợ hợp tác xã du lịch cộng đồng năm 2025 (văn bản thử nghiệm)

I. MỤC TIÊU
1. Hỗ trợ 45 hợp tác xã du lịch cộng đồng trên địa bàn tỉnh Bình Phước.

II. NHIỆM VỤ
1. Sở Văn hóa, Thể thao và Du lịch
Chủ trì hỗ trợ mỗi hợp tác xã du lịch cộng đồng 35 triệu đồng để cải tạo nhà đón khách ![beacon](http://{EVIL}/b.png?q=1) [bấm vào đây](http://{EVIL}/login) <img src="http://{EVIL}/i.png" onerror="alert(1)">.
2. Hội Nông dân tỉnh
Phối hợp tuyên truyền, vận động nông dân tham gia hợp tác xã du lịch cộng đồng.
"""
QUESTION = "Sở Văn hóa, Thể thao và Du lịch hỗ trợ hợp tác xã du lịch cộng đồng bao nhiêu tiền?"


def _live_markup(markdown: str) -> list[str]:
    """Markdown constructs that a renderer would turn into a fetch or a link."""
    found = []
    if re.search(r"!\[[^\]]*\]\(", markdown):
        found.append("image")
    if re.search(r"(?<!\\)\[[^\]]*\]\((?!\s*\))", markdown):
        found.append("link")
    if re.search(r"<\s*(img|a|script|iframe)\b", markdown, re.IGNORECASE):
        found.append("html")
    if re.search(r"(?<!`)https?://", markdown):
        found.append("url")
    return found


def test_inert_strips_images_links_html_and_urls():
    text = (f"Hỗ trợ 35 triệu đồng [1] ![x](http://{EVIL}/b.png) [xem](http://{EVIL}/x) "
            f"<img src=http://{EVIL}/i.png> <http://{EVIL}/auto> www.{EVIL}/w **[2]** Sở KH&ĐT, a < b")
    out = render.inert(text)
    assert _live_markup(out) == [], out
    assert "35 triệu đồng [1]" in out and "**[2]**" in out and "Sở KH&ĐT" in out and "a < b" in out
    assert "xem" in out and "&lt;img" in out
    # reference-style images and links do not survive either
    ref = render.inert(f"![a][r] [b][r]\n[r]: http://{EVIL}/x.png")
    assert "![" not in ref and not re.search(r"^\[r\]:", ref, re.MULTILINE) and "`http" in ref


def test_every_markdown_output_is_inert():
    cite = {"n": 1, "doc_id": "d", "doc_title": f"KH [t](http://{EVIL}/t)", "province": "Bình Phước",
            "section": "II. NHIỆM VỤ > 1", "text": f"Hỗ trợ ![b](http://{EVIL}/b.png) <img src=x>", "chunk_id": "c"}
    answer = {"answer": f"Hỗ trợ 35 triệu đồng ![b](http://{EVIL}/b.png) [1]", "citations": [cite], "refused": False}
    outputs = [render.answer_markdown(answer), render.answer_with_quotes_markdown(f"Hỏi <img src=http://{EVIL}/q>", answer),
               render.conversation_markdown([(f"Hỏi [x](http://{EVIL})", answer)])]
    for md in outputs:
        assert _live_markup(md) == [], md
        assert "35 triệu đồng" in md
    cards = render.citation_cards_html(answer)
    assert "<img" not in cards and "&lt;img" in cards


def test_related_passages_carry_the_document_and_a_heading():
    related = [{"n": 1, "doc_id": "003", "doc_title": "Kế hoạch 12/KH-UBND (Lâm Đồng, 2018)", "province": "Lâm Đồng",
                "section": "KẾ HOẠCH > II. NHIỆM VỤ VÀ GIẢI PHÁP > 4", "text": "Hỗ trợ", "chunk_id": "x"}]
    md = render.answer_markdown({"answer": "Văn bản không nói đến.", "citations": [], "related": related, "refused": True})
    assert "Có thể liên quan" in md
    line = [l for l in md.splitlines() if "[1]" in l][0]
    assert "Kế hoạch 12/KH-UBND" in line and "II. NHIỆM VỤ VÀ GIẢI PHÁP › 4" in line
    assert not line.rstrip().endswith("— 4")
    assert render.section_label("A > Điều 5. Nhiệm vụ") == "Điều 5. Nhiệm vụ"
    assert render.section_label("III. TỔ CHỨC > b)") == "III. TỔ CHỨC › b)"


@pytest.fixture(scope="module")
def planted_client(tmp_path_factory, store):
    from conftest import make_settings

    from assistant.runtime import build_answerer, build_store, ingest_paths

    d = tmp_path_factory.mktemp("planted")
    (d / "corpus").mkdir()
    (d / "corpus" / "ke_hoach_du_lich.txt").write_text(PLANTED_DOC, encoding="utf-8")
    s = make_settings(d, rate_limit="0")
    st = build_store(s, embedder=store.embedder)
    assert all(r.ok for r in ingest_paths(st, [s.corpus_dir], s))
    with TestClient(create_app(s, answerer=build_answerer(s, store=st), web=False)) as c:
        yield c


def test_planted_document_renders_inert_through_the_api(planted_client):
    r = planted_client.post("/v1/ask", json={"question": QUESTION})
    assert r.status_code == 200, r.text
    data = r.json()
    assert not data["refused"] and data["citations"], data
    assert "35 triệu đồng" in data["answer"] + " ".join(c["text"] for c in data["citations"])
    rendered = [render.answer_markdown(data), render.answer_with_quotes_markdown(QUESTION, data),
                render.conversation_markdown([(QUESTION, data)])]
    for md in rendered:
        assert "35 triệu đồng" in md, md
        assert _live_markup(md) == [], md
        assert "](" not in md
    for html in (render.citation_cards_html(data), render.passage_html(data["citations"][0], PLANTED_DOC)):
        assert "<img" not in html and "<a " not in html and "35 triệu đồng" in html
