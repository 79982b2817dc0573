"""Voice identity: which voice each speaker has, per engine, as voices.yaml says.

Per-run choices (which engine, how many jobs) are flags and live in `EngineOptions`;
this module only knows what a speaker sounds like.
"""

from __future__ import annotations

import difflib
import logging
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import ClassVar

import yaml

from interview_audio import yamlfile
from interview_audio.article.script import Gender, Role, Script, Speaker, name_key
from interview_audio.errors import VoicesError

log = logging.getLogger(__name__)


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

SPEED_RANGE = (0.5, 2.0)
ESPEAK_RATE_RANGE = (80, 450)
ESPEAK_PITCH_RANGE = (0, 100)
PAUSE_RANGE = (0.0, 10.0)
# Suggestions for a mistyped name: difflib ratio of the best match, and how far below it others
# may be and still be shown.
_CLOSE = 0.6
_AS_CLOSE = 0.05
# Beyond about a quarter the formant shift sounds like a cartoon; Praat's pitch analysis of
# the result wants a median inside its 60-600 Hz search range.
FORMANTS_RANGE = (-30.0, 30.0)
MEDIAN_PITCH_RANGE = (60.0, 400.0)
PITCH_RANGE_RANGE = (-100.0, 200.0)
# A mix's weights must add up to one, within this much (people write thirds as 0.33).
_MIX_TOLERANCE = 0.011

_PERCENT = re.compile(r"[+-]\d+%")
_HERTZ = re.compile(r"[+-]\d+Hz")
_SIGNED_PERCENT = re.compile(r"([+-]\d+(?:\.\d+)?)\s*%")
_ABSOLUTE_HERTZ = re.compile(r"(\d+(?:\.\d+)?)\s*(?:Hz)?", re.IGNORECASE)
_STYLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_WEIGHT = re.compile(r"\d+(?:\.\d*)?|\.\d+")
_ESPEAK_VARIANT = re.compile(r"[A-Za-z][A-Za-z0-9-]*(?:\+[A-Za-z0-9_-]+)?")
_NARRATOR_NAMES = (NARRATOR, "旁白")


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
        _check_engine(engine)
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
        _check_engine(engine)
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
        if key in {name_key(name) for name in _NARRATOR_NAMES}:
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


def closest(name: str, choices: Iterable[str], count: int = 3) -> list[str]:
    """The valid names closest to a mistyped one (difflib), best first; case does not count.

    Only names about as close as the best one are kept: voice names share long parts
    (`zh-CN-…Neural`), so a loose cutoff alone would suggest voices that merely share those.
    """
    folded: dict[str, str] = {}
    for choice in choices:
        folded.setdefault(choice.casefold(), choice)
    matcher = difflib.SequenceMatcher(b=name.casefold())
    scored: list[tuple[float, str]] = []
    for key, choice in folded.items():
        matcher.set_seq1(key)
        scored.append((matcher.ratio(), choice))
    scored.sort(key=lambda pair: -pair[0])
    if not scored or scored[0][0] < _CLOSE:
        return []
    floor = scored[0][0] - _AS_CLOSE
    return [choice for ratio, choice in scored[:count] if ratio >= floor]


def did_you_mean(names: Sequence[str]) -> str:
    """`did you mean a, b or c?`, or "" when nothing is close."""
    if not names:
        return ""
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    return f"did you mean {listed}?"


def suggest(name: str, choices: Iterable[str], whole_list: int = 10) -> str:
    """`did you mean …?` for the valid names closest to `name`. When none is close, a short
    list of choices is given whole; for a long one, "" (callers point at `voices`)."""
    names = list(choices)
    hint = did_you_mean(closest(name, names))
    if not hint and len(names) <= whole_list:
        hint = f"choose from {', '.join(sorted(names))}."
    return hint


def check_voices(
    config: VoicesConfig, voices: Iterable[Voice], check: Callable[[Voice], None]
) -> None:
    """Run an engine's `check_voice` on each voice; an error names where voices.yaml sets it."""
    for voice in voices:
        try:
            check(voice)
        except VoicesError as exc:
            raise config.locate(voice, exc) from None


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


