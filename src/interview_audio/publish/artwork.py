"""Drawn artwork: a cover for an episode whose article gives none, and the show's cover.

One design for the whole show: a dark ground, a ring, a row of bars like the loudness of a
voice, the title large and the speakers under it. Each cover's accent colour and bars come
from its title, so episodes side by side in a podcast app are told apart and still look like
one show. Text is drawn only with a font that has every character of it (fonts.py); without a
Chinese font the same design is drawn without text, never with boxes for missing glyphs.

Pillow is imported here, where art is drawn, and only when something is drawn.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from interview_audio.files import atomic_path
from interview_audio.publish.fonts import Font, drawable

if TYPE_CHECKING:
    from PIL.Image import Image
    from PIL.ImageDraw import ImageDraw
    from PIL.ImageFont import FreeTypeFont

log = logging.getLogger(__name__)

# Changing the design changes this, so covers drawn before are drawn again.
ARTWORK_VERSION = 1
# Apple Podcasts asks for 1400-3000 px square artwork; the show's at the top of that range
# under 512 KB, an episode's at the bottom (it is embedded in every chapter file too).
EPISODE_SIZE = 1400
SHOW_SIZE = 3000
SHOW_MAX_BYTES = 512 * 1024
_QUALITIES = (92, 86, 78, 70, 60)
STAMP_PREFIX = "interview-audio artwork "

BACKGROUND_TOP = (26, 34, 52)
BACKGROUND_BOTTOM = (11, 14, 22)
INK = (247, 242, 233)
ACCENTS = (
    (240, 138, 93),
    (94, 196, 182),
    (246, 196, 76),
    (167, 139, 250),
    (244, 114, 182),
    (125, 176, 255),
)
# Proportions of the side: margins, where the title may go, the bars.
_MARGIN = 0.085
_TITLE_TOP, _TITLE_BOTTOM = 0.27, 0.64
_TITLE_SIZES = (0.115, 0.105, 0.095, 0.086, 0.078, 0.07, 0.063)
_TITLE_LINES = 4
_LINE_HEIGHT = 1.24
_LABEL_SIZE = 0.036
_BYLINE_SIZE = 0.046
_BYLINE_LINES = 2
_BARS = 34
_NO_LINE_START = set("，。、：；！？）》」』】〕…·,.:;!?)]}%")
_NO_LINE_END = set("（《「『【〔([{")


@dataclass(frozen=True)
class Artwork:
    """What a cover says: a small label above the title (the source, or "播客"), the title,
    and a byline under it (the speakers)."""

    title: str
    byline: str = ""
    label: str = ""


@dataclass(frozen=True)
class Drawn:
    """A drawn cover: where it is, the title's lines as drawn (none: the design without text)
    and the box they fill (left, top, right, bottom in pixels)."""

    path: Path
    lines: tuple[str, ...]
    title_box: tuple[int, int, int, int] | None


def stamp(art: Artwork, size: int, font: Font | None) -> str:
    """A digest of everything a drawing depends on: the same stamp, the same picture."""
    facts = {
        "version": ARTWORK_VERSION,
        "size": size,
        "art": asdict(art),
        "font": font.identity if font is not None else None,
    }
    canonical = json.dumps(facts, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def drawn_stamp(path: Path) -> str:
    """The stamp a cover drawn here carries in its JPEG comment ("" for any other file)."""
    try:
        with path.open("rb") as file:
            head = file.read(4096)
    except OSError:
        return ""
    marker = b"\xff\xfe"  # COM: Pillow writes it right after the JFIF header
    at = head.find(marker)
    if at < 0 or at + 4 > len(head):
        return ""
    length = int.from_bytes(head[at + 2 : at + 4], "big")
    text = head[at + 4 : at + 2 + length].decode("ascii", "replace")
    return text.removeprefix(STAMP_PREFIX) if text.startswith(STAMP_PREFIX) else ""


def draw(
    art: Artwork,
    path: Path,
    *,
    size: int,
    font: Font | None,
    max_bytes: int | None = None,
) -> Drawn:
    """Draw `art` as a `size`-pixel square JPEG at `path` (atomically), under `max_bytes`."""
    digest = stamp(art, size, font)
    accent = ACCENTS[int(hashlib.sha256(art.title.encode("utf-8")).hexdigest(), 16) % len(ACCENTS)]
    image = _background(size)
    canvas = _Canvas(image, size, accent, font)
    text = canvas.text(art) if font is not None else None
    canvas.ring(large=text is None)
    canvas.bars(_heights(art.title), large=text is None)
    if text is not None:
        canvas.write(text)
    data = _jpeg(image, digest, max_bytes)
    with atomic_path(path) as temp:
        temp.write_bytes(data)
    lines = text.title if text is not None else ()
    box = text.title_box if text is not None else None
    log.debug("Drew %s (%d px, %s)", path, size, "with text" if lines else "without text")
    return Drawn(path, lines, box)


def _background(size: int) -> Image:
    """A vertical gradient from the top colour to the bottom one."""
    from PIL import Image as PILImage

    top = PILImage.new("RGB", (size, size), BACKGROUND_TOP)
    bottom = PILImage.new("RGB", (size, size), BACKGROUND_BOTTOM)
    mask = PILImage.linear_gradient("L").resize((size, size), PILImage.Resampling.BICUBIC)
    return PILImage.composite(bottom, top, mask)


def _jpeg(image: Image, digest: str, max_bytes: int | None) -> bytes:
    """The image as a baseline JPEG carrying its stamp, at the best quality under the limit."""
    data = b""
    for quality in _QUALITIES:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality, optimize=True, comment=STAMP_PREFIX + digest)
        data = buffer.getvalue()
        if max_bytes is None or len(data) <= max_bytes:
            return data
    log.warning("The drawn cover is %d KB, over %d KB", len(data) >> 10, (max_bytes or 0) >> 10)
    return data


def _heights(seed: str) -> list[float]:
    """Bar heights in (0, 1]: a voice-like rise and fall, different for every title."""
    digest = hashlib.sha256(seed.encode("utf-8")).digest() * 2
    raw = [digest[i] / 255 for i in range(_BARS)]
    smooth = [
        (raw[i - 1] + 2 * raw[i] + raw[(i + 1) % _BARS]) / 4 if i else raw[0] for i in range(_BARS)
    ]
    arch = [math.sin(math.pi * (i + 0.5) / _BARS) ** 0.6 for i in range(_BARS)]
    return [0.12 + 0.88 * s * a for s, a in zip(smooth, arch, strict=True)]


@dataclass(frozen=True)
class _Text:
    """Laid-out text: the label, the title's lines and font size, the byline's lines."""

    label: str
    title: tuple[str, ...]
    title_px: int
    byline: tuple[str, ...]
    title_box: tuple[int, int, int, int]


class _Canvas:
    def __init__(self, image: Image, size: int, accent: tuple[int, int, int], font: Font | None):
        from PIL.ImageDraw import Draw

        self.image = image
        self.size = size
        self.accent = accent
        self.font = font
        self.draw: ImageDraw = Draw(image)
        self.margin = round(_MARGIN * size)

    def ring(self, *, large: bool) -> None:
        """A ring in the accent colour, faint, over the top right corner."""
        from PIL import Image as PILImage
        from PIL import ImageDraw

        s = self.size
        layer = PILImage.new("RGBA", (s, s), (0, 0, 0, 0))
        pen = ImageDraw.Draw(layer)
        radius = round((0.34 if large else 0.25) * s)
        cx, cy = round(0.84 * s), round((0.3 if large else 0.16) * s)
        width = max(2, round(0.028 * s))
        pen.ellipse(
            (cx - radius, cy - radius, cx + radius, cy + radius),
            outline=(*self.accent, 70),
            width=width,
        )
        inner = round(radius * 0.62)
        pen.ellipse(
            (cx - inner, cy - inner, cx + inner, cy + inner),
            outline=(*self.accent, 40),
            width=max(1, width // 2),
        )
        self.image.paste(layer, (0, 0), layer)

    def bars(self, heights: Sequence[float], *, large: bool) -> None:
        """A row of rounded bars about a centre line, like a voice's loudness over time."""
        s, m = self.size, self.margin
        centre = round((0.62 if large else 0.83) * s)
        reach = (0.2 if large else 0.065) * s
        pitch = (s - 2 * m) / len(heights)
        width = max(2, round(pitch * 0.46))
        for i, height in enumerate(heights):
            x = round(m + i * pitch + (pitch - width) / 2)
            half = max(width / 2, height * reach)
            colour = self.accent if i % 5 else INK
            self.draw.rounded_rectangle(
                (x, round(centre - half), x + width, round(centre + half)),
                radius=width // 2,
                fill=colour,
            )

    def text(self, art: Artwork) -> _Text | None:
        """The text laid out to fit, or None when the font cannot draw the title."""
        assert self.font is not None
        s, m = self.size, self.margin
        width = s - 2 * m
        probe = self.font.load(round(0.1 * s))
        title = drawable(probe, art.title)
        if not title:
            return None
        label = drawable(probe, art.label) or ""
        byline = drawable(probe, art.byline) or ""
        top, bottom = round(_TITLE_TOP * s), round(_TITLE_BOTTOM * s)
        for share in _TITLE_SIZES:
            px = round(share * s)
            font = self.font.load(px)
            rows = max(1, min(_TITLE_LINES, int((bottom - top) / (px * _LINE_HEIGHT))))
            lines = _wrap(title, font, width, _stroke(px))
            if len(lines) <= rows:
                break
        else:
            lines = _shorten(lines, rows, font, width, _stroke(px))
        byline_font = self.font.load(round(_BYLINE_SIZE * s))
        bylines = _wrap(byline, byline_font, width, 0)
        bylines = _shorten(bylines, _BYLINE_LINES, byline_font, width, 0)
        height = round(len(lines) * px * _LINE_HEIGHT)
        box = (m, top, s - m, top + height)
        return _Text(label, tuple(lines), px, tuple(bylines), box)

    def write(self, text: _Text) -> None:
        assert self.font is not None
        s, m = self.size, self.margin
        if text.label:
            label_font = self.font.load(round(_LABEL_SIZE * s))
            self.draw.text((m, m), text.label, font=label_font, fill=self.accent)
        rule = round(0.2 * s)
        thickness, length = round(0.01 * s), round(0.09 * s)
        self.draw.rectangle((m, rule, m + length, rule + thickness), fill=self.accent)
        font = self.font.load(text.title_px)
        stroke = _stroke(text.title_px)
        y = text.title_box[1]
        for line in text.title:
            self.draw.text((m, y), line, font=font, fill=INK, stroke_width=stroke, stroke_fill=INK)
            y += round(text.title_px * _LINE_HEIGHT)
        byline_px = round(_BYLINE_SIZE * s)
        byline_font = self.font.load(byline_px)
        y = text.title_box[3] + round(0.025 * s)
        for line in text.byline:
            self.draw.text((m, y), line, font=byline_font, fill=self.accent)
            y += round(byline_px * _LINE_HEIGHT)


