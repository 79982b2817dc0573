"""Distinct voices: how far apart the voices of voices.yaml are, and how well each is understood.

For one engine (Kokoro unless told), the narrator, the host and guest defaults and every pool
voice, each with its transform, speak the sentences of benchmarks/sentences.txt (speech-text step
on). Then, per voice:
- speaker similarity: resemblyzer's speaker encoder (GE2E; its weights ship in the wheel) embeds
  each voice from all its sentences; the cosine of two embeddings is printed as a matrix. The
  same speaker scores about 0.85-1.0, different real speakers usually 0.55-0.75.
- median F0 over all sentences (Praat's pitch track, 60-600 Hz);
- Whisper CER as benchmarks/intelligibility.py measures it (its listener and scoring).

Then, on the seed article: the narrator's CER on the opening as the renderer says it (title,
source, topics; `--intro short`) against the host's on his first turns, one clip per sentence as
the engine synthesizes it, pooled over characters (edits / reference characters).

With --methods, the transform methods are compared on a few transforms of Kokoro styles: Praat's
Change gender (PSOLA; what the product uses) against WORLD (pyworld: analysis, F0 and envelope
warped, resynthesis). Per method: similarity to the untransformed voice (distance gained), Whisper
CER, round-trip mel-cepstral distortion (the transform then its inverse, compared with the
original: what the method damages, in dB; lower is cleaner) and seconds per second of audio.

Engine clips are kept in the product's audio cache (untransformed; transforms are applied on the
fly), so a second run with other transforms synthesizes nothing new.

Needs the benchmark extras: pip install torch (a CPU build), then pip install -e '.[bench]'
Praat's PSOLA draws random pulses in unvoiced stretches; the product seeds it before each line,
so a transformed line is always the same, but which seed it is decides a little of how well
Whisper hears it. --praat-seeds N scores each transformed voice over N seeds (mean and median of
all its sentences under every seed), so a choice between voices does not rest on one draw.

Run: python benchmarks/voices.py [--voices FILE] [--engine kokoro|espeak] [--limit N] [--no-seed]
         [--praat-seeds N] [--methods] [--cache-dir DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import os
import platform
import statistics
import sys
import time
import types
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from intelligibility import (  # noqa: E402 (the benchmark's sibling, found through sys.path)
    MAX_TOKENS,
    SENTENCES,
    Listener,
    Normalizer,
    _log,
    cpu_model,
    default_voices,
    edit_distance,
    need,
    read_sentences,
)

from interview_audio.article.parse import read_article
from interview_audio.article.script import Role
from interview_audio.episode import plan_episode, with_chapters
from interview_audio.errors import InterviewAudioError
from interview_audio.files import default_cache_dir
from interview_audio.synthesis import transform as transform_module
from interview_audio.synthesis.cache import Cache, cache_key
from interview_audio.synthesis.engines import load_engine
from interview_audio.synthesis.engines.base import Engine, EngineOptions, Speech
from interview_audio.synthesis.engines.kokoro.voice import KokoroVoice
from interview_audio.synthesis.reading import to_speech
from interview_audio.synthesis.sentences import split_sentences
from interview_audio.synthesis.transform import (
    PITCH_CEILING,
    PITCH_FLOOR,
    PRAAT_SEED,
    apply_transform,
)
from interview_audio.voices.casting import cast_voices
from interview_audio.voices.load import load_voices
from interview_audio.voices.model import Voice, VoicesConfig, VoiceTransform, voice_label

SEED = Path(__file__).resolve().parents[2] / "shared/seed/000_79d8b0fa45fee915.txt"
# The host's first turns: enough sentences to weigh against the narrator's opening.
HOST_TURNS = 7
# Room for the longest seed sentence (Whisper writes a Chinese character in one or two tokens);
# never less than intelligibility.py allows, so the figures compare.
TOKENS_PER_CHAR = 2
# Transforms compared by --methods: the two directions that part one male style into two
# speakers, and a female style made male.
METHOD_TRIALS = (
    ("jm_kumo", 1.2, VoiceTransform(-10.0, 80.0)),
    ("jm_kumo", 1.2, VoiceTransform(10.0, 135.0)),
    ("jf_gongitsune", 1.15, VoiceTransform(-20.0, 110.0)),
)


# ---------------------------------------------------------------------------------------------
# Speaking and measuring


class Studio:
    """Speaks lines through the product's cache (untransformed), then applies the transform."""

    def __init__(self, engine: Engine, cache: Cache) -> None:
        self.engine = engine
        self.cache = cache
        self.synthesized = 0

    def base(self, text: str, voice: Voice) -> Speech:
        plain = dataclasses.replace(voice, transform=None)
        key = cache_key(self.engine.identity, plain, text)
        entry = self.cache.get(key)
        if entry is None:
            entry = self.cache.put(key, self.engine.synthesize(text, plain))
            self.synthesized += 1
        with wave.open(str(entry.path), "rb") as wav:
            pcm = wav.readframes(wav.getnframes())
        return Speech(pcm, entry.sample_rate, entry.sentences)

    def say(self, text: str, voice: Voice) -> Speech:
        return apply_transform(self.base(text, voice), voice)


