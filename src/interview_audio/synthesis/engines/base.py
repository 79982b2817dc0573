"""The one small interface every speech engine implements, and the plugin object that registers
it (the entry-point group `interview_audio.engines`; see the README's "Writing an engine")."""

from __future__ import annotations

import importlib
import time
from array import array
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from interview_audio import yamlfile
from interview_audio.errors import EngineError, EngineUnavailable, VoicesError
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
    voices.yaml writes them (`VoiceKind`), and how to load it. It may also have a
    `selftest(options, voice) -> str` for `doctor` (`Plugin` has one); without one, `doctor`
    loads the engine and has it speak a word (`speak_a_word`)."""

    description: str

    def load(self, options: EngineOptions) -> Engine:
        """The engine, ready to speak; heavy imports happen here. EngineUnavailable (naming the
        `pip install` that fixes it) when it cannot run on this machine."""
        ...


# What an engine says when `doctor` tests it.
TEST_WORD = "你好"
# Below this peak (of 32767) a clip is silence, not speech.
_AUDIBLE = 300


def speak_a_word(
    load: Callable[[], Engine], voice: Voice | None, named_voice: Callable[[str], Voice]
) -> str:
    """The test of an engine: load it and speak one word with `voice` (None: the first voice
    it offers, made by `named_voice`). What worked, in a few words; the engine's errors
    (EngineUnavailable naming the fix) pass through."""
    started = time.monotonic()
    engine = load()
    loaded = time.monotonic()
    chosen = voice
    if chosen is None:
        offered = engine.voices()
        if not offered:
            raise EngineUnavailable(
                f"The {engine.name} engine offers no voices: reinstall the package that "
                "provides it."
            )
        chosen = named_voice(offered[0].name)
    speech = engine.synthesize(TEST_WORD, chosen)
    samples = array("h", speech.pcm[: len(speech.pcm) // 2 * 2])
    if not samples or max(abs(sample) for sample in samples) < _AUDIBLE:
        raise EngineError(
            f"The {engine.name} engine loaded but spoke only silence for {TEST_WORD!r}: "
            "reinstall it, or choose another engine."
        )
    return (
        f"loaded in {loaded - started:.1f} s, said {TEST_WORD} ({speech.duration:.1f} s of "
        f"audio, {chosen.label()}) in {time.monotonic() - loaded:.1f} s"
    )


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
    # "module:function" taking EngineOptions: the engine's own test for `doctor`, instead of
    # speaking a word (Edge: whether its service answers). Imported only when it runs.
    check: str = ""

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
        engine: Engine = self._imported(self.engine).load(options)
        return engine

    def selftest(self, options: EngineOptions, voice: Voice | None = None) -> str:
        """`doctor`'s test: the engine's own `check`, else speak a word (`speak_a_word`)."""
        if self.check:
            result: str = self._imported(self.check)(options)
            return result
        return speak_a_word(
            lambda: self.load(options), voice or self.default_voice(), self.named_voice
        )

    def _imported(self, spec: str) -> Any:
        module_name, _, attribute = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise EngineUnavailable(
                f"The {self.name} engine cannot be imported ({exc}): reinstall the package "
                "that provides it (for the built-in engines `pip install --force-reinstall "
                "interview-audio`, or `pip install -e .` in a checkout)."
            ) from exc
        return getattr(module, attribute)
