"""The command line: a thin layer over the library that turns errors into one-line messages."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from interview_audio import __version__
from interview_audio.choices import ChapterMethod, ExecutorKind, IntroMode
from interview_audio.display import clock as _clock
from interview_audio.display import counted
from interview_audio.errors import InterviewAudioError

if TYPE_CHECKING:
    from rich.progress import TaskID

    from interview_audio.article.parse import Article
    from interview_audio.article.script import Script
    from interview_audio.article.speakable import Unspeakable
    from interview_audio.episode import Episode
    from interview_audio.finish import RenderReport
    from interview_audio.pipeline import BatchReport, EpisodeResult, RenderOptions
    from interview_audio.publish.feed import FeedOptions
    from interview_audio.publish.serve import Server
    from interview_audio.synthesis.queue import Segment, SynthesisPlan

log = logging.getLogger(__name__)

# Plain (click) help: typer's rich help prints a `<bool>` placeholder after every flag, as if
# flags took a value; the plain formatter shows flags bare and options with their type.
app = typer.Typer(
    rich_markup_mode=None,
    add_completion=False,
    no_args_is_help=True,
    help="Turn a Chinese interview transcript into a chaptered podcast episode.",
)

T = TypeVar("T")

ArticleArg = Annotated[
    Path, typer.Argument(help="The interview article (.txt/.md) or an edited script.yaml.")
]


def _run(action: Callable[[], T]) -> T:
    """Run a library call; our errors become one line on stderr and an exit code."""
    try:
        return action()
    except InterviewAudioError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        typer.echo("Interrupted. Run the same command again to resume from the cache.", err=True)
        raise typer.Exit(130) from None


def _print_version(value: bool) -> None:
    """--version: print and stop before any command is required (an eager option)."""
    if value:
        typer.echo(f"interview-audio {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log each step.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if verbose:
        handler.setFormatter(_Formatter("%(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(_Formatter("%(message)s"))
        handler.addFilter(_ENGINE_LINE)
    logging.basicConfig(level=logging.INFO, handlers=[handler])


class _EngineLine(logging.Filter):
    """Without -v: warnings, plus the one line saying which engine renders and why (-q: not
    even that), and the loggers a command adds to `also` (serve's line per request, the
    watcher's lines). Configured on our handler only, so no logger's level is changed."""

    quiet = False
    also: tuple[str, ...] = ()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name in _HUSHED:
            return record.levelno >= logging.ERROR
        if record.levelno >= logging.WARNING:
            return True
        return not self.quiet and record.name in (*_SAY_WHERE, *self.also)


class _Formatter(logging.Formatter):
    """Our log lines; a command that runs for days (watch) puts the time before each."""

    clock = False

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return f"{self.formatTime(record, '%Y-%m-%d %H:%M:%S')} {text}" if self.clock else text


# The loggers whose INFO lines say which engine renders and where (Ray's workers).
_SAY_WHERE = ("interview_audio.synthesis.engines", "interview_audio.synthesis.executors.ray")
# serve's line per request; waitress's warning that requests wait for a thread (a browser's
# burst of range requests is queued, as it should be) is not for users.
_REQUEST_LOG = "interview_audio.publish.serve"
_HUSHED = ("waitress.queue",)
_ENGINE_LINE = _EngineLine()


ChaptersOpt = Annotated[
    ChapterMethod,
    typer.Option(
        "--chapters",
        help="auto (headings, else the summary, else topic shifts), headings, summary, shift "
        "or none.",
    ),
]
KeepTranslationOpt = Annotated[
    bool,
    typer.Option(
        "--keep-translation",
        help="Keep an English translation or original beside the Chinese (voiced by the same "
        "speakers); by default it is left out.",
    ),
]


VoicesOpt = Annotated[
    Path | None,
    typer.Option(
        "--voices", help="voices.yaml to use (default: ./voices.yaml, then the packaged one)."
    ),
]


@app.command("script")
def script_command(
    article: ArticleArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print the script as JSON.")] = False,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Write an editable YAML script to this file."),
    ] = None,
    chapters: ChaptersOpt = ChapterMethod.AUTO,
    keep_translation: KeepTranslationOpt = False,
    voices: VoicesOpt = None,
) -> None:
    """Show how the article was read: speakers with roles and genders and why, chapters,
    every turn, what was left out and any text that should not be spoken."""
    from dataclasses import replace

    from interview_audio.article.chapters import find_chapters
    from interview_audio.article.parse import read_source
    from interview_audio.article.script import dump_yaml, to_dict
    from interview_audio.article.speakable import check_script
    from interview_audio.voices.casting import stated_genders, stray_entries
    from interview_audio.voices.load import load_voices

    parsed = _run(lambda: read_source(article, keep_translation))
    config = _run(lambda: load_voices(voices))
    script = stated_genders(parsed.script, config)
    for stray in stray_entries(script, config):
        typer.echo(f"warning: {stray}", err=True)
    script = replace(script, chapters=_run(lambda: find_chapters(script, chapters)))
    warnings = check_script(script)
    if output is not None:
        _run(lambda: _write_text(output, dump_yaml(script)))
        typer.echo(
            f"Wrote {output} ({counted(len(script.turns), 'turn')}, "
            f"{counted(len(script.chapters), 'chapter')}). "
            "Edit it, then render it."
        )
        for warning in warnings:
            typer.echo(f"warning: {warning}", err=True)
        return
    if as_json:
        data = to_dict(script)
        data["left_out"] = [
            {
                "what": item.what,
                "first_line": item.first_line,
                "last_line": item.last_line,
                "lines": item.lines,
            }
            for item in parsed.left_out
        ]
        data["warnings"] = [
            {"turn": w.turn, "speaker": w.speaker, "kind": w.kind, "text": w.text} for w in warnings
        ]
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    _print_script(script)
    _print_reading(parsed, warnings)


def _write_text(path: Path, text: str) -> None:
    from interview_audio.errors import InputError

    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"Cannot write {path}: {exc.strerror}. Choose another path.") from exc


def _print_reading(parsed: Article, warnings: Sequence[Unspeakable]) -> None:
    """What the narrator says instead of the text, what was left out, what should not be
    spoken: so a user sees at once when only part of a file was read as the interview."""
    if parsed.narrated:
        typer.echo(f"Narrator:  {'; '.join(parsed.narrated)}")
    if parsed.left_out:
        typer.echo("Left out:")
        for item in parsed.left_out:
            where = (
                f"line {item.first_line}"
                if item.first_line == item.last_line
                else f"lines {item.first_line}-{item.last_line}"
            )
            sample = f": {item.sample}…" if item.sample else ""
            typer.echo(f"  {where}, {item.lines} non-blank, {item.what}{sample}")
    if warnings:
        typer.echo(f"Warnings ({len(warnings)}): text that should not be spoken")
        for warning in warnings:
            typer.echo(f"  {warning}")


def _print_script(script: Script) -> None:
    meta = script.meta
    typer.echo(f"Title:    {meta.title}")
    for label, value in (
        ("Author", meta.author),
        ("Date", f"{meta.date} {meta.time}".strip()),
        ("Source", meta.source_url),
    ):
        if value:
            typer.echo(f"{label + ':':<9} {value}")
    typer.echo(f"Turns:    {len(script.turns)}")
    typer.echo("Speakers:")
    for speaker in script.speakers:
        aliases = f" (also {', '.join(speaker.aliases)})" if speaker.aliases else ""
        gender = speaker.gender.value if speaker.gender else "gender unknown"
        typer.echo(
            f"  {speaker.name} [{speaker.role.value}, {gender}]: "
            f"{counted(script.turn_count(speaker.name), 'turn')}{aliases}"
        )
        for what, evidence in (
            ("role", speaker.role_evidence),
            ("gender", speaker.gender_evidence),
        ):
            if evidence:
                typer.echo(f"      {what + ':':<8}{'; '.join(evidence)}")
    if script.intro:
        from interview_audio.article.intro import brief

        size = sum(len(paragraph) for paragraph in script.intro)
        short = " ".join(brief(script))
        typer.echo(
            f"Introduction: {len(script.intro)} paragraphs, {size} characters (--intro full)"
        )
        typer.echo(f"  --intro short: {short if len(short) <= 60 else short[:60] + '…'}")
    if script.topics:
        typer.echo("Topics:")
        for number, topic in enumerate(script.topics, 1):
            typer.echo(f"  {number}. {topic.title}")
    if script.chapters:
        typer.echo("Chapters:")
        for chapter in script.chapters:
            typer.echo(f"  turn {chapter.start_turn:>3}  {chapter.title}")
    typer.echo("Dialogue:")
    for index, turn in enumerate(script.turns):
        first = turn.paragraphs[0]
        preview = first if len(first) <= 40 else first[:40] + "…"
        typer.echo(f"  {index:>3} {turn.speaker}: {preview}")


EngineOpt = Annotated[
    str | None,
    typer.Option(
        "--engine", "-e", help="auto, edge, kokoro or espeak (default: voices.yaml's `engine`)."
    ),
]


@app.command("voices")
def voices_command(
    engine: EngineOpt = None,
    locale: Annotated[
        str | None, typer.Option("--locale", help="Only voices of this locale, e.g. zh-CN.")
    ] = None,
    voices: VoicesOpt = None,
    refresh: Annotated[
        bool,
        typer.Option(
            "--refresh", help="Fetch the Edge voice list again instead of using the cached one."
        ),
    ] = False,
) -> None:
    """List the voices an engine offers and which ones voices.yaml uses."""
    from rich.console import Console
    from rich.table import Table

    from interview_audio.synthesis.engines import select_engine
    from interview_audio.synthesis.engines.base import EngineOptions
    from interview_audio.voices.listing import configured_voices, voice_users
    from interview_audio.voices.load import load_voices
    from interview_audio.voices.model import voice_label

    config = _run(lambda: load_voices(voices))
    loaded = _run(
        lambda: select_engine(
            engine or config.engine,
            EngineOptions(engine_settings=config.engine_settings),
        )
    )
    offered = _run(lambda: loaded.voices(locale, refresh=refresh))
    users = voice_users(config, loaded.name)
    table = Table(title=f"{loaded.name} voices" + (f" ({locale})" if locale else ""))
    for column in ("voice", "gender", "locale", "notes", "used in voices.yaml by"):
        table.add_column(column)
    for info in offered:
        table.add_row(
            info.name, info.gender, info.locale, info.notes, ", ".join(users.get(info.name, ()))
        )
    console = Console()
    console.print(table)
    if not offered:
        typer.echo(
            f"{loaded.name} offers no voices"
            + (f" for {locale}; leave out --locale to see them all." if locale else ".")
        )
    # What each entry of voices.yaml sounds like on this engine, transforms included.
    cast = Table(title=f"{config.source}, on {loaded.name}")
    for column in ("who", "gender", "voice"):
        cast.add_column(column)
    for entry in configured_voices(config, loaded.name):
        cast.add_row(
            entry.who, entry.gender.value if entry.gender else "", voice_label(entry.voice)
        )
    console.print(cast)


@app.command("preview")
def preview_command(
    text: Annotated[
        str | None, typer.Argument(help="What to say (default: a sample sentence).")
    ] = None,
    speaker: Annotated[
        str | None,
        typer.Option(
            "--speaker",
            "-s",
            help="narrator, host, guest or a speaker from voices.yaml; with --article, any name "
            "render prints in the article's cast.",
        ),
    ] = None,
    article: Annotated[
        Path | None,
        typer.Option(
            "--article",
            "-a",
            help="Cast --speaker as render casts this article; without TEXT they say their "
            "first words from it.",
        ),
    ] = None,
    voice: Annotated[
        str | None,
        typer.Option("--voice", help="A voice name of the engine (see `interview-audio voices`)."),
    ] = None,
    engine: EngineOpt = None,
    voices: VoicesOpt = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the MP3.")] = Path(
        "output/preview.mp3"
    ),
) -> None:
    """Speak one line with one voice, to audition voices before a render."""
    from interview_audio.preview import preview
    from interview_audio.voices.model import voice_label

    result = _run(
        lambda: preview(
            text,
            speaker=speaker,
            voice=voice,
            engine=engine,
            voices_path=voices,
            article=article,
            output=output,
            status=lambda message: typer.echo(message, err=True),
        )
    )
    label = result.cast or voice_label(result.voice)
    typer.echo(f"Wrote {result.path} ({result.duration:.1f} s, {result.engine}: {label})")


ArticlesArg = Annotated[
    list[Path],
    typer.Argument(
        help="Articles (.txt/.md), edited script.yaml files, or folders of them: each becomes "
        "its own episode folder under -o."
    ),
]


OutputOpt = Annotated[
    Path, typer.Option("-o", "--output", help="Folder for episodes (one subfolder each).")
]
IntroOpt = Annotated[
    IntroMode,
    typer.Option(
        "--intro",
        help="Narrator's opening: short (who is talking, the topics), full (the whole "
        "introduction, the topics with their summaries) or none.",
    ),
]
MusicOpt = Annotated[
    Path | None,
    typer.Option(
        "--music",
        help="Music (MP3, M4A, OGG, FLAC, WAV) to play before the narrator, under the "
        "introduction, and after the last line; [music] in interview-audio.toml says how.",
    ),
]
NoMusicOpt = Annotated[
    bool, typer.Option("--no-music", help="No music, whatever interview-audio.toml says.")
]
SplitOpt = Annotated[
    bool, typer.Option("--split/--no-split", help="Also write one MP3 per chapter.")
]
LufsOpt = Annotated[float, typer.Option("--lufs", help="Target loudness in LUFS.")]
BitrateOpt = Annotated[str, typer.Option("--bitrate", help="MP3 bit rate, e.g. 96k.")]
JobsOpt = Annotated[
    int | None,
    typer.Option(
        "--jobs",
        "-j",
        min=1,
        max=32,
        help="Lines synthesized at once (default: 4 on Edge, one per core on Kokoro, which uses "
        "at most one per core). With --executor ray: Ray workers (default: as many as fit).",
    ),
]
CacheDirOpt = Annotated[
    Path | None, typer.Option("--cache-dir", help="Where synthesized lines are kept.")
]
StrictOpt = Annotated[
    bool,
    typer.Option(
        "--strict", help="Stop before synthesis when the speakability check finds anything."
    ),
]


@app.command("render")
def render_command(
    articles: ArticlesArg,
    output: OutputOpt = Path("output"),
    engine: EngineOpt = None,
    voices: VoicesOpt = None,
    chapters: ChaptersOpt = ChapterMethod.AUTO,
    intro: IntroOpt = IntroMode.SHORT,
    split: SplitOpt = True,
    cover: Annotated[
        Path | None, typer.Option("--cover", help="Cover image (JPEG or PNG) for the tags.")
    ] = None,
    music: MusicOpt = None,
    no_music: NoMusicOpt = False,
    lufs: LufsOpt = -16.0,
    bitrate: BitrateOpt = "96k",
    jobs: JobsOpt = None,
    cache_dir: CacheDirOpt = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Synthesize every line anew.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be synthesized, then stop.")
    ] = False,
    fail_fast: Annotated[
        bool,
        typer.Option("--fail-fast", help="Stop the whole batch at the first article that fails."),
    ] = False,
    executor: Annotated[
        ExecutorKind,
        typer.Option(
            "--executor",
            help="Where lines are synthesized: local (threads here) or ray (Ray workers; "
            'needs `pip install "interview-audio[ray]"`).',
        ),
    ] = ExecutorKind.LOCAL,
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address",
            help="Ray cluster to use: auto, or ray://HOST:PORT (default: start a local one).",
        ),
    ] = None,
    ray_worker_cpus: Annotated[
        int, typer.Option("--ray-worker-cpus", min=1, help="CPUs each Ray worker reserves.")
    ] = 1,
    ray_worker_gpus: Annotated[
        float,
        typer.Option("--ray-worker-gpus", min=0.0, help="GPUs each Ray worker reserves."),
    ] = 0.0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
    progress_every: Annotated[
        float,
        typer.Option(
            "--progress-every",
            min=0.0,
            help="Not on a terminal (nohup, cron, CI logs): a progress line at each tenth of "
            "the synthesis and at least this often, in seconds.",
        ),
    ] = 30.0,
    keep_translation: KeepTranslationOpt = False,
    strict: StrictOpt = False,
) -> None:
    """Render articles (or edited script.yaml files) into chaptered, tagged episodes.

    Many articles share one queue of lines and one loaded engine. An article that fails does not
    stop the others; the summary lists each one and the exit code is 1 if any failed. Run the
    same command again to finish what is missing: complete episodes are skipped.
    """
    from interview_audio.audio.music import MusicOptions, load_music_options
    from interview_audio.pipeline import RenderOptions, render_many
    from interview_audio.synthesis.executors import RayOptions

    single = len(articles) == 1 and not articles[0].is_dir()
    options = _run(
        lambda: RenderOptions(
            music=MusicOptions() if no_music else load_music_options(intro=music),
            output=output,
            engine=engine,
            voices=voices,
            chapters=chapters,
            intro=intro,
            split=split,
            cover=cover,
            lufs=lufs,
            bitrate=bitrate,
            jobs=jobs,
            cache_dir=cache_dir,
            use_cache=not no_cache,
            dry_run=dry_run,
            keep_translation=keep_translation,
            strict=strict,
            fail_fast=fail_fast or single,
            executor=executor,
            ray=RayOptions(
                address=ray_address, worker_cpus=ray_worker_cpus, worker_gpus=ray_worker_gpus
            ),
        )
    )
    _ENGINE_LINE.quiet = quiet
    with _Progress(quiet, single, progress_every) as progress:
        batch = _run(lambda: render_many(articles, options, progress))
    if single:
        report = batch.results[0].report
        if not quiet and report is not None:
            _print_report(report, dry_run)
        return
    if not quiet or batch.failed:
        _print_summary(batch, dry_run)
    if batch.failed:
        raise typer.Exit(1)


PollOpt = Annotated[
    bool,
    typer.Option(
        "--poll",
        help="Look at the folder every few seconds instead of waiting for the system's change "
        "events: for network drives and shared folders that send none.",
    ),
]


@app.command("watch")
def watch_command(
    articles: Annotated[
        Path,
        typer.Argument(
            help="The folder your articles are saved in (.txt, .md and script.yaml files, in "
            "subfolders too)."
        ),
    ],
    output: OutputOpt = Path("output"),
    engine: EngineOpt = None,
    voices: VoicesOpt = None,
    chapters: ChaptersOpt = ChapterMethod.AUTO,
    intro: IntroOpt = IntroMode.SHORT,
    split: SplitOpt = True,
    music: MusicOpt = None,
    no_music: NoMusicOpt = False,
    lufs: LufsOpt = -16.0,
    bitrate: BitrateOpt = "96k",
    jobs: JobsOpt = None,
    cache_dir: CacheDirOpt = None,
    keep_translation: KeepTranslationOpt = False,
    strict: StrictOpt = False,
    poll: PollOpt = False,
    settle: Annotated[
        float | None,
        typer.Option(
            "--settle",
            min=0.0,
            help="Seconds an article must stay unchanged before it is rendered (default 2).",
        ),
    ] = None,
) -> None:
    """Render each new or changed article in a folder, one at a time, as it is saved.

    The feed and library page in -o are updated as soon as an episode is complete. A deleted
    article keeps its episode; one that fails is listed on the library page and tried again
    when the file changes. Ctrl-C stops; the next start catches up with what changed.
    """
    from interview_audio.audio.music import MusicOptions, load_music_options
    from interview_audio.pipeline import RenderOptions

    options = _run(
        lambda: RenderOptions(
            music=MusicOptions() if no_music else load_music_options(intro=music),
            output=output,
            engine=engine,
            voices=voices,
            chapters=chapters,
            intro=intro,
            split=split,
            lufs=lufs,
            bitrate=bitrate,
            jobs=jobs,
            cache_dir=cache_dir,
            keep_translation=keep_translation,
            strict=strict,
        )
    )
    _watch(articles, options, poll=poll, settle=settle)


def _watch(
    articles: Path,
    options: RenderOptions,
    *,
    poll: bool,
    settle: float | None = None,
    serving: Server | None = None,
) -> None:
    """Load the engine, then watch `articles` on this thread until Ctrl-C (or SIGTERM); the
    server, if any, answers on a thread of its own meanwhile and stops with the watcher."""
    from interview_audio.watch import Watcher

    _ENGINE_LINE.also = (*_ENGINE_LINE.also, "interview_audio.watch")
    _Formatter.clock = True
    if serving is not None:
        threading.Thread(target=serving.serve_forever, daemon=True).start()
    try:
        watcher = _run(lambda: Watcher(articles, options, poll=poll, settle=settle))
        _stop_on_sigterm()
        typer.echo("Press Ctrl-C to stop.", err=True)
        watcher.run()
    except InterviewAudioError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        typer.echo("Stopped. The next start catches up with whatever changed meanwhile.", err=True)
    finally:
        if serving is not None:
            serving.shutdown()
            serving.server_close()


def _stop_on_sigterm() -> None:
    """`kill`, systemd and containers stop a process with SIGTERM: stop as Ctrl-C does."""
    import signal

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def main() -> None:
    app()


class _Pacer:
    """When a plain progress line is due: at each further tenth of the work, or once `every`
    seconds have passed since the last line, whichever comes first."""

    def __init__(self, every: float) -> None:
        self.every = every
        self.last = time.monotonic()
        self.tenths = 0

    def due(self, fraction: float | None = None, *, force: bool = False) -> bool:
        now = time.monotonic()
        tenths = self.tenths if fraction is None else int(fraction * 10)
        if force or tenths > self.tenths or now - self.last >= self.every:
            self.tenths = max(self.tenths, tenths)
            self.last = now
            return True
        return False


class _Progress:
    """One progress bar on stderr over every line of the run: lines done, minutes of audio,
    elapsed time and ETA (from the characters left to synthesize), plus a line per episode.

    Where stderr is not a terminal (nohup, cron, CI logs) the bar cannot be drawn: plain lines
    say the same now and then instead (see `_Pacer`; `every` is the longest silence)."""

    def __init__(self, quiet: bool, single: bool, every: float = 30.0) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.quiet = quiet
        self.single = single
        self.console = Console(stderr=True)
        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[amount]}"),
            TextColumn("{task.fields[audio]:.1f} min audio"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
            disable=quiet,
        )
        self.task: TaskID | None = None
        self.lock = threading.Lock()
        self.lines = self.total_lines = 0
        self.audio = 0.0
        # per article: [lines left, new characters left]
        self.left: dict[Path, list[int]] = {}
        self.step = ""
        self.plain = not quiet and not self.console.is_terminal
        self.every = every
        self.pacer = _Pacer(every)
        self.begun = time.monotonic()
        self.characters = self.characters_done = 0

    def __enter__(self) -> _Progress:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(None, None, None)

    def _print(self, text: str) -> None:
        if not self.quiet:
            self.console.print(text, highlight=False, soft_wrap=True)

    def started(self, engine: str, episodes: Sequence[Episode]) -> None:
        if self.single:
            for episode in episodes:
                for line in episode.cast:
                    self._print(f"  {line}")
                self._print(_plan_line(episode.stats))
        elif episodes:
            lines = sum(e.stats.lines for e in episodes)
            cached = sum(e.stats.cached for e in episodes)
            self._print(
                f"{counted(len(episodes), 'episode')} to render with {engine}: "
                f"{counted(lines, 'line')}, "
                f"{cached} from the cache, {lines - cached} to synthesize"
            )
        self.left = {e.source: [e.stats.lines, e.stats.new_characters] for e in episodes}
        self.total_lines = sum(e.stats.lines for e in episodes)
        self.characters = characters = sum(e.stats.new_characters for e in episodes)
        self.begun = time.monotonic()
        self.pacer = _Pacer(self.every)
        if episodes and not self.quiet:
            self.task = self.bar.add_task(
                "Synthesizing",
                total=max(characters, 1),
                amount=f"0/{self.total_lines} lines",
                audio=0.0,
            )

    def line_done(self, episode: Episode, segment: Segment) -> None:
        with self.lock:
            self.lines += 1
            self.audio += segment.duration / 60
            left = self.left[episode.source]
            left[0] -= 1
            done = 0 if segment.cached else len(segment.line.speech)
            left[1] -= done
            self.characters_done += done
            self._update(advance=done)
            if self.plain and self.pacer.due(self._fraction()):
                self._print(self._synthesis_line())

    def _fraction(self) -> float:
        """How much of the synthesis is done: by characters, what takes the time."""
        if self.characters:
            return self.characters_done / self.characters
        return self.lines / max(self.total_lines, 1)

    def _synthesis_line(self) -> str:
        elapsed = time.monotonic() - self.begun
        line = f"Synthesizing: {self.lines}/{self.total_lines} lines, {self.audio:.1f} min of audio"
        if self.lines >= self.total_lines:
            return f"{line}, done in {_clock(elapsed)}"
        if self.characters_done:
            left = elapsed * (self.characters - self.characters_done) / self.characters_done
            return f"{line}, about {_clock(left)} left"
        return line

    def _update(self, advance: int = 0, description: str | None = None) -> None:
        if self.task is not None:
            self.bar.update(
                self.task,
                advance=advance,
                description=description,
                amount=f"{self.lines}/{self.total_lines} lines",
                audio=self.audio,
            )

    def stage(self, episode: Episode, name: str) -> None:
        with self.lock:
            if self.single or self.lines >= self.total_lines:
                label = name.capitalize()
                self._update(
                    description=label if self.single else f"{label} {_short(episode.title)}"
                )

    def assembling(self, episode: Episode, step: str, done: float, total: float) -> None:
        """One article: the bar follows each pass of the assembly over the minutes of audio.
        A batch: the bar stays on the lines, and says which pass runs once they are done."""
        with self.lock:
            if self.task is None:
                return
            amount = f"{done / 60:.1f}/{total / 60:.1f} min"
            if self.plain and self.pacer.due(force=self.single and step != self.step):
                where = "" if self.single else f" {_short(episode.title)}"
                self._print(f"{step.capitalize()}{where}: {amount}")
            if self.single:
                if step != self.step:
                    self.step = step
                    self.bar.reset(self.task, total=total, description=step.capitalize())
                self.bar.update(self.task, completed=done, amount=amount)
            elif self.lines >= self.total_lines:
                self._update(description=f"{step.capitalize()} {_short(episode.title)} {amount}")

    def episode_done(self, result: EpisodeResult) -> None:
        with self.lock:
            report = result.report
            folder = report.folder if report is not None else None
            left = self.left.pop(result.source, None)
            if result.error is not None and left is not None:
                # The lines of a failed episode that were never synthesized leave the totals.
                self.total_lines -= left[0]
                if self.task is not None:
                    total = self.bar.tasks[self.task].total or 1
                    self.bar.update(self.task, total=max(total - left[1], 1))
                self._update()
            if self.single:
                return
            if result.error is not None:
                self._print(f"[red]✗[/red] {_failure(result)}")
            elif report is not None and report.skipped:
                self._print(f"= {folder}: complete and unchanged")
            elif report is not None:
                self._print(
                    f"[green]✓[/green] {folder}: {_clock(report.duration)}, "
                    f"{counted(len(report.chapters), 'chapter')}"
                )
                for note in report.notes:
                    self._print(f"  Note: {note}")


def _short(title: str, limit: int = 24) -> str:
    return title if len(title) <= limit else title[: limit - 1] + "…"


def _print_report(report: RenderReport, dry_run: bool) -> None:
    if dry_run:
        typer.echo(f"Chapters (estimated, about {_clock(report.estimate)} in all):")
        for number, (title, start) in enumerate(report.outline, 1):
            typer.echo(f"  {number:>2}. {_clock(start):>7}  {title}")
        typer.echo(f"Dry run: nothing synthesized. The episode would go to {report.folder}")
        return
    typer.echo(f"Episode: {report.title}")
    if report.skipped:
        typer.echo("Complete and unchanged since the last render: nothing to do.")
    cached = counted(report.plan.cached, "line")
    typer.echo(f"Duration: {_clock(report.duration)}  ({cached} from the cache)")
    typer.echo("Chapters:")
    for number, chapter in enumerate(report.chapters, 1):
        typer.echo(f"  {number:>2}. {_clock(chapter.start):>7}  {chapter.title}")
    typer.echo(f"Files in {report.folder}:")
    for path in report.files:
        typer.echo(f"  {path.relative_to(report.folder)}")
    for note in report.notes:
        typer.echo(f"Note: {note}")


def _failure(result: EpisodeResult) -> str:
    """The article and why it failed (once: parse errors already name their file)."""
    message = str(result.error)
    return message if str(result.source) in message else f"{result.source}: {message}"


def _plan_line(plan: SynthesisPlan) -> str:
    return (
        f"{counted(plan.lines, 'line')}, {counted(plan.characters, 'character')}: "
        f"{plan.cached} from the cache, {plan.new} to synthesize"
    )


def _print_summary(batch: BatchReport, dry_run: bool) -> None:
    ok = sum(1 for r in batch.results if r.ok and r.report is not None and not r.report.skipped)
    skipped = sum(1 for r in batch.results if r.report is not None and r.report.skipped)
    verb = "planned" if dry_run else "rendered"
    typer.echo(
        f"Summary: {ok} {verb}, {skipped} complete and unchanged, {len(batch.failed)} failed "
        f"({counted(len(batch.results), 'article')})"
    )
    for result in batch.results:
        report = result.report
        if result.error is not None:
            typer.echo(f"  failed   {_failure(result)}")
        elif report is not None and report.skipped:
            typer.echo(f"  ok       {result.source} → {report.folder} (unchanged, skipped)")
        elif report is not None and dry_run:
            typer.echo(
                f"  planned  {result.source} → {report.folder}: {_plan_line(report.plan)}, "
                f"about {_clock(report.estimate)}"
            )
        elif report is not None:
            typer.echo(
                f"  ok       {result.source} → {report.folder} ({_clock(report.duration)}, "
                f"{counted(report.plan.new, 'line')} synthesized)"
            )


ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Feed settings: the [feed] table of this TOML file "
        "(default: ./interview-audio.toml when it exists).",
    ),
]
TitleOpt = Annotated[str | None, typer.Option("--title", help="The podcast's title.")]
AuthorOpt = Annotated[str | None, typer.Option("--author", help="The podcast's author.")]
ImageOpt = Annotated[
    str | None,
    typer.Option("--image", help="Podcast cover: a JPEG/PNG file or URL (1400-3000 px square)."),
]


def _feed_options(
    config: Path | None, base_url: str | None = None, **flags: str | None
) -> FeedOptions:
    from interview_audio.publish.feed import load_feed_options

    return _run(lambda: load_feed_options(config, {**flags, "base_url": base_url}))


@app.command("feed")
def feed_command(
    folder: Annotated[
        Path, typer.Argument(help="The output folder holding episode folders.")
    ] = Path("output"),
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help="Where the folder is published, for absolute links."),
    ] = None,
    config: ConfigOpt = None,
    title: TitleOpt = None,
    author: AuthorOpt = None,
    image: ImageOpt = None,
) -> None:
    """Rebuild feed.xml and the library page (index.html) from the episode folders in FOLDER."""
    from interview_audio.publish.library import rebuild_library

    options = _feed_options(config, base_url, title=title, author=author, image=image)
    library = _run(lambda: rebuild_library(folder, options))
    typer.echo(f"Wrote {library.feed} and {library.page} ({counted(library.episodes, 'episode')}).")
    if not options.base_url:
        typer.echo(
            "The feed's links are relative: give --base-url (or base_url in [feed] of "
            "interview-audio.toml) for a podcast app, or use `interview-audio serve`."
        )


@app.command("serve")
def serve_command(
    folder: Annotated[Path, typer.Argument(help="The output folder to serve.")] = Path("output"),
    host: Annotated[
        str,
        typer.Option(
            "--host", help="Address to listen on; 0.0.0.0 shares it with your local network."
        ),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", min=0, max=65535, help="Port.")] = 8000,
    config: ConfigOpt = None,
    title: TitleOpt = None,
    author: AuthorOpt = None,
    image: ImageOpt = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No line per request (errors still print).")
    ] = False,
    watch: Annotated[
        Path | None,
        typer.Option(
            "--watch",
            help="Also render each new or changed article of this folder into FOLDER while "
            "serving (as the watch command does).",
        ),
    ] = None,
    engine: EngineOpt = None,
    poll: PollOpt = False,
) -> None:
    """Serve the episodes for a browser and podcast apps (read-only; Ctrl-C stops)."""
    from interview_audio.files import check_writable
    from interview_audio.pipeline import RenderOptions
    from interview_audio.publish.serve import lan_addresses, make_server

    options = _feed_options(config, title=title, author=author, image=image)
    if watch is not None:
        _run(lambda: check_writable(folder))
        folder.mkdir(parents=True, exist_ok=True)
    server = _run(lambda: make_server(folder, host, port, options))
    bound = server.server_port
    typer.echo(f"Serving {folder} at {server.url}  (feed: {server.url}feed.xml)")
    if host in ("0.0.0.0", "::"):
        shown = [f"http://{address}:{bound}/" for address in lan_addresses()]
        typer.echo(
            "Shared with your local network: anyone on it can listen and download. Subscribe "
            "from a phone on the same network with "
            + (
                " or ".join(f"{url}feed.xml" for url in shown)
                if shown
                else f"http://THIS-COMPUTER'S-ADDRESS:{bound}/feed.xml"
            )
            + "."
        )
    _ENGINE_LINE.also = () if quiet else (_REQUEST_LOG,)
    if watch is not None:
        render = _run(lambda: RenderOptions(output=folder, engine=engine, feed=options))
        _watch(watch, render, poll=poll, serving=server)
        return
    typer.echo("Press Ctrl-C to stop.")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    typer.echo("Stopped.")


@app.command("inspect")
def inspect_command(
    mp3: Annotated[Path, typer.Argument(help="An MP3 written by render (or any MP3).")],
) -> None:
    """Show an MP3's tags and chapters, read back from the file."""
    from rich.console import Console
    from rich.table import Table

    from interview_audio.publish.tags import read_tags

    result = _run(lambda: read_tags(mp3))
    console = Console()
    console.print(
        f"{result.path}: {_clock(result.duration)}, {result.sample_rate} Hz, "
        f"{counted(result.channels, 'channel')}, "
        f"{result.bitrate // 1000} kbit/s {result.bitrate_mode}, "
        f"ID3 {result.id3_version}",
        soft_wrap=True,  # a long path stays one piece: the terminal wraps it, not mid-word
        markup=False,
        highlight=False,
    )
    tags = Table("tag", "value", title="Tags")
    for name, value in result.tags:
        tags.add_row(name, value)
    console.print(tags)
    if result.chapters:
        table = Table("#", "start", "end", "title", title="Chapters")
        for number, mark in enumerate(result.chapters, 1):
            table.add_row(
                str(number), _clock(mark.start_ms / 1000), _clock(mark.end_ms / 1000), mark.title
            )
        console.print(table)


@app.command("doctor")
def doctor_command(
    voices: VoicesOpt = None,
    cache_dir: Annotated[
        Path | None, typer.Option("--cache-dir", help="The cache folder render would be given.")
    ] = None,
) -> None:
    """Check what a render needs (ffmpeg, the engines, the cache, voices.yaml) and print it as
    a table for a bug report; exit 1 when a default render cannot run, saying what to do."""
    from interview_audio.doctor import Outcome, diagnose

    missing: list[str] = []
    for finding in diagnose(voices, cache_dir):
        typer.echo(f"{finding.name:<16} {finding.outcome.value:<4} {finding.detail}")
        if finding.outcome is Outcome.FAIL:
            missing.append(finding.name)
    if missing:
        typer.echo(
            f"A default render cannot run here: fix {', '.join(missing)} as the FAIL lines say."
        )
        raise typer.Exit(1)
    typer.echo("Everything a default render needs is here.")


@app.command("version")
def version_command() -> None:
    """Print the version."""
    _print_version(True)
