"""Drawn covers: the episode's and the show's, with the system's Chinese font or without one.

Text is checked in the picture itself: light pixels where the title is, and no character cell
whose ink is the font's .notdef glyph (tofu). Without a Chinese font (fontconfig pointed at an
empty configuration) the same design is drawn with no text at all. The tests that draw text
need a CJK font on this machine: CI installs fonts-wqy-microhei (`.ci/run`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import feedparser
import numpy as np
import pytest
from PIL import Image, ImageDraw
from typer.testing import CliRunner

from interview_audio.cli import app
from interview_audio.publish.artwork import (
    EPISODE_SIZE,
    INK,
    SHOW_MAX_BYTES,
    SHOW_SIZE,
    Artwork,
    Drawn,
    draw,
    drawn_stamp,
    stamp,
)
from interview_audio.publish.feed import FeedOptions, write_feed
from interview_audio.publish.fonts import NOT_A_CHARACTER, Font, find_cjk_font, missing_glyphs

TITLE = "对话 MiniMax 闫俊杰：一个非典型技术创业者的十年"
ART = Artwork(TITLE, "闫俊杰、晚点LatePost", "晚点LatePost")


@pytest.fixture
def font() -> Font:
    found = find_cjk_font()
    if found is None:
        pytest.skip("no font with Chinese glyphs here (apt-get install fonts-wqy-microhei)")
    return found


@pytest.fixture
def no_fonts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """fontconfig with no font folders: as on a machine without any font."""
    config = tmp_path / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig/>\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("FONTCONFIG_FILE", str(config))
    find_cjk_font.cache_clear()
    yield
    find_cjk_font.cache_clear()


def pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(np.int16)


def ink(region: np.ndarray) -> np.ndarray:
    """Where a picture has the title's colour (JPEG blurs it a little)."""
    return np.all(np.abs(region - np.array(INK)) < 40, axis=-1)


def test_episode_cover_is_a_square_jpeg_with_the_title_where_it_says(
    tmp_path: Path, font: Font
) -> None:
    drawn = draw(ART, tmp_path / "cover.jpg", size=EPISODE_SIZE, font=font)
    with Image.open(drawn.path) as image:
        assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (1400, 1400))
    assert drawn_stamp(drawn.path) == stamp(ART, EPISODE_SIZE, font)
    assert "".join(drawn.lines).replace(" ", "") == TITLE.replace(" ", "")
    assert drawn.title_box is not None
    left, top, right, bottom = drawn.title_box
    picture = pixels(drawn.path)
    title = ink(picture[top:bottom, left:right])
    assert title.mean() > 0.08  # a good part of the title's box is ink
    above = ink(picture[: top - 20, :])
    assert above.mean() < 0.002  # and nothing of the title's colour above it


def test_no_character_is_drawn_as_the_fonts_notdef_glyph(tmp_path: Path, font: Font) -> None:
    # 🎙 is in no Chinese font: it is left out, and what is drawn has no tofu.
    art = Artwork("🎙 黄仁勋谈 AI 工厂：算力、能源与下一个十年", "黄仁勋、主持人")
    drawn = draw(art, tmp_path / "cover.jpg", size=EPISODE_SIZE, font=font)
    assert drawn.lines and "🎙" not in "".join(drawn.lines)
    assert drawn.title_box is not None
    picture = ink(pixels(drawn.path))
    cells = _cells(drawn, font)
    assert len(cells) == len("".join(drawn.lines).replace(" ", ""))
    notdef = _glyph(font, NOT_A_CHARACTER, cells[0][1])
    for char, _, box in cells:
        left, top, right, bottom = box
        cell = picture[top:bottom, left:right]
        assert cell.any(), f"{char!r} left no ink"
        reference = notdef[: cell.shape[0], : cell.shape[1]]
        overlap = (cell & reference).sum() / max(1, (cell | reference).sum())
        assert overlap < 0.6, f"{char!r} looks like the font's missing-glyph box"


