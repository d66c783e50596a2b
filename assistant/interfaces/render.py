"""Turns answers (Answer.to_json() dicts) into what people read: chat Markdown, citation cards,
the cited passage with the quoted words highlighted, and a Markdown export of a conversation.

Pure functions, no Gradio: the web app and the tests both use them.

Document text (and an LLM's wording of it) is never trusted as Markdown or HTML: everything
that goes into chat Markdown or the export passes through :func:`inert`, which drops images
and links (keeping their text), shows raw HTML literally and puts bare URLs in code spans, so
nothing is fetched or clickable. HTML panels escape everything with ``html.escape``.
"""

from __future__ import annotations

import html
import re
import unicodedata
from datetime import datetime
from typing import Any, Iterable

from ingest.normalize import canonical_tones, fold

QUOTE_PREVIEW_CHARS = 180
CHAT_SOURCES = 8  # sources listed under an answer in the chat; all of them are in the side panel


def _e(text: Any) -> str:
    return html.escape("" if text is None else str(text), quote=True)


# --- inert Markdown ----------------------------------------------------------------------------

_MD_IMAGE = re.compile(r"!\[([^\[\]\n]{0,500})\]\s*(?:\([^()\n]{0,2000}\)|\[[^\[\]\n]{0,200}\])")
_MD_LINK = re.compile(r"\[([^\[\]\n]{0,500})\]\s*(?:\([^()\n]{0,2000}\)|\[[^\[\]\n]{0,200}\])")
_MD_REF_DEF = re.compile(r"^( {0,3})\[([^\]\n]{1,200})\]:", re.MULTILINE)
_AUTOLINK = re.compile(r"<((?:[a-z][a-z0-9+.-]{1,31}:|www\.)[^<>\s]{0,2000})>", re.IGNORECASE)
_ENTITY = re.compile(r"&(?=#?[a-z0-9]{1,32};)", re.IGNORECASE)
_TAG_START = re.compile(r"<(?=[a-z/!?])", re.IGNORECASE)
_BARE_URL = re.compile(r"(?<![\w`])((?:https?|ftp|file|data|javascript|mailto):[^\s<>`]+|www\.[^\s<>`]+)", re.IGNORECASE)


def inert(text: Any) -> str:
    """Markdown-safe text: what a document says, shown as text (see the module docstring).

    ``[n]`` citation markers and **bold** stay; ``![x](url)`` and ``[x](url)`` become ``x``;
    ``<img ...>`` and other tags are escaped (shown literally); ``<url>`` autolinks and bare
    URLs are shown as code (not links)."""
    t = "" if text is None else str(text)
    t = _MD_IMAGE.sub(lambda m: m.group(1), t)
    t = _MD_LINK.sub(lambda m: f"[{m.group(1)}]" if m.group(1).strip().isdigit() else m.group(1), t)
    t = _MD_REF_DEF.sub(lambda m: f"{m.group(1)}\\[{m.group(2)}\\]:", t)
    t = _AUTOLINK.sub(lambda m: m.group(1), t)
    t = _ENTITY.sub("&amp;", t)  # "&lt;" in a document stays literal; "KH&ĐT" stays as it is
    t = _TAG_START.sub("&lt;", t)  # "<img ...>", "</p>", "<!--": shown, not parsed; "a < b" stays
    t = _BARE_URL.sub(lambda m: "`" + m.group(1).replace("`", "") + "`", t)
    t = t.replace("![", "!\\[").replace("](", "]\\(")
    return t


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text or "")


