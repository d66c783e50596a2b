"""Compose: a one-line lead that answers directly, then points grouped by document (and so by
province), the most relevant group first and the most relevant point first inside each group,
each point ending with its citation [n].

Budget: by default about ``MAX_POINTS`` points and ``MAX_CHARS`` characters; the rest is left
for "Xem thêm" (web app), ``--full`` (CLI) or ``full: true`` (API), and counted in
``metadata["more"]``. Sentences of one list item are shown together as one point. When the
answer must keep provinces apart (the question names several, asks "từng tỉnh", or asks about
an agency that has passages in several provinces), every province's best passage is placed
before the second-best of any other, and kept at half the usual cutoff.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Sequence

from index.text import fast_fold as fold

from assistant.answering.corpus import CorpusSnapshot
from assistant.answering.decide import RELATED_NOTE, Decision
from assistant.answering.passages import cut_text, is_label, number_key, numbers_in, strip_item_marker, table_row_sentence
from assistant.answering.select import _QUANTITY, _TIME, Candidate
from assistant.answering.understand import Query
from assistant.answering.types import Citation

MAX_POINTS = 7
MAX_CHARS = 1400
MAX_POINT_CHARS = 500  # a longer point is cut at a word boundary in the default view
FULL_MAX_POINTS = 200  # "Xem thêm" / --full: everything above the cutoff
MAX_PER_CHUNK = 2
LEAD_CHARS = 220
NATIONAL = "Toàn quốc"
_ARTICLE = re.compile(r"\bĐiều\s+\d+[a-z]?\b")


@dataclass
class Point:
    text: str  # shown text
    quote: str  # Citation.text: the unit(s) as in the document
    cand: Candidate  # the best candidate of the point
    units: list[Candidate] = field(default_factory=list)
    also: list[Candidate] = field(default_factory=list)  # units of the same document that repeat it (cited too)

    @property
    def order(self) -> tuple:
        u = self.units[0].unit
        return (u.chunk.order, u.item, u.sent)


@dataclass
class Group:
    key: str  # doc_id
    label: str  # "Kế hoạch 12/CT-TTg – Lâm Đồng (2018)" or "Toàn quốc — Luật Hợp tác xã 2023"
    province: str | None
    points: list[Point] = field(default_factory=list)

    @property
    def best(self) -> float:
        return max((p.cand.p for p in self.points), default=0.0)


@dataclass
class Composed:
    text: str
    citations: list[Citation]
    more: int  # points left out of the default view
    groups: list[str]  # group labels shown, in order
    shown: list[Candidate]


def _point_text(units: list[Candidate]) -> str:
    chunk = units[0].chunk
    if chunk.kind == "table_row" and chunk.table:
        return table_row_sentence(chunk)
    return strip_item_marker(" ".join(c.unit.text for c in units))


def _group_label(snap: CorpusSnapshot, cand: Candidate) -> tuple[str, str | None]:
    chunk = cand.chunk
    meta = snap.docs.get(chunk.doc_id)
    title = snap.doc_title(chunk.doc_id, chunk.doc_title)
    province = meta.province if meta is not None else chunk.province
    if province is None and meta is not None:
        return f"{NATIONAL} — {title}", None
    return title, province


DUPLICATE_OVERLAP = 0.8  # two units whose word sets overlap this much (Jaccard) say the same thing


def _dedupe(cands: Sequence[Candidate]) -> tuple[list[Candidate], dict[tuple, Candidate]]:
    """Drop units that repeat a better one: the same text, one containing the other (both over
    20 characters: the same sentence in the body and in an appendix), or word sets that
    overlap ``DUPLICATE_OVERLAP`` (Jaccard, both of at least 8 words). Each unit's folded text
    and word set come with its static features (``select.UnitInfo``); the units kept so far
    are indexed (all their text, by first word, by size) so that a unit is compared only with
    those it could repeat.

    Also returns, by the key of a kept unit, the first unit that repeated it from another
    passage of the same document: a plan's appendix restates the items of its body (the row
    names the agency and the year, the body sentence keeps details the row drops), so the point
    cites both passages (``_repeat_of`` finds which kept unit was repeated)."""
    out: list[Candidate] = []
    repeats: dict[tuple, Candidate] = {}
    exact: set[str] = set()
    blob = ""  # the long kept texts, one per line: "is k inside a kept text" is one search
    by_first: dict[str, list[str]] = {}  # long kept texts by first word: "is a kept text inside k"
    by_size: dict[int, list[frozenset]] = {}  # word sets of 8+ words by size
    for c in cands:
        k, words = c.info.folded, c.info.words
        if not k:
            continue
        long_, n = len(k) > 20, len(words)
        lo, hi = math.ceil(DUPLICATE_OVERLAP * n), math.floor(n / DUPLICATE_OVERLAP)
        if (k in exact
                or (long_ and (k in blob or any(s in k for w in by_first.keys() & words for s in by_first[w])))
                # |W ∩ S| >= r |W ∪ S|  <=>  |W ∩ S| >= r (|W| + |S|) / (1 + r)
                or (n >= 8 and any(len(words & sw) >= DUPLICATE_OVERLAP * (n + size) / (1 + DUPLICATE_OVERLAP)
                                   for size in range(max(8, lo), hi + 1) for sw in by_size.get(size, ())))):
            o = _repeat_of(c, out)
            if o is not None:
                repeats.setdefault(o.unit.key, c)
            continue
        if n >= 8:
            by_size.setdefault(n, []).append(words)
        exact.add(k)
        if long_:
            blob += "\n" + k
            by_first.setdefault(k.split(" ", 1)[0], []).append(k)
        out.append(c)
    return out, repeats


def _repeats(a: Candidate, b: Candidate) -> bool:
    """``a`` says what ``b`` says: the test ``_dedupe`` runs through its indexes, pair by pair."""
    k, words, ok, ow = a.info.folded, a.info.words, b.info.folded, b.info.words
    if k == ok or (len(k) > 20 and len(ok) > 20 and (k in ok or ok in k)):
        return True
    return len(words) >= 8 and len(ow) >= 8 and len(words & ow) >= DUPLICATE_OVERLAP * len(words | ow)


def _repeat_of(c: Candidate, kept: Sequence[Candidate]) -> Candidate | None:
    """The kept unit of the same document, in another passage, that ``c`` repeats."""
    return next((o for o in kept if o.chunk.doc_id == c.chunk.doc_id and o.chunk.chunk_id != c.chunk.chunk_id
                 and _repeats(c, o)), None)


def _points(kept: Sequence[Candidate], repeats: dict[tuple, Candidate] | None = None) -> list[Point]:
    """Merge kept units of the same list item into one point (document order inside), with the
    units that repeat them elsewhere in their document (``_dedupe``), one per passage."""
    by_item: dict[tuple[str, int], list[Candidate]] = {}
    for c in kept:
        by_item.setdefault((c.chunk.chunk_id, c.unit.item), []).append(c)
    points = []
    for units in by_item.values():
        units.sort(key=lambda c: c.unit.sent)
        best = max(units, key=lambda c: c.p)
        quote = " ".join(c.unit.text for c in units)
        also = list({r.chunk.chunk_id: r for r in (repeats.get(u.unit.key) for u in units if repeats)
                     if r is not None}.values())
        points.append(Point(_with_detail(_point_text(units), units, also), quote, best, units, also))
    return points


def _with_detail(text: str, units: Sequence[Candidate], also: Sequence[Candidate]) -> str:
    """A table row restated by a body sentence that holds numbers the row drops ("… chuyên
    trách từ 3-5 thành viên"): the point reads the body sentence, then the row's columns, so
    the detail and the agency and year are all shown. Any other point reads as it is."""
    chunk = units[0].chunk
    if chunk.kind != "table_row" or not chunk.table:
        return text
    have = {number_key(n) for n in numbers_in(text)}
    for r in also:
        if r.chunk.kind == "table_row":
            continue
        extra = {number_key(n) for n in numbers_in(r.unit.text)} - have
        if extra:
            return f"{strip_item_marker(r.unit.text).rstrip(' .;')}; {table_row_sentence(chunk, include_task=False)}"
    return text


def _cite_restatements(query: Query, shown: Sequence[Point], body: Sequence[Candidate]) -> None:
    """A figure the question asks for is cited wherever its document states it among the units
    read: a plan sets a target in its goals and again in the duties of the agency that carries
    it out ("vốn điều lệ của Quỹ … trên 15 tỷ đồng", "… đạt tối thiểu 15 tỷ đồng"), so the
    point shown cites the other sentence too ("[n][m]"), one per point, for the reader to
    check both."""
    from assistant.answering.amounts import amounts_stated, cited_forms

    kinds = cited_forms(query)
    if not kinds:
        return
    taken = {u.unit.key for pt in shown for u in (*pt.units, *pt.also)}
    stated: dict[tuple, frozenset[str]] = {}  # each unit's amounts, read once

    def amounts_of(c: Candidate) -> frozenset[str]:
        if c.unit.key not in stated:
            stated[c.unit.key] = amounts_stated(c.unit.text, kinds)
        return stated[c.unit.key]

    for pt in shown:
        keys = amounts_stated(pt.quote, kinds)
        if not keys:
            continue
        chunks = {u.chunk.chunk_id for u in (*pt.units, *pt.also)}
        for c in body:
            if (c.chunk.doc_id == pt.cand.chunk.doc_id and c.chunk.chunk_id not in chunks
                    and c.unit.key not in taken and keys & amounts_of(c)):
                pt.also.append(c)
                taken.add(c.unit.key)
                break


def select_points(query: Query, cands: Sequence[Candidate], snap: CorpusSnapshot, keep_ratio: float,
                  per_province: bool, full: bool, required: Sequence[tuple[str, int, int]] = ()) -> tuple[list[Group], int]:
    """The groups and points to show, and how many points were left out by the budget. The
    ``required`` units (each part's answer, in a message of several parts: ``part_bests``) are
    kept and shown right after the best point, so no part goes unanswered."""
    body = [c for c in cands if not is_label(c.unit)]
    if not body:
        return [], 0
    p_best = body[0].p
    floor = keep_ratio * p_best
    per_chunk: dict[str, int] = {}
    kept: list[Candidate] = []
    group_best: dict[str, float] = {}
    eligible = [c for c in body if c.p >= (0.5 * floor if per_province else floor) or c.unit.key in required]
    # units that state the amount asked are taken first (a stable sort: by score otherwise), so
    # the per-passage cap does not drop them for sentences of the same passage that only share words
    eligible.sort(key=lambda c: -c.feature("amount"))
    unique, repeats = _dedupe(eligible)
    for c in unique:
        gkey = c.chunk.doc_id
        first_of_group = gkey not in group_best
        must = c.unit.key in required
        ok = c.p >= floor or (per_province and first_of_group and c.p >= 0.5 * floor) or must
        if not ok:
            continue
        if per_chunk.get(c.chunk.chunk_id, 0) >= MAX_PER_CHUNK and not full and not must:
            continue
        per_chunk[c.chunk.chunk_id] = per_chunk.get(c.chunk.chunk_id, 0) + 1
        group_best.setdefault(gkey, c.p)
        kept.append(c)
    aside = _aside(query)
    typed = _answers_asked_amount(kept)
    points = sorted(_points(kept, repeats), key=lambda pt: (aside(pt.cand), -typed(pt), -pt.cand.p))
    # Fill the budget: every group's best point first when provinces are kept apart.
    order: list[Point] = []
    if per_province:
        firsts: dict[str, Point] = {}
        for pt in points:
            firsts.setdefault(pt.cand.chunk.doc_id, pt)
        order = list(firsts.values()) + [pt for pt in points if pt not in firsts.values()]
    else:
        order = points
    if required:
        head = order[:1]
        for key in required:
            for pt in order:
                if any(u.unit.key == key for u in pt.units) and all(pt is not h for h in head):
                    head.append(pt)
        order = head + [pt for pt in order if all(pt is not h for h in head)]
    limit_points = FULL_MAX_POINTS if full else MAX_POINTS
    shown: list[Point] = []
    chars = LEAD_CHARS  # the lead line
    headed: set[str] = set()
    for pt in order:
        if len(shown) >= limit_points:
            break
        doc = pt.cand.chunk.doc_id
        length = (len(pt.text) if full else min(len(pt.text), MAX_POINT_CHARS)) + 6
        if doc not in headed:
            length += len(_group_label(snap, pt.cand)[0]) + 2
        if shown and not full and chars + length > MAX_CHARS:
            continue
        shown.append(pt)
        headed.add(doc)
        chars += length
    _cite_restatements(query, shown, body)
    more = len(order) - len(shown)
    groups: dict[str, Group] = {}
    for pt in shown:
        label, province = _group_label(snap, pt.cand)
        g = groups.setdefault(pt.cand.chunk.doc_id, Group(pt.cand.chunk.doc_id, label, province))
        g.points.append(pt)
    for g in groups.values():
        g.points.sort(key=lambda pt: (-typed(pt), -pt.cand.p))  # the most relevant point first, in every group
    ordered = sorted(groups.values(), key=lambda g: (aside(g.points[0].cand), -typed(g.points[0]), -g.best))
    return ordered, more


def _answers_asked_amount(kept: Sequence[Candidate]):
    """Whether a point states the kind of amount the question asks for (``amounts``: "bao nhiêu
    phần trăm" and a percentage; the ``amount`` feature), when some kept unit does: such points
    come first, so the figure asked for is not pushed out of the budget by passages that only
    share the question's words ("Đắk Nông hướng tới bao nhiêu phần trăm hộ tham gia …?" is
    answered by "thu hút ít nhất từ 40 - 45% số hộ …", not by the sentence on the same goal
    without a number)."""
    if not any(c.feature("amount") for c in kept):
        return lambda pt: 0.0
    return _states_amount


def _states_amount(pt: Point) -> float:
    """1.0 when a unit of the point states the kind of amount asked (the ``amount`` feature)."""
    return max(u.feature("amount") for u in pt.units)


def _aside(query: Query):
    """Whether a candidate comes after those of the provinces the question names: a document
    of another province, in scope only because that province merged with a named one in 2025
    (a question about Đắk Nông also reads Lâm Đồng's plans), answers second. National documents
    and questions that name no province are not reordered."""
    named = set(query.provinces)

    def key(c: Candidate) -> bool:
        prov = c.chunk.province
        return bool(named) and bool(prov) and prov not in named

    return key


def _clause(text: str, pattern: re.Pattern[str] | None) -> str:
    """The clause of ``text`` that holds ``pattern`` (or the first sentence), at most LEAD_CHARS."""
    text = strip_item_marker(text)
    pieces = [p.strip() for p in re.split(r"(?<=[.;:])\s+", text) if p.strip()] or [text]
    piece = pieces[0]
    if pattern is not None:
        piece = next((p for p in pieces if pattern.search(p)), piece)
    piece = strip_item_marker(piece).rstrip(" ;:")
    if len(piece) > LEAD_CHARS and pattern is not None:
        m = pattern.search(piece)
        if m:
            start = max(0, piece.rfind(" ", 0, max(0, m.start() - 90)) + 1)
            piece = ("… " if start else "") + piece[start:]
    return cut_text(piece, LEAD_CHARS)


def lead_line(query: Query, groups: list[Group], number: dict[int, int]) -> str:
    """One line that answers directly, citing the best point (of those that state the kind of
    amount asked, when some do: ``_answers_asked_amount``; of the provinces the question names
    before a province merged with one of them)."""
    aside = _aside(query)  # a merged province's point leads only when no named province's can
    best = max((pt for g in groups for pt in g.points),
               key=lambda pt: (not aside(pt.cand), _states_amount(pt), pt.cand.p))
    n = number[id(best)]
    label = next(g.label for g in groups if best in g.points)
    if query.has("duty") and query.agencies and not query.has("figure") and not query.has("deadline"):
        agency = query.agencies[0]
        if len(groups) > 1:
            return f"{agency}: nhiệm vụ nêu trong {len(groups)} văn bản, từng văn bản dưới đây."
        return f"{agency}: nhiệm vụ theo {label}."
    pattern = None
    if query.has("figure"):
        pattern = _QUANTITY
    elif query.has("deadline"):
        pattern = _TIME
    chunk = best.cand.chunk
    if query.has("who"):
        # "Hỏi ai?": lead with the best point whose passage is assigned to an agency.
        points = sorted((pt for g in groups for pt in g.points), key=lambda pt: -pt.cand.p)
        for pt in points:
            ch = pt.cand.chunk
            who_label = next(g.label for g in groups if pt in g.points)
            if ch.kind == "table_row" and ch.table and (ch.table.get("lead") or "").strip():
                return f"Cơ quan chủ trì: {ch.table['lead'].strip()} — {who_label} [{number[id(pt)]}]"
            names = _section_agencies(ch)
            if names:
                return f"{', '.join(names[:2])}: {_clause(pt.quote, None)} — {who_label} [{number[id(pt)]}]"
    text = table_row_sentence(chunk) if chunk.kind == "table_row" and chunk.table else best.quote
    return f"{_clause(text, pattern)} — {label} [{n}]"


def _section_agencies(chunk) -> list[str]:
    """Agencies named in the deepest heading of the chunk's path that names one: the actor
    whose section this is ("6. Sở Công Thương")."""
    from assistant.answering.select import _agency_patterns

    patterns = _agency_patterns(chunk.agencies)
    for heading in reversed(chunk.heading_path):
        folded = fold(heading)
        found = [name for name, pat in patterns if pat.search(folded)]
        if found:
            return found
    return []


def _article(section: str) -> str:
    m = _ARTICLE.search(section or "")
    return m.group(0) if m else ""


PART_MIN_P = 0.5  # a part's best unit is shown when it is at least this likely to answer the part


def part_bests(part_cands: Sequence[Sequence[Candidate]]) -> tuple[tuple[str, int, int], ...]:
    """The unit that answers each part of a message of several (``understand.question_parts``):
    its best candidate that is no label, when that one likely answers it (``PART_MIN_P``)."""
    out = []
    for cands in part_cands:
        best = next((c for c in cands if not is_label(c.unit)), None)
        if best is not None and best.p >= PART_MIN_P:
            out.append(best.unit.key)
    return tuple(dict.fromkeys(out))


def compose(query: Query, cands: Sequence[Candidate], snap: CorpusSnapshot, decision: Decision, keep_ratio: float,
            per_province: bool, full: bool = False, extra_notes: Sequence[str] = (),
            required: Sequence[tuple[str, int, int]] = ()) -> Composed:
    groups, more = select_points(query, cands, snap, keep_ratio, per_province, full, required)
    if not groups:
        return Composed("", [], 0, [], [])
    citations: list[Citation] = []
    number: dict[int, int] = {}
    marks: dict[int, str] = {}  # "[3]" or, with a repeat elsewhere in the document, "[3][4]"
    for g in groups:
        for pt in g.points:
            chunk = pt.cand.chunk
            citations.append(Citation(len(citations) + 1, chunk.doc_id, snap.doc_title(chunk.doc_id, chunk.doc_title),
                                      chunk.province, chunk.section, pt.quote, chunk.chunk_id, chunk.text))
            number[id(pt)] = len(citations)
            for r in pt.also:
                rc = r.chunk
                citations.append(Citation(len(citations) + 1, rc.doc_id, snap.doc_title(rc.doc_id, rc.doc_title),
                                          rc.province, rc.section, r.unit.text, rc.chunk_id, rc.text))
            marks[id(pt)] = "".join(f"[{n}]" for n in range(number[id(pt)], len(citations) + 1))
    # What the documents lack comes first when the question names it (an agency, a number, a
    # word no document in scope uses); otherwise the lead answers directly.
    lines = [decision.lead or lead_line(query, groups, number), ""]
    for g in groups:
        lines.append(f"{g.label}:")
        for pt in g.points:
            art = _article(pt.cand.chunk.section)
            text = pt.text if full else cut_text(pt.text, MAX_POINT_CHARS)
            prefix = f"{art}: " if art and not fold(text).startswith(fold(art)) else ""
            lines.append(f"- {prefix}{text} {marks[id(pt)]}")
    notes = list(decision.caveats) + list(extra_notes)
    if notes:
        lines.append("")
        lines.extend(notes)
    if more and not full:
        lines.append("")
        lines.append(f"(Còn {more} ý khác: bấm “Xem thêm” hoặc dùng --full.)")
    shown = [pt.cand for g in groups for pt in g.points]
    return Composed("\n".join(lines).strip(), citations, more, [g.label for g in groups], shown)


def related(cands: Sequence[Candidate], snap: CorpusSnapshot, k: int = 3) -> list[Citation]:
    """'Có thể liên quan': the best unit of each of the best few chunks, for a refusal."""
    out: list[Citation] = []
    seen: set[str] = set()
    for c in cands:
        if c.chunk.chunk_id in seen or c.unit.kind == "heading":
            continue
        seen.add(c.chunk.chunk_id)
        ch = c.chunk
        out.append(Citation(len(out) + 1, ch.doc_id, snap.doc_title(ch.doc_id, ch.doc_title), ch.province, ch.section,
                            c.unit.text, ch.chunk_id, ch.text))
        if len(out) >= k:
            break
    return out


def refusal_text(decision: Decision, has_related: bool) -> str:
    msg = decision.message
    if has_related and decision.reason not in ("empty_question", "instruction_only") and RELATED_NOTE not in msg:
        msg = f"{msg} {RELATED_NOTE}"
    return msg
