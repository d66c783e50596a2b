"""Compose an answer from the documents' own words.

Two ways of selecting what to quote:

- agency listing ("Sở Công Thương phải làm gì?"): every passage of every document in scope
  that gives the agency a duty, one block per province, provinces whose documents assign it
  nothing named. Roles, in order of priority: ``duty`` (its own numbered section, a table row
  it leads), ``mention`` (an item that names it as the actor: "Sở KH&ĐT là cơ quan đầu
  mối..."), ``about`` (a section whose heading is about it), ``issuer`` (the document is its
  own plan), ``partner`` (a table row where it coordinates). Over ~8 points a block keeps the
  ones closest to the question's words.
- topic: the sentences, list items and table rows of the retrieved chunks that best cover the
  question's words (weighted by rarity), with a bonus for a figure when a figure is asked, a
  date when a deadline is asked, a lead agency when "who" is asked, a decree number when
  "which decree" is asked. Questions spanning provinces get the best passages of each.

Points are merged when duplicated (the same text in two chunks, a body paragraph repeated
as an appendix row), ordered, grouped by province and document, and each ends with [n].
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from index.types import Hit
from ingest.types import Chunk

from assistant.answering.corpus import CorpusSnapshot
from assistant.answering.passages import (
    DOCNUM_RE,
    NO_DEADLINE,
    Unit,
    agencies_at_start,
    entity_offsets,
    fuzzy_known,
    score_tokens,
    split_units,
    strip_item_marker,
    syllables,
    table_row_quote,
    table_row_sentence,
)
from assistant.answering.question import QuestionInfo
from assistant.answering.types import Citation

MAX_POINTS_PER_BLOCK = 8  # a trainer reads answers on a projector
MAX_TOPIC_POINTS = 6
MAX_FOCUSED_POINTS = 3  # a figure, a deadline, a lead agency: the best few
MAX_POINT_WORDS = 110  # longer items are cut to their relevant sentences
WHOLE_ITEM_WORDS = 60  # a selected sentence brings its whole item when the item is this short
RELATIVE_CUTOFF = 0.6  # keep units scoring at least this fraction of the best one
ABSOLUTE_CUTOFF = 0.2
_TASK_HEADING = re.compile(r"nhiem vu|giai phap|to chuc thuc hien|phan cong|noi dung phoi hop")


@dataclass
class Point:
    text: str  # shown text, without the citation marker
    quote: str  # Citation.text: the exact sentence / item / row cited
    chunk: Chunk
    score: float
    order: tuple[int, int, int]
    role: str = "topic"  # duty | mention | about | issuer | partner | topic
    focus: float = 0.0  # share of the question's focus words it covers
    figure: bool = False  # holds the quantity a numeric question asks for
    subject: float = 0.0  # share of what a "how much" question asks about, found with the figure
    words: float = 0.0  # share of the question's focus words found as whole words
    actor: int = 0  # 1: a named agency acts here, -1: another specific agency does, 0: neither


@dataclass
class Block:
    province: str | None
    doc_id: str
    doc_title: str
    points: list[Point] = field(default_factory=list)
    omitted: int = 0  # points left out to keep the answer short
    agency: str | None = None  # the agency whose duties these are, when several were asked about


@dataclass
class Evidence:
    """How well one province's selected passages answer (a comparison is judged per province)."""

    points: int = 0
    focus: float = 0.0
    words: float = 0.0
    figure: float = 0.0  # subject coverage of the best passage holding a quantity (0: none)
    score: float = 0.0  # best passage score


@dataclass
class Composition:
    mode: str  # agency | topic
    blocks: list[Block]
    notes: list[str] = field(default_factory=list)
    best_score: float = 0.0
    focus_coverage: float = 0.0  # share of the question's focus words found in the best evidence
    figure_coverage: float = 0.0  # the same for the best passage holding a quantity (numeric questions)
    word_coverage: float = 0.0  # share of the question's focus words (whole words) in the best evidence
    has_figure: bool = False
    evidence: dict[str, Evidence] = field(default_factory=dict)  # per province, for comparisons

    @property
    def empty(self) -> bool:
        return not any(b.points for b in self.blocks)


# --- responsibilities ---------------------------------------------------------------------


def heading_agencies(chunk: Chunk) -> list[str]:
    """Agencies whose own section the chunk belongs to (deepest heading that names an actor)."""
    for heading in reversed(chunk.heading_path):
        found = agencies_at_start(heading)
        if found:
            return found
    return []


def _table_agencies(chunk: Chunk, column: str) -> list[str]:
    value = (chunk.table or {}).get(column, "") or ""
    return [name for _, name in entity_offsets(value, "agency")]


@dataclass
class _Item:
    units: list[Unit]
    actors: list[str]  # agencies whose section this item is in
    about: list[str]  # agencies the enclosing headings talk about
    task: bool  # inside a "tasks / organisation" section


def _items(chunk: Chunk) -> list[_Item]:
    """The chunk's list items, with the actor and topic of the headings above each one."""
    actors = heading_agencies(chunk)
    about = [n for h in chunk.heading_path for _, n in entity_offsets(h)]
    task = any(_TASK_HEADING.search(" ".join(syllables(h))) for h in chunk.heading_path)
    items: dict[int, _Item] = {}
    for u in split_units(chunk):
        if u.kind == "heading":
            named = agencies_at_start(u.text)
            actors = named
            about = [n for _, n in entity_offsets(u.text)]
            task = task or bool(_TASK_HEADING.search(" ".join(syllables(u.text))))
            continue
        if u.item not in items:
            items[u.item] = _Item([], list(actors), list(about), task)
        items[u.item].units.append(u)
    return list(items.values())


# --- scoring --------------------------------------------------------------------------------


