"""Layout: where every line and chapter of the episode goes, and the timeline that results.

Pauses are what the listener hears: the silence between the audible end of one line and the
audible start of the next, so the margins trimming kept count towards it. A chapter boundary
lies in the middle of the pause before the chapter's first line, so each chapter file starts
and ends with a little room.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from interview_audio.audio.levels import LineLevels
from interview_audio.errors import RenderError
from interview_audio.synthesis.engines.base import SentenceTiming
from interview_audio.synthesis.queue import Line, Segment
from interview_audio.voices.model import Pauses

CHAPTER_FILE = re.compile(r"^\d{2,}-.+\.mp3$")
_UNSAFE_CHARS = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')
_TITLE_FILE_CHARS = 60


@dataclass(frozen=True)
class EpisodeChapter:
    """A chapter of the episode: its title and the index of its first segment."""

    title: str
    first_line: int


@dataclass(frozen=True)
class Placement:
    """Where one segment sits in the episode, in seconds, with its sentences in episode time.

    `gain` is the level change applied to the segment, in dB.
    """

    line: Line
    start: float
    end: float
    sentences: tuple[SentenceTiming, ...]
    gain: float


@dataclass(frozen=True)
class ChapterSpan:
    """A chapter in episode time; `file` is its own MP3 when chapter files were written."""

    title: str
    start: float
    end: float
    file: Path | None = None


@dataclass(frozen=True)
class Timeline:
    """The assembled episode: every segment's placement, the chapters, the total duration."""

    placements: tuple[Placement, ...]
    chapters: tuple[ChapterSpan, ...]
    duration: float


@dataclass(frozen=True)
class Layout:
    """Where every line and chapter goes, in samples of the stream rate: the silence before
    each line, where each line starts, where each chapter starts, and the episode's length,
    of which `trail` comes after the last line."""

    gaps: tuple[int, ...]
    starts: tuple[int, ...]
    boundaries: tuple[int, ...]
    total: int
    trail: int = 0


def check_chapters(chapters: Sequence[EpisodeChapter], count: int) -> None:
    previous = -1
    for chapter in chapters:
        if not 0 <= chapter.first_line < count:
            raise RenderError(
                f"Chapter {chapter.title!r} starts at line {chapter.first_line}, but the episode "
                f"has lines 0 to {count - 1}; fix the chapter list."
            )
        if chapter.first_line <= previous:
            raise RenderError(
                f"Chapter {chapter.title!r} starts at line {chapter.first_line}, not after the "
                "chapter before it; chapters must start at increasing lines."
            )
        previous = chapter.first_line


def lay_out(
    segments: Sequence[Segment],
    levels: Sequence[LineLevels],
    chapters: Sequence[EpisodeChapter],
    pauses: Pauses,
    rate: int,
    *,
    lead: int = 0,
    trail: int = 0,
) -> Layout:
    """Place the trimmed lines one after another with the configured pauses between them;
    the first one audible from sample `lead` (music before it), `trail` samples after the
    last (music after it)."""
    chapter_starts = {c.first_line for c in chapters if c.first_line > 0}
    gaps: list[int] = []
    starts: list[int] = []
    boundaries: list[int] = [0] if chapters else []
    position = 0
    for index, line in enumerate(levels):
        gap = max(0, lead - line.lead) if index == 0 and lead else 0
        if index > 0 and line.length:
            previous, current = segments[index - 1].line, segments[index].line
            if index in chapter_starts:
                pause = pauses.chapter
            elif previous.turn != current.turn or previous.speaker != current.speaker:
                pause = pauses.speaker_change
            else:
                pause = pauses.paragraph
            gap = max(0, round(pause * rate) - levels[index - 1].tail - line.lead)
        if index in chapter_starts:
            boundaries.append(position + gap // 2)
        gaps.append(gap)
        starts.append(position + gap)
        position += gap + line.length
    return Layout(tuple(gaps), tuple(starts), tuple(boundaries), position + trail, trail)


def timeline(
    segments: Sequence[Segment],
    levels: Sequence[LineLevels],
    gains: Sequence[float],
    chapters: Sequence[EpisodeChapter],
    layout: Layout,
    rate: int,
    files: Sequence[Path],
) -> Timeline:
    """Every line's place and sentences in episode time, and the chapter spans."""
    placements: list[Placement] = []
    for segment, line, gain, start in zip(segments, levels, gains, layout.starts, strict=True):
        begin, end = start / rate, (start + line.length) / rate
        shift = begin - line.first / rate
        sentences = tuple(
            SentenceTiming(
                sentence.text,
                min(end, max(begin, sentence.start + shift)),
                min(end, max(begin, sentence.end + shift)),
            )
            for sentence in segment.sentences
        )
        placements.append(Placement(segment.line, begin, end, sentences, gain))
    ends = (*layout.boundaries[1:], layout.total) if layout.boundaries else ()
    spans = tuple(
        ChapterSpan(chapter.title, first / rate, last / rate, files[index] if files else None)
        for index, (chapter, first, last) in enumerate(
            zip(chapters, layout.boundaries, ends, strict=True)
        )
    )
    return Timeline(tuple(placements), spans, layout.total / rate)


def chapter_files(chapters: Sequence[EpisodeChapter], folder: Path | None) -> list[Path]:
    """`NN-title.mp3` in `folder` for every chapter (none without a folder)."""
    if folder is None:
        return []
    width = max(2, len(str(len(chapters))))
    return [
        folder / f"{number:0{width}d}-{safe_title(chapter.title)}.mp3"
        for number, chapter in enumerate(chapters, start=1)
    ]


def safe_title(title: str) -> str:
    """A chapter title as part of a file name: no path or shell-hostile characters, bounded."""
    text = unicodedata.normalize("NFC", title)
    text = _UNSAFE_CHARS.sub("_", text)
    text = re.sub(r"\s+", "_", text).strip("._ ")
    return text[:_TITLE_FILE_CHARS].rstrip("._ ") or "chapter"
