"""Captions (WebVTT, SRT) and Podcasting 2.0 chapters JSON from the assembled timeline.

A cue is a sentence, or a part of one: sentences longer than a reader takes in at a glance
(MAX_CHARS characters or MAX_SECONDS) are cut at their commas, and only where there is no comma
in reach, between characters. A sentence's time is shared among its parts by how long they
take to say: a Chinese character counts one, a Latin word a little more than one, punctuation
a little. Cue times come from the engine's sentence timings as placed in the episode.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from interview_audio.assemble import Placement, Timeline
from interview_audio.files import write_text

log = logging.getLogger(__name__)

MAX_CHARS = 28
MAX_SECONDS = 7.0
CHAPTERS_VERSION = "1.2.0"
SPEAKER_MARK = "："
_CLAUSE_END = re.compile(r"(?<=[，、；：,;:])")
_LATIN_RUN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'.\-]*")
_PUNCTUATION = re.compile(r"[^\w\s]")
_WORD_CHAR = re.compile(r"[A-Za-z0-9]")
_LATIN_LETTERS_PER_UNIT = 3
_PUNCTUATION_WEIGHT = 0.3


@dataclass(frozen=True)
class Cue:
    """One caption on screen: who speaks, the text, when; `opens_turn` marks a new speaker."""

    start: float
    end: float
    speaker: str
    text: str
    opens_turn: bool


def cues(timeline: Timeline) -> list[Cue]:
    """All captions of the episode in order, none longer than MAX_CHARS or MAX_SECONDS
    (unless a single character is)."""
    found: list[Cue] = []
    previous: Placement | None = None
    for placement in timeline.placements:
        line = placement.line
        opens = previous is None or (previous.line.turn, previous.line.speaker) != (
            line.turn,
            line.speaker,
        )
        for start, end, text in _sentences(placement):
            for piece_start, piece_end, piece in _split(text, start, end):
                found.append(Cue(piece_start, piece_end, line.speaker, piece, opens))
                opens = False
        previous = placement
    return _tidy(found)


def write_vtt(timeline: Timeline, path: Path) -> None:
    """WebVTT captions with a `<v Speaker>` voice span on every cue."""
    blocks = ["WEBVTT"]
    found = cues(timeline)
    for cue in found:
        speaker = _escape(cue.speaker).replace(">", "&gt;")
        blocks.append(
            f"{_vtt_time(cue.start)} --> {_vtt_time(cue.end)}\n<v {speaker}>{_escape(cue.text)}</v>"
        )
    write_text(path, "\n\n".join(blocks) + "\n")
    log.info("Wrote %d captions to %s", len(found), path)


def write_srt(timeline: Timeline, path: Path) -> None:
    """SRT captions; the first cue of each turn starts with the speaker's name."""
    blocks = []
    for number, cue in enumerate(cues(timeline), start=1):
        text = f"{cue.speaker}{SPEAKER_MARK}{cue.text}" if cue.opens_turn else cue.text
        blocks.append(f"{number}\n{_srt_time(cue.start)} --> {_srt_time(cue.end)}\n{text}")
    write_text(path, "\n\n".join(blocks) + "\n")
    log.info("Wrote %d captions to %s", len(blocks), path)


