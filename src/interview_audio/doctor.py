"""`doctor`: whether this machine has what a render needs, as lines to paste into a bug report.

Each check gives a `Finding`. What a default render cannot do without (ffmpeg with the features
it uses, the engine voices.yaml chooses, which for `auto` means offline Kokoro, since `auto`
renders with it whenever Edge does not answer; a writable cache; a voices.yaml that loads) is a
failure that names its fix; everything else (Edge offline, another engine missing) is said but
fails nothing.
"""

from __future__ import annotations

import enum
import os
import platform
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import interview_audio
from interview_audio import __version__, ffmpeg
from interview_audio.errors import InterviewAudioError
from interview_audio.files import CACHE_ENV_VAR as CACHE_ENV
from interview_audio.files import check_writable, default_cache_dir
from interview_audio.synthesis.engines import engine_plugins, selftest
from interview_audio.synthesis.engines.base import EngineOptions
from interview_audio.voices.load import load_voices
from interview_audio.voices.model import Voice, VoicesConfig

# What `auto` falls back to offline, so what a default render needs.
OFFLINE_ENGINE = "kokoro"


class Outcome(enum.Enum):
    OK = "ok"
    NO = "no"  # not there, and a default render does not need it
    FAIL = "FAIL"  # a default render needs it


@dataclass(frozen=True)
class Finding:
    """One line of the report: what was checked, how it went, and the detail or the fix."""

    name: str
    outcome: Outcome
    detail: str


def diagnose(voices: Path | None = None, cache_dir: Path | None = None) -> Iterator[Finding]:
    """Every check, one at a time (the engines take seconds: a caller can show each as it
    comes)."""
    yield Finding(
        "python",
        Outcome.OK,
        f"{platform.python_version()} ({sys.executable}) on {platform.platform(terse=True)}",
    )
    yield Finding(
        "interview-audio", Outcome.OK, f"{__version__} in {Path(interview_audio.__file__).parent}"
    )
    yield _ffmpeg()
    config: VoicesConfig | None = None
    try:
        config = load_voices(voices)
    except InterviewAudioError as exc:
        yield Finding("voices.yaml", Outcome.FAIL, str(exc))
    else:
        yield Finding("voices.yaml", Outcome.OK, f"{config.source}, engine {config.engine}")
    yield _cache(cache_dir)
    yield from _engines(config)


def _ffmpeg() -> Finding:
    try:
        info = ffmpeg.check()
    except InterviewAudioError as exc:
        return Finding("ffmpeg", Outcome.FAIL, str(exc))
    source = {"PATH": "the one on PATH", ffmpeg.ENV_VAR: f"named by {ffmpeg.ENV_VAR}"}.get(
        info.source, f"from {info.source}"
    )
    return Finding(
        "ffmpeg", Outcome.OK, f"{info.path}, version {info.version} ({source}), every feature"
    )


def _cache(cache_dir: Path | None) -> Finding:
    folder = cache_dir or default_cache_dir()
    try:
        check_writable(
            folder,
            "cache folder",
            f"set {CACHE_ENV} to a writable folder, or give --cache-dir to render",
        )
    except InterviewAudioError as exc:
        return Finding("cache", Outcome.FAIL, str(exc))
    files, size = _usage(folder)
    held = f"{size / 1e6:.1f} MB in {files} files" if files else "empty"
    return Finding("cache", Outcome.OK, f"{folder}, writable, {held}")


def _usage(folder: Path) -> tuple[int, int]:
    """Files under `folder` and their bytes."""
    files = size = 0
    for directory, _, names in os.walk(folder):
        for name in names:
            try:
                size += (Path(directory) / name).stat().st_size
            except OSError:
                continue
            files += 1
    return files, size


def _engines(config: VoicesConfig | None) -> Iterator[Finding]:
    chosen = config.engine if config is not None else "auto"
    needed = OFFLINE_ENGINE if chosen == "auto" else chosen
    settings = config.engine_settings if config is not None else ()
    options = EngineOptions(jobs=1, engine_settings=settings, preload=True)
    try:
        names = list(engine_plugins())
    except InterviewAudioError as exc:
        yield Finding("engines", Outcome.FAIL, str(exc))
        return
    for name in names:
        voice = config.narrator.get(name) if config is not None else None
        yield _engine(name, options, voice, needed, chosen)


def _engine(
    name: str, options: EngineOptions, voice: Voice | None, needed: str, chosen: str
) -> Finding:
    label = f"engine {name}"
    try:
        return Finding(label, Outcome.OK, selftest(name, options, voice))
    # A plugin's test may fail in any way (a third-party engine too): report it, go on.
    except Exception as exc:
        reason = (
            str(exc) if isinstance(exc, InterviewAudioError) else f"{type(exc).__name__}: {exc}"
        )
    if name != needed:
        return Finding(label, Outcome.NO, reason)
    why = (
        f"`auto` renders with {name} whenever Edge does not answer"
        if chosen == "auto"
        else f"voices.yaml chooses {name}"
    )
    return Finding(label, Outcome.FAIL, f"{reason} ({why})")
