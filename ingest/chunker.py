"""Section tree -> chunks sized for the e5 model, each labelled with its heading path.

Rules:
- A chunk is at most ``MAX_TOKENS`` (512) e5 tokens *including* the context header that
  ``Chunk.context_text()`` adds; bodies aim at ``BODY_TOKENS`` (350).
- A numbered heading with all its sub-items stays one chunk when it fits. Otherwise its own
  text and its leaf items are packed in order into chunks (never mixing two headings that have
  sub-items), and each sub-heading is chunked on its own with the heading path kept.
- Text is split only between items or paragraphs; a paragraph that is too long alone is split
  between sentences (". ", then "; ", then ", "), never inside one.
- Each task-table row is one chunk (kind ``table_row``), rendered as labelled fields.
- Legal texts: every chunk belongs to exactly one article ("Điều N"); chapter / section
  headings are only in the heading path ("Chương II. … > Mục 1. … > Điều 7. Title"). A long
  article is split at its khoản, each piece keeping "Điều N. Title" in its path. A definitions
  article ("Giải thích từ ngữ") gives one chunk per defined term (kind ``definition``,
  ``extra["term"]``). A header-only preamble (just the law's name) is not a chunk.
- Splitting one long paragraph is linear in its length: each part is tokenised once and parts
  are packed by adding their counts; each packed piece is then checked once.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from ingest.lines import Line
from ingest.normalize import fold
from ingest.structure import CONTAINERS, Node, iter_lines, short_title
from ingest.tables import Table, TableRow
from ingest.tokens import count_tokens
from ingest.types import Chunk, DocumentMeta
from ingest.vocab import discover_agencies, find_agencies, is_national_agency

MAX_TOKENS = 512
BODY_TOKENS = 350
SECTION_SEP = " > "


@dataclass
class _Unit:
    line: Line
    label: str = ""  # label of the leaf item this unit is (a), 1.) or "" for own text
    marker: str = ""
    kind: str = ""
    cont: bool = False  # continues the previous unit's paragraph (joined with a space)
    item: int = -1  # index of the leaf item this unit belongs to; -1 = the heading's own text


@dataclass
class _Draft:
    path: tuple[str, ...]
    text: str
    display: str
    kind: str = "text"
    table: dict[str, str] | None = None
    row: TableRow | None = None
    extra: dict | None = None


def _render(units: list[_Unit], display: bool = False) -> str:
    out = ""
    for i, u in enumerate(units):
        t = u.line.display if display else u.line.text
        t = t.strip()
        if i == 0:
            out = t
        else:
            out += (" " if u.cont else "\n") + t
    return out


class Chunker:
    def __init__(self, meta: DocumentMeta, body_tokens: int = BODY_TOKENS, max_tokens: int = MAX_TOKENS):
        self.meta = meta
        self.body_tokens = body_tokens
        self.max_tokens = max_tokens
        self.drafts: list[_Draft] = []
        # A heading line whose node continues with sub-headings: it is put in front of the
        # next chunk (the first one of its first sub-heading) rather than left alone.
        self.carry: list[_Unit] = []
        self._budget_cache: dict[tuple[str, ...], int] = {}

    # --- budget ---------------------------------------------------------------------------
    def budget(self, path: tuple[str, ...]) -> int:
        if path not in self._budget_cache:
            header = " | ".join(p for p in (self.meta.short_title, self.meta.province or "", SECTION_SEP.join(path)) if p)
            # count_tokens includes the prefix and special tokens once; the header line adds
            # its own tokens plus a newline. Keep a small margin.
            self._budget_cache[path] = min(self.body_tokens, self.max_tokens - count_tokens(header) - 4)
        return self._budget_cache[path]

    def fits(self, text: str, path: tuple[str, ...]) -> bool:
        return count_tokens(text) <= self.budget(path)

    # --- splitting of one over-long paragraph --------------------------------------------
    def split_line(self, line: Line, path: tuple[str, ...], first_budget: int | None = None) -> list[Line]:
        """Cut one over-long line between sentences; the first piece may get a smaller
        budget (room left after a heading line that goes in front of it)."""
        text, disp = line.text.strip(), line.display.strip()
        if len(disp) != len(text):
            disp = text
        budget = self.budget(path)
        bounds = _split_points(text, budget)
        if first_budget is not None and first_budget > 40 and len(bounds) > 2:
            head = _split_points(text, first_budget)[:2]
            if head[1] > 0:
                bounds = [0, head[1]] + [head[1] + b for b in _split_points(text[head[1]:], budget)[1:]]
        pieces = []
        for a, b in zip(bounds, bounds[1:]):
            pieces.append(Line(text[a:b].strip(), disp[a:b].strip()))
        return [p for p in pieces if p.text]

    # --- tree walk --------------------------------------------------------------------------
    def visit(self, node: Node | Table, path: tuple[str, ...]) -> None:
        if isinstance(node, Table):
            self.emit_table(node, path)
            return
        label = node.label
        own_path = path + (label,) if label else path
        if node.kind in CONTAINERS:
            self.visit_container(node, own_path)
            return
        if node.kind == "article" and _DEFINITIONS in fold(node.title):
            self.visit_definitions(node, own_path)
            return
        has_table = _has_table(node)
        if not has_table:
            units = [_Unit(l) for l in iter_lines(node)]
            if units and self.fits(_render(units), own_path):
                self.emit(own_path, units)
                return
        # Too big (or holds a table): own text and leaf items packed, sub-headings recursed.
        pack: list[_Unit] = []

        def flush() -> None:
            nonlocal pack
            if pack:
                self.emit(_pack_path(own_path, pack), pack)
                pack = []

        def add(units: list[_Unit]) -> None:
            nonlocal pack
            if pack and self.fits(_render(pack + units), own_path):
                pack = pack + units
                return
            if self.fits(_render(units), own_path):
                flush()
                pack = list(units)
                return
            # A single unit too long on its own: split it between sentences. If the pack holds
            # only the heading's own line, the first piece is sized to share a chunk with it.
            for u in units:
                room = None
                if pack and all(p.item == -1 for p in pack) and len(pack) == 1:
                    room = self.budget(own_path) - count_tokens(_render(pack)) - 2
                else:
                    flush()
                pieces = self.split_line(u.line, own_path + ((u.label,) if u.label else ()), room)
                for i, p in enumerate(pieces):
                    piece = _Unit(p, u.label, u.marker, u.kind, cont=i > 0, item=u.item)
                    if pack and self.fits(_render(pack + [piece]), own_path):
                        pack.append(piece)
                    else:
                        flush()
                        pack = [piece]

        for line in node.lines:
            add([_Unit(line)])
        for idx, ch in enumerate(node.children):
            if isinstance(ch, Table) or ch.children or _has_table(ch):
                if (
                    isinstance(ch, Node)
                    and len(pack) == 1
                    and pack[0].item == -1
                    and node.lines
                    and pack[0].line is node.lines[0]
                    and node.kind not in ("preamble", "part", "closing")
                ):
                    self.carry, pack = self.carry + pack, []
                flush()
                self.visit(ch, own_path)
                continue
            units = [_Unit(l, ch.label, ch.marker, ch.kind, item=idx) for l in ch.lines]
            add(units)
        flush()

    def visit_container(self, node: Node, own_path: tuple[str, ...]) -> None:
        """Phần / Chương / Mục: the heading is the path; paragraphs outside any article are
        one chunk; each article (or inner heading) is chunked on its own."""
        paras: list[_Unit] = []
        for ch in node.children:
            if isinstance(ch, Node) and ch.kind == "para":
                paras += [_Unit(l) for l in ch.lines]
                continue
            if paras:
                self.emit_packed(own_path, paras)
                paras = []
            self.visit(ch, own_path)
        if paras:
            self.emit_packed(own_path, paras)

    def emit_packed(self, path: tuple[str, ...], units: list[_Unit]) -> None:
        pack: list[_Unit] = []
        for u in units:
            if pack and self.fits(_render(pack + [u]), path):
                pack.append(u)
                continue
            if pack:
                self.emit(path, pack)
            pack = [u]
            if not self.fits(_render(pack), path):
                for i, piece in enumerate(self.split_line(u.line, path)):
                    self.emit(path, [_Unit(piece)])
                pack = []
        if pack:
            self.emit(path, pack)

    def visit_definitions(self, node: Node, own_path: tuple[str, ...]) -> None:
        """One unit per defined term: "1. Hợp tác xã là ..." -> a chunk whose path ends in
        "Khoản 1. Hợp tác xã" (kind ``definition``, ``extra["term"]``)."""
        self.carry = []
        intro = [_Unit(l) for l in node.lines[1:]]
        terms = []
        for ch in node.children:
            if isinstance(ch, Node) and ch.kind in ("clause", "num1"):
                terms.append(ch)
            elif isinstance(ch, Node):
                intro += [_Unit(l) for l in iter_lines(ch)]
        if intro or not terms:
            self.emit_packed(own_path, [_Unit(node.lines[0])] + intro if node.lines else intro)
        for ch in terms:
            term = definition_term(ch.title)
            label = f"Khoản {ch.marker}. {term}" if term else f"Khoản {ch.marker}"
            start = len(self.drafts)
            units = [_Unit(l) for l in iter_lines(ch)]
            path = own_path + (label,)
            if self.fits(_render(units), path):
                self.emit(path, units)
            else:
                self.emit_packed(path, units)
            for d in self.drafts[start:]:
                d.kind = "definition"
                d.extra = {"term": term} if term else {}

    def emit(self, path: tuple[str, ...], units: list[_Unit]) -> None:
        if self.carry:
            carry, self.carry = self.carry, []
            if self.fits(_render(carry + units), path):
                units = carry + units
            else:
                self.emit(tuple(path[: max(1, len(path) - 1)]), carry)
        text, display = _render(units), _render(units, display=True)
        if text.strip():
            self.drafts.append(_Draft(path, text, display))

    def emit_table(self, table: Table, path: tuple[str, ...]) -> None:
        if self.carry:
            carry, self.carry = self.carry, []
            self.emit(path, carry)
        for row in table.rows:
            rec = row.record
            group_label = ""
            if rec["group"]:
                st = short_title(rec["group"], 70)
                group_label = f"{row.group_no}. {st}" if row.group_no else st
            row_path = path + tuple(p for p in (group_label, rec["stt"]) if p)
            text, display = row.render(), row.render(display=True)
            if self.fits(text, row_path):
                self.drafts.append(_Draft(row_path, text, display, "table_row", dict(rec), row))
                continue
            for piece in self.split_line(Line(text.replace("\n", " "), display.replace("\n", " ")), row_path):
                self.drafts.append(_Draft(row_path, piece.text, piece.display, "table_row", dict(rec), row))

    # --- final chunks ------------------------------------------------------------------------
    def chunks(self) -> list[Chunk]:
        meta = self.meta
        out: list[Chunk] = []
        seen: set[str] = set()
        def find(text: str) -> list[str]:
            # A provincial document cites national bodies (a Chỉ thị of the Thủ tướng Chính
            # phủ); it does not task them.
            names = find_agencies(text)
            return [a for a in names if not is_national_agency(a)] if meta.province else names

        issuer_agencies = tuple(find(meta.issuer or ""))
        for order, d in enumerate(self.drafts):
            section = SECTION_SEP.join(d.path)
            base = f"{meta.doc_id}-{hashlib.sha1(f'{meta.doc_id}|{section}|{d.text}'.encode('utf-8')).hexdigest()[:10]}"
            chunk_id, n = base, 2
            while chunk_id in seen:
                chunk_id, n = f"{base}-{n}", n + 1
            seen.add(chunk_id)
            if d.table is not None:
                agencies = _dedupe(find(d.table["lead"]) + find(d.table["partners"]))
                if not agencies:
                    agencies = list(issuer_agencies)
            else:
                agencies = []
                for label in reversed(d.path):
                    agencies = find(label)
                    if agencies:
                        break
                if not agencies:
                    agencies = find(d.text)
                if not meta.province:  # national texts: also the bodies named by rule (Bộ Tư pháp ...)
                    agencies = _dedupe(list(agencies) + discover_agencies(d.text))
            chunk = Chunk(
                chunk_id=chunk_id,
                doc_id=meta.doc_id,
                doc_title=meta.short_title,
                province=meta.province,
                section=section,
                heading_path=d.path,
                agencies=tuple(agencies),
                text=d.text,
                display_text=d.display,
                kind=d.kind,
                order=order,
                table=d.table,
                extra=dict(d.extra or {}),
            )
            article = next((p for p in d.path if p.startswith("Điều ")), None)
            if article:
                chunk.extra["article"] = article.split(".", 1)[0]
            chunk.extra["tokens"] = count_tokens(chunk.context_text())
            out.append(chunk)
        return out


def _dedupe(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _has_table(node: Node) -> bool:
    return any(isinstance(ch, Table) or (isinstance(ch, Node) and _has_table(ch)) for ch in node.children)


def _pack_path(own_path: tuple[str, ...], pack: list[_Unit]) -> tuple[str, ...]:
    """Section of a pack: the heading itself, one item ("b)"), or a range of items ("a)–c)")."""
    if any(u.item == -1 for u in pack):
        return own_path  # includes the heading's own text
    items: list[_Unit] = []
    for u in pack:
        if not items or items[-1].item != u.item:
            items.append(u)
    labelled = [u for u in items if u.label]
    if len(labelled) != len(items) or not labelled:
        return own_path
    if len(labelled) == 1:
        return own_path + (labelled[0].label,)
    first, last = labelled[0], labelled[-1]
    if first.kind == last.kind == "letter":
        return own_path + (f"{first.marker})–{last.marker})",)
    if first.kind == last.kind and first.kind.startswith("num"):
        return own_path + (f"{first.marker}.–{last.marker}.",)
    if first.kind == last.kind == "clause":
        return own_path + (f"Khoản {first.marker}–{last.marker}",)
    if first.kind == last.kind == "point":
        return own_path + (f"Điểm {first.marker}–{last.marker}",)
    return own_path


_SENTENCE = re.compile(r"(?<=[.!?…])\s+(?=[\"“(\-–\dA-ZÀ-ỸĐ])")
_CLAUSE = re.compile(r"(?<=;)\s+")
_COMMA = re.compile(r"(?<=,)\s+")
_SPACE = re.compile(r"\s+")


def _split_points(text: str, budget: int) -> list[int]:
    """Offsets that cut ``text`` into pieces of at most ``budget`` tokens, at the
    coarsest boundary possible (sentence, then clause, then comma, then word).

    Linear in the length of ``text``: every part is tokenised once and parts are packed by
    adding their counts (tokens of joined parts are their sum, less the special tokens);
    each packed piece is checked once and, in the rare case the sum was optimistic, packed
    again with exact counts (a piece is short, so that costs little)."""
    overhead = count_tokens("")

    def exact_greedy(a: int, cuts: list[int]) -> list[int]:
        out, start, i = [a], a, 1
        while i < len(cuts):
            j = i
            while j + 1 < len(cuts) and count_tokens(text[start:cuts[j + 1]]) <= budget:
                j += 1
            out.append(cuts[j])
            start, i = cuts[j], j + 1
        return out

    def pieces(a: int, b: int, level: int, known: int | None = None) -> list[int]:
        n = known if known is not None else count_tokens(text[a:b])
        if n <= budget or level > 3:
            return [a, b]
        pat = (_SENTENCE, _CLAUSE, _COMMA, _SPACE)[level]
        cuts = sorted({a, b, *(a + m.end() for m in pat.finditer(text[a:b]))})
        if len(cuts) <= 2:
            return pieces(a, b, level + 1, n)
        parts = list(zip(cuts, cuts[1:]))
        costs = [max(0, count_tokens(text[x:y]) - overhead) for x, y in parts]
        out = [a]
        start, acc = a, 0
        packed: list[tuple[int, int]] = []  # pieces made of several parts, to check
        for (x, y), c in zip(parts, costs):
            if c + overhead > budget:  # too big alone: close the pack, split the part finer
                if start < x:
                    out.append(x)
                    packed.append((start, x))
                out.extend(pieces(x, y, level + 1, c + overhead)[1:])
                start, acc = y, 0
                continue
            if start < x and acc + c + overhead > budget:
                out.append(x)
                packed.append((start, x))
                start, acc = x, 0
            acc += c
        if start < b:
            out.append(b)
            packed.append((start, b))
        for p, q in packed:
            if count_tokens(text[p:q]) > budget:
                inner_cuts = sorted({c for c in cuts if p <= c <= q})
                redo = exact_greedy(p, inner_cuts)
                out = [o for o in out if not (p < o < q)] + redo[1:-1]
        return sorted(set(out))

    return sorted(set(pieces(0, len(text), 0)))


_DEFINITIONS = "giai thich tu ngu"
_TERM_END = re.compile(r"\s+(?:là|được hiểu là|bao gồm|gồm)\s+|\s*:\s*|\s+\(")


def definition_term(first_line: str) -> str:
    """'Hợp tác xã là tổ chức kinh tế ...' -> 'Hợp tác xã' ('' when no short term is found)."""
    m = _TERM_END.search(first_line)
    term = first_line[: m.start()] if m else ""
    term = term.strip(" .,;")
    return term if term and len(term.split()) <= 12 else ""


def build_chunks(tree: Node, meta: DocumentMeta) -> list[Chunk]:
    ch = Chunker(meta)
    for node in tree.children:
        if tree.legal and isinstance(node, Node) and node.kind == "preamble" and _header_only(node):
            continue
        ch.visit(node, ())
    if ch.carry:
        carry, ch.carry = ch.carry, []
        ch.emit((), carry)
    return ch.chunks()


def _header_only(node: Node) -> bool:
    """A preamble that is only the law's name (one or two short lines, no sentence)."""
    lines = iter_lines(node)
    return not node.children and len(lines) <= 2 and sum(len(l.text) for l in lines) < 160
