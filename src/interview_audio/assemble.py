"""Assembly: the synthesized lines become one episode MP3 (and one MP3 per chapter).

Two passes over the cached WAVs with one segment in memory at a time, so memory stays flat
however long the episode is:

1. Analysis. Each segment is trimmed of the silence the engine left around it (relative to its
   own peak, keeping a short margin so soft consonants survive), measured (ITU-R BS.1770
   integrated loudness) and given the gain that brings it to the target, so every voice and
   line is equally loud. A true-peak limiter (peaks of the 4x oversampled signal, smooth gain
   reduction with look-ahead) keeps the peaks under the ceiling; what it takes off the
   loudness is given back. The levelled segments and the pauses between them stream through
   one more meter that sees the episode exactly as it will be encoded, and its gated reading
   sets one episode-wide correction.
2. Encoding. Each segment is read and levelled again and streamed, as float32, into one ffmpeg
   process for the episode (it resamples to 44.1 kHz and encodes CBR MP3) and, in the same
   pass, into the process of the chapter it belongs to. The finished MP3 is measured with
   ffmpeg's own EBU R128 meter; if the encoder's overshoot pushed the true peak over the
   target, or the loudness drifted, it is encoded again with the difference corrected.

Pauses are what the listener hears: the silence between the audible end of one line and the
audible start of the next, so the kept margins count towards it. A chapter boundary lies in
the middle of the pause before the chapter's first line, so each chapter file starts and ends
with a little room.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import re
import unicodedata
import warnings
import wave
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from interview_audio.engines.base import SentenceTiming
from interview_audio.errors import RenderError
from interview_audio.ffmpeg import Loudness, Mp3Encoder, audio_segment, measure_loudness
from interview_audio.files import atomic_path
from interview_audio.synthesis import Line, Segment
from interview_audio.voices import Pauses

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Samples = npt.NDArray[np.float64]

log = logging.getLogger(__name__)

# Trimming: samples quieter than this, relative to the segment's peak, count as silence;
# the margin kept on each side lets breaths and soft consonants (s, f, h) fade naturally.
TRIM_THRESHOLD_DB = -45.0
TRIM_MARGIN = 0.020
# No segment is raised or lowered by more than this (a near-silent clip stays quiet).
MAX_GAIN_DB = 30.0
# The MP3 encoder adds overshoot to the peaks it is given; the limiter leaves this much room
# below the true-peak target. Noise-like sounds overshoot more; the check after encoding
# catches those.
CODEC_HEADROOM_DB = 1.0
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
# libmp3lame's CBR quantisation comes out about 0.4 dB quieter than its input (measured on
# sine tones and on TTS speech at 64 to 192 kbit/s; noise loses less), so the episode is
# aimed that much higher. The check after encoding corrects what remains.
CODEC_LOUDNESS_LOSS = 0.4
# The check after encoding: how far off the loudness may be, how many encodes at most, and
# how much further than the measured overshoot the ceiling goes down on a retry.
LOUDNESS_TOLERANCE = 0.5
ENCODE_ATTEMPTS = 3
PEAK_RETRY_MARGIN = 0.5
# BS.1770: 400 ms gating blocks every 100 ms, absolute gate -70 LUFS, relative gate -10 LU.
SUBBLOCK_SECONDS = 0.100
SUBBLOCKS_PER_BLOCK = 4
ABSOLUTE_GATE = -70.0
RELATIVE_GATE = -10.0
_HISTOGRAM_STEP = 0.01
_HISTOGRAM_TOP = 20.0
# How much PCM goes to ffmpeg per write.
_CHUNK_SECONDS = 1.0
_CHAPTER_FILE = re.compile(r"^\d{2,}-.+\.mp3$")
_UNSAFE_CHARS = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')
_TITLE_FILE_CHARS = 60


@dataclass(frozen=True)
class EpisodeChapter:
    """A chapter of the episode: its title and the index of its first segment."""

    title: str
    first_line: int


@dataclass(frozen=True)
class AssembleOptions:
    """Output format and loudness targets (podcast practice: -16 LUFS, -1 dBTP)."""

    lufs: float = -16.0
    true_peak: float = -1.0
    bitrate: str = "96k"
    sample_rate: int = 44100


@dataclass(frozen=True)
class Placement:
    """Where one segment sits in the episode, in seconds, with its sentences in episode time.

    `gain` is the level change applied to the segment, in dB.
    """

    line: Line
    start: float
    end: float
    sentences: tuple[SentenceTiming, ...]
    gain: float


@dataclass(frozen=True)
class ChapterSpan:
    """A chapter in episode time; `file` is its own MP3 when chapter files were written."""

    title: str
    start: float
    end: float
    file: Path | None = None


@dataclass(frozen=True)
class Timeline:
    """The assembled episode: every segment's placement, the chapters, the total duration."""

    placements: tuple[Placement, ...]
    chapters: tuple[ChapterSpan, ...]
    duration: float


