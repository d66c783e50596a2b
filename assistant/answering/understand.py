"""Understand: question + history -> :class:`Query`.

The question is never shortened: what the user typed is searched as typed (diacritics
restored by the index's analyzer when they were left out). What this stage adds:

- **entities**: agencies and provinces (recognised by ``ingest.vocab`` through the index's
  analyzer) and documents named in the question ("Nghị định số 45/2021/NĐ-CP", "Luật Cư trú");
- **intent**: what kind of answer is wanted, from Vietnamese question words (one regex per
  intent, see ``INTENT_CUES``): duty, figure, deadline, who, definition, procedure, condition,
  comparison, yesno; ``general`` when none applies. These cues are the grammar of questions
  in Vietnamese (bao nhiêu, khi nào, ai, là gì ...), not the wording of any document;
- **follow-ups**: a question that leans on the conversation (a pronoun such as "họ",
  "cơ quan đó", "còn ... thì sao?", or one without any entity or topic of its own) takes the
  *entities* of the latest earlier user question that had them, and, when it has no topic
  words of its own, that question's text. It never takes refusals, unknown terms, filters or
  the assistant's answers: only what users typed is looked at.

An LLM condenser (when configured) may rewrite a follow-up; its rewrite is used only when it
differs from the question and keeps every entity the rules found.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

from assistant.answering.corpus import term_seq
from index.text import content_terms, is_function_syllable
from index.types import QueryAnalysis
from index.text import fast_fold as fold

from assistant.answering.types import Turn

log = logging.getLogger("htx.understand")

# Vietnamese question words per intent, on folded text (no diacritics, lower case).
INTENT_CUES: dict[str, re.Pattern[str]] = {
    "duty": re.compile(
        r"\b(?:(?:phai |can |se )?lam (?:nhung )?(?:viec )?gi|nhung viec gi|viec gi|nhiem vu|trach nhiem|duoc giao|giao cho|vai tro|phan cong|"
        r"nghia vu|quyen han|chuc nang|dam nhan|phu trach)\b"),
    "figure": re.compile(
        r"\b(?:bao nhieu|may (?:hop tac xa|htx|lan|nguoi|thanh vien|ty|trieu|phan tram|%)|ty le|"
        r"phan tram|so luong|muc (?:ho tro|von|vay|tien|phi|le phi|toi thieu|toi da)|toi thieu|toi da|chi tieu|"
        r"muc tieu (?:la|dat)|gia tri|so tien|kinh phi)\b"),
    "deadline": re.compile(
        r"\b(?:khi nao|bao gio|bao lau|thoi han|han chot|truoc ngay|ngay nao|thang nao|nam nao|quy nao|"
        r"dinh ky|hieu luc|tu ngay|den ngay|thoi gian nao|thoi diem|may ngay|trong bao lau|han)\b"),
    "who": re.compile(
        r"(?:^|\s)(?:ai|co quan nao|don vi nao|to chuc nao|so nao|bo nao|nganh nao|cap nao|ben nao|"
        r"noi nao|o dau|ve dau|den dau|cho ai|hoi ai|lien he)(?:\s|$|[?.,])"),
    "definition": re.compile(
        r"\b(?:la gi|the nao la|duoc hieu la|duoc hieu nhu the nao|khai niem|dinh nghia|nghia la gi|goi la)\b"),
    "procedure": re.compile(
        r"\b(?:thu tuc|trinh tu|ho so|cac buoc|quy trinh|lam the nao|nhu the nao|cach (?:nao|thuc|de)|"
        r"dang ky|thanh lap (?:nhu the nao|ra sao))\b"),
    "condition": re.compile(
        r"\b(?:dieu kien|truong hop nao|duoc phep|co duoc|yeu cau gi|tieu chi|doi tuong nao|ai duoc)\b"),
    "comparison": re.compile(
        r"\b(?:so sanh|khac nhau|giong nhau|khac biet|khac gi|doi chieu|chenh lech|tung tinh|moi tinh|"
        r"cac tinh|theo tung|rieng tung|tinh nao)\b"),
    "yesno": re.compile(r"\b(?:dung hay sai|dung khong|phai khong|co phai|hay khong|dung hay khong)\b"),
}
# Asking for the answer province by province: the answer is grouped per province.
PER_PROVINCE_CUE = re.compile(r"\b(?:tung tinh|moi tinh|cac tinh|theo tinh|rieng tung|tinh nao|so sanh|khac nhau|giong nhau)\b")
# A follow-up leans on what came before: pronouns and "what about ..." frames.
FOLLOWUP_CUE = re.compile(
    r"^(?:con|the con|vay con|vay|va|con voi|the|the thi)\b|\bthi sao\b|\bthi the nao\b|\bra sao\b$"
    r"|(?:^|\s)(?:ho|no|chung|ben do)(?:\s|$|[?.,])"
    r"|\b(?:co quan|don vi|so|ban|nganh|to chuc|van ban|tinh|nghi dinh|luat|thong tu|quyet dinh|ke hoach|viec|"
    r"noi dung|nhiem vu|chinh sach|quy dinh) (?:do|nay|ay|tren|kia)\b")
# "Quỹ đó", "mô hình ấy", "chương trình kia": a noun and a demonstrative point back to what was
# said before, whatever the noun (read with diacritics: folded, "đó" is "do", "by")
_DEMONSTRATIVE = re.compile(r"(?<!\w)(?P<noun>[^\W\d_]+) (?:đó|ấy|kia)(?!\w)")


def _points_back(restored: str) -> bool:
    """A noun with a demonstrative after it ("Quỹ đó sẽ được cấp bao nhiêu vốn?"); a function
    word before "đó" ("trong đó", "sau đó", "ở đó") is no noun."""
    return any(not is_function_syllable(m.group("noun")) for m in _DEMONSTRATIVE.finditer((restored or "").lower()))


# Document references: "Nghị định số 45/2021/NĐ-CP", "Quyết định 52/QĐ-UBND", "Luật Hợp tác xã 2023".
DOC_NUMBER = re.compile(r"\b\d{1,4}(?:/\d{4})?/[A-ZĐa-zđ&]+(?:-[A-ZĐa-zđ&0-9]+)*")
# "Nghị định 193/2013", "Thông tư số 09/2017": a number and year without the issuer's code, as
# users shorten it; it names the document whose number starts so (``index.retriever.documents_matching``)
DOC_SHORT_NUMBER = re.compile(
    r"\b(?:Bộ luật|Luật|Nghị định|Nghị quyết|Thông tư(?: liên tịch)?|Quyết định|Chỉ thị|Kế hoạch|Công văn)"
    r"\s+(?:số\s+)?\d{1,4}/(?:19|20)\d{2}(?![/\w])", re.IGNORECASE)
DOC_NAME = re.compile(
    r"\b(?:Bộ luật|Luật|Hiến pháp|Nghị định|Nghị quyết|Thông tư(?: liên tịch)?|Quyết định|Chỉ thị)"
    r"(?: [A-ZĐÂĂÊÔƠƯ][^\s,.?;:]*(?: (?:[a-zđà-ỹ]|[A-ZĐÀ-Ỹ](?=[a-zđà-ỹ]))[^\s,.?;:]*){0,4})?"
    r"(?: (?:năm )?(?:19|20)\d{2})?")

_INITIALS = re.compile(r"[A-ZĐ][A-ZĐ&]{1,9}")  # a name written as its initials ("BVMT", "HN&GĐ")
# Words that end a law's name in running text ("Luật Cư trú quy định …"), compared with their
# diacritics: "về" ends a name, "vệ" of "Luật Bảo vệ môi trường" does not.
_NAME_STOP = {"quy", "có", "thì", "về", "được", "là", "gì", "như", "nói", "cho", "của", "theo", "khi", "nào", "ra", "đã",
              "phải", "và", "năm", "áp", "dụng", "hướng", "hiện", "mới", "nhất"}


@dataclass(frozen=True)
class Query:
    """What the answering stages know about one question."""

    typed: str  # the question as typed, never shortened
    text: str  # the text searched: the question, plus earlier context for a follow-up
    restored: str  # ``typed`` with diacritics restored (what intent and terms are read from)
    intents: tuple[str, ...]  # INTENT_CUES keys found, or ("general",)
    agencies: tuple[str, ...] = ()
    provinces: tuple[str, ...] = ()
    documents: tuple[str, ...] = ()  # document references as written ("45/2021/NĐ-CP", "Luật Cư trú")
    sources: tuple[str, ...] = ()  # those the question asks what they say ("Theo Luật Cư trú, …"): ``documents_cited``
    terms: tuple[str, ...] = ()  # folded content terms of the search text (abbreviations expanded)
    per_province: bool = False  # the answer must keep provinces apart explicitly
    followup: bool = False
    carried: dict[str, tuple[str, ...]] = field(default_factory=dict)  # entities taken from earlier turns
    source: str = "none"  # none | rules | llm
    analysis: QueryAnalysis | None = None
    # a follow-up that asks nothing of its own ("Còn Kiên Giang thì sao?"): the earlier question
    # whose intent it takes, read for the kind of amount asked (``amounts.question_forms``)
    asked_before: str = ""

    @property
    def intent(self) -> str:
        return self.intents[0]

    def has(self, intent: str) -> bool:
        return intent in self.intents


def intents_of(text: str) -> tuple[str, ...]:
    folded = " ".join(re.findall(r"[\w%]+", fold(text)))
    found = tuple(name for name, pat in INTENT_CUES.items() if pat.search(folded))
    return found or ("general",)


_TYPE_LOWER = re.compile(r"(?<!\w)(?<![Bb]ộ )(bộ luật|luật|hiến pháp|nghị định|nghị quyết|thông tư|quyết định|chỉ thị)(?=\s)")


def _cased(text: str) -> str:
    """``text`` with a document type word typed in lower case capitalised, and the known
    abbreviations in upper case, as a name is written: "luật htx 2012 quy định" -> "Luật HTX
    2012 quy định" (a name in lower-case words stays unread: where it ends cannot be told)."""
    from ingest.vocab import vocab

    out = _TYPE_LOWER.sub(lambda m: m.group(1)[0].upper() + m.group(1)[1:], text)
    abbreviations = {fold(k).lower(): k for k in vocab().abbreviations}
    return re.sub(r"(?<![\w&])[\w&-]+(?![\w&])",
                  lambda m: abbreviations.get(fold(m.group(0)).lower(), m.group(0)) if m.group(0).islower() else m.group(0),
                  out)


