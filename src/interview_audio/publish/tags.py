"""ID3 tags and chapters for the episode MP3, and reading them back for `inspect`.

Tags are ID3v2.3, the version every player and podcast app reads (v2.4 is still patchy on
some car stereos and older Apple software). Chapters follow the ID3 chapter addendum: one CHAP
frame per chapter (start and end in milliseconds, a TIT2 title inside) and one top-level,
ordered CTOC frame listing them, which is what Apple Podcasts, Overcast, Pocket Casts,
VLC and ffmpeg read.

Where things go:
- speakers -> TPE1 (artist), the article's author or publisher -> TPE2 (album artist, which
  players use to group and show who made the episode) and, to say plainly what it is, a
  TXXX frame named AUTHOR;
- summary -> COMM, full transcript -> USLT (the frame players show as lyrics), both tagged as
  Chinese ("zho", ISO 639-2);
- the article's address -> WOAS (official audio source webpage);
- the date -> TDRC, which mutagen writes as TYER + TDAT for v2.3.
"""

from __future__ import annotations

import importlib
import logging
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from interview_audio.audio.mp3frames import read_stream
from interview_audio.errors import InputError, RenderError
from interview_audio.files import atomic_path

log = logging.getLogger(__name__)

LANGUAGE = "zho"
AUTHOR_FIELD = "AUTHOR"
TOC_ID = "toc"
CHAPTER_ID = "chp{}"
# In CHAP frames, "no byte offset given" (players then use the times).
_ID3_HEADER = 10  # the tag header and every v2.3 frame header are 10 bytes
_UNSYNCHRONISED = 0x80
_EXTENDED_HEADER = 0x40
_NO_OFFSET = 0xFFFFFFFF
_UTF8 = 3
_COVER_TYPE = 3  # front cover
_DISPLAY_CHARS = 120
_MAX_LEAD = 16 << 20  # tags (a cover, a transcript) before the first frame, at most 16 MiB
_DATE = re.compile(r"(\d{4})(?:\D{1,3}(\d{1,2}))?(?:\D{1,3}(\d{1,2}))?")


class ChapterLike(Protocol):
    """Anything with a title and start and end seconds (assemble.ChapterSpan)."""

    @property
    def title(self) -> str: ...

    @property
    def start(self) -> float: ...

    @property
    def end(self) -> float: ...


@dataclass(frozen=True)
class EpisodeTags:
    """What the episode says about itself. Empty strings and None are left out of the file."""

    title: str
    album: str = ""
    artist: str = ""
    author: str = ""
    date: str = ""
    genre: str = "Podcast"
    source_url: str = ""
    comment: str = ""
    lyrics: str = ""
    cover: Path | None = None
    track: tuple[int, int] | None = None


@dataclass(frozen=True)
class ChapterMark:
    """A chapter as stored in the file."""

    element_id: str
    title: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class InspectResult:
    """An MP3's stream facts, its tags as (name, value) pairs for display, and its chapters.

    Long values (transcript, summary) are shortened for display; `chapters` come in the order
    of the top-level table of contents (by start time when there is none).
    """

    path: Path
    duration: float
    sample_rate: int
    channels: int
    bitrate: int
    bitrate_mode: str
    id3_version: str
    tags: tuple[tuple[str, str], ...]
    chapters: tuple[ChapterMark, ...]


def write_tags(path: Path, tags: EpisodeTags, chapters: Sequence[ChapterLike] = ()) -> None:
    """Replace the ID3 tag of the MP3 at `path` with `tags` and `chapters`.

    The file is tagged as a copy and renamed over the original, so a failure leaves the
    untagged original intact.
    """
    frames = _frames(tags, chapters)
    tag = _mutagen("mutagen.id3").ID3()
    for frame in frames:
        tag.add(frame)
    tag.update_to_v23()
    failures = (OSError, _mutagen("mutagen").MutagenError)
    try:
        with atomic_path(path) as temp:
            shutil.copyfile(path, temp)
            tag.save(temp, v1=0, v2_version=3)
            _chapters_in_time_order(temp)
    except failures as exc:
        raise RenderError(
            f"Cannot write the tags of {path} ({exc}); check the file is an MP3 and writable."
        ) from exc
    log.info("Tagged %s: %d frames, %d chapters", path.name, len(frames), len(chapters))


