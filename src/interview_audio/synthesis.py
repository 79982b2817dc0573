"""Synthesis: every line of the episode spoken once, through the cache, on a few threads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from interview_audio.engines.base import SentenceTiming
from interview_audio.script import Role
from interview_audio.voices import Voice


@dataclass(frozen=True)
class Line:
    """The unit of synthesis: one paragraph of one turn (or of the narrator's intro).

    `turn` is the script turn index, or None for narrator lines outside the dialogue.
    `chapter` is the index of the chapter the line belongs to in the episode's chapter list.
    """

    index: int
    speaker: str
    role: Role
    voice: Voice
    text: str
    speech: str
    turn: int | None
    paragraph: int
    chapter: int


@dataclass(frozen=True)
class Segment:
    """A synthesized line: a cached WAV file (mono 16-bit) and its sentence timings."""

    line: Line
    path: Path
    duration: float
    sentences: tuple[SentenceTiming, ...]
    cached: bool
