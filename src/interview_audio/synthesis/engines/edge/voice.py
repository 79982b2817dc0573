"""An Edge voice as voices.yaml writes it: `edge: {voice: zh-CN-YunxiNeural, rate: +5%}`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from interview_audio import yamlfile
from interview_audio.errors import VoicesError
from interview_audio.voices.model import Voice, VoiceTransform

PERCENT = re.compile(r"[+-]\d+%")
HERTZ = re.compile(r"[+-]\d+Hz")
_PROSODY = (
    ("rate", PERCENT, "+10% or -5%"),
    ("pitch", HERTZ, "+5Hz or -10Hz"),
    ("volume", PERCENT, "+10% or -5%"),
)


@dataclass(frozen=True)
class EdgeVoice:
    """A Microsoft Edge neural voice and its prosody strings (checked like the service does)."""

    engine: ClassVar[str] = "edge"
    name: str
    rate: str = "+0%"
    pitch: str = "+0Hz"
    volume: str = "+0%"
    transform: VoiceTransform | None = None

    def identity(self) -> str:
        return self.name.casefold()

    def label(self) -> str:
        extras = [
            f"{field} {value}"
            for field, value, default in (
                ("rate", self.rate, "+0%"),
                ("pitch", self.pitch, "+0Hz"),
                ("volume", self.volume, "+0%"),
            )
            if value != default
        ]
        return " ".join([self.name, *extras])

    def voice_names(self) -> tuple[str, ...]:
        return (self.name,)

    def distance_to(self, other: Voice) -> float:
        return float(not isinstance(other, EdgeVoice) or self.identity() != other.identity())


def parse_edge_voice(
    fields: Mapping[str, yamlfile.Node], node: yamlfile.Node, transform: VoiceTransform | None
) -> EdgeVoice:
    if "voice" not in fields:
        raise node.fail(
            VoicesError, "an edge entry needs `voice:` (for example zh-CN-XiaoxiaoNeural)."
        )
    prosody: dict[str, str] = {}
    for key, pattern, example in _PROSODY:
        if key in fields:
            value = fields[key].string(VoicesError)
            if not pattern.fullmatch(value):
                raise fields[key].fail(
                    VoicesError,
                    f"{key} {value!r} is not valid; write a signed value like {example}.",
                )
            prosody[key] = value
    return EdgeVoice(fields["voice"].string(VoicesError).strip(), **prosody, transform=transform)