def load_voices(path: Path | None = None) -> VoicesConfig:
    """Read voices.yaml: `path` if given, else ./voices.yaml, else the packaged default."""
    if path is not None:
        return _config(yamlfile.read(path, VoicesError), path.absolute())
    local = Path.cwd() / "voices.yaml"
    if local.is_file():
        log.info("Voices from %s", local)
        return _config(yamlfile.read(local, VoicesError), local)
    try:
        text = resources.files("interview_audio").joinpath("data/voices.yaml").read_text("utf-8")
    except OSError as exc:
        raise VoicesError(
            f"The packaged voices.yaml is missing ({exc}); reinstall interview-audio "
            "or pass a voices file."
        ) from None
    log.info("Voices from the packaged default (no voices.yaml in %s)", Path.cwd())
    return _config(yamlfile.load(text, PACKAGED_SOURCE, VoicesError), None)


def stated_genders(script: Script, config: VoicesConfig) -> Script:
    """The script with every gender that voices.yaml's speaker entries state (`gender:`), which
    outranks anything the article suggests."""
    speakers = []
    for speaker in script.speakers:
        entry = config.speaker_entry(speaker.name, *speaker.aliases)
        if entry is not None and entry.gender is not None:
            said = f"set in {config.source} (speakers: {entry.name})"
            speaker = replace(speaker, gender=entry.gender, gender_evidence=(said,))
        speakers.append(speaker)
    return replace(script, speakers=tuple(speakers))


def cast_voices(script: Script, config: VoicesConfig, engine: str) -> Cast:
    """Give the narrator and every speaker who talks a voice on `engine` that fits them.

    Order of precedence: the speaker's own entry (name or alias); then the role default, for
    the unnamed speaker of that role who speaks most (the real guest, not a one-line speaker
    who happens to come first) and whose gender does not clash with it (a woman does not get
    the male guest default while the pool has a woman's voice free); then the pool. From the
    pool each speaker gets a voice of their gender (unknown: the other gender than the previous
    speaker's voice, for contrast), the one most different from every voice already cast
    (`voice_distance`), never the narrator's. Speakers are taken in order of their first turn,
    so the result is the same on every run.
    """
    _check_engine(engine)
    script = stated_genders(script, config)
    narrator = config.narrator.for_engine(engine)
    speakers = _speaking_order(script)
    casting = _Casting(engine, config, narrator)
    claimed: dict[SpeakerVoices, str] = {}

    for speaker in speakers:
        entry = config.speaker_entry(speaker.name, *speaker.aliases)
        voice = entry.for_engine(engine) if entry is not None else None
        if entry is None or voice is None:
            continue
        if entry in claimed:
            log.warning(
                "%s and %s both match %r in %s; they share one voice",
                claimed[entry],
                speaker.name,
                entry.name,
                config.source,
            )
        claimed[entry] = speaker.name
        casting.give(speaker.name, voice, speaker.gender, "voices.yaml speakers")

    spoken = Counter[str]()
    for turn in script.turns:
        spoken[turn.speaker] += len(turn.text)
    for role, defaults in config.roles:
        voice = defaults.for_engine(engine)
        if casting.taken(voice):
            continue
        unnamed = [s for s in speakers if s.role is role and s.name not in casting.chosen]
        for speaker in sorted(unnamed, key=lambda s: -spoken[s.name]):  # ties: the first to speak
            clash = _clash(defaults.gender, speaker.gender)
            if clash and casting.free(speaker.gender):
                continue
            why = f", no {speaker.gender} voice free" if clash else ""
            casting.give(speaker.name, voice, defaults.gender, f"role default: {role.value}{why}")
            break

    unvoiced: list[str] = []
    previous: str | None = None
    for speaker in speakers:
        if speaker.name not in casting.chosen:
            if speaker.role is Role.NARRATOR:
                casting.give(speaker.name, narrator, config.narrator.gender, NARRATOR)
            elif not casting.from_pool(speaker, previous):
                unvoiced.append(speaker.name)
        previous = speaker.name

    if unvoiced:
        raise _pool_exhausted(config, engine, len(speakers), casting.chosen, unvoiced)
    entries = (
        CastEntry(NARRATOR, narrator, NARRATOR),
        *(casting.chosen[s.name] for s in speakers),
    )
    return Cast(engine, entries)


