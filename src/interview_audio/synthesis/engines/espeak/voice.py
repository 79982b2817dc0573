"""An eSpeak NG voice as voices.yaml writes it: `espeak: {variant: cmn+f3, rate: 175}`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from interview_audio import yamlfile
from interview_audio.errors import VoicesError
from interview_audio.voices.model import Voice, VoiceTransform

RATE_RANGE = (80, 450)
PITCH_RANGE = (0, 100)
_VARIANT = re.compile(r"[A-Za-z][A-Za-z0-9-]*(?:\+[A-Za-z0-9_-]+)?")


@dataclass(frozen=True)
class EspeakVoice:
    """An eSpeak NG voice variant (e.g. `cmn+f3`), rate in words per minute, pitch 0-100."""

    engine: ClassVar[str] = "espeak"
    variant: str = "cmn+f3"
    rate: int = 175
    pitch: int = 50
    transform: VoiceTransform | None = None

    def identity(self) -> str:
        return self.variant.casefold()

    def label(self) -> str:
        return f"{self.variant} rate {self.rate} pitch {self.pitch}"

    def voice_names(self) -> tuple[str, ...]:
        return (self.variant,)

    def distance_to(self, other: Voice) -> float:
        """Another variant is another voice; eSpeak's pitch setting adds 1 per 50 steps."""
        if not isinstance(other, EspeakVoice):
            return 1.0
        return float(self.identity() != other.identity()) + min(
            1.0, abs(self.pitch - other.pitch) / 50
        )


def parse_espeak_voice(
    fields: Mapping[str, yamlfile.Node], node: yamlfile.Node, transform: VoiceTransform | None
) -> EspeakVoice:
    variant = EspeakVoice.variant
    if "variant" in fields:
        variant = fields["variant"].string(VoicesError).strip()
        if not _VARIANT.fullmatch(variant):
            raise fields["variant"].fail(
                VoicesError,
                f"{variant!r} is not an eSpeak voice; write language+variant like cmn+f3.",
            )
    rate = (
        fields["rate"].integer(VoicesError, *RATE_RANGE) if "rate" in fields else EspeakVoice.rate
    )
    pitch = (
        fields["pitch"].integer(VoicesError, *PITCH_RANGE)
        if "pitch" in fields
        else EspeakVoice.pitch
    )
    return EspeakVoice(variant, rate, pitch, transform)