def documents_named(text: str) -> tuple[str, ...]:
    """Document references in ``text``: numbers ("45/2021/NĐ-CP", "Nghị định 193/2013") and names
    ("Luật Cư trú")."""
    refs = [m.group(0) for m in DOC_NUMBER.finditer(text)]
    refs += [m.group(0) for m in DOC_SHORT_NUMBER.finditer(text)]
    for m in DOC_NAME.finditer(_cased(text)):
        words = m.group(0).split()
        cut = next((i for i, w in enumerate(words) if i >= 2 and w.lower() in _NAME_STOP), len(words))
        if len(words) > 2 and _INITIALS.fullmatch(words[1]):  # "Luật HNGĐ cấm …": initials are the whole name
            year = re.fullmatch(r"(?:năm )?(?:19|20)\d{2}", " ".join(words[2:4])) or re.fullmatch(r"(?:19|20)\d{2}", words[2])
            cut = 2 + len(year.group(0).split()) if year else 2
        name = " ".join(words[:cut])
        if name == "Hiến pháp" or any(w[:1].isupper() or w.isdigit() for w in words[1:cut]) and len(name.split()) >= 2:
            if not (words[1:2] and words[1] in ("Bộ",)):
                refs.append(name)
    return tuple(dict.fromkeys(refs))


