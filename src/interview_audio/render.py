"""render(): the whole pipeline, article in, finished episode folder out.

parse → chapters → voices → lines → synthesis → assemble → tags → captions. Each stage is its
own module; this one only decides the order and what the narrator says.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from interview_audio.assemble import (
    AssembleOptions,
    ChapterSpan,
    EpisodeChapter,
    Timeline,
    assemble,
)
from interview_audio.cache import Cache, default_cache_dir
from interview_audio.captions import transcript, write_chapters_json, write_srt, write_vtt
from interview_audio.chapters import find_chapters
from interview_audio.cover import episode_cover
from interview_audio.engines import select_engine
from interview_audio.engines.base import EngineOptions, Speech
from interview_audio.errors import InputError, VoicesError
from interview_audio.feed import FeedOptions, load_feed_options
from interview_audio.ffmpeg import Mp3Encoder
from interview_audio.files import atomic_path, check_writable, write_text
from interview_audio.library import rebuild_library
from interview_audio.manifest import MANIFEST_NAME, write_manifest
from interview_audio.page import PAGE_NAME, write_episode_page
from interview_audio.parse import read_script
from interview_audio.script import Role, Script, dump_yaml
from interview_audio.speakable import check_script
from interview_audio.speech import to_speech
from interview_audio.synthesis import Line, Segment, SynthesisPlan, plan_stats, synthesize
from interview_audio.tags import EpisodeTags, write_tags
from interview_audio.transform import apply_transform
from interview_audio.voices import (
    Cast,
    CastEntry,
    EdgeVoice,
    EspeakVoice,
    KokoroVoice,
    Pauses,
    Voice,
    VoicesConfig,
    cast_voices,
    check_voices,
    describe_cast,
    find_in_cast,
    load_voices,
)

log = logging.getLogger(__name__)

NARRATOR = "旁白"
INTRO_CHOICES = ("short", "full", "none")
INTRO_CHAPTER = "开场"
_NUMERALS = "一二三四五六七八九十"


def intro_paragraphs(script: Script, mode: str) -> list[str]:
    """What the narrator says before the conversation: title, source, date and topics."""
    if mode not in INTRO_CHOICES:
        raise InputError(f"Unknown intro {mode!r}: choose one of {', '.join(INTRO_CHOICES)}.")
    if mode == "none":
        return []
    meta = script.meta
    paragraphs = [meta.title.rstrip("。") + "。"]
    source = []
    if meta.author:
        source.append(f"本文来自{meta.author}")
    if meta.date:
        year, month, day = (int(part) for part in meta.date.split("-"))
        source.append(f"发布于{year}年{month}月{day}日")
    names = "、".join(s.name for s in script.speakers)
    source.append(f"对话者：{names}")
    paragraphs.append("，".join(source) + "。")
    if script.topics:
        if mode == "short":
            items = "；".join(
                f"{_ordinal(i)}，{topic.title}" for i, topic in enumerate(script.topics)
            )
            paragraphs.append(f"本期内容：{items}。")
        else:
            paragraphs.append("本期内容导读。")
            paragraphs.extend(
                f"{_ordinal(i)}，{topic.title}。{topic.text}".rstrip()
                for i, topic in enumerate(script.topics)
            )
    return paragraphs


def _ordinal(index: int) -> str:
    return f"第{_NUMERALS[index]}" if index < len(_NUMERALS) else f"第{index + 1}"


@dataclass(frozen=True)
class EpisodePlan:
    """Every line of the episode in order, and the episode's chapters as (title, first line)."""

    lines: tuple[Line, ...]
    chapters: tuple[tuple[str, int], ...]


def plan_episode(
    script: Script, cast: Cast, intro: str, lexicon: tuple[tuple[str, str], ...]
) -> EpisodePlan:
    """Turn the script into synthesis lines, one per paragraph, each with its voice."""
    lines: list[Line] = []
    chapters: list[tuple[str, int]] = []

    def add(speaker: str, role: Role, text: str, turn: int | None, paragraph: int) -> None:
        lines.append(
            Line(
                index=len(lines),
                speaker=speaker,
                role=role,
                voice=cast.voice_for(speaker),
                text=text,
                speech=to_speech(text, lexicon),
                turn=turn,
                paragraph=paragraph,
                chapter=len(chapters) - 1,
            )
        )

    opening = intro_paragraphs(script, intro)
    if opening:
        chapters.append((INTRO_CHAPTER, 0))
        for number, text in enumerate(opening):
            add(NARRATOR, Role.NARRATOR, text, None, number)
    starts = {chapter.start_turn: chapter.title for chapter in script.chapters}
    for turn_index, turn in enumerate(script.turns):
        if turn_index in starts:
            chapters.append((starts[turn_index], len(lines)))
        elif not chapters:
            chapters.append((script.title, len(lines)))
        for number, paragraph in enumerate(turn.paragraphs):
            add(turn.speaker, turn.role, paragraph, turn_index, number)
    return EpisodePlan(tuple(lines), tuple(chapters))


