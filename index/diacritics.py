"""Restore Vietnamese diacritics on questions typed without them.

Trained on the indexed corpus itself (plus a few hundred common question words): for each
folded syllable (``so``) the accented forms seen (``sở``, ``số``, ``so``), and syllable
unigram and bigram counts over the accented text. A question's folded syllables are decoded
with Viterbi under an interpolated bigram model, so ``so cong thuong phai lam gi`` becomes
``sở công thương phải làm gì``. Syllables that already carry diacritics are kept as typed and
anchor their neighbours. Unknown syllables get a conservative one-edit typo correction
towards frequent corpus syllables. Well under 1 ms per question.

The model is immutable; the index rebuilds it whenever its set of chunks changes.
"""

from __future__ import annotations

import importlib.util
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from ingest.normalize import canonical_tones, fold, has_diacritics, nfc
from ingest.vocab import ABBREVIATIONS

_TOKEN_RE = re.compile(r"\w+", re.UNICODE)
# Punctuation that ends a phrase: bigrams do not cross it.
_BREAK_RE = re.compile(r"[.,;:!?()\[\]\"“”…\n|/]+")
_BOS = "<s>"
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_ABBR_FOLDED = frozenset(fold(a) for a in ABBREVIATIONS) | frozenset(
    fold(p) for a in ABBREVIATIONS for p in re.split(r"[&\-]", a) if p)

# Everyday question wording that a policy corpus rarely contains; counted like corpus text so
# "phai lam gi", "bao nhieu", "khi nao" restore correctly.
SEED_TEXT = """
phải làm gì. làm gì. cần làm gì. có nhiệm vụ gì. nhiệm vụ là gì. trách nhiệm gì. là gì. là ai.
bao nhiêu. có bao nhiêu. bao nhiêu phần trăm. mấy. mấy phần trăm. khi nào. bao giờ. đến khi nào.
trước ngày nào. hạn chót là khi nào. thời hạn là khi nào. thời hạn ra sao. ở đâu. tại sao. vì sao.
như thế nào. thế nào. ra sao. thì sao. còn thì sao. bao lâu. bao lâu một lần. mấy lần. một lần.
ai chịu trách nhiệm. ai phụ trách. do ai phụ trách. do ai. do cơ quan nào. do đơn vị nào. do bộ phận nào.
cơ quan nào. sở nào. đơn vị nào. bộ phận nào. tỉnh nào. huyện nào. xã nào. năm nào. mức nào. loại nào.
khi nào xong. bao giờ xong. phải xong. hoàn thành khi nào. xong chưa. đã có chưa.
thì hỏi ai. thì làm gì. hỏi ai. liên hệ ai. tôi muốn. tôi cần. tôi là. chúng tôi. của tôi.
mình muốn. em muốn. cho em hỏi. cho tôi hỏi. xin hỏi. xin cho biết. cho biết. có được không.
có không. được không. được gì. có phải. có phải không. đúng không. không có. có những. những gì.
được hỗ trợ gì. hỗ trợ những gì. gồm những gì. bao gồm. những nội dung nào. nội dung gì.
muốn thành lập. muốn vay vốn. ở tỉnh. của tỉnh. trong tỉnh. ở huyện. ở xã.
mục tiêu là gì. đặt mục tiêu. đặt ra. đặt chỉ tiêu. phải đạt. đạt bao nhiêu. đạt được. chỉ tiêu là bao nhiêu.
hướng tới. tăng lên. giảm xuống. giảm xuống dưới. dưới mức. trên mức. ít nhất. tối thiểu. tối đa.
mỗi năm. hằng năm. hàng năm. mỗi huyện. mỗi xã. mỗi tỉnh. mỗi đơn vị. mỗi người.
kinh phí từ đâu. lấy từ đâu. nguồn vốn nào. báo cáo gửi ai. gửi báo cáo. gửi cho ai. gửi về đâu.
phối hợp với ai. giao cho ai. ai được giao. đến năm. trong năm. trong giai đoạn. trong phụ lục. trong kế hoạch.
nói gì về. quy định gì về. có quy định. văn bản nào. kế hoạch nào. quyết định nào. chỉ thị nào.
nhắc đến. được nhắc đến. đề cập đến. so sánh. khác nhau. giống nhau. như nhau. khác nhau thế nào.
"""
SEED_WEIGHT = 3.0  # question wording counts as three corpus occurrences


