"""Planning an episode: an article becomes its lines (each with a voice), chapters and folder.

Nothing is synthesized here: a plan says what a render would do, so a batch can plan every
article first, report the ones that cannot be rendered and skip the ones already done.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path

from interview_audio.article.chapters import find_chapters
from interview_audio.article.intro import brief
from interview_audio.article.parse import read_script
from interview_audio.article.script import Role, Script
from interview_audio.article.speakable import check_script
from interview_audio.choices import ChapterMethod, IntroMode, choose
from interview_audio.display import counted
from interview_audio.errors import InputError
from interview_audio.synthesis.cache import Cache
from interview_audio.synthesis.engines.base import Engine
from interview_audio.synthesis.queue import Line, SynthesisPlan, plan_stats
from interview_audio.synthesis.reading import to_speech
from interview_audio.voices.casting import cast_voices, check_voices, describe_cast, stray_entries
from interview_audio.voices.model import Cast, Pauses, VoicesConfig

log = logging.getLogger(__name__)

NARRATOR = "旁白"
INTRO_CHAPTER = "开场"
_NUMERALS = "一二三四五六七八九十"


def intro_paragraphs(script: Script, mode: IntroMode | str) -> list[str]:
    """What the narrator says before the conversation: title, source, date and speakers, the
    article's introduction (all of it in full, a brief in short: `intro.brief`), and the
    topics."""
    mode = choose(IntroMode, mode, "intro")
    if mode is IntroMode.NONE:
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
    paragraphs.extend(script.intro if mode is IntroMode.FULL else brief(script))
    if script.topics:
        if mode is IntroMode.SHORT:
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


def episode_folder(output: Path, title: str) -> Path:
    """The episode's folder under `output`, checked to stay inside it."""
    folder = output / episode_folder_name(title)
    if output.resolve() not in folder.resolve().parents:
        raise InputError(f"The title {title!r} cannot be made into a folder name under {output}.")
    return folder


@dataclass(frozen=True)
class Episode:
    """An article ready to render: its script, cast, lines and chapters, and where it goes."""

    source: Path
    script: Script
    folder: Path
    engine: str
    cast: tuple[str, ...]
    plan: EpisodePlan
    stats: SynthesisPlan
    outline: tuple[tuple[str, float], ...] = ()  # estimated chapter starts, in seconds
    estimate: float = 0.0  # estimated episode length in seconds

    @property
    def title(self) -> str:
        return self.script.title


def prepare_episode(
    source: Path,
    config: VoicesConfig,
    engine: Engine,
    *,
    output: Path,
    chapters: ChapterMethod = ChapterMethod.AUTO,
    intro: IntroMode = IntroMode.SHORT,
    keep_translation: bool = False,
    strict: bool = False,
    cache: Cache | None = None,
) -> Episode:
    """Read an article (or script.yaml), check it is speakable, find its chapters, cast its
    voices on `engine` and plan its lines; raise the project's error when any of that fails.

    Speakability findings are logged as warnings; with `strict` they stop the article.
    """
    script = with_chapters(read_script(source, keep_translation), chapters)
    warnings = check_script(script)
    for warning in warnings:
        log.warning("warning: %s: %s", source.name, warning)
    if warnings and strict:
        raise InputError(
            f"{source}: {counted(len(warnings), 'speakability warning')}, listed above; "
            "--strict stops before synthesis. Fix the article, or write the script with "
            "`interview-audio script -o script.yaml`, edit it, and render that."
        )
    for stray in stray_entries(script, config):
        log.warning("warning: %s: %s", source.name, stray)
    cast = cast_voices(script, config, engine.name)
    check_voices(config, (entry.voice for entry in cast.entries), engine.check_voice)
    plan = plan_episode(script, cast, intro, config.lexicon)
    outline, estimate = estimate_outline(plan, config.pauses)
    return Episode(
        source=source,
        script=script,
        folder=episode_folder(output, script.title),
        engine=engine.name,
        cast=tuple(describe_cast(cast)),
        plan=plan,
        stats=plan_stats(plan.lines, engine.identity, cache),
        outline=outline,
        estimate=estimate,
    )
