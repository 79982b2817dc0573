"""`watch`: a folder of saved articles becomes the podcast, unattended.

Each new or changed article is rendered on its own, one at a time, once its file has stopped
changing, and the feed and library page are rebuilt as soon as its episode is complete. A
deleted article leaves its episode; one that fails is listed on the library page with the
reason (`publish/failures.py`) and tried again only when its file changes.

Two threads. watchdog's observer (inotify, FSEvents, ReadDirectoryChangesW, or polling a
network drive with `poll`) only hands paths to a queue. The thread that calls `run` waits until
a file's size and modification time have held still for `settle` seconds, then renders it with
the one `Renderer` it keeps, so the engine is loaded once, nothing is imported or rendered on
the observer's thread, and Ctrl-C stops a render exactly as it stops `render`.

At start the folder is caught up with the output: every article is planned and the ones whose
episode is complete and made from the same script, voices and options (its `.render.json`) are
skipped, so only what changed while the watcher was stopped is rendered.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from interview_audio.display import clock, counted
from interview_audio.episode import Episode
from interview_audio.errors import InputError, InterviewAudioError
from interview_audio.files import FolderLock
from interview_audio.pipeline import (
    EpisodeResult,
    QuietReporter,
    Renderer,
    RenderOptions,
    find_articles,
    is_article,
)
from interview_audio.publish.failures import Failure, read_failures, write_failures
from interview_audio.publish.library import rebuild_library

log = logging.getLogger(__name__)

# Seconds a file's size and modification time must hold still before it is rendered: long
# enough for an editor's save or a sync client's download, short next to any render.
SETTLE = 2.0
# Held in the output folder while a watcher runs (hidden: serve never hands it out).
LOCK_NAME = ".watch.lock"
# Seconds between two looks at the folder with `poll` (network drives send no events).
POLL_INTERVAL = 2.0

_Signature = tuple[int, int] | None  # (size, mtime_ns), None while the file is missing


@dataclass
class _Pending:
    """A path seen changing: how it looked last, and since when (time.monotonic)."""

    signature: _Signature
    since: float


class Watcher:
    """Renders each new or changed article of `folder` into `options.output` as it settles.

    Loads voices.yaml and the engine when made (errors are raised here, before anything is
    watched); `run` then catches up and watches until `stop` or Ctrl-C.
    """

    def __init__(
        self,
        folder: Path,
        options: RenderOptions,
        *,
        poll: bool = False,
        settle: float | None = None,
        poll_interval: float = POLL_INTERVAL,
    ) -> None:
        if not folder.is_dir():
            raise InputError(
                f"{folder} is not a folder: give the folder your articles are saved in."
            )
        self.folder = folder.absolute()
        self.output = options.output
        self.settle = SETTLE if settle is None else settle
        # Two watchers rendering into one folder would render each article twice and replace
        # each other's files: the second is refused before it loads anything.
        self._lock = FolderLock(self.output, LOCK_NAME)
        if not self._lock.acquire():
            raise InputError(
                f"Another watcher (process {self._lock.holder()}) is rendering into "
                f"{self.output}: stop it first, or give this one another -o folder."
            )
        try:
            self.renderer = Renderer(replace(options, fail_fast=False, dry_run=False), _Log())
        except BaseException:
            self._lock.release()
            raise
        self.output.mkdir(parents=True, exist_ok=True)
        self._observer: BaseObserver = (
            PollingObserver(timeout=poll_interval) if poll else Observer()
        )
        self._observer.schedule(_Inbox(self), str(self.folder), recursive=True)
        self._inbox: queue.SimpleQueue[Path | None] = queue.SimpleQueue()
        self._pending: dict[Path, _Pending] = {}
        self._failures = {failure.article: failure for failure in read_failures(self.output)}
        self._stop = threading.Event()
        # Set once what changed while the watcher was stopped is rendered.
        self.caught_up = threading.Event()

    def run(self) -> None:
        """Catch up with what changed while stopped, then render each change as it settles,
        until `stop` (or KeyboardInterrupt, which drops the render under way as `render` does)."""
        try:
            self._observer.start()  # watching from here on: nothing is missed while catching up
        except OSError as exc:
            raise InputError(
                f"Cannot watch {self.folder} ({exc}): on a network drive, or with more folders "
                "than the system lets one program watch, add --poll."
            ) from exc
        how = " (polling)" if isinstance(self._observer, PollingObserver) else ""
        log.info("Watching %s%s; episodes go to %s.", self.folder, how, self.output)
        try:
            backlog = self._queue_existing()
            while not self._stop.is_set():
                self._drain()
                path = self._next_settled()
                if path is not None:
                    self._handle(path)
                    continue
                if not self.caught_up.is_set() and not backlog & self._pending.keys():
                    # Written once after the catch-up, even when nothing had changed.
                    self._publish()
                    self.caught_up.set()
                    log.info("Caught up; waiting for new or changed articles.")
                self._wait_for_changes()
        finally:
            self._observer.stop()
            self._observer.join(timeout=10)
            self._lock.release()

    def stop(self) -> None:
        """Stop `run` after the render under way (any thread may call this)."""
        self._stop.set()
        self._inbox.put(None)

    def changed(self, path: Path) -> None:
        """A path under the folder changed (called on the observer's thread: only queues it)."""
        self._inbox.put(path)

    def _queue_existing(self) -> set[Path]:
        """Every article as it is now, in order, into the queue (each already settled unless
        it changes); failures of articles that are gone are dropped. Returns the articles."""
        gone = [key for key in self._failures if not (self.folder / key).is_file()]
        for key in gone:
            log.info("%s failed before and is gone; it leaves the library page.", key)
            del self._failures[key]
        if gone:
            write_failures(self.output, self._failures.values())
        articles = find_articles(self.folder, self.output)
        log.info("Catching up with %s in %s", counted(len(articles), "article"), self.folder)
        settled = time.monotonic() - self.settle
        for path in articles:
            self._pending[path] = _Pending(_signature(path), settled)
        return set(articles)

    def _wait_for_changes(self) -> None:
        """Block until a change arrives (with changes pending, a moment at most)."""
        timeout = min(0.25, self.settle / 4) if self._pending else 1.0
        try:
            self._note(self._inbox.get(timeout=timeout))
        except queue.Empty:
            return

    def _drain(self) -> None:
        while True:
            try:
                self._note(self._inbox.get_nowait())
            except queue.Empty:
                return

    def _note(self, path: Path | None) -> None:
        """Queue `path` (or the articles in a folder that came or went) and restart its clock."""
        if path is None:
            return
        if path.is_dir():
            inside = find_articles(path, self.output)
            found = [article for article in inside if is_article(article, self.folder, self.output)]
        elif is_article(path, self.folder, self.output):
            found = [path]
        elif not path.exists():
            found = [known for known in self._known() if path in known.parents]
        else:
            found = []
        now = time.monotonic()
        for article in found:
            self._pending.pop(article, None)  # to the back of the queue
            self._pending[article] = _Pending(_signature(article), now)

    def _known(self) -> list[Path]:
        return [*self.renderer.articles(), *(self.folder / key for key in self._failures)]

    def _next_settled(self) -> Path | None:
        """The first queued path that has not changed for `settle` seconds, taken off the
        queue; a path still changing has its clock restarted."""
        now = time.monotonic()
        for path, pending in list(self._pending.items()):
            signature = _signature(path)
            if signature != pending.signature:
                self._pending[path] = _Pending(signature, now)
            elif now - pending.since >= self.settle:
                del self._pending[path]
                return path
        return None

    def _handle(self, path: Path) -> None:
        if not path.is_file():
            self._deleted(path)
        else:
            self._render(path)

    def _render(self, path: Path) -> None:
        key = self._key(path)
        signature = _signature(path)
        failure = self._failures.get(key)
        if failure is not None and (failure.size, failure.mtime_ns) == signature:
            log.debug("%s is unchanged since it failed; not tried again", key)
            return
        started = time.monotonic()
        try:
            result = self.renderer.render([path], publish=False).results[0]
        except InterviewAudioError as exc:  # not about one line: a full disk, a lost engine
            result = EpisodeResult(path, error=exc)
        if result.error is not None:
            self._failed(key, signature, result.error)
            return
        report = result.report
        assert report is not None
        cleared = self._failures.pop(key, None) is not None
        if cleared:
            write_failures(self.output, self._failures.values())
        if report.skipped and not cleared:
            log.debug("%s: complete and unchanged", key)
            return
        self._publish()
        if report.skipped:
            log.info("%s is fine again: its episode %s is complete", key, report.folder.name)
            return
        log.info(
            "✓ %s → %s (%s, %s): in the feed %.1f s after the file settled",
            key,
            report.folder.name,
            clock(report.duration),
            counted(len(report.chapters), "chapter"),
            time.monotonic() - started,
        )

    def _failed(self, key: str, signature: _Signature, error: InterviewAudioError) -> None:
        reason = str(error).replace(f"{self.folder}/", "").removeprefix(f"{key}: ")
        log.warning("✗ %s: %s It is tried again when the file changes.", key, reason)
        size, mtime_ns = signature or (0, 0)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        self._failures[key] = Failure(key, reason, now, size, mtime_ns)
        write_failures(self.output, self._failures.values())
        self._publish()

    def _deleted(self, path: Path) -> None:
        key = self._key(path)
        folder = self.renderer.forget(path)
        if self._failures.pop(key, None) is not None:
            write_failures(self.output, self._failures.values())
            self._publish()
            log.info("%s was deleted; it leaves the library page's failures.", key)
        elif folder is not None:
            log.info(
                "%s was deleted; its episode %s stays in the feed (to remove it, delete that "
                "folder and run `interview-audio feed %s`).",
                key,
                folder,
                self.output,
            )

    def _publish(self) -> None:
        """Rebuild feed.xml and the library page (each written whole, then renamed)."""
        try:
            rebuild_library(self.output, self.renderer.feed)
        except InterviewAudioError as exc:
            log.error("Cannot rebuild the feed: %s", exc)

    def _key(self, path: Path) -> str:
        return path.relative_to(self.folder).as_posix()


class _Inbox(FileSystemEventHandler):
    """Runs on watchdog's thread: every path an event names goes to the watcher's queue."""

    def __init__(self, watcher: Watcher) -> None:
        self._watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        if event.is_directory and event.event_type == "modified":
            return  # a file in it changed: that file has its own event
        for raw in (event.src_path, event.dest_path):
            if raw:
                self._watcher.changed(Path(_text(raw)))


class _Log(QuietReporter):
    """What the watcher says while it renders: which article, and how much is new."""

    def started(self, engine: str, episodes: Sequence[Episode]) -> None:
        for episode in episodes:
            stats = episode.stats
            log.info(
                "Rendering %s with %s: %s, %d to synthesize",
                episode.source.name,
                engine,
                counted(stats.lines, "line"),
                stats.new,
            )

    def episode_done(self, result: EpisodeResult) -> None:
        if result.report is not None and result.report.notes:
            for note in result.report.notes:
                log.info("  Note: %s", note)


def _signature(path: Path) -> _Signature:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns


def _text(raw: str | bytes) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw
