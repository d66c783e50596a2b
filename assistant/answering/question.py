"""What a question asks for: its intent (duties, a figure, a deadline, who leads...) and its
focus terms (the words an answer must contain), found with simple rules on folded text."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.normalize import fold
from ingest.vocab import AGENCIES, PROVINCES, find_agencies, find_provinces

from assistant.answering.passages import syllables

# Question words, politeness, function words (Vietnamese and the English a user may mix in):
# never focus terms.
STOP = set(
    """
    a ai anh biet cac cach cho chua co cua cung da day den deu di do duoc gi giup ha hay hon khi khong
    kia la len lieu ma mot nao nay neu nhe nhieu nhu nhung o oi phai ra rang rieng roi sao se thi trong va
    vay ve voi xin thuoc nhat nua ong em cau tom tat liet ke gom con ko nhau khac giong chenh muon
    what which who whom when where how many much must should does did of for and is are with about please answer
    """.split()
)
# Domain words (after contraction, see assistant.answering.passages.score_tokens) so common in this
# corpus that they carry no focus.
GENERIC = set(
    """
    htx tht kttt ubnd lmhtx tinh so ke hoach nhiem vu giai phap phat trien thuc hien viec cong tac
    trach nhiem vai tro duoc giao giao lam gi nhiem chiu trach ve hangnam phandau datra dat
    """.split()
)
DUTY_PATTERNS = (
    r"\bphai lam gi\b", r"\blam gi\b", r"\bnhiem vu\b", r"\btrach nhiem\b", r"\bduoc giao\b", r"\bvai tro\b",
    r"\bphan cong\b", r"\bgiao (?:cho )?(?:nhung )?(?:viec|nhiem vu) gi\b", r"\bcan lam\b", r"\bdam nhan\b",
    r"\bchiu trach nhiem\b", r"\bco nhiem vu\b",
)
NUMERIC_PATTERNS = (
    r"\bbao nhieu\b", r"\bmay\b", r"\bty le\b", r"\bphan tram\b", r"%", r"\bmuc\b", r"\bchi tieu\b",
    r"\bso luong\b", r"\bit nhat\b", r"\btoi thieu\b", r"\bmuc tieu\b",
)
DEADLINE_PATTERNS = (
    r"\bkhi nao\b", r"\bthoi han\b", r"\bbao gio\b", r"\bthoi gian\b", r"\bhan chot\b", r"\bnam nao\b",
    r"\btruoc ngay\b", r"\bngay nao\b", r"\bthang nao\b", r"\bdinh ky\b", r"\bhan\b(?! che)", r"\bmoc\b",
    r"\bhieu luc\b", r"\bky nao\b", r"\bgiai doan nao\b", r"\bbao lau\b",
)
LEAD_PATTERNS = (
    r"\bai\b", r"\bco quan nao\b", r"\bdon vi nao\b", r"\bbo phan nao\b", r"\bphong nao\b", r"\bban nao\b",
    r"\bso nao\b", r"\bnganh nao\b", r"\bgui (?:ve |cho )?dau\b", r"\bve dau\b", r"\bgui ve\b",
    # "hỏi ai", "liên hệ ai", "tìm đến đâu", "hỏi ở đâu": where a founder goes for help.
    r"\b(?:hoi|tim|lien he|lien lac|gap|nho)(?: (?:den|toi|o|tai|voi))? (?:dau|ai|noi nao|cho nao)\b",
)
# The "who / where to go" phrase of such a question: what kind of answer is wanted (an agency),
# never what it is about ("hỏi", "liên hệ", "cơ quan" are not topic words).
WHO_PHRASE = re.compile(
    r"\b(?:(?:hoi|tim|lien he|lien lac|gap|nho)(?: (?:den|toi|o|tai|voi))? )?"
    r"(?:ai|dau|noi nao|cho nao|(?:co quan|don vi|bo phan|phong|ban|so|nganh) nao)\b"
    r"|\b(?:hoi|tim|lien he|lien lac|gap|nho)(?: (?:den|toi|o|tai|voi))?(?= (?:co quan|don vi|bo phan|so|nganh) nao\b)"
)
# "Gửi về đâu / báo cáo cho ai": asks where something is sent, not who handles a topic.
_RECIPIENT = re.compile(r"\b(?:gui|bao cao|nop|trinh)\b")

DOCNUM_PATTERNS = (
    r"\b(?:nghi dinh|quyet dinh|thong tu|chi thi|nghi quyet|ket luan|van ban|cong van|quy dinh|chuong trinh|ke hoach)"
    r"(?: so)? (?:nao|gi|may)\b",
    r"\bso hieu\b", r"\bso may\b", r"\bcan cu\b", r"\btheo (?:quy dinh|van ban) nao\b",
)
COMPARE_PATTERNS = (
    r"\bso sanh\b", r"\bkhac nhau\b", r"\bgiong nhau\b", r"\bcac tinh\b", r"\btinh nao\b", r"\bnhung tinh\b",
    r"\bmoi tinh\b", r"\btung tinh\b", r"\bo dau\b", r"\bkhac biet\b", r"\bdoi chieu\b", r"\bchenh lech\b",
    r"\bkhac gi\b", r"\b(?:o|tai) (?:diem|cho) nao\b", r"\bdiem (?:khac|giong)\b",
)
# Comparison wording ("so sánh", "khác nhau ra sao", "giữa các tỉnh", "mỗi tỉnh"): it says the
# answer must be given per province, not what the answer is about, so it is never a focus word.
_COMPARE_PHRASES = re.compile(
    r"\b(?:so sanh|doi chieu|khac nhau|giong nhau|khac biet|chenh lech|chenh nhau|khac gi|(?:o|tai) (?:diem|cho) nao|"
    r"diem (?:khac|giong)(?: nhau| biet)?|"
    r"(?:giua |o |cua |tai )?(?:cac|hai|ba|bon|nam|moi|tung|nhung) tinh(?: (?:voi|va) nhau)?)\b"
    # "giữa Lâm Đồng và Đắk Nông" once the names are blanked: "giữa" followed by nothing but "và".
    r"|\bgiua(?=(?:[\s,.?!;]|\bva\b)*(?:$|\b(?:ve|thi|co|dat|la|doi voi|trong)\b))"
)
# Several agencies listed together ("MTTQ, Liên đoàn Lao động và Hội Nông dân"): only
# separators between their names. "X phối hợp với Y" names a partner, not a second subject.
_AGENCY_SEPARATOR = re.compile(r"^(?:[\s,;/&+]|\bva\b|\bcung\b|\bhoac\b)*$")
# "mỗi bên / từng cơ quan / lần lượt": each named agency is asked about.
_EACH_AGENCY = re.compile(r"\b(?:moi|tung) (?:ben|co quan|don vi|to chuc|noi|nganh|so|hoi|dia phuong)\b|\blan luot\b|\brieng tung\b")


def _any(patterns: tuple[str, ...], folded: str) -> bool:
    return any(re.search(p, folded) for p in patterns)


def _alias_spans(folded: str, agencies: bool = True) -> list[tuple[int, int]]:
    """Character spans of recognised province (and agency) names in folded text."""
    spans: list[tuple[int, int]] = []
    for table in ((PROVINCES, AGENCIES) if agencies else (PROVINCES,)):
        for canonical, aliases in table.items():
            for a in {fold(x) for x in (canonical, *aliases)}:
                for m in re.finditer(rf"(?<![\w&]){re.escape(a)}(?![\w&])", folded):
                    spans.append(m.span())
    return spans


# Question phrases: they say what kind of answer is wanted (the intent), not what it is about.
_QUESTION_PHRASES = re.compile(
    r"\b(?:bao nhieu|bao gio|bao lau|nhu the nao|the nao|ra sao|la gi|nhung gi|khi nao|ngay nao|nam nao|"
    r"thang nao|o dau|ve dau|tu dau|lay tu dau|den dau|tu khi nao|ke tu khi nao|han chot|thoi han|dung khong|phai khong|co phai|han(?! che))\b"
)


def _without_entities(text: str, agencies: bool = True, questions: bool = True) -> str:
    """Folded ``text`` with province (and agency) names, and question phrases, blanked."""
    folded = fold(text)
    chars = list(folded)
    for a, b in _alias_spans(folded, agencies):
        for i in range(a, b):
            chars[i] = " "
    out = "".join(chars)
    return _blank_question_phrases(out) if questions else out


def _blank(regex: re.Pattern[str], folded: str) -> str:
    return regex.sub(lambda m: " " * len(m.group(0)), folded)


def _blank_question_phrases(folded: str) -> str:
    """Question and comparison phrases of entity-blanked folded text replaced by spaces."""
    return _blank(_COMPARE_PHRASES, _blank(_QUESTION_PHRASES, folded))


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
    docnum: bool = False  # asks which decree / decision / circular
    basis: bool = False  # asks what the document is based on / implements ("căn cứ", "để thực hiện")
    focus: tuple[str, ...] = ()  # scoring tokens without entities, question words and generic words
    terms: tuple[str, ...] = ()  # scoring tokens without provinces and question words (agencies kept)
    subject: tuple[str, ...] = ()  # focus tokens of what a "how much" question asks about
    subject_seq: tuple[str, ...] = ()  # the same span's content tokens in order (for its head noun)
    numbers: tuple[str, ...] = field(default_factory=tuple)  # numbers the user wrote
    focus_text: str = ""  # the question without question phrases (for word segmentation)
    listed_agencies: tuple[str, ...] = ()  # two or more agencies asked about together, in question order

    @property
    def agency_listing(self) -> bool:
        """'What must agency X do / how does X take part?': list all its duties (a figure, a
        deadline, a 'who' or a 'which decree' question is answered from the best passages)."""
        return bool(self.agencies) and not (self.numeric or self.deadline or self.lead or self.docnum)

    @property
    def who(self) -> bool:
        """'Who handles this / where do I go?' with no agency named ("HTX muốn vay vốn thì hỏi
        ai?"): answered with the agencies whose passages are about the topic."""
        if not self.lead or self.agencies or self.numeric or self.deadline or self.docnum or self.basis:
            return False
        return not _RECIPIENT.search(" ".join(syllables(self.text)))

    @property
    def focused(self) -> bool:
        return self.numeric or self.deadline or self.lead or self.docnum


def _subject_span(folded: str) -> str:
    """The words a "how much / what rate" question asks about: "[Vốn điều lệ tối thiểu để
    thành lập một HTX] là bao nhiêu", "có bao nhiêu [HTX sở hữu sản phẩm OCOP]"."""
    m = re.search(r"^(.*?)\bbao nhieu\b(.*)$", folded) or re.search(r"^(.*?)\bmay\b(.*)$", folded)
    if not m:
        return ""
    return f"{m.group(1)} {m.group(2).split(',')[0]}"


def analyse_question(text: str, provinces: tuple[str, ...] | None = None, agencies: tuple[str, ...] | None = None) -> QuestionInfo:
    from assistant.answering.passages import numbers_in, score_tokens

    folded = " ".join(syllables(text))
    raw_fold = fold(text)
    provinces = tuple(provinces) if provinces is not None else tuple(find_provinces(text))
    agencies = tuple(agencies) if agencies is not None else tuple(find_agencies(text))
    agencies = tuple(a for a in agencies if not _recipient(a, folded))
    no_prov = _without_entities(text, agencies=False)
    terms = tuple(t for t in score_tokens(no_prov) if _content(t))
    no_ent = set(score_tokens(_without_entities(text)))
    focus = tuple(t for t in terms if t in no_ent and t not in GENERIC and not t.isdigit())
    subj_fold = _subject_span(" ".join(re.findall(r"[a-z0-9%,]+", _without_entities_keep_count(text))))
    subject_seq = tuple(t for t in score_tokens(subj_fold) if _content(t) and not t.isdigit())
    subject = tuple(t for t in subject_seq if t not in GENERIC)
    yes_no = bool(re.search(r"\b(?:dung khong|phai khong|co phai|dung chu|co dung)\b", folded))
    numbers = tuple(numbers_in(text))
    return QuestionInfo(
        text=text,
        provinces=provinces,
        agencies=agencies,
        duty=_any(DUTY_PATTERNS, folded),
        numeric=_any(NUMERIC_PATTERNS, folded) or "%" in raw_fold or (yes_no and bool(numbers) and not only_dates(text)),
        deadline=_any(DEADLINE_PATTERNS, folded) or (yes_no and only_dates(text)),
        lead=_any(LEAD_PATTERNS, folded),
        compare=_any(COMPARE_PATTERNS, folded),
        docnum=_any(DOCNUM_PATTERNS, folded),
        basis=bool(re.search(r"\bcan cu\b|\bde thuc hien\b|\bthuc hien (?:nhung |cac )?(?:van ban|chi thi|nghi quyet|ket luan) nao\b", folded)),
        focus=focus,
        terms=terms,
        subject=subject,
        subject_seq=subject_seq,
        numbers=numbers,
        focus_text=_strip_question_phrases(text),
        listed_agencies=listed_agencies(raw_fold, agencies),
    )


def _agency_mentions(folded: str, agencies: tuple[str, ...]) -> list[tuple[int, int, str]]:
    """(start, end, canonical name) of each named agency's first mention (longest alias wins)."""
    found: list[tuple[int, int, str]] = []
    for name in agencies:
        spans = []
        for a in {fold(x) for x in (name, *AGENCIES.get(name, ()))}:
            spans += [m.span() for m in re.finditer(rf"(?<![\w&]){re.escape(a)}(?![\w&])", folded)]
        if spans:
            a, b = min(spans, key=lambda s: (s[0], -s[1]))
            found.append((a, b, name))
    found.sort()
    out: list[tuple[int, int, str]] = []
    for a, b, name in found:
        if out and a < out[-1][1]:
            continue  # inside a longer name ("Liên đoàn Lao động" is not "Sở Lao động")
        out.append((a, b, name))
    return out


def listed_agencies(folded: str, agencies: tuple[str, ...]) -> tuple[str, ...]:
    """The agencies a question asks about together: named one after another with only
    separators between them ("MTTQ, Liên đoàn Lao động và Hội Nông dân"), or with "mỗi bên /
    từng cơ quan". "X phối hợp với Y", "UBND tỉnh giao X" name one subject: ()."""
    mentions = _agency_mentions(folded, agencies)
    if len(mentions) < 2:
        return ()
    if _EACH_AGENCY.search(" ".join(re.findall(r"\w+", folded))):
        return tuple(n for _, _, n in mentions)
    run = [mentions[0]]
    best: list[tuple[int, int, str]] = []
    for m in mentions[1:]:
        if _AGENCY_SEPARATOR.match(folded[run[-1][1]:m[0]]):
            run.append(m)
        else:
            best = max(best, run, key=len)
            run = [m]
    best = max(best, run, key=len)
    return tuple(n for _, _, n in best) if len(best) >= 2 else ()


_DATE_RE = re.compile(
    r"\b(?:ngay\s+)?\d{1,2}\s*(?:thang\s+|/)\d{1,2}(?:\s*(?:nam\s+|/)\d{4})?\b|\b(?:thang\s+\d{1,2}\s+)?(?:nam\s+)?(?:19|20)\d{2}\b"
)


def only_dates(text: str) -> bool:
    """Every number the user wrote is part of a date or a year ("... năm 2025, đúng không?",
    "trước ngày 31 tháng 12 phải không?"): the claim is about when, not how much."""
    folded = fold(text)
    if not re.search(r"\d", folded) or re.search(r"\d+/[a-z]", folded):
        return False  # no number, or a document number ("52/QĐ-UBND")
    return not re.search(r"\d", _DATE_RE.sub(" ", folded))


def _without_entities_keep_count(text: str) -> str:
    """Entity-free folded text that still says "bao nhiêu" (to find what it is about)."""
    folded = fold(text)
    chars = list(folded)
    for a, b in _alias_spans(folded):
        for i in range(a, b):
            chars[i] = " "
    return _blank(_COMPARE_PHRASES, "".join(chars))


def _recipient(agency: str, folded: str) -> bool:
    """The agency is where something is sent ("báo cáo về Sở KH&ĐT"), not who acts."""
    for canonical, aliases in AGENCIES.items():
        if canonical != agency:
            continue
        for a in {fold(x) for x in (canonical, *aliases)}:
            a = " ".join(re.findall(r"\w+", a))
            if re.search(rf"\b(?:ve|gui|gui ve|gui cho|cho|den|toi|len) (?:cac )?{re.escape(a)}\b", folded):
                return True
    return False


def _strip_question_phrases(text: str) -> str:
    """``text`` (accents kept) without its question phrases ("bao nhiêu", "như thế nào"...)."""
    from ingest.normalize import nfc

    text = nfc(text)
    folded = fold(text)
    if len(folded) != len(text):
        return text
    chars = list(text)
    blanked = list(folded)
    for a, b in _alias_spans(folded):
        blanked[a:b] = " " * (b - a)
    masked = _blank_question_phrases("".join(blanked))
    for i, ch in enumerate(masked):
        if ch == " " and blanked[i] != " ":
            chars[i] = " "  # a question or comparison phrase (names themselves are kept)
    return "".join(chars)


def _content(t: str) -> bool:
    return t not in STOP and (len(t) > 1 or t.isdigit()) and not _YEARISH.match(t)


_YEARISH = re.compile(r"^(?:19|20)\d{2}$")


def topic_info(info: QuestionInfo) -> QuestionInfo:
    """``info`` without its "who / where to go" wording: the words left say what the agency
    must be about ("vay vốn" in "HTX muốn vay vốn thì hỏi ai?")."""
    from dataclasses import replace

    from assistant.answering.passages import score_tokens

    folded = " ".join(syllables(info.text))
    asked = set(score_tokens(" ".join(m.group(0) for m in WHO_PHRASE.finditer(folded))))
    focus_text = info.focus_text or info.text
    ft = fold(info.text)
    if len(ft) == len(focus_text):
        chars = list(focus_text)
        for m in WHO_PHRASE.finditer(ft):
            chars[m.start():m.end()] = " " * (m.end() - m.start())
        focus_text = "".join(chars)
    return replace(info, focus=tuple(t for t in info.focus if t not in asked),
                   terms=tuple(t for t in info.terms if t not in asked), focus_text=focus_text)
