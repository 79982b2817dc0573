"""Reading an article file into text: whatever its encoding, or one clear error.

UTF-8 (with or without BOM), UTF-16 with a BOM, or GB18030/GBK, with LF, CRLF or CR line ends.
GB18030 decodes almost any bytes, so it is accepted only when the result reads as Chinese.
"""

from __future__ import annotations

import logging
import unicodedata
from pathlib import Path

from interview_audio.errors import InputError

log = logging.getLogger(__name__)


def read_text(path: Path) -> str:
    """Read a text file whatever its encoding, or raise InputError saying what to do."""
    if not path.exists():
        raise InputError(f"{path}: no such file. Check the path and try again.")
    if path.is_dir():
        raise InputError(f"{path} is a directory. Pass the article's text file instead.")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file ({exc.strerror}).") from exc
    return decode(data, str(path))


def decode(data: bytes, name: str = "input") -> str:
    """Decode UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030/GBK; never guess silently."""
    if not data.strip():
        raise InputError(f"{name} is empty. Pass an article with a title and the dialogue.")
    if data.startswith(b"\xef\xbb\xbf"):
        text = _strict(data[3:], "utf-8", name)
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = _strict(data, "utf-16", name)
    elif b"\x00" in data:
        raise InputError(
            f"{name} looks like a binary file, not text. Pass the article as a .txt or .md file."
        )
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            try:
                text = data.decode("gb18030")
            except UnicodeDecodeError:
                text = ""
            if not text or not _plausible_chinese(text):
                raise InputError(
                    f"{name} is neither UTF-8 nor GB18030/GBK text (bad byte at {exc.start}). "
                    "Save it as UTF-8 and try again."
                ) from None
            log.info("%s decoded as GB18030", name)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _control_share(text) > 0.01:
        raise InputError(
            f"{name} looks like a binary file, not text. Pass the article as a .txt or .md file."
        )
    return text


def _strict(data: bytes, encoding: str, name: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{name} has bytes that are not valid {encoding.upper()} (at byte {exc.start}). "
            "Save it as UTF-8 and try again."
        ) from None


def _plausible_chinese(text: str) -> bool:
    """GB18030 decodes almost anything; accept it only when the result reads as Chinese text."""
    sample = text[:20000]
    good = sum(
        1
        for ch in sample
        if ch.isascii() or "\u4e00" <= ch <= "\u9fff" or ch in "，。：；！？“”、（）《》"
    )
    return good / max(len(sample), 1) > 0.9


def _control_share(text: str) -> float:
    sample = text[:20000]
    bad = sum(1 for ch in sample if unicodedata.category(ch) == "Cc" and ch not in "\n\t")
    return bad / max(len(sample), 1)
