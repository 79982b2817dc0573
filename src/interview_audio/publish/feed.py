"""The podcast feed: `feed.xml` in the output folder, one item per episode folder.

RSS 2.0 with the iTunes namespace (feedgen's podcast extension) and the Podcasting 2.0
namespace (a small feedgen extension here: chapters, transcripts, persons, the channel guid).
Everything an item says comes from the episode's manifest and the files beside it; the
enclosure length is the file's size on disk when the feed is built.

Feed settings (title, author, image, base URL…) belong to the output folder, not to voices: a
`[feed]` table in `interview-audio.toml`, overridden by flags. Without an image set there, the
show's cover is drawn (artwork.py: 3000 px, under 512 KB, as Apple Podcasts asks) when the
feed is written, and drawn again only when what it shows changes. Without a base URL the links are
relative, which is right for `serve` (it fills in the address it is served on) but not for a
podcast app reading the file from elsewhere; the feed command says so.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from interview_audio import __version__
from interview_audio.config import BOOL, CONFIG_NAME, TEXT, config_table
from interview_audio.display import whole_seconds
from interview_audio.errors import InputError
from interview_audio.files import atomic_path
from interview_audio.publish.artwork import (
    SHOW_MAX_BYTES,
    SHOW_SIZE,
    Artwork,
    draw,
    drawn_stamp,
    stamp,
)
from interview_audio.publish.fonts import find_cjk_font
from interview_audio.publish.manifest import Manifest, find_episodes

log = logging.getLogger(__name__)

FEED_NAME = "feed.xml"
PODCAST_NS = "https://podcastindex.org/namespace/1.0"
ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
# The Podcasting 2.0 spec's namespace for channel guids (uuidv5 of the feed URL).
_PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")
CHAPTERS_TYPE = "application/json+chapters"
TRANSCRIPT_TYPES = {".vtt": "text/vtt", ".srt": "application/x-subrip"}
# feedgen (and Apple) take JPEG or PNG images named .jpg or .png.
_IMAGE_SUFFIXES = (".jpg", ".png")
# The show's cover in the output folder: the [feed] image copied, or one drawn.
SHOW_COVER = "podcast-cover"
SHOW_LABEL = "播客"


@dataclass(frozen=True)
class FeedOptions:
    """The channel's facts and where the files are published (`base_url`, ending in /)."""

    title: str = "中文访谈"
    description: str = "由 interview-audio 把中文访谈文章做成的播客节目。"
    author: str = "interview-audio"
    email: str = ""
    link: str = ""
    image: str = ""
    language: str = "zh-cn"
    category: str = "Society & Culture"
    explicit: bool = False
    base_url: str = ""

    def with_base_url(self, base_url: str) -> FeedOptions:
        return replace(self, base_url=normalize_base_url(base_url))


def normalize_base_url(url: str) -> str:
    """An http(s) URL ending in / (so relative paths join under it); InputError otherwise."""
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(
            f"The base URL {url!r} is not an http(s) address: give one like "
            "https://example.com/podcast/."
        )
    return url if url.endswith("/") else url + "/"


def load_feed_options(
    config: Path | None = None, overrides: Mapping[str, Any] | None = None
) -> FeedOptions:
    """Feed settings from the `[feed]` table of `config` (default: ./interview-audio.toml when
    it exists), then `overrides` (flags; None values are ignored)."""
    kinds = {field.name: TEXT for field in fields(FeedOptions)} | {"explicit": BOOL}
    values = config_table(config, "feed", kinds)
    values.update({key: value for key, value in (overrides or {}).items() if value is not None})
    options = FeedOptions(**values)
    return options.with_base_url(options.base_url)


