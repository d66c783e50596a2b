"""Domain vocabulary: provinces, agencies and abbreviations, with their short forms.

Shared by ingestion (tagging chunks with province and agencies), the lexical index
(abbreviation expansion) and query understanding (recognising what a question is about).
Matching is done on folded text (lower case, no diacritics), so a question typed without
diacritics is recognised too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.normalize import fold

# Canonical province name -> other spellings (folded matching covers missing diacritics).
PROVINCES: dict[str, tuple[str, ...]] = {
    "Lâm Đồng": ("Lâm Đồng",),
    "Khánh Hòa": ("Khánh Hòa", "Khánh Hoà"),
    "Đắk Nông": ("Đắk Nông", "Đăk Nông", "Dak Nong"),
    "Kiên Giang": ("Kiên Giang",),
    "Tây Ninh": ("Tây Ninh",),
    # Provinces not in the bundled corpus, recognised so that questions about them can be
    # answered honestly ("the documents do not cover ...") instead of silently ignored.
    "Hà Nội": ("Hà Nội", "Ha Noi"),
    "Hồ Chí Minh": ("TP Hồ Chí Minh", "TP.HCM", "TPHCM", "Sài Gòn", "Hồ Chí Minh"),
    "Đà Nẵng": ("Đà Nẵng",),
    "Hải Phòng": ("Hải Phòng",),
    "Cần Thơ": ("Cần Thơ",),
    "An Giang": ("An Giang",),
    "Bình Dương": ("Bình Dương",),
    "Đồng Nai": ("Đồng Nai",),
    "Nghệ An": ("Nghệ An",),
    "Thanh Hóa": ("Thanh Hóa", "Thanh Hoá"),
    "Quảng Ninh": ("Quảng Ninh",),
    "Gia Lai": ("Gia Lai",),
    "Đắk Lắk": ("Đắk Lắk", "Đăk Lăk", "Dak Lak"),
    "Bình Định": ("Bình Định",),
    "Long An": ("Long An",),
    "Bến Tre": ("Bến Tre",),
    "Sóc Trăng": ("Sóc Trăng",),
    "Cà Mau": ("Cà Mau",),
    "Bình Thuận": ("Bình Thuận",),
    "Ninh Thuận": ("Ninh Thuận",),
    "Phú Yên": ("Phú Yên",),
    "Quảng Nam": ("Quảng Nam",),
    "Huế": ("Thừa Thiên Huế", "Huế"),
    "Lào Cai": ("Lào Cai",),
    "Sơn La": ("Sơn La",),
    "Bắc Ninh": ("Bắc Ninh",),
    "Vĩnh Long": ("Vĩnh Long",),
    "Tiền Giang": ("Tiền Giang",),
    "Kon Tum": ("Kon Tum",),
    "Bình Phước": ("Bình Phước",),
}

# Canonical agency name -> aliases and short forms seen in the documents or typed by users.
# "tỉnh" suffixes are dropped in the canonical name; the province comes from the document.
AGENCIES: dict[str, tuple[str, ...]] = {
    "Sở Kế hoạch và Đầu tư": ("Sở Kế hoạch và Đầu tư", "Sở KH&ĐT", "Sở KHĐT", "Sở KH-ĐT", "SKHĐT", "KH&ĐT", "Sở Kế hoạch Đầu tư"),
    "Sở Nông nghiệp và Phát triển nông thôn": ("Sở Nông nghiệp và Phát triển nông thôn", "Sở Nông nghiệp và PTNT", "Sở NN&PTNT", "Sở NNPTNT", "NN&PTNT", "Sở Nông nghiệp"),
    "Sở Công Thương": ("Sở Công Thương", "Sở Công thương", "SCT"),
    "Sở Tài chính": ("Sở Tài chính",),
    "Sở Xây dựng": ("Sở Xây dựng",),
    "Sở Giao thông vận tải": ("Sở Giao thông vận tải", "Sở GTVT", "Sở Giao thông"),
    "Sở Văn hóa, Thể thao và Du lịch": ("Sở Văn hóa, Thể thao và Du lịch", "Sở VHTTDL", "Sở Văn hóa"),
    "Sở Tài nguyên và Môi trường": ("Sở Tài nguyên và Môi trường", "Sở TN&MT", "Sở TNMT"),
    "Sở Khoa học và Công nghệ": ("Sở Khoa học và Công nghệ", "Sở KH&CN", "Sở KHCN"),
    "Sở Thông tin và Truyền thông": ("Sở Thông tin và Truyền thông", "Sở TT&TT", "Sở TTTT"),
    "Sở Nội vụ": ("Sở Nội vụ",),
    "Sở Lao động - Thương binh và Xã hội": ("Sở Lao động – Thương binh và xã hội", "Sở Lao động - Thương binh và Xã hội", "Sở LĐTBXH", "Sở LĐ-TB&XH", "Sở Lao động"),
    "Liên minh Hợp tác xã tỉnh": ("Liên minh Hợp tác xã tỉnh", "Liên minh HTX tỉnh", "Liên minh HTX", "Liên minh Hợp tác xã", "LMHTX", "Liên minh tỉnh"),
    "Ngân hàng Nhà nước chi nhánh tỉnh": ("Ngân hàng Nhà nước - Chi nhánh tỉnh", "Ngân hàng Nhà nước", "NHNN"),
    "Ngân hàng Chính sách xã hội tỉnh": ("Ngân hàng Chính sách xã hội", "NHCSXH"),
    "Quỹ Hỗ trợ phát triển hợp tác xã": ("Quỹ Hỗ trợ phát triển hợp tác xã", "Quỹ Hỗ trợ phát triển HTX", "Quỹ hỗ trợ phát triển HTX"),
    "Ủy ban Mặt trận Tổ quốc Việt Nam tỉnh": ("Ủy ban Mặt trận Tổ quốc Việt Nam tỉnh", "Ủy ban Mặt trận Tổ quốc", "Ủy ban MTTQ Việt Nam tỉnh", "Ủy ban MTTQ", "Ủy ban MTTQVN", "MTTQ"),
    "Hội Nông dân tỉnh": ("Hội Nông dân",),
    "Hội Liên hiệp Phụ nữ tỉnh": ("Hội Liên hiệp phụ nữ", "Hội Liên hiệp Phụ nữ", "Hội Phụ nữ"),
    "Hội Cựu chiến binh tỉnh": ("Hội Cựu Chiến binh", "Hội Cựu chiến binh"),
    "Tỉnh Đoàn": ("Đoàn Thanh niên", "Đoàn TNCS Hồ Chí Minh", "Tỉnh Đoàn"),
    "Liên đoàn Lao động tỉnh": ("Liên đoàn Lao động",),
    "Cục Thuế tỉnh": ("Cục Thuế",),
    "Điện lực tỉnh": ("Điện lực Kiên Giang", "Điện lực"),
    "Bảo hiểm xã hội tỉnh": ("Bảo hiểm xã hội tỉnh", "BHXH tỉnh"),
    "Văn phòng Điều phối nông thôn mới tỉnh": ("Văn phòng Điều phối nông thôn mới",),
    "Trung tâm Xúc tiến Đầu tư, Thương mại và Du lịch": ("Trung tâm Xúc tiến Đầu tư, Thương mại và Du lịch", "Trung tâm Xúc tiến Đầu tư"),
    "Trung tâm Khuyến công và Xúc tiến thương mại": ("Trung tâm Khuyến công và XTTM", "Trung tâm Khuyến công"),
    "Ban Thi đua - Khen thưởng tỉnh": ("Ban Thi đua Khen thưởng", "Ban Thi đua - Khen thưởng"),
    "Báo và Đài Phát thanh - Truyền hình tỉnh": ("Đài Phát thanh - Truyền hình", "Đài Phát thanh – Truyền hình", "Báo Lâm Đồng"),
    "Ủy ban nhân dân cấp huyện": ("UBND các huyện", "Ủy ban nhân dân các huyện", "UBND cấp huyện", "Ủy ban nhân dân cấp huyện"),
    "Ủy ban nhân dân tỉnh": ("UBND tỉnh", "Ủy ban nhân dân tỉnh"),
    "Hội đồng nhân dân các cấp": ("Hội đồng nhân dân", "HĐND"),
    "Các sở, ban, ngành": ("Các sở, ban, ngành", "các sở, ban, ngành"),
}

# Abbreviation -> expansion, used to expand both passages and questions in the lexical index.
ABBREVIATIONS: dict[str, str] = {
    "HTX": "hợp tác xã",
    "THT": "tổ hợp tác",
    "LHHTX": "liên hiệp hợp tác xã",
    "LMHTX": "liên minh hợp tác xã",
    "KTTT": "kinh tế tập thể",
    "UBND": "ủy ban nhân dân",
    "HĐND": "hội đồng nhân dân",
    "QTDND": "quỹ tín dụng nhân dân",
    "MTTQ": "mặt trận tổ quốc",
    "MTTQVN": "mặt trận tổ quốc việt nam",
    "OCOP": "mỗi xã một sản phẩm",
    "NN&PTNT": "nông nghiệp và phát triển nông thôn",
    "PTNT": "phát triển nông thôn",
    "KH&ĐT": "kế hoạch và đầu tư",
    "KHĐT": "kế hoạch và đầu tư",
    "KH&CN": "khoa học và công nghệ",
    "GTVT": "giao thông vận tải",
    "TN&MT": "tài nguyên và môi trường",
    "NHNN": "ngân hàng nhà nước",
    "NHCSXH": "ngân hàng chính sách xã hội",
    "BHXH": "bảo hiểm xã hội",
    "SXKD": "sản xuất kinh doanh",
    "XTTM": "xúc tiến thương mại",
    "NTM": "nông thôn mới",
    "TW": "trung ương",
    "NĐ-CP": "nghị định chính phủ",
    "QĐ-TTg": "quyết định thủ tướng",
    "QĐ-UBND": "quyết định ủy ban nhân dân",
    "CT-UBND": "chỉ thị ủy ban nhân dân",
    "KH-UBND": "kế hoạch ủy ban nhân dân",
}


@dataclass(frozen=True)
class _Pattern:
    canonical: str
    regex: re.Pattern[str]


def _compile(table: dict[str, tuple[str, ...]]) -> list[_Pattern]:
    patterns: list[_Pattern] = []
    for canonical, aliases in table.items():
        forms = sorted({fold(a) for a in (canonical, *aliases)}, key=len, reverse=True)
        body = "|".join(re.escape(f) for f in forms)
        patterns.append(_Pattern(canonical, re.compile(rf"(?<![\w&])(?:{body})(?![\w&])")))
    return patterns


_PROVINCE_PATTERNS = _compile(PROVINCES)
_AGENCY_PATTERNS = _compile(AGENCIES)


def _find(patterns: list[_Pattern], text: str) -> list[str]:
    folded = fold(text)
    found: list[tuple[int, str]] = []
    for p in patterns:
        m = p.regex.search(folded)
        if m:
            found.append((m.start(), p.canonical))
    return [name for _, name in sorted(found)]


def find_provinces(text: str) -> list[str]:
    """Canonical province names mentioned in ``text``, in order of first mention."""
    return _find(_PROVINCE_PATTERNS, text)


def find_agencies(text: str) -> list[str]:
    """Canonical agency names mentioned in ``text``, in order of first mention.

    A bare "Liên minh HTX Việt Nam" is the national alliance, not the provincial one, so the
    provincial pattern is not allowed to match inside it.
    """
    folded = fold(text)
    folded = re.sub(r"lien minh (?:htx|hop tac xa) viet nam", " ", folded)
    found: list[tuple[int, str]] = []
    for p in _AGENCY_PATTERNS:
        m = p.regex.search(folded)
        if m:
            found.append((m.start(), p.canonical))
    return [name for _, name in sorted(found)]


CORPUS_PROVINCES = ("Lâm Đồng", "Khánh Hòa", "Đắk Nông", "Kiên Giang", "Tây Ninh")
