"""Assembly: the synthesized lines become one episode MP3 (and one MP3 per chapter).

1. Measure (levels.py): each line is trimmed, measured and fitted to the target loudness under
   the true-peak ceiling, once; the record is kept with the line's cache entry, so a re-render
   reads it instead of analysing the audio again.
2. Lay out (layout.py): the lines one after another with the configured pauses; the episode's
   loudness follows from the lines' loudness profiles (loudness.py), which sets one
   episode-wide correction before anything is encoded.
3. Encode (encode.py): the levelled lines and the pauses stream into one MP3 encode, at a
   level chosen from what the encoder did to the lines before; what it does to new lines is
   measured from the MP3 and kept with them too.
4. Chapter files (mp3frames.py) are cut from the episode's own MP3 frames, not encoded again.

Music (music.py), when asked for, is measured like a line and kept the same way; its lead
moves every line, and its beds enter the episode's loudness and the encode.

Memory stays flat however long the episode is: one line is in memory at a time.
"""

from __future__ import annotations

import contextlib
import logging
import math
import wave
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from interview_audio.audio.encode import AssembleOptions, EncodeInput, Progress, encode_episode
from interview_audio.audio.layout import (
    CHAPTER_FILE,
    ChapterSpan,
    EpisodeChapter,
    Layout,
    Placement,
    Timeline,
    chapter_files,
    check_chapters,
    lay_out,
    safe_title,
    timeline,
)
from interview_audio.audio.levels import LineLevels, analyse
from interview_audio.audio.loudness import Placed, episode_loudness
from interview_audio.audio.mp3frames import cut, read_stream
from interview_audio.audio.music import Bed, Measured, Music, beds, room
from interview_audio.display import clock
from interview_audio.errors import RenderError
from interview_audio.files import atomic_path
from interview_audio.synthesis.queue import Segment
from interview_audio.voices.model import Pauses

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Samples = npt.NDArray[np.float64]

__all__ = [
    "AssembleOptions",
    "ChapterSpan",
    "EpisodeChapter",
    "MeasurementStore",
    "Placement",
    "Progress",
    "Timeline",
    "assemble",
    "safe_title",
]

log = logging.getLogger(__name__)


class MeasurementStore(Protocol):
    """Keeps what was measured from a line's audio with its cache entry (the cache does)."""

    def measurements(self, key: str) -> Mapping[str, Any] | None: ...

    def keep_measurements(self, key: str, data: Mapping[str, Any]) -> None: ...


def assemble(
    segments: Sequence[Segment],
    chapters: Sequence[EpisodeChapter],
    pauses: Pauses,
    output: Path,
    *,
    options: AssembleOptions | None = None,
    chapter_dir: Path | None = None,
    measurements: MeasurementStore | None = None,
    progress: Progress | None = None,
    music: Music | None = None,
) -> Timeline:
    """Write the episode MP3 to `output` (and one MP3 per chapter into `chapter_dir`).

    `chapters` start at increasing segment indexes; the first one always starts at the
    episode's beginning (no chapters: no chapter spans or files). Outputs appear only when
    complete: on failure none is created or replaced. Chapter files of an earlier render left
    in `chapter_dir` (`NN-title.mp3` names not written this time) are removed afterwards.
    Lines measured before are read from `measurements`, and new measurements kept there.
    `progress(step, done, total)` follows each pass in seconds of audio. `music` adds an intro
    and an outro around the lines (music.py).
    """
    options = options or AssembleOptions()
    if not segments:
        raise RenderError("There are no synthesized lines to assemble; the script is empty.")
    check_chapters(chapters, len(segments))
    rate = _read_rate(segments[0])
    levels, fresh = _measure(segments, rate, options, measurements, progress)
    intro, outro, measured_music = _measure_music(music, rate, options, measurements)
    lead, trail = (
        room(music, intro, outro, levels[-1].tail, pauses.chapter, rate) if music else (0, 0)
    )
    layout = lay_out(segments, levels, chapters, pauses, rate, lead=lead, trail=trail)
    placed_music = (
        beds(music, intro, outro, _spoken(layout, levels), _introduction(segments), layout.total)
        if music
        else []
    )
    loudness = episode_loudness(
        [
            Placed(start, line.length, line.profile)
            for start, line in zip(layout.starts, levels, strict=True)
        ]
        + [Placed(bed.start, bed.length, bed.profile()) for bed in placed_music],
        layout.total,
        rate,
    )

    def read(index: int) -> Samples:
        line = levels[index]
        return _read(segments[index], rate)[line.first : line.stop]

    names = chapter_files(chapters, chapter_dir)
    with contextlib.ExitStack() as outputs:
        episode = outputs.enter_context(atomic_path(output))
        encoded = encode_episode(
            EncodeInput(
                levels,
                layout.starts,
                layout.gaps,
                read,
                rate,
                placed_music,
                layout.trail,
            ),
            loudness,
            episode,
            options,
            progress,
        )
        if names:
            temps = [outputs.enter_context(atomic_path(name)) for name in names]
            _cut_chapters(episode, layout, rate, temps)
    if measurements is not None:
        _keep(segments, levels, encoded.levels, fresh, measurements)
        _keep_music(placed_music, encoded.music, measured_music, measurements)
    result = timeline(segments, levels, encoded.gains, chapters, layout, rate, names)
    if chapter_dir is not None:
        _remove_stale_chapters(chapter_dir, set(names))
    log.info(
        "Assembled %d lines into %s: %s, %d chapters, %.1f LUFS, %.1f dBTP (%s)",
        len(segments),
        output,
        clock(result.duration),
        len(result.chapters),
        encoded.loudness.integrated,
        encoded.loudness.true_peak,
        {"whole episode": "measured", "new lines": "new lines measured"}.get(
            encoded.checked, "predicted from earlier renders"
        ),
    )
    return result


