"""The web app (Gradio 6) for officials, cooperative founders and trainers — all in Vietnamese.

- Chat: the answer with numbered citations; the citation cards beside it open the cited
  passage (document, province, heading path) with the quoted words highlighted.
- Filters by province and by document; example questions for each kind of user.
- 👍/👎 on each answer (with an optional comment) go to the feedback store.
- Trainers: copy an answer with its sources as Markdown, download the conversation (.md).
- Documents tab behind the admin key: upload with progress, list, delete.
- Large, high-contrast text for projectors; columns stack on phones.

Stable ``elem_id`` values (used by the browser test): question, ask-btn, chat, citations,
passage, filter-provinces, filter-docs, new-chat, export-md, answer-md, feedback-box,
feedback-comment, feedback-send, feedback-status, admin-key, admin-unlock, upload-file, upload-btn,
docs-status, docs-table, delete-doc, delete-btn, refresh-docs, big-text, more-btn.

Limits: asking and uploads count against HTX_RATE_LIMIT per client address (as the API does);
the file picker appears only after the admin key is checked (wrong keys are throttled); with
HTX_API_KEY set nothing about the corpus (filters, document table) is sent before a valid
access key (or the admin key) is entered.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import gradio as gr

from assistant.interfaces import render
from assistant.interfaces.service import (
    AssistantRuntime,
    ServiceError,
    check_api_key,
    clean_history,
    clean_question,
    make_filters,
)

log = logging.getLogger("htx.web")

TITLE = "Trợ lý chính sách Hợp tác xã"

# (who, question): shown on the first screen, grouped by the people who use the assistant.
EXAMPLES: list[tuple[str, str]] = [
    ("Người thành lập HTX", "HTX muốn vay vốn thì hỏi ai?"),
    ("Người thành lập HTX", "Thành lập HTX mới được hỗ trợ những gì?"),
    ("Cán bộ xã, huyện", "Sở Công Thương phải làm gì?"),
    ("Cán bộ xã, huyện", "Báo cáo gửi Sở KH&ĐT trước ngày nào?"),
    ("Giảng viên tập huấn", "Liên minh HTX tỉnh có nhiệm vụ gì?"),
    ("Giảng viên tập huấn", "Quỹ hỗ trợ phát triển HTX được giao nhiệm vụ gì?"),
]

PLACEHOLDER = (
    "### Xin chào! Hãy đặt câu hỏi về chính sách hợp tác xã\n"
    "Trợ lý trả lời **từ văn bản gốc của các tỉnh**; mỗi ý có số **[n]** chỉ tới đoạn văn bản ở khung "
    "*Nguồn trích dẫn*. Khi văn bản không nói đến, trợ lý sẽ nói rõ là không có.\n\n"
    "Chọn một câu hỏi gợi ý theo vai trò của bạn, hoặc tự nhập câu hỏi bên dưới."
)

DOC_COLUMNS = ["Mã văn bản", "Tỉnh", "Loại", "Số hiệu", "Ngày", "Tên văn bản", "Số đoạn"]

CSS = """
:root { --htx-ink: #0b1220; --htx-accent: #0b4fb3; --htx-mark: #ffe066; --htx-z: 1; --htx-top: 190px;
  --htx-below: 150px; --htx-pchrome: 200px; }
