"""Music: the user's intro and outro around the speech, lowered under the narrator's
introduction and faded. Off unless asked for (`--music`, or `[music]` in interview-audio.toml).

The intro plays `intro_seconds` on its own, goes down by `duck` dB as the narrator starts,
stays there under the introduction (the narrator's lines before the conversation) and fades
out over `fade` seconds after it; the outro follows the last line after a chapter's pause, for
at most `outro_seconds`, and fades out. Everything after the intro's lead moves by it: lines,
chapters, captions.

A music file is decoded once into the audio cache (and once more at each engine's sample rate
it is used with), and measured there like a line (levels.py), at the episode's loudness plus
`level` LU. Placed in the episode it is a `Bed`: its levels,
where it plays and its gain envelope, whose loudness profile enters the episode's loudness
and whose codec effect enters the encoder's bookkeeping like a line's (encode.py), so the
episode still lands on its loudness and true-peak targets.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from interview_audio.audio.levels import LineLevels
from interview_audio.audio.loudness import profile_step
from interview_audio.config import NUMBER, TEXT, config_table
from interview_audio.errors import InputError, RenderError
from interview_audio.ffmpeg import decode_pcm
from interview_audio.synthesis.cache import Cache
from interview_audio.synthesis.engines.base import Speech

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Samples = npt.NDArray[np.float64]

# Music is decoded at this rate, and at most this much of a file; the episode's stream rate
# is its speech engine's, and a copy at that rate is kept too.
MUSIC_RATE = 44100
MUSIC_SECONDS = 180.0
_FORMAT = 1
# The intro goes down over this long before the narrator starts; every piece of music starts
# with a fade this short, so a file cut in the middle of a note does not click.
DUCK_SECONDS = 0.6
EDGE_SECONDS = 0.02
# What each setting may be: (lowest, highest).
_RANGES = {
    "intro_seconds": (0.0, 60.0),
    "outro_seconds": (0.0, 120.0),
    "level": (-20.0, 6.0),
    "duck": (0.0, 40.0),
    "fade": (0.0, 30.0),
}


@dataclass(frozen=True)
class MusicOptions:
    """The music a render adds: files (none: no music) and how they are placed.

    `intro` plays before the narrator and under the introduction; `outro` after the last line
    (None: the intro's music again; `outro_seconds = 0` for none). `intro_seconds` of music
    alone before the first line; `level` is the music's loudness against the speech (LU);
    `duck` how far it goes down under speech (dB); `fade` how long it takes to fade out (s).
    """

    intro: Path | None = None
    outro: Path | None = None
    intro_seconds: float = 5.0
    outro_seconds: float = 12.0
    level: float = -3.0
    duck: float = 15.0
    fade: float = 3.0

    def __post_init__(self) -> None:
        for name in ("intro", "outro"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, Path(value).expanduser())
        for name, (low, high) in _RANGES.items():
            value = float(getattr(self, name))
            if not low <= value <= high:
                raise InputError(
                    f"The music setting {name} is {value:g}; give a value from {low:g} to {high:g}."
                )
            object.__setattr__(self, name, value)

    @property
    def wanted(self) -> bool:
        return self.intro is not None or (self.outro is not None and self.outro_seconds > 0)


def load_music_options(config: Path | None = None, intro: Path | None = None) -> MusicOptions:
    """The `[music]` table of `config` (default ./interview-audio.toml when it exists), its
    files relative to that file's folder; `intro` (--music) replaces its intro."""
    kinds = {
        field.name: TEXT if field.name in ("intro", "outro") else NUMBER
        for field in fields(MusicOptions)
    }
    values: dict[str, Any] = config_table(config, "music", kinds)
    folder = (config.parent if config is not None else Path()).expanduser()
    for name in ("intro", "outro"):
        if name in values:
            values[name] = folder / Path(values[name]).expanduser()
    if intro is not None:
        values["intro"] = intro
    return MusicOptions(**values)


def estimated_room(options: MusicOptions, pause: float) -> tuple[float, float]:
    """Seconds of music before the first line and after the last, as far as the settings
    say without the files (a dry run): the outro may be shorter if its file is."""
    lead = options.intro_seconds if options.intro is not None else 0.0
    outro = options.wanted and (options.outro or options.intro) is not None
    trail = pause + options.outro_seconds if outro and options.outro_seconds > 0 else 0.0
    return lead, trail


@dataclass(frozen=True, eq=False)
class MusicClip:
    """A music file decoded into the audio `cache` under `key`: mono 16-bit at MUSIC_RATE."""

    source: Path
    key: str
    cache: Cache

    def at(self, rate: int) -> tuple[Path, str]:
        """The clip as a WAV at `rate` and its cache key (under which its measurements are
        kept too), resampled from the decoded clip once per rate."""
        key = self.key if rate == MUSIC_RATE else _key({"clip": self.key, "rate": rate})
        entry = self.cache.get(key)
        if entry is None:
            decoded = self.cache.get(self.key)
            if decoded is None:
                raise RenderError(
                    f"The decoded music of {self.source} left the cache while rendering; "
                    "render again."
                )
            what = f"resample the music {self.source.name}"
            pcm = decode_pcm(decoded.path, rate=rate, seconds=MUSIC_SECONDS, what=what)
            entry = self.cache.put(key, Speech(pcm, rate, ()))
        return entry.path, key


@dataclass(frozen=True)
class Music:
    """The music of a render, decoded: the options, and the intro's and outro's clips."""

    options: MusicOptions
    intro: MusicClip | None
    outro: MusicClip | None

    def identity(self) -> dict[str, Any]:
        """What the episode's sound depends on (part of its fingerprint): the settings and the
        files' contents, not where they are."""
        settings = {name: getattr(self.options, name) for name in _RANGES}
        return {
            **settings,
            "intro": self.intro.key if self.intro else None,
            "outro": self.outro.key if self.outro else None,
        }


def load_music(options: MusicOptions, cache: Cache) -> Music | None:
    """Decode the music `options` name into `cache` (once per file); None when there is none.

    Raises InputError for a file that is missing or holds no audio, before anything is
    synthesized.
    """
    if not options.wanted:
        return None
    intro = decode_music(options.intro, cache) if options.intro is not None else None
    outro_file = options.outro or options.intro
    outro = None
    if outro_file is not None and options.outro_seconds > 0:
        outro = intro if outro_file == options.intro else decode_music(outro_file, cache)
    return Music(options, intro, outro)


def decode_music(source: Path, cache: Cache) -> MusicClip:
    """`source` decoded to mono PCM in the cache, keyed by its contents."""
    try:
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
    except OSError as exc:
        raise InputError(
            f"Cannot read the music file {source} ({exc.strerror}); check the path."
        ) from exc
    key = _key({"file": digest, "rate": MUSIC_RATE, "seconds": MUSIC_SECONDS})
    if cache.get(key) is None:
        try:
            pcm = decode_pcm(
                source, rate=MUSIC_RATE, seconds=MUSIC_SECONDS, what=f"decode {source}"
            )
        except RenderError as exc:
            raise InputError(
                f"The music file {source} could not be read as audio ({exc}); give an MP3, "
                "M4A, OGG, FLAC or WAV file."
            ) from exc
        if not any(pcm):
            raise InputError(f"The music file {source} is silent; give one with music in it.")
        cache.put(key, Speech(pcm, MUSIC_RATE, ()))
    return MusicClip(source, key, cache)


def _key(facts: dict[str, Any]) -> str:
    canonical = json.dumps({"music": _FORMAT, **facts}, sort_keys=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


@dataclass(frozen=True, eq=False)
class Bed:
    """Music placed in the episode (samples at the stream rate): the clip's levels (kept in
    the cache under `key`), where it starts, how much of its kept part plays, the gain
    envelope over that part (amplitude, linear between the `points`), its loudness against
    the speech (LU), and how to read the clip's kept samples."""

    key: str
    levels: LineLevels
    start: int
    length: int
    points: tuple[tuple[int, float], ...]
    level: float
    read: Callable[[], Samples]

    def envelope(self) -> Samples:
        """The gain over every sample of the part that plays."""
        import numpy as np

        xs, ys = zip(*self.points, strict=True)
        gains: Samples = np.interp(np.arange(self.length), xs, ys)
        return gains

    def profile(self) -> Samples:
        """The loudness profile (loudness.py) of the part that plays, with its envelope."""
        import numpy as np

        step = profile_step(self.levels.rate)
        steps = math.ceil(self.length / step)
        middles = np.minimum(np.arange(steps) * step + step // 2, self.length - 1)
        xs, ys = zip(*self.points, strict=True)
        shaped: Samples = self.levels.profile[:steps] * np.interp(middles, xs, ys) ** 2
        return shaped


@dataclass(frozen=True, eq=False)
class Measured:
    """A music clip at the stream rate: the cache key its measurements are kept under, its
    levels and how to read its kept part."""

    key: str
    levels: LineLevels
    read: Callable[[], Samples]


def room(
    music: Music,
    intro: Measured | None,
    outro: Measured | None,
    last_tail: int,
    pause: float,
    rate: int,
) -> tuple[int, int]:
    """The samples of music before the first line (the intro's lead) and after the last one
    (a pause and the outro); `last_tail` is the trimmed silence the last line ends with."""
    lead = round(music.options.intro_seconds * rate) if intro is not None else 0
    trail = 0
    if outro is not None:
        trail = max(0, round(pause * rate) - last_tail) + _outro_length(music, outro, rate)
    return lead, trail


def beds(
    music: Music,
    intro: Measured | None,
    outro: Measured | None,
    spoken: Sequence[tuple[int, int]],
    introduction: int,
    total: int,
) -> list[Bed]:
    """The intro and outro placed around the speech: `spoken` is each line's audible part
    (start, end) in the episode, `introduction` how many lines the narrator's introduction
    has, `total` the episode's length; all in samples at the stream rate."""
    options = music.options
    placed: list[Bed] = []
    if intro is not None and spoken:
        rate = intro.levels.rate
        speech = spoken[0][0]
        end = spoken[introduction - 1][1] if introduction else speech
        fade = round(options.fade * rate)
        length = min(intro.levels.length, end + fade)
        low = 10 ** (-options.duck / 20)
        edge = round(EDGE_SECONDS * rate)
        points = [(0, 0.0)]
        if speech - round(DUCK_SECONDS * rate) > edge:
            points += [(edge, 1.0), (speech - round(DUCK_SECONDS * rate), 1.0)]
        points += [(max(edge, speech), low), (max(edge, speech, end), low)]
        points += [(max(edge, speech, end) + fade, 0.0)]
        placed.append(_bed(intro, 0, length, points, options))
    if outro is not None:
        rate = outro.levels.rate
        length = _outro_length(music, outro, rate)
        fade = min(round(options.fade * rate), length // 2)
        edge = min(round(EDGE_SECONDS * rate), length // 2)
        points = [(0, 0.0), (edge, 1.0), (length - fade, 1.0), (length, 0.0)]
        placed.append(_bed(outro, total - length, length, points, options))
    return [bed for bed in placed if bed.length > 0]


def _outro_length(music: Music, outro: Measured, rate: int) -> int:
    return min(outro.levels.length, round(music.options.outro_seconds * rate))


def _bed(
    measured: Measured,
    start: int,
    length: int,
    points: list[tuple[int, float]],
    options: MusicOptions,
) -> Bed:
    """A bed; where the clip ends before its envelope does, it fades out over its last
    `fade` seconds (at most half of it) instead."""
    if length < points[-1][0]:
        fade = min(round(options.fade * measured.levels.rate), length // 2)
        at = [(x, y) for x, y in points if x < length - fade]
        value = _at(points, length - fade)
        points = [*at, (length - fade, value), (length, 0.0)]
    return Bed(
        measured.key,
        measured.levels,
        start,
        length,
        tuple(_rising(points)),
        options.level,
        measured.read,
    )


def _at(points: Sequence[tuple[int, float]], x: int) -> float:
    import numpy as np

    xs, ys = zip(*points, strict=True)
    return float(np.interp(x, xs, ys))


def _rising(points: Sequence[tuple[int, float]]) -> list[tuple[int, float]]:
    """The points with every x at least the one before (interpolation needs them in order)."""
    kept: list[tuple[int, float]] = []
    for x, y in points:
        kept.append((max(x, kept[-1][0]) if kept else x, y))
    return kept
