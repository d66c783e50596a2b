"""The amount a question asks for, and whether the passages read state one.

"… là bao nhiêu phần trăm?", "vay tối đa bao nhiêu tiền?", "thời hạn mấy năm?", "cách khu dân
cư tối thiểu bao nhiêu mét?", "bao lâu?": a question that asks for an amount in a unit of
measure (a percentage, money, a length, an area, a duration, an age) is answered only by a
passage that states a number in that unit. When none of the passages the answer layer read
(the chunk of every candidate unit: the top retrieved passages of each search and their
structural neighbours) states one, the documents do not give the figure, however much else
they say about the topic, and quoting the closest sentence would answer a different question.

This serves every document and every topic alike: what is matched is the grammar of asking for
an amount (an ask word, ``bao nhiêu`` / ``mấy`` / ``tối đa`` / ``tối thiểu``, followed by a
unit) and the way texts write amounts (digits or number words, then the unit). The ask words,
number words and units are vocabulary (``ingest/data/units.json``; a file of the same name under
``<data_dir>/vocab/`` adds kinds), not phrases of any question set.

A question that asks for several amounts ("lãi suất bao nhiêu %/năm, thời hạn tối đa mấy năm")
is refused only when none of them is stated; when some are, the answer says which are not.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

from ingest.normalize import fold, nfc


@dataclass(frozen=True)
class AmountCheck:
    """The kinds of amount the question asks for, and those no passage read states."""

    asked: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()  # how answers name the missing kinds ("số tiền")

    @property
    def none_stated(self) -> bool:
        return bool(self.asked) and len(self.missing) == len(self.asked)


@dataclass(frozen=True)
class _Kind:
    name: str
    label: str
    asked: re.Pattern[str]
    stated: re.Pattern[str]


def _alternatives(words: Iterable[str]) -> str:
    return "|".join(re.escape(w.lower()) for w in sorted(set(words), key=len, reverse=True))


@lru_cache(maxsize=8)
def _kinds(units_json: str) -> tuple[_Kind, ...]:
    """The compiled kinds of one vocabulary (cached by its JSON text: read-only, per vocabulary)."""
    return tuple(_compile(json.loads(units_json)))


def _compile(units: dict) -> list[_Kind]:
    ask = _alternatives(units.get("ask_words", ()))
    number_words = _alternatives(units.get("number_words", ()))
    # "20", "1.000.000", "8-10", "3 - 5", "từ 16 đến 30", or number words ("mười hai", "ba mươi")
    number = (rf"(?:\d+(?:[.,]\d+)*(?:\s*(?:-|–|đến)\s*\d+(?:[.,]\d+)*)?"
              rf"|(?:(?:{number_words})\s+){{0,4}}(?:{number_words}))" if number_words else r"\d+(?:[.,]\d+)*")
    out = []
    for name, spec in (units.get("units") or {}).items():
        asked_units = _alternatives(spec.get("asked", ()))
        alone = _alternatives(spec.get("asked_alone", ()))
        parts = [rf"(?<!\w)(?:{ask})\s+(?:{asked_units})(?![\w²])"] if asked_units and ask else []
        if alone:
            parts.append(rf"(?<!\w)(?:{alone})(?!\w)")
        stated = _alternatives(spec.get("stated", ()))
        if not parts or not stated:
            continue
        out.append(_Kind(name, str(spec.get("label") or name), re.compile("|".join(parts)),
                         re.compile(rf"(?<!\w)(?:{number})\s*(?:{stated})(?![\w²])")))
    return out


def _active_kinds() -> tuple[_Kind, ...]:
    from ingest.vocab import vocab

    return _kinds(json.dumps(vocab().units, ensure_ascii=False, sort_keys=True))


def _asked(question: str) -> list[_Kind]:
    text = nfc(question or "").lower()
    return [k for k in _active_kinds() if k.asked.search(text)]


def asked_kinds(question: str) -> tuple[str, ...]:
    """The kinds of amount the question asks for ("percent", "money")."""
    return tuple(k.name for k in _asked(question))


def check_read(question: str, cands: Iterable, words: Sequence[str] = ()) -> AmountCheck:
    """:func:`check` on the passages the answer layer read: the chunk of every candidate unit,
    once each."""
    return check(question, list({c.chunk.chunk_id: c.chunk.text for c in cands}.values()), words)


def check(question: str, passages: Sequence[str], words: Sequence[str] = ()) -> AmountCheck:
    """Which asked kinds of amount none of ``passages`` states a number in.

    When some of the passages hold the question's topic words (``words``: "lãi suất", "ký
    quỹ"), the amount must be stated in one of those: a percentage in a passage about growth
    does not state an interest rate. A passage is an article or a section with its list, so the
    lead-in that names the topic ("Nam, nữ kết hôn với nhau phải tuân theo các điều kiện sau
    đây:") and the item that states the amount ("a) Nam từ đủ 20 tuổi trở lên") are read
    together. When no passage holds them (the question says "tài xế", the law "người lái xe"),
    any passage read may state the amount."""
    kinds = _asked(question)
    if not kinds:
        return AmountCheck()
    keys = [fold(w) for w in words if w.strip()]
    located = [t for t in passages if keys and any(re.search(rf"(?<!\w){re.escape(k)}(?!\w)", fold(t)) for k in keys)]
    texts = [nfc(t).lower() for t in (located or passages)]
    missing = [k for k in kinds if not any(k.stated.search(t) for t in texts)]
    return AmountCheck(tuple(k.name for k in kinds), tuple(k.name for k in missing), tuple(k.label for k in missing))