_QUANTITY_RE = re.compile(
    r"(?:(?:trên|dưới|ít nhất|tối thiểu|tối đa|từ|khoảng|gấp|lên|đạt)\s+)?"
    r"\d+(?:[.,]\d+)*(?:\s*(?:[-–]|đến)\s*\d+(?:[.,]\d+)*)?\s*"
    r"(?:%(?:/\s*năm)?(?:\s+trở lên)?|tỷ đồng|triệu đồng|lần|LHHTX|HTX|THT|QTDND|xã|hộ|thành viên|mô hình|lớp|tổ hợp tác|"
    r"hợp tác xã|liên hiệp hợp tác xã|cán bộ|sản phẩm|đơn vị|thành viên quản lý|làng nghề)?",
    re.IGNORECASE,
)
_TIME_RE = re.compile(
    r"(?:(?:trước|sau|đến|từ|trong|vào)\s+)?ngày\s+\d{1,2}(?:\s+tháng\s+\d{1,2}|/\d{1,2})(?:(?:\s+năm\s+|/)\d{4})?(?:\s+(?:hàng|hằng)\s+năm)?"
    r"|(?:kể\s+)?từ ngày ký"
    r"|quý\s+[IVX]+(?:\s+(?:hàng|hằng)\s+năm)?"
    r"|(?:đến|trước|trong|từ|sau)\s+năm\s+\d{4}"
    r"|giai đoạn\s+\d{4}\s*[-–]\s*\d{4}"
    r"|định kỳ(?:\s+\d+\s+tháng)?(?:\s*\([^)]*\))?(?:\s+và\s+hằng năm|\s+và\s+hàng năm)?"
    r"|\d+\s+tháng(?:,\s*(?:1\s+)?năm)?"
    r"|(?:hàng|hằng|mỗi)\s+năm"
    r"|thường xuyên"
    r"|\b(?:19|20)\d{2}\s*[-–]\s*(?:19|20)\d{2}\b"
    r"|năm\s+(?:19|20)\d{2}",
    re.IGNORECASE,
)
_YEAR_ONLY_RE = re.compile(r"^(?:năm\s+)?(?:19|20)\d{2}$", re.IGNORECASE)


def _word_index(text: str, pos: int) -> int:
    return len(syllables(text[:pos]))


def _closest(text: str, matches: list[re.Match], terms: dict[str, float]) -> re.Match | None:
    """The match closest to the question's words in ``text`` (rarer words pull harder)."""
    if not matches:
        return None
    words = score_tokens(text)
    anchor = [(i, terms[w]) for i, w in enumerate(words) if w in terms]
    if not anchor:
        return matches[0]

    def pull(m: re.Match) -> float:
        pos = len(score_tokens(text[: m.start()]))
        return sum(w / (1.0 + abs(pos - i)) for i, w in anchor)

    return max(matches, key=pull)


_ANCHOR_WEIGHTS: dict[str, float] = {}


# Period words ("hằng năm", "quý") are generic for scoring but say which of several dates in a
# sentence a deadline question asks for ("6 tháng (trước ngày 25/6), hằng năm (trước ngày 20/12)").
_PERIOD_TOKENS = ("hangnam", "quy")


def _anchor_terms(info: QuestionInfo) -> dict[str, float]:
    terms = info.subject or info.focus or info.terms
    out = {t: _ANCHOR_WEIGHTS.get(t, 1.0) for t in terms}
    if info.deadline:
        for t in _PERIOD_TOKENS:
            if t in info.terms and t not in out:
                out[t] = max(out.values(), default=1.0)
    return out


def find_figure(text: str, info: QuestionInfo) -> str | None:
    """The quantity in ``text`` closest to the question's words (years, dates and document
    numbers excluded)."""
    cands: list[re.Match] = []
    for m in _QUANTITY_RE.finditer(text):
        s = m.group(0).strip()
        before = text[max(0, m.start() - 1):m.start()]
        after = text[m.end():m.end() + 1]
        if before in ("/", "-") or after == "/" or re.match(r"\d", after or " "):
            continue  # inside a date or a document number
        num = re.search(r"\d+(?:[.,]\d+)*", s).group(0)
        if _YEAR_ONLY_RE.match(s) or re.fullmatch(r"(?:19|20)\d{2}", num) and not re.search(r"%|tỷ|triệu|HTX|THT", s):
            continue
        if re.fullmatch(r"(?:[^\d]*\s)?\d+(?:[.,]\d+)*", s):
            continue  # a bare number: no unit, not a figure anyone asks for
        cands.append(m)
    best = _closest(text, cands, _anchor_terms(info))
    return best.group(0).strip().rstrip(" ,;.") if best else None


def find_time(text: str, info: QuestionInfo) -> str | None:
    anchors = _anchor_terms(info)
    found = list(_TIME_RE.finditer(text))
    # "hằng năm" when the question says "hằng năm": the user's own words, not the date asked for.
    news = [m for m in found if not set(score_tokens(m.group(0))) <= set(anchors)]
    best = _closest(text, news or found, anchors)
    return best.group(0).strip() if best else None


def find_docnum(text: str, info: QuestionInfo) -> str | None:
    best = _closest(text, list(DOCNUM_RE.finditer(text)), _anchor_terms(info))
    return best.group(0).strip() if best else None


