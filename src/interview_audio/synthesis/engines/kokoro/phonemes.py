"""Text to Kokoro's phonemes: misaki's Mandarin front end, English words through eSpeak NG's
en-us phonemes mapped to Kokoro's symbols, acronyms spelt, and phoneme strings cut to the
model's limit."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from interview_audio.synthesis.engines.espeak.engine import EspeakLibrary
from interview_audio.synthesis.engines.kokoro.installed import (
    need,
)
from interview_audio.words import load_jieba

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float32]

log = logging.getLogger(__name__)


# English letter names in Kokoro's (misaki's American) phoneme symbols, for spelling acronyms.
_LETTERS = {
    "A": "A",
    "B": "bi",
    "C": "si",
    "D": "di",
    "E": "i",
    "F": "ɛf",
    "G": "ʤi",
    "H": "Aʧ",
    "I": "I",
    "J": "ʤA",
    "K": "kA",
    "L": "ɛl",
    "M": "ɛm",
    "N": "ɛn",
    "O": "O",
    "P": "pi",
    "Q": "kju",
    "R": "ɑɹ",
    "S": "ɛs",
    "T": "ti",
    "U": "ju",
    "V": "vi",
    "W": "dʌbᵊlju",
    "X": "ɛks",
    "Y": "wI",
    "Z": "zi",
}


# eSpeak NG en-us IPA (multi-letter phonemes tied with ^) to Kokoro's symbols; order matters.
_ESPEAK_TO_KOKORO = (
    ("a^ɪ", "I"),
    ("a^ʊ", "W"),
    ("e^ɪ", "A"),
    ("o^ʊ", "O"),
    ("ə^ʊ", "O"),
    ("ɔ^ɪ", "Y"),
    ("d^ʒ", "ʤ"),
    ("t^ʃ", "ʧ"),
    ("ə^l", "ᵊl"),
    ("ɚ", "əɹ"),
    ("ɝ", "ɜɹ"),
    ("ɜː", "ɜɹ"),
    ("ɪə", "iə"),
    ("r", "ɹ"),
    ("ɐ", "ə"),
    ("x", "k"),
    ("ç", "k"),
    ("ɬ", "l"),
    ("ɾ", "T"),
    ("ʔ", "t"),
    ("ː", ""),
    ("^", ""),
    ("e", "A"),
    ("o", "ɔ"),
    ("\u0303", ""),
)


_LATIN_RUN = re.compile(r"(?:[A-Za-z]\.){2,}|[A-Za-z][A-Za-z'’]*(?:[ \-]+[A-Za-z][A-Za-z'’]*)*")


_LATIN_THEN_DIGIT = re.compile(r"(?<=[A-Za-z])[-‐–](?=\d)")


_WORD_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]{2,}s?(?![a-z])|[A-Z]?[a-z'’]+|[A-Z]")


_ACRONYM = re.compile(r"(?:[A-Z]\.){2,}|[A-Z]{2,}s?")


def english_phonemes(text: str, espeak: EspeakLibrary) -> str:
    """Kokoro phonemes for a run of English words; acronyms (AGI, GPUs, OpenAI's AI) spelt."""
    pieces: list[str] = []
    plain: list[str] = []

    def flush() -> None:
        if plain:
            pieces.append(_kokoro_symbols(espeak.phonemes(" ".join(plain), "en-us")))
            plain.clear()

    for word in re.split(r"[ \-]+", text):
        if not word:
            continue
        parts = _WORD_PARTS.findall(word) if re.search(r"[A-Z]{2,}", word) else [word]
        if _ACRONYM.fullmatch(word):
            parts = [word]
        for part in parts:
            if _ACRONYM.fullmatch(part):
                flush()
                pieces.append(_spell(part))
            else:
                plain.append(part)
    flush()
    return " ".join(piece for piece in pieces if piece)


def _spell(acronym: str) -> str:
    """Letter names with the stress on the last letter, as English speakers say `GPU`."""
    plural = acronym.endswith("s")
    letters = [c for c in acronym.rstrip("s") if c.isalpha()]
    if not letters:
        return ""
    names = ["ˌ" + _LETTERS[c.upper()] for c in letters[:-1]]
    names.append("ˈ" + _LETTERS[letters[-1].upper()])
    return "".join(names) + ("z" if plural else "")


def _kokoro_symbols(ipa: str) -> str:
    for old, new in _ESPEAK_TO_KOKORO:
        ipa = ipa.replace(old, new)
    return re.sub(r"(\S)\u0329", r"ᵊ\1", ipa)


class Phonemizer:
    """Mandarin text (maybe with English words) to a phoneme string in a model's vocab."""

    def __init__(
        self, chinese: Callable[[str], str], espeak: EspeakLibrary, vocab: Mapping[str, int]
    ) -> None:
        self._chinese = chinese
        self._espeak = espeak
        self._vocab = vocab

    def __call__(self, text: str) -> str:
        text = _LATIN_THEN_DIGIT.sub(" ", text)
        pieces: list[str] = []
        position = 0
        for match in _LATIN_RUN.finditer(text):
            pieces.append(self._chinese_piece(text[position : match.start()]))
            pieces.append(english_phonemes(match.group(), self._espeak))
            position = match.end()
        pieces.append(self._chinese_piece(text[position:]))
        joined = " ".join(piece for piece in pieces if piece)
        kept = "".join(c for c in joined if c in self._vocab)
        return re.sub(r" {2,}", " ", kept).strip()

    def _chinese_piece(self, text: str) -> str:
        return self._chinese(text) if text.strip() else ""


_frontends: dict[str, Callable[[str], str]] = {}
_frontends_lock = threading.Lock()


def chinese_frontend(version_name: str, english: Callable[[str], str]) -> Callable[[str], str]:
    """misaki's Mandarin G2P (one per process per front-end version)."""
    with _frontends_lock:
        if version_name not in _frontends:
            zh = need("misaki.zh")
            if version_name == "1.1":
                g2p = zh.ZHG2P(version="1.1", en_callable=english)
            else:
                g2p = zh.ZHG2P()

            def chinese(text: str) -> str:
                phonemes: str = g2p(text)[0]
                return phonemes

            load_jieba()  # misaki segments with jieba: load it quietly, once
            chinese("你好。")  # builds jieba's dictionary once, under the lock
            _frontends[version_name] = chinese
        return _frontends[version_name]


# Phoneme strings are cut after these marks when they are too long for the model.
_BREAKS = ",.!?;:—…"


def split_phonemes(phonemes: str, limit: int) -> list[str]:
    """Cut a phoneme string into pieces of at most `limit` ids, at punctuation, else spaces."""
    pieces: list[str] = []
    rest = phonemes.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind(mark) for mark in _BREAKS) + 1
        if cut < limit // 3:
            cut = window.rfind(" ") + 1
        if cut < limit // 3:
            cut = limit
        piece, rest = rest[:cut].strip(), rest[cut:].strip()
        if piece:
            pieces.append(piece)
    if rest:
        pieces.append(rest)
    return pieces