def write_chapters_json(timeline: Timeline, path: Path, title: str) -> None:
    """Chapters in the Podcasting 2.0 JSON chapters format (version 1.2.0)."""
    document = {
        "version": CHAPTERS_VERSION,
        "title": title,
        "chapters": [
            {"startTime": round(span.start, 3), "endTime": round(span.end, 3), "title": span.title}
            for span in timeline.chapters
        ],
    }
    write_text(path, json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    log.info("Wrote %d chapters to %s", len(timeline.chapters), path)


def _sentences(placement: Placement) -> Iterator[tuple[float, float, str]]:
    """The placement's timed sentences; the whole line when the engine gave no timings."""
    timed = [s for s in placement.sentences if s.text.strip()]
    if not timed:
        yield placement.start, placement.end, placement.line.text
        return
    for sentence in timed:
        yield sentence.start, sentence.end, sentence.text


def _split(text: str, start: float, end: float) -> list[tuple[float, float, str]]:
    """Cut one sentence into readable parts and give each its share of [start, end]."""
    text = " ".join(text.split())
    if not text:
        return []
    parts = _readable_parts(text)
    weights = [_weight(part) for part in parts]
    total = sum(weights)
    timed: list[tuple[float, float, str]] = []
    position = start
    for part, weight in zip(parts, weights, strict=True):
        share = (end - start) * weight / total if total > 0 else (end - start) / len(parts)
        timed.extend(_short_enough(part, position, position + share))
        position += share
    return timed


def _readable_parts(text: str) -> list[str]:
    """Clauses joined up to MAX_CHARS; clauses longer than that cut evenly."""
    parts: list[str] = []
    current = ""
    for clause in (c for c in _CLAUSE_END.split(text) if c):
        for piece in _cut(clause.strip(), MAX_CHARS):
            joined = f"{current}{_joiner(current, piece)}{piece}"
            if current and len(joined) > MAX_CHARS:
                parts.append(current)
                joined = piece
            current = joined
    if current:
        parts.append(current)
    return parts


def _short_enough(text: str, start: float, end: float) -> list[tuple[float, float, str]]:
    """Halve a part (by its weight) until it is on screen no longer than MAX_SECONDS."""
    if end - start <= MAX_SECONDS or len(text) < 2:
        return [(start, end, text)]
    pieces = _cut(text, math.ceil(len(text) / 2))
    if len(pieces) < 2:
        return [(start, end, text)]
    first, second = pieces[0], "".join(pieces[1:])
    middle = start + (end - start) * _weight(first) / (_weight(first) + _weight(second))
    return _short_enough(first, start, middle) + _short_enough(second, middle, end)


def _cut(text: str, size: int) -> list[str]:
    """Cut `text` into even pieces of at most `size` characters, not inside a Latin word
    or number when a nearby boundary allows."""
    if len(text) <= size:
        return [text]
    count = math.ceil(len(text) / size)
    step = len(text) / count
    pieces: list[str] = []
    begin = 0
    for index in range(1, count):
        cut = round(step * index)
        floor = begin + 1
        while cut > floor and _inside_word(text, cut):
            cut -= 1
        if _inside_word(text, cut):
            cut = round(step * index)
        pieces.append(text[begin:cut].strip())
        begin = cut
    pieces.append(text[begin:].strip())
    return [piece for piece in pieces if piece]


def _inside_word(text: str, index: int) -> bool:
    return (
        0 < index < len(text)
        and bool(_WORD_CHAR.match(text[index - 1]))
        and bool(_WORD_CHAR.match(text[index]))
    )


def _joiner(left: str, right: str) -> str:
    """A space only between two Latin words or numbers; Chinese runs on without one."""
    if left and right and _WORD_CHAR.match(left[-1]) and _WORD_CHAR.match(right[0]):
        return " "
    return ""


def _weight(text: str) -> float:
    """About how long `text` takes to say, in Chinese characters."""
    weight = sum(max(1.0, len(run) / _LATIN_LETTERS_PER_UNIT) for run in _LATIN_RUN.findall(text))
    for char in _LATIN_RUN.sub("", text):
        if char.isspace():
            continue
        weight += _PUNCTUATION_WEIGHT if _PUNCTUATION.match(char) else 1.0
    return weight


def _tidy(found: list[Cue]) -> list[Cue]:
    """Times to the millisecond (as written), no cue starting before the previous one ends,
    and a cue left with no time of its own joined to the one before (or after, at the start),
    so no text is lost."""
    tidy: list[Cue] = []
    pending = ""
    for cue in found:
        start, end = round(cue.start, 3), round(cue.end, 3)
        if tidy:
            start = max(start, tidy[-1].end)
        text = _join(pending, cue.text)
        if end > start:
            tidy.append(Cue(start, end, cue.speaker, text, cue.opens_turn))
            pending = ""
        elif tidy:
            last = tidy[-1]
            tidy[-1] = Cue(
                last.start, last.end, last.speaker, _join(last.text, text), last.opens_turn
            )
        else:
            pending = text
    return tidy


def _join(left: str, right: str) -> str:
    return f"{left}{_joiner(left, right)}{right}"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _vtt_time(seconds: float) -> str:
    hours, minutes, secs, millis = _clock(seconds)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def _srt_time(seconds: float) -> str:
    hours, minutes, secs, millis = _clock(seconds)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{millis:03d}"


def _clock(seconds: float) -> tuple[int, int, int, int]:
    total = max(0, round(seconds * 1000))
    hours, rest = divmod(total, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return hours, minutes, secs, millis
