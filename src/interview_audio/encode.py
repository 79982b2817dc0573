"""Encoding: the levelled lines and the pauses between them, streamed into one MP3 encode.

Each line is read and levelled as it is needed and streamed, as float32, into one ffmpeg
process (which resamples to 44.1 kHz and encodes CBR MP3), so only one line is ever in memory.
The encoded stream is measured while it is written (ffmpeg's EBU R128 meter on a copy of it);
if the encoder's overshoot pushed the true peak over the target, or the loudness drifted, the
episode is encoded again with the difference corrected. That is rare: the loudness is known
before encoding and the limiter leaves room for the codec.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from interview_audio.ffmpeg import Loudness, Mp3Encoder
from interview_audio.levels import LineLevels, level

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Samples = npt.NDArray[np.float64]

log = logging.getLogger(__name__)

# The MP3 encoder adds overshoot to the peaks it is given; the limiter leaves this much room
# below the true-peak target. Noise-like sounds overshoot more; the check after encoding
# catches those.
CODEC_HEADROOM_DB = 1.0
# libmp3lame's CBR quantisation comes out about 0.4 dB quieter than its input (measured on
# sine tones and on TTS speech at 64 to 192 kbit/s; noise loses less), so the episode is
# aimed that much higher. The check after encoding corrects what remains.
CODEC_LOUDNESS_LOSS = 0.4
# The check after encoding: how far off the loudness may be, how many encodes at most, and
# how much further than the measured overshoot the ceiling goes down on a retry.
LOUDNESS_TOLERANCE = 0.5
ENCODE_ATTEMPTS = 3
PEAK_RETRY_MARGIN = 0.5
# PCM goes to ffmpeg, and progress is reported, in pieces of this much audio.
_CHUNK_SECONDS = 5.0

# progress(step, done, total): seconds of audio done out of total, in a named step.
Progress = Callable[[str, float, float], None]


@dataclass(frozen=True)
class AssembleOptions:
    """Output format and loudness targets (podcast practice: -16 LUFS, -1 dBTP)."""

    lufs: float = -16.0
    true_peak: float = -1.0
    bitrate: str = "96k"
    sample_rate: int = 44100

    @property
    def ceiling(self) -> float:
        """Where the limiter keeps the true peak before encoding (dBTP)."""
        return self.true_peak - CODEC_HEADROOM_DB


@dataclass(frozen=True)
class Episode:
    """What goes into the encode: every line's levels, the silence before each (samples at
    `rate`), and how to read a line's kept samples."""

    levels: Sequence[LineLevels]
    gaps: Sequence[int]
    read: Callable[[int], Samples]
    rate: int


def encode_to_targets(
    episode: Episode,
    target: float,
    output: Path,
    options: AssembleOptions,
    progress: Progress | None = None,
) -> tuple[list[float], Loudness]:
    """Encode with every line levelled to `target` (LUFS), and again with the difference
    corrected if the measured MP3 misses the targets; returns each line's gain and the
    measurement of the MP3 kept."""
    ceiling = options.ceiling
    audible = any(line.measured for line in episode.levels)
    for attempt in range(1, ENCODE_ATTEMPTS + 1):
        step = "encoding" if attempt == 1 else "encoding again"
        gains, measured = _encode(episode, target, ceiling, output, options, step, progress)
        peak_excess = measured.true_peak - options.true_peak
        drift = options.lufs - measured.integrated if audible else 0.0
        log.debug("Encoded: %.1f LUFS, %.1f dBTP", measured.integrated, measured.true_peak)
        if peak_excess <= 0 and abs(drift) <= LOUDNESS_TOLERANCE:
            break
        if attempt == ENCODE_ATTEMPTS:
            log.warning(
                "The episode measures %.1f LUFS, %.1f dBTP after %d encodes (targets %.1f LUFS, "
                "%.1f dBTP); keeping it",
                measured.integrated,
                measured.true_peak,
                attempt,
                options.lufs,
                options.true_peak,
            )
            break
        log.info(
            "The encoded episode measures %.1f LUFS, %.1f dBTP; encoding it again",
            measured.integrated,
            measured.true_peak,
        )
        ceiling -= max(0.0, peak_excess + PEAK_RETRY_MARGIN)
        target += drift
    return gains, measured


def _encode(
    episode: Episode,
    target: float,
    ceiling: float,
    output: Path,
    options: AssembleOptions,
    step: str,
    progress: Progress | None,
) -> tuple[list[float], Loudness]:
    import numpy as np

    rate = episode.rate
    chunk = max(1, round(_CHUNK_SECONDS * rate))
    silence = np.zeros(chunk, dtype="<f4").tobytes()
    total = sum(episode.gaps) + sum(line.length for line in episode.levels)
    done = 0
    gains: list[float] = []
    encoder = Mp3Encoder(
        output,
        input_rate=rate,
        output_rate=options.sample_rate,
        bitrate=options.bitrate,
        what="encode the episode",
        measure=True,
    )

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(step, done / rate, total / rate)

    try:
        if progress is not None:
            progress(step, 0.0, total / rate)
        for index, (line, gap) in enumerate(zip(episode.levels, episode.gaps, strict=True)):
            for start in range(0, gap, chunk):
                count = min(chunk, gap - start)
                encoder.write(memoryview(silence)[: 4 * count])
                advance(count)
            gain = 0.0
            if line.length:
                levelled, gain = level(episode.read(index), line, target, ceiling)
                pcm = levelled.astype("<f4")
                for start in range(0, len(pcm), chunk):
                    encoder.write(pcm[start : start + chunk].tobytes())
                    advance(len(pcm[start : start + chunk]))
            gains.append(gain)
        measured = encoder.finish()
    except BaseException:
        encoder.abort()
        raise
    assert measured is not None  # asked for with measure=True
    return gains, measured
