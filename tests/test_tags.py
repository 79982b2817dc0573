"""ID3v2.3 tags and chapters on a real MP3, read back by mutagen and, independently, ffmpeg."""

from __future__ import annotations

import re
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from mutagen.id3 import ID3, CTOCFlags

from interview_audio.audio.assemble import ChapterSpan
from interview_audio.errors import InputError, RenderError
from interview_audio.ffmpeg import ffmpeg_exe
from interview_audio.files import TEMP_MARKER
from interview_audio.publish.tags import EpisodeTags, read_tags, write_tags

pytestmark = pytest.mark.audio

CHAPTERS = (
    ChapterSpan("开场", 0.0, 0.8),
    ChapterSpan("AGI 何时到来", 0.8, 1.9),
    ChapterSpan("结尾：谢谢", 1.9, 3.0),
)
TRANSCRIPT = "主持人：今天聊聊人工智能。\n山姆·奥特曼：谢谢邀请。\n" * 200


def ffmpeg(*args: str) -> str:
    done = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", *args], capture_output=True, text=True
    )
    assert done.returncode == 0 or "At least one output file" in done.stderr, done.stderr
    return done.stderr


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("media")
    ffmpeg(
        "-v",
        "error",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:duration=3:sample_rate=44100",
        "-ac",
        "1",
        "-c:a",
        "libmp3lame",
        "-b:a",
        "96k",
        str(folder / "plain.mp3"),
    )
    ffmpeg(
        "-v",
        "error",
        "-f",
        "lavfi",
        "-i",
        "color=c=red:s=16x16",
        "-frames:v",
        "1",
        str(folder / "cover.jpg"),
    )
    (folder / "cover.png").write_bytes(png(4, 3))
    return folder