# Mandarin is read at about 290 characters a minute: the seed's 11,050 characters took 38.5
# minutes with Kokoro (5.0 a second) and 44.8 with eSpeak NG (4.3), pauses apart.
CHARS_PER_SECOND = 4.8


def estimate_outline(
    plan: EpisodePlan, pauses: Pauses
) -> tuple[tuple[tuple[str, float], ...], float]:
    """Estimated start of each chapter and length of the episode, in seconds, from the
    characters to speak and the pauses between lines: what `render --dry-run` shows."""
    starts = {first: title for title, first in plan.chapters}
    outline: list[tuple[str, float]] = []
    clock = 0.0
    for number, line in enumerate(plan.lines):
        if number:
            previous = plan.lines[number - 1]
            if number in starts:
                clock += pauses.chapter
            elif previous.speaker != line.speaker:
                clock += pauses.speaker_change
            else:
                clock += pauses.paragraph
        if number in starts:
            outline.append((starts[number], clock))
        clock += len(line.speech) / CHARS_PER_SECOND
    return tuple(outline), clock


def episode_folder_name(title: str, limit: int = 60) -> str:
    """A folder name from the title that is safe on every file system and never escapes -o."""
    name = "".join(ch for ch in title if unicodedata.category(ch)[0] != "C")
    name = re.sub(r'[\\/:*?"<>|]+', " ", name)
    name = re.sub(r"\s+", " ", name).strip(" .")
    name = name[:limit].rstrip(" .")
    return name or "episode"


def with_chapters(script: Script, method: str) -> Script:
    return replace(script, chapters=find_chapters(script, method))


PREVIEW_TEXT = (
    "你好，欢迎收听本期访谈。我们今天聊聊人工智能在2025年的发展，以及OpenAI和微软的合作。"
)


@dataclass(frozen=True)
class PreviewResult:
    engine: str
    voice: Voice
    path: Path
    duration: float
    cast: str = ""  # with an article: the speaker's line as render prints the cast


def resolve_voice(
    config: VoicesConfig, engine: str, speaker: str | None, voice: str | None
) -> Voice:
    """The voice a preview uses: a speaker's from voices.yaml, or a voice named directly."""
    if voice is not None:
        named: Voice
        if engine == "edge":
            named = EdgeVoice(name=voice)
        elif engine == "kokoro":
            named = KokoroVoice(style=voice)
        else:
            named = EspeakVoice(variant=voice)
        return named
    assert speaker is not None
    key = speaker.strip().casefold()
    if key in ("narrator", NARRATOR):
        return config.narrator.for_engine(engine)
    for role, aliases in ((Role.HOST, ("host", "主持人")), (Role.GUEST, ("guest", "嘉宾"))):
        voices = config.role_voices(role)
        if key in aliases and voices is not None:
            return voices.for_engine(engine)
    entry = config.speaker_entry(speaker)
    if entry is not None:
        pinned = entry.for_engine(engine)
        if pinned is not None:
            return pinned
        raise VoicesError(
            f"{config.source} gives {entry.name} no {engine} voice; add one under "
            f"speakers.{entry.name}.{engine}, or preview with --voice."
        )
    known = ", ".join(["narrator", "host", "guest", *(s.name for s in config.speakers)])
    raise VoicesError(
        f"{speaker!r} is not in {config.source}. Choose one of: {known}; or use --voice NAME. "
        "To hear a speaker of an article as render casts them, add the article: "
        f"--article ARTICLE --speaker {speaker}."
    )


