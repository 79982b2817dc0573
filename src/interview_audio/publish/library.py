"""The output folder as a podcast: `feed.xml` and the library page `index.html`, rebuilt from
every episode folder's manifest (and the page also lists the articles that failed, from
`.failures.json`).

`rebuild_library` is the one call a render (or a batch of renders, once at its end) makes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from interview_audio.display import clock, counted
from interview_audio.files import write_text
from interview_audio.publish.failures import Failure, read_failures
from interview_audio.publish.feed import FEED_NAME, FeedOptions, channel_image, write_feed
from interview_audio.publish.manifest import Manifest, find_episodes
from interview_audio.publish.page import PAGE_NAME, chinese_date, file_size, template

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Library:
    """What a rebuild wrote: the feed, the library page, and how many episodes they list."""

    feed: Path
    page: Path
    episodes: int


def rebuild_library(output: Path, options: FeedOptions | None = None) -> Library:
    """Write `feed.xml` and `index.html` in `output` from the episode folders in it."""
    options = options or FeedOptions()
    feed = write_feed(output, options)
    episodes = find_episodes(output)
    page = write_library_page(output, episodes, options, read_failures(output))
    log.info("Rebuilt %s and %s (%s)", feed, page, counted(len(episodes), "episode"))
    return Library(feed, page, len(episodes))


def write_library_page(
    output: Path,
    episodes: list[tuple[Path, Manifest]],
    options: FeedOptions,
    failures: tuple[Failure, ...] = (),
) -> Path:
    """The library page: every episode, newest first, linking its page; then the articles
    that failed, with the reason."""
    path = output / PAGE_NAME
    items = [
        {
            "m": manifest,
            "href": quote(folder.name, safe="") + "/" + PAGE_NAME,
            "folder": quote(folder.name, safe=""),
            "date": chinese_date(manifest.date or manifest.published_at.date().isoformat()),
            "length": clock(manifest.duration),
            "size": file_size(manifest.audio_bytes),
            "people": "、".join(person.name for person in manifest.speakers),
        }
        for folder, manifest in episodes
    ]
    html = template("library.html").render(
        options=options,
        items=items,
        failures=[
            {"f": failure, "when": _local_time(failure.failed)} for failure in reversed(failures)
        ],
        feed=FEED_NAME,
        image=channel_image(output, options),
        feed_url=options.base_url + FEED_NAME if options.base_url else "",
    )
    write_text(path, html)
    return path


def _local_time(stamp: str) -> str:
    try:
        return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return stamp
