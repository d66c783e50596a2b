"""What a question asks for: its intent (duties, a figure, a deadline, who leads...) and its
focus terms (the words an answer must contain), found with simple rules on folded text."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.normalize import fold
from ingest.vocab import AGENCIES, PROVINCES, find_agencies, find_provinces

from assistant.passages import syllables

# Question words, politeness and function words: never focus terms.
STOP = set(
    """
    a ai anh ban bao biet bo boi cac cach can cho chi chiu chua co cua cung da dang day de den deu di do duoc gi
    giup ha hay hoi hon khi khong kia la lam len lieu luc ma may minh moi mot muon nao nay neu nhe nhieu nho nhu
    nhung noi o oi phai ra rang rieng roi sao se tai the theo thi thoi toi tra trong tu va van vay ve vi voi xin
    thuoc nhat nua ong em chung hieu thay cau tom tat liet ke hien nay tai gom
    """.split()
)
# Domain words so common in this corpus that they carry no focus.
GENERIC = set(
    """
    hop tac xa htx tinh so kinh te tap the ke hoach nhiem vu giai phap phat trien thuc hien viec cong tac
    trach nhiem vai tro duoc giao giao lam gi nhiem chiu trach uy ban nhan dan ubnd ve
    """.split()
)
DUTY_PATTERNS = (
    r"\bphai lam gi\b", r"\blam gi\b", r"\bnhiem vu\b", r"\btrach nhiem\b", r"\bduoc giao\b", r"\bvai tro\b",
    r"\bphan cong\b", r"\bgiao (?:cho )?(?:nhung )?(?:viec|nhiem vu) gi\b", r"\bcan lam\b", r"\bdam nhan\b",
    r"\bchiu trach nhiem\b", r"\bco nhiem vu\b",
)
NUMERIC_PATTERNS = (
    r"\bbao nhieu\b", r"\bmay\b", r"\bty le\b", r"\bphan tram\b", r"%", r"\bmuc\b", r"\bchi tieu\b",
    r"\bso luong\b", r"\bit nhat\b", r"\btoi thieu\b", r"\bmuc tieu\b", r"\bso hieu\b", r"\bso van ban\b",
)
DEADLINE_PATTERNS = (
    r"\bkhi nao\b", r"\bthoi han\b", r"\bbao gio\b", r"\bthoi gian\b", r"\bhan chot\b", r"\bnam nao\b",
    r"\btruoc ngay\b", r"\bngay nao\b", r"\bthang nao\b", r"\bdinh ky\b", r"\bhan\b", r"\bmoc\b",
)
LEAD_PATTERNS = (
    r"\bai chu tri\b", r"\bchu tri\b", r"\bco quan nao\b", r"\bdon vi nao\b", r"\bai phu trach\b",
    r"\bphoi hop\b", r"\bai\b", r"\bdau moi\b",
)
COMPARE_PATTERNS = (
    r"\bso sanh\b", r"\bkhac nhau\b", r"\bgiong nhau\b", r"\bcac tinh\b", r"\btinh nao\b", r"\bnhung tinh\b",
    r"\bmoi tinh\b", r"\btung tinh\b", r"\bo dau\b",
)


def _any(patterns: tuple[str, ...], folded: str) -> bool:
    return any(re.search(p, folded) for p in patterns)


def _alias_spans(folded: str) -> list[tuple[int, int]]:
    """Character spans of recognised province/agency names in folded text."""
    spans: list[tuple[int, int]] = []
    for table in (PROVINCES, AGENCIES):
        for canonical, aliases in table.items():
            for a in {fold(x) for x in (canonical, *aliases)}:
                for m in re.finditer(rf"(?<![\w&]){re.escape(a)}(?![\w&])", folded):
                    spans.append(m.span())
    return spans


def _without_entities(text: str) -> str:
    folded = fold(text)
    chars = list(folded)
    for a, b in _alias_spans(folded):
        for i in range(a, b):
            chars[i] = " "
    return "".join(chars)


@dataclass(frozen=True)
class QuestionInfo:
    text: str
    provinces: tuple[str, ...] = ()
    agencies: tuple[str, ...] = ()
    duty: bool = False
    numeric: bool = False
    deadline: bool = False
    lead: bool = False
    compare: bool = False
    focus: tuple[str, ...] = ()  # folded content syllables (no entities, no question/generic words)
    terms: tuple[str, ...] = ()  # folded content syllables (no entities, no question words)
    numbers: tuple[str, ...] = field(default_factory=tuple)  # numbers the user wrote

    @property
    def agency_listing(self) -> bool:
        """'What must agency X do?' with nothing more specific: list all its duties."""
        return bool(self.agencies) and self.duty and not self.focus


def analyse_question(text: str, provinces: tuple[str, ...] | None = None, agencies: tuple[str, ...] | None = None) -> QuestionInfo:
    folded = " ".join(syllables(text))
    raw_fold = fold(text)
    provinces = tuple(provinces) if provinces is not None else tuple(find_provinces(text))
    agencies = tuple(agencies) if agencies is not None else tuple(find_agencies(text))
    rest = " ".join(re.findall(r"[a-z]+", _without_entities(text)))
    terms = tuple(t for t in rest.split() if t not in STOP and len(t) > 1)
    focus = tuple(t for t in terms if t not in GENERIC)
    from assistant.passages import numbers_in

    return QuestionInfo(
        text=text,
        provinces=provinces,
        agencies=agencies,
        duty=_any(DUTY_PATTERNS, folded),
        numeric=_any(NUMERIC_PATTERNS, folded) or "%" in raw_fold,
        deadline=_any(DEADLINE_PATTERNS, folded),
        lead=_any(LEAD_PATTERNS, folded),
        compare=_any(COMPARE_PATTERNS, folded),
        focus=focus,
        terms=terms,
        numbers=tuple(numbers_in(text)),
    )
