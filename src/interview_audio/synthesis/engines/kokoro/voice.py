"""A Kokoro voice as voices.yaml writes it (`kokoro: {style: jm_kumo*0.7+jf_alpha*0.3,
speed: 1.1}`), and the top-level `kokoro:` section that points at an official release."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from interview_audio import yamlfile
from interview_audio.errors import VoicesError
from interview_audio.voices.model import Voice, VoiceTransform

SPEED_RANGE = (0.5, 2.0)
# A mix's weights must add up to one, within this much (people write thirds as 0.33).
_MIX_TOLERANCE = 0.011
_STYLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_WEIGHT = re.compile(r"\d+(?:\.\d*)?|\.\d+")


@dataclass(frozen=True)
class KokoroVoice:
    """A Kokoro style name, or a weighted mix such as `jm_kumo*0.7+jf_alpha*0.3`."""

    engine: ClassVar[str] = "kokoro"
    style: str
    speed: float = 1.15
    transform: VoiceTransform | None = None

    def identity(self) -> str:
        return "+".join(f"{n}*{w:g}" for n, w in sorted(kokoro_mix(self.style)))

    def label(self) -> str:
        return f"{self.style} speed {self.speed:g}"

    def voice_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in kokoro_mix(self.style))

    def distance_to(self, other: Voice) -> float:
        """The share of the mix the two do not have in common."""
        if not isinstance(other, KokoroVoice):
            return 1.0
        mine, theirs = dict(kokoro_mix(self.style)), dict(kokoro_mix(other.style))
        return 1.0 - sum(min(w, theirs.get(n, 0.0)) for n, w in mine.items())


@dataclass(frozen=True)
class KokoroSettings:
    """voices.yaml's `kokoro:` section: an official release's model and voices files (None:
    the packaged ones)."""

    model: Path | None = None
    voices: Path | None = None


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


def parse_kokoro_voice(
    fields: Mapping[str, yamlfile.Node], node: yamlfile.Node, transform: VoiceTransform | None
) -> KokoroVoice:
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
    if "speed" in fields:
        speed = fields["speed"].number(VoicesError, *SPEED_RANGE)
        return KokoroVoice(style, speed, transform)
    return KokoroVoice(style, transform=transform)


def parse_kokoro_settings(fields: Mapping[str, yamlfile.Node], base: Path) -> KokoroSettings:
    """Paths to an official Kokoro release, relative to voices.yaml; checked by the engine."""
    found = {
        key: base / Path(child.string(VoicesError)).expanduser()
        for key, child in fields.items()
        if not child.is_null
    }
    return KokoroSettings(found.get("model"), found.get("voices"))