def _mutagen(module: str) -> Any:
    """A mutagen module, used untyped: its partial annotations would otherwise need an
    ignore comment on every frame constructor."""
    return importlib.import_module(module)


def _frames(tags: EpisodeTags, chapters: Sequence[ChapterLike]) -> list[Any]:
    id3 = _mutagen("mutagen.id3")
    frames: list[Any] = [id3.TIT2(encoding=_UTF8, text=[tags.title])]
    texts = (
        (id3.TALB, tags.album),
        (id3.TPE1, tags.artist),
        (id3.TPE2, tags.author),
        (id3.TCON, tags.genre),
    )
    frames += [kind(encoding=_UTF8, text=[value]) for kind, value in texts if value]
    if tags.author:
        frames.append(id3.TXXX(encoding=_UTF8, desc=AUTHOR_FIELD, text=[tags.author]))
    date = _timestamp(tags.date)
    if date:
        frames.append(id3.TDRC(encoding=_UTF8, text=[date]))
    if tags.track is not None:
        number, total = tags.track
        if not 1 <= number <= total:
            raise RenderError(
                f"Track {number} of {total} is impossible; give a number from 1 to the total."
            )
        frames.append(id3.TRCK(encoding=_UTF8, text=[f"{number}/{total}"]))
    if tags.source_url:
        frames.append(id3.WOAS(url=tags.source_url))
    if tags.comment:
        frames.append(id3.COMM(encoding=_UTF8, lang=LANGUAGE, desc="", text=[tags.comment]))
    if tags.lyrics:
        frames.append(id3.USLT(encoding=_UTF8, lang=LANGUAGE, desc="", text=tags.lyrics))
    if tags.cover is not None:
        data, mime = read_cover(tags.cover)
        frames.append(
            id3.APIC(encoding=_UTF8, mime=mime, type=_COVER_TYPE, desc="Cover", data=data)
        )
    marks = _chapter_frames(chapters)
    if marks:
        frames += marks
        frames.append(
            id3.CTOC(
                element_id=TOC_ID,
                flags=id3.CTOCFlags.TOP_LEVEL | id3.CTOCFlags.ORDERED,
                child_element_ids=[CHAPTER_ID.format(i) for i in range(len(marks))],
                sub_frames=[],
            )
        )
    return frames


def _chapter_frames(chapters: Sequence[ChapterLike]) -> list[Any]:
    id3 = _mutagen("mutagen.id3")
    frames: list[Any] = []
    previous_end = 0
    for index, chapter in enumerate(chapters):
        start, end = round(chapter.start * 1000), round(chapter.end * 1000)
        if start < previous_end or end < start:
            raise RenderError(
                f"Chapter {index + 1} ({chapter.title!r}) runs from {chapter.start:.3f} s to "
                f"{chapter.end:.3f} s, overlapping or out of order; chapters must follow each "
                "other in time."
            )
        previous_end = end
        frames.append(
            id3.CHAP(
                element_id=CHAPTER_ID.format(index),
                start_time=start,
                end_time=end,
                start_offset=_NO_OFFSET,
                end_offset=_NO_OFFSET,
                sub_frames=[id3.TIT2(encoding=_UTF8, text=[chapter.title])],
            )
        )
    return frames