class Judge:
    """Whisper for intelligibility, resemblyzer for identity, Praat for pitch."""

    def __init__(self) -> None:
        self.listener = Listener()
        self.normalizer = Normalizer()
        _pkg_resources_shim()
        resemblyzer = need("resemblyzer")
        self._preprocess = resemblyzer.preprocess_wav
        self._encoder = resemblyzer.VoiceEncoder("cpu", verbose=False)
        self._parselmouth = need("parselmouth")

    def embed(self, clips: Sequence[Speech]) -> Any:
        np = need("numpy")
        wavs = [
            self._preprocess(
                np.frombuffer(clip.pcm, dtype="<i2").astype(np.float32) / 32768.0,
                clip.sample_rate,
            )
            for clip in clips
            if clip.pcm
        ]
        return self._encoder.embed_speaker(wavs)

    def median_f0(self, clips: Sequence[Speech]) -> float:
        np = need("numpy")
        voiced = []
        for clip in clips:
            samples = np.frombuffer(clip.pcm, dtype="<i2").astype(np.float64) / 32768.0
            pitch = self._parselmouth.Sound(samples, clip.sample_rate).to_pitch(
                pitch_floor=PITCH_FLOOR, pitch_ceiling=PITCH_CEILING
            )
            frequencies = pitch.selected_array["frequency"]
            voiced.append(frequencies[frequencies > 0])
        return float(np.median(np.concatenate(voiced))) if voiced else float("nan")

    def errors(self, reference: str, clip: Speech) -> tuple[int, int]:
        """(edits, reference characters) of what Whisper heard, normalized as intelligibility.py."""
        expected = self.normalizer.chinese(reference)
        tokens = max(MAX_TOKENS, TOKENS_PER_CHAR * len(reference))
        heard = self.listener.transcribe(clip, max_tokens=tokens)
        return edit_distance(expected, self.normalizer.chinese(heard)), len(expected)

    def rates(self, references: Sequence[str], clips: Sequence[Speech]) -> list[float]:
        """Per-sentence CER (as intelligibility.py computes it)."""
        rates = []
        for reference, clip in zip(references, clips, strict=True):
            edits, length = self.errors(reference, clip)
            rates.append(edits / length if length else 0.0)
        return rates

    def pooled_cer(self, references: Sequence[str], clips: Sequence[Speech]) -> float:
        edits = length = 0
        for reference, clip in zip(references, clips, strict=True):
            more, chars = self.errors(reference, clip)
            edits += more
            length += chars
        return edits / length if length else 0.0


def _pkg_resources_shim() -> None:
    """resemblyzer's webrtcvad reads its version through pkg_resources, which setuptools 81
    dropped; give it the one call it makes instead of pinning an old setuptools for everyone."""
    if importlib.util.find_spec("pkg_resources") is not None:
        return
    shim = types.ModuleType("pkg_resources")

    def get_distribution(name: str) -> Any:
        return types.SimpleNamespace(version=metadata.version(name))

    shim.get_distribution = get_distribution  # type: ignore[attr-defined]
    sys.modules["pkg_resources"] = shim


@dataclass(frozen=True)
class Measured:
    name: str
    gender: str
    voice: Voice
    f0: float
    cer: float
    median_cer: float
    embedding: Any