def _glyph(font: Font, char: str, px: int) -> np.ndarray:
    """The ink of one character drawn as the cover draws it, on its own."""
    loaded = font.load(px)
    canvas = Image.new("L", (2 * px, 2 * px), 0)
    ImageDraw.Draw(canvas).text(
        (0, 0), char, font=loaded, fill=255, stroke_width=max(1, px // 40), stroke_fill=255
    )
    return np.asarray(canvas) > 128


def _cells(drawn: Drawn, font: Font) -> list[tuple[str, int, tuple[int, int, int, int]]]:
    """Each drawn character's cell in the picture: where the layout put it."""
    assert drawn.title_box is not None
    left, top, _, bottom = drawn.title_box
    px = round((bottom - top) / len(drawn.lines) / 1.24)
    loaded = font.load(px)
    cells = []
    for number, line in enumerate(drawn.lines):
        y = top + round(number * px * 1.24)
        for index, char in enumerate(line):
            if char == " ":
                continue
            x0 = left + round(loaded.getlength(line[:index]))
            x1 = left + round(loaded.getlength(line[: index + 1])) + 2
            cells.append((char, px, (x0, y, x1, y + round(px * 1.24))))
    return cells


def test_the_check_finds_what_the_font_lacks(font: Font) -> None:
    loaded = font.load(48)
    assert missing_glyphs(loaded, "中文 GPT-4：") == set()
    assert missing_glyphs(loaded, "中\U0010fffe文🎙") == {"\U0010fffe", "🎙"}


def test_a_title_the_font_cannot_spell_is_not_drawn(tmp_path: Path, font: Font) -> None:
    # Letters of scripts Chinese fonts rarely cover (Ethiopic, Tifinagh, CJK extension B).
    lacking = next(iter(missing_glyphs(font.load(48), "ሀⴰ\U00020000")), None)
    if lacking is None:
        pytest.skip(f"{font.identity} has every letter this test would leave out")
    drawn = draw(
        Artwork(f"对话{lacking}某某"), tmp_path / "cover.jpg", size=EPISODE_SIZE, font=font
    )
    assert drawn.lines == () and drawn.title_box is None


def test_without_a_chinese_font_the_design_has_no_text(tmp_path: Path, no_fonts: None) -> None:
    if os.name != "posix" or not Path("/usr/bin/fc-list").exists():
        pytest.skip("fontconfig decides which fonts are found only on Linux")
    font = find_cjk_font()
    assert font is None
    drawn = draw(ART, tmp_path / "cover.jpg", size=EPISODE_SIZE, font=font)
    assert drawn.lines == () and drawn.title_box is None
    picture = pixels(drawn.path)
    assert picture.shape == (1400, 1400, 3)
    # The title's place (and everywhere above the bars) holds no light pixel.
    assert not ink(picture[: round(0.4 * EPISODE_SIZE)]).any()


def test_the_show_cover_is_drawn_for_the_feed_once(tmp_path: Path) -> None:
    output = tmp_path / "out"
    output.mkdir()
    options = FeedOptions(title="我的访谈播客", author="王小明", base_url="https://example.com/p/")
    write_feed(output, options)
    cover = output / "podcast-cover.jpg"
    with Image.open(cover) as image:
        assert (image.format, image.size) == ("JPEG", (SHOW_SIZE, SHOW_SIZE))
    assert cover.stat().st_size < SHOW_MAX_BYTES
    parsed = feedparser.parse((output / "feed.xml").read_bytes())
    assert parsed.feed.image.href == "https://example.com/p/podcast-cover.jpg"
    kept = cover.stat().st_mtime_ns
    write_feed(output, options)
    assert cover.stat().st_mtime_ns == kept  # the same show: not drawn again
    write_feed(output, FeedOptions(title="另一个名字"))
    assert cover.stat().st_mtime_ns != kept


def test_a_configured_show_image_wins(tmp_path: Path) -> None:
    output = tmp_path / "out"
    output.mkdir()
    write_feed(output, FeedOptions(image="https://example.com/art.jpg"))
    assert not (output / "podcast-cover.jpg").exists()
    parsed = feedparser.parse((output / "feed.xml").read_bytes())
    assert parsed.feed.image.href == "https://example.com/art.jpg"


def test_render_without_a_cover_draws_one_into_tags_page_and_library(tmp_path: Path) -> None:
    from mutagen.id3 import ID3

    article = tmp_path / "article.txt"
    turns = ("林晓：你好，欢迎收听。", "陈默：谢谢邀请。", "林晓：我们开始吧。", "陈默：好的。")
    article.write_text("# 测试封面\n\n" + "\n\n".join(turns) + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        app,
        ["render", str(article), "--engine", "espeak", "--no-split"]
        + ["-o", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache")],
    )
    assert result.exit_code == 0, result.output
    assert "Note:" not in result.output  # nothing to say: the article had no cover link
    (folder,) = [path for path in (tmp_path / "out").iterdir() if path.is_dir()]
    (picture,) = ID3(folder / "episode.mp3").getall("APIC")
    assert picture.mime == "image/jpeg"
    assert picture.data == (folder / "cover.jpg").read_bytes()
    with Image.open(folder / "cover.jpg") as image:
        assert image.size == (EPISODE_SIZE, EPISODE_SIZE)
    assert '"cover": "cover.jpg"' in (folder / "episode.json").read_text(encoding="utf-8")
    assert 'class="cover" src="cover.jpg"' in (folder / "index.html").read_text(encoding="utf-8")
    library = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert 'class="show-cover" src="podcast-cover.jpg"' in library
