"""Bytes -> text for plain-text files, refusing what is not really Unicode text.

- BOMs (UTF-8, UTF-16 LE/BE, UTF-32) and BOM-less UTF-16 are decoded.
- NUL bytes or many control characters mean a binary file -> ``binary_file``.
- Old Vietnamese 8-bit encodings are refused with a message that names them
  (``legacy_encoding``): TCVN3 (ABC, the ``.VnTime`` fonts) and VNI (``VNI-Times``). They are
  recognised both as raw bytes and as "mojibake" already saved as UTF-8 (``Céng hoµ``,
  ``Coäng hoøa``), because converting them blindly would index garbage.
"""

from __future__ import annotations

import codecs
import logging
import re
import unicodedata

from ingest import errors

log = logging.getLogger("htx.ingest")

# TCVN3 (TCVN 5712:1993, "ABC") single-byte code -> Unicode letter. Upper-case toned letters
# share the lower-case codes (they were drawn by a separate upper-case font).
TCVN3_TO_UNICODE: dict[int, str] = {
    0xB5: "à", 0xB6: "ả", 0xB7: "ã", 0xB8: "á", 0xB9: "ạ",
    0xA8: "ă", 0xBB: "ằ", 0xBC: "ẳ", 0xBD: "ẵ", 0xBE: "ắ", 0xC6: "ặ",
    0xA9: "â", 0xC7: "ầ", 0xC8: "ẩ", 0xC9: "ẫ", 0xCA: "ấ", 0xCB: "ậ",
    0xAE: "đ",
    0xCC: "è", 0xCE: "ẻ", 0xCF: "ẽ", 0xD0: "é", 0xD1: "ẹ",
    0xAA: "ê", 0xD2: "ề", 0xD3: "ể", 0xD4: "ễ", 0xD5: "ế", 0xD6: "ệ",
    0xD7: "ì", 0xD8: "ỉ", 0xDC: "ĩ", 0xDD: "í", 0xDE: "ị",
    0xDF: "ò", 0xE1: "ỏ", 0xE2: "õ", 0xE3: "ó", 0xE4: "ọ",
    0xAB: "ô", 0xE5: "ồ", 0xE6: "ổ", 0xE7: "ỗ", 0xE8: "ố", 0xE9: "ộ",
    0xAC: "ơ", 0xEA: "ờ", 0xEB: "ở", 0xEC: "ỡ", 0xED: "ớ", 0xEE: "ợ",
    0xEF: "ù", 0xF1: "ủ", 0xF2: "ũ", 0xF3: "ú", 0xF4: "ụ",
    0xAD: "ư", 0xF5: "ừ", 0xF6: "ử", 0xF7: "ữ", 0xF8: "ứ", 0xF9: "ự",
    0xFA: "ỳ", 0xFB: "ỷ", 0xFC: "ỹ", 0xFD: "ý", 0xFE: "ỵ",
    0xA1: "Ă", 0xA2: "Â", 0xA7: "Đ", 0xA3: "Ê", 0xA4: "Ô", 0xA5: "Ơ", 0xA6: "Ư",
}
UNICODE_TO_TCVN3: dict[str, int] = {v: k for k, v in TCVN3_TO_UNICODE.items()}


def encode_tcvn3(text: str) -> bytes:
    """Encode Vietnamese text the way a TCVN3 (ABC) editor saved it (for tests and tools).

    Upper-case toned letters become their lower-case code (as the .VnTimeH fonts did).
    """
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        if ch in UNICODE_TO_TCVN3:
            out.append(UNICODE_TO_TCVN3[ch])
        elif ch.lower() in UNICODE_TO_TCVN3 and ord(ch) > 0x7F:
            out.append(UNICODE_TO_TCVN3[ch.lower()])
        elif ord(ch) < 0x80:
            out.append(ord(ch))
        else:
            raise ValueError(f"no TCVN3 code for {ch!r}")
    return bytes(out)


# Characters a TCVN3 text shows when read as Latin-1/cp1252 and that real Vietnamese or
# Western text almost never contains.
_TCVN3_MARKERS = set("µ¶·¸¹¨»¼½¾Æ©ÇÈÉÊË®ÌÎÏÐÑªÒÓÔÕÖ×ØÜÝÞß«¬\xad§¡¢£¤¥¦")
# VNI writes a toned vowel as the base letter followed by a mark byte.
_VNI_PAIR = re.compile(r"[aeiouyAEIOUY][øùûõïáàåãäâêôéèúüëØÙÛÕÏÁÀÅÃÄÂÊÔÉÈÚÜË]")
_VNI_WORD = re.compile(r"(?:^|\s)(?:ñ|Ñ)\w|\w(?:ö|ô)\w")
# Letters only real (Unicode) Vietnamese has.
_VIET_LETTERS = set(
    "ăâđêôơưĂÂĐÊÔƠƯ"
    "àảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ"
    "ÀẢÃÁẠẰẲẴẮẶẦẨẪẤẬÈẺẼÉẸỀỂỄẾỆÌỈĨÍỊÒỎÕÓỌỒỔỖỐỘỜỞỠỚỢÙỦŨÚỤỪỬỮỨỰỲỶỸÝỴ"
)
_WORD = re.compile(r"\S+")

MESSAGE_TCVN3 = "Tệp dùng bảng mã TCVN3 (ABC) cũ, chưa phải Unicode. Hãy chuyển tệp sang Unicode (UTF-8) rồi nạp lại."
MESSAGE_VNI = "Tệp dùng bảng mã VNI cũ, chưa phải Unicode. Hãy chuyển tệp sang Unicode (UTF-8) rồi nạp lại."
MESSAGE_UNKNOWN = "Tệp không dùng bảng mã Unicode (UTF-8) và không nhận ra bảng mã. Hãy lưu lại tệp dưới dạng Unicode (UTF-8) rồi nạp lại."