class Scorer:
    """How well a unit covers the question's words, weighted by rarity in the corpus."""

    def __init__(self, info: QuestionInfo, snap: CorpusSnapshot):
        self.info = info
        self.snap = snap
        self.weights = self._weigh(info.terms)
        self.total = sum(self.weights.values())
        self.focus = self._weigh(info.focus)
        self.focus_total = sum(self.focus.values())
        seq = [self._fix(t) for t in info.terms]
        seq = [t for t in seq if t]
        self.bigrams = {f"{a} {b}" for a, b in zip(seq, seq[1:]) if a != b and snap.phrase_idf((a, b)) < math.log(1.0 + snap.n)}
        self.bigram_w = {bg: snap.phrase_idf(tuple(bg.split(" "))) for bg in self.bigrams}
        self.bigram_total = sum(self.bigram_w.values())
        self.words = self._words(info, snap)
        self.words_total = sum(w for _, w in self.words)

    def _words(self, info: QuestionInfo, snap: CorpusSnapshot) -> list[tuple[tuple[str, ...], float]]:
        """The question's focus words as whole words (pyvi segmentation): "kết hôn" is one word
        that no passage has, even if "liên kết" and "hơn" are there."""
        from assistant.answering.question import GENERIC, STOP
        from assistant.answering.refusal import segment_words

        out: list[tuple[tuple[str, ...], float]] = []
        unknown_w = math.log(1.0 + snap.n)
        for word in segment_words(info.focus_text or info.text):
            toks = score_tokens(word)
            if not toks or all(t in STOP or t in GENERIC or t.isdigit() for t in toks):
                continue
            fixed = [t if snap.has_token(t) or t.isdigit() else fuzzy_known(t, snap.has_token) for t in toks]
            if any(f is None for f in fixed):
                # A word no passage uses, not even one typing slip away ("kết hôn" is two known
                # syllables, "world" none): counted, and missing everywhere.
                out.append((tuple(toks), unknown_w))
            elif len(fixed) == 1:
                out.append(((fixed[0],), snap.idf(fixed[0])))
            else:
                out.append((tuple(fixed), snap.phrase_idf(tuple(fixed))))
        return out

    def word_coverage(self, text: str, context: str = "") -> float:
        """Share (by rarity) of the question's focus words found as whole words."""
        if self.words_total <= 0:
            return 1.0 if not self.info.focus else 0.0
        body = f" {' '.join(score_tokens(text))} "
        ctx = f" {' '.join(score_tokens(context))} "
        got = 0.0
        for toks, w in self.words:
            needle = f" {' '.join(toks)} "
            if needle in body:
                got += w
            elif needle in ctx:
                got += 0.5 * w
        return got / self.words_total

    def _fix(self, t: str) -> str | None:
        """A typed word as the corpus writes it (typos corrected, unknown words dropped)."""
        if self.snap.has_token(t) or t.isdigit():
            return t
        return fuzzy_known(t, self.snap.has_token)

    def _weigh(self, terms) -> dict[str, float]:
        out: dict[str, float] = {}
        for t in dict.fromkeys(terms):
            fixed = self._fix(t)
            if fixed and not fixed.isdigit():
                out[fixed] = max(out.get(fixed, 0.0), self.snap.idf(fixed))
                _ANCHOR_WEIGHTS[t] = out[fixed]
        return out

    @staticmethod
    def _cov(weights: dict[str, float], total: float, words: set[str], context: set[str],
             title: set[str] | None = None) -> float:
        if total <= 0:
            return 0.0
        got = 0.0
        for t, w in weights.items():
            if t in words or (title and t in title):
                got += w
            elif t in context:
                got += 0.5 * w
        return got / total

    def coverage(self, text: str, context: str = "", title: str = "") -> float:
        return self._cov(self.weights, self.total, set(score_tokens(text)), set(score_tokens(context)),
                         set(score_tokens(title)))

    def focus_coverage(self, text: str, context: str = "", title: str = "") -> float:
        if not self.focus:
            return 1.0 if self.info.focus == () else 0.0
        return self._cov(self.focus, self.focus_total, set(score_tokens(text)), set(score_tokens(context)),
                         set(score_tokens(title)))

    def bigram_share(self, text: str, title: str = "") -> float:
        """Share of the question's word pairs found in order, rare pairs ("hiệu lực") weighing more."""
        if not self.bigrams or self.bigram_total <= 0:
            return 0.0
        have = set()
        for t in (text, title):
            words = score_tokens(t)
            have |= {f"{a} {b}" for a, b in zip(words, words[1:])}
        return sum(w for bg, w in self.bigram_w.items() if bg in have) / self.bigram_total

    def score(self, text: str, context: str, is_row: bool, title: str = "") -> float:
        info = self.info
        s = 0.7 * self.coverage(text, context, title) + 0.3 * self.bigram_share(text, title)
        if is_row:
            # Of two similar rows, the one whose task says no more than was asked fits better.
            task = [t for t in score_tokens(text) if len(t) > 1]
            if task:
                s += 0.05 * sum(1 for t in task if t in self.weights) / len(task)
        if info.numeric and find_figure(text, info):
            s += 0.15
        if info.deadline and (is_row or _TIME_RE.search(text)):
            s += 0.15
        if info.lead and (is_row or re.search(r"chủ trì|đầu mối|giao|về\s+(?:Sở|Liên minh|Ủy ban|UBND)", text, re.IGNORECASE)):
            s += 0.1
        if info.docnum and DOCNUM_RE.search(text):
            s += 0.15
            if info.basis and re.match(r"\s*(?:Căn cứ|Thực hiện)\b", text):
                s += 0.2  # "căn cứ văn bản nào?": the legal basis opens the document
        return s


# --- points ---------------------------------------------------------------------------------


_TITLES: dict[str, str] = {}


def _context_of(chunk: Chunk) -> str:
    """What a passage is about besides its own words (half credit): its document's title and
    its heading path."""
    return " ".join((_TITLES.get(chunk.doc_id, ""), chunk.doc_title or "", chunk.section or "", " ".join(chunk.heading_path)))


def _title_of(chunk: Chunk) -> str:
    """Words credited in full to every passage of a document (none at present: the title is
    context, see ``_context_of``)."""
    return ""


def _remember_titles(snap: CorpusSnapshot) -> None:
    for d, m in snap.docs.items():
        _TITLES[d] = m.title or ""


def _lead_value(quote: str, info: QuestionInfo) -> str | None:
    if info.docnum:
        v = find_docnum(quote, info)
        if v:
            return v
    if info.numeric:
        v = find_figure(quote, info)
        if v:
            return v
    if info.deadline:
        return find_time(quote, info)
    return None


def _row_point(chunk: Chunk, score: float, role: str, info: QuestionInfo) -> Point:
    t = chunk.table or {}
    text = table_row_sentence(chunk)
    time = (t.get("time") or "").strip()
    lead = (t.get("lead") or "").strip()
    if info.deadline and not info.numeric:
        text = f"Thời gian: {time or NO_DEADLINE} — {text}"
    elif info.lead and lead:
        text = f"{lead} chủ trì — {text}"
    return Point(text, table_row_quote(chunk), chunk, score, (chunk.order, 0, 0), role)


def _cut(units: list[Unit], scorer: Scorer | None) -> list[Unit]:
    """Keep a long item short: its first sentence plus the sentences that match the question."""
    words = sum(len(syllables(u.text)) for u in units)
    if words <= MAX_POINT_WORDS or len(units) == 1:
        return units
    keep = [units[0]]
    for u in units[1:]:
        if scorer is not None and scorer.coverage(u.text) > 0.3:
            keep.append(u)
        elif re.search(r"\d", u.text) and len(keep) < 3:
            keep.append(u)  # figures are what trainers look for
    return keep