def cast_list(config: VoicesConfig, engine: str) -> list[tuple[str, str, Voice]]:
    """(short name, gender, voice) of the narrator, the role defaults and the pool."""
    genders = {"narrator": config.narrator.gender}
    genders.update({role.value: voices.gender for role, voices in config.roles})
    found = [
        (who, str(genders.get(who) or "?"), voice) for who, voice in default_voices(config, engine)
    ]
    for number, voices in enumerate(config.pool, 1):
        found.append((f"pool {number}", str(voices.gender or "?"), voices.for_engine(engine)))
    return found


def measure(
    studio: Studio,
    judge: Judge,
    sentences: Sequence[str],
    config: VoicesConfig,
    engine: str,
    praat_seeds: int = 1,
) -> list[Measured]:
    """Each voice's pitch, identity and CER; a transformed voice's CER over `praat_seeds` seeds
    of Praat's generator (PSOLA's unvoiced pulses are random), its pitch and identity at the
    product's seed."""
    spoken = [to_speech(sentence, config.lexicon) for sentence in sentences]
    results = []
    for name, gender, voice in cast_list(config, engine):
        _log(f"{name}: {voice_label(voice)}")
        clips = [studio.say(text, voice) for text in spoken]  # at the product's seed
        rates = judge.rates(sentences, clips)
        for seed in range(PRAAT_SEED + 1, PRAAT_SEED + (praat_seeds if voice.transform else 1)):
            transform_module.PRAAT_SEED = seed
            rates.extend(judge.rates(sentences, [studio.say(text, voice) for text in spoken]))
        transform_module.PRAAT_SEED = PRAAT_SEED
        results.append(
            Measured(
                name,
                gender,
                voice,
                judge.median_f0(clips),
                statistics.fmean(rates),
                statistics.median(rates),
                judge.embed(clips),
            )
        )
    return results


def seed_opening(
    studio: Studio, judge: Judge, config: VoicesConfig, engine: str
) -> tuple[tuple[str, int, float], tuple[str, int, float]]:
    """(voice, sentences, pooled CER) of the narrator's opening and of the host's first turns."""
    script = with_chapters(read_article(SEED), "auto")
    cast = cast_voices(script, config, engine)
    plan = plan_episode(script, cast, "short", config.lexicon)
    results = []
    for role in (Role.NARRATOR, Role.HOST):
        lines = [
            line
            for line in plan.lines
            if line.role is role and (line.turn is None or line.turn < HOST_TURNS)
        ]
        pairs = [
            (sentence, studio.say(sentence, line.voice))
            for line in lines
            for sentence in split_sentences(line.speech, 120)
        ]
        _log(f"seed {role.value}: {len(pairs)} sentences")
        texts = [text for text, _ in pairs]
        cer = judge.pooled_cer(texts, [clip for _, clip in pairs])
        results.append((voice_label(lines[0].voice), len(pairs), cer))
    return results[0], results[1]


# ---------------------------------------------------------------------------------------------
# Methods: Praat's Change gender against WORLD


def world_transform(speech: Speech, transform: VoiceTransform) -> Speech:
    """WORLD analysis (DIO + StoneMask, CheapTrick, D4C), F0 moved in log Hz, envelope and
    aperiodicity warped along frequency by the formant ratio, then resynthesis."""
    np = need("numpy")
    pyworld = need("pyworld")
    rate = speech.sample_rate
    x = np.frombuffer(speech.pcm, dtype="<i2").astype(np.float64) / 32768.0
    f0, times = pyworld.dio(x, rate, f0_floor=PITCH_FLOOR, f0_ceil=PITCH_CEILING)
    f0 = pyworld.stonemask(x, f0, times, rate)
    envelope = pyworld.cheaptrick(x, f0, times, rate)
    aperiodicity = pyworld.d4c(x, f0, times, rate)
    voiced = f0 > 0
    if transform.median_pitch is not None and voiced.any():
        log_f0 = np.log(f0[voiced])
        spread = (log_f0 - np.median(log_f0)) * (1 + transform.pitch_range / 100)
        f0[voiced] = np.exp(np.log(transform.median_pitch) + spread)
    ratio = 1 + transform.formants / 100
    if ratio != 1:
        bins = np.arange(envelope.shape[1], dtype=np.float64)

        def warp(frames: Any) -> Any:
            return np.ascontiguousarray([np.interp(bins / ratio, bins, row) for row in frames])

        envelope, aperiodicity = warp(envelope), warp(aperiodicity)
    y = pyworld.synthesize(f0, envelope, aperiodicity, rate)[: len(x)]
    y = np.pad(y, (0, len(x) - len(y)))
    peak = float(np.max(np.abs(y))) or 1.0
    y *= min(1.0, 0.99 / peak)
    return Speech(np.round(y * 32767).astype("<i2").tobytes(), rate, speech.sentences)


