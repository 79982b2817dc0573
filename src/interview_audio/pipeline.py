"""render(): articles in, finished episode folders out; one article or a whole folder of them.

Each article is planned (episode.py), its lines go into one queue shared by every episode
(synthesis/queue.py) that an executor works through (synthesis/executors/: threads here, or Ray
workers), and an episode is finished (finish.py) as soon as its last line is ready, while the
others are still being synthesized. An article that cannot be rendered fails alone, unless
`fail_fast`.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from interview_audio.audio.assemble import AssembleOptions
from interview_audio.audio.music import (
    MusicOptions,
    estimated_room,
    load_music,
    load_music_options,
)
from interview_audio.choices import ChapterMethod, ExecutorKind, IntroMode, choose
from interview_audio.episode import Episode, prepare_episode
from interview_audio.errors import InputError, InterviewAudioError
from interview_audio.ffmpeg import check as check_ffmpeg
from interview_audio.files import check_writable, default_cache_dir
from interview_audio.finish import (
    FinishOptions,
    RenderReport,
    fingerprint,
    finish_episode,
    finished,
    planned_report,
)
from interview_audio.publish.cover import (
    Cover,
    artwork_identity,
    episode_artwork,
    episode_cover,
)
from interview_audio.publish.feed import FeedOptions, load_feed_options
from interview_audio.publish.library import rebuild_library
from interview_audio.synthesis.cache import Cache
from interview_audio.synthesis.engines import EngineSpec, select_engine
from interview_audio.synthesis.engines.base import EngineOptions
from interview_audio.synthesis.executors import ExecutorOptions, RayOptions, open_executor
from interview_audio.synthesis.queue import LineQueue, Segment, scratch_cache
from interview_audio.voices.kinds import check_engine_choice
from interview_audio.voices.load import load_voices

log = logging.getLogger(__name__)

ARTICLE_SUFFIXES = (".txt", ".md")
# Episodes assembled at once on this machine (each streams, about 300 MB): with a fast engine,
# or many Ray workers, assembly is what the batch waits for, so it gets the cores too.
FINISHERS = max(1, min(4, os.cpu_count() or 1))
SCRIPT_NAME = "script.yaml"


@dataclass(frozen=True)
class RenderOptions:
    """Per-run choices (flags); voice identity stays in voices.yaml.

    `jobs` is lines at once on the local executor and workers on Ray; each Ray worker reserves
    `ray.worker_cpus` CPUs and `ray.worker_gpus` GPUs (see `RayOptions`).
    """

    output: Path = Path("output")
    engine: str | None = None
    voices: Path | None = None
    chapters: ChapterMethod = ChapterMethod.AUTO
    intro: IntroMode = IntroMode.SHORT
    split: bool = True
    cover: Path | None = None
    lufs: float = -16.0
    bitrate: str = "96k"
    jobs: int | None = None
    cache_dir: Path | None = None
    use_cache: bool = True
    dry_run: bool = False
    keep_translation: bool = False
    strict: bool = False
    # The output folder's feed settings (None: ./interview-audio.toml's [feed], else defaults).
    feed: FeedOptions | None = None
    # Intro and outro music (None: ./interview-audio.toml's [music], else none).
    music: MusicOptions | None = None
    fail_fast: bool = False
    executor: ExecutorKind = ExecutorKind.LOCAL
    ray: RayOptions = RayOptions()

    def __post_init__(self) -> None:
        """Check the choices now (from Python a choice may be its string, a path a string): a
        typo fails before any engine loads."""
        for name in ("output", "voices", "cover", "cache_dir"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, Path(value))
        object.__setattr__(self, "chapters", choose(ChapterMethod, self.chapters, "chapter method"))
        object.__setattr__(self, "intro", choose(IntroMode, self.intro, "intro"))
        object.__setattr__(self, "executor", choose(ExecutorKind, self.executor, "executor"))
        if self.engine is not None:
            check_engine_choice(self.engine)


@dataclass(frozen=True)
class EpisodeResult:
    """One article of a batch: rendered (or skipped as complete and unchanged), or failed."""

    source: Path
    report: RenderReport | None = None
    error: InterviewAudioError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class BatchReport:
    """Every article of a render, in the order they were given."""

    engine: str
    results: tuple[EpisodeResult, ...]

    @property
    def failed(self) -> tuple[EpisodeResult, ...]:
        return tuple(result for result in self.results if not result.ok)


class Reporter(Protocol):
    """Receives progress while a render runs (the CLI draws its progress bar from it).

    `started` and `line_done` run on the calling thread; `stage`, `assembling` and
    `episode_done` may come from the threads that finish episodes. Articles that fail before
    synthesis, or are skipped as already complete, are reported through `episode_done` before
    `started`.
    """

    def started(self, engine: str, episodes: Sequence[Episode]) -> None: ...

    def line_done(self, episode: Episode, segment: Segment) -> None: ...

    def stage(self, episode: Episode, name: str) -> None: ...

    def assembling(self, episode: Episode, step: str, done: float, total: float) -> None:
        """A pass of the assembly: `done` of `total` seconds of audio ("measuring", ...)."""

    def episode_done(self, result: EpisodeResult) -> None: ...


class QuietReporter:
    """A reporter that hears nothing: subclass it to hear only the events you need."""

    def started(self, engine: str, episodes: Sequence[Episode]) -> None:
        return None

    def line_done(self, episode: Episode, segment: Segment) -> None:
        return None

    def stage(self, episode: Episode, name: str) -> None:
        return None

    def assembling(self, episode: Episode, step: str, done: float, total: float) -> None:
        return None

    def episode_done(self, result: EpisodeResult) -> None:
        return None


def render(
    source: str | os.PathLike[str],
    options: RenderOptions | None = None,
    reporter: Reporter | None = None,
) -> RenderReport:
    """Render one article (or an edited script.yaml) into an episode folder under `output`.

    The first error is raised, as with `fail_fast`.
    """
    options = replace(options or RenderOptions(), fail_fast=True)
    source = Path(source)
    batch = render_many([source], options, reporter)
    if len(batch.results) != 1:
        raise InputError(f"{source} holds {len(batch.results)} articles; render them as a batch.")
    result = batch.results[0]
    if result.error is not None:
        raise result.error
    assert result.report is not None
    return result.report


def render_many(
    paths: Sequence[str | os.PathLike[str]],
    options: RenderOptions | None = None,
    reporter: Reporter | None = None,
) -> BatchReport:
    """Render every article in `paths` (files, and folders searched for articles).

    The engine is loaded once and every episode's lines share one queue. Episodes complete and
    unchanged since the last render are skipped; the others reuse every cached line, so running
    the same command again after an interrupt or a failure only does what is missing.
    """
    options = options or RenderOptions()
    sources = collect_sources([Path(path) for path in paths], options.output)
    return Renderer(options, reporter).render(sources)


class Renderer:
    """What every render of a run shares, loaded once: voices.yaml, the engine, the cache, the
    feed settings, and which episode folder each article was given.

    `render_many` makes one for its batch; the watcher (watch.py) keeps one for as long as it
    runs, so the engine is loaded once however many articles arrive.
    """

    def __init__(
        self, options: RenderOptions | None = None, reporter: Reporter | None = None
    ) -> None:
        options = options or RenderOptions()
        self.options = options
        self.reporter = reporter or QuietReporter()
        self._cache_dir = options.cache_dir or default_cache_dir()
        if not options.dry_run:
            # Mistakes every episode would share fail now, not after hours of synthesis.
            check_ffmpeg()
            check_writable(options.output)
            episode_cover(options.cover, "", self._cache_dir)
        self.config = load_voices(options.voices)
        self.feed = options.feed or load_feed_options()
        on_ray = options.executor is ExecutorKind.RAY
        engine_options = EngineOptions(
            # On Ray, --jobs counts workers; each worker's engine runs its own default jobs.
            jobs=None if on_ray else options.jobs,
            engine_settings=self.config.engine_settings,
        )
        self.engine = select_engine(options.engine or self.config.engine, engine_options)
        self._loader = EngineSpec(self.engine.name, replace(engine_options, jobs=None)).load
        self.cache = Cache(self._cache_dir) if options.use_cache else None
        self._music = options.music if options.music is not None else load_music_options()
        music = None
        if not options.dry_run:
            music = load_music(
                self._music, self.cache if self.cache is not None else scratch_cache()
            )
        self.finish = FinishOptions(
            pauses=self.config.pauses,
            assemble=AssembleOptions(lufs=options.lufs, bitrate=options.bitrate),
            split=options.split,
            cover=options.cover,
            artwork=artwork_identity() if options.cover is None else "",
            music=music,
        )
        # episode folder -> the article rendered into it, so two articles with one title get
        # `title` and `title (2)` however many renders apart they come.
        self._owners: dict[Path, Path] = {}

    def render(
        self, paths: Sequence[str | os.PathLike[str]], *, publish: bool = True
    ) -> BatchReport:
        """Render the article files in `paths` as one batch, as `render_many` does; with
        `publish`, rebuild the feed and library page once at its end."""
        options, reporter = self.options, self.reporter
        sources = [Path(path) for path in paths]
        results: dict[Path, EpisodeResult] = {}

        def record(result: EpisodeResult) -> None:
            results[result.source] = result
            reporter.episode_done(result)

        todo = self._plan(sources, record)
        if options.dry_run or not todo:
            reporter.started(self.engine.name, [item.episode for item in todo])
        if options.dry_run:
            room = estimated_room(self._music, self.config.pauses.chapter)
            for item in todo:
                results[item.episode.source] = EpisodeResult(
                    item.episode.source, report=_with_music(planned_report(item.episode), room)
                )
        else:
            if todo:
                self._synthesize_and_finish(todo, record)
            if publish and any(result.ok for result in results.values()):
                # Once for the whole batch: every episode folder under -o into the feed and page.
                rebuild_library(options.output, self.feed)
        return BatchReport(self.engine.name, tuple(results[source] for source in sources))

    def articles(self) -> list[Path]:
        """The articles that have an episode folder (rendered, or found complete)."""
        return list(self._owners.values())

    def folder_of(self, source: Path) -> Path | None:
        """The episode folder `source` was last rendered (or found complete) into, if any."""
        return next((folder for folder, owner in self._owners.items() if owner == source), None)

    def forget(self, source: Path) -> Path | None:
        """Forget `source` (deleted): its folder may go to another article. Returns the folder."""
        folder = self.folder_of(source)
        if folder is not None:
            del self._owners[folder]
        return folder

    def _plan(
        self, sources: Sequence[Path], record: Callable[[EpisodeResult], None]
    ) -> list[_Todo]:
        """Plan every article: what is left to render. An article already complete and
        unchanged is recorded as done; one that cannot be planned is recorded as failed (or
        raises, with `fail_fast`)."""
        options, engine, cache = self.options, self.engine, self.cache
        todo: list[_Todo] = []
        for source in sources:
            try:
                episode = prepare_episode(
                    source,
                    self.config,
                    engine,
                    output=options.output,
                    chapters=options.chapters,
                    intro=options.intro,
                    keep_translation=options.keep_translation,
                    strict=options.strict,
                    cache=cache,
                )
                episode = replace(episode, folder=self._claim(episode.folder, source))
                stamp = fingerprint(episode, engine.identity, self.finish)
                done = finished(episode, stamp) if cache is not None else None
                if done is None and not options.dry_run:
                    check_writable(episode.folder)
                    link = episode.script.meta.cover_url
                    art = episode_artwork(episode.script)
                    cover = episode_cover(options.cover, link, self._cache_dir, art)
                else:
                    cover = Cover(None)
            except InterviewAudioError as exc:
                if options.fail_fast:
                    raise
                log.debug("%s cannot be rendered: %s", source, exc)
                record(EpisodeResult(source, error=exc))
                continue
            if done is not None:
                record(EpisodeResult(source, report=done))
            else:
                todo.append(_Todo(episode, stamp, cover))
        return todo

    def _claim(self, folder: Path, source: Path) -> Path:
        """`folder`, or `folder (2)`, `(3)` … when another article has its title. An article
        whose file is gone no longer holds its folder (a renamed article keeps its episode)."""
        self.forget(source)
        candidate, number = folder, 2
        while True:
            owner = self._owners.get(candidate)
            if owner is None or not owner.exists():
                break
            candidate = folder.with_name(f"{folder.name} ({number})")
            number += 1
        self._owners[candidate] = source
        return candidate

    def _synthesize_and_finish(
        self, todo: list[_Todo], record: Callable[[EpisodeResult], None]
    ) -> None:
        """Synthesize every episode's lines through one queue; finish each episode on a
        finishing thread as soon as its lines are ready, so synthesis never waits for assembly.

        The executor starts first (Ray may take seconds), then the reporter hears the plan.
        """
        options, reporter, engine, cache = self.options, self.reporter, self.engine, self.cache
        executor = open_executor(
            options.executor,
            engine,
            self._loader,
            cache if cache is not None else scratch_cache(),
            ExecutorOptions(jobs=options.jobs, ray=options.ray),
        )
        queue = LineQueue(executor, cache, engine.identity, fail_fast=options.fail_fast)
        for item in todo:
            queue.add(item.episode.plan.lines)
        finisher = ThreadPoolExecutor(max_workers=FINISHERS, thread_name_prefix="finish")
        finishing: list[Future[None]] = []
        fatal: list[InterviewAudioError] = []
        lock = threading.Lock()

        def finish_one(item: _Todo, segments: list[Segment]) -> None:
            if fatal:
                return
            episode = item.episode
            try:
                report = finish_episode(
                    episode,
                    segments,
                    self.finish,
                    stamp=item.stamp,
                    cover=item.cover,
                    measurements=cache,
                    stage=lambda name: reporter.stage(episode, name),
                    progress=lambda step, done, total: reporter.assembling(
                        episode, step, done, total
                    ),
                )
            except InterviewAudioError as exc:
                if options.fail_fast:
                    with lock:
                        fatal.append(exc)
                    queue.stop()
                    return
                record(EpisodeResult(episode.source, error=exc))
                return
            record(EpisodeResult(episode.source, report=report))

        def ready(number: int, segments: list[Segment]) -> None:
            finishing.append(finisher.submit(finish_one, todo[number], segments))

        def failed(number: int, error: InterviewAudioError) -> None:
            record(EpisodeResult(todo[number].episode.source, error=error))

        cancel = True
        try:
            reporter.started(engine.name, [item.episode for item in todo])
            queue.run(
                progress=lambda number, segment: reporter.line_done(todo[number].episode, segment),
                ready=ready,
                failed=failed,
            )
            for future in finishing:
                future.result()
            cancel = False
        finally:
            executor.close(cancel=cancel)
            # Interrupted: an assembly already running completes in the background (its files
            # appear whole or not at all); the ones not started are dropped.
            finisher.shutdown(wait=not cancel, cancel_futures=True)
        if fatal:
            raise fatal[0]


@dataclass(frozen=True)
class _Todo:
    """An episode to render, its fingerprint, and its cover."""

    episode: Episode
    stamp: str
    cover: Cover


def _with_music(report: RenderReport, room: tuple[float, float]) -> RenderReport:
    """A dry run's estimate with the music's lead before every chapter but the first (which
    starts with the music) and its outro after the last line."""
    lead, trail = room
    outline = tuple(
        (title, start + lead if number else start)
        for number, (title, start) in enumerate(report.outline)
    )
    return replace(report, outline=outline, estimate=report.estimate + lead + trail)


def collect_sources(paths: Sequence[Path], output: Path) -> list[Path]:
    """The articles to render: files as given; in folders every .txt, .md and script.yaml,
    sorted, leaving out hidden entries and the output folder. Each file once."""
    found: list[Path] = []
    seen: set[Path] = set()
    empty: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = find_articles(path, output)
            if not inside:
                empty.append(path)
        else:
            inside = [path]
        for candidate in inside:
            key = candidate.resolve()
            if key not in seen:
                seen.add(key)
                found.append(candidate)
    if not found:
        raise InputError(
            f"No articles to render in {', '.join(str(p) for p in paths)}: give .txt or .md "
            f"articles, an edited {SCRIPT_NAME}, or folders that hold them."
        )
    for path in empty:  # the others render; when nothing does, the error above says it once
        log.warning("No articles in %s: it holds no .txt, .md or %s files", path, SCRIPT_NAME)
    return found


def find_articles(folder: Path, output: Path) -> list[Path]:
    """Every article file in `folder` and its subfolders, sorted (see `is_article`)."""
    return [
        candidate
        for candidate in sorted(folder.rglob("*"))
        if candidate.is_file() and is_article(candidate, folder, output)
    ]


def is_article(path: Path, folder: Path, output: Path) -> bool:
    """Whether `path` (which may no longer exist) names an article of `folder`: a .txt, .md or
    script.yaml file, not hidden nor in a hidden folder (editors' swap and backup files are
    hidden or end otherwise), and not inside the output folder."""
    try:
        parts = path.relative_to(folder).parts
    except ValueError:
        return False
    if not parts or any(part.startswith(".") for part in parts):
        return False
    if output.resolve() in path.resolve().parents:
        return False
    suffix = path.suffix.lower()
    return suffix in ARTICLE_SUFFIXES or path.name.lower().endswith(SCRIPT_NAME)
