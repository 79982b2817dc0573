"""Preview: one line in one voice, so a user can audition voices before a render."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from interview_audio.article.script import Role, Script
from interview_audio.errors import InputError, VoicesError
from interview_audio.ffmpeg import Mp3Encoder
from interview_audio.ffmpeg import check as check_ffmpeg
from interview_audio.files import atomic_path
from interview_audio.synthesis.engines import select_engine
from interview_audio.synthesis.engines.base import EngineOptions, Speech
from interview_audio.synthesis.reading import to_speech
from interview_audio.synthesis.transform import apply_transform
from interview_audio.voices.casting import cast_voices, check_voices, describe_cast, find_in_cast
from interview_audio.voices.kinds import voice_kinds
from interview_audio.voices.load import load_voices
from interview_audio.voices.model import NARRATOR_NAMES, Cast, CastEntry, Voice, VoicesConfig

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
        return voice_kinds()[engine].named_voice(voice)
    assert speaker is not None
    key = speaker.strip().casefold()
    if key in NARRATOR_NAMES:
        return config.narrator.for_engine(engine)
    for role, aliases in ((Role.HOST, ("host", "主持人")), (Role.GUEST, ("guest", "嘉宾"))):
        voices = config.role_voices(role)
        if key in aliases and voices is not None:
            return voices.for_engine(engine)
    entry = config.speaker_entry(speaker)
    if entry is not None:
        pinned = entry.get(engine)
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
    article: Path, script: Script, config: VoicesConfig, engine: str, speaker: str
) -> tuple[CastEntry, str]:
    """The speaker's voice as render casts the article, and a line they say in it."""
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
    from interview_audio.synthesis.sentences import split_sentences

    text = ""
    for sentence in split_sentences(paragraph):
        if text and len(text) + len(sentence) > limit:
            break
        text += sentence
    return text or paragraph


def _quiet(message: str) -> None:
    """Say nothing: the default `status` of a preview."""


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
    status: Callable[[str], None] = _quiet,
) -> PreviewResult:
    """Speak one line with one voice into an MP3, so a user can audition it before a render.

    With `article`, `speaker` is cast exactly as render casts that article (the same
    `cast_voices`), and without `text` the speaker says their first words from it. `status`
    hears each step as it starts (asking Edge, loading the engine, speaking, encoding), so a
    slow machine is never silent. The engine loads everything it needs up front, once per
    process: a second preview in the same process pays only for the speaking and the encoding.
    """
    if (speaker is None) == (voice is None):
        raise InputError("Give exactly one of --speaker NAME or --voice NAME.")
    if article is not None and speaker is None:
        raise InputError("--article picks a speaker of that article: use it with --speaker NAME.")
    check_ffmpeg()  # a missing encoder fails now, not after the speaking
    config = load_voices(voices_path)
    script = None
    if article is not None:
        from interview_audio.article.parse import read_script  # only an article's preview

        status(f"Reading {article}…")  # before the engine: a mistake in it shows at once
        script = read_script(article)
    loaded = select_engine(
        engine or config.engine,
        # One line: every core on it (a render's default is one line per core).
        EngineOptions(jobs=1, engine_settings=config.engine_settings, preload=True),
        status,
    )
    cast_line = ""
    if article is not None and script is not None and speaker is not None:
        entry, said = _cast_for_preview(article, script, config, loaded.name, speaker)
        chosen, text = entry.voice, text or said
        cast_line = describe_cast(Cast(loaded.name, (entry,)))[0]
    else:
        chosen = resolve_voice(config, loaded.name, speaker, voice)
    check_voices(config, [chosen], loaded.check_voice)
    spoken = to_speech(text or PREVIEW_TEXT, config.lexicon)
    status(f"Speaking {len(spoken)} characters…")
    speech = apply_transform(loaded.synthesize(spoken, chosen), chosen)
    status(f"Encoding {output}…")
    write_mp3(speech, output, bitrate=bitrate)
    return PreviewResult(loaded.name, chosen, output, speech.duration, cast_line)


def write_mp3(speech: Speech, path: Path, *, bitrate: str) -> None:
    """Encode one synthesized clip as a mono 44.1 kHz MP3 (atomically)."""
    with atomic_path(path) as temp:
        encoder = Mp3Encoder(
            temp,
            input_rate=speech.sample_rate,
            output_rate=44100,
            bitrate=bitrate,
            what=f"write {path}",
            sample_format="s16le",
        )
        try:
            encoder.write(speech.pcm)
        except BaseException:
            encoder.abort()
            raise
        encoder.finish()
