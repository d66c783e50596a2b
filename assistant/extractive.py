"""Compose an answer from the documents' own words.

Two ways of selecting what to quote:

- agency listing ("Sở Công Thương phải làm gì?"): every passage of every document in scope
  that assigns the agency a duty (its own numbered section, a table row it leads, an item
  that names it as the actor, a row where it coordinates), one block per province;
  provinces whose documents assign it nothing are named.
- topic: the sentences, list items and table rows of the retrieved chunks that best cover
  the question's words (weighted by rarity), with a bonus for a figure when a figure is
  asked, a date when a deadline is asked, a lead agency when "who" is asked.

Points are merged when duplicated (the same text in two chunks, a body paragraph repeated
as an appendix row), ordered as in the document, grouped by province and document, and
each ends with its citation [n].
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from index.types import Hit
from ingest.normalize import fold
from ingest.types import Chunk

from assistant.corpus import CorpusSnapshot
from assistant.passages import (
    NO_DEADLINE,
    Unit,
    agencies_at_start,
    entity_offsets,
    split_units,
    strip_item_marker,
    syllables,
    table_row_sentence,
)
from assistant.question import QuestionInfo
from assistant.types import Citation

MAX_POINTS_PER_BLOCK = 8  # a trainer reads answers on a projector
MAX_TOPIC_POINTS = 6
MAX_FOCUSED_POINTS = 3  # a figure, a deadline, a lead agency: the best few
MAX_POINT_WORDS = 90  # longer items are cut to their relevant sentences
RELATIVE_CUTOFF = 0.6  # keep units scoring at least this fraction of the best one
ABSOLUTE_CUTOFF = 0.2


@dataclass
class Point:
    text: str  # shown text, without the citation marker
    quote: str  # Citation.text: the exact sentence / item / row cited
    chunk: Chunk
    score: float
    order: tuple[int, int, int]
    role: str = "topic"  # duty | mention | partner | topic


@dataclass
class Block:
    province: str | None
    doc_id: str
    doc_title: str
    points: list[Point] = field(default_factory=list)
    omitted: int = 0  # points left out to keep the answer short


@dataclass
class Composition:
    mode: str  # agency | topic
    blocks: list[Block]
    notes: list[str] = field(default_factory=list)
    best_score: float = 0.0
    focus_coverage: float = 0.0  # share of the question's focus words found in the best evidence
    has_figure: bool = False  # a quantity near the question's words was found (numeric questions)

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


def _items(units: list[Unit], start_resp: list[str]) -> list[tuple[list[str], list[Unit]]]:
    """Group sentence units by list item, tracking inline headings that change the actor."""
    groups: list[tuple[list[str], list[Unit]]] = []
    resp = list(start_resp)
    current: dict[int, list[Unit]] = {}
    order: list[int] = []
    resp_of: dict[int, list[str]] = {}
    for u in units:
        if u.kind == "heading":
            named = agencies_at_start(u.text)
            resp = named if named else []
            continue
        if u.item not in current:
            current[u.item] = []
            order.append(u.item)
            resp_of[u.item] = list(resp)
        current[u.item].append(u)
    for i in order:
        groups.append((resp_of[i], current[i]))
    return groups


# --- scoring --------------------------------------------------------------------------------


_QUANTITY_RE = re.compile(
    r"(?:(?:trên|dưới|ít nhất|tối thiểu|tối đa|từ|khoảng|gấp|lên|đạt)\s+)?"
    r"\d+(?:[.,]\d+)*(?:\s*[-–]\s*\d+(?:[.,]\d+)*)?\s*"
    r"(?:%|tỷ đồng|triệu đồng|lần|HTX|THT|LHHTX|QTDND|xã|hộ|thành viên|mô hình|lớp|tổ hợp tác|hợp tác xã|"
    r"liên hiệp hợp tác xã|cán bộ|năm|tháng|sản phẩm|đơn vị|thành viên quản lý)?",
    re.IGNORECASE,
)
_TIME_RE = re.compile(
    r"(?:(?:trước|sau|đến|từ|trong|vào)\s+)?ngày\s+\d{1,2}(?:\s+tháng\s+\d{1,2}|/\d{1,2})(?:(?:\s+năm\s+|/)\d{4})?(?:\s+(?:hàng|hằng)\s+năm)?"
    r"|quý\s+[IVX]+(?:\s+(?:hàng|hằng)\s+năm)?"
    r"|(?:đến|trước|trong|từ|sau)\s+năm\s+\d{4}"
    r"|giai đoạn\s+\d{4}\s*[-–]\s*\d{4}"
    r"|định kỳ(?:\s+\d+\s+tháng)?(?:\s*\([^)]*\))?"
    r"|(?:hàng|hằng|mỗi)\s+năm"
    r"|thường xuyên"
    r"|\b(?:19|20)\d{2}\s*[-–]\s*(?:19|20)\d{2}\b"
    r"|năm\s+(?:19|20)\d{2}",
    re.IGNORECASE,
)
_YEAR_ONLY_RE = re.compile(r"^(?:năm\s+)?(?:19|20)\d{2}$", re.IGNORECASE)


def _positions(words: list[str], terms: set[str]) -> list[int]:
    return [i for i, w in enumerate(words) if w in terms]


def _closest(text: str, matches: list[re.Match], terms: set[str]) -> re.Match | None:
    if not matches:
        return None
    words_before = lambda pos: len(syllables(text[:pos]))  # noqa: E731
    anchor = _positions(syllables(text), terms)
    if not anchor:
        return matches[0]
    return min(matches, key=lambda m: min(abs(words_before(m.start()) - a) for a in anchor))


def find_figure(text: str, info: QuestionInfo) -> str | None:
    """The quantity in ``text`` closest to the question's words (years and document numbers excluded)."""
    cands = []
    for m in _QUANTITY_RE.finditer(text):
        s = m.group(0).strip()
        before = text[max(0, m.start() - 1):m.start()]
        after = text[m.end():m.end() + 1]
        if before in "/-" and before or after in ("/",):
            continue  # part of a date or a document number
        if _YEAR_ONLY_RE.match(s) or re.fullmatch(r"(?:19|20)\d{2}(?:\s*[-–]\s*(?:19|20)\d{2})?", s):
            continue
        if re.fullmatch(r"\d+", s) and not re.search(r"(?:%|tỷ|triệu|lần)", text[m.end():m.end() + 8]):
            # a bare number: keep only when followed by a counted noun (the regex did not catch)
            nxt = syllables(text[m.end():m.end() + 25])[:2]
            if not nxt or nxt[0] in {"nam", "thang", "ngay", "qd", "nq", "ct", "kh", "nd"}:
                continue
            s = f"{s} {text[m.end():].split()[0]}" if text[m.end():].split() else s
        cands.append((m, s))
    if not cands:
        return None
    best = _closest(text, [m for m, _ in cands], set(info.focus or info.terms))
    return next(s for m, s in cands if m is best).rstrip(" ,;.")


