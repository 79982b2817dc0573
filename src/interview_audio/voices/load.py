"""Reading voices.yaml: every mistake reported with the file, the line and the valid choices.

The engines' own parts (a voice entry's fields, an engine's top-level section) are read by the
engine plugins (`kinds.py`); this module reads the rest and hands those over.
"""

from __future__ import annotations

import logging
import re
from importlib import resources
from pathlib import Path

import yaml

from interview_audio import yamlfile
from interview_audio.article.script import Gender, Role, name_key
from interview_audio.errors import VoicesError
from interview_audio.voices.kinds import VoiceKind, engine_choices, voice_kinds
from interview_audio.voices.model import (
    PACKAGED_SOURCE,
    Pauses,
    SpeakerVoices,
    Voice,
    VoicesConfig,
    VoiceSet,
    VoiceTransform,
)

log = logging.getLogger(__name__)

PAUSE_RANGE = (0.0, 10.0)
# Beyond about a quarter the formant shift sounds like a cartoon; Praat's pitch analysis of
# the result wants a median inside its 60-600 Hz search range.
FORMANTS_RANGE = (-30.0, 30.0)
MEDIAN_PITCH_RANGE = (60.0, 400.0)
PITCH_RANGE_RANGE = (-100.0, 200.0)

_SECTIONS = ("engine", "narrator", "roles", "speakers", "pool", "pauses", "lexicon")
_ROLE_KEYS = (Role.HOST.value, Role.GUEST.value)
_TRANSFORM_KEY = "transform"
_TRANSFORM_KEYS = ("formants", "median_pitch", "pitch_range")
_GENDER_KEY = "gender"
_SIGNED_PERCENT = re.compile(r"([+-]\d+(?:\.\d+)?)\s*%")
_ABSOLUTE_HERTZ = re.compile(r"(\d+(?:\.\d+)?)\s*(?:Hz)?", re.IGNORECASE)


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


def _config(root: yamlfile.Node, path: Path | None) -> VoicesConfig:
    kinds = voice_kinds()
    with_settings = tuple(name for name, kind in kinds.items() if kind.settings_keys)
    entries = _entries(root, (*_SECTIONS, *with_settings))
    sections = {key: node for key, _, node in entries}
    labels = {key: label for key, label, _ in entries}
    if "narrator" not in sections:
        raise root.fail(
            VoicesError,
            f"no `narrator:` section; add one with {', '.join(kinds)} voices "
            "(see the packaged voices.yaml).",
        )
    engine = "auto"
    if "engine" in sections:
        engine = sections["engine"].string(VoicesError)
        choices = engine_choices()
        if engine not in choices:
            raise sections["engine"].fail(
                VoicesError,
                f"unknown engine {engine!r}; choose one of {', '.join(choices)}.",
            )
    base = path.parent if path is not None else Path.cwd()
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
        engine_settings=tuple(
            (
                name,
                kinds[name].parse_settings(
                    dict(_items(sections[name], kinds[name].settings_keys)), base
                ),
            )
            for name in with_settings
            if name in sections
        ),
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
) -> tuple[dict[str, yamlfile.Node], list[Voice]]:
    """The engine entries of a voice set, each read by its engine's plugin and noted in
    `places`; keys in `extra` are handed back unread."""
    kinds = voice_kinds()
    fields = dict(node.items(VoicesError, (*extra, *kinds)))
    voices: list[Voice] = []
    for name, kind in kinds.items():
        if name in fields:
            voice = _voice(kind, fields[name])
            places.append((voice, fields[name].place))
            voices.append(voice)
    return fields, voices


def _voice(kind: VoiceKind, node: yamlfile.Node) -> Voice:
    fields = dict(node.items(VoicesError, (*kind.voice_keys, _TRANSFORM_KEY)))
    transform = _transform(fields.pop(_TRANSFORM_KEY)) if _TRANSFORM_KEY in fields else None
    return kind.parse_voice(fields, node, transform)


def _full_set(
    node: yamlfile.Node, label: yamlfile.Node, places: list[tuple[Voice, str]]
) -> VoiceSet:
    """A voice set that must work on every engine (narrator, roles, pool); `label` names it.

    An engine it leaves out gives its default voice; one without a default that says it is
    `required` is a mistake here, the others fail only when a cast on that engine needs it.
    """
    fields, voices = _voices(node, places, (_GENDER_KEY,))
    named = {voice.engine for voice in voices}
    for name, kind in voice_kinds().items():
        if name in named:
            continue
        default = kind.default_voice()
        if default is not None:
            voices.append(default)
        elif kind.required:
            raise label.fail(VoicesError, f"no {name} voice; add {kind.voice_example}.")
    gender = _gender(fields[_GENDER_KEY]) if _GENDER_KEY in fields else None
    order = list(voice_kinds())
    voices.sort(key=lambda voice: order.index(voice.engine))
    return VoiceSet(tuple(voices), gender, label.place)


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
        fields, voices = _voices(entry_node, places, ("aliases", _GENDER_KEY))
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
        gender = _gender(fields[_GENDER_KEY]) if _GENDER_KEY in fields else None
        entries.append(SpeakerVoices(name, aliases, tuple(voices), gender))
    return tuple(entries)


def _pauses(node: yamlfile.Node | None) -> Pauses:
    values = {
        key: child.number(VoicesError, *PAUSE_RANGE)
        for key, child in _items(node, ("paragraph", "speaker_change", "chapter"))
    }
    return Pauses(**values)