def _chapters_in_time_order(path: Path) -> None:
    """Put the CHAP frames of the ID3v2.3 tag at the start of `path` in chronological order.

    mutagen orders frames by size when it saves (quodlibet/mutagen#506), and readers that
    ignore the CTOC, ffmpeg among them, list chapters in file order. Only the order changes,
    so the tag keeps its size and is rewritten in place.
    """
    with open(path, "r+b") as file:
        header = file.read(_ID3_HEADER)
        if header[:4] != b"ID3\x03" or header[5] & (_UNSYNCHRONISED | _EXTENDED_HEADER):
            log.warning("%s has an unusual ID3 header; its chapters keep mutagen's order", path)
            return
        size = _syncsafe(header[6:10])
        body = file.read(size)
        frames: list[bytes] = []
        position = 0
        while position + _ID3_HEADER <= len(body) and body[position] != 0:
            length = _ID3_HEADER + int.from_bytes(body[position + 4 : position + 8], "big")
            frames.append(body[position : position + length])
            position += length
        slots = [index for index, frame in enumerate(frames) if frame[:4] == b"CHAP"]
        for slot, frame in zip(
            slots, sorted((frames[i] for i in slots), key=_chap_start), strict=True
        ):
            frames[slot] = frame
        reordered = b"".join(frames) + body[position:]
        if len(reordered) != len(body):
            raise RenderError(f"The ID3 tag of {path} is damaged; render the episode again.")
        file.seek(_ID3_HEADER)
        file.write(reordered)


def _chap_start(frame: bytes) -> int:
    data = frame[_ID3_HEADER:]
    after_id = data.index(b"\x00") + 1
    return int.from_bytes(data[after_id : after_id + 4], "big")


def _syncsafe(raw: bytes) -> int:
    value = 0
    for byte in raw:
        value = (value << 7) | (byte & 0x7F)
    return value


def _timestamp(date: str) -> str:
    """An ID3 timestamp (YYYY, YYYY-MM or YYYY-MM-DD) from dates like 2025-06-19 or
    2025年6月19日; empty (and logged) when there is no year in it."""
    if not date.strip():
        return ""
    match = _DATE.search(date)
    if match is None:
        log.warning("The date %r has no year in it; the episode gets no date tag", date)
        return ""
    year, month, day = match.groups()
    parts = [year]
    if month and 1 <= int(month) <= 12:
        parts.append(f"{int(month):02d}")
        if day and 1 <= int(day) <= 31:
            parts.append(f"{int(day):02d}")
    return "-".join(parts)