def find_time(text: str, info: QuestionInfo) -> str | None:
    matches = list(_TIME_RE.finditer(text))
    best = _closest(text, matches, set(info.focus or info.terms))
    return best.group(0).strip() if best else None


class Scorer:
    """How well a unit covers the question's words, weighted by rarity in the corpus."""

    def __init__(self, info: QuestionInfo, snap: CorpusSnapshot):
        self.info = info
        terms = list(dict.fromkeys(info.terms))
        self.weights = {t: snap.idf(t) for t in terms}
        self.total = sum(self.weights.values())
        self.focus = {t: snap.idf(t) for t in dict.fromkeys(info.focus)}
        self.focus_total = sum(self.focus.values())
        seq = list(info.terms)
        self.bigrams = {f"{a} {b}" for a, b in zip(seq, seq[1:])}

    def _cov(self, weights: dict[str, float], total: float, words: set[str], context: set[str]) -> float:
        if total <= 0:
            return 0.0
        got = 0.0
        for t, w in weights.items():
            if t in words:
                got += w
            elif t in context:
                got += 0.5 * w
        return got / total

    def coverage(self, text: str, context: str = "") -> float:
        return self._cov(self.weights, self.total, set(syllables(text)), set(syllables(context)))

    def focus_coverage(self, text: str, context: str = "") -> float:
        if not self.focus:
            return 1.0
        return self._cov(self.focus, self.focus_total, set(syllables(text)), set(syllables(context)))

    def bigram_share(self, text: str) -> float:
        if not self.bigrams:
            return 0.0
        words = syllables(text)
        have = {f"{a} {b}" for a, b in zip(words, words[1:])}
        return len(self.bigrams & have) / len(self.bigrams)

    def score(self, text: str, context: str, is_row: bool) -> float:
        info = self.info
        s = 0.7 * self.coverage(text, context) + 0.3 * self.bigram_share(text)
        if info.numeric and find_figure(text, info):
            s += 0.15
        if info.deadline and (is_row or _TIME_RE.search(text)):
            s += 0.15
        if info.lead and (is_row or re.search(r"chủ trì|đầu mối|phối hợp", text, re.IGNORECASE)):
            s += 0.1
        return s