def _clash(voice: Gender | None, speaker: Gender | None) -> bool:
    return voice is not None and speaker is not None and voice is not speaker


class _Casting:
    """The voices handed out so far on one engine, with whom each sounds like."""

    def __init__(self, engine: str, config: VoicesConfig, narrator: Voice) -> None:
        self.engine = engine
        self.config = config
        self.chosen: dict[str, CastEntry] = {}
        self.genders: dict[str, Gender | None] = {}
        self.cast: list[tuple[Voice, Gender | None]] = [(narrator, config.narrator.gender)]

    def taken(self, voice: Voice) -> bool:
        return any(voice_key(voice) == voice_key(known) for known, _ in self.cast)

    def give(self, speaker: str, voice: Voice, gender: Gender | None, source: str) -> None:
        self.chosen[speaker] = CastEntry(speaker, voice, source)
        self.genders[speaker] = gender
        self.cast.append((voice, gender))

    def pool(self) -> list[tuple[int, VoiceSet]]:
        """The pool voices nobody in the cast has yet, numbered as in voices.yaml."""
        return [
            (number, voices)
            for number, voices in enumerate(self.config.pool, start=1)
            if not self.taken(voices.for_engine(self.engine))
        ]

    def free(self, gender: Gender | None) -> bool:
        return any(voices.gender is gender for _, voices in self.pool())

    def from_pool(self, speaker: Speaker, previous: str | None) -> bool:
        """Give `speaker` the free pool voice of the right gender most different from every
        voice cast so far; False when the pool has none left."""
        free = self.pool()
        if not free:
            return False
        wanted, why = speaker.gender, str(speaker.gender)
        before = self.genders.get(previous) if previous is not None else None
        if wanted is None and before is not None:
            wanted = _OTHER[before]
            why = f"{wanted} for contrast with {previous}"
        if not any(voices.gender for voices in self.config.pool):
            wanted = None  # the file does not say whom its pool voices sound like
        fitting = [(n, v) for n, v in free if v.gender is wanted]
        if wanted is not None and not fitting:
            why = f"no {wanted} voice free"
        number, voices = max(
            fitting if wanted is not None and fitting else free,
            key=lambda item: (self._distance(item[1]), -item[0]),
        )
        source = f"pool #{number}" + (f", {why}" if wanted is not None else "")
        self.give(speaker.name, voices.for_engine(self.engine), voices.gender, source)
        return True

    def _distance(self, voices: VoiceSet) -> float:
        voice = voices.for_engine(self.engine)
        return min(
            voice_distance(voice, voices.gender, known, gender) for known, gender in self.cast
        )


_OTHER = {Gender.MALE: Gender.FEMALE, Gender.FEMALE: Gender.MALE}


# Where a voice's pitch is not set, the middle of its gender's speaking range (men about
# 85-155 Hz, women 165-255 Hz).
_TYPICAL_PITCH = {Gender.MALE: 120.0, Gender.FEMALE: 210.0}


def voice_distance(a: Voice, a_gender: Gender | None, b: Voice, b_gender: Gender | None) -> float:
    """How different two voices sound, judged from what voices.yaml says about them, so it
    holds for any engine and any file; 0 is the same voice. It adds up: the engine voice
    (another Edge voice or eSpeak variant: 1; Kokoro mixes: the weight they do not share), the
    median pitch (1 per octave apart, a gender's typical pitch where none is set), the formant
    shift (1 per 20 % apart), eSpeak's pitch setting (1 per 50 steps) and whom they sound
    like (another gender: 0.5). The weights were checked against a speaker-verification model
    (resemblyzer) on the Kokoro defaults and pool (tests/fixtures/casting/similarity.yaml):
    the gender label counts less than the voice it is made from, since a male style made female
    still sounds like its source."""
    distance = 0.5 if _clash(a_gender, b_gender) else 0.0
    if a.engine != b.engine:
        return distance + 1.0
    if isinstance(a, KokoroVoice) and isinstance(b, KokoroVoice):
        mix_a, mix_b = dict(kokoro_mix(a.style)), dict(kokoro_mix(b.style))
        distance += 1.0 - sum(min(w, mix_b.get(n, 0.0)) for n, w in mix_a.items())
    elif isinstance(a, EdgeVoice) and isinstance(b, EdgeVoice):
        distance += float(a.name.casefold() != b.name.casefold())
    elif isinstance(a, EspeakVoice) and isinstance(b, EspeakVoice):
        distance += float(a.variant.casefold() != b.variant.casefold())
        distance += min(1.0, abs(a.pitch - b.pitch) / 50)
    ta, tb = a.transform or VoiceTransform(), b.transform or VoiceTransform()
    pitch_a = ta.median_pitch or (_TYPICAL_PITCH[a_gender] if a_gender else None)
    pitch_b = tb.median_pitch or (_TYPICAL_PITCH[b_gender] if b_gender else None)
    if pitch_a and pitch_b:
        distance += min(1.0, abs(math.log2(pitch_a / pitch_b)))
    distance += min(1.0, abs(ta.formants - tb.formants) / 20)
    return distance