@dataclass(frozen=True)
class _Clip:
    """Pass-1 facts about one segment, in samples of the stream rate.

    `first:stop` is the kept part of the WAV; `lead` and `tail` are the margins of it that lie
    outside the audible part. `loudness` (LUFS) is -inf for a silent segment, which keeps its
    level. `gain` and `slope` are where fitting it to the pass-1 target ended (see `_fit`).
    """

    first: int
    stop: int
    lead: int
    tail: int
    loudness: float
    gain: float = 0.0
    slope: float = 1.0

    @property
    def measured(self) -> bool:
        return math.isfinite(self.loudness)

    @property
    def length(self) -> int:
        return self.stop - self.first


@dataclass(frozen=True)
class _Layout:
    """Where every clip and chapter goes, in samples of the stream rate."""

    gaps: tuple[int, ...]
    starts: tuple[int, ...]
    boundaries: tuple[int, ...]
    total: int


@dataclass(frozen=True)
class _Plan:
    """What pass 1 found out, everything pass 2 needs."""

    segments: tuple[Segment, ...]
    clips: tuple[_Clip, ...]
    layout: _Layout
    rate: int
    options: AssembleOptions


def assemble(
    segments: Sequence[Segment],
    chapters: Sequence[EpisodeChapter],
    pauses: Pauses,
    output: Path,
    *,
    options: AssembleOptions | None = None,
    chapter_dir: Path | None = None,
) -> Timeline:
    """Write the episode MP3 to `output` (and one MP3 per chapter into `chapter_dir`).

    `chapters` start at increasing segment indexes; the first one always starts at the
    episode's beginning (no chapters: no chapter spans or files). Outputs appear only when
    complete: on failure none is created or replaced. Chapter files of an earlier render left
    in `chapter_dir` (`NN-title.mp3` names not written this time) are removed afterwards.
    """
    options = options or AssembleOptions()
    if not segments:
        raise RenderError("There are no synthesized lines to assemble; the script is empty.")
    _check_chapters(chapters, len(segments))
    rate = _read_rate(segments[0])
    ceiling = options.true_peak - CODEC_HEADROOM_DB
    chapter_starts = frozenset(c.first_line for c in chapters if c.first_line > 0)

    episode_meter = LoudnessMeter(rate)
    clips: list[_Clip] = []
    for index, segment in enumerate(segments):
        clip, levelled = _analyse(segment, rate, options.lufs, ceiling)
        if index > 0:
            episode_meter.silence(
                _gap(segments, clips[-1], clip, index, chapter_starts, pauses, rate)
            )
        episode_meter.feed(levelled)
        clips.append(clip)
    target = _segment_target(episode_meter.integrated(), options.lufs) + CODEC_LOUDNESS_LOSS
    plan = _Plan(
        segments=tuple(segments),
        clips=tuple(clips),
        layout=_layout(segments, clips, chapter_starts, bool(chapters), pauses, rate),
        rate=rate,
        options=options,
    )
    names = _chapter_files(chapters, chapter_dir)
    with contextlib.ExitStack() as outputs:
        episode = outputs.enter_context(atomic_path(output))
        chapter_temps = [outputs.enter_context(atomic_path(name)) for name in names]
        gains, measured = _encode_to_targets(plan, target, ceiling, episode, chapter_temps)
    timeline = _timeline(segments, clips, gains, chapters, plan.layout, rate, names)
    if chapter_dir is not None:
        _remove_stale_chapters(chapter_dir, set(names))
    log.info(
        "Assembled %d lines into %s: %s, %d chapters, %.1f LUFS, %.1f dBTP",
        len(segments),
        output,
        _clock(timeline.duration),
        len(timeline.chapters),
        measured.integrated,
        measured.true_peak,
    )
    return timeline


