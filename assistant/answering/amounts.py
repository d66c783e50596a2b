"""The amount a question asks for, and whether the passages read state one.

"… là bao nhiêu phần trăm?", "vay tối đa bao nhiêu tiền?", "thời hạn mấy năm?", "cách khu dân
cư tối thiểu bao nhiêu mét?", "bao lâu?": a question that asks for an amount in a unit of
measure (a percentage, money, a length, an area, a duration, an age) is answered only by a
passage that states a number in that unit. A question that asks for a value with a format of
its own ("cho xin số điện thoại", "số tài khoản", "email") is answered only by a passage that
holds a value in that format (``stated_patterns``: a phone number's digits, an address with
"@"). When none of the passages the answer layer read
(the chunk of every candidate unit: the top retrieved passages of each search and their
structural neighbours) states one, the documents do not give the figure, however much else
they say about the topic, and quoting the closest sentence would answer a different question.

This serves every document and every topic alike: what is matched is the grammar of asking for
an amount (an ask word, ``bao nhiêu`` / ``mấy`` / ``tối đa`` / ``tối thiểu``, followed by a
unit) and the way texts write amounts (digits or number words, then the unit). The ask words,
number words and units are vocabulary (``ingest/data/units.json``; a file of the same name under
``<data_dir>/vocab/`` adds kinds), not phrases of any question set.

A question that states an amount and asks to confirm it ("lãi suất là 3%/năm đúng không?",
"xác nhận giúp tôi: thời hạn 5 năm"; ``confirm_words`` in the vocabulary) asks for that kind of
amount too: when no passage read states one, the documents cannot confirm it.

A question that asks for several amounts ("lãi suất bao nhiêu %/năm, thời hạn tối đa mấy năm")
is refused only when none of them is stated; when some are, the answer says which are not.

A question that asks for a maximum or a minimum ("vay tối đa bao nhiêu tiền", "tối thiểu mấy
thành viên": ``bounds`` in the vocabulary) is not answered by an amount the passage marks as a
bound the other way: "tăng vốn Quỹ lên trên 20 tỷ đồng" states no maximum loan, "không quá 05
năm" no minimum term. An amount stated plainly, or as a bound the same way, answers it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Iterable, Sequence

from ingest.normalize import fold, nfc


@dataclass(frozen=True)
class AmountCheck:
    """The kinds of amount the question asks for, and those no passage read states."""

    asked: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()  # how answers name the missing kinds ("số tiền")
    # the unit that leaves the asked amount to another instrument ("Nhiệm kỳ của Tổng Kiểm toán
    # nhà nước do luật định."), when it is what the question is about (``delegated``)
    delegated: str = ""

    @property
    def none_stated(self) -> bool:
        return bool(self.asked) and len(self.missing) == len(self.asked)


@dataclass(frozen=True)
class _Kind:
    name: str
    label: str
    asked: re.Pattern[str] | None  # on folded text
    stated: re.Pattern[str]
    named: re.Pattern[str] | None = None  # a quantity named then asked for, on lower-case text with diacritics
    nouns: re.Pattern[str] | None = None  # the nouns that name a quantity of this kind, anywhere
    confirm: re.Pattern[str] | None = None  # asking whether a stated amount holds ("đúng không")
    on_expanded: bool = False  # ``stated`` reads lower-case text with abbreviations expanded (counts)
    # a count of a compound noun ("HTX thành viên"): the compound as the passages write it, and
    # its count; used in place of ``stated`` when a passage read holds the compound
    compound: tuple[re.Pattern[str], re.Pattern[str]] | None = None
    # what in a question qualifies the thing whose amount is asked ("báo cáo 6 tháng": which
    # report), on folded text; the amount is stated only where the same qualifier is
    qualifier: re.Pattern[str] | None = None
    # for a kind whose units are not interchangeable in an answer ("same_unit": "bao nhiêu ngày"
    # is not answered by "05 năm"): each asked unit (folded) as the question names it after an ask
    # word, and the amount stated in that unit
    by_unit: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = ()
    # what, right before a match, makes it no amount of this kind (a document's number before its
    # date: "Kế hoạch số 87/KH-UBND, ngày 21/9/2012" dates the plan, it sets no deadline)
    not_after: re.Pattern[str] | None = None
    # words of a document's own event right before a match ("thông qua ngày 19 tháng 11 năm
    # 2018"): such an amount answers only a question that names the event (``events``)
    events: re.Pattern[str] | None = None
    event_words: tuple[str, ...] = ()  # those words, folded
    # a line that opens with a place and a comma ("Kiên Giang, ngày 12 tháng 7 năm 2018"): the
    # document's own place and date, an event of the document too (``dateline`` in the vocabulary)
    dateline: re.Pattern[str] | None = None
    # a duration right after the words of a recurrence ("định kỳ 6 tháng", "hằng 3 năm"): a
    # period, not a time limit; it answers only a question that asks how often (``periods``)
    periods: re.Pattern[str] | None = None
    period_asked: re.Pattern[str] | None = None  # on folded text: "một lần", "định kỳ"
    period_stated: re.Pattern[str] | None = None  # a recurrence in words, which answers how often: "hằng năm"
    # what opens the title of a cited document ("về việc", "phê duyệt"): a number after it, in the
    # same clause, is part of the title ("Đề án phát triển 15.000 hợp tác xã"), not a count
    titles: re.Pattern[str] | None = None
    # a duration right before the work it spans ("sau 5 năm thực hiện Luật", "sơ kết 05 năm thi
    # hành"): how long something has run, which answers only a question about such a review
    # (``reviews``: "after" words, and the words by which a question asks about the review)
    review_after: re.Pattern[str] | None = None
    review_asked: re.Pattern[str] | None = None
    # the nouns by which a comparison names a quantity of this kind ("hạn" of a date, "vốn" of
    # money; ``nouns`` and ``compared`` in the vocabulary), on lower-case text with diacritics
    compared: re.Pattern[str] | None = None
    # the ask word and a unit that, folded, spells another word ("bao nhiêu ký": "mấy kỳ" is no
    # weight), on lower-case text with diacritics (``asked_written`` in the vocabulary)
    asked_written: re.Pattern[str] | None = None

    def asks_by_unit(self, folded: str, lower: str) -> bool:
        """Whether a text (``folded``, and ``lower``: lower-case with diacritics) asks for this kind
        by an ask word and its unit: on folded text, or as written for the units that fold into
        other words (``asked_written``)."""
        return bool((self.asked is not None and self.asked.search(folded))
                    or (self.asked_written is not None and self.asked_written.search(lower)))


def _alternatives(words: Iterable[str], folded: bool = False) -> str:
    forms = {fold(w) if folded else w.lower() for w in words}
    return "|".join(re.escape(w) for w in sorted(forms, key=len, reverse=True))


@lru_cache(maxsize=8)
def _kinds(units_json: str) -> tuple[_Kind, ...]:
    """The compiled kinds of one vocabulary (cached by its JSON text: read-only, per vocabulary)."""
    return tuple(_compile(json.loads(units_json)))


def _compile(units: dict) -> list[_Kind]:
    ask = _alternatives(units.get("ask_words", ()), folded=True)
    interrogative = _alternatives(units.get("interrogatives", ()))
    confirm_words = _alternatives(units.get("confirm_words", ()), folded=True)
    confirm = re.compile(rf"(?<!\w)(?:{confirm_words})(?!\w)") if confirm_words else None
    number_words = _alternatives(units.get("number_words", ()))
    # "20", "1.000.000", "8-10", "3 - 5", "từ 16 đến 30", or number words ("mười hai", "ba mươi")
    number = (rf"(?:\d+(?:[.,]\d+)*(?:\s*(?:-|–|đến)\s*\d+(?:[.,]\d+)*)?"
              rf"|(?:(?:{number_words})\s+){{0,4}}(?:{number_words}))" if number_words else r"\d+(?:[.,]\d+)*")
    out = []
    # what may follow an ask word that names no noun ("vay tối đa bao nhiêu từ Quỹ?", "… 1 lần")
    followers = _alternatives([*(units.get("count") or {}).get("not_nouns", ()), "1", "một"], folded=True)
    ask_written = _alternatives(units.get("ask_words", ()))  # the ask words as written, for ``asked_written``
    for name, spec in (units.get("units") or {}).items():
        # questions are matched without diacritics: users often type none ("so dien thoai")
        asked_units = _alternatives(spec.get("asked", ()), folded=True)
        alone = _alternatives(spec.get("asked_alone", ()), folded=True)
        parts = [rf"(?<!\w)(?:{ask})\s+(?:{asked_units})(?![\w²])"] if asked_units and ask else []
        # units that, folded, spell another word ("ký" and "kỳ", "cân" and "cần"): matched as written
        written_units = _alternatives(spec.get("asked_written", ()))
        written = (re.compile(rf"(?<!\w)(?:{ask_written})\s+(?:{written_units})(?![\w²])")
                   if written_units and ask_written else None)
        if alone:
            parts.append(rf"(?<!\w)(?:{alone})(?!\w)")
        # "được vay tối đa bao nhiêu?", "phải nộp bao nhiêu?": a verb whose object is this kind
        # of amount, then the ask word with no noun after it ("nộp bao nhiêu hồ sơ" counts files)
        verbs = _alternatives(spec.get("asked_after", ()), folded=True)
        if verbs and ask:
            parts.append(rf"(?<!\w)(?:{verbs})\s+(?:(?:duoc|toi da|toi thieu|khoang|het|lai)\s+)*(?:bao nhieu|may)"
                         rf"(?!\w)(?=\s*(?:[?.,;:!\n]|$)|\s+(?:{followers})(?!\w))")
        stated = _alternatives(spec.get("stated", ()))
        forms = [rf"(?<!\w)(?:{number})\s*(?:{stated})(?![\w²])"] if stated else []
        forms += [f"(?:{p})" for p in spec.get("stated_patterns", ())]  # a value's own format: a phone number
        # "lãi suất cho vay của Quỹ là bao nhiêu?": a noun that names a quantity measured in this
        # unit, then an interrogative in the same clause. Matched with diacritics ("lương" is
        # not "lượng").
        nouns = _alternatives(spec.get("nouns", ()))
        named = (re.compile(rf"(?<!\w)(?P<noun>{nouns})(?!\w)[^,;?.!\n]*?(?<!\w)(?:{interrogative})(?!\w)")
                 if nouns and interrogative else None)
        if not (parts or named or written) or not forms:
            continue
        not_after = spec.get("not_after")
        event_words = tuple(spec.get("events", ()))
        events = _alternatives(event_words)
        out.append(_Kind(name, str(spec.get("label") or name), re.compile("|".join(parts)) if parts else None,
                         re.compile("|".join(forms)), named,
                         re.compile(rf"(?<!\w)(?P<noun>{nouns})(?!\w)") if nouns else None,
                         confirm if stated else None,  # confirming a measure, not a date or a phone number
                         not_after=re.compile(rf"(?:{not_after})$") if not_after else None,
                         events=re.compile(rf"(?<!\w)(?P<event>{events})\s*(?:vào\s+)?(?:ngày\s*(?:\d{{1,2}}\s*)?)?$")
                         if events else None,
                         event_words=tuple(fold(w) for w in event_words),
                         dateline=re.compile(rf"(?:{spec['dateline']})(?:ngày\s*(?:\d{{1,2}}\s*)?)?$")
                         if spec.get("dateline") else None,
                         **_periods(spec.get("periods") or {}), **_reviews(spec.get("reviews") or {}),
                         compared=_compared(spec),
                         qualifier=re.compile("|".join(f"(?:{q})" for q in spec["qualified_by"]))
                         if spec.get("qualified_by") else None,
                         by_unit=_by_unit(spec, ask, number) if spec.get("same_unit") else (),
                         asked_written=written))
    return out


def _by_unit(spec: dict, ask: str, number: str) -> tuple[tuple[re.Pattern[str], re.Pattern[str]], ...]:
    """Each unit of a kind whose units an answer may not swap: how a question asks for it ("mấy
    ngày", folded) and how a passage states it ("30 ngày")."""
    out = []
    for unit in dict.fromkeys(spec.get("asked", ())):
        if unit not in spec.get("stated", ()) or not ask:
            continue
        out.append((re.compile(rf"(?<!\w)(?:{ask})\s+{re.escape(fold(unit))}(?![\w²])"),
                    re.compile(rf"(?<!\w)(?:{number})\s*{re.escape(unit.lower())}(?![\w²])")))
    return tuple(out)


def _in_asked_unit(kind: _Kind, question: str) -> _Kind:
    """``kind`` stated only in the units the question asks it in ("bao nhiêu ngày": days), when
    its vocabulary says its units are not interchangeable and the question names some."""
    if not kind.by_unit:
        return kind
    folded = fold(question or "")
    forms = [stated for asked, stated in kind.by_unit if asked.search(folded)]
    if not forms:
        return kind
    return replace(kind, stated=re.compile("|".join(f"(?:{f.pattern})" for f in forms)))


def _compared(spec: dict) -> re.Pattern[str] | None:
    words = _alternatives([*spec.get("nouns", ()), *spec.get("compared", ())])
    return re.compile(rf"(?<!\w)(?:{words})(?!\w)") if words else None


@lru_cache(maxsize=8)
def _compare_cue(units_json: str) -> re.Pattern[str] | None:
    words = _alternatives(json.loads(units_json).get("compare_words", ()), folded=True)
    return re.compile(rf"(?<!\w)(?:{words})(?!\w)") if words else None


def _reviews(spec: dict) -> dict:
    """The compiled ``reviews`` of a kind: the work right after a duration that makes it the
    span of a review, and the words by which a question asks about one."""
    after, asked = _alternatives(spec.get("after", ())), _alternatives(spec.get("asked", ()), folded=True)
    if not (after and asked):
        return {}
    return {"review_after": re.compile(rf"^\s*(?:{after})(?!\w)"),
            "review_asked": re.compile(rf"(?<!\w)(?:{asked})(?!\w)")}


def _periods(spec: dict) -> dict:
    """The compiled ``periods`` of a kind: the marks of a recurrence before a number, and the
    words by which a question asks how often, and a recurrence written in words."""
    marks, asked = _alternatives(spec.get("marks", ())), _alternatives(spec.get("asked", ()), folded=True)
    if not (marks and asked):
        return {}
    stated = _alternatives(spec.get("stated", ()))
    return {"periods": re.compile(rf"(?<!\w)(?:{marks})[\s(]*$"),
            "period_asked": re.compile(rf"(?<!\w)(?:{asked})(?!\w)"),
            "period_stated": re.compile(rf"(?<!\w)(?:{stated})(?!\w)") if stated else None}


def _units_json() -> str:
    """The active vocabulary's units as JSON text: the key the compiled grammars are cached by."""
    from ingest.vocab import vocab

    v = vocab()
    return v.units_json


def _active_kinds() -> tuple[_Kind, ...]:
    return _kinds(_units_json())


@lru_cache(maxsize=8)
def _count_grammar(units_json: str) -> tuple[re.Pattern[str], frozenset, str] | None:
    """What asks for a count ("bao nhiêu" / "mấy" then a word, on lower-case text with
    diacritics: folded, "tâm" would read as "tám" and "năm" as a number), the words that are no
    counted noun there (units of the other kinds, number words, function words, nouns counted
    by listing), and the number pattern. A count asked after a verb that lists and opens the
    clause ("Có bao nhiêu trình độ …?", "Gồm mấy loại?": ``listed_after``) is marked: a list of
    the kinds answers it. After a subject the same verb asks a count ("toàn tỉnh có bao nhiêu
    HTX?")."""
    units = json.loads(units_json)
    spec = units.get("count") or {}
    if not spec:
        return None
    ask = _alternatives([w for w in units.get("ask_words", ()) if fold(w) in ("bao nhieu", "may")])
    if not ask:
        return None
    skip = {w.lower() for w in (*spec.get("not_counted", ()), *spec.get("not_nouns", ()), *units.get("number_words", ()))}
    for kind in (units.get("units") or {}).values():
        skip.update(w.lower() for w in (*kind.get("asked", ()), *kind.get("asked_written", ()), *kind.get("asked_alone", ())))
    words = _alternatives(units.get("number_words", ()))
    number = rf"(?:\d+(?:[.,]\d+)*|(?:(?:{words})\s+){{0,4}}(?:{words}))" if words else r"\d+(?:[.,]\d+)*"
    listed = _alternatives(spec.get("listed_after", ()))
    # within one line: the question's forms are one per line (``question_forms``)
    # the verb opens its clause, with no subject before it ("Có bao nhiêu trình độ …?"); after a
    # subject it counts ("toàn tỉnh có bao nhiêu HTX?")
    before = rf"(?P<listed>(?:^|(?<=[.?!;:,\n])[ \t]*)(?:{listed})[ \t]+)?" if listed else ""
    return re.compile(rf"{before}(?<!\w)(?:{ask})[ \t]+(?P<noun>\w+(?:[ \t]+\w+)?)"), frozenset(skip), number


@dataclass(frozen=True)
class _Bound:
    """A bound the question asks for, and how passages mark an amount as the opposite bound."""

    name: str  # upper | lower
    label: str  # how answers name it ("tối đa")
    asked: re.Pattern[str]  # on folded text
    against_before: re.Pattern[str] | None  # the opposite marks, ending the text before a number
    against_after: re.Pattern[str] | None  # the opposite marks, starting the text after the unit


@lru_cache(maxsize=8)
def _bounds(units_json: str) -> tuple[_Bound, ...]:
    spec = json.loads(units_json).get("bounds") or {}
    sides = {k: v for k, v in spec.items() if isinstance(v, dict) and v.get("asked")}
    out = []
    for name, side in sides.items():
        other = next((v for k, v in sides.items() if k != name), {})
        before = _alternatives(other.get("marks", ()))
        after = _alternatives(other.get("marks_after", ()))
        out.append(_Bound(name, str(side.get("label") or ""), re.compile(rf"(?<!\w)(?:{_alternatives(side['asked'], folded=True)})(?!\w)"),
                          re.compile(rf"(?<!\w)(?:{before})\s*$") if before else None,
                          re.compile(rf"^\s*(?:{after})(?!\w)") if after else None))
    return tuple(out)


def _bound_asked(question: str) -> _Bound | None:
    """The one bound the question asks for ("tối đa" or "tối thiểu"), or None (neither, or both)."""
    folded = fold(question or "")
    found = [b for b in _bounds(_units_json()) if b.asked.search(folded)]
    return found[0] if len(found) == 1 else None


# "số HTX có sản phẩm OCOP là bao nhiêu?": "số" (or "số lượng") and the counted noun, then the
# ask word ending the clause; not after "tỷ lệ" / "phần trăm" (a share of them is asked), nor
# "con số" / "chữ số" (a figure, a digit: "tự đặt ra một con số hợp lý: lãi suất … bao nhiêu?")
_COUNT_BY_NUMBER = re.compile(r"(?<!\w)(?<!con )(?<!chữ )số(?:[ \t]+lượng)?[ \t]+(?P<noun>\w+(?:[ \t]+\w+)?)[^,;:?.!\n]{0,60}?"
                              r"(?<!\w)(?:bao nhiêu|mấy)[ \t]*(?:[?.!]|$)", re.M)
_SHARE_BEFORE = re.compile(r"(?:tỷ lệ|tỉ lệ|phần trăm|%)[ \t]*$")


def _few_in_yes_no(text: str, m: re.Match, yes_no: set[str]) -> bool:
    """"mấy" before a noun in a clause that asks yes or no ("Em với mấy bạn góp vốn thì có cần
    đăng ký HTX không?") means "a few": the clause ends with a yes/no particle (the vocabulary's
    ``yes_no`` of the count) and "?". In a clause of its own it still asks ("Tổ hợp tác cần mấy
    thành viên, có cần chứng thực không?"); "bao nhiêu" is left asking too ("được vay bao nhiêu
    không?" wants the amount)."""
    if not m.group(0).startswith("mấy"):
        return False
    end = re.search(r"[,;:.?!\n]", text[m.end():])
    if end is None or end.group(0) != "?":
        return False
    words = re.findall(r"\w+", text[m.end():m.end() + end.start()])
    return bool(words) and words[-1] in yes_no


_PLURAL_TAIL = 3  # words after "mấy <noun>" in its clause that make it a noun phrase, not a question


def _plural_before_another_ask(text: str, m: re.Match, others: str, yes_no: set[str]) -> bool:
    """"mấy" as the plural of speech ("ai lo trả lương cho mấy bạn trẻ có bằng đại học?", "hay
    chỉ toàn mấy cô chú lớn tuổi thôi ạ?"): the noun after it goes on in its clause (a modifier
    or a predicate of at least ``_PLURAL_TAIL`` words) and the sentence asks with another word
    (the count's ``other_asks``: "ai", "gì", "ở đâu"; or a yes/no particle closing a clause). A
    "mấy <noun>" that ends its clause asks, whatever else the sentence asks ("báo cáo gửi cho
    những ai, mấy kỳ?", "cần mấy thành viên, có cần chứng thực không?")."""
    if not m.group(0).startswith("mấy") or not others:
        return False
    tail = re.split(r"(?<!\w)(?:và|còn)(?!\w)", re.match(r"[^,;:.?!\n]*", text[m.end():]).group(0))[0]
    if len(re.findall(r"\w+", tail)) < _PLURAL_TAIL:
        return False
    start = max((c.end() for c in re.finditer(r"[.?!\n]", text[:m.start()])), default=0)
    end = re.search(r"[.?!\n]|$", text[m.end():])
    sentence = text[start:m.start()] + " " + text[m.end():m.end() + end.start()]
    if re.search(rf"(?<!\w)(?:{others})(?!\w)", sentence):
        return True
    clauses = [re.findall(r"\w+", c) for c in re.split(r"[,;:]", sentence)]
    return any(words and words[-1] in yes_no for words in clauses)


def _count_kind(question: str) -> _Kind | None:
    """"Lâm Đồng đặt mục tiêu bao nhiêu HTX?", "số HTX có sản phẩm OCOP là bao nhiêu?": a count
    of the noun after the ask word (or after "số"), stated as a number right before that noun
    ("300 HTX", "ba trăm hợp tác xã": an abbreviation matches its expansion). A number in the
    title of a document the passage cites ("… về việc phê duyệt Đề án phát triển 15.000 hợp tác
    xã": ``titles``) counts nothing of the question's."""
    from index.text import expand_abbreviations
    from ingest.vocab import vocab

    units = vocab().units
    grammar = _count_grammar(_units_json())
    if grammar is None:
        return None
    asks, skip, number = grammar
    spec = units.get("count") or {}
    text = nfc(question or "").lower()
    demonstratives = {w.lower() for w in spec.get("demonstratives", ())}
    which = {w.lower() for w in spec.get("which", ())}
    yes_no = {w.lower() for w in spec.get("yes_no", ())}
    others = _alternatives(spec.get("other_asks", ()))
    found = [(m.start(), m, True) for m in asks.finditer(text)]
    found += [(m.start(), m, False) for m in _COUNT_BY_NUMBER.finditer(text)
              if not _SHARE_BEFORE.search(text[max(0, m.start() - 12):m.start()])]
    for _, m, by_ask in sorted(found, key=lambda f: f[0]):
        if by_ask and m.groupdict().get("listed"):
            return None
        first, *rest = m.group("noun").split()
        if first in skip or m.group("noun") in skip or len(first) < 2 or first.isdigit():
            continue
        following = re.match(r"[ \t]+(\w+)", text[m.end():]) if by_ask else None
        # "mấy hộ này", "mấy xã viên này", "mấy tổ hợp tác ấy": "these few", no question (the
        # demonstrative closes a noun of up to three words)
        after = re.match(r"(?:[ \t]+\w+){1,2}", text[m.end():]) if by_ask else None
        if (rest and rest[0] in demonstratives) or (after and set(after.group(0).split()) & demonstratives):
            continue
        if (rest and rest[0] in which) or (following and following.group(1) in which):
            continue  # "vướng mắc về mấy chuyện gì?": which things, a list answers it
        if by_ask and (_few_in_yes_no(text, m, yes_no) or _plural_before_another_ask(text, m, others, yes_no)):
            continue  # "Em với mấy bạn góp vốn thì có cần đăng ký không?": "a few friends"
        heads = {first}
        expanded = expand_abbreviations(first).lower().split()
        if len(expanded) > 1:  # "htx (hợp tác xã)": also its expansion's first word
            heads.add(expanded[1].strip("()"))
        body = "|".join(re.escape(h) for h in sorted(heads))
        # "15 HTX" reads "15 htx (hợp tác xã)" once expanded: the abbreviation may come between
        # "ít nhất hai phần ba tổng số đại biểu", "quá nửa tổng số thành viên", "2/3 số thành
        # viên": a share of the whole states how many must do what the question says they do
        # ("cần bao nhiêu đại biểu tán thành?"); it never states the size of the whole ("tổ hợp
        # tác phải có tối thiểu bao nhiêu thành viên?": the clause ends at the noun)
        does = re.match(r"[^,;:.?!\n]*?\w", text[m.end():]) is not None
        share = (rf"|(?:{number}\s+phần\s+{number}|\d+/\d+|(?:quá\s+|một\s+)?nửa)\s+(?:tổng\s+)?số\s+"
                 if does else "")
        stated = re.compile(rf"(?<!\w)(?:{number}\s+{share})(?:[\w&]+\s+\()?(?:{body})(?!\w)")
        # "bao nhiêu HTX thành viên": when the documents read use the noun with the next two
        # words as a term of its own ("số HTX thành viên"), a count of it is stated with those
        # words after the number in the same sentence, not by any count of HTX
        words_after = (rest + (following.group(1).split() if following else []))[:2]
        compound = None
        if len(words_after) == 2 and not set(words_after) & (skip | demonstratives | which):
            tail = re.escape(" ".join(words_after))
            compound = (re.compile(rf"(?<!\w)(?:{body})(?!\w)(?:\s*\([^)]*\))?\s+{tail}(?!\w)"),
                        re.compile(rf"(?<!\w)(?:{number}\s+{share})(?:[\w&]+\s+\()?(?:{body})(?!\w)[^.;:\n]*?(?<!\w){tail}(?!\w)"))
        titles = _alternatives(spec.get("titles", ()))
        return _Kind("count", str(spec.get("label") or "số lượng"), None, stated, on_expanded=True,
                     titles=re.compile(rf"(?<!\w)(?:{titles})(?!\w)[^;.\n]*$") if titles else None,
                     compound=compound)
    return None


@lru_cache(maxsize=8)
def _item_grammar(units_json: str) -> tuple[frozenset, re.Pattern[str], str, frozenset] | None:
    """The kinds an amount per item is checked for, what marks an item ("mỗi", "một", "từng",
    "đối với" then a noun; on lower-case text with diacritics), and the markers as a regular
    expression, and the words after a marker that name no item."""
    spec = json.loads(units_json).get("per_item") or {}
    markers = _alternatives(spec.get("markers", ()))
    if not (markers and spec.get("kinds")):
        return None
    skip = {w.lower() for w in spec.get("not_items", ())}
    item = re.compile(rf"(?<!\w)(?:{markers})[ \t]+(?:(?:một|mỗi|01|1)[ \t]+)?(?P<item>\w+)")  # "đối với một HTX"
    return frozenset(spec["kinds"]), item, markers, frozenset(skip)


_CLAUSE = re.compile(r"[^,;.!?\n]+")


@dataclass(frozen=True)
class _Item:
    """The item an amount is asked per: as the question writes it, and the heads a passage may
    write it with (the noun, and the first word of an abbreviation's expansion: "htx", "hợp")."""

    written: str
    heads: tuple[str, ...]


def _item_asked(kind: _Kind, asking: str) -> _Item | None:
    """"Mức hỗ trợ cho một HTX thành lập mới là bao nhiêu?", "định mức cho vay đối với một
    HTX", "hỗ trợ 30 triệu đồng cho mỗi HTX, đúng không?": the amount is asked per item, in the
    clause that asks it (or states the amount confirmed). None when the amount is not asked
    per item, or the kind is not checked per item. "một số HTX" (some), "mỗi năm" (a
    time: texts say "hằng năm") are no items (``not_items``)."""
    from index.text import expand_abbreviations

    grammar = _item_grammar(_units_json())
    if grammar is None or kind.name not in grammar[0]:
        return None
    skip = grammar[3]
    written = nfc(asking)
    for m in _CLAUSE.finditer(written.lower()):
        clause = m.group(0)
        asks = (kind.asks_by_unit(fold(clause), clause)
                or (kind.named is not None and kind.named.search(clause))
                or (kind.confirm is not None and kind.stated.search(clause)))
        if not asks:
            continue
        for it in grammar[1].finditer(clause):
            word = it.group("item")
            if word in skip or word.isdigit():
                continue
            heads = {word}
            expanded = expand_abbreviations(word).lower().split()
            if len(expanded) > 1:
                heads.add(expanded[1].strip("()"))
            start = m.start() + it.start("item")
            return _Item(written[start:start + len(word)], tuple(sorted(heads)))
    return None


def _states_per_item(kind: _Kind, unit: Unit, item: _Item, bound: _Bound | None, question: str) -> bool:
    """``text`` states an amount of ``kind`` and marks the ``item`` ("mỗi hợp tác xã",
    "đối với một HTX", "đồng/HTX"): a total ("vốn Quỹ lên trên 15 tỷ đồng") is no amount per item."""
    from ingest.vocab import vocab

    grammar = _item_grammar(_units_json())
    if grammar is None or not _stated(kind, unit.text, bound, question, unit.start):
        return False
    body = "|".join(re.escape(h) for h in item.heads)
    marked = re.compile(rf"(?:(?<!\w)(?:{grammar[2]})[ \t]+|/[ \t]*)(?:(?:một|mỗi|01|1)[ \t]+)?(?:[\w&]+[ \t]+\()?(?:{body})(?!\w)")
    return bool(marked.search(_expanded_lower(unit.topic, id(vocab()))))


_SENTENCE = re.compile(r"[^.!?\n]*(?:[.!?]+|\n|$)")


def asking_part(text: str) -> str:
    """The sentences of ``text`` that ask: all of it, unless some sentence ends with "?", and
    then those (and an unpunctuated last one). "Tôi với mấy hộ trồng cà phê đang tính lập HTX."
    beside "… bộ phận nào chủ trì?" tells, it does not ask a count: "mấy hộ" is "a few
    households" there."""
    if "?" not in (text or ""):
        return text or ""
    parts = [m.group(0) for m in _SENTENCE.finditer(text) if m.group(0).strip()]
    keep = [p for i, p in enumerate(parts)
            if p.rstrip().endswith("?") or (i == len(parts) - 1 and not p.rstrip()[-1:] in ".!")]
    return "\n".join(p.strip() for p in keep)


def amount_sentences(question: str) -> list[str]:
    """The sentences of the question that ask for an amount (of those that ask: ``asking_part``)."""
    return [m.group(0) for line in (question or "").split("\n")
            for m in _SENTENCE.finditer(asking_part(line)) if m.group(0).strip() and _asked(m.group(0))]


def _asked(question: str) -> list[tuple[_Kind, str]]:
    """The kinds asked, each with the noun that named the quantity ("lãi suất"; "" when the kind
    is asked by its unit alone). Only the sentences that ask are read (``asking_part``), except
    for a confirmation, whose amount is often stated in the sentence before ("Tây Ninh có 500
    HTX. Đúng không?")."""
    whole_lower = nfc(question or "").lower()
    asking = "\n".join(asking_part(line) for line in (question or "").split("\n"))
    folded, lower = fold(asking), nfc(asking).lower()
    out = []
    for k in _active_kinds():
        m = k.named.search(lower) if k.named is not None else None
        if m is not None:
            out.append((k, m.group("noun")))
        elif k.asks_by_unit(folded, lower):
            # "Quỹ cho vay lãi suất mấy %/năm?": asked by its unit, the quantity named in the
            # same clause all the same
            out.append((k, _noun_in_asking_clause(k, asking)))
        elif k.confirm is not None and _confirms(k, question or ""):
            # "lãi suất là 3%/năm đúng không?": confirming an amount asks whether the documents
            # state one of that kind (of the quantity the question names, when it names one)
            n = k.nouns.search(whole_lower) if k.nouns is not None else None
            out.append((k, n.group("noun") if n else ""))
    count = _count_kind(asking)
    if count is not None:
        out.append((count, ""))
    return out


@lru_cache(maxsize=8)
def _yes_no_confirms(units_json: str) -> frozenset[str]:
    """The confirm phrases that also ask yes or no of anything (``confirm_in_sentence``: "có
    phải", "hay không"), folded."""
    return frozenset(fold(w) for w in json.loads(units_json).get("confirm_in_sentence", ()))


def _confirms(kind: _Kind, question: str) -> bool:
    """Whether ``question`` asks to confirm an amount of ``kind``: a sentence holds a confirm
    phrase and states the amount ("Thuế suất là 10% phải không?"), or another sentence states
    it ("Lãi suất là 5%/năm. Có đúng không?", "… 50 tỷ đồng vào năm 2020. Xác nhận giúp tôi.").
    A phrase that also asks yes or no of anything ("có phải": must I; "hay không";
    ``confirm_in_sentence`` in the vocabulary) confirms only an amount in its own sentence: "Nó
    đặt cọc 20 triệu rồi bỏ không mua. Tôi có phải trả lại cọc không?" asks about the deposit's
    fate, not whether 20 million is stated anywhere."""
    only_own = _yes_no_confirms(_units_json())
    lower = nfc(question).lower()
    for line in question.split("\n"):
        for m in _SENTENCE.finditer(line):
            found = kind.confirm.search(fold(m.group(0)))
            if found is None:
                continue
            if kind.stated.search(nfc(m.group(0)).lower()):
                return True
            if found.group(0) not in only_own and kind.stated.search(lower):
                return True
    return False


def _noun_in_asking_clause(kind: _Kind, asking: str) -> str:
    """The noun of ``kind`` ("lãi suất") in the clause whose unit asks for the amount, or ""."""
    if kind.nouns is None or kind.asked is None:
        return ""
    for m in _CLAUSE.finditer(nfc(asking).lower()):
        if kind.asked.search(fold(m.group(0))):
            n = kind.nouns.search(m.group(0))
            if n is not None:
                return n.group("noun")
    return ""


def asked_forms(query) -> tuple[_Kind, ...]:
    """The kinds of amount the question asks for, to test units with (``states_any``)."""
    return tuple(k for k, _ in _asked(question_forms(query)))


def selected_forms(query) -> tuple[_Kind, ...]:
    """The kinds of amount the answer's units are tested for (the ``amount`` feature of
    selection, and the order of points in ``compose``): those asked, or those a comparison
    compares (``compared_forms``)."""
    return asked_forms(query) or compared_forms(query)


def compared_forms(query) -> tuple[_Kind, ...]:
    """The kinds of amount a comparison names by their nouns without asking "bao nhiêu": "Hạn
    gửi báo cáo năm ở Khánh Hòa và Kiên Giang khác nhau thế nào?" compares dates ("hạn"), "So
    sánh chỉ tiêu vốn Quỹ của hai tỉnh" sums of money ("vốn"). A comparison is a question with
    one of the vocabulary's ``compare_words`` ("so sánh", "khác nhau", "giống nhau"); the nouns
    are each kind's ``nouns`` and ``compared`` words, the longest match first, so "hạn mức"
    (money) is no "hạn" (a date). A noun of two kinds ("thời hạn": a date or a duration) names
    both. These kinds only pick and order the units of each group (the unit that states the
    compared amount leads it): a comparison asks no amount that a refusal could rest on."""
    cue = _compare_cue(_units_json())
    asking = "\n".join(asking_part(line) for line in _typed_forms(query).split("\n"))
    if cue is None or not cue.search(fold(asking)):
        return ()
    lower = nfc(asking).lower()
    matches = sorted(((m.start(), m.end(), k) for k in _active_kinds() if k.compared is not None
                      for m in k.compared.finditer(lower)), key=lambda x: (x[0] - x[1], x[0]))
    spans: list[tuple[int, int]] = []
    kinds: list[_Kind] = []
    for a, b, k in matches:
        if any(a < y and x < b and (a, b) != (x, y) for x, y in spans):
            continue  # inside a longer noun of another kind
        spans.append((a, b))
        if k not in kinds:
            kinds.append(k)
    return tuple(kinds)


def cited_forms(query) -> tuple[_Kind, ...]:
    """The kinds of amount whose restatements an answer cites (``compose._cite_restatements``):
    those asked or compared (``selected_forms``), or, for an elliptical follow-up, those the
    earlier question asked even by a noun (citing a second passage refuses nothing, unlike
    ``question_forms``)."""
    return selected_forms(query) or tuple(k for k, _ in _asked(getattr(query, "asked_before", "") or ""))


def _stated(kind: _Kind, text: str, bound: _Bound | None = None, question: str = "", start: int = 0) -> bool:
    """``text`` (as written) states an amount of ``kind`` (and, when the question asks for a
    ``bound``, one the text does not mark as the opposite bound). An amount right after the
    words of a document's own event ("được Quốc hội thông qua ngày …", "ban hành ngày …":
    ``events``) states one only when ``question`` names that event: the day a law was passed
    is no deadline of the duties it sets. So does the date of a line that opens with a place
    ("Kiên Giang, ngày 12 tháng 7 năm 2018": ``dateline``), when the question names any event.
    Only amounts from ``start`` on count; the text before it is read as what precedes them."""
    if kind.on_expanded:
        from ingest.vocab import vocab

        key = id(vocab())

        def read(t: str) -> str:
            return _expanded_lower(t, key)
    else:
        def read(t: str) -> str:
            return nfc(t).lower()
    line = read(text)
    offset = len(read(text[:start])) if start else 0
    if (bound is None and kind.not_after is None and kind.events is None and kind.dateline is None
            and kind.periods is None and kind.titles is None and kind.review_after is None):
        return bool(kind.stated.search(line, offset))
    asked_events = fold(question)
    how_often = kind.periods is not None and bool(kind.period_asked.search(asked_events))
    if how_often and kind.period_stated is not None and kind.period_stated.search(line, offset):
        return True  # "bao lâu một lần?" is answered by "hằng năm"
    any_event = any(_has_word(w, asked_events) for w in kind.event_words)
    for m in kind.stated.finditer(line, offset):
        before, after = line[max(0, m.start() - 40):m.start()], line[m.end():m.end() + 16]
        if kind.not_after is not None and kind.not_after.search(before):
            continue
        event = kind.events.search(before) if kind.events is not None else None
        if event is not None and not _has_word(fold(event.group("event")), asked_events):
            continue
        if kind.dateline is not None and not any_event and kind.dateline.search(line[max(0, m.start() - 60):m.start()]):
            continue
        if kind.periods is not None and kind.periods.search(before) and not how_often:
            continue  # "định kỳ 6 tháng" is how often, not how long
        if kind.titles is not None and kind.titles.search(line[max(0, m.start() - 160):m.start()]):
            continue  # "… về việc phê duyệt Đề án phát triển 15.000 hợp tác xã": a title
        if (kind.review_after is not None and kind.review_after.search(line[m.end():m.end() + 24])
                and not kind.review_asked.search(asked_events)):
            continue  # "sau 5 năm thực hiện Luật": how long the law has run, no term
        if bound is not None and ((bound.against_before and bound.against_before.search(before[-24:]))
                                  or (bound.against_after and bound.against_after.search(after))):
            continue
        return True
    return False


def _no_zeros(folded: str) -> str:
    """Numbers without leading zeros ("06 thang" -> "6 thang")."""
    return re.sub(r"(?<![\d.,])0+(?=\d)", "", folded)


def _qualifiers(kind: _Kind, question: str) -> list[str]:
    """The phrases of the question's asking part that qualify what the amount is of (the kind's
    ``qualified_by`` in the vocabulary: "6 tháng" of "báo cáo 6 tháng … trước ngày nào?"),
    folded, without leading zeros."""
    if kind.qualifier is None:
        return []
    asking = fold("\n".join(asking_part(line) for line in (question or "").split("\n")))
    return list(dict.fromkeys(_no_zeros(m.group(0)) for m in kind.qualifier.finditer(asking)))


def _has_word(word: str, folded: str) -> bool:
    """``word`` (folded) occurs in ``folded`` as whole words."""
    return bool(re.search(rf"(?<!\w){re.escape(word)}(?!\w)", folded))


def amounts_stated(text: str, kinds: Sequence[_Kind]) -> frozenset[str]:
    """The amounts of ``kinds`` that ``text`` states, in a comparable form ("15 tỷ đồng" and
    "15 tỷ  đồng" alike; leading zeros and thousands dots dropped), to find where else a
    document states the same figure."""
    from index.text import expand_abbreviations

    out = set()
    for k in kinds:
        line = expand_abbreviations(text).lower() if k.on_expanded else nfc(text).lower()
        for m in k.stated.finditer(line):
            key = re.sub(r"(?<![\d.])0+(?=\d)|(?<=\d)\.(?=\d{3})|\s+", "", fold(m.group(0)))
            if any(ch.isdigit() for ch in key):
                out.add(f"{k.name}:{key}")
    return frozenset(out)


def states_any(text: str, kinds: Sequence[_Kind], question: str = "") -> bool:
    """``text`` states an amount of one of ``kinds`` (``asked_forms``) for ``question``."""
    return any(_stated(k, text, question=question) for k in kinds)


def asked_kinds(question: str) -> tuple[str, ...]:
    """The kinds of amount the question asks for ("percent", "money")."""
    return tuple(k.name for k, _ in _asked(question))


def _typed_forms(query) -> str:
    """The question as restored and as typed, one per line (once when they are the same)."""
    return "\n".join(dict.fromkeys((getattr(query, "restored", "") or "", getattr(query, "typed", "") or "")))


def question_forms(query) -> str:
    """The question as restored and as typed (one per line): restoring diacritics can garble an
    abbreviation or a word typed without them ("sdt" -> "sát"), so both forms are read. A
    follow-up that asks nothing of its own and takes the earlier question's intent ("Vậy còn
    Kiên Giang thì sao?" after "… trước ngày nào?") asks for the same kind of amount, when the
    earlier question asked it by its unit, not by a noun ("vốn điều lệ là bao nhiêu?")."""
    forms = _typed_forms(query)
    before = getattr(query, "asked_before", "")
    if before and not _asked(forms):
        earlier = _asked(before)
        # a kind the earlier question named by its noun ("vốn điều lệ … bao nhiêu") is not
        # carried: the other province's plan may name the quantity otherwise
        if earlier and all(not noun for _, noun in earlier):
            forms += "\n" + before
    return forms


def check_read(question: str, cands: Iterable, words: Sequence[str] = ()) -> AmountCheck:
    """:func:`check` on the passages the answer layer read: the chunk of every candidate unit,
    once each; then :func:`delegated` on the candidate units: a unit that leaves the amount to
    another instrument makes it not stated, and a refusal quotes it."""
    cands = list(cands)
    out = check(question, list({c.chunk.chunk_id: c.chunk.text for c in cands}.values()), words)
    if not out.asked or (out.missing and not out.none_stated):
        return out
    unit = delegated(cands, tuple(k for k, _ in _asked(question)))
    if not unit:
        return out
    if out.missing:  # not stated anyway: the refusal quotes the delegating unit
        return replace(out, delegated=unit)
    labels = tuple(dict.fromkeys(k.label for k, _ in _asked(question)))
    return AmountCheck(out.asked, out.asked, labels, unit)


@lru_cache(maxsize=8)
def _delegation(units_json: str) -> re.Pattern[str] | None:
    pats = json.loads(units_json).get("delegation", ())
    return re.compile("|".join(f"(?:{p})" for p in pats)) if pats else None


@lru_cache(maxsize=8192)
def _delegates(text: str, units_json: str) -> bool:
    """Whether ``text`` leaves a matter to another instrument (cached: units recur question after
    question; the text and the vocabulary alone decide)."""
    pattern = _delegation(units_json)
    return bool(pattern is not None and pattern.search(fold(text)))


def _names_kind(text: str, kinds: Sequence[_Kind]) -> bool:
    """Whether ``text`` names a quantity of one of ``kinds`` by its nouns ("thời hạn", "nhiệm
    kỳ", "lãi suất": ``nouns`` and ``compared`` in the vocabulary); a kind with no such nouns
    (a count) is named by any text."""
    lower = nfc(text).lower()
    return not kinds or any(k.compared is None or k.compared.search(lower) for k in kinds)


def delegated(cands: Sequence, kinds: Sequence[_Kind] = ()) -> str:
    """The unit that leaves the asked amount to another instrument, when it matches the
    question better than every unit that states an amount of the asked kind: "Nhiệm kỳ của Tổng
    Kiểm toán nhà nước do luật định." answers "… nhiệm kỳ mấy năm?" (the Constitution states
    no term), though "Nhiệm kỳ của mỗi khóa Quốc hội là năm năm." states a duration; "Chính phủ
    quy định chi tiết … thời hạn … cấp Giấy chứng nhận đủ điều kiện buôn bán phân bón" answers
    how long that certificate takes, though the article before states the term of another one.
    The phrases of delegation are the vocabulary's (``delegation`` in ``units.json``, regular
    expressions on folded text: an authority "quy định chi tiết", "do luật định"); how well a
    unit matches is the share of the question's rarity-weighted terms it holds (the ``cov``
    feature of selection), and the units that state the amount carry the ``amount`` feature.
    A unit leaves the asked amount only if it names that kind of quantity (``_names_kind``):
    "… phải đền bù chi phí đào tạo theo quy định của Chính phủ" leaves a cost, not how long a
    secondment lasts. Returns the delegating unit's text, or ""."""
    key = _units_json()
    if _delegation(key) is None:
        return ""
    best_d = max((c for c in cands if _delegates(c.unit.text, key) and _names_kind(c.unit.text, kinds)),
                 key=lambda c: c.feature("cov"), default=None)
    if best_d is None:
        return ""
    best_s = max((c.feature("cov") for c in cands if c.feature("amount")), default=0.0)
    return best_d.unit.text if best_d.feature("cov") > best_s else ""


def check(question: str, passages: Sequence[str], words: Sequence[str] = ()) -> AmountCheck:
    """Which asked kinds of amount none of ``passages`` states a number in.

    When some of the passages hold the question's topic words (``words``: "lãi suất", "ký
    quỹ"), the amount must be stated in one of those: a percentage in a passage about growth
    does not state an interest rate. A passage is an article or a section with its list, so the
    lead-in that names the topic ("Nam, nữ kết hôn với nhau phải tuân theo các điều kiện sau
    đây:") and the item that states the amount ("a) Nam từ đủ 20 tuổi trở lên") are read
    together. When no passage holds them (the question says "tài xế", the law "người lái xe"),
    any passage read may state the amount. A quantity the question names by its noun ("lãi
    suất", "lệ phí", "vốn điều lệ": ``nouns`` in the vocabulary) is stated only in a unit of a
    passage (``units``: a sentence or clause, with its lead-in and the passage's heading) that
    names it: a percentage of growth is no interest rate, even beside a sentence on loans.
    An amount asked per item ("cho một HTX": ``per_item`` in the vocabulary) is stated only by
    a unit of a passage (``units``: a sentence or clause, with its lead-in) that marks the same
    item ("mỗi hợp tác xã", "đồng/HTX"): a fund's total is no loan per cooperative. A passage
    holds a word also through an abbreviation of it ("THT" holds "tổ hợp tác")."""
    asked = _asked(question)
    if not asked:
        return AmountCheck()
    # topic words are looked for with abbreviations expanded: "tổ hợp tác" is in "10 THT"
    folded = [_folded_expanded(t) for t in passages]
    located = _holding(passages, folded, words) or list(passages)
    bound = _bound_asked(question)
    missing = []
    read: list[Unit] | None = None  # the units of every passage, split only when a check needs them
    read_folded: list[str] = []
    for kind, noun in asked:
        kind = _in_asked_unit(kind, question)
        if kind.compound is not None:
            from ingest.vocab import vocab

            key = id(vocab())
            if any(kind.compound[0].search(_expanded_lower(t, key)) for t in passages):
                kind = replace(kind, stated=kind.compound[1])
        # a quantity named by its noun ("lãi suất") is stated where the noun is, unless the noun
        # holds the unit itself ("độ tuổi": "từ đủ 16 tuổi" names it by the number)
        named = noun and not _holds_unit(noun, kind)
        item = _item_asked(kind, question)
        quals = _qualifiers(kind, question)
        if quals:
            # "báo cáo 6 tháng … trước ngày nào?": a date in a unit about the 6-month report,
            # not the annual one's
            if read is None:
                read = _units_of(passages)
                read_folded = [_folded_expanded(u.topic) for u in read]
            among = [u for u, f in zip(read, read_folded) if all(_has_word(q, _no_zeros(f)) for q in quals)]
            found = any(_stated(kind, u.text, bound, question, u.start) for u in among)
        elif not named and item is None:
            # units partition a passage, so a passage states it when one of its units does
            found = any(_stated(kind, t, bound, question) for t in located)
        else:
            if named and read is None:
                read = _units_of(passages)
                read_folded = [_folded_expanded(u.topic) for u in read]
            among = _holding(read, read_folded, [noun]) if named else _units_of(located)
            if item is not None:
                found = any(_states_per_item(kind, u, item, bound, question) for u in among)
            else:
                found = any(_stated(kind, u.text, bound, question, u.start) for u in among)
        if not found:
            missing.append((kind, item))
    kinds = [k for k, _ in asked]
    labels = tuple(_label(k, item, bound, any(_stated(k, t, question=question) for t in passages))
                   for k, item in missing)
    return AmountCheck(tuple(k.name for k in kinds), tuple(k.name for k, _ in missing), labels)


def _label(kind: _Kind, item: _Item | None, bound: _Bound | None, some_stated: bool) -> str:
    """How the answer names a missing amount: "số tiền", "số tiền tối đa" (some amount is
    stated, not that bound), "số tiền cho mỗi htx" (asked per item)."""
    label = f"{kind.label} {bound.label}".strip() if bound is not None and some_stated else kind.label
    return f"{label} cho mỗi {item.written}" if item is not None else label


_UNIT_END = re.compile(r"(?<=[.;])\s+(?=\S)")
_HEADING_CHARS = 120  # a first line this short heads the passage ("Điều 27. Tạm trú", "3. Sở Nội vụ")


@dataclass(frozen=True)
class Unit:
    """A sentence or clause of a passage, as the amount check reads it: ``topic`` (the clause
    with its lead-in and the passage's heading) is where topic words are looked for; ``text``
    is the line up to the clause's end, and amounts count only from ``start`` on, so that
    what comes right before an amount ("Công văn 118/SNN-KTHT; ngày 12/3/2022") is still read."""

    topic: str
    text: str
    start: int


def units(passage: str) -> list[Unit]:
    """The units a passage states amounts in: each sentence or clause (split at ". " and "; ";
    a table row, with its tab-separated columns, stays whole), read with the nearest line
    before it that ends with ":" (the lead-in it continues) and the passage's first line when
    that is a heading."""
    lines = [ln for ln in (passage or "").split("\n") if ln.strip()]
    if not lines:
        return []
    heading = lines[0] if len(lines[0]) <= _HEADING_CHARS else ""
    out, lead = [], ""
    for i, line in enumerate(lines):
        context = "\n".join(x for x in (heading if i else "", lead) if x)
        bounds = [0, len(line)] if "\t" in line else [0, *(m.end() for m in _UNIT_END.finditer(line)), len(line)]
        for a, b in zip(bounds, bounds[1:]):
            part = line[a:b]
            if part.strip():
                out.append(Unit(f"{context}\n{part}" if context else part, line[:b], a))
        if line.rstrip().endswith(":"):
            lead = line
    return out


def _holds_unit(noun: str, kind: _Kind) -> bool:
    """The noun names the quantity by its unit ("độ tuổi" and "tuổi"): a number in that unit
    names the quantity too."""
    return bool(kind.stated.search(f"1 {noun.split()[-1]}"))


def _folded_expanded(text: str) -> str:
    """A passage folded with its abbreviations expanded."""
    from ingest.vocab import vocab

    return fold(_expanded_lower(text, id(vocab())))


@lru_cache(maxsize=8192)
def _expanded_lower(text: str, vocabulary: int) -> str:
    """``text`` with the abbreviations of the active vocabulary (``vocabulary``: its identity,
    part of the key) expanded, lower case. Cached: the same passages are read by question after
    question, and the text and the vocabulary alone decide the result."""
    from index.text import expand_abbreviations

    return expand_abbreviations(text).lower()


def _units_of(passages: Sequence[str]) -> list[Unit]:
    return [u for t in passages for u in units(t)]


def _holding(passages: Sequence, folded: Sequence[str], words: Sequence[str]) -> list:
    """The passages (or units) that hold one of ``words`` (without diacritics, as whole words;
    ``folded``: their text folded, in the same order)."""
    keys = [fold(w) for w in words if w.strip()]
    if not keys:
        return []
    pattern = re.compile("|".join(rf"(?<!\w){re.escape(k)}(?!\w)" for k in keys))
    return [t for t, f in zip(passages, folded) if pattern.search(f)]