.gradio-container { font-size: 18px !important; color: var(--htx-ink); }
#htx-header { display: flex; flex-wrap: wrap; gap: 0.5rem 1rem; align-items: flex-start; justify-content: space-between; }
#htx-header h1 { font-size: 1.9rem; margin: 0.2rem 0; color: var(--htx-accent); }
.htx-big-btn { font: inherit; font-size: 0.95rem; padding: 0.35rem 0.9rem; border: 2px solid var(--htx-accent);
  border-radius: 8px; background: #fff; color: var(--htx-accent); cursor: pointer; font-weight: 600; }
.htx-big-btn[aria-pressed="true"] { background: var(--htx-accent); color: #fff; }
#htx-header p { font-size: 1.05rem; margin: 0.1rem 0 0.4rem; }
#chat { font-size: 1.12rem; }
#chat .message-row .message, #chat .message { font-size: 1.12rem !important; line-height: 1.55; }
#question textarea { font-size: 1.15rem !important; }
.htx-cites { display: flex; flex-direction: column; gap: 0.5rem; max-height: 34vh; overflow-y: auto; padding: 2px 4px 2px 0; }
.htx-cites-head { font-weight: 600; font-size: 0.95rem; }
.htx-cite { display: flex; flex-direction: column; align-items: flex-start; text-align: left; gap: 0.15rem;
  width: 100%; padding: 0.55rem 0.75rem; border: 2px solid #9db4d8; border-radius: 10px;
  background: #ffffff; color: var(--htx-ink); cursor: pointer; font: inherit; font-size: 1rem; }
.htx-cite:hover, .htx-cite:focus { border-color: var(--htx-accent); outline: none; background: #f2f7ff; }
.htx-cite.active { border-color: var(--htx-accent); background: #e3eeff; box-shadow: 0 0 0 2px var(--htx-accent) inset; }
.htx-cite-top { display: flex; gap: 0.5rem; align-items: baseline; }
.htx-n { font-weight: 700; color: var(--htx-accent); }
.htx-prov { font-weight: 700; background: #0b4fb3; color: #fff; border-radius: 6px; padding: 0 0.45rem; font-size: 0.9rem; }
.htx-doc { font-weight: 600; }
.htx-sec { color: #334155; font-size: 0.92rem; }
.htx-quote { color: #1f2937; font-style: italic; }
.htx-passage { border: 2px solid var(--htx-accent); border-radius: 10px; padding: 0.7rem 0.9rem; background: #fff; color: var(--htx-ink); }
.htx-passage-head { font-weight: 700; font-size: 1.1rem; margin-bottom: 0.3rem; }
.htx-meta { display: grid; grid-template-columns: max-content 1fr; gap: 0.15rem 0.7rem; margin: 0 0 0.5rem; font-size: 0.95rem; }
.htx-meta dt { font-weight: 700; } .htx-meta dd { margin: 0; }
.htx-meta-doc { display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; overflow: hidden; }
.htx-docid { color: #475569; font-size: 0.85rem; }
.htx-passage-text { font-size: 1.08rem; line-height: 1.6; max-height: 38vh; overflow-y: auto; }
mark.htx-mark { background: var(--htx-mark); color: #000; padding: 0 2px; border-radius: 3px; }
.htx-empty { color: #334155; padding: 0.6rem; border: 2px dashed #cbd5e1; border-radius: 10px; }
#feedback-status, #docs-status { font-size: 1rem; }
#docs-table, #docs-table table, #docs-table td, #docs-table th, #docs-table span { font-family: var(--font) !important; }
html.htx-big body { zoom: 1.3; }
/* Large text: the zoom scales everything; heights below divide the viewport by --htx-z. */
html.htx-big { --htx-z: 1.3; --htx-top: 150px; --htx-below: 190px; --htx-pchrome: 150px; }
html.htx-big #htx-header p, html.htx-big #sources-head { display: none; }
html.htx-big .htx-meta { grid-template-columns: max-content minmax(0, 1fr); }
html.htx-big .htx-meta dd { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; min-width: 0; }
html.htx-big #htx-header h1 { font-size: 1.4rem; margin: 0; }
html.htx-big .gradio-container { padding-top: 4px !important; }
html.htx-big .htx-passage-head { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
/* The chat's label and its bin/copy icons get their own strip above the messages; no
   floating scroll-to-bottom arrow over the answer (the chat scrolls by wheel or touch). */
#chat > .wrapper { padding-top: 34px; box-sizing: border-box; }
#chat > .wrapper > .bubble-wrap { height: 100%; }
#chat .scroll-down-button-container { display: none !important; }
#sources-head h3 { margin: 0; font-size: 1.15rem; }
#docs-table td:first-child, #docs-table td:first-child *, #docs-table th:first-child * {
  white-space: nowrap !important; word-break: keep-all !important; overflow-wrap: normal !important; }
/* Desktop and projector: chat, question and sources fit the screen without scrolling the page. */
@media (min-width: 900px) {
  #chat { height: calc(100vh / var(--htx-z) - var(--htx-top) - var(--htx-below)) !important; min-height: 240px !important; }
  #sources-col { gap: 8px !important; }
  .htx-cites { max-height: calc((100vh / var(--htx-z) - var(--htx-top)) * 0.28); }
  .htx-passage-text { max-height: calc((100vh / var(--htx-z) - var(--htx-top)) * 0.72 - var(--htx-pchrome)); min-height: 80px; }
  .htx-meta-doc { -webkit-line-clamp: 1; }
}
/* Phones: one column, answer first, then its sources, at full width. */
@media (max-width: 899px) {
  #chat-row { flex-direction: column !important; }
  #chat-col, #sources-col { min-width: 100% !important; width: 100% !important; flex: 1 1 100% !important; }
}
@media (max-width: 720px) {
  .gradio-container { font-size: 16px !important; padding: 4px !important; }
  #htx-header h1 { font-size: 1.4rem; }
  #chat .message { font-size: 1rem !important; }
  #chat { height: 70vh !important; }
}
.dark .htx-cite, .dark .htx-passage { background: #0f172a; color: #f8fafc; }
.dark .htx-sec, .dark .htx-quote, .dark .htx-empty { color: #e2e8f0; }
"""

# Clicks on a citation card become a 'click' event carrying its number and answer index.
CITES_JS = """
// A new answer's list starts at its top (card [1] fully visible).
const toTop = () => element.querySelectorAll('.htx-cites').forEach((box) => { box.scrollTop = 0; });
watch('value', () => { toTop(); requestAnimationFrame(toTop); setTimeout(toTop, 100); });
element.addEventListener('click', (e) => {
  const card = e.target.closest('[data-n]');
  if (!card) return;
  element.querySelectorAll('.htx-cite').forEach((c) => c.classList.toggle('active', c === card));
  trigger('click', {n: Number(card.dataset.n), turn: Number(card.dataset.turn)});
  if (window.innerWidth < 900) {  // phones: the passage panel is below, bring it into view
    setTimeout(() => document.getElementById('passage')?.scrollIntoView({behavior: 'smooth', block: 'start'}), 500);
  }
});
"""

# Gradio has no Vietnamese locale: translate its few built-in labels in the page.
# Gradio scopes the custom CSS to its container; the page padding around it is set here.
PAGE_CSS = "@media (max-width: 720px) { .gradio-container .main.app { padding-left: 6px !important; padding-right: 6px !important; } }"

TRANSLATE_JS = """
() => {
  document.documentElement.lang = 'vi';
  const pageCss = document.createElement('style');
  pageCss.textContent = PAGE_CSS_TEXT;
  document.head.appendChild(pageCss);
  const map = {
    'Like': 'Hữu ích', 'Dislike': 'Chưa đúng', 'Liked': 'Đã chọn: hữu ích', 'Disliked': 'Đã chọn: chưa đúng',
    'Copy message': 'Sao chép câu trả lời', 'Copied message': 'Đã sao chép', 'Copy conversation': 'Sao chép cả hội thoại',
    'Clear': 'Xóa hội thoại', 'Copy': 'Sao chép', 'Copied': 'Đã sao chép', 'Download': 'Tải về',
    'Drop File Here': 'Kéo thả tệp vào đây', 'Click to Upload': 'Bấm để chọn tệp', '- or -': '- hoặc -',
    'Loading...': 'Đang tải…', 'Error': 'Lỗi', 'Close': 'Đóng', 'Search': 'Tìm',
  };
  const attrs = ['aria-label', 'title', 'placeholder'];
  const fix = () => {
    document.querySelectorAll('[aria-label],[title],[placeholder]').forEach((el) => {
      for (const a of attrs) { const v = el.getAttribute(a); if (v && map[v]) el.setAttribute(a, map[v]); }
    });
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const t = n.nodeValue.trim(); if (t && map[t]) n.nodeValue = n.nodeValue.replace(t, map[t]);
    }
  };
  let pending = false;
  new MutationObserver(() => {
    if (pending) return; pending = true;
    requestAnimationFrame(() => { pending = false; fix(); });
  }).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: attrs});
  fix();
}
"""

# Inside the passage panel, scroll to the highlighted words (without moving the page).
PASSAGE_JS = """
watch('value', () => {
  setTimeout(() => {
    const box = element.querySelector('.htx-passage-text');
    const mark = element.querySelector('mark');
    if (box && mark) box.scrollTop += mark.getBoundingClientRect().top - box.getBoundingClientRect().top - 16;
  }, 60);
});
"""

# After an answer, show its beginning (the chat scrolls to the bottom while it streams).
SHOW_ANSWER_JS = """
() => {
  const show = () => {
    const wrap = document.querySelector('#chat .bubble-wrap');
    const bots = document.querySelectorAll('#chat .user-row');
    const last = bots[bots.length - 1];
    if (wrap && last) wrap.scrollTop += last.getBoundingClientRect().top - wrap.getBoundingClientRect().top - 8;
  };
  for (const ms of [100, 400, 900]) setTimeout(show, ms);
}
"""

HEADER_JS = """
element.querySelector('#big-text')?.addEventListener('click', (e) => {
  const on = document.documentElement.classList.toggle('htx-big');
  e.currentTarget.setAttribute('aria-pressed', on ? 'true' : 'false');
});
"""

EXPORT_DIR = Path(tempfile.gettempdir()) / "htx-exports"


def _theme() -> gr.themes.Base:
    return gr.themes.Default(
        primary_hue="blue",
        neutral_hue="slate",
        text_size=gr.themes.sizes.text_lg,
        font=["Noto Sans", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "DejaVu Sans", "sans-serif"],
        font_mono=["DejaVu Sans Mono", "Consolas", "monospace"],
    ).set(
        body_text_color="#0b1220",
        body_text_color_subdued="#334155",
        block_label_text_color="#0b1220",
        button_primary_background_fill="#0b4fb3",
        button_primary_background_fill_hover="#083b86",
        button_primary_text_color="#ffffff",
    )


def _write_export(records: list[dict[str, Any]]) -> str | None:
    if not records:
        return None
    EXPORT_DIR.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - 3600
    for old in EXPORT_DIR.glob("*/*.md"):
        try:
            if old.stat().st_mtime < cutoff:
                shutil.rmtree(old.parent, ignore_errors=True)
        except OSError:
            pass
    folder = EXPORT_DIR / uuid.uuid4().hex
    folder.mkdir()
    path = folder / f"hoi-dap-htx-{time.strftime('%Y%m%d-%H%M')}.md"
    path.write_text(render.conversation_markdown((r["question"], r["answer"]) for r in records), encoding="utf-8")
    return str(path)


def build_web(rt: AssistantRuntime) -> gr.Blocks:
    settings = rt.settings

    # --- helpers on the loaded index --------------------------------------------------------
    def doc_rows() -> list[list[Any]]:
        """Newest first (the source file's time in the corpus folder: an upload lands on top)."""
        def added(d) -> float:
            try:
                return (settings.corpus_dir / d["file_name"]).stat().st_mtime if d.get("file_name") else 0.0
            except OSError:
                return 0.0

        docs = sorted(rt.documents(), key=lambda d: (-added(d), d["doc_id"]))
        return [[d["doc_id"], d["province"] or "", d["doc_type"] or "", d["number"] or "", d["date"] or "",
                 d["title"], d["chunk_count"]] for d in docs]

    def filter_choices():
        docs = rt.documents()
        provinces = sorted({d["province"] for d in docs if d["province"]})
        doc_choices = [(f"{d['short_title']} [{d['province'] or '?'}]", d["doc_id"]) for d in docs]
        return provinces, doc_choices

    def refresh_all(access_key=None, admin_key=None):
        if not rt.may_see_corpus(access_key, admin_key):
            return (gr.update(choices=[], value=[]), gr.update(choices=[], value=[]), gr.update(value=[]),
                    gr.update(choices=[], value=None),
                    "Nhập mã truy cập (tab Hỏi đáp) hoặc khóa quản trị để xem danh sách văn bản.")
        try:
            provinces, doc_choices = filter_choices()
            rows = doc_rows()
        except ServiceError as e:
            return gr.update(), gr.update(), gr.update(), gr.update(), e.message_vi
        return (
            gr.update(choices=provinces),
            gr.update(choices=doc_choices),
            gr.update(value=rows),
            gr.update(choices=[(f"{c[1]} — {c[0]}", c[1]) for c in doc_choices], value=None),
            f"Đang có **{len(rows)}** văn bản, **{sum(r[6] for r in rows)}** đoạn trong chỉ mục.",
        )

    # --- chat -------------------------------------------------------------------------------
    def more_update(data) -> dict:
        more = int(((data or {}).get("metadata") or {}).get("more") or 0)
        return gr.update(visible=more > 0, value=f"Xem thêm ({more} ý nữa)" if more > 0 else "Xem thêm")

    def respond(question, chat, records, provinces, doc_ids, access_key, request: gr.Request = None):
        chat = list(chat or [])
        records = list(records or [])
        no_change = (gr.update(),) * 6
        try:
            check_api_key(settings, access_key)
            q = clean_question(settings, question)
            rt.check_rate(_client(request), "web ask")
        except ServiceError as e:
            gr.Warning(e.message_vi)
            yield (chat, gr.update(), records) + no_change
            return
        history = []
        for r in records[-4:]:
            history += [("user", r["question"]), ("assistant", r["answer"].get("answer", ""))]
        filters = make_filters(provinces, doc_ids)
        chat.append({"role": "user", "content": q})
        chat.append({"role": "assistant", "content": "Đang tìm trong văn bản…"})
        yield (chat, "", records) + no_change
        text, data = "", None
        try:
            for ev in rt.stream(q, history=clean_history(history), filters=filters):
                if ev.get("event") == "delta":
                    text += ev.get("text", "")
                    chat[-1] = {"role": "assistant", "content": text}
                    yield (chat, gr.update(), records) + no_change
                elif ev.get("event") == "answer":
                    data = ev.get("data")
        except ServiceError as e:
            chat[-1] = {"role": "assistant", "content": f"⚠ {e.message_vi}"}
            yield (chat, gr.update(), records) + no_change
            return
        except Exception as e:  # noqa: BLE001 - shown to the user in Vietnamese, logged in English
            log.error("web answer failed: %r", e, exc_info=e)
            chat[-1] = {"role": "assistant", "content": "⚠ Đã có lỗi trong hệ thống. Vui lòng thử lại sau."}
            yield (chat, gr.update(), records) + no_change
            return
        if data is None:
            data = {"answer": text, "citations": [], "refused": False}
        chat[-1] = {"role": "assistant", "content": render.answer_markdown(data)}
        records.append({"question": q, "answer": data, "msg_index": len(chat) - 1, "history": history,
                        "provinces": list(provinces or []), "doc_ids": list(doc_ids or [])})
        turn = len(records) - 1
        yield (
            chat,
            gr.update(),
            records,
            render.citation_cards_html(data, turn),
            render.passage_html(None, empty_text="Bấm vào một nguồn ở trên để xem nguyên văn đoạn văn bản."),
            render.answer_with_quotes_markdown(q, data),
            gr.update(value=_write_export(records), interactive=True),
            gr.update(visible=False),
            more_update(data),
        )

    def more(chat, records, access_key, request: gr.Request = None):
        """'Xem thêm': the last answer again with every point (full=True), in place of the short one."""
        chat, records = list(chat or []), list(records or [])
        no_change = (gr.update(),) * 6
        if not records:
            return (chat, gr.update(), records) + no_change
        r = dict(records[-1])
        try:
            check_api_key(settings, access_key)
            rt.check_rate(_client(request), "web ask (full)")
            answer = rt.ask(r["question"], history=clean_history(r.get("history")),
                            filters=make_filters(r.get("provinces"), r.get("doc_ids")), full=True)
        except ServiceError as e:
            gr.Warning(e.message_vi)
            return (chat, gr.update(), records) + no_change
        except Exception as e:  # noqa: BLE001
            log.error("web full answer failed: %r", e, exc_info=e)
            gr.Warning("Đã có lỗi trong hệ thống. Vui lòng thử lại sau.")
            return (chat, gr.update(), records) + no_change
        data = answer.to_json()
        data.setdefault("metadata", {})["more"] = 0  # everything is shown now
        r["answer"] = data
        records[-1] = r
        if 0 <= r["msg_index"] < len(chat):
            chat[r["msg_index"]] = {"role": "assistant", "content": render.answer_markdown(data)}
        turn = len(records) - 1
        return (
            chat,
            gr.update(),
            records,
            render.citation_cards_html(data, turn),
            render.passage_html(None, empty_text="Bấm vào một nguồn ở trên để xem nguyên văn đoạn văn bản."),
            render.answer_with_quotes_markdown(r["question"], data),
            gr.update(value=_write_export(records), interactive=True),
            gr.update(),
            gr.update(visible=False),
        )

    def show_passage(records, evt: gr.EventData):
        try:
            n, turn = int(evt.n), int(evt.turn)
            data = records[turn]["answer"]
        except (AttributeError, IndexError, KeyError, TypeError, ValueError):
            return render.passage_html(None)
        sources = data.get("citations") or data.get("related") or []
        cite = next((c for c in sources if int(c.get("n", -1)) == n), None)
        if cite is None:
            return render.passage_html(None)
        passage, full_title = None, None
        quote = cite.get("text") or ""
        try:
            chunk = rt.store.get_chunk(cite["chunk_id"]) if cite.get("chunk_id") else None
            if chunk is not None:  # the original wording, or the normalised text when only it holds the quote
                texts = [t for t in (chunk.display_text, chunk.text) if t]
                passage = next((t for t in texts if render.find_quote_spans(t, quote)), texts[0] if texts else None)
            full_title = next((d["title"] for d in rt.documents() if d["doc_id"] == cite.get("doc_id")), None)
        except ServiceError:
            pass
        return render.passage_html(cite, passage, full_title)

    def select_message(records, evt: gr.SelectData):
        """Clicking an earlier answer in the chat shows that answer's sources."""
        idx = evt.index if isinstance(evt.index, int) else (evt.index[0] if evt.index else None)
        for turn, r in enumerate(records or []):
            if r.get("msg_index") == idx:
                return render.citation_cards_html(r["answer"], turn), render.passage_html(None)
        return gr.update(), gr.update()

    def new_chat():
        return ([], [], render.citation_cards_html(None), render.passage_html(None), "",
                gr.update(value=None, interactive=False), {}, gr.update(visible=False), "", gr.update(visible=False))

    # --- feedback ---------------------------------------------------------------------------
    def on_like(records, ratings, evt: gr.LikeData):
        ratings = dict(ratings or {})
        idx = evt.index if isinstance(evt.index, int) else (evt.index[0] if evt.index else None)
        record = next((r for r in records or [] if r.get("msg_index") == idx), None)
        if record is None:
            return ratings, gr.update(), ""
        key = str(idx)
        liked = evt.liked
        if liked is True or liked is False:
            rating = "up" if liked else "down"
            if key in ratings:
                rt.feedback.update(ratings[key], rating=rating)
            else:
                ratings[key] = rt.feedback.add(
                    record["question"], record["answer"].get("answer", ""), record["answer"].get("citations", []), rating
                )
            ratings["_last"] = ratings[key]
            msg = "Cảm ơn bạn! Bạn có thể ghi thêm góp ý (không bắt buộc)." if rating == "up" else \
                "Cảm ơn bạn! Câu trả lời chưa đúng ở đâu? Hãy ghi góp ý (không bắt buộc)."
            log.info("feedback %s on message %s (row %s)", rating, idx, ratings[key])
            return ratings, gr.update(visible=True), msg
        if key in ratings:  # rating withdrawn
            rt.feedback.delete(ratings.pop(key))
        return ratings, gr.update(visible=False), "Đã bỏ đánh giá."

    def send_comment(ratings, comment):
        fid = (ratings or {}).get("_last")
        if not fid:
            return gr.update(), "Hãy bấm nút Thích hoặc Không thích (hình ngón tay) dưới một câu trả lời trước."
        if not (comment or "").strip():
            return gr.update(), "Góp ý đang trống."
        rt.feedback.update(fid, comment=comment)
        return "", "✔ Đã lưu góp ý. Cảm ơn bạn!"

    # --- documents (admin) --------------------------------------------------------------------
    def unlock(key, request: gr.Request = None):
        """The file picker appears only for a valid admin key (so no file is sent before that)."""
        try:
            rt.check_admin(key, _client(request))
        except ServiceError as e:
            return (gr.update(visible=False), f"✘ {e.message_vi}") + refresh_all(None, None)[:4]
        return (gr.update(visible=True), "✔ Khóa quản trị đúng. Hãy chọn tệp rồi bấm **Nạp văn bản**.") \
            + refresh_all(None, key)[:4]

    def upload(files, key, progress=gr.Progress(), request: gr.Request = None):
        try:
            rt.check_admin(key, _client(request))
            rt.check_rate(_client(request), "web upload")
        except ServiceError as e:
            return (f"✘ {e.message_vi}",) + refresh_all(None, None)[:4]
        if not files:
            return ("Hãy chọn tệp để tải lên (.txt, .md, .docx, .pdf).",) + refresh_all(None, key)[:4]
        paths = files if isinstance(files, list) else [files]
        lines = []
        for i, p in enumerate(paths):
            src = Path(p if isinstance(p, (str, os.PathLike)) else getattr(p, "name", str(p)))
            name = src.name
            progress((i, len(paths)), desc=f"Đang nạp {name} ({i + 1}/{len(paths)})…")
            try:
                if src.stat().st_size > settings.max_upload_bytes:
                    from assistant.interfaces.service import upload_too_large

                    raise upload_too_large(settings)
                folder = rt.upload_dir()
                tmp = folder / "upload.bin"
                shutil.copyfile(src, tmp)
                from index.progress import IngestMeter, reporting

                def embedding_progress(done: int, total: int, i: int = i, name: str = name) -> None:
                    if total:  # the embedding phase of this file, shown inside its share of the bar
                        progress((i + done / total) / len(paths),
                                 desc=f"Đang tính vectơ cho {name}: {done}/{total} đoạn ({i + 1}/{len(paths)})…")

                with reporting(IngestMeter(mode="none", on_update=embedding_progress)):
                    result = rt.ingest_upload(tmp, name)
                state = "đã cập nhật chỉ mục" if result.changed else "không thay đổi (đã có sẵn)"
                lines.append(f"✔ **{name}** → mã `{result.doc_id}`: {result.chunks} đoạn, {state}.")
            except ServiceError as e:
                lines.append(f"✘ **{name}**: {e.message_vi}")
            except Exception as e:  # noqa: BLE001
                log.error("web upload of %s failed: %r", name, e, exc_info=e)
                lines.append(f"✘ **{name}**: Đã có lỗi khi nạp tệp. Vui lòng thử lại.")
        progress((len(paths), len(paths)), desc="Xong")
        return ("\n\n".join(lines),) + refresh_all(None, key)[:4]

    def delete(doc_id, key, request: gr.Request = None):
        try:
            rt.check_admin(key, _client(request))
            if not doc_id:
                raise ServiceError(400, "missing_doc", "Hãy chọn văn bản cần xóa.")
            rt.delete_document(doc_id)
            msg = f"✔ Đã xóa văn bản `{doc_id}` khỏi chỉ mục."
        except ServiceError as e:
            msg = f"✘ {e.message_vi}"
        return (msg,) + refresh_all(None, key)[:4]

    # --- layout -------------------------------------------------------------------------------
    examples = [{"text": q, "display_text": f"{who} · {q}"} for who, q in EXAMPLES]
    private = {"api_visibility": "private"}

    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        records = gr.State([])
        ratings = gr.State({})
        gr.HTML(
            f"<div id='htx-header'><div class='htx-title'><h1>{TITLE}</h1>"
            "<p>Hỏi đáp từ văn bản gốc của các tỉnh — mỗi ý trả lời đều có trích dẫn [n].</p></div>"
            "<button type='button' id='big-text' class='htx-big-btn' title='Phóng to chữ cho máy chiếu'>"
            "A+ Chữ lớn (máy chiếu)</button></div>",
            js_on_load=HEADER_JS,
            elem_id="htx-header-block",
        )
        with gr.Tabs(elem_id="tabs"):
            with gr.Tab("Hỏi đáp", id="tab-chat", elem_id="tab-chat"):
                access_key = gr.Textbox(
                    label="Mã truy cập", type="password", elem_id="access-key", visible=bool(settings.api_key),
                    placeholder="Nhập mã truy cập do quản trị viên cung cấp",
                )
                with gr.Row(equal_height=False, elem_id="chat-row"):
                    with gr.Column(scale=3, min_width=340, elem_id="chat-col"):
                        chat = gr.Chatbot(
                            label="Hội thoại",
                            elem_id="chat",
                            height="62vh",
                            min_height=360,
                            placeholder=PLACEHOLDER,
                            examples=examples,
                            buttons=["copy", "copy_all"],
                            feedback_options=("Like", "Dislike"),
                            layout="bubble",
                            latex_delimiters=[],
                            autoscroll=False,
                        )
                        more_btn = gr.Button("Xem thêm", elem_id="more-btn", size="sm", visible=False)
                        with gr.Row(equal_height=True):
                            question = gr.Textbox(
                                show_label=False,
                                placeholder="Nhập câu hỏi, ví dụ: Sở Công Thương phải làm gì?",
                                elem_id="question",
                                scale=5,
                                lines=1,
                                max_lines=4,
                                max_length=settings.max_question_chars,
                                autofocus=True,
                            )
                            ask_btn = gr.Button("Hỏi", variant="primary", elem_id="ask-btn", scale=1, min_width=90)
                        with gr.Group(visible=False, elem_id="feedback-box") as feedback_box:
                            comment = gr.Textbox(
                                label="Góp ý cho câu trả lời vừa đánh giá (không bắt buộc)",
                                elem_id="feedback-comment",
                                lines=2,
                                max_length=2000,
                            )
                            send_comment_btn = gr.Button("Gửi góp ý", elem_id="feedback-send", size="sm")
                        feedback_status = gr.Markdown("", elem_id="feedback-status")
                        with gr.Accordion("Lọc theo tỉnh / văn bản", open=False, elem_id="filters"):
                            with gr.Row():
                                f_prov = gr.Dropdown(label="Tỉnh", multiselect=True, choices=[], elem_id="filter-provinces",
                                                     info="Để trống: tìm trong mọi tỉnh")
                                f_docs = gr.Dropdown(label="Văn bản", multiselect=True, choices=[], elem_id="filter-docs",
                                                     info="Để trống: tìm trong mọi văn bản")
                        with gr.Row():
                            new_btn = gr.Button("Cuộc trò chuyện mới", elem_id="new-chat", size="sm")
                            export_btn = gr.DownloadButton("Tải hội thoại (.md)", elem_id="export-md", size="sm",
                                                           interactive=False)
                        with gr.Accordion("Sao chép kèm nguồn (Markdown)", open=False, elem_id="copy-md"):
                            answer_md = gr.Textbox(value="", elem_id="answer-md", buttons=["copy"], interactive=False,
                                                   label="Bấm nút sao chép ở góc phải để chép cả câu trả lời và nguồn",
                                                   show_label=True, lines=8, max_lines=16)
                    with gr.Column(scale=2, min_width=320, elem_id="sources-col"):
                        gr.Markdown("### Nguồn trích dẫn", elem_id="sources-head")
                        cites = gr.HTML(render.citation_cards_html(None), elem_id="citations", js_on_load=CITES_JS)
                        passage = gr.HTML(render.passage_html(None), elem_id="passage", js_on_load=PASSAGE_JS)
            with gr.Tab("Văn bản (quản trị)", id="tab-docs", elem_id="tab-docs"):
                gr.Markdown(
                    "Danh sách văn bản đang dùng để trả lời. **Thêm hoặc xóa văn bản cần khóa quản trị** "
                    "(biến môi trường `HTX_ADMIN_KEY` trên máy chủ). Nhận tệp .txt, .md, .docx, .pdf, "
                    f"tối đa {settings.max_upload_bytes // (1024 * 1024)} MB mỗi tệp."
                )
                with gr.Row(equal_height=True):
                    admin_key = gr.Textbox(label="Khóa quản trị", type="password", elem_id="admin-key",
                                           placeholder="Nhập khóa quản trị rồi bấm Xác nhận khóa", scale=4)
                    unlock_btn = gr.Button("Xác nhận khóa", elem_id="admin-unlock", scale=1, min_width=150)
                with gr.Row():
                    files = gr.File(label="Chọn tệp văn bản", file_count="multiple", visible=False,
                                    file_types=[".txt", ".md", ".docx", ".pdf"], elem_id="upload-file", height=140)
                    with gr.Column(min_width=200, scale=0):
                        upload_btn = gr.Button("Nạp văn bản", variant="primary", elem_id="upload-btn")
                        refresh_btn = gr.Button("Làm mới danh sách", elem_id="refresh-docs", size="sm")
                docs_status = gr.Markdown("", elem_id="docs-status")
                table = gr.Dataframe(headers=DOC_COLUMNS, value=[], interactive=False, wrap=True, elem_id="docs-table",
                                     label="Văn bản trong chỉ mục",
                                     column_widths=["22%", "9%", "9%", "10%", "9%", "33%", "8%"])
                with gr.Row():
                    del_doc = gr.Dropdown(label="Văn bản cần xóa", choices=[], elem_id="delete-doc", scale=3)
                    del_btn = gr.Button("Xóa văn bản", variant="stop", elem_id="delete-btn", scale=1)

        # --- events ---------------------------------------------------------------------------
        answer_outputs = [chat, question, records, cites, passage, answer_md, export_btn, feedback_box, more_btn]
        ask_inputs = [question, chat, records, f_prov, f_docs, access_key]
        more_btn.click(more, [chat, records, access_key], answer_outputs, **private).then(
            None, js=SHOW_ANSWER_JS, **private)
        question.submit(respond, ask_inputs, answer_outputs, **private).then(None, js=SHOW_ANSWER_JS, **private)
        ask_btn.click(respond, ask_inputs, answer_outputs, **private).then(None, js=SHOW_ANSWER_JS, **private)
        chat.example_select(_example_text, None, question, **private).then(
            respond, ask_inputs, answer_outputs, **private
        ).then(None, js=SHOW_ANSWER_JS, **private)
        cites.click(show_passage, [records], [passage], **private)
        chat.select(select_message, [records], [cites, passage], **private)
        chat.like(on_like, [records, ratings], [ratings, feedback_box, feedback_status], **private)
        send_comment_btn.click(send_comment, [ratings, comment], [comment, feedback_status], **private)
        reset_outputs = [chat, records, cites, passage, answer_md, export_btn, ratings, feedback_box, feedback_status,
                         more_btn]
        new_btn.click(new_chat, None, reset_outputs, **private)
        chat.clear(new_chat, None, reset_outputs, **private)
        doc_outputs = [f_prov, f_docs, table, del_doc, docs_status]
        demo.load(refresh_all, [access_key, admin_key], doc_outputs, **private)
        refresh_btn.click(refresh_all, [access_key, admin_key], doc_outputs, **private)
        access_key.submit(refresh_all, [access_key, admin_key], doc_outputs, **private)
        access_key.blur(refresh_all, [access_key, admin_key], doc_outputs, **private)
        unlock_outputs = [files, docs_status, f_prov, f_docs, table, del_doc]
        unlock_btn.click(unlock, [admin_key], unlock_outputs, **private)
        admin_key.submit(unlock, [admin_key], unlock_outputs, **private)
        upload_btn.click(upload, [files, admin_key], [docs_status, f_prov, f_docs, table, del_doc], **private)
        del_btn.click(delete, [del_doc, admin_key], [docs_status, f_prov, f_docs, table, del_doc], **private)

    demo.queue(default_concurrency_limit=8, max_size=256)
    return demo


def _client(request: gr.Request | None) -> str:
    """The client's address as the web app sees it (the same key as the API's rate limit)."""
    client = getattr(request, "client", None)
    return str(getattr(client, "host", None) or "unknown")


def _example_text(evt: gr.SelectData) -> str:
    v = evt.value
    return v.get("text", "") if isinstance(v, dict) else str(v)


def mount_web(app, rt: AssistantRuntime):
    """Mounts the web app at "/" on the FastAPI app (after the API routes, which keep priority)."""
    demo = build_web(rt)
    return gr.mount_gradio_app(
        app,
        demo,
        path="/",
        theme=_theme(),
        css=CSS,
        js=TRANSLATE_JS.replace("PAGE_CSS_TEXT", json.dumps(PAGE_CSS)),
        footer_links=[],
        run_history=False,
        ssr_mode=False,
        show_error=False,
        max_file_size=rt.settings.max_upload_bytes,
        pwa=False,
        mcp_server=False,
    )