def build_feed(output: Path, options: FeedOptions) -> bytes:
    """The RSS document for every episode folder under `output`, newest first."""
    from feedgen.feed import FeedGenerator

    episodes = find_episodes(output)
    base = options.base_url
    generator = FeedGenerator()
    generator.load_extension("podcast")
    generator.register_extension("podcastindex", _PodcastIndex, _PodcastIndexEntry)
    generator.title(options.title)
    generator.description(options.description)
    generator.language(options.language)
    if base:  # before the page link: feedgen writes the last link it was given as <link>
        generator.link(href=_url(base, "feed.xml"), rel="self", type="application/rss+xml")
    generator.link(href=options.link or _url(base, "index.html"))
    if base:
        generator.podcastindex.guid = str(uuid.uuid5(_PODCAST_GUID_NAMESPACE, _no_scheme(base)))
    generator.generator("interview-audio", __version__)
    generator.podcast.itunes_author(options.author)
    generator.podcast.itunes_category(options.category)
    generator.podcast.itunes_explicit("yes" if options.explicit else "no")
    generator.podcast.itunes_type("episodic")
    if options.email:
        generator.podcast.itunes_owner(name=options.author, email=options.email)
    image = _channel_image(output, options, episodes)
    if image:
        generator.podcast.itunes_image(image)
        generator.image(url=image, title=options.title, link=options.link or _url(base, ""))
    for folder, manifest in episodes:
        _add_item(generator, folder, manifest, base)
    document: bytes = generator.rss_str(pretty=True)
    return document


def write_feed(output: Path, options: FeedOptions) -> Path:
    """Write `feed.xml` into the output folder (atomically), with the show's cover drawn
    when none is set, and say what a podcast app needs."""
    path = output / FEED_NAME
    if not options.image:
        draw_show_cover(output, options)
    document = build_feed(output, options)
    with atomic_path(path) as temp:
        temp.write_bytes(document)
    if not options.base_url:
        log.debug(
            "%s has relative links: podcast apps need absolute ones. Set base_url in [feed] of "
            "%s (or --base-url), or use `interview-audio serve`, which fills them in.",
            path,
            CONFIG_NAME,
        )
    return path


def _add_item(generator: Any, folder: Path, manifest: Manifest, base: str) -> None:
    def url(name: str) -> str:
        return _url(base, f"{folder.name}/{name}")

    audio = folder / manifest.audio
    item = generator.add_entry(order="append")
    item.title(manifest.title)
    item.guid(manifest.guid, permalink=False)
    item.pubDate(manifest.published_at)
    item.link(href=url("index.html"))
    item.description(_description(manifest))
    item.enclosure(url(manifest.audio), str(audio.stat().st_size), "audio/mpeg")
    item.podcast.itunes_duration(_duration(manifest.duration))
    item.podcast.itunes_episode_type("full")
    if manifest.speakers:
        item.podcast.itunes_author("、".join(person.name for person in manifest.speakers))
    if manifest.cover and manifest.cover.endswith(_IMAGE_SUFFIXES):
        item.podcast.itunes_image(url(manifest.cover))
    extension: _PodcastIndexEntry = item.podcastindex
    extension.chapters = url(manifest.chapters_json)
    extension.transcripts = [
        (url(name), TRANSCRIPT_TYPES[Path(name).suffix], manifest.language)
        for name in (manifest.captions_vtt, manifest.captions_srt)
        if (folder / name).is_file()
    ]
    extension.persons = [(person.name, person.role) for person in manifest.speakers]


def _description(manifest: Manifest) -> str:
    if manifest.summary:
        return "\n".join(
            f"{number}. {topic.title}" + (f"：{topic.text}" if topic.text else "")
            for number, topic in enumerate(manifest.summary, 1)
        )
    names = "、".join(person.name for person in manifest.speakers)
    return f"{manifest.title}（对话：{names}）" if names else manifest.title


def _duration(seconds: float) -> str:
    """itunes:duration as H:MM:SS, whole seconds as every other place shows them."""
    total = whole_seconds(seconds)
    return f"{total // 3600}:{total % 3600 // 60:02d}:{total % 60:02d}"


def _url(base: str, path: str) -> str:
    return base + quote(path, safe="/")


def _no_scheme(url: str) -> str:
    parts = urlsplit(url)
    return (parts.netloc + parts.path).rstrip("/") + "/feed.xml"


