"""End to end in a real headless Chromium: ask, read the cited answer, open a citation,
leave a 👎 with a comment and find it in the SQLite feedback store; documents tab; phone size.

Screenshots go to the artifacts dir; the chat one is also copied to docs/screenshots/chat.png."""

from __future__ import annotations

import shutil
import sqlite3
import json
import time
from pathlib import Path

import pytest

from service_helpers import PROBE_QUESTION, SMALL_DOC, copy_data_dir, start_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ADMIN = "browser-admin-key"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
README_SHOT = Path(__file__).resolve().parent.parent / "docs" / "screenshots" / "chat.png"


@pytest.fixture(scope="module")
def server(tmp_path_factory, store, settings):
    d = copy_data_dir(settings.data_dir, tmp_path_factory.mktemp("browserdata"))
    srv = start_server(d, tmp_path_factory.mktemp("browserlogs"), {"HTX_ADMIN_KEY": ADMIN})
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def downloads(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def driver(downloads):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    assert Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists(), "run scripts/install_browser.sh"
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1440,1000",
                "--lang=vi-VN", "--disable-gpu", "--force-device-scale-factor=1"):
        opts.add_argument(arg)
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                           "download.prompt_for_download": False})
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    d.set_page_load_timeout(120)
    yield d
    d.quit()


def _wait(driver, cond, timeout=120):
    """Wait until cond holds. Gradio re-renders components while it updates them, so an element
    found in one poll can be gone by the time the condition reads it: that poll is retried."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.25,
                         ignored_exceptions=(StaleElementReferenceException,)).until(cond)


def _click_first(driver, cond):
    """Click the first element cond finds, finding it again if it was re-rendered before the click."""
    from selenium.common.exceptions import StaleElementReferenceException

    def click(d):
        try:
            cond(d)[0].click()
            return True
        except (StaleElementReferenceException, IndexError):
            return False

    _wait(driver, click)


def _css(driver, sel):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, sel)


# Number of text lines of each document id shown in the admin table.
ID_LINES_JS = """
const ids = new Set(arguments[0]);
return [...document.querySelectorAll('#docs-table *')].filter((e) => e.children.length === 0 && ids.has(e.textContent.trim()))
  .map((e) => { const r = document.createRange(); r.selectNodeContents(e);
    return new Set([...r.getClientRects()].filter((x) => x.width > 0).map((x) => Math.round(x.top))).size; })
  .filter((n) => n > 0);