def praat_transform(speech: Speech, transform: VoiceTransform) -> Speech:
    return apply_transform(speech, KokoroVoice("-", transform=transform))


METHODS = {"Praat Change gender (PSOLA)": praat_transform, "WORLD (pyworld)": world_transform}


def cepstral_distortion(reference: Speech, other: Speech) -> float:
    """Mean mel-cepstral distortion in dB (24 coefficients, c0 left out) over the frames where
    the reference speaks: what a round trip through a method damages."""
    np = need("numpy")
    librosa = need("librosa")
    scipy_fft = need("scipy.fft")

    def cepstra(speech: Speech) -> Any:
        y = np.frombuffer(speech.pcm, dtype="<i2").astype(np.float32) / 32768.0
        mel = librosa.feature.melspectrogram(
            y=y, sr=speech.sample_rate, n_fft=1024, hop_length=240, n_mels=40
        )
        return scipy_fft.dct(0.5 * np.log(mel + 1e-10), axis=0, norm="ortho")[1:25], y

    a, samples = cepstra(reference)
    b, _ = cepstra(other)
    energy = librosa.feature.rms(y=samples, frame_length=1024, hop_length=240)[0]
    frames = min(a.shape[1], b.shape[1], len(energy))
    speaking = energy[:frames] > 0.05 * energy.max()
    diff = a[:, :frames][:, speaking] - b[:, :frames][:, speaking]
    return float(np.mean(10 / np.log(10) * np.sqrt(2 * np.sum(diff**2, axis=0))))


def inverse(transform: VoiceTransform, median_pitch: float) -> VoiceTransform:
    return VoiceTransform(
        formants=10000 / (100 + transform.formants) - 100,
        median_pitch=median_pitch,
        pitch_range=10000 / (100 + transform.pitch_range) - 100,
    )


def compare_methods(studio: Studio, judge: Judge, sentences: Sequence[str]) -> None:
    print("\nTransform methods (similarity to the untransformed voice: lower = a new speaker):\n")
    print("| voice | transform | method | similarity | median F0 | mean CER | round trip | s/s |")
    print("|---|---|---|---|---|---|---|---|")
    for style, speed, transform in METHOD_TRIALS:
        voice = KokoroVoice(style, speed)
        _log(f"methods: {style} {transform}")
        originals = [studio.base(sentence, voice) for sentence in sentences]
        reference = judge.embed(originals)
        original_f0 = judge.median_f0(originals)
        cer = statistics.fmean(judge.rates(sentences, originals))
        print(
            f"| {style} {speed:g} | none | - | 1.000 | {original_f0:.0f} Hz | {cer:.3f} | - | - |"
        )
        for method, change in METHODS.items():
            start = time.perf_counter()
            changed = [change(clip, transform) for clip in originals]
            seconds = time.perf_counter() - start
            audio = sum(clip.duration for clip in originals)
            back = inverse(transform, original_f0)
            distortion = statistics.fmean(
                cepstral_distortion(original, change(clip, back))
                for original, clip in zip(originals, changed, strict=True)
            )
            cer = statistics.fmean(judge.rates(sentences, changed))
            similarity = float(judge.embed(changed) @ reference)
            print(
                f"| {style} {speed:g} | {describe(transform)} | {method} | {similarity:.3f} "
                f"| {judge.median_f0(changed):.0f} Hz | {cer:.3f} | {distortion:.1f} dB "
                f"| {seconds / audio:.3f} |"
            )


# ---------------------------------------------------------------------------------------------
# Reporting


def describe(transform: VoiceTransform | None) -> str:
    if transform is None:
        return "none"
    parts = [f"formants {transform.formants:+g}%"] if transform.formants else []
    if transform.median_pitch is not None:
        parts.append(f"{transform.median_pitch:g} Hz")
    if transform.pitch_range:
        parts.append(f"range {transform.pitch_range:+g}%")
    return ", ".join(parts) or "none"


