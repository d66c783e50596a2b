"""Vietnamese lexical analysis for the BM25 index and for query understanding.

Vietnamese words are made of space-separated syllables ("hợp tác xã"), so we index
syllables and adjacent-syllable pairs instead of running a word segmenter (FINDINGS.md:
accent-folded syllables + pairs beat segmented words). Token streams:

- folded syllables ``hop``, ``tac``, ``xa``: match whatever the user typed, diacritics or not;
- folded pairs ``hop_tac``, ``tac_xa``: word-level precision without a segmenter;
- exact (accented) syllables ``=hợp``: separate ``tính`` from ``tỉnh`` when diacritics are known.

Abbreviations (HTX, UBND, Sở KH&ĐT ...) are expanded with ``ingest.vocab.ABBREVIATIONS`` on
passages and questions alike, keeping the abbreviation itself too.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ingest.normalize import canonical_tones, fold, nfc
from ingest.vocab import ABBREVIATIONS

# A syllable: letters/digits. "&" and "-" inside abbreviations (KH&ĐT, QĐ-UBND) are handled
# by expansion before tokenising.
_TOKEN_RE = re.compile(r"\w+", re.UNICODE)
_AMP_RE = re.compile(r"\s*&\s*")


def _build_fold_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for cp in list(range(0x00C0, 0x0250)) + list(range(0x1E00, 0x1F00)):
        ch = chr(cp)
        f = fold(ch)
        if len(f) == 1 and f != ch:
            table[cp] = f
    return table


_FOLD_TABLE = _build_fold_table()
_COMBINING_RE = re.compile("[\u0300-\u036f]")


def fast_fold(text: str) -> str:
    """Same result as ``ingest.normalize.fold`` (lower case, no diacritics), by table lookup:
    about 20x faster on long passages. Falls back to ``fold`` if combining marks remain."""
    out = nfc(text).lower().translate(_FOLD_TABLE)
    return fold(text) if _COMBINING_RE.search(out) else out


def _abbrev_regex() -> tuple[re.Pattern[str], dict[str, str]]:
    table: dict[str, str] = {}
    for abbr, expansion in ABBREVIATIONS.items():
        table[fold(abbr)] = expansion
    forms = sorted(table, key=len, reverse=True)
    body = "|".join(re.escape(f) for f in forms)
    return re.compile(rf"(?<![\w&])(?:{body})(?![\w&])"), table


_ABBR_RE, _ABBR_TABLE = _abbrev_regex()

# Folded function words that carry no topic on their own. Kept in the pair stream (a pair
# like "phai_lam" still helps) but dropped as single syllables from the query side.
STOPWORDS_FOLDED = frozenset(
    """
    va cua cac la co duoc cho trong voi de tai nhung mot nay do khi thi ma o ve theo
    nhu tu den tren sau truoc cung hoac neu vi vay the nao gi ai bao nhieu may hay
    khong chua da se dang can phai lam nhe a oi a ha sao bi boi ra vao len xuong
    toi minh em anh chi ban chung
    """.split()
)

# The same function words with their diacritics: "trọng tài" folds to "trong tai", two function
# words, but is a noun; a syllable written with marks is a function word only in its own spelling.
STOPWORDS_MARKED = frozenset(
    """
    và của các là có được cho trong với để tại những một này đó khi thì mà ở về theo
    như từ đến trên sau trước cũng hoặc nếu vì vậy thế nào gì ai bao nhiêu mấy hay
    không chưa đã sẽ đang cần phải làm nhé à ơi ạ hả sao bị bởi ra vào lên xuống
    tôi mình em anh chị bạn chúng do
    """.split()
)


def is_function_syllable(syllable: str) -> bool:
    """A function word: in ``STOPWORDS_MARKED`` as written, or, typed without diacritics, in
    ``STOPWORDS_FOLDED``."""
    s = syllable.lower()
    return s in STOPWORDS_MARKED or (fast_fold(s) == s and s in STOPWORDS_FOLDED)


def normalize_query_text(text: str) -> str:
    """NFC, canonical tone marks, one line, single spaces, ``KH & ĐT`` -> ``KH&ĐT``."""
    text = canonical_tones(nfc(text or ""))
    text = _AMP_RE.sub("&", text)
    return re.sub(r"\s+", " ", text).strip()


@lru_cache(maxsize=262144)
def canonical_syllable(token: str) -> str:
    """One lower-case token with the canonical tone placement (cached: the vocabulary is small)."""
    return canonical_tones(token)


def syllables(text: str) -> list[str]:
    """Lower-case syllables with their diacritics (NFC, canonical tone marks)."""
    return [canonical_syllable(t) for t in _TOKEN_RE.findall(nfc(text).lower())]


def expand_abbreviations(text: str) -> str:
    """Append the expansion after each abbreviation: ``HTX`` -> ``HTX (hợp tác xã)``.

    Matching is on folded text, so ``htx`` or ``So KH&DT`` typed without diacritics are found.
    ``fold`` keeps string length for NFC Vietnamese text, so positions map back 1:1.
    """
    text = _AMP_RE.sub("&", nfc(text))
    folded = fast_fold(text)
    if len(folded) != len(text):  # should not happen for NFC input; be safe
        return text + " " + " ".join(_ABBR_TABLE[m.group(0)] for m in _ABBR_RE.finditer(folded))
    return _splice(text, folded, _ABBR_TABLE)


def _splice(text: str, folded: str, expansions: dict[str, str]) -> str:
    """``text`` with `` (expansion)`` after each abbreviation found in ``folded`` (its fold,
    position for position)."""
    out: list[str] = []
    last = 0
    for m in _ABBR_RE.finditer(folded):
        out.append(text[last:m.end()])
        out.append(f" ({expansions[m.group(0)]})")
        last = m.end()
    out.append(text[last:])
    return "".join(out)


_ABBR_FOLDED = {k: fast_fold(v) for k, v in _ABBR_TABLE.items()}


def fold_expanded(text: str) -> str:
    """``fast_fold(expand_abbreviations(text))`` with one fold of the text instead of three."""
    folded = fast_fold(_AMP_RE.sub("&", nfc(text)))
    return _splice(folded, folded, _ABBR_FOLDED)


@lru_cache(maxsize=65536)
def _fold_syllable(s: str) -> str:
    return fold(s)


def analyze(text: str, *, expand: bool = True, exact: bool = True) -> list[str]:
    """Token stream of a passage (or a question): folded syllables, folded pairs, exact syllables."""
    if expand:
        text = expand_abbreviations(text)
    syl = syllables(text)
    folded = [_fold_syllable(s) for s in syl]
    tokens = list(folded)
    tokens.extend(f"{a}_{b}" for a, b in zip(folded, folded[1:]))
    if exact:
        tokens.extend("=" + s for s in syl)
    return tokens


def analyze_query(text: str, *, exact: bool = True, restored_from_folded: bool = False) -> list[str]:
    """Token stream of a question: like :func:`analyze`, stopword syllables dropped, unique.

    ``restored_from_folded``: the diacritics were guessed by the restorer, so exact tokens are
    added next to (not instead of) the folded ones; a wrong guess then costs little.
    """
    text = expand_abbreviations(text)
    syl = syllables(text)
    folded = [_fold_syllable(s) for s in syl]
    tokens: list[str] = [f for f in folded if f not in STOPWORDS_FOLDED]
    tokens.extend(f"{a}_{b}" for a, b in zip(folded, folded[1:]) if not (a in STOPWORDS_FOLDED and b in STOPWORDS_FOLDED))
    if exact:
        tokens.extend("=" + s for s, f in zip(syl, folded) if f not in STOPWORDS_FOLDED)
    return list(dict.fromkeys(tokens))


def content_terms(text: str) -> list[str]:
    """Folded non-stopword syllables of ``text`` (after expansion), unique, in order."""
    folded = [_fold_syllable(s) for s in syllables(expand_abbreviations(text))]
    keep = (f for f in folded if f not in STOPWORDS_FOLDED and (not f.isdigit() or len(f) >= 2))
    return list(dict.fromkeys(keep))