"""


def _open(driver, server):
    driver.get(server.url + "/")
    _wait(driver, lambda d: _css(d, "#question textarea"))
    _wait(driver, lambda d: _css(d, "#chat"))


def test_ask_cite_and_dislike(driver, server, artifacts_dir):
    _open(driver, server)
    time.sleep(1)
    page = driver.find_element("tag name", "body").text
    for role in ("Người thành lập HTX", "Cán bộ xã, huyện", "Giảng viên tập huấn"):
        assert role in page, f"example questions for {role!r} missing on the first screen"
    driver.save_screenshot(str(artifacts_dir / "browser_home.png"))

    box = _css(driver, "#question textarea")[0]
    box.send_keys(PROBE_QUESTION)
    _css(driver, "#ask-btn")[0].click()

    cards = _wait(driver, lambda d: _css(d, "#citations .htx-cite"))
    assert len(cards) >= 2
    provinces = {e.text.strip() for e in _css(driver, "#citations .htx-prov")}
    assert len(provinces) >= 2, provinces
    chat_text = _css(driver, "#chat")[0].text
    assert PROBE_QUESTION in chat_text
    assert "[1]" in chat_text and "Nguồn" in chat_text

    # open the second citation: the passage panel shows it with the quote highlighted
    card = cards[1]
    n = card.get_attribute("data-n")
    card_province = card.find_element("css selector", ".htx-prov").text.strip()
    card.click()
    _wait(driver, lambda d: _css(d, f'#passage .htx-passage[data-n="{n}"] mark'))
    panel = _css(driver, "#passage")[0]
    assert card_province in panel.find_element("css selector", ".htx-meta-prov").text
    assert panel.find_element("css selector", ".htx-meta-sec").text.strip()
    marked = panel.find_element("css selector", "mark").text.strip()
    assert len(marked) > 10
    driver.set_window_size(1440, 1150)
    driver.execute_script("window.scrollTo(0, 0)")
    time.sleep(1.0)
    driver.save_screenshot(str(artifacts_dir / "browser_answer.png"))
    driver.set_window_size(1440, 1000)
    README_SHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(artifacts_dir / "browser_answer.png", README_SHOT)

    # 👎 on the answer, with a comment
    dislike = _wait(driver, lambda d: [b for b in _css(d, "#chat button")
                                       if b.get_attribute("aria-label") in ("Chưa đúng", "Dislike")])
    dislike[-1].click()
    _wait(driver, lambda d: _css(d, "#feedback-comment textarea") and _css(d, "#feedback-comment textarea")[0].is_displayed())
    comment = "Thiếu nhiệm vụ của Tây Ninh"
    _css(driver, "#feedback-comment textarea")[0].send_keys(comment)
    _css(driver, "#feedback-send")[0].click()
    _wait(driver, lambda d: "Đã lưu góp ý" in _css(d, "#feedback-status")[0].text)

    with sqlite3.connect(server.data_dir / "feedback.sqlite") as con:
        rows = con.execute("SELECT question, answer, citations, rating, comment FROM feedback").fetchall()
    assert len(rows) == 1, rows
    question, answer, citations, rating, saved_comment = rows[0]
    assert question == PROBE_QUESTION and rating == "down" and saved_comment == comment
    assert answer.strip() and len(json.loads(citations)) >= 2


def test_export_and_copy_markdown(driver, server, downloads):
    """Continues the conversation of the previous test: Markdown to copy, and the .md export."""
    _css(driver, "#copy-md button")[0].click()
    _wait(driver, lambda d: _css(d, "#answer-md textarea")
          and PROBE_QUESTION in _css(d, "#answer-md textarea")[0].get_attribute("value"))
    text = _css(driver, "#answer-md textarea")[0].get_attribute("value")
    assert "Nguồn:" in text and "[1]" in text and "«" in text
    _css(driver, "#export-md")[0].click()
    files = _wait(driver, lambda d: [f for f in downloads.glob("*.md")])
    time.sleep(0.5)
    md = files[0].read_text(encoding="utf-8")
    assert md.startswith("# ") and PROBE_QUESTION in md and "[1]" in md and "«" in md


def test_projector_and_phone(driver, server, artifacts_dir):
    _open(driver, server)
    height = "return document.querySelector('#ask-btn').getBoundingClientRect().height"
    before = driver.execute_script(height)
    _css(driver, "#big-text")[0].click()
    _wait(driver, lambda d: d.execute_script("return document.documentElement.classList.contains('htx-big')"))
    time.sleep(0.5)
    assert driver.execute_script(height) >= before * 1.2  # everything drawn larger on the projector
    driver.save_screenshot(str(artifacts_dir / "browser_projector.png"))

    driver.set_window_size(390, 844)
    _open(driver, server)
    _css(driver, "#question textarea")[0].send_keys("Liên minh HTX tỉnh có nhiệm vụ gì?")
    _css(driver, "#ask-btn")[0].click()
    _wait(driver, lambda d: _css(d, "#citations .htx-cite"))
    time.sleep(1.5)
    overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 2, f"page is {overflow}px wider than a phone screen"
    driver.execute_script("document.querySelector('#chat').scrollIntoView()")
    time.sleep(0.5)
    driver.save_screenshot(str(artifacts_dir / "browser_phone.png"))
    driver.set_window_size(1440, 1000)


def test_documents_tab_upload(driver, server, artifacts_dir, tmp_path):
    import httpx

    doc_ids = [d["doc_id"] for d in httpx.get(server.url + "/v1/documents", timeout=30).json()["documents"]]
    table_text = lambda d: _css(d, "#docs-table")[0].text if _css(d, "#docs-table") else ""  # noqa: E731
    _open(driver, server)
    tab = [b for b in _css(driver, "button[role='tab']") if "Văn bản" in b.text]
    assert tab
    tab[0].click()
    _wait(driver, lambda d: all(i in table_text(d) for i in doc_ids))
    src = tmp_path / "ong_mat_trinh_duyet.txt"
    src.write_text(SMALL_DOC, encoding="utf-8")
    # wrong key first: refused, and no file picker is offered (nothing can be sent)
    _css(driver, "#admin-key input")[0].send_keys("sai-khoa")
    _css(driver, "#admin-unlock")[0].click()
    _wait(driver, lambda d: "sai khóa" in _css(d, "#docs-status")[0].text.lower())
    assert not _css(driver, "#upload-file input[type='file']")
    assert "ong_mat_trinh_duyet" not in table_text(driver)
    key = _css(driver, "#admin-key input")[0]
    key.clear()
    key.send_keys(ADMIN)
    _css(driver, "#admin-unlock")[0].click()
    _wait(driver, lambda d: _css(d, "#upload-file input[type='file']"))
    _css(driver, "#upload-file input[type='file']")[0].send_keys(str(src))
    _wait(driver, lambda d: "ong_mat_trinh_duyet" in _css(d, "#upload-file")[0].text)
    _css(driver, "#upload-btn")[0].click()
    # the result line ("✔ name → mã …: n đoạn"), not the progress text that also names the file
    _wait(driver, lambda d: "ong_mat_trinh_duyet" in _css(d, "#docs-status")[0].text and "→" in _css(d, "#docs-status")[0].text)
    _wait(driver, lambda d: "ong_mat_trinh_duyet" in table_text(d))
    shown = table_text(driver)
    assert all(shown.index("ong_mat_trinh_duyet") < shown.index(i) for i in doc_ids), shown  # the new one on top
    lines_per_id = driver.execute_script(ID_LINES_JS, doc_ids + ["ong_mat_trinh_duyet"])
    assert len(lines_per_id) >= len(doc_ids) and all(n == 1 for n in lines_per_id), lines_per_id  # ids not wrapped
    assert (server.data_dir / "corpus" / "ong_mat_trinh_duyet.txt").exists(), (_css(driver, "#docs-status")[0].text, sorted(
        str(p.relative_to(server.data_dir)) for p in server.data_dir.rglob("*") if "index" not in p.parts)[5:])
    assert "ong_mat_trinh_duyet" in {d["doc_id"] for d in httpx.get(server.url + "/v1/documents").json()["documents"]}
    driver.save_screenshot(str(artifacts_dir / "browser_documents.png"))


def test_api_docs_render_offline(driver, server):
    """/docs shows the endpoints with the Swagger UI shipped in the package (no CDN)."""
    driver.get(server.url + "/docs")
    _wait(driver, lambda d: len(_css(d, ".swagger-ui .opblock")) >= 6, timeout=60)
    text = driver.find_element("tag name", "body").text
    assert "/v1/ask" in text and "/v1/documents" in text


def test_documents_tab_delete(driver, server):
    """Continues the previous documents test: delete the uploaded document from the tab."""
    import httpx
    from selenium.webdriver.common.keys import Keys

    def ids() -> set[str]:
        return {d["doc_id"] for d in httpx.get(server.url + "/v1/documents", timeout=30).json()["documents"]}

    assert "ong_mat_trinh_duyet" in ids()  # uploaded by the previous test
    table_text = lambda d: _css(d, "#docs-table")[0].text if _css(d, "#docs-table") else ""  # noqa: E731
    _open(driver, server)
    [b for b in _css(driver, "button[role='tab']") if "Văn bản" in b.text][0].click()
    _wait(driver, lambda d: "000_15ea241e59a4e9bb" in table_text(d))
    _css(driver, "#admin-key input")[0].send_keys(ADMIN)
    box = _css(driver, "#delete-doc input")[0]
    box.click()
    box.send_keys("trinh_duyet")
    option = _wait(driver, lambda d: [li for li in _css(d, "ul.options li") if "ong_mat_trinh_duyet" in li.text]
                   or [li for li in _css(d, "[role='option']") if "ong_mat_trinh_duyet" in li.text])
    option[0].click()
    box.send_keys(Keys.ESCAPE)
    _css(driver, "#delete-btn")[0].click()
    _wait(driver, lambda d: "Đã xóa" in _css(d, "#docs-status")[0].text)
    left = ids()
    assert "ong_mat_trinh_duyet" not in left and len(left) == 5
    assert not (server.data_dir / "corpus" / "ong_mat_trinh_duyet.txt").exists()


# --- screens that fit: geometry at projector, laptop and phone sizes --------------------------------

GEOMETRY_JS = """
const box = (el) => { if (!el) return null; const r = el.getBoundingClientRect();
  return (r.width > 0 && r.height > 0) ? {l: r.left, t: r.top, r: r.right, b: r.bottom} : null; };
