"""Synthesis: every line of every episode spoken once, through the cache, by an executor."""

from __future__ import annotations

import atexit
import logging
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from pathlib import Path

from interview_audio.article.script import Role
from interview_audio.display import counted
from interview_audio.errors import (
    EngineError,
    EngineUnavailable,
    InterviewAudioError,
    SynthesisError,
)
from interview_audio.synthesis.cache import Cache, CachedAudio, cache_key
from interview_audio.synthesis.engines.base import Engine, SentenceTiming
from interview_audio.synthesis.executors import ExecutorOptions, open_executor
from interview_audio.synthesis.executors.base import Executor, LineJob
from interview_audio.voices.model import Voice

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Line:
    """The unit of synthesis: one paragraph of one turn (or of the narrator's intro).

    `turn` is the script turn index, or None for narrator lines outside the dialogue.
    `chapter` is the index of the chapter the line belongs to in the episode's chapter list.
    """

    index: int
    speaker: str
    role: Role
    voice: Voice
    text: str
    speech: str
    turn: int | None
    paragraph: int
    chapter: int


@dataclass(frozen=True)
class Segment:
    """A synthesized line: a cached WAV file (mono 16-bit) and its sentence timings.

    `key` is the line's cache key (empty for audio that is not a cache entry).
    """

    line: Line
    path: Path
    duration: float
    sentences: tuple[SentenceTiming, ...]
    cached: bool
    key: str = ""


@dataclass(frozen=True)
class SynthesisPlan:
    """What a render would do, for `--dry-run` and the progress bar: nothing is synthesized to
    find out.

    `characters` counts the speech text of every line, `new_characters` of the lines not in the
    cache; `cached + new == lines`. Identical lines are synthesized once, so the engine may be
    called fewer than `new` times.
    """

    lines: int
    characters: int
    cached: int
    new: int
    new_characters: int = 0


def describe(line: Line) -> str:
    """Where a line is, as a person finds it: the turn index `interview-audio script` prints,
    the paragraph counted from 1 within that turn."""
    if line.turn is None:
        return f"intro line {line.paragraph + 1}"
    return f"turn {line.turn} ({line.speaker}), paragraph {line.paragraph + 1}"


def plan_stats(lines: Sequence[Line], engine_identity: str, cache: Cache | None) -> SynthesisPlan:
    """Count the lines the cache already holds and the ones a render would synthesize."""
    known: dict[str, bool] = {}
    cached = new_characters = 0
    for line in lines:
        key = cache_key(engine_identity, line.voice, line.speech)
        if key not in known:
            known[key] = cache is not None and cache.get(key) is not None
        cached += known[key]
        new_characters += 0 if known[key] else len(line.speech)
    characters = sum(len(line.speech) for line in lines)
    return SynthesisPlan(len(lines), characters, cached, len(lines) - cached, new_characters)


def synthesize(
    lines: Sequence[Line],
    engine: Engine,
    cache: Cache | None,
    *,
    jobs: int | None = None,
    progress: Callable[[Segment], None] | None = None,
) -> list[Segment]:
    """Speak every line of one episode through the cache, on threads, in line order.

    Cache misses run on `jobs or engine.jobs` threads; identical (voice, speech) lines are
    spoken once. Each result is written to the cache by the thread that made it, so whatever
    finished survives a failure or an interrupt and the next run resumes from there.
    `progress` is called on the calling thread once per line as it completes (cache hits first).

    With `cache=None` nothing is reused or kept: the audio goes to a fresh scratch directory
    that is removed when the process exits. A long-lived caller that wants the disk back
    sooner passes `Cache(directory)` for a temporary directory it owns and removes itself.

    On the first failure no new line is started; lines already running finish and are cached,
    then a SynthesisError naming the failed line is raised. On KeyboardInterrupt lines not yet
    started are dropped, running ones are left to finish in the background, and it propagates.
    """
    store = cache if cache is not None else scratch_cache()
    executor = open_executor(
        "local", engine, _no_loader, store, ExecutorOptions(jobs=jobs or engine.jobs)
    )
    segments: list[Segment] = []

    def ready(episode: int, done: list[Segment]) -> None:
        segments.extend(done)

    queue = LineQueue(executor, cache, engine.identity, fail_fast=True)
    queue.add(lines)
    cancel = True
    try:
        queue.run(
            progress=None if progress is None else lambda _, segment: progress(segment),
            ready=ready,
        )
        cancel = False
    finally:
        executor.close(cancel=cancel)
    return segments


def _no_loader(cpus: int | None) -> Engine:
    raise AssertionError("the local executor uses the engine it was given")


@dataclass
class _Episode:
    lines: Sequence[Line]
    segments: list[Segment | None]
    missing: int
    failed: bool = False