def _measure(
    segments: Sequence[Segment],
    rate: int,
    options: AssembleOptions,
    store: MeasurementStore | None,
    progress: Progress | None,
) -> tuple[list[LineLevels], set[str]]:
    """Every line's levels: kept ones where they suit these settings, the rest measured now
    (each distinct line once; their names are returned too, to be kept after the encode)."""
    target, ceiling = options.lufs, options.ceiling
    known: dict[str, LineLevels] = {}
    missing: dict[str, Segment] = {}
    for segment in segments:
        name = _identity(segment)
        if name in known or name in missing:
            continue
        stored = store.measurements(segment.key) if store is not None and segment.key else None
        found = LineLevels.from_json(stored) if stored is not None else None
        if found is not None and found.suits(rate, target, ceiling):
            known[name] = found
        else:
            missing[name] = segment
    total = sum(segment.duration for segment in missing.values())
    done = 0.0
    for name, segment in missing.items():
        if progress is not None:
            progress("measuring", done, total)
        known[name] = _analysed(_read(segment, rate), rate, target, ceiling)
        done += segment.duration
    if missing and progress is not None:
        progress("measuring", total, total)
    levels = [known[_identity(segment)] for segment in segments]
    for segment, line in zip(segments, levels, strict=True):
        if not line.measured:
            log.warning("Line %d (%s) is silent; it gets no time", segment.line.index, segment.path)
    log.debug("Measured %d lines, %d from earlier renders", len(missing), len(known) - len(missing))
    return levels, set(missing)


def _measure_music(
    music: Music | None,
    rate: int,
    options: AssembleOptions,
    store: MeasurementStore | None,
) -> tuple[Measured | None, Measured | None, set[str]]:
    """The intro's and outro's clips measured (the same file once) at the music's level,
    from `store` when kept there; the keys of those measured now are returned too."""
    if music is None:
        return None, None, set()
    target, ceiling = options.lufs + music.options.level, options.ceiling
    found: dict[str, Measured] = {}
    fresh: set[str] = set()
    for clip in (music.intro, music.outro):
        if clip is None or clip.key in found:
            continue
        path, key = clip.at(rate)
        what = f"the music {clip.source}"

        def read(path: Path = path, what: str = what) -> Samples:
            return _read_wav(path, rate, what)

        stored = store.measurements(key) if store is not None else None
        levels = LineLevels.from_json(stored) if stored is not None else None
        if levels is None or not levels.suits(rate, target, ceiling):
            levels = _analysed(read(), rate, target, ceiling)
            fresh.add(key)
        if not levels.measured:
            raise RenderError(f"The music {clip.source} is silent; give one with music in it.")

        def read_kept(read: Callable[[], Samples] = read, kept: LineLevels = levels) -> Samples:
            return read()[kept.first : kept.stop]

        found[clip.key] = Measured(key, levels, read_kept)
    intro = found[music.intro.key] if music.intro is not None else None
    outro = found[music.outro.key] if music.outro is not None else None
    return intro, outro, fresh


