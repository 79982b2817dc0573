"""The episode manifest: `episode.json`, the facts about a rendered episode in its folder.

The feed and the library page are rebuilt from every episode folder in the output folder, long
after the article was parsed; they read these facts (title, date, summary, speakers, duration,
files) from the manifest instead of parsing the article again. Written last in a render, so a
folder with a manifest holds a finished episode.
"""

from __future__ import annotations

import json
import logging
import shutil
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from interview_audio.article.script import Role, Script
from interview_audio.audio.assemble import Timeline
from interview_audio.errors import InputError, RenderError
from interview_audio.files import atomic_path, write_text

log = logging.getLogger(__name__)

MANIFEST_NAME = "episode.json"
MANIFEST_VERSION = 1
AUDIO_NAME = "episode.mp3"
LANGUAGE = "zh-cn"
# An article that gives a day and no time is published at midnight, China time.
ARTICLE_TIMEZONE = timezone(timedelta(hours=8))
_GUID_NAMESPACE = uuid.UUID("5c1c53a4-5b0e-4d3f-9a47-0d6f6a0e8b31")


@dataclass(frozen=True)
class Person:
    """A speaker of the conversation and their role (host or guest)."""

    name: str
    role: str


@dataclass(frozen=True)
class TopicEntry:
    """One item of the article's summary."""

    title: str
    text: str


@dataclass(frozen=True)
class ChapterEntry:
    """A chapter in episode seconds and its own MP3 (path relative to the folder), if any."""

    title: str
    start: float
    end: float
    file: str | None = None
    bytes: int | None = None


@dataclass(frozen=True)
class Manifest:
    """What the feed and the library need to know about one episode folder.

    `guid` stays the same when the same article is rendered again (from its source URL, else
    its title and date); `published` is the article's date (ISO 8601), else the first render's
    time; `rendered` is this render's time (UTC). Paths are relative to the episode folder.
    """

    guid: str
    title: str
    author: str
    date: str
    published: str
    rendered: str
    source_url: str
    summary: tuple[TopicEntry, ...]
    speakers: tuple[Person, ...]
    duration: float
    audio: str
    audio_bytes: int
    chapters: tuple[ChapterEntry, ...]
    captions_vtt: str
    captions_srt: str
    chapters_json: str
    cover: str | None
    engine: str
    language: str = LANGUAGE
    version: int = MANIFEST_VERSION

    @property
    def published_at(self) -> datetime:
        return datetime.fromisoformat(self.published)


def published_time(date: str, time: str = "") -> datetime:
    """When the article was published: its date and time, in the zone it names, else this
    machine's (the user's) zone; a date alone is midnight, China time."""
    if not time:
        return datetime.fromisoformat(date).replace(tzinfo=ARTICLE_TIMEZONE)
    moment = datetime.fromisoformat(f"{date}T{time}")
    return moment if moment.tzinfo is not None else moment.astimezone()


def episode_guid(script: Script) -> str:
    """A stable id: the same article gives the same guid however often it is rendered."""
    meta = script.meta
    key = meta.source_url or f"{meta.title}\n{meta.date}"
    return str(uuid.uuid5(_GUID_NAMESPACE, key))


def make_manifest(
    folder: Path,
    script: Script,
    timeline: Timeline,
    *,
    engine: str,
    cover: Path | None = None,
    now: datetime | None = None,
) -> Manifest:
    """The manifest of a finished episode folder (the cover is copied beside it); written by
    `write_manifest` after every file it names, since the feed lists a folder once it has one."""
    now = now or datetime.now(UTC)
    meta = script.meta
    previous = _previous(folder)
    if meta.date:
        published = published_time(meta.date, meta.time)
    elif previous is not None:
        published = previous.published_at
    else:
        published = now
    manifest = Manifest(
        guid=episode_guid(script),
        title=meta.title,
        author=meta.author,
        date=meta.date,
        published=published.isoformat(),
        rendered=now.isoformat(timespec="seconds"),
        source_url=meta.source_url,
        summary=tuple(TopicEntry(topic.title, topic.text) for topic in script.topics),
        speakers=tuple(
            Person(speaker.name, speaker.role.value)
            for speaker in script.speakers
            if speaker.role is not Role.NARRATOR
        ),
        duration=round(timeline.duration, 3),
        audio=AUDIO_NAME,
        audio_bytes=_size(folder / AUDIO_NAME),
        chapters=tuple(
            ChapterEntry(
                span.title,
                round(span.start, 3),
                round(span.end, 3),
                span.file.relative_to(folder).as_posix() if span.file else None,
                _size(span.file) if span.file else None,
            )
            for span in timeline.chapters
        ),
        captions_vtt="episode.vtt",
        captions_srt="episode.srt",
        chapters_json="chapters.json",
        cover=_copy_cover(cover, folder),
        engine=engine,
    )
    return manifest


def write_manifest(folder: Path, manifest: Manifest) -> None:
    """Write `episode.json`: from now on the feed and library list the folder."""
    text = json.dumps(asdict(manifest), ensure_ascii=False, indent=2) + "\n"
    write_text(folder / MANIFEST_NAME, text)


def read_manifest(folder: Path) -> Manifest:
    """The manifest of an episode folder; InputError when it is missing or unreadable."""
    path = folder / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"{folder} has no {MANIFEST_NAME}: render the episode again.") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"Cannot read {path} ({exc}): render the episode again.") from exc
    try:
        return _from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(
            f"{path} is not an episode manifest this version understands ({exc}): render the "
            "episode again."
        ) from exc


def find_episodes(output: Path) -> list[tuple[Path, Manifest]]:
    """Every episode folder directly under `output` with a readable manifest, newest first.

    Folders whose manifest cannot be read are skipped with a warning, so one broken folder
    does not take the feed down with it.
    """
    found: list[tuple[Path, Manifest]] = []
    if not output.is_dir():
        return found
    for folder in sorted(output.iterdir()):
        if not (folder / MANIFEST_NAME).is_file() or folder.name.startswith("."):
            continue
        try:
            found.append((folder, read_manifest(folder)))
        except InputError as exc:
            log.warning("Skipping %s: %s", folder.name, exc)
    found.sort(key=lambda item: (item[1].published_at, item[1].rendered), reverse=True)
    return found


def _from_dict(data: dict[str, Any]) -> Manifest:
    if data.get("version") != MANIFEST_VERSION:
        raise ValueError(f"version {data.get('version')!r}")
    fields = dict(data)
    fields["summary"] = tuple(TopicEntry(**item) for item in data["summary"])
    fields["speakers"] = tuple(Person(**item) for item in data["speakers"])
    fields["chapters"] = tuple(ChapterEntry(**item) for item in data["chapters"])
    manifest = Manifest(**fields)
    manifest.published_at  # noqa: B018 - validates the date now, not when the feed is built
    return manifest


def _previous(folder: Path) -> Manifest | None:
    try:
        return read_manifest(folder)
    except InputError:
        return None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError as exc:
        raise RenderError(
            f"Cannot read {path} ({exc.strerror}); render the episode again."
        ) from exc


def _copy_cover(cover: Path | None, folder: Path) -> str | None:
    """Copy the cover image into the folder, so the page and the feed can show it."""
    if cover is None:
        return None
    suffix = cover.suffix.lower()
    name = "cover" + (".jpg" if suffix == ".jpeg" else suffix)
    try:
        with atomic_path(folder / name) as temp:
            shutil.copyfile(cover, temp)
    except OSError as exc:
        raise InputError(
            f"Cannot copy the cover {cover} ({exc.strerror}); check the path."
        ) from exc
    return name
