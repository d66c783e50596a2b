"""Document metadata found in the text: type, number, date, title, issuer, province.

Vietnamese administrative documents put these in a header ("Số: 1558/CT-UBND",
"Kiên Giang, ngày 12 tháng 7 năm 2018", "CHỈ THỊ", subject line), but real files often lose
the header: then the "(Ban hành) kèm theo Quyết định số ... ngày ... của ..." line of an
appendix, the opening sentence ("... thống nhất Kế hoạch ... như sau") and the province
most often named as "tỉnh X" in the body are used.

National documents (Hiến pháp, Bộ luật, Luật, Nghị định, Thông tư ..., or an issuer such as
Quốc hội, Chính phủ, Thủ tướng Chính phủ, a Bộ) get ``scope="national"`` and no province: a
place named in their body (or the "Hà Nội, ngày ..." line) is not theirs. For a provincial
document the issuer and the header decide the province; the body counts only without them.
A file whose first line is a law's name ("Luật Cư trú", "Bộ luật Dân sự", "Hiến pháp") takes
type and title from it.
"""

from __future__ import annotations

import re
from collections import Counter

from ingest.lines import Line
from ingest.normalize import fold
from ingest.structure import sentence_case
from ingest.types import DocumentMeta
from ingest.vocab import find_agencies, find_provinces, vocab

