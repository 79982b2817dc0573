"""Chinese words: where text may be cut without splitting a word, for every stage that cuts.

Chapter titles (article stage) and long sentences (synthesis stage) are both cut at word
boundaries, so the segmenter lives here, below both. jieba's dictionary is Simplified Chinese:
on Traditional text (a Hong Kong or Taiwan article) it falls back to single characters, and a
title could end on 影 of 影響. Traditional text is therefore segmented through its Simplified
form (OpenCC's t2s, which maps character for character here), and the words are handed back
in the original spelling.

jieba costs about a second to load its dictionary, so nothing is imported until a cut needs it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from interview_audio.errors import EngineUnavailable

log = logging.getLogger(__name__)


@functools.cache
def load_jieba() -> Any:
    """Import jieba on first need, with its startup chatter ("Building prefix dict...") off."""
    try:
        import jieba
    except ImportError as exc:
        raise EngineUnavailable(
            "Cutting text at word boundaries needs jieba: run `pip install jieba`."
        ) from exc
    jieba.setLogLevel(logging.WARNING)
    return jieba


@functools.cache
def _simplifier() -> Callable[[str], str]:
    try:
        import opencc
    except ImportError as exc:
        raise EngineUnavailable(
            "Cutting Traditional Chinese at word boundaries needs OpenCC: run `pip install opencc`."
        ) from exc
    converter = opencc.OpenCC("t2s")
    convert: Callable[[str], str] = converter.convert
    return convert


def simplified(text: str) -> str:
    """`text` in Simplified characters, character for character (unchanged when a phrase
    conversion would change its length, so offsets stay valid)."""
    converted = text if text.isascii() else _simplifier()(text)
    return converted if len(converted) == len(text) else text


def tokenize(text: str) -> list[tuple[str, int, int]]:
    """jieba's words of `text` as (word, start, end), in `text`'s own spelling."""
    return [
        (text[start:end], start, end) for _, start, end in load_jieba().tokenize(simplified(text))
    ]


def words(text: str) -> list[str]:
    """jieba's words of `text`, in order; joined they give `text` back."""
    return [word for word, _, _ in tokenize(text)]


def boundaries(text: str) -> frozenset[int]:
    """Offsets in `text` where a cut falls between two words (0 and len(text) included)."""
    return frozenset({0, len(text)} | {start for _, start, _ in tokenize(text)})
