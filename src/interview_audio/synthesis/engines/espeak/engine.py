"""eSpeak NG through ctypes against the library bundled in `espeakng-loader`: tiny, fast, robotic.

No system package is needed: the wheel carries `libespeak-ng` and its data. The C library keeps
global state (current voice, parameters, one callback), so the process shares one
`EspeakLibrary` and every call into it holds its lock. Kokoro uses the same instance for the
phonemes of English words.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import ClassVar, Self

from interview_audio.errors import EngineError, EngineUnavailable, VoicesError
from interview_audio.synthesis.engines.base import EngineOptions, SentenceTiming, Speech, VoiceInfo
from interview_audio.synthesis.engines.espeak.voice import EspeakVoice
from interview_audio.voices.model import Voice
from interview_audio.voices.suggest import closest, did_you_mean

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install espeakng-loader"

# Language voices this engine speaks, and the locale each one reads.
LANGUAGES: dict[str, str] = {"cmn": "zh-CN", "yue": "zh-HK", "en-us": "en-US"}
RATE_RANGE = (80, 450)
PITCH_RANGE = (0, 100)

# Values from espeak-ng's speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_RATE = 1
_PITCH = 3
_PHONEMES_IPA = 0x02
_PHONEMES_TIE = 0x80
_TIE = "^"

# Silence put between sentences, which are synthesized one by one to measure their timings.
_SENTENCE_GAP = 0.25
_CLAUSE_GAP = 0.12
_SENTENCE_ENDS = "。！？!?…；;"
_CLOSERS = " \t\n”’\"'」』）)]】》"
_MAX_SENTENCE_CHARS = 120
_RANDOM_SEED = 1

_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


@dataclass(frozen=True)
class Variant:
    """A voice variant file of eSpeak NG (`cmn+f3` uses the variant `f3`)."""

    name: str
    gender: str
    title: str


class EspeakLibrary:
    """The loaded eSpeak NG library. One per process (see `espeak_library`); calls serialize."""

    def __init__(self, lib: ctypes.CDLL, data_path: Path, sample_rate: int, version: str) -> None:
        self._lib = lib
        self.data_path = data_path
        self.sample_rate = sample_rate
        self.version = version
        self.lock = threading.Lock()
        self._chunks: list[bytes] = []
        self._voice: bytes | None = None
        # Keep the callback object alive as long as the library may call it.
        self._callback = _SynthCallback(self._collect)
        lib.espeak_SetSynthCallback(self._callback)
        # espeak_ng_SetRandSeed exists from eSpeak NG 1.52 on.
        self._seed: Callable[[int], None] | None = getattr(lib, "espeak_ng_SetRandSeed", None)
        self.variants = _read_variants(data_path / "voices" / "!v")

    def _collect(self, wav: ctypes._Pointer[ctypes.c_short], count: int, _events: int) -> int:
        if wav and count > 0:
            self._chunks.append(ctypes.string_at(wav, count * 2))
        return 0

    def _set_voice(self, name: str) -> None:
        encoded = name.encode()
        if encoded == self._voice:
            return
        status = self._lib.espeak_SetVoiceByName(encoded)
        if status != 0:
            raise VoicesError(
                f"eSpeak NG has no voice {name!r} (error {status}); "
                f"choose one of {', '.join(LANGUAGES)}, optionally with +variant."
            )
        self._voice = encoded

    def synthesize(self, text: str, voice: str, rate: int, pitch: int) -> bytes:
        """Speak `text` and return its mono 16-bit PCM at `sample_rate`."""
        data = text.encode()
        with self.lock:
            self._set_voice(voice)
            if self._seed is not None:
                # Voices with breath noise draw from eSpeak's generator, seeded from the clock
                # at start-up: a fixed seed makes a line sound the same in every process.
                self._seed(_RANDOM_SEED)
            self._lib.espeak_SetParameter(_RATE, rate, 0)
            self._lib.espeak_SetParameter(_PITCH, pitch, 0)
            self._chunks = []
            status = self._lib.espeak_Synth(
                data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
            )
            sync = self._lib.espeak_Synchronize()
            pcm = b"".join(self._chunks)
            self._chunks = []
        if status != 0 or sync != 0:
            raise EngineError(
                f"eSpeak NG failed on {text[:40]!r} (error {status or sync}); "
                f"reinstall it with `{INSTALL_HINT} --force-reinstall`."
            )
        return pcm

    def phonemes(self, text: str, voice: str = "en-us") -> str:
        """IPA phonemes of `text` as `voice` reads them; multi-letter phonemes tied with `^`."""
        buffer = ctypes.create_string_buffer(text.encode())
        pointer = ctypes.c_void_p(ctypes.addressof(buffer))
        mode = _PHONEMES_IPA | _PHONEMES_TIE | (ord(_TIE) << 8)
        clauses: list[str] = []
        with self.lock:
            self._set_voice(voice)
            while pointer.value:
                result = self._lib.espeak_TextToPhonemes(ctypes.byref(pointer), _CHARS_UTF8, mode)
                if result:
                    clauses.append(ctypes.string_at(result).decode("utf-8", "replace"))
        return " ".join(clause.strip() for clause in clauses if clause.strip())


def _read_variants(directory: Path) -> dict[str, Variant]:
    """The variant files eSpeak NG ships, with the gender and name each one declares."""
    variants: dict[str, Variant] = {}
    if not directory.is_dir():
        return variants
    for path in sorted(directory.iterdir(), key=lambda p: p.name.lower()):
        if not path.is_file():
            continue
        gender, title = "unknown", path.name
        for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
            words = raw.split()
            if len(words) >= 2 and words[0] == "gender":
                gender = words[1]
            elif len(words) >= 2 and words[0] == "name":
                title = " ".join(words[1:])
        variants[path.name] = Variant(path.name, gender, title)
    return variants


_library: EspeakLibrary | None = None
_library_lock = threading.Lock()


def espeak_library() -> EspeakLibrary:
    """Load and initialize the bundled eSpeak NG once per process."""
    global _library
    with _library_lock:
        if _library is None:
            _library = _load_library()
        return _library


def _load_library() -> EspeakLibrary:
    try:
        import espeakng_loader
    except ImportError as exc:
        raise EngineUnavailable(
            f"eSpeak NG is not installed: run `{INSTALL_HINT}`. ({exc})"
        ) from exc
    try:
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        data_path = Path(espeakng_loader.get_data_path())
    except (OSError, RuntimeError) as exc:
        raise EngineUnavailable(
            f"The eSpeak NG library bundled in espeakng-loader cannot be loaded ({exc}); "
            f"reinstall it with `{INSTALL_HINT} --force-reinstall`."
        ) from exc
    _declare(lib)
    sample_rate = lib.espeak_Initialize(
        _AUDIO_OUTPUT_SYNCHRONOUS, 0, str(data_path).encode(), _INITIALIZE_DONT_EXIT
    )
    if sample_rate <= 0:
        raise EngineUnavailable(
            f"eSpeak NG could not read its data at {data_path}; "
            f"reinstall it with `{INSTALL_HINT} --force-reinstall`."
        )
    raw_version = lib.espeak_Info(None)
    lib_version = raw_version.decode() if raw_version else "unknown"
    log.debug("eSpeak NG %s loaded, %d Hz, data %s", lib_version, sample_rate, data_path)
    return EspeakLibrary(lib, data_path, sample_rate, lib_version)


def _declare(lib: ctypes.CDLL) -> None:
    """Give ctypes the C signatures, so pointers and sizes cross the boundary intact."""
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_Info.argtypes = [ctypes.c_void_p]
    lib.espeak_Info.restype = ctypes.c_char_p
    lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
    lib.espeak_SetSynthCallback.restype = None
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetVoiceByName.restype = ctypes.c_int
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_SetParameter.restype = ctypes.c_int
    lib.espeak_Synth.argtypes = [
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_uint,
        ctypes.c_void_p,
        ctypes.c_void_p,
    ]
    lib.espeak_Synth.restype = ctypes.c_int
    lib.espeak_Synchronize.argtypes = []
    lib.espeak_Synchronize.restype = ctypes.c_int
    lib.espeak_TextToPhonemes.argtypes = [
        ctypes.POINTER(ctypes.c_void_p),
        ctypes.c_int,
        ctypes.c_int,
    ]
    lib.espeak_TextToPhonemes.restype = ctypes.c_void_p
    if hasattr(lib, "espeak_ng_SetRandSeed"):
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        lib.espeak_ng_SetRandSeed.restype = None


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


class EspeakEngine:
    """eSpeak NG voices such as `cmn+f3`: robotic but instant, for tests and previews."""

    name: ClassVar[str] = "espeak"

    def __init__(self, library: EspeakLibrary) -> None:
        self._library = library

    @classmethod
    def load(cls, options: EngineOptions) -> Self:
        if options.jobs is not None and options.jobs > 1:
            log.debug("eSpeak NG keeps global state: running 1 job, not %d", options.jobs)
        return cls(espeak_library())

    @property
    def identity(self) -> str:
        return (
            f"espeak/espeak-ng-{self._library.version}"
            f"/espeakng-loader-{_package_version('espeakng-loader')}"
        )

    @property
    def jobs(self) -> int:
        return 1

    def synthesize(self, text: str, voice: Voice) -> Speech:
        from interview_audio.synthesis.sentences import split_sentences

        espeak_voice = self._espeak_voice(voice)
        self.check_voice(espeak_voice)
        rate = self._library.sample_rate
        clips: list[bytes] = []
        timings: list[SentenceTiming] = []
        position = 0
        for sentence in split_sentences(text, _MAX_SENTENCE_CHARS):
            if not sentence.strip():
                continue
            if timings:
                silence = round(sentence_gap(timings[-1].text) * rate)
                clips.append(b"\x00\x00" * silence)
                position += silence
            pcm = self._library.synthesize(
                sentence, espeak_voice.variant, espeak_voice.rate, espeak_voice.pitch
            )
            clips.append(pcm)
            start = position
            position += len(pcm) // 2
            timings.append(SentenceTiming(sentence, start / rate, position / rate))
        return Speech(b"".join(clips), rate, tuple(timings))

    def voices(self, locale: str | None = None, *, refresh: bool = False) -> list[VoiceInfo]:
        found: list[VoiceInfo] = []
        for language, language_locale in LANGUAGES.items():
            if not locale_matches(language_locale, locale):
                continue
            found.append(VoiceInfo(language, "male", language_locale, "eSpeak NG default voice"))
            for variant in self._library.variants.values():
                found.append(
                    VoiceInfo(
                        f"{language}+{variant.name}",
                        variant.gender,
                        language_locale,
                        f"eSpeak NG variant {variant.title}",
                    )
                )
        return found

    def check_voice(self, voice: Voice) -> None:
        espeak_voice = self._espeak_voice(voice)
        language, plus, variant = espeak_voice.variant.partition("+")
        if language not in LANGUAGES:
            raise VoicesError(
                f"Unknown eSpeak NG voice {espeak_voice.variant!r}: the language must be one of "
                f"{', '.join(LANGUAGES)}, optionally followed by +variant (e.g. cmn+f3)."
            )
        if plus and variant not in self._library.variants:
            near = closest(variant, self._library.variants)
            hint = did_you_mean([f"{language}+{name}" for name in near])
            raise VoicesError(
                f"Unknown eSpeak NG voice {espeak_voice.variant!r} (no variant {variant!r}): "
                f"{hint or f'write {language}+ and a variant, like {language}+f3.'} "
                f"`interview-audio voices --engine espeak` lists all {len(self._library.variants)}."
            )
        _check_range("rate", espeak_voice.rate, RATE_RANGE, "words per minute")
        _check_range("pitch", espeak_voice.pitch, PITCH_RANGE, "")

    @staticmethod
    def _espeak_voice(voice: Voice) -> EspeakVoice:
        if not isinstance(voice, EspeakVoice):
            raise VoicesError(
                f"The espeak engine cannot speak a {voice.engine} voice ({voice!r}); "
                "give the speaker an `espeak:` voice such as variant cmn+f3."
            )
        return voice


def sentence_gap(sentence: str) -> float:
    """Silence after a sentence chunk: a full stop pauses longer than a comma-cut clause."""
    return _SENTENCE_GAP if sentence.rstrip(_CLOSERS)[-1:] in _SENTENCE_ENDS else _CLAUSE_GAP


def _check_range(what: str, value: int, bounds: tuple[int, int], unit: str) -> None:
    low, high = bounds
    if not low <= value <= high:
        suffix = f" {unit}" if unit else ""
        raise VoicesError(f"eSpeak NG {what} {value} is out of range: use {low} to {high}{suffix}.")


def locale_matches(voice_locale: str, wanted: str | None) -> bool:
    """`zh` matches zh-CN and zh-HK; `zh-CN` matches only zh-CN (case-insensitive)."""
    if not wanted:
        return True
    voice_parts = voice_locale.lower().replace("_", "-").split("-")
    wanted_parts = wanted.lower().replace("_", "-").split("-")
    return voice_parts[: len(wanted_parts)] == wanted_parts