DOC_TYPES = {
    "hien phap": "Hiến pháp",
    "bo luat": "Bộ luật",
    "luat": "Luật",
    "thong tu lien tich": "Thông tư liên tịch",
    "phap lenh": "Pháp lệnh",
    "lenh": "Lệnh",
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
_SUFFIX_TYPES = {"NĐ": "Nghị định", "TT": "Thông tư", "TTLT": "Thông tư liên tịch", "CT": "Chỉ thị", "KH": "Kế hoạch", "QĐ": "Quyết định", "NQ": "Nghị quyết", "TB": "Thông báo",
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
# "Luật số: 17/2023/QH15", "Nghị định số 92/2024/NĐ-CP ngày ..." (a line of the header).
_TYPED_NUMBER = re.compile(
    rf"^(?P<type>Hiến pháp|Bộ luật|Luật|Nghị quyết|Nghị định|Quyết định|Chỉ thị|Thông tư liên tịch|Thông tư|Kế hoạch|Công văn)\s+số\s*:?\s*(?P<n>{_NUMBER})",
    re.IGNORECASE,
)
_EFFECTIVE = re.compile(
    r"có hiệu lực(?: thi hành)?(?: kể)? từ ngày\s+(?P<d>\d{1,2}(?:/\d{1,2}/\d{4}| tháng \d{1,2} năm \d{4}))", re.IGNORECASE)
_EFFECTIVE_SIGNED = re.compile(r"có hiệu lực(?: thi hành)?(?: kể)? từ ngày ký", re.IGNORECASE)
NATIONAL_TYPES = ("Hiến pháp", "Bộ luật", "Luật", "Pháp lệnh", "Lệnh", "Nghị định", "Thông tư", "Thông tư liên tịch")
_LAW_TYPES = ("Hiến pháp", "Bộ luật", "Luật", "Pháp lệnh")
_NATIONAL_SUFFIX = re.compile(r"(?:/QH\d*|-CP|-TTg|-CTN|-UBTVQH\d*|-NHNN|/TT-|-BKHĐT|-BTC|-BNN|-BTNMT|-BCT|-LMHTXVN)", re.IGNORECASE)
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


def header_province(lines: list[str]) -> str | None:
    """Province named by the issuer header ("ỦY BAN NHÂN DÂN TỈNH X") or the place-date line."""
    scores: Counter[str] = Counter()
    for text in lines[:20]:
        m = _ISSUER_HEADER.match(text)
        if m:
            for p in find_provinces(m.group("p")):
                scores[p] += 2
        m = _PLACE_DATE.match(text)
        if m:
            for p in find_provinces(m.group("place")):
                scores[p] += 1
    return max(scores, key=lambda p: scores[p]) if scores else None


def province_of(lines: list[str]) -> str | None:
    """Province of the document: named in the issuer or place-date header, else the one most
    often written as "tỉnh X" in the body (then the most mentioned at all)."""
    head = header_province(lines)
    if head:
        return head
    scores: Counter[str] = Counter()
    first: dict[str, int] = {}
    v = vocab()
    for i, text in enumerate(lines):
        for p, (n_all, n_ctx) in v.count_provinces(text).items():
            scores[p] += 3 * n_ctx + (n_all - n_ctx)
            first.setdefault(p, i)
    if not scores:
        return None
    return max(scores, key=lambda p: (scores[p], -first.get(p, 0)))


def national_issuer(lines: list[str]) -> str | None:
    """A national body heading the document ("QUỐC HỘI", "CHÍNH PHỦ", "BỘ TÀI CHÍNH")."""
    v = vocab()
    for text in lines[:6]:
        if not _is_upper(text) or len(text) > 90:
            continue
        t = re.sub(r"\s*-+\s*$", "", text.strip())
        names = [n for n in find_agencies(t) if v.agencies.get(n) and v.agencies[n].scope == "national"]
        if names and fold(t).startswith(fold(names[0]).split()[0]):
            return names[0]
        if fold(t).startswith("bo "):
            return sentence_case(t).replace("Bộ ", "Bộ ", 1)
    return None


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

    # A file that starts with the law's name: "Luật Cư trú", "Bộ luật dân sự", "Hiến pháp".
    law_name = None
    if texts and len(texts[0]) <= 150 and not _is_upper(texts[0]):
        first = fold(texts[0])
        for key in ("hien phap", "bo luat", "luat", "phap lenh"):
            if first == key or first.startswith(key + " "):
                law_name = texts[0].strip()
                doc_type = doc_type or DOC_TYPES[key]
                break

    # Number and date from the header.
    for t in head:
        m = _SO_LINE.match(t) or _TYPED_NUMBER.match(t)
        if m and not number:
            number = m.group("n")
            if not doc_type and m.groupdict().get("type"):
                doc_type = DOC_TYPES.get(fold(m.group("type")))
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

    if doc_type is None and number:
        suffix = number.split("/")[-1].split("-")[0]
        doc_type = _SUFFIX_TYPES.get(suffix)
    national_body = national_issuer(texts)
    national = bool(
        national_body
        or doc_type in NATIONAL_TYPES
        or (number and _NATIONAL_SUFFIX.search(number) and not re.search(r"-UBND|-HĐND|-LMHTX\b|-SKHĐT", number))
    )
    if national_body:
        issuer = national_body
    if national and not issuer:
        issuer = national_body or ("Quốc hội" if doc_type in _LAW_TYPES else None)
    province = None if national else province_of(texts)
    effective = None
    m = _EFFECTIVE.search(full)
    if m:
        effective = _date_iso(m.group("d"))
    elif _EFFECTIVE_SIGNED.search(full) and date:
        effective = date

    # Normalise the issuer: "ỦY BAN NHÂN DÂN TỈNH KHÁNH HÒA" -> "UBND tỉnh Khánh Hòa".
    if issuer:
        m = re.match(r"^(?:ỦY BAN NHÂN DÂN|Ủy ban nhân dân|UBND)\s+(?:TỈNH|tỉnh)\s+(?P<p>.+)$", issuer)
        if m:
            named = find_provinces(m.group("p"))
            issuer = f"UBND tỉnh {named[0] if named else sentence_case(m.group('p'))}"
        if _is_upper(issuer):
            issuer = sentence_case(issuer)
        issuer = issuer.strip(" .,;")
        if province and fold(issuer).endswith("tinh") and not fold(issuer).endswith(fold(province)):
            issuer = f"{issuer} {province}"
    elif number and province and re.search(r"-UBND\b", number):
        issuer = f"UBND tỉnh {province}"

    if law_name:
        subject = None
        title = law_name
    elif subject:
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
        scope="national" if province is None else "province",
        effective_date=effective,
    )
    return with_short_title(meta, year)


def make_short_title(meta: DocumentMeta, year: str | None = None) -> str:
    """"Chỉ thị 1558/CT-UBND – Kiên Giang (2018)": type, number (or the document it
    implements, or a short subject), province, year."""
    year = year or (meta.date[:4] if meta.date else None)
    if not year:
        m = _YEAR.search(meta.title or "")
        year = m.group(0) if m else None
    if meta.doc_type in _LAW_TYPES and meta.title:
        # Laws are known by name: "Luật Hợp tác xã 2023", "Bộ luật dân sự".
        return meta.title if not year or year in meta.title else f"{meta.title} {year}"
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