def print_voices(results: Sequence[Measured]) -> None:
    print("| # | who | gender | voice | transform | median F0 | mean CER | median CER |")
    print("|---|---|---|---|---|---|---|---|")
    for number, result in enumerate(results, 1):
        plain = dataclasses.replace(result.voice, transform=None)
        print(
            f"| {number} | {result.name} | {result.gender} | {voice_label(plain)} "
            f"| {describe(result.voice.transform)} | {result.f0:.0f} Hz | {result.cer:.3f} "
            f"| {result.median_cer:.3f} |"
        )


def print_matrix(results: Sequence[Measured], defaults: int) -> None:
    numbers = [str(n) for n in range(1, len(results) + 1)]
    print("| | " + " | ".join(numbers) + " |")
    print("|---" * (len(results) + 1) + "|")
    for i, row in enumerate(results):
        cells = [
            f"{float(row.embedding @ other.embedding):.2f}" if j != i else "-"
            for j, other in enumerate(results)
        ]
        print(f"| {i + 1} {row.name} | " + " | ".join(cells) + " |")

    def worst(group: Sequence[Measured]) -> str:
        pairs = [
            (float(a.embedding @ b.embedding), a.name, b.name)
            for i, a in enumerate(group)
            for b in group[i + 1 :]
        ]
        if not pairs:
            return "-"
        value, a, b = max(pairs)
        return f"{value:.2f} ({a} / {b})"

    print(f"\nMost similar pair among the defaults: {worst(results[:defaults])}")
    print(f"Most similar pair in the pool: {worst(results[defaults:])}")
    print(f"Most similar pair overall: {worst(results)}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--voices", type=Path, default=None, help="voices.yaml to read")
    parser.add_argument("--engine", default="kokoro", choices=("kokoro", "espeak"))
    parser.add_argument("--limit", type=int, default=None, help="use the first N sentences")
    parser.add_argument("--sentences", type=Path, default=SENTENCES)
    parser.add_argument("--no-seed", action="store_true", help="skip the seed opening")
    parser.add_argument("--methods", action="store_true", help="compare Praat with WORLD")
    parser.add_argument(
        "--praat-seeds",
        type=int,
        default=1,
        help="score each transformed voice over this many seeds of Praat's generator",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="where engine clips are kept (default: the render cache)",
    )
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be 1 or more")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    began = time.perf_counter()
    load_before = os.getloadavg()
    sentences = read_sentences(args.sentences, args.limit)
    try:
        config = load_voices(args.voices)
        engine = load_engine(
            args.engine,
            EngineOptions(engine_settings=config.engine_settings),
        )
    except InterviewAudioError as exc:
        sys.exit(str(exc))
    studio = Studio(engine, Cache(args.cache_dir or default_cache_dir()))
    judge = Judge()
    results = measure(studio, judge, sentences, config, args.engine, args.praat_seeds)
    opening = (
        None
        if args.no_seed or not SEED.is_file()
        else seed_opening(studio, judge, config, args.engine)
    )

    print(f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"Machine: {os.cpu_count()} CPUs, {cpu_model()}, Python {platform.python_version()}")
    print(
        "Load average (1, 5, 15 min): "
        f"{' '.join(f'{v:.1f}' for v in load_before)} at the start, "
        f"{' '.join(f'{v:.1f}' for v in os.getloadavg())} at the end"
    )
    print(f"Voices: {config.source}; engine {engine.identity}")
    print(f"{len(sentences)} sentences from {args.sentences.name}; speech-text step on\n")
    print_voices(results)
    print("\nSpeaker similarity (resemblyzer, cosine):\n")
    print_matrix(results, defaults=len(default_voices(config, args.engine)))
    if opening is not None:
        (narrator, n_count, n_cer), (host, h_count, h_cer) = opening
        print("\nSeed opening, one clip per sentence, CER pooled over characters:\n")
        print("| who | voice | sentences | CER |")
        print("|---|---|---|---|")
        print(f"| narrator: title, source, topics | {narrator} | {n_count} | {n_cer:.3f} |")
        print(f"| host: turns 0-{HOST_TURNS - 1} | {host} | {h_count} | {h_cer:.3f} |")
    if args.methods:
        compare_methods(studio, judge, sentences)
    print(
        f"\nTotal: {time.perf_counter() - began:.0f} s; {studio.synthesized} clips synthesized "
        f"(the rest from the cache)"
    )


if __name__ == "__main__":
    main()
