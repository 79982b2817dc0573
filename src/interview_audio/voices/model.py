"""Voice identity: which voice each speaker has, per engine, as voices.yaml says.

Per-run choices (which engine, how many jobs) are flags and live in `EngineOptions`;
this module only knows what a speaker sounds like.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

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


@dataclass(frozen=True)
class EdgeVoice:
    """A Microsoft Edge neural voice and its prosody strings (checked like the service does)."""

    engine: ClassVar[str] = "edge"
    name: str
    rate: str = "+0%"
    pitch: str = "+0Hz"
    volume: str = "+0%"
    transform: VoiceTransform | None = None


@dataclass(frozen=True)
class KokoroVoice:
    """A Kokoro style name, or a weighted mix such as `jm_kumo*0.7+jf_alpha*0.3`."""

    engine: ClassVar[str] = "kokoro"
    style: str
    speed: float = 1.15
    transform: VoiceTransform | None = None


@dataclass(frozen=True)
class EspeakVoice:
    """An eSpeak NG voice variant (e.g. `cmn+f3`), rate in words per minute, pitch 0-100."""

    engine: ClassVar[str] = "espeak"
    variant: str = "cmn+f3"
    rate: int = 175
    pitch: int = 50
    transform: VoiceTransform | None = None


Voice = EdgeVoice | KokoroVoice | EspeakVoice


ENGINE_NAMES: tuple[str, ...] = (EdgeVoice.engine, KokoroVoice.engine, EspeakVoice.engine)
ENGINE_CHOICES: tuple[str, ...] = ("auto", *ENGINE_NAMES)
NARRATOR = "narrator"
PACKAGED_SOURCE = "voices.yaml (packaged default)"
# A mix's weights must add up to one, within this much (people write thirds as 0.33).
_MIX_TOLERANCE = 0.011
_STYLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_WEIGHT = re.compile(r"\d+(?:\.\d*)?|\.\d+")
NARRATOR_NAMES = (NARRATOR, "旁白")


@dataclass(frozen=True)
class VoiceSet:
    """One voice per engine, so the same file works whichever engine renders.

    `gender` is whom the voices sound like (None when the file does not say).
    """

    edge: EdgeVoice
    kokoro: KokoroVoice
    espeak: EspeakVoice
    gender: Gender | None = None

    def for_engine(self, engine: str) -> Voice:
        check_engine(engine)
        return next(v for v in (self.edge, self.kokoro, self.espeak) if v.engine == engine)


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

    def for_engine(self, engine: str) -> Voice | None:
        check_engine(engine)
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
    kokoro_model: Path | None
    kokoro_voices: Path | None
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
    if isinstance(voice, EdgeVoice):
        name = voice.name.casefold()
    elif isinstance(voice, KokoroVoice):
        name = "+".join(f"{n}*{w:g}" for n, w in sorted(kokoro_mix(voice.style)))
    else:
        name = voice.variant.casefold()
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
    if isinstance(voice, EdgeVoice):
        extras = [
            f"{field} {value}"
            for field, value, default in (
                ("rate", voice.rate, "+0%"),
                ("pitch", voice.pitch, "+0Hz"),
                ("volume", voice.volume, "+0%"),
            )
            if value != default
        ]
        label = " ".join([voice.name, *extras])
    elif isinstance(voice, KokoroVoice):
        label = f"{voice.style} speed {voice.speed:g}"
    else:
        label = f"{voice.variant} rate {voice.rate} pitch {voice.pitch}"
    if voice.transform is None:
        return label
    return f"{label}, {transform_label(voice.transform)}"


def kokoro_mix(style: str) -> tuple[tuple[str, float], ...]:
    """Parse a Kokoro style: `jm_kumo`, or weights that add up to 1 like `jm_kumo*0.7+jf_alpha*0.3`.

    Raises ValueError with the reason; the loader turns it into a VoicesError with the line.
    """
    terms = [term.strip() for term in style.split("+")]
    if len(terms) == 1 and _STYLE_NAME.fullmatch(terms[0]):
        return ((terms[0], 1.0),)
    mix: list[tuple[str, float]] = []
    for term in terms:
        name, star, weight = (part.strip() for part in term.partition("*"))
        if not _STYLE_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a style name (letters, digits and _ only)")
        if not star or not _WEIGHT.fullmatch(weight):
            raise ValueError(f"give every style of a mix a weight, like {name}*0.5")
        if float(weight) <= 0:
            raise ValueError(f"the weight of {name} must be above 0")
        if any(name == seen for seen, _ in mix):
            raise ValueError(f"{name} appears twice")
        mix.append((name, float(weight)))
    total = sum(weight for _, weight in mix)
    if abs(total - 1.0) > _MIX_TOLERANCE:
        raise ValueError(f"the weights add up to {total:g}; make them add up to 1")
    return tuple(mix)


def check_engine(engine: str) -> None:
    if engine not in ENGINE_NAMES:
        raise VoicesError(f"Unknown engine {engine!r}: choose one of {', '.join(ENGINE_NAMES)}.")