def _stroke(px: int) -> int:
    """A thin outline in the text's own colour: a heavier title from a regular face."""
    return max(1, px // 40)


def _units(text: str) -> list[str]:
    """Where a line may break: between Chinese characters and between words, never before
    closing or after opening punctuation."""
    import re

    tokens = re.findall(r"[A-Za-z0-9][\w.+'’&/-]*|\s+|.", text)
    units: list[str] = []
    for token in tokens:
        if (
            units
            and not token.isspace()
            and (token[0] in _NO_LINE_START or units[-1][-1] in _NO_LINE_END)
        ):
            units[-1] += token
        else:
            units.append(token)
    return units


def _wrap(text: str, font: FreeTypeFont, width: int, stroke: int) -> list[str]:
    """Lines that fit `width`, filled greedily; a title's part up to its first colon or bar
    (`对话 闫俊杰：…`) ends a line."""
    import re

    head = re.match(r"(.+?[：:｜|])\s*(.+)", text)
    if head is not None:
        return _fill(head.group(1), font, width, stroke) + _fill(head.group(2), font, width, stroke)
    return _fill(text, font, width, stroke)


def _fill(text: str, font: FreeTypeFont, width: int, stroke: int) -> list[str]:
    """As many lines as filling `width` greedily takes, made as even as they can be (the
    narrowest width that still needs no more lines): no one-character last line."""
    lines = _greedy(text, font, width, stroke)
    low, high = width // 2, width
    while len(lines) > 1 and high - low > 4:
        middle = (low + high) // 2
        if len(_greedy(text, font, middle, stroke)) <= len(lines):
            high = middle
        else:
            low = middle
    return _greedy(text, font, high, stroke) if len(lines) > 1 else lines


def _greedy(text: str, font: FreeTypeFont, width: int, stroke: int) -> list[str]:
    lines: list[str] = []
    current = ""
    units = [
        piece
        for unit in _units(text)
        for piece in (list(unit) if _width(unit, font, stroke) > width else [unit])
    ]
    for unit in units:
        candidate = current + unit
        if current and _width(candidate.rstrip(), font, stroke) > width:
            lines.append(current.rstrip())
            current = unit.lstrip()
        else:
            current = candidate
    if current.strip():
        lines.append(current.strip())
    return lines


def _shorten(
    lines: Sequence[str], rows: int, font: FreeTypeFont, width: int, stroke: int
) -> list[str]:
    """At most `rows` lines; the last one ends in an ellipsis when text was left out."""
    if len(lines) <= rows:
        return list(lines)
    ellipsis = "…" if drawable(font, "…") else "..."
    last = lines[rows - 1]
    while last and _width(last + ellipsis, font, stroke) > width:
        last = last[:-1]
    return [*lines[: rows - 1], last.rstrip() + ellipsis]


def _width(text: str, font: FreeTypeFont, stroke: int) -> float:
    return float(font.getlength(text)) + 2 * stroke