def _item_point(units: list[Unit], score: float, role: str, info: QuestionInfo, scorer: Scorer | None,
                actors: list[str] | None = None) -> Point:
    units = _cut(units, scorer)
    quote = " ".join(u.text for u in units)
    text = strip_item_marker(quote)
    lead = _lead_value(quote, info) if (info.numeric or info.deadline or info.docnum) else None
    if lead is None and info.lead and actors and not agencies_at_start(quote):
        # "Cơ quan nào ...?": the answer is the agency whose section the sentence is in.
        lead = ", ".join(actors)
    if lead:
        text = f"{lead}: «{text}»"
    u0 = units[0]
    return Point(text, quote, u0.chunk, score, (u0.chunk.order, u0.item, u0.sent), role)


def _dedupe_text(p: Point) -> str:
    if p.chunk.kind == "table_row" and p.chunk.table:
        return p.chunk.table.get("task") or p.quote
    return p.quote


def _same_actor(p: Point, q: Point) -> bool:
    """Two table rows led by different agencies are different tasks, however alike."""
    if p.chunk.kind == "table_row" and q.chunk.kind == "table_row":
        return (p.chunk.table or {}).get("lead", "") == (q.chunk.table or {}).get("lead", "")
    return True


def _dedupe(points: list[Point]) -> list[Point]:
    """Merge points that say the same thing (the same text in two chunks, a body paragraph
    repeated as an appendix row). The better-scoring one stays; on a tie the table row (it
    adds who leads and when) unless the paragraph has figures the row lost."""
    out: list[Point] = []
    for p in sorted(points, key=lambda p: (-p.score, p.order)):
        words = set(syllables(_dedupe_text(p)))
        dup = None
        for q in out:
            if q.chunk.doc_id != p.chunk.doc_id or not _same_actor(p, q):
                continue
            other = set(syllables(_dedupe_text(q)))
            inter = len(words & other)
            small, large = sorted((len(words), len(other)))
            if inter and inter / max(1, small) >= 0.85 and small >= 0.8 * large:
                dup = q
                break
        if dup is None:
            out.append(p)
            continue
        if p.chunk.kind == "table_row" and dup.chunk.kind != "table_row" and abs(p.score - dup.score) < 1e-9:
            if set(re.findall(r"\d+", dup.quote)) <= set(re.findall(r"\d+", p.quote)):
                out[out.index(dup)] = Point(p.text, p.quote, p.chunk, p.score, p.order, dup.role, max(p.focus, dup.focus),
                                            p.figure or dup.figure, max(p.subject, dup.subject))
    return out


# --- selection ------------------------------------------------------------------------------


def _in_scope(chunk: Chunk, provinces: tuple[str, ...], doc_ids: tuple[str, ...]) -> bool:
    if provinces and chunk.province not in provinces:
        return False
    if doc_ids and chunk.doc_id not in doc_ids:
        return False
    return True


_ROLE_RANK = {"duty": 0, "mention": 1, "about": 2, "issuer": 3, "partner": 4, "topic": 5}


def agency_points(agency: str, chunks: list[Chunk], info: QuestionInfo, snap: CorpusSnapshot, scorer: Scorer | None) -> list[Point]:
    """Every passage that gives ``agency`` a duty."""
    from ingest.vocab import find_agencies

    issued_by = {d: find_agencies(m.issuer or "") for d, m in snap.docs.items()}
    points: list[Point] = []

    def rank(text: str, context: str) -> float:
        return scorer.focus_coverage(text, context) if scorer is not None and scorer.focus else 0.0

    for chunk in chunks:
        issuer = agency in issued_by.get(chunk.doc_id, [])
        context = _context_of(chunk)
        if chunk.kind == "table_row" and chunk.table:
            lead, partners = _table_agencies(chunk, "lead"), _table_agencies(chunk, "partners")
            role = ("duty" if agency in lead else "partner" if agency in partners
                    else "issuer" if issuer and not lead else None)
            if role:
                p = _row_point(chunk, 1.0, role, info)
                p.focus = rank(" ".join(v for v in chunk.table.values() if v), context)
                points.append(p)
            continue
        for item in _items(chunk):
            first = item.units[0].text
            starts = agencies_at_start(first)
            if agency in item.actors and not (starts and agency not in starts and len(item.actors) > 1):
                role = "duty"
            elif agency in starts:
                role = "mention"
            elif agency in item.about and not starts and not item.actors:
                role = "about"
            elif issuer and item.task and not starts and not item.actors:
                role = "issuer"
            else:
                continue
            p = _item_point(item.units, 1.0, role, info, scorer)
            p.focus = rank(p.quote, context)
            points.append(p)
    return _dedupe(points)


def _group(points: list[Point], snap: CorpusSnapshot, cap: int, display: str) -> list[Block]:
    blocks: dict[tuple[str | None, str], Block] = {}
    for p in points:
        key = (p.chunk.province, p.chunk.doc_id)
        if key not in blocks:
            blocks[key] = Block(p.chunk.province, p.chunk.doc_id, snap.doc_title(p.chunk.doc_id, p.chunk.doc_title))
        blocks[key].points.append(p)
    out = []
    for b in blocks.values():
        if display.startswith("listing"):
            ranked = sorted(b.points, key=lambda p: (_ROLE_RANK.get(p.role, 9), -round(p.focus, 2), p.order))
        else:
            ranked = sorted(b.points, key=lambda p: (-p.score, p.order))
        kept = ranked[:cap]
        b.omitted = len(ranked) - len(kept)
        if display == "score":
            b.points = kept
        elif display == "listing-focus":
            b.points = sorted(kept, key=lambda p: (-round(p.focus, 2), p.order))
        elif display == "listing":
            b.points = sorted(kept, key=lambda p: (_ROLE_RANK.get(p.role, 9) > 2, p.order))
        else:
            b.points = sorted(kept, key=lambda p: p.order)
        out.append(b)
    return out


