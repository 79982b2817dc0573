"""Metering: ITU-R BS.1770 integrated loudness, of a stream or of an episode laid out from lines.

A line's loudness profile (its K-weighted energy in 10 ms steps) is measured once, with the
line's loudness, and kept with its cache entry. The episode's loudness then follows from the
profiles placed where the lines go, without filtering a sample of the episode again: the
silence between lines adds no energy, and the filters' ringing after a line (a few
milliseconds, 60 dB down) is left out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Samples = npt.NDArray[np.float64]
    Audio = npt.NDArray[np.float64] | npt.NDArray[np.float32]

# BS.1770: 400 ms gating blocks every 100 ms, absolute gate -70 LUFS, relative gate -10 LU.
SUBBLOCK_SECONDS = 0.100
SUBBLOCKS_PER_BLOCK = 4
ABSOLUTE_GATE = -70.0
RELATIVE_GATE = -10.0
# A line's profile: K-weighted energy summed over steps of this length.
PROFILE_SECONDS = 0.010
_HISTOGRAM_STEP = 0.01
_HISTOGRAM_TOP = 20.0


def subblock_size(rate: int) -> int:
    return max(1, round(SUBBLOCK_SECONDS * rate))


def profile_step(rate: int) -> int:
    return max(1, round(PROFILE_SECONDS * rate))


class LoudnessMeter:
    """ITU-R BS.1770 integrated loudness of a mono stream fed piece by piece.

    K-weighting (the standard's two filters, designed for any sample rate), mean square over
    400 ms blocks every 100 ms, then absolute and relative gating. Blocks are kept as a
    histogram of their loudness (0.01 LU bins), so memory does not grow with the stream.
    """

    def __init__(self, rate: int) -> None:
        import numpy as np

        self._sos = k_weighting(rate)
        self._state = np.zeros((2, 2))
        self._subblock = subblock_size(rate)
        self._partial = 0.0
        self._filled = 0
        self._recent = np.zeros(0)
        self._total = 0.0
        self._count = 0
        self._bins = np.arange(ABSOLUTE_GATE, _HISTOGRAM_TOP, _HISTOGRAM_STEP) + _HISTOGRAM_STEP / 2
        self._histogram = np.zeros(len(self._bins), dtype=np.int64)

    def feed(self, samples: Audio) -> Samples:
        """Meter the next samples; returns their K-weighted energy (squared filter output)."""
        import numpy as np
        from scipy.signal import sosfilt  # type: ignore[import-untyped,unused-ignore]

        if not len(samples):
            return np.zeros(0)
        weighted, self._state = sosfilt(self._sos, samples, zi=self._state)
        energy: Samples = weighted * weighted
        self._total += float(energy.sum())
        self._count += len(energy)
        needed = self._subblock - self._filled
        if len(energy) < needed:
            self._partial += float(energy.sum())
            self._filled += len(energy)
            return energy
        first = self._partial + float(energy[:needed].sum())
        rest = energy[needed:]
        whole = len(rest) // self._subblock
        sums = rest[: whole * self._subblock].reshape(whole, self._subblock).sum(axis=1)
        tail = rest[whole * self._subblock :]
        self._partial, self._filled = float(tail.sum()), len(tail)
        self._blocks(np.concatenate([[first], sums]))
        return energy

    def silence(self, count: int) -> None:
        """Feed `count` zero samples (the filters still ring into them)."""
        import numpy as np

        step = 10 * self._subblock
        while count > 0:
            self.feed(np.zeros(min(count, step)))
            count -= step

    def feed_subblocks(self, sums: Samples, *, samples: int, energy: float) -> None:
        """Meter a stream given as the K-weighted energy of each of its whole 100 ms
        sub-blocks; `samples` and `energy` are its length and energy, partial sub-block
        included (they only count when the stream is too short to gate)."""
        self._total += energy
        self._count += samples
        self._blocks(sums)

    def _blocks(self, subblocks: Samples) -> None:
        import numpy as np

        series = np.concatenate([self._recent, subblocks])
        self._recent = series[-(SUBBLOCKS_PER_BLOCK - 1) :]
        if len(series) < SUBBLOCKS_PER_BLOCK:
            return
        powers = np.convolve(series, np.ones(SUBBLOCKS_PER_BLOCK), "valid") / (
            SUBBLOCKS_PER_BLOCK * self._subblock
        )
        with np.errstate(divide="ignore"):
            loudness = -0.691 + 10 * np.log10(powers)
        kept = loudness[loudness >= ABSOLUTE_GATE]
        index = np.minimum(
            ((kept - ABSOLUTE_GATE) / _HISTOGRAM_STEP).astype(np.int64),
            len(self._bins) - 1,
        )
        np.add.at(self._histogram, index, 1)

    def integrated(self) -> float:
        """Gated integrated loudness in LUFS (-inf for silence).

        A stream shorter than one block has nothing to gate and reads as its mean loudness.
        """
        import numpy as np

        if not self._histogram.any():
            if self._count == 0 or self._total <= 0.0:
                return -math.inf
            return lufs(self._total / self._count)
        powers = 10 ** ((self._bins + 0.691) / 10)
        relative = lufs(float(np.average(powers, weights=self._histogram))) + RELATIVE_GATE
        weights = np.where(self._bins > relative, self._histogram, 0)
        return lufs(float(np.average(powers, weights=weights)))


def k_weighting(rate: int) -> Samples:
    """The BS.1770 K-weighting filters (high shelf, then high pass) as second-order sections.

    Designed from the analog prototype of the standard's filters, so at 48 kHz they are the
    coefficients printed in the standard, and at 22.05 or 24 kHz they are not a stretched
    copy of those.
    """
    import numpy as np

    k = math.tan(math.pi * 1681.974450955533 / rate)
    q = 0.7071752369554196
    vh = 10 ** (3.999843853973347 / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = [
        (vh + vb * k / q + k * k) / a0,
        2 * (k * k - vh) / a0,
        (vh - vb * k / q + k * k) / a0,
        1.0,
        2 * (k * k - 1) / a0,
        (1 - k / q + k * k) / a0,
    ]
    k = math.tan(math.pi * 38.13547087602444 / rate)
    q = 0.5003270373238773
    a0 = 1 + k / q + k * k
    high_pass = [1.0, -2.0, 1.0, 1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    sos: Samples = np.array([shelf, high_pass])
    return sos


def lufs(power: float) -> float:
    return -0.691 + 10 * math.log10(power) if power > 0 else -math.inf


@dataclass(frozen=True, eq=False)
class Measurement:
    """A clip's integrated loudness and its profile: K-weighted energy per 10 ms step."""

    loudness: float
    profile: Samples


def measure(samples: Audio, rate: int) -> Measurement:
    """Integrated loudness of a whole clip, with its profile."""
    import numpy as np

    meter = LoudnessMeter(rate)
    energy = meter.feed(samples)
    step = profile_step(rate)
    starts = np.arange(0, len(energy), step)
    profile: Samples = np.add.reduceat(energy, starts) if len(energy) else np.zeros(0)
    return Measurement(meter.integrated(), profile)


@dataclass(frozen=True, eq=False)
class Placed:
    """A clip's profile at its place in the episode: `start` and `length` in samples."""

    start: int
    length: int
    profile: Samples


def episode_loudness(clips: Sequence[Placed], total: int, rate: int) -> float:
    """Integrated loudness of an episode of `total` samples made of `clips` and silence.

    The episode's energy up to any sample is interpolated between the clips' 10 ms steps,
    which puts each sub-block's energy within a fraction of a step's worth of the exact sum.
    """
    import numpy as np

    step = profile_step(rate)
    positions: list[Samples] = []
    energies: list[Samples] = []
    reached = 0.0
    for clip in clips:
        if clip.length <= 0:
            continue
        offsets = np.minimum(np.arange(len(clip.profile) + 1) * step, clip.length)
        positions.append(clip.start + offsets.astype(np.float64))
        energies.append(reached + np.concatenate([[0.0], np.cumsum(clip.profile)]))
        reached = float(energies[-1][-1])
    meter = LoudnessMeter(rate)
    size = subblock_size(rate)
    whole = total // size
    if not positions:
        return -math.inf
    cumulative = np.interp(
        np.arange(whole + 1) * float(size), np.concatenate(positions), np.concatenate(energies)
    )
    meter.feed_subblocks(np.diff(cumulative), samples=total, energy=reached)
    return meter.integrated()
