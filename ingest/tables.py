"""Task tables ("phân công nhiệm vụ") -> one record per task row, with its group heading.

Two text layouts are recognised, both starting at a header row whose cells name known columns:
- tab-separated rows, one row per line (Khánh Hòa appendix; also how Word tables are loaded):
  ``S T T<TAB>Nhiệm vụ, giải pháp<TAB>Cơ quan chủ trì<TAB>...``
- one cell per line, each line starting with a tab, rows separated by blank lines (Đắk Nông
  appendix): ``<TAB>Stt`` / ``<TAB>Nhiệm vụ`` / ``<TAB>Chủ trì tham mưu`` / ...
Group rows (a Roman numeral and a title, other cells empty) set the group of the rows after
them; repeated header rows are skipped; a table may end mid-way (missing cells are "").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.lines import Line
from ingest.normalize import fold

KEYS = ("stt", "group", "task", "lead", "partners", "product", "time", "notes")
LABELS = {
    "task": "Nhiệm vụ",
    "lead": "Cơ quan chủ trì",
    "partners": "Cơ quan phối hợp",
    "product": "Sản phẩm",
    "time": "Thời gian",
    "notes": "Ghi chú",
}
_ROMAN = re.compile(r"^(?=[IVXL])X{0,3}(?:IX|IV|V?I{0,3})\.?$")


def column_key(header_cell: str) -> str | None:
    """Canonical key of a header cell ("Cơ quan chủ trì" -> "lead"), None if unknown."""
    f = fold(header_cell).strip().rstrip(":")
    compact = f.replace(" ", "").replace(".", "")
    if compact in ("stt", "tt", "sott", "so"):
        return "stt"
    if "ghi chu" in f:
        return "notes"
    if "thoi gian" in f or "thoi han" in f or "tien do" in f:
        return "time"
    if "san pham" in f or "ket qua" in f:
        return "product"
    if "phoi hop" in f:
        return "partners"
    if "chu tri" in f or "thuc hien" == f or "don vi thuc hien" in f or "co quan thuc hien" in f:
        return "lead"
    if "nhiem vu" in f or "noi dung" in f or "giai phap" in f or "cong viec" in f:
        return "task"
    return None


def header_keys(cells: list[str]) -> list[str | None] | None:
    keys = [column_key(c) for c in cells]
    known = [k for k in keys if k]
    if len(known) >= 3 and "task" in known and len(set(known)) == len(known):
        return keys
    return None


@dataclass
class TableRow:
    record: dict[str, str]  # canonical keys (KEYS), missing = ""
    display: dict[str, str]  # same cells, NFC only
    group_no: str = ""
    group_display: str = ""

    def render(self, display: bool = False) -> str:
        rec = self.display if display else self.record
        parts = [f"{LABELS[k]}: {rec[k]}" for k in ("task", "lead", "partners", "product", "time", "notes") if rec.get(k)]
        return "\n".join(parts)


@dataclass
class Table:
    header: list[str]
    keys: list[str | None]
    rows: list[TableRow] = field(default_factory=list)


def _record(keys: list[str | None], header: list[str], cells: list[str]) -> dict[str, str]:
    rec = {k: "" for k in KEYS}
    extra: list[str] = []
    for i, cell in enumerate(cells):
        cell = cell.strip()
        if not cell:
            continue
        key = keys[i] if i < len(keys) else None
        if key and not rec[key]:
            rec[key] = cell
        else:
            name = header[i].strip() if i < len(header) else ""
            extra.append(f"{name}: {cell}" if name else cell)
    if extra:
        rec["notes"] = "; ".join([rec["notes"], *extra] if rec["notes"] else extra)
    return rec


class _Builder:
    def __init__(self, header: list[Line]):
        self.header_text = [c.text for c in header]
        self.keys = header_keys(self.header_text) or []
        self.table = Table(self.header_text, self.keys)
        self.group_no = ""
        self.group = ""
        self.group_display = ""

    def add(self, cells: list[Line]) -> None:
        texts = [c.text.strip() for c in cells]
        if not any(texts):
            return
        if header_keys(texts) == self.keys:
            return  # repeated header row (new page)
        rec = _record(self.keys, self.header_text, texts)
        disp = _record(self.keys, self.header_text, [c.display.strip() for c in cells])
        others = [v for k, v in rec.items() if k not in ("stt", "task") and v]
        if _ROMAN.match(rec["stt"]) and rec["task"] and not others:
            self.group_no = rec["stt"].rstrip(".")
            self.group, self.group_display = rec["task"], disp["task"]
            return
        rec["group"], disp["group"] = self.group, self.group_display
        self.table.rows.append(TableRow(rec, disp, self.group_no, self.group_display))


def _split_cells(line: Line) -> list[Line]:
    t, d = line.text.split("\t"), line.display.split("\t")
    if len(d) != len(t):
        d = t
    return [Line(a, b) for a, b in zip(t, d)]


def _single_cell(line: Line) -> Line | None:
    """The cell of a one-cell-per-line table line ("<TAB>text"), else None."""
    if not line.text.startswith("\t"):
        return None
    cells = _split_cells(line)
    if len(cells) != 2:
        return None
    return cells[1]


def extract_tables(lines: list[Line]) -> list[Line | Table]:
    """Replace each recognised table in ``lines`` by a Table item, keep other lines."""
    out: list[Line | Table] = []
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        # Layout A: a header row of tab-separated cells.
        if line.text.count("\t") >= 2 and header_keys([c.text for c in _split_cells(line)]):
            b = _Builder(_split_cells(line))
            i += 1
            while i < n:
                cur = lines[i]
                if cur.blank and "\t" not in cur.text:
                    i += 1
                    continue
                if "\t" not in cur.text:
                    break
                b.add(_split_cells(cur))
                i += 1
            out.append(b.table)
            continue
        # Layout B: consecutive one-cell lines forming a header.
        if _single_cell(line) is not None:
            j = i
            cells: list[Line] = []
            while j < n and _single_cell(lines[j]) is not None:
                cells.append(_single_cell(lines[j]))  # type: ignore[arg-type]
                j += 1
            if len(cells) >= 3 and header_keys([c.text for c in cells]):
                b = _Builder(cells)
                ncols = len(cells)
                i = j
                group: list[Line] = []
                while i < n:
                    cur = lines[i]
                    cell = _single_cell(cur)
                    if cell is not None:
                        group.append(cell)
                        i += 1
                        continue
                    if cur.blank:
                        _flush_group(b, group, ncols)
                        group = []
                        i += 1
                        continue
                    break
                _flush_group(b, group, ncols)
                out.append(b.table)
                continue
        out.append(_plain(line))
        i += 1
    return out


def _plain(line: Line) -> Line:
    """A tab-separated line that is not part of a task table: cells joined by " | "."""
    if "\t" not in line.text:
        return line
    cells = [c for c in _split_cells(line) if c.text.strip()]
    return Line(" | ".join(c.text.strip() for c in cells), " | ".join(c.display.strip() for c in cells))


def _flush_group(b: _Builder, group: list[Line], ncols: int) -> None:
    if not group:
        return
    # Several rows run together without a blank line: split where a row number starts.
    if len(group) > ncols and re.fullmatch(r"\d+", group[ncols].text.strip() or "x"):
        b.add(group[:ncols])
        _flush_group(b, group[ncols:], ncols)
        return
    b.add(group)