def _chunks_naming(agency: str, snap: CorpusSnapshot, provinces: tuple[str, ...], doc_ids: tuple[str, ...]) -> list[Chunk]:
    """Chunks in scope that name the agency (text or headings), plus those of the documents it
    issued: the only ones that can hold its duties. A cheap pre-filter before the item walk."""
    from ingest.vocab import find_agencies

    from assistant.answering.passages import _alias_patterns

    pattern = dict(_alias_patterns("agency")).get(agency)
    issued = {d for d, m in snap.docs.items() if agency in find_agencies(m.issuer or "")}
    out = []
    for i, c in enumerate(snap.chunks):
        if not _in_scope(c, provinces, doc_ids):
            continue
        if c.doc_id in issued or agency in c.agencies or pattern is None or pattern.search(snap.folded_texts[i]):
            out.append(c)
    return out


MAX_POINTS_PER_AGENCY = 4  # per province and agency when several agencies are asked about


def _join_names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} và {names[-1]}"


def _point_key(p: Point) -> tuple[str, str]:
    return (p.chunk.chunk_id, p.quote)


def _shared_points(agencies: list[str], info: QuestionInfo, snap: CorpusSnapshot, provinces: tuple[str, ...],
                   doc_ids: tuple[str, ...]) -> dict[tuple[str, str], tuple[Point, tuple[str, ...]]]:
    """Passages that give a duty to two or more of ``agencies``: key -> (point, their names)."""
    scorer = Scorer(info, snap)
    owners: dict[tuple[str, str], list[str]] = {}
    first: dict[tuple[str, str], Point] = {}
    for agency in agencies:
        for p in agency_points(agency, _chunks_naming(agency, snap, provinces, doc_ids), info, snap, scorer):
            if p.role == "partner":
                continue  # coordinating on another agency's row is not a shared duty
            key = _point_key(p)
            owners.setdefault(key, []).append(agency)
            first.setdefault(key, p)
    return {k: (first[k], tuple(v)) for k, v in owners.items() if len(v) > 1}


def _agency_blocks(agency: str, info: QuestionInfo, snap: CorpusSnapshot, provinces: tuple[str, ...],
                   doc_ids: tuple[str, ...], cap: int, skip: set[tuple[str, str]] | None = None) -> tuple[list[Block], int]:
    chunks = _chunks_naming(agency, snap, provinces, doc_ids)
    scorer = Scorer(info, snap)
    points = agency_points(agency, chunks, info, snap, scorer)
    if skip:
        points = [p for p in points if _point_key(p) not in skip]
    # Provinces where the agency only coordinates (partner rows) or only appears as the issuer
    # keep those; where it has real duties, partner rows make way for them.
    # With words beyond the agency ("... hỗ trợ HTX vay vốn qua những kênh nào?"), the closest
    # duties come first; otherwise the document's order.
    blocks = _group(points, snap, cap, "listing-focus" if scorer.focus else "listing")
    for b in blocks:
        b.agency = agency
    return blocks, len(points)


def _silent_note(silent: list[str], agency: str) -> str:
    if len(silent) == 1:
        return f"Văn bản của tỉnh {silent[0]} không giao nhiệm vụ riêng cho {agency}."
    return f"Văn bản của các tỉnh {', '.join(silent)} không giao nhiệm vụ riêng cho {agency}."


def compose_agency(info: QuestionInfo, snap: CorpusSnapshot, provinces: tuple[str, ...], doc_ids: tuple[str, ...]) -> Composition:
    """Every duty of the agency asked about, one block per province (per province and agency
    when the question lists several agencies: "MTTQ, LĐLĐ và Hội Nông dân mỗi bên làm gì?")."""
    _remember_titles(snap)
    listed = [a for a in info.listed_agencies if a in info.agencies]
    agencies = listed if len(listed) >= 2 else [info.agencies[0]]
    multi = len(agencies) > 1
    if provinces:
        in_scope = list(provinces)
    elif doc_ids:
        in_scope = [p for p in snap.provinces if any(m.province == p for d, m in snap.docs.items() if d in doc_ids)]
    else:
        in_scope = list(snap.provinces)
    order = {p: i for i, p in enumerate(snap.provinces)}
    blocks: list[Block] = []
    notes: list[str] = []
    none_at_all: list[str] = []
    shared = _shared_points(agencies, info, snap, provinces, doc_ids) if multi else {}
    total = len(shared)
    for agency in agencies:
        ablocks, n = _agency_blocks(agency, info, snap, provinces, doc_ids,
                                    MAX_POINTS_PER_AGENCY if multi else MAX_POINTS_PER_BLOCK, set(shared))
        total += n
        for b in ablocks:
            if b.points:
                blocks.append(b)
        with_points = {b.province for b in ablocks if b.points}
        with_points |= {p.chunk.province for key, (p, names) in shared.items() if agency in names}
        silent = [p for p in in_scope if p not in with_points]
        if not with_points:
            none_at_all.append(agency)
        elif silent:
            notes.append(_silent_note(silent, agency))
    # A passage giving the same duty to several of them ("Đoàn Thanh niên, Hội Nông dân, Hội
    # LHPN tỉnh phối hợp ...") is shown once, under all their names.
    groups: dict[tuple[str | None, str, tuple[str, ...]], Block] = {}
    for p, names in shared.values():
        key = (p.chunk.province, p.chunk.doc_id, names)
        if key not in groups:
            groups[key] = Block(p.chunk.province, p.chunk.doc_id, snap.doc_title(p.chunk.doc_id, p.chunk.doc_title),
                                agency=_join_names(list(names)))
        groups[key].points.append(p)
    for b in groups.values():
        b.points.sort(key=lambda p: p.order)
        b.omitted = max(0, len(b.points) - MAX_POINTS_PER_AGENCY)
        b.points = b.points[:MAX_POINTS_PER_AGENCY]
        blocks.append(b)
    rank_of = {a: i for i, a in enumerate(agencies)}
    blocks.sort(key=lambda b: (order.get(b.province, 99), b.doc_id, rank_of.get(b.agency, len(agencies))))
    if none_at_all and total:
        notes.append(f"Không văn bản nào trong phạm vi câu hỏi giao nhiệm vụ riêng cho {', '.join(none_at_all)}.")
    comp = Composition("agency", blocks, notes, best_score=1.0 if total else 0.0, focus_coverage=1.0 if total else 0.0)
    return comp