_ROLE_WORDS = {
    Role.HOST: ("host", "主持人"),
    Role.GUEST: ("guest", "嘉宾"),
}


def find_in_cast(cast: Cast, script: Script, config: VoicesConfig, name: str) -> CastEntry | None:
    """The cast entry `name` means in this episode, so a preview sounds exactly as render will.

    `name` may be the narrator, a speaker's name or one of the article's spellings of it, an
    alias that voices.yaml gives the speaker, or host/guest for the first speaker of that role.
    """
    key = name_key(name)
    if key in {name_key(word) for word in _NARRATOR_NAMES}:
        return cast.entries[0]
    by_name = {entry.speaker: entry for entry in cast.entries[1:]}
    speakers = [speaker for speaker in _speaking_order(script) if speaker.name in by_name]
    pinned = config.speaker_entry(name)
    for speaker in speakers:
        names = (speaker.name, *speaker.aliases)
        if key in {name_key(n) for n in names} or (
            pinned is not None and config.speaker_entry(*names) == pinned
        ):
            return by_name[speaker.name]
    for role, words in _ROLE_WORDS.items():
        if key in {name_key(word) for word in words}:
            return next((by_name[s.name] for s in speakers if s.role is role), None)
    return None


def describe_cast(cast: Cast) -> list[str]:
    """One line per voice, for printing before a render: `name → voice (where it came from)`."""
    return [
        f"{entry.speaker} → {voice_label(entry.voice)} ({entry.source})" for entry in cast.entries
    ]


def _check_engine(engine: str) -> None:
    if engine not in ENGINE_NAMES:
        raise VoicesError(f"Unknown engine {engine!r}: choose one of {', '.join(ENGINE_NAMES)}.")


def _speaking_order(script: Script) -> list[Speaker]:
    """The speakers who have turns, in order of their first turn (roles from the speaker list)."""
    known = {speaker.name: speaker for speaker in script.speakers}
    order: dict[str, Speaker] = {}
    for turn in script.turns:
        if turn.speaker not in order:
            order[turn.speaker] = known.get(turn.speaker, Speaker(turn.speaker, turn.role))
    return list(order.values())


def _pool_exhausted(
    config: VoicesConfig,
    engine: str,
    speakers: int,
    chosen: dict[str, CastEntry],
    unvoiced: list[str],
) -> VoicesError:
    pooled = sum(1 for entry in chosen.values() if entry.source.startswith("pool"))
    return VoicesError(
        f"{speakers + 1} voices are needed on {engine} (the narrator and {speakers} speakers), "
        f"{pooled + len(unvoiced)} of them from the pool, but the pool in {config.source} has "
        f"only {pooled} {engine} voices that nobody else in this episode uses. Add at least "
        f"{len(unvoiced)} {'entry' if len(unvoiced) == 1 else 'entries'} with new voices under "
        f"`pool:`, or give {', '.join(unvoiced)} their own voices under `speakers:`."
    )


# Reading the file ------------------------------------------------------------------------------

