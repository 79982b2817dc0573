"""Reading voices.yaml: every mistake reported with the file, the line and the valid choices."""

from __future__ import annotations

import logging
import re
from importlib import resources
from pathlib import Path

import yaml

from interview_audio import yamlfile
from interview_audio.article.script import Gender, Role, name_key
from interview_audio.errors import VoicesError
from interview_audio.voices.model import (
    ENGINE_CHOICES,
    ENGINE_NAMES,
    PACKAGED_SOURCE,
    EdgeVoice,
    EspeakVoice,
    KokoroVoice,
    Pauses,
    SpeakerVoices,
    Voice,
    VoicesConfig,
    VoiceSet,
    VoiceTransform,
    kokoro_mix,
)

log = logging.getLogger(__name__)

SPEED_RANGE = (0.5, 2.0)


ESPEAK_RATE_RANGE = (80, 450)


ESPEAK_PITCH_RANGE = (0, 100)


PAUSE_RANGE = (0.0, 10.0)


# Beyond about a quarter the formant shift sounds like a cartoon; Praat's pitch analysis of
# the result wants a median inside its 60-600 Hz search range.
FORMANTS_RANGE = (-30.0, 30.0)


MEDIAN_PITCH_RANGE = (60.0, 400.0)


PITCH_RANGE_RANGE = (-100.0, 200.0)


_PERCENT = re.compile(r"[+-]\d+%")


_HERTZ = re.compile(r"[+-]\d+Hz")


_SIGNED_PERCENT = re.compile(r"([+-]\d+(?:\.\d+)?)\s*%")


_ABSOLUTE_HERTZ = re.compile(r"(\d+(?:\.\d+)?)\s*(?:Hz)?", re.IGNORECASE)


_ESPEAK_VARIANT = re.compile(r"[A-Za-z][A-Za-z0-9-]*(?:\+[A-Za-z0-9_-]+)?")


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
