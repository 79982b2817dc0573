"""What voices.yaml sets, entry by entry, for `interview-audio voices`."""

from __future__ import annotations

from dataclasses import dataclass

from interview_audio.article.script import Gender
from interview_audio.voices.model import NARRATOR, Voice, VoicesConfig


@dataclass(frozen=True)
class ConfiguredVoice:
    """A voice voices.yaml sets for one engine, and for whom (`who`: narrator, a role default,
    a speaker's name or a pool entry); `gender` as the file says it."""

    who: str
    voice: Voice
    gender: Gender | None


def configured_voices(config: VoicesConfig, engine: str) -> tuple[ConfiguredVoice, ...]:
    """Every voice `config` sets for `engine`, in the file's order."""
    entries = [
        ConfiguredVoice(NARRATOR, config.narrator.for_engine(engine), config.narrator.gender)
    ]
    for role, voices in config.roles:
        entries.append(
            ConfiguredVoice(f"{role.value} (default)", voices.for_engine(engine), voices.gender)
        )
    for speaker in config.speakers:
        voice = speaker.for_engine(engine)
        if voice is not None:
            entries.append(ConfiguredVoice(speaker.name, voice, speaker.gender))
    for number, voices in enumerate(config.pool, 1):
        entries.append(ConfiguredVoice(f"pool #{number}", voices.for_engine(engine), voices.gender))
    return tuple(entries)


def voice_users(config: VoicesConfig, engine: str) -> dict[str, tuple[str, ...]]:
    """Which parts of voices.yaml use each voice name of `engine` (a mix counts for each style)."""
    users: dict[str, list[str]] = {}
    for entry in configured_voices(config, engine):
        for name in entry.voice.voice_names():
            users.setdefault(name, []).append(entry.who)
    return {name: tuple(who) for name, who in users.items()}