def _cast_for_preview(
    article: Path, config: VoicesConfig, engine: str, speaker: str
) -> tuple[CastEntry, str]:
    """The speaker's voice as render casts the article, and a line they say in it."""
    script = read_script(article)
    cast = cast_voices(script, config, engine)
    entry = find_in_cast(cast, script, config, speaker)
    if entry is None:
        known = ", ".join(member.speaker for member in cast.entries)
        raise VoicesError(
            f"{speaker!r} does not speak in {article}. Its cast on {engine}: {known} "
            "(a speaker's other spellings, voices.yaml aliases and host/guest work too)."
        )
    if entry is cast.entries[0]:
        return entry, script.title
    said = next(turn.paragraphs[0] for turn in script.turns if turn.speaker == entry.speaker)
    return entry, _opening(said)


def _opening(paragraph: str, limit: int = 80) -> str:
    """The first sentences of a paragraph, up to about `limit` characters: enough to hear."""
    from interview_audio.speech import split_sentences

    text = ""
    for sentence in split_sentences(paragraph):
        if text and len(text) + len(sentence) > limit:
            break
        text += sentence
    return text or paragraph


def preview(
    text: str | None,
    *,
    speaker: str | None = None,
    voice: str | None = None,
    engine: str | None = None,
    voices_path: Path | None = None,
    article: Path | None = None,
    output: Path,
    bitrate: str = "96k",
) -> PreviewResult:
    """Speak one line with one voice into an MP3, so a user can audition it before a render.

    With `article`, `speaker` is cast exactly as render casts that article (the same
    `cast_voices`), and without `text` the speaker says their first words from it.
    """
    if (speaker is None) == (voice is None):
        raise InputError("Give exactly one of --speaker NAME or --voice NAME.")
    if article is not None and speaker is None:
        raise InputError("--article picks a speaker of that article: use it with --speaker NAME.")
    config = load_voices(voices_path)
    loaded = select_engine(
        engine or config.engine,
        EngineOptions(kokoro_model=config.kokoro_model, kokoro_voices=config.kokoro_voices),
    )
    cast_line = ""
    if article is not None and speaker is not None:
        entry, said = _cast_for_preview(article, config, loaded.name, speaker)
        chosen, text = entry.voice, text or said
        cast_line = describe_cast(Cast(loaded.name, (entry,)))[0]
    else:
        chosen = resolve_voice(config, loaded.name, speaker, voice)
    check_voices(config, [chosen], loaded.check_voice)
    speech = apply_transform(
        loaded.synthesize(to_speech(text or PREVIEW_TEXT, config.lexicon), chosen), chosen
    )
    write_mp3(speech, output, bitrate=bitrate)
    return PreviewResult(loaded.name, chosen, output, speech.duration, cast_line)


def write_mp3(speech: Speech, path: Path, *, bitrate: str) -> None:
    """Encode one synthesized clip as a mono 44.1 kHz MP3 (atomically)."""
    import numpy as np

    samples = np.frombuffer(speech.pcm, dtype="<i2").astype("<f4") / 32768.0
    with atomic_path(path) as temp:
        encoder = Mp3Encoder(
            temp,
            input_rate=speech.sample_rate,
            output_rate=44100,
            bitrate=bitrate,
            what=f"write {path}",
        )
        try:
            encoder.write(samples.tobytes())
        except BaseException:
            encoder.abort()
            raise
        encoder.finish()


@dataclass(frozen=True)
class RenderOptions:
    """Per-run choices (flags); voice identity stays in voices.yaml."""

    output: Path = Path("output")
    engine: str | None = None
    voices: Path | None = None
    chapters: str = "auto"
    intro: str = "short"
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


@dataclass(frozen=True)
class RenderReport:
    """What a render did, for the summary the CLI prints."""

    title: str
    folder: Path
    engine: str
    cast: tuple[str, ...]
    plan: SynthesisPlan
    timeline: Timeline | None = None
    files: tuple[Path, ...] = ()
    notes: tuple[str, ...] = ()  # things the listener may miss, each said once in the summary
    outline: tuple[tuple[str, float], ...] = ()  # estimated chapter starts (dry run)
    estimate: float = 0.0  # estimated episode length in seconds

    @property
    def duration(self) -> float:
        return self.timeline.duration if self.timeline else 0.0

    @property
    def chapters(self) -> tuple[ChapterSpan, ...]:
        return self.timeline.chapters if self.timeline else ()


class Reporter(Protocol):
    """Receives progress while a render runs (the CLI draws a progress bar from it)."""

    def started(self, engine: str, cast: Sequence[str], plan: SynthesisPlan) -> None: ...

    def line_done(self, segment: Segment) -> None: ...

    def stage(self, name: str) -> None: ...

    def assembling(self, step: str, done: float, total: float) -> None:
        """A pass of the assembly: `done` of `total` seconds of audio ("measuring", ...)."""


