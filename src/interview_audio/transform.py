"""Voice transforms: one engine voice becomes another speaker by moving formants and pitch.

The transform runs on each synthesized line before it is cached, whatever the engine. It is
Praat's "Change gender" (praat-parselmouth): pitch-synchronous overlap-add (PSOLA) for the pitch
and a resampling trick for the formants. WORLD (pyworld) was measured against it in
benchmarks/voices.py and lost: for the same distance between speakers it was understood worse
and round-tripped with more distortion, and it is several times slower.
"""

from __future__ import annotations

import importlib
import threading
from importlib.metadata import PackageNotFoundError, version
from types import ModuleType

from interview_audio.engines.base import Speech
from interview_audio.errors import EngineUnavailable
from interview_audio.voices import Voice, VoiceTransform

# Praat's pitch analysis range for the input: below the deepest and above the highest voice any
# engine here produces (Kokoro 95-330 Hz, eSpeak NG, Edge).
PITCH_FLOOR = 60.0
PITCH_CEILING = 600.0
# Bump when the way a transform is applied changes: it is part of every transformed line's key.
REVISION = 1
# Keep transformed peaks below full scale instead of clipping the overshoot PSOLA can add.
_PEAK = 0.99
_INSTALL = "pip install praat-parselmouth"

# Praat keeps global state; one transform at a time (a line takes ~1 % of its duration).
_lock = threading.Lock()


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
    """Mono 16-bit PCM in and out, same length, through Praat's Change gender."""
    import numpy as np

    parselmouth = _parselmouth()
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768.0
    with _lock:
        sound = parselmouth.Sound(samples, sampling_frequency=sample_rate)
        changed = parselmouth.praat.call(
            sound,
            "Change gender",
            PITCH_FLOOR,
            PITCH_CEILING,
            1.0 + transform.formants / 100.0,
            transform.median_pitch or 0.0,  # 0 keeps the median pitch
            1.0 + transform.pitch_range / 100.0,
            1.0,  # duration factor: keep the timing
        )
        out = np.asarray(changed.values[0], dtype=np.float64)
    if len(out) >= len(samples):
        out = out[: len(samples)]
    else:
        out = np.pad(out, (0, len(samples) - len(out)))
    peak = float(np.max(np.abs(out))) if len(out) else 0.0
    if peak > _PEAK:
        out *= _PEAK / peak
    result: bytes = np.round(out * 32767.0).astype("<i2").tobytes()
    return result


def _parselmouth() -> ModuleType:
    try:
        return importlib.import_module("parselmouth")
    except ImportError as exc:
        raise EngineUnavailable(
            f"Voice transforms need praat-parselmouth: run `{_INSTALL}`, or remove the "
            f"`transform:` entries from voices.yaml. ({exc})"
        ) from exc