_CONFUSED_INITIALS = (("s", "x"), ("x", "s"), ("ch", "tr"), ("tr", "ch"), ("gi", "d"), ("d", "gi"),
                      ("r", "d"), ("d", "r"), ("r", "gi"), ("gi", "r"), ("l", "n"), ("n", "l"))
_CONFUSED_FINALS = (("ng", "n"), ("n", "ng"), ("c", "t"), ("t", "c"))
CONFUSION_PENALTY = math.log(1e-3)  # only a strong bigram context overrides what was typed
TYPO_PENALTY = 0.0  # an unknown syllable has no typed reading to defend: context decides


LEXICON_UNIGRAM = 0.05  # each dictionary syllable gets this (tiny) unigram count


@lru_cache(maxsize=1)
def general_lexicon() -> tuple[str, ...]:
    """Vietnamese word list (about 31k entries, one word per line) from the pyvi package's
    data, read as a plain file (pyvi itself is not imported). Empty when pyvi is absent."""
    try:
        spec = importlib.util.find_spec("pyvi")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        return ()
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / "words.txt"
    try:
        words = path.read_text(encoding="utf-8").split("\n")
    except OSError:
        return ()
    return tuple(w.strip() for w in words if w.strip() and has_diacritics(w) or w.strip().isalpha())


@dataclass(frozen=True)
class RestoreResult:
    text: str
    changed: bool
    corrected: tuple[tuple[str, str], ...] = ()  # (typed, corrected) typo fixes