_TOP_KEYS = ("engine", "narrator", "roles", "speakers", "pool", "pauses", "lexicon", "kokoro")
_ROLE_KEYS = (Role.HOST.value, Role.GUEST.value)
_EDGE_KEYS = ("voice", "rate", "pitch", "volume", "transform")
_KOKORO_KEYS = ("style", "speed", "transform")
_ESPEAK_KEYS = ("variant", "rate", "pitch", "transform")
_TRANSFORM_KEYS = ("formants", "median_pitch", "pitch_range")
_GENDER_KEY = "gender"


def _config(root: yamlfile.Node, path: Path | None) -> VoicesConfig:
    entries = _entries(root, _TOP_KEYS)
    sections = {key: node for key, _, node in entries}
    labels = {key: label for key, label, _ in entries}
    if "narrator" not in sections:
        raise root.fail(
            VoicesError,
            "no `narrator:` section; add one with edge, kokoro and espeak voices "
            "(see the packaged voices.yaml).",
        )
    engine = "auto"
    if "engine" in sections:
        engine = sections["engine"].string(VoicesError)
        if engine not in ENGINE_CHOICES:
            raise sections["engine"].fail(
                VoicesError,
                f"unknown engine {engine!r}; choose one of {', '.join(ENGINE_CHOICES)}.",
            )
    base = path.parent if path is not None else Path.cwd()
    model, voices = _kokoro_files(sections.get("kokoro"), base)
    places: list[tuple[Voice, str]] = []
    return VoicesConfig(
        path=path,
        engine=engine,
        narrator=_full_set(sections["narrator"], labels["narrator"], places),
        roles=tuple(
            (Role(name), _full_set(node, label, places))
            for name, label, node in _entries(sections.get("roles"), _ROLE_KEYS)
        ),
        speakers=_speakers(sections.get("speakers"), places),
        pool=tuple(_full_set(node, node, places) for node in _elements(sections.get("pool"))),
        pauses=_pauses(sections.get("pauses")),
        lexicon=_lexicon(sections.get("lexicon")),
        kokoro_model=model,
        kokoro_voices=voices,
        places=tuple(places),
    )


def _items(
    node: yamlfile.Node | None, allowed: tuple[str, ...] | None
) -> list[tuple[str, yamlfile.Node]]:
    return [] if node is None else list(node.items(VoicesError, allowed))


def _entries(
    node: yamlfile.Node | None, allowed: tuple[str, ...] | None
) -> list[tuple[str, yamlfile.Node, yamlfile.Node]]:
    """Mapping pairs with the key's own node, so errors about an entry point at its name."""
    pairs = _items(node, allowed)
    if node is None or not isinstance(node.node, yaml.MappingNode):
        return []
    return [
        (key, yamlfile.Node(key_node, child.source, child.path), child)
        for (key, child), (key_node, _) in zip(pairs, node.node.value, strict=True)
    ]


def _elements(node: yamlfile.Node | None) -> list[yamlfile.Node]:
    return [] if node is None else list(node.elements(VoicesError))


def _lexicon(node: yamlfile.Node | None) -> tuple[tuple[str, str], ...]:
    """Replacements in file order: an earlier entry can shape what a later one sees."""
    pairs: list[tuple[str, str]] = []
    for word, child in _items(node, None):
        if not word.strip():
            raise child.fail(VoicesError, "a lexicon entry needs a word to replace.")
        pairs.append((word, child.string(VoicesError, allow_empty=True)))
    return tuple(pairs)


def _voices(
    node: yamlfile.Node, places: list[tuple[Voice, str]], extra: tuple[str, ...] = ()
) -> tuple[dict[str, yamlfile.Node], EdgeVoice | None, KokoroVoice | None, EspeakVoice | None]:
    """The engine entries of a voice set, each noted in `places`; keys in `extra` are handed
    back unread."""
    fields = dict(node.items(VoicesError, (*extra, *ENGINE_NAMES)))
    edge = _edge(fields["edge"]) if "edge" in fields else None
    kokoro = _kokoro(fields["kokoro"]) if "kokoro" in fields else None
    espeak = _espeak(fields["espeak"]) if "espeak" in fields else None
    for voice in (edge, kokoro, espeak):
        if voice is not None:
            places.append((voice, fields[voice.engine].place))
    return fields, edge, kokoro, espeak


