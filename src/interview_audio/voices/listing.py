"""What voices.yaml sets, entry by entry, for `interview-audio voices`."""

from __future__ import annotations

from dataclasses import dataclass

from interview_audio.article.script import Gender
from interview_audio.voices.model import NARRATOR, SpeakerVoices, Voice, VoicesConfig, VoiceSet


@dataclass(frozen=True)
class ConfiguredVoice:
    """A voice voices.yaml sets for one engine, and for whom (`who`: narrator, a role default,
    a speaker's name or a pool entry); `gender` as the file says it."""

    who: str
    voice: Voice
    gender: Gender | None


def configured_voices(config: VoicesConfig, engine: str) -> tuple[ConfiguredVoice, ...]:
    """Every voice `config` sets for `engine`, in the file's order (a set that gives none on
    that engine, for an engine without a default, is left out)."""
    sets: list[tuple[str, VoiceSet | SpeakerVoices]] = [(NARRATOR, config.narrator)]
    sets += [(f"{role.value} (default)", voices) for role, voices in config.roles]
    sets += [(speaker.name, speaker) for speaker in config.speakers]
    sets += [(f"pool #{number}", voices) for number, voices in enumerate(config.pool, 1)]
    return tuple(
        ConfiguredVoice(who, voice, entry.gender)
        for who, entry in sets
        if (voice := entry.get(engine)) is not None
    )


def voice_users(config: VoicesConfig, engine: str) -> dict[str, tuple[str, ...]]:
    """Which parts of voices.yaml use each voice name of `engine` (a mix counts for each style)."""
    users: dict[str, list[str]] = {}
    for entry in configured_voices(config, engine):
        for name in entry.voice.voice_names():
            users.setdefault(name, []).append(entry.who)
    return {name: tuple(who) for name, who in users.items()}
