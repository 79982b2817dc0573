"""Casting: which voice each speaker of an episode gets on an engine, and why."""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace

from interview_audio.article.script import Gender, Role, Script, Speaker, name_key
from interview_audio.errors import VoicesError
from interview_audio.voices.kinds import check_engine
from interview_audio.voices.model import (
    NARRATOR,
    NARRATOR_NAMES,
    Cast,
    CastEntry,
    SpeakerVoices,
    Voice,
    VoicesConfig,
    VoiceSet,
    VoiceTransform,
    voice_key,
    voice_label,
)
from interview_audio.voices.suggest import closest

log = logging.getLogger(__name__)


def check_voices(
    config: VoicesConfig, voices: Iterable[Voice], check: Callable[[Voice], None]
) -> None:
    """Run an engine's `check_voice` on each voice; an error names where voices.yaml sets it."""
    for voice in voices:
        try:
            check(voice)
        except VoicesError as exc:
            raise config.locate(voice, exc) from None


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


def stray_entries(script: Script, config: VoicesConfig) -> list[str]:
    """A warning for each speakers: entry of voices.yaml that matches nobody in the script while
    its name is close to a speaker's who has no entry (a typo such as 记者者 for 记者): that
    speaker would silently get a default voice. Entries far from every name are for other
    articles and say nothing."""
    speakers = [s for s in script.speakers if s.role is not Role.NARRATOR]
    names = {name_key(n): s.name for s in speakers for n in (s.name, *s.aliases)}
    unpinned = {
        name_key(n): s.name
        for s in speakers
        if config.speaker_entry(s.name, *s.aliases) is None
        for n in (s.name, *s.aliases)
    }
    warnings = []
    for entry in config.speakers:
        if entry.keys & names.keys():
            continue
        close = {
            unpinned[key]: None
            for spelling in (entry.name, *entry.aliases)
            for key in closest(name_key(spelling), unpinned)
        }
        if close:
            meant = " or ".join(close)
            warnings.append(
                f"the speaker {entry.name!r} in {config.source} matches nobody in this article; "
                f"did you mean {meant}? Until its name or an alias says so, {meant} gets a "
                "default voice."
            )
    return warnings


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
    check_engine(engine)
    script = stated_genders(script, config)
    narrator = config.narrator.for_engine(engine)
    speakers = _speaking_order(script)
    casting = _Casting(engine, config, narrator)
    claimed: dict[SpeakerVoices, str] = {}

    for speaker in speakers:
        entry = config.speaker_entry(speaker.name, *speaker.aliases)
        voice = entry.get(engine) if entry is not None else None
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

    _role_defaults(script, config, casting, speakers)

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


def _role_defaults(
    script: Script, config: VoicesConfig, casting: _Casting, speakers: list[Speaker]
) -> None:
    """Each role's default voice to the unnamed speaker of that role who speaks most, unless
    the voice's gender clashes with theirs while the pool has one of their gender free."""
    spoken = Counter[str]()
    for turn in script.turns:
        spoken[turn.speaker] += len(turn.text)
    for role, defaults in config.roles:
        voice = defaults.for_engine(casting.engine)
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
    distance += a.distance_to(b)
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
    if key in {name_key(word) for word in NARRATOR_NAMES}:
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
