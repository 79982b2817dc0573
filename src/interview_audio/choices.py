"""The choices a run is made with (`--chapters`, `--intro`, `--executor`), as enums: checked once,
when the options are built, so a typo fails in well under a second, before anything loads.

They live here, below every stage, because the CLI, the options and the stages all name them,
and importing this module costs nothing.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from interview_audio.errors import InputError


class ChapterMethod(StrEnum):
    """How the episode is divided: the article's headings, its summary of topics, where the
    vocabulary shifts, the first of those that works (auto), or not at all."""

    AUTO = "auto"
    HEADINGS = "headings"
    SUMMARY = "summary"
    SHIFT = "shift"
    NONE = "none"


class IntroMode(StrEnum):
    """What the narrator says before the conversation: title, source, a brief of the article's
    introduction (who is talking) and the topics in one line each (short), all of the
    introduction and the topics with their summaries (full), or nothing."""

    SHORT = "short"
    FULL = "full"
    NONE = "none"


class ExecutorKind(StrEnum):
    """Where lines are synthesized: threads in this process, or Ray workers."""

    LOCAL = "local"
    RAY = "ray"


Choice = TypeVar("Choice", bound=StrEnum)


def choose(kind: type[Choice], value: str, what: str) -> Choice:
    """`value` as a member of `kind`; InputError listing the choices when it is none of them."""
    try:
        return kind(value)
    except ValueError:
        raise InputError(
            f"Unknown {what} {value!r}: choose one of {', '.join(member.value for member in kind)}."
        ) from None