const visible = (el) => el && getComputedStyle(el).display !== 'none' && getComputedStyle(el).visibility !== 'hidden';
const all = (sel) => [...document.querySelectorAll(sel)].filter(visible).map(box).filter(Boolean);
const one = (sel) => { const el = document.querySelector(sel); return visible(el) ? box(el) : null; };
return {
  vw: innerWidth, vh: innerHeight, scrollY: scrollY, overflowX: document.documentElement.scrollWidth - innerWidth,
  // the visible part of each message (the chat scrolls inside its own box)
  messages: (() => { const w = box(document.querySelector('#chat .bubble-wrap')); if (!w) return [];
    return all('#chat .message-row .message').map((m) => ({l: Math.max(m.l, w.l), t: Math.max(m.t, w.t),
      r: Math.min(m.r, w.r), b: Math.min(m.b, w.b)})).filter((m) => m.r > m.l && m.b > m.t); })(),
  controls: [...all('#chat .scroll-down-button-container button'), ...all('#chat .top-panel button'),
             ...all('#chat > .wrapper > label')],
  chat: one('#chat'), question: one('#question textarea'), chatCol: one('#chat-col'), sourcesCol: one('#sources-col'),
  mark: one('#passage mark'), citesTop: document.querySelector('#citations .htx-cites')?.scrollTop ?? null,
};
"""


def _intersects(a, b) -> bool:
    return a["l"] < b["r"] - 1 and b["l"] < a["r"] - 1 and a["t"] < b["b"] - 1 and b["t"] < a["b"] - 1


def _inside(a, vw, vh) -> bool:
    return a["t"] >= -1 and a["l"] >= -1 and a["b"] <= vh + 1 and a["r"] <= vw + 1


def _ask_and_wait(driver, question: str, turn: int):
    _css(driver, "#question textarea")[0].send_keys(question)
    _css(driver, "#ask-btn")[0].click()
    _wait(driver, lambda d: _css(d, f'#citations .htx-cites[data-turn="{turn}"] .htx-cite'))
    time.sleep(0.8)  # the list's scroll reset and the chat's 'show the answer' run after the render


@pytest.mark.parametrize("width,height,big", [(1280, 800, True), (1024, 768, True), (390, 844, False)],
                         ids=["projector-1280x800-A+", "laptop-1024x768-A+", "phone-390x844"])
def test_screens_fit(driver, server, artifacts_dir, width, height, big):
    """No control over text; the citation list starts at its top on each answer; in large-text
    mode the answer and the highlighted passage are on screen together (no page scroll); on a
    phone the answer comes first and the sources below it, both at full width."""
    phone = width < 600
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": phone})
    try:
        _open(driver, server)
        time.sleep(0.5)
        if big:
            _css(driver, "#big-text")[0].click()
            _wait(driver, lambda d: d.execute_script("return document.documentElement.classList.contains('htx-big')"))
        _ask_and_wait(driver, "Liên minh HTX tỉnh có nhiệm vụ gì?", 0)
        # scroll the citation list away from its top, then ask again: the new list starts at the top
        moved = driver.execute_script(
            "const b = document.querySelector('#citations .htx-cites'); b.scrollTop = b.scrollHeight; return b.scrollTop;")
        driver.execute_script("window.scrollTo(0, 0)")
        _ask_and_wait(driver, PROBE_QUESTION, 1)
        g = driver.execute_script(GEOMETRY_JS)
        if moved:
            assert g["citesTop"] == 0, g["citesTop"]
        assert g["messages"], g
        for control in g["controls"]:
            for msg in g["messages"]:
                assert not _intersects(control, msg), (control, msg)
        assert g["overflowX"] <= 2, g["overflowX"]

        card = _css(driver, '#citations .htx-cites[data-turn="1"] .htx-cite')[0]
        driver.execute_script("arguments[0].click()", card)  # a click as a user makes it, without scrolling into view
        _wait(driver, lambda d: _css(d, "#passage mark"))
        time.sleep(0.6)
        g = driver.execute_script(GEOMETRY_JS)
        shot = artifacts_dir / f"browser_fit_{width}x{height}{'_big' if big else ''}.png"
        if phone:
            cols = (g["chatCol"], g["sourcesCol"])
            assert all(c["r"] - c["l"] >= 0.85 * g["vw"] for c in cols), cols  # full width
            assert g["sourcesCol"]["t"] >= g["chatCol"]["b"] - 1, cols  # answer first, then its sources
            driver.execute_script("document.querySelector('#chat').scrollIntoView()")
            time.sleep(0.3)
        else:
            assert g["scrollY"] == 0, g["scrollY"]
            assert g["mark"] and _inside(g["mark"], g["vw"], g["vh"]), (g["mark"], g["vh"])
            assert _inside(g["chat"], g["vw"], g["vh"]) and _inside(g["question"], g["vw"], g["vh"]), g
            assert any(_inside(m, g["vw"], g["vh"]) or m["t"] < g["vh"] for m in g["messages"])
        driver.save_screenshot(str(shot))
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        driver.execute_script("document.documentElement.classList.remove('htx-big')")


def test_more_button_replaces_the_answer_with_the_full_one(driver, server):
    """'Xem thêm' appears when the answer left points out, and re-asks the turn with full=True."""
    import httpx

    question = "Liên minh HTX tỉnh có nhiệm vụ gì?"  # duties in every province: more than one answer holds
    more = httpx.post(server.url + "/v1/ask", json={"question": question}, timeout=120).json()["metadata"].get("more")
    if not more:
        pytest.skip("this build's default answer already holds every point")
    _open(driver, server)
    _ask_and_wait(driver, question, 0)
    shown = lambda d: [b for b in _css(d, "#more-btn") if b.is_displayed()]  # noqa: E731
    assert "Xem thêm" in _wait(driver, lambda d: [b.text for b in shown(d)])[0]
    bot = lambda d: _css(d, "#chat .bot-row .message")[-1].get_attribute("textContent")  # noqa: E731
    short = _wait(driver, bot)
    _click_first(driver, shown)
    _wait(driver, lambda d: not shown(d))
    _wait(driver, lambda d: len(bot(d)) > len(short))
    assert len(_css(driver, "#chat .bot-row")) == 1  # replaced in place, not a new turn