class _Silent:
    def started(self, engine: str, cast: Sequence[str], plan: SynthesisPlan) -> None:
        return None

    def line_done(self, segment: Segment) -> None:
        return None

    def stage(self, name: str) -> None:
        return None

    def assembling(self, step: str, done: float, total: float) -> None:
        return None


def render(
    source: Path, options: RenderOptions | None = None, reporter: Reporter | None = None
) -> RenderReport:
    """Render an article (or an edited script.yaml) into an episode folder under `output`."""
    options = options or RenderOptions()
    reporter = reporter or _Silent()
    script = with_chapters(read_script(source, options.keep_translation), options.chapters)
    warnings = check_script(script)
    for warning in warnings:
        log.warning("warning: %s", warning)
    if warnings and options.strict:
        raise InputError(
            f"{source}: {len(warnings)} speakability warning(s), listed above; --strict stops "
            "before synthesis. Fix the article, or write the script with `interview-audio "
            "script -o script.yaml`, edit it, and render that."
        )
    if not options.dry_run:
        check_writable(episode_folder(options.output, script.title))
    config = load_voices(options.voices)
    feed = options.feed or load_feed_options()
    engine = select_engine(
        options.engine or config.engine,
        EngineOptions(
            jobs=options.jobs,
            kokoro_model=config.kokoro_model,
            kokoro_voices=config.kokoro_voices,
        ),
    )
    cast = cast_voices(script, config, engine.name)
    check_voices(config, (entry.voice for entry in cast.entries), engine.check_voice)
    plan = plan_episode(script, cast, options.intro, config.lexicon)
    cache = Cache(options.cache_dir or default_cache_dir()) if options.use_cache else None
    stats = plan_stats(plan.lines, engine.identity, cache)
    folder = episode_folder(options.output, script.title)
    outline, estimate = estimate_outline(plan, config.pauses)
    report = RenderReport(
        script.title,
        folder,
        engine.name,
        tuple(describe_cast(cast)),
        stats,
        outline=outline,
        estimate=estimate,
    )
    reporter.started(engine.name, report.cast, stats)
    if options.dry_run:
        return report
    cover = episode_cover(
        options.cover, script.meta.cover_url, options.cache_dir or default_cache_dir()
    )

    segments = synthesize(plan.lines, engine, cache, jobs=options.jobs, progress=reporter.line_done)
    reporter.stage("assembling")
    episode = folder / "episode.mp3"
    timeline = assemble(
        segments,
        [EpisodeChapter(title, first) for title, first in plan.chapters],
        config.pauses,
        episode,
        options=AssembleOptions(lufs=options.lufs, bitrate=options.bitrate),
        chapter_dir=folder / "chapters" if options.split else None,
        measurements=cache,
        progress=reporter.assembling,
    )
    reporter.stage("tagging")
    base = episode_tags(script, cover.path)
    write_tags(episode, base, timeline.chapters)
    chapter_files = [span.file for span in timeline.chapters if span.file is not None]
    for number, span in enumerate(timeline.chapters, 1):
        if span.file is not None:
            write_tags(
                span.file,
                replace(base, title=span.title, track=(number, len(timeline.chapters)), lyrics=""),
            )
    write_vtt(timeline, folder / "episode.vtt")
    write_srt(timeline, folder / "episode.srt")
    write_chapters_json(timeline, folder / "chapters.json", script.title)
    write_text(folder / "script.yaml", dump_yaml(script))
    manifest = write_manifest(folder, script, timeline, engine=engine.name, cover=cover.path)
    write_episode_page(folder, manifest, transcript(timeline))
    rebuild_library(options.output, feed)
    names = ("episode.vtt", "episode.srt", "chapters.json", "script.yaml", PAGE_NAME, MANIFEST_NAME)
    files = (episode, *chapter_files, *(folder / name for name in names))
    notes = (cover.note,) if cover.note else ()
    return replace(report, timeline=timeline, files=files, notes=notes)


def episode_folder(output: Path, title: str) -> Path:
    """The episode's folder under `output`, checked to stay inside it."""
    folder = output / episode_folder_name(title)
    if output.resolve() not in folder.resolve().parents:
        raise InputError(f"The title {title!r} cannot be made into a folder name under {output}.")
    return folder


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
