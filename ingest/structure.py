"""Vietnamese administrative numbering -> a section tree.

Markers, from outer to inner (a skipped number, e.g. no section III, changes nothing):
  part     "Phụ lục", "CHƯƠNG TRÌNH HÀNH ĐỘNG" (after the document body has started)
  roman    "I. MỤC TIÊU"          article "Điều 1. ..."
  num1     "1. ..."   num2 "1.1. ..." / "2.10. ..."   num3 "1.1.1. ..."
  letter   "a) ..." ... "đ) ..." "e) ..." "g) ..."
  dash     "- ..."    plus "+ ..."
Legal texts (laws, decrees, circulars: a "Chương" heading, or articles without roman sections)
also have, outside the articles, "Phần thứ nhất" / "Chương II" / "Mục 1" / "Tiểu mục 1" (the title
line that follows a bare heading is its title), and inside an article khoản "1." and điểm "a)".
Text before the first marker is the preamble ("Phần mở đầu"); a closing paragraph
("Trên đây là ...", "... Chỉ thị này ...") after the numbered body goes up to the nearest
top-level section, or to "Phần kết". Tables sit in the tree where they occur.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.lines import Line
from ingest.normalize import fold
from ingest.tables import Table
from ingest.vocab import PROVINCES

RANKS = {"root": -1, "part": 0, "lpart": 1, "chapter": 2, "lsection": 3, "subsection": 4,
         "preamble": 5, "closing": 5, "roman": 5, "article": 5,
         "num1": 6, "clause": 6, "num2": 7, "num3": 8, "letter": 9, "point": 9, "dash": 10, "plus": 11}
TOP_RANK = RANKS["article"]
CONTAINERS = ("lpart", "chapter", "lsection", "subsection")  # legal headings above the articles
_LEGAL_HEADINGS: list[tuple[str, re.Pattern[str]]] = [
    ("subsection", re.compile(r"^(?P<m>(?:Tiểu mục|TIỂU MỤC)\s+(?:\d+|[IVXLC]+))\b\s*[.:]?\s*(?P<t>.*)$")),
    ("lpart", re.compile(r"^(?P<m>(?:Phần|PHẦN)\s+(?:thứ\s+\w+|THỨ\s+\w+|\d+|[IVXLC]+))(?=$|[\s.:])\s*[.:]?\s*(?P<t>.*)$")),
    ("chapter", re.compile(r"^(?P<m>(?:Chương|CHƯƠNG)\s+(?:\d+|[IVXLC]+))(?=$|[\s.:])\s*[.:]?\s*(?P<t>.*)$")),
    ("lsection", re.compile(r"^(?P<m>(?:Mục|MỤC)\s+(?:\d+|[IVXLC]+))(?=$|[\s.:])\s*[.:]?\s*(?P<t>.*)$")),
]
_ARTICLE_LINE = re.compile(r"^Điều\s+\d+\s*[.:]")
_ROMAN_LINE = re.compile(r"^(?=[IVX])X{0,3}(?:IX|IV|V?I{0,3})\.\s+\S")

_ARTICLE = re.compile(r"^(?P<m>Điều\s+\d+)\s*[.:]\s*(?P<t>.*)$")

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("article", _ARTICLE),
    ("roman", re.compile(r"^(?P<m>(?=[IVX])X{0,3}(?:IX|IV|V?I{0,3}))\.\s+(?P<t>\S.*)$")),
    ("num3", re.compile(r"^(?P<m>\d{1,2}\.\d{1,2}\.\d{1,2})\.?\s+(?P<t>\S.*)$")),
    ("num2", re.compile(r"^(?P<m>\d{1,2}\.\d{1,2})\.?\s+(?P<t>\S.*)$")),
    ("num1", re.compile(r"^(?P<m>\d{1,2})[.)]\s+(?P<t>\S.*)$")),
    ("letter", re.compile(r"^(?P<m>[a-zđ])\)\s*(?P<t>\S.*)$")),
    ("dash", re.compile(r"^(?P<m>[-–—•])\s*(?P<t>\S.*)$")),
    ("plus", re.compile(r"^(?P<m>\+)\s*(?P<t>\S.*)$")),
]
_PART_TITLES = ("phu luc", "chuong trinh hanh dong", "ke hoach", "quyet dinh", "chi thi", "quy che", "quy dinh", "de an", "huong dan")
_PART = re.compile(r"^(?:%s)(?:\s+(?:so\s+)?[0-9ivx]+)?$" % "|".join(_PART_TITLES))
_CLOSING_START = re.compile(r"^(?:trên đây|nơi nhận)", re.IGNORECASE)
_CLOSING_THIS = re.compile(r"\b(?:Chỉ thị|Kế hoạch|Quyết định|Chương trình|Quy chế|Đề án) này\b")
LABEL_MAX = 80


@dataclass
class Node:
    kind: str
    marker: str = ""  # "2.7", "II", "b", "Điều 1"
    title: str = ""  # heading text after the marker (normalised)
    lines: list[Line] = field(default_factory=list)  # own lines: the marker line, then its paragraphs
    children: list["Node | Table"] = field(default_factory=list)
    legal: bool = False  # set on the root of a legal text (laws, decrees, circulars)

    @property
    def rank(self) -> int:
        return RANKS.get(self.kind, 12)

    @property
    def label(self) -> str:
        return node_label(self)

    def is_leaf(self) -> bool:
        return not self.children


def match_marker(text: str) -> tuple[str, str, str] | None:
    t = text.strip()
    for kind, pat in _PATTERNS:
        m = pat.match(t)
        if m:
            return kind, m.group("m"), m.group("t").strip()
    return None


def match_legal_heading(text: str) -> tuple[str, str, str] | None:
    t = text.strip()
    for kind, pat in _LEGAL_HEADINGS:
        m = pat.match(t)
        if m:
            marker = " ".join(m.group("m").split())
            marker = marker[:1].upper() + marker[1:].lower() if _is_upper(marker) else marker
            return kind, marker, m.group("t").strip()
    return None


def legal_title(text: str) -> str | None:
    """The title after a legal structure marker: an article ("Điều 18. Chính sách về khởi
    nghiệp" -> "Chính sách về khởi nghiệp") or a heading above the articles ("Chương II" -> "");
    None when the line is neither."""
    h = match_legal_heading(text)
    if h:
        return h[2]
    m = _ARTICLE.match(text.strip())
    return m.group("t").strip() if m else None


def is_legal(items: list) -> bool:
    """A legal text: chapter headings, or articles and no roman-numbered plan sections."""
    articles = romans = 0
    for item in items:
        if isinstance(item, Table) or item.blank:
            continue
        t = item.text.strip()
        h = match_legal_heading(t)
        if h and h[0] == "chapter":
            return True
        if _ARTICLE_LINE.match(t):
            articles += 1
        elif _ROMAN_LINE.match(t):
            romans += 1
    return articles >= 4 or (articles >= 2 and romans == 0)


def _is_upper(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters)


_PROVINCE_FOLD = {fold(p): p for p in PROVINCES}


def sentence_case(text: str) -> str:
    """'MỘT SỐ NHIỆM VỤ' -> 'Một số nhiệm vụ' (province names keep their capitals)."""
    if not _is_upper(text):
        head, sep, tail = text.partition(" (")
        if sep and _is_upper(head):
            return sentence_case(head) + sep + tail
        return text
    low = text.lower()
    out = low[:1].upper() + low[1:]
    for folded, name in _PROVINCE_FOLD.items():
        low_name = name.lower()
        if low_name in out:
            out = out.replace(low_name, name)
    return out


def short_title(title: str, limit: int = LABEL_MAX) -> str:
    """Heading text up to its first colon, else cut at a word boundary."""
    t = sentence_case(title.strip())
    idx = t.find(":")
    if 0 < idx <= limit:
        return t[:idx].strip()
    t = t.rstrip(" :;.,")
    if len(t) <= limit:
        return t
    cut = t[:limit].rsplit(" ", 1)[0].rstrip(" ,;:")
    return cut + "…"


def node_label(node: Node) -> str:
    if node.kind == "preamble":
        return "Phần mở đầu"
    if node.kind == "closing":
        return "Phần kết"
    if node.kind == "part":
        return short_title(node.title)
    if node.kind in ("roman", "num1", "num2", "num3"):
        st = short_title(node.title, LABEL_MAX - len(node.marker) - 2)
        return f"{node.marker}. {st}" if st else f"{node.marker}."
    if node.kind == "article":
        st = short_title(node.title, LABEL_MAX - len(node.marker) - 2)
        return f"{node.marker}. {st}" if st else node.marker
    if node.kind in CONTAINERS:
        st = short_title(node.title, LABEL_MAX - len(node.marker) - 2)
        return f"{node.marker}. {st}" if st else node.marker
    if node.kind == "clause":
        return f"Khoản {node.marker}"
    if node.kind == "point":
        return f"Điểm {node.marker}"
    if node.kind == "letter":
        return f"{node.marker})"
    if node.kind in ("dash", "plus"):
        return short_title(node.title) if node.children else ""
    return ""


def parse(items: list[Line | Table]) -> Node:
    """Build the section tree of a document from its cleaned lines and tables."""
    root = Node("root")
    preamble = Node("preamble")
    root.children.append(preamble)
    stack: list[Node] = [root, preamble]
    body_started = False
    legal = is_legal(items)
    title_for: Node | None = None  # a bare "Chương II" waiting for its title line

    def add_para(line: Line) -> None:
        top = stack[-1]
        if top.children:
            top.children.append(Node("para", lines=[line]))
        else:
            top.lines.append(line)

    def open_node(kind: str, marker: str, title: str, line: Line) -> Node:
        """A numbered or legal heading: close the open nodes of its rank or deeper, open it."""
        node = Node(kind, marker=marker, title=title, lines=[line])
        while len(stack) > 1 and (stack[-1].rank >= node.rank or stack[-1].kind in ("preamble", "closing")):
            stack.pop()
        stack[-1].children.append(node)
        stack.append(node)
        return node

    for item in items:
        if isinstance(item, Table):
            stack[-1].children.append(item)
            continue
        line = item
        if line.blank:
            continue
        text = line.text.strip()
        if legal:
            if title_for is not None:
                node, title_for = title_for, None
                if not match_marker(text) and not match_legal_heading(text):
                    node.title = text
                    node.lines.append(line)
                    continue
            h = match_legal_heading(text)
            if h:
                kind, marker, title = h
                body_started = True
                node = open_node(kind, marker, title, line)
                if not title:
                    title_for = node
                continue
        mk = match_marker(text)
        if legal and mk and any(n.kind == "article" for n in stack):
            if mk[0] == "num1":
                mk = ("clause", mk[1], mk[2])
            elif mk[0] == "letter":
                mk = ("point", mk[1], mk[2])
        if mk and not body_started and mk[0] in ("dash", "plus", "letter"):
            mk = None  # bullets in the preamble stay part of it
        if mk is None and body_started and not legal and _PART.match(fold(text).rstrip(":").strip()) and (_is_upper(text) or fold(text).startswith("phu luc")) and not text.endswith(":"):
            node = Node("part", title=text, lines=[line])
            stack[:] = [root, node]
            root.children.append(node)
            continue
        if mk is None:
            if body_started and (_CLOSING_START.match(text) or (not legal and _CLOSING_THIS.search(text))):
                while len(stack) > 1 and stack[-1].rank > TOP_RANK:
                    stack.pop()
                if len(stack) == 1 or stack[-1].kind == "preamble" or _CLOSING_START.match(text):
                    if stack[-1].kind != "closing":
                        closing = Node("closing")
                        root.children.append(closing)
                        stack[:] = [root, closing]
            add_para(line)
            continue
        kind, marker, title = mk
        body_started = True
        open_node(kind, marker, title, line)
    if not preamble.lines and not preamble.children:
        root.children.remove(preamble)
    root.legal = legal
    return root


def iter_lines(node: Node) -> list[Line]:
    """All lines of a node and its descendants, in order (tables excluded)."""
    out = list(node.lines)
    for ch in node.children:
        if isinstance(ch, Node):
            out.extend(iter_lines(ch))
    return out


def dump(node: Node, depth: int = 0) -> str:
    """Debug view of the tree."""
    rows = []
    for ch in node.children:
        if isinstance(ch, Table):
            rows.append("  " * depth + f"[table {len(ch.rows)} rows]")
        else:
            rows.append("  " * depth + f"{ch.kind}: {ch.label or ch.lines[0].text[:50] if ch.lines else ch.label} ({len(ch.lines)} lines)")
            rows.append(dump(ch, depth + 1))
    return "\n".join(r for r in rows if r)