def _full_set(
    node: yamlfile.Node, label: yamlfile.Node, places: list[tuple[Voice, str]]
) -> VoiceSet:
    """A voice set that must work on every engine (narrator, roles, pool); `label` names it."""
    fields, edge, kokoro, espeak = _voices(node, places, (_GENDER_KEY,))
    if edge is None:
        raise label.fail(
            VoicesError,
            "no edge voice; add `edge: {voice: ...}` "
            "(`interview-audio voices --engine edge` lists them).",
        )
    if kokoro is None:
        raise label.fail(VoicesError, "no kokoro voice; add `kokoro: {style: ...}`.")
    gender = _gender(fields[_GENDER_KEY]) if _GENDER_KEY in fields else None
    return VoiceSet(edge, kokoro, espeak if espeak is not None else EspeakVoice(), gender)


def _gender(node: yamlfile.Node) -> Gender:
    value = node.string(VoicesError).strip()
    try:
        return Gender(value.casefold())
    except ValueError:
        raise node.fail(
            VoicesError,
            f"gender {value!r} is not valid; choose one of {', '.join(g.value for g in Gender)} "
            "(whom the voice sounds like).",
        ) from None


def _transform(node: yamlfile.Node) -> VoiceTransform | None:
    """`transform: {formants: -12%, median_pitch: 85Hz, pitch_range: +20%}`; all optional."""
    fields = dict(node.items(VoicesError, _TRANSFORM_KEYS))
    formants = _percent(fields.get("formants"), FORMANTS_RANGE, "-12% (a bigger-sounding person)")
    pitch_range = _percent(
        fields.get("pitch_range"), PITCH_RANGE_RANGE, "+20% (livelier) or -30% (flatter)"
    )
    median_pitch = None
    if "median_pitch" in fields:
        pitch_node = fields["median_pitch"]
        value = pitch_node.string(VoicesError).strip()
        match = _ABSOLUTE_HERTZ.fullmatch(value)
        low, high = MEDIAN_PITCH_RANGE
        if match is None or not low <= float(match[1]) <= high:
            raise pitch_node.fail(
                VoicesError,
                f"median_pitch {value!r} is not valid; write the pitch the voice should speak "
                f"at, from {low:g}Hz to {high:g}Hz, like 110Hz (men speak around 85-155Hz, "
                "women around 165-255Hz).",
            )
        median_pitch = float(match[1])
    if formants == 0 and pitch_range == 0 and median_pitch is None:
        return None
    return VoiceTransform(formants, median_pitch, pitch_range)


def _percent(node: yamlfile.Node | None, bounds: tuple[float, float], example: str) -> float:
    if node is None:
        return 0.0
    value = node.string(VoicesError).strip()
    match = _SIGNED_PERCENT.fullmatch(value)
    low, high = bounds
    if match is None or not low <= float(match[1]) <= high:
        key = node.path.rpartition(".")[2]
        raise node.fail(
            VoicesError,
            f"{key} {value!r} is not valid; write a signed percentage from {low:+g}% to "
            f"{high:+g}%, like {example}.",
        )
    return float(match[1])


def _speakers(
    node: yamlfile.Node | None, places: list[tuple[Voice, str]]
) -> tuple[SpeakerVoices, ...]:
    entries: list[SpeakerVoices] = []
    owners: dict[str, str] = {}
    for name, label, entry_node in _entries(node, None):
        if not name.strip():
            raise label.fail(VoicesError, "a speaker needs a name.")
        fields, edge, kokoro, espeak = _voices(entry_node, places, ("aliases", _GENDER_KEY))
        alias_nodes = _elements(fields.get("aliases"))
        aliases = tuple(item.string(VoicesError).strip() for item in alias_nodes)
        for alias, alias_node in zip((name, *aliases), (label, *alias_nodes), strict=True):
            key = name_key(alias)
            if key in owners and owners[key] != name:
                raise alias_node.fail(
                    VoicesError,
                    f"{alias!r} already names {owners[key]!r}; a name or alias may belong to "
                    "one speaker only.",
                )
            owners[key] = name
        voices = tuple(voice for voice in (edge, kokoro, espeak) if voice is not None)
        gender = _gender(fields[_GENDER_KEY]) if _GENDER_KEY in fields else None
        entries.append(SpeakerVoices(name, aliases, voices, gender))
    return tuple(entries)


