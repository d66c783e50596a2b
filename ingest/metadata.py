"""Document metadata found in the text: type, number, date, title, issuer, province.

Vietnamese administrative documents put these in a header ("Số: 1558/CT-UBND",
"Kiên Giang, ngày 12 tháng 7 năm 2018", "CHỈ THỊ", subject line), but real files often lose
the header: then the "(Ban hành) kèm theo Quyết định số ... ngày ... của ..." line of an
appendix, the opening sentence ("... thống nhất Kế hoạch ... như sau") and the province
most often named as "tỉnh X" in the body are used.
"""

from __future__ import annotations

import re
from collections import Counter

from ingest.lines import Line
from ingest.normalize import fold
from ingest.structure import sentence_case
from ingest.types import DocumentMeta
from ingest.vocab import PROVINCES, find_provinces

DOC_TYPES = {
    "ke hoach": "Kế hoạch",
    "quyet dinh": "Quyết định",
    "chi thi": "Chỉ thị",
    "chuong trinh hanh dong": "Chương trình",
    "chuong trinh": "Chương trình",
    "nghi quyet": "Nghị quyết",
    "thong bao": "Thông báo",
    "cong van": "Công văn",
    "bao cao": "Báo cáo",
    "de an": "Đề án",
    "huong dan": "Hướng dẫn",
    "quy che": "Quy chế",
    "quy dinh": "Quy định",
    "thong tu": "Thông tư",
    "nghi dinh": "Nghị định",
}
# Number suffix -> type ("1558/CT-UBND" is a Chỉ thị).
_SUFFIX_TYPES = {"CT": "Chỉ thị", "KH": "Kế hoạch", "QĐ": "Quyết định", "NQ": "Nghị quyết", "TB": "Thông báo",
                 "CTr": "Chương trình", "BC": "Báo cáo", "HD": "Hướng dẫn"}
_NUMBER = r"\d+[\w.]*/(?:\d{4}/)?[A-ZĐ][\wĐđ]*(?:-[\wĐđ]+)*"
_SO_LINE = re.compile(rf"^Số\s*:?\s*(?P<n>{_NUMBER})", re.IGNORECASE)
_PLACE_DATE = re.compile(r"^(?P<place>[^\d,]{2,40}),\s*ngày\s+(?P<d>\d{1,2})\s+tháng\s+(?P<m>\d{1,2})\s+năm\s+(?P<y>\d{4})")
_ATTACHED = re.compile(
    rf"kèm theo\s+(?:[^()]*?\s+tại\s+)?(?P<type>Quyết định|Kế hoạch|Chỉ thị|Nghị quyết|Chương trình)\s+số\s*:?\s*(?P<n>{_NUMBER})"
    r"\s*,?\s*ngày\s+(?P<date>\d{1,2}(?:/\d{1,2}/\d{4}| tháng \d{1,2} năm \d{4}))(?:\s+của\s+(?P<issuer>[^)]+))?",
    re.IGNORECASE,
)
_OPENING = re.compile(
    r"(?P<issuer>[^,;:]{3,120}?)\s+(?:thống nhất|xây dựng|ban hành|triển khai)\s+(?P<type>Kế hoạch|Chương trình|Quy chế|Đề án)\s+(?P<subject>[^.;:]{5,200}?)\s+(?:như sau|với các nội dung|gồm các nội dung)"
)
_ISSUER_HEADER = re.compile(r"^(ỦY BAN NHÂN DÂN|UBND|HỘI ĐỒNG NHÂN DÂN|LIÊN MINH HỢP TÁC XÃ|SỞ [A-ZÀ-ỸĐ ]+)\s+(TỈNH|THÀNH PHỐ)\s+(?P<p>.+)$")
_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
_REF_NUMBER = re.compile(rf"\b(?:số\s+)?(?P<n>{_NUMBER})")