def detect_legacy(text: str) -> str | None:
    """'TCVN3' or 'VNI' when ``text`` looks like Vietnamese in an old 8-bit encoding."""
    words = _WORD.findall(text[:200_000])
    if len(words) < 3:
        return None
    viet = sum(1 for w in words if any(c in _VIET_LETTERS_STRICT for c in w))
    tcvn = sum(1 for w in words if any(c in _TCVN3_MARKERS for c in w))
    vni = sum(1 for w in words if _VNI_PAIR.search(w) or _VNI_WORD.search(" " + w))
    n = len(words)
    # Real Vietnamese has toned letters in most words; legacy text has (almost) none of them.
    if viet / n > 0.15:
        return None
    if tcvn / n >= 0.15 and tcvn >= vni:
        return "TCVN3"
    if vni / n >= 0.15:
        return "VNI"
    return None


# Letters that occur in real Vietnamese but are not plain Latin-1 (so cp1252 mojibake of
# legacy text does not count as Vietnamese).
_VIET_LETTERS_STRICT = {c for c in _VIET_LETTERS if ord(c) > 0xFF}


def _looks_binary(data: bytes) -> str | None:
    sample = data[:65536]
    if b"\x00" in sample:
        return "NUL bytes"
    controls = sum(1 for b in sample if b < 0x20 and b not in (0x09, 0x0A, 0x0D, 0x0C))
    if sample and controls / len(sample) > 0.02:
        return f"{controls} control bytes in first {len(sample)}"
    return None


def _utf16_without_bom(data: bytes) -> str | None:
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even_nul = sum(1 for b in sample[0::2] if b == 0) / (len(sample) / 2)
    odd_nul = sum(1 for b in sample[1::2] if b == 0) / (len(sample) / 2)
    if odd_nul > 0.3 and even_nul < 0.05:
        return "utf-16-le"
    if even_nul > 0.3 and odd_nul < 0.05:
        return "utf-16-be"
    return None


def decode_bytes(data: bytes, path: str = "") -> str:
    """Decode a text file's bytes, or raise IngestError (binary_file / legacy_encoding)."""
    for bom, enc in (
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(enc)
            except UnicodeDecodeError as e:
                raise errors.binary_file(path, f"invalid {enc} after BOM: {e}") from None
            return _check_text(text, path, enc)
    enc16 = _utf16_without_bom(data)
    if enc16:
        try:
            return _check_text(data.decode(enc16), path, enc16)
        except UnicodeDecodeError:
            pass
    reason = _looks_binary(data)
    if reason:
        raise errors.binary_file(path, reason)
    try:
        text = data.decode("utf-8")
        return _check_text(text, path, "utf-8")
    except UnicodeDecodeError:
        pass
    # Mostly UTF-8 with a few broken bytes (a bad copy/paste): keep it, log the damage.
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    multibyte = sum(1 for ch in text if ord(ch) > 0x7F) - bad
    if bad <= max(3, len(text) // 1000) and multibyte > 10 * bad:
        log.warning("%s: %d invalid UTF-8 byte sequence(s) replaced", path, bad)
        return _check_text(text, path, "utf-8 (repaired)")
    # Windows-1258 (the Vietnamese Windows code page) is Unicode-convertible: accept it.
    cp1258 = _try_cp1258(data)
    if cp1258 is not None:
        log.warning("decoded %s as cp1258 (Windows Vietnamese), not UTF-8", path)
        return _check_text(cp1258, path, "cp1258")
    # Not UTF-8: an 8-bit file. Vietnamese legacy encodings are refused by name.
    latin = data.decode("cp1252", errors="replace")
    legacy = detect_legacy(latin)
    if legacy == "TCVN3":
        raise errors.legacy_encoding(path, "TCVN3", MESSAGE_TCVN3)
    if legacy == "VNI":
        raise errors.legacy_encoding(path, "VNI", MESSAGE_VNI)
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
    except Exception:  # pragma: no cover - detector failure is treated as unknown
        best = None
    if best is not None and best.encoding:
        text = str(best)
        log.warning("decoded %s as %s (not UTF-8)", path, best.encoding)
        return _check_text(text, path, best.encoding)
    raise errors.legacy_encoding(path, "unknown", MESSAGE_UNKNOWN)


def _try_cp1258(data: bytes) -> str | None:
    """The text if ``data`` reads as real Vietnamese in Windows-1258 (tone marks as combining
    characters that all compose after NFC), else None."""
    try:
        text = unicodedata.normalize("NFC", data.decode("cp1258"))
    except UnicodeDecodeError:
        return None
    words = _WORD.findall(text[:200_000])
    if len(words) < 3:
        return None
    viet = sum(1 for w in words if any(c in _VIET_LETTERS_STRICT or c in "ăâđêôơưĂÂĐÊÔƠƯ" for c in w))
    loose = sum(1 for w in words if any(unicodedata.combining(c) for c in w))
    if viet / len(words) >= 0.25 and loose <= len(words) * 0.01:
        return text
    return None


def _check_text(text: str, path: str, encoding: str) -> str:
    controls = sum(1 for ch in text[:65536] if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f")
    if "\x00" in text or (text and controls / min(len(text), 65536) > 0.02):
        raise errors.binary_file(path, f"control characters after decoding as {encoding}")
    legacy = detect_legacy(text)
    if legacy == "TCVN3":
        raise errors.legacy_encoding(path, "TCVN3", MESSAGE_TCVN3)
    if legacy == "VNI":
        raise errors.legacy_encoding(path, "VNI", MESSAGE_VNI)
    return text