# --- points ---------------------------------------------------------------------------------


def _context_of(chunk: Chunk) -> str:
    return " ".join((chunk.section or "", " ".join(chunk.heading_path)))


def _row_point(chunk: Chunk, score: float, role: str, info: QuestionInfo) -> Point:
    t = chunk.table or {}
    text = table_row_sentence(chunk)
    if info.deadline and not info.numeric:
        time = (t.get("time") or "").strip()
        text = f"Thời gian: {time or NO_DEADLINE} — {text}"
    elif info.lead and not info.deadline and (t.get("lead") or "").strip():
        text = f"{t['lead'].strip()} chủ trì — {text}"
    from assistant.passages import table_row_quote

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


def _item_point(units: list[Unit], score: float, role: str, info: QuestionInfo, scorer: Scorer | None) -> Point:
    units = _cut(units, scorer)
    quote = " ".join(u.text for u in units)
    text = strip_item_marker(quote)
    if info.numeric or info.deadline:
        lead = find_figure(quote, info) if info.numeric else None
        if info.deadline and not lead:
            lead = find_time(quote, info)
        if lead:
            text = f"{lead}: «{text}»"
    u0 = units[0]
    return Point(text, quote, u0.chunk, score, (u0.chunk.order, u0.item, u0.sent), role)


def _dedupe(points: list[Point]) -> list[Point]:
    """Merge points that say the same thing; a table row wins over the paragraph it repeats."""
    out: list[Point] = []
    for p in sorted(points, key=lambda p: (-p.score, p.order)):
        words = set(syllables(p.quote))
        dup = None
        for q in out:
            other = set(syllables(q.quote))
            inter = len(words & other)
            if inter and inter / max(1, min(len(words), len(other))) >= 0.85 and q.chunk.doc_id == p.chunk.doc_id:
                dup = q
                break
        if dup is None:
            out.append(p)
        elif p.chunk.kind == "table_row" and dup.chunk.kind != "table_row":
            out[out.index(dup)] = Point(p.text, p.quote, p.chunk, max(p.score, dup.score), p.order, p.role)
    return out


# --- selection ------------------------------------------------------------------------------


def _in_scope(chunk: Chunk, provinces: tuple[str, ...], doc_ids: tuple[str, ...]) -> bool:
    if provinces and chunk.province not in provinces:
        return False
    if doc_ids and chunk.doc_id not in doc_ids:
        return False
    return True


_ROLE_RANK = {"duty": 0, "mention": 1, "partner": 2, "topic": 3}


