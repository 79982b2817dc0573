"""Encoding: the levelled lines and the pauses between them, streamed into one MP3 encode.

Each line is read and levelled as it is needed and streamed, as float32, into one ffmpeg
process (which resamples to 44.1 kHz and encodes CBR MP3), so only one line is ever in memory.

The encoder takes some loudness off and adds some overshoot to the peaks. What it did to each
line is measured once and kept with the line (`CodecEffect`), so the MP3's loudness and true
peak are known before encoding and the episode is encoded once, at the right level:

- lines the encoder has not been measured on are checked after the encode, each with a
  little of the pause around it, from the finished MP3's own frames;
- when most of the episode is new (a first render), the whole MP3 is measured instead, while
  it is written, by a second ffmpeg reading a copy of the stream;
- a re-render of lines all measured before is predicted, not measured.

If a check finds the true peak over the target or the loudness off by more than the tolerance,
the episode is encoded again with the difference corrected (rare: the limiter leaves room).

Music (music.py) is kept the same way: each bed is levelled with the lines, mixed under them
where they overlap (the mix limited again), and its codec effect counts with theirs. A bed the
encoder is new to, or a new line over one, has the whole MP3 measured.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from interview_audio.audio.levels import CodecEffect, LineLevels, level, limit
from interview_audio.audio.loudness import Placed, episode_loudness
from interview_audio.audio.mp3frames import cut, read_stream
from interview_audio.audio.music import Bed
from interview_audio.ffmpeg import Loudness, Mp3Encoder, measure_loudness

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Samples = npt.NDArray[np.float64]
    Pcm = npt.NDArray[np.float32]

log = logging.getLogger(__name__)

# The MP3 encoder adds overshoot to the peaks it is given; the limiter leaves this much room
# below the true-peak target.
CODEC_HEADROOM_DB = 1.0
# libmp3lame's CBR quantisation comes out about 0.4 dB quieter than its input (measured on
# sine tones and on TTS speech at 64 to 192 kbit/s; noise loses less). Until the encoder has
# been measured on an episode's lines, the episode is aimed that much higher.
CODEC_LOUDNESS_LOSS = 0.4
# How far off the loudness may be, how many encodes at most, and how much further than the
# measured overshoot the ceiling goes down for the next encode.
LOUDNESS_TOLERANCE = 0.5
ENCODE_ATTEMPTS = 3
PEAK_RETRY_MARGIN = 0.5
# A true peak predicted from earlier measurements may be this far off (the encoder's overshoot
# varies a little with the level and the neighbouring lines): the ceiling keeps it in reserve.
PEAK_PREDICTION_MARGIN = 0.3
# Lines checked on their own are measured with this much of the pause around them (seconds).
REGION_MARGIN = 0.25
# When more of the episode than this is new to the encoder, the whole MP3 is measured.
WHOLE_CHECK_SHARE = 0.25
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
class EncodeInput:
    """What goes into the encode: every line's levels, where each starts and the silence
    before it (samples at `rate`), and how to read a line's kept samples; the music beds
    under and around them, and the samples after the last line (the outro)."""

    levels: Sequence[LineLevels]
    starts: Sequence[int]
    gaps: Sequence[int]
    read: Callable[[int], Samples]
    rate: int
    beds: Sequence[Bed] = ()
    tail: int = 0


@dataclass(frozen=True)
class Encoded:
    """The encode kept: each line's gain, the lines' (and beds') levels with what the
    encoder did to them, the MP3's loudness and true peak, and how those were found ("whole
    episode", "new lines" or "predicted")."""

    gains: list[float]
    levels: list[LineLevels]
    loudness: Loudness
    checked: str
    music: list[LineLevels] = dataclasses.field(default_factory=list)


@dataclass(frozen=True)
class _Plan:
    """What is known before an encode: the loss to make up for, the worst overshoot of the
    lines measured before (None if none), and the lines the encoder is new to."""

    loss: float
    overshoot: float | None
    unknown: list[int]
    share: float


def encode_episode(
    episode: EncodeInput,
    loudness: float,
    output: Path,
    options: AssembleOptions,
    progress: Progress | None = None,
) -> Encoded:
    """Encode the episode so the MP3 measures `options.lufs` and stays under
    `options.true_peak`; `loudness` is the episode's loudness with every line at
    `options.lufs` (and every bed at its level against them) before encoding (see
    loudness.episode_loudness)."""
    levels = list(episode.levels)
    music = [bed.levels for bed in episode.beds]
    # What each line or bed weighs in the episode: how much of it plays.
    weights = [line.length for line in levels] + [bed.length for bed in episode.beds]
    ceiling = _known_ceiling([*levels, *music], options)
    base = _segment_target(loudness, options.lufs)
    whole = False
    for attempt in range(1, ENCODE_ATTEMPTS + 1):
        # Each check puts what it measured into `levels`: the next plan makes up for it.
        plan = _plan([*levels, *music], weights, base, ceiling, options)
        reserve = PEAK_PREDICTION_MARGIN
        if plan.overshoot is not None and ceiling + plan.overshoot + reserve > options.true_peak:
            # Known beforehand: these lines would come out too peaky at this ceiling.
            ceiling = options.true_peak - plan.overshoot - reserve
        target = base + plan.loss
        whole = whole or plan.share > WHOLE_CHECK_SHARE or _touches_music(episode, plan.unknown)
        step = "encoding" if attempt == 1 else "encoding again"
        gains, whole_mp3 = _encode(episode, target, ceiling, output, options, step, progress, whole)
        expected = options.lufs + plan.loss  # the episode before encoding
        if whole_mp3 is not None:
            measured = whole_mp3
            effect = CodecEffect(
                options.bitrate,
                options.sample_rate,
                ceiling,
                target,
                measured.true_peak - ceiling,
                expected - measured.integrated,
            )
            levels = [_with(line, effect) for line in levels]
            music = [_with(line, effect) for line in music]
            checked = "whole episode"
        else:
            levels = _check_lines(episode, levels, plan.unknown, target, ceiling, options, output)
            measured = _predicted([*levels, *music], weights, gains, expected, ceiling)
            checked = "new lines" if plan.unknown else "predicted"
        peak_excess = measured.true_peak - options.true_peak
        audible = any(line.measured for line in levels)
        drift = options.lufs - measured.integrated if audible else 0.0
        log.debug(
            "Encode %d (%s): %.2f LUFS, %.2f dBTP",
            attempt,
            checked,
            measured.integrated,
            measured.true_peak,
        )
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
        whole = True
    return Encoded(gains[: len(levels)], levels, measured, checked, music)


def _touches_music(episode: EncodeInput, unknown: Sequence[int]) -> bool:
    """Whether a bed is new to the encoder, or a new line plays over one: checking a line
    on its own measures the music with it, so the whole MP3 is measured instead."""
    count = len(episode.levels)
    margin = round(REGION_MARGIN * episode.rate)
    for index in unknown:
        if index >= count:
            return True
        begin = episode.starts[index] - margin
        end = episode.starts[index] + episode.levels[index].length + margin
        if any(bed.start < end and begin < bed.start + bed.length for bed in episode.beds):
            return True
    return False


def _known_ceiling(levels: Sequence[LineLevels], options: AssembleOptions) -> float:
    """Where the limiter starts: the options' ceiling, or lower where an earlier encode of
    these lines in this format had to go lower (an encoder that overshoots more than the
    headroom allows, such as Debian's libmp3lame on peaky voices). Starting there, a re-render
    is predicted from what that encode measured instead of overshooting and encoding twice."""
    recorded = [
        effect.ceiling
        for line in levels
        if (effect := line.codec) is not None
        and (effect.bitrate, effect.sample_rate) == (options.bitrate, options.sample_rate)
    ]
    return min([options.ceiling, *recorded])


def _segment_target(episode: float, target: float) -> float:
    """The loudness each line needs for the episode to measure `target` (before encoding).

    The episode reads lower than its lines: the 400 ms blocks that straddle a pause are
    quieter but still pass the gate. Shifting every line shifts the episode by the same
    amount, so one correction is enough.
    """
    import math

    if not math.isfinite(episode):
        log.warning("The episode has no audible audio; levels are left as they are")
        return target
    log.debug("EncodeInput at %.2f LUFS with lines at %.2f LUFS", episode, target)
    return target + target - episode


def _plan(
    levels: Sequence[LineLevels],
    weights: Sequence[int],
    base: float,
    ceiling: float,
    options: AssembleOptions,
) -> _Plan:
    """What the lines (and beds) measured before say about this encode; `base` is the lines'
    target before the encoder's loss is made up for, `weights` how much of each plays.

    The encoder's loss and overshoot in dB hardly depend on the level, so every line measured
    in this format tells them; a line counts as known (no need to check it again) only near
    the level it was measured at (a bed's codec effect is kept at its lines' target).
    """
    lines = [i for i, line in enumerate(levels) if line.measured and weights[i]]
    total = sum(weights[i] for i in lines)
    matching = [
        i
        for i in lines
        if (effect := levels[i].codec) is not None
        and effect.holds_for(options.bitrate, options.sample_rate, ceiling, effect.target)
    ]
    if not matching:
        return _Plan(CODEC_LOUDNESS_LOSS, None, lines, 1.0 if total else 0.0)
    loss = _mean_loss(levels, weights, matching)
    known = {
        i
        for i in matching
        if (effect := levels[i].codec) is not None
        and effect.holds_for(options.bitrate, options.sample_rate, ceiling, base + loss)
    }
    unknown = [i for i in lines if i not in known]
    overshoot = max(effect.overshoot for i in matching if (effect := levels[i].codec) is not None)
    share = sum(weights[i] for i in unknown) / total
    return _Plan(loss, overshoot, unknown, share)


def _mean_loss(levels: Sequence[LineLevels], weights: Sequence[int], lines: Sequence[int]) -> float:
    """The encoder's loss over `lines`, each counted by how much of it plays."""
    weighted = [(weights[i], effect.loss) for i in lines if (effect := levels[i].codec) is not None]
    return sum(w * loss for w, loss in weighted) / sum(w for w, _ in weighted)


def _with(line: LineLevels, effect: CodecEffect) -> LineLevels:
    if not line.measured or not line.length:
        return line
    return dataclasses.replace(line, codec=effect)


def _predicted(
    levels: Sequence[LineLevels],
    weights: Sequence[int],
    gains: Sequence[float],
    expected: float,
    ceiling: float,
) -> Loudness:
    """The MP3's loudness and true peak from what the encoder did to each line and bed."""
    effects = [
        (weight, line.codec, line.peak + gain)
        for line, weight, gain in zip(levels, weights, gains, strict=True)
        if line.measured and weight and line.codec is not None
    ]
    if not effects:
        return Loudness(expected, ceiling, 0.0)
    length = sum(weight for weight, _, _ in effects)
    loss = sum(weight * effect.loss for weight, effect, _ in effects) / length
    peak = max(min(top, ceiling) + effect.overshoot for _, effect, top in effects)
    return Loudness(expected - loss, peak, 0.0)


def _check_lines(
    episode: EncodeInput,
    levels: list[LineLevels],
    lines: Sequence[int],
    target: float,
    ceiling: float,
    options: AssembleOptions,
    output: Path,
) -> list[LineLevels]:
    """Measure the lines the encoder is new to in the finished MP3 (each with a little pause
    around it, neighbours together) and keep what it did to them."""
    if not lines:
        return levels
    stream = read_stream(output)
    rate = episode.rate
    scale = stream.format.sample_rate / rate
    margin = round(REGION_MARGIN * rate)
    updated = list(levels)
    with tempfile.TemporaryDirectory(prefix="interview-audio-") as scratch:
        for group in _neighbours(lines):
            begin = max(0, episode.starts[group[0]] - margin)
            end = episode.starts[group[-1]] + levels[group[-1]].length + margin
            piece = Path(scratch) / f"{group[0]}.mp3"
            cut(
                stream,
                min(stream.samples, round(begin * scale)),
                min(stream.samples, round(end * scale)),
                piece,
            )
            measured = measure_loudness(piece)
            before = episode_loudness(
                [
                    Placed(
                        episode.starts[index] - begin,
                        levels[index].length,
                        levels[index].profile * 10 ** ((target - levels[index].reached) / 10),
                    )
                    for index in group
                ],
                end - begin,
                rate,
            )
            for index in group:
                updated[index] = dataclasses.replace(
                    levels[index],
                    codec=CodecEffect(
                        options.bitrate,
                        options.sample_rate,
                        ceiling,
                        target,
                        measured.true_peak - ceiling,
                        before - measured.integrated,
                    ),
                )
    return updated


def _neighbours(lines: Sequence[int]) -> list[list[int]]:
    groups: list[list[int]] = []
    for index in lines:
        if groups and groups[-1][-1] == index - 1:
            groups[-1].append(index)
        else:
            groups.append([index])
    return groups


def _encode(
    episode: EncodeInput,
    target: float,
    ceiling: float,
    output: Path,
    options: AssembleOptions,
    step: str,
    progress: Progress | None,
    measure: bool,
) -> tuple[list[float], Loudness | None]:
    """Stream every line, levelled to `target`, with the silence (or music) before it, into
    the encoder, music mixed under the lines it overlaps; return the gain each line and then
    each bed got, and the MP3's measurement when `measure`."""
    import numpy as np

    rate = episode.rate
    chunk = max(1, round(_CHUNK_SECONDS * rate))
    total = sum(episode.gaps) + sum(line.length for line in episode.levels) + episode.tail
    music = _Music(episode.beds, target, ceiling)
    done = 0
    gains: list[float] = []
    encoder = Mp3Encoder(
        output,
        input_rate=rate,
        output_rate=options.sample_rate,
        bitrate=options.bitrate,
        what="encode the episode",
        measure=measure,
    )

    def write(pcm: Pcm) -> None:
        nonlocal done
        for start in range(0, len(pcm), chunk):
            piece = pcm[start : start + chunk]
            encoder.write(piece.tobytes())
            done += len(piece)
            if progress is not None:
                progress(step, done / rate, total / rate)

    def pause(count: int) -> None:
        for start in range(0, count, chunk):
            length = min(chunk, count - start)
            under = music.under(done, length)
            write(np.zeros(length, dtype="<f4") if under is None else under)

    try:
        if progress is not None:
            progress(step, 0.0, total / rate)
        for index, (line, gap) in enumerate(zip(episode.levels, episode.gaps, strict=True)):
            pause(gap)
            gain = 0.0
            if line.length:
                pcm, gain = level(episode.read(index), line, target, ceiling)
                under = music.under(done, len(pcm))
                write(pcm if under is None else limit(pcm + under, rate, ceiling))
            gains.append(gain)
        pause(episode.tail)
        measured = encoder.finish()
    except BaseException:
        encoder.abort()
        raise
    return [*gains, *music.gains], measured


class _Music:
    """The beds levelled for one encode (each with its envelope), mixed on request."""

    def __init__(self, beds: Sequence[Bed], target: float, ceiling: float) -> None:
        self.placed: list[tuple[int, Pcm]] = []
        self.gains: list[float] = []
        for bed in beds:
            pcm, gain = level(bed.read(), bed.levels, target + bed.level, ceiling)
            shaped = pcm[: bed.length] * bed.envelope().astype("float32")
            self.placed.append((bed.start, shaped))
            self.gains.append(gain)

    def under(self, start: int, count: int) -> Pcm | None:
        """The music from sample `start` for `count` samples, None where there is none."""
        import numpy as np

        mixed: Pcm | None = None
        for begin, pcm in self.placed:
            low, high = max(start, begin), min(start + count, begin + len(pcm))
            if low >= high:
                continue
            if mixed is None:
                mixed = np.zeros(count, dtype="<f4")
            mixed[low - start : high - start] += pcm[low - begin : high - begin]
        return mixed