def draw_show_cover(output: Path, options: FeedOptions) -> Path:
    """The show's cover drawn as `podcast-cover.jpg` in `output`: its title and author (the
    author left out while it is the default); kept while it shows the same."""
    byline = options.author if options.author != FeedOptions.author else ""
    art = Artwork(options.title, byline, SHOW_LABEL)
    font = find_cjk_font()
    path = output / f"{SHOW_COVER}.jpg"
    if drawn_stamp(path) != stamp(art, SHOW_SIZE, font):
        draw(art, path, size=SHOW_SIZE, font=font, max_bytes=SHOW_MAX_BYTES)
        log.info("Drew the show's cover %s", path)
    return path


def channel_image(output: Path, options: FeedOptions) -> str:
    """The show's cover relative to the output folder (or its URL), "" if there is none yet."""
    image = options.image
    if image.startswith(("http://", "https://")):
        return image
    suffix = ".png" if Path(image).suffix.lower() == ".png" else ".jpg"
    name = SHOW_COVER + suffix
    return name if (output / name).is_file() else ""


def _channel_image(
    output: Path, options: FeedOptions, episodes: list[tuple[Path, Manifest]]
) -> str:
    """The channel image URL: the configured one (a URL, or a file copied into the output
    folder), else the drawn one, else the newest episode's cover, else none."""
    image = options.image
    if image.startswith(("http://", "https://")):
        return image
    if image:
        source = Path(image).expanduser()
        if source.suffix.lower() not in (*_IMAGE_SUFFIXES, ".jpeg"):
            raise InputError(f"The feed image {image} must be a JPEG or PNG file.")
        name = SHOW_COVER + (".png" if source.suffix.lower() == ".png" else ".jpg")
        target = output / name
        if source.resolve() != target.resolve():
            try:
                with atomic_path(target) as temp:
                    shutil.copyfile(source, temp)
            except OSError as exc:
                raise InputError(f"Cannot copy the feed image {image} ({exc.strerror}).") from exc
        return _url(options.base_url, name)
    if (output / f"{SHOW_COVER}.jpg").is_file():
        return _url(options.base_url, f"{SHOW_COVER}.jpg")
    for folder, manifest in episodes:
        if manifest.cover and manifest.cover.lower().endswith(_IMAGE_SUFFIXES):
            return _url(options.base_url, f"{folder.name}/{manifest.cover}")
    return ""


class _PodcastIndex:
    """feedgen extension for the Podcasting 2.0 namespace, channel part: `podcast:guid`."""

    def __init__(self) -> None:
        self.guid = ""

    def extend_ns(self) -> dict[str, str]:
        return {"podcast": PODCAST_NS}

    def extend_rss(self, feed: Any) -> Any:
        if self.guid:
            from lxml import etree

            channel = feed[0]
            etree.SubElement(channel, f"{{{PODCAST_NS}}}guid").text = self.guid
        return feed

    def extend_atom(self, feed: Any) -> Any:
        return feed


class _PodcastIndexEntry:
    """feedgen extension for the Podcasting 2.0 namespace, item part: chapters, transcripts
    and persons."""

    def __init__(self) -> None:
        self.chapters = ""
        self.transcripts: list[tuple[str, str, str]] = []
        self.persons: list[tuple[str, str]] = []

    def extend_ns(self) -> dict[str, str]:
        return {"podcast": PODCAST_NS}

    def extend_rss(self, item: Any) -> Any:
        from lxml import etree

        if self.chapters:
            etree.SubElement(
                item, f"{{{PODCAST_NS}}}chapters", url=self.chapters, type=CHAPTERS_TYPE
            )
        for url, kind, language in self.transcripts:
            attributes = {"url": url, "type": kind, "language": language}
            if kind == "text/vtt":
                attributes["rel"] = "captions"
            etree.SubElement(item, f"{{{PODCAST_NS}}}transcript", **attributes)
        for name, role in self.persons:
            person = etree.SubElement(item, f"{{{PODCAST_NS}}}person", role=role, group="cast")
            person.text = name
        return item

    def extend_atom(self, entry: Any) -> Any:
        return entry
