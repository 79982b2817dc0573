"""interview-audio: a Chinese interview transcript in, a chaptered podcast episode out.

From Python::

    from interview_audio import RenderOptions, render

    report = render("examples/sample.txt", RenderOptions(engine="espeak"))
    print(report.folder / "episode.mp3")

The names below are loaded when first used, so `import interview_audio` stays light.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("interview-audio")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

if TYPE_CHECKING:
    from interview_audio.article.parse import read_script
    from interview_audio.article.script import Script
    from interview_audio.audio.music import MusicOptions
    from interview_audio.choices import ChapterMethod, ExecutorKind, IntroMode
    from interview_audio.errors import InterviewAudioError
    from interview_audio.finish import RenderReport
    from interview_audio.pipeline import (
        BatchReport,
        EpisodeResult,
        QuietReporter,
        Renderer,
        RenderOptions,
        Reporter,
        render,
        render_many,
    )
    from interview_audio.synthesis.executors.base import RayOptions

__all__ = [
    "BatchReport",
    "ChapterMethod",
    "EpisodeResult",
    "ExecutorKind",
    "InterviewAudioError",
    "IntroMode",
    "MusicOptions",
    "QuietReporter",
    "RayOptions",
    "RenderOptions",
    "RenderReport",
    "Renderer",
    "Reporter",
    "Script",
    "__version__",
    "read_script",
    "render",
    "render_many",
]

_HOMES = {
    "BatchReport": "interview_audio.pipeline",
    "ChapterMethod": "interview_audio.choices",
    "EpisodeResult": "interview_audio.pipeline",
    "ExecutorKind": "interview_audio.choices",
    "InterviewAudioError": "interview_audio.errors",
    "IntroMode": "interview_audio.choices",
    "MusicOptions": "interview_audio.audio.music",
    "QuietReporter": "interview_audio.pipeline",
    "RayOptions": "interview_audio.synthesis.executors.base",
    "RenderOptions": "interview_audio.pipeline",
    "RenderReport": "interview_audio.finish",
    "Renderer": "interview_audio.pipeline",
    "Reporter": "interview_audio.pipeline",
    "Script": "interview_audio.article.script",
    "read_script": "interview_audio.article.parse",
    "render": "interview_audio.pipeline",
    "render_many": "interview_audio.pipeline",
}


def __getattr__(name: str) -> Any:
    """Import a public name's module the first time the name is used."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'interview_audio' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
