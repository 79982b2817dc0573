"""Voice identity: which voice each speaker has, per engine, as voices.yaml says.

Per-run choices (which engine, how many jobs) are flags and live in `EngineOptions`;
this module only knows what a speaker sounds like.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from interview_audio.article.script import Gender, Role, name_key
from interview_audio.errors import VoicesError


@dataclass(frozen=True)
class VoiceTransform:
    """A change made to every line a voice speaks, after synthesis (see `transform.py`).

    It turns one engine voice into other speakers: `formants` moves the resonances of the
    vocal tract (percent; -10 sounds like a bigger person, +10 a smaller one), `median_pitch`
    moves the voice's median pitch to that many hertz (None keeps it), and `pitch_range` widens
    or narrows the intonation around it (percent; -100 is a monotone).
    """

    formants: float = 0.0
    median_pitch: float | None = None
    pitch_range: float = 0.0


@runtime_checkable
class Voice(Protocol):
    """One engine's voice as voices.yaml sets it: a frozen dataclass of the engine's own fields
    (its cache key is made of them and of the class name) and a `transform`. Each engine defines
    its own, beside the engine (synthesis/engines/<name>/voice.py)."""

    engine: ClassVar[str]
    __dataclass_fields__: ClassVar[dict[str, Any]]

    @property
    def transform(self) -> VoiceTransform | None: ...

    def identity(self) -> str:
        """The engine voice that makes the person, case-folded (prosody such as rate aside)."""
        ...

    def label(self) -> str:
        """A short description: the voice's name and whatever differs from its defaults."""
        ...

    def voice_names(self) -> tuple[str, ...]:
        """The engine's own voices this one is made of (each style of a mix)."""
        ...

    def distance_to(self, other: Voice) -> float:
        """How far apart the engine voices themselves sound (0 the same, about 1 another
        voice), for `other` of the same engine; casting adds pitch, formants and gender."""
        ...


NARRATOR = "narrator"
PACKAGED_SOURCE = "voices.yaml (packaged default)"
NARRATOR_NAMES = (NARRATOR, "旁白")


@dataclass(frozen=True)
class VoiceSet:
    """One voice per engine, so the same file works whichever engine renders (an engine the
    file leaves out gets its own default voice, where it has one).

    `gender` is whom the voices sound like (None when the file does not say); `where` names
    the entry in voices.yaml, for errors.
    """

    voices: tuple[Voice, ...]
    gender: Gender | None = None
    where: str = field(default="", compare=False)

    def get(self, engine: str) -> Voice | None:
        """The set's voice on `engine`, or None when the file gives it none."""
        return next((voice for voice in self.voices if voice.engine == engine), None)

    def for_engine(self, engine: str) -> Voice:
        found = self.get(engine)
        if found is None:
            raise VoicesError(
                f"{self.where or 'A voice set in voices.yaml'}: no {engine} voice, and the "
                f"{engine} engine has no default one; add `{engine}: {{...}}` there."
            )
        return found


@dataclass(frozen=True)
class SpeakerVoices:
    """A named speaker in voices.yaml: the voices it pins, one per engine it mentions.

    An engine left out means "no preference": the speaker then gets the role default or a pool
    voice on that engine, like a speaker the file does not name.
    """

    name: str
    aliases: tuple[str, ...]
    voices: tuple[Voice, ...]
    gender: Gender | None = None  # `gender:` in the entry: who the speaker is, above any evidence

    def get(self, engine: str) -> Voice | None:
        """The voice the entry pins on `engine`, or None: no preference."""
        return next((voice for voice in self.voices if voice.engine == engine), None)

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(name_key(name) for name in (self.name, *self.aliases))


@dataclass(frozen=True)
class Pauses:
    """Silence, in seconds, spliced between lines: the engines cannot be asked for pauses."""

    paragraph: float = 0.35
    speaker_change: float = 0.7
    chapter: float = 1.5


@dataclass(frozen=True)
class VoicesConfig:
    """Everything voices.yaml says. `path` is None for the packaged default."""

    path: Path | None
    engine: str
    narrator: VoiceSet
    roles: tuple[tuple[Role, VoiceSet], ...]
    speakers: tuple[SpeakerVoices, ...]
    pool: tuple[VoiceSet, ...]
    pauses: Pauses
    lexicon: tuple[tuple[str, str], ...]
    # Engine-wide settings by engine name (Kokoro's model files), as each engine reads them.
    engine_settings: tuple[tuple[str, object], ...] = ()
    # Where the file sets each voice, for errors; not part of what the file says.
    places: tuple[tuple[Voice, str], ...] = field(default=(), compare=False)

    @property
    def source(self) -> str:
        return str(self.path) if self.path is not None else PACKAGED_SOURCE

    def locate(self, voice: Voice, error: VoicesError) -> VoicesError:
        """`error` about `voice`, prefixed with where this file sets that voice (if it does)."""
        places = [place for known, place in self.places if known == voice]
        if not places:
            return error
        also = f" (also set at {'; '.join(places[1:])})" if len(places) > 1 else ""
        return VoicesError(f"{places[0]}{also}: {error}")

    def settings_for(self, engine: str) -> object | None:
        """What the file's top-level section named after `engine` says, if it has one."""
        return next((value for name, value in self.engine_settings if name == engine), None)

    def role_voices(self, role: Role) -> VoiceSet | None:
        return next((voices for name, voices in self.roles if name is role), None)

    def speaker_entry(self, *names: str) -> SpeakerVoices | None:
        """The entry whose name or an alias equals one of `names` (spaces, dots, case ignored)."""
        wanted = {name_key(name) for name in names}
        return next((entry for entry in self.speakers if entry.keys & wanted), None)


@dataclass(frozen=True)
class CastEntry:
    """Who speaks with which voice, and which part of voices.yaml decided it."""

    speaker: str
    voice: Voice
    source: str


@dataclass(frozen=True)
class Cast:
    """The voices of one episode on one engine: narrator first, then speakers as they appear."""

    engine: str
    entries: tuple[CastEntry, ...]

    def voice_for(self, speaker: str) -> Voice:
        for entry in self.entries:
            if entry.speaker == speaker:
                return entry.voice
        key = name_key(speaker)
        if key in {name_key(name) for name in NARRATOR_NAMES}:
            return self.entries[0].voice
        for entry in self.entries:
            if name_key(entry.speaker) == key:
                return entry.voice
        known = ", ".join(entry.speaker for entry in self.entries)
        raise VoicesError(f"No voice was cast for {speaker!r}; the cast has: {known}.")


def voice_key(voice: Voice) -> tuple[str, str]:
    """What makes two voices sound like different people: the engine voice and its transform
    (prosody tweaks such as rate do not)."""
    name = voice.identity()
    if voice.transform is not None:
        name = f"{name} {transform_label(voice.transform)}"
    return voice.engine, name


def transform_label(transform: VoiceTransform) -> str:
    """The transform as voices.yaml writes it, e.g. `formants -12% median_pitch 85Hz`."""
    parts = []
    if transform.formants:
        parts.append(f"formants {transform.formants:+g}%")
    if transform.median_pitch is not None:
        parts.append(f"median_pitch {transform.median_pitch:g}Hz")
    if transform.pitch_range:
        parts.append(f"pitch_range {transform.pitch_range:+g}%")
    return " ".join(parts)


def voice_label(voice: Voice) -> str:
    """A short human description: the voice name plus whatever differs from the defaults."""
    if voice.transform is None:
        return voice.label()
    return f"{voice.label()}, {transform_label(voice.transform)}"
