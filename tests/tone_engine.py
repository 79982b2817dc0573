"""A tiny real engine for tests: it speaks every text as a sine tone.

It implements the `Engine` protocol for real (PCM, sample rate, sentence timings), so the
synthesis stage and the cache run unchanged on top of it. The tone's pitch comes from the
voice and its length from the text, so changes show up in the audio. Counters prove how often
and how concurrently it was called; faults and delays are switchable per text.

`fill_cache` is the entry point for `multiprocessing` (spawn) children in the cache tests;
`MarkedToneLoader` loads the engine in Ray workers, leaving a file per call.
"""

from __future__ import annotations

import array
import functools
import hashlib
import math
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import ClassVar

from interview_audio.article.script import Role
from interview_audio.errors import EngineError, EngineUnavailable
from interview_audio.synthesis.engines.base import SentenceTiming, Speech, VoiceInfo
from interview_audio.synthesis.engines.espeak.voice import EspeakVoice
from interview_audio.synthesis.queue import Line
from interview_audio.voices.model import Voice

_SENTENCE = re.compile(r"[^。！？!?]+[。！？!?]*")


@dataclass
class ToneEngine:
    """Deterministic for a given (voice, text, seconds_per_char): same input, same samples."""

    name: ClassVar[str] = "tone"

    sample_rate: int = 8000
    seconds_per_char: float = 0.01
    version: str = "1"
    parallel: int = 2
    delay: float = 0.0
    fail_on: set[str] | None = None
    on_call: Callable[[str], None] | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.calls = 0
        self.active = 0
        self.max_active = 0
        self.texts: list[str] = []

    @property
    def identity(self) -> str:
        return f"tone/{self.version}/{self.sample_rate}Hz"

    @property
    def jobs(self) -> int:
        return self.parallel

    def synthesize(self, text: str, voice: Voice) -> Speech:
        with self._lock:
            self.calls += 1
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self.texts.append(text)
        try:
            if self.on_call is not None:
                self.on_call(text)
            if self.delay:
                time.sleep(self.delay)
            if self.fail_on and text in self.fail_on:
                raise EngineError(f"the tone engine was told to fail on {text!r}")
            return self._speak(text, voice)
        finally:
            with self._lock:
                self.active -= 1

    def _speak(self, text: str, voice: Voice) -> Speech:
        frequency = pitch_of(voice)
        rate = self.sample_rate
        samples = array.array("h")
        timings: list[SentenceTiming] = []
        for sentence in _SENTENCE.findall(text) or [text]:
            start = len(samples)
            count = max(1, round(len(sentence) * self.seconds_per_char * rate))
            samples.extend(
                round(8000 * math.sin(2 * math.pi * frequency * (start + i) / rate))
                for i in range(count)
            )
            timings.append(SentenceTiming(sentence, start / rate, len(samples) / rate))
        if sys.byteorder == "big":
            samples.byteswap()
        return Speech(samples.tobytes(), rate, tuple(timings))

    def voices(self, locale: str | None = None) -> list[VoiceInfo]:
        return [VoiceInfo("cmn+f3", "female", "zh-CN"), VoiceInfo("cmn+m3", "male", "zh-CN")]

    def check_voice(self, voice: Voice) -> None:
        pitch_of(voice)


def pitch_of(voice: Voice) -> float:
    """A pitch between 150 and 650 Hz that changes whenever the voice does."""
    digest = hashlib.sha256(repr(voice).encode()).digest()
    return 150.0 + int.from_bytes(digest[:2], "big") % 500


def make_lines(texts: Sequence[tuple[str, Voice, str]], *, narrator_intro: int = 0) -> list[Line]:
    """Lines from (speaker, voice, text); every line is its own turn, paragraph 0.

    The first `narrator_intro` lines are the narrator's intro (no turn)."""
    lines: list[Line] = []
    for index, (speaker, voice, text) in enumerate(texts):
        intro = index < narrator_intro
        lines.append(
            Line(
                index=index,
                speaker=speaker,
                role=Role.NARRATOR if intro else Role.GUEST,
                voice=voice,
                text=text,
                speech=text,
                turn=None if intro else index - narrator_intro,
                paragraph=index if intro else 0,
                chapter=0,
            )
        )
    return lines


def fill_cache(
    root: str, count: int, seconds_per_char: float, barrier: Barrier, results: Queue[list[float]]
) -> None:
    """A second render in its own process: synthesize `count` lines into the cache at `root`
    right after every process passed `barrier`; report each segment's duration."""
    from interview_audio.synthesis.cache import Cache
    from interview_audio.synthesis.queue import synthesize

    engine = ToneEngine(seconds_per_char=seconds_per_char, parallel=3)
    voice = EspeakVoice("cmn+f3")
    lines = make_lines([("甲", voice, f"第{i}句话。" * (1 + i % 5)) for i in range(count)])
    barrier.wait()
    segments = synthesize(lines, engine, Cache(Path(root)))
    results.put([segment.duration for segment in segments])


@dataclass(frozen=True)
class MarkedToneLoader:
    """Loads a ToneEngine in a Ray worker, one line at a time. Every call leaves
    `calls/<text hash>-<pid>-<n>`; the first call for `hang_on` hangs for a minute, long enough
    for a test to kill the worker in the middle of that line."""

    calls: str
    hang_on: str

    def __call__(self, cpus: int | None) -> ToneEngine:
        return ToneEngine(parallel=1, on_call=functools.partial(_mark, self.calls, self.hang_on))


def text_mark(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _mark(calls: str, hang_on: str, text: str) -> None:
    mark = text_mark(text)
    first = not any(Path(calls).glob(f"{mark}-*"))
    Path(calls, f"{mark}-{os.getpid()}-{uuid.uuid4().hex[:8]}").touch()
    if text == hang_on and first:
        time.sleep(60)


@dataclass(frozen=True)
class OtherToneLoader:
    """Loads, in a Ray worker, an engine that differs from the driver's: another version, or
    none at all (`fail`)."""

    fail: bool = False

    def __call__(self, cpus: int | None) -> ToneEngine:
        if self.fail:
            raise EngineUnavailable("the tone model is missing on this node")
        return ToneEngine(version="2")
