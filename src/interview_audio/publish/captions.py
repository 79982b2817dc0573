"""Captions (WebVTT, SRT), the page's transcript and Podcasting 2.0 chapters JSON from the
assembled timeline.

Listeners read the article's written text (2025年3月18日, 30万份, GPT-4), but engines time the
speech text (二零二五年三月十八日). So each line's written text is cut into sentences with the
same splitter the speech step uses, and every written position is mapped onto the engine's timed
sentences: a character alignment of the written text to the timed speech text (difflib) says
where each written sentence starts and ends in the speech, and the timings say when. A written
sentence that matches one spoken sentence gets exactly that sentence's times; one the engine cut
in pieces, or a piece covering several sentences (as Edge may report), is interpolated by the
spoken characters.

A cue is a sentence, or a part of one: sentences longer than a reader takes in at a glance
(MAX_CHARS characters or MAX_SECONDS) are cut at their commas, and only where there is no comma
in reach, between characters. A sentence's time is shared among its parts by how long they
take to say: a Chinese character counts one, a Latin word a little more than one, punctuation
a little.
"""

from __future__ import annotations

import bisect
import difflib
import json
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from interview_audio.article.script import Role
from interview_audio.audio.assemble import Placement, Timeline
from interview_audio.files import write_text
from interview_audio.synthesis.engines.base import SentenceTiming
from interview_audio.synthesis.sentences import split_sentences

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


@dataclass(frozen=True)
class TimedSentence:
    """One written sentence of a line and when it is spoken, in episode seconds."""

    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Paragraph:
    """One line of the episode as a listener reads it: its written sentences in episode time."""

    speaker: str
    role: Role
    turn: int | None
    opens_turn: bool
    start: float
    end: float
    sentences: tuple[TimedSentence, ...]


def transcript(timeline: Timeline) -> tuple[Paragraph, ...]:
    """Every line's written sentences with the times the engine spoke them."""
    paragraphs: list[Paragraph] = []
    previous: Placement | None = None
    for placement in timeline.placements:
        line = placement.line
        opens = previous is None or (previous.line.turn, previous.line.speaker) != (
            line.turn,
            line.speaker,
        )
        paragraphs.append(
            Paragraph(
                line.speaker,
                line.role,
                line.turn,
                opens,
                placement.start,
                placement.end,
                tuple(written_sentences(placement)),
            )
        )
        previous = placement
    return tuple(paragraphs)


def cues(timeline: Timeline) -> list[Cue]:
    """All captions of the episode in order, none longer than MAX_CHARS or MAX_SECONDS
    (unless a single character is)."""
    found: list[Cue] = []
    for paragraph in transcript(timeline):
        opens = paragraph.opens_turn
        for sentence in paragraph.sentences:
            for piece_start, piece_end, piece in _split(
                sentence.text, sentence.start, sentence.end
            ):
                found.append(Cue(piece_start, piece_end, paragraph.speaker, piece, opens))
                opens = False
    return _tidy(found)


def written_sentences(placement: Placement) -> list[TimedSentence]:
    """The line's written text cut into sentences, each timed by the spoken text it became.

    Without engine timings the whole placement stands for the line's speech text.
    """
    line = placement.line
    timed = [s for s in placement.sentences if s.text.strip()]
    if not timed:
        spoken = line.speech.strip() or line.text
        timed = [SentenceTiming(spoken, placement.start, placement.end)]
    clock = _SpeechClock(timed)
    to_speech = _PositionMap(line.text, clock.text)
    found: list[TimedSentence] = []
    for begin, end in _sentence_spans(line.text):
        start_time = clock.start_at(to_speech.start(begin))
        end_time = clock.end_at(to_speech.end(end))
        found.append(TimedSentence(start_time, end_time, line.text[begin:end]))
    return found


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    """Where each sentence of `split_sentences` lies in `text` (it returns stripped copies)."""
    spans: list[tuple[int, int]] = []
    position = 0
    for sentence in split_sentences(text):
        begin = text.find(sentence, position)
        if begin < 0:  # never expected: the splitter only strips and cuts
            log.debug("Sentence %r not found in its line; timing the rest as one", sentence)
            rest = text[position:].strip()
            if rest:
                begin = text.index(rest, position)
                spans.append((begin, begin + len(rest)))
            break
        spans.append((begin, begin + len(sentence)))
        position = begin + len(sentence)
    return spans


class _PositionMap:
    """Maps positions in the written text onto the timed speech text by a character alignment.

    Unchanged runs map one to one; a rewritten run (2025 → 二零二五) maps linearly onto what
    it became; text the speech step dropped maps to a point.
    """

    def __init__(self, written: str, spoken: str) -> None:
        matcher = difflib.SequenceMatcher(None, written, spoken, autojunk=False)
        self._ops = [op[1:] for op in matcher.get_opcodes()]
        self._starts = [i1 for i1, _, _, _ in self._ops]
        self._length = len(spoken)

    def start(self, position: int) -> float:
        """Where the character at `position` begins in the speech, counting text the speech step
        inserted just before it."""
        index = bisect.bisect_left(self._starts, position)
        if index < len(self._ops) and self._ops[index][0] == position:
            return self._ops[index][2]
        return self._inside(index - 1, position)

    def end(self, position: int) -> float:
        """Where the character before `position` ends in the speech."""
        # The last run starting before `position`; an insertion at `position` is left to
        # what follows.
        return self._inside(bisect.bisect_left(self._starts, position) - 1, position)

    def _inside(self, index: int, position: int) -> float:
        if index < 0:
            return 0.0
        i1, i2, j1, j2 = self._ops[index]
        if i2 == i1:
            return float(j2)
        share = min(1.0, max(0.0, (position - i1) / (i2 - i1)))
        return min(float(self._length), j1 + (j2 - j1) * share)


class _SpeechClock:
    """Times of positions in the engine's timed sentences joined together, interpolated by
    characters within a sentence."""

    def __init__(self, timed: Sequence[SentenceTiming]) -> None:
        self._timed = list(timed)
        self.text = "".join(s.text for s in timed)
        self._ends: list[int] = []
        position = 0
        for sentence in timed:
            position += len(sentence.text)
            self._ends.append(position)

    def start_at(self, position: float) -> float:
        """The time at `position` as the start of something: at a boundary, the next sentence's
        start."""
        index = min(bisect.bisect_right(self._ends, position), len(self._timed) - 1)
        return self._time(index, position)

    def end_at(self, position: float) -> float:
        """The time at `position` as the end of something: at a boundary, the sentence's end."""
        index = min(bisect.bisect_left(self._ends, position), len(self._timed) - 1)
        return self._time(index, position)

    def _time(self, index: int, position: float) -> float:
        sentence = self._timed[index]
        end = self._ends[index]
        begin = end - len(sentence.text)
        share = min(1.0, max(0.0, (position - begin) / (end - begin))) if end > begin else 0.0
        return sentence.start + (sentence.end - sentence.start) * share


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
