"""A Chinese font for drawn artwork: found on the system, checked to have every glyph it draws.

Pillow draws only with a font file it is given, and a font without a character draws its
.notdef glyph (a box, "tofu") or nothing. So a font is looked for where each system keeps its
CJK fonts (fontconfig on Linux and BSD, PingFang and friends on macOS, Microsoft YaHei on
Windows), and the text is checked against it before anything is drawn: a character whose
rendering is the font's .notdef rendering, or blank, is missing.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.ImageFont import FreeTypeFont

log = logging.getLogger(__name__)

# Characters every font used here must have: the ones a cover always needs first.
PROBE = "中文访谈对话"
# A code point no font maps: it renders as the font's .notdef glyph.
NOT_A_CHARACTER = "\U0010ffff"
# Where macOS and Windows keep fonts with simplified Chinese, in order of preference.
_MACOS = (
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/Hiragino Sans GB.ttc",
    "/System/Library/Fonts/STHeiti Medium.ttc",
    "/System/Library/Fonts/STHeiti Light.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
)
_WINDOWS = ("msyhbd.ttc", "msyh.ttc", "Dengb.ttf", "Deng.ttf", "simhei.ttf", "simsun.ttc")
# fontconfig: family words that mark a sans-serif (bold titles read best in one), a serif, or
# a fixed-width face, and the weight asked for (fontconfig's bold).
_SANS = ("sans", "hei", "gothic", "pingfang", "yahei", "deng")
_SERIF = ("serif", "song", "ming", "kai", "fangsong")
_BOLD = 200


@dataclass(frozen=True)
class Font:
    """A font file (and the face in a collection) that has Chinese glyphs."""

    path: Path
    index: int = 0

    @property
    def identity(self) -> str:
        """What the drawing depends on: the file and face (part of a cover's fingerprint)."""
        return f"{self.path.name}#{self.index}"

    def load(self, size: int) -> FreeTypeFont:
        from PIL import ImageFont

        return ImageFont.truetype(
            str(self.path), size, index=self.index, layout_engine=ImageFont.Layout.BASIC
        )


@functools.cache
def find_cjk_font() -> Font | None:
    """The system's best font for Chinese titles, or None when it has none (once a process)."""
    for font in _candidates():
        try:
            if not missing_glyphs(font.load(48), PROBE):
                log.debug("Drawing text with %s", font.identity)
                return font
        except OSError as exc:
            log.debug("Cannot use the font %s: %s", font.path, exc)
    log.info("No font with Chinese characters was found: drawn covers will have no text")
    return None


def _candidates() -> list[Font]:
    found: list[Font] = []
    if sys.platform == "darwin":
        found = [Font(Path(path)) for path in _MACOS if Path(path).is_file()]
    elif sys.platform == "win32":
        folder = Path(os.environ.get("WINDIR", r"C:\Windows")) / "Fonts"
        found = [Font(folder / name) for name in _WINDOWS if (folder / name).is_file()]
    return found + _fontconfig()


def _fontconfig() -> list[Font]:
    """Fonts fontconfig says cover simplified Chinese, best first: sans-serif, then the
    weight nearest bold, then proportional."""
    command = shutil.which("fc-list")
    if command is None:
        return []
    try:
        done = subprocess.run(
            [command, "-f", "%{file}\t%{index}\t%{family[0]}\t%{weight}\n", ":lang=zh-cn"],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.debug("fc-list did not answer: %s", exc)
        return []
    ranked: list[tuple[tuple[int, float, int, str], Font]] = []
    for row in done.stdout.splitlines():
        parts = row.split("\t")
        if len(parts) != 4 or not parts[0]:
            continue
        path, index, family, weight = parts
        name = family.lower()
        style = 0 if any(w in name for w in _SANS) else 2 if any(w in name for w in _SERIF) else 1
        try:
            distance = abs(float(weight) - _BOLD)
            face = int(index)
        except ValueError:
            continue
        ranked.append(((style, distance, "mono" in name, path), Font(Path(path), face)))
    ranked.sort(key=lambda item: item[0])
    return list(dict.fromkeys(font for _, font in ranked))


def missing_glyphs(font: FreeTypeFont, text: str) -> set[str]:
    """The characters of `text` that `font` would draw as .notdef or as nothing (spaces
    apart; invisible format characters count as missing, so they are never drawn)."""
    notdef = _rendering(font, NOT_A_CHARACTER)
    missing: set[str] = set()
    for char in set(text):
        if char.isspace():
            continue
        size, ink = _rendering(font, char)
        if (size, ink) == notdef or not any(ink):
            missing.add(char)
    return missing


def _rendering(font: FreeTypeFont, char: str) -> tuple[tuple[int, int], bytes]:
    mask = font.getmask(char)
    return mask.size, bytes(mask)


def drawable(font: FreeTypeFont, text: str) -> str | None:
    """`text` as `font` can draw it: symbols and emoji it lacks are left out; None when it
    lacks a letter or a digit (the text would no longer say what it says)."""
    lacking = missing_glyphs(font, text)
    if any(unicodedata.category(char)[0] in "LN" for char in lacking):
        log.debug("The font lacks %s", "".join(sorted(lacking)))
        return None
    kept = "".join(char for char in text if char not in lacking)
    return " ".join(kept.split())
