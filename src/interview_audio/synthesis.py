"""Synthesis: every line of the episode spoken once, through the cache, on a few threads."""

from __future__ import annotations

import atexit
import itertools
import logging
import shutil
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from interview_audio.cache import Cache, CachedAudio, cache_key
from interview_audio.engines.base import Engine, SentenceTiming
from interview_audio.errors import EngineError, InterviewAudioError, SynthesisError
from interview_audio.script import Role
from interview_audio.transform import apply_transform
from interview_audio.voices import Voice

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
    """What a render would do, for `--dry-run`: nothing is synthesized to find out.

    `characters` counts the speech text of every line; `cached + new == lines`. Identical
    lines are synthesized once, so the engine may be called fewer than `new` times.
    """

    lines: int
    characters: int
    cached: int
    new: int


def describe(line: Line) -> str:
    """Where a line is, as a person finds it: the turn index `interview-audio script` prints,
    the paragraph counted from 1 within that turn."""
    if line.turn is None:
        return f"intro line {line.paragraph + 1}"
    return f"turn {line.turn} ({line.speaker}), paragraph {line.paragraph + 1}"


def plan_stats(lines: Sequence[Line], engine_identity: str, cache: Cache | None) -> SynthesisPlan:
    """Count the lines the cache already holds and the ones a render would synthesize."""
    known: dict[str, bool] = {}
    cached = 0
    for line in lines:
        key = cache_key(engine_identity, line.voice, line.speech)
        if key not in known:
            known[key] = cache is not None and cache.get(key) is not None
        cached += known[key]
    characters = sum(len(line.speech) for line in lines)
    return SynthesisPlan(len(lines), characters, cached, len(lines) - cached)


def synthesize(
    lines: Sequence[Line],
    engine: Engine,
    cache: Cache | None,
    *,
    jobs: int | None = None,
    progress: Callable[[Segment], None] | None = None,
) -> list[Segment]:
    """Speak every line through the cache and return its segments in line order.

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
    store = cache if cache is not None else _scratch_cache()
    if cache is not None:
        cache.prune_temp()
    identity = engine.identity
    groups: dict[str, list[int]] = {}
    for index, line in enumerate(lines):
        groups.setdefault(cache_key(identity, line.voice, line.speech), []).append(index)
    segments: list[Segment | None] = [None] * len(lines)

    def complete(key: str, audio: CachedAudio, cached: bool) -> None:
        for index in groups[key]:
            segment = Segment(
                lines[index], audio.path, audio.duration, audio.sentences, cached, key
            )
            segments[index] = segment
            if progress is not None:
                progress(segment)

    missing: list[str] = []
    for key in groups:
        audio = store.get(key) if cache is not None else None
        if audio is None:
            missing.append(key)
        else:
            complete(key, audio, True)
    to_make = set(missing)
    hits = sum(len(indexes) for key, indexes in groups.items() if key not in to_make)
    workers = max(1, min(jobs or engine.jobs, len(missing)))
    log.info(
        "%d of %d lines from the cache; synthesizing %d with %s on %d thread(s)",
        hits,
        len(lines),
        len(missing),
        identity,
        workers,
    )
    if missing:
        _run(missing, workers, engine, store, lambda key: lines[groups[key][0]], complete)
    return [segment for segment in segments if segment is not None]


def _run(
    keys: list[str],
    workers: int,
    engine: Engine,
    store: Cache,
    first_line: Callable[[str], Line],
    complete: Callable[[str, CachedAudio, bool], None],
) -> None:
    """Synthesize `keys` with at most `workers` calls in flight; submit more only while all is
    well, so a failure or an interrupt stops the work that has not started yet."""

    def task(key: str) -> CachedAudio:
        line = first_line(key)
        return store.put(
            key, apply_transform(engine.synthesize(line.speech, line.voice), line.voice)
        )

    queue = iter(keys)
    running: dict[Future[CachedAudio], str] = {}
    failure: InterviewAudioError | None = None
    reason = ""
    interrupted = False
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="synthesis")
    try:
        for key in itertools.islice(queue, workers):
            running[executor.submit(task, key)] = key
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                key = running.pop(future)
                try:
                    audio = future.result()
                except Exception as exc:
                    error = _line_error(first_line(key), exc)
                    if failure is None:
                        failure, reason = error, str(exc)
                        log.info("%s; letting running lines finish, starting no more", error)
                    elif str(exc) == reason:  # the same cause (a stalled service): said once
                        log.info("Another line failed the same way: %s", error)
                    else:
                        log.warning("Another line failed too: %s", error)
                    continue
                complete(key, audio, False)
                next_key = next(queue, None) if failure is None else None
                if next_key is not None:
                    running[executor.submit(task, next_key)] = next_key
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        executor.shutdown(wait=not interrupted, cancel_futures=True)
    if failure is not None:
        raise failure


def _line_error(line: Line, exc: Exception) -> InterviewAudioError:
    """Name the line an engine failed on; other project errors (a full disk) pass unchanged."""
    if isinstance(exc, InterviewAudioError) and not isinstance(exc, EngineError):
        return exc
    detail = str(exc) if isinstance(exc, EngineError) else f"{type(exc).__name__}: {exc}"
    error = SynthesisError(f"{describe(line)}: {detail}")
    error.__cause__ = exc
    error.__suppress_context__ = True
    return error


def _scratch_cache() -> Cache:
    """A fresh, empty cache for a run that must neither reuse nor keep audio."""
    root = Path(tempfile.mkdtemp(prefix="interview-audio-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return Cache(root)
