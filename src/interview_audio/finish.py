"""Finishing an episode: its synthesized lines become the episode folder.

assemble → tags → captions → chapters.json → script.yaml → the episode page → episode.json,
then `.render.json`, a record of what the folder was made from, so a later run skips an
episode that is complete and unchanged. The feed and library page are the batch's, rebuilt
once at its end (pipeline.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from interview_audio import __version__
from interview_audio.article.script import Script, dump_yaml
from interview_audio.audio.assemble import (
    AssembleOptions,
    ChapterSpan,
    EpisodeChapter,
    Timeline,
    assemble,
)
from interview_audio.audio.music import Music
from interview_audio.episode import Episode
from interview_audio.files import write_text
from interview_audio.publish.captions import transcript, write_chapters_json, write_srt, write_vtt
from interview_audio.publish.cover import Cover
from interview_audio.publish.manifest import MANIFEST_NAME, make_manifest, write_manifest
from interview_audio.publish.page import PAGE_NAME, write_episode_page
from interview_audio.publish.tags import EpisodeTags, write_tags
from interview_audio.synthesis.cache import Cache, cache_key
from interview_audio.synthesis.queue import Segment, SynthesisPlan
from interview_audio.voices.model import Pauses

log = logging.getLogger(__name__)

# Hidden in the episode folder; written last, so it exists only beside a finished episode. It
# says what the folder was made from; episode.json (manifest.py) says what the episode is.
MANIFEST = ".render.json"
_MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class FinishOptions:
    """How the episode is assembled and tagged (from flags and voices.yaml's pauses).

    `cover` is --cover; an episode without it is tagged with its article's cover link, which
    the script (part of the fingerprint) names, else with a cover drawn from the script as
    `artwork` says (the design and the font, cover.artwork_identity). `music` is the intro
    and outro music, if any.
    """

    pauses: Pauses = Pauses()
    assemble: AssembleOptions = AssembleOptions()
    split: bool = True
    cover: Path | None = None
    artwork: str = ""
    music: Music | None = None


@dataclass(frozen=True)
class RenderReport:
    """What a render did, for the summary the CLI prints.

    `skipped` is an episode found complete and unchanged: its duration, chapters and files
    come from the manifest and `timeline` is None. A dry run has no timeline and no files.
    """

    title: str
    folder: Path
    engine: str
    cast: tuple[str, ...]
    plan: SynthesisPlan
    timeline: Timeline | None = None
    files: tuple[Path, ...] = ()
    duration: float = 0.0
    chapters: tuple[ChapterSpan, ...] = ()
    skipped: bool = False
    notes: tuple[str, ...] = ()  # things the listener may miss, each said once in the summary
    outline: tuple[tuple[str, float], ...] = ()  # estimated chapter starts (dry run)
    estimate: float = 0.0  # estimated episode length in seconds


def planned_report(episode: Episode) -> RenderReport:
    """The report of an episode that is planned but not rendered (a dry run)."""
    return RenderReport(
        episode.title,
        episode.folder,
        episode.engine,
        episode.cast,
        episode.stats,
        outline=episode.outline,
        estimate=episode.estimate,
    )


def fingerprint(episode: Episode, engine_identity: str, options: FinishOptions) -> str:
    """A hash of everything the episode folder is made from: any change re-renders it."""
    cover = None
    if options.cover is not None:
        try:
            cover = hashlib.sha256(options.cover.read_bytes()).hexdigest()
        except OSError:
            cover = str(options.cover)
    facts = {
        "version": __version__,
        "lines": [
            [
                cache_key(engine_identity, line.voice, line.speech),
                line.speaker,
                line.text,
                line.turn,
                line.chapter,
            ]
            for line in episode.plan.lines
        ],
        "chapters": episode.plan.chapters,
        "script": dump_yaml(episode.script),
        "pauses": dataclasses.asdict(options.pauses),
        "assemble": dataclasses.asdict(options.assemble),
        "split": options.split,
        "cover": cover,
        "artwork": options.artwork,
    }
    if options.music is not None:
        facts["music"] = options.music.identity()
    canonical = json.dumps(facts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def finished(episode: Episode, stamp: str) -> RenderReport | None:
    """The report of an episode whose folder is complete and was made from `stamp`, or None."""
    try:
        document: Any = json.loads((episode.folder / MANIFEST).read_text(encoding="utf-8"))
        if document.get("format") != _MANIFEST_FORMAT or document.get("fingerprint") != stamp:
            return None
        files = tuple(episode.folder / name for name in document["files"])
        chapters = tuple(
            ChapterSpan(
                str(c["title"]),
                float(c["start"]),
                float(c["end"]),
                episode.folder / c["file"] if c.get("file") else None,
            )
            for c in document["chapters"]
        )
        duration = float(document["duration"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if not all(path.is_file() for path in files):
        return None
    return replace(
        planned_report(episode), files=files, duration=duration, chapters=chapters, skipped=True
    )


def finish_episode(
    episode: Episode,
    segments: Sequence[Segment],
    options: FinishOptions,
    *,
    stamp: str,
    cover: Cover | None = None,
    measurements: Cache | None = None,
    stage: Callable[[str], None] | None = None,
    progress: Callable[[str, float, float], None] | None = None,
) -> RenderReport:
    """Assemble, tag (with `cover`) and caption the episode into its folder; record `stamp`
    last. `measurements` keeps each line's loudness for the next assembly; `stage` hears each
    step and `progress` each pass of the assembly (step, seconds done, seconds in all)."""
    folder = episode.folder
    cover = cover or Cover(None)
    stage = stage or (lambda name: None)
    (folder / MANIFEST).unlink(missing_ok=True)
    stage("assembling")
    path = folder / "episode.mp3"
    timeline = assemble(
        segments,
        [EpisodeChapter(title, first) for title, first in episode.plan.chapters],
        options.pauses,
        path,
        options=options.assemble,
        chapter_dir=folder / "chapters" if options.split else None,
        measurements=measurements,
        progress=progress,
        music=options.music,
    )
    stage("tagging")
    base = episode_tags(episode.script, cover.path)
    write_tags(path, base, timeline.chapters)
    chapter_files = [span.file for span in timeline.chapters if span.file is not None]
    for number, span in enumerate(timeline.chapters, 1):
        if span.file is not None:
            write_tags(
                span.file,
                replace(base, title=span.title, track=(number, len(timeline.chapters)), lyrics=""),
            )
    write_vtt(timeline, folder / "episode.vtt")
    write_srt(timeline, folder / "episode.srt")
    write_chapters_json(timeline, folder / "chapters.json", episode.title)
    write_text(folder / "script.yaml", dump_yaml(episode.script))
    manifest = make_manifest(
        folder, episode.script, timeline, engine=episode.engine, cover=cover.path
    )
    write_episode_page(folder, manifest, transcript(timeline))
    # Last of the files the feed names: a feed built meanwhile (`serve` builds it on every
    # request) lists the episode only once its page, captions and audio are all there.
    write_manifest(folder, manifest)
    names = ("episode.vtt", "episode.srt", "chapters.json", "script.yaml", PAGE_NAME, MANIFEST_NAME)
    files = (path, *chapter_files, *(folder / name for name in names))
    report = replace(
        planned_report(episode),
        timeline=timeline,
        files=files,
        duration=timeline.duration,
        chapters=timeline.chapters,
        notes=(cover.note,) if cover.note else (),
    )
    _write_manifest(report, stamp)
    return report


def _write_manifest(report: RenderReport, stamp: str) -> None:
    folder = report.folder
    document = {
        "format": _MANIFEST_FORMAT,
        "fingerprint": stamp,
        "title": report.title,
        "duration": report.duration,
        "chapters": [
            {
                "title": span.title,
                "start": span.start,
                "end": span.end,
                "file": span.file.relative_to(folder).as_posix() if span.file else None,
            }
            for span in report.chapters
        ],
        "files": [path.relative_to(folder).as_posix() for path in report.files],
    }
    write_text(folder / MANIFEST, json.dumps(document, ensure_ascii=False, indent=1))


def episode_tags(script: Script, cover: Path | None) -> EpisodeTags:
    """ID3 facts from the script: speakers as artist, summary as comment, transcript as lyrics."""
    meta = script.meta
    summary = "\n".join(
        f"{number}. {topic.title}：{topic.text}".rstrip("：")
        for number, topic in enumerate(script.topics, 1)
    )
    transcript = "\n\n".join(f"{turn.speaker}：{turn.text}" for turn in script.turns)
    return EpisodeTags(
        title=meta.title,
        album=meta.title,
        artist="、".join(speaker.name for speaker in script.speakers),
        author=meta.author,
        date=meta.date,
        source_url=meta.source_url,
        comment=summary,
        lyrics=transcript,
        cover=cover,
    )