# A clause that asks what a document says: "Theo Luật Đất đai, …", "Căn cứ Nghị định 45/2021/NĐ-CP
# thì …" (the words before the reference), or "Luật Đất đai quy định …" (the verb after it), with
# at most a short courtesy ("Cho hỏi", "Vậy") before.
_SOURCE_BEFORE = re.compile(r"(?:^|\s)(?:theo(?: quy dinh (?:cua|tai))?|can cu(?: vao)?|dua (?:vao|theo|tren)|"
                            r"chieu theo|trong)$")
_SOURCE_AFTER = re.compile(r"^(?:(?:nam )?(?:19|20)\d{2} )?(?:quy dinh|co|noi|ghi|neu|cho|yeu cau|moi|dat ra)\b")
_DOC_TYPE_WORDS = re.compile(r"(?:^|\s)(?:(?:nghi dinh|nghi quyet|quyet dinh|thong tu|chi thi|cong van|ke hoach)(?: so)?)$")
_CLAUSE = re.compile(r"[.?!;:,\n]")
_COURTESY = 3  # words a clause may start with before the document it asks about ("cho mình hỏi")
# what asks for content, after "theo <document>" in the same clause ("hồ sơ … theo Nghị định 193
# gồm những giấy tờ gì?"): the question asks what that document says, wherever the clause begins
# ("… bị xử lý theo quy định của Luật Thủy sản khi nào?" asks when, of the handling, not the law)
_CONTENT_ASKED = re.compile(r"(?<!\w)(?:gi|(?<!khi )(?<!luc )nao|bao nhieu|may|the nao|ra sao)(?!\w)")


