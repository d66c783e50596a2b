"""Domain vocabulary: provinces, agencies and abbreviations, with their short forms.

The vocabulary lives in data files (``ingest/data/provinces.json``, ``agencies.json``,
``abbreviations.json``, and ``units.json``: units of measure a question can ask an amount in);
files of the same names under ``<data_dir>/vocab/`` are merged over the packaged ones (an entry
with the same canonical name replaces the packaged entry).
:func:`load_vocab` takes that directory explicitly; the runtime calls :func:`use_data_dir`
once at start-up so that the module-level helpers (``find_provinces`` ...) see the user's
additions.

Shared by ingestion (tagging documents and chunks with province and agencies), the lexical
index (abbreviation expansion) and query understanding. Matching is done on folded text
(lower case, no diacritics), so a question typed without diacritics is recognised too.
Short forms of agency names made of initials ("Sở Kế hoạch và Đầu tư" -> "Sở KH&ĐT",
"Sở KHĐT", "Sở KH-ĐT") are derived by rule.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable
from importlib import resources
from pathlib import Path

from ingest.normalize import fold, nfc

_CONTEXT_BEFORE = re.compile(r"(?:tinh|thanh pho|tp\.?)\s*$")
_HEADS = ("Sở", "Bộ", "Ủy ban", "Ban", "Phòng", "Cục", "Chi cục", "Hội", "Liên minh", "Quỹ", "Ngân hàng",
          "Kho bạc", "Trung tâm", "Văn phòng", "Tổng cục", "Viện", "Thanh tra")


@dataclass(frozen=True)
class Province:
    name: str
    kind: str = "tỉnh"  # tỉnh | thành phố
    era: str = "both"  # both | old (until 2025-06-30) | new (from 2025-07-01)
    aliases: tuple[str, ...] = ()
    merged_into: str | None = None
    needs_context: bool = False
    blocked_before: tuple[str, ...] = ()
    blocked_after: tuple[str, ...] = ()


@dataclass(frozen=True)
class Agency:
    name: str
    scope: str = "local"
    aliases: tuple[str, ...] = ()
    successor: str | None = None


@dataclass(frozen=True)
class _Pattern:
    canonical: str
    regex: re.Pattern[str]
    ambiguous: frozenset[str] = frozenset()
    blocked_before: tuple[str, ...] = ()
    blocked_after: tuple[str, ...] = ()


@dataclass(frozen=True)
class Vocab:
    provinces: dict[str, Province]
    agencies: dict[str, Agency]
    abbreviations: dict[str, str]
    province_aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    agency_aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _province_patterns: tuple[_Pattern, ...] = ()
    _agency_patterns: tuple[_Pattern, ...] = ()
    # units.json: {"ask_words": [...], "number_words": [...], "units": {kind: {...}}}
    units: dict = field(default_factory=dict)
    merged_on: str = ""  # the day the 2025 merger took effect (provinces.json), ISO
    units_json: str = ""  # ``units`` as sorted JSON: the key the compiled amount grammars are cached by

    # --- provinces ---------------------------------------------------------------------
    def find_provinces(self, text: str) -> list[str]:
        text = nfc(text or "")
        folded = fold(text)
        aligned = len(folded) == len(text)
        found: list[tuple[int, str]] = []
        for p in self._province_patterns:
            for m in p.regex.finditer(folded):
                if m.group(0) in p.ambiguous and not _context_ok(p, folded, text if aligned else None, m):
                    continue
                found.append((m.start(), p.canonical))
                break
        return [name for _, name in sorted(found)]

    def count_provinces(self, text: str) -> dict[str, tuple[int, int]]:
        """Province -> (mentions, mentions written "tỉnh X" / "thành phố X") in ``text``."""
        text = nfc(text or "")
        folded = fold(text)
        aligned = len(folded) == len(text)
        out: dict[str, tuple[int, int]] = {}
        for p in self._province_patterns:
            n = n_ctx = 0
            for m in p.regex.finditer(folded):
                ctx = bool(_CONTEXT_BEFORE.search(folded[max(0, m.start() - 12):m.start()].rstrip())) or m.group(0).startswith(("tinh ", "thanh pho "))
                if m.group(0) in p.ambiguous and not ctx and not _context_ok(p, folded, text if aligned else None, m):
                    continue
                n += 1
                n_ctx += ctx
            if n:
                out[p.canonical] = (n, n_ctx)
        return out

    def canonical_province(self, name: str) -> str | None:
        if name in self.provinces:
            return name
        key = fold(name or "").strip()
        for canonical, aliases in self.province_aliases.items():
            if key in {fold(a) for a in (canonical, *aliases)}:
                return canonical
        found = self.find_provinces(name or "")
        return found[0] if found else None

    def merged_into(self, name: str) -> str | None:
        c = self.canonical_province(name)
        return self.provinces[c].merged_into if c else None

    def merged_from(self, name: str) -> tuple[str, ...]:
        c = self.canonical_province(name)
        if not c:
            return ()
        return tuple(p.name for p in self.provinces.values() if p.merged_into == c)

    def related_provinces(self, name: str) -> tuple[str, ...]:
        c = self.canonical_province(name)
        if not c:
            return ()
        out = [c]
        if self.provinces[c].merged_into:
            out.append(self.provinces[c].merged_into)
        out += self.merged_from(c)
        return tuple(dict.fromkeys(out))

    # --- agencies ----------------------------------------------------------------------
    def find_agencies(self, text: str) -> list[str]:
        """Agencies named in ``text``, canonical, in order. "Sở" after "cơ" or "trụ" is part of
        another word ("cơ sở văn hóa, thể thao và du lịch" is a facility, "trụ sở" an office),
        told apart by the diacritics where the text has them."""
        text = nfc(text or "")
        folded = fold(text)
        # The national alliance is not the provincial one (whose short alias would match inside it).
        national: list[tuple[int, str]] = []
        for m in re.finditer(r"lien minh (?:htx|hop tac xa) viet nam", folded):
            national.append((m.start(), "Liên minh Hợp tác xã Việt Nam"))
        folded = re.sub(r"lien minh (?:htx|hop tac xa) viet nam", lambda m: " " * len(m.group(0)), folded)
        # Every mention of every alias; a mention inside a longer one ("Chính phủ" inside
        # "Thủ tướng Chính phủ") does not count.
        spans: list[tuple[int, int, str]] = []
        for p in self._agency_patterns:
            spans += [(m.start(), m.end(), p.canonical) for m in p.regex.finditer(folded)
                      if not (folded.startswith("so ", m.start()) and len(folded) == len(text)
                              and _COMPOUND_SO.search(text[max(0, m.start() - 6):m.start()]))]
        spans.sort(key=lambda x: (-(x[1] - x[0]), x[0]))
        kept: list[tuple[int, int, str]] = []
        for a, b, name in spans:
            if not any(a >= ka and b <= kb and name != kn for ka, kb, kn in kept):
                kept.append((a, b, name))
        found: list[tuple[int, str]] = [(a, name) for a, _, name in kept]
        if national and "Liên minh Hợp tác xã Việt Nam" in self.agencies:
            found += national[:1]
        return list(dict.fromkeys(name for _, name in sorted(found)))

    def is_national(self, agency: str) -> bool:
        a = self.agencies.get(agency)
        return bool(a and a.scope == "national")

    def successor(self, agency: str) -> str | None:
        a = self.agencies.get(agency)
        return a.successor if a else None

    def related_agencies(self, agency: str) -> tuple[str, ...]:
        """The agency, what it became in 2025, and the agencies that became it."""
        if agency not in self.agencies:
            return (agency,)
        out = [agency]
        if self.agencies[agency].successor:
            out.append(self.agencies[agency].successor)
        out += [a.name for a in self.agencies.values() if a.successor == agency]
        return tuple(dict.fromkeys(out))


def _context_ok(p: _Pattern, folded: str, original: str | None, m: re.Match[str]) -> bool:
    before = folded[max(0, m.start() - 40):m.start()].rstrip()
    after = folded[m.end():m.end() + 20].lstrip()
    if _CONTEXT_BEFORE.search(before + " " if not before else before):
        return True
    if any(re.search(rf"(?<!\w){re.escape(b)}$", before) for b in p.blocked_before):
        return False
    if any(re.match(rf"{re.escape(b)}(?!\w)", after) for b in p.blocked_after):
        return False
    if original is None:
        return False
    # Written as a proper name: every word capitalised ("Hòa Bình", not "hòa bình").
    words = original[m.start():m.end()].split()
    return bool(words) and all(w[:1].isupper() for w in words)


# "cơ sở", "trụ sở": "sở" as part of another word, not the department ("Sở ...")
_COMPOUND_SO = re.compile(r"(?i)(?<!\w)(?:cơ|trụ)\s+$")
_DISCOVER_HEAD = re.compile(r"(?<!\w)(Chi cục|Tổng cục|Ủy ban|Ngân hàng|Kho bạc|Liên minh|Trung tâm|Văn phòng|Thanh tra|Sở|Bộ|Ban|Phòng|Cục|Hội|Quỹ|Viện)\s+(?=[A-ZÀ-ỸĐ])")
_TOKEN = re.compile(r"[^\W\d_][\w&]*|[-–,]")
# Words that end an agency's name in running text ("Bộ Tài chính chủ trì ...").
_NAME_STOP = frozenset(
    "chủ phối có là được thực hướng tổ quy theo trong các của tại để về với cho thuộc phải tham chịu báo kiểm "
    "trình xây đề ký thẩm cấp tỉnh huyện thành trung ương ban hành quản lý giao căn cứ nơi này đó khi nếu "
    "đã sẽ đang đến từ trước sau gửi tiếp nhận".split())


def discover_agencies(text: str) -> list[str]:
    """Agencies named in ``text`` by rule: a head noun (Sở, Bộ, Ủy ban, Ban, Phòng, Cục, Chi
    cục, Hội, Liên minh, Quỹ, Ngân hàng, Kho bạc ...) and a capitalised name ("Bộ Tư pháp",
    "Sở Nông nghiệp và Phát triển nông thôn"). Names the vocabulary knows come back canonical
    (so "Sở KH&ĐT" and "Sở Kế hoạch và Đầu tư" are one entity); others as written."""
    out: list[str] = []
    for m in _DISCOVER_HEAD.finditer(text or ""):
        tokens = [t for t in _TOKEN.finditer(text, m.end(), min(len(text), m.end() + 120))]
        words: list[str] = []
        lower_run = 0
        end = m.end()
        for i, t in enumerate(tokens):
            w = t.group(0)
            if t.start() > end + 1:  # only single spaces inside a name
                break
            nxt = tokens[i + 1].group(0) if i + 1 < len(tokens) else ""
            if w in ("-", "–", ",") or w == "và":
                if not nxt[:1].isupper() or _DISCOVER_HEAD.match(text, tokens[i + 1].start()):
                    break
                words.append(w)
            elif w[:1].isupper():
                words.append(w)
                lower_run = 0
            elif w.lower() not in _NAME_STOP and lower_run < 3 and words:
                words.append(w)
                lower_run += 1
            else:
                break
            end = t.end()
        while words and (words[-1] in ("-", "–", ",", "và")):
            words.pop()
        if not words:
            continue
        name = m.group(1) + " " + " ".join(words).replace(" , ", ", ").replace(" ,", ",")
        v = vocab()
        key = fold(name)
        known = [c for c in v.find_agencies(name) if key in {fold(a) for a in v.agency_aliases.get(c, ())}]
        out.append(known[0] if known else name)
    return list(dict.fromkeys(out))


def initials(words: str) -> str:
    """'Kế hoạch' -> 'KH', 'Phát triển nông thôn' -> 'PTNT'."""
    return "".join(w[0].upper() for w in re.findall(r"\w+", words))


def short_forms(name: str) -> tuple[str, ...]:
    """Rule-derived short forms of an agency name: 'Sở Kế hoạch và Đầu tư' -> 'Sở KH&ĐT',
    'Sở KHĐT', 'Sở KH-ĐT'; 'Sở Lao động - Thương binh và Xã hội' -> 'Sở LĐ-TB&XH', 'Sở LĐTBXH';
    'Sở Văn hóa, Thể thao và Du lịch' -> 'Sở VH-TT&DL', 'Sở VH,TT&DL', 'Sở VHTTDL'."""
    head = next((h for h in sorted(_HEADS, key=len, reverse=True) if name.startswith(h + " ")), None)
    if head is None:
        return ()
    rest = re.sub(r"\s+(?:tỉnh|thành phố)$", "", name[len(head) + 1:])
    parts = re.split(r"(\s+và\s+|\s*[-–]\s*|,\s*)", rest)
    groups = parts[0::2]
    seps = parts[1::2]
    if len(groups) < 2 or any(len(re.findall(r"\w+", g)) > 4 for g in groups):
        return ()
    inits = [initials(g) for g in groups]
    if any(len(i) < 1 for i in inits):
        return ()
    # each separator as users write it: "và" as "&" or nothing, a dash as "-" or nothing, a
    # comma as nothing, "-" or "," ("Sở VH-TT&DL", "Sở VH,TT&DL", "Sở VHTT&DL")
    options = [("&", "") if "và" in s else ("-", "") if s.strip() in "-–" and s.strip() else ("", "-", ",")
               for s in seps]
    forms = {"".join(inits), "-".join(inits), "&".join(inits)}
    for choice in itertools.product(*options):
        forms.add(inits[0] + "".join(c + i for c, i in zip(choice, inits[1:])))
    out = [f"{head} {f}" for f in sorted(forms)]
    if head == "Sở":
        out.append("S" + "".join(inits))
    return tuple(out)


def _compile(table: dict[str, tuple[str, ...]], meta: dict[str, Province] | None = None) -> tuple[_Pattern, ...]:
    patterns: list[_Pattern] = []
    for canonical, aliases in table.items():
        forms = sorted({fold(a) for a in (canonical, *aliases)}, key=len, reverse=True)
        body = "|".join(re.escape(f) for f in forms)
        p = meta.get(canonical) if meta else None
        ambiguous: frozenset[str] = frozenset()
        if p is not None and p.needs_context:
            ambiguous = frozenset(f for f in forms if f == fold(canonical) or len(f) <= 4)
        patterns.append(_Pattern(
            canonical, re.compile(rf"(?<![\w&])(?:{body})(?![\w&])"), ambiguous,
            tuple(fold(b) for b in (p.blocked_before if p else ())),
            tuple(fold(b) for b in (p.blocked_after if p else ())),
        ))
    return tuple(patterns)


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _packaged(name: str) -> dict:
    return json.loads(resources.files("ingest").joinpath("data", name).read_text(encoding="utf-8"))


def _merged(name: str, key: str, data_dir: Path | None) -> list | dict:
    base = _packaged(name)[key]
    if data_dir is not None:
        user = Path(data_dir) / "vocab" / name
        if user.is_file():
            extra = _read_json(user).get(key, [] if isinstance(base, list) else {})
            if isinstance(base, dict):
                base = {**base, **extra}
            else:
                names = {e["name"] for e in extra}
                base = [e for e in base if e["name"] not in names] + list(extra)
    return base


@lru_cache(maxsize=8)
def load_vocab(data_dir: Path | None = None) -> Vocab:
    """The packaged vocabulary, with ``<data_dir>/vocab/*.json`` merged over it."""
    data_dir = Path(data_dir) if data_dir is not None else None
    provinces = {}
    for e in _merged("provinces.json", "provinces", data_dir):
        provinces[e["name"]] = Province(
            name=e["name"], kind=e.get("kind", "tỉnh"), era=e.get("era", "both"),
            aliases=tuple(e.get("aliases", ())), merged_into=e.get("merged_into"),
            needs_context=bool(e.get("needs_context", False)),
            blocked_before=tuple(e.get("blocked_before", ())), blocked_after=tuple(e.get("blocked_after", ())),
        )
    agencies = {}
    for e in _merged("agencies.json", "agencies", data_dir):
        agencies[e["name"]] = Agency(name=e["name"], scope=e.get("scope", "local"),
                                     aliases=tuple(e.get("aliases", ())), successor=e.get("successor"))
    abbreviations = dict(_merged("abbreviations.json", "abbreviations", data_dir))
    province_aliases = {
        p.name: tuple(dict.fromkeys((p.name, *p.aliases) + tuple(
            f"{pre} {a}" for a in (p.name, *p.aliases) for pre in ("tỉnh", "thành phố", "TP", "TP."))))
        for p in provinces.values()
    }
    names = [n for p in provinces.values() for n in (p.name, *p.aliases)]
    agency_aliases: dict[str, tuple[str, ...]] = {}
    for a in agencies.values():
        forms: list[str] = [a.name]
        for al in a.aliases:
            forms += [al.replace("{province}", n) for n in names] if "{province}" in al else [al]
        for f in (a.name, *[x for x in a.aliases if "{" not in x]):
            forms += short_forms(f)
        agency_aliases[a.name] = tuple(dict.fromkeys(forms))
    # A short form derived for one agency must not be claimed by another (keep the first).
    owner: dict[str, str] = {}
    for canonical, forms in agency_aliases.items():
        for f in forms:
            owner.setdefault(fold(f), canonical)
    agency_aliases = {c: tuple(f for f in forms if owner[fold(f)] == c) for c, forms in agency_aliases.items()}
    # the grammar (ask words, number words, counts, bounds ...) is packaged; kinds can be added
    grammar = _packaged("units.json")
    units = {**{k: v for k, v in grammar.items() if k not in ("_comment", "units")},
             "units": dict(_merged("units.json", "units", data_dir))}
    return Vocab(
        provinces=provinces, agencies=agencies, abbreviations=abbreviations, units=units,
        merged_on=str(_packaged("provinces.json").get("merged_on") or ""),
        units_json=json.dumps(units, ensure_ascii=False, sort_keys=True),
        province_aliases=province_aliases, agency_aliases=agency_aliases,
        _province_patterns=_compile(province_aliases, provinces),
        _agency_patterns=_compile(agency_aliases),
    )


_active: list[Vocab] = [load_vocab(None)]


def use_data_dir(data_dir: Path | str | None) -> Vocab:
    """Make ``<data_dir>/vocab/*.json`` part of the vocabulary the helpers below use
    (called once at start-up by the runtime)."""
    _active[0] = load_vocab(Path(data_dir) if data_dir is not None else None)
    return _active[0]


def vocab() -> Vocab:
    return _active[0]


# Compatibility views of the packaged vocabulary: canonical name -> spellings.
PROVINCES: dict[str, tuple[str, ...]] = {p.name: (p.name, *p.aliases) for p in _active[0].provinces.values()}
AGENCIES: dict[str, tuple[str, ...]] = dict(_active[0].agency_aliases)
ABBREVIATIONS: dict[str, str] = dict(_active[0].abbreviations)


def find_provinces(text: str) -> list[str]:
    """Canonical province names mentioned in ``text``, in order of first mention."""
    return vocab().find_provinces(text)


def find_agencies(text: str) -> list[str]:
    """Canonical agency names mentioned in ``text``, in order of first mention."""
    return vocab().find_agencies(text)


def canonical_province(name: str) -> str | None:
    return vocab().canonical_province(name)


def merged_into(name: str) -> str | None:
    """The post-2025 province an old one became part of; None when unchanged or unknown."""
    return vocab().merged_into(name)


def merged_from(name: str) -> tuple[str, ...]:
    """The old provinces merged into a post-2025 one (itself excluded)."""
    return vocab().merged_from(name)


def related_provinces(name: str) -> tuple[str, ...]:
    """The province itself, what it merged into, and what merged into it."""
    return vocab().related_provinces(name)


def covers(asked: str, province: str, dates: Iterable[str | None]) -> bool:
    """Documents of ``province`` (issued on ``dates``) cover the province ``asked`` about: always
    when it is that province or one that merged into it (their documents covered part of it);
    for the province an old one merged into, only a document issued from the merger on: Khánh
    Hòa's plan of 2021 covered none of Ninh Thuận."""
    v = vocab()
    if province == v.canonical_province(asked) or v.merged_into(asked) != province:
        return True
    return bool(v.merged_on) and any(d and d >= v.merged_on for d in dates)


def related_agencies(name: str) -> tuple[str, ...]:
    return vocab().related_agencies(name)


def is_national_agency(name: str) -> bool:
    """Quốc hội, Chính phủ, the ministries, Liên minh HTX Việt Nam ..."""
    return vocab().is_national(name)


def agency_successor(name: str) -> str | None:
    """What an agency became in the 2025 reorganisation (None when unchanged)."""
    return vocab().successor(name)


CORPUS_PROVINCES = ("Lâm Đồng", "Khánh Hòa", "Đắk Nông", "Kiên Giang", "Tây Ninh")
