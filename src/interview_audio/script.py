"""The script: who says what, in order. Every later stage reads this and nothing else.

A script comes from parsing an article (`parse.py`) or from a YAML file the user edited;
both give the same frozen `Script`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Role(str, enum.Enum):
    HOST = "host"
    GUEST = "guest"
    NARRATOR = "narrator"


@dataclass(frozen=True)
class Meta:
    """What the article says about itself."""

    title: str
    author: str = ""
    date: str = ""
    location: str = ""
    source_url: str = ""
    cover_url: str = ""


@dataclass(frozen=True)
class Topic:
    """One item of the article's numbered summary: its bold title and its text."""

    title: str
    text: str = ""


@dataclass(frozen=True)
class Heading:
    """A section heading inside the dialogue and the turn it comes before."""

    title: str
    start_turn: int


@dataclass(frozen=True)
class Chapter:
    """A stretch of the conversation under one title, from `start_turn` to the next chapter."""

    title: str
    start_turn: int


@dataclass(frozen=True)
class Speaker:
    name: str
    role: Role
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Turn:
    """One speaker's uninterrupted turn, as display text split into paragraphs."""

    speaker: str
    role: Role
    paragraphs: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


@dataclass(frozen=True)
class Script:
    meta: Meta
    speakers: tuple[Speaker, ...]
    turns: tuple[Turn, ...]
    topics: tuple[Topic, ...] = ()
    headings: tuple[Heading, ...] = ()
    chapters: tuple[Chapter, ...] = field(default=())

    @property
    def title(self) -> str:
        return self.meta.title

    def turn_count(self, speaker: str) -> int:
        return sum(1 for turn in self.turns if turn.speaker == speaker)