def documents_cited(text: str, refs: Sequence[str]) -> tuple[str, ...]:
    """The references among ``refs`` that ``text`` asks about as its source: what the document
    says ("Theo Luật Đất đai, HTX được thuê đất thế nào?", "Nghị định 45/2021/NĐ-CP quy định lãi
    suất bao nhiêu?"), as against a document the question is about as an object ("tổng kết 10
    năm thi hành Luật HTX 2012", "… bị xử lý theo quy định của Luật Xử lý vi phạm hành chính"),
    which other documents may well speak of). A document after "theo" later in a clause is its
    source too when what follows it in the clause asks for content ("hồ sơ đăng ký HTX theo
    Nghị định 193/2013/NĐ-CP gồm những giấy tờ gì?"); one that ends the clause ("… bị xử lý theo
    quy định của Luật Xử lý vi phạm hành chính không?") is not, nor one after another document
    that opens the clause ("Chỉ thị 1558/CT-UBND đánh giá HTX sau 5 năm làm theo Luật HTX 2012
    còn những hạn chế gì?" asks what the directive says: a clause has one source)."""
    out = []
    starts = [m.start() for r in refs for m in re.finditer(re.escape(r), text)]
    for ref in refs:
        for m in re.finditer(re.escape(ref), text):
            clause_start = max((c.end() for c in _CLAUSE.finditer(text, 0, m.start())), default=0)
            earlier = any(clause_start <= s < m.start() for s in starts)
            before = " ".join(re.findall(r"\w+", fold(text[clause_start:m.start()])))
            before = _DOC_TYPE_WORDS.sub("", before).strip()
            after = " ".join(re.findall(r"\w+", fold(text[m.end():m.end() + 40])))
            cue = _SOURCE_BEFORE.search(before)
            lead = before[:cue.start()].split() if cue else before.split()
            clause_end = next((c.start() for c in _CLAUSE.finditer(text, m.end())), len(text))
            rest = " ".join(re.findall(r"\w+", fold(text[m.end():clause_end])))
            if ((len(lead) <= _COURTESY and (cue or _SOURCE_AFTER.search(after)))
                    or (cue and not earlier and _CONTENT_ASKED.search(rest))):
                out.append(ref)
                break
    return tuple(out)


_PART_END = re.compile(r"(?<=[.?!;])\s+|\n+")
PART_MIN_TERMS = 3  # content terms a sentence needs to count as a part of its own


def question_parts(query: Query) -> list[Query]:
    """The parts of a message that asks, or sets out, several things in sentences of their own
    ("Kế hoạch của Đắk Nông có nói hỗ trợ khởi nghiệp cho thanh niên. Vậy theo Luật Thanh niên,
    thanh niên là người bao nhiêu tuổi?"), each as a query with the message's entities, so that
    each part's best passage can be shown; [] for a message of one part."""
    parts = [p.strip() for p in _PART_END.split(query.restored or "") if p.strip()]
    parts = [p for p in parts if len(term_seq(p)) >= PART_MIN_TERMS]
    if len(parts) < 2:
        return []
    from dataclasses import replace

    return [replace(query, typed=p, text=p, restored=p, intents=intents_of(p), terms=tuple(term_seq(p)))
            for p in parts]


