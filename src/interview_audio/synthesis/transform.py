"""Voice transforms: one engine voice becomes another speaker by moving formants and pitch.

The transform runs on each synthesized line before it is cached, whatever the engine. It is
Praat's "Change gender" (praat-parselmouth): pitch-synchronous overlap-add (PSOLA) for the pitch
and a resampling trick for the formants. WORLD (pyworld) was measured against it in
benchmarks/voices.py and lost: for the same distance between speakers Whisper understood it
worse, a round trip through it distorted twice as much, and it was slower.
"""

from __future__ import annotations

import importlib
import threading
from importlib.metadata import PackageNotFoundError, version
from types import ModuleType
from typing import Any

from interview_audio.errors import EngineError, EngineUnavailable
from interview_audio.synthesis.engines.base import Speech
from interview_audio.voices.model import Voice, VoiceTransform

# Praat's pitch analysis range for the input: below the deepest and above the highest voice any
# engine here produces (Kokoro 95-330 Hz, eSpeak NG, Edge).
PITCH_FLOOR = 60.0
PITCH_CEILING = 600.0
# Bump when the way a transform is applied changes: it is part of every transformed line's key.
REVISION = 1
# Keep transformed peaks below full scale instead of clipping the overshoot PSOLA can add.
_PEAK = 0.99
# Praat's pitch analysis needs three periods of the pitch floor.
_MIN_SECONDS = 3 / PITCH_FLOOR
_INSTALL = "pip install praat-parselmouth"

# Praat keeps global state; one transform at a time (a line takes ~1 % of its duration).
_lock = threading.Lock()
# PSOLA draws random pulses where the voice is unvoiced: seeded before each line, the same line
# always comes out the same (else a transformed voice sounds, and scores, a little different on
# every run). `benchmarks/voices.py --praat-seeds` varies it to see what a score owes to chance.
PRAAT_SEED = 1


def transform_identity() -> str:
    """What produced a transformed line, for the cache key: method, revision, library version."""
    try:
        library = version("praat-parselmouth")
    except PackageNotFoundError:
        library = "missing"
    return f"praat-change-gender/r{REVISION}/parselmouth-{library}"


def apply_transform(speech: Speech, voice: Voice) -> Speech:
    """The line as `voice` speaks it: `speech` with the voice's transform applied, if it has one.

    Duration and sentence timings are unchanged (PSOLA keeps the time axis).
    """
    if voice.transform is None or not speech.pcm:
        return speech
    return Speech(
        transform_pcm(speech.pcm, speech.sample_rate, voice.transform),
        speech.sample_rate,
        speech.sentences,
    )


def transform_pcm(pcm: bytes, sample_rate: int, transform: VoiceTransform) -> bytes:
    """Mono 16-bit PCM in and out, same length.

    Formants and median pitch go through Change gender in one pass. The pitch range is a second
    pass that scales the pitch contour around its median in log frequency: Change gender scales
    it in hertz, which pushes low frames (creak, octave jumps) below zero when widening.
    """
    import numpy as np

    parselmouth = _parselmouth()
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768.0
    if len(samples) < _MIN_SECONDS * sample_rate:
        return pcm  # too short for a pitch analysis, and too short to hear
    call = parselmouth.praat.call
    try:
        with _lock:
            parselmouth.praat.run(f"random_initializeWithSeedUnsafelyButPredictably ({PRAAT_SEED})")
            sound = parselmouth.Sound(samples, sampling_frequency=sample_rate)
            if transform.formants or transform.median_pitch is not None:
                sound = call(
                    sound,
                    "Change gender",
                    PITCH_FLOOR,
                    PITCH_CEILING,
                    1.0 + transform.formants / 100.0,
                    transform.median_pitch or 0.0,  # 0 keeps the median pitch
                    1.0,  # pitch range: below, in log frequency
                    1.0,  # duration factor: keep the timing
                )
            if transform.pitch_range:
                sound = _scale_range(call, sound, 1.0 + transform.pitch_range / 100.0)
            out = np.asarray(sound.values[0], dtype=np.float64)
    except parselmouth.PraatError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EngineError(
            f"The voice transform failed ({first}); try a smaller change in `transform:`, "
            "or remove it."
        ) from exc
    if len(out) >= len(samples):
        out = out[: len(samples)]
    else:
        out = np.pad(out, (0, len(samples) - len(out)))
    peak = float(np.max(np.abs(out))) if len(out) else 0.0
    if peak > _PEAK:
        out *= _PEAK / peak
    result: bytes = np.round(out * 32767.0).astype("<i2").tobytes()
    return result


def _scale_range(call: Any, sound: Any, factor: float) -> Any:
    """The sound with its pitch contour's distances from the median, in log frequency, times
    `factor` (PSOLA resynthesis); unchanged when it has no voiced frames."""
    pitch = call(sound, "To Pitch", 0.0, PITCH_FLOOR, PITCH_CEILING)
    median = call(pitch, "Get quantile", 0.0, 0.0, 0.5, "Hertz")
    if not median or median != median:  # no voiced frames: NaN
        return sound
    manipulation = call(sound, "To Manipulation", 0.01, PITCH_FLOOR, PITCH_CEILING)
    tier = call(manipulation, "Extract pitch tier")
    call(tier, "Formula", f"exp(ln({median}) + (ln(self) - ln({median})) * {factor})")
    call([tier, manipulation], "Replace pitch tier")
    return call(manipulation, "Get resynthesis (overlap-add)")


def _parselmouth() -> ModuleType:
    try:
        return importlib.import_module("parselmouth")
    except ImportError as exc:
        raise EngineUnavailable(
            f"Voice transforms need praat-parselmouth: run `{_INSTALL}`, or remove the "
            f"`transform:` entries from voices.yaml. ({exc})"
        ) from exc