def agency_points(agency: str, chunks: list[Chunk], info: QuestionInfo) -> list[Point]:
    """Every passage that gives ``agency`` a duty, in document order."""
    points: list[Point] = []
    for chunk in chunks:
        if chunk.kind == "table_row" and chunk.table:
            if agency in _table_agencies(chunk, "lead"):
                points.append(_row_point(chunk, 1.0, "duty", info))
            elif agency in _table_agencies(chunk, "partners"):
                points.append(_row_point(chunk, 0.5, "partner", info))
            continue
        start = heading_agencies(chunk)
        for resp, units in _items(split_units(chunk), start):
            first = units[0].text
            if agency in resp and not (len(resp) > 1 and agency not in agencies_at_start(first) and agencies_at_start(first)):
                points.append(_item_point(units, 1.0, "duty", info, None))
            elif agency in agencies_at_start(first):
                points.append(_item_point(units, 0.8, "mention", info, None))
    return _dedupe(points)


def _group(points: list[Point], snap: CorpusSnapshot, cap: int, by_score: bool) -> list[Block]:
    blocks: dict[tuple[str | None, str], Block] = {}
    for p in points:
        key = (p.chunk.province, p.chunk.doc_id)
        if key not in blocks:
            blocks[key] = Block(p.chunk.province, p.chunk.doc_id, snap.doc_title(p.chunk.doc_id, p.chunk.doc_title))
        blocks[key].points.append(p)
    out = []
    for b in blocks.values():
        ranked = sorted(b.points, key=lambda p: (_ROLE_RANK.get(p.role, 9), -p.score, p.order))
        kept = ranked[:cap]
        b.omitted = len(ranked) - len(kept)
        b.points = sorted(kept, key=lambda p: (-p.score, p.order)) if by_score else sorted(kept, key=lambda p: (_ROLE_RANK.get(p.role, 9), p.order))
        out.append(b)
    return out


def compose_agency(info: QuestionInfo, snap: CorpusSnapshot, provinces: tuple[str, ...], doc_ids: tuple[str, ...]) -> Composition:
    agency = info.agencies[0]
    chunks = [c for c in snap.chunks if _in_scope(c, provinces, doc_ids)]
    points = agency_points(agency, chunks, info)
    blocks = _group(points, snap, MAX_POINTS_PER_BLOCK, by_score=False)
    order = {p: i for i, p in enumerate(snap.provinces)}
    blocks.sort(key=lambda b: (order.get(b.province, 99), b.doc_id))
    comp = Composition("agency", blocks, best_score=1.0 if points else 0.0, focus_coverage=1.0 if points else 0.0)
    in_scope = [p for p in (provinces or tuple(snap.provinces))]
    with_points = {b.province for b in blocks if b.points}
    silent = [p for p in in_scope if p not in with_points]
    if silent and (with_points or provinces):
        comp.notes.append(
            f"Văn bản của tỉnh {', '.join(silent)} không giao nhiệm vụ riêng cho {agency}."
            if len(silent) == 1
            else f"Văn bản của các tỉnh {', '.join(silent)} không giao nhiệm vụ riêng cho {agency}."
        )
    return comp