def png(width: int, height: int) -> bytes:
    """A real grey PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def mp3(media: Path, tmp_path: Path) -> Path:
    path = tmp_path / "episode.mp3"
    path.write_bytes((media / "plain.mp3").read_bytes())
    return path


def full_tags(cover: Path | None) -> EpisodeTags:
    return EpisodeTags(
        title="对话山姆·奥特曼：AGI 与未来",
        album="科技访谈",
        artist="主持人 / 山姆·奥特曼",
        author="腾讯科技",
        date="2025年6月19日",
        source_url="https://mp.weixin.qq.com/s/example",
        comment="本期内容：一，AGI 的时间表；二，算力。",
        lyrics=TRANSCRIPT,
        cover=cover,
        track=(2, 5),
    )


def test_every_frame_is_written_as_id3v23(mp3: Path, media: Path) -> None:
    write_tags(mp3, full_tags(media / "cover.jpg"), CHAPTERS)
    raw = ID3(mp3, translate=False)
    assert raw.version == (2, 3, 0)
    assert raw["TIT2"].text == ["对话山姆·奥特曼：AGI 与未来"]
    assert raw["TALB"].text == ["科技访谈"]
    assert raw["TPE1"].text == ["主持人 / 山姆·奥特曼"]
    assert raw["TPE2"].text == ["腾讯科技"]
    assert raw["TXXX:AUTHOR"].text == ["腾讯科技"]
    assert raw["TYER"].text == ["2025"]
    assert raw["TDAT"].text == ["1906"]
    assert "TDRC" not in raw
    assert raw["TCON"].text == ["Podcast"]
    assert raw["TRCK"].text == ["2/5"]
    assert raw["WOAS"].url == "https://mp.weixin.qq.com/s/example"
    (comment,) = raw.getall("COMM")
    assert (comment.lang, comment.text) == ("zho", ["本期内容：一，AGI 的时间表；二，算力。"])
    (lyrics,) = raw.getall("USLT")
    assert (lyrics.lang, lyrics.text) == ("zho", TRANSCRIPT)
    (cover,) = raw.getall("APIC")
    assert (cover.mime, cover.type) == ("image/jpeg", 3)
    assert cover.data == (media / "cover.jpg").read_bytes()
    # ID3v2.3 has no UTF-8: every text frame must have been stored as UTF-16.
    assert {frame.encoding for frame in raw.values() if hasattr(frame, "encoding")} == {1}


def test_chapters_are_ordered_under_one_top_level_toc(mp3: Path) -> None:
    write_tags(mp3, EpisodeTags("标题"), CHAPTERS)
    raw = ID3(mp3)
    (toc,) = raw.getall("CTOC")
    assert toc.flags == CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED
    assert toc.child_element_ids == ["chp0", "chp1", "chp2"]
    for element_id, span in zip(toc.child_element_ids, CHAPTERS, strict=True):
        chap = raw[f"CHAP:{element_id}"]
        assert (chap.start_time, chap.end_time) == (
            round(span.start * 1000),
            round(span.end * 1000),
        )
        assert chap.sub_frames["TIT2"].text == [span.title]


def test_ffmpeg_reads_the_same_chapters(mp3: Path) -> None:
    write_tags(mp3, full_tags(None), CHAPTERS)
    report = ffmpeg("-i", str(mp3))
    found = re.findall(
        r"Chapter #0:(\d+): start ([\d.]+), end ([\d.]+)\n\s+Metadata:\n\s+title\s+: (.*)\n",
        report,
    )
    assert [(int(n), float(s), float(e), t) for n, s, e, t in found] == [
        (n, c.start, c.end, c.title) for n, c in enumerate(CHAPTERS)
    ]
    assert re.search(r"title\s+: 对话山姆·奥特曼：AGI 与未来", report)
    assert re.search(r"album_artist\s+: 腾讯科技", report)


def test_read_tags_for_inspect(mp3: Path, media: Path) -> None:
    write_tags(mp3, full_tags(media / "cover.png"), CHAPTERS)
    result = read_tags(mp3)
    names = [name for name, _ in result.tags]
    assert names == [
        "Title",
        "Album",
        "Artist",
        "Album artist",
        "Author",
        "Date",
        "Genre",
        "Track",
        "Source",
        "Comment",
        "Transcript",
        "Cover",
    ]
    values = dict(result.tags)
    assert values["Date"] == "2025-06-19"
    assert values["Cover"] == f"image/png, {len(png(4, 3))} bytes"
    assert values["Transcript"].endswith(f"({len(TRANSCRIPT)} characters)")
    assert [(c.title, c.start_ms, c.end_ms) for c in result.chapters] == [
        (c.title, round(c.start * 1000), round(c.end * 1000)) for c in CHAPTERS
    ]
    assert (result.channels, result.sample_rate, result.bitrate_mode) == (1, 44100, "CBR")
    assert result.duration == pytest.approx(3.0, abs=0.1)
    assert result.id3_version == "2.3.0"


def test_tagging_again_replaces_everything_and_keeps_the_audio(mp3: Path, media: Path) -> None:
    before = ffmpeg("-v", "error", "-i", str(mp3), "-f", "md5", "-")
    write_tags(mp3, full_tags(media / "cover.jpg"), CHAPTERS)
    write_tags(mp3, EpisodeTags("第二次", genre=""), CHAPTERS[:1])
    raw = ID3(mp3)
    assert sorted(raw.keys()) == ["CHAP:chp0", "CTOC:toc", "TIT2"]
    assert read_tags(mp3).chapters[0].title == "开场"
    assert ffmpeg("-v", "error", "-i", str(mp3), "-f", "md5", "-") == before
    assert not [p for p in mp3.parent.iterdir() if TEMP_MARKER in p.name]


@pytest.mark.parametrize(
    ("date", "stored"),
    [
        ("2025-06-19", "2025-06-19"),
        ("2025年6月9日", "2025-06-09"),
        ("2025/6", "2025"),
        ("2025", "2025"),
        ("六月", None),
    ],
)
def test_dates(mp3: Path, date: str, stored: str | None) -> None:
    """ID3v2.3 keeps a year (TYER) and a day of the year (TDAT); a month alone is lost."""
    write_tags(mp3, EpisodeTags("标题", date=date))
    assert dict(read_tags(mp3).tags).get("Date") == stored


def test_bad_input_is_refused_and_the_file_is_untouched(mp3: Path, tmp_path: Path) -> None:
    original = mp3.read_bytes()
    gif = tmp_path / "cover.gif"
    gif.write_bytes(b"GIF89a....")
    with pytest.raises(RenderError, match="neither JPEG nor PNG"):
        write_tags(mp3, EpisodeTags("标题", cover=gif))
    with pytest.raises(RenderError, match="overlapping or out of order"):
        write_tags(mp3, EpisodeTags("标题"), [CHAPTERS[1], CHAPTERS[0]])
    with pytest.raises(RenderError, match="Track 6 of 5"):
        write_tags(mp3, EpisodeTags("标题", track=(6, 5)))
    assert mp3.read_bytes() == original
    with pytest.raises(InputError, match="as an MP3"):
        read_tags(gif)
