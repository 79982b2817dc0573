"""Levelling: each line trimmed of the engine's silence, brought to the episode's loudness and
kept under the true-peak ceiling by a limiter.

What levelling a line needs depends only on its audio and the targets, so it is measured once
(`analyse`) into a `LineLevels` kept with the line's cache entry: where the audible part starts
and ends, its loudness, loudness profile and true peak, the gain that fits it to the target,
and the peaks the limiter works from. A re-render levels every line from that record (`level`)
without analysing its audio again.

The limiter looks at the true (inter-sample) peaks: the 4x oversampled signal, by BS.1770
Annex 2 style polyphase interpolation. Around a peak that would pass the ceiling the gain goes
down smoothly, starting `LIMITER_ATTACK` before it and holding `LIMITER_HOLD` after it. The gain
it needs at a sample depends on one number per sample: the highest true peak within that
window around it (`_Peaks`). That number does not depend on the gain or the ceiling, so it is
what the record keeps, run-length coded, wherever it is within `PEAK_RESERVE_DB` of mattering.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from interview_audio.audio.loudness import measure

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Samples = npt.NDArray[np.float64]
    Pcm = npt.NDArray[np.float32]

# Trimming: samples quieter than this, relative to the segment's peak, count as silence;
# the margin kept on each side lets breaths and soft consonants (s, f, h) fade naturally.
TRIM_THRESHOLD_DB = -45.0
TRIM_MARGIN = 0.020
# No segment is raised or lowered by more than this (a near-silent clip stays quiet).
MAX_GAIN_DB = 30.0
# Limiter: gain reduction starts this long before a peak and holds this long after it;
# every change is smoothed over the attack time (no clicks, no pumping on speech).
LIMITER_ATTACK = 0.005
LIMITER_HOLD = 0.020
OVERSAMPLING = 4
_INTERPOLATOR_DELAY = 6
_INTERPOLATOR_BETA = 7.0
# Fitting a limited clip to the target: at most this many extra rounds, done when this close.
FIT_ROUNDS = 4
FIT_TOLERANCE = 0.1
MIN_SLOPE = 0.1
# The analysis also measures a limited clip this much louder: the episode-wide correction
# moves every line by about that much, and the slope between the two points takes a line
# there without measuring it again. A gain this far outside them is measured.
SLOPE_STEP_DB = 1.0
SLOPE_REACH_DB = 2.0
# The record keeps the peaks that matter up to this much more gain (or less ceiling) than the
# analysis found: the episode-wide correction moves every line by about 1 dB.
PEAK_RESERVE_DB = 6.0
# Kept peaks are rounded up to this step (dB): at most that much more limiting, never less.
_PEAK_STEP_DB = 0.01
# The layout of a stored LineLevels; a record of another version is measured again.
LEVELS_VERSION = 1
_BELOW = -32768  # a run of samples whose peaks lie under the kept floor
_LONGEST_RUN = 65535


@dataclass(frozen=True, eq=False)
class _Peaks:
    """Per sample of a clip, the highest true peak from `LIMITER_HOLD` before it to
    `LIMITER_ATTACK` after it, wherever that is above `floor` (elsewhere 0).

    Kept as runs of equal values (`lengths`, and `codes` in `_PEAK_STEP_DB` steps, rounded
    up), as they are stored: a record in memory stays small, and `values` are expanded (as
    float32, like the samples the limiter works on) only for the line being levelled.
    """

    floor: float
    lengths: npt.NDArray[np.int64]
    codes: npt.NDArray[np.int16]

    @classmethod
    def of(cls, floor: float, values: Samples | Pcm) -> _Peaks:
        """Runs of `values`, with those not above `floor` left out."""
        import numpy as np

        codes = np.where(values > floor, _codes(values), _BELOW).astype(np.int16)
        if not len(codes):
            return cls(floor, np.zeros(0, dtype=np.int64), codes)
        starts = np.concatenate([[0], np.flatnonzero(np.diff(codes)) + 1])
        lengths = np.diff(np.concatenate([starts, [len(codes)]])).astype(np.int64)
        return cls(floor, lengths, codes[starts])

    def values(self) -> Pcm:
        import numpy as np

        values: Pcm = np.repeat(_levels_of(self.codes), self.lengths)
        return values

    def pack(self) -> dict[str, Any]:
        """The runs, zlib-compressed, base64 (runs longer than 16 bits split in two or more)."""
        import numpy as np

        repeats = -(-self.lengths // _LONGEST_RUN)
        codes = np.repeat(self.codes, repeats)
        lengths = np.full(len(codes), _LONGEST_RUN, dtype=np.int64)
        lengths[np.cumsum(repeats) - 1] = self.lengths - (repeats - 1) * _LONGEST_RUN
        raw = np.stack([lengths.astype("<u2").view("<i2"), codes.astype("<i2")], 1)
        packed = base64.b64encode(zlib.compress(raw.tobytes(), 6)).decode("ascii")
        return {"floor": self.floor, "runs": packed}

    @classmethod
    def unpack(cls, data: Mapping[str, Any], length: int) -> _Peaks:
        import numpy as np

        raw = np.frombuffer(zlib.decompress(base64.b64decode(data["runs"], validate=True)), "<i2")
        runs = raw.reshape(-1, 2)
        lengths = runs[:, 0].view("<u2").astype(np.int64)
        if int(lengths.sum()) != length:
            raise ValueError("peak runs do not cover the clip")
        return cls(float(data["floor"]), lengths, runs[:, 1].astype(np.int16))


def _codes(values: Samples | Pcm) -> npt.NDArray[np.int16]:
    """Peaks in `_PEAK_STEP_DB` steps, rounded up (`_BELOW` for 0)."""
    import numpy as np

    # The small allowance keeps a value already on a step there, in float32 too.
    with np.errstate(divide="ignore"):
        steps = np.ceil(20 * np.log10(values.astype(np.float64)) / _PEAK_STEP_DB - 1e-3)
    codes: npt.NDArray[np.int16] = np.where(values > 0, steps, _BELOW).astype(np.int16)
    return codes


def _quantize(values: Samples | Pcm) -> Pcm:
    """Peaks as `_Peaks.pack` keeps them, so a record read back levels exactly the same."""
    return _levels_of(_codes(values))


def _levels_of(codes: npt.NDArray[np.int16]) -> Pcm:
    import numpy as np

    levels: Pcm = np.where(codes == _BELOW, 0.0, 10 ** (codes * _PEAK_STEP_DB / 20)).astype(
        np.float32
    )
    return levels


@dataclass(frozen=True)
class CodecEffect:
    """What the MP3 encoder did to a line, measured after an encode: how far its true peak
    went over the limiter's `ceiling` (dB, the worst of what was measured with it) and how
    much loudness it took off (dB), at that `bitrate` and output `sample_rate`, with the line
    levelled to `target` (LUFS)."""

    bitrate: str
    sample_rate: int
    ceiling: float
    target: float
    overshoot: float
    loss: float

    def holds_for(self, bitrate: str, sample_rate: int, ceiling: float, target: float) -> bool:
        """Whether it still predicts the encode: same format, the same or a lower ceiling,
        the line's level within a dB (the codec's effect scales with the level)."""
        return (
            (bitrate, sample_rate) == (self.bitrate, self.sample_rate)
            and ceiling <= self.ceiling + 1e-9
            and abs(target - self.target) <= 1.0
        )


@dataclass(frozen=True, eq=False)
class LineLevels:
    """What levelling one line needs, measured from its audio at the stream rate `rate` for
    the loudness `target` (LUFS) and true-peak `ceiling` (dBTP).

    `first:stop` is the kept part of the line's samples; `lead` and `tail` are the margins of
    it that lie outside the audible part. `loudness` (LUFS) and `peak` (dBTP) are the kept
    part's, -inf for a silent line (which keeps its level and gets no time). `gain` is what
    fitting it to `target` found, `reached` the loudness it has at that gain and `slope` how
    much louder each further dB makes it (under 1 where the limiter takes some of it);
    `profile` is the loudness profile (see loudness.py) of the line at that gain; `peaks`
    what the limiter needs; `codec` what encoding did to it, once an encode was checked.
    """

    rate: int
    target: float
    ceiling: float
    first: int
    stop: int
    lead: int
    tail: int
    loudness: float
    peak: float
    gain: float
    reached: float
    slope: float
    profile: Samples
    peaks: _Peaks
    codec: CodecEffect | None = None

    @property
    def measured(self) -> bool:
        return math.isfinite(self.loudness)

    @property
    def length(self) -> int:
        return self.stop - self.first

    def suits(self, rate: int, target: float, ceiling: float) -> bool:
        """Whether this record was measured for these settings."""
        return (rate, target, ceiling) == (self.rate, self.target, self.ceiling)

    def to_json(self) -> dict[str, Any]:
        """A JSON object for the cache (arrays as base64)."""
        return {
            "version": LEVELS_VERSION,
            "rate": self.rate,
            "target": self.target,
            "ceiling": self.ceiling,
            "first": self.first,
            "stop": self.stop,
            "lead": self.lead,
            "tail": self.tail,
            "loudness": self.loudness if self.measured else None,
            "peak": self.peak if math.isfinite(self.peak) else None,
            "gain": self.gain,
            "reached": self.reached if self.measured else None,
            "slope": self.slope,
            "profile": base64.b64encode(self.profile.astype("<f2").tobytes()).decode("ascii"),
            "peaks": self.peaks.pack(),
            "codec": dataclasses.asdict(self.codec) if self.codec is not None else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LineLevels | None:
        """The record `to_json` wrote, or None when it is of another version or malformed."""
        import numpy as np

        try:
            if data.get("version") != LEVELS_VERSION:
                return None
            ints = [data[name] for name in ("rate", "first", "stop", "lead", "tail")]
            if not all(isinstance(value, int) for value in ints):
                return None
            rate, first, stop, lead, tail = ints
            if not 0 <= first <= stop or lead < 0 or tail < 0 or rate <= 0:
                return None
            profile = base64.b64decode(data["profile"], validate=True)
            codec = data.get("codec")
            return cls(
                rate=rate,
                target=float(data["target"]),
                ceiling=float(data["ceiling"]),
                first=first,
                stop=stop,
                lead=lead,
                tail=tail,
                loudness=_db(data["loudness"]),
                peak=_db(data["peak"]),
                gain=float(data["gain"]),
                reached=_db(data["reached"]),
                slope=float(data["slope"]),
                profile=np.frombuffer(profile, "<f2").astype(np.float64),
                peaks=_Peaks.unpack(data["peaks"], stop - first),
                codec=None if codec is None else _codec(codec),
            )
        except (KeyError, TypeError, ValueError, zlib.error):
            return None


def _codec(data: Mapping[str, Any]) -> CodecEffect:
    return CodecEffect(
        bitrate=str(data["bitrate"]),
        sample_rate=int(data["sample_rate"]),
        ceiling=float(data["ceiling"]),
        target=float(data["target"]),
        overshoot=float(data["overshoot"]),
        loss=float(data["loss"]),
    )


def _db(value: Any) -> float:
    return -math.inf if value is None else float(value)


def analyse(samples: Samples, rate: int, target: float, ceiling: float) -> LineLevels:
    """Trim and measure a line (all its samples, at the stream rate) and fit it to `target`."""
    import numpy as np

    magnitude = np.abs(samples)
    loudest = float(magnitude.max()) if len(samples) else 0.0
    if loudest <= 0.0:
        return LineLevels(
            rate=rate,
            target=target,
            ceiling=ceiling,
            first=0,
            stop=0,
            lead=0,
            tail=0,
            loudness=-math.inf,
            peak=-math.inf,
            gain=0.0,
            reached=-math.inf,
            slope=1.0,
            profile=np.zeros(0),
            peaks=_Peaks.of(math.inf, np.zeros(0)),
        )
    loud = np.flatnonzero(magnitude >= loudest * 10 ** (TRIM_THRESHOLD_DB / 20))
    begin, end = int(loud[0]), int(loud[-1]) + 1
    margin = round(TRIM_MARGIN * rate)
    first, stop = max(0, begin - margin), min(len(samples), end + margin)
    kept = samples[first:stop]
    measured = measure(kept, rate)
    envelope = _envelope(kept)
    peak = _to_db(float(envelope.max()))
    source = _PeakSource(kept, rate, envelope=envelope)
    fit = _fit(kept, measured.loudness, peak, source, target, ceiling)
    gain, slope = fit.gain, 1.0
    profile = measured.profile * 10 ** (gain / 10) if fit.profile is None else fit.profile
    if math.isfinite(measured.loudness) and peak + gain + SLOPE_STEP_DB > ceiling:
        louder = measure(_apply(kept, source, gain + SLOPE_STEP_DB, ceiling), rate).loudness
        slope = min(1.0, max(MIN_SLOPE, (louder - fit.reached) / SLOPE_STEP_DB))
    floor = 10 ** ((ceiling - gain - PEAK_RESERVE_DB) / 20)
    if peak > _to_db(floor):
        peaks = _Peaks.of(floor, source.down_to(floor))
    else:
        peaks = _Peaks.of(floor, np.zeros(len(kept)))
    return LineLevels(
        rate=rate,
        target=target,
        ceiling=ceiling,
        first=first,
        stop=stop,
        lead=begin - first,
        tail=stop - end,
        loudness=measured.loudness,
        peak=peak,
        gain=gain,
        reached=fit.reached,
        slope=slope,
        profile=profile,
        peaks=peaks,
    )


def level(kept: Samples, levels: LineLevels, target: float, ceiling: float) -> tuple[Pcm, float]:
    """The kept part of a line at `target` loudness under `ceiling`, and the gain it got.

    A line the limiter leaves alone gets exactly the gain it needs. A limited one moves from
    where the analysis left it along the slope it measured, when that is near enough (the
    episode-wide correction); otherwise it is fitted again, measuring as it goes. Beyond the
    peaks the record keeps (a much lower ceiling after a failed encode), the peaks are found in
    the audio again.
    """
    import numpy as np

    if not levels.measured:
        return kept.astype(np.float32), 0.0
    gain = _expected_gain(levels, target, ceiling)
    if levels.peak + gain <= ceiling:
        return (kept * 10 ** (gain / 20)).astype(np.float32), gain
    source = _PeakSource(kept, levels.rate, known=levels.peaks)
    if ceiling != levels.ceiling or abs(gain - levels.gain) > SLOPE_REACH_DB:
        guess = (gain, levels.slope)
        gain = _fit(kept, levels.loudness, levels.peak, source, target, ceiling, guess=guess).gain
    return _apply(kept, source, gain, ceiling), gain


def limit(pcm: Pcm, rate: int, ceiling: float) -> Pcm:
    """Levelled audio mixed together (a line over music) kept under `ceiling` by the same
    limiter, its true peaks found in the mix itself."""
    samples = pcm.astype("float64")
    return _apply(samples, _PeakSource(samples, rate), 0.0, ceiling)


def _expected_gain(levels: LineLevels, target: float, ceiling: float) -> float:
    """The gain `level` gives the line for `target`, known without its audio (unless the
    line is far from where it was analysed, and is fitted again)."""
    if not levels.measured:
        return 0.0
    unlimited = _clamp(target - levels.loudness)
    if levels.peak + unlimited <= ceiling:
        return unlimited
    return _clamp(levels.gain + (target - levels.reached) / levels.slope)


class _PeakSource:
    """A clip's peaks (see `_Peaks`), one value per sample: the ones a record kept while they
    reach low enough, else measured from the audio (once)."""

    def __init__(
        self,
        kept: Samples,
        rate: int,
        *,
        known: _Peaks | None = None,
        envelope: Samples | None = None,
    ) -> None:
        self.kept = kept
        self.rate = rate
        self._known = known
        self._envelope = envelope
        self._values: Pcm | None = None
        self._floor = math.inf

    def down_to(self, threshold: float) -> Pcm:
        """Peaks exact wherever they exceed `threshold`."""
        if self._values is None or threshold < self._floor:
            if self._known is not None and threshold >= self._known.floor:
                self._values, self._floor = self._known.values(), self._known.floor
            else:
                envelope = self._envelope if self._envelope is not None else _envelope(self.kept)
                self._values, self._floor = _running_peaks(envelope, self.rate), 0.0
        return self._values


@dataclass(frozen=True, eq=False)
class _Fitted:
    """Where a fit ended: the gain, the loudness there, and the limited clip's loudness
    profile (None when the limiter does not act at that gain)."""

    gain: float
    reached: float
    profile: Samples | None


def _fit(
    kept: Samples,
    loudness: float,
    peak: float,
    source: _PeakSource,
    target: float,
    ceiling: float,
    *,
    guess: tuple[float, float] | None = None,
) -> _Fitted:
    """The gain that brings the clip to `target` loudness with its true peak under `ceiling`.

    The limiter takes loudness off peaky voices, so the gain is raised until the limited clip
    measures `target`: secant steps, since loudness grows steadily with the gain, if slower.
    `guess` is a starting (gain, slope).
    """
    if not math.isfinite(loudness):
        return _Fitted(0.0, loudness, None)
    gain, slope = guess if guess is not None else (target - loudness, 1.0)
    gain = _clamp(gain)
    profile: Samples | None = None
    previous: tuple[float, float] | None = None
    for attempt in range(FIT_ROUNDS + 1):
        if peak + gain > ceiling:
            result = measure(_apply(kept, source, gain, ceiling), source.rate)
            reached, profile = result.loudness, result.profile
        else:
            reached, profile = loudness + gain, None
        if abs(target - reached) <= FIT_TOLERANCE or attempt == FIT_ROUNDS:
            break
        if previous is not None and gain != previous[0]:
            slope = min(1.0, max(MIN_SLOPE, (reached - previous[1]) / (gain - previous[0])))
        following = _clamp(gain + (target - reached) / slope)
        if following == gain:
            break
        previous, gain = (gain, reached), following
    return _Fitted(gain, reached, profile)


def _clamp(gain: float) -> float:
    return max(-MAX_GAIN_DB, min(MAX_GAIN_DB, gain))


def _to_db(amplitude: float) -> float:
    return 20 * math.log10(amplitude) if amplitude > 0 else -math.inf


def _apply(kept: Samples, source: _PeakSource, gain: float, ceiling: float) -> Pcm:
    """The clip at `gain` dB, its gain reduced around every true peak that would pass the
    ceiling: just enough at each sample for the highest peak of its window to touch it,
    smoothed over +-attack (the hold covers the smoothing, so no peak gets through).

    The gain still changes across the dozen samples an interpolated peak is made of, so the
    result's own true peak may pass the ceiling by a hair (at most 0.0004 dB on the seed's
    lines); the codec's headroom covers that, and the encoder's overshoot is measured anyway.
    In float32, as the encoder gets it: half the memory traffic of float64.
    """
    import numpy as np
    from scipy.ndimage import uniform_filter1d  # type: ignore[import-untyped,unused-ignore]

    levelled: Pcm = kept.astype(np.float32)
    levelled *= np.float32(10 ** (gain / 20))
    threshold = 10 ** ((ceiling - gain) / 20)
    peaks = source.down_to(threshold)
    over = peaks > threshold
    if not over.any():
        return levelled
    attack = max(1, round(LIMITER_ATTACK * source.rate))
    held = np.ones(len(levelled), dtype=np.float32)
    np.divide(np.float32(threshold), peaks, out=held, where=over)
    levelled *= uniform_filter1d(held, size=2 * attack + 1, mode="nearest")
    return levelled


def _running_peaks(envelope: Samples, rate: int) -> Pcm:
    """A clip's peaks (see `_Peaks`) from its true-peak envelope: the running maximum over
    the limiter's window, rounded up as a record keeps them."""
    from scipy.ndimage import maximum_filter1d  # type: ignore[import-untyped,unused-ignore]

    attack, hold = max(1, round(LIMITER_ATTACK * rate)), round(LIMITER_HOLD * rate)
    size = attack + hold + 1
    # values[n] = max(envelope[n - hold : n + attack + 1])
    running = maximum_filter1d(envelope, size=size, mode="nearest", origin=hold - size // 2)
    return _quantize(running)


def _envelope(samples: Samples) -> Samples:
    """Per sample, the largest magnitude of the 4x oversampled signal from it to the next:
    the inter-sample (true) peaks a converter or resampler will produce.

    Polyphase interpolation with a 49-tap Kaiser-windowed sinc, 12 taps per phase as in
    BS.1770 Annex 2; phase 0 is the sample itself.
    """
    import numpy as np

    envelope: Samples = np.abs(samples)
    for phase in _interpolator()[1:]:
        shifted = np.convolve(samples, phase)[
            _INTERPOLATOR_DELAY : _INTERPOLATOR_DELAY + len(samples)
        ]
        np.maximum(envelope, np.abs(shifted), out=envelope)
    return envelope


@functools.cache
def _interpolator() -> tuple[Samples, ...]:
    import numpy as np

    taps = OVERSAMPLING * 2 * _INTERPOLATOR_DELAY + 1
    centre = (taps - 1) / 2
    n = np.arange(taps)
    kernel = np.sinc((n - centre) / OVERSAMPLING) * np.kaiser(taps, _INTERPOLATOR_BETA)
    return tuple(kernel[phase::OVERSAMPLING] for phase in range(OVERSAMPLING))