def compose_topic(info: QuestionInfo, hits: list[Hit], snap: CorpusSnapshot) -> Composition:
    scorer = Scorer(info, snap)
    if not hits:
        return Composition("topic", [])
    top = max(h.score for h in hits) or 1.0
    scored: list[tuple[float, float, list[Unit], Chunk]] = []
    for h in hits:
        chunk = h.chunk
        prior = 0.6 + 0.4 * (h.score / top)
        context = _context_of(chunk)
        if chunk.kind == "table_row" and chunk.table:
            text = " ".join(v for v in chunk.table.values() if v)
            s = scorer.score(text, context, True)
            if info.agencies:
                s *= 1.0 if any(a in _table_agencies(chunk, "lead") for a in info.agencies) else (
                    0.8 if any(a in _table_agencies(chunk, "partners") for a in info.agencies) else 0.5)
            scored.append((s * prior, scorer.focus_coverage(text, context), [], chunk))
            continue
        for resp, units in _items(split_units(chunk), heading_agencies(chunk)):
            for u in units:
                s = scorer.score(u.text, context, False)
                if info.agencies:
                    actor = resp or agencies_at_start(units[0].text)
                    if any(a in actor for a in info.agencies):
                        s *= 1.0
                    elif any(a in [n for _, n in entity_offsets(u.text)] for a in info.agencies):
                        s *= 0.8
                    else:
                        s *= 0.5
                scored.append((s * prior, scorer.focus_coverage(u.text, context), [u], chunk))
    if not scored:
        return Composition("topic", [])
    best = max(s for s, *_ in scored)
    cutoff = max(RELATIVE_CUTOFF * best, ABSOLUTE_CUTOFF)
    limit = MAX_FOCUSED_POINTS if (info.numeric or info.deadline or info.lead) and not info.compare else MAX_TOPIC_POINTS
    chosen = sorted((x for x in scored if x[0] >= cutoff), key=lambda x: -x[0])
    # Merge sentences of the same list item into one point.
    points: list[Point] = []
    by_item: dict[tuple[str, int], list[tuple[float, Unit]]] = {}
    for s, _, units, chunk in chosen:
        if not units:
            points.append(_row_point(chunk, s, "topic", info))
            continue
        u = units[0]
        by_item.setdefault((chunk.chunk_id, u.item), []).append((s, u))
    for (_, _), pairs in by_item.items():
        pairs.sort(key=lambda x: x[1].sent)
        units = [u for _, u in pairs]
        points.append(_item_point(units, max(s for s, _ in pairs), "topic", info, scorer))
    points = _dedupe(points)
    points.sort(key=lambda p: -p.score)
    if not info.compare:
        points = points[:limit]
    focus_cov = max((f for s, f, *_ in scored if s >= cutoff), default=0.0)
    blocks = _group(points, snap, MAX_POINTS_PER_BLOCK if info.compare else limit, by_score=bool(info.numeric or info.deadline or info.lead))
    blocks.sort(key=lambda b: -max((p.score for p in b.points), default=0))
    has_fig = any(find_figure(p.quote, info) for p in points) if info.numeric else False
    return Composition("topic", blocks, best_score=best, focus_coverage=focus_cov, has_figure=has_fig)


# --- rendering ------------------------------------------------------------------------------


def _citation(n: int, p: Point) -> Citation:
    c = p.chunk
    return Citation(
        n=n,
        doc_id=c.doc_id,
        doc_title=c.doc_title,
        province=c.province,
        section=c.section,
        text=p.quote,
        chunk_id=c.chunk_id,
        chunk_text=c.text,
    )


def render(comp: Composition, info: QuestionInfo, snap: CorpusSnapshot | None = None) -> tuple[str, list[Citation]]:
    """The answer text (points ending with [n]) and its numbered citations."""
    blocks = [b for b in comp.blocks if b.points]
    lines: list[str] = []
    citations: list[Citation] = []
    seen: dict[tuple[str, str], int] = {}
    multi = len(blocks) > 1 or comp.mode == "agency"
    agency = info.agencies[0] if info.agencies else None
    for b in blocks:
        title = b.doc_title or b.doc_id
        if multi:
            head = f"{b.province or 'Không rõ tỉnh'} — {title}"
            lines.append(f"{head}:")
        else:
            lines.append(f"Theo {title}{'' if (b.province and b.province in title) or not b.province else f' (tỉnh {b.province})'}:")
        for p in b.points:
            key = (p.chunk.chunk_id, p.quote)
            if key not in seen:
                seen[key] = len(citations) + 1
                citations.append(_citation(seen[key], p))
            lines.append(f"- {p.text} [{seen[key]}]")
        if b.omitted:
            lines.append(f"- (còn {b.omitted} nội dung khác{f' liên quan đến {agency}' if agency and comp.mode == 'agency' else ''} trong văn bản này)")
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
            from assistant.passages import table_row_quote

            text = table_row_quote(c)
        else:
            units = [u for u in split_units(c) if u.kind != "heading"]
            text = units[0].text if units else c.text[:300]
        out.append(Citation(len(out) + 1, c.doc_id, c.doc_title, c.province, c.section, text, c.chunk_id, c.text))
        if len(out) >= limit:
            break
    return out


def folded_answer(text: str) -> str:
    return fold(text)