def _sources(answer: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The numbered sources of an answer and their heading: citations, or 'related' for refusals."""
    cites = answer.get("citations") or []
    if cites:
        return "Nguồn", cites
    related = answer.get("related") or []
    return ("Có thể liên quan", related) if related else ("", [])


def source_line(c: dict[str, Any]) -> str:
    parts = [c.get("doc_title") or c.get("doc_id") or "", c.get("province") or "không rõ tỉnh", c.get("section") or ""]
    return inert(" — ".join(p for p in parts if p))


# A heading that is only an item marker ("4", "4.", "b)", "IV", "-"): says nothing on its own.
_BARE_ITEM = re.compile(r"^(?:[(]?(?:\d{1,3}(?:\.\d{1,3})*|[IVXLC]{1,6}|[a-zđ])[.)]?|[-+•])$", re.IGNORECASE)


def section_label(section: str | None) -> str:
    """The last heading of a section path, with its parent heading when the last one is only
    an item number (so a passage reads "II. NHIỆM VỤ › 4", not "4")."""
    parts = [p.strip() for p in (section or "").split(" > ") if p.strip()]
    if not parts:
        return ""
    label = parts[-1]
    i = len(parts) - 1
    while _BARE_ITEM.match(label.strip(" .")) and i > 0:
        i -= 1
        label = f"{parts[i]} › {label}"
        if not _BARE_ITEM.match(parts[i].strip(" .")):
            break
    return label


def short_source(c: dict[str, Any]) -> str:
    """The document's short title and the heading: short enough for the chat bubble."""
    section = section_label(c.get("section"))
    doc = c.get("doc_title") or c.get("doc_id") or ""
    province = c.get("province")
    if province and province not in doc:
        doc = f"{doc} ({province})"
    return inert(" — ".join(p for p in (doc, section) if p))


# --- Markdown ---------------------------------------------------------------------------------


def answer_markdown(answer: dict[str, Any]) -> str:
    """What the chat shows (and its copy button copies): the answer, then its numbered sources."""
    text = inert((answer.get("answer") or "").strip())
    heading, sources = _sources(answer)
    if not sources:
        return text
    lines = [text, "", f"**{heading}:**"]
    for c in sources[:CHAT_SOURCES]:
        lines.append(f"- **[{c.get('n')}]** {short_source(c)}")
    if len(sources) > CHAT_SOURCES:
        lines.append(f"- … và {len(sources) - CHAT_SOURCES} nguồn khác (xem khung *Nguồn trích dẫn*)")
    return "\n".join(lines)


def answer_with_quotes_markdown(question: str, answer: dict[str, Any]) -> str:
    """An answer for trainers to paste into slides or notes: the question, the answer, each source and its quote."""
    heading, sources = _sources(answer)
    lines = [f"**Hỏi:** {inert(question.strip())}", "", "**Trả lời:**", "", inert((answer.get("answer") or "").strip())]
    if sources:
        lines += ["", f"**{heading}:**", ""]
        for c in sources:
            lines.append(f"[{c.get('n')}] {source_line(c)}")
            quote = " ".join((c.get("text") or "").split())
            if quote:
                lines.append(f"> «{inert(quote)}»")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def conversation_markdown(turns: Iterable[tuple[str, dict[str, Any]]], title: str = "Hỏi đáp chính sách hợp tác xã") -> str:
    """A whole conversation as one Markdown document (for the export button)."""
    now = datetime.now().strftime("%d/%m/%Y %H:%M")
    out = [f"# {title}", "", f"_Xuất lúc {now}. Câu trả lời trích từ văn bản gốc; số [n] chỉ tới nguồn bên dưới mỗi câu trả lời._", ""]
    for i, (question, answer) in enumerate(turns, 1):
        out += [f"## {i}. {inert(question.strip())}", "", answer_with_quotes_markdown(question, answer).split("\n", 2)[2].strip(), ""]
    return "\n".join(out).rstrip() + "\n"


# --- HTML: citation cards and the passage -------------------------------------------------------


def citation_cards_html(answer: dict[str, Any] | None, turn: int = 0) -> str:
    """Clickable cards, one per numbered source; data-n / data-turn tell the app which one."""
    if not answer:
        return (
            '<div class="htx-empty" id="citations-empty">Các nguồn trích dẫn của câu trả lời sẽ hiện ở đây. '
            "Bấm vào một nguồn để xem nguyên văn đoạn văn bản.</div>"
        )
    heading, sources = _sources(answer)
    if not sources:
        return '<div class="htx-empty">Câu trả lời này không có trích dẫn.</div>'
    intro = "Bấm vào một nguồn để xem nguyên văn." if heading == "Nguồn" else "Văn bản không trả lời trực tiếp; các đoạn này có thể liên quan."
    cards = []
    for c in sources:
        quote = " ".join((c.get("text") or "").split())
        if len(quote) > QUOTE_PREVIEW_CHARS:
            quote = quote[:QUOTE_PREVIEW_CHARS].rsplit(" ", 1)[0] + " …"
        cards.append(
            f'<button type="button" class="htx-cite" data-n="{_e(c.get("n"))}" data-turn="{turn}" '
            f'id="cite-{turn}-{_e(c.get("n"))}" title="Xem đoạn văn bản gốc">'
            f'<span class="htx-cite-top"><span class="htx-n">[{_e(c.get("n"))}]</span>'
            f'<span class="htx-prov">{_e(c.get("province") or "không rõ tỉnh")}</span></span>'
            f'<span class="htx-doc">{_e(c.get("doc_title") or c.get("doc_id"))}</span>'
            f'<span class="htx-sec">{_e(c.get("section"))}</span>'
            f'<span class="htx-quote">«{_e(quote)}»</span></button>'
        )
    return (
        f'<div class="htx-cites" data-turn="{turn}"><div class="htx-cites-head">{_e(heading)} · {_e(intro)}</div>'
        + "".join(cards)
        + "</div>"
    )


_WORD = re.compile(r"\w+", re.UNICODE)


def _keys(word: str) -> tuple[str, str]:
    """Two matching keys for a word: exact (case-folded, canonical tone marks) and accent-free."""
    return canonical_tones(word).lower(), fold(word)


def find_quote(passage: str, quote: str) -> tuple[int, int] | None:
    """Character span of ``quote`` in ``passage``, comparing words only (punctuation, spacing, case
    and tone-mark placement may differ; accents are ignored as a last resort). When the whole
    quote is not there, the longest leading part of at least half its words is used."""
    passage, quote = _nfc(passage), _nfc(quote)
    pw = [(m.start(), m.end(), _keys(m.group())) for m in _WORD.finditer(passage)]
    qw = [_keys(w) for w in _WORD.findall(quote)]
    if not pw or not qw:
        return None
    min_n = len(qw) if len(qw) <= 4 else max(4, (len(qw) + 1) // 2)
    for k in (0, 1):
        q = [w[k] for w in qw]
        p = [w[2][k] for w in pw]
        for n in range(len(q), min_n - 1, -1):
            head = q[:n]
            for i in range(len(p) - n + 1):
                if p[i] == head[0] and p[i:i + n] == head:
                    return pw[i][0], pw[i + n - 1][1]
    return None


def find_quote_spans(passage: str, quote: str) -> list[tuple[int, int]]:
    """Spans to highlight: the whole quote, or, for a table row quoted as "cell | cell | ...",
    each cell of two words or more found in the passage (a row is often displayed as labelled lines)."""
    whole = find_quote(passage, quote)
    if whole:
        return [whole]
    cells = [c.strip() for c in re.split(r"\s*\|\s*|\t", quote or "") if c.strip()]
    spans: list[tuple[int, int]] = []
    if len(cells) > 1:
        for cell in cells:
            if len(_WORD.findall(cell)) < 2:
                continue
            span = find_quote(passage, cell)
            if span and all(span[1] <= a or span[0] >= b for a, b in spans):
                spans.append(span)
    return sorted(spans)


def highlight_html(passage: str, quote: str) -> tuple[str, bool]:
    """The passage as HTML with the quoted words in <mark>; False when the quote was not found."""
    passage = _nfc(passage)
    spans = find_quote_spans(passage, quote)
    if not spans:
        return _e(passage).replace("\n", "<br>"), False
    out, pos = [], 0
    for a, b in spans:
        out += [_e(passage[pos:a]), '<mark class="htx-mark">', _e(passage[a:b]), "</mark>"]
        pos = b
    out.append(_e(passage[pos:]))
    return "".join(out).replace("\n", "<br>"), True


def passage_html(citation: dict[str, Any] | None, passage: str | None = None, doc_full_title: str | None = None,
                 empty_text: str = "Chưa chọn nguồn nào.") -> str:
    """The side panel for one citation: document, province, heading path, and the passage with the quote marked."""
    if not citation:
        return f'<div class="htx-empty" id="passage-empty">{_e(empty_text)}</div>'
    quote = citation.get("text") or ""
    body, found = highlight_html(passage or quote, quote)
    if passage and not found:
        body = f'<p class="htx-quote-alone"><mark class="htx-mark">{_e(quote)}</mark></p><hr>' + body
    title = doc_full_title or citation.get("doc_title") or citation.get("doc_id")
    return (
        f'<div class="htx-passage" data-n="{_e(citation.get("n"))}">'
        f'<div class="htx-passage-head"><span class="htx-n">[{_e(citation.get("n"))}]</span> '
        f'{_e(citation.get("doc_title") or citation.get("doc_id"))}</div>'
        '<dl class="htx-meta">'
        f'<dt>Tỉnh</dt><dd class="htx-meta-prov">{_e(citation.get("province") or "không rõ")}</dd>'
        f'<dt class="htx-dt-doc">Văn bản</dt><dd class="htx-meta-doc" title="{_e(title)}">{_e(title)} '
        f'<span class="htx-docid">({_e(citation.get("doc_id"))})</span></dd>'
        f'<dt>Mục</dt><dd class="htx-meta-sec">{_e(citation.get("section") or "—")}</dd>'
        "</dl>"
        f'<div class="htx-passage-text" id="passage-text">{body}</div></div>'
    )
