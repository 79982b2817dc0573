"""Microsoft Edge's neural voices, online: the most natural Mandarin voices there are for free.

`PLUGIN` (the entry point `edge`) is light: it reads Edge voices from voices.yaml; `engine`
(edge-tts, aiohttp) is imported when the engine loads.
"""

from __future__ import annotations

from interview_audio.synthesis.engines.base import Plugin
from interview_audio.synthesis.engines.edge.voice import EdgeVoice, parse_edge_voice

PLUGIN = Plugin(
    name="edge",
    description="Microsoft Edge neural voices (online)",
    engine="interview_audio.synthesis.engines.edge.engine:EdgeEngine",
    voice_keys=("voice", "rate", "pitch", "volume"),
    voice_example="`edge: {voice: ...}` (`interview-audio voices --engine edge` lists them)",
    parse=parse_edge_voice,
    named=lambda name: EdgeVoice(name=name),
    required=True,
    check="interview_audio.synthesis.engines.edge.engine:selftest",
)