_BACKGROUND = {"Các sở, ban, ngành", "Ủy ban nhân dân tỉnh", "Ủy ban nhân dân cấp huyện"}


def _actor_match(info: QuestionInfo, actors: list[str]) -> int:
    if not info.agencies or not actors:
        return 0
    if any(a in actors for a in info.agencies):
        return 1
    return -1 if any(a not in _BACKGROUND for a in actors) else 0


def _agency_factor(info: QuestionInfo, actors: list[str], text: str) -> float:
    """Topic answers about a named agency prefer passages where it acts; questions naming no
    agency prefer province-wide passages to one agency's own section."""
    if not info.agencies:
        return 0.75 if any(a not in _BACKGROUND for a in actors) else 1.0
    if info.lead:
        return 1.0
    if any(a in actors for a in info.agencies):
        return 1.0
    if any(a in [n for _, n in entity_offsets(text)] for a in info.agencies):
        return 0.9
    return 0.6 if actors else 0.8


def _agency_chunks(info: QuestionInfo, snap: CorpusSnapshot, scope: tuple[str, ...], doc_ids: tuple[str, ...]) -> list[Chunk]:
    """Chunks where a named agency acts (its section, a row it leads): candidates even when
    retrieval ranked them low."""
    out = []
    for c in snap.chunks:
        if not _in_scope(c, scope, doc_ids) or not any(a in c.agencies for a in info.agencies):
            continue
        if c.kind == "table_row" and c.table:
            if any(a in _table_agencies(c, "lead") for a in info.agencies):
                out.append(c)
        elif any(a in heading_agencies(c) for a in info.agencies):
            out.append(c)
    return out


def owner_mismatch(info: QuestionInfo, text: str) -> bool:
    """The passage's figure belongs to something the question does not name: asked "vốn điều
    lệ ... một HTX", the passage says "vốn điều lệ của quỹ" -> a different thing's figure."""
    head = [t for t in info.subject_seq if t not in ("tyle", "muctieu")][:2]
    if len(head) < 2:
        return False
    words = score_tokens(text)
    asked = set(info.terms)
    for i in range(len(words) - 1):
        if words[i] == head[0] and words[i + 1] == head[1]:
            rest = words[i + 2:i + 5]
            if "cua" in rest:
                j = rest.index("cua")
                owner = [w for w in rest[j + 1:j + 2] if w not in ("cac", "nhung")] or words[i + 3 + j:i + 4 + j]
                if owner and not any(o in asked for o in owner):
                    return True
    return False


RARE_PHRASE_CHUNKS = 4  # a question phrase found in at most this many chunks is "rare"


