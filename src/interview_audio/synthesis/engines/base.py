"""The one small interface every speech engine implements."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol

from interview_audio.voices.model import Voice


@dataclass(frozen=True)
class SentenceTiming:
    """Where one sentence falls inside a synthesized clip, in seconds from the clip's start."""

    text: str
    start: float
    end: float


@dataclass(frozen=True)
class Speech:
    """One synthesized line: mono signed 16-bit little-endian PCM and its sentence timings."""

    pcm: bytes
    sample_rate: int
    sentences: tuple[SentenceTiming, ...]

    @property
    def duration(self) -> float:
        return len(self.pcm) / 2 / self.sample_rate


@dataclass(frozen=True)
class VoiceInfo:
    """A voice an engine offers, for `interview-audio voices`."""

    name: str
    gender: str
    locale: str
    notes: str = ""


@dataclass(frozen=True)
class EngineOptions:
    """Per-run settings from flags and voices.yaml that change how, not what, an engine speaks."""

    jobs: int | None = None
    # Cores the engine may use; None is the whole machine. A Ray worker passes the CPUs it
    # reserved, so workers sharing a node do not oversubscribe it.
    cpus: int | None = None
    timeout: float = 60.0  # seconds a network engine may take for one request, all told
    stall_timeout: float = 10.0  # seconds without a message before a request counts as stalled
    retries: int = 5
    kokoro_model: Path | None = None
    kokoro_voices: Path | None = None


class Engine(Protocol):
    """A loaded engine. `synthesize` may be called from `jobs` threads at once."""

    name: ClassVar[str]

    @property
    def identity(self) -> str:
        """Engine, version and model hash: part of every cache key."""

    @property
    def jobs(self) -> int:
        """How many `synthesize` calls may usefully run at the same time."""

    def synthesize(self, text: str, voice: Voice) -> Speech:
        """Speak `text` (already speech-normalized) with `voice`; raise EngineError on failure."""

    def voices(self, locale: str | None = None, *, refresh: bool = False) -> list[VoiceInfo]:
        """The voices this engine offers, optionally for one locale; `refresh` asks the source
        again instead of a cached list (engines whose list is local ignore it)."""

    def check_voice(self, voice: Voice) -> None:
        """Raise VoicesError naming the valid choices when `voice` does not exist here."""