def read_cover(path: Path) -> tuple[bytes, str]:
    """A cover image's bytes and MIME type; RenderError unless it is a readable JPEG or PNG."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RenderError(
            f"Cannot read the cover image {path} ({exc.strerror}); give a JPEG or PNG file."
        ) from exc
    if data.startswith(b"\xff\xd8\xff"):
        return data, "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return data, "image/png"
    raise RenderError(f"The cover {path} is neither JPEG nor PNG; convert it to one of them.")


# --- reading ------------------------------------------------------------------------------------

_NAMES: tuple[tuple[str, str], ...] = (
    ("TIT2", "Title"),
    ("TALB", "Album"),
    ("TPE1", "Artist"),
    ("TPE2", "Album artist"),
    (f"TXXX:{AUTHOR_FIELD}", "Author"),
    ("TDRC", "Date"),
    ("TCON", "Genre"),
    ("TRCK", "Track"),
    ("WOAS", "Source"),
)


def read_tags(path: Path) -> InspectResult:
    """The stream facts, tags and chapters of the MP3 at `path`."""
    failures = (OSError, _mutagen("mutagen").MutagenError)
    try:
        audio = _mutagen("mutagen.mp3").MP3(path)
    except failures as exc:
        raise InputError(f"Cannot read {path} as an MP3 ({exc}); give an MP3 file.") from exc
    info = audio.info
    if not _audio_at_start(path, info):
        raise InputError(
            f"{path} is not an MP3 file (no MPEG layer III audio where it should begin); "
            "give an MP3, such as the episode.mp3 that render wrote."
        )
    try:
        # Exact for what render writes: mutagen ignores the delay and padding in ffmpeg's LAME
        # tag, and reads a chapter file about 0.1 s long.
        duration = read_stream(path).seconds
    except RenderError:
        duration = float(info.length)
    tags = audio.tags
    pairs: list[tuple[str, str]] = []
    chapters: tuple[ChapterMark, ...] = ()
    version = ""
    if tags is not None:
        version = ".".join(str(part) for part in tags.version)
        pairs = _display(tags)
        chapters = _chapters(tags)
    return InspectResult(
        path=path,
        duration=duration,
        sample_rate=int(info.sample_rate),
        channels=int(info.channels),
        bitrate=int(info.bitrate),
        bitrate_mode=str(info.bitrate_mode).rsplit(".", 1)[-1],
        id3_version=version,
        tags=tuple(pairs),
        chapters=chapters,
    )


def _audio_at_start(path: Path, info: Any) -> bool:
    """Whether MPEG layer III frames begin right after the ID3v2 tags (and any zero padding).

    mutagen searches the first megabyte for any run of frame-like bytes, so it "finds" audio in
    many binaries; an MP3 has its first frame where the tags end.
    """
    if info.sketchy or info.layer != 3:
        return False
    offset = int(getattr(info, "frame_offset", 0))
    if offset > _MAX_LEAD:
        return False
    try:
        with path.open("rb") as file:
            lead = file.read(offset)
    except OSError:
        return False
    at = 0
    while lead[at : at + 3] == b"ID3" and len(lead) >= at + _ID3_HEADER:
        size = 0
        for byte in lead[at + 6 : at + 10]:
            size = size << 7 | (byte & 0x7F)
        footer = _ID3_HEADER if lead[at + 5] & 0x10 else 0
        at += _ID3_HEADER + size + footer
    return at <= offset and not lead[at:].strip(b"\x00")


def _display(tags: Any) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    shown: set[str] = set()
    for key, name in _NAMES:
        frame = tags.get(key)
        if frame is not None:
            value = frame.url if key == "WOAS" else " / ".join(str(t) for t in frame.text)
            pairs.append((name, _short(value)))
            shown.add(key)
    for frame in tags.getall("COMM"):
        pairs.append(("Comment", _short(" / ".join(frame.text))))
        shown.add(frame.HashKey)
    for frame in tags.getall("USLT"):
        pairs.append(("Transcript", _short(frame.text)))
        shown.add(frame.HashKey)
    for frame in tags.getall("APIC"):
        pairs.append(("Cover", f"{frame.mime}, {len(frame.data)} bytes"))
        shown.add(frame.HashKey)
    for key in sorted(tags.keys()):
        if key in shown or key.startswith(("CHAP", "CTOC")):
            continue
        pairs.append((key, _short(str(tags[key]))))
    return pairs


def _chapters(tags: Any) -> tuple[ChapterMark, ...]:
    top_level = _mutagen("mutagen.id3").CTOCFlags.TOP_LEVEL
    marks: dict[str, ChapterMark] = {}
    for frame in tags.getall("CHAP"):
        titles = frame.sub_frames.getall("TIT2")
        title = str(titles[0].text[0]) if titles and titles[0].text else ""
        marks[frame.element_id] = ChapterMark(
            frame.element_id, title, int(frame.start_time), int(frame.end_time)
        )
    top = [f for f in tags.getall("CTOC") if f.flags & top_level]
    if top:
        order = [marks[child] for child in top[0].child_element_ids if child in marks]
        rest = sorted((m for m in marks.values() if m not in order), key=lambda m: m.start_ms)
        return tuple(order + rest)
    return tuple(sorted(marks.values(), key=lambda m: m.start_ms))


def _short(value: str) -> str:
    flat = " ".join(value.split())
    if len(flat) <= _DISPLAY_CHARS:
        return flat
    return f"{flat[:_DISPLAY_CHARS]}… ({len(value)} characters)"