class LineQueue:
    """One queue of lines across episodes, so one loaded engine and every slot of the executor
    stay busy until the last line of the last episode.

    Episodes are queued in the order they were added and their lines in order, so the first
    episode is ready first and can be assembled while the rest are synthesized. Identical
    (voice, speech) lines are spoken once, even across episodes. Cache hits are resolved
    before anything is scheduled; only misses reach the executor, which stores their audio.

    A line that fails (EngineError, or an engine bug) fails its episode: the episode's lines
    not yet started are dropped, the others go on. With `fail_fast`, or on an error that is
    not about a line (the cache cannot be written, the executor is lost), no new line starts,
    running ones finish, and the error is raised.
    """

    def __init__(
        self, executor: Executor, cache: Cache | None, identity: str, *, fail_fast: bool = False
    ) -> None:
        self._executor = executor
        self._cache = cache
        self._identity = identity
        self._fail_fast = fail_fast
        self._episodes: list[_Episode] = []
        # key -> every (episode, line index) that needs it, in queue order
        self._users: dict[str, list[tuple[int, int]]] = {}
        self._stop = threading.Event()

    def add(self, lines: Sequence[Line]) -> int:
        """Queue an episode's lines; returns the episode's number (counting from 0)."""
        number = len(self._episodes)
        self._episodes.append(_Episode(lines, [None] * len(lines), len(lines)))
        for index, line in enumerate(lines):
            key = cache_key(self._identity, line.voice, line.speech)
            self._users.setdefault(key, []).append((number, index))
        return number

    def stop(self) -> None:
        """Start no new line (any thread may call this); `run` returns once running ones end."""
        self._stop.set()

    def run(
        self,
        *,
        progress: Callable[[int, Segment], None] | None = None,
        ready: Callable[[int, list[Segment]], None] | None = None,
        failed: Callable[[int, InterviewAudioError], None] | None = None,
    ) -> None:
        """Synthesize every queued line. Callbacks run on the calling thread: `progress` once
        per line (cache hits first), `ready` once an episode has all its segments, in line
        order, and `failed` once for an episode that lost a line."""
        self._progress, self._ready, self._failed = progress, ready, failed
        if self._cache is not None:
            self._cache.prune_temp()
        for number, episode in enumerate(self._episodes):
            if not episode.lines and ready is not None:
                ready(number, [])
        missing: list[str] = []
        for key in self._users:
            audio = self._cache.get(key) if self._cache is not None else None
            if audio is None:
                missing.append(key)
            else:
                self._complete(key, audio, True)
        lines = sum(len(episode.lines) for episode in self._episodes)
        misses = sum(len(self._users[key]) for key in missing)
        log.info(
            "%d of %s from the cache; synthesizing %d with %s on %s",
            lines - misses,
            counted(lines, "line"),
            misses,
            self._identity,
            counted(self._executor.slots, f"{self._executor.name} slot"),
        )
        if missing:
            self._schedule(missing)

    def _schedule(self, keys: list[str]) -> None:
        """Keep the executor's slots full; start nothing new once told to stop."""
        queue = iter(keys)
        running: dict[Future[CachedAudio], str] = {}
        fatal: InterviewAudioError | None = None
        reason = ""

        def refill() -> None:
            while len(running) < self._executor.slots and not self._stop.is_set():
                key = next((k for k in queue if self._wanted(k)), None)
                if key is None:
                    return
                line = self._first_line(key)
                running[self._executor.submit(LineJob(key, line.speech, line.voice))] = key

        refill()
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                key = running.pop(future)
                try:
                    audio = future.result()
                except Exception as exc:
                    error = _line_error(self._first_line(key), exc)
                    if self._fail_fast or not isinstance(error, SynthesisError):
                        if fatal is None:
                            fatal, reason = error, str(exc)
                            self._stop.set()
                            log.info("%s; letting running lines finish, starting no more", error)
                        elif str(exc) == reason:  # the same cause (a stalled service): said once
                            log.info("Another line failed the same way: %s", error)
                        else:
                            log.warning("Another line failed too: %s", error)
                    else:
                        self._fail(key, error)
                    continue
                self._complete(key, audio, False)
            refill()
        if fatal is not None:
            raise fatal

    def _wanted(self, key: str) -> bool:
        return any(not self._episodes[number].failed for number, _ in self._users[key])

    def _first_line(self, key: str) -> Line:
        number, index = self._users[key][0]
        return self._episodes[number].lines[index]

    def _complete(self, key: str, audio: CachedAudio, cached: bool) -> None:
        for number, index in self._users[key]:
            episode = self._episodes[number]
            if episode.failed:
                continue
            segment = Segment(
                episode.lines[index], audio.path, audio.duration, audio.sentences, cached, key
            )
            episode.segments[index] = segment
            episode.missing -= 1
            if self._progress is not None:
                self._progress(number, segment)
            if episode.missing == 0 and self._ready is not None:
                self._ready(number, [s for s in episode.segments if s is not None])

    def _fail(self, key: str, error: InterviewAudioError) -> None:
        for number, _ in self._users[key]:
            episode = self._episodes[number]
            if episode.failed:
                continue
            episode.failed = True
            log.info("%s; its episode stops, the others go on", error)
            if self._failed is not None:
                self._failed(number, error)


def _line_error(line: Line, exc: Exception) -> InterviewAudioError:
    """Name the line an engine failed on; other project errors (a full disk, an engine that
    cannot run at all) pass unchanged and stop the whole run."""
    if isinstance(exc, InterviewAudioError) and (
        not isinstance(exc, EngineError) or isinstance(exc, EngineUnavailable)
    ):
        return exc
    detail = str(exc) if isinstance(exc, EngineError) else f"{type(exc).__name__}: {exc}"
    error = SynthesisError(f"{describe(line)}: {detail}")
    error.__cause__ = exc
    error.__suppress_context__ = True
    return error


def scratch_cache() -> Cache:
    """A fresh, empty cache for a run that must neither reuse nor keep audio."""
    root = Path(tempfile.mkdtemp(prefix="interview-audio-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return Cache(root)