def _own_terms(text: str, analysis: QueryAnalysis) -> list[str]:
    """Topic words of a question: content terms minus entity names and question words."""
    folded = fold(text)
    for name in (*analysis.agencies, *analysis.provinces):
        folded = folded.replace(fold(name), " ")
    for pat in (*INTENT_CUES.values(), FOLLOWUP_CUE):
        folded = pat.sub(" ", folded)
    generic = {"tinh", "thanh", "pho", "con", "thi", "sao", "the", "nao", "nua", "ho", "no", "do", "nay", "ay",
               "kia", "o", "tai", "cua", "ve", "cung", "vay", "ra"}
    return [t for t in content_terms(folded) if t not in generic and not t.isdigit()]


def _user_turns(history: Sequence[Turn]) -> list[tuple[str, bool]]:
    """(user question, whether the assistant refused it) for each earlier user turn."""
    from assistant.answering.decide import REFUSAL_MESSAGE

    out: list[tuple[str, bool]] = []
    for t in history:
        text = (t.content or "").strip()
        if t.role == "user" and text:
            out.append((text, False))
        elif t.role == "assistant" and out and text.startswith(REFUSAL_MESSAGE[:40]):
            out[-1] = (out[-1][0], True)
    return out


# A document's type, then (in the same clause) "của" right before an agency: "Kế hoạch thực hiện
# Chỉ thị 12/CT-TTg của UBND tỉnh Lâm Đồng" names who issued the plan (read on folded text)
_ISSUED_BY = re.compile(
    r"(?<!\w)(?:ke hoach|chi thi|quyet dinh|nghi quyet|chuong trinh|cong van|van ban|thong tu|nghi dinh|de an|"
    r"ket luan|huong dan)(?!\w)[^,;:?.!\n]{0,100}?(?<!\w)cua\s+$")


def asked_agencies(restored: str, agencies: Sequence[str]) -> tuple[str, ...]:
    """The agencies the question asks about: those it names, less the issuers of a document it
    cites ("Trong kế hoạch thực hiện Chỉ thị 12/CT-TTg của UBND tỉnh Lâm Đồng, Sở Tài chính được
    giao những nhiệm vụ gì?" asks about Sở Tài chính; ``_ISSUED_BY``), when it names another. An
    agency that is also named elsewhere in the question, or the only one named, is kept."""
    from assistant.answering.passages import alias_table

    if len(agencies) < 2:
        return tuple(agencies)
    folded = fold(restored or "")
    table = alias_table("agency")
    issuers = set()
    for name in agencies:
        pat = table.get(name)
        spans = list(pat.finditer(folded)) if pat is not None else []
        if spans and all(_ISSUED_BY.search(folded[max(0, m.start() - 160):m.start()]) for m in spans):
            issuers.add(name)
    kept = tuple(a for a in agencies if a not in issuers)
    return kept or tuple(agencies)


