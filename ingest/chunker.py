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
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from ingest.lines import Line
from ingest.structure import Node, iter_lines, short_title
from ingest.tables import Table, TableRow
from ingest.tokens import count_tokens
from ingest.types import Chunk, DocumentMeta
from ingest.vocab import find_agencies

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
        issuer_agencies = tuple(find_agencies(meta.issuer or ""))
        for order, d in enumerate(self.drafts):
            section = SECTION_SEP.join(d.path)
            base = f"{meta.doc_id}-{hashlib.sha1(f'{meta.doc_id}|{section}|{d.text}'.encode('utf-8')).hexdigest()[:10]}"
            chunk_id, n = base, 2
            while chunk_id in seen:
                chunk_id, n = f"{base}-{n}", n + 1
            seen.add(chunk_id)
            if d.table is not None:
                agencies = _dedupe(find_agencies(d.table["lead"]) + find_agencies(d.table["partners"]))
                if not agencies:
                    agencies = list(issuer_agencies)
            else:
                agencies = []
                for label in reversed(d.path):
                    agencies = find_agencies(label)
                    if agencies:
                        break
                if not agencies:
                    agencies = find_agencies(d.text)
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
                extra={},
            )
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
    return own_path


_SENTENCE = re.compile(r"(?<=[.!?…])\s+(?=[\"“(\-–\dA-ZÀ-ỸĐ])")
_CLAUSE = re.compile(r"(?<=;)\s+")
_COMMA = re.compile(r"(?<=,)\s+")


def _split_points(text: str, budget: int) -> list[int]:
    """Offsets that cut ``text`` into pieces of at most ``budget`` tokens, at the
    coarsest boundary possible (sentence, then clause, then comma, then word)."""

    def pieces(a: int, b: int, level: int) -> list[int]:
        seg = text[a:b]
        if count_tokens(seg) <= budget or level > 3:
            return [a, b]
        pat = (_SENTENCE, _CLAUSE, _COMMA, re.compile(r"\s+"))[level]
        cuts = [a] + [a + m.end() for m in pat.finditer(seg)] + [b]
        cuts = sorted(set(cuts))
        if len(cuts) <= 2:
            return pieces(a, b, level + 1)
        # Greedy packing of the small parts; recurse into parts that are too big.
        out = [a]
        start = a
        i = 1
        while i < len(cuts):
            end = cuts[i]
            if count_tokens(text[start:end]) <= budget:
                j = i
                while j + 1 < len(cuts) and count_tokens(text[start:cuts[j + 1]]) <= budget:
                    j += 1
                end = cuts[j]
                out.append(end)
                start = end
                i = j + 1
            else:
                sub = pieces(start, end, level + 1)
                out.extend(sub[1:])
                start = end
                i += 1
        return out

    return sorted(set(pieces(0, len(text), 0)))


def build_chunks(tree: Node, meta: DocumentMeta) -> list[Chunk]:
    ch = Chunker(meta)
    for node in tree.children:
        ch.visit(node, ())
    if ch.carry:
        carry, ch.carry = ch.carry, []
        ch.emit((), carry)
    return ch.chunks()