def _check_chapters(chapters: Sequence[EpisodeChapter], count: int) -> None:
    previous = -1
    for chapter in chapters:
        if not 0 <= chapter.first_line < count:
            raise RenderError(
                f"Chapter {chapter.title!r} starts at line {chapter.first_line}, but the episode "
                f"has lines 0 to {count - 1}; fix the chapter list."
            )
        if chapter.first_line <= previous:
            raise RenderError(
                f"Chapter {chapter.title!r} starts at line {chapter.first_line}, not after the "
                "chapter before it; chapters must start at increasing lines."
            )
        previous = chapter.first_line


# --- reading segments ---------------------------------------------------------------------------


def _read_rate(segment: Segment) -> int:
    try:
        with wave.open(str(segment.path), "rb") as wav:
            return wav.getframerate()
    except (OSError, EOFError, wave.Error) as exc:
        raise _unreadable(segment, exc) from exc


def _read(segment: Segment, rate: int) -> Samples:
    """The segment as float samples in [-1, 1) at `rate` (resampled if its engine differs).

    pydub reads the piece; only one piece is ever in memory (never the whole episode).
    """
    import numpy as np

    reader = audio_segment()  # imports pydub quietly first
    from pydub.exceptions import CouldntDecodeError

    try:
        with warnings.catch_warnings():  # pydub warns about ffprobe before failing on bad WAVs
            warnings.simplefilter("ignore", RuntimeWarning)
            clip = reader.from_wav(str(segment.path))
    except (OSError, EOFError, CouldntDecodeError) as exc:
        raise _unreadable(segment, exc) from exc
    channels, width, file_rate = clip.channels, clip.sample_width, clip.frame_rate
    data = clip.raw_data
    if channels != 1 or width != 2:
        raise _unreadable(segment, f"{channels} channels of {8 * width} bits, not mono 16-bit")
    samples: Samples = np.frombuffer(data, "<i2").astype(np.float64) / 32768.0
    if file_rate != rate:
        from scipy.signal import resample_poly  # type: ignore[import-untyped,unused-ignore]

        common = math.gcd(rate, file_rate)
        samples = resample_poly(samples, rate // common, file_rate // common)
    return samples


def _unreadable(segment: Segment, reason: object) -> RenderError:
    return RenderError(
        f"Cannot use the audio of line {segment.line.index} ({segment.path}): {reason}. "
        "Delete that file (or the whole cache folder) and render again to synthesize it anew."
    )


# --- loudness -----------------------------------------------------------------------------------


class LoudnessMeter:
    """ITU-R BS.1770 integrated loudness of a mono stream fed piece by piece.

    K-weighting (the standard's two filters, designed for any sample rate), mean square over
    400 ms blocks every 100 ms, then absolute and relative gating. Blocks are kept as a
    histogram of their loudness (0.01 LU bins), so memory does not grow with the stream.
    """

    def __init__(self, rate: int) -> None:
        import numpy as np

        self._sos = _k_weighting(rate)
        self._state = np.zeros((2, 2))
        self._subblock = max(1, round(SUBBLOCK_SECONDS * rate))
        self._partial = 0.0
        self._filled = 0
        self._recent = np.zeros(0)
        self._total = 0.0
        self._count = 0
        self._bins = np.arange(ABSOLUTE_GATE, _HISTOGRAM_TOP, _HISTOGRAM_STEP) + _HISTOGRAM_STEP / 2
        self._histogram = np.zeros(len(self._bins), dtype=np.int64)

    def feed(self, samples: Samples) -> None:
        import numpy as np
        from scipy.signal import sosfilt  # type: ignore[import-untyped,unused-ignore]

        if not len(samples):
            return
        weighted, self._state = sosfilt(self._sos, samples, zi=self._state)
        energy = weighted * weighted
        self._total += float(energy.sum())
        self._count += len(energy)
        needed = self._subblock - self._filled
        if len(energy) < needed:
            self._partial += float(energy.sum())
            self._filled += len(energy)
            return
        first = self._partial + float(energy[:needed].sum())
        rest = energy[needed:]
        whole = len(rest) // self._subblock
        sums = rest[: whole * self._subblock].reshape(whole, self._subblock).sum(axis=1)
        tail = rest[whole * self._subblock :]
        self._partial, self._filled = float(tail.sum()), len(tail)
        self._blocks(np.concatenate([[first], sums]))

    def silence(self, count: int) -> None:
        """Feed `count` zero samples (the filters still ring into them)."""
        import numpy as np

        step = 10 * self._subblock
        while count > 0:
            self.feed(np.zeros(min(count, step)))
            count -= step

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
            return _lufs(self._total / self._count)
        powers = 10 ** ((self._bins + 0.691) / 10)
        relative = _lufs(float(np.average(powers, weights=self._histogram))) + RELATIVE_GATE
        weights = np.where(self._bins > relative, self._histogram, 0)
        return _lufs(float(np.average(powers, weights=weights)))


def _k_weighting(rate: int) -> Samples:
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


def _lufs(power: float) -> float:
    return -0.691 + 10 * math.log10(power) if power > 0 else -math.inf


def _measure(samples: Samples, rate: int) -> float:
    meter = LoudnessMeter(rate)
    meter.feed(samples)
    return meter.integrated()


# --- pass 1: analysis ---------------------------------------------------------------------------


def _analyse(segment: Segment, rate: int, target: float, ceiling: float) -> tuple[_Clip, Samples]:
    """Trim and measure the segment; return it levelled to `target` for the episode meter."""
    import numpy as np

    samples = _read(segment, rate)
    magnitude = np.abs(samples)
    peak = float(magnitude.max()) if len(samples) else 0.0
    if peak <= 0.0:
        log.warning("Line %d (%s) is silent; it gets no time", segment.line.index, segment.path)
        return _Clip(0, 0, 0, 0, -math.inf), np.zeros(0)
    loud = np.flatnonzero(magnitude >= peak * 10 ** (TRIM_THRESHOLD_DB / 20))
    begin, end = int(loud[0]), int(loud[-1]) + 1
    margin = round(TRIM_MARGIN * rate)
    first, stop = max(0, begin - margin), min(len(samples), end + margin)
    kept = samples[first:stop]
    clip = _Clip(first, stop, begin - first, stop - end, _measure(kept, rate))
    levelled, gain, slope = _fit(kept, clip, target, ceiling, rate)
    log.debug("Line %d: %.1f LUFS, gain %+.1f dB", segment.line.index, clip.loudness, gain)
    return replace(clip, gain=gain, slope=slope), levelled


def _fit(
    samples: Samples,
    clip: _Clip,
    target: float,
    ceiling: float,
    rate: int,
    guess: tuple[float, float] | None = None,
) -> tuple[Samples, float, float]:
    """The clip at `target` loudness with its true peak under `ceiling`.

    The limiter takes loudness off peaky voices, so the gain is raised until the limited clip
    measures `target`: secant steps, since loudness grows steadily with the gain, if slower.
    `guess` is a starting (gain, slope). Returns the levelled clip, its gain and the slope.
    """
    if not clip.measured:
        return samples, 0.0, 1.0
    gain, slope = guess if guess is not None else (target - clip.loudness, 1.0)
    gain = _clamp(gain)
    envelope = _peak_envelope(samples)
    previous: tuple[float, float] | None = None
    for attempt in range(FIT_ROUNDS + 1):
        levelled, limited = _level(samples, envelope, gain, ceiling, rate)
        reached = _measure(levelled, rate) if limited else clip.loudness + gain
        if abs(target - reached) <= FIT_TOLERANCE or attempt == FIT_ROUNDS:
            break
        if previous is not None and gain != previous[0]:
            slope = min(1.0, max(MIN_SLOPE, (reached - previous[1]) / (gain - previous[0])))
        following = _clamp(gain + (target - reached) / slope)
        if following == gain:
            break
        previous, gain = (gain, reached), following
    return (_guard(levelled, ceiling) if limited else levelled), gain, slope


def _clamp(gain: float) -> float:
    return max(-MAX_GAIN_DB, min(MAX_GAIN_DB, gain))


def _segment_target(episode: float, target: float) -> float:
    """The loudness each segment needs for the episode to measure `target`.

    The episode reads lower than its segments: the 400 ms blocks that straddle a pause are
    quieter but still pass the gate. Shifting every segment shifts the episode by the same
    amount, so one correction measured in pass 1 is enough.
    """
    if not math.isfinite(episode):
        log.warning("The episode has no audible audio; levels are left as they are")
        return target
    log.debug("Episode at %.2f LUFS with segments at %.2f LUFS", episode, target)
    return target + target - episode


# --- layout -------------------------------------------------------------------------------------


def _gap(
    segments: Sequence[Segment],
    before: _Clip,
    clip: _Clip,
    index: int,
    chapter_starts: frozenset[int],
    pauses: Pauses,
    rate: int,
) -> int:
    """Samples of silence before segment `index`: the pause minus the margins around it."""
    if clip.length == 0:
        return 0
    previous, line = segments[index - 1].line, segments[index].line
    if index in chapter_starts:
        pause = pauses.chapter
    elif previous.turn != line.turn or previous.speaker != line.speaker:
        pause = pauses.speaker_change
    else:
        pause = pauses.paragraph
    return max(0, round(pause * rate) - before.tail - clip.lead)


def _layout(
    segments: Sequence[Segment],
    clips: Sequence[_Clip],
    chapter_starts: frozenset[int],
    has_chapters: bool,
    pauses: Pauses,
    rate: int,
) -> _Layout:
    gaps: list[int] = []
    starts: list[int] = []
    boundaries: list[int] = [0] if has_chapters else []
    position = 0
    for index, clip in enumerate(clips):
        gap = (
            _gap(segments, clips[index - 1], clip, index, chapter_starts, pauses, rate)
            if index > 0
            else 0
        )
        if index in chapter_starts:
            boundaries.append(position + gap // 2)
        gaps.append(gap)
        starts.append(position + gap)
        position += gap + clip.length
    return _Layout(tuple(gaps), tuple(starts), tuple(boundaries), position)


def _timeline(
    segments: Sequence[Segment],
    clips: Sequence[_Clip],
    gains: Sequence[float],
    chapters: Sequence[EpisodeChapter],
    layout: _Layout,
    rate: int,
    files: Sequence[Path],
) -> Timeline:
    placements: list[Placement] = []
    for segment, clip, gain, start in zip(segments, clips, gains, layout.starts, strict=True):
        begin, end = start / rate, (start + clip.length) / rate
        shift = begin - clip.first / rate
        sentences = tuple(
            SentenceTiming(
                sentence.text,
                min(end, max(begin, sentence.start + shift)),
                min(end, max(begin, sentence.end + shift)),
            )
            for sentence in segment.sentences
        )
        placements.append(Placement(segment.line, begin, end, sentences, gain))
    ends = (*layout.boundaries[1:], layout.total) if layout.boundaries else ()
    spans = tuple(
        ChapterSpan(chapter.title, first / rate, last / rate, files[index] if files else None)
        for index, (chapter, first, last) in enumerate(
            zip(chapters, layout.boundaries, ends, strict=True)
        )
    )
    return Timeline(tuple(placements), spans, layout.total / rate)


def _chapter_files(chapters: Sequence[EpisodeChapter], folder: Path | None) -> list[Path]:
    if folder is None:
        return []
    width = max(2, len(str(len(chapters))))
    return [
        folder / f"{number:0{width}d}-{safe_title(chapter.title)}.mp3"
        for number, chapter in enumerate(chapters, start=1)
    ]


def safe_title(title: str) -> str:
    """A chapter title as part of a file name: no path or shell-hostile characters, bounded."""
    text = unicodedata.normalize("NFC", title)
    text = _UNSAFE_CHARS.sub("_", text)
    text = re.sub(r"\s+", "_", text).strip("._ ")
    return text[:_TITLE_FILE_CHARS].rstrip("._ ") or "chapter"


def _remove_stale_chapters(folder: Path, keep: set[Path]) -> None:
    for path in folder.iterdir():
        if _CHAPTER_FILE.match(path.name) and path not in keep:
            try:
                path.unlink()
            except OSError as exc:
                log.warning("Could not remove the old chapter file %s (%s)", path, exc.strerror)
            else:
                log.info("Removed the old chapter file %s", path.name)


def _clock(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}:{rest:02d}"


# --- pass 2: level and encode -------------------------------------------------------------------


def _encode_to_targets(
    plan: _Plan, target: float, ceiling: float, episode: Path, chapters: Sequence[Path]
) -> tuple[list[float], Loudness]:
    """Encode, measure the MP3 with ffmpeg's EBU R128 meter, and encode again with the
    difference corrected if the codec's overshoot or loss missed the targets."""
    options = plan.options
    audible = any(clip.measured for clip in plan.clips)
    for attempt in range(1, ENCODE_ATTEMPTS + 1):
        gains = _encode(plan, target, ceiling, episode, chapters)
        measured = measure_loudness(episode)
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
    plan: _Plan, target: float, ceiling: float, episode: Path, chapters: Sequence[Path]
) -> list[float]:
    """Stream every segment, levelled to `target`, with the silence before it, into the
    encoders; return the gain each segment got.

    Pass 1 fitted the segments to the requested loudness; the search starts from there.
    """
    gains: list[float] = []
    stream = _Stream(episode, chapters, plan.layout.boundaries, plan.rate, plan.options)
    try:
        for segment, clip, gap in zip(plan.segments, plan.clips, plan.layout.gaps, strict=True):
            stream.silence(gap)
            gain = 0.0
            if clip.length:
                samples = _read(segment, plan.rate)[clip.first : clip.stop]
                guess = (
                    clip.gain + (target - plan.options.lufs) / clip.slope,
                    clip.slope,
                )
                levelled, gain, _ = _fit(samples, clip, target, ceiling, plan.rate, guess)
                stream.write(levelled)
            gains.append(gain)
        stream.finish()
    except BaseException:
        stream.abort()
        raise
    return gains


def _level(
    samples: Samples, envelope: Samples, gain: float, ceiling: float, rate: int
) -> tuple[Samples, bool]:
    """Apply `gain` (dB) and limit so the true peak stays under `ceiling` (dBTP).

    `envelope` is `_peak_envelope(samples)`; it scales with the gain, so a fit computes it
    once. The gain curve only approximates the oversampled peaks between two samples;
    `_guard` makes the result exact. Also says whether the limiter had to act.
    """
    import numpy as np
    from scipy.ndimage import (  # type: ignore[import-untyped,unused-ignore]
        minimum_filter1d,
        uniform_filter1d,
    )

    factor = 10 ** (gain / 20)
    limit = 10 ** (ceiling / 20)
    levelled: Samples = samples * factor
    if not len(envelope) or float(envelope.max()) * factor <= limit:
        return levelled, False
    needed = np.minimum(1.0, limit / np.maximum(envelope * factor, 1e-12))
    attack, hold = max(1, round(LIMITER_ATTACK * rate)), round(LIMITER_HOLD * rate)
    size = attack + hold + 1
    # held[n] = min(needed[n - hold : n + attack + 1]); smoothing over +-attack then keeps
    # every peak under the ceiling, because the hold covers the whole smoothing window.
    held = minimum_filter1d(needed, size=size, mode="nearest", origin=hold - size // 2)
    levelled *= uniform_filter1d(held, size=2 * attack + 1, mode="nearest")
    return levelled, True


def _guard(levelled: Samples, ceiling: float) -> Samples:
    """Scale a limited clip down by whatever its true peak still exceeds `ceiling` by."""
    limit = 10 ** (ceiling / 20)
    peak = float(_peak_envelope(levelled).max()) if len(levelled) else 0.0
    if peak > limit:
        levelled *= limit / peak
    return levelled


def _peak_envelope(samples: Samples) -> Samples:
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


class _Stream:
    """Feeds the episode encoder and, in step, the encoder of the chapter being written."""

    def __init__(
        self,
        episode: Path,
        chapters: Sequence[Path],
        boundaries: Sequence[int],
        rate: int,
        options: AssembleOptions,
    ) -> None:
        self._rate = rate
        self._options = options
        self._chapters = list(chapters)
        self._boundaries = list(boundaries) if chapters else []
        self._chunk = max(1, round(_CHUNK_SECONDS * rate))
        self._position = 0
        self._current = -1
        self._chapter: Mp3Encoder | None = None
        self._episode = self._encoder(episode, "encode the episode")

    def _encoder(self, path: Path, what: str) -> Mp3Encoder:
        return Mp3Encoder(
            path,
            input_rate=self._rate,
            output_rate=self._options.sample_rate,
            bitrate=self._options.bitrate,
            what=what,
        )

    def _advance(self) -> None:
        """Switch chapter files at every boundary the stream has reached."""
        while (
            self._current + 1 < len(self._boundaries)
            and self._boundaries[self._current + 1] <= self._position
        ):
            if self._chapter is not None:
                self._chapter.finish()
                self._chapter = None
            self._current += 1
            self._chapter = self._encoder(
                self._chapters[self._current], f"encode chapter {self._current + 1}"
            )

    def _room(self) -> int:
        """Samples that can go out before the next chapter boundary (at most one chunk)."""
        if self._current + 1 < len(self._boundaries):
            return min(self._chunk, self._boundaries[self._current + 1] - self._position)
        return self._chunk

    def write(self, samples: Samples) -> None:
        done = 0
        while done < len(samples):
            self._advance()
            count = min(len(samples) - done, self._room())
            pcm = samples[done : done + count].astype("<f4").tobytes()
            self._episode.write(pcm)
            if self._chapter is not None:
                self._chapter.write(pcm)
            done += count
            self._position += count

    def silence(self, count: int) -> None:
        import numpy as np

        zeros = np.zeros(min(count, self._chunk))
        while count > 0:
            piece = min(count, len(zeros))
            self.write(zeros[:piece])
            count -= piece

    def finish(self) -> None:
        self._advance()
        if self._chapter is not None:
            self._chapter.finish()
            self._chapter = None
        self._episode.finish()

    def abort(self) -> None:
        if self._chapter is not None:
            self._chapter.abort()
            self._chapter = None
        self._episode.abort()
