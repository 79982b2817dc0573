"""Voice identity: which voice each speaker has, per engine, as voices.yaml says.

Per-run choices (which engine, how many jobs) are flags and live in `EngineOptions`;
this module only knows what a speaker sounds like.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class EdgeVoice:
    """A Microsoft Edge neural voice and its prosody strings (checked like the service does)."""

    engine: ClassVar[str] = "edge"
    name: str
    rate: str = "+0%"
    pitch: str = "+0Hz"
    volume: str = "+0%"


@dataclass(frozen=True)
class KokoroVoice:
    """A Kokoro style name, or a weighted mix such as `jm_kumo*0.7+jf_alpha*0.3`."""

    engine: ClassVar[str] = "kokoro"
    style: str
    speed: float = 1.15


@dataclass(frozen=True)
class EspeakVoice:
    """An eSpeak NG voice variant (e.g. `cmn+f3`), rate in words per minute, pitch 0-100."""

    engine: ClassVar[str] = "espeak"
    variant: str = "cmn+f3"
    rate: int = 175
    pitch: int = 50


Voice = EdgeVoice | KokoroVoice | EspeakVoice