class Understander:
    """question + history -> Query. ``analyze`` is the index's query analyzer (store.analyze)."""

    def __init__(self, analyze: Callable[[str], QueryAnalysis]):
        self.analyze = analyze

    def understand(self, question: str, history: Sequence[Turn] | None = None,
                   condenser: Callable[[str, Sequence[Turn]], str] | None = None) -> Query:
        typed = (question or "").strip()
        a = self.analyze(typed)
        restored = a.restored or a.normalized or typed
        earlier = _user_turns(history or ())
        context = self._context(earlier)
        followup = bool(earlier) and self._leans_on_context(restored, a)
        text, carried, source = typed, {}, "none"
        agencies, provinces = asked_agencies(restored, a.agencies), tuple(a.provinces)
        documents = documents_named(restored)
        if followup and context is not None:
            carried = {
                "agencies": () if agencies else context["agencies"],
                "provinces": () if provinces else context["provinces"],
                "documents": () if documents else context["documents"],
            }
            agencies = agencies or context["agencies"]
            provinces = provinces or context["provinces"]
            documents = documents or context["documents"]
            extra = [*carried["agencies"], *carried["provinces"], *carried["documents"]]
            if not _own_terms(restored, a):
                # "Còn Kiên Giang thì sao?": the earlier question's topic, with the new entities.
                extra.append(context["topic"])
            text = f"{typed} ({'; '.join(x for x in extra if x)})" if extra else typed
            source = "rules"
            if condenser is not None:
                text, source = self._condensed(typed, history or (), text, agencies, provinces, condenser)
        searched = a if text == typed else self.analyze(text)
        if len(searched.agencies) > 1:
            # the search favours passages of the agencies asked about, not of a cited document's issuer
            searched = replace(searched, agencies=asked_agencies(searched.restored or text, searched.agencies))
        terms = tuple(term_seq(searched.restored or searched.normalized or text))
        intents = intents_of(restored)
        asked_before = ""
        if followup and context is not None and intents == ("general",) and context.get("intents"):
            intents = context["intents"]  # "Còn Tây Ninh thì sao?": what was asked before
            if not _own_terms(restored, a):
                # the amount asked before, only when the follow-up asks nothing of its own: "Vậy
                # còn Kiên Giang thì … theo nguyên tắc nào?" asks for no count
                asked_before = str(context.get("asked") or "")
        folded = fold(restored)
        per_province = len(provinces) >= 2 or bool(PER_PROVINCE_CUE.search(" ".join(re.findall(r"\w+", folded))))
        return Query(typed=typed, text=text, restored=restored, intents=intents, agencies=agencies,
                     provinces=provinces, documents=documents, sources=documents_cited(restored, documents),
                     terms=terms, per_province=per_province,
                     followup=followup, carried={k: v for k, v in carried.items() if v}, source=source,
                     analysis=searched, asked_before=asked_before)

    # --- follow-ups ----------------------------------------------------------------------

    def _leans_on_context(self, restored: str, a: QueryAnalysis) -> bool:
        folded = " ".join(re.findall(r"\w+", fold(restored)))
        if FOLLOWUP_CUE.search(folded) or _points_back(restored):
            return True
        has_entity = bool(a.agencies or a.provinces or documents_named(restored))
        return not has_entity and len(_own_terms(restored, a)) <= 2

    def _context(self, earlier: list[tuple[str, bool]]) -> dict[str, tuple[str, ...] | str] | None:
        """Entities of the conversation so far: for each kind, those of the latest user question
        that named one; the topic is the latest question that had topic words and was not
        refused (a refused topic is never carried into the next question)."""
        if not earlier:
            return None
        ctx: dict[str, tuple[str, ...] | str] = {"agencies": (), "provinces": (), "documents": (), "topic": ""}
        for q, refused in earlier:
            a = self.analyze(q)
            r = a.restored or a.normalized or q
            if a.agencies:
                ctx["agencies"] = asked_agencies(r, a.agencies)[:1]  # the subject: the first agency named
            if a.provinces:
                ctx["provinces"] = tuple(a.provinces)
            docs = documents_named(r)
            if docs:
                ctx["documents"] = docs
            if _own_terms(r, a) and not refused:
                ctx["topic"] = r
            if intents_of(r) != ("general",):
                ctx["intents"] = intents_of(r)
                ctx["asked"] = r
        return ctx

    def _condensed(self, typed: str, history: Sequence[Turn], rules_text: str, agencies: tuple[str, ...],
                   provinces: tuple[str, ...], condenser) -> tuple[str, str]:
        try:
            out = (condenser(typed, history) or "").strip().strip('"“”')
        except Exception as e:  # the rules stand; never fail a question on this
            log.warning("condense failed, using the rule-based follow-up: %s", e)
            return rules_text, "rules"
        if not out or len(out) > 1000 or fold(out) == fold(typed):
            return rules_text, "rules"
        got = self.analyze(out)
        if not set(agencies) <= set(got.agencies) or not set(provinces) <= set(got.provinces):
            log.info("condensed question drops an entity the rules found; using the rules")
            return rules_text, "rules"
        return out, "llm"
