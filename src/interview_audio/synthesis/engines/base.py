"""The one small interface every speech engine implements, and the plugin object that registers
it (the entry-point group `interview_audio.engines`; see the README's "Writing an engine")."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol, runtime_checkable

from interview_audio import yamlfile
from interview_audio.errors import EngineUnavailable, VoicesError
from interview_audio.voices.kinds import VoiceKind
from interview_audio.voices.model import Voice, VoiceTransform


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
    # Engine-wide settings from voices.yaml by engine name (Kokoro's model files): each engine
    # reads its own with `settings_for`.
    engine_settings: tuple[tuple[str, object], ...] = ()
    # Load now what the first line would otherwise load (a model session, a text front end):
    # a preview speaks at once and says when it is loading; a render whose lines are all
    # cached never needs them.
    preload: bool = False

    def settings_for(self, engine: str) -> object | None:
        return next((value for name, value in self.engine_settings if name == engine), None)


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


@runtime_checkable
class EnginePlugin(VoiceKind, Protocol):
    """What an entry point of the group `interview_audio.engines` names: the engine's voices as
    voices.yaml writes them (`VoiceKind`), and how to load it."""

    description: str

    def load(self, options: EngineOptions) -> Engine:
        """The engine, ready to speak; heavy imports happen here. EngineUnavailable (naming the
        `pip install` that fixes it) when it cannot run on this machine."""
        ...


VoiceParser = Callable[[Mapping[str, yamlfile.Node], yamlfile.Node, VoiceTransform | None], Voice]


@dataclass(frozen=True)
class Plugin:
    """An engine plugin made of a few functions, as most engines need it (the built-in ones
    use it): `engine` is "module:Class", a class with `load(options)`, imported only when the
    engine loads, so reading voices.yaml never pays for the engine's imports."""

    name: str
    description: str
    engine: str
    voice_keys: tuple[str, ...]
    voice_example: str
    parse: VoiceParser
    named: Callable[[str], Voice]
    # The voice a voice set that names none gets; without one the engine is `required` in
    # every voice set, or a set that needs it fails when the cast is made.
    default: Callable[[], Voice] | None = None
    required: bool = False
    settings_keys: tuple[str, ...] = ()
    settings: Callable[[Mapping[str, yamlfile.Node], Path], object] | None = None

    def default_voice(self) -> Voice | None:
        return self.default() if self.default is not None else None

    def parse_voice(
        self,
        fields: Mapping[str, yamlfile.Node],
        node: yamlfile.Node,
        transform: VoiceTransform | None,
    ) -> Voice:
        return self.parse(fields, node, transform)

    def named_voice(self, name: str) -> Voice:
        return self.named(name)

    def parse_settings(self, fields: Mapping[str, yamlfile.Node], base: Path) -> object:
        if self.settings is None:
            raise VoicesError(f"the {self.name} engine has no settings of its own.")
        return self.settings(fields, base)

    def load(self, options: EngineOptions) -> Engine:
        module_name, _, class_name = self.engine.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise EngineUnavailable(
                f"The {self.name} engine cannot be imported ({exc}): reinstall the package "
                "that provides it (for the built-in engines `pip install --force-reinstall "
                "interview-audio`, or `pip install -e .` in a checkout)."
            ) from exc
        engine: Engine = getattr(module, class_name).load(options)
        return engine
