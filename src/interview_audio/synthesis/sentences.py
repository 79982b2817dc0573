"""Sentences: speech text cut into the pieces an engine speaks and timings name.

A sentence ends at 。！？；… (and closing quotes after them) or a line break; one longer than an
engine takes at once is cut at a soft break (，、：), else between words (jieba), never inside a
Latin word or a Chinese numeral.
"""

from __future__ import annotations

import bisect
import logging
import re
from collections.abc import Iterable, Sequence

from interview_audio.errors import InterviewAudioError
from interview_audio.words import tokenize

log = logging.getLogger(__name__)


_TERMINATORS = "。！？；…!?;"
_CLOSERS = "”」）』’\"')》】〕"
_SOFT_BREAKS = "，、：,:"
_SENTENCE_END = re.compile(rf"[{re.escape(_TERMINATORS)}]+[{re.escape(_CLOSERS)}]*|\n")
# Characters a cut must not fall between: a Latin word, a number or code (GPT-4, 7.6, 20%),
# or a run of Chinese numerals (一千五百七十亿).
_LATIN_WORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+#&'-")
_CHINESE_NUMERAL = frozenset("零〇一二两三四五六七八九十百千万亿点")


def split_sentences(text: str, max_chars: int = 120) -> list[str]:
    """Cut text into sentences an engine speaks in one go and a timing can name.

    Sentences end at 。！？；… (and ! ? ; in Latin text) or a newline, keeping the terminator and
    any closing quote or bracket after it. A sentence longer than `max_chars` is cut at the last
    softer break before the limit: ，、：first, then a space, then a word boundary (jieba). A cut
    never falls inside a Latin word, a number or a Chinese word, so a single token longer than
    `max_chars` stays whole. Pieces are stripped; empty pieces are dropped.
    """
    if max_chars < 1:
        raise InterviewAudioError(
            f"max_chars must be at least 1 character, got {max_chars}: pass a positive number."
        )
    pieces: list[str] = []
    for sentence in _sentences(text):
        pieces.extend(_cut(sentence, max_chars))
    return pieces


def _sentences(text: str) -> Iterable[str]:
    start = 0
    for match in _SENTENCE_END.finditer(text):
        sentence = text[start : match.end()].strip()
        if sentence:
            yield sentence
        start = match.end()
    rest = text[start:].strip()
    if rest:
        yield rest


def _cut(sentence: str, max_chars: int) -> list[str]:
    """Cut one stripped sentence into pieces of at most `max_chars` where the text allows it."""
    if len(sentence) <= max_chars:
        return [sentence]
    breaks = _Breaks(sentence)
    pieces: list[str] = []
    start = 0
    while len(sentence) - start > max_chars:
        cut = breaks.best(start, start + max_chars)
        pieces.append(sentence[start:cut].strip())
        start = cut
        while start < len(sentence) and sentence[start].isspace():
            start += 1
    rest = sentence[start:].strip()
    if rest:
        pieces.append(rest)
    return pieces


class _Breaks:
    """Where a sentence may be cut, by preference: soft punctuation, spaces, word boundaries.

    A position p means a cut between sentence[p - 1] and sentence[p].
    """

    def __init__(self, sentence: str) -> None:
        self.sentence = sentence
        self.soft = [
            index + 1
            for index, char in enumerate(sentence)
            if char in _SOFT_BREAKS and not self._inside_number(index)
        ]
        self.spaces = [index for index, char in enumerate(sentence) if char.isspace()]
        self._words: list[int] | None = None

    def _inside_number(self, index: int) -> bool:
        """A comma or colon between digits belongs to the number (1,000, 10:30)."""
        before = self.sentence[index - 1 : index]
        after = self.sentence[index + 1 : index + 2]
        return before.isascii() and before.isdigit() and after.isascii() and after.isdigit()

    @property
    def words(self) -> list[int]:
        """Word boundaries from jieba, computed only when a long run has no softer break."""
        if self._words is None:
            sentence = self.sentence
            self._words = [
                start
                for _, start, _ in tokenize(sentence)
                if start > 0 and not _joined(sentence[start - 1], sentence[start])
            ]
        return self._words

    def best(self, start: int, limit: int) -> int:
        """The cut for the piece starting at `start`: the last good break at or before `limit`,
        else the first break after it (the piece holds one unbreakable token)."""
        for candidates in (self.soft, self.spaces):
            cut = _last_between(candidates, start, limit)
            if cut is not None:
                return cut
        cut = _last_between(self.words, start, limit)
        if cut is not None:
            return cut
        later = [
            candidates[index]
            for candidates in (self.soft, self.spaces, self.words)
            if (index := bisect.bisect_right(candidates, limit)) < len(candidates)
        ]
        log.debug("No break within %d characters in %r", limit - start, self.sentence[start:limit])
        return min(later, default=len(self.sentence))


def _last_between(candidates: Sequence[int], start: int, limit: int) -> int | None:
    index = bisect.bisect_right(candidates, limit) - 1
    if index >= 0 and candidates[index] > start:
        return candidates[index]
    return None


def _joined(before: str, after: str) -> bool:
    return (before in _LATIN_WORD and after in _LATIN_WORD) or (
        before in _CHINESE_NUMERAL and after in _CHINESE_NUMERAL
    )