def _rare_phrase_chunks(scorer: "Scorer", snap: CorpusSnapshot, have: list[Chunk], scope: tuple[str, ...],
                        doc_ids: tuple[str, ...]) -> list[Chunk]:
    """Chunks holding a rare two-word phrase of the question ("hiệu lực") that retrieval did
    not return: a long question full of common words can bury the one passage that answers."""
    have_ids = {c.chunk_id for c in have}
    out: list[Chunk] = []
    for bg in scorer.bigrams:
        a, b = bg.split(" ")
        if a not in scorer.focus or b not in scorer.focus:
            continue
        found = snap.chunks_with([a, b], max(2 * RARE_PHRASE_CHUNKS, snap.n // 100))
        found = [c for c in found or [] if _in_scope(c, scope, doc_ids)]
        if len(found) > RARE_PHRASE_CHUNKS:
            continue
        for c in found:
            if c.chunk_id not in have_ids and c not in out:
                out.append(c)
    return out


def subject_coverage(info: QuestionInfo, scorer: "Scorer", text: str, context: str, title: str = "") -> float:
    """Share of what a "how much" question asks about found with the figure."""
    if owner_mismatch(info, text):
        return 0.0
    if not info.subject:
        return scorer.focus_coverage(text, context, title)
    weights = scorer._weigh(info.subject)
    return scorer._cov(weights, sum(weights.values()), set(score_tokens(text)), set(score_tokens(context)),
                       set(score_tokens(title)))


def compose_topic(info: QuestionInfo, hits: list[Hit], snap: CorpusSnapshot, per_province: bool = False,
                  scope: tuple[str, ...] = (), doc_ids: tuple[str, ...] = ()) -> Composition:
    _remember_titles(snap)
    scorer = Scorer(info, snap)
    if not hits:
        return Composition("topic", [])
    top = max(h.score for h in hits) or 1.0
    pool: list[tuple[Chunk, float]] = [(h.chunk, h.score) for h in hits]
    if info.agencies:
        pool += [(c, 0.5 * top) for c in _agency_chunks(info, snap, scope, doc_ids)]
    pool += [(c, top) for c in _rare_phrase_chunks(scorer, snap, [c for c, _ in pool], scope, doc_ids)]
    cands: list[Point] = []
    seen_chunks: set[str] = set()
    for chunk, hscore in pool:
        if chunk.chunk_id in seen_chunks:
            continue
        seen_chunks.add(chunk.chunk_id)
        prior = 0.6 + 0.4 * (hscore / top)
        context = _context_of(chunk)
        title = _title_of(chunk)
        if chunk.kind == "table_row" and chunk.table:
            text = chunk.text  # the labelled fields: "Cơ quan chủ trì: ...", "Thời gian: ..."
            s = scorer.score(text, context, True, title) * prior
            s *= _agency_factor(info, _table_agencies(chunk, "lead"), text)
            p = _row_point(chunk, s, "topic", info)
            p.focus = scorer.focus_coverage(text, context, title)
            p.words = scorer.word_coverage(text, context)
            p.actor = _actor_match(info, _table_agencies(chunk, "lead"))
            p.figure = bool(info.numeric and find_figure(text, info))
            if p.figure:
                p.subject = subject_coverage(info, scorer, text, context, title)
            cands.append(p)
            continue
        for item in _items(chunk):
            actors = item.actors or agencies_at_start(item.units[0].text)
            scored = []
            for u in item.units:
                s = scorer.score(u.text, context, False, title) * prior * _agency_factor(info, actors, u.text)
                scored.append((s, u))
            best_s = max(s for s, _ in scored)
            n_words = sum(len(syllables(u.text)) for u in item.units)
            if n_words <= WHOLE_ITEM_WORDS:
                chosen = item.units
            else:
                chosen = [u for s, u in scored if s >= max(RELATIVE_CUTOFF * best_s, ABSOLUTE_CUTOFF)] or [scored[0][1]]
            p = _item_point(chosen, best_s, "topic", info, scorer, actors)
            best_unit = max(scored, key=lambda x: x[0])[1]
            p.focus = max(scorer.focus_coverage(u.text, context, title) for u in chosen)
            p.words = max(scorer.word_coverage(u.text, context) for u in chosen)
            p.actor = _actor_match(info, actors)
            fig_units = [u for u in chosen if find_figure(u.text, info)] if info.numeric else []
            p.figure = bool(fig_units)
            if fig_units:
                p.subject = max(subject_coverage(info, scorer, u.text, context, title) for u in fig_units)
            del best_unit
            cands.append(p)
    if not cands:
        return Composition("topic", [])
    cands = _dedupe(cands)
    if per_province:
        groups: dict[str | None, list[Point]] = {}
        for p in cands:
            groups.setdefault(p.chunk.province, []).append(p)
    else:
        groups = {None: cands}
    limit = MAX_FOCUSED_POINTS if info.focused else MAX_TOPIC_POINTS
    if per_province:
        limit = min(limit, 3)
    points: list[Point] = []
    best_all = max(p.score for p in cands)
    for _, group in groups.items():
        best = max(p.score for p in group)
        if per_province and not info.provinces and best < 0.5 * best_all:
            continue  # "các tỉnh": this province has nothing close to the question
        cutoff = max(RELATIVE_CUTOFF * best, ABSOLUTE_CUTOFF)
        chosen = sorted((p for p in group if p.score >= cutoff), key=lambda p: -p.score)[:limit]
        points.extend(chosen)
    if info.agencies and not info.lead and any(p.actor == 1 for p in points):
        # Asked about one agency: passages where another agency acts are not its answer.
        points = [p for p in points if p.actor != -1]
    evidence: dict[str, Evidence] = {}
    if per_province:
        for p in points:
            if p.chunk.province:
                ev = evidence.setdefault(p.chunk.province, Evidence())
                ev.points += 1
                ev.focus = max(ev.focus, p.focus)
                ev.words = max(ev.words, p.words)
                ev.score = max(ev.score, p.score)
                if p.figure:
                    ev.figure = max(ev.figure, p.subject)
    display = "score" if info.focused else "order"
    blocks = _group(points, snap, MAX_POINTS_PER_BLOCK, display)
    blocks.sort(key=lambda b: -max((p.score for p in b.points), default=0))
    comp = Composition("topic", blocks, best_score=best_all, evidence=evidence)
    comp.focus_coverage = max((p.focus for p in points), default=0.0)
    comp.word_coverage = max((p.words for p in points), default=0.0)
    figs = [p for p in points if p.figure]
    comp.has_figure = bool(figs)
    comp.figure_coverage = max((p.subject for p in figs), default=0.0)
    return comp


# --- "who handles this?" --------------------------------------------------------------------

MAX_WHO_POINTS = 3  # agencies per province
# Agencies too general to be the one a founder turns to ("các sở, ban, ngành", the province).
_NOT_A_CONTACT = {"Các sở, ban, ngành", "Ủy ban nhân dân tỉnh", "Hội đồng nhân dân các cấp"}


def _contacts(names: list[str]) -> list[str]:
    return [n for n in names if n not in _NOT_A_CONTACT]


def _topic_words(scorer: Scorer, info: QuestionInfo, snap: CorpusSnapshot) -> list[tuple[tuple[str, ...], float]]:
    """The question's whole words, plus the corpus phrases a function-word look-alike forms
    with a focus word next to it ("vay" folds like "vậy", but "vay vốn" is a phrase the
    documents use; "muốn vay" is not)."""
    from assistant.answering.question import STOP

    words = list(scorer.words)
    toks = score_tokens(info.focus_text or info.text)
    have = {w for w, _ in words}
    for a, b in zip(toks, toks[1:]):
        if (a in STOP) == (b in STOP) or not ({a, b} & set(scorer.focus)):
            continue
        pair = (a, b)
        if pair in have or not snap.has_token(a) or not snap.has_token(b):
            continue
        w = snap.phrase_idf(pair)
        if w < math.log(1.0 + snap.n) * 0.9:  # used by the documents more than once or twice
            words.append((pair, w))
            have.add(pair)
    return words


def _word_share(words: list[tuple[tuple[str, ...], float]], text: str) -> float:
    """Share (by rarity) of ``words`` found in ``text``, a two-word phrase in either order
    ("vay vốn" / "vốn vay")."""
    total = sum(w for _, w in words)
    if total <= 0:
        return 0.0
    body = f" {' '.join(score_tokens(text))} "
    got = 0.0
    for toks, w in words:
        if f" {' '.join(toks)} " in body or (len(toks) == 2 and f" {toks[1]} {toks[0]} " in body):
            got += w
    return got / total


def compose_who(info: QuestionInfo, snap: CorpusSnapshot, scope: tuple[str, ...] = (),
                doc_ids: tuple[str, ...] = ()) -> Composition:
    """'HTX muốn vay vốn thì hỏi ai?': per province, the agencies whose own passages (their
    section, an item naming them as the actor, a table row they lead) are about the question's
    topic words, best first, each point naming the agency. Passages naming no responsible
    agency (targets, context) are never candidates."""
    from assistant.answering.question import topic_info

    _remember_titles(snap)
    tinfo = topic_info(info)
    scorer = Scorer(tinfo, snap)
    scorer.words = _topic_words(scorer, tinfo, snap)
    scorer.words_total = sum(w for _, w in scorer.words)
    if not scorer.focus and not scorer.words:
        return Composition("who", [])
    cands: list[tuple[Point, str]] = []
    for chunk in snap.chunks:
        if not _in_scope(chunk, scope, doc_ids):
            continue
        context = _context_of(chunk)
        if chunk.kind == "table_row" and chunk.table:
            lead = _contacts(_table_agencies(chunk, "lead"))
            if not lead:
                continue
            text = " ".join(v for k, v in chunk.table.items() if k in ("task", "product", "notes") and v)
            words = _word_share(scorer.words, text)
            focus = scorer.focus_coverage(text)
            if words <= 0 and focus <= 0:
                continue
            p = Point(f"{_join_names(lead)}: «{table_row_sentence(chunk)}»", table_row_quote(chunk), chunk,
                      0.5 * words + 0.5 * focus, (chunk.order, 0, 0), "duty")
            p.focus = scorer.focus_coverage(text, context)
            p.words = scorer.word_coverage(text, context)
            cands.append((p, lead[0]))
            continue
        for item in _items(chunk):
            actors = _contacts(item.actors or agencies_at_start(item.units[0].text))
            if not actors:
                continue
            scored = [(0.5 * _word_share(scorer.words, u.text) + 0.5 * scorer.focus_coverage(u.text), u) for u in item.units]
            best_s = max(s for s, _ in scored)
            if best_s <= 0:
                continue
            n_words = sum(len(syllables(u.text)) for u in item.units)
            chosen = item.units if n_words <= WHOLE_ITEM_WORDS else [u for s, u in scored if s >= RELATIVE_CUTOFF * best_s]
            quote = " ".join(u.text for u in chosen)
            u0 = chosen[0]
            p = Point(f"{_join_names(actors)}: «{strip_item_marker(quote)}»", quote, u0.chunk, best_s,
                      (u0.chunk.order, u0.item, u0.sent), "duty")
            p.focus = max(scorer.focus_coverage(u.text, context) for u in chosen)
            p.words = max(scorer.word_coverage(u.text, context) for u in chosen)
            cands.append((p, actors[0]))
    if not cands:
        return Composition("who", [])
    best_all = max(p.score for p, _ in cands)
    by_province: dict[str | None, list[tuple[Point, str]]] = {}
    for p, agency in cands:
        by_province.setdefault(p.chunk.province, []).append((p, agency))
    points: list[Point] = []
    for group in by_province.values():
        best = max(p.score for p, _ in group)
        if best < 0.5 * best_all:
            continue  # nothing in this province's documents is close to the topic
        seen: set[str] = set()
        kept = 0
        for p, agency in sorted(group, key=lambda x: (-x[0].score, x[0].order)):
            if p.score < RELATIVE_CUTOFF * best or kept >= MAX_WHO_POINTS:
                break
            if agency in seen:
                continue  # one passage per agency: the one closest to the topic
            seen.add(agency)
            points.append(p)
            kept += 1
    blocks = _group(points, snap, MAX_WHO_POINTS, "score")
    blocks.sort(key=lambda b: -max((p.score for p in b.points), default=0))
    comp = Composition("who", blocks, best_score=best_all)
    comp.focus_coverage = max((p.focus for p in points), default=0.0)
    comp.word_coverage = max((p.words for p in points), default=0.0)
    return comp


# --- rendering ------------------------------------------------------------------------------


def _citation(n: int, p: Point) -> Citation:
    c = p.chunk
    return Citation(n=n, doc_id=c.doc_id, doc_title=c.doc_title, province=c.province, section=c.section,
                    text=p.quote, chunk_id=c.chunk_id, chunk_text=c.text)


def render(comp: Composition, info: QuestionInfo, snap: CorpusSnapshot | None = None) -> tuple[str, list[Citation]]:
    """The answer text (points ending with [n]) and its numbered citations."""
    blocks = [b for b in comp.blocks if b.points]
    lines: list[str] = []
    citations: list[Citation] = []
    seen: dict[tuple[str, str], int] = {}
    multi = len(blocks) > 1 or comp.mode == "agency"
    agency = info.agencies[0] if info.agencies else None
    agencies_shown = {b.agency for b in blocks if b.agency}
    for b in blocks:
        title = b.doc_title or b.doc_id
        has_prov = bool(b.province) and b.province in title
        if multi:
            head = title if has_prov else f"{b.province or 'Không rõ tỉnh'} — {title}"
            lines.append(f"{head} — {b.agency}:" if b.agency and len(agencies_shown) > 1 else f"{head}:")
        else:
            lines.append(f"Theo {title}{'' if has_prov or not b.province else f' (tỉnh {b.province})'}:")
        for p in b.points:
            key = (p.chunk.chunk_id, p.quote)
            if key not in seen:
                seen[key] = len(citations) + 1
                citations.append(_citation(seen[key], p))
            lines.append(f"- {p.text} [{seen[key]}]")
        if b.omitted:
            who = b.agency or agency
            what = f" liên quan đến {who}" if who and comp.mode == "agency" else ""
            lines.append(f"- (còn {b.omitted} nội dung khác{what} trong văn bản này)")
        if multi:
            lines.append("")
    while lines and not lines[-1]:
        lines.pop()
    for note in comp.notes:
        lines.append("")
        lines.append(note)
    return "\n".join(lines).strip(), citations


def related_citations(hits: list[Hit], limit: int = 3) -> list[Citation]:
    """Nearest passages offered as 'có thể liên quan' with a refusal: first sentence of each chunk."""
    out: list[Citation] = []
    seen: set[str] = set()
    for h in hits:
        c = h.chunk
        if c.chunk_id in seen:
            continue
        seen.add(c.chunk_id)
        if c.kind == "table_row" and c.table:
            text = table_row_quote(c)
        else:
            units = [u for u in split_units(c) if u.kind != "heading"]
            text = units[0].text if units else c.text[:300]
        out.append(Citation(len(out) + 1, c.doc_id, c.doc_title, c.province, c.section, text, c.chunk_id, c.text))
        if len(out) >= limit:
            break
    return out


def keep_provinces(comp: Composition, provinces: list[str]) -> Composition:
    """The composition restricted to the blocks of ``provinces`` (coverage recomputed)."""
    blocks = [b for b in comp.blocks if b.province in provinces]
    points = [p for b in blocks for p in b.points]
    out = Composition(comp.mode, blocks, list(comp.notes), comp.best_score, evidence=comp.evidence)
    out.focus_coverage = max((p.focus for p in points), default=0.0)
    out.word_coverage = max((p.words for p in points), default=0.0)
    figs = [p for p in points if p.figure]
    out.has_figure = bool(figs)
    out.figure_coverage = max((p.subject for p in figs), default=0.0)
    return out
