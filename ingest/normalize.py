"""Vietnamese text normalisation shared by ingestion, indexing and query handling.

- ``normalize_text``: NFC, one canonical tone-mark placement, tidy whitespace.
- ``canonical_tones``: ``Uỷ``/``Ủy``, ``hoà``/``hòa`` become one spelling (the traditional
  placement, which most of the corpus uses: ``Ủy``, ``hòa``, ``thủy``).
- ``fold``: lower case without diacritics (``Sở Công Thương`` -> ``so cong thuong``), for
  accent-insensitive matching.
"""

from __future__ import annotations

import re
import unicodedata

# Combining tone marks (grave, acute, tilde, hook above, dot below).
_TONES = "\u0300\u0301\u0303\u0309\u0323"
_TONE_RE = re.compile(f"[{_TONES}]")
_WORD_RE = re.compile(r"\w+", re.UNICODE)
# Syllables ending in these open vowel pairs carry the tone on the first vowel in the
# traditional placement (hòa, thủy, Ủy) and on the second in the "new" one (hoà, thuỷ, Uỷ).
_OPEN_PAIRS = ("oa", "oe", "uy")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _canonical_syllable(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word)
    tones = _TONE_RE.findall(decomposed)
    if len(tones) != 1:
        return word
    base = _TONE_RE.sub("", decomposed)
    plain = unicodedata.normalize("NFC", base)
    low = plain.lower()
    pair = next((p for p in _OPEN_PAIRS if low.endswith(p)), None)
    if pair is None or len(low) > 4:
        return word
    prefix = low[: -len(pair)]
    # "qu" and "gi" make the u/i part of the consonant: quý, quá keep the tone on the last vowel.
    if prefix.endswith("q") or prefix.endswith("g"):
        return word
    if any(ch in "aeiouyăâêôơư" for ch in prefix):
        return word
    pos = len(plain) - len(pair)  # index of the first vowel of the pair in ``plain``
    target = plain[:pos + 1] + tones[0] + plain[pos + 1:]
    return unicodedata.normalize("NFC", target)


def canonical_tones(text: str) -> str:
    """Put the tone mark of open oa/oe/uy syllables on the first vowel (Uỷ -> Ủy, hoà -> hòa)."""
    return _WORD_RE.sub(lambda m: _canonical_syllable(m.group(0)), text)


def tidy_whitespace(text: str) -> str:
    text = text.replace("\u00a0", " ").replace("\u200b", "")
    text = re.sub(r"[ \t\f\v]+", " ", text)
    return text.strip()


def normalize_text(text: str) -> str:
    """NFC + canonical tones + single spaces (newlines kept)."""
    text = canonical_tones(nfc(text))
    return "\n".join(tidy_whitespace(line) for line in text.split("\n"))


def strip_diacritics(text: str) -> str:
    text = unicodedata.normalize("NFD", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    return text.replace("đ", "d").replace("Đ", "D")


def fold(text: str) -> str:
    """Lower case, no diacritics: the key for accent-insensitive matching."""
    return strip_diacritics(nfc(text)).lower()


def has_diacritics(text: str) -> bool:
    """True when the text carries Vietnamese diacritics (tone marks, ă â ê ô ơ ư, đ)."""
    return strip_diacritics(nfc(text)) != nfc(text)