def _analysed(samples: Samples, rate: int, target: float, ceiling: float) -> LineLevels:
    """`samples` analysed, and read back as a later render will, so this render and the next
    come out the same."""
    found = LineLevels.from_json(analyse(samples, rate, target, ceiling).to_json())
    assert found is not None
    return found


def _keep_music(
    placed: Sequence[Bed],
    after: Sequence[LineLevels],
    fresh: set[str],
    store: MeasurementStore,
) -> None:
    """Keep the records of music measured now, or that the encode added to (once a clip)."""
    kept: set[str] = set()
    for bed, new in zip(placed, after, strict=True):
        if bed.key not in kept and (bed.key in fresh or new is not bed.levels):
            store.keep_measurements(bed.key, new.to_json())
            kept.add(bed.key)


def _spoken(layout: Layout, levels: Sequence[LineLevels]) -> list[tuple[int, int]]:
    """Each line's audible part (its kept part less the trimming margins) in the episode."""
    return [
        (start + line.lead, start + line.length - line.tail)
        for start, line in zip(layout.starts, levels, strict=True)
    ]


def _introduction(segments: Sequence[Segment]) -> int:
    """How many lines the narrator's introduction has: the lines before the first turn."""
    for index, segment in enumerate(segments):
        if segment.line.turn is not None:
            return index
    return len(segments)


def _keep(
    segments: Sequence[Segment],
    before: Sequence[LineLevels],
    after: Sequence[LineLevels],
    fresh: set[str],
    store: MeasurementStore,
) -> None:
    """Keep the records of lines measured now, or that the encode added to."""
    kept: set[str] = set()
    for segment, old, new in zip(segments, before, after, strict=True):
        name = _identity(segment)
        if segment.key and name not in kept and (name in fresh or new is not old):
            store.keep_measurements(segment.key, new.to_json())
            kept.add(name)


def _identity(segment: Segment) -> str:
    return segment.key or str(segment.path)


def _cut_chapters(episode: Path, layout: Layout, rate: int, files: Sequence[Path]) -> None:
    """One file per chapter, cut from the episode's frames at the chapter boundaries."""
    stream = read_stream(episode)
    scale = stream.format.sample_rate / rate
    starts = [round(boundary * scale) for boundary in layout.boundaries]
    ends = [*starts[1:], stream.samples]
    for path, start, end in zip(files, starts, ends, strict=True):
        cut(stream, min(start, stream.samples), min(end, stream.samples), path)


# --- reading segments ---------------------------------------------------------------------------


def _read_rate(segment: Segment) -> int:
    try:
        with wave.open(str(segment.path), "rb") as wav:
            return wav.getframerate()
    except (OSError, EOFError, wave.Error) as exc:
        raise _unusable(f"line {segment.line.index}", segment.path, exc) from exc


def _read(segment: Segment, rate: int) -> Samples:
    """The segment as float samples in [-1, 1) at `rate` (resampled if its engine differs)."""
    return _read_wav(segment.path, rate, f"line {segment.line.index}")


def _read_wav(path: Path, rate: int, what: str) -> Samples:
    """A mono 16-bit WAV as float samples in [-1, 1) at `rate` (resampled if it differs).

    Engines write mono 16-bit WAV, which the standard library reads without ffmpeg; only one
    piece is ever in memory (never the whole episode).
    """
    import numpy as np

    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, file_rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            data = wav.readframes(wav.getnframes())
    except (OSError, EOFError, wave.Error) as exc:
        raise _unusable(what, path, exc) from exc
    if channels != 1 or width != 2:
        raise _unusable(what, path, f"{channels} channels of {8 * width} bits, not mono 16-bit")
    samples: Samples = np.frombuffer(data, "<i2").astype(np.float64) / 32768.0
    if file_rate != rate:
        from scipy.signal import resample_poly  # type: ignore[import-untyped,unused-ignore]

        common = math.gcd(rate, file_rate)
        samples = resample_poly(samples, rate // common, file_rate // common)
    return samples


def _unusable(what: str, path: Path, reason: object) -> RenderError:
    return RenderError(
        f"Cannot use the audio of {what} ({path}): {reason}. Delete that file (or the whole "
        "cache folder) and render again to make it anew."
    )


def _remove_stale_chapters(folder: Path, keep: set[Path]) -> None:
    for path in folder.iterdir():
        if CHAPTER_FILE.match(path.name) and path not in keep:
            try:
                path.unlink()
            except OSError as exc:
                log.warning("Could not remove the old chapter file %s (%s)", path, exc.strerror)
            else:
                log.info("Removed the old chapter file %s", path.name)
