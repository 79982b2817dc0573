"""eSpeak NG, bundled in `espeakng-loader`: robotic but instant, for previews and tests.

`PLUGIN` (the entry point `espeak`) is light; `engine` loads the C library through ctypes.
Every voice set that names no eSpeak voice gets the default one (`cmn+f3`).
"""

from __future__ import annotations

from interview_audio.synthesis.engines.base import Plugin
from interview_audio.synthesis.engines.espeak.voice import EspeakVoice, parse_espeak_voice

PLUGIN = Plugin(
    name="espeak",
    description="eSpeak NG, bundled (offline, robotic, instant)",
    engine="interview_audio.synthesis.engines.espeak.engine:EspeakEngine",
    voice_keys=("variant", "rate", "pitch"),
    voice_example="`espeak: {variant: cmn+f3}`",
    parse=parse_espeak_voice,
    named=lambda name: EspeakVoice(variant=name),
    default=EspeakVoice,
)