def _edge(node: yamlfile.Node) -> EdgeVoice:
    fields = dict(node.items(VoicesError, _EDGE_KEYS))
    if "voice" not in fields:
        raise node.fail(
            VoicesError, "an edge entry needs `voice:` (for example zh-CN-XiaoxiaoNeural)."
        )
    prosody: dict[str, str] = {}
    for key, pattern, example in (
        ("rate", _PERCENT, "+10% or -5%"),
        ("pitch", _HERTZ, "+5Hz or -10Hz"),
        ("volume", _PERCENT, "+10% or -5%"),
    ):
        if key in fields:
            value = fields[key].string(VoicesError)
            if not pattern.fullmatch(value):
                raise fields[key].fail(
                    VoicesError,
                    f"{key} {value!r} is not valid; write a signed value like {example}.",
                )
            prosody[key] = value
    transform = _transform(fields["transform"]) if "transform" in fields else None
    return EdgeVoice(fields["voice"].string(VoicesError).strip(), **prosody, transform=transform)


def _kokoro(node: yamlfile.Node) -> KokoroVoice:
    fields = dict(node.items(VoicesError, _KOKORO_KEYS))
    if "style" not in fields:
        raise node.fail(VoicesError, "a kokoro entry needs `style:` (for example jf_alpha).")
    style_node = fields["style"]
    try:
        mix = kokoro_mix(style_node.string(VoicesError))
    except ValueError as exc:
        raise style_node.fail(
            VoicesError,
            f"bad Kokoro style ({exc}); write a style name like jm_kumo or a mix like "
            "jm_kumo*0.7+jf_alpha*0.3.",
        ) from None
    style = mix[0][0] if len(mix) == 1 else "+".join(f"{n}*{w:g}" for n, w in mix)
    transform = _transform(fields["transform"]) if "transform" in fields else None
    if "speed" in fields:
        speed = fields["speed"].number(VoicesError, *SPEED_RANGE)
        return KokoroVoice(style, speed, transform)
    return KokoroVoice(style, transform=transform)


def _espeak(node: yamlfile.Node) -> EspeakVoice:
    fields = dict(node.items(VoicesError, _ESPEAK_KEYS))
    variant = EspeakVoice.variant
    if "variant" in fields:
        variant = fields["variant"].string(VoicesError).strip()
        if not _ESPEAK_VARIANT.fullmatch(variant):
            raise fields["variant"].fail(
                VoicesError,
                f"{variant!r} is not an eSpeak voice; write language+variant like cmn+f3.",
            )
    rate = (
        fields["rate"].integer(VoicesError, *ESPEAK_RATE_RANGE)
        if "rate" in fields
        else EspeakVoice.rate
    )
    pitch = (
        fields["pitch"].integer(VoicesError, *ESPEAK_PITCH_RANGE)
        if "pitch" in fields
        else EspeakVoice.pitch
    )
    transform = _transform(fields["transform"]) if "transform" in fields else None
    return EspeakVoice(variant, rate, pitch, transform)


def _pauses(node: yamlfile.Node | None) -> Pauses:
    values = {
        key: child.number(VoicesError, *PAUSE_RANGE)
        for key, child in _items(node, ("paragraph", "speaker_change", "chapter"))
    }
    return Pauses(**values)


def _kokoro_files(node: yamlfile.Node | None, base: Path) -> tuple[Path | None, Path | None]:
    """Paths to an official Kokoro release, relative to voices.yaml; checked by the engine."""
    found: dict[str, Path] = {}
    for key, child in _items(node, ("model", "voices")):
        if child.is_null:
            continue
        found[key] = base / Path(child.string(VoicesError)).expanduser()
    return found.get("model"), found.get("voices")


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
        voice = entry.voice
        if isinstance(voice, EdgeVoice):
            names = [voice.name]
        elif isinstance(voice, KokoroVoice):
            names = [name for name, _ in kokoro_mix(voice.style)]
        else:
            names = [voice.variant]
        for name in names:
            users.setdefault(name, []).append(entry.who)
    return {name: tuple(who) for name, who in users.items()}
