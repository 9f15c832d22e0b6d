"""Turn fetched page bytes into text, by the encoding the bytes really use.

Many pages declare a charset they do not use (UTF-8 bytes under a
``windows-1252`` meta tag, or cp1251 under a ``utf-8`` header), so the declared
value is only a hint. Order of trust:

1. a byte-order mark;
2. strict UTF-8: a non-ASCII text that is valid UTF-8 is almost never anything
   else, so this wins over any declaration;
3. the declared encoding (HTTP header), then the ``<meta>`` charset, then
   windows-1252 when detection names a Latin code page, each accepted only if
   it decodes strictly *and* reads no more garbled than the detected encoding;
4. charset detection (charset_normalizer);
5. UTF-8 with replacement characters, so a page always decodes.

Binary data served as HTML (PDF, images, archives, anything with NUL bytes or
many control characters) is refused with ``BINARY_CONTENT``.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from charset_normalizer import from_bytes
from charset_normalizer.md import mess_ratio

from shared.errors import PermanentError, Reason

# Magic numbers of formats that are sometimes served as text/html.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"RIFF", "riff"),  # webp, wav, avi
    (b"PK\x03\x04", "zip"),
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"\x00\x00\x01\x00", "ico"),
    (b"wOFF", "woff"),
    (b"wOF2", "woff2"),
    (b"\x7fELF", "elf"),
    (b"MZ", "exe"),
    (b"ID3", "mp3"),
    (b"OggS", "ogg"),
    (b"\x1aE\xdf\xa3", "webm"),
)
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: it starts with the same bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Control bytes other than tab, LF, FF, CR. More than 1% of a sample is not text.
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 12, 13)) + b"\x7f"
_MAX_CONTROL_RATIO = 0.01
_SAMPLE = 8192
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.I)
_DETECT_WINDOW = 20_000
# Latin code pages read Western text almost equally well (cp1252 0.093 vs
# cp1257 0.0 on a French sample), while cp1251 text read as cp1252 scores ~1.0
# and as koi8-r 0.155; a declared encoding within this margin of the detected
# one is kept.
_MESS_MARGIN = 0.12


# As browsers do (WHATWG Encoding): these labels mean windows-1252 on the web.
_WEB_ALIASES = {"iso8859-1": "cp1252", "ascii": "cp1252"}


_LATIN_FAMILY = frozenset(
    {"cp1250", "cp1252", "cp1254", "cp1257", "mac-roman", "latin-1", "iso8859-2",
     "iso8859-3", "iso8859-4", "iso8859-9", "iso8859-10", "iso8859-13", "iso8859-14",
     "iso8859-15", "iso8859-16"}
)  # fmt: skip


def _normalise_name(name: str | None) -> str | None:
    if not name:
        return None
    try:
        canonical = codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None
    return _WEB_ALIASES.get(canonical, canonical)


def _check_binary(body: bytes) -> None:
    for magic, kind in _MAGIC:
        if body.startswith(magic):
            raise PermanentError(Reason.BINARY_CONTENT, f"{kind} signature")
    sample = body[:_SAMPLE]
    if b"\x00" in sample:
        raise PermanentError(Reason.BINARY_CONTENT, "NUL bytes")
    controls = sum(sample.count(bytes([c])) for c in _CONTROL)
    if sample and controls / len(sample) > _MAX_CONTROL_RATIO:
        raise PermanentError(Reason.BINARY_CONTENT, f"{controls} control bytes in sample")


def _decode_strict(body: bytes, encoding: str) -> str | None:
    try:
        return body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _detect(body: bytes) -> str | None:
    sample = body if len(body) <= 2 * _DETECT_WINDOW else body[:_DETECT_WINDOW] + body[-_DETECT_WINDOW:]
    best = from_bytes(sample).best()
    return _normalise_name(best.encoding) if best is not None else None


def _mess(text: str) -> float:
    """charset_normalizer's garbling score of a decoded sample: 0 clean, 1 mojibake."""
    sample = text if len(text) <= 2 * _DETECT_WINDOW else text[:_DETECT_WINDOW] + text[-_DETECT_WINDOW:]
    return float(mess_ratio(sample, maximum_threshold=1.0))


def _utf16_without_bom(body: bytes) -> str | None:
    # "<\x00h\x00" or "\x00<\x00h": UTF-16 text that lost its BOM; only then do we
    # tolerate the NUL bytes that otherwise mean binary data.
    head = body[:64]
    if len(head) < 4 or head.count(b"\x00") < len(head) // 3:
        return None
    for encoding in ("utf-16-le", "utf-16-be"):
        text = _decode_strict(body, encoding)
        if text is not None and text.lstrip().startswith("<"):
            return text
    return None


def _finish(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def decode_html(body: bytes, declared_encoding: str | None) -> str:
    """Decode page bytes to NFC text by their real encoding; refuse binary data."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            text = _decode_strict(body, encoding)
            if text is not None:
                return _finish(text.lstrip("\ufeff"))
    utf16 = _utf16_without_bom(body)
    if utf16 is not None:
        return _finish(utf16)
    _check_binary(body)

    text = _decode_strict(body, "utf-8")
    if text is not None:
        return _finish(text)

    meta = _META_CHARSET.search(body[:_SAMPLE])
    candidates = [
        _normalise_name(declared_encoding),
        _normalise_name(meta.group(1).decode("ascii", "ignore")) if meta else None,
    ]
    declared = [c for c in dict.fromkeys(candidates) if c and c != "utf-8"]
    detected = _detect(body)
    if detected in _LATIN_FAMILY:
        # Detection cannot tell the Latin code pages apart on a short sample
        # (it reads French cp1252 as cp1257); windows-1252, the web's legacy
        # default, is by far the most common of them.
        declared.append("cp1252")
    detected_text = _decode_strict(body, detected) if detected else None
    detected_mess = _mess(detected_text) if detected_text is not None else 1.0
    # A declaration that decodes cleanly wins unless detection reads the bytes as
    # clearly less garbled text (e.g. cp1251 bytes declared as latin-1).
    for encoding in declared:
        text = _decode_strict(body, encoding)
        if text is not None and (encoding == detected or _mess(text) <= detected_mess + _MESS_MARGIN):
            return _finish(text)
    if detected_text is not None:
        return _finish(detected_text)
    return _finish(body.decode("utf-8", errors="replace"))