def _date_iso(d: str) -> str | None:
    m = re.match(r"(\d{1,2})/(\d{1,2})/(\d{4})", d) or re.match(r"(\d{1,2}) tháng (\d{1,2}) năm (\d{4})", d)
    if not m:
        return None
    day, month, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def _doc_type_of(line: str) -> str | None:
    f = fold(line).strip().rstrip(":").strip()
    return DOC_TYPES.get(f)


def _is_upper(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 3 and all(c.isupper() for c in letters)


def _restore_case(upper: str, candidates: list[str]) -> str:
    """Mixed-case spelling of an upper-case line, taken from a later line that repeats it."""
    fu = fold(upper)
    for c in candidates:
        if len(c) >= len(upper) and fold(c[: len(upper)]) == fu:
            return c[: len(upper)]
    return sentence_case(upper)


def province_of(lines: list[str]) -> str | None:
    """Province of the document: named in the place-date or issuer header, else the one most
    often written as "tỉnh X" in the body (then the most mentioned at all)."""
    scores: Counter[str] = Counter()
    first: dict[str, int] = {}
    for i, text in enumerate(lines):
        m = _PLACE_DATE.match(text)
        if m:
            for p in find_provinces(m.group("place")):
                scores[p] += 50
        m = _ISSUER_HEADER.match(text)
        if m:
            for p in find_provinces(m.group("p")):
                scores[p] += 50
        folded = fold(text)
        for p in PROVINCES:
            for alias in {fold(a) for a in (p, *PROVINCES[p])}:
                n_tinh = len(re.findall(rf"\btinh {re.escape(alias)}\b", folded))
                n_all = len(re.findall(rf"(?<![\w]){re.escape(alias)}(?![\w])", folded))
                if n_all:
                    scores[p] += 3 * n_tinh + (n_all - n_tinh)
                    first.setdefault(p, i)
    if not scores:
        return None
    return max(scores, key=lambda p: (scores[p], -first.get(p, 0)))


def extract_metadata(lines: list[Line], doc_id: str, source_path: str, sha256: str) -> DocumentMeta:
    texts = [l.text.strip() for l in lines if not l.blank]
    head = texts[:15]
    doc_type = number = date = issuer = title = None
    subject: str | None = None

    # Type and subject: the first type line ("KẾ HOẠCH", "CHỈ THỊ") and the line after it.
    for i, t in enumerate(head):
        dt = _doc_type_of(t)
        if dt and _is_upper(t):
            doc_type = dt
            if i + 1 < len(head):
                nxt = head[i + 1]
                if not _doc_type_of(nxt) and not _PLACE_DATE.match(nxt):
                    subject = _restore_case(nxt, head[i + 2:]) if _is_upper(nxt) else nxt
            break

    # Number and date from the header.
    for t in head:
        m = _SO_LINE.match(t)
        if m and not number:
            number = m.group("n")
        m = _PLACE_DATE.match(t)
        if m and not date:
            date = _date_iso(f"{m.group('d')}/{m.group('m')}/{m.group('y')}")
        m = _ISSUER_HEADER.match(t)
        if m and not issuer:
            issuer = t
    # "(Ban hành) kèm theo Quyết định số 52/QĐ-UBND ngày 25/01/2021 của UBND tỉnh Khánh Hòa)"
    full = "\n".join(texts)
    attached = None
    for m in _ATTACHED.finditer(full):
        if doc_type is None or fold(m.group("type")) == fold(doc_type) or not number:
            attached = m
            break
    if attached:
        number = number or attached.group("n")
        date = date or _date_iso(attached.group("date"))
        if not issuer and attached.group("issuer"):
            issuer = attached.group("issuer").strip()
        if doc_type is None:
            doc_type = attached.group("type").capitalize()

    # Opening sentence ("... tỉnh thống nhất Kế hoạch phối hợp ... năm 2018 như sau").
    opening = None
    for t in texts[:8]:
        m = _OPENING.search(t)
        if m:
            opening = m
            break
    if opening:
        doc_type = doc_type or opening.group("type")
        if not subject and fold(opening.group("type")) == fold(doc_type):
            subject = opening.group("subject").strip()
        if not issuer:
            issuer = opening.group("issuer").strip()
            issuer = re.split(r"[;,]\s*", issuer)[-1] if "Căn cứ" in issuer else issuer
    if not issuer:
        m = re.search(r"\b(UBND tỉnh|Ủy ban nhân dân tỉnh)\s+ban hành", full[:3000])
        if m:
            issuer = m.group(1)

    if doc_type is None and number:
        suffix = number.split("/")[-1].split("-")[0]
        doc_type = _SUFFIX_TYPES.get(suffix)

    province = province_of(texts)

    # Normalise the issuer: "ỦY BAN NHÂN DÂN TỈNH KHÁNH HÒA" -> "UBND tỉnh Khánh Hòa".
    if issuer:
        m = re.match(r"^(?:ỦY BAN NHÂN DÂN|Ủy ban nhân dân|UBND)\s+(?:TỈNH|tỉnh)\s+(?P<p>.+)$", issuer)
        if m:
            named = find_provinces(m.group("p"))
            issuer = f"UBND tỉnh {named[0] if named else sentence_case(m.group('p'))}"
        if _is_upper(issuer):
            issuer = sentence_case(issuer)
        issuer = issuer.strip(" .,;")
        if province and fold(issuer).endswith("tinh"):
            issuer = f"{issuer} {province}"
    elif number and province and re.search(r"-UBND\b", number):
        issuer = f"UBND tỉnh {province}"

    if subject:
        first_word = subject.split(" ", 1)[0]
        subj = subject[0].lower() + subject[1:] if first_word.istitle() and first_word.lower() in {
            "thực", "ban", "về", "triển", "phối", "tăng", "đẩy", "phát", "tiếp", "kế", "chương"} else subject
        title = f"{doc_type} {subj}" if doc_type and not fold(subject).startswith(fold(doc_type)) else subject
    elif doc_type:
        title = doc_type
    else:
        title = texts[0][:200] if texts else doc_id

    year = date[:4] if date else None
    if not year:
        m = _YEAR.search(title or "") or _YEAR.search(" ".join(texts[:5]))
        year = m.group(0) if m else None
    meta = DocumentMeta(
        doc_id=doc_id,
        title=title or doc_id,
        short_title="",
        doc_type=doc_type,
        number=number,
        date=date,
        issuer=issuer,
        province=province,
        source_path=source_path,
        sha256=sha256,
    )
    return with_short_title(meta, year)


def make_short_title(meta: DocumentMeta, year: str | None = None) -> str:
    """"Chỉ thị 1558/CT-UBND – Kiên Giang (2018)": type, number (or the document it
    implements, or a short subject), province, year."""
    year = year or (meta.date[:4] if meta.date else None)
    if not year:
        m = _YEAR.search(meta.title or "")
        year = m.group(0) if m else None
    ident = meta.number
    if not ident:
        m = _REF_NUMBER.search(meta.title or "")
        if m and (meta.title or "").find(m.group("n")) < 80:
            ident = m.group("n")
    if not ident:
        subj = meta.title or ""
        if meta.doc_type and fold(subj).startswith(fold(meta.doc_type)):
            subj = subj[len(meta.doc_type):].strip()
        subj = re.sub(r"\s*năm\s+\d{4}\s*$", "", subj)
        ident = subj if len(subj) <= 60 else subj[:60].rsplit(" ", 1)[0] + "…"
    head = " ".join(p for p in (meta.doc_type or "Văn bản", ident) if p)
    if meta.province:
        head += f" – {meta.province}"
    if year:
        head += f" ({year})"
    return head


def with_short_title(meta: DocumentMeta, year: str | None = None) -> DocumentMeta:
    from dataclasses import replace

    return replace(meta, short_title=make_short_title(meta, year))