@dataclass
class DiacriticModel:
    """Syllable bigram model over accented forms, keyed by folded syllable."""

    forms: dict[str, list[str]] = field(default_factory=dict)  # folded -> accented forms, most frequent first
    unigrams: Counter = field(default_factory=Counter)
    bigrams: Counter = field(default_factory=Counter)
    folded_counts: Counter = field(default_factory=Counter)
    total: int = 0
    max_forms: int = 8
    smoothing: float = 2.0  # Dirichlet prior strength on the unigram model
    _corrections: dict = field(default_factory=dict, repr=False, compare=False)  # memo of corrections()

    # --- training ----------------------------------------------------------------------

    @classmethod
    def train(cls, texts: Iterable[str], seed_weight: float = SEED_WEIGHT,
              lexicon: Iterable[str] | None = None) -> "DiacriticModel":
        """Count syllables and pairs in ``texts`` (the indexed chunks), the built-in question
        wording, and the syllables of a general word list (``lexicon``; default: the Vietnamese
        dictionary shipped with pyvi when installed) at a tiny weight, so that everyday words
        missing from the corpus (``phần trăm``) are restored instead of "corrected"."""
        uni: Counter = Counter()
        bi: Counter = Counter()
        for text in texts:
            cls._count(text, uni, bi, 1)
        cls._count(SEED_TEXT, uni, bi, seed_weight)
        # Dictionary entries carry no frequency: they only vouch for a syllable (a candidate
        # form, never "corrected"). Their pairs are left out: rare dictionary words ("tình cờ")
        # made sharp bigrams that beat frequent corpus ones ("tỉnh có").
        lex_syl = {s for word in (general_lexicon() if lexicon is None else lexicon)
                   for s in _TOKEN_RE.findall(canonical_tones(nfc(word)).lower())}
        for w in sorted(lex_syl):  # in a fixed order: ties between forms rank by first insertion
            uni[w] += LEXICON_UNIGRAM
        forms: dict[str, Counter] = defaultdict(Counter)
        folded_counts: Counter = Counter()
        for w, c in uni.items():
            if w == _BOS:
                continue
            f = fold(w)
            forms[f][w] += c
            folded_counts[f] += c
        model = cls(
            forms={f: _attested(cnt) for f, cnt in forms.items()},
            unigrams=uni,
            bigrams=bi,
            folded_counts=folded_counts,
            total=sum(c for w, c in uni.items() if w != _BOS),
        )
        return model

    @staticmethod
    def _count(text: str, uni: Counter, bi: Counter, weight: float) -> None:
        from index.text import canonical_syllable

        text = nfc(text).lower()
        for phrase in _BREAK_RE.split(text):
            syl = [canonical_syllable(t) for t in _TOKEN_RE.findall(phrase)]
            if not syl:
                continue
            prev = _BOS
            uni[_BOS] += weight
            for s in syl:
                uni[s] += weight
                bi[(prev, s)] += weight
                prev = s

    # --- scoring -----------------------------------------------------------------------

    def _p_uni(self, w: str) -> float:
        v = len(self.unigrams) + 1
        return (self.unigrams.get(w, 0) + 0.1) / (self.total + 0.1 * v)

    def _logp(self, prev: str, w: str) -> float:
        if prev == _BOS:  # questions start anywhere; corpus phrase starts are list markers
            return math.log(self._p_uni(w))
        c_prev = self.unigrams.get(prev, 0)
        c_bi = self.bigrams.get((prev, w), 0)
        p = (c_bi + self.smoothing * self._p_uni(w)) / (c_prev + self.smoothing)
        return math.log(p)

    # --- typo correction ---------------------------------------------------------------

    def _edits1(self, word: str) -> set[str]:
        splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
        deletes = {a + b[1:] for a, b in splits if b}
        transposes = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
        replaces = {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
        inserts = {a + c + b for a, b in splits for c in _LETTERS}
        return deletes | transposes | replaces | inserts

    def correct(self, folded: str, min_count: int = 3) -> str | None:
        """Most frequent known folded syllable one edit away, or None (conservative)."""
        fixes = self.corrections(folded, min_count)
        return fixes[0] if fixes else None

    def corrections(self, folded: str, min_count: int = 3, k: int = 4) -> list[str]:
        """Up to ``k`` frequent known folded syllables one edit away from an unknown one,
        most frequent first; the bigram context picks among them (``Kiên Giag`` -> ``Giang``
        although ``giai`` is more frequent)."""
        if len(folded) < 3 or folded.isdigit() or folded in self.forms:
            return []
        cache = self._corrections
        key = (folded, min_count, k)
        found = cache.get(key)
        if found is None:
            scored = [(self.folded_counts.get(c, 0), c) for c in self._edits1(folded)]
            found = [c for n, c in sorted(scored, reverse=True) if n >= min_count][:k]
            if len(cache) > 50_000:
                cache.clear()
            cache[key] = found
        return found

    def _fix_candidates(self, fixes: list[str]) -> list[tuple[str, float]]:
        return [(w, TYPO_PENALTY) for f in fixes for w in self.forms[f][:3]]

    # --- decoding ----------------------------------------------------------------------

    def _confusable(self, folded: str) -> list[str]:
        """Known folded syllables that differ by a commonly confused initial or final
        (s/x, ch/tr, d/gi/r, l/n; -n/-ng, -c/-t): ``hop tac sa`` -> ``xã``."""
        out: list[str] = []
        for a, b in _CONFUSED_INITIALS:
            if folded.startswith(a):
                out.append(b + folded[len(a):])
        for a, b in _CONFUSED_FINALS:
            if folded.endswith(a) and len(folded) > len(a):
                out.append(folded[: -len(a)] + b)
        return [c for c in out if c in self.forms and c != folded]

    def _candidates(self, token: str, typos_only: bool = False) -> tuple[list[tuple[str, float]], str | None]:
        """(accented candidate, log-penalty) for one typed token (lower case), and a typo fix.

        ``typos_only``: the question was typed with diacritics; keep every known syllable as
        typed and only repair unknown ones (``Giag`` -> ``Giang``, ``thág`` -> ``tháng``)."""
        if _accented(token):
            token = canonical_tones(token)
            if token in self.unigrams or not typos_only:
                return [(token, 0.0)], None
            fixes = self.corrections(_fold(token))
            if not fixes:
                return [(token, 0.0)], None
            return self._fix_candidates(fixes), fixes[0]
        f = _fold(token)
        if typos_only:
            if f in self.forms or (f in _ABBR_FOLDED and len(f) >= 2) or len(f) < 3:
                return [(token, 0.0)], None
            fixes = self.corrections(f)
            if not fixes:
                return [(token, 0.0)], None
            return self._fix_candidates(fixes), fixes[0]
        if f in _ABBR_FOLDED and len(f) >= 2 and f not in self.forms:
            return [(token, 0.0)], None
        if f in self.forms:
            cands = [(w, 0.0) for w in self.forms[f][: self.max_forms]]
            for alt in self._confusable(f):
                cands.extend((w, CONFUSION_PENALTY) for w in self.forms[alt][:3])
            return cands, None
        fixes = self.corrections(f)
        if fixes:
            return self._fix_candidates(fixes), fixes[0]
        cands = [(token, 0.0)]
        for alt in self._confusable(f):
            cands.extend((w, CONFUSION_PENALTY) for w in self.forms[alt][:3])
        return cands, None

    def decode(self, tokens: list[str], typos_only: bool = False) -> tuple[list[str], list[str | None]]:
        """Viterbi over lower-case tokens of one phrase; returns forms and typo fixes."""
        if not tokens:
            return [], []
        cands, fixes = zip(*(self._candidates(t, typos_only) for t in tokens))
        # beams: candidate -> (score, back-pointer path)
        prev_layer: dict[str, tuple[float, list[str]]] = {_BOS: (0.0, [])}
        for options in cands:
            layer: dict[str, tuple[float, list[str]]] = {}
            for w, penalty in options:
                best = None
                for p, (score, path) in prev_layer.items():
                    s = score + penalty + self._logp(p, w)
                    if best is None or s > best[0]:
                        best = (s, path)
                assert best is not None
                layer[w] = (best[0], best[1] + [w])
            prev_layer = layer
        _, path = max(prev_layer.values(), key=lambda x: x[0])
        fixes = [_fold(w) if _fold(w) != _fold(t) else None for t, w in zip(tokens, path)]
        return path, fixes

    def restore(self, text: str, typos_only: bool = False) -> RestoreResult:
        """Restore diacritics on the unaccented syllables of ``text``, keeping case and punctuation.

        ``typos_only``: for a question typed with diacritics, only repair unknown syllables."""
        text = canonical_tones(nfc(text))
        out: list[str] = []
        corrected: list[tuple[str, str]] = []
        last = 0
        # Decode phrase by phrase (punctuation breaks the bigram chain).
        spans: list[list[re.Match[str]]] = [[]]
        pos = 0
        for m in _TOKEN_RE.finditer(text):
            if _BREAK_RE.search(text, pos, m.start()):
                spans.append([])
            spans[-1].append(m)
            pos = m.end()
        for phrase in spans:
            if not phrase:
                continue
            forms, fixes = self.decode([m.group(0).lower() for m in phrase], typos_only)
            for m, form, fix in zip(phrase, forms, fixes):
                typed = m.group(0)
                out.append(text[last:m.start()])
                out.append(_apply_case(typed, form))
                if fix is not None:
                    corrected.append((typed, form))
                last = m.end()
        out.append(text[last:])
        restored = "".join(out)
        return RestoreResult(restored, restored != text, tuple(corrected))


@lru_cache(maxsize=200_000)
def _fold(token: str) -> str:
    return fold(token)


@lru_cache(maxsize=200_000)
def _accented(token: str) -> bool:
    return has_diacritics(token)


def _attested(forms: Counter) -> list[str]:
    """Accented forms of one folded syllable, most frequent first. Forms seen only in the
    dictionary are candidates only when the corpus and the question wording have none."""
    ranked = [w for w, _ in forms.most_common()]
    seen = [w for w in ranked if forms[w] > LEXICON_UNIGRAM * 1.5]
    return seen or ranked


def _apply_case(typed: str, form: str) -> str:
    """Give ``form`` the letter case of ``typed`` (same length after NFC: map per character)."""
    if len(typed) == len(form):
        return "".join(f.upper() if t.isupper() else f for t, f in zip(typed, form))
    if len(typed) > 1 and typed.isupper():
        return form.upper()
    if typed[:1].isupper():
        return form[:1].upper() + form[1:]
    return form


def accented_ratio(text: str) -> float:
    """Share of alphabetic syllables that carry diacritics (0 when there are none)."""
    syl = [s for s in _TOKEN_RE.findall(nfc(text)) if not s.isdigit()]
    if not syl:
        return 0.0
    return sum(1 for s in syl if has_diacritics(s)) / len(syl)
